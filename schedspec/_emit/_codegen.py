"""Bound IR -> Python source text that evaluates it with the shared formulas.

This mirrors :mod:`schedspec._compile` node for node, but writes source instead of building closures:

* a phase becomes one call of its formula from :mod:`schedspec.formulas` (copied verbatim into the emitted
  module), with numeric literals written by ``repr`` so that they round-trip exactly;
* a combinator (sequence, repeat, product, scale, clip, sum) becomes a small function of ``(xp, t)`` whose statements
  follow the closure that ``_compile`` builds for it (local time ``t - begin``, the boundary owned by the next
  phase, ``min(t, duration)`` for every node with a duration except sequences and one-cycles, repeat's cycle
  index, stretch and decay);
* tuples (milestones, piecewise points, repeat cycle starts) become module constants.

The generated text is laid out the way ``ruff format`` (line length 110) lays it out, so it reads like
hand-written code. Nothing from the spec but numbers reaches the code: kinds, modes and flags are taken from the
IR's closed vocabularies and checked against them.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

from .. import ir

LINE = 110  # the project's line length (ruff format)
INDENT = "    "

# Closed vocabularies of the IR's string fields: anything else is an internal error, never code.
_WORDS = {"constant", "linear", "cosine", "cos", "triangular", "triangular2", "exp_range"}


def num(x: object) -> str:
    """A numeric literal that round-trips exactly: ``repr(float)`` for floats, ``str(int)`` for ints.

    >>> num(0.1), num(6e-05), num(2000), num(True)
    ('0.1', '6e-05', '2000', 'True')
    """
    if isinstance(x, bool):
        return "True" if x else "False"
    if isinstance(x, numbers.Integral):
        return str(int(x))
    if isinstance(x, numbers.Real):
        value = float(x)
        if not math.isfinite(value):
            raise ValueError(f"cannot emit the non-finite number {value!r}")
        return repr(value)
    raise TypeError(f"expected a number in the bound IR, got {x!r} ({type(x).__name__})")


def word(s: str) -> str:
    """A string literal for one of the IR's fixed words (``"linear"``, ``"cos"``, ...)."""
    if s not in _WORDS:
        raise ValueError(f"unexpected IR word {s!r}")
    return f'"{s}"'


def call(prefix: str, func: str, args: list[str], indent: int) -> list[str]:
    """``prefix + func(args)`` as lines, split the way ``ruff format`` splits a call that is too long."""
    pad = INDENT * indent
    flat = f"{pad}{prefix}{func}({', '.join(args)})"
    if len(flat) <= LINE:
        return [flat]
    inner = INDENT * (indent + 1)
    hug = inner + ", ".join(args)
    if len(hug) <= LINE:
        return [f"{pad}{prefix}{func}(", hug, f"{pad})"]
    return [f"{pad}{prefix}{func}(", *(f"{inner}{a}," for a in args), f"{pad})"]


def tuple_literal(name: str, items: list[str]) -> list[str]:
    """``NAME = (a, b, ...)``; one item per line when it does not fit (as ``ruff format`` does)."""
    body = ", ".join(items) + ("," if len(items) == 1 else "")
    flat = f"{name} = ({body})"
    if len(flat) <= LINE:
        return [flat]
    return [f"{name} = (", *(f"{INDENT}{a}," for a in items), ")"]


@dataclass
class _Expr:
    """An expression to evaluate a node at a time expression (``text`` is valid at the caller's indentation)."""

    text: str  # e.g. "linear" (a formula or generated function name)
    args: list[str]


