"""Outputs of heat: temperatures and heat by source per step, the heat balance (conservation
check), the temperature field, and at the end the energy budget of the run and its pictures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem

if TYPE_CHECKING:
    from sse_fem.config.schema import HeatPhysics
    from sse_fem.io.results import ResultsWriter
    from sse_fem.physics.base import Problem
    from sse_fem.physics.heat.boundaries import ThermalBoundary

#: heat flow [W] below which a heat balance counts as balanced, relative to the domain's
#: conduction heat flow k T V / L^2 (a nanokelvin-scale flow)
BALANCE_FLOOR = 1e-9


class HeatOutputs:
    """Mixin of ``Heat``: everything it reports (state from the module's setup)."""

    name: str
    cfg: HeatPhysics
    T: fem.Function
    T_initial: fem.Constant
    t_initial: float
    heat_capacity: fem.Function
    conductivity: fem.Function
    boundaries: list[ThermalBoundary]

    _scalar_forms: dict[str, fem.Form]

    def sources(self, problem: Problem) -> dict[str, list[tuple[ufl.core.expr.Expr, ufl.Measure]]]:
        raise NotImplementedError  # Heat's

    # --- scalar forms --------------------------------------------------------------------
    def _forms(self, problem: Problem) -> dict[str, fem.Form]:
        """Compiled scalar forms of every reported integral (once)."""
        if hasattr(self, "_scalar_forms"):
            return self._scalar_forms
        msh = problem.bundle.mesh
        dx = ufl.dx(msh)
        emaps = problem.entity_maps or None
        T = self.T
        forms: dict[str, ufl.Form] = {
            "volume": fem.Constant(msh, 1.0) * dx,
            "temperature": T * dx,
        }
        for kind, terms in self.sources(problem).items():
            forms[f"heat_{kind}_W"] = sum((q * measure for q, measure in terms), start=0)
        for b in self.boundaries:
            if b.type == "convection":
                forms[f"out_{b.name}"] = b.h * (T - b.ambient) * b.ds
            elif b.type == "heat_flux":
                assert b.value is not None
                forms[f"out_{b.name}"] = -b.value * b.ds
        if problem.transient:
            forms["stored"] = self.heat_capacity * (T - self.T_initial) * dx
            rate = problem.ddt(lambda level: problem.state("T", level))
            forms["stored_rate"] = self.heat_capacity * rate * dx
        self._scalar_forms = {
            k: fem.form(f, entity_maps=emaps) for k, f in forms.items() if isinstance(f, ufl.Form)
        }
        return self._scalar_forms

    def _integrals(self, problem: Problem) -> dict[str, float]:
        forms = self._forms(problem)
        local = np.array([fem.assemble_scalar(f) for f in forms.values()])
        totals = problem.comm.allreduce(local, op=MPI.SUM)
        return dict(zip(forms, (float(v) for v in totals), strict=True))

    def _dirichlet_out(self, problem: Problem) -> dict[str, float]:
        """Heat [W] leaving through each fixed-temperature boundary: minus the sum of the
        residual rows of its dofs (the consistent boundary flux)."""
        rows = problem.residual_rows()["T"]
        n = len(rows)
        out = {}
        for b in self.boundaries:
            if b.bc is None:
                continue
            dofs = b.bc.dof_indices()[0]
            out[f"out_{b.name}"] = -float(rows[dofs[dofs < n]].sum())
        names = list(out)
        totals = problem.comm.allreduce(np.array([out[k] for k in names]), op=MPI.SUM)
        return dict(zip(names, (float(v) for v in totals), strict=True))

    def _balance(self, problem: Problem) -> dict[str, float]:
        """Heat flows [W] of the current state: by source, out by boundary, stored."""
        values = self._integrals(problem) | self._dirichlet_out(problem)
        out = {k: v for k, v in values.items() if k.startswith("heat_")}
        out["heat_generated_W"] = sum(out.values())
        for b in self.boundaries:
            out[f"heat_out_{b.name}_W"] = values[f"out_{b.name}"]
        out["heat_out_W"] = sum(values[f"out_{b.name}"] for b in self.boundaries)
        if problem.transient:
            out["heat_stored_J"] = values["stored"]
            out["heat_storage_rate_W"] = values["stored_rate"]
        out["_volume"] = values["volume"]
        out["_temperature_integral"] = values["temperature"]
        return out

    # --- per step ------------------------------------------------------------------------
    def observe(self, problem: Problem) -> dict[str, float]:
        n = self.T.function_space.dofmap.index_map.size_local
        owned = self.T.x.array[:n]
        big = np.finfo(float).max
        t_max = problem.comm.allreduce(float(owned.max()) if n else -big, op=MPI.MAX)
        t_min = problem.comm.allreduce(float(owned.min()) if n else big, op=MPI.MIN)
        balance = self._balance(problem)
        row = {
            "max_temperature_K": t_max,
            "min_temperature_K": t_min,
            "mean_temperature_K": balance.pop("_temperature_integral") / balance.pop("_volume"),
        }
        row |= balance
        power = problem.scalar("electrical_power", self.name)
        if power is not None:
            row["electrical_power_W"] = power()
        return row

    def conservation(self, problem: Problem) -> dict[str, float]:
        """Heat balance of the step: generated = out + stored (rate, BDF), relative to the
        largest of them. The initial state of a transient run holds its initial condition
        (no balance to check)."""
        tolerance = problem.case.solver.balance_tolerance
        if problem.transient and float(problem.initial.value) == 1.0:
            return {"balance_error": 0.0, "tolerance": tolerance}
        b = self._balance(problem)
        generated, out = b["heat_generated_W"], b["heat_out_W"]
        stored = b.get("heat_storage_rate_W", 0.0)
        floor = BALANCE_FLOOR * self._flow_scale(problem, b["_volume"])
        reference = max(abs(generated), abs(out), abs(stored), floor)
        return {
            "heat_generated_W": generated,
            "heat_out_W": out,
            "heat_storage_rate_W": stored,
            "balance_error": abs(generated - out - stored) / reference,
            "tolerance": tolerance,
        }

    def _flow_scale(self, problem: Problem, volume: float) -> float:
        """k T V / L^2 [W]: the heat flow of a temperature difference T over the domain."""
        length = problem.bundle.extent()
        k = problem.comm.allreduce(float(self.conductivity.x.array.max(initial=0.0)), op=MPI.MAX)
        return k * self.t_initial * volume / length**2

    def output_functions(self, problem: Problem) -> dict[str, list[fem.Function]]:
        """The temperature field [K] (P1 on the parent mesh)."""
        return {"temperature": [self.T]}

    # --- at the end ----------------------------------------------------------------------
    def energy_budget(self, problem: Problem, rows: list[dict]) -> dict[str, float]:
        """Energies [J] of the run from its time series (each step's flows times its step,
        as backward Euler accumulates them): electrical work in, heat by source, heat out,
        heat stored, the electrical work not turned into heat (stored chemically or in double
        layers) and the relative miss of generated = out + stored."""
        p = f"{self.name}."
        steps = [r for r in rows if r.get("dt_s", 0.0) > 0]
        if not steps:
            return {}

        def total(column: str) -> float:
            return float(sum(r.get(column, 0.0) * r["dt_s"] for r in steps))

        kinds = list(self.sources(problem))
        out = {f"heat_{kind}_J": total(f"{p}heat_{kind}_W") for kind in kinds}
        out["heat_generated_J"] = total(f"{p}heat_generated_W")
        out["heat_out_J"] = total(f"{p}heat_out_W")
        out["heat_stored_J"] = float(rows[-1].get(f"{p}heat_stored_J", 0.0))
        if f"{p}electrical_power_W" in rows[-1]:
            out["electrical_work_J"] = total(f"{p}electrical_power_W")
            out["electrical_work_not_heat_J"] = out["electrical_work_J"] - out["heat_generated_J"]
        reference = max(abs(out["heat_generated_J"]), abs(out["heat_out_J"]), 1e-300)
        out["balance_error"] = (
            abs(out["heat_generated_J"] - out["heat_out_J"] - out["heat_stored_J"]) / reference
        )
        return out

    def finalize(self, problem: Problem, writer: ResultsWriter) -> dict[str, object]:
        """Energy budget and peak temperature (summary), temperature picture and time
        series (PNG)."""
        from sse_fem.io.plots import plot_field, plot_heat_timeseries

        rows = writer.rows
        p = f"{self.name}."
        peak = max((r.get(f"{p}max_temperature_K", -np.inf) for r in rows), default=None)
        summary: dict[str, object] = {}
        if peak is not None and np.isfinite(peak):
            summary["peak_temperature_K"] = peak
            summary["peak_temperature_rise_K"] = peak - self.t_initial
        if problem.transient:
            summary["energy_budget"] = self.energy_budget(problem, rows)
        if not problem.case.outputs.plots:
            return summary
        if problem.comm.rank == 0:
            plot_heat_timeseries(rows, writer.outdir, prefix=p)
        plot_field(self.T, problem.bundle, writer.outdir / "temperature.png", "temperature [K]")
        return summary
