"""Bound IR -> Python source text that evaluates it with the shared formulas.

This mirrors :mod:`schedspec._compile` node for node, but writes source instead of building closures:

* a phase becomes one call of its formula from :mod:`schedspec.formulas` (copied verbatim into the emitted
  module), with numeric literals written by ``repr`` so that they round-trip exactly;
* a combinator (sequence, repeat, product, scale, clip, sum) becomes a small function of ``(xp, t)`` whose statements
  follow the closure that ``_compile`` builds for it (local time ``t - begin``, the boundary owned by the next
  phase, ``min(t, duration)`` for every node with a duration except those that clamp ``t`` themselves
  (:func:`schedspec.kinds.clamps_itself`: sequences and the rows marked ``clamps``), repeat's cycle index,
  stretch and decay);
* tuples (milestones, piecewise points, repeat cycle starts) become module constants;
* a ``plateau`` (metric-driven) becomes a call of ``formulas.plateau`` on its row of ``p``, the value after each
  report of every plateau of the tree, which the generated ``_plateaus(xp, reports, counts)`` computes with
  ``formulas.plateau_trajectory`` (one scan per plateau, as ``schedspec._metrics.trajectories``). The global step
  at which each node begins (``_compile.ORIGIN``) is static in a bound tree, so it is written as a literal; a
  start carried from a plateau (``Final``) becomes the plateau's call at its duration. Every generated function
  of such a tree takes ``p`` as a third argument.

The generated text is laid out the way ``ruff format`` (line length 110) lays it out, so it reads like
hand-written code. Nothing from the spec but numbers reaches the code: kinds, modes and flags are taken from the
IR's closed vocabularies and checked against them.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field

from .. import _compile, _metrics, ir
from .. import kinds as K

LINE = 110  # the project's line length (ruff format)
INDENT = "    "

# Closed vocabularies of the IR's string fields: anything else is an internal error, never code.
_WORDS = {"constant", "linear", "cosine", "cos", "triangular", "triangular2", "exp_range", "min", "max", "rel", "abs"}


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


def metric(name: str) -> str:
    """A string literal for a monitored metric's name (an identifier: the spec validates it; checked again here)."""
    if not (isinstance(name, str) and name.isascii() and name.isidentifier()):
        raise ValueError(f"unexpected metric name {name!r}")
    return f'"{name}"'


def paragraph(text: str) -> list[str]:
    """A comment paragraph of an emitted module's header: ``# `` + ``text`` wrapped at 98 characters (100 a line),
    never at a hyphen (``jit-`` stays with its word). ``text`` is written as given: sanitise text from a spec first
    (``schedspec._emit.sanitize``)."""
    return [f"# {line}" for line in textwrap.wrap(text, width=98, break_on_hyphens=False)]


def clock(every: int, unit: str) -> str:
    """Where report j of a plateau's metric is made: ``epoch j`` or ``steps [500*j, 500*(j+1))``."""
    return f"{unit} j" if every == 1 else f"{unit}s [{every}*j, {every}*(j+1))"


def word(s: str, words: Iterable[str] = _WORDS) -> str:
    """A string literal for one of the IR's fixed words (``"linear"``, ``"cos"``, ...): one of ``words`` (a row's
    WORD slot passes its own vocabulary, ``schedspec.kinds.Slot.words``), and a plain identifier.

    Raises:
        ValueError: ``s`` is not one of them (an internal error: a spec's string never becomes code).
    """
    if s not in words or not (isinstance(s, str) and s.isascii() and s.isidentifier()):
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


# a data table longer than this is packed several numbers a line (between ``# fmt: off`` / ``# fmt: on``), so that
# a 10,000-point piecewise emits a few hundred lines of data, not 10,000
PACKED_TABLE = 64


