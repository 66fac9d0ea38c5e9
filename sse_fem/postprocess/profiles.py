"""Profiles of fields along a line through the domain (collective)."""

from __future__ import annotations

from mpi4py import MPI

import numpy as np
from dolfinx import fem, geometry

from sse_fem.mesh import MeshBundle

#: sample points of a profile through a 2D or 3D domain
PROFILE_POINTS = 801


def profile_positions(bundle: MeshBundle, axis: int) -> np.ndarray:
    """Points [m] (n x 3) along ``axis`` through the centre of the domain: every vertex in 1D
    (graded meshes keep their resolution), ``PROFILE_POINTS`` evenly spaced otherwise."""
    bounds = bundle.bounds()
    if bundle.dim == 1:
        local = bundle.mesh.geometry.x[:, 0]
        gathered = np.unique(np.concatenate(bundle.comm.allgather(local)))
        points = np.zeros((len(gathered), 3))
        points[:, 0] = gathered
        return points
    centre = 0.5 * (bounds[0] + bounds[1])
    points = np.tile(centre, (PROFILE_POINTS, 1))
    points[:, axis] = np.linspace(bounds[0, axis], bounds[1, axis], PROFILE_POINTS)
    return points


def evaluate(function: fem.Function, points: np.ndarray, comm: MPI.Comm) -> np.ndarray:
    """Values of a scalar ``function`` at ``points`` (the same on every rank); NaN where the
    function's mesh does not reach."""
    msh = function.function_space.mesh
    tree = geometry.bb_tree(msh, msh.topology.dim)
    candidates = geometry.compute_collisions_points(tree, points)
    colliding = geometry.compute_colliding_cells(msh, candidates, points)
    values = np.full(len(points), -np.inf)
    found = [k for k in range(len(points)) if len(colliding.links(k))]
    if found:
        cells = np.array([colliding.links(k)[0] for k in found], dtype=np.int32)
        values[found] = function.eval(points[found], cells).reshape(-1)
    comm.Allreduce(MPI.IN_PLACE, values, op=MPI.MAX)
    values[np.isneginf(values)] = np.nan
    return values


def region_stretches(
    points: np.ndarray, tags: fem.Function, comm: MPI.Comm, axis: int
) -> list[tuple[int, np.ndarray]]:
    """Split a line of ``points`` (sorted along ``axis``) into stretches of one region each:
    (region tag, the stretch's points), the region read at the midpoint of every gap; a
    point where two regions meet belongs to both stretches, nudged a hair into each (so that
    fields discontinuous there are read on the right side)."""
    mids = 0.5 * (points[1:] + points[:-1])
    gap_tags = evaluate(tags, mids, comm)
    out = []
    start = 0
    for k in range(1, len(gap_tags) + 1):
        if k < len(gap_tags) and gap_tags[k] == gap_tags[start]:
            continue
        stretch = points[start : k + 1].copy()
        nudge = 1e-9 * (stretch[-1, axis] - stretch[0, axis])
        stretch[0, axis] += nudge
        stretch[-1, axis] -= nudge
        if np.isfinite(gap_tags[start]):
            out.append((int(gap_tags[start]), stretch))
        start = k
    return out
