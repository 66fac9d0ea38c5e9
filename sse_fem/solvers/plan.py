"""The solver plan of a coupled problem, built from its unknowns' metadata.

Every unknown declares the physics that owns it, whether it is a global (real-element)
unknown, and optionally a near-nullspace. Blocks are formed per physics (all its field
unknowns) plus one block of all global unknowns. With the iterative preset:

- one physics, no global unknowns: GMRES + GAMG on the whole matrix;
- one physics with global unknowns: the exact Schur split {fields | globals}
  (``presets.newton_options``);
- several physics: left-preconditioned GMRES with a multiplicative field split, one split
  per physics (each with the options its module supplies, GAMG by default; a block's
  near-nullspace reaches its sub-matrix), and the globals solved redundantly by LU.

The owned rows of block k are contiguous on each rank (dolfinx's ``kind="mpi"`` layout), so
the index sets are built locally. ``BlockCounter`` counts the Krylov iterations (or
applications, for ``preonly``) of every split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mpi4py import MPI

import numpy as np
from petsc4py import PETSc

GLOBAL_BLOCK = "globals"


@dataclass
class Block:
    """One split: owned global rows of a physics' fields, or of every global unknown."""

    name: str
    rows: list[np.ndarray] = field(default_factory=list)
    nullspace: PETSc.NullSpace | None = None


def plan_blocks(
    owned: Sequence[tuple[str, bool, int, int, PETSc.NullSpace | None]],
) -> list[Block]:
    """Blocks from (physics, is_global, first row, owned rows, near-nullspace) of every
    unknown, in unknown order; a physics block keeps a near-nullspace only when it holds
    exactly that one unknown."""
    blocks: dict[str, Block] = {}
    members: dict[str, int] = {}
    for physics, is_global, first, n, nullspace in owned:
        name = GLOBAL_BLOCK if is_global else physics
        block = blocks.setdefault(name, Block(name))
        block.rows.append(np.arange(first, first + n, dtype=PETSc.IntType))
        members[name] = members.get(name, 0) + 1
        block.nullspace = nullspace if members[name] == 1 else None
    return list(blocks.values())


def index_set(block: Block, comm: PETSc.Comm | MPI.Comm) -> PETSc.IS:
    rows = np.concatenate(block.rows) if block.rows else np.zeros(0, dtype=PETSc.IntType)
    iset = PETSc.IS().createGeneral(rows.astype(PETSc.IntType), comm=comm)  # type: ignore[arg-type]
    if block.nullspace is not None:  # PCFIELDSPLIT hands it to the block's sub-matrix
        iset.compose("nearnullspace", block.nullspace)
    return iset


class BlockCounter:
    """Counts the iterations of every split's KSP (a ``preonly`` split counts one per
    application). Sub-KSPs exist once the outer PC is set up, so the monitors are attached
    at the outer KSP's first monitor call."""

    def __init__(self, ksp: PETSc.KSP, names: Sequence[str]) -> None:
        self.names = list(names)
        self.counts = dict.fromkeys(self.names, 0)
        self.total = dict.fromkeys(self.names, 0)
        self._attached = False
        ksp.setMonitor(self._attach)

    def _attach(self, ksp: PETSc.KSP, its: int, rnorm: float) -> None:
        if its != 0 or self._attached:
            return
        for name, sub in zip(self.names, ksp.getPC().getFieldSplitSubKSP(), strict=False):
            if sub.getType() == PETSc.KSP.Type.PREONLY:
                sub.setPostSolve(lambda k, b, x, name=name: self._add(name))
            else:
                sub.setMonitor(lambda k, it, r, name=name: self._add(name) if it > 0 else None)
        self._attached = True

    def _add(self, name: str) -> None:
        self.counts[name] += 1
        self.total[name] += 1

    def take(self) -> dict[str, int]:
        """Counts since the last call."""
        out, self.counts = self.counts, dict.fromkeys(self.names, 0)
        return out


__all__ = ["GLOBAL_BLOCK", "Block", "BlockCounter", "index_set", "plan_blocks"]
