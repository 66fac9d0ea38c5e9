"""``report.html``: one self-contained page per run (no network, no script, images embedded).

Built from what the run left in its output folder (``summary.json``, ``case.resolved.yaml``,
the PNG plots), so ``sse-fem report OUT`` rebuilds it for any finished run on any machine:
data only, no dolfinx. Sections: the case and its status, the headline figures, the material
values that differ from the library, the conservation checks, the pictures (time series,
fields, interfaces, profiles), the solver and the shared quantities, versions and provenance,
and the resolved case file.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

import yaml

from sse_fem.postprocess.headline import format_number, headline, read_summary

REPORT_NAME = "report.html"

#: picture groups in page order: (title, test on the file stem)
PICTURE_GROUPS: list[tuple[str, Any]] = [
    (
        "Time series",
        lambda s: s.startswith("timeseries") or s in {"voltage_capacity", "heat"},
    ),
    ("Interfaces", lambda s: s.startswith("interface_") and not s.endswith("_profile")),
    ("Profiles", lambda s: "profile" in s),
    ("Fields", lambda s: True),
]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222;
       padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
.status { display: inline-block; padding: 0.15em 0.6em; border-radius: 0.3em; color: #fff;
          font-weight: bold; }
.ok { background: #2e7d32; } .failed, .interrupted, .running { background: #c62828; }
.pass { color: #2e7d32; font-weight: bold; } .miss { color: #c62828; font-weight: bold; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { background: #f3f3f3; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 500px; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #555; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.muted { color: #666; }
"""


def write_report(outdir: str | Path) -> Path:
    """Write ``OUT/report.html`` from the run's files; returns its path."""
    out = Path(outdir)
    summary = read_summary(out)
    resolved_path = out / "case.resolved.yaml"
    case = yaml.safe_load(resolved_path.read_text()) if resolved_path.exists() else {}
    name = str(summary.get("case", out.name))
    status = str(summary.get("status", "?"))
    description = str((case.get("case") or {}).get("description", ""))
    body = [
        f"<h1>{_e(name)}</h1>",
        f'<p><span class="status {_e(status)}">{_e(status)}</span> '
        f'<span class="muted">{_e(_when(summary))}</span></p>',
    ]
    if description:
        body.append(f"<p>{_e(description)}</p>")
    if summary.get("reason"):
        body.append(f'<p class="miss">{_e(summary["reason"])}</p>')
    body += _section("Headline figures", _headline_table(summary))
    body += _section("Materials", _materials(case))
    body += _section("Conservation checks", _conservation(summary.get("conservation") or {}))
    for title, pictures in _pictures(out):
        body += _section(title, "".join(pictures))
    body += _section("Solver", _solver(summary))
    body += _section("Shared quantities", _coupling(summary.get("coupling") or {}))
    body += _section("Versions and provenance", _provenance(summary))
    if resolved_path.exists():
        body += _section(
            "Resolved case",
            f"<details><summary>case.resolved.yaml (every default filled in, SI units)"
            f"</summary><pre>{_e(resolved_path.read_text())}</pre></details>",
        )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(name)}: sse-fem report</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
    path = out / REPORT_NAME
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _section(title: str, content: str) -> list[str]:
    if not content:
        return []
    return [f"<h2>{_e(title)}</h2>", content]


