"""Cost of the two-way heat coupling: the 3D voided Li | LLZO stripping case (cases/
li_void_stripping/case_3d.yaml) made transient (20 fixed steps of dt, galvanostatic at
``--current``), solved once with heat two-way coupled (``physics: {conduction, heat}``) and once
for conduction alone on the same mesh, on 1 and 2 ranks, each run in its own ``mpirun`` (so the
peak memory is that run's).

Per run: dofs (total and per unknown), Newton and Krylov iterations per time step (mean, max;
the t = 0 rest state excluded), time per step (``solve_s`` / steps, which includes the t = 0
rest solve, and the median of the measured per-step wall times, each from the end of one
recorded step to the end of the next), mesh and setup time, peak RSS per rank and in total,
and the temperature rise (max over the cell, last step), which shows that heat evolves. Then
the ratios coupled / conduction of time per step and of Newton and Krylov per step.

Thermal setup: Li and LLZO_Ta from the library (density, specific heat, thermal conductivity),
convection h (T - T_ambient) on ``metal_terminal`` and ``electrolyte_terminal``, adiabatic
voids. The cell stores about 79 J/(m^2 K) per unit area, so its thermal time constant is
79 / (2 h): 0.4 s at the default h = 100 W/(m^2 K), i.e. the temperature still rises over the
1 s window of 20 steps of 0.05 s (with h = 1e4 it settles within 4 ms, in the first step).
Checkpoints are off (``checkpoint_every`` beyond the last step): the steps time the solver,
not the restart I/O.

Size: at the default 0.47 um (interface 0.094 um; 1.34M cells) the coupled problem has
490,143 dofs (phi_ionic 161,041, phi_electronic 90,555, V_terminal 1, T 238,546), conduction
alone 251,597: heat adds one P1 field on the whole mesh. Dofs grow about as h^-2.4 here (the
void edges are meshed 5x finer). At 3 um (17.7k dofs) all four runs took about 70 s (on 2
shared cores).

A step whose Newton solve fails is retried at half the step (``step_cuts``), and the driver
keeps the cut step for the rest of the run: then ``steps`` is more than asked. The per-step
Newton and Krylov counts are those of the accepted attempt (the timeseries'); the time of a
failed attempt is in ``solve_s`` and in that step's wall time.

Run:  python benchmarks/bench_heat_coupling.py [--size 0.47] [--ranks 1,2]
        [--variants coupled,conduction] [--dt 0.05] [--steps 20] [--h 100] [--current 5]
Writes benchmarks/results/heat_coupling.{json,md}.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from harness import RESULTS, ROOT

NAME = "heat_coupling"
CASE = ROOT / "cases" / "li_void_stripping" / "case_3d.yaml"
VARIANTS = ("coupled", "conduction")
TERMINALS = ("metal_terminal", "electrolyte_terminal")


def case_at(
    size_um: float,
    variant: str,
    dt_s: float = 0.05,
    steps: int = 20,
    h_W_m2K: float = 100.0,
    current_mA_cm2: float = 5.0,
) -> dict:
    """The shipped 3D void case, transient with ``steps`` fixed steps of ``dt_s``, at bulk
    element size ``size_um`` (5x finer void edges); ``variant`` coupled: with two-way heat."""
    data = yaml.safe_load(CASE.read_text())
    data["case"]["name"] = f"heat_coupling_{variant}"
    data["geometry"]["mesh"] = {"size": f"{size_um} um", "interface_size": f"{size_um / 5} um"}
    bcs = data["boundary_conditions"]["conduction"]
    for bc in bcs:
        if bc["name"] == "metal_terminal":
            bc["value"] = f"{current_mA_cm2} mA/cm^2"
    data["boundary_conditions"] = {"conduction": bcs}
    data["physics"] = {"conduction": {}}
    if variant == "coupled":
        data["physics"]["heat"] = {}
        data["boundary_conditions"]["heat"] = [
            {"name": n, "type": "convection", "heat_transfer_coefficient": f"{h_W_m2K} W/(m^2*K)"}
            for n in TERMINALS
        ]
    elif variant != "conduction":
        raise ValueError(f"variant {variant!r} is not one of {VARIANTS}")
    data["time"] = {
        "mode": "transient",
        "dt": f"{dt_s} s",
        "t_end": f"{steps * dt_s} s",
        "adaptive": False,
        "checkpoint_every": 10 * steps + 1000,  # no checkpoints: time the solver only
    }
    data["solver"] = {"preset": "iterative"}
    data["outputs"] = {"fields": False, "plots": False}
    return data


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def _measure(case_data: dict, variant: str, size_um: float, out_json: str) -> None:
    """One run under MPI (this process is one rank); rank 0 writes the row."""
    import resource

    from mpi4py import MPI

    from sse_fem.config import validate_case
    from sse_fem.driver import Run

    class TimedRun(Run):
        """A Run that notes the wall clock after each recorded step (t = 0 included)."""

        stamps: list[float]

        def _record(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            out = super()._record(*args, **kwargs)
            self.stamps.append(time.perf_counter())
            return out

    comm = MPI.COMM_WORLD
    with tempfile.TemporaryDirectory() as tmp:
        outdir = comm.bcast(tmp, root=0)
        run = TimedRun(validate_case(case_data), outdir=outdir)
        run.stamps = []
        t0 = time.perf_counter()
        s = run.execute()
        wall = time.perf_counter() - t0
        series = []
        if comm.rank == 0:  # rank 0 writes timeseries.csv
            with open(Path(outdir) / "timeseries.csv", newline="") as fh:
                rows = csv.DictReader(fh)
                series = [{k: float(v) for k, v in r.items() if v != ""} for r in rows]
        series = comm.bcast(series, root=0)
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # kB -> GB
    stats, timings = s["statistics"], s["timings"]
    steps = [r for r in series if r["time_s"] > 0]  # the first row is the rest state at t = 0
    newton = [int(r["newton_iterations"]) for r in steps]
    krylov = [int(r["krylov_iterations"]) for r in steps]
    step_walls = [b - a for a, b in zip(run.stamps, run.stamps[1:], strict=False)]
    n = max(1, len(steps))
    solve_s = timings.get("solve_s", float("nan"))
    dofs = s.get("solver", {}).get("dofs", {})
    t_max = [r["heat.max_temperature_K"] for r in series if "heat.max_temperature_K" in r]
    row = {
        "variant": variant,
        "ranks": comm.size,
        "size_um": size_um,
        "cells": s["mesh"]["cells"],
        "dofs": sum(dofs.values()),
        "dofs_by_unknown": dofs,
        "preset": s.get("solver", {}).get("preset"),
        "status": s["status"],
        "reason": s.get("reason"),
        "steps": len(steps),
        "dt_s": steps[0]["dt_s"] if steps else float("nan"),
        "t_end_s": steps[-1]["time_s"] if steps else float("nan"),
        "step_cuts": stats.get("step_cuts", 0),
        "newton_initial": int(series[0]["newton_iterations"]) if series else None,
        "newton_per_step": newton,
        "krylov_per_step": krylov,
        "newton_mean": round(_mean(newton), 2),
        "newton_max": max(newton, default=0),
        "krylov_mean": round(_mean(krylov), 1),
        "krylov_per_newton": round(sum(krylov) / max(1, sum(newton)), 1),
        "mesh_s": round(timings["mesh_s"], 2),
        "setup_s": round(timings.get("setup_s", float("nan")), 2),
        "solve_s": round(solve_s, 2),
        "wall_s": round(wall, 2),
        "time_per_step_s": round(solve_s / n, 3),
        "step_wall_median_s": round(statistics.median(step_walls), 3) if step_walls else None,
        "step_wall_max_s": round(max(step_walls), 3) if step_walls else None,
        "step_walls_s": [round(w, 4) for w in step_walls],
        "peak_rss_GB_max_rank": round(comm.allreduce(rss_gb, op=MPI.MAX), 2),
        "peak_rss_GB_total": round(comm.allreduce(rss_gb, op=MPI.SUM), 2),
        "temperature_rise_K": float(f"{t_max[-1] - t_max[0]:.3g}") if t_max else None,
    }
    if comm.rank == 0:
        Path(out_json).write_text(json.dumps(row))


COLUMNS = (
    ("variant", "variant"),
    ("ranks", "ranks"),
    ("size_um", "h [um]"),
    ("cells", "cells"),
    ("dofs", "dofs"),
    ("dofs_split", "dofs by unknown"),
    ("steps", "steps"),
    ("step_cuts", "step cuts"),
    ("newton_mean", "Newton/step"),
    ("newton_max", "Newton/step max"),
    ("krylov_mean", "Krylov/step"),
    ("krylov_per_newton", "Krylov/Newton"),
    ("time_per_step_s", "solve/steps [s]"),
    ("step_wall_median_s", "median step [s]"),
    ("mesh_s", "mesh [s]"),
    ("setup_s", "setup [s]"),
    ("solve_s", "solve [s]"),
    ("wall_s", "wall [s]"),
    ("peak_rss_GB_max_rank", "peak RSS/rank [GB]"),
    ("peak_rss_GB_total", "peak RSS total [GB]"),
    ("temperature_rise_K", "max T rise [K]"),
    ("status", "status"),
)
RATIO_COLUMNS = (
    ("ranks", "ranks"),
    ("size_um", "h [um]"),
    ("dofs", "dofs"),
    ("time_per_step_s", "solve/steps"),
    ("step_wall_median_s", "median step"),
    ("newton_mean", "Newton/step"),
    ("krylov_mean", "Krylov/step"),
    ("setup_s", "setup"),
    ("peak_rss_GB_total", "peak RSS total"),
)


def ratios(rows: list[dict]) -> list[dict]:
    """coupled / conduction per (ranks, size) where both ran."""
    out = []
    for c in rows:
        if c["variant"] != "coupled":
            continue
        for b in rows:
            if b["variant"] != "conduction" or (b["ranks"], b["size_um"]) != (
                c["ranks"],
                c["size_um"],
            ):
                continue
            r = {"ranks": c["ranks"], "size_um": c["size_um"]}
            for k, _ in RATIO_COLUMNS[2:]:
                num, den = c.get(k), b.get(k)
                ok = isinstance(num, int | float) and isinstance(den, int | float) and den > 0
                r[k] = round(num / den, 2) if ok else None
            out.append(r)
    return out


def _cell(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown_table(rows: list[dict], cols: tuple[tuple[str, str], ...]) -> str:
    lines = ["| " + " | ".join(h for _, h in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_cell(r.get(k)) for k, _ in cols) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", type=float, default=0.47, help="bulk element size [um]")
    p.add_argument("--ranks", default="1,2", help="MPI rank counts")
    p.add_argument("--variants", default=",".join(VARIANTS), help="coupled,conduction")
    p.add_argument("--dt", type=float, default=0.05, help="time step [s]")
    p.add_argument("--steps", type=int, default=20, help="time steps")
    p.add_argument("--h", type=float, default=100.0, help="heat transfer coeff. [W/(m^2 K)]")
    p.add_argument("--current", type=float, default=5.0, help="current density [mA/cm^2]")
    p.add_argument("--single", help=argparse.SUPPRESS)  # internal: one run of this variant
    p.add_argument("--row", help=argparse.SUPPRESS)
    args = p.parse_args()
    params = (args.dt, args.steps, args.h, args.current)
    if args.single is not None:
        data = case_at(args.size, args.single, *params)
        _measure(data, args.single, args.size, args.row)
        return
    variants = args.variants.split(",")
    for v in variants:
        case_at(args.size, v)  # an unknown variant fails here, before any run
    mpirun = Path(sys.executable).with_name("mpirun")
    rows = []
    for ranks in [int(r) for r in args.ranks.split(",")]:
        for variant in variants:
            with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
                cmd = [str(mpirun), "-n", str(ranks), sys.executable, "-m", "mpi4py"]
                cmd += [sys.argv[0], "--single", variant, "--row", tmp.name]
                cmd += ["--size", str(args.size), "--dt", str(args.dt), "--steps", str(args.steps)]
                cmd += ["--h", str(args.h), "--current", str(args.current)]
                subprocess.run(cmd, check=True, env=os.environ | {"PYTHONUNBUFFERED": "1"})
                row = json.loads(Path(tmp.name).read_text())
            row["dofs_split"] = ", ".join(f"{k} {v:,}" for k, v in row["dofs_by_unknown"].items())
            rows.append(row)
            print({k: row.get(k) for k, _ in COLUMNS}, flush=True)
    ratio_rows = ratios(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "benchmark": NAME,
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "case": str(CASE.relative_to(ROOT)),
        "parameters": {
            "size_um": args.size,
            "interface_size_um": args.size / 5,
            "dt_s": args.dt,
            "steps": args.steps,
            "heat_transfer_coefficient_W_m2K": args.h,
            "current_density_mA_cm2": args.current,
        },
        "rows": rows,
        "ratios_coupled_over_conduction": ratio_rows,
    }
    (RESULTS / f"{NAME}.json").write_text(json.dumps(meta, indent=2))
    table = markdown_table(rows, COLUMNS)
    ratio_table = markdown_table(ratio_rows, RATIO_COLUMNS)
    text = (
        f"{args.steps} steps of {args.dt} s at {args.current} mA/cm^2, h = {args.h} W/(m^2 K), "
        f"mesh {args.size} um (interface {args.size / 5:g} um). Per step: the t = 0 rest "
        "state excluded; solve/steps includes its solve.\n\n"
        f"{table}\n\nCoupled / conduction alone:\n\n{ratio_table}\n"
    )
    odd = [r for r in rows if r["status"] != "ok" or r["step_cuts"] or r["steps"] != args.steps]
    for r in odd:
        text += (
            f"\nNote: {r['variant']} on {r['ranks']} rank(s): status {r['status']}, "
            f"{r['steps']} steps, {r['step_cuts']} step cut(s)"
            + (f" ({r['reason']})" if r.get("reason") else "")
            + ".\n"
        )
    (RESULTS / f"{NAME}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
