"""Effective conductivity of a voxel image: cell-centred finite volumes with two-point fluxes.

One unknown per conducting voxel (conductivity > 0, face-connected to a driven face); face
conductances are harmonic means, ``2 s_i s_j / (s_i + s_j) h^(d-2)``; the driven faces are
Dirichlet planes on the outer faces, half a voxel from the first cell centres
(``2 s_i h^(d-2)``); the other outer faces are insulated. This is the discretisation of the
common voxel tortuosity tools, so their published numbers compare directly.

For a potential drop ``dV`` over the length ``L`` along axis ``a``, column ``a`` of the
effective tensor is the volume-averaged current density over the applied field,
``sigma_eff[:, a] = <j> / (dV / L)``; its diagonal entry equals the current through the
driven faces ``I L / (A dV)`` (current conservation). Assembly is vectorised from the array
and done once for all drives, which share one matrix pattern; the systems (symmetric positive
definite) are solved by CG preconditioned by one algebraic multigrid hierarchy (PETSc GAMG),
or by LU below ``DIRECT_MAX`` unknowns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from sse_fem.errors import SolverFailure
from sse_fem.microstructure.connectivity import labelled, touching

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


class VoxelSystem:
    """The two-point-flux system of a conductivity image, assembled once for every drive.

    Unknowns: the conducting voxels of the face-connected components that touch an outer
    face (isolated components carry no current along any axis). For a drive along ``a``,
    components that touch neither ``a`` face are held at 0 V through their own outer faces
    (they carry no current), so the matrices of all drives share one pattern. On several
    ranks (``comm``) every rank assembles the whole system from the whole image (vectorised,
    cheap) and owns a contiguous block of rows of the distributed solve.
    """

    def __init__(self, sigma: np.ndarray, h: float, comm: Any = None) -> None:
        from mpi4py import MPI

        t0 = time.perf_counter()
        self.comm = comm or MPI.COMM_SELF
        self.sigma, self.h, self.dim = sigma, h, sigma.ndim
        labels, _ = labelled(sigma > 0, 4 if sigma.ndim == 2 else 6)
        # per face (axis, side): the components it touches (index = label)
        self.touches = {}
        for a in range(self.dim):
            self.touches[a, 0], self.touches[a, -1] = touching(labels, a)
        reached = np.logical_or.reduce(list(self.touches.values()))
        self.labels = np.where(reached[labels], labels, 0)
        self.index = np.full(sigma.shape, -1, dtype=np.int64)
        active = self.labels > 0
        self.n = int(active.sum())
        self.index[active] = np.arange(self.n)
        self.label_of = self.labels[active]  # component of each unknown
        scale = h ** (self.dim - 2)
        rows, cols, vals = [], [], []
        self.interior_diag = np.zeros(self.n)
        self.faces = []  # per direction: (i, j, g) of interior faces between unknowns
        for d in range(self.dim):
            lo = [slice(None)] * self.dim
            hi = [slice(None)] * self.dim
            lo[d], hi[d] = slice(0, -1), slice(1, None)
            a, b = self.index[tuple(lo)], self.index[tuple(hi)]
            sa, sb = sigma[tuple(lo)], sigma[tuple(hi)]
            both = (a >= 0) & (b >= 0)
            i, j = a[both], b[both]
            g = scale * 2.0 * sa[both] * sb[both] / (sa[both] + sb[both])
            self.faces.append((i, j, g))
            rows += [i, j]
            cols += [j, i]
            vals += [-g, -g]
            self.interior_diag += np.bincount(i, g, self.n) + np.bincount(j, g, self.n)
        # outer faces: the Dirichlet plane half a voxel out, conductance 2 s h^(d-2)
        self.boundary = {}
        for key in self.touches:
            cells = np.take(self.index, key[1], axis=key[0])
            on = cells >= 0
            self.boundary[key] = (cells[on], scale * 2.0 * np.take(sigma, key[1], axis=key[0])[on])
        diagonal = np.arange(self.n)
        self.off = sparse.csr_matrix(
            (
                np.concatenate([*vals, np.zeros(self.n)]),
                (np.concatenate([*rows, diagonal]), np.concatenate([*cols, diagonal])),
            ),
            shape=(self.n, self.n),
        )
        self.off.sum_duplicates()
        self.off.sort_indices()
        self._diag_at = self._diagonal_positions()
        self.assemble_s = time.perf_counter() - t0
        self._solver: _Solver | None = None

    def _diagonal_positions(self) -> np.ndarray:
        """Positions of the diagonal entries in ``off.data``."""
        m = self.off
        rows = np.repeat(np.arange(self.n), np.diff(m.indptr))
        pos = np.flatnonzero(m.indices == rows)
        return pos

    def _matrix(self, dirichlet: np.ndarray) -> sparse.csr_matrix:
        m = self.off.copy()
        m.data[self._diag_at] += self.interior_diag + dirichlet
        return m

    def _faces_diagonal(self, keys: list[tuple[int, int]], held: np.ndarray | None) -> np.ndarray:
        """Dirichlet conductances of the faces ``keys`` (only cells of components in ``held``
        when given)."""
        out = np.zeros(self.n)
        for key in keys:
            cells, g = self.boundary[key]
            if held is not None:
                keep = held[self.label_of[cells]]
                cells, g = cells[keep], g[keep]
            out += np.bincount(cells, g, self.n)
        return out

    def solve(self, axis: int, keep_potential: bool = False) -> AxisSolve:
        """Drive 1 V along ``axis``: the tensor's column and the solve's figures."""
        t0 = time.perf_counter()
        dim, h = self.dim, self.h
        low, high = self.touches[axis, 0], self.touches[axis, -1]
        if not np.any(low & high):  # no path from face to face: exactly no current
            potential = np.full(self.sigma.shape, np.nan) if keep_potential else None
            return AxisSolve(axis, np.zeros(dim), 0.0, 0, 0, {}, potential)
        if self._solver is None:
            self._solver = _Solver(self.n, self.comm)
        driven = low | high
        others = [k for k in self.boundary if k[0] != axis]
        dirichlet = self._faces_diagonal([(axis, 0), (axis, -1)], None)
        dirichlet += self._faces_diagonal(others, ~driven)  # held at 0 V: no current
        inlet, g_in = self.boundary[axis, 0]
        rhs = np.bincount(inlet, g_in, self.n)
        t1 = time.perf_counter()
        setup = self._solver.setup_s
        phi, iterations = self._solver.solve(self._matrix(dirichlet), rhs)
        t2 = time.perf_counter()
        setup = self._solver.setup_s - setup
        # volume-averaged current density: each face current times the distance it spans
        volume = float(np.prod(self.sigma.shape)) * h**dim
        column = np.zeros(dim)
        for d, (i, j, g) in enumerate(self.faces):
            column[d] = float(np.sum(g * (phi[i] - phi[j]))) * h
        outlet, g_out = self.boundary[axis, -1]
        current = float(np.sum(g_in * (1.0 - phi[inlet])))
        column[axis] += 0.5 * h * (current + float(np.sum(g_out * phi[outlet])))
        column /= volume / (self.sigma.shape[axis] * h)  # <j> / (dV / L), dV = 1 V
        potential = None
        if keep_potential:
            potential = np.full(self.sigma.shape, np.nan)
            carries = driven[self.label_of]
            potential[tuple(np.argwhere(self.index >= 0)[carries].T)] = phi[carries]
        timings = {"assemble_s": t1 - t0, "setup_s": setup, "solve_s": t2 - t1 - setup}
        return AxisSolve(axis, column, current, self.n, iterations, timings, potential)

    def close(self) -> None:
        if self._solver is not None:
            self._solver.close()
            self._solver = None


class _Solver:
    """CG + algebraic multigrid (PETSc GAMG) for ``n`` unknowns distributed over ``comm`` in
    contiguous row blocks, or LU below ``DIRECT_MAX``; the preconditioner built anew for each
    drive."""

    def __init__(self, n: int, comm: Any) -> None:
        from petsc4py import PETSc

        self.n, self.comm = n, comm
        size, rank = comm.size, comm.rank
        self.r0, self.r1 = rank * n // size, (rank + 1) * n // size
        self.direct = n <= DIRECT_MAX
        self.A: Any = None
        self.setup_s = 0.0
        self.ksp = PETSc.KSP().create(comm)
        pc = self.ksp.getPC()
        if self.direct:
            self.ksp.setType("preonly")
            pc.setType("cholesky")
            pc.setFactorSolverType("mumps")
        else:
            self.ksp.setType("cg")
            pc.setType("gamg")
            self.ksp.setTolerances(rtol=KRYLOV_RTOL, atol=0.0, max_it=5000)

    def solve(
        self, matrix: sparse.csr_matrix, rhs: np.ndarray, same_matrix: bool = False
    ) -> tuple[np.ndarray, int]:
        """The solution (whole vector, on every rank) and the Krylov iterations (0: direct);
        ``same_matrix``: the matrix of the previous solve again (its preconditioner too)."""
        from petsc4py import PETSc

        t0 = time.perf_counter()
        if not (same_matrix and self.A is not None):
            rows = matrix[self.r0 : self.r1]
            if self.A is not None:  # a new matrix: GAMG would keep the old interpolation,
                self.A.destroy()  # which suits another drive's faces badly (2x iterations)
            local = self.r1 - self.r0
            self.A = PETSc.Mat().createAIJ(
                size=((local, self.n), (local, self.n)),
                csr=(rows.indptr, rows.indices, rows.data),
                comm=self.comm,
            )
            self.A.setOption(PETSc.Mat.Option.SPD, True)
            self.ksp.reset()
            self.ksp.setOperators(self.A, self.A)
            self.ksp.setUp()
        self.setup_s += time.perf_counter() - t0
        b, x = self.A.createVecRight(), self.A.createVecLeft()
        try:
            b.array[:] = rhs[self.r0 : self.r1]
            self.ksp.solve(b, x)
            if self.ksp.getConvergedReason() < 0:
                reason = self.ksp.getConvergedReason()
                raise SolverFailure(f"the voxel solve did not converge (KSP reason {reason})")
            phi = np.concatenate(self.comm.allgather(x.array.copy()))
            return phi, 0 if self.direct else self.ksp.getIterationNumber()
        finally:
            for v in (b, x):
                v.destroy()

    def close(self) -> None:
        self.ksp.destroy()
        if self.A is not None:
            self.A.destroy()


def solve_axis(
    sigma: np.ndarray, h: float, axis: int, keep_potential: bool = False, comm: Any = None
) -> AxisSolve:
    """Drive 1 V along ``axis`` over the conductivity image ``sigma`` [S/m] with voxels of
    edge ``h`` [m]; the effective tensor's column ``axis`` and the solve's figures."""
    system = VoxelSystem(sigma, h, comm)
    try:
        return system.solve(axis, keep_potential)
    finally:
        system.close()


def effective_tensor(
    sigma: np.ndarray,
    h: float,
    axes: tuple[int, ...] | None = None,
    keep_potential: bool = False,
    comm: Any = None,
) -> tuple[np.ndarray, list[AxisSolve]]:
    """The effective conductivity tensor [S/m] (columns of the driven ``axes``; others NaN)
    and the solves: one assembly for all of them (collective over ``comm``, default one
    rank)."""
    dim = sigma.ndim
    axes = tuple(range(dim)) if axes is None else axes
    tensor = np.full((dim, dim), np.nan)
    system = VoxelSystem(sigma, h, comm)
    try:
        solves = [system.solve(a, keep_potential) for a in axes]
    finally:
        system.close()
    for s in solves:
        tensor[:, s.axis] = s.column
    if solves:  # shared by all drives: booked on the first
        timings = solves[0].timings
        timings["assemble_s"] = timings.get("assemble_s", 0.0) + system.assemble_s
    return tensor, solves
