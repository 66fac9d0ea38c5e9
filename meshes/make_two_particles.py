"""Write ``two_particles.msh``: a 2D composite-cathode cell, 20 x 20 (mesh units: um).

Regions: ``connected`` (a half disk of radius 5 on the bottom face: the current collector
reaches it), ``isolated`` (a disk of radius 4 surrounded by electrolyte: no electronic path)
and ``electrolyte``. Interfaces ``connected_electrolyte``, ``isolated_electrolyte``;
boundaries ``bottom`` (y = 0), ``top`` (y = 20), ``sides``.
Run: ``python meshes/make_two_particles.py`` (used by tests/physics/test_solid_diffusion.py).
"""

from pathlib import Path

import gmsh

SIZE = 20.0


def main(path: Path, mesh_size: float = 0.8) -> None:
    gmsh.initialize(["", "-v", "0"])
    occ = gmsh.model.occ
    box = occ.addRectangle(0, 0, 0, SIZE, SIZE)
    connected = occ.addDisk(6, 0, 0, 5, 5)
    isolated = occ.addDisk(13, 12, 0, 4, 4)
    out, _ = occ.fragment([(2, box)], [(2, connected), (2, isolated)])
    occ.synchronize()
    # drop the part of the half disk outside the box
    for dim, tag in gmsh.model.getEntities(2):
        _, y0, _, _, _, _ = gmsh.model.getBoundingBox(dim, tag)
        if y0 < -1e-6:
            occ.remove([(dim, tag)], recursive=True)
    occ.synchronize()
    regions: dict[str, list[int]] = {}
    for _, tag in gmsh.model.getEntities(2):
        x0, y0, _, x1, y1, _ = gmsh.model.getBoundingBox(2, tag)
        if x1 - x0 > SIZE - 1e-6:
            name = "electrolyte"
        elif y0 < 1e-6:
            name = "connected"
        else:
            name = "isolated"
        regions.setdefault(name, []).append(tag)
    for k, (name, tags) in enumerate(sorted(regions.items())):
        gmsh.model.addPhysicalGroup(2, tags, 1 + k, name=name)
    owner = {t: n for n, tags in regions.items() for t in tags}
    lines: dict[str, list[int]] = {}
    for _, c in gmsh.model.getEntities(1):
        x0, y0, _, x1, y1, _ = gmsh.model.getBoundingBox(1, c)
        up, _ = gmsh.model.getAdjacencies(1, c)
        sides = sorted({owner[t] for t in up})
        if len(sides) == 2:
            name = "_".join(n for n in ("connected", "isolated", "electrolyte") if n in sides)
        elif y1 < 1e-6:
            name = "bottom"
        elif y0 > SIZE - 1e-6:
            name = "top"
        else:
            name = "sides"
        lines.setdefault(name, []).append(c)
    for k, (name, curves) in enumerate(sorted(lines.items())):
        gmsh.model.addPhysicalGroup(1, curves, 10 + k, name=name)
    gmsh.option.setNumber("Mesh.MeshSizeMax", mesh_size)
    gmsh.model.mesh.generate(2)
    gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
    gmsh.write(str(path))
    gmsh.finalize()


if __name__ == "__main__":
    main(Path(__file__).with_name("two_particles.msh"))
