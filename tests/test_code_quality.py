"""The type checker (mypy, configured in pyproject.toml: problem, driver, physics, solvers)
and the linter run with the suite, so CI fails on a type or lint error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mpi4py import MPI

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial tooling check")


def test_mypy_is_clean():
    from mypy import api

    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml")])
    assert status == 0, stdout + stderr


def test_ruff_is_clean():
    ruff = Path(sys.executable).with_name("ruff")
    for args in (["check"], ["format", "--check"]):
        out = subprocess.run(
            [str(ruff), *args, "sse_fem", "tests", "benchmarks"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stdout + out.stderr
