"""A full 1C discharge of a 3D composite-cathode RVE with about 100 particles: the shipped
``cases/composite_cathode_discharge`` enlarged to 24 x 24 um across and 30 um thick (NMC811
45 vol%, radius 2.5 um: about 120 particles; carbon 5 vol%; Al collector, Li6PS5Cl separator),
discharged at 1C from x = 0.30 to 3.6 V, fields and pictures off. Per mesh size and rank
count: dofs, steps, Newton and Krylov per step, time per step, solve and wall time, peak
memory, the final mean stoichiometry (how much of the capacity the rate delivers).

The composite builder refines necks, gaps and small carbon particles on its own: element sizes
of 2 and 1.7 um gave the same mesh (413k cells, 152k dofs); a finer mesh needs a size below
the carbon radius (1 um): 0.7 um gives 857k cells, 303k dofs. The case's direct solver: one
Krylov iteration per Newton step.

Run:  python benchmarks/bench_composite_discharge.py [--sizes 2,0.7] [--ranks 1,2]
Writes benchmarks/results/composite_discharge.{json,md}.
"""

from __future__ import annotations

import yaml
from harness import ROOT, main

CASE = ROOT / "cases" / "composite_cathode_discharge" / "case.yaml"


def case_at(size_um: float) -> dict:
    data = yaml.safe_load(CASE.read_text())
    data["case"]["name"] = "composite_discharge_benchmark"
    data["geometry"] |= {"width": "24 um", "thickness": "30 um"}
    data["geometry"]["mesh"] = {"size": f"{size_um} um"}
    data["time"]["checkpoint_every"] = 100000  # time the solver, not the restart I/O
    data["outputs"] = {"fields": False, "plots": False}
    return data


def derive(row: dict) -> dict:
    steps = max(1, row["steps"])
    return {
        "newton_per_step": round(row["newton"] / steps, 2),
        "krylov_per_step": round(row["krylov"] / steps, 1),
        "solve_per_step_s": round(row["solve_s"] / steps, 2),
        "final_mean_stoichiometry": round(
            row["results"].get("solid_diffusion.mean_stoichiometry", float("nan")), 4
        ),
    }


if __name__ == "__main__":
    main(
        "composite_discharge",
        case_at,
        "2,0.7",
        derive=derive,
        extra_columns=(
            ("steps", "steps"),
            ("newton_per_step", "Newton/step"),
            ("krylov_per_step", "Krylov/step"),
            ("solve_per_step_s", "solve/step [s]"),
            ("final_mean_stoichiometry", "final mean x"),
        ),
    )
