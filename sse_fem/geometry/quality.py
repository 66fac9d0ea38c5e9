"""Mesh quality from the dolfinx mesh (any builder, any cell type), in parallel.

Quality per cell, 1 for the ideal shape: triangles ``4 sqrt(3) A / sum(l^2)``, tetrahedra the
mean ratio ``12 (3 V)^(2/3) / sum(l^2)``, quadrilaterals/hexahedra shortest / longest edge.
"""

from __future__ import annotations

from mpi4py import MPI

import numpy as np
from dolfinx import mesh

#: local vertex pairs of the edges of tensor-product cells (dolfinx vertex order)
_EDGES = {
    "quadrilateral": [(0, 1), (0, 2), (1, 3), (2, 3)],
    "hexahedron": [
        (0, 1),
        (0, 2),
        (0, 4),
        (1, 3),
        (1, 5),
        (2, 3),
        (2, 6),
        (3, 7),
        (4, 5),
        (4, 6),
        (5, 7),
        (6, 7),
    ],
}


def cell_edges(cell_name: str) -> list[tuple[int, int]]:
    """Local vertex pairs of the edges of a cell type."""
    nv = {"interval": 2, "triangle": 3, "tetrahedron": 4}.get(cell_name)
    return _EDGES.get(cell_name) or [(a, b) for a in range(nv) for b in range(a + 1, nv)]


def cell_vertex_coords(msh: mesh.Mesh) -> np.ndarray:
    """Owned cells' vertex coordinates (n_cells, n_vertices, 3) in metres."""
    tdim = msh.topology.dim
    n = msh.topology.index_map(tdim).size_local
    cell_type = msh.topology.cell_name()
    nv = {"interval": 2, "triangle": 3, "tetrahedron": 4, "quadrilateral": 4, "hexahedron": 8}[
        cell_type
    ]
    dofs = msh.geometry.dofmaps[0][:n, :nv]
    return msh.geometry.x[dofs]


def tetrahedron_quality(x: np.ndarray) -> np.ndarray:
    """Mean ratio ``12 (3 V)^(2/3) / sum(l^2)`` of tetrahedra with vertices ``x`` (n, 4, 3)."""
    six_vol = np.abs(
        np.einsum("ij,ij->i", x[:, 1] - x[:, 0], np.cross(x[:, 2] - x[:, 0], x[:, 3] - x[:, 0]))
    )
    l2 = sum(((x[:, a] - x[:, b]) ** 2).sum(1) for a, b in cell_edges("tetrahedron"))
    return 12 * (six_vol / 2) ** (2 / 3) / l2


def quality_report(msh: mesh.Mesh) -> dict:
    """Global element count, min/mean quality, smallest and largest edge (m)."""
    x = cell_vertex_coords(msh)
    name = msh.topology.cell_name()
    pairs = cell_edges(name)
    edges = np.stack([np.linalg.norm(x[:, a] - x[:, b], axis=1) for a, b in pairs], axis=1)
    if name == "triangle":
        area = 0.5 * np.linalg.norm(np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0]), axis=1)
        q = 4 * np.sqrt(3) * area / (edges**2).sum(1)
    elif name == "tetrahedron":
        q = tetrahedron_quality(x)
    else:
        q = edges.min(1) / edges.max(1)
    comm = msh.comm
    count = comm.allreduce(q.size, op=MPI.SUM)
    return {
        "cell_type": name,
        "cells": int(count),
        "vertices": int(msh.topology.index_map(0).size_global),
        "quality_min": float(comm.allreduce(q.min(initial=np.inf), op=MPI.MIN)),
        "quality_mean": float(comm.allreduce(q.sum(), op=MPI.SUM) / max(count, 1)),
        "quality_below_0.1": int(comm.allreduce(int((q < 0.1).sum()), op=MPI.SUM)),
        "edge_min_m": float(comm.allreduce(edges.min(initial=np.inf), op=MPI.MIN)),
        "edge_max_m": float(comm.allreduce(edges.max(initial=0.0), op=MPI.MAX)),
    }
