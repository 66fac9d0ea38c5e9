"""Outputs of mechanics: stress measures and their maxima with where they occur, strain energy,
the force balance (conservation check), fields for ParaView and the final pictures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh

from sse_fem.postprocess.interfaces import (
    facet_areas,
    facet_normals,
    facet_vertices,
)

if TYPE_CHECKING:
    from sse_fem.config.schema import MechanicsPhysics
    from sse_fem.io.results import ResultsWriter
    from sse_fem.physics.base import Problem
    from sse_fem.physics.mechanics.boundaries import MechanicalBoundary

#: force [N] below which a force balance counts as balanced: E L^(d-1) times this strain
BALANCE_FLOOR_STRAIN = 1e-12
AXES = "xyz"


class MechanicsOutputs:
    """Mixin of ``Mechanics``: everything it reports (state from the module's setup)."""

    name: str
    cfg: MechanicsPhysics
    gdim: int
    u: fem.Function
    E: fem.Function
    boundaries: list[MechanicalBoundary]
    _fields: dict[str, tuple[fem.Function, fem.Expression]]
    _cell_volumes: np.ndarray
    _principal: fem.Function
    _forms: dict[str, fem.Form]

    def stress_3d(self, problem: Problem, level: int = 0) -> ufl.core.expr.Expr:
        raise NotImplementedError  # Mechanics'

    def eigenstrain(
        self, problem: Problem, level: int = 0, field: ufl.core.expr.Expr | None = None
    ) -> ufl.core.expr.Expr:
        raise NotImplementedError  # Mechanics'

    def refresh_field_strain(self, problem: Problem) -> None:
        raise NotImplementedError  # Mechanics'

    # --- derived fields ------------------------------------------------------------------
    def _stress_measures(self, problem: Problem) -> dict[str, ufl.core.expr.Expr]:
        s = self.stress_3d(problem)
        dev = s - ufl.tr(s) / 3 * ufl.Identity(3)
        return {
            "von_mises_stress": ufl.sqrt(1.5 * ufl.inner(dev, dev)),
            "hydrostatic_stress": ufl.tr(s) / 3,
        }

    def derived_fields(self, problem: Problem) -> dict[str, fem.Function]:
        """Von Mises and hydrostatic stress [Pa], the stress tensor and the principal
        stresses (largest first), per cell (DG0), of the current state."""
        self.refresh_field_strain(problem)
        if not hasattr(self, "_fields"):
            msh = problem.bundle.mesh
            Q = fem.functionspace(msh, ("DG", 0))
            T = fem.functionspace(msh, ("DG", 0, (3, 3)))
            self._fields = {}
            exprs = self._stress_measures(problem) | {"stress": self.stress_3d(problem)}
            for name, expr in exprs.items():
                f = fem.Function(T if name == "stress" else Q, name=name)
                space = f.function_space
                self._fields[name] = (f, fem.Expression(expr, space.element.interpolation_points))
            V3 = fem.functionspace(msh, ("DG", 0, (3,)))
            self._principal = fem.Function(V3, name="principal_stresses")
        for f, expr in self._fields.values():
            f.interpolate(expr)
            f.x.scatter_forward()
        # principal stresses, largest first (eigenvalues of each cell's symmetric tensor)
        tensors = self._fields["stress"][0].x.array.reshape(-1, 3, 3)
        principal = np.linalg.eigvalsh(0.5 * (tensors + tensors.transpose(0, 2, 1)))[:, ::-1]
        self._principal.x.array[:] = principal.ravel()
        out = {name: f for name, (f, _) in self._fields.items()}
        return out | {"principal_stresses": self._principal}

    def _extreme(self, problem: Problem, f: fem.Function, largest: bool) -> tuple[float, list]:
        """Largest (or smallest) cell value of a DG0 field and the cell's midpoint [m]."""
        msh = problem.bundle.mesh
        n = msh.topology.index_map(msh.topology.dim).size_local
        values = f.x.array[:n]
        if n:
            k = int(np.argmax(values) if largest else np.argmin(values))
            value = float(values[k])
            where = dmesh.compute_midpoints(msh, msh.topology.dim, np.array([k], np.int32))[0]
        else:
            value, where = (-np.inf if largest else np.inf), np.zeros(3)
        pairs = problem.comm.allgather((value, where.tolist()))
        return (max if largest else min)(pairs, key=lambda p: p[0])

    def interface_tractions(self, problem: Problem) -> dict[str, dict[str, np.ndarray]]:
        """Every interface of the mesh between two regions: owned facets' midpoints ``x``,
        node coordinates ``vertices``, ``area``, ``normal`` traction (tension > 0) and the
        ``shear`` traction magnitude [Pa], from the mean of both sides' cell stresses; the
        normal points from the first region (by name) to the second."""
        bundle = problem.bundle
        msh = bundle.mesh
        tdim = msh.topology.dim
        msh.topology.create_connectivity(tdim, tdim - 1)
        c2f = msh.topology.connectivity(tdim, tdim - 1)
        stress = self.derived_fields(problem)["stress"].x.array.reshape(-1, 3, 3)
        tags = bundle.cell_region_tags()
        out = {}
        for name in bundle.interfaces:
            d = np.asarray(
                fem.compute_integration_domains(
                    fem.IntegralType.interior_facet, msh.topology, bundle.facets(name)
                )
            ).reshape(-1, 4)
            first = min(problem.comm.allgather(int(tags[d[:, [0, 2]]].min()) if len(d) else 2**31))
            flip = tags[d[:, 0]] != first
            d[flip] = d[flip][:, [2, 3, 0, 1]]
            facets = np.array([c2f.links(c)[lf] for c, lf in d[:, :2]], dtype=np.int32)
            n = facet_normals(msh, facets, d[:, 0]) if len(d) else np.zeros((0, 3))
            sigma = 0.5 * (stress[d[:, 0]] + stress[d[:, 2]])
            t = np.einsum("fij,fj->fi", sigma, n)
            normal = np.einsum("fi,fi->f", t, n)
            out[name] = {
                "x": dmesh.compute_midpoints(msh, tdim - 1, facets) if len(d) else np.zeros((0, 3)),
                "vertices": facet_vertices(msh, facets),
                "area": facet_areas(msh, facets),
                "normal": normal,
                "shear": np.linalg.norm(t - normal[:, None] * n, axis=1),
            }
        return out

    # --- per step ------------------------------------------------------------------------
    def observe(self, problem: Problem) -> dict[str, float]:
        fields = self.derived_fields(problem)
        row: dict[str, float] = {}
        for label, name, largest in (
            ("max_von_mises_stress_Pa", "von_mises_stress", True),
            ("max_hydrostatic_stress_Pa", "hydrostatic_stress", True),
            ("min_hydrostatic_stress_Pa", "hydrostatic_stress", False),
        ):
            value, where = self._extreme(problem, fields[name], largest)
            row[label] = value
            for axis in range(self.gdim):
                row[f"{label.removesuffix('_Pa')}_{AXES[axis]}_m"] = where[axis]
        n = self.u.function_space.dofmap.index_map.size_local * self.gdim
        local = float(np.abs(self.u.x.array[:n]).max(initial=0.0))
        row["max_displacement_m"] = problem.comm.allreduce(local, op=MPI.MAX)
        n_cells = problem.bundle.mesh.topology.index_map(problem.bundle.dim).size_local
        first = fields["principal_stresses"].x.array.reshape(-1, 3)[:n_cells, 0]
        row["max_principal_stress_Pa"] = problem.comm.allreduce(
            float(first.max(initial=-np.inf)), op=MPI.MAX
        )
        row |= self._region_tension(problem, fields["hydrostatic_stress"])
        for name, t in self.interface_tractions(problem).items():
            k = int(np.argmax(t["normal"])) if len(t["normal"]) else -1
            value = float(t["normal"][k]) if k >= 0 else -np.inf
            where = t["x"][k].tolist() if k >= 0 else [0.0, 0.0, 0.0]
            value, where = max(problem.comm.allgather((value, where)), key=lambda p: p[0])
            row[f"{name}.max_normal_traction_Pa"] = value
            for axis in range(self.gdim):
                row[f"{name}.max_normal_traction_{AXES[axis]}_m"] = where[axis]
        row["strain_energy_J"] = self._integral(problem, "strain_energy")
        return row

    def _region_tension(self, problem: Problem, hydrostatic: fem.Function) -> dict[str, float]:
        """Per region: the largest hydrostatic stress [Pa] (mesh-dependent at sharp
        contacts), its volume-weighted 99th percentile (robust) and the volume fraction in
        hydrostatic tension."""
        bundle = problem.bundle
        msh = bundle.mesh
        tdim = msh.topology.dim
        n = msh.topology.index_map(tdim).size_local
        if not hasattr(self, "_cell_volumes"):
            Q = hydrostatic.function_space
            volume = fem.Function(Q)
            w = ufl.TestFunction(Q)
            vec = fem.assemble_vector(fem.form(w * ufl.dx(msh)))
            volume.x.array[:n] = vec.array[:n]
            self._cell_volumes = volume.x.array[:n].copy()
        tags = bundle.cell_region_tags()[:n]
        out = {}
        for region, tag in bundle.regions.items():
            mine = tags == tag
            parts = problem.comm.gather(
                (hydrostatic.x.array[:n][mine], self._cell_volumes[mine]), root=0
            )
            stats = None
            if parts is not None:
                values = np.concatenate([p[0] for p in parts])
                volumes = np.concatenate([p[1] for p in parts])
                if len(values):
                    order = np.argsort(values)
                    cumulative = np.cumsum(volumes[order]) / volumes.sum()
                    p99 = float(values[order][np.searchsorted(cumulative, 0.99)])
                    tension = float(volumes[values > 0].sum() / volumes.sum())
                    stats = (float(values.max()), p99, tension)
            stats = problem.comm.bcast(stats, root=0)
            if stats is not None:
                out[f"{region}.max_hydrostatic_stress_Pa"] = stats[0]
                out[f"{region}.p99_hydrostatic_stress_Pa"] = stats[1]
                out[f"{region}.tension_volume_fraction"] = stats[2]
        return out

    def _integral(self, problem: Problem, name: str) -> float:
        if not hasattr(self, "_forms"):
            s = self.stress_3d(problem)
            eps = ufl.sym(ufl.grad(self.u))
            e3 = ufl.as_matrix(
                [
                    [eps[i, j] if i < self.gdim and j < self.gdim else 0 for j in range(3)]
                    for i in range(3)
                ]
            )
            elastic = e3 - self.eigenstrain(problem) * ufl.Identity(3)
            if self.gdim == 2 and self.cfg.formulation == "plane_stress":
                elastic = ufl.as_matrix(
                    [[elastic[i, j] if i < 2 and j < 2 else 0 for j in range(3)] for i in range(3)]
                )
            if self.gdim == 1:
                elastic = ufl.as_matrix([[elastic[0, 0], 0, 0], [0, 0, 0], [0, 0, 0]])
            dx = ufl.dx(problem.bundle.mesh)
            forms = {"strain_energy": 0.5 * ufl.inner(s, elastic) * dx}
            for b in self.boundaries:
                load = b.load()
                if load is not None:
                    for axis in range(self.gdim):
                        forms[f"load_{b.name}_{axis}"] = load[axis] * b.ds
            self._forms = {k: fem.form(f) for k, f in forms.items()}
        return problem.comm.allreduce(fem.assemble_scalar(self._forms[name]), op=MPI.SUM)

    def conservation(self, problem: Problem) -> dict[str, float]:
        """Force balance per axis: reactions at the supports + applied loads = 0; the force
        left unbalanced by the free rows relative to the largest of them."""
        rows = problem.residual_rows()["u"]
        bs = self.gdim
        constrained = np.zeros(len(rows), dtype=bool)
        out: dict[str, float] = {}
        forces = []
        for b in self.boundaries:
            dofs = np.unique(np.concatenate([bc.dof_indices()[0] for bc in b.bcs] or [[]]))
            dofs = dofs[dofs < len(rows)].astype(np.int64)
            constrained[dofs] = True
            for axis in range(bs):
                mine = dofs[dofs % bs == axis]
                value = problem.comm.allreduce(float(rows[mine].sum()), op=MPI.SUM)
                if len(b.bcs):
                    out[f"reaction_{b.name}_{AXES[axis]}_N"] = value
                    forces.append(value)
            if b.load() is not None:
                for axis in range(bs):
                    value = self._integral(problem, f"load_{b.name}_{axis}")
                    out[f"load_{b.name}_{AXES[axis]}_N"] = value
                    forces.append(value)
        # rows are interleaved by component: those of axis k have index % bs == k
        free = np.array(
            [rows[(np.arange(len(rows)) % bs == axis) & ~constrained].sum() for axis in range(bs)]
        )
        problem.comm.Allreduce(MPI.IN_PLACE, free, op=MPI.SUM)
        imbalance = float(np.abs(free).max(initial=0.0))
        E = problem.comm.allreduce(float(self.E.x.array.max(initial=0.0)), op=MPI.MAX)
        floor = BALANCE_FLOOR_STRAIN * E * problem.bundle.extent() ** (bs - 1)
        reference = max([abs(f) for f in forces] + [floor])
        out["imbalance_N"] = imbalance
        out["balance_error"] = imbalance / reference
        out["tolerance"] = problem.case.solver.balance_tolerance
        return out

    def output_functions(self, problem: Problem) -> dict[str, list[fem.Function]]:
        """Displacement (P1 vector) and the stress measures and tensor (DG0)."""
        fields = self.derived_fields(problem)
        return {"displacement": [self.u], "stress": list(fields.values())}

    # --- at the end ----------------------------------------------------------------------
    def finalize(self, problem: Problem, writer: ResultsWriter) -> dict[str, object]:
        """Figures of merit (maxima and where) and stress pictures."""
        from sse_fem.io.plots import plot_field

        row = self.observe(problem)
        summary: dict[str, object] = {
            k: v
            for k, v in row.items()
            if k.endswith("_Pa") or k.endswith("_J") or k.endswith("_fraction")
        }
        for name in problem.bundle.interfaces:
            label = f"{name}.max_normal_traction"
            if f"{label}_Pa" in row:
                summary[f"{label}_at_m"] = [row[f"{label}_{AXES[a]}_m"] for a in range(self.gdim)]
        for label in ("max_von_mises_stress", "max_hydrostatic_stress", "min_hydrostatic_stress"):
            summary[f"{label}_at_m"] = [row[f"{label}_{AXES[a]}_m"] for a in range(self.gdim)]
        from sse_fem.io.plots import plot_interface_values
        from sse_fem.io.results import write_facet_field

        tractions = {}
        for name, t in self.interface_tractions(problem).items():
            gathered = problem.comm.gather(t, root=0)
            if gathered is None:
                continue
            t = {k: np.concatenate([g[k] for g in gathered]) for k in t}
            tractions[name] = t
            writer.write_table(
                f"interface_{name}_traction.csv",
                {
                    "x_m": t["x"][:, 0],
                    "y_m": t["x"][:, 1],
                    "z_m": t["x"][:, 2],
                    "area": t["area"],
                    "normal_traction_Pa": t["normal"],
                    "shear_traction_Pa": t["shear"],
                },
            )
            write_facet_field(
                writer.outdir / f"interface_{name}_traction.vtu",
                t["vertices"],
                {"normal_traction_Pa": t["normal"], "shear_traction_Pa": t["shear"]},
            )
        if not problem.case.outputs.plots:
            return summary
        for name, t in tractions.items():
            plot_interface_values(
                t["x"],
                t["normal"] * 1e-6,
                self.gdim,
                writer.outdir / f"interface_{name}_traction.png",
                "normal traction [MPa] (tension > 0)",
                f"{name}: max tension {t['normal'].max() * 1e-6:.3g} MPa",
                t["vertices"],
            )
        fields = self.derived_fields(problem)
        msh = problem.bundle.mesh
        for name in ("von_mises_stress", "hydrostatic_stress"):
            field = fields[name]
            if self.gdim == 2:  # cellwise constant, drawn without smoothing
                field = fem.Function(fem.functionspace(msh, ("DG", 1)))
                field.interpolate(fields[name])
            label = f"{name.replace('_', ' ')} [Pa]"
            diverging = name == "hydrostatic_stress"  # signed: tension red
            plot_field(field, problem.bundle, writer.outdir / f"{name}.png", label, None, diverging)
        return summary
