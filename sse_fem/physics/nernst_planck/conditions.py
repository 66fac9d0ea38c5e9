"""Boundary conditions of Nernst-Planck/Poisson."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from dolfinx import fem


@dataclass
class PotentialCondition:
    """A boundary whose potential is fixed: ``value`` [V] at full load (terminal: the
    protocol's voltage)."""

    boundary: str
    potential: fem.Constant
    value: float
    terminal: bool
    dofs: np.ndarray  # local dofs of the potential on the boundary
    bc: fem.DirichletBC
