"""The schedspec v1 language as Pydantic models (imports pydantic only).

A *schedule* is a number or ``$var`` (a constant), a mapping with ``kind`` (a phase or a combinator), or a list
(a sequence of phases). The models check shapes, types, names and the bounds of literal numbers; everything that
needs the whole document (units, vars, carried starts, totals) is checked when the spec is lowered to the IR
(:mod:`schedspec.lower`). ``Document.model_json_schema()`` is the committed JSON Schema.
"""

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, PlainValidator, Tag, WithJsonSchema
from pydantic_core import PydanticCustomError
from typing_extensions import TypeAliasType

from ._fields import (
    DURATION_PATTERN,
    IDENT,
    VAR_RE,
    Bound,
    Duration,
    Fraction01,
    NonNeg,
    Period,
    Point,
    Positive,
    Real,
    Shift,
    check_duration,
    check_number,
)  # fmt: skip
from .dialects import KINDS as FRAMEWORK_KINDS

# --------------------------------------------------------------------------------------------- field helpers
_START = "Value at the phase start (t = 0). Defaults to the previous phase's final value; the first phase must give it."
_DURATION = (
    "Length of the phase: a whole number of interval units, or '<n>st', '<n>ep', '<n>%' (of `total`), or a $var. "
    "After it the phase holds its final value. The last phase of a sequence may omit it and runs to `total` "
    "(or forever, if the kind needs no length)."
)


_WARP = (
    "Warp of time: the fraction p = min(t, T) / T is replaced by p ** warp (timm's `k_decay`). 0.5 on a `linear` "
    "decay is the `1-sqrt` decay of WSD recipes. Default 1 (no warp)."
)


def start_field() -> Any:
    return Field(None, description=_START)


def duration_field(description: str = _DURATION) -> Any:
    return Field(None, description=description)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class _Phase(_Model):
    duration: Duration | None = duration_field()


# --------------------------------------------------------------------------------------------- phase kinds
class Constant(_Phase):
    """``value`` for every t."""

    kind: Literal["constant"] = Field(description="A constant value.")
    value: NonNeg | None = Field(None, description="The value. Defaults to the previous phase's final value.")


class Linear(_Phase):
    """``start + (end - start) * min(t, T) / T``."""

    kind: Literal["linear"] = Field(description="Linear ramp from `start` to `end` over `duration` (warmup, linear decay).")
    start: NonNeg | None = start_field()
    end: NonNeg = Field(description="Value reached at t = duration and held after.")
    warp: Positive = Field(1.0, description=_WARP)


class Cosine(_Phase):
    """``end + (start - end) * ((1 + cos(pi * min(t, T) / T)) / 2) ** exponent``."""

    kind: Literal["cosine"] = Field(description="Cosine annealing from `start` to `end` over `duration`; holds `end` after.")
    start: NonNeg | None = start_field()
    end: NonNeg = Field(0.0, description="Value reached at t = duration (eta_min / alpha * peak). Default 0.")
    exponent: Positive = Field(1.0, description="Power applied to the cosine factor (optax `exponent`). Default 1.")
    warp: Positive = Field(1.0, description=_WARP)


class Polynomial(_Phase):
    """``(start - end) * (1 - min(t, T) / T) ** power + end``."""

    kind: Literal["polynomial"] = Field(description="Polynomial decay from `start` to `end` over `duration`.")
    start: NonNeg | None = start_field()
    end: NonNeg = Field(0.0, description="Value reached at t = duration. Default 0.")
    power: Positive = Field(1.0, description="Exponent of the decay; 1 is linear. Default 1.")
    warp: Positive = Field(1.0, description=_WARP + " Not with `cycle`.")
    cycle: bool = Field(
        False,
        description="Keras PolynomialDecay(cycle=True): instead of holding `end`, restart with the decay length "
        "stretched to the next multiple of `duration` (T' = duration * max(1, ceil(t / duration))); the phase then "
        "never ends. Default false.",
    )


