"""PETSc option presets: ``direct`` (Newton + MUMPS LU) and ``iterative`` (Newton + Krylov).

``auto`` picks direct for 1D/2D and iterative in 3D. The iterative preset is GMRES + GAMG on
the field unknowns; when the problem has global (real-element) unknowns, e.g. the potential of
a current-controlled terminal, their dense rows and columns are split off with a Schur
complement field split: the explicit Schur complement (one AMG solve per global unknown at
setup) is factored exactly, and the fields block is solved by GMRES + GAMG.
"""

from __future__ import annotations

import itertools

_counter = itertools.count()

FIELDS_SPLIT = "fields"
GLOBAL_SPLIT = "globals"


def unique_prefix(name: str) -> str:
    """A rank-independent options prefix, unique within this process (counter in order)."""
    return f"ssefem_{name}_{next(_counter)}_"


def newton_options(solver, dim: int, has_global_unknown: bool) -> tuple[str, dict]:
    """(preset name, PETSc options) for a ``SolverBlock``; preset is ``direct``,
    ``iterative`` or ``iterative_schur`` (iterative with split-off global unknowns)."""
    preset = solver.preset
    if preset == "auto":
        preset = "direct" if dim < 3 else "iterative"
    opts: dict = {
        "snes_type": "newtonls",
        "snes_linesearch_type": "basic",  # bt stalls on the badly scaled SI residual
        "snes_max_it": solver.newton_max_it,
        "snes_error_if_not_converged": False,
    }
    amg = {
        "pc_type": "gamg",
        "pc_gamg_threshold": 0.01,
    }
    # Symmetric Jacobi scaling: conductivities differ by up to 1e9 between metals and
    # electrolytes, so an unscaled residual norm would hide the electrolyte rows.
    scaled = {"ksp_diagonal_scale": True, "ksp_diagonal_scale_fix": True}
    if preset == "direct":
        opts |= {
            "ksp_type": "preonly",
            "pc_type": "lu",
            "pc_factor_mat_solver_type": "mumps",
            "mat_mumps_icntl_14": 80,
            "mat_mumps_icntl_24": 1,
        }
    elif not has_global_unknown:
        opts |= (
            {
                "ksp_type": "gmres",
                "ksp_gmres_restart": 100,
                "ksp_rtol": solver.linear_rtol,
                "ksp_max_it": 1000,
            }
            | amg
            | scaled
        )
    else:
        preset = "iterative_schur"
        inner = f"fieldsplit_{FIELDS_SPLIT}_"
        opts |= (
            {
                "ksp_type": "fgmres",
                "ksp_rtol": solver.linear_rtol,
                "ksp_max_it": 100,
                "pc_type": "fieldsplit",
                "pc_fieldsplit_type": "schur",
                "pc_fieldsplit_schur_fact_type": "full",
                "pc_fieldsplit_schur_precondition": "full",
                f"{inner}ksp_type": "gmres",
                f"{inner}ksp_gmres_restart": 100,
                f"{inner}ksp_rtol": min(solver.linear_rtol, 1e-10),
                f"{inner}ksp_max_it": 1000,
                f"fieldsplit_{GLOBAL_SPLIT}_ksp_type": "preonly",
                f"fieldsplit_{GLOBAL_SPLIT}_pc_type": "redundant",  # small dense: LU on every rank
            }
            | scaled
            | {f"{inner}{k}": v for k, v in amg.items()}
        )
    opts |= {k: v for k, v in solver.petsc_options.items()}
    return preset, opts
