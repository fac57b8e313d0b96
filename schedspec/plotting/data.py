"""What a plot shows, independent of the output: the view's dataclasses, the M4 reduction of every step to at most
four points per column (:func:`_scan`), the grids of update indices, the sweep members that give curves, the phase
boundaries and the labels. numpy only."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _compile, _metrics, ir
from .._text import sanitize
from ..analysis import parse_range
from ..errors import PlotError, UsageError, did_you_mean
from ..evaluator import evaluate_numpy
from ..lowering import bind

_CHUNK = 1 << 21  # values evaluated per chunk (all sweep rows together)
_NAMES = {"lr": "learning rate", "wd": "weight decay"}

# --------------------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class _Grid:
    """Update indices ``start + step * i`` for ``i`` in ``0 .. count-1``."""

    start: int
    step: int
    count: int

    def k(self, i: np.ndarray) -> np.ndarray:
        return self.start + self.step * i

    @property
    def last(self) -> int:
        return self.start + self.step * (self.count - 1)


@dataclass(frozen=True)
class Curve:
    """One plotted line.

    Attributes:
        label: legend text (spec name, and the sweep member's var values).
        k: the update indices plotted (int64, ascending).
        x: ``k`` in x-axis units.
        values: the schedule's values at ``k``, exactly as :func:`schedspec.evaluate` returns them (as float64).
        exact: True when every update in the range is plotted; False for the per-column envelope.
        style: colour / line style index (the same spec or member keeps its style in every panel).
        spec_index: which spec it came from.
        member: the sweep member (var values), or None.
    """

    label: str
    k: np.ndarray
    x: np.ndarray
    values: np.ndarray
    exact: bool
    style: int
    spec_index: int
    member: dict | None = None


@dataclass(frozen=True)
class Boundary:
    """Where a phase of a sequence begins (or where the whole schedule ends and starts to hold).

    Attributes:
        k: the first update of the phase.
        x: ``k`` in x-axis units.
        kind: the phase's kind (``"hold"`` for the end of the schedule).
        before: value at ``k - 1`` (None at ``k == 0``).
        after: value at ``k``.
        style: style of the curve it belongs to.
    """

    k: int
    x: float
    kind: str
    before: float | None
    after: float
    style: int


@dataclass
class Panel:
    """One axes: a hyperparameter (or the difference of two specs) and its curves."""

    hparam: str
    ylabel: str
    curves: list[Curve]
    boundaries: list[Boundary] = field(default_factory=list)
    log: bool = False
    bands: list = field(default_factory=list)  # :class:`~schedspec.plotting.band.Band` of each big sweep
    clipped: int = 0  # on a log axis: how many plotted values are <= 0 (drawn at the bottom of the axis)


# The parity tolerance of the test suite (README): |a - b| <= ABS * peak + REL * |v|, peak the larger maximum of the
# two schedules over the compared range, |v| the larger of |a| and |b|.
DIFF_TOLERANCE = {"float64": (1e-12, 1e-10), "float32": (1e-6, 1e-5)}


@dataclass(frozen=True)
class DiffResult:
    """Where two schedules first differ beyond the parity tolerance (:data:`DIFF_TOLERANCE` of the dtype).

    Attributes:
        k: the first update index at which a value differs beyond the tolerance (None: equal within it throughout).
        x: ``k`` in x-axis units.
        a, b: the two values at ``k``.
        max_abs: the largest absolute difference on the range (rounding included).
        checked: how many update indices were compared.
        count: how many of them differ beyond the tolerance (any sweep member).
        dtype: the precision compared in (the tolerance is this dtype's).
    """

    k: int | None
    x: float | None
    a: float | None
    b: float | None
    max_abs: float
    checked: int
    count: int = 0
    dtype: str = "float64"


@dataclass
class View:
    """Everything needed to draw a plot, independent of the output (matplotlib or text)."""

    title: str
    subtitle: str
    xunit: str
    xlim: tuple[float, float]
    secondary: tuple[str, float] | None  # (unit, secondary units per x unit)
    panels: list[Panel]
    steps: bool
    labels: list[str]
    diff: DiffResult | None = None
    run: RunOverlay | None = None


@dataclass(frozen=True)
class RunOverlay:
    """A training run's logged values over the plan (``schedspec plot SPEC --run LOG``), from :func:`schedspec._verify.verify`.

    Attributes:
        label: legend text (the log file and its column).
        x: where each logged value applies, in x-axis units (after ``logged_as``); ``values``: the logged values.
        first: ``(x, logged, planned)`` at the first divergence beyond the tolerance, or None.
        step: the log's step of the first divergence (None when the run follows the plan).
        n, n_differ: how many logged values were compared, and how many differ.
        summary: the first lines of the verify report (what the CLI prints).
    """

    label: str
    x: np.ndarray
    values: np.ndarray
    first: tuple[float, float, float] | None
    step: int | None
    n: int
    n_differ: int
    summary: str


def _scan(
    evalf: Callable[[np.ndarray], np.ndarray],
    grid: _Grid,
    columns: int,
    hook: Callable[[np.ndarray, np.ndarray], None] | None = None,
    rows: int = 1,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], bool]:
    """Evaluate every k of ``grid`` and reduce each row to the M4 envelope of ``columns`` columns.

    ``evalf(k)`` returns an array of shape ``(rows, len(k))`` (``rows`` sizes the chunks so memory stays bounded).
    ``hook(k, values)`` sees every chunk (each k once).
    Returns one ``(k, values)`` pair per row and whether the result is exact (every k kept).
    """
    n = grid.count
    if n <= 4 * columns:
        k = grid.k(np.arange(n, dtype=np.int64))
        v = np.atleast_2d(evalf(k))
        if hook is not None:
            hook(k, v)
        return [(k, row.astype(np.float64)) for row in v], True
    s = -(-n // columns)  # updates per column
    ncols = -(-n // s)
    # columns per chunk; every chunk has the same length, so the evaluator compiles once
    per = max(1, min(ncols, _CHUNK // (s * max(1, rows))))
    length = per * s
    ks: list[list[np.ndarray]] = []
    vs: list[list[np.ndarray]] = []
    c0 = 0
    while c0 < ncols:
        i = np.arange(c0 * s, c0 * s + length, dtype=np.int64)
        np.minimum(i, n - 1, out=i)  # pad the last chunk with the last k (a true point, drawn once)
        k = grid.k(i)
        v = np.atleast_2d(evalf(k))
        if not ks:
            rows = v.shape[0]
            ks, vs = [[] for _ in range(rows)], [[] for _ in range(rows)]
        if hook is not None:
            valid = min(length, n - c0 * s)
            hook(k[:valid], v[:, :valid])
        v3 = v.reshape(rows, per, s)
        idx = np.empty((rows, per, 4), dtype=np.int64)
        idx[..., 0] = 0
        idx[..., 1] = v3.argmin(axis=2)
        idx[..., 2] = v3.argmax(axis=2)
        idx[..., 3] = s - 1
        idx.sort(axis=2)
        vv = np.take_along_axis(v3, idx, axis=2).reshape(rows, -1)
        kk = np.take_along_axis(np.broadcast_to(k.reshape(1, per, s), v3.shape), idx, axis=2).reshape(
            rows, -1
        )
        for r in range(rows):
            ks[r].append(kk[r])
            vs[r].append(vv[r])
        c0 += per
    out = []
    for r in range(rows):
        k = np.concatenate(ks[r])
        v = np.concatenate(vs[r]).astype(np.float64)
        keep = np.ones(k.shape, dtype=bool)
        keep[1:] = k[1:] != k[:-1]
        out.append((k[keep], v[keep]))
    return out, False


def _constant(
    value: float, grid: _Grid, columns: int, dtype: str
) -> tuple[list[tuple[np.ndarray, np.ndarray]], bool]:
    """What :func:`_scan` returns for a ``constant`` node (``momentum: 0.9``), without evaluating every step.

    The value is rounded to ``dtype`` as the evaluator rounds it; the envelope of a constant is its first and last
    point.
    """
    v = float(np.float32(value)) if dtype == "float32" else float(value)
    exact = grid.count <= 4 * columns
    i = np.arange(grid.count, dtype=np.int64) if exact else np.asarray([0, grid.count - 1], dtype=np.int64)
    i = np.unique(i)
    return [(grid.k(i), np.full(i.shape, v))], exact


def _as_range(at: Any) -> range | None:
    """``None``, ``"A:B[:S]"``, ``range`` or ``(A, B[, S])`` -> range (B exclusive)."""
    if at is None or isinstance(at, range):
        return at
    if isinstance(at, str):
        try:
            return parse_range(at)
        except UsageError as exc:
            raise PlotError(str(exc)) from None
    if (
        isinstance(at, (tuple, list))
        and len(at) in (2, 3)
        and all(isinstance(v, (int, np.integer)) for v in at)
    ):
        r = range(*(int(v) for v in at))
        if r.start < 0 or r.stop <= r.start or r.step <= 0:
            raise PlotError(f"at expects 0 <= A < B and S > 0 (got {tuple(at)})")
        return r
    raise PlotError(f"at must be 'A:B[:S]', a range or (A, B[, S]) (got {at!r})")


def _members(spec, hparam: str) -> tuple[list[dict | None], bool]:
    """The sweep members that give separate curves for ``hparam``, and whether there is a sweep axis."""
    program = spec.program
    if not program.sweep_vars:
        return [None], False
    nums, durs = ir.used_vars(program.hparams[hparam])
    if (nums | durs) & set(program.sweep_vars):
        return program.sweep_members(), True
    return [program.sweep_members()[0]], False


def _length(spec, hparam: str) -> int | None:
    """The end of the schedule (or ``total``), over every sweep member; None if it never ends."""
    program = spec.program
    members, _ = _members(spec, hparam) if hparam in program.hparams else ([None], False)
    if len(members) > 1:  # one member per distinct value of the duration vars: the others end where it does
        _, durs = ir.used_vars(program.hparams[hparam])
        names = sorted(durs & set(program.sweep_vars))
        members = list({tuple(m[n] for n in names): m for m in members}.values())
    out = None
    for m in members:
        node = bind(program, m).hparams.get(hparam)
        for d in (getattr(node, "duration", None), program.total):
            if isinstance(d, int):
                out = d if out is None else max(out, d)
    return out


def _per_unit(spec, xunit: str) -> float:
    """x-axis units per update index of ``spec``."""
    program = spec.program
    if program.interval == xunit:
        return 1.0
    spe = program.steps_per_epoch
    if not spe:
        raise PlotError(
            f"{spec.file}: counts {program.interval}s and has no `steps_per_epoch`, so it cannot be drawn on an "
            f"{xunit} axis; use --x {program.interval} or set steps_per_epoch"
        )
    return 1.0 / spe if xunit == "epoch" else float(spe)


def _grid(spec, r: range, factor: float) -> _Grid:
    """The update indices of ``spec`` covering the x range ``r`` (B exclusive) in x units."""
    if factor == 1.0:
        return _Grid(r.start, r.step, len(r))
    g = 1.0 / factor  # updates per x unit
    start = math.ceil(r.start * g - 1e-9)
    stop = math.ceil(r.stop * g - 1e-9)
    step = r.step * g
    if abs(step - round(step)) > 1e-9 and r.step != 1:
        raise PlotError(
            f"--at step {r.step} is not a whole number of {spec.program.interval}s of {spec.file}"
        )
    step = max(1, round(step)) if r.step != 1 else 1
    count = max(1, -(-(stop - start) // step))
    return _Grid(start, step, count)


def _labels(specs: Sequence) -> list[str]:
    """Legend names: each spec's name (its file too when two share a name), user text escaped (:func:`sanitize`)."""

    names = [s.name for s in specs]
    return [sanitize(f"{n} ({s.file})" if names.count(n) > 1 and s.file != n else n) for n, s in zip(names, specs)]


def _member_label(base: str, member: dict | None) -> str:

    if not member:
        return base
    return sanitize(f"{base} [" + ", ".join(f"{k}={v}" for k, v in member.items()) + "]")


def _ylabel(hparam: str) -> str:
    return f"{_NAMES[hparam]} ({hparam})" if hparam in _NAMES else hparam


def _boundaries(
    spec, hparam: str, members: list, lo_k: int, hi_k: int, factor: float, style0: int, metrics: dict | None = None
) -> list[Boundary]:
    """Phase starts of the top-level sequence (and the schedule's end) inside [lo_k, hi_k], with their values.

    ``before`` is the final value of the previous phase (what it would hold), so it differs from ``after`` only
    where the schedule really jumps. ``metrics`` feeds the plateaus (their final value depends on the reports).
    """

    out: list[Boundary] = []
    for j, m in enumerate(members):
        node = bind(spec.program, m).hparams[hparam]
        marks, prev, origins = [], None, {}
        for part, begin, end in ir.phases(node):
            marks.append((begin, ir.kind(part), prev))
            if end is None:
                break
            origins[id(part)] = begin  # where a plateau's reports are counted from (_compile.ORIGIN)
            prev = part
        else:
            marks.append((end, "hold", None))
        marks = [
            (b, kind, p) for b, kind, p in marks if lo_k <= b <= hi_k and not (kind == "hold" and b >= hi_k)
        ]
        if not marks:
            continue
        ks = np.asarray(sorted({b for b, _, _ in marks}), dtype=np.int64)
        vals = dict(zip(ks.tolist(), evaluate_numpy(spec.program, ks, hparam, m, metrics=metrics).tolist()))
        env = {("metric", n): list(v) for n, v in (metrics or {}).items()}
        for b, kind, p in marks:
            before = None
            if p is not None:
                before = _compile.final_value(p, {**env, _compile.ORIGIN: origins[id(p)]} if env else None)
            out.append(Boundary(b, b * factor, kind, before, vals[b], style0 + j))
    return out


def _metrics_per_spec(specs: list, metrics: dict | None) -> list[dict | None]:
    """The metrics each spec's plateaus monitor (None for a spec that monitors none of them).

    Raises:
        PlotError: a metric that no spec monitors (a typo would otherwise go unnoticed).
    """

    if not metrics:
        return [None] * len(specs)
    monitored = [set(_metrics.monitors(s.program)) for s in specs]
    known = set().union(*monitored)
    for name in metrics:
        if name not in known:
            which = f"(monitored: {', '.join(sorted(known))})" if known else "(none of them has a `plateau`)"
            raise PlotError(f"--metrics {name}: no plateau of the plotted specs monitors {name!r}"
                            f"{did_you_mean(str(name), known)} {which}")  # fmt: skip
    return [{n: v for n, v in metrics.items() if n in mon} or None for mon in monitored]


def _short(v: float) -> str:
    return f"{v:.6g}"


def fmt_value(v: float) -> str:
    """A value on a plot: 3 significant digits."""
    return f"{v:.3g}"
