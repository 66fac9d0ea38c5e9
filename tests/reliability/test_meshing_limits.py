"""Meshing limits and failures: element-count estimate and refusal before meshing, gmsh and
mesh-file failures as one-line case errors on every rank."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from mpi4py import MPI

import numpy as np
import pytest
from pydantic import TypeAdapter

from sse_fem.cli import main
from sse_fem.config.geometry import geometry_union
from sse_fem.errors import CaseError
from sse_fem.geometry import ESTIMATES, check_element_count
from sse_fem.mesh import build_mesh, read_mesh_file

ROOT = Path(__file__).resolve().parents[2]
CASE = ROOT / "cases" / "symmetric_cell" / "case.yaml"
serial = pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial")
LAYERS = [{"name": "a", "thickness": "20 um"}, {"name": "b", "thickness": "40 um"}]


def geometry(data: dict):
    return TypeAdapter(geometry_union()).validate_python(data)


def case_of(data: dict) -> SimpleNamespace:
    return SimpleNamespace(mesh=None, geometry=geometry(data), case=SimpleNamespace(name="t"))


def cells(bundle) -> int:
    return bundle.mesh.topology.index_map(bundle.dim).size_global


@pytest.mark.parametrize(
    "data",
    [
        {"type": "layered_cell", "dimension": 1, "layers": LAYERS, "mesh": {"size": "1 um"}},
        {
            "type": "layered_cell",
            "dimension": 2,
            "width": "50 um",
            "layers": LAYERS,
            "mesh": {"size": "5 um", "interface_size": "0.5 um"},
        },
        {"type": "layered_cell", "dimension": 3, "width": "50 um", "layers": LAYERS},
        {
            "type": "metal_se_interface",
            "dimension": 2,
            "width": "100 um",
            "metal_thickness": "20 um",
            "electrolyte_thickness": "50 um",
            "voids": {"count": 3, "radius": "8 um"},
        },
        {
            "type": "composite_cathode",
            "dimension": 2,
            "width": "40 um",
            "thickness": "40 um",
            "active": {"volume_fraction": 0.4, "radius": "4 um"},
        },
        {
            "type": "polycrystal",
            "dimension": 2,
            "width": "50 um",
            "thickness": "50 um",
            "grains": 20,
            "gb_thickness": "0.5 um",
        },
    ],
    ids=lambda d: f"{d['type']}-{d['dimension']}d",
)
def test_estimate_is_within_a_factor_two_of_gmsh(data):
    case = case_of(data)
    bundle = build_mesh(case)
    estimate = ESTIMATES[data["type"]](case.geometry)
    assert bundle.info["estimated_elements"] == round(estimate)
    assert 0.5 < estimate / cells(bundle) < 2.0


@pytest.mark.mpi
def test_too_many_elements_are_refused_before_meshing():
    data = {"type": "layered_cell", "dimension": 3, "width": "1 mm", "layers": LAYERS}
    data["mesh"] = {"size": "0.1 um"}
    with pytest.raises(CaseError) as err:
        build_mesh(case_of(data))
    text = str(err.value)
    assert text.startswith("geometry: this mesh would have about 2.82e+11 elements")
    assert "geometry.mesh.max_elements = 2e+07" in text and "coarsen geometry.mesh.size" in text
    # the key raises the limit
    data["mesh"]["max_elements"] = "1e13"
    geo = geometry(data)
    check_element_count(geo, ESTIMATES["layered_cell"](geo), "coarsen")


@pytest.mark.mpi
def test_voxel_images_are_limited_by_their_voxel_count(shared_tmp):
    path = shared_tmp / "img.npy"
    if MPI.COMM_WORLD.rank == 0:
        np.save(path, np.zeros((30, 20), dtype=np.uint8))
    MPI.COMM_WORLD.barrier()
    data = {
        "type": "from_image",
        "dimension": 2,
        "file": str(path),
        "labels": {0: "se"},
        "voxel_size": "1 um",
        "mesh": {"max_elements": 599},
    }
    with pytest.raises(CaseError, match=r"about 600 elements.*downsample the image"):
        build_mesh(case_of(data))
    data["mesh"]["max_elements"] = 600
    assert cells(build_mesh(case_of(data))) == 600


@serial
@pytest.mark.parametrize("command", ["run", "mesh"])
def test_cli_run_and_mesh_honour_max_elements(command, tmp_path, capsys):
    args = [command, str(CASE), "geometry.mesh.max_elements=100", "-o", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: geometry: this mesh would have about 672 elements")
    assert "\n" not in err


@pytest.mark.mpi
def test_gmsh_failure_is_the_same_case_error_on_every_rank():
    """gmsh (rank 0 only) cannot fragment a layer of 1e-13 m: every rank raises."""
    data = {
        "type": "layered_cell",
        "dimension": 2,
        "width": "50 um",
        "layers": [{"name": "a", "thickness": "1e-7 um"}, {"name": "b", "thickness": "40 um"}],
    }
    with pytest.raises(CaseError, match="^geometry: gmsh could not mesh this geometry: "):
        build_mesh(case_of(data))


@pytest.mark.mpi
def test_unreadable_mesh_file_is_the_same_case_error_on_every_rank(shared_tmp):
    path = shared_tmp / "bad.msh"
    if MPI.COMM_WORLD.rank == 0:
        path.write_text("this is not a mesh\n")
    MPI.COMM_WORLD.barrier()
    with pytest.raises(CaseError, match=r"^mesh.file: cannot read .*bad\.msh"):
        read_mesh_file(str(path), 2, 1.0, MPI.COMM_WORLD)
