"""Interface rate laws: current density i [A/m^2] as a function of overpotential eta [V].

Written once for UFL and numpy (``exp`` is passed in), so the weak form and the
post-processing evaluate the same law. Parameters are ``fem.Constant`` in forms (a new value
never recompiles) and floats in post-processing (``RateLaw.numeric``). Positive i: anodic
(oxidation at the electrode, cations released into the electrolyte). Other physics reuse the
law with their own overpotential, e.g. eta = phi_s - phi_e - U(c_s) with an open-circuit
potential of the surface concentration.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dolfinx import fem

FARADAY = 96485.33212  # C/mol
GAS_CONSTANT = 8.314462618  # J/(mol K)
#: temperature at which library data, exchange currents and open-circuit potentials are given [K]
REFERENCE_TEMPERATURE = 298.15

#: distance of the clipped stoichiometry from 0 and 1 in the exchange current [-]
STOICHIOMETRY_EPS = 1e-6

type Parameter = fem.Constant | float


@dataclass(frozen=True)
class RateLaw:
    """Kinetic parameters of one interface (SI units)."""

    kind: str  # butler_volmer | linear | blocking
    i0: Parameter  # exchange current density [A/m^2]
    alpha_a: Parameter
    alpha_c: Parameter
    n: Parameter  # electrons transferred (charge number of the metal ion)
    #: Arrhenius activation energy of i0 [J/mol] (0: i0 independent of temperature)
    activation_energy: Parameter = 0.0
    #: temperature at which ``i0`` is given [K]
    reference_temperature: Parameter = REFERENCE_TEMPERATURE

    def exchange_current(self, temperature: Any, exp: Callable) -> Any:
        """i0(T) = i0 exp(-E_a/R (1/T - 1/T_ref)) [A/m^2]."""
        return self.i0 * exp(
            -self.activation_energy
            / GAS_CONSTANT
            * (1.0 / temperature - 1.0 / self.reference_temperature)
        )

    def current(self, eta: Any, temperature: Any, exp: Callable, i0_factor: Any = 1.0) -> Any:
        """i(eta) [A/m^2]; ``temperature`` [K] may be a number or a UFL expression;
        ``i0_factor`` scales the exchange current (e.g. its stoichiometry dependence)."""
        f = self.n * FARADAY / (GAS_CONSTANT * temperature)
        i0 = self.exchange_current(temperature, exp) * i0_factor
        if self.kind == "butler_volmer":
            return i0 * (exp(self.alpha_a * f * eta) - exp(-self.alpha_c * f * eta))
        if self.kind == "linear":
            return i0 * (self.alpha_a + self.alpha_c) * f * eta
        if self.kind == "blocking":
            return 0.0 * eta
        raise ValueError(self.kind)

    def stoichiometry_factor(self, x: Any, clip: Callable[[Any, float, float], Any]) -> Any:
        """i0(x) / i0(1/2) = (2x)^alpha_c (2 (1 - x))^alpha_a of an insertion electrode
        (i0 = k c_s^alpha_c (c_max - c_s)^alpha_a, given at x = 1/2); ``clip(x, lo, hi)``
        keeps Newton iterates inside (0, 1)."""
        x = clip(x, STOICHIOMETRY_EPS, 1.0 - STOICHIOMETRY_EPS)
        return (2 * x) ** self.alpha_c * (2 * (1 - x)) ** self.alpha_a

    def numeric(self) -> RateLaw:
        """The same law with the current parameter values as floats (for numpy)."""

        def value(p: Parameter) -> float:
            return float(p.value) if isinstance(p, fem.Constant) else float(p)

        return RateLaw(
            self.kind,
            value(self.i0),
            value(self.alpha_a),
            value(self.alpha_c),
            value(self.n),
            value(self.activation_energy),
            value(self.reference_temperature),
        )

    def charge_transfer_resistance(self, temperature: float) -> float:
        """R_ct = RT / ((alpha_a + alpha_c) n F i0) [Ohm m^2] (linearised)."""
        if self.kind == "blocking":
            return float("inf")
        law = self.numeric()
        i0 = law.exchange_current(temperature, math.exp)
        return GAS_CONSTANT * temperature / ((law.alpha_a + law.alpha_c) * law.n * FARADAY * i0)
