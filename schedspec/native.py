"""The frameworks' own schedulers as spec kinds: ``torch.<Class>``, ``keras.<Class>``, ``optax.<function>``.

Each native kind is a Pydantic model with the framework's own parameter names and defaults (``extra="forbid"``, so
a misspelt parameter gets a did-you-mean among the framework's names) and a ``description`` on every field. It is
not evaluated by itself: during lowering it is **desugared** into neutral schedule data (exactly the YAML one would
write with ``linear``, ``cosine``, ``repeat``, ...), which is then validated and lowered like any neutral spec.
Hence:

* a native spec and its neutral spelling have the same IR, so the same fingerprint, by construction;
* ``schedspec translate --to-neutral`` is "desugar, then dump the YAML" (see :func:`relower`);
* every target (evaluator, torch, Keras, Optax, emitted source) runs native kinds with no code of its own.

Desugaring reproduces the framework's semantics exactly, quirks included (torch ``CosineAnnealingLR`` rising again
after ``T_max``, torch ``SequentialLR`` restarting every scheduler at the optimizer's lr, Keras
``PiecewiseConstantDecay`` switching one step after a boundary, Keras ``CosineDecay``'s ``decay_steps`` excluding
the warmup, ...). Each quirk the spec relies on is recorded as a *note* (``Spec.notes``, printed by ``schedspec
check``) that names the neutral spelling. Two quirks needed the neutral language to grow: Keras
``PolynomialDecay(cycle=True)`` is ``polynomial`` with ``cycle: true``, and the unscaled ``alpha`` floor of Keras
``CosineDecayRestarts`` is a ``sum`` of a constant and a decaying ``repeat``.

Conventions shared by all native kinds:

* Step counts (``step_size``, ``decay_steps``, ``transition_steps``, ...) are in the spec's interval units (a torch
  scheduler is stepped once per interval); unit strings (``5ep``, ``2000st``, ``10%``) are accepted too.
* A ``$var`` is accepted wherever the value passes into the neutral spelling unchanged. Where the framework
  computes with it (``lr * start_factor``, ``decay_steps - warmup_steps``, a milestone cut), the value must be a
  literal and the error says why; a torch scheduler whose ``lr`` is a var becomes ``{kind: scale, by: $lr, of: <the
  schedule at lr 1>}``.
* torch schedulers scale the optimizer's base lr: they take it as ``lr`` (default: the previous phase's final
  value). ``CyclicLR`` and ``OneCycleLR`` set the lr themselves and take no ``lr``.
* ``duration`` (schedspec's own, on every native kind) cuts the native schedule to that length, for use as a
  phase of a neutral sequence.
* A value the framework's constructor rejects is rejected with the framework's rule spelled out.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, PlainValidator, Tag, WithJsonSchema
from pydantic_core import PydanticCustomError
from typing_extensions import TypeAliasType

from ._text import exact_number
from .language import DURATION_PATTERN, UNIT_RE, VAR_RE, Bound, Duration, check_number, describe

_VAR_JSON = {"type": "string", "pattern": r"^\$[A-Za-z_][A-Za-z0-9_]*$"}


# ------------------------------------------------------------------------------------------------ field types
def Real(rule: str | None = None, **bound: float) -> Any:  # noqa: N802 - a type factory
    """A literal number or ``$var`` within ``bound``; ``rule`` is the framework's rule, quoted in the error."""
    b = Bound(**bound)

    def check(v: Any) -> Any:
        try:
            return check_number(v, b)
        except PydanticCustomError as exc:
            if rule and exc.type == "bound":
                raise PydanticCustomError(
                    "bound", "{rule} (got {got})", {"rule": rule, "got": exact_number(v)}
                ) from None
            raise

    return Annotated[
        float | str,
        PlainValidator(check),
        WithJsonSchema({"anyOf": [{"type": "number", **b.json()}, _VAR_JSON]}),
        b,
    ]


def Steps(rule: str | None = None, **bound: int) -> Any:  # noqa: N802 - a type factory
    """A whole number of interval units (``int``), a unit string (``5ep``, ``2000st``, ``10%``) or a ``$var``."""
    b = Bound(**bound)

    def check(v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise PydanticCustomError(
                "number",
                "expected a whole number of steps (or e.g. '5ep', a $var), got {got}",
                {"got": describe(v)},
            )
        if isinstance(v, str):
            if VAR_RE.match(v) or UNIT_RE.match(v):
                return v
            raise PydanticCustomError(
                "number",
                "expected a whole number of steps (or e.g. '5ep', '2000st', a $var), got {got}",
                {"got": describe(v)},
            )
        if not math.isfinite(v) or not float(v).is_integer():
            raise PydanticCustomError(
                "number", "expected a whole number of steps, got {got}", {"got": repr(v)}
            )
        v = int(v)
        msg = b.violation(v)
        if msg:
            raise PydanticCustomError("bound", "{msg} (got {got})", {"msg": rule or msg, "got": v})
        return v

    return Annotated[
        int | str,
        PlainValidator(check),
        WithJsonSchema(
            {"anyOf": [{"type": "integer", **b.json()}, {"type": "string", "pattern": DURATION_PATTERN}]}
        ),
    ]


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
            "additionalProperties": {"anyOf": [{"type": "number", "minimum": 0}, _VAR_JSON]},
        }
    ),
]

Value = Real(ge=0)


# ------------------------------------------------------------------------------------------------ desugaring
class _Stop(Exception):
    """An error was recorded; stop desugaring this node."""


class NeedLiteral(Exception):
    """A var was used where the framework computes with the value."""

    def __init__(self, sub: tuple, message: str):
        super().__init__(message)
        self.sub, self.message = sub, message


def is_var(x: Any) -> bool:
    return isinstance(x, str) and bool(VAR_RE.match(x))


def N(kind: str, **fields: Any) -> dict:  # noqa: N802 - builds one neutral mapping
    """A neutral schedule mapping; fields that are ``None`` are left out (their defaults apply)."""
    return {"kind": kind, **{k: v for k, v in fields.items() if v is not None}}


