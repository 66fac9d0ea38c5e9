"""The coupled problem of a case: unknowns from every physics module, shared quantities,
one Newton solver, and the state updates of time stepping (the loop is in ``sse_fem.driver``).

Build pipeline: case -> mesh (``sse_fem.mesh``) -> materials per region -> modules declare
unknowns and provide quantities -> residuals (requiring quantities) and BCs ->
``NonlinearProblem`` (compiled once; parameters are ``fem.Constant``) -> solves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem, la
from dolfinx.fem import petsc as fpetsc
from dolfinx.mesh import EntityMap
from petsc4py import PETSc

from sse_fem.errors import CaseError
from sse_fem.materials.registry import resolve_case_materials
from sse_fem.mesh import MeshBundle
from sse_fem.physics.base import Controller, Physics
from sse_fem.quantities import Quantities, SharedQuantity
from sse_fem.solvers.convergence import ScaledConvergence
from sse_fem.solvers.linearity import is_linear
from sse_fem.solvers.plan import Block, BlockCounter, index_set, plan_blocks
from sse_fem.solvers.presets import (
    FIELDS_SPLIT,
    GLOBAL_SPLIT,
    newton_options,
    unique_prefix,
)
from sse_fem.solvers.sparsity import CompactMatrix, generic_state, generic_unknowns
from sse_fem.unknowns import Unknown

if TYPE_CHECKING:
    from sse_fem.config.schema import Case


def bdf_coefficients(order: int, dt: float, dt_prev: float | None) -> tuple[float, float, float]:
    """(a0, a1, a2) with du/dt ~ (a0 u_n+1 + a1 u_n + a2 u_n-1) / dt (variable-step BDF2)."""
    if order == 1 or dt_prev is None:
        return 1.0, -1.0, 0.0
    w = dt / dt_prev
    return (1 + 2 * w) / (1 + w), -(1 + w), w * w / (1 + w)


class Problem:
    """Unknowns, shared quantities, forms and the Newton solver of one case on one mesh."""

    def __init__(
        self,
        case: Case,
        bundle: MeshBundle,
        modules: Sequence[Physics],
        compact_jacobian: bool = True,
    ) -> None:
        self.case = case
        self.bundle = bundle
        self.comm = bundle.comm
        self.materials = resolve_case_materials(case)
        msh = bundle.mesh
        self.transient = case.time.mode == "transient"
        self.dt = fem.Constant(msh, float(case.time.dt or 1.0))
        self.bdf = [fem.Constant(msh, c) for c in (1.0, -1.0, 0.0)]
        self.time = fem.Constant(msh, 0.0)
        self.load = fem.Constant(msh, 1.0)  # continuation factor (steady)
        #: 1 while the initial state of a transient run is solved (evolving fields hold
        #: their initial condition; quasi-static ones find their rest state), else 0
        self.initial = fem.Constant(msh, 0.0)
        self.quantities = Quantities()
        self.quantities.default("temperature", fem.Constant(msh, case.case.temperature), "K")
        self.unknowns: list[Unknown] = []
        self.modules = list(modules)
        controllers = [m for m in self.modules if isinstance(m, Controller)]
        if len(controllers) > 1:
            raise CaseError(
                f"more than one physics drives the cell: {[m.name for m in controllers]}",
                "physics",
            )
        self.controller: Controller | None = controllers[0] if controllers else None
        for m in self.modules:
            m.declare(self)
        self.entity_maps = [uk.entity_map for uk in self.unknowns if uk.entity_map is not None]
        self.entity_maps = list({id(e): e for e in self.entity_maps}.values())
        spaces = [uk.u.function_space for uk in self.unknowns]
        self._tests = dict(
            zip(
                [uk.name for uk in self.unknowns],
                ufl.TestFunctions(ufl.MixedFunctionSpace(*spaces)),
                strict=True,
            )
        )
        self.residual_form = sum((m.residual(self) for m in self.modules), start=0)
        self.blocks = ufl.extract_blocks(self.residual_form)
        self.bcs = [bc for m in self.modules for bc in m.dirichlet(self)]
        for m in self.modules:
            m.validate(self)
        for m in self.modules:
            m.initial_guess(self)
        has_real = any(uk.is_global for uk in self.unknowns)
        dofs = sum(
            uk.u.function_space.dofmap.index_map.size_global * uk.block_size for uk in self.unknowns
        )
        self.linear = is_linear(self.blocks, [uk.u for uk in self.unknowns])
        # One solve is final for a linear problem unless a stiff terminal row (contact
        # resistance ~1e-9 Ohm m^2) makes a single LU or Krylov step inexact: refine once.
        self.one_solve = self.linear and not has_real
        physics_blocks = {
            m.name: m.block_options()
            for m in self.modules
            if any(uk.physics == m.name and not uk.is_global for uk in self.unknowns)
        }
        self.preset, self.petsc_options = newton_options(
            case.solver,
            bundle.dim,
            has_real,
            dofs,
            linear=self.one_solve,
            physics_blocks=physics_blocks,
            direct_max_dofs=max(m.direct_max_dofs for m in self.modules),
            lu_workspace_percent=max(m.lu_workspace_percent for m in self.modules),
            preconditioner=next(
                (m.krylov_preconditioner() for m in self.modules if m.name in physics_blocks),
                None,
            )
            if len(physics_blocks) == 1
            else None,
        )
        self.prefix = unique_prefix("newton")
        self.nonlinear = fpetsc.NonlinearProblem(
            self.blocks,
            [uk.u for uk in self.unknowns],
            bcs=self.bcs,
            kind="mpi",
            entity_maps=self.entity_maps or None,
            petsc_options_prefix=self.prefix,
            petsc_options=self.petsc_options,
        )
        self.snes = self.nonlinear.solver
        interface_terms = isinstance(self.residual_form, ufl.Form) and any(
            itg.integral_type() == "interior_facet" for itg in self.residual_form.integrals()
        )
        self.A = (
            self._compact_jacobian() if compact_jacobian and interface_terms else self.nonlinear.A
        )
        self.convergence = ScaledConvergence(
            self.A,
            self._scale_vector(),
            case.solver.newton_tolerance,
            residual_from_iteration=self._residual_from_iteration(has_real),
        )
        self._callback_error: BaseException | None = None
        self.snes.setConvergenceTest(self._guarded(self.convergence))
        self._step = {uk.name: fem.Function(uk.u.function_space) for uk in self.unknowns}
        if not self.linear:
            self.snes.setLineSearchPreCheck(self._guarded(self._limit_step))
        self._attach_near_nullspaces()
        self.initialise_history()  # a failed first solve restores the modules' initial guess
        self._dt_prev: float | None = None
        #: changes whenever the state may have changed (solve, restore, restart)
        self.state_token = 0
        self._rows: tuple[int, dict[str, np.ndarray]] | None = None
        self.block_counter: BlockCounter | None = None
        if self.preset in ("iterative_schur", "iterative_fieldsplit"):
            self._set_field_split()

    def _compact_jacobian(self) -> PETSc.Mat:
        """Jacobian without dolfinx's spurious interface entries (``solvers.sparsity``).

        The pattern comes from one assembly at a generic state: unknowns and constants set
        to generic values, so that no coupling that vanishes at a particular state (drift at
        zero field, Joule heat at zero current, a mode constant at 0) is dropped. When
        nothing is dropped, dolfinx's matrix is used as it is (no copy per iteration). Only
        problems with interface (dS) integrals, the source of the spurious entries, get
        here; the others use dolfinx's pattern from the forms as it is."""
        full, snes = self.nonlinear.A, self.snes
        ctx = {"u": self.nonlinear.u, "jacobian": self.nonlinear.J, "preconditioner": None}
        ctx["bcs"] = self.bcs
        x = self.nonlinear.x  # dolfinx's (ghosted) work vector of the current iterate
        restore_constants = generic_state(
            ufl.algorithms.analysis.extract_constants(self.residual_form)
        )
        restore_unknowns = generic_unknowns([(uk.u, uk.scale) for uk in self.unknowns])
        try:
            fpetsc.assign([uk.u for uk in self.unknowns], x)
            fpetsc.assemble_jacobian(snes, x, full, None, **ctx)
        finally:
            restore_constants()
            restore_unknowns()
        compact = CompactMatrix(full)
        if compact.is_full:
            compact.mat.destroy()
            return full

        def jacobian(snes_: PETSc.SNES, x_: PETSc.Vec, J: PETSc.Mat, P: PETSc.Mat) -> None:
            fpetsc.assemble_jacobian(snes_, x_, full, None, **ctx)
            compact.update()

        snes.setJacobian(self._guarded(jacobian), compact.mat, compact.mat)
        self._compact = compact  # keeps the copy alive with the solver
        return compact.mat

    def _residual_from_iteration(self, has_real: bool) -> int | None:
        """When Newton may stop on the Jacobi-scaled residual (``ScaledConvergence``): from
        the first step for one exact solve, never for a block-Gauss-Seidel split around a
        stiff global row (inexact steps; measured 4e-9 V off at the residual test), else
        from the second step (one refinement)."""
        if self.one_solve:
            return 1
        if self.preset == "iterative_fieldsplit" and has_real:
            return None
        return 2

    def _attach_near_nullspaces(self) -> None:
        """Near-nullspaces of single-block problems go on the matrix (GAMG reads them);
        blocks of coupled problems carry theirs into their field split."""
        build = self.unknowns[0].near_nullspace if len(self.unknowns) == 1 else None
        if build is not None:
            self._nullspace = build(self.unknowns[0].u.function_space)
            self.A.setNearNullSpace(self._nullspace)

    def _guarded(self, callback: Callable[..., object]) -> Callable[..., object]:
        """``callback`` for PETSc: an exception raised in it is kept and re-raised by
        ``solve`` (PETSc would report it as a divergence and the step would be cut)."""

        def call(*args: object) -> object:
            try:
                return callback(*args)
            except Exception as err:
                self._callback_error = err
                raise

        return call

    def _limit_step(self, x: PETSc.Vec, y: PETSc.Vec) -> None:
        """Scale the Newton step ``y`` (x_new = x - y) to the fraction every module accepts
        (``Physics.step_fraction``)."""
        start = y.getOwnershipRange()[0]
        for uk, first, n in self._owned_blocks():
            f = self._step[uk.name]
            f.x.array[:n] = -y.array_r[first - start : first - start + n]
            f.x.scatter_forward()
        fraction = min((m.step_fraction(self, self._step) for m in self.modules), default=1.0)
        if fraction < 1.0:
            y.scale(fraction)

    def _owned_blocks(self) -> list[tuple[Unknown, int, int]]:
        """(unknown, first global row, owned rows) of every block on this rank."""
        first = self.A.getOwnershipRange()[0]
        out = []
        for uk in self.unknowns:
            dofmap = uk.u.function_space.dofmap
            n = dofmap.index_map.size_local * dofmap.index_map_bs
            out.append((uk, first, n))
            first += n
        return out

    def _scale_vector(self) -> PETSc.Vec:
        scales = self.A.createVecLeft()
        start = scales.getOwnershipRange()[0]
        for uk, first, n in self._owned_blocks():
            scales.array[first - start : first - start + n] = uk.scale
        return scales

    def _set_field_split(self) -> None:
        """Index sets of the solver plan (``sse_fem.solvers.plan``) on the PC, and a counter
        of every split's iterations."""
        owned = [
            (uk.physics, uk.is_global, first, n, self._block_nullspace(uk))
            for uk, first, n in self._owned_blocks()
        ]
        blocks = plan_blocks(owned)
        if self.preset == "iterative_schur":  # {fields | globals}, exact Schur complement
            fields = [b for b in blocks if b.name != GLOBAL_SPLIT]
            blocks = [
                Block(FIELDS_SPLIT, [r for b in fields for r in b.rows], fields[0].nullspace),
                *[b for b in blocks if b.name == GLOBAL_SPLIT],
            ]
        pc = self.snes.getKSP().getPC()
        pc.setFieldSplitIS(*((b.name, index_set(b, self.comm)) for b in blocks))
        self.block_counter = BlockCounter(self.snes.getKSP(), [b.name for b in blocks])

    def _block_nullspace(self, uk: Unknown) -> PETSc.NullSpace | None:
        if uk.near_nullspace is None:
            return None
        ns = uk.near_nullspace(uk.u.function_space)
        self.__dict__.setdefault("_nullspaces", []).append(ns)  # alive with the problem
        return ns

    # --- helpers for modules -------------------------------------------------------------
    def add_unknown(
        self,
        physics: str,
        name: str,
        space: fem.FunctionSpace,
        entity_map: EntityMap | None,
        is_global: bool = False,
        scale: float = 1.0,
        near_nullspace: Callable[[fem.FunctionSpace], PETSc.NullSpace] | None = None,
    ) -> fem.Function:
        """A new block unknown of module ``physics``; ``scale``: its typical magnitude [SI]."""
        if any(uk.name == name for uk in self.unknowns):
            raise ValueError(f"unknown {name!r} declared twice")
        u = fem.Function(space, name=name)
        hist = [fem.Function(space, name=f"{name}_n{k}") for k in (1, 2)]
        self.unknowns.append(
            Unknown(name, physics, u, hist, entity_map, is_global, scale, near_nullspace)
        )
        return u

    def unknown(self, name: str) -> Unknown:
        return next(uk for uk in self.unknowns if uk.name == name)

    def test(self, name: str) -> ufl.Argument:
        return self._tests[name]

    def provide(
        self,
        name: str,
        value: ufl.core.expr.Expr | Callable[[int], ufl.core.expr.Expr],
        unit: str,
        provider: str,
        measure: ufl.Measure | Callable[[], ufl.Measure] | None = None,
        cells: Callable[[], np.ndarray] | None = None,
    ) -> None:
        """Share a named quantity (see ``Quantities.provide``); call from ``declare``."""
        self.quantities.provide(name, value, unit, provider, measure, cells)

    def provided(self, prefix: str) -> list[str]:
        """Names of provided quantities starting with ``prefix``; call from ``residual``."""
        return self.quantities.provided(prefix)

    def provide_scalar(
        self, name: str, value: Callable[[], float], unit: str, provider: str
    ) -> None:
        """Share a scalar of the current state (``value()`` is collective)."""
        self.quantities.provide_scalar(name, value, unit, provider)

    def scalar(self, name: str, by: str) -> Callable[[], float] | None:
        """A shared scalar by name, None when no module provides it."""
        return self.quantities.scalar(name, by)

    def require(self, name: str, by: str) -> SharedQuantity:
        """A shared quantity by name (provided by a module, else its default); call from
        ``residual`` or later."""
        return self.quantities.require(name, by)

    def ddt(self, expression: Callable[[int], ufl.core.expr.Expr]) -> ufl.core.expr.Expr | int:
        """BDF approximation of d/dt of ``expression(level)`` (level 0: now, 1, 2: history);
        zero in steady runs."""
        if not self.transient:
            return 0
        a0, a1, a2 = self.bdf
        return (a0 * expression(0) + a1 * expression(1) + a2 * expression(2)) / self.dt

    def state(self, name: str, level: int) -> fem.Function:
        uk = self.unknown(name)
        return uk.u if level == 0 else uk.history[level - 1]

    def residual_rows(self) -> dict[str, np.ndarray]:
        """The residual at the current state without boundary conditions, owned rows of
        each unknown (in that block's units, e.g. amperes for a current balance); one
        assembly per state, shared by every module's observe and conservation."""
        if self._rows is None or self._rows[0] != self.state_token:
            rows = {}
            forms = self.nonlinear.F
            for uk, form in zip(self.unknowns, forms, strict=True):
                imap = uk.u.function_space.dofmap.index_map
                n = imap.size_local * uk.block_size
                if form is None:
                    rows[uk.name] = np.zeros(n)
                    continue
                vec = fem.assemble_vector(form)
                vec.scatter_reverse(la.InsertMode.add)
                rows[uk.name] = vec.array[:n].copy()
            self._rows = (self.state_token, rows)
        return self._rows[1]

    # --- solving -------------------------------------------------------------------------
    def solve(self) -> tuple[bool, int, int]:
        """One Newton solve from the current iterate: (converged, newton its, krylov its);
        with split-off global unknowns the Krylov count is that of the inner AMG solves."""
        self.state_token += 1
        try:
            self.nonlinear.solve()
            reason = self.snes.getConvergedReason()
        except PETSc.Error:
            reason = -1
        if self._callback_error is not None:  # a bug, not a divergence: say so
            err, self._callback_error = self._callback_error, None
            raise err
        its = self.snes.getIterationNumber()
        lin = self.snes.getLinearSolveIterations()
        if self.block_counter is not None:
            counts = self.block_counter.take()
            if self.preset == "iterative_schur":  # the AMG-preconditioned iterations
                lin = counts[FIELDS_SPLIT]
        # PETSc can report SNORM convergence with zero iterations when the first linear
        # solve breaks down (e.g. overflow in exp): a converged solve took a Newton step.
        ok = (
            reason > 0
            and (its > 0 or reason == 2)
            and np.isfinite(self.snes.getFunctionNorm())
            and all(np.isfinite(uk.u.x.array).all() for uk in self.unknowns)
        )
        ok = bool(self.comm.allreduce(ok, op=MPI.LAND))
        return ok, its, lin

    def set_step(self, dt: float, order: int) -> None:
        """Set dt and BDF coefficients for the next step (no recompilation)."""
        self.dt.value = dt
        for c, v in zip(self.bdf, bdf_coefficients(order, dt, self._dt_prev), strict=True):
            c.value = v

    def accept_step(self, dt: float) -> None:
        """Shift history after a converged step."""
        for uk in self.unknowns:
            uk.history[1].x.array[:] = uk.history[0].x.array
            uk.history[0].x.array[:] = uk.u.x.array
        self.time.value = float(self.time.value) + dt
        self._dt_prev = dt

    def restore(self) -> None:
        """Reset the iterate to the last accepted state (after a failed solve)."""
        self.state_token += 1
        for uk in self.unknowns:
            uk.u.x.array[:] = uk.history[0].x.array

    def initialise_history(self) -> None:
        for uk in self.unknowns:
            for h in uk.history:
                h.x.array[:] = uk.u.x.array

    def close(self) -> None:
        """Destroy PETSc objects collectively (avoids MUMPS teardown hangs at exit) and
        remove this problem's options from PETSc's global database (they would leak into a
        later solver with the same prefix, and PETSc lists unused ones at exit)."""
        import gc

        db = PETSc.Options()
        for key in self.petsc_options:
            if db.hasName(self.prefix + key):
                db.delValue(self.prefix + key)
        self.snes.destroy()
        self.A.destroy()
        del self.nonlinear
        gc.collect()

    def observe(self) -> dict[str, dict[str, float]]:
        """Observed values of every module (collective), by module name."""
        return {m.name: m.observe(self) for m in self.modules}

    def conservation(self) -> dict[str, dict[str, float]]:
        """Balances of every module that has a conserved quantity (collective)."""
        out = {}
        for m in self.modules:
            balance = m.conservation(self)
            if balance:
                out[m.name] = balance
        return out


