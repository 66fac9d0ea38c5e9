"""Effective conductivity of a voxel image taken as one cell of a periodic medium.

Cell-centred finite volumes with the two-point fluxes of ``voxel_fv`` (harmonic-mean face
conductances ``2 s_i s_j / (s_i + s_j) h^(d-2)``), now also across the image's own outer
faces, which wrap around. The potential is a mean field plus a periodic fluctuation,
``phi = phi~ - E x``, with ``E = 1 V / L_a`` along the driven axis ``a``: the flux between
voxels i and j = i + e_d is ``g (phi~_i - phi~_j + E h delta_da)``. Each component of the
conducting voxels (components joined across the periodic faces) has one voxel held at
``phi~ = 0`` (the fluctuation is defined up to a constant per component). Column ``a`` of
the tensor is the volume-averaged current density over E. The matrix is the same for every
drive: one assembly and one multigrid hierarchy serve all three.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from sse_fem.microstructure.connectivity import labelled
from sse_fem.microstructure.voxel_fv import AxisSolve, _Solver


class PeriodicVoxelSystem:
    """The periodic two-point-flux system of a conductivity image (collective over
    ``comm``: every rank assembles it, rows are split as in ``voxel_fv``)."""

    def __init__(self, sigma: np.ndarray, h: float, comm: Any = None) -> None:
        from mpi4py import MPI

        t0 = time.perf_counter()
        self.comm = comm or MPI.COMM_SELF
        self.sigma, self.h, self.dim = sigma, h, sigma.ndim
        conducting = sigma > 0
        labels, count = labelled(conducting, 4 if sigma.ndim == 2 else 6)
        joins = [np.zeros((2, 0), dtype=np.int64)]
        for a in range(self.dim):  # components touching across a periodic face are one
            lo, hi = np.take(labels, 0, axis=a), np.take(labels, -1, axis=a)
            both = (lo > 0) & (hi > 0)
            joins.append(np.stack([lo[both], hi[both]]))
        pairs = np.concatenate(joins, axis=1)
        graph = sparse.coo_matrix(
            (np.ones(pairs.shape[1]), (pairs[0], pairs[1])), shape=(count + 1, count + 1)
        )
        component = csgraph.connected_components(graph, directed=False)[1][labels]
        where = np.flatnonzero(conducting.ravel())
        held = where[np.unique(component.ravel()[where], return_index=True)[1]]
        self.held = held.size  # one voxel per component at phi~ = 0
        self.index = np.full(sigma.size, -1, dtype=np.int64)
        free = np.setdiff1d(where, held)
        self.index[free] = np.arange(free.size)
        self.index = self.index.reshape(sigma.shape)
        self.n = int(free.size)
        scale = h ** (self.dim - 2)
        self.faces = []  # per direction: (i, j, g, wraps) with j = i + e_d, -1: held at 0
        diagonal = np.zeros(self.n)
        rows, cols, vals = [], [], []
        for d in range(self.dim):
            s_next = np.roll(sigma, -1, axis=d)
            both = conducting & (s_next > 0)
            i = self.index[both]
            j = np.roll(self.index, -1, axis=d)[both]
            sa, sb = sigma[both], s_next[both]
            g = scale * 2.0 * sa * sb / (sa + sb)
            wraps = np.zeros(sigma.shape, dtype=bool)
            edge = [slice(None)] * self.dim
            edge[d] = slice(-1, None)
            wraps[tuple(edge)] = True
            self.faces.append((i, j, g, wraps[both]))
            for p, q in ((i, j), (j, i)):
                on = p >= 0
                diagonal += np.bincount(p[on], g[on], self.n)
                coupled = on & (q >= 0)
                rows.append(p[coupled])
                cols.append(q[coupled])
                vals.append(-g[coupled])
        rows.append(np.arange(self.n))
        cols.append(np.arange(self.n))
        vals.append(diagonal)
        self.matrix = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(self.n, self.n),
        )
        self.assemble_s = time.perf_counter() - t0
        self._solver: _Solver | None = None

    def solve(self, axis: int, keep_potential: bool = False) -> AxisSolve:
        """Mean field of 1 V over the image's length along ``axis``: the tensor's column."""
        del keep_potential  # the picture of a periodic fluctuation is not drawn
        t0 = time.perf_counter()
        dim, h = self.dim, self.h
        length = self.sigma.shape[axis] * h
        field = 1.0 / length  # E [V/m]
        i, j, g, wraps = self.faces[axis]
        drive = g * field * h  # the mean field's share of each face current [A]
        rhs = np.zeros(self.n)
        rhs -= np.bincount(i[i >= 0], drive[i >= 0], self.n)
        rhs += np.bincount(j[j >= 0], drive[j >= 0], self.n)
        t1 = time.perf_counter()
        fluctuation, iterations, setup = np.zeros(0), 0, 0.0  # every component one voxel
        if self.n:
            if self._solver is None:
                self._solver = _Solver(self.n, self.comm)
            setup = self._solver.setup_s
            fluctuation, iterations = self._solver.solve(self.matrix, rhs, same_matrix=True)
            setup = self._solver.setup_s - setup
        t2 = time.perf_counter()
        phi = np.append(fluctuation, 0.0)  # index -1: a held voxel
        volume = float(np.prod(self.sigma.shape)) * h**dim
        column = np.zeros(dim)
        current = 0.0
        for d, (fi, fj, fg, fw) in enumerate(self.faces):
            flux = fg * (phi[fi] - phi[fj]) + (drive if d == axis else 0.0)
            column[d] = float(np.sum(flux)) * h / volume / field
            if d == axis:
                current = float(np.sum(flux[fw]))  # through the periodic face
        timings = {"assemble_s": t1 - t0, "setup_s": setup, "solve_s": t2 - t1 - setup}
        return AxisSolve(axis, column, current, self.n, iterations, timings, None)

    def close(self) -> None:
        if self._solver is not None:
            self._solver.close()
            self._solver = None


def periodic_tensor(
    sigma: np.ndarray, h: float, comm: Any = None
) -> tuple[np.ndarray, list[AxisSolve]]:
    """The periodic effective tensor [S/m] and its solves (one assembly, one hierarchy)."""
    system = PeriodicVoxelSystem(sigma, h, comm)
    try:
        solves = [system.solve(a) for a in range(sigma.ndim)]
    finally:
        system.close()
    solves[0].timings["assemble_s"] += system.assemble_s
    return np.column_stack([s.column for s in solves]), solves
