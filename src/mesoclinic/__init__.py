"""mesoclinic: an open-source clinic system for hair mesotherapy."""

__version__ = "0.1.0"
