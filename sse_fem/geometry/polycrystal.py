"""Voronoi polycrystal in a box, with a grain-boundary phase or tagged GB facets (gmsh OCC).

Each grain is the convex cell of its seed (half-space intersection, bisector planes and the box
faces). With ``gb_thickness`` > 0 the internal faces are moved inwards by half the thickness,
so that the box minus the grain cores is the ``grain_boundary`` region. Seeds keep a minimum
distance (hard-core random placement) so that no grain is needle-thin.
"""

from __future__ import annotations

import gmsh
import numpy as np
from scipy.optimize import linprog
from scipy.spatial import ConvexHull, HalfspaceIntersection

from sse_fem.config.geometry import Polycrystal
from sse_fem.errors import CaseError
from sse_fem.geometry.gmsh_tools import add_groups, box_face, estimate_cells, set_sizes, um


def seeds(n: int, box: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``n`` random seeds in ``box`` at least 0.5 mean spacing apart (model units)."""
    dmin = 0.5 * (np.prod(box) / n) ** (1.0 / box.size)
    pts: list[np.ndarray] = []
    for _ in range(200 * n):
        c = rng.uniform(0, 1, box.size) * box
        if all(np.linalg.norm(c - q) > dmin for q in pts):
            pts.append(c)
            if len(pts) == n:
                return np.array(pts)
    raise CaseError(f"cannot place {n} grain seeds", "geometry.grains")


def grain_cells(pts: np.ndarray, box: np.ndarray, gb: float) -> list[np.ndarray | None]:
    """Vertices of each grain core (None: thinner than the GB layer)."""
    dim = box.size
    out: list[np.ndarray | None] = []
    for i, p in enumerate(pts):
        others = np.delete(pts, i, axis=0)
        n = others - p
        norm = np.linalg.norm(n, axis=1)
        # n.x <= (|q|^2 - |p|^2)/2 - gb/2 |n|  (bisector moved inwards)
        b = 0.5 * ((others**2).sum(1) - (p**2).sum()) - 0.5 * gb * norm
        eye = np.eye(dim)
        a_ub = np.vstack([n / norm[:, None], eye, -eye])
        b_ub = np.concatenate([b / norm, box, np.zeros(dim)])
        # Chebyshev centre: an interior point and the inscribed radius
        res = linprog(
            np.r_[np.zeros(dim), -1.0],
            A_ub=np.hstack([a_ub, np.ones((len(a_ub), 1))]),
            b_ub=b_ub,
            bounds=[(None, None)] * dim + [(0, None)],
        )
        if not res.success or res.x[-1] < 1e-3 * gb + 1e-9:
            out.append(None)
            continue
        hs = HalfspaceIntersection(np.hstack([a_ub, -b_ub[:, None]]), res.x[:dim])
        out.append(hs.intersections)
    return out


def _polytope(v: np.ndarray) -> int:
    """A convex polygon (2D) or polyhedron (3D) from its vertices; returns its OCC tag."""
    occ = gmsh.model.occ
    hull = ConvexHull(v)
    if v.shape[1] == 2:
        pts = [occ.addPoint(*v[k], 0) for k in hull.vertices]
        lines = [occ.addLine(pts[k], pts[(k + 1) % len(pts)]) for k in range(len(pts))]
        return occ.addPlaneSurface([occ.addCurveLoop(lines)])
    faces: dict[tuple, set[int]] = {}
    for simplex, eq in zip(hull.simplices, hull.equations, strict=True):
        faces.setdefault(tuple(np.round(eq, 6)), set()).update(simplex.tolist())
    ptag = {k: occ.addPoint(*v[k]) for k in hull.vertices}
    lines: dict[tuple[int, int], int] = {}
    surfs = []
    for eq, idx in faces.items():
        idx = np.array(sorted(idx))
        c = v[idx].mean(0)
        normal = np.array(eq[:3])
        e1 = v[idx[0]] - c
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(normal, e1)
        ring = idx[np.argsort(np.arctan2((v[idx] - c) @ e2, (v[idx] - c) @ e1))]
        loop = []
        for a, b in zip(ring, np.roll(ring, -1), strict=True):
            key = (min(a, b), max(a, b))
            if key not in lines:
                lines[key] = occ.addLine(ptag[key[0]], ptag[key[1]])
            loop.append(lines[key] if a == key[0] else -lines[key])
        surfs.append(occ.addPlaneSurface([occ.addCurveLoop(loop)]))
    return occ.addVolume([occ.addSurfaceLoop(surfs)])


def _volume(cfg: Polycrystal) -> float:
    """Box volume [m^3] (3D) or area [m^2] (2D)."""
    depth = (cfg.depth or cfg.width) if cfg.dimension == 3 else 1.0
    return cfg.width * depth * cfg.thickness


def sizes(cfg: Polycrystal) -> tuple[float, float | None]:
    """Element size and interface size [m]: by default a quarter of the mean grain size, and
    the GB thickness (at most 4 across the GB phase) when there is a GB phase."""
    dim = cfg.dimension
    size = cfg.mesh.size or (_volume(cfg) / cfg.grains) ** (1 / dim) / 4
    gb = cfg.gb_thickness
    if gb > 0 and cfg.mesh.size is None:
        size = min(size, 4 * gb)
    return size, cfg.mesh.interface_size or (gb if gb > 0 else None)


def estimate(cfg: Polycrystal) -> float:
    """Rough element count of ``build(cfg)``, before meshing.

    Grain-boundary measure: half of the cell surfaces of ``grains`` equal cells (perimeter
    3.9 sqrt(a), surface 5.5 v^(2/3)) less the box's; a GB phase adds its own volume at the
    interface size.
    """
    dim = cfg.dimension
    volume = _volume(cfg)
    n = cfg.grains
    if dim == 2:
        cells_surface, box_surface = 3.9 * (n * volume) ** 0.5, 2 * (cfg.width + cfg.thickness)
    else:
        d = cfg.depth or cfg.width
        cells_surface = 5.5 * n ** (1 / 3) * volume ** (2 / 3)
        box_surface = 2 * (cfg.width * d + (cfg.width + d) * cfg.thickness)
    gb_measure = max(cells_surface - box_surface, 0.0) / 2
    size, isize = sizes(cfg)
    cells = estimate_cells(
        dim, volume, size, [(gb_measure, 1, isize)], cfg.mesh.size_growth_distance
    )
    if cfg.gb_thickness > 0 and isize is not None:
        cells += estimate_cells(dim, gb_measure * cfg.gb_thickness, isize)
    return cells


def build(cfg: Polycrystal) -> dict:
    """Create, tag and mesh the polycrystal; report grain count and GB fraction."""
    dim = cfg.dimension
    occ = gmsh.model.occ
    w, t = um(cfg.width), um(cfg.thickness)
    box = np.array([w] + ([um(cfg.depth or cfg.width)] if dim == 3 else []) + [t])
    rng = np.random.default_rng(cfg.seed)
    gb = um(cfg.gb_thickness)
    cores = [c for c in grain_cells(seeds(cfg.grains, box, rng), box, gb) if c is not None]
    grains = [_polytope(c) for c in cores]
    if gb > 0:
        outer = occ.addRectangle(0, 0, 0, *box) if dim == 2 else occ.addBox(0, 0, 0, *box)
        _, children = occ.fragment([(dim, outer)], [(dim, g) for g in grains])
        grain_set = {k for kids in children[1:] for _, k in kids}
        gb_set = {k for _, k in children[0]} - grain_set
    else:
        _, children = occ.fragment([(dim, g) for g in grains], [])
        grain_set, gb_set = {k for kids in children for _, k in kids}, set()
    occ.synchronize()
    names = cfg.group_names()
    add_groups(dim, dict(zip(names["regions"], [sorted(grain_set), sorted(gb_set)], strict=False)))
    facets: dict[str, list[int]] = {n: [] for n in names["interfaces"] + names["boundaries"]}
    tol = 1e-6 * box.max()
    for _, s in gmsh.model.getEntities(dim - 1):
        up = gmsh.model.getAdjacencies(dim - 1, s)[0]
        if len(up) == 2:
            if gb == 0 or len(grain_set & set(up.tolist())) == 1:
                facets[names["interfaces"][0]].append(s)
            continue
        face = box_face(gmsh.model.getBoundingBox(dim - 1, s), list(box), tol)
        if face is None:
            raise RuntimeError(f"boundary entity {s} lies on no face of the box")
        facets[face].append(s)
    add_groups(dim - 1, facets)
    size_m, isize_m = sizes(cfg)
    size, isize = um(size_m), (um(isize_m) if isize_m else None)
    growth = um(cfg.mesh.size_growth_distance) if cfg.mesh.size_growth_distance else None
    set_sizes(size, isize, facets[names["interfaces"][0]], dim - 1, growth)
    gmsh.model.mesh.generate(dim)
    vol = float(np.prod(box))
    grain_vol = [occ.getMass(dim, k) for k in sorted(grain_set)]
    return {
        "grains": len(grain_set),
        "dropped_grains": cfg.grains - len(cores),
        "grain_boundary_fraction": 1 - sum(grain_vol) / vol,
        "mean_grain_size_m": float(np.mean(grain_vol) ** (1 / dim)) * 1e-6,
    }
