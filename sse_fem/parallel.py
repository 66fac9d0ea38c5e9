"""Error protocol under MPI: an error on any rank ends every rank promptly, with one line.

``init()`` (collective, once at start-up, as ``sse-fem`` does) duplicates COMM_WORLD into a
communicator used only on the error path. A failing rank posts a non-blocking barrier on it and
polls it for ``DEADLINE_S`` seconds:

- every rank arrives: the error was raised everywhere (a bad case, checked on every rank or
  broadcast); the ranks return normally, rank 0 prints the line, all exit with its status;
- otherwise the error is rank-local and the others are running or stuck in a collective: the
  failing rank prints its line and calls ``MPI_Abort`` with the status, which ends every rank
  (``mpirun`` returns that status).

Code run on one rank only (rank 0 writing a file) uses ``collective(rank_local=True)`` and
aborts at once. Without ``init()`` (library use, pytest) and on one rank, errors propagate.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

from mpi4py import MPI

from sse_fem.errors import CaseError, SolverFailure

EXIT_BAD_INPUT = 2
EXIT_SOLVER_FAILED = 3
EXIT_INTERNAL_ERROR = 4
EXIT_INTERRUPTED = 130

#: seconds a failing rank waits for the others to report the same failure
DEADLINE_S = 3.0

_error_comm: MPI.Comm | None = None


def init(comm: MPI.Comm = MPI.COMM_WORLD) -> None:
    """Arm the protocol (collective on ``comm``; a no-op on one rank or when armed)."""
    global _error_comm
    if comm.size > 1 and _error_comm is None:
        _error_comm = comm.Dup()


def describe(err: BaseException) -> tuple[str, int]:
    """The one-line message and exit status of an error."""
    if isinstance(err, CaseError):
        return f"error: {_one_line(str(err))}", EXIT_BAD_INPUT
    if isinstance(err, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    if isinstance(err, SolverFailure):
        return f"error: {_one_line(str(err))}", EXIT_SOLVER_FAILED
    hint = getattr(err, "sse_fem_traceback", None) or "run with -v for the traceback"
    text = _one_line(str(err))
    return (
        f"error: internal error: {type(err).__name__}{': ' + text if text else ''} ({hint})",
        EXIT_INTERNAL_ERROR,
    )


def log_traceback(err: BaseException) -> None:
    """Log the traceback of ``err`` once: to the log files only (to stderr as well with -v).

    Where it went is kept on the exception, for the hint of ``describe``.
    """
    if hasattr(err, "sse_fem_traceback"):
        return
    log = logging.getLogger("sse_fem")
    files = [h.baseFilename for h in log.handlers if isinstance(h, logging.FileHandler)]
    exc_info = (type(err), err, err.__traceback__)
    shown = False
    if log.isEnabledFor(logging.DEBUG):
        log.debug("internal error", exc_info=exc_info)
        shown = any(type(h) is logging.StreamHandler for h in log.handlers)
    else:
        record = log.makeRecord(
            log.name, logging.ERROR, __file__, 0, "internal error", (), exc_info
        )
        for h in log.handlers:
            if isinstance(h, logging.FileHandler):
                h.handle(record)
    hint = f"traceback in {files[0]}" if files else ("traceback above" if shown else None)
    err.sse_fem_traceback = hint  # type: ignore[attr-defined]


def everyone_failed(timeout_s: float = DEADLINE_S) -> bool:
    """Called by a failing rank: whether every rank reports a failure within ``timeout_s``."""
    if _error_comm is None:
        return True
    request = _error_comm.Ibarrier()
    end = time.monotonic() + timeout_s
    while not request.Test():
        if time.monotonic() > end:
            return False
        time.sleep(0.002)
    return True


#: seconds between printing the error line and MPI_Abort
ABORT_GRACE_S = 0.3


def abort(line: str, code: int) -> NoReturn:
    """Print ``line`` and end every rank with exit status ``code`` (MPI_Abort)."""
    print(line, file=sys.stderr, flush=True)
    sys.stdout.flush()
    # the launcher forwards a rank's output asynchronously: an immediate abort lost the line
    # now and then (1 in ~50 runs under load)
    time.sleep(ABORT_GRACE_S)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # MPICH prints its own "Abort(2) on node ..." banner
    MPI.COMM_WORLD.Abort(code)
    raise SystemExit(code)  # not reached


def fail(err: BaseException, rank_local: bool = False) -> None:
    """Handle ``err`` being raised on this rank; returns when the caller should re-raise.

    Aborts every rank if the protocol is armed and the error is rank-local (``rank_local``,
    or not every rank fails within ``DEADLINE_S``).
    """
    if _error_comm is None:
        return
    if rank_local or not everyone_failed():
        abort(*_report(err))


@contextmanager
def collective(rank_local: bool = False) -> Iterator[None]:
    """Run a block so that an error raised in it on some ranks only ends every rank.

    ``rank_local``: the block runs on this rank alone (no collective inside): abort at once.
    An error raised on every rank propagates unchanged.
    """
    try:
        yield
    except (Exception, KeyboardInterrupt) as err:
        fail(err, rank_local)
        raise


def run_guarded(fn: Callable[[], int], comm: MPI.Comm = MPI.COMM_WORLD) -> int:
    """``fn()``, with any error turned into one line on stderr and its exit status.

    The line is printed by rank 0 when every rank failed, else by the failing rank, which
    then aborts all (see the module docstring). Internal errors (not a ``CaseError``) log their
    traceback to the log files, and to stderr with ``-v``.
    """
    try:
        return fn()
    except (Exception, KeyboardInterrupt) as err:
        fail(err)
        line, code = _report(err)
        if comm.rank == 0:
            print(line, file=sys.stderr, flush=True)
        return code


def _report(err: BaseException) -> tuple[str, int]:
    """``describe(err)``, after logging the traceback of an internal error."""
    if not isinstance(err, CaseError | KeyboardInterrupt):
        log_traceback(err)
    return describe(err)


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text.strip())
