"""Plots (issue 4): what a person sees in PNG/SVG/PDF, the terminal chart, notebooks, and every bad input.

The plotted line data is read back from matplotlib's ``Line2D`` objects and compared with ``schedspec.evaluate``
at the plotted steps; long schedules are checked to keep every spike and their true extremes in the envelope.
"""

from __future__ import annotations

import os

os.environ["MPLBACKEND"] = "Agg"  # before anything imports matplotlib

import io
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedspec
from schedspec import plotting
from schedspec.cli import main
from schedspec.plotting import terminal as _termplot

pytest.importorskip("matplotlib")

SNAPSHOTS = Path(__file__).parent / "snapshots"

WARM = """\
schedspec: 1
name: warmup-cosine
description: linear warmup for one epoch, then cosine to 1e-3
total: 10ep
steps_per_epoch: 100
vars:
  peak: 0.1
lr:
  - {kind: linear, duration: 1ep, start: 0.0, end: $peak}
  - {kind: cosine, end: 0.001}
momentum:
  - {kind: linear, duration: 1ep, start: 0.85, end: 0.95}
  - {kind: constant, value: 0.95}
weight_decay: 0.05
"""

OTHER = """\
schedspec: 1
name: warmup-cosine-to-zero
total: 1000
steps_per_epoch: 100
lr:
  - {kind: linear, duration: 100, start: 0.0, end: 0.1}
  - {kind: cosine, end: 0.0}
"""

SWEEP = """\
schedspec: 1
name: sweep
total: 100
vars: {peak: [0.1, 0.2], warm: [10, 30]}
lr:
  - {kind: linear, duration: $warm, start: 0.0, end: $peak}
  - {kind: cosine, end: 0.0}
"""

# 10**7 steps: a cyclic phase (period 11110, not a divisor of any column width) with a jump into it, then a
# one-step spike in a flat stretch. Naive subsampling misses the spike and the exact extremes.
LONG = """\
schedspec: 1
name: long-cyclic
total: 10000000
lr:
  - {kind: linear, duration: 50000, start: 0.0, end: 0.1}
  - {kind: cyclic, low: 0.001, high: 0.3, up: 7777, down: 3333, duration: 5000000}
  - {kind: constant, value: 0.02, duration: 2500001}
  - {kind: constant, value: 0.5, duration: 1}
  - {kind: constant, value: 0.02}
"""

OPEN = """\
schedspec: 1
name: never-ends
lr: {kind: exponential, start: 0.1, gamma: 0.99}
"""

EPOCHS = """\
schedspec: 1
name: per-epoch
interval: epoch
steps_per_epoch: 50
total: 12
lr: {kind: step, start: 0.1, every: 4, gamma: 0.5}
"""


@pytest.fixture(autouse=True)
def _close_pyplot_figures():
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture
def write(tmp_path):
    def _write(text: str, name: str = "spec.yaml") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return _write


def curve_lines(ax):
    """The schedule lines drawn on ``ax`` (markers for boundary values are separate lines without a gid)."""
    return [ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("curve-")]


def png_size_and_colours(data: bytes) -> tuple[tuple[int, int], int]:
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    img.load()
    arr = np.asarray(img.convert("RGB"))
    return img.size, len(np.unique(arr.reshape(-1, 3), axis=0))


# --------------------------------------------------------------------------------------------- files
@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_cli_writes_each_format_at_the_requested_size(write, tmp_path, capsys, ext):
    spec = write(WARM)
    out = tmp_path / f"plot.{ext}"
    assert main(["plot", spec, "-o", str(out), "--size", "800x600"]) == 0
    assert f"wrote {out}" in capsys.readouterr().err
    data = out.read_bytes()
    if ext == "png":
        size, colours = png_size_and_colours(data)
        assert size == (800, 600)
        assert colours > 20  # not blank: curves, text, grid, markers in several colours
    elif ext == "svg":
        root = ET.fromstring(data)
        assert root.tag.endswith("svg")
        assert (root.get("width"), root.get("height")) == ("576pt", "432pt")  # 800x600 px at 100 dpi
        assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 10
    else:
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
        box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
        assert box and (float(box[1]), float(box[2])) == (576.0, 432.0)
        assert len(data) > 5000


