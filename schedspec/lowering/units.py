"""Units and vars for the lowerer: durations (``5ep``, ``2000st``, ``10%``, ``$var``) to whole interval units, numbers
and ``$var`` references checked against their bounds and the float32 range. Never rounds: a duration that is not a
whole number of interval units is an error that says so.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from .. import _range, ir
from .._fields import UNIT_RE, VAR_RE, Bound, describe
from .._source import Source
from ..errors import Issue, did_you_mean, format_path

__all__ = ["F32_RANGE", "Units", "bound_of"]

_UNITS = {"st": "st", "step": "st", "steps": "st", "ep": "ep", "epoch": "ep", "epochs": "ep", "%": "%", "tok": "tok", "token": "tok",
          "tokens": "tok"}
F32_RANGE = (" (largest 3.4028235e+38), where the float32 paths (evaluate's default, to_jax, to_keras, to_optax, "
             "emitted keras/optax/jax modules) would hold inf; give a smaller number")


class Units:
    """The part of the lowerer that reads durations and numbers (a mixin of
    :class:`schedspec.lowering.lowerer._Lowerer`, which sets the attributes below)."""

    doc: Source
    issues: list[Issue]
    warnings: list[Issue]
    interval: str
    spe: int | None
    tps: int | None  # tokens per step (`tok` durations)
    total: int | None
    raw_vars: dict[str, Any]
    overridden: frozenset[str]  # vars given by `with_vars` / `--set`: their values are not in the document
    used: set[str]

    # ---------------------------------------------------------------- errors
    def err(self, path, msg, key=False):
        if len(path) >= 2 and path[0] == "vars" and path[1] in self.overridden:
            # an overriding value has no place in the file: named by its path, unpositioned (as the override's
            # other refusals), never at the document's own value of that var
            self.issues.append(Issue(self.doc.file, None, None, format_path(path), msg))
            return
        self.issues.append(self.doc.issue(path, msg, key=key))

    def warn(self, path, msg):
        self.warnings.append(self.doc.issue(path, msg, severity="warning"))

    # ---------------------------------------------------------------- units
    def _unit_mult(self, unit: str, path, raw) -> Fraction | None:
        if unit == "%":
            if self.total is None:
                self.err(path, f"'{raw}' is a percentage of `total`, but `total` is not set; add e.g. `total: 100ep`")
                return None
            return Fraction(self.total, 100)
        if unit == "tok":
            if self.tps is None:
                self.err(path, f"'{raw}' is in tokens, which needs `tokens_per_step`; add `tokens_per_step: N` (global "
                               "batch size x sequence length) at the top level")  # fmt: skip
                return None
            if self.interval == "step":
                return Fraction(1, self.tps)
            if self.spe is None:
                self.err(path, f"'{raw}' is in tokens, which in an epoch spec needs `steps_per_epoch`; add it at the "
                               "top level")  # fmt: skip
                return None
            return Fraction(1, self.tps * self.spe)
        native = "st" if self.interval == "step" else "ep"
        if unit == native:
            return Fraction(1)
        if self.spe is None:
            self.err(path, f"'{raw}' is in {'epochs' if unit == 'ep' else 'steps'}, which needs `steps_per_epoch`; "
                           "add `steps_per_epoch: N` at the top level")  # fmt: skip
            return None
        return Fraction(self.spe) if unit == "ep" else Fraction(1, self.spe)

    def steps_of(self, raw, path, what="duration") -> int | None:
        """A literal duration (no var) in interval units, or None after recording an error."""
        unit_name = "steps" if self.interval == "step" else "epochs"
        if isinstance(raw, bool):
            self.err(path, f"expected a {what}, got {describe(raw)}")
            return None
        if isinstance(raw, (int, float)):
            if isinstance(raw, float) and not raw.is_integer():
                self.err(path, f"a bare {what} is a whole number of {unit_name} (got {raw!r})")
                return None
            value = Fraction(int(raw))
            text = str(raw)
        else:
            m = UNIT_RE.match(raw)
            if not m:
                self.err(path, f"expected a {what} like 1000, '2000st', '5ep' or '10%', got {describe(raw)}")
                return None
            mult = self._unit_mult(_UNITS[m.group(2)], path, raw)
            if mult is None:
                return None
            value = Fraction(m.group(1)) * mult
            text = raw
        if value.denominator != 1:
            detail = f"{float(value):g} {unit_name}"
            if self.spe and self.interval == "step" and _UNITS[m.group(2)] != "tok":
                detail += f" at steps_per_epoch {self.spe}"
            if self.tps and _UNITS[m.group(2)] == "tok":
                detail += f" at tokens_per_step {self.tps}"
            self.err(path, f"{what} {text!r} is {detail}, not a whole number of {unit_name}; never rounded: choose a value that divides evenly")
            return None
        v = int(value)
        if v <= 0:
            self.err(path, f"a {what} must be > 0 (got {text!r})")
            return None
        if v > ir.MAX_STEPS:
            self.err(path, f"{what} {text!r} is {v} {unit_name}, more than 2**31-1 (the int32 step counter of every framework)")
            return None
        return v

    # ---------------------------------------------------------------- vars
    def _var(self, name: str, path) -> bool:
        if name not in self.raw_vars:
            self.err(path, f"unknown var '${name}'{did_you_mean(name, self.raw_vars)}; define it under `vars:`"
                     + (f" (defined: {', '.join(self.raw_vars)})" if self.raw_vars else ""))  # fmt: skip
            return False
        self.used.add(name)
        return True

    def _values(self, name):
        raw = self.raw_vars[name]
        return (raw, True) if isinstance(raw, list) else ([raw], False)

    def var_steps(self, name, use_path) -> tuple[int, ...] | None:
        values, sweep = self._values(name)
        out = []
        for i, raw in enumerate(values):
            vpath = ("vars", name, *((i,) if sweep else ()))
            n_before = len(self.issues)
            v = self.steps_of(raw, vpath, what=f"duration (var ${name}, used at {format_path(use_path)})")
            if v is None:
                if len(self.issues) == n_before:
                    self.err(vpath, f"var ${name} is used as a duration at {format_path(use_path)}")
                return None
            out.append(v)
        return tuple(out)

    def var_numbers(self, name, use_path, bound: Bound | None) -> tuple[float, ...] | None:
        values, sweep = self._values(name)
        out = []
        for i, raw in enumerate(values):
            vpath = ("vars", name, *((i,) if sweep else ()))
            if isinstance(raw, str):
                self.err(vpath, f"var ${name} is the duration {raw!r} but is used as a number at {format_path(use_path)}")
                return None
            if bound is not None:
                msg = bound.violation(raw)
                if msg:
                    self.err(vpath, f"${name} = {raw} is used at {format_path(use_path)}, where it {msg}")
                    return None
            if abs(float(raw)) > _range.F32_MAX:
                self.err(vpath, f"${name} = {raw} is beyond the float32 range{F32_RANGE}")
                return None
            out.append(float(raw))
        return tuple(out)

    # ---------------------------------------------------------------- params
    def dur(self, raw, path) -> ir.Dur | None:
        if isinstance(raw, str) and VAR_RE.match(raw):
            name = raw[1:]
            if not self._var(name, path) or self.var_steps(name, path) is None:
                return None
            return ir.DVar(name)
        return self.steps_of(raw, path)

    def num(self, raw, path, bound: Bound | None = None) -> ir.Param | None:
        if isinstance(raw, str):
            name = raw[1:]
            if not self._var(name, path) or self.var_numbers(name, path, bound) is None:
                return None
            return ir.Var(name)
        if abs(float(raw)) > _range.F32_MAX:
            where = f"`{path[-1]}`: " if path and isinstance(path[-1], str) else ""
            self.err(path, f"{where}{raw} is beyond the float32 range{F32_RANGE}")
            return None
        return float(raw)

    def _at(self, k: int) -> str:
        unit = "step" if self.interval == "step" else "epoch"
        return f"{unit} {k}"

    def quiet_steps(self, raw) -> int | None:
        """:meth:`steps_of` without recording an error (None where it would)."""
        saved = list(self.issues)
        v = self.steps_of(raw, ())
        self.issues[:] = saved
        return v


def bound_of(model: BaseModel, field: str) -> Bound | None:
    """The :class:`~schedspec._fields.Bound` a model's field declares (checked again on a resolved ``$var``)."""
    return _bound_of(type(model), field)


@functools.cache
def _bound_of(cls: type, field: str) -> Bound | None:
    """:func:`bound_of` of a model class (a class's fields do not change: computed once per class and field)."""
    info = cls.model_fields.get(field)
    if info is None:
        return None
    for meta in info.metadata:
        if isinstance(meta, Bound):
            return meta
    ann = info.annotation
    for arg in getattr(ann, "__args__", ()):
        for meta in getattr(arg, "__metadata__", ()):
            if isinstance(meta, Bound):
                return meta
    return None
