"""One formula set for every kind, written against an array namespace ``xp``.

The same functions run on Python scalars (:class:`MathXP`, the torch path), numpy (:class:`NumpyXP`, ``check``),
``jax.numpy`` (:class:`JaxXP`, ``evaluate``/``to_jax``/optax) and ``keras.ops`` (the Keras adapter). ``t`` is the
local time of a phase: a non-negative integer (or a float inside a stretched ``repeat``), and integer arithmetic
(``t // every``, ``t % period``, ``min(t, T)``) happens before any conversion to float, so values stay exact for
every ``t < 2**31`` even in float32. Each formula is pure arithmetic on its arguments.
"""

from __future__ import annotations

import math


# ------------------------------------------------------------------------------------------------ helpers
def is_const(x, value) -> bool:
    """True when ``x`` is a Python number equal to ``value`` (lets constant folding skip a pow or a multiply)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == value


def ratio(xp, t, T):
    """``min(t, T) / T`` as a float (a multiply by ``1/T`` on fast float32 backends when T is a constant)."""
    if getattr(xp, "fast", False) and isinstance(T, int):
        return xp.f(xp.minimum(t, T)) * (1.0 / T)
    return xp.f(xp.minimum(t, T)) / xp.f(T)


def half_cos(xp, p):
    """``(1 + cos(pi * p)) / 2`` for ``p`` in [0, 1] (the backend may supply a faster exact-to-float32 kernel)."""
    fast = getattr(xp, "half_cos", None)
    if fast is not None:
        return fast(p)
    return (1 + xp.cos(math.pi * p)) / 2


def steps_of(xp, t, every, staircase: bool):
    """``t / every``, or ``floor(t / every)`` (integer division) with staircase."""
    if staircase:
        return xp.f(xp.floordiv(t, every))
    return xp.f(t) / xp.f(every)


def pow_(xp, base, exponent):
    if is_const(exponent, 1):
        return base
    if is_const(exponent, 0):
        return base * 0 + 1
    return xp.power(base, exponent)


# ------------------------------------------------------------------------------------------------ phases
def constant(xp, t, value):
    """``value``."""
    return xp.full_like(t, value)


def linear(xp, t, T, start, end):
    """``start + (end - start) * min(t, T) / T``."""
    return start + (end - start) * ratio(xp, t, T)


def cosine(xp, t, T, start, end, exponent):
    """``end + (start - end) * ((1 + cos(pi * min(t, T) / T)) / 2) ** exponent``."""
    c = half_cos(xp, ratio(xp, t, T))
    return end + (start - end) * pow_(xp, c, exponent)


def polynomial(xp, t, T, start, end, power):
    """``(start - end) * (1 - min(t, T) / T) ** power + end``."""
    remaining = xp.f(T - xp.minimum(t, T)) / xp.f(T)  # integer subtraction first: exactly 0 at t >= T
    return (start - end) * pow_(xp, remaining, power) + end


def polynomial_cycle(xp, t, T, start, end, power):
    """Keras ``PolynomialDecay(cycle=True)``: ``polynomial`` with the decay length ``T' = T * max(1, ceil(t / T))``.

    ``t == T`` reaches ``end``; ``t == T + 1`` jumps back up into a decay of length ``2T``, then ``3T``, ...
    ``ceil(t / T)`` is ``-((-t) // T)``: integer arithmetic first, as everywhere.
    """
    stretched = T * xp.maximum(-xp.floordiv(-t, T), 1)
    remaining = xp.f(stretched - t) / xp.f(stretched)
    return (start - end) * pow_(xp, remaining, power) + end


def exponential(xp, t, start, gamma, every, staircase, end):
    """``start * gamma ** (t / every)`` (floored with staircase); ``end`` is a floor for gamma < 1, a ceiling above."""
    v = start * xp.power(gamma, steps_of(xp, t, every, staircase))
    if end is None:
        return v
    if isinstance(gamma, (int, float)):
        return xp.maximum(v, end) if gamma < 1 else (xp.minimum(v, end) if gamma > 1 else v)
    return xp.where(gamma < 1, xp.maximum(v, end), xp.where(gamma > 1, xp.minimum(v, end), v))


def step(xp, t, start, gamma, every):
    """``start * gamma ** floor(t / every)``."""
    return start * xp.power(gamma, xp.f(xp.floordiv(t, every)))


def multistep(xp, t, start, gamma, milestones):
    """``start * gamma ** #{m in milestones : m <= t}`` (a repeated milestone counts twice)."""
    return start * xp.power(gamma, xp.f(xp.count_le(milestones, t)))


def piecewise(xp, t, ats, values, interpolate):
    """Values at points ``ats`` (ascending, first 0); constant/linear/cosine in between; the last value held."""
    n = len(ats)
    if n == 1:
        return xp.full_like(t, values[0])
    i = xp.count_le(ats[1:], t)  # index of the segment t is in, 0..n-1
    if interpolate == "constant":
        return xp.take(values, i)
    seg = xp.minimum(i, n - 2)
    a0, a1 = xp.take(ats, seg), xp.take(ats, seg + 1)
    v0, v1 = xp.take(values, seg), xp.take(values, seg + 1)
    p = xp.minimum(xp.f(t - a0) / xp.f(a1 - a0), 1.0)
    if interpolate == "linear":
        return v0 + (v1 - v0) * p
    return v1 + (v0 - v1) * half_cos(xp, p)


def inverse_time(xp, t, start, rate, every, staircase):
    """``start / (1 + rate * t / every)`` (floored with staircase)."""
    return start / (1 + rate * steps_of(xp, t, every, staircase))


def inverse_sqrt(xp, t, start, timescale):
    """``start * sqrt(timescale / max(t, timescale))``."""
    return start * xp.sqrt(xp.f(timescale) / xp.f(xp.maximum(t, timescale)))


def cyclic(xp, t, low, high, up, down, mode, gamma):
    """torch ``CyclicLR``: ``low + (high - low) * h * scale`` with h the triangle wave (integer phase first)."""
    period = up + down
    m = xp.mod(t, period)
    h = xp.where(m <= up, xp.f(m) / xp.f(up), xp.f(period - m) / xp.f(down))
    if mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = 1 / xp.power(2.0, xp.f(xp.floordiv(t, period)))
    else:  # exp_range: gamma ** t (torch scale_mode "iterations")
        scale = xp.power(gamma, xp.f(t))
    return low + (high - low) * h * scale


def _anneal(xp, anneal, a, b, p):
    if anneal == "cos":
        return b + (a - b) * half_cos(xp, p)
    return (b - a) * p + a


def onecycle(xp, t, N, peak, pct_start, div_factor, final_div_factor, anneal, three_phase):
    """torch ``OneCycleLR`` exactly: init -> peak at pct*N - 1 -> min at N - 1 (three_phase: via init), then held."""
    init = peak / div_factor
    low = init / final_div_factor
    tf = xp.f(xp.minimum(t, N - 1))
    e1 = pct_start * N - 1.0
    if three_phase:
        ends, values = (e1, 2 * pct_start * N - 2.0, N - 1.0), (init, peak, init, low)
    else:
        ends, values = (e1, N - 1.0), (init, peak, low)
    out = None
    for i in range(len(ends) - 1, -1, -1):  # the last phase catches everything beyond its end
        s = ends[i - 1] if i > 0 else 0.0
        v = _anneal(xp, anneal, values[i], values[i + 1], (tf - s) / (ends[i] - s))
        out = v if out is None else xp.where(tf <= ends[i], v, out)
    return out


# ------------------------------------------------------------------------------------------------ plateau
def plateau_better(xp, metric, best, mode, threshold, threshold_mode):
    """torch ``ReduceLROnPlateau._is_better``, written the same way (so float64 decisions are identical).

    min/rel: ``metric < best * (1 - threshold)``; min/abs: ``metric < best - threshold``;
    max/rel: ``metric > best * (threshold + 1)``; max/abs: ``metric > best + threshold``. A NaN metric is never
    better (it counts as a bad report).
    """
    if mode == "min":
        if threshold_mode == "rel":
            return metric < best * (1.0 - threshold)
        return metric < best - threshold
    if threshold_mode == "rel":
        return metric > best * (threshold + 1.0)
    return metric > best + threshold


def plateau_update(xp, state, metric, mode, factor, patience, threshold, threshold_mode, cooldown, low, eps):
    """One metric report: torch ``ReduceLROnPlateau.step(metric)`` on the state ``(lr, best, bad, cooldown)``.

    1. better: ``best = metric``, ``bad = 0``; otherwise ``bad += 1``.
    2. in cooldown (``cooldown > 0``): ``cooldown -= 1``, ``bad = 0``.
    3. ``bad > patience``: ``new = max(lr * factor, low)`` replaces ``lr`` only if ``lr - new > eps``; then
       ``cooldown = <cooldown>`` and ``bad = 0``.

    The counters are floats (exact below 2**24), so one state type serves every backend.
    """
    lr, best, bad, cool = state
    better = plateau_better(xp, metric, best, mode, threshold, threshold_mode)
    best = xp.where(better, metric, best)
    bad = xp.where(better, 0.0, bad + 1.0)
    in_cooldown = cool > 0
    cool = xp.where(in_cooldown, cool - 1.0, cool)
    bad = xp.where(in_cooldown, 0.0, bad)
    reduce = bad > patience
    new = xp.maximum(lr * factor, low)
    lr = xp.where(reduce & (lr - new > eps), new, lr)
    cool = xp.where(reduce, float(cooldown), cool)
    bad = xp.where(reduce, 0.0, bad)
    return lr, best, bad, cool


def plateau_init(xp, start, mode):
    """The state before any report: ``(start, +inf for min / -inf for max, 0, 0)`` (torch's ``mode_worse``)."""
    worst = math.inf if mode == "min" else -math.inf
    return xp.f(start), xp.f(worst), xp.f(0.0), xp.f(0.0)


def plateau_trajectory(xp, reports, first, stop, start, mode, factor, patience, threshold, threshold_mode, cooldown,
                       low, eps):  # fmt: skip
    """The value after each report: ``out[0] = start``, ``out[j + 1]`` = the value after reports ``0..j``.

    Report ``j`` (the ``j``-th of the whole schedule) is consumed only when ``first <= j < stop`` (``stop`` None:
    no end); the others leave the state unchanged. One ``xp.scan`` over the reports (``jax.lax.scan`` on JAX, a
    Python loop on the scalar and numpy backends).
    """
    init = plateau_init(xp, start, mode)

    def body(state, x):
        j, metric = x
        new = plateau_update(xp, state, xp.f(metric), mode, factor, patience, threshold, threshold_mode, cooldown,
                             low, eps)  # fmt: skip
        active = j >= first
        if stop is not None:
            active = active & (j < stop)
        state = tuple(xp.where(active, a, b) for a, b in zip(new, state, strict=True))
        return state, state[0]

    return xp.prepend(init[0], xp.scan(body, init, (xp.arange(len(reports)), reports)))


def plateau_needed(k, origin, every, stop):
    """How many reports (from report 0) the value at global step ``k`` of a plateau that begins at ``origin`` needs.

    Host-side bookkeeping on Python ints (what an online adapter checks before an update): none before the plateau
    begins or while it still holds its start (``k // every <= origin // every``), else ``k // every`` (report ``j``
    is made at the end of steps ``[j * every, (j + 1) * every)``), at most ``stop`` (None: the plateau never ends).
    """
    if k < origin:
        return 0
    i = k // every
    if stop is not None:
        i = min(i, stop)
    return i if i > origin // every else 0


def plateau(xp, t, origin, every, traj, count, first):
    """The value at local time ``t`` of a plateau phase that begins at global step ``origin``.

    ``i = (origin + t) // every`` reports are complete before global step ``origin + t`` (report ``j`` is made at
    the end of steps ``[j * every, (j + 1) * every)``), so the value is ``traj[i]``. With only ``count`` reports
    known, a value that needs more (``i > count`` and ``i > first``) is NaN: unknown, never a guess.
    """
    i = xp.floordiv(origin + t, every)
    v = xp.index(traj, xp.minimum(i, len(traj) - 1))
    missing = (i > first) & (i > count)
    return xp.where(missing, math.nan, v)


# ------------------------------------------------------------------------------------------------ backends
class MathXP:
    """Python scalars (float64): the torch path and constant folding. ``t`` is a Python int or float."""

    scalar = True
    f = staticmethod(float)
    minimum = staticmethod(min)
    maximum = staticmethod(max)
    cos = staticmethod(math.cos)
    sqrt = staticmethod(math.sqrt)

    @staticmethod
    def where(c, a, b):
        return a if c else b

    @staticmethod
    def floordiv(a, b):
        return a // b

    @staticmethod
    def mod(a, b):
        return a % b

    @staticmethod
    def power(a, b):
        return float(a) ** float(b)

    @staticmethod
    def full_like(t, v):
        return float(v)

    @staticmethod
    def take(values, i):
        return values[int(i)]

    @staticmethod
    def count_le(thresholds, t):
        return sum(1 for x in thresholds if x <= t)

    @staticmethod
    def out(v, t):
        return float(v)

    @staticmethod
    def scan(f, init, xs):
        """``jax.lax.scan`` as a Python loop: the stacked outputs (a list)."""
        carry, ys = init, []
        for x in zip(*xs, strict=True):
            carry, y = f(carry, x)
            ys.append(y)
        return ys

    @staticmethod
    def arange(n):
        return range(n)

    @staticmethod
    def prepend(x, ys):
        return [x, *ys]

    @staticmethod
    def index(values, i):
        return values[int(i)]


class NumpyXP:
    """numpy float64 arrays (``check``, the numpy reference path)."""

    scalar = False

    def __init__(self):
        import numpy as np

        self.np = np
        self.minimum, self.maximum, self.where = np.minimum, np.maximum, np.where
        self.floordiv, self.mod, self.cos, self.sqrt, self.power = np.floor_divide, np.mod, np.cos, np.sqrt, np.power

    def f(self, x):
        return self.np.asarray(x, dtype=self.np.float64)

    def full_like(self, t, v):
        return self.np.broadcast_to(self.np.asarray(v, dtype=self.np.float64), self.np.shape(t))

    def take(self, values, i):
        return self.np.stack([self.np.asarray(v) for v in values])[i]

    def count_le(self, thresholds, t):
        arr = self.np.stack([self.np.asarray(x) for x in thresholds])
        return self.np.searchsorted(arr, t, side="right")

    def out(self, v, t):
        return self.np.broadcast_to(self.f(v), self.np.shape(t))

    scan = staticmethod(MathXP.scan)

    def arange(self, n):
        return self.np.arange(n)

    def prepend(self, x, ys):
        return self.np.asarray([x, *ys], dtype=self.np.float64)

    def index(self, values, i):
        return self.np.asarray(values, dtype=self.np.float64)[i]


class JaxXP:
    """``jax.numpy`` in the ambient float dtype (float32, or float64 under x64)."""

    scalar = False

    def __init__(self):
        import jax.numpy as jnp

        self.jnp = jnp
        self.dtype = jnp.zeros(()).dtype  # float32, or float64 when x64 is on
        self.fast = self.dtype == jnp.float32
        if not self.fast:  # float64: exact cos (the polynomial is float32-accurate only)
            self.half_cos = None
        self.minimum, self.maximum, self.where = jnp.minimum, jnp.maximum, jnp.where
        self.floordiv, self.mod, self.cos, self.sqrt, self.power = (
            jnp.floor_divide, jnp.mod, jnp.cos, jnp.sqrt, jnp.power,
        )  # fmt: skip

    def f(self, x):
        return self.jnp.asarray(x).astype(self.dtype)

    def full_like(self, t, v):
        return self.jnp.broadcast_to(self.jnp.asarray(v, dtype=self.dtype), self.jnp.shape(t))

    def take(self, values, i):
        return self.jnp.stack([self.jnp.asarray(v) for v in values])[i]

    def count_le(self, thresholds, t):
        jnp = self.jnp
        if len(thresholds) <= 16:
            out = (t >= thresholds[0]).astype(jnp.int32)
            for x in thresholds[1:]:
                out = out + (t >= x).astype(jnp.int32)
            return out
        arr = jnp.stack([jnp.asarray(x) for x in thresholds])
        return jnp.searchsorted(arr, t, side="right", method="scan")

    def out(self, v, t):
        return self.jnp.broadcast_to(self.f(v), self.jnp.shape(t))

    def scan(self, f, init, xs):
        """``jax.lax.scan(f, init, xs)``: the stacked outputs."""
        from jax import lax

        return lax.scan(f, init, xs)[1]

    def arange(self, n):
        return self.jnp.arange(n)

    def prepend(self, x, ys):
        return self.jnp.concatenate([self.jnp.reshape(self.f(x), (1,)), self.f(ys)])

    def index(self, values, i):
        return self.jnp.asarray(values)[i]

    def half_cos(self, p):
        """``(1 + cos(pi p)) / 2`` for p in [0, 1] in float32: an odd polynomial in ``u = p - 1/2``.

        ``(1 + cos(pi p)) / 2 = (1 - sin(pi u)) / 2`` and ``sin(pi u) = u * P(u**2)`` for |u| <= 1/2, with ``P`` a
        degree-5 least-squares fit on Chebyshev nodes. Max error 1e-7 in float32 (XLA's generic cos: 1.4e-7),
        2.5x faster than ``jnp.cos`` on CPU (no range reduction).
        """
        u = p - 0.5
        s = u * u
        acc = _SIN_PI_COEFS[-1]
        for c in _SIN_PI_COEFS[-2::-1]:
            acc = acc * s + c
        return (1 - u * acc) * 0.5


# sin(pi u) / u = sum c_i u**(2i) on [0, 1/2], fitted in float64 (see JaxXP.half_cos)
_SIN_PI_COEFS = (
    3.141592653566714, -5.167712768134852, 2.5501634107772575, -0.599253115310792, 0.08205429120725553,
    -0.007034281361129008,
)  # fmt: skip


class KerasXP:
    """``keras.ops`` (any Keras 3 backend: jax, torch, tensorflow), float32 by default: the Keras adapter.

    ``t`` is an int32 tensor (the optimizer's step, cast to int32 before anything else), so ``t - begin``,
    ``t // every`` and ``t % period`` are exact integer operations; floats appear only after them.
    """

    scalar = False

    def __init__(self, dtype: str = "float32"):
        from keras import ops

        self.ops = ops
        self.dtype = dtype
        self.minimum, self.maximum, self.where = ops.minimum, ops.maximum, ops.where
        self.floordiv, self.mod, self.cos, self.sqrt = ops.floor_divide, ops.mod, ops.cos, ops.sqrt

    def f(self, x):
        """``x`` as a float tensor (after the integer arithmetic)."""
        return self.ops.cast(x, self.dtype)

    def power(self, a, b):
        """``a ** b`` in the float dtype (a Python base such as ``gamma`` stays a float, never an int power)."""
        ops = self.ops
        if isinstance(a, (int, float)) and not isinstance(a, bool):
            a = ops.convert_to_tensor(float(a), dtype=self.dtype)
        if isinstance(b, (int, float)) and not isinstance(b, bool):
            b = ops.convert_to_tensor(float(b), dtype=self.dtype)
        return ops.power(ops.cast(a, self.dtype), ops.cast(b, self.dtype))

    def full_like(self, t, v):
        return self.ops.broadcast_to(self.ops.cast(v, self.dtype), self.ops.shape(t))

    def take(self, values, i):
        """``values[i]``: Python ints stay int32 (step offsets), anything else becomes the float dtype."""
        ops = self.ops
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            table = ops.convert_to_tensor(list(values), dtype="int32")
        else:
            table = ops.stack([ops.cast(v, self.dtype) for v in values])
        return ops.take(table, i)

    def count_le(self, thresholds, t):
        """``#{x in thresholds : x <= t}`` as int32 (a repeated threshold counts twice)."""
        ops = self.ops
        out = ops.cast(ops.greater_equal(t, thresholds[0]), "int32")
        for x in thresholds[1:]:
            out = out + ops.cast(ops.greater_equal(t, x), "int32")
        return out

    def out(self, v, t):
        return self.full_like(t, v)

    def scan(self, f, init, xs):
        """``keras.ops.scan(f, init, xs)``: the stacked outputs."""
        return self.ops.scan(f, init, xs)[1]

    def arange(self, n):
        return self.ops.arange(n)

    def prepend(self, x, ys):
        ops = self.ops
        return ops.concatenate([ops.reshape(ops.cast(x, self.dtype), (1,)), ops.cast(ys, self.dtype)])

    def index(self, values, i):
        return self.ops.take(values, i)