def check_regions_exist(case: Case, bundle: MeshBundle) -> None:
    """Regions/interfaces/boundaries named in the case must exist in the mesh."""
    named: list[tuple[str, Any, list[str]]] = [("regions", case.regions, list(bundle.regions))]
    for physics in case.physics.enabled():
        named += [
            (
                f"interfaces.{physics}",
                getattr(case.interfaces, physics, []),
                list(bundle.interfaces),
            ),
            (
                f"boundary_conditions.{physics}",
                getattr(case.boundary_conditions, physics, []),
                bundle.boundary_names(),
            ),
        ]
    for block, items, have in named:
        for k, item in enumerate(items):
            if item.name not in have:
                raise CaseError(
                    f"{item.name!r} is not in the mesh; it has {sorted(have)}", f"{block}[{k}].name"
                )
    missing = sorted(set(bundle.regions) - {r.name for r in case.regions})
    if missing:
        raise CaseError(
            f"mesh regions {missing} have no material; add them to `regions`", "regions"
        )


def _number_forms_afresh() -> None:
    """Number this problem's UFL constants and coefficients from 0, as in a fresh process.

    UFL orders the operands of sums and products by their text, which holds the object's
    global count ("c_26" sorts before "c_5"), so the same problem built a second time in one
    process (an in-process sweep) could get other form signatures and compile again. Forms
    never mix objects of two problems, so equal counts across problems are harmless.
    """
    import itertools

    import ufl

    for counted in (ufl.Constant, ufl.Coefficient):
        counted._counter = itertools.count()


def build_problem(case: Case, bundle: MeshBundle) -> Problem:
    """Modules for every enabled physics block, then the coupled Problem."""
    from sse_fem.physics import MODULES

    check_regions_exist(case, bundle)
    _number_forms_afresh()
    modules = [MODULES[key](cfg) for key, cfg in case.physics if cfg is not None]
    return Problem(case, bundle, modules)


__all__ = ["Problem", "Unknown", "build_problem"]
