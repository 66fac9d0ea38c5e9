"""A tiny sweep for the executor tests: the 1D symmetric cell (about a second per case)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import CASES

#: a value of `solver.newton_max_it` that makes the Butler-Volmer cell fail (a runtime failure)
FAILING = 1
CURRENT = "boundary_conditions.conduction.bottom.value"
NEWTON = "solver.newton_max_it"


def tiny_sweep(folder: Path, grid: dict, extra: dict | None = None) -> Path:
    """``folder/sweep.yaml`` over the 1D symmetric cell (no fields, plots or report), its
    output in ``folder/out``; returns the sweep file."""
    folder.mkdir(parents=True, exist_ok=True)
    case = yaml.safe_load((CASES / "symmetric_cell" / "case.yaml").read_text())
    case["geometry"]["dimension"] = 1
    case["outputs"] = {"fields": False, "plots": False, "report": False}
    (folder / "case.yaml").write_text(yaml.safe_dump(case))
    extra = dict(extra or {})
    parameters = {"grid": grid} if grid else {}
    parameters.update(extra.pop("parameters", {}))
    spec = {
        "sweep": {"case": "case.yaml", "output": str(folder / "out")},
        "parameters": parameters,
        **extra,
    }
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def four_cases(folder: Path, failing: bool = True, extra: dict | None = None) -> Path:
    """Four currents; the last case cannot converge (Newton capped) when ``failing``."""
    zipped = {
        CURRENT: ["0.5 mA/cm^2", "1 mA/cm^2", "1.5 mA/cm^2", "2 mA/cm^2"],
        NEWTON: [30, 30, 30, FAILING if failing else 30],
    }
    return tiny_sweep(folder, {}, {"parameters": {"zip": zipped}, **(extra or {})})
