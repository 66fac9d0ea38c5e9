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

    def current(self, eta: Any, temperature: Any, exp: Callable) -> Any:
        """i(eta) [A/m^2]; ``temperature`` [K] may be a number or a UFL expression."""
        f = self.n * FARADAY / (GAS_CONSTANT * temperature)
        i0 = self.exchange_current(temperature, exp)
        if self.kind == "butler_volmer":
            return i0 * (exp(self.alpha_a * f * eta) - exp(-self.alpha_c * f * eta))
        if self.kind == "linear":
            return i0 * (self.alpha_a + self.alpha_c) * f * eta
        if self.kind == "blocking":
            return 0.0 * eta
        raise ValueError(self.kind)

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
