"""sse-fem: multiphysics finite elements for solid-state batteries (dolfinx 0.11).

``from mpi4py import MPI`` comes first so that dolfinx/petsc4py find the MPI library.
"""

from mpi4py import MPI  # noqa: F401

__version__ = "0.1.0"
