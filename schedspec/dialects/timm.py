"""The timm dialect: ``timm.<sched>`` kinds for ``timm.scheduler``'s ``CosineLRScheduler``, ``TanhLRScheduler``,
``StepLRScheduler``, ``MultiStepLRScheduler``, ``PolyLRScheduler`` and ``PlateauLRScheduler``, with the classes' own
argument names and defaults, desugared into neutral kinds (docs/dialects.md §4).

Stepping follows timm's ``train.py``: ``t`` counts the spec's interval (``step(epoch + 1)`` after each epoch in an
epoch spec, ``step_update(num_updates)`` after each update in a step spec), so ``value(t) = _get_lr(t)`` for
``t >= 1`` and ``value(0)`` is what the constructor set: ``warmup_lr_init`` with a warmup, else ``lr`` (which
differs from ``_get_lr(0)`` for ``tanh``, and for a ``multistep`` milestone at 1). Quirks kept and noted: without
``warmup_prefix`` the warmup replaces the first ``warmup_t`` units of the curve (which is not shifted: it jumps from
the warmup's end to its value at ``warmup_t``), and tanh's warmup then ramps to that value; multistep milestones
apply one unit early (``bisect_right(decay_t, t + 1)``); cycles decay the peak, not the amplitude above ``lr_min``;
``plateau`` ignores the metric during the warmup (``epoch <= warmup_t``). The noise arguments are refused: seeded
randomness is not a schedule. Live timm schedulers are read by :mod:`.import_timm`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from .._fields import IDENT
from ._base import (
    Cx,
    FrameworkKind,
    N,  # noqa: N817 - builds one neutral mapping
    Real,
    Steps,
    Value,
    kind_name,
)  # fmt: skip

_NOISE = ("noise_range_t", "noise_pct", "noise_std", "noise_seed", "noise_type")
_T = "in units of the spec's interval (timm's t: epochs with t_in_epochs, else updates)"


def _mask(curve: Any, head: list, m: int) -> dict:
    """``head`` (lasting ``m``) for ``t < m``, then ``curve`` at the same (unshifted) ``t``: exact (a 0/1 window)."""
    window = N("piecewise", points=[[0, 0.0], [m, 1.0]])
    return N("sum", of=[N("product", of=[curve, window]), [*head, N("constant", value=0.0)]])


class _Timm(FrameworkKind):
    framework: ClassVar[str] = "timm"
    prefix_default: ClassVar[bool] = False

    lr: Value = Field(description="The optimizer's lr (timm's base value, `initial_lr`).")
    warmup_t: Steps(ge=0) = Field(0, description=f"warmup_t: warmup length, {_T}. Default 0.")
    warmup_lr_init: Real(ge=0) = Field(0.0, description="warmup_lr_init: the warmup's first value. Default 0.")
    warmup_prefix: bool | None = Field(None, description="warmup_prefix: the curve starts after the warmup (True) or "
                                       "at t = 0 (False: the warmup replaces its first warmup_t units).")  # fmt: skip
    t_in_epochs: bool = Field(True, description="t_in_epochs: timm's unit of t; here t counts the spec's interval.")
    initialize: bool = Field(True, description="initialize (timm): set initial_lr. Has no effect on the values.")
    noise_range_t: Any = Field(None, description="Refused when set: timm's lr noise is seeded randomness.")
    noise_pct: float = Field(0.67, description="Noise parameter (used only with noise_range_t).")
    noise_std: float = Field(1.0, description="Noise parameter (used only with noise_range_t).")
    noise_seed: int = Field(42, description="Noise parameter (used only with noise_range_t).")
    noise_type: str = Field("normal", description="Noise parameter (used only with noise_range_t).")

    def desugar(self, cx: Cx, span: int | None, carry: Any) -> Any:
        if self.noise_range_t is not None:
            cx.fail(("noise_range_t",), "timm's lr noise multiplies the lr by 1 + n, n drawn from a generator seeded "
                                        "with noise_seed + t: seeded randomness is not a schedule; remove "
                                        "noise_range_t (the spec gives the noiseless values)")  # fmt: skip
        w = cx.steps(self.warmup_t, ("warmup_t",), "timm compares t with it")
        prefix = self.prefix_default if self.warmup_prefix is None else self.warmup_prefix
        curve = self.curve(cx)
        if w == 0:
            first = self.first_value(cx)
            if first is None:
                return curve
            return _mask(curve, [N("constant", value=self.lr, duration=1)], 1)
        target = self.lr if prefix else self.warmup_target(cx, w)
        ramp = N("linear", start=self.warmup_lr_init, end=target, duration=w)
        if prefix:
            return [ramp, curve] if not isinstance(curve, list) else [ramp, *curve]
        cx.note(f"warmup_prefix False: timm's warmup replaces the first warmup_t = {w} units of the curve, which is "
                "not shifted (it continues from its own value at warmup_t); neutral: a sum of the curve times a 0/1 "
                "`piecewise` window and the warmup")  # fmt: skip
        return _mask(curve, [ramp], w)

    def curve(self, cx: Cx) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def first_value(self, cx: Cx) -> float | None:
        """Without warmup, update/epoch 0 is the constructor's ``lr``: not None when the curve differs there."""
        return None

    def warmup_target(self, cx: Cx, w: int) -> Any:
        """What a non-prefixed warmup ramps to (timm: the base value, or ``_get_lr(warmup_t)`` for tanh)."""
        return self.lr


