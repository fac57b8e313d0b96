"""IR + array namespace -> a function ``fn(k, env)``; shared by every evaluator (math, numpy, jax, keras).

``env`` maps ``("num", name)`` to a number var's value and ``("dur", name)`` to a duration var's value (an integer
in interval units). Every node clamps its local time to its duration (holds its final value after it); a sequence
gives phase *i* the local time ``k - begin_i`` and the boundary ``k == begin_i`` to phase *i*.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import operator
from fractions import Fraction

from . import backends as B
from . import formulas as F
from . import ir
from . import kinds as K
from .errors import PlateauNeedsMetrics

# env key of the global step at which the current local time frame starts (threaded through sequences for the
# nodes whose value depends on it: plateaus, whose reports are counted from k = 0 of the whole schedule).
ORIGIN = ("origin",)


def timed(x) -> bool:
    """Whether a tree holds a plateau (carried starts included): its value depends on where it begins."""
    if isinstance(x, ir.Plateau):
        return True
    if isinstance(x, ir.Final):
        return timed(x.node)
    if isinstance(x, ir.Node):
        return any(timed(getattr(x, f)) for f in x.__dataclass_fields__)
    if isinstance(x, tuple):
        return any(timed(v) for v in x)
    return False



def param(p, xp, env):
    """The value of a Param (float, Var or Final)."""
    if isinstance(p, ir.Var):
        return env[("num", p.name)]
    if isinstance(p, ir.Final):
        node = p.node
        fn = build(node, xp)
        d = dur(node.duration, env)
        if timed(node):  # the carried-from node ended where the current frame begins
            env = {**env, ORIGIN: env.get(ORIGIN, 0) - d}
        return fn(d, env)
    return p


def dur(d, env):
    """The value of a Dur (int, DVar or Sum)."""
    if d is None or isinstance(d, int):
        return d
    if isinstance(d, ir.DVar):
        return env[("dur", d.name)]
    out = d.const
    for coef, name in d.terms:
        out = out + coef * env[("dur", name)]
    return out


def build(node: ir.Node, xp):
    """Return ``fn(t, env)`` evaluating ``node`` at local time ``t`` (int, or float inside a stretched repeat)."""
    inner = _BUILDERS[type(node)](node, xp)
    if node.duration is None or K.clamps_itself(node):
        return inner

    def clamped(t, env):
        return inner(xp.minimum(t, dur(node.duration, env)), env)

    return clamped


def _p(xp, env, *ps):
    return [param(p, xp, env) for p in ps]


def _constant_items(items) -> bool:
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in items)


def _durs(items, xp):
    """``env -> durations``: a constant table built once (``xp.table``: one array, whatever its length, beyond
    ``F.SMALL_TABLE`` items) when every item is a number, else the items' values in ``env``."""
    if _constant_items(items):
        fixed = xp.table(items) if len(items) > F.SMALL_TABLE else tuple(items)
        return lambda env: fixed
    return lambda env: tuple(dur(x, env) for x in items)


def _params(items, xp):
    """``env -> params``: as :func:`_durs` for Params (a piecewise's values: numbers or vars, never carried)."""
    if _constant_items(items):
        fixed = xp.table(items) if len(items) > F.SMALL_TABLE else tuple(items)
        return lambda env: fixed
    return lambda env: tuple(_p(xp, env, *items))


def _slot(value, slot, xp):
    """``(fixed, value)``: a formula argument known now (``fixed``), or ``env -> value``; by the slot's shape
    (:mod:`schedspec.kinds`)."""
    shape = slot.shape
    if shape in (K.FLAG, K.WORD) or value is None:
        return True, value
    if shape == K.DURS:
        return False, _durs(value, xp)
    if shape == K.PARAMS:
        return False, _params(value, xp)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True, value
    if shape == K.DUR:
        return False, lambda env: dur(value, env)
    return False, lambda env: param(value, xp, env)  # PARAM, OPTIONAL: a var or a carried start


