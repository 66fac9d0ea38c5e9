"""Composite cathode RVE: packed particles in an SE matrix, cut by the box (gmsh OCC).

Particles (disks/spheres, or aligned spheroids) are packed in a periodic box
(``sse_fem.geometry.packing``), every periodic image that meets the box is added, and one
``fragment`` of box, layers and particles makes the mesh conformal. Touching particles overlap
by ``contact_overlap`` of the smaller radius (finite necks); all other gaps are at least
``min_gap`` of the smaller radius, also to the box faces (neck policy, see ``packing``). In
3D, tetrahedra that gmsh leaves below quality 0.1 are meshed again finer
(``gmsh_tools.repair_slivers``).
"""

from __future__ import annotations

import gmsh
import numpy as np
from scipy.spatial.transform import Rotation

from sse_fem.config.geometry import CompositeCathode, ParticlePhase
from sse_fem.errors import CaseError
from sse_fem.geometry import packing
from sse_fem.geometry.gmsh_tools import (
    add_groups,
    box_face,
    estimate_cells,
    repair_slivers,
    set_sizes,
    um,
)

#: piece ownership when particles of several phases overlap (first wins)
PRIORITY = ("current_collector", "separator", "active", "carbon", "coating", "pores")


def particle_packing(cfg: CompositeCathode) -> tuple[packing.Packing, list[str], float]:
    """Seeded packing in the scaled box (model units, x divided by the aspect ratio).

    Returns the packing (packing-space radii include the coating), the phase names per phase
    index and the radius factor from packing space to the core's volume-equivalent radius.
    """
    dim = cfg.dimension
    rng = np.random.default_rng(cfg.seed)
    w, t = um(cfg.width), um(cfg.thickness)
    box_real = np.array([w] * (dim - 1) + [t])
    alpha = cfg.aspect_ratio
    shrink = alpha ** (-1.0 / dim)  # short semi-axis / volume-equivalent radius
    box = box_real.copy()
    box[0] /= alpha
    coat = um(cfg.coating_thickness)
    phases: list[tuple[str, ParticlePhase]] = [("active", cfg.active)]
    phases += [(n, ph) for n, ph in (("carbon", cfg.carbon), ("pores", cfg.pores)) if ph]
    radii, idx = [], []
    for k, (name, ph) in enumerate(phases):
        try:
            r = packing.sample_radii(
                rng,
                ph.volume_fraction * float(np.prod(box_real)),
                um(ph.radius),
                ph.distribution,
                um(ph.radius_std),
                dim,
                cfg.max_particles,
            )
        except ValueError as err:
            raise CaseError(str(err), f"geometry.{name}") from None
        radii.append((r + (coat if name == "active" else 0.0)) * shrink)
        idx.append(np.full(r.size, k))
    try:
        p = packing.pack(np.concatenate(radii), np.concatenate(idx), box, rng, cfg.min_gap)
        packing.make_meshable(p, cfg.contact_overlap, cfg.min_gap, rng, cfg.cap_clearance)
    except ValueError as err:
        raise CaseError(str(err), "geometry") from None
    return p, [n for n, _ in phases], shrink


def estimate(cfg: CompositeCathode) -> float:
    """Rough element count of ``build(cfg)``, before packing and meshing.

    Default size: 0.6 of the smallest radius (taken as mean - 2 std, at least 0.3 mean, as
    sampled); particle surfaces 2 phi A / r (2D), 3 phi V / r (3D) are refined when
    ``mesh.interface_size`` is given. Necks and narrow gaps add about 1.2 / min_gap (2D) and
    3 / min_gap^2 (3D) elements per particle (measured).
    """
    dim = cfg.dimension
    lateral = cfg.width ** (dim - 1)
    layer = lateral * cfg.thickness
    phases = [p for p in (cfg.active, cfg.carbon, cfg.pores) if p is not None]
    shrink = cfg.aspect_ratio ** (-1.0 / dim)
    r_min = min(max(p.radius - 2 * p.radius_std, 0.3 * p.radius) for p in phases) * shrink
    size = cfg.mesh.size or 0.6 * r_min
    surfaces = sum(dim * p.volume_fraction * layer / p.radius for p in phases)
    ball = np.pi if dim == 2 else 4 * np.pi / 3
    particles = sum(p.volume_fraction * layer / (ball * p.radius**dim) for p in phases)
    thickness = cfg.thickness + cfg.current_collector_thickness + cfg.separator_thickness
    cells = estimate_cells(
        dim,
        lateral * thickness,
        size,
        [(surfaces, 1, cfg.mesh.interface_size)],
        cfg.mesh.size_growth_distance,
    )
    return cells + particles * (1.2 if dim == 2 else 3.0) / cfg.min_gap ** (dim - 1)


