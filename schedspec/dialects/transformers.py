"""The transformers dialect: ``transformers.<lr_scheduler_type>`` kinds, one per Hugging Face ``SchedulerType``, with
``get_scheduler``'s parameter names and defaults, desugared into neutral kinds.

Every formula type of ``transformers/optimization.py`` is a ``LambdaLR`` whose multiplier ``λ(k)`` scales the
optimizer's lr; ``Trainer`` steps it once per optimizer update, so ``value(k) = lr * λ(k)`` with k counting
optimizer updates (docs/dialects.md §1). ``lr`` is that optimizer lr (``learning_rate``), ``num_warmup_steps`` W
and ``num_training_steps`` N are what ``Trainer.create_scheduler`` passes, and every other parameter is the type's
own keyword argument (``lr_scheduler_kwargs``) with HF's name and default. HF's behaviour is kept where it surprises,
each time with a note (``Spec.notes``): its cosines keep moving after N (they rise back towards ``lr``), the
warmup ramp ``k / W`` never reaches ``lr`` inside the warmup, ``constant`` ignores the warmup, W > N is accepted,
``warmup_stable_decay``'s ``min_lr_ratio`` lifts the warmup's start, ``cosine_warmup_with_min_lr`` is one step
ahead of ``cosine_with_min_lr``. ``greedy`` (metric-driven both ways, with resets) has no neutral spelling and is
refused with the reason. Live HF schedulers and ``TrainingArguments`` are read by :mod:`.hf_importer`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from .._fields import IDENT, MAX_CYCLES_PER_WINDOW, Duration
from ._base import (
    Cx,
    FrameworkKind,
    N,  # noqa: N817 - builds one neutral mapping
    Real,
    Steps,
    Value,
    is_var,
    kind_name,
)  # fmt: skip

_LR = (
    "The optimizer's learning rate (TrainingArguments `learning_rate`), which the HF multiplier scales. Default: "
    "the previous phase's final value (the first phase must give it)."
)
_W = "num_warmup_steps: optimizer updates of the linear warmup k / W (TrainingArguments get_warmup_steps). Default 0."
_N = "num_training_steps: the number of optimizer updates of the run (max_steps, or epochs x updates per epoch)."
_CYCLES = "num_cycles: the number of cosine waves between the warmup and num_training_steps. Default 0.5 (a half wave)."


class _HF(FrameworkKind):
    framework: ClassVar[str] = "transformers"

    lr: Value | None = Field(None, description=_LR)
    num_warmup_steps: Steps(ge=0) = Field(0, description=_W)

    def desugar(self, cx: Cx, span: int | None, carry: Any) -> Any:
        lr = self.lr
        if lr is None:
            if isinstance(carry, float):
                lr = carry
            else:
                cx.fail((), f"missing `lr`: {cx.kind} scales the optimizer's learning rate; give it as `lr` (it "
                            "defaults to the previous phase's final value only when that is a number)")  # fmt: skip
        return self.curve(cx, lr)

    def curve(self, cx: Cx, lr: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    # ------------------------------------------------------------------ shared pieces
    def warmup_steps(self, cx: Cx) -> int:
        return cx.steps(self.num_warmup_steps, ("num_warmup_steps",), "HF compares the step with it")

    def training_steps(self, cx: Cx) -> int:
        raw = getattr(self, "num_training_steps", None)
        if raw is None:
            cx.fail(("num_training_steps",), f"{cx.kind} needs `num_training_steps` (HF: \"SchedulerType requires "
                                              "`num_training_steps`, please provide that argument.\")")  # fmt: skip
        return cx.steps(raw, ("num_training_steps",), "HF computes the decay's length from it")

    @staticmethod
    def ramp(lr: Any, w: int) -> list:
        """HF's warmup ``k / max(1, W)``: ``[]`` without one."""
        return [N("linear", start=0.0, end=lr, duration=w)] if w > 0 else []

    def cosine_wave(self, cx: Cx, top: Any, bottom: Any, length: int, cycles: Any, shift: int = 0) -> dict:
        """``bottom + (top - bottom) * (1 + cos(2 pi c p)) / 2`` for every ``p = (t + shift) / length >= 0`` (HF's
        cosines, which keep moving after their end): a repeat of a half wave down and a half wave up. When the half
        period ``length / (2c)`` is a whole number of steps each half lasts it; otherwise the two halves (one step
        each) are stretched to the real period ``length / c``, written exactly as ``period: "<length>/<c>"``."""
        c = cx.lit(cycles, ("num_cycles",), "HF computes the wave's period from it")
        if c <= 0:
            cx.fail(("num_cycles",), f"num_cycles = {c:g}: give a number > 0 (with 0 HF's cosine is constant)")
        extra = {"shift": shift} if shift else {}
        half = Fraction(length) / (2 * _exact(c))
        if half >= 1 and half.denominator == 1:
            h = int(half)
            return N("repeat", of=[N("cosine", start=top, end=bottom, duration=h),
                                   N("cosine", start=bottom, end=top, duration=h)], **extra)  # fmt: skip
        period = _real_period(cx, length, c, "the wave's period")
        cx.note(f"HF's wave has a real-valued period: (num_training_steps - num_warmup_steps) / num_cycles = "
                f"{length} / {_num(c)} steps; neutral: a `repeat` with `period: \"{period}\"` (its cycles begin at the "
                "first step at or after each real boundary)")  # fmt: skip
        return N("repeat", period=period, of=[N("cosine", start=top, end=bottom, duration=1),
                                              N("cosine", start=bottom, end=top, duration=1)], **extra)  # fmt: skip

    def note_rises(self, cx: Cx, n: int, what: str) -> None:
        if cx.horizon is None or cx.horizon > n:
            cx.note(f"HF's cosine keeps moving after num_training_steps = {n}: it rises back towards lr ({what}); "
                    "neutral: a `repeat` of a cosine down and a cosine up")  # fmt: skip


