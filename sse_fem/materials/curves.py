"""Material properties as functions of the stoichiometry x = c_s / c_max in [0, 1] of the host.

A curve is a table (knots ``x`` and values, piecewise linear, the end segments extended
linearly beyond the knots: a Newton iterate may wander slightly outside [0, 1]) or an
expression in ``x`` (``sse_fem.expressions``). Library files and case files write one as::

    open_circuit_potential: {x: [0.3, 0.6, 0.9], values: [4.2, 3.8, 3.6], unit: V,
                             valid_range: [0.3, 0.9], note: '...'}
    entropic_coefficient: {expression: '0.04*exp(-(x - 0.28)**2/0.001)', unit: mV/K}

(library files add ``source`` and ``flag``). Values are converted to SI on reading. On a mesh,
:meth:`Curve.on_mesh` gives a :class:`CurveForm` whose numbers are ``fem.Constant`` s, so a new
table of the same length or a new unit scale never recompiles a form. This module imports
dolfinx only inside ``on_mesh`` (reading a case stays fast).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from sse_fem.errors import CaseError
from sse_fem.expressions import Expression
from sse_fem.materials.properties import CURVES, LIMITS
from sse_fem.units import DIMENSIONS, short_repr, to_si

#: Most knots in one table (each knot adds a term to every form that uses the curve).
MAX_KNOTS = 200
#: Keys of a curve entry in a case file; library files add ``source`` and ``flag``.
CURVE_KEYS = ("x", "values", "expression", "unit", "valid_range", "note")
_SAMPLES = 401


@dataclass(frozen=True)
class Curve:
    """A property as a function of the stoichiometry x, in SI units, with its provenance.

    Exactly one of a table (``x`` strictly increasing knots, ``values`` SI values at the knots)
    and an ``expression`` in ``x`` is set; the SI value of an expression is ``scale`` (the SI
    factor of the unit it was written in, ``given_unit``) times its value. ``valid_range`` is
    the stoichiometry range of the underlying data; ``flag`` is paper, derived or typical as
    for scalar properties.
    """

    name: str
    unit: str
    source: str
    flag: str
    note: str = ""
    x: tuple[float, ...] | None = None
    values: tuple[float, ...] | None = None
    expression: Expression | None = None
    valid_range: tuple[float, float] = (0.0, 1.0)
    scale: float = 1.0
    given_unit: str = ""

    def __post_init__(self) -> None:
        table = self.x is not None and self.values is not None
        if table == (self.expression is not None) or (self.x is None) != (self.values is None):
            raise ValueError(f"curve {self.name!r}: give either x and values or an expression")
        if self.x is not None and self.values is not None:
            if len(self.x) != len(self.values) or len(self.x) < 2:
                raise ValueError(f"curve {self.name!r}: x and values need the same length >= 2")
            if any(b <= a for a, b in zip(self.x, self.x[1:], strict=False)):
                raise ValueError(f"curve {self.name!r}: knots must increase strictly")

    @property
    def is_table(self) -> bool:
        """True for a table, False for an expression."""
        return self.expression is None

    def numpy(self, x: ArrayLike) -> np.ndarray:
        """SI value at stoichiometries ``x`` (any array shape)."""
        xs = np.asarray(x, dtype=float)
        if self.expression is not None:
            return self.scale * self.expression.numpy(x=xs)
        assert self.x is not None and self.values is not None
        knots, values = np.asarray(self.x), np.asarray(self.values)
        slopes = np.diff(values) / np.diff(knots)
        out = values[0] + slopes[0] * (xs - knots[0])
        for k in range(1, len(knots) - 1):
            out = out + (slopes[k] - slopes[k - 1]) * np.maximum(xs - knots[k], 0.0)
        return np.asarray(out, dtype=float)

    def on_mesh(self, mesh: Any) -> CurveForm:
        """A UFL evaluator of this curve whose numbers are ``fem.Constant`` s on ``mesh``."""
        return CurveForm(self, mesh)

    def describe(self) -> str:
        """One line: kind, unit, range, flag and source (for listings)."""
        if self.expression is not None:
            what = f"{self.expression.text} [{self.given_unit or self.unit}]"
        else:
            assert self.x is not None
            what = f"table of {len(self.x)} points [{self.unit}]"
        lo, hi = self.valid_range
        return f"{what}, x in [{lo:g}, {hi:g}] ({self.flag}, {self.source})"


class CurveForm:
    """A curve as UFL on one mesh: ``form(x)`` for a UFL stoichiometry ``x``.

    Tables are ``y0 + s0 (x - x0) + sum_k (s_k - s_{k-1}) max(x - x_k, 0)`` with the knots and
    values as two ``fem.Constant`` of shape (n,); expressions carry their unit scale as a
    ``fem.Constant``. :meth:`update` sets those constants: compiled forms stay valid.
    """

    def __init__(self, curve: Curve, mesh: Any) -> None:
        from dolfinx import default_scalar_type, fem

        self.curve = curve
        if curve.x is not None and curve.values is not None:
            self.knots = fem.Constant(mesh, np.array(curve.x, dtype=default_scalar_type))
            self.values = fem.Constant(mesh, np.array(curve.values, dtype=default_scalar_type))
        self.scale = fem.Constant(mesh, default_scalar_type(curve.scale))

    def __call__(self, x: Any) -> Any:
        """The curve's SI value at the UFL stoichiometry ``x``."""
        curve = self.curve
        if curve.expression is not None:
            return self.scale * curve.expression.ufl(x=x)
        import ufl

        assert curve.x is not None
        n = len(curve.x)
        X, Y = self.knots, self.values
        slopes = [(Y[k + 1] - Y[k]) / (X[k + 1] - X[k]) for k in range(n - 1)]
        out = Y[0] + slopes[0] * (x - X[0])
        for k in range(1, n - 1):
            out = out + (slopes[k] - slopes[k - 1]) * ufl.max_value(x - X[k], 0.0)
        return out

    def update(self, curve: Curve) -> None:
        """Take the numbers of ``curve`` (a table of the same length, or the same expression
        text) without recompiling; ValueError for a curve of another shape."""
        old = self.curve
        if old.expression is not None:
            if curve.expression != old.expression:
                raise ValueError(
                    f"curve {old.name!r}: only an expression with the same text can be updated "
                    f"in place ({old.expression.text!r} -> "
                    f"{curve.expression.text if curve.expression else 'a table'!r})"
                )
        else:
            assert old.x is not None
            if curve.x is None or curve.values is None or len(curve.x) != len(old.x):
                raise ValueError(
                    f"curve {old.name!r}: only a table with {len(old.x)} knots can be updated "
                    "in place"
                )
            self.knots.value[:] = curve.x
            self.values.value[:] = curve.values
        self.scale.value = curve.scale
        self.curve = curve


