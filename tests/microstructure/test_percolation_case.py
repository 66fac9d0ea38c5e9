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
    # seed by seed as in the README's scan (S/m), inside its mean +- 2 std of 0.418 +- 0.012
    values = [float(r["sigma_zz"]) for r in rows]
    assert values == pytest.approx([0.04146816, 0.03946116], rel=1e-6)
    assert all(abs(10 * v - 0.418) < 2 * 0.012 for v in values)
    assert high["percolating_fraction_z_mean"] / high["volume_fraction_mean"] > 0.99
    assert high["particle_volume_share_electronic_path_mean"] < 0.2