class Cx:
    """Where a native node is desugared: the lowerer (units, errors, notes) and the node's path."""

    def __init__(self, lw: Any, path: tuple, kind: str, horizon: int | None = None):
        self.lw, self.path, self.kind = lw, path, kind
        # how far the schedule is evaluated (its window, or `total`): which quirks it relies on
        self.horizon = horizon

    def child(self, *sub: Any, kind: str, begin: int = 0) -> Cx:
        horizon = None if self.horizon is None else self.horizon - begin
        return Cx(self.lw, self.path + sub, kind, horizon)

    def fail(self, sub: tuple, message: str):
        self.lw.err(self.path + tuple(sub), message)
        raise _Stop

    def note(self, message: str) -> None:
        notes = getattr(self.lw, "notes", None)
        if notes is not None:
            notes.append(self.lw.doc.issue(self.path, f"{self.kind}: {message}", severity="note"))

    def steps(self, raw: Any, sub: tuple, why: str) -> int:
        """A literal number of interval units (unit strings resolved); a var is an error saying ``why``."""
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if is_var(raw):
            raise NeedLiteral(sub, f"`{sub[-1]}` must be a number of steps here, not the var {raw}: {why}")
        n_before = len(self.lw.issues)
        v = self.lw.steps_of(raw, self.path + tuple(sub))
        if v is None:
            if len(self.lw.issues) == n_before:  # pragma: no cover - steps_of always explains
                self.lw.err(self.path + tuple(sub), f"`{sub[-1]}`: not a duration ({raw!r})")
            raise _Stop
        return v

    def lit(self, raw: Any, sub: tuple, why: str) -> float:
        """A literal number; a var is an error saying ``why``."""
        if is_var(raw):
            raise NeedLiteral(sub, f"`{sub[-1]}` must be a number here, not the var {raw}: {why}")
        return float(raw)

    def mul(self, a: Any, b: Any, sub: tuple, why: str) -> Any:
        """``a * b`` for neutral data: folded when literal (or a factor is 0 or 1), else :class:`NeedLiteral`."""
        if not is_var(a) and not is_var(b):
            return float(a) * float(b)
        for x, y in ((a, b), (b, a)):
            if not is_var(x) and float(x) == 0:
                return 0.0
            if not is_var(x) and float(x) == 1:
                return y
        raise NeedLiteral(sub, f"`{sub[-1]}` must be a number here, not a var: {why}")

    def try_value_at(self, data: Any, t: int) -> float | None:
        """:meth:`value_at`, or None when it cannot be computed (vars); never records an error."""
        saved = list(self.lw.issues)
        try:
            return self.value_at(data, t, ())
        except (_Stop, NeedLiteral):
            self.lw.issues[:] = saved
            return None

    def value_at(self, data: Any, t: int, sub: tuple) -> float:
        """The value of neutral ``data`` at local time ``t`` (float64), for a scheduler that continues from it."""
        from . import _compile
        from . import formulas as F

        lw = self.lw
        saved = (list(lw.issues), list(lw.warnings))
        model = _validate(self, data)
        node = lw.schedule(model, self.path, 0.0, None)
        lw.issues[:], lw.warnings[:] = saved
        if node is None or _compile_depends(node):
            self.fail(
                sub, "the scheduler before this one must not use vars: this one continues from its last value"
            )
        return float(_compile.build(node, F.MathXP)(t, {}))


def _compile_depends(node: Any) -> bool:
    from .lower import _depends_on_vars

    return _depends_on_vars(node)


_ADAPTER = None


def _validate(cx: Cx, data: Any) -> Any:
    """Neutral data -> the language's models (the same validation a hand-written neutral spec gets)."""
    global _ADAPTER
    from pydantic import TypeAdapter, ValidationError

    from .language import Schedule

    if _ADAPTER is None:
        _ADAPTER = TypeAdapter(Schedule)
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        cx.fail((), f"cannot be written in neutral kinds ({where}: {err['msg']})")


def length(cx: Cx, d: Any, why: str) -> int | None:
    """The length of neutral data in interval units, ``None`` when it never ends."""
    if isinstance(d, list):
        total = 0
        for p in d:
            n = length(cx, p, why)
            if n is None:
                return None
            total += n
        return total
    if not isinstance(d, dict):
        return None
    kind = d["kind"]
    if kind == "polynomial" and d.get("cycle"):
        return None  # `duration` is its first decay length; it never ends
    if d.get("duration") is not None:
        return cx.steps(d["duration"], ("duration",), why)
    if kind == "repeat":
        return None  # desugared repeats have no `times`
    if kind in ("product", "sum"):
        parts = [length(cx, p, why) for p in d["of"]]
        return None if any(p is None for p in parts) else max(parts)
    if kind in ("scale", "clip"):
        return length(cx, d["of"], why)
    return None


# kinds whose `duration` is the length of their curve (for the others it only cuts them)
_INTRINSIC = {"linear", "cosine", "polynomial", "onecycle"}


def window(cx: Cx, d: Any, span: int | None, why: str) -> Any:
    """``d`` cut (or extended, holding its final value) to exactly ``span`` units; ``d`` itself if ``span`` is None.

    The values for ``t < span`` are unchanged: a phase that ends earlier is followed by ``{kind: constant,
    duration: ...}`` (which holds the carried final value); a never-ending phase gets ``duration: span``; the first
    cycle of a ``repeat`` is its ``of``; a ``linear`` cut inside its ramp ends at its value there; any other curve
    cut inside itself is wrapped in ``{kind: clip, of: ..., duration: span}`` (a clip without bounds is a window).
    """
    if span is None:
        return d
    if isinstance(d, list):
        out, used = [], 0
        for p in d:
            n = length(cx, p, why)
            if n is None or used + n >= span:
                cut = window(cx, p, span - used, why)
                return out + (cut if isinstance(cut, list) else [cut])
            out.append(p)
            used += n
        return out + [N("constant", duration=span - used)]
    n = length(cx, d, why)
    if n is not None and n <= span:
        return d if n == span else [d, N("constant", duration=span - n)]
    kind = d["kind"] if isinstance(d, dict) else "constant"
    if not isinstance(d, dict):
        return N("constant", value=d, duration=span)
    if kind == "repeat" and not d.get("times"):
        period = length(cx, d["of"], why)
        if period is not None and span <= period:  # only the first cycle is used: it is `of` itself
            return window(cx, d["of"], span, why)
    if kind == "linear" and not is_var(d["start"]) and not is_var(d["end"]):
        end = d["start"] + (d["end"] - d["start"]) * span / n
        return {**d, "end": end, "duration": span}
    if kind in _INTRINSIC or (kind == "polynomial" and d.get("cycle")):
        return N("clip", of=d, duration=span)
    return {**d, "duration": span}


# ------------------------------------------------------------------------------------------------ base model
_DURATION = (
    "schedspec: cut this schedule to this length (a phase of a neutral sequence). Default: the framework's own "
    "length (or none)."
)


