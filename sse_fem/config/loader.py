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


def _include_loader(base: Path, depth: int = 0) -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        pass

    def include(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        rel = loader.construct_scalar(node)
        target = (base / str(rel)).resolve()
        if depth > 8:
            raise CaseError(f"!include nested too deeply at {rel!r}")
        if not target.is_file():
            raise CaseError(f"!include {rel!r}: no such file ({target.name})")
        return _read_yaml(target, depth + 1)

    Loader.add_constructor("!include", include)
    return Loader


def _read_yaml(path: Path, depth: int = 0) -> Any:
    try:
        text = path.read_text()
    except OSError as err:
        raise CaseError(f"cannot read case file {str(path)!r}: {err.strerror}") from None
    try:
        return yaml.load(text, Loader=_include_loader(path.parent, depth))  # noqa: S506
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise CaseError(f"{path.name}: not valid YAML{where}: {problem}") from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"a.b.c=value"`` -> (["a", "b", "c"], value parsed as YAML scalar/list)."""
    if "=" not in text:
        raise CaseError(f"override {text!r} must look like key.path=value")
    key, _, raw = text.partition("=")
    parts = [p for p in key.strip().split(".")]
    if not key.strip() or any(not p for p in parts):
        raise CaseError(f"override {text!r}: empty key in path")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
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
    shown = repr(given) if not isinstance(given, dict | list) else type(given).__name__
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return CaseError(f"{msg} (got {shown})", path)


def load_case(path: str | Path, overrides: list[str] | None = None) -> Case:
    """Read, override and validate a case file; CaseError on any problem."""
    path = Path(path)
    data = _read_yaml(path)
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
