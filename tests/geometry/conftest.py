"""Helpers for the geometry tests: build a bundle from a geometry dict without a full case."""

from __future__ import annotations

from types import SimpleNamespace

from mpi4py import MPI

import pytest
from pydantic import TypeAdapter

from sse_fem.config.geometry import geometry_union
from sse_fem.mesh import MeshBundle, build_mesh


def geometry(data: dict):
    """Validated geometry model from a plain dict (units as strings)."""
    return TypeAdapter(geometry_union()).validate_python(data)


def bundle(data: dict, comm: MPI.Comm = MPI.COMM_WORLD) -> MeshBundle:
    """Mesh of a geometry block on ``comm``."""
    case = SimpleNamespace(mesh=None, geometry=geometry(data), case=SimpleNamespace(name="t"))
    return build_mesh(case, comm)


@pytest.fixture
def make_bundle():
    """``make_bundle(geometry_dict, comm=COMM_WORLD) -> MeshBundle``."""
    return bundle


@pytest.fixture
def make_geometry():
    """``make_geometry(geometry_dict) -> validated geometry model``."""
    return geometry
