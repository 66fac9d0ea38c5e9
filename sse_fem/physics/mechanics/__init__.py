"""Mechanics: linear elasticity with thermal and chemical eigenstrain and stack pressure."""

from sse_fem.physics.mechanics.module import Mechanics

__all__ = ["Mechanics"]
