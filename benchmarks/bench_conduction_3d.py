"""3-D conduction + Butler-Volmer scaling: dofs, Newton and Krylov iterations, wall time and
peak memory at three mesh sizes (iterative preset: GMRES + GAMG, potentiostatic).

Run:  mpirun -n N python benchmarks/bench_conduction_3d.py [--sizes 8,5,3.2]
Writes benchmarks/results/conduction_3d_np<N>.json (rank 0).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from mpi4py import MPI

import yaml

from sse_fem.config import validate_case
from sse_fem.driver import Run

ROOT = Path(__file__).resolve().parents[1]


def case_at(size_um: float) -> dict:
    data = yaml.safe_load((ROOT / "cases" / "symmetric_cell" / "case.yaml").read_text())
    data["geometry"] |= {"dimension": 3, "width": "60 um"}
    data["geometry"]["mesh"] = {"size": f"{size_um} um"}
    data["boundary_conditions"][0] = {"name": "bottom", "type": "potential", "value": "50 mV"}
    data["solver"] = {"preset": "iterative", "linear_rtol": 1e-8}
    data["outputs"] = {"fields": False, "plots": False}
    return data


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="8,5,3.2", help="element sizes in um")
    args = p.parse_args()
    comm = MPI.COMM_WORLD
    rows = []
    for size in [float(s) for s in args.sizes.split(",")]:
        case = validate_case(case_at(size))
        t0 = time.perf_counter()
        s = Run(case, outdir=f"/tmp/sse_fem_bench_{size}").execute()
        wall = time.perf_counter() - t0
        rss = comm.allreduce(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, op=MPI.SUM)
        row = {
            "size_um": size,
            "dofs": sum(s["solver"]["dofs"].values()),
            "status": s["status"],
            "newton": s["statistics"]["newton_iterations"],
            "krylov": s["statistics"]["krylov_iterations"],
            "wall_s": round(wall, 2),
            "solve_s": round(s["timings"].get("solve_s", float("nan")), 2),
            "peak_rss_MB_all_ranks": round(rss),
            "ranks": comm.size,
        }
        rows.append(row)
        if comm.rank == 0:
            print(row, flush=True)
    if comm.rank == 0:
        out = ROOT / "benchmarks" / "results" / f"conduction_3d_np{comm.size}.json"
        out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