def _phase(n, xp):
    """A phase from its row of the table: ``formula(xp, t, *slots)`` (every kind but combinators and plateaus)."""
    name, slots = K.row(n).call(n)
    formula = getattr(F, name)
    args = [_slot(getattr(n, s.field), s, xp) for s in slots]
    if all(fixed for fixed, _ in args):
        values = tuple(v for _, v in args)
        return lambda t, env: formula(xp, t, *values)
    return lambda t, env: formula(xp, t, *[v if fixed else v(env) for fixed, v in args])


def _plateau(n, xp):
    """torch ``ReduceLROnPlateau`` driven by metric reports (see :func:`schedspec.formulas.plateau`).

    The reports come from ``env``: either ``env[("trajectory", node, origin)] = (values, count)``, the value after
    each report as kept by an online adapter (torch, Keras, Optax: one report at a time), or
    ``env[("metric", monitor)]`` (all reports, one per ``every`` from k = 0) with ``env[("count", monitor)]``
    (how many are real; default: all), from which the trajectory is one scan.
    """

    def fn(t, env):
        origin = env.get(ORIGIN, 0)
        every = n.every
        first = xp.floordiv(origin, every)
        source = env.get(("trajectory", n, origin)) if isinstance(origin, int) else None
        if source is not None:
            traj, count = source
            return F.plateau(xp, t, origin, every, traj, count, first)
        start = param(n.start, xp, env)
        reports = env.get(("metric", n.monitor))
        if reports is None:
            if not xp_is_traced(xp) and _no_report_needed(t, origin, every, first):
                return xp.full_like(t, start)
            raise PlateauNeedsMetrics(
                f"the `plateau` phase monitoring '{n.monitor}' needs its metric reports: pass "
                f"metrics={{'{n.monitor}': [...]}} (one report per {every} {'step' if every == 1 else 'steps'}, "
                "counted from k = 0)"
            )
        count = env.get(("count", n.monitor), len(reports))
        stop = None if n.duration is None else xp.floordiv(origin + dur(n.duration, env), every)
        factor, threshold, low, eps = _p(xp, env, n.factor, n.threshold, n.min, n.eps)
        traj = F.plateau_trajectory(xp, reports, first, stop, start, n.mode, factor, n.patience, threshold,
                                    n.threshold_mode, n.cooldown, low, eps)  # fmt: skip
        return F.plateau(xp, t, origin, every, traj, count, first)

    return fn


def xp_is_traced(xp) -> bool:
    """Whether the backend works on traced arrays (no Python decision can depend on the values)."""
    return not isinstance(xp, B.NumpyXP) and xp is not B.MathXP


def _no_report_needed(t, origin, every, first) -> bool:
    import numpy as np

    return bool(np.all(np.floor_divide(np.asarray(origin) + np.asarray(t), every) <= first))


def _sequence(n, xp):
    parts = [build(p, xp) for p in n.parts]
    moved = [timed(p) for p in n.parts]  # parts that must know the global step they begin at
    fixed = _fixed_begins(n.parts)

    def begins(env):
        if fixed is not None:
            return fixed
        out, b = [0], 0
        for p in n.parts[:-1]:
            b = b + dur(p.duration, env)
            out.append(b)
        return out

    def at(i, b, env):
        return {**env, ORIGIN: env.get(ORIGIN, 0) + b} if moved[i] else env

    if xp.scalar:
        later = None if fixed is None else tuple(fixed[1:])

        def scalar(t, env):
            bs = begins(env)
            i = xp.count_le(later if later is not None else bs[1:], t)  # binary search: the last begin <= t
            return parts[i](t - bs[i], at(i, bs[i], env))

        return scalar

    if len(n.parts) > SMALL_SEQUENCE:
        return _table_sequence(n, xp, parts, fixed, begins, at)

    def fn(t, env):
        bs = begins(env)
        out = parts[0](t, env)
        for i, (b, part) in enumerate(zip(bs[1:], parts[1:]), start=1):
            out = xp.where(t < b, out, part(xp.maximum(t - b, 0), at(i, b, env)))
        return out

    return fn


