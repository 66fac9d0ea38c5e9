"""3D galvanostatic stripping through a voided Li | LLZO interface (cases/li_void_stripping/
case_3d.yaml) at three mesh sizes on 1 and 2 ranks: dofs, Newton and Krylov (inner GMRES +
GAMG) iterations, wall time and peak memory. The Krylov count per Newton step should stay
nearly flat with refinement.

Run:  python benchmarks/bench_void_stripping_3d.py [--sizes 1.2,0.6,0.28] [--ranks 1,2]
Writes benchmarks/results/void_stripping_3d.{json,md}.
"""

from __future__ import annotations

import yaml
from harness import ROOT, main

CASE = ROOT / "cases" / "li_void_stripping" / "case_3d.yaml"


def case_at(size_um: float) -> dict:
    """The shipped 3D case with bulk element size ``size_um`` and 5x finer void edges."""
    data = yaml.safe_load(CASE.read_text())
    data["geometry"]["mesh"] = {"size": f"{size_um} um", "interface_size": f"{size_um / 5} um"}
    data["solver"] = {"preset": "iterative"}
    data["outputs"] = {"fields": False, "plots": False}
    return data


if __name__ == "__main__":
    main("void_stripping_3d", case_at, "1.2,0.6,0.28")
