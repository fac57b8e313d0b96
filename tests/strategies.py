"""Hypothesis strategies for random, VALID schedspec v1 spec dicts.

    documents()        the whole language (a :class:`Case`: the document and its metric reports): every kind,
                       combinator and framework kind, vars and sweeps anywhere allowed, `total`, `interval: epoch`,
                       `steps_per_epoch`, other hyperparameters, groups, plateaus (see the comment above ``Case``)
    specs()            a simpler document: {"schedspec": 1, "lr": ..., maybe "vars", "steps_per_epoch"} (no
                       plateau, no framework kind, scalar vars in the first phase only)
    phase_list()       a sequence of 1-4 phases (the value of `lr`)
    phase(need_start)  one phase of a random neutral kind (``need_start``: it must give its own start)

About ``specs()``:

Every generated spec loads without error: values are non-negative, every phase but the last has a duration
(the last may omit it when its kind needs no length), the first phase gives its start, combinators' parts give
theirs, one-cycle's pct_start*N > 1 (and < (N+1)/2 with three_phase), milestones ascend, piecewise points start
at 0 and ascend, clip's min <= max. No `total` is set, so nothing depends on running to it.
Durations stay short (each phase <= 60 units) so a whole schedule can be evaluated densely.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

from hypothesis import strategies as st

try:  # tests/ as a package or as a rootdir on sys.path
    from .reference import ref_length
except ImportError:
    from reference import ref_length

# ------------------------------------------------------------------ leaves
# rounded to 1e-6: no subnormal or near-underflow values (XLA flushes subnormals to zero; not a schedule question)
values = st.sampled_from([0.0, 1e-4, 0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 1.0, 2.0]) | st.floats(
    min_value=0.0, max_value=2.0, allow_nan=False, allow_infinity=False
).map(lambda x: round(x, 6))
gammas = st.sampled_from([0.1, 0.5, 0.9, 0.97, 0.99, 1.01]) | st.floats(min_value=0.5, max_value=1.02).map(lambda x: round(x, 6))
durations = st.integers(min_value=1, max_value=60)


def _real_period(draw, m: dict, mult) -> None:
    """Sometimes a real cycle length ``period: "<D>/<c>"`` (or a whole one) and a clock ``shift`` on a repeat with
    ``mult`` 1; the shift stays before the end of its ``times`` cycles."""
    if mult != 1:
        return
    length = None
    if draw(st.integers(0, 2)) == 0:
        top = draw(st.integers(1, 40))
        divisor = draw(st.sampled_from(["1", "1.5", "3", "0.7", "2.25", "7", "0.3", "12"]))
        m["period"] = top if divisor == "1" and draw(st.booleans()) else f"{top}/{divisor}"
        length = Fraction(top) / Fraction(divisor)
    if draw(st.integers(0, 2)) == 0:
        if "times" in m:
            if length is None:
                try:  # the duration of `of` (a carried start or a unit it cannot resolve alone: no shift)
                    length = ref_length({"schedspec": 1, "lr": m["of"]})
                except Exception:
                    return
            if length is None or m["times"] * length <= 1:
                return
            m["shift"] = draw(st.integers(0, math.ceil(m["times"] * length) - 1))
        else:
            m["shift"] = draw(st.integers(0, 40))


@st.composite
def phase(draw, need_start: bool, may_be_open: bool = False, depth: int = 0):
    """One phase dict. ``need_start``: it must give its start (first phase, or inside product/scale)."""
    kinds = ["constant", "linear", "cosine", "polynomial", "exponential", "step", "multistep", "piecewise",
             "inverse_time", "inverse_sqrt", "cyclic", "onecycle"]  # fmt: skip
    if depth < 2:
        kinds += ["repeat", "product", "scale", "clip"]
    kind = draw(st.sampled_from(kinds))
    m: dict = {"kind": kind}

    def start(field="start"):
        if need_start or draw(st.booleans()):
            m[field] = draw(values)

    open_ok = may_be_open and kind in ("constant", "exponential", "step", "multistep", "piecewise", "inverse_time",
                                       "inverse_sqrt", "cyclic")  # fmt: skip
    if kind == "constant":
        start("value")
    elif kind == "linear":
        start()
        m["end"] = draw(values)
    elif kind == "cosine":
        start()
        if draw(st.booleans()):
            m["end"] = draw(values)
        if draw(st.booleans()):
            m["exponent"] = draw(st.sampled_from([0.5, 1.0, 2.0, 3.0]))
    elif kind == "polynomial":
        start()
        if draw(st.booleans()):
            m["end"] = draw(values)
        if draw(st.booleans()):
            m["power"] = draw(st.sampled_from([0.5, 1.0, 2.0, 3.0]))
    elif kind == "exponential":
        start()
        g = draw(gammas)
        m["gamma"] = g
        if draw(st.booleans()):
            m["every"] = draw(st.integers(1, 10))
        if draw(st.booleans()):
            m["staircase"] = True
        if g != 1 and draw(st.booleans()):
            m["end"] = draw(values)
    elif kind == "step":
        start()
        m["every"] = draw(st.integers(1, 20))
        if draw(st.booleans()):
            m["gamma"] = draw(gammas)
    elif kind == "multistep":
        start()
        m["milestones"] = sorted(draw(st.lists(st.integers(1, 60), min_size=1, max_size=4)))  # repeats allowed
        if draw(st.booleans()):
            m["gamma"] = draw(gammas)
    elif kind == "piecewise":
        ats = sorted(draw(st.sets(st.integers(1, 60), max_size=4)))
        m["points"] = [[0, draw(values)]] + [[a, draw(values)] for a in ats]
        m["interpolate"] = draw(st.sampled_from(["constant", "linear", "cosine"]))
    elif kind == "inverse_time":
        start()
        m["rate"] = draw(values)
        if draw(st.booleans()):
            m["every"] = draw(st.integers(1, 10))
        if draw(st.booleans()):
            m["staircase"] = True
    elif kind == "inverse_sqrt":
        start()
        m["timescale"] = draw(st.integers(1, 30))
    elif kind == "cyclic":
        m["low"] = draw(values)
        m["high"] = draw(values)
        m["up"] = draw(st.integers(1, 15))
        if draw(st.booleans()):
            m["down"] = draw(st.integers(1, 15))
        mode = draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))
        m["mode"] = mode
        if mode == "exp_range":
            m["gamma"] = draw(st.sampled_from([0.9, 0.97, 0.99, 1.0]))
    elif kind == "onecycle":
        N = draw(st.integers(4, 60))
        three = draw(st.booleans())
        # pct*N > 1; with three_phase also 2*pct*N - 2 < N - 1
        hi = min(0.95, (N + 1) / (2 * N) - 1e-3) if three else 0.95
        lo = 1.0 / N + 1e-3
        m["peak"] = draw(values)
        m["duration"] = N
        m["pct_start"] = draw(st.floats(lo, hi)) if lo < hi else 0.5
        if draw(st.booleans()):
            m["div_factor"] = draw(st.sampled_from([1.0, 10.0, 25.0]))
        if draw(st.booleans()):
            m["final_div_factor"] = draw(st.sampled_from([1.0, 100.0, 1e4]))
        m["anneal"] = draw(st.sampled_from(["cos", "linear"]))
        if three:
            m["three_phase"] = True
        return m
    elif kind == "repeat":
        of = draw(phase_list(need_start=need_start, depth=depth + 1, closed=True, max_size=2))
        m["of"] = of if len(of) > 1 else of[0]
        mult = draw(st.sampled_from([1.0, 1.0, 2.0, 1.5]))
        if mult != 1:
            m["mult"] = mult
        if draw(st.booleans()):
            m["times"] = draw(st.integers(1, 4))
        if draw(st.booleans()):
            m["decay"] = draw(st.sampled_from([0.5, 0.9, 1.0]))
        if not may_be_open and "times" not in m:
            m["times"] = draw(st.integers(1, 3))
        _real_period(draw, m, mult)
        return m
    elif kind == "product":
        m["of"] = [draw(phase(True, may_be_open=False, depth=depth + 1)) for _ in range(draw(st.integers(1, 3)))]
        return m
    elif kind == "scale":
        m["by"] = draw(values)
        m["of"] = draw(phase(True, may_be_open=False, depth=depth + 1))
        return m
    elif kind == "clip":
        a, b = draw(values), draw(values)
        if draw(st.booleans()):
            m["min"] = min(a, b)
        if draw(st.booleans()) or "min" not in m:
            m["max"] = max(a, b)
        m["of"] = draw(phase(need_start, may_be_open=False, depth=depth + 1))
        return m
    if not (open_ok and draw(st.booleans())):
        m["duration"] = draw(durations)
    if m.get("duration") is None and m.get("gamma", 0) > 1 and m.get("end") is None and kind != "cyclic":
        m["gamma"] = 0.99  # a growth forever overflows float32 (refused, README "Limits"); this draws valid specs
    return m


@st.composite
def phase_list(draw, need_start: bool = True, depth: int = 0, closed: bool = False, max_size: int = 4):
    """1..max_size phases; the first gives its start when ``need_start``; only the last may be open."""
    n = draw(st.integers(1, max_size))
    out = []
    for i in range(n):
        last = i == n - 1
        if last and i > 0 and not closed and draw(st.integers(0, 9)) == 0:
            out.append(draw(values))  # a bare number: a constant forever
        else:
            out.append(draw(phase(need_start and i == 0, may_be_open=last and not closed, depth=depth)))
    return out


phase_lists = phase_list


@st.composite
def specs(draw, with_vars: bool = True):
    """A whole document; sometimes a number in it is replaced by a scalar `$var`, or a duration by a duration var."""
    lr = draw(phase_list())
    doc: dict = {"schedspec": 1, "lr": lr if len(lr) > 1 or draw(st.booleans()) else lr[0]}
    if with_vars and draw(st.booleans()):
        first = lr[0]
        numeric = [f for f in ("start", "value", "end", "peak", "low", "high", "by") if isinstance(first.get(f), float)]
        if numeric:
            f = draw(st.sampled_from(numeric))
            doc["vars"] = {"v": first[f]}
            first[f] = "$v"
        if isinstance(first.get("duration"), int) and first["kind"] != "onecycle" and draw(st.booleans()):
            doc.setdefault("vars", {})["w"] = first["duration"]
            first["duration"] = "$w"
    if draw(st.booleans()):
        # durations written in units: 'Nst', or epochs ('Mep', '1.5ep') when steps_per_epoch divides them
        spe = draw(st.sampled_from([1, 2, 5]))
        doc["steps_per_epoch"] = spe
        for p in lr:
            d = p.get("duration") if isinstance(p, dict) else None
            if isinstance(d, int) and draw(st.booleans()):
                if d % spe == 0:
                    p["duration"] = f"{d // spe}ep"
                elif (2 * d) % spe == 0:
                    p["duration"] = f"{d / spe}ep"
                else:
                    p["duration"] = f"{d}st"
    return doc


# ====================================================================================== the whole language
# `documents()` covers what `specs()` does not: every neutral kind and combinator (``plateau``, ``sum``, a cyclic
# ``polynomial`` included), the framework kinds (torch.*, keras.*, optax.*), vars (numbers and durations, scalar
# or sweeps, anywhere they are allowed, not only in the first phase), ``total`` (with ``%`` durations and open last
# phases running to it), ``interval: epoch``, ``steps_per_epoch`` (durations in ``ep``/``st``), other
# hyperparameters (``momentum``, ``weight_decay``) and parameter ``groups``, with a plateau's metric reports.
# Every document it draws loads (a SpecError is a finding); values stay small enough to evaluate densely.
MONITORS = ("val_loss", "acc")
METRIC_PATTERNS = ("improving", "flat", "noisy", "nan", "worsening")


@dataclasses.dataclass
class Case:
    """A drawn document and what is needed to evaluate it: ``doc`` (the spec dict), ``monitors`` (metric name ->
    report interval in interval units, for every plateau), ``pattern``/``seed`` for :meth:`metrics`, and the
    features it exercises (``features``: names for reports and coverage statistics)."""

    doc: dict
    monitors: dict
    pattern: str
    seed: int
    features: set

    def metrics(self, max_unit: int) -> dict | None:
        """Reports 0, 1, ... of every monitored metric, enough for k up to ``max_unit`` (values on a 1/8 grid, so
        a float32 and a float64 comparison with the threshold decide alike; NaN reports are bad reports)."""
        if not self.monitors:
            return None
        out = {}
        for i, (name, every) in enumerate(sorted(self.monitors.items())):
            n = max_unit // every + 2
            out[name] = metric_sequence(self.pattern, n, self.seed + i)
        return out


def metric_sequence(pattern: str, n: int, seed: int) -> list[float]:
    import random

    rnd = random.Random(seed)
    if pattern == "improving":
        return [max(0.125, 4.0 - 0.125 * (i // (1 + seed % 3))) for i in range(n)]
    if pattern == "flat":
        return [1.0] * n
    if pattern == "worsening":
        return [1.0 + 0.125 * i for i in range(n)]
    if pattern == "nan":
        return [math.nan if rnd.random() < 0.3 else rnd.randrange(8, 24) / 8 for _ in range(n)]
    return [rnd.randrange(8, 24) / 8 for _ in range(n)]  # noisy


NEUTRAL = ["constant", "linear", "cosine", "polynomial", "exponential", "step", "multistep", "piecewise",
           "inverse_time", "inverse_sqrt", "cyclic", "onecycle"]  # fmt: skip
COMBINATORS = ["repeat", "product", "scale", "clip", "sum"]
OPEN_OK = {"constant", "exponential", "step", "multistep", "piecewise", "inverse_time", "inverse_sqrt", "cyclic"}
TORCH = ["torch.StepLR", "torch.MultiStepLR", "torch.ConstantLR", "torch.LinearLR", "torch.ExponentialLR",
         "torch.PolynomialLR", "torch.CosineAnnealingLR", "torch.CosineAnnealingWarmRestarts", "torch.CyclicLR",
         "torch.OneCycleLR", "torch.SequentialLR", "torch.ChainedScheduler", "torch.MultiplicativeLR",
         "torch.ReduceLROnPlateau"]  # fmt: skip
KERAS = ["keras.ExponentialDecay", "keras.PiecewiseConstantDecay", "keras.PolynomialDecay", "keras.InverseTimeDecay",
         "keras.CosineDecay", "keras.CosineDecayRestarts"]  # fmt: skip
OPTAX = ["optax.constant_schedule", "optax.linear_schedule", "optax.polynomial_schedule", "optax.exponential_decay",
         "optax.piecewise_constant_schedule", "optax.piecewise_interpolate_schedule", "optax.cosine_decay_schedule",
         "optax.warmup_cosine_decay_schedule", "optax.warmup_exponential_decay_schedule",
         "optax.warmup_constant_schedule", "optax.sgdr_schedule", "optax.cosine_onecycle_schedule",
         "optax.linear_onecycle_schedule", "optax.join_schedules"]  # fmt: skip
small = st.integers(1, 30)
grid = st.sampled_from([0.0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0])
pos = st.sampled_from([0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0])
decays = st.sampled_from([0.5, 0.8, 0.9, 0.97, 0.99])


class _Ctx:
    """What a document draw shares: its monitors and their report intervals, the features used."""

    def __init__(self, draw, spe, interval, native_ok=True, plateau_ok=True):
        self.draw, self.spe, self.interval = draw, spe, interval
        self.native_ok, self.plateau_ok = native_ok, plateau_ok
        self.monitors: dict = {}
        self.features: set = set()
        self.plateau_seen = False  # a torch kind after a plateau gives its `lr` (it cannot scale a report-driven one)
        self.carried_torch: list = []  # torch kinds whose `lr` is the previous phase's final value

    def every(self, name):
        """The report interval of ``name`` (``None``: the default, one epoch). One for all the metrics of a
        document: the target runners report every metric on one clock."""
        if not self.monitors:
            default_ok = self.interval == "epoch" or self.spe is not None
            self.shared_every = self.draw(st.sampled_from([None, None, 1, 2, 3, 5]) if default_ok
                                          else st.sampled_from([1, 2, 3, 5]))  # fmt: skip
        self.monitors.setdefault(name, self.shared_every)
        return self.monitors[name]

    def every_units(self, name):
        e = self.monitors[name]
        if e is not None:
            return e
        return 1 if self.interval == "epoch" else self.spe


def _plateau(ctx, draw, need_start, native=False):
    name = draw(st.sampled_from(MONITORS))
    every = ctx.every(name)
    m = {"kind": "torch.ReduceLROnPlateau" if native else "plateau", "monitor": name}
    if need_start or (native and ctx.plateau_seen) or draw(st.booleans()):
        m["lr" if native else "start"] = draw(pos)
    elif native:
        ctx.carried_torch.append(m)
    if every is not None:
        m["every"] = every
    elif native and ctx.every_units(name) != 1:
        m["every"] = "1ep"  # torch's is stepped once per interval unit: its default is one unit, not one epoch
    m["patience"] = draw(st.integers(0, 3))
    m["factor"] = draw(st.sampled_from([0.1, 0.5, 0.3]))
    if draw(st.booleans()):
        m["cooldown"] = draw(st.integers(0, 2))
    if draw(st.booleans()):
        m["mode"] = draw(st.sampled_from(["min", "max"]))
    if draw(st.booleans()):
        m["threshold_mode"] = draw(st.sampled_from(["rel", "abs"]))
        m["threshold"] = draw(st.sampled_from([0.0, 1e-4, 0.01, 0.2]))
    if draw(st.booleans()):
        m["min_lr" if native else "min"] = draw(st.sampled_from([0.0, 0.001, 0.02]))
    ctx.features.add("torch.ReduceLROnPlateau" if native else "plateau")
    ctx.plateau_seen = True
    return m


def _torch(ctx, draw, kind, need_lr, inner=False):
    m: dict = {"kind": kind}
    if not inner and kind not in ("torch.CyclicLR", "torch.OneCycleLR"):
        if need_lr or ctx.plateau_seen or draw(st.booleans()):
            m["lr"] = draw(pos)
        else:
            ctx.carried_torch.append(m)
            ctx.features.add("torch carried lr")
    if kind == "torch.StepLR":
        m["step_size"] = draw(st.integers(1, 12))
        if draw(st.booleans()):
            m["gamma"] = draw(decays)
    elif kind == "torch.MultiStepLR":
        m["milestones"] = sorted(draw(st.lists(st.integers(1, 40), min_size=1, max_size=3)))
        if draw(st.booleans()):
            m["gamma"] = draw(decays)
    elif kind == "torch.ConstantLR":
        m["factor"] = draw(st.sampled_from([0.1, 0.25, 0.5, 1.0]))
        m["total_iters"] = draw(st.integers(1, 12))
    elif kind == "torch.LinearLR":
        m["start_factor"] = draw(st.sampled_from([0.01, 0.1, 0.5, 1.0]))
        m["end_factor"] = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
        m["total_iters"] = draw(st.integers(1, 15))
    elif kind == "torch.ExponentialLR":
        m["gamma"] = draw(decays)
    elif kind == "torch.PolynomialLR":
        m["total_iters"] = draw(st.integers(1, 20))
        m["power"] = draw(st.sampled_from([0.5, 1.0, 2.0]))
    elif kind == "torch.CosineAnnealingLR":
        m["T_max"] = draw(st.integers(1, 20))
        if draw(st.booleans()):
            m["eta_min"] = draw(st.sampled_from([0.0, 0.0001, 0.001]))
    elif kind == "torch.CosineAnnealingWarmRestarts":
        m["T_0"] = draw(st.integers(1, 10))
        m["T_mult"] = draw(st.sampled_from([1, 2]))
        if draw(st.booleans()):
            m["eta_min"] = draw(st.sampled_from([0.0, 0.0001, 0.001]))
    elif kind == "torch.CyclicLR":
        lo, hi = sorted([draw(pos), draw(pos)])
        m.update(base_lr=lo, max_lr=hi, step_size_up=draw(st.integers(1, 8)))
        if draw(st.booleans()):
            m["step_size_down"] = draw(st.integers(1, 8))
        mode = draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))
        m["mode"] = mode
        if mode == "exp_range":
            m["gamma"] = draw(st.sampled_from([0.9, 0.99]))
    elif kind == "torch.OneCycleLR":
        N = draw(st.integers(6, 40))
        m.update(max_lr=draw(pos), total_steps=N, pct_start=draw(st.sampled_from([0.25, 0.3, 0.4])))
        if draw(st.booleans()):
            m["anneal_strategy"] = "linear"
        if draw(st.booleans()):
            m["three_phase"] = True
        if draw(st.booleans()):
            m["div_factor"] = draw(st.sampled_from([10.0, 25.0]))
    elif kind == "torch.MultiplicativeLR":
        m["lr_lambda"] = draw(st.sampled_from([0.9, 0.95, 0.99, 1.0]))
    elif kind == "torch.SequentialLR":
        inner = draw(st.lists(st.sampled_from(["torch.StepLR", "torch.ConstantLR", "torch.LinearLR",
                                               "torch.ExponentialLR", "torch.CosineAnnealingLR",
                                               "torch.PolynomialLR"]), min_size=2, max_size=3))  # fmt: skip
        m["schedulers"] = [_torch(ctx, draw, k, False, inner=True) for k in inner]
        m["milestones"] = sorted(draw(st.sets(st.integers(1, 25), min_size=len(inner) - 1, max_size=len(inner) - 1)))
    elif kind == "torch.ChainedScheduler":
        inner = draw(st.lists(st.sampled_from(["torch.StepLR", "torch.ConstantLR", "torch.LinearLR",
                                               "torch.ExponentialLR", "torch.MultiStepLR"]), min_size=2, max_size=3))
        m["schedulers"] = [_torch(ctx, draw, k, False, inner=True) for k in inner]
    return m


def _keras(draw, kind, ctx=None):
    m: dict = {"kind": kind}
    if kind != "keras.PiecewiseConstantDecay":
        m["initial_learning_rate"] = draw(pos)
    if kind in ("keras.ExponentialDecay", "keras.InverseTimeDecay"):
        m["decay_steps"] = draw(st.integers(1, 10))
        m["decay_rate"] = draw(st.sampled_from([0.5, 0.9, 0.96]) if kind == "keras.ExponentialDecay"
                               else st.sampled_from([0.1, 0.5, 1.0]))  # fmt: skip
        if draw(st.booleans()):
            m["staircase"] = True
    elif kind == "keras.PiecewiseConstantDecay":
        b = sorted(draw(st.sets(st.integers(1, 40), min_size=1, max_size=3)))
        m["boundaries"] = b
        m["values"] = [draw(pos) for _ in range(len(b) + 1)]
    elif kind == "keras.PolynomialDecay":
        m["decay_steps"] = draw(st.integers(1, 25))
        if draw(st.booleans()):
            m["end_learning_rate"] = draw(st.sampled_from([0.0, 0.0001, 0.001]))
        if draw(st.booleans()):
            m["power"] = draw(st.sampled_from([0.5, 1.0, 2.0]))
        if draw(st.booleans()):
            m["cycle"] = True
            if ctx is not None:
                ctx.features.add("polynomial_cycle")
    elif kind == "keras.CosineDecay":
        m["decay_steps"] = draw(st.integers(1, 25))
        if draw(st.booleans()):
            m["alpha"] = draw(st.sampled_from([0.0, 0.01, 0.1]))
        if draw(st.booleans()):
            m["warmup_target"] = draw(pos)
            m["warmup_steps"] = draw(st.integers(1, 10))
    elif kind == "keras.CosineDecayRestarts":
        m["first_decay_steps"] = draw(st.integers(2, 10))
        if draw(st.booleans()):
            m["t_mul"] = draw(st.sampled_from([1.0, 2.0, 1.5]))
        if draw(st.booleans()):
            m["m_mul"] = draw(st.sampled_from([1.0, 0.5, 0.9]))
        if draw(st.booleans()):
            m["alpha"] = draw(st.sampled_from([0.0, 0.1]))
    return m


def _optax(draw, kind, depth=0):
    m: dict = {"kind": kind}
    if kind == "optax.constant_schedule":
        m["value"] = draw(pos)
    elif kind in ("optax.linear_schedule", "optax.polynomial_schedule"):
        m.update(init_value=draw(pos), end_value=draw(grid), transition_steps=draw(st.integers(1, 20)))
        if kind == "optax.polynomial_schedule":
            m["power"] = draw(st.sampled_from([0.5, 1.0, 2.0]))
        if draw(st.booleans()):
            m["transition_begin"] = draw(st.integers(0, 10))
    elif kind in ("optax.exponential_decay", "optax.warmup_exponential_decay_schedule"):
        if kind == "optax.warmup_exponential_decay_schedule":
            m.update(init_value=draw(grid), peak_value=draw(pos), warmup_steps=draw(st.integers(1, 10)))
        else:
            m["init_value"] = draw(pos)
        m.update(transition_steps=draw(st.integers(1, 10)), decay_rate=draw(st.sampled_from([0.5, 0.9, 0.96])))
        if draw(st.booleans()):
            m["transition_begin"] = draw(st.integers(0, 10))
        if draw(st.booleans()):
            m["staircase"] = True
        if draw(st.booleans()):
            m["end_value"] = draw(st.sampled_from([0.0001, 0.001, 0.01]))
    elif kind in ("optax.piecewise_constant_schedule", "optax.piecewise_interpolate_schedule"):
        if kind == "optax.piecewise_interpolate_schedule":
            m["interpolate_type"] = draw(st.sampled_from(["linear", "cosine"]))
        m["init_value"] = draw(pos)
        b = sorted(draw(st.sets(st.integers(1, 40), min_size=1, max_size=3)))
        m["boundaries_and_scales"] = {x: draw(st.sampled_from([0.1, 0.5, 1.0, 2.0])) for x in b}
    elif kind == "optax.cosine_decay_schedule":
        m.update(init_value=draw(pos), decay_steps=draw(st.integers(1, 25)))
        if draw(st.booleans()):
            m["alpha"] = draw(st.sampled_from([0.0, 0.01, 0.1]))
        if draw(st.booleans()):
            m["exponent"] = draw(st.sampled_from([1.0, 2.0]))
    elif kind == "optax.warmup_cosine_decay_schedule":
        w = draw(st.integers(1, 10))
        m.update(init_value=draw(grid), peak_value=draw(pos), warmup_steps=w, decay_steps=w + draw(st.integers(1, 25)))
        if draw(st.booleans()):
            m["end_value"] = draw(st.sampled_from([0.0, 0.0001, 0.001]))
    elif kind == "optax.warmup_constant_schedule":
        m.update(init_value=draw(grid), peak_value=draw(pos), warmup_steps=draw(st.integers(1, 10)))
    elif kind == "optax.sgdr_schedule":
        kw = []
        for _ in range(draw(st.integers(1, 3))):
            w = draw(st.integers(0, 5))
            kw.append({"init_value": draw(grid), "peak_value": draw(pos), "warmup_steps": w,
                       "decay_steps": w + draw(st.integers(1, 15))})  # fmt: skip
        m["cosine_kwargs"] = kw
    elif kind in ("optax.cosine_onecycle_schedule", "optax.linear_onecycle_schedule"):
        m.update(transition_steps=draw(st.integers(8, 40)), peak_value=draw(pos))
        if draw(st.booleans()):
            m["pct_start"] = draw(st.sampled_from([0.25, 0.3, 0.4]))
        if kind == "optax.linear_onecycle_schedule" and draw(st.booleans()):
            m["pct_final"] = draw(st.sampled_from([0.8, 0.85]))
    elif kind == "optax.join_schedules":
        n = draw(st.integers(2, 3))
        inner = [k for k in OPTAX if k != "optax.join_schedules"] if depth == 0 else ["optax.constant_schedule"]
        m["schedules"] = [_optax(draw, draw(st.sampled_from(inner)), depth + 1) for _ in range(n)]
        m["boundaries"] = sorted(draw(st.sets(st.integers(1, 30), min_size=n - 1, max_size=n - 1)))
    return m


def _neutral(draw, need_start: bool, may_be_open: bool):
    """A neutral leaf phase (no combinator)."""
    return draw(phase(need_start, may_be_open=may_be_open, depth=2))


def own_boundaries(m) -> set:
    """Every whole number in a framework kind's parameters, and the sums of them (sgdr's restarts, a warmup plus a
    decay): where its own (desugared) phases may begin."""
    ints = []

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k != "duration":
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, int) and not isinstance(x, bool):
            ints.append(x)
        elif isinstance(x, str) and x.removesuffix("st").isdigit():
            ints.append(int(x.removesuffix("st")))

    walk(m)
    out, running = set(ints), 0
    for x in ints:
        running += x
        out.add(running)
    return out | {a + b for a in ints for b in ints}


@st.composite
def any_phase(draw, ctx: _Ctx, need_start: bool, may_be_open: bool = False, depth: int = 0,
              in_repeat: bool = False):  # fmt: skip
    """One phase of any kind; framework kinds and plateaus where they may sit (never inside a ``repeat``).
    ``need_start``: nothing can be carried into it; ``may_be_open``: it may run to the room it is given."""
    cats = ["neutral"] * 6
    if may_be_open and not in_repeat:
        cats.append("cycle")
    if depth < 2:
        cats += COMBINATORS
    if ctx.plateau_ok and not in_repeat:
        cats += ["plateau"] * 2
    if ctx.native_ok and not in_repeat and depth < 2:
        cats += ["torch"] * 3 + ["keras"] * 2 + ["optax"] * 2
    cat = draw(st.sampled_from(cats))
    if cat == "neutral":
        m = _neutral(draw, need_start, may_be_open)
        ctx.features.add(m["kind"] if isinstance(m, dict) else "constant")
        return m
    if cat == "plateau":
        m = _plateau(ctx, draw, need_start, native=draw(st.integers(0, 3)) == 0)
        if not (may_be_open and draw(st.booleans())):
            m["duration"] = draw(small)
        return m
    if cat in ("torch", "keras", "optax"):
        pool = {"torch": [k for k in TORCH if k != "torch.ReduceLROnPlateau"], "keras": KERAS, "optax": OPTAX}[cat]
        name = draw(st.sampled_from(pool))
        if cat == "torch":
            m = _torch(ctx, draw, name, need_start)
        else:
            m = _keras(draw, name, ctx) if cat == "keras" else _optax(draw, name)
        ctx.features.add(name)
        if not may_be_open or draw(st.booleans()):
            own = sorted(b for b in own_boundaries(m) if 1 <= b <= 60)
            # often exactly at one of its own boundaries (a restart, a milestone), where the cut must hold the
            # framework's value at that step
            m["duration"] = draw(st.sampled_from(own)) if own and draw(st.booleans()) else draw(small)
        return m
    if cat == "cycle":
        m = {"kind": "polynomial", "cycle": True, "duration": draw(st.integers(1, 20))}
        if need_start or draw(st.booleans()):
            m["start"] = draw(pos)
        if draw(st.booleans()):
            m["end"] = draw(st.sampled_from([0.0, 0.001]))
        if draw(st.booleans()):
            m["power"] = draw(st.sampled_from([0.5, 1.0, 2.0]))
        ctx.features.add("polynomial_cycle")
        return m
    ctx.features.add(cat)
    m = {"kind": cat}
    sub = dict(ctx=ctx, depth=depth + 1)
    if cat == "repeat":  # a closed `of`; a start is carried into its first phase
        n = draw(st.integers(1, 2))
        of = [draw(any_phase(need_start=need_start and i == 0, in_repeat=True, **sub)) for i in range(n)]
        m["of"] = of if n > 1 else of[0]
        mult = draw(st.sampled_from([1, 1, 2, 1.5]))
        if mult != 1:
            m["mult"] = mult
        if draw(st.booleans()) or not may_be_open:
            m["times"] = draw(st.integers(1, 3))
        if draw(st.booleans()):
            m["decay"] = draw(st.sampled_from([0.5, 0.9, 1.0]))
        _real_period(draw, m, mult)
        return m
    inner_open = may_be_open and draw(st.booleans())  # an open last phase inside runs to the room

    def part(need):
        if draw(st.integers(0, 3)) == 0:  # a list inside the combinator
            return draw(any_list(ctx, need_start=need, may_be_open=inner_open, depth=depth + 1, in_repeat=in_repeat,
                                 max_size=2))  # fmt: skip
        return draw(any_phase(need_start=need, may_be_open=inner_open, in_repeat=in_repeat, **sub))

    if cat in ("product", "sum"):
        m["of"] = [part(True) for _ in range(draw(st.integers(1, 3)))]
    elif cat == "scale":
        m["by"] = draw(grid)
        m["of"] = part(True)
    else:  # clip: a start is carried into its `of`
        a, b = draw(grid), draw(grid)
        if draw(st.booleans()):
            m["min"] = min(a, b)
        if draw(st.booleans()) or "min" not in m:
            m["max"] = max(a, b)
        m["of"] = part(need_start)
    if (inner_open and draw(st.booleans())) or (not may_be_open and not _closed(m)):
        # the combinator's own duration (the room of an open phase inside it, which must begin before it ends)
        probe = {"interval": ctx.interval, **({"steps_per_epoch": ctx.spe} if ctx.spe else {})}
        m["duration"] = _latest_begin(probe, m) + draw(small)
    return m


@st.composite
def any_list(draw, ctx: _Ctx, need_start: bool = True, may_be_open: bool = True, depth: int = 0,
             in_repeat: bool = False, max_size: int = 4):  # fmt: skip
    """A sequence of 1..max_size phases; only the last may be open; a nested list may stand for a closed phase."""
    n = draw(st.integers(1, max_size))
    out = []
    for i in range(n):
        last = i == n - 1
        if not last and depth < 2 and draw(st.integers(0, 5)) == 0:
            out.append(draw(any_list(ctx, need_start=need_start and i == 0, may_be_open=False, depth=depth + 1,
                                     in_repeat=in_repeat, max_size=2)))  # fmt: skip
        elif last and i > 0 and may_be_open and draw(st.integers(0, 9)) == 0:
            out.append(draw(pos))  # a bare number: a constant
        else:
            out.append(draw(any_phase(ctx, need_start=need_start and i == 0, may_be_open=last and may_be_open,
                                      depth=depth, in_repeat=in_repeat)))  # fmt: skip
    return out


def _closed(m) -> bool:
    """Whether a drawn node surely ends without an explicit duration of its own."""
    if isinstance(m, list):
        return bool(m) and all(_closed(x) for x in m)
    if not isinstance(m, dict):
        return False
    if m.get("duration") is not None:
        return not m.get("cycle", False)
    kind = m.get("kind", "")
    if kind == "repeat":
        return m.get("times") is not None
    if kind in ("product", "sum"):
        return all(_closed(x) for x in m["of"])
    if kind in ("scale", "clip"):
        return _closed(m["of"])
    return kind == "onecycle"


# slots a var may stand in: (field, kind of value); durations are in interval units when drawn
NUMBER_FIELDS = {"start", "end", "value", "peak", "low", "high", "by", "rate"}
DURATION_FIELDS = {"duration", "every", "timescale", "up", "down"}
COUNT_FIELDS = {"duration", "every", "timescale", "up", "down", "step_size", "T_max", "total_iters", "decay_steps"}


def _walk(node, path=()):
    """Every mapping of a schedule tree with its path."""
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            if k == "of" or k == "schedulers" or k == "schedules":
                yield from _walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, path + (i,))


def _schedules(doc):
    """(key path, schedule) of every schedule of a document: its hyperparameters and its groups' own."""
    for k, v in doc.items():
        if k not in ("schedspec", "name", "description", "interval", "steps_per_epoch", "total", "vars", "groups"):
            yield (k,), v
    for g, body in (doc.get("groups") or {}).items():
        for k, v in body.items():
            if k != "scale":
                yield ("groups", g, k), v


