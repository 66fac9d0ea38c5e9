"""Load library materials from ``data/*.yaml`` and resolve case-file overrides.

File format (one material per file, file stem == ``name``)::

    name: LLZO_Ta
    full_name: Ta-doped LLZO garnet
    formula: Li6.4La3Zr1.4Ta0.6O12
    category: solid_electrolyte
    mobile_ion: Li+
    references:
      Huang2024: "J. Huang et al., Adv. Funct. Mater. 2024, doi:10.1002/adfm.202411171"
    properties:
      ionic_conductivity: {value: 0.051, unit: S/m, source: Huang2024, flag: paper}
    curves:      # optional: properties as functions of the stoichiometry x = c_s / c_max
      open_circuit_potential: {x: [0.3, 0.9], values: [4.2, 3.6], unit: V,
                               source: ..., flag: paper, valid_range: [0.3, 0.9], note: ...}
      entropic_coefficient: {expression: '0.04*exp(-(x - 0.28)**2/0.001)', unit: mV/K, ...}

``flag`` is ``paper`` (printed in the cited source), ``derived`` (computed, method in ``note``)
or ``typical`` (a common literature value, not measured for this exact composition);
``low: true`` marks order-of-magnitude values, ``verify: true`` values to check before use.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from sse_fem.errors import CaseError
from sse_fem.materials.curves import Curve, curve_from_spec
from sse_fem.materials.properties import CURVES, LIMITS, PROPERTIES
from sse_fem.units import DIMENSIONS, short_repr, to_si

DATA_DIR = Path(__file__).parent / "data"
CATEGORIES = (
    "solid_electrolyte",
    "polymer_electrolyte",
    "metal",
    "active_material",
    "coating",
    "conductive_additive",
    "current_collector",
)
FLAGS = ("paper", "derived", "typical")


@dataclass(frozen=True)
class Property:
    """One property value in SI units with its provenance."""

    name: str
    value: float
    unit: str
    given: str
    source: str
    flag: str
    note: str = ""
    low: bool = False
    verify: bool = False


@dataclass(frozen=True)
class Material:
    """A library (or case-defined) material: properties in SI, plus metadata."""

    name: str
    category: str
    full_name: str = ""
    formula: str = ""
    mobile_ion: str = ""
    references: dict[str, str] = field(default_factory=dict)
    properties: dict[str, Property] = field(default_factory=dict)
    #: properties as functions of the stoichiometry x (``sse_fem.materials.curves``)
    curves: dict[str, Curve] = field(default_factory=dict)

    def curve(self, name: str) -> Curve | None:
        """The curve ``name`` (a key of ``CURVES``) of this material, or None."""
        return self.curves.get(name)

    def get(self, key: str, default: float | None = None) -> float | None:
        """SI value of ``key`` or ``default``."""
        p = self.properties.get(key)
        return default if p is None else p.value

    def require(self, key: str, path: str) -> float:
        """SI value of ``key``; a CaseError naming ``path`` when the material lacks it."""
        p = self.properties.get(key)
        if p is None:
            raise CaseError(
                f"material {self.name!r} has no {key!r}; give it inline "
                f"(e.g. {key}: '1 {DIMENSIONS[PROPERTIES[key][0]]}')",
                path,
            )
        return p.value

    def with_overrides(self, overrides: Mapping[str, object], path: str) -> Material:
        """A copy with properties replaced by case-file values.

        A value is a string with a unit (a scalar property), or, for a name in ``CURVES``, a
        mapping ``{x: [...], values: [...], unit: ...}`` or ``{expression: '...', unit: ...}``
        (a curve of the stoichiometry; source "case file", flag "typical"). The case file wins:
        a scalar override also drops the library curve of the same name.
        """
        props = dict(self.properties)
        curves = dict(self.curves)
        for key, given in overrides.items():
            where = f"{path}.{key}"
            check_property_name(key, where)
            if isinstance(given, Mapping):
                if key not in CURVES:
                    raise CaseError(
                        f"{key} takes one value with a unit, e.g. "
                        f"'1 {DIMENSIONS[PROPERTIES[key][0]]}'; only {', '.join(CURVES)} "
                        "take a table {x: [...], values: [...], unit: ...} or "
                        "{expression: '...', unit: ...}",
                        where,
                    )
                curves[key] = curve_from_spec(key, given, where)
                continue
            if key not in PROPERTIES:
                raise CaseError(
                    f"{key} is a curve of the stoichiometry x: give {{x: [...], values: [...], "
                    f"unit: {DIMENSIONS[CURVES[key][0]]}}} or {{expression: '...', unit: ...}}",
                    where,
                )
            curves.pop(key, None)
            dim = PROPERTIES[key][0]
            props[key] = Property(
                key,
                check_limits(key, to_si(given, dim, f"{path}.{key}"), given, f"{path}.{key}"),
                DIMENSIONS[dim],
                str(given),
                "case file",
                "typical",
                "override",
            )
        return Material(
            self.name,
            self.category,
            self.full_name,
            self.formula,
            self.mobile_ion,
            self.references,
            props,
            curves,
        )


def check_property_name(key: str, path: str) -> None:
    """CaseError with the nearest known name when ``key`` is not a catalogued property or
    curve (``PROPERTIES``, ``CURVES``)."""
    if key not in PROPERTIES and key not in CURVES:
        near = difflib.get_close_matches(key, [*PROPERTIES, *CURVES], n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise CaseError(
            f"unknown material property {key!r}{hint} "
            f"(`sse-fem materials` lists the {len(PROPERTIES)} known properties)",
            path,
        )


def check_limits(key: str, value: float, given: object, path: str) -> float:
    """``value`` (SI) of property ``key``; CaseError naming ``path`` when it is physically
    impossible (outside ``LIMITS``: e.g. a conductivity or Young's modulus <= 0)."""
    low, high = LIMITS.get(key, (-math.inf, math.inf))
    if low < value < high:
        return value
    unit = DIMENSIONS[PROPERTIES[key][0]]
    unit = "" if unit == "dimensionless" else f" {unit}"
    allowed = (
        f"> {low:g}{unit}" if high == math.inf else f"strictly between {low:g} and {high:g}{unit}"
    )
    raise CaseError(
        f"{short_repr(given)} is not possible: {key.replace('_', ' ')} must be {allowed}", path
    )


def _parse(data: dict, origin: str) -> Material:
    name = data["name"]
    if data.get("category") not in CATEGORIES:
        raise ValueError(f"{origin}: category must be one of {CATEGORIES}")
    refs = {str(k): str(v) for k, v in (data.get("references") or {}).items()}
    props: dict[str, Property] = {}
    for key, entry in (data.get("properties") or {}).items():
        where = f"{origin}: properties.{key}"
        check_property_name(key, where)
        dim = PROPERTIES[key][0]
        unit = str(entry.get("unit", "dimensionless"))
        given = f"{entry['value']} {unit}" if unit != "dimensionless" else str(entry["value"])
        si = check_limits(key, to_si(given, dim, where), given, where)
        if entry.get("source") not in refs:
            raise ValueError(f"{where}: source {entry.get('source')!r} not in references")
        if entry.get("flag") not in FLAGS:
            raise ValueError(f"{where}: flag must be one of {FLAGS}")
        props[key] = Property(
            key,
            si,
            DIMENSIONS[dim],
            given,
            entry["source"],
            entry["flag"],
            str(entry.get("note", "")),
            bool(entry.get("low", False)),
            bool(entry.get("verify", False)),
        )
    curves: dict[str, Curve] = {}
    for key, entry in (data.get("curves") or {}).items():
        where = f"{origin}: curves.{key}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a mapping")
        if entry.get("source") not in refs:
            raise ValueError(f"{where}: source {entry.get('source')!r} not in references")
        if entry.get("flag") not in FLAGS:
            raise ValueError(f"{where}: flag must be one of {FLAGS}")
        spec = {k: v for k, v in entry.items() if k not in ("source", "flag")}
        curves[key] = curve_from_spec(key, spec, where, entry["source"], entry["flag"])
    return Material(
        name,
        data["category"],
        str(data.get("full_name", "")),
        str(data.get("formula", "")),
        str(data.get("mobile_ion", "")),
        refs,
        props,
        curves,
    )


