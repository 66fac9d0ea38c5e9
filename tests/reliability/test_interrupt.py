"""Interrupting a transient run (SIGINT, SIGTERM, kill -9) and restarting it gives the rows of
the uninterrupted run; a finished or steady run refuses --restart."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.physics.helpers import SYMMETRIC

SSE_FEM = str(Path(sys.executable).with_name("sse-fem"))
MPIRUN = str(Path(sys.executable).with_name("mpirun"))


def _case(tmp: Path, steps: int = 40, fields: bool = False) -> Path:
    data = yaml.safe_load(SYMMETRIC.read_text())
    data["geometry"]["dimension"] = 1
    data["outputs"] = {"plots": False, "fields": fields}
    for spec in data["interfaces"]["conduction"]:
        spec["double_layer_capacitance"] = "0.1 F/m^2"
    data["time"] = {
        "mode": "transient",
        "t_end": f"{steps * 1e-3} s",
        "dt": "1 ms",
        "adaptive": False,
        "checkpoint_every": 3,
    }
    path = tmp / "case.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _rows(out: Path) -> list[dict[str, float]]:
    with open(out / "timeseries.csv") as fh:
        return [{k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(fh)]


def _launch(ranks: int) -> list[str]:
    return [MPIRUN, "-n", str(ranks), SSE_FEM] if ranks > 1 else [SSE_FEM]


def _run(case: Path, *args: str, ranks: int = 1) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*_launch(ranks), "run", str(case), *args], capture_output=True, text=True, timeout=300
    )


def _interrupt(case: Path, out: Path, sig: int, after_rows: int, ranks: int) -> int:
    """Start a run, send ``sig`` once timeseries.csv has ``after_rows`` rows; exit code."""
    proc = subprocess.Popen(
        [*_launch(ranks), "run", str(case), "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        f = out / "timeseries.csv"
        if f.is_file() and len(f.read_text().strip().splitlines()) > after_rows:
            if sig == signal.SIGKILL and ranks > 1:  # as a node failure: every rank at once
                for pid in [*_descendants(proc.pid), proc.pid]:
                    os.kill(pid, signal.SIGKILL)
            else:
                proc.send_signal(sig)
            break
        time.sleep(0.02)
    return proc.wait(timeout=240)


def _descendants(pid: int) -> list[int]:
    """Processes below ``pid`` (Linux /proc)."""
    parent = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(stat.parent.name)] = int(fields[1])
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        children = [c for c, pp in parent.items() if pp == p]
        out += children
        todo += children
    return out


def _same_rows(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b, strict=True):
        assert ra["time_s"] == pytest.approx(rb["time_s"], rel=1e-12)
        assert ra["conduction.voltage_V"] == pytest.approx(
            rb["conduction.voltage_V"], rel=1e-10, abs=1e-14
        )


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> list[dict[str, float]]:
    """The rows of the uninterrupted serial run of ``_case()`` (one run for the module)."""
    tmp = tmp_path_factory.mktemp("uninterrupted")
    assert _run(_case(tmp), "-o", str(tmp / "full")).returncode == 0
    return _rows(tmp / "full")


@pytest.mark.parametrize(
    ("sig", "ranks"),
    [
        (signal.SIGINT, 1),
        (signal.SIGTERM, 1),
        (signal.SIGKILL, 1),
        (signal.SIGINT, 2),
        (signal.SIGTERM, 2),
        (signal.SIGKILL, 2),
    ],
)
def test_interrupt_and_restart_reproduce_the_uninterrupted_run(tmp_path, uninterrupted, sig, ranks):
    case = _case(tmp_path)
    cut = tmp_path / "cut"
    code = _interrupt(case, cut, sig, after_rows=8, ranks=ranks)
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
    else:  # stopped at a step boundary, files closed, a checkpoint written
        assert code != 0
        summary = json.loads((cut / "summary.json").read_text())
        assert summary["status"] == "interrupted", summary.get("reason")
        assert len(_rows(cut)) < len(uninterrupted)
    again = _run(case, "--restart", str(cut), ranks=ranks)
    assert again.returncode == 0, again.stderr
    assert json.loads((cut / "summary.json").read_text())["status"] == "ok"
    _same_rows(_rows(cut), uninterrupted)
    refused = _run(case, "--restart", str(cut))
    assert refused.returncode == 2 and "finished" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.parametrize(("sig", "ranks"), [(signal.SIGINT, 1), (signal.SIGKILL, 2)])
def test_restart_writes_the_field_files_of_the_uninterrupted_run(tmp_path, sig, ranks):
    """Field files cannot be appended to: a restart writes them anew, replaying the saved
    output steps up to its checkpoint, so the ADIOS2 payload equals the uninterrupted run's
    byte for byte (md.idx and profiling.json carry timestamps)."""
    case = _case(tmp_path, fields=True)
    full = tmp_path / "full"
    assert _run(case, "-o", str(full), ranks=ranks).returncode == 0
    cut = tmp_path / "cut"
    assert _interrupt(case, cut, sig, after_rows=8, ranks=ranks) != 0
    again = _run(case, "--restart", str(cut), ranks=ranks)
    assert again.returncode == 0, again.stderr
    _same_rows(_rows(cut), _rows(full))
    for group in ("potentials.bp", "currents.bp"):
        for part in ("data.0", "md.0"):
            assert (cut / group / part).read_bytes() == (full / group / part).read_bytes()
    assert not (cut / "checkpoint" / "fields").exists()  # dropped once the run is finished
