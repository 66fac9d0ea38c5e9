"""The JSON Schema of case files (``sse-fem schema``): every shipped case validates against
it, broken ones do not, and the command writes it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from sse_fem.cli import main
from sse_fem.config.json_schema import DIALECT, case_schema
from sse_fem.config.loader import _read_yaml

CASES = Path(__file__).resolve().parents[2] / "cases"
SHIPPED = sorted(CASES.glob("*/case*.yaml"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = case_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", SHIPPED, ids=[f"{p.parent.name}/{p.name}" for p in SHIPPED])
def test_shipped_cases_validate(validator, path):
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_read_yaml(path))
    ]
    assert errors == []


BASE = CASES / "blocking_electrode_polarisation" / "case.yaml"


def broken(edit) -> dict:
    data = copy.deepcopy(_read_yaml(BASE))
    edit(data)
    return data


@pytest.mark.parametrize(
    ("what", "edit"),
    [
        ("unknown top-level block", lambda d: d.update(solvers={})),
        ("unknown key in a physics", lambda d: d["physics"]["nernst_planck"].update(ions=[])),
        (
            "charge number out of range",
            lambda d: d["physics"]["nernst_planck"]["species"][0].update(charge_number=5),
        ),
        ("regions not a list", lambda d: d.update(regions={"electrolyte": "Li6PS5Cl"})),
        ("no case block", lambda d: d.pop("case")),
        ("unknown geometry type", lambda d: d["geometry"].update(type="sphere")),
        ("a quantity as a list", lambda d: d["time"].update(dt=["10 ns"])),
    ],
)
def test_broken_cases_fail(validator, what, edit):
    assert list(validator.iter_errors(broken(edit))), what


def test_schema_command_writes_the_schema(tmp_path):
    out = tmp_path / "case.schema.json"
    assert main(["schema", "-o", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["$schema"] == DIALECT
    assert written == json.loads(json.dumps(case_schema()))
    unit = written["$defs"]["CaseInfo"]["properties"]["temperature"]["description"]
    assert "K" in unit
