"""``sse-fem mesh`` outputs: XDMF mesh + tags, groups.json, quality.json, PNG preview.

Collective: every rank calls ``write_mesh_files``; rank 0 writes the JSON and draws the PNG
from data gathered from all ranks (2D: the mesh; 3D: a slice at mid-height, normal to the last
axis).
"""

from __future__ import annotations

import json
from pathlib import Path

from mpi4py import MPI

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from dolfinx import io  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from sse_fem.geometry.quality import cell_edges, cell_vertex_coords, quality_report  # noqa: E402
from sse_fem.mesh.bundle import MeshBundle  # noqa: E402


def write_mesh_files(bundle: MeshBundle, outdir: Path) -> dict:
    """Write mesh.xdmf (mesh, cell_tags, facet_tags), groups.json, quality.json, mesh.png.

    Returns the quality report (same on every rank).
    """
    comm = bundle.comm
    outdir = Path(outdir)
    if comm.rank == 0:
        outdir.mkdir(parents=True, exist_ok=True)
    comm.barrier()
    msh = bundle.mesh
    tdim = msh.topology.dim
    msh.topology.create_connectivity(tdim - 1, tdim)
    bundle.cell_tags.name = "cell_tags"
    with io.XDMFFile(comm, str(outdir / "mesh.xdmf"), "w") as f:
        f.write_mesh(msh)
        f.write_meshtags(bundle.cell_tags, msh.geometry)
        if bundle.facet_tags is not None:
            bundle.facet_tags.name = "facet_tags"
            f.write_meshtags(bundle.facet_tags, msh.geometry)
    quality = quality_report(msh)
    measures = {
        "regions_volume": {n: bundle.volume(n) for n in bundle.regions},
        "interfaces_area": {n: bundle.area(n) for n in bundle.interfaces},
        "boundaries_area": {n: bundle.area(n) for n in bundle.boundaries},
    }
    quality["measures_m"] = measures
    preview = _preview_data(bundle)
    if comm.rank == 0:
        groups = {
            "regions": bundle.regions,
            "interfaces": bundle.interfaces,
            "boundaries": bundle.boundaries,
            "info": bundle.info,
        }
        (outdir / "groups.json").write_text(json.dumps(groups, indent=2, default=float))
        (outdir / "quality.json").write_text(json.dumps(quality, indent=2))
        _draw(preview, bundle, outdir / "mesh.png")
    comm.barrier()
    return quality


def _preview_data(bundle: MeshBundle) -> tuple[list[np.ndarray], np.ndarray] | None:
    """Polygons (in the plane) and their region tags, gathered on rank 0."""
    msh = bundle.mesh
    x = cell_vertex_coords(msh)
    n = x.shape[0]
    tags = np.zeros(n, dtype=np.int32)
    owned = bundle.cell_tags.indices < n
    tags[bundle.cell_tags.indices[owned]] = bundle.cell_tags.values[owned]
    if msh.topology.dim == 2:
        if msh.topology.cell_name() == "quadrilateral":
            x = x[:, [0, 1, 3, 2]]
        polys = list(x[:, :, :2])
    else:
        lo = msh.comm.allreduce(msh.geometry.x[:, 2].min(initial=np.inf), op=MPI.MIN)
        hi = msh.comm.allreduce(msh.geometry.x[:, 2].max(initial=-np.inf), op=MPI.MAX)
        zmid = lo + (0.5 + 1e-3) * (hi - lo)  # off-centre: mid-plane may hold cell faces
        polys, keep = _slice(x, zmid, cell_edges(msh.topology.cell_name()))
        tags = tags[keep]
    gathered = msh.comm.gather((polys, tags), root=0)
    if msh.comm.rank != 0:
        return None
    return [p for g in gathered for p in g[0]], np.concatenate([g[1] for g in gathered])


def _slice(
    x: np.ndarray, z: float, edges: list[tuple[int, int]]
) -> tuple[list[np.ndarray], np.ndarray]:
    """Cross-sections of convex cells (vertex coords (n, nv, 3)) with the plane ``z``."""
    cut = np.flatnonzero((x[:, :, 2].min(1) < z) & (x[:, :, 2].max(1) > z))
    polys, keep = [], []
    for c in cut:
        pts = []
        for a, b in edges:
            za, zb = x[c, a, 2], x[c, b, 2]
            if (za - z) * (zb - z) < 0:
                s = (z - za) / (zb - za)
                pts.append(x[c, a, :2] + s * (x[c, b, :2] - x[c, a, :2]))
        pts = np.array(pts)
        centre = pts.mean(0)
        pts = pts[np.argsort(np.arctan2(*(pts - centre).T[::-1]))]
        polys.append(pts)
        keep.append(c)
    return polys, np.array(keep, dtype=int)


def _draw(data: tuple[list[np.ndarray], np.ndarray] | None, bundle: MeshBundle, path: Path) -> None:
    """Region-coloured cells with their edges (rank 0)."""
    if data is None:
        return
    polys, tags = data
    names = {t: n for n, t in bundle.regions.items()}
    cmap = plt.get_cmap("tab10")
    colours = {t: cmap(k % 10) for k, t in enumerate(sorted(names))}
    fig, ax = plt.subplots(figsize=(7, 6))
    scale = 1e6  # m -> um
    thin = 0.2 if len(polys) < 20000 else 0.0
    ax.add_collection(
        PolyCollection(
            [p * scale for p in polys],
            facecolors=[colours.get(t, "white") for t in tags],
            edgecolors="k",
            linewidths=thin,
        )
    )
    if polys:
        allp = np.concatenate(polys) * scale
        ax.set_xlim(allp[:, 0].min(), allp[:, 0].max())
        ax.set_ylim(allp[:, 1].min(), allp[:, 1].max())
    for t, n in names.items():
        ax.plot([], [], "s", color=colours[t], label=n)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_aspect("equal")
    ax.set_xlabel("x [um]")
    ax.set_ylabel("y [um]")
    what = "mesh" if bundle.dim == 2 else "slice at mid-height (z)"
    ax.set_title(f"{what}: {len(polys)} cells")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
