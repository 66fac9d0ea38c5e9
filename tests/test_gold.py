"""Regression: every shipped case file, run at its gold size, gives its gold figures, and
`sse-fem run --reproduce` of that run gives them again to 1e-8 (one case per combination of
physics)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from sse_fem.cli import main
from sse_fem.errors import CaseError
from sse_fem.gold import GOLD_FILE, check_case_dir, differences, read_gold
from tests.conftest import CASES

CASE_DIRS = sorted(p.parent for p in CASES.glob("*/case.yaml"))


def _physics(case_dir: Path) -> frozenset[str]:
    return frozenset(yaml.safe_load((case_dir / "case.yaml").read_text())["physics"])


def _reproduced() -> set[str]:
    """Per combination of physics, the shipped case with the fewest gold dofs: `--reproduce`
    is the same machinery for every case of one combination (resolved file, same modules)."""
    cheapest: dict[frozenset[str], tuple[float, str]] = {}
    for d in CASE_DIRS:
        dofs = float(read_gold(d)["case.yaml"]["figures"].get("dofs", 0.0))
        key = _physics(d)
        cheapest[key] = min(cheapest.get(key, (dofs, d.name)), (dofs, d.name))
    return {name for _, name in cheapest.values()}


REPRODUCED = _reproduced()


def test_every_combination_of_physics_has_a_reproduced_case():
    assert {_physics(CASES / name) for name in REPRODUCED} == {_physics(d) for d in CASE_DIRS}
    assert {"symmetric_cell", "nmc_layer_1d", "cathode_swelling_stress"} <= REPRODUCED


def test_every_shipped_case_file_has_a_gold_entry():
    for case_file in sorted(CASES.glob("*/case*.yaml")):
        runs = read_gold(case_file.parent)
        assert case_file.name in runs, f"{case_file} has no entry in {GOLD_FILE}"
        assert runs[case_file.name].get("figures"), f"{case_file}: run `sse-fem gold --update`"


@pytest.mark.parametrize("case_dir", CASE_DIRS, ids=[d.name for d in CASE_DIRS])
def test_shipped_case_gives_its_gold_figures(case_dir, tmp_path):
    moved = check_case_dir(case_dir, tmp_path)
    assert moved == [], "\n".join(
        f"{n}: {f}: gold {a!r}, now {b!r} ({w})" for n, f, a, b, w in moved
    )
    for name in read_gold(case_dir):  # each run ends with its report (and reproduces itself)
        out = tmp_path / case_dir.name / name.removesuffix(".yaml")
        assert (out / "report.html").exists()
        if case_dir.name not in REPRODUCED:
            continue
        again = tmp_path / "reproduced" / case_dir.name / name
        assert main(["run", "--reproduce", str(out), "-o", str(again), "-q"]) == 0, name


def test_a_changed_physics_value_fails_until_the_gold_is_updated(tmp_path, capsys):
    folder = tmp_path / "symmetric_cell"
    shutil.copytree(CASES / "symmetric_cell", folder)
    case = folder / "case.yaml"
    i0 = "exchange_current_density: 1 mA/cm^2"
    case.write_text(case.read_text().replace(i0, i0.replace("1 mA", "1.2 mA")))
    assert case.read_text().count("exchange_current_density: 1.2 mA/cm^2") == 2
    assert main(["gold", str(folder), "-o", str(tmp_path / "runs")]) == 3
    out = capsys.readouterr().out
    assert "case.yaml: cell voltage [mV]: gold" in out and "MOVED" in out
    assert main(["gold", str(folder), "--update", "-o", str(tmp_path / "runs")]) == 0
    assert main(["gold", str(folder), "-o", str(tmp_path / "runs")]) == 0
    assert capsys.readouterr().out.strip().endswith("agree")


def test_differences_name_new_missing_and_moved_figures():
    gold = {"status": "ok", "a [mV]": 1.0, "b": 2.0}
    now = {"status": "failed", "a [mV]": 1.0 + 2e-6, "c": 3.0}
    found = {d[0]: d[3] for d in differences(gold, now, 1e-6)}
    assert found == {
        "status": "changed",
        "a [mV]": "relative change 2.00e-06 > 1e-06",
        "b": "missing now",
        "c": "new figure",
    }
    assert differences(gold, dict(gold), 0.0) == []
    # round-off next to the largest figure of the same unit is no change
    noise = {"V [mV]": 4000.0, "eta [mV]": 1e-15}
    assert differences(noise, {"V [mV]": 4000.0, "eta [mV]": -3e-13}, 1e-6) == []
    assert len(differences(noise, {"V [mV]": 4000.0, "eta [mV]": 1e-5}, 1e-6)) == 1
    # an entry's own floor (a figure that is zero to the solver tolerance)
    assert differences(noise, {"V [mV]": 4000.0, "eta [mV]": 1e-5}, 1e-6, 1e-8) == []
    nan = float("nan")
    assert [d[3] for d in differences({"f": nan}, {"f": 1.0}, 1e-6)] == ["changed (NaN)"]
    assert differences({"f": nan}, {"f": nan}, 1e-6) == []


def test_a_broken_gold_file_is_a_one_line_error(tmp_path):
    shutil.copy(CASES / "symmetric_cell" / "case.yaml", tmp_path / "case.yaml")
    with pytest.raises(CaseError, match="does not exist"):
        read_gold(tmp_path)
    (tmp_path / GOLD_FILE).write_text(json.dumps({"runs": {"case.yaml": {"overides": []}}}))
    with pytest.raises(CaseError, match=r"unknown key\(s\) \['overides'\]") as err:
        read_gold(tmp_path)
    assert err.value.path == "gold.runs.case.yaml"
    (tmp_path / "case.yaml").write_text("")
    (tmp_path / GOLD_FILE).write_text(json.dumps({"runs": {"case.yaml": {"rtol": 1e-4}}}))
    with pytest.raises(CaseError, match="needs a note"):
        read_gold(tmp_path)
    noted = {"rtol": "1e-4", "note": "why"}
    (tmp_path / GOLD_FILE).write_text(json.dumps({"runs": {"case.yaml": noted}}))
    with pytest.raises(CaseError, match="rtol is a number >= 0, not '1e-4'"):
        read_gold(tmp_path)
    (tmp_path / GOLD_FILE).write_text(json.dumps({"runs": {"other.yaml": {}}}))
    with pytest.raises(CaseError, match="no case file 'other.yaml'"):
        read_gold(tmp_path)
