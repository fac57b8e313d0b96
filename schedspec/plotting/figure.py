"""matplotlib figures: PNG, SVG, PDF and the notebook view (matplotlib is imported when a figure is drawn;
``pip install 'schedspec[plot]'``)."""

from __future__ import annotations

import io
import math
import os
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import ir
from ..errors import MissingDependency, PlotError, SpecError, require
from ..spec import load
from .data import Boundary, Panel, View, _boundaries, _length, _members, fmt_value
from .prepare import prepare

__all__ = ["FORMATS", "LINESTYLES", "PALETTE", "drop_overlapping_labels", "figure", "plot", "render", "repr_svg", "save"]

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
# Okabe-Ito colours (colour-blind safe) paired with line styles and widths, so curves stay apart in greyscale.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)), (0, (3, 1, 3, 3)))

def _mpl():
    """Import matplotlib (without pyplot) or raise :class:`MissingDependency`."""
    return require("matplotlib", "plot")


def _style(curve_style: int) -> dict:
    return {
        "color": PALETTE[curve_style % len(PALETTE)],
        "linestyle": LINESTYLES[curve_style % len(LINESTYLES)],
        "linewidth": 1.8 if curve_style % 2 == 0 else 1.5,
    }


def draw_panel(
    ax, panel: Panel, view: View, *, legend: bool = True, annotate: bool = True, headroom: float = 0.12
) -> list:
    """Draw one panel into a matplotlib axes; return the curves' ``Line2D`` objects (in ``panel.curves`` order).

    ``headroom`` is the free band above the data (a fraction of the data range) where phase kinds are written.
    """
    from matplotlib.ticker import EngFormatter, MaxNLocator

    lines = []
    drawstyle = "steps-post" if view.steps else "default"
    if panel.log:  # values <= 0 are clipped by matplotlib to the bottom edge; the data stay true values
        ax.set_yscale("log", nonpositive="clip")

    for band in panel.bands:
        _draw_band(ax, band, view, named=len(panel.bands) > 1)
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
    run = view.run if panel is view.panels[0] else None
    if run is not None:
        _draw_run(ax, run, view.steps)
    if panel.log:
        ax.set_yscale("log", nonpositive="clip")
    else:
        ax.ticklabel_format(axis="y", useOffset=False)
    finite = [c.values[np.isfinite(c.values)] for c in panel.curves]
    finite += [v for b in panel.bands for v in (b.lo, b.hi)]
    if run is not None:
        finite.append(run.values[np.isfinite(run.values)])
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
    if panel.clipped:
        ax.plot([], [], linestyle="none", marker="v", color="0.3", markersize=4,
                label=f"{panel.clipped} values <= 0: drawn at the bottom edge (clipped: log axis)")  # fmt: skip
    entries = len(panel.curves) + len(panel.bands) + bool(panel.clipped) + (run is not None)
    if legend and (entries > 1 or panel.hparam == "difference" or panel.bands):
        title = None
        if panel.bands:
            title = "; ".join(f"{b.label}: band of {b.count:,} members at {len(b.k):,} sampled {view.xunit}s"
                              for b in panel.bands) + ", and the named members"  # fmt: skip
        ax.legend(loc="best", fontsize=8, framealpha=0.9, ncol=1 if entries <= 8 else 2, title=title,
                  title_fontsize=8)  # fmt: skip
    return lines


