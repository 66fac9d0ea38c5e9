"""Connectivity of a phase in a voxel image: which share of it can carry a current from one
face to the opposite one (no PDE; labelled components).

For a direction (axis) the voxels of the phase fall into its connected components
(face neighbours only — ``connectivity=6`` in 3D, 4 in 2D — or also edge and corner
neighbours — 26 / 8). A component is

- *percolating* when it touches both faces normal to the axis (it carries current through),
- *dead-end* when it touches exactly one of them (reachable, but a dead end),
- *isolated* when it touches neither.

Fractions are of the whole image volume (their sum is the phase's volume fraction) and of
the phase. A transport solve couples face neighbours only, so its conducting network is the
6-connected one; 26-connectivity is what some image tools report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

AXES = "xyz"


@dataclass(frozen=True)
class Connectivity:
    """Volume fractions of one phase along one axis (fractions of the whole image)."""

    axis: str
    connectivity: int
    phase_fraction: float
    percolating: float
    dead_end: float
    isolated: float
    components: int

    def as_dict(self) -> dict[str, float | int | str]:
        share = self.phase_fraction or 1.0
        return {
            "axis": self.axis,
            "connectivity": self.connectivity,
            "volume_fraction": self.phase_fraction,
            "percolating_fraction": self.percolating,
            "dead_end_fraction": self.dead_end,
            "isolated_fraction": self.isolated,
            "percolating_share_of_phase": self.percolating / share,
            "components": self.components,
        }


def structure(dim: int, connectivity: int) -> np.ndarray:
    """The neighbourhood of ``scipy.ndimage.label``: faces only (4 / 6) or all (8 / 26)."""
    allowed = {2: (4, 8), 3: (6, 26)}[dim]
    if connectivity not in allowed:
        raise ValueError(f"connectivity in {dim}D is {allowed[0]} or {allowed[1]}")
    return ndimage.generate_binary_structure(dim, 1 if connectivity == allowed[0] else dim)


def labelled(mask: np.ndarray, connectivity: int) -> tuple[np.ndarray, int]:
    """Component labels (0 outside ``mask``) and their number."""
    labels, count = ndimage.label(mask, structure=structure(mask.ndim, connectivity))
    return labels, int(count)


def touching(labels: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per component label (index = label), whether it touches the low and the high face
    normal to ``axis``."""
    count = int(labels.max())
    low = np.zeros(count + 1, bool)
    high = np.zeros(count + 1, bool)
    low[np.unique(np.take(labels, 0, axis=axis))] = True
    high[np.unique(np.take(labels, -1, axis=axis))] = True
    low[0] = high[0] = False
    return low, high


def phase_connectivity(mask: np.ndarray, axis: int, connectivity: int = 6) -> Connectivity:
    """Percolating, dead-end and isolated fractions of the phase ``mask`` along ``axis``."""
    if mask.ndim == 2 and connectivity in (6, 26):
        connectivity = {6: 4, 26: 8}[connectivity]
    labels, count = labelled(mask, connectivity)
    low, high = touching(labels, axis)
    sizes = np.bincount(labels.ravel(), minlength=count + 1).astype(float)
    sizes[0] = 0.0
    total = float(mask.size)
    through = low & high
    one_side = low ^ high
    return Connectivity(
        axis=AXES[axis],
        connectivity=connectivity,
        phase_fraction=float(mask.sum()) / total,
        percolating=float(sizes[through].sum()) / total,
        dead_end=float(sizes[one_side].sum()) / total,
        isolated=float(sizes[~(low | high)].sum()) / total,
        components=count,
    )
