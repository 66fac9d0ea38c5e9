"""3D Li | LLZO | Li cell with Butler-Volmer at both interfaces, potentiostatic (iterative
preset: GMRES + GAMG) at three mesh sizes on 1 and 2 ranks: dofs, Newton and Krylov
iterations, wall time and peak memory.

Run:  python benchmarks/bench_conduction_3d.py [--sizes 4,2,1.4] [--ranks 1,2]
Writes benchmarks/results/conduction_3d.{json,md}.
"""

from __future__ import annotations

import yaml
from harness import ROOT, main


def case_at(size_um: float) -> dict:
    """The symmetric cell, 60 um wide, 50 mV across, element size ``size_um``."""
    data = yaml.safe_load((ROOT / "cases" / "symmetric_cell" / "case.yaml").read_text())
    data["geometry"] |= {"dimension": 3, "width": "60 um"}
    data["geometry"]["mesh"] = {"size": f"{size_um} um"}
    data["boundary_conditions"]["conduction"][0] = {
        "name": "bottom",
        "type": "potential",
        "value": "50 mV",
    }
    data["solver"] = {"preset": "iterative", "linear_rtol": 1e-8}
    data["outputs"] = {"fields": False, "plots": False}
    return data


if __name__ == "__main__":
    main("conduction_3d", case_at, "4,2,1.4")
