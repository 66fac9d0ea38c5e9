"""Per-particle paths: which particles reach the collector through the electronic network and
the separator through the ionic network (``sse_fem.microstructure.particles``), on hand-built
images with known answers, on their meshes (1, 2 and 3 ranks) and on a gmsh RVE."""

from __future__ import annotations

import csv

from mpi4py import MPI

import numpy as np
import pytest

from sse_fem.config.loader import validate_case
from sse_fem.microstructure.homogenize import homogenize, particle_paths
from sse_fem.microstructure.particles import image_particle_paths
from tests.microstructure.test_homogenize import image_case

SE, AM, CB, PORE = 0, 1, 2, 3
H = 0.5e-6  # voxel edge [m] (image_case)


def picture() -> np.ndarray:
    """8 x 8 voxels, (x, y) with y the stacking axis: collector at y = 0, separator at y = 7.

    A (4 voxels at x, y = 0-1): on the collector, beside an SE column reaching the separator:
    both paths. B (4, 4): on a carbon chain down to the collector, no SE beside it: electronic
    only. C (6, 6): beside an SE piece on the separator, no electron conductor: ionic only.
    D (6, 2): touches a carbon chain on the collector at a corner only: neither (a corner
    carries no current between voxels)."""
    img = np.full((8, 8), PORE, dtype=np.uint8)
    img[2, :] = SE
    img[0:2, 0:2] = AM  # A
    img[4, 0:4] = CB
    img[4, 4] = AM  # B
    img[7, 6:8] = SE
    img[6, 6] = AM  # C
    img[5, 0:2] = CB
    img[6, 2] = AM  # D
    return img


# centroid (x, stacking axis) in voxels -> (electronic, ionic)
EXPECTED = {(1.0, 1.0): (True, True), (4.5, 4.5): (True, False)}
EXPECTED |= {(6.5, 6.5): (False, True), (6.5, 2.5): (False, False)}


def as_dict(paths, up: int) -> dict:
    """Centroid (x, stacking axis) in voxel units -> (electronic, ionic)."""
    return {
        (round(c[0] / H, 6), round(c[up] / H, 6)): (bool(e), bool(i))
        for c, e, i in zip(paths.centroid, paths.electronic, paths.ionic, strict=True)
    }


def in_3d(img: np.ndarray) -> np.ndarray:
    """The picture in the x-z plane, 2 voxels deep along y."""
    return np.repeat(img[:, None, :], 2, axis=1)


@pytest.mark.parametrize("dim", [2, 3])
def test_paths_of_hand_built_images_are_exact(dim):
    img = picture() if dim == 2 else in_3d(picture())
    last = "y" if dim == 2 else "z"
    paths = image_particle_paths(img, H, [AM], [AM, CB], [SE], f"{last}0", f"{last}1")
    assert as_dict(paths, dim - 1) == EXPECTED
    depth = 1 if dim == 2 else 2
    assert sorted(paths.volume / H**dim) == [depth] * 3 + [4 * depth]
    figures = paths.figures()
    assert figures["particles"] == 4 and figures["particles_both_paths"] == 1
    assert figures["particle_volume_share_both_paths"] == pytest.approx(4 / 7)
    assert figures["particle_volume_share_missing_a_path"] == pytest.approx(3 / 7)
    # the separator on the other side: A and C swap their ionic answers? no: both SE pieces
    # touch y = 7; from y = 0 only the long SE column reaches, so C loses its ionic path
    flipped = image_particle_paths(img, H, [AM], [AM, CB], [SE], f"{last}0", f"{last}0")
    assert as_dict(flipped, dim - 1)[(6.5, 6.5)] == (False, False)
    assert as_dict(flipped, dim - 1)[(1.0, 1.0)] == (True, True)


def test_an_unknown_face_is_refused():
    with pytest.raises(ValueError, match="allowed: x0, x1, y0, y1"):
        image_particle_paths(picture(), H, [AM], [AM, CB], [SE], "z0", "y1")


