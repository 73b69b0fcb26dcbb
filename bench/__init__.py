"""facebench: a plugin-based benchmark harness for face recognition."""

__version__ = "0.1.0"
