"""Built-in material library: one YAML file per material, every value with unit and source."""

from sse_fem.materials.properties import PROPERTIES
from sse_fem.materials.registry import Material, Property, get_material, list_materials

__all__ = ["PROPERTIES", "Material", "Property", "get_material", "list_materials"]