class NativeKind(BaseModel):
    """A framework's scheduler written with the framework's own parameter names (desugared in lowering)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)
    native: ClassVar[bool] = True
    framework: ClassVar[str] = ""

    duration: Duration | None = Field(None, description=_DURATION)

    def desugar(
        self, cx: Cx, span: int | None, carry: Any
    ) -> Any:  # pragma: no cover - every kind overrides it
        raise NotImplementedError


def _pct(x: float) -> str:
    return exact_number(x)


# ================================================================================================ torch
_LR = (
    "The optimizer's base learning rate (torch `initial_lr`, the `lr` the optimizer is built with), which torch "
    "schedulers scale. Default: the previous phase's final value (the first phase must give it). Not allowed on a "
    "scheduler inside torch.SequentialLR / torch.ChainedScheduler: give it once, on the outer one."
)


class _Torch(NativeKind):
    framework: ClassVar[str] = "torch"

    def desugar(self, cx: Cx, span: int | None, carry: Any) -> Any:
        from . import ir

        lr = getattr(self, "lr", None)
        if "lr" in type(self).model_fields and lr is None:
            if isinstance(carry, float):
                lr = carry
            elif isinstance(carry, ir.Final):
                cx.fail((), "give `lr`: the previous phase's final value depends on a var, and torch schedulers "
                            "compute with their base lr")  # fmt: skip
            else:
                cx.fail((), f"missing `lr`: {cx.kind} scales the optimizer's base learning rate; give it as `lr` "
                            "(it defaults to the previous phase's final value, and this is the first phase)")  # fmt: skip
        try:
            return self.curve(cx, lr, span, None)
        except NeedLiteral:
            if not is_var(lr):
                raise
            return N("scale", by=lr, of=self.curve(cx, 1.0, span, None))

    def curve(self, cx: Cx, lr: Any, span: int | None, prev: Any) -> Any:  # pragma: no cover - overridden
        """Neutral data for this scheduler at base lr ``lr``, used for ``span`` units (None: forever)."""
        raise NotImplementedError

    def settles(self, cx: Cx) -> float:
        """The step from which this scheduler's factor stops changing (``inf``: never), for ChainedScheduler."""
        return math.inf


def _total(cx: Cx, raw: Any) -> int:
    return cx.steps(raw, ("total_iters",), "torch compares the step with it")


class TorchStepLR(_Torch):
    """torch ``StepLR``: ``lr * gamma ** (k // step_size)``."""

    kind: Literal["torch.StepLR"] = Field(
        description="torch.optim.lr_scheduler.StepLR: decay by gamma every step_size."
    )
    lr: Value | None = Field(None, description=_LR)
    step_size: Steps("torch.StepLR needs step_size > 0 (it computes last_epoch % step_size)", gt=0) = Field(
        description="Period of learning rate decay, in steps (scheduler.step() calls)."
    )
    gamma: Real(gt=0) = Field(0.1, description="Multiplicative factor of learning rate decay. Default 0.1.")

    def curve(self, cx, lr, span, prev):
        return N("step", start=lr, every=self.step_size, gamma=self.gamma)

    def settles(self, cx):
        return 0 if not is_var(self.gamma) and self.gamma == 1 else math.inf


class TorchMultiStepLR(_Torch):
    """torch ``MultiStepLR``: ``lr * gamma ** #{m in milestones : m <= k}``."""

    kind: Literal["torch.MultiStepLR"] = Field(
        description="torch.optim.lr_scheduler.MultiStepLR: decay by gamma at each milestone."
    )
    lr: Value | None = Field(None, description=_LR)
    milestones: list[Steps(ge=0)] = Field(
        description="Steps at which the lr is multiplied by gamma (torch keeps them as a multiset: a repeated "
        "milestone applies gamma twice; their order does not matter)."
    )
    gamma: Real(gt=0) = Field(0.1, description="Multiplicative factor of learning rate decay. Default 0.1.")

    def _milestones(self, cx):
        return sorted(
            cx.steps(m, ("milestones", i), "torch sorts the milestones")
            for i, m in enumerate(self.milestones)
        )

    def curve(self, cx, lr, span, prev):
        ms = self._milestones(cx)
        zeros = sum(1 for m in ms if m == 0)
        start = lr if zeros == 0 else cx.mul(lr, cx.lit(self.gamma, ("gamma",), "a milestone at 0 applies at once") ** zeros,
                                             ("lr",), "a milestone at 0 multiplies lr by gamma at once")  # fmt: skip
        rest = [m for m in ms if m > 0]
        if not rest:
            return N("constant", value=start)
        return N("multistep", start=start, milestones=rest, gamma=self.gamma)

    def settles(self, cx):
        ms = self._milestones(cx)
        return max(ms) if ms else 0


class TorchConstantLR(_Torch):
    """torch ``ConstantLR``: ``lr * factor`` until ``total_iters``, then ``lr``."""

    kind: Literal["torch.ConstantLR"] = Field(
        description="torch.optim.lr_scheduler.ConstantLR: lr * factor until total_iters."
    )
    lr: Value | None = Field(None, description=_LR)
    factor: Real("torch.ConstantLR needs 0 <= factor <= 1 ('Constant multiplicative factor expected to be between 0 "
                 "and 1.')", ge=0, le=1) = Field(1.0 / 3, description="Multiplier until total_iters. Default 1/3.")  # fmt: skip
    total_iters: Steps() = Field(5, description="Steps during which lr is multiplied by factor. Default 5.")

    def curve(self, cx, lr, span, prev):
        total = _total(cx, self.total_iters)
        low = cx.mul(lr, self.factor, ("factor",), "torch multiplies lr by it")
        if total <= 0:
            cx.note(f"total_iters = {total}: torch applies factor at step 0 and never restores lr (its step() only "
                    "undoes the factor when last_epoch == total_iters), so the lr stays lr * factor; neutral: "
                    f"{{kind: constant, value: {low}}}")  # fmt: skip
            return N("constant", value=low)
        if not is_var(self.factor) and self.factor == 0:
            cx.fail(("factor",), "torch.ConstantLR with factor 0 divides by zero at total_iters (it restores lr by "
                                 "multiplying with 1 / factor); use a factor > 0")  # fmt: skip
        return [N("constant", value=low, duration=total), N("constant", value=lr)]

    def settles(self, cx):
        return max(_total(cx, self.total_iters), 0)


