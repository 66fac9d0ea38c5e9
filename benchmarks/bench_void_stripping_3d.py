"""3D galvanostatic stripping through a voided Li | LLZO interface (cases/li_void_stripping/
case_3d.yaml) at three mesh sizes on 1 and 2 ranks, meshed directly by gmsh (refinements 0) and
by gmsh at 2^N times the sizes followed by N uniform refinements (``sse_fem.mesh.refine``):
dofs, Newton and Krylov (inner GMRES + GAMG) iterations, wall time, the meshing share of it and peak
memory. The Krylov count per Newton step should stay nearly flat with refinement.

Geometric error: ``contact area error`` is the meshed contact (``metal_electrolyte``) area over
the exact one (the builder's OCC area) - 1; refined vertices on the void rims and caps are put
back on the exact surfaces (benchmarks/bench_meshing.py measures the error without that).

Run:  python benchmarks/bench_void_stripping_3d.py [--sizes 1.2,0.6,0.28] [--ranks 1,2]
        [--refinements 0,1]
Writes benchmarks/results/void_stripping_3d.{json,md}.
"""

from __future__ import annotations

import yaml
from harness import ROOT, main

CASE = ROOT / "cases" / "li_void_stripping" / "case_3d.yaml"


def case_at(size_um: float, refinements: int = 0) -> dict:
    """The shipped 3D case with bulk element size ``size_um`` and 5x finer void edges."""
    data = yaml.safe_load(CASE.read_text())
    data["geometry"]["mesh"] = {
        "size": f"{size_um} um",
        "interface_size": f"{size_um / 5} um",
        "refinements": refinements,
    }
    data["solver"] = {"preset": "iterative"}
    data["outputs"] = {"fields": False, "plots": False}
    return data


def contact_area_error(row: dict) -> dict:
    """Relative error of the meshed contact area against the exact (OCC) one."""
    mesh_area = row["results"]["conduction.metal_electrolyte.area_m2"]
    exact = row["mesh_info"]["interface_area_m"]
    return {"contact_area_error": float(f"{mesh_area / exact - 1:.2e}")}


if __name__ == "__main__":
    main(
        "void_stripping_3d",
        case_at,
        "1.2,0.6,0.28",
        default_refinements="0,1",
        derive=contact_area_error,
        extra_columns=[("contact_area_error", "contact area error")],
    )