class Exponential(_Phase):
    """``start * gamma ** (t / every)`` (``floor(t / every)`` if staircase), bounded by ``end``."""

    kind: Literal["exponential"] = Field(description="Exponential decay (or growth) by `gamma` every `every` units.")
    start: NonNeg | None = start_field()
    gamma: Positive = Field(description="Multiplicative factor per `every` units (ExponentialLR gamma, decay_rate).")
    every: Duration = Field(1, description="Units per factor of gamma (decay_steps / transition_steps). Default 1.")
    staircase: bool = Field(False, description="Apply gamma in whole steps of `every` (floor(t / every)). Default false.")
    end: NonNeg | None = Field(None, description="A floor for gamma < 1, a ceiling for gamma > 1 (optax end_value).")


class Step(_Phase):
    """``start * gamma ** floor(t / every)``."""

    kind: Literal["step"] = Field(description="Step decay: multiply by `gamma` every `every` units (torch StepLR).")
    start: NonNeg | None = start_field()
    every: Duration = Field(description="Units between two decays (StepLR step_size).")
    gamma: Positive = Field(0.1, description="Factor applied at each step. Default 0.1.")


class MultiStep(_Phase):
    """``start * gamma ** #{m in milestones : m <= t}``."""

    kind: Literal["multistep"] = Field(description="Multiply by `gamma` at each milestone (torch MultiStepLR).")
    start: NonNeg | None = start_field()
    milestones: list[Duration] = Field(
        min_length=1,
        description="Times from the phase start, ascending; the new value applies AT each milestone. A repeated milestone counts twice.",
    )
    gamma: Positive = Field(0.1, description="Factor applied at each milestone. Default 0.1.")


class Piecewise(_Phase):
    """Values given at points; constant, linear or cosine in between; holds the last value."""

    kind: Literal["piecewise"] = Field(description="A list of [at, value] points.")
    points: list[Point] = Field(
        min_length=1,
        description="[at, value] pairs, `at` ascending and the first at 0. The value changes AT each point.",
    )
    interpolate: Literal["constant", "linear", "cosine"] = Field(
        "constant", description="Between two points: hold (constant), linear or cosine interpolation. Default constant."
    )


class InverseTime(_Phase):
    """``start / (1 + rate * t / every)`` (``floor(t / every)`` if staircase)."""

    kind: Literal["inverse_time"] = Field(description="Inverse-time decay (Keras InverseTimeDecay).")
    start: NonNeg | None = start_field()
    rate: NonNeg = Field(description="Decay rate.")
    every: Duration = Field(1, description="Units per unit of decay (decay_steps). Default 1.")
    staircase: bool = Field(False, description="Use floor(t / every). Default false.")


class InverseSqrt(_Phase):
    """``start * sqrt(timescale / max(t, timescale))``."""

    kind: Literal["inverse_sqrt"] = Field(description="Inverse square-root decay (Transformer / T5 style).")
    start: NonNeg | None = start_field()
    timescale: Duration = Field(description="Value held until t = timescale, then decays as 1/sqrt(t).")
    shift: Duration | None = Field(
        None,
        description="Moves the clock ahead: start * sqrt(timescale / max(t + shift, timescale)). With shift = "
        "timescale, sqrt(timescale / (t + timescale)): HF get_inverse_sqrt_schedule (and fairseq) after a warmup. "
        "Default none (0).",
    )


class Tanh(_Phase):
    """``end + (start - end) * (1 - tanh(lb + (ub - lb) * t / T)) / 2`` for t < T; ``end`` from T on."""

    kind: Literal["tanh"] = Field(description="Tanh decay (timm TanhLRScheduler): holds `end` from `duration` on.")
    start: NonNeg | None = start_field()
    end: NonNeg = Field(0.0, description="The value the curve tends to, reached (and held) at t = duration. Default 0.")
    lb: Real = Field(-7.0, description="tanh's argument at t = 0 (timm `lb`). Default -7.")
    ub: Real = Field(3.0, description="tanh's argument at t = duration (timm `ub`); must be > lb. Default 3.")


