"""The resolved program: frozen dataclasses with integer boundaries. No pydantic, no jax.

Every duration is a whole number of interval units (``int``), or :class:`DVar` (a duration var, resolved per sweep
member to an ``int``). Every numeric parameter is a ``float``, a :class:`Var` (a number var: a traced input of the
JAX function, so sweeps vmap and ``grad`` works), or :class:`Final` (a start carried over from the previous phase
whose value depends on a var). Defaults are filled in. ``duration`` is ``None`` for a node that never ends.

The IR is what every target consumes: the JAX evaluator, the numpy/math evaluators (``check``, torch), the
adapters and the emitters. :func:`canonical` gives its canonical JSON form and :func:`fingerprint` a short hash of
it, so two specs that mean the same schedule share a fingerprint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Union

MAX_STEPS = 2**31 - 1  # k is an int32 count in torch/keras/optax; every boundary must fit


def check_steps(k: Any) -> Any:
    """``k`` (an int, a whole float, or an array or list of them) checked EXACTLY, before any cast, as update
    indices in ``[0, 2**31-1]``; returns it as an int64 numpy array of the same shape.

    Floats are compared in float64 (exact for float16/32/64: a float32 ``2**31`` is refused, where comparing in
    float32 would round ``2**31 - 1`` up to it); Python ints of any size are compared as ints.

    Raises:
        ValueError: ``k must be an int or an array of ints, got bool`` (bools, strings, anything else),
            ``k must be whole numbers (update indices)`` (a fraction, NaN, inf), ``k must be in [0, 2**31-1]``.
    """
    import numpy as np

    try:
        arr = np.asarray(k)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"k must be an int or an array of ints, got {type(k).__name__}") from None
    if arr.dtype == object and arr.size and all(type(x) is int for x in arr.flat):  # an int beyond int64
        raise ValueError(f"k must be in [0, 2**31-1] (got {min(arr.flat)}..{max(arr.flat)})")
    if arr.dtype.kind == "f":
        wide = arr.astype(np.float64) if arr.dtype.itemsize <= 8 else arr
        if not np.all(np.isfinite(wide)) or not np.all(wide == np.floor(wide)):
            raise ValueError("k must be whole numbers (update indices); got non-integer values")
    elif arr.dtype.kind in "iu":
        wide = arr
    else:
        raise ValueError(f"k must be an int or an array of ints, got {arr.dtype}")
    if wide.size and (wide.min() < 0 or wide.max() > MAX_STEPS):
        raise ValueError(f"k must be in [0, 2**31-1] (got {arr.min()}..{arr.max()})")
    return wide.astype(np.int64)


@dataclass(frozen=True)
class Var:
    """A number var, e.g. ``$peak``."""

    name: str


@dataclass(frozen=True)
class DVar:
    """A duration var, in interval units."""

    name: str


@dataclass(frozen=True)
class Final:
    """The final value of ``node`` (a start carried over from the previous phase)."""

    node: Node


Param = Union[float, Var, Final]  # noqa: UP007 - forward references
Dur = Union[int, "DVar", "DSum"]  # noqa: UP007


@dataclass(frozen=True)
class Node:
    """Base of every IR node.

    ``path`` is where the node came from in the document (``("lr", 1)`` for ``lr[1]``; a node desugared from a
    framework kind has that kind's path), set by lowering so that any later error can be positioned. It is not part
    of what the node means: equality, hashing, ``repr`` and the canonical JSON (so the fingerprint) leave it out.
    """

    path: tuple = field(default=(), compare=False, repr=False, kw_only=True)

    def children(self) -> tuple[Node, ...]:
        return ()


def _node(cls):
    return dataclass(frozen=True)(cls)


@_node
class Constant(Node):
    value: Param
    duration: Dur | None


@_node
class Linear(Node):
    start: Param
    end: Param
    duration: Dur
    warp: Param = field(default=1.0, kw_only=True, metadata={"omit_default": True})  # p -> p ** warp


@_node
class Cosine(Node):
    start: Param
    end: Param
    exponent: Param
    duration: Dur
    warp: Param = field(default=1.0, kw_only=True, metadata={"omit_default": True})  # p -> p ** warp


@_node
class Polynomial(Node):
    start: Param
    end: Param
    power: Param
    duration: Dur
    warp: Param = field(default=1.0, kw_only=True, metadata={"omit_default": True})  # p -> p ** warp


@_node
class Exponential(Node):
    start: Param
    gamma: Param
    every: Dur
    staircase: bool
    end: Param | None
    duration: Dur | None


@_node
class Step(Node):
    start: Param
    gamma: Param
    every: Dur
    duration: Dur | None


@_node
class MultiStep(Node):
    start: Param
    gamma: Param
    milestones: tuple[Dur, ...]
    duration: Dur | None


@_node
class Piecewise(Node):
    ats: tuple[Dur, ...]  # ascending, first 0
    values: tuple[Param, ...]
    interpolate: str  # constant | linear | cosine
    duration: Dur | None


@_node
class InverseTime(Node):
    start: Param
    rate: Param
    every: Dur
    staircase: bool
    duration: Dur | None


@_node
class InverseSqrt(Node):
    start: Param
    timescale: Dur
    duration: Dur | None
    shift: Dur = field(default=0, kw_only=True, metadata={"omit_default": True})  # the clock moved ahead


@_node
class Tanh(Node):
    start: Param
    end: Param
    lb: Param
    ub: Param
    duration: Dur  # holds `end` from here on


@_node
class Cyclic(Node):
    low: Param
    high: Param
    up: Dur
    down: Dur
    mode: str  # triangular | triangular2 | exp_range
    gamma: Param
    duration: Dur | None


@_node
class OneCycle(Node):
    peak: Param
    pct_start: Param
    div_factor: Param
    final_div_factor: Param
    anneal: str  # cos | linear
    three_phase: bool
    duration: Dur  # N = total_steps; holds the final value from N - 1 on


@_node
class Plateau(Node):
    start: Param
    monitor: str
    mode: str
    factor: Param
    patience: int
    threshold: Param
    threshold_mode: str
    cooldown: int
    min: Param
    eps: Param
    every: int
    duration: Dur | None


@_node
class Sequence(Node):
    parts: tuple[Node, ...]
    duration: Dur | None  # None when the last part never ends; DVar-valued sums are kept as None-free tuples

    def children(self):
        return self.parts


@_node
class Repeat(Node):
    of: Node
    period: Dur  # the duration of `of`
    times: int | None
    mult: float
    decay: Param
    duration: Dur | None
    # the real length of one cycle, "u/v" or "u" (a Fraction in lowest terms, as str(Fraction)), when it is not
    # the duration of `of` (`of` is then stretched to it); None: the duration of `of`
    span: str | None = field(default=None, kw_only=True, metadata={"omit_default": True})
    shift: int = field(default=0, kw_only=True, metadata={"omit_default": True})  # the cycles' clock starts here

    def children(self):
        return (self.of,)


def has_real_cycles(node: Node) -> bool:
    """Whether ``node`` is a repeat whose cycles are tabulated exactly: a real cycle length (``span``) or a
    shifted clock (``shift``); every interpreter takes its own path for it."""
    return isinstance(node, Repeat) and (node.span is not None or bool(node.shift))


def cycle_length(node: Repeat) -> Fraction:
    """The exact length of one cycle of a repeat with ``mult`` 1, in interval units: its ``span``, else the
    (int) duration of its ``of``."""
    return Fraction(node.span) if node.span is not None else Fraction(node.period)


@_node
class Product(Node):
    parts: tuple[Node, ...]
    duration: Dur | None

    def children(self):
        return self.parts


@_node
class Scale(Node):
    by: Param
    of: Node
    duration: Dur | None

    def children(self):
        return (self.of,)


@_node
class Clip(Node):
    of: Node
    min: Param | None
    max: Param | None
    duration: Dur | None

    def children(self):
        return (self.of,)


@_node
class PolynomialCycle(Node):
    """Keras ``PolynomialDecay(cycle=True)``: ``polynomial`` whose decay length at t is ``every * max(1, ceil(t / every))``.

    The language spells it ``{kind: polynomial, cycle: true, duration: every}``; the node never ends by itself
    (``duration`` is a window: ``None``, or where an enclosing sequence or ``total`` cuts it).
    """

    start: Param
    end: Param
    power: Param
    every: Dur
    duration: Dur | None


@_node
class SumOf(Node):
    """Pointwise sum of its parts (the language's ``sum`` combinator)."""

    parts: tuple[Node, ...]
    duration: Dur | None

    def children(self):
        return self.parts


@dataclass(frozen=True)
class DSum:
    """A duration sum: a duration that depends on duration vars, ``const + sum(coef * var)`` (e.g. the length of a
    sequence of var-length phases). Like :class:`DVar` it is a duration, not a node (the ``sum`` combinator is
    :class:`SumOf`)."""

    const: int
    terms: tuple[tuple[int, str], ...]  # (coefficient, DVar name), sorted by name


def dur_add(a: Dur | None, b: Dur | None) -> Dur | None:
    """a + b for durations, folding integers; ``None`` (never ends) absorbs."""
    if a is None or b is None:
        return None
    ca, ta = _dur_parts(a)
    cb, tb = _dur_parts(b)
    return _dur_make(ca + cb, ta + tb)


def dur_mul(a: Dur | None, c: int) -> Dur | None:
    """c * a for an integer c."""
    if a is None:
        return None
    ca, ta = _dur_parts(a)
    return _dur_make(ca * c, [(k * c, n) for k, n in ta])


def _dur_parts(d) -> tuple[int, list]:
    if isinstance(d, int):
        return d, []
    if isinstance(d, DVar):
        return 0, [(1, d.name)]
    return d.const, list(d.terms)


def _dur_make(const: int, terms: list):
    acc: dict[str, int] = {}
    for k, n in terms:
        acc[n] = acc.get(n, 0) + k
    terms = tuple(sorted((k, n) for n, k in acc.items() if k))
    if not terms:
        return const
    if const == 0 and len(terms) == 1 and terms[0][0] == 1:
        return DVar(terms[0][1])
    return DSum(const, tuple(sorted(terms, key=lambda t: t[1])))


def dur_value(d: Dur, steps: dict[str, int]) -> int:
    """The integer value of a duration given the duration vars' values."""
    c, terms = _dur_parts(d)
    return c + sum(k * steps[n] for k, n in terms)


KINDS: dict[str, type[Node]] = {
    "constant": Constant, "linear": Linear, "cosine": Cosine, "polynomial": Polynomial, "exponential": Exponential,
    "step": Step, "multistep": MultiStep, "piecewise": Piecewise, "inverse_time": InverseTime,
    "inverse_sqrt": InverseSqrt, "tanh": Tanh, "cyclic": Cyclic, "onecycle": OneCycle, "plateau": Plateau,
    "sequence": Sequence, "repeat": Repeat, "product": Product, "scale": Scale, "clip": Clip,
    "polynomial_cycle": PolynomialCycle, "sum": SumOf,
}  # fmt: skip
KIND_OF: dict[type, str] = {v: k for k, v in KINDS.items()}
_FIELDS: dict[type, tuple[dataclasses.Field, ...]] = {
    cls: tuple(f for f in dataclasses.fields(cls) if f.name != "path") for cls in KINDS.values()
}


def register(name: str, cls: type[Node]) -> type[Node]:
    """Make ``cls`` the IR node of the kind ``name``: :data:`KINDS`, :func:`kind`, the canonical form (so the
    fingerprint) and the walker (:func:`fields`, :func:`values`, :func:`map_params`) know it from then on.

    Raises:
        ValueError: ``name`` is already a kind, or ``cls`` is not a frozen dataclass deriving from :class:`Node`.
    """
    if name in KINDS:
        raise ValueError(f"the IR already has a kind {name!r} ({KINDS[name].__name__})")
    if not (isinstance(cls, type) and issubclass(cls, Node) and dataclasses.is_dataclass(cls)
            and cls.__dataclass_params__.frozen):  # type: ignore[attr-defined]  # fmt: skip
        raise ValueError(f"an IR node must be a frozen dataclass deriving from Node, got {cls!r}")
    KINDS[name] = cls
    KIND_OF[cls] = name
    _FIELDS[cls] = tuple(f for f in dataclasses.fields(cls) if f.name != "path")
    return cls


def declare(name: str, fields: Iterable[tuple[str, Any]], defaults: dict[str, Any] | None = None) -> type[Node]:
    """Declare and :func:`register` the IR node of the kind ``name`` from its fields: a frozen dataclass deriving
    from :class:`Node`, named after the kind in CamelCase (``inverse_sqrt`` -> ``InverseSqrt``, an attribute of this module
    so that pickle finds it), with ``fields``
    (``(name, annotation)`` pairs, in order) and, when they do not name it, a last ``duration: Dur | None``.

    ``defaults`` gives keyword-only fields with a default (a variant's neutral value, e.g. ``warp: 1.0``), left out
    of the canonical form at that default, so a spec that does not use them keeps its fingerprint. This is how a
    row of the per-kind table (``schedspec.kinds``) declares its node: a neutral kind needs no class here.

    Raises:
        ValueError: ``name`` is already a kind, its class name is taken, or a field is named twice or ``path``.
    """
    if name in KINDS:
        raise ValueError(f"the IR already has a kind {name!r} ({KINDS[name].__name__})")
    fields = list(fields)
    names = [f for f, _ in fields] + list(defaults or {})
    if len(set(names)) != len(names) or "path" in names:
        raise ValueError(f"the fields of the IR node {name!r} must be distinct and not `path`: {names}")
    spec: list[tuple] = list(fields)
    if "duration" not in names:
        spec.append(("duration", Union[Dur, None]))  # noqa: UP007 - Dur holds a forward reference
    for f, default in (defaults or {}).items():
        spec.append((f, Any, field(default=default, kw_only=True, metadata={"omit_default": True})))
    title = "".join(part.capitalize() for part in name.split("_"))
    if title in globals():
        raise ValueError(f"the IR node of {name!r} would be named {title}, which ir.py already defines")
    cls = dataclasses.make_dataclass(title, spec, bases=(Node,), frozen=True, namespace={"__module__": __name__})
    register(name, cls)
    globals()[title] = cls  # pickle finds it by its module and name
    return cls


def kind(node: Node) -> str:
    return KIND_OF[type(node)]


# ------------------------------------------------------------------------------------------ the walker
def fields(node: Node) -> tuple[dataclasses.Field, ...]:
    """The fields of a node that say what it means (its source ``path`` left out), in declaration order."""
    return _FIELDS[type(node)]


def values(x: Any) -> Iterator[Any]:
    """Every value of a tree in pre-order: a node, then the values of its fields in order (tuples flattened, not
    yielded themselves); a carried start (:class:`Final`) is yielded, then its node walked. ``x`` may be a node, a
    parameter or a tuple of them."""
    stack = [x]
    while stack:
        v = stack.pop()
        if isinstance(v, tuple):
            stack.extend(reversed(v))
            continue
        yield v
        if isinstance(v, Node):
            stack.extend(getattr(v, f.name) for f in reversed(_FIELDS[type(v)]))
        elif isinstance(v, Final):
            stack.append(v.node)


def walk(x: Any) -> Iterator[Node]:
    """Every node of a tree in pre-order, the nodes of carried starts (:class:`Final`) included."""
    return (v for v in values(x) if isinstance(v, Node))


def used_vars(x: Any) -> tuple[set[str], set[str]]:
    """The names a tree uses as numbers and as durations (carried starts included)."""
    nums: set[str] = set()
    durs: set[str] = set()
    for v in values(x):
        if isinstance(v, Var):
            nums.add(v.name)
        elif isinstance(v, DVar):
            durs.add(v.name)
        elif isinstance(v, DSum):
            durs.update(n for _, n in v.terms)
    return nums, durs


def depends_on_vars(x: Any) -> bool:
    """Whether a value is not a constant of the spec: it uses a var (carried starts included), or metric reports (a
    plateau)."""
    return any(isinstance(v, (Var, DVar, DSum, Final, Plateau)) for v in values(x))


def map_params(x: Any, fn: Callable[[Any], Any]) -> Any:
    """The tree with ``fn`` applied to every parameter (every field value that is not a node or a tuple: numbers,
    strings, :class:`Var`, :class:`DVar`, :class:`DSum`, and a carried start :class:`Final` whole: ``fn`` decides
    whether to map inside it). Rebuilt nodes keep their source path; a subtree where nothing changed is returned as
    is (the same object)."""
    if isinstance(x, Node):
        changed = {}
        for f in _FIELDS[type(x)]:
            old = getattr(x, f.name)
            new = map_params(old, fn)
            if new is not old:
                changed[f.name] = new
        return dataclasses.replace(x, **changed) if changed else x
    if isinstance(x, tuple):
        new = tuple(map_params(v, fn) for v in x)
        return x if all(a is b for a, b in zip(new, x)) else new
    return fn(x)


def with_path(x: Any, path: tuple) -> Any:
    """The tree with every node's source path set to ``path`` (the nodes a framework kind desugars to: positioned at
    that kind). Carried starts are left as they are: they belong to the phase before."""
    if isinstance(x, Node):
        changed = {f.name: with_path(getattr(x, f.name), path) for f in _FIELDS[type(x)]}
        return dataclasses.replace(x, path=path, **changed)
    if isinstance(x, tuple):
        return tuple(with_path(v, path) for v in x)
    return x


def phases(node: Node) -> list[tuple[Node, int, int | None]]:
    """The top-level phases of a bound schedule: ``(part, begin, end)``, ``end`` None for a phase that never ends
    (the last one listed). A node that is not a sequence is one phase from 0."""
    parts = node.parts if isinstance(node, Sequence) else (node,)
    out, begin = [], 0
    for part in parts:
        end = None if part.duration is None else begin + part.duration
        out.append((part, begin, end))
        if end is None:
            break
        begin = end
    return out


def timeline(node: Node, origin: Any = 0) -> Iterator[tuple[Node, Any, bool]]:
    """Every node of a schedule tree in pre-order with where it begins and whether it sits in a ``repeat``:
    ``(node, begin, in_repeat)``. A sequence's part *i* begins at the sum of the durations before it (a duration
    expression before binding); the parts of any other combinator begin where it does; the parts of a sequence after
    one that never ends are not reached. Carried starts are not walked (they are values, not phases)."""
    stack = [(node, origin, False)]
    while stack:
        x, begin, in_repeat = stack.pop()
        yield x, begin, in_repeat
        if isinstance(x, Sequence):
            todo, b = [], begin
            for part in x.parts:
                todo.append((part, b, in_repeat))
                if part.duration is None:
                    break
                b = dur_add(b, part.duration)
            stack.extend(reversed(todo))
        elif isinstance(x, Repeat):
            stack.append((x.of, begin, True))
        else:
            stack.extend((part, begin, in_repeat) for part in reversed(x.children()))


@dataclass(frozen=True)
class VarDef:
    """A var. ``number``/``steps`` hold its values in each role (``None`` where a value has no such reading)."""

    name: str
    raw: tuple  # as written (numbers or duration strings)
    number: tuple[float, ...] | None
    steps: tuple[int, ...] | None
    sweep: bool


@dataclass(frozen=True)
class Program:
    """A resolved spec: one IR tree per hyperparameter, plus the vars and the time base."""

    hparams: dict[str, Node]
    vars: dict[str, VarDef] = field(default_factory=dict)
    interval: str = "step"
    steps_per_epoch: int | None = None
    total: int | None = None
    name: str | None = None
    description: str | None = None
    # parameter groups: per group, the schedules it overrides (a `scale` is folded in as Scale(scale, lr))
    groups: dict[str, dict[str, Node]] = field(default_factory=dict)

    @property
    def sweep_vars(self) -> list[str]:
        return [n for n, v in self.vars.items() if v.sweep]

    @property
    def sweep_size(self) -> int:
        size = 1
        for n in self.sweep_vars:
            size *= len(self.vars[n].raw)
        return size

    def sweep_members(self) -> list[dict[str, object]]:
        """The sweep members in order (cartesian product, vars in written order, the last varying fastest)."""

        names = self.sweep_vars
        return [dict(zip(names, combo)) for combo in itertools.product(*(self.vars[n].raw for n in names))]


# ------------------------------------------------------------------------------------------ canonical form
def _param_json(p):
    if isinstance(p, bool):
        return p
    if isinstance(p, float):
        return float(p)
    if isinstance(p, int):
        return int(p)
    if isinstance(p, Var):
        return {"var": p.name}
    if isinstance(p, DVar):
        return {"var": p.name}
    if isinstance(p, Final):
        return {"final": to_json(p.node)}
    if isinstance(p, DSum):
        return {"sum": p.const, "terms": [[k, n] for k, n in p.terms]}
    if isinstance(p, Node):
        return to_json(p)
    if isinstance(p, tuple):
        return [_param_json(x) for x in p]
    if p is None or isinstance(p, str):
        return p
    raise TypeError(f"unexpected IR value {p!r}")


def to_json(node: Node) -> dict:
    """The node as plain JSON data (``kind`` plus every field; not its source path)."""
    out = {"kind": kind(node)}
    for f in _FIELDS[type(node)]:
        value = getattr(node, f.name)
        if f.metadata.get("omit_default") and value == f.default:  # a later field, left out at its default: the
            continue  # canonical form (and fingerprint) of every spec that does not use it is unchanged
        out[f.name] = _param_json(value)
    return out


def canonical(program: Program) -> str:
    """Canonical JSON of what the schedule *means*: names, descriptions and display-only fields are left out."""
    data = {
        "schedspec": 1,
        "interval": program.interval,
        "hparams": {k: to_json(v) for k, v in sorted(program.hparams.items())},
    }
    if program.groups:
        data["groups"] = {g: {k: to_json(v) for k, v in sorted(hps.items())} for g, hps in sorted(program.groups.items())}
    if program.interval == "epoch":
        data["steps_per_epoch"] = program.steps_per_epoch
    used = sorted(program.vars)
    if used:
        data["vars"] = {n: {"number": program.vars[n].number, "steps": program.vars[n].steps} for n in used}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def fingerprint(program: Program) -> str:
    """12 hex digits of the SHA-256 of :func:`canonical`."""
    return hashlib.sha256(canonical(program).encode()).hexdigest()[:12]
