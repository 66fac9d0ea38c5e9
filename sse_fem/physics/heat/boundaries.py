"""Thermal boundary conditions of heat: fixed temperature (Dirichlet), convection
h (T - T_ambient) out, heat flux in; adiabatic boundaries need nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import ufl
from dolfinx import fem

if TYPE_CHECKING:
    from sse_fem.config.schema import HeatBoundaryCondition
    from sse_fem.physics.base import Problem


@dataclass
class ThermalBoundary:
    """A thermal condition with its parameters as Constants (no recompilation)."""

    name: str
    type: str  # temperature | convection | heat_flux
    ds: ufl.Measure
    value: fem.Constant | None = None  # temperature [K] or heat flux into the cell [W/m^2]
    h: fem.Constant | None = None  # [W/(m^2 K)]
    ambient: fem.Constant | None = None  # [K]
    bc: fem.DirichletBC | None = None


def thermal_boundary(
    problem: Problem, spec: HeatBoundaryCondition, temperature: fem.Function
) -> ThermalBoundary:
    """The condition ``spec`` (not adiabatic) on the temperature field."""
    bundle = problem.bundle
    msh = bundle.mesh

    def constant(value: float) -> fem.Constant:
        return fem.Constant(msh, float(value))

    b = ThermalBoundary(spec.name, spec.type, bundle.measure(spec.name))
    if spec.type == "temperature":
        b.value = constant(spec.si_value)
        V = temperature.function_space
        dofs = fem.locate_dofs_topological(V, bundle.dim - 1, bundle.facets(spec.name))
        b.bc = fem.dirichletbc(b.value, dofs, V)
    elif spec.type == "heat_flux":
        b.value = constant(spec.si_value)
    else:  # convection
        assert spec.heat_transfer_coefficient is not None
        b.h = constant(spec.heat_transfer_coefficient)
        ambient = spec.ambient_temperature
        b.ambient = constant(ambient if ambient is not None else problem.case.case.temperature)
    return b
