"""Read a case: YAML (with ``!include``), dotted-path overrides, validation to ``Case``.

Every problem ends as one ``CaseError`` naming the key path, the bad value and what is allowed.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sse_fem.config.schema import Case, check_consistency
from sse_fem.errors import CaseError
from sse_fem.units import short_repr

#: Largest case file, its includes counted with it, in bytes.
MAX_CASE_BYTES = 1 << 20
#: Deepest nesting of mappings and lists (also through aliases and includes).
MAX_DEPTH = 64
#: Most values in a case: YAML nodes read, and values after expanding aliases ("billion laughs").
MAX_NODES = 50_000
#: Longest chain of ``!include`` (a file including a file ...).
MAX_INCLUDE_DEPTH = 8


class _Budget:
    """Bytes and YAML nodes read so far by one load (a case file and all its includes)."""

    def __init__(self) -> None:
        self.bytes = 0
        self.nodes = 0


class _Loader(yaml.SafeLoader):
    """SafeLoader that stops at MAX_DEPTH nesting (before Python recursion fails) and at
    MAX_NODES nodes (before parsing takes long)."""

    source: str  # the file or override named in errors, set by ``_loader``
    budget: _Budget  # shared by a case file and its includes, set by ``_loader``

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self._depth += 1
        self.budget.nodes += 1
        try:
            line = self.peek_event().start_mark.line + 1
            if self._depth > MAX_DEPTH:
                raise CaseError(
                    f"{self.source}: nested deeper than {MAX_DEPTH} levels at line {line}"
                )
            if self.budget.nodes > MAX_NODES:
                raise CaseError(f"{self.source}: more than {MAX_NODES} values at line {line}")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _loader(
    source: str, budget: _Budget, path: Path | None = None, depth: int = 0
) -> type[_Loader]:
    """A loader class for one text; with ``path``, ``!include`` reads files below its folder."""

    class Loader(_Loader):
        pass

    Loader.source, Loader.budget = source, budget
    if path is None:
        return Loader
    base = path.parent.resolve()

    def include(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        rel = str(loader.construct_scalar(node))
        shown = f"{path.name}: !include {short_repr(rel)}"
        if depth >= MAX_INCLUDE_DEPTH:
            raise CaseError(f"{shown}: includes nested more than {MAX_INCLUDE_DEPTH} deep")
        below = "only files in the including file's folder or below it can be included"
        if not rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise CaseError(f"{shown}: {below}; give a relative path without '..'")
        target = (base / rel).resolve()
        if not target.is_relative_to(base):
            raise CaseError(f"{shown}: {below}; the path leads outside through a link")
        if not target.exists():
            raise CaseError(f"{shown}: no such file")
        return _read_yaml(target, depth + 1, budget)

    Loader.add_constructor("!include", include)
    return Loader


def _read_text(path: Path, budget: _Budget) -> str:
    """The text of a case file; CaseError (never echoing its contents) unless it is UTF-8 text
    within the size budget."""
    shown = short_repr(str(path))
    try:
        if not path.is_file():
            what = "no such file" if not path.exists() else "not a regular file"
            raise CaseError(f"cannot read case file {shown}: {what}")
        with path.open("rb") as f:
            raw = f.read(MAX_CASE_BYTES - budget.bytes + 1)
    except OSError as err:
        raise CaseError(f"cannot read case file {shown}: {err.strerror}") from None
    budget.bytes += len(raw)
    if budget.bytes > MAX_CASE_BYTES:
        raise CaseError(
            f"{path.name}: a case file with its includes is limited to "
            f"{MAX_CASE_BYTES // 1024} KiB; keep large data in mesh or image files"
        )
    if b"\0" in raw:
        raise CaseError(f"{path.name}: a binary file, not a YAML case file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CaseError(f"{path.name}: not UTF-8 text (byte {err.start})") from None


def _load_yaml(text: str, loader: type[_Loader]) -> Any:
    """Parse YAML text; every failure is one CaseError naming ``loader.source`` and the line."""
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise CaseError(f"{loader.source}: not valid YAML{where}: {problem[:80]}") from None
    except RecursionError:
        raise CaseError(f"{loader.source}: nested too deeply") from None
    except (ValueError, OverflowError):  # an int of thousands of digits, an impossible date
        raise CaseError(f"{loader.source}: a number or date that cannot be read") from None


def _check_size(data: Any, name: str) -> None:
    """CaseError when ``data`` nests deeper than MAX_DEPTH, holds more than MAX_NODES values
    (a shared object, from an alias or a repeated include, counted at every use) or itself."""
    memo: dict[int, tuple[int, int]] = {}  # id -> (values, height)
    active: set[int] = set()

    def visit(node: Any, depth: int) -> tuple[int, int]:
        if not isinstance(node, dict | list):
            return 1, 0
        if id(node) in active:
            raise CaseError(f"{name}: an alias refers to itself (a recursive YAML anchor)")
        if id(node) not in memo:
            if depth >= MAX_DEPTH:
                raise CaseError(f"{name}: nested deeper than {MAX_DEPTH} levels")
            active.add(id(node))
            count, height = 1, 0
            for child in node.values() if isinstance(node, dict) else node:
                c, h = visit(child, depth + 1)
                count, height = count + c, max(height, h + 1)
                if count > MAX_NODES:
                    raise CaseError(
                        f"{name}: more than {MAX_NODES} values (aliases counted at every use)"
                    )
            active.discard(id(node))
            memo[id(node)] = (count, height)
        count, height = memo[id(node)]
        if depth + height >= MAX_DEPTH:
            raise CaseError(f"{name}: nested deeper than {MAX_DEPTH} levels (through aliases)")
        return count, height

    visit(data, 0)


def _read_yaml(path: Path, depth: int = 0, budget: _Budget | None = None) -> Any:
    budget = budget or _Budget()
    return _load_yaml(_read_text(path, budget), _loader(path.name, budget, path, depth))


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"a.b.c=value"`` -> (["a", "b", "c"], value parsed as YAML scalar/list)."""
    if "=" not in text:
        raise CaseError(f"override {short_repr(text)} must look like key.path=value")
    key, _, raw = text.partition("=")
    parts = [p for p in key.strip().split(".")]
    if not key.strip() or any(not p for p in parts):
        raise CaseError(f"override {short_repr(text)}: empty key in path")
    source = f"override {short_repr(key.strip())}"
    try:
        value = yaml.load(raw, Loader=_loader(source, _Budget())) if raw.strip() else ""  # noqa: S506
    except (yaml.YAMLError, ValueError, OverflowError):  # not YAML: the text as given
        value = raw
    _check_size(value, source)
    return parts, value


