"""Plots of big sweeps (issue 13) and of a run over its plan (issue 12, ``plot --run``).

- A sweep of more than ``BAND_ABOVE`` members is a band: its quantiles equal ``numpy.quantile`` over the members
  evaluated at the sampled steps, and the sampled steps hold both sides of every phase boundary and the end.
- The log-axis decision (members spanning more than two decades), its override, and values <= 0 on a log axis.
- The terminal chart of 10,000 members stays under 20 kB (a size, not a time).
- Phase and value labels never overlap (matplotlib bounding boxes; the terminal's phase strip).
- ``plot --run LOG`` over CSV and TensorBoard logs written by a real torch loop, and its errors.
"""

from __future__ import annotations

import os

os.environ["MPLBACKEND"] = "Agg"  # before anything imports matplotlib

import importlib
import itertools
import re

import numpy as np
import pytest

import schedspec
from schedspec import plotting
from schedspec.cli import main
from schedspec.plotting import band as _band

_figure = importlib.import_module("schedspec.plotting.figure")  # (the package's `figure` is the function)

pytest.importorskip("matplotlib")
torch = pytest.importorskip("torch")

try:
    from .loops import torch_loop, write_csv
except ImportError:
    from loops import torch_loop, write_csv

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def sweep_text(peaks, warms, total: int, name: str = "band") -> str:
    return (
        "schedspec: 1\n"
        f"name: {name}\n"
        f"total: {total}\n"
        f"vars: {{peak: [{', '.join(f'{float(p):.6g}' for p in peaks)}], warm: [{', '.join(str(w) for w in warms)}]}}\n"
        "lr:\n"
        "  - {kind: linear, duration: $warm, start: 0.0, end: $peak}\n"
        "  - {kind: constant, value: $peak, duration: 7}\n"
        "  - {kind: cosine, end: 0.0}\n"
    )


@pytest.fixture
def write(tmp_path):
    def _write(text: str, name: str = "spec.yaml") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return _write


@pytest.fixture(autouse=True)
def _close_pyplot_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


# --------------------------------------------------------------------------------------------- bands
def test_band_quantiles_equal_numpys_over_the_members_at_the_sampled_steps(write):
    peaks, warms = np.geomspace(1e-3, 1e-1, 8), [3, 10, 17, 40, 101]  # 40 members: above BAND_ABOVE
    spec = schedspec.load(write(sweep_text(peaks, warms, 5000)))
    view = plotting.prepare([spec], columns=100, panels=False)
    (panel,) = view.panels
    (band,) = panel.bands
    assert band.count == 40 > _band.BAND_ABOVE and not band.exact
    values = schedspec.evaluate(spec, band.k).astype(np.float64)  # (members, sampled steps)
    assert values.shape == (40, len(band.k))
    ref = np.quantile(values, _band.QUANTILES, axis=0)
    for q, r in zip(_band.QUANTILES, ref):
        assert np.array_equal(band.q[q], r), q
    assert np.array_equal(band.lo, values.min(axis=0)) and np.array_equal(band.hi, values.max(axis=0))
    # every phase boundary of every member, both sides, and the end step are sampled
    ends = {w for w in warms} | {w + 7 for w in warms}
    for b in ends:
        assert {b - 1, b} <= set(band.k.tolist()), b
    assert band.k[0] == 0 and band.k[-1] == 5000
    assert len(band.k) <= 100 + 2 * len(ends) + 2
    # the named members: first, last, highest and lowest peak, drawn from the same array
    members = spec.program.sweep_members()
    assert len(panel.curves) <= 4
    roles = {c.label.split(" #")[0]: c for c in panel.curves}
    assert set(roles) >= {"first", "last"}
    for c in panel.curves:
        j = members.index(c.member)
        assert np.array_equal(c.values, values[j]) and np.array_equal(c.k, band.k)
    peak_of = np.abs(values).max(axis=1)
    assert any(members.index(c.member) == int(np.argmax(peak_of)) for c in panel.curves)


def test_a_small_sweep_keeps_one_line_per_member_and_a_short_range_samples_every_step(write):
    spec = schedspec.load(write(sweep_text([0.1, 0.2], [3, 5], 100)))
    (panel,) = plotting.prepare([spec], panels=False).panels
    assert not panel.bands and len(panel.curves) == 4
    big = schedspec.load(write(sweep_text(np.linspace(0.1, 0.2, 11), [3, 5, 9], 100), "big.yaml"))
    (band,) = plotting.prepare([big], columns=200, panels=False).panels[0].bands
    assert band.exact and band.k.tolist() == list(range(101))


