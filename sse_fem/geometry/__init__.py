"""gmsh geometry builders, one module per geometry ``type``.

A builder is ``build(cfg, model_name) -> dict`` run on rank 0 inside an initialised gmsh
session: it creates the model, one physical group per name in ``cfg.group_names()``, meshes it,
and returns a report (achieved fractions, contacts, ...) for ``summary.json``.
Builders that make dolfinx meshes directly (voxel images) register in ``DIRECT_BUILDERS``.
Each gmsh builder also has ``estimate(cfg)``, a rough element count computed before meshing
(``ESTIMATES``), checked against ``geometry.mesh.max_elements``. With ``mesh.refinements: N``
gmsh meshes at 2^N times the sizes (about 2^(-dim N) of the elements) and dolfinx refines N
times, so the estimate at the given sizes counts the final mesh; builders that know their
curved surfaces exactly register them in ``SURFACES`` so that refined vertices are put back on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sse_fem.errors import CaseError
from sse_fem.geometry import composite_cathode, layered_cell, metal_se_interface, polycrystal


def _build_image(cfg: Any, comm: Any) -> Any:
    """Deferred import: ``from_image`` needs dolfinx, the gmsh builders do not."""
    from sse_fem.geometry import from_image

    return from_image.build(cfg, comm)


GMSH_BUILDERS: dict[str, Callable[[Any], dict]] = {
    "layered_cell": layered_cell.build,
    "composite_cathode": composite_cathode.build,
    "metal_se_interface": metal_se_interface.build,
    "polycrystal": polycrystal.build,
}

#: type -> build(cfg, comm) -> MeshBundle, for meshes made without gmsh
DIRECT_BUILDERS: dict[str, Callable[..., Any]] = {
    "from_image": _build_image,
    "voxel_packing": _build_image,
}

#: type -> estimate(cfg) -> rough element count of the gmsh builder's mesh, before meshing
ESTIMATES: dict[str, Callable[[Any], float]] = {
    "layered_cell": layered_cell.estimate,
    "composite_cathode": composite_cathode.estimate,
    "metal_se_interface": metal_se_interface.estimate,
    "polycrystal": polycrystal.estimate,
}

#: type -> surfaces(cfg, report) -> (facet group, move) or None: ``move`` puts vertices of the
#: group's curved facets onto the exact surface (``sse_fem.mesh.refine.Snap``)
SURFACES: dict[str, Callable[[Any, dict], tuple[str, Callable] | None]] = {
    "metal_se_interface": metal_se_interface.void_surfaces,
}


def check_element_count(cfg: Any, elements: float, advice: str) -> None:
    """Refuse a mesh of more than ``cfg.mesh.max_elements`` elements (same on every rank)."""
    limit = cfg.mesh.max_elements
    if elements > limit:
        raise CaseError(
            f"this mesh would have about {elements:.3g} elements, more than "
            f"geometry.mesh.max_elements = {limit:.3g}; {advice}, or raise "
            "geometry.mesh.max_elements",
            "geometry",
        )
