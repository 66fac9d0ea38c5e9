"""Mobile ions of Nernst-Planck transport: the chemical-potential variable each is solved in,
and the concentration and mobility it gives, per region (phase).

The unknown of ion i is its chemical potential over RT, u = mu0/RT + ln(c / c_ref) (dilute)
or u = mu0/RT + ln(c / (c_max - c)) (lattice gas, Bikerman), continuous over the ion's
regions: where it spans two phases their interface is in equilibrium (with the potential
continuous too, the electrochemical potential is), and the step of mu0 between the phases
sets the concentrations on either side. Every concentration a Newton iterate can reach is
positive, and below c_max on a lattice. The flux

    N = -D m(c) (grad(u - mu0/RT) + z grad phi / V_T),   m = c (dilute), c (1 - c/c_max),

is Fick plus migration, D grad c + D z c grad phi / V_T, for both laws. The per-phase
parameters are DG0 functions on the parent mesh (no recompilation for new values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ufl
from dolfinx import fem

from sse_fem.mesh import SubMesh

#: quadrature degree of the storage term (exp of a P1 variable, times the test function)
#: in the residual and in the ion balance: the same rule, so the balance closes where the
#: concentration varies by decades across a cell (an electroneutral cell near depletion)
RATE_DEGREE = 4


def species_slug(name: str) -> str:
    """A name fit for unknowns and output columns: ``Li+`` -> ``Li_p``, ``TFSI-`` ->
    ``TFSI_m``, ``Mg2+`` -> ``Mg2_p``."""
    core = name.rstrip("+-")
    signs = name[len(core) :]
    return core + ("_" + signs.replace("+", "p").replace("-", "m") if signs else "")


@dataclass(frozen=True)
class Phase:
    """The ion's parameters in one region (SI)."""

    diffusivity: float  # [m^2/s]
    initial: float  # initial concentration [mol/m^3]
    c_max: float | None  # lattice saturation [mol/m^3]; None: dilute
    mu0: float  # standard chemical potential [J/mol]
    omega: float  # partial molar volume [m^3/mol] (0: not coupled to stress)


@dataclass
class MobileIon:
    """One mobile species on the submesh of its regions."""

    name: str
    slug: str
    regions: tuple[str, ...]
    tags: tuple[int, ...]  # cell tags of ``regions``
    sub: SubMesh
    u: fem.Function  # chemical potential over RT [-]
    z: fem.Constant  # charge number [-]
    c_ref: fem.Constant  # reference concentration of the dilute law [mol/m^3]
    phases: dict[str, Phase]
    # per parent cell (DG0): D [m^2/s], c0 and c_max [mol/m^3] (1 where dilute), lattice
    # (1: saturating, 0: dilute), mu0 [J/mol], Omega [m^3/mol]
    diffusivity: fem.Function
    initial: fem.Function
    c_max: fem.Function
    lattice: fem.Function
    mu0: fem.Function
    omega: fem.Function  # partial molar volume [m^3/mol]

    def concentration(
        self, u: ufl.core.expr.Expr, rt: ufl.core.expr.Expr | float
    ) -> ufl.core.expr.Expr:
        """c(u) [mol/m^3] at RT [J/mol] (only the branch of the cell's law is evaluated)."""
        x = u - self.mu0 / rt
        return ufl.conditional(
            ufl.gt(self.lattice, 0.5),
            self.c_max / (1 + ufl.exp(-x)),
            self.c_ref * ufl.exp(x),
        )

    def mobility(self, c: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """m(c) [mol/m^3]: the concentration, times the free-site fraction on a lattice."""
        return c * (1 - self.lattice * c / self.c_max)

    def variable(self, c: float, region: str, rt: float) -> float:
        """u(c) [-] of a concentration [mol/m^3] in ``region`` at RT [J/mol]."""
        p = self.phases[region]
        shift = p.mu0 / rt
        if p.c_max is None:
            return shift + math.log(c / float(self.c_ref.value))
        return shift + math.log(c / (p.c_max - c))
