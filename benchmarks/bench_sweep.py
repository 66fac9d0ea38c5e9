"""What each sweep executor costs per case beyond the solve itself.

A sweep of ``--cases`` (default 50) trivial cases (the 1D symmetric cell, about 30 dofs, no
fields, plots or report; the current density varies) runs with each executor on 2 workers:
``local`` (2 cases at a time, each its own process), ``mpi`` (``mpirun -n 2``, two groups of one
rank pulling cases in process) and ``slurm`` (a job array on a one-node SLURM cluster started
for the benchmark, 2 tasks at a time; skipped where SLURM cannot start). Per executor: the
wall time of the whole sweep (from the command to the table), the mean time a case spends in
its run (``timings.total_s``: mesh, setup, solve, outputs), and the overhead per case

    overhead = wall * workers / cases - mean run time

i.e. process start, imports, case validation, claims, scheduling and the table, per case and
worker. The JIT cache is warm (a first case runs before the timing).

Run:  python benchmarks/bench_sweep.py [--cases 50] [--executors local,mpi,slurm]
Writes benchmarks/results/sweep_overhead.{json,md}.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from harness import RESULTS, ROOT

NAME = "sweep_overhead"
WORKERS = 2


def sweep_file(folder: Path, cases: int) -> Path:
    case = yaml.safe_load((ROOT / "cases" / "symmetric_cell" / "case.yaml").read_text())
    case["geometry"]["dimension"] = 1
    case["outputs"] = {"fields": False, "plots": False, "report": False}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "case.yaml").write_text(yaml.safe_dump(case))
    values = {"start": "0.1 mA/cm^2", "stop": "5 mA/cm^2", "num": cases, "scale": "log"}
    spec = {
        "sweep": {"case": "case.yaml", "output": str(folder / "out")},
        "parameters": {"grid": {"boundary_conditions.conduction.bottom.value": values}},
        "local": {"parallel": WORKERS},
        "slurm": {"time": "00:10:00", "max_running": WORKERS},
    }
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def command(executor: str, path: Path) -> list[str]:
    sweep = [sys.executable, "-m", "sse_fem", "sweep", "run", str(path), "--executor", executor]
    if executor == "mpi":
        mpirun = str(Path(sys.executable).parent / "mpirun")
        return [mpirun, "-n", str(WORKERS), sys.executable, "-m", "mpi4py", *sweep[1:]]
    return sweep + (["--wait"] if executor == "slurm" else [])


def measure(executor: str, folder: Path, cases: int, env: dict) -> dict:
    path = sweep_file(folder / executor, cases)
    t0 = time.perf_counter()
    proc = subprocess.run(command(executor, path), capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    table = path.parent / "out" / "sweep.csv"
    rows = list(csv.DictReader(table.open())) if table.exists() else []
    if proc.returncode != 0:
        reasons = {r["index"]: r["reason"] for r in rows if r["status"] != "done"}
        raise RuntimeError(f"{executor}: {proc.stdout[-2000:]}{proc.stderr[-2000:]} {reasons}")
    runs = [float(r["runtime_s"]) for r in rows]
    assert len(rows) == cases and all(r["status"] == "done" for r in rows)
    run_mean = statistics.mean(runs)
    return {
        "executor": executor,
        "cases": cases,
        "workers": WORKERS,
        "wall_s": wall,
        "run_mean_s": run_mean,
        "overhead_per_case_s": wall * WORKERS / cases - run_mean,
    }


def main() -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--executors", default="local,mpi,slurm")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = dict(os.environ)
        measure("local", folder / "warm", 1, env)  # compile the forms once
        cluster = None
        for executor in args.executors.split(","):
            if executor == "slurm":
                sys.path.insert(0, str(ROOT))
                from tests.sweep.slurm_cluster import Cluster, missing

                reason = missing()
                if reason:
                    print(f"slurm skipped: {reason}")
                    continue
                cluster = Cluster.start(folder / "slurm-cluster")
                env = {**env, "SLURM_CONF": str(cluster.conf)}
            try:
                rows.append(measure(executor, folder, args.cases, env))
            finally:
                if executor == "slurm" and cluster is not None:
                    cluster.stop()
            print(json.dumps(rows[-1]))
    meta = {"machine": platform.node(), "cpus": os.cpu_count(), "date": time.strftime("%F")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{NAME}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [
        f"# Sweep executors: overhead per case ({args.cases} trivial cases, {WORKERS} workers)",
        "",
        "| executor | wall [s] | run per case [s] | overhead per case [s] |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['executor']} | {r['wall_s']:.1f} | {r['run_mean_s']:.3f} | "
        f"{r['overhead_per_case_s']:.3f} |"
        for r in rows
    ]
    lines += ["", f"{meta['machine']}, {meta['cpus']} CPUs, {meta['date']}.", ""]
    (RESULTS / f"{NAME}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
