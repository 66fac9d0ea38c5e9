"""Which particles can work: per particle of an active phase, whether it reaches the current
collector through the electronic network and the separator through the ionic network (no
PDE).

A *particle* is a connected piece of the particle regions (particles fused at a neck are one
piece, as they share their ions). A *network* is the set of regions that conduct a carrier;
its connected components that touch a face (the collector face for electrons, the separator
face for ions) carry that carrier there. A particle *has a path* when it belongs to, or
touches, such a component:

- voxel images: components of face neighbours (the 6-connectivity of the finite-volume
  transport) from the labelled image, touching = sharing a voxel face;
- meshes (gmsh RVEs or images on a mesh): components of cells joined through their P1 dofs
  (the coupling of the FEM transport), touching = sharing a mesh vertex. For the
  composite-cathode builder this is its contact graph: touching particles are fused by
  necks, all other gaps are at least ``min_gap`` wide.

A particle without an electronic path cannot be discharged (no electrons reach it); one
without an ionic path cannot either (no ions reach it); both are unused capacity.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from sse_fem.microstructure.connectivity import structure

AXES = "xyz"


@dataclass(frozen=True)
class ParticlePaths:
    """Per particle: volume [m^dim], centroid [m] (x, y, z) and whether it has an electronic
    path to the collector and an ionic path to the separator."""

    volume: np.ndarray
    centroid: np.ndarray
    electronic: np.ndarray
    ionic: np.ndarray

    def figures(self) -> dict[str, float | int]:
        """Counts and volume shares of the particles with each path, with both, and missing
        one or both (unusable capacity)."""
        both = self.electronic & self.ionic
        total = float(self.volume.sum()) or 1.0
        share = {
            "electronic_path": self.electronic,
            "ionic_path": self.ionic,
            "both_paths": both,
            "missing_a_path": ~both,
        }
        out: dict[str, float | int] = {"particles": int(self.volume.size)}
        for name, mask in share.items():
            out[f"particles_{name}"] = int(mask.sum())
            out[f"particle_volume_share_{name}"] = float(self.volume[mask].sum() / total)
        return out

    def write_csv(self, path: Path) -> None:
        """``particles.csv``: one row per particle, largest first."""
        order = np.argsort(-self.volume, kind="stable")
        with open(path, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(
                ["particle", "volume_m3", "x_m", "y_m", "z_m", "electronic_path", "ionic_path"]
            )
            for k, i in enumerate(order):
                writer.writerow(
                    [k, f"{self.volume[i]:.6e}", *(f"{v:.6e}" for v in self.centroid[i])]
                    + [int(self.electronic[i]), int(self.ionic[i])]
                )

    def plot(self, path: Path, depth: str = "z") -> None:
        """``particles.png``: the particles' centroids seen along y (x across, ``depth`` up),
        marker area by volume, colour by the paths they have."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        kinds = [
            ("both paths", self.electronic & self.ionic, "tab:green"),
            ("no electronic path", ~self.electronic & self.ionic, "tab:orange"),
            ("no ionic path", self.electronic & ~self.ionic, "tab:blue"),
            ("neither", ~self.electronic & ~self.ionic, "tab:red"),
        ]
        up = AXES.index(depth)
        size = 400 * (self.volume / max(float(self.volume.max(initial=0.0)), 1e-300)) ** (2 / 3)
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        for label, mask, colour in kinds:
            if mask.any():
                ax.scatter(
                    self.centroid[mask, 0] * 1e6,
                    self.centroid[mask, up] * 1e6,
                    s=size[mask] + 4,
                    c=colour,
                    alpha=0.7,
                    edgecolors="k",
                    linewidths=0.4,
                    label=f"{label} ({int(mask.sum())})",
                )
        ax.set_xlabel("x [um]")
        ax.set_ylabel(f"{depth} [um]")
        ax.set_title("particles by their paths (collector: electrons, separator: ions)")
        ax.legend(fontsize=8, loc="best")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)


def face_slice(dim: int, face: str) -> tuple[int, int]:
    """``"z0"`` -> (axis 2, side 0); the faces of an image are x0 x1 y0 y1 (z0 z1)."""
    faces = [f"{a}{s}" for a in AXES[:dim] for s in "01"]
    if face not in faces:
        raise ValueError(f"face {face!r}; allowed: {', '.join(faces)}")
    return AXES.index(face[0]), int(face[1])


