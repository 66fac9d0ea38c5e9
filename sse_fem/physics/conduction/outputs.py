"""Outputs of conduction: observed values per step, the current balance (conservation check),
fields for ParaView, and the final interface tables, facet fields and pictures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh

from sse_fem.mesh.bundle import parent_cells
from sse_fem.physics.conduction.fields import boundary_facets
from sse_fem.physics.kinetics import FARADAY
from sse_fem.postprocess.interfaces import (
    facet_areas,
    facet_normals,
    facet_vertices,
    interface_statistics,
    region_outlines,
)

if TYPE_CHECKING:
    from sse_fem.io.results import ResultsWriter
    from sse_fem.physics.base import Problem
    from sse_fem.physics.conduction.fields import CarrierField
    from sse_fem.physics.conduction.interfaces import InterfaceModel
    from sse_fem.physics.conduction.islands import Clusters
    from sse_fem.physics.conduction.terminals import BoundaryElectrode, FixedPotential, Terminal


#: slabs of the reaction-current profile through the thickness
REACTION_PROFILE_SLABS = 20


class ConductionOutputs:
    """Mixin of ``Conduction``: everything it reports (state from the module's setup)."""

    name: str
    fields: dict[str, CarrierField]
    interfaces: list[InterfaceModel]
    open_circuit_voltage: float
    fixed: list[FixedPotential]
    electrodes: list[BoundaryElectrode]
    terminal: Terminal | None
    film: fem.Function | None
    dS: ufl.Measure
    clusters: dict[str, Clusters]
    _row_index: list[tuple[str, str, str, np.ndarray]] | None = None
    _temperature_copies: dict[str, tuple[fem.Function, fem.Function]]
    _stress_cells: tuple[fem.Function, fem.Expression]
    _transfers: list[tuple[CarrierField, fem.Function, fem.Function, fem.Expression, fem.Function]]

    def _crossing(self, problem: Problem, i: InterfaceModel) -> ufl.core.expr.Expr: ...

    def _equilibrium_guess(self, problem: Problem, set_state: bool = True) -> None: ...

    def _faradaic(
        self, problem: Problem, i: InterfaceModel, level: int = 0
    ) -> ufl.core.expr.Expr: ...

    # --- currents ------------------------------------------------------------------------
    def _row_sets(self, problem: Problem) -> list[tuple[str, str, str, np.ndarray]]:
        """(kind, label, unknown, owned rows) whose residual sums are currents [A]: the
        reaction current into the cell at each fixed-potential boundary ("boundary"), and
        the current left unbalanced by the free rows of each unknown ("imbalance")."""
        if self._row_index is not None:
            return self._row_index
        fdim = problem.bundle.dim - 1
        out: list[tuple[str, str, str, np.ndarray]] = []
        constrained: dict[str, list[np.ndarray]] = {}

        def owned(unknown: str, dofs: np.ndarray) -> np.ndarray:
            V = problem.unknown(unknown).u.function_space
            n = V.dofmap.index_map.size_local * V.dofmap.index_map_bs
            return dofs[dofs < n]

        for fp in self.fixed:
            f = self.fields[fp.carrier]
            dofs = fem.locate_dofs_topological(
                f.u.function_space,
                fdim,
                boundary_facets(f.sub, problem.bundle.boundary_tags(fp.boundary)),
            )
            constrained.setdefault(f.name, []).append(dofs)
            out.append(("boundary", fp.boundary, f.name, owned(f.name, dofs)))
        for uk in problem.unknowns:
            if uk.physics != self.name:
                continue
            V = uk.u.function_space
            n = V.dofmap.index_map.size_local * V.dofmap.index_map_bs
            taken = np.concatenate([np.zeros(0, np.int32), *constrained.get(uk.name, [])])
            free = np.setdiff1d(np.arange(n, dtype=np.int32), taken)
            out.append(("imbalance", uk.name, uk.name, free))
        self._row_index = out
        return out

    def _row_values(self, problem: Problem) -> list[tuple[str, str, float]]:
        rows = problem.residual_rows()
        local = [float(rows[unknown][idx].sum()) for _, _, unknown, idx in self._row_sets(problem)]
        totals = problem.comm.allreduce(np.array(local), op=MPI.SUM) if local else []
        return [
            (kind, label, float(v))
            for (kind, label, _, _), v in zip(self._row_sets(problem), totals, strict=True)
        ]

    def _terminal_current(self, problem: Problem) -> float:
        """Current [A] into the cell through the terminal's contact, from the state."""
        t = self.terminal
        assert t is not None, "no terminal"
        if not hasattr(self, "_terminal_form"):
            f = self.fields[t.carrier]
            j = (t.potential - f.u) / t.contact_resistance
            ds = t.ds
            self._terminal_form = fem.form(j * ds, entity_maps=problem.entity_maps)
        return problem.comm.allreduce(fem.assemble_scalar(self._terminal_form), op=MPI.SUM)

    def electrical_power(self, problem: Problem) -> float:
        """Electrical power [W] into the cell: sum over its electrical boundaries of
        current into the cell times potential (independent of the reference)."""
        potentials = {fp.boundary: float(fp.potential.value) for fp in self.fixed}
        power = sum(
            value * potentials[label]
            for kind, label, value in self._row_values(problem)
            if kind == "boundary"
        )
        if self.terminal is not None:
            power += self._terminal_current(problem) * float(self.terminal.potential.x.array[0])
        for e in self.electrodes:
            power += self._electrode_current(problem, e) * float(e.potential.value)
        return float(power)

    def _electrode_current(self, problem: Problem, e: BoundaryElectrode) -> float:
        """Current [A] into the cell through boundary electrode ``e``, from the state."""
        forms = self.__dict__.setdefault("_electrode_forms", {})
        if e.boundary not in forms:
            f = self.fields[e.carrier]
            T = problem.require("temperature", self.name)()
            j = e.current_density(f.u, T)
            forms[e.boundary] = fem.form(j * e.ds, entity_maps=problem.entity_maps)
        return problem.comm.allreduce(fem.assemble_scalar(forms[e.boundary]), op=MPI.SUM)

    def _electrode_overpotential(self, problem: Problem, e: BoundaryElectrode) -> float:
        """Mean overpotential [V] of boundary electrode ``e``, phi_metal - phi_ionic - U."""
        forms = self.__dict__.setdefault("_electrode_eta_forms", {})
        if e.boundary not in forms:
            eta = e.potential - self.fields[e.carrier].u - e.ocp
            forms[e.boundary] = fem.form(eta * e.ds, entity_maps=problem.entity_maps)
        total = problem.comm.allreduce(fem.assemble_scalar(forms[e.boundary]), op=MPI.SUM)
        return total / e.area

    def conservation(self, problem: Problem) -> dict[str, float]:
        """Current in = current out: terminal and boundary currents, interface currents,
        and the largest current left unbalanced by any unknown's rows, relative to the
        largest of those currents (``balance_error``)."""
        values = self._row_values(problem)
        out: dict[str, float] = {}
        currents = []
        for kind, label, value in values:
            if kind == "boundary":
                out[f"current_{label}_A"] = value
                currents.append(value)
        if self.terminal is not None:
            value = self._terminal_current(problem)
            out[f"current_{self.terminal.boundary}_A"] = value
            currents.append(value)
        for e in self.electrodes:
            value = self._electrode_current(problem, e)
            out[f"current_{e.boundary}_A"] = value
            currents.append(value)
            currents.append(e.law.numeric().i0 * e.area)  # at rest: i0 both ways
        for i in self.interfaces:
            value = self._interface_current(problem, i)
            out[f"current_{i.name}_A"] = value
            currents.append(value)
            if i.capacitance is not None:  # a resting double layer discharges through it
                value = self._interface_current(problem, i, faradaic=True)
                out[f"faradaic_current_{i.name}_A"] = value
                currents.append(value)
            if i.law.kind != "blocking":  # at rest, equilibrium exchanges i0 both ways
                currents.append(i.law.numeric().i0 * self._interface_area(problem, i))
        imbalance = max((abs(v) for k, _, v in values if k == "imbalance"), default=0.0)
        out["boundary_sum_A"] = sum(
            v
            for k, v in out.items()
            if k.removeprefix("current_").removesuffix("_A")
            in {fp.boundary for fp in self.fixed}
            | {e.boundary for e in self.electrodes}
            | ({self.terminal.boundary} if self.terminal else set())
        )
        out["imbalance_A"] = imbalance
        reference = max((abs(c) for c in currents), default=0.0)
        imbalance = max(imbalance, abs(out["boundary_sum_A"]))
        if reference > 0:
            out["balance_error"] = imbalance / reference
        else:
            out["balance_error"] = 0.0 if imbalance == 0.0 else float("inf")
        out["tolerance"] = problem.case.solver.balance_tolerance
        return out

    def _interface_area(self, problem: Problem, i: InterfaceModel) -> float:
        """Area [m^2] of interface ``i`` (length in 2D, 1 in 1D)."""
        areas = self.__dict__.setdefault("_interface_areas", {})
        if i.name not in areas:
            areas[i.name] = problem.bundle.area(i.name)
        return areas[i.name]

    def _interface_current(
        self, problem: Problem, i: InterfaceModel, faradaic: bool = False
    ) -> float:
        """Current [A] crossing interface ``i`` (faradaic + double layer, or the faradaic
        part only), electrode to electrolyte."""
        forms = self.__dict__.setdefault("_crossing_forms", {})
        key = (i.name, faradaic)
        if key not in forms:
            density = self._faradaic(problem, i) if faradaic else self._crossing(problem, i)
            forms[key] = fem.form(density * self.dS(i.tag), entity_maps=problem.entity_maps)
        return problem.comm.allreduce(fem.assemble_scalar(forms[key]), op=MPI.SUM)

    # --- per step ------------------------------------------------------------------------
    def observe(self, problem: Problem) -> dict[str, float]:
        row: dict[str, float] = {}
        currents = {label: v for k, label, v in self._row_values(problem) if k == "boundary"}
        t = self.terminal
        if t is not None:
            row["voltage_V"] = float(t.potential.x.array[0]) - self._reference_potential()
            current_mode = float(t.current_mode.value) == 1.0
            row["current_A"] = (  # the set value under current control, else measured
                float(t.current.value) * float(problem.load.value)
                if current_mode
                else self._terminal_current(problem)
            )
            row["terminal_area_m2"] = t.area
        else:
            drive = [fp for fp in self.fixed if fp.value != self._reference_potential()]
            if drive:
                fp = drive[0]
                row["voltage_V"] = float(fp.potential.value) - self._reference_potential()
                row["current_A"] = currents[fp.boundary]
                row["terminal_area_m2"] = problem.bundle.area(fp.boundary)
        if "current_A" in row:
            row["current_density_A_m2"] = row["current_A"] / row["terminal_area_m2"]
        for b, cur in currents.items():
            row[f"current_{b}_A"] = cur
        ct_total = 0.0
        for e in self.electrodes:
            eta = self._electrode_overpotential(problem, e)
            row[f"{e.boundary}.mean_overpotential_V"] = eta
            row[f"current_{e.boundary}_A"] = self._electrode_current(problem, e)
            ct_total += abs(eta)
        for i in self.interfaces:
            stats = interface_statistics(
                self.interface_samples(problem, i),
                problem.case.outputs.current_threshold_factor,
                problem.comm,
            )
            for key, value in stats.items():
                row[f"{i.name}.{key}"] = value
            ct_total += abs(stats["mean_overpotential_V"])
        if "voltage_V" in row:
            if any(i.ocp_curve is not None for i in self.interfaces):  # U may follow x
                self._equilibrium_guess(problem, set_state=False)
            row["electrical_power_W"] = self.electrical_power(problem)
            row["charge_transfer_overpotential_V"] = ct_total
            row["open_circuit_voltage_V"] = self.open_circuit_voltage
            row["ohmic_overpotential_V"] = (
                abs(row["voltage_V"] - self.open_circuit_voltage) - ct_total
            )
            if row.get("current_density_A_m2"):
                row["area_specific_resistance_ohm_m2"] = (
                    row["voltage_V"] - self.open_circuit_voltage
                ) / row["current_density_A_m2"]
        return row

    def _reference_potential(self) -> float:
        grounds = [fp.value for fp in self.fixed] + [e.value for e in self.electrodes]
        return min(grounds, key=abs) if grounds else 0.0

    def interface_samples(self, problem: Problem, iface: InterfaceModel) -> dict[str, np.ndarray]:
        """Owned facets of ``iface``: midpoints ``x``, node coordinates ``vertices``, areas,
        overpotential ``eta`` [V], faradaic current density ``current`` [A/m^2]."""
        msh = problem.bundle.mesh
        tdim = msh.topology.dim
        d = iface.domains.reshape(-1, 4)
        if iface.molar_volume is not None:
            self._stress_cells_now(problem)  # collective (JIT, interpolation) on every rank
        if len(d) == 0:
            empty = np.zeros(0)
            nodes = {1: 1, 2: 2, 3: 3 if msh.topology.cell_name() == "tetrahedron" else 4}[tdim]
            return {
                "x": np.zeros((0, 3)),
                "vertices": np.zeros((0, nodes, 3)),
                "area": empty,
                "eta": empty,
                "current": empty,
            }
        msh.topology.create_connectivity(tdim, tdim - 1)
        c2f = msh.topology.connectivity(tdim, tdim - 1)
        facets = np.array([c2f.links(c)[lf] for c, lf in d[:, :2]], dtype=np.int32)
        x = dmesh.compute_midpoints(msh, tdim - 1, facets)
        es, ei = self.fields["electronic"], self.fields["ionic"]
        cs = es.sub.cell_map.sub_topology_to_topology(d[:, 0], inverse=True)
        ce = ei.sub.cell_map.sub_topology_to_topology(d[:, 2], inverse=True)
        phi_e = ei.u.eval(x, ce).ravel()
        side = self.film if iface.film_resistance is not None and self.film is not None else es.u
        phi_s = side.eval(x, cs).ravel()
        temperature = self.temperature_at(problem, x, d[:, 0])
        x_s = self._stoichiometry_at(problem, iface, x, d[:, 0])
        eta = phi_s - phi_e - iface.numeric().open_circuit_potential(temperature, x_s)
        driving = eta  # the rate law sees the overpotential less the stress shift
        if iface.molar_volume is not None:
            driving = eta - self._stress_shift_at(problem, iface, facets, d[:, 0])
        law = iface.law.numeric()
        factor = 1.0 if x_s is None else law.stoichiometry_factor(x_s, np.clip)
        current = np.asarray(law.current(driving, temperature, np.exp, factor), dtype=float)
        return {
            "x": x,
            "vertices": facet_vertices(msh, facets),
            "area": facet_areas(msh, facets),
            "eta": eta,
            "current": current,
        }

    def _reaction_profile(
        self,
        problem: Problem,
        samples: dict[str, dict[str, np.ndarray]],
        writer: ResultsWriter,
        bounds: np.ndarray,
    ) -> None:
        """reaction_profile.csv (and .png): where through the thickness (the last axis, 20
        slabs) the interfaces react: each slab's share of the current of all interfaces (> 0
        in the direction of its interface's net current) and the mean current density per
        slab (rank 0, gathered samples)."""
        from sse_fem.io.plots import plot_profiles
        from sse_fem.postprocess.interfaces import through_thickness

        axis = problem.bundle.dim - 1
        lo, hi = bounds[:, axis]
        profiles = {
            name: through_thickness(s, axis, REACTION_PROFILE_SLABS, (lo, hi))
            for name, s in samples.items()
        }
        total = sum(abs(p["current"].sum()) for p in profiles.values()) or 1.0
        columns = {"position_m": next(iter(profiles.values()))["position"]}
        shares = {}
        for name, p in profiles.items():
            sign = 1.0 if p["current"].sum() >= 0 else -1.0  # anodic or cathodic interface
            shares[name] = columns[f"{name}.current_share"] = sign * p["current"] / total
            columns[f"{name}.current_density_A_m2"] = p["density"]
        writer.write_table("reaction_profile.csv", columns)
        if problem.case.outputs.plots:
            axis_name = "xyz"[axis]
            plot_profiles(
                columns["position_m"],
                shares,
                writer.outdir / "reaction_profile.png",
                axis_name,
                "share of the interface current per slab",
            )

    def _stoichiometry_at(
        self, problem: Problem, iface: InterfaceModel, x: np.ndarray, cells: np.ndarray
    ) -> np.ndarray | None:
        """The provided stoichiometry of the electrode at points ``x`` in its parent
        ``cells``; None where no physics provides it."""
        name = f"stoichiometry.{iface.electrode}"
        if name not in problem.provided(name):
            return None
        field = problem.require(name, self.name)()
        owner = next(uk for uk in problem.unknowns if uk.u is field)
        assert owner.entity_map is not None
        sub_cells = owner.entity_map.sub_topology_to_topology(cells, inverse=True)
        return field.eval(x, sub_cells).ravel()

    def _stress_cells_now(self, problem: Problem) -> None:
        """The shared stress of the current state per cell (DG0 tensor; collective)."""
        if not hasattr(self, "_stress_cells"):
            space = fem.functionspace(problem.bundle.mesh, ("DG", 0, (3, 3)))
            stress = problem.require("stress", self.name)()
            self._stress_cells = (
                fem.Function(space),
                fem.Expression(stress, space.element.interpolation_points),
            )
        f, expr = self._stress_cells
        f.interpolate(expr)

    def _stress_shift_at(
        self, problem: Problem, iface: InterfaceModel, facets: np.ndarray, cells: np.ndarray
    ) -> np.ndarray:
        """Omega_M sigma_n / (z F) [V] at the facets (the stress of their electrode cells,
        cellwise constant for P1 displacements)."""
        sigma = self._stress_cells[0].x.array.reshape(-1, 3, 3)[cells]
        n = facet_normals(problem.bundle.mesh, facets, cells)
        normal = np.einsum("fi,fij,fj->f", n, sigma, n)
        law = iface.law.numeric()
        assert iface.molar_volume is not None
        return float(iface.molar_volume.value) * normal / (float(law.n) * FARADAY)

    def temperature_at(
        self, problem: Problem, x: np.ndarray, cells: np.ndarray
    ) -> float | np.ndarray:
        """Temperature [K] at points ``x`` in parent ``cells`` (a float when constant)."""
        q = problem.require("temperature", self.name)
        value = q()
        if isinstance(value, fem.Constant):
            return float(value.value)
        if isinstance(value, fem.Function):
            return value.eval(x, cells).ravel() if len(cells) else np.zeros(0)
        raise NotImplementedError("temperature given as an expression: evaluate it per facet")

    def output_functions(self, problem: Problem) -> dict[str, list[fem.Function]]:
        """Potentials (DG1) and current densities (DG0 vectors) on the parent mesh."""
        if not hasattr(self, "_out"):
            msh = problem.bundle.mesh
            gdim = msh.geometry.dim
            self._out: dict[str, list[fem.Function]] = {"potentials": [], "currents": []}
            self._transfers = []
            for carrier, f in self.fields.items():
                pot = fem.Function(fem.functionspace(msh, ("DG", 1)), name=f.name)
                cur = fem.Function(
                    fem.functionspace(msh, ("DG", 0, (gdim,))), name=f"current_density_{carrier}"
                )
                Vq = fem.functionspace(f.sub.mesh, ("DG", 0, (gdim,)))
                temperature = self._submesh_temperature(problem, f)
                expr = fem.Expression(
                    -f.sigma(temperature) * ufl.grad(f.u), Vq.element.interpolation_points
                )
                qsub = fem.Function(Vq)
                self._out["potentials"].append(pot)
                self._out["currents"].append(cur)
                self._transfers.append((f, pot, cur, expr, qsub))
        for f, pot, cur, expr, qsub in self._transfers:
            cells, parent = parent_cells(f.sub)
            pot.interpolate(f.u, cells0=cells, cells1=parent)
            copy = self._temperature_copies.get(f.carrier)
            if copy is not None:  # the shared temperature field, copied onto the submesh
                copy[0].interpolate(copy[1], cells0=parent, cells1=cells)
            qsub.interpolate(expr)
            cur.interpolate(qsub, cells0=cells, cells1=parent)
            pot.x.scatter_forward()
            cur.x.scatter_forward()
        return self._out

    def _submesh_temperature(self, problem: Problem, f: CarrierField) -> ufl.core.expr.Expr:
        """The shared temperature as an expression on the submesh of ``f``: the constant,
        or a copy of the field (refreshed by ``output_functions``)."""
        copies = self.__dict__.setdefault("_temperature_copies", {})
        q = problem.require("temperature", self.name)
        value = q()
        if q.is_constant:
            return value
        if not isinstance(value, fem.Function):
            raise NotImplementedError("temperature given as an expression: copy it per cell")
        copy = fem.Function(fem.functionspace(f.sub.mesh, value.function_space.ufl_element()))
        copies[f.carrier] = (copy, value)
        return copy

    # --- at the end ----------------------------------------------------------------------
    def finalize(self, problem: Problem, writer: ResultsWriter) -> dict[str, object]:
        """Interface tables (CSV), facet fields (VTU), time-series pictures, potential maps (2D)
        or slices through the busiest interface (3D)."""
        from sse_fem.io.plots import plot_field, plot_field_2d, plot_interfaces, plot_timeseries
        from sse_fem.io.results import write_facet_field

        comm, outdir = problem.comm, writer.outdir
        summary: dict[str, object] = {
            "clusters": {carrier: c.report() for carrier, c in self.clusters.items()}
        }
        samples = {}
        for i in self.interfaces:
            s = self.interface_samples(problem, i)
            gathered = comm.gather(s, root=0)
            if gathered is not None:  # rank 0
                s = {k: np.concatenate([g[k] for g in gathered]) for k in s}
                samples[i.name] = s
                writer.write_table(
                    f"interface_{i.name}.csv",
                    {
                        "x_m": s["x"][:, 0],
                        "y_m": s["x"][:, 1],
                        "z_m": s["x"][:, 2],
                        "area": s["area"],
                        "overpotential_V": s["eta"],
                        "current_density_A_m2": s["current"],
                    },
                )
                write_facet_field(
                    outdir / f"interface_{i.name}.vtu",
                    s["vertices"],
                    {"current_density_A_m2": s["current"], "overpotential_V": s["eta"]},
                )
        if problem.bundle.dim > 1 and self.interfaces:
            bounds = problem.bundle.bounds()  # collective
            if samples:  # rank 0
                self._reaction_profile(problem, samples, writer, bounds)
        if not problem.case.outputs.plots:
            return summary
        if comm.rank == 0:
            plot_timeseries(writer.rows, outdir, prefix=f"{self.name}.")
            plot_interfaces(samples, problem.bundle.dim, outdir)
        msh = problem.bundle.mesh
        if problem.bundle.dim == 2 and msh.topology.cell_name() == "triangle":
            self.output_functions(problem)
            outlines = region_outlines(problem.bundle)
            for f, pot, *_ in self._transfers:
                cells = problem.bundle.region_cells(f.regions)
                path = outdir / f"{pot.name}.png"
                plot_field_2d(pot, cells, path, f"{pot.name} [V]", outlines)
        elif problem.bundle.dim == 3:
            self.output_functions(problem)
            box = problem.bundle.bounds()  # collective
            busiest = _busiest_interface_height(samples, box) if comm.rank == 0 else None
            height = comm.bcast(busiest, root=0)
            for f, pot, *_ in self._transfers:
                cells = problem.bundle.region_cells(f.regions)
                path = outdir / f"{pot.name}.png"
                plot_field(pot, problem.bundle, path, f"{pot.name} [V]", cells, height=height)
        return summary


def _busiest_interface_height(samples: dict[str, dict], bounds: np.ndarray) -> float | None:
    """Rank 0: the height [m] of the slice users see in 3D: the area-weighted mean height of
    the interface carrying the most current (a hair below it, off the facet plane), or None
    (the middle) without interfaces."""
    if not samples:
        return None
    name = max(
        samples, key=lambda n: float(np.abs(samples[n]["current"] * samples[n]["area"]).sum())
    )
    s = samples[name]
    if not len(s["area"]) or s["area"].sum() <= 0:
        return None
    z = float(np.average(s["x"][:, 2], weights=s["area"]))
    lo, hi = bounds
    return z - 1e-3 * float(hi[2] - lo[2])
