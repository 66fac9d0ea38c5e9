"""Cycling protocol on a terminal (current step, voltage hold, rest) through double-layer
charging with linear kinetics: the exact R_s + 2 (R_ct || C_dl) circuit, and the 3D cell
(iterative preset: GAMG with the terminal potential split off by a Schur complement, drive
modes switched without recompilation) gives the 1D (direct) numbers step by step."""

from __future__ import annotations

import csv
import math

import pytest

from sse_fem.driver import Run
from sse_fem.materials import get_material
from tests.physics.helpers import FARADAY, GAS, capacitive_interfaces, symmetric_case

I0, C_DL, I1 = 10.0, 0.1, 10.0  # A/m^2, F/m^2, A/m^2
R_CT = GAS * 298.15 / (FARADAY * I0)
TAU = R_CT * C_DL
R_S = 100e-6 / get_material("LLZO_Ta").get("ionic_conductivity") + 1e-9
V_HOLD = 0.05
STEPS = 24  # time steps per protocol step


def exact(t: float) -> tuple[float, float]:
    """(voltage, current density) of the circuit at time t."""
    eta1 = I1 * R_CT * (1 - math.exp(-min(t, 2 * TAU) / TAU))
    if t <= 2 * TAU:
        return I1 * R_S + 2 * eta1, I1
    g = 2 / R_S + 1 / R_CT
    eta_inf = V_HOLD / R_S / g
    eta2 = eta_inf + (eta1 - eta_inf) * math.exp(-(min(t, 4 * TAU) - 2 * TAU) * g / C_DL)
    if t <= 4 * TAU:
        return V_HOLD, (V_HOLD - 2 * eta2) / R_S
    eta3 = eta2 * math.exp(-(t - 4 * TAU) / TAU)
    return 2 * eta3, 0.0


def _run(dimension: int, tmp, steps: int = STEPS) -> list[dict]:
    ifaces = capacitive_interfaces("linear", I0, C_DL)
    duration = f"{2 * TAU} s"
    case = symmetric_case(
        dimension,
        {
            "interfaces": {"conduction": ifaces},
            "boundary_conditions": {
                "conduction": [
                    {"name": "bottom", "type": "terminal"},
                    {"name": "top", "type": "ground"},
                ]
            },
            "time": {
                "mode": "transient",
                "dt": f"{2 * TAU / steps} s",
                "scheme": "bdf2",
                "adaptive": False,
                "protocol": [
                    {"mode": "current_density", "value": f"{I1} A/m^2", "duration": duration},
                    {"mode": "voltage", "value": f"{V_HOLD} V", "duration": duration},
                    {"mode": "rest", "duration": duration},
                ],
            },
        },
        size="25 um",
    )
    out = tmp / f"d{dimension}_{steps}"
    summary = Run(case, outdir=str(out)).execute()
    assert summary["status"] == "ok"
    with open(out / "timeseries.csv") as fh:
        return [{k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(fh)]


@pytest.mark.mpi
def test_protocol_current_hold_rest(shared_tmp):
    rows_1d = _run(1, shared_tmp)
    rows_3d = _run(3, shared_tmp)
    assert len(rows_1d) == len(rows_3d) == 1 + 3 * STEPS
    for r1, r3 in zip(rows_1d, rows_3d, strict=True):
        assert r3["time_s"] == pytest.approx(r1["time_s"], rel=1e-12)
        assert r3["conduction.voltage_V"] == pytest.approx(
            r1["conduction.voltage_V"], rel=1e-7, abs=1e-12
        )
        assert r3["conduction.current_density_A_m2"] == pytest.approx(
            r1["conduction.current_density_A_m2"], rel=1e-7, abs=1e-9
        )
    for r in rows_1d[1:]:
        t = r["time_s"]
        if 2 * TAU < t <= 4 * TAU * (1 + 1e-12):
            assert r["conduction.voltage_V"] == pytest.approx(V_HOLD, rel=1e-12)
        if t > 4 * TAU * (1 + 1e-9):
            assert r["conduction.current_density_A_m2"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.mpi
def test_protocol_converges_to_the_exact_circuit_at_second_order(shared_tmp):
    """Errors at the end of each protocol step fall as dt^2 (BDF2 with a BDF1 first step
    after every drive change)."""
    errors = []
    for steps in (16, 32, 64):
        rows = _run(1, shared_tmp, steps)
        ends = [rows[k * steps] for k in (1, 2, 3)]
        err = 0.0
        for r in ends:
            v, i = exact(r["time_s"])
            err = max(
                err,
                abs(r["conduction.voltage_V"] - v) / V_HOLD,
                abs(r["conduction.current_density_A_m2"] - i) / I1,
            )
        errors.append(err)
    rates = [math.log2(a / b) for a, b in zip(errors, errors[1:], strict=False)]
    assert errors[-1] < 1e-3
    assert min(rates) > 1.8, (errors, rates)
