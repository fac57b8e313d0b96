"""The lowerer: validated models -> IR. Defaults, carried starts, sequences, combinators, groups; framework kinds
through their dialect's desugaring (:mod:`.dialect`); units and vars in :mod:`.units`, cross-phase checks in
:mod:`.checks`. Every problem is collected with its position, so one run reports all of them at once.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticCustomError

from .. import _compile, _metrics, _range, ir, language
from .. import kinds as K
from .._fields import VAR_RE
from .._source import Source
from ..dialects._base import FrameworkKind
from ..errors import Issue, SpecError, did_you_mean
from .checks import Checks
from .cycles import real_period
from .dialect import lower_framework_kind, validate_neutral
from .units import F32_RANGE, Units, bound_of
from .validate import sort_issues

__all__ = ["MAX_FRACTIONAL_CYCLES", "MAX_SWEEP", "Lowered", "lower"]

_NEEDS_LENGTH = {"linear", "cosine", "polynomial", "onecycle", "tanh"}
# the kinds with a branch of their own in `_Lowerer._phase` (a carried `value`, `cycle`, a check across fields,
# points, a period, a metric); every other row of the table is built by `_Lowerer._generic` from its slots
_BRANCHED = frozenset({"constant", "polynomial", "tanh", "multistep", "piecewise", "cyclic", "onecycle", "plateau"})
MAX_SWEEP = 1_000_000
MAX_FRACTIONAL_CYCLES = 10_000  # cycles of a repeat with a fractional `mult` (tabulated one by one)

@dataclasses.dataclass(frozen=True)
class Lowered:
    """What lowering a document gives.

    Attributes:
        program: the resolved :class:`schedspec.ir.Program`.
        warnings: problems that are not errors, in document order.
        notes: the framework quirks the spec relies on (framework kinds), severity ``"note"``, in document order.
        desugared: the neutral data of each outermost framework-kind node, by document path (``translate``).
    """

    program: ir.Program
    warnings: list[Issue]
    notes: list[Issue]
    desugared: dict[tuple, Any]


def lower(model: language.Document, doc: Source, overrides: dict | None = None) -> Lowered:
    """Lower a validated document to the IR (var ``overrides`` applied).

    Raises:
        SpecError: every problem found, each positioned.
    """
    lw = _Lowerer(model, doc, overrides)
    program = lw.run()
    return Lowered(program, sort_issues(lw.warnings), sort_issues(lw.notes), lw.desugared)


def _generic_row(kind: str) -> K.Kind | None:
    """The row of a neutral phase kind lowered generically (no branch of its own), else None."""
    if kind in _BRANCHED:
        return None
    return K.TABLE.get(ir.KINDS.get(kind))  # type: ignore[arg-type]


def _needs_length(row: K.Kind) -> bool:
    """Whether a generically lowered kind must have a duration: its row takes ``duration`` as a DUR slot."""
    return any(s.field == "duration" and s.shape == K.DUR for s in row.slots)


class _Lowerer(Units, Checks):
    """Lowers one validated document (with var ``overrides``) to a :class:`schedspec.ir.Program`; :meth:`run`."""

    def __init__(self, model: language.Document, doc: Source, overrides: dict | None = None):
        self.m, self.doc = model, doc
        self.issues: list[Issue] = []
        self.warnings: list[Issue] = []
        self.notes: list[Issue] = []  # quirks of the frameworks the spec relies on (framework kinds)
        self.desugared: dict[tuple, Any] = {}  # path of each outermost framework-kind node -> its neutral data
        self.interval = model.interval
        self.spe = model.steps_per_epoch
        self.tps = model.tokens_per_step
        self.total: int | None = None
        raw_vars = dict(model.vars)
        for name, value in (overrides or {}).items():
            if name not in raw_vars:
                raise SpecError(
                    [Issue(doc.file, None, None, f"vars.{name}", f"unknown var '{name}' (the spec defines: "
                           f"{', '.join(raw_vars) or 'none'}){did_you_mean(name, raw_vars)}")]
                )
            try:
                raw_vars[name] = language._var_entry(list(value) if isinstance(value, tuple) else value)
            except PydanticCustomError as exc:
                raise SpecError([Issue(doc.file, None, None, f"vars.{name}", f"var '{name}' set to {value!r}: {exc.message()}")]) from None
        self.overridden = frozenset(overrides or ())
        self.raw_vars = raw_vars
        self.var_defs: dict[str, ir.VarDef] = {}
        self.used: set[str] = set()
        self.offset: int | None = 0  # absolute begin of the node being lowered (for the `total` checks)
        self.records: list[tuple] = []  # (node, path, begin, root) of every phase and combinator, innermost first
        self.root: tuple = ()  # the schedule being lowered: ("lr",), ("groups", "head", "lr"), ...
        # > 0 while lowering a framework kind's desugared (internal) phases: where they begin is the framework's
        # business, not the user's (a phase of it may begin after `total`; the user's phases are checked)
        self.native_depth = 0

    # ---------------------------------------------------------------- what the dialects ask of the lowerer
    def note(self, path: tuple, message: str) -> None:
        """Record a framework quirk the spec relies on, at ``path`` (``Spec.notes``)."""
        self.notes.append(self.doc.issue(path, message, severity="note"))

    def neutral(self, data: Any) -> Any:
        """Validate neutral data into the language's models (pydantic's ``ValidationError`` on a problem)."""
        return validate_neutral(data)

    def schedule(self, m, path, carry: ir.Param | None, remaining: ir.Dur | None, top: bool = False):
        """Lower one schedule. ``remaining`` is the room left to `total` for an open last phase (None: no total)."""
        if isinstance(m, list):
            return self.sequence(m, path, carry, remaining)
        if not isinstance(m, BaseModel):  # a number or $var: a constant
            value = self.num(m, path)
            if value is None:
                return None
            return ir.Constant(value, remaining if remaining is not None and top else None, path=path)
        return self.phase(m, path, carry, remaining)

    def phase(self, m, path, carry, remaining):
        """Lower one phase or combinator (the node carries ``path``), and record it (with where it begins) for the
        overflow check."""
        begin = self.offset
        node = self._phase(m, path, carry, remaining)
        if node is not None:
            if node.path != path:
                node = dataclasses.replace(node, path=path)
            self.records.append((node, path, begin, self.root))
        return node

    def sequence(self, items, path, carry, remaining):
        parts = []
        begin: ir.Dur = 0
        n = len(items)
        base = self.offset  # absolute step where this sequence begins (None inside a repeat: it varies)
        for i, item in enumerate(items):
            ipath = path + (i,)
            last = i == n - 1
            at = base + begin if isinstance(base, int) and isinstance(begin, int) else None
            self.offset = at
            if at is not None and self.total is not None and at > self.total and not self.native_depth:
                self.err(ipath, f"this phase begins at {self._at(at)}, after `total` ({self._at(self.total)}); "
                                "shorten the phases before it or raise `total`")  # fmt: skip
            room = None
            at_total = False
            if last and remaining is not None:
                room = ir.dur_add(remaining, ir.dur_mul(begin, -1)) if begin else remaining
                if isinstance(room, int) and room <= 0:
                    at_total = room == 0 and i > 0  # it begins exactly at `total`: no room to run to
                    room = None
            if isinstance(item, list):
                node = self.sequence(item, ipath, carry, room)
            elif isinstance(item, BaseModel):
                if not last and item.duration is None and not self._has_intrinsic_length(item):
                    self.err(ipath, f"only the last phase of a sequence may omit `duration`; give this `{item.kind}` phase one")
                    return None
                node = self.phase(item, ipath, carry, room)
            else:
                if not last:
                    self.err(ipath, f"a bare number ({item}) has no duration; write "
                                    f"{{kind: constant, value: {item}, duration: ...}} for a phase that is not the last")  # fmt: skip
                    return None
                node = self.schedule(item, ipath, carry, room)
            if node is None:
                return None
            if i > 0 and not isinstance(item, list):  # a bare number is a constant: its jump warns alike
                self._check_jump(item, ipath, carry, node)
            parts.append(node)
            if not last:
                if node.duration is None:
                    self.err(ipath, "only the last phase of a sequence may run forever; give this phase a `duration`")
                    return None
                begin = ir.dur_add(begin, node.duration)
                carry = self.final(node)
        self.offset = base
        if len(parts) == 1:
            return parts[0]
        if len(items) > 1 and isinstance(items[0], language.Linear):
            first = parts[0]
            if isinstance(first.start, float) and isinstance(first.end, float) and first.end < first.start:
                self.warn(path + (0,), f"this looks like a warmup (a first `linear` phase), but its end {first.end:g} is "
                                       f"below its start {first.start:g}; swap `start` and `end` if it should rise")  # fmt: skip
        total = begin
        last_d = parts[-1].duration
        total = ir.dur_add(total, last_d)
        if isinstance(total, int) and total > ir.MAX_STEPS:
            unit = "steps" if self.interval == "step" else "epochs"
            self.err(path, f"this sequence lasts {total} {unit}, more than 2**31-1 (the int32 step counter of every "
                           "framework); shorten its phases")  # fmt: skip
            return None
        flat: list[ir.Node] = []
        for p in parts:  # nested sequences flatten: same boundaries, same meaning, same fingerprint
            flat.extend(p.parts if isinstance(p, ir.Sequence) else [p])
        seq = ir.Sequence(tuple(flat), total, path=path)
        if at_total and last_d is None and not isinstance(flat[-1], ir.Constant):
            # the open last phase begins exactly at `total`: the sequence holds its value there (that phase's
            # first value), as an open last phase that runs to `total` holds its own; a window (clip, no bounds)
            return ir.Clip(seq, None, None, remaining, path=path)
        return seq

    def _has_intrinsic_length(self, m) -> bool:
        # a framework kind (torch.*, keras.*, optax.*) has its own length, or none (checked once it is desugared)
        return isinstance(m, (language.Repeat, language.Product, language.Scale, language.Clip, language.Sum, FrameworkKind))

    def final(self, node: ir.Node) -> ir.Param:
        """The carried start after ``node``: a float when it depends on no var, else ``Final(node)``."""
        if ir.depends_on_vars(node):
            return ir.Final(node)
        return _range.final_value(node)  # inf, never an OverflowError: a node that overflows is reported at the end

    def start(self, m, path, carry, field="start") -> ir.Param | None:
        raw = getattr(m, field)
        if raw is None:
            if carry is None:
                what = "start value" if field == "start" else field  # (a constant's `value`: "its value")
                self.err(path, f"missing `{field}`: the first phase must give its {what} "
                               "(later phases default to the previous phase's final value)")  # fmt: skip
                return None
            return carry
        return self.num(raw, path + (field,), bound_of(m, field))

    def _phase(self, m, path, carry, remaining):  # noqa: C901 - one branch per kind
        if isinstance(m, FrameworkKind):  # torch.*, keras.*, optax.*: desugared to neutral kinds, then lowered
            return lower_framework_kind(self, m, path, carry, remaining)
        k = m.kind
        ok = True

        def n(field):
            nonlocal ok
            raw = getattr(m, field)
            if raw is None:
                return None
            v = self.num(raw, path + (field,), bound_of(m, field))
            ok = ok and v is not None
            return v

        def d(field):
            nonlocal ok
            raw = getattr(m, field)
            if raw is None:
                return None
            v = self.dur(raw, path + (field,))
            ok = ok and v is not None
            return v

        duration = d("duration")
        if m.duration is not None and duration is None:
            return None  # the duration itself is wrong; already reported
        if m.duration is None:
            if k == "polynomial" and m.cycle:
                self.err(path + ("cycle",), "`cycle: true` restarts the decay after each `duration`: give the first "
                                            "decay length as `duration` (the phase itself never ends)")  # fmt: skip
                return None
            duration = remaining
        generic = _generic_row(k)
        if duration is None and (k in _NEEDS_LENGTH or (generic is not None and _needs_length(generic))):
            self.err(path, f"`{k}` needs a `duration` (or, as the last phase, a `total` to run to)")
            return None

        if generic is not None:
            return self._generic(generic, m, path, carry, duration, n, d)
        if k == "constant":
            value = self.start(m, path, carry, "value")
            return ir.Constant(value, duration) if value is not None and ok else None
        if k in ("repeat", "product", "scale", "clip", "sum"):
            node = self.combinator(m, path, carry, duration if m.duration is not None else None, remaining)
            if node is not None and node.duration is None and remaining is not None:
                node = dataclasses.replace(node, duration=remaining)  # the open last phase runs to `total`
            return node
        if k == "cyclic":
            low, high, up = n("low"), n("high"), d("up")  # (`down` defaults to `up`: read once, reported once)
            node = ir.Cyclic(low, high, up, d("down") if m.down is not None else up, m.mode, n("gamma"), duration)
            # (each check across fields runs when the fields it reads are valid: independent problems are all
            # reported, none is computed from a refused field)
            period = ir.dur_add(node.up, node.down) if node.up is not None and node.down is not None else None
            if isinstance(period, int) and period > ir.MAX_STEPS:
                self.err(path + ("up",), f"`up` + `down` = {period} steps, more than 2**31-1 (the int32 step counter of "
                                         "every framework)")  # fmt: skip
                ok = False
            return node if ok else None
        if k == "onecycle":
            node = ir.OneCycle(n("peak"), n("pct_start"), n("div_factor"), n("final_div_factor"), m.anneal, m.three_phase, duration)
            if isinstance(duration, int) and isinstance(node.pct_start, float):
                pn = node.pct_start * duration
                if pn <= 1:
                    self.err(path + ("pct_start",), f"pct_start * duration = {pn:g} must be > 1 (the peak is at "
                                                    "pct_start*N - 1, which must come after step 0)")  # fmt: skip
                    ok = False
                elif m.three_phase and not 2 * pn - 2 < duration - 1:
                    self.err(path + ("pct_start",), "with three_phase the second phase must end before N - 1: "
                                                    "lower pct_start below 0.5")  # fmt: skip
                    ok = False
            return node if ok else None
        if k == "piecewise":
            ats, values = [], []
            for i, (at, value) in enumerate(m.points):
                ppath = path + ("points", i)
                a = 0 if (isinstance(at, int) and at == 0) else self.dur(at, ppath + (0,))
                v = self.num(value, ppath + (1,))
                if a is None or v is None:
                    ok = False
                ats.append(a)
                values.append(v)
            if all(a is not None for a in ats):
                if ats[0] != 0:
                    self.err(path + ("points", 0, 0), f"the first point must be at 0 (got {m.points[0][0]!r})")
                    ok = False
                for i in range(1, len(ats)):
                    if isinstance(ats[i], int) and isinstance(ats[i - 1], int) and ats[i] <= ats[i - 1]:
                        self.err(path + ("points", i, 0), f"points must be in strictly ascending order of `at`: "
                                                          f"{ats[i]} comes after {ats[i - 1]}")  # fmt: skip
                        ok = False
            return ir.Piecewise(tuple(ats), tuple(values), m.interpolate, duration) if ok else None
        if k == "plateau":
            every = m.every
            if every is None:
                if self.interval == "epoch":
                    every_v = 1
                elif self.spe is None:
                    self.err(path, "`plateau` reports once per epoch by default, which needs `steps_per_epoch`; "
                                   "set it, or give `every`")  # fmt: skip
                    return None
                else:
                    every_v = self.spe
            else:
                every_v = self.steps_of(every, path + ("every",))
                if every_v is None:
                    return None
            start = self.start(m, path, carry)
            params = [n("factor"), n("threshold"), n("min"), n("eps")]
            if start is None or not ok:
                return None
            factor, threshold, low, eps = params
            return ir.Plateau(start, m.monitor, m.mode, factor, m.patience, threshold, m.threshold_mode, m.cooldown,
                              low, eps, every_v, duration)  # fmt: skip

        start = self.start(m, path, carry)
        if start is None:
            ok = False
        if k == "polynomial" and m.cycle:  # Keras cycle: `duration` is the first decay length; it never ends
            if not (isinstance(m.warp, float) and m.warp == 1):
                self.err(path + ("warp",), "`warp` is not supported with `cycle: true` (Keras has no warp); remove one")
                ok = False
            node = ir.PolynomialCycle(start, n("end"), n("power"), duration, remaining)
        elif k == "polynomial":
            node = ir.Polynomial(start, n("end"), n("power"), duration, warp=n("warp"))
        elif k == "tanh":
            lb, ub = n("lb"), n("ub")
            if isinstance(lb, float) and isinstance(ub, float) and not lb < ub:
                self.err(path + ("ub",), f"`ub` ({ub:g}) must be greater than `lb` ({lb:g}): the curve runs from "
                                         "tanh(lb) to tanh(ub) (timm asserts lb < ub)")  # fmt: skip
                ok = False
            node = ir.Tanh(start, n("end"), lb, ub, duration)
        elif k == "multistep":
            ms = [self.dur(x, path + ("milestones", i)) for i, x in enumerate(m.milestones)]
            if any(x is None for x in ms):
                return None
            for i in range(1, len(ms)):
                if isinstance(ms[i], int) and isinstance(ms[i - 1], int) and ms[i] < ms[i - 1]:
                    self.err(path + ("milestones", i), f"milestones must be in ascending order: {ms[i]} comes after {ms[i - 1]}")
                    ok = False
            node = ir.MultiStep(start, n("gamma"), tuple(ms), duration)
        else:  # pragma: no cover - every kind is handled above
            raise AssertionError(k)
        return node if ok else None

    def _generic(self, row: K.Kind, m, path, carry, duration, n, d) -> ir.Node | None:
        """A kind with no branch of its own: its IR node built from its row's slots and the model's fields of the
        same names (a ``start`` may be carried; a variant's field left unset is at its neutral value)."""
        ok = True
        args: dict[str, Any] = {}
        neutral = {s.field: row.variant.neutral for s in row.variant.slots} if row.variant else {}
        for slot in row.slots + (row.variant.slots if row.variant else ()):
            f, shape = slot.field, slot.shape
            raw = getattr(m, f)
            if f == "duration":
                v = duration
            elif f in neutral and raw is None:
                v = neutral[f]
            elif shape == K.PARAM and f == "start":
                v = self.start(m, path, carry)
            # a PARAM or DUR slot's field is required by the model or has a default, so it is never missing here,
            # and no generic row has a tuple slot (DURS, PARAMS: multistep and piecewise have their own branch):
            # tests/test_mut_lowering.py::test_every_generically_lowered_kind_gets_every_slot_from_its_model
            elif shape in (K.PARAM, K.OPTIONAL):
                v = n(f)  # (a value that is wrong is reported where it is read)
            elif shape == K.DUR:
                v = d(f)
            else:  # FLAG, WORD: as the model validated them (its Literal is the closed vocabulary)
                v = raw
            if v is None and shape != K.OPTIONAL:
                ok = False
            args[f] = v
        if "duration" not in args:
            args["duration"] = duration
        return row.node(**args) if ok else None

    def combinator(self, m, path, carry, duration, remaining):
        k = m.kind
        if k == "repeat":
            outer, self.offset = self.offset, None  # cycles begin at varying steps
            of = self.schedule(m.of, path + ("of",), carry, None)
            self.offset = outer
            if of is None:
                return None
            if of.duration is None:
                self.err(path + ("of",), "`repeat` needs `of` to have a finite duration (one period); give it a `duration`")
                return None
            decay = self.num(m.decay, path + ("decay",), bound_of(m, "decay"))
            if decay is None:
                return None
            mult, times, period = float(m.mult), m.times, of.duration
            if not math.isfinite(mult):
                self.err(path + ("mult",), f"`mult` must be a finite number (got {mult})")
                return None
            if m.period is not None or m.shift is not None:  # a real-valued cycle length, a shifted clock
                real = real_period(self, m, path, of, mult, times)
                if real is None:
                    return None
                span, shift, end = real
                if span is not None or shift:
                    if duration is None and end is not None:
                        duration = end
                    return ir.Repeat(of, period, times, mult, decay, duration, span=span, shift=shift)
            if mult > _range.F32_MAX:  # the targets stretch each cycle by mult**i in float32
                self.err(path + ("mult",), f"`mult`: {mult:g} is beyond the float32 range{F32_RANGE}")
                return None
            integral = mult.is_integer()
            if not integral and not isinstance(period, int):
                self.err(path + ("mult",), "a var-length period needs an integer `mult`")
                return None
            if not integral:  # a fractional mult is tabulated cycle by cycle: their number must stay small
                before_end = math.log1p(ir.MAX_STEPS * (mult - 1) / period) / math.log(mult)  # cycles by 2**31-1
                cycles = before_end if times is None else min(times, before_end)
                if cycles > MAX_FRACTIONAL_CYCLES:
                    self.err(path + ("mult",), f"with `mult` {mult!r} and a period of {period}, about {int(cycles)} cycles "
                                               f"begin before step 2**31-1; a fractional `mult` allows at most "
                                               f"{MAX_FRACTIONAL_CYCLES}: give fewer `times`, a larger `mult` or `mult: 1`")  # fmt: skip
                    return None
            if duration is None and times is not None:
                if mult == 1:
                    duration = ir.dur_mul(period, times)
                elif integral and times > 62:  # (m**times - 1) / (m - 1) >= 2**(times - 1): never computed
                    duration = ir.MAX_STEPS + 1
                elif integral:
                    duration = ir.dur_mul(period, (int(mult) ** times - 1) // (int(mult) - 1))
                else:  # the first step after the last cycle's exact (fractional) end
                    firsts = _compile._cycle_table(period, mult, times)[0]
                    duration = firsts[times] if len(firsts) > times else ir.MAX_STEPS + 1
                if isinstance(duration, int) and duration > ir.MAX_STEPS:
                    last = f"{duration} steps, more than 2**31-1" if times <= 62 else "more than 2**31-1 steps"
                    self.err(path + ("times",), f"{times} cycles last {last}")
                    return None
            return ir.Repeat(of, period, times, mult, decay, duration)
        # An open last phase inside product/sum/scale/clip runs to the combinator's own `duration`, else to `total`,
        # as it does unwrapped (a peak sweep is written `{kind: scale, by: $peak, of: [...]}`).
        room = duration if duration is not None else remaining
        if k in ("product", "sum"):
            parts = [self.schedule(p, path + ("of", i), None, room) for i, p in enumerate(m.of)]
            if any(p is None for p in parts):
                return None
            cls = ir.Product if k == "product" else ir.SumOf
            return cls(tuple(parts), self._longest(parts, path, duration))
        of = self.schedule(m.of, path + ("of",), carry if k == "clip" else None, room)
        if of is None:
            return None
        if k == "scale":
            by = self.num(m.by, path + ("by",))
            return ir.Scale(by, of, duration if duration is not None else of.duration) if by is not None else None
        lo = None if m.min is None else self.num(m.min, path + ("min",))
        hi = None if m.max is None else self.num(m.max, path + ("max",))
        if isinstance(lo, float) and isinstance(hi, float) and lo > hi:
            self.err(path + ("min",), f"`min` ({lo:g}) must not exceed `max` ({hi:g})")
            return None
        return ir.Clip(of, lo, hi, duration if duration is not None else of.duration)

    def _longest(self, parts, path, duration):
        if duration is not None:
            return duration
        ds = [p.duration for p in parts]
        if any(x is None for x in ds):
            return None
        if all(isinstance(x, int) for x in ds):
            return max(ds)
        if all(x == ds[0] for x in ds):
            return ds[0]
        self.err(path, "the parts have var durations, so the longest is not known; give this combinator a `duration`")
        return None

    # ---------------------------------------------------------------- document
    def run(self) -> ir.Program:
        m = self.m
        if self.spe is not None and self.spe > ir.MAX_STEPS:
            self.err(("steps_per_epoch",), f"`steps_per_epoch` {self.spe} is more than 2**31-1 (the int32 step counter "
                                           "of every framework)")  # fmt: skip
        if m.total is not None:
            if isinstance(m.total, str) and "%" in m.total:
                self.err(("total",), "`total` cannot be a percentage of itself; give steps or epochs")
            elif isinstance(m.total, str) and VAR_RE.match(m.total):
                self.err(("total",), "`total` must be a literal duration, not a var")
            else:
                self.total = self.steps_of(m.total, ("total",), what="total")
        hparams: dict[str, ir.Node] = {}
        for name, sched in [("lr", m.lr), *(m.__pydantic_extra__ or {}).items()]:
            self.offset, self.root = 0, (name,)
            node = self.schedule(sched, (name,), None, self.total, top=True)
            if node is not None:
                hparams[name] = node
                if isinstance(node.duration, int) and self.total is not None and node.duration < self.total:
                    self.warn((name,), f"the `{name}` schedule ends at {self._at(node.duration)}, before `total` "
                                       f"({self._at(self.total)}); it holds its final value after that")  # fmt: skip
        groups = self.groups(m, hparams)
        for name in self.raw_vars:
            values, sweep = self._values(name)
            numbers = tuple(float(v) for v in values) if all(not isinstance(v, str) for v in values) else None
            steps = None
            if name in self.used:
                collected = []
                for v in values:
                    s = self.quiet_steps(v)
                    if s is None:
                        collected = None
                        break
                    collected.append(s)
                steps = tuple(collected) if collected is not None else None
            self.var_defs[name] = ir.VarDef(name, tuple(values), numbers, steps, sweep)
            if name not in self.used:
                self.warn(("vars", name), f"var '{name}' is defined but never used")
        size = 1
        for v in self.var_defs.values():
            if v.sweep:
                size *= len(v.raw)
        if size > MAX_SWEEP:
            self.err(("vars",), f"the sweep has {size} members, more than {MAX_SWEEP}; split it")
        # plateaus: none inside a repeat, one report clock per metric
        self.issues.extend(_metrics.check_program(_metrics.schedules(ir.Program(hparams, groups=groups)), self.doc))
        if not self.issues:
            self.overflows()
        if self.issues:
            raise SpecError(sort_issues(self.issues))
        return ir.Program(
            hparams=hparams,
            vars={n: v for n, v in self.var_defs.items() if n in self.used},
            interval=self.interval,
            steps_per_epoch=self.spe,
            total=self.total,
            name=m.name,
            description=m.description,
            groups=groups,
        )

    def groups(self, m, hparams: dict) -> dict[str, dict[str, ir.Node]]:
        """Lower ``groups``: each group's own schedules, and ``scale`` folded in as ``Scale(scale, lr)``.

        A group may only override the document's hyperparameters (a key that is not one is a typo until proven
        otherwise); ``scale`` multiplies the group's own ``lr`` if it has one, else the document's.
        """
        out: dict[str, dict[str, ir.Node]] = {}
        names = ["lr", *(m.__pydantic_extra__ or {})]
        for gname, group in (m.groups or {}).items():
            own: dict[str, ir.Node] = {}
            for name, sched in (group.__pydantic_extra__ or {}).items():
                path = ("groups", gname, name)
                if name not in names:
                    self.err(path, f"group `{gname}`: `{name}` is not a hyperparameter of the document"
                                   f"{did_you_mean(name, [*names, 'scale'])} (it schedules: {', '.join(names)}); a group "
                                   "overrides the document's schedules, so schedule it at the top level too",
                             key=True)  # fmt: skip
                    continue
                self.offset, self.root = 0, path
                node = self.schedule(sched, path, None, self.total, top=True)
                if node is not None:
                    own[name] = node
            if group.scale is not None:
                by = self.num(group.scale, ("groups", gname, "scale"))
                lr = own.get("lr", hparams.get("lr"))
                if by is not None and lr is not None:
                    own["lr"] = ir.Scale(by, lr, lr.duration, path=("groups", gname, "scale"))
                    self.records.append((own["lr"], ("groups", gname, "scale"), 0, ("groups", gname, "lr")))
            if not own and group.scale is None:
                self.warn(("groups", gname), f"group `{gname}` changes nothing (no `scale`, no schedule): it gets "
                                             "the document's schedules")  # fmt: skip
            out[gname] = own
        return out
