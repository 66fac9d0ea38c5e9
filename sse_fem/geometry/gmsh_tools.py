"""Small helpers shared by the gmsh builders (rank 0 only, inside a gmsh session)."""

from __future__ import annotations

from collections.abc import Sequence

import gmsh
import numpy as np

from sse_fem.logs import get_logger

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


#: model attribute that holds the tag of the background size field (``set_sizes``)
_BACKGROUND_FIELD = "sse_fem.background_field"
#: tetrahedra of a generated mesh below this quality (mean ratio, ``quality``) are remeshed
REPAIR_BELOW = 0.1
#: ... at most this many times
REPAIR_PASSES = 3


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
    gmsh.model.setAttribute(_BACKGROUND_FIELD, [str(f_th)])
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


#: elements per volume (area, length) ``size**dim`` of gmsh meshes of element size ``size``
#: (measured on layered cells: 2.3-2.5 triangles, 4.6-4.9 tetrahedra)
CELLS_PER_SIZE = {1: 1.0, 2: 2.4, 3: 4.7}


def estimate_cells(
    dim: int,
    measure: float,
    size: float,
    refined: Sequence[tuple[float, int, float | None]] = (),
    growth: float | None = None,
) -> float:
    """Rough element count of a gmsh mesh of ``measure`` (volume, area, length) at ``size``.

    ``refined``: ``(entity measure, codimension, interface size)`` per refined set, with the
    size growing linearly from the interface size to ``size`` over ``growth`` (default
    5 ``size``), as ``set_sizes`` makes it; codimension 1: surfaces (3D) or curves (2D),
    meshed on both sides; 2: curves (3D) or points (2D). Any consistent length unit. At most
    the count of the whole domain at the smallest size (bands that overlap).
    """
    per = CELLS_PER_SIZE[dim]
    cells = per * measure / size**dim
    finest = size
    dist = growth or 5 * size
    r = (np.arange(400) + 0.5) * dist / 400  # midpoint rule over the growth distance
    for entity, codim, hmin in refined:
        if hmin is None or hmin >= size:
            continue
        h = hmin + (size - hmin) * r / dist
        band = 2.0 if codim == 1 else 2 * np.pi * r  # band measure per entity measure and dr
        cells += per * entity * float(np.sum(band * (h**-dim - size**-dim))) * dist / 400
        finest = min(finest, hmin)
    return min(cells, per * measure / finest**dim)


def box_face(bbox: tuple[float, ...], extent: list[float], tol: float) -> str | None:
    """The face of the box [0, extent] a flat boundary entity lies on (``x0`` ... ``z1``,
    from its gmsh bounding box (xmin, ymin, zmin, xmax, ymax, zmax)), or None."""
    for a, top in enumerate(extent):
        low, high = bbox[a], bbox[a + 3]
        if abs(low) < tol and abs(high) < tol:
            return f"{'xyz'[a]}0"
        if abs(low - top) < tol and abs(high - top) < tol:
            return f"{'xyz'[a]}1"
    return None


def repair_slivers() -> dict:
    """Rank 0, after ``generate(3)``: remesh finer where tetrahedra fall below ``REPAIR_BELOW``.

    Slivers pinned to the CAD model (every vertex on a curve or surface, where a thin strip of
    surface runs between two curves) survive gmsh's optimisers. Each pass adds a ball around
    each such tetrahedron (radius 3 times its longest edge) inside which the element size is at
    most half that edge (a quarter in the second pass, ...), keeps the builder's own sizes
    elsewhere and meshes again, up to ``REPAIR_PASSES`` times. Returns how many were below the
    bound, the worst quality before, the passes and how many are left below (empty when
    none was below).
    """
    from sse_fem.geometry.quality import cell_edges, tetrahedron_quality

    def worst() -> tuple[np.ndarray, np.ndarray]:
        types, _, nodes = gmsh.model.mesh.getElements(3)
        tets = [n.reshape(-1, 4) for t, n in zip(types, nodes, strict=True) if t == 4]
        if not tets:
            return np.zeros(0), np.zeros((0, 4, 3))
        tags, coords, _ = gmsh.model.mesh.getNodes()
        where = np.zeros(int(tags.max()) + 1, dtype=int)
        where[tags.astype(int)] = np.arange(tags.size)
        x = coords.reshape(-1, 3)[where[np.concatenate(tets).astype(int)]]
        q = tetrahedron_quality(x)
        bad = q < REPAIR_BELOW
        return q[bad], x[bad]

    q, x = worst()
    if q.size == 0:
        return {}
    report = {"tetrahedra_below": int(q.size), "worst_before": float(q.min())}
    field = gmsh.model.mesh.field
    sizes = []
    if _BACKGROUND_FIELD in gmsh.model.getAttributeNames():
        sizes = [int(t) for t in gmsh.model.getAttribute(_BACKGROUND_FIELD)]
    factor = gmsh.option.getNumber("Mesh.MeshSizeFactor")  # gmsh applies it to fields too
    passes = 0
    while q.size and passes < REPAIR_PASSES:
        passes += 1
        for cell in x:
            longest = max(np.linalg.norm(cell[a] - cell[b]) for a, b in cell_edges("tetrahedron"))
            ball = field.add("Ball")
            for axis, value in zip("XYZ", cell.mean(axis=0), strict=True):
                field.setNumber(ball, f"{axis}Center", float(value))
            field.setNumber(ball, "Radius", 3.0 * longest)
            field.setNumber(ball, "VIn", longest / 2**passes / factor)
            field.setNumber(ball, "VOut", 1e22)
            sizes.append(ball)
        smallest = field.add("Min")
        field.setNumbers(smallest, "FieldsList", sizes)
        field.setAsBackgroundMesh(smallest)
        gmsh.model.mesh.clear()
        gmsh.model.mesh.generate(3)
        q, x = worst()
    get_logger().info(
        "tetrahedra below quality %g: %d (worst %.3g); remeshed finer around them, "
        "passes: %d, left below: %d",
        REPAIR_BELOW,
        report["tetrahedra_below"],
        report["worst_before"],
        passes,
        q.size,
    )
    return {**report, "passes": passes, "left_below": int(q.size)}
