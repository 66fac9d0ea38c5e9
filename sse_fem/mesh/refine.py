"""Uniform refinement of a ``MeshBundle`` in parallel, keeping its tags and shared-facet ghosts.

``dolfinx.mesh.refine`` keeps each refined cell on its parent's rank and rebuilds the ghost
layer (cells sharing a facet with an owned cell, as the parent's shared-facet ghosting), but
``dolfinx.mesh.transfer_meshtag`` refuses ghosted meshes. So the tags are moved here: owned
children take their parent's cell tag, and each facet of an owned child that lies on a parent
facet takes that facet's tag; the index maps then carry the values to the owners and on to
every ghost, so that, as with gmsh, the tags cover owned and ghost entities.

New vertices are edge midpoints, so curved boundaries keep the parent mesh's chords, unless a
``Snap`` (from the geometry builder, which knows the exact surfaces) moves the vertices of a
facet group back onto them after each refinement.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from mpi4py import MPI

import numpy as np
from dolfinx import common, la, mesh

from sse_fem.mesh.bundle import MeshBundle


@dataclass
class Snap:
    """Exact surfaces of a facet group, to put refined vertices back on.

    ``move(x)``: vertex coordinates of facets of ``group``, shape (facets, vertices, 3) [m] ->
    their positions on the exact surface, NaN where the facet says nothing about a vertex (a
    flat facet; the same vertex on a curved facet moves). Every facet that has a vertex must
    give it the same position.
    """

    group: str
    move: Callable[[np.ndarray], np.ndarray]


def refine_bundle(bundle: MeshBundle, times: int, snap: Snap | None = None) -> MeshBundle:
    """``bundle`` refined uniformly ``times`` times (simplices; collective).

    Regions, interfaces and boundaries keep their names and tags. With ``snap``, vertices of
    its group are moved onto the exact surfaces after each refinement. ``info[
    'mesh_refinement']`` records the refinements, the global cell counts before and after,
    the seconds spent and the largest snap displacement [m].
    """
    t0 = time.perf_counter()
    tdim = bundle.dim
    coarse = bundle.mesh.topology.index_map(tdim).size_global
    msh, cell_tags, facet_tags = bundle.mesh, bundle.cell_tags, bundle.facet_tags
    moved = 0.0
    for _ in range(times):
        msh, cell_tags, facet_tags = _refine_once(msh, cell_tags, facet_tags)
        if snap is not None and facet_tags is not None:
            tags = (
                (bundle.interfaces[snap.group],)
                if snap.group in bundle.interfaces
                else bundle.boundary_tags(snap.group)
            )
            found = np.concatenate([facet_tags.find(t) for t in tags])
            moved = max(moved, _snap(msh, found, snap.move))
    info = dict(bundle.info)
    info["mesh_refinement"] = {
        "refinements": times,
        "coarse_cells": coarse,
        "cells": msh.topology.index_map(tdim).size_global,
        "refine_s": round(time.perf_counter() - t0, 3),
    }
    if snap is not None:
        info["mesh_refinement"]["snapped_group"] = snap.group
        info["mesh_refinement"]["snap_max_displacement_m"] = moved
    return MeshBundle(
        msh,
        cell_tags,
        facet_tags,
        dict(bundle.regions),
        dict(bundle.interfaces),
        dict(bundle.boundaries),
        info,
        dict(bundle.aliases),
    )


def _refine_once(
    msh: mesh.Mesh, cell_tags: mesh.MeshTags, facet_tags: mesh.MeshTags | None
) -> tuple[mesh.Mesh, mesh.MeshTags, mesh.MeshTags | None]:
    """One uniform refinement (every cell split into 2^tdim) with cell and facet tags moved."""
    tdim = msh.topology.dim
    msh.topology.create_entities(1)  # refine splits edges
    # one rank: no ghost layer to rebuild (the default partitioner takes ~1.6x as long)
    serial = {"partitioner": None} if msh.comm.size == 1 else {}
    fine, parent_cell, parent_facet = mesh.refine(
        msh, option=mesh.RefinementOption.parent_cell_and_facet, **serial
    )
    # the maps list the owned children in input order; the mesh reorders its cells
    imap = fine.topology.index_map(tdim)
    input_index = fine.topology.original_cell_index[: imap.size_local] - imap.local_range[0]
    child = np.empty(imap.size_local, dtype=np.int32)
    child[input_index] = np.arange(imap.size_local, dtype=np.int32)
    cell_value = _dense(cell_tags, msh.topology.index_map(tdim))[parent_cell]
    new_cells = _complete(fine, tdim, child, cell_value)
    all_cells = np.arange(new_cells.size, dtype=np.int32)
    fine_cell_tags = mesh.meshtags(fine, tdim, all_cells, new_cells)
    if facet_tags is None:
        return fine, fine_cell_tags, None
    fdim = tdim - 1
    for m in (msh, fine):
        m.topology.create_connectivity(tdim, fdim)
    fine.topology.create_connectivity(fdim, tdim)  # as after gmsh: facet -> cell
    nf = tdim + 1  # facets of a simplex
    c2f = msh.topology.connectivity(tdim, fdim).array.reshape(-1, nf)
    fine_c2f = fine.topology.connectivity(tdim, fdim).array.reshape(-1, nf)
    pf = parent_facet.reshape(-1, nf)
    kid, local = np.nonzero(pf >= 0)  # child facets that lie on a parent facet
    value = _dense(facet_tags, msh.topology.index_map(fdim))[c2f[parent_cell[kid], pf[kid, local]]]
    on = value > 0
    facet_value = _complete(fine, fdim, fine_c2f[child[kid[on]], local[on]], value[on])
    facets = np.flatnonzero(facet_value > 0).astype(np.int32)
    return fine, fine_cell_tags, mesh.meshtags(fine, fdim, facets, facet_value[facets])


def _dense(tags: mesh.MeshTags, imap: common.IndexMap) -> np.ndarray:
    """Tag value of every local entity (0: untagged; tags are positive)."""
    out = np.zeros(imap.size_local + imap.num_ghosts, dtype=np.int32)
    out[tags.indices] = tags.values
    return out


def _complete(msh: mesh.Mesh, dim: int, entities: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Values known on some local entities -> values of all local (owned + ghost) entities.

    Every entity is known on at least one rank; the owner collects (sum, count) from all
    ranks and sends the value back to every ghost. 0 where no rank knew a value.
    """
    msh.topology.create_entities(dim)
    vec = la.vector(msh.topology.index_map(dim), bs=2, dtype=np.int64)
    arr = vec.array.reshape(-1, 2)
    arr[entities, 0] = values
    arr[entities, 1] = 1
    vec.scatter_reverse(la.InsertMode.add)
    total, count = arr[:, 0], arr[:, 1]
    arr[:, 0] = np.where(count > 0, total // np.maximum(count, 1), 0)
    vec.scatter_forward()
    return arr[:, 0].astype(np.int32)


def _snap(msh: mesh.Mesh, facets: np.ndarray, move: Callable[[np.ndarray], np.ndarray]) -> float:
    """Move the vertices of ``facets`` to ``move``'s positions on every rank that holds them
    (owners decide, as in ``_complete``); returns the largest displacement [m] (collective)."""
    fdim = msh.topology.dim - 1
    x = msh.geometry.x
    nodes = mesh.entities_to_geometry(msh, fdim, facets)
    target = move(x[nodes]).reshape(-1, 3)
    known = ~np.isnan(target[:, 0])
    vec = la.vector(msh.geometry.index_map(), bs=4, dtype=np.float64)
    arr = vec.array.reshape(-1, 4)
    arr[nodes.ravel()[known], :3] = target[known]
    arr[nodes.ravel()[known], 3] = 1.0
    vec.scatter_reverse(la.InsertMode.add)
    owned = msh.geometry.index_map().size_local
    count = arr[:owned, 3:]
    arr[:owned, :3] = np.where(count > 0, arr[:owned, :3] / np.maximum(count, 1.0), 0.0)
    vec.scatter_forward()
    on = arr[:, 3] > 0
    shift = float(np.max(np.linalg.norm(arr[on, :3] - x[on], axis=1), initial=0.0))
    x[on] = arr[on, :3]
    return msh.comm.allreduce(shift, op=MPI.MAX)
