"""Logging: rank 0 only by default; ``--log-all-ranks`` prefixes every line with the rank."""

from __future__ import annotations

import logging
import sys

LOGGER_NAME = "sse_fem"


def mpi_rank() -> int:
    """This process's rank in COMM_WORLD (0 without MPI initialised)."""
    from mpi4py import MPI

    return MPI.COMM_WORLD.rank


def setup_logging(
    all_ranks: bool = False, verbose: bool = False, logfile: str | None = None
) -> logging.Logger:
    """Configure the ``sse_fem`` logger; returns it."""
    rank = mpi_rank()
    log = logging.getLogger(LOGGER_NAME)
    log.handlers.clear()
    log.propagate = False
    level = logging.DEBUG if verbose else logging.INFO
    log.setLevel(level)
    if rank == 0 or all_ranks:
        h = logging.StreamHandler(sys.stderr)
        prefix = f"[{rank}] " if all_ranks else ""
        h.setFormatter(logging.Formatter(f"{prefix}%(message)s"))
        log.addHandler(h)
    if logfile is not None and (rank == 0 or all_ranks):
        fh = logging.FileHandler(logfile, mode="a")
        fh.setFormatter(logging.Formatter(f"%(asctime)s [{rank}] %(levelname)s %(message)s"))
        log.addHandler(fh)
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    return log


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)


class Ticker:
    """When a long stage (packing, meshing) should report again: ``due()`` is true at most
    every ``seconds`` (the first time after ``seconds``)."""

    def __init__(self, seconds: float = 2.0) -> None:
        import time

        self._clock = time.monotonic
        self.seconds = seconds
        self.last = self._clock()

    def due(self) -> bool:
        now = self._clock()
        if now - self.last < self.seconds:
            return False
        self.last = now
        return True
