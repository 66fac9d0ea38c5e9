"""Electroneutral conduction of ions and electrons with interface kinetics and a terminal.

``fields`` (carrier potentials, sigma(T)), ``interfaces`` (kinetics, film, double layer),
``terminals`` (fixed potentials, the driven terminal), ``outputs`` (observed values, current
balance, fields, final tables and pictures), ``module`` (the ``Conduction`` physics).
"""

from __future__ import annotations

from sse_fem.physics.conduction.fields import conductivity_at
from sse_fem.physics.conduction.module import Conduction

__all__ = ["Conduction", "conductivity_at"]
