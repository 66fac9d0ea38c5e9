"""from_image: exact phase volumes and interface areas, in serial and in parallel."""

from __future__ import annotations

from pathlib import Path

from mpi4py import MPI

import numpy as np
import pytest

H = 2e-6  # voxel size, m


def _image() -> np.ndarray:
    img = np.zeros((6, 5, 4), np.uint8)
    img[1:4, 1:3, 1:3] = 1  # 3 x 2 x 2 active block
    img[:, :, 3] = 2  # top layer
    img[5, 4, 0] = 3  # one voxel of a second label of the same region as 1
    return img


def _write(img: np.ndarray, tmp: Path, suffix: str) -> Path:
    path = tmp / f"img{suffix}"
    if MPI.COMM_WORLD.rank == 0:
        if suffix == ".npy":
            np.save(path, img)
        elif suffix == ".tif":
            import tifffile

            tifffile.imwrite(path, img)
        else:
            img.tofile(path)
    MPI.COMM_WORLD.barrier()
    return path


@pytest.fixture
def shared_tmp(tmp_path: Path) -> Path:
    """One temporary directory for all ranks (rank 0's)."""
    return Path(MPI.COMM_WORLD.bcast(str(tmp_path), root=0))


@pytest.mark.mpi
@pytest.mark.parametrize("suffix", [".npy", ".tif", ".raw"])
def test_exact_volumes_and_areas(make_bundle, shared_tmp: Path, suffix: str) -> None:
    img = _image()
    data = {
        "type": "from_image",
        "dimension": 3,
        "file": str(_write(img, shared_tmp, suffix)),
        "labels": {0: "electrolyte", 1: "active", 2: "separator", 3: "active"},
        "voxel_size": "2 um",
    }
    if suffix == ".raw":
        data |= {"shape": list(img.shape), "dtype": "uint8"}
    b = make_bundle(data)
    v, a = H**3, H**2
    assert b.volume("active") == pytest.approx(13 * v, rel=1e-12)
    assert b.volume("separator") == pytest.approx(30 * v, rel=1e-12)
    assert b.volume("electrolyte") == pytest.approx((120 - 43) * v, rel=1e-12)
    # block: 32 faces minus 6 under the separator; the lone voxel: 3 faces inside
    assert b.area("active_electrolyte") == pytest.approx((26 + 3) * a, rel=1e-12)
    assert b.area("active_separator") == pytest.approx(6 * a, rel=1e-12)
    assert b.area("electrolyte_separator") == pytest.approx(24 * a, rel=1e-12)
    assert b.area("bottom") == pytest.approx(30 * a, rel=1e-12)
    assert b.area("top") == pytest.approx(30 * a, rel=1e-12)
    assert b.area("sides") == pytest.approx(2 * (6 + 5) * 4 * a, rel=1e-12)
    faces = {"x0": 20, "x1": 20, "y0": 24, "y1": 24, "z0": 30, "z1": 30}  # a 6 x 5 x 4 image
    assert sorted(b.boundaries) == sorted(faces)
    for face, n in faces.items():
        assert b.area(face) == pytest.approx(n * a, rel=1e-12), face
    assert len(b.facets("sides")) == len(
        np.unique(np.concatenate([b.facets(f) for f in "x0 x1 y0 y1".split()]))
    )
    assert b.info["volume_fractions"]["active"] == pytest.approx(13 / 120)


@pytest.mark.mpi
def test_2d_quadrilaterals(make_bundle, shared_tmp: Path) -> None:
    img = np.zeros((8, 4), np.int16)
    img[2:5, :] = 1  # a band across the whole height
    path = _write(img, shared_tmp, ".npy")
    b = make_bundle(
        {
            "type": "from_image",
            "dimension": 2,
            "file": str(path),
            "labels": {0: "b", 1: "a"},
            "voxel_size": "2 um",
        }
    )
    assert b.mesh.topology.cell_name() == "quadrilateral"
    assert b.volume("a") == pytest.approx(12 * H**2)
    assert b.area("a_b") == pytest.approx(2 * 4 * H)


def test_bad_labels(make_bundle, shared_tmp: Path) -> None:
    from sse_fem.errors import CaseError

    path = _write(_image(), shared_tmp, ".npy")
    with pytest.raises(CaseError, match="no region"):
        make_bundle(
            {
                "type": "from_image",
                "dimension": 3,
                "file": str(path),
                "labels": {0: "a", 1: "b"},
                "voxel_size": "1 um",
            }
        )
