"""Quantities with units: strings such as "0.5 mS/cm" read by a strict parser, converted to SI.

A quantity is a number (``12``, ``-0.5``, ``1e-3``) followed by a unit expression of unit names
(pint's, with prefixes: ``mS/cm``, ``degC``, ``um``), ``*``, ``/``, spaces, parentheses and
small exponents (``m^2``, ``Pa*m**0.5``, ``m^(1/2)``). Nothing is evaluated as arithmetic, so a
case file cannot make the parser compute (``9**9**9 S/m`` is refused, not evaluated).
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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
    "molar_flux": "mol/(m^2*s)",
    "diffusivity": "m^2/s",
    "energy": "J",
    "molar_energy": "J/mol",  # also accepts per-particle energies ("0.3 eV")
    "activation_energy": "J/mol",  # also accepts per-particle energies ("0.3 eV")
    "density": "kg/m^3",
    "molar_mass": "kg/mol",
    "molar_volume": "m^3/mol",
    "thermal_conductivity": "W/(m*K)",
    "specific_heat": "J/(kg*K)",
    "thermal_expansion": "1/K",
    "per_temperature": "1/K",
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


#: Longest quantity string read, in characters; longer ones are refused unread.
MAX_QUANTITY_CHARS = 100
#: Largest magnitude of a unit exponent (``m^6``) and of a fraction's denominator (``m^(1/6)``).
MAX_EXPONENT = 6
#: Deepest nesting of parentheses in a unit expression.
MAX_PARENS = 3

_QUANTITY = re.compile(
    r"\s*(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>.*?)\s*", re.ASCII
)
_NOT_FINITE = re.compile(r"\s*[+-]?(?:inf(?:inity)?|nan)(?![A-Za-z])", re.IGNORECASE)
# characters of unit names: letters, _, %, the micro signs, ohm, angstrom and degree signs
_NAME = "A-Za-z_%\u00b5\u03bc\u03a9\u00c5\u00b0"
_UNIT_TOKEN = re.compile(
    rf"\s*(?:(?P<pow>\*\*|\^)|(?P<op>[*/])|(?P<paren>[()])"
    rf"|(?P<name>[{_NAME}][{_NAME}0-9]*)|(?P<number>[+-]?\d+(?:\.\d+)?))",
    re.ASCII,
)
_REPR = reprlib.Repr(maxlevel=3, maxstring=40, maxlong=40, maxother=40, maxlist=4, maxdict=4)
_SI_NUMBERS: ContextVar[bool] = ContextVar("sse_fem_si_numbers", default=False)


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """The shared pint registry (lazily built: building it takes ~0.1 s)."""
    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    ureg.define("@alias ohm = Ohm")
    return ureg


@cache
def _si_dimensionality(dimension: str):
    return registry().Quantity(1.0, DIMENSIONS[dimension]).dimensionality


@contextmanager
def si_numbers() -> Iterator[None]:
    """Inside this block ``to_si`` reads bare numbers as SI values.

    For the Python API only (assigning SI floats to a validated case); case files and
    command-line overrides are read outside it, where dimensional numbers need a unit.
    """
    token = _SI_NUMBERS.set(True)
    try:
        yield
    finally:
        _SI_NUMBERS.reset(token)


class _UnitSyntax:
    """Recursive-descent check of a unit expression: names, ``*``, ``/``, spaces, parentheses
    and small exponents. Nothing is evaluated; ``check`` raises ValueError with the reason."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while text[pos:].strip():
            m = _UNIT_TOKEN.match(text, pos)
            if m is None:
                bad = text[pos:].lstrip()[0]
                raise ValueError(f"character {bad!r} is not allowed in a unit")
            self.tokens.append((m.lastgroup or "", m[m.lastgroup or 0]))
            pos = m.end()
        self.pos = 0

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        self.pos += 1
        return token

    def check(self) -> None:
        self._product(0)
        if self._peek()[0] != "end":
            raise ValueError(f"unexpected {self._peek()[1]!r}")

    def _product(self, depth: int) -> None:
        self._factor(depth)
        while True:
            kind, text = self._peek()
            if kind == "op":
                self._take()
                self._factor(depth)
            elif kind in ("name", "number") or (kind, text) == ("paren", "("):
                self._factor(depth)  # a space multiplies: "Ohm cm^2"
            else:
                return

    def _factor(self, depth: int) -> None:
        kind, text = self._take()
        if (kind, text) == ("paren", "("):
            if depth >= MAX_PARENS:
                raise ValueError(f"parentheses nested deeper than {MAX_PARENS}")
            self._product(depth + 1)
            if self._take() != ("paren", ")"):
                raise ValueError("unbalanced parentheses")
        elif kind != "name" and (kind, text) != ("number", "1"):  # "1/K"
            raise ValueError(f"expected a unit name, got {text or 'nothing'!r}")
        if self._peek()[0] == "pow":
            self._take()
            self._exponent()

    def _exponent(self) -> None:
        usage = f"an exponent is a number up to {MAX_EXPONENT}: m^2, m^-1, m**0.5 or m^(1/2)"
        kind, text = self._take()
        if kind == "number":
            value = float(text)
        elif (kind, text) == ("paren", "("):
            num, slash, den, close = (self._take() for _ in range(4))
            if (
                (num[0], slash, den[0], close) != ("number", ("op", "/"), "number", ("paren", ")"))
                or not den[1].isdigit()
                or not 0 < int(den[1]) <= MAX_EXPONENT
                or "." in num[1]
            ):
                raise ValueError(usage)
            value = int(num[1]) / int(den[1])
        else:
            raise ValueError(usage)
        if abs(value) > MAX_EXPONENT:
            raise ValueError(usage)