def tuple_literal(name: str, items: list[str]) -> list[str]:
    """``NAME = (a, b, ...)``; one item per line when it does not fit (as ``ruff format`` does), or, beyond
    :data:`PACKED_TABLE` items, as many items a line as fit in the line length."""
    body = ", ".join(items) + ("," if len(items) == 1 else "")
    flat = f"{name} = ({body})"
    if len(flat) <= LINE:
        return [flat]
    if len(items) <= PACKED_TABLE:
        return [f"{name} = (", *(f"{INDENT}{a}," for a in items), ")"]
    lines, line = ["# fmt: off", f"{name} = (  # {len(items)} numbers"], INDENT
    for a in items:
        if len(line) + len(a) + 2 > LINE and line.strip():
            lines.append(line.rstrip())
            line = INDENT
        line += f"{a}, "
    lines += [line.rstrip(), ")", "# fmt: on"]
    return lines


@dataclass
class _Expr:
    """An expression to evaluate a node at a time expression (``text`` is valid at the caller's indentation)."""

    text: str  # e.g. "linear" (a formula or generated function name)
    args: list[str]


def _phase_args(node: ir.Node, const, param=num) -> tuple[str, list[str]]:
    """The formula's name and its arguments after ``xp, t``, from the node's row of the table
    (:mod:`schedspec.kinds`, the order ``_compile`` passes them in): ``param`` writes the Params (a number, or a
    start carried from a plateau), ``num`` the durations and flags, ``const`` the tuples (module constants)."""
    if not K.is_phase(node):
        raise TypeError(f"not a phase: {type(node).__name__}")
    fname, slots = K.row(node).call(node)
    return fname, [_slot(getattr(node, s.field), s, const, param) for s in slots]


def _slot(value, slot: K.Slot, const, param) -> str:
    """One formula argument as source text, by the slot's shape."""
    shape = slot.shape
    if shape == K.DUR:
        return num(value)
    if shape == K.PARAM:
        return param(value)
    if shape == K.OPTIONAL:
        return "None" if value is None else param(value)
    if shape == K.FLAG:
        return num(bool(value))
    if shape == K.WORD:
        return word(value, slot.words)
    if shape == K.DURS:
        return const(slot.label, [num(m) for m in value])
    if shape == K.PARAMS:  # a piecewise's values: numbers once bound (never carried; `num` refuses anything else)
        return const(slot.label, [num(v) for v in value])
    raise ValueError(f"unexpected slot shape {shape!r}")  # pragma: no cover - kinds.SHAPES are handled above


_COMBINATORS = (ir.Sequence, ir.Repeat, ir.Product, ir.Scale, ir.Clip, ir.SumOf)


