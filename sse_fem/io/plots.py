"""PNG plots: time series, interface current distribution, 2D field maps (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


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


def plot_interfaces(samples: dict[str, dict], dim: int, outdir: Path) -> None:
    """interface_<name>.png: current density along each interface (2D) or over it (3D)."""
    if dim == 1:
        return
    for name, s in samples.items():
        if len(s["current"]) == 0:
            continue
        j = s["current"] * 0.1
        fig, ax = plt.subplots(figsize=(6, 4))
        if dim == 2:
            order = np.argsort(s["x"][:, 0])
            ax.plot(s["x"][order, 0] * 1e6, j[order], ".-", ms=3)
            ax.set_xlabel("x [µm]")
            ax.set_ylabel("interface current density [mA/cm²]")
            ax.grid(alpha=0.3)
        else:
            sc = ax.scatter(s["x"][:, 0] * 1e6, s["x"][:, 1] * 1e6, c=j, s=8, cmap="viridis")
            fig.colorbar(sc, ax=ax, label="interface current density [mA/cm²]")
            ax.set_xlabel("x [µm]")
            ax.set_ylabel("y [µm]")
            ax.set_aspect("equal")
        ax.set_title(
            f"{name}: max/mean = {np.abs(j).max() / abs(np.average(j, weights=s['area'])):.3g}"
            if np.average(j, weights=s["area"]) != 0
            else name
        )
        fig.tight_layout()
        fig.savefig(outdir / f"interface_{name}.png", dpi=120)
        plt.close(fig)


def plot_field_2d(func: Any, cells: np.ndarray, path: Path, label: str) -> None:
    """Map of a scalar DG1/P1 field on the given local parent cells of a 2D triangle mesh
    (collective: gathers to rank 0, which draws)."""
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
    tc = ax.tripcolor(tri, vals.ravel(), shading="gouraud", cmap="viridis")
    fig.colorbar(tc, ax=ax, label=label)
    ax.set_aspect("equal")
    ax.set_xlabel("x [µm]")
    ax.set_ylabel("y [µm]")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
