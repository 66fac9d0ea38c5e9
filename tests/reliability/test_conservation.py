"""No wrong answer with status ok: the reproductions of the probe on the shipped symmetric
cell: ionic conductivity 0, 1e-10, 1e-20 S/m are one-line case errors, exchange currents
1e-8 and 1e-12 A/m^2 give the exact voltage, and a run reports its current balance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sse_fem.config import load_case
from sse_fem.driver import Run
from sse_fem.errors import CaseError
from sse_fem.materials import get_material
from tests.physics.helpers import SYMMETRIC, symmetric_voltage

SSE_FEM = str(Path(sys.executable).with_name("sse-fem"))
IFACES = ("anode_electrolyte", "electrolyte_cathode")
SIGMA = get_material("LLZO_Ta").get("ionic_conductivity")  # S/m at 298.15 K


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


@pytest.mark.parametrize("i0", [1e-8, 1e-12])
def test_starved_kinetics_give_the_exact_voltage(tmp_path, i0):
    """i0 ten and fourteen decades below the drive: Newton limits each step's change of
    overpotential and climbs the exponential to V = iL/sigma + 4 V_T asinh(i/2i0) + i R_c
    (2.15 V and 3.10 V); it used to report 1e-8 V with status ok."""
    overrides = [f"interfaces.conduction.{n}.exchange_current_density={i0} A/m^2" for n in IFACES]
    code, err, summary = _run(tmp_path, *overrides)
    assert code == 0, err
    assert summary is not None and summary["status"] == "ok"
    exact = symmetric_voltage(10.0, 100e-6, SIGMA, i0, 298.15, contact=1e-9)
    assert summary["results"]["conduction.voltage_V"] == pytest.approx(exact, rel=1e-6)
    balance = summary["conservation"]["conduction"]
    assert balance["balance_error"] < balance["tolerance"]


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


def test_a_solve_stopped_short_fails_on_the_current_balance(tmp_path):
    """A Newton tolerance of 0.5 V accepts a state far from the solution of starved
    kinetics: the run must end failed on the current balance, not ok."""
    overrides = [f"interfaces.conduction.{n}.exchange_current_density=1e-8 A/m^2" for n in IFACES]
    code, err, summary = _run(tmp_path, *overrides, "solver.newton_tolerance=0.5")
    assert code == 3, err
    assert summary is not None and summary["status"] == "failed"
    assert "balance missed" in summary["reason"]
    balance = summary["conservation"]["conduction"]
    assert balance["balance_error"] > balance["tolerance"]
