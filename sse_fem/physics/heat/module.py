"""Heat: transient conduction of heat with the electrochemical sources of the other physics.

    rho c_p dT/dt = div(k(T) grad T) + Q,   k(T) = k [1 + beta (T - T_ref)]

on the parent mesh (every region), T continuous, P1. Q collects the shared heat quantities
(``sse_fem.quantities``) of every kind switched on in ``physics.heat.sources``: Joule heat of
every carrier (W/m^3), irreversible, film and reversible heat on interfaces and the terminal's
contact heat (W/m^2, on their facets), plus given volumetric sources. Each source is
integrated with the measure (and quadrature) of its provider, so the heat put in equals the
electrical work exactly where the provider's residual is Galerkin-consistent.

Boundaries (``boundary_conditions.heat``): fixed temperature, convection h (T - T_ambient) out,
heat flux in, adiabatic (default). Initial condition: ``initial_conditions.heat.temperature``
(default ``case.temperature``). Provides ``temperature``: the field (two-way coupling) or the
initial temperature as a constant (one-way: sources only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem

from sse_fem.errors import CaseError
from sse_fem.physics.base import Physics
from sse_fem.physics.heat.boundaries import thermal_boundary
from sse_fem.physics.heat.outputs import HeatOutputs
from sse_fem.physics.kinetics import REFERENCE_TEMPERATURE
from sse_fem.physics.transient import hold_initial_state

if TYPE_CHECKING:
    from sse_fem.config.schema import HeatPhysics
    from sse_fem.physics.base import Problem

#: shared-quantity prefix of each switchable source kind (``physics.heat.sources``)
SOURCE_KINDS = {
    "joule": "joule_heat.",
    "interface": "interface_heat.",
    "film": "film_heat.",
    "reversible": "reversible_heat.",
    "contact": "contact_heat.",
}


class Heat(HeatOutputs, Physics):
    """Temperature field with Joule, reaction, film, entropic, contact and given sources."""

    name = "heat"
    _sources: dict[str, list[tuple[ufl.core.expr.Expr, ufl.Measure]]]

    def __init__(self, cfg: HeatPhysics) -> None:
        self.cfg = cfg

    def declare(self, problem: Problem) -> None:
        case, bundle = problem.case, problem.bundle
        initial = case.initial_conditions.heat
        self.t_initial = (
            initial.temperature
            if initial is not None and initial.temperature is not None
            else case.case.temperature
        )
        V = fem.functionspace(bundle.mesh, ("Lagrange", 1))
        self.T = problem.add_unknown(self.name, "T", V, None, scale=self.t_initial)
        self.T.x.array[:] = self.t_initial
        self.T_initial = fem.Constant(bundle.mesh, self.t_initial)
        self._properties(problem)
        self.boundaries = [
            thermal_boundary(problem, spec, self.T)
            for spec in case.boundary_conditions.heat
            if spec.type != "adiabatic"
        ]
        if self.cfg.coupling == "two_way":
            problem.provide("temperature", lambda level: problem.state("T", level), "K", self.name)
        else:  # one-way: the other physics see the initial temperature
            problem.provide("temperature", self.T_initial, "K", self.name)

    def _properties(self, problem: Problem) -> None:
        """rho c_p [J/(m^3 K)], k [W/(m K)] and beta [1/K] per cell (DG0)."""
        bundle = problem.bundle
        Q = fem.functionspace(bundle.mesh, ("DG", 0))
        self.heat_capacity = fem.Function(Q, name="rho_cp")
        self.conductivity = fem.Function(Q, name="thermal_conductivity")
        self.beta = fem.Function(Q, name="thermal_conductivity_coefficient")
        tag_of = bundle.cell_region_tags()
        for region in problem.case.regions:
            mat = problem.materials[region.name]
            path = f"materials.{region.material}"
            cells = tag_of == bundle.regions[region.name]
            k = mat.require("thermal_conductivity", path)
            self.conductivity.x.array[cells] = k
            self.beta.x.array[cells] = mat.get("thermal_conductivity_temperature_coefficient", 0.0)
            if problem.transient:
                rho = mat.require("density", path)
                c_p = mat.require("specific_heat", path)
                self.heat_capacity.x.array[cells] = rho * c_p
        self.temperature_dependent_k = bool(
            problem.comm.allreduce(bool(np.any(self.beta.x.array != 0)), op=MPI.LOR)
        )

    # --- forms ---------------------------------------------------------------------------
    def thermal_conductivity(self, temperature: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """k(T) [W/(m K)] (constant k where no material gives a temperature coefficient,
        so that a linear heat problem stays linear)."""
        if not self.temperature_dependent_k:
            return self.conductivity
        return self.conductivity * (1 + self.beta * (temperature - REFERENCE_TEMPERATURE))

    def sources(self, problem: Problem) -> dict[str, list[tuple[ufl.core.expr.Expr, ufl.Measure]]]:
        """Source kind -> (integrand per unit volume or area, measure) of every shared heat
        quantity of that kind and every given volumetric source (``user``)."""
        if hasattr(self, "_sources"):
            return self._sources
        out: dict[str, list[tuple[ufl.core.expr.Expr, ufl.Measure]]] = {}
        for kind, prefix in SOURCE_KINDS.items():
            if not getattr(self.cfg.sources, kind):
                continue
            for name in problem.provided(prefix):
                q = problem.require(name, self.name)
                assert q.measure is not None, f"{name} has no measure"
                out.setdefault(kind, []).append((q(), q.measure))
        dx = problem.bundle.dx()
        self.user_sources = []
        for src in self.cfg.volumetric_sources:
            value = fem.Constant(problem.bundle.mesh, src.value)
            self.user_sources.append(value)
            tags = tuple(problem.bundle.regions[r] for r in src.regions)
            out.setdefault("user", []).append((value, dx(tags)))
        self._sources = out
        return out

    def residual(self, problem: Problem) -> ufl.Form:
        T, v = self.T, problem.test("T")
        dx = ufl.dx(problem.bundle.mesh)
        evolving = (
            self.heat_capacity * problem.ddt(lambda level: problem.state("T", level)) * v * dx
            + self.thermal_conductivity(T) * ufl.inner(ufl.grad(T), ufl.grad(v)) * dx
        )
        for terms in self.sources(problem).values():
            for q, measure in terms:
                on_facets = measure.integral_type() == "interior_facet"
                evolving -= q * (v("+") if on_facets else v) * measure
        for b in self.boundaries:
            if b.type == "convection":
                evolving += b.h * (T - b.ambient) * v * b.ds
            elif b.type == "heat_flux":
                evolving -= b.value * v * b.ds
        return hold_initial_state(
            problem, evolving, T, self.T_initial, v, [(self.conductivity, dx)]
        )

    def dirichlet(self, problem: Problem) -> list[fem.DirichletBC]:
        return [b.bc for b in self.boundaries if b.bc is not None]

    def validate(self, problem: Problem) -> None:
        for k, src in enumerate(self.cfg.volumetric_sources):
            for name in src.regions:
                if name not in problem.bundle.regions:
                    raise CaseError(
                        f"{name!r} is not a mesh region; it has {sorted(problem.bundle.regions)}",
                        f"physics.heat.volumetric_sources[{k}].regions",
                    )
        beta = self.beta.x.array
        if np.any(beta != 0):
            k_low = self.conductivity.x.array * (1 + beta * (50.0 - REFERENCE_TEMPERATURE))
            k_high = self.conductivity.x.array * (1 + beta * (2000.0 - REFERENCE_TEMPERATURE))
            bad = bool(np.any(k_low <= 0) or np.any(k_high <= 0))
            if problem.comm.allreduce(bad, op=MPI.LOR):  # every rank raises
                raise CaseError(
                    "thermal_conductivity_temperature_coefficient makes k(T) <= 0 between "
                    "50 K and 2000 K",
                    "materials",
                )

    def block_options(self) -> dict[str, object]:
        """The temperature block is symmetric up to small source derivatives: CG + AMG (inside
        the outer flexible GMRES an inexact, slightly nonsymmetric solve is harmless), with
        unsmoothed aggregation: across Li | LLZO (k 85 vs 1.4 W/(m K)) it needed 3x fewer
        iterations than smoothed aggregation."""
        return super().block_options() | {"ksp_type": "cg", "pc_gamg_agg_nsmooths": 0}
