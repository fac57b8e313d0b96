"""The optax dialect: ``optax.<function>`` kinds for optax's schedule functions (``optax.cosine_decay_schedule``,
``optax.warmup_cosine_decay_schedule``, ``optax.join_schedules``, ...) and their desugaring into neutral kinds, with
the quirks they rely on (notes): a negative ``transition_begin`` falling back to 0, ``transition_steps <= 0``
holding ``init_value`` forever, ``join_schedules`` giving each schedule its local count from its boundary, ...

An optax schedule counts optimizer steps (``count``); optax has no scheduler objects to import.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from .._fields import VAR_JSON, Bound, check_number, describe
from ._base import (
    Cx,
    FrameworkKind,
    N,  # noqa: N817 - builds one neutral mapping
    Real,
    Steps,
    Value,
    is_var,
    kind_name,
    union,
    window,
)  # fmt: skip


def _scales(v: Any) -> Any:
    """optax ``boundaries_and_scales``: a mapping from a step (a whole number >= 0) to a scale (>= 0 or $var)."""
    if not isinstance(v, dict):
        raise PydanticCustomError("mapping", "expected a mapping {step: scale}, e.g. {1000: 0.1, 2000: 0.1}; got {got}",
                                  {"got": describe(v)})  # fmt: skip
    out = {}
    for key, scale in v.items():
        if isinstance(key, str) and key.isascii() and key.isdigit():
            key = int(key)  # YAML mapping keys are read as strings: `{1000: 0.1}` has the key "1000"
        if isinstance(key, bool) or not isinstance(key, int) or key < 0:
            raise PydanticCustomError(
                "mapping", "a boundary is a whole number of steps >= 0, got {got}", {"got": describe(key)}
            )
        try:
            out[key] = check_number(scale, Bound(ge=0))
        except PydanticCustomError as exc:
            raise PydanticCustomError(
                "mapping",
                "scale at {key}: {msg} (optax expects non-negative scale factors)",
                {"key": key, "msg": exc.message()},
            ) from None
    return out


Scales = Annotated[
    dict,
    PlainValidator(_scales),
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"pattern": "^[0-9]+$"},
            "additionalProperties": {"anyOf": [{"type": "number", "minimum": 0}, VAR_JSON]},
        }
    ),
]


class _Optax(FrameworkKind):
    framework: ClassVar[str] = "optax"

    def desugar(self, cx: Cx, span: int | None, carry: Any) -> Any:
        return self.curve(cx)


def _begin(cx: Cx, raw: Any, field: str = "transition_begin") -> int:
    begin = cx.steps(raw, (field,), "the schedule is shifted by it")
    if begin < 0:
        cx.note(f"{field} = {begin} < 0: optax logs it and falls back to 0")
        begin = 0
    return begin


def _held(cx: Cx, value: Any, begin: int) -> list:
    return [N("constant", value=value, duration=begin)] if begin > 0 else []


def _poly(cx: Cx, init: Any, end: Any, power: Any, steps: Any, begin_raw: Any, what: str) -> Any:
    steps_n = cx.steps(steps, ("transition_steps",), "optax compares it with 0")
    if steps_n <= 0:
        cx.note(f"transition_steps = {steps_n} <= 0: optax holds init_value forever ({what} is disabled); neutral: "
                "{kind: constant, value: init_value}")  # fmt: skip
        return N("constant", value=init)
    begin = _begin(cx, begin_raw)
    kind = "linear" if power is None else "polynomial"
    phase = N(kind, start=init, end=end, power=power, duration=steps)
    held = _held(cx, init, begin)
    return held + [phase] if held else phase


class OptaxConstantSchedule(_Optax):
    """optax ``constant_schedule(value)``."""

    kind: Literal["optax.constant_schedule"] = Field(description="optax.constant_schedule: a constant.")
    value: Value = Field(description="The value.")

    def curve(self, cx):
        return N("constant", value=self.value)


class OptaxLinearSchedule(_Optax):
    """optax ``linear_schedule``: init_value until transition_begin, then linear to end_value over transition_steps."""

    kind: Literal["optax.linear_schedule"] = Field(description="optax.linear_schedule: a linear transition.")
    init_value: Value = Field(description="Value before and at the start of the transition.")
    end_value: Value = Field(description="Value at the end of the transition and after.")
    transition_steps: Steps() = Field(description="Steps of the transition (<= 0: optax holds init_value).")
    transition_begin: Steps() = Field(
        0, description="Steps before the transition begins (init_value is held). Default 0."
    )

    def curve(self, cx):
        return _poly(
            cx,
            self.init_value,
            self.end_value,
            None,
            self.transition_steps,
            self.transition_begin,
            "the transition",
        )


class OptaxPolynomialSchedule(_Optax):
    """optax ``polynomial_schedule``: ``(init - end) * (1 - (k - begin) / T) ** power + end``, clipped."""

    kind: Literal["optax.polynomial_schedule"] = Field(
        description="optax.polynomial_schedule: a polynomial transition."
    )
    init_value: Value = Field(description="Value before and at the start of the transition.")
    end_value: Value = Field(description="Value at the end of the transition and after.")
    power: Real(gt=0) = Field(description="Power of the polynomial.")
    transition_steps: Steps() = Field(description="Steps of the transition (<= 0: optax holds init_value).")
    transition_begin: Steps() = Field(0, description="Steps before the transition begins. Default 0.")

    def curve(self, cx):
        return _poly(cx, self.init_value, self.end_value, self.power, self.transition_steps, self.transition_begin,
                     "the transition")  # fmt: skip


def _exp_decay(cx: Cx, m: Any, init: Any) -> Any:
    steps_n = cx.steps(m.transition_steps, ("transition_steps",), "optax compares it with 0")
    if steps_n <= 0 or (not is_var(m.decay_rate) and m.decay_rate == 0):
        what = "transition_steps <= 0" if steps_n <= 0 else "decay_rate == 0"
        cx.note(f"{what}: optax holds init_value forever; neutral: {{kind: constant, value: init_value}}")
        return N("constant", value=init)
    begin = _begin(cx, m.transition_begin)
    end = m.end_value
    rate = m.decay_rate
    held_value = init
    if end is not None:
        why = "optax clips the value with end_value"
        r = cx.lit(rate, ("decay_rate",), why)
        if r == 1:
            v = cx.lit(init, ("init_value",), why)
            return N("constant", value=min(v, cx.lit(end, ("end_value",), why)))
        if begin > 0:
            v, e = cx.lit(init, ("init_value",), why), cx.lit(end, ("end_value",), why)
            held_value = max(v, e) if r < 1 else min(v, e)
    phase = N(
        "exponential",
        start=init,
        gamma=rate,
        every=m.transition_steps,
        staircase=m.staircase or None,
        end=end,
    )
    held = _held(cx, held_value, begin)
    return held + [phase] if held else phase


class OptaxExponentialDecay(_Optax):
    """optax ``exponential_decay``: ``init * decay_rate ** ((k - begin) / T)``, clipped by end_value."""

    kind: Literal["optax.exponential_decay"] = Field(
        description="optax.exponential_decay: exponential decay."
    )
    init_value: Value = Field(description="The initial value.")
    transition_steps: Steps() = Field(
        description="Steps per factor of decay_rate (<= 0: optax holds init_value)."
    )
    decay_rate: Value = Field(description="The decay rate (0: optax holds init_value).")
    transition_begin: Steps() = Field(0, description="Steps before the decay begins. Default 0.")
    staircase: bool = Field(False, description="Decay at discrete intervals. Default false.")
    end_value: Value | None = Field(
        None, description="A floor for decay_rate < 1, a ceiling otherwise. Default none."
    )

    def curve(self, cx):
        return _exp_decay(cx, self, self.init_value)


def _piecewise(cx: Cx, init: Any, scales: dict | None, interpolate: str) -> Any:
    if not scales:
        return N("constant", value=init)
    why = "optax multiplies the scales together"
    value = cx.lit(init, ("init_value",), why) if len(scales) else init
    points = [[0, value]]
    for b, s in sorted(scales.items()):
        value = value * cx.lit(s, ("boundaries_and_scales", b), why)
        if b == 0:
            points[0][1] = value
        else:
            points.append([b, value])
    if len(points) == 1:
        return N("constant", value=points[0][1])
    return N("piecewise", points=points, interpolate=None if interpolate == "constant" else interpolate)


class OptaxPiecewiseConstantSchedule(_Optax):
    """optax ``piecewise_constant_schedule``: ``init * prod(scale_b for b <= k)``; changes AT each boundary."""

    kind: Literal["optax.piecewise_constant_schedule"] = Field(
        description="optax.piecewise_constant_schedule."
    )
    init_value: Value = Field(description="The value before the first boundary.")
    boundaries_and_scales: Scales | None = Field(
        None,
        description="{step: scale}: from each step on the value is multiplied by its scale (cumulative).",
    )

    def curve(self, cx):
        return _piecewise(cx, self.init_value, self.boundaries_and_scales, "constant")


class OptaxPiecewiseInterpolateSchedule(_Optax):
    """optax ``piecewise_interpolate_schedule``: cumulative scales, interpolated between the boundaries."""

    kind: Literal["optax.piecewise_interpolate_schedule"] = Field(
        description="optax.piecewise_interpolate_schedule."
    )
    interpolate_type: Literal["linear", "cosine"] = Field(description="'linear' or 'cosine' interpolation.")
    init_value: Value = Field(description="The value at step 0.")
    boundaries_and_scales: Scales | None = Field(
        None, description="{step: scale}: the value reached at each step is the previous one times its scale."
    )

    def curve(self, cx):
        return _piecewise(cx, self.init_value, self.boundaries_and_scales, self.interpolate_type)


class OptaxCosineDecaySchedule(_Optax):
    """optax ``cosine_decay_schedule``: ``init * ((1 - alpha) * ((1 + cos(pi * min(k, D) / D)) / 2) ** exponent + alpha)``."""

    kind: Literal["optax.cosine_decay_schedule"] = Field(
        description="optax.cosine_decay_schedule: cosine decay."
    )
    init_value: Value = Field(description="The initial value.")
    decay_steps: Steps("optax: 'The cosine_decay_schedule requires positive decay_steps'", gt=0) = Field(
        description="Steps of the decay."
    )
    alpha: Value = Field(0.0, description="Minimum value as a fraction of init_value. Default 0.")
    exponent: Real(gt=0) = Field(1.0, description="Power of the cosine factor. Default 1.")

    def curve(self, cx):
        end = cx.mul(self.init_value, self.alpha, ("alpha",), "optax computes alpha * init_value")
        return N("cosine", start=self.init_value, end=end, exponent=self.exponent, duration=self.decay_steps)


def _warmup_cosine(cx: Cx, m: Any) -> Any:
    warm = cx.steps(m.warmup_steps, ("warmup_steps",), "optax computes decay_steps - warmup_steps")
    total = cx.steps(m.decay_steps, ("decay_steps",), "optax computes decay_steps - warmup_steps")
    if total - warm <= 0:
        cx.fail(("decay_steps",), f"optax: decay_steps must exceed warmup_steps (the cosine lasts decay_steps - "
                                  f"warmup_steps = {total - warm}, and 'The cosine_decay_schedule requires positive "
                                  "decay_steps')")  # fmt: skip
    end = m.end_value
    if not is_var(m.peak_value) and m.peak_value == 0 and (is_var(end) or end != 0):
        cx.note(
            "peak_value is 0, so optax's alpha = end_value / peak_value is taken as 0 and the decay stays at 0"
        )
        end = 0.0
    decay = N("cosine", start=m.peak_value, end=end, exponent=m.exponent, duration=total - warm)
    if warm <= 0:
        return decay
    return [N("linear", start=m.init_value, end=m.peak_value, duration=warm), decay]


class OptaxWarmupCosineDecaySchedule(_Optax):
    """optax ``warmup_cosine_decay_schedule``: linear warmup, then cosine; ``decay_steps`` INCLUDES the warmup."""

    kind: Literal["optax.warmup_cosine_decay_schedule"] = Field(
        description="optax.warmup_cosine_decay_schedule."
    )
    init_value: Value = Field(description="Value at step 0 (the warmup's start).")
    peak_value: Value = Field(description="Value at the end of the warmup.")
    warmup_steps: Steps(ge=0) = Field(description="Steps of the linear warmup.")
    decay_steps: Steps(gt=0) = Field(
        description="Total steps, warmup INCLUDED (the cosine lasts decay_steps - warmup_steps)."
    )
    end_value: Value = Field(0.0, description="Value at decay_steps and after. Default 0.")
    exponent: Real(gt=0) = Field(1.0, description="Power of the cosine factor. Default 1.")

    def curve(self, cx):
        data = _warmup_cosine(cx, self)
        if isinstance(data, list):
            cx.note(f"decay_steps ({self.decay_steps}) includes the warmup ({self.warmup_steps} steps): the cosine "
                    "lasts decay_steps - warmup_steps (Keras' CosineDecay counts decay_steps after the warmup); "
                    "neutral: [{kind: linear, duration: warmup_steps}, {kind: cosine, duration: decay_steps - warmup_steps}]")  # fmt: skip
        return data


class OptaxWarmupExponentialDecaySchedule(_Optax):
    """optax ``warmup_exponential_decay_schedule``: linear warmup, then ``exponential_decay`` from the peak."""

    kind: Literal["optax.warmup_exponential_decay_schedule"] = Field(
        description="optax.warmup_exponential_decay_schedule."
    )
    init_value: Value = Field(description="Value at step 0 (the warmup's start).")
    peak_value: Value = Field(description="Value at the end of the warmup, where the decay starts.")
    warmup_steps: Steps(ge=0) = Field(description="Steps of the linear warmup.")
    transition_steps: Steps() = Field(
        description="Steps per factor of decay_rate (<= 0: optax holds peak_value)."
    )
    decay_rate: Value = Field(description="The decay rate.")
    transition_begin: Steps() = Field(
        0, description="Steps after the warmup before the decay begins. Default 0."
    )
    staircase: bool = Field(False, description="Decay at discrete intervals. Default false.")
    end_value: Value | None = Field(
        None, description="A floor for decay_rate < 1, a ceiling otherwise. Default none."
    )

    def curve(self, cx):
        warm = cx.steps(self.warmup_steps, ("warmup_steps",), "the decay starts there")
        decay = _exp_decay(cx, self, self.peak_value)
        if warm <= 0:
            return decay
        return [N("linear", start=self.init_value, end=self.peak_value, duration=warm),
                *(decay if isinstance(decay, list) else [decay])]  # fmt: skip


class OptaxWarmupConstantSchedule(_Optax):
    """optax ``warmup_constant_schedule``: ``linear_schedule(init_value, peak_value, warmup_steps)``."""

    kind: Literal["optax.warmup_constant_schedule"] = Field(description="optax.warmup_constant_schedule.")
    init_value: Value = Field(description="Value at step 0.")
    peak_value: Value = Field(description="Value from warmup_steps on.")
    warmup_steps: Steps() = Field(
        description="Steps of the linear warmup (<= 0: optax holds init_value forever)."
    )

    def curve(self, cx):
        steps_n = cx.steps(self.warmup_steps, ("warmup_steps",), "optax compares it with 0")
        if steps_n <= 0:
            cx.note("warmup_steps <= 0: optax's linear_schedule then holds init_value forever (peak_value is never "
                    "reached); neutral: {kind: constant, value: init_value}")  # fmt: skip
            return N("constant", value=self.init_value)
        return N("linear", start=self.init_value, end=self.peak_value, duration=self.warmup_steps)


class WarmupCosineArgs(BaseModel):
    """One cycle of ``optax.sgdr_schedule``: the keyword arguments of ``warmup_cosine_decay_schedule``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)
    init_value: Value = Field(description="Value at the cycle's start.")
    peak_value: Value = Field(description="Value at the end of the cycle's warmup.")
    warmup_steps: Steps(ge=0) = Field(description="Steps of the cycle's warmup.")
    decay_steps: Steps(gt=0) = Field(description="Steps of the whole cycle, warmup included.")
    end_value: Value = Field(0.0, description="Value at the end of the cycle. Default 0.")
    exponent: Real(gt=0) = Field(1.0, description="Power of the cosine factor. Default 1.")


