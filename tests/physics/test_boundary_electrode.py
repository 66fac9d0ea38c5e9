"""A metal electrode that is not meshed (``boundary_conditions.conduction[*].electrode``):
Butler-Volmer between the metal's fixed potential and the ionic potential at a boundary."""

from __future__ import annotations

import math

import pytest
from scipy.optimize import brentq

from sse_fem.config import validate_case
from sse_fem.driver import Run
from sse_fem.errors import CaseError
from tests.physics.helpers import FARADAY, GAS

SIGMA = 0.05  # S/m
LENGTH = 100e-6  # m
I0 = 10.0  # A/m^2
CONTACT = 1e-9  # Ohm m^2 (the terminal's default contact resistance)
TEMPERATURE = 298.15


def _case(dimension: int, current: float, electrode: dict, **extra) -> dict:
    """SE layer: ideal current terminal at the bottom, a Li electrode (not meshed) on top."""
    return {
        "case": {"name": "boundary_electrode", "temperature": f"{TEMPERATURE} K"},
        "geometry": {
            "type": "layered_cell",
            "dimension": dimension,
            "width": "30 um",
            "layers": [{"name": "electrolyte", "thickness": f"{LENGTH * 1e6} um"}],
            "mesh": {"size": "10 um"},
        },
        "materials": {
            "se": {"category": "solid_electrolyte", "ionic_conductivity": f"{SIGMA} S/m"}
        },
        "regions": [{"name": "electrolyte", "material": "se"}],
        "physics": {"conduction": {}},
        "boundary_conditions": {
            "conduction": [
                {"name": "bottom", "type": "current_density", "value": f"{current} A/m^2"},
                {"name": "top", "type": "ground", "electrode": electrode},
            ]
        },
        "outputs": {"plots": False, "fields": False, "report": False},
        **extra,
    }


def _with_meshed_li(data: dict, kinetics: dict | None = None) -> None:
    """Add a meshed 20 um Li layer under the SE, with Butler-Volmer (i0 = I0) on its
    interface."""
    data["geometry"]["layers"].insert(0, {"name": "anode", "thickness": "20 um"})
    data["regions"].append({"name": "anode", "material": "Li"})
    interface = {"name": "anode_electrolyte", "exchange_current_density": f"{I0} A/m^2"}
    data["interfaces"] = {"conduction": [interface | (kinetics or {})]}


def _eta(current_in: float, alpha_a: float, alpha_c: float) -> float:
    """Overpotential [V] at which Butler-Volmer passes ``current_in`` into the cell."""
    f = FARADAY / (GAS * TEMPERATURE)

    def bv(eta: float) -> float:
        return I0 * (math.exp(alpha_a * f * eta) - math.exp(-alpha_c * f * eta)) - current_in

    return brentq(bv, -2.0, 2.0, xtol=1e-15, rtol=1e-15)


@pytest.mark.mpi
@pytest.mark.parametrize("dimension", [1, 2])
@pytest.mark.parametrize(("alpha_a", "alpha_c"), [(0.5, 0.5), (0.3, 0.7)])
def test_cell_voltage_is_ohmic_plus_the_metal_overpotential(
    shared_tmp, dimension, alpha_a, alpha_c
):
    """V = i L / sigma + i R_c - eta(-i): the current leaves the cell through the metal, so
    Butler-Volmer passes -i there; exact for any transfer coefficients (the current is
    uniform in 2D too); the current balance closes and the row reports the overpotential."""
    current = 20.0  # A/m^2 (2 mA/cm^2)
    electrode = {
        "exchange_current_density": f"{I0} A/m^2",
        "alpha_a": alpha_a,
        "alpha_c": alpha_c,
    }
    case = validate_case(_case(dimension, current, electrode))
    summary = Run(case, outdir=str(shared_tmp)).execute()
    assert summary["status"] == "ok", summary.get("reason")
    eta = _eta(-current, alpha_a, alpha_c)
    exact = current * LENGTH / SIGMA + current * CONTACT - eta
    r = summary["results"]
    assert r["conduction.voltage_V"] == pytest.approx(exact, rel=1e-9)
    assert r["conduction.top.mean_overpotential_V"] == pytest.approx(eta, rel=1e-9)
    area = r["conduction.terminal_area_m2"]
    assert r["conduction.current_top_A"] == pytest.approx(-current * area, rel=1e-8)
    assert r["conduction.charge_transfer_overpotential_V"] == pytest.approx(abs(eta), rel=1e-9)
    assert summary["conservation"]["conduction"]["balance_error"] < 1e-8


