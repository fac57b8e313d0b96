"""What every dialect shares: the model base of a framework kind, its field types, the desugaring context
(:class:`Cx`), the helpers that cut neutral data to a window, and the helpers of the importers.

A framework kind is a Pydantic model with the framework's own parameter names and defaults (``extra="forbid"``, so
a misspelt parameter gets a did-you-mean among the framework's names) and a ``description`` on every field. It is
not evaluated by itself: during lowering its :meth:`FrameworkKind.desugar` turns it into **neutral data** (exactly
the YAML one would write with ``linear``, ``cosine``, ``repeat``, ...), which the lowerer validates and lowers like
a hand-written neutral schedule. What a dialect may ask of the lowerer while it desugars is :class:`Lowering`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Protocol, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypeAliasType

from .. import _compile, ir
from .. import backends as B
from .._fields import DURATION_PATTERN, UNIT_RE, VAR_JSON, VAR_RE, Bound, Duration, check_number, describe
from .._text import exact_number
from ..errors import Issue, SpecError, format_path


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
        WithJsonSchema({"anyOf": [{"type": "number", **b.json()}, VAR_JSON]}),
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


Value = Real(ge=0)


# ------------------------------------------------------------------------------------------------ the lowerer
class Lowering(Protocol):
    """What a dialect may ask of the lowerer (:class:`schedspec.lowering.lowerer._Lowerer`) while it desugars."""

    issues: list[Issue]  # errors so far (a desugaring may save and restore them)
    warnings: list[Issue]
    notes: list[Issue]  # the framework quirks the spec relies on (``Spec.notes``)

    def err(self, path: tuple, message: str, key: bool = False) -> None:
        """Record an error at ``path`` (at its key when ``key``)."""

    def note(self, path: tuple, message: str) -> None:
        """Record a note (a quirk the spec relies on) at ``path``."""

    def steps_of(self, raw: Any, path: tuple, what: str = "duration") -> int | None:
        """A literal duration in interval units (unit strings resolved), or None after recording an error."""

    def schedule(self, model: Any, path: tuple, carry: Any, remaining: Any) -> ir.Node | None:
        """Lower a validated neutral schedule model."""

    def neutral(self, data: Any) -> Any:
        """Validate neutral data into the language's models; raises pydantic's ``ValidationError``."""


# ------------------------------------------------------------------------------------------------ desugaring
class Stop(Exception):
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

    def __init__(self, lw: Lowering, path: tuple, kind: str, horizon: int | None = None):
        self.lw, self.path, self.kind = lw, path, kind
        # how far the schedule is evaluated (its window, or `total`): which quirks it relies on
        self.horizon = horizon

    def child(self, *sub: Any, kind: str, begin: int = 0) -> Cx:
        horizon = None if self.horizon is None else self.horizon - begin
        return Cx(self.lw, self.path + sub, kind, horizon)

    def fail(self, sub: tuple, message: str):
        self.lw.err(self.path + tuple(sub), message)
        raise Stop

    def note(self, message: str) -> None:
        """Record a quirk of the framework this spec relies on (``Spec.notes``; ``schedspec check`` prints it)."""
        self.lw.note(self.path, f"{self.kind}: {message}")

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
            raise Stop
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
        except (Stop, NeedLiteral):
            self.lw.issues[:] = saved
            return None

    def value_at(self, data: Any, t: int, sub: tuple) -> float:
        """The value of neutral ``data`` at local time ``t`` (float64), for a scheduler that continues from it."""
        lw = self.lw
        saved = (list(lw.issues), list(lw.warnings))
        model = self.neutral(data)
        node = lw.schedule(model, self.path, 0.0, None)
        lw.issues[:], lw.warnings[:] = saved
        if node is None or ir.depends_on_vars(node):
            self.fail(
                sub, "the scheduler before this one must not use vars: this one continues from its last value"
            )
        return float(_compile.build(node, B.MathXP)(t, {}))

    def neutral(self, data: Any) -> Any:
        """Neutral data -> the language's models (the same validation a hand-written neutral spec gets)."""
        try:
            return self.lw.neutral(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            self.fail((), f"cannot be written in neutral kinds ({where}: {err['msg']})")



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
_INTRINSIC = {"linear", "cosine", "polynomial", "onecycle", "tanh"}


def window(cx: Cx, d: Any, span: int | None, why: str) -> Any:
    """``d`` cut (or extended, holding its final value) to exactly ``span`` units; ``d`` itself if ``span`` is None.

    The values for ``t < span`` are unchanged: a phase that ends earlier is followed by ``{kind: constant,
    duration: ...}`` (which holds the carried final value); a never-ending phase gets ``duration: span``; the first
    cycle of a ``repeat`` is its ``of``; a ``linear`` cut inside its ramp ends at its value there; any other curve
    cut inside itself is wrapped in ``{kind: clip, of: ..., duration: span}`` (a clip without bounds is a window).
    From ``span`` on the result holds the value ``d`` has AT ``span`` (every node holds its value at its duration):
    cut exactly where a phase of a sequence ends, the next phase's first value (a window over both); cut exactly
    at a restart of a ``repeat``, the restart's value (the repeat itself, with ``duration: span``).
    """
    if span is None:
        return d
    if isinstance(d, list):
        out, used = [], 0
        for i, p in enumerate(d):
            n = length(cx, p, why)
            if n is not None and used + n == span and i + 1 < len(d):
                # cut exactly where the next phase begins: the value held from `span` on is the framework's value
                # at `span`, the next phase's first value (a window over both phases, the next one cut to 1 step)
                nxt = window(cx, d[i + 1], 1, why)
                return [N("clip", of=out + [p] + (nxt if isinstance(nxt, list) else [nxt]), duration=span)]
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
        # only the first cycle is used: it is `of` itself (cut at the period, it holds the restart's value)
        if period is not None and span < period:
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


class FrameworkKind(BaseModel):
    """A framework's scheduler written with the framework's own parameter names (desugared in lowering)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)
    native: ClassVar[bool] = True
    framework: ClassVar[str] = ""

    duration: Duration | None = Field(None, description=_DURATION)

    def desugar(
        self, cx: Cx, span: int | None, carry: Any
    ) -> Any:  # pragma: no cover - every kind overrides it
        raise NotImplementedError


# ------------------------------------------------------------------------------------------------ unions
def kind_tag(v: Any) -> str | None:
    if isinstance(v, BaseModel):
        return getattr(v, "kind", None)
    if isinstance(v, dict):
        kind = v.get("kind")
        return kind if isinstance(kind, str) else None
    return None



def kind_name(m: type) -> str:
    """The ``kind`` a model is spelt with (``"torch.StepLR"``)."""
    return m.model_fields["kind"].annotation.__args__[0]


def union(models: tuple, framework: str, name: str) -> Any:
    """The discriminated union of a framework's kinds, for a combinator that takes only that framework's schedules."""
    return TypeAliasType(
        name,
        Annotated[
            Union[tuple(Annotated[m, Tag(kind_name(m))] for m in models)],  # noqa: UP007
            Discriminator(
                kind_tag,
                custom_error_type="native_child",
                custom_error_message=f"expected {'an' if framework[0] in 'aeiou' else 'a'} {framework} kind here ({', '.join(kind_name(m) for m in models[:4])}, ...): "
                f"{framework} combinators take {framework} schedules only",
            ),
        ],
    )


# ------------------------------------------------------------------------------------------------ importers
def refuse(origin: str, path: tuple, message: str) -> SpecError:
    return SpecError(
        [Issue(f"<{origin}>", None, None, format_path(path) if path else "<scheduler>", message)]
    )


def plain(x: Any) -> Any:
    """Python numbers from numpy / framework scalars (0-d arrays, tensors)."""
    if isinstance(x, bool) or x is None or isinstance(x, (int, float, str)):
        return x
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    item = getattr(x, "item", None)
    if callable(item):
        try:
            return plain(item())
        except (TypeError, ValueError):
            pass
    try:
        return float(x)
    except (TypeError, ValueError):
        return x


def whole(origin: str, path: tuple, name: str, x: Any) -> int:
    x = plain(x)
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not float(x).is_integer():
        raise refuse(
            origin, path, f"`{name}` = {x!r} is not a whole number of steps; a spec counts whole steps"
        )
    return int(x)


def recover(value: float, reproduces) -> float:
    """The shortest decimal rounding of ``value`` that ``reproduces`` the framework's stored float exactly."""
    for digits in range(0, 17):
        candidate = round(value, digits)
        if candidate != 0 and reproduces(candidate):
            return candidate
    return value
