"""Meshes: ``bundle`` (``MeshBundle``, ``SubMesh``: what physics modules see) and ``build``
(geometry builders or mesh files -> ``MeshBundle``). Geometry and io import ``bundle`` only,
so imports go one way.
"""

from __future__ import annotations

from sse_fem.mesh.build import build_mesh, read_mesh_file, write_mesh_outputs
from sse_fem.mesh.bundle import MeshBundle, SubMesh

__all__ = ["MeshBundle", "SubMesh", "build_mesh", "read_mesh_file", "write_mesh_outputs"]
