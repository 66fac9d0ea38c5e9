"""Packing algorithm (no meshing): fractions, neck policy, reproducibility, network."""

from __future__ import annotations

import numpy as np
import pytest

from sse_fem.geometry import packing
from sse_fem.geometry.composite_cathode import particle_packing


def _packed(dim: int, phi: float, seed: int, dist: str = "monodisperse") -> packing.Packing:
    rng = np.random.default_rng(seed)
    box = np.full(dim, 10.0)
    r = 1.2 if dim == 3 else 0.8
    radii = packing.sample_radii(rng, phi * box.prod(), r, dist, 0.3 * r, dim, 5000)
    p = packing.pack(radii, np.zeros(radii.size, int), box, rng)
    packing.make_meshable(p, overlap=0.05, min_gap=0.05)
    return p


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("phi", [0.30, 0.45, 0.55])
@pytest.mark.parametrize("seed", [0, 1])
def test_fraction_within_one_percent(dim: int, phi: float, seed: int) -> None:
    p = _packed(dim, phi, seed)
    assert abs(packing.exact_fraction(p) - phi) < 0.01


def test_lognormal_and_neck_policy() -> None:
    p = _packed(3, 0.5, 3, "lognormal")
    assert abs(packing.exact_fraction(p) - 0.5) < 0.01
    ij, _, dist = packing.pairs(p.centres, p.radii, p.box, 0.1 * p.radii.max())
    rm = np.minimum(p.radii[ij[:, 0]], p.radii[ij[:, 1]])
    gap = (dist - p.radii[ij[:, 0]] - p.radii[ij[:, 1]]) / rm
    assert not np.any((gap > -0.049) & (gap < 0.049))  # contact (neck) or clear gap
    assert len(p.contacts) == int((gap < 0).sum()) > 0


def test_lens_volume_matches_caps() -> None:
    r, d = 1.0, 1.5
    h = r - d / 2  # cap height of each sphere
    assert packing.lens_volume(r, r, d, 3) == pytest.approx(2 * np.pi * h**2 * (3 * r - h) / 3)
    seg = r**2 * np.arccos((r - h) / r) - (r - h) * np.sqrt(2 * r * h - h**2)
    assert packing.lens_volume(r, r, d, 2) == pytest.approx(2 * seg)


def test_seeded_and_network(make_geometry) -> None:
    cfg = make_geometry(
        {
            "type": "composite_cathode",
            "dimension": 3,
            "width": "15 um",
            "thickness": "15 um",
            "seed": 4,
            "active": {"volume_fraction": 0.55, "radius": "2 um"},
        }
    )
    a, _, _ = particle_packing(cfg)
    b, _, _ = particle_packing(cfg)
    np.testing.assert_array_equal(a.centres, b.centres)
    net = packing.network(a, np.ones(a.radii.size, bool), 2)
    assert net["percolates"] and net["connected_to_bottom_fraction"] > 0.5
    sparse = packing.Packing(
        np.array([[5.0, 5.0, 5.0]]), np.array([1.0]), np.zeros(1, int), np.full(3, 10.0)
    )
    assert not packing.network(sparse, np.ones(1, bool), 2)["percolates"]
