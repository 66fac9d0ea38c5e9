"""Versions and parallel environment (for ``sse-fem info`` and ``summary.json``)."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

from mpi4py import MPI  # noqa: I001 - must precede dolfinx/petsc4py


def versions() -> dict[str, str]:
    """sse-fem, dolfinx, PETSc, MPI versions, PETSc external packages, rank count."""
    import dolfinx
    from petsc4py import PETSc

    import sse_fem

    pkgs = ["mumps", "superlu_dist", "hypre", "ptscotch", "metis", "parmetis", "hdf5"]
    have = [p for p in pkgs if PETSc.Sys.hasExternalPackage(p)]
    major, minor, sub = PETSc.Sys.getVersion()
    return {
        "sse-fem": sse_fem.__version__,
        "python": platform.python_version(),
        "dolfinx": dolfinx.__version__,
        "PETSc": f"{major}.{minor}.{sub}",
        "PETSc scalar": str(PETSc.ScalarType.__name__),
        "PETSc packages": ", ".join(have),
        "MPI library": MPI.Get_library_version().splitlines()[0].strip(),
        "MPI ranks": str(MPI.COMM_WORLD.size),
    }


def git_commit() -> str | None:
    """The commit of the sse-fem source tree (``+dirty`` with local changes), None when it
    is not a git checkout (an installed package: the version says which)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def provenance(case_file: str | None) -> dict[str, str | None]:
    """Where and from what a run came: sse-fem commit, host, command, case file, and the
    container image when run in one (``SSE_FEM_IMAGE``, ``SSE_FEM_IMAGE_DIGEST``, set by the
    images)."""
    return {
        "git_commit": git_commit(),
        "host": platform.node(),
        "command": " ".join(sys.argv),
        "case_file": case_file,
        "image": os.environ.get("SSE_FEM_IMAGE"),
        "image_digest": os.environ.get("SSE_FEM_IMAGE_DIGEST"),
        "started": now(),
    }
