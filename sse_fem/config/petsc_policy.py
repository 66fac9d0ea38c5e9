"""Which raw PETSc options a case may set (``solver.petsc_options``).

Solver settings (``ksp_type``, ``pc_gamg_threshold``, ``mat_mumps_icntl_14`` ...) pass; any
option that views, monitors, logs, draws, reads or writes a file, loads code or a library,
starts a server or attaches a debugger is refused, and so is an option known to hang our PETSc
rather than fail. A case file is data: running one must not write or read files other than its
outputs, nor flood the log, nor hang.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

from sse_fem.errors import CaseError
from sse_fem.units import short_repr

#: Parts of an option name that mark viewers, monitors, logging, files, code loading, debuggers.
DENIED_PARTS = (
    "view",  # ksp_view, mat_view, log_view, viewer_*: write to stdout or a file
    "monitor",  # ksp_monitor (takes a viewer: "ascii:file")
    "reason",  # ksp_converged_reason (takes a viewer)
    "draw",  # X11 / image output
    "lg_",  # line graphs
    "plot",
    "print",
    "log",  # log_view, log_trace, log_all, ...
    "info",
    "history",
    "dump",
    "save",
    "load",
    "output",
    "file",  # options_file, *_filename
    "dirname",
    "options",  # options_file, options_left, options_monitor, options_view
    "prefix",  # prefix_push / prefix_pop: reach options of other objects
    "debug",  # start_in_debugger, on_error_attach_debugger, debugger_*
    "on_error",
    "signal",
    "fp_trap",
    "malloc",
    "memory",
    "checkstack",
    "check_pointer",
    "check_jacobian",
    "test",  # snes_test_jacobian, mat_null_space_test
    "compare",
    "compute_eigen",
    "compute_singular",
    "python",  # pc_python_type: imports a Python class by name
    "dll",  # dll_append: loads a shared library
    "saws",  # web server
    "server",  # mpi_linear_solver_server
    "socket",
    "matlab",
    "citation",  # writes a citations file
    "trajectory",  # ts_trajectory_*: writes to disk
    "help",
    "version",
    "display",
    "x_virtual",
    "nox",
)
#: Option names refused besides those with a denied part: help, and MUMPS's Fortran output
#: units ICNTL(1-4) (a unit number other than 6 writes a file ``fort.<n>``).
_DENIED_NAME = re.compile(r"h|.*mumps_icntl_[1-4]", re.IGNORECASE)
#: Options refused because they hang on our PETSc (3.25) rather than fail: name ending -> why.
_HANGS = {
    "pc_gamg_aggressive_square_graph": (
        "not allowed: GAMG's aggressive coarsening without the squared graph (MIS-k) never "
        "returns from the preconditioner setup on more than one rank; the default squares it"
    ),
}
_NAME = re.compile(r"[A-Za-z0-9_]{1,80}")
_TEXT_VALUE = re.compile(r"[A-Za-z0-9_.,+\-]{0,64}")
_ALLOWED = "solver settings such as ksp_type, pc_type, pc_gamg_threshold, mat_mumps_icntl_14"


def _problem(key: object, value: object) -> str | None:
    """Why option ``key: value`` is refused, or None when it is allowed."""
    if not isinstance(key, str) or not _NAME.fullmatch(key):
        return "an option name is letters, digits and '_' (at most 80), without the leading '-'"
    name = key.lower()
    if _DENIED_NAME.fullmatch(name) or any(part in name for part in DENIED_PARTS):
        return (
            "not allowed: options that view, monitor, log, debug, read or write files or load "
            f"code are refused (allowed: {_ALLOWED})"
        )
    hang = next((why for end, why in _HANGS.items() if name.endswith(end)), None)
    if hang is not None:
        return hang
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if abs(value) < 2**31 else f"{short_repr(value)} is out of range"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value!r} is not a finite number"
    if not isinstance(value, str):
        return f"{short_repr(value)} must be a string, number, boolean or empty"
    if not _TEXT_VALUE.fullmatch(value):
        return (
            f"{short_repr(value)} is not allowed: a value is a word or number of at most 64 "
            "letters, digits and '_.,+-' (no viewers such as 'ascii:file')"
        )
    try:
        number = float(value)
    except ValueError:
        return None
    return None if math.isfinite(number) else f"{value!r} is not a finite number"


def _first_problem(options: dict) -> str | None:
    for key, value in options.items():
        problem = _problem(key, value)
        if problem is not None:
            shown = repr(key) if isinstance(key, str) and len(key) <= 80 else short_repr(key)
            return f"option {shown}: {problem}"
    return None


def check_petsc_options(options: dict, path: str) -> dict:
    """``options`` unchanged when every name and value is allowed; otherwise CaseError at
    ``path`` naming the first refused option and why."""
    if not isinstance(options, dict):
        raise CaseError(f"a mapping such as {{pc_type: lu}}, not {short_repr(options)}", path)
    problem = _first_problem(options)
    if problem is not None:
        raise CaseError(problem, path)
    return options


def _validate(options: Any) -> Any:
    problem = _first_problem(options) if isinstance(options, dict) else None
    if problem is not None:  # a non-dict is left to pydantic's type check
        raise ValueError(problem)
    return options


#: Field type for ``SolverBlock.petsc_options``: raw options (no prefix) checked as above.
PetscOptions = Annotated[dict[str, str | int | float | bool | None], BeforeValidator(_validate)]
