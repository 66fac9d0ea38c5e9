"""A particle region of solid diffusion: its material data as Constants or curves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dolfinx import fem

if TYPE_CHECKING:
    import ufl

    from sse_fem.materials.curves import CurveForm


@dataclass
class ParticleRegion:
    """One active-material region: c_max [mol/m^3] and D [m^2/s] (Constant or curve of x)."""

    name: str
    tag: int
    c_max: fem.Constant
    diffusivity: fem.Constant | CurveForm
    capacity_density: float  # usable charge per volume [C/m^3] (the 1C reference)
    omega: fem.Constant  # partial molar volume [m^3/mol] of the stress-driven flux

    def diffusion(self, x: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """D(x) [m^2/s]."""
        d = self.diffusivity
        return d if isinstance(d, fem.Constant) else d(x)