@lru_cache(maxsize=1)
def _library() -> dict[str, Material]:
    mats = {}
    for f in sorted(DATA_DIR.glob("*.yaml")):
        data = yaml.safe_load(f.read_text())
        if data.get("name") != f.stem:
            raise ValueError(f"{f.name}: name {data.get('name')!r} must equal the file stem")
        mats[f.stem] = _parse(data, f.name)
    return mats


def list_materials() -> list[Material]:
    """All library materials, sorted by name."""
    return list(_library().values())


def get_material(name: str, path: str = "materials") -> Material:
    """Library material by name (case-insensitive); CaseError with the nearest names otherwise."""
    lib = _library()
    if name in lib:
        return lib[name]
    lower = {k.lower(): k for k in lib}
    if name.lower() in lower:
        return lib[lower[name.lower()]]
    near = difflib.get_close_matches(name, lib, n=3, cutoff=0.4)
    hint = f"; nearest: {', '.join(near)}" if near else ""
    raise CaseError(f"unknown material {name!r}{hint} (`sse-fem materials` lists all)", path)


def resolve_case_materials(case: Any) -> dict[str, Material]:
    """Region name -> Material of a validated case (library base + inline overrides)."""
    out = {}
    for k, region in enumerate(case.regions):
        spec = case.materials.get(region.material)
        if spec is None:
            out[region.name] = get_material(region.material, f"regions[{k}].material")
            continue
        path = f"materials.{region.material}"
        if spec.base is not None:
            base = get_material(spec.base, f"{path}.base")
        else:
            base = Material(region.material, spec.category)
        out[region.name] = base.with_overrides(spec.overrides, path)
    return out
