"""No wrong answer with status ok: the reproductions of the probe on the shipped symmetric
cell (ionic conductivity 0, 1e-10, 1e-20 S/m; exchange current 1e-8 and 1e-12 A/m^2) end as
one-line case errors or `status: failed` with the current balance as the reason, and a good
run reports its balance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sse_fem.config import load_case
from sse_fem.driver import Run
from sse_fem.errors import CaseError
from tests.physics.helpers import SYMMETRIC

SSE_FEM = str(Path(sys.executable).with_name("sse-fem"))
IFACES = ("anode_electrolyte", "electrolyte_cathode")


def _run(tmp: Path, *overrides: str) -> tuple[int, str, dict | None]:
    out = tmp / "out"
    proc = subprocess.run(
        [SSE_FEM, "run", str(SYMMETRIC), "-o", str(out), "outputs.plots=false", *overrides],
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = out / "summary.json"
    return (
        proc.returncode,
        proc.stderr,
        json.loads(summary.read_text()) if summary.exists() else None,
    )


@pytest.mark.parametrize("sigma", ["0 S/m", "1e-10 S/m", "1e-20 S/m"])
def test_absurd_conductivity_is_a_case_error(tmp_path, sigma):
    code, err, _ = _run(tmp_path, f"materials.llzo.ionic_conductivity={sigma}")
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err
    assert "materials" in lines[0]


@pytest.mark.parametrize("i0", ["1e-8 A/m^2", "1e-12 A/m^2"])
def test_starved_kinetics_fail_on_the_current_balance(tmp_path, i0):
    overrides = [f"interfaces.conduction.{name}.exchange_current_density={i0}" for name in IFACES]
    code, err, summary = _run(tmp_path, *overrides)
    assert code == 3, err
    assert summary is not None and summary["status"] == "failed"
    assert "balance missed" in summary["reason"]
    balance = summary["conservation"]["conduction"]
    assert balance["balance_error"] > balance["tolerance"]


def test_a_good_run_reports_its_current_balance(tmp_path):
    case = load_case(SYMMETRIC, ["outputs.plots=false", "outputs.fields=false"])
    summary = Run(case, outdir=str(tmp_path)).execute()
    assert summary["status"] == "ok"
    b = summary["conservation"]["conduction"]
    # current in at the terminal = current out at the ground = current through each interface
    i = b["current_bottom_A"]
    assert b["current_top_A"] == pytest.approx(-i, rel=1e-8)
    assert b["current_anode_electrolyte_A"] == pytest.approx(i, rel=1e-8)
    assert b["current_electrolyte_cathode_A"] == pytest.approx(-i, rel=1e-8)
    assert b["balance_error"] < b["tolerance"]


def test_balance_tolerance_is_a_case_key():
    with pytest.raises(CaseError, match="solver.balance_tolerance"):
        load_case(SYMMETRIC, ["solver.balance_tolerance=-1"])