class _Cycles(_Timm):
    t_initial: Steps(gt=0) = Field(description=f"t_initial: the first cycle's length, {_T} (timm asserts > 0).")
    lr_min: Real(ge=0) = Field(0.0, description="lr_min: the value at each cycle's end (timm asserts >= 0). Default 0.")
    cycle_mul: Real(gt=0) = Field(1.0, description="cycle_mul: each cycle is cycle_mul x longer. Default 1.")
    cycle_decay: Real(gt=0) = Field(1.0, description="cycle_decay: each cycle's peak is cycle_decay x the previous. Default 1.")
    cycle_limit: int = Field(1, ge=1, description="cycle_limit: the number of cycles; lr_min after them. Default 1.")

    def phase(self, start: Any, end: Any, t: int) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError

    def curve(self, cx):
        t = cx.steps(self.t_initial, ("t_initial",), "timm computes the cycles from it")
        mul = cx.lit(self.cycle_mul, ("cycle_mul",), "timm computes the cycles from it")
        decay = cx.lit(self.cycle_decay, ("cycle_decay",), "timm decays each cycle's peak by it")
        low = self.lr_min
        if mul < 1:
            cx.fail(("cycle_mul",), f"cycle_mul = {mul:g} < 1: cycles that shrink are not a neutral `repeat` "
                                    "(mult >= 1)")  # fmt: skip
        if self.cycle_limit == 1:
            return [self.phase(self.lr, low, t), N("constant", value=low)]
        cx.note("timm's cycles decay the peak (lr * cycle_decay**i), not the amplitude above lr_min; neutral: the "
                "sum of a repeat towards lr_min and a decaying repeat from lr towards 0")  # fmt: skip
        rep = {"times": self.cycle_limit, "mult": mul if mul != 1 else None}
        peak = N("repeat", of=self.phase(self.lr, 0.0, t), decay=decay if decay != 1 else None, **rep)
        if isinstance(low, float) and low == 0:
            return peak
        return N("sum", of=[N("repeat", of=self.phase(0.0, low, t), **rep), peak])


class TimmCosine(_Cycles):
    """timm ``CosineLRScheduler``: ``lr_min + (peak - lr_min) * (1 + cos(pi * t_c**k / t_i**k)) / 2``."""

    kind: Literal["timm.cosine"] = Field(description="timm CosineLRScheduler (--sched cosine).")
    k_decay: Real(gt=0) = Field(1.0, description="k_decay: warp of time, (t / T) ** k_decay. Default 1.")

    def phase(self, start, end, t):
        return N("cosine", start=start, end=end, duration=t, warp=self.k_decay if self.k_decay != 1 else None)


