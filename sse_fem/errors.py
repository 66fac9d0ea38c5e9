"""The project's one user-facing error type."""

from __future__ import annotations


class CaseError(Exception):
    """A bad case file, override or CLI use; the message names the key path and what is allowed.

    The CLI prints ``str(error)`` as one line and exits with status 2.
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class SolverFailure(RuntimeError):
    """A solve that diverged after every step cut; the run writes partial results."""


class Interrupted(RuntimeError):
    """SIGINT/SIGTERM seen by any rank; all ranks stop at the same step boundary."""
