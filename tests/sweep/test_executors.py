"""Local and MPI-ensemble executors on tiny sweeps: every case once, failures recorded and
isolated, restarts that recompute nothing, an interruption, two sweeps on one folder, and
one compilation of the forms for a whole sweep."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from sse_fem.cli import main
from sse_fem.sweep import store
from sse_fem.sweep.spec import load_sweep
from sse_fem.sweep.table import lookup
from tests.sweep.helpers import CURRENT, NEWTON, four_cases, tiny_sweep

ROOT = Path(__file__).resolve().parents[2]
MPIRUN = str(Path(sys.executable).parent / "mpirun")


def rows(sweep_file: Path) -> list[dict]:
    with open(sweep_file.parent / "out" / "sweep.csv") as fh:
        return list(csv.DictReader(fh))


def mtimes(sweep_file: Path, name: str) -> dict[str, float]:
    out = sweep_file.parent / "out" / "cases"
    return {p.parent.name: p.stat().st_mtime_ns for p in out.glob(f"*/{name}")}


def sweep_process(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sse_fem", "sweep", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_local_sweep_table_failures_restart_and_resubmit(tmp_path, capsys):
    path = four_cases(tmp_path)
    assert main(["sweep", "run", str(path), "--parallel", "2"]) == 3  # one case failed
    table = rows(path)
    assert [r["index"] for r in table] == ["0", "1", "2", "3"]
    assert [r["status"] for r in table] == ["done", "done", "done", "failed"]
    assert "Newton diverged" in table[3]["reason"]
    column = f"{CURRENT} [A/m^2]"
    sweep = load_sweep(path)
    for row, case in zip(table, sweep.cases, strict=True):
        resolved = yaml.safe_load((store.case_dir(sweep, case) / "case.resolved.yaml").read_text())
        value, unit = lookup(resolved, CURRENT).split()
        assert (float(row[column]), unit) == (float(value), "A/m^2")
        assert int(row[NEWTON]) == lookup(resolved, NEWTON)
    assert float(table[1]["conduction.current_density_A_m2"]) == 10.0
    parquet = pq.read_table(path.parent / "out" / "sweep.parquet")
    assert parquet.num_rows == 4 and parquet.column_names == list(table[0])
    # a restart runs nothing: finished cases are kept, the failed one waits for resubmit
    done, outs = mtimes(path, "summary.json"), mtimes(path, "run.out")
    capsys.readouterr()
    assert main(["sweep", "run", str(path)]) == 3
    assert "ended: none" in capsys.readouterr().out
    assert mtimes(path, "summary.json") == done and mtimes(path, "run.out") == outs
    assert main(["sweep", "resubmit", str(path)]) == 3  # it fails again, alone
    after = mtimes(path, "run.out")
    changed = sorted(k for k in outs if after[k] != outs[k])
    assert changed == [store.case_dir(sweep, sweep.cases[3]).name]
    assert main(["sweep", "status", str(path)]) == 0
    status = capsys.readouterr().out
    assert "3 done, 1 failed" in status and "case 3 failed: Newton diverged" in status


def test_an_interrupted_sweep_goes_on_without_recomputing(tmp_path):
    path = four_cases(tmp_path, failing=False)
    proc = sweep_process("run", str(path), "--parallel", "1")
    deadline = time.monotonic() + 120
    while not mtimes(path, "summary.json") and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)  # a user's Ctrl-C or the scheduler's kill
    out, _ = proc.communicate(timeout=120)
    assert "stopped" in out, out
    sweep = load_sweep(path)
    states = [store.state(store.case_dir(sweep, c))[0] for c in sweep.cases]
    assert states[0] == "done" and "running" not in states and "failed" not in states
    assert set(states[1:]) <= {"done", "interrupted", "pending"} and "done" != states[-1]
    done = {k: v for k, v in mtimes(path, "summary.json").items() if k.startswith("0000")}
    proc = sweep_process("run", str(path), "--parallel", "2")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert [r["status"] for r in rows(path)] == ["done"] * 4
    assert {k: v for k, v in mtimes(path, "summary.json").items() if k in done} == done


def test_two_sweeps_on_one_folder_never_run_a_case_twice(tmp_path):
    path = four_cases(tmp_path, failing=False)
    main(["sweep", "plan", str(path)])
    procs = [sweep_process("run", str(path), "--parallel", "1") for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    ran = [
        line.split(": ")[0].split()[-1]
        for o in outputs
        for line in o.splitlines()
        if line.endswith(": done")
    ]
    assert sorted(ran) == ["0", "1", "2", "3"], outputs  # each case run by exactly one of them
    assert [r["status"] for r in rows(path)] == ["done"] * 4


def test_mpi_executor_splits_the_ranks_into_groups_that_pull_cases(tmp_path):
    path = four_cases(tmp_path)
    out = subprocess.run(
        [
            MPIRUN,
            "-n",
            "2",
            sys.executable,
            "-m",
            "mpi4py",
            "-m",
            "sse_fem",
            "sweep",
            "run",
            str(path),
            "--executor",
            "mpi",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 3, out.stdout + out.stderr  # one case failed, the others did not stop
    table = rows(path)
    assert [r["status"] for r in table] == ["done", "done", "done", "failed"]
    assert {r["ranks"] for r in table} == {"1"}
    ran = [ln for ln in out.stdout.splitlines() if ln.startswith("case ")]
    assert sorted(ran) == ["case 0: done", "case 1: done", "case 2: done", "case 3: failed"]


def test_a_sweep_over_a_parameter_compiles_its_forms_once(tmp_path):
    """Ten exchange currents in one process (the mpi executor on one rank): the JIT cache
    holds after the sweep exactly the modules one case compiled."""
    cache = tmp_path / "cache"
    env = {"XDG_CACHE_HOME": str(cache)}
    i0 = "interfaces.conduction.anode_electrolyte.exchange_current_density"
    one = tiny_sweep(tmp_path / "one", {i0: ["1 mA/cm^2"]})
    proc = sweep_process("run", str(one), "--executor", "mpi", env=env)
    assert proc.communicate(timeout=300)[0] and proc.returncode == 0
    compiled = sorted(p.name for p in cache.rglob("*.so"))
    assert compiled
    values = {"start": "0.1 mA/cm^2", "stop": "10 mA/cm^2", "num": 10, "scale": "log"}
    ten = tiny_sweep(tmp_path / "ten", {i0: values})
    proc = sweep_process("run", str(ten), "--executor", "mpi", env=env)
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, out
    assert [r["status"] for r in rows(ten)] == ["done"] * 10
    assert sorted(p.name for p in cache.rglob("*.so")) == compiled
