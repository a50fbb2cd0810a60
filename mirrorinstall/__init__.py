"""mirrorinstall: install heavy Python packages through the fastest healthy mirror."""

__version__ = "0.1.0"
