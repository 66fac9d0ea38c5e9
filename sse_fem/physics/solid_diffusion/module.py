"""Solid diffusion: the working ion in active-material particles.

    c_max dx/dt = div(c_max D(x) grad x)          in the particles, x = c / c_max

with x the stoichiometry (the unknown, P1 on the submesh of the active regions), c_max and D
per region from the material library (D a constant or a curve D(x)). Every conduction
interface whose electrode is a particle region takes its faradaic current i [A/m^2] out of the
particle as the molar flux i / (z F) (anodic i > 0 extracts ions); given molar fluxes into the
particles act on named boundaries; other surfaces are closed. In 1D, ``symmetry: spherical``
reads the interval as the radius of a sphere (weight 4 pi r^2).

Provides per region ``stoichiometry.<region>`` (the field x, so that the kinetics see
U(x_surface) and i0(x)) and ``concentration_change.<region>`` (c_max (x - x0) [mol/m^3], the
chemical strain's source), and the scalars ``capacity`` [C] and ``one_c_current`` [A].
"""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem

from sse_fem.errors import CaseError
from sse_fem.mesh.bundle import parent_cells
from sse_fem.physics.base import Physics
from sse_fem.physics.kinetics import FARADAY, GAS_CONSTANT
from sse_fem.physics.solid_diffusion.outputs import SolidDiffusionOutputs
from sse_fem.physics.solid_diffusion.particles import ParticleRegion
from sse_fem.physics.stress_drift import HydrostaticStress
from sse_fem.physics.transient import hold_initial_state

if TYPE_CHECKING:
    from sse_fem.config.schema import SolidDiffusionPhysics
    from sse_fem.materials.curves import CurveForm
    from sse_fem.physics.base import Problem
    from sse_fem.quantities import SharedQuantity

SECONDS_PER_HOUR = 3600.0


