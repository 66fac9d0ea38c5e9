"""The results table of a sweep: one row per case, ``OUT/sweep.csv`` and ``OUT/sweep.parquet``.

Columns: ``index``, ``folder``; each parameter as the case resolved it, in SI with the unit in
the column name (``boundary_conditions.conduction.metal_terminal.value [A/m^2]``); ``status``,
``reason``, ``runtime_s`` (the run's own total), ``wall_s`` (with process start), ``ranks``;
each criterion (true/false, empty when its figure is missing); then every figure of merit of
the case's ``summary.json`` (the last time-series row and each physics' outputs, by their
dotted names in SI).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import yaml

from sse_fem.errors import CaseError
from sse_fem.sweep import store
from sse_fem.sweep.spec import PlannedCase, Sweep
from sse_fem.units import split_quantity

FIXED = ["index", "folder"]
RUN_COLUMNS = ["status", "reason", "runtime_s", "wall_s", "ranks"]


def collect(sweep: Sweep) -> list[dict[str, Any]]:
    """Every planned case exactly once, in index order."""
    rows = []
    for case in sweep.cases:
        folder = store.case_dir(sweep, case)
        state, reason = store.state(folder)
        summary = store.read_json(folder / "summary.json")
        ended = store.read_json(folder / store.STATUS)
        row: dict[str, Any] = {"index": case.index, "folder": folder.name}
        row.update(parameter_values(sweep, case, folder))
        row.update(
            {
                "status": state,
                "reason": reason,
                "runtime_s": (summary.get("timings") or {}).get("total_s"),
                "wall_s": ended.get("wall_s"),
                "ranks": summary.get("ranks", sweep.spec.sweep.ranks),
            }
        )
        figures = figures_of(summary)
        for name, crit in sweep.spec.criteria.items():
            row[name] = crit.holds(figures.get(crit.figure)) if state == "done" else None
        row.update(figures)
        rows.append(row)
    return rows


def parameter_values(sweep: Sweep, case: PlannedCase, folder: Path) -> dict[str, Any]:
    """``"key [unit]"`` -> SI value of each parameter: from the run's ``case.resolved.yaml``,
    or (not run yet) from the case validated with its overrides."""
    resolved_file = folder / "case.resolved.yaml"
    if resolved_file.exists():
        resolved = yaml.safe_load(resolved_file.read_text())
    else:
        from sse_fem.config.loader import load_case, resolved_dict

        resolved = resolved_dict(load_case(sweep.base_case, case.overrides()))
    out: dict[str, Any] = {}
    for key in case.params:
        value = lookup(resolved, key)
        if isinstance(value, str):
            try:
                number, unit = split_quantity(value)
            except CaseError:
                out[key] = value
                continue
            out[f"{key} [{unit}]" if unit else key] = number
        else:
            out[key] = value
    return out


def lookup(data: Any, key: str) -> Any:
    """The value at a dotted override path (list items by name or index); None if absent."""
    node = data
    for part in key.split("."):
        if isinstance(node, list):
            names = [i.get("name") if isinstance(i, dict) else None for i in node]
            if part in names:
                node = node[names.index(part)]
            elif part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def figures_of(summary: dict) -> dict[str, float]:
    """Every number of the run's last time-series row and its physics' outputs."""
    from sse_fem.postprocess.headline import flatten

    return flatten(summary)


def write_table(sweep: Sweep, rows: list[dict[str, Any]]) -> tuple[Path, Path]:
    """``sweep.csv`` and ``sweep.parquet`` in the sweep's output folder."""
    columns = ordered_columns(sweep, rows)
    out = sweep.output
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "sweep.csv"
    with open(csv_path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({c: pa.array([_cell(r.get(c)) for r in rows]) for c in columns})
    parquet_path = out / "sweep.parquet"
    pq.write_table(table, parquet_path)
    return csv_path, parquet_path


def ordered_columns(sweep: Sweep, rows: list[dict[str, Any]]) -> list[str]:
    seen = list(dict.fromkeys(k for r in rows for k in r))
    params = [k for k in seen if _base_key(k) in (sweep.parameter_keys or [])]
    criteria = list(sweep.spec.criteria)
    head = FIXED + params + RUN_COLUMNS + criteria
    return head + sorted(k for k in seen if k not in head)


def column_for(rows: list[dict[str, Any]], name: str) -> str:
    """The table column a user means by ``name`` (a parameter key without its unit too)."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    if name in columns:
        return name
    matches = [c for c in columns if _base_key(c) == name]
    if len(matches) == 1:
        return matches[0]
    raise CaseError(f"no column {name!r}; columns: {', '.join(columns[:40])}", "collect --plot")


def _base_key(column: str) -> str:
    return column.split(" [", 1)[0]


def _cell(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)