def _latest_begin(probe, node) -> int:
    """An upper bound of where the last phase anywhere in ``node`` begins: `total` must come after it. A framework
    kind's own (desugared) phases may begin after `total` (the framework runs them; only where the user's phases
    begin is checked), so a framework kind counts as one phase beginning where it begins."""
    if isinstance(node, list):
        out = 0
        for i, item in enumerate(node):
            lead = {"kind": "constant", "value": 1.0, "duration": 1}  # something to carry a start from
            at = ref_length({**probe, "lr": [lead, *node[:i]]}) - 1 if i else 0
            out = max(out, at + _latest_begin(probe, item))
        return out
    if not isinstance(node, dict):
        return 0
    if "." in node.get("kind", ""):
        return 0
    if "of" in node:
        parts = node["of"] if node["kind"] in ("product", "sum") else [node["of"]]
        return max(_latest_begin(probe, p) for p in parts)
    return 0


@st.composite
def documents(draw, native: bool = True, plateau: bool = True, others: bool = True, groups: bool = True,
              with_vars: bool = True, sweeps: bool = True):  # fmt: skip
    """A :class:`Case`: a whole document over the whole language (see the comment above ``Case``)."""
    interval = draw(st.sampled_from(["step", "step", "epoch"]))
    spe = draw(st.sampled_from([None, None, 1, 2, 3, 4]))
    ctx = _Ctx(draw, spe, interval, native_ok=native, plateau_ok=plateau)
    doc: dict = {"schedspec": 1}
    if interval == "epoch":
        doc["interval"] = "epoch"
        ctx.features.add("interval: epoch")
    if spe is not None:
        doc["steps_per_epoch"] = spe
        ctx.features.add("steps_per_epoch")
    lr = draw(any_list(ctx))
    doc["lr"] = lr if len(lr) > 1 or isinstance(lr[0], list) or draw(st.booleans()) else lr[0]
    if others and draw(st.booleans()):
        ctx.features.add("momentum")
        mom = st.sampled_from([0.8, 0.85, 0.9, 0.95, 0.99])
        if draw(st.booleans()):
            doc["momentum"] = draw(mom)
        else:
            a, b = draw(mom), draw(mom)
            doc["momentum"] = [{"kind": draw(st.sampled_from(["cosine", "linear"])), "start": a, "end": b,
                                "duration": draw(small)}, {"kind": "linear", "end": a, "duration": draw(small)}]
            if draw(st.booleans()):
                doc["momentum"].append({"kind": "constant"})  # open: the carried value, forever or to `total`
    if others and draw(st.booleans()):
        ctx.features.add("weight_decay")
        doc["weight_decay"] = draw(st.sampled_from([0.0, 1e-4, 0.05]))
    if groups and draw(st.booleans()):
        ctx.features.add("groups")
        gs: dict = {}
        if draw(st.booleans()):
            gs["backbone"] = {"scale": draw(st.sampled_from([0.1, 0.5, 2.0]))}
        if draw(st.booleans()) or not gs:
            head: dict = {"lr": draw(any_list(ctx, max_size=2))}
            if "weight_decay" in doc and draw(st.booleans()):
                head["weight_decay"] = 0.0
            if "momentum" in doc and draw(st.booleans()):
                head["momentum"] = 0.5
            gs["head"] = head
        doc["groups"] = gs
    # total: beyond where every schedule's last top-level phase begins (an open one runs to it). Not with a cyclic
    # polynomial: the README says it never ends, and that an open last phase runs to `total`; whether `total` ends
    # a cyclic polynomial is not said
    if "polynomial_cycle" not in ctx.features and draw(st.booleans()):
        probe = {k: v for k, v in doc.items() if k in ("interval", "steps_per_epoch")}
        begin = max(_latest_begin(probe, s) for _, s in _schedules(doc))
        doc["total"] = begin + draw(st.integers(1, 40))
        ctx.features.add("total")
    if with_vars:
        _vars_pass(draw, doc, ctx, sweeps)
    _units_pass(draw, doc, ctx)
    if ctx.monitors:
        ctx.features.add("metrics")
    pattern = draw(st.sampled_from(METRIC_PATTERNS))
    return Case(doc, {n: ctx.every_units(n) for n in ctx.monitors}, pattern, draw(st.integers(0, 99)), ctx.features)