class TorchLinearLR(_Torch):
    """torch ``LinearLR``: ``lr * (start_factor + (end_factor - start_factor) * min(k, T) / T)``."""

    kind: Literal["torch.LinearLR"] = Field(
        description="torch.optim.lr_scheduler.LinearLR: a linear factor ramp over total_iters."
    )
    lr: Value | None = Field(None, description=_LR)
    start_factor: Real("torch.LinearLR needs 0 < start_factor <= 1 ('Starting multiplicative factor expected to be "
                       "greater than 0 and less or equal to 1.')", gt=0, le=1) = Field(
        1.0 / 3, description="Factor at step 0. Default 1/3.")  # fmt: skip
    end_factor: Real("torch.LinearLR needs 0 <= end_factor <= 1 ('Ending multiplicative factor expected to be between "
                     "0 and 1.')", ge=0, le=1) = Field(1.0, description="Factor from total_iters on. Default 1.")  # fmt: skip
    total_iters: Steps() = Field(5, description="Steps of the ramp. Default 5.")

    def curve(self, cx, lr, span, prev):
        total = _total(cx, self.total_iters)
        start = cx.mul(lr, self.start_factor, ("start_factor",), "torch multiplies lr by it")
        if total <= 0:
            cx.note(f"total_iters = {total}: torch applies start_factor at step 0 and never changes it again; "
                    f"neutral: {{kind: constant, value: {start}}}")  # fmt: skip
            return N("constant", value=start)
        end = cx.mul(lr, self.end_factor, ("end_factor",), "torch multiplies lr by it")
        return N("linear", start=start, end=end, duration=total)

    def settles(self, cx):
        return max(_total(cx, self.total_iters), 0)


class TorchExponentialLR(_Torch):
    """torch ``ExponentialLR``: ``lr * gamma ** k``."""

    kind: Literal["torch.ExponentialLR"] = Field(
        description="torch.optim.lr_scheduler.ExponentialLR: lr * gamma ** k."
    )
    lr: Value | None = Field(None, description=_LR)
    gamma: Real(gt=0) = Field(description="Multiplicative factor of learning rate decay per step.")

    def curve(self, cx, lr, span, prev):
        return N("exponential", start=lr, gamma=self.gamma)

    def settles(self, cx):
        return 0 if not is_var(self.gamma) and self.gamma == 1 else math.inf


class TorchMultiplicativeLR(_Torch):
    """torch ``MultiplicativeLR`` with a constant factor: ``lr * f ** k`` (``f(0)`` is never applied)."""

    kind: Literal["torch.MultiplicativeLR"] = Field(
        description="torch.optim.lr_scheduler.MultiplicativeLR with a constant factor: lr * lr_lambda ** k."
    )
    lr: Value | None = Field(None, description=_LR)
    lr_lambda: Real(gt=0) = Field(
        description="The constant factor the lr is multiplied by at every step (torch takes a function of the epoch; "
        "a spec can only give a constant)."
    )

    def curve(self, cx, lr, span, prev):
        cx.note("the factor is first applied at step 1 (torch never applies lr_lambda(0)): lr * f ** k; neutral: "
                f"{{kind: exponential, start: lr, gamma: {self.lr_lambda}}}")  # fmt: skip
        return N("exponential", start=lr, gamma=self.lr_lambda)

    def settles(self, cx):
        return 0 if not is_var(self.lr_lambda) and self.lr_lambda == 1 else math.inf


class TorchPolynomialLR(_Torch):
    """torch ``PolynomialLR``: ``lr * (1 - min(k, T) / T) ** power`` (always decays to 0)."""

    kind: Literal["torch.PolynomialLR"] = Field(
        description="torch.optim.lr_scheduler.PolynomialLR: polynomial decay to 0."
    )
    lr: Value | None = Field(None, description=_LR)
    total_iters: Steps() = Field(5, description="Steps of the decay (the lr is 0 from then on). Default 5.")
    power: Real(gt=0) = Field(1.0, description="Power of the polynomial. Default 1.")

    def curve(self, cx, lr, span, prev):
        total = _total(cx, self.total_iters)
        if total <= 0:
            cx.note(f"total_iters = {total}: torch's step() leaves the lr unchanged at every step; neutral: "
                    "{kind: constant, value: lr}")  # fmt: skip
            return N("constant", value=lr)
        return N("polynomial", start=lr, end=0.0, power=self.power, duration=total)

    def settles(self, cx):
        return max(_total(cx, self.total_iters), 0)


class TorchCosineAnnealingLR(_Torch):
    """torch ``CosineAnnealingLR``: ``eta_min + (lr - eta_min) * (1 + cos(pi * k / T_max)) / 2`` for every k."""

    kind: Literal["torch.CosineAnnealingLR"] = Field(
        description="torch.optim.lr_scheduler.CosineAnnealingLR: cosine from lr to eta_min over T_max, then back up "
        "(it does not stop at T_max: period 2 * T_max)."
    )
    lr: Value | None = Field(None, description=_LR)
    T_max: Steps("torch.CosineAnnealingLR needs T_max > 0 (it divides by it)", gt=0) = Field(  # noqa: N815
        description="Steps from lr down to eta_min."
    )
    eta_min: Value = Field(0.0, description="Minimum learning rate. Default 0.")

    def curve(self, cx, lr, span, prev):
        t_max = self.T_max
        horizon = span if span is not None else cx.horizon
        if (
            horizon is None
            or is_var(t_max)
            or horizon > cx.steps(t_max, ("T_max",), "compared with the milestones")
        ):
            cx.note(f"the lr rises again after T_max = {t_max} (a period of 2 * T_max: torch's cosine never holds "
                    "eta_min); neutral: {kind: repeat, of: [{kind: cosine, start: lr, end: eta_min, duration: T_max}, "
                    "{kind: cosine, start: eta_min, end: lr, duration: T_max}]}; to hold eta_min after T_max write "
                    f"{{kind: cosine, end: eta_min, duration: {t_max}}}")  # fmt: skip
        down = N("cosine", start=lr, end=self.eta_min, duration=t_max)
        up = N("cosine", start=self.eta_min, end=lr, duration=t_max)
        return N("repeat", of=[down, up])


class TorchCosineAnnealingWarmRestarts(_Torch):
    """torch ``CosineAnnealingWarmRestarts``: a cosine from lr to eta_min, restarted every T_i = T_0 * T_mult**i."""

    kind: Literal["torch.CosineAnnealingWarmRestarts"] = Field(
        description="torch.optim.lr_scheduler.CosineAnnealingWarmRestarts (SGDR): cosine restarts."
    )
    lr: Value | None = Field(None, description=_LR)
    T_0: Steps("torch.CosineAnnealingWarmRestarts needs a positive integer T_0 ('Expected positive integer T_0')",  # noqa: N815
               gt=0) = Field(description="Steps of the first cycle.")  # fmt: skip
    T_mult: int = Field(1, ge=1, description="Each cycle is T_mult times longer than the previous (an integer >= 1, "  # noqa: N815
                                             "as torch requires). Default 1.")  # fmt: skip
    eta_min: Value = Field(0.0, description="Minimum learning rate. Default 0.")

    def curve(self, cx, lr, span, prev):
        return N("repeat", of=N("cosine", start=lr, end=self.eta_min, duration=self.T_0), mult=self.T_mult)


