"""Heat: temperature with Joule, reaction, film, entropic, contact and given sources."""

from sse_fem.physics.heat.module import Heat

__all__ = ["Heat"]
