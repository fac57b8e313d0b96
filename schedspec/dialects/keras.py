"""The Keras dialect: ``keras.<Class>`` kinds for ``keras.optimizers.schedules``, their desugaring into neutral
kinds and the quirks they rely on (notes). Live schedules are read by
:func:`schedspec.dialects.importers.keras_data` (behind :func:`schedspec.from_keras`).

A Keras schedule counts optimizer steps. Quirks reproduced exactly: ``PiecewiseConstantDecay`` switching one step
after a boundary, ``CosineDecay``'s ``decay_steps`` excluding the warmup, ``PolynomialDecay(cycle=True)`` (the
neutral ``polynomial`` with ``cycle: true``), the unscaled ``alpha`` floor of ``CosineDecayRestarts`` (a neutral
``sum`` of a constant and a decaying ``repeat``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

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


class _Keras(FrameworkKind):
    framework: ClassVar[str] = "keras"
    name: str | None = Field(None, description="Keras' name scope for the ops; no effect on the values.")

    def desugar(self, cx: Cx, span: int | None, carry: Any) -> Any:
        return self.curve(cx)


def _ksteps(rule: str) -> Any:
    return Steps(f"keras: {rule}", gt=0)


class KerasExponentialDecay(_Keras):
    """Keras ``ExponentialDecay``: ``initial_learning_rate * decay_rate ** (step / decay_steps)``."""

    kind: Literal["keras.ExponentialDecay"] = Field(
        description="keras.optimizers.schedules.ExponentialDecay."
    )
    initial_learning_rate: Value = Field(description="The initial learning rate.")
    decay_steps: _ksteps("Argument `decay_steps` must be > 0") = Field(
        description="Steps per factor of decay_rate."
    )
    decay_rate: Real(gt=0) = Field(description="The decay rate.")
    staircase: bool = Field(
        False, description="Decay at discrete intervals (floor(step / decay_steps)). Default false."
    )

    def curve(self, cx):
        return N("exponential", start=self.initial_learning_rate, gamma=self.decay_rate, every=self.decay_steps,
                 staircase=self.staircase or None)  # fmt: skip


class KerasPiecewiseConstantDecay(_Keras):
    """Keras ``PiecewiseConstantDecay``: ``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]``."""

    kind: Literal["keras.PiecewiseConstantDecay"] = Field(
        description="keras.optimizers.schedules.PiecewiseConstantDecay."
    )
    boundaries: list[Steps()] = Field(
        description="Strictly increasing steps; the value changes one step AFTER each."
    )
    values: list[Value] = Field(min_length=1, description="One more value than boundaries.")

    def curve(self, cx):
        if len(self.boundaries) != len(self.values) - 1:
            cx.fail(("values",), "keras.PiecewiseConstantDecay: 'The length of boundaries should be 1 less than the "
                                 f"length of values' (got {len(self.boundaries)} boundaries and {len(self.values)} values)")  # fmt: skip
        bs = [
            cx.steps(b, ("boundaries", i), "the value changes at boundary + 1")
            for i, b in enumerate(self.boundaries)
        ]
        for i in range(1, len(bs)):
            if bs[i] <= bs[i - 1]:
                cx.fail(("boundaries", i), f"keras.PiecewiseConstantDecay needs strictly increasing boundaries: {bs[i]} "
                                           f"comes after {bs[i - 1]} (Keras adds one value per interval: out of "
                                           "order, intervals overlap or vanish). Write them strictly increasing, "
                                           "one value per interval")  # fmt: skip
        points = [[0, self.values[0]]]
        for b, v in zip(bs, self.values[1:]):
            if b + 1 <= 0:
                points = [[0, v]]
            else:
                points.append([b + 1, v])
        if bs:
            cx.note(
                "the value changes one step AFTER each boundary (step > boundary), unlike torch MultiStepLR and "
                f"optax, which change AT it; neutral: {{kind: piecewise, points: {points}}} (points at boundary + 1)"
            )
        return N("piecewise", points=points) if len(points) > 1 else N("constant", value=points[0][1])


class KerasPolynomialDecay(_Keras):
    """Keras ``PolynomialDecay``: ``(initial - end) * (1 - min(step, d) / d) ** power + end`` (``cycle``: restarts)."""

    kind: Literal["keras.PolynomialDecay"] = Field(description="keras.optimizers.schedules.PolynomialDecay.")
    initial_learning_rate: Value = Field(description="The initial learning rate.")
    decay_steps: _ksteps("Argument `decay_steps` must be > 0") = Field(description="Steps of the decay.")
    end_learning_rate: Value = Field(
        1e-4, description="The final learning rate. Default 1e-4 (Keras' default, not 0)."
    )
    power: Real(gt=0) = Field(1.0, description="The power of the polynomial. Default 1.")
    cycle: bool = Field(
        False, description="Restart with a stretched decay length instead of holding the end. Default false."
    )

    def curve(self, cx):
        if "end_learning_rate" not in self.model_fields_set:
            cx.note("end_learning_rate defaults to 1e-4 in Keras, not 0: the schedule ends at 1e-4; neutral: "
                    "{kind: polynomial, end: 0.0001, ...}")  # fmt: skip
        if self.cycle:
            cx.note("cycle: true restarts after decay_steps with the decay length stretched to the next multiple "
                    "(decay_steps * ceil(step / decay_steps)); neutral: {kind: polynomial, cycle: true, duration: "
                    "decay_steps, ...}, which never ends")  # fmt: skip
        return N("polynomial", start=self.initial_learning_rate, end=self.end_learning_rate, power=self.power,
                 duration=self.decay_steps, cycle=True if self.cycle else None)  # fmt: skip


class KerasInverseTimeDecay(_Keras):
    """Keras ``InverseTimeDecay``: ``initial / (1 + decay_rate * step / decay_steps)``."""

    kind: Literal["keras.InverseTimeDecay"] = Field(
        description="keras.optimizers.schedules.InverseTimeDecay."
    )
    initial_learning_rate: Value = Field(description="The initial learning rate.")
    decay_steps: _ksteps("Argument `decay_steps` must be > 0") = Field(description="Steps per unit of decay.")
    decay_rate: Value = Field(description="The decay rate.")
    staircase: bool = Field(False, description="Use floor(step / decay_steps). Default false.")

    def curve(self, cx):
        return N("inverse_time", start=self.initial_learning_rate, rate=self.decay_rate, every=self.decay_steps,
                 staircase=self.staircase or None)  # fmt: skip


class KerasCosineDecay(_Keras):
    """Keras ``CosineDecay``, with optional linear warmup: ``decay_steps`` does NOT include ``warmup_steps``."""

    kind: Literal["keras.CosineDecay"] = Field(
        description="keras.optimizers.schedules.CosineDecay (with optional warmup)."
    )
    initial_learning_rate: Value = Field(
        description="The initial learning rate (the warmup's start, if warmup_target is set)."
    )
    decay_steps: _ksteps("Argument `decay_steps` must be > 0") = Field(
        description="Steps of the cosine decay, AFTER the warmup (the schedule lasts warmup_steps + decay_steps)."
    )
    alpha: Value = Field(
        0.0,
        description="Minimum lr as a fraction of the decayed-from lr (warmup_target, or initial). Default 0.",
    )
    warmup_target: Value | None = Field(
        None, description="The lr reached at the end of the warmup; none: no warmup."
    )
    warmup_steps: Steps(ge=0) = Field(0, description="Steps of the linear warmup. Default 0.")

    def curve(self, cx):
        why = "Keras computes alpha * (warmup_target or initial_learning_rate)"
        if self.warmup_target is None:
            if "warmup_steps" in self.model_fields_set and self.warmup_steps != 0:
                cx.note("warmup_steps has no effect without warmup_target (Keras then ignores the warmup)")
            end = cx.mul(self.initial_learning_rate, self.alpha, ("alpha",), why)
            return N("cosine", start=self.initial_learning_rate, end=end, duration=self.decay_steps)
        end = cx.mul(self.warmup_target, self.alpha, ("alpha",), why)
        decay = N("cosine", start=self.warmup_target, end=end, duration=self.decay_steps)
        warm = self.warmup_steps
        if not is_var(warm) and isinstance(warm, int) and warm == 0:
            return decay
        cx.note(f"decay_steps ({self.decay_steps}) counts the cosine AFTER the warmup ({warm} steps): the schedule "
                "lasts warmup_steps + decay_steps (optax's warmup_cosine_decay_schedule counts the warmup inside "
                "decay_steps); neutral: [{kind: linear, duration: warmup_steps}, {kind: cosine, duration: decay_steps}]")  # fmt: skip
        return [N("linear", start=self.initial_learning_rate, end=self.warmup_target, duration=warm), decay]


class KerasCosineDecayRestarts(_Keras):
    """Keras ``CosineDecayRestarts``: ``initial * ((1 - alpha) * m_mul**i * (1 + cos(pi * t_i / T_i)) / 2 + alpha)``."""

    kind: Literal["keras.CosineDecayRestarts"] = Field(
        description="keras.optimizers.schedules.CosineDecayRestarts (SGDR)."
    )
    initial_learning_rate: Value = Field(description="The initial learning rate.")
    first_decay_steps: _ksteps("Argument `first_decay_steps` must be > 0") = Field(
        description="Steps of the first cycle."
    )
    t_mul: Real("schedspec needs t_mul >= 1 (cycles that do not shrink)", ge=1) = Field(
        2.0,
        description="Each cycle is t_mul times longer than the previous. Default 2.0 (torch's T_mult defaults to 1).",
    )
    m_mul: Real(gt=0) = Field(
        1.0, description="Each cycle's amplitude is m_mul times the previous. Default 1."
    )
    alpha: Value = Field(
        0.0, description="Minimum lr as a fraction of initial_learning_rate (not scaled by m_mul). Default 0."
    )

    def curve(self, cx):
        mult = cx.lit(self.t_mul, ("t_mul",), "a repeat's `mult` must be a literal")
        lr0 = self.initial_learning_rate
        unscaled = (not is_var(self.alpha) and self.alpha == 0) or (
            not is_var(self.m_mul) and self.m_mul == 1
        )
        if unscaled:
            end = cx.mul(lr0, self.alpha, ("alpha",), "Keras computes alpha * initial_learning_rate")
            cos = N("cosine", start=lr0, end=end, duration=self.first_decay_steps)
            return N("repeat", of=cos, mult=mult, decay=None if self.m_mul == 1 else self.m_mul)
        why = "the floor alpha * initial_learning_rate is not scaled by m_mul"
        floor = cx.mul(lr0, self.alpha, ("alpha",), why)
        amp = cx.mul(lr0, 1 - cx.lit(self.alpha, ("alpha",), why), ("initial_learning_rate",), why)
        cx.note(f"the floor alpha * initial_learning_rate = {floor:g} is NOT scaled by m_mul (only the cosine part "
                "is); neutral: {kind: sum, of: [floor, {kind: repeat, of: {kind: cosine, start: (1 - alpha) * "
                "initial, end: 0}, mult: t_mul, decay: m_mul}]}")  # fmt: skip
        cos = N("cosine", start=amp, end=0.0, duration=self.first_decay_steps)
        return N("sum", of=[N("constant", value=floor), N("repeat", of=cos, mult=mult, decay=self.m_mul)])


_KERAS = (KerasExponentialDecay, KerasPiecewiseConstantDecay, KerasPolynomialDecay, KerasInverseTimeDecay,
          KerasCosineDecay, KerasCosineDecayRestarts)  # fmt: skip

KINDS: dict[str, type[FrameworkKind]] = {kind_name(m): m for m in _KERAS}
