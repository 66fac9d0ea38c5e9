"""Write ``two_layer.msh``: a 2D, 2 x 1 (mesh units) two-region gmsh mesh with named groups.

Regions ``left``/``right``, interface ``left_right``, boundaries ``west``/``east``/``walls``.
Run: ``python meshes/make_two_layer.py`` (used by tests/geometry/test_from_file.py).
"""

from pathlib import Path

import gmsh


def main(path: Path) -> None:
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    occ = gmsh.model.occ
    occ.addRectangle(0, 0, 0, 1, 1, 1)
    occ.addRectangle(1, 0, 0, 1, 1, 2)
    occ.fragment([(2, 1)], [(2, 2)])
    occ.synchronize()
    gmsh.model.addPhysicalGroup(2, [1], 1, name="left")
    gmsh.model.addPhysicalGroup(2, [2], 2, name="right")
    lines = {}
    for _, c in gmsh.model.getEntities(1):
        x0, y0, _, x1, y1, _ = gmsh.model.getBoundingBox(1, c)
        key = (
            "west"
            if x1 < 1e-6
            else "east"
            if x0 > 2 - 1e-6
            else "left_right"
            if abs(x0 - 1) < 1e-6 and abs(x1 - 1) < 1e-6
            else "walls"
        )
        lines.setdefault(key, []).append(c)
    for k, (name, curves) in enumerate(sorted(lines.items())):
        gmsh.model.addPhysicalGroup(1, curves, 10 + k, name=name)
    gmsh.option.setNumber("Mesh.MeshSizeMax", 0.25)
    gmsh.model.mesh.generate(2)
    gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
    gmsh.write(str(path))
    gmsh.finalize()


if __name__ == "__main__":
    main(Path(__file__).with_name("two_layer.msh"))
