"""Compact Jacobian: the assembled matrix without structurally zero entries.

dolfinx 0.11 over-allocates the sparsity of interface (dS) integrals whose argument lives on
a submesh missing one of the facet's cells (fixed upstream in FEniCS/dolfinx#4337): rows and
columns of one dof per block become dense, with zero values. LU then fills them in, and
smoothed-aggregation AMG builds nearly dense coarse operators (the Galerkin product uses the
stored pattern), which made the setup cost grow with the interface size.

The compact pattern is taken once from an assembly at a generic state: zero constants set to
nonzero values, nonzero ones perturbed, and every unknown set to generic values around its
scale. Couplings switched off by a mode constant (current vs voltage control) or vanishing at
a particular state (drift at zero field, Joule heat at zero current) are kept. Each Newton
step assembles into dolfinx's matrix and copies the values of the kept entries into the
compact one; when nothing is dropped the compact copy is not used at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from mpi4py import MPI

import numpy as np
from dolfinx import fem
from petsc4py import PETSc


class CompactMatrix:
    """The nonzero (or non-finite) entries and the diagonal of ``full`` at construction, as a
    new AIJ matrix ``mat``; ``update()`` copies the current values of ``full`` into it."""

    def __init__(self, full: PETSc.Mat) -> None:
        self.full = full
        ia, ja, values = full.getValuesCSR()
        first = full.getOwnershipRange()[0]
        local_rows = np.repeat(np.arange(len(ia) - 1), np.diff(ia))
        self.keep = (values != 0.0) | ~np.isfinite(values) | (ja == local_rows + first)
        counts = np.bincount(local_rows[self.keep], minlength=len(ia) - 1)
        self.ia = np.concatenate([[0], np.cumsum(counts)]).astype(PETSc.IntType)
        self.ja = ja[self.keep].astype(PETSc.IntType)
        self.mat = PETSc.Mat().createAIJ(
            full.getSizes(), csr=(self.ia, self.ja, values[self.keep]), comm=full.getComm()
        )
        self.mat.assemble()
        self.is_full = bool(full.getComm().tompi4py().allreduce(self.keep.all(), op=MPI.LAND))

    def update(self) -> None:
        values = self.full.getValuesCSR()[2]
        self.mat.setValuesCSR(self.ia, self.ja, values[self.keep])  # type: ignore[arg-type]
        self.mat.assemble()


def generic_state(constants: Iterable[fem.Constant], seed: int = 7) -> Callable[[], None]:
    """Set every constant to a generic value (zero -> U(0.3, 0.7), else x U(0.9, 1.1));
    returns the function that restores them."""
    rng = np.random.default_rng(seed)  # same on every rank
    saved = []
    for c in constants:
        old = np.array(c.value, copy=True)
        saved.append((c, old))
        factor = rng.uniform(0.9, 1.1, size=old.shape)
        c.value = np.where(old == 0.0, rng.uniform(0.3, 0.7, size=old.shape), old * factor)

    def restore() -> None:
        for c, old in saved:
            c.value = old

    return restore


def generic_unknowns(
    unknowns: Iterable[tuple[fem.Function, float]], seed: int = 11
) -> Callable[[], None]:
    """Set each (function, scale) to values scale x U(0.8, 1.2) (ghosts updated); returns
    the function that restores the old values."""
    rng = np.random.default_rng(seed)
    saved = []
    for u, scale in unknowns:
        saved.append((u, u.x.array.copy()))
        u.x.array[:] = scale * rng.uniform(0.8, 1.2, size=u.x.array.shape)
        u.x.scatter_forward()

    def restore() -> None:
        for u, old in saved:
            u.x.array[:] = old

    return restore