class Cyclic(_Phase):
    """torch ``CyclicLR``: triangular waves between ``low`` and ``high``."""

    kind: Literal["cyclic"] = Field(description="Cyclical learning rate (torch CyclicLR).")
    low: NonNeg = Field(description="Lower bound (CyclicLR base_lr).")
    high: NonNeg = Field(description="Upper bound (CyclicLR max_lr).")
    up: Duration = Field(description="Units from low to high (step_size_up).")
    down: Duration | None = Field(None, description="Units from high back to low (step_size_down). Default = up.")
    mode: Literal["triangular", "triangular2", "exp_range"] = Field(
        "triangular", description="Amplitude scaling: constant, halved every cycle, or gamma**t. Default triangular."
    )
    gamma: Positive = Field(1.0, description="Factor per unit for mode exp_range. Default 1.")


class OneCycle(_Phase):
    """torch ``OneCycleLR`` exactly: peak at pct_start*N - 1, end at N - 1, then holds."""

    kind: Literal["onecycle"] = Field(description="One-cycle policy (torch OneCycleLR).")
    peak: NonNeg = Field(description="The maximum value (max_lr).")
    duration: Duration | None = Field(None, description="N, the cycle length (total_steps). Required unless it is the last phase and `total` is set.")
    pct_start: Fraction01 = Field(0.3, description="Fraction of N spent rising. Default 0.3.")
    div_factor: Positive = Field(25.0, description="Initial value = peak / div_factor. Default 25.")
    final_div_factor: Positive = Field(1e4, description="Final value = initial / final_div_factor. Default 1e4.")
    anneal: Literal["cos", "linear"] = Field("cos", description="Annealing shape. Default cos.")
    three_phase: bool = Field(False, description="Rise, fall back to the initial value, then anneal to the final value. Default false.")


class Plateau(_Phase):
    """torch ``ReduceLROnPlateau`` semantics, driven by metric reports."""

    kind: Literal["plateau"] = Field(description="Reduce by `factor` when the monitored metric stops improving.")
    start: NonNeg | None = start_field()
    monitor: str = Field(pattern=rf"^{IDENT}$", description="Name of the metric, e.g. val_loss; reports are passed as metrics={name: [...]}.")
    mode: Literal["min", "max"] = Field("min", description="Whether lower (min) or higher (max) is better. Default min.")
    factor: Fraction01 = Field(0.1, description="Multiplier at each reduction, in (0, 1). Default 0.1.")
    patience: int = Field(10, ge=0, description="Bad reports tolerated; reduce after patience+1 in a row (torch meaning). Default 10.")
    threshold: NonNeg = Field(1e-4, description="Minimum change that counts as an improvement. Default 1e-4.")
    threshold_mode: Literal["rel", "abs"] = Field("rel", description="Relative or absolute threshold. Default rel.")
    cooldown: int = Field(0, ge=0, description="Reports ignored after a reduction. Default 0.")
    min: NonNeg = Field(0.0, description="Lower bound of the value (min_lr). Default 0.")
    eps: NonNeg = Field(1e-8, description="Reductions smaller than eps are skipped. Default 1e-8.")
    every: Duration | None = Field(None, description="Units between two metric reports. Default 1ep (1 when interval is epoch).")


