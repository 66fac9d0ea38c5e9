"""Shared fixtures of the reliability tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def unwritable_dir(tmp_path: Path) -> Path:
    """A directory path that cannot be created (root writes anywhere, but not into sysfs)."""
    if os.geteuid() == 0:
        return Path("/sys/sse_fem_test_output")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    return locked / "out"
