"""Range analysis of a lowered schedule (numpy only, never jax): exact min/max over a range of steps for every sweep
member at once, and the first step where a value overflows float32 or float64.

Both rest on :func:`candidates`: for a node and an integer range of local times ``[lo, hi]``, a small set of times at
which its minimum and its maximum over that range are attained (its ends, the points where a monotone piece ends,
and for periodic shapes the first and last cycles only, because a cycle's values are its first cycle's times
``decay**c``, ``gamma**(c*P)`` or ``2**-c``, monotone in ``c``). Where no such set is known (a product or sum of
non-constant parts, a stretched ``repeat`` of a shape without known breakpoints), the range is kept as a dense range
that is evaluated step by step. The values themselves are always computed by the shared formulas
(:mod:`schedspec._compile`), in float64 or in float32 the way JAX computes it (Python floats weak, arrays float32).

Sweeps: number vars are evaluated as arrays (one row per member); members are grouped only by the values that move
step positions (duration vars, a ``onecycle``'s ``pct_start``, a ``cyclic`` ``exp_range`` ``gamma``).
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
import sys

from . import _compile, ir
from . import backends as B
from . import kinds as K

F64_MAX = sys.float_info.max
F32_MAX = 3.4028234663852886e38  # numpy.finfo(numpy.float32).max
LEAF = 4096  # steps evaluated densely at once by the overflow search
CHUNK = 1 << 22  # elements per dense evaluation (members x steps)


# ------------------------------------------------------------------------------------------------ backends
class SafeMathXP(B.MathXP):
    """Python-float math whose ``power`` gives ``inf`` on overflow, as numpy, JAX and torch do (``math`` raises)."""

    @staticmethod
    def power(a, b):
        try:
            return float(a) ** float(b)
        except OverflowError:
            return math.inf


class ArrayXP(B.NumpyXP):
    """numpy in float64 or float32 whose params may be arrays (one row per sweep member): everything broadcasts.

    float32 follows JAX's rules: arrays and vars are float32, Python floats are weak (cast when they meet an array),
    so an intermediate ``gamma ** t`` overflows exactly where a float32 target's does.
    """

    def __init__(self, dtype: str = "float64"):
        super().__init__()
        self.dtype = self.np.dtype(dtype)

    def f(self, x):
        return self.np.asarray(x, dtype=self.dtype)

    def full_like(self, t, v):
        np = self.np
        v = np.asarray(v, dtype=self.dtype)
        return np.broadcast_to(v, np.broadcast_shapes(np.shape(t), v.shape))

    out = full_like

    def take(self, values, i):
        np = self.np
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return np.asarray(values, dtype=np.int64)[i]
        vals = [v if isinstance(v, int) and not isinstance(v, bool) else self.f(v) for v in values]
        out = np.asarray(vals[0])
        for j, v in enumerate(vals[1:], start=1):
            out = np.where(i == j, v, out)
        return out

    def count_le(self, thresholds, t):
        np = self.np
        if all(isinstance(x, int) and not isinstance(x, bool) for x in thresholds):
            return np.searchsorted(np.asarray(thresholds, dtype=np.int64), t, side="right")
        out = np.zeros(np.shape(t), dtype=np.int64)
        for x in thresholds:
            out = out + (np.asarray(t) >= x)
        return out


_XP: dict[str, ArrayXP] = {}


def xp_for(dtype: str) -> ArrayXP:
    if dtype not in _XP:
        _XP[dtype] = ArrayXP(dtype)
    return _XP[dtype]


def final_value(node: ir.Node, env=None) -> float:
    """The value a finite node holds after its end, in float64, ``inf`` (never an exception) if it overflows."""
    env = env or {}
    return float(_compile.build(node, SafeMathXP)(_compile.dur(node.duration, env), env))


# ------------------------------------------------------------------------------------------------ var dependencies
def deps(x) -> set[str]:
    """Names of the vars a node, param or duration depends on (through carried starts too)."""
    nums, durs = ir.used_vars(x)
    return nums | durs


def shape_vars(x) -> set[str]:
    """Vars that move step positions: duration vars, a onecycle's ``pct_start``, an exp_range cyclic's ``gamma``."""
    out: set[str] = set()
    for v in ir.values(x):
        if isinstance(v, (ir.DVar, ir.DSum)):
            out |= deps(v)
        elif isinstance(v, ir.OneCycle):
            out |= deps(v.pct_start)
        elif isinstance(v, ir.Cyclic) and v.mode == "exp_range":
            out |= deps(v.gamma)
    return out


@dataclasses.dataclass
class Group:
    """Sweep members sharing their step positions: ``env`` holds scalars for the fixed and shape vars and float64
    arrays of shape ``(M, 1)`` for the other sweep number vars (one row per member)."""

    env: dict
    size: int
    _describe: object  # i -> member i's sweep values, {name: value as written}

    def member(self, i: int) -> dict:
        return self._describe(i)

    def cast(self, dtype: str) -> dict:
        import numpy as np

        return {k: (v.astype(dtype) if isinstance(v, np.ndarray) else v) for k, v in self.env.items()}

    def member_env(self, i: int, dtype: str = "float64") -> dict:
        """Member i's env with scalars (float32 numbers as ``numpy.float32``, as a float32 target holds them)."""
        import numpy as np

        out = {}
        for k, v in self.env.items():
            if isinstance(v, np.ndarray):
                v = v[i, 0]
            out[k] = np.float32(v) if (k[0] == "num" and dtype == "float32") else (float(v) if k[0] == "num" else v)
        return out


