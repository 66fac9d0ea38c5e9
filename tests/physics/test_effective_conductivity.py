"""Effective conductivity of a voxel microstructure with insulating regions (`carriers: []`)
and boundary conditions on a chosen field (`carrier: ionic`): SE stripes parallel to the
current give exactly the parallel Wiener bound sigma_eff = phi_SE sigma_SE (physics.md 5.7);
a field left without any fixed potential is a clear case error, not a singular solve."""

from __future__ import annotations

from mpi4py import MPI

import numpy as np
import pytest

from sse_fem.config import validate_case
from sse_fem.driver import Run
from sse_fem.errors import CaseError
from sse_fem.materials import get_material

SIGMA = get_material("Li6PS5Cl").get("ionic_conductivity")
VOXEL = 0.5e-6


def _case(image_path, bcs) -> dict:
    return {
        "case": {"name": "stripes"},
        "geometry": {
            "type": "from_image",
            "dimension": 3,
            "file": str(image_path),
            "voxel_size": "0.5 um",
            "labels": {0: "electrolyte", 1: "active"},
        },
        "regions": [
            {"name": "electrolyte", "material": "Li6PS5Cl"},
            {"name": "active", "material": "NMC811", "carriers": []},
        ],
        "physics": {"conduction": {}},
        "boundary_conditions": {"conduction": bcs},
        "outputs": {"fields": False, "plots": False},
    }


@pytest.fixture
def stripes(shared_tmp):
    """12 x 8 x 10 voxels; SE in 5 of 12 columns along x, running through z (current)."""
    image = np.ones((12, 8, 10), dtype=np.uint8)
    image[[0, 1, 5, 6, 7], :, :] = 0
    path = shared_tmp / "stripes.npy"
    if MPI.COMM_WORLD.rank == 0:
        np.save(path, image)
    MPI.COMM_WORLD.barrier()
    return path


@pytest.mark.mpi
def test_parallel_stripes_give_the_wiener_bound(stripes, shared_tmp):
    bcs = [
        {"name": "top", "type": "potential", "value": "10 mV", "carrier": "ionic"},
        {"name": "bottom", "type": "ground", "carrier": "ionic"},
    ]
    s = Run(validate_case(_case(stripes, bcs)), outdir=str(shared_tmp / "run")).execute()
    assert s["status"] == "ok"
    length = 10 * VOXEL
    sigma_eff = length / s["results"]["conduction.area_specific_resistance_ohm_m2"]
    assert sigma_eff == pytest.approx(5 / 12 * SIGMA, rel=1e-8)
    assert "phi_electronic" not in s["solver"]["dofs"]


@pytest.mark.mpi
def test_undetermined_potential_is_a_case_error(stripes, shared_tmp):
    """Active particles conducting electrons, boundary conditions on the electronic field by
    default: the ionic field has nothing fixing it."""
    data = _case(
        stripes,
        [
            {"name": "top", "type": "potential", "value": "10 mV"},
            {"name": "bottom", "type": "ground"},
        ],
    )
    data["regions"][1].pop("carriers")
    with pytest.raises(CaseError, match=r"ionic potential .* is undetermined"):
        Run(validate_case(data), outdir=str(shared_tmp / "bad")).execute()


def test_carrier_must_touch_the_boundary(stripes, shared_tmp):
    bcs = [
        {"name": "top", "type": "potential", "value": "10 mV", "carrier": "electronic"},
        {"name": "bottom", "type": "ground", "carrier": "ionic"},
    ]
    with pytest.raises(CaseError, match=r"boundary_conditions\.conduction\[0\]\(top\)\.carrier"):
        Run(validate_case(_case(stripes, bcs)), outdir=str(shared_tmp / "bad2")).execute()