_MOMENTUM = (
    "torch also cycles the optimizer's momentum (beta1), inversely to the lr; that is another hyperparameter, not "
    "part of this lr schedule (write a `momentum:` schedule for it)."
)


class TorchCyclicLR(_Torch):
    """torch ``CyclicLR``: triangular waves between base_lr and max_lr (it sets the lr itself: no ``lr``)."""

    kind: Literal["torch.CyclicLR"] = Field(
        description="torch.optim.lr_scheduler.CyclicLR: cyclical learning rate."
    )
    base_lr: Value = Field(
        description="Lower boundary of the cycle (torch overwrites the optimizer's lr with it)."
    )
    max_lr: Value = Field(description="Upper boundary of the cycle.")
    step_size_up: Steps(gt=0) = Field(2000, description="Steps of the increasing half. Default 2000.")
    step_size_down: Steps(gt=0) | None = Field(
        None, description="Steps of the decreasing half. Default step_size_up."
    )
    mode: Literal["triangular", "triangular2", "exp_range"] = Field(
        "triangular",
        description="triangular (constant amplitude), triangular2 (halved each cycle) or exp_range "
        "(amplitude * gamma ** k). Default triangular.",
    )
    gamma: Real(gt=0) = Field(
        1.0, description="Base of the amplitude scaling of exp_range (per step). Default 1."
    )
    scale_mode: Literal["cycle", "iterations"] | None = Field(
        None,
        description="Only used by torch with a custom scale_fn (a Python function, which a spec cannot hold); "
        "with the built-in modes torch uses 'cycle' (triangular, triangular2) or 'iterations' (exp_range).",
    )
    cycle_momentum: bool = Field(True, description=f"Whether torch cycles momentum. {_MOMENTUM}")
    base_momentum: Real(ge=0) = Field(0.8, description=f"Lower momentum boundary. {_MOMENTUM}")
    max_momentum: Real(ge=0) = Field(0.9, description=f"Upper momentum boundary. {_MOMENTUM}")

    def curve(self, cx, lr, span, prev):
        implied = "iterations" if self.mode == "exp_range" else "cycle"
        if self.scale_mode is not None and self.scale_mode != implied:
            cx.fail(("scale_mode",), f"torch ignores scale_mode {self.scale_mode!r} for mode {self.mode!r} (it uses "
                                     f"{implied!r}; scale_mode only applies to a custom scale_fn): remove it")  # fmt: skip
        if self.cycle_momentum:
            cx.note(f"cycle_momentum is true: {_MOMENTUM}")
        return N("cyclic", low=self.base_lr, high=self.max_lr, up=self.step_size_up, down=self.step_size_down,
                 mode=self.mode, gamma=self.gamma)  # fmt: skip


class TorchOneCycleLR(_Torch):
    """torch ``OneCycleLR``: initial -> max_lr at pct_start*N - 1 -> minimum at N - 1 (it sets the lr itself)."""

    kind: Literal["torch.OneCycleLR"] = Field(
        description="torch.optim.lr_scheduler.OneCycleLR: the 1cycle policy."
    )
    max_lr: Value = Field(
        description="Peak learning rate (torch overwrites the optimizer's initial lr with max_lr / div_factor)."
    )
    total_steps: Steps("torch.OneCycleLR needs a positive integer total_steps", gt=0) | None = Field(
        None, description="N, the number of steps in the cycle. Either this, or epochs and steps_per_epoch."
    )
    epochs: int | None = Field(None, gt=0, description="With steps_per_epoch: N = epochs * steps_per_epoch.")
    steps_per_epoch: int | None = Field(None, gt=0, description="With epochs: N = epochs * steps_per_epoch.")
    pct_start: Real("torch.OneCycleLR needs 0 <= pct_start <= 1", ge=0, le=1) = Field(
        0.3, description="Fraction of the cycle spent increasing the lr. Default 0.3."
    )
    anneal_strategy: Literal["cos", "linear"] = Field("cos", description="Annealing shape. Default cos.")
    cycle_momentum: bool = Field(True, description=f"Whether torch cycles momentum. {_MOMENTUM}")
    base_momentum: Real(ge=0) = Field(0.85, description=f"Lower momentum boundary. {_MOMENTUM}")
    max_momentum: Real(ge=0) = Field(0.95, description=f"Upper momentum boundary. {_MOMENTUM}")
    div_factor: Real(gt=0) = Field(25.0, description="initial lr = max_lr / div_factor. Default 25.")
    final_div_factor: Real(gt=0) = Field(
        1e4, description="minimum lr = initial lr / final_div_factor. Default 1e4."
    )
    three_phase: bool = Field(
        False, description="Rise, fall back to the initial lr, then anneal to the minimum. Default false."
    )

    def curve(self, cx, lr, span, prev):
        n = self.total_steps
        if n is None:
            if self.epochs is None or self.steps_per_epoch is None:
                cx.fail(
                    (),
                    "torch.OneCycleLR: 'You must define either total_steps OR (epochs AND steps_per_epoch)'",
                )
            n = self.epochs * self.steps_per_epoch
        if self.cycle_momentum:
            cx.note(f"cycle_momentum is true: {_MOMENTUM}")
        cx.note(f"the peak is at step pct_start * N - 1 and the minimum at N - 1 (N = {n}); torch raises on the "
                "(N+1)-th scheduler.step(), and schedspec holds the minimum from N - 1 on (at k = N torch's lr is "
                "already past the end of its last anneal); neutral: {kind: onecycle, peak: max_lr, duration: N, ...}")  # fmt: skip
        return N("onecycle", peak=self.max_lr, duration=n, pct_start=self.pct_start, div_factor=self.div_factor,
                 final_div_factor=self.final_div_factor, anneal=self.anneal_strategy, three_phase=self.three_phase)  # fmt: skip