def groups(node_or_nodes, variables: dict[str, ir.VarDef]):
    """The sweep members of the vars ``node_or_nodes`` depends on, as :class:`Group` s (one when no var sweeps)."""
    import numpy as np

    used = deps(node_or_nodes)
    fixed = [n for n in used if n in variables and not variables[n].sweep]
    sweep = [n for n in variables if n in used and variables[n].sweep]  # written order
    shaped = shape_vars(node_or_nodes)
    outer = [n for n in sweep if n in shaped]
    inner = [n for n in sweep if n not in shaped]

    def put(env, name, idx):
        v = variables[name]
        if v.number is not None:
            env[("num", name)] = v.number[idx]
        if v.steps is not None:
            env[("dur", name)] = v.steps[idx]

    base: dict = {}
    for n in fixed:
        put(base, n, 0)
    if inner:
        grids = np.meshgrid(*(np.arange(len(variables[n].raw)) for n in inner), indexing="ij")
        inner_idx = np.stack([g.reshape(-1) for g in grids], axis=1)  # written order, the last varying fastest
    else:
        inner_idx = np.zeros((1, 0), dtype=np.int64)
    for combo in itertools.product(*(range(len(variables[n].raw)) for n in outer)):
        env = dict(base)
        for n, i in zip(outer, combo):
            put(env, n, i)
        for j, n in enumerate(inner):
            v = variables[n]
            if v.number is not None:
                env[("num", n)] = np.asarray(v.number, dtype=np.float64)[inner_idx[:, j]].reshape(-1, 1)

        def describe(i, combo=combo):
            m = {n: variables[n].raw[c] for n, c in zip(outer, combo)}
            m.update({n: variables[n].raw[int(c)] for n, c in zip(inner, inner_idx[i])})
            return m

        yield Group(env, int(inner_idx.shape[0]), describe)


# ------------------------------------------------------------------------------------------------ candidates
@dataclasses.dataclass
class Cands:
    """Local times where a node's extremes over a range are attained: ``points``, plus ``dense`` ranges (inclusive)
    evaluated step by step."""

    points: set = dataclasses.field(default_factory=set)
    dense: list = dataclasses.field(default_factory=list)

    def shifted(self, by: int) -> Cands:
        return Cands({p + by for p in self.points}, [(a + by, b + by) for a, b in self.dense])

    def add(self, other: Cands) -> None:
        self.points |= other.points
        self.dense += other.dense