# --------------------------------------------------------------------------------------------- combinators
class Repeat(_Phase):
    """Restarts: SGDR, CosineAnnealingWarmRestarts, CosineDecayRestarts."""

    kind: Literal["repeat"] = Field(description="Repeat `of` (restarts).")
    of: "Schedule" = Field(description="The schedule repeated; it must have a finite duration (one period).")
    times: int | None = Field(None, ge=1, description="Number of cycles; none = forever. After them the last value is held.")
    mult: float = Field(1.0, ge=1, description="Each period is `mult` x the previous; `of` is stretched to fill it. Default 1.")
    decay: Positive = Field(1.0, description="Each cycle's values are multiplied by `decay` (cycle i by decay**i). Default 1.")
    period: Period | None = Field(
        None,
        description="The length of one cycle: a whole duration, or a rational '<D>/<c>' (D whole units, c a decimal "
        "number > 0, read exactly: '26/3', '26/1.5'). `of` is stretched to it; cycle i begins at the real time "
        "i * period and a step belongs to it from the first whole step at or after that. Not with `mult`. Default: "
        "the duration of `of`.",
    )
    shift: Shift | None = Field(
        None,
        description="Starts the cycles' clock `shift` units ahead: the value at t is the unshifted repeat's value at "
        "t + shift (a whole duration >= 0). Not with `mult`. Default 0.",
    )


class Product(_Phase):
    """Pointwise product of schedules (chained multiplicative factors)."""

    kind: Literal["product"] = Field(description="Pointwise product of its parts.")
    of: list["Schedule"] = Field(min_length=1, description="The factors, each evaluated at the same local time.")


class Scale(_Phase):
    """``by * of``."""

    kind: Literal["scale"] = Field(description="Multiply a schedule by a constant.")
    by: NonNeg = Field(description="The factor.")
    of: "Schedule" = Field(description="The schedule scaled.")


class Sum(_Phase):
    """Pointwise sum of schedules (e.g. a floor plus a decaying amplitude)."""

    kind: Literal["sum"] = Field(description="Pointwise sum of its parts (Keras CosineDecayRestarts' unscaled floor).")
    of: list["Schedule"] = Field(min_length=1, description="The terms, each evaluated at the same local time.")


class Clip(_Phase):
    """``min(max(of, min), max)``."""

    kind: Literal["clip"] = Field(description="Clamp a schedule between `min` and `max`.")
    min: NonNeg | None = Field(None, description="Lower bound (none: unbounded).")
    max: NonNeg | None = Field(None, description="Upper bound (none: unbounded).")
    of: "Schedule" = Field(description="The schedule clamped.")


PHASES: dict[str, type[_Phase]] = {
    m.model_fields["kind"].annotation.__args__[0]: m  # type: ignore[union-attr]
    for m in (Constant, Linear, Cosine, Polynomial, Exponential, Step, MultiStep, Piecewise, InverseTime, InverseSqrt,
              Tanh, Cyclic, OneCycle, Plateau)
}
COMBINATORS: dict[str, type[_Phase]] = {"repeat": Repeat, "product": Product, "scale": Scale, "clip": Clip, "sum": Sum}
NEUTRAL_KINDS: dict[str, type[_Phase]] = {**PHASES, **COMBINATORS}


KINDS: dict[str, type[BaseModel]] = {**NEUTRAL_KINDS, **FRAMEWORK_KINDS}  # every kind a schedule may use


def schedule_tag(v: Any) -> str | None:
    """Which member of the Schedule union a raw value is: a kind name, ``number`` or ``list``."""
    if isinstance(v, BaseModel):
        return getattr(v, "kind", None)
    if isinstance(v, bool):
        return "number"  # rejected by the number validator with a clear message
    if isinstance(v, (int, float, str)):
        return "number"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        kind = v.get("kind")
        return kind if isinstance(kind, str) else None
    return None


_SCHEDULE_MEMBERS = (
    Annotated[NonNeg, Tag("number")],
    Annotated[list["Schedule"], Tag("list"), Field(min_length=1)],
    *[Annotated[m, Tag(name)] for name, m in KINDS.items()],
)
Schedule = TypeAliasType(
    "Schedule",
    Annotated[
        Union[_SCHEDULE_MEMBERS],  # noqa: UP007 - a tuple of members (star-unpacking in a subscript needs 3.11)
        Discriminator(
            schedule_tag,
            custom_error_type="kind",
            custom_error_message="unknown or missing kind",
        ),
        Field(description="A schedule: a number or $var, a mapping with `kind`, or a list of phases (a sequence)."),
    ],
)

