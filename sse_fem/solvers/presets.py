"""PETSc option presets: ``direct`` (Newton + MUMPS LU) and ``iterative`` (Newton + Krylov).

``auto`` picks direct for 1D and for 2D below ``DIRECT_2D_MAX_DOFS``, iterative otherwise
(measured on the voided Li|LLZO case: in 3D GAMG beats MUMPS from 17k dofs on, in 2D from
~1e5; at 2e6 2D dofs 10 s vs 21 s). The iterative preset is GMRES + GAMG on
the field unknowns (left preconditioned, so the Krylov norm is the preconditioned residual,
balanced across fields whose SI rows differ by decades); when the problem has global
(real-element) unknowns, e.g. the potential of a current-controlled terminal, their dense rows
and columns are split off with a Schur complement field split: the explicit Schur complement
(one AMG solve per global unknown at setup) is factored exactly, and the fields block is solved
by GMRES + GAMG.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from sse_fem.solvers.plan import GLOBAL_BLOCK

if TYPE_CHECKING:
    from sse_fem.config.schema import SolverBlock

_counter = itertools.count()

FIELDS_SPLIT = "fields"
GLOBAL_SPLIT = GLOBAL_BLOCK


def unique_prefix(name: str) -> str:
    """A rank-independent options prefix, unique within this process (counter in order)."""
    return f"ssefem_{name}_{next(_counter)}_"


DIRECT_2D_MAX_DOFS = 100_000


def newton_options(
    solver: SolverBlock,
    dim: int,
    has_global_unknown: bool,
    dofs: int = 0,
    linear: bool = False,
    physics_blocks: dict[str, dict] | None = None,
    direct_max_dofs: int = 0,
    lu_workspace_percent: int = 80,
    preconditioner: dict | None = None,
) -> tuple[str, dict]:
    """(preset name, PETSc options) for a ``SolverBlock`` and a problem of ``dofs`` global
    unknowns; preset is ``direct``, ``iterative`` or ``iterative_schur`` (iterative with
    split-off global unknowns) or ``iterative_fieldsplit`` (several physics: one split per
    entry of ``physics_blocks``, name -> that block's options, ``sse_fem.solvers.plan``).
    ``linear`` problems take the direct preset's single LU
    solve as final (SNES ``ksponly``); iterative solves keep Newton's convergence test,
    which accepts them after one step when the residual allows (``ScaledConvergence``).
    ``auto`` also takes the direct preset up to ``direct_max_dofs`` in any dimension (a
    physics whose systems AMG does not handle, ``Physics.direct_max_dofs``);
    ``preconditioner`` replaces GAMG in the single-physics iterative presets
    (``Physics.krylov_preconditioner``)."""
    preset: str = solver.preset
    if preset == "auto":
        small = dim == 1 or (dim == 2 and dofs <= DIRECT_2D_MAX_DOFS) or dofs <= direct_max_dofs
        preset = "direct" if small else "iterative"
    opts: dict = {
        "snes_type": "newtonls",
        "snes_linesearch_type": "basic",  # bt stalls on the badly scaled SI residual
        "snes_max_it": solver.newton_max_it,
        "snes_error_if_not_converged": False,
    }
    amg = preconditioner or {"pc_type": "gamg", "pc_gamg_threshold": 0.01}
    if preset == "direct":
        if linear:
            opts = {"snes_type": "ksponly", "snes_error_if_not_converged": False}
        opts |= {
            "ksp_type": "preonly",
            "pc_type": "lu",
            "pc_factor_mat_solver_type": "mumps",
            "mat_mumps_icntl_14": lu_workspace_percent,
            # no null-pivot detection (ICNTL 24): it turned the near-singular first Newton
            # system of starved kinetics into a zero update that passed as converged
        }
    elif len(physics_blocks or {}) > 1:
        preset = "iterative_fieldsplit"
        # Block Gauss-Seidel over the physics, each block solved by its own Krylov method to
        # a loose tolerance (``Physics.block_options``), inside flexible GMRES. One V-cycle
        # per block under plain GMRES needed 7x more iterations on a coupled heat problem
        # (3D voided Li | LLZO, 17k dofs: 145 vs 7 outer iterations per Newton step) and
        # failed to converge at 490k dofs.
        opts |= {
            "ksp_type": "fgmres",
            "ksp_gmres_restart": 100,
            "ksp_max_it": 1000,
            "ksp_rtol": solver.linear_rtol,
            "pc_type": "fieldsplit",
            "pc_fieldsplit_type": "multiplicative",
        }
        for name, block in (physics_blocks or {}).items():
            opts |= {
                f"fieldsplit_{name}_{k}": v for k, v in ({"ksp_type": "preonly"} | block).items()
            }
        if has_global_unknown:
            opts |= {
                f"fieldsplit_{GLOBAL_BLOCK}_ksp_type": "preonly",
                f"fieldsplit_{GLOBAL_BLOCK}_pc_type": "redundant",
            }
    elif not has_global_unknown:
        if linear:  # one Krylov solve to linear_rtol is final; the balance check verifies it
            opts = {"snes_type": "ksponly", "snes_error_if_not_converged": False}
        krylov = {"ksp_type": "gmres", "ksp_gmres_restart": 100, "ksp_max_it": 1000}
        opts |= krylov | {"ksp_rtol": solver.linear_rtol} | amg
    else:
        preset = "iterative_schur"
        inner = f"fieldsplit_{FIELDS_SPLIT}_"
        opts |= {
            # The factorisation with the explicit Schur complement is exact up to the inner
            # solves; an outer Krylov method would measure the unpreconditioned SI residual,
            # which is dominated by metal rows (sigma ~ 1e7 S/m) and stops too early.
            "ksp_type": "preonly",
            "pc_type": "fieldsplit",
            "pc_fieldsplit_type": "schur",
            "pc_fieldsplit_schur_fact_type": "full",
            "pc_fieldsplit_schur_precondition": "full",
            f"{inner}ksp_type": "gmres",
            f"{inner}ksp_gmres_restart": 100,
            f"{inner}ksp_rtol": solver.linear_rtol,
            f"{inner}ksp_max_it": 1000,
            f"fieldsplit_{GLOBAL_SPLIT}_ksp_type": "preonly",
            f"fieldsplit_{GLOBAL_SPLIT}_pc_type": "redundant",  # small dense: LU on every rank
        } | {f"{inner}{k}": v for k, v in amg.items()}
    opts |= {k: v for k, v in solver.petsc_options.items()}
    return preset, opts
