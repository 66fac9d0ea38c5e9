"""Effective conductivity of a voxel image: cell-centred finite volumes with two-point fluxes.

One unknown per conducting voxel (conductivity > 0, face-connected to a driven face); face
conductances are harmonic means, ``2 s_i s_j / (s_i + s_j) h^(d-2)``; the driven faces are
Dirichlet planes on the outer faces, half a voxel from the first cell centres
(``2 s_i h^(d-2)``); the other outer faces are insulated. This is the discretisation of the
common voxel tortuosity tools, so their published numbers compare directly.

For a potential drop ``dV`` over the length ``L`` along axis ``a``, column ``a`` of the
effective tensor is the volume-averaged current density over the applied field,
``sigma_eff[:, a] = <j> / (dV / L)``; its diagonal entry equals the current through the
driven faces ``I L / (A dV)`` (current conservation). Assembly is vectorised from the array;
the linear system (symmetric positive definite) is solved by CG with algebraic multigrid
(PETSc GAMG), or LU below ``DIRECT_MAX`` unknowns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from sse_fem.errors import SolverFailure
from sse_fem.microstructure.connectivity import connected_to_faces

#: below this many unknowns the system is factorised (exact to round-off)
DIRECT_MAX = 20_000
#: relative residual of the Krylov solve
KRYLOV_RTOL = 1e-12


@dataclass
class AxisSolve:
    """One driven direction: the tensor column [S/m], current [A], solver figures."""

    axis: int
    column: np.ndarray
    current_A: float
    unknowns: int
    iterations: int
    timings: dict[str, float] = field(default_factory=dict)
    potential: np.ndarray | None = None  # [V] per voxel (NaN where not solved), 1 V drop


def solve_axis(sigma: np.ndarray, h: float, axis: int, keep_potential: bool = False) -> AxisSolve:
    """Drive 1 V along ``axis`` over the conductivity image ``sigma`` [S/m] with voxels of
    edge ``h`` [m]; the effective tensor's column ``axis`` and the solve's figures."""
    t0 = time.perf_counter()
    dim = sigma.ndim
    active, percolates = connected_to_faces(sigma > 0, axis)
    if not percolates:  # no path from face to face: exactly no current
        potential = np.full(sigma.shape, np.nan) if keep_potential else None
        return AxisSolve(axis, np.zeros(dim), 0.0, 0, 0, {}, potential)
    index = np.full(sigma.shape, -1, dtype=np.int64)
    n = int(active.sum())
    index[active] = np.arange(n)
    scale = h ** (dim - 2)
    rows, cols, vals = [], [], []
    diag = np.zeros(n)
    faces = []  # per direction: (i, j, g) of interior faces between active voxels
    for d in range(dim):
        lo = [slice(None)] * dim
        hi = [slice(None)] * dim
        lo[d], hi[d] = slice(0, -1), slice(1, None)
        a, b = index[tuple(lo)], index[tuple(hi)]
        sa, sb = sigma[tuple(lo)], sigma[tuple(hi)]
        both = (a >= 0) & (b >= 0)
        i, j = a[both], b[both]
        g = scale * 2.0 * sa[both] * sb[both] / (sa[both] + sb[both])
        faces.append((i, j, g))
        rows += [i, j]
        cols += [j, i]
        vals += [-g, -g]
        np.add.at(diag, i, g)
        np.add.at(diag, j, g)
    rhs = np.zeros(n)
    boundary = []
    for side, value in ((0, 1.0), (-1, 0.0)):
        cells = np.take(index, side, axis=axis)
        s = np.take(sigma, side, axis=axis)
        on = cells >= 0
        g = scale * 2.0 * s[on]
        np.add.at(diag, cells[on], g)
        rhs[cells[on]] += g * value
        boundary.append((cells[on], g, value))
    rows.append(np.arange(n))
    cols.append(np.arange(n))
    vals.append(diag)
    matrix = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    t1 = time.perf_counter()
    phi, iterations, t_setup = _solve(matrix, rhs)
    t2 = time.perf_counter()
    # volume-averaged current density: each face current times the distance it spans
    volume = float(np.prod(sigma.shape)) * h**dim
    column = np.zeros(dim)
    for d, (i, j, g) in enumerate(faces):
        column[d] = float(np.sum(g * (phi[i] - phi[j]))) * h
    (inlet, g_in, v_in), (outlet, g_out, v_out) = boundary
    current = float(np.sum(g_in * (v_in - phi[inlet])))
    column[axis] += 0.5 * h * (current + float(np.sum(g_out * (phi[outlet] - v_out))))
    length = sigma.shape[axis] * h
    column /= volume / length  # <j> / (dV / L), dV = 1 V
    potential = None
    if keep_potential:
        potential = np.full(sigma.shape, np.nan)
        potential[active] = phi
    timings = {"assemble_s": t1 - t0, "setup_s": t_setup, "solve_s": t2 - t1 - t_setup}
    return AxisSolve(axis, column, current, n, iterations, timings, potential)


def _solve(matrix: sparse.csr_matrix, rhs: np.ndarray) -> tuple[np.ndarray, int, float]:
    """The solution, Krylov iterations (0: direct) and setup time [s]."""
    n = matrix.shape[0]
    if n == 0:
        return np.zeros(0), 0, 0.0
    from mpi4py import MPI

    from petsc4py import PETSc

    t0 = time.perf_counter()
    A = PETSc.Mat().createAIJ(
        size=(n, n), csr=(matrix.indptr, matrix.indices, matrix.data), comm=MPI.COMM_SELF
    )
    A.setOption(PETSc.Mat.Option.SPD, True)
    b = A.createVecRight()
    b.array[:] = rhs
    x = A.createVecLeft()
    ksp = PETSc.KSP().create(MPI.COMM_SELF)
    ksp.setOperators(A)
    pc = ksp.getPC()
    if n <= DIRECT_MAX:
        ksp.setType("preonly")
        pc.setType("cholesky")
        pc.setFactorSolverType("mumps")
    else:
        ksp.setType("cg")
        pc.setType("gamg")
        ksp.setTolerances(rtol=KRYLOV_RTOL, atol=0.0, max_it=5000)
    ksp.setUp()
    t_setup = time.perf_counter() - t0
    try:
        ksp.solve(b, x)
        if ksp.getConvergedReason() < 0:
            reason = ksp.getConvergedReason()
            raise SolverFailure(f"the voxel solve did not converge (KSP reason {reason})")
        iterations = ksp.getIterationNumber() if ksp.getType() != "preonly" else 0
        return x.array.copy(), iterations, t_setup
    finally:
        for obj in (ksp, A, b, x):
            obj.destroy()


def effective_tensor(
    sigma: np.ndarray, h: float, axes: tuple[int, ...] | None = None
) -> tuple[np.ndarray, list[AxisSolve]]:
    """The effective conductivity tensor [S/m] (columns of the driven ``axes``; others NaN)
    and the solves."""
    dim = sigma.ndim
    axes = tuple(range(dim)) if axes is None else axes
    tensor = np.full((dim, dim), np.nan)
    solves = []
    for a in axes:
        s = solve_axis(sigma, h, a)
        tensor[:, a] = s.column
        solves.append(s)
    return tensor, solves