def test_svg_names_what_is_plotted(write, tmp_path):
    spec, other = write(WARM), write(OTHER, "other.yaml")
    out = tmp_path / "two.svg"
    assert main(["plot", spec, other, "-o", str(out)]) == 0
    svg = out.read_text()
    texts = {
        "".join(t.itertext()).strip() for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")
    }
    for expected in [
        "warmup-cosine vs warmup-cosine-to-zero",  # title
        "warmup-cosine",  # legend
        "warmup-cosine-to-zero",
        "learning rate (lr)",  # y label
        "momentum",  # its own panel
        "weight_decay",
        "step (optimizer update)",  # x label
        "epoch",  # secondary axis
        "linear",  # phase kinds at the boundaries
        "cosine",
        "0.1",  # the value at the end of the warmup
    ]:
        assert expected in texts, (expected, sorted(texts))


def test_sweep_members_are_named_in_the_legend(write):
    fig, view = plotting.figure([write(SWEEP)])
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "sweep [peak=0.1, warm=10]",
        "sweep [peak=0.1, warm=30]",
        "sweep [peak=0.2, warm=10]",
        "sweep [peak=0.2, warm=30]",
    ]
    # colour and dash pattern both differ, so the curves survive greyscale printing
    lines = curve_lines(ax)
    assert len({ln.get_color() for ln in lines}) == 4
    assert (
        len(
            {
                str(ln.get_linestyle()) + str(ln.get_dashes() if hasattr(ln, "get_dashes") else "")
                for ln in lines
            }
        )
        == 4
    )


# --------------------------------------------------------------------------------------------- data
def test_every_plotted_point_is_the_evaluated_value(write):
    spec = schedspec.load(write(WARM))
    fig, view = plotting.figure([spec])
    assert [ax.get_ylabel() for ax in fig.axes[:3]] == ["learning rate (lr)", "momentum", "weight_decay"]
    for ax, hparam in zip(fig.axes[:3], ["lr", "momentum", "weight_decay"]):
        (line,) = curve_lines(ax)
        k = np.asarray(line.get_xdata())
        assert np.array_equal(k, np.arange(1001))  # short schedule: every step, exactly
        expected = schedspec.evaluate(spec, k.astype(np.int64), hparam=hparam).astype(np.float64)
        assert np.array_equal(np.asarray(line.get_ydata()), expected)
        assert line.get_drawstyle() == "steps-post"  # value(k) holds until k + 1


def test_sweep_lines_equal_each_member(write):
    spec = schedspec.load(write(SWEEP))
    fig, _ = plotting.figure([spec])
    lines = curve_lines(fig.axes[0])
    values = schedspec.evaluate(spec, np.arange(101))
    assert values.shape == (4, 101)
    for row, line in zip(values, lines):
        assert np.array_equal(line.get_xdata(), np.arange(101))
        assert np.array_equal(line.get_ydata(), row.astype(np.float64))


def test_plot_api_draws_into_the_given_axes(write):
    from matplotlib.figure import Figure

    spec = schedspec.load(write(WARM))
    fig = Figure()
    ax = fig.add_subplot()
    assert schedspec.plot(spec, ax=ax, hparam="momentum", at="50:150") is ax
    (line,) = curve_lines(ax)
    assert np.array_equal(line.get_xdata(), np.arange(50, 150))
    assert np.array_equal(
        line.get_ydata(), schedspec.evaluate(spec, np.arange(50, 150), hparam="momentum").astype(float)
    )
    assert ax.get_ylabel() == "momentum" and ax.get_xlabel() == "step (optimizer update)"
    texts = [t.get_text() for t in ax.texts]
    assert " constant" in texts  # the phase starting at step 100 is labelled with its kind


def test_epoch_axis_and_log_scale(write):
    spec = schedspec.load(write(WARM))
    fig, view = plotting.figure([spec], x="epoch", log=True, panels=False)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    (line,) = curve_lines(ax)
    x = np.asarray(line.get_xdata())
    k = np.rint(x * 100).astype(np.int64)
    assert np.allclose(x, k / 100)
    assert np.array_equal(line.get_ydata(), schedspec.evaluate(spec, k).astype(float))
    assert ax.get_xlim() == (0.0, 10.0)
    assert view.secondary == ("step", 100.0)


def test_epoch_interval_spec_on_a_step_axis(write):
    spec = schedspec.load(write(EPOCHS))
    fig, view = plotting.figure([spec], x="step")
    (line,) = curve_lines(fig.axes[0])
    assert np.array_equal(line.get_xdata(), np.arange(13) * 50)
    assert np.array_equal(line.get_ydata(), schedspec.evaluate(spec, np.arange(13)).astype(float))
    assert view.secondary == ("epoch", 1 / 50)


