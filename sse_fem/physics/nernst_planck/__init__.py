"""Nernst-Planck/Poisson: resolved ion transport with space charge."""

from sse_fem.physics.nernst_planck.module import NernstPlanck

__all__ = ["NernstPlanck"]
