"""Nernst-Planck/Poisson: every mobile ion and the electric potential, space charge resolved.

    dc_i/dt + div N_i = S_i,   N_i = -D_i m_i(c_i) (grad u_i + z_i grad phi / V_T)
    -div(eps0 eps_r grad phi) = F (sum_i z_i c_i + z_fix c_fix) + q

with u_i the ion's chemical-potential variable (``species``: concentrations stay positive,
and below c_max on a lattice), phi [V] continuous over the module's regions (P1 on their
submesh), each ion on the submesh of its own regions, eps_r per region from the material
library, V_T = RT/F with the shared temperature, S_i the shared ``ion_source.<species>``
[mol/(m^3 s)] and q the shared ``charge_density.*`` [C/m^3] (none unless a module provides
them).

Scaling: both equations are divided by their natural sizes before assembly, Poisson by
F c_ref L^d and transport by c_ref L^d / t_ref, with L the smallest Debye length of the regions
and t_ref = L^2 / D_max, so that the Jacobian's entries are O(1) at lambda_D / L from 1 down to
1e-4 (user input and output stay SI). In a steady run an ion without a concentration
condition keeps its initial amount (a Lagrange multiplier per ion: blocking walls leave its
level undetermined otherwise).

Electroneutral regions (``electroneutral_regions``, the limit lambda_D -> 0): eps_r is 0
there, so Poisson's equation keeps only its charge, integrated with vertex quadrature (a
lumped mass): every vertex inside is neutral, sum_i z_i c_i + z_fix c_fix = 0, and the
potential follows from the ions' transport. A single mobile ion on a fixed background then
conducts Ohmically (c = c_fix, N = -D c grad phi / V_T), a binary salt polarises by
concentration without double layers (Newman's electroneutral transport), by each ion's own
diffusivity (dilute) or by concentrated-solution theory (``salt``: kappa, D, t+ and the
thermodynamic factor as functions of c, ``sse_fem.physics.nernst_planck.salt``). Beside a
resolved region, the potential and each ion's electrochemical potential are continuous
(shared P1 unknowns; with a non-ideal salt the anion's excess, which only its concentrated
side carries, steps there) and so is the ionic current (the weak form's flux): a thin
resolved layer embedded in an Ohmic bulk. The resolved side's displacement eps E at the border is
taken up by the electroneutral side's first vertices (cells of size h) as a surface charge:
their concentrations differ from neutral by (lambda_D / h)(lambda_D E / V_T), negligible
where the border lies in the resolved layer's bulk. Electrodes on electroneutral regions
have no compact (Stern) layer. The initial state of a transient run holds the ions; with
electroneutral regions its potential then carries the walls' currents through the held
composition everywhere (Ohm's law and the electrodes' kinetics: the state at t = 0+).

Boundary conditions (``boundary_conditions.nernst_planck``): a potential (fixed, or
``terminal`` driven by voltage steps), a concentration (reservoir) or a molar flux per ion;
walls without a concentration or flux block the ion, walls without a potential carry no
charge. Provides ``electric_potential`` [V] and ``concentration.<species>`` [mol/m^3].
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

from mpi4py import MPI

import basix.ufl
import numpy as np
import ufl
from dolfinx import fem

from sse_fem.errors import CaseError
from sse_fem.mesh.bundle import parent_cells
from sse_fem.physics.base import Physics
from sse_fem.physics.conduction.fields import boundary_facets
from sse_fem.physics.kinetics import FARADAY, GAS_CONSTANT
from sse_fem.physics.nernst_planck.conditions import PotentialCondition
from sse_fem.physics.nernst_planck.electrodes import Electrode, build_electrode
from sse_fem.physics.nernst_planck.outputs import NernstPlanckOutputs
from sse_fem.physics.nernst_planck.salt import Salt, build_salt
from sse_fem.physics.nernst_planck.species import RATE_DEGREE, MobileIon, Phase, species_slug
from sse_fem.physics.stress_drift import HydrostaticStress
from sse_fem.physics.transient import hold_initial_state

if TYPE_CHECKING:
    from sse_fem.config.schema import (
        NernstPlanckBoundaryCondition,
        NernstPlanckPhysics,
        ProtocolStep,
    )
    from sse_fem.physics.base import Problem

VACUUM_PERMITTIVITY = 8.8541878128e-12  # F/m
#: largest change of an ion's chemical-potential variable in one Newton step [-] (a factor
#: e^3 in concentration): larger steps overshoot the exponential
MAX_VARIABLE_STEP = 3.0
#: ``direct_max_dofs`` that keeps LU at every size
ALWAYS_DIRECT = 2**62
#: ``direct_max_dofs`` in 2D (MUMPS measured robust and fast there, benchmarks/bench_pnp.py)
DIRECT_2D_MAX_DOFS = 300_000
#: largest net initial charge of a region, relative to its ions' charge [-]
NEUTRALITY_TOLERANCE = 1e-9
#: the DG0 parameter fields of a ``MobileIon``, in its order
PHASE_FIELDS = ("diffusivity", "initial", "c_max", "lattice", "mu0", "omega")


class NernstPlanck(NernstPlanckOutputs, Physics):
    """Mobile ions and the electric potential; drives the cell through its terminal."""

    name = "nernst_planck"
    #: ``auto`` keeps MUMPS (robust) up to this size, then GMRES with the additive Schwarz
    #: preconditioner of ``krylov_preconditioner``: on the 3D interface patch of
    #: benchmarks/bench_pnp.py (2 ranks) 22 s vs 14 s at 82k dofs and 241 s (4.6 GB a rank)
    #: vs 86 s (1.4 GB) at 395k; electroneutral regions keep LU at every size (their
    #: neutrality rows have no diagonal, which ILU cannot factor)
    direct_max_dofs = 100_000
    #: delayed pivots: the steady saddle point (amount multipliers) with a Poisson block 1e-8
    #: of its coupling (Debye layers of 0.1 nm, bulk cells of 0.5 um) ran out of the
    #: default 80 % (MUMPS INFOG(1) = -9)
    lu_workspace_percent = 400

    def __init__(self, cfg: NernstPlanckPhysics) -> None:
        self.cfg = cfg

    def krylov_preconditioner(self) -> dict[str, object]:
        """Additive Schwarz with one layer of overlap and ILU(1) per rank: GAMG took 4x its
        Krylov iterations on the 3D interface patch (344 vs 82 per Newton step at 395k dofs
        on 2 ranks), its aggregates blind to the coupling of potential and ions. With
        electroneutral regions (rows without a diagonal for ILU) MUMPS LU, whatever the
        preset."""
        if getattr(self, "neutral", ()):
            return {"pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}
        return {
            "pc_type": "asm",
            "pc_asm_overlap": 1,
            "sub_pc_type": "ilu",
            "sub_pc_factor_levels": 1,
        }

    def block_options(self) -> dict[str, object]:
        """In a multi-physics field split, GMRES with ``krylov_preconditioner``."""
        krylov = {"ksp_type": "gmres", "ksp_rtol": 1e-3, "ksp_max_it": 200}
        return krylov | self.krylov_preconditioner()

    # --- setup ---------------------------------------------------------------------------
    def declare(self, problem: Problem) -> None:
        case, bundle = problem.case, problem.bundle
        msh = bundle.mesh
        self.regions = tuple(self.cfg.regions or [r.name for r in case.regions])
        self.tags = tuple(bundle.regions[r] for r in self.regions)
        self.neutral = tuple(self.cfg.electroneutral_regions)
        self.neutral_tags = tuple(bundle.regions[r] for r in self.neutral)
        if self.neutral:
            self.direct_max_dofs = ALWAYS_DIRECT
        elif bundle.dim == 2:  # 2D factorisations stay cheap; the Schwarz preset is 3D-tested
            self.direct_max_dofs = DIRECT_2D_MAX_DOFS
        self.sub = bundle.submesh(self.regions)
        V = fem.functionspace(self.sub.mesh, ("Lagrange", 1))
        t0 = case.case.temperature
        self.phi = problem.add_unknown(
            self.name, "phi", V, self.sub.cell_map, scale=GAS_CONSTANT * t0 / FARADAY
        )
        self._material_fields(problem)
        self.rt0 = GAS_CONSTANT * t0  # initial and boundary values use case.temperature
        self.c_ref = fem.Constant(msh, 1.0)
        self.initial_variables: dict[str, fem.Function] = {}
        self.ions = [self._ion(problem, k) for k in range(len(self.cfg.species))]
        c_ref = max(
            [p.initial for ion in self.ions for p in ion.phases.values()]
            + [fc.concentration for fc in self.cfg.fixed_charge]
        )
        self.c_ref.value = c_ref
        for ion in self.ions:
            self._initial_variable(problem, ion)
        self.salt: Salt | None = None
        if self.cfg.salt is not None:
            self.salt = build_salt(
                self.cfg.salt,
                self.ions,
                self.neutral,
                bundle.regions,
                msh,
                "physics.nernst_planck.salt",
            )
        self.debye_lengths = self._debye_lengths(t0)
        self.stress: HydrostaticStress | None = None
        if any(p.omega != 0 for ion in self.ions for p in ion.phases.values()):
            self.stress = HydrostaticStress(
                problem,
                self.name,
                "sigma_h",
                V,
                self.sub.cell_map,
                "physics.nernst_planck.species",
            )
        length = (
            min(self.debye_lengths.values())
            if self.debye_lengths
            else self._smallest_cell(problem)  # electroneutral throughout
        )
        d_max = max(p.diffusivity for ion in self.ions for p in ion.phases.values())
        dim = bundle.dim
        # Poisson / (F c_ref L^d), transport / (c_ref L^d / t_ref), t_ref = L^2 / D_max
        self.poisson_scale = fem.Constant(msh, 1.0 / length**dim)
        self.transport_scale = fem.Constant(msh, length**2 / d_max / length**dim)
        self.multipliers: dict[str, fem.Function] = {}
        if not problem.transient:
            for ion in self.ions:
                if not self._has_reservoir(problem, ion):
                    R = fem.functionspace(
                        ion.sub.mesh,
                        basix.ufl.real_element(
                            ion.sub.mesh.basix_cell(), value_shape=(), dtype=np.float64
                        ),
                    )
                    self.multipliers[ion.slug] = problem.add_unknown(
                        self.name, f"amount_{ion.slug}", R, ion.sub.cell_map, is_global=True
                    )
        self.potentials: list[PotentialCondition] = []
        #: (boundary, ion, local dofs of its variable there) of every reservoir
        self.reservoirs: list[tuple[str, MobileIon, np.ndarray]] = []
        self.electrodes = [
            self._electrode(problem, k, b)
            for k, b in enumerate(case.boundary_conditions.nernst_planck)
            if b.electrode is not None
        ]
        problem.provide(
            "electric_potential",
            lambda level: problem.state("phi", level),
            "V",
            self.name,
            bundle.dx()(self.tags),
        )
        for ion in self.ions:
            problem.provide(
                f"concentration.{ion.name}",
                partial(self.concentration_at, problem, ion),
                "mol/m^3",
                self.name,
                bundle.dx()(ion.tags),
            )

    def rt(self, problem: Problem) -> ufl.core.expr.Expr:
        """RT [J/mol] at the shared temperature (from ``residual`` on)."""
        if not hasattr(self, "_rt"):
            self._rt = GAS_CONSTANT * problem.require("temperature", self.name)()
        return self._rt

    def concentration_at(
        self, problem: Problem, ion: MobileIon, level: int = 0
    ) -> ufl.core.expr.Expr:
        """The ion's concentration [mol/m^3] at history ``level`` (0: now)."""
        return ion.concentration(problem.state(f"u_{ion.slug}", level), self.rt(problem))

    def _smallest_cell(self, problem: Problem) -> float:
        """The smallest cell diameter [m] of the module's regions (collective)."""
        from dolfinx.cpp.mesh import h

        bundle = problem.bundle
        tdim = bundle.dim
        cells = np.flatnonzero(np.isin(bundle.cell_region_tags(), self.tags)).astype(np.int32)
        local = float(h(bundle.mesh._cpp_object, tdim, cells).min(initial=np.inf))
        return problem.comm.allreduce(local, op=MPI.MIN)

    def _material_fields(self, problem: Problem) -> None:
        """eps_r [-] and the fixed charge z_fix c_fix [mol/m^3] per parent cell (DG0); eps_r
        is 0 in electroneutral regions (Poisson's equation leaves only the charge there)."""
        bundle = problem.bundle
        Q = fem.functionspace(bundle.mesh, ("DG", 0))
        self.eps_r = fem.Function(Q, name="relative_permittivity")
        self.fixed = fem.Function(Q, name="fixed_charge")
        tag_of = bundle.cell_region_tags()
        paths = {r.name: f"materials.{r.material}" for r in problem.case.regions}
        self.permittivity = {}
        for region in self.regions:
            if region in self.cfg.electroneutral_regions:  # Poisson keeps only the charge
                continue
            eps = problem.materials[region].require("relative_permittivity", paths[region])
            self.permittivity[region] = eps
            self.eps_r.x.array[tag_of == bundle.regions[region]] = eps
        self.fixed_charge = dict.fromkeys(self.regions, 0.0)
        for fc in self.cfg.fixed_charge:
            for region in fc.regions:
                cells = tag_of == bundle.regions[region]
                self.fixed.x.array[cells] += fc.charge_number * fc.concentration
                self.fixed_charge[region] += fc.charge_number * fc.concentration
        self._boundaries = set(bundle.boundary_names())

    def _ion(self, problem: Problem, k: int) -> MobileIon:
        sp = self.cfg.species[k]
        bundle, msh = problem.bundle, problem.bundle.mesh
        regions = tuple(sp.regions or self.regions)
        sub = bundle.submesh(regions)
        slug = species_slug(sp.name)
        V = fem.functionspace(sub.mesh, ("Lagrange", 1))
        u = problem.add_unknown(self.name, f"u_{slug}", V, sub.cell_map, scale=1.0)
        phases = {}
        for region in regions:
            c_max = sp.value("max_concentration", region)
            phases[region] = Phase(
                float(sp.value("diffusivity", region)),  # type: ignore[arg-type]
                float(sp.value("initial_concentration", region)),  # type: ignore[arg-type]
                None if c_max is None else float(c_max),
                float(sp.value("standard_chemical_potential", region) or 0.0),
                float(sp.value("partial_molar_volume", region) or 0.0),
            )
        Q = fem.functionspace(msh, ("DG", 0))
        fields = [fem.Function(Q, name=f"{key}_{slug}") for key in PHASE_FIELDS]
        tag_of = bundle.cell_region_tags()
        for region, p in phases.items():
            cells = tag_of == bundle.regions[region]
            values = (
                p.diffusivity,
                p.initial,
                p.c_max or 1.0,
                p.c_max is not None,
                p.mu0,
                p.omega,
            )
            for f, value in zip(fields, values, strict=True):
                f.x.array[cells] = float(value)
        return MobileIon(
            sp.name,
            slug,
            regions,
            tuple(bundle.regions[r] for r in regions),
            sub,
            u,
            fem.Constant(msh, float(sp.charge_number)),
            self.c_ref,
            phases,
            *fields,
        )

    def _initial_variable(self, problem: Problem, ion: MobileIon) -> None:
        """u at the initial concentrations, per region (the last region wins on shared
        vertices), and per parent cell (``ion_u0``: the initial state's hold)."""
        V = ion.u.function_space
        tdim = problem.bundle.dim
        cells, parents = parent_cells(ion.sub)
        tag_of = problem.bundle.cell_region_tags()
        Q = fem.functionspace(problem.bundle.mesh, ("DG", 0))
        ion_u0 = fem.Function(Q, name=f"u0_{ion.slug}")
        for region, p in ion.phases.items():
            value = ion.variable(p.initial, region, self.rt0)
            mine = cells[tag_of[parents] == problem.bundle.regions[region]]
            dofs = fem.locate_dofs_topological(V, tdim, mine)
            ion.u.x.array[dofs] = value
            ion_u0.x.array[tag_of == problem.bundle.regions[region]] = value
        ion.u.x.scatter_forward()
        self.initial_variables[ion.slug] = ion_u0

    def _debye_lengths(self, temperature: float) -> dict[str, float]:
        """lambda_D = sqrt(eps RT / (F^2 sum z_i^2 c_i0)) [m] per region with mobile ions."""
        out = {}
        for region in self.regions:
            if region in self.neutral:
                continue
            strength = sum(
                float(ion.z.value) ** 2 * ion.phases[region].initial
                for ion in self.ions
                if region in ion.phases
            )
            if strength > 0:
                eps = VACUUM_PERMITTIVITY * self.permittivity[region]
                out[region] = math.sqrt(eps * GAS_CONSTANT * temperature / FARADAY**2 / strength)
        return out

    @staticmethod
    def _has_reservoir(problem: Problem, ion: MobileIon) -> bool:
        """Whether a reservoir or an electrode (the metal: a reservoir with kinetics) holds
        the ion's level."""
        return any(
            ion.name in b.concentration
            or (b.electrode is not None and b.electrode.reacting_ion == ion.name)
            for b in problem.case.boundary_conditions.nernst_planck
        )

    def _electrode(self, problem: Problem, k: int, b: NernstPlanckBoundaryCondition) -> Electrode:
        assert b.electrode is not None
        path = f"boundary_conditions.nernst_planck[{k}]({b.name}).electrode"
        ion = next(i for i in self.ions if i.name == b.electrode.reacting_ion)
        region = self._boundary_region(problem, b.name, ion.regions, path)
        ds = problem.bundle.boundary_part(b.name, (region,))
        electrode = build_electrode(
            problem, self.name, b.name, b.electrode, ion, region, self.sub, ds
        )
        if region in self.neutral:  # no diffuse layer to hold a compact layer's charge
            if b.electrode.stern_capacitance is not None:
                raise CaseError(
                    f"an electrode on the electroneutral region {region!r} has no compact "
                    "layer (its double layer has zero thickness): drop stern_capacitance, or "
                    "resolve the region",
                    f"{path}.stern_capacitance",
                )
            electrode.stern.value = 0.0
        return electrode

    # --- forms ---------------------------------------------------------------------------
    def residual(self, problem: Problem) -> ufl.Form:
        bundle = problem.bundle
        dx = bundle.dx()
        rt = self.rt(problem)
        v_t = rt / FARADAY
        phi, w = self.phi, problem.test("phi")
        eps_over_fc = VACUUM_PERMITTIVITY / (FARADAY * self.c_ref)
        poisson = eps_over_fc * self.eps_r * ufl.inner(ufl.grad(phi), ufl.grad(w)) * dx(
            self.tags
        ) - self._charge(problem, self.fixed / self.c_ref * w, self.tags)
        for name in problem.provided("charge_density."):
            q = problem.require(name, self.name)
            poisson -= q() / (FARADAY * self.c_ref) * w * q.measure
        transport = 0
        drives = {}
        for ion in self.ions:
            drive = ufl.grad(ion.u - ion.mu0 / rt) + ion.z * ufl.grad(phi) / v_t
            if self.stress is not None:  # mu - Omega sigma_h: ions drift into tension
                drive += self.stress.drift(ion.omega, rt)
            drives[ion.slug] = drive
        fluxes, self.conductivities = self._transport(problem, drives)
        self.fluxes = fluxes

        def moving(ion: MobileIon, c: ufl.core.expr.Expr, test: ufl.Argument) -> ufl.Form:
            """The ion's balance without its storage, tested with ``test``: transport, given
            wall fluxes, sources, the electrodes' Butler-Volmer rate [mol/(m^3 s) / c_ref]."""
            form = sum(
                ufl.inner(fluxes[tag][ion.slug], ufl.grad(test)) / self.c_ref * dx(tag)
                for tag in ion.tags
            )
            for b in problem.case.boundary_conditions.nernst_planck:
                if ion.name in b.flux:
                    flux = fem.Constant(bundle.mesh, b.flux[ion.name])
                    form -= flux / self.c_ref * test * bundle.boundary_part(b.name, ion.regions)
            source = f"ion_source.{ion.name}"
            if source in problem.provided(source):
                q = problem.require(source, self.name)
                form -= q() / self.c_ref * test * q.measure
            for e in self.electrodes:
                if e.ion is ion:  # the metal's cation crosses at the Butler-Volmer rate
                    i_f = e.faradaic(e.potential, phi, c, rt)
                    form -= i_f / (ion.z * FARADAY * self.c_ref) * test * e.ds
            return form

        # the initial state of a transient run with electroneutral regions, ions held: the
        # potential carries the current, div(sum z N) = 0 with the walls' currents (there
        # Poisson leaves only the held charge, which does not fix the potential)
        rest: ufl.Form | int = 0
        held = problem.transient and bool(self.neutral)
        for ion in self.ions:
            u, v = ion.u, problem.test(f"u_{ion.slug}")
            c = ion.concentration(u, rt)
            poisson -= self._charge(problem, ion.z * c / self.c_ref * w, ion.tags)
            rate = problem.ddt(partial(self.concentration_at, problem, ion))
            evolving = rate / self.c_ref * v * dx(ion.tags, degree=RATE_DEGREE)
            evolving += moving(ion, c, v)
            if held:
                rest += ion.z * moving(ion, c, w)
            lagrange = self.multipliers.get(ion.slug)
            if lagrange is not None:  # steady, closed: the amount stays the initial one
                r = problem.test(f"amount_{ion.slug}")
                evolving += lagrange * v * dx(ion.tags)
                evolving += (c - ion.initial) / self.c_ref * r * dx(ion.tags)
            u0 = self.initial_variables[ion.slug]
            stiffness = ion.diffusivity * ion.initial / self.c_ref
            transport += hold_initial_state(
                problem, evolving, u, u0, v, [(stiffness, dx(ion.tags))]
            )
        for e in self.electrodes:  # the Stern layer: eps dphi/dn = C_S (V - phi_s)
            poisson -= e.charge(e.potential, phi) / (FARADAY * self.c_ref) * w * e.ds
        potential = self.poisson_scale * poisson
        if held:
            # regions without ions (dielectrics) carry no current: Poisson stays theirs
            ionless = tuple(t for t in self.tags if all(t not in i.tags for i in self.ions))
            dielectric: ufl.Form | int = 0
            if ionless:
                dielectric = eps_over_fc * self.eps_r * ufl.inner(ufl.grad(phi), ufl.grad(w)) * dx(
                    ionless
                ) - self.fixed / self.c_ref * w * dx(ionless)
            potential = (1 - problem.initial) * potential + problem.initial * (
                self.transport_scale * rest + self.poisson_scale * dielectric
            )
        return (
            self._stress_projection(problem)
            + potential
            + self.transport_scale * transport
            + sum(self._terminal_row(problem, e) for e in self.electrodes if e.name is not None)
        )

    def _charge(
        self, problem: Problem, density: ufl.core.expr.Expr, tags: tuple[int, ...]
    ) -> ufl.Form | int:
        """The integral of a charge term over ``tags``: vertex quadrature in electroneutral
        regions (a lumped mass, so every vertex inside them is neutral)."""
        dx = problem.bundle.dx()
        resolved = tuple(t for t in tags if t not in self.neutral_tags)
        lumped = tuple(t for t in tags if t in self.neutral_tags)
        form: ufl.Form | int = 0
        if resolved:
            form += density * dx(resolved)
        if lumped:
            form += density * dx(lumped, scheme="vertex", degree=1)
        return form

    def _transport(
        self, problem: Problem, drives: dict[str, ufl.core.expr.Expr]
    ) -> tuple[dict[int, dict[str, ufl.core.expr.Expr]], dict[int, ufl.core.expr.Expr]]:
        """Per region tag, minus each ion's molar flux, -N [mol/(m^2 s)], from its drive
        grad mu~ / RT, and the conductivity there [S/m]: D m(c) grad mu~ / RT and
        F^2 sum z^2 D m(c) / RT for independent ions, the Onsager fluxes and kappa(c) of the
        salt (``sse_fem.physics.nernst_planck.salt``) in its regions."""
        rt = self.rt(problem)
        salt = self.salt
        fluxes: dict[int, dict[str, ufl.core.expr.Expr]] = {}
        conductivities: dict[int, ufl.core.expr.Expr] = {}
        if salt is not None:
            cation, anion = salt.cation, salt.anion
            c = salt.concentration(cation.concentration(cation.u, rt))
            l_pp, l_pm, l_mm = salt.onsager(c, rt)
            x_p = drives[cation.slug]
            activity = salt.anion_activity(c) * ufl.grad(anion.u - anion.mu0 / rt)
            x_m = drives[anion.slug] + activity
            for tag in salt.tags:
                fluxes[tag] = {
                    cation.slug: l_pp * x_p + l_pm * x_m,
                    anion.slug: l_pm * x_p + l_mm * x_m,
                }
                conductivities[tag] = salt.properties["conductivity"](c)
        for tag in self.tags:
            if tag in fluxes:
                continue
            fluxes[tag], sigma = {}, 0
            for ion in self.ions:
                if tag in ion.tags:
                    m = ion.diffusivity * ion.mobility(ion.concentration(ion.u, rt))
                    fluxes[tag][ion.slug] = m * drives[ion.slug]
                    sigma += ion.z**2 * m * FARADAY**2 / rt
            conductivities[tag] = sigma
        return fluxes, conductivities

    def _stress_projection(self, problem: Problem) -> ufl.Form | int:
        """The projection of the hydrostatic stress (``sse_fem.physics.stress_drift``)."""
        if self.stress is None:
            return 0
        return self.stress.projection(problem, problem.bundle.dx()(self.tags), self.poisson_scale)

    def _terminal_row(self, problem: Problem, e: Electrode) -> ufl.Form:
        """The metal potential's equation: V = the set voltage, or the mean current density
        (faradaic plus charging of the double layer) = the set one; scaled by V_T and i0."""
        assert e.name is not None
        r, rt = problem.test(e.name), self.rt(problem)
        ion = e.ion
        c = self.concentration_at(problem, ion)
        current = e.faradaic(e.potential, self.phi, c, rt) + problem.ddt(
            partial(e.charge_at, problem)
        )
        mode = e.current_mode
        equation = (
            mode * (current - e.set_current) / e.i0
            + (1 - mode) * (e.potential - e.set_voltage) * FARADAY / rt
        )
        return equation / e.area * r * e.ds

    def dirichlet(self, problem: Problem) -> list[fem.DirichletBC]:
        bundle = problem.bundle
        fdim = bundle.dim - 1
        V = self.phi.function_space
        bcs = []
        for k, b in enumerate(problem.case.boundary_conditions.nernst_planck):
            path = f"boundary_conditions.nernst_planck[{k}]({b.name})"
            tag = bundle.boundary_tags(b.name)
            if self.neutral and (b.potential is not None or b.concentration):
                self._no_compressed_layer(problem, b, path)
            if b.potential is not None:
                facets = boundary_facets(self.sub, tag)
                self._touches(problem, facets, path, self.regions)
                value = 0.0 if b.terminal else float(b.potential)
                const = fem.Constant(self.sub.mesh, value)
                dofs = fem.locate_dofs_topological(V, fdim, facets)
                bc = fem.dirichletbc(const, dofs, V)
                self.potentials.append(
                    PotentialCondition(b.name, const, value, b.terminal, dofs, bc)
                )
                bcs.append(bc)
            for ion in self.ions:
                if ion.name not in b.concentration:
                    continue
                facets = boundary_facets(ion.sub, tag)
                where = f"{path}.concentration"
                self._touches(problem, facets, where, ion.regions)
                region = self._boundary_region(problem, b.name, ion.regions, where)
                value = ion.variable(b.concentration[ion.name], region, self.rt0)
                Vi = ion.u.function_space
                const = fem.Constant(ion.sub.mesh, value)
                dofs = fem.locate_dofs_topological(Vi, fdim, facets)
                bcs.append(fem.dirichletbc(const, dofs, Vi))
                self.reservoirs.append((b.name, ion, dofs))
        return bcs

    @staticmethod
    def _touched_tags(problem: Problem, boundary: str) -> set[int]:
        """Region tags of the cells that facets of ``boundary`` belong to (collective)."""
        bundle = problem.bundle
        tdim = bundle.dim
        f2c = bundle.mesh.topology.connectivity(tdim - 1, tdim)
        tag_of = bundle.cell_region_tags()
        local = {int(tag_of[f2c.links(f)[0]]) for f in bundle.facets(boundary)}
        return set().union(*problem.comm.allgather(local))

    @classmethod
    def _boundary_region(
        cls, problem: Problem, boundary: str, regions: tuple[str, ...], path: str
    ) -> str:
        """The one region of ``regions`` that boundary facets of ``boundary`` belong to."""
        touched = cls._touched_tags(problem, boundary)
        names = [r for r in regions if problem.bundle.regions[r] in touched]
        if len(names) != 1:
            raise CaseError(
                f"a reservoir boundary must touch one region of the ion; {boundary!r} touches "
                f"{names}",
                path,
            )
        return names[0]

    def _no_compressed_layer(
        self, problem: Problem, b: NernstPlanckBoundaryCondition, path: str
    ) -> None:
        """On a wall of an electroneutral region, a fixed potential needs a reservoir of every
        ion there (alone it would hold a double layer squeezed into one cell), and reservoirs
        of every ion need the potential (else nothing is left to set it there)."""
        touched = self._touched_tags(problem, b.name)
        for region in self.neutral:
            if problem.bundle.regions[region] not in touched:
                continue
            ions = [i.name for i in self.ions if region in i.phases]
            missing = [name for name in ions if name not in b.concentration]
            if b.potential is not None and missing:
                raise CaseError(
                    f"a fixed potential on a wall of the electroneutral region {region!r} "
                    f"needs a reservoir (`concentration`) of {missing} too; reference the "
                    "potential with an `electrode`, or resolve the region",
                    f"{path}.potential",
                )
            if b.potential is None and ions and not missing:
                raise CaseError(
                    f"reservoirs of every ion of the electroneutral region {region!r} fix its "
                    "composition on this wall and leave its potential free: give the wall's "
                    "`potential` too (a bath at that potential), or no reservoir for one ion",
                    f"{path}.concentration",
                )

    @staticmethod
    def _touches(problem: Problem, facets: np.ndarray, path: str, regions: tuple) -> None:
        if problem.comm.allreduce(len(facets), op=MPI.SUM) == 0:
            raise CaseError(f"this boundary touches none of the regions {list(regions)}", path)

    def validate(self, problem: Problem) -> None:
        """Every region starts neutral (a net charge would sit on the walls as surface charge
        from the start); a steady run where given fluxes feed an ion that no reservoir holds
        needs them to cancel (in at one wall, out at another), else it has no solution."""
        for region in self.regions:
            ions = [ion for ion in self.ions if region in ion.phases]
            if region in self.neutral and not ions:
                raise CaseError(
                    f"the electroneutral region {region!r} holds no mobile ion: nothing "
                    "carries its current or sets its potential; give it an ion or drop it "
                    "from the module's regions",
                    "physics.nernst_planck.electroneutral_regions",
                )
            charge = sum(float(i.z.value) * i.phases[region].initial for i in ions)
            charge += self.fixed_charge[region]
            scale = sum(abs(float(i.z.value)) * i.phases[region].initial for i in ions)
            if abs(charge) > NEUTRALITY_TOLERANCE * max(scale, abs(self.fixed_charge[region])):
                raise CaseError(
                    f"the initial state of {region!r} is not neutral: sum z c0 + z_fix c_fix = "
                    f"{charge:.6g} mol/m^3 (of {scale:.6g}); adjust the initial concentrations "
                    "or add a fixed_charge",
                    "physics.nernst_planck.species",
                )
        if problem.transient:
            return
        bundle = problem.bundle
        for ion in self.ions:
            if ion.slug not in self.multipliers:
                continue
            given = [
                (k, b, b.flux[ion.name] * bundle.area(b.name))
                for k, b in enumerate(problem.case.boundary_conditions.nernst_planck)
                if ion.name in b.flux
            ]
            net = sum(q for _, _, q in given)
            if given and abs(net) > 1e-9 * sum(abs(q) for _, _, q in given):
                k, b, _ = given[0]
                raise CaseError(
                    f"a steady run where the given fluxes of {ion.name} do not cancel (net "
                    f"{net:.3g} mol/s into the cell) has no solution: balance them, give a "
                    "reservoir (`concentration`) or run transient",
                    f"boundary_conditions.nernst_planck[{k}]({b.name}).flux",
                )

    def step_fraction(self, problem: Problem, step: dict[str, fem.Function]) -> float:
        """Keeps each Newton step's change of every ion's variable within
        ``MAX_VARIABLE_STEP`` (the exponential overshoots beyond)."""
        largest = 0.0
        for ion in self.ions:
            du = step[f"u_{ion.slug}"].x.array
            largest = max(largest, float(np.abs(du).max(initial=0.0)))
        largest = problem.comm.allreduce(largest, op=MPI.MAX)
        return min(1.0, MAX_VARIABLE_STEP / largest) if largest > 0 else 1.0

    # --- controller ----------------------------------------------------------------------
    def _terminal(self) -> PotentialCondition | None:
        return next((p for p in self.potentials if p.terminal), None)

    def _terminal_electrode(self) -> Electrode | None:
        return next((e for e in self.electrodes if e.terminal), None)

    def set_drive(self, mode: str, value: float | None) -> None:
        electrode = self._terminal_electrode()
        if electrode is not None:
            electrode.drive(mode, value)
            return
        terminal = self._terminal()
        if terminal is None or mode != "voltage" or value is None:
            raise CaseError(
                "a nernst_planck terminal (`potential: terminal`) takes voltage steps",
                "time.protocol",
            )
        terminal.value = value
        terminal.potential.value = value

    @contextmanager
    def at_rest(self) -> Iterator[None]:
        """At zero applied voltage (a potential terminal shorted to the reference), or at
        open circuit (an electrode terminal: no current)."""
        electrode = self._terminal_electrode()
        terminal = self._terminal()
        if electrode is not None:
            saved = tuple(float(c.value) for c in (electrode.current_mode, electrode.set_current))
            electrode.drive("rest", None)
            try:
                yield
            finally:
                electrode.current_mode.value, electrode.set_current.value = saved
            return
        if terminal is None:
            yield
            return
        saved_value = float(terminal.potential.value)
        terminal.potential.value = 0.0
        try:
            yield
        finally:
            terminal.potential.value = saved_value

    def set_load(self, factor: float) -> None:
        """Scale every fixed potential and set current density by ``factor`` (steady
        continuation)."""
        for p in self.potentials:
            p.potential.value = factor * p.value
        for e in self.electrodes:
            if isinstance(e.potential, fem.Constant):
                e.potential.value = factor * e.full[1]
            if not e.terminal:
                e.set_current.value = factor * e.full[0]

    def cutoff_margin(self, step: ProtocolStep, row: dict[str, float]) -> float | None:
        return None
