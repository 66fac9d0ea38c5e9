"""Is a residual linear in its unknowns? Then one linear solve is the whole Newton solve."""

from __future__ import annotations

from collections.abc import Sequence

import ufl
from dolfinx import fem
from ufl.algorithms import expand_derivatives, extract_coefficients


def is_linear(blocks: Sequence[ufl.Form | None], unknowns: Sequence[fem.Function]) -> bool:
    """True when no block's derivative with respect to any unknown contains an unknown."""
    ids = {id(u) for u in unknowns}
    for F in blocks:
        if F is None:
            continue
        for u in unknowns:
            dF = expand_derivatives(ufl.derivative(F, u, ufl.TrialFunction(u.function_space)))
            if dF.empty():
                continue
            if any(id(c) in ids for c in extract_coefficients(dF)):
                return False
    return True


__all__ = ["is_linear"]
