"""Sweep files: a base case and the parameters to vary, expanded into the sweep's cases.

A sweep file (YAML, validated like a case file: unknown keys and bad values are errors naming
their key path)::

    sweep:
      case: case.yaml                # the base case, in this file's folder
      output: results/sweep_ccd      # where the cases go (default results/<file stem>)
      ranks: 1                       # MPI ranks per case
    parameters:                      # dotted key paths, as in command-line overrides
      grid:                          # every combination
        boundary_conditions.conduction.metal_terminal.value: [0.1 mA/cm^2, 0.5 mA/cm^2]
        geometry.voids.contact_fraction: {start: 0.6, stop: 0.9, num: 4}
        boundary_conditions.mechanics.metal_terminal.value:
          {start: 1 MPa, stop: 10 MPa, num: 3, scale: log}
      zip:                           # lists of one length, taken together
        geometry.seed: [0, 1, 2]
        geometry.voids.radius: [1 um, 2 um, 3 um]
      sample:                        # random, latin_hypercube or sobol (scipy.stats.qmc)
        method: latin_hypercube
        count: 16
        seed: 0
        bounds:
          geometry.voids.radius: {low: 1 um, high: 5 um}
          interfaces.conduction.metal_electrolyte.exchange_current_density:
            {low: 0.1 mA/cm^2, high: 10 mA/cm^2, scale: log}
    criteria:                        # yes/no columns of the results table
      critical: {figure: conduction.metal_electrolyte.max_current_density_A_m2, above: 50}
    local: {parallel: 2}             # cases at a time (executor local)
    slurm: {time: "00:30:00", memory: 4G, partition: batch, max_running: 8}

The blocks present are combined as an outer product (grid x zip x sample). Ranges and bounds
give both ends in one unit; values are written back as "number unit" overrides.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sse_fem.errors import CaseError
from sse_fem.units import short_repr, split_quantity

#: the most cases one sweep file may expand to (a typo in a range must not plan millions)
MAX_CASES = 20000
#: the most values one range or list may have
MAX_VALUES = 10000

Scalar = float | int | str | bool


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Range(_Block):
    """``num`` values from ``start`` to ``stop`` (both included), linear or log spaced."""

    start: float | str
    stop: float | str
    num: Annotated[int, Field(ge=1, le=MAX_VALUES)]
    scale: Literal["linear", "log"] = "linear"

    def values(self, path: str) -> list[Scalar]:
        (a, b), unit = _same_unit([self.start, self.stop], path)
        if self.scale == "log" and not (a > 0 and b > 0 or a < 0 and b < 0):
            raise CaseError("a log range needs start and stop of one sign, not 0", path)
        points = (
            np.geomspace(a, b, self.num) if self.scale == "log" else np.linspace(a, b, self.num)
        )
        return [_with_unit(float(v), unit) for v in points]


class Bounds(_Block):
    """Where a sampled parameter lies: ``low`` to ``high``, uniform or log-uniform."""

    low: float | str
    high: float | str
    scale: Literal["linear", "log"] = "linear"


class Sample(_Block):
    method: Literal["random", "latin_hypercube", "sobol"]
    count: Annotated[int, Field(ge=1, le=MAX_CASES)]
    seed: int = 0
    bounds: dict[str, Bounds] = Field(min_length=1)

    def points(self, path: str) -> list[dict[str, Scalar]]:
        from scipy.stats import qmc

        keys = list(self.bounds)
        if self.method == "random":
            unit_cube = np.random.default_rng(self.seed).random((self.count, len(keys)))
        elif self.method == "latin_hypercube":
            unit_cube = qmc.LatinHypercube(d=len(keys), seed=self.seed).random(self.count)
        else:
            unit_cube = qmc.Sobol(d=len(keys), scramble=True, seed=self.seed).random(self.count)
        columns = []
        for k, key in enumerate(keys):
            b = self.bounds[key]
            where = f"{path}.bounds.{key}"
            (lo, hi), unit = _same_unit([b.low, b.high], where)
            if not lo < hi:
                raise CaseError("give low < high", where)
            if b.scale == "log":
                if lo <= 0:
                    raise CaseError("log-uniform bounds must be positive", where)
                v = np.exp(np.log(lo) + unit_cube[:, k] * (np.log(hi) - np.log(lo)))
            else:
                v = lo + unit_cube[:, k] * (hi - lo)
            columns.append([_with_unit(float(x), unit) for x in v])
        return [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]


class Parameters(_Block):
    grid: dict[str, list[Scalar] | Range] = Field(default_factory=dict)
    zip: dict[str, list[Scalar] | Range] = Field(default_factory=dict)
    sample: Sample | None = None

    @model_validator(mode="after")
    def _something(self) -> Parameters:
        if not (self.grid or self.zip or self.sample):
            raise ValueError("give at least one of grid, zip, sample")
        return self


class Criterion(_Block):
    """A yes/no column: the figure (a column of the table) above and/or below a value."""

    figure: str = Field(min_length=1)
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _bound(self) -> Criterion:
        if self.above is None and self.below is None:
            raise ValueError("give `above` and/or `below` (SI, in the figure's unit)")
        return self

    def holds(self, value: float | None) -> bool | None:
        if value is None or not math.isfinite(value):
            return None
        return (self.above is None or value > self.above) and (
            self.below is None or value < self.below
        )


class SweepInfo(_Block):
    case: str = Field(min_length=1)
    output: str | None = None
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-]+$")
    ranks: Annotated[int, Field(ge=1, le=4096)] = 1


class Local(_Block):
    parallel: Annotated[int, Field(ge=1, le=1024)] = 1


class Slurm(_Block):
    time: str = Field(default="01:00:00", pattern=r"^(\d+-)?\d{1,3}(:\d{2}){0,2}$")
    memory: str | None = Field(default=None, pattern=r"^\d+[KMGT]?$")
    partition: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-,]+$")
    account: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-]+$")
    max_running: Annotated[int, Field(ge=1)] | None = None  # the array's %throttle
    cases_per_task: Annotated[int, Field(ge=1, le=10000)] = 1
    launcher: Literal["mpirun", "srun"] = "mpirun"
    extra: list[Annotated[str, Field(pattern=r"^--[A-Za-z][A-Za-z0-9\-]*(=[^\n]*)?$")]] = Field(
        default_factory=list
    )  # further sbatch options, one "--option=value" each


class SweepFile(_Block):
    sweep: SweepInfo
    parameters: Parameters
    criteria: dict[str, Criterion] = Field(default_factory=dict)
    local: Local = Local()
    slurm: Slurm = Slurm()


@dataclass(frozen=True)
class PlannedCase:
    """One case of a sweep: its index, parameter values (as overrides) and stable id."""

    index: int
    params: dict[str, Scalar]

    @property
    def key(self) -> str:
        """Hash of the parameters (10 hex digits): the same values give the same folder."""
        text = json.dumps(self.params, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    @property
    def folder(self) -> str:
        return f"{self.index:04d}-{self.key}"

    def overrides(self) -> list[str]:
        return [f"{k}={_override_text(v)}" for k, v in self.params.items()]


@dataclass
class Sweep:
    """A validated sweep file, its base case and its cases."""

    path: Path
    spec: SweepFile
    cases: list[PlannedCase]

    @property
    def name(self) -> str:
        return self.spec.sweep.name or self.path.stem

    @property
    def base_case(self) -> Path:
        return (self.path.parent / self.spec.sweep.case).resolve()

    @property
    def output(self) -> Path:
        return Path(self.spec.sweep.output or f"results/{self.name}")

    @property
    def parameter_keys(self) -> list[str]:
        return list(self.cases[0].params) if self.cases else []


def load_sweep(path: str | Path, check_cases: bool = True) -> Sweep:
    """Read and validate a sweep file and expand its cases; with ``check_cases`` every case
    is validated (its case file with the overrides), so a bad value fails before any run."""
    from sse_fem.config.loader import _read_yaml, load_case

    path = Path(path)
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise CaseError(f"{path.name}: a sweep file is a mapping (sweep, parameters, ...)")
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as err:
        e = err.errors(include_url=False)[0]
        where = ".".join(str(p) for p in e["loc"] if not str(p).startswith(("list[", "int")))
        given = e.get("input")
        shown = short_repr(given) if not isinstance(given, dict | list) else type(given).__name__
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        raise CaseError(f"{msg} (got {shown})", where or "sweep file") from None
    base = (path.parent / spec.sweep.case).resolve()
    if not base.is_relative_to(path.parent.resolve()):
        raise CaseError("the base case must be in the sweep file's folder", "sweep.case")
    if not base.is_file():
        raise CaseError(f"no case file {spec.sweep.case!r} beside the sweep file", "sweep.case")
    cases = [PlannedCase(i, p) for i, p in enumerate(_expand(spec.parameters))]
    for name, crit in spec.criteria.items():
        if crit.figure in (cases[0].params if cases else {}):
            raise CaseError("a criterion is on a figure of merit, not a parameter", name)
    if check_cases:
        for case in cases:
            try:
                load_case(base, case.overrides())
            except CaseError as err:
                raise CaseError(f"case {case.index} ({_describe(case.params)}): {err}") from None
    return Sweep(path, spec, cases)


def _expand(params: Parameters) -> list[dict[str, Scalar]]:
    blocks: list[list[dict[str, Scalar]]] = []
    if params.grid:
        axes = [
            [(key, v) for v in _values(spec, f"parameters.grid.{key}")]
            for key, spec in params.grid.items()
        ]
        _check_count(math.prod(len(a) for a in axes))
        blocks.append([dict(combo) for combo in itertools.product(*axes)])
    if params.zip:
        columns = {k: _values(v, f"parameters.zip.{k}") for k, v in params.zip.items()}
        lengths = {k: len(v) for k, v in columns.items()}
        if len(set(lengths.values())) > 1:
            raise CaseError(f"zipped lists differ in length: {lengths}", "parameters.zip")
        blocks.append(
            [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
        )
    if params.sample is not None:
        blocks.append(params.sample.points("parameters.sample"))
    keys = [k for b in blocks for k in b[0]]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise CaseError(f"a parameter is set in two blocks: {twice}", "parameters")
    _check_count(math.prod(len(b) for b in blocks))
    return [
        {k: v for part in combo for k, v in part.items()} for combo in itertools.product(*blocks)
    ]


def _values(spec: list[Scalar] | Range, path: str) -> list[Scalar]:
    values = spec.values(path) if isinstance(spec, Range) else list(spec)
    if not values:
        raise CaseError("give at least one value", path)
    if len(values) > MAX_VALUES:
        raise CaseError(f"at most {MAX_VALUES} values", path)
    return values


def _check_count(n: int) -> None:
    if n > MAX_CASES:
        raise CaseError(f"the sweep expands to {n} cases; at most {MAX_CASES}", "parameters")


def _same_unit(ends: list[float | str], path: str) -> tuple[list[float], str]:
    parsed = [split_quantity(e, path) for e in ends]
    units = {u for _, u in parsed}
    if len(units) > 1:
        raise CaseError(f"give both ends in one unit (got {sorted(units)})", path)
    return [v for v, _ in parsed], units.pop()


def _with_unit(value: float, unit: str) -> Scalar:
    return f"{value:.10g} {unit}" if unit else float(f"{value:.10g}")


def _override_text(value: Scalar) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())
