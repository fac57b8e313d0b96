"""Spec (validated Pydantic models) -> IR: units, vars, defaults, carried starts and cross-phase checks.

Every problem is collected with its position, so one run reports all of them at once.
"""

from __future__ import annotations

import dataclasses
import math
import re
from fractions import Fraction
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from . import _compile, _range, ir, language
from ._source import Source
from .errors import Issue, SpecError, did_you_mean, format_path

_NEEDS_LENGTH = {"linear", "cosine", "polynomial", "onecycle"}
_EXPECTED = {
    "int_type": "a whole number", "bool_type": "true or false", "string_type": "a string", "list_type": "a list",
    "dict_type": "a mapping", "float_type": "a number", "model_type": "a mapping", "model_attributes_type": "a mapping",
    "int_from_float": "a whole number", "bool_parsing": "true or false", "int_parsing": "a whole number",
}  # fmt: skip
MAX_SWEEP = 1_000_000
MAX_FRACTIONAL_CYCLES = 10_000  # cycles of a repeat with a fractional `mult` (tabulated one by one)
_NAMED = {"number", "bound", "duration", "var", "point", "greater_than", "greater_than_equal", "less_than",
          "less_than_equal", "too_short", "literal_error", *_EXPECTED}  # messages that name their key


# --------------------------------------------------------------------------------------------- validation
def _data_path(data: Any, loc: tuple) -> tuple[tuple, Any, Any]:
    """Follow a pydantic ``loc`` through the raw data, skipping union tags; return (path, value, parent)."""
    path: list = []
    cur, parent = data, None
    for el in loc:
        if isinstance(cur, dict) and isinstance(el, str) and el in cur:
            parent, cur = cur, cur[el]
            path.append(el)
        elif isinstance(cur, list) and isinstance(el, int) and 0 <= el < len(cur):
            parent, cur = cur, cur[el]
            path.append(el)
    return tuple(path), cur, parent


def _model_for(mapping: Any) -> type[BaseModel] | None:
    if isinstance(mapping, dict):
        kind = mapping.get("kind")
        if isinstance(kind, str):
            return language.KINDS.get(kind)
    return None


def _kind_list() -> str:
    return ", ".join(language.NEUTRAL_KINDS) + "; or a framework's own: torch.<Class>, keras.<Class>, optax.<function>"


def _convert(err: dict, data: Any, doc: Source) -> Issue:
    loc = tuple(err["loc"])
    path, value, parent = _data_path(data, loc)
    etype = err["type"]
    ctx = err.get("ctx") or {}
    key = False
    if etype == "missing":
        name = loc[-1]
        model = _model_for(value)
        where = f" for kind `{value['kind']}`" if model else ""
        msg = f"missing required key `{name}`{where}"
    elif etype == "extra_forbidden":
        name = path[-1]
        model = _model_for(parent)
        what = f"`{parent['kind']}`" if model else "this mapping"
        if model is None:  # a mapping inside a framework kind (optax.sgdr_schedule's cosine_kwargs entries)
            from . import native

            model, what = native.submodel(path[:-1], data) or (None, what)
        fields = [f for f in (model.model_fields if model else language.Document.model_fields)]
        msg = f"unknown key `{name}` for {what}{did_you_mean(name, fields)} (valid keys: {', '.join(fields)})"
        key = True
    elif etype == "kind":
        if isinstance(value, dict):
            kind = value.get("kind")
            if kind is None:
                msg = f"missing `kind`: a schedule mapping needs `kind` (one of {_kind_list()})"
            elif not isinstance(kind, str):
                msg = f"`kind` must be a name like 'cosine', got {language.describe(kind)}"
            else:
                from . import native

                known = native.kinds_like(kind) or f"known kinds: {_kind_list()}"
                msg = f"unknown kind '{kind}'{did_you_mean(kind, language.KINDS)} ({known})"
                if "kind" in value:
                    path = path + ("kind",)
        else:
            msg = (
                "expected a schedule (a number, a $var, a mapping with `kind`, or a list of phases), "
                f"got {language.describe(value)}"
            )
    elif etype == "literal_error":
        expected = ctx.get("expected", "")
        choices = re.findall(r"'([^']*)'", expected) or re.findall(r"\b(\w+)\b", expected)
        msg = f"expected {expected}, got {language.describe(value)}"
        if isinstance(value, str):
            msg += did_you_mean(value, choices)
    elif etype in _EXPECTED:
        msg = f"expected {_EXPECTED[etype]}, got {language.describe(value)}"
    elif etype in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[etype]
        bound = next(iter(ctx.values()), "?")
        msg = f"must be {op} {bound} (got {language.describe(value)})"
    elif etype == "too_short":
        msg = "must not be empty"
    elif etype == "string_pattern_mismatch" and loc and loc[-1] == "[key]":  # a vars/groups key
        msg = f"`{path[-1]}` is not a valid name: a name is letters, digits and '_' (ASCII), starting with a letter or '_'"
        key = True
    elif etype == "string_pattern_mismatch":
        msg = f"must be a name made of letters, digits and '_' (got {language.describe(value)})"
    else:
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
    if etype in _NAMED and path and isinstance(path[-1], str):
        msg = f"`{path[-1]}`: {msg}"
    return doc.issue(path, msg, key=key)