def test_a_metal_with_an_open_circuit_potential_sets_the_electrolyte_level(tmp_path):
    """U = 0.2 V at a metal held at 0.5 V: the electrolyte rests at 0.3 V (the initial
    guess), and the cell voltage counts from the metal: V = -U + ohmic - eta."""
    current = 5.0
    electrode = {"exchange_current_density": f"{I0} A/m^2", "open_circuit_potential": "0.2 V"}
    data = _case(1, current, electrode)
    data["boundary_conditions"]["conduction"][1].update({"type": "potential", "value": "0.5 V"})
    summary = Run(validate_case(data), outdir=str(tmp_path)).execute()
    assert summary["status"] == "ok", summary.get("reason")
    r = summary["results"]
    eta = _eta(-current, 0.5, 0.5)
    # the voltage counts from the metal (the case's reference potential)
    exact = -0.2 + current * LENGTH / SIGMA + current * CONTACT - eta
    assert r["conduction.voltage_V"] == pytest.approx(exact, rel=1e-9)
    assert r["conduction.top.mean_overpotential_V"] == pytest.approx(eta, rel=1e-9)
    assert r["conduction.open_circuit_voltage_V"] == -0.2
    ohmic = current * LENGTH / SIGMA + current * CONTACT
    assert r["conduction.ohmic_overpotential_V"] == pytest.approx(ohmic, rel=1e-8)


def test_bad_electrode_conditions_are_one_line_errors():
    electrode = {"exchange_current_density": "1 mA/cm^2"}
    data = _case(1, 1.0, electrode)
    data["boundary_conditions"]["conduction"][1]["type"] = "current_density"
    data["boundary_conditions"]["conduction"][1]["value"] = "1 A/m^2"
    with pytest.raises(CaseError, match="an electrode goes with type ground or potential"):
        validate_case(data)
    data = _case(1, 1.0, {"exchange_current_density": "1 mA/cm^2", "alpha_a": 2})
    with pytest.raises(CaseError, match="alpha_a"):
        validate_case(data)


def test_the_boundary_electrode_equals_a_meshed_metal_layer(tmp_path):
    """Li meshed (20 um, Butler-Volmer on its interface with the SE, ground on the metal) and
    Li as a boundary electrode give the same voltage and overpotential: the metal's own
    ohmic drop (1e-11 V here) is all that differs."""
    current = 15.0
    electrode = {"exchange_current_density": f"{I0} A/m^2", "alpha_a": 0.4, "alpha_c": 0.6}
    boundary = _case(2, current, electrode)
    boundary["boundary_conditions"]["conduction"] = [
        {"name": "top", "type": "current_density", "value": f"{current} A/m^2"},
        {"name": "bottom", "type": "ground", "electrode": electrode},
    ]
    meshed = _case(2, current, electrode)
    _with_meshed_li(meshed, {"alpha_a": 0.4, "alpha_c": 0.6})
    meshed["boundary_conditions"]["conduction"] = [
        {"name": "top", "type": "current_density", "value": f"{current} A/m^2"},
        {"name": "bottom", "type": "ground"},
    ]
    runs = {}
    for name, data in (("boundary", boundary), ("meshed", meshed)):
        summary = Run(validate_case(data), outdir=str(tmp_path / name)).execute()
        assert summary["status"] == "ok", summary.get("reason")
        runs[name] = summary["results"]
    v_b, v_m = runs["boundary"]["conduction.voltage_V"], runs["meshed"]["conduction.voltage_V"]
    assert v_b == pytest.approx(v_m, abs=1e-10)
    eta_b = runs["boundary"]["conduction.bottom.mean_overpotential_V"]
    eta_m = runs["meshed"]["conduction.anode_electrolyte.mean_overpotential_V"]
    assert eta_b == pytest.approx(eta_m, rel=1e-9)
    assert eta_b == pytest.approx(_eta(-current, 0.4, 0.6), rel=1e-9)  # Li plates


