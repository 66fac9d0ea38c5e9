"""Physics modules: each turns one ``physics:`` block into fields, residual terms, BCs, outputs.

A module subclasses ``sse_fem.physics.base.Physics``; adding a physics is
adding a module here and a config model in ``sse_fem.config.schema.PhysicsBlock``.
"""

from __future__ import annotations

from sse_fem.physics.conduction import Conduction
from sse_fem.physics.heat import Heat
from sse_fem.physics.mechanics import Mechanics
from sse_fem.physics.nernst_planck import NernstPlanck
from sse_fem.physics.solid_diffusion import SolidDiffusion

#: physics block key -> module class
MODULES = {
    "conduction": Conduction,
    "heat": Heat,
    "mechanics": Mechanics,
    "solid_diffusion": SolidDiffusion,
    "nernst_planck": NernstPlanck,
}
