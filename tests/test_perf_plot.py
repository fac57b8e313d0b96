"""The terminal plot of a big sweep without jax (issue 13): :func:`schedspec.evaluator.evaluate_host` (numpy,
every member at once) gives :func:`schedspec.evaluate`'s shape and dtype and its values to the last float32 place,
each member's row the member's own (checked against the independent reference); the chart it draws is the chart
the JAX values draw. Correctness only, no timing."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

import schedspec  # noqa: E402
from schedspec import evaluator, plotting  # noqa: E402
from schedspec.plotting.data import _length  # noqa: E402

pytest.importorskip("jax")

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import assert_f64
    from .reference import ref_members, ref_values
except ImportError:
    from helpers import assert_f64
    from reference import ref_members, ref_values

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(glob.glob(str(ROOT / "examples" / "*.yaml")))


def _sweep(order: tuple[str, ...]) -> dict:
    """A sweep over a peak, a warmup length (a duration var: it moves the phase boundary), a floor and a var the
    ``lr`` schedule does not use (its rows repeat), written in ``order``."""
    lists = {"peak": [0.05, 0.1, 0.3], "warm": [5, 20], "floor": [0.0, 0.001], "other": [1, 2]}
    return {
        "schedspec": 1,
        "total": 150,
        "vars": {n: lists[n] for n in order},
        "lr": [{"kind": "linear", "duration": "$warm", "start": 0, "end": "$peak"},
               {"kind": "cosine", "duration": 60, "end": "$floor"}, {"kind": "constant", "value": 0.01}],
        "momentum": [{"kind": "linear", "duration": 40, "start": 0.8, "end": 0.95}, "$other"],
    }  # fmt: skip


def _close(host: np.ndarray, jax_values: np.ndarray, dtype: str) -> None:
    assert host.shape == jax_values.shape and host.dtype == jax_values.dtype
    tol = 3e-7 if dtype == "float32" else 1e-14  # the last place or two of each float format
    np.testing.assert_allclose(host, jax_values, rtol=tol, atol=tol * 1e-3)


@pytest.mark.parametrize("path", EXAMPLES, ids=[Path(p).stem for p in EXAMPLES])
def test_the_examples_on_numpy_equal_evaluate(path):
    spec = schedspec.load(path)
    for hparam in spec.hparams:
        end = _length(spec, hparam) or 1000
        k = np.unique(np.concatenate([np.arange(0, min(end, 3000) + 2), np.linspace(0, end + 1, 500).astype(int)]))
        for dtype in ("float32", "float64"):
            host = evaluator.evaluate_host(spec, k, hparam, dtype)
            if host is None:  # a plateau: its reports are scanned by JAX
                assert "plateau" in Path(path).read_text(encoding="utf-8").lower()
                continue
            _close(host, schedspec.evaluate(spec, k, hparam=hparam, dtype=dtype), dtype)


@pytest.mark.parametrize("order", [("peak", "warm", "floor", "other"), ("other", "floor", "warm", "peak"),
                                   ("warm", "other", "peak", "floor")])  # fmt: skip
def test_every_member_row_is_that_member(order):
    doc = _sweep(order)
    spec = schedspec.load(doc)
    k = np.array([0, 1, 4, 5, 6, 19, 20, 21, 50, 64, 65, 66, 79, 80, 81, 200])
    for hparam in ("lr", "momentum"):
        host = evaluator.evaluate_host(spec, k, hparam, "float64")
        _close(host, schedspec.evaluate(spec, k, hparam=hparam, dtype="float64"), "float64")
        _close(evaluator.evaluate_host(spec, k, hparam, "float32"), schedspec.evaluate(spec, k, hparam=hparam), "float32")
        members = ref_members(doc)
        assert host.shape == (len(members), len(k))
        for j in (0, 5, len(members) // 2, len(members) - 1):
            assert_f64(host[j], ref_values(doc, k.tolist(), hparam, member=members[j]), f"{hparam} {members[j]}")


def test_a_2d_k_and_a_spec_without_sweep_keep_evaluates_shape():
    spec = schedspec.load(str(ROOT / "examples" / "gpt-warmup-cosine.yaml"))
    k = np.arange(12).reshape(3, 4) * 1000
    _close(evaluator.evaluate_host(spec, k), schedspec.evaluate(spec, k), "float32")
    with pytest.raises(ValueError, match="whole"):
        evaluator.evaluate_host(spec, [0.5])


def _big_sweep(tmp_path) -> Path:
    doc = _sweep(("peak", "warm", "floor", "other"))
    doc["vars"]["peak"] = np.geomspace(1e-4, 0.1, 12).round(8).tolist()
    doc["vars"]["warm"] = [5, 10, 15, 20]
    path = tmp_path / "sweep.yaml"  # 12 x 4 x 2 x 2 = 192 members: a band
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_a_band_in_the_terminal_is_the_band_jax_draws(tmp_path):
    """The band (min, max, quantiles) and its named members, as numpy computes them for the terminal and as JAX
    does, to the last float32 place; the same members named, the same steps sampled. (The text itself may differ
    by a dot where a value lies within a float32 place of a row's edge: e.g. a cosine's exact midpoint.)"""
    spec = schedspec.load(_big_sweep(tmp_path))
    _, host = plotting.text([spec], width=90)
    jax_view = plotting.prepare([spec], columns=host_columns(host), backend="jax")
    for a, b in zip(host.panels, jax_view.panels, strict=True):
        assert len(a.bands) == len(b.bands) and len(a.curves) == len(b.curves)
        for x, y in zip(a.bands, b.bands):
            np.testing.assert_array_equal(x.k, y.k)
            for u, v in [(x.lo, y.lo), (x.hi, y.hi), *((x.q[q], y.q[q]) for q in x.q)]:
                np.testing.assert_allclose(u, v, rtol=3e-7, atol=1e-12)
        for x, y in zip(a.curves, b.curves):
            assert x.label == y.label and x.member == y.member
            np.testing.assert_array_equal(x.k, y.k)
            np.testing.assert_allclose(x.values, y.values, rtol=3e-7, atol=1e-12)
    assert host.panels[0].bands


def host_columns(view) -> int:
    """The dot columns ``text`` prepared its view with (width 90: the plot area, two braille dots a cell)."""
    from schedspec.plotting import terminal

    return (90 - terminal.GUTTER - terminal.RIGHT_MARGIN) * 2


def test_a_terminal_plot_of_a_band_imports_no_jax(tmp_path):
    path = _big_sweep(tmp_path)
    code = (f"import sys; from schedspec.cli import main; rc = main(['plot', {str(path)!r}, '--width', '80']);"
            "print(rc, [m for m in ('jax', 'matplotlib') if m in sys.modules])")  # fmt: skip
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.stdout.strip().splitlines()[-1] == "0 []", r.stdout + r.stderr


def test_a_png_of_a_band_imports_no_jax_and_draws_the_numpy_band(tmp_path):
    """The PNG path prepares as the terminal does (``backend="auto"``): a band sweep is evaluated by numpy, so
    ``plot -o x.png`` of a big sweep never imports jax; the figure's band is the band ``prepare`` gives."""
    path = _big_sweep(tmp_path)
    out = tmp_path / "x.png"
    code = (f"import sys; from schedspec.cli import main; rc = main(['plot', {str(path)!r}, '-o', {str(out)!r}]);"
            "print(rc, [m for m in ('jax',) if m in sys.modules])")  # fmt: skip
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.stdout.strip().splitlines()[-1] == "0 []", r.stdout + r.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_backend_is_checked():
    with pytest.raises(schedspec.UsageError, match="backend"):
        plotting.prepare([str(ROOT / "examples" / "sgdr.yaml")], backend="torch")


