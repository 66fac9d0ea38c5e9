"""Solver presets, the compact Jacobian and the scaled Newton convergence test."""

from __future__ import annotations

from pathlib import Path

from mpi4py import MPI

import numpy as np
import pytest
import yaml

from sse_fem.config import validate_case
from sse_fem.config.schema import SolverBlock
from sse_fem.mesh import build_mesh
from sse_fem.physics.nernst_planck import NernstPlanck
from sse_fem.physics.nernst_planck.module import ALWAYS_DIRECT
from sse_fem.problem import build_problem
from sse_fem.solvers.presets import newton_options

VOIDS = Path(__file__).resolve().parents[2] / "cases" / "li_void_stripping" / "case.yaml"


@pytest.mark.parametrize(
    ("preset", "dim", "has_global", "dofs", "expected", "pc"),
    [
        ("auto", 1, True, 10**7, "direct", "lu"),
        ("auto", 2, True, 10**4, "direct", "lu"),
        ("auto", 2, False, 10**6, "iterative", "gamg"),
        ("auto", 2, True, 10**6, "iterative_schur", "fieldsplit"),
        ("auto", 3, False, 10**3, "iterative", "gamg"),
        ("auto", 3, True, 10**3, "iterative_schur", "fieldsplit"),
        ("direct", 3, True, 10**6, "direct", "lu"),
        ("iterative", 2, False, 10**3, "iterative", "gamg"),
    ],
)
def test_preset_choice(preset, dim, has_global, dofs, expected, pc):
    name, opts = newton_options(SolverBlock(preset=preset), dim, has_global, dofs)
    assert name == expected
    assert opts["pc_type"] == pc


def test_a_physics_preconditioner_replaces_amg():
    """``Physics.krylov_preconditioner`` (Nernst-Planck's additive Schwarz) replaces GAMG in
    both single-physics iterative presets, in the fields block of the Schur split."""
    asm = NernstPlanck(None).krylov_preconditioner()  # type: ignore[arg-type]
    _, plain = newton_options(SolverBlock(), 3, False, 10**6, preconditioner=asm)
    assert plain["pc_type"] == "asm" and plain["sub_pc_type"] == "ilu"
    assert "pc_gamg_threshold" not in plain
    _, schur = newton_options(SolverBlock(), 3, True, 10**6, preconditioner=asm)
    assert schur["pc_type"] == "fieldsplit"
    assert schur["fieldsplit_fields_pc_type"] == "asm"
    assert schur["fieldsplit_fields_sub_pc_factor_levels"] == 1
    direct, _ = newton_options(SolverBlock(), 3, False, 10**7, direct_max_dofs=ALWAYS_DIRECT)
    assert direct == "direct"  # electroneutral Nernst-Planck regions: LU at every size


def test_raw_petsc_options_override_the_preset():
    _, opts = newton_options(SolverBlock(petsc_options={"pc_type": "ilu"}), 3, False)
    assert opts["pc_type"] == "ilu"


def _void_problem(comm):
    data = yaml.safe_load(VOIDS.read_text())
    data["outputs"] = {"fields": False, "plots": False}
    case = validate_case(data)
    return build_problem(case, build_mesh(case, comm))


def _rows(mat):
    ia, ja, values = mat.getValuesCSR()
    return np.diff(ia), ja, values


@pytest.mark.mpi
def test_compact_jacobian_drops_only_structural_zeros(comm):
    """dolfinx's interface sparsity has dense rows of zeros; the solver's matrix keeps every
    nonzero entry of the assembled Jacobian and no dense rows."""
    problem = _void_problem(comm)
    ok, its, _ = problem.solve()
    assert ok and its >= 1
    full_counts, _, full_values = _rows(problem.nonlinear.A)
    counts, _, values = _rows(problem.A)
    # same nonzero values (the last Jacobian), far fewer stored entries
    assert np.sort(values[values != 0]) == pytest.approx(np.sort(full_values[full_values != 0]))
    n_full = comm.allreduce(int(full_counts.sum()))
    n_compact = comm.allreduce(int(counts.sum()))
    assert n_compact < n_full
    # no dense field rows: the widest row left is the terminal potential's (global unknown)
    terminal = problem.unknown("V_terminal").u.function_space.dofmap.index_map.size_local
    widest_field_row = comm.allreduce(
        int(counts[: len(counts) - terminal].max(initial=0)), op=MPI.MAX
    )
    assert widest_field_row < 40
    problem.close()


@pytest.mark.mpi
def test_newton_stops_on_scaled_update(comm):
    """Convergence in units of the unknowns: a repeated solve from the converged state takes
    one Newton step and reports a scaled residual/update below the tolerance."""
    problem = _void_problem(comm)
    assert problem.solve()[0]
    ok, its, _ = problem.solve()
    assert ok and its == 1
    residual, update = problem.convergence.last
    assert min(residual, update) < problem.case.solver.newton_tolerance
    problem.close()


def test_non_finite_norms_are_a_divergence_reason():
    """NaN/inf in the residual or update ends Newton with a PETSc divergence reason."""
    from petsc4py import PETSc

    from sse_fem.solvers.convergence import ScaledConvergence

    scales = PETSc.Vec().createSeq(3, comm=PETSc.COMM_SELF)
    scales.set(1.0)
    test = ScaledConvergence(PETSc.Mat(), scales, 1e-10)
    reason = test(PETSc.SNES(), 1, (1.0, float("nan"), 1.0))
    assert reason == PETSc.SNES.ConvergedReason.DIVERGED_FUNCTION_NANORINF
    assert test(PETSc.SNES(), 0, (0.0, 0.0, 0.0)) == PETSc.SNES.ConvergedReason.CONVERGED_FNORM_ABS
