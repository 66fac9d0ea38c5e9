"""Pydantic field types for case files: quantities with units, strict base model."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema

from sse_fem.errors import CaseError
from sse_fem.units import DIMENSIONS, format_si, short_repr, si_numbers, to_si


class Strict(BaseModel):
    """Base of every case-file block: unknown keys are errors; values validated on assignment.

    Plain float fields refuse inf and nan. Numbers assigned from Python after validation are SI
    (``case.geometry.width = 60e-6``); case files and overrides need units.
    """

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, frozen=False, allow_inf_nan=False
    )

    def __setattr__(self, name: str, value: Any) -> None:
        with si_numbers():  # the Python API: bare numbers are SI
            super().__setattr__(name, value)


def _quantity(dimension: str, positive: bool = False, nonnegative: bool = False):
    def convert(value: Any) -> float:
        try:
            si = to_si(value, dimension)
        except CaseError as err:  # pydantic adds the key path
            raise ValueError(str(err)) from None
        if positive and si <= 0:
            raise ValueError(f"{short_repr(value)} must be > 0")
        if nonnegative and si < 0:
            raise ValueError(f"{short_repr(value)} must be >= 0")
        return si

    return BeforeValidator(convert)


def with_unit(dimension: str) -> PlainSerializer:
    """Written back (``model_dump(mode="json")``, ``case.resolved.yaml``) as an SI string
    with its unit, so that a resolved case loads again."""
    return PlainSerializer(lambda v: format_si(v, dimension), when_used="json")


def json_schema(dimension: str, bound: str = "") -> WithJsonSchema:
    """The JSON Schema of a quantity: a string with its unit (or a number where the
    dimension is dimensionless, or 0), described by its dimension and SI unit."""
    unit = DIMENSIONS[dimension]
    what = dimension.replace("_", " ")
    text = f"{what}, a number with a unit convertible to {unit}" + (f" ({bound})" if bound else "")
    if dimension == "dimensionless":
        text = "a number" + (f" ({bound})" if bound else "")
    return WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}], "description": text})


def Quantity(dimension: str):  # noqa: N802 - reads as a type in models
    """Float field given as a string with units ("10 um"), stored in SI; bare numbers only for
    dimensionless quantities and 0 (see ``sse_fem.units.to_si``)."""
    return Annotated[float, _quantity(dimension), with_unit(dimension), json_schema(dimension)]


def Positive(dimension: str):  # noqa: N802
    """Like Quantity, but must be > 0."""
    return Annotated[
        float,
        _quantity(dimension, positive=True),
        with_unit(dimension),
        json_schema(dimension, "> 0"),
    ]


def NonNegative(dimension: str):  # noqa: N802
    """Like Quantity, but must be >= 0."""
    return Annotated[
        float,
        _quantity(dimension, nonnegative=True),
        with_unit(dimension),
        json_schema(dimension, ">= 0"),
    ]
