"""Shared benchmark mechanism: each (mesh size, rank count) runs in its own ``mpirun`` so the
peak memory is that run's; rows go to ``benchmarks/results/<name>.json`` and a Markdown table.

A benchmark script defines ``case_at(size_um) -> dict`` (a case as data) and calls
``main(name, case_at, default_sizes)``:

    python benchmarks/bench_X.py [--sizes 1.2,0.6,0.35] [--ranks 1,2]

With ``main(..., default_refinements="0,1")`` it takes ``case_at(size_um, refinements)`` and
``--refinements``: gmsh at ``size * 2^N`` and N uniform refinements (``geometry.mesh.
refinements``). Every row has the meshing share of the wall time; with refinements also the
refinement time (included in ``mesh_s``). ``derive(row) -> dict`` adds figures computed from a
row (its ``results`` and ``mesh_info``), shown under ``extra_columns``.
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
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
COLUMNS = (
    ("ranks", "ranks"),
    ("size_um", "h [um]"),
    ("refinements", "refinements"),
    ("coarse_cells", "gmsh cells"),
    ("cells", "cells"),
    ("dofs", "dofs"),
    ("newton", "Newton"),
    ("krylov", "Krylov"),
    ("krylov_per_newton", "Krylov/Newton"),
    ("mesh_s", "mesh [s]"),
    ("refine_s", "of which refine [s]"),
    ("setup_s", "setup [s]"),
    ("solve_s", "solve [s]"),
    ("wall_s", "wall [s]"),
    ("mesh_share_pct", "mesh share [%]"),
    ("peak_rss_GB_max_rank", "peak RSS/rank [GB]"),
    ("peak_rss_GB_total", "peak RSS total [GB]"),
)


def _measure(
    case_data: dict,
    size_um: float,
    out_json: str,
    refinements: int | None,
    derive: Callable[[dict], dict] | None,
) -> None:
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
    stats, timings, builder = s["statistics"], s["timings"], s["mesh"]["builder"]
    row = {
        "ranks": comm.size,
        "size_um": size_um,
        "cells": s["mesh"]["cells"],
        "dofs": sum(s["solver"]["dofs"].values()),
        "preset": s["solver"]["preset"],
        "status": s["status"],
        "steps": stats.get("steps", 0),
        "newton": stats["newton_iterations"],
        "krylov": stats["krylov_iterations"],
        "krylov_per_newton": round(
            stats["krylov_iterations"] / max(1, stats["newton_iterations"]), 1
        ),
        "mesh_s": round(timings["mesh_s"], 2),
        "setup_s": round(timings["setup_s"], 2),
        "solve_s": round(timings.get("solve_s", float("nan")), 2),
        "wall_s": round(wall, 2),
        "mesh_share_pct": round(100 * timings["mesh_s"] / wall, 1),
        "peak_rss_GB_max_rank": round(comm.allreduce(rss_gb, op=MPI.MAX), 2),
        "peak_rss_GB_total": round(comm.allreduce(rss_gb, op=MPI.SUM), 2),
        "results": s.get("results", {}),
        # scalars only: the builder's lists (void centres, ...) grow with the geometry
        "mesh_info": {k: v for k, v in builder.items() if not isinstance(v, list)},
    }
    if refinements is not None:
        done = builder.get("mesh_refinement", {})
        row |= {
            "refinements": refinements,
            "coarse_cells": done.get("coarse_cells", row["cells"]),
            "refine_s": round(done.get("refine_s", 0.0), 2),
        }
    if derive is not None:
        row |= derive(row)
    if comm.rank == 0:
        Path(out_json).write_text(json.dumps(row))


def columns(rows: list[dict], extra: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The ``COLUMNS`` (then ``extra``) that every row has."""
    return [(k, h) for k, h in (*COLUMNS, *extra) if all(k in r for r in rows)]


def markdown_table(rows: list[dict], extra: Sequence[tuple[str, str]] = ()) -> str:
    cols = columns(rows, extra)
    lines = [
        "| " + " | ".join(h for _, h in cols) + " |",
        "|" + "---|" * len(cols),
    ]
    for r in rows:
        lines.append(
            "| "
            + " | ".join(f"{r[k]:,}" if isinstance(r[k], int) else str(r[k]) for k, _ in cols)
            + " |"
        )
    return "\n".join(lines)


def main(
    name: str,
    case_at: Callable[..., dict],
    default_sizes: str,
    default_refinements: str | None = None,
    derive: Callable[[dict], dict] | None = None,
    extra_columns: Sequence[tuple[str, str]] = (),
) -> None:
    """Run every (ranks, size[, refinements]) in its own ``mpirun``; write the rows."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default=default_sizes, help="element sizes [um], coarse to fine")
    p.add_argument("--ranks", default="1,2", help="MPI rank counts")
    if default_refinements is not None:
        p.add_argument("--refinements", default=default_refinements, help="uniform refinements")
    p.add_argument("--single", type=float, help=argparse.SUPPRESS)  # internal: one run
    p.add_argument("--level", type=int, help=argparse.SUPPRESS)
    p.add_argument("--row", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.single is not None:
        data = case_at(args.single) if args.level is None else case_at(args.single, args.level)
        _measure(data, args.single, args.row, args.level, derive)
        return
    levels: list[int | None] = [None]
    if default_refinements is not None:
        levels = [int(n) for n in args.refinements.split(",")]
    mpirun = Path(sys.executable).with_name("mpirun")
    rows = []
    for ranks in [int(r) for r in args.ranks.split(",")]:
        for size in [float(s) for s in args.sizes.split(",")]:
            for level in levels:
                with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
                    cmd = [str(mpirun), "-n", str(ranks), sys.executable, "-m", "mpi4py"]
                    cmd += [sys.argv[0], "--single", str(size), "--row", tmp.name]
                    cmd += [] if level is None else ["--level", str(level)]
                    subprocess.run(cmd, check=True, env=os.environ | {"PYTHONUNBUFFERED": "1"})
                    row = json.loads(Path(tmp.name).read_text())
                rows.append(row)
                shown = {k: row[k] for k, _ in columns([row], extra_columns)}
                print(shown | {"status": row["status"]}, flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "benchmark": name,
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "rows": rows,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(meta, indent=2))
    table = markdown_table(rows, extra_columns)
    (RESULTS / f"{name}.md").write_text(table + "\n")
    print(table)
