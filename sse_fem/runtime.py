"""Versions and parallel environment (for ``sse-fem info`` and ``summary.json``)."""

from __future__ import annotations

import platform

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
