"""``cases/cathode_percolation``: its README rows at 10 and 45 vol% SE, for two of the six
seeds (the README averages seeds 1-6)."""

from __future__ import annotations

import csv

import pytest

from sse_fem.config import load_case
from sse_fem.microstructure.homogenize import homogenize_seeds
from tests.conftest import CASES


def scan(tmp_path, se: float) -> tuple[dict, list[dict]]:
    overrides = [
        f"geometry.phases.se.volume_fraction={se}",
        f"geometry.phases.nmc.volume_fraction={round(0.6 - se, 2)}",
        "outputs.plots=false",
    ]
    case = load_case(CASES / "cathode_percolation" / "case.yaml", overrides)
    out = tmp_path / f"se_{se}"
    figures = homogenize_seeds(case, "ionic", out, 2, method="fv")["outputs"]["homogenize"]
    with open(out / "seeds.csv") as fh:
        return figures, list(csv.DictReader(fh))


def test_the_se_percolates_at_45_and_not_at_10_vol_percent(tmp_path):
    low, _ = scan(tmp_path, 0.10)
    assert low["percolation_probability_z"] == 0.0 and low["sigma_zz_mean"] == 0.0
    assert low["particle_volume_share_electronic_path_mean"] > 0.99
    high, rows = scan(tmp_path, 0.45)
    assert high["percolation_probability_z"] == 1.0
    assert [int(r["seed"]) for r in rows] == [1, 2]
    # seed by seed as in the README's scan (S/m), inside its mean +- 2 std of 0.418 +- 0.013
    values = [float(r["sigma_zz"]) for r in rows]
    assert values == pytest.approx([0.04146816, 0.03946116], rel=1e-6)
    assert all(abs(10 * v - 0.418) < 2 * 0.013 for v in values)
    assert high["percolating_fraction_z_mean"] / high["volume_fraction_mean"] > 0.99
    assert high["particle_volume_share_electronic_path_mean"] < 0.2


def test_the_seeds_option_of_the_command(tmp_path, capsys):
    """`--seeds 3` on a small 2D packing: three runs, their table, the statistics; an image
    (no seed) is refused."""
    import json
    import statistics

    import yaml

    from sse_fem.cli import main
    from sse_fem.errors import CaseError

    case = {
        "case": {"name": "pack"},
        "geometry": {
            "type": "voxel_packing",
            "dimension": 2,
            "width": "20 um",
            "thickness": "20 um",
            "voxel_size": "0.5 um",
            "seed": 7,
            "phases": {"se": {"volume_fraction": 0.5, "radius": "1.5 um"}},
        },
        "materials": {"pore": {"category": "solid_electrolyte", "ionic_conductivity": "1 S/m"}},
        "regions": [
            {"name": "se", "material": "Li6PS5Cl"},
            {"name": "pores", "material": "pore", "carriers": []},
        ],
        "physics": {"conduction": {}},
        "boundary_conditions": {
            "conduction": [
                {"name": "top", "type": "potential", "value": "10 mV"},
                {"name": "bottom", "type": "ground"},
            ]
        },
        "outputs": {"plots": False, "report": False},
    }
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(case))
    out = tmp_path / "out"
    assert main(["homogenize", str(path), "--seeds", "3", "-q", "-o", str(out)]) == 0
    with open(out / "seeds.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["seed"]) for r in rows] == [7, 8, 9]
    figures = json.loads((out / "summary.json").read_text())["outputs"]["homogenize"]
    values = [float(r["sigma_yy"]) for r in rows]
    assert figures["sigma_yy_mean"] == pytest.approx(sum(values) / 3, rel=1e-12)
    assert figures["sigma_yy_std"] == pytest.approx(statistics.stdev(values), rel=1e-12)
    assert figures["seeds"] == 3 and 0 <= figures["percolation_probability_y"] <= 1
    assert all((out / f"seed_{n}" / "summary.json").is_file() for n in (7, 8, 9))
    image = load_case(CASES / "tomography_microstructure" / "case.yaml")
    with pytest.raises(CaseError, match="--seeds needs a generated geometry"):
        homogenize_seeds(image, "ionic", tmp_path / "img", 2)
