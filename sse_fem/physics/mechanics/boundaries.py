"""Mechanical boundary conditions: supports (fixed, roller/symmetry, prescribed displacement
components) as Dirichlet conditions, and loads (traction, normal pressure) as boundary
integrals; every value is a Constant (no recompilation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem

from sse_fem.errors import CaseError
from sse_fem.postprocess.interfaces import facet_vertices

if TYPE_CHECKING:
    from sse_fem.config.schema import MechanicsBoundaryCondition
    from sse_fem.physics.base import Problem

AXES = "xyz"


@dataclass
class MechanicalBoundary:
    name: str
    type: str
    ds: ufl.Measure
    bcs: list[fem.DirichletBC] = field(default_factory=list)
    components: list[int] = field(default_factory=list)  # constrained axes
    traction: fem.Constant | None = None  # [Pa] per axis
    pressure: fem.Constant | None = None  # [Pa], pushing on the cell
    normal: ufl.core.expr.Expr | None = None

    def load(self) -> ufl.core.expr.Expr | None:
        """Force per area [Pa] acting on the cell on this boundary (None: a support)."""
        if self.traction is not None:
            return self.traction
        if self.pressure is not None:
            assert self.normal is not None
            return -self.pressure * self.normal
        return None


def normal_axis(problem: Problem, name: str, path: str) -> int:
    """The axis a plane boundary is perpendicular to (its vertices share that coordinate)."""
    bundle = problem.bundle
    msh = bundle.mesh
    x = facet_vertices(msh, bundle.facets(name)).reshape(-1, 3)[:, : msh.geometry.dim]
    gdim = msh.geometry.dim
    lo = x.min(axis=0) if len(x) else np.full(gdim, np.inf)
    hi = x.max(axis=0) if len(x) else np.full(gdim, -np.inf)
    problem.comm.Allreduce(MPI.IN_PLACE, lo, op=MPI.MIN)
    problem.comm.Allreduce(MPI.IN_PLACE, hi, op=MPI.MAX)
    extent = hi - lo
    flat = np.flatnonzero(extent <= 1e-9 * max(float(extent.max()), 1e-300))
    if len(flat) != 1 and gdim > 1:
        raise CaseError(
            f"boundary {name!r} is not a plane perpendicular to an axis (extent "
            f"{', '.join(f'{AXES[k]} {e:.3g} m' for k, e in enumerate(extent))}); use "
            "`displacement` with the components to hold",
            path,
        )
    return int(flat[0]) if gdim > 1 else 0


def mechanical_boundary(
    problem: Problem, k: int, spec: MechanicsBoundaryCondition, u: fem.Function
) -> MechanicalBoundary:
    """The condition ``spec`` (not ``free``) on displacement ``u``."""
    bundle = problem.bundle
    msh = bundle.mesh
    V = u.function_space
    gdim = msh.geometry.dim
    fdim = bundle.dim - 1
    path = f"boundary_conditions.mechanics[{k}]({spec.name})"
    facets = bundle.facets(spec.name)
    b = MechanicalBoundary(spec.name, spec.type, bundle.measure(spec.name))

    def hold(axis: int, value: float) -> None:
        sub = V.sub(axis) if gdim > 1 else V
        dofs = fem.locate_dofs_topological(sub, fdim, facets)
        b.bcs.append(fem.dirichletbc(fem.Constant(msh, float(value)), dofs, sub))
        b.components.append(axis)

    if spec.type == "fixed":
        for axis in range(gdim):
            hold(axis, 0.0)
    elif spec.type in ("roller", "symmetry"):
        hold(normal_axis(problem, spec.name, path), 0.0)
    elif spec.type == "displacement":
        for axis, value in enumerate(spec.si_vector):
            if value is not None:
                hold(axis, value)
    elif spec.type == "traction":
        values = [float(v or 0.0) for v in spec.si_vector]
        b.traction = fem.Constant(msh, np.array(values, dtype=np.float64))
    elif spec.type == "pressure":
        b.pressure = fem.Constant(msh, spec.si_value)
        b.normal = ufl.FacetNormal(msh)
    return b


def rigid_mode_points(problem: Problem, u: fem.Function) -> MechanicalBoundary:
    """Minimal point supports that hold the rigid-body modes and nothing else: node A (the
    one nearest the lowest corner) in every component, node B (farthest from A along x) in
    y (and z), node C (farthest from the line AB along y) in z (3D). Statically determinate:
    a self-equilibrated load leaves no reaction."""
    msh = problem.bundle.mesh
    V = u.function_space
    gdim = msh.geometry.dim
    n = V.dofmap.index_map.size_local
    x = V.tabulate_dof_coordinates()[:n, :gdim]
    comm = problem.comm

    def pick(score: np.ndarray) -> np.ndarray:
        """Coordinates of the owned node with the largest score, agreed by every rank."""
        k = int(np.argmax(score)) if n else -1
        best = (float(score[k]), comm.rank, x[k].tolist()) if n else (-np.inf, comm.rank, [])
        return np.array(max(comm.allgather(best))[2])

    lo = np.full(gdim, np.inf) if not n else x.min(axis=0)
    comm.Allreduce(MPI.IN_PLACE, lo, op=MPI.MIN)
    a = pick(-np.linalg.norm(x - lo, axis=1))
    b = pick(np.abs(x[:, 0] - a[0]) - 1e-3 * np.linalg.norm(x[:, 1:] - a[1:], axis=1))
    held = [(a, list(range(gdim))), (b, list(range(1, gdim)))]
    if gdim == 3:
        c = pick(np.abs(x[:, 1] - a[1]) - 1e-3 * np.abs(x[:, 2] - a[2]))
        held.append((c, [2]))
    boundary = MechanicalBoundary("rigid_mode_points", "points", ufl.ds(msh))
    everywhere = V.tabulate_dof_coordinates()[:, :gdim]  # owned and ghost nodes
    tolerance = 1e-9 * max(float(np.ptp(everywhere)) if len(everywhere) else 0.0, 1e-300)
    for point, axes in held:
        nodes = np.flatnonzero(np.all(np.abs(everywhere - point) <= tolerance, axis=1))
        for axis in axes:
            sub = V.sub(axis) if gdim > 1 else V
            dofs = (nodes * gdim + axis).astype(np.int32)
            boundary.bcs.append(fem.dirichletbc(fem.Constant(msh, 0.0), dofs, sub))
            boundary.components.append(axis)
    return boundary
