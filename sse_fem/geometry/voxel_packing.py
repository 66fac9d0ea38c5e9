"""Packed particles as a voxel image (``geometry.type: voxel_packing``; numpy, no gmsh).

The particles of every phase are sampled and packed in the periodic box like those of a
composite cathode (``sse_fem.geometry.packing``: collective rearrangement to a dense random
packing), and the box is voxelised as one periodic cell: a voxel belongs to the first phase (in
the order listed) with a particle holding its centre, otherwise to the matrix. Particles of one
phase closer than ``min_gap`` of the smaller radius are in contact, joined by a neck: a
cylinder of the radius of the lens two spheres overlapping by ``contact_overlap`` would have,
sqrt(contact_overlap) times the smaller radius (pressed particles). The same seed gives the
same image on every rank and in every run.
"""

from __future__ import annotations

import numpy as np

from sse_fem.config.geometry import VoxelPacking
from sse_fem.errors import CaseError
from sse_fem.geometry import packing

_MADE: dict[str, np.ndarray] = {}  # the last packing made in this process (read-only)


def packed_labels(cfg: VoxelPacking) -> np.ndarray:
    """The label image, axes (x, y[, z]): 0 matrix, k + 1 phase k (of ``cfg.phases``)."""
    key = cfg.model_dump_json(exclude={"subdivisions", "mesh"})  # the same packing for all
    if key not in _MADE:
        image = _pack_and_voxelise(cfg)
        image.flags.writeable = False
        _MADE.clear()  # keep one
        _MADE[key] = image
    return _MADE[key]


def _pack_and_voxelise(cfg: VoxelPacking) -> np.ndarray:
    dim, h = cfg.dimension, cfg.voxel_size
    shape = tuple(int(v) for v in np.round(np.array([cfg.width] * (dim - 1) + [cfg.thickness]) / h))
    box = np.array(shape, dtype=float)  # in voxels: the periodic box is the image
    rng = np.random.default_rng(cfg.seed)
    radii, phase = [], []
    for k, (name, ph) in enumerate(cfg.phases.items()):
        try:
            r = packing.sample_radii(
                rng,
                ph.volume_fraction * float(np.prod(box)),
                ph.radius / h,
                ph.distribution,
                ph.radius_std / h,
                dim,
                cfg.max_particles,
            )
        except ValueError as err:
            raise CaseError(str(err), f"geometry.phases.{name}") from None
        radii.append(r)
        phase.append(np.full(r.size, k))
    try:
        p = packing.pack(np.concatenate(radii), np.concatenate(phase), box, rng, cfg.min_gap)
        reach = cfg.min_gap * float(p.radii.max())
        inside = np.mod(p.centres, box)
        inside[inside >= box] = 0.0  # a tiny negative coordinate wraps to the box length
        ij, d, dist = packing.pairs(inside, p.radii, box, reach)
    except ValueError as err:
        raise CaseError(str(err), "geometry") from None
    small = np.minimum(p.radii[ij[:, 0]], p.radii[ij[:, 1]])
    gap = dist - p.radii[ij[:, 0]] - p.radii[ij[:, 1]]
    contact = (gap < cfg.min_gap * small) & (p.phase[ij[:, 0]] == p.phase[ij[:, 1]])
    labels = np.zeros(shape, dtype=np.uint8)
    # phases from last to first, so that the first listed wins where they overlap
    for k in sorted(set(p.phase.tolist()), reverse=True):
        for i in np.flatnonzero(p.phase == k):
            _fill(labels, k + 1, p.centres[i], p.radii[i], np.zeros(dim))
        for (i, _), v, r in zip(ij[contact], d[contact], small[contact], strict=True):
            if p.phase[i] == k:  # the neck: a cylinder of the lens radius along the centres
                _fill(labels, k + 1, p.centres[i], np.sqrt(cfg.contact_overlap) * r, v)
    return labels


def _fill(
    labels: np.ndarray, value: int, start: np.ndarray, radius: float, axis: np.ndarray
) -> None:
    """Set ``value`` on the voxels (periodic image) whose centres lie within ``radius`` of the
    segment from ``start`` to ``start + axis`` (a ball when ``axis`` is zero) [voxels]."""
    end = start + axis
    lo = np.floor(np.minimum(start, end) - radius).astype(int)
    hi = np.ceil(np.maximum(start, end) + radius).astype(int) + 1
    grid = np.meshgrid(*(np.arange(a, b) + 0.5 for a, b in zip(lo, hi, strict=True)), indexing="ij")
    rel = np.stack(grid, axis=-1) - start
    length2 = float(axis @ axis)
    t = np.clip(rel @ axis / length2, 0.0, 1.0) if length2 > 0 else 0.0
    near = np.linalg.norm(rel - np.multiply.outer(t, axis), axis=-1) <= radius
    # only the voxels inside: a window wider than the box visits some voxels twice
    hit = np.nonzero(near)
    labels[tuple((a + h) % n for a, h, n in zip(lo, hit, labels.shape, strict=True))] = value