def _prepass(data: dict, doc: Source) -> list[Issue]:
    """Top-level keys: any identifier is a hyperparameter, but one that is close to a reserved key is a typo."""
    issues = []
    for key in data:
        if key in language.RESERVED:
            continue
        if not isinstance(key, str) or not re.fullmatch(language.IDENT, key):
            issues.append(doc.issue((key,), f"`{key}` is not a valid key: a hyperparameter name is letters, digits and '_'", key=True))
            continue
        hint = did_you_mean(key, language.RESERVED - {"lr"})
        if hint:
            issues.append(
                doc.issue(
                    (key,),
                    f"unknown top-level key `{key}`{hint} (any other name is read as a hyperparameter schedule; "
                    "rename it if that is what you meant)",
                    key=True,
                )
            )
    if "schedspec" in data and data["schedspec"] != 1 and isinstance(data["schedspec"], int) and not isinstance(data["schedspec"], bool):
        issues.append(doc.issue(("schedspec",), f"unsupported format version {data['schedspec']}; this schedspec reads version 1"))
    return issues


def validate(doc: Source) -> language.Document:
    """Validate parsed data against the models; raise :class:`SpecError` with every problem."""
    data = doc.data
    from . import _source

    _source.check_shape(data, doc.file)  # a deep dict would exhaust the stack in validation (text is checked when parsed)
    issues = _prepass(data, doc)
    try:
        model = language.Document.model_validate(data)
    except ValidationError as exc:
        seen = {(i.line, i.col, i.message) for i in issues}
        for err in exc.errors():
            if err["type"] == "literal_error" and tuple(err["loc"]) == ("schedspec",) and issues:
                continue
            issue = _convert(err, data, doc)
            if (issue.line, issue.col, issue.message) not in seen:
                seen.add((issue.line, issue.col, issue.message))
                issues.append(issue)
        model = None
    if issues:
        raise SpecError(_sorted(issues))
    return model


def _sorted(issues: list[Issue]) -> list[Issue]:
    return sorted(issues, key=lambda i: (i.line or 0, i.col or 0))


# --------------------------------------------------------------------------------------------- lowering
_UNITS = {"st": "st", "step": "st", "steps": "st", "ep": "ep", "epoch": "ep", "epochs": "ep", "%": "%"}


