"""Heat against exact answers: uniform-source slab, the steady symmetric cell with Joule and
reaction heat (closed form), energy conservation of an adiabatic transient run, and the
direction of the two-way coupling (and the one-way option)."""

from __future__ import annotations

import csv
import math

from mpi4py import MPI

import numpy as np
import pytest

from sse_fem.driver import Run
from sse_fem.mesh import build_mesh
from sse_fem.problem import build_problem
from tests.conftest import CASES
from tests.physics.helpers import FARADAY, GAS, symmetric_case

T_S = 300.0  # K
LAYERS = (20e-6, 100e-6, 20e-6)  # anode, electrolyte, cathode [m]
K_SE, K_LI = 0.5, 85.0  # W/(m K)
SIGMA_SE, SIGMA_LI = 0.051, 1.08e7  # S/m (LLZO_Ta, Li)
I0 = 10.0  # A/m^2 (1 mA/cm^2)
THERMAL = {"density": "5000 kg/m^3", "specific_heat": "600 J/(kg*K)"}


def _heat_case(dimension: int, size: str, **blocks):
    """The symmetric cell with heat; ``blocks`` replace top-level blocks."""
    base = {
        "physics": {"conduction": {"arrhenius": False}, "heat": {}},
        "materials": {
            "llzo": {"base": "LLZO_Ta", "thermal_conductivity": f"{K_SE} W/(m*K)", **THERMAL},
            "lithium": {"base": "Li", **THERMAL},
        },
    }
    return symmetric_case(dimension, base | blocks, size=size)


def _owned(u) -> np.ndarray:
    return u.x.array[: u.function_space.dofmap.index_map.size_local]


@pytest.mark.mpi
def test_uniform_source_slab_is_exact():
    """-k T'' = q, T = T_s on both faces: T = T_s + q x (L - x) / (2k) (physics.md 5.8);
    P1 is nodally exact in 1D."""
    q, k, dimension = 1e9, 1.5, 1
    case = _heat_case(
        dimension,
        "4 um",
        physics={
            "heat": {
                "volumetric_sources": [
                    {"regions": ["anode", "electrolyte", "cathode"], "value": f"{q} W/m^3"}
                ]
            }
        },
        materials={
            name: {"base": base, "thermal_conductivity": f"{k} W/(m*K)"}
            for name, base in (("llzo", "LLZO_Ta"), ("lithium", "Li"))
        },
        interfaces={},
        boundary_conditions={
            "heat": [
                {"name": b, "type": "temperature", "value": f"{T_S} K"} for b in ("top", "bottom")
            ]
        },
    )
    problem = build_problem(case, build_mesh(case))
    assert problem.linear and problem.one_solve
    ok, its, _ = problem.solve()
    assert ok and its == 1
    T = problem.unknown("T").u
    x = T.function_space.tabulate_dof_coordinates()[: len(_owned(T)), dimension - 1]
    L = sum(LAYERS)
    x = x - problem.comm.allreduce(x.min(initial=np.inf), op=MPI.MIN)
    exact = T_S + q * x * (L - x) / (2 * k)
    rise = q * L**2 / (8 * k)
    err = problem.comm.allreduce(np.abs(_owned(T) - exact).max(initial=0.0), op=MPI.MAX)
    assert err < 1e-8 * rise
    balance = problem.conservation()["heat"]
    assert balance["heat_generated_W"] == pytest.approx(q * L)
    assert balance["balance_error"] < 1e-10
    problem.close()