def _exact(c: Any) -> Fraction:
    """HF's ``num_cycles`` as an exact number: an int, or the decimal a float prints as (``1.5`` is 3/2, ``0.3``
    is 3/10; HF computes with the binary float, within 1e-16 of it)."""
    return Fraction(c) if isinstance(c, int) else Fraction(repr(float(c)))


def _real_period(cx: Cx, length: int, c: Any, what: str) -> str:
    """``"<length>/<c>"``, checked against the table limit of a real period (positioned at num_cycles)."""
    period = Fraction(length) / _exact(c)
    if period.denominator > MAX_CYCLES_PER_WINDOW:
        cx.fail(("num_cycles",), f"num_cycles = {_num(c)}: {what} {length} / num_cycles is {period.numerator}/"
                                 f"{period.denominator} steps ({period.denominator} cycles in {period.numerator} "
                                 f"steps); a real period tabulates at most {MAX_CYCLES_PER_WINDOW} cycle starts: "
                                 "give num_cycles with fewer decimals")  # fmt: skip
    return f"{length}/{_num(c)}"


def _num(c: Any) -> str:
    """A number as written in a period or a message: ``3`` for 3.0, ``1.5``."""
    return str(int(c)) if float(c).is_integer() else repr(float(c))


def _nearby(length: int, ok: Any, reach: int) -> list[int]:
    """The nearest length below and the nearest above ``length`` (within ``reach`` steps) that satisfy ``ok``."""
    below = next((x for x in range(length - 1, max(0, length - reach), -1) if ok(x)), None)
    above = next((x for x in range(length + 1, length + reach) if ok(x)), None)
    return [x for x in (below, above) if x is not None]


