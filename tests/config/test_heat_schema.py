"""Case-file blocks of heat: one boundary carries an electrical and a thermal condition;
every wrong thermal input is a one-line error naming its key path."""

from __future__ import annotations

import copy

import pytest

from sse_fem.config import validate_case
from sse_fem.errors import CaseError
from sse_fem.mesh import build_mesh
from sse_fem.problem import build_problem
from tests.config.test_layout import base

THERMAL_BCS = [
    {"name": "top", "type": "temperature", "value": "25 degC"},
    {"name": "bottom", "type": "convection", "heat_transfer_coefficient": "10 W/(m^2*K)"},
]


def heat_case(**edits) -> dict:
    data = copy.deepcopy(base())
    data["physics"]["heat"] = {}
    data["boundary_conditions"]["heat"] = copy.deepcopy(THERMAL_BCS)
    for key, value in edits.items():
        data[key] = value
    return data


def test_one_boundary_carries_an_electrical_and_a_thermal_condition():
    case = validate_case(heat_case())
    assert [b.name for b in case.boundary_conditions.conduction] == ["bottom", "top"]
    top, bottom = case.boundary_conditions.heat
    assert top.si_value == pytest.approx(298.15)
    assert bottom.heat_transfer_coefficient == pytest.approx(10.0)
    assert bottom.ambient_temperature is None  # the case temperature
    assert case.physics.heat.coupling == "two_way"
    assert case.physics.heat.sources.reversible


@pytest.mark.parametrize(
    ("bc", "path", "fragment"),
    [
        (
            {"name": "top", "type": "temperature"},
            "boundary_conditions.heat[0](top)",
            "needs a value",
        ),
        (
            {"name": "top", "type": "convection"},
            "boundary_conditions.heat[0](top)",
            "needs heat_tr",
        ),
        (
            {"name": "top", "type": "adiabatic", "value": "1 K"},
            "boundary_conditions.heat[0](top)",
            "takes no value",
        ),
        (
            {"name": "top", "type": "temperature", "value": "-5 K"},
            "boundary_conditions.heat[0](top)",
            "must be > 0 K",
        ),
        (
            {"name": "top", "type": "heat_flux", "value": "3 A/m^2"},
            "boundary_conditions.heat[0](top)",
            "W/m^2",
        ),
        (
            {"name": "top", "type": "temperature", "value": "300 K", "ambient_temperature": "1 K"},
            "boundary_conditions.heat[0](top)",
            "belong to type 'convection'",
        ),
        (
            {"name": "nowhere", "type": "temperature", "value": "300 K"},
            "boundary_conditions.heat[0].name",
            "not a boundary of this geometry",
        ),
    ],
)
def test_wrong_thermal_boundary_conditions_name_the_key(bc, path, fragment):
    data = heat_case()
    data["boundary_conditions"]["heat"] = [bc]
    with pytest.raises(CaseError) as err:
        validate_case(data)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(path), msg
    assert fragment in msg, msg


def test_steady_heat_with_adiabatic_boundaries_only_is_a_case_error():
    data = heat_case()
    data["boundary_conditions"]["heat"] = [{"name": "top", "type": "adiabatic"}]
    with pytest.raises(CaseError, match=r"^boundary_conditions\.heat: a steady heat problem"):
        validate_case(data)


def test_volumetric_source_in_an_unknown_region_is_a_case_error():
    data = heat_case()
    data["physics"]["heat"] = {"volumetric_sources": [{"regions": ["anod"], "value": "1 W/m^3"}]}
    with pytest.raises(CaseError, match=r"physics\.heat\.volumetric_sources\[0\]\.regions\[0\]"):
        validate_case(data)


def test_heat_conditions_without_heat_physics_are_a_case_error():
    data = heat_case()
    del data["physics"]["heat"]
    with pytest.raises(CaseError, match=r"^boundary_conditions\.heat: physics 'heat' is not"):
        validate_case(data)


def test_a_material_without_thermal_conductivity_is_named():
    data = heat_case()
    data["geometry"]["dimension"] = 1
    data["materials"]["llzo"] = {"category": "solid_electrolyte", "ionic_conductivity": "1 S/m"}
    case = validate_case(data)
    with pytest.raises(CaseError, match=r"^materials\.llzo: .*'thermal_conductivity'"):
        build_problem(case, build_mesh(case))
