"""Solid diffusion coupled to conduction in parallel: the two-particle discharge (one
particle on the collector, one isolated) gives the serial numbers on 2 and 3 ranks, with the
particle interfaces on several ranks."""

from __future__ import annotations

from mpi4py import MPI

import pytest

from sse_fem.config import validate_case
from sse_fem.driver import Run
from sse_fem.mesh import build_mesh
from tests.physics.test_solid_diffusion import X0, two_particle_case

pytestmark = [pytest.mark.mpi, pytest.mark.mpi_only]

KEYS = (
    "conduction.voltage_V",
    "solid_diffusion.connected.mean_stoichiometry",
    "solid_diffusion.max_stoichiometry",
    "solid_diffusion.inserted_charge_C",
)


def test_two_particle_discharge_in_parallel(shared_tmp):
    comm = MPI.COMM_WORLD
    assert comm.size > 1, "an MPI-only test: run it under mpirun -n 2 (or more)"
    case = validate_case(two_particle_case(shared_tmp))
    bundle = build_mesh(case, comm)
    # the particle interfaces lie on several ranks (each orients '+' on its own)
    mine = sum(len(bundle.facets(n)) for n in ("connected_electrolyte", "isolated_electrolyte"))
    assert sum(n > 0 for n in comm.allgather(mine)) > 1
    parallel = Run(case, outdir=str(shared_tmp / "parallel"), comm=comm).execute()
    serial = Run(case, outdir=str(shared_tmp / f"serial{comm.rank}"), comm=MPI.COMM_SELF).execute()
    assert parallel["status"] == serial["status"] == "ok"
    for key in KEYS:
        assert parallel["results"][key] == pytest.approx(serial["results"][key], rel=1e-8), key
    isolated = parallel["results"]["solid_diffusion.isolated.mean_stoichiometry"]
    assert abs(isolated - X0) < 1e-10
    assert parallel["outputs"]["solid_diffusion"]["particles"] == 2
    assert parallel["outputs"]["solid_diffusion"]["unused_particles"] == 1
    clusters = parallel["outputs"]["conduction"]["clusters"]
    for carrier, report in serial["outputs"]["conduction"]["clusters"].items():
        for key in ("clusters", "without_path", "floating_held"):
            assert clusters[carrier][key] == report[key], (carrier, key)
        fraction = clusters[carrier]["volume_fraction_without_path"]
        assert fraction == pytest.approx(report["volume_fraction_without_path"], abs=1e-12)
    for module in ("conduction", "solid_diffusion"):
        assert parallel["conservation"][module]["balance_error"] < 1e-8
