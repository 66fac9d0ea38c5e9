"""Meshing time, element counts, quality and geometric error of two 3D geometries, meshed by
gmsh at the given sizes (refinements 0) and by gmsh at 2^N times the sizes followed by N uniform
refinements in parallel (``geometry.mesh.refinements: N``).

1. composite cathode RVE, ~100 monodisperse spheres at 50 vol% (packing + OCC + meshing) with
   wide contact necks (overlap and min gap 0.2 of the radius), at 0.6 um with refinements 0
   and 1 (coarser meshes of narrow necks fail in gmsh: the coarse particle surfaces intersect),
2. the Li | LLZO interface of cases/li_void_stripping/case_3d.yaml (hemispherical voids at 80 %
   contact, refined 5x at the void edges) at 0.6 um with refinements 0, 1 and 2.

Geometric error: a refinement puts its new vertices on the coarse mesh's chords, not on curved
surfaces. Measured against the exact surfaces:

- voids: contact (``metal_electrolyte``) and ``void_surface`` areas against the exact ones (OCC
  contact area; caps 2 pi R h plus the exposed discs); distance of the vertices, and of the
  vertices and edge midpoints (the whole discrete surface, to second order), of the curved void
  facets from their spheres, in metres and relative to the sphere radius; with the refined
  vertices put back on the caps (as ``build_mesh`` does) and, rows "(chords)", without;
- particles: the ``active`` volume against the exact (OCC) one, and the ``active_electrolyte``
  area against that of gmsh at the given sizes (refinements 0).

Run: ``python benchmarks/bench_meshing.py`` (serial, or under
``mpirun -n 2 python -m mpi4py``); timings include gmsh -> dolfinx and the refinement.
Writes benchmarks/results/meshing.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from mpi4py import MPI

import numpy as np
from dolfinx import mesh
from pydantic import TypeAdapter

from sse_fem.config.geometry import geometry_union
from sse_fem.geometry import SURFACES
from sse_fem.geometry.quality import quality_report
from sse_fem.mesh import MeshBundle, build_mesh

#: name -> (geometry block, refinement levels, levels also measured without snapping)
CASES: dict[str, tuple[dict, tuple[int, ...]]] = {
    "composite_cathode_100_particles_50pct": (
        {
            "type": "composite_cathode",
            "dimension": 3,
            "width": "28 um",
            "thickness": "28 um",
            "active": {"volume_fraction": 0.5, "radius": "3 um"},
            "contact_overlap": 0.2,
            "min_gap": 0.2,
            "seed": 0,
            "mesh": {"size": "0.6 um"},
        },
        (0, 1),
        (),
    ),
    "void_interface_3d": (
        {
            "type": "metal_se_interface",
            "dimension": 3,
            "width": "30 um",
            "metal_thickness": "10 um",
            "electrolyte_thickness": "20 um",
            "seed": 0,
            "voids": {"contact_fraction": 0.8, "radius": "2.5 um", "radius_std": "0.5 um"},
            "mesh": {"size": "0.6 um", "interface_size": "0.12 um"},
        },
        (0, 1, 2),
        (1, 2),
    ),
}


def void_errors(bundle: MeshBundle, geo: Any) -> dict:
    """Contact and void-surface area errors, distance of the curved void facets from the caps."""
    info, zi = bundle.info, geo.electrolyte_thickness
    r = np.array(info["void_radii_m"])
    h = geo.voids.height or geo.voids.radius  # as the builder: one height for all voids
    big = (r**2 + h**2) / (2 * h)  # sphere radius of each cap
    centres = np.column_stack([np.array(info["void_centres_m"]), zi + h - big])
    exact_void = float(np.sum(2 * np.pi * big * h + np.pi * r**2))
    msh, fdim = bundle.mesh, bundle.dim - 1
    owned = bundle.facets("void_surface")
    owned = owned[owned < msh.topology.index_map(fdim).size_local]
    x = msh.geometry.x[mesh.entities_to_geometry(msh, fdim, owned)]  # (facets, 3, 3)
    x = x[~np.all(np.abs(x[:, :, 2] - zi) < 1e-6 * zi, axis=1)]  # curved: off the plane
    mids = np.concatenate([(x[:, a] + x[:, b]) / 2 for a, b in ((0, 1), (1, 2), (0, 2))])

    def distance(p: np.ndarray) -> tuple[float, float]:
        """Max distance from the nearest sphere [m], and relative to its radius."""
        d = np.abs(np.linalg.norm(p[:, None, :] - centres[None], axis=2) - big[None])
        k = d.argmin(1)
        dist = d[np.arange(len(p)), k]
        return float(dist.max(initial=0.0)), float((dist / big[k]).max(initial=0.0))

    comm = bundle.comm
    vertex = distance(x.reshape(-1, 3))
    surface = distance(np.concatenate([x.reshape(-1, 3), mids]))
    vertex = tuple(comm.allreduce(v, op=MPI.MAX) for v in vertex)
    surface = tuple(comm.allreduce(v, op=MPI.MAX) for v in surface)
    return {
        "contact_area_error": bundle.area("metal_electrolyte") / info["interface_area_m"] - 1,
        "void_surface_area_error": bundle.area("void_surface") / exact_void - 1,
        "void_vertex_deviation_max_m": vertex[0],
        "void_vertex_deviation_max_rel": vertex[1],
        "void_surface_deviation_max_m": surface[0],
        "void_surface_deviation_max_rel": surface[1],
    }


def particle_errors(bundle: MeshBundle, geo: Any) -> dict:
    """Active volume against the exact (OCC) one; the particle area for a later comparison."""
    layer = geo.width ** (geo.dimension - 1) * geo.thickness
    exact = bundle.info["volume_fractions"]["active"] * layer
    return {
        "active_volume_error": bundle.volume("active") / exact - 1,
        "active_electrolyte_area_m2": bundle.area("active_electrolyte"),
    }


ERRORS = {"metal_se_interface": void_errors, "composite_cathode": particle_errors}


def measure(name: str, data: dict, refinements: int, snap: bool, comm: MPI.Comm) -> dict:
    """Mesh one geometry with ``refinements`` (``snap``: vertices put back on the exact
    surfaces); times, counts, quality, geometric error."""
    data = {**data, "mesh": {**data["mesh"], "refinements": refinements}}
    geo = TypeAdapter(geometry_union()).validate_python(data)
    case = SimpleNamespace(mesh=None, geometry=geo, case=SimpleNamespace(name=name))
    known = dict(SURFACES)
    if not snap:
        SURFACES.clear()
    comm.barrier()
    t0 = time.perf_counter()
    try:
        bundle = build_mesh(case, comm)
    finally:
        SURFACES.update(known)
    wall = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    done = bundle.info.get("mesh_refinement", {})
    q = quality_report(bundle.mesh)
    return {
        "seconds": round(wall, 2),
        "gmsh_and_distribution_s": round(wall - done.get("refine_s", 0.0), 2),
        "refine_s": done.get("refine_s", 0.0),
        "gmsh_cells": done.get("coarse_cells", q["cells"]),
        **q,
        **ERRORS[geo.type](bundle, geo),
        "estimated_elements": bundle.info["estimated_elements"],
    }


def markdown(results: dict) -> str:
    cols = (
        ("refinements", "refinements"),
        ("seconds", "mesh [s]"),
        ("gmsh_and_distribution_s", "gmsh + distribution [s]"),
        ("refine_s", "refine [s]"),
        ("gmsh_cells", "gmsh cells"),
        ("cells", "cells"),
        ("quality_min", "min quality"),
        ("quality_mean", "mean quality"),
    )
    errors = {
        "void_interface_3d": (
            ("contact_area_error", "contact area error"),
            ("void_surface_area_error", "void surface area error"),
            ("void_vertex_deviation_max_rel", "max vertex distance / R"),
            ("void_surface_deviation_max_rel", "max surface distance / R"),
        ),
        "composite_cathode_100_particles_50pct": (
            ("active_volume_error", "active volume error"),
            ("active_electrolyte_area_error", "particle area vs refinements 0"),
        ),
    }
    out = [
        "Meshing at the given sizes (refinements 0) and at 2^N times them + N uniform "
        "refinements in parallel (sse_fem.mesh.refine); refined void vertices are put back "
        "on the exact caps, rows "
        "'(chords)' leave them on the coarse chords (particles have no exact surfaces "
        "registered: chords). Errors: mesh / exact - 1; distances over the curved void facets "
        "relative to the cap radius R.",
        "",
    ]
    for name, rows in results.items():
        all_cols = cols + errors[name]
        out += [f"### {name}", "", "| " + " | ".join(h for _, h in all_cols) + " |"]
        out.append("|" + "---|" * len(all_cols))
        for n, row in rows.items():
            level = n.split("_")[1] + (" (chords)" if n.endswith("chords") else "")
            row = {"refinements": level, **row}
            out.append("| " + " | ".join(_fmt(row[k]) for k, _ in all_cols) + " |")
        out.append("")
    return "\n".join(out)


def _fmt(v: Any) -> str:
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float) and v != 0 and abs(v) < 1e-2:
        return f"{v:.2e}"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    comm = MPI.COMM_WORLD
    results: dict[str, dict[str, dict]] = {}
    for name, (data, levels, unsnapped) in CASES.items():
        rows = results.setdefault(name, {})
        runs = [(n, True, f"refinements_{n}") for n in levels]
        runs += [(n, False, f"refinements_{n}_chords") for n in unsnapped]
        for n, snap, key in runs:
            row = measure(name, data, n, snap, comm)
            rows[key] = row
            if comm.rank == 0:
                print(name, n, {k: row[k] for k in ("seconds", "refine_s", "cells")}, flush=True)
        if "active_electrolyte_area_m2" in rows["refinements_0"]:
            exact = rows["refinements_0"]["active_electrolyte_area_m2"]
            for row in rows.values():
                row["active_electrolyte_area_error"] = row["active_electrolyte_area_m2"] / exact - 1
    if comm.rank == 0:
        out = Path(__file__).with_name("results")
        out.mkdir(exist_ok=True)
        meta = {
            "ranks": comm.size,
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "python": platform.python_version(),
        }
        text = json.dumps({"meta": meta, "results": results}, indent=2, default=float)
        (out / "meshing.json").write_text(text + "\n")
        (out / "meshing.md").write_text(markdown(results))
        print(markdown(results))


if __name__ == "__main__":
    main()
