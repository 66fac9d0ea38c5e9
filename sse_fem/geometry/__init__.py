"""gmsh geometry builders, one module per geometry ``type``.

A builder is ``build(cfg, model_name) -> dict`` run on rank 0 inside an initialised gmsh
session: it creates the model, one physical group per name in ``cfg.group_names()``, meshes it,
and returns a report (achieved fractions, contacts, ...) for ``summary.json``.
Builders that make dolfinx meshes directly (voxel images) register in ``DIRECT_BUILDERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
DIRECT_BUILDERS: dict[str, Callable[..., Any]] = {"from_image": _build_image}