def apply_override(data: dict, parts: list[str], value: Any) -> None:
    """Set ``value`` at ``parts``; list items are addressed by their ``name`` (or index)."""
    node: Any = data
    for depth, part in enumerate(parts):
        path = ".".join(parts[: depth + 1])
        last = depth == len(parts) - 1
        if isinstance(node, list):
            idx = _list_index(node, part, ".".join(parts[:depth]))
            if last:
                node[idx] = value
            else:
                node = node[idx]
            continue
        if not isinstance(node, dict):
            raise CaseError(f"cannot set {part!r} inside a {type(node).__name__}", path)
        if last:
            node[part] = value
        else:
            node = node.setdefault(part, {})


def _list_index(items: list, part: str, path: str) -> int:
    names = [i.get("name") if isinstance(i, dict) else None for i in items]
    if part in names:
        return names.index(part)
    if part.lstrip("-").isdigit() and -len(items) <= int(part) < len(items):
        return int(part)
    allowed = [n for n in names if n is not None]
    raise CaseError(f"no item named {part!r}; items: {allowed}", path)


def _loc_to_path(data: Any, loc: tuple) -> str:
    """pydantic location -> dotted path; list items shown as ``[index](name)``.

    Parts that are not keys of the data (union tags, validator frames) are dropped.
    """
    out: list[str] = []
    node = data
    for k, part in enumerate(loc):
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            label = f"[{part}]" + (f"({name})" if isinstance(name, str) else "")
            out[-1:] = [(out[-1] if out else "") + label]
            node = item
        elif isinstance(node, dict) and (part in node or k == len(loc) - 1):
            out.append(str(part))
            node = node.get(part)
    return ".".join(out)


