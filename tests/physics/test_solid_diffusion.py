"""Solid diffusion coupled to conduction: a 1D Li | Li6PS5Cl | NMC811 cell discharged by a
C-rate protocol through the terminal on the cathode.

- Fast-transport limit (physics.md 1.2-1.3): with large D_s the slab's stoichiometry is
  uniform, so the cell voltage is exactly U(x_mean) + eta_c(x_mean) - eta_a - the Ohmic drops,
  with eta = 2 V_T asinh(i / 2 i0) (alpha = 1/2) and the cathode's i0(x) = i0 2 sqrt(x(1 - x)).
- Charge conservation: the charge through the terminal, int I dt, equals F times the ions
  inserted into the particles, to 1e-8 relative.
- 1C from the capacity of the active material in the mesh; the summary reports it.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from sse_fem.config import validate_case
from sse_fem.driver import Run
from sse_fem.materials.registry import get_material
from tests.physics.helpers import FARADAY, GAS

T = 298.15
L_LI, L_SE, L_CAT = 10e-6, 30e-6, 5e-6  # m
I0_ANODE, I0_CATHODE = 10.0, 2.0  # A/m^2 (cathode: at x = 1/2)
X0 = 0.3


def cell_case(tmp_path, c_rate: float = 1.0, diffusivity: str | None = "1e-9 m^2/s") -> dict:
    nmc = {"base": "NMC811", "electronic_conductivity": "1e4 S/m"}
    if diffusivity is not None:
        nmc["solid_diffusivity"] = diffusivity
    return {
        "case": {"name": "spm_slab", "temperature": f"{T} K"},
        "geometry": {
            "type": "layered_cell",
            "dimension": 1,
            "layers": [
                {"name": "anode", "thickness": f"{L_LI} m", "cells": 4},
                {"name": "electrolyte", "thickness": f"{L_SE} m", "cells": 8},
                {"name": "cathode", "thickness": f"{L_CAT} m", "cells": 20},
            ],
        },
        "materials": {"nmc": nmc},
        "regions": [
            {"name": "anode", "material": "Li"},
            {"name": "electrolyte", "material": "Li6PS5Cl"},
            {"name": "cathode", "material": "nmc"},
        ],
        "physics": {"conduction": {}, "solid_diffusion": {}},
        "interfaces": {
            "conduction": [
                {"name": "anode_electrolyte", "exchange_current_density": f"{I0_ANODE} A/m^2"},
                {"name": "electrolyte_cathode", "exchange_current_density": f"{I0_CATHODE} A/m^2"},
            ]
        },
        "boundary_conditions": {
            "conduction": [
                {"name": "bottom", "type": "ground"},
                {"name": "top", "type": "terminal"},
            ]
        },
        "initial_conditions": {"solid_diffusion": {"stoichiometry": X0}},
        "time": {
            "mode": "transient",
            "dt": "30 s",
            "dt_max": "60 s",
            "protocol": [
                {
                    "mode": "current",
                    "value": f"{-c_rate} C",
                    "duration": "30 min",
                    "until_voltage_below": "3.0 V",
                }
            ],
        },
        "outputs": {"plots": True, "fields": False, "directory": str(tmp_path / "out")},
    }


def read_rows(outdir: Path) -> list[dict[str, float]]:
    with (outdir / "timeseries.csv").open() as f:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def exact_voltage(x_mean: float, j: float) -> float:
    """Cell voltage [V] of the fast-transport limit at discharge current density j > 0."""
    nmc, li, se = get_material("NMC811"), get_material("Li"), get_material("Li6PS5Cl")
    u = nmc.curve("open_circuit_potential").numpy(np.array([x_mean]))[0]
    vt = GAS * T / FARADAY
    i0_c = I0_CATHODE * 2 * math.sqrt(x_mean * (1 - x_mean))
    eta_c = -2 * vt * math.asinh(j / (2 * i0_c))
    eta_a = 2 * vt * math.asinh(j / (2 * I0_ANODE))
    ohmic = j * (
        L_SE / se.get("ionic_conductivity") + L_LI / li.get("electronic_conductivity") + L_CAT / 1e4
    )
    return u + eta_c - eta_a - ohmic


def test_fast_transport_limit_and_charge_conservation(tmp_path):
    case = validate_case(cell_case(tmp_path))
    summary = Run(case).execute()
    assert summary["status"] == "ok", summary.get("reason")
    rows = read_rows(tmp_path / "out")
    steps = [r for r in rows if r.get("dt_s", 0) > 0]
    nmc = get_material("NMC811")  # 200 mAh/g x 4800 kg/m^3 x 5 um
    capacity = nmc.get("specific_capacity") * 3600 * nmc.get("density") * L_CAT  # C/m^2
    one_c = capacity / 3600.0
    sd = summary["outputs"]["solid_diffusion"]
    assert sd["capacity_Ah"] == pytest.approx(capacity / 3600.0, rel=1e-12)
    worst = 0.0
    for r in steps:
        j = -r["conduction.current_density_A_m2"]
        assert j == pytest.approx(one_c, rel=1e-12)
        x_mean = r["solid_diffusion.mean_stoichiometry"]
        worst = max(worst, abs(r["conduction.voltage_V"] - exact_voltage(x_mean, j)))
    assert worst < 1e-4, worst
    # charge through the terminal = F x ions inserted (backward sums of I dt as BDF stores)
    passed = sum(-r["conduction.current_A"] * r["dt_s"] for r in steps)
    inserted = steps[-1]["solid_diffusion.inserted_charge_C"]
    assert inserted == pytest.approx(passed, rel=1e-8)
    assert (tmp_path / "out" / "voltage_capacity.png").exists()


TWO_PARTICLES = Path(__file__).resolve().parents[2] / "meshes" / "two_particles.msh"


def two_particle_case(tmp_path) -> dict:
    """2D: a particle on the collector and one surrounded by electrolyte, discharged at 1C
    through the collector against an ideal Li reference at the separator face."""
    return {
        "case": {"name": "two_particles"},
        "mesh": {"file": str(TWO_PARTICLES), "dimension": 2, "scale": "1 um"},
        "materials": {"nmc": {"base": "NMC811", "solid_diffusivity": "1e-13 m^2/s"}},
        "regions": [
            {"name": "connected", "material": "nmc"},
            {"name": "isolated", "material": "nmc"},
            {"name": "electrolyte", "material": "Li6PS5Cl"},
        ],
        "physics": {"conduction": {}, "solid_diffusion": {}},
        "interfaces": {
            "conduction": [
                {"name": "connected_electrolyte", "exchange_current_density": "1 A/m^2"},
                {"name": "isolated_electrolyte", "exchange_current_density": "1 A/m^2"},
            ]
        },
        "boundary_conditions": {
            "conduction": [
                {"name": "top", "type": "ground", "carrier": "ionic"},
                {
                    "name": "bottom",
                    "type": "terminal",
                    "carrier": "electronic",
                    "contact_resistance": "1e-6 ohm*m^2",
                },
            ]
        },
        "initial_conditions": {"solid_diffusion": {"stoichiometry": X0}},
        "time": {
            "mode": "transient",
            "dt": "20 s",
            "protocol": [{"mode": "current", "value": "-1 C", "duration": "5 min"}],
        },
        "outputs": {"plots": True, "fields": False, "directory": str(tmp_path / "out")},
    }


def test_isolated_particle_keeps_its_state(tmp_path):
    """The particle without an electronic path keeps its mean stoichiometry to 1e-10 while
    the connected one takes the whole current; the ion balance holds every step."""
    case = validate_case(two_particle_case(tmp_path))
    summary = Run(case).execute()
    assert summary["status"] == "ok", summary.get("reason")
    rows = read_rows(tmp_path / "out")
    last = rows[-1]
    # the reference is the electrolyte at the separator face: the OCV is U(x) of the cathode
    u0 = get_material("NMC811").curve("open_circuit_potential").numpy(np.array([X0]))[0]
    assert rows[0]["conduction.open_circuit_voltage_V"] == pytest.approx(u0, abs=1e-12)
    assert abs(last["solid_diffusion.isolated.mean_stoichiometry"] - X0) < 1e-10
    assert last["solid_diffusion.connected.mean_stoichiometry"] > X0 + 1e-3
    sd = summary["outputs"]["solid_diffusion"]
    assert sd["particles"] == 2 and sd["unused_particles"] == 1
    with (tmp_path / "out" / "particles.csv").open() as f:
        table = list(csv.DictReader(f))
    isolated = next(p for p in table if float(p["y_m"]) > 8e-6)  # centred at y = 12 um
    assert int(isolated["unused"]) == 1
    assert float(isolated["volume_m3"]) == pytest.approx(math.pi * (4e-6) ** 2, rel=2e-2)
    assert float(isolated["stoichiometry"]) == pytest.approx(X0, abs=1e-10)
    for picture in ("stoichiometry.png", "voltage_capacity.png", "reaction_profile.png"):
        assert (tmp_path / "out" / picture).stat().st_size > 5000
    with (tmp_path / "out" / "reaction_profile.csv").open() as f:
        profile = list(csv.DictReader(f))
    # the isolated particle reacts no net current in any slab; the connected one all of it
    assert sum(float(r["connected_electrolyte.current_share"]) for r in profile) == pytest.approx(
        1.0, rel=1e-9
    )
    assert max(abs(float(r["isolated_electrolyte.current_share"])) for r in profile) < 0.05
    passed = sum(-r["conduction.current_A"] * r["dt_s"] for r in rows if r.get("dt_s", 0) > 0)
    assert last["solid_diffusion.inserted_charge_C"] == pytest.approx(passed, rel=1e-8)


def _case_error(data: dict) -> str:
    from sse_fem.errors import CaseError
    from sse_fem.mesh import build_mesh
    from sse_fem.problem import build_problem

    case = validate_case(data)
    with pytest.raises(CaseError) as err:
        build_problem(case, build_mesh(case)).close()
    return str(err.value)


def test_open_circuit_potential_of_a_solved_electrode_comes_from_its_curve(tmp_path):
    data = cell_case(tmp_path)
    data["interfaces"]["conduction"][1]["open_circuit_potential"] = "3.8 V"
    msg = _case_error(data)
    assert "interfaces.conduction[1](electrolyte_cathode).open_circuit_potential" in msg
    assert "remove this constant" in msg
    data = cell_case(tmp_path)
    data["materials"]["nmc"]["open_circuit_potential"] = "3.8 V"  # a constant drops the curve
    assert "has no open_circuit_potential curve" in _case_error(data)


def test_particles_full_end_the_run_with_a_clear_reason(tmp_path):
    """Past x = 1 (no cut-off reached: the curve is extended beyond its data) the run fails
    and says why; the time series ends with the step that overfilled them."""
    data = cell_case(tmp_path, c_rate=2.0)
    data["time"]["protocol"][0].pop("until_voltage_below")
    summary = Run(validate_case(data)).execute()
    assert summary["status"] == "failed"
    assert "particles are full" in summary["reason"] and "until_voltage_below" in summary["reason"]
    rows = read_rows(tmp_path / "out")  # up to the step that overfilled them
    assert rows[-2]["solid_diffusion.max_stoichiometry"] <= 1.0
    assert rows[-1]["solid_diffusion.max_stoichiometry"] > 1.0


def test_c_rate_needs_active_material():
    from sse_fem.errors import CaseError
    from tests.physics.helpers import symmetric_case

    with pytest.raises(CaseError, match=r"time.protocol\[0\].value.*C-rate"):
        symmetric_case(
            1,
            {
                "boundary_conditions": {
                    "conduction": [
                        {"name": "bottom", "type": "terminal"},
                        {"name": "top", "type": "ground"},
                    ]
                },
                "time": {
                    "mode": "transient",
                    "dt": "1 s",
                    "protocol": [{"mode": "current", "value": "1 C", "duration": "10 s"}],
                },
            },
        )


def test_clusters_without_a_path_are_reported(tmp_path):
    """The isolated particle is the electronic cluster without a path to the terminal."""
    summary = Run(validate_case(two_particle_case(tmp_path))).execute()
    clusters = summary["outputs"]["conduction"]["clusters"]
    electronic = clusters["electronic"]
    assert electronic["clusters"] == 2 and electronic["without_path"] == 1
    assert electronic["floating_held"] == 0  # kinetics set its potential
    fractions = electronic["region_fraction_without_path"]
    assert fractions["isolated"] == pytest.approx(1.0) and fractions["connected"] == 0.0
    assert clusters["ionic"]["without_path"] == 0


def test_a_cluster_nothing_reaches_is_held(tmp_path):
    """A carbon particle in the electrolyte (no kinetics there): its potential is undefined;
    it is held at its start and carries nothing, and the run says so."""
    data = two_particle_case(tmp_path)
    data["regions"][1]["material"] = "carbon_black"
    data["interfaces"]["conduction"].pop(1)
    data["physics"] = {"conduction": {}}
    data.pop("initial_conditions")
    data["time"] = {"mode": "steady"}
    data["boundary_conditions"]["conduction"][1] = {
        "name": "bottom",
        "type": "potential",
        "value": "10 mV",
        "carrier": "electronic",
    }
    summary = Run(validate_case(data)).execute()
    assert summary["status"] == "ok", summary.get("reason")
    electronic = summary["outputs"]["conduction"]["clusters"]["electronic"]
    assert electronic["floating_held"] == 1 and electronic["without_path"] == 1
    assert summary["conservation"]["conduction"]["balance_error"] < 1e-8


def test_discharge_lands_on_its_voltage_cut_off(tmp_path):
    """The step that crosses the cut-off is retried shorter: the discharge ends within 1 %
    of a step's voltage change past 3.9 V, not a whole step past it."""
    data = cell_case(tmp_path)
    data["time"]["protocol"][0]["until_voltage_below"] = "3.9 V"
    summary = Run(validate_case(data)).execute()
    assert summary["status"] == "ok", summary.get("reason")
    rows = read_rows(tmp_path / "out")
    v_end, v_before = rows[-1]["conduction.voltage_V"], rows[-2]["conduction.voltage_V"]
    assert v_end <= 3.9 < v_before
    assert 3.9 - v_end <= 0.01 * (v_before - v_end) + 1e-12
    assert rows[-1]["time_s"] < 1800.0  # ended by the cut-off


