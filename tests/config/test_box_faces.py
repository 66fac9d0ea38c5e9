"""Box-shaped geometries name their six faces; bottom / top / sides are aliases."""

from __future__ import annotations

import copy

import pytest
import yaml

from sse_fem.config.geometry import box_faces
from sse_fem.config.loader import validate_case
from sse_fem.errors import CaseError
from tests.conftest import CASES

BASE = yaml.safe_load((CASES / "cathode_swelling_stress" / "case.yaml").read_text())


def test_box_faces_and_their_aliases():
    faces, aliases = box_faces(3)
    assert faces == ["x0", "x1", "y0", "y1", "z0", "z1"]
    assert aliases == {"bottom": ["z0"], "top": ["z1"], "sides": ["x0", "x1", "y0", "y1"]}
    assert box_faces(2)[1]["sides"] == ["x0", "x1"]


def test_faces_validate_and_an_alias_with_one_of_its_faces_is_refused():
    data = copy.deepcopy(BASE)
    mech = data["boundary_conditions"]["mechanics"]
    for k, bc in enumerate(mech):  # the lateral confinement face by face
        if bc["name"] == "sides":
            mech[k : k + 1] = [dict(bc, name=f) for f in ("x0", "x1", "y0", "y1")]
            break
    validate_case(data)
    mech.append({"name": "sides", "type": "roller"})
    with pytest.raises(
        CaseError, match="'sides' includes 'x0', which has its own condition"
    ) as err:
        validate_case(data)
    assert err.value.path == f"boundary_conditions.mechanics[{len(mech) - 1}].name"


def test_an_unknown_face_lists_faces_and_aliases():
    data = copy.deepcopy(BASE)
    data["boundary_conditions"]["mechanics"][0]["name"] = "x2"
    with pytest.raises(
        CaseError,
        match=r"allowed: \['x0', 'x1', 'y0', 'y1', 'z0', 'z1', 'bottom', 'top', 'sides'\]",
    ):
        validate_case(data)
