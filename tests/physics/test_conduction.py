"""Ohmic conduction + Butler-Volmer: exact symmetric cell, galvanostatic vs potentiostatic,
failure handling. Marked mpi: the same numbers under mpirun -n 2 and -n 3."""

from __future__ import annotations

import json

import meshio
import pytest

from sse_fem.driver import Run
from sse_fem.materials import get_material
from tests.physics.helpers import symmetric_case, symmetric_voltage

LLZO = get_material("LLZO_Ta")
SIGMA = LLZO.get("ionic_conductivity")  # at 298.15 K = reference temperature
I0 = 10.0  # 1 mA/cm^2 in the shipped case
CONTACT = 1e-9  # default terminal contact resistance [Ohm m^2]


@pytest.mark.mpi
@pytest.mark.parametrize("dimension", [1, 2, 3])
@pytest.mark.parametrize("current_ma_cm2", [0.1, 1.0, 5.0])
def test_symmetric_cell_matches_exact_voltage(dimension, current_ma_cm2, shared_tmp):
    i = current_ma_cm2 * 10.0
    case = symmetric_case(dimension, size="25 um" if dimension == 3 else "10 um")
    case.boundary_conditions.conduction[0].value = i
    summary = Run(case, outdir=str(shared_tmp)).execute()
    assert summary["status"] == "ok"
    exact = symmetric_voltage(i, 100e-6, SIGMA, I0, 298.15, contact=CONTACT)
    r = summary["results"]
    assert r["conduction.voltage_V"] == pytest.approx(exact, rel=1e-6)
    assert r["conduction.current_density_A_m2"] == pytest.approx(i, rel=1e-12)
    assert r["conduction.anode_electrolyte.focusing_factor"] == pytest.approx(1.0, rel=1e-6)
    assert r["conduction.area_specific_resistance_ohm_m2"] == pytest.approx(exact / i, rel=1e-6)
    # ParaView facet field of the interface: uniform current density i everywhere
    vtu = meshio.read(shared_tmp / "interface_anode_electrolyte.vtu")
    assert vtu.cell_data["current_density_A_m2"][0] == pytest.approx(i, rel=1e-6)
    # Newton converges quadratically on every rank count (no stall at round-off)
    assert summary["statistics"]["newton_iterations"] <= 8
    assert summary["solver"]["preset"] == ("iterative_schur" if dimension == 3 else "direct")


@pytest.mark.mpi
def test_iterative_schur_and_direct_presets_agree_3d(shared_tmp):
    """Galvanostatic 3D: GMRES + GAMG with the terminal potential split off by a Schur
    complement gives the direct (MUMPS) answer."""
    out = {}
    for preset in ("direct", "iterative"):
        case = symmetric_case(3, {"solver": {"preset": preset}}, size="12 um")
        case.boundary_conditions.conduction[0].value = 30.0
        out[preset] = Run(case, outdir=str(shared_tmp / preset)).execute()
    r_d, r_i = out["direct"]["results"], out["iterative"]["results"]
    assert out["iterative"]["solver"]["preset"] == "iterative_schur"
    assert r_i["conduction.voltage_V"] == pytest.approx(r_d["conduction.voltage_V"], rel=1e-8)
    assert r_i["conduction.anode_electrolyte.max_current_density_A_m2"] == pytest.approx(
        r_d["conduction.anode_electrolyte.max_current_density_A_m2"], rel=1e-7
    )
    assert out["iterative"]["statistics"]["newton_iterations"] <= 8


@pytest.mark.mpi
def test_galvanostatic_and_potentiostatic_agree(shared_tmp):
    galv = Run(symmetric_case(2), outdir=str(shared_tmp / "g")).execute()["results"]
    case = symmetric_case(2)
    case.boundary_conditions.conduction[0] = case.boundary_conditions.conduction[0].model_validate(
        {"name": "bottom", "type": "potential", "value": f"{galv['conduction.voltage_V']} V"}
    )
    pot = Run(case, outdir=str(shared_tmp / "p")).execute()["results"]
    assert pot["conduction.current_density_A_m2"] == pytest.approx(
        galv["conduction.current_density_A_m2"], rel=1e-5
    )
    assert pot["conduction.anode_electrolyte.mean_overpotential_V"] == pytest.approx(
        galv["conduction.anode_electrolyte.mean_overpotential_V"], rel=1e-5
    )


