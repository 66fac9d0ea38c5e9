"""Regression gold values of the shipped cases: ``cases/<name>/gold.json``.

Each case file of a case folder has an entry: the dotted overrides that make it small (a
coarser mesh, fewer steps), the relative tolerance, and the headline figures of that run
(``sse_fem.postprocess.headline``: status, dofs and every figure of merit, in display units).
``sse-fem gold`` runs each entry and lists the figures that moved; ``--update`` rewrites the
figures on purpose (the overrides and tolerance stay as written). Changing a physics default
moves a figure, so the regression test fails until the gold files are regenerated.

File format::

    {"runs": {"case.yaml": {"overrides": ["geometry.mesh.size=10 um"], "rtol": 1e-06,
                            "figures": {"status": "ok", "cell voltage [mV]": 69.06, ...}}}}
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from sse_fem.errors import CaseError

GOLD_FILE = "gold.json"
#: default largest relative change of a figure (direct solvers reproduce to ~1e-10; an entry
#: with iterative solves may state a wider one)
DEFAULT_RTOL = 1e-6
#: figures within this fraction of the largest figure of their unit are round-off
ROUND_OFF = 1e-9
#: figures whose change is no regression: machine-dependent
NOT_COMPARED = {"wall time", "reason"}

Figures = dict[str, float | str]


def read_gold(case_dir: str | Path) -> dict[str, dict[str, Any]]:
    """The ``runs`` of ``case_dir/gold.json`` (case file name -> entry), checked."""
    path = Path(case_dir) / GOLD_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise CaseError(f"{path} does not exist (every shipped case has one)", "gold") from None
    except ValueError as err:
        raise CaseError(f"{path} is not readable JSON: {err}", "gold") from None
    runs = data.get("runs") if isinstance(data, dict) else None
    if not isinstance(runs, dict) or not runs:
        raise CaseError(f"{path}: give `runs: {{case file: {{overrides, figures}}}}`", "gold")
    for name, entry in runs.items():
        where = f"gold.runs.{name}"
        if not (Path(case_dir) / name).is_file():
            raise CaseError(f"{path}: no case file {name!r} beside it", where)
        unknown = set(entry) - {"overrides", "rtol", "round_off", "figures", "note"}
        if unknown:
            raise CaseError(
                f"{path}: unknown key(s) {sorted(unknown)}; allowed: overrides, rtol, "
                "round_off, figures, note",
                where,
            )
        if ("rtol" in entry or "round_off" in entry) and not entry.get("note"):
            raise CaseError(f"{path}: a tolerance other than the default needs a note", where)
        for key in ("rtol", "round_off"):
            value = entry.get(key, 0.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise CaseError(f"{path}: {key} is a number >= 0, not {value!r}", where)
        if not all(isinstance(o, str) and "=" in o for o in entry.get("overrides", [])):
            raise CaseError(f"{path}: overrides are 'key.path=value' strings", where)
    return runs


def figures_of(summary: dict) -> Figures:
    """The compared figures of a run: ``label [unit]`` -> value (text for the status)."""
    from sse_fem.postprocess.headline import headline

    out: Figures = {}
    for label, value, unit in headline(summary):
        if label in NOT_COMPARED:
            continue
        out[f"{label} [{unit}]" if unit else label] = value
    return out


def run_entry(case_path: Path, overrides: list[str], outdir: Path) -> Figures:
    """Run one case file with its gold overrides (collective); its figures."""
    from sse_fem.config import load_case
    from sse_fem.driver import run_case

    case = load_case(case_path, overrides)
    return figures_of(run_case(case, outdir=str(outdir), case_file=str(case_path.resolve())))


def differences(
    gold: Figures, now: Figures, rtol: float, round_off: float = ROUND_OFF
) -> list[tuple[str, Any, Any, str]]:
    """(figure, gold, now, why) for every figure that appeared, vanished or moved by more than
    ``rtol`` relative to the larger magnitude, beyond a round-off floor of ``round_off`` times
    the largest gold figure of the same unit (an overpotential of 1e-15 mV at rest is noise
    next to a cell voltage of 4000 mV); a NaN equals only a NaN."""
    scale: dict[str, float] = {}
    for key, value in gold.items():
        if isinstance(value, float) and math.isfinite(value):
            unit = _unit(key)
            scale[unit] = max(scale.get(unit, 0.0), abs(value))
    out = []
    for key in dict.fromkeys([*gold, *now]):
        a, b = gold.get(key), now.get(key)
        if a is None or b is None:
            out.append((key, a, b, "missing now" if b is None else "new figure"))
        elif isinstance(a, str) or isinstance(b, str):
            if a != b:
                out.append((key, a, b, "changed"))
        elif math.isnan(a) or math.isnan(b):
            if not (math.isnan(a) and math.isnan(b)):
                out.append((key, a, b, "changed (NaN)"))
        elif abs(b - a) > rtol * max(abs(a), abs(b)) + round_off * scale.get(_unit(key), 0.0):
            rel = abs(b - a) / max(abs(a), abs(b))
            out.append((key, a, b, f"relative change {rel:.2e} > {rtol:g}"))
    return out


def _unit(key: str) -> str:
    """The unit in a figure's name (``cell voltage [mV]`` -> ``mV``), "" when none."""
    return key.rsplit("[", 1)[1].rstrip("]") if key.endswith("]") else ""


def check_case_dir(
    case_dir: str | Path, outroot: str | Path, update: bool = False, rank: int = 0
) -> list[tuple[str, str, Any, Any, str]]:
    """Run every entry of ``case_dir/gold.json`` (collective); the differences as
    (case file, figure, gold, now, why). ``update``: write the new figures instead (rank 0)
    and return none."""
    case_dir = Path(case_dir)
    runs = read_gold(case_dir)
    found = []
    for name, entry in runs.items():
        outdir = Path(outroot) / case_dir.name / Path(name).stem
        now = run_entry(case_dir / name, list(entry.get("overrides", [])), outdir)
        if update:
            entry["figures"] = now
            continue
        rtol = float(entry.get("rtol", DEFAULT_RTOL))
        floor = float(entry.get("round_off", ROUND_OFF))
        found += [(name, *d) for d in differences(entry.get("figures", {}), now, rtol, floor)]
    if update and rank == 0:
        text = json.dumps({"runs": runs}, indent=2) + "\n"
        (case_dir / GOLD_FILE).write_text(text)
    return found
