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


@pytest.mark.parametrize("phi", [0.45, 0.6])
def test_neck_policy_clears_caps_and_keeps_phase_volumes(phi: float) -> None:
    """No near-tangent caps, no crowded crossings, every phase's volume restored."""
    rng = np.random.default_rng(7)
    box = np.full(3, 10.0)
    big = packing.sample_radii(rng, (phi - 0.05) * 1000, 1.5, "lognormal", 0.3, 3, 5000)
    small = packing.sample_radii(rng, 0.05 * 1000, 0.6, "monodisperse", 0.0, 3, 5000)
    phase = np.r_[np.zeros(big.size, int), np.ones(small.size, int)]
    p = packing.pack(np.r_[big, small], phase, box, rng)
    target = [packing.ball_volume(r, 3).sum() for r in (big, small)]
    packing.make_meshable(p, overlap=0.05, min_gap=0.05, rng=rng)
    ij, d, dist = packing.pairs(p.centres, p.radii, p.box, 0.0)
    push = packing._cap_push(p.centres, p.radii, p.box, ij, d, dist, 0.05)
    assert np.abs(push).max() < 0.02 * 0.05 * p.radii.min()
    assert not packing._crowded_crossings(p.centres, p.radii, p.box, 0.05).any()
    held = packing.phase_volumes(p, np.array([0, 1]))
    np.testing.assert_allclose(held, target, rtol=packing.FRACTION_TOL)


def test_neck_policy_settles_where_pushes_and_kicks_alone_did_not(make_geometry) -> None:
    """Seed 2 of the 24 um RVE (60 vol% spheres): without opening the necks of particles
    kicked ``OPEN_NECKS_AFTER_KICKS`` times the policy never settled (5000 iterations)."""
    from tests.geometry.test_builders import RVE_24UM

    p, _, _ = particle_packing(make_geometry({**RVE_24UM, "seed": 2}))
    ij, d, dist = packing.pairs(p.centres, p.radii, p.box, 0.05 * p.radii.max())
    rm = np.minimum(p.radii[ij[:, 0]], p.radii[ij[:, 1]])
    gap = (dist - p.radii[ij[:, 0]] - p.radii[ij[:, 1]]) / rm
    assert not np.any((gap > -0.049) & (gap < 0.049))
    touching = gap < 0
    push = packing._cap_push(
        p.centres, p.radii, p.box, ij[touching], d[touching], dist[touching], 0.05
    )
    assert np.abs(push).max() < 0.02 * 0.05 * p.radii.min()
    assert not packing._crowded_crossings(p.centres, p.radii, p.box, 0.05).any()


def test_cad_start_vertex_of_a_neck_circle() -> None:
    """The fragment of two spheres keeps a vertex on the neck circle where
    ``occ_x_direction`` says OpenCASCADE starts it (the rule the neck policy relies on)."""
    import gmsh

    centres = np.array([[0.0, 0.0, 0.0], [0.3, 1.1, 0.5]])
    radii = np.array([1.0, 0.8])
    d = centres[1] - centres[0]
    dist = np.linalg.norm(d)
    centre, radius, unit = packing.neck_circles(
        centres, radii, np.array([[0, 1]]), d[None], np.array([dist])
    )
    starts = centre + np.array([[1.0], [-1.0]]) * radius * packing.occ_x_direction(unit)
    gmsh.initialize()
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        tags = [gmsh.model.occ.addSphere(*c, r) for c, r in zip(centres, radii, strict=True)]
        gmsh.model.occ.fragment([(3, tags[0])], [(3, tags[1])])
        gmsh.model.occ.synchronize()
        on_neck = []
        for _, point in gmsh.model.getEntities(0):
            xyz = np.array(gmsh.model.getValue(0, point, []))
            seam = any(abs(xyz[1] - c[1]) < 1e-9 and xyz[0] > c[0] for c in centres)
            neck = abs(np.linalg.norm(xyz - centre[0]) - radius[0]) < 1e-6
            if neck and abs((xyz - centre[0]) @ unit[0]) < 1e-6 and not seam:
                on_neck.append(xyz)  # not where a sphere's seam (y = y_c, x > x_c) crosses
    finally:
        gmsh.finalize()
    assert len(on_neck) == 1
    assert np.linalg.norm(starts - on_neck[0], axis=1).min() < 1e-6


def test_cad_start_vertex_of_a_face_circle() -> None:
    """A box face cuts a sphere (turned so its seam misses the cut): the circle's one vertex
    is where ``occ_x_direction`` puts the start of a circle of normal e_z (+-y, not +-x)."""
    import gmsh

    centre, depth = np.array([5.0, 5.0, 0.4]), 0.4
    rho = np.sqrt(1 - depth**2)
    starts = (
        centre[:2]
        + np.array([[1.0], [-1.0]])
        * rho
        * packing.occ_x_direction(np.array([[0.0, 0.0, 1.0]]))[:, :2]
    )
    gmsh.initialize()
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        ball = gmsh.model.occ.addSphere(*centre, 1.0)
        gmsh.model.occ.rotate([(3, ball)], *centre, 0.0, 1.0, 0.0, -np.pi / 2)
        box = gmsh.model.occ.addBox(0, 0, 0, 10, 10, 10)
        gmsh.model.occ.fragment([(3, box)], [(3, ball)])
        gmsh.model.occ.synchronize()
        on_circle = []
        for _, point in gmsh.model.getEntities(0):
            xyz = np.array(gmsh.model.getValue(0, point, []))
            if abs(xyz[2]) < 1e-9 and abs(np.linalg.norm(xyz[:2] - centre[:2]) - rho) < 1e-6:
                on_circle.append(xyz[:2])
    finally:
        gmsh.finalize()
    assert len(on_circle) == 1
    assert np.linalg.norm(starts - on_circle[0], axis=1).min() < 1e-6


def test_orientations_turn_poles_and_seams_off_the_caps() -> None:
    """A sphere cut by a box face right at its default pole gets turned; rotations are
    proper and keep both poles clear of every cap circle."""
    x = np.array([[5.0, 5.0, 0.9], [5.0, 6.9, 0.9]])
    r = np.array([1.0, 1.0])
    turn = packing.orientations(x, r, np.full(3, 10.0))
    for rot in turn:
        np.testing.assert_allclose(rot.T @ rot, np.eye(3), atol=1e-12)
        assert np.linalg.det(rot) == pytest.approx(1.0)
    caps = packing.cap_table(x, r, np.full(3, 10.0))
    for i in range(2):
        half = np.arccos(caps.cos_half[i, caps.valid[i]])
        for pole in (turn[i][:, 2], -turn[i][:, 2]):
            angle = np.arccos(np.clip(caps.axes[i, caps.valid[i]] @ pole, -1, 1))
            assert np.abs(angle - half).min() > 0.2