# A sequence of more than this many parts is evaluated by tables (one branch per kind); up to it, one branch per
# part (an ``xp.where`` chain, the fastest for a few phases).
SMALL_SEQUENCE = 16

# A long sequence gathers the parameters of its parts from per-part columns: int columns for the gathered DUR
# slots, float columns for the gathered params, by position within each part's formula (one set of columns serves
# every group: as many gathers as the widest formula has gathered slots, whatever the kinds). A constant is
# evaluated as a linear phase from its value to its value (exactly ``value``: the difference is 0), so it shares
# the linear group.
GATHER = ("gather",)  # a slot taken from a column (in a group's description of its formula's slots)


def _fixed_begins(parts) -> list[int] | None:
    """Where each part begins, when every duration but the last is an int (else None: duration vars)."""
    out, b = [0], 0
    for p in parts[:-1]:
        if not isinstance(p.duration, int):
            return None
        b += p.duration
        out.append(b)
    return out


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def table_value(p):
    """A Param as an entry of a column: a number, a number var (gathered from a small traced table at run time),
    or None when the part must be evaluated on its own. A start carried from a phase that holds one of its params
    exactly from its end on (the table's ``holds``: a linear, cosine, polynomial or tanh phase's ``end``, a
    constant's value) is that param; the lowering has already made every other constant carried start a number."""
    if _number(p) or isinstance(p, ir.Var):
        return p
    if isinstance(p, ir.Final):
        node = p.node
        if K.is_phase(node) and not timed(node) and isinstance(node.duration, int) and node.duration > 0:
            holds = K.row(node).holds
            if holds is not None:
                return table_value(getattr(node, holds))
    return None


def fixed_param(p):
    """A Param's value as a Python number when it is known without evaluating anything (see
    :func:`table_value`), else None."""
    v = table_value(p)
    return v if _number(v) else None


def table_row(part):
    """``(group key, ints, floats)`` of a part of a long sequence evaluated from tables, or None when it is
    evaluated on its own (a plateau, a combinator, a var duration, a carried start that is not a param of the
    phase before, a static slot that is not a number). The key is ``(formula name, description)``: per slot of the
    formula (:data:`schedspec.kinds.FORMULAS`), :data:`GATHER` or its static value; ``ints`` and ``floats`` are
    the part's gathered DUR slots and params (numbers or :class:`ir.Var`), in order."""
    if timed(part) or not K.is_phase(part):
        return None
    if part.duration is not None and (not isinstance(part.duration, int) or part.duration <= 0):
        return None
    if isinstance(part, ir.Constant):
        v = table_value(part.value)
        return None if v is None else (("linear", (GATHER,) * 3), [1], [v, v])
    name, slots = K.row(part).call(part)
    desc, ints, floats = [], [], []
    for s in slots:
        v = getattr(part, s.field)
        if s.shape in (K.DURS, K.PARAMS):
            if not all(_number(x) for x in v):
                return None
            desc.append(tuple(v))
        elif s.shape in (K.FLAG, K.WORD) or v is None:
            desc.append(v)
        elif s.shape == K.DUR:
            if not isinstance(v, int):
                return None
            if s.static:
                desc.append(v)
            else:
                desc.append(GATHER)
                ints.append(v)
        else:  # PARAM, OPTIONAL
            x = table_value(v)
            if x is None or (s.static and not _number(x)):
                return None
            if s.static:
                desc.append(x)
            else:
                desc.append(GATHER)
                floats.append(x)
    return (name, tuple(desc)), ints, floats


def table_key(part):
    """The group of a part of a long sequence (see :func:`table_row`), None when it is evaluated on its own."""
    row = table_row(part)
    return None if row is None else row[0]


