"""The coupling path end to end: a throw-away second physics (a scalar "temperature" s on the
parent mesh, heated by conduction's Joule heat and feeding conduction's sigma(T) and kinetics)
meets conduction only through shared quantities, monolithically, with quadratic Newton
convergence, and the compact Jacobian keeps the coupling that vanishes at the rest state."""

from __future__ import annotations

from mpi4py import MPI

import numpy as np
import pytest
import ufl
from dolfinx import fem
from petsc4py import PETSc

from sse_fem.mesh import build_mesh
from sse_fem.physics.base import Physics
from sse_fem.physics.conduction import Conduction
from sse_fem.problem import Problem
from tests.physics.helpers import symmetric_case

T0 = 298.15  # K
K_TOY = 2e-7  # W/(m K): tiny, so that the Joule heat of 10 A/m^2 warms the cell by ~10 K


class Heating(Physics):
    """-div(k grad s) = Joule heat of every carrier; s = T0 on top and bottom; s is the
    shared temperature."""

    name = "heating"

    def declare(self, problem: Problem) -> None:
        V = fem.functionspace(problem.bundle.mesh, ("Lagrange", 1))
        self.s = problem.add_unknown(self.name, "s", V, None, scale=T0)
        self.s.x.array[:] = T0
        problem.provide("temperature", self.s, "K", self.name)

    def residual(self, problem: Problem) -> ufl.Form:
        v = problem.test("s")
        F = K_TOY * ufl.inner(ufl.grad(self.s), ufl.grad(v)) * ufl.dx(problem.bundle.mesh)
        for carrier in ("ionic", "electronic"):
            q = problem.require(f"joule_heat.{carrier}", self.name)
            F -= q() * v * q.measure
        return F

    def dirichlet(self, problem: Problem) -> list[fem.DirichletBC]:
        b = problem.bundle
        V = self.s.function_space
        b.mesh.topology.create_connectivity(b.dim - 1, b.dim)
        facets = np.concatenate([b.facets(name) for name in ("top", "bottom")])
        dofs = fem.locate_dofs_topological(V, b.dim - 1, facets)
        return [fem.dirichletbc(PETSc.ScalarType(T0), dofs, V)]


def _problem(compact: bool, preset: str = "auto") -> tuple[Problem, Heating, Conduction]:
    case = symmetric_case(2, {"solver": {"preset": preset}}, size="10 um")
    conduction, heating = Conduction(case.physics.conduction), Heating()
    problem = Problem(case, build_mesh(case), [conduction, heating], compact_jacobian=compact)
    return problem, heating, conduction


def _solve(problem: Problem) -> tuple[bool, list[float]]:
    """Solve; returns success and the Newton updates (max over dofs, relative to each
    unknown's scale) of every iteration."""
    updates: list[float] = []
    problem.snes.setMonitor(
        lambda snes, it, norm: updates.append(problem.convergence.last[1]) if it else None
    )
    ok, _, _ = problem.solve()
    problem.snes.cancelMonitor()
    return ok, updates


def _block_nonzeros(problem: Problem, mat: PETSc.Mat, row: str, col: str) -> int:
    """Stored entries of block (row, col) on this rank, summed over ranks."""
    blocks = {uk.name: (first, n) for uk, first, n in problem._owned_blocks()}
    r0, nr = blocks[row]
    cols = set()
    for uk, first, n in problem._owned_blocks():
        if uk.name == col:
            cols = problem.comm.allgather((first, n))
    col_ranges = [range(f, f + n) for f, n in cols]
    count = 0
    for r in range(r0, r0 + nr):
        idx, vals = mat.getRow(r)
        for c, v in zip(idx, vals, strict=True):
            if any(c in cr for cr in col_ranges) and v != 0.0:
                count += 1
    return problem.comm.allreduce(count, op=MPI.SUM)


