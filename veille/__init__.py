"""veille: reputation monitoring for customer and employee voice, one time axis."""

__version__ = "0.1.0"
