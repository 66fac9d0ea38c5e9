"""Layered cell: a stack of named layers along the last axis, in 1D, 2D or 3D (gmsh OCC)."""

from __future__ import annotations

import gmsh
import numpy as np

from sse_fem.config.geometry import LayeredCell
from sse_fem.geometry.gmsh_tools import add_groups, entities_at, estimate_cells, set_sizes, um


def default_size(cfg: LayeredCell) -> float:
    """Element size [m] when ``mesh.size`` is not given: 1/20 of the stack."""
    return sum(layer.thickness for layer in cfg.layers) / 20


def estimate(cfg: LayeredCell) -> float:
    """Rough element count of ``build(cfg)``, before meshing."""
    size = cfg.mesh.size or default_size(cfg)
    total = sum(layer.thickness for layer in cfg.layers)
    if cfg.dimension == 1:
        return float(sum(layer.cells or layer.thickness / size for layer in cfg.layers))
    width = cfg.width or total
    lateral = width * (cfg.depth or width) if cfg.dimension == 3 else width
    interfaces = (len(cfg.layers) - 1) * lateral
    return estimate_cells(
        cfg.dimension,
        lateral * total,
        size,
        [(interfaces, 1, cfg.mesh.interface_size)],
        cfg.mesh.size_growth_distance,
    )


def build(cfg: LayeredCell) -> dict:
    """Create, tag and mesh the stack; report layer positions (m)."""
    dim = cfg.dimension
    axis = dim - 1
    z = np.concatenate([[0.0], np.cumsum([um(layer.thickness) for layer in cfg.layers])])
    total = float(z[-1])
    width = um(cfg.width) if cfg.width is not None else total
    depth = um(cfg.depth) if cfg.depth is not None else width
    # OCC bounding boxes carry its tolerance (~1e-7 model units): nm-thin cells need a floor
    tol = max(1e-6 * max(total, width), 1e-6)
    occ = gmsh.model.occ
    size = um(cfg.mesh.size or default_size(cfg))
    isize = um(cfg.mesh.interface_size) if cfg.mesh.interface_size is not None else None
    growth = um(cfg.mesh.size_growth_distance) if cfg.mesh.size_growth_distance else None
    if dim == 1:
        pts = [occ.addPoint(zk, 0, 0, size) for zk in z]
        cells = [occ.addLine(a, b) for a, b in zip(pts[:-1], pts[1:], strict=True)]
    elif dim == 2:
        cells = [
            occ.addRectangle(0, z0, 0, width, z1 - z0) for z0, z1 in zip(z[:-1], z[1:], strict=True)
        ]
    else:
        cells = [
            occ.addBox(0, 0, z0, width, depth, z1 - z0)
            for z0, z1 in zip(z[:-1], z[1:], strict=True)
        ]
    if dim > 1:
        occ.fragment([(dim, c) for c in cells], [])
    occ.synchronize()
    if dim > 1:  # fragment may renumber: find each layer by its centre
        cells = []
        for z0, z1 in zip(z[:-1], z[1:], strict=True):
            mid = 0.5 * (z0 + z1)
            found = [
                t
                for _, t in gmsh.model.getEntities(dim)
                if gmsh.model.getBoundingBox(dim, t)[axis]
                < mid
                < gmsh.model.getBoundingBox(dim, t)[axis + 3]
            ]
            cells.append(found[0])
    names = cfg.group_names()
    add_groups(dim, {layer.name: [c] for layer, c in zip(cfg.layers, cells, strict=True)})
    facets = {
        name: entities_at(dim - 1, axis, zk, tol)
        for name, zk in zip(names["interfaces"], z[1:-1], strict=True)
    }
    facets["bottom"] = entities_at(dim - 1, axis, 0.0, tol)
    facets["top"] = entities_at(dim - 1, axis, total, tol)
    if dim > 1:
        flat = {t for v in facets.values() for t in v}
        facets["sides"] = [t for _, t in gmsh.model.getEntities(dim - 1) if t not in flat]
    add_groups(dim - 1, facets)
    targets = cfg.refine_at if cfg.refine_at is not None else names["interfaces"]
    set_sizes(size, isize, [t for n in targets for t in facets[n]], dim - 1, growth)
    for layer, c in zip(cfg.layers, cells, strict=True):
        if layer.cells is not None and dim == 1:
            gmsh.model.mesh.setTransfiniteCurve(c, layer.cells + 1)
    gmsh.model.mesh.generate(dim)
    return {
        "layer_positions_m": [float(v) * 1e-6 for v in z],
        "thickness_m": total * 1e-6,
        "width_m": width * 1e-6 if dim > 1 else None,
    }