def _draw_band(ax, band, view: View, named: bool = False) -> None:
    """min-max, 5-95 % and 25-75 % across the members as filled bands, and the median as a thin line; ``named``:
    each legend entry says whose band it is (several bands in one panel)."""
    colour = PALETTE[band.style % len(PALETTE)]
    step = "post" if view.steps else None
    qs = sorted(band.q)
    whose = f"{band.label}: " if named else ""
    layers = [(band.lo, band.hi, 0.12, f"{whose}min-max of {band.count:,} members")]
    layers += [(band.q[a], band.q[b], alpha, f"{whose}{a * 100:g}-{b * 100:g} % of members")
               for (a, b), alpha in zip(zip(qs[: len(qs) // 2], qs[::-1][: len(qs) // 2]), (0.22, 0.34))]  # fmt: skip
    for lo, hi, alpha, label in layers:
        ax.fill_between(band.x, lo, hi, step=step, color=colour, alpha=alpha, linewidth=0,
                        label=label)  # fmt: skip
    if 0.5 in band.q:
        ax.plot(band.x, band.q[0.5], color=colour, linewidth=1.0, linestyle=(0, (4, 2)),
                drawstyle="steps-post" if view.steps else "default", label=f"{whose}median of members")  # fmt: skip


def _draw_run(ax, run, steps: bool) -> None:
    """The run's logged values (black dots joined by a thin line; a staircase when every update is plotted), and
    its first divergence from the plan (a dashed vertical line and a cross)."""
    ax.plot(run.x, run.values, color="#000000", linewidth=0.8, marker="." if len(run.x) <= 200 else None,
            markersize=3, label=run.label, zorder=3.5, gid="run", drawstyle="steps-post" if steps else "default")  # fmt: skip
    if run.first is not None:
        x, logged, planned = run.first
        ax.axvline(x, color="#D55E00", linewidth=1.2, linestyle="--", zorder=0.7,
                   label=f"first divergence: {x:g} (logged {logged:.4g}, plan {planned:.4g})")  # fmt: skip
        ax.plot([x], [logged], marker="x", color="#D55E00", markersize=7, linestyle="none",
                zorder=4)  # fmt: skip


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
                clip_on=True, zorder=4, gid="phase", in_layout=False,
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
            key = (round((b.x - view.xlim[0]) / span * ax_px / 4), fmt_value(v))
            if (panel.log and v <= 0) or key in drawn:
                continue
            drawn.add(key)
            colour = PALETTE[b.style % len(PALETTE)]
            ax.plot([b.x], [v], marker="o", markersize=3.5, color=colour, linestyle="none", zorder=3)
            dy = 3 if where == "after" and not near_top(v) else -9
            ax.annotate(
                fmt_value(v), (b.x, v), xytext=(4, dy), textcoords="offset points",
                fontsize=7, color="0.15", zorder=4, gid="value", in_layout=False,
            )  # fmt: skip


def drop_overlapping_labels(fig) -> int:
    """Remove the phase and value labels that would overlap another, once the figure is laid out; return how many.

    Phase names (``gid="phase"``) are kept first, then the values at the boundaries (``gid="value"``), each in
    x order: a label is kept when its box (in display pixels) overlaps no label kept before it. The labels are
    outside the layout (``in_layout=False``), so removing some does not move the others.
    """
    labels = [t for ax in fig.axes for t in ax.texts if t.get_gid() in ("phase", "value")]
    if len(labels) < 2:
        return 0
    if not hasattr(fig.canvas, "get_renderer"):  # a bare Figure (no pyplot): measure text with Agg
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    kept, dropped = [], 0
    for t in sorted(labels, key=lambda t: (t.get_gid() != "phase", t.get_window_extent(renderer).x0)):
        box = t.get_window_extent(renderer)
        if any(box.overlaps(other) for other in kept):
            t.remove()
            dropped += 1
        else:
            kept.append(box)
    return dropped


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
        **prepare_kw: passed to :func:`prepare` (``hparam``, ``at``, ``x``, ``log``, ``diff``, ``panels``;
            ``backend`` defaults to ``"auto"``, as the terminal chart: a sweep drawn as a band is evaluated by
            numpy, without importing jax).

    Returns:
        ``(figure, view)``.
    """
    mpl = _mpl()
    from matplotlib.figure import Figure

    specs = list(specs) if isinstance(specs, (list, tuple)) else [specs]
    width = (size or (1200, 0))[0]
    if view is None:
        view = prepare(specs, columns=max(64, int(width * 0.9)), **{"backend": "auto", **prepare_kw})
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
    if view.run is not None:
        r = view.run
        note = (f"run follows the plan ({r.n} logged values)" if r.first is None else
                f"run leaves the plan at {view.xunit} {r.first[0]:g} (log step {r.step}): logged {r.first[1]:.7g}, "
                f"plan {r.first[2]:.7g}; {r.n_differ} of {r.n} logged values differ")  # fmt: skip
        axes[-1].set_title(note, fontsize=9, loc="left", color="0.2")
    drop_overlapping_labels(fig)
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
    log: bool | None = None,
    boundaries: bool = True,
    legend: bool | None = None,
    secondary: bool = True,
    dtype: str | None = None,
    metrics: dict | None = None,
    members: Sequence | None = None,
    run: Any = None,
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
        log: logarithmic y axis (True), linear (False), or None: logarithmic when several curves' peaks span
            more than two decades (see :func:`schedspec.plotting.prepare`).
        boundaries: mark phase boundaries.
        legend: draw a legend (default: when there is more than one line).
        secondary: add the other time unit along the top when ``steps_per_epoch`` is known.
        dtype: evaluation precision.
        metrics: ``{name: reports}`` for the plateaus, as :func:`schedspec.evaluate` takes them.
        members: a big sweep (drawn as a band) draws these members as lines (see :func:`prepare`).
        run: a training run's log drawn over the plan, with its first divergence (see :func:`prepare`).

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
                   metrics=metrics, members=members, run=run)  # fmt: skip
    panel = view.panels[0]
    many = len(panel.curves) > 1 or bool(panel.bands) or view.run is not None
    draw_panel(ax, panel, view, legend=legend if legend is not None else many, annotate=boundaries)
    if legend and len(panel.curves) == 1:
        ax.legend(loc="best", fontsize=8)
    ax.set_xlabel("step (optimizer update)" if view.xunit == "step" else "epoch")
    if secondary and view.secondary is not None:
        _secondary_axis(ax, view)
    if not ax.get_title():
        ax.set_title(view.title)
    drop_overlapping_labels(fig)
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
