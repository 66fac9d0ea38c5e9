"""What evolving physics (heat, solid diffusion, ...) share about the initial state of a
transient run: while ``problem.initial`` is 1 the evolving field holds its initial condition
and the quasi-static physics find their rest state around it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ufl

if TYPE_CHECKING:
    from sse_fem.physics.base import Problem


def hold_initial_state(
    problem: Problem,
    evolving: ufl.Form,
    u: ufl.core.expr.Expr,
    u0: ufl.core.expr.Expr,
    v: ufl.Argument,
    stiffness: list[tuple[ufl.core.expr.Expr, ufl.Measure]],
) -> ufl.Form:
    """``evolving`` in time steps; in the initial solve the sum over ``(k, dx)`` in
    ``stiffness`` of ``k / h^2 (u - u0) v dx``.

    The hold is scaled like the field's own operator (``k`` is its diffusion coefficient
    where ``dx`` integrates, e.g. k or c_max D per region): a plain mass matrix of
    micrometre cells has entries below LU's absolute zero-pivot tolerance and AMG's coarse
    solve fails on it. Steady runs get ``evolving`` unchanged."""
    if not problem.transient:
        return evolving
    h = ufl.CellDiameter(problem.bundle.mesh)
    hold = sum(k / h**2 * (u - u0) * v * dx for k, dx in stiffness)
    return (1 - problem.initial) * evolving + problem.initial * hold
