"""Sub-voxel convergence of an effective property: its values at n = 1, 2, 3 elements per voxel
edge, the observed order and a Richardson estimate of the converged value with an error bar.

With element edge h = h_voxel / n and S(h) = S + C h^p, three levels fix p (from the ratio of
successive differences), C and S. The error bar is Roache's grid convergence index with a
safety factor of 1.25: ``1.25 |S - S(h_finest)|``. When the differences change sign (no
asymptotic range yet) or do not shrink, there is no order: the estimate is the finest value
and the error bar the largest distance of a coarser level from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: elements per voxel edge of the three levels
LEVELS = (1, 2, 3)
#: the grid convergence index's safety factor for three levels (Roache)
SAFETY = 1.25
#: differences below this fraction of the value: already converged
SETTLED = 1e-12


@dataclass
class Extrapolation:
    """A property at the levels, its observed order (None: none) and converged estimate."""

    levels: tuple[int, ...]
    values: tuple[float, ...]
    order: float | None
    estimate: float
    error_bar: float


def extrapolate(values: tuple[float, ...], levels: tuple[int, ...] = LEVELS) -> Extrapolation:
    """Richardson extrapolation of ``values`` at ``levels`` elements per voxel edge (three,
    increasing)."""
    (s1, s2, s3), (n1, n2, n3) = values, levels
    h1, h2, h3 = 1.0 / n1, 1.0 / n2, 1.0 / n3
    d12, d23 = s1 - s2, s2 - s3
    spread = max(abs(s1 - s3), abs(d12), abs(d23))
    if spread <= SETTLED * max(abs(s3), 1e-300):
        return Extrapolation(levels, values, None, s3, 0.0)
    ratio = d12 / d23 if d23 else math.inf

    def ratio_at(p: float) -> float:
        return (h1**p - h2**p) / (h2**p - h3**p)

    lo, hi = 0.05, 8.0
    if not (d12 * d23 > 0 and ratio_at(lo) < ratio < ratio_at(hi)):
        return Extrapolation(levels, values, None, s3, spread)
    for _ in range(200):  # the ratio grows with p: bisection
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ratio_at(mid) < ratio else (lo, mid)
    p = 0.5 * (lo + hi)
    c = d23 / (h2**p - h3**p)
    estimate = s3 - c * h3**p
    return Extrapolation(levels, values, p, estimate, SAFETY * abs(estimate - s3))
