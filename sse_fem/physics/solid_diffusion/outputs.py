"""Observations, balances and pictures of solid diffusion (mixed into ``SolidDiffusion``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh

from sse_fem.mesh.bundle import parent_cells
from sse_fem.mesh.components import (
    cell_components,
    cell_volumes,
    component_ids,
    connected_components,
    sum_by_component,
)
from sse_fem.physics.kinetics import FARADAY

if TYPE_CHECKING:
    from sse_fem.io.results import ResultsWriter
    from sse_fem.mesh import SubMesh
    from sse_fem.physics.base import Problem
    from sse_fem.physics.solid_diffusion.particles import ParticleRegion
    from sse_fem.quantities import SharedQuantity

#: a particle whose stoichiometry changed by less than this fraction of the largest change
UNUSED_FRACTION = 0.05
#: storage-rate floor of the balance, as a change of stoichiometry per step [-]
BALANCE_FLOOR_STOICHIOMETRY = 1e-9


class SolidDiffusionOutputs:
    """Stoichiometry statistics, the ion balance of every step and the run's capacity."""

    name: str
    x: fem.Function
    sub: SubMesh
    x0: float
    x_initial: fem.Constant
    z: fem.Constant
    particles: list[ParticleRegion]
    regions: tuple[str, ...]
    weight: ufl.core.expr.Expr | float
    spherical: bool
    centre: float  # [m] of a 1D spherical particle
    dx: ufl.Measure
    fluxes: list[tuple[str, fem.Constant, ufl.Measure]]
    capacity: float
    _volumes: list[float]

    _compiled: dict[str, list[fem.Form]]
    _particles: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]

    def interface_fluxes(self, problem: Problem) -> list[tuple[str, SharedQuantity]]:
        raise NotImplementedError  # SolidDiffusion

    def _forms(self, problem: Problem) -> dict[str, list[fem.Form]]:
        """Compiled once: amount of ions per region [mol], storage rate [mol/s], outflow
        through each interface and inflow through each flux boundary [mol/s]."""
        if hasattr(self, "_compiled"):
            return self._compiled
        x = self.x
        rate = problem.ddt(lambda level: problem.state("x_s", level))
        emap = problem.entity_maps
        out: dict[str, list[fem.Form]] = {"amount": [], "storage": [], "out": [], "in": []}
        for p in self.particles:
            out["amount"].append(
                fem.form(p.c_max * x * self.weight * self.dx(p.tag), entity_maps=emap)
            )
            if problem.transient:
                out["storage"].append(
                    fem.form(p.c_max * rate * self.weight * self.dx(p.tag), entity_maps=emap)
                )
        for _, q in self.interface_fluxes(problem):
            out["out"].append(fem.form(q() / (self.z * FARADAY) * q.measure, entity_maps=emap))
        for _, flux, ds in self.fluxes:
            out["in"].append(fem.form(flux * self.weight * ds, entity_maps=emap))
        self._compiled = out
        return out

    @staticmethod
    def _sum(problem: Problem, forms: list[fem.Form]) -> list[float]:
        local = np.array([fem.assemble_scalar(f) for f in forms], dtype=float)
        total = np.zeros_like(local)
        problem.comm.Allreduce(local, total, op=MPI.SUM)
        return list(total)

    def amounts(self, problem: Problem) -> list[float]:
        """Ions in each particle region [mol]."""
        return self._sum(problem, self._forms(problem)["amount"])

    def observe(self, problem: Problem) -> dict[str, float]:
        amounts = self.amounts(problem)
        c_v = [float(p.c_max.value) * v for p, v in zip(self.particles, self._volumes, strict=True)]
        row = {
            "mean_stoichiometry": sum(amounts) / sum(c_v),
            "inserted_charge_C": float(self.z.value)
            * FARADAY
            * (sum(amounts) - self.x0 * sum(c_v)),
        }
        row["min_stoichiometry"], row["max_stoichiometry"] = self.extremes(problem)
        if len(self.particles) > 1:
            for p, a, cv in zip(self.particles, amounts, c_v, strict=True):
                row[f"{p.name}.mean_stoichiometry"] = a / cv
        return row

    def extremes(self, problem: Problem) -> tuple[float, float]:
        """(min, max) of the stoichiometry over the particles (collective)."""
        n = self.x.function_space.dofmap.index_map.size_local
        owned = self.x.x.array[:n]
        extremes = np.array([-owned.min(initial=np.inf), owned.max(initial=-np.inf)])
        problem.comm.Allreduce(MPI.IN_PLACE, extremes, op=MPI.MAX)
        return float(-extremes[0]), float(extremes[1])

    def check_state(self, problem: Problem) -> str | None:
        """A stoichiometry outside [0, 1]: the particles are full or empty (an open-circuit
        curve extended beyond its data would go on giving voltages)."""
        low, high = self.extremes(problem)
        if low >= 0.0 and high <= 1.0:
            return None
        which = f"full (x = {high:.6g} > 1)" if high > 1.0 else f"empty (x = {low:.6g} < 0)"
        return (
            f"the particles are {which}: no capacity is left; end the protocol step before "
            "(a voltage cut-off: time.protocol[*].until_voltage_below / _above, or a shorter "
            "duration)"
        )

    def conservation(self, problem: Problem) -> dict[str, float]:
        """Ion balance of the step: storage rate + outflow through interfaces = inflow
        through flux boundaries [mol/s], relative to the largest of them (floor: a change of
        the stoichiometry of 1e-9 per step)."""
        tolerance = problem.case.solver.balance_tolerance
        if float(problem.initial.value) == 1.0:
            return {"balance_error": 0.0, "tolerance": tolerance}
        forms = self._forms(problem)
        storage = sum(self._sum(problem, forms["storage"]))
        outflow = sum(self._sum(problem, forms["out"]))
        inflow = sum(self._sum(problem, forms["in"]))
        c_v = sum(
            float(p.c_max.value) * v for p, v in zip(self.particles, self._volumes, strict=True)
        )
        floor = BALANCE_FLOOR_STOICHIOMETRY * c_v / float(problem.dt.value)
        reference = max(abs(storage), abs(outflow), abs(inflow), floor)
        return {
            "storage_rate_mol_s": storage,
            "interface_outflow_mol_s": outflow,
            "boundary_inflow_mol_s": inflow,
            "balance_error": abs(storage + outflow - inflow) / reference,
            "tolerance": tolerance,
        }

    def output_functions(self, problem: Problem) -> dict[str, list[fem.Function]]:
        """The stoichiometry x [-] on the parent mesh (DG1; 0 outside the particles)."""
        if not hasattr(self, "_x_parent"):
            space = fem.functionspace(problem.bundle.mesh, ("DG", 1))
            self._x_parent = fem.Function(space, name="stoichiometry")
        cells, parent = parent_cells(self.sub)
        self._x_parent.interpolate(self.x, cells0=cells, cells1=parent)
        self._x_parent.x.scatter_forward()
        return {"stoichiometry": [self._x_parent]}

    def particle_table(self, problem: Problem) -> dict[str, np.ndarray]:
        """Per particle (connected cluster of particle cells: touching particles share
        their ions): volume [m^dim], centroid [m] and mean stoichiometry (collective)."""
        V = self.x.function_space
        if not hasattr(self, "_particles"):
            labels = connected_components(V)
            ids = component_ids(labels, V.dofmap.index_map.size_local, problem.comm)
            mesh = V.mesh
            n = mesh.topology.index_map(mesh.topology.dim).size_local
            keys = cell_components(V, labels)[:n]
            volumes = cell_volumes(V, self.spherical, self.centre)
            centres = dmesh.compute_midpoints(mesh, mesh.topology.dim, np.arange(n, dtype=np.int32))
            sums = sum_by_component(
                keys, np.column_stack([volumes, volumes[:, None] * centres]), ids, problem.comm
            )
            self._particles = (keys, volumes, ids, sums[:, 0], sums[:, 1:] / sums[:, :1])
        keys, volumes, ids, volume, centroid = self._particles
        n = len(keys)
        cell_mean = self.x.x.array[V.dofmap.list[:n]].mean(axis=1)  # exact for P1 simplices
        amount = sum_by_component(keys, volumes * cell_mean, ids, problem.comm)
        return {"volume": volume, "centroid": centroid, "stoichiometry": amount / volume}

    def finalize(self, problem: Problem, writer: ResultsWriter) -> dict[str, object]:
        """Capacity, delivered charge and utilisation; per particle its final stoichiometry
        (``particles.csv``; unused: changed by less than 5 % of the most changed); the
        voltage-capacity curve and the stoichiometry map (2D) or slice (3D, through the particle
        that changed most)."""
        table = self.particle_table(problem)
        change = table["stoichiometry"] - self.x0
        largest = np.abs(change).max(initial=0.0)
        unused = np.abs(change) < UNUSED_FRACTION * largest if largest > 0 else change == change
        writer.write_table(
            "particles.csv",
            {
                "particle": np.arange(len(change)),
                "volume_m3": table["volume"],
                "x_m": table["centroid"][:, 0],
                "y_m": table["centroid"][:, 1],
                "z_m": table["centroid"][:, 2],
                "stoichiometry": table["stoichiometry"],
                "change": change,
                "unused": unused.astype(int),
            },
        )
        rows = writer.rows
        inserted = rows[-1].get(f"{self.name}.inserted_charge_C", 0.0) if rows else 0.0
        out: dict[str, object] = {
            "capacity_Ah": self.capacity / 3600.0,
            "one_c_current_A": self.capacity / 3600.0,
            "delivered_charge_Ah": abs(inserted) / 3600.0,
            "utilisation": abs(inserted) / self.capacity if self.capacity > 0 else 0.0,
            "initial_stoichiometry": self.x0,
            "particles": len(change),
            "unused_particles": int(unused.sum()),
            "unused_volume_fraction": float(table["volume"][unused].sum() / table["volume"].sum()),
        }
        if problem.case.outputs.plots:
            from sse_fem.io.plots import plot_field, plot_voltage_capacity

            if problem.comm.rank == 0 and len(rows) > 1:
                plot_voltage_capacity(rows, f"{self.name}.inserted_charge_C", writer.outdir)
            (x,) = self.output_functions(problem)["stoichiometry"]
            cells = problem.bundle.region_cells(self.regions)
            label = "stoichiometry x = c / c_max [-]"
            # 3D: the slice through the particle whose state changed most
            height = float(table["centroid"][np.argmax(np.abs(change)), 2]) if len(change) else None
            path = writer.outdir / "stoichiometry.png"
            plot_field(x, problem.bundle, path, label, cells, height=height)
        return out
