"""Rigid-body modes of a vector displacement space: the near-nullspace that makes algebraic
multigrid work for elasticity (translations, and rotations in 2D and 3D)."""

from __future__ import annotations

import numpy as np
from dolfinx import fem
from petsc4py import PETSc


def rigid_body_modes(V: fem.FunctionSpace) -> PETSc.NullSpace:
    """Orthonormal rigid-body modes of ``V`` (P1 vector, block size gdim): gdim translations
    plus 1 rotation in 2D, 3 in 3D."""
    bs = V.dofmap.index_map_bs
    n = V.dofmap.index_map.size_local
    x = V.tabulate_dof_coordinates()[:n]
    modes = []
    for k in range(bs):
        m = np.zeros((n, bs))
        m[:, k] = 1.0
        modes.append(m)
    for a, b in ((0, 1), (1, 2), (2, 0))[: {1: 0, 2: 1, 3: 3}[bs]]:
        m = np.zeros((n, bs))
        m[:, a], m[:, b] = -x[:, b], x[:, a]
        modes.append(m)
    comm = V.mesh.comm
    vecs: list[PETSc.Vec] = []
    for m in modes:
        v = PETSc.Vec().createMPI((n * bs, PETSc.DETERMINE), bsize=bs, comm=comm)
        v.array[:] = m.ravel()
        for w in vecs:  # Gram-Schmidt (modified)
            v.axpy(-v.dot(w), w)
        v.normalize()
        vecs.append(v)
    return PETSc.NullSpace().create(vectors=vecs, comm=comm)
