"""PETSc option presets: ``direct`` (Newton + MUMPS LU) and ``iterative`` (Newton + Krylov).

``auto`` picks direct for 1D/2D and for coupled problems with a global (real) unknown, which
needs a dense row that AMG cannot handle; iterative (GMRES + GAMG) otherwise in 3D.
"""

from __future__ import annotations

import itertools

_counter = itertools.count()


def unique_prefix(name: str) -> str:
    """A rank-independent options prefix, unique within this process (counter in order)."""
    return f"ssefem_{name}_{next(_counter)}_"


def newton_options(solver, dim: int, has_global_unknown: bool) -> tuple[str, dict]:
    """(preset name, PETSc options) for a ``SolverBlock``."""
    preset = solver.preset
    if preset == "auto":
        preset = "direct" if (dim < 3 or has_global_unknown) else "iterative"
    opts: dict = {
        "snes_type": "newtonls",
        "snes_linesearch_type": "basic",  # bt stalls on the badly scaled SI residual
        "snes_rtol": solver.newton_rtol,
        "snes_atol": solver.newton_atol,
        "snes_stol": solver.newton_stol,
        "snes_max_it": solver.newton_max_it,
        "snes_error_if_not_converged": False,
    }
    if preset == "direct":
        opts |= {
            "ksp_type": "preonly",
            "pc_type": "lu",
            "pc_factor_mat_solver_type": "mumps",
            "mat_mumps_icntl_14": 80,
            "mat_mumps_icntl_24": 1,
        }
    else:
        opts |= {
            "ksp_type": "gmres",
            "ksp_gmres_restart": 100,
            "pc_type": "gamg",
            "ksp_rtol": solver.linear_rtol,
            "ksp_max_it": 1000,
            "pc_gamg_threshold": 0.01,
        }
    opts |= {k: v for k, v in solver.petsc_options.items()}
    return preset, opts
