"""Current distribution at a voided Li | LLZO contact vs the Wagner number
Wa = sigma V_T / (i0 L) (physics.md 5.6; L = void radius): Butler-Volmer kinetics make the
current more uniform as Wa grows, and in the linear-kinetics regime the non-uniformity
(focusing factor - 1) falls as 1/Wa."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sse_fem.config import validate_case
from sse_fem.driver import Run
from sse_fem.materials import get_material
from tests.physics.helpers import FARADAY, GAS

CASE = Path(__file__).resolve().parents[2] / "cases" / "li_void_stripping" / "case.yaml"
SIGMA = get_material("LLZO_Ta").get("ionic_conductivity")
RADIUS = 2.5e-6  # void radius [m] in the shipped case
V_T = GAS * 298.15 / FARADAY


def focusing(i0: float, current: float, outdir: Path) -> float:
    data = yaml.safe_load(CASE.read_text())
    data["interfaces"]["conduction"][0]["exchange_current_density"] = f"{i0} A/m^2"
    # Metal grounded, current drawn at the SE side: a metal (sigma ~ 1e7 S/m) floating at the
    # cell voltage resolves its internal currents only to ~ sigma eps V, which at these tiny
    # currents would dominate the current balance checked below.
    data["boundary_conditions"]["conduction"][:2] = [
        {"name": "metal_terminal", "type": "ground"},
        {"name": "electrolyte_terminal", "type": "current_density", "value": f"-{current} A/m^2"},
    ]
    data["outputs"] = {"fields": False, "plots": False}
    summary = Run(validate_case(data), outdir=str(outdir)).execute()
    assert summary["status"] == "ok"
    r = summary["results"]
    assert r["conduction.metal_electrolyte.current_A"] == pytest.approx(
        -r["conduction.current_A"], rel=1e-7
    )
    return r["conduction.metal_electrolyte.focusing_factor"]


@pytest.mark.mpi
def test_current_becomes_uniform_as_wagner_number_grows(shared_tmp):
    exchange = [1e5, 1e3, 1e1, 1e0, 1e-1]  # A/m^2
    wagner = [SIGMA * V_T / (i0 * RADIUS) for i0 in exchange]
    # small current: linear kinetics at every i0 (i / i0 <= 1e-3)
    f = [focusing(i0, 1e-4, shared_tmp / f"i0_{i0}") for i0 in exchange]
    assert all(a > b for a, b in zip(f, f[1:], strict=False)), f
    assert f[0] > 1.5  # Wa ~ 1e-2: near the primary (Ohmic) distribution, edges dominate
    # the case README quotes these two: focusing 5.2 at Wa ~ 0.005, 1.9 at Wa ~ 0.5
    assert f[0] == pytest.approx(5.2, abs=0.05) and f[1] == pytest.approx(1.9, abs=0.05)
    assert f[-1] - 1 < 1e-3  # Wa ~ 5e3: uniform
    # asymptotic regime: (f - 1) ~ 1/Wa, i.e. slope -1 in log-log over a decade of Wa
    import math

    slope = math.log((f[-1] - 1) / (f[-2] - 1)) / math.log(wagner[-1] / wagner[-2])
    assert slope == pytest.approx(-1.0, abs=0.05), (slope, wagner, f)
