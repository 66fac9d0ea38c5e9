"""Sweep files: expansion into cases, units, samples, stable case folders, errors by key path."""

from __future__ import annotations

import pytest
import yaml

from sse_fem.errors import CaseError
from sse_fem.sweep.spec import load_sweep
from tests.sweep.helpers import tiny_sweep

CURRENT = "boundary_conditions.conduction.bottom.value"
I0 = "interfaces.conduction.anode_electrolyte.exchange_current_density"


def test_grid_zip_and_ranges_expand_to_their_outer_product(tmp_path):
    path = tiny_sweep(
        tmp_path,
        {
            CURRENT: ["0.5 mA/cm^2", "1 mA/cm^2"],
            I0: {"start": "1 A/m^2", "stop": "100 A/m^2", "num": 3, "scale": "log"},
        },
        {"parameters": {"zip": {"geometry.seed": [0, 1], "solver.newton_max_it": [20, 30]}}},
    )
    sweep = load_sweep(path)
    assert len(sweep.cases) == 2 * 3 * 2
    assert [c.params[I0] for c in sweep.cases[:6:2]] == ["1 A/m^2", "10 A/m^2", "100 A/m^2"]
    zipped = {(c.params["geometry.seed"], c.params["solver.newton_max_it"]) for c in sweep.cases}
    assert zipped == {(0, 20), (1, 30)}
    assert sweep.cases[3].overrides()[0] == f"{CURRENT}=0.5 mA/cm^2"
    # folders: index and a hash of the parameters, the same on every load
    again = load_sweep(path)
    assert [c.folder for c in again.cases] == [c.folder for c in sweep.cases]
    assert len({c.key for c in sweep.cases}) == len(sweep.cases)
    assert sweep.cases[5].folder.startswith("0005-")


@pytest.mark.parametrize("method", ["random", "latin_hypercube", "sobol"])
def test_samples_are_seeded_and_within_bounds(tmp_path, method):
    bounds = {
        I0: {"low": "1 A/m^2", "high": "100 A/m^2", "scale": "log"},
        CURRENT: {"low": "1 A/m^2", "high": "20 A/m^2"},
    }
    sample = {"method": method, "count": 8, "seed": 4, "bounds": bounds}
    path = tiny_sweep(tmp_path, {}, {"parameters": {"sample": sample}})
    first = [c.params for c in load_sweep(path).cases]
    assert first == [c.params for c in load_sweep(path).cases]  # seeded
    values = [float(p[I0].split()[0]) for p in first]
    assert len(first) == 8 and all(1 <= v <= 100 for v in values)
    if method == "latin_hypercube":  # one sample in each of 8 equal strata of log(i0)
        import numpy as np

        strata = np.floor(np.log(values) / np.log(100) * 8).astype(int)
        assert sorted(strata) == list(range(8))


@pytest.mark.parametrize(
    ("edit", "path", "message"),
    [
        (lambda d: d["sweep"].update(cores=2), "sweep.cores", "unknown key"),
        (
            lambda d: d["parameters"].update(zip={"a.b": [1, 2], "c.d": [1]}),
            "parameters.zip",
            "differ in length",
        ),
        (
            lambda d: d["parameters"]["grid"].update(
                {I0: {"start": "1 A/m^2", "stop": "1 mA/cm^2", "num": 2}}
            ),
            f"parameters.grid.{I0}",
            "one unit",
        ),
        (
            lambda d: d["parameters"]["grid"].update(
                {
                    I0: {"start": 1, "stop": 2, "num": 200},
                    "geometry.seed": {"start": 0, "stop": 199, "num": 200},
                }
            ),
            "parameters",
            "at most 20000",
        ),
        (lambda d: d["sweep"].update(case="../case.yaml"), "sweep.case", "sweep file's folder"),
        (lambda d: d["parameters"]["grid"].update({"geometry.widht": ["1 um"]}), None, "case 0"),
        (
            lambda d: (
                d["slurm"].update(extra=["--wrap=rm -rf"])
                if "slurm" in d
                else d.update(slurm={"time": "1:00:00; rm"})
            ),
            "slurm.time",
            "pattern",
        ),
    ],
)
def test_a_bad_sweep_file_is_a_one_line_error_naming_the_key(tmp_path, edit, path, message):
    sweep_file = tiny_sweep(tmp_path / "s", {CURRENT: ["1 mA/cm^2"]})
    data = yaml.safe_load(sweep_file.read_text())
    edit(data)
    sweep_file.write_text(yaml.safe_dump(data))
    with pytest.raises(CaseError, match=message) as err:
        load_sweep(sweep_file)
    assert err.value.path == path or (path is None and "geometry.widht" in str(err.value))
    assert "\n" not in str(err.value)


def test_shipped_sweep_files_load_and_every_case_validates():
    from tests.conftest import CASES

    shipped = sorted(CASES.glob("*/sweep*.yaml"))
    assert shipped
    for path in shipped:
        sweep = load_sweep(path)
        assert sweep.cases and sweep.spec.criteria
