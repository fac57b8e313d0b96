"""The field types of the spec language, shared by the neutral kinds (:mod:`schedspec.language`) and the framework
kinds (:mod:`schedspec.dialects`): numbers and ``$var`` references with their bounds, durations, points.

Each type validates a literal (or a ``$var``, resolved and re-checked in lowering) with a readable message and
carries its JSON Schema. Imports pydantic only.
"""

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from ._text import exact_number

__all__ = [
    "DURATION_PATTERN", "IDENT", "MAX_CYCLES_PER_WINDOW", "UNIT_RE", "VAR_JSON", "VAR_PATTERN", "VAR_RE", "Bound", "Duration", "Fraction01",
    "NonNeg", "Num", "PERIOD_RE", "Period", "Point", "Positive", "Real", "Shift", "check_duration", "check_number",
    "check_period", "check_shift", "describe",
]  # fmt: skip

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
VAR_RE = re.compile(rf"^\$({IDENT})$")
UNIT_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(st|steps?|ep|epochs?|tok|tokens?|%)\s*$")
DURATION_PATTERN = rf"^(\s*[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?\s*(st|steps?|ep|epochs?|tok|tokens?|%)\s*|\${IDENT})$"
VAR_PATTERN = rf"^\${IDENT}$"
# a rational period "<D>/<c>": D a whole duration (a number, or with a unit), c a decimal number (Fraction syntax)
_WHOLE = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?(?:\s*(?:st|steps?|ep|epochs?|tok|tokens?))?"
PERIOD_RE = re.compile(rf"^\s*({_WHOLE})\s*/\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$")
PERIOD_PATTERN = PERIOD_RE.pattern
MAX_CYCLES_PER_WINDOW = 10_000  # v of a repeat's real period u/v: the cycle starts tabulated per window of u units


# --------------------------------------------------------------------------------------------- scalar types
@dataclass(frozen=True)
class Bound:
    """Bounds of a number, checked on literals here and on resolved ``$var`` values in lowering."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    def violation(self, v: float) -> str | None:
        if self.ge is not None and not v >= self.ge:
            return f"must be >= {exact_number(self.ge)}" if self.ge else "must not be negative"
        if self.gt is not None and not v > self.gt:
            return f"must be > {exact_number(self.gt)}"
        if self.le is not None and not v <= self.le:
            return f"must be <= {exact_number(self.le)}"
        if self.lt is not None and not v < self.lt:
            return f"must be < {exact_number(self.lt)}"
        return None

    def json(self) -> dict:
        out = {}
        for key, name in (("gt", "exclusiveMinimum"), ("ge", "minimum"), ("lt", "exclusiveMaximum"), ("le", "maximum")):
            if getattr(self, key) is not None:
                out[name] = getattr(self, key)
        return out


def describe(v: Any) -> str:
    """A short description of a received value for error messages."""
    if isinstance(v, bool):
        return f"the boolean {str(v).lower()}"
    if isinstance(v, str):
        return f"the string {v!r}"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    if v is None:
        return "nothing (null)"
    return repr(v)


def check_number(v: Any, bound: Bound) -> Any:
    """Validate a literal number or ``$var``; raise a pydantic custom error with a readable message."""
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise PydanticCustomError("number", "expected a number or a $var, got {got}", {"got": describe(v)})
    if isinstance(v, str):
        if VAR_RE.match(v):
            return v
        if v.startswith("$"):
            raise PydanticCustomError("var", "invalid var reference {v}: a var name is letters, digits and '_'", {"v": repr(v)})
        raise PydanticCustomError("number", "expected a number or a $var, got {got}", {"got": describe(v)})
    if math.isnan(v):
        raise PydanticCustomError("number", "NaN is not allowed here; give a number")
    if math.isinf(v):
        raise PydanticCustomError("number", "an infinite value is not allowed here; give a finite number")
    msg = bound.violation(v)
    if msg:
        raise PydanticCustomError("bound", "{msg} (got {got})", {"msg": msg, "got": exact_number(v)})
    return v


def check_duration(v: Any) -> Any:
    """Validate a literal duration: a positive whole number, ``"<n><unit>"`` or ``$var``."""
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise PydanticCustomError(
            "duration", "expected a duration (e.g. 1000, '2000st', '5ep', '10%' or a $var), got {got}", {"got": describe(v)}
        )
    if isinstance(v, str):
        if VAR_RE.match(v) or UNIT_RE.match(v):
            m = UNIT_RE.match(v)
            if m and float(m.group(1)) <= 0:
                raise PydanticCustomError("duration", "a duration must be > 0 (got {v})", {"v": repr(v)})
            return v
        raise PydanticCustomError(
            "duration",
            "expected a duration like 1000, '2000st', '5ep', '1.5ep', '10%' or a $var, got {got}",
            {"got": describe(v)},
        )
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        raise PydanticCustomError("duration", "a duration must be a finite number (got {v})", {"v": repr(v)})
    if v <= 0:
        raise PydanticCustomError("duration", "a duration must be > 0 (got {v})", {"v": exact_number(v)})
    if isinstance(v, float) and not v.is_integer():
        raise PydanticCustomError(
            "duration",
            "a bare duration is a whole number of interval units (got {v}); write e.g. '{v}ep' for epochs",
            {"v": repr(v)},
        )
    return v


VAR_JSON = {"type": "string", "pattern": VAR_PATTERN}


def check_period(v: Any) -> Any:
    """Validate a repeat's ``period``: a duration (:func:`check_duration`) or a rational ``"<D>/<c>"`` (D a whole
    duration, c a decimal number > 0, read exactly by ``fractions.Fraction``)."""
    if isinstance(v, str) and "/" in v:
        m = PERIOD_RE.match(v)
        if not m:
            raise PydanticCustomError(
                "period", "expected a period like 26, '26st', or a rational '<D>/<c>' such as '26/3' or '26/1.5' (D a "
                "whole duration, c a decimal number > 0), got {got}", {"got": describe(v)},
            )  # fmt: skip
        if not float(m.group(2)) > 0:
            raise PydanticCustomError(
                "period", "the divisor of the period {v} must be > 0 (the period is D / c)", {"v": repr(v)}
            )
        return v
    return check_duration(v)


def check_shift(v: Any) -> Any:
    """Validate a repeat's ``shift``: 0, or a duration (:func:`check_duration`)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0:
        return 0
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v < 0:
        raise PydanticCustomError(
            "shift", "a shift must be >= 0 (got {v}): the repeat's clock starts `shift` units ahead; it cannot start "
            "behind", {"v": exact_number(v)},
        )  # fmt: skip
    return check_duration(v)


