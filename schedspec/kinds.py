"""The per-kind table: one row per phase kind of the IR, read by every interpreter of a tree.

A row says, for one IR phase class (:mod:`schedspec.ir`):

* ``formula``: the name of its function in :mod:`schedspec.formulas`, called as ``formula(xp, t, *args)``;
* ``slots``: the arguments after ``(xp, t)``, in order, each an IR field with its shape (:class:`Slot`): a
  duration (``DUR``: an int in interval units, or a duration var), a parameter (``PARAM``: a number, a ``$var``
  or a start carried from the previous phase; ``OPTIONAL``: the same or None), a static flag (``FLAG``) or word
  (``WORD``, one of a closed vocabulary), a tuple of durations (``DURS``) or of parameters (``PARAMS``);
* ``variant``: another formula taken when one field is not at its neutral value (``warp != 1`` -> the
  ``warped_*`` formulas, ``shift != 0`` -> ``inverse_sqrt_shifted``), with the slots it adds;
* ``clamps``: whether the formula clamps ``t`` to the phase's duration itself (``min(t, T)`` inside): no
  interpreter adds a clamp to such a kind; every other node with a duration is evaluated at ``min(t, duration)``;
* ``holds``: the parameter whose value the kind holds exactly from its end on (a linear phase's ``end``), so that
  a start carried from it is that parameter (a long sequence's tables gather it like any other);
* ``shape``: how its values move in ``t``, as the exact range analysis of ``check`` uses it (:mod:`schedspec._range`):
  ``MONOTONE`` (monotone from its start to its end: its extremes are at the ends of the range examined),
  ``BREAKS`` (monotone between known local times that depend on its parameters: piecewise points, one-cycle
  turns), ``CYCLIC`` (periodic waves: the analysis examines the first and last cycles).

The interpreters are generic over this table: :mod:`schedspec._compile` (closures over an array namespace) and
:mod:`schedspec._emit._codegen` (Python source) read the formula, the slots and the clamp from here, and
:mod:`schedspec._range` reads the shapes; a long sequence's tables (``_compile.sequence_tables``) gather every
row's DUR and parameter slots by segment, except the ``static`` ones (:class:`Slot`), which split its groups. Combinators (sequence, repeat, product, sum, scale, clip) and the stateful ``plateau``
keep their own code in each interpreter (:data:`OWN_CODE`). A row may name its kind instead of an IR class: it
then declares its IR node from its slots (:class:`Kind`, :func:`schedspec.ir.declare`), and the lowering builds
that node from the model's fields of the same names, so a neutral kind is a model, a formula and a row.
``docs/architecture.md`` ("Adding a neutral kind") is the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import formulas as F
from . import ir

# slot shapes: how an interpreter reads an IR field into a formula argument
DUR = "dur"  # Dur: int, DVar or DSum -> an int (interval units)
PARAM = "param"  # Param: float, Var or Final -> a number
OPTIONAL = "optional"  # Param | None -> a number or None
FLAG = "flag"  # bool, static
WORD = "word"  # str, static, one of Slot.words
DURS = "durs"  # tuple of Dur -> a table of ints
PARAMS = "params"  # tuple of Param -> a table of numbers
SHAPES = (DUR, PARAM, OPTIONAL, FLAG, WORD, DURS, PARAMS)

# how a kind's values move in t (what `check`'s range analysis relies on)
MONOTONE = "monotone"  # monotone from start to end
BREAKS = "breaks"  # monotone between local times that depend on its parameters
CYCLIC = "cyclic"  # periodic
MOTIONS = (MONOTONE, BREAKS, CYCLIC)


@dataclass(frozen=True)
class Slot:
    """One argument of a formula after ``(xp, t)``: the IR field it comes from and its shape.

    ``label`` names the module constant an emitted module holds a tuple slot in (``MILESTONES``, ``ATS``, ...);
    ``words`` is the closed vocabulary of a ``WORD`` slot (anything else never reaches emitted code). ``static``
    marks a number the formula must get as a Python number, never an array gathered from a table: it steers a
    branch (``exponent == 1``), feeds Python arithmetic before any array (a one-cycle's turns), or is a power base
    that float32 cannot hold (``gamma``: :func:`schedspec.formulas.corrected_power`), or an exponent (``warp``,
    ``power``: numpy and XLA compute ``x ** 2.0`` as ``x * x`` for a Python number, a general power for an array). A long sequence's parts
    share a group only with equal static values; FLAG, WORD, DURS and PARAMS slots are static by nature.
    """

    field: str
    shape: str
    label: str = ""
    words: tuple[str, ...] = ()
    static: bool = False

    @property
    def gathered(self) -> bool:
        """Whether a long sequence gathers this slot from a per-part column (a DUR or a non-static param)."""
        return self.shape in (DUR, PARAM, OPTIONAL) and not self.static


@dataclass(frozen=True)
class Variant:
    """``formula`` (with ``slots`` appended to the row's) replaces the row's formula when the node's ``field`` is
    not the Python number ``neutral``."""

    field: str
    neutral: float
    formula: str
    slots: tuple[Slot, ...]


# the annotation of an IR field of each slot shape (a node declared from its row)
_ANNOTATIONS: dict[str, Any] = {
    DUR: ir.Dur, PARAM: ir.Param, OPTIONAL: ir.Param | None, FLAG: bool, WORD: str,
    DURS: tuple[ir.Dur, ...], PARAMS: tuple[ir.Param, ...],
}  # fmt: skip


@dataclass(frozen=True)
class Kind:
    """A row of the table (see the module docstring).

    ``node`` is the row's IR class, or the kind's name (a ``str``, as the language spells it): then the row declares
    its node (:func:`schedspec.ir.declare`): a frozen dataclass whose fields are the row's slots in order (a
    variant's slots keyword-only, at their neutral value), plus ``duration`` when no slot names it; after
    construction ``node`` is that class. The lowering builds such a node from the model's fields of the same names
    (``schedspec.lowering.lowerer``, the generic branch), so a neutral kind needs no code in ``ir.py`` or the
    lowerer.

    Raises:
        ValueError: the kind's name is already an IR kind (from :func:`schedspec.ir.declare`).
    """

    node: type
    formula: str
    slots: tuple[Slot, ...]
    clamps: bool
    shape: str
    variant: Variant | None = None
    holds: str | None = None  # the param field whose value the kind holds exactly from its end on
    declared: bool = field(default=False, init=False)  # the row declared its IR node (``node`` given as a name)

    def __post_init__(self) -> None:
        if isinstance(self.node, str):
            object.__setattr__(self, "declared", True)
            fields = [(s.field, _ANNOTATIONS[s.shape]) for s in self.slots]
            defaults = {s.field: self.variant.neutral for s in self.variant.slots} if self.variant else None
            object.__setattr__(self, "node", ir.declare(self.node, fields, defaults))


    def call(self, node: ir.Node) -> tuple[str, tuple[Slot, ...]]:
        """The formula's name and its slots for ``node`` (the variant's when ``node`` needs it)."""
        v = self.variant
        if v is not None and not F.is_const(getattr(node, v.field), v.neutral):
            return v.formula, self.slots + v.slots
        return self.formula, self.slots


def _s(spec: str) -> tuple[Slot, ...]:
    """``"duration:dur start:param gamma:param!"`` -> slots (``!``: static)."""
    return tuple(Slot(*item.rstrip("!").split(":"), static=item.endswith("!")) for item in spec.split())


def _warp(formula: str) -> Variant:
    return Variant("warp", 1, formula, _s("warp:param!"))


ANNEALS = ("cos", "linear")
CYCLIC_MODES = ("triangular", "triangular2", "exp_range")
INTERPOLATIONS = ("constant", "linear", "cosine")

# fmt: off
ROWS: tuple[Kind, ...] = (
    Kind(ir.Constant, "constant", _s("value:param"), False, MONOTONE, holds="value"),
    Kind(ir.Linear, "linear", _s("duration:dur start:param end:param"), True, MONOTONE, _warp("warped_linear"),
         holds="end"),
    Kind(ir.Cosine, "cosine", _s("duration:dur start:param end:param exponent:param!"), True, MONOTONE,
         _warp("warped_cosine"), holds="end"),
    Kind(ir.Polynomial, "polynomial", _s("duration:dur start:param end:param power:param!"), True, MONOTONE,
         _warp("warped_polynomial"), holds="end"),
    Kind(ir.Tanh, "tanh_decay", _s("duration:dur start:param end:param lb:param ub:param"), False, MONOTONE,
         holds="end"),
    Kind(ir.PolynomialCycle, "polynomial_cycle", _s("every:dur start:param end:param power:param!"), False, CYCLIC),
    Kind(ir.Exponential, "exponential", _s("start:param gamma:param! every:dur staircase:flag end:optional"), False,
         MONOTONE),
    Kind(ir.Step, "step", _s("start:param gamma:param! every:dur"), False, MONOTONE),
    Kind(ir.MultiStep, "multistep", (*_s("start:param gamma:param!"), Slot("milestones", DURS, "MILESTONES")), False,
         MONOTONE),
    Kind(ir.Piecewise, "piecewise", (Slot("ats", DURS, "ATS"), Slot("values", PARAMS, "VALUES"),
                                     Slot("interpolate", WORD, words=INTERPOLATIONS)), False, BREAKS),
    Kind(ir.InverseTime, "inverse_time", _s("start:param rate:param every:dur staircase:flag"), False, MONOTONE),
    Kind(ir.InverseSqrt, "inverse_sqrt", _s("start:param timescale:dur"), False, MONOTONE,
         Variant("shift", 0, "inverse_sqrt_shifted", _s("shift:dur"))),
    Kind(ir.Cyclic, "cyclic", (*_s("low:param high:param up:dur down:dur"), Slot("mode", WORD, words=CYCLIC_MODES),
                               *_s("gamma:param!")), False, CYCLIC),
    Kind(ir.OneCycle, "onecycle", (*_s("duration:dur! peak:param! pct_start:param! div_factor:param!"
                                       " final_div_factor:param!"), Slot("anneal", WORD, words=ANNEALS),
                                   *_s("three_phase:flag")), True, BREAKS),
)
# fmt: on

# IR classes that are not rows: combinators and the metric-driven plateau keep their own code in each interpreter
OWN_CODE: tuple[type, ...] = (ir.Sequence, ir.Repeat, ir.Product, ir.Scale, ir.Clip, ir.SumOf, ir.Plateau)

TABLE: dict[type, Kind] = {}  # IR class -> its row
# formula name -> its slots (a row's formula and its variant's): the closed vocabulary of formulas a table feeds
FORMULAS: dict[str, tuple[Slot, ...]] = {}


def register(kind: Kind) -> Kind:
    """Add a row to :data:`TABLE` and its formulas to :data:`FORMULAS` (every row of :data:`ROWS` is added so).

    Raises:
        ValueError: the row's IR class already has a row, or its class is a combinator (:data:`OWN_CODE`).
    """
    if kind.node in TABLE or kind.node in OWN_CODE:
        raise ValueError(f"{kind.node.__name__} already has its row or its own code")
    TABLE[kind.node] = kind
    FORMULAS[kind.formula] = kind.slots
    if kind.variant is not None:
        FORMULAS[kind.variant.formula] = kind.slots + kind.variant.slots
    return kind


for _row in ROWS:
    register(_row)


def row(node: ir.Node) -> Kind:
    """The table's row of a phase node.

    Raises:
        KeyError: ``node`` is a combinator or a plateau (:data:`OWN_CODE`), not a row.
    """
    return TABLE[type(node)]


def is_phase(node: ir.Node) -> bool:
    """Whether ``node`` is evaluated from a row of the table (not a combinator, not a plateau)."""
    return type(node) in TABLE


def clamps_itself(node: ir.Node) -> bool:
    """Whether evaluating ``node`` already clamps ``t`` to its duration (no interpreter adds ``min(t, T)``): a row
    that ``clamps``, or a sequence (its parts do)."""
    k = TABLE.get(type(node))
    return k.clamps if k is not None else isinstance(node, ir.Sequence)


def of_shape(shape: str) -> tuple[type, ...]:
    """The IR classes of the rows whose values move as ``shape`` (``MONOTONE``, ``BREAKS`` or ``CYCLIC``)."""
    return tuple(cls for cls, k in TABLE.items() if k.shape == shape)


__all__ = ["BREAKS", "CYCLIC", "DUR", "DURS", "FLAG", "FORMULAS", "Kind", "MONOTONE", "OPTIONAL", "OWN_CODE", "PARAM", "PARAMS",
           "ROWS", "SHAPES", "Slot", "TABLE", "Variant", "WORD", "clamps_itself", "is_phase", "of_shape",
           "register", "row"]  # fmt: skip