class NeedsMetrics(Exception):
    """The node holds a plateau: its values after its start depend on metric reports."""


# the kinds monotone from their start to their end (the table's MONOTONE rows): extremes at the range's ends;
# the BREAKS and CYCLIC rows have their own branches in candidates() and _breaks()
_MONOTONE = K.of_shape(K.MONOTONE)
# stretched cycles examined one by one before falling back to a dense range: at least the most cycles a fractional
# `mult` may have (lowering's MAX_FRACTIONAL_CYCLES), so no document's repeat is evaluated step by step (4096 made
# `check` of a 9000-cycle repeat evaluate its 48 million steps: 15 minutes)
MAX_CYCLES = 10_000


def _scalar(p, env) -> float:
    v = _compile.param(p, SafeMathXP, env)
    return float(v)


def _near(x: float, lo: int, hi: int) -> set:
    """Integers around the real ``x`` (either side, rounding-safe), within [lo, hi]."""
    if not math.isfinite(x):
        return set()
    f = math.floor(x)
    return {t for t in range(f - 1, f + 3) if lo <= t <= hi}


def _flat(node, lo: int, env) -> bool:
    """Whether a node is constant in t from ``lo`` on."""
    d = _compile.dur(node.duration, env)
    if d is not None and lo >= d:
        return True
    if isinstance(node, ir.Constant):
        return True
    if isinstance(node, (ir.Scale, ir.Clip)):
        return _flat(node.of, lo, env)
    if isinstance(node, (ir.Product, ir.SumOf)):
        return all(_flat(p, lo, env) for p in node.parts)
    return False


