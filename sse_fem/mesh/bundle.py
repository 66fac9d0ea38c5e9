"""``MeshBundle``: what every physics module sees of the mesh: the parent mesh, its cell and
facet tags, the name maps of regions (cells), interfaces (internal facets between regions) and
boundaries, and helpers for measures by name and per-region submeshes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem, mesh
from dolfinx.mesh import EntityMap

from sse_fem.errors import CaseError


@dataclass
class SubMesh:
    """A submesh of the parent over a set of regions, with maps and transferred facet tags."""

    mesh: mesh.Mesh
    cell_map: EntityMap  # sub -> parent cells
    vertex_map: EntityMap
    facet_tags: mesh.MeshTags | None
    regions: tuple[str, ...]


@dataclass
class MeshBundle:
    """Parent mesh with tags and name maps (region/interface/boundary -> tag)."""

    mesh: mesh.Mesh
    cell_tags: mesh.MeshTags
    facet_tags: mesh.MeshTags | None
    regions: dict[str, int]
    interfaces: dict[str, int]
    boundaries: dict[str, int]
    info: dict = field(default_factory=dict)
    #: names for sets of boundaries (box faces: ``bottom``, ``top``, ``sides``)
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _submeshes: dict = field(default_factory=dict, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def comm(self) -> MPI.Comm:
        return self.mesh.comm

    @property
    def dim(self) -> int:
        return self.mesh.topology.dim

    def region_cells(self, names: list[str] | tuple[str, ...]) -> np.ndarray:
        """Local (owned + ghost) cells of the named regions."""
        ids = [self.regions[n] for n in names]
        return np.sort(np.concatenate([self.cell_tags.find(i) for i in ids])).astype(np.int32)

    def bounds(self) -> np.ndarray:
        """Global bounding box of the mesh, rows (lowest, highest) corner [m] (collective)."""
        x = self.mesh.geometry.x
        lo = np.full(3, np.inf) if not len(x) else x.min(axis=0)
        hi = np.full(3, -np.inf) if not len(x) else x.max(axis=0)
        self.comm.Allreduce(MPI.IN_PLACE, lo, op=MPI.MIN)
        self.comm.Allreduce(MPI.IN_PLACE, hi, op=MPI.MAX)
        return np.array([lo, hi])

    def extent(self) -> float:
        """Largest side of the global bounding box of the mesh [m] (collective)."""
        lo, hi = self.bounds()
        return float(np.max(hi - lo))

    def cell_region_tags(self) -> np.ndarray:
        """Region tag of every local cell (owned + ghost)."""
        imap = self.mesh.topology.index_map(self.dim)
        tags = np.zeros(imap.size_local + imap.num_ghosts, dtype=np.int32)
        tags[self.cell_tags.indices] = self.cell_tags.values
        return tags

    def facets(self, name: str) -> np.ndarray:
        """Local facets of a named interface or boundary (an alias: of all its faces)."""
        tags = (self.interfaces[name],) if name in self.interfaces else self.boundary_tags(name)
        if self.facet_tags is None:
            return np.zeros(0, dtype=np.int32)
        if len(tags) == 1:
            return self.facet_tags.find(tags[0])
        return np.sort(np.concatenate([self.facet_tags.find(t) for t in tags]))

    def boundary_names(self) -> list[str]:
        """Every boundary name a case may use: the tagged faces and the aliases."""
        return [*self.boundaries, *self.aliases]

    def boundary_tags(self, name: str) -> tuple[int, ...]:
        """The facet tags of a boundary or of every face of an alias."""
        if name in self.boundaries:
            return (self.boundaries[name],)
        if name in self.aliases:
            return tuple(self.boundaries[n] for n in self.aliases[name])
        raise CaseError(
            f"no interface or boundary named {name!r}; have "
            f"{sorted(self.interfaces) + sorted(self.boundary_names())}"
        )

    def dx(self) -> ufl.Measure:
        return ufl.Measure("dx", domain=self.mesh, subdomain_data=self.cell_tags)

    def ds(self) -> ufl.Measure:
        """ds with every boundary's facets, and the parts registered by
        ``boundary_part``, as subdomains (one subdomain-data object: every ds of a form
        must share it)."""
        return ufl.Measure("ds", domain=self.mesh, subdomain_data=self._exterior_domains())

    def _exterior_domains(self) -> list[tuple[int, np.ndarray]]:
        """(id, (cell, local facet) pairs) of every boundary; parts are appended in place."""
        if "exterior" not in self._cache:
            tdim = self.dim
            self.mesh.topology.create_connectivity(tdim - 1, tdim)
            self._cache["exterior"] = [
                (tag, self._exterior_pairs(self.facets(name)))
                for name, tag in sorted(self.boundaries.items(), key=lambda item: item[1])
            ]
        return self._cache["exterior"]

    def _exterior_pairs(self, facets: np.ndarray) -> np.ndarray:
        return np.asarray(
            fem.compute_integration_domains(
                fem.IntegralType.exterior_facet, self.mesh.topology, facets.astype(np.int32)
            )
        )

    def boundary_part(self, name: str, regions: tuple[str, ...]) -> ufl.Measure:
        """ds over the facets of boundary ``name`` whose cell lies in ``regions`` (e.g. the
        electrode's share of a face it shares with the electrolyte)."""
        key = ("part", name, tuple(sorted(regions)))
        if key not in self._cache:
            tdim = self.dim
            self.mesh.topology.create_connectivity(tdim - 1, tdim)
            f2c = self.mesh.topology.connectivity(tdim - 1, tdim)
            facets = self.facets(name)
            cells = np.array([f2c.links(f)[0] for f in facets], dtype=np.int32)
            mine = [self.regions[r] for r in regions]
            keep = facets[np.isin(self.cell_region_tags()[cells], mine)] if len(facets) else facets
            domains = self._exterior_domains()
            used = [tag for tag, _ in domains] + list(self.regions.values())
            used += list(self.interfaces.values())
            part = max(used) + 1
            domains.append((part, self._exterior_pairs(keep)))
            self._cache[key] = part
        return self.ds()(self._cache[key])

    def submesh(self, regions: tuple[str, ...]) -> SubMesh:
        """Submesh over ``regions`` (cached), with the parent facet tags transferred."""
        key = tuple(sorted(regions))
        if key not in self._submeshes:
            tdim = self.dim
            self.mesh.topology.create_connectivity(tdim - 1, tdim)
            sm, cmap, vmap, _ = mesh.create_submesh(self.mesh, tdim, self.region_cells(key))
            ft = None
            if self.facet_tags is not None:
                ft = mesh.transfer_meshtags_to_submesh(self.facet_tags, sm, vmap, cmap)
            sm.topology.create_connectivity(tdim - 1, tdim)
            self._submeshes[key] = SubMesh(sm, cmap, vmap, ft, key)
        return self._submeshes[key]

    def interface_regions(self) -> dict[str, set[str]]:
        """Interface name -> names of the regions on its two sides (global; cached)."""
        if "interface_regions" in self._cache:
            return self._cache["interface_regions"]
        tdim = self.dim
        self.mesh.topology.create_connectivity(tdim - 1, tdim)
        f2c = self.mesh.topology.connectivity(tdim - 1, tdim)
        tag_of = self.cell_region_tags()
        name_of = {t: n for n, t in self.regions.items()}
        offsets, cells = f2c.offsets, f2c.array
        out: dict[str, set[str]] = {}
        for name in self.interfaces:
            facets = self.facets(name)
            first, count = offsets[facets], offsets[facets + 1] - offsets[facets]
            within = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
            tags = np.unique(tag_of[cells[np.repeat(first, count) + within]])
            local = {name_of.get(int(t), "?") for t in tags}
            out[name] = set().union(*self.comm.allgather(local))
        self._cache["interface_regions"] = out
        return out

    def interface_domains(self, name: str, plus: SubMesh) -> np.ndarray:
        """Owned facets of interface ``name`` as (cell+, lf+, cell-, lf-) with '+' in ``plus``.

        dolfinx picks '+' arbitrarily (and differently per rank): this imposes the order.
        """
        facets = self.facets(name)
        d = (
            np.asarray(
                fem.compute_integration_domains(
                    fem.IntegralType.interior_facet, self.mesh.topology, facets
                )
            )
            .reshape(-1, 4)
            .copy()
        )
        if len(d):
            flip = plus.cell_map.sub_topology_to_topology(d[:, 0], inverse=True) < 0
            d[flip] = d[flip][:, [2, 3, 0, 1]]
        return d.ravel()

    def measure(self, name: str, metadata: dict | None = None) -> ufl.Measure:
        """ds over boundary ``name`` (all boundary facets are exterior)."""
        tags = self.boundary_tags(name)
        return self.ds()(tags[0] if len(tags) == 1 else tags, metadata=metadata or {})

    def area(self, name: str) -> float:
        """Global measure (length/area) of a boundary or interface."""
        if name in self.boundaries or name in self.aliases:
            form = fem.form(fem.Constant(self.mesh, 1.0) * self.measure(name))
        else:
            dS = ufl.Measure(
                "dS",
                domain=self.mesh,
                subdomain_data=[
                    (
                        1,
                        np.asarray(
                            fem.compute_integration_domains(
                                fem.IntegralType.interior_facet,
                                self.mesh.topology,
                                self.facets(name),
                            )
                        ),
                    )
                ],
            )
            form = fem.form(fem.Constant(self.mesh, 1.0) * dS(1))
        return self.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)

    def volume(self, region: str) -> float:
        form = fem.form(fem.Constant(self.mesh, 1.0) * self.dx()(self.regions[region]))
        return self.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)


def parent_cells(sub: SubMesh) -> tuple[np.ndarray, np.ndarray]:
    """(local submesh cells, their parent cells), owned + ghost."""
    imap = sub.mesh.topology.index_map(sub.mesh.topology.dim)
    cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
    return cells, sub.cell_map.sub_topology_to_topology(cells, inverse=False)
