"""Shared fixtures. ``from mpi4py import MPI`` first: dolfinx needs MPI loaded."""

from __future__ import annotations

from pathlib import Path

from mpi4py import MPI

import pytest

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "cases"


@pytest.fixture
def comm() -> MPI.Comm:
    return MPI.COMM_WORLD


@pytest.fixture
def shared_tmp(tmp_path: Path) -> Path:
    """A temporary directory that is the same on every rank (rank 0's)."""
    return Path(MPI.COMM_WORLD.bcast(str(tmp_path), root=0))