@dataclass
class Generator:
    """Collects the functions, constants and formulas needed to evaluate one bound IR tree.

    Attributes:
        scalar: True for the Python-scalar path (torch, :class:`MathXP`): sequences become ``if`` chains, as in
            ``_compile``'s scalar sequence; otherwise ``xp.where`` chains.
        label: the hyperparameter's name, already sanitised, used in comments only.
        sites: the plateaus of the tree (:func:`schedspec._metrics.sites`, pre-order); row ``i`` of ``p``.
        ns: a namespace for every generated name, so several trees share one module (a parameter group's
            schedule: ``_value_g1``, ``_g1_sequence_2``, ``_G1_MILESTONES_1``, ``_plateaus_g1``, ``_REPORTS_g1``);
            empty for the document's schedule (``_value``, ``_sequence_2``, ...).
    """

    scalar: bool
    label: str = "lr"
    functions: list[list[str]] = field(default_factory=list)
    constants: list[list[str]] = field(default_factory=list)
    formulas: set[str] = field(default_factory=set)
    sites: list = field(default_factory=list)
    unit: str = "step"  # the interval, for comments
    ns: str = ""
    _counter: int = 0
    _const_names: dict[tuple, str] = field(default_factory=dict)
    _origin: int = 0  # the global step at which the node being generated begins (static in a bound tree)
    _where: dict[int, str] = field(default_factory=dict)  # plateau row -> where it is, for comments

    @property
    def _extra(self) -> list[str]:
        """The generated functions' arguments after ``xp, t``: ``p`` when the tree has plateaus."""
        return ["p"] if self.sites else []

    @contextlib.contextmanager
    def _at(self, origin: int):
        saved, self._origin = self._origin, origin
        try:
            yield
        finally:
            self._origin = saved

    # ------------------------------------------------------------------------------------------ naming
    def _name(self, kind: str) -> str:
        self._counter += 1
        return f"_{self.ns}_{kind}_{self._counter}" if self.ns else f"_{kind}_{self._counter}"

    def top(self, name: str) -> str:
        """A top-level name of this tree: ``_value`` -> ``_value_g1`` in namespace ``g1``."""
        return f"{name}_{self.ns}" if self.ns else name

    def const(self, prefix: str, items: list[str]) -> str:
        """A module constant holding a tuple (deduplicated)."""
        key = (prefix, tuple(items))
        if key not in self._const_names:
            name = f"_{self.ns.upper()}_{prefix}_{len(self._const_names) + 1}" if self.ns else f"_{prefix}_{len(self._const_names) + 1}"
            self._const_names[key] = name
            self.constants.append(tuple_literal(name, items))
        return self._const_names[key]

    # ------------------------------------------------------------------------------------------ nodes
    def expr(self, node: ir.Node, t: str, where: str) -> _Expr:
        """The call evaluating ``node`` at time expression ``t`` (clamped to its duration, as ``_compile.build``)."""
        clamps = node.duration is not None and not K.clamps_itself(node)  # the table's rule, as _compile.build
        if clamps and t != num(node.duration):  # (a carried start is evaluated at exactly its duration)
            t = f"xp.minimum({t}, {num(node.duration)})"
        if isinstance(node, ir.Plateau):  # _compile._plateau: the value after the reports completed before k
            row = self.site(node)
            self._where.setdefault(row, where)
            self.formulas.add("plateau")
            first = self._origin // node.every
            return _Expr("plateau", ["xp", t, num(self._origin), num(node.every), f"*p[{row}]", num(first)])
        if isinstance(node, _COMBINATORS):
            name = self.function(node, where)
            return _Expr(name, ["xp", t, *self._extra])
        fname, args = _phase_args(node, self.const, self.param)
        self.formulas.add(fname)
        return _Expr(fname, ["xp", t, *args])

    def param(self, x) -> str:
        """A Param as an expression: a number, or a start carried from a plateau (``_compile.param``: the node at
        its duration, in the frame that ended where the current one begins)."""
        if not isinstance(x, ir.Final):
            return num(x)
        node = x.node
        d = node.duration
        if not isinstance(d, int):
            raise ValueError(f"a carried start needs a finite bound duration (got {d!r})")
        with self._at(self._origin - d):
            e = self.expr(node, num(d), f"{self.label} (carried start)")
        return f"{e.text}({', '.join(e.args)})"

    def site(self, node: ir.Plateau) -> int:
        """The row of ``p`` of the plateau ``node`` beginning at the current origin."""
        for i, s in enumerate(self.sites):
            if s.origin == self._origin and s.node == node:
                return i
        raise ValueError(f"internal error: no plateau site begins at step {self._origin}")

    def assign(self, target: str, node: ir.Node, t: str, where: str, indent: int = 1) -> list[str]:
        e = self.expr(node, t, where)
        return call(f"{target} = ", e.text, e.args, indent)

    def returns(self, node: ir.Node, t: str, where: str, indent: int = 1) -> list[str]:
        e = self.expr(node, t, where)
        return call("return ", e.text, e.args, indent)

    def root(self, node: ir.Node) -> None:
        """Emit ``_value(xp, t)`` (``_value(xp, t, p)`` with plateaus): the whole schedule at time ``t`` in interval
        units; with plateaus also ``_plateaus(xp, reports, counts)`` and ``_waiting(k, counts)``."""
        self.roots([("_value", self.label, node)])

    def roots(self, trees: list[tuple[str, str, ir.Node]]) -> None:
        """Emit one function ``name(xp, t)`` per ``(name, label, node)``, as :meth:`root` does for ``_value``.

        With plateaus every function takes the same ``p``: one row per plateau of all the trees, a plateau that
        two trees share (the same node beginning at the same step, e.g. a group's ``scale`` of the document's
        lr) having one row, as in ``schedspec._metrics.Reports`` (its trajectory is keyed by node and origin).
        """
        self.sites = []
        for _, _, node in trees:
            for site in _metrics.sites(node):
                if not any(s.node == site.node and s.origin == site.origin for s in self.sites):
                    self.sites.append(site)
        for name, label, node in trees:
            self.label = label
            if isinstance(node, _COMBINATORS) and (node.duration is None or isinstance(node, ir.Sequence)):
                self.function(node, label, name=self.top(name))
            else:
                body = self.returns(node, "t", label)
                doc = f'{INDENT}"""{label}: {ir.kind(node)} at time t."""'
                self.functions.append([f"def {self.top(name)}({', '.join(['xp', 't', *self._extra])}):", doc, *body])
        if self.sites:
            self._reports()

    def _reports(self) -> None:
        """``_plateaus(xp, reports, counts)`` (``p``: per plateau, the value after each report and how many reports
        were made) and ``_waiting(k, counts)`` (the plateaus whose value at ``k`` needs reports not made yet)."""
        traj = [
            f"def {self.top('_plateaus')}(xp, reports, counts):",
            f'{INDENT}"""Per plateau: (its value after each report, the number of reports made); one scan each.',
            "",
            f"{INDENT}``reports[name]`` lists the reports of a metric from report 0 (made at the end of interval 0 of",
            f"{INDENT}its clock, counted from k = 0); the reports made before a plateau begins are ignored by it.",
            f'{INDENT}"""',
            f"{INDENT}p = []",
        ]
        wait = [
            f"def {self.top('_waiting')}(k, counts):",
            f'{INDENT}"""(metric, reports needed) for each plateau whose value at k needs more reports than made."""',
            f"{INDENT}out = []",
        ]
        self.formulas.update({"plateau_trajectory", "plateau_needed"})
        for i, site in enumerate(self.sites):
            n, o = site.node, site.origin
            first, stop = o // n.every, site.stop()
            name = metric(n.monitor)
            last = "..." if stop is None else str(stop - 1)
            per = f"{n.every} {self.unit}{'s' if n.every != 1 else ''}"
            about = (f"{INDENT}# p[{i}]: {self._where[i]}: the plateau on {name} from k = {o}, one "
                     f"report per {per}; it consumes reports {first}..{last}")  # fmt: skip
            with self._at(o):
                start = self.param(n.start)
            args = ["xp", f"reports[{name}]", num(first), "None" if stop is None else num(stop), start, word(n.mode),
                    self.param(n.factor), num(n.patience), self.param(n.threshold), word(n.threshold_mode),
                    num(n.cooldown), self.param(n.min), self.param(n.eps)]  # fmt: skip
            traj += [about, *call("values = ", "plateau_trajectory", args, 1)]
            traj.append(f"{INDENT}p.append((values, counts[{name}]))")
            wait += [about, *call("need = ", "plateau_needed", ["k", num(o), num(n.every), "None" if stop is None
                                                                 else num(stop)], 1)]  # fmt: skip
            wait += [f"{INDENT}if need > counts[{name}]:", f"{INDENT}{INDENT}out.append(({name}, need))"]
        traj.append(f"{INDENT}return p")
        wait.append(f"{INDENT}return out")
        every = {}
        for site in self.sites:
            every.setdefault(metric(site.monitor), site.every)
        clocks = ", ".join(f"{k}: {num(v)}" for k, v in every.items())
        self.constants.append([f"{self.top('_REPORTS')} = {{{clocks}}}  # metric: one report per this many {self.unit}s"])
        self.functions += [traj, wait]

    def function(self, node: ir.Node, where: str, name: str | None = None) -> str:
        """Emit the function for a combinator and return its name."""
        kind = ir.kind(node)
        name = name or self._name(kind)
        slot: list[str] = []
        self.functions.append(slot)  # reserve the position: callers come before callees
        builder = getattr(self, f"_{kind}")
        doc, body = builder(node, where)
        slot.extend([f"def {name}({', '.join(['xp', 't', *self._extra])}):", f'{INDENT}"""{doc}"""', *body])
        return name

    def _sequence(self, n: ir.Sequence, where: str) -> tuple[str, list[str]]:
        begins = [0]
        for p in n.parts[:-1]:
            begins.append(begins[-1] + p.duration)
        if len(n.parts) > _compile.SMALL_SEQUENCE:
            return self._table_sequence(n, where, begins)
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
                with self._at(self._origin + b):  # part i begins at global step origin + b (_compile.ORIGIN)
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
            with self._at(self._origin + b):
                lines += self.assign(f"v{i}", part, f"t{i}", sub)
            lines.append(f"{INDENT}out = xp.where(t < {b}, out, v{i})")
        lines.append(f"{INDENT}return out")
        return doc, lines

    def _table_sequence(self, n: ir.Sequence, where: str, begins: list[int]) -> tuple[str, list[str]]:
        """A long sequence, as ``_compile._table_sequence``: the segment ``i`` by a binary search in a table of
        begins, one formula call per group (a formula and its static values) on parameters gathered by ``i`` from
        data tables (``_compile.sequence_tables``), and the other parts one by one. Scalar: only the segment's
        branch runs."""
        groups, ints, floats, gid, alone = _compile.sequence_tables(n.parts)
        doc = (f"{where}: a sequence of {len(n.parts)} phases, from tables: the segment i of t, then one formula "
               "call per group (a kind and its static values) on its parameters at row i.")  # fmt: skip
        later = self.const("BEGINS_LATER", [num(b) for b in (begins[1:] or [ir.MAX_STEPS + 1])])
        lines = []
        last = n.parts[-1]
        if gid[-1] and isinstance(last.duration, int) and not K.clamps_itself(last):
            lines.append(f"{INDENT}t = xp.minimum(t, {num(begins[-1] + last.duration)})  # the last phase's end")
        lines += [
            f"{INDENT}i = xp.count_le({later}, t)  # the last phase that begins at or before t",
            f"{INDENT}local = t - xp.take({self.const('BEGINS', [num(b) for b in begins])}, i)",
        ]
        if groups:
            lines.append(f"{INDENT}g = xp.take({self.const('GROUPS', [num(g) for g in gid])}, i)  # 0: on its own")
            for c, col in enumerate(ints):
                lines.append(f"{INDENT}d{c}_i = xp.take({self.const(f'DURATIONS{c}', [num(x) for x in col])}, i)")
            for c, col in enumerate(floats):
                lines.append(f"{INDENT}p{c}_i = xp.take({self.const(f'PARAMS{c}', [num(x) for x in col])}, i)")
        branches = len(groups) + len(alone)
        first = True
        for k, (fname, desc) in enumerate(groups, start=1):
            if fname not in K.FORMULAS:
                raise ValueError(f"unexpected formula {fname!r}")
            self.formulas.add(fname)
            args, nd, nf = ["xp", "local"], 0, 0
            for s, d in zip(K.FORMULAS[fname], desc, strict=True):
                if d is not _compile.GATHER:
                    args.append(_slot(d, s, self.const, num))
                elif s.shape == K.DUR:
                    args.append(f"d{nd}_i")
                    nd += 1
                else:
                    args.append(f"p{nf}_i")
                    nf += 1
            lines.append(f"{INDENT}# group {k}: {gid.count(k)} phases")
            if self.scalar:
                last_branch = branches == k
                if not last_branch:
                    lines.append(f"{INDENT}if g == {k}:")
                lines += call("return ", fname, args, 1 if last_branch else 2)
            elif first:
                lines += call("out = ", fname, args, 1)
            else:
                lines += call("v = ", fname, args, 1)
                lines.append(f"{INDENT}out = xp.where(g == {k}, v, out)")
            first = False
        for r, j in enumerate(alone, start=len(groups) + 1):
            b, part, sub = begins[j], n.parts[j], f"{where}[{j}]"
            lines.append(f"{INDENT}# {sub}: {ir.kind(part)} from t = {b}")
            with self._at(self._origin + b):  # part j begins at global step origin + b (_compile.ORIGIN)
                if self.scalar:
                    last = branches == r
                    if not last:
                        lines.append(f"{INDENT}if i == {j}:")
                    lines += self.returns(part, "local", sub, indent=1 if last else 2)
                else:
                    lines.append(f"{INDENT}t{j} = xp.maximum(t - {b}, 0)")
                    lines += self.assign("out" if first else f"v{j}", part, f"t{j}", sub)
                    if not first:
                        lines.append(f"{INDENT}out = xp.where(i == {j}, v{j}, out)")
            first = False
        if not self.scalar:
            lines.append(f"{INDENT}return out")
        return doc, lines

    def _repeat(self, n: ir.Repeat, where: str) -> tuple[str, list[str]]:
        P, m, times = n.period, n.mult, n.times
        if not isinstance(P, int) or P <= 0:
            raise ValueError(f"repeat period must be a positive int after binding (got {P!r})")
        if ir.has_real_cycles(n):
            return self._real_repeat(n, where)
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
            # mirrors _compile._repeat (constant period): exact integer cycle starts, float64 remainders
            firsts, offsets, scales = _compile._cycle_table(P, m, times)
            starts = self.const("FIRSTS", [num(x) for x in firsts])
            later = self.const("CYCLE_STARTS", [num(x) for x in (firsts[1:] or [ir.MAX_STEPS + 1])])
            lines.append(f"{INDENT}c = xp.count_le({later}, t)")
            lines.append(f"{INDENT}first = xp.take({starts}, c)")
            lines.append(f"{INDENT}local = xp.f(t - first) + xp.take({self.const('OFFSETS', [num(x) for x in offsets])}, c)")
            lines.append(f"{INDENT}t_of = local / xp.take({self.const('SCALES', [num(x) for x in scales])}, c)")
            if times is not None:
                lines.append(f"{INDENT}c = xp.minimum(c, {times - 1})")
                lines.append(f"{INDENT}t_of = xp.where(t >= {num(firsts[-1])}, xp.f({P}), t_of)")
            t_of = "t_of"
        decay = n.decay
        if isinstance(decay, numbers.Real) and decay == 1:
            lines += self.returns(n.of, t_of, sub)
        else:
            lines += self.assign("v", n.of, t_of, sub)
            self.formulas.add("scaled")  # v * decay ** c, and 0 where v is 0 even if the power overflows
            lines.append(f"{INDENT}return scaled(xp, v, {num(decay)}, xp.f(c))")
        return doc, lines

    def _real_repeat(self, n: ir.Repeat, where: str) -> tuple[str, list[str]]:
        """Mirrors ``_compile._real_repeat``: the exact cycle table of one window (``_compile.real_cycles``)."""
        cy = _compile.real_cycles(n)
        times, window = n.times, cy.window
        length = ir.cycle_length(n)
        how = "forever" if times is None else f"{times} times"
        doc = (f"{where}: repeat a {num(n.period)}-step schedule {how}, each cycle {length} steps long (the clock "
               f"{num(n.shift)} steps ahead; decay {num(n.decay)}).")  # fmt: skip
        lines: list[str] = []
        if window is None:
            lines.append(f"{INDENT}r = t")
        else:
            lines.append(f"{INDENT}s = xp.floordiv(t, {num(window)})")
            lines.append(f"{INDENT}r = t - s * {num(window)}")
        later = cy.firsts[1:]
        j = f"xp.count_le({self.const('CYCLE_STARTS', [num(x) for x in later])}, r)" if later else "0"
        lines.append(f"{INDENT}j = {j}")
        if cy.integral:
            starts = self.const("STARTS", [num(f - int(o)) for f, o in zip(cy.firsts, cy.offsets)])
            lines.append(f"{INDENT}local = r - xp.take({starts}, j)")
        else:
            firsts = self.const("FIRSTS", [num(x) for x in cy.firsts])
            offsets = self.const("OFFSETS", [num(float(o)) for o in cy.offsets])
            lines.append(f"{INDENT}local = xp.f(r - xp.take({firsts}, j)) + xp.take({offsets}, j)")
        if cy.scale != 1:
            lines.append(f"{INDENT}local = xp.f(local) * {num(float(cy.scale))}")
        decay = n.decay
        plain = isinstance(decay, numbers.Real) and decay == 1
        if times is None and plain:
            lines += self.returns(n.of, "local", f"{where}.of")
            return doc, lines
        lines.append(f"{INDENT}c = xp.f(j) + {num(float(cy.base))}")
        if window is not None:
            lines.append(f"{INDENT}c = c + xp.f(s) * {num(float(cy.per_window))}")
        if times is not None:
            lines.append(f"{INDENT}c = xp.minimum(c, {num(float(times - 1))})")
            lines.append(f"{INDENT}local = xp.where(t >= {num(cy.end)}, {num(n.period)}, local)")
        if plain:
            lines += self.returns(n.of, "local", f"{where}.of")
        else:
            lines += self.assign("v", n.of, "local", f"{where}.of")
            self.formulas.add("scaled")  # v * decay ** c, and 0 where v is 0 even if the power overflows
            lines.append(f"{INDENT}return scaled(xp, v, {num(decay)}, c)")
        return doc, lines

    def _fold(self, n, where: str, noun: str, op: str) -> tuple[str, list[str]]:
        """Parts evaluated at the same t, folded with ``op`` (product, sum)."""
        doc = f"{where}: the {noun[0]} of {len(n.parts)} {noun[1]} at the same t."
        lines = self.assign("out", n.parts[0], "t", f"{where}.of[0]")
        for i, part in enumerate(n.parts[1:], start=1):
            lines += self.assign(f"v{i}", part, "t", f"{where}.of[{i}]")
            lines.append(f"{INDENT}out = out {op} v{i}")
        lines.append(f"{INDENT}return out")
        return doc, lines

    def _product(self, n: ir.Product, where: str) -> tuple[str, list[str]]:
        return self._fold(n, where, ("product", "factors"), "*")

    def _sum(self, n: ir.SumOf, where: str) -> tuple[str, list[str]]:
        return self._fold(n, where, ("sum", "terms"), "+")

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


def generate(node: ir.Node, scalar: bool, label: str, unit: str, ns: str = "") -> Generator:
    """Generate ``_value(xp, t)`` and its helpers for a bound IR tree (``unit``: its interval, for comments;
    ``ns``: the namespace of its names, see :class:`Generator`)."""
    if ns and not (ns.isascii() and ns.isidentifier()):
        raise ValueError(f"unexpected namespace {ns!r}")
    gen = Generator(scalar=scalar, label=label, unit=unit, ns=ns)
    gen.root(node)
    return gen


def generate_roots(trees: list[tuple[str, str, ir.Node]], scalar: bool, unit: str) -> Generator:
    """Generate one function per ``(function name, label, bound tree)`` and their helpers (see
    :meth:`Generator.roots`); the first tree's label is the generator's."""
    gen = Generator(scalar=scalar, label=trees[0][1], unit=unit)
    gen.roots(trees)
    return gen