def sequence_tables(parts) -> tuple[list, list, list, list[int], list[int]]:
    """The tables a long sequence is evaluated from (shared by this module and the emitted modules):
    ``(groups, ints, floats, gid, alone)``: per group, ``(formula name, description)`` (:func:`table_row`); the
    int and float columns (one entry per part; where a part has no such slot, the harmless 1 or 0.0, never
    selected); ``gid[j]``, the group (1..) of part ``j``, 0 when it is evaluated on its own; ``alone``, those
    parts' indices."""
    keys: dict = {}
    gid, alone, rows = [], [], []
    for j, part in enumerate(parts):
        row = table_row(part)
        if row is None:
            gid.append(0)
            alone.append(j)
            rows.append(([], []))
        else:
            gid.append(keys.setdefault(row[0], len(keys) + 1))
            rows.append(row[1:])
    n_int = max(len(r[0]) for r in rows)  # (a long sequence has parts: rows is never empty)
    n_float = max(len(r[1]) for r in rows)
    ints = [[r[0][c] if c < len(r[0]) else 1 for r in rows] for c in range(n_int)]
    floats = [[r[1][c] if c < len(r[1]) else 0.0 for r in rows] for c in range(n_float)]
    return list(keys), ints, floats, gid, alone


def _float_column(col, xp):
    """``(env, i) -> col[i]``: one constant table; the entries that are number vars (:class:`ir.Var`) come from a
    small table of their values in ``env`` (one entry per distinct var, not per part)."""
    names = list(dict.fromkeys(x.name for x in col if isinstance(x, ir.Var)))
    const = xp.table([0.0 if isinstance(x, ir.Var) else x for x in col])
    if not names:
        return lambda env, i: xp.take(const, i)
    which = xp.table([1 + names.index(x.name) if isinstance(x, ir.Var) else 0 for x in col])

    def take(env, i):
        j = xp.take(which, i)
        small = (0.0, *(env[("num", name)] for name in names))
        return xp.where(j == 0, xp.take(const, i), xp.take(small, j))

    return take


def _static(value, slot, xp):
    """A static slot's value as a formula argument (a long tuple as one constant table, as :func:`_durs`)."""
    if slot.shape in (K.DURS, K.PARAMS) and len(value) > F.SMALL_TABLE:
        return xp.table(value)
    return value


def _table_sequence(n, xp, parts, fixed, begins, at):
    """A long sequence: the segment ``i`` of ``t`` by a binary search in the begins (one constant table when the
    durations are ints), then per group of parts (:func:`table_key`: the same formula and static values) ONE
    evaluation of its formula on parameters gathered by ``i`` from per-part columns; the other parts (plateaus,
    combinators, var durations) are evaluated one by one. The program's size depends on the kinds present, not on
    the number of parts.
    """
    groups, ints, floats, gid, alone = sequence_tables(n.parts)
    plans = []
    for name, desc in groups:
        slots = K.FORMULAS[name]
        plans.append((getattr(F, name), [(s.shape == K.DUR, None) if d is GATHER else (None, _static(d, s, xp))
                                         for s, d in zip(slots, desc)]))  # fmt: skip
    int_cols = [xp.table(col) for col in ints]
    float_cols = [_float_column(col, xp) for col in floats]
    gids = xp.table(gid)
    begin_table = None if fixed is None else xp.table(fixed)
    later = None if fixed is None else xp.table(fixed[1:])
    last = n.parts[-1]
    # the formulas of kinds that do not clamp t themselves see t up to the end of the last part, then its end value
    end = (fixed[-1] + last.duration if fixed is not None and isinstance(last.duration, int) and gid[-1]
           and not K.clamps_itself(last) else None)  # fmt: skip

    def fn(t, env):
        if isinstance(xp, B.NumpyXP):  # every group is computed at every row, also on other kinds' parameters
            with xp.np.errstate(all="ignore"):  # (values never selected: no warning about them)
                return tabled(t, env)
        return tabled(t, env)

    def tabled(t, env):
        if end is not None:
            t = xp.minimum(t, end)
        bs = begins(env)
        if fixed is None:
            i = xp.count_le(bs[1:], t)
            local = t - xp.take(bs, i)
        else:
            i = xp.count_le(later, t)
            local = t - xp.take(begin_table, i)
        g = xp.take(gids, i)
        out = None
        di = [xp.take(col, i) for col in int_cols]
        pi = [col(env, i) for col in float_cols]
        for k, (formula, plan) in enumerate(plans, start=1):
            nd = nf = 0
            args = []
            for is_dur, value in plan:
                if is_dur is None:
                    args.append(value)
                elif is_dur:
                    args.append(di[nd])
                    nd += 1
                else:
                    args.append(pi[nf])
                    nf += 1
            v = formula(xp, local, *args)
            out = v if out is None else xp.where(g == k, v, out)
        for j in alone:
            b = bs[j]
            v = parts[j](xp.maximum(t - b, 0), at(j, b, env))
            out = v if out is None else xp.where(i == j, v, out)
        return out

    return fn