def _var_scalar(v: Any) -> Any:
    if isinstance(v, str):
        if VAR_RE.match(v):
            raise PydanticCustomError("var", "a var cannot refer to another var ({v}); give a number or a duration", {"v": v})
        return check_duration(v)
    return check_number(v, Bound(ge=0))


def _var_entry(v: Any) -> Any:
    if isinstance(v, list):
        if not v:
            raise PydanticCustomError("var", "an empty sweep list; give at least one value")
        return [_var_scalar(x) for x in v]
    return _var_scalar(v)


_VAR_VALUE_JSON = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": DURATION_PATTERN}]}
VarEntry = Annotated[
    int | float | str | list,
    PlainValidator(_var_entry),
    WithJsonSchema({"anyOf": [*_VAR_VALUE_JSON["anyOf"], {"type": "array", "minItems": 1, "items": _VAR_VALUE_JSON}]}),
]


class Group(BaseModel):
    """A parameter group: its learning rate scaled, and/or its own schedules for some of the document's
    hyperparameters (any other key is one of them, e.g. ``lr``, ``weight_decay``)."""

    model_config = ConfigDict(
        extra="allow",
        strict=True,
        frozen=True,
        json_schema_extra={"propertyNames": {"pattern": rf"^{IDENT}$"}},
    )
    __pydantic_extra__: dict[str, Schedule] = Field(init=False)  # type: ignore[assignment]

    scale: NonNeg | None = Field(
        None,
        description="Multiplies this group's learning rate: its own `lr` if it gives one, else the document's "
        "(e.g. 0.1 for a pretrained backbone).",
    )


class Document(BaseModel):
    """A schedspec v1 document. Any other identifier key is a further hyperparameter schedule (momentum, ...)."""

    model_config = ConfigDict(
        extra="allow",
        strict=True,
        frozen=True,
        title="schedspec v1",
        json_schema_extra={"propertyNames": {"pattern": rf"^{IDENT}$"}},
    )
    __pydantic_extra__: dict[str, Schedule] = Field(init=False)  # type: ignore[assignment]

    schedspec: Literal[1] = Field(description="Format version; must be 1.")
    name: str | None = Field(None, description="A short name for the schedule (shown by check, plot and compile).")
    description: str | None = Field(None, description="Free text: where the recipe comes from.")
    interval: Literal["step", "epoch"] = Field(
        "step", description="What k counts: optimizer steps (default) or epochs. Bare durations are in this unit."
    )
    steps_per_epoch: int | None = Field(None, gt=0, description="Optimizer steps per epoch; needed for `ep` durations.")
    tokens_per_step: int | None = Field(
        None, gt=0, description="Tokens per optimizer step (global batch x sequence length); needed for `tok` durations."
    )
    total: Duration | None = Field(None, description="Length of training; needed for `%` durations and an open last phase.")
    vars: dict[Annotated[str, Field(pattern=rf"^{IDENT}$")], VarEntry] = Field(
        default_factory=dict,
        description="Named numbers or durations referenced as $name; a list is a sweep axis (several: their product).",
    )
    lr: Schedule = Field(description="The learning-rate schedule.")
    groups: dict[Annotated[str, Field(pattern=rf"^{IDENT}$")], Group] = Field(
        default_factory=dict,
        description="Parameter groups by name (torch param groups carrying \"name\", optax labels): each scales the "
        "learning rate (`scale`) and/or overrides some of the document's hyperparameter schedules.",
    )


for _m in (Group, Document):  # the kinds are built lazily (defer_build) when a document is first validated
    _m.model_rebuild()

RESERVED = frozenset(Document.model_fields)
KNOWN_HPARAMS = ("lr", "momentum", "weight_decay", "beta1", "beta2", "eps")
