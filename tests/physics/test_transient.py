"""Double-layer charging under a current step: BDF1/BDF2 converge at rates 1 and 2 to
eta(t) = i R_ct (1 - exp(-t / (R_ct C_dl))) (linear kinetics, symmetric cell)."""

from __future__ import annotations

import math

from mpi4py import MPI

import numpy as np
import pytest

from sse_fem.driver import Run
from sse_fem.errors import CaseError
from sse_fem.materials import get_material
from tests.physics.helpers import FARADAY, GAS, capacitive_interfaces, symmetric_case

I = 10.0  # A/m^2
I0 = 10.0
C_DL = 0.1  # F/m^2 (exaggerated so that tau is seconds)
R_CT = GAS * 298.15 / (FARADAY * I0)
TAU = R_CT * C_DL


def _final_voltage(scheme: str, steps: int, tmp) -> float:
    ifaces = capacitive_interfaces("linear", I0, C_DL)
    case = symmetric_case(
        1,
        {
            "interfaces": {"conduction": ifaces},
            "time": {
                "mode": "transient",
                "t_end": f"{TAU} s",
                "dt": f"{TAU / steps} s",
                "scheme": scheme,
                "adaptive": False,
            },
        },
    )
    summary = Run(case, outdir=str(tmp / f"{scheme}{steps}")).execute()
    assert summary["status"] == "ok"
    assert summary["results"]["time_s"] == pytest.approx(TAU)
    return summary["results"]["conduction.voltage_V"]


@pytest.mark.mpi
@pytest.mark.parametrize(("scheme", "order"), [("bdf1", 1), ("bdf2", 2)])
def test_double_layer_charging_rate(scheme, order, shared_tmp):
    sigma = get_material("LLZO_Ta").get("ionic_conductivity")
    exact = I * 100e-6 / sigma + I * 1e-9 + 2 * I * R_CT * (1 - math.exp(-1.0))
    steps = np.array([8, 16, 32, 64])
    err = np.array([abs(_final_voltage(scheme, n, shared_tmp) - exact) for n in steps])
    rate = -np.polyfit(np.log(steps), np.log(err), 1)[0]
    assert rate == pytest.approx(order, abs=0.15), err


@pytest.mark.mpi
def test_restart_from_checkpoint_reproduces_the_run(shared_tmp):
    ifaces = capacitive_interfaces("butler_volmer", I0, C_DL)
    case = symmetric_case(
        1,
        {
            "interfaces": {"conduction": ifaces},
            "time": {
                "mode": "transient",
                "t_end": f"{TAU} s",
                "dt": f"{TAU / 6} s",
                "adaptive": False,
                "checkpoint_every": 4,
            },
        },
    )
    full = Run(case, outdir=str(shared_tmp)).execute()
    with pytest.raises(CaseError, match="finished"):
        Run(case, restart=str(shared_tmp)).execute()
    # as after kill -9 past the last checkpoint: no summary, rows beyond the checkpoint
    if MPI.COMM_WORLD.rank == 0:
        shared_tmp.joinpath("summary.json").unlink()
    MPI.COMM_WORLD.barrier()
    again = Run(case, restart=str(shared_tmp)).execute()
    assert again["status"] == "ok"
    assert again["statistics"]["steps"] == 7  # rest state + 6 steps, 2 of them recomputed
    assert again["results"]["conduction.voltage_V"] == pytest.approx(
        full["results"]["conduction.voltage_V"], rel=1e-10
    )
    lines = (shared_tmp / "timeseries.csv").read_text().strip().splitlines()
    assert len(lines) == 1 + 7