# formula name and argument getters, in the order _compile passes them (after ``xp, t``)
def _phase_args(node: ir.Node, const) -> tuple[str, list[str]]:
    n = node
    if isinstance(n, ir.Constant):
        return "constant", [num(n.value)]
    if isinstance(n, ir.Linear):
        return "linear", [num(n.duration), num(n.start), num(n.end)]
    if isinstance(n, ir.Cosine):
        return "cosine", [num(n.duration), num(n.start), num(n.end), num(n.exponent)]
    if isinstance(n, ir.Polynomial):
        return "polynomial", [num(n.duration), num(n.start), num(n.end), num(n.power)]
    if isinstance(n, ir.PolynomialCycle):
        return "polynomial_cycle", [num(n.every), num(n.start), num(n.end), num(n.power)]
    if isinstance(n, ir.Exponential):
        end = "None" if n.end is None else num(n.end)
        return "exponential", [num(n.start), num(n.gamma), num(n.every), num(bool(n.staircase)), end]
    if isinstance(n, ir.Step):
        return "step", [num(n.start), num(n.gamma), num(n.every)]
    if isinstance(n, ir.MultiStep):
        return "multistep", [num(n.start), num(n.gamma), const("MILESTONES", [num(m) for m in n.milestones])]
    if isinstance(n, ir.Piecewise):
        ats = const("ATS", [num(a) for a in n.ats])
        values = const("VALUES", [num(v) for v in n.values])
        return "piecewise", [ats, values, word(n.interpolate)]
    if isinstance(n, ir.InverseTime):
        return "inverse_time", [num(n.start), num(n.rate), num(n.every), num(bool(n.staircase))]
    if isinstance(n, ir.InverseSqrt):
        return "inverse_sqrt", [num(n.start), num(n.timescale)]
    if isinstance(n, ir.Cyclic):
        return "cyclic", [num(n.low), num(n.high), num(n.up), num(n.down), word(n.mode), num(n.gamma)]
    if isinstance(n, ir.OneCycle):
        args = [num(n.duration), num(n.peak), num(n.pct_start), num(n.div_factor), num(n.final_div_factor)]
        return "onecycle", [*args, word(n.anneal), num(bool(n.three_phase))]
    raise TypeError(f"not a phase: {type(n).__name__}")


_COMBINATORS = (ir.Sequence, ir.Repeat, ir.Product, ir.Scale, ir.Clip, ir.SumOf)