class TorchReduceLROnPlateau(_Torch):
    """torch ``ReduceLROnPlateau`` (neutral ``plateau``): the lr is multiplied by factor when a metric stalls."""

    kind: Literal["torch.ReduceLROnPlateau"] = Field(
        description="torch.optim.lr_scheduler.ReduceLROnPlateau: reduce the lr when a metric stops improving."
    )
    lr: Value | None = Field(None, description=_LR)
    monitor: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="schedspec: the name of the metric torch receives in scheduler.step(metric), e.g. val_loss.",
    )
    mode: Literal["min", "max"] = Field(
        "min", description="Whether lower (min) or higher (max) is better. Default min."
    )
    factor: Real("torch.ReduceLROnPlateau needs factor < 1.0 ('Factor should be < 1.0.'; schedspec also needs it > 0)",
                 gt=0, lt=1) = Field(0.1, description="new_lr = lr * factor. Default 0.1.")  # fmt: skip
    patience: int = Field(
        10, ge=0, description="Bad epochs tolerated; the lr is reduced after patience + 1. Default 10."
    )
    threshold: Value = Field(1e-4, description="Minimum change that counts as an improvement. Default 1e-4.")
    threshold_mode: Literal["rel", "abs"] = Field(
        "rel", description="Relative or absolute threshold. Default rel."
    )
    cooldown: int = Field(0, ge=0, description="Epochs ignored after a reduction. Default 0.")
    min_lr: Value = Field(
        0.0, description="Lower bound of the lr (one number: per-group lists are not supported). Default 0."
    )
    eps: Value = Field(1e-8, description="Reductions smaller than eps are skipped. Default 1e-8.")
    every: Duration | None = Field(
        None,
        description="schedspec: units between two scheduler.step(metric) calls. Default 1: torch's k counts those "
        "calls (with interval: step and one call per epoch, write `every: 1ep`).",
    )

    def curve(self, cx, lr, span, prev):
        return N("plateau", start=lr, monitor=self.monitor, mode=self.mode, factor=self.factor, patience=self.patience,
                 threshold=self.threshold, threshold_mode=self.threshold_mode, cooldown=self.cooldown, min=self.min_lr,
                 eps=self.eps, every=1 if self.every is None else self.every)  # fmt: skip


_NO_NESTING = {
    "torch.ReduceLROnPlateau": "torch rejects it ('does not support `ReduceLROnPlateau` scheduler as it requires "
    "additional kwargs to be specified when calling `step`')",
}


class TorchSequentialLR(_Torch):
    """torch ``SequentialLR``: scheduler i runs from milestone i-1, at local time k - milestone, restarted at lr."""

    kind: Literal["torch.SequentialLR"] = Field(
        description="torch.optim.lr_scheduler.SequentialLR: schedulers one after the other, each restarted at lr."
    )
    lr: Value | None = Field(None, description=_LR)
    schedulers: list[TorchSchedule] = Field(
        min_length=1, description="The torch schedulers, in order (without `lr`)."
    )
    milestones: list[Steps(ge=0)] = Field(
        description="Steps at which the next scheduler takes over (one fewer than schedulers), increasing."
    )

    def curve(self, cx, lr, span, prev):
        n = len(self.schedulers)
        if len(self.milestones) != n - 1:
            cx.fail(("milestones",), "torch.SequentialLR expects the number of schedulers to be one more than the "
                                     f"number of milestones (got {n} schedulers and {len(self.milestones)} milestones)")  # fmt: skip
        ms = [
            cx.steps(m, ("milestones", i), "the schedulers are cut there")
            for i, m in enumerate(self.milestones)
        ]
        for i in range(1, len(ms)):
            if ms[i] < ms[i - 1]:
                cx.fail(
                    ("milestones", i),
                    f"milestones must be increasing (torch bisects them): {ms[i]} comes after {ms[i - 1]}",
                )
        begins = [0, *ms]
        parts: list = []
        previous = None  # (data, span) of the last scheduler that ran
        restarted = []
        for i, child in enumerate(self.schedulers):
            sub = cx.child("schedulers", i, kind=child.kind, begin=begins[i])
            _check_child(sub, child, "torch.SequentialLR")
            if child.kind in ("torch.SequentialLR", "torch.ChainedScheduler"):
                sub.fail((), f"{child.kind} inside torch.SequentialLR is not supported: torch steps it once too often "
                             "when it comes first and raises NotImplementedError at its milestone otherwise")  # fmt: skip
            if child.kind == "torch.OneCycleLR":
                sub.fail((), "torch.OneCycleLR inside torch.SequentialLR is not supported: its constructor overwrites "
                             "the optimizer's initial_lr, which SequentialLR restarts every scheduler from, and it "
                             "raises once stepped past its total_steps")  # fmt: skip
            if (
                i == 0
                and isinstance(child, TorchCyclicLR)
                and n > 1
                and (is_var(lr) or is_var(child.base_lr) or lr != child.base_lr)
            ):
                sub.fail((), "torch.CyclicLR as the first scheduler of a SequentialLR (constructed first) sets the "
                             "optimizer's initial_lr to its base_lr, and the later schedulers restart from that: give "
                             f"the SequentialLR lr = base_lr ({child.base_lr}), or put CyclicLR later")  # fmt: skip
            begin = begins[i]
            if span is not None and begin >= span:
                break
            end = begins[i + 1] if i + 1 < n else None
            if span is not None:
                end = span if end is None else min(end, span)
            child_span = None if end is None else end - begin
            if child_span == 0:
                continue
            child_lr = lr
            if isinstance(child, TorchMultiplicativeLR) and previous is not None:
                last = sub.value_at(previous[0], previous[1] - 1, ())
                child_lr = sub.mul(last, child.lr_lambda, ("lr_lambda",), "it continues from the previous lr")
                sub.note(f"at its milestone it continues from the lr the previous scheduler left ({last:g}) times "
                         "lr_lambda, not from lr (torch: it reads the optimizer's current lr)")  # fmt: skip
            data = child.curve(sub, child_lr, child_span, previous)
            if previous is not None and not isinstance(child, TorchMultiplicativeLR):
                held = sub.try_value_at(
                    previous[0], previous[1]
                )  # where the previous one would have continued
                first = sub.try_value_at(data, 0)
                if held is None or first is None or not math.isclose(held, first, rel_tol=1e-12, abs_tol=0.0):
                    restarted.append((i, child.kind, held, first))
            natural = length(sub, data, "it is cut at a milestone")
            if child_span is not None and natural is not None and natural > child_span:
                sub.note(f"cut at step {end} before its own end (step {begin + natural}): torch switches "
                         "schedulers at the milestone whatever the value")  # fmt: skip
            data = window(sub, data, child_span, "it is cut at a milestone")
            parts.extend(data if isinstance(data, list) else [data])
            previous = (data, child_span)
        if restarted:
            names = ", ".join(
                f"schedulers[{i}] {k}" + (f" starts at {first:g} where the previous one was at {held:g}"
                                          if held is not None and first is not None else "")
                for i, k, held, first in restarted
            )  # fmt: skip
            cx.note(f"each scheduler starts again from lr = {lr} at its milestone, not from the previous scheduler's "
                    f"last value ({names}); neutral: a list of phases, each with an explicit `start`")  # fmt: skip
        return parts if len(parts) != 1 else parts[0]


