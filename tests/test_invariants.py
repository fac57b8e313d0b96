"""Numeric invariants of every kind on every path (README "Numerics").

Paths: ``evaluate`` (float32 and float64), ``to_jax`` under ``jit`` and ``vmap``, ``to_optax`` under ``jit``,
``to_keras`` (JAX backend; the torch backend in one subprocess), ``to_torch`` and the emitted torch, keras, optax and
jax modules (the source exec'd). For every neutral kind and combinator, with durations from 2 to 1e6, fractional
exponents and powers, zero, tiny and large values, at ``k = 0``, ``b - 1``, ``b``, ``b + 1`` for every phase
boundary ``b``, a few random ``k`` and ``k = 2**31 - 1``:

* never NaN or inf, never negative (every declared value is >= 0);
* a monotone phase never leaves ``[min(start, end), max(start, end)]``;
* from a phase's end on, it holds EXACTLY its declared end (the float32 nearest to it on float32 paths, the
  float64 value on float64 paths): ``end: 0`` holds ``0.0``;
* float32 paths are within ``1e-6*peak + 1e-5*|v|`` of the float64 reference, and float64 paths within
  ``1e-12*peak + 1e-10*|v|`` (the reference is ``tests/reference.py``, written independently of schedspec).

The framework kinds (``torch.*``, ``keras.*``, ``optax.*``) keep their framework's own shape (torch's
``CosineAnnealingLR`` rises after ``T_max``) but are never NaN, never negative, and hold their declared end exactly
where the framework holds one. The faults that were found in the field are pinned with their right values at the end.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

os.environ.setdefault("KERAS_BACKEND", "jax")

import schedspec  # noqa: E402
from schedspec import backends, formulas  # noqa: E402

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import sgd_update
    from .reference import ref_value
except ImportError:
    from helpers import sgd_update
    from reference import ref_value

jax = pytest.importorskip("jax")
jnp = jax.numpy
torch = pytest.importorskip("torch")
pytest.importorskip("optax")
pytest.importorskip("keras")

INT32_MAX = 2**31 - 1
TOL = {"float32": (1e-6, 1e-5), "float64": (1e-12, 1e-10)}
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ===================================================================================================== paths
def _exec(source: str) -> dict:
    ns: dict = {"__name__": "emitted_invariants"}
    exec(compile(source, "<emitted>", "exec"), ns)  # noqa: S102 - the module schedspec.emit wrote
    return ns


def _torch_optimizer():
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=1.0)


def _emitted_torch(source: str, ks) -> list[float]:
    """The emitted torch module's value at each k: ``value(k)``, or the native class's closed form."""
    ns = _exec(source)
    if "value" in ns:
        return [ns["value"](int(k)) for k in ks]
    sched = ns["build_scheduler"](_torch_optimizer())
    out = []
    for k in ks:
        sched.last_epoch = int(k)
        out.append(sched._get_closed_form_lr()[0])
    return out


def _to_torch(spec, ks) -> list[float]:
    sched = schedspec.to_torch(spec, _torch_optimizer())
    return [sched.lr_at(int(k)) for k in ks]


def _np(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


PATHS = {  # name: (dtype, fn(spec, ks) -> values)
    "evaluate/float32": ("float32", lambda s, ks: _np(schedspec.evaluate(s, ks))),
    "evaluate/float64": ("float64", lambda s, ks: _np(schedspec.evaluate(s, ks, dtype="float64"))),
    "to_jax/jit+vmap": (
        "float32",
        lambda s, ks: _np(jax.jit(jax.vmap(schedspec.to_jax(s)))(jnp.asarray(ks, dtype=jnp.int32))),
    ),
    "to_optax/jit": (
        "float32",
        lambda s, ks: _np(jax.jit(schedspec.to_optax(s))(jnp.asarray(ks, dtype=jnp.int32))),
    ),
    "to_keras": ("float32", lambda s, ks: _np(schedspec.to_keras(s)(np.asarray(ks, dtype=np.int32)))),
    "to_torch": ("float64", lambda s, ks: _np(_to_torch(s, ks))),
    "emit/jax": (
        "float32",
        lambda s, ks: _np(_exec(schedspec.emit(s, "jax"))["schedule"](jnp.asarray(ks, jnp.int32))),
    ),
    "emit/optax": (
        "float32",
        lambda s, ks: _np(
            jax.jit(_exec(schedspec.emit(s, "optax"))["build_schedule"]())(jnp.asarray(ks, jnp.int32))
        ),
    ),
    "emit/keras": (
        "float32",
        lambda s, ks: _np(_exec(schedspec.emit(s, "keras"))["build_schedule"]()(np.asarray(ks, np.int32))),
    ),
    "emit/torch": ("float64", lambda s, ks: _np(_emitted_torch(schedspec.emit(s, "torch"), ks))),
}
CHEAP = ("to_torch", "emit/torch")  # Python math: no compilation


def run_paths(spec, ks, names=tuple(PATHS)) -> dict[str, tuple[str, np.ndarray]]:
    """Each path's values at ``ks`` (each target built once)."""
    return {name: (PATHS[name][0], PATHS[name][1](spec, ks)) for name in names}


# ===================================================================================================== checks
def _as(x: float, dtype: str) -> float:
    """``x`` as the path's dtype would hold it (float32: the nearest float32)."""
    return float(np.float32(x)) if dtype == "float32" else float(x)


def assert_close(got, ref, dtype: str, what: str, peak: float | None = None) -> None:
    got, ref = _np(got), _np(ref)
    a_tol, r_tol = TOL[dtype]
    peak = float(np.max(np.abs(ref))) if peak is None else peak
    bound = a_tol * peak + r_tol * np.abs(ref)
    bad = ~(np.abs(got - ref) <= bound)
    assert not bad.any(), f"{what}: {int(bad.sum())} values off, first {got[bad][:3]!r} vs {ref[bad][:3]!r}"


