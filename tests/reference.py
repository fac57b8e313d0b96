"""An independent float64 reference for schedspec v1, written from the language reference (docs/language.md: time,
kinds, combinators, ``plateau``, hyperparameters and groups, framework dialects) and from the frameworks' own
documented semantics; it imports nothing from schedspec. It is meant to be simple and obviously
correct, not fast. Integer arithmetic is used for every boundary (``k - begin``, ``k // period``), so it is exact
for any ``k``.

What it models:

* every neutral kind and combinator: ``constant linear cosine polynomial`` (``cycle: true`` included: the decay
  length at t is ``duration * max(1, ceil(t / duration))`` and the phase never ends) ``exponential step multistep
  piecewise inverse_time inverse_sqrt`` (``shift`` included) ``tanh cyclic onecycle plateau`` (``warp`` on
  ``linear cosine polynomial``: the fraction ``min(t, T) / T`` raised to ``warp``) and ``repeat product scale clip sum``;
* sequences (``k == begin_i`` belongs to phase i, nested lists flatten), carried starts (into the first phase of a
  nested list, a ``repeat``'s and a ``clip``'s ``of``; never into the parts of ``product``/``scale``/``sum``), the
  hold after every node's end, an open last phase running to ``total`` (also inside ``scale``/``clip``/
  ``product``/``sum``: to the combinator's own ``duration``, else as unwrapped);
* units (``st``, ``ep``, ``tok`` with ``tokens_per_step``, ``%`` of ``total``), ``interval: epoch``, ``steps_per_epoch``, ``total``;
* vars (numbers and durations, wherever a number or a duration is written) and sweeps: :func:`ref_members` lists
  the members (the cartesian product of the lists, vars in the order written, the last varying fastest) and
  ``member=`` picks one;
* other hyperparameters (any top-level schedule: ``hparam=``) and parameter ``groups`` (``group=``: a group's own
  schedule for a hyperparameter, else the document's, the lr times the group's ``scale``);
* ``plateau`` (torch ``ReduceLROnPlateau``: mode, threshold rel/abs, patience, cooldown, min, eps; a NaN report is
  a bad one) on the README's report clock: report j of a metric is measured at the end of interval j of the
  plateau's ``every`` (default one epoch), counted from k = 0 of the whole schedule; the reports made before the
  plateau begins are ignored (report j counts when ``(j+1)*every > begin``); the value at k is the value after the
  counted reports made at or before k (``(j+1)*every <= k``), so a reduction decided at report j applies from
  ``(j+1)*every``; its final value is its value after its last report (the last made at or before its end);
* framework kinds by their frameworks' own semantics, which the README promises they keep: ``torch.*`` by real
  torch schedulers stepped the documented way (float64; ``torch.ReduceLROnPlateau`` is the ``plateau`` above with
  torch's names), ``optax.*`` by real optax schedule functions under ``jax.enable_x64`` (float64), ``keras.*`` by
  the Keras formulas (keras.optimizers.schedules) written out here in float64 (Keras computes them in float32),
  with restarts at exact boundaries; ``transformers.*`` and ``timm.*`` by the libraries' formulas written out here
  from their source (``timm.plateau``: ``PlateauLRScheduler``'s warmup, which drops the reports fed while
  ``epoch <= warmup_t``, then the torch ``ReduceLROnPlateau`` above on the phase's own epochs; epoch specs only).
  ``lr`` of a torch kind defaults to the previous phase's final value; the
  spec's ``duration`` cuts any framework kind (it then holds its value at ``duration``).

What it does not decide (it raises :class:`RefError`, the generators stay away): a group with both ``scale`` and
its own ``lr``; a framework kind without ``duration`` that is not the last phase; a cyclic ``polynomial`` without
``duration``; a ``plateau`` inside a ``repeat``.

    ref_value(spec, k, hparam="lr", group=None, member=None, metrics=None) -> float
    ref_values(spec, ks, hparam="lr", group=None, member=None, metrics=None) -> list[float]
    ref_length(spec, hparam="lr", group=None, member=None) -> int | None   # None: it never ends
    ref_members(spec) -> list[dict]                                         # [{}] without sweep vars
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import warnings
from fractions import Fraction

_UNIT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(st|steps?|ep|epochs?|tok|tokens?|%)\s*$")
RESERVED = {"schedspec", "name", "description", "interval", "steps_per_epoch", "tokens_per_step", "total", "vars",
            "groups"}
NATIVE_LIMIT = 100_000  # a framework kind is stepped (torch) or called this far at most


class RefError(ValueError):
    """The spec is not valid (as far as the reference can tell), or the reference does not decide it."""


class Sched:
    """A resolved schedule: ``duration`` (int, or None = never ends) and ``fn(t)`` for local time ``t >= 0``."""

    def __init__(self, duration, fn):
        self.duration = duration
        self._fn = fn

    def value(self, t):
        """The value at local time ``t`` (an int, or a Fraction inside a stretched repeat); holds after the end."""
        if self.duration is not None and t > self.duration:
            t = self.duration
        return float(self._fn(t))

    def final(self):
        if self.duration is None:
            raise RefError("a schedule that never ends has no final value")
        return self.value(self.duration)


def _lazy(build):
    """``fn(t)`` built on its first call (a carried start is only known once the previous phase is evaluated)."""
    cell = []

    def call(t):
        if not cell:
            cell.append(build())
        return cell[0](t)

    return call


def _memo(thunk):
    cell = []

    def call():
        if not cell:
            cell.append(thunk())
        return cell[0]

    return call


# ------------------------------------------------------------------------------------------------ plateau
def plateau_values(start: float, reports, p: dict) -> list[float]:
    """torch ``ReduceLROnPlateau`` on one param group: the lr before any report, then after each report."""
    mode, factor, patience = p["mode"], p["factor"], p["patience"]
    thr, thr_mode, cooldown, lo, eps = p["threshold"], p["threshold_mode"], p["cooldown"], p["min"], p["eps"]

    def better(a, best):
        if mode == "min" and thr_mode == "rel":
            return a < best * (1.0 - thr)
        if mode == "min":
            return a < best - thr
        if thr_mode == "rel":
            return a > best * (thr + 1.0)
        return a > best + thr

    lr = float(start)
    best = math.inf if mode == "min" else -math.inf
    bad = cool = 0
    out = [lr]
    for m in reports:
        m = float(m)
        if better(m, best):  # a NaN report is never better: a bad report
            best, bad = m, 0
        else:
            bad += 1
        if cool > 0:
            cool -= 1
            bad = 0
        if bad > patience:
            new = max(lr * factor, lo)
            if lr - new > eps:
                lr = new
            cool, bad = cooldown, 0
        out.append(lr)
    return out


def _warp_rest(t, T, w: float) -> float:
    """``1 - p ** w`` with ``p = min(t, T) / T`` (docs: ``warp``), from the remaining fraction ``r = 1 - p`` as
    ``-expm1(w * log1p(-r))``, so that it keeps its precision near the end (``1 - p ** w`` cancels there)."""
    r = Fraction(T - min(t, T), T)
    return 1.0 if r == 1 else -math.expm1(w * math.log1p(-float(r)))


# ------------------------------------------------------------------------------------------------ the evaluator
class _Ref:
    def __init__(self, spec: dict, member: dict | None = None, metrics: dict | None = None):
        self.spec = spec
        self.interval = spec.get("interval", "step")
        self.vars = dict(spec.get("vars") or {})
        self.vars.update(member or {})
        for name, v in self.vars.items():
            if isinstance(v, list):
                raise RefError(f"var {name!r} is a sweep: pick a member (ref_members)")
        self.metrics = metrics or {}
        self.spe = self._resolve(spec["steps_per_epoch"]) if spec.get("steps_per_epoch") is not None else None
        self.tps = spec.get("tokens_per_step")  # `tok` durations: tokens / tokens_per_step steps
        self.total = None
        if spec.get("total") is not None:
            self.total = self.dur(spec["total"], pct=False)
        self.plateau_every = {}  # monitor -> every (all plateaus of one metric share it)

    # ------------------------------------------------------------------ values
    def _resolve(self, raw):
        if isinstance(raw, str) and raw.startswith("$"):
            if raw[1:] not in self.vars:
                raise RefError(f"unknown var {raw}")
            return self.vars[raw[1:]]
        return raw

    def num(self, raw):
        raw = self._resolve(raw)
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise RefError(f"expected a number, got {raw!r}")
        return float(raw)

    def period(self, raw) -> Fraction:
        """A repeat's cycle length: a duration, or ``"<D>/<c>"`` (D a whole duration, c a decimal), exactly."""
        if isinstance(raw, str) and "/" in raw:
            top, divisor = raw.split("/")
            top = top.strip()
            value = Fraction(divisor.strip())
            if value <= 0:
                raise RefError("a period's divisor must be > 0")
            try:
                whole = float(top)
            except ValueError:
                whole = top
            return Fraction(self.dur(whole)) / value
        return Fraction(self.dur(raw))

    def dur(self, raw, pct=True, zero_ok=False) -> int:
        """A duration in interval units: bare numbers; st/ep/% strings; exact or an error."""
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
            if unit.startswith("tok"):
                if self.tps is None:
                    raise RefError("tok needs tokens_per_step")
                value = x / self.tps
                if self.interval == "epoch":
                    if self.spe is None:
                        raise RefError("tok in an epoch spec needs steps_per_epoch")
                    value = value / self.spe
            elif unit == "%":
                if self.total is None or not pct:
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
        if value.denominator != 1 or value < 0 or (value == 0 and not zero_ok):
            raise RefError(f"duration {raw!r} is not a positive whole number of units")
        if value >= 2**31:
            raise RefError(f"duration {raw!r} is not below 2**31")
        return int(value)

    # ------------------------------------------------------------------ schedules
    def schedule(self, node, carry, remaining, begin) -> Sched:
        """``remaining``: the room an open last phase runs to (None: forever); ``begin``: the global k where the
        node begins (None inside a repeat, where a plateau cannot be)."""
        if isinstance(node, list):
            return self.sequence(node, carry, remaining, begin)
        if isinstance(node, dict):
            kind = node.get("kind", "")
            if "." in kind:
                return self.native(node, carry, remaining, begin)
            return self.phase(node, carry, remaining, begin)
        value = self.num(node)  # a number or $var: a constant
        return Sched(None, lambda t: value)

    def sequence(self, items, carry, remaining, begin) -> Sched:
        if not items:
            raise RefError("an empty list")
        begins, parts = [], []
        at = 0
        for i, item in enumerate(items):
            last = i == len(items) - 1
            room = None
            if last and remaining is not None:
                if remaining - at <= 0:
                    raise RefError("a phase begins at or after the end it must run to")
                room = remaining - at
            s = self.schedule(item, carry, room, None if begin is None else begin + at)
            begins.append(at)
            parts.append(s)
            if not last:
                if s.duration is None:
                    raise RefError("only the last phase may run forever")
                at += s.duration
                carry = _memo(s.final)
        duration = None if parts[-1].duration is None else at + parts[-1].duration

        def fn(t):
            i = len(begins) - 1
            while t < begins[i]:  # the boundary k == begin_i belongs to phase i
                i -= 1
            return parts[i].value(t - begins[i])

        return Sched(duration, fn)

    def phase(self, m: dict, carry, remaining, begin) -> Sched:
        """``carry``: None, or a function giving the previous phase's final value (evaluated only if needed)."""
        kind = m["kind"]
        if kind in ("repeat", "product", "scale", "clip", "sum"):
            return self.combinator(m, carry, remaining, begin)
        T = self.dur(m["duration"]) if m.get("duration") is not None else remaining
        if kind == "plateau":
            return self.plateau(m, carry, T, begin)
        if T is None and kind in ("linear", "cosine", "polynomial", "onecycle", "tanh") and not m.get("cycle", False):
            raise RefError(f"{kind} needs a duration")
        duration = T
        if kind == "polynomial" and m.get("cycle", False):
            if m.get("duration") is None:
                raise RefError("the reference takes a cyclic polynomial with a duration only")
            duration = None  # the phase never ends
        if (m.get("start" if kind != "constant" else "value") is None and carry is None
                and kind in ("constant", "linear", "cosine", "polynomial", "exponential", "step", "multistep",
                             "inverse_time", "inverse_sqrt", "tanh")):  # fmt: skip
            raise RefError("the first phase needs a start")
        return Sched(duration, _lazy(lambda: self._phase_fn(m, carry, T)))

    def _phase_fn(self, m: dict, carry, T):  # noqa: C901 - one branch per kind
        kind = m["kind"]

        def need_length():
            if T is None:
                raise RefError(f"{kind} needs a duration")

        def start(field="start"):
            if m.get(field) is not None:
                return self.num(m[field])
            if carry is None:
                raise RefError("the first phase needs a start")
            return carry()

        def opt(field, default):
            return self.num(m[field]) if m.get(field) is not None else default

        if kind == "constant":
            v = start("value")
            return lambda t: v

        if kind == "linear":
            need_length()
            s, e, w = start(), self.num(m["end"]), opt("warp", 1.0)
            if w == 1:
                return lambda t: s + (e - s) * min(t, T) / T

            def warped(t):  # from the nearer end: start + (end - start) * p ** w, or end - (end - start) * (1 - p ** w)
                a, rest = (min(t, T) / T) ** w, _warp_rest(t, T, w)
                return s + (e - s) * a if a <= rest else e + (s - e) * rest

            return warped

        if kind == "cosine":
            need_length()
            s, e, ex = start(), opt("end", 0.0), opt("exponent", 1.0)
            if m.get("warp") is not None:  # the fraction p = min(t, T) / T becomes p ** warp
                w = self.num(m["warp"])
                return lambda t: e + (s - e) * (math.sin(math.pi * _warp_rest(t, T, w) / 2) ** 2) ** ex
            # (1 + cos(pi p)) / 2 written as sin(pi (1 - p) / 2) ** 2 (1 - p from integers): the same value, 0 at
            # p = 1, without the cancellation there that a fractional exponent magnifies past the float64 tolerance
            return lambda t: e + (s - e) * (math.sin(math.pi * (T - min(t, T)) / (2 * T)) ** 2) ** ex

        if kind == "polynomial":
            s, e, pw = start(), opt("end", 0.0), opt("power", 1.0)
            if m.get("cycle", False):
                D0 = T

                def cyc(t):  # the decay length at t is D0 * max(1, ceil(t / D0)); the phase never ends
                    D = D0 * max(1, -((-t) // D0))
                    return (s - e) * (1 - t / D) ** pw + e

                return cyc
            need_length()
            w = opt("warp", 1.0)
            return lambda t: (s - e) * _warp_rest(t, T, w) ** pw + e

        if kind == "exponential":
            s, g = start(), self.num(m["gamma"])
            every = self.dur(m.get("every", 1))
            stair = m.get("staircase", False)
            end = self.num(m["end"]) if m.get("end") is not None else None

            def fn(t):
                x = (t // every) if stair else t / every
                v = s * g**x
                if end is not None:
                    if g < 1:
                        v = max(v, end)  # a floor
                    elif g > 1:
                        v = min(v, end)  # a ceiling
                return v

            return fn

        if kind == "step":
            s, g, every = start(), opt("gamma", 0.1), self.dur(m["every"])
            return lambda t: s * g ** (t // every)

        if kind == "multistep":
            s, g = start(), opt("gamma", 0.1)
            ms = [self.dur(x) for x in m["milestones"]]
            if ms != sorted(ms):
                raise RefError("milestones out of order")
            return lambda t: s * g ** sum(1 for x in ms if x <= t)

        if kind == "piecewise":
            pts = [(self.dur(p[0], zero_ok=True), self.num(p[1])) for p in m["points"]]
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

            return fn

        if kind == "inverse_time":
            s, rate = start(), self.num(m["rate"])
            every = self.dur(m.get("every", 1))
            stair = m.get("staircase", False)
            return lambda t: s / (1 + rate * ((t // every) if stair else t / every))

        if kind == "inverse_sqrt":
            s, ts = start(), self.dur(m["timescale"])
            shift = self.dur(m["shift"]) if m.get("shift") is not None else 0
            return lambda t: s * math.sqrt(ts / max(t + shift, ts))

        if kind == "tanh":  # timm TanhLRScheduler: the curve for t < T, then `end`
            need_length()
            s, e, lb, ub = start(), opt("end", 0.0), opt("lb", -7.0), opt("ub", 3.0)

            def tanh_fn(t):  # (1 - tanh(y)) / 2 = 1 / (1 + exp(2y)) and its complement, both without cancellation
                if t >= T:
                    return e
                y = lb * (1 - t / T) + ub * t / T
                return s / (1 + math.exp(min(2 * y, 700))) + e / (1 + math.exp(min(-2 * y, 700)))

            return tanh_fn

        if kind == "cyclic":
            # torch CyclicLR with the integer phase first (README "Kinds"): k = local time
            low, high = self.num(m["low"]), self.num(m["high"])
            up = self.dur(m["up"])
            down = self.dur(m["down"]) if m.get("down") is not None else up
            mode, gamma = m.get("mode", "triangular"), opt("gamma", 1.0)
            C = up + down

            def fn(t):
                c, x = divmod(t, C)  # cycle index (0-based) and position in it, both integers
                h = Fraction(x, up) if x <= up else Fraction(C - x, down)
                if mode == "triangular":
                    scale = 1.0
                elif mode == "triangular2":
                    scale = 1 / 2.0**c
                else:
                    scale = gamma**t
                return low + (high - low) * float(h) * scale

            return fn

        if kind == "onecycle":
            # torch OneCycleLR; held from N - 1 on (README "Hold after the end")
            need_length()
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

            return fn

        raise RefError(f"the reference does not cover kind {kind!r}")

    def plateau(self, m: dict, carry, T, begin) -> Sched:
        if begin is None:
            raise RefError("a plateau cannot sit inside a repeat")
        if m.get("start") is None and carry is None:
            raise RefError("the first phase needs a start")
        start = _memo(lambda: self.num(m["start"]) if m.get("start") is not None else carry())
        if m.get("every") is not None:
            every = self.dur(m["every"])
        elif self.interval == "epoch":
            every = 1
        elif self.spe is not None:
            every = self.spe
        else:
            raise RefError("a plateau's default `every` (one epoch) needs steps_per_epoch")
        name = m["monitor"]
        if self.plateau_every.setdefault(name, every) != every:
            raise RefError(f"plateaus monitoring {name!r} with different `every`")
        p = {"mode": m.get("mode", "min"), "factor": self.num(m.get("factor", 0.1)),
             "patience": int(self.num(m.get("patience", 10))), "threshold": self.num(m.get("threshold", 1e-4)),
             "threshold_mode": m.get("threshold_mode", "rel"), "cooldown": int(self.num(m.get("cooldown", 0))),
             "min": self.num(m.get("min", 0.0)), "eps": self.num(m.get("eps", 1e-8))}  # fmt: skip
        first = begin // every  # the first report made after the plateau begins: (j + 1) * every > begin
        reports = self.metrics.get(name)

        def fn(t):
            made = (begin + t) // every  # reports 0 .. made-1 are made at or before k = begin + t
            if made <= first:
                return start()
            if reports is None or len(reports) < made:
                raise RefError(f"k = {begin + t} needs {made} reports of {name!r}")
            return plateau_values(start(), reports[first:made], p)[-1]

        return Sched(T, fn)

    def combinator(self, m: dict, carry, remaining, begin) -> Sched:
        kind = m["kind"]
        explicit = self.dur(m["duration"]) if m.get("duration") is not None else None
        room = explicit if explicit is not None else remaining  # where an open last phase inside runs to

        if kind == "repeat":
            of = self.schedule(m["of"], carry, None, None)
            P = of.duration
            if P is None:
                raise RefError("repeat needs a finite `of`")
            times = m.get("times")
            mult = Fraction(m.get("mult", 1))
            decay = self.num(m.get("decay", 1.0))
            # `period`: one cycle lasts L (a whole duration, or "<D>/<c>" = D / c exactly), `of` stretched to it;
            # `shift`: the cycles' clock reads t + shift
            L = Fraction(P) if m.get("period") is None else self.period(m["period"])
            shift = 0 if m.get("shift") in (None, 0) else self.dur(m["shift"])
            if mult != 1 and (L != P or shift):
                raise RefError("period/shift with mult")

            def start_of(i):  # cycle i begins at P * (mult**i - 1) / (mult - 1), exactly
                return L * i if mult == 1 else P * (mult**i - 1) / (mult - 1)

            end = start_of(times) - shift if times is not None else None
            # without `times` it never ends: as an open last phase it runs to `total` (the room), or forever
            duration = explicit if explicit is not None else (remaining if end is None else math.ceil(end))

            def fn(t):
                if end is not None and t >= end:  # after the last cycle: hold its final value
                    return decay ** (times - 1) * of.value(P)
                if mult == 1:
                    clock = t + shift
                    c = math.floor(Fraction(clock) / L)
                    local = (clock - c * L) * P / L  # `of` stretched to the cycle's length
                    if local.denominator == 1:
                        local = int(local)
                else:
                    c = 0
                    while start_of(c + 1) <= t:
                        c += 1
                    local = (Fraction(t) - start_of(c)) / mult**c  # `of` stretched to fill the period
                    if local.denominator == 1:
                        local = int(local)
                return decay**c * of.value(local)

            return Sched(duration, fn)

        if kind in ("product", "sum"):
            parts = [self.schedule(p, None, room, begin) for p in m["of"]]
            ds = [p.duration for p in parts]
            duration = explicit if explicit is not None else (None if None in ds else max(ds))

            def fn(t):
                v = 1.0 if kind == "product" else 0.0
                for p in parts:
                    v = v * p.value(t) if kind == "product" else v + p.value(t)
                return v

            return Sched(duration, fn)

        if kind == "scale":
            of = self.schedule(m["of"], None, room, begin)
            by = self.num(m["by"])
            return Sched(explicit if explicit is not None else of.duration, lambda t: by * of.value(t))

        if kind == "clip":
            of = self.schedule(m["of"], carry, room, begin)
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

    # ------------------------------------------------------------------ framework kinds
    def native(self, m: dict, carry, remaining, begin) -> Sched:
        kind = m["kind"]
        if kind == "torch.ReduceLROnPlateau":  # README: `plateau` is torch ReduceLROnPlateau, torch's names here
            p = {k: v for k, v in m.items() if k not in ("kind", "lr", "min_lr")}
            if m.get("lr") is not None:
                p["start"] = m["lr"]
            if m.get("min_lr") is not None:
                p["min"] = m["min_lr"]
            if m.get("every") is None:  # a torch scheduler is stepped once per interval unit (README "Conventions")
                p["every"] = 1
            T = self.dur(m["duration"]) if m.get("duration") is not None else remaining
            return self.plateau({"kind": "plateau", **p}, carry, T, begin)
        cut = self.dur(m["duration"]) if m.get("duration") is not None else None
        if cut is None and remaining is not None:
            cut = remaining  # an open last phase runs to total
        if kind == "timm.plateau":
            return self._timm_plateau(m, carry, cut, begin)
        if kind == "transformers.reduce_lr_on_plateau":  # HF: torch ReduceLROnPlateau(optimizer, **kwargs)
            p = {k: v for k, v in m.items() if k not in ("kind", "lr", "min_lr", "num_warmup_steps",
                                                          "num_training_steps", "duration")}  # fmt: skip
            p["start"] = m["lr"] if m.get("lr") is not None else carry()
            if m.get("min_lr") is not None:
                p["min"] = m["min_lr"]
            p["monitor"] = m.get("monitor", "eval_loss")
            return self.plateau({"kind": "plateau", **{k: v for k, v in p.items() if v is not None}}, carry, cut, begin)
        framework = kind.split(".", 1)[0]
        build = {"torch": self._torch, "keras": self._keras, "optax": self._optax, "transformers": self._transformers,
                 "timm": self._timm}.get(framework)  # fmt: skip
        if build is None:
            raise RefError(f"the reference does not model {kind}")
        return Sched(cut, _lazy(lambda: build(m, carry)))

    def _base_lr(self, m: dict, carry) -> float:
        if m.get("lr") is not None:
            return self.num(m["lr"])
        if carry is not None:
            return carry()
        raise RefError(f"{m['kind']} needs lr (or a previous phase)")

    def _transformers(self, m: dict, carry):
        """``lr * λ(k)``, λ the multiplier of HF's ``LambdaLR`` for the type, written from transformers'
        ``src/transformers/optimization.py`` (5.24: ``_get_linear_schedule_with_warmup_lr_lambda``, the cosine,
        hard-restarts, polynomial, constant, inverse-sqrt, cosine-with-min-lr, its ``_lr_rate`` variant and
        ``_get_wsd_scheduler_lambda``) and ``get_scheduler``'s dispatch (``constant`` ignores the warmup). The
        cosines' phase ``c * p`` is reduced modulo 1 exactly (fractions) before the cosine: HF's own float product
        ``pi * c * 2 * p`` drifts by ~1e-7 at k near 2**31, noise the reference does not copy. ``num_cycles`` is
        read as the decimal it is written as (0.7 is 7/10): HF's binary float is within one ulp of it, a phase
        difference of the same ~1e-7 at k near 2**31 (binary-exact values such as 1.5 or 0.25 are unchanged)."""
        kind = m["kind"].split(".", 1)[1]
        counts = ("num_warmup_steps", "num_training_steps", "timescale", "num_stable_steps", "num_decay_steps")
        a = self._args(m, counts, drop=("kind", "duration", "lr"))
        lr = self._base_lr(m, carry)
        W = a.get("num_warmup_steps", 0) or 0  # noqa: N806 - HF's names
        N = a.get("num_training_steps")  # noqa: N806
        c = Fraction(repr(float(a.get("num_cycles", 1 if kind == "cosine_with_restarts" else 0.5))))

        def ramp(t):  # the common warmup: float(k) / float(max(1, W))
            return float(t) / float(max(1, W))

        def wave(num, den):  # 0.5 * (1 + cos(2 pi c p)), p = num / den, the phase c * p reduced exactly (any k)
            return 0.5 * (1.0 + math.cos(2.0 * math.pi * float((Fraction(c) * Fraction(num, den)) % 1)))

        def min_rate():
            if a.get("min_lr_rate") is not None:
                return float(a["min_lr_rate"])
            return float(a["min_lr"]) / lr

        def lam(t):  # noqa: C901 - one branch per HF type
            if kind == "constant":
                return 1.0
            if kind == "constant_with_warmup":
                return ramp(t) if t < W else 1.0
            if kind == "linear":
                return ramp(t) if t < W else max(0.0, float(N - t) / float(max(1, N - W)))
            if kind in ("cosine", "cosine_with_min_lr"):
                if t < W:
                    return ramp(t)
                f = wave(t - W, max(1, N - W))
                r = min_rate() if kind == "cosine_with_min_lr" else 0.0
                return max(0.0, f * (1 - r) + r)
            if kind == "cosine_with_restarts":
                if t < W:
                    return ramp(t)
                if t - W >= max(1, N - W):  # progress >= 1
                    return 0.0
                return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float((Fraction(c) * Fraction(t - W, max(1, N - W)))
                                                                      % 1))))  # fmt: skip
            if kind == "polynomial":
                end, power = float(a.get("lr_end", 1e-7)), float(a.get("power", 1.0))
                if t < W:
                    return ramp(t)
                if t > N:
                    return end / lr
                return ((lr - end) * (1 - (t - W) / (N - W)) ** power + end) / lr
            if kind == "inverse_sqrt":
                ts = a.get("timescale") or W or 10_000
                return ramp(t) if t < W else 1.0 / math.sqrt((t + ts - W) / ts)
            if kind == "cosine_warmup_with_min_lr":
                rate = a.get("warmup_lr_rate")
                if t < W:
                    if rate is None:
                        return (t + 1.0) / max(1.0, W)
                    return float(rate) + (1.0 - float(rate)) * t / max(1, W - 1)
                f = wave(t - W + 1, max(1, N - W))
                r = min_rate()
                return max(0, f * (1 - r) + r)
            if kind == "warmup_stable_decay":
                D, mr = a["num_decay_steps"], float(a.get("min_lr_ratio", 0.0))  # noqa: N806
                S = a.get("num_stable_steps")  # noqa: N806
                S = N - W - D if S is None else S  # noqa: N806
                if t < W:
                    p = float(t) / float(max(1, W))
                    f = {"linear": p, "cosine": 0.5 * (1.0 - math.cos(math.pi * p)),
                         "1-sqrt": 1.0 - math.sqrt(1.0 - p)}[a.get("warmup_type", "linear")]  # fmt: skip
                    return max(0.0, f * (1.0 - mr) + mr)
                if t < W + S:
                    return 1.0
                if t < W + S + D:
                    p = float(t - W - S) / float(max(1, D))
                    f = {"linear": 1.0 - p, "cosine": 0.5 * (1.0 + math.cos(math.pi * c * 2.0 * p)),
                         "1-sqrt": 1.0 - math.sqrt(p)}[a.get("decay_type", "cosine")]  # fmt: skip
                    return max(0.0, f * (1.0 - mr) + mr)
                return mr
            raise RefError(f"the reference does not model transformers.{kind}")

        return lambda t: lr * lam(t)

    def _timm_plateau(self, m: dict, carry, cut, begin) -> Sched:
        """timm 1.0.31 ``timm/scheduler/plateau_lr.py`` (``PlateauLRScheduler``) as ``train.py`` steps it: after
        epoch e, ``step(e + 1, metric_e)``, so epoch t uses the calls ``step(1, m_0) .. step(t, m_{t-1})``. The
        constructor leaves the group at lr, or sets ``warmup_lr_init`` when ``warmup_t > 0``; ``step(epoch, m)``
        with ``epoch <= warmup_t`` (<=) sets ``warmup_lr_init + epoch * (lr - warmup_lr_init) / warmup_t`` and
        drops ``m``; a later one feeds ``m`` to torch ``ReduceLROnPlateau(patience=patience_t, factor=decay_rate,
        threshold, cooldown=cooldown_t, mode (default 'max'), min_lr=lr_min)`` (torch's defaults otherwise:
        threshold_mode rel, eps 1e-8), which multiplies the group's current lr: the warmup's last value. The
        scheduler's epochs are the phase's own (a phase beginning at epoch b is fed the reports of epochs b, b+1,
        ...); timm steps it per epoch only (``step_update`` is a no-op), so the reference takes it in an epoch
        spec only."""
        if begin is None:
            raise RefError("a plateau cannot sit inside a repeat")
        if self.interval != "epoch":
            raise RefError("timm's PlateauLRScheduler is stepped per epoch: the reference takes it in an epoch spec")
        a = self._args(m, ("warmup_t",), drop=("kind", "duration", "lr"))
        wt, init = a.get("warmup_t", 0) or 0, float(a.get("warmup_lr_init", 0.0))
        name = a.get("monitor", "eval_metric")
        if self.plateau_every.setdefault(name, 1) != 1:
            raise RefError(f"plateaus monitoring {name!r} with different `every`")
        p = {"mode": a.get("mode", "max"), "factor": float(a.get("decay_rate", 0.1)),
             "patience": int(a.get("patience_t", 10)), "threshold": float(a.get("threshold", 1e-4)),
             "threshold_mode": "rel", "cooldown": int(a.get("cooldown_t", 0)), "min": float(a.get("lr_min", 0.0)),
             "eps": 1e-8}  # fmt: skip
        reports = self.metrics.get(name)

        def build():
            lr = self._base_lr(m, carry)
            inc = (lr - init) / wt if wt else None  # timm's warmup_steps

            def fn(t):
                t = int(t)
                if t == 0:
                    return init if wt else lr
                if t <= wt:
                    return init + t * inc
                if reports is None or len(reports) < begin + t:
                    raise RefError(f"k = {begin + t} needs {begin + t} reports of {name!r}")
                after = init + wt * inc if wt else lr  # the group's lr when the first report is fed
                return plateau_values(after, reports[begin + wt:begin + t], p)[-1]

            return fn

        return Sched(cut, _lazy(build))

    def _timm(self, m: dict, carry):
        """timm's schedulers as ``train.py`` steps them (``lr_scheduler.step(epoch + 1)`` after each epoch, or
        ``step_update(num_updates)`` per update): t = 0 is the lr the constructor set (``warmup_lr_init`` with a
        warmup, else the optimizer's lr), t >= 1 is ``_get_lr(t)``, written from timm 1.0.31's
        ``timm/scheduler/cosine_lr.py``, ``tanh_lr.py``, ``step_lr.py``, ``multistep_lr.py`` and ``poly_lr.py``
        (``warmup_prefix`` defaults to False for cosine/tanh/poly, True for step/multistep)."""
        kind = m["kind"].split(".", 1)[1]
        a = self._args(m, ("t_initial", "warmup_t"), drop=("kind", "duration", "lr"))
        lr = self._base_lr(m, carry)
        wt, init = a.get("warmup_t", 0) or 0, float(a.get("warmup_lr_init", 0.0))
        prefix = a.get("warmup_prefix")
        prefix = (kind in ("step", "multistep")) if prefix is None else prefix
        lr_min = float(a.get("lr_min", 0.0))

        def cycle(t):  # (i, t_i, t_curr), as the cycling schedulers compute them
            t0, mul = a["t_initial"], float(a.get("cycle_mul", 1.0))
            if mul != 1:
                i = math.floor(math.log(1 - t / t0 * (1 - mul), mul))
                t_i = mul**i * t0
                return i, t_i, t - (1 - mul**i) / (1 - mul) * t0
            i = t // t0
            return i, t0, t - t0 * i

        def curve(t):  # after the warmup test: t already shifted when prefixed
            if kind == "step":
                d = a["decay_t"]
                d = self.dur(d) if isinstance(d, str) else d
                return lr * float(a.get("decay_rate", 1.0)) ** (t // d)
            if kind == "multistep":
                ms = [self.dur(x) if isinstance(x, str) else x for x in a["decay_t"]]
                return lr * float(a.get("decay_rate", 1.0)) ** bisect.bisect_right(ms, t + 1)
            i, t_i, t_curr = cycle(t)
            if i >= int(a.get("cycle_limit", 1)):
                return lr_min
            peak = lr * float(a.get("cycle_decay", 1.0)) ** i
            k = float(a.get("k_decay", 1.0))
            if kind == "cosine":
                return lr_min + 0.5 * (peak - lr_min) * (1 + math.cos(math.pi * t_curr**k / t_i**k))
            if kind == "poly":
                return lr_min + (peak - lr_min) * (1 - t_curr**k / t_i**k) ** float(a.get("power", 0.5))
            if kind == "tanh":
                lb, ub, tr = float(a.get("lb", -7.0)), float(a.get("ub", 3.0)), t_curr / t_i
                return lr_min + 0.5 * (peak - lr_min) * (1 - math.tanh(lb * (1.0 - tr) + ub * tr))
            raise RefError(f"the reference does not model timm.{kind}")

        def get_lr(t):
            if t < wt:
                # the warmup ramps to lr; tanh without prefix ramps to its curve's value at warmup_t
                target = curve(wt) if (kind == "tanh" and not prefix) else lr
                return init + t * ((target - init) / wt)
            return curve(t - wt if prefix else t)

        return lambda t: (init if wt else lr) if t == 0 else get_lr(int(t))

    def _args(self, m: dict, counts: tuple[str, ...], drop=("kind", "duration")) -> dict:
        """The parameters with vars resolved; ``counts`` are step counts (units allowed, 0 allowed)."""
        out = {}
        for k, v in m.items():
            if k in drop:
                continue
            v = self._resolve(v)
            if k in counts and v is not None:
                v = [self.dur(x, zero_ok=True) for x in v] if isinstance(v, list) else self.dur(v, zero_ok=True)
            out[k] = v
        return out

    def _torch(self, m: dict, carry):
        import torch

        kind = m["kind"]
        if m.get("lr") is not None:
            base = self.num(m["lr"])
        elif carry is not None:
            base = carry()
        elif kind in ("torch.CyclicLR", "torch.OneCycleLR"):  # they set the lr themselves
            base = None
        else:
            raise RefError(f"{kind} needs lr (or a previous phase)")
        param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        opt = torch.optim.SGD([param], lr=base if base is not None else 1.0, momentum=0.9)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = self._torch_build(m, opt)
        limit = None
        if kind == "torch.OneCycleLR":  # torch raises on the (N+1)-th step; the value is held from N - 1 on
            limit = sched.total_steps - 1
        values: list[float] = []

        def fn(t):
            if limit is not None:
                t = min(t, limit)
            if t >= NATIVE_LIMIT:
                raise RefError("the reference steps torch kinds only so far")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                while len(values) <= t:  # the lr of update i, then the scheduler's step (the update is moot)
                    values.append(opt.param_groups[0]["lr"])
                    sched.step()
            return values[int(t)]

        return fn

    def _torch_build(self, m: dict, opt):
        import torch

        L = torch.optim.lr_scheduler
        kind = m["kind"].split(".", 1)[1]
        counts = ("step_size", "milestones", "total_iters", "T_max", "T_0", "step_size_up", "step_size_down",
                  "total_steps", "epochs", "steps_per_epoch")  # fmt: skip
        a = self._args(m, counts, drop=("kind", "duration", "lr", "schedulers"))
        if kind == "MultiplicativeLR":
            f = float(a.pop("lr_lambda"))
            return L.MultiplicativeLR(opt, lr_lambda=lambda e: f)
        if kind in ("SequentialLR", "ChainedScheduler"):
            inner = [self._torch_build(s, opt) for s in m["schedulers"]]
            if kind == "SequentialLR":
                return L.SequentialLR(opt, inner, milestones=a["milestones"])
            return L.ChainedScheduler(inner, optimizer=opt)
        return getattr(L, kind)(opt, **a)

    def _keras(self, m: dict, carry):
        kind = m["kind"].split(".", 1)[1]
        counts = ("decay_steps", "first_decay_steps", "warmup_steps", "boundaries")
        a = self._args(m, counts, drop=("kind", "duration", "name"))
        init = float(a.get("initial_learning_rate", 0.0))

        if kind == "ExponentialDecay":
            ds, rate, stair = a["decay_steps"], float(a["decay_rate"]), a.get("staircase", False)
            return lambda t: init * rate ** ((t // ds) if stair else t / ds)
        if kind == "InverseTimeDecay":
            ds, rate, stair = a["decay_steps"], float(a["decay_rate"]), a.get("staircase", False)
            return lambda t: init / (1 + rate * ((t // ds) if stair else t / ds))
        if kind == "PiecewiseConstantDecay":
            bs, vs = a["boundaries"], [float(v) for v in a["values"]]
            return lambda t: vs[sum(1 for b in bs if t > b)]  # value i while b[i-1] < step <= b[i]
        if kind == "PolynomialDecay":
            ds, end = a["decay_steps"], float(a.get("end_learning_rate", 1e-4))
            power, cycle = float(a.get("power", 1.0)), a.get("cycle", False)

            def poly(t):
                if cycle:
                    d = ds * (1 if t == 0 else -((-t) // ds))
                    p = t / d
                else:
                    p = min(t, ds) / ds
                return (init - end) * (1 - p) ** power + end

            return poly
        if kind == "CosineDecay":
            ds, alpha = a["decay_steps"], float(a.get("alpha", 0.0))
            target, ws = a.get("warmup_target"), a.get("warmup_steps", 0)

            def decay(t, frm):
                return frm * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * t / ds)) + alpha)

            if target is None:
                return lambda t: decay(min(t, ds), init)
            target = float(target)

            def cos(t):
                t = min(t, ds + ws)
                if t < ws:
                    return (target - init) * (t / ws) + init
                return decay(t - ws, target)

            return cos
        if kind == "CosineDecayRestarts":
            first, alpha = a["first_decay_steps"], float(a.get("alpha", 0.0))
            t_mul, m_mul = Fraction(a.get("t_mul", 2.0)), float(a.get("m_mul", 1.0))

            def restarts(t):
                c, begin, length = 0, Fraction(0), Fraction(first)
                while begin + length <= t:  # exact boundaries: cycle c is first * t_mul**c long
                    begin += length
                    length *= t_mul
                    c += 1
                frac = float((t - begin) / length)
                return init * ((1 - alpha) * 0.5 * m_mul**c * (1 + math.cos(math.pi * frac)) + alpha)

            return restarts
        raise RefError(f"the reference does not cover {m['kind']}")

    def _optax(self, m: dict, carry):
        import jax
        import numpy as np
        import optax

        counts = ("transition_steps", "transition_begin", "decay_steps", "warmup_steps", "boundaries")

        def build(node):
            kind = node["kind"].split(".", 1)[1]
            a = self._args(node, counts, drop=("kind", "duration", "schedules", "cosine_kwargs"))
            if kind == "join_schedules":
                return optax.join_schedules([build(s) for s in node["schedules"]], a["boundaries"])
            if kind == "sgdr_schedule":
                return optax.sgdr_schedule([self._args(kw, counts, drop=()) for kw in node["cosine_kwargs"]])
            if "boundaries_and_scales" in a and a["boundaries_and_scales"] is not None:
                a["boundaries_and_scales"] = {self.dur(k, zero_ok=True): float(self._resolve(v))
                                              for k, v in a["boundaries_and_scales"].items()}  # fmt: skip
            return getattr(optax, kind)(**a)

        cache: dict[int, float] = {}

        def fn(t):
            t = int(t)
            if t not in cache:
                with jax.enable_x64(True), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cache[t] = float(build(m)(np.int64(t)))
            return cache[t]

        return fn


# ------------------------------------------------------------------------------------------------ entry points
def ref_members(spec: dict) -> list[dict]:
    """The sweep members, in the README's order: the cartesian product of the var lists, vars in the order
    written, the last varying fastest; ``[{}]`` without sweep vars."""
    lists = [(n, v) for n, v in (spec.get("vars") or {}).items() if isinstance(v, list)]
    return [dict(zip([n for n, _ in lists], combo)) for combo in itertools.product(*[v for _, v in lists])]


def ref_schedule(spec: dict, hparam: str = "lr", group: str | None = None, member: dict | None = None,
                 metrics: dict | None = None) -> Sched:  # fmt: skip
    """The resolved top-level schedule of ``hparam`` (of parameter group ``group``; None: the document's)."""
    r = _Ref(spec, member, metrics)
    if group is not None:
        g = (spec.get("groups") or {})[group]
        if hparam in g:
            if hparam == "lr" and g.get("scale") is not None:
                raise RefError("the reference does not decide a group with both `scale` and its own `lr`")
            return r.schedule(g[hparam], None, r.total, 0)
        base = r.schedule(spec[hparam], None, r.total, 0)
        if hparam == "lr" and g.get("scale") is not None:
            scale = r.num(g["scale"])
            return Sched(base.duration, lambda t: scale * base.value(t))
        return base
    if hparam in RESERVED:
        raise RefError(f"{hparam!r} is not a hyperparameter")
    return r.schedule(spec[hparam], None, r.total, 0)


def ref_values(spec: dict, ks, hparam: str = "lr", group=None, member=None, metrics=None) -> list[float]:
    """The float64 values at update indices ``ks`` (ints >= 0, in interval units)."""
    s = ref_schedule(spec, hparam, group, member, metrics)
    return [s.value(int(k)) for k in ks]


def ref_value(spec: dict, k, hparam: str = "lr", group=None, member=None, metrics=None) -> float:
    """The float64 value of ``spec[hparam]`` at update index ``k`` (an int >= 0)."""
    return ref_schedule(spec, hparam, group, member, metrics).value(int(k))


def ref_length(spec: dict, hparam: str = "lr", group=None, member=None) -> int | None:
    """The duration of ``spec[hparam]`` in interval units (None: it never ends)."""
    return ref_schedule(spec, hparam, group, member).duration


def ref_hparams(spec: dict) -> list[str]:
    """The document's hyperparameters (every top-level key that is not reserved), in the order written."""
    return [k for k in spec if k not in RESERVED]


class Phase:
    """One top-level phase of a schedule (nested lists flattened): where it begins, its duration (None: it never
    ends), the mapping (or number) as written, and its resolved schedule."""

    def __init__(self, begin, duration, node, sched, carried, ref):
        self.begin, self.duration, self.node, self.sched, self._carried, self._ref = (begin, duration, node, sched,
                                                                                      carried, ref)  # fmt: skip

    def number(self, field, default=None):
        """A field's value as a float (vars resolved), ``default`` when it is not written."""
        if not isinstance(self.node, dict) or self.node.get(field) is None:
            return default
        return self._ref.num(self.node[field])

    def start(self):
        """The phase's start: written, or carried from the previous phase (None for the first without one)."""
        written = self.number("value" if isinstance(self.node, dict) and self.node.get("kind") == "constant"
                              else "start")  # fmt: skip
        if written is not None:
            return written
        return self._carried() if self._carried is not None else None

    @property
    def carries(self) -> bool:
        """Its start is the previous phase's final value (no start written)."""
        field = "value" if self.node.get("kind") == "constant" else "start"
        return isinstance(self.node, dict) and self.node.get(field) is None and self._carried is not None


def ref_phases(spec: dict, hparam: str = "lr", group=None, member=None) -> list[Phase]:
    """The top-level phases of ``spec[hparam]`` (of a group's own schedule with ``group``), nested lists flattened."""
    r = _Ref(spec, member)
    node = spec[hparam] if group is None else spec["groups"][group][hparam]

    def flat(x):
        return [y for item in x for y in flat(item)] if isinstance(x, list) else [x]

    items = flat(node)
    out, at, carry = [], 0, None
    for i, item in enumerate(items):
        last = i == len(items) - 1
        room = r.total - at if last and r.total is not None else None
        s = r.schedule(item, carry, room, at)
        out.append(Phase(at, s.duration, item, s, carry, r))
        if not last:
            at += s.duration
            carry = _memo(s.final)
    return out