class TimmTanh(_Cycles):
    """timm ``TanhLRScheduler``: ``lr_min + (peak - lr_min) * (1 - tanh(lb * (1 - r) + ub * r)) / 2``."""

    kind: Literal["timm.tanh"] = Field(description="timm TanhLRScheduler (--sched tanh).")
    lb: Real() = Field(-7.0, description="lb: tanh's argument at the cycle's start. Default -7.")
    ub: Real() = Field(3.0, description="ub: tanh's argument at the cycle's end (timm asserts lb < ub). Default 3.")

    def phase(self, start, end, t):
        return N("tanh", start=start, end=end, lb=self.lb, ub=self.ub, duration=t)

    def _value(self, cx, t):
        return cx.value_at(self.curve(cx), t, ())

    def first_value(self, cx):
        cx.note("without warmup, timm's epoch/update 0 is the constructor's lr, not the tanh at 0 "
                "(0.9999992 x lr with lb -7)")  # fmt: skip
        return self.lr

    def warmup_target(self, cx, w):
        cx.note("warmup_prefix False: timm's tanh warmup ramps to the curve's value at warmup_t, not to lr")
        return self._value(cx, w)


class TimmPoly(_Cycles):
    """timm ``PolyLRScheduler``: ``lr_min + (peak - lr_min) * (1 - t_c**k / t_i**k) ** power``."""

    kind: Literal["timm.poly"] = Field(description="timm PolyLRScheduler (--sched poly).")
    power: Real(gt=0) = Field(0.5, description="power: the decay's exponent. Default 0.5.")
    k_decay: Real(gt=0) = Field(1.0, description="k_decay: warp of time, (t / T) ** k_decay. Default 1.")

    def phase(self, start, end, t):
        return N("polynomial", start=start, end=end, power=self.power, duration=t,
                 warp=self.k_decay if self.k_decay != 1 else None)  # fmt: skip