def _vars_pass(draw, doc, ctx, sweeps):
    """Replace up to three numbers or durations, anywhere they may be a var, by `$vN` (sometimes a sweep)."""
    slots = []
    for _key, sched in _schedules(doc):
        if not isinstance(sched, (list, dict)):
            continue
        if any(m is c for _p, m in _walk(sched) for c in ctx.carried_torch):
            continue  # a torch kind's carried base lr must not depend on a var (a positioned error)
        for path, m in _walk(sched):
            kind = m.get("kind", "")
            native = "." in kind
            # a var duration inside a combinator makes its own length unknown (it then needs a `duration`)
            nested = "of" in path or "schedulers" in path or "schedules" in path
            for f, v in m.items():
                if isinstance(v, bool):
                    continue
                if f == "lr" and kind.startswith("torch.") and isinstance(v, float):
                    slots.append((m, f, "number"))  # README: a torch kind's `lr: $x` is a scale by $x
                elif native:
                    continue  # elsewhere in a framework kind a var is refused (it is not passed through)
                elif f in NUMBER_FIELDS and isinstance(v, float):
                    slots.append((m, f, "number"))
                elif f in DURATION_FIELDS and isinstance(v, int) and kind not in ("onecycle", "plateau"):
                    if not (nested and f == "duration"):
                        slots.append((m, f, "duration"))
    for body in (doc.get("groups") or {}).values():
        if "scale" in body:
            slots.append((body, "scale", "number"))
    if not slots:
        return
    chosen = draw(st.lists(st.sampled_from(range(len(slots))), max_size=3, unique=True))
    vs: dict = {}
    n_sweeps = 0
    for i in chosen:
        m, f, what = slots[i]
        name = f"v{len(vs)}"
        value = m[f]
        if sweeps and n_sweeps < 2 and draw(st.booleans()):
            n_sweeps += 1
            if what == "number":
                other = draw(pos) if f != "rate" else draw(grid)
            else:  # shorter, never longer: every phase still begins before `total`
                other = max(1, value - draw(st.integers(1, 5))) if f == "duration" else draw(st.integers(1, 8))
            value = [value, other] if other != value else [value]
            ctx.features.add("sweep")
        vs[name] = value
        m[f] = f"${name}"
        ctx.features.add(f"{what} var")
    if vs and draw(st.integers(0, 5)) == 0:
        vs["unused"] = 0.5  # a warning, not an error
    if vs:
        doc["vars"] = vs


