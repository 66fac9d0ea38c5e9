"""The headline figures of a run, from its ``summary.json``: what ``sse-fem run`` prints at the
end and ``sse-fem show OUT [OUT2]`` prints for finished runs (two side by side with their
differences). Data only: no dolfinx, works on any machine that has the output folder."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

#: (key pattern in the last time-series row or in ``outputs.<physics>``, label with {name},
#: display unit, factor from SI to the display unit), in display order
FIGURES: list[tuple[str, str, str, float]] = [
    (r"conduction\.voltage_V", "cell voltage", "mV", 1e3),
    (r"conduction\.current_density_A_m2", "current density", "mA/cm^2", 0.1),
    (r"conduction\.area_specific_resistance_ohm_m2", "area-specific resistance", "Ohm cm^2", 1e4),
    (r"(conduction|nernst_planck)\.ohmic_overpotential_V", "ohmic overpotential", "mV", 1e3),
    (
        r"(conduction|nernst_planck)\.charge_transfer_overpotential_V",
        "charge-transfer overpotential",
        "mV",
        1e3,
    ),
    (r"nernst_planck\.concentration_overpotential_V", "concentration overpotential", "mV", 1e3),
    (r"conduction\.(?P<name>[^.]+)\.focusing_factor", "{name}: focusing factor (max/mean)", "", 1),
    (r"conduction\.effective_conductivity_S_m", "effective conductivity", "S/m", 1),
    (r"homogenize\.volume_fraction", "conducting volume fraction", "", 1),
    (r"homogenize\.reference_conductivity", "reference conductivity (best phase)", "S/m", 1),
    (r"homogenize\.sigma_(?P<name>xx|yy|zz)", "effective conductivity {name}", "S/m", 1),
    (r"homogenize\.tortuosity_(?P<name>[xyz])", "tortuosity factor {name}", "", 1),
    (r"homogenize\.macmullin_(?P<name>[xyz])", "MacMullin number {name}", "", 1),
    (r"homogenize\.percolating_fraction_(?P<name>[xyz])", "percolating fraction {name}", "", 1),
    (r"homogenize\.anisotropy", "anisotropy (eigenvalue ratio)", "", 1),
    (r"homogenize\.particles", "particles (connected pieces)", "", 1),
    (
        r"homogenize\.particle_volume_share_(?P<name>electronic_path|ionic_path|both_paths)",
        "particle volume with {name}",
        "%",
        100.0,
    ),
    (r"homogenize\.seeds", "seeds", "", 1),
    (r"homogenize\.sigma_(?P<name>xx|yy|zz)_mean", "effective conductivity {name}, mean", "S/m", 1),
    (r"homogenize\.sigma_(?P<name>xx|yy|zz)_std", "effective conductivity {name}, std", "S/m", 1),
    (
        r"homogenize\.percolation_probability_(?P<name>[xyz])",
        "percolation probability {name}",
        "",
        1,
    ),
    (r"solid_diffusion\.capacity_Ah", "active-material capacity", "mAh", 1e3),
    (r"solid_diffusion\.delivered_charge_Ah", "delivered charge", "mAh", 1e3),
    (r"solid_diffusion\.utilisation", "utilisation", "%", 100.0),
    (r"solid_diffusion\.unused_particles", "unused particles", "", 1),
    (r"heat\.peak_temperature_rise_K", "peak temperature rise", "K", 1),
    (r"heat\.max_temperature_K", "max temperature (last step)", "degC", math.nan),
    (r"mechanics\.max_von_mises_stress_Pa", "max von Mises stress", "MPa", 1e-6),
    (r"mechanics\.max_principal_stress_Pa", "max principal stress", "MPa", 1e-6),
    (r"mechanics\.max_hydrostatic_stress_Pa", "max hydrostatic stress", "MPa", 1e-6),
    (
        r"mechanics\.(?P<name>[^.]+)\.p99_hydrostatic_stress_Pa",
        "{name}: 99th percentile hydrostatic stress",
        "MPa",
        1e-6,
    ),
    (
        r"mechanics\.(?P<name>[^.]+)\.max_normal_traction_Pa",
        "{name}: max interface tension",
        "MPa",
        1e-6,
    ),
    (r"nernst_planck\.(?P<name>[^.]+)\.debye_length_m", "{name}: Debye length", "nm", 1e9),
    (
        r"nernst_planck\.(?P<name>[^.]+)\.surface_charge_C_m2",
        "{name}: surface charge",
        "uC/cm^2",
        100.0,
    ),
    (
        r"nernst_planck\.(?P<name>.+)\.space_charge_width_m",
        "{name}: space-charge layer width",
        "nm",
        1e9,
    ),
    (r"nernst_planck\.(?P<name>.+)\.potential_drop_V", "{name}: potential drop", "mV", 1e3),
    (
        r"nernst_planck\.(?P<name>.+)\.stored_charge_C_m2",
        "{name}: stored charge",
        "uC/cm^2",
        100.0,
    ),
    (r"nernst_planck\.voltage_V", "terminal voltage", "mV", 1e3),
    (
        r"nernst_planck\.(?P<name>[^.]+)\.electrode_potential_V",
        "{name}: electrode potential",
        "mV",
        1e3,
    ),
    (
        r"nernst_planck\.(?P<name>[^.]+)\.current_density_A_m2",
        "{name}: current density",
        "mA/cm^2",
        0.1,
    ),
    (r"nernst_planck\.(?P<name>[^.]+)\.overpotential_V", "{name}: overpotential", "mV", 1e3),
    (r"nernst_planck\.(?P<name>[^.]+)\.sand_time_s", "{name}: Sand's time (extrapolated)", "s", 1),
    (
        r"nernst_planck\.(?P<name>[^.]+)\.limiting_current_A_m2",
        "{name}: limiting current (from the steady depletion)",
        "mA/cm^2",
        0.1,
    ),
    (r"nernst_planck\.(?P<name>[^.]+)\.potential_V", "{name}: potential", "mV", 1e3),
    (
        r"nernst_planck\.(?P<name>.+)\.layer_resistance_ohm_m2",
        "{name}: layer resistance",
        "Ohm cm^2",
        1e4,
    ),
]


def flatten(summary: dict) -> dict[str, float]:
    """Every finite number of the run's last row and its module outputs, by dotted key (a
    NaN, e.g. a focusing factor at rest, is no figure: summary.json stores it as null)."""
    values: dict[str, float] = {}
    for key, value in (summary.get("results") or {}).items():
        if _finite(value):
            values[key] = float(value)
    for physics, outputs in (summary.get("outputs") or {}).items():
        for key, value in (outputs or {}).items():
            if _finite(value):
                values[f"{physics}.{key}"] = float(value)
    return values


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def headline(summary: dict) -> list[tuple[str, float | str, str]]:
    """(label, value in display units or text, unit) rows of a run's summary."""
    rows: list[tuple[str, float | str, str]] = [
        ("status", str(summary.get("status", "?")), ""),
    ]
    if summary.get("reason"):
        rows.append(("reason", str(summary["reason"]), ""))
    dofs = (summary.get("solver") or {}).get("dofs") or {}
    if dofs:
        rows.append(("dofs", float(sum(dofs.values())), ""))
    wall = (summary.get("timings") or {}).get("total_s")
    if wall is not None:
        rows.append(("wall time", float(wall), "s"))
    values = flatten(summary)
    for pattern, label, unit, factor in FIGURES:
        regex = re.compile(pattern + "$")
        for key in sorted(values):
            m = regex.match(key)
            if m is None:
                continue
            value = values[key]
            shown = value - 273.15 if unit == "degC" else value * factor
            rows.append((label.format(**m.groupdict()), shown, unit))
    return rows


