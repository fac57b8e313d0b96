"""Every exception schedspec raises on purpose, and the helpers that phrase them.

* :class:`SpecError` (a ``ValueError``): a spec has problems; ``.issues`` lists each :class:`Issue`, positioned
  ``file:line:col: message`` (its subclass :class:`PlateauNeedsMetrics`: a plateau evaluated without its reports).
* :class:`MissingDependency` (an ``ImportError``): an optional framework is not installed; names the extra.
* :class:`UsageError`: bad usage of a library helper or of the command line (a range string, an option); the CLI
  exits with code 2.
* :class:`PlotError` (a ``ValueError``): a plot cannot be drawn as asked.
* :class:`LogError` (a ``ValueError``): a training log cannot be read (``schedspec verify``).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ._text import sanitize

__all__ = [
    "Issue", "LogError", "MissingDependency", "PlateauNeedsMetrics", "PlotError", "SpecError", "UsageError",
    "did_you_mean", "format_path", "require", "require_keras",
]  # fmt: skip

Path = tuple  # a tuple of str keys and int indices, e.g. ("lr", 1, "duration")


def format_path(path: Sequence[str | int]) -> str:
    """``("lr", 1, "duration")`` -> ``"lr[1].duration"``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<document>"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ``"; did you mean 'x'?"`` suffix, or ``""`` when nothing is close."""
    close = difflib.get_close_matches(str(word), sorted(set(choices)), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


@dataclass(frozen=True)
class Issue:
    """One problem found in a spec.

    Attributes:
        file: the file name, or ``"<string>"`` / ``"<dict>"`` when the spec did not come from a file.
        line: 1-based line, or ``None`` when unknown (a spec given as a Python dict).
        col: 1-based column, or ``None``.
        path: where in the document, e.g. ``"lr[1].duration"``.
        message: what is wrong and how to fix it.
        severity: ``"error"`` or ``"warning"``.
    """

    file: str
    line: int | None
    col: int | None
    path: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        # user text (file names, keys, values quoted in the message) is escaped: printing it is safe
        if self.line is None:
            # No positions (dict input): name the path instead.
            return sanitize(f"{self.file}: {self.path}: {self.message}")
        return sanitize(f"{self.file}:{self.line}:{self.col}: {self.message}")


class SpecError(ValueError):
    """A spec has one or more problems. ``.issues`` lists every one of them."""

    def __init__(self, issues: Sequence[Issue] | str):
        if isinstance(issues, str):
            issues = [Issue("<spec>", None, None, "<document>", issues)]
        self.issues: list[Issue] = list(issues)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(i) for i in self.issues)


class PlateauNeedsMetrics(SpecError):
    """A plateau was evaluated where it needs metric reports, and none were given."""


class MissingDependency(ImportError):
    """An optional framework is not installed."""

    def __init__(self, package: str, extra: str | None = None):
        self.package = package
        self.extra = extra or package
        super().__init__(
            f"Missing optional dependency '{package}'. Install it with: pip install 'schedspec[{self.extra}]'"
        )


class UsageError(Exception):
    """Bad usage of a helper or of the command line (exit code 2 there): a malformed range, an unknown option value,
    a file that cannot be written."""


class PlotError(ValueError):
    """A plot cannot be drawn as asked (a range outside the schedule, a schedule that never ends, ...)."""


class LogError(ValueError):
    """The log cannot be read or has no usable column (one line: ``LOG[:line]: what is wrong``)."""


def require(module: str, extra: str | None = None):
    """Import ``module`` or raise :class:`MissingDependency` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised by tests that hide a module
        raise MissingDependency(module.split(".")[0], extra) from exc


def require_keras():
    """Import keras, or raise :class:`MissingDependency` (not installed) or an ImportError naming the backend to set
    (installed, but its backend, ``KERAS_BACKEND``, cannot be imported)."""
    try:
        import keras
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] == "keras":
            raise MissingDependency("keras", "keras") from exc
        raise ImportError(
            f"keras is installed, but importing it failed ({exc}). Keras 3 runs on the backend named by the "
            "KERAS_BACKEND environment variable (default 'tensorflow'); set KERAS_BACKEND=jax or KERAS_BACKEND=torch "
            "before keras is first imported"
        ) from exc
    return keras