def _steady_profile(i: float) -> tuple[np.ndarray, callable]:
    """Closed form of the steady 1D symmetric cell, both faces at T_S: per layer
    -k T'' = i^2 / sigma, T continuous, heat-flux jumps of i |eta| at the interfaces with
    eta = 2 (R T_interface / F) asinh(i / 2 i0) (fixed point in the interface temperatures)."""
    x_if = np.cumsum(LAYERS)[:2]
    ks = np.array([K_LI, K_SE, K_LI])
    qs = i**2 / np.array([SIGMA_LI, SIGMA_SE, SIGMA_LI])
    L = sum(LAYERS)
    t_if = np.array([T_S, T_S])
    for _ in range(50):
        jumps = i * 2 * GAS * t_if / FARADAY * math.asinh(i / (2 * I0))
        # T_k(x) = -q_k x^2 / (2 k_k) + a_k x + b_k; unknowns (a0, b0, a1, b1, a2, b2)
        A = np.zeros((6, 6))
        rhs = np.zeros(6)
        A[0, 1] = 1.0
        rhs[0] = T_S
        A[1, 4], A[1, 5] = L, 1.0
        rhs[1] = T_S + qs[2] * L**2 / (2 * ks[2])
        for n, x in enumerate(x_if):  # continuity, then k T'(x-) - k T'(x+) = jump
            A[2 + 2 * n, 2 * n : 2 * n + 2] = x, 1.0
            A[2 + 2 * n, 2 * n + 2 : 2 * n + 4] = -x, -1.0
            rhs[2 + 2 * n] = qs[n] * x**2 / (2 * ks[n]) - qs[n + 1] * x**2 / (2 * ks[n + 1])
            A[3 + 2 * n, 2 * n] = ks[n]
            A[3 + 2 * n, 2 * n + 2] = -ks[n + 1]
            rhs[3 + 2 * n] = jumps[n] + qs[n] * x - qs[n + 1] * x
        coef = np.linalg.solve(A, rhs)

        def profile(x: np.ndarray, coef=coef) -> np.ndarray:
            layer = np.searchsorted(x_if, x, side="right")
            a, b = coef[2 * layer], coef[2 * layer + 1]
            return -qs[layer] * x**2 / (2 * ks[layer]) + a * x + b

        t_new = profile(x_if)
        if np.allclose(t_new, t_if, rtol=0, atol=1e-14):
            break
        t_if = t_new
    return x_if, profile


@pytest.mark.mpi
def test_steady_symmetric_cell_temperature_matches_closed_form():
    """Joule heat in every layer and i*eta at both interfaces, eta at the local temperature
    (two-way coupling through RT/F): the profile to 1e-6 of the temperature rise."""
    i = 1000.0  # A/m^2
    case = _heat_case(
        1,
        "2 um",
        boundary_conditions={
            "conduction": [
                {"name": "bottom", "type": "current_density", "value": f"{i} A/m^2"},
                {"name": "top", "type": "ground"},
            ],
            "heat": [
                {"name": b, "type": "temperature", "value": f"{T_S} K"} for b in ("top", "bottom")
            ],
        },
        solver={"newton_tolerance": 1e-12},
    )
    problem = build_problem(case, build_mesh(case))
    ok, _, _ = problem.solve()
    assert ok
    T = problem.unknown("T").u
    x = T.function_space.tabulate_dof_coordinates()[: len(_owned(T)), 0]
    x = x - problem.comm.allreduce(x.min(initial=np.inf), op=MPI.MIN)
    _, profile = _steady_profile(i)
    exact = profile(x)
    rise = problem.comm.allreduce((exact - T_S).max(initial=0.0), op=MPI.MAX)
    assert 0.02 < rise < 1.0  # a test with a visible rise
    err = problem.comm.allreduce(np.abs(_owned(T) - exact).max(initial=0.0), op=MPI.MAX)
    assert err < 1e-6 * rise, (err, rise)
    row = problem.observe()["heat"]
    # every watt of electrical power became heat, and left through the two faces
    assert row["heat_generated_W"] == pytest.approx(row["electrical_power_W"], rel=1e-9)
    assert row["heat_out_W"] == pytest.approx(row["heat_generated_W"], rel=1e-9)
    problem.close()


