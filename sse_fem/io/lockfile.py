"""Lock files that say who holds them: one line ``host pid start-time``, created atomically.

Used by a run's output folder (``OUT/.lock``) and by the sweep's per-case claims
(``.claim``). No MPI and no dolfinx here: the sweep commands read locks without either.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path


def token() -> str:
    """This process's line: host, pid and the start time."""
    return f"{socket.gethostname()} {os.getpid()} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n"


def create(path: Path, content: str) -> bool:
    """Create ``path`` holding ``content`` unless it exists (atomic); True when created."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(content)
    return True


def read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def is_stale(holder: str) -> bool:
    """A lock written by a process of this host that no longer exists."""
    parts = holder.split()
    if len(parts) < 2 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def held(path: Path) -> bool:
    """``path`` exists and its holder may still be alive (on another host: assumed so)."""
    return path.exists() and not is_stale(read(path))


def mine(path: Path) -> bool:
    """``path`` was written by this process."""
    return read(path).split()[:2] == [socket.gethostname(), str(os.getpid())]


def describe(holder: str) -> str:
    parts = holder.split()
    if len(parts) < 2:
        return "unknown holder"
    return f"host {parts[0]}, pid {parts[1]}" + (f", since {parts[2]}" if len(parts) > 2 else "")


def remove_if(path: Path, content: str) -> None:
    """Delete ``path`` if it holds ``content`` (rename first, so that a lock taken in between
    by another process is put back, not deleted)."""
    aside = path.with_name(f"{path.name}.{os.getpid()}")
    try:
        os.rename(path, aside)
    except OSError:
        return
    if read(aside) == content:
        aside.unlink(missing_ok=True)
    else:
        os.rename(aside, path)


def _is_zombie(pid: int) -> bool:
    """A killed process nobody has reaped yet (state Z in /proc; Linux)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"