class OptaxSgdrSchedule(_Optax):
    """optax ``sgdr_schedule``: warmup-cosine cycles joined end to end; the last cycle's end value is held."""

    kind: Literal["optax.sgdr_schedule"] = Field(description="optax.sgdr_schedule: SGD with warm restarts.")
    cosine_kwargs: list[WarmupCosineArgs] = Field(
        min_length=1,
        description="One warmup_cosine_decay_schedule argument mapping per cycle; a cycle lasts its decay_steps.",
    )

    def curve(self, cx):
        parts: list = []
        for i, kw in enumerate(self.cosine_kwargs):
            data = _warmup_cosine(cx.child("cosine_kwargs", i, kind=cx.kind), kw)
            parts.extend(data if isinstance(data, list) else [data])
        cx.note(f"after its {len(self.cosine_kwargs)} listed cycle(s) the last end_value is held: no more restarts "
                "(torch CosineAnnealingWarmRestarts and Keras CosineDecayRestarts restart forever); neutral: a list of "
                "[linear, cosine] phases")  # fmt: skip
        return parts if len(parts) > 1 else parts[0]


def _onecycle_checks(cx: Cx, n: Any) -> int:
    return cx.steps(n, ("transition_steps",), "optax computes the boundaries from it")


class OptaxCosineOnecycleSchedule(_Optax):
    """optax ``cosine_onecycle_schedule``: cosine from peak/div up to peak at int(pct_start*N), down to the minimum at N."""

    kind: Literal["optax.cosine_onecycle_schedule"] = Field(description="optax.cosine_onecycle_schedule.")
    transition_steps: Steps(
        "optax: 'A linear onecycle schedule was set with a non-positive `transition_steps`'", gt=0
    ) = Field(description="N, the length of the cycle.")
    peak_value: Value = Field(description="The maximum value.")
    pct_start: Real(ge=0, le=1) = Field(0.3, description="Fraction of N spent increasing. Default 0.3.")
    div_factor: Real(gt=0) = Field(25.0, description="Initial value = peak_value / div_factor. Default 25.")
    final_div_factor: Real(gt=0) = Field(
        1e4, description="Final value = initial / final_div_factor. Default 1e4."
    )

    def curve(self, cx):
        n = _onecycle_checks(cx, self.transition_steps)
        why = "optax computes the boundaries and values from it"
        peak, pct = cx.lit(self.peak_value, ("peak_value",), why), cx.lit(self.pct_start, ("pct_start",), why)
        div, fdiv = (
            cx.lit(self.div_factor, ("div_factor",), why),
            cx.lit(self.final_div_factor, ("final_div_factor",), why),
        )
        cx.note(f"the peak is at int(pct_start * N) = {int(pct * n)} and the minimum at N = {n} (torch OneCycleLR: "
                "pct_start * N - 1 and N - 1); neutral: {kind: piecewise, interpolate: cosine, points: ...}")  # fmt: skip
        return _piecewise(cx, peak / div, {int(pct * n): div, int(n): 1.0 / (div * fdiv)}, "cosine")


