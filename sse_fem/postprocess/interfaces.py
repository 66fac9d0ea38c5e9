"""Interface current distribution: facet geometry, and figures of merit of per-facet current
densities and overpotentials (mean, max, focusing factor max/mean, area fraction above
k x mean). The physics samples its own interfaces."""

from __future__ import annotations

from mpi4py import MPI

import numpy as np
from dolfinx import mesh as dmesh

from sse_fem.mesh.bundle import MeshBundle


def facet_vertices(msh: dmesh.Mesh, facets: np.ndarray) -> np.ndarray:
    """Coordinates [m] of the geometry nodes of each facet, shape (facets, nodes, 3)."""
    fdim = msh.topology.dim - 1
    return msh.geometry.x[dmesh.entities_to_geometry(msh, fdim, facets)]


def facet_areas(msh: dmesh.Mesh, facets: np.ndarray) -> np.ndarray:
    """Measure of each facet [m^(d-1)]: 1 for points, lengths, triangle/quad areas."""
    fdim = msh.topology.dim - 1
    if fdim == 0:
        return np.ones(len(facets))
    x = facet_vertices(msh, facets)
    if fdim == 1:
        return np.linalg.norm(x[:, 1] - x[:, 0], axis=1)
    area = 0.5 * np.linalg.norm(np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0]), axis=1)
    if x.shape[1] == 4:  # quadrilateral (vertices in tensor order 0,1,2,3)
        area += 0.5 * np.linalg.norm(np.cross(x[:, 1] - x[:, 3], x[:, 2] - x[:, 3]), axis=1)
    return area


def facet_normals(msh: dmesh.Mesh, facets: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Unit normals (facets, 3) of straight facets, pointing out of the given adjacent
    ``cells`` (in 1D: along x, away from the cell)."""
    fdim = msh.topology.dim - 1
    x = facet_vertices(msh, facets)
    if fdim == 0:
        n = np.tile([1.0, 0.0, 0.0], (len(facets), 1))
    elif fdim == 1:
        t = x[:, 1] - x[:, 0]
        n = np.stack([t[:, 1], -t[:, 0], np.zeros(len(t))], axis=1)
    else:
        n = np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0])
    n /= np.linalg.norm(n, axis=1)[:, None]
    away = x.mean(axis=1) - dmesh.compute_midpoints(msh, msh.topology.dim, cells)
    return n * np.sign(np.einsum("ij,ij->i", n, away))[:, None]


def interface_outlines(msh: dmesh.Mesh, facets: list[np.ndarray]) -> np.ndarray:
    """Node coordinates (n, nodes, 3) [m] of the given local facets of every rank, gathered
    on rank 0 (empty elsewhere): lines to draw over field maps (collective)."""
    local = [facet_vertices(msh, f) for f in facets if len(f)]
    mine = np.concatenate(local) if local else np.zeros((0, msh.topology.dim, 3))
    gathered = msh.comm.gather(mine, root=0)
    return np.concatenate(gathered) if gathered is not None else np.zeros((0, 2, 3))


def region_outlines(bundle: MeshBundle) -> np.ndarray:
    """Facets of every interface between regions, for drawing (``interface_outlines``)."""
    return interface_outlines(bundle.mesh, [bundle.facets(name) for name in bundle.interfaces])


def interface_statistics(s: dict[str, np.ndarray], k: float, comm: MPI.Comm) -> dict[str, float]:
    """Global figures of merit of the current density on an interface from the owned facet
    samples ``s`` of every rank (``area`` [m^2], ``current`` [A/m^2], ``eta`` [V]); ``k``:
    threshold factor of the area fraction above k x mean (collective)."""
    area = comm.allreduce(float(s["area"].sum()), op=MPI.SUM)
    total = comm.allreduce(float((s["area"] * s["current"]).sum()), op=MPI.SUM)
    eta_mean = comm.allreduce(float((s["area"] * s["eta"]).sum()), op=MPI.SUM) / area
    mag = np.abs(s["current"])
    imax = comm.allreduce(float(mag.max(initial=0.0)), op=MPI.MAX)
    eta_max = comm.allreduce(float(np.abs(s["eta"]).max(initial=0.0)), op=MPI.MAX)
    mean = abs(total) / area
    above = comm.allreduce(float(s["area"][mag > k * mean].sum()), op=MPI.SUM) / area
    return {
        "area_m2": area,
        "current_A": total,
        "mean_current_density_A_m2": total / area,
        "max_current_density_A_m2": imax,
        "focusing_factor": imax / mean if mean > 0 else float("nan"),
        "area_fraction_above_k_mean": above,
        "mean_overpotential_V": eta_mean,
        "max_abs_overpotential_V": eta_max,
    }


def through_thickness(
    samples: dict[str, np.ndarray], axis: int, bins: int, extent: tuple[float, float]
) -> dict[str, np.ndarray]:
    """Interface current binned along ``axis`` into ``bins`` equal slabs of ``extent`` [m]:
    slab centres [m], interface area [m^2], current [A] and area-mean current density
    [A/m^2] per slab (from facet samples: midpoints ``x``, ``area``, ``current``)."""
    edges = np.linspace(extent[0], extent[1], bins + 1)
    where = np.clip(np.searchsorted(edges, samples["x"][:, axis], side="right") - 1, 0, bins - 1)
    area = np.bincount(where, weights=samples["area"], minlength=bins)
    current = np.bincount(where, weights=samples["area"] * samples["current"], minlength=bins)
    density = np.divide(current, area, out=np.zeros(bins), where=area > 0)
    return {
        "position": 0.5 * (edges[:-1] + edges[1:]),
        "area": area,
        "current": current,
        "density": density,
    }
