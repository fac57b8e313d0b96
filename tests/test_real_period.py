"""A ``repeat`` with a real cycle length (``period: "<D>/<c>"``) and a shifted clock (``shift``), issue 11.

Against tests/reference.py (the independent float64 oracle, exact Fractions for every boundary): the evaluators in
float64 and float32, the torch adapter (Python floats) and the emitted modules, at k = b-1, b, b+1 of every real
boundary and at huge k (up to 2**31 - 1); float32 never NaN and never outside the cosine's endpoints; the held end
exact after ``times``; positioned errors; fingerprints; ``check``'s exact range and its table. Every target is in
tests/test_feature_matrix.py (``repeat_real_period``, ``repeat_shift``); the random documents of
tests/strategies.py draw both fields. HF's own functions against the dialect: tests/test_dialect_transformers.py.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import schedspec  # noqa: E402
from schedspec import _compile, analysis  # noqa: E402

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import assert_f32, assert_f64, load_module
    from .reference import ref_values
except ImportError:
    from helpers import assert_f32, assert_f64, load_module
    from reference import ref_values

HUGE = [2**31 - 3, 2**31 - 2, 2**31 - 1, 10**9 + 7, 123_456_789]
WAVE = "[{kind: cosine, start: 1.0, end: 0.1, duration: 1}, {kind: cosine, start: 0.1, end: 1.0, duration: 1}]"


def _spec(text: str) -> tuple[schedspec.Spec, dict]:
    body = "schedspec: 1\n" + text
    return schedspec.loads(body, "real.yaml"), yaml.safe_load(body)


def _real_boundaries(length: Fraction, shift: int, count: int) -> list[int]:
    """k = b-1, b, b+1 around the first steps of the first ``count`` cycles (b = ceil(i * length) - shift)."""
    out = set()
    for i in range(count):
        b = math.ceil(i * length) - shift
        out |= {b - 1, b, b + 1}
    return sorted(k for k in out if 0 <= k < 2**31)


CASES = {
    # HF cosine num_cycles 1.5, N - W = 26: a wave of period 52/3 (half waves of 26/3)
    "hf-wave": ('lr: {kind: repeat, period: "26/1.5", of: ' + WAVE + "}\n", Fraction(26, 3), 0),
    # restarts at real boundaries, `times` then the held end, a decay
    "restarts": ('lr: [{kind: repeat, period: "22/3", times: 3, decay: 0.5, of: {kind: cosine, start: 1.0, end: 0.0, '
                 "duration: 4}}, {kind: constant, value: 0.25}]\n", Fraction(22, 3), 0),
    "shifted-wave": ("lr: {kind: repeat, shift: 1, of: " + WAVE.replace("duration: 1", "duration: 9") + "}\n",
                     Fraction(9), 1),
    "shift-and-period": ('lr: {kind: repeat, period: "10/0.3", shift: 7, times: 4, of: {kind: linear, start: 1.0, '
                         "end: 0.0, duration: 3}}\n", Fraction(100, 3), 7),
    "shorter-than-a-step": ('lr: {kind: repeat, period: "2/3", decay: 0.999, of: ' + WAVE + "}\n", Fraction(1, 3), 0),
    "window-beyond-2**31": ('lr: {kind: repeat, period: "2000000000/0.7", shift: 5, of: ' + WAVE + "}\n",
                            Fraction(20_000_000_000, 7), 5),
    "many-cycles-per-window": ('lr: {kind: repeat, period: "50/7.13", shift: 3, of: ' + WAVE + "}\n",
                               Fraction(5000, 713), 3),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_real_period_equals_the_reference_at_every_boundary_and_huge_k(name, tmp_path):
    text, length, shift = CASES[name]
    spec, data = _spec(text)
    ks = sorted(set(range(0, 120)) | set(_real_boundaries(length, shift, 40)) | set(HUGE))
    ref = np.asarray(ref_values(data, ks), np.float64)
    assert_f64(schedspec.evaluate(spec, ks, dtype="float64"), ref, f"{name} evaluate float64")
    f32 = np.asarray(schedspec.evaluate(spec, ks, dtype="float32"), np.float64)
    assert np.isfinite(f32).all()
    assert_f32(f32, ref, f"{name} evaluate float32")
    lo = 0.1 if text.count("0.1") == 2 and "decay" not in text else 0.0  # a wave between 0.1 and 1.0, undecayed
    assert (f32 >= np.float32(lo)).all() and (f32 <= 1.0).all()  # never outside the cosines' endpoints
    fn = _compile.scalar_fn(spec.program.hparams["lr"])  # the torch adapter's path (Python floats)
    assert_f64([fn(k) for k in ks], ref, f"{name} scalar")
    mod = load_module(schedspec.emit(spec, "jax"), tmp_path)
    assert_f32(np.asarray(mod.schedule(np.asarray(ks)), np.float64), ref, f"{name} emitted jax")
    torch_mod = load_module(schedspec.emit(spec, "torch"), tmp_path)
    assert_f64([torch_mod.value(int(k)) for k in ks], ref, f"{name} emitted torch")


def test_the_held_end_is_exact_after_times():
    spec, data = _spec('lr: {kind: repeat, period: "22/3", times: 3, decay: 0.5, of: {kind: cosine, start: 1.0, '
                       "end: 0.1, duration: 4}}\n")  # fmt: skip
    end = math.ceil(3 * Fraction(22, 3))  # 22: the first step after the third cycle
    assert spec.program.hparams["lr"].duration == end
    for dtype in ("float64", "float32"):
        v = np.asarray(schedspec.evaluate(spec, [end - 1, end, end + 1, 2**31 - 1], dtype=dtype))
        assert (v[1:] == np.asarray(0.1 * 0.25, dtype)).all(), (dtype, v)
    assert ref_values(data, [end])[0] == 0.1 * 0.25


def test_restarts_fall_on_the_first_step_at_or_after_each_real_boundary():
    """26/3 = 8.67: cycles 1, 2, 3 begin at k = 9, 18 (= 52/3 rounded up), 26 (exact)."""
    spec, _ = _spec('lr: {kind: repeat, period: "26/3", of: {kind: linear, start: 1.0, end: 0.0, duration: 2}}\n')
    v = np.asarray(schedspec.evaluate(spec, np.arange(30), dtype="float64"))
    restarts = [k for k in range(1, 30) if v[k] > v[k - 1]]
    assert restarts == [9, 18, 26]
    # local time at k = 9 is 9 - 26/3 = 1/3, stretched by 2 / (26/3): of at 1/13
    assert v[9] == pytest.approx(1 - 1 / 26, rel=1e-15)


def test_shift_is_the_unshifted_value_ahead():
    plain, _ = _spec('lr: {kind: repeat, period: "26/3", of: ' + WAVE + "}\n")
    shifted, _ = _spec('lr: {kind: repeat, period: "26/3", shift: 5, of: ' + WAVE + "}\n")
    ks = np.arange(0, 200)
    a = np.asarray(schedspec.evaluate(shifted, ks, dtype="float64"))
    b = np.asarray(schedspec.evaluate(plain, ks + 5, dtype="float64"))
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------------------ random
@st.composite
def _real_repeats(draw):
    top = draw(st.integers(1, 400))
    divisor = draw(st.sampled_from(["1", "1.5", "0.3", "2.25", "7", "3.37", "0.5", "12.5", "4.999"]))
    shift = draw(st.integers(0, 60))
    length = Fraction(top) / Fraction(divisor)
    times = draw(st.none() | st.integers(1, 6))
    if times is not None and math.ceil(times * length) - shift <= 0:
        shift = 0
    of = draw(st.sampled_from([WAVE, "{kind: linear, start: 1.0, end: 0.1, duration: 3}",
                               "[{kind: linear, start: 0.1, end: 1.0, duration: 2}, {kind: step, every: 1, gamma: 0.5, "
                               "duration: 3}]"]))  # fmt: skip
    decay = draw(st.sampled_from([None, 0.5, 0.9]))
    text = f'lr: {{kind: repeat, period: "{top}/{divisor}", shift: {shift}, of: {of}'
    text += "" if times is None else f", times: {times}"
    text += "" if decay is None else f", decay: {decay}"
    return text + "}\n", length, shift


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(_real_repeats())
def test_random_real_repeats_equal_the_reference(case):
    text, length, shift = case
    spec, data = _spec(text)
    ks = sorted(set(range(0, 60)) | set(_real_boundaries(length, shift, 12)) | set(HUGE))
    ref = np.asarray(ref_values(data, ks), np.float64)
    assert_f64(schedspec.evaluate(spec, ks, dtype="float64"), ref, text)
    f32 = np.asarray(schedspec.evaluate(spec, ks, dtype="float32"), np.float64)
    assert np.isfinite(f32).all()
    assert_f32(f32, ref, text)


# ------------------------------------------------------------------------------------------------ check
@pytest.mark.parametrize("name", ["hf-wave", "restarts", "shift-and-period", "many-cycles-per-window"])
def test_check_range_is_exact(name):
    text, _, _ = CASES[name]
    spec, _ = _spec("total: 3000\n" + text)
    low, high = analysis.minmax(spec.program, "lr", 3000)
    dense = np.asarray(schedspec.evaluate(spec, np.arange(3001), dtype="float64"))
    assert (low, high) == (dense.min(), dense.max())


def test_check_table_shows_the_period_and_the_shift():
    spec, _ = _spec('lr: {kind: repeat, period: "26/1.5", shift: 2, of: ' + WAVE + "}\n")
    assert analysis.phase_rows(spec.program.hparams["lr"])[0][0] == "repeat (period 52/3, shift 2)"


# ------------------------------------------------------------------------------------------------ meaning
def _fp(text: str) -> str:
    return _spec(text)[0].fingerprint


def test_fingerprints_follow_the_exact_period():
    a = _fp('lr: {kind: repeat, period: "26/3", of: ' + WAVE + "}\n")
    assert a != _fp('lr: {kind: repeat, period: "26/1.5", of: ' + WAVE + "}\n")
    assert a == _fp('lr: {kind: repeat, period: "52/6", of: ' + WAVE + "}\n")  # the same length
    plain = _fp("lr: {kind: repeat, of: " + WAVE + "}\n")
    assert plain == _fp('lr: {kind: repeat, period: "2/1", shift: 0, of: ' + WAVE + "}\n")  # the defaults
    assert plain != _fp("lr: {kind: repeat, shift: 1, of: " + WAVE + "}\n")


# ------------------------------------------------------------------------------------------------ bad input
BAD = {
    "malformed": ('period: "26/three"', "period", "'<D>/<c>'"),
    "zero divisor": ('period: "26/0"', "period", "must be > 0"),
    "negative divisor": ('period: "26/-1.5"', "period", "must be > 0"),
    "D not whole": ('period: "2.5/3"', "period", "whole number"),
    "table too large": ('period: "26/1.00001"', "period", "at most 10000"),
    "with mult": ('period: "26/3", mult: 2', "period", "`mult`"),
    "shift with mult": ("shift: 2, mult: 2", "shift", "`mult`"),
    "negative shift": ("shift: -1", "shift", ">= 0"),
    "shift past the end": ('period: "7/2", times: 2, shift: 7', "shift", "smaller `shift`"),
    "var period": ("period: $p", "period", "literal"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(BAD))
def test_bad_periods_and_shifts_are_positioned(name):
    fields, where, words = BAD[name]
    text = "vars:\n  p: 9\nlr:\n  kind: repeat\n  " + fields.replace(", ", "\n  ") + "\n" \
           "  of: {kind: cosine, start: 1.0, end: 0.0, duration: 4}\n"  # fmt: skip
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.loads("schedspec: 1\n" + text, "bad.yaml")
    issues = exc.value.issues
    assert any(words in i.message and where in str(i) and i.line and i.col for i in issues), [str(i) for i in issues]


def test_a_var_length_of_is_refused_with_a_period():
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.loads("schedspec: 1\nvars:\n  d: 4\nlr:\n  kind: repeat\n  period: '26/3'\n"
                        "  of: {kind: cosine, start: 1.0, end: 0.0, duration: $d}\n", "bad.yaml")  # fmt: skip
    (issue,) = exc.value.issues
    assert issue.line == 7 and "literal duration" in issue.message
