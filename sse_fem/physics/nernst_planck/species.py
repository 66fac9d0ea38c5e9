"""Mobile ions of Nernst-Planck transport: the chemical-potential variable each is solved in,
and the concentration and mobility it gives.

The unknown of ion i is its dimensionless chemical potential u_i: u = ln(c / c_ref) (dilute)
or u = ln(c / (c_max - c)) (lattice gas, Bikerman), so that every concentration a Newton
iterate can reach is positive (and below c_max). The flux is

    N_i = -D_i m_i(c_i) (grad u_i + z_i grad phi / V_T),   m = c (dilute), c (1 - c/c_max),

which is Fick plus migration, D grad c + D z c grad phi / V_T, for both laws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ufl
from dolfinx import fem

from sse_fem.mesh import SubMesh


def species_slug(name: str) -> str:
    """A name fit for unknowns and output columns: ``Li+`` -> ``Li_p``, ``TFSI-`` ->
    ``TFSI_m``, ``Mg2+`` -> ``Mg2_p``."""
    core = name.rstrip("+-")
    signs = name[len(core) :]
    return core + ("_" + signs.replace("+", "p").replace("-", "m") if signs else "")


@dataclass
class MobileIon:
    """One mobile species on the submesh of its regions."""

    name: str
    slug: str
    regions: tuple[str, ...]
    tags: tuple[int, ...]  # cell tags of ``regions``
    sub: SubMesh
    u: fem.Function  # chemical-potential variable [-]
    z: fem.Constant  # charge number [-]
    diffusivity: fem.Constant  # [m^2/s]
    c_ref: fem.Constant  # reference concentration of the dilute law [mol/m^3]
    c_max: fem.Constant | None  # lattice saturation [mol/m^3]
    initial: float  # initial concentration [mol/m^3]

    def concentration(self, u: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """c(u) [mol/m^3]."""
        if self.c_max is None:
            return self.c_ref * ufl.exp(u)
        return self.c_max / (1 + ufl.exp(-u))

    def mobility(self, c: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """m(c) [mol/m^3]: the concentration, times the free-site fraction on a lattice."""
        return c if self.c_max is None else c * (1 - c / self.c_max)

    def variable(self, c: float) -> float:
        """u(c) [-] of a concentration [mol/m^3]."""
        if self.c_max is None:
            return math.log(c / float(self.c_ref.value))
        return math.log(c / (float(self.c_max.value) - c))

    def concentration_value(self, u: float) -> float:
        """c(u) [mol/m^3] of a number."""
        if self.c_max is None:
            return float(self.c_ref.value) * math.exp(u)
        return float(self.c_max.value) / (1 + math.exp(-u))