@dataclasses.dataclass
class Case:
    """A spec and what it promises, in global steps.

    ``ranges``: ``(k0, k1, lo, hi)``, every k in ``[k0, k1]`` has a value in ``[lo, hi]`` (the bounds as the path's
    dtype holds them); ``holds``: ``(k0, value)``, every k >= k0 has exactly ``value``; ``flat``: every k >= k0 has
    the value at k0 (a phase that ends on a computed value); ``marks``: the boundaries to look at (b-1, b, b+1).
    ``wrap``: the monotone map (scale, clip, sum, product with a constant) applied to the phase's values, in the
    path's dtype; ``reference``: whether tests/reference.py covers the spec.
    """

    doc: dict
    ranges: list = dataclasses.field(default_factory=list)
    holds: list = dataclasses.field(default_factory=list)
    flat: list = dataclasses.field(default_factory=list)
    marks: list = dataclasses.field(default_factory=list)
    wrap: tuple = ()
    reference: bool = True
    warm: tuple | None = None  # (k0, k1, lo, hi) of a linear warmup before the phase (not wrapped)
    warm_start: float = 0.0  # its start: exactly the value at k = 0

    def apply(self, v: float, dtype: str) -> float:
        """``v`` (a declared value) through the wrappers, rounded as the path rounds it."""
        x = np.float32(v) if dtype == "float32" else np.float64(v)
        for op, c in self.wrap:
            c = np.float32(c) if dtype == "float32" else np.float64(c)
            if op == "mul":
                x = x * c
            elif op == "add":
                x = c + x
            elif op == "min":
                x = np.minimum(x, c)
            elif op == "max":
                x = np.maximum(x, c)
        return float(x)


N_STEPS = 128  # one array length for every example: the eager (op-by-op) paths compile each op once


def steps(case: Case, rnd: list[int]) -> np.ndarray:
    """k = 0, 1, b - 1, b, b + 1 and 2b for every mark b, ``rnd``, 2**31 - 1, padded to N_STEPS with a geometric
    grid (sorted; a longer array only when there are more marks)."""
    ks = {0, 1, INT32_MAX, *rnd}
    for b in case.marks:
        ks.update((b - 1, b, b + 1, 2 * b))
    ks = {k for k in ks if 0 <= k <= INT32_MAX}
    grid = iter(np.unique(np.geomspace(1, INT32_MAX, 4 * N_STEPS).astype(np.int64)))
    while len(ks) < N_STEPS:
        ks.add(int(next(grid)))
    return np.asarray(sorted(ks), dtype=np.int64)


def check_case(case: Case, ks: np.ndarray, results: dict, ref: np.ndarray | None) -> None:
    for name, (dtype, got) in results.items():
        what = f"{name} {json.dumps(case.doc)}"
        assert got.shape == ks.shape, what
        assert np.all(np.isfinite(got)), (
            f"{what}: not finite at k={ks[~np.isfinite(got)][:5]}: {got[~np.isfinite(got)][:5]}"
        )
        assert np.all(got >= 0), f"{what}: negative at k={ks[got < 0][:5]}: {got[got < 0][:5]!r}"
        for k0, k1, lo, hi in case.ranges:
            sel = (ks >= k0) & (ks <= k1)
            lo_, hi_ = case.apply(lo, dtype), case.apply(hi, dtype)
            out = sel & ((got < lo_) | (got > hi_))
            assert not out.any(), f"{what}: leaves [{lo_!r}, {hi_!r}] at k={ks[out][:5]}: {got[out][:5]!r}"
        for k0, value in case.holds:
            want = case.apply(value, dtype)
            sel = ks >= k0
            off = sel & (got != want)
            assert not off.any(), (
                f"{what}: from k={k0} holds {want!r}, got {got[off][:5]!r} at k={ks[off][:5]}"
            )
        for k0 in case.flat:
            sel = ks >= k0
            assert sel.any() and np.all(got[sel] == got[sel][0]), (
                f"{what}: not held from k={k0}: {got[sel]!r}"
            )
        if ref is not None:
            peak = max(float(np.max(np.abs(ref))), 0.0)
            assert_close(got, ref, dtype, what, peak)


# ===================================================================================================== cases
# zero, tiny, typical and large values (float32 represents all of them and their products with `by` normally)
values = st.sampled_from([0.0, 0.0, 1e-12, 3e-9, 1e-6, 1e-3, 0.1, 1.0, 3.0, 1e3, 1e6]) | st.floats(
    1e-8, 10.0, allow_nan=False
).map(lambda x: float(np.float32(x)))
positive = values.filter(lambda v: v > 0)
long_durations = st.integers(2, 10**6)
durations = st.integers(2, 20) | st.integers(2, 3000) | long_durations
exponents = st.sampled_from([0.25, 0.5, 1.0, 1.0, 1.7, 2.0, 3.0, 10.0])


