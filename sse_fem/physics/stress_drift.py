"""Stress-driven drift of a diffusing species (Larché–Cahn): its chemical potential carries
-Omega sigma_h (Omega its partial molar volume, sigma_h = tr(sigma)/3, tension > 0), so it
drifts up the gradient of the hydrostatic stress. The shared ``stress`` of a P1 displacement
is piecewise constant: its gradient would vanish, so sigma_h is projected onto P1 over the
species' regions as an unknown of its own, solved with the rest (monolithic)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ufl
from dolfinx import fem

from sse_fem.errors import CaseError

if TYPE_CHECKING:
    from dolfinx.mesh import EntityMap

    from sse_fem.physics.base import Problem

#: typical size of the hydrostatic stress [Pa] (Newton's scale of the projected field)
STRESS_SCALE = 1e8


class HydrostaticStress:
    """sigma_h [Pa] on P1 of ``space``, projected from the shared ``stress``."""

    def __init__(
        self,
        problem: Problem,
        physics: str,
        name: str,
        space: fem.FunctionSpace,
        entity_map: EntityMap,
        path: str,
    ) -> None:
        self.name, self.physics, self.path = name, physics, path
        self.field = problem.add_unknown(physics, name, space, entity_map, scale=STRESS_SCALE)

    def projection(self, problem: Problem, dx: ufl.Measure, weight: object = 1.0) -> ufl.Form:
        """The projection's residual (sigma_h - tr(sigma)/3) q over ``dx``, scaled by
        ``STRESS_SCALE`` and ``weight``."""
        if "stress" not in problem.provided("stress"):
            raise CaseError(
                "a partial molar volume couples the diffusing species to the stress of "
                "physics.mechanics: enable it, or switch the coupling off",
                self.path,
            )
        stress = problem.require("stress", self.physics)()
        q = problem.test(self.name)
        scale = fem.Constant(problem.bundle.mesh, STRESS_SCALE)
        return (self.field - ufl.tr(stress) / 3) / scale * q * weight * dx

    def drift(self, omega: ufl.core.expr.Expr, rt: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """The stress part of the driving force of the flux, -Omega grad(sigma_h) / RT, to
        add to grad(mu / RT)."""
        return -omega * ufl.grad(self.field) / rt
