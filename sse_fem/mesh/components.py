"""Connected components of a mesh (or submesh) through its P1 dofs: the particles of a
particle phase, the clusters of an electron-conducting network. Parallel: each rank finds its
own components (scipy's graph search), then the smallest global dof index of each spreads
across ranks through the shared dofs (every copy of a dof to its owner, who keeps the
smallest, then back to every copy) until no label changes anywhere."""

from __future__ import annotations

from mpi4py import MPI

import numpy as np
from dolfinx import fem
from scipy.sparse import coo_matrix, csgraph


def connected_components(V: fem.FunctionSpace, cells: np.ndarray | None = None) -> np.ndarray:
    """Component label of every local dof (owned and ghost) of the scalar P1 space ``V``: the
    smallest global dof index in its component, the same on every rank (collective).
    ``cells``: a mask over the local cells; only those join their dofs (a dof in none of them
    is a component of its own)."""
    imap = V.dofmap.index_map
    n_owned = imap.size_local
    n = n_owned + imap.num_ghosts
    cells = V.dofmap.list if cells is None else V.dofmap.list[cells]
    # this rank's components (each cell joins its dofs to its first one)
    star = coo_matrix(
        (np.ones(cells.size), (np.repeat(cells[:, 0], cells.shape[1]), cells.ravel())),
        shape=(n, n),
    )
    n_local, local = csgraph.connected_components(star, directed=False)
    label = fem.Function(V)
    a = label.x.array
    a[:] = imap.local_to_global(np.arange(n, dtype=np.int32)).astype(np.float64)  # < 2^53
    comm = V.mesh.comm
    starts = np.array(comm.allgather(imap.local_range[0]), dtype=np.int64)
    order = np.argsort(imap.owners, kind="stable")
    owner = imap.owners[order]
    where = (imap.ghosts[order] - starts[owner]).astype(np.float64)  # index at the owner
    send = np.bincount(owner, minlength=comm.size).astype(np.int64)
    recv = np.empty_like(send)
    comm.Alltoall(send, recv)
    incoming = np.empty((int(recv.sum()), 2))
    while True:
        before = a.copy()
        smallest = np.full(n_local, np.inf)
        np.minimum.at(smallest, local, a)
        a[:] = smallest[local]
        # every ghost's label to its owner, who keeps the smallest of all copies
        outgoing = np.column_stack([where, a[n_owned:][order]])
        comm.Alltoallv([outgoing, (2 * send).tolist()], [incoming, (2 * recv).tolist()])
        np.minimum.at(a, incoming[:, 0].astype(np.int64), incoming[:, 1])
        label.x.scatter_forward()
        changed = not np.array_equal(a, before)
        if not comm.allreduce(changed, op=MPI.LOR):
            return a.astype(np.int64)


def component_ids(labels: np.ndarray, n_owned: int, comm: MPI.Comm) -> np.ndarray:
    """The sorted global labels of every component (collective)."""
    local = np.unique(labels[:n_owned])
    return np.unique(np.concatenate(comm.allgather(local)))


def cell_components(V: fem.FunctionSpace, labels: np.ndarray) -> np.ndarray:
    """The component label of every local cell (owned and ghost) of ``V``'s mesh."""
    return labels[V.dofmap.list[:, 0]]


def cell_volumes(V: fem.FunctionSpace, spherical: bool = False, centre: float = 0.0) -> np.ndarray:
    """Volume (area, length) of every owned cell of ``V``'s mesh [m^dim]; ``spherical``: of
    the shell a 1D cell stands for (4 pi r^2 dr, r = x - ``centre``) [m^3]. Collective."""
    import ufl

    mesh = V.mesh
    Q = fem.functionspace(mesh, ("DG", 0))
    weight = 4 * np.pi * (ufl.SpatialCoordinate(mesh)[0] - centre) ** 2 if spherical else 1
    volumes = fem.assemble_vector(fem.form(ufl.TestFunction(Q) * weight * ufl.dx(domain=mesh)))
    return volumes.array[: Q.dofmap.index_map.size_local].copy()


def sum_by_component(
    keys: np.ndarray, values: np.ndarray, ids: np.ndarray, comm: MPI.Comm
) -> np.ndarray:
    """Global sums of ``values`` (rows: owned items, any trailing shape) grouped by the
    component label ``keys`` of each item, one row per entry of ``ids`` (collective)."""
    index = np.searchsorted(ids, keys)
    out = np.zeros((len(ids), *values.shape[1:]))
    np.add.at(out, index, values)
    comm.Allreduce(MPI.IN_PLACE, out, op=MPI.SUM)
    return out
