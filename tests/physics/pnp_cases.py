"""Nernst-Planck/Poisson cases shared by the PNP tests (1D layered cells, inline materials)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest

from sse_fem.config import validate_case

if TYPE_CHECKING:
    from sse_fem.problem import Problem

FARADAY, GAS, TEMPERATURE = 96485.33212, 8.314462618, 298.15
EPS0 = 8.8541878128e-12
V_T = GAS * TEMPERATURE / FARADAY


#: problems of the running test, closed after it (their solvers hold MPI communicators)
OPEN: list[Problem] = []


@pytest.fixture(autouse=True)
def close_problems():
    """Closes the problems a test left in ``OPEN`` (autouse where imported)."""
    yield
    while OPEN:
        OPEN.pop().close()


def debye_length(eps_r: float, strength: float) -> float:
    """lambda_D [m] for the ionic strength sum z_i^2 c_i [mol/m^3]."""
    return math.sqrt(eps_r * EPS0 * GAS * TEMPERATURE / (FARADAY**2 * strength))


def species(name: str, z: int, c0: float, diffusivity: float = 1e-12, **extra) -> dict:
    return {
        "name": name,
        "charge_number": z,
        "diffusivity": f"{diffusivity} m^2/s",
        "initial_concentration": f"{c0} mol/m^3",
        **extra,
    }


def framework(c0: float, region: str = "electrolyte") -> list[dict]:
    """The fixed anion framework (charge -1, ``c0`` [mol/m^3]) of a single-ion conductor."""
    return [{"regions": [region], "concentration": f"{c0} mol/m^3", "charge_number": -1}]


def pnp_case_1d(
    thickness: float,
    ions: list[dict],
    boundaries: list[dict],
    eps_r: float = 10.0,
    mesh: dict | None = None,
    refine_at: tuple[str, ...] = ("bottom",),
    fixed_charge: list[dict] | None = None,
    time: dict | None = None,
    dimension: int = 1,
    options: dict | None = None,
):
    """One electrolyte layer of ``thickness`` [m] (a square in 2D) with Nernst-Planck/Poisson
    (``options``: more keys of its physics block)."""
    geometry = {
        "type": "layered_cell",
        "dimension": dimension,
        "layers": [{"name": "electrolyte", "thickness": f"{thickness} m"}],
        "mesh": mesh or {},
    }
    if refine_at and "interface_size" in geometry["mesh"]:
        geometry["refine_at"] = list(refine_at)
    if dimension > 1:
        geometry["width"] = f"{thickness} m"
    data = {
        "case": {"name": "pnp"},
        "geometry": geometry,
        "materials": {"el": {"category": "solid_electrolyte", "relative_permittivity": eps_r}},
        "regions": [{"name": "electrolyte", "material": "el"}],
        "physics": {
            "nernst_planck": {
                "species": ions,
                "fixed_charge": fixed_charge or [],
                **(options or {}),
            },
        },
        "boundary_conditions": {"nernst_planck": boundaries},
        "outputs": {"plots": False, "fields": False},
    }
    if time is not None:
        data["time"] = time
    return validate_case(data)


def graded(length_scale: float, wall: float, bulk: float, growth: float) -> dict:
    """Mesh sizes: ``wall`` x lambda at the refined walls growing to ``bulk`` x lambda over
    ``growth`` x lambda."""
    return {
        "size": f"{bulk * length_scale} m",
        "interface_size": f"{wall * length_scale} m",
        "size_growth_distance": f"{growth * length_scale} m",
    }


def two_phase_case_1d(
    lengths: tuple[float, float],
    eps_r: tuple[float, float],
    c0: tuple[float, float],
    mu0: tuple[float, float],
    mesh: dict,
    c_max: tuple[float | None, float | None] = (None, None),
):
    """Li+ on a fixed background (-c0 per phase) in two layers ``cathode`` | ``electrolyte``
    in equilibrium across their interface (mu0 [J/mol] per phase); a reservoir at the
    cathode's outer face (``bottom``, potential 0), ``top`` blocking and uncharged."""
    geometry = {
        "type": "layered_cell",
        "dimension": 1,
        "layers": [
            {"name": "cathode", "thickness": f"{lengths[0]} m"},
            {"name": "electrolyte", "thickness": f"{lengths[1]} m"},
        ],
        "refine_at": ["cathode_electrolyte"],
        "mesh": mesh,
    }
    names = ("cathode", "electrolyte")
    ion = {
        "name": "Li+",
        "charge_number": 1,
        "diffusivity": "1e-12 m^2/s",
        "initial_concentration": {n: f"{c} mol/m^3" for n, c in zip(names, c0, strict=True)},
        "standard_chemical_potential": {n: f"{m} J/mol" for n, m in zip(names, mu0, strict=True)},
    }
    if any(c is not None for c in c_max):
        ion["max_concentration"] = {
            n: None if c is None else f"{c} mol/m^3" for n, c in zip(names, c_max, strict=True)
        }
    data = {
        "case": {"name": "two_phase"},
        "geometry": geometry,
        "materials": {
            n: {"category": "solid_electrolyte", "relative_permittivity": e}
            for n, e in zip(names, eps_r, strict=True)
        },
        "regions": [{"name": n, "material": n} for n in names],
        "physics": {
            "nernst_planck": {
                "species": [ion],
                "fixed_charge": [
                    item for n, c in zip(names, c0, strict=True) for item in framework(c, n)
                ],
            }
        },
        "boundary_conditions": {
            "nernst_planck": [
                {
                    "name": "bottom",
                    "potential": "0 V",
                    "concentration": {"Li+": f"{c0[0]} mol/m^3"},
                }
            ]
        },
        "outputs": {"plots": False, "fields": False},
    }
    return validate_case(data)


def binary_cell_1d(
    length: float,
    c0: float,
    diffusivities: tuple[float, float],
    current_density: float,
    mesh: dict,
    z: int = 1,
    time: dict | None = None,
    eps_r: float = 10.0,
):
    """A z:z salt between two metal electrodes under a constant current density [A/m^2]:
    the cation enters at ``bottom`` (stripping) and leaves at ``top`` (plating), the anion is
    blocked; the potential is referred to the bottom wall, the top wall is uncharged."""
    names = ("A+", "B-") if z == 1 else (f"A{z}+", f"B{z}-")
    flux = current_density / (z * FARADAY)
    return pnp_case_1d(
        length,
        [
            species(names[0], z, c0, diffusivities[0]),
            species(names[1], -z, c0, diffusivities[1]),
        ],
        [
            {"name": "bottom", "potential": "0 V", "flux": {names[0]: f"{flux} mol/(m^2*s)"}},
            {"name": "top", "flux": {names[0]: f"{-flux} mol/(m^2*s)"}},
        ],
        eps_r=eps_r,
        mesh=mesh,
        refine_at=("bottom", "top"),
        time=time,
    )
