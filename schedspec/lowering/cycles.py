"""A ``repeat``'s real-valued ``period`` and its ``shift``, lowered: the exact cycle length (a Fraction in lowest
terms), the shift in whole units, and where the cycles end (``times``); every problem positioned.

The cycle length is ``D / c`` with ``D`` a whole duration and ``c`` a decimal number read exactly by
``fractions.Fraction`` (``"1.5"`` is 3/2, ``"0.3"`` is 3/10). With ``u / v`` that length in lowest terms, ``u``
units hold exactly ``v`` cycles: the evaluators tabulate the ``v`` cycle starts of one window of ``u`` units
(:func:`schedspec._compile.real_cycles`), so ``v`` is bounded by :data:`MAX_CYCLES_PER_WINDOW`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from .. import ir
from .._fields import MAX_CYCLES_PER_WINDOW, PERIOD_RE, VAR_RE

__all__ = ["MAX_CYCLES_PER_WINDOW", "real_period"]


def real_period(lw: Any, m: Any, path: tuple, of: ir.Node, mult: float, times: int | None):
    """``(span, shift, end)`` of a repeat model ``m`` whose ``period`` or ``shift`` is given, or None after
    recording an error on ``lw`` (the lowerer). ``span`` is ``str(Fraction)`` of the cycle length, None when it is
    the duration of ``of``; ``end`` the first step after ``times`` cycles (None without ``times``)."""
    for name in ("period", "shift"):
        if getattr(m, name) is not None and mult != 1:
            lw.err(path + (name,), f"`{name}` cannot be combined with `mult` {mult:g}: with `mult` each cycle has "
                                   "its own length; give `mult: 1` (the default) or drop `" + name + "`")  # fmt: skip
            return None
    if not isinstance(of.duration, int):
        lw.err(path + ("of",), "a `repeat` with `period` or `shift` needs `of` to have a literal duration (not a "
                               "$var): its cycle starts are tabulated when the spec is lowered")  # fmt: skip
        return None
    d = of.duration
    length = Fraction(d)
    if m.period is not None:
        length = _length(lw, m.period, path + ("period",))
        if length is None:
            return None
    shift = 0
    if m.shift is not None and m.shift != 0:
        if isinstance(m.shift, str) and VAR_RE.match(m.shift):
            lw.err(path + ("shift",), "`shift` must be a literal duration (not a $var): the cycle starts are "
                                      "tabulated when the spec is lowered")  # fmt: skip
            return None
        shift = lw.steps_of(m.shift, path + ("shift",), "shift")
        if shift is None:
            return None
    if length.denominator > MAX_CYCLES_PER_WINDOW:
        lw.err(path + ("period",), f"the period {m.period} is {length.numerator}/{length.denominator} units: "
                                   f"{length.numerator} units hold {length.denominator} cycles, and their starts "
                                   f"are tabulated one by one (at most {MAX_CYCLES_PER_WINDOW}); give a divisor "
                                   "with fewer decimals")  # fmt: skip
        return None
    end = None
    if times is not None:
        end = math.ceil(times * length) - shift
        if end <= 0:
            lw.err(path + ("shift",), f"the shift {shift} is at or after the end of the {times} cycles "
                                      f"({times} x {_show(length)} = {_show(times * length)} units): the repeat "
                                      "would only hold its final value; give a smaller `shift` or more `times`")  # fmt: skip
            return None
        if end > ir.MAX_STEPS:
            lw.err(path + ("times",), f"{times} cycles of {_show(length)} units last {end} steps, more than "
                                      "2**31-1")  # fmt: skip
            return None
    span = None if length == d else str(length)
    return span, shift, end


def _bare(text: str) -> Any:
    """A bare number as a number (an int when whole), a duration with a unit as it is."""
    try:
        x = float(text)
    except ValueError:
        return text
    return int(x) if x.is_integer() else x


def _show(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def _length(lw: Any, raw: Any, path: tuple) -> Fraction | None:
    """The cycle length written as ``raw`` (a duration or ``"<D>/<c>"``), exactly, in interval units."""
    if isinstance(raw, str) and VAR_RE.match(raw):
        lw.err(path, "`period` must be a literal (not a $var): the cycle starts are tabulated when the spec is "
                     "lowered")  # fmt: skip
        return None
    if isinstance(raw, str) and "/" in raw:
        match = PERIOD_RE.match(raw)
        if match is None:  # pragma: no cover - the model validated it
            lw.err(path, f"expected a period like '26/3', got {raw!r}")
            return None
        text = match.group(1).strip()
        top = lw.steps_of(_bare(text), path, "period numerator")
        if top is None:
            return None
        divisor = Fraction(match.group(2))
        if divisor <= 0:  # pragma: no cover - the model validated it
            lw.err(path, f"the divisor of the period {raw!r} must be > 0")
            return None
        return Fraction(top) / divisor
    steps = lw.steps_of(raw, path, "period")
    return None if steps is None else Fraction(steps)