class _Lowerer:
    def __init__(self, model: language.Document, doc: Source, overrides: dict | None = None):
        self.m, self.doc = model, doc
        self.issues: list[Issue] = []
        self.warnings: list[Issue] = []
        self.interval = model.interval
        self.spe = model.steps_per_epoch
        self.total: int | None = None
        raw_vars = dict(model.vars)
        self.var_paths = {n: ("vars", n) for n in raw_vars}
        for name, value in (overrides or {}).items():
            if name not in raw_vars:
                raise SpecError(
                    [Issue(doc.file, None, None, f"vars.{name}", f"unknown var '{name}'{did_you_mean(name, raw_vars)}; "
                           f"the spec defines: {', '.join(raw_vars) or '(none)'}")]
                )
            try:
                raw_vars[name] = language._var_entry(list(value) if isinstance(value, tuple) else value)
            except PydanticCustomError as exc:
                raise SpecError([Issue(doc.file, None, None, f"vars.{name}", f"var '{name}' set to {value!r}: {exc.message()}")]) from None
            self.var_paths[name] = ("vars", name)
        self.raw_vars = raw_vars
        self.var_defs: dict[str, ir.VarDef] = {}
        self.used: set[str] = set()
        self.offset: int | None = 0  # absolute begin of the node being lowered (for the `total` checks)
        self.records: list[tuple] = []  # (node, path, begin, root) of every phase and combinator, innermost first
        self.root: tuple = ()  # the schedule being lowered: ("lr",), ("groups", "head", "lr"), ...

    # ---------------------------------------------------------------- errors
    def err(self, path, msg, key=False):
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
            self.err(path, f"expected a {what}, got {language.describe(raw)}")
            return None
        if isinstance(raw, (int, float)):
            if isinstance(raw, float) and not raw.is_integer():
                self.err(path, f"a bare {what} is a whole number of {unit_name} (got {raw!r})")
                return None
            value = Fraction(int(raw))
            text = str(raw)
        else:
            m = language.UNIT_RE.match(raw)
            if not m:
                self.err(path, f"expected a {what} like 1000, '2000st', '5ep' or '10%', got {language.describe(raw)}")
                return None
            mult = self._unit_mult(_UNITS[m.group(2)], path, raw)
            if mult is None:
                return None
            value = Fraction(m.group(1)) * mult
            text = raw
        if value.denominator != 1:
            detail = f"{float(value):g} {unit_name}"
            if self.spe and self.interval == "step":
                detail += f" at steps_per_epoch {self.spe}"
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
            vpath = self.var_paths[name] + ((i,) if sweep else ())
            n_before = len(self.issues)
            v = self.steps_of(raw, vpath, what=f"duration (var ${name}, used at {format_path(use_path)})")
            if v is None:
                if len(self.issues) == n_before:
                    self.err(vpath, f"var ${name} is used as a duration at {format_path(use_path)}")
                return None
            out.append(v)
        return tuple(out)

    def var_numbers(self, name, use_path, bound: language.Bound | None) -> tuple[float, ...] | None:
        values, sweep = self._values(name)
        out = []
        for i, raw in enumerate(values):
            vpath = self.var_paths[name] + ((i,) if sweep else ())
            if isinstance(raw, str):
                self.err(vpath, f"var ${name} is the duration {raw!r} but is used as a number at {format_path(use_path)}")
                return None
            if bound is not None:
                msg = bound.violation(raw)
                if msg:
                    self.err(vpath, f"${name} = {raw} is used at {format_path(use_path)}, where it {msg}")
                    return None
            if abs(float(raw)) > _range.F32_MAX:
                self.err(vpath, f"${name} = {raw} is beyond the float32 range{_F32_RANGE}")
                return None
            out.append(float(raw))
        return tuple(out)

    # ---------------------------------------------------------------- params
    def dur(self, raw, path) -> ir.Dur | None:
        if isinstance(raw, str) and language.VAR_RE.match(raw):
            name = raw[1:]
            if not self._var(name, path) or self.var_steps(name, path) is None:
                return None
            return ir.DVar(name)
        return self.steps_of(raw, path)

    def num(self, raw, path, bound: language.Bound | None = None) -> ir.Param | None:
        if isinstance(raw, str):
            name = raw[1:]
            if not self._var(name, path) or self.var_numbers(name, path, bound) is None:
                return None
            return ir.Var(name)
        if abs(float(raw)) > _range.F32_MAX:
            where = f"`{path[-1]}`: " if path and isinstance(path[-1], str) else ""
            self.err(path, f"{where}{raw} is beyond the float32 range{_F32_RANGE}")
            return None
        return float(raw)

    # ---------------------------------------------------------------- schedules
    def schedule(self, m, path, carry: ir.Param | None, remaining: ir.Dur | None, top: bool = False):
        """Lower one schedule. ``remaining`` is the room left to `total` for an open last phase (None: no total)."""
        if isinstance(m, list):
            return self.sequence(m, path, carry, remaining)
        if not isinstance(m, BaseModel):  # a number or $var: a constant
            value = self.num(m, path)
            if value is None:
                return None
            return ir.Constant(value, remaining if remaining is not None and top else None)
        return self.phase(m, path, carry, remaining)

    def phase(self, m, path, carry, remaining):
        """Lower one phase or combinator, and record it (with where it begins) for the overflow check."""
        begin = self.offset
        node = self._phase(m, path, carry, remaining)
        if node is not None:
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
            if at is not None and self.total is not None and at > self.total:
                self.err(ipath, f"this phase begins at {self._at(at)}, after `total` ({self._at(self.total)}); "
                                "shorten the phases before it or raise `total`")  # fmt: skip
            room = None
            if last and remaining is not None:
                room = ir.dur_add(remaining, ir.dur_mul(begin, -1)) if begin else remaining
                if isinstance(room, int) and room <= 0:
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
            if i > 0 and isinstance(item, BaseModel):
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
        return ir.Sequence(tuple(flat), total)

    def _has_intrinsic_length(self, m) -> bool:
        # a framework kind (torch.*, keras.*, optax.*) has its own length, or none (checked once it is desugared)
        return isinstance(m, (language.Repeat, language.Product, language.Scale, language.Clip, language.Sum)) or getattr(m, "native", False)

    def _check_jump(self, m, path, carry, node):
        explicit = getattr(m, "start", None) if not isinstance(m, language.Constant) else m.value
        first_value = None
        if isinstance(m, language.Cyclic):
            first_value = node.low
        elif isinstance(m, language.OneCycle) and isinstance(node.peak, float) and isinstance(node.div_factor, float):
            first_value = node.peak / node.div_factor
        elif explicit is not None:
            first_value = getattr(node, "value" if isinstance(m, language.Constant) else "start", None)
        if isinstance(first_value, float) and isinstance(carry, float):
            if not math.isclose(first_value, carry, rel_tol=1e-9, abs_tol=1e-15):
                self.warn(path, f"jump from {carry:g} to {first_value:g} at the start of this phase; "
                                "omit `start` to continue from the previous value")  # fmt: skip

    def _at(self, k: int) -> str:
        unit = "step" if self.interval == "step" else "epoch"
        return f"{unit} {k}"

    def final(self, node: ir.Node) -> ir.Param:
        """The carried start after ``node``: a float when it depends on no var, else ``Final(node)``."""
        if _depends_on_vars(node):
            return ir.Final(node)
        return _range.final_value(node)  # inf, never an OverflowError: a node that overflows is reported at the end

    def start(self, m, path, carry, field="start") -> ir.Param | None:
        raw = getattr(m, field)
        if raw is None:
            if carry is None:
                self.err(path, f"missing `{field}`: the first phase must give its {field} value "
                               "(later phases default to the previous phase's final value)")  # fmt: skip
                return None
            return carry
        return self.num(raw, path + (field,), _bound(m, field))

    def _phase(self, m, path, carry, remaining):  # noqa: C901 - one branch per kind
        if getattr(m, "native", False):  # torch.*, keras.*, optax.*: desugared to neutral kinds, then lowered
            from . import native

            return native.lower(self, m, path, carry, remaining)
        k = m.kind
        ok = True

        def n(field):
            nonlocal ok
            raw = getattr(m, field)
            if raw is None:
                return None
            v = self.num(raw, path + (field,), _bound(m, field))
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
        if duration is None and k in _NEEDS_LENGTH:
            self.err(path, f"`{k}` needs a `duration` (or, as the last phase, a `total` to run to)")
            return None

        if k == "constant":
            value = self.start(m, path, carry, "value")
            return ir.Constant(value, duration) if value is not None and ok else None
        if k in ("repeat", "product", "scale", "clip", "sum"):
            node = self.combinator(m, path, carry, duration if m.duration is not None else None, remaining)
            if node is not None and node.duration is None and remaining is not None:
                node = dataclasses.replace(node, duration=remaining)  # the open last phase runs to `total`
            return node
        if k == "cyclic":
            node = ir.Cyclic(n("low"), n("high"), d("up"), d("down") if m.down is not None else d("up"), m.mode, n("gamma"), duration)
            period = ir.dur_add(node.up, node.down) if ok else None
            if isinstance(period, int) and period > ir.MAX_STEPS:
                self.err(path + ("up",), f"`up` + `down` = {period} steps, more than 2**31-1 (the int32 step counter of "
                                         "every framework)")  # fmt: skip
                ok = False
            return node if ok else None
        if k == "onecycle":
            node = ir.OneCycle(n("peak"), n("pct_start"), n("div_factor"), n("final_div_factor"), m.anneal, m.three_phase, duration)
            if ok and isinstance(duration, int) and isinstance(node.pct_start, float):
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
            if ok:
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
        if k == "linear":
            node = ir.Linear(start, n("end"), duration)
        elif k == "cosine":
            node = ir.Cosine(start, n("end"), n("exponent"), duration)
        elif k == "polynomial" and m.cycle:  # Keras cycle: `duration` is the first decay length; it never ends
            node = ir.PolynomialCycle(start, n("end"), n("power"), duration, remaining)
        elif k == "polynomial":
            node = ir.Polynomial(start, n("end"), n("power"), duration)
        elif k == "exponential":
            node = ir.Exponential(start, n("gamma"), d("every"), m.staircase, n("end"), duration)
        elif k == "step":
            node = ir.Step(start, n("gamma"), d("every"), duration)
        elif k == "multistep":
            ms = [self.dur(x, path + ("milestones", i)) for i, x in enumerate(m.milestones)]
            if any(x is None for x in ms):
                return None
            for i in range(1, len(ms)):
                if isinstance(ms[i], int) and isinstance(ms[i - 1], int) and ms[i] < ms[i - 1]:
                    self.err(path + ("milestones", i), f"milestones must be in ascending order: {ms[i]} comes after {ms[i - 1]}")
                    ok = False
            node = ir.MultiStep(start, n("gamma"), tuple(ms), duration)
        elif k == "inverse_time":
            node = ir.InverseTime(start, n("rate"), d("every"), m.staircase, duration)
        elif k == "inverse_sqrt":
            node = ir.InverseSqrt(start, d("timescale"), duration)
        else:  # pragma: no cover - every kind is handled above
            raise AssertionError(k)
        return node if ok else None

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
            decay = self.num(m.decay, path + ("decay",), _bound(m, "decay"))
            if decay is None:
                return None
            mult, times, period = float(m.mult), m.times, of.duration
            if not math.isfinite(mult):
                self.err(path + ("mult",), f"`mult` must be a finite number (got {mult})")
                return None
            if mult > _range.F32_MAX:  # the targets stretch each cycle by mult**i in float32
                self.err(path + ("mult",), f"`mult`: {mult:g} is beyond the float32 range{_F32_RANGE}")
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
            elif isinstance(m.total, str) and language.VAR_RE.match(m.total):
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
                    s = _quiet_steps(self, v)
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
        from . import _metrics  # plateaus: none inside a repeat, one report clock per metric

        self.issues.extend(_metrics.check_program(_metrics.schedules(ir.Program(hparams, groups=groups)), self.doc))
        if not self.issues:
            self.overflows()
        if self.issues:
            raise SpecError(_sorted(self.issues))
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

    def overflows(self) -> None:
        """Refuse a schedule whose values leave the float32 range (or the float64 one) at some step.

        float32 is the default of ``evaluate`` and of the JAX, Keras and Optax paths, where such a value is ``inf``
        (and ``0 * inf`` a NaN); torch computes in float64. Each node that can grow (exponential, step, multistep,
        cyclic, onecycle, repeat, scale, product, sum) is examined for every sweep member; in each schedule the one
        that overflows first (the innermost on a tie) is reported at its position, with the first step concerned.
        """
        first: dict[tuple, tuple] = {}  # root -> (step, order, node, path, begin, found)
        for order, (node, path, begin, root) in enumerate(self.records):
            if not isinstance(node, _range.GROWING):
                continue
            found = _range.overflow(node, self.var_defs, begin)
            if found is None:
                continue
            step = (begin or 0) + found.at32  # ties: the innermost (recorded first)
            if root not in first or step < first[root][0]:
                first[root] = (step, order, node, path, begin, found)
        for _, _, node, path, begin, found in first.values():
            self.err(_existing(self.doc, path), _overflow_message(node, found, begin, self._at))

    def groups(self, m, hparams: dict) -> dict[str, dict[str, ir.Node]]:
        """Lower ``groups``: each group's own schedules, and ``scale`` folded in as ``Scale(scale, lr)``.

        A group may only override the document's hyperparameters (a key that is not one is a typo until proven
        otherwise); ``scale`` multiplies the group's own ``lr`` if it has one, else the document's.
        """
        from . import errors as _errors

        out: dict[str, dict[str, ir.Node]] = {}
        names = ["lr", *(m.__pydantic_extra__ or {})]
        for gname, group in (m.groups or {}).items():
            own: dict[str, ir.Node] = {}
            for name, sched in (group.__pydantic_extra__ or {}).items():
                path = ("groups", gname, name)
                if name not in names:
                    self.err(path, f"group `{gname}`: `{name}` is not a hyperparameter of the document"
                                   f"{_errors.did_you_mean(name, [*names, 'scale'])} (it schedules: {', '.join(names)}); a group "
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
                    own["lr"] = ir.Scale(by, lr, lr.duration)
                    self.records.append((own["lr"], ("groups", gname, "scale"), 0, ("groups", gname, "lr")))
            if not own and group.scale is None:
                self.warn(("groups", gname), f"group `{gname}` changes nothing (no `scale`, no schedule): it gets "
                                             "the document's schedules")  # fmt: skip
            out[gname] = own
        return out


_F32_RANGE = (" (largest 3.4028235e+38), where the float32 paths (evaluate's default, to_jax, to_keras, to_optax, "
              "emitted keras/optax/jax modules) would hold inf; give a smaller number")
_HINTS = {
    "exponential": "give it an `end` (a ceiling), a shorter `duration` or a `gamma` nearer 1",
    "step": "give it a shorter `duration` or a `gamma` nearer 1",
    "multistep": "use fewer milestones or a `gamma` nearer 1",
    "cyclic": "give it a shorter `duration` or a `gamma` nearer 1",
    "onecycle": "lower `peak` or raise `div_factor` / `final_div_factor`",
    "repeat": "give it fewer `times`, a shorter `duration` or a `decay` nearer 1",
}


def _overflow_message(node: ir.Node, found, begin: int | None, at) -> str:
    kind = ir.kind(node)
    if isinstance(begin, int):
        where32 = at(begin + found.at32)
        where64 = None if found.at64 is None else at(begin + found.at64)
    else:  # inside a repeat, or after a var-length phase: its own time
        where32 = f"its local step {found.at32}"
        where64 = None if found.at64 is None else f"its local step {found.at64}"
    member = ""
    if found.member:
        member = " with " + ", ".join(f"{n}={v}" for n, v in found.member.items())
    hint = _HINTS.get(kind, "use smaller factors")
    if where64 is not None and found.at64 == found.at32:
        return (f"this `{kind}` overflows float32 and float64 from {where32} on{member}: no target can carry it; "
                f"{hint}")  # fmt: skip
    value = "inf" if math.isinf(found.value) else f"{found.value:.6g}"
    also = "" if where64 is None else f"; it overflows float64 too, from {where64} on"
    return (f"this `{kind}` overflows float32 from {where32} on{member} (float64 value there: {value}): the float32 "
            f"paths (evaluate's default, to_jax, to_keras, to_optax, emitted keras/optax/jax modules) would give inf "
            f"or NaN{also}; {hint}")  # fmt: skip


def _existing(doc: Source, path: tuple) -> tuple:
    """The longest prefix of ``path`` that exists in the document (a framework kind's neutral parts do not)."""
    cur, out = doc.data, []
    for key in path:
        if isinstance(cur, dict) and key in cur:
            cur = cur[key]
        elif isinstance(cur, list) and isinstance(key, int) and 0 <= key < len(cur):
            cur = cur[key]
        else:
            break
        out.append(key)
    return tuple(out)


def _quiet_steps(lowerer: _Lowerer, raw) -> int | None:
    saved = list(lowerer.issues)
    v = lowerer.steps_of(raw, ())
    lowerer.issues[:] = saved
    return v


def _bound(model: BaseModel, field: str) -> language.Bound | None:
    info = type(model).model_fields.get(field)
    if info is None:
        return None
    for meta in info.metadata:
        if isinstance(meta, language.Bound):
            return meta
    ann = info.annotation
    for arg in getattr(ann, "__args__", ()):
        for meta in getattr(arg, "__metadata__", ()):
            if isinstance(meta, language.Bound):
                return meta
    return None


def _depends_on_vars(x) -> bool:
    """Whether a value is not a constant of the spec: it uses a var, or metric reports (a plateau)."""
    if isinstance(x, (ir.Var, ir.DVar, ir.Sum, ir.Final, ir.Plateau)):
        return True
    if isinstance(x, ir.Node):
        import dataclasses

        return any(_depends_on_vars(getattr(x, f.name)) for f in dataclasses.fields(x))
    if isinstance(x, tuple):
        return any(_depends_on_vars(v) for v in x)
    return False


def lower(model: language.Document, doc: Source, overrides: dict | None = None) -> tuple[ir.Program, list[Issue]]:
    """Lower a validated document to the IR; return the program and its warnings."""
    lw = _Lowerer(model, doc, overrides)
    program = lw.run()
    return program, _sorted(lw.warnings)


# --------------------------------------------------------------------------------------------- binding
def bind(program: ir.Program, member: dict[str, Any] | None = None) -> ir.Program:
    """Substitute vars by values (scalar vars by their value; sweep vars from ``member``) and fold carried starts."""
    member = member or {}
    num, steps = {}, {}
    keep = set()
    for name, v in program.vars.items():
        if v.sweep and name not in member:
            keep.add(name)
            continue
        if name in member and member[name] not in v.raw:
            raise SpecError(
                [Issue("<spec>", None, None, f"vars.{name}", f"{member[name]!r} is not one of the values of var '{name}' "
                       f"({', '.join(repr(x) for x in v.raw)}); use Spec.with_vars to set another value")]
            )
        idx = v.raw.index(member[name]) if name in member else 0
        if v.number is not None:
            num[name] = v.number[idx]
        if v.steps is not None:
            steps[name] = v.steps[idx]
    env = {("num", k): x for k, x in num.items()} | {("dur", k): x for k, x in steps.items()}

    def sub(x):
        if isinstance(x, ir.Var):
            return x if x.name in keep else num[x.name]
        if isinstance(x, ir.DVar):
            return x if x.name in keep else steps[x.name]
        if isinstance(x, ir.Sum):
            if any(n in keep for _, n in x.terms):
                return x
            return ir.dur_value(x, steps)
        if isinstance(x, ir.Final):
            node = sub(x.node)
            return ir.Final(node) if _depends_on_vars(node) else _range.final_value(node, env)
        if isinstance(x, ir.Node):
            import dataclasses

            return type(x)(**{f.name: sub(getattr(x, f.name)) for f in dataclasses.fields(x)})
        if isinstance(x, tuple):
            return tuple(sub(v) for v in x)
        return x

    return ir.Program(
        hparams={k: sub(v) for k, v in program.hparams.items()},
        groups={g: {k: sub(v) for k, v in hps.items()} for g, hps in program.groups.items()},
        vars={k: v for k, v in program.vars.items() if k in keep},
        interval=program.interval,
        steps_per_epoch=program.steps_per_epoch,
        total=program.total,
        name=program.name,
        description=program.description,
    )


__all__ = ["validate", "lower", "bind", "Fraction"]
