"""Pydantic field types for case files: quantities with units, strict base model."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from sse_fem.errors import CaseError
from sse_fem.units import to_si


class Strict(BaseModel):
    """Base of every case-file block: unknown keys are errors; values validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


def _quantity(dimension: str, positive: bool = False, nonnegative: bool = False):
    def convert(value: Any) -> float:
        try:
            si = to_si(value, dimension)
        except CaseError as err:  # pydantic adds the key path
            raise ValueError(str(err)) from None
        if si != si:  # NaN
            raise ValueError(f"{value!r} is not a number")
        if positive and si <= 0:
            raise ValueError(f"{value!r} must be > 0")
        if nonnegative and si < 0:
            raise ValueError(f"{value!r} must be >= 0")
        return si

    return BeforeValidator(convert)


def Quantity(dimension: str):  # noqa: N802 - reads as a type in models
    """Float field given as a string with units (or a bare SI number), stored in SI."""
    return Annotated[float, _quantity(dimension)]


def Positive(dimension: str):  # noqa: N802
    """Like Quantity, but must be > 0."""
    return Annotated[float, _quantity(dimension, positive=True)]


def NonNegative(dimension: str):  # noqa: N802
    """Like Quantity, but must be >= 0."""
    return Annotated[float, _quantity(dimension, nonnegative=True)]
