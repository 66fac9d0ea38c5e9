"""write_mesh_files: XDMF, groups.json, quality.json and the PNG preview, collective."""

from __future__ import annotations

import json
from pathlib import Path

from mpi4py import MPI

import pytest

from sse_fem.io.meshout import write_mesh_files


@pytest.mark.mpi
@pytest.mark.parametrize("dim", [2, 3])
def test_outputs(make_bundle, tmp_path: Path, dim: int) -> None:
    out = Path(MPI.COMM_WORLD.bcast(str(tmp_path), root=0)) / "mesh"
    b = make_bundle(
        {
            "type": "polycrystal",
            "dimension": dim,
            "width": "6 um",
            "thickness": "5 um",
            "grains": 5,
            "seed": 1,
            "mesh": {"size": "1 um"},
        }
    )
    q = write_mesh_files(b, out)
    ncells = b.mesh.topology.index_map(dim).size_global
    assert q["cells"] == ncells
    assert 0 < q["quality_min"] <= q["quality_mean"] <= 1
    assert q["edge_min_m"] > 0
    for name in ("mesh.xdmf", "mesh.h5", "groups.json", "quality.json", "mesh.png"):
        assert (out / name).is_file(), name
    groups = json.loads((out / "groups.json").read_text())
    assert groups["regions"] == {"grains": b.regions["grains"]}
    assert "grain_boundaries" in groups["interfaces"]
    assert json.loads((out / "quality.json").read_text())["cells"] == ncells


def test_quality_of_structured_meshes() -> None:
    from dolfinx import mesh

    from sse_fem.geometry.quality import quality_report

    sq = mesh.create_unit_square(MPI.COMM_WORLD, 4, 4, mesh.CellType.quadrilateral)
    assert quality_report(sq)["quality_min"] == pytest.approx(1.0)
    tri = mesh.create_unit_square(MPI.COMM_WORLD, 4, 4)  # right triangles
    q = quality_report(tri)
    assert q["quality_min"] == pytest.approx(4 * 3**0.5 * 0.5 / 4)
    assert q["cells"] == 32 and q["edge_min_m"] == pytest.approx(0.25)
