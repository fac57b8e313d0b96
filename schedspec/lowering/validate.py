"""Validation: parsed data -> the language's models (:class:`schedspec.language.Document`), every pydantic error
converted into one positioned :class:`~schedspec.Issue` that says what is wrong in the spec's own terms."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from .. import dialects, language
from .._fields import IDENT, describe
from .._source import Source, check_shape
from ..errors import Issue, SpecError, did_you_mean

__all__ = ["sort_issues", "validate"]

_EXPECTED = {
    "int_type": "a whole number", "bool_type": "true or false", "string_type": "a string", "list_type": "a list",
    "dict_type": "a mapping", "float_type": "a number", "model_type": "a mapping", "model_attributes_type": "a mapping",
    "int_from_float": "a whole number", "bool_parsing": "true or false", "int_parsing": "a whole number",
}  # fmt: skip
_NAMED = {"number", "bound", "duration", "var", "point", "greater_than", "greater_than_equal", "less_than",
          "less_than_equal", "too_short", "literal_error", *_EXPECTED}  # messages that name their key


# --------------------------------------------------------------------------------------------- validation
def _data_path(data: Any, loc: tuple) -> tuple[tuple, Any, Any]:
    """Follow a pydantic ``loc`` through the raw data, skipping union tags; return (path, value, parent)."""
    path: list = []
    cur, parent = data, None
    for el in loc:
        if isinstance(cur, dict) and isinstance(el, str) and el in cur:
            parent, cur = cur, cur[el]
            path.append(el)
        elif isinstance(cur, list) and isinstance(el, int) and 0 <= el < len(cur):
            parent, cur = cur, cur[el]
            path.append(el)
    return tuple(path), cur, parent


def _model_for(mapping: Any) -> type[BaseModel] | None:
    if isinstance(mapping, dict):
        kind = mapping.get("kind")
        if isinstance(kind, str):
            return language.KINDS.get(kind)
    return None


def _kind_list() -> str:
    return ", ".join(language.NEUTRAL_KINDS) + "; or a framework's own: torch.<Class>, keras.<Class>, optax.<function>"


def _convert(err: dict, data: Any, doc: Source) -> Issue:
    loc = tuple(err["loc"])
    path, value, parent = _data_path(data, loc)
    etype = err["type"]
    ctx = err.get("ctx") or {}
    if isinstance(ctx.get("item"), int) and isinstance(value, list) and 0 <= ctx["item"] < len(value):
        path, value = path + (ctx["item"],), value[ctx["item"]]  # one item of a pair (a piecewise point)
    key = False
    if etype == "missing":
        name = loc[-1]
        model = _model_for(value)
        where = f" for kind `{value['kind']}`" if model else ""
        msg = f"missing required key `{name}`{where}"
    elif etype == "extra_forbidden":
        name = path[-1]
        model = _model_for(parent)
        what = f"`{parent['kind']}`" if model else "this mapping"
        if model is None:  # a mapping inside a framework kind (optax.sgdr_schedule's cosine_kwargs entries)
            model, what = dialects.submodel(path[:-1], data) or (None, what)
        fields = [f for f in (model.model_fields if model else language.Document.model_fields)]
        msg = f"unknown key `{name}` for {what}{did_you_mean(name, fields)} (valid keys: {', '.join(fields)})"
        key = True
    elif etype == "kind":
        if isinstance(value, dict):
            kind = value.get("kind")
            if kind is None:
                msg = f"missing `kind`: a schedule mapping needs `kind` (one of {_kind_list()})"
            elif not isinstance(kind, str):
                msg = f"`kind` must be a name like 'cosine', got {describe(kind)}"
            else:
                known = dialects.kinds_like(kind) or f"known kinds: {_kind_list()}"
                msg = f"unknown kind '{kind}'{did_you_mean(kind, language.KINDS)} ({known})"
                if "kind" in value:
                    path = path + ("kind",)
        else:
            msg = (
                "expected a schedule (a number, a $var, a mapping with `kind`, or a list of phases), "
                f"got {describe(value)}"
            )
    elif etype == "literal_error":
        expected = ctx.get("expected", "")
        choices = re.findall(r"'([^']*)'", expected) or re.findall(r"\b(\w+)\b", expected)
        msg = f"expected {expected}, got {describe(value)}"
        if isinstance(value, str):
            msg += did_you_mean(value, choices)
    elif etype in _EXPECTED:
        msg = f"expected {_EXPECTED[etype]}, got {describe(value)}"
    elif etype in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[etype]
        bound = next(iter(ctx.values()), "?")
        msg = f"must be {op} {bound} (got {describe(value)})"
    elif etype == "too_short":
        msg = "must not be empty"
    elif etype == "string_pattern_mismatch" and loc and loc[-1] == "[key]":  # a vars/groups key
        msg = f"`{path[-1]}` is not a valid name: a name is letters, digits and '_' (ASCII), starting with a letter or '_'"
        key = True
    elif etype == "string_pattern_mismatch":
        msg = f"must be a name made of letters, digits and '_' (got {describe(value)})"
    else:
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
    if etype in _NAMED and path and isinstance(path[-1], str):
        msg = f"`{path[-1]}`: {msg}"
    return doc.issue(path, msg, key=key)


def _prepass(data: dict, doc: Source) -> list[Issue]:
    """Top-level keys: any identifier is a hyperparameter, but one that is close to a reserved key is a typo."""
    issues = []
    for key in data:
        if key in language.RESERVED:
            continue
        if not isinstance(key, str) or not re.fullmatch(IDENT, key):
            issues.append(doc.issue((key,), f"`{key}` is not a valid key: a hyperparameter name is letters, digits and '_'", key=True))
            continue
        hint = did_you_mean(key, language.RESERVED - {"lr"})
        if hint:
            issues.append(
                doc.issue(
                    (key,),
                    f"unknown top-level key `{key}`{hint} (any other name is read as a hyperparameter schedule; "
                    "rename it if that is what you meant)",
                    key=True,
                )
            )
    if "schedspec" in data and data["schedspec"] != 1 and isinstance(data["schedspec"], int) and not isinstance(data["schedspec"], bool):
        issues.append(doc.issue(("schedspec",), f"unsupported format version {data['schedspec']}; this schedspec reads version 1"))
    return issues


def validate(doc: Source) -> language.Document:
    """Validate parsed data against the models; raise :class:`SpecError` with every problem."""
    data = doc.data
    check_shape(data, doc.file)  # a deep dict would exhaust the stack in validation (text is checked when parsed)
    issues = _prepass(data, doc)
    try:
        model = language.Document.model_validate(data)
    except ValidationError as exc:
        # one line per problem as the user reads it: a YAML alias repeats its anchor's errors at the anchor's
        # position (reported once), while two elements of a dict spec with the same fault differ by their path
        seen = {str(i) for i in issues}
        for err in exc.errors():
            if err["type"] == "literal_error" and tuple(err["loc"]) == ("schedspec",) and issues:
                continue
            issue = _convert(err, data, doc)
            if str(issue) not in seen:
                seen.add(str(issue))
                issues.append(issue)
        model = None
    if issues:
        raise SpecError(sort_issues(issues))
    return model


def sort_issues(issues: list[Issue]) -> list[Issue]:
    """Issues in the order of the document (line, then column; unpositioned first)."""
    return sorted(issues, key=lambda i: (i.line or 0, i.col or 0))