REGIONS = [
    {"name": "se", "material": "Li6PS5Cl"},
    {"name": "am", "material": "NMC811"},
    {"name": "cb", "material": "carbon_black"},
    {"name": "pore", "material": "Li6PS5Cl", "carriers": []},
]


def picture_case(folder) -> object:
    data = image_case(folder, in_3d(picture()), REGIONS, {})
    data["regions"][1]["carriers"] = ["electronic"]
    data["regions"][2]["carriers"] = ["electronic"]
    return validate_case(data)


@pytest.mark.mpi
def test_paths_on_the_mesh_of_an_image_on_any_rank_count(shared_tmp):
    """The image meshed (one hexahedron per voxel): the same answers, except that a corner
    contact joins through the shared mesh vertices (the FEM transport couples through them),
    so D reaches the collector; identical on 1, 2 and 3 ranks."""
    from sse_fem.mesh import build_mesh

    case = picture_case(shared_tmp) if MPI.COMM_WORLD.rank == 0 else None
    case = MPI.COMM_WORLD.bcast(case, root=0)
    bundle = build_mesh(case, MPI.COMM_WORLD)
    paths = particle_paths(case.model_copy(update={"geometry": None}), bundle)
    found = as_dict(paths, 2)
    assert found == EXPECTED | {(6.5, 2.5): (True, False)}
    assert sorted(np.round(paths.volume / H**3, 9)) == [2, 2, 2, 8]


def test_homogenize_writes_the_particle_table_and_picture(tmp_path):
    case = picture_case(tmp_path)
    summary = homogenize(case, "ionic", tmp_path / "out")
    figures = summary["outputs"]["homogenize"]
    assert figures["particles"] == 4
    assert figures["particles_electronic_path"] == 2 and figures["particles_ionic_path"] == 2
    assert summary["homogenize"]["particle_paths"] == {"collector": "bottom", "separator": "top"}
    with open(tmp_path / "out" / "particles.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["electronic_path"]) + 2 * int(r["ionic_path"]) for r in rows][0] == 3
    assert float(rows[0]["volume_m3"]) == pytest.approx(8 * H**3)  # largest first: A
    assert (tmp_path / "out" / "particles.png").stat().st_size > 10_000


def test_a_composite_rve_has_the_builders_particle_clusters(tmp_path):
    """gmsh RVE: the particles found on the mesh are the clusters of the builder's contact
    graph (fused necks join, every other gap is open), and with the active material as the
    only electron conductor, the particles on the collector side have an electronic path."""
    from sse_fem.mesh import build_mesh

    data = {
        "case": {"name": "rve"},
        "geometry": {
            "type": "composite_cathode",
            "dimension": 2,
            "width": "30 um",
            "thickness": "30 um",
            "seed": 3,
            "active": {"volume_fraction": 0.5, "radius": "3 um"},
            "mesh": {"size": "1.5 um"},
        },
        "regions": [
            {"name": "active", "material": "NMC811", "carriers": ["electronic"]},
            {"name": "electrolyte", "material": "Li6PS5Cl"},
        ],
        "physics": {"conduction": {}},
        "boundary_conditions": {
            "conduction": [
                {"name": "top", "type": "potential", "value": "10 mV", "carrier": "ionic"},
                {"name": "bottom", "type": "ground", "carrier": "ionic"},
            ]
        },
    }
    case = validate_case(data)
    bundle = build_mesh(case)
    paths = particle_paths(case, bundle)
    network = bundle.info["active_network"]
    assert paths.volume.size == network["clusters"]
    assert paths.volume.sum() == pytest.approx(bundle.volume("active"), rel=1e-12)
    lowest = paths.centroid[:, 1] - np.sqrt(paths.volume / np.pi)  # a disk's bottom, roughly
    assert paths.electronic[lowest < 0.5e-6].all()
    # in 2D, touching disks cut SE pockets off: here two pieces cut by the collector face sit
    # in a pocket closed by a large particle above them; every other particle has SE around
    assert paths.ionic.sum() == paths.volume.size - 2
    assert (paths.centroid[~paths.ionic, 1] < 1e-6).all()
    assert 0 < paths.electronic.sum() < paths.volume.size