# ------------------------------------------------------------------------------------------------ --diff of a sweep
def _diff_pair(tmp_path) -> tuple[Path, Path]:
    doc = {"schedspec": 1, "total": 200, "vars": {"peak": [0.01 * i for i in range(1, 9)], "warm": [10, 20, 30, 40, 50]},
           "lr": [{"kind": "linear", "duration": "$warm", "start": 0.0, "end": "$peak"}, {"kind": "cosine", "end": 0.0}]}  # fmt: skip
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(yaml.safe_dump(doc), encoding="utf-8")
    doc["lr"][1]["end"] = 0.0001
    b.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return a, b


def test_diff_of_a_big_sweep_draws_bands(tmp_path, monkeypatch):
    a, b = _diff_pair(tmp_path)
    view = plotting.prepare([a, b], diff=True, columns=200)
    main, difference = view.panels
    assert [(x.label, x.count) for x in main.bands] == [("a.yaml", 40), ("b.yaml", 40)]
    assert [(x.label, x.count) for x in difference.bands] == [("a.yaml − b.yaml", 40)]
    va = schedspec.evaluate(schedspec.load(a), main.bands[0].k, dtype="float64")
    vb = schedspec.evaluate(schedspec.load(b), main.bands[0].k, dtype="float64")
    for band, v in zip([*main.bands, *difference.bands], (va, vb, va - vb)):
        np.testing.assert_array_equal(band.lo, v.min(axis=0))
        np.testing.assert_array_equal(band.hi, v.max(axis=0))
        np.testing.assert_array_equal(band.q[0.5], np.quantile(v, 0.5, axis=0))
    named = [c for c in main.curves if c.spec_index == 0]
    assert {c.member["warm"] for c in named} >= {10, 50} and len(main.curves) == 2 * len(named)
    for c in main.curves:
        rows = {0: va, 1: vb}[c.spec_index]
        j = schedspec.load(a).program.sweep_members().index(c.member)
        np.testing.assert_array_equal(c.values, rows[j])
    # the comparison still covers every step of every member: the same result as drawing every member's curve
    from schedspec.plotting import diff

    monkeypatch.setattr(diff, "BAND_ABOVE", 10_000)
    curves = plotting.prepare([a, b], diff=True, columns=200)
    assert not curves.panels[0].bands and len(curves.panels[0].curves) == 80
    assert view.diff == curves.diff and view.diff.k == 11


def test_diff_bands_are_named_in_both_legends(tmp_path):
    a, b = _diff_pair(tmp_path)
    out, _ = plotting.text([schedspec.load(a), schedspec.load(b)], width=90, diff=True)
    for label in ("a.yaml", "b.yaml", "a.yaml − b.yaml"):
        assert f"  {label}: band of 40 members at " in out
    assert "first difference at step 11" in out
    pytest.importorskip("matplotlib")
    fig, _ = plotting.figure([a, b], diff=True)
    titles = [ax.get_legend().get_title().get_text() for ax in fig.axes if ax.get_legend() is not None]
    assert any("a.yaml: band of 40 members" in t and "b.yaml: band of 40 members" in t for t in titles)
    assert any("a.yaml − b.yaml: band of 40 members" in t for t in titles)
