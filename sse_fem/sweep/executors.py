"""Where a sweep's cases run.

- ``local``: N cases at a time on this machine, each its own ``sse-fem run`` (under
  ``mpirun -n k`` for k ranks per case). SIGTERM/SIGINT stop it cleanly: running cases are
  interrupted (they write their partial results) and nothing new starts.
- ``mpi``: inside one ``mpirun -n N``, the ranks split into groups of k; each group's leader
  pulls the next unclaimed case (the per-case claim is the queue) and the group runs it in
  process on its sub-communicator: no process start per case, forms compiled once.
- ``slurm``: a job array, one task per ``cases_per_task`` cases, submitted with ``sbatch``
  (resources from the sweep file, ``%max_running`` throttle); each task runs its cases like
  ``local`` does (``mpirun``, which starts through SLURM, or ``srun``). ``squeue`` says what
  is queued; the case folders say what ended.

Every executor claims a case before running it, so two sweeps on one folder never run a
case twice, and skips finished cases, so a restart recomputes nothing finished.
"""

from __future__ import annotations

import json
import math
import shlex
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sse_fem.errors import CaseError
from sse_fem.sweep import store
from sse_fem.sweep.spec import PlannedCase, Sweep

#: states a plain ``run`` takes up; ``resubmit`` adds the failed ones
RUNNABLE = {"pending", "interrupted"}
RESUBMITTABLE = RUNNABLE | {"failed"}


def todo(sweep: Sweep, wanted: set[str]) -> list[PlannedCase]:
    return [c for c in sweep.cases if store.state(store.case_dir(sweep, c))[0] in wanted]


def run_local(sweep: Sweep, wanted: set[str], parallel: int | None = None) -> dict[str, int]:
    """Run the cases in ``wanted`` states, ``parallel`` at a time; counts of end states."""
    cases = todo(sweep, wanted)
    parallel = parallel or sweep.spec.local.parallel
    stop = threading.Event()
    counts: dict[str, int] = {}
    done = 0

    def one(case: PlannedCase) -> None:
        nonlocal done
        if stop.is_set():
            return
        end = store.run_one(sweep, case, stop=stop)
        key = end or "skipped"
        counts[key] = counts.get(key, 0) + 1
        done += 1
        print(f"[{done}/{len(cases)}] case {case.index}: {key}", flush=True)

    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            list(pool.map(one, cases))
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stop.is_set():
        counts["stopped"] = 1
    return counts


def run_mpi(sweep: Sweep, wanted: set[str]) -> dict[str, int]:
    """Run in this ``mpirun``: groups of ``sweep.ranks`` ranks pull cases (collective)."""
    from mpi4py import MPI

    from sse_fem.config import load_case
    from sse_fem.driver import Run

    world = MPI.COMM_WORLD
    k = sweep.spec.sweep.ranks
    if world.size % k:
        raise CaseError(f"{world.size} ranks do not split into groups of {k}", "sweep.ranks")
    cases = world.bcast(todo(sweep, wanted) if world.rank == 0 else None, root=0)
    group = world.Split(world.rank // k, world.rank)
    leader = group.rank == 0
    ends: dict[str, int] = {}
    position = 0
    try:
        while True:
            pick = None
            if leader:
                while position < len(cases) and pick is None:
                    folder = store.case_dir(sweep, cases[position])
                    if store.claim(folder):
                        if store.state(folder, claimed=True)[0] in wanted:
                            pick = position
                        else:
                            store.release(folder)
                    position += 1
            pick = group.bcast(pick, root=0)
            if pick is None:
                break
            case = cases[pick]
            folder = store.case_dir(sweep, case)
            t0 = time.perf_counter()
            reason = None
            try:
                spec = load_case(sweep.base_case, case.overrides())
                summary = Run(spec, outdir=str(folder), comm=group, case_file=str(sweep.base_case))
                status = summary.execute()["status"]
            except Exception as err:  # a failing case never stops the others
                status, reason = "failed", f"{type(err).__name__}: {err}"
            if leader:
                ended: dict[str, Any] = {
                    "status": status,
                    "returncode": 0 if status == "ok" else 1,
                    "wall_s": time.perf_counter() - t0,
                    "ranks": k,
                    "executor": "mpi",
                }
                if reason:
                    ended["reason"] = reason
                store.write_json(folder / store.STATUS, ended)
                end = store.state(folder, claimed=True)[0]
                store.release(folder)
                ends[end] = ends.get(end, 0) + 1
                print(f"case {case.index}: {end}", flush=True)
    finally:
        group.Free()
    totals = world.gather(ends, root=0)
    merged: dict[str, int] = {}
    for part in totals or []:
        for key, n in part.items():
            merged[key] = merged.get(key, 0) + n
    return merged


# --- SLURM --------------------------------------------------------------------------------


def slurm_dir(sweep: Sweep) -> Path:
    return sweep.output / "slurm"


def job_script(sweep: Sweep, cases: list[PlannedCase], listing: Path) -> str:
    """The ``sbatch`` script of one job array over ``cases`` (listed in ``listing``)."""
    cfg = sweep.spec.slurm
    tasks = math.ceil(len(cases) / cfg.cases_per_task)
    throttle = f"%{cfg.max_running}" if cfg.max_running else ""
    logs = slurm_dir(sweep).resolve()
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name=sse-fem-{sweep.name}",
        f"#SBATCH --array=0-{tasks - 1}{throttle}",
        f"#SBATCH --ntasks={sweep.spec.sweep.ranks}",
        f"#SBATCH --time={cfg.time}",
        f"#SBATCH --output={logs}/%A_%a.out",
    ]
    if cfg.memory:
        lines.append(f"#SBATCH --mem={cfg.memory}")
    if cfg.partition:
        lines.append(f"#SBATCH --partition={cfg.partition}")
    if cfg.account:
        lines.append(f"#SBATCH --account={cfg.account}")
    lines += [f"#SBATCH {shlex.quote(extra)}" for extra in cfg.extra]
    task = [sys.executable, "-m", "sse_fem", "sweep", "task", str(sweep.path.resolve())]
    task += ["--list", str(listing.resolve()), "--item"]
    lines += [
        f"cd {shlex.quote(str(Path.cwd()))}",
        "exec " + " ".join(shlex.quote(t) for t in task) + ' "$SLURM_ARRAY_TASK_ID"',
        "",
    ]
    return "\n".join(lines)