def _check_child(sub: Cx, child: Any, parent: str) -> None:
    if child.kind in _NO_NESTING:
        sub.fail((), f"{child.kind} inside {parent}: {_NO_NESTING[child.kind]}")
    if getattr(child, "lr", None) is not None:
        sub.fail(
            ("lr",), f"a scheduler inside {parent} shares its optimizer: give `lr` once, on the {parent}"
        )
    if child.duration is not None:
        sub.fail(
            ("duration",),
            f"`duration` is not allowed inside {parent}: its own structure sets each scheduler's span",
        )


_CHAINABLE = ("torch.ConstantLR", "torch.LinearLR", "torch.ExponentialLR", "torch.StepLR", "torch.MultiStepLR",
              "torch.PolynomialLR", "torch.MultiplicativeLR")  # fmt: skip


class TorchChainedScheduler(_Torch):
    """torch ``ChainedScheduler``: every scheduler steps on the same lr; for multiplicative ones, lr * prod(factors)."""

    kind: Literal["torch.ChainedScheduler"] = Field(
        description="torch.optim.lr_scheduler.ChainedScheduler: the product of multiplicative schedulers, all from k = 0."
    )
    lr: Value | None = Field(None, description=_LR)
    schedulers: list[TorchSchedule] = Field(
        min_length=1, description="The torch schedulers, all stepped at every step (without `lr`)."
    )

    def _flat(self, cx: Cx) -> list[tuple[Cx, Any]]:
        out = []
        for i, child in enumerate(self.schedulers):
            sub = cx.child("schedulers", i, kind=child.kind)
            _check_child(sub, child, "torch.ChainedScheduler")
            if isinstance(child, TorchChainedScheduler):
                out.extend(child._flat(sub))
            elif child.kind in _CHAINABLE or child.kind == "torch.CosineAnnealingLR":
                out.append((sub, child))
            elif child.kind == "torch.SequentialLR":
                sub.fail((), "torch.SequentialLR inside torch.ChainedScheduler is not supported: at each milestone it "
                             "restarts from the initial lr and drops the other schedulers' factors, so the chain is not "
                             "a product")  # fmt: skip
            else:
                sub.fail((), f"{child.kind} inside torch.ChainedScheduler is not supported: it sets the lr from its own "
                             "closed form at each step, overwriting the other schedulers' factors (only "
                             f"{', '.join(_CHAINABLE)} and CosineAnnealingLR chain multiplicatively)")  # fmt: skip
        return out

    def curve(self, cx, lr, span, prev):
        flat = self._flat(cx)
        cosines = [(s, c) for s, c in flat if isinstance(c, TorchCosineAnnealingLR)]
        others = [(s, c) for s, c in flat if not isinstance(c, TorchCosineAnnealingLR)]
        if not cosines:
            factors = [c.curve(s, lr if i == 0 else 1.0, None, None) for i, (s, c) in enumerate(flat)]
            return factors[0] if len(factors) == 1 else N("product", of=factors)
        sub, cos = cosines[0]
        if len(cosines) > 1:
            cosines[1][0].fail((), "only one torch.CosineAnnealingLR can be chained: each adds base_lr terms at its own "
                                   "T_max + 1, so the chain has no closed form")  # fmt: skip
        if is_var(cos.eta_min) or cos.eta_min != 0:
            sub.fail(("eta_min",), "torch.CosineAnnealingLR with eta_min != 0 cannot be chained: its update "
                                   "(lr - eta_min) * ratio + eta_min is affine, so the chained lr depends on the order "
                                   "and is not the product of the factors (write the product in neutral kinds with "
                                   "`product` if that is what you mean)")  # fmt: skip
        t_max = sub.steps(cos.T_max, ("T_max",), "the chain changes behaviour there")
        for s, c in others:
            settle = c.settles(s)
            if settle > t_max:
                s.fail((), f"chained with torch.CosineAnnealingLR, this scheduler must stop changing by T_max = {t_max} "
                           f"(it changes until step {settle if settle != math.inf else 'forever'}): at T_max + 1 torch "
                           "re-adds base_lr * (1 - cos(pi / T_max)) / 2 to the lr and drops the other factors, so the "
                           "chain is a product only when they have all settled")  # fmt: skip
        if cx.horizon is None or cx.horizon > t_max:
            cx.note(f"after T_max = {t_max} torch's chained lr is the cosine alone, rising again (at T_max + 1 "
                    "CosineAnnealingLR re-adds base_lr terms and the other, settled factors are dropped); neutral: "
                    "[{kind: product, of: [cosine, ...], duration: T_max}, {kind: repeat, of: [cosine up, cosine down]}]")  # fmt: skip
        down = N("cosine", start=lr, end=0.0, duration=t_max)
        factors = [c.curve(s, 1.0, None, None) for s, c in others]
        first = N("product", of=[down, *factors], duration=t_max)
        rebound = N(
            "repeat",
            of=[
                N("cosine", start=0.0, end=lr, duration=t_max),
                N("cosine", start=lr, end=0.0, duration=t_max),
            ],
        )
        return [first, rebound]


# ================================================================================================ keras
class _Keras(NativeKind):
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
                                           f"comes after {bs[i - 1]}")  # fmt: skip
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


# ================================================================================================ optax
class _Optax(NativeKind):
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


# ------------------------------------------------------------------------------------------------ registry
def _tag(v: Any) -> str | None:
    if isinstance(v, BaseModel):
        return getattr(v, "kind", None)
    if isinstance(v, dict):
        kind = v.get("kind")
        return kind if isinstance(kind, str) else None
    return None


_TORCH = (TorchStepLR, TorchMultiStepLR, TorchConstantLR, TorchLinearLR, TorchExponentialLR, TorchPolynomialLR,
          TorchCosineAnnealingLR, TorchCosineAnnealingWarmRestarts, TorchCyclicLR, TorchOneCycleLR, TorchSequentialLR,
          TorchChainedScheduler, TorchReduceLROnPlateau, TorchMultiplicativeLR)  # fmt: skip
