"""Shared benchmark mechanism: each (mesh size, rank count) runs in its own ``mpirun`` so the
peak memory is that run's; rows go to ``benchmarks/results/<name>.json`` and a Markdown table.

A benchmark script defines ``case_at(size_um) -> dict`` (a case as data) and calls
``main(name, case_at, default_sizes)``:

    python benchmarks/bench_X.py [--sizes 1.2,0.6,0.35] [--ranks 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
COLUMNS = (
    ("ranks", "ranks"),
    ("size_um", "h [um]"),
    ("cells", "cells"),
    ("dofs", "dofs"),
    ("newton", "Newton"),
    ("krylov", "Krylov"),
    ("krylov_per_newton", "Krylov/Newton"),
    ("mesh_s", "mesh [s]"),
    ("setup_s", "setup [s]"),
    ("solve_s", "solve [s]"),
    ("wall_s", "wall [s]"),
    ("peak_rss_GB_max_rank", "peak RSS/rank [GB]"),
    ("peak_rss_GB_total", "peak RSS total [GB]"),
)


def _measure(case_data: dict, size_um: float, out_json: str) -> None:
    """One run under MPI (this process is one rank); rank 0 writes the row."""
    import resource

    from mpi4py import MPI

    from sse_fem.config import validate_case
    from sse_fem.driver import Run

    comm = MPI.COMM_WORLD
    with tempfile.TemporaryDirectory() as tmp:
        outdir = comm.bcast(tmp, root=0)
        t0 = time.perf_counter()
        s = Run(validate_case(case_data), outdir=outdir).execute()
        wall = time.perf_counter() - t0
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # kB -> GB
    stats, timings = s["statistics"], s["timings"]
    row = {
        "ranks": comm.size,
        "size_um": size_um,
        "cells": s["mesh"]["cells"],
        "dofs": sum(s["solver"]["dofs"].values()),
        "preset": s["solver"]["preset"],
        "status": s["status"],
        "newton": stats["newton_iterations"],
        "krylov": stats["krylov_iterations"],
        "krylov_per_newton": round(
            stats["krylov_iterations"] / max(1, stats["newton_iterations"]), 1
        ),
        "mesh_s": round(timings["mesh_s"], 2),
        "setup_s": round(timings["setup_s"], 2),
        "solve_s": round(timings.get("solve_s", float("nan")), 2),
        "wall_s": round(wall, 2),
        "peak_rss_GB_max_rank": round(comm.allreduce(rss_gb, op=MPI.MAX), 2),
        "peak_rss_GB_total": round(comm.allreduce(rss_gb, op=MPI.SUM), 2),
        "results": s.get("results", {}),
    }
    if comm.rank == 0:
        Path(out_json).write_text(json.dumps(row))


def markdown_table(rows: list[dict]) -> str:
    lines = [
        "| " + " | ".join(h for _, h in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for r in rows:
        lines.append(
            "| "
            + " | ".join(f"{r[k]:,}" if isinstance(r[k], int) else str(r[k]) for k, _ in COLUMNS)
            + " |"
        )
    return "\n".join(lines)


def main(name: str, case_at: Callable[[float], dict], default_sizes: str) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default=default_sizes, help="element sizes [um], coarse to fine")
    p.add_argument("--ranks", default="1,2", help="MPI rank counts")
    p.add_argument("--single", type=float, help=argparse.SUPPRESS)  # internal: one run
    p.add_argument("--row", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.single is not None:
        _measure(case_at(args.single), args.single, args.row)
        return
    mpirun = Path(sys.executable).with_name("mpirun")
    rows = []
    for ranks in [int(r) for r in args.ranks.split(",")]:
        for size in [float(s) for s in args.sizes.split(",")]:
            with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
                cmd = [str(mpirun), "-n", str(ranks), sys.executable, "-m", "mpi4py"]
                cmd += [sys.argv[0], "--single", str(size), "--row", tmp.name]
                subprocess.run(cmd, check=True, env=os.environ | {"PYTHONUNBUFFERED": "1"})
                row = json.loads(Path(tmp.name).read_text())
            rows.append(row)
            print({k: row[k] for k, _ in COLUMNS} | {"status": row["status"]}, flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "benchmark": name,
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "rows": rows,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(meta, indent=2))
    (RESULTS / f"{name}.md").write_text(markdown_table(rows) + "\n")
    print(markdown_table(rows))