class OptaxLinearOnecycleSchedule(_Optax):
    """optax ``linear_onecycle_schedule``: linear up to peak at int(pct_start*N), back at int(pct_final*N), down at N."""

    kind: Literal["optax.linear_onecycle_schedule"] = Field(description="optax.linear_onecycle_schedule.")
    transition_steps: Steps(
        "optax: 'A linear onecycle schedule was set with a non-positive `transition_steps`'", gt=0
    ) = Field(description="N, the length of the cycle.")
    peak_value: Value = Field(description="The maximum value.")
    pct_start: Real(ge=0, le=1) = Field(0.3, description="Fraction of N spent increasing. Default 0.3.")
    pct_final: Real(ge=0, le=1) = Field(
        0.85, description="Fraction of N at which the value is back to the initial. Default 0.85."
    )
    div_factor: Real(gt=0) = Field(25.0, description="Initial value = peak_value / div_factor. Default 25.")
    final_div_factor: Real(gt=0) = Field(
        1e4, description="Final value = initial / final_div_factor. Default 1e4."
    )

    def curve(self, cx):
        n = _onecycle_checks(cx, self.transition_steps)
        why = "optax computes the boundaries and values from it"
        peak = cx.lit(self.peak_value, ("peak_value",), why)
        pct, fin = cx.lit(self.pct_start, ("pct_start",), why), cx.lit(self.pct_final, ("pct_final",), why)
        div, fdiv = (
            cx.lit(self.div_factor, ("div_factor",), why),
            cx.lit(self.final_div_factor, ("final_div_factor",), why),
        )
        scales: dict = {}
        for b, s in ((int(pct * n), div), (int(fin * n), 1.0 / div), (n, 1.0 / fdiv)):
            scales[b] = s  # a dict literal: a repeated boundary keeps the last scale, as in optax
        return _piecewise(cx, peak / div, scales, "linear")


