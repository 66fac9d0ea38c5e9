"""Meshing time and element counts of two 3D geometries; writes benchmarks/results/meshing.json.

1. composite cathode RVE, ~100 monodisperse spheres at 50 vol% (packing + OCC + meshing),
2. Li | LLZO interface with voids at 70 % contact, refined at the void edges.

Run: ``python benchmarks/bench_meshing.py`` (serial; timings include gmsh -> dolfinx).
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from types import SimpleNamespace

from mpi4py import MPI

from pydantic import TypeAdapter

from sse_fem.config.geometry import geometry_union
from sse_fem.geometry.quality import quality_report
from sse_fem.mesh import build_mesh

CASES = {
    "composite_cathode_100_particles_50pct": {
        "type": "composite_cathode",
        "dimension": 3,
        "width": "28 um",
        "thickness": "28 um",
        "active": {"volume_fraction": 0.5, "radius": "3 um"},
        "seed": 0,
        "mesh": {"size": "1.5 um"},
    },
    "void_interface_3d": {
        "type": "metal_se_interface",
        "dimension": 3,
        "width": "30 um",
        "metal_thickness": "10 um",
        "electrolyte_thickness": "20 um",
        "seed": 0,
        "voids": {"contact_fraction": 0.7, "radius": "2 um", "radius_std": "0.5 um"},
        "mesh": {"size": "2 um", "interface_size": "0.4 um"},
    },
}


def main() -> None:
    comm = MPI.COMM_WORLD
    results = {}
    for name, data in CASES.items():
        geo = TypeAdapter(geometry_union()).validate_python(data)
        case = SimpleNamespace(mesh=None, geometry=geo, case=SimpleNamespace(name=name))
        t0 = time.perf_counter()
        bundle = build_mesh(case, comm)
        wall = time.perf_counter() - t0
        q = quality_report(bundle.mesh)
        info = {k: v for k, v in bundle.info.items() if not k.startswith("void_")}
        results[name] = {"seconds": round(wall, 2), **q, "report": info}
        if comm.rank == 0:
            print(
                f"{name}: {wall:.1f} s, {q['cells']} cells, {q['vertices']} vertices, "
                f"min quality {q['quality_min']:.3f}"
            )
    if comm.rank == 0:
        out = Path(__file__).with_name("results") / "meshing.json"
        out.parent.mkdir(exist_ok=True)
        meta = {
            "ranks": comm.size,
            "machine": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        }
        out.write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=float))


if __name__ == "__main__":
    main()