CASES = Path(__file__).resolve().parents[2] / "cases"


def test_composite_cathode_case_reproduces_its_readme(tmp_path):
    """cases/composite_cathode_discharge at 2C: the README's numbers (time to the cut-off,
    delivered charge, the Li counter electrode's overpotential, particles without an
    electronic path), charge conservation, pictures."""
    import numpy as np

    from sse_fem.config import load_case

    case = load_case(
        CASES / "composite_cathode_discharge" / "case.yaml", ["time.protocol.0.value=-2 C"]
    )
    summary = Run(case, outdir=str(tmp_path)).execute()
    assert summary["status"] == "ok", summary.get("reason")
    rows = read_rows(tmp_path)
    t = np.array([r["time_s"] for r in rows])
    v = np.array([r["conduction.voltage_V"] for r in rows])
    assert t[-1] == pytest.approx(209.0, abs=1.0)  # README table
    assert v[-1] == pytest.approx(3.6, abs=2e-3)
    assert np.interp(60.0, t, v) == pytest.approx(3.9012, abs=2e-3)
    area = rows[-1]["conduction.terminal_area_m2"]
    inserted = rows[-1]["solid_diffusion.inserted_charge_C"]
    assert inserted / 3.6 / (area * 1e4) == pytest.approx(0.0752, rel=5e-3)  # mAh/cm^2
    # README: the Li counter electrode's overpotential at the end (Li dissolves)
    assert rows[-1]["conduction.top.mean_overpotential_V"] == pytest.approx(0.0313, abs=5e-4)
    passed = sum(-r["conduction.current_A"] * r["dt_s"] for r in rows if r.get("dt_s", 0) > 0)
    assert inserted == pytest.approx(passed, rel=1e-8)
    sd = summary["outputs"]["solid_diffusion"]
    assert sd["capacity_Ah"] / (area * 1e4) * 1e3 == pytest.approx(0.647, rel=2e-3)
    assert (sd["particles"], sd["unused_particles"]) == (22, 17)
    electronic = summary["outputs"]["conduction"]["clusters"]["electronic"]
    assert (electronic["clusters"], electronic["without_path"]) == (44, 43)
    assert electronic["floating_held"] == 26
    assert electronic["region_fraction_without_path"]["active"] == pytest.approx(0.71, abs=0.005)
    for picture in ("voltage_capacity.png", "stoichiometry.png", "reaction_profile.png"):
        assert (tmp_path / picture).stat().st_size > 5000
    with (tmp_path / "reaction_profile.csv").open() as f:
        profile = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
    shares = [
        r["active_electrolyte.current_share"] + r["active_separator.current_share"] for r in profile
    ]
    assert sum(shares) == pytest.approx(1.0, rel=1e-9)
    assert len(profile) == 20
    # README: it reacts within 7 um of the collector (z = 2 to 9 um)
    away = [sh for r, sh in zip(profile, shares, strict=True) if r["position_m"] > 9.5e-6]
    assert max(abs(sh) for sh in away) < 1e-3


