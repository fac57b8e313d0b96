"""One formula set for every kind, written against an array namespace ``xp``.

The same functions run on the array namespaces of :mod:`schedspec.backends`: Python scalars (``MathXP``, the torch
path), numpy (``NumpyXP``, ``check``), ``jax.numpy`` (``JaxXP``, ``evaluate``/``to_jax``/optax) and ``keras.ops``
(``KerasXP``, the Keras adapter). ``t`` is the local time of a phase: a non-negative integer (or a float inside a stretched ``repeat``), and integer arithmetic
(``t // every``, ``t % period``, ``min(t, T)``) happens before any conversion to float, so values stay exact for
every ``t < 2**31`` even in float32. Each formula is pure arithmetic on its arguments.
"""

from __future__ import annotations

import math


# ------------------------------------------------------------------------------------------------ helpers
def is_const(x, value) -> bool:
    """True when ``x`` is a Python number equal to ``value`` (lets constant folding skip a pow or a multiply)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == value


def _is_num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def halves(xp, t, T):
    """``(first, q)`` at local time ``t`` of a phase of length ``T``: whether ``t`` is in its first half
    (``min(t, T) < T - min(t, T)``), and ``q``, the fraction of the phase between ``t`` and the NEARER end,
    ``min(min(t, T), T - min(t, T)) / T`` in [0, 1/2].

    Both come from integers (or from the exact float ``t`` of a stretched ``repeat``) before any rounding: ``q`` is
    exactly 0 at ``t = 0`` and for every ``t >= T``, and accurate to the last bit relative to itself (``1 - p``
    would lose the remaining fraction's precision near the end, where it matters). On array backends ``q`` is a
    product with ``1/T``: XLA may itself turn a division by a broadcast ``T`` into that product in one
    compilation and not in another (one device vs a sharded sweep), which would differ in the last bit.
    """
    m = xp.minimum(t, T)
    n = T - m
    first, qn = m < n, xp.minimum(m, n)
    if getattr(xp, "divide", False):  # Python floats, numpy: correctly rounded divisions, and no compiler
        return first, xp.f(qn) / xp.f(T)
    inv = 1.0 / T if isinstance(T, int) else 1 / xp.f(T)
    return first, xp.f(qn) * inv


def cos_weight(xp, q):
    """``sin(pi * q / 2) ** 2 = (1 - cos(pi * q)) / 2`` for ``q`` in [0, 1/2]: the cosine anneal's weight of the
    far end at a fraction ``q`` from the near end; exactly 0 at ``q = 0``, with full relative precision near it
    (``(1 + cos(pi * p)) / 2`` cancels to rounding noise there, which can be negative). The backend may supply a
    faster kernel with the same guarantees (:meth:`JaxXP.cos_weight`). Exactly 1/2 at ``q = 1/2``: a cosine's
    midpoint is the mean of its ends.
    """
    fast = getattr(xp, "cos_weight", None)
    if fast is not None:
        return fast(q)
    s = xp.sin((math.pi / 2) * q)
    # from q = 1/4 on, (1 - sin(pi (1/2 - q))) / 2 (1/2 - q is exact there) has no cancellation and is exactly 1/2 at
    # q = 1/2 (neither sin(pi / 4)**2 nor (1 - cos(pi / 2)) / 2 is, pi being rounded)
    return xp.where(q < 0.25, s * s, (1 - xp.sin(math.pi * (0.5 - q))) / 2)


def interpolate(xp, start, end, first, q, weight=None):
    """From ``start`` to ``end``, linear (``weight`` None) or cosine (``weight`` = :func:`cos_weight`), computed from
    the NEARER end (:func:`halves`): ``start + (end - start) * w(q)`` in the ``first`` half, else
    ``end - (end - start) * w(q)``.

    Both ends are therefore exact (``w(0) = 0``: ``start`` at ``t = 0``, ``end`` from ``t = T`` on), every value
    has the relative precision of its own magnitude (no cancellation: a warmup from 1e-8 to 1e-3 is 1e-8 at its
    start, a decay to 0 is tiny, not rounding noise, near its end), and since ``w <= w(1/2) = 1/2`` the rounding
    can move a value neither past the near end (it moves toward the far one) nor to the far end: no clamp is
    needed to stay in ``[min(start, end), max(start, end)]``.
    """
    w = q if weight is None else weight(xp, q)
    dw = (end - start) * w
    return xp.where(first, start + dw, end - dw)


def interpolate_pow(xp, start, end, first, a, exponent):
    """``end + (start - end) * W ** exponent``, where ``W`` (the weight of ``start``) is ``1 - a`` in the ``first``
    half of the phase and ``a`` in the second, ``a`` being the far end's weight at the fraction ``q`` from the nearer
    end (``q``, or ``cos_weight(q)``): a polynomial ``power`` or a cosine ``exponent`` other than 1.

    From the nearer end as :func:`interpolate`: ``start + (end - start) * (1 - (1 - a) ** e)`` with
    ``1 - (1 - a) ** e = -expm1(e * log1p(-a))`` in the first half, ``end - (end - start) * a ** e`` in the second.
    Both ends are exact (``a = 0``), every value keeps its relative precision (a fractional power of rounding
    noise near ``end`` was NaN), and the value is clamped to ``[min(start, end), max(start, end)]`` (a large
    exponent brings the first-half value close to ``end``, where rounding could pass it).
    """
    d = end - start
    near_start = start + d * -xp.expm1(exponent * xp.log1p(-a))
    near_end = end - d * xp.power(a, exponent)
    return clamp(xp, xp.where(first, near_start, near_end), start, end)


def clamp(xp, v, start, end):
    """``v`` kept in ``[min(start, end), max(start, end)]`` (one ``min`` and one ``max``; Python-number ends are
    ordered here)."""
    if _is_num(start) and _is_num(end):
        lo, hi = min(start, end), max(start, end)
        return xp.minimum(xp.maximum(v, lo), hi)
    return xp.minimum(xp.maximum(v, xp.minimum(start, end)), xp.maximum(start, end))


def between(xp, start, end, w):
    """``end + (start - end) * w`` for a weight ``w`` in [0, 1], kept in ``[min(start, end), max(start, end)]``
    (cyclic waves: anchored on ``low``, whose side they never cross; the clamp keeps ``high`` too).

    ``w = 0`` gives ``end`` exactly, and rounding cannot cross ``end`` (a sum of ``end`` and a product of the sign
    of ``start - end``); near ``w = 1`` the rounding of ``start - end`` can land the sum up to half an ulp of
    ``max(start, end)`` past ``start``, hence the clamp (one ``min`` or ``max`` when both ends are numbers).
    """
    v = end + (start - end) * w
    if _is_num(start) and _is_num(end):
        return xp.minimum(v, start) if start >= end else xp.maximum(v, start)
    return clamp(xp, v, start, end)


def steps_of(xp, t, every, staircase: bool):
    """``t / every``, or ``floor(t / every)`` (integer division) with staircase."""
    if staircase:
        return xp.f(xp.floordiv(t, every))
    return xp.f(t) / xp.f(every)


def scaled(xp, v, base, x):
    """``v * base ** x`` (x >= 0), and 0 where ``v`` is 0 even once ``base ** x`` overflows to inf (``0 * inf`` is
    NaN): ``start: 0`` with a growing ``gamma`` stays 0, as in torch. A ``base <= 1`` given as a number cannot
    overflow (one multiply)."""
    p = xp.power(base, x)
    if _is_num(base) and base <= 1:
        return v * p
    if _is_num(v):
        return v * p if v != 0 else xp.full_like(x, 0.0)
    return xp.where(v == 0, v * 0.0, v * p)


# a table longer than this is one constant array searched by bisection; up to it, unrolled comparisons (fastest)
SMALL_TABLE = 16


def number_table(np, items):
    """``items`` (Python numbers, or numpy scalars) as one numpy array: int64 when all are ints, else float64."""
    if all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        return np.asarray(items, dtype=np.int64)
    return np.asarray(items, dtype=np.float64)


# the longest direct table (one int32 count per integer time up to the last threshold) :func:`direct_table` builds
DIRECT_MAX = 1 << 21


def direct_table(thresholds, integer: bool, wide: bool = False):
    """``(table, last)`` with ``table[u] = #{x in thresholds : x <= u}`` for every integer ``u`` in ``[0, last]``
    (``last`` the largest threshold; ``table[last]`` counts them all), so that ``count_le`` at an integer time
    ``t >= 0`` is ``table[min(t, last)]``: one gather instead of a binary search (a loop that XLA cannot fuse).
    None when the thresholds are not all non-negative ints known now, when the time is not ``integer`` (a
    stretched repeat's float time), or when the table would be longer than :data:`DIRECT_MAX` entries or 64 per
    threshold (sparse thresholds: the binary search is cheaper)."""
    import numpy as np

    if not integer:
        return None
    if isinstance(thresholds, np.ndarray):
        if thresholds.dtype.kind not in "iu":
            return None
        arr = thresholds
    elif all(isinstance(x, int) and not isinstance(x, bool) for x in thresholds):
        arr = np.asarray(thresholds, dtype=np.int64)
    else:
        return None
    if arr.size == 0 or arr[0] < 0:
        return None
    last = int(arr[-1])
    if last + 1 > min(DIRECT_MAX, max(64 * arr.size, 4096)):
        return None
    table = np.searchsorted(arr, np.arange(last + 1), side="right")
    return table.astype(np.int64 if wide else np.int32), last


def float32_of(x: float) -> float:
    """The float32 nearest to ``x`` (ties to even), in Python arithmetic; ``x`` itself outside float32's normal
    range (where no correction is attempted)."""
    m, e = math.frexp(x)
    if not (-125 <= e <= 128):
        return x
    return math.ldexp(round(m * 2**24) / 2**24, e)


def corrected_power(power, exp, a, b):
    """``a ** b`` in float32 with ``power``/``exp`` of the backend. A Python-number base ``a > 0`` that float32
    rounds to ``a32 != a`` is computed as ``a32 ** b * exp(b * log(a / a32))``: the rounding of ``a`` (up to 6e-8
    relative) would otherwise be raised to the power ``b`` (``0.999 ** 1000`` off by 1.3e-5 relative, past the
    float32 tolerance; ``0.9999 ** 10000`` by 3e-4). The correction factor is 1 to the last bit for small ``b``."""
    if _is_num(a) and a > 0:
        a32 = float32_of(float(a))
        if a32 != a:
            return power(a32, b) * exp(b * math.log(a / a32))
    return power(a, b)


# ------------------------------------------------------------------------------------------------ phases
def constant(xp, t, value):
    """``value``."""
    return xp.full_like(t, value)


def linear(xp, t, T, start, end):
    """``start + (end - start) * min(t, T) / T``, from the nearer end (:func:`interpolate`): exactly ``start`` at
    ``t = 0`` and ``end`` from ``t = T`` on, never outside ``[start, end]``."""
    return interpolate(xp, start, end, *halves(xp, t, T))


def cosine(xp, t, T, start, end, exponent):
    """``end + (start - end) * ((1 + cos(pi * min(t, T) / T)) / 2) ** exponent`` (optax ``cosine_decay_schedule``).

    ``exponent`` 1: from the nearer end (:func:`interpolate` with :func:`cos_weight`); otherwise
    :func:`interpolate_pow` with ``a = cos_weight(min(p, r))``. Either way exactly ``start`` at ``t = 0`` and ``end``
    from ``t = T`` on, never outside ``[start, end]``, with relative precision near both ends for every exponent.
    """
    first, q = halves(xp, t, T)
    if is_const(exponent, 1):
        return interpolate(xp, start, end, first, q, cos_weight)
    return interpolate_pow(xp, start, end, first, cos_weight(xp, q), exponent)


def polynomial(xp, t, T, start, end, power):
    """``(start - end) * (1 - min(t, T) / T) ** power + end`` (optax ``polynomial_schedule``): :func:`interpolate`
    (``power`` 1) or :func:`interpolate_pow` with ``a = min(p, r)``: exactly ``start`` at ``t = 0`` and ``end`` from
    ``t = T`` on, never outside ``[start, end]``."""
    first, q = halves(xp, t, T)
    if is_const(power, 1):
        return interpolate(xp, start, end, first, q)
    return interpolate_pow(xp, start, end, first, q, power)


def polynomial_cycle(xp, t, T, start, end, power):
    """Keras ``PolynomialDecay(cycle=True)``: ``polynomial`` with the decay length ``T' = T * max(1, ceil(t / T))``.

    ``t == T`` reaches ``end``; ``t == T + 1`` jumps back up into a decay of length ``2T``, then ``3T``, ...
    ``c = ceil(t / T)`` is ``-((-t) // T)`` and the steps left, ``T' - t = T - (t - (c - 1) * T)``, are computed on
    integers that never exceed ``t`` (``T'`` itself overflows int32 near ``t = 2**31``); ``T'`` is a float.
    """
    c = xp.maximum(-xp.floordiv(-t, T), 1)
    left = T - (t - (c - 1) * T)  # exactly 0 at t = c * T
    q = xp.f(xp.minimum(t, left)) / (xp.f(c) * T)
    return interpolate_pow(xp, start, end, t < left, q, power)


def exponential(xp, t, start, gamma, every, staircase, end):
    """``start * gamma ** (t / every)`` (floored with staircase); ``end`` is a floor for gamma < 1, a ceiling above."""
    v = scaled(xp, start, gamma, steps_of(xp, t, every, staircase))
    if end is None:
        return v
    if isinstance(gamma, (int, float)):
        return xp.maximum(v, end) if gamma < 1 else (xp.minimum(v, end) if gamma > 1 else v)
    return xp.where(gamma < 1, xp.maximum(v, end), xp.where(gamma > 1, xp.minimum(v, end), v))


def step(xp, t, start, gamma, every):
    """``start * gamma ** floor(t / every)``."""
    return scaled(xp, start, gamma, xp.f(xp.floordiv(t, every)))


def multistep(xp, t, start, gamma, milestones):
    """``start * gamma ** #{m in milestones : m <= t}`` (a repeated milestone counts twice)."""
    return scaled(xp, start, gamma, xp.f(xp.count_le(milestones, t)))


def piecewise(xp, t, ats, values, shape):
    """Values at points ``ats`` (ascending, first 0); ``shape`` constant/linear/cosine in between; the last value held.

    Between ``a0`` and ``a1``: :func:`interpolate` from ``v0`` to ``v1`` with the fractions of the segment taken
    from integers first, so each point's value is exact and the last one is held exactly.
    """
    n = len(ats)
    if n == 1:
        return xp.full_like(t, values[0])
    i = xp.count_le(ats, t) - 1  # index of the segment t is in, 0..n-1 (ats[0] = 0 <= t; no O(n) slice)
    if shape == "constant":
        return xp.take(values, i)
    seg = xp.minimum(i, n - 2)
    a0, a1 = xp.take(ats, seg), xp.take(ats, seg + 1)
    v0, v1 = xp.take(values, seg), xp.take(values, seg + 1)
    first, q = halves(xp, t - a0, a1 - a0)  # a0 <= t (or t >= a1 in the last segment)
    return interpolate(xp, v0, v1, first, q, None if shape == "linear" else cos_weight)


def inverse_time(xp, t, start, rate, every, staircase):
    """``start / (1 + rate * t / every)`` (floored with staircase)."""
    return start / (1 + rate * steps_of(xp, t, every, staircase))


def inverse_sqrt(xp, t, start, timescale):
    """``start * sqrt(timescale / max(t, timescale))``."""
    return start * xp.sqrt(xp.f(timescale) / xp.f(xp.maximum(t, timescale)))


def inverse_sqrt_shifted(xp, t, start, timescale, shift):
    """``start * sqrt(timescale / max(t + shift, timescale))``: ``inverse_sqrt`` with its clock moved ``shift``
    units ahead. With ``shift = timescale`` it is ``sqrt(timescale / (t + timescale))`` (HF
    ``get_inverse_sqrt_schedule`` after its warmup, fairseq ``inverse_sqrt``). ``t + shift`` is summed in floats
    (two int32 counts may overflow int32), never above ``start``."""
    ts = xp.f(timescale)
    return start * xp.sqrt(ts / xp.maximum(xp.f(t) + xp.f(shift), ts))


def warped_halves(xp, t, T, warp):
    """``(first, q)`` of :func:`halves` for the warped fraction ``p ** warp``, ``p = min(t, T) / T`` (timm's
    ``k_decay``: ``t**k / T**k``): ``first`` when ``p ** warp < 1 - p ** warp``, ``q`` the smaller of the two.

    ``1 - p ** warp`` is computed from the remaining fraction ``r = (T - min(t, T)) / T`` as
    ``-expm1(warp * log1p(-r))`` while ``r < 1/2``, so it is exactly 0 from ``t = T`` on and keeps its relative
    precision near the end; ``p ** warp`` is exactly 0 at ``t = 0``. Both ends are therefore exact.
    """
    m = xp.minimum(t, T)
    n = T - m
    if getattr(xp, "divide", False):
        p, r = xp.f(m) / xp.f(T), xp.f(n) / xp.f(T)
    else:
        inv = 1.0 / T if isinstance(T, int) else 1 / xp.f(T)
        p, r = xp.f(m) * inv, xp.f(n) * inv
    a = xp.power(p, warp)
    b = xp.where(r < 0.5, -xp.expm1(warp * xp.log1p(-xp.minimum(r, 0.5))), 1 - a)
    return a < b, xp.minimum(a, b)


def warped_linear(xp, t, T, start, end, warp):
    """``start + (end - start) * (min(t, T) / T) ** warp``; ``warp = 0.5`` from ``start = peak`` to ``end = m * peak``
    is the ``1-sqrt`` decay of WSD recipes (HF ``get_wsd_schedule`` ``decay_type="1-sqrt"``:
    ``m + (1 - m) * (1 - sqrt(p))``). Exactly ``start`` at 0 and ``end`` from ``T`` on, within both."""
    return interpolate(xp, start, end, *warped_halves(xp, t, T, warp))


def warped_cosine(xp, t, T, start, end, exponent, warp):
    """:func:`cosine` at the warped fraction ``(min(t, T) / T) ** warp`` (timm ``CosineLRScheduler`` ``k_decay``:
    ``end + (start - end) * (1 + cos(pi * t**k / T**k)) / 2``)."""
    first, q = warped_halves(xp, t, T, warp)
    if is_const(exponent, 1):
        return interpolate(xp, start, end, first, q, cos_weight)
    return interpolate_pow(xp, start, end, first, cos_weight(xp, q), exponent)


def warped_polynomial(xp, t, T, start, end, power, warp):
    """:func:`polynomial` at the warped fraction (timm ``PolyLRScheduler`` ``k_decay``:
    ``end + (start - end) * (1 - t**k / T**k) ** power``)."""
    return interpolate_pow(xp, start, end, *warped_halves(xp, t, T, warp), power)


def tanh_decay(xp, t, T, start, end, lb, ub):
    """``end + (start - end) * (1 - tanh(y)) / 2``, ``y = lb * (1 - t / T) + ub * t / T``, for ``t < T``; ``end``
    from ``T`` on (timm ``TanhLRScheduler``, whose cycle ends at ``lr_min``).

    The weights ``(1 - tanh(y)) / 2 = 1 / (2 + expm1(2 y))`` (of ``start``) and ``(1 + tanh(y)) / 2 =
    1 / (2 + expm1(-2 y))`` (of ``end``) are both computed without cancellation, and the value is interpolated from
    the nearer end (:func:`interpolate`: the smaller weight, at most 1/2), so it has the relative precision of its
    own magnitude, never leaves ``[min(start, end), max(start, end)]`` and is never NaN (an ``expm1`` that overflows
    gives a weight of 0).
    """
    r = xp.f(t) / xp.f(T)
    y = lb * (1 - r) + ub * r
    w_start, w_end = 1 / (2 + xp.expm1(2 * y)), 1 / (2 + xp.expm1(-2 * y))
    v = interpolate(xp, start, end, w_end < w_start, xp.minimum(w_start, w_end))
    return xp.where(t < T, v, xp.full_like(t, end))


def cyclic(xp, t, low, high, up, down, mode, gamma):
    """torch ``CyclicLR``: ``low + (high - low) * h * scale`` with h the triangle wave (integer phase first).

    Kept between ``low`` and ``high`` (:func:`between`) whenever ``h * scale <= 1``: every mode but ``exp_range``
    with ``gamma > 1`` (or a ``gamma`` var), whose amplitude grows past ``high`` as in torch.
    """
    period = up + down
    m = xp.mod(t, period)
    # the turn is exactly 1 (``high``): a division by ``up`` may be compiled as a product with its reciprocal
    # (XLA does so once the ends are traced), which puts 41 / 41 one float32 ulp below 1
    h = xp.where(m < up, xp.f(m) / xp.f(up), xp.where(m == up, 1.0, xp.f(period - m) / xp.f(down)))
    if mode == "triangular":
        return between(xp, high, low, h)
    if mode == "triangular2":
        return between(xp, high, low, h / xp.power(2.0, xp.f(xp.floordiv(t, period))))
    # exp_range: gamma ** t (torch scale_mode "iterations"); above high for gamma > 1, as in torch
    if _is_num(gamma) and gamma <= 1:
        return between(xp, high, low, h * xp.power(gamma, xp.f(t)))
    return low + scaled(xp, (high - low) * h, gamma, xp.f(t))


def _anneal(xp, anneal, a, b, p, r):
    """torch ``_annealing_cos`` / ``_annealing_linear`` from ``a`` to ``b``, ``p`` and ``r`` the fractions of the
    phase elapsed and still to run."""
    return interpolate(xp, a, b, p < r, xp.minimum(p, r), cos_weight if anneal == "cos" else None)


def onecycle(xp, t, N, peak, pct_start, div_factor, final_div_factor, anneal, three_phase):
    """torch ``OneCycleLR`` exactly: init -> peak at pct*N - 1 -> min at N - 1 (three_phase: via init), then held.

    Each anneal sees the fractions of its phase elapsed and still to run: the remaining one is exactly 0 at its end,
    so the last anneal holds ``init / final_div_factor`` exactly from ``N - 1`` on.
    """
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
        span = ends[i] - s
        v = _anneal(xp, anneal, values[i], values[i + 1], (tf - s) / span, (ends[i] - tf) / span)
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
