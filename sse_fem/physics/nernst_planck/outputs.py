"""Observations, balances, fields, profiles and figures of merit of Nernst-Planck/Poisson
(mixed into ``NernstPlanck``)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh

from sse_fem.mesh.bundle import parent_cells
from sse_fem.physics.kinetics import FARADAY
from sse_fem.physics.nernst_planck.species import RATE_DEGREE
from sse_fem.postprocess.profiles import evaluate, profile_positions, region_stretches

if TYPE_CHECKING:
    from sse_fem.io.results import ResultsWriter
    from sse_fem.mesh import SubMesh
    from sse_fem.physics.base import Problem
    from sse_fem.physics.nernst_planck.conditions import PotentialCondition
    from sse_fem.physics.nernst_planck.electrodes import Electrode
    from sse_fem.physics.nernst_planck.species import MobileIon

#: a steady run reports a limiting current for an ion depleted below this fraction of its
#: initial concentration (less is within the discretisation's reach of no polarisation)
LIMITING_DEPLETION = 0.01
#: a space-charge layer ends where |c - c_bulk| falls below this fraction of c_bulk
LAYER_THRESHOLD = 0.01
#: storage-rate floor of the ion balance, as a relative change of the amount per step [-];
#: at least the Newton tolerance over the balance tolerance (a converged state sums its
#: rows, the net storage, to about the Newton tolerance times the amount)
BALANCE_FLOOR = 1e-6


class NernstPlanckOutputs:
    """Surface charges, ion balances, ParaView fields and profiles across the cell."""

    name: str
    regions: tuple[str, ...]
    ions: list[MobileIon]
    phi: fem.Function
    sub: SubMesh
    tags: tuple[int, ...]
    c_ref: fem.Constant
    poisson_scale: fem.Constant
    potentials: list[PotentialCondition]
    reservoirs: list[tuple[str, MobileIon, np.ndarray]]
    electrodes: list[Electrode]
    transport_scale: fem.Constant
    multipliers: dict[str, fem.Function]
    debye_lengths: dict[str, float]
    neutral: tuple[str, ...]
    fluxes: dict[int, dict[str, ufl.core.expr.Expr]]
    conductivities: dict[int, ufl.core.expr.Expr]
    fixed_charge: dict[str, float]  # z_fix c_fix per region [mol/m^3]
    _boundaries: set[str]  # names of the case's boundaries
    rt0: float  # RT [J/mol] at case.temperature
    _compiled: dict[str, list[fem.Form]]

    def concentration_at(
        self, problem: Problem, ion: MobileIon, level: int = 0
    ) -> ufl.core.expr.Expr:
        raise NotImplementedError  # NernstPlanck

    def rt(self, problem: Problem) -> ufl.core.expr.Expr:
        raise NotImplementedError  # NernstPlanck

    # --- per state -----------------------------------------------------------------------
    def surface_charges(self, problem: Problem) -> dict[str, float]:
        """Charge per area [C/m^2] on every boundary of fixed potential, eps dphi/dn with n
        out of the domain (> 0: the electrode is positive), from the residual of Poisson's
        equation at its dofs (consistent: exact for the discrete solution)."""
        rows = problem.residual_rows()["phi"]
        local = np.array([rows[p.dofs[p.dofs < len(rows)]].sum() for p in self.potentials])
        problem.comm.Allreduce(MPI.IN_PLACE, local, op=MPI.SUM)
        scale = FARADAY * float(self.c_ref.value) / float(self.poisson_scale.value)
        return {
            p.boundary: float(q) * scale / problem.bundle.area(p.boundary)
            for p, q in zip(self.potentials, local, strict=True)
        }

    def reservoir_inflows(self, problem: Problem) -> dict[str, float]:
        """Molar flux [mol/(m^2 s)] of each ion into the cell through each boundary where a
        reservoir holds its concentration, ``<boundary>.<ion>``: from the ion's residual at
        its dofs there (consistent: exact for the discrete solution)."""
        rows = problem.residual_rows()
        local = np.array(
            [
                rows[f"u_{ion.slug}"][dofs[dofs < len(rows[f"u_{ion.slug}"])]].sum()
                for _, ion, dofs in self.reservoirs
            ]
        )
        problem.comm.Allreduce(MPI.IN_PLACE, local, op=MPI.SUM)
        scale = float(self.c_ref.value) / float(self.transport_scale.value)
        return {
            f"{boundary}.{ion.slug}": float(q) * scale / problem.bundle.area(boundary)
            for (boundary, ion, _), q in zip(self.reservoirs, local, strict=True)
        }

    def boundary_potentials(self, problem: Problem) -> dict[str, float]:
        """Mean potential [V] on every boundary with conditions of this physics but no fixed
        potential (e.g. the plating wall of a galvanostatic cell: the cell's voltage drop
        across the electrolyte, ohmic plus diffusion potential)."""
        bundle = problem.bundle
        if not hasattr(self, "_boundary_potential_forms"):
            fixed = {p.boundary for p in self.potentials} | {e.boundary for e in self.electrodes}
            self._boundary_potential_forms = {}
            for b in problem.case.boundary_conditions.nernst_planck:
                if b.name in fixed:
                    continue
                ds = bundle.boundary_part(b.name, self.regions)
                one = fem.Constant(bundle.mesh, 1.0)
                self._boundary_potential_forms[b.name] = (
                    fem.form(self.phi * ds, entity_maps=problem.entity_maps),
                    fem.form(one * ds),
                )
        out = {}
        for name, (phi, area) in self._boundary_potential_forms.items():
            values = np.array([fem.assemble_scalar(phi), fem.assemble_scalar(area)])
            problem.comm.Allreduce(MPI.IN_PLACE, values, op=MPI.SUM)
            out[name] = float(values[0] / values[1]) if values[1] > 0 else float("nan")
        return out

    def electrode_state(self, problem: Problem, e: Electrode) -> dict[str, float]:
        """Means over the electrode: the metal's potential [V], the current density
        (faradaic plus double-layer charging) and its faradaic part [A/m^2], the overpotential
        V - phi_s - U [V] and the charge on the metal [C/m^2]."""
        if not hasattr(self, "_electrode_forms"):
            self._electrode_forms: dict[str, list[fem.Form]] = {}
        if e.boundary not in self._electrode_forms:
            rt = self.rt(problem)
            c = self.concentration_at(problem, e.ion)
            faradaic = e.faradaic(e.potential, self.phi, c, rt)
            charging = problem.ddt(partial(e.charge_at, problem))
            integrands = [
                e.potential,
                faradaic + charging,
                faradaic,
                e.overpotential(e.potential, self.phi),
                e.charge(e.potential, self.phi),
            ]
            self._electrode_forms[e.boundary] = [
                fem.form(f * e.ds, entity_maps=problem.entity_maps) for f in integrands
            ]
        values = np.array([fem.assemble_scalar(f) for f in self._electrode_forms[e.boundary]])
        problem.comm.Allreduce(MPI.IN_PLACE, values, op=MPI.SUM)
        values /= e.area
        keys = (
            "electrode_potential_V",
            "current_density_A_m2",
            "faradaic_current_density_A_m2",
            "overpotential_V",
            "electrode_charge_C_m2",
        )
        return dict(zip(keys, (float(v) for v in values), strict=True))

    def drive_current_density(self, problem: Problem) -> float | None:
        """The largest current density [A/m^2] through a wall with a given ion flux
        (|z F N|) or an electrode on an electroneutral region (the walls whose lowest
        concentration is not a diffuse layer's); None without such a wall."""
        largest = None
        for b in problem.case.boundary_conditions.nernst_planck:
            for ion in self.ions:
                if ion.name in b.flux:
                    i = abs(float(ion.z.value) * FARADAY * b.flux[ion.name])
                    largest = max(largest or 0.0, i)
        for e in self.electrodes:
            if e.region in self.neutral:
                i = abs(self.electrode_state(problem, e)["current_density_A_m2"])
                largest = max(largest or 0.0, i)
        return largest

    def sand_times(self, rows: list[dict]) -> dict[str, float]:
        """Per ion drained by a given flux or an electrode on an electroneutral region (where
        the lowest concentration is the wall's, not a diffuse layer's), in a transient run
        that took it near zero: the time [s] at which its lowest concentration reaches zero,
        extrapolated from its fall as sqrt(t) (the semi-infinite law of a constant flux,
        exact for Sand's problem) over the rows where it is above half its initial value.
        Reported only where the run ended below a quarter of the initial value still on that
        law (within 10 % of the extrapolated time): below the limiting current, or once the
        cell is too thin for the semi-infinite law, the wall never empties and there is no
        Sand's time."""
        out = {}
        t = np.array([r["time_s"] for r in rows])
        for ion in self.ions:
            key = f"{self.name}.{ion.slug}.min_concentration_mol_m3"
            if len(rows) < 4 or key not in rows[0]:
                continue
            c = np.array([r.get(key, np.nan) for r in rows])
            use = (t > 0) & (c >= 0.5 * c[0]) & np.isfinite(c)
            if use.sum() < 3 or not c[-1] < 0.25 * c[0]:
                continue
            slope, intercept = np.polyfit(np.sqrt(t[use]), c[use], 1)
            if slope >= 0:
                continue
            sand = float((intercept / slope) ** 2)
            on_law = (intercept - c[-1]) / -slope  # sqrt of the time the law gives c[-1]
            if abs(on_law**2 - t[-1]) <= 0.1 * sand:
                out[f"{ion.slug}.sand_time_s"] = sand
        return out

    def concentration_range(
        self, problem: Problem, ion: MobileIon, regions: tuple[str, ...] | None = None
    ) -> tuple[float, float]:
        """(min, max) of the ion's concentration [mol/m^3] in its cells, or in those of
        ``regions`` (collective)."""
        fields = self.parent_fields(problem)
        c = fields[f"c_{ion.slug}"]
        tdim = problem.bundle.dim
        n = problem.bundle.mesh.topology.index_map(tdim).size_local
        cells = problem.bundle.region_cells(regions or ion.regions)
        cells = cells[cells < n]
        values = c.x.array[c.function_space.dofmap.list[cells]]
        extremes = np.array([-values.min(initial=np.inf), values.max(initial=-np.inf)])
        problem.comm.Allreduce(MPI.IN_PLACE, extremes, op=MPI.MAX)
        return float(-extremes[0]), float(extremes[1])

    def observe(self, problem: Problem) -> dict[str, float]:
        row: dict[str, float] = {}
        terminal = next((p for p in self.potentials if p.terminal), None)
        if terminal is not None:
            row["voltage_V"] = float(terminal.potential.value)
        for boundary, q in self.surface_charges(problem).items():
            row[f"{boundary}.surface_charge_C_m2"] = q
        for key, flux in self.reservoir_inflows(problem).items():
            row[f"{key}.inflow_mol_m2_s"] = flux
        for boundary, phi in self.boundary_potentials(problem).items():
            row[f"{boundary}.potential_V"] = phi
        for e in self.electrodes:
            for key, value in self.electrode_state(problem, e).items():
                row[f"{e.boundary}.{key}"] = value
            if e.terminal:
                row["voltage_V"] = row[f"{e.boundary}.electrode_potential_V"]
        for ion in self.ions:
            low, high = self.concentration_range(problem, ion)
            row[f"{ion.slug}.min_concentration_mol_m3"] = low
            row[f"{ion.slug}.max_concentration_mol_m3"] = high
        row |= self.overpotential_split(problem, row)
        return row

    def joule_power(self, problem: Problem) -> float:
        """Ionic Joule dissipation int |i|^2 / sigma dV [W] (per unit depth in 2D, per area in
        1D), i = F sum z N, sigma the local conductivity (collective)."""
        if not hasattr(self, "_joule_form"):
            dx = problem.bundle.dx()
            integrand = 0
            ions = {ion.slug: ion for ion in self.ions}
            for tag, by_ion in self.fluxes.items():
                if not by_ion:
                    continue
                i = FARADAY * sum(ions[k].z * f for k, f in by_ion.items())
                integrand += ufl.inner(i, i) / self.conductivities[tag] * dx(tag)
            self._joule_form = fem.form(integrand, entity_maps=problem.entity_maps)
        return problem.comm.allreduce(fem.assemble_scalar(self._joule_form), op=MPI.SUM)

    def overpotential_split(self, problem: Problem, row: dict[str, float]) -> dict[str, float]:
        """For a cell between a driven electrode (current set or terminal) and a fixed one,
        passing current: the cell voltage less the open-circuit difference split into the
        charge-transfer part (both electrodes' |eta|), the ohmic part (the ionic Joule
        dissipation over the current, i L / sigma in 1D) and the rest, the concentration
        overpotential (diffusion potential, Nernst terms of the depleted walls, diffuse-layer
        drops) [V]."""
        driven = next((e for e in self.electrodes if e.name is not None), None)
        fixed = next((e for e in self.electrodes if e.name is None), None)
        if driven is None or fixed is None:
            return {}
        current = row[f"{driven.boundary}.current_density_A_m2"] * driven.area
        if abs(current) == 0:
            return {}
        voltage = (
            row[f"{driven.boundary}.electrode_potential_V"]
            - row[f"{fixed.boundary}.electrode_potential_V"]
            - (float(driven.ocp.value) - float(fixed.ocp.value))
        )
        charge_transfer = abs(row[f"{driven.boundary}.overpotential_V"]) + abs(
            row[f"{fixed.boundary}.overpotential_V"]
        )
        ohmic = self.joule_power(problem) / abs(current)
        return {
            "charge_transfer_overpotential_V": charge_transfer,
            "ohmic_overpotential_V": ohmic,
            "concentration_overpotential_V": abs(voltage) - charge_transfer - ohmic,
        }

    def _forms(self, problem: Problem) -> dict[str, list[fem.Form]]:
        """Compiled once per ion: amount [mol], storage rate [mol/s] (net, and gross: the
        rate at which ions are redistributed), inflow through flux boundaries and sources
        [mol/s]."""
        if hasattr(self, "_compiled"):
            return self._compiled
        bundle = problem.bundle
        dx, emap = bundle.dx(), problem.entity_maps
        out: dict[str, list[fem.Form]] = {
            "amount": [],
            "initial": [],
            "storage": [],
            "moved": [],
            "in": [],
            "in_gross": [],
        }
        for ion in self.ions:
            out["amount"].append(
                fem.form(self.concentration_at(problem, ion) * dx(ion.tags), entity_maps=emap)
            )
            out["initial"].append(fem.form(ion.initial * dx(ion.tags), entity_maps=emap))
            rate = problem.ddt(partial(self.concentration_at, problem, ion))
            at = dx(ion.tags, degree=RATE_DEGREE)  # the residual's rule
            out["storage"].append(fem.form(rate * at, entity_maps=emap))
            out["moved"].append(fem.form(abs(rate) * at, entity_maps=emap))
            inflow = fem.Constant(bundle.mesh, 0.0) * dx(ion.tags)
            for b in problem.case.boundary_conditions.nernst_planck:
                if ion.name in b.flux:
                    flux = fem.Constant(bundle.mesh, b.flux[ion.name])
                    inflow += flux * bundle.boundary_part(b.name, ion.regions)
            source = f"ion_source.{ion.name}"
            if source in problem.provided(source):
                q = problem.require(source, self.name)
                inflow += q() * q.measure
            gross = fem.Constant(bundle.mesh, 0.0) * dx(ion.tags)
            for e in self.electrodes:
                if e.ion is ion:
                    c = self.concentration_at(problem, ion)
                    i_f = e.faradaic(e.potential, self.phi, c, self.rt(problem))
                    inflow += i_f / (ion.z * FARADAY) * e.ds
                    gross += abs(i_f / (ion.z * FARADAY)) * e.ds
            out["in_gross"].append(fem.form(gross, entity_maps=emap))
            out["in"].append(fem.form(inflow, entity_maps=emap))
        self._compiled = out
        return out

    def _integrals(self, problem: Problem, key: str) -> np.ndarray:
        local = np.array([fem.assemble_scalar(f) for f in self._forms(problem)[key]])
        problem.comm.Allreduce(MPI.IN_PLACE, local, op=MPI.SUM)
        return local

    def conservation(self, problem: Problem) -> dict[str, float]:
        """Ion balance of every ion that no reservoir feeds: transient, its storage rate
        equals its inflow (relative to the largest of them and the gross redistribution
        rate, floor ``BALANCE_FLOOR`` of the amount per step); steady, a closed ion keeps its
        initial amount and an ion fed by electrodes leaves as fast as it enters (relative to
        the gross electrode flux)."""
        tolerance = problem.case.solver.balance_tolerance
        out: dict[str, float] = {"balance_error": 0.0, "tolerance": tolerance}
        if float(problem.initial.value) == 1.0:
            return out
        amounts = self._integrals(problem, "amount")
        reservoir = {
            ion.name
            for b in problem.case.boundary_conditions.nernst_planck
            for ion in self.ions
            if ion.name in b.concentration
        }
        storage = self._integrals(problem, "storage") if problem.transient else None
        moved = self._integrals(problem, "moved") if problem.transient else None
        inflow = self._integrals(problem, "in")
        initial = self._integrals(problem, "initial")
        errors = []
        for k, ion in enumerate(self.ions):
            out[f"{ion.slug}.amount_mol"] = float(amounts[k])
            if ion.name in reservoir:
                continue
            if storage is None and ion.slug in self.multipliers:  # closed: amount held
                errors.append(abs(amounts[k] - initial[k]) / initial[k])
                continue
            if storage is None:  # steady, fed by electrodes: what enters leaves
                gross = self._integrals(problem, "in_gross")[k]
                floor = problem.case.solver.newton_tolerance * abs(amounts[k])
                errors.append(abs(inflow[k]) / max(gross, floor))
                out[f"{ion.slug}.inflow_mol_s"] = float(inflow[k])
                continue
            solver = problem.case.solver
            relative = max(BALANCE_FLOOR, solver.newton_tolerance / tolerance)
            floor = relative * abs(amounts[k]) / float(problem.dt.value)
            assert moved is not None
            reference = max(abs(storage[k]), abs(inflow[k]), moved[k], floor)
            out[f"{ion.slug}.storage_rate_mol_s"] = float(storage[k])
            out[f"{ion.slug}.inflow_mol_s"] = float(inflow[k])
            errors.append(abs(storage[k] - inflow[k]) / reference)
        out["balance_error"] = max(errors, default=0.0)
        return out

    # --- fields and pictures -------------------------------------------------------------
    def parent_fields(self, problem: Problem) -> dict[str, fem.Function]:
        """The current potential ``phi`` [V] and concentrations ``c_<ion>`` [mol/m^3] on
        the parent mesh (DG1: concentrations jump across phase boundaries; 0 outside their
        regions)."""
        bundle = problem.bundle
        if not hasattr(self, "_parent"):
            dg1 = fem.functionspace(bundle.mesh, ("DG", 1))
            self._parent = {"phi": fem.Function(dg1, name="phi")}
            self._transfers = []
            for ion in self.ions:
                u = fem.Function(dg1, name=f"u_{ion.slug}")
                c = fem.Function(dg1, name=f"c_{ion.slug}")
                expr = fem.Expression(
                    ion.concentration(u, self.rt(problem)), dg1.element.interpolation_points
                )
                self._parent[c.name] = c
                self._transfers.append((ion, u, c, expr, bundle.region_cells(ion.regions)))
        cells, parents = parent_cells(self.sub)
        self._parent["phi"].interpolate(self.phi, cells0=cells, cells1=parents)
        for ion, u, c, expr, mine in self._transfers:
            cells, parents = parent_cells(ion.sub)
            u.interpolate(ion.u, cells0=cells, cells1=parents)
            c.interpolate(expr, cells0=mine)
        for f in self._parent.values():
            f.x.scatter_forward()
        return self._parent

    def output_functions(self, problem: Problem) -> dict[str, list[fem.Function]]:
        """The potential [V] and the concentrations [mol/m^3] on the parent mesh (DG1)."""
        fields = list(self.parent_fields(problem).values())
        return {"potential": fields[:1], "concentrations": fields[1:]}

    def profiles(self, problem: Problem) -> list[tuple[int, np.ndarray, dict[str, np.ndarray]]]:
        """Along the last axis through the centre, per stretch of one region of this physics:
        (region tag, position [m], {``phi_V`` [V], ``c_<ion>_mol_m3`` [mol/m^3] (NaN where
        the ion does not move)}); a point where two regions meet is in both stretches."""
        bundle = problem.bundle
        axis = bundle.dim - 1
        if not hasattr(self, "_tags"):
            self._tags = fem.Function(fem.functionspace(bundle.mesh, ("DG", 0)))
            self._tags.x.array[:] = bundle.cell_region_tags()
        stretches = region_stretches(
            profile_positions(bundle, axis), self._tags, problem.comm, axis
        )
        fields = self.parent_fields(problem)
        out = []
        for tag, points in stretches:
            if tag not in self.tags:
                continue
            values = {"phi_V": evaluate(fields["phi"], points, problem.comm)}
            for ion in self.ions:
                c = evaluate(fields[f"c_{ion.slug}"], points, problem.comm)
                values[f"c_{ion.slug}_mol_m3"] = c if tag in ion.tags else np.full_like(c, np.nan)
            out.append((tag, points[:, axis], values))
        return out

    def facet_group_positions(self, problem: Problem, axis: int) -> dict[str, float]:
        """Coordinate [m] along ``axis`` of every boundary and interface that is a plane
        perpendicular to it."""
        bundle = problem.bundle
        fdim = bundle.dim - 1
        out = {}
        for name in [*bundle.boundaries, *bundle.interfaces]:
            facets = bundle.facets(name)
            x = dmesh.compute_midpoints(bundle.mesh, fdim, facets)[:, axis]
            stats = np.array([np.min(x, initial=np.inf), -np.max(x, initial=-np.inf)])
            problem.comm.Allreduce(MPI.IN_PLACE, stats, op=MPI.MIN)
            low, high = stats[0], -stats[1]
            if np.isfinite(low) and high - low <= 1e-9 * max(bundle.extent(), 1e-300):
                out[name] = float(0.5 * (low + high))
        return out

    def layers(
        self,
        stretches: list[tuple[int, np.ndarray, dict[str, np.ndarray]]],
        groups: dict[str, float],
        regions: dict[int, str],
        charged: set[str],
    ) -> dict[str, float]:
        """The space-charge layer at each end of each region's stretch of the profile that
        lies on an interface or a ``charged`` boundary: its width [m] (the first distance
        where every ion is within 1 % of its bulk value, at the stretch's middle), the
        potential drop from the end to the bulk [V], the charge stored in it per area
        [C/m^2] and its small-signal resistance per area beyond the bulk's, the integral of
        1/sigma(x) - 1/sigma_bulk with sigma = F^2 sum z^2 D m(c) / RT [Ohm m^2]. Keys
        ``<boundary>.<figure>`` on walls, ``<interface>.<region>.<figure>`` on interfaces."""
        out = {}
        span = max(max(x[-1] for _, x, _ in stretches) - min(x[0] for _, x, _ in stretches), 0)
        for tag, x, values in stretches:
            if len(x) < 3:
                continue
            region = regions[tag]
            if region in self.neutral:  # no space charge there
                continue
            mid = int(np.argmin(np.abs(x - 0.5 * (x[0] + x[-1]))))
            rho = np.full(len(x), self.fixed_charge[region])
            sigma = np.zeros(len(x))  # F^2 / RT sum z^2 D m(c) [S/m]
            ions = []
            for ion in self.ions:
                c = values[f"c_{ion.slug}_mol_m3"]
                if np.isfinite(c).all():
                    ions.append(c)
                    z = float(ion.z.value)
                    rho = rho + z * c
                    phase = ion.phases[region]
                    free = 1 - c / phase.c_max if phase.c_max is not None else 1.0
                    sigma += z**2 * phase.diffusivity * c * free * FARADAY**2 / self.rt0
            for end in (0, len(x) - 1):
                names = [n for n, g in groups.items() if abs(g - x[end]) <= 1e-6 * span]
                names = [n for n in names if n in charged or n not in self._boundaries]
                if not names:
                    continue
                key = names[0] if names[0] in self._boundaries else f"{names[0]}.{region}"
                part = slice(0, mid + 1) if end == 0 else slice(len(x) - 1, mid - 1, -1)
                within = np.ones(len(x[part]), dtype=bool)
                for c in ions:
                    within &= np.abs(c[part] - c[mid]) <= LAYER_THRESHOLD * abs(c[mid])
                outside = np.nonzero(~within)[0]
                xs = x[part]
                phi = values["phi_V"][part]
                out[f"{key}.space_charge_width_m"] = (
                    float(abs(xs[outside[-1] + 1] - xs[0])) if len(outside) else 0.0
                )
                out[f"{key}.potential_drop_V"] = float(phi[0] - phi[-1])
                stored = FARADAY * np.trapezoid(rho[part], xs)  # xs runs back at the upper end
                out[f"{key}.stored_charge_C_m2"] = float(stored if end == 0 else -stored)
                if sigma[mid] > 0 and np.all(sigma[part] > 0):
                    excess = np.trapezoid(1 / sigma[part] - 1 / sigma[mid], xs)
                    out[f"{key}.layer_resistance_ohm_m2"] = float(abs(excess))
        return out

    def finalize(self, problem: Problem, writer: ResultsWriter) -> dict[str, object]:
        """Debye lengths, the final surface charge on every boundary of fixed potential, the
        space-charge layers at the boundaries and interfaces the profile crosses, extreme
        concentrations; ``profiles.csv`` and the profile pictures."""
        bundle = problem.bundle
        stretches = self.profiles(problem)
        table: dict[str, list] = {"region": [], "position_m": []}
        names = {tag: name for name, tag in bundle.regions.items()}
        for tag, x, values in stretches:
            table["region"] += [names[tag]] * len(x)
            table["position_m"] += list(x)
            for key, v in values.items():
                table.setdefault(key, []).extend(v)
        writer.write_table("profiles.csv", table)
        out: dict[str, object] = {
            f"{region}.debye_length_m": length for region, length in self.debye_lengths.items()
        }
        charges = self.surface_charges(problem)
        for boundary, q in charges.items():
            out[f"{boundary}.surface_charge_C_m2"] = q
        groups = self.facet_group_positions(problem, bundle.dim - 1)
        charged = set(charges) | {e.boundary for e in self.electrodes}
        out |= self.layers(stretches, groups, names, charged)
        if problem.transient and (
            any(b.flux for b in problem.case.boundary_conditions.nernst_planck)
            or any(e.region in self.neutral for e in self.electrodes)
        ):
            out |= self.sand_times(writer.rows)
        valences = [float(ion.z.value) for ion in self.ions]
        binary = len(valences) == 2 and valences[0] * valences[1] < 0 and not problem.transient
        drive = self.drive_current_density(problem) if binary else None
        for ion in self.ions:
            low, high = self.concentration_range(problem, ion)
            out[f"{ion.slug}.min_concentration_mol_m3"] = low
            out[f"{ion.slug}.max_concentration_mol_m3"] = high
            initial = {p.initial for p in ion.phases.values()}
            neutral = tuple(r for r in ion.regions if r in self.neutral)
            if neutral:  # the depleted wall, not a diffuse layer elsewhere
                low, _ = self.concentration_range(problem, ion, neutral)
            if drive and len(initial) == 1 and low < (1 - LIMITING_DEPLETION) * min(initial):
                c0 = initial.pop()  # steady: c_wall = c0 (1 - i / i_lim) for a binary salt
                out[f"{ion.slug}.limiting_current_A_m2"] = drive * c0 / (c0 - low)
        if problem.case.outputs.plots and problem.comm.rank == 0:
            from sse_fem.io.plots import plot_columns, plot_profile_window, plot_profiles

            prefix = f"{self.name}."
            plot_columns(
                writer.rows,
                [
                    ("voltage [V]", {"terminal": f"{prefix}voltage_V"}, 1.0),
                    (
                        "surface charge [µC/cm²]",
                        {
                            p.boundary: f"{prefix}{p.boundary}.surface_charge_C_m2"
                            for p in self.potentials
                        },
                        100.0,
                    ),
                ],
                writer.outdir / "timeseries.png",
            )
            axis = "xyz"[problem.bundle.dim - 1]
            position = np.asarray(table["position_m"])
            plot_profiles(
                position,
                {"phi": np.asarray(table["phi_V"])},
                writer.outdir / "potential_profile.png",
                axis,
                "potential [V]",
            )
            concentrations = {
                ion.name: np.asarray(table[f"c_{ion.slug}_mol_m3"]) for ion in self.ions
            }
            spread = [np.nanmax(c) / np.nanmin(c) for c in concentrations.values()]
            plot_profiles(
                position,
                concentrations,
                writer.outdir / "concentration_profile.png",
                axis,
                "concentration [mol/m³]",
                log=max(spread) > 10,
            )
            widths = [
                float(v)  # type: ignore[arg-type]
                for k, v in out.items()
                if k.endswith("space_charge_width_m")
            ]
            half = max(3 * max(widths, default=0.0), 1e-9)
            for name, at in groups.items():
                if name in bundle.interfaces:
                    plot_profile_window(
                        position,
                        np.asarray(table["phi_V"]),
                        concentrations,
                        at,
                        half,
                        writer.outdir / f"interface_{name}_profile.png",
                    )
        return out


__all__ = ["NernstPlanckOutputs"]
