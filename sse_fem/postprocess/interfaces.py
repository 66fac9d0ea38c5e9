"""Interface current distribution: per-facet current density and overpotential, and figures of
merit (mean, max, focusing factor max/mean, area fraction above k x mean)."""

from __future__ import annotations

from typing import Any

from mpi4py import MPI

import numpy as np
from dolfinx import mesh as dmesh


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


def interface_samples(module: Any, problem: Any, iface: Any) -> dict[str, np.ndarray]:
    """Owned facets of ``iface``: midpoints ``x``, node coordinates ``vertices``, areas,
    overpotential ``eta`` [V], current density ``current`` [A/m^2]."""
    msh = problem.bundle.mesh
    tdim = msh.topology.dim
    d = iface.domains.reshape(-1, 4)
    if len(d) == 0:
        empty = np.zeros(0)
        nodes = {1: 1, 2: 2, 3: 3 if msh.topology.cell_name() == "tetrahedron" else 4}[tdim]
        return {
            "x": np.zeros((0, 3)),
            "vertices": np.zeros((0, nodes, 3)),
            "area": empty,
            "eta": empty,
            "current": empty,
        }
    msh.topology.create_connectivity(tdim, tdim - 1)
    c2f = msh.topology.connectivity(tdim, tdim - 1)
    facets = np.array([c2f.links(c)[lf] for c, lf in d[:, :2]], dtype=np.int32)
    x = dmesh.compute_midpoints(msh, tdim - 1, facets)
    es = module.fields["electronic"]
    ei = module.fields["ionic"]
    cs = es.sub.cell_map.sub_topology_to_topology(d[:, 0], inverse=True)
    ce = ei.sub.cell_map.sub_topology_to_topology(d[:, 2], inverse=True)
    phi_e = ei.u.eval(x, ce).ravel()
    side = module.film if iface.film_resistance is not None else es.u
    phi_s = side.eval(x, cs).ravel()
    eta = phi_s - phi_e - float(iface.ocp.value)
    temperature = module.temperature_at(problem, x, d[:, 0])
    current = np.asarray(iface.law.numeric().current(eta, temperature, np.exp), dtype=float)
    return {
        "x": x,
        "vertices": facet_vertices(msh, facets),
        "area": facet_areas(msh, facets),
        "eta": eta,
        "current": current,
    }


def interface_statistics(module: Any, problem: Any, iface: Any, k: float) -> dict[str, float]:
    """Global figures of merit of the faradaic current on ``iface`` (collective)."""
    s = interface_samples(module, problem, iface)
    comm = problem.comm
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