class SolidDiffusion(SolidDiffusionOutputs, Physics):
    """Stoichiometry of the working ion in the particles, coupled to interface kinetics."""

    name = "solid_diffusion"
    _interfaces: list[tuple[str, SharedQuantity]]

    def __init__(self, cfg: SolidDiffusionPhysics) -> None:
        self.cfg = cfg

    # --- setup ---------------------------------------------------------------------------
    def declare(self, problem: Problem) -> None:
        case, bundle = problem.case, problem.bundle
        names = self.cfg.regions or [
            r.name for r in case.regions if problem.materials[r.name].category == "active_material"
        ]
        if not names:
            raise CaseError(
                "no region of an active material: name the particle regions in "
                "`physics.solid_diffusion.regions`",
                "physics.solid_diffusion.regions",
            )
        self.regions = tuple(names)
        self.sub = bundle.submesh(self.regions)
        V = fem.functionspace(self.sub.mesh, ("Lagrange", 1))
        self.x = problem.add_unknown(self.name, "x_s", V, self.sub.cell_map, scale=1.0)
        initial = case.initial_conditions.solid_diffusion
        assert initial is not None  # check_consistency
        self.x0 = float(initial.stoichiometry)
        self.x.x.array[:] = self.x0
        msh = bundle.mesh
        self.x_initial = fem.Constant(msh, self.x0)
        self.z = fem.Constant(msh, float(self.cfg.charge_number))
        self.particles = [self._region(problem, name) for name in self.regions]
        self.stress = (
            HydrostaticStress(
                problem,
                self.name,
                "sigma_h_s",
                V,
                self.sub.cell_map,
                "physics.solid_diffusion.stress_driven_flux",
            )
            if self.cfg.stress_driven_flux
            else None
        )
        self.spherical = self.cfg.symmetry == "spherical"
        self.weight: ufl.core.expr.Expr | float = 1.0
        self.centre = float(bundle.bounds()[0, 0]) if self.spherical else 0.0
        if self.spherical:  # the centre at the lower end of the interval
            r = ufl.SpatialCoordinate(msh)[0] - fem.Constant(msh, self.centre)
            self.weight = 4 * math.pi * r**2
        degree = 2 + (2 if self.spherical else 0)
        self.dx = bundle.dx()(metadata={"quadrature_degree": degree})
        self.fluxes = [
            (spec.name, fem.Constant(msh, spec.value), bundle.measure(spec.name))
            for spec in case.boundary_conditions.solid_diffusion
        ]
        for p in self.particles:
            problem.provide(
                f"stoichiometry.{p.name}",
                lambda level: problem.state("x_s", level),
                "1",
                self.name,
                self.dx(p.tag),
            )
            problem.provide(
                f"concentration_change.{p.name}",
                partial(self._concentration_change, problem, p),
                "mol/m^3",
                self.name,
                self.dx(p.tag),
                partial(self._concentration_change_cells, problem, p),
            )
        self._volumes = self._region_integrals(problem, fem.Constant(msh, 1.0))
        self.capacity = sum(
            p.capacity_density * v for p, v in zip(self.particles, self._volumes, strict=True)
        )
        problem.provide_scalar("capacity", lambda: self.capacity, "C", self.name)
        problem.provide_scalar(
            "one_c_current", lambda: self.capacity / SECONDS_PER_HOUR, "A", self.name
        )

    def _concentration_change(
        self, problem: Problem, p: ParticleRegion, level: int = 0
    ) -> ufl.core.expr.Expr:
        """c_max (x - x0) [mol/m^3] at history ``level``."""
        return p.c_max * (problem.state("x_s", level) - self.x_initial)

    def _concentration_change_cells(self, problem: Problem, p: ParticleRegion) -> np.ndarray:
        """c_max (x - x0) [mol/m^3] per parent cell (the mean of the cell's P1 values, exact
        for simplices) in region ``p``, 0 elsewhere."""
        bundle = problem.bundle
        imap = bundle.mesh.topology.index_map(bundle.dim)
        out = np.zeros(imap.size_local + imap.num_ghosts)
        cells, parents = parent_cells(self.sub)
        mean = self.x.x.array[self.x.function_space.dofmap.list[cells]].mean(axis=1)
        mine = bundle.cell_region_tags()[parents] == p.tag
        out[parents[mine]] = float(p.c_max.value) * (mean[mine] - self.x0)
        return out

    def _region(self, problem: Problem, name: str) -> ParticleRegion:
        material = next(r.material for r in problem.case.regions if r.name == name)
        path = f"materials.{material}"
        mat = problem.materials[name]
        msh = problem.bundle.mesh
        c_max = mat.require("max_concentration", path)
        curve = mat.curve("solid_diffusivity")
        diffusivity: fem.Constant | CurveForm = (
            curve.on_mesh(msh)
            if curve is not None
            else fem.Constant(msh, mat.require("solid_diffusivity", path))
        )
        specific = mat.get("specific_capacity")
        density = mat.get("density")
        capacity_density = (  # specific capacity is stored in A h/kg
            specific * SECONDS_PER_HOUR * density
            if specific is not None and density is not None
            else self.cfg.charge_number * FARADAY * c_max
        )
        omega = mat.require("partial_molar_volume", path) if self.cfg.stress_driven_flux else 0.0
        return ParticleRegion(
            name,
            problem.bundle.regions[name],
            fem.Constant(msh, c_max),
            diffusivity,
            capacity_density,
            fem.Constant(msh, omega),
        )

    def _region_integrals(self, problem: Problem, integrand: ufl.core.expr.Expr) -> list[float]:
        """Integral of ``integrand`` (times the symmetry weight) over each particle region."""
        out = []
        for p in self.particles:
            form = fem.form(integrand * self.weight * self.dx(p.tag))
            out.append(problem.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM))
        return out

    # --- forms ---------------------------------------------------------------------------
    def interface_fluxes(self, problem: Problem) -> list[tuple[str, SharedQuantity]]:
        """(interface, current density) of every kinetics interface whose electrode is a
        particle region (the current's '+' side is the electrode)."""
        if hasattr(self, "_interfaces"):
            return self._interfaces
        sides = problem.bundle.interface_regions()
        out = []
        prefix = "interface_current_density."
        for name in problem.provided(prefix):
            iface = name[len(prefix) :]
            if sides.get(iface, set()) & set(self.regions):
                out.append((iface, problem.require(name, self.name)))
        self._interfaces = out
        return out

    def residual(self, problem: Problem) -> ufl.Form:
        x, w = self.x, problem.test("x_s")
        evolving = 0
        rt = GAS_CONSTANT * problem.require("temperature", self.name)()
        for p in self.particles:
            rate = problem.ddt(lambda level: problem.state("x_s", level))
            drive = ufl.grad(x)  # x grad(mu / RT), ideal: mu / RT = ln x (- Omega sigma_h / RT)
            if self.stress is not None:
                drive = drive + x * self.stress.drift(p.omega, rt)
            evolving += (
                p.c_max
                * (rate * w + p.diffusion(x) * ufl.inner(drive, ufl.grad(w)))
                * self.weight
                * self.dx(p.tag)
            )
        for _, q in self.interface_fluxes(problem):
            evolving += q() / (self.z * FARADAY) * w("+") * q.measure
        for _, flux, ds in self.fluxes:
            evolving -= flux * w * self.weight * ds
        stiffness = [
            (p.c_max * p.diffusion(self.x_initial), self.dx(p.tag)) for p in self.particles
        ]
        held = hold_initial_state(problem, evolving, x, self.x_initial, w, stiffness)
        if self.stress is None:
            return held
        tags = tuple(p.tag for p in self.particles)
        return held + self.stress.projection(problem, self.dx(tags), self.weight)

    def validate(self, problem: Problem) -> None:
        if self.cfg.symmetry == "spherical" and self.interface_fluxes(problem):
            raise CaseError(
                "spherical symmetry weights only the particle's own equations: couple a "
                "spherical particle through `boundary_conditions.solid_diffusion` fluxes, not "
                f"through conduction interfaces ({[n for n, _ in self.interface_fluxes(problem)]})",
                "physics.solid_diffusion.symmetry",
            )