class OptaxJoinSchedules(_Optax):
    """optax ``join_schedules``: schedule i from boundary i-1 on, at local time k - boundary."""

    kind: Literal["optax.join_schedules"] = Field(
        description="optax.join_schedules: schedules one after the other."
    )
    schedules: list[OptaxSchedule] = Field(min_length=1, description="The optax schedules, in order.")
    boundaries: list[Steps(ge=0)] = Field(
        description="Steps at which the next schedule takes over (one fewer than schedules), increasing."
    )

    def curve(self, cx):
        n = len(self.schedules)
        if len(self.boundaries) != n - 1:
            cx.fail(("boundaries",), f"optax.join_schedules needs one boundary fewer than schedules (got {n} schedules "
                                     f"and {len(self.boundaries)} boundaries; optax would silently ignore the extra ones)")  # fmt: skip
        bs = [
            cx.steps(b, ("boundaries", i), "the schedules are cut there")
            for i, b in enumerate(self.boundaries)
        ]
        for i in range(1, len(bs)):
            if bs[i] < bs[i - 1]:
                cx.fail(("boundaries", i), f"boundaries must be increasing: {bs[i]} comes after {bs[i - 1]}")
        begins = [0, *bs]
        parts: list = []
        for i, child in enumerate(self.schedules):
            sub = cx.child("schedules", i, kind=child.kind)
            if child.duration is not None:
                sub.fail(
                    ("duration",),
                    "`duration` is not allowed inside optax.join_schedules: the boundaries set each span",
                )
            span = begins[i + 1] - begins[i] if i + 1 < n else None
            if span == 0:
                continue
            data = window(sub, child.curve(sub), span, "it is cut at a boundary")
            parts.extend(data if isinstance(data, list) else [data])
        return parts if len(parts) != 1 else parts[0]


_OPTAX = (OptaxConstantSchedule, OptaxLinearSchedule, OptaxPolynomialSchedule, OptaxExponentialDecay,
          OptaxPiecewiseConstantSchedule, OptaxPiecewiseInterpolateSchedule, OptaxCosineDecaySchedule,
          OptaxWarmupCosineDecaySchedule, OptaxWarmupExponentialDecaySchedule, OptaxWarmupConstantSchedule,
          OptaxSgdrSchedule, OptaxCosineOnecycleSchedule, OptaxLinearOnecycleSchedule, OptaxJoinSchedules)  # fmt: skip


OptaxSchedule = union(_OPTAX, "optax", "OptaxSchedule")
KINDS: dict[str, type[FrameworkKind]] = {kind_name(m): m for m in _OPTAX}
