"""Metal slab on an SE layer: interface voids, asperities, a filament or crack (gmsh OCC).

The SE fills ``0 < z < t_se`` (z: last axis), the metal ``t_se < z < t_se + t_m``. Voids are
spherical caps or half-ellipsoids (half-disks/ellipses in 2D) centred on the interface and cut
out of the metal only, so their surface (metal side and the exposed SE under them) is the
boundary ``void_surface`` and ``metal_electrolyte`` is only the contacting part.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import gmsh
import numpy as np

from sse_fem.config.geometry import MetalSEInterface, Voids
from sse_fem.errors import CaseError
from sse_fem.geometry.gmsh_tools import add_groups, estimate_cells, set_sizes, um


def _footprint(r: np.ndarray | float, dim: int) -> np.ndarray | float:
    """Interface length (2D) or area (3D) covered by voids of footprint radius ``r``."""
    return 2 * np.asarray(r) if dim == 2 else np.pi * np.asarray(r) ** 2


def place_voids(
    v: Voids, lateral: list[float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Void centres (n, dim-1) and footprint radii (n,) in model units, inside the footprint.

    With ``contact_fraction`` the radii are scaled by one factor so that the covered part of
    the interface is exactly ``1 - contact_fraction``; voids neither overlap nor cross sides.
    """
    dim = len(lateral) + 1
    r0, std = um(v.radius), um(v.radius_std)
    area = float(np.prod(lateral))
    if v.count is not None:
        n = v.count
    else:
        n = max(1, round((1 - v.contact_fraction) * area / _footprint(r0, dim)))
    radii = np.clip(rng.normal(r0, std, n), 0.3 * r0, 3 * r0) if std > 0 else np.full(n, r0)
    if v.contact_fraction is not None:
        radii *= ((1 - v.contact_fraction) * area / _footprint(radii, dim).sum()) ** (
            1.0 / (dim - 1)
        )
    lat = np.array(lateral)
    if v.placement == "regular":
        if dim == 2:
            centres = ((np.arange(n) + 0.5) * lat[0] / n)[:, None]
        else:
            nx = math.ceil(math.sqrt(n * lat[0] / lat[1]))
            ny = math.ceil(n / nx)
            k = np.arange(n)
            centres = np.stack([(k % nx + 0.5) * lat[0] / nx, (k // nx + 0.5) * lat[1] / ny], 1)
        pitch = lat / (n if dim == 2 else np.array([nx, ny]))
        if np.any(2 * radii.max() >= pitch.min()):
            raise CaseError(
                "regular voids overlap: fewer voids, smaller radius or a larger contact_fraction",
                "geometry.voids",
            )
        return centres, radii
    order = np.argsort(-radii)  # place big ones first
    centres = np.zeros((n, dim - 1))
    gap = 0.1 * r0
    for pos, k in enumerate(order):
        placed = order[:pos]
        for _ in range(20000):
            c = rng.uniform(radii[k] + gap, lat - radii[k] - gap)
            if all(np.linalg.norm(c - centres[j]) > radii[k] + radii[j] + gap for j in placed):
                centres[k] = c
                break
        else:
            raise CaseError(
                f"cannot place {n} non-overlapping voids: lower the count/radius "
                f"or raise contact_fraction",
                "geometry.voids",
            )
    return centres, radii


def default_size(cfg: MetalSEInterface) -> float:
    """Element size [m] when ``mesh.size`` is not given: 1/10 of the smallest extent."""
    return min(cfg.width, cfg.electrolyte_thickness, cfg.metal_thickness) / 10


def estimate(cfg: MetalSEInterface) -> float:
    """Rough element count of ``build(cfg)``, before meshing (refinement as in ``build``)."""
    dim = cfg.dimension
    size = cfg.mesh.size or default_size(cfg)
    area = cfg.width * (cfg.depth or cfg.width) if dim == 3 else cfg.width
    v, f = cfg.voids, cfg.filament
    if v is not None:  # refined around the void rims: points (2D), circles (3D)
        if v.count is not None:
            n, r = v.count, v.radius
        else:
            n = max(1, round((1 - v.contact_fraction) * area / float(_footprint(v.radius, dim))))
            r = ((1 - v.contact_fraction) * area / n / float(_footprint(1.0, dim))) ** (
                1 / (dim - 1)
            )
        r_min = max(r - 2 * v.radius_std, 0.3 * r)
        isize = cfg.mesh.interface_size or min(size / 3, r_min / 4)
        refined = [(2.0 * n if dim == 2 else 2 * np.pi * r * n, 2, isize)]
    elif f is not None:  # refined along the filament or crack walls
        isize = cfg.mesh.interface_size or min(size / 3, f.tip_radius / 2)
        walls = 2 * f.length if dim == 2 else np.pi * f.width * f.length / 2
        refined = [(walls, 1, isize)]
    else:
        refined = [(area, 1, cfg.mesh.interface_size)]
    volume = area * (cfg.electrolyte_thickness + cfg.metal_thickness)
    return estimate_cells(dim, volume, size, refined, cfg.mesh.size_growth_distance)


def _surface_2d(xs: np.ndarray, zs: np.ndarray, zbot: float, ztop: float) -> tuple[int, int]:
    """SE (below the spline z(x)) and metal (above) surfaces sharing the spline curve."""
    occ = gmsh.model.occ
    w = float(xs[-1])
    pts = [occ.addPoint(x, z, 0) for x, z in zip(xs, zs, strict=True)]
    spline = occ.addSpline(pts)
    b0, b1 = occ.addPoint(0, zbot, 0), occ.addPoint(w, zbot, 0)
    t0, t1 = occ.addPoint(0, ztop, 0), occ.addPoint(w, ztop, 0)
    se = occ.addPlaneSurface(
        [
            occ.addCurveLoop(
                [occ.addLine(b0, b1), occ.addLine(b1, pts[-1]), -spline, occ.addLine(pts[0], b0)]
            )
        ]
    )
    metal = occ.addPlaneSurface(
        [
            occ.addCurveLoop(
                [spline, occ.addLine(pts[-1], t1), occ.addLine(t1, t0), occ.addLine(t0, pts[0])]
            )
        ]
    )
    return se, metal


def _asperity_profile(
    cfg: MetalSEInterface, rng: np.random.Generator, w: float
) -> tuple[np.ndarray, np.ndarray]:
    """2D interface height z(x) - t_se at sample points (model units)."""
    a, lam = um(cfg.asperities.amplitude), um(cfg.asperities.wavelength)
    xs = np.linspace(0, w, max(20, int(16 * w / lam)) + 1)
    if cfg.asperities.kind == "sinusoidal":
        return xs, a * np.sin(2 * np.pi * xs / lam)
    kmax = max(1, int(w / lam))
    k = np.arange(1, kmax + 1)
    amp = rng.normal(0, 1, kmax) / k
    phase = rng.uniform(0, 2 * np.pi, kmax)
    f = (amp[None, :] * np.sin(2 * np.pi * np.outer(xs, k) / w + phase)).sum(1)
    return xs, a * f / np.abs(f).max()


def build(cfg: MetalSEInterface) -> dict:
    """Create, tag and mesh the interface model; report the achieved contact fraction."""
    dim = cfg.dimension
    ax = dim - 1
    rng = np.random.default_rng(cfg.seed)
    occ = gmsh.model.occ
    w = um(cfg.width)
    lateral = [w] if dim == 2 else [w, um(cfg.depth or cfg.width)]
    tse, tm = um(cfg.electrolyte_thickness), um(cfg.metal_thickness)
    top = tse + tm
    # inputs: (tag, label); labels resolved after one fragment
    inputs: list[tuple[int, str]] = []
    if dim == 2 and cfg.asperities is not None:
        xs, f = _asperity_profile(cfg, rng, w)
        se, metal = _surface_2d(xs, tse + f, 0.0, top)
        inputs += [(se, "electrolyte"), (metal, "metal")]
    elif dim == 2:
        inputs += [
            (occ.addRectangle(0, 0, 0, w, tse), "electrolyte"),
            (occ.addRectangle(0, tse, 0, w, tm), "metal"),
        ]
    else:
        inputs += [
            (occ.addBox(0, 0, 0, *lateral, tse), "electrolyte"),
            (occ.addBox(0, 0, tse, *lateral, tm), "metal"),
        ]
    if dim == 3 and cfg.asperities is not None:
        inputs += [(t, "bump") for t in _bumps(cfg, lateral, tse, rng)]
    centres, radii = np.zeros((0, dim - 1)), np.zeros(0)
    if cfg.voids is not None:
        centres, radii = place_voids(cfg.voids, lateral, rng)
        for c, r in zip(centres, radii, strict=True):
            inputs.append(
                (
                    _void(
                        dim, c, r, um(cfg.voids.height or cfg.voids.radius), tse, cfg.voids.shape
                    ),
                    "void",
                )
            )
    if cfg.filament is not None:
        inputs += [(t, "filament") for t in _filament(cfg, lateral, tse)]
    _, children = occ.fragment([(dim, t) for t, _ in inputs[:2]], [(dim, t) for t, _ in inputs[2:]])
    labels: dict[int, set[str]] = {}
    for (_, lab), kids in zip(inputs, children, strict=True):
        for _, k in kids:
            labels.setdefault(k, set()).add(lab)
    filled = cfg.filament is None or cfg.filament.filled
    region = {k: _resolve(labs, filled) for k, labs in labels.items()}
    occ.remove([(dim, k) for k, r in region.items() if r is None], recursive=True)
    occ.synchronize()
    region = {k: r for k, r in region.items() if r is not None}
    add_groups(dim, {r: [k for k, v in region.items() if v == r] for r in ("metal", "electrolyte")})
    facets: dict[str, list[int]] = {
        n: []
        for n in (
            "metal_electrolyte",
            "metal_terminal",
            "electrolyte_terminal",
            "sides",
            "void_surface",
        )
    }
    tol = 1e-6 * max(top, w)
    for _, s in gmsh.model.getEntities(dim - 1):
        up = [region[int(v)] for v in gmsh.model.getAdjacencies(dim - 1, s)[0]]
        box = np.array(gmsh.model.getBoundingBox(dim - 1, s))
        flat = np.abs(box[3:] - box[:3]) < tol
        if len(up) == 2:
            if set(up) == {"metal", "electrolyte"}:
                facets["metal_electrolyte"].append(s)
        elif flat[ax] and abs(box[ax] - top) < tol:
            facets["metal_terminal"].append(s)
        elif flat[ax] and abs(box[ax]) < tol:
            facets["electrolyte_terminal"].append(s)
        elif any(
            flat[a] and (abs(box[a]) < tol or abs(box[a] - lateral[a]) < tol)
            for a in range(dim - 1)
        ):
            facets["sides"].append(s)
        else:
            facets["void_surface"].append(s)
    add_groups(dim - 1, {n: v for n, v in facets.items() if v})

    size = um(cfg.mesh.size or default_size(cfg))
    isize = um(cfg.mesh.interface_size) if cfg.mesh.interface_size else None
    growth = um(cfg.mesh.size_growth_distance) if cfg.mesh.size_growth_distance else None
    if radii.size:  # refine where the voids meet the contact
        isize = isize or min(size / 3, float(radii.min()) / 4)
        edges = _void_edges(facets["void_surface"], facets["metal_electrolyte"], dim)
        set_sizes(size, isize, edges, dim - 2, growth)
    elif cfg.filament is not None:  # refine along the filament/crack, down to its tip
        isize = isize or min(size / 3, um(cfg.filament.tip_radius) / 2)
        below = [
            s
            for s in facets["metal_electrolyte"] + facets["void_surface"]
            if gmsh.model.getBoundingBox(dim - 1, s)[ax] < tse - tol
        ]
        set_sizes(size, isize, below, dim - 1, growth)
    else:
        set_sizes(size, isize, facets["metal_electrolyte"], dim - 1, growth)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 12)
    gmsh.model.mesh.generate(dim)

    nominal = float(np.prod(lateral))
    contact = sum(occ.getMass(dim - 1, s) for s in facets["metal_electrolyte"])
    report = {
        "contact_area_ratio": contact / nominal,
        "interface_area_m": contact * 1e-6 ** (dim - 1),
        "voids": int(radii.size),
    }
    if cfg.voids is not None:
        report |= {
            "contact_fraction": 1 - float(_footprint(radii, dim).sum()) / nominal,
            "void_radii_m": (radii * 1e-6).tolist(),
            "void_centres_m": (centres * 1e-6).tolist(),
        }
    return report


def _resolve(labs: set[str], filled: bool) -> str | None:
    """Region of a fragment piece from the labels of the inputs it came from (None: drop)."""
    if not labs & {"metal", "electrolyte"}:
        return None  # outside the slab
    if "filament" in labs:
        return "metal" if filled else None
    if "bump" in labs:
        return "electrolyte"
    if "metal" in labs:
        return None if "void" in labs else "metal"
    return "electrolyte" if "electrolyte" in labs else None


def _void(dim: int, c: np.ndarray, r: float, h: float, zi: float, shape: str) -> int:
    """A void body centred on the interface plane z = zi (only its metal part is used)."""
    occ = gmsh.model.occ
    if shape == "cap":
        big = (r * r + h * h) / (2 * h)  # sphere radius of a cap of base r, height h
        zc = zi + h - big
        if dim == 2:
            return occ.addDisk(c[0], zc, 0, big, big)
        return occ.addSphere(c[0], c[1], zc, big)
    tag = occ.addDisk(c[0], zi, 0, r, r) if dim == 2 else occ.addSphere(c[0], c[1], zi, r)
    occ.dilate(
        [(dim, tag)],
        c[0],
        zi if dim == 2 else c[1],
        zi,
        1.0,
        *((h / r, 1.0) if dim == 2 else (1.0, h / r)),
    )
    return tag


def _bumps(
    cfg: MetalSEInterface, lateral: list[float], zi: float, rng: np.random.Generator
) -> list[int]:
    """3D asperities: half-ellipsoid bumps of the SE into the metal (model units)."""
    a, lam = um(cfg.asperities.amplitude), um(cfg.asperities.wavelength)
    nx, ny = (max(1, round(L / lam)) for L in lateral)
    if cfg.asperities.kind == "sinusoidal":
        gx, gy = np.meshgrid(
            (np.arange(nx) + 0.5) * lateral[0] / nx, (np.arange(ny) + 0.5) * lateral[1] / ny
        )
        centres = np.stack([gx.ravel(), gy.ravel()], 1)
    else:
        centres = rng.uniform(0, 1, (nx * ny, 2)) * np.array(lateral)
    occ = gmsh.model.occ
    tags = []
    for c in centres:
        t = occ.addSphere(c[0], c[1], zi, lam / 4)
        occ.dilate([(3, t)], c[0], c[1], zi, 1.0, 1.0, a / (lam / 4))
        tags.append(t)
    return tags


def _filament(cfg: MetalSEInterface, lateral: list[float], zi: float) -> list[int]:
    """Tapered filament from the interface down to a rounded tip (model units)."""
    f = cfg.filament
    occ = gmsh.model.occ
    w, rt, length = um(f.width), um(f.tip_radius), um(f.length)
    ztip = zi - length + rt  # centre of the tip
    xc = f.position * lateral[0]
    ext = 0.25 * w  # into the metal, so that the filament joins it with no sliver
    if len(lateral) == 1:
        pts = [
            occ.addPoint(x, z, 0)
            for x, z in (
                (xc - w / 2, zi + ext),
                (xc - w / 2, zi),
                (xc - rt, ztip),
                (xc + rt, ztip),
                (xc + w / 2, zi),
                (xc + w / 2, zi + ext),
            )
        ]
        loop = occ.addCurveLoop([occ.addLine(pts[k], pts[(k + 1) % 6]) for k in range(6)])
        return [occ.addPlaneSurface([loop]), occ.addDisk(xc, ztip, 0, rt, rt)]
    yc = lateral[1] / 2
    return [
        occ.addCylinder(xc, yc, zi, 0, 0, ext, w / 2),
        occ.addCone(xc, yc, zi, 0, 0, ztip - zi, w / 2, rt)
        if 2 * rt < w
        else occ.addCylinder(xc, yc, zi, 0, 0, ztip - zi, rt),
        occ.addSphere(xc, yc, ztip, rt),
    ]


def _void_edges(void: list[int], contact: list[int], dim: int) -> list[int]:
    """Entities of dimension dim-2 where void surfaces meet the contact interface."""
    if dim < 2 or not void:
        return []

    def bnd(ents: list[int]) -> set[int]:
        return {
            abs(t)
            for _, t in gmsh.model.getBoundary(
                [(dim - 1, e) for e in ents], combined=False, oriented=False
            )
        }

    return sorted(bnd(void) & bnd(contact))


def void_surfaces(
    cfg: MetalSEInterface, report: dict
) -> tuple[str, Callable[[np.ndarray], np.ndarray]] | None:
    """The exact void surfaces, for ``geometry.mesh.refinements``: ``('void_surface', move)``.

    ``move`` takes vertex coordinates [m] of ``void_surface`` facets, shape (facets, vertices,
    3). On a curved void facet (above the interface plane, a vertex off it) a vertex on the
    plane goes radially onto its void's rim circle, any other along the ray from the void's
    centre onto its cap (sphere) or half-ellipsoid; other facets (the SE under a void, crack
    walls) give NaN. None without voids. ``report``: ``build``'s, with the voids in metres.
    """
    if cfg.voids is None:
        return None
    dim, zi = cfg.dimension, cfg.electrolyte_thickness
    ax = dim - 1
    r = np.asarray(report["void_radii_m"])
    lateral = np.asarray(report["void_centres_m"]).reshape(r.size, ax)
    h = cfg.voids.height or cfg.voids.radius  # one height for all voids, as in ``build``
    if cfg.voids.shape == "cap":
        big = (r**2 + h**2) / (2 * h)  # sphere radius of each cap
        centres = np.column_stack([lateral, zi + h - big])
        axes = np.repeat(big[:, None], dim, axis=1)
    else:
        centres = np.column_stack([lateral, np.full(r.size, zi)])
        axes = np.column_stack([np.repeat(r[:, None], ax, axis=1), np.full(r.size, h)])
    tol = 1e-9 * (zi + cfg.metal_thickness)
    chunk = max(1, 2**22 // r.size)  # points per pass: bounded memory with many voids

    def nearest(p: np.ndarray) -> np.ndarray:
        """The void whose surface (level set) is nearest; the nearest centre may be another's."""
        k = np.empty(len(p), dtype=np.intp)
        for a in range(0, len(p), chunk):
            q = p[a : a + chunk, None, :] - centres[None]
            level = np.abs(np.linalg.norm(q / axes[None], axis=2) - 1) * axes.min(axis=1)
            k[a : a + chunk] = np.argmin(level, axis=1)
        return k

    def move(x: np.ndarray) -> np.ndarray:
        z = x[..., ax]
        curved = np.all(z > zi - tol, axis=1) & np.any(z > zi + tol, axis=1)
        p = x[curved].reshape(-1, 3)
        k = nearest(p[:, :dim])
        rel = p[:, :dim] - centres[k]
        out = p.copy()
        out[:, :dim] = centres[k] + rel / np.linalg.norm(rel / axes[k], axis=1)[:, None]
        rim = np.abs(p[:, ax] - zi) <= tol
        radial = p[rim, :ax] - lateral[k[rim]]
        scale = r[k[rim]] / np.linalg.norm(radial, axis=1)
        out[rim, :ax] = lateral[k[rim]] + radial * scale[:, None]
        out[rim, ax] = zi
        result = np.full_like(x, np.nan)
        result[curved] = out.reshape(-1, x.shape[1], 3)
        return result

    return "void_surface", move
