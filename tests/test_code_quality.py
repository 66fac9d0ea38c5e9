"""The type checker (mypy, configured in pyproject.toml: problem, driver, physics, solvers)
and the linter run with the suite, so CI fails on a type or lint error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mpi4py import MPI

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial tooling check")


def test_mypy_is_clean():
    from mypy import api

    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml")])
    assert status == 0, stdout + stderr


def test_ruff_is_clean():
    ruff = Path(sys.executable).with_name("ruff")
    for args in (["check"], ["format", "--check"]):
        out = subprocess.run(
            [str(ruff), *args, "sse_fem", "tests", "benchmarks"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stdout + out.stderr


def _package_imports(package: Path) -> dict[str, set[str]]:
    """Module -> package modules it imports (module- and function-level alike)."""
    import ast

    modules = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                # a package's own submodules and its parents are not edges
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def test_imports_go_one_way():
    graph = _package_imports(ROOT / "sse_fem")

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(graph[node])
        return False

    cycles = sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if a < b and reaches(b, a))
    assert not cycles, cycles