@dataclasses.dataclass(frozen=True)
class RealCycles:
    """The cycles of a repeat with a real cycle length ``P = u / v`` (lowest terms) and a clock ``shift``, exactly.

    The cycles' clock is ``t + shift``; cycle ``i`` begins at the real time ``i * P`` on it, and a step belongs
    to the last cycle begun at or before it. ``u`` units hold exactly ``v`` cycles, so with ``t = s * window + r``
    (``0 <= r < window``; ``window`` is ``u``, or None when ``u > 2**31 - 1``: one window holds every step) the
    cycle of ``t`` is ``base + s * v + j`` with ``j = #{firsts[1:] <= r}`` and its local time is ``r - firsts[j]
    + offsets[j]``: ``firsts[j]`` is the first step of the window in the ``j``-th cycle overlapping it (``firsts[0]
    == 0``, the cycle in progress at the window's start), ``offsets[j]`` the exact time from that cycle's real
    start to it (a Fraction in [0, 1), or the time already elapsed for ``j = 0``). Every boundary is an exact
    integer, so no rounding moves a restart; ``r`` stays below ``u``, so no int32 overflows.
    """

    window: int | None
    firsts: tuple[int, ...]
    offsets: tuple[Fraction, ...]
    base: int  # the cycle of firsts[0] in window 0
    per_window: int  # v
    scale: Fraction  # `of`'s time per unit: duration(of) / P
    end: int | None  # the first step after `times` cycles (the repeat holds its final value from it)

    @property
    def integral(self) -> bool:
        """Whether every local time is an int that fits int32 (whole offsets): ``r - (first - offset)``."""
        if any(o.denominator != 1 for o in self.offsets):
            return False
        top = (self.window if self.window is not None else ir.MAX_STEPS + 1) - 1
        return all(top - f + int(o) <= ir.MAX_STEPS for f, o in zip(self.firsts, self.offsets))


def real_cycles(n: ir.Repeat) -> RealCycles:
    """:class:`RealCycles` of a repeat with ``mult`` 1 and a literal ``of`` duration (at most ``v + 1`` entries;
    lowering bounds ``v``)."""
    length = ir.cycle_length(n)
    u, v = length.numerator, length.denominator
    if u <= ir.MAX_STEPS:
        window, limit = u, u
        qs, rs = divmod(n.shift, u)
    else:  # one window holds every step
        window, limit = None, ir.MAX_STEPS + 1
        qs, rs = 0, n.shift
    i0 = (rs * v) // u  # the cycle in progress at the window's start
    firsts, offsets = [], []
    i = i0
    while True:
        begin = Fraction(i * u - rs * v, v)  # cycle i's real start, in the window's time
        if i > i0 and begin >= limit:
            break
        first = max(0, math.ceil(begin))
        firsts.append(first)
        offsets.append(first - begin)
        i += 1
    end = None if n.times is None else math.ceil(n.times * length) - n.shift
    return RealCycles(window, tuple(firsts), tuple(offsets), i0 + qs * v, v, n.period / length, end)


def real_cycle_at(cy: RealCycles, t: int) -> tuple[int, int]:
    """``(cycle, first step of that cycle's part in t's window)`` of the step ``t`` (Python ints, exact)."""
    s, r = (0, t) if cy.window is None else divmod(t, cy.window)
    j = bisect.bisect_right(cy.firsts, r) - 1
    return cy.base + s * cy.per_window + j, t - r + cy.firsts[j]