def _late_restart(w: int, length: int, c: Any) -> int | None:
    """The first step where HF's float arithmetic, ``(float(c) * (float(k - W) / float(L))) % 1.0``, moves a
    restart of cosine_with_restarts away from the exact one (the first step at or after ``i * L / c``), or None."""
    exact = _exact(c)
    cf = float(c)
    i = 1
    while i < exact:  # the restarts before p = 1
        b = -((-i * length * exact.denominator) // exact.numerator)  # ceil(i * L / c): exact
        for k in (b - 1, b):
            want = (k * exact.numerator) // (length * exact.denominator)  # the exact cycle of step k
            if 0 <= k < length and math.floor(cf * (float(k) / float(length))) != want:  # (HF: 0 from p >= 1)
                return w + k
        i += 1
    return None


class HFLinear(_HF):
    """HF ``get_linear_schedule_with_warmup``: ``k / W`` then ``max(0, (N - k) / max(1, N - W))``."""

    kind: Literal["transformers.linear"] = Field(description="HF lr_scheduler_type linear: warmup, linear decay to 0.")
    num_training_steps: Steps(ge=0) | None = Field(None, description=_N)

    def curve(self, cx, lr):
        w, n = self.warmup_steps(cx), self.training_steps(cx)
        if w >= n:
            cx.note(f"num_warmup_steps = {w} >= num_training_steps = {n}: HF's ramp k / W runs to k = W - 1, then the "
                    "lr is 0")  # fmt: skip
            return [*self.ramp(lr, w), N("constant", value=0.0)]
        return [*self.ramp(lr, w), N("linear", start=lr, end=0.0, duration=n - w)]


class HFCosine(_HF):
    """HF ``get_cosine_schedule_with_warmup``: ``0.5 * (1 + cos(2 pi c (k - W) / max(1, N - W)))`` after the warmup."""

    kind: Literal["transformers.cosine"] = Field(description="HF lr_scheduler_type cosine: warmup, cosine to 0 (continues).")
    num_training_steps: Steps(ge=0) | None = Field(None, description=_N)
    num_cycles: Real(gt=0) = Field(0.5, description=_CYCLES)

    def curve(self, cx, lr):
        w, n = self.warmup_steps(cx), self.training_steps(cx)
        self.note_rises(cx, n, "it is back at lr at k = 2N - W with num_cycles 0.5")
        return [*self.ramp(lr, w), self.cosine_wave(cx, lr, 0.0, max(1, n - w), self.num_cycles)]


class HFCosineWithRestarts(_HF):
    """HF ``get_cosine_with_hard_restarts_schedule_with_warmup``: ``num_cycles`` half cosines to 0, then 0."""

    kind: Literal["transformers.cosine_with_restarts"] = Field(
        description="HF lr_scheduler_type cosine_with_restarts: warmup, num_cycles hard restarts, 0 from N on."
    )
    num_training_steps: Steps(ge=0) | None = Field(None, description=_N)
    num_cycles: Real(gt=0) = Field(1, description="num_cycles: the number of hard restarts. Default 1.")

    def curve(self, cx, lr):
        w, n = self.warmup_steps(cx), self.training_steps(cx)
        c = cx.lit(self.num_cycles, ("num_cycles",), "HF computes the period from it")
        length = max(1, n - w)
        exact = _exact(c)
        period = Fraction(length) / exact
        late = _late_restart(w, length, c)
        if late is not None:
            reach = 1000 if c <= 100 else 20  # each candidate checks c boundaries
            near = [x + w for x in _nearby(length, lambda x: _late_restart(w, x, c) is None, reach=reach)]
            cx.fail(("num_cycles",), f"HF restarts every (num_training_steps - num_warmup_steps) / num_cycles = "
                                     f"{length} / {_num(c)} steps, and its float arithmetic ((num_cycles * progress) % "
                                     f"1.0) puts the restart at k = {late} one step away from the exact boundary, "
                                     "which a neutral `repeat` with a real period (the first step at or after each "
                                     "boundary) would not reproduce. To keep HF's values, change "
                                     "num_training_steps so that no boundary is met within a rounding error"
                                     + (f" (e.g. num_training_steps = {' or '.join(map(str, near))})" if near else "")
                                     + " or num_cycles")  # fmt: skip
        if exact.denominator == 1 and period.denominator == 1:
            return [*self.ramp(lr, w), N("repeat", times=int(c), of=N("cosine", start=lr, end=0.0, duration=int(period)))]
        spelled = _real_period(cx, length, c, "the restart period")
        cx.note(f"HF restarts every (num_training_steps - num_warmup_steps) / num_cycles = {length} / {_num(c)} steps, "
                f"a real period: neutral `repeat` with `period: \"{spelled}\"` (a restart at the first step at or "
                "after each real boundary, as HF's (num_cycles * progress) % 1.0)")  # fmt: skip
        cosine = N("cosine", start=lr, end=0.0, duration=1)
        if exact.denominator == 1:  # num_cycles whole cycles, then 0 (the last cycle's end) from N on
            return [*self.ramp(lr, w), N("repeat", times=int(exact), period=spelled, of=cosine)]
        # a fractional num_cycles: HF cuts the last cycle at num_training_steps (progress >= 1: 0.0)
        return [*self.ramp(lr, w), N("repeat", period=spelled, duration=length, of=cosine), N("constant", value=0.0)]


class HFPolynomial(_HF):
    """HF ``get_polynomial_decay_schedule_with_warmup``: ``(lr - lr_end) * (1 - (k - W) / (N - W)) ** power + lr_end``."""

    kind: Literal["transformers.polynomial"] = Field(
        description="HF lr_scheduler_type polynomial: warmup, polynomial decay to lr_end (absolute), then lr_end."
    )
    num_training_steps: Steps(ge=0) | None = Field(None, description=_N)
    lr_end: Real(ge=0) = Field(1e-7, description="lr_end: the final lr (absolute, not a ratio). Default 1e-7.")
    power: Real(gt=0) = Field(1.0, description="power: the decay's exponent. Default 1.")

    def curve(self, cx, lr):
        w, n = self.warmup_steps(cx), self.training_steps(cx)
        eta = cx.lit(lr, ("lr",), "HF compares lr_end with it")
        end = cx.lit(self.lr_end, ("lr_end",), "HF compares it with lr")
        if not eta > end:
            cx.fail(("lr_end",), f"HF: \"lr_end ({end!r}) must be smaller than initial lr ({eta!r})\"")
        if n == w:
            cx.fail(("num_training_steps",), f"num_training_steps = num_warmup_steps = {n}: HF divides by "
                                             "num_training_steps - num_warmup_steps (ZeroDivisionError at k = W)")  # fmt: skip
        if n < w:
            cx.note(f"num_warmup_steps = {w} > num_training_steps = {n}: HF gives lr_end from the warmup's end on")
            return [*self.ramp(lr, w), N("constant", value=end)]
        return [*self.ramp(lr, w), N("polynomial", start=lr, end=end, power=self.power, duration=n - w)]


class HFConstant(_HF):
    """HF ``get_constant_schedule``: the lr, always (``get_scheduler`` ignores the warmup)."""

    kind: Literal["transformers.constant"] = Field(description="HF lr_scheduler_type constant: lr (no warmup).")
    num_training_steps: Steps(ge=0) | None = Field(None, description=_N + " Ignored by HF for this type.")

    def curve(self, cx, lr):
        if self.num_warmup_steps not in (0, None):
            cx.note("HF's constant ignores num_warmup_steps (get_scheduler returns get_constant_schedule before "
                    "reading it); neutral: {kind: constant, value: lr}")  # fmt: skip
        return N("constant", value=lr)


class HFConstantWithWarmup(_HF):
    """HF ``get_constant_schedule_with_warmup``: ``k / max(1, W)``, then 1."""

    kind: Literal["transformers.constant_with_warmup"] = Field(description="HF lr_scheduler_type constant_with_warmup.")
    num_training_steps: Steps(ge=0) | None = Field(None, description=_N + " Ignored by HF for this type.")

    def curve(self, cx, lr):
        return [*self.ramp(lr, self.warmup_steps(cx)), N("constant", value=lr)]


class HFInverseSqrt(_HF):
    """HF ``get_inverse_sqrt_schedule``: ``k / W``, then ``1 / sqrt((k + timescale - W) / timescale)``."""

    kind: Literal["transformers.inverse_sqrt"] = Field(description="HF lr_scheduler_type inverse_sqrt.")
    num_training_steps: Steps(ge=0) | None = Field(None, description=_N + " Ignored by HF for this type.")
    timescale: Duration | None = Field(None, description="timescale. Default: num_warmup_steps, or 10000 without warmup.")

    def curve(self, cx, lr):
        w = self.warmup_steps(cx)
        if self.timescale is None:
            ts = w or 10_000
            if w == 0:
                cx.note("no warmup: HF's timescale defaults to num_warmup_steps or 10_000 = 10000")
        else:
            ts = self.timescale
        return [*self.ramp(lr, w), N("inverse_sqrt", start=lr, timescale=ts, shift=ts)]


class HFReduceLROnPlateau(_HF):
    """HF ``get_reduce_on_plateau_schedule``: torch ``ReduceLROnPlateau(optimizer, **lr_scheduler_kwargs)``, stepped
    by ``Trainer._evaluate`` with ``eval_<metric_for_best_model>`` after each evaluation."""

    kind: Literal["transformers.reduce_lr_on_plateau"] = Field(description="HF lr_scheduler_type reduce_lr_on_plateau.")
    num_training_steps: Steps(ge=0) | None = Field(None, description=_N + " Ignored by HF for this type.")
    monitor: str = Field(
        "eval_loss", pattern=rf"^{IDENT}$",
        description="schedspec: the reported metric, 'eval_' + metric_for_best_model. Default eval_loss.",
    )
    every: Duration | None = Field(None, description="schedspec: updates between two evaluations (eval_steps). Default 1 epoch.")
    mode: Literal["min", "max"] = Field("min", description="mode. Default min.")
    factor: Real("torch: Factor should be < 1.0.", gt=0, lt=1) = Field(0.1, description="factor. Default 0.1.")
    patience: int = Field(10, ge=0, description="patience. Default 10.")
    threshold: Real(ge=0) = Field(1e-4, description="threshold. Default 1e-4.")
    threshold_mode: Literal["rel", "abs"] = Field("rel", description="threshold_mode. Default rel.")
    cooldown: int = Field(0, ge=0, description="cooldown. Default 0.")
    min_lr: Real(ge=0) = Field(0.0, description="min_lr. Default 0.")
    eps: Real(ge=0) = Field(1e-8, description="eps. Default 1e-8.")

    def curve(self, cx, lr):
        if self.num_warmup_steps not in (0, None):
            cx.note("HF's reduce_lr_on_plateau ignores num_warmup_steps (no warmup)")
        return N("plateau", start=lr, monitor=self.monitor, every=self.every, mode=self.mode, factor=self.factor,
                 patience=self.patience, threshold=self.threshold, threshold_mode=self.threshold_mode,
                 cooldown=self.cooldown, min=self.min_lr, eps=self.eps)  # fmt: skip


def _min_rate(cx: Cx, kind: Any, lr: Any) -> float:
    if kind.min_lr is not None and kind.min_lr_rate is not None:
        cx.fail(("min_lr",), "HF: \"Only one of min_lr or min_lr_rate should be set\"")
    if kind.min_lr is None and kind.min_lr_rate is None:
        cx.fail((), "HF: \"One of min_lr or min_lr_rate should be set through the `lr_scheduler_kwargs`\"")
    if kind.min_lr_rate is not None:
        return cx.lit(kind.min_lr_rate, ("min_lr_rate",), "HF computes with it")
    eta = cx.lit(lr, ("lr",), "HF divides min_lr by it")
    return cx.lit(kind.min_lr, ("min_lr",), "HF divides it by lr") / eta


class HFCosineWithMinLR(_HF):
    """HF ``get_cosine_with_min_lr_schedule_with_warmup``: the cosine, between lr and ``min_lr_rate * lr``."""

    kind: Literal["transformers.cosine_with_min_lr"] = Field(description="HF lr_scheduler_type cosine_with_min_lr.")
    num_training_steps: Steps(ge=0) | None = Field(None, description=_N)
    num_cycles: Real(gt=0) = Field(0.5, description=_CYCLES)
    min_lr: Real(ge=0) | None = Field(None, description="min_lr: the lowest lr (absolute). Exactly one of min_lr, min_lr_rate.")
    min_lr_rate: Real(ge=0) | None = Field(None, description="min_lr_rate: the lowest lr as a ratio of lr.")

    def curve(self, cx, lr):
        w, n = self.warmup_steps(cx), self.training_steps(cx)
        r = _min_rate(cx, self, lr)
        self.note_rises(cx, n, "between lr and min_lr")
        return [*self.ramp(lr, w), self.cosine_wave(cx, lr, cx.mul(lr, r, ("lr",), "HF scales it"), max(1, n - w),
                                                    self.num_cycles)]  # fmt: skip


class HFCosineWarmupWithMinLR(_HF):
    """HF ``get_cosine_with_min_lr_schedule_with_warmup_lr_rate``: warmup ``(k + 1) / W`` (or ``warmup_lr_rate``
    ``+ (1 - rate) * k / (W - 1)``), then the cosine with ``p = (k - W + 1) / max(1, N - W)``: one step ahead."""

    kind: Literal["transformers.cosine_warmup_with_min_lr"] = Field(
        description="HF lr_scheduler_type cosine_warmup_with_min_lr."
    )
    num_training_steps: Steps(ge=0) | None = Field(None, description=_N)
    num_cycles: Real(gt=0) = Field(0.5, description=_CYCLES)
    min_lr: Real(ge=0) | None = Field(None, description="min_lr: the lowest lr (absolute). Exactly one of min_lr, min_lr_rate.")
    min_lr_rate: Real(ge=0) | None = Field(None, description="min_lr_rate: the lowest lr as a ratio of lr.")
    warmup_lr_rate: Real(ge=0) | None = Field(None, description="warmup_lr_rate: the warmup's first value as a ratio of lr. Default 1 / W.")

    def curve(self, cx, lr):
        w, n = self.warmup_steps(cx), self.training_steps(cx)
        r = _min_rate(cx, self, lr)
        if w == 0:
            # HF evaluates p = (k + 1) / N: the wave's phase 0 falls at k = -1, one step before the schedule begins
            cx.note("num_warmup_steps = 0: HF's cosine_warmup_with_min_lr computes the cosine at p = (k + 1) / "
                    "num_training_steps, one step ahead (already below lr at k = 0); neutral: the wave's `repeat` "
                    "with `shift: 1`")  # fmt: skip
            self.note_rises(cx, n, "between lr and min_lr")
            return self.cosine_wave(cx, lr, cx.mul(lr, r, ("lr",), "HF scales it"), max(1, n), self.num_cycles,
                                    shift=1)  # fmt: skip
        cx.note("HF's cosine_warmup_with_min_lr is one step ahead of cosine_with_min_lr: the warmup reaches lr at "
                "k = W - 1, where the cosine begins")  # fmt: skip
        self.note_rises(cx, n, "between lr and min_lr")
        wave = self.cosine_wave(cx, lr, cx.mul(lr, r, ("lr",), "HF scales it"), max(1, n - w), self.num_cycles)
        if w == 1 and self.warmup_lr_rate is None:
            return wave  # HF's warmup at k = 0 is (0 + 1) / 1: lr, the wave's own start
        if w == 1:
            # HF's warmup at k = 0 is warmup_lr_rate + (1 - rate) * 0 / max(1, W - 1) = warmup_lr_rate, and the
            # wave (which begins at k = W - 1 = 0) takes over at k = 1: the wave gated off at k = 0, plus that value
            first = cx.mul(lr, self.warmup_lr_rate, ("lr",), "HF's warmup starts at warmup_lr_rate * lr")
            cx.note("num_warmup_steps = 1 with warmup_lr_rate: HF's one warmup step is warmup_lr_rate * lr, then the "
                    "cosine from its value at k = 1; neutral: a `sum` of the cosine gated from k = 1 and that step")  # fmt: skip
            gate = N("piecewise", points=[[0, 0.0], [1, 1.0]])
            return N("sum", of=[N("product", of=[wave, gate]), [N("constant", value=first, duration=1),
                                                                 N("constant", value=0.0)]])  # fmt: skip
        if self.warmup_lr_rate is None:
            first = cx.mul(lr, 1.0 / w, ("lr",), "HF's warmup starts at lr / W")
        else:
            first = cx.mul(lr, self.warmup_lr_rate, ("lr",), "HF's warmup starts at warmup_lr_rate * lr")
        return [N("linear", start=first, end=lr, duration=w - 1), wave]


class HFWarmupStableDecay(_HF):
    """HF ``get_wsd_schedule``: warmup from ``min_lr_ratio * lr``, stable, decay to ``min_lr_ratio * lr``, held."""

    kind: Literal["transformers.warmup_stable_decay"] = Field(description="HF lr_scheduler_type warmup_stable_decay.")
    num_training_steps: Steps(ge=0) | None = Field(None, description=_N)
    num_decay_steps: Steps(ge=0) = Field(description="num_decay_steps: updates of the decay (required by HF).")
    num_stable_steps: Steps(ge=0) | None = Field(
        None, description="num_stable_steps. Default num_training_steps - num_warmup_steps - num_decay_steps."
    )
    warmup_type: Literal["linear", "cosine", "1-sqrt"] = Field("linear", description="warmup_type. Default linear.")
    decay_type: Literal["linear", "cosine", "1-sqrt"] = Field("cosine", description="decay_type. Default cosine.")
    min_lr_ratio: Real(ge=0) = Field(0.0, description="min_lr_ratio: the floor as a ratio of lr. Default 0.")
    num_cycles: Real(gt=0) = Field(0.5, description=_CYCLES + " (in the cosine decay)")

    def curve(self, cx, lr):
        w = self.warmup_steps(cx)
        d = cx.steps(self.num_decay_steps, ("num_decay_steps",), "HF compares the step with it")
        if self.num_stable_steps is None and self.num_training_steps is None:
            cx.fail((), "HF: \"Either num_training_steps or num_stable_steps must be specified.\"")
        if self.num_stable_steps is not None:
            s = cx.steps(self.num_stable_steps, ("num_stable_steps",), "HF compares the step with it")
            if self.num_training_steps is not None:
                cx.note("both num_training_steps and num_stable_steps are given: HF uses num_stable_steps (with a "
                        "warning) and holds min_lr_ratio * lr after the decay")  # fmt: skip
        else:
            s = self.training_steps(cx) - w - d
            if s < 0:
                cx.fail(("num_decay_steps",), f"num_training_steps - num_warmup_steps - num_decay_steps = {s} < 0: "
                                              "the stable phase would be negative")  # fmt: skip
        m = self.min_lr_ratio
        low = cx.mul(lr, m, ("min_lr_ratio",), "HF scales lr by it")
        out = []
        if w > 0:
            if not (not is_var(m) and float(m) == 0):
                cx.note("HF's min_lr_ratio also lifts the warmup: it starts at min_lr_ratio * lr, not 0")
            shape = {"linear": N("linear", start=low, end=lr, duration=w),
                     "cosine": N("cosine", start=low, end=lr, duration=w),
                     "1-sqrt": N("polynomial", start=low, end=lr, power=0.5, duration=w)}[self.warmup_type]  # fmt: skip
            out.append(shape)
        if s > 0:
            out.append(N("constant", value=lr, duration=s))
        if d > 0:
            if self.decay_type == "linear":
                out.append(N("linear", start=lr, end=low, duration=d))
            elif self.decay_type == "1-sqrt":
                out.append(N("linear", start=lr, end=low, warp=0.5, duration=d))
            elif not is_var(self.num_cycles) and float(self.num_cycles) == 0.5:
                out.append(N("cosine", start=lr, end=low, duration=d))
            else:
                wave = self.cosine_wave(cx, lr, low, d, self.num_cycles)
                out.append({**wave, "duration": d})
        out.append(N("constant", value=low))
        return out


class HFGreedy(FrameworkKind):
    """HF ``GreedyLR`` (``lr_scheduler_type: greedy``): refused, see :meth:`desugar`."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True, defer_build=True)
    framework: ClassVar[str] = "transformers"
    kind: Literal["transformers.greedy"] = Field(description="HF lr_scheduler_type greedy: refused (no neutral spelling).")

    def desugar(self, cx, span, carry):
        cx.fail((), "HF's greedy (GreedyLR) divides the lr by `factor` on improvement and multiplies it on a "
                    "plateau, with warmup/cooldown counters, resets after `reset_start` steps at min_lr and an "
                    "optional streaming average of the metric: it is not a function of the step and of reports "
                    "that any neutral kind (`plateau` only reduces) expresses; use transformers.reduce_lr_on_plateau "
                    "or write the schedule in neutral kinds")  # fmt: skip


KINDS = {kind_name(m): m for m in (
    HFLinear, HFCosine, HFCosineWithRestarts, HFPolynomial, HFConstant, HFConstantWithWarmup, HFInverseSqrt,
    HFReduceLROnPlateau, HFCosineWithMinLR, HFCosineWarmupWithMinLR, HFWarmupStableDecay, HFGreedy,
)}  # fmt: skip
SCHEDULER_TYPES = tuple(k.split(".", 1)[1] for k in KINDS)  # HF's own names (SchedulerType values we know)
