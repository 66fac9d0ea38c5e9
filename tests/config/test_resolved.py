"""case.resolved.yaml reads back: every shipped case survives dump (SI with units) and load
unchanged, to the last bit."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sse_fem.config import load_case, resolved_dict, validate_case

CASES = sorted((Path(__file__).resolve().parents[2] / "cases").glob("*/case*.yaml"))


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_resolved_case_loads_back_identical(path):
    case = load_case(path)
    text = yaml.safe_dump(resolved_dict(case))
    assert validate_case(yaml.safe_load(text)) == case
