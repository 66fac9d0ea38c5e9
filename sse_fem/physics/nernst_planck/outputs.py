"""Observations, balances, fields, profiles and figures of merit of Nernst-Planck/Poisson
(mixed into ``NernstPlanck``)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem

from sse_fem.mesh.bundle import parent_cells
from sse_fem.physics.kinetics import FARADAY
from sse_fem.postprocess.profiles import evaluate, profile_positions

if TYPE_CHECKING:
    from sse_fem.io.results import ResultsWriter
    from sse_fem.mesh import SubMesh
    from sse_fem.physics.base import Problem
    from sse_fem.physics.nernst_planck.conditions import PotentialCondition
    from sse_fem.physics.nernst_planck.species import MobileIon

#: a space-charge layer ends where |c - c_bulk| falls below this fraction of c_bulk
LAYER_THRESHOLD = 0.01
#: storage-rate floor of the ion balance, as a relative change of the amount per step [-];
#: at least the Newton tolerance over the balance tolerance (a converged state sums its
#: rows, the net storage, to about the Newton tolerance times the amount)
BALANCE_FLOOR = 1e-6


class NernstPlanckOutputs:
    """Surface charges, ion balances, ParaView fields and profiles across the cell."""

    name: str
    ions: list[MobileIon]
    phi: fem.Function
    sub: SubMesh
    tags: tuple[int, ...]
    c_ref: fem.Constant
    poisson_scale: fem.Constant
    potentials: list[PotentialCondition]
    multipliers: dict[str, fem.Function]
    debye_lengths: dict[str, float]
    _compiled: dict[str, list[fem.Form]]

    @staticmethod
    def concentration_at(problem: Problem, ion: MobileIon, level: int = 0) -> ufl.core.expr.Expr:
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

    def concentration_range(self, problem: Problem, ion: MobileIon) -> tuple[float, float]:
        """(min, max) of the ion's concentration [mol/m^3] at its dofs (collective)."""
        n = ion.u.function_space.dofmap.index_map.size_local
        owned = ion.u.x.array[:n]
        extremes = np.array([-owned.min(initial=np.inf), owned.max(initial=-np.inf)])
        problem.comm.Allreduce(MPI.IN_PLACE, extremes, op=MPI.MAX)
        return ion.concentration_value(-extremes[0]), ion.concentration_value(extremes[1])

    def observe(self, problem: Problem) -> dict[str, float]:
        row: dict[str, float] = {}
        terminal = next((p for p in self.potentials if p.terminal), None)
        if terminal is not None:
            row["voltage_V"] = float(terminal.potential.value)
        for boundary, q in self.surface_charges(problem).items():
            row[f"{boundary}.surface_charge_C_m2"] = q
        for ion in self.ions:
            low, high = self.concentration_range(problem, ion)
            row[f"{ion.slug}.min_concentration_mol_m3"] = low
            row[f"{ion.slug}.max_concentration_mol_m3"] = high
        return row

    def _forms(self, problem: Problem) -> dict[str, list[fem.Form]]:
        """Compiled once per ion: amount [mol], storage rate [mol/s] (net, and gross: the
        rate at which ions are redistributed), inflow through flux boundaries and sources
        [mol/s]."""
        if hasattr(self, "_compiled"):
            return self._compiled
        bundle = problem.bundle
        dx, emap = bundle.dx(), problem.entity_maps
        out: dict[str, list[fem.Form]] = {"amount": [], "storage": [], "moved": [], "in": []}
        for ion in self.ions:
            out["amount"].append(
                fem.form(ion.concentration(ion.u) * dx(ion.tags), entity_maps=emap)
            )
            rate = problem.ddt(partial(self.concentration_at, problem, ion))
            out["storage"].append(fem.form(rate * dx(ion.tags), entity_maps=emap))
            out["moved"].append(fem.form(abs(rate) * dx(ion.tags), entity_maps=emap))
            inflow = fem.Constant(bundle.mesh, 0.0) * dx(ion.tags)
            for b in problem.case.boundary_conditions.nernst_planck:
                if ion.name in b.flux:
                    flux = fem.Constant(bundle.mesh, b.flux[ion.name])
                    inflow += flux * bundle.boundary_part(b.name, ion.regions)
            source = f"ion_source.{ion.name}"
            if source in problem.provided(source):
                q = problem.require(source, self.name)
                inflow += q() * q.measure
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
        rate, floor ``BALANCE_FLOOR`` of the amount per step); steady, its amount is the
        initial one."""
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
        errors = []
        for k, ion in enumerate(self.ions):
            out[f"{ion.slug}.amount_mol"] = float(amounts[k])
            if ion.name in reservoir:
                continue
            if storage is None:
                initial = ion.initial * self._volume(problem, ion)
                errors.append(abs(amounts[k] - initial) / initial)
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

    def _volume(self, problem: Problem, ion: MobileIon) -> float:
        return sum(problem.bundle.volume(r) for r in ion.regions)

    # --- fields and pictures -------------------------------------------------------------
    def _submesh_fields(self, problem: Problem) -> list[tuple[fem.Function, fem.Expression | None]]:
        """(P1 function on its submesh, expression it is interpolated from): the potential
        [V] and each ion's concentration [mol/m^3]."""
        if not hasattr(self, "_fields"):
            self._fields: list[tuple[fem.Function, fem.Expression | None]] = [(self.phi, None)]
            for ion in self.ions:
                V = ion.u.function_space
                c = fem.Function(V, name=f"c_{ion.slug}")
                expr = fem.Expression(ion.concentration(ion.u), V.element.interpolation_points)
                self._fields.append((c, expr))
        for f, expr in self._fields:
            if expr is not None:
                f.interpolate(expr)
        return self._fields

    def output_functions(self, problem: Problem) -> dict[str, list[fem.Function]]:
        """The potential [V] and the concentrations [mol/m^3] on the parent mesh (DG1; 0
        outside their regions)."""
        fields = self._submesh_fields(problem)
        if not hasattr(self, "_parents"):
            space = fem.functionspace(problem.bundle.mesh, ("DG", 1))
            self._parents = [
                fem.Function(space, name="phi" if f is self.phi else f.name) for f, _ in fields
            ]
        for parent_f, (f, _) in zip(self._parents, fields, strict=True):
            cells, parent = parent_cells(self.sub if f is self.phi else self._sub_of(f))
            parent_f.interpolate(f, cells0=cells, cells1=parent)
            parent_f.x.scatter_forward()
        return {"potential": self._parents[:1], "concentrations": self._parents[1:]}

    def _sub_of(self, f: fem.Function) -> SubMesh:
        return next(i.sub for i in self.ions if i.u.function_space.mesh is f.function_space.mesh)

    def profiles(self, problem: Problem) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Position [m] along the last axis through the centre, and the potential [V] and
        concentrations [mol/m^3] there (NaN outside their regions)."""
        bundle = problem.bundle
        axis = bundle.dim - 1
        points = profile_positions(bundle, axis)
        values = {}
        for f, _ in self._submesh_fields(problem):
            values["phi_V" if f is self.phi else f"{f.name}_mol_m3"] = evaluate(
                f, points, problem.comm
            )
        return points[:, axis], values

    def boundary_positions(self, problem: Problem, axis: int) -> dict[str, float]:
        """Mean coordinate [m] along ``axis`` of every boundary of fixed potential."""
        coords = self.phi.function_space.tabulate_dof_coordinates()[:, axis]
        n = self.phi.function_space.dofmap.index_map.size_local
        sums = np.array(
            [[coords[p.dofs[p.dofs < n]].sum(), (p.dofs < n).sum()] for p in self.potentials]
        ).reshape(-1, 2)
        problem.comm.Allreduce(MPI.IN_PLACE, sums, op=MPI.SUM)
        return {
            p.boundary: float(total / count)
            for p, (total, count) in zip(self.potentials, sums, strict=True)
            if count > 0
        }

    @staticmethod
    def layer(position: np.ndarray, values: dict[str, np.ndarray], at_start: bool) -> dict:
        """The space-charge layer at one end of a profile: its width [m] (the first distance
        where every ion is within 1 % of its bulk value, at the profile's middle) and the
        potential drop across it [V] (wall minus bulk)."""
        mid = int(np.argmin(np.abs(position - 0.5 * (position[0] + position[-1]))))
        part = slice(0, mid + 1) if at_start else slice(len(position) - 1, mid - 1, -1)
        x = position[part]
        within = np.ones(len(x), dtype=bool)
        for key, c in values.items():
            if key.startswith("c_"):
                within &= np.abs(c[part] - c[mid]) <= LAYER_THRESHOLD * abs(c[mid])
        outside = np.nonzero(~within)[0]
        width = float(abs(x[outside[-1] + 1] - x[0])) if len(outside) else 0.0
        phi = values["phi_V"][part]
        return {"space_charge_width_m": width, "potential_drop_V": float(phi[0] - phi[-1])}

    def finalize(self, problem: Problem, writer: ResultsWriter) -> dict[str, object]:
        """Debye lengths, the final surface charge on every boundary of fixed potential and
        the space-charge layer there (where the boundary is an end of the profile), extreme
        concentrations; ``profiles.csv`` and the profile pictures."""
        position, values = self.profiles(problem)
        writer.write_table("profiles.csv", {"position_m": position, **values})
        out: dict[str, object] = {
            f"{region}.debye_length_m": length for region, length in self.debye_lengths.items()
        }
        charges = self.surface_charges(problem)
        ends = (position[0], position[-1])
        for boundary, x in self.boundary_positions(problem, problem.bundle.dim - 1).items():
            out[f"{boundary}.surface_charge_C_m2"] = charges[boundary]
            nearest = min(abs(x - ends[0]), abs(x - ends[1]))
            if nearest <= 1e-9 * max(abs(ends[1] - ends[0]), 1e-300):
                layer = self.layer(position, values, abs(x - ends[0]) <= abs(x - ends[1]))
                out |= {f"{boundary}.{key}": value for key, value in layer.items()}
        for ion in self.ions:
            low, high = self.concentration_range(problem, ion)
            out[f"{ion.slug}.min_concentration_mol_m3"] = low
            out[f"{ion.slug}.max_concentration_mol_m3"] = high
        if problem.case.outputs.plots and problem.comm.rank == 0:
            from sse_fem.io.plots import plot_columns, plot_profiles

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
            plot_profiles(
                position,
                {"phi": values["phi_V"]},
                writer.outdir / "potential_profile.png",
                axis,
                "potential [V]",
            )
            concentrations = {ion.name: values[f"c_{ion.slug}_mol_m3"] for ion in self.ions}
            spread = [np.nanmax(c) / np.nanmin(c) for c in concentrations.values()]
            plot_profiles(
                position,
                concentrations,
                writer.outdir / "concentration_profile.png",
                axis,
                "concentration [mol/m³]",
                log=max(spread) > 10,
            )
        return out


__all__ = ["NernstPlanckOutputs"]
