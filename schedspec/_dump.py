"""Document data -> YAML text that :func:`schedspec.loads` reads back to the same data.

The dumper resolves plain scalars with the loader's own YAML 1.2 core-schema rules (:mod:`schedspec._source`), so a
string that the loader would read as a number or a boolean (``"1e-3"``, ``"true"``) is quoted and one it reads as a
string (``yes``) is not. Floats are written with ``repr`` (exact round trip); key order is kept; a mapping or list
of scalars that fits on a line is written in flow style (``{kind: linear, start: 0.0, ...}``), the way specs are
written by hand.
"""

from __future__ import annotations

from typing import Any

import yaml

from . import _source


class _Dumper(yaml.SafeDumper):
    """SafeDumper whose implicit resolvers are the loader's (YAML 1.2 core), and which never writes aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_Dumper.yaml_implicit_resolvers = {k: list(v) for k, v in _source._Loader.yaml_implicit_resolvers.items()}


def _float(dumper: yaml.SafeDumper, value: float) -> yaml.ScalarNode:
    text = repr(float(value))
    if text in ("inf", "-inf", "nan"):  # never in a valid spec; written the YAML way all the same
        text = {"inf": ".inf", "-inf": "-.inf", "nan": ".nan"}[text]
    elif "." not in text and "e" not in text:
        text += ".0"
    elif "e" in text and "." not in text.split("e")[0]:
        mantissa, exp = text.split("e")
        text = f"{mantissa}.0e{exp}"
    return dumper.represent_scalar("tag:yaml.org,2002:float", text)


_Dumper.add_representer(float, _float)

FLOW_WIDTH = 100  # a mapping or list of scalars is written on one line when it fits in this many characters


def _simple(value: Any, depth: int = 2) -> bool:
    """A scalar, or a list of (lists of) scalars, or a mapping of those: what reads well on one line."""
    if isinstance(value, dict):
        return depth > 0 and all(_simple(v, depth - 1) for v in value.values())
    if isinstance(value, list):
        return depth > 0 and all(_simple(v, depth - 1) for v in value)
    return True


def _mapping(dumper: yaml.SafeDumper, data: dict) -> yaml.MappingNode:
    node = dumper.represent_mapping("tag:yaml.org,2002:map", data)
    node.flow_style = _simple(data, 3) and _width(data) <= FLOW_WIDTH
    return node


def _sequence(dumper: yaml.SafeDumper, data: list) -> yaml.SequenceNode:
    node = dumper.represent_sequence("tag:yaml.org,2002:seq", data)
    phases = any(isinstance(x, dict) for x in data)  # a sequence of phases reads best one phase per line
    node.flow_style = not phases and _simple(data, 2) and _width(data) <= FLOW_WIDTH
    return node


def _width(data: Any) -> int:
    """A generous estimate of the one-line flow width of ``data``."""
    if isinstance(data, dict):
        return 2 + sum(len(str(k)) + 2 + _width(v) + 2 for k, v in data.items())
    if isinstance(data, list):
        return 2 + sum(_width(v) + 2 for v in data)
    return len(repr(data))


class _Block(dict):
    """The top-level mapping: always written in block style."""


def _block(dumper: yaml.SafeDumper, data: dict) -> yaml.MappingNode:
    node = dumper.represent_mapping("tag:yaml.org,2002:map", dict(data))
    node.flow_style = False
    return node


_Dumper.add_representer(dict, _mapping)
_Dumper.add_representer(list, _sequence)
_Dumper.add_representer(_Block, _block)


def dump(data: Any) -> str:
    """YAML text of ``data`` (plain dicts, lists, numbers, strings, booleans and None).

    >>> dump({"schedspec": 1, "lr": [{"kind": "linear", "start": 0.0, "end": 1e-05, "duration": "5ep"}]})
    'schedspec: 1\\nlr:\\n- {kind: linear, start: 0.0, end: 1.0e-05, duration: 5ep}\\n'
    """
    top = _Block(data) if isinstance(data, dict) else data
    return yaml.dump(top, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 16)
