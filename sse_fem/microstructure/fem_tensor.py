"""Effective conductivity tensor with finite elements: the conduction physics itself, driven
face to face on the case's own mesh (voxel hexahedra or a gmsh RVE), in parallel.

Per axis ``a``: the case is reduced to steady conduction of one carrier (regions that do not
conduct it are insulating, interfaces continuous, no kinetics), 1 V on face ``<a>0``, ground on
``<a>1``, the other faces insulated; the column ``a`` of the tensor is the volume-averaged
current density (the shared quantity ``current_density.<carrier>`` integrated over its
regions, divided by the box volume) over the applied field 1 V / L_a. The mesh is built once;
the forms compile once for the three solves. Floating clusters are held by conduction's own
island handling, so they carry no current.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from mpi4py import MPI

import numpy as np

from sse_fem.errors import CaseError, SolverFailure

AXES = "xyz"


def drive_case(case: Any, carrier: str, conducting: dict[str, float], axis: int) -> Any:
    """The case reduced to the face-to-face drive of ``carrier`` along ``axis``."""
    from sse_fem.config.loader import resolved_dict, validate_case

    data = copy.deepcopy(resolved_dict(case))
    arrhenius = case.physics.conduction.arrhenius if case.physics.conduction else True
    data["physics"] = {"conduction": {"arrhenius": arrhenius}}
    data["interfaces"] = {}
    data["initial_conditions"] = {}
    data["time"] = {"mode": "steady"}
    data["outputs"] = {"fields": False, "plots": False, "report": False}
    for region in data["regions"]:
        region["carriers"] = [carrier] if conducting.get(region["name"], 0.0) > 0 else []
    name = AXES[axis]
    data["boundary_conditions"] = {
        "conduction": [
            {"name": f"{name}0", "type": "potential", "value": "1 V", "carrier": carrier},
            {"name": f"{name}1", "type": "ground", "carrier": carrier},
        ]
    }
    return validate_case(data)


def tensor_mesh(case: Any, comm: MPI.Comm = MPI.COMM_WORLD) -> Any:
    """The case's mesh (``MeshBundle``) for the drives; it must be a box with faces x0 ... z1
    (collective)."""
    from sse_fem.mesh import build_mesh

    bundle = build_mesh(case, comm)
    dim = case.dimension
    if any(f"{AXES[a]}{s}" not in bundle.boundaries for a in range(dim) for s in "01"):
        raise CaseError(
            "the finite-element tensor needs a box with faces x0 ... z1 (composite "
            "cathode, polycrystal, voxel image)",
            "geometry.type",
        )
    return bundle


def fem_tensor(
    case: Any,
    carrier: str,
    conducting: dict[str, float],
    comm: MPI.Comm = MPI.COMM_WORLD,
    bundle: Any = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The effective tensor [S/m] and what the solves took (collective); ``bundle``: the
    case's mesh when the caller has built it already (``tensor_mesh``)."""
    from dolfinx import fem

    from sse_fem.problem import build_problem

    if carrier == "thermal":
        raise CaseError(
            "the finite-element tensor covers ionic and electronic carriers", "--carrier"
        )
    dim = case.dimension
    t0 = time.perf_counter()
    bundle = bundle or tensor_mesh(case, comm)
    mesh_s = time.perf_counter() - t0
    lo, hi = bundle.bounds()
    extent = (hi - lo)[:dim]
    volume = float(np.prod(extent))
    tensor = np.zeros((dim, dim))
    solves = []
    for a in range(dim):
        t1 = time.perf_counter()
        problem = build_problem(drive_case(case, carrier, conducting, a), bundle)
        try:
            ok, newton, krylov = problem.solve()
            if not ok:
                raise SolverFailure(f"homogenize: the drive along {AXES[a]} did not converge")
            q = problem.quantities.require(f"current_density.{carrier}", "homogenize")
            for b in range(dim):
                form = fem.form(q()[b] * q.measure, entity_maps=problem.entity_maps)
                total = comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)
                tensor[b, a] = total / volume / (1.0 / extent[a])
            dofs = sum(u.u.function_space.dofmap.index_map.size_global for u in problem.unknowns)
        finally:
            problem.close()
        solves.append(
            {
                "axis": AXES[a],
                "dofs": dofs,
                "newton": newton,
                "krylov": krylov,
                "solve_s": time.perf_counter() - t1,
            }
        )
    volumes = {r: bundle.volume(r) for r in bundle.regions}
    cells = bundle.mesh.topology.index_map(bundle.dim).size_global
    return tensor, {"mesh_s": mesh_s, "cells": cells, "solves": solves, "volumes": volumes}