def test_the_balance_closes_where_the_overpotential_varies_along_the_metal(tmp_path):
    """Current enters through the sides and leaves through the metal on top, so the
    overpotential varies along it: the residual and the reported current use one quadrature
    rule, and the current balance closes to the solver's tolerance."""
    electrode = {"exchange_current_density": f"{I0} A/m^2"}
    data = _case(2, 1.0, electrode)
    data["geometry"]["width"] = "100 um"
    data["boundary_conditions"]["conduction"][0] = {
        "name": "sides",
        "type": "current_density",
        "value": "200 A/m^2",
    }
    summary = Run(validate_case(data), outdir=str(tmp_path)).execute()
    assert summary["status"] == "ok", summary.get("reason")
    balance = summary["conservation"]["conduction"]
    assert balance["balance_error"] < 1e-8
    r = summary["results"]
    assert r["conduction.current_top_A"] == pytest.approx(-r["conduction.current_A"], rel=1e-8)


def test_an_electronic_terminal_counts_from_the_metal_of_the_boundary_electrode(tmp_path):
    """Meshed Li (interface U = 0, electronic terminal) | SE | a metal electrode with U = 0.1 V
    at 0 V: the open-circuit voltage is -U and the voltage splits exactly into -U, the two
    overpotentials and the ohmic drop."""
    current = 10.0
    electrode = {"exchange_current_density": f"{I0} A/m^2", "open_circuit_potential": "0.1 V"}
    data = _case(1, current, electrode)
    _with_meshed_li(data)
    summary = Run(validate_case(data), outdir=str(tmp_path)).execute()
    assert summary["status"] == "ok", summary.get("reason")
    r = summary["results"]
    assert r["conduction.open_circuit_voltage_V"] == pytest.approx(-0.1, abs=1e-12)
    eta = _eta(current, 0.5, 0.5)  # Li dissolves at the anode; plates at the top metal
    li = 20e-6 / 1.08e7  # Li's own resistance [Ohm m^2] (library: 1.08e7 S/m)
    exact = -0.1 + eta - _eta(-current, 0.5, 0.5) + current * (LENGTH / SIGMA + CONTACT + li)
    assert r["conduction.voltage_V"] == pytest.approx(exact, rel=1e-6)
    assert r["conduction.ohmic_overpotential_V"] == pytest.approx(
        current * (LENGTH / SIGMA + CONTACT + li), rel=1e-5
    )


def test_a_potentiostatic_cell_counts_its_open_circuit_voltage_from_the_metal(tmp_path):
    """No terminal: 50 mV on the meshed Li (interface U = 0) against a metal electrode with
    U = 0.1 V at 0 V: the open-circuit voltage is -U, and the ohmic overpotential is the
    measured current times the SE's and the Li's resistance."""
    electrode = {"exchange_current_density": f"{I0} A/m^2", "open_circuit_potential": "0.1 V"}
    data = _case(1, 1.0, electrode)
    _with_meshed_li(data)
    data["boundary_conditions"]["conduction"][0] = {
        "name": "bottom",
        "type": "potential",
        "value": "50 mV",
    }
    summary = Run(validate_case(data), outdir=str(tmp_path)).execute()
    assert summary["status"] == "ok", summary.get("reason")
    r = summary["results"]
    assert r["conduction.voltage_V"] == pytest.approx(0.05, rel=1e-12)
    assert r["conduction.open_circuit_voltage_V"] == pytest.approx(-0.1, abs=1e-12)
    i = r["conduction.current_density_A_m2"]
    ohmic = i * (LENGTH / SIGMA + 20e-6 / 1.08e7)
    assert r["conduction.ohmic_overpotential_V"] == pytest.approx(ohmic, rel=1e-6)
    eta = r["conduction.charge_transfer_overpotential_V"]
    assert eta == pytest.approx(_eta(i, 0.5, 0.5) - _eta(-i, 0.5, 0.5), rel=1e-6)
