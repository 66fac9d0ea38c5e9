"""Newton convergence measured in the units of the unknowns.

Residual rows of a coupled SI system differ by many decades (a metal row carries sigma ~ 1e7
S/m, an electrolyte row ~ 1e-2 S/m, a terminal row ~ 1/R_c), so neither the absolute nor the
relative residual norm is meaningful, and the relative update stalls at round-off. Both
measures used here are per dof and in the unknown's units, divided by its typical scale:

- Jacobi-scaled residual |F_i / J_ii| / s_i: the correction that row i still asks for;
- Newton update |dx_i| / s_i.

The solve is converged when the update is below ``tolerance`` everywhere (infinity norm), or
when the scaled residual is, from the second iteration on and once the update is below
sqrt(``tolerance``) (Newton's quadratic range): the Jacobi scaling underestimates
the error where the system is ill-conditioned (a stiff metal coupled to a terminal), so the
first Newton step, exact for a linear problem only up to the linear solver's accuracy, is
followed by a correction (an iterative refinement step) unless the problem is linear and the
caller lets the residual decide from the first iteration on (``residual_from_iteration=1``),
or on the update alone (``None``: where the linear solves are inexact, e.g. a multi-physics
field split with a stiff global row).
"""

from __future__ import annotations

import numpy as np
from petsc4py import PETSc

Reason = PETSc.SNES.ConvergedReason
INFINITY = PETSc.NormType.INFINITY


class ScaledConvergence:
    """SNES convergence test; ``scales`` is a Vec (layout of the residual) of s_i > 0."""

    def __init__(
        self,
        jacobian: PETSc.Mat,
        scales: PETSc.Vec,
        tolerance: float,
        residual_from_iteration: int | None = 2,
    ) -> None:
        self.jacobian = jacobian
        self.residual_from_iteration = residual_from_iteration
        self.scales = scales
        self.tolerance = tolerance
        self._work = scales.duplicate()
        self._diag = scales.duplicate()
        #: (scaled residual, scaled update) of the last test
        self.last: tuple[float, float] = (np.inf, np.inf)

    def __call__(self, snes: PETSc.SNES, it: int, norms: tuple[float, float, float]) -> int:
        """A ``SNESConvergedReason`` value (ITERATING, CONVERGED_* or DIVERGED_*)."""
        _, update_norm, residual_norm = norms
        if not (np.isfinite(residual_norm) and np.isfinite(update_norm)):
            return Reason.DIVERGED_FUNCTION_NANORINF
        if residual_norm == 0.0:
            return Reason.CONVERGED_FNORM_ABS
        if it == 0:
            return Reason.ITERATING
        # J_ii of the last assembled Jacobian (at the previous iterate): a scale, not a solve
        self.jacobian.getDiagonal(self._diag)
        d = self._diag.array
        d[d == 0.0] = 1.0
        work = self._work
        work.pointwiseDivide(snes.getFunction()[0], self._diag)
        work.pointwiseDivide(work, self.scales)
        residual = float(work.norm(INFINITY))  # type: ignore[arg-type]
        work.pointwiseDivide(snes.getSolutionUpdate(), self.scales)
        update = float(work.norm(INFINITY))  # type: ignore[arg-type]
        self.last = (residual, update)
        rfi = self.residual_from_iteration
        # the residual decides only in Newton's quadratic range (update below sqrt(tol)):
        # where diffusion dominates a row's diagonal (fast solid diffusion, D dt / h^2 ~ 1e5)
        # the Jacobi scaling hides a residual whose row sum, the ion balance, still misses
        quadratic = update < np.sqrt(self.tolerance)
        if residual < self.tolerance and quadratic and rfi is not None and it >= rfi:
            return Reason.CONVERGED_FNORM_ABS
        if update < self.tolerance:
            return Reason.CONVERGED_SNORM_RELATIVE
        return Reason.ITERATING
