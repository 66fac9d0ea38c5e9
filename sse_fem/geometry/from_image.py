"""Segmented voxel image -> quadrilateral/hexahedral dolfinx mesh, one cell per voxel (no gmsh).

Every rank reads the (small) array, the mesh is a structured box with shared-facet ghosting,
and each rank tags its own cells from the voxel under the cell midpoint. Facets between cells of
different regions are tagged ``<a>_<b>`` (names sorted), outer faces ``x0 x1 y0 y1 [z0 z1]``
(aliases ``bottom``/``top`` along the last axis and ``sides``). All advertised names get a
tag, also where a pair never touches.
"""

from __future__ import annotations

from pathlib import Path

from mpi4py import MPI

import numpy as np
from dolfinx import mesh

from sse_fem.config.geometry import FromImage, VoxelPacking
from sse_fem.errors import CaseError
from sse_fem.geometry import check_element_count
from sse_fem.mesh.bundle import MeshBundle


def read_image(cfg: FromImage | VoxelPacking) -> np.ndarray:
    """The label array with axes (x, y[, z]) (generated for ``voxel_packing``)."""
    if isinstance(cfg, VoxelPacking):
        from sse_fem.geometry.voxel_packing import packed_labels

        return packed_labels(cfg)
    p = Path(cfg.file)
    if not p.is_file():
        raise CaseError(f"image file {cfg.file!r} does not exist", "geometry.file")
    if p.suffix == ".npy":
        arr = np.load(p)
    elif p.suffix in (".tif", ".tiff"):
        import tifffile

        arr = np.asarray(tifffile.imread(p))
    elif p.suffix == ".raw":
        if cfg.shape is None:
            raise CaseError(".raw images need `shape`", "geometry.shape")
        arr = np.fromfile(p, dtype=np.dtype(cfg.dtype)).reshape(cfg.shape)
    else:
        raise CaseError(
            f"unknown image format {p.suffix!r}; use .npy, .tif or .raw", "geometry.file"
        )
    if arr.ndim != cfg.dimension:
        raise CaseError(
            f"image has {arr.ndim} axes, dimension is {cfg.dimension}", "geometry.dimension"
        )
    missing = sorted(set(np.unique(arr).tolist()) - set(cfg.labels))
    if missing:
        raise CaseError(f"labels {missing} of the image have no region", "geometry.labels")
    return arr


def element_labels(cfg: FromImage | VoxelPacking) -> tuple[np.ndarray, float]:
    """The labels per element (each voxel split ``subdivisions`` times along every axis) and
    the element edge [m]."""
    img, n = read_image(cfg), cfg.subdivisions
    check_element_count(
        cfg, img.size * n**img.ndim, "crop or downsample the image, or use fewer subdivisions"
    )
    for axis in range(img.ndim if n > 1 else 0):
        img = np.repeat(img, n, axis=axis)
    return img, cfg.voxel_size / n


def build(cfg: FromImage | VoxelPacking, comm: MPI.Comm) -> MeshBundle:
    """Mesh and tag the image (coordinates in metres)."""
    img, h = element_labels(cfg)
    dim = img.ndim
    extent = np.array(img.shape, float) * h
    create, cell = {
        2: (mesh.create_rectangle, mesh.CellType.quadrilateral),
        3: (mesh.create_box, mesh.CellType.hexahedron),
    }[dim]
    msh = create(
        comm,
        [np.zeros(dim), extent],
        list(img.shape),
        cell,
        ghost_mode=mesh.GhostMode.shared_facet,
    )
    names = cfg.group_names()
    regions = {n: k + 1 for k, n in enumerate(names["regions"])}
    nfirst = len(regions) + 1
    interfaces = {n: nfirst + k for k, n in enumerate(names["interfaces"])}
    boundaries = {n: nfirst + len(interfaces) + k for k, n in enumerate(names["boundaries"])}

    tdim, fdim = dim, dim - 1
    ncell = msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts
    cells = np.arange(ncell, dtype=np.int32)
    mid = mesh.compute_midpoints(msh, tdim, cells)[:, :dim]
    ijk = np.clip(np.floor(mid / h).astype(int), 0, np.array(img.shape) - 1)
    lut = {lab: regions[name] for lab, name in cfg.labels.items()}
    cell_region = np.vectorize(lut.__getitem__, otypes=[np.int32])(img[tuple(ijk.T)])
    cell_tags = mesh.meshtags(msh, tdim, cells, cell_region)

    msh.topology.create_connectivity(fdim, tdim)
    f2c = msh.topology.connectivity(fdim, tdim)
    nlinks = np.diff(f2c.offsets)
    two = np.flatnonzero(nlinks == 2).astype(np.int32)
    ra = cell_region[f2c.array[f2c.offsets[two]]]
    rb = cell_region[f2c.array[f2c.offsets[two] + 1]]
    differ = ra != rb
    facets = two[differ]
    lo, hi = np.minimum(ra, rb)[differ], np.maximum(ra, rb)[differ]
    by_tag = {t: n for n, t in regions.items()}
    pair = np.zeros((len(regions) + 1, len(regions) + 1), dtype=np.int32)
    for a, b in zip(*np.triu_indices(len(regions) + 1, 1), strict=True):
        if a > 0:
            pair[a, b] = interfaces["_".join(sorted((by_tag[a], by_tag[b])))]
    values = pair[lo, hi]
    outer = mesh.exterior_facet_indices(msh.topology)
    fmid = mesh.compute_midpoints(msh, fdim, outer)[:, :dim]
    tol = 1e-6 * h
    side = np.full(len(outer), -1, dtype=np.int32)
    for a in range(dim):  # the face each outer facet lies on: x0 x1 y0 y1 [z0 z1]
        side[np.abs(fmid[:, a]) < tol] = boundaries[f"{'xyz'[a]}0"]
        side[np.abs(fmid[:, a] - extent[a]) < tol] = boundaries[f"{'xyz'[a]}1"]
    facets = np.concatenate([facets, outer]).astype(np.int32)
    values = np.concatenate([values, side]).astype(np.int32)
    order = np.argsort(facets)
    facet_tags = mesh.meshtags(msh, fdim, facets[order], values[order])
    counts = np.bincount(img.ravel(), minlength=max(cfg.labels) + 1)
    fractions: dict[str, float] = {}
    for lab, name in cfg.labels.items():
        fractions[name] = fractions.get(name, 0.0) + float(counts[lab]) / img.size
    info = {
        "image_shape": [s // cfg.subdivisions for s in img.shape],
        "voxel_size_m": cfg.voxel_size,
        "subdivisions": cfg.subdivisions,
        "volume_fractions": fractions,
    }
    aliases = {k: tuple(v) for k, v in names["aliases"].items()}
    return MeshBundle(msh, cell_tags, facet_tags, regions, interfaces, boundaries, info, aliases)
