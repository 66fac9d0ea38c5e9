"""Solid diffusion of the working ion in active-material particles."""

from sse_fem.physics.solid_diffusion.module import SolidDiffusion

__all__ = ["SolidDiffusion"]