@st.composite
def main_phase(draw, start: float, closed: bool):
    """One phase beginning at local t = 0: (mapping, ranges, holds, flat, marks, duration), all in local time
    (a polynomial with ``cycle``, which tests/reference.py does not cover, is marked ``"cycle": True``).

    ``start``: its start (given explicitly); ``closed``: it must have a duration (inside a repeat).
    """
    kinds = ["constant", "linear", "cosine", "polynomial", "exponential", "step", "multistep", "piecewise",
             "inverse_time", "inverse_sqrt", "cyclic", "onecycle", "tanh"] + ([] if closed else ["polynomial_cycle"])  # fmt: skip
    kind = draw(st.sampled_from(kinds))
    T = draw(durations)
    ranges, holds, flat, marks = [], [], [], [T]
    m: dict
    if kind == "constant":
        m = {"kind": "constant", "value": start, "duration": T}
        holds.append((0, start))
    elif kind in ("linear", "cosine", "polynomial"):
        end = draw(values)
        m = {"kind": kind, "start": start, "end": end, "duration": T}
        if kind == "cosine":
            m["exponent"] = draw(exponents)
        elif kind == "polynomial":
            m["power"] = draw(exponents)
        if draw(st.booleans()):  # a warp of time (timm k_decay; 0.5 on a linear decay is WSD's 1-sqrt)
            m["warp"] = draw(st.sampled_from([0.25, 0.5, 0.5, 0.7, 1.5, 2.0, 3.0]))
        ranges += [(0, T, min(start, end), max(start, end)), (0, 0, start, start)]  # exactly `start` at t = 0
        holds.append((T, end))
        marks += [T - 1, T // 2]
    elif kind == "polynomial_cycle":
        end = draw(values)
        m = {"kind": "polynomial", "start": start, "end": end, "duration": T, "power": draw(exponents),
             "cycle": True}  # fmt: skip
        ranges.append((0, INT32_MAX, min(start, end), max(start, end)))
        marks += [2 * T, 2 * T + 1, 3 * T]
        T = None
    elif kind == "exponential":
        gamma = draw(st.sampled_from([0.1, 0.5, 0.9, 0.99, 0.999, 1.01, 1.1, 2.0]))
        every = draw(st.sampled_from([1, 1, 7, 100]))
        m = {"kind": "exponential", "start": start, "gamma": gamma, "every": every}
        if draw(st.booleans()):
            m["staircase"] = True
        if closed or draw(st.booleans()):
            m["duration"] = T
            flat.append(T)
        else:
            T = None
        if gamma > 1 or draw(st.booleans()):  # growth needs its ceiling
            end = draw(values)
            end = max(end, start) if gamma > 1 else min(end, start)
            m["end"] = end
            ranges.append((0, INT32_MAX, min(start, end), max(start, end)))
            if start > 0 and end > 0 and end != start:
                x = math.log(end / start) / math.log(gamma)  # steps of `every` until the bound
                reach = int(every * (math.floor(x * 1.001) + 2)) + 1
                if T is None or reach <= T:
                    holds.append((reach, end))
                    marks.append(reach)
        else:
            ranges.append((0, INT32_MAX, 0.0, start))
    elif kind in ("step", "multistep"):
        gamma = draw(st.sampled_from([0.1, 0.5, 0.9, 1.0]))
        m = {"kind": kind, "start": start, "gamma": gamma}
        if kind == "step":
            m["every"] = draw(st.integers(1, max(1, (T or 10) // 2)))
            marks += [m["every"], 2 * m["every"]]
        else:
            ms = sorted(draw(st.lists(st.integers(1, max(1, T)), min_size=1, max_size=4)))
            m["milestones"] = ms
            marks += ms
            flat.append(ms[-1])
        ranges.append((0, INT32_MAX, 0.0, start))
        if closed or draw(st.booleans()):
            m["duration"] = T
            flat.append(T)
        else:
            T = None
    elif kind == "piecewise":
        ats = sorted(draw(st.sets(st.integers(1, T), min_size=1, max_size=4)))
        vals = [start] + [draw(values) for _ in ats]
        interp = draw(st.sampled_from(["constant", "linear", "cosine"]))
        m = {"kind": "piecewise", "points": [[0, start]] + [[a, v] for a, v in zip(ats, vals[1:])],
             "interpolate": interp, "duration": T}  # fmt: skip
        points = [0, *ats]
        for i in range(len(ats)):
            a0, a1, v0, v1 = points[i], points[i + 1], vals[i], vals[i + 1]
            if interp == "constant":
                ranges.append((a0, a1 - 1, v0, v0))  # exactly the point's value
            else:  # (a1 itself begins the next segment: its value is v1 within the tolerance, not exactly)
                ranges.append((a0, a1 - 1, min(v0, v1), max(v0, v1)))
        holds.append((ats[-1], vals[-1]))
        marks += ats
    elif kind == "inverse_time":
        every = draw(st.sampled_from([1, 10, 1000]))
        m = {"kind": "inverse_time", "start": start, "rate": draw(values), "every": every}
        if draw(st.booleans()):
            m["staircase"] = True
        ranges.append((0, INT32_MAX, 0.0, start))
        if closed or draw(st.booleans()):
            m["duration"] = T
            flat.append(T)
        else:
            T = None
    elif kind == "inverse_sqrt":
        ts = draw(st.integers(1, 10**5))
        m = {"kind": "inverse_sqrt", "start": start, "timescale": ts}
        shift = draw(st.sampled_from([0, 0, ts, 1, ts // 2 + 1, 3 * ts, 10**6]))  # HF's is shift = timescale
        if shift:
            m["shift"] = shift
        ranges.append((0, INT32_MAX, 0.0, start))
        if shift <= ts:
            ranges.append((0, ts - shift, start, start))
        marks += [ts, max(ts - shift, 0), max(ts - shift, 0) + 1]
        if closed or draw(st.booleans()):
            m["duration"] = T
            flat.append(T)
        else:
            T = None
    elif kind == "cyclic":
        low, high = start, draw(values)
        up = draw(st.integers(1, 5000))
        m = {"kind": "cyclic", "low": low, "high": high, "up": up}
        down = up
        if draw(st.booleans()):
            down = m["down"] = draw(st.integers(1, 5000))
        mode = draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))
        m["mode"] = mode
        if mode == "exp_range":
            m["gamma"] = draw(st.sampled_from([0.9, 0.999, 1.0]))
        ranges.append((0, INT32_MAX, min(low, high), max(low, high)))
        marks += [up, up + down, 2 * (up + down)]
        if closed or draw(st.booleans()):
            m["duration"] = T
            flat.append(T)
        else:
            T = None
    elif kind == "tanh":  # timm TanhLRScheduler: the curve until T, then exactly `end`
        end = draw(values)
        lb, ub = draw(st.sampled_from([(-7.0, 3.0), (-4.0, 4.0), (-1.0, 0.5), (-30.0, 30.0)]))
        m = {"kind": "tanh", "start": start, "end": end, "lb": lb, "ub": ub, "duration": T}
        ranges.append((0, INT32_MAX, min(start, end), max(start, end)))
        holds.append((T, end))
        marks += [T - 1, T // 2]
    else:  # onecycle (torch OneCycleLR): init -> peak at pct*N - 1 -> low at N - 1, held after
        N = max(T, 4)
        three = draw(st.booleans())
        hi = min(0.95, (N + 1) / (2 * N) - 1e-3) if three else 0.95
        pct = draw(st.floats(1.0 / N + 1e-3, hi)) if 1.0 / N + 1e-3 < hi else 0.5
        peak = start
        div = draw(st.sampled_from([1.0, 10.0, 25.0]))
        fdiv = draw(st.sampled_from([1.0, 100.0, 1e4]))
        m = {"kind": "onecycle", "peak": peak, "duration": N, "pct_start": pct, "div_factor": div,
             "final_div_factor": fdiv, "anneal": draw(st.sampled_from(["cos", "linear"]))}  # fmt: skip
        init = peak / div
        low = init / fdiv
        ranges.append((0, 0, init, init))
        e1 = pct * N - 1
        if three:
            m["three_phase"] = True
            e2 = 2 * pct * N - 2
            ranges += [(0, math.floor(e1), init, peak), (math.floor(e1) + 1, math.floor(e2), init, peak),
                       (math.floor(e2) + 1, N - 1, low, init)]  # fmt: skip
            marks += [math.floor(e2), math.floor(e2) + 1]
        else:
            ranges += [(0, math.floor(e1), init, peak), (math.floor(e1) + 1, N - 1, low, peak)]
        marks += [math.floor(e1), math.floor(e1) + 1, N - 1]
        holds.append((N - 1, low))
        T = N
    return m, ranges, holds, flat, marks, T


def _shift(items, offset: int):
    """Local ranges/holds/flat/marks moved to begin at global step ``offset``."""
    ranges, holds, flat, marks = items
    return (
        [(k0 + offset, min(k1 + offset, INT32_MAX), lo, hi) for k0, k1, lo, hi in ranges],
        [(k0 + offset, v) for k0, v in holds],
        [k0 + offset for k0 in flat],
        [b + offset for b in marks],
    )


def _repeated(items, T: int, times: int, mult: float, decay: float, hold_from: int):
    """A phase's promises inside ``repeat(times, mult, decay)``: cycle c begins at ``B_c``, lasts ``T * mult**c``
    (the phase stretched: local positions times ``mult**c``) and its values are times ``decay**c`` (a power of 2:
    exact); a hold becomes an exact range until the cycle ends; after the last cycle its final value is held."""
    ranges, holds, flat, marks = items
    out_r, out_m = [], []
    begin = 0
    for c in range(times):
        s, f = int(mult**c), decay**c
        last = begin + T * s - 1
        out_r += [(begin + k0 * s, min(begin + k1 * s, last), lo * f, hi * f) for k0, k1, lo, hi in ranges]
        out_r += [(begin + k0 * s, last, v * f, v * f) for k0, v in holds]
        out_m += [begin + b * s for b in marks] + [begin]
        begin = last + 1
    held = [(begin, v * decay ** (times - 1)) for k0, v in holds if k0 <= hold_from]
    return out_r, held, [begin], [*out_m, begin]


@st.composite
def cases(draw) -> Case:
    """[an optional linear warmup, a phase (maybe wrapped in scale, clip, product, sum or repeat)]."""
    start = draw(values)
    W = draw(st.sampled_from([0, 0, 1, 10, 1000]))
    wrapper = draw(st.sampled_from(["none", "none", "scale", "clip", "product", "sum", "repeat"]))
    phase, ranges, holds, flat, marks, T = draw(main_phase(start, closed=wrapper == "repeat"))
    case = Case(doc={}, reference=not phase.get("cycle", False))
    items = (ranges, holds, flat, marks)
    node: dict = phase
    if wrapper == "scale":
        by = draw(st.sampled_from([0.0, 1e-3, 0.5, 2.0, 1e3]))
        node = {"kind": "scale", "by": by, "of": phase}
        case.wrap = (("mul", by),)
    elif wrapper == "product":
        c = draw(st.sampled_from([0.0, 0.1, 1.0, 7.0]))
        node = {"kind": "product", "of": [phase, {"kind": "constant", "value": c}]}
        case.wrap = (("mul", c),)
    elif wrapper == "sum":
        c = draw(st.sampled_from([0.0, 1e-6, 0.5]))
        node = {"kind": "sum", "of": [{"kind": "constant", "value": c}, phase]}
        case.wrap = (("add", c),)
        case.reference = False  # tests/reference.py has no `sum`
    elif wrapper == "clip":
        a, b = sorted((draw(values), draw(values)))
        node = {"kind": "clip", "min": a, "max": b, "of": phase}
        case.wrap = (("max", a), ("min", b))
    elif wrapper == "repeat":
        times = draw(st.integers(1, 3))
        mult = draw(st.sampled_from([1.0, 2.0]))
        decay = draw(st.sampled_from([1.0, 0.5]))  # powers of 2: each cycle's values scale exactly
        node = {"kind": "repeat", "of": phase, "times": times, "mult": mult, "decay": decay}
        hold_from = T - 1 if phase["kind"] == "onecycle" else T
        items = _repeated(items, T, times, mult, decay, hold_from)
    if W:
        warm_start = draw(values)
        node = [{"kind": "linear", "start": warm_start, "end": start, "duration": W}, node]
        items = _shift(items, W)
        case.warm = (0, W - 1, min(warm_start, start), max(warm_start, start))  # the warmup: not wrapped
        case.warm_start = warm_start
        case.marks.append(W)
    case.doc = {"schedspec": 1, "lr": node}
    case.ranges, case.holds, case.flat, marks = items
    case.marks += marks
    return case


def _warm_ok(case: Case, ks, results) -> None:
    if case.warm is None:
        return
    k0, k1, lo, hi = case.warm
    for name, (dtype, got) in results.items():
        sel = (ks >= k0) & (ks <= k1)
        lo_, hi_ = _as(lo, dtype), _as(hi, dtype)
        out = sel & ((got < lo_) | (got > hi_))
        assert not out.any(), f"{name} warmup leaves [{lo_}, {hi_}] at {ks[out][:5]}: {got[out][:5]!r}"
        assert got[0] == _as(case.warm_start, dtype), (
            f"{name} warmup starts at {got[0]!r}, not {case.warm_start!r}"
        )


# beyond REF_HORIZON, tests/reference.py's float arithmetic (e.g. CyclicLR's `1 + t / C`) is not exact
REF_HORIZON = 10**7


def _reference(case: Case, ks, fallback: np.ndarray) -> np.ndarray:
    """tests/reference.py at each k up to REF_HORIZON; ``fallback`` (a float64 path's values) beyond it, and where
    the reference has no value (``sum``, ``cycle``, or a power it cannot take in Python floats)."""
    out = _np(fallback).copy()
    if not case.reference:
        return out
    for i, k in enumerate(ks):
        if k <= REF_HORIZON:
            try:
                out[i] = ref_value(case.doc, int(k))
            except OverflowError:
                pass
    return out


@settings(max_examples=25, **SETTINGS)
@given(case=cases(), rnd=st.lists(st.integers(0, 3 * 10**6), max_size=3))
def test_every_kind_on_every_path(case, rnd):
    spec = schedspec.load(case.doc)
    ks = steps(case, rnd)
    results = run_paths(spec, ks)
    check_case(case, ks, results, _reference(case, ks, results["evaluate/float64"][1]))
    _warm_ok(case, ks, results)


@settings(max_examples=100, **SETTINGS)
@given(case=cases(), rnd=st.lists(st.integers(0, 3 * 10**6), max_size=5))
def test_every_kind_on_the_python_math_paths(case, rnd):
    """More examples on the paths that cost no compilation: to_torch and the emitted torch module."""
    spec = schedspec.load(case.doc)
    ks = steps(case, rnd)
    results = run_paths(spec, ks, CHEAP)
    check_case(case, ks, results, _reference(case, ks, results["to_torch"][1]))
    _warm_ok(case, ks, results)


def _main(node) -> dict:
    """The generated phase inside a case's lr (after the warmup, inside the wrapper)."""
    node = node[-1] if isinstance(node, list) else node
    while node.get("kind") in ("scale", "clip", "product", "sum", "repeat"):
        of = node["of"]
        node = (
            next(p for p in of if p.get("kind") != "constant" or p is of[-1]) if isinstance(of, list) else of
        )
    return node


@settings(max_examples=20, **SETTINGS)
@given(case=cases(), rnd=st.lists(st.integers(0, 3 * 10**6), max_size=3))
def test_traced_start_and_end(case, rnd):
    """The same with the phase's start and end as vars: traced inputs on the JAX paths (the clamps and anchors
    then work on arrays, not on Python numbers)."""
    doc = json.loads(json.dumps(case.doc))
    phase = _main(doc["lr"])
    fields = [f for f in ("start", "end", "low", "high", "peak", "value") if isinstance(phase.get(f), float)]
    assume(fields)
    doc["vars"] = {}
    for f in fields:
        doc["vars"][f"v_{f}"] = phase[f]
        phase[f] = f"$v_{f}"
    spec = schedspec.load(doc)
    ks = steps(case, rnd)
    results = run_paths(spec, ks, ("evaluate/float32", "evaluate/float64", "to_jax/jit+vmap", "to_optax/jit",
                                   "to_keras", "to_torch"))  # fmt: skip
    traced = dataclasses.replace(case, doc=doc)
    if phase["kind"] == "onecycle":  # its init and final values are computed from a traced peak in float32
        traced = dataclasses.replace(traced, ranges=[], holds=[])
    check_case(traced, ks, results, _reference(case, ks, results["evaluate/float64"][1]))
    _warm_ok(case, ks, results)


# ===================================================================================================== framework kinds
lrs = st.sampled_from([0.0, 1e-6, 1e-3, 0.1, 1.0, 3.0])
fracs = st.sampled_from([0.0, 0.01, 0.1, 0.5, 1.0])
frame_durations = st.integers(1, 20) | st.integers(1, 10**6)


@st.composite
def framework_cases(draw) -> Case:
    """One framework kind with drawn parameters: never NaN or negative; where the framework holds a declared end,
    it is held exactly (``holds``), where it holds a computed one, it is held (``flat``)."""
    kind = draw(st.sampled_from([
        "torch.StepLR", "torch.MultiStepLR", "torch.ConstantLR", "torch.LinearLR", "torch.ExponentialLR",
        "torch.PolynomialLR", "torch.CosineAnnealingLR", "torch.CosineAnnealingWarmRestarts", "torch.CyclicLR",
        "torch.OneCycleLR", "keras.ExponentialDecay", "keras.PiecewiseConstantDecay", "keras.PolynomialDecay",
        "keras.InverseTimeDecay", "keras.CosineDecay", "keras.CosineDecayRestarts", "optax.linear_schedule",
        "optax.polynomial_schedule", "optax.exponential_decay", "optax.piecewise_interpolate_schedule",
        "optax.cosine_decay_schedule", "optax.warmup_cosine_decay_schedule", "optax.sgdr_schedule",
        "optax.cosine_onecycle_schedule", "optax.linear_onecycle_schedule",
    ]))  # fmt: skip
    lr, n = draw(lrs), draw(frame_durations)
    m: dict = {"kind": kind}
    holds, flat, marks = [], [], [n]
    if kind == "torch.StepLR":
        m |= {"lr": lr, "step_size": n, "gamma": draw(st.sampled_from([0.1, 0.5, 1.0]))}
    elif kind == "torch.MultiStepLR":
        m |= {"lr": lr, "milestones": sorted(draw(st.lists(st.integers(1, n + 1), min_size=1, max_size=3))),
              "gamma": draw(st.sampled_from([0.1, 0.5]))}  # fmt: skip
        marks += m["milestones"]
        flat.append(m["milestones"][-1])
    elif kind == "torch.ConstantLR":
        m |= {"lr": lr, "factor": draw(st.sampled_from([0.1, 0.5, 1.0])), "total_iters": n}
        holds.append((n, lr))
    elif kind == "torch.LinearLR":
        sf, ef = draw(st.sampled_from([0.01, 1 / 3, 1.0])), draw(st.sampled_from([0.0, 0.5, 1.0]))
        m |= {"lr": lr, "start_factor": sf, "end_factor": ef, "total_iters": n}
        holds.append((n, lr * ef))
    elif kind == "torch.ExponentialLR":
        m |= {"lr": lr, "gamma": draw(st.sampled_from([0.5, 0.9, 0.999]))}
    elif kind == "torch.PolynomialLR":
        m |= {"lr": lr, "total_iters": n, "power": draw(exponents)}
        holds.append((n, 0.0))
    elif kind == "torch.CosineAnnealingLR":  # rises again after T_max (torch's own shape)
        m |= {"lr": lr, "T_max": n, "eta_min": lr * draw(fracs)}
        marks += [2 * n]
    elif kind == "torch.CosineAnnealingWarmRestarts":
        m |= {"lr": lr, "T_0": n, "T_mult": draw(st.sampled_from([1, 2])), "eta_min": lr * draw(fracs)}
    elif kind == "torch.CyclicLR":
        m |= {"base_lr": lr * draw(fracs), "max_lr": lr, "step_size_up": n,
              "mode": draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
              "gamma": draw(st.sampled_from([0.99, 1.0]))}  # fmt: skip
    elif kind == "torch.OneCycleLR":
        N = max(n, 4)
        pct = draw(st.floats(1.0 / N + 1e-3, 0.95)) if 1.0 / N + 1e-3 < 0.95 else 0.5
        div, fdiv = draw(st.sampled_from([1.0, 25.0])), draw(st.sampled_from([1.0, 1e4]))
        m |= {"max_lr": lr, "total_steps": N, "pct_start": pct, "div_factor": div, "final_div_factor": fdiv,
              "anneal_strategy": draw(st.sampled_from(["cos", "linear"]))}  # fmt: skip
        holds.append((N - 1, lr / div / fdiv))
        marks += [N - 1, int(pct * N)]
    elif kind == "keras.ExponentialDecay":
        m |= {"initial_learning_rate": lr, "decay_steps": n, "decay_rate": draw(st.sampled_from([0.1, 0.96])),
              "staircase": draw(st.booleans())}  # fmt: skip
    elif kind == "keras.PiecewiseConstantDecay":
        bs = sorted(draw(st.sets(st.integers(1, n + 5), min_size=1, max_size=3)))
        vs = [draw(lrs) for _ in range(len(bs) + 1)]
        m |= {"boundaries": bs, "values": vs}
        holds.append((bs[-1] + 1, vs[-1]))
        marks += bs
    elif kind == "keras.PolynomialDecay":
        end = lr * draw(fracs)
        cycle = draw(st.booleans())
        m |= {"initial_learning_rate": lr, "decay_steps": n, "end_learning_rate": end, "power": draw(exponents),
              "cycle": cycle}  # fmt: skip
        if not cycle:
            holds.append((n, end))
        marks += [2 * n, 2 * n + 1]
    elif kind == "keras.InverseTimeDecay":
        m |= {"initial_learning_rate": lr, "decay_steps": n, "decay_rate": draw(st.sampled_from([0.5, 2.0])),
              "staircase": draw(st.booleans())}  # fmt: skip
    elif kind == "keras.CosineDecay":
        alpha = draw(fracs)
        m |= {"initial_learning_rate": lr, "decay_steps": n, "alpha": alpha}
        top, w = lr, 0
        if draw(st.booleans()):
            top, w = draw(lrs), draw(st.integers(0, 1000))
            m |= {"warmup_target": top, "warmup_steps": w}
        holds.append((w + n, top * alpha))
        marks += [w, w + n]
    elif kind == "keras.CosineDecayRestarts":
        m |= {"initial_learning_rate": lr, "first_decay_steps": n, "t_mul": draw(st.sampled_from([1.0, 2.0])),
              "m_mul": draw(st.sampled_from([0.5, 1.0])), "alpha": draw(fracs)}  # fmt: skip
    elif kind in ("optax.linear_schedule", "optax.polynomial_schedule"):
        end, begin = draw(lrs), draw(st.integers(0, 1000))
        m |= {"init_value": lr, "end_value": end, "transition_steps": n, "transition_begin": begin}
        if kind == "optax.polynomial_schedule":
            m["power"] = draw(exponents)
        holds.append((begin + n, end))
        marks += [begin, begin + n]
    elif kind == "optax.exponential_decay":
        rate = draw(st.sampled_from([0.5, 0.99, 1.5]))
        end = draw(lrs) if rate < 1 else max(lr, draw(lrs))
        m |= {"init_value": lr, "transition_steps": n, "decay_rate": rate, "staircase": draw(st.booleans())}
        if rate > 1 or draw(st.booleans()):  # growth needs its ceiling
            m["end_value"] = end
            x = (INT32_MAX // n) if m["staircase"] else INT32_MAX / n
            if rate < 1 and lr * rate**x < end * (1 - 1e-3) and end > 0:  # the floor is reached by 2**31 - 1
                holds.append((INT32_MAX, end))
            elif rate > 1 and lr > 0:
                holds.append((INT32_MAX, end))
    elif kind == "optax.piecewise_interpolate_schedule":
        bs = sorted(draw(st.sets(st.integers(0, n + 5), min_size=1, max_size=3)))
        m |= {"interpolate_type": draw(st.sampled_from(["linear", "cosine"])), "init_value": lr,
              "boundaries_and_scales": {str(b): draw(st.sampled_from([0.0, 0.1, 0.5, 2.0])) for b in bs}}  # fmt: skip
        flat.append(bs[-1])
        marks += bs
    elif kind == "optax.cosine_decay_schedule":
        alpha = draw(fracs)
        m |= {"init_value": lr, "decay_steps": n, "alpha": alpha, "exponent": draw(exponents)}
        holds.append((n, lr * alpha))
    elif kind == "optax.warmup_cosine_decay_schedule":
        w = draw(st.integers(0, n - 1)) if n > 1 else 0
        end = draw(lrs)
        m |= {"init_value": draw(lrs), "peak_value": lr, "warmup_steps": w, "decay_steps": n, "end_value": end,
              "exponent": draw(exponents)}  # fmt: skip
        holds.append((n, end if lr > 0 else 0.0))  # optax: alpha = end / peak, and 0 when the peak is 0
        marks += [w]
    elif kind == "optax.sgdr_schedule":
        cycles = [{"init_value": draw(lrs), "peak_value": lr, "warmup_steps": 0, "decay_steps": draw(frame_durations),
                   "end_value": draw(lrs)} for _ in range(draw(st.integers(1, 3)))]  # fmt: skip
        m |= {"cosine_kwargs": cycles}
        total = sum(c["decay_steps"] for c in cycles)
        holds.append((total, cycles[-1]["end_value"] if lr > 0 else 0.0))
        marks += [total, cycles[0]["decay_steps"]]
    else:  # optax one-cycles: values computed from the factors: held, not declared
        N = max(n, 10)
        m |= {"transition_steps": N, "peak_value": lr, "pct_start": draw(st.sampled_from([0.1, 0.3, 0.5])),
              "div_factor": draw(st.sampled_from([1.0, 25.0])), "final_div_factor": draw(st.sampled_from([1.0, 1e4]))}  # fmt: skip
        flat.append(N)
        marks += [N, int(m["pct_start"] * N)]
    return Case(doc={"schedspec": 1, "lr": m}, holds=holds, flat=flat, marks=marks, reference=False)


@settings(max_examples=15, **SETTINGS)
@given(case=framework_cases(), rnd=st.lists(st.integers(0, 3 * 10**6), max_size=2))
def test_framework_kinds_on_every_path(case, rnd):
    spec = schedspec.load(case.doc)
    ks = steps(case, rnd)
    results = run_paths(spec, ks)
    check_case(case, ks, results, results["evaluate/float64"][1])


@settings(max_examples=100, **SETTINGS)
@given(case=framework_cases(), rnd=st.lists(st.integers(0, 3 * 10**6), max_size=4))
def test_framework_kinds_on_the_python_math_paths(case, rnd):
    spec = schedspec.load(case.doc)
    ks = steps(case, rnd)
    results = run_paths(spec, ks, CHEAP)
    check_case(case, ks, results, results["to_torch"][1])


def test_torch_cosine_annealing_keeps_its_rise_after_t_max():
    """Framework behaviour is kept where it differs: torch's CosineAnnealingLR rises after T_max (period 2*T_max)
    and is back at its lr at 2*T_max; it never goes below eta_min, and it is eta_min at T_max."""
    spec = schedspec.load({"schedspec": 1, "lr": {"kind": "torch.CosineAnnealingLR", "lr": 0.1, "T_max": 10}})
    ks = np.array([0, 5, 9, 10, 11, 15, 20, 21, INT32_MAX])
    for name, (dtype, got) in run_paths(spec, ks).items():
        assert np.all(np.isfinite(got)) and np.all(got >= 0), name
        assert got[3] == 0.0 and got[4] > 0.0, (name, got)  # eta_min (0) at T_max, then up again
        assert got[6] == _as(0.1, dtype), (name, got)  # the lr again at 2 * T_max


# ===================================================================================================== plateau
REPORTS = 40  # one metric array length for every example (one compilation shape)


@settings(max_examples=10, **SETTINGS)
@given(
    start=positive,
    factor=st.sampled_from([0.1, 0.5, 0.9]),
    low=st.sampled_from([0.0, 1e-6]),
    patience=st.integers(0, 3),
    metrics=st.lists(st.floats(0, 2, allow_nan=False) | st.just(math.nan), max_size=REPORTS),
)
def test_plateau_is_never_nan_negative_or_below_its_floor(start, factor, low, patience, metrics):
    """A plateau with all its reports: finite, within [min, start] (min: its declared floor)."""
    low = min(low, start)
    doc = {"schedspec": 1, "lr": {"kind": "plateau", "start": start, "monitor": "loss", "factor": factor,
                                  "min": low, "patience": patience, "every": 1}}  # fmt: skip
    spec = schedspec.load(doc)
    metrics = metrics + [1.0] * (REPORTS - len(metrics))
    ks = np.arange(REPORTS)
    for dtype in ("float32", "float64"):
        got = _np(schedspec.evaluate(spec, ks, metrics={"loss": metrics}, dtype=dtype))
        assert np.all(np.isfinite(got)), (dtype, got)
        assert np.all(got >= _as(low, dtype)) and np.all(got <= _as(start, dtype)), (dtype, got)
    opt = _torch_optimizer()
    sched = schedspec.to_torch(spec, opt)
    for v in metrics[:-1]:
        opt.step()
        sched.step()
        sched.report("loss", v)
        lr = opt.param_groups[0]["lr"]
        assert math.isfinite(lr) and low <= lr <= start, lr


# ===================================================================================================== the float32 kernel
def test_cosine_weight_is_exact_at_zero_and_one_half_and_relatively_accurate():
    """The cosine weight sin(pi q / 2)**2 on [0, 1/2], on every backend (JaxXP's float32 kernel, fused and op by op;
    Python math; numpy; keras.ops): exactly 0 at q = 0 and exactly 1/2 at q = 1/2 (a cosine's midpoint is the mean
    of its ends), in [0, 1/2], and within 2e-7 (float32) or 1e-15 (float64) RELATIVE of the exact value, down to
    q = 1e-12."""
    import keras

    q = np.concatenate(
        [np.linspace(0, 0.5, 100_001, dtype=np.float32), np.geomspace(1e-12, 1e-2, 1000).astype(np.float32)]
    )
    exact = np.sin(np.pi * q.astype(np.float64) / 2) ** 2  # (float64 of the float32 q)
    xp = backends.JaxXP()
    assert xp.fast
    kx = backends.KerasXP()
    paths = {
        "jax float32 kernel, jit": (jax.jit(xp.cos_weight), 2e-7),
        "jax float32 kernel": (xp.cos_weight, 2e-7),
        "keras float32": (lambda v: keras.ops.convert_to_numpy(formulas.cos_weight(kx, kx.f(v))), 4e-7),
        "numpy": (lambda v: formulas.cos_weight(backends.NumpyXP(), v.astype(np.float64)), 1e-15),
        "python math": (lambda v: [formulas.cos_weight(backends.MathXP, float(x)) for x in v], 1e-15),
    }
    for name, (fn, rel) in paths.items():
        w = _np(fn(q))
        assert w[0] == 0.0 and w[100_000] == 0.5, name
        assert np.all((w >= 0) & (w <= 0.5)), name
        assert np.all(np.abs(w - exact) <= rel * exact), (
            name,
            float(np.max(np.abs(w - exact) / np.maximum(exact, 1e-300))),
        )


# ===================================================================================================== faults found in the field
SQRT_COSINE = {"kind": "cosine", "duration": 1000, "start": 1.0e-3, "end": 0.0, "exponent": 0.5}


def test_cosine_with_exponent_half_ends_at_exactly_zero_on_every_path():
    """Was [1.56e-06, nan, nan] at k = 999, 1000, 1001 on the float32 paths; right: 1e-3 * sin(pi / 2000) =
    1.5707957e-06 (as optax gives), then exactly 0.0 (and at 2**31 - 1)."""
    import optax

    spec = schedspec.load({"schedspec": 1, "lr": SQRT_COSINE})
    ks = np.array([0, 998, 999, 1000, 1001, INT32_MAX])
    at999 = 1e-3 * math.sin(math.pi / 2000)
    native = optax.cosine_decay_schedule(1e-3, 1000, alpha=0.0, exponent=0.5)
    with jax.enable_x64(True):  # optax in float64 (its float32 (1 + cos) / 2 cancels: 1.5728e-06 at 999)
        assert abs(float(native(999)) - at999) <= 1e-10 * at999 and float(native(1000)) == 0.0
    for name, (dtype, got) in run_paths(spec, ks).items():
        assert got[3:].tolist() == [0.0, 0.0, 0.0], (name, got)
        assert abs(got[2] - at999) <= TOL[dtype][1] * at999, (name, got[2], at999)
        assert got[0] == _as(1e-3, dtype) and np.all(np.diff(got) <= 0), (name, got)


def test_one_jitted_adamw_update_at_the_end_of_a_sqrt_cosine_keeps_the_parameters():
    """Was: the update at count 1000 (lr NaN) turned every parameter into NaN. Right: lr 0.0 from count 1000 on,
    so the updates at counts 1000 and 1001 change nothing (adamw's decoupled weight decay is scaled by lr too)."""
    import optax

    opt = optax.adamw(schedspec.to_optax({"schedspec": 1, "lr": SQRT_COSINE}))
    params = {"w": jnp.asarray([1.0, -2.0, 3.0])}

    @jax.jit
    def train(params):
        def step(carry, _):
            p, s = carry
            updates, s = opt.update(jax.tree_util.tree_map(jnp.ones_like, p), s, p)
            p = optax.apply_updates(p, updates)
            return (p, s), p["w"]

        return jax.lax.scan(step, (params, opt.init(params)), None, length=1002)[1]

    w = np.asarray(train(params))  # w[c] = the parameters after the update at count c
    assert np.all(np.isfinite(w))
    assert np.array_equal(w[1000], w[999]) and np.array_equal(w[1001], w[999])
    assert not np.array_equal(w[998], w[999])  # the update at 999 still moved them (lr 1.57e-6)


def test_torch_optimizer_applies_exactly_zero_from_the_end_of_a_sqrt_cosine():
    """The lr a real torch SGD applies at updates 999, 1000, 1001 (to_torch and the emitted module)."""
    spec = schedspec.load({"schedspec": 1, "lr": SQRT_COSINE})
    for build in (
        lambda o: schedspec.to_torch(spec, o),
        lambda o: _exec(schedspec.emit(spec, "torch"))["build_scheduler"](o),
    ):
        params = [torch.nn.Parameter(torch.zeros((), dtype=torch.float64))]
        opt = torch.optim.SGD(params, lr=1.0)
        sched = build(opt)
        applied = []
        for k in range(1002):
            if k >= 999:
                applied.append(sgd_update(opt, params)[0])
            else:
                opt.step()
            sched.step()
        assert applied[1:] == [0.0, 0.0], applied
        assert abs(applied[0] - 1e-3 * math.sin(math.pi / 2000)) <= 1e-12 * 1e-3


# durations whose float32 held end was -2.98e-11 (-5.96e-11 for 61) before the fix
NEGATIVE_BEFORE = [7, 13, 14, 15, 25, 61, 100]


def test_cosine_holds_exactly_zero_whatever_the_duration():
    """exponent 1, end 0: the held end was -2.98e-11 (a negative lr) for about 40% of durations in float32."""
    terms = [{"kind": "cosine", "duration": T, "start": 1.0e-3, "end": 0.0} for T in NEGATIVE_BEFORE]
    spec = schedspec.load({"schedspec": 1, "lr": {"kind": "sum", "of": terms}})
    ks = np.asarray(sorted({k for T in NEGATIVE_BEFORE for k in (T - 1, T, T + 1)} | {INT32_MAX}))
    for name, (_, got) in run_paths(spec, ks).items():
        assert np.all(got >= 0), (name, got)
        assert np.all(got[ks >= max(NEGATIVE_BEFORE)] == 0.0), (name, got)
    one = schedspec.load({"schedspec": 1, "lr": terms[0]})
    for name, (_, got) in run_paths(one, np.array([6, 7, 8, 1000])).items():
        assert got[1:].tolist() == [0.0, 0.0, 0.0] and got[0] > 0, (name, got)
    # the shared float32 formula, op by op, for every duration up to 500 (the fast 1/T path)
    xp = backends.JaxXP()
    for T in range(2, 501):
        v = np.asarray(formulas.cosine(xp, jnp.asarray([T - 1, T, T + 1]), T, 1e-3, 0.0, 1.0))
        assert v[0] > 0 and v[1] == 0.0 and v[2] == 0.0, (T, v)


def test_linear_decay_holds_exactly_zero():
    """{linear, duration 101, 1e-3 -> 0} held -1.19e-20 in float64 and 2.36e-11 in float32; right: 0.0."""
    spec = schedspec.load(
        {"schedspec": 1, "lr": {"kind": "linear", "duration": 101, "start": 1.0e-3, "end": 0.0}}
    )
    ks = np.array([0, 100, 101, 102, INT32_MAX])
    for name, (dtype, got) in run_paths(spec, ks).items():
        assert got[2:].tolist() == [0.0, 0.0, 0.0], (name, got)
        assert got[0] == _as(1e-3, dtype), (name, got)
        assert abs(got[1] - 1e-3 / 101) <= TOL[dtype][1] * 1e-3 / 101, (name, got)


def test_growth_to_a_ceiling_and_zero_times_growth_are_finite():
    """An exponential growing to its `end` ceiling raised OverflowError on the torch path at large k, and
    `start: 0` with a growing factor (exponential, step, repeat's decay) was 0 * inf = NaN; right: the ceiling,
    and 0."""
    docs = [
        ({"kind": "exponential", "start": 0.1, "gamma": 2.0, "end": 1.0}, 1.0),
        ({"kind": "exponential", "start": 0.0, "gamma": 2.0, "end": 1.0}, 0.0),
        ({"kind": "step", "start": 0.0, "every": 1, "gamma": 2.0, "duration": 2**30}, 0.0),
        (
            {
                "kind": "repeat",
                "decay": 2.0,
                "of": {"kind": "linear", "start": 0.0, "end": 0.0, "duration": 10},
            },
            0.0,
        ),
    ]
    ks = np.array([5000, INT32_MAX])
    for lr, want in docs:
        for name, (_, got) in run_paths(schedspec.load({"schedspec": 1, "lr": lr}), ks).items():
            assert got.tolist() == [want, want], (name, lr, got)


# ===================================================================================================== keras on torch
_KERAS_TORCH = r"""
import json, sys
import numpy as np
import keras
import schedspec
assert keras.backend.backend() == "torch"
out = {}
for name, lr in json.loads(sys.argv[1]).items():
    spec = schedspec.load({"schedspec": 1, "lr": lr})
    ks = np.asarray(json.loads(sys.argv[2]), dtype=np.int32)
    ns = {"__name__": "emitted_on_torch"}
    exec(compile(schedspec.emit(spec, "keras"), "<emitted>", "exec"), ns)
    out[name] = {
        "to_keras": [float(v) for v in keras.ops.convert_to_numpy(schedspec.to_keras(spec)(ks))],
        "emit/keras": [float(v) for v in keras.ops.convert_to_numpy(ns["build_schedule"]()(ks))],
    }
print("RESULT" + json.dumps(out))
"""


def test_keras_torch_backend_holds_exact_ends():
    """The Keras adapter and the emitted Keras module on the torch backend (KERAS_BACKEND=torch, a subprocess):
    the named faults hold exactly 0.0, the values are finite, >= 0 and within the float32 tolerance."""
    import subprocess
    import sys

    lrs = {
        "sqrt cosine": SQRT_COSINE,
        "cosine": {"kind": "cosine", "duration": 61, "start": 1.0e-3, "end": 0.0},
        "linear": {"kind": "linear", "duration": 101, "start": 1.0e-3, "end": 0.0},
        "onecycle": {"kind": "onecycle", "duration": 1000, "peak": 0.1, "anneal": "linear"},
        "piecewise": {
            "kind": "piecewise",
            "points": [[0, 0.1], [10, 0.0], [20, 3.0e-9]],
            "interpolate": "cosine",
        },
        "polynomial cycle": {"kind": "polynomial", "duration": 7, "start": 0.1, "power": 0.5, "cycle": True},
        "exponential": {"kind": "exponential", "start": 3.0, "gamma": 0.999},
    }
    ks = [0, 6, 7, 8, 10, 20, 21, 60, 61, 62, 100, 101, 102, 998, 999, 1000, 1001, 10**4, INT32_MAX]
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    proc = subprocess.run(
        [sys.executable, "-c", _KERAS_TORCH, json.dumps(lrs), json.dumps(ks)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][-1][len("RESULT") :])
    k = np.asarray(ks)
    for name, lr in lrs.items():
        ref = _np(schedspec.evaluate({"schedspec": 1, "lr": lr}, k, dtype="float64"))
        for path, got in out[name].items():
            got = _np(got)
            assert np.all(np.isfinite(got)) and np.all(got >= 0), (name, path, got)
            assert_close(got, ref, "float32", f"{name} {path}")
            if name in ("sqrt cosine", "linear", "cosine", "piecewise"):
                end = {"sqrt cosine": 1000, "linear": 101, "cosine": 61, "piecewise": 20}[name]
                assert np.all(got[k >= end] == _as(ref[-1], "float32")), (name, path, got)
