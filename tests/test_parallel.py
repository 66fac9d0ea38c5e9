"""Parallel runs give the serial numbers: the same case on all ranks and, on every rank, on
COMM_SELF. These assertions only mean something on several ranks, so they fail on one
(marker ``mpi_only``: deselected from the serial run, selected by ``-m mpi`` under mpirun)."""

from __future__ import annotations

from mpi4py import MPI

import numpy as np
import pytest

from sse_fem.driver import Run
from sse_fem.mesh import build_mesh
from tests.physics.helpers import symmetric_case

pytestmark = [pytest.mark.mpi, pytest.mark.mpi_only]

POTENTIALS = ("conduction.voltage_V", "conduction.anode_electrolyte.mean_overpotential_V")
CURRENTS = (
    "conduction.anode_electrolyte.current_A",
    "conduction.electrolyte_cathode.max_current_density_A_m2",
)


def _several_ranks() -> MPI.Comm:
    comm = MPI.COMM_WORLD
    assert comm.size > 1, "an MPI-only test: run it under mpirun -n 2 (or more)"
    return comm


@pytest.mark.parametrize(("dimension", "size"), [(2, "5 um"), (3, "20 um")])
def test_parallel_run_gives_the_serial_numbers(dimension, size, shared_tmp):
    comm = _several_ranks()
    case = symmetric_case(dimension, size=size)
    case.geometry.width = 400e-6  # wide and flat: partitions cut across the interfaces
    # the interface really is split over ranks: the '+'-side orientation is exercised
    bundle = build_mesh(case, comm)
    facets = len(bundle.interface_domains("anode_electrolyte", bundle.submesh(("anode",)))) // 4
    assert sum(f > 0 for f in comm.allgather(facets)) > 1
    parallel = Run(case, outdir=str(shared_tmp / "parallel"), comm=comm).execute()
    serial = Run(case, outdir=str(shared_tmp / f"serial{comm.rank}"), comm=MPI.COMM_SELF).execute()
    assert parallel["status"] == serial["status"] == "ok"
    assert parallel["ranks"] == comm.size and serial["ranks"] == 1
    # both converged to the Newton tolerance, in volts
    tol = 10 * case.solver.newton_tolerance
    for key in POTENTIALS:
        assert parallel["results"][key] == pytest.approx(serial["results"][key], abs=tol), key
    for key in CURRENTS:
        assert parallel["results"][key] == pytest.approx(serial["results"][key], rel=1e-8), key
    balance = parallel["conservation"]["conduction"]["balance_error"]
    assert np.isfinite(balance) and balance < 1e-6
