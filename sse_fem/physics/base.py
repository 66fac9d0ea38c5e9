"""What every physics module provides, and the optional capabilities the driver looks for.

A module turns one ``physics:`` block into unknowns, shared quantities, residual terms,
conditions and outputs. The problem calls, in this order: ``declare`` on every module (unknowns,
provided quantities), ``residual`` and ``dirichlet`` on every module (required quantities are
resolved here, so declaration order does not matter), ``validate``, ``initial_guess``; then
per step ``observe``, ``check_state`` and ``conservation``, per output step
``output_functions``, and ``finalize`` once at the end.

Capabilities are found by type, never by name: a module that drives the cell (terminal,
protocol steps, load continuation) implements ``Controller``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from mpi4py import MPI

    import numpy as np
    import ufl
    from dolfinx import fem
    from dolfinx.mesh import EntityMap
    from petsc4py import PETSc

    from sse_fem.config.schema import Case, ProtocolStep
    from sse_fem.io.results import ResultsWriter
    from sse_fem.materials.registry import Material
    from sse_fem.mesh import MeshBundle
    from sse_fem.quantities import SharedQuantity
    from sse_fem.unknowns import Unknown


class Problem(Protocol):
    """What a physics module may use of the coupled problem (``sse_fem.problem.Problem``
    implements it); modules never import the problem itself, so imports go one way."""

    case: Case
    bundle: MeshBundle
    comm: MPI.Comm
    materials: dict[str, Material]
    transient: bool
    load: fem.Constant  # steady continuation factor
    initial: fem.Constant  # 1 while the initial state of a transient run is solved
    time: fem.Constant  # time of the current state [s]
    dt: fem.Constant  # step [s]
    unknowns: list[Unknown]
    blocks: list[ufl.Form | None]
    entity_maps: list[EntityMap]
    bcs: list[fem.DirichletBC]

    def add_unknown(
        self,
        physics: str,
        name: str,
        space: fem.FunctionSpace,
        entity_map: EntityMap | None,
        is_global: bool = False,
        scale: float = 1.0,
        near_nullspace: Callable[[fem.FunctionSpace], PETSc.NullSpace] | None = None,
    ) -> fem.Function: ...

    def unknown(self, name: str) -> Unknown: ...

    def test(self, name: str) -> ufl.Argument: ...

    def provide(
        self,
        name: str,
        value: ufl.core.expr.Expr | Callable[[int], ufl.core.expr.Expr],
        unit: str,
        provider: str,
        measure: ufl.Measure | Callable[[], ufl.Measure] | None = None,
        cells: Callable[[], np.ndarray] | None = None,
    ) -> None: ...

    def require(self, name: str, by: str) -> SharedQuantity: ...

    def provided(self, prefix: str) -> list[str]: ...

    def provide_scalar(
        self, name: str, value: Callable[[], float], unit: str, provider: str
    ) -> None: ...

    def scalar(self, name: str, by: str) -> Callable[[], float] | None: ...

    def ddt(self, expression: Callable[[int], ufl.core.expr.Expr]) -> ufl.core.expr.Expr | int: ...

    def state(self, name: str, level: int) -> fem.Function: ...

    def residual_rows(self) -> dict[str, np.ndarray]: ...


class Physics:
    """Base of physics modules: every hook with a neutral default."""

    #: physics block key; prefixes the module's unknowns' solver block and its output columns
    name: str = ""
    #: the ``auto`` solver preset stays direct (LU) up to this many dofs in every dimension
    #: when this physics is present (its systems defeat the iterative preset)
    direct_max_dofs: int = 0
    #: MUMPS workspace beyond its estimate [%] (ICNTL 14) that this physics' systems need
    lu_workspace_percent: int = 80

    def declare(self, problem: Problem) -> None:
        """Create unknowns (``problem.add_unknown``) and provide shared quantities."""

    def residual(self, problem: Problem) -> ufl.Form | int:
        """Residual terms (``problem.test(name)``, ``problem.ddt``, ``problem.require``)."""
        return 0

    def dirichlet(self, problem: Problem) -> list[fem.DirichletBC]:
        return []

    def validate(self, problem: Problem) -> None:
        """Consistency checks of the assembled setup (raise CaseError)."""

    def initial_guess(self, problem: Problem) -> None:
        """Set the unknowns to a good start from the other modules' initial fields (every
        module has declared and set its initial condition); collective."""

    def observe(self, problem: Problem) -> dict[str, float]:
        """Scalar outputs of the current state (collective); keys without the module name."""
        return {}

    def conservation(self, problem: Problem) -> dict[str, float]:
        """Balances of the conserved quantity of this physics at the current state
        (collective). ``balance_error`` (relative to the driving flux) is compared with
        ``tolerance``; other keys are reported in ``summary.json``."""
        return {}

    def check_state(self, problem: Problem) -> str | None:
        """Why the current state is physically impossible (e.g. a stoichiometry beyond
        [0, 1]), None when it is not; collective. A reason ends the run with status failed."""
        return None

    def output_functions(self, problem: Problem) -> dict[str, list[fem.Function]]:
        """Parent-mesh functions to write, grouped by element (one writer per group)."""
        return {}

    def step_fraction(self, problem: Problem, step: dict[str, fem.Function]) -> float:
        """The largest fraction in (0, 1] of a Newton step (``step``: the change of every
        unknown, ghosts updated) that this physics accepts, e.g. to keep an exponential
        rate law from overflowing; collective. 1 by default."""
        return 1.0

    def krylov_preconditioner(self) -> dict[str, object] | None:
        """PETSc options of the preconditioner that replaces GAMG when this physics is
        solved alone by a Krylov method (``iterative`` presets); None keeps GAMG."""
        return None

    def block_options(self) -> dict[str, object]:
        """PETSc options of this physics' block in a multi-physics field split (without
        prefix): by default GMRES + AMG to a relative tolerance of 1e-3 per outer iteration
        (``ksp_type: preonly`` would apply the preconditioner once). SOR smoothing: fields
        spanning materials of contrasting coefficients (heat across Li | LLZO) needed 3x
        fewer iterations than with the default Jacobi-Chebyshev smoother."""
        return {
            "ksp_type": "gmres",
            "ksp_rtol": 1e-3,
            "ksp_max_it": 200,
            "pc_type": "gamg",
            "pc_gamg_threshold": 0.01,
            "mg_levels_pc_type": "sor",
        }

    def finalize(self, problem: Problem, writer: ResultsWriter) -> dict[str, object]:
        """Final outputs (tables, pictures; collective); returns entries for the summary."""
        return {}


@runtime_checkable
class Controller(Protocol):
    """A module that drives the cell: protocol steps, rest state, steady load continuation."""

    name: str

    def set_drive(self, mode: str, value: float | None) -> None:
        """Apply a protocol step (``current``, ``current_density``, ``voltage``, ``rest``)."""

    def at_rest(self) -> AbstractContextManager[None]:
        """Context in which the drive is off (initial state of transient runs)."""

    def set_load(self, factor: float) -> None:
        """Scale the drive by ``factor`` in [0, 1] (steady load continuation)."""

    def cutoff_margin(self, step: ProtocolStep, row: dict[str, float]) -> float | None:
        """How far ``row`` (this module's observed values) is from a cut-off of ``step``, in
        the cut-off's unit: > 0 not reached, <= 0 reached; None without a cut-off."""


__all__ = ["Controller", "Physics"]