def test_the_band_figure_says_what_it_draws_and_the_user_names_members(write, capsys, tmp_path):
    path = write(sweep_text(np.linspace(0.01, 0.1, 10), [3, 10, 17, 40], 2000))
    fig, view = plotting.figure([path], panels=False, members=[5, {"peak": "0.1", "warm": "40"}])
    ax = fig.axes[0]
    legend = ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert "band of 40 members" in legend.get_title().get_text()
    assert any(t.startswith("min-max of 40 members") for t in texts)
    assert "5-95 % of members" in texts and "25-75 % of members" in texts and "median of members" in texts
    named = [c.label for c in view.panels[0].curves]
    assert named == ["member #5: band [peak=0.02, warm=10]", "member #39: band [peak=0.1, warm=40]"]
    assert main(["plot", path, "--member", "peak=0.3", "--width", "80"]) == 2
    assert "--member peak=0.3: no member of" in capsys.readouterr().err
    assert main(["plot", path, "--member", "lr=1", "--width", "80"]) == 2
    assert f"--member lr=...: {path} sweeps peak, warm" in capsys.readouterr().err
    assert main(["plot", path, "--member", "40", "--width", "80"]) == 2
    assert "has members 0..39" in capsys.readouterr().err


def test_terminal_chart_of_ten_thousand_members_is_under_20_kB(write, capsys):
    path = write(sweep_text(np.geomspace(1e-4, 1e-1, 100), range(10, 1010, 10), 20000, "big"))
    for extra in (["--color", "never", "--charset", "braille"], ["--color", "always"], ["--charset", "ascii"]):
        assert main(["plot", path, "--width", "100", *extra]) == 0
        out = capsys.readouterr().out
        assert len(out.encode("utf-8")) < 20_000, (extra, len(out.encode("utf-8")))
        assert "band of 10,000 members" in out and "min-max" in out and "25-75 %" in out
        assert "first #0" in out and "last #9999" in out


# --------------------------------------------------------------------------------------------- log axis
def test_a_sweep_spanning_more_than_two_decades_is_drawn_on_a_log_axis(write, capsys):
    example = os.path.join(EXAMPLES, "lr-sweep.yaml")  # 0.1 ... 0.0001
    fig, view = plotting.figure([example])
    ax = fig.axes[0]
    assert view.panels[0].log and ax.get_yscale() == "log"
    fig.draw_without_rendering()
    ys = sorted(ax.transData.transform((50, v))[1] for v in (1e-4, 1e-3, 1e-2, 1e-1))
    assert min(np.diff(ys)) > 50  # four lines, pixels apart (1e-3 and 1e-4 used to be one line at zero)
    # the decision: more than two decades of member peaks; not for one spec, not for two decades exactly
    for lrs, log in (([0.1, 0.001], False), ([0.1, 0.0009], True), ([0.1, 0.05], False)):
        text = f"schedspec: 1\ntotal: 10\nvars: {{lr0: {lrs}}}\nlr: {{kind: constant, value: $lr0}}\n"
        assert plotting.prepare([write(text, "c.yaml")]).panels[0].log is log, lrs
    single = "schedspec: 1\ntotal: 100\nlr: [{kind: linear, duration: 10, start: 0.0, end: 0.1}, {kind: cosine, end: 0.0}]\n"
    assert plotting.prepare([write(single, "one.yaml")]).panels[0].log is False
    # an explicit option overrides
    assert plotting.prepare([example], log=False).panels[0].log is False
    assert plotting.prepare([write(single, "one.yaml")], log=True).panels[0].log is True
    assert main(["plot", example, "--yscale", "linear", "--width", "70", "--height", "8"]) == 0
    linear = capsys.readouterr().out
    assert main(["plot", example, "--width", "70", "--height", "8"]) == 0
    auto = capsys.readouterr().out
    assert linear != auto and " 0.0001 ┤" in auto and "      0 ┤" not in auto