@pytest.mark.mpi
def test_two_way_coupling_through_shared_quantities_is_monolithic_and_quadratic():
    problem, heating, conduction = _problem(compact=True)
    report = problem.quantities.report()
    assert report["temperature"]["provider"] == "heating"
    assert report["temperature"]["users"] == ["conduction"]
    assert "heating" in report["joule_heat.ionic"]["users"]
    assert not problem.linear
    ok, norms = _solve(problem)
    assert ok
    # quadratic: once small, each Newton update is about the square of the one before
    assert len(norms) <= 8, norms
    small = [(a, b) for a, b in zip(norms[:-1], norms[1:], strict=False) if a < 1e-2]
    assert small, norms
    for a, b in small:
        assert b < 50 * a**2, norms
    s_max = problem.comm.allreduce(heating.s.x.array.max(), op=MPI.MAX)
    row = problem.observe()["conduction"]
    problem_full, heating_full, _ = _problem(compact=False)
    ok_full, norms_full = _solve(problem_full)
    assert ok_full
    row_full = problem_full.observe()["conduction"]
    # same Newton path and the same answer as with dolfinx's full matrix, to the Newton
    # tolerance (in units of the unknowns: volts, kelvin relative to T0)
    tol = problem.case.solver.newton_tolerance
    assert len(norms_full) == len(norms)
    assert row["voltage_V"] == pytest.approx(row_full["voltage_V"], abs=10 * tol)
    s_max_full = problem.comm.allreduce(heating_full.s.x.array.max(), op=MPI.MAX)
    assert s_max == pytest.approx(s_max_full, abs=10 * tol * T0)
    # the coupling is real: Joule heat warms the cell, and the warmer SE conducts better
    assert 3.0 < s_max - T0 < 50.0
    problem_full.close()
    problem.close()


@pytest.mark.mpi
def test_compact_pattern_keeps_couplings_that_vanish_at_the_rest_state():
    """d(Joule heat)/d(phi) = 2 sigma grad(phi) . grad(dphi) is zero at phi = const: an
    assembly at the rest state has no (s, phi_ionic) entries, the compact pattern keeps them
    and they fill in once current flows."""
    problem, _, _ = _problem(compact=True)
    full = problem.nonlinear.A
    fpetsc = fem.petsc
    x = problem.nonlinear.x
    fpetsc.assign([uk.u for uk in problem.unknowns], x)
    fpetsc.assemble_jacobian(
        problem.snes,
        x,
        full,
        None,
        u=problem.nonlinear.u,
        jacobian=problem.nonlinear.J,
        preconditioner=None,
        bcs=problem.bcs,
    )
    assert _block_nonzeros(problem, full, "s", "phi_ionic") == 0  # rest state
    kept = problem._compact.ia[-1] if hasattr(problem, "_compact") else None
    assert kept is not None  # interface terms: the compact copy is in use
    ok, _ = _solve(problem)
    assert ok
    assert _block_nonzeros(problem, problem.A, "s", "phi_ionic") > 0
    problem.close()


@pytest.mark.mpi
def test_iterative_plan_splits_per_physics_and_counts_every_block():
    """Several physics: one split per physics (GAMG each) plus the terminal's global dof,
    under left-preconditioned GMRES; same answer as LU, every block's iterations counted."""
    direct, heating_d, _ = _problem(compact=True)
    assert direct.preset == "direct"
    assert _solve(direct)[0]
    v_direct = direct.observe()["conduction"]["voltage_V"]
    s_direct = direct.comm.allreduce(heating_d.s.x.array.max(), op=MPI.MAX)
    direct.close()
    problem, heating, _ = _problem(compact=True, preset="iterative")
    assert problem.preset == "iterative_fieldsplit"
    assert problem.block_counter.names == ["conduction", "globals", "heating"]
    ok, its, lin = problem.solve()
    assert ok and lin > 0
    counts = problem.block_counter.total
    assert all(counts[name] > 0 for name in ("conduction", "heating", "globals")), counts
    tol = problem.case.solver.newton_tolerance
    assert problem.observe()["conduction"]["voltage_V"] == pytest.approx(v_direct, abs=10 * tol)
    s_max = problem.comm.allreduce(heating.s.x.array.max(), op=MPI.MAX)
    assert s_max == pytest.approx(s_direct, abs=10 * tol * T0)
    problem.close()
