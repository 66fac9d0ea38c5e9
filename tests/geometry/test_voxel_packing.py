"""``geometry.type: voxel_packing``: packed particles of several phases as a voxel image."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from sse_fem.config.geometry import VoxelPacking
from sse_fem.errors import CaseError
from sse_fem.geometry.voxel_packing import packed_labels


def packing(**change) -> VoxelPacking:
    data = {
        "type": "voxel_packing",
        "dimension": 2,
        "width": "30 um",
        "thickness": "20 um",
        "voxel_size": "0.25 um",
        "seed": 4,
        "phases": {
            "big": {"volume_fraction": 0.3, "radius": "2 um"},
            "small": {"volume_fraction": 0.25, "radius": "1 um"},
        },
    }
    return VoxelPacking.model_validate(data | change)


def test_the_image_is_seeded_and_holds_the_fractions():
    cfg = packing()
    img = packed_labels(cfg)
    assert img.shape == (120, 80)
    assert cfg.labels == {0: "pores", 1: "big", 2: "small"}
    fractions = [float((img == k).mean()) for k in (1, 2)]
    # necks add a little, overlaps of the other phase take a little
    assert fractions == pytest.approx([0.3, 0.25], abs=0.02)
    again = packed_labels(packing(seed=4, min_gap=0.05000001))  # a new model, the same seed
    assert np.array_equal(again, img)
    assert not np.array_equal(packed_labels(packing(seed=5)), img)


def test_contacts_of_one_phase_are_joined_by_necks():
    """Wider necks join more of the small particles into one network (face neighbours); in
    3D, near the densest random packing, where particles touch (2D disks jam at 0.84)."""
    counts = []
    for overlap in (0.001, 0.3):
        cfg = packing(dimension=3, width="12 um", thickness="12 um", voxel_size="0.4 um")
        img = packed_labels(cfg.model_copy(update={"contact_overlap": overlap}))
        _, n = ndimage.label(img == 2)
        counts.append(n)
    assert counts[1] < counts[0]


def test_a_periodic_cell_wraps_around():
    """Particles cut by a face continue on the opposite face (the image is one periodic cell):
    the voxels across the wrap agree as often as neighbours do, far more than distant ones."""
    img = packed_labels(packing())
    across, neighbours, distant = (np.mean(img[0] == img[k]) for k in (-1, 1, 60))
    assert across > distant + 0.3 and abs(across - neighbours) < 0.1


def test_inconsistent_phases_are_case_errors():
    with pytest.raises(ValueError, match="add up to 0.75"):
        packing(
            phases={
                "a": {"volume_fraction": 0.4, "radius": "1 um"},
                "b": {"volume_fraction": 0.35, "radius": "1 um"},
            }
        )
    with pytest.raises(ValueError, match="matrix: 'a' is also a phase"):
        packing(phases={"a": {"volume_fraction": 0.4, "radius": "1 um"}}, matrix="a")
    with pytest.raises(ValueError, match="phases.a: particles as wide as the box"):
        packing(phases={"a": {"volume_fraction": 0.3, "radius": "10 um"}})
    with pytest.raises(CaseError, match="geometry.phases.a"):
        packed_labels(
            packing(phases={"a": {"volume_fraction": 0.4, "radius": "0.5 um"}}, max_particles=10)
        )


def test_a_ball_wider_than_half_the_box_wraps_without_losing_voxels():
    """Voxels the window visits twice are set once, from the ball (the periodic distance)."""
    from sse_fem.geometry.voxel_packing import _fill

    labels = np.zeros((20, 20), dtype=np.uint8)
    centre, r = np.array([10.0, 10.5]), 9.5
    _fill(labels, 1, centre, r, np.zeros(2))
    grid = np.stack(np.meshgrid(np.arange(20) + 0.5, np.arange(20) + 0.5, indexing="ij"), -1)
    d = grid - centre
    d -= 20 * np.round(d / 20)
    assert np.array_equal(labels == 1, np.linalg.norm(d, axis=-1) <= r)


@pytest.mark.mpi
def test_every_rank_builds_the_same_packing_and_the_distributed_tensor_matches(shared_tmp):
    """Each rank packs for itself: the images agree, the hexahedral mesh carries their
    volumes, and the finite-volume tensor distributed over the ranks equals one rank's."""
    from mpi4py import MPI

    from sse_fem.geometry.from_image import build
    from sse_fem.microstructure.voxel_fv import effective_tensor

    comm = MPI.COMM_WORLD
    cfg = packing(width="12 um", thickness="10 um", voxel_size="0.5 um")
    img = packed_labels(cfg)
    assert all(np.array_equal(img, other) for other in comm.allgather(img))
    bundle = build(cfg, comm)
    h = 0.5e-6
    for label, region in cfg.labels.items():
        assert bundle.volume(region) == pytest.approx(np.sum(img == label) * h**2, rel=1e-12)
    sigma = np.where(img == 2, 1.0, 0.0)  # the small particles conduct
    together, _ = effective_tensor(sigma, h, comm=comm)
    alone, _ = effective_tensor(sigma, h, comm=MPI.COMM_SELF)
    assert np.allclose(together, alone, rtol=1e-9, atol=1e-12)
