"""Small helpers shared by the gmsh builders (rank 0 only, inside a gmsh session)."""

from __future__ import annotations

import gmsh
import numpy as np

#: gmsh models are built in micrometres (OCC tolerances are absolute, ~1e-7 model units);
#: ``sse_fem.mesh`` scales the dolfinx mesh back to metres.
MODEL_UNIT_M = 1e-6


def um(length_m: float) -> float:
    """SI length -> model units."""
    return length_m / MODEL_UNIT_M


def add_groups(dim: int, groups: dict[str, list[int]]) -> None:
    """One physical group per name (tags 1, 2, ... in insertion order of all calls)."""
    start = 1 + max((t for _, t in gmsh.model.getPhysicalGroups()), default=0)
    for k, (name, entities) in enumerate(groups.items()):
        if not entities:
            raise ValueError(f"physical group {name!r} would be empty")
        gmsh.model.addPhysicalGroup(dim, sorted(set(entities)), start + k, name=name)


def set_sizes(
    size: float | None,
    interface_size: float | None,
    interface_entities: list[int],
    dim: int,
    growth: float | None,
) -> None:
    """Global element size, optionally refined near ``interface_entities`` (dimension ``dim``).

    Sizes in model units.
    """
    if size is not None:
        gmsh.option.setNumber("Mesh.MeshSizeMax", size)
    if interface_size is None or not interface_entities:
        return
    f_dist = gmsh.model.mesh.field.add("Distance")
    key = {0: "PointsList", 1: "CurvesList", 2: "SurfacesList"}[dim]
    gmsh.model.mesh.field.setNumbers(f_dist, key, interface_entities)
    if dim > 0:
        gmsh.model.mesh.field.setNumber(f_dist, "Sampling", 100)
    f_th = gmsh.model.mesh.field.add("Threshold")
    gmsh.model.mesh.field.setNumber(f_th, "InField", f_dist)
    gmsh.model.mesh.field.setNumber(f_th, "SizeMin", interface_size)
    big = size if size is not None else 10 * interface_size
    gmsh.model.mesh.field.setNumber(f_th, "SizeMax", big)
    gmsh.model.mesh.field.setNumber(f_th, "DistMin", 0.0)
    gmsh.model.mesh.field.setNumber(f_th, "DistMax", growth if growth else 5 * big)
    gmsh.model.mesh.field.setAsBackgroundMesh(f_th)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)


def entities_at(dim: int, axis: int, coord: float, tol: float) -> list[int]:
    """Entities of ``dim`` whose bounding box is flat at ``axis`` == coord."""
    out = []
    for _, tag in gmsh.model.getEntities(dim):
        box = np.array(gmsh.model.getBoundingBox(dim, tag))
        if abs(box[axis] - coord) < tol and abs(box[axis + 3] - coord) < tol:
            out.append(tag)
    return out
