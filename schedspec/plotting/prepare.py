""":func:`prepare`: evaluate and reduce everything a plot shows into a :class:`~schedspec.plotting.data.View`, the same
for a matplotlib figure and a terminal chart."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import evaluator, ir
from .._target import hparam_node
from .._text import sanitize
from ..errors import PlotError, UsageError
from ..lowering import bind
from ..spec import load
from .band import BAND_ABOVE, spans_decades, sweep_band
from .data import (
    Boundary,
    Curve,
    Panel,
    View,
    _as_range,
    _boundaries,
    _constant,
    _Grid,
    _grid,
    _labels,
    _length,
    _member_label,
    _members,
    _metrics_per_spec,
    _per_unit,
    _scan,
    _short,
    _ylabel,
)  # fmt: skip
from .diff import diff_panels
from .run import run_overlay

__all__ = ["prepare"]


def prepare(
    specs: Sequence,
    *,
    hparam: str = "lr",
    at: Any = None,
    x: str | None = None,
    columns: int = 1200,
    diff: bool = False,
    panels: bool = True,
    log: bool | None = None,
    dtype: str | None = None,
    metrics: dict | None = None,
    members: Sequence | None = None,
    run: Any = None,
    logged_as: str = "applied",
    column: str | None = None,
    backend: str = "jax",
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
        log: logarithmic y for the main panel (True), linear (False), or None (default): logarithmic when the
            curves of the main panel are several and their peaks (largest ``|value|`` of each) span more than two
            decades (:func:`~schedspec.plotting.band.spans_decades`). Values <= 0 on a log axis are drawn at its
            bottom and counted in ``Panel.clipped``.
        dtype: evaluation precision, ``"float32"`` or ``"float64"``; default float32 (as :func:`schedspec.evaluate`),
            and float64 with ``diff`` (so "first difference" means the schedules differ, not float32 rounding).
        metrics: ``{name: reports}`` for the plateaus (as :func:`schedspec.evaluate`); each spec gets the metrics
            its plateaus monitor, and a name that no spec monitors is an error.
        members: the sweep members drawn as lines over a band (a sweep of more than
            :data:`~schedspec.plotting.band.BAND_ABOVE` members): indices in sweep order or ``{var: value}`` dicts;
            default the first, the last, and those with the highest and the lowest peak.
        run: a training run's log (CSV, JSON lines or TensorBoard; see :func:`schedspec._verify.read_log`) drawn
            over the first spec's plan, with its first divergence beyond the tolerance (``View.run``).
        logged_as, column: how to read ``run``, as ``schedspec verify`` takes them.
        backend: ``"jax"`` (default): the values of :func:`schedspec.evaluate`; ``"numpy"``: those of
            :func:`schedspec.evaluator.evaluate_host` (float64 numpy rounded to ``dtype``, no jax import; equal to
            the JAX values to the last float32 place), except for a schedule with a ``plateau``, evaluated by JAX;
            ``"auto"``: numpy for a sweep drawn as a band (its quantiles and named members; what costs most to
            compile and to import jax for), JAX for the curves, whose every value is shown as ``evaluate`` gives
            it (a value exactly on a chart row's edge falls on the side its float32 rounding puts it). The
            terminal chart uses ``"auto"``.

    Returns:
        A :class:`View`.

    Raises:
        PlotError: a range that cannot be drawn (never-ending schedule without ``at``, ``at`` after the end, ...),
            a ``members`` entry that names no member, or a ``run`` log that cannot be read (one line, the file).
        SpecError: a spec problem (an unknown ``hparam``, a metric-driven schedule, ...).
    """

    members_wanted = list(members) if members else None  # (the name `members` is reused below)
    specs = [load(s) for s in specs]
    dtype = dtype or ("float64" if diff else "float32")
    if not specs:
        raise PlotError("nothing to plot: give at least one spec")
    if diff and len(specs) != 2:
        raise PlotError(f"--diff compares exactly two specs (got {len(specs)})")
    for s in specs:
        hparam_node(s, hparam)  # SpecError naming the hparams the spec has
    per_spec = _metrics_per_spec(specs, metrics)
    xunit = x or specs[0].program.interval
    if backend not in ("jax", "numpy", "auto"):
        raise UsageError(f"backend must be 'jax', 'numpy' or 'auto' (got {backend!r})")
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

    def panel(name: str, plog: bool | None) -> Panel:
        curves: list[Curve] = []
        bounds: list[Boundary] = []
        bands: list = []
        peaks: list[float] = []
        for i, (s, g, f) in enumerate(zip(specs, grids, factors)):
            if name not in s.program.hparams:
                continue
            members, sweep = _members(s, name)

            as_band = sweep and len(members) > BAND_ABOVE
            host = backend == "numpy" or (backend == "auto" and as_band)

            def fn(k, s=s, name=name, m=per_spec[i], sweep=sweep, host=host):
                v = evaluator.evaluate_host(s, k, hparam=name, dtype=dtype) if host else None
                if v is None:
                    v = evaluator.evaluate(s, k, hparam=name, dtype=dtype, metrics=m)
                return v if sweep or not s.program.sweep_vars else v[0]  # one curve: the rows are equal

            node = bind(s.program, members[0]).hparams[name]
            if as_band:
                band, named, idx, member_peaks = sweep_band(
                    s, name, members, g, f, columns, fn, labels[i], style_of[(i, 0)], i, members_wanted
                )
                bands.append(band)
                curves += named
                peaks.extend(member_peaks.tolist())
                bounds += _boundaries(s, name, [members[j] for j in idx], g.start, g.last, f, style_of[(i, 0)] + 1,
                                      per_spec[i])  # fmt: skip
                continue
            if not sweep and isinstance(node, ir.Constant) and isinstance(node.value, float):
                rows, exact = _constant(node.value, g, columns, dtype)
            else:
                rows, exact = _scan(fn, g, columns, rows=len(members) if sweep else 1)
            for j, (k, v) in enumerate(rows):
                peaks.append(float(np.nanmax(np.abs(v))) if v.size else 0.0)
                style = style_of.get((i, j), style_of.get((i, 0), 0) + j)
                label = _member_label(labels[i], members[j] if sweep else None)
                curves.append(Curve(label, k, k * f, v, exact, style, i, members[j] if sweep else None))
            bounds += _boundaries(s, name, members, g.start, g.last, f, style_of.get((i, 0), 0), per_spec[i])
        if plog is None:
            plog = len(peaks) > 1 and spans_decades(peaks)
        clipped = 0
        if plog:
            clipped = sum(int(np.count_nonzero(c.values <= 0)) for c in curves)
            clipped += sum(int(np.count_nonzero(b.lo <= 0)) for b in bands)
        return Panel(name, _ylabel(name), curves, bounds, plog, bands, clipped)

    result = None
    if diff:
        panels_out, result = diff_panels(specs, hparam, grids, factors, labels, style_of, per_spec, columns, dtype,
                                         bool(log), members_wanted)
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
    overlay = None
    if run is not None:
        overlay = run_overlay(specs[0], run, hparam=hparam, factor=factors[0], xlim=xlim, columns=columns,
                              metrics=per_spec[0], logged_as=logged_as, column=column)  # fmt: skip
        main = panels_out[0]
        if main.log:
            main.clipped += int(np.count_nonzero(overlay.values <= 0))
    return View(title, subtitle, xunit, xlim, secondary, panels_out, steps, labels, result, overlay)
