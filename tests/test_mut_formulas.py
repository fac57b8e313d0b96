"""formulas.py, second mutation pass (issue 14, item 1): the kinds and helpers added since the first pass, which the
fast selection did not reach: ``warp`` (``warped_halves`` and the warped linear/cosine/polynomial), ``tanh``,
``inverse_sqrt`` with ``shift``, and the float32 helpers of the jax and keras.ops backends (``float32_of``,
``corrected_power``, ``direct_table``, ``number_table``), tested here as the pure functions they are.

Schedules are compared on the numpy and plain-Python paths with the independent float64 reference
(tests/reference.py, written from docs/language.md); the helpers with numpy's own float32 rounding, exact
rational arithmetic, or counts worked from their docstrings.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import schedspec
from schedspec import _compile
from schedspec import backends as B
from schedspec import formulas as F
from schedspec.evaluator import evaluate_numpy
from schedspec.lowering.bind import bind

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import assert_f32
    from .reference import ref_values
except ImportError:
    from helpers import assert_f32
    from reference import ref_values


def _doc(lr, **top):
    return {"schedspec": 1, **top, "lr": lr}


def _math_values(spec, k):
    """The plain-Python scalar path (MathXP: the torch adapters, ``check``), one step at a time."""
    program = schedspec.load(spec).program
    bound = bind(program, None)
    fn = _compile.build(bound.hparams["lr"], B.MathXP)
    return np.array([B.MathXP.out(fn(int(i), {}), int(i)) for i in k], dtype=np.float64)


CASES = {
    # warp: the fraction p = min(t, T) / T becomes p ** warp (docs/language.md, `warp`)
    "linear-warp-1-sqrt": _doc([{"kind": "linear", "duration": 10, "start": 1.0, "end": 0.1, "warp": 0.5}]),
    "linear-warp-2-up": _doc([{"kind": "linear", "duration": 12, "start": 0.0, "end": 2.0, "warp": 2.0}]),
    "cosine-warp": _doc([{"kind": "cosine", "duration": 16, "start": 1.0, "end": 0.01, "warp": 1.5}]),
    "cosine-warp-exponent": _doc([{"kind": "cosine", "duration": 16, "start": 0.2, "end": 1.0, "warp": 0.7,
                                   "exponent": 2.0}]),
    "polynomial-warp": _doc([{"kind": "polynomial", "duration": 9, "start": 1.0, "end": 0.0, "power": 2.0,
                              "warp": 3.0}]),
    "polynomial-warp-up": _doc([{"kind": "polynomial", "duration": 9, "start": 0.5, "end": 3.0, "power": 0.5,
                                 "warp": 0.25}]),
    # tanh (timm TanhLRScheduler): the curve for t < T, then `end`
    "tanh-default": _doc([{"kind": "tanh", "duration": 20, "start": 1.0, "end": 0.01}]),
    "tanh-up": _doc([{"kind": "tanh", "duration": 15, "start": 0.1, "end": 2.0, "lb": -2.0, "ub": 5.0}]),
    "tanh-after-warmup": _doc([{"kind": "linear", "duration": 3, "start": 0.0, "end": 0.5},
                               {"kind": "tanh", "duration": 11, "end": 0.0, "lb": -4.0, "ub": 4.0}]),
    # inverse_sqrt with shift: start * sqrt(timescale / max(t + shift, timescale))
    "inverse-sqrt-hf": _doc([{"kind": "linear", "duration": 5, "start": 0.0, "end": 1.0},
                             {"kind": "inverse_sqrt", "timescale": 10, "shift": 10}]),
    "inverse-sqrt-short-shift": _doc([{"kind": "inverse_sqrt", "start": 2.0, "timescale": 10, "shift": 3}]),
    # relative precision where the value is tiny: the last steps of a long warped decay to 0 (the weight of the
    # remaining fraction, 1 - p ** warp, from -expm1(warp * log1p(-r))), and tanh's steep ends (lb, ub = -+10:
    # the smaller weight is about 2e-9, computed without cancellation whichever end it belongs to)
    "linear-warp-long-to-0": _doc([{"kind": "linear", "duration": 1_000_000, "start": 1.0, "end": 0.0, "warp": 0.5}]),
    "cosine-warp-long-to-0": _doc([{"kind": "cosine", "duration": 1_000_000, "start": 1.0, "end": 0.0, "warp": 2.0}]),
    "tanh-steep-down-to-0": _doc([{"kind": "tanh", "duration": 40, "start": 1.0, "end": 0.0, "lb": -10.0,
                                   "ub": 10.0}]),
    "tanh-steep-up-from-0": _doc([{"kind": "tanh", "duration": 40, "start": 0.0, "end": 1.0, "lb": -10.0,
                                   "ub": 10.0}]),
}


def _steps(spec):
    T = spec["lr"][-1].get("duration", 0)
    if T > 1000:  # the first and last steps of a long phase
        return np.concatenate([np.arange(0, 20), np.arange(T - 20, T + 3)])
    return np.arange(0, 61)


@pytest.mark.parametrize("name", list(CASES))
def test_numpy_path_of_the_new_kinds_matches_reference(name):
    spec = CASES[name]
    k = _steps(spec)
    np.testing.assert_allclose(evaluate_numpy(schedspec.load(spec), k), ref_values(spec, k), rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", list(CASES))
def test_math_path_of_the_new_kinds_matches_reference(name):
    spec = CASES[name]
    k = _steps(spec)
    np.testing.assert_allclose(_math_values(spec, k), ref_values(spec, k), rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", [n for n in CASES if not n.startswith("inverse")])
def test_the_new_kinds_hold_their_declared_ends_exactly(name):
    """A phase holds ``end`` exactly from its duration on; a warped one also starts exactly at ``start`` (``tanh``
    starts at ``end + (start - end) * (1 - tanh(lb)) / 2``, not at ``start``)."""
    spec = CASES[name]
    phase = spec["lr"][-1]
    T = phase["duration"]
    begin = sum(p["duration"] for p in spec["lr"][:-1])
    end = phase.get("end", 0.0)
    k = np.array([begin, begin + 1, begin + T - 1, begin + T, begin + T + 1, begin + T + 2, begin + T + 3])
    for values in (evaluate_numpy(schedspec.load(spec), k), _math_values(spec, k)):
        assert values[3:].tolist() == [end] * 4
        if "start" in phase and phase["kind"] != "tanh":
            assert values[0] == phase["start"]


ARRAY_CASES = {
    **CASES,
    "linear": _doc([{"kind": "linear", "duration": 12, "start": 0.0, "end": 2.0}]),
    "cosine": _doc([{"kind": "cosine", "duration": 16, "start": 1.0, "end": 0.01}]),
    "cosine-exponent": _doc([{"kind": "cosine", "duration": 16, "start": 0.2, "end": 1.0, "exponent": 2.0}]),
    "polynomial": _doc([{"kind": "polynomial", "duration": 9, "start": 1.0, "end": 0.1, "power": 2.0}]),
    "onecycle": _doc([{"kind": "onecycle", "duration": 30, "peak": 1.0}]),
}


@pytest.mark.parametrize("name", list(ARRAY_CASES))
def test_float32_array_path_eager_matches_reference(name):
    """The formulas on ``JaxXP`` (float32; eager ``jax.numpy``, no compiled program): the branch of ``halves`` /
    ``warped_halves`` that multiplies by ``1/T`` and the backend's own ``cos_weight`` kernel, which the numpy and
    plain-Python paths never take; within the float32 tolerance of the reference, ends exact in float32."""
    import jax.numpy as jnp

    spec = ARRAY_CASES[name]
    program = schedspec.load(spec).program
    fn = _compile.build(bind(program, None).hparams["lr"], B.JaxXP())
    k = _steps(spec)
    got = np.asarray(fn(jnp.asarray(k, dtype=jnp.int32), {}), dtype=np.float64)
    want = ref_values(spec, k)
    assert_f32(got, want, name)
    T = sum(p.get("duration", 0) for p in spec["lr"])
    if "end" in spec["lr"][-1] and spec["lr"][-1].get("duration"):
        assert got[k >= T].tolist() == [float(np.float32(spec["lr"][-1]["end"]))] * int(np.sum(k >= T))


# ------------------------------------------------------------------ helpers of the float32 backends (pure)
@pytest.mark.parametrize("x", [0.1, 1 / 3, 0.999, 0.9999, 2.5, 1e-30, 3e38, -0.7, 1.0 + 2**-24, 1.0 + 3 * 2**-24,
                               1.0 + 2**-23 + 2**-24])
def test_float32_of_is_numpys_float32_rounding(x):
    """Round to nearest, ties to even, as numpy's float32 conversion (the last three: a tie rounded down to even,
    a tie rounded up to even, and an odd neighbour)."""
    assert F.float32_of(x) == float(np.float32(x))


def test_float32_of_leaves_numbers_outside_the_normal_range_alone():
    # frexp exponents -125 .. 128 are float32's normal range; outside it x is returned unchanged
    assert F.float32_of(1e-40) == 1e-40  # subnormal in float32 (frexp exponent -132)
    assert F.float32_of(1e39) == 1e39  # beyond float32 (exponent 130)
    lo, hi = math.ldexp(0.75, -125), math.ldexp(0.75, 128)  # the extremes that are still corrected
    assert F.float32_of(lo + math.ldexp(1, -160)) == float(np.float32(lo)) == lo
    assert F.float32_of(hi * (1 + 2**-40)) == float(np.float32(hi)) == hi
    assert F.float32_of(math.ldexp(0.75, -126) * (1 + 2**-40)) == math.ldexp(0.75, -126) * (1 + 2**-40)
    assert F.float32_of(math.ldexp(0.75, 129) * (1 + 2**-40)) == math.ldexp(0.75, 129) * (1 + 2**-40)


def _f32_power(a, b):
    return np.power(np.float32(a), np.float32(b))


def _f32_exp(x):
    return np.exp(np.float32(x))


@pytest.mark.parametrize("a, b", [(0.999, 1000), (0.9999, 10000), (0.95, 37), (1.001, 500), (0.1, 3)])
def test_corrected_power_keeps_float32_accuracy_where_the_rounded_base_does_not(a, b):
    """``a ** b`` in float32 within float32's own rounding (a few ulps) of the exact value (float64 here), where
    the plain float32 power of the rounded base is off by far more when ``b`` is large."""
    exact = a**b
    got = float(F.corrected_power(_f32_power, _f32_exp, a, b))
    assert abs(got - exact) <= 4e-7 * exact
    if b >= 1000:
        assert abs(float(_f32_power(a, b)) - exact) > 1e-5 * exact  # the error the correction removes


@pytest.mark.parametrize("a, b", [(0.5, 10), (0.75, 3.0), (-0.3, 2), (0.0, 2), (2, 4)])
def test_corrected_power_of_an_exact_float32_base_or_a_non_positive_one_is_the_plain_power(a, b):
    calls = []

    def exp(x):
        calls.append(x)
        return _f32_exp(x)

    assert float(F.corrected_power(_f32_power, exp, a, b)) == float(_f32_power(a, b))
    assert calls == []


def test_corrected_power_of_an_array_base_is_the_plain_power():
    a = np.array([0.999, 0.5], dtype=np.float32)
    np.testing.assert_array_equal(F.corrected_power(np.power, np.exp, a, np.float32(3)), np.power(a, np.float32(3)))


def _counts(thresholds, last):
    return [sum(1 for x in thresholds if x <= u) for u in range(last + 1)]


@pytest.mark.parametrize("thresholds", [[0], [3], [0, 0, 2], [1, 4, 4, 9], list(range(0, 40, 2)),
                                        np.array([2, 5, 5, 70], dtype=np.int32)])
def test_direct_table_counts_thresholds_at_or_below_each_integer_time(thresholds):
    table, last = F.direct_table(thresholds, True)
    assert last == int(thresholds[-1])
    assert table.tolist() == _counts([int(x) for x in thresholds], last)
    assert table.dtype == np.int32
    wide, _ = F.direct_table(thresholds, True, wide=True)
    assert wide.dtype == np.int64 and wide.tolist() == table.tolist()


@pytest.mark.parametrize("thresholds, integer", [
    ([1, 2], False),  # a stretched repeat's float time
    ([1.0, 2.0], True),  # floats
    ([1, True], True),  # a boolean is not a step
    (np.array([1.0, 2.0]), True),
    (np.array([], dtype=np.int64), True),
    ([], True),
    ([-1, 3], True),
    ([0, 4096], True),  # 4097 entries for 2 thresholds: more than max(64 * 2, 4096)
    ([0, 1 << 21], True),
])
def test_direct_table_refuses_what_it_cannot_tabulate(thresholds, integer):
    assert F.direct_table(thresholds, integer) is None


def test_direct_table_sizes_at_their_limits():
    # up to max(64 per threshold, 4096) entries: 4096 entries (last = 4095) for 2 thresholds is allowed
    table, last = F.direct_table([0, 4095], True)
    assert last == 4095 and len(table) == 4096 and table[0] == 1 and table[4094] == 1 and table[4095] == 2
    # 64 per threshold beyond 4096: 100 thresholds allow 6400 entries, not 6401
    many = list(range(0, 99)) + [6399]
    assert len(F.direct_table(many, True)[0]) == 6400
    assert F.direct_table(list(range(0, 99)) + [6400], True) is None


def test_number_table_is_int64_for_ints_and_float64_otherwise():
    ints = F.number_table(np, [0, 3, 7])
    assert ints.dtype == np.int64 and ints.tolist() == [0, 3, 7]
    floats = F.number_table(np, [0, 3.5])
    assert floats.dtype == np.float64 and floats.tolist() == [0.0, 3.5]
    bools = F.number_table(np, [True, 2])  # a boolean is not an int here
    assert bools.dtype == np.float64 and bools.tolist() == [1.0, 2.0]


def test_float32_of_ties_go_to_even_exactly():
    """Rounding a 25-bit significand: halfway cases to the even neighbour, worked with exact fractions."""
    for frac in (Fraction(2**24 + 1, 2**24), Fraction(2**24 + 3, 2**24), Fraction(2**25 - 1, 2**25)):
        x = float(frac)
        assert F.float32_of(x) == float(np.float32(x))