def _models_in(ann: Any) -> list[type[BaseModel]]:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [ann]
    found: list[type[BaseModel]] = []
    for arg in getattr(ann, "__args__", ()) or ():
        found += _models_in(arg)
    return found


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model holding the last key of ``loc`` (to suggest the nearest valid key)."""
    candidates: list[type[BaseModel]] = [Case]
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        tagged = [
            m
            for m in candidates
            if getattr(m.model_fields.get("type"), "annotation", None) is not None
            and part in getattr(m.model_fields["type"].annotation, "__args__", ())
        ]
        if tagged:
            candidates = tagged
            continue
        field = next((m.model_fields[part] for m in candidates if part in m.model_fields), None)
        if field is None:
            continue
        candidates = _models_in(field.annotation)
    return candidates[0] if len(candidates) == 1 else None


def _first_error(err: ValidationError, data: Any) -> CaseError:
    e = err.errors(include_url=False)[0]
    loc = tuple(e["loc"])
    path = _loc_to_path(data, loc) or "(case)"
    kind = e["type"]
    given = e.get("input")
    if kind == "extra_forbidden":
        model = _model_at(loc)
        allowed = sorted(model.model_fields) if model is not None else []
        if model is not None and model.model_config.get("extra") == "allow":
            allowed = []
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        return CaseError(f"unknown key; {hint}allowed here: {allowed}", path)
    if kind == "missing":
        return CaseError("required key is missing", path)
    msg = e["msg"].removeprefix("Value error, ")
    shown = short_repr(given) if not isinstance(given, dict | list) else type(given).__name__
    return CaseError(f"{msg} (got {shown})", path)


def load_case(path: str | Path, overrides: list[str] | None = None) -> Case:
    """Read, override and validate a case file; CaseError on any problem."""
    path = Path(path)
    data = _read_yaml(path)
    _check_size(data, path.name)
    if not isinstance(data, dict):
        raise CaseError(
            f"{path.name}: a case file is a mapping of blocks (case, geometry, materials, ...)"
        )
    data = copy.deepcopy(data)
    for text in overrides or []:
        parts, value = parse_override(text)
        apply_override(data, parts, value)
    return validate_case(data, base_dir=path.parent)


def validate_case(data: dict, base_dir: Path | None = None) -> Case:
    """Validate a case dict (already YAML-parsed)."""
    if not isinstance(data, dict):
        raise CaseError("a case is a mapping of blocks (case, geometry, materials, ...)")
    try:
        case = Case.model_validate(data)
    except ValidationError as err:
        raise _first_error(err, data) from None
    except RecursionError:
        raise CaseError("case nested too deeply") from None
    if case.mesh is not None and base_dir is not None:
        f = Path(case.mesh.file)
        case.mesh.file = str(f if f.is_absolute() else (base_dir / f).resolve())
    geo_file = getattr(case.geometry, "file", None)
    if geo_file and base_dir is not None and not Path(geo_file).is_absolute():
        case.geometry.file = str((base_dir / geo_file).resolve())
    check_consistency(case)
    return case


def resolved_dict(case: Case) -> dict:
    """The case as plain data (SI numbers) for ``case.resolved.yaml``."""
    return case.model_dump(mode="json", exclude_none=True)