_KERAS = (KerasExponentialDecay, KerasPiecewiseConstantDecay, KerasPolynomialDecay, KerasInverseTimeDecay,
          KerasCosineDecay, KerasCosineDecayRestarts)  # fmt: skip
_OPTAX = (OptaxConstantSchedule, OptaxLinearSchedule, OptaxPolynomialSchedule, OptaxExponentialDecay,
          OptaxPiecewiseConstantSchedule, OptaxPiecewiseInterpolateSchedule, OptaxCosineDecaySchedule,
          OptaxWarmupCosineDecaySchedule, OptaxWarmupExponentialDecaySchedule, OptaxWarmupConstantSchedule,
          OptaxSgdrSchedule, OptaxCosineOnecycleSchedule, OptaxLinearOnecycleSchedule, OptaxJoinSchedules)  # fmt: skip


def _name(m: type) -> str:
    return m.model_fields["kind"].annotation.__args__[0]


def _union(models: tuple, framework: str, name: str) -> Any:
    return TypeAliasType(
        name,
        Annotated[
            Union[tuple(Annotated[m, Tag(_name(m))] for m in models)],  # noqa: UP007
            Discriminator(
                _tag,
                custom_error_type="native_child",
                custom_error_message=f"expected {'an' if framework[0] in 'aeiou' else 'a'} {framework} kind here ({', '.join(_name(m) for m in models[:4])}, ...): "
                f"{framework} combinators take {framework} schedules only",
            ),
        ],
    )


TorchSchedule = _union(_TORCH, "torch", "TorchSchedule")
OptaxSchedule = _union(_OPTAX, "optax", "OptaxSchedule")

KINDS: dict[str, type[NativeKind]] = {_name(m): m for m in (*_TORCH, *_KERAS, *_OPTAX)}



def kinds_like(kind: str) -> str | None:
    """``"torch kinds: torch.StepLR, ..."`` for a misspelt framework kind, else None."""
    prefix = kind.split(".", 1)[0] if "." in kind else None
    names = [k for k in KINDS if k.split(".", 1)[0] == prefix]
    return f"{prefix} kinds: {', '.join(names)}" if names else None


def submodel(path: tuple, data: Any) -> tuple[type[BaseModel], str] | None:
    """The model of a mapping inside a native kind that has no ``kind`` of its own (an sgdr ``cosine_kwargs`` entry)."""
    if len(path) >= 2 and path[-2] == "cosine_kwargs":
        return WarmupCosineArgs, "an optax.sgdr_schedule `cosine_kwargs` entry"
    return None


# ------------------------------------------------------------------------------------------------ lowering
def lower(lw: Any, m: NativeKind, path: tuple, carry: Any, remaining: Any) -> Any:
    """Desugar the native node ``m`` at ``path`` into neutral data and lower that with ``lw`` (a ``_Lowerer``).

    Issues found while lowering the neutral form are reported at the native node, prefixed with its kind. With
    ``lw.desugared`` set (a dict), the neutral data is recorded under ``path`` (``translate --to-neutral``); with
    ``lw.notes`` set (a list), the quirks the node relies on are appended to it.
    """
    from .errors import Issue, format_path

    cx = Cx(lw, path, m.kind, remaining if isinstance(remaining, int) else None)
    try:
        span = None
        if m.duration is not None:
            if is_var(m.duration):
                raise NeedLiteral(
                    ("duration",),
                    f"`duration` of {m.kind} must be a literal: the native schedule is cut there",
                )
            span = cx.steps(m.duration, ("duration",), "the native schedule is cut there")
            cx.horizon = span
        data = m.desugar(cx, span, carry)
        data = window(cx, data, span, "it is cut at its `duration`")
        if isinstance(data, (int, float)) or is_var(data):
            data = N("constant", value=data)
        model = _validate(cx, data)
    except _Stop:
        return None
    except NeedLiteral as exc:
        lw.err(path + exc.sub, f"{m.kind}: {exc.message}")
        return None
    recorded = getattr(lw, "desugared", None)
    if recorded is not None:
        recorded[path] = data
    n_issues, n_warnings = len(lw.issues), len(lw.warnings)
    node = lw.schedule(model, path, carry, remaining)
    # The neutral form states the framework's own behaviour: a jump (ConstantLR, a SequentialLR restart) or a
    # falling first `linear` is what the framework does, not a slip, so it is not a warning (quirks are notes).
    del lw.warnings[n_warnings:]
    line, col = lw.doc.where(path)
    where = format_path(path)
    for i in range(n_issues, len(lw.issues)):
        old = lw.issues[i]
        lw.issues[i] = Issue(
            old.file, line, col, where, f"{m.kind} (in its neutral form): {old.message}", old.severity
        )
    return node


def has_native(data: Any) -> bool:
    """Whether document data contains a framework kind anywhere."""
    if isinstance(data, dict):
        kind = data.get("kind")
        if isinstance(kind, str) and kind in KINDS:
            return True
        return any(has_native(v) for v in data.values())
    if isinstance(data, list):
        return any(has_native(v) for v in data)
    return False


def relower(spec: Any) -> tuple[list, dict]:
    """Lower ``spec`` again, collecting the notes (quirks relied on) and the neutral data of each native node.

    Returns:
        ``(notes, desugared)``: notes are :class:`schedspec.Issue` with severity ``"note"``, positioned at their
        native node; ``desugared`` maps the path of each outermost native node to its neutral data.
    """
    from . import lower as _lower

    if not has_native(spec.doc.data):
        return [], {}
    lw = _lower._Lowerer(spec.model, spec.doc)
    lw.notes, lw.desugared = [], {}
    lw.run()
    notes = sorted(lw.notes, key=lambda i: (i.line or 0, i.col or 0))
    return notes, lw.desugared


def neutral_document(spec: Any) -> dict:
    """The spec's document with every native node replaced by its neutral spelling (same fingerprint)."""
    import copy

    _, desugared = relower(spec)
    data = copy.deepcopy(spec.doc.data)

    def replace(x: Any, path: tuple) -> Any:
        if path in desugared:
            return copy.deepcopy(desugared[path])
        if isinstance(x, dict):
            return {k: (replace(v, path + (k,)) if k != "vars" or path else v) for k, v in x.items()}
        if isinstance(x, list):
            out = []
            for i, v in enumerate(x):
                new = replace(v, path + (i,))
                if isinstance(new, list) and (path + (i,)) in desugared and not isinstance(v, list):
                    out.extend(
                        new
                    )  # a desugared sequence inside a sequence: nested lists flatten, same meaning
                else:
                    out.append(new)
            return out
        return x

    return replace(data, ())
