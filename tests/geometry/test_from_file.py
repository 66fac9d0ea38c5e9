"""from_file: the gmsh mesh written by meshes/make_two_layer.py, names mapped to groups."""

from __future__ import annotations

from pathlib import Path

from mpi4py import MPI

import pytest

from sse_fem.mesh import read_mesh_file

MSH = Path(__file__).resolve().parents[2] / "meshes" / "two_layer.msh"


@pytest.mark.mpi
def test_two_layer_msh() -> None:
    b = read_mesh_file(str(MSH), 2, 1e-6, MPI.COMM_WORLD)  # mesh units: um
    assert set(b.regions) == {"left", "right"}
    assert set(b.interfaces) == {"left_right"}
    assert set(b.boundaries) == {"west", "east", "walls"}
    assert b.volume("left") == pytest.approx(1e-12)
    assert b.area("left_right") == pytest.approx(1e-6)
    assert b.area("walls") == pytest.approx(4e-6)