def candidates(node: ir.Node, lo: int, hi: int, env: dict) -> Cands:  # noqa: C901 - one branch per kind
    """Local times in ``[lo, hi]`` where ``node``'s minimum and maximum over that range are attained.

    Raises:
        NeedsMetrics: the node holds a plateau (its values depend on metric reports).
    """
    out = Cands()
    if lo > hi:
        return out
    if isinstance(node, ir.Plateau):
        raise NeedsMetrics(node.monitor)
    d = _compile.dur(node.duration, env)
    if d is not None:
        if lo >= d:  # every node holds its value at its end from there on
            out.points.add(lo)
            return out
        hi = min(hi, d)
    out.points |= {lo, hi}
    if isinstance(node, _MONOTONE):
        return out
    if isinstance(node, ir.Piecewise):
        out.points |= {a for a in (_compile.dur(a, env) for a in node.ats) if lo <= a <= hi}
        return out
    if isinstance(node, ir.OneCycle):
        n, pct = d, _scalar(node.pct_start, env)
        ends = [pct * n - 1.0, n - 1.0] + ([2 * pct * n - 2.0] if node.three_phase else [])
        for e in ends:
            out.points |= _near(e, lo, hi)
        return out
    if isinstance(node, ir.Cyclic):
        up, down = _compile.dur(node.up, env), _compile.dur(node.down, env)
        period = up + down
        inner = {0, up, period - 1}
        if node.mode == "exp_range":
            g = _scalar(node.gamma, env)
            if 0 < g < 1:
                inner |= _near(-1 / math.log(g), 0, up)
            elif g > 1:
                inner |= _near(period - 1 / math.log(g), up, period - 1)
        for c in _edge_cycles(lo // period, hi // period):
            out.points |= {c * period + m for m in inner if lo <= c * period + m <= hi}
        return out
    if isinstance(node, ir.PolynomialCycle):
        every = _compile.dur(node.every, env)

        def cycle(t):  # cycle j covers ((j-1)T, jT], cycle 1 also t = 0
            return max(1, -((-t) // every))

        for j in _edge_cycles(cycle(lo), cycle(hi)):
            out.points |= {t for t in ((j - 1) * every + 1, j * every) if lo <= t <= hi}
        return out
    if isinstance(node, ir.Sequence):
        begin = 0
        for i, part in enumerate(node.parts):
            pd = _compile.dur(part.duration, env)
            last = i == len(node.parts) - 1
            end = hi if (last or pd is None) else begin + pd - 1  # the step before the next part begins
            a, b = max(lo, begin), min(hi, end)
            if a <= b:
                out.add(candidates(part, a - begin, b - begin, env).shifted(begin))
            if last or pd is None:
                break
            begin += pd
            if begin > hi:
                break
        return out
    if isinstance(node, (ir.Scale, ir.Clip)):  # a non-negative factor, a clamp: monotone maps
        out.add(candidates(node.of, lo, hi, env))
        return out
    if isinstance(node, (ir.Product, ir.SumOf)):
        moving = [p for p in node.parts if not _flat(p, lo, env)]
        if len(moving) <= 1:
            for p in moving:
                out.add(candidates(p, lo, hi, env))
        else:
            out.dense.append((lo, hi))
        return out
    if isinstance(node, ir.Repeat):
        out.add(_repeat_candidates(node, lo, hi, env))
        return out
    raise AssertionError(type(node))  # pragma: no cover - every kind is handled above


def _edge_cycles(c_lo: int, c_hi: int) -> list[int]:
    """The cycles whose extremes bound every cycle in between: the first two and the last two."""
    return sorted({c for c in (c_lo, c_lo + 1, c_hi - 1, c_hi) if c_lo <= c <= c_hi})


def _repeat_candidates(node: ir.Repeat, lo: int, hi: int, env: dict) -> Cands:
    out = Cands()
    if ir.has_real_cycles(node):
        return _real_candidates(node, lo, hi, env)
    period = _compile.dur(node.period, env)
    m, times = node.mult, node.times
    if m == 1:
        end = None if times is None else period * times
        if end is not None and hi >= end:
            out.points.add(end)
            hi = end - 1
        if lo > hi:
            return out
        # cycle c is `of` over [0, P-1] times decay**c: every full cycle's extremes are the first's or the last's
        for c in _edge_cycles(lo // period, hi // period):
            a, b = max(lo, c * period), min(hi, c * period + period - 1)
            out.add(candidates(node.of, a - c * period, b - c * period, env).shifted(c * period))
        return out
    firsts, offsets, scales, end = _cycles(node, period)
    if end is not None and hi >= end:
        out.points.add(end)
        hi = end - 1
    if lo > hi:
        return out

    c_lo, c_hi = bisect.bisect_right(firsts, lo) - 1, bisect.bisect_right(firsts, hi) - 1
    breaks = _breaks(node.of, env)
    if breaks is None or c_hi - c_lo > MAX_CYCLES:
        out.dense.append((lo, hi))
        return out
    for c in range(c_lo, c_hi + 1):
        a = max(lo, firsts[c])
        b = min(hi, firsts[c + 1] - 1) if c + 1 < len(firsts) else hi
        out.points |= {a, b}
        for x in breaks:  # `of` sees (t - first + offset) / scale: its breakpoint x is at first - offset + x * scale
            out.points |= _near(firsts[c] - offsets[c] + x * scales[c], a, b)
    return out


def _real_candidates(node: ir.Repeat, lo: int, hi: int, env: dict) -> Cands:
    """A repeat with a real cycle length or a shifted clock (:class:`schedspec._compile.RealCycles`): the values
    of window ``s`` (``u`` units, ``v`` cycles) are window 0's times ``decay**(s*v)``, monotone in ``s`` at every
    position of the window, so the first two and the last two windows hold the extremes; in each cycle of those,
    its ends and the breakpoints of `of` (stretched), or `of`'s own candidates when it is not stretched."""
    out = Cands()
    cy = _compile.real_cycles(node)
    if cy.end is not None and hi >= cy.end:
        out.points.add(cy.end)
        hi = cy.end - 1
    if lo > hi:
        return out
    aligned = cy.scale == 1 and cy.integral  # `of` at integer local times
    breaks = None if aligned else _breaks(node.of, env)
    size = cy.window if cy.window is not None else ir.MAX_STEPS + 1
    n = len(cy.firsts)
    for s in _edge_cycles(lo // size, hi // size):
        origin = s * size
        for j, first in enumerate(cy.firsts):
            a = max(lo, origin + first)
            b = min(hi, origin + (cy.firsts[j + 1] if j + 1 < n else size) - 1)
            if a > b:
                continue
            begin = origin + first - cy.offsets[j]  # the cycle's real start (an int when aligned)
            if aligned:
                out.add(candidates(node.of, int(a - begin), int(b - begin), env).shifted(int(begin)))
            elif breaks is None:
                out.dense.append((a, b))
            else:
                out.points |= {a, b}
                for x in breaks:  # `of` sees (t - begin) * scale: its breakpoint x is at begin + x / scale
                    out.points |= _near(float(begin + x / cy.scale), a, b)
    return out


def _cycles(node: ir.Repeat, period: int):
    """(first step of each cycle, its fractional offset, its stretch, the end) of a repeat with ``mult > 1``."""
    m, times = node.mult, node.times
    if isinstance(node.period, int):
        firsts, offsets, scales = _compile._cycle_table(node.period, m, times)
        end = firsts[-1] if times is not None else None
        if times is not None:
            firsts, offsets, scales = firsts[:-1], offsets[:-1], scales[:-1]
        return firsts, offsets, scales, end
    mi = int(m)
    firsts, scales, i = [], [], 0
    while times is None or i < times:
        first = period * ((mi**i - 1) // (mi - 1))
        if first > ir.MAX_STEPS:
            break
        firsts.append(first)
        scales.append(float(mi**i))
        i += 1
    end = period * ((mi**times - 1) // (mi - 1)) if times is not None else None
    return firsts, [0.0] * len(firsts), scales, end


def _breaks(node: ir.Node, env: dict) -> list[float] | None:
    """Real local times where ``node`` may stop being monotone (or jump), or None when unknown or too many."""
    if isinstance(node, _MONOTONE):
        return []
    if isinstance(node, ir.Piecewise):
        return [float(_compile.dur(a, env)) for a in node.ats]
    if isinstance(node, ir.OneCycle):
        n, pct = _compile.dur(node.duration, env), _scalar(node.pct_start, env)
        return [pct * n - 1.0, n - 1.0] + ([2 * pct * n - 2.0] if node.three_phase else [])
    if isinstance(node, (ir.Scale, ir.Clip)):
        return _breaks(node.of, env)
    if isinstance(node, ir.Sequence):
        out, begin = [], 0
        for part in node.parts:
            inner = _breaks(part, env)
            if inner is None:
                return None
            out += [float(begin)] + [begin + x for x in inner]
            pd = _compile.dur(part.duration, env)
            if pd is None:
                break
            begin += pd
        return out
    if isinstance(node, (ir.Product, ir.SumOf)):
        moving = [p for p in node.parts if not _flat(p, 0, env)]
        if len(moving) > 1:
            return None
        return _breaks(moving[0], env) if moving else []
    return None


# ------------------------------------------------------------------------------------------------ evaluation
def evaluate(node: ir.Node, t, env: dict, dtype: str = "float64", size: int = 1):
    """``node`` at local times ``t`` (an int array, shape (K,)) for every member: an array of shape (size, K)."""
    import numpy as np

    xp = xp_for(dtype)
    fn = _compile.build(node, xp)
    t = np.asarray(t, dtype=np.int64)
    with np.errstate(all="ignore"):
        v = np.asarray(fn(t, env), dtype=dtype)
    return np.broadcast_to(v, (size, t.shape[0]))


def _dense_blocks(a: int, b: int, size: int):
    import numpy as np

    step = max(1, CHUNK // max(size, 1))
    for start in range(a, b + 1, step):
        yield np.arange(start, min(b, start + step - 1) + 1, dtype=np.int64)


def extrema(node: ir.Node, lo: int, hi: int, group: Group):
    """Exact (min, max) of ``node`` over local times ``[lo, hi]`` for every member of ``group`` (float64 arrays of
    shape (M,)).

    Raises:
        NeedsMetrics: the node holds a plateau.
    """
    import numpy as np

    c = candidates(node, lo, hi, group.env)
    pts = np.array(sorted(c.points), dtype=np.int64)
    v = evaluate(node, pts, group.env, "float64", group.size)
    low, high = v.min(axis=1), v.max(axis=1)
    for a, b in c.dense:
        for t in _dense_blocks(a, b, group.size):
            v = evaluate(node, t, group.env, "float64", group.size)
            low, high = np.minimum(low, v.min(axis=1)), np.maximum(high, v.max(axis=1))
    return low, high


# ------------------------------------------------------------------------------------------------ overflow
def _magnitude(v):
    import numpy as np

    a = np.abs(v)
    return np.where(np.isfinite(a), a, np.inf).max(axis=1) if a.shape[1] else np.zeros(a.shape[0])


def maxabs(node: ir.Node, lo: int, hi: int, env: dict, dtype: str, size: int):
    """An upper bound, per member, of ``|value|`` over local times ``[lo, hi]`` as computed in ``dtype`` (``inf``
    when a value, or an intermediate the formula computes, overflows). Exact where :func:`candidates` has no dense
    range; otherwise combined from the parts' bounds (prefix products and sums bound the intermediates)."""
    import numpy as np

    try:
        c = candidates(node, lo, hi, env)
        exact = _magnitude(evaluate(node, np.array(sorted(c.points), dtype=np.int64), env, dtype, size))
    except (NeedsMetrics, _compile.PlateauNeedsMetrics):
        if isinstance(node, ir.Plateau):  # it only ever lowers its start, or raises it to its `min`
            xp = xp_for(dtype)
            with np.errstate(all="ignore"):
                v = np.maximum(np.abs(xp.f(_compile.param(node.start, xp, env))),
                               np.abs(xp.f(_compile.param(node.min, xp, env))))  # fmt: skip
            return np.broadcast_to(np.where(np.isfinite(v), v, np.inf).reshape(-1), (size,))
        c, exact = Cands(dense=[(lo, hi)]), np.zeros(size)  # a combinator holding a plateau: bound it by its parts
    if not c.dense:
        return exact
    d = _compile.dur(node.duration, env)
    if d is not None:
        hi = min(hi, d)
    lo = min(lo, hi)
    with np.errstate(all="ignore"):
        if isinstance(node, (ir.Product, ir.SumOf)):
            acc = best = None
            for p in node.parts:
                m = maxabs(p, lo, hi, env, dtype, size)
                acc = m if acc is None else (acc * m if isinstance(node, ir.Product) else acc + m)
                best = acc if best is None else np.maximum(best, acc)
            bound = best
        elif isinstance(node, ir.Scale):
            by = np.abs(np.asarray(_compile.param(node.by, xp_for(dtype), env), dtype=dtype)).reshape(-1)
            bound = by * maxabs(node.of, lo, hi, env, dtype, size)
        elif isinstance(node, ir.Clip):
            bound = maxabs(node.of, lo, hi, env, dtype, size)
            if node.max is not None:
                bound = np.minimum(bound, np.abs(np.asarray(_compile.param(node.max, xp_for(dtype), env))).reshape(-1))
        elif isinstance(node, ir.Sequence):
            bound = np.zeros(size)
            begin = 0
            for i, part in enumerate(node.parts):
                pd = _compile.dur(part.duration, env)
                last = i == len(node.parts) - 1 or pd is None
                end = hi if last else begin + pd
                a, b = max(lo, begin), min(hi, end)
                if a <= b:
                    bound = np.maximum(bound, maxabs(part, a - begin, b - begin, env, dtype, size))
                if last:
                    break
                begin += pd
        elif isinstance(node, ir.Repeat):
            period = _compile.dur(node.period, env)
            of = maxabs(node.of, 0, period, env, dtype, size)
            if ir.has_real_cycles(node):
                last = _compile.real_cycle_at(_compile.real_cycles(node), hi)[0]
            elif node.mult == 1:
                last = hi // period
            else:

                last = bisect.bisect_right(_cycles(node, period)[0], hi) - 1
            if node.times is not None:
                last = min(last, node.times - 1)
            decay = np.asarray(_compile.param(node.decay, xp_for(dtype), env), dtype=dtype).reshape(-1)
            grow = np.maximum(np.power(decay, np.asarray(max(last, 0), dtype=dtype)), np.asarray(1.0, dtype=dtype))
            bound = np.maximum(of * grow, grow)
        else:  # pragma: no cover - only combinators produce dense ranges
            bound = np.full(size, np.inf)
    bound = np.where(np.isfinite(bound), bound, np.inf)
    return np.broadcast_to(np.maximum(bound, exact), (size,))


def first_overflow(node: ir.Node, lo: int, hi: int, env: dict, dtype: str) -> int | None:
    """The first local time in ``[lo, hi]`` where ``node`` (one member: scalar ``env``) is not finite in ``dtype``.

    A branch and bound over the range: a part whose :func:`maxabs` is finite is skipped, a short one is evaluated
    step by step. With exact bounds this is a bisection (about 2 log2(range / 4096) bounds).
    """
    found = _first_not_finite(node, lo, hi, env, dtype, 1)
    return None if found is None else found[0]


def _held(x, at: str):
    """``x`` with every plateau replaced by a constant at its ``start`` or its ``min`` (``at``) over the same
    duration: a plateau only lowers its start (down to ``min``) or raises it to ``min``, so its values lie between
    the two, and every combinator that can hold one (product, sum, scale, clip: non-negative values) is monotone in
    it. The first of the two held trees to overflow overflows where a target does when the reports never reduce (or
    raise) the plateau."""
    if isinstance(x, ir.Plateau):
        return ir.Constant(value=getattr(x, at), duration=x.duration, path=x.path)
    if isinstance(x, tuple):
        return tuple(_held(v, at) for v in x)
    if not isinstance(x, ir.Node):
        return x  # a parameter: a carried plateau start was bounded by untimed()
    kids = {f.name: getattr(x, f.name) for f in ir.fields(x)}
    return dataclasses.replace(x, **{k: _held(v, at) for k, v in kids.items() if isinstance(v, (ir.Node, tuple))})


def _evaluate_worst(node: ir.Node, t, env: dict, dtype: str, size: int = 1):
    """:func:`evaluate`, or for a node holding a plateau (its values depend on the reports) the worst of the plateau
    held at its start and at its min (see :func:`_held`): a value that is not finite first, else the larger."""
    import numpy as np

    try:
        return evaluate(node, t, env, dtype, size)
    except _compile.PlateauNeedsMetrics:
        a, b = (evaluate(_held(node, at), t, env, dtype, size) for at in ("start", "min"))
        with np.errstate(all="ignore"):
            pick_b = np.isfinite(a) & (~np.isfinite(b) | (np.abs(b) > np.abs(a)))
        return np.where(pick_b, b, a)


def _first_not_finite(node: ir.Node, lo: int, hi: int, env: dict, dtype: str, size: int) -> tuple[int, int] | None:
    """(the first local time in ``[lo, hi]`` at which any of the ``size`` members of ``env`` is not finite in
    ``dtype``, the first of those members there), or None: :func:`first_overflow` over several members at once."""
    import numpy as np

    limit = F32_MAX if dtype == "float32" else F64_MAX
    stack = [(lo, hi)]
    while stack:
        a, b = stack.pop()
        if a > b or bool((maxabs(node, a, b, env, dtype, size) <= limit).all()):
            continue
        if b - a < LEAF:
            v = _evaluate_worst(node, np.arange(a, b + 1, dtype=np.int64), env, dtype, size)
            bad = ~np.isfinite(v)
            if bad.any():
                col = int(np.argmax(bad.any(axis=0)))
                return a + col, int(np.argmax(bad[:, col]))
            continue
        mid = (a + b) // 2
        stack += [(mid + 1, b), (a, mid)]
    return None


def untimed(x, group: Group) -> tuple:
    """``x`` with every start carried from a plateau (its value depends on the reports) replaced by an upper bound
    of it, member by member (a plateau never exceeds its start or its ``min``), so the overflow check needs no
    reports. Returns ``(node, group)``: the group's env holds each bound (float64, one row per member) under a var
    name no document can write (not an identifier), which the bounded start reads."""
    out = dataclasses.replace(group, env=dict(group.env))  # the group itself is left as it was

    def bound(p):  # one parameter (ir.map_params rebuilds the nodes around it)
        if isinstance(p, ir.Final) and _compile.timed(p.node):
            node = ir.map_params(p.node, bound)  # (a start it carries from a plateau is bounded first)
            end = _compile.dur(node.duration, out.env)
            b = maxabs(node, end, end, out.cast("float64"), "float64", out.size)  # shape (M,)
            name = f"plateau bound {len(out.env)}"
            out.env[("num", name)] = b.reshape(-1, 1) if out.size > 1 else float(b[0])
            return ir.Var(name)
        return p

    return ir.map_params(x, bound), out


GROWING = (ir.Exponential, ir.Step, ir.MultiStep, ir.Cyclic, ir.OneCycle, ir.Repeat, ir.Scale, ir.Product, ir.SumOf)


@dataclasses.dataclass
class Overflow:
    """Where a node's values leave the float range: local times (``None``: never) and the member concerned."""

    node: ir.Node
    at32: int
    at64: int | None
    member: dict
    value: float  # the float64 value at at32


def overflow(node: ir.Node, variables: dict[str, ir.VarDef], begin: int | None) -> Overflow | None:
    """The first local time at which ``node`` overflows float32 (and float64), for the member that overflows first
    (the first in sweep order among those overflowing at that step).

    Only the node itself is examined (the caller walks the tree, innermost first). ``begin`` is the absolute step
    the node begins at, when known (its open end is then at most ``2**31 - 1 - begin``).
    """
    import numpy as np

    whole = node
    best: Overflow | None = None
    for group in groups(whole, variables):
        node, group = untimed(whole, group)  # noqa: PLW2901 - the group with the bounds of carried plateau starts
        d = _compile.dur(node.duration, group.env)
        hi = d if d is not None else ir.MAX_STEPS - (begin or 0)
        f32 = group.cast("float32")
        bound = maxabs(node, 0, hi, f32, "float32", group.size)
        bad = np.flatnonzero(~(bound <= F32_MAX))  # a loose bound (a product of parts) may flag more members
        for lo_i in range(0, bad.size, _CHUNK):  # only a step before the earliest found so far can be earlier
            rows = bad[lo_i:lo_i + _CHUNK]
            env = {k: (v[rows] if isinstance(v, np.ndarray) else v) for k, v in f32.items()}
            found = _first_not_finite(node, 0, hi if best is None else best.at32 - 1, env, "float32", len(rows))
            if found is None:
                continue
            at32, i = found[0], int(rows[found[1]])
            env = group.member_env(i)
            at64 = first_overflow(node, 0, hi, env, "float64")
            value = float(_evaluate_worst(node, [at32], env, "float64")[0, 0])
            best = Overflow(node, at32, at64, group.member(i), value)
    return best


_CHUNK = 256  # members evaluated together while searching the first overflow (a leaf is _CHUNK x LEAF values)


__all__ = ["candidates", "extrema", "maxabs", "first_overflow", "overflow", "groups", "final_value", "SafeMathXP"]