def submit_slurm(sweep: Sweep, wanted: set[str]) -> str | None:
    """Submit the cases in ``wanted`` states that SLURM does not already hold; the job id."""
    held = set(queued(sweep))
    cases = [c for c in todo(sweep, wanted) if c.index not in held]
    if not cases:
        return None
    folder = slurm_dir(sweep)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    listing = folder / f"{stamp}.cases"
    listing.write_text("".join(f"{c.index}\n" for c in cases))
    script = folder / f"{stamp}.sh"
    script.write_text(job_script(sweep, cases, listing))
    out = _slurm(["sbatch", "--parsable", str(script)])
    job = out.strip().split(";")[0]
    jobs = read_jobs(sweep)
    jobs.append(
        {
            "job": job,
            "cases": [c.index for c in cases],
            "cases_per_task": sweep.spec.slurm.cases_per_task,
            "script": script.name,
        }
    )
    store.write_json(folder / "jobs.json", {"jobs": jobs})
    return job


def read_jobs(sweep: Sweep) -> list[dict[str, Any]]:
    path = slurm_dir(sweep) / "jobs.json"
    try:
        return list(json.loads(path.read_text())["jobs"])
    except (OSError, ValueError, KeyError):
        return []


def queued(sweep: Sweep) -> dict[int, str]:
    """Case index -> SLURM state (PENDING, RUNNING, ...) of the cases still in the queue."""
    jobs = read_jobs(sweep)
    if not jobs:
        return {}
    ids = ",".join(j["job"] for j in jobs)
    try:
        out = _slurm(["squeue", "-h", "-r", "-j", ids, "-o", "%i %T"])
    except CaseError:  # every job has left the queue (squeue: invalid job id)
        return {}
    by_job = {j["job"]: j for j in jobs}
    found: dict[int, str] = {}
    for line in out.splitlines():
        task, _, slurm_state = line.strip().partition(" ")
        job, _, item = task.partition("_")
        entry = by_job.get(job)
        if entry is None or not item.isdigit():
            continue
        per = int(entry["cases_per_task"])
        for index in entry["cases"][int(item) * per : (int(item) + 1) * per]:
            found[int(index)] = slurm_state
    return found


def wait_slurm(sweep: Sweep, poll_s: float = 2.0, timeout_s: float | None = None) -> None:
    """Block until none of the sweep's jobs is in the queue."""
    t0 = time.monotonic()
    while queued(sweep):
        if timeout_s is not None and time.monotonic() - t0 > timeout_s:
            raise CaseError(f"the sweep's jobs are still queued after {timeout_s:g} s", "slurm")
        time.sleep(poll_s)


def run_task(sweep: Sweep, listing: Path, item: int) -> int:
    """One array task: its share of the listed cases, one after the other."""
    indices = [int(x) for x in listing.read_text().split()]
    per = sweep.spec.slurm.cases_per_task
    chosen = indices[item * per : (item + 1) * per]
    by_index = {c.index: c for c in sweep.cases}
    failed = 0
    for index in chosen:
        end = store.run_one(sweep, by_index[index], launcher=sweep.spec.slurm.launcher)
        print(f"case {index}: {end or 'skipped'}", flush=True)
        failed += end == "failed"
    return 1 if failed else 0


def _slurm(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise CaseError(f"{cmd[0]} not found: is this a SLURM login node?", "slurm") from None
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise CaseError(f"{cmd[0]} failed: {msg[-1] if msg else proc.returncode}", "slurm")
    return proc.stdout
