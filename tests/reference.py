"""An independent float64 reference for schedspec v1 (SPEC §1–§3), in pure Python ``math``.

Written from the SPEC text and the framework-semantics notes (torch ``OneCycleLR`` and ``CyclicLR`` formulas),
not from ``schedspec.formulas`` or ``schedspec._compile``: it imports nothing from schedspec. It is meant to be
simple and obviously correct, not fast. Integer arithmetic is used for every boundary (``k - begin``,
``k // period``), so it is exact for any ``k``.

Scope: scalar vars only (a sweep is tested by substituting one member at a time); ``plateau`` is not covered.

    ref_value(spec, k, hparam="lr") -> float
    ref_values(spec, ks, hparam="lr") -> list[float]
    ref_length(spec, hparam="lr") -> int | None      # the schedule's duration (None: it never ends)
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

_UNIT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(st|steps?|ep|epochs?|%)\s*$")


class RefError(ValueError):
    """The spec is not valid (as far as the reference can tell)."""


class Sched:
    """A resolved schedule: ``duration`` (int, or None = never ends) and ``fn(t)`` for local time ``t >= 0``."""

    def __init__(self, duration, fn):
        self.duration = duration
        self._fn = fn

    def value(self, t):
        """The value at local time ``t`` (an int, or a float inside a stretched repeat); holds after the end."""
        if self.duration is not None and t > self.duration:
            t = self.duration
        return float(self._fn(t))

    def final(self):
        if self.duration is None:
            raise RefError("a schedule that never ends has no final value")
        return self.value(self.duration)


class _Ref:
    def __init__(self, spec: dict):
        self.spec = spec
        self.interval = spec.get("interval", "step")
        self.spe = spec.get("steps_per_epoch")
        self.vars = dict(spec.get("vars") or {})
        for name, v in self.vars.items():
            if isinstance(v, list):
                raise RefError(f"the reference takes scalar vars only (var {name!r} is a sweep)")
        self.total = None
        if spec.get("total") is not None:
            self.total = self.dur(spec["total"])

    # ------------------------------------------------------------------ values
    def _resolve(self, raw):
        if isinstance(raw, str) and raw.startswith("$"):
            return self.vars[raw[1:]]
        return raw

    def num(self, raw):
        raw = self._resolve(raw)
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise RefError(f"expected a number, got {raw!r}")
        return float(raw)

    def dur(self, raw) -> int:
        """A duration in interval units (SPEC §1): bare ints; st/ep/% strings; exact or an error."""
        raw = self._resolve(raw)
        if isinstance(raw, bool):
            raise RefError("a boolean is not a duration")
        if isinstance(raw, (int, float)):
            value = Fraction(raw)
        else:
            m = _UNIT.match(raw)
            if not m:
                raise RefError(f"bad duration {raw!r}")
            x, unit = Fraction(m.group(1)), m.group(2)
            if unit == "%":
                if self.total is None:
                    raise RefError("% needs total")
                value = x * self.total / 100
            elif unit.startswith("ep"):
                if self.interval == "epoch":
                    value = x
                else:
                    if self.spe is None:
                        raise RefError("ep needs steps_per_epoch")
                    value = x * self.spe
            else:  # steps
                if self.interval == "step":
                    value = x
                else:
                    if self.spe is None:
                        raise RefError("st in an epoch spec needs steps_per_epoch")
                    value = x / self.spe
        if value.denominator != 1 or value <= 0:
            raise RefError(f"duration {raw!r} is not a positive whole number of units")
        return int(value)

    # ------------------------------------------------------------------ schedules
    def schedule(self, node, carry, remaining, top=False) -> Sched:
        if isinstance(node, list):
            return self.sequence(node, carry, remaining)
        if isinstance(node, dict):
            return self.phase(node, carry, remaining)
        value = self.num(node)  # a number or $var: a constant
        return Sched(None, lambda t: value)

    def sequence(self, items, carry, remaining) -> Sched:
        begins, parts = [], []
        begin = 0
        for i, item in enumerate(items):
            last = i == len(items) - 1
            room = None
            if last and remaining is not None and remaining - begin > 0:
                room = remaining - begin
            s = self.schedule(item, carry, room)
            begins.append(begin)
            parts.append(s)
            if not last:
                if s.duration is None:
                    raise RefError("only the last phase may run forever")
                begin += s.duration
                carry = s.final()
        if parts[-1].duration is None:
            duration = None
        else:
            duration = begin + parts[-1].duration

        def fn(t):
            i = len(begins) - 1
            while t < begins[i]:  # the boundary k == begin_i belongs to phase i
                i -= 1
            return parts[i].value(t - begins[i])

        return Sched(duration, fn)

    def phase(self, m: dict, carry, remaining) -> Sched:  # noqa: C901 - one branch per kind
        kind = m["kind"]
        if kind in ("repeat", "product", "scale", "clip"):
            return self.combinator(m, carry)
        if "duration" in m:
            T = self.dur(m["duration"])
        else:
            T = remaining
        if T is None and kind in ("linear", "cosine", "polynomial", "onecycle"):
            raise RefError(f"{kind} needs a duration")

        def start(field="start"):
            if field in m:
                return self.num(m[field])
            if carry is None:
                raise RefError("the first phase needs a start")
            return carry

        def opt(field, default):
            return self.num(m[field]) if field in m else default

        if kind == "constant":
            v = start("value")
            return Sched(T, lambda t: v)

        if kind == "linear":
            s, e = start(), self.num(m["end"])
            return Sched(T, lambda t: s + (e - s) * min(t, T) / T)

        if kind == "cosine":
            s, e, ex = start(), opt("end", 0.0), opt("exponent", 1.0)
            # (1 + cos(pi p)) / 2 written as sin(pi (1 - p) / 2) ** 2 (1 - p from integers): the same value, 0 at
            # p = 1, without the cancellation there that a fractional exponent magnifies past the float64 tolerance
            return Sched(T, lambda t: e + (s - e) * (math.sin(math.pi * (T - min(t, T)) / (2 * T)) ** 2) ** ex)

        if kind == "polynomial":
            s, e, pw = start(), opt("end", 0.0), opt("power", 1.0)
            return Sched(T, lambda t: (s - e) * (1 - min(t, T) / T) ** pw + e)

        if kind == "exponential":
            s, g = start(), self.num(m["gamma"])
            every = self.dur(m.get("every", 1))
            stair = m.get("staircase", False)
            end = self.num(m["end"]) if m.get("end") is not None else None

            def fn(t):
                x = (t // every) if stair else t / every
                v = s * g ** x
                if end is not None:
                    if g < 1:
                        v = max(v, end)  # a floor
                    elif g > 1:
                        v = min(v, end)  # a ceiling
                return v

            return Sched(T, fn)

        if kind == "step":
            s, g, every = start(), opt("gamma", 0.1), self.dur(m["every"])
            return Sched(T, lambda t: s * g ** (t // every))

        if kind == "multistep":
            s, g = start(), opt("gamma", 0.1)
            ms = [self.dur(x) for x in m["milestones"]]
            if ms != sorted(ms):
                raise RefError("milestones out of order")
            return Sched(T, lambda t: s * g ** sum(1 for x in ms if x <= t))

        if kind == "piecewise":
            pts = [(0 if (p[0] == 0 and not isinstance(p[0], str)) else self.dur(p[0]), self.num(p[1])) for p in m["points"]]
            ats = [a for a, _ in pts]
            vals = [v for _, v in pts]
            if ats[0] != 0 or any(b <= a for a, b in zip(ats, ats[1:])):
                raise RefError("points must start at 0 and ascend")
            interp = m.get("interpolate", "constant")

            def fn(t):
                i = 0
                while i + 1 < len(ats) and ats[i + 1] <= t:  # the value changes AT each point
                    i += 1
                if i == len(ats) - 1 or interp == "constant":
                    return vals[i]
                p = (t - ats[i]) / (ats[i + 1] - ats[i])
                v0, v1 = vals[i], vals[i + 1]
                if interp == "linear":
                    return v0 + (v1 - v0) * p
                return v1 + (v0 - v1) * (1 + math.cos(math.pi * p)) / 2

            return Sched(T, fn)

        if kind == "inverse_time":
            s, rate = start(), self.num(m["rate"])
            every = self.dur(m.get("every", 1))
            stair = m.get("staircase", False)
            return Sched(T, lambda t: s / (1 + rate * ((t // every) if stair else t / every)))

        if kind == "inverse_sqrt":
            s, ts = start(), self.dur(m["timescale"])
            return Sched(T, lambda t: s * math.sqrt(ts / max(t, ts)))

        if kind == "cyclic":
            # torch CyclicLR (framework-semantics §1.7), k = local time
            low, high = self.num(m["low"]), self.num(m["high"])
            up = self.dur(m["up"])
            down = self.dur(m["down"]) if m.get("down") is not None else up
            mode, gamma = m.get("mode", "triangular"), opt("gamma", 1.0)
            C = up + down
            r = up / C

            def fn(t):
                cycle = math.floor(1 + t / C)
                x = 1 + t / C - cycle
                h = x / r if x <= r else (x - 1) / (r - 1)
                if mode == "triangular":
                    scale = 1.0
                elif mode == "triangular2":
                    scale = 1 / 2.0 ** (cycle - 1)
                else:
                    scale = gamma**t
                return low + (high - low) * h * scale

            return Sched(T, fn)

        if kind == "onecycle":
            # torch OneCycleLR (framework-semantics §1.6); held from N - 1 on (SPEC §3)
            N = T
            peak = self.num(m["peak"])
            pct, div, fdiv = opt("pct_start", 0.3), opt("div_factor", 25.0), opt("final_div_factor", 1e4)
            anneal = m.get("anneal", "cos")
            init = peak / div
            low = init / fdiv
            if m.get("three_phase", False):
                phases = [(float(pct * N) - 1, init, peak), (float(2 * pct * N) - 2, peak, init), (N - 1, init, low)]
            else:
                phases = [(float(pct * N) - 1, init, peak), (N - 1, peak, low)]

            def ann(a, b, p):
                if anneal == "cos":
                    return b + (a - b) / 2.0 * (math.cos(math.pi * p) + 1)
                return (b - a) * p + a

            def fn(t):
                step = min(t, N - 1)
                s = 0
                for i, (e, a, b) in enumerate(phases):
                    if step <= e or i == len(phases) - 1:
                        return ann(a, b, (step - s) / (e - s))
                    s = e
                raise AssertionError

            return Sched(N, fn)

        raise RefError(f"the reference does not cover kind {kind!r}")

    def combinator(self, m: dict, carry) -> Sched:
        kind = m["kind"]
        explicit = self.dur(m["duration"]) if "duration" in m else None

        if kind == "repeat":
            of = self.schedule(m["of"], carry, None)
            P = of.duration
            if P is None:
                raise RefError("repeat needs a finite `of`")
            times = m.get("times")
            mult = Fraction(float(m.get("mult", 1.0)))
            decay = self.num(m.get("decay", 1.0))

            def start_of(i):  # cycle i begins at P * (mult**i - 1) / (mult - 1), exactly
                return P * i if mult == 1 else P * (mult**i - 1) / (mult - 1)

            end = start_of(times) if times is not None else None
            duration = explicit if explicit is not None else (None if end is None else math.ceil(end))

            def fn(t):
                if end is not None and t >= end:  # after the last cycle: hold its final value
                    return decay ** (times - 1) * of.value(P)
                if mult == 1:
                    c = t // P
                    local = t - c * P
                else:
                    c = 0
                    while start_of(c + 1) <= t:
                        c += 1
                    local = float((Fraction(t) - start_of(c)) / mult**c)  # `of` stretched to fill the period
                return decay**c * of.value(local)

            return Sched(duration, fn)

        if kind == "product":
            parts = [self.schedule(p, None, None) for p in m["of"]]
            ds = [p.duration for p in parts]
            duration = explicit if explicit is not None else (None if None in ds else max(ds))

            def fn(t):
                v = 1.0
                for p in parts:
                    v *= p.value(t)
                return v

            return Sched(duration, fn)

        if kind == "scale":
            of = self.schedule(m["of"], None, None)
            by = self.num(m["by"])
            return Sched(explicit if explicit is not None else of.duration, lambda t: by * of.value(t))

        if kind == "clip":
            of = self.schedule(m["of"], carry, None)
            lo = self.num(m["min"]) if m.get("min") is not None else None
            hi = self.num(m["max"]) if m.get("max") is not None else None

            def fn(t):
                v = of.value(t)
                if lo is not None:
                    v = max(v, lo)
                if hi is not None:
                    v = min(v, hi)
                return v

            return Sched(explicit if explicit is not None else of.duration, fn)

        raise RefError(kind)


def ref_schedule(spec: dict, hparam: str = "lr") -> Sched:
    """The resolved top-level schedule of ``hparam``."""
    r = _Ref(spec)
    return r.schedule(spec[hparam], None, r.total, top=True)


def ref_values(spec: dict, ks, hparam: str = "lr") -> list[float]:
    s = ref_schedule(spec, hparam)
    return [s.value(int(k)) for k in ks]


def ref_value(spec: dict, k, hparam: str = "lr") -> float:
    """The float64 value of ``spec[hparam]`` at update index ``k`` (an int >= 0)."""
    return ref_schedule(spec, hparam).value(int(k))


def ref_length(spec: dict, hparam: str = "lr"):
    """The duration of ``spec[hparam]`` in interval units (None: it never ends)."""
    return ref_schedule(spec, hparam).duration
