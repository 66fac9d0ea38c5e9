"""The documentation of every case-file key, read from the models' source: the ``#:`` comment
block right above each field of the pydantic models in ``sse_fem.config.schema`` and
``sse_fem.config.geometry``. One text, used by the JSON Schema (editors show it on hover) and
by the documentation site, so a key is documented exactly once, next to its definition."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

SOURCES = ("schema.py", "geometry.py")


def doc_of(model: str, key: str) -> str | None:
    """The documentation of ``key`` in model ``model`` or the first base class that has it."""
    docs, bases = field_docs(), _bases()
    todo = [model]
    while todo:
        name = todo.pop(0)
        if (name, key) in docs:
            return docs[(name, key)]
        todo += bases.get(name, [])
    return None


@cache
def _bases() -> dict[str, list[str]]:
    """Model class name -> the names of its base classes (from the source)."""
    out: dict[str, list[str]] = {}
    for name in SOURCES:
        tree = ast.parse((Path(__file__).parent / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                out[node.name] = [ast.unparse(b) for b in node.bases]
    return out


@cache
def field_docs() -> dict[tuple[str, str], str]:
    """(model class name, field name) -> its ``#:`` documentation (one paragraph)."""
    out: dict[tuple[str, str], str] = {}
    for name in SOURCES:
        lines = (Path(__file__).parent / name).read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for statement in node.body:
                if not (
                    isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
                ):
                    continue
                text: list[str] = []
                k = statement.lineno - 2
                while k >= 0 and lines[k].strip().startswith("#:"):
                    text.insert(0, lines[k].strip()[2:].strip())
                    k -= 1
                if text:
                    out[(node.name, statement.target.id)] = " ".join(text)
    return out
