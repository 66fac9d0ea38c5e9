"""Case files: schema, overrides, includes and one-line errors naming the key path."""

import copy
from pathlib import Path

import pytest
import yaml

from sse_fem.config import load_case, validate_case
from sse_fem.errors import CaseError

ROOT = Path(__file__).resolve().parents[2]
SYMMETRIC = ROOT / "cases" / "symmetric_cell" / "case.yaml"


def base() -> dict:
    return yaml.safe_load(SYMMETRIC.read_text())


def test_example_case_values_in_si():
    case = load_case(SYMMETRIC)
    assert case.geometry.layers[1].thickness == pytest.approx(100e-6)
    assert case.case.temperature == pytest.approx(298.15)
    assert case.interfaces.conduction[0].exchange_current_density == pytest.approx(10.0)
    assert case.boundary_conditions.conduction[0].value == pytest.approx(10.0)


def test_overrides_by_dotted_path_and_list_item_name():
    case = load_case(
        SYMMETRIC,
        [
            "materials.llzo.ionic_conductivity=0.3 mS/cm",
            "geometry.layers.electrolyte.thickness=200 um",
            "interfaces.conduction.anode_electrolyte.exchange_current_density=2 mA/cm^2",
            "geometry.dimension=3",
        ],
    )
    assert case.materials["llzo"].overrides["ionic_conductivity"] == "0.3 mS/cm"
    assert case.geometry.layers[1].thickness == pytest.approx(200e-6)
    assert case.interfaces.conduction[0].exchange_current_density == pytest.approx(20.0)
    assert case.dimension == 3


@pytest.mark.parametrize(
    ("override", "path", "fragment"),
    [
        ("materials.llzo.ionic_conductivity=0.3 m", "materials.llzo", "not a conductivity"),
        (
            "geometry.layers.electrolyte.thicknes=1 um",
            "geometry.layers[1](electrolyte).thicknes",
            "did you mean 'thickness'",
        ),
        (
            "geometry.layers.electrolyte.thickness=-1 um",
            "geometry.layers[1](electrolyte).thickness",
            "must be > 0",
        ),
        (
            "interfaces.conduction.anode_electrolyte.alpha=0.3",
            "interfaces.conduction[0](anode_electrolyte).alpha",
            "did you mean 'alpha_",
        ),
        ("regions.anode.material=Lithum", "regions[0].material", "unknown material"),
        ("physics.conductio.temperature=300 K", "physics.conductio", "did you mean"),
        (
            "boundary_conditions.conduction.bottom.value=3 V",
            "boundary_conditions.conduction[0](bottom)",
            "not a current density",
        ),
        ("geometry.type=foo", "geometry", "'layered_cell'"),
        ("time.mode=transient", "time", "need dt"),
        ("geometry.layers.nothere.thickness=1 um", "geometry.layers", "no item named"),
        ("regions.anode.name=anodes", "regions[0].name", "allowed: ['anode'"),
        (
            "materials.llzo.ionic_conductivty=1 S/m",
            "materials.llzo",
            "did you mean 'ionic_conductivity'",
        ),
    ],
)
def test_bad_overrides_give_one_line_with_key_path(override, path, fragment):
    with pytest.raises(CaseError) as err:
        load_case(SYMMETRIC, [override])
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(path), msg
    assert fragment in msg, msg


def test_missing_block_and_exclusive_geometry():
    data = base()
    del data["physics"]
    with pytest.raises(CaseError, match="^physics: required key is missing"):
        validate_case(data)
    data = base()
    data["mesh"] = {"file": "x.msh", "dimension": 2}
    with pytest.raises(CaseError, match="exactly one of `geometry`"):
        validate_case(data)


def test_include_shared_yaml(tmp_path):
    (tmp_path / "kinetics.yaml").write_text(
        "- {name: anode_electrolyte, exchange_current_density: 5 mA/cm^2}\n"
        "- {name: electrolyte_cathode, exchange_current_density: 5 mA/cm^2}\n"
    )
    text = SYMMETRIC.read_text()
    head, _, tail = text.partition("interfaces:")
    tail = tail.split("\n\n", 1)[1]
    (tmp_path / "case.yaml").write_text(
        head + "interfaces:\n  conduction: !include kinetics.yaml\n\n" + tail
    )
    case = load_case(tmp_path / "case.yaml")
    assert case.interfaces.conduction[1].exchange_current_density == pytest.approx(50.0)
    (tmp_path / "bad.yaml").write_text("case: !include nothere.yaml\n")
    with pytest.raises(CaseError, match="no such file"):
        load_case(tmp_path / "bad.yaml")


def test_yaml_syntax_error_names_the_line(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("case:\n  name: [x\n")
    with pytest.raises(CaseError, match="line"):
        load_case(f)


def test_material_property_dimension_checked_at_validation():
    data = copy.deepcopy(base())
    data["materials"]["llzo"]["ionic_conductivity"] = "3 m"
    with pytest.raises(CaseError, match="^materials.llzo.ionic_conductivity: .*not a cond"):
        validate_case(data)