def _real_repeat(n, xp):
    """A repeat with a real cycle length or a shifted clock (:class:`RealCycles`)."""
    of = build(n.of, xp)
    cy = real_cycles(n)
    times, window, v = n.times, cy.window, cy.per_window
    later = list(cy.firsts[1:])  # empty: one cycle begun before 2**31 (j is 0)
    if len(later) > F.SMALL_TABLE:
        later = xp.table(later)
    whole = cy.integral
    if whole:  # integer local times: the real starts themselves, at most two (a list, never a table): whole
        # offsets mean v = 1 (one cycle per window: the one in progress at its start and the next) or one cycle
        # begun before 2**31, since cycle i begins at i * u / v, whole only when v divides i
        starts = [f - int(o) for f, o in zip(cy.firsts, cy.offsets)]
    else:
        firsts = xp.table(cy.firsts) if len(cy.firsts) > F.SMALL_TABLE else list(cy.firsts)
        offsets = [float(o) for o in cy.offsets]
        offsets = xp.table(offsets) if len(offsets) > F.SMALL_TABLE else offsets
    scale = None if cy.scale == 1 else float(cy.scale)
    counted = times is not None or not (isinstance(n.decay, (int, float)) and n.decay == 1)

    def fn(t, env):
        if window is None:
            s, r = None, t
        else:
            s = xp.floordiv(t, window)
            r = t - s * window
        j = xp.count_le(later, r) if len(later) else 0
        if whole:
            local = r - xp.take(starts, j)
        else:
            local = xp.f(r - xp.take(firsts, j)) + xp.take(offsets, j)
        t_of = local if scale is None else xp.f(local) * scale
        if not counted:
            return of(t_of, env)
        c = xp.f(j) + float(cy.base)
        if s is not None:
            c = c + xp.f(s) * float(v)
        if times is not None:
            c = xp.minimum(c, float(times - 1))
            t_of = xp.where(t >= cy.end, n.period, t_of)
        decay = param(n.decay, xp, env)
        v_of = of(t_of, env)
        return v_of if F.is_const(decay, 1) else F.scaled(xp, v_of, decay, c)

    return fn