def test_values_at_or_below_zero_on_a_log_axis_are_clipped_and_said_so(write, capsys, tmp_path):
    path = write(sweep_text([0.1, 0.0001], [5, 9], 200))  # warmups from 0 and a cosine to 0, on a log axis
    fig, view = plotting.figure([path], panels=False)
    panel = view.panels[0]
    assert panel.log and panel.clipped > 0
    ax = fig.axes[0]
    zeros = sum(int(np.count_nonzero(np.asarray(ln.get_ydata()) <= 0)) for ln in ax.get_lines())
    assert zeros > 0  # the data stay true values; matplotlib clips them to the bottom edge
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"{panel.clipped} values <= 0: drawn at the bottom edge (clipped: log axis)" in texts
    assert plotting.render(fig, "png")[:4] == b"\x89PNG"
    assert main(["plot", path, "--width", "70"]) == 0
    assert "values <= 0 are drawn on the bottom row (clipped: log axis)" in capsys.readouterr().out
    assert main(["plot", path, "-o", str(tmp_path / "z.svg"), "--log"]) == 0


# --------------------------------------------------------------------------------------------- labels
CROWDED = """\
schedspec: 1
name: crowded
lr:
  - {kind: linear, duration: 3, start: 0.0, end: 0.1}
  - {kind: constant, value: 0.1001, duration: 2}
  - {kind: linear, duration: 2, start: 0.0999, end: 0.1002}
  - {kind: exponential, start: 0.1003, gamma: 0.99, duration: 2}
  - {kind: cosine, start: 0.1, end: 0.0998, duration: 3}
  - {kind: constant, value: 0.05, duration: 400}
"""


def _boxes(fig):
    renderer = fig.canvas.get_renderer()
    return [(t.get_text(), t.get_window_extent(renderer))
            for ax in fig.axes for t in ax.texts if t.get_gid() in ("phase", "value") and t.get_visible()]  # fmt: skip


def test_phase_and_value_labels_do_not_overlap_in_the_figure(write, monkeypatch):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = write(CROWDED)
    monkeypatch.setattr(_figure, "drop_overlapping_labels", lambda fig: 0)
    crowded, _ = plotting.figure([path], panels=False)
    FigureCanvasAgg(crowded)
    crowded.draw_without_rendering()
    boxes = _boxes(crowded)
    assert any(a.overlaps(b) for (_, a), (_, b) in itertools.combinations(boxes, 2))  # without the rule: overlaps
    monkeypatch.undo()
    kept = {}
    for spec in (path, os.path.join(EXAMPLES, "lr-sweep.yaml")):
        fig, _ = plotting.figure([spec], panels=False)
        fig.draw_without_rendering()
        kept[spec] = _boxes(fig)
        pairs = itertools.combinations(kept[spec], 2)
        assert kept[spec] and not [(a, b) for (a, x), (b, y) in pairs if x.overlaps(y)]
    texts = [t.strip() for t, _ in kept[path]]
    assert "constant" in texts and len(kept[path]) < len(boxes)  # the long phase is named; crowded values dropped


def test_phase_labels_in_the_terminal_are_cut_never_overwritten(write, capsys):
    argv = ["plot", write(CROWDED), "--at", "0:40", "--width", "60", "--charset", "ascii", "--color", "never"]
    assert main(argv) == 0
    strip = capsys.readouterr().out.splitlines()[1]
    pieces = strip.strip().split("|")[1:]
    kinds = ["linear", "constant", "linear", "exponential", "cosine", "constant"]
    assert len(pieces) == len(kinds), strip  # one tick per phase, in order
    for piece, kind in zip(pieces, kinds):
        assert piece and kind.startswith(piece.rstrip().rstrip("…")), (piece, kind)  # a prefix: cut, not overwritten
    assert pieces[-1] == "constant"


# --------------------------------------------------------------------------------------------- --run
RUN_SPEC = """\
schedspec: 1
name: warmup-cosine
steps_per_epoch: 4
lr:
  - {kind: linear, duration: 4, start: 0.0, end: 0.1}
  - {kind: cosine, duration: 20, end: 0.0}
"""
N = 24


