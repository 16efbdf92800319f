"""The package's version, in one place: `pyproject.toml` reads it from here
(timm's `version.py`)."""

__version__ = "0.2.0"