@dataclass
class Generator:
    """Collects the functions, constants and formulas needed to evaluate one bound IR tree.

    Attributes:
        scalar: True for the Python-scalar path (torch, :class:`MathXP`): sequences become ``if`` chains, as in
            ``_compile``'s scalar sequence; otherwise ``xp.where`` chains.
        label: the hyperparameter's name, already sanitised, used in comments only.
    """

    scalar: bool
    label: str = "lr"
    functions: list[list[str]] = field(default_factory=list)
    constants: list[list[str]] = field(default_factory=list)
    formulas: set[str] = field(default_factory=set)
    _counter: int = 0
    _const_names: dict[tuple, str] = field(default_factory=dict)

    # ------------------------------------------------------------------------------------------ naming
    def _name(self, kind: str) -> str:
        self._counter += 1
        return f"_{kind}_{self._counter}"

    def const(self, prefix: str, items: list[str]) -> str:
        """A module constant holding a tuple (deduplicated)."""
        key = (prefix, tuple(items))
        if key not in self._const_names:
            name = f"_{prefix}_{len(self._const_names) + 1}"
            self._const_names[key] = name
            self.constants.append(tuple_literal(name, items))
        return self._const_names[key]

    # ------------------------------------------------------------------------------------------ nodes
    def expr(self, node: ir.Node, t: str, where: str) -> _Expr:
        """The call evaluating ``node`` at time expression ``t`` (clamped to its duration, as ``_compile.build``)."""
        if node.duration is not None and not isinstance(node, (ir.Sequence, ir.OneCycle)):
            t = f"xp.minimum({t}, {num(node.duration)})"
        if isinstance(node, ir.Plateau):
            raise TypeError("plateau must be rejected before code generation")
        if isinstance(node, _COMBINATORS):
            name = self.function(node, where)
            return _Expr(name, ["xp", t])
        fname, args = _phase_args(node, self.const)
        self.formulas.add(fname)
        return _Expr(fname, ["xp", t, *args])

    def assign(self, target: str, node: ir.Node, t: str, where: str, indent: int = 1) -> list[str]:
        e = self.expr(node, t, where)
        return call(f"{target} = ", e.text, e.args, indent)

    def returns(self, node: ir.Node, t: str, where: str, indent: int = 1) -> list[str]:
        e = self.expr(node, t, where)
        return call("return ", e.text, e.args, indent)

    def root(self, node: ir.Node) -> None:
        """Emit ``_value(xp, t)``: the whole schedule at time ``t`` in interval units."""
        if isinstance(node, _COMBINATORS) and (node.duration is None or isinstance(node, ir.Sequence)):
            self.function(node, self.label, name="_value")
            return
        body = self.returns(node, "t", self.label)
        doc = f'{INDENT}"""{self.label}: {ir.kind(node)} at time t."""'
        self.functions.append(["def _value(xp, t):", doc, *body])

    def function(self, node: ir.Node, where: str, name: str | None = None) -> str:
        """Emit the function for a combinator and return its name."""
        kind = ir.kind(node)
        name = name or self._name(kind)
        slot: list[str] = []
        self.functions.append(slot)  # reserve the position: callers come before callees
        builder = getattr(self, f"_{kind}")
        doc, body = builder(node, where)
        slot.extend([f"def {name}(xp, t):", f'{INDENT}"""{doc}"""', *body])
        return name

    def _sequence(self, n: ir.Sequence, where: str) -> tuple[str, list[str]]:
        begins = [0]
        for p in n.parts[:-1]:
            begins.append(begins[-1] + p.duration)
        doc = f"{where}: a sequence of {len(n.parts)} phases starting at t = {', '.join(map(str, begins))}."
        lines: list[str] = []
        if self.scalar:
            last = len(n.parts) - 1
            for i, (b, part) in enumerate(zip(begins, n.parts)):
                local = "t" if b == 0 else f"t - {b}"
                sub = f"{where}[{i}]"
                lines.append(
                    f"{INDENT}# {sub}: {ir.kind(part)}, t in [{b}, {'...' if i == last else begins[i + 1]})"
                )
                if i < last:
                    lines.append(f"{INDENT}if t < {begins[i + 1]}:")
                    lines += self.returns(part, local, sub, indent=2)
                else:
                    lines += self.returns(part, local, sub)
            return doc, lines
        for i, (b, part) in enumerate(zip(begins, n.parts)):
            sub = f"{where}[{i}]"
            lines.append(f"{INDENT}# {sub}: {ir.kind(part)} from t = {b}")
            if i == 0:
                lines += self.assign("out", part, "t", sub)
                continue
            lines.append(f"{INDENT}t{i} = xp.maximum(t - {b}, 0)")
            lines += self.assign(f"v{i}", part, f"t{i}", sub)
            lines.append(f"{INDENT}out = xp.where(t < {b}, out, v{i})")
        lines.append(f"{INDENT}return out")
        return doc, lines

    def _repeat(self, n: ir.Repeat, where: str) -> tuple[str, list[str]]:
        P, m, times = n.period, n.mult, n.times
        if not isinstance(P, int) or P <= 0:
            raise ValueError(f"repeat period must be a positive int after binding (got {P!r})")
        how = "forever" if times is None else f"{times} times"
        doc = f"{where}: repeat a {P}-step period {how} (mult {num(m)}, decay {num(n.decay)})."
        lines: list[str] = []
        sub = f"{where}.of"
        if m == 1:
            lines.append(f"{INDENT}c = xp.floordiv(t, {P})")
            lines.append(f"{INDENT}local = t - c * {P}")
            if times is not None:
                lines.append(f"{INDENT}done = c >= {times}")
                lines.append(f"{INDENT}c = xp.minimum(c, {times - 1})")
                lines.append(f"{INDENT}local = xp.where(done, {P}, local)")
            t_of = "local"
        else:
            integral = float(m).is_integer()
            coefs = []
            i = 1
            while times is None or i < times:
                c = (int(m) ** i - 1) // (int(m) - 1) if integral else (m**i - 1) / (m - 1)
                if c > ir.MAX_STEPS:
                    break
                coefs.append(c)
                i += 1
            if integral:
                if coefs:
                    lines.append(
                        f"{INDENT}c = xp.count_le({self.const('CYCLES', [num(c) for c in coefs])}, xp.floordiv(t, {P}))"
                    )
                else:
                    lines.append(f"{INDENT}c = xp.floordiv(t, {P}) * 0")
                starts = self.const("STARTS", [num(c) for c in (0, *coefs)])
                lines.append(f"{INDENT}start = {P} * xp.take({starts}, c)")
                lines.append(f"{INDENT}local = xp.f(t - start)")
            else:
                lines.append(f"{INDENT}tf = xp.f(t)")
                if coefs:
                    bounds = self.const("BOUNDS", [num(P * c) for c in coefs])
                    lines.append(f"{INDENT}c = xp.count_le({bounds}, tf)")
                else:
                    lines.append(f"{INDENT}c = xp.floordiv(t, {P}) * 0")
                starts = self.const("STARTS", [num(c) for c in (0.0, *coefs)])
                lines.append(f"{INDENT}local = tf - xp.f({P}) * xp.take({starts}, c)")
            lines.append(f"{INDENT}t_of = local / xp.power({num(float(m))}, xp.f(c))")
            if times is not None:
                end = P * ((int(m) ** times - 1) // (int(m) - 1) if integral else (m**times - 1) / (m - 1))
                lines.append(f"{INDENT}t_of = xp.where(t >= {num(end)}, xp.f({P}), t_of)")
            t_of = "t_of"
        decay = n.decay
        if isinstance(decay, numbers.Real) and decay == 1:
            lines += self.returns(n.of, t_of, sub)
        else:
            lines += self.assign("v", n.of, t_of, sub)
            lines.append(f"{INDENT}return v * xp.power({num(decay)}, xp.f(c))")
        return doc, lines

    def _product(self, n: ir.Product, where: str) -> tuple[str, list[str]]:
        doc = f"{where}: the product of {len(n.parts)} factors at the same t."
        lines = self.assign("out", n.parts[0], "t", f"{where}.of[0]")
        for i, part in enumerate(n.parts[1:], start=1):
            lines += self.assign(f"v{i}", part, "t", f"{where}.of[{i}]")
            lines.append(f"{INDENT}out = out * v{i}")
        lines.append(f"{INDENT}return out")
        return doc, lines

    def _sum(self, n: ir.SumOf, where: str) -> tuple[str, list[str]]:
        doc = f"{where}: the sum of {len(n.parts)} terms at the same t."
        lines = self.assign("out", n.parts[0], "t", f"{where}.of[0]")
        for i, part in enumerate(n.parts[1:], start=1):
            lines += self.assign(f"v{i}", part, "t", f"{where}.of[{i}]")
            lines.append(f"{INDENT}out = out + v{i}")
        lines.append(f"{INDENT}return out")
        return doc, lines

    def _scale(self, n: ir.Scale, where: str) -> tuple[str, list[str]]:
        doc = f"{where}: {num(n.by)} times a schedule."
        lines = self.assign("v", n.of, "t", f"{where}.of")
        lines.append(f"{INDENT}return {num(n.by)} * v")
        return doc, lines

    def _clip(self, n: ir.Clip, where: str) -> tuple[str, list[str]]:
        lo = "-inf" if n.min is None else num(n.min)
        hi = "inf" if n.max is None else num(n.max)
        doc = f"{where}: a schedule clamped to [{lo}, {hi}]."
        lines = self.assign("v", n.of, "t", f"{where}.of")
        if n.min is not None:
            lines.append(f"{INDENT}v = xp.maximum(v, {num(n.min)})")
        if n.max is not None:
            lines.append(f"{INDENT}v = xp.minimum(v, {num(n.max)})")
        lines.append(f"{INDENT}return v")
        return doc, lines


def generate(node: ir.Node, scalar: bool, label: str) -> Generator:
    """Generate ``_value(xp, t)`` and its helpers for a bound IR tree."""
    gen = Generator(scalar=scalar, label=label)
    gen.root(node)
    return gen
