"""Physics-owned conditions: the per-physics layout, and one-line errors for the old one."""

from __future__ import annotations

import copy

import pytest
import yaml

from sse_fem.config import validate_case
from sse_fem.errors import CaseError
from tests.config.test_loader import SYMMETRIC


def base() -> dict:
    return yaml.safe_load(SYMMETRIC.read_text())


def test_conditions_belong_to_their_physics():
    case = validate_case(base())
    assert [b.name for b in case.boundary_conditions.conduction] == ["bottom", "top"]
    assert [i.name for i in case.interfaces.conduction] == [
        "anode_electrolyte",
        "electrolyte_cathode",
    ]
    assert case.case.temperature == pytest.approx(298.15)


@pytest.mark.parametrize(
    ("edit", "path", "fragment"),
    [
        (
            lambda d: d.__setitem__("boundary_conditions", d["boundary_conditions"]["conduction"]),
            "boundary_conditions",
            "keyed by physics now: write `boundary_conditions: {conduction: [...]}`",
        ),
        (
            lambda d: d.__setitem__("interfaces", d["interfaces"]["conduction"]),
            "interfaces",
            "keyed by physics now",
        ),
        (
            lambda d: d["physics"].__setitem__("conduction", {"temperature": "300 K"}),
            "physics.conduction",
            "write it as `case.temperature`",
        ),
        (
            lambda d: d.__setitem__("initial_conditions", {"temperature": "300 K"}),
            "initial_conditions",
            "write it as `case.temperature`",
        ),
    ],
)
def test_old_layout_names_the_new_key_path(edit, path, fragment):
    data = copy.deepcopy(base())
    edit(data)
    with pytest.raises(CaseError) as err:
        validate_case(data)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}:"), msg
    assert fragment in msg, msg


def test_same_boundary_name_twice_in_one_physics_is_an_error():
    data = base()
    data["boundary_conditions"]["conduction"].append({"name": "top", "type": "insulated"})
    with pytest.raises(CaseError, match=r"boundary_conditions\.conduction\[2\]\.name: .*twice"):
        validate_case(data)


def test_dt_min_above_dt_max_is_a_case_error():
    data = base()
    data["time"] = {"mode": "transient", "t_end": "1 s", "dt": "0.1 s"}
    data["time"] |= {"dt_min": "0.5 s", "dt_max": "0.2 s"}
    with pytest.raises(CaseError, match=r"^time: dt_min .* exceeds dt_max"):
        validate_case(data)