def Num(bound: Bound = Bound(ge=0)) -> Any:  # noqa: N802 - a type factory
    """A non-negative (by default) literal number or ``$var``."""
    return Annotated[
        float | str,
        PlainValidator(lambda v: check_number(v, bound)),
        WithJsonSchema({"anyOf": [{"type": "number", **bound.json()}, VAR_JSON]}),
        bound,
    ]


NonNeg = Num(Bound(ge=0))
Real = Num(Bound())  # any finite number (tanh's lb may be negative)
Positive = Num(Bound(gt=0))
Fraction01 = Num(Bound(gt=0, lt=1))
def _durationlike(check: Any, number: dict, *patterns: str) -> Any:
    """A duration-shaped type: ``check`` validates it; its JSON Schema is ``number`` or a string of a pattern."""
    strings = [{"type": "string", "pattern": p} for p in patterns]
    return Annotated[int | float | str, PlainValidator(check), WithJsonSchema({"anyOf": [number, *strings]})]


_WHOLE_POSITIVE = {"type": "number", "exclusiveMinimum": 0, "multipleOf": 1}
Duration = _durationlike(check_duration, _WHOLE_POSITIVE, DURATION_PATTERN)
Period = _durationlike(check_period, _WHOLE_POSITIVE, DURATION_PATTERN, PERIOD_PATTERN)
Shift = _durationlike(check_shift, {"type": "number", "minimum": 0, "multipleOf": 1}, DURATION_PATTERN)


def _point(v: Any) -> Any:
    if not isinstance(v, list) or len(v) != 2:
        raise PydanticCustomError("point", "a point is a pair [at, value], e.g. [1000, 0.01]; got {got}", {"got": describe(v)})
    at, value = v
    try:
        if not (isinstance(at, int) and not isinstance(at, bool) and at == 0):
            check_duration(at)
    except PydanticCustomError as e:
        raise _at_item(e, 0) from None
    try:
        return [at, check_number(value, Bound(ge=0))]
    except PydanticCustomError as e:
        raise _at_item(e, 1) from None


def _at_item(e: PydanticCustomError, item: int) -> PydanticCustomError:
    """The same error, naming the item of the pair it is about (``ctx["item"]``): the position given to the user is
    that item's, not the pair's (:func:`schedspec.lowering.validate._convert` reads it)."""
    return PydanticCustomError(e.type, e.message_template, {**(e.context or {}), "item": item})


Point = Annotated[
    list,
    PlainValidator(_point),
    WithJsonSchema(
        {
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "prefixItems": [
                {"anyOf": [{"type": "number", "minimum": 0, "multipleOf": 1}, {"type": "string", "pattern": DURATION_PATTERN}]},
                {"anyOf": [{"type": "number", "minimum": 0}, VAR_JSON]},
            ],
        }
    ),
]
