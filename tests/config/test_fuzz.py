"""Random mutations of valid case dicts end in a Case or a CaseError, never anything else."""

import copy
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sse_fem.config import validate_case
from sse_fem.errors import CaseError

CASES = sorted((Path(__file__).resolve().parents[2] / "cases").glob("*/case*.yaml"))
VALID = [yaml.safe_load(p.read_text()) for p in CASES]

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "-1 um",
            "0 m",
            "3 V",
            "1 mS/cm",
            "nan m",
            "1e999 m",
            "5 parsec",
            "",
            "  ",
            "1 kg",
            "abc def",
        ]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.just([]),
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for k, v in enumerate(node):
            yield from _paths(v, (*prefix, k))


def _mutate(data, path, action, value):
    if not path:
        return value if action == "replace" else data
    parent = data
    for p in path[:-1]:
        parent = parent[p]
    key = path[-1]
    if action == "delete":
        del parent[key]
    elif action == "replace":
        parent[key] = value
    elif action == "unknown_key" and isinstance(parent[key], dict):
        parent[key]["unknwn_key"] = value
    elif action == "empty":
        parent[key] = [] if isinstance(parent[key], list) else {}
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case_index=st.integers(0, len(VALID) - 1),
    pick=st.integers(0, 10**6),
    actions=st.lists(
        st.tuples(st.sampled_from(["delete", "replace", "unknown_key", "empty"]), junk),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_cases_raise_only_case_errors(case_index, pick, actions):
    data = copy.deepcopy(VALID[case_index])
    for action, value in actions:
        paths = list(_paths(data))
        data = _mutate(data, paths[pick % len(paths)], action, value)
    try:
        validate_case(data)
    except CaseError as err:
        assert "\n" not in str(err)