class TimmStep(_Timm):
    """timm ``StepLRScheduler``: ``lr * decay_rate ** (t // decay_t)`` (Python float floor division)."""

    prefix_default: ClassVar[bool] = True
    kind: Literal["timm.step"] = Field(description="timm StepLRScheduler (--sched step).")
    decay_t: Real(gt=0) = Field(description=f"decay_t: units between two decays, {_T}; may be fractional (2.4).")
    decay_rate: Real(gt=0) = Field(1.0, description="decay_rate: the factor at each decay. Default 1 (no decay).")

    def curve(self, cx):
        d = cx.lit(self.decay_t, ("decay_t",), "timm divides t by it")
        if float(d).is_integer():
            return N("step", start=self.lr, every=int(d), gamma=self.decay_rate)
        horizon = cx.horizon
        if horizon is None:
            cx.fail(("decay_t",), f"decay_t = {d:g} is fractional: timm decays at the first t with t // decay_t "
                                  "higher, which is listed up to the schedule's end: give the kind a `duration` or "
                                  "the spec a `total`")  # fmt: skip
        ms = [t for t in range(1, horizon + 1) if t // d > (t - 1) // d]
        if len(ms) > 10_000:
            cx.fail(("decay_t",), f"decay_t = {d:g} makes {len(ms)} decays before the end: too many to list")
        cx.note(f"decay_t = {d:g} is fractional: timm decays at t = {', '.join(map(str, ms[:4]))}, ... (float floor "
                "division); neutral: a multistep with those milestones")  # fmt: skip
        return N("multistep", start=self.lr, milestones=ms, gamma=self.decay_rate) if ms else N("constant", value=self.lr)


class TimmMultiStep(_Timm):
    """timm ``MultiStepLRScheduler``: ``lr * decay_rate ** bisect_right(decay_t, t + 1)``."""

    prefix_default: ClassVar[bool] = True
    kind: Literal["timm.multistep"] = Field(description="timm MultiStepLRScheduler (--sched multistep).")
    decay_t: list[Steps(ge=0)] = Field(description=f"decay_t: the milestones, {_T}; milestone m applies at t = m - 1.")
    decay_rate: Real(gt=0) = Field(1.0, description="decay_rate: the factor at each milestone. Default 1.")

    def _milestones(self, cx):
        ms = [cx.steps(m, ("decay_t", i), "timm bisects with it") for i, m in enumerate(self.decay_t)]
        for i in range(1, len(ms)):
            # timm bisects decay_t as written ("Assumes self.decay_t is sorted"): unsorted, bisect_right counts
            # neither the milestones passed nor torch's multiset, so the order is refused rather than guessed
            if ms[i] < ms[i - 1]:
                cx.fail(("decay_t", i), f"decay_t must be in ascending order: {ms[i]} comes after {ms[i - 1]}; "
                                        "timm bisects the list as written (bisect_right(decay_t, t + 1), which "
                                        "assumes it sorted), so an unsorted list decays at other epochs than its "
                                        f"milestones. Write them sorted: {sorted(ms)}")  # fmt: skip
        return [m - 1 for m in ms]

    def curve(self, cx):
        ms = self._milestones(cx)
        if len(set(ms)) < len(ms):
            cx.note("decay_t repeats a milestone: timm's bisect_right counts it once per repetition (decay_rate "
                    "applied that many times at once, as torch's MultiStepLR)")  # fmt: skip
        cx.note("timm's multistep applies milestone m at t = m - 1 (bisect_right(decay_t, t + 1)); neutral: "
                "milestones m - 1")  # fmt: skip
        zeros = sum(1 for m in ms if m <= 0)
        rate = cx.lit(self.decay_rate, ("decay_rate",), "a milestone at 1 applies at once")
        start = cx.mul(self.lr, rate**zeros, ("lr",), "a milestone at 1 applies at once") if zeros else self.lr
        rest = [m for m in ms if m > 0]
        return N("multistep", start=start, milestones=rest, gamma=self.decay_rate) if rest else N("constant", value=start)

    def first_value(self, cx):
        return self.lr if any(m <= 0 for m in self._milestones(cx)) else None


class TimmPlateau(_Timm):
    """timm ``PlateauLRScheduler``: torch ``ReduceLROnPlateau`` after a warmup that ignores the metric."""

    kind: Literal["timm.plateau"] = Field(description="timm PlateauLRScheduler (--sched plateau); epoch-stepped: "
                                          "`interval: epoch` only.")
    monitor: str = Field("eval_metric", pattern=rf"^{IDENT}$", description="schedspec: the reported metric's name.")
    decay_rate: Real(gt=0, lt=1) = Field(0.1, description="decay_rate: torch's factor. Default 0.1.")
    patience_t: int = Field(10, ge=0, description="patience_t: torch's patience. Default 10.")
    mode: Literal["min", "max"] = Field("max", description="mode. Default max (timm's default).")
    threshold: Real(ge=0) = Field(1e-4, description="threshold (relative). Default 1e-4.")
    cooldown_t: int = Field(0, ge=0, description="cooldown_t: torch's cooldown. Default 0.")
    lr_min: Real(ge=0) = Field(0.0, description="lr_min: torch's min_lr. Default 0.")
    verbose: bool = Field(True, description="verbose (timm). No effect on the values.")

    def desugar(self, cx, span, carry):
        if getattr(cx.lw, "interval", "step") != "epoch":
            # timm steps it with step(epoch + 1, metric) only: its step_update is a no-op, and create_scheduler_v2
            # asserts 'Plateau LR only supports step per epoch.' Counting steps would be a schedule timm never runs
            cx.fail((), "timm's PlateauLRScheduler is stepped once per epoch only (its step_update does nothing; "
                        "create_scheduler_v2 asserts 'Plateau LR only supports step per epoch.'): write the spec "
                        "with `interval: epoch`")  # fmt: skip
        if not self.t_in_epochs:
            cx.fail(("t_in_epochs",), "PlateauLRScheduler takes no t_in_epochs: it is stepped once per epoch only; "
                                      "remove t_in_epochs")  # fmt: skip
        w = cx.steps(self.warmup_t, ("warmup_t",), "timm compares the epoch with it")
        if self.warmup_prefix is not None:
            cx.fail(("warmup_prefix",), "PlateauLRScheduler takes no warmup_prefix")
        if self.noise_range_t is not None:
            return super().desugar(cx, span, carry)
        plateau = N("plateau", start=self.lr, monitor=self.monitor, every=1, mode=self.mode, factor=self.decay_rate,
                    patience=self.patience_t, threshold=self.threshold, cooldown=self.cooldown_t, min=self.lr_min)  # fmt: skip
        if w == 0:
            return plateau
        cx.note(f"timm's plateau sets the warmup lr while epoch <= warmup_t = {w} (<=, not <) and ignores the metric "
                "then: the reports of epochs before the warmup's end are not counted")  # fmt: skip
        return [N("linear", start=self.warmup_lr_init, end=self.lr, duration=w), plateau]


KINDS = {kind_name(m): m for m in (TimmCosine, TimmTanh, TimmStep, TimmMultiStep, TimmPoly, TimmPlateau)}
SCHEDS = tuple(k.split(".", 1)[1] for k in KINDS)
