"""Interface rate laws: current density i [A/m^2] as a function of overpotential eta [V].

Written once for UFL and numpy (``exp`` is passed in), so the weak form and the
post-processing evaluate the same law. Positive i: anodic (oxidation at the electrode,
cations released into the electrolyte).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

FARADAY = 96485.33212  # C/mol
GAS_CONSTANT = 8.314462618  # J/(mol K)


@dataclass(frozen=True)
class RateLaw:
    """Kinetic parameters of one interface (SI units)."""

    kind: str  # butler_volmer | linear | blocking
    i0: float  # exchange current density [A/m^2]
    alpha_a: float
    alpha_c: float
    n: int  # electrons transferred (charge number of the metal ion)

    def current(self, eta, temperature, exp: Callable):
        """i(eta) [A/m^2]; ``temperature`` [K] may be a number or a UFL expression."""
        f = self.n * FARADAY / (GAS_CONSTANT * temperature)
        if self.kind == "butler_volmer":
            return self.i0 * (exp(self.alpha_a * f * eta) - exp(-self.alpha_c * f * eta))
        if self.kind == "linear":
            return self.i0 * (self.alpha_a + self.alpha_c) * f * eta
        if self.kind == "blocking":
            return 0.0 * eta
        raise ValueError(self.kind)

    def charge_transfer_resistance(self, temperature: float) -> float:
        """R_ct = RT / ((alpha_a + alpha_c) n F i0) [Ohm m^2] (linearised)."""
        if self.kind == "blocking":
            return float("inf")
        return (
            GAS_CONSTANT
            * temperature
            / ((self.alpha_a + self.alpha_c) * self.n * FARADAY * self.i0)
        )
