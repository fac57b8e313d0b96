"""The terminal view: text plots (a braille or plain ASCII line chart, a one-line ``sparkline``) and :func:`text`, a
whole plot as text.

Nothing here evaluates a schedule: the caller passes points that are already reduced to the chart's resolution
(:func:`schedspec.plotting.prepare` does that with a per-column envelope), and the charts only draw them.

A braille character holds 2 x 4 dots, so a chart ``P`` characters wide and ``H`` rows high has ``2P x 4H`` dots.
Points are joined either as a staircase (``steps=True``: the value of update ``k`` holds until ``k + 1``, which is
what a schedule means) or as straight segments (for a subsampled ``--at A:B:S`` grid).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._text import sanitize
from ..errors import PlotError
from .data import Panel, View, fmt_value
from .diff import diff_line
from .prepare import prepare

__all__ = ["Series", "chart", "sparkline", "fmt_num", "text", "GUTTER", "RIGHT_MARGIN"]

_BLOCKS = "▁▂▃▄▅▆▇█"
# Braille dot bits by (column in cell, row in cell from the top).
_BRAILLE_BITS = np.array([[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]], dtype=np.uint16)
# ANSI colours: blue, red, green, magenta, yellow, cyan, bright blue, bright red
_ANSI = ("34", "31", "32", "35", "33", "36", "94", "91")

LABEL_WIDTH = 9  # y tick labels are right-aligned in this many characters
GUTTER = LABEL_WIDTH + 2  # label, a space, and the axis character
RIGHT_MARGIN = 3  # room for the last x tick label to stick out


@dataclass(frozen=True)
class Series:
    """One curve to draw.

    Attributes:
        label: legend text.
        x: x positions (float array, ascending).
        y: values at ``x`` (float array, same length).
        style: index of the colour used when colour is on.
    """

    label: str
    x: np.ndarray
    y: np.ndarray
    style: int = 0


def fmt_num(v: float) -> str:
    """A short axis label: ``600000 -> '600k'``, ``1.5e6 -> '1.5M'``, ``0.0006 -> '0.0006'``, ``6e-05 -> '6e-05'``.

    >>> [fmt_num(v) for v in (0, 250, 1000, 600000, 1.5e6, 2.5, 6e-4, 6e-5, -0.25)]
    ['0', '250', '1k', '600k', '1.5M', '2.5', '0.0006', '6e-05', '-0.25']
    """
    if v == 0 or not math.isfinite(v):
        return "0" if v == 0 else str(v)
    a = abs(v)
    if a >= 1e3:
        for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
            if a >= div:
                return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}"


def _fmt_y(v: float) -> str:
    """A y tick label, at most :data:`LABEL_WIDTH` characters."""
    s = f"{v:.3g}"
    return s if len(s) <= LABEL_WIDTH else f"{v:.1e}"


def sparkline(values: Sequence[float] | np.ndarray, width: int) -> str:
    """A one-line bar chart of ``values`` at most ``width`` characters wide.

    The values are split into ``width`` consecutive groups (one per character, or one value per character when there
    are fewer values than ``width``); each character shows the **maximum** of its group on eight levels from the
    smallest to the largest value, so a spike or a restart is never averaged away. A constant series is drawn at
    mid height; a NaN or infinite value is a space.

    Args:
        values: the numbers to draw, in order.
        width: the most characters to use (>= 1).

    Returns:
        The sparkline, ``min(width, len(values))`` characters long.

    Raises:
        ValueError: if ``width`` < 1.

    >>> sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8)
    '▁▂▃▄▅▆▇█'
    >>> sparkline([1, 5, 1, 1, 1, 1], 3)
    '█▁▁'
    """
    if int(width) < 1:
        raise ValueError(f"sparkline width must be >= 1 (got {width})")
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return ""
    n = min(int(width), v.size)
    edges = np.linspace(0, v.size, n + 1).round().astype(np.int64)
    finite = np.isfinite(v)
    if not finite.any():
        return " " * n
    lo, hi = float(v[finite].min()), float(v[finite].max())
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        group = v[a:b]
        group = group[np.isfinite(group)]
        if group.size == 0:
            out.append(" ")
        elif hi == lo:
            out.append(_BLOCKS[3])
        else:
            level = int(round((float(group.max()) - lo) / (hi - lo) * (len(_BLOCKS) - 1)))
            out.append(_BLOCKS[level])
    return "".join(out)


def _nice_ticks(lo: float, hi: float, most: int) -> list[float]:
    """Round numbers (1, 2, 2.5, 5 x 10^e) in [lo, hi], at most ``most`` of them (at least the two ends' region)."""
    if hi <= lo or most < 2:
        return [lo]
    raw = (hi - lo) / (most - 1)
    e = math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        step = m * 10.0**e
        if step >= raw:
            break
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    t = first
    while t <= hi + step * 1e-9:
        ticks.append(0.0 if abs(t) < step * 1e-9 else t)
        t = first + len(ticks) * step
    return ticks


def _raster(cols: np.ndarray, rows: np.ndarray, shape: tuple[int, int], steps: bool) -> np.ndarray:
    """Dots lit by a polyline through (cols, rows) (dot coordinates, rows from the top) as a bool array."""
    grid = np.zeros(shape, dtype=bool)
    n = len(cols)
    if n == 0:
        return grid
    grid[rows[0], cols[0]] = True
    for i in range(n - 1):
        c0, r0, c1, r1 = int(cols[i]), int(rows[i]), int(cols[i + 1]), int(rows[i + 1])
        if steps:  # hold r0 until c1, then jump to r1
            grid[r0, min(c0, c1) : max(c0, c1) + 1] = True
            grid[min(r0, r1) : max(r0, r1) + 1, c1] = True
        else:
            m = max(abs(c1 - c0), abs(r1 - r0)) + 1
            cc = np.rint(np.linspace(c0, c1, m)).astype(np.int64)
            rr = np.rint(np.linspace(r0, r1, m)).astype(np.int64)
            grid[rr, cc] = True
    return grid


def _pieces(x: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split a curve where y is NaN or infinite (the line breaks there)."""
    ok = np.isfinite(y)
    if ok.all():
        return [(x, y)]
    out = []
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return out
    breaks = np.flatnonzero(np.diff(idx) > 1)
    for part in np.split(idx, breaks + 1):
        out.append((x[part], y[part]))
    return out


def _colour(text: str, style: int, on: bool) -> str:
    return f"\x1b[{_ANSI[style % len(_ANSI)]}m{text}\x1b[0m" if on else text


def chart(
    series: Sequence[Series],
    *,
    width: int,
    height: int,
    xlim: tuple[float, float],
    ylim: tuple[float, float] | None = None,
    log: bool = False,
    title: str = "",
    xlabel: str = "",
    marks: Sequence[tuple[float, str]] = (),
    steps: bool = True,
    color: bool = False,
    charset: str = "braille",
    bands: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, str]] = (),
) -> str:
    """Draw curves as a text chart ``width`` characters wide with a plot area ``height`` rows high.

    Layout: the title; a legend (when colour is on and there are several curves); a strip naming the phase that
    starts at each of ``marks`` (``╷kind``); the plot rows with y tick labels (the top row is labelled with the
    largest value, the bottom row with the smallest); the x axis with round-number ticks and ``xlabel``.

    Args:
        series: the curves (all drawn on the same axes; overlapping dots take the last curve's colour).
        width: total width in characters (at least ``GUTTER + RIGHT_MARGIN + 8``).
        height: plot rows (at least 2).
        xlim: the x range shown (its ends map to the first and last dot column).
        ylim: the y range shown; default the finite data range.
        log: logarithmic y (values <= 0 sit on the bottom row).
        title: first line.
        xlabel: the unit of x, written after the tick labels.
        marks: (x, label) pairs named in the strip above the plot (phase boundaries).
        steps: join points as a staircase (True) or straight segments.
        color: wrap each curve's characters in an ANSI colour.
        charset: ``"braille"`` (2 x 4 dots per character) or ``"ascii"`` (one ``*`` per character).
        bands: ``(x, lo, hi, char)`` filled ranges drawn under the curves, in order (a later band over an earlier
            one): each character cell whose row lies between ``lo`` and ``hi`` at one of its dot columns (values
            joined linearly between the given x) shows ``char`` where no curve passes.

    Returns:
        The chart as lines joined by newlines (no trailing newline).

    Raises:
        ValueError: for a width or height too small to draw in, or an unknown ``charset``.
    """
    if charset not in ("braille", "ascii"):
        raise ValueError(f"charset must be 'braille' or 'ascii' (got {charset!r})")
    plot_w = width - GUTTER - RIGHT_MARGIN
    if plot_w < 8:
        raise ValueError(
            f"a text chart needs a width of at least {GUTTER + RIGHT_MARGIN + 8} characters (got {width})"
        )
    if height < 2:
        raise ValueError(f"a text chart needs at least 2 rows (got {height})")
    sx, sy = (2, 4) if charset == "braille" else (1, 1)
    wd, hd = plot_w * sx, height * sy
    x0, x1 = float(xlim[0]), float(xlim[1])

    def ty(y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if not log:
            return y
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(y > 0, np.log10(np.where(y > 0, y, 1.0)), -np.inf)

    if ylim is None:
        finite = [ty(s.y)[np.isfinite(ty(s.y))] for s in series]
        finite = [f for f in finite if f.size]
        lo = min((float(f.min()) for f in finite), default=0.0)
        hi = max((float(f.max()) for f in finite), default=1.0)
    else:
        lo, hi = (float(v) for v in ty(np.asarray(ylim, dtype=np.float64)))
        if not math.isfinite(lo):
            lo = hi - 1.0
    if hi == lo:
        pad = abs(hi) * 0.5 if hi != 0 and not log else 1.0
        lo, hi = lo - pad, hi + pad

    def col_of(x: np.ndarray) -> np.ndarray:
        span = x1 - x0 if x1 > x0 else 1.0
        return np.clip(np.rint((np.asarray(x, dtype=np.float64) - x0) / span * (wd - 1)), 0, wd - 1).astype(
            np.int64
        )

    def row_of(v: np.ndarray) -> np.ndarray:  # transformed value -> dot row from the top
        v = np.where(np.isfinite(v), v, lo)
        up = np.clip(np.rint((v - lo) / (hi - lo) * (hd - 1)), 0, hd - 1).astype(np.int64)
        return (hd - 1) - up

    cells = np.zeros((height, plot_w), dtype=np.uint16)
    owner = np.full((height, plot_w), -1, dtype=np.int64)
    for s in series:
        yt = ty(s.y)
        dots = np.zeros((hd, wd), dtype=bool)
        keep = ~np.isnan(yt)  # -inf (log of <= 0) still draws, on the bottom row
        for px, py in _pieces(np.asarray(s.x)[keep], np.where(np.isfinite(yt[keep]), yt[keep], lo)):
            dots |= _raster(col_of(px), row_of(py), (hd, wd), steps)
        rr, cc = np.nonzero(dots)
        if charset == "braille":
            bits = _BRAILLE_BITS[cc % 2, rr % 4]
            np.bitwise_or.at(cells, (rr // 4, cc // 2), bits)
        else:
            cells[rr, cc] = 1
        owner[rr // sy, cc // sx] = s.style

    fill = np.full((height, plot_w), "", dtype=object)
    if bands:
        centres = x0 + (np.arange(wd) + 0.5) / wd * (x1 - x0 if x1 > x0 else 1.0)
        for bx, blo, bhi, ch in bands:
            bx = np.asarray(bx, dtype=np.float64)
            if bx.size == 0:
                continue
            inside = (centres >= bx[0]) & (centres <= bx[-1])
            lo_t, hi_t = ty(np.asarray(blo)), ty(np.asarray(bhi))
            lo_t, hi_t = np.where(np.isfinite(lo_t), lo_t, lo), np.where(np.isfinite(hi_t), hi_t, lo)
            top = row_of(np.interp(centres, bx, hi_t))  # dot rows (from the top)
            bottom = row_of(np.interp(centres, bx, lo_t))
            for c in np.flatnonzero(inside):  # one character column per dot column pair
                fill[top[c] // sy : bottom[c] // sy + 1, c // sx] = ch

    ascii_axes = charset == "ascii"
    v_bar, v_tick, corner, h_bar, h_tick = (
        ("|", "+", "+", "-", "+") if ascii_axes else ("│", "┤", "└", "─", "┬")
    )

    lines: list[str] = []  # titles and legends carry user text (spec names): escaped, never raw to the terminal
    if title:
        lines.append(sanitize(title))
    if color and len(series) > 1:
        lines.append(" " * GUTTER + "  ".join(_colour("━━", s.style, True) + " " + sanitize(s.label) for s in series))
    if marks:
        # a tick at each mark's column, then its label up to the next tick (cut short when they are close)
        strip = [" "] * (plot_w + RIGHT_MARGIN)
        tick = "|" if ascii_axes else "╷"
        placed: dict[int, str] = {}
        for xm, label in sorted(marks):
            placed[int(col_of(np.asarray([xm]))[0]) // sx] = label  # a later mark in the same column wins
        cols = sorted(placed)
        for i, c in enumerate(cols):
            end = cols[i + 1] if i + 1 < len(cols) else len(strip)
            text = (tick + placed[c])[: end - c]
            if len(text) < len(placed[c]) + 1 and end - c > 2:
                text = text[:-1] + "…"
            strip[c : c + len(text)] = list(text)
        lines.append(" " * GUTTER + "".join(strip).rstrip())

    # y labels: the top and bottom rows carry the extreme values, a few rows between carry their centre values
    labelled = {0: hi, height - 1: lo}
    every = 4 if height >= 8 else height
    for r in range(every, height - 2, every):
        centre = (hd - 1) - (r * sy + (sy - 1) / 2)
        labelled[r] = lo + centre / (hd - 1) * (hi - lo)
    for r in range(height):
        if r in labelled:
            v = labelled[r]
            head = _fmt_y(10.0**v if log else v).rjust(LABEL_WIDTH) + " " + v_tick
        else:
            head = " " * (LABEL_WIDTH + 1) + v_bar
        row = []
        for c in range(plot_w):
            bits = int(cells[r, c])
            if bits == 0:
                ch = fill[r, c] or " "
            else:
                ch = chr(0x2800 + bits) if charset == "braille" else "*"
            row.append(_colour(ch, int(owner[r, c]), color) if bits and color else ch)
        lines.append(head + "".join(row))

    ticks = _nice_ticks(x0, x1, max(2, plot_w // 12)) if x1 > x0 else [x0]
    axis = [h_bar] * plot_w
    under = [" "] * (plot_w + RIGHT_MARGIN + 1)
    last_end = -2
    for t in ticks:
        c = int(col_of(np.asarray([t]))[0]) // sx
        label = fmt_num(t)
        start = max(0, c - len(label) // 2)
        start = min(start, len(under) - len(label))
        if start <= last_end + 1:
            continue
        axis[c] = h_tick
        under[start : start + len(label)] = list(label)
        last_end = start + len(label) - 1
    lines.append(" " * (LABEL_WIDTH + 1) + corner + "".join(axis))
    tail = "".join(under).rstrip()
    if len(xlabel) <= LABEL_WIDTH:  # the unit sits left of the tick labels, under the y labels
        lines.append(xlabel.rjust(LABEL_WIDTH) + "  " + tail)
    else:
        lines.append(" " * (LABEL_WIDTH + 2) + tail)
        lines.append(xlabel.rjust(width))
    return "\n".join(line.rstrip() for line in lines)


# --------------------------------------------------------------------------------------------- a view as text
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
    A sweep drawn as a band is evaluated by numpy (``prepare(..., backend="auto")``: no jax import, its values
    equal :func:`schedspec.evaluate`'s to the last float32 place), curves by :func:`schedspec.evaluate`.

    Returns:
        ``(text, view)``.
    """

    specs = list(specs) if isinstance(specs, (list, tuple)) else [specs]
    plot_w = width - GUTTER - RIGHT_MARGIN
    if plot_w < 8:
        raise PlotError(f"--width must be at least {GUTTER + RIGHT_MARGIN + 8} (got {width})")
    dots = plot_w * (2 if charset == "braille" else 1)
    view = prepare(specs, columns=dots, **{"backend": "auto", **prepare_kw})
    xlabel = view.xunit + "s"
    out: list[str] = []
    for i, p in enumerate(view.panels):
        h = height if i == 0 or p.hparam == "difference" else max(3, height // 3)
        run = view.run if i == 0 else None
        values = [c.values[np.isfinite(c.values)] for c in p.curves]
        values += [v for b in p.bands for v in (b.lo, b.hi)]
        if run is not None:
            values.append(run.values[np.isfinite(run.values)])
        values = [v for v in values if v.size]
        if not values:
            out.append(f"{p.ylabel}: no finite values on the range")
            continue
        lo, hi = min(float(v.min()) for v in values), max(float(v.max()) for v in values)
        if i > 0 and p.hparam != "difference" and lo == hi:
            out.append(
                f"{p.ylabel}: {fmt_value(lo)} (constant on {view.xunit}s {fmt_num(view.xlim[0])}..{fmt_num(view.xlim[1])})"
            )
            continue
        marks = _marks(p)
        series = [Series(c.label, c.x, c.values, c.style) for c in p.curves]
        if run is not None:
            series.append(Series(run.label, run.x, run.values, RUN_STYLE))
            if run.first is not None:
                marks = sorted([m for m in marks if m[0] != run.first[0]] + [(run.first[0], "diverges")])
        title = view.title + " · " + p.ylabel if i == 0 else p.ylabel
        if p.hparam == "difference":
            title = f"difference: {view.labels[0]} − {view.labels[1]}"
        common = dict(
            width=width, xlim=view.xlim, log=p.log, xlabel=xlabel, steps=view.steps, charset=charset
        )
        if p.bands:
            out += _band_charts(p, series, view, h, title, marks, color, charset, lo, hi, common)
        elif len(series) == 1 or color:
            out.append(chart(series, height=h, title=title, marks=marks, color=color, **common))
        else:
            ylim = (lo, hi) if not p.log else _log_lim(p)
            each = max(3, h // min(len(series), 3))
            out.append(title)
            for s in series:
                own = _marks(p, s.style) or marks
                out.append(chart([s], height=each, title="  " + s.label, marks=own, ylim=ylim, **common))
        bl = _boundary_line(p, view)
        if bl:
            out.append(bl)
        if p.clipped:
            out.append(f"  note: {p.clipped} values <= 0 are drawn on the bottom row (clipped: log axis)")
        out.append("")
    if view.diff is not None:
        out.append(diff_line(view))
    if view.run is not None:
        out += [sanitize(line) for line in view.run.summary.splitlines()]
    return "\n".join(out).rstrip("\n") + "\n", view


RUN_STYLE = 6  # the run's colour (bright blue) over the plan's
# band characters, outermost first: min-max, 5-95 %, 25-75 %
_BAND_CHARS = {"braille": ("░", "▒", "▓"), "ascii": (".", ":", "=")}


def _band_charts(p: Panel, series: list, view: View, h: int, title: str, marks, color: bool, charset: str,
                 lo: float, hi: float, common: dict) -> list[str]:  # fmt: skip
    """A big sweep as text: one chart of the bands and the median, and the named members (overlaid in colour,
    else one small chart each, on the same axes)."""
    chars = _BAND_CHARS[charset]
    layers = []
    for b in p.bands:
        qs = sorted(b.q)
        pairs = [(b.lo, b.hi)] + [(b.q[a], b.q[z]) for a, z in zip(qs[: len(qs) // 2], qs[::-1][: len(qs) // 2])]
        layers += [(b.x, a, z, ch) for (a, z), ch in zip(pairs, chars)]
    ylim = (lo, hi) if not p.log else _log_lim(p)
    medians = [Series("median", b.x, b.q[0.5], b.style) for b in p.bands if 0.5 in b.q]
    legend = [f"  {b.label}: band of {b.count:,} members at {len(b.k):,} sampled {view.xunit}s: {chars[0]} min-max, "
              f"{chars[1]} 5-95 %, {chars[2]} 25-75 %, line: median" for b in p.bands]  # fmt: skip
    out = [chart(medians, height=h, title=title, marks=marks, color=color, ylim=ylim, bands=layers, **common)]
    out += legend
    if not series:
        return out
    if color:
        out.append(chart(series, height=max(3, h // 2), title="  named members", marks=marks, color=True,
                         ylim=ylim, **common))  # fmt: skip
    else:
        for s in series:
            out.append(chart([s], height=max(3, h // 4), title="  " + s.label, marks=marks, ylim=ylim, **common))
    return out


def _log_lim(p: Panel) -> tuple[float, float]:
    pos = [c.values[c.values > 0] for c in p.curves] + [b.lo[b.lo > 0] for b in p.bands]
    pos += [b.hi[b.hi > 0] for b in p.bands]
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
        jump = "" if b.before is None or b.before == b.after else f"{fmt_value(b.before)}→"
        parts.append(f"{b.kind} @{fmt_num(b.x)}: {jump}{fmt_value(b.after)}")
    first = next((c.label for c in p.curves if c.style == style), view.labels[0])
    head = "  phases: " if len(p.curves) == 1 else f"  phases ({first}): "
    return head + " | ".join(parts)