def test_nmc_layer_case_reproduces_its_readme(tmp_path):
    """cases/nmc_layer_1d at 0.1C, 1C and 3C: the README table (time to 3.6 V, delivered
    charge, share of the capacity, mean and surface state at the end, voltage after 60 s);
    charge conservation to 1e-8."""
    from sse_fem.config import load_case

    # README table: time to 3.6 V [s], mAh/cm^2, of the capacity, mean x, surface x, V at 60 s
    quoted = {
        0.1: (26941.0, 0.180, 0.748, 0.844, 0.858, 4.1948),
        1: (1946.0, 0.130, 0.540, 0.693, 0.833, 4.1174),
        3: (244.0, 0.0488, 0.203, 0.448, 0.787, 3.8592),
    }
    for rate, (t_end, mah_cm2, share, mean, surface, v60) in quoted.items():
        out = tmp_path / f"{rate}C"
        overrides = [f"time.protocol.0.value=-{rate} C"]
        if rate < 1:
            overrides.append("time.protocol.0.duration=12 h")  # as the README runs it
        case = load_case(CASES / "nmc_layer_1d" / "case.yaml", overrides)
        summary = Run(case, outdir=str(out)).execute()
        assert summary["status"] == "ok", summary.get("reason")
        rows = read_rows(out)
        t = np.array([r["time_s"] for r in rows])
        v = np.array([r["conduction.voltage_V"] for r in rows])
        assert t[-1] == pytest.approx(t_end, abs=1.0), rate
        assert v[-1] == pytest.approx(3.6, abs=2e-3)
        assert np.interp(60.0, t, v) == pytest.approx(v60, abs=5e-5), rate
        sd = summary["outputs"]["solid_diffusion"]
        # README: 1C = 0.240 mA/cm^2 (1D: per m^2)
        assert sd["one_c_current_A"] * 1e3 / 1e4 == pytest.approx(0.240, abs=5e-4)
        delivered = sd["delivered_charge_Ah"] * 1e3 / 1e4
        half_unit = 5e-5 if rate == 3 else 5e-4  # of the README's last digit
        assert delivered == pytest.approx(mah_cm2, abs=half_unit), rate
        assert sd["utilisation"] == pytest.approx(share, abs=5e-4), rate
        end = rows[-1]
        assert end["solid_diffusion.mean_stoichiometry"] == pytest.approx(mean, abs=5e-4), rate
        assert end["solid_diffusion.max_stoichiometry"] == pytest.approx(surface, abs=5e-4)
        passed = sum(-r["conduction.current_A"] * r["dt_s"] for r in rows if r.get("dt_s", 0) > 0)
        assert end["solid_diffusion.inserted_charge_C"] == pytest.approx(passed, rel=1e-8)
    # README: at 3C the collector side is still near 0.3 (the run ends on the last state)
    assert end["solid_diffusion.min_stoichiometry"] == pytest.approx(0.3, abs=0.05)
