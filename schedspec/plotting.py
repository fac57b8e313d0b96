"""Plots of schedules: matplotlib figures (PNG, SVG, PDF, notebooks) and text charts for the terminal.

Faithful at any length. A schedule of 10**7 steps is evaluated at **every** step (with
:func:`schedspec.evaluate`, in chunks) and reduced to at most four points per pixel column: the first, the smallest,
the largest and the last value of the column, in step order (the "M4" reduction). Drawing those points gives the
same pixels as drawing every step, so no jump, spike or restart is lost, and every plotted point is a true
``(k, value(k))`` pair. Schedules with fewer than ``4 x columns`` steps are plotted at every step.

matplotlib is imported only when a figure is drawn (``pip install 'schedspec[plot]'``); the text charts need
numpy only.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _compile, _metrics, evaluator, ir
from . import _termplot as T
from ._termplot import fmt_num
from ._text import sanitize
from .analysis import parse_range
from .errors import MissingDependency, PlotError, SpecError, UsageError, did_you_mean, require
from .evaluator import evaluate_numpy
from .lowering import bind
from .spec import load

__all__ = [
    "PlotError", "Curve", "Boundary", "Panel", "View", "DiffResult", "prepare", "plot", "figure", "render",
    "repr_svg", "text", "FORMATS",
]  # fmt: skip

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
# Okabe-Ito colours (colour-blind safe) paired with line styles and widths, so curves stay apart in greyscale.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)), (0, (3, 1, 3, 3)))
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
        parts = node.parts if isinstance(node, ir.Sequence) else (node,)
        begin, marks, prev, origins = 0, [], None, {}
        for part in parts:
            marks.append((begin, ir.kind(part), prev))
            if not isinstance(part.duration, int):
                break
            origins[id(part)] = begin  # where a plateau's reports are counted from (_compile.ORIGIN)
            begin += part.duration
            prev = part
        else:
            marks.append((begin, "hold", None))
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


def prepare(
    specs: Sequence,
    *,
    hparam: str = "lr",
    at: Any = None,
    x: str | None = None,
    columns: int = 1200,
    diff: bool = False,
    panels: bool = True,
    log: bool = False,
    dtype: str | None = None,
    metrics: dict | None = None,
) -> View:
    """Evaluate and reduce everything a plot shows.

    Args:
        specs: loaded :class:`schedspec.Spec` objects (or anything :func:`schedspec.load` accepts).
        hparam: the main schedule (``lr``).
        at: the x range ``"A:B[:S]"`` / ``range`` / ``(A, B[, S])`` in x-axis units (B exclusive); default from 0 to
            the end of the longest schedule (or its ``total``).
        x: ``"step"`` or ``"epoch"``; default the first spec's interval.
        columns: pixel (or dot) columns of the plot area; the envelope has at most 4 points per column.
        diff: two specs: add a panel with their difference and find the first update where they differ.
        panels: add one panel per other hyperparameter found in the specs.
        log: logarithmic y for the main panel.
        dtype: evaluation precision, ``"float32"`` or ``"float64"``; default float32 (as :func:`schedspec.evaluate`),
            and float64 with ``diff`` (so "first difference" means the schedules differ, not float32 rounding).
        metrics: ``{name: reports}`` for the plateaus (as :func:`schedspec.evaluate`); each spec gets the metrics
            its plateaus monitor, and a name that no spec monitors is an error.

    Returns:
        A :class:`View`.

    Raises:
        PlotError: a range that cannot be drawn (never-ending schedule without ``at``, ``at`` after the end, ...).
        SpecError: a spec problem (an unknown ``hparam``, a metric-driven schedule, ...).
    """

    specs = [load(s) for s in specs]
    dtype = dtype or ("float64" if diff else "float32")
    if not specs:
        raise PlotError("nothing to plot: give at least one spec")
    if diff and len(specs) != 2:
        raise PlotError(f"--diff compares exactly two specs (got {len(specs)})")
    for s in specs:
        evaluator._node(s, hparam)  # SpecError naming the hparams the spec has
    per_spec = _metrics_per_spec(specs, metrics)
    xunit = x or specs[0].program.interval
    if xunit not in ("step", "epoch"):
        raise PlotError(f"x must be 'step' or 'epoch' (got {xunit!r})")
    factors = [_per_unit(s, xunit) for s in specs]
    labels = _labels(specs)
    r = _as_range(at)
    lengths = [_length(s, hparam) for s in specs]
    if r is None:
        ends = [n * f for n, f in zip(lengths, factors) if n is not None]
        if not ends:
            raise PlotError(
                "the schedule never ends and no `total` is set, so there is no default range; give --at A:B"
                if len(specs) == 1
                else "none of the schedules ends and none sets `total`; give --at A:B"
            )
        end = max(ends)
        grids = [_Grid(0, 1, int(math.floor(end / f + 1e-9)) + 1) for f in factors]
        xlim = (0.0, float(end))
    else:
        grids = [_grid(s, r, f) for s, f in zip(specs, factors)]
        for s, g, n, f in zip(specs, grids, lengths, factors):
            if n is not None and g.start > n:
                raise PlotError(
                    f"--at {r.start}:{r.stop}: {s.file} ends at {s.program.interval} {n}"
                    f"{'' if f == 1.0 else f' ({_short(n * f)} {xunit}s)'}; the range must start at or before it"
                )
            if g.last > ir.MAX_STEPS:
                raise PlotError(f"--at: update indices must be below 2**31 (got {g.last})")
        xlim = (float(r.start), float(r[-1]))
    if diff and grids[0] != grids[1]:
        raise PlotError(
            "--diff needs two specs with the same interval (and steps_per_epoch) on the plotted range"
        )
    steps = all(g.step == 1 for g in grids)

    spes = {s.program.steps_per_epoch for s in specs}
    secondary = None
    if len(spes) == 1 and None not in spes:
        spe = spes.pop()
        secondary = ("epoch", 1.0 / spe) if xunit == "step" else ("step", float(spe))

    # styles: one per (spec, member) of the main hparam, kept for the other panels
    style_of: dict[tuple[int, int], int] = {}
    n_style = 0
    for i, s in enumerate(specs):
        members, _ = _members(s, hparam)
        for j in range(len(members)):
            style_of[(i, j)] = n_style
            n_style += 1

    def panel(name: str, plog: bool) -> Panel:
        curves: list[Curve] = []
        bounds: list[Boundary] = []
        for i, (s, g, f) in enumerate(zip(specs, grids, factors)):
            if name not in s.program.hparams:
                continue
            members, sweep = _members(s, name)

            def fn(k, s=s, name=name, m=per_spec[i]):
                return evaluator.evaluate(s, k, hparam=name, dtype=dtype, metrics=m)

            node = bind(s.program, members[0]).hparams[name]
            if not sweep and isinstance(node, ir.Constant) and isinstance(node.value, float):
                rows, exact = _constant(node.value, g, columns, dtype)
            else:
                rows, exact = _scan(fn, g, columns, rows=len(members) if sweep else 1)
            for j, (k, v) in enumerate(rows):
                style = style_of.get((i, j), style_of.get((i, 0), 0) + j)
                label = _member_label(labels[i], members[j] if sweep else None)
                curves.append(Curve(label, k, k * f, v, exact, style, i, members[j] if sweep else None))
            bounds += _boundaries(s, name, members, g.start, g.last, f, style_of.get((i, 0), 0), per_spec[i])
        return Panel(name, _ylabel(name), curves, bounds, plog)

    result = None
    if diff:
        a, b = specs
        members_a, sweep_a = _members(a, hparam)
        members_b, sweep_b = _members(b, hparam)
        if len(members_a) != len(members_b):
            raise PlotError(
                f"--diff: the specs have {len(members_a)} and {len(members_b)} sweep members; they must match"
            )
        m = len(members_a)
        tol_abs, tol_rel = DIFF_TOLERANCE["float32" if dtype == "float32" else "float64"]
        # A step differs when |a - b| > tol_abs * peak + tol_rel * |v|, with peak (per member) the larger maximum of
        # the two over the whole range: known only at the end. So each step keeps the peak above which it would be
        # equal, `crit = (|a - b| - tol_rel |v|) / tol_abs`, while it exceeds the running peak (a lower bound of the
        # final one); the rest can never differ. At the end the steps with crit > peak are the differences.
        state = {"max": 0.0, "n": 0, "peak": np.zeros(m), "kept": []}

        def both(k):
            va = np.atleast_2d(evaluator.evaluate(a, k, hparam=hparam, dtype=dtype, metrics=per_spec[0]))
            vb = np.atleast_2d(evaluator.evaluate(b, k, hparam=hparam, dtype=dtype, metrics=per_spec[1]))
            va, vb = va.astype(np.float64), vb.astype(np.float64)
            return np.concatenate([va, vb, va - vb])

        def hook(k, v):
            va, vb = v[:m], v[m : 2 * m]
            state["n"] += k.size
            with np.errstate(invalid="ignore"):
                same = (va == vb) | (np.isnan(va) & np.isnan(vb))
                d = np.where(same, 0.0, np.abs(va - vb))
                d = np.where(np.isnan(d), np.inf, d)  # one side NaN: a difference
                if d.size:
                    state["max"] = max(state["max"], float(d.max()))
                mag = np.fmax(np.abs(va), np.abs(vb))
                if mag.size:
                    state["peak"] = np.fmax(state["peak"], np.nanmax(np.where(np.isfinite(mag), mag, np.nan), axis=1,
                                                                    initial=0.0))  # fmt: skip
                crit = np.where(same, -np.inf, (d - tol_rel * np.where(np.isfinite(mag), mag, 0.0)) / tol_abs)
            rows, cols = np.nonzero(crit > state["peak"][:, None])
            if rows.size:
                state["kept"].append((k[cols], rows, crit[rows, cols], va[rows, cols], vb[rows, cols]))

        rows, exact = _scan(both, grids[0], columns, hook, rows=3 * m)
        f = factors[0]
        main_curves, diff_curves = [], []
        for j in range(m):
            for side, (spec_i, members, sweep) in enumerate(
                ((0, members_a, sweep_a), (1, members_b, sweep_b))
            ):
                k, v = rows[side * m + j]
                label = _member_label(labels[spec_i], members[j] if sweep else None)
                main_curves.append(
                    Curve(
                        label,
                        k,
                        k * f,
                        v,
                        exact,
                        style_of[(spec_i, j)],
                        spec_i,
                        members[j] if sweep else None,
                    )
                )
            k, v = rows[2 * m + j]
            dl = _member_label(f"{labels[0]} − {labels[1]}", members_a[j] if sweep_a else None)
            diff_curves.append(Curve(dl, k, k * f, v, exact, j, -1, members_a[j] if sweep_a else None))
        bounds = []
        for i, s in enumerate(specs):
            members, _ = _members(s, hparam)
            bounds += _boundaries(s, hparam, members, grids[0].start, grids[0].last, f, style_of[(i, 0)],
                                  per_spec[i])  # fmt: skip
        first = count = None
        if state["kept"]:
            ks, rows, crit, va, vb = (np.concatenate(x) for x in zip(*state["kept"]))
            real = crit > state["peak"][rows]
            if real.any():
                ks, va, vb = ks[real], va[real], vb[real]
                order = np.lexsort((rows[real], ks))
                first = int(order[0])
                count = int(np.unique(ks).size)
        result = DiffResult(
            None if first is None else int(ks[first]),
            None if first is None else int(ks[first]) * f,
            None if first is None else float(va[first]),
            None if first is None else float(vb[first]),
            state["max"],
            state["n"],
            count or 0,
            "float32" if dtype == "float32" else "float64",
        )
        panels_out = [
            Panel(hparam, _ylabel(hparam), main_curves, bounds, log),
            Panel("difference", f"difference ({hparam})", diff_curves, [], False),
        ]
    else:
        panels_out = [panel(hparam, log)]
        if panels:
            others: list[str] = []
            for s in specs:
                others += [h for h in s.program.hparams if h != hparam and h not in others]
            panels_out += [panel(h, False) for h in others]

    if diff:
        title = f"{labels[0]} vs {labels[1]}"
    else:
        title = " vs ".join(labels) if len(labels) <= 3 else f"{len(labels)} schedules"
    subtitle = specs[0].program.description or "" if len(specs) == 1 else ""

    subtitle = sanitize(subtitle)
    return View(title, subtitle, xunit, xlim, secondary, panels_out, steps, labels, result)


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


# --------------------------------------------------------------------------------------------- matplotlib
def _mpl():
    """Import matplotlib (without pyplot) or raise :class:`MissingDependency`."""
    return require("matplotlib", "plot")


def _style(curve_style: int) -> dict:
    return {
        "color": PALETTE[curve_style % len(PALETTE)],
        "linestyle": LINESTYLES[curve_style % len(LINESTYLES)],
        "linewidth": 1.8 if curve_style % 2 == 0 else 1.5,
    }


def _fmt_value(v: float) -> str:
    return f"{v:.3g}"


def draw_panel(
    ax, panel: Panel, view: View, *, legend: bool = True, annotate: bool = True, headroom: float = 0.12
) -> list:
    """Draw one panel into a matplotlib axes; return the curves' ``Line2D`` objects (in ``panel.curves`` order).

    ``headroom`` is the free band above the data (a fraction of the data range) where phase kinds are written.
    """
    from matplotlib.ticker import EngFormatter, MaxNLocator

    lines = []
    drawstyle = "steps-post" if view.steps else "default"
    for c in panel.curves:
        style = _style(c.style)
        if panel.hparam == "difference":
            style = {
                "color": ("#000000", "#0072B2", "#D55E00", "#009E73")[c.style % 4],
                "linestyle": "-",
                "linewidth": 1.6,
            }
        (line,) = ax.plot(c.x, c.values, label=c.label, drawstyle=drawstyle, **style)
        line.set_gid(f"curve-{len(lines)}")
        lines.append(line)
    if panel.log:
        ax.set_yscale("log")
    else:
        ax.ticklabel_format(axis="y", useOffset=False)
    finite = [c.values[np.isfinite(c.values)] for c in panel.curves]
    finite = [v for v in finite if v.size]
    if finite:
        lo, hi = min(float(v.min()) for v in finite), max(float(v.max()) for v in finite)
        flat = hi - lo <= 1e-6 * max(abs(hi), abs(lo), 1e-300)
        if not panel.log and flat:  # centre a flat line instead of magnifying float noise
            pad = abs(hi) * 0.1 or 1.0
            ax.set_ylim(lo - pad, hi + pad)
        else:
            _set_ylim(ax, finite, panel.log, headroom)
    if view.xlim[1] > view.xlim[0]:
        ax.set_xlim(*view.xlim)
    ax.grid(True, which="major", color="0.85", linewidth=0.8)
    if panel.log:
        ax.grid(True, which="minor", color="0.93", linewidth=0.5)
    ax.set_ylabel(panel.ylabel)
    if view.xunit == "step":
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10]))
    if annotate and panel.boundaries:
        _draw_boundaries(ax, panel, view)
    if legend and (len(panel.curves) > 1 or panel.hparam == "difference"):
        ax.legend(loc="best", fontsize=8, framealpha=0.9, ncol=1 if len(panel.curves) <= 8 else 2)
    return lines


def _set_ylim(ax, values: list[np.ndarray], log: bool, headroom: float) -> None:
    """y limits with 8% below the data and ``headroom`` above it (in log space on a log axis)."""
    if log:
        values = [v[v > 0] for v in values]
        values = [np.log10(v) for v in values if v.size]
        if not values:
            return
    lo, hi = min(float(v.min()) for v in values), max(float(v.max()) for v in values)
    span = hi - lo or (abs(hi) or 1.0)
    lo, hi = lo - 0.08 * span, hi + headroom * span
    ax.set_ylim((10.0**lo, 10.0**hi) if log else (lo, hi))


def _draw_boundaries(ax, panel: Panel, view: View) -> None:
    """Dashed lines at phase starts, the kind written at the top of each phase, and the values there."""
    fig = ax.figure
    span = view.xlim[1] - view.xlim[0] or 1.0
    # width of one character of an 8 pt label, as a fraction of the x span
    ax_px = fig.get_figwidth() * fig.dpi * ax.get_position().width
    char = 8 * 0.6 * fig.dpi / 72 / max(ax_px, 1.0) * span
    trans = ax.get_xaxis_transform()
    kinds: dict[float, list[str]] = {}
    for bd in sorted(panel.boundaries, key=lambda bd: (bd.x, bd.style)):
        if bd.kind not in kinds.setdefault(bd.x, []):
            kinds[bd.x].append(bd.kind)
    marks = [(x, " / ".join(names)) for x, names in sorted(kinds.items())]
    for i, (x, kind) in enumerate(marks):
        if x > view.xlim[0]:
            ax.axvline(x, color="0.45", linestyle=(0, (2, 2)), linewidth=0.8, zorder=0.5)
        nxt = marks[i + 1][0] if i + 1 < len(marks) else view.xlim[1] + span
        if (nxt - x) >= char * (len(kind) + 1) and x >= view.xlim[0]:
            ax.text(
                x, 0.975, f" {kind}", transform=trans, ha="left", va="top", fontsize=8, color="0.2",
                bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
                clip_on=True, zorder=4,
            )  # fmt: skip
    lo, hi = ax.get_ylim()
    if panel.log:
        lo, hi = math.log10(max(lo, 1e-300)), math.log10(max(hi, 1e-300))

    def near_top(v: float) -> bool:
        y = math.log10(v) if panel.log else v
        return hi > lo and (y - lo) / (hi - lo) > 0.78

    drawn: set[tuple[int, str]] = set()  # (4-pixel bucket, text): one label per value per place
    for b in sorted(panel.boundaries, key=lambda b: (b.x, b.style)):
        if len(drawn) >= 24:
            break
        points = [(b.after, "after")]
        if b.before is not None and b.before != b.after:
            points.append((b.before, "before"))
        for v, where in points:
            key = (round((b.x - view.xlim[0]) / span * ax_px / 4), _fmt_value(v))
            if (panel.log and v <= 0) or key in drawn:
                continue
            drawn.add(key)
            colour = PALETTE[b.style % len(PALETTE)]
            ax.plot([b.x], [v], marker="o", markersize=3.5, color=colour, linestyle="none", zorder=3)
            dy = 3 if where == "after" and not near_top(v) else -9
            ax.annotate(
                _fmt_value(v), (b.x, v), xytext=(4, dy), textcoords="offset points",
                fontsize=7, color="0.15", zorder=4,
            )  # fmt: skip


def figure(
    specs: Sequence | Any,
    *,
    size: tuple[int, int] | None = None,
    dpi: int = 100,
    view: View | None = None,
    **prepare_kw: Any,
):
    """A matplotlib ``Figure`` (no pyplot) with one panel per hyperparameter sharing the x axis.

    Args:
        specs: one spec or a list of specs.
        size: (width, height) in pixels; default 1200 wide and 560 high plus 220 per extra panel.
        dpi: dots per inch (the pixel size of PNG output is exactly ``size``).
        view: an already prepared :class:`View` (else :func:`prepare` is called with ``prepare_kw``).
        **prepare_kw: passed to :func:`prepare` (``hparam``, ``at``, ``x``, ``log``, ``diff``, ``panels``).

    Returns:
        ``(figure, view)``.
    """
    mpl = _mpl()
    from matplotlib.figure import Figure

    specs = list(specs) if isinstance(specs, (list, tuple)) else [specs]
    width = (size or (1200, 0))[0]
    if view is None:
        view = prepare(specs, columns=max(64, int(width * 0.9)), **prepare_kw)
    n = len(view.panels)
    if size is None:
        size = (1200, 560 + 220 * (n - 1))
    w, h = size
    del mpl
    fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi, layout="constrained")
    ratios = [3.0] + [0.8 if _flat(p) else 1.2 for p in view.panels[1:]]
    axes = fig.subplots(n, 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": ratios})[:, 0]
    for i, (ax, p) in enumerate(zip(axes, view.panels)):
        draw_panel(ax, p, view, legend=(i == 0 or p.hparam == "difference"), headroom=0.12 if i == 0 else 0.3)
        if i < n - 1:
            ax.tick_params(labelbottom=False)
    unit = "step (optimizer update)" if view.xunit == "step" else "epoch"
    axes[-1].set_xlabel(unit)
    if view.secondary is not None:
        _secondary_axis(axes[0], view)
    title = view.title
    fig.suptitle(title, fontsize=13, fontweight="bold")
    if view.subtitle:
        axes[0].set_title(view.subtitle, fontsize=9, color="0.3", loc="left")
    if view.diff is not None:
        d = view.diff
        note = (
            f"equal at every {view.xunit} plotted (within the parity tolerance)"
            if d.k is None
            else f"first difference at {view.xunit} {d.x:g}: {d.a:.7g} vs {d.b:.7g} ({d.count} differ)"
        )
        axes[-1].set_title(note, fontsize=9, loc="left", color="0.2")
        if d.k is not None:
            for ax in axes:
                ax.axvline(d.x, color="0.1", linewidth=1.1, linestyle=(0, (1, 1.5)), zorder=0.6)
    return fig, view


def _secondary_axis(ax, view: View) -> None:
    """The other time unit (epochs over a step axis, or steps over an epoch axis) along the top of ``ax``."""
    from matplotlib.ticker import EngFormatter

    name, c = view.secondary
    sec = ax.secondary_xaxis("top", functions=(lambda v, c=c: v * c, lambda v, c=c: v / c))
    sec.set_xlabel(name)
    if name == "step":
        sec.xaxis.set_major_formatter(EngFormatter(sep=""))


def _flat(panel: Panel) -> bool:
    """True when every curve of the panel is one constant value."""
    vals = [c.values for c in panel.curves if c.values.size]
    return bool(vals) and all(
        float(np.nanmin(v)) == float(np.nanmax(vals[0])) == float(np.nanmax(v)) for v in vals
    )


def render(fig, fmt: str) -> bytes:
    """The figure as PNG, SVG or PDF bytes (text kept as text in SVG; no timestamps, so output is reproducible)."""
    import matplotlib

    if fmt not in FORMATS.values():
        raise PlotError(f"unknown output format {fmt!r}: use png, svg or pdf")
    meta = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}, "png": {}}[fmt]
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "schedspec", "pdf.fonttype": 42}):
        fig.savefig(buf, format=fmt, dpi=fig.dpi, metadata=meta)
    return buf.getvalue()


def plot(
    spec: Any,
    ax=None,
    *,
    hparam: str = "lr",
    at: Any = None,
    x: str | None = None,
    log: bool = False,
    boundaries: bool = True,
    legend: bool | None = None,
    secondary: bool = True,
    dtype: str | None = None,
    metrics: dict | None = None,
):
    """Draw the ``hparam`` schedule of one or more specs into a matplotlib axes and return the axes.

    One line per spec and per sweep member (labelled with the var values); phase boundaries dotted and labelled
    with their kind, with the values there. Long schedules are drawn from their per-pixel-column envelope (see the
    module docstring), so the picture is the same as drawing every step.

    Args:
        spec: a :class:`schedspec.Spec`, a path, a dict, or a list of them.
        ax: the axes to draw into; default a new ``pyplot`` figure's axes.
        hparam: which schedule.
        at: the x range (``"A:B[:S]"``, ``range``, ``(A, B)``); default the whole schedule.
        x: ``"step"`` or ``"epoch"`` x axis (default the spec's interval).
        log: logarithmic y axis.
        boundaries: mark phase boundaries.
        legend: draw a legend (default: when there is more than one line).
        secondary: add the other time unit along the top when ``steps_per_epoch`` is known.
        dtype: evaluation precision.
        metrics: ``{name: reports}`` for the plateaus, as :func:`schedspec.evaluate` takes them.

    Returns:
        The axes (its ``get_lines()`` starts with the schedule's lines, whose data are ``(k, evaluate(spec, k))``).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import schedspec
    >>> ax = schedspec.plot({"schedspec": 1, "lr": {"kind": "linear", "duration": 10, "start": 0, "end": 1}})
    >>> ax.get_lines()[0].get_ydata()[:3].tolist()
    [0.0, 0.10000000149011612, 0.20000000298023224]
    """
    _mpl()
    specs = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(10, 5), layout="constrained")
    fig = ax.figure
    columns = max(64, int(fig.get_figwidth() * fig.dpi * ax.get_position().width))
    view = prepare(specs, hparam=hparam, at=at, x=x, log=log, columns=columns, panels=False, dtype=dtype,
                   metrics=metrics)  # fmt: skip
    panel = view.panels[0]
    draw_panel(
        ax, panel, view, legend=legend if legend is not None else len(panel.curves) > 1, annotate=boundaries
    )
    if legend and len(panel.curves) == 1:
        ax.legend(loc="best", fontsize=8)
    ax.set_xlabel("step (optimizer update)" if view.xunit == "step" else "epoch")
    if secondary and view.secondary is not None:
        _secondary_axis(ax, view)
    if not ax.get_title():
        ax.set_title(view.title)
    return ax


def repr_svg(spec: Any) -> str | None:
    """The spec as an SVG plot for notebooks (``Spec._repr_svg_``).

    A schedule that never ends and sets no ``total`` is shown up to twice its last phase boundary (at least 100
    updates), and the title says so. Returns None when the plot cannot be drawn (matplotlib missing, a
    metric-driven ``plateau``), so the notebook falls back to the text representation.
    """

    try:
        spec = load(spec)
        _mpl()
    except MissingDependency:
        return None
    at = None
    note = ""
    if _length(spec, "lr") is None:
        end = max(100, 2 * max((b.k for b in _all_bounds(spec)), default=0))
        at = range(0, end + 1)
        note = f" (never ends; first {end} {spec.program.interval}s)"
    try:
        fig, view = figure([spec], size=(900, 420 + 160 * (len(spec.program.hparams) - 1)), at=at)
    except (SpecError, PlotError):
        return None
    if note:
        fig.suptitle(view.title + note, fontsize=13, fontweight="bold")
    return render(fig, "svg").decode("utf-8")


def _all_bounds(spec) -> list[Boundary]:
    members, _ = _members(spec, "lr")
    return _boundaries(spec, "lr", members[:1], 0, ir.MAX_STEPS, 1.0, 0)


# --------------------------------------------------------------------------------------------- text
def text(
    specs: Sequence | Any,
    *,
    width: int,
    height: int = 14,
    color: bool = False,
    charset: str = "braille",
    **prepare_kw: Any,
) -> tuple[str, View]:
    """The plot as text for the terminal: the main schedule, then one small chart per other hyperparameter.

    Several curves are overlaid in colour when ``color`` is on; without colour each curve gets its own chart (same
    axes ranges), so they can be told apart. A hyperparameter that is constant on the range is one line.

    Returns:
        ``(text, view)``.
    """

    specs = list(specs) if isinstance(specs, (list, tuple)) else [specs]
    plot_w = width - T.GUTTER - T.RIGHT_MARGIN
    if plot_w < 8:
        raise PlotError(f"--width must be at least {T.GUTTER + T.RIGHT_MARGIN + 8} (got {width})")
    dots = plot_w * (2 if charset == "braille" else 1)
    view = prepare(specs, columns=dots, **prepare_kw)
    xlabel = view.xunit + "s"
    out: list[str] = []
    for i, p in enumerate(view.panels):
        h = height if i == 0 or p.hparam == "difference" else max(3, height // 3)
        values = [c.values[np.isfinite(c.values)] for c in p.curves]
        values = [v for v in values if v.size]
        if not values:
            out.append(f"{p.ylabel}: no finite values on the range")
            continue
        lo, hi = min(float(v.min()) for v in values), max(float(v.max()) for v in values)
        if i > 0 and p.hparam != "difference" and lo == hi:
            out.append(
                f"{p.ylabel}: {_fmt_value(lo)} (constant on {view.xunit}s {T.fmt_num(view.xlim[0])}..{T.fmt_num(view.xlim[1])})"
            )
            continue
        marks = _marks(p)
        series = [T.Series(c.label, c.x, c.values, c.style) for c in p.curves]
        title = view.title + " · " + p.ylabel if i == 0 else p.ylabel
        if p.hparam == "difference":
            title = f"difference: {view.labels[0]} − {view.labels[1]}"
        common = dict(
            width=width, xlim=view.xlim, log=p.log, xlabel=xlabel, steps=view.steps, charset=charset
        )
        if len(series) == 1 or color:
            out.append(T.chart(series, height=h, title=title, marks=marks, color=color, **common))
        else:
            ylim = (lo, hi) if not p.log else _log_lim(p)
            each = max(3, h // min(len(series), 3))
            out.append(title)
            for s in series:
                own = _marks(p, s.style) or marks
                out.append(T.chart([s], height=each, title="  " + s.label, marks=own, ylim=ylim, **common))
        bl = _boundary_line(p, view)
        if bl:
            out.append(bl)
        out.append("")
    if view.diff is not None:
        out.append(_diff_line(view))
    return "\n".join(out).rstrip("\n") + "\n", view


def _log_lim(p: Panel) -> tuple[float, float]:
    pos = [c.values[c.values > 0] for c in p.curves]
    pos = [v for v in pos if v.size]
    if not pos:
        return (1.0, 10.0)
    return min(float(v.min()) for v in pos), max(float(v.max()) for v in pos)


def _marks(p: Panel, style: int | None = None) -> list[tuple[float, str]]:
    """(x, kind) of the panel's boundaries (of one curve's when ``style`` is given), one per x."""
    seen: dict[float, str] = {}
    for b in p.boundaries:
        if style is not None and b.style != style:
            continue
        seen.setdefault(b.x, b.kind)
    return sorted(seen.items())


def _boundary_line(p: Panel, view: View) -> str:
    """``phases: linear @0 0 → cosine @2k 0.0006 → hold @600k 6e-05`` for the first curve's boundaries."""

    if not p.boundaries:
        return ""
    style = p.boundaries[0].style
    parts = []
    for b in sorted((b for b in p.boundaries if b.style == style), key=lambda b: b.k):
        jump = "" if b.before is None or b.before == b.after else f"{_fmt_value(b.before)}→"
        parts.append(f"{b.kind} @{fmt_num(b.x)}: {jump}{_fmt_value(b.after)}")
    first = next((c.label for c in p.curves if c.style == style), view.labels[0])
    head = "  phases: " if len(p.curves) == 1 else f"  phases ({first}): "
    return head + " | ".join(parts)


def _diff_line(view: View) -> str:
    d = view.diff
    a, b = view.labels[:2]
    unit = view.xunit
    if d is None:
        return ""
    tol_abs, tol_rel = DIFF_TOLERANCE[d.dtype]
    tolerance = f"{tol_abs:g}*peak + {tol_rel:g}*|v|, {d.dtype}"
    span = f"{_short(view.xlim[0])}..{_short(view.xlim[1])}"
    if d.k is None:
        rounding = "" if d.max_abs == 0 else f"; largest difference {d.max_abs:.6g}, rounding"
        return f"{a} and {b} are equal at every {unit} in {span} ({d.checked} compared; tolerance {tolerance}{rounding})"
    where = f"{unit} {d.x:g}" if unit != "step" or d.x != d.k else f"step {d.k}"
    return (f"first difference at {where}: {a} = {d.a!r}, {b} = {d.b!r}; {d.count} of the {d.checked} compared "
            f"differ beyond the tolerance {tolerance} (largest difference {d.max_abs:.6g})")  # fmt: skip


def diff_line(view: View) -> str:
    """The one-line summary of a ``--diff`` view (where the schedules first differ)."""
    return _diff_line(view)


def save(fig, path: str | os.PathLike) -> int:
    """Render ``fig`` in the format named by ``path``'s extension and write it; return the bytes written.

    The file is rendered to memory first and then written in one step (through a temporary file in the same
    folder), so nothing is left behind when rendering or writing fails.
    """

    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise PlotError(f"unknown output format {ext or '(none)'!r} for {path}: use .png, .svg or .pdf")
    data = render(fig, FORMATS[ext])
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".schedspec-", suffix=ext, dir=folder)
    except OSError as exc:
        raise PlotError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise PlotError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(data)
