"""Case builders shared by the physics tests."""

from __future__ import annotations

import copy
from pathlib import Path

from mpi4py import MPI

import numpy as np
import yaml

from sse_fem.config import validate_case

SYMMETRIC = Path(__file__).resolve().parents[2] / "cases" / "symmetric_cell" / "case.yaml"
FARADAY, GAS = 96485.33212, 8.314462618


def symmetric_case(dimension: int, overrides: dict | None = None, size: str = "20 um"):
    """The shipped symmetric cell at ``dimension`` with top-level block overrides."""
    data = yaml.safe_load(SYMMETRIC.read_text())
    data["geometry"]["dimension"] = dimension
    data["geometry"]["mesh"]["size"] = size
    data["outputs"] = {"plots": False, "fields": False}
    for key, value in (overrides or {}).items():
        data[key] = copy.deepcopy(value)
    return validate_case(data)


def symmetric_voltage(
    i: float,
    length: float,
    sigma: float,
    i0: float,
    temperature: float,
    z: int = 1,
    contact: float = 0.0,
) -> float:
    """V = i L / sigma + 2 (2 RT / zF) asinh(i / 2 i0) + i R_c (physics.md 5.5)."""
    import math

    vt = GAS * temperature / (z * FARADAY)
    return i * length / sigma + 2 * 2 * vt * math.asinh(i / (2 * i0)) + i * contact


def capacitive_interfaces(kinetics: str, i0: float, c_dl: float) -> list[dict]:
    """Both interfaces of the symmetric cell with ``kinetics``, i0 [A/m^2] and C_dl [F/m^2]."""
    return [
        {
            "name": name,
            "kinetics": kinetics,
            "exchange_current_density": f"{i0} A/m^2",
            "double_layer_capacitance": f"{c_dl} F/m^2",
        }
        for name in ("anode_electrolyte", "electrolyte_cathode")
    ]


def march(problem, dt: float, steps: int, on_step=None) -> None:
    """The initial state (as ``sse_fem.driver.Run._initial_state``: no time derivative,
    evolving fields held), then ``steps`` fixed steps of ``dt`` (BDF1, then BDF2);
    ``on_step(problem)`` runs after each converged step, before it is accepted."""
    for c in problem.bdf:
        c.value = 0.0
    problem.initial.value = 1.0
    ok, _, _ = problem.solve()
    assert ok, "initial state"
    problem.initialise_history()
    problem.initial.value = 0.0
    for n in range(steps):
        problem.set_step(dt, 1 if n == 0 else 2)
        ok, _, _ = problem.solve()
        assert ok, f"step {n}"
        if on_step is not None:
            on_step(problem)
        problem.accept_step(dt)


#: the manufactured-solution cell: width and layer thicknesses [m] (anode, electrolyte, cathode)
MMS_WIDTH, MMS_LAYERS = 100e-6, (25e-6, 50e-6, 25e-6)


def mms_layered_case(size_um: float, overrides: dict[str, dict], blocks: dict):
    """The 2D Li | LLZO | Li cell of the manufactured-solution tests at mesh size
    ``size_um``: material overrides per case material (``llzo``, ``lithium``) and the
    ``physics`` and ``boundary_conditions`` blocks."""
    geometry = {
        "type": "layered_cell",
        "dimension": 2,
        "width": f"{MMS_WIDTH} m",
        "layers": [
            {"name": name, "thickness": f"{t} m"}
            for name, t in zip(("anode", "electrolyte", "cathode"), MMS_LAYERS, strict=True)
        ],
        "mesh": {"size": f"{size_um} um"},
    }
    materials = {
        name: {"base": base, **overrides[name]}
        for name, base in (("llzo", "LLZO_Ta"), ("lithium", "Li"))
    }
    return symmetric_case(
        2, {"geometry": geometry, "materials": materials, "interfaces": {}, **blocks}
    )


def lower_left(msh) -> np.ndarray:
    """The domain's lower-left corner (global minimum of the coordinates)."""
    local = msh.geometry.x.min(axis=0) if len(msh.geometry.x) else np.full(3, np.inf)
    corner = np.empty(3)
    msh.comm.Allreduce(np.ascontiguousarray(local), corner, op=MPI.MIN)
    return corner
