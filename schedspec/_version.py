"""The version of schedspec (one place: the package, the CLI, the emitted headers and the wheel read it)."""

__version__ = "0.1.0"