def _ball(dim: int, c: np.ndarray, r: float, alpha: float, turn: np.ndarray | None) -> int:
    """Disk/sphere of short semi-axis ``r`` stretched by ``alpha`` along x (model units);
    a sphere is turned by the rotation ``turn`` (3x3, ``packing.orientations``) first."""
    occ = gmsh.model.occ
    if dim == 2:
        return occ.addDisk(c[0], c[1], 0.0, r * alpha, r)
    tag = occ.addSphere(c[0], c[1], c[2], r)
    if turn is not None:  # a rotation keeps the analytic sphere (a general affine map not)
        vector = Rotation.from_matrix(turn).as_rotvec()
        angle = float(np.linalg.norm(vector))
        if angle > 1e-12:
            occ.rotate([(3, tag)], c[0], c[1], c[2], *(vector / angle), angle)
    if alpha != 1.0:
        occ.dilate([(3, tag)], c[0], c[1], c[2], alpha, 1.0, 1.0)
    return tag


def _box(dim: int, lo: list[float], size: list[float]) -> int:
    occ = gmsh.model.occ
    if dim == 2:
        return occ.addRectangle(lo[0], lo[1], 0.0, size[0], size[1])
    return occ.addBox(*lo, *size)


def build(cfg: CompositeCathode) -> dict:
    """Pack, build, tag and mesh the RVE; report fractions, contacts and the network."""
    dim = cfg.dimension
    ax = dim - 1
    alpha = cfg.aspect_ratio
    p, phase_names, shrink = particle_packing(cfg)
    w, t = um(cfg.width), um(cfg.thickness)
    z0 = um(cfg.current_collector_thickness)
    zs = um(cfg.separator_thickness)
    lat = [w] * (dim - 1)
    origin = np.array([0.0] * (dim - 1) + [z0])
    coat = um(cfg.coating_thickness) * shrink
    occ = gmsh.model.occ

    # inputs: (dim, tag) and the set of labels each one carries
    inputs: list[tuple[int, set[str]]] = [
        (_box(dim, [0.0] * (dim - 1) + [z0], lat + [t]), {"electrolyte"})
    ]
    if z0 > 0:
        inputs.append((_box(dim, [0.0] * dim, lat + [z0]), {"current_collector"}))
    if zs > 0:
        inputs.append((_box(dim, [0.0] * (dim - 1) + [z0 + t], lat + [zs]), {"separator"}))
    turns = cores = [None] * p.radii.size
    if dim == 3 and cfg.cap_clearance:
        turns = list(packing.orientations(p.centres, p.radii, p.box))
        cores = list(packing.orientations(p.centres, p.radii - coat * (p.phase == 0), p.box))
    for i, s in packing.pieces(p):
        c = p.centres[i] + np.array(s) * p.box
        c[0] *= alpha
        c += origin
        name = phase_names[p.phase[i]]
        if name == "active" and coat > 0:
            inputs.append((_ball(dim, c, p.radii[i], alpha, turns[i]), {"coating"}))
            inputs.append((_ball(dim, c, p.radii[i] - coat, alpha, cores[i]), {"active"}))
        else:
            inputs.append((_ball(dim, c, p.radii[i], alpha, turns[i]), {name}))
    n_layers = 1 + (z0 > 0) + (zs > 0)
    _, children = occ.fragment(
        [(dim, tag) for tag, _ in inputs[:n_layers]], [(dim, tag) for tag, _ in inputs[n_layers:]]
    )
    labels: dict[int, set[str]] = {}
    for (_, labs), kids in zip(inputs, children, strict=True):
        for _, kid in kids:
            labels.setdefault(kid, set()).update(labs)
    inside = {kid for _, kid in sum(children[:n_layers], [])}
    occ.remove([(dim, k) for k in labels if k not in inside], recursive=True)
    occ.synchronize()

    region_of = {
        k: next((ph for ph in PRIORITY if ph in labs), "electrolyte")
        for k, labs in labels.items()
        if k in inside
    }
    names = cfg.group_names()
    regions = {r: [k for k, v in region_of.items() if v == r] for r in names["regions"]}
    add_groups(dim, {r: v for r, v in regions.items() if v})
    order = CompositeCathode.PHASE_ORDER
    facets: dict[str, list[int]] = {n: [] for n in names["interfaces"] + names["boundaries"]}
    top = z0 + t + zs
    tol = 1e-6 * max(w, top)
    for _, s in gmsh.model.getEntities(dim - 1):
        up = gmsh.model.getAdjacencies(dim - 1, s)[0]
        if len(up) == 2:
            a, b = sorted((region_of[int(v)] for v in up), key=order.index)
            if f"{a}_{b}" in facets:  # not: layer pieces cut apart by particles
                facets[f"{a}_{b}"].append(s)
        else:
            face = box_face(gmsh.model.getBoundingBox(dim - 1, s), [*lat, top], tol)
            if face is None:
                raise RuntimeError(f"boundary surface {s} lies on no face of the box")
            facets[face].append(s)
    add_groups(dim - 1, {n: v for n, v in facets.items() if v})

    size = um(cfg.mesh.size) if cfg.mesh.size else 0.6 * float(p.radii.min())
    isize = um(cfg.mesh.interface_size) if cfg.mesh.interface_size else None
    growth = um(cfg.mesh.size_growth_distance) if cfg.mesh.size_growth_distance else None
    particle_faces = [s for n, v in facets.items() if n in names["interfaces"] for s in v]
    set_sizes(size, isize, particle_faces, dim - 1, growth)
    if isize is None:
        gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 10)
    gmsh.model.mesh.generate(dim)
    repair = repair_slivers() if dim == 3 and cfg.cap_clearance else {}

    layer = float(np.prod(lat)) * t
    vol = {r: sum(occ.getMass(dim, k) for k in v) for r, v in regions.items()}
    fractions = {
        r: v / layer for r, v in vol.items() if r not in ("current_collector", "separator")
    }
    electronic = np.isin(
        p.phase, [phase_names.index(n) for n in ("active", "carbon") if n in phase_names]
    )
    is_active = p.phase == 0
    return {
        "volume_fractions": fractions,
        "target_fractions": {n: getattr(cfg, n).volume_fraction for n in phase_names},
        "particles": {n: int((p.phase == k).sum()) for k, n in enumerate(phase_names)},
        "mean_radius_m": {
            n: float(p.radii[p.phase == k].mean() / shrink * 1e-6)
            - (cfg.coating_thickness if n == "active" else 0.0)
            for k, n in enumerate(phase_names)
        },
        "contacts": int(len(p.contacts)),
        "coordination_number": 2.0 * len(p.contacts) / p.radii.size,
        "active_network": packing.network(p, is_active, ax),
        "electronic_network": packing.network(p, electronic, ax),
        "neck_policy": {
            "overlap_of_smaller_radius": cfg.contact_overlap,
            "min_gap_of_smaller_radius": cfg.min_gap,
        },
        "packing_iterations": p.iterations,
        "empty_groups": sorted(n for n, v in {**regions, **facets}.items() if not v),
        **({"sliver_repair": repair} if repair else {}),
    }
