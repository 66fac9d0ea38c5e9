"""Connected components through P1 dofs, serial and parallel (the same labels)."""

from __future__ import annotations

from pathlib import Path

from mpi4py import MPI

import numpy as np
import pytest
from dolfinx import fem

from sse_fem.mesh import read_mesh_file
from sse_fem.mesh.components import component_ids, connected_components

MSH = Path(__file__).resolve().parents[2] / "meshes" / "two_particles.msh"


@pytest.mark.mpi
def test_two_particles_are_two_components() -> None:
    comm = MPI.COMM_WORLD
    bundle = read_mesh_file(str(MSH), 2, 1e-6, comm)
    for regions, expected in (
        (("connected", "isolated"), 2),
        (("electrolyte",), 1),
        (("connected", "isolated", "electrolyte"), 1),
    ):
        sub = bundle.submesh(regions)
        V = fem.functionspace(sub.mesh, ("Lagrange", 1))
        labels = connected_components(V)
        n = V.dofmap.index_map.size_local
        assert len(component_ids(labels, n, comm)) == expected, regions
    # the particles: each label marks exactly one of them (the half disk touches y = 0)
    sub = bundle.submesh(("connected", "isolated"))
    V = fem.functionspace(sub.mesh, ("Lagrange", 1))
    labels = connected_components(V)
    x = V.tabulate_dof_coordinates()
    on_collector = np.unique(labels[x[:, 1] < 1e-9])
    assert len(np.unique(np.concatenate(comm.allgather(on_collector)))) == 1
