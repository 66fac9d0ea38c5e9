"""Interface kinetics of conduction: the rate law on every declared electrode | electrolyte
interface, with optional film resistance (an extra electrode-side potential ``phi_film``) and
double-layer capacitance. The '+' side of every interface facet is forced to the electrode.

The open-circuit potential follows the temperature through the entropic coefficient,
U(T) = U + dU/dT (T - T_ref) (T_ref = 298.15 K); the exchange current through its activation
energy (``RateLaw``). Where a physics provides the stoichiometry x of the electrode
(``stoichiometry.<region>``: solid diffusion), U(x) and dU/dT(x) are the electrode material's
curves and i0 follows (2x)^alpha_c (2(1 - x))^alpha_a (given at x = 1/2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import ufl
from dolfinx import fem

from sse_fem.errors import CaseError
from sse_fem.logs import get_logger
from sse_fem.mesh import MeshBundle
from sse_fem.physics.conduction.fields import CarrierField, boundary_facets
from sse_fem.physics.kinetics import FARADAY, REFERENCE_TEMPERATURE, RateLaw

if TYPE_CHECKING:
    from sse_fem.config.schema import ConductionInterface
    from sse_fem.materials.curves import Curve, CurveForm
    from sse_fem.physics.base import Problem


@dataclass
class InterfaceModel:
    """One interface with kinetics; parameters are Constants (no recompilation)."""

    name: str
    tag: int
    electrode: str  # region name on the '+' side
    electrolyte: str
    law: RateLaw
    film_resistance: fem.Constant | None  # [Ohm m^2]; None: no film
    capacitance: fem.Constant | None  # [F/m^2]; None: no double layer
    ocp: fem.Constant  # open-circuit potential at REFERENCE_TEMPERATURE [V]
    entropic: fem.Constant  # entropic coefficient dU/dT [V/K]
    molar_volume: fem.Constant | None  # Omega_M [m^3/mol] of a stress-coupled metal, else None
    domains: np.ndarray  # (cell+, lf+, cell-, lf-) owned facets, '+' = electrode
    #: U(x) [V] and dU/dT(x) [V/K] of the electrode material (used where x is provided)
    ocp_curve: Curve | None = None
    entropic_curve: Curve | None = None
    ocp_form: CurveForm | None = None
    entropic_form: CurveForm | None = None

    def numeric(self) -> NumericInterface:
        """Open-circuit data as floats (post-processing with numpy)."""
        return NumericInterface(
            float(self.ocp.value), float(self.entropic.value), self.ocp_curve, self.entropic_curve
        )

    def open_circuit_potential(
        self, temperature: Any, x: ufl.core.expr.Expr | None = None
    ) -> ufl.core.expr.Expr:
        """U [V] at ``temperature`` [K] and, where given, the electrode stoichiometry x (UFL)."""
        if x is None or self.ocp_form is None:
            return self.ocp + self.entropic * (temperature - REFERENCE_TEMPERATURE)
        slope = self.entropic_form(x) if self.entropic_form is not None else self.entropic
        return self.ocp_form(x) + slope * (temperature - REFERENCE_TEMPERATURE)


@dataclass(frozen=True)
class NumericInterface:
    ocp: float  # [V] at REFERENCE_TEMPERATURE
    entropic: float  # [V/K]
    ocp_curve: Curve | None = None
    entropic_curve: Curve | None = None

    def open_circuit_potential(self, temperature: Any, x: np.ndarray | None = None) -> Any:
        """U [V] (numpy), the same law as ``InterfaceModel.open_circuit_potential``."""
        if x is None or self.ocp_curve is None:
            return self.ocp + self.entropic * (temperature - REFERENCE_TEMPERATURE)
        slope = self.entropic_curve.numpy(x) if self.entropic_curve is not None else self.entropic
        return self.ocp_curve.numpy(x) + slope * (temperature - REFERENCE_TEMPERATURE)


def build_interfaces(
    problem: Problem,
    specs: list[ConductionInterface],
    carriers: dict[str, list[str]],
    fields: dict[str, CarrierField],
) -> list[InterfaceModel]:
    """Interface models of ``specs`` (``interfaces.conduction``)."""
    bundle = problem.bundle
    msh = bundle.mesh

    def constant(value: float) -> fem.Constant:
        return fem.Constant(msh, float(value))

    pairs = bundle.interface_regions()
    out: list[InterfaceModel] = []
    for k, spec in enumerate(specs):
        path = f"interfaces.conduction[{k}]({spec.name})"
        regions = pairs.get(spec.name, set())
        el = [r for r in regions if "electronic" in carriers[r] and "ionic" not in carriers[r]]
        io = [r for r in regions if "ionic" in carriers[r]]
        if len(el) != 1 or len(io) != 1:
            raise CaseError(
                f"interface must separate one electron-conducting region from one "
                f"ion-conducting region; it touches {sorted(regions)} "
                f"with carriers {[carriers[r] for r in sorted(regions)]}",
                path,
            )
        mat = problem.materials[el[0]]
        z = spec.charge_number or int(mat.get("charge_number", 1) or 1)
        law = RateLaw(
            spec.kinetics,
            constant(spec.exchange_current_density or 0.0),
            constant(spec.alpha_a),
            constant(spec.alpha_c),
            constant(z),
            constant(spec.activation_energy),
            constant(REFERENCE_TEMPERATURE),
        )
        entropic = spec.entropic_coefficient
        if entropic is None:
            entropic = mat.get("entropic_coefficient", 0.0)
        molar_volume = None
        if spec.stress_coupling == "monroe_newman":
            omega = spec.metal_molar_volume
            if omega is None:
                omega = mat.require("molar_volume", f"materials.{mat.name}")
            molar_volume = constant(omega)
        ocp_curve = mat.curve("open_circuit_potential")
        entropic_curve = mat.curve("entropic_coefficient")
        out.append(
            InterfaceModel(
                spec.name,
                bundle.interfaces[spec.name],
                el[0],
                io[0],
                law,
                constant(spec.film_resistance) if spec.film_resistance > 0 else None,
                constant(spec.double_layer_capacitance)
                if spec.double_layer_capacitance > 0
                else None,
                constant(spec.open_circuit_potential),
                constant(entropic or 0.0),
                molar_volume,
                bundle.interface_domains(spec.name, fields["electronic"].sub),
                ocp_curve,
                entropic_curve,
                ocp_curve.on_mesh(msh) if ocp_curve is not None else None,
                entropic_curve.on_mesh(msh) if entropic_curve is not None else None,
            )
        )
    declared = {s.name for s in specs}
    for name, regions in pairs.items():
        kinds = {c for r in regions for c in carriers[r]}
        if name not in declared and len(kinds) > 1 and len(regions) == 2:
            get_logger().warning(
                "interface %r between %s has no kinetics: no current crosses it",
                name,
                sorted(regions),
            )
    return out


def interface_measure(bundle: MeshBundle, interfaces: list[InterfaceModel]) -> ufl.Measure:
    """dS over the interfaces with the '+' side forced to the electrode."""
    return ufl.Measure(
        "dS",
        domain=bundle.mesh,
        subdomain_data=[(i.tag, i.domains) for i in interfaces],
        metadata={"quadrature_degree": 4},
    )


def film_unknown(
    problem: Problem, physics: str, interfaces: list[InterfaceModel], electronic: CarrierField
) -> tuple[fem.Function, fem.DirichletBC] | None:
    """``phi_film`` (electrode-side potential behind the film) where any interface has a
    film; its dofs off the film interfaces are pinned to 0 by a Dirichlet condition."""
    with_film = [i for i in interfaces if i.film_resistance is not None]
    if not with_film:
        return None
    V = electronic.u.function_space
    film = problem.add_unknown(physics, "phi_film", V, electronic.sub.cell_map)
    fdim = problem.bundle.dim - 1
    on_film = np.unique(
        np.concatenate(
            [
                fem.locate_dofs_topological(V, fdim, boundary_facets(electronic.sub, i.tag))
                for i in with_film
            ]
        )
    )
    n = V.dofmap.index_map
    others = np.setdiff1d(np.arange(n.size_local + n.num_ghosts, dtype=np.int32), on_film)
    return film, fem.dirichletbc(0.0, others.astype(np.int32), V)


def interface_temperature(problem: Problem, level: int = 0) -> ufl.core.expr.Expr:
    """The shared temperature [K] on interface facets (electrode side) at ``level``."""
    q = problem.require("temperature", "conduction")
    return on_interface(q(level), q.is_constant)


def electrode_stoichiometry(
    problem: Problem, i: InterfaceModel, level: int = 0
) -> ufl.core.expr.Expr | None:
    """The stoichiometry x of the electrode on the interface facets ('+' side), None when no
    physics provides it for the electrode region."""
    name = f"stoichiometry.{i.electrode}"
    if name not in problem.provided(name):
        return None
    return problem.require(name, "conduction")(level)("+")


def exchange_current_factor(
    problem: Problem, i: InterfaceModel, level: int = 0
) -> ufl.core.expr.Expr | float:
    """i0(x) / i0 on the interface (1 without a provided stoichiometry)."""
    x = electrode_stoichiometry(problem, i, level)
    if x is None:
        return 1.0
    return i.law.stoichiometry_factor(x, lambda v, lo, hi: ufl.min_value(ufl.max_value(v, lo), hi))


def overpotential(
    problem: Problem, i: InterfaceModel, level: int = 0
) -> tuple[ufl.core.expr.Expr, ufl.core.expr.Expr | None]:
    """(eta on dS, film current density or None) at history ``level``."""
    phi_s = problem.state("phi_electronic", level)
    phi_e = problem.state("phi_ionic", level)
    x = electrode_stoichiometry(problem, i, level)
    ocp = i.open_circuit_potential(interface_temperature(problem, level), x)
    if i.molar_volume is not None:
        ocp = ocp + stress_shift(problem, i, level)
    if i.film_resistance is not None:
        psi = problem.state("phi_film", level)
        return psi("+") - phi_e("-") - ocp, (phi_s("+") - psi("+")) / i.film_resistance
    return phi_s("+") - phi_e("-") - ocp, None


def stress_shift(problem: Problem, i: InterfaceModel, level: int = 0) -> ufl.core.expr.Expr:
    """Omega_M sigma_n / (z F) [V] on the interface (Monroe-Newman type): the normal stress of
    the metal (electrode side, tension > 0) shifts its equilibrium potential; compression
    (sigma_n < 0) lowers it, easing stripping and hindering plating."""
    stress = problem.require("stress", "conduction")(level)("+")
    n = ufl.FacetNormal(problem.bundle.mesh)("+")
    gdim = problem.bundle.mesh.geometry.dim
    normal_stress = sum(n[a] * stress[a, b] * n[b] for a in range(gdim) for b in range(gdim))
    assert i.molar_volume is not None
    return i.molar_volume * normal_stress / (i.law.n * FARADAY)


def on_interface(q: ufl.core.expr.Expr, is_constant: bool) -> ufl.core.expr.Expr:
    """A cell quantity on interface facets: its electrode ('+') side value."""
    return q if is_constant else q("+")
