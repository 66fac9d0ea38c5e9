"""Shared quantities: how physics modules meet without reaching into each other.

A module *provides* a named quantity (temperature, a carrier's potential, Joule heat, the
current density on an interface, ...) as a UFL expression, optionally per history level for
time derivatives, with the measure where it is defined (``dx`` over its regions, ``dS`` over
an interface with the '+' side forced to the electrode); others *require* it by name and
integrate ``q() * v * q.measure``. Quantities nobody provides fall back to a default (the
temperature to the case's constant). Provisions happen in ``declare``, requirements in
``residual``, so the order of the modules does not matter and a monolithic coupling is just
a residual using another module's quantity.

Names used by the shipped physics (unit):

- ``temperature`` (K): heat, else ``case.temperature``;
- ``stoichiometry.<region>`` (1, the field x = c/c_max) and ``concentration_change.<region>``
  (mol/m^3, c - c0, also per cell): solid diffusion, in its particle regions;
- ``potential.<carrier>`` (V), ``current_density.<carrier>`` (A/m^2, vector),
  ``joule_heat.<carrier>`` (W/m^3, regions conducting it): conduction;
- ``interface_current_density.<interface>`` (A/m^2, on the interface, '+' = electrode side),
  and its heat (W/m^2): ``interface_heat.<interface>`` (irreversible, i eta),
  ``film_heat.<interface>`` (i^2 R_film), ``reversible_heat.<interface>`` (i T dU/dT):
  conduction; ``contact_heat.<boundary>`` (W/m^2, terminal contact j^2 R_c): conduction;
- ``electric_potential`` (V) and ``concentration.<species>`` (mol/m^3): Nernst-Planck, which
  uses ``ion_source.<species>`` (mol/(m^3 s)) and ``charge_density.*`` (C/m^3) when provided,
  and ``stress`` (Pa, mechanics) for ions with a partial molar volume.

Scalars (one number of the current state, computed collectively): ``electrical_power`` (W,
into the cell at its terminals): conduction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import ufl
from dolfinx import fem
from ufl.core.expr import Expr


@dataclass
class SharedQuantity:
    """A named quantity: ``q(level)`` is its UFL expression now (0) or at history levels."""

    name: str
    unit: str
    provider: str  # module name, or "default"
    value: Callable[[int], Expr]
    #: where it is defined (None: everywhere); a callable is resolved when first read, after
    #: every module has declared (e.g. a quadrature degree that depends on the coupling)
    where: ufl.Measure | Callable[[], ufl.Measure] | None = None
    users: set[str] = field(default_factory=set)
    #: the current value per parent cell (owned and ghost; numpy, not collective), for
    #: pictures and tables where the UFL value lives on a submesh
    cells: Callable[[], np.ndarray] | None = None

    def __call__(self, level: int = 0) -> Expr:
        return self.value(level)

    @property
    def measure(self) -> ufl.Measure | None:
        if callable(self.where) and not isinstance(self.where, ufl.Measure):
            self.where = self.where()
        return self.where

    @property
    def is_constant(self) -> bool:
        """Whether the quantity is a plain ``fem.Constant`` (no field is coupled)."""
        return isinstance(self.value(0), fem.Constant)


def _as_levels(value: Expr | Callable[[int], Expr]) -> Callable[[int], Expr]:
    if callable(value) and not isinstance(value, Expr):
        return value
    return lambda level: value


class Quantities:
    """The registry of one problem."""

    def __init__(self) -> None:
        self._provided: dict[str, SharedQuantity] = {}
        self._defaults: dict[str, SharedQuantity] = {}
        self._scalars: dict[str, tuple[str, str, Callable[[], float]]] = {}
        self._scalar_users: dict[str, set[str]] = {}

    def provide(
        self,
        name: str,
        value: Expr | Callable[[int], Expr],
        unit: str,
        provider: str,
        measure: ufl.Measure | Callable[[], ufl.Measure] | None = None,
        cells: Callable[[], np.ndarray] | None = None,
    ) -> None:
        """Register ``value`` (an expression, or level -> expression) under ``name``;
        ``cells``: its current value per parent cell (numpy)."""
        if name in self._provided:
            raise ValueError(
                f"quantity {name!r} is provided twice: by {self._provided[name].provider!r} "
                f"and {provider!r}"
            )
        default = self._defaults.get(name)
        if default is not None and default.unit != unit:
            raise ValueError(f"quantity {name!r}: unit {unit!r} differs from {default.unit!r}")
        self._provided[name] = SharedQuantity(
            name, unit, provider, _as_levels(value), measure, cells=cells
        )

    def default(self, name: str, value: Expr, unit: str) -> None:
        """The value of ``name`` when no module provides it."""
        self._defaults[name] = SharedQuantity(name, unit, "default", _as_levels(value))

    def require(self, name: str, by: str) -> SharedQuantity:
        """The provided quantity, else its default; KeyError naming the known ones."""
        q = self._provided.get(name) or self._defaults.get(name)
        if q is None:
            known = sorted(set(self._provided) | set(self._defaults))
            raise KeyError(f"{by} requires quantity {name!r}, which nothing provides: {known}")
        q.users.add(by)
        return q

    def provided(self, prefix: str) -> list[str]:
        """Names of the provided quantities that start with ``prefix`` (e.g. every
        ``joule_heat.``), sorted."""
        return sorted(n for n in self._provided if n.startswith(prefix))

    def provide_scalar(
        self, name: str, value: Callable[[], float], unit: str, provider: str
    ) -> None:
        """Register a scalar of the current state (``value()`` is collective)."""
        if name in self._scalars:
            raise ValueError(f"scalar {name!r} is provided twice")
        self._scalars[name] = (unit, provider, value)

    def scalar(self, name: str, by: str) -> Callable[[], float] | None:
        """The scalar ``name`` (a collective callable), None when nothing provides it."""
        entry = self._scalars.get(name)
        if entry is None:
            return None
        self._scalar_users.setdefault(name, set()).add(by)
        return entry[2]

    def report(self) -> dict[str, dict[str, object]]:
        """Name -> provider, unit and users, for the run summary."""
        merged = self._defaults | self._provided
        out: dict[str, dict[str, object]] = {
            n: {"provider": q.provider, "unit": q.unit, "users": sorted(q.users)}
            for n, q in sorted(merged.items())
        }
        for n, (unit, provider, _) in sorted(self._scalars.items()):
            out[n] = {
                "provider": provider,
                "unit": unit,
                "users": sorted(self._scalar_users.get(n, ())),
            }
        return out


__all__ = ["Quantities", "SharedQuantity"]
