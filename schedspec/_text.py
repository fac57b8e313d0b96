"""Small text helpers, one meaning each: terminal-safe text and the two ways numbers are written in messages."""

from __future__ import annotations

__all__ = ["exact_number", "sanitize", "short_number"]


def sanitize(text: object) -> str:
    """Text safe to print to a terminal or inside a ``#`` comment: every non-printable character escaped, as
    ``repr`` does.

    Newlines, carriage returns, escape sequences (ESC), NUL, Unicode line/paragraph separators and bidi controls
    (U+202E...) become visible escapes (``\\n``, ``\\x1b``, ``\\u202e``...), so user text (a spec's ``name``, a
    key, a file name) can neither reorder nor recolour what is printed around it. Used wherever user strings reach
    the terminal (errors, ``check``, ``eval`` headers, ``plot``) and by the emitters' comments.

    >>> sanitize("a\\nb\\u202ec")
    'a\\\\nb\\\\u202ec'
    """
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))


def short_number(v: float) -> str:
    """A value as ``schedspec check`` prints it: 6 significant digits, ``"0"`` for zero (either sign).

    >>> [short_number(v) for v in (0.0, -0.0, 0.1, 1e-7, 123456789.0)]
    ['0', '0', '0.1', '1e-07', '1.23457e+08']
    """
    if v == 0:
        return "0"
    return f"{v:.6g}"


def exact_number(v: float) -> str:
    """A number quoted in a validation message, exactly: a whole number without ``.0``, else its ``repr``.

    >>> [exact_number(v) for v in (1, 1.0, 0.1, 1e-08)]
    ['1', '1', '0.1', '1e-08']
    """
    return str(int(v)) if float(v).is_integer() else repr(v)