def _units_pass(draw, doc, ctx):
    """Write some durations in `ep`, `st` or `%` (of `total`) units, exactly the same number of interval units."""
    spe, epoch, total = doc.get("steps_per_epoch"), doc.get("interval") == "epoch", doc.get("total")

    def spelled(d: int, pct_ok: bool):
        choices = []
        if spe is not None:
            if epoch:
                choices += [f"{d}ep", f"{d * spe}st"]
            elif d % spe == 0:
                choices.append(f"{d // spe}ep")
            elif (2 * d) % spe == 0:
                choices.append(f"{d / spe}ep")
            else:
                choices.append(f"{d}st")
        elif not epoch:
            choices.append(f"{d}st")
        if pct_ok and total and (10000 * d) % total == 0:
            p = Fraction(100 * d, total)
            choices.append(f"{p.numerator // p.denominator if p.denominator == 1 else float(p)}%")
        if not choices or not draw(st.booleans()):
            return d
        ctx.features.add("units")
        return draw(st.sampled_from(choices))

    for _key, sched in _schedules(doc):
        if not isinstance(sched, (list, dict)):
            continue
        for _path, m in _walk(sched):
            for f in COUNT_FIELDS:
                if isinstance(m.get(f), int) and not isinstance(m.get(f), bool):
                    m[f] = spelled(m[f], pct_ok=f == "duration")
            if m.get("kind") == "multistep" and draw(st.booleans()):
                m["milestones"] = [spelled(x, False) if isinstance(x, int) else x for x in m["milestones"]]
    for name, v in (doc.get("vars") or {}).items():
        if isinstance(v, int) and not isinstance(v, bool):
            doc["vars"][name] = spelled(v, False)
    if total is not None and draw(st.booleans()):
        doc["total"] = spelled(total, False)
