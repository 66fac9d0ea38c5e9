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


@pytest.fixture(autouse=True)
def _free_communicators():
    """Under mpirun, collect garbage after each test on every rank at the same point: dolfinx
    objects in reference cycles (a problem and its modules' closures) hold MPI communicators
    until the cyclic collector runs, and MPICH has 2048 per process ("Too many
    communicators" after a few dozen problems)."""
    yield
    if MPI.COMM_WORLD.size > 1:
        import gc

        gc.collect()