# ------------------------------------------------------------------------------- reading


def check_curve_name(name: str, path: str) -> None:
    """CaseError with the nearest curve name when ``name`` cannot be a curve."""
    if name not in CURVES:
        near = difflib.get_close_matches(name, CURVES, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise CaseError(
            f"{name!r} cannot be a curve{hint}; curves of the stoichiometry x: {', '.join(CURVES)}",
            path,
        )


def _usage(name: str) -> str:
    unit = DIMENSIONS[CURVES[name][0]]
    return (
        f"write {name} as a table {{x: [x0, x1, ...], values: [y0, y1, ...], unit: {unit}}} "
        f"or as {{expression: '... x ...', unit: {unit}}}, optionally with "
        "valid_range: [low, high] and note"
    )


def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CaseError(f"expected a number, got {short_repr(value)}", path)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise CaseError(f"{short_repr(value)} is not a finite number", path)
    return number


def _numbers(value: object, path: str, what: str) -> list[float]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise CaseError(f"{what} must be a list of numbers, got {short_repr(value)}", path)
    if len(value) > MAX_KNOTS:
        raise CaseError(f"a table has at most {MAX_KNOTS} points, got {len(value)}", path)
    return [_number(v, f"{path}[{k}]") for k, v in enumerate(value)]


def unit_scale(unit: object, dimension: str, path: str) -> float:
    """SI factor of ``unit`` (a plain multiplicative unit of ``dimension``)."""
    if not isinstance(unit, str) or not unit.strip():
        raise CaseError(
            f"give the unit of the values as a string, e.g. unit: {DIMENSIONS[dimension]}", path
        )
    one, two = to_si(f"1 {unit}", dimension, path), to_si(f"2 {unit}", dimension, path)
    if not math.isclose(two, 2.0 * one, rel_tol=1e-12):
        raise CaseError(f"{unit!r} is an offset unit; use one without an offset", path)
    return one


def _check_limits(name: str, values: np.ndarray, xs: np.ndarray, path: str) -> None:
    low, high = LIMITS.get(name, (-math.inf, math.inf))
    bad = ~((values > low) & (values < high))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        unit = DIMENSIONS[CURVES[name][0]]
        allowed = f"> {low:g} {unit}" if high == math.inf else f"in ({low:g}, {high:g}) {unit}"
        raise CaseError(
            f"{name.replace('_', ' ')} is {values[k]:.6g} {unit} at x = {xs[k]:.6g}; it must be "
            f"{allowed}",
            path,
        )


def curve_from_spec(
    name: str, spec: object, path: str, source: str = "case file", flag: str = "typical"
) -> Curve:
    """A checked Curve from a mapping read from YAML (keys ``CURVE_KEYS``), SI values.

    Raises CaseError naming ``path`` (and the key below it) for anything not allowed: an
    unknown key, both or neither of table and expression, knots not strictly increasing,
    lengths that differ, values not finite or outside the property's limits, a unit of the
    wrong dimension, an expression not finite on the valid range.
    """
    check_curve_name(name, path)
    if not isinstance(spec, Mapping):
        raise CaseError(f"expected a mapping, got {short_repr(spec)}; {_usage(name)}", path)
    unknown = [str(k) for k in spec if k not in CURVE_KEYS]
    if unknown:
        raise CaseError(
            f"unknown key {unknown[0]!r} in a curve; allowed keys: {', '.join(CURVE_KEYS)}",
            f"{path}.{unknown[0]}",
        )
    dimension = CURVES[name][0]
    si_unit = DIMENSIONS[dimension]
    has_table = "x" in spec or "values" in spec
    if has_table == ("expression" in spec):
        raise CaseError(
            f"give a table or an expression, not {'both' if has_table else 'neither'}; "
            f"{_usage(name)}",
            path,
        )
    if "unit" not in spec:
        raise CaseError(f"the unit is missing; {_usage(name)}", f"{path}.unit")
    unit = spec["unit"]
    scale = unit_scale(unit, dimension, f"{path}.unit")
    note = spec.get("note", "")
    if not isinstance(note, str):
        raise CaseError(f"a note is text, got {short_repr(note)}", f"{path}.note")

    x: tuple[float, ...] | None = None
    values: tuple[float, ...] | None = None
    expression: Expression | None = None
    if has_table:
        for key in ("x", "values"):
            if key not in spec:
                raise CaseError(f"a table needs both x and values; {_usage(name)}", path)
        xs = _numbers(spec["x"], f"{path}.x", "x")
        raw = _numbers(spec["values"], f"{path}.values", "values")
        if len(xs) < 2:
            raise CaseError("a table needs at least 2 points", f"{path}.x")
        if len(raw) != len(xs):
            raise CaseError(
                f"values has {len(raw)} entries but x has {len(xs)}; give one value per knot",
                f"{path}.values",
            )
        for k in range(1, len(xs)):
            if xs[k] <= xs[k - 1]:
                raise CaseError(
                    f"knots must increase strictly: x[{k}] = {xs[k]:g} follows {xs[k - 1]:g}",
                    f"{path}.x[{k}]",
                )
        values = tuple(
            to_si(f"{v!r} {unit}", dimension, f"{path}.values[{k}]") for k, v in enumerate(raw)
        )
        x = tuple(xs)
        scale = 1.0
        default_range = (max(0.0, xs[0]), min(1.0, xs[-1]))
        if default_range[0] >= default_range[1]:
            default_range = (0.0, 1.0)
    else:
        text = spec["expression"]
        expression = Expression(text, ("x",), f"{path}.expression")
        default_range = (0.0, 1.0)

    if "valid_range" in spec:
        pair = _numbers(spec["valid_range"], f"{path}.valid_range", "valid_range")
        if len(pair) != 2 or not 0.0 <= pair[0] < pair[1] <= 1.0:
            raise CaseError(
                f"valid_range is [low, high] with 0 <= low < high <= 1, got {short_repr(pair)}",
                f"{path}.valid_range",
            )
        valid_range = (pair[0], pair[1])
    else:
        valid_range = default_range

    curve = Curve(
        name,
        si_unit,
        source,
        flag,
        note,
        x,
        values,
        expression,
        valid_range,
        scale,
        unit.strip() if isinstance(unit, str) else si_unit,
    )
    samples = np.linspace(valid_range[0], valid_range[1], _SAMPLES)
    if expression is not None:
        expression.check_finite(
            samples, f"on the valid range [{valid_range[0]:g}, {valid_range[1]:g}]"
        )
        _check_limits(name, curve.numpy(samples), samples, f"{path}.expression")
    else:
        assert x is not None and values is not None
        _check_limits(name, np.asarray(values), np.asarray(x), f"{path}.values")
    return curve