def _table(header: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """HTML table; cells are already escaped HTML; columns in ``numeric`` right-aligned."""
    if not rows:
        return ""
    numeric = numeric or set()
    head = f"<tr>{''.join(f'<th>{h}</th>' for h in header)}</tr>" if any(header) else ""
    lines = [
        "<tr>"
        + "".join(
            f'<td class="num">{c}</td>' if k in numeric else f"<td>{c}</td>"
            for k, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    ]
    return f"<table>{head}{''.join(lines)}</table>"


def _value(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _e(value)
    return _e(format_number(float(value)))


def _when(summary: dict) -> str:
    prov = summary.get("provenance") or {}
    wall = (summary.get("timings") or {}).get("total_s")
    parts = [f"finished {prov['finished']}" if prov.get("finished") else ""]
    if wall is not None:
        parts.append(f"in {wall:.3g} s")
    parts.append(f"on {summary.get('ranks', '?')} rank(s)")
    return " ".join(p for p in parts if p)


def _headline_table(summary: dict) -> str:
    rows = [
        [_e(label), _value(v), _e(unit)]
        for label, v, unit in headline(summary)
        if label not in {"status", "reason"}
    ]
    return _table(["figure", "value", "unit"], rows, {1})


def _materials(case: dict) -> str:
    """Regions and their materials, then every value the case sets instead of the library's
    (or defines for a material of its own)."""
    from sse_fem.errors import CaseError
    from sse_fem.materials import get_material

    specs = case.get("materials") or {}
    regions = [
        [_e(r.get("name")), _e(r.get("material")), _e(_base_of(specs, r.get("material")))]
        for r in case.get("regions") or []
    ]
    rows = []
    for mat, spec in specs.items():
        spec = dict(spec or {})
        base_name = spec.pop("base", None)
        spec.pop("category", None)
        try:
            base = get_material(base_name) if base_name else None
        except CaseError:
            base = None
        for key, given in spec.items():
            prop = base.properties.get(key) if base is not None else None
            library = f"{prop.given} ({prop.source})" if prop is not None else "not in the library"
            shown = given if isinstance(given, str) else json.dumps(given)
            rows.append(
                [_e(mat), _e(base_name or "(case-defined)"), _e(key), _e(shown), _e(library)]
            )
    parts = [_table(["region", "material", "library base"], regions)]
    if rows:
        parts.append("<p>Values that differ from the library:</p>")
        parts.append(_table(["material", "library base", "property", "case", "library"], rows))
    elif specs:
        parts.append('<p class="muted">Every material value is the library\'s.</p>')
    return "".join(parts)


def _base_of(specs: dict, material: str | None) -> str:
    spec = specs.get(material)
    if spec is None:
        return str(material)  # a library material used by name
    return str((spec or {}).get("base") or "(case-defined)")


def _conservation(checks: dict) -> str:
    rows = []
    for physics, values in checks.items():
        values = values or {}
        error, tol = values.get("balance_error"), values.get("tolerance")
        if isinstance(error, int | float) and isinstance(tol, int | float):
            good = math.isfinite(error) and error <= tol
            verdict = '<span class="pass">pass</span>' if good else '<span class="miss">MISS</span>'
        else:
            verdict = ""
        details = ", ".join(
            f"{_e(k)} = {_value(v)}"
            for k, v in values.items()
            if k not in {"balance_error", "tolerance"}
        )
        rows.append([_e(physics), _value(error), _value(tol), verdict, details])
    return _table(["physics", "balance error", "tolerance", "", "terms"], rows, {1, 2})


def _pictures(out: Path) -> list[tuple[str, list[str]]]:
    """(group title, figure HTML) in page order: every PNG of the output folder, embedded."""
    groups: dict[str, list[str]] = {title: [] for title, _ in PICTURE_GROUPS}
    for png in sorted(out.glob("*.png")):
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        figure = (
            f'<figure><img src="data:image/png;base64,{data}" alt="{_e(png.stem)}">'
            f"<figcaption>{_e(png.name)}</figcaption></figure>"
        )
        title = next(t for t, test in PICTURE_GROUPS if test(png.stem))
        groups[title].append(figure)
    return [(t, figs) for t, figs in groups.items() if figs]


def _solver(summary: dict) -> str:
    solver = summary.get("solver") or {}
    stats = summary.get("statistics") or {}
    timings = summary.get("timings") or {}
    rows = [["preset", _e(solver.get("preset", "?"))]]
    rows += [[f"dofs: {_e(k)}", _value(v)] for k, v in (solver.get("dofs") or {}).items()]
    rows += [
        [_e(k.replace("_", " ")), _value(v)] for k, v in stats.items() if not isinstance(v, dict)
    ]
    rows += [[_e(k.replace("_s", " [s]")), _value(v)] for k, v in timings.items()]
    mesh = summary.get("mesh") or {}
    rows += [
        [f"mesh {k}", _value(mesh[k])] for k in ("dimension", "cells", "vertices") if k in mesh
    ]
    options = solver.get("petsc_options") or {}
    text = _table(["", ""], rows, {1})
    if options:
        text += (
            "<details><summary>PETSc options</summary><pre>"
            + _e("\n".join(f"-{k} {v}" for k, v in options.items()))
            + "</pre></details>"
        )
    return text


def _coupling(coupling: dict) -> str:
    rows = [
        [
            _e(name),
            _e(q.get("provider")),
            _e(q.get("unit")),
            _e(", ".join(q.get("users") or []) or "-"),
        ]
        for name, q in coupling.items()
    ]
    return _table(["quantity", "provided by", "unit", "used by"], rows)


def _provenance(summary: dict) -> str:
    rows = [[_e(k), _e(v)] for k, v in (summary.get("versions") or {}).items()]
    rows += [[_e(k), _e(v)] for k, v in (summary.get("provenance") or {}).items() if v is not None]
    return _table(["", ""], rows)
