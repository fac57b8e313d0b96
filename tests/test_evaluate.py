"""The JAX evaluator (``schedspec.evaluate``, ``to_jax``, ``evaluate_numpy``) against the float64 reference.

Expected values come from ``tests/reference.py`` (pure Python, written from docs/language.md) or are worked out by
hand; none is copied from schedspec's own output. Tolerances are the parity tolerance (docs/language.md, Parity):
float64 ``|a-b| <= 1e-12*peak + 1e-10*|b|``, float32 ``|a-b| <= 1e-6*peak + 1e-5*|b|`` (peak = max|ref|).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import schedspec
from schedspec.evaluator import evaluate_numpy

try:  # tests/ as a package or as a rootdir on sys.path
    from .reference import ref_length, ref_value, ref_values
    from .strategies import specs
except ImportError:
    from reference import ref_length, ref_value, ref_values
    from strategies import specs

jax = pytest.importorskip("jax")
jnp = jax.numpy

TOL = {"float64": (1e-12, 1e-10), "float32": (1e-6, 1e-5)}
HORIZON = 100  # how far to look at a schedule that never ends
INT32_MAX = 2**31 - 1


def assert_close(actual, expected, dtype, peak=None, what=""):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert np.all(np.isfinite(actual)), f"{what}: non-finite values at {np.argwhere(~np.isfinite(actual)).ravel()[:10]}"
    a_tol, r_tol = TOL[dtype]
    if peak is None:
        peak = float(np.max(np.abs(expected))) if expected.size else 0.0
    bound = a_tol * peak + r_tol * np.abs(expected)
    err = np.abs(actual - expected)
    bad = err > bound
    if np.any(bad):
        i = np.unravel_index(int(np.argmax(err - bound)), err.shape)
        raise AssertionError(
            f"{what} {dtype}: {int(bad.sum())} of {bad.size} values off; worst at index {i}: "
            f"got {actual[i]!r}, expected {expected[i]!r} (|diff| {err[i]:.3g} > bound {bound[i]:.3g})"
        )


def steps_for(spec, hparam="lr"):
    """k = 0 .. 2 x length (or 0 .. HORIZON for a schedule that never ends)."""
    length = ref_length(spec, hparam)
    return np.arange(2 * length + 1 if length is not None else HORIZON + 1)


def doc(lr, **top):
    return {"schedspec": 1, **top, "lr": lr}


# ---------------------------------------------------------------------------------------------- the cases
# (id, spec). Parameters are chosen so float32 stays meaningful (no values below ~1e-30).
CASES = [
    # constant
    ("constant", doc({"kind": "constant", "value": 0.1})),
    ("constant-bare-number", doc(0.25)),
    ("constant-carried", doc([{"kind": "constant", "value": 0.3, "duration": 10}, {"kind": "constant", "duration": 5},
                              {"kind": "constant", "value": 0.05}])),  # fmt: skip
    # linear
    ("linear-warmup", doc({"kind": "linear", "start": 0.0, "end": 0.1, "duration": 10})),
    ("linear-decay", doc({"kind": "linear", "start": 0.1, "end": 0.001, "duration": 37})),
    ("linear-epochs", doc({"kind": "linear", "start": 0.01, "end": 0.2, "duration": "5ep"}, steps_per_epoch=4)),
    ("linear-1.5ep", doc({"kind": "linear", "start": 0.0, "end": 1.0, "duration": "1.5ep"}, steps_per_epoch=8)),
    # cosine
    ("cosine", doc({"kind": "cosine", "start": 0.1, "duration": 100})),
    ("cosine-end-exp2", doc({"kind": "cosine", "start": 1.0, "end": 0.1, "exponent": 2.0, "duration": 50})),
    ("cosine-exp0.5", doc({"kind": "cosine", "start": 0.5, "end": 0.05, "exponent": 0.5, "duration": 33})),
    ("cosine-rising", doc({"kind": "cosine", "start": 0.01, "end": 0.3, "duration": 21})),
    # polynomial
    ("poly-linear", doc({"kind": "polynomial", "start": 0.1, "duration": 40})),
    ("poly-pow2-end", doc({"kind": "polynomial", "start": 0.1, "end": 0.01, "power": 2.0, "duration": 25})),
    ("poly-pow3", doc({"kind": "polynomial", "start": 1.0, "end": 0.0, "power": 3.0, "duration": 13})),
    ("poly-pow0.5", doc({"kind": "polynomial", "start": 0.1, "power": 0.5, "duration": 7})),
    ("poly-pow0.5-end", doc({"kind": "polynomial", "start": 0.01, "end": 2.0, "power": 0.5, "duration": 9})),
    # exponential
    ("exp-forever", doc({"kind": "exponential", "start": 0.1, "gamma": 0.97})),
    ("exp-staircase", doc({"kind": "exponential", "start": 0.1, "gamma": 0.5, "every": 10, "staircase": True, "duration": 60})),
    ("exp-floor", doc({"kind": "exponential", "start": 0.1, "gamma": 0.9, "every": 3, "end": 0.02, "duration": 50})),
    ("exp-ceiling", doc({"kind": "exponential", "start": 0.001, "gamma": 1.1, "end": 0.01, "duration": 60})),
    ("exp-growth", doc({"kind": "exponential", "start": 0.001, "gamma": 1.05, "every": 2, "duration": 40})),
    # step
    ("step", doc({"kind": "step", "start": 0.1, "every": 30, "gamma": 0.1, "duration": 100})),
    ("step-open", doc({"kind": "step", "start": 1.0, "every": 7, "gamma": 0.5})),
    ("step-epochs", doc({"kind": "step", "start": 0.1, "every": "2ep", "duration": "10ep"}, steps_per_epoch=5)),
    # multistep
    ("multistep", doc({"kind": "multistep", "start": 0.1, "milestones": [30, 60, 80], "duration": 100})),
    ("multistep-repeated", doc({"kind": "multistep", "start": 0.1, "milestones": [10, 10, 25], "gamma": 0.5, "duration": 40})),
    ("multistep-epochs", doc({"kind": "multistep", "start": 1.0, "milestones": ["1ep", "3ep"], "gamma": 0.3},
                             steps_per_epoch=10)),  # fmt: skip
    # piecewise
    ("piecewise-constant", doc({"kind": "piecewise", "points": [[0, 0.1], [10, 0.05], [25, 0.01]]})),
    ("piecewise-linear", doc({"kind": "piecewise", "points": [[0, 0.0], [10, 0.1], [25, 0.01]], "interpolate": "linear",
                              "duration": 40})),  # fmt: skip
    ("piecewise-cosine", doc({"kind": "piecewise", "points": [[0, 0.0], [10, 1.0], [30, 0.1]], "interpolate": "cosine",
                              "duration": 30})),  # fmt: skip
    ("piecewise-cut", doc({"kind": "piecewise", "points": [[0, 0.2], [8, 0.6], [20, 0.0]], "interpolate": "linear",
                           "duration": 12})),  # fmt: skip
    # inverse_time / inverse_sqrt
    ("inverse-time", doc({"kind": "inverse_time", "start": 0.1, "rate": 0.5, "duration": 50})),
    ("inverse-time-staircase", doc({"kind": "inverse_time", "start": 0.1, "rate": 1.0, "every": 10, "staircase": True,
                                    "duration": 60})),  # fmt: skip
    ("inverse-sqrt", doc({"kind": "inverse_sqrt", "start": 0.01, "timescale": 10, "duration": 100})),
    ("inverse-sqrt-open", doc({"kind": "inverse_sqrt", "start": 1.0, "timescale": 1})),
    # cyclic (torch CyclicLR)
    ("cyclic-triangular", doc({"kind": "cyclic", "low": 0.001, "high": 0.01, "up": 10, "duration": 100})),
    ("cyclic-triangular2", doc({"kind": "cyclic", "low": 0.001, "high": 0.1, "up": 7, "down": 13, "mode": "triangular2",
                                "duration": 120})),  # fmt: skip
    ("cyclic-exp-range", doc({"kind": "cyclic", "low": 0.01, "high": 0.5, "up": 5, "mode": "exp_range", "gamma": 0.99,
                              "duration": 60})),  # fmt: skip
    ("cyclic-open", doc({"kind": "cyclic", "low": 0.0, "high": 1.0, "up": 3, "down": 5})),
    # onecycle (torch OneCycleLR)
    ("onecycle-default", doc({"kind": "onecycle", "peak": 0.1, "duration": 100})),
    ("onecycle-fractional-peak", doc({"kind": "onecycle", "peak": 1.0, "duration": 10, "pct_start": 0.25})),
    ("onecycle-three-phase-linear", doc({"kind": "onecycle", "peak": 0.1, "duration": 50, "three_phase": True,
                                         "anneal": "linear"})),  # fmt: skip
    ("onecycle-three-phase-cos", doc({"kind": "onecycle", "peak": 0.5, "duration": 37, "pct_start": 0.4,
                                      "div_factor": 10, "final_div_factor": 100, "three_phase": True})),  # fmt: skip
    ("onecycle-then-constant", doc([{"kind": "onecycle", "peak": 0.2, "duration": 30, "final_div_factor": 10},
                                    {"kind": "constant", "duration": 10}, {"kind": "linear", "end": 0.1, "duration": 10}])),  # fmt: skip
    # sequences, carried starts, units
    ("warmup-cosine", doc([{"kind": "linear", "start": 0.0, "end": 0.1, "duration": 10}, {"kind": "cosine", "duration": 90}])),
    ("four-phases", doc([{"kind": "linear", "start": 0.0, "end": 0.1, "duration": 5}, {"kind": "constant", "duration": 10},
                         {"kind": "exponential", "gamma": 0.9, "duration": 20}, {"kind": "step", "every": 5, "gamma": 0.5}])),  # fmt: skip
    ("percent-of-total", doc([{"kind": "linear", "start": 0.0, "end": 0.1, "duration": "10%"}, {"kind": "cosine", "end": 0.001}],
                             total=200)),  # fmt: skip
    ("total-in-epochs", doc([{"kind": "linear", "start": 0.0, "end": 0.4, "duration": "1ep"}, {"kind": "polynomial", "power": 2.0}],
                            steps_per_epoch=8, total="5ep")),  # fmt: skip
    ("interval-epoch", doc([{"kind": "linear", "start": 0.0, "end": 0.1, "duration": "200st"}, {"kind": "cosine", "duration": 8}],
                           interval="epoch", steps_per_epoch=100)),  # fmt: skip
    ("nested-sequence", doc([[{"kind": "linear", "start": 0.0, "end": 0.3, "duration": 4}, {"kind": "constant", "duration": 3}],
                             {"kind": "cosine", "end": 0.03, "duration": 20}])),  # fmt: skip
    ("jump", doc([{"kind": "linear", "start": 0.0, "end": 1.0, "duration": 10}, {"kind": "linear", "start": 0.2, "end": 0.4, "duration": 10}])),
    ("vars-scalar", doc([{"kind": "linear", "start": 0.0, "end": "$peak", "duration": "$warm"}, {"kind": "cosine", "end": "$floor", "duration": 50}],
                        vars={"peak": 0.2, "warm": 15, "floor": 0.002})),  # fmt: skip
    ("vars-duration-string", doc([{"kind": "linear", "start": 0.0, "end": 0.1, "duration": "$warm"}, {"kind": "cosine", "duration": "$decay"}],
                                 vars={"warm": "2ep", "decay": "1.5ep"}, steps_per_epoch=10)),  # fmt: skip
    # repeat
    ("sgdr-forever", doc({"kind": "repeat", "of": {"kind": "cosine", "start": 0.1, "end": 0.001, "duration": 20}})),
    ("repeat-mult2", doc({"kind": "repeat", "of": {"kind": "cosine", "start": 1.0, "duration": 10}, "mult": 2, "times": 3})),
    ("repeat-mult1.5", doc({"kind": "repeat", "of": {"kind": "cosine", "start": 1.0, "end": 0.1, "duration": 8}, "mult": 1.5, "times": 3})),
    ("repeat-decay-sequence", doc({"kind": "repeat", "times": 4, "decay": 0.5,
                                   "of": [{"kind": "linear", "start": 0.0, "end": 1.0, "duration": 5}, {"kind": "cosine", "duration": 10}]})),  # fmt: skip
    ("repeat-forever-mult-decay", doc({"kind": "repeat", "of": {"kind": "linear", "start": 1.0, "end": 0.0, "duration": 4},
                                       "mult": 2, "decay": 0.9})),  # fmt: skip
    ("repeat-step-stretched", doc({"kind": "repeat", "of": {"kind": "step", "start": 1.0, "every": 3, "gamma": 0.5, "duration": 9},
                                   "mult": 2, "times": 3})),  # fmt: skip
    ("warmup-then-repeat-carry", doc([{"kind": "linear", "start": 0.0, "end": 0.5, "duration": 10},
                                      {"kind": "repeat", "times": 3, "of": {"kind": "cosine", "end": 0.05, "duration": 15}},
                                      {"kind": "constant", "value": 0.01}])),  # fmt: skip
    ("repeat-times1", doc({"kind": "repeat", "times": 1, "of": {"kind": "cosine", "start": 0.3, "duration": 12}})),
    # product / scale / clip / nesting
    ("product-warmup-exp", doc({"kind": "product", "of": [{"kind": "linear", "start": 0.0, "end": 1.0, "duration": 10},
                                                          {"kind": "exponential", "start": 0.1, "gamma": 0.95}]})),  # fmt: skip
    ("product-longest", doc({"kind": "product", "of": [{"kind": "constant", "value": 2.0, "duration": 10},
                                                       {"kind": "cosine", "start": 1.0, "duration": 20}]})),  # fmt: skip
    ("product-explicit-duration", doc({"kind": "product", "duration": 15,
                                       "of": [{"kind": "cosine", "start": 1.0, "duration": 30}, {"kind": "linear", "start": 0.5, "end": 0.0, "duration": 40}]})),  # fmt: skip
    ("scale", doc({"kind": "scale", "by": 0.5, "of": {"kind": "cosine", "start": 0.2, "duration": 30}})),
    ("scale-var", doc({"kind": "scale", "by": "$s", "of": {"kind": "step", "start": 1.0, "every": 4, "duration": 20}}, vars={"s": 0.03})),
    ("clip-cyclic", doc({"kind": "clip", "min": 0.01, "max": 0.05, "of": {"kind": "cyclic", "low": 0.0, "high": 0.1, "up": 10, "duration": 60}})),
    ("clip-min-only", doc({"kind": "clip", "min": 0.02, "of": {"kind": "cosine", "start": 0.1, "duration": 40}})),
    ("clip-in-sequence-carry", doc([{"kind": "linear", "start": 0.0, "end": 0.1, "duration": 5},
                                    {"kind": "clip", "max": 0.08, "of": {"kind": "linear", "end": 0.0, "duration": 20}}])),  # fmt: skip
    ("nested-repeat-clip-product", doc({"kind": "repeat", "times": 3, "mult": 2, "decay": 0.8, "of": {
        "kind": "clip", "min": 0.005, "of": {"kind": "product", "of": [
            {"kind": "cosine", "start": 1.0, "duration": 12},
            {"kind": "piecewise", "points": [[0, 0.1], [4, 0.05]], "duration": 12}]}}})),  # fmt: skip
    ("sequence-of-combinators", doc([{"kind": "scale", "by": 0.1, "of": {"kind": "linear", "start": 0.0, "end": 1.0, "duration": 8}},
                                     {"kind": "repeat", "times": 2, "of": [{"kind": "constant", "duration": 3},
                                                                           {"kind": "cosine", "end": 0.0, "duration": 6}]},
                                     {"kind": "inverse_sqrt", "start": 0.05, "timescale": 5}])),  # fmt: skip
]
IDS = [c[0] for c in CASES]
SPECS = [c[1] for c in CASES]


def test_cases_cover_every_kind_and_combinator():
    def kinds(x, acc):
        if isinstance(x, dict):
            if "kind" in x:
                acc.add(x["kind"])
            for v in x.values():
                kinds(v, acc)
        elif isinstance(x, list):
            if len(x) > 1 and all(isinstance(p, (dict, list, float, int)) for p in x):
                acc.add("sequence")
            for v in x:
                kinds(v, acc)
        return acc

    seen = set()
    for s in SPECS:
        kinds(s["lr"], seen)
    want = {"constant", "linear", "cosine", "polynomial", "exponential", "step", "multistep", "piecewise",
            "inverse_time", "inverse_sqrt", "cyclic", "onecycle", "sequence", "repeat", "product", "scale", "clip"}  # fmt: skip
    assert want <= seen, want - seen


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_matches_reference(spec, dtype):
    k = steps_for(spec)
    got = schedspec.evaluate(spec, k, dtype=dtype)
    assert got.dtype == np.dtype(dtype)
    assert_close(got, ref_values(spec, k), dtype, what="evaluate vs reference")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_evaluate_numpy_equals_evaluate_float64(spec):
    k = steps_for(spec)
    loaded = schedspec.load(spec)
    got = evaluate_numpy(loaded, k)
    assert got.dtype == np.float64
    assert_close(got, schedspec.evaluate(loaded, k, dtype="float64"), "float64", what="evaluate_numpy vs evaluate")


def test_scalar_k_gives_a_scalar_and_list_k_an_array():
    spec = SPECS[IDS.index("warmup-cosine")]
    v = schedspec.evaluate(spec, 5, dtype="float64")
    assert np.shape(v) == ()
    assert float(v) == pytest.approx(0.05, rel=1e-12)
    assert schedspec.evaluate(spec, [0, 5, 10]).shape == (3,)


# ------------------------------------------------------------------------------ boundaries and holding
def test_boundary_belongs_to_the_next_phase():
    # hand-computed: linear 0 -> 1 over 10, then constant 0.5 for 10, then linear 0.2 -> 0.4 over 10
    spec = doc([
        {"kind": "linear", "start": 0.0, "end": 1.0, "duration": 10},
        {"kind": "constant", "value": 0.5, "duration": 10},
        {"kind": "linear", "start": 0.2, "end": 0.4, "duration": 10},
    ])  # fmt: skip
    k = np.array([0, 9, 10, 11, 19, 20, 21, 29, 30, 31, 1000])
    want = [0.0, 0.9, 0.5, 0.5, 0.5, 0.2, 0.22, 0.38, 0.4, 0.4, 0.4]
    for dtype in ("float64", "float32"):
        assert_close(schedspec.evaluate(spec, k, dtype=dtype), want, dtype, peak=1.0, what="boundaries")


def test_boundary_with_carried_start_and_step_kinds():
    # step 1.0 every 5 (x0.5) for 10 steps: its final value (at t = 10) is 0.25, the multistep's carried start;
    # the multistep's new values apply AT its milestones (local t = 1 and 3), and the constant carries 0.0025.
    spec = doc([
        {"kind": "step", "start": 1.0, "every": 5, "gamma": 0.5, "duration": 10},
        {"kind": "multistep", "milestones": [1, 3], "gamma": 0.1, "duration": 5},
        {"kind": "constant"},
    ])  # fmt: skip
    k = np.array([0, 4, 5, 9, 10, 11, 12, 13, 14, 15, 16, 500])
    # step at t=10 would be 1.0*0.5**2 = 0.25 (the final value, held): the carried start of the multistep
    want = [1.0, 1.0, 0.5, 0.5, 0.25, 0.025, 0.025, 0.0025, 0.0025, 0.0025, 0.0025, 0.0025]
    assert_close(schedspec.evaluate(spec, k, dtype="float64"), want, "float64", peak=1.0, what="carry")


def test_hold_after_the_end_never_rebounds():
    spec = doc({"kind": "cosine", "start": 1.0, "end": 0.1, "duration": 20})
    k = np.array([19, 20, 21, 40, 10_000, INT32_MAX])
    got = schedspec.evaluate(spec, k, dtype="float64")
    assert got[0] > 0.1
    assert_close(got[1:], [0.1] * 5, "float64", peak=1.0, what="cosine hold")  # torch CosineAnnealingLR would rise


def test_onecycle_holds_its_final_value_from_n_minus_1():
    N, peak, div, fdiv = 40, 0.4, 25.0, 1e4
    spec = doc({"kind": "onecycle", "peak": peak, "duration": N})
    k = np.array([0, 11, N - 1, N, N + 1, 5 * N])
    got = schedspec.evaluate(spec, k, dtype="float64")
    low = peak / (div * fdiv)
    assert got[0] == pytest.approx(peak / div, rel=1e-12)
    assert got[1] == pytest.approx(peak, rel=1e-12)  # pct_start*N - 1 = 11
    assert_close(got[2:], [low] * 4, "float64", peak=peak, what="onecycle hold")


def test_repeat_times_holds_the_last_cycle_value():
    spec = doc({"kind": "repeat", "times": 2, "decay": 0.5, "of": {"kind": "linear", "start": 1.0, "end": 0.2, "duration": 4}})
    k = np.arange(12)
    # cycle 0: 1, .8, .6, .4 ; cycle 1 (x0.5): .5, .4, .3, .2 ; then hold 0.2*0.5 = 0.1
    want = [1.0, 0.8, 0.6, 0.4, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.1, 0.1]
    assert_close(schedspec.evaluate(spec, k, dtype="float64"), want, "float64", peak=1.0, what="repeat hold")


def test_last_phase_runs_to_total_then_holds():
    spec = doc([{"kind": "constant", "value": 1.0, "duration": 10}, {"kind": "linear", "end": 0.0}], total=20)
    k = np.array([10, 15, 20, 25])
    assert_close(schedspec.evaluate(spec, k, dtype="float64"), [1.0, 0.5, 0.0, 0.0], "float64", peak=1.0)


# ------------------------------------------------------------------ scalar == array == jit == vmap
CONSISTENCY = ["vars-scalar", "onecycle-three-phase-cos", "cyclic-triangular2", "repeat-mult1.5"]


@pytest.mark.parametrize("name", CONSISTENCY)
def test_scalar_array_jit_vmap_agree(name):
    spec = SPECS[IDS.index(name)]
    length = ref_length(spec)
    k = np.unique(np.linspace(0, 2 * length, 25).astype(np.int32))
    fn = schedspec.to_jax(spec)
    scalar_k = k[:: max(1, len(k) // 5)]  # eager scalar calls are slow: a sample
    per_scalar = np.array([float(fn(int(x))) for x in scalar_k])
    array = np.asarray(fn(k))
    jitted = np.asarray(jax.jit(fn)(k))
    vmapped = np.asarray(jax.vmap(fn)(k))
    jit_vmap = np.asarray(jax.jit(jax.vmap(fn))(k))
    ev = schedspec.evaluate(spec, k)
    ref = np.array(ref_values(spec, k))
    peak = float(np.max(np.abs(ref)))
    sel = np.searchsorted(k, scalar_k)
    assert_close(per_scalar, ev[sel], "float32", peak=peak, what="scalar vs evaluate")
    assert_close(per_scalar, ref[sel], "float32", peak=peak, what="scalar vs reference")
    for label, arr in [("array", array), ("jit", jitted), ("vmap", vmapped), ("jit(vmap)", jit_vmap), ("evaluate", ev)]:
        assert arr.shape == k.shape, label
        assert_close(arr, ev, "float32", peak=peak, what=f"{label} vs evaluate")
        assert_close(arr, ref, "float32", peak=peak, what=f"{label} vs reference")


def test_to_jax_var_keywords_and_vmap_over_a_var():
    spec = SPECS[IDS.index("vars-scalar")]
    fn = schedspec.to_jax(spec)
    k = np.arange(0, 80, 3)
    peaks = np.array([0.05, 0.7], dtype=np.float32)
    swept = np.asarray(jax.jit(jax.vmap(lambda p: fn(k, peak=p)))(peaks))
    assert swept.shape == (2, len(k))
    for row, p in zip(swept, peaks):
        want = ref_values({**spec, "vars": {**spec["vars"], "peak": float(p)}}, k)
        assert_close(row, want, "float32", what=f"peak={p}")
        assert_close(np.asarray(fn(k, peak=float(p))), row, "float32", what="keyword vs vmap")
    # a duration var passed as an int
    assert_close(np.asarray(fn(k, warm=30)), ref_values({**spec, "vars": {**spec["vars"], "warm": 30}}, k), "float32")


def test_to_jax_float64_agrees_with_reference_in_every_form():
    spec = SPECS[IDS.index("vars-scalar")]
    k = np.arange(0, 140, 7)
    ref = np.array(ref_values(spec, k))
    fn = schedspec.to_jax(spec, dtype="float64")
    out = fn(k)
    assert out.dtype == jnp.float64
    assert_close(out, ref, "float64", what="eager array")
    assert_close(np.array([float(fn(int(x))) for x in k[::5]]), ref[::5], "float64", what="scalar")
    assert_close(jax.jit(fn)(k), ref, "float64", what="jit")
    assert_close(jax.jit(jax.vmap(fn))(k), ref, "float64", what="jit(vmap)")


def test_to_jax_float64_eager_vmap_without_x64():
    """``to_jax(dtype="float64")`` must work under a plain ``jax.vmap`` (x64 is switched on inside ``fn``)."""
    spec = SPECS[IDS.index("vars-scalar")]
    k = np.arange(0, 140, 7)
    fn = schedspec.to_jax(spec, dtype="float64")
    assert_close(jax.vmap(fn)(k), ref_values(spec, k), "float64", what="vmap")


# ---------------------------------------------------------------------- exact at large k (int32 range)
LARGE_K = np.array([INT32_MAX, INT32_MAX - 1, INT32_MAX - 647, INT32_MAX - 648, INT32_MAX - 999, 2**31 - 1000,
                    2**31 - 1001, 2**30 + 123, 2**24 + 1, 2**24 + 3])  # fmt: skip


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "spec, offset",
    [
        (doc({"kind": "repeat", "of": {"kind": "cosine", "start": 1.0, "end": 0.0, "duration": 1000}}), 0),
        (doc([{"kind": "linear", "start": 0.0, "end": 1.0, "duration": 10},
              {"kind": "repeat", "of": {"kind": "cosine", "end": 0.01, "duration": 1000}}]), 10),  # fmt: skip
    ],
    ids=["repeat-cosine", "warmup-then-repeat"],
)
def test_large_k_is_exact(spec, offset, dtype):
    got = schedspec.evaluate(spec, LARGE_K, dtype=dtype)
    # integer arithmetic first: the value at k is the cosine at (k - offset) mod 1000
    end = spec["lr"]["of"]["end"] if offset == 0 else 0.01
    want = [end + (1.0 - end) * (1 + math.cos(math.pi * ((int(x) - offset) % 1000) / 1000)) / 2 for x in LARGE_K]
    assert_close(got, want, dtype, peak=1.0, what="large k")
    assert_close(got, [ref_value(spec, int(x)) for x in LARGE_K], dtype, peak=1.0, what="large k vs reference")
    fn = schedspec.to_jax(spec, dtype=dtype)
    assert_close(np.asarray(fn(LARGE_K)), want, dtype, peak=1.0, what="to_jax large k")
    assert_close(np.asarray(jax.jit(fn)(LARGE_K.astype(np.int32))), want, dtype, peak=1.0, what="jit large k")


def _cycle_start_near(P, mult, target):
    """The first cycle start P*(mult**i - 1)/(mult - 1) at or above ``target`` (exact), and its index."""
    from fractions import Fraction

    m, i = Fraction(mult), 0
    while P * (m**i - 1) / (m - 1) < target:
        i += 1
    return P * (m**i - 1) / (m - 1), i


@pytest.mark.parametrize(
    "mult, dtype",
    [
        (2, "float32"),
        (2, "float64"),
        (1.5, "float32"),
        (1.5, "float64"),
    ],
)  # fmt: skip
def test_large_k_near_a_stretched_cycle_boundary(mult, dtype):
    """docs/language.md (Time): exact for any k < 2**31, also next to the restart of a `mult` repeat (linear 1 -> 0 per cycle)."""
    P = 8
    spec = doc({"kind": "repeat", "mult": mult, "of": {"kind": "linear", "start": 1.0, "end": 0.0, "duration": P}})
    start, i = _cycle_start_near(P, mult, 2**29)
    assert start < 2**31 - 1000
    first = math.ceil(start)  # the first step of cycle i
    k = np.array([first - 300, first - 3, first - 2, first - 1, first, first + 1, first + 300, INT32_MAX])
    want = ref_values(spec, k)
    assert want[3] < 1e-6 and want[4] > 1 - 1e-6  # the end of cycle i-1, then the restart
    got = schedspec.evaluate(spec, k, dtype=dtype)
    assert_close(got, want, dtype, peak=1.0, what=f"mult {mult} near the start of cycle {i} ({float(start)})")


def test_another_hyperparameter():
    spec = doc(0.1, momentum=[{"kind": "linear", "start": 0.95, "end": 0.85, "duration": 10}, {"kind": "cosine", "end": 0.8, "duration": 20}])
    k = np.arange(70)
    want = ref_values(spec, k, hparam="momentum")
    assert_close(schedspec.evaluate(spec, k, hparam="momentum", dtype="float64"), want, "float64")
    assert_close(schedspec.evaluate(spec, k, hparam="momentum"), want, "float32")
    assert_close(schedspec.to_jax(spec, hparam="momentum")(k), want, "float32")
    assert_close(schedspec.evaluate(spec, k, dtype="float64"), [0.1] * len(k), "float64")


def test_evaluate_dtype_is_honoured_inside_an_x64_context():
    spec = SPECS[IDS.index("warmup-cosine")]
    k = np.arange(0, 200, 9)
    with jax.enable_x64(True):
        out32 = schedspec.evaluate(spec, k, dtype="float32")
    with jax.enable_x64(False):
        out64 = schedspec.evaluate(spec, k, dtype="float64")
    assert out32.dtype == np.float32
    assert out64.dtype == np.float64
    assert_close(out32, ref_values(spec, k), "float32")
    assert_close(out64, ref_values(spec, k), "float64")


# ------------------------------------------------------------------------------------------- gradients
def _central_fd(spec, var, value, k, h):
    up = ref_value({**spec, "vars": {**spec["vars"], var: value + h}}, k)
    down = ref_value({**spec, "vars": {**spec["vars"], var: value - h}}, k)
    return (up - down) / (2 * h)


GRAD_CASES = [
    ("warmup-cosine-peak", doc([{"kind": "linear", "start": 0.0, "end": "$peak", "duration": 10},
                                {"kind": "cosine", "end": 0.001, "duration": 90}], vars={"peak": 0.1}), "peak", 0.1),  # fmt: skip
    ("exponential-gamma", doc({"kind": "exponential", "start": 0.1, "gamma": "$gamma", "duration": 100},
                              vars={"gamma": 0.97}), "gamma", 0.97),  # fmt: skip
    ("onecycle-peak", doc({"kind": "onecycle", "peak": "$peak", "duration": 50, "three_phase": True}, vars={"peak": 0.3}),
     "peak", 0.3),  # fmt: skip
    ("repeat-decay", doc({"kind": "repeat", "times": 3, "decay": "$d", "of": {"kind": "cosine", "start": 1.0, "duration": 10}},
                         vars={"d": 0.7}), "d", 0.7),  # fmt: skip
]


@pytest.mark.parametrize("spec, var, value", [c[1:] for c in GRAD_CASES], ids=[c[0] for c in GRAD_CASES])
def test_grad_matches_central_differences(spec, var, value):
    ks = [0, 1, 5, 10, 11, 30, 49, 77, 99, 100, 150]
    with jax.enable_x64(True):
        fn = schedspec.to_jax(spec, dtype="float64")
        g = jax.grad(lambda v, k: fn(k, **{var: v}))
        got = np.array([float(g(jnp.float64(value), k)) for k in ks[:3]])  # eager
        batched = np.asarray(jax.jit(jax.vmap(g, in_axes=(None, 0)))(jnp.float64(value), jnp.asarray(ks)))
    want = np.array([_central_fd(spec, var, value, k, 1e-6) for k in ks])
    assert np.any(np.abs(want) > 1e-3), "the test must exercise a non-zero derivative"
    np.testing.assert_allclose(batched, want, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got, batched[:3], rtol=1e-12, atol=1e-15)


def test_grad_without_x64_is_float32_accurate():
    spec, var, value = GRAD_CASES[0][1:]
    fn = schedspec.to_jax(spec)
    ks = [5, 30, 99]
    got = np.array([float(jax.grad(lambda v, k=k: fn(k, **{var: v}))(value)) for k in ks])
    want = np.array([_central_fd(spec, var, value, k, 1e-6) for k in ks])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------------------------------------ sweeps
@pytest.fixture
def compile_counter():
    events: list[str] = []

    def listener(name, duration, **kwargs):
        if name == "/jax/core/compile/backend_compile_duration":
            events.append(name)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield events
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def test_sweep_of_1000_compiles_once(compile_counter):
    peaks = [round(0.001 * (i + 1), 6) for i in range(1000)]
    spec = doc([{"kind": "linear", "start": 0.0, "end": "$peak", "duration": 10},
                {"kind": "cosine", "end": 0.0, "duration": 90}], vars={"peak": peaks})  # fmt: skip
    loaded = schedspec.load(spec)
    k = np.arange(0, 200, 3)
    before = len(compile_counter)
    out = schedspec.evaluate(loaded, k)
    assert len(compile_counter) - before == 1, f"{len(compile_counter) - before} XLA compilations for one sweep"
    assert out.shape == (1000, len(k))
    before = len(compile_counter)
    again = schedspec.evaluate(loaded, k)
    assert len(compile_counter) == before, "evaluating the same sweep again recompiled"
    np.testing.assert_array_equal(out, again)
    # every row is the single-config schedule with that peak
    for i, p in enumerate(peaks):
        single = {**spec, "vars": {"peak": p}}
        want = ref_values(single, k)
        assert_close(out[i], want, "float32", what=f"row {i} (peak={p})")
    for i in (0, 1, 500, 999):
        single = {**spec, "vars": {"peak": peaks[i]}}
        assert_close(out[i], schedspec.evaluate(single, k), "float32", what=f"row {i} vs single evaluate")


def test_sweep_given_to_evaluate_vars():
    spec = doc([{"kind": "linear", "start": 0.0, "end": "$peak", "duration": 10}, {"kind": "cosine", "duration": 30}],
               vars={"peak": 0.1})  # fmt: skip
    k = np.arange(50)
    out = schedspec.evaluate(spec, k, vars={"peak": [0.1, 0.3]}, dtype="float64")
    assert out.shape == (2, len(k))
    for row, p in zip(out, [0.1, 0.3]):
        assert_close(row, ref_values({**spec, "vars": {"peak": p}}, k), "float64")
    single = schedspec.evaluate(spec, k, vars={"peak": 0.3}, dtype="float64")
    assert single.shape == (len(k),)
    assert_close(single, out[1], "float64")


@pytest.mark.parametrize("order", [("peak", "floor"), ("floor", "peak")])
def test_two_var_sweep_is_the_cartesian_product_in_written_order(order):
    values = {"peak": [0.1, 0.2, 0.3], "floor": [0.0, 0.01]}
    spec = doc([{"kind": "linear", "start": 0.0, "end": "$peak", "duration": 5}, {"kind": "cosine", "end": "$floor", "duration": 20}],
               vars={name: values[name] for name in order})  # fmt: skip
    k = np.arange(40)
    out = schedspec.evaluate(spec, k, dtype="float64")
    assert out.shape == (6, len(k))
    members = [(a, b) for a in values[order[0]] for b in values[order[1]]]  # the last varies fastest
    for row, (a, b) in zip(out, members):
        member = {order[0]: a, order[1]: b}
        assert_close(row, ref_values({**spec, "vars": member}, k), "float64", what=str(member))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sweep_over_a_duration_var(dtype, compile_counter):
    spec = doc([{"kind": "linear", "start": 0.0, "end": 0.1, "duration": "$warmup"}, {"kind": "cosine", "end": 0.001, "duration": 90}],
               vars={"warmup": [10, 20, 30]})  # fmt: skip
    k = np.arange(0, 260)
    before = len(compile_counter)
    out = schedspec.evaluate(spec, k, dtype=dtype)
    assert len(compile_counter) - before == 1
    assert out.shape == (3, len(k))
    for row, w in zip(out, [10, 20, 30]):
        assert_close(row, ref_values({**spec, "vars": {"warmup": w}}, k), dtype, what=f"warmup={w}")


def test_sweep_over_duration_strings_and_numbers():
    spec = doc([{"kind": "linear", "start": 0.0, "end": "$peak", "duration": "$warmup"}, {"kind": "cosine", "duration": "$decay"}],
               steps_per_epoch=4, vars={"warmup": ["1ep", "2.5ep"], "peak": [0.1, 0.5], "decay": "5ep"})  # fmt: skip
    k = np.arange(0, 70)
    out = schedspec.evaluate(spec, k, dtype="float64")
    assert out.shape == (4, len(k))
    members = [(w, p) for w in ["1ep", "2.5ep"] for p in [0.1, 0.5]]
    for row, (w, p) in zip(out, members):
        member = {**spec, "vars": {"warmup": w, "peak": p, "decay": "5ep"}}
        assert_close(row, ref_values(member, k), "float64", what=f"warmup={w} peak={p}")


# -------------------------------------------------------------------------------------- random specs
@settings(max_examples=50, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(specs())
def test_random_specs_match_reference(spec):
    k = steps_for(spec)
    if len(k) > 4000:  # nested repeats can be long: a dense sample is enough
        k = np.unique(np.concatenate([k[:1000], np.linspace(0, k[-1], 3000).astype(np.int64)]))
    got = schedspec.evaluate(spec, k, dtype="float64")
    assert_close(got, ref_values(spec, k), "float64", what=f"random spec {spec}")


# ------------------------------------------------------------------- the reference itself, against torch
def _torch_lrs(make_scheduler, n, lr=0.1):
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=lr)
    sched = make_scheduler(torch.optim.lr_scheduler, opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize(
    "spec, make, n",
    [
        (doc({"kind": "onecycle", "peak": 0.4, "duration": 50}),
         lambda s, o: s.OneCycleLR(o, max_lr=0.4, total_steps=50, cycle_momentum=False), 50),
        (doc({"kind": "onecycle", "peak": 1.0, "duration": 10, "pct_start": 0.25, "anneal": "linear"}),
         lambda s, o: s.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=0.25, anneal_strategy="linear",
                                   cycle_momentum=False), 10),
        (doc({"kind": "onecycle", "peak": 0.5, "duration": 37, "pct_start": 0.4, "div_factor": 10, "final_div_factor": 100,
              "three_phase": True}),
         lambda s, o: s.OneCycleLR(o, max_lr=0.5, total_steps=37, pct_start=0.4, div_factor=10, final_div_factor=100,
                                   three_phase=True, cycle_momentum=False), 37),
        (doc({"kind": "cyclic", "low": 0.001, "high": 0.1, "up": 7, "down": 13, "mode": "triangular2"}),
         lambda s, o: s.CyclicLR(o, base_lr=0.001, max_lr=0.1, step_size_up=7, step_size_down=13, mode="triangular2",
                                 cycle_momentum=False), 90),
        (doc({"kind": "cyclic", "low": 0.01, "high": 0.5, "up": 5, "mode": "exp_range", "gamma": 0.99}),
         lambda s, o: s.CyclicLR(o, base_lr=0.01, max_lr=0.5, step_size_up=5, mode="exp_range", gamma=0.99,
                                 cycle_momentum=False), 60),
        (doc({"kind": "repeat", "mult": 2, "of": {"kind": "cosine", "start": 0.1, "end": 0.001, "duration": 5}}),
         lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.001), 80),
        (doc({"kind": "multistep", "start": 0.1, "milestones": [10, 10, 25], "gamma": 0.5}),
         lambda s, o: s.MultiStepLR(o, milestones=[10, 10, 25], gamma=0.5), 40),
    ],
    ids=["onecycle", "onecycle-fractional-linear", "onecycle-three-phase", "cyclic-triangular2", "cyclic-exp-range",
         "warm-restarts", "multistep-repeated"],
)  # fmt: skip
def test_reference_matches_torch(spec, make, n):
    want = _torch_lrs(make, n)
    assert_close(ref_values(spec, range(n)), want, "float64", what="reference vs torch")
