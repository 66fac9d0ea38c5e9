"""What a user sees after a run: the headline table of `sse-fem run` and `sse-fem show`."""

from __future__ import annotations

import json

import pytest

from sse_fem.cli import main
from sse_fem.postprocess.headline import format_table, headline
from tests.conftest import CASES

SYMMETRIC = str(CASES / "symmetric_cell" / "case.yaml")


def _run(tmp_path, name: str, *overrides: str, quiet: bool = False) -> str:
    out = str(tmp_path / name)
    args = ["run", SYMMETRIC, "-o", out, "geometry.dimension=1", "outputs.plots=false", *overrides]
    assert main(args + (["--quiet"] if quiet else [])) == 0
    return out


def test_run_ends_with_the_headline_table_and_show_compares_two_runs(tmp_path, capsys):
    a = _run(tmp_path, "a")
    table = capsys.readouterr().out
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    volts = summary["results"]["conduction.voltage_V"]
    line = next(row for row in table.splitlines() if row.startswith("cell voltage"))
    assert f"{volts * 1e3:.6g}" in line and line.rstrip().endswith("mV")
    for label in ("status", "dofs", "wall time", "area-specific resistance", "focusing factor"):
        assert label in table
    b = _run(tmp_path, "b", "boundary_conditions.conduction.bottom.value=2 mA/cm^2", quiet=True)
    assert capsys.readouterr().out == ""  # --quiet: no table
    assert main(["show", a, b]) == 0
    shown = capsys.readouterr().out
    row = next(r for r in shown.splitlines() if r.startswith("current density"))
    assert row.split() == ["current", "density", "1", "2", "mA/cm^2", "1", "+100.00%"]


def test_show_of_a_folder_without_a_run_is_one_line_error(tmp_path, capsys):
    assert main(["show", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: show:") and "no summary.json" in err and "\n" not in err


def test_headline_takes_each_physics_figures_in_display_units():
    summary = {
        "status": "ok",
        "solver": {"dofs": {"u": 10, "T": 5}},
        "timings": {"total_s": 1.5},
        "results": {"heat.max_temperature_K": 300.15, "conduction.voltage_V": 0.5},
        "outputs": {
            "heat": {"peak_temperature_rise_K": 2.0, "energy_budget": {"x": 1}},
            "mechanics": {"metal_electrolyte.max_normal_traction_Pa": 3e6},
        },
    }
    rows = {label: (value, unit) for label, value, unit in headline(summary)}
    assert rows["dofs"] == (15.0, "")
    assert rows["cell voltage"] == pytest.approx((500.0, "mV"))
    assert rows["max temperature (last step)"][0] == pytest.approx(27.0)
    assert rows["metal_electrolyte: max interface tension"] == pytest.approx((3.0, "MPa"))
    assert "peak temperature rise" in format_table([summary], ["run"])


def test_headline_shows_seed_statistics_and_particle_paths():
    outputs = {
        "seeds": 6,
        "sigma_zz_mean": 0.0059,
        "sigma_zz_std": 0.0012,
        "percolation_probability_z": 0.5,
        "particles": 12,
        "particle_volume_share_both_paths": 0.72,
        "particle_volume_share_missing_a_path": 0.28,
    }
    rows = {
        label: (value, unit)
        for label, value, unit in headline({"outputs": {"homogenize": outputs}})
    }
    assert rows["effective conductivity zz, mean"] == (0.0059, "S/m")
    assert rows["effective conductivity zz, std"] == (0.0012, "S/m")
    assert rows["percolation probability z"] == (0.5, "")
    assert rows["seeds"] == (6.0, "") and rows["particles (connected pieces)"] == (12.0, "")
    assert rows["particle volume with both_paths"] == pytest.approx((72.0, "%"))
    assert "effective conductivity zz" not in rows  # a mean is not a single value


def test_reproduce_reruns_the_recorded_case_and_compares(tmp_path, capsys):
    out = _run(tmp_path, "run", quiet=True)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    prov = summary["provenance"]
    assert prov["case_file"] == SYMMETRIC and prov["started"] <= prov["finished"]
    assert {"git_commit", "host", "command", "image"} <= prov.keys()
    assert main(["run", "--reproduce", out]) == 0
    assert "reproduced: every figure within" in capsys.readouterr().out
    summary["results"]["conduction.voltage_V"] *= 1.001  # a recorded figure that differs
    (tmp_path / "run" / "summary.json").write_text(json.dumps(summary))
    assert main(["run", "--reproduce", out, "-o", str(tmp_path / "again")]) == 3
    assert "NOT reproduced" in capsys.readouterr().out
