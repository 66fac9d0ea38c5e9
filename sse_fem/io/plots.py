"""PNG plots: time series, interface current distribution, 2D field maps, 3D slices, heat
(matplotlib, Agg)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mpi4py import MPI

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from dolfinx import geometry  # noqa: E402


def plot_timeseries(rows: list[dict], outdir: Path, prefix: str = "") -> None:
    """timeseries.png: cell voltage and current density vs time (rank 0); ``prefix``: the
    namespace of the columns (``conduction.``)."""
    if len(rows) < 2 or f"{prefix}voltage_V" not in rows[0]:
        return
    t = np.array([r["time_s"] for r in rows])
    v = np.array([r.get(f"{prefix}voltage_V", np.nan) for r in rows])
    j = np.array([r.get(f"{prefix}current_density_A_m2", np.nan) for r in rows]) * 0.1
    fig, ax = plt.subplots(2, 1, sharex=True, figsize=(6, 5))
    ax[0].plot(t, v, "-o", ms=2)
    ax[0].set_ylabel("cell voltage [V]")
    ax[1].plot(t, j, "-o", ms=2, color="C1")
    ax[1].set_ylabel("current density [mA/cm²]")
    ax[1].set_xlabel("time [s]")
    for a in ax:
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(outdir / "timeseries.png", dpi=120)
    plt.close(fig)


def plot_columns(
    rows: list[dict], panels: list[tuple[str, dict[str, str], float]], path: Path
) -> None:
    """Time series of result columns, one panel per (y label, {curve label: column key},
    factor from SI to the label's unit); rank 0."""
    panels = [p for p in panels if any(k in rows[0] for k in p[1].values())] if rows else []
    if len(rows) < 2 or not panels:
        return
    t = np.array([r["time_s"] for r in rows])
    fig, axes = plt.subplots(len(panels), 1, sharex=True, figsize=(6, 2.5 * len(panels) + 0.5))
    axes = np.atleast_1d(axes)
    for ax, (ylabel, curves, factor) in zip(axes, panels, strict=True):
        for label, key in curves.items():
            ax.plot(t, [r.get(key, np.nan) * factor for r in rows], "-o", ms=2, label=label)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if len(curves) > 1:
            ax.legend()
    axes[-1].set_xlabel("time [s]")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_voltage_capacity(rows: list[dict], charge_key: str, outdir: Path) -> None:
    """voltage_capacity.png: cell voltage vs the charge passed, per terminal area [mAh/cm^2]
    where the rows have one, else [mAh] (rank 0); nothing without a voltage column."""
    voltage_key = next((k for k in rows[0] if k.endswith(".voltage_V")), None)
    if voltage_key is None or charge_key not in rows[0]:
        return
    area_key = next((k for k in rows[-1] if k.endswith(".terminal_area_m2")), None)
    per_area = 1.0 / (rows[-1][area_key] * 1e4) if area_key else 1.0  # per cm^2
    q = np.array([r.get(charge_key, np.nan) for r in rows]) / 3.6 * per_area  # C -> mAh
    v = np.array([r.get(voltage_key, np.nan) for r in rows])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(np.abs(q), v, "-", lw=1.5)
    ax.set_xlabel("charge passed [mAh/cm²]" if area_key else "charge passed [mAh]")
    ax.set_ylabel("cell voltage [V]")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(outdir / "voltage_capacity.png", dpi=120)
    plt.close(fig)


def plot_profiles(
    position: np.ndarray,
    curves: dict[str, np.ndarray],
    path: Path,
    xlabel: str,
    ylabel: str,
    log: bool = False,
) -> None:
    """Curves of a quantity along one axis (``position`` [m], drawn in µm, or nm when the
    range is below 1 µm), one per name; ``xlabel`` without its unit."""
    extent = float(np.nanmax(position) - np.nanmin(position)) if len(position) else 1.0
    scale, unit = (1e9, "nm") if extent < 1e-6 else (1e6, "µm")
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in curves.items():
        ax.plot(position * scale, values, "-o", ms=2, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(f"{xlabel} [{unit}]")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_profile_window(
    position: np.ndarray,
    potential: np.ndarray,
    concentrations: dict[str, np.ndarray],
    centre: float,
    half_width: float,
    path: Path,
) -> None:
    """Potential and concentrations within ``half_width`` of ``centre`` [m] (a zoom on an
    interface's space-charge layers; position drawn in nm, concentrations on a log scale)."""
    keep = np.abs(position - centre) <= half_width
    x = (position[keep] - centre) * 1e9
    fig, ax = plt.subplots(2, 1, sharex=True, figsize=(6, 5.5))
    ax[0].plot(x, potential[keep], "-o", ms=2)
    ax[0].set_ylabel("potential [V]")
    for name, c in concentrations.items():
        ax[1].plot(x, c[keep], "-o", ms=2, label=name)
    ax[1].set_yscale("log")
    ax[1].set_ylabel("concentration [mol/m³]")
    ax[1].set_xlabel("distance from the interface [nm]")
    ax[1].legend()
    for a in ax:
        a.axvline(0.0, color="0.5", lw=0.8)
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_interfaces(samples: dict[str, dict], dim: int, outdir: Path) -> None:
    """interface_<name>.png: current density along each interface (2D) or over it (3D)."""
    for name, s in samples.items():
        j = s["current"] * 0.1
        mean = np.average(j, weights=s["area"]) if len(j) else 0.0
        title = f"{name}: max/mean = {np.abs(j).max() / abs(mean):.3g}" if mean != 0 else name
        plot_interface_values(
            s["x"],
            j,
            dim,
            outdir / f"interface_{name}.png",
            "interface current density [mA/cm²]",
            title,
            s.get("vertices"),
        )


def interface_chains(vertices: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The facets of a 2D interface (segments, ``vertices`` (n, 2, 3) [m]) as connected
    chains: (facet indices in order, their midpoints' position along the interface [m]).
    Positions are arc lengths; between chains (across a void) the straight gap is added, so
    the chains keep their places and the gaps stay empty."""
    n = len(vertices)
    scale = float(np.ptp(vertices)) if n else 1.0
    keys = np.round(vertices[:, :, :2] / (1e-9 * scale)).astype(np.int64)
    touching: dict[tuple[int, int], list[int]] = {}
    for i in range(n):
        for j in (0, 1):
            touching.setdefault((int(keys[i, j, 0]), int(keys[i, j, 1])), []).append(i)
    seen = np.zeros(n, dtype=bool)

    def walk(i: int, end: int) -> list[tuple[int, int]]:
        chain = []
        while True:
            seen[i] = True
            chain.append((i, end))  # facet i entered at vertex `end`
            out = keys[i, 1 - end]
            nxt = [k for k in touching[(int(out[0]), int(out[1]))] if not seen[k]]
            if not nxt:
                return chain
            i = nxt[0]
            end = 0 if np.array_equal(keys[i, 0], out) else 1

    starts = [
        (i, j)
        for i in range(n)
        for j in (0, 1)
        if len(touching[(int(keys[i, j, 0]), int(keys[i, j, 1]))]) == 1
    ]
    starts.sort(key=lambda s: (vertices[s[0], s[1], 0], vertices[s[0], s[1], 1]))
    chains = []
    for i, j in starts + [(i, 0) for i in range(n)]:  # open chains first, then loops
        if not seen[i]:
            chains.append(walk(i, j))
    out = []
    position, last = 0.0, None
    for chain in chains:
        first = vertices[chain[0][0], chain[0][1]]
        if last is not None:
            position += float(np.linalg.norm(first - last))
        mids = []
        for i, end in chain:
            length = float(np.linalg.norm(vertices[i, 1] - vertices[i, 0]))
            mids.append(position + 0.5 * length)
            position += length
            last = vertices[i, 1 - end]
        out.append((np.array([i for i, _ in chain]), np.array(mids)))
    return out


def plot_interface_values(
    x: np.ndarray,
    values: np.ndarray,
    dim: int,
    path: Path,
    label: str,
    title: str,
    vertices: np.ndarray | None = None,
) -> None:
    """``values`` at interface facet midpoints ``x`` [m]: along the interface in 2D (one
    line per connected piece, so voids show as gaps; ``vertices`` of the facets give the
    order, else x), a map over x, y in 3D; nothing in 1D or without facets (rank 0)."""
    if dim == 1 or len(values) == 0:
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    if dim == 2:
        if vertices is None:
            order = np.argsort(x[:, 0])
            ax.plot(x[order, 0] * 1e6, values[order], ".-", ms=3)
            ax.set_xlabel("x [µm]")
        else:
            for facets, position in interface_chains(vertices):
                ax.plot(position * 1e6, values[facets], ".-", ms=3, color="C0")
            ax.set_xlabel("position along the interface [µm] (gaps: no contact)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    else:
        sc = ax.scatter(x[:, 0] * 1e6, x[:, 1] * 1e6, c=values, s=8, cmap="viridis")
        fig.colorbar(sc, ax=ax, label=label)
        ax.set_xlabel("x [µm]")
        ax.set_ylabel("y [µm]")
        ax.set_aspect("equal")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_field_2d(
    func: Any,
    cells: np.ndarray,
    path: Path,
    label: str,
    outlines: np.ndarray | None = None,
    diverging: bool = False,
) -> None:
    """Map of a scalar DG1/P1 field on the given local parent cells of a 2D triangle mesh
    (collective: gathers to rank 0, which draws). Cells not given (other regions, voids)
    stay blank; ``outlines``: segments (n, 2, 3) [m] drawn over the map (interfaces, on rank
    0); ``diverging``: a blue-white-red map centred on 0 (signed quantities: stresses)."""
    V = func.function_space
    msh = V.mesh
    owned = msh.topology.index_map(2).size_local
    cells = cells[cells < owned]
    x = V.tabulate_dof_coordinates()
    tris = [V.dofmap.cell_dofs(c) for c in cells]
    pts = np.array([x[d, :2] for d in tris]).reshape(-1, 3, 2) if tris else np.zeros((0, 3, 2))
    vals = np.array([func.x.array[d] for d in tris]).reshape(-1, 3) if tris else np.zeros((0, 3))
    gathered = msh.comm.gather((pts, vals), root=0)
    if msh.comm.rank != 0:
        return
    pts = np.concatenate([g[0] for g in gathered])
    vals = np.concatenate([g[1] for g in gathered])
    if len(pts) == 0:
        return
    import matplotlib.tri as mtri

    tri = mtri.Triangulation(
        pts[:, :, 0].ravel() * 1e6,
        pts[:, :, 1].ravel() * 1e6,
        np.arange(3 * len(pts)).reshape(-1, 3),
    )
    fig, ax = plt.subplots(figsize=(6, 5))
    norm, cmap = None, "viridis"
    if diverging and vals.min() < 0 < vals.max():
        from matplotlib.colors import TwoSlopeNorm

        norm, cmap = TwoSlopeNorm(0.0, vals.min(), vals.max()), "RdBu_r"
    tc = ax.tripcolor(tri, vals.ravel(), shading="gouraud", cmap=cmap, norm=norm)
    fig.colorbar(tc, ax=ax, label=label)
    if outlines is not None and len(outlines):
        from matplotlib.collections import LineCollection

        ax.add_collection(LineCollection(outlines[:, :, :2] * 1e6, colors="k", linewidths=0.6))
    ax.set_aspect("equal")
    ax.set_xlabel("x [µm]")
    ax.set_ylabel("y [µm]")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


_AXES = "xyz"


def _global_bbox(msh: Any) -> tuple[np.ndarray, np.ndarray]:
    """Corners of the global bounding box of the mesh nodes [m] (collective)."""
    gx = msh.geometry.x
    lo = gx.min(axis=0) if len(gx) else np.full(3, np.inf)
    hi = gx.max(axis=0) if len(gx) else np.full(3, -np.inf)
    glo, ghi = np.empty(3), np.empty(3)
    msh.comm.Allreduce(np.ascontiguousarray(lo, dtype=np.float64), glo, op=MPI.MIN)
    msh.comm.Allreduce(np.ascontiguousarray(hi, dtype=np.float64), ghi, op=MPI.MAX)
    return glo, ghi


def sample_plane(
    func: Any,
    normal: int,
    position: float | None,
    resolution: int,
    cells: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample a scalar field on a regular grid in the plane ``x[normal] = position`` [m]
    (default: middle of the global bounding box), ``resolution`` pixels along the longer side.

    Collective over the mesh's communicator; every rank gets the same result. Returns the pixel
    centres ``grid_u, grid_v`` [m] (the two in-plane axes in x, y, z order) and ``values``,
    all of shape ``(nv, nu)``; NaN where no cell (or none of the local ``cells``) holds the point.
    """
    msh = func.function_space.mesh
    comm = msh.comm
    tdim = msh.topology.dim
    lo, hi = _global_bbox(msh)
    if position is None:
        position = 0.5 * (lo[normal] + hi[normal])
    iu, iv = (a for a in range(3) if a != normal)
    lu, lv = hi[iu] - lo[iu], hi[iv] - lo[iv]
    h = max(lu, lv) / resolution
    nu, nv = max(int(round(lu / h)), 1), max(int(round(lv / h)), 1)
    u = lo[iu] + (np.arange(nu) + 0.5) * lu / nu
    v = lo[iv] + (np.arange(nv) + 0.5) * lv / nv
    grid_u, grid_v = np.meshgrid(u, v)
    pts = np.zeros((grid_u.size, 3))
    pts[:, iu], pts[:, iv], pts[:, normal] = grid_u.ravel(), grid_v.ravel(), position

    # Local search: first allowed (owned, and in ``cells`` if given) cell per point.
    imap = msh.topology.index_map(tdim)
    allowed = np.zeros(imap.size_local + imap.num_ghosts, dtype=bool)
    if cells is None:
        allowed[: imap.size_local] = True
    else:
        allowed[np.asarray(cells, dtype=np.int64)] = True
        allowed[imap.size_local :] = False
    tree = geometry.bb_tree(msh, tdim)
    hits = geometry.compute_colliding_cells(msh, geometry.compute_collisions_points(tree, pts), pts)
    links, offsets = hits.array, hits.offsets
    owner = np.repeat(np.arange(len(pts)), np.diff(offsets))
    ok = allowed[links] if len(links) else np.zeros(0, dtype=bool)
    idx, first = np.unique(owner[ok], return_index=True)
    found_cells = links[ok][first].astype(np.int32)
    if len(idx):
        vals = np.asarray(func.eval(pts[idx], found_cells)).reshape(len(idx), -1)[:, 0].real
    else:
        vals = np.zeros(0)

    # Combine: the lowest rank that found a point wins.
    values = np.full(len(pts), np.nan)
    for ridx, rvals in reversed(comm.allgather((idx, vals))):
        values[ridx] = rvals
    return grid_u, grid_v, values.reshape(grid_u.shape)


def plot_field(
    func: Any,
    bundle: Any,
    path: Path,
    label: str,
    cells: np.ndarray | None = None,
    diverging: bool = False,
    height: float | None = None,
) -> None:
    """The picture of a scalar field users look at: on 2D triangle meshes a map over the
    local parent ``cells`` (default all) with the region outlines drawn; in 3D a slice
    normal to z at ``height`` [m] (default the middle). Nothing for other meshes.
    Collective; rank 0 draws."""
    from sse_fem.postprocess.interfaces import region_outlines

    msh = bundle.mesh
    dim = bundle.dim
    if dim == 2 and msh.topology.cell_name() == "triangle":
        if cells is None:
            imap = msh.topology.index_map(dim)
            cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
        plot_field_2d(func, cells, path, label, region_outlines(bundle), diverging)
    elif dim == 3:
        plot_slice_3d(func, path, label, position=height, cells=cells)


def plot_slice_3d(
    func: Any,
    path: Path,
    label: str,
    normal: int = 2,
    position: float | None = None,
    resolution: int = 160,
    cells: np.ndarray | None = None,
) -> None:
    """Colour map of a scalar field of a 3D mesh on the plane ``x[normal] = position`` [m]
    (default: the middle of the mesh), axes in µm; points outside the mesh, or outside the local
    ``cells`` if given (e.g. voids), stay blank. Collective; rank 0 draws."""
    grid_u, grid_v, values = sample_plane(func, normal, position, resolution, cells)
    msh = func.function_space.mesh
    if position is None:
        lo, hi = _global_bbox(msh)
        position = 0.5 * (lo[normal] + hi[normal])
    if msh.comm.rank != 0:
        return
    iu, iv = (a for a in range(3) if a != normal)
    fig, ax = plt.subplots(figsize=(6, 5))
    pc = ax.pcolormesh(
        grid_u * 1e6,
        grid_v * 1e6,
        np.ma.masked_invalid(values),
        shading="nearest",
        cmap="viridis",
    )
    fig.colorbar(pc, ax=ax, label=label)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{_AXES[iu]} [µm]")
    ax.set_ylabel(f"{_AXES[iv]} [µm]")
    ax.set_title(f"{_AXES[normal]} = {position * 1e6:.4g} µm")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_heat_timeseries(rows: list[dict], outdir: Path, prefix: str = "heat.") -> None:
    """heat.png: max/mean/min temperature [°C] and heat by source [W] vs time [s] (rank 0);
    ``prefix``: the namespace of the columns (``heat.``)."""
    stats = ("max", "mean", "min")
    names = [f"{prefix}{s}_temperature_K" for s in stats]
    if len(rows) < 2 or any(n not in rows[0] for n in names):
        return

    def col(name: str) -> np.ndarray:
        return np.array([r.get(name, np.nan) for r in rows], dtype=float)

    t = col("time_s")
    pattern = re.compile(rf"^{re.escape(prefix)}heat_(.+)_W$")
    kinds: list[str] = []
    for r in rows:
        for key in r:
            m = pattern.match(key)
            totals = ("generated", "storage_rate")
            kind = m.group(1) if m else ""
            if m and kind not in totals and not kind.startswith("out") and kind not in kinds:
                kinds.append(m.group(1))
    fig, ax = plt.subplots(2, 1, sharex=True, figsize=(6, 6))
    for name, stat in zip(names, stats, strict=True):
        ax[0].plot(t, col(name) - 273.15, "-o", ms=2, label=stat)
    ax[0].set_ylabel("temperature [°C]")
    for kind in kinds:
        ax[1].plot(t, col(f"{prefix}heat_{kind}_W"), "-", label=kind)
    if any(f"{prefix}heat_out_W" in r for r in rows):
        ax[1].plot(t, col(f"{prefix}heat_out_W"), "--", color="k", label="out through boundaries")
    ax[1].set_ylabel("heat [W]")
    ax[1].set_xlabel("time [s]")
    for a in ax:
        a.grid(alpha=0.3)
        if a.get_legend_handles_labels()[0]:
            a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(outdir / "heat.png", dpi=120)
    plt.close(fig)


def plot_sweep(
    rows: list[dict], figure: str, x: str, y: str | None, path: Path, parameters: list[str]
) -> None:
    """A sweep's figure of merit against one parameter (one line per combination of the
    other ``parameters`` that vary) or as a map over two (one panel per combination of the
    others, up to 6; cells on a full grid, coloured points otherwise); cases that did not
    finish are marked. Columns of the results table."""
    done = [r for r in rows if r.get("status") == "done" and r.get(figure) is not None]
    missed = [r for r in rows if r.get("status") != "done"]
    axes_keys = (x,) if y is None else (x, y)
    others = [k for k in parameters if k not in axes_keys and len({r.get(k) for r in rows}) > 1]

    def key_of(r: dict) -> tuple:
        return tuple(r.get(k) for k in others)

    def describe(label: tuple) -> str:
        return ", ".join(f"{_sweep_label(k)} = {v:.4g}" for k, v in zip(others, label, strict=True))

    groups: dict[tuple, list[dict]] = {}
    for r in done:
        groups.setdefault(key_of(r), []).append(r)
    ordered = sorted(groups.items(), key=lambda kv: str(kv[0]))
    if y is None:
        fig, ax = plt.subplots(figsize=(6.4, 4.8))
        for label, members in ordered:
            members.sort(key=lambda r: float(r[x]))
            xs = [float(r[x]) for r in members]
            ys = [float(r[figure]) for r in members]
            ax.plot(xs, ys, "o-", ms=4, label=describe(label) or None)
        for r in missed:
            ax.axvline(float(r[x]), color="0.8", lw=0.8, ls=":")
        ax.set_xlabel(_sweep_label(x))
        ax.set_ylabel(_sweep_label(figure))
        if 1 < len(groups) <= 12:
            ax.legend(fontsize=7)
        _log_if_wide(ax, [float(r[x]) for r in rows], "x")
        ax.set_title(f"{figure} ({len(done)} of {len(rows)} cases)", fontsize=9)
    else:
        panels = ordered[:6] or [((), [])]
        fig, axs = plt.subplots(
            1, len(panels), figsize=(1.0 + 4.2 * len(panels), 4.2), squeeze=False, sharey=True
        )
        values = [float(r[figure]) for r in done]
        norm = plt.Normalize(min(values), max(values)) if values else None
        for ax, (label, members) in zip(axs[0], panels, strict=True):
            mesh = _sweep_map(ax, members, figure, x, y, norm)
            lost = [r for r in missed if key_of(r) == label]
            if lost:
                ax.plot([float(r[x]) for r in lost], [float(r[y]) for r in lost], "rx")
            ax.set_xlabel(_sweep_label(x))
            ax.set_title(describe(label) or f"{len(members)} cases", fontsize=9)
        axs[0][0].set_ylabel(_sweep_label(y))
        if mesh is not None:
            fig.colorbar(mesh, ax=list(axs[0]), label=_sweep_label(figure))
        fig.suptitle(f"{figure} ({len(done)} of {len(rows)} cases; x: not finished)", fontsize=9)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def _sweep_map(ax: Any, members: list[dict], figure: str, x: str, y: str, norm: Any) -> Any:
    """One panel of a sweep map: cells when the cases fill a grid, else coloured points."""
    if not members:
        return None
    xs = np.array([float(r[x]) for r in members])
    ys = np.array([float(r[y]) for r in members])
    values = np.array([float(r[figure]) for r in members])
    ux, uy = np.unique(xs), np.unique(ys)
    if len(ux) * len(uy) == len(members) and len(ux) > 1 and len(uy) > 1:
        grid = np.full((len(uy), len(ux)), np.nan)
        grid[np.searchsorted(uy, ys), np.searchsorted(ux, xs)] = values
        mesh = ax.pcolormesh(_edges(ux), _edges(uy), grid, cmap="viridis", norm=norm)
        _log_if_wide(ax, list(ux), "x")
        _log_if_wide(ax, list(uy), "y")
        return mesh
    return ax.scatter(xs, ys, c=values, cmap="viridis", norm=norm, s=40)


def _sweep_label(column: str) -> str:
    """The last two dotted names of a table column, with its unit."""
    key, _, unit = column.partition(" [")
    return ".".join(key.split(".")[-2:]) + (f" [{unit}" if unit else "")


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around sorted centres (geometric when they span more than a decade)."""
    if centres[0] > 0 and centres[-1] / centres[0] > 10:
        logs = np.log(centres)
        mids = 0.5 * (logs[1:] + logs[:-1])
        return np.exp(np.concatenate([[2 * logs[0] - mids[0]], mids, [2 * logs[-1] - mids[-1]]]))
    mids = 0.5 * (centres[1:] + centres[:-1])
    return np.concatenate([[2 * centres[0] - mids[0]], mids, [2 * centres[-1] - mids[-1]]])


def _log_if_wide(ax: Any, values: list[float], axis: str, ratio: float = 10) -> None:
    positive = [v for v in values if v > 0]
    if positive and len(positive) == len(values) and max(positive) / min(positive) > ratio:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
