"""Clusters of each conduction field that no terminal or ground reaches.

A carrier's regions may fall apart into clusters: particles of active material or carbon
touching neither the collector nor each other, pockets of electrolyte enclosed by particles.
A cluster that reaches a fixed potential or the terminal carries current; one that reaches
only interface kinetics floats at the potential the kinetics give it (no net current: a
particle without an electronic path stays unused); one that reaches neither has no defined
potential (a singular block): it is held at its starting value and carries nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from dolfinx import fem

from sse_fem.logs import get_logger
from sse_fem.mesh.bundle import parent_cells
from sse_fem.mesh.components import (
    cell_components,
    cell_volumes,
    component_ids,
    connected_components,
    sum_by_component,
)
from sse_fem.physics.conduction.fields import CarrierField, boundary_facets

if TYPE_CHECKING:
    from sse_fem.physics.base import Problem
    from sse_fem.physics.conduction.interfaces import InterfaceModel
    from sse_fem.physics.conduction.terminals import BoundaryElectrode, FixedPotential, Terminal


@dataclass
class Clusters:
    """The clusters of one carrier field and which of them reach what."""

    carrier: str
    ids: np.ndarray  # global component labels
    anchored: np.ndarray  # bool per id: reaches a fixed potential or the terminal
    coupled: np.ndarray  # bool per id: reaches an interface with kinetics
    volume: np.ndarray  # per id [m^dim]
    region_volume: dict[str, np.ndarray]  # per region, per id [m^dim]
    held: fem.Function | None  # start values of the floating clusters' dofs
    bc: fem.DirichletBC | None  # holds the floating clusters

    def report(self) -> dict[str, object]:
        """Counts and volume fractions for the run summary."""
        unreached = ~self.anchored
        total = self.volume.sum()
        return {
            "clusters": len(self.ids),
            "without_path": int(unreached.sum()),
            "floating_held": int((unreached & ~self.coupled).sum()),
            "volume_fraction_without_path": float(self.volume[unreached].sum() / total),
            "region_fraction_without_path": {
                region: float(v[unreached].sum() / v.sum()) if v.sum() > 0 else 0.0
                for region, v in self.region_volume.items()
            },
        }


def find_clusters(
    problem: Problem,
    f: CarrierField,
    fixed: list[FixedPotential],
    terminal: Terminal | None,
    interfaces: list[InterfaceModel],
    electrodes: list[BoundaryElectrode] = (),  # type: ignore[assignment]
) -> Clusters:
    """Label the clusters of ``f`` and hold those no condition or kinetics reach, provided
    something reaches the field at all (else ``Conduction.validate`` reports it)."""
    comm, bundle = problem.comm, problem.bundle
    V = f.u.function_space
    fdim = bundle.dim - 1
    labels = connected_components(V)
    n_owned = V.dofmap.index_map.size_local
    ids = component_ids(labels, n_owned, comm)

    def reached(dofs: list[np.ndarray]) -> np.ndarray:
        local = np.unique(labels[np.concatenate(dofs)]) if dofs else np.zeros(0, np.int64)
        return np.isin(ids, np.concatenate(comm.allgather(local)))

    anchors = [fp.bc.dof_indices()[0] for fp in fixed if fp.carrier == f.carrier]
    ends = [e.boundary for e in electrodes if e.carrier == f.carrier]
    if terminal is not None and terminal.carrier == f.carrier:
        ends.append(terminal.boundary)
    for boundary in ends:
        tag = bundle.boundary_tags(boundary)
        anchors.append(fem.locate_dofs_topological(V, fdim, boundary_facets(f.sub, tag)))
    kinetic = [
        fem.locate_dofs_topological(V, fdim, boundary_facets(f.sub, i.tag))
        for i in interfaces
        if i.law.kind != "blocking" or (i.capacitance is not None and problem.transient)
    ]
    anchored, coupled = reached(anchors), reached(kinetic)
    cells, parents = parent_cells(f.sub)
    n_cells = f.sub.mesh.topology.index_map(bundle.dim).size_local
    keys = cell_components(V, labels)[:n_cells]
    volumes = cell_volumes(V)
    tags = bundle.cell_region_tags()[parents[:n_cells]]
    region_volume = {
        r: sum_by_component(keys, np.where(tags == bundle.regions[r], volumes, 0.0), ids, comm)
        for r in f.regions
    }
    total = np.sum(list(region_volume.values()), axis=0)
    floating = ~(anchored | coupled)
    held, bc = None, None
    if floating.any() and (anchored | coupled).any():
        dofs = np.flatnonzero(np.isin(labels, ids[floating])).astype(np.int32)
        held = fem.Function(V)
        bc = fem.dirichletbc(held, dofs)
        count = int(floating.sum())
        get_logger().warning(
            "%d %s cluster(s) (%.3g %% of the %s volume) touch no terminal, ground or "
            "interface kinetics: held at their starting potential, they carry no current",
            count,
            f.carrier,
            100 * total[floating].sum() / total.sum(),
            f.carrier,
        )
    return Clusters(
        f.carrier,
        ids,
        anchored,
        coupled,
        total,
        region_volume,
        held,
        bc,
    )
