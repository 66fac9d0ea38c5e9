"""Carrier fields of conduction: one potential per carrier on the submesh of the regions that
conduct it, with a cellwise conductivity sigma(T) that follows the shared temperature.

sigma(T) = sigma_ref (T_ref/T)^p exp(-E_a/R (1/T - 1/T_ref)) per cell, with p = 1 and E_a from
the material where Arrhenius applies and p = E_a = 0 elsewhere (sigma = sigma_ref): every
parameter is a DG0 Function or a Constant, so a new value never recompiles a form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import ufl
from dolfinx import fem

from sse_fem.errors import CaseError
from sse_fem.mesh import SubMesh
from sse_fem.physics.kinetics import GAS_CONSTANT

if TYPE_CHECKING:
    from sse_fem.materials import Material
    from sse_fem.physics.base import Problem

IONIC_CATEGORIES = ("solid_electrolyte", "polymer_electrolyte", "coating")
CARRIER_FIELD = {"ionic": "phi_ionic", "electronic": "phi_electronic"}
#: conductivity contrast beyond which double precision cannot resolve both phases [-]
MAX_CONDUCTIVITY_CONTRAST = 1e16


@dataclass
class CarrierField:
    """The potential of one carrier and its conductivity parameters (DG0 on the submesh)."""

    carrier: str  # ionic | electronic
    name: str  # unknown name
    sub: SubMesh
    regions: tuple[str, ...]
    u: fem.Function  # potential [V]
    sigma_ref: fem.Function  # [S/m] at t_ref
    t_ref: fem.Function  # [K]
    activation: fem.Function  # E_a [J/mol]
    prefactor: fem.Function  # exponent p of (T_ref/T)

    def sigma(self, temperature: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """Conductivity [S/m] at ``temperature`` [K] (UFL)."""
        T = temperature
        return (
            self.sigma_ref
            * (self.t_ref / T) ** self.prefactor
            * ufl.exp(-self.activation / GAS_CONSTANT * (1.0 / T - 1.0 / self.t_ref))
        )


def region_carriers(problem: Problem) -> dict[str, list[str]]:
    """Region -> carriers it conducts (``regions[*].carriers``, else from the category)."""
    return carriers_of(problem.case, problem.materials)


def carriers_of(case: Any, materials: dict[str, Material]) -> dict[str, list[str]]:
    """Region -> carriers it conducts, from a case and its resolved materials (by region)."""
    out = {}
    for region in case.regions:
        mat = materials[region.name]
        default = ["ionic"] if mat.category in IONIC_CATEGORIES else ["electronic"]
        out[region.name] = list(default if region.carriers is None else region.carriers)
    return out


def temperature_law(mat: Material, carrier: str, arrhenius_on: bool) -> tuple[float, float, float]:
    """(T_ref [K], E_a [J/mol], exponent p of T_ref/T) of a material's conductivity: Arrhenius
    for ionic conduction with an activation energy when enabled, else constant."""
    e_a = mat.get("activation_energy") if carrier == "ionic" else None
    if arrhenius_on and e_a is not None:
        return mat.get("reference_temperature", 298.15) or 298.15, e_a, 1.0
    return 298.15, 0.0, 0.0


def conductivity_at(
    mat: Material, carrier: str, temperature: float, arrhenius_on: bool, path: str
) -> float:
    """The conductivity [S/m] at ``temperature`` [K]: the law of ``CarrierField.sigma``."""
    sigma = conductivity(mat, carrier, path)
    t_ref, e_a, exponent = temperature_law(mat, carrier, arrhenius_on)
    return float(
        sigma
        * (t_ref / temperature) ** exponent
        * np.exp(-e_a / GAS_CONSTANT * (1.0 / temperature - 1.0 / t_ref))
    )


def conductivity(mat: Material, carrier: str, path: str) -> float:
    """``<carrier>_conductivity`` of a material [S/m] at its reference temperature, checked
    (finite, > 0: an insulating region says so with ``carriers: []``)."""
    key = f"{carrier}_conductivity"
    sigma = mat.require(key, path)
    if not (np.isfinite(sigma) and sigma > 0):
        raise CaseError(
            f"{key} must be a finite value > 0 (got {sigma:g} S/m); make the region "
            "insulating with `carriers: []` instead",
            f"{path}.{key}",
        )
    return sigma


def declare_fields(
    problem: Problem, physics: str, carriers: dict[str, list[str]], arrhenius_on: bool
) -> dict[str, CarrierField]:
    """One unknown per carrier that some region conducts, with its conductivity data."""
    bundle = problem.bundle
    fields: dict[str, CarrierField] = {}
    for carrier, fname in CARRIER_FIELD.items():
        regions = tuple(r for r, c in carriers.items() if carrier in c)
        if not regions:
            continue
        sub = bundle.submesh(regions)
        V = fem.functionspace(sub.mesh, ("Lagrange", 1))
        Q = fem.functionspace(sub.mesh, ("DG", 0))
        dg0 = [fem.Function(Q, name=f"{n}_{carrier}") for n in ("sigma", "tref", "ea", "p")]
        fields[carrier] = CarrierField(
            carrier,
            fname,
            sub,
            regions,
            problem.add_unknown(physics, fname, V, sub.cell_map),
            *dg0,
        )
    _set_conductivities(problem, fields, arrhenius_on)
    return fields


def _set_conductivities(
    problem: Problem, fields: dict[str, CarrierField], arrhenius_on: bool
) -> None:
    bundle = problem.bundle
    tag_of = bundle.cell_region_tags()
    paths = {r.name: f"materials.{r.material}" for r in problem.case.regions}
    values = []
    for carrier, f in fields.items():
        n = f.sub.mesh.topology.index_map(f.sub.mesh.topology.dim)
        cells = np.arange(n.size_local + n.num_ghosts, dtype=np.int32)
        parent = f.sub.cell_map.sub_topology_to_topology(cells, inverse=False)
        for region in f.regions:
            mat = problem.materials[region]
            sigma = conductivity(mat, carrier, paths[region])
            values.append(sigma)
            t_ref, e_a, exponent = temperature_law(mat, carrier, arrhenius_on)
            sel = cells[tag_of[parent] == bundle.regions[region]]
            f.sigma_ref.x.array[sel] = sigma
            f.t_ref.x.array[sel] = t_ref
            f.activation.x.array[sel] = e_a
            f.prefactor.x.array[sel] = exponent
    if values and max(values) / min(values) > MAX_CONDUCTIVITY_CONTRAST:
        raise CaseError(
            f"conductivities span {min(values):.3g} to {max(values):.3g} S/m, a contrast "
            f"beyond {MAX_CONDUCTIVITY_CONTRAST:.0e} that double precision cannot resolve "
            "(the result would be round-off); make the poor conductor insulating with "
            "`carriers: []`",
            "materials",
        )


def boundary_facets(sub: SubMesh, tags: int | tuple[int, ...]) -> np.ndarray:
    """Local facets of ``sub`` with facet tag ``tags`` (one, or several: an alias such as
    ``sides``); none when it has no facet tags."""
    if sub.facet_tags is None:
        return np.zeros(0, dtype=np.int32)
    if isinstance(tags, int):
        return sub.facet_tags.find(tags)
    found = [sub.facet_tags.find(t) for t in tags]
    return found[0] if len(found) == 1 else np.sort(np.concatenate(found))
