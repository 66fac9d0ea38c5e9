"""Nernst-Planck/Poisson cost: time, Newton iterations and dofs of steady space-charge
problems, each (size, rank count) in its own ``mpirun``.

- ``gc1d``: Gouy-Chapman, a 1:1 electrolyte (10 mol/m^3, eps_r 10, lambda_D = 1.09 nm)
  against a wall at 0.1 V over 40 lambda_D, uniform mesh of SIZE elements (default 400).
- ``scl2d``: a single mobile Li+ on a fixed anion background (1000 mol/m^3, eps_r 20,
  lambda_D = 0.31 nm) depleted by a wall at 5 V_T, square of 40 lambda_D, graded: cells of
  lambda_D / SIZE at the wall growing to 4 lambda_D / SIZE (three refinements by default).
- ``patch3d``: the same layer on a 10 x 10 x 20 lambda_D box (an interface patch), cells of
  lambda_D / SIZE at the wall growing to 4 lambda_D / SIZE.

Run:  python benchmarks/bench_pnp.py gc1d|scl2d|patch3d [--sizes ...] [--ranks 1,2]
Writes benchmarks/results/pnp_<kind>.{json,md}; with PNP_PRESET=direct|iterative in the
environment every run takes that solver preset (default ``auto``: MUMPS up to 1e5 dofs, then
GMRES + additive Schwarz/ILU(1)) and the results go to pnp_<kind>_<preset>.
"""

from __future__ import annotations

import math
import os
import sys

from harness import main

F, R, T = 96485.33212, 8.314462618, 298.15
V_T = R * T / F
KINDS = {"gc1d": "400", "scl2d": "2,4,8", "patch3d": "1,2"}


def debye(eps_r: float, strength: float) -> float:
    return math.sqrt(eps_r * 8.8541878128e-12 * R * T / (F**2 * strength))


def ion(name: str, z: int, c0: float) -> dict:
    return {
        "name": name,
        "charge_number": z,
        "diffusivity": "1e-12 m^2/s",
        "initial_concentration": f"{c0} mol/m^3",
    }


def case_at(size: float) -> dict:
    kind = os.environ["PNP_BENCH"]
    if kind == "gc1d":
        c0, eps_r = 10.0, 10.0
        lam = debye(eps_r, 2 * c0)
        geometry = {
            "dimension": 1,
            "layers": [{"name": "electrolyte", "thickness": f"{40 * lam} m", "cells": int(size)}],
        }
        species, fixed = [ion("A+", 1, c0), ion("B-", -1, c0)], []
        wall = "0.1 V"
    else:
        c0, eps_r = 1000.0, 20.0
        lam = debye(eps_r, c0)
        dim, thickness = (2, 40 * lam) if kind == "scl2d" else (3, 20 * lam)
        geometry = {
            "dimension": dim,
            "width": f"{(40 if dim == 2 else 10) * lam} m",
            "layers": [{"name": "electrolyte", "thickness": f"{thickness} m"}],
            "refine_at": ["bottom"],
            "mesh": {
                "size": f"{4 * lam / size} m",
                "interface_size": f"{lam / size} m",
                "size_growth_distance": f"{5 * lam} m",
            },
        }
        species = [ion("Li+", 1, c0)]
        fixed = [
            {"regions": ["electrolyte"], "concentration": f"{c0} mol/m^3", "charge_number": -1}
        ]
        wall = f"{5 * V_T} V"
    reservoir = {s["name"]: s["initial_concentration"] for s in species}
    return {
        "case": {"name": f"pnp_{kind}"},
        "geometry": {"type": "layered_cell", **geometry},
        "materials": {"el": {"category": "solid_electrolyte", "relative_permittivity": eps_r}},
        "regions": [{"name": "electrolyte", "material": "el"}],
        "physics": {"nernst_planck": {"species": species, "fixed_charge": fixed}},
        "boundary_conditions": {
            "nernst_planck": [
                {"name": "bottom", "potential": wall},
                {"name": "top", "potential": "0 V", "concentration": reservoir},
            ]
        },
        "outputs": {"fields": False, "plots": False},
        "solver": {"preset": os.environ.get("PNP_PRESET", "auto")},
    }


def derive(row: dict) -> dict:
    return {
        "surface_charge_C_m2": round(
            row["results"].get("nernst_planck.bottom.surface_charge_C_m2", float("nan")), 6
        ),
        "solver_preset": row["preset"],
    }


if __name__ == "__main__":
    if "--single" not in sys.argv:
        if len(sys.argv) < 2 or sys.argv[1] not in KINDS:
            sys.exit(f"usage: bench_pnp.py {'|'.join(KINDS)} [--sizes ...] [--ranks ...]")
        os.environ["PNP_BENCH"] = sys.argv.pop(1)
    kind = os.environ["PNP_BENCH"]
    preset = os.environ.get("PNP_PRESET")
    main(
        f"pnp_{kind}" + (f"_{preset}" if preset else ""),
        case_at,
        KINDS[kind],
        derive=derive,
        extra_columns=(
            ("solver_preset", "preset"),
            ("surface_charge_C_m2", "wall charge [C/m^2]"),
        ),
    )