def _rows(outdir) -> list[dict[str, float]]:
    with open(outdir / "timeseries.csv") as fh:
        return [{k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(fh)]


def _transient(tmp, name: str, steps: int = 8, **blocks) -> tuple[dict, list[dict]]:
    """An adiabatic transient run at 10 mA/cm^2 (BDF1, fixed steps of 1 s)."""
    time = {"mode": "transient", "dt": "1 s", "t_end": f"{steps} s", "scheme": "bdf1"}
    case = _heat_case(
        1,
        "4 um",
        **(
            {
                "boundary_conditions": {
                    "conduction": [
                        {"name": "bottom", "type": "current_density", "value": "100 A/m^2"},
                        {"name": "top", "type": "ground"},
                    ]
                },
                "time": time | {"adaptive": False},
            }
            | blocks
        ),
    )
    summary = Run(case, outdir=str(tmp / name)).execute()
    assert summary["status"] == "ok", summary.get("reason")
    return summary, _rows(tmp / name)


@pytest.mark.mpi
def test_adiabatic_run_stores_the_electrical_work_as_heat(shared_tmp):
    """int I V dt (conduction's own columns) = int rho c_p (T - T0) dV, to 1e-6."""
    summary, rows = _transient(shared_tmp, "adiabatic")
    work = sum(r["conduction.voltage_V"] * r["conduction.current_A"] * r["dt_s"] for r in rows)
    stored = rows[-1]["heat.heat_stored_J"]
    assert work > 0
    assert stored == pytest.approx(work, rel=1e-6)
    assert rows[-1]["heat.heat_out_W"] == 0.0
    budget = summary["outputs"]["heat"]["energy_budget"]
    assert budget["electrical_work_J"] == pytest.approx(work, rel=1e-9)
    assert budget["balance_error"] < 1e-9
    rise = rows[-1]["heat.mean_temperature_K"] - rows[0]["heat.mean_temperature_K"]
    volume = sum(LAYERS)  # 1D: per m^2
    assert rise == pytest.approx(work / (5000 * 600 * volume), rel=1e-6)


@pytest.mark.mpi
def test_two_way_coupling_lowers_the_voltage_as_the_cell_warms(shared_tmp):
    """Arrhenius sigma(T) and i0(T): same current, warmer cell, lower voltage; the one-way
    option gives the isothermal voltage at the initial temperature exactly."""
    arrhenius = {"conduction": {"arrhenius": True}, "heat": {}}
    interfaces = {
        "conduction": [
            {
                "name": name,
                "exchange_current_density": "1 mA/cm^2",
                "activation_energy": "40 kJ/mol",
            }
            for name in ("anode_electrolyte", "electrolyte_cathode")
        ]
    }
    initial = {"heat": {"temperature": "310 K"}}
    _, two_way = _transient(
        shared_tmp, "two_way", physics=arrhenius, interfaces=interfaces, initial_conditions=initial
    )
    v = np.array([r["conduction.voltage_V"] for r in two_way[1:]])
    temperature = np.array([r["heat.mean_temperature_K"] for r in two_way[1:]])
    assert np.all(np.diff(temperature) > 0)
    assert np.all(np.diff(v) < 0), v
    one_way_physics = {"conduction": {"arrhenius": True}, "heat": {"coupling": "one_way"}}
    _, one_way = _transient(
        shared_tmp,
        "one_way",
        physics=one_way_physics,
        interfaces=interfaces,
        initial_conditions=initial,
    )
    assert one_way[-1]["heat.mean_temperature_K"] > 310.0  # still heated
    isothermal = symmetric_case(
        1,
        {
            "physics": {"conduction": {"arrhenius": True}},
            "interfaces": interfaces,
            "boundary_conditions": {
                "conduction": [
                    {"name": "bottom", "type": "current_density", "value": "100 A/m^2"},
                    {"name": "top", "type": "ground"},
                ]
            },
        },
        size="4 um",
    )
    isothermal.case.temperature = 310.0
    problem = build_problem(isothermal, build_mesh(isothermal))
    assert problem.solve()[0]
    v_iso = problem.observe()["conduction"]["voltage_V"]
    problem.close()
    for r in one_way[1:]:
        assert r["conduction.voltage_V"] == pytest.approx(v_iso, rel=1e-10)
    assert v[0] < v_iso  # two-way: warmer than 310 K after the first step


def _pulse(rows: list[dict], start: float) -> list[dict]:
    """The rows of the 60 s pulse that starts at ``start`` [s]."""
    return [r for r in rows if start < r["time_s"] <= start + 60 + 1e-9]


def _pulse_heat(pulse: list[dict], kind: str) -> float:
    """Heat [J] of one source over a pulse, as the energy budget sums it."""
    return sum(r[f"heat.heat_{kind}_W"] * r["dt_s"] for r in pulse)


def test_fast_charge_case_reproduces_its_readme(tmp_path):
    """cases/fast_charge_heating: the README's table (peak temperature rise, heat shares and
    voltages per pulse), energy budget and the one-way result (regression), and the pictures
    a user looks at."""
    from sse_fem.config import load_case

    case = load_case(CASES / "fast_charge_heating" / "case.yaml")
    summary = Run(case, outdir=str(tmp_path)).execute()
    assert summary["status"] == "ok", summary.get("reason")
    rows = _rows(tmp_path)
    t0 = rows[0]["heat.max_temperature_K"]
    # README table, per pulse start [s]: peak rise [K]; shares of the pulse's net heat (Joule,
    # reaction, entropic, contact); voltage 10 s into and at the end of the pulse [V]
    quoted = {
        0: (0.122, (0.15, 0.99, -0.15, 0.015), (4.0328, 4.0325)),
        120: (0.361, (0.19, 0.89, -0.10, 0.020), (4.1315, 4.1304)),
        240: (1.027, (0.26, 0.78, -0.07, 0.028), (4.2615, 4.2574)),
        360: (1.874, (0.31, 0.71, -0.06, 0.034), (4.3572, 4.3500)),
    }
    kinds = ("joule", "interface", "reversible", "contact")
    for start, (rise, shares, (v_ten, v_end)) in quoted.items():
        pulse = _pulse(rows, start)
        peak = max(r["heat.max_temperature_K"] for r in pulse) - t0
        assert peak == pytest.approx(rise, abs=0.002), start
        net = _pulse_heat(pulse, "generated")
        for kind, share, tol in zip(kinds, shares, (5e-3, 5e-3, 5e-3, 5e-4), strict=True):
            assert _pulse_heat(pulse, kind) / net == pytest.approx(share, abs=tol), (start, kind)
        # 10 s into the pulse (the first step's time depends on the adaptive step sizes)
        times = [r["time_s"] for r in pulse]
        ten_s = np.interp(start + 10.0, times, [r["conduction.voltage_V"] for r in pulse])
        assert ten_s == pytest.approx(v_ten, abs=5e-5), start
        assert pulse[-1]["conduction.voltage_V"] == pytest.approx(v_end, abs=5e-5), start
    # README: the voltage falls by 7 mV over the last 50 s of the 6C pulse
    assert (ten_s - pulse[-1]["conduction.voltage_V"]) * 1e3 == pytest.approx(7.0, abs=0.5)
    budget = summary["outputs"]["heat"]["energy_budget"]
    assert budget["heat_reversible_J"] < 0 < budget["heat_joule_J"]
    # README: 99.8 kJ/m^2 of electrical work, 10.2 kJ/m^2 of it heat, closed to 0.17 %
    area = rows[-1]["conduction.terminal_area_m2"]
    assert budget["electrical_work_J"] / area == pytest.approx(99.8e3, abs=50.0)
    assert budget["heat_generated_J"] / area == pytest.approx(10.2e3, abs=50.0)
    assert budget["balance_error"] == pytest.approx(0.0017, abs=5e-5)
    for picture in ("heat.png", "timeseries.png"):
        assert (tmp_path / picture).stat().st_size > 5000
    progress = [ln for ln in (tmp_path / "run.log").read_text().splitlines() if "ETA" in ln]
    assert progress and "/ 540 s" in progress[0] and "Krylov" in progress[0]

    # README: one-way (properties held at 25 degC), the 6C pulse ends at 4.37546 V and makes
    # 4 % more heat
    one_way = load_case(
        CASES / "fast_charge_heating" / "case.yaml", ["physics.heat.coupling=one_way"]
    )
    one_way.outputs.plots = False
    summary = Run(one_way, outdir=str(tmp_path / "one_way")).execute()
    assert summary["status"] == "ok", summary.get("reason")
    six_c = _pulse(_rows(tmp_path / "one_way"), 360)
    assert six_c[-1]["conduction.voltage_V"] == pytest.approx(4.37546, abs=5e-6)
    more = _pulse_heat(six_c, "generated") / _pulse_heat(pulse, "generated")
    assert more == pytest.approx(1.04, abs=5e-3)


@pytest.mark.mpi
def test_two_dimensional_run_draws_a_temperature_map(shared_tmp):
    case = _heat_case(
        2,
        "10 um",
        boundary_conditions={
            "conduction": [
                {"name": "bottom", "type": "current_density", "value": "100 A/m^2"},
                {"name": "top", "type": "ground"},
            ],
            "heat": [{"name": "top", "type": "temperature", "value": f"{T_S} K"}],
        },
        time={"mode": "transient", "dt": "1 s", "t_end": "2 s"},
        outputs={"plots": True, "fields": True},
    )
    summary = Run(case, outdir=str(shared_tmp / "map")).execute()
    assert summary["status"] == "ok", summary.get("reason")
    assert (shared_tmp / "map" / "temperature.png").stat().st_size > 5000
    assert (shared_tmp / "map" / "temperature.bp").is_dir()
    assert summary["outputs"]["heat"]["peak_temperature_rise_K"] > 0
