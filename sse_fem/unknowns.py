"""An unknown of the coupled system: one block of the monolithic solve, with its metadata
(owning physics, global or field, scale, near-nullspace) and BDF history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dolfinx import fem
from dolfinx.mesh import EntityMap
from petsc4py import PETSc


@dataclass
class Unknown:
    """One block of the coupled system, with its history for BDF time derivatives."""

    name: str
    physics: str  # name of the module that owns it (solver field split, block counts)
    u: fem.Function
    history: list[fem.Function]  # [u_{n}, u_{n-1}]
    entity_map: EntityMap | None  # submesh cell map, None on the parent mesh
    is_global: bool = False  # one scalar dof (real element), e.g. a terminal potential
    scale: float = 1.0  # typical magnitude in SI units (Newton tolerance is relative to it)
    #: rigid-body (or other) near-nullspace of the block for AMG, built from its space
    near_nullspace: Callable[[fem.FunctionSpace], PETSc.NullSpace] | None = None

    @property
    def block_size(self) -> int:
        return self.u.function_space.dofmap.index_map_bs
