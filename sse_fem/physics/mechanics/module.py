"""Mechanics: small-strain linear elasticity with thermal and chemical eigenstrain.

    div sigma = 0,   sigma = lambda tr(eps) I + 2 mu eps - beta e* I,   eps = sym(grad u)

with the isotropic eigenstrain e* = alpha (T - T_ref) + e_chem per cell and beta the
eigenstress modulus of the formulation: 3K in 3D and plane strain, E / (1 - nu) in plane
stress (lambda replaced by 2 lambda mu / (lambda + 2 mu)), E in 1D (a bar in uniaxial
stress). Displacement ``u`` [m]: vector P1 on the parent mesh (bonded regions), block size
gdim, rigid-body near-nullspace for AMG. E, nu, alpha per region from the library (DG0);
T is the shared ``temperature`` (heat's field, else the case's constant); T_ref
``physics.mechanics.reference_temperature`` (default ``case.temperature``).

Chemical (Vegard) strain from a solved concentration: in every region where a physics provides
``concentration_change.<region>`` (c - c0 [mol/m^3]: solid diffusion), e* gains
Omega (c - c0) / 3 with the region material's ``partial_molar_volume`` Omega, monolithically
(the residual integrates those regions separately: the field lives on their submesh). Pictures,
tables and the shared ``stress`` take it per cell from the provider (``cells``), as of the
last refresh (each observation).

Requires ``temperature``; adds every provided ``body_force.<name>`` (N/m^3 on cells, or N/m^2
on interface facets); provides ``stress`` (Pa, 3x3 with the out-of-plane component) and
``displacement`` (m).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem

from sse_fem.errors import CaseError
from sse_fem.physics.base import Physics
from sse_fem.physics.mechanics.boundaries import mechanical_boundary, rigid_mode_points
from sse_fem.physics.mechanics.outputs import MechanicsOutputs
from sse_fem.solvers.nullspace import rigid_body_modes

if TYPE_CHECKING:
    from sse_fem.config.schema import MechanicsPhysics
    from sse_fem.physics.base import Problem
    from sse_fem.quantities import SharedQuantity


class Mechanics(MechanicsOutputs, Physics):
    """Linear elasticity with eigenstrain, supports, tractions and stack pressure."""

    name = "mechanics"

    def __init__(self, cfg: MechanicsPhysics) -> None:
        self.cfg = cfg

    def declare(self, problem: Problem) -> None:
        bundle = problem.bundle
        msh = bundle.mesh
        self.gdim = msh.geometry.dim
        V = fem.functionspace(msh, ("Lagrange", 1, (self.gdim,)))
        scale = problem.bundle.extent() * 1e-3  # displacements ~ 0.1 % strain
        self.u = problem.add_unknown(
            self.name, "u", V, None, scale=scale, near_nullspace=rigid_body_modes
        )
        self._properties(problem)
        ref = self.cfg.reference_temperature
        self.t_ref = fem.Constant(msh, ref if ref is not None else problem.case.case.temperature)
        self.boundaries = [
            mechanical_boundary(problem, k, spec, self.u)
            for k, spec in enumerate(problem.case.boundary_conditions.mechanics)
            if spec.type != "free"
        ]
        if self.cfg.hold_rigid_modes:
            self.boundaries.append(rigid_mode_points(problem, self.u))
        problem.provide("displacement", lambda level: problem.state("u", level), "m", self.name)
        problem.provide(
            "stress",
            lambda level: self.stress_3d(problem, self._lagged(level)),
            "Pa",
            self.name,
        )

    def _properties(self, problem: Problem) -> None:
        """E [Pa], nu, alpha [1/K] and the chemical strain per cell (DG0)."""
        bundle = problem.bundle
        Q = fem.functionspace(bundle.mesh, ("DG", 0))
        self.E, self.nu, self.alpha, self.chemical, self.field_strain = (
            fem.Function(Q, name=n)
            for n in ("E", "nu", "alpha", "chemical_strain", "solved_chemical_strain")
        )
        tag_of = bundle.cell_region_tags()
        for region in problem.case.regions:
            mat = problem.materials[region.name]
            path = f"materials.{region.material}"
            cells = tag_of == bundle.regions[region.name]
            self.E.x.array[cells] = mat.require("youngs_modulus", path)
            self.nu.x.array[cells] = mat.require("poissons_ratio", path)
        for k, spec in enumerate(self.cfg.chemical_strain):
            for name in spec.regions:
                if name not in bundle.regions:
                    raise CaseError(
                        f"{name!r} is not a mesh region; it has {sorted(bundle.regions)}",
                        f"physics.mechanics.chemical_strain[{k}].regions",
                    )
                cells = tag_of == bundle.regions[name]
                if spec.strain is not None:
                    strain = spec.strain
                else:
                    material = next(r.material for r in problem.case.regions if r.name == name)
                    omega = problem.materials[name].require(
                        "partial_molar_volume", f"materials.{material}"
                    )
                    strain = omega * float(spec.concentration_change or 0.0) / 3.0
                self.chemical.x.array[cells] += strain

    # --- constitutive law ----------------------------------------------------------------
    def _lame(self) -> tuple[ufl.core.expr.Expr, ufl.core.expr.Expr, ufl.core.expr.Expr]:
        """(lambda, mu, beta) of the formulation [Pa]."""
        E, nu = self.E, self.nu
        mu = E / (2 * (1 + nu))
        lam = E * nu / ((1 + nu) * (1 - 2 * nu))
        if self.gdim == 2 and self.cfg.formulation == "plane_stress":
            return 2 * lam * mu / (lam + 2 * mu), mu, E / (1 - nu)
        return lam, mu, 3 * lam + 2 * mu

    def _lagged(self, level: int) -> int:
        """History level of what crosses between mechanics and the other physics: the
        previous step's with staggered coupling (no coupling terms in the Jacobian)."""
        return max(level, 1) if self.cfg.coupling == "staggered" else level

    def eigenstrain(
        self, problem: Problem, level: int = 0, field: ufl.core.expr.Expr | None = None
    ) -> ufl.core.expr.Expr:
        """e* = alpha (T - T_ref) + e_chem + the chemical strain of solved concentrations
        (isotropic, linear) [-]: ``field`` where given (UFL, in its region), else their
        per-cell copy; T (and the field) of the previous step with staggered coupling."""
        T = problem.require("temperature", self.name)(self._lagged(level))
        solved = self.field_strain if field is None else field
        return self.alpha * (T - self.t_ref) + self.chemical + solved

    def stress(
        self,
        problem: Problem,
        u: ufl.core.expr.Expr,
        level: int = 0,
        field: ufl.core.expr.Expr | None = None,
    ) -> ufl.core.expr.Expr:
        """In-plane (gdim x gdim) stress [Pa] of displacement ``u``."""
        eps = ufl.sym(ufl.grad(u))
        e_star = self.eigenstrain(problem, level, field)
        if self.gdim == 1:
            return self.E * (eps - e_star * ufl.Identity(1))
        lam, mu, beta = self._lame()
        I = ufl.Identity(self.gdim)  # noqa: E741
        return lam * ufl.tr(eps) * I + 2 * mu * eps - beta * e_star * I

    def stress_3d(self, problem: Problem, level: int = 0) -> ufl.core.expr.Expr:
        """The full 3x3 stress [Pa]: sigma_zz = lambda tr(eps) - 3K e* in plane strain,
        0 in plane stress; 1D: uniaxial."""
        u = problem.state("u", level)
        s = self.stress(problem, u, level)
        if self.gdim == 3:
            return s
        if self.gdim == 1:
            return ufl.as_matrix([[s[0, 0], 0, 0], [0, 0, 0], [0, 0, 0]])
        if self.cfg.formulation == "plane_stress":
            szz = 0 * s[0, 0]
        else:
            lam, _, beta = self._lame()
            szz = lam * ufl.tr(ufl.sym(ufl.grad(u))) - beta * self.eigenstrain(problem, level)
        return ufl.as_matrix([[s[0, 0], s[0, 1], 0], [s[1, 0], s[1, 1], 0], [0, 0, szz]])

    # --- forms ---------------------------------------------------------------------------
    def _thermal_expansion(self, problem: Problem) -> None:
        """alpha per cell where the temperature can differ from the stress-free one (a
        temperature field, or a constant other than T_ref); required from the materials."""
        q = problem.require("temperature", self.name)
        value = q()
        if q.is_constant and isinstance(value, fem.Constant):
            if float(value.value) == float(self.t_ref.value):
                return
        tag_of = problem.bundle.cell_region_tags()
        for region in problem.case.regions:
            cells = tag_of == problem.bundle.regions[region.name]
            self.alpha.x.array[cells] = problem.materials[region.name].require(
                "thermal_expansion", f"materials.{region.material}"
            )

    def concentration_fields(
        self, problem: Problem
    ) -> list[tuple[str, fem.Constant, SharedQuantity]]:
        """(region, Omega/3 [m^3/mol], shared c - c0) of every region whose concentration a
        physics solves."""
        if not hasattr(self, "_fields_solved"):
            out = []
            for region in problem.case.regions:
                name = f"concentration_change.{region.name}"
                if name not in problem.provided(name):
                    continue
                for k, spec in enumerate(self.cfg.chemical_strain):
                    if region.name in spec.regions:
                        raise CaseError(
                            f"the chemical strain of {region.name!r} follows its solved "
                            "concentration (Omega (c - c0) / 3); remove it here",
                            f"physics.mechanics.chemical_strain[{k}].regions",
                        )
                omega = problem.materials[region.name].require(
                    "partial_molar_volume", f"materials.{region.material}"
                )
                third = fem.Constant(problem.bundle.mesh, omega / 3.0)
                out.append((region.name, third, problem.require(name, self.name)))
            self._fields_solved = out
        return self._fields_solved

    def refresh_field_strain(self, problem: Problem) -> None:
        """The per-cell copy of the solved chemical strain (pictures, tables, ``stress``)."""
        tags = problem.bundle.cell_region_tags()
        for region, third, q in self.concentration_fields(problem):
            assert q.cells is not None, f"{q.name} has no per-cell values"
            mine = tags == problem.bundle.regions[region]
            self.field_strain.x.array[mine] = float(third.value) * q.cells()[mine]

    def residual(self, problem: Problem) -> ufl.Form:
        self._thermal_expansion(problem)
        v = problem.test("u")
        bundle = problem.bundle
        dx = bundle.dx()
        solved = self.concentration_fields(problem)
        strain = ufl.sym(ufl.grad(v))
        if not solved:
            F = ufl.inner(self.stress(problem, self.u), strain) * dx
        else:
            names = {r for r, _, _ in solved}
            others = tuple(t for r, t in bundle.regions.items() if r not in names)
            zero = fem.Constant(bundle.mesh, 0.0)
            F = 0
            if others:
                F = ufl.inner(self.stress(problem, self.u, field=zero), strain) * dx(others)
            for region, third, q in solved:
                chemical = third * q(self._lagged(0))
                F += ufl.inner(self.stress(problem, self.u, field=chemical), strain) * dx(
                    bundle.regions[region]
                )
        for b in self.boundaries:
            load = b.load()
            if load is not None:
                F -= ufl.inner(load, v) * b.ds
        for name in problem.provided("body_force."):  # N/m^3 (dx) or N/m^2 (dS, interfaces)
            q = problem.require(name, self.name)
            assert q.measure is not None, f"{name} has no measure"
            on_facets = q.measure.integral_type() == "interior_facet"
            F -= ufl.inner(q(), v("+") if on_facets else v) * q.measure
        return F

    def dirichlet(self, problem: Problem) -> list[fem.DirichletBC]:
        return [bc for b in self.boundaries for bc in b.bcs]

    def validate(self, problem: Problem) -> None:
        """The supports must hold every rigid-body mode: each axis's translation (some dof
        of that component held) and each rotation (one component held at two points apart
        along another axis); otherwise the body floats and the system is singular."""
        V = self.u.function_space
        bs = self.gdim
        n = V.dofmap.index_map.size_local
        x = V.tabulate_dof_coordinates()[:n]
        lo, hi = np.full((bs, 3), np.inf), np.full((bs, 3), -np.inf)
        for b in self.boundaries:
            for bc in b.bcs:
                dofs = bc.dof_indices()[0]
                dofs = dofs[dofs < n * bs]
                for axis in range(bs):
                    held = x[dofs[dofs % bs == axis] // bs]
                    if len(held):
                        lo[axis] = np.minimum(lo[axis], held.min(axis=0))
                        hi[axis] = np.maximum(hi[axis], held.max(axis=0))
        problem.comm.Allreduce(MPI.IN_PLACE, lo, op=MPI.MIN)
        problem.comm.Allreduce(MPI.IN_PLACE, hi, op=MPI.MAX)
        span = hi - lo  # extent of the held points of each component along each axis
        length = problem.bundle.extent()
        held = np.isfinite(span[:, 0])
        apart = np.where(np.isfinite(span), span, 0.0) > 1e-6 * length
        missing = [f"translation along {'xyz'[a]}" for a in range(bs) if not held[a]]
        rotations = {2: [(0, 1)], 3: [(0, 1), (1, 2), (2, 0)]}.get(bs, [])
        for a, c in rotations:  # in the (a, c) plane
            if not (apart[a, c] or apart[c, a]):
                missing.append(f"rotation in the {'xyz'[a]}{'xyz'[c]} plane")
        if missing:
            raise CaseError(
                f"the supports do not hold the {', '.join(missing)}: the body floats "
                "(singular system); add a fixed, roller or displacement condition that holds it",
                "boundary_conditions.mechanics",
            )

    def block_options(self) -> dict[str, object]:
        """Elasticity block (symmetric): CG + AMG with the rigid-body near-nullspace (set by
        the plan)."""
        return super().block_options() | {"ksp_type": "cg"}