@lru_cache(maxsize=256)
def _parse_unit(text: str) -> pint.Unit:
    """A checked unit expression as a pint unit; ValueError with the reason otherwise."""
    _UnitSyntax(text).check()
    try:
        return registry().parse_units(text)
    except pint.UndefinedUnitError as err:
        names = [err.unit_names] if isinstance(err.unit_names, str) else err.unit_names
        raise ValueError(f"unknown unit {', '.join(map(repr, names))}") from None
    except Exception:
        raise ValueError("not a unit expression") from None


def short_repr(value: object) -> str:
    """``repr`` cut to about 40 characters and 3 levels: messages never echo long input."""
    try:
        return _REPR.repr(value)
    except ValueError:  # an int with more digits than Python converts to text
        return "an integer too long to show"


def _finite(value: float | int, given: object, path: str | None) -> float:
    try:
        x = float(value)
    except OverflowError:  # an int beyond the float range
        x = math.inf
    if not math.isfinite(x):
        raise CaseError(f"{short_repr(given)} is not a finite number (inf, nan or too large)", path)
    return x


def to_si(value: object, dimension: str, path: str | None = None) -> float:
    """Convert ``value`` to a float in the SI unit of ``dimension`` (``DIMENSIONS``).

    ``value`` is a string "number unit" ("0.5 mS/cm", "25 degC"). A bare number (or a string
    without a unit) is read only for dimensionless quantities, as 0 for anything but a
    temperature, or inside ``si_numbers()``. Raises CaseError naming ``path`` otherwise and
    when the text is not number-and-unit, the dimension is wrong or the value is inf/nan.
    """
    if dimension not in DIMENSIONS:
        raise KeyError(f"unknown dimension {dimension!r}")
    si_unit = DIMENSIONS[dimension]
    what = dimension.replace("_", " ")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CaseError(f"expected a {what} such as '1 {si_unit}', got {short_repr(value)}", path)
    if not isinstance(value, str):
        magnitude, unit = _finite(value, value, path), ""
    elif len(value) > MAX_QUANTITY_CHARS:
        raise CaseError(f"a quantity has at most {MAX_QUANTITY_CHARS} characters", path)
    elif (m := _QUANTITY.fullmatch(value)) is not None:
        magnitude, unit = _finite(float(m["number"]), value, path), m["unit"]
    elif _NOT_FINITE.match(value):
        raise CaseError(f"{short_repr(value)} is not a finite number (inf, nan or too large)", path)
    else:
        raise CaseError(
            f"cannot read {short_repr(value)} as a quantity; write a number and a unit, "
            f"e.g. '1 {si_unit}'",
            path,
        )
    if unit[:1] in ("*", "/", "^"):
        raise CaseError(
            f"cannot read {short_repr(value)}: write one plain number, then a unit "
            "(arithmetic is not evaluated)",
            path,
        )
    if not unit:
        unambiguous = dimension == "dimensionless" or (
            magnitude == 0 and dimension != "temperature"
        )
        if unambiguous or _SI_NUMBERS.get():
            return magnitude
        example = (
            "'298.15 K' or '25 degC'"
            if dimension == "temperature"
            else f"'{magnitude:.12g} {si_unit}'"
        )
        raise CaseError(
            f"bare number {magnitude:.12g} for a {what}: give a unit, e.g. {example}", path
        )
    try:
        units = _parse_unit(unit)
    except ValueError as err:
        raise CaseError(f"cannot read the unit of {short_repr(value)}: {err}", path) from None
    ureg = registry()
    try:
        q = ureg.Quantity(magnitude, units)
        per_particle = q.dimensionality == _si_dimensionality("energy")
        if dimension in ("activation_energy", "molar_energy") and per_particle:
            q = q * ureg.Quantity(1.0, "avogadro_constant")
        dimensionality = q.dimensionality
    except Exception:  # e.g. offset units in products
        raise CaseError(f"cannot convert {short_repr(value)} to {si_unit}", path) from None
    if dimensionality != _si_dimensionality(dimension):
        raise CaseError(
            f"{short_repr(value)} is not a {what} (expected units convertible to "
            f"{si_unit}, got dimension {dimensionality})",
            path,
        )
    try:
        si = q.to(si_unit).magnitude
    except Exception:  # e.g. offset units in products
        raise CaseError(f"cannot convert {short_repr(value)} to {si_unit}", path) from None
    return _finite(si, value, path)


def split_quantity(value: object, path: str | None = None) -> tuple[float, str]:
    """``"0.5 mA/cm^2"`` -> ``(0.5, "mA/cm^2")``; a number -> ``(value, "")``. The unit is
    checked (known names, no arithmetic) but not converted."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CaseError(f"expected a number or 'number unit', got {short_repr(value)}", path)
    if not isinstance(value, str):
        return _finite(value, value, path), ""
    m = _QUANTITY.fullmatch(value) if len(value) <= MAX_QUANTITY_CHARS else None
    if m is None:
        raise CaseError(f"cannot read {short_repr(value)} as 'number unit'", path)
    number, unit = _finite(float(m["number"]), value, path), m["unit"]
    if unit:
        try:
            _parse_unit(unit)
        except ValueError as err:
            raise CaseError(f"cannot read the unit of {short_repr(value)}: {err}", path) from None
    return number, unit


def format_si(value: float, dimension: str) -> str:
    """``1.5e-3, "length"`` -> ``"0.0015 m"``: the string form written to resolved cases
    (every digit: it reads back to the same float)."""
    unit = DIMENSIONS[dimension]
    return repr(float(value)) if unit == "dimensionless" else f"{float(value)!r} {unit}"
