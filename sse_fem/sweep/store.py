"""A sweep's folder: one folder per case, its state, the claim that keeps a case to one
runner, and running one case.

Layout of ``OUT`` (the sweep's output)::

    OUT/sweep.yaml                      the sweep file as run (a copy)
    OUT/cases/0003-1a2b3c4d5e/          index + hash of the parameters
        params.json                     index, key, parameters (the overrides)
        case.resolved.yaml, summary.json, timeseries.csv, ...   the run's own outputs
        run.out                         the run's stdout and stderr
        sweep_status.json               how the runner saw it end (return code, wall time)
        .claim                          host, pid, time of the runner working on it
        .lock                           the run's own lock while it writes (``sse-fem run``)
    OUT/sweep.csv, OUT/sweep.parquet    the results table (``collect``)

A case is *done* when its ``summary.json`` says ok; *failed* when it says failed (or the run
ended without one); *interrupted* when killed; *running* while a live runner holds its claim
(or a live run its folder's lock, e.g. one left behind by a killed runner); *pending*
otherwise. Folders are found by the parameters' hash, so a restarted sweep never recomputes
a finished case, whatever its index.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sse_fem.errors import CaseError
from sse_fem.io import lockfile
from sse_fem.sweep.spec import PlannedCase, Sweep

CLAIM = ".claim"
RUN_LOCK = ".lock"  # a run's own lock on its output folder (same "host pid time" form)
STATUS = "sweep_status.json"


def case_dir(sweep: Sweep, case: PlannedCase) -> Path:
    """The folder of ``case``: an existing one with its hash, else index-hash."""
    root = sweep.output / "cases"
    if root.is_dir():
        for found in root.glob(f"*-{case.key}"):
            return found
    return root / case.folder


def prepare(sweep: Sweep) -> dict[int, Path]:
    """Create the sweep folder and every case folder with its ``params.json`` (idempotent)."""
    sweep.output.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sweep.path, sweep.output / "sweep.yaml")
    folders = {}
    for case in sweep.cases:
        d = case_dir(sweep, case)
        d.mkdir(parents=True, exist_ok=True)
        params = {"index": case.index, "key": case.key, "parameters": case.params}
        write_json(d / "params.json", params)
        folders[case.index] = d
    return folders


def state(folder: Path, claimed: bool = False) -> tuple[str, str]:
    """(state, reason) of a case folder (see the module docstring); ``claimed``: by this
    process, so its claim does not make it running."""
    if not claimed and lockfile.held(folder / CLAIM) or lockfile.held(folder / RUN_LOCK):
        return "running", ""
    summary = read_json(folder / "summary.json")
    ended = read_json(folder / STATUS)
    status = summary.get("status") if summary else None
    if status == "ok":
        return "done", ""
    if status == "interrupted":
        return "interrupted", str(summary.get("reason", ""))
    if status in ("failed", "running") or ended.get("status") == "failed":
        reason = (summary or {}).get("reason") or ended.get("reason") or "no summary written"
        return "failed", str(reason)
    return "pending", ""


def claim(folder: Path) -> bool:
    """Take the case for this process (atomic); False when a live runner has it. A claim
    whose process is gone (same host) is taken over."""
    path = folder / CLAIM
    token = lockfile.token()
    for _ in range(3):
        if lockfile.create(path, token):
            return True
        holder = lockfile.read(path)
        if not lockfile.is_stale(holder):
            return False
        lockfile.remove_if(path, holder)
    return False


def release(folder: Path) -> None:
    path = folder / CLAIM
    if lockfile.mine(path):
        path.unlink(missing_ok=True)


def command(sweep: Sweep, case: PlannedCase, folder: Path, launcher: str = "mpirun") -> list[str]:
    """The command that runs one case: ``sse-fem run BASE overrides -o FOLDER -q`` under
    ``mpirun -n k`` (or ``srun``) when the sweep asks for k > 1 ranks."""
    run = [sys.executable, "-m", "sse_fem", "run", str(sweep.base_case), *case.overrides()]
    run += ["-o", str(folder), "-q"]
    ranks = sweep.spec.sweep.ranks
    if ranks == 1:
        return run
    if launcher == "srun":
        return ["srun", "-n", str(ranks), *run]
    return [mpirun(), "-n", str(ranks), *run]


def mpirun() -> str:
    """The ``mpirun`` beside this Python (the venv's MPICH), else the one on PATH."""
    beside = Path(sys.executable).parent / "mpirun"
    if beside.exists():
        return str(beside)
    found = shutil.which("mpirun")
    if found is None:
        raise CaseError("no mpirun found for cases with more than one rank", "sweep.ranks")
    return found


def run_one(
    sweep: Sweep, case: PlannedCase, launcher: str = "mpirun", stop: Any = None
) -> str | None:
    """Run one case in its own process(es) unless it is done or another runner has it;
    returns its final state (None: skipped). ``stop`` (a threading.Event): when set, the
    run is sent SIGTERM and ends interrupted. Never raises for a failing case."""
    folder = case_dir(sweep, case)
    folder.mkdir(parents=True, exist_ok=True)
    if not claim(folder):
        return None
    try:
        if state(folder, claimed=True)[0] == "done":
            return None
        (folder / STATUS).unlink(missing_ok=True)
        t0 = time.perf_counter()
        with open(folder / "run.out", "w") as out:
            proc = subprocess.Popen(
                command(sweep, case, folder, launcher),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            while proc.poll() is None:
                if stop is not None and stop.wait(0.2):
                    proc.send_signal(signal.SIGTERM)
                    proc.wait()
                elif stop is None:
                    proc.wait()
        ended: dict[str, Any] = {
            "returncode": proc.returncode,
            "wall_s": time.perf_counter() - t0,
            "host": socket.gethostname(),
            "ranks": sweep.spec.sweep.ranks,
            "executor": "process",
        }
        summary = read_json(folder / "summary.json")
        if summary.get("status") in ("ok", "interrupted") and (
            proc.returncode == 0 or summary["status"] == "interrupted"
        ):
            ended["status"] = summary["status"]
        else:
            ended["status"] = "failed"
            ended["reason"] = summary.get("reason") or _last_line(folder / "run.out")
        write_json(folder / STATUS, ended)
        return state(folder, claimed=True)[0]
    finally:
        release(folder)


def _last_line(path: Path) -> str:
    lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    return lines[-1][-500:] if lines else "the run printed nothing"


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
