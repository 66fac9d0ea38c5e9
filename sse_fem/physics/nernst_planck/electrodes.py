"""Metal electrodes of Nernst-Planck/Poisson: Butler-Volmer kinetics of the reacting ion
through a Stern (compact) layer, with the metal's potential fixed, set by a current density
or driven by the protocol (see ``sse_fem.config.schema.NernstPlanckElectrode``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import basix.ufl
import numpy as np
import ufl
from dolfinx import fem

from sse_fem.physics.kinetics import FARADAY

#: compact-layer capacitance of an electrode that gives none [F/m^2] (20 uF/cm^2, typical of
#: metal surfaces)
DEFAULT_STERN_CAPACITANCE = 0.2

if TYPE_CHECKING:
    from sse_fem.config.schema import NernstPlanckElectrode
    from sse_fem.mesh import SubMesh
    from sse_fem.physics.base import Problem
    from sse_fem.physics.nernst_planck.species import MobileIon


@dataclass
class Electrode:
    """One electrode boundary; every parameter a Constant (no recompilation)."""

    boundary: str
    region: str  # the electrolyte region it touches
    ion: MobileIon
    ds: ufl.Measure  # the boundary's facets on the electrolyte
    area: float  # [m^2] (1 in 1D)
    i0: fem.Constant  # [A/m^2]
    c_ref: fem.Constant  # [mol/m^3]
    alpha_a: fem.Constant
    alpha_c: fem.Constant
    ocp: fem.Constant  # U [V]
    stern: fem.Constant  # C_S [F/m^2]
    #: the metal's potential V [V]: a Constant (fixed) or a global unknown (``name``)
    potential: fem.Constant | fem.Function
    name: str | None  # the global unknown's name
    current_mode: fem.Constant  # 1: the current density is set, 0: the voltage
    set_current: fem.Constant  # [A/m^2]
    set_voltage: fem.Constant  # [V]
    full: tuple[float, float]  # (set current density, fixed potential) at full load
    terminal: bool  # driven by the protocol

    def overpotential(
        self, potential: ufl.core.expr.Expr, phi: ufl.core.expr.Expr
    ) -> ufl.core.expr.Expr:
        """eta = V - phi_s - U [V]."""
        return potential - phi - self.ocp

    def faradaic(
        self,
        potential: ufl.core.expr.Expr,
        phi: ufl.core.expr.Expr,
        c: ufl.core.expr.Expr,
        rt: ufl.core.expr.Expr,
    ) -> ufl.core.expr.Expr:
        """Faradaic current density [A/m^2] out of the metal (anodic > 0)."""
        zf = self.ion.z * FARADAY / rt
        eta = self.overpotential(potential, phi)
        return self.i0 * (
            ufl.exp(self.alpha_a * zf * eta) - c / self.c_ref * ufl.exp(-self.alpha_c * zf * eta)
        )

    def charge(self, potential: ufl.core.expr.Expr, phi: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """Charge per area on the metal [C/m^2], C_S (V - phi_s)."""
        return self.stern * (potential - phi)

    def charge_at(self, problem: Problem, level: int = 0) -> ufl.core.expr.Expr:
        """The metal's charge per area [C/m^2] at history ``level`` (0: now)."""
        potential = self.potential if self.name is None else problem.state(self.name, level)
        return self.charge(potential, problem.state("phi", level))

    def drive(self, mode: str, value: float | None) -> None:
        """Apply a protocol step: voltage [V], current [A], current_density [A/m^2], rest
        (open circuit: no current)."""
        if mode == "voltage":
            self.current_mode.value, self.set_voltage.value = 0.0, float(value or 0.0)
            return
        self.current_mode.value = 1.0
        per_area = {"current": (value or 0.0) / self.area, "current_density": value or 0.0}
        self.set_current.value = float(per_area.get(mode, 0.0))


def build_electrode(
    problem: Problem,
    physics: str,
    boundary: str,
    spec: NernstPlanckElectrode,
    ion: MobileIon,
    region: str,
    sub: SubMesh,
    ds: ufl.Measure,
) -> Electrode:
    """The electrode of ``spec`` on ``boundary`` (touching ``region`` of ``ion``); a metal
    potential that is not fixed becomes a global unknown on ``sub``."""
    msh = problem.bundle.mesh

    def constant(value: float) -> fem.Constant:
        return fem.Constant(msh, float(value))

    c_ref = spec.reference_concentration or ion.phases[region].initial
    name = None
    potential: fem.Constant | fem.Function
    fixed = 0.0
    if spec.potential is not None and not spec.terminal:
        fixed = float(spec.potential)
        potential = constant(fixed)
    else:
        name = f"V_{boundary}"
        R = fem.functionspace(
            sub.mesh,
            basix.ufl.real_element(sub.mesh.basix_cell(), value_shape=(), dtype=np.float64),
        )
        potential = problem.add_unknown(physics, name, R, sub.cell_map, is_global=True)
        potential.x.array[:] = spec.open_circuit_potential
    current = spec.current_density or 0.0
    area = problem.comm.allreduce(fem.assemble_scalar(fem.form(constant(1.0) * ds)))
    return Electrode(
        boundary,
        region,
        ion,
        ds,
        area,
        constant(spec.exchange_current_density),
        constant(c_ref),
        constant(spec.alpha_a),
        constant(spec.alpha_c),
        constant(spec.open_circuit_potential),
        constant(spec.stern_capacitance or DEFAULT_STERN_CAPACITANCE),
        potential,
        name,
        constant(1.0 if spec.current_density is not None or spec.terminal else 0.0),
        constant(current),
        constant(0.0),
        (current, fixed),
        spec.terminal,
    )
