"""Connectivity of a phase: exact counts on hand-built images."""

from __future__ import annotations

import numpy as np
import pytest

from sse_fem.microstructure.connectivity import phase_connectivity


def image_3d() -> np.ndarray:
    """8 x 5 x 5 voxels (axis 0 = x is the driven axis):
    - a straight bar along x at (y, z) = (1, 1): percolating (8 voxels),
    - a dead-end branch: from the x = 0 face along x to x = 3 at (3, 3) (4 voxels),
    - an isolated island: 2 voxels at x = 5..6, (y, z) = (3, 1),
    - a diagonal-only chain at (y, z) = (4, 4) then (3, 4)... touching by edges only."""
    img = np.zeros((8, 5, 5), bool)
    img[:, 1, 1] = True  # percolating bar
    img[0:4, 3, 3] = True  # dead end from the low face
    img[5:7, 3, 1] = True  # island
    return img


def test_percolating_dead_end_and_isolated_counts_are_exact():
    img = image_3d()
    c = phase_connectivity(img, axis=0, connectivity=6)
    n = img.size
    assert c.components == 3
    assert (c.percolating * n, c.dead_end * n, c.isolated * n) == pytest.approx((8, 4, 2))
    assert c.percolating + c.dead_end + c.isolated == pytest.approx(c.phase_fraction)
    # along y nothing reaches both y faces: the bar and the branch touch neither
    cy = phase_connectivity(img, axis=1)
    assert cy.percolating == 0 and cy.dead_end == 0 and cy.isolated * n == pytest.approx(14)


def test_a_diagonal_contact_percolates_with_26_neighbours_only():
    img = np.zeros((6, 3, 3), bool)
    img[0:3, 0, 0] = True
    img[3:6, 1, 1] = True  # meets the first half only along an edge (diagonal in y-z)
    six = phase_connectivity(img, axis=0, connectivity=6)
    twenty_six = phase_connectivity(img, axis=0, connectivity=26)
    assert six.percolating == 0 and six.dead_end * img.size == pytest.approx(6)
    assert twenty_six.percolating * img.size == pytest.approx(6)
    # 2D: corner contact percolates with 8 but not 4 neighbours
    flat = np.eye(5, dtype=bool)
    assert phase_connectivity(flat, axis=0, connectivity=4).percolating == 0
    assert phase_connectivity(flat, axis=0, connectivity=8).percolating == pytest.approx(5 / 25)


def test_the_solve_keeps_components_touching_an_outer_face():
    from sse_fem.microstructure.voxel_fv import VoxelSystem

    img = image_3d()
    system = VoxelSystem(img.astype(float), 1e-6)
    low, high = system.touches[0, 0], system.touches[0, -1]
    assert (low & high).any() and not (system.touches[1, 0] & system.touches[1, -1]).any()
    assert system.n == 8 + 4  # the island carries nothing and would make the system singular
    assert (system.index[5:7, 3, 1] < 0).all()
