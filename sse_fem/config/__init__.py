"""Case-file layer: schema, units, loading. Imports no dolfinx."""

from sse_fem.config.loader import load_case, resolved_dict, validate_case
from sse_fem.config.schema import Case

__all__ = ["Case", "load_case", "resolved_dict", "validate_case"]
