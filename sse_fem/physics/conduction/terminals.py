"""Electrical boundary conditions of conduction: fixed potentials (ground, potential), metal
electrodes that are not meshed (a fixed metal potential joined to the ionic potential by
Butler-Volmer kinetics) and one equipotential terminal whose potential is a global unknown,
driven by current, current density, voltage or rest (protocol steps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mpi4py import MPI

import basix.ufl
import numpy as np
import ufl
from dolfinx import fem

from sse_fem.errors import CaseError
from sse_fem.mesh import MeshBundle
from sse_fem.physics.conduction.fields import CarrierField, boundary_facets
from sse_fem.physics.kinetics import RateLaw

if TYPE_CHECKING:
    from sse_fem.config.schema import ConductionBoundaryCondition
    from sse_fem.physics.base import Problem


@dataclass
class FixedPotential:
    """A Dirichlet boundary: potential ``value`` [V] scaled by the load factor."""

    boundary: str
    carrier: str
    potential: fem.Constant  # applied value [V]
    value: float  # full-load value [V]
    bc: fem.DirichletBC


@dataclass
class BoundaryElectrode:
    """A metal at potential ``value`` [V] (scaled by the load factor) on a boundary of the
    ionic field: current into the cell ``law(potential - phi - U)`` [A/m^2]."""

    boundary: str
    carrier: str
    potential: fem.Constant  # applied metal potential [V]
    value: float  # full-load value [V]
    law: RateLaw
    ocp: fem.Constant  # U [V]
    ds: ufl.Measure
    area: float  # measure of ``ds`` [m^2]

    def current_density(self, phi: ufl.core.expr.Expr, temperature: ufl.core.expr.Expr) -> Any:
        """i(eta) into the cell [A/m^2] at ionic potential ``phi`` (UFL)."""
        return self.law.current(self.potential - phi - self.ocp, temperature, ufl.exp)


@dataclass
class Terminal:
    """Equipotential terminal on a boundary: contact law j = (V - phi) / R_c into the cell."""

    boundary: str
    carrier: str
    area: float  # m^2 (length in 2D, 1 in 1D)
    contact_resistance: fem.Constant  # [Ohm m^2]
    potential: fem.Function  # global unknown V [V]
    current: fem.Constant  # set current [A] (current mode)
    voltage: fem.Constant  # set potential [V] (voltage mode)
    current_mode: fem.Constant  # 1: current control, 0: voltage control
    #: ds over the boundary's facets on the carrier's regions (a terminal on a face shared
    #: by the electrode and the electrolyte contacts the electrode only)
    ds: ufl.Measure
    contact_area: float  # measure of ``ds`` [m^2]: the set current spreads over it

    def drive(self, mode: str, value: float | None) -> None:
        """Apply a protocol step: current [A], current_density [A/m^2], voltage [V], rest."""
        if mode == "voltage":
            self.current_mode.value, self.voltage.value = 0.0, value
            return
        current = {"current": value, "current_density": (value or 0.0) * self.area}
        self.current_mode.value = 1.0
        self.current.value = current.get(mode, 0.0)


def field_on_boundary(
    bundle: MeshBundle,
    fields: dict[str, CarrierField],
    bc: ConductionBoundaryCondition,
    path: str,
) -> str:
    """The carrier whose field a boundary condition acts on."""
    tag = bundle.boundary_tags(bc.name)
    touches = {}
    for carrier, f in fields.items():
        n = boundary_facets(f.sub, tag).size
        touches[carrier] = bundle.comm.allreduce(n, op=MPI.SUM) > 0
    if bc.carrier is not None:
        if not touches.get(bc.carrier):
            raise CaseError(
                f"boundary {bc.name!r} touches no {bc.carrier}-conducting region; it "
                f"touches {sorted(c for c, t in touches.items() if t) or 'none'}",
                f"{path}.carrier",
            )
        return bc.carrier
    for carrier in ("electronic", "ionic"):
        if touches.get(carrier):
            return carrier
    raise CaseError(f"boundary {bc.name!r} touches no conducting region", path)


def build_boundaries(
    problem: Problem,
    physics: str,
    specs: list[ConductionBoundaryCondition],
    fields: dict[str, CarrierField],
) -> tuple[list[FixedPotential], list[BoundaryElectrode], Terminal | None]:
    """Fixed potentials, boundary electrodes and the terminal of
    ``boundary_conditions.conduction``."""
    bundle = problem.bundle
    msh, fdim = bundle.mesh, bundle.dim - 1
    fixed: list[FixedPotential] = []
    electrodes: list[BoundaryElectrode] = []
    terminal = None
    for k, spec in enumerate(specs):
        path = f"boundary_conditions.conduction[{k}]({spec.name})"
        if spec.type == "insulated":
            continue
        if spec.electrode is not None:
            spec = spec.model_copy(update={"carrier": "ionic"})
        carrier = field_on_boundary(bundle, fields, spec, path)
        f = fields[carrier]
        if spec.electrode is not None:
            e = spec.electrode
            law = RateLaw(
                "butler_volmer",
                fem.Constant(msh, e.exchange_current_density),
                fem.Constant(msh, e.alpha_a),
                fem.Constant(msh, e.alpha_c),
                fem.Constant(msh, float(e.charge_number)),
            )
            # one fixed rule for the residual and the reported current, so that the current
            # balance closes where the overpotential varies along the boundary
            ds = bundle.boundary_part(spec.name, f.regions)(metadata={"quadrature_degree": 4})
            area = problem.comm.allreduce(
                fem.assemble_scalar(fem.form(fem.Constant(msh, 1.0) * ds)), op=MPI.SUM
            )
            value = spec.si_value
            electrodes.append(
                BoundaryElectrode(
                    spec.name,
                    carrier,
                    fem.Constant(msh, value),
                    value,
                    law,
                    fem.Constant(msh, float(e.open_circuit_potential)),
                    ds,
                    area,
                )
            )
            continue
        if spec.type in ("ground", "potential"):
            value = spec.si_value
            c = fem.Constant(f.sub.mesh, value)
            V = f.u.function_space
            dofs = fem.locate_dofs_topological(
                V, fdim, boundary_facets(f.sub, bundle.boundary_tags(spec.name))
            )
            fixed.append(FixedPotential(spec.name, carrier, c, value, fem.dirichletbc(c, dofs, V)))
            continue
        sub = f.sub.mesh
        R = fem.functionspace(
            sub, basix.ufl.real_element(sub.basix_cell(), value_shape=(), dtype=np.float64)
        )
        V_t = problem.add_unknown(physics, "V_terminal", R, f.sub.cell_map, is_global=True)
        area = bundle.area(spec.name)
        current = {"current": spec.si_value, "current_density": spec.si_value * area}

        def constant(v: float) -> fem.Constant:
            return fem.Constant(msh, float(v))

        terminal = Terminal(
            spec.name,
            carrier,
            area,
            constant(spec.contact_resistance),
            V_t,
            constant(current.get(spec.type, 0.0)),
            constant(0.0),
            constant(1.0),
            ds := bundle.boundary_part(spec.name, f.regions),
            problem.comm.allreduce(
                fem.assemble_scalar(fem.form(fem.Constant(msh, 1.0) * ds)), op=MPI.SUM
            ),
        )
    return fixed, electrodes, terminal