def format_number(value: float) -> str:
    """Six significant digits, exponent notation outside [1e-3, 1e6)."""
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:.6g}"
    return f"{value:.4e}"


def format_table(summaries: list[dict], names: list[str]) -> str:
    """One run: label, value, unit; two runs: both values, their difference and the
    relative difference."""
    tables = [dict((label, (v, u)) for label, v, u in headline(s)) for s in summaries]
    labels = list(dict.fromkeys(label for t in tables for label in t))
    header = ["", *names, "unit"] + (["B - A", "(B - A)/|A|"] if len(tables) == 2 else [])
    lines = [header]
    for label in labels:
        cells = [label]
        numbers = []
        unit = ""
        for t in tables:
            value, u = t.get(label, ("-", ""))
            unit = unit or u
            cells.append(format_number(value) if isinstance(value, float) else str(value))
            numbers.append(value if isinstance(value, float) else None)
        cells.append(unit)
        if len(tables) == 2:
            a, b = numbers
            if a is not None and b is not None:
                cells.append(format_number(b - a))
                cells.append(f"{(b - a) / abs(a):+.2%}" if a else "-")
            else:
                cells += ["", ""]
        lines.append(cells)
    widths = [max(len(row[k]) for row in lines) for k in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if k == 0 else cell.rjust(w)
            for k, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in lines
    )


def read_summary(outdir: str | Path) -> dict:
    """``summary.json`` of an output folder; CaseError naming it when missing or broken."""
    from sse_fem.errors import CaseError

    path = Path(outdir) / "summary.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CaseError(
            f"{outdir} has no summary.json (not a run's output folder)", "show"
        ) from None
    except ValueError as err:
        raise CaseError(f"{path} is not readable JSON: {err}", "show") from None