def test_ten_million_steps_keep_every_spike_and_the_true_extremes(write):
    spec = schedspec.load(write(LONG))
    n = 10_000_001
    columns = 1000
    view = plotting.prepare([spec], columns=columns, panels=False)
    (curve,) = view.panels[0].curves
    assert not curve.exact and len(curve.k) <= 4 * columns
    # every plotted point is a true sample
    assert np.array_equal(curve.values, schedspec.evaluate(spec, curve.k).astype(float))
    full = np.concatenate(
        [schedspec.evaluate(spec, np.arange(a, min(a + 2**21, n))) for a in range(0, n, 2**21)]
    )
    assert curve.values.min() == full.min() == np.float32(0.0)
    assert curve.values.max() == full.max() == np.float32(0.5)  # the one-step spike at 7,550,001
    assert 7_550_001 in curve.k.tolist()
    # per column, the envelope has the column's exact min and max (what the pixels show)
    s = -(-n // columns)
    cols = curve.k // s
    for c in [0, 4, 5, 250, 499, 500, 755, 999]:
        block = full[c * s : (c + 1) * s]
        mine = curve.values[cols == c]
        assert mine.min() == block.min() and mine.max() == block.max(), c
    # ... which naive subsampling at the same resolution does not
    naive = full[np.linspace(0, n - 1, 4 * columns).astype(np.int64)]
    assert naive.max() < 0.5


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(1, 3000),
    columns=st.integers(1, 200),
    rows=st.integers(1, 3),
    start=st.integers(0, 50),
    step=st.integers(1, 7),
    seed=st.integers(0, 2**32 - 1),
)
def test_envelope_keeps_each_columns_extremes_and_only_true_points(n, columns, rows, start, step, seed):
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((rows, n)).astype(np.float32)
    data[:, rng.integers(0, n, size=3)] *= 100  # spikes
    grid = plotting._Grid(start, step, n)

    def evalf(k):
        return data[:, (k - start) // step]

    out, exact = plotting._scan(evalf, grid, columns)
    assert exact == (n <= 4 * columns) and len(out) == rows
    s = 1 if exact else -(-n // columns)
    for r, (k, v) in enumerate(out):
        i = (k - start) // step
        assert np.all(np.diff(k) > 0) and i[0] == 0 and i[-1] == n - 1
        assert np.array_equal(v, data[r, i].astype(np.float64))  # true samples only
        assert len(k) <= (n if exact else 4 * columns)
        for c in range(-(-n // s)):
            mine = v[i // s == c]
            block = data[r, c * s : (c + 1) * s]
            assert mine.min() == block.min() and mine.max() == block.max()


def test_short_schedule_is_plotted_at_every_step_and_long_one_is_reduced(write):
    spec = schedspec.load(write(OPEN))
    exact = plotting.prepare([spec], at="0:400", columns=100).panels[0].curves[0]
    assert exact.exact and np.array_equal(exact.k, np.arange(400))
    reduced = plotting.prepare([spec], at="0:401", columns=100).panels[0].curves[0]
    assert not reduced.exact and reduced.k[0] == 0 and reduced.k[-1] == 400
    # a monotone schedule keeps the first and last step of each column
    assert np.array_equal(reduced.values, schedspec.evaluate(spec, reduced.k).astype(float))


def test_only_draws_one_panel_and_a_range_past_the_end_shows_the_hold(write, tmp_path):
    spec = schedspec.load(write(WARM))
    fig, view = plotting.figure([spec], panels=False, at="900:1500")
    assert len(fig.axes) == 1 and fig.axes[0].get_xlim() == (900.0, 1499.0)
    (line,) = curve_lines(fig.axes[0])
    y = np.asarray(line.get_ydata())
    assert np.all(y[np.asarray(line.get_xdata()) >= 1000] == np.float32(0.001))
    assert [b.kind for b in view.panels[0].boundaries] == ["hold"]
    out = tmp_path / "only.png"
    assert main(["plot", str(spec.file), "--only", "-o", str(out), "--size", "600x300"]) == 0
    assert png_size_and_colours(out.read_bytes())[0] == (600, 300)


def test_at_with_a_stride_plots_that_grid_as_straight_segments(write):
    spec = schedspec.load(write(WARM))
    ax = schedspec.plot(spec, at="0:1000:10")
    (line,) = curve_lines(ax)
    assert np.array_equal(line.get_xdata(), np.arange(0, 1000, 10))
    assert line.get_drawstyle() == "default"


# --------------------------------------------------------------------------------------------- diff
def test_diff_prints_the_first_differing_step_and_plots_the_difference(write, tmp_path, capsys):
    a, b = write(WARM, "a.yaml"), write(OTHER, "b.yaml")
    out = tmp_path / "diff.png"
    assert main(["plot", a, b, "--diff", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("first difference at step 101: warmup-cosine = 0.0999")
    sa, sb = schedspec.load(a), schedspec.load(b)
    fig, view = plotting.figure([sa, sb], diff=True)
    assert view.diff.k == 101
    va, vb = (schedspec.evaluate(s, np.arange(1001), dtype="float64") for s in (sa, sb))
    assert np.array_equal(va[:101], vb[:101]) and va[101] != vb[101]
    (d,) = curve_lines(fig.axes[1])
    assert np.array_equal(d.get_ydata(), va - vb)
    assert fig.axes[1].get_ylabel() == "difference (lr)"
    size, colours = png_size_and_colours(out.read_bytes())
    assert size == (1200, 780) and colours > 20


def test_diff_of_equal_specs_says_so(write, capsys):
    a = write(WARM, "a.yaml")
    assert main(["plot", a, a, "--diff", "--width", "60"]) == 0
    assert "are equal at every step in 0..1000 (1001 compared; tolerance 1e-12*peak + 1e-10*|v|, float64)\n" in (
        capsys.readouterr().out
    )


# --------------------------------------------------------------------------------------------- terminal
def test_terminal_chart_snapshot(write, capsys):
    spec = write(WARM)
    assert (
        main(["plot", spec, "--width", "72", "--height", "12", "--charset", "braille", "--color", "never"])
        == 0
    )
    got = capsys.readouterr().out
    expected = (SNAPSHOTS / "plot_warmup_cosine_72.txt").read_text(encoding="utf-8")
    assert got == expected


def test_terminal_chart_ascii_snapshot(write, capsys):
    spec = write(SWEEP)
    assert (
        main(["plot", spec, "--width", "60", "--height", "8", "--charset", "ascii", "--color", "never"]) == 0
    )
    got = capsys.readouterr().out
    expected = (SNAPSHOTS / "plot_sweep_ascii_60.txt").read_text(encoding="utf-8")
    assert got == expected


def test_terminal_width_follows_the_terminal(write, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "50")
    monkeypatch.setenv("LINES", "20")
    assert main(["plot", write(WARM), "--color", "never"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 50
    assert any(len(line) >= 45 for line in lines)


def test_terminal_chart_shows_the_spike_of_ten_million_steps(write, capsys):
    assert main(["plot", write(LONG), "--width", "80", "--color", "never", "--charset", "ascii"]) == 0
    out = capsys.readouterr().out
    assert "      0.5 +" in out  # the top row is labelled with the true maximum
    top = next(line for line in out.splitlines() if line.startswith("      0.5 +"))
    assert "*" in top  # ... and something is drawn there


def test_colour_overlays_curves_with_a_legend(write, capsys):
    assert main(["plot", write(SWEEP), "--width", "70", "--color", "always"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[34m" in out and "\x1b[31m" in out
    assert "sweep [peak=0.2, warm=30]" in out


def test_chart_draws_jumps_as_vertical_runs():
    series = _termplot.Series("s", np.array([0.0, 4.0, 5.0, 9.0]), np.array([0.0, 0.0, 1.0, 1.0]))
    text = _termplot.chart(
        [series], width=_termplot.GUTTER + _termplot.RIGHT_MARGIN + 10, height=2, xlim=(0, 9), charset="ascii"
    )
    rows = text.splitlines()
    assert rows[0] == "        1 +     *****"
    assert rows[1] == "        0 +******"


def test_sparkline():
    assert _termplot.sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8) == "▁▂▃▄▅▆▇█"
    # ten groups of ten; each shows its maximum 10i+9 on levels round((10i+9)/99*7) = 1,1,2,3,3,4,5,6,6,7
    assert _termplot.sparkline(range(100), 10) == "▂▂▃▄▄▅▆▇▇█"
    assert _termplot.sparkline([0, 0, 9, 0, 0, 0], 3) == "▁█▁"  # the spike is not averaged away
    assert _termplot.sparkline([2.0, 2.0, 2.0], 5) == "▄▄▄"
    assert _termplot.sparkline([0.0, float("nan"), 1.0], 3) == "▁ █"
    assert _termplot.sparkline([], 4) == ""
    with pytest.raises(ValueError, match="width must be >= 1"):
        _termplot.sparkline([1.0], 0)


# --------------------------------------------------------------------------------------------- notebook
def test_repr_svg_is_an_svg_plot_of_the_spec(write):
    spec = schedspec.load(write(WARM))
    svg = spec._repr_svg_()
    assert svg is not None and svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert ">warmup-cosine<" in svg and "learning rate (lr)" in svg and ">momentum<" in svg
    open_spec = schedspec.loads(OPEN)
    assert "never-ends (never ends; first 100 steps)" in plotting.repr_svg(open_spec)
    plateau = schedspec.loads(
        "schedspec: 1\ntotal: 10\nlr: {kind: plateau, start: 0.1, monitor: val_loss, every: 1}\n"
    )
    assert plotting.repr_svg(plateau) is None


# --------------------------------------------------------------------------------------------- errors
def _fails(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0, err  # one line
    return code, err.strip()


@pytest.mark.parametrize(
    "case, code, message",
    [
        ("extension", 2, "unknown output format '.jpg'; use .png, .svg or .pdf"),
        ("folder", 2, "cannot write"),
        ("at-after-end", 2, "ends at step 1000; the range must start at or before it"),
        ("unknown-var", 1, "unknown var 'nope'"),
        ("never-ends", 2, "give --at A:B"),
        ("diff-one", 2, "--diff compares exactly two specs (got 1)"),
        ("hparam", 1, "the spec has no `beta` schedule"),
        ("width", 2, "--width must be at least"),
        ("size", 2, "--size expects WxH"),
        ("epoch-axis", 2, "cannot be drawn on an epoch axis; use --x step or set steps_per_epoch"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(write, tmp_path, capsys, case, code, message):
    spec = write(WARM)
    target = tmp_path / "out.png"
    argv = {
        "extension": ["plot", spec, "-o", str(tmp_path / "out.jpg")],
        "folder": ["plot", spec, "-o", str(tmp_path / "missing" / "out.png")],
        "at-after-end": ["plot", spec, "--at", "2000:3000", "-o", str(target)],
        "unknown-var": ["plot", spec, "--set", "nope=1", "-o", str(target)],
        "never-ends": ["plot", write(OPEN, "open.yaml"), "-o", str(target)],
        "diff-one": ["plot", spec, "--diff", "-o", str(target)],
        "hparam": ["plot", spec, "--hparam", "beta", "-o", str(target)],
        "width": ["plot", spec, "--width", "10"],
        "size": ["plot", spec, "--size", "big", "-o", str(target)],
        "epoch-axis": ["plot", write(OPEN, "open.yaml"), "--at", "0:10", "--x", "epoch", "-o", str(target)],
    }[case]
    got, err = _fails(argv, capsys)
    assert got == code and message in err, err
    assert {p.name for p in tmp_path.iterdir()} <= {"spec.yaml", "open.yaml"}  # no plot, no temporary file


def test_write_failure_leaves_no_partial_file(write, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, err = _fails(["plot", write(WARM), "-o", str(blocker / "out.svg")], capsys)
    assert code == 2 and "cannot write" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "spec.yaml"]


def test_missing_matplotlib_names_the_extra(write, tmp_path):
    spec = write(WARM)
    script = tmp_path / "blocked.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            sys.modules["matplotlib"] = None  # as if it were not installed
            from schedspec.cli import main
            code = main(sys.argv[1:])
            import schedspec
            assert schedspec.load(sys.argv[2])._repr_svg_() is None
            sys.exit(code)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = tmp_path / "x.png"
    res = subprocess.run(
        [sys.executable, str(script), "plot", spec, "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip() == (
        "schedspec: Missing optional dependency 'matplotlib'. Install it with: pip install 'schedspec[plot]'"
    )
    assert not out.exists()
    # the terminal chart needs no matplotlib
    res = subprocess.run(
        [sys.executable, str(script), "plot", spec, "--width", "60"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "warmup-cosine · learning rate (lr)" in res.stdout


def test_importing_plotting_does_not_import_matplotlib():
    code = "import schedspec, schedspec.plotting, schedspec.plotting.terminal, schedspec.cli.plot, sys; print('matplotlib' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.stdout.strip() == "False", res.stderr