def image_particle_paths(
    regions: np.ndarray,
    h: float,
    particles: np.ndarray,
    electronic: np.ndarray,
    ionic: np.ndarray,
    collector: str = "z0",
    separator: str = "z1",
) -> ParticlePaths:
    """Paths of the particles of a voxel image.

    ``regions``: region index per voxel; ``particles``, ``electronic``, ``ionic``: the region
    indices of the particle phase and of the two networks; ``h``: voxel edge [m];
    ``collector`` and ``separator``: image faces."""
    dim = regions.ndim
    faces = structure(dim, 2 * dim)
    labels, count = ndimage.label(np.isin(regions, particles), faces)
    index = np.arange(1, count + 1)
    volume = ndimage.sum_labels(np.ones(regions.shape), labels, index) * h**dim
    centre = np.zeros((count, 3))
    if count:
        grid = np.indices(regions.shape, dtype=float)
        for a in range(dim):
            centre[:, a] = (ndimage.mean(grid[a], labels, index) + 0.5) * h
    paths = []
    for members, face in ((electronic, collector), (ionic, separator)):
        network, _ = ndimage.label(np.isin(regions, members), faces)
        axis, side = face_slice(dim, face)
        boundary = np.take(network, -side, axis=axis)  # the layer of voxels on the face
        reaching = np.zeros(network.max() + 1, dtype=bool)
        reaching[np.unique(boundary[boundary > 0])] = True
        reaching[0] = False
        ok = np.zeros(count + 1, dtype=bool)
        ok[labels[reaching[network]]] = True  # particle voxels inside a reaching component
        for a in range(dim):  # ... or beside one, across a voxel face
            below = tuple(slice(0, -1) if b == a else slice(None) for b in range(dim))
            above = tuple(slice(1, None) if b == a else slice(None) for b in range(dim))
            for mine, theirs in ((below, above), (above, below)):
                ok[labels[mine][reaching[network[theirs]]]] = True
        ok[0] = False
        paths.append(ok[1:])
    return ParticlePaths(volume, centre, paths[0], paths[1])


def mesh_particle_paths(
    bundle: Any,
    particles: list[str],
    electronic: list[str],
    ionic: list[str],
    collector: str = "bottom",
    separator: str = "top",
) -> ParticlePaths:
    """Paths of the particles of a meshed microstructure (``MeshBundle``; collective).

    ``particles``, ``electronic``, ``ionic``: region names; ``collector`` and ``separator``:
    boundary names (aliases such as ``bottom`` and ``top`` included)."""
    from dolfinx import fem, la, mesh

    from sse_fem.mesh.components import (
        cell_volumes,
        component_ids,
        connected_components,
        sum_by_component,
    )

    msh, comm = bundle.mesh, bundle.comm
    tdim = msh.topology.dim
    V = fem.functionspace(msh, ("Lagrange", 1))
    dofs = V.dofmap.list
    n_owned = V.dofmap.index_map.size_local
    n_cells = msh.topology.index_map(tdim).size_local

    def members(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Masks of the local cells of the regions ``names`` and of the local dofs in such a
        cell on any rank (a vertex may touch a cell that its owner does not hold)."""
        cells = np.zeros(dofs.shape[0], dtype=bool)
        cells[bundle.region_cells(names) if names else []] = True
        mark = fem.Function(V)
        mark.x.array[dofs[cells]] = 1.0
        mark.x.scatter_reverse(la.InsertMode.add)
        mark.x.scatter_forward()
        return cells, mark.x.array > 0

    pieces, in_piece = members(particles)
    labels = connected_components(V, pieces)
    keys = labels[dofs[:n_cells, 0]]
    owned = pieces[:n_cells]
    ids = component_ids(keys[owned], int(owned.sum()), comm)  # every cell has one owner
    volumes = cell_volumes(V)
    centres = mesh.compute_midpoints(msh, tdim, np.arange(n_cells, dtype=np.int32))
    sums = sum_by_component(
        keys[owned],
        np.column_stack([volumes[owned], volumes[owned, None] * centres[owned]]),
        ids,
        comm,
    )
    paths = []
    for names, boundary in ((electronic, collector), (ionic, separator)):
        cells, in_network = members(names)
        network = connected_components(V, cells)
        face_dofs = fem.locate_dofs_topological(V, tdim - 1, bundle.facets(boundary))
        local = np.unique(network[face_dofs[in_network[face_dofs]]])
        reaching = np.unique(np.concatenate(comm.allgather(local)))
        # a particle dof shared with a reaching component of the network (on its owner)
        hit = in_piece[:n_owned] & in_network[:n_owned] & np.isin(network[:n_owned], reaching)
        count = sum_by_component(labels[:n_owned][hit], np.ones(int(hit.sum())), ids, comm)
        paths.append(count > 0)
    volume = sums[:, 0]
    centroid = sums[:, 1:] / np.maximum(volume, np.finfo(float).tiny)[:, None]
    return ParticlePaths(volume, centroid, paths[0], paths[1])