def test_multivalent_kinetics_use_charge_number(shared_tmp):
    case = symmetric_case(
        1,
        {"materials": {"llzo": {"base": "LLZO_Ta"}, "lithium": {"base": "Li", "charge_number": 2}}},
    )
    i = case.boundary_conditions.conduction[0].value
    r = Run(case, outdir=str(shared_tmp)).execute()["results"]
    exact = symmetric_voltage(i, 100e-6, SIGMA, I0, 298.15, z=2, contact=CONTACT)
    assert r["conduction.voltage_V"] == pytest.approx(exact, rel=1e-6)


def test_arrhenius_temperature_dependence(shared_tmp):
    case = symmetric_case(1)
    case.case.temperature = 333.15
    r = Run(case, outdir=str(shared_tmp)).execute()["results"]
    t, tref = 333.15, 298.15
    import math

    ea = LLZO.get("activation_energy")
    sigma = SIGMA * tref / t * math.exp(-ea / 8.314462618 * (1 / t - 1 / tref))
    exact = symmetric_voltage(10.0, 100e-6, sigma, I0, t, contact=CONTACT)
    assert r["conduction.voltage_V"] == pytest.approx(exact, rel=1e-6)


@pytest.mark.mpi
def test_divergence_writes_partial_results_and_failed_status(shared_tmp):
    protocol = [
        {"mode": "current_density", "value": "1 mA/cm^2", "duration": "2 s"},
        {"mode": "current_density", "value": "1e12 A/cm^2", "duration": "2 s"},
    ]
    case = symmetric_case(
        1,
        {
            "time": {"mode": "transient", "dt": "1 s", "protocol": protocol, "max_step_cuts": 2},
            "boundary_conditions": {
                "conduction": [
                    {"name": "bottom", "type": "terminal"},
                    {"name": "top", "type": "ground"},
                ]
            },
        },
    )
    summary = Run(case, outdir=str(shared_tmp)).execute()
    assert summary["status"] == "failed"
    assert "diverged" in summary["reason"]
    on_disk = json.loads((shared_tmp / "summary.json").read_text())
    assert on_disk["status"] == "failed"
    rows = (shared_tmp / "timeseries.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3  # header, rest state, two steps at 1 mA/cm^2


def test_gb_transport_case_reproduces_its_readme(tmp_path):
    """cases/gb_transport: with the bulk material in the GB region the resistance is L /
    sigma_bulk exactly; the GB share of the resistance at 40 grains and the 50 % at 26
    grains (mean grain size 3.88 um) of the README table."""
    from sse_fem.config import load_case
    from tests.conftest import CASES

    quiet = ["outputs.plots=false", "outputs.fields=false", "outputs.report=false"]
    path = CASES / "gb_transport" / "case.yaml"
    bulk = 20e-6 / 0.102  # L / sigma_bulk [Ohm m^2]
    quoted = {40: (3.12, 4.40e-4, 0.554), 26: (3.88, 3.92e-4, 0.500)}
    for grains, (size_um, resistance, share) in quoted.items():
        case = load_case(path, [f"geometry.grains={grains}", *quiet])
        summary = Run(case, outdir=str(tmp_path / str(grains))).execute()
        assert summary["status"] == "ok", summary.get("reason")
        total = summary["results"]["conduction.area_specific_resistance_ohm_m2"]
        assert summary["mesh"]["builder"]["mean_grain_size_m"] * 1e6 == pytest.approx(
            size_um, abs=0.005
        )
        assert total == pytest.approx(resistance, abs=0.005e-4)
        assert 1 - bulk / total == pytest.approx(share, abs=5e-4)
    case = load_case(path, ["regions.grain_boundary.material=llzo_bulk", *quiet])
    summary = Run(case, outdir=str(tmp_path / "bulk")).execute()
    resistance = summary["results"]["conduction.area_specific_resistance_ohm_m2"]
    assert resistance == pytest.approx(bulk, rel=1e-9)