def _repeat(n, xp):
    if ir.has_real_cycles(n):
        return _real_repeat(n, xp)
    of = build(n.of, xp)
    m, times = n.mult, n.times

    def decayed(v, c, env):
        decay = param(n.decay, xp, env)
        if F.is_const(decay, 1):
            return v
        return F.scaled(xp, v, decay, xp.f(c))

    if m == 1:

        def fn(t, env):
            period = dur(n.period, env)
            c = xp.floordiv(t, period)
            local = t - c * period
            if times is not None:
                done = c >= times
                c = xp.minimum(c, times - 1)
                local = xp.where(done, period, local)
            return decayed(of(local, env), c, env)

        return fn

    # mult > 1: cycle i starts at B_i = P * (m**i - 1) / (m - 1) and lasts P * m**i; `of` sees local / m**i.
    integral = float(m).is_integer()
    if isinstance(n.period, int):
        # Constant period: every cycle's first step ceil(B_i) is an exact integer, the fractional remainder
        # ceil(B_i) - B_i is precomputed in float64, so cycles are located exactly for every t < 2**31.
        firsts, offsets, scales = _cycle_table(n.period, m, times)
        end = firsts[-1] if times is not None else None

        def table_fn(t, env):
            c = xp.count_le(firsts[1:] or [ir.MAX_STEPS + 1], t)  # an int index, also for a stretched (float) t
            first = xp.take(firsts, c)
            local = xp.f(t - first) + xp.take(offsets, c)
            t_of = local / xp.take(scales, c)
            if end is not None:
                c = xp.minimum(c, times - 1)
                t_of = xp.where(t >= end, xp.f(n.period), t_of)
            return decayed(of(t_of, env), c, env)

        return table_fn
    if not integral:  # pragma: no cover - lowering rejects a var-length period with a fractional mult
        raise AssertionError("a var-length period needs an integer mult")
    coefs = []
    i = 1
    while times is None or i < times:
        c = (int(m) ** i - 1) // (int(m) - 1)
        if c > ir.MAX_STEPS:
            break
        coefs.append(c)
        i += 1

    def fn(t, env):
        period = dur(n.period, env)
        # t >= P * coef  <=>  t // P >= coef for integer coef: exact, and no int32 overflow.
        c = xp.count_le(coefs or [ir.MAX_STEPS + 1], xp.floordiv(t, period))
        start = period * xp.take([0, *coefs], c)
        t_of = xp.f(t - start) / xp.power(float(m), xp.f(c))
        if times is not None:
            end = period * ((int(m) ** times - 1) // (int(m) - 1))
            c = xp.minimum(c, times - 1)
            t_of = xp.where(t >= end, xp.f(period), t_of)
        return decayed(of(t_of, env), c, env)

    return fn


def _cycle_table(period: int, m: float, times: int | None):
    """(first step of each cycle, first - exact start, m**i) for cycles 0.. (and the end, when `times` is set).

    Cycle i starts at ``period * (m**i - 1) / (m - 1)`` = ``period * (1 + m + ... + m**(i-1))``, computed exactly:
    a float ``m`` is ``a / 2**k``, so the sum is a whole number over a power of two, kept as such and extended by
    one power of ``m`` per cycle (linear in the size of the numbers; ``Fraction`` powers and their gcds took minutes
    for the 10,000 cycles a fractional ``mult`` may have). The floats are correctly rounded, as ``float(Fraction)``.
    """
    a, b = float(m).as_integer_ratio()  # b == 2**k
    k = b.bit_length() - 1
    total, shift = 0, 0  # (1 + m + ... + m**(i-1)) = total / 2**shift
    power = 1  # a**i: m**i = power / 2**(k*i)
    firsts, offsets, scales = [], [], []
    i = 0
    while True:
        num = period * total  # the exact start: num / 2**shift
        first = -((-num) >> shift)  # ceil
        if first > ir.MAX_STEPS or (times is not None and i > times):
            break
        firsts.append(first)
        offsets.append(((first << shift) - num) / (1 << shift))
        scales.append(power / (1 << (k * i)))
        total = (total << (k * i - shift)) + power  # over 2**(k*i) now (k*i >= shift)
        shift = k * i
        power *= a
        i += 1
    return firsts, offsets, scales


def _pointwise(combine):
    """A builder for a node whose parts are evaluated at the same t and folded with ``combine``."""

    def builder(n, xp):
        parts = [build(p, xp) for p in n.parts]

        def fn(t, env):
            out = parts[0](t, env)
            for p in parts[1:]:
                out = combine(out, p(t, env))
            return out

        return fn

    return builder


_product = _pointwise(operator.mul)
_sum = _pointwise(operator.add)


def _scale(n, xp):
    of = build(n.of, xp)
    return lambda t, env: param(n.by, xp, env) * of(t, env)


def _clip(n, xp):
    of = build(n.of, xp)

    def fn(t, env):
        v = of(t, env)
        if n.min is not None:
            v = xp.maximum(v, param(n.min, xp, env))
        if n.max is not None:
            v = xp.minimum(v, param(n.max, xp, env))
        return v

    return fn


# the combinators and the plateau: their own code; every other kind is a row of the table (:func:`_phase`)
_OWN = {
    ir.Plateau: _plateau, ir.Sequence: _sequence, ir.Repeat: _repeat, ir.Product: _product, ir.Scale: _scale,
    ir.Clip: _clip, ir.SumOf: _sum,
}  # fmt: skip
_BUILDERS = {**{cls: _phase for cls in K.TABLE}, **_OWN}


def final_value(node: ir.Node, env=None) -> float:
    """The value a finite node holds after its end, in float64 (Python math)."""
    env = env or {}
    return float(build(node, B.MathXP)(dur(node.duration, env), env))


def scalar_fn(node: ir.Node):
    """``k -> float`` of a bound tree on Python scalars (float64, no numpy, no jax): the torch path."""
    fn = build(node, B.MathXP)
    return lambda k: float(fn(int(k), {}))


__all__ = ["build", "final_value", "scalar_fn", "param", "dur", "math"]