def test_run_overlay_marks_the_divergence_in_the_figure_and_the_terminal(write, tmp_path, capsys):
    spec_file = write(RUN_SPEC)
    rows = torch_loop(schedspec.load(spec_file), N, mode="restart@10")  # resumed without the scheduler's state
    log = write_csv(tmp_path / "restart.csv", rows)
    from schedspec._verify import verify

    report = verify(spec_file, log)
    assert report.first[0] == 10
    fig, view = plotting.figure([spec_file], run=str(log), panels=False)
    run = view.run
    assert run.first[0] == 10 and run.step == 10 and run.n_differ == report.n_differ
    ax = fig.axes[0]
    (line,) = [ln for ln in ax.get_lines() if ln.get_gid() == "run"]
    assert np.array_equal(line.get_ydata(), [v for _, v in rows]) and np.array_equal(line.get_xdata(), range(N))
    vlines = [ln for ln in ax.get_lines() if (ln.get_label() or "").startswith("first divergence: 10 ")]
    assert vlines and list(vlines[0].get_xdata()) == [10, 10]
    assert "run leaves the plan at step 10 (log step 10)" in ax.get_title(loc="left")
    assert main(["plot", spec_file, "--run", str(log), "--width", "80", "--charset", "ascii"]) == 0
    out = capsys.readouterr().out
    assert "|diverges" in out and "first divergence at step 10" in out and "restarted from step 0 at step 10" in out
    assert main(["plot", spec_file, "--run", str(log), "-o", str(tmp_path / "run.png")]) == 0
    assert "first divergence at step 10" in capsys.readouterr().out
    ax = schedspec.plot(spec_file, run=str(log))  # the axes API draws the same overlay
    assert [ln.get_gid() for ln in ax.get_lines()].count("run") == 1 and ax.get_legend() is not None
    right = write_csv(tmp_path / "right.csv", torch_loop(schedspec.load(spec_file), N))
    _, view = plotting.figure([spec_file], run=str(right))
    assert view.run.first is None and view.run.n == N


def test_run_overlay_reads_a_tensorboard_log(write, tmp_path, capsys):
    from torch.utils.tensorboard import SummaryWriter

    spec_file = write(RUN_SPEC)
    rows = torch_loop(schedspec.load(spec_file), N, mode="early")  # scheduler.step() before optimizer.step()
    with SummaryWriter(str(tmp_path / "tb")) as w:
        for s, v in rows:
            w.add_scalar("train/lr", v, s)
            w.add_scalar("train/loss", 1.0, s)
    _, view = plotting.figure([spec_file], run=str(tmp_path / "tb"))
    from schedspec._verify import verify

    assert view.run.step == verify(spec_file, str(tmp_path / "tb")).first[0] is not None
    assert np.allclose(view.run.values, np.float32([v for _, v in rows]))
    with SummaryWriter(str(tmp_path / "nolr")) as w:
        for s, v in rows:
            w.add_scalar("train/lrate", v, s)
    code = main(["plot", spec_file, "--run", str(tmp_path / "nolr"), "--width", "80"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "Traceback" not in err
    assert "no column for `lr`" in err and "it has: train/lrate" in err and "did you mean 'train/lrate'?" in err
    assert "name it with --column" in err
    assert main(["plot", spec_file, "--run", str(tmp_path / "nolr"), "--column", "train/lrate", "--width", "80"]) == 0


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "--run {tmp}/missing.csv: cannot read the file: No such file or directory"),
        ("empty", "--run {tmp}/empty.csv: the file is empty"),
        ("text", "--run {tmp}/text.csv:3: 'abc' is not a number (column 'lr')"),
        ("nolr", "--run {tmp}/nolr.csv: no column for `lr` (looked for lr, learning_rate"),
        ("didyoumean", "it has: step, learning-rate); did you mean 'learning-rate'? name it with --column"),
        ("column-alone", "--column and --logged-as describe the --run log; give --run LOG"),
        ("two-specs", "--run compares the run with one spec (got 2)"),
    ],
)
def test_run_errors_are_one_positioned_line(write, tmp_path, capsys, case, message):
    spec_file = write(RUN_SPEC)
    files = {"empty.csv": "", "text.csv": "step,lr\n0,0.0\n1,abc\n", "nolr.csv": "step,loss\n0,1.0\n",
             "dym.csv": "step,learning-rate\n0,0.0\n"}  # fmt: skip
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    run = {"missing": "missing.csv", "empty": "empty.csv", "text": "text.csv", "nolr": "nolr.csv",
           "didyoumean": "dym.csv"}.get(case)  # fmt: skip
    argv = ["plot", spec_file, "--width", "80"]
    if case == "column-alone":
        argv += ["--column", "lr"]
    elif case == "two-specs":
        argv = ["plot", spec_file, spec_file, "--run", str(tmp_path / "nolr.csv")]
    else:
        argv += ["--run", str(tmp_path / run)]
    code = main(argv)
    cap = capsys.readouterr()
    err = cap.err.strip()
    assert code == 2 and err.count("\n") == 0 and "Traceback" not in err, err
    assert message.format(tmp=tmp_path) in err, err
    assert not cap.out
    assert re.match(r"^schedspec plot: ", err)
