"""Quantities with units: strings such as "0.5 mS/cm" parsed by pint and converted once to SI."""

from __future__ import annotations

from functools import cache, lru_cache

import pint

from sse_fem.errors import CaseError

#: Named physical dimensions used in case files and the material library, each with its SI unit.
DIMENSIONS: dict[str, str] = {
    "dimensionless": "dimensionless",
    "length": "m",
    "area": "m^2",
    "volume": "m^3",
    "time": "s",
    "temperature": "K",
    "potential": "V",
    "current": "A",
    "current_density": "A/m^2",
    "conductivity": "S/m",
    "area_resistance": "ohm*m^2",
    "area_conductance": "S/m^2",
    "area_capacitance": "F/m^2",
    "concentration": "mol/m^3",
    "diffusivity": "m^2/s",
    "energy": "J",
    "molar_energy": "J/mol",
    "activation_energy": "J/mol",  # also accepts per-particle energies ("0.3 eV")
    "density": "kg/m^3",
    "molar_mass": "kg/mol",
    "molar_volume": "m^3/mol",
    "thermal_conductivity": "W/(m*K)",
    "specific_heat": "J/(kg*K)",
    "thermal_expansion": "1/K",
    "pressure": "Pa",
    "surface_energy": "J/m^2",
    "heat_transfer_coefficient": "W/(m^2*K)",
    "potential_per_temperature": "V/K",
    "specific_capacity": "A*h/kg",
    "heat_flux": "W/m^2",
    "power_density": "W/m^3",
    "stress_intensity": "Pa*m**0.5",
    "vft_prefactor": "S*K**0.5/m",
}


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """The shared pint registry (lazily built: building it takes ~0.1 s)."""
    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    ureg.define("@alias ohm = Ohm")
    return ureg


@cache
def _si_dimensionality(dimension: str):
    return registry().Quantity(1.0, DIMENSIONS[dimension]).dimensionality


def to_si(value: object, dimension: str, path: str | None = None) -> float:
    """Convert ``value`` (``"0.5 mS/cm"``, or a bare number already in SI) to a float in SI units.

    Raises CaseError naming ``path`` when the string does not parse or has the wrong dimension.
    """
    if dimension not in DIMENSIONS:
        raise KeyError(f"unknown dimension {dimension!r}")
    si_unit = DIMENSIONS[dimension]
    if isinstance(value, bool):
        raise CaseError(
            f"expected a {dimension.replace('_', ' ')} such as '1 {si_unit}', got {value!r}", path
        )
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise CaseError(
            f"expected a {dimension.replace('_', ' ')} such as '1 {si_unit}', got {value!r}", path
        )
    ureg = registry()
    try:
        q = ureg.Quantity(value.strip())
    except Exception:
        raise CaseError(
            f"cannot read {value!r} as a quantity; write a number and a unit, e.g. '1 {si_unit}'",
            path,
        ) from None
    if not isinstance(q, pint.Quantity):
        return float(q)
    if dimension == "activation_energy" and q.dimensionality == _si_dimensionality("energy"):
        q = q * ureg.Quantity(1.0, "avogadro_constant")
    if q.dimensionality != _si_dimensionality(dimension):
        raise CaseError(
            f"{value!r} is not a {dimension.replace('_', ' ')} (expected units convertible to "
            f"{si_unit}, got dimension {q.dimensionality})",
            path,
        )
    try:
        return float(q.to(si_unit).magnitude)
    except Exception:  # e.g. offset units in products
        raise CaseError(f"cannot convert {value!r} to {si_unit}", path) from None


def format_si(value: float, dimension: str) -> str:
    """``1.5e-3, "length"`` -> ``"0.0015 m"``: the string form written to resolved cases."""
    unit = DIMENSIONS[dimension]
    return f"{value:.12g}" if unit == "dimensionless" else f"{value:.12g} {unit}"
