"""Concentrated-solution transport of a binary salt in electroneutral regions (Newman).

The salt M_nu+ A_nu- (z+ nu+ = -z- nu- = Z) is described by its conductivity kappa(c),
chemical diffusivity D(c), cation transference number t+(c) and thermodynamic factor
(1 + dln f/dln c)(c), c the salt concentration [mol/m^3]. Nernst-Planck transport carries
them as Onsager fluxes of the two ions,

    N_i = -sum_j L_ij X_j,   X_j = grad mu~_j / RT   (mu~: electrochemical potential),

with the symmetric matrix L [mol/(m s)] that gives exactly these three properties:

    K = RT kappa / F^2,   L+- = Z D c / (TDF (z+ - z-)) + K t+ t- / (z+ z-),
    L++ = (t+ K / z+ - z- L+-) / z+,   L-- = (t- K / z- - z+ L+-) / z-

(kappa = F^2 z^T L z / RT at uniform composition; t+ the cation's share of that current;
the zero-current salt flux -D grad c). L is positive definite for every t+ when kappa, D and
TDF are positive, and diagonal, L_ii = D_i c_i, for the dilute properties of two ions.
The cation is ideal (mu+ = mu+0 + RT ln c+, so the potential of a cation-metal electrode
is Nernstian in c+), the anion carries the salt's non-ideality:
grad mu- / RT = grad ln c- + (nu / nu-) (TDF - 1) grad ln c.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import ufl
from dolfinx import fem

from sse_fem.config.schema import SaltPropertyExpression, SaltPropertyTable
from sse_fem.errors import CaseError
from sse_fem.expressions import Expression
from sse_fem.materials.curves import Curve, CurveForm, unit_scale
from sse_fem.physics.kinetics import FARADAY
from sse_fem.units import DIMENSIONS

if TYPE_CHECKING:
    from sse_fem.config.schema import ConcentratedSalt
    from sse_fem.physics.nernst_planck.species import MobileIon

#: salt property -> (dimension, lower bound (exclusive), or None for none)
PROPERTIES = {
    "conductivity": ("conductivity", 0.0),
    "diffusivity": ("diffusivity", 0.0),
    "transference_number": ("dimensionless", None),
    "thermodynamic_factor": ("dimensionless", 0.0),
}


@dataclass
class SaltProperty:
    """One property as UFL of the salt concentration [mol/m^3], with its numbers as
    ``fem.Constant`` s: a value, an expression with its unit scales, or a table (a
    ``sse_fem.materials.curves`` table in x = c / concentration unit)."""

    value: fem.Constant | None  # a constant property (SI)
    expression: Expression | None
    table: CurveForm | None
    scale: fem.Constant  # SI value of the expression's unit
    c_unit: fem.Constant  # SI value of the concentration unit [mol/m^3]

    def __call__(self, c: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        if self.expression is not None:
            return self.scale * self.expression.ufl(c=c / self.c_unit)
        if self.table is not None:
            return self.table(c / self.c_unit)
        assert self.value is not None
        return self.value

    def numpy(self, c: np.ndarray) -> np.ndarray:
        x = c / float(self.c_unit.value)
        if self.expression is not None:
            return float(self.scale.value) * self.expression.numpy(c=x)
        if self.table is not None:
            return self.table.curve.numpy(x)
        assert self.value is not None
        return np.full_like(c, float(self.value.value))


def _unit_scale(unit: str, dimension: str, path: str) -> float:
    """SI factor of ``unit``; "1" (or "-") for a dimensionless property."""
    if dimension == "dimensionless" and unit.strip() in ("1", "-"):
        return 1.0
    return unit_scale(unit, dimension, path)


def salt_property(msh: object, spec: object, key: str, path: str) -> SaltProperty:
    """The property ``key`` of a salt block on ``msh``; CaseError naming ``path``."""
    dimension = PROPERTIES[key][0]
    one = fem.Constant(msh, 1.0)
    if isinstance(spec, SaltPropertyExpression | SaltPropertyTable):
        scale = _unit_scale(spec.unit, dimension, f"{path}.unit")
        c_unit = fem.Constant(
            msh,
            _unit_scale(spec.concentration_unit, "concentration", f"{path}.concentration_unit"),
        )
        if isinstance(spec, SaltPropertyTable):
            curve = Curve(
                key,
                DIMENSIONS[dimension],
                "case file",
                "typical",
                x=tuple(spec.c),
                values=tuple(scale * v for v in spec.values),
            )
            return SaltProperty(None, None, CurveForm(curve, msh), one, c_unit)
        expression = Expression(spec.expression, ("c",), f"{path}.expression")
        return SaltProperty(None, expression, None, fem.Constant(msh, scale), c_unit)
    assert isinstance(spec, float | int)
    return SaltProperty(fem.Constant(msh, float(spec)), None, None, one, one)


@dataclass
class Salt:
    """The binary salt of a ``ConcentratedSalt`` block on its regions."""

    cation: MobileIon
    anion: MobileIon
    tags: tuple[int, ...]  # of its regions
    properties: dict[str, SaltProperty]

    @property
    def valence(self) -> tuple[int, int, int]:
        """(z+, z-, Z = z+ nu+): the charge numbers and the charge per formula unit."""
        zp, zm = int(self.cation.z.value), int(self.anion.z.value)
        return zp, zm, zp * -zm // math.gcd(zp, -zm)

    def concentration(self, c_cation: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """c = c+ / nu+ [mol/m^3] of the salt."""
        zp, _, big_z = self.valence
        return c_cation * zp / big_z

    def onsager(
        self, c: ufl.core.expr.Expr, rt: ufl.core.expr.Expr
    ) -> tuple[ufl.core.expr.Expr, ufl.core.expr.Expr, ufl.core.expr.Expr]:
        """(L++, L+-, L--) [mol/(m s)] at the salt concentration c and RT [J/mol]."""
        zp, zm, big_z = self.valence
        p = self.properties
        t_plus = p["transference_number"](c)
        t_minus = 1 - t_plus
        k = rt * p["conductivity"](c) / FARADAY**2
        cross = big_z * p["diffusivity"](c) * c / (
            p["thermodynamic_factor"](c) * (zp - zm)
        ) + k * t_plus * t_minus / (zp * zm)
        return (t_plus * k / zp - zm * cross) / zp, cross, (t_minus * k / zm - zp * cross) / zm

    def anion_activity(self, c: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """(nu / nu-) (TDF - 1): the factor of grad ln c in the anion's grad mu / RT beyond
        its ideal part."""
        zp, zm, big_z = self.valence
        nu_plus, nu_minus = big_z // zp, big_z // -zm
        return (nu_plus + nu_minus) / nu_minus * (self.properties["thermodynamic_factor"](c) - 1)

    def check(self, c0: float, path: str) -> None:
        """CaseError when a property is not finite, or kappa, D or TDF not positive, between
        0.01 c0 and 3 c0 (the range a polarised salt reaches)."""
        c = np.linspace(0.01 * c0, 3 * c0, 300)
        for key, prop in self.properties.items():
            values = prop.numpy(c)
            low = PROPERTIES[key][1]
            bad = ~np.isfinite(values) if low is None else ~(np.isfinite(values) & (values > low))
            if bad.any():
                at = float(c[np.flatnonzero(bad)[0]])
                raise CaseError(
                    f"{key} is {float(values[bad][0]):.4g} at c = {at:.4g} mol/m^3: it must be "
                    f"finite{'' if low is None else ' and positive'} for 0.01-3 times the "
                    f"initial {c0:.4g} mol/m^3",
                    f"{path}.{key}",
                )


def build_salt(
    cfg: ConcentratedSalt,
    ions: list[MobileIon],
    neutral: tuple[str, ...],
    region_tags: dict[str, int],
    msh: object,
    path: str,
) -> Salt:
    """The salt of ``cfg`` among ``ions`` (names checked with the case)."""
    cation = next(i for i in ions if i.name == cfg.cation)
    anion = next(i for i in ions if i.name == cfg.anion)
    regions = tuple(
        cfg.regions
        if cfg.regions is not None
        else [r for r in neutral if r in cation.phases and r in anion.phases]
    )
    properties = {
        key: salt_property(msh, getattr(cfg, key), key, f"{path}.{key}") for key in PROPERTIES
    }
    salt = Salt(cation, anion, tuple(region_tags[r] for r in regions), properties)
    zp, _, big_z = salt.valence
    for region in regions:
        salt.check(cation.phases[region].initial * zp / big_z, path)
    return salt


__all__ = ["Salt", "build_salt"]
