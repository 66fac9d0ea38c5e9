"""Nernst-Planck/Poisson cases shared by the PNP tests (1D layered cells, inline materials)."""

from __future__ import annotations

import math

from sse_fem.config import validate_case

FARADAY, GAS, TEMPERATURE = 96485.33212, 8.314462618, 298.15
EPS0 = 8.8541878128e-12
V_T = GAS * TEMPERATURE / FARADAY


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
):
    """One electrolyte layer of ``thickness`` [m] (a square in 2D) with Nernst-Planck/Poisson."""
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
            "nernst_planck": {"species": ions, "fixed_charge": fixed_charge or []},
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
