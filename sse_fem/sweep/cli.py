"""``sse-fem sweep plan|run|status|collect|resubmit|task SWEEP``."""

from __future__ import annotations

import argparse
from pathlib import Path

from sse_fem.errors import CaseError
from sse_fem.sweep import executors, store, table
from sse_fem.sweep.spec import Sweep, load_sweep

#: exit status of ``sweep run``/``resubmit`` when some case failed (as ``run``'s failed solve)
EXIT_SOME_FAILED = 3


def sweep_command(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    in_mpi = args.verb in ("run", "resubmit") and args.executor == "mpi"
    if world.size > 1 and not in_mpi:
        raise CaseError("only `sweep run --executor mpi` runs under mpirun", "sweep")
    sweep = load_sweep(args.sweep, check_cases=args.verb in ("plan", "run", "resubmit"))
    if args.verb == "plan":
        return _plan(sweep)
    if args.verb == "status":
        return _status(sweep)
    if args.verb == "collect":
        return _collect(sweep, args.plot)
    if args.verb == "task":
        return executors.run_task(sweep, Path(args.list), args.item)
    wanted = executors.RUNNABLE if args.verb == "run" else executors.RESUBMITTABLE
    if world.rank == 0:
        store.prepare(sweep)
    world.barrier()
    if args.executor == "slurm":
        job = executors.submit_slurm(sweep, wanted)
        print(f"submitted job array {job}" if job else "nothing to submit: every case is done")
        if not args.wait:
            return 0
        executors.wait_slurm(sweep)
    elif args.executor == "mpi":
        counts = executors.run_mpi(sweep, wanted)
        if world.rank != 0:
            return 0
        print("ended: " + _ended(counts))
    else:
        counts = executors.run_local(sweep, wanted, args.parallel)
        print("ended: " + _ended(counts))
        if counts.get("stopped"):
            print("stopped: run the same command again to go on (finished cases are kept)")
    rows = table.collect(sweep)
    csv_path, _ = table.write_table(sweep, rows)
    failed = [r for r in rows if r["status"] == "failed"]
    print(f"{_counts(rows)} -> {csv_path}")
    return EXIT_SOME_FAILED if failed else 0


def _ended(counts: dict[str, int]) -> str:
    shown = {k: n for k, n in counts.items() if k != "stopped"}
    return ", ".join(f"{n} {k}" for k, n in sorted(shown.items())) or "none"


def _plan(sweep: Sweep) -> int:
    print(f"{sweep.name}: {len(sweep.cases)} cases of {sweep.base_case.name} -> {sweep.output}")
    print(f"ranks per case: {sweep.spec.sweep.ranks}")
    keys = sweep.parameter_keys
    print("  ".join(["index", "folder".ljust(15), *keys]))
    for case in sweep.cases[:200]:
        values = [str(case.params[k]) for k in keys]
        print("  ".join([str(case.index).rjust(5), case.folder, *values]))
    if len(sweep.cases) > 200:
        print(f"... and {len(sweep.cases) - 200} more")
    return 0


def _status(sweep: Sweep) -> int:
    held = executors.queued(sweep)
    rows = []
    for case in sweep.cases:
        state, reason = store.state(store.case_dir(sweep, case))
        if state in ("pending", "interrupted") and case.index in held:
            state = "queued" if held[case.index] == "PENDING" else "running"
        rows.append({"index": case.index, "status": state, "reason": reason})
    print(f"{sweep.name}: {_counts(rows)}")
    for r in rows:
        if r["status"] == "failed":
            print(f"  case {r['index']} failed: {r['reason']}")
    return 0


def _collect(sweep: Sweep, plots: list[str]) -> int:
    from sse_fem.io.plots import plot_sweep

    rows = table.collect(sweep)
    csv_path, parquet_path = table.write_table(sweep, rows)
    print(f"{len(rows)} cases ({_counts(rows)}) -> {csv_path}, {parquet_path.name}")
    params = [
        c for c in table.ordered_columns(sweep, rows) if c.split(" [")[0] in sweep.parameter_keys
    ]
    for spec in plots:
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise CaseError(f"{spec!r}: give FIGURE:PARAM or FIGURE:PARAM:PARAM2", "--plot")
        figure, *axes = (table.column_for(rows, p) for p in parts)
        names = [_short(figure), *(_short(a) for a in axes)]
        path = sweep.output / f"sweep_{names[0]}_vs_{'_'.join(names[1:])}.png"
        plot_sweep(rows, figure, axes[0], axes[1] if len(axes) > 1 else None, path, params)
        print(f"plot -> {path}")
    return 0


def _short(column: str) -> str:
    """A file-name part for a column: its last two dotted names."""
    parts = column.split(" [")[0].split(".")
    text = "_".join(p for p in parts[-2:] if p not in ("value",))
    return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in text)


def _counts(rows: list[dict]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
