"""The bridge between the lowerer and the dialects: a framework kind is desugared (by its dialect) into neutral data,
which is validated into the language's models and lowered like a hand-written neutral schedule."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import TypeAdapter

from .. import ir, language
from ..dialects._base import (
    Cx,
    FrameworkKind,
    NeedLiteral,
    Stop,
    is_var,
    length,
    window,
)
from ..errors import Issue, format_path

__all__ = ["lower_framework_kind", "validate_neutral"]

# why a var length inside a framework kind is refused when the kind is cut at `total` (shown by NeedLiteral)
_TO_TOTAL = "it runs to `total`"

@functools.cache
def _schedule() -> TypeAdapter:
    return TypeAdapter(language.Schedule)  # built on first use: loading a neutral spec never pays for it


def validate_neutral(data: Any) -> Any:
    """Neutral schedule data -> the language's models (raises pydantic's ``ValidationError``)."""
    return _schedule().validate_python(data)


def lower_framework_kind(lw: Any, m: FrameworkKind, path: tuple, carry: Any, remaining: Any) -> ir.Node | None:
    """Desugar the framework-kind node ``m`` at ``path`` into neutral data and lower that with ``lw`` (the lowerer).

    Issues found while lowering the neutral form are reported at the framework node, prefixed with its kind. The
    neutral data is recorded in ``lw.desugared`` under ``path`` (``translate --to-neutral``); the quirks the node
    relies on go to ``lw.notes`` (through :meth:`Cx.note`).
    """
    cx = Cx(lw, path, m.kind, remaining if isinstance(remaining, int) else None)
    try:
        span = None
        if m.duration is not None:
            if is_var(m.duration):
                raise NeedLiteral(
                    ("duration",),
                    f"`duration` of {m.kind} must be a literal: the native schedule is cut there",
                )
            span = cx.steps(m.duration, ("duration",), "the native schedule is cut there")
            cx.horizon = span
        data = m.desugar(cx, span, carry)
        data = window(cx, data, span, "it is cut at its `duration`")
        if span is None and isinstance(remaining, int):
            # an open last phase runs to `total` (docs/language.md): a framework kind whose own phases go on past
            # it is cut there and holds its value at `total`, as a neutral open phase does; one that ends before
            # `total` is left as written (it holds its final value anyway: same values, same fingerprint); an open
            # one runs to `total` as neutral phases do, unless its open last phase begins after `total` (cut: it
            # holds the framework's value at `total`) or at `total` and moves (cut: it holds that phase's first value)
            try:
                own = length(cx, data, _TO_TOTAL)
                past = own > remaining if own is not None else _moves_from(cx, data, remaining)
            except NeedLiteral:  # a length given by a var: not cut here (the var's members may differ)
                past = False
            if past:
                data = window(cx, data, remaining, _TO_TOTAL)
        model = cx.neutral(data)
    except Stop:
        return None
    except NeedLiteral as exc:
        lw.err(path + exc.sub, f"{m.kind}: {exc.message}")
        return None
    lw.desugared[path] = data
    n_issues, n_warnings = len(lw.issues), len(lw.warnings)
    lw.native_depth += 1
    try:
        node = lw.schedule(model, path, carry, remaining)
    finally:
        lw.native_depth -= 1
    # The neutral form states the framework's own behaviour: a jump (ConstantLR, a SequentialLR restart) or a
    # falling first `linear` is what the framework does, not a slip, so it is not a warning (quirks are notes).
    del lw.warnings[n_warnings:]
    line, col = lw.doc.where(path)
    where, file = format_path(path), lw.doc.file_of(path)  # the node's own file (a detectron2 `_BASE_` file's)
    for i in range(n_issues, len(lw.issues)):
        old = lw.issues[i]
        lw.issues[i] = Issue(file, line, col, where, f"{m.kind} (in its neutral form): {old.message}", old.severity)
    if node is None:
        return None
    if span is None and remaining is not None and not isinstance(remaining, int):
        # the room to `total` depends on a var (a var-length phase before it): the cut above needs its value, so
        # the window is left to the IR, a clip without bounds at `remaining`: per sweep member it holds the
        # framework's value at `total` from there, as the cut does (one that ends before `total` holds its final
        # value anyway)
        node = ir.Clip(node, None, None, remaining)
    return ir.with_path(node, path)  # every node it desugars to is positioned at it


def _moves_from(cx: Cx, data: Any, remaining: int) -> bool:
    """Whether the open (never-ending) last phase of desugared ``data`` begins after ``remaining`` steps, or at
    ``remaining`` and changes after it begins (a held constant beginning there runs on with the value it has at
    ``remaining``, so it is left as written). Raises NeedLiteral for a var length before it."""
    begin = 0
    while isinstance(data, list) and data:
        begin += sum(length(cx, p, _TO_TOTAL) or 0 for p in data[:-1])
        data = data[-1]
    held = not isinstance(data, dict) or data.get("kind") == "constant"
    return begin > remaining or (begin == remaining and not held)
