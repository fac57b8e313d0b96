"""What the subcommands share: ``--set`` and ``--metrics`` parsing, loading a spec with overrides, CLI hints."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re

from .. import _source
from ..errors import SpecError, UsageError
from ..spec import Spec, load

__all__ = ["METRICS_HELP", "add_metrics_argument", "add_set_argument", "cli_hints", "load_spec", "parse_metrics",
           "parse_sets", "read_reports"]  # fmt: skip


def add_set_argument(parser: argparse.ArgumentParser, help: str = "override a var") -> None:
    """``--set NAME=VALUE`` (repeatable): a var's value (YAML), e.g. a sweep member."""
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE", help=help)


def parse_sets(sets: list[str]) -> dict:
    """``["peak=0.1", "warm=[1ep, 2ep]"]`` -> ``{"peak": 0.1, "warm": ["1ep", "2ep"]}`` (YAML values)."""
    out = {}
    for item in sets:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise UsageError(f"--set expects NAME=VALUE, got {item!r}")
        try:
            out[name.strip()] = _source.parse(f"v: {value}", "--set").data["v"]
        except SpecError:
            raise UsageError(f"--set {item!r}: the value is not valid YAML") from None
    return out


METRICS_HELP = ("metric reports for the plateaus (repeatable): FILE holds report 0, 1, ... of NAME (one per "
                "interval of the plateau's clock, from k = 0) as one number per line, comma-separated, or a JSON list")


def add_metrics_argument(parser: argparse.ArgumentParser) -> None:
    """``--metrics NAME=FILE`` (repeatable), for ``eval`` and ``plot``."""
    parser.add_argument("--metrics", dest="metrics", action="append", default=[], metavar="NAME=FILE",
                        help=METRICS_HELP)  # fmt: skip


def read_reports(name: str, path: str) -> list[float]:
    """The reports in ``path``: one number per line, comma-separated (CSV), or a JSON list; ``#`` starts a comment.

    Raises:
        UsageError: the file cannot be read, or holds something that is not a number (with its line).
    """
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(8 * 2**20 + 1)
    except OSError as exc:
        raise UsageError(f"--metrics {name}={path}: cannot read the file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--metrics {name}={path}: not a text file") from None
    if len(text) > 8 * 2**20:
        raise UsageError(f"--metrics {name}={path}: the file is over 8 MiB")
    if text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"--metrics {name}={path}: not a valid JSON list ({exc})") from None
        bad = next((x for x in data if isinstance(x, bool) or not isinstance(x, (int, float))), None) \
            if isinstance(data, list) else data  # fmt: skip
        if not isinstance(data, list) or bad is not None:
            raise UsageError(f"--metrics {name}={path}: a JSON file must be a flat list of numbers (got {bad!r})")
        return [float(x) for x in data]
    out: list[float] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for token in line.split("#", 1)[0].replace(",", " ").split():
            try:
                out.append(float(token))  # nan and inf are reports too (torch takes float(metric))
            except ValueError:
                raise UsageError(f"--metrics {name}={path}:{lineno}: {token[:40]!r} is not a number") from None
    return out


def parse_metrics(items: list[str]) -> dict[str, list[float]] | None:
    """``["val_loss=loss.txt"]`` -> ``{"val_loss": [reports]}`` (None when no ``--metrics`` was given)."""
    if not items:
        return None
    out: dict[str, list[float]] = {}
    for item in items:
        name, eq, path = item.partition("=")
        name = name.strip()
        if not eq or not name or not path:
            raise UsageError(f"--metrics expects NAME=FILE (e.g. val_loss=val_loss.txt), got {item!r}")
        if name in out:
            raise UsageError(f"--metrics: {name!r} is given twice")
        out[name] = read_reports(name, path)
    return out


def cli_hints(exc: SpecError) -> SpecError:
    """A SpecError whose "pass metrics={...}" hints name the command-line option instead."""
    def fix(message: str) -> str:
        message = re.sub(r"pass metrics=\{'(\w+)': \[\.\.\.\]\}", r"pass --metrics \1=FILE", message)
        return re.sub(r"metrics\['(\w+)'\] has (\d+) reports", r"the --metrics \1 file has \2 reports", message)

    return SpecError([dataclasses.replace(i, message=fix(i.message)) for i in exc.issues])


def load_spec(path: str, sets: list[str] | None = None) -> Spec:
    """Load ``path`` and apply ``--set`` overrides (``NAME=VALUE``, YAML values)."""
    spec = load(path)
    overrides = parse_sets(sets or [])
    return spec.with_vars(overrides) if overrides else spec
