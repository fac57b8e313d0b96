"""Tests written to kill the mutants that survived the mutation run of issue 14 (tests/mutation/run.py).

Every expected value comes from the independent float64 reference (tests/reference.py), from a native framework,
or is worked by hand from the README's own formula text, never from a second copy of schedspec's formulas.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import schedspec
from schedspec import _compile
from schedspec import backends as B
from schedspec import formulas as F
from schedspec.evaluator import evaluate_numpy
from schedspec.lowering.bind import bind

try:  # tests/ as a package or as a rootdir on sys.path
    from .reference import ref_values
    from .test_evaluate import IDS, SPECS, assert_close, steps_for
except ImportError:
    from reference import ref_values
    from test_evaluate import IDS, SPECS, assert_close, steps_for


def _math_values(spec, k):
    """The plain-Python scalar path (MathXP: torch adapters, constant folding, ``check``), one step at a time."""
    program = schedspec.load(spec).program
    bound = bind(program, program.sweep_members()[0] if program.sweep_vars else None)
    fn = _compile.build(bound.hparams["lr"], B.MathXP)
    return np.array([B.MathXP.out(fn(int(i), {}), int(i)) for i in k], dtype=np.float64)


# ------------------------------------------------------------------ formulas.py: the numpy and plain-Python paths
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_numpy_path_matches_reference(spec):
    k = steps_for(spec)
    assert_close(evaluate_numpy(schedspec.load(spec), k), ref_values(spec, k), "float64", what="numpy path")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_math_path_matches_reference(spec):
    k = steps_for(spec)
    assert_close(_math_values(spec, k), ref_values(spec, k), "float64", what="plain-Python path")


def _math_values_metrics(spec, k, metrics):
    program = schedspec.load(spec).program
    bound = bind(program, None)
    fn = _compile.build(bound.hparams["lr"], B.MathXP)
    env = {("metric", n): [float(x) for x in v] for n, v in metrics.items()}
    return np.array([B.MathXP.out(fn(int(i), env), int(i)) for i in k], dtype=np.float64)


def _doc(lr, **top):
    return {"schedspec": 1, **top, "lr": lr}


# reports chosen so that every branch of the state machine is taken: improvements, bad reports, NaN, a
# threshold just met and just missed, cooldown, the floor `min`, and `eps` swallowing a tiny reduction
_LOSS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.9, 0.9, float("nan"), 0.5, 0.49995, 0.4999, 0.6, 0.6, 0.6, 0.6, 0.6,
         0.6, 0.6, 0.6, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
_ACC = [0.1, 0.2, 0.2, 0.2, 0.21, 0.2, 0.2, 0.5, 0.5, 0.5, 0.5, float("nan"), 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6,
        0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
PLATEAUS = {
    "min-rel-carried": (_doc([
        {"kind": "linear", "duration": 4, "start": 0.0, "end": 0.1},
        {"kind": "plateau", "duration": 40, "monitor": "loss", "every": 2, "patience": 1, "factor": 0.5},
        {"kind": "cosine", "duration": 10, "end": 0.0},
    ]), {"loss": _LOSS}),
    "min-abs-cooldown-floor": (_doc([
        {"kind": "plateau", "duration": 60, "start": 1.0, "monitor": "loss", "every": 2, "patience": 0,
         "factor": 0.5, "threshold": 0.01, "threshold_mode": "abs", "cooldown": 2, "min": 0.1},
    ]), {"loss": _LOSS}),
    "max-rel": (_doc([
        {"kind": "plateau", "duration": 60, "start": 0.2, "monitor": "acc", "every": 2, "mode": "max",
         "patience": 1, "factor": 0.1, "threshold": 0.05},
    ]), {"acc": _ACC}),
    "max-abs-eps": (_doc([
        {"kind": "plateau", "duration": 60, "start": 1e-7, "monitor": "acc", "every": 2, "mode": "max",
         "patience": 0, "factor": 0.5, "threshold": 0.0, "threshold_mode": "abs", "eps": 1e-7},
    ]), {"acc": _ACC}),
    "two-plateaus-one-metric-then-open": (_doc([
        {"kind": "plateau", "duration": 20, "start": 0.1, "monitor": "loss", "every": 2, "patience": 1},
        {"kind": "constant", "duration": 6},
        {"kind": "plateau", "monitor": "loss", "every": 2, "patience": 2, "factor": 0.3},
    ], total=60), {"loss": _LOSS}),
    "steps-per-epoch-clock": (_doc([
        {"kind": "linear", "duration": "1ep", "start": 0.0, "end": 0.1},
        {"kind": "plateau", "duration": "15ep", "monitor": "loss", "patience": 1, "factor": 0.5},
    ], steps_per_epoch=3), {"loss": _LOSS}),
}


@pytest.mark.parametrize("name", list(PLATEAUS))
def test_plateau_numpy_and_math_paths_match_reference(name):
    spec, metrics = PLATEAUS[name]
    k = np.arange(0, 2 * len(next(iter(metrics.values()))) - 6)
    want = ref_values(spec, k, metrics=metrics)
    assert_close(evaluate_numpy(schedspec.load(spec), k, metrics=metrics), want, "float64", what="numpy plateau")
    assert_close(_math_values_metrics(spec, k, metrics), want, "float64", what="plain-Python plateau")


EXTENSIONS = {
    "polynomial-cycle": _doc({"kind": "polynomial", "duration": 7, "start": 1.0, "end": 0.1, "power": 2.0,
                              "cycle": True}),
    "polynomial-cycle-linear": _doc({"kind": "polynomial", "duration": 5, "start": 0.5, "end": 0.0, "cycle": True}),
    "polynomial-cycle-fractional": _doc({"kind": "polynomial", "duration": 6, "start": 0.0, "end": 1.0,
                                         "power": 0.5, "cycle": True}),
    "sum": _doc({"kind": "sum", "of": [
        {"kind": "cosine", "duration": 10, "start": 1.0, "end": 0.0},
        {"kind": "constant", "value": 0.1}]}),
    "polynomial-power-3": _doc({"kind": "polynomial", "duration": 9, "start": 2.0, "end": 0.5, "power": 3.0}),
    "cosine-exponent": _doc({"kind": "cosine", "duration": 9, "start": 2.0, "end": 0.5, "exponent": 0.5}),
}


@pytest.mark.parametrize("name", list(EXTENSIONS))
def test_extension_kinds_numpy_and_math_paths_match_reference(name):
    spec = EXTENSIONS[name]
    k = np.arange(0, 40)
    want = ref_values(spec, k)
    assert_close(evaluate_numpy(schedspec.load(spec), k), want, "float64", what="numpy")
    assert_close(_math_values(spec, k), want, "float64", what="plain-Python")


# `start` and `end` as arrays (check's min/max evaluates every sweep member at once with numpy arrays, and a
# traced `$var` is an array under jax): each member must equal its own scalar schedule from the reference
@pytest.mark.parametrize("kind, extra", [("linear", {}), ("cosine", {}), ("cosine", {"exponent": 2.0}),
                                         ("polynomial", {"power": 0.5}), ("polynomial", {"power": 1.0})])
def test_array_endpoints_equal_each_members_reference(kind, extra):
    starts = np.array([0.0, 1.0, 0.5, 2.0])
    ends = np.array([1.0, 0.0, 0.5, -1.0])
    T, t = 8, np.arange(0, 12)
    xp = B.NumpyXP()
    fn = {"linear": lambda s, e: F.linear(xp, t[:, None], T, s, e),
          "cosine": lambda s, e: F.cosine(xp, t[:, None], T, s, e, extra.get("exponent", 1.0)),
          "polynomial": lambda s, e: F.polynomial(xp, t[:, None], T, s, e, extra["power"])}[kind]
    got = np.asarray(fn(starts[None, :], ends[None, :]), dtype=np.float64)
    for i, (s, e) in enumerate(zip(starts, ends)):
        want = ref_values(_doc({"kind": kind, "duration": T, "start": float(s), "end": float(e), **extra}), t)
        assert_close(got[:, i], want, "float64", what=f"member {i}")
    mixed = np.asarray(fn(1.0, ends[None, :]), dtype=np.float64)  # a number start with array ends
    for i, e in enumerate(ends):
        want = ref_values(_doc({"kind": kind, "duration": T, "start": 1.0, "end": float(e), **extra}), t)
        assert_close(mixed[:, i], want, "float64", what=f"mixed member {i}")


# ------------------------------------------------------------- the guards against rounding past an end (between)
# w = 1 is `start`; these pairs are ones where `end + (start - end) * 1.0` rounds past `start` (found by search):
# the README's invariant (a monotone piece never leaves [min(start, end), max(start, end)]) needs the clamp
ROUNDING_PAST_START = [(0.008271307151992943, 0.2947622464588423), (0.005786653865705884, 0.001162164653484119)]


@pytest.mark.parametrize("start, end", ROUNDING_PAST_START)
def test_between_gives_start_exactly_where_the_sum_rounds_past_it(start, end):
    assert end + (start - end) * 1.0 != start  # the case is real
    assert F.between(B.MathXP, start, end, 1.0) == start
    assert F.between(B.MathXP, start, end, 0.0) == end
    xp = B.NumpyXP()
    got = F.between(xp, np.array([start, end]), np.array([end, start]), np.array([1.0, 0.0]))
    assert got.tolist() == [start, start]
    mixed = F.between(xp, start, np.array([end]), np.array([1.0]))
    assert mixed.tolist() == [start]


def test_exponential_with_gamma_one_ignores_its_end():
    """docs/language.md: ``end`` is a floor for gamma < 1, a ceiling above; gamma = 1 is constant ``start``."""
    for end in (0.2, 0.8):
        spec = _doc({"kind": "exponential", "start": 0.5, "gamma": 1.0, "end": end})
        k = np.arange(0, 12)
        want = ref_values(spec, k)
        assert want == [0.5] * 12
        assert_close(evaluate_numpy(schedspec.load(spec), k), want, "float64")
        assert_close(_math_values(spec, k), want, "float64")


def test_exponential_with_an_array_gamma_equals_each_members_reference():
    xp = B.NumpyXP()
    t = np.arange(0, 20)
    gammas = np.array([0.5, 1.0, 1.5])
    for end in (0.3, 2.0):
        got = np.asarray(F.exponential(xp, t[:, None], 1.0, gammas[None, :], 2, False, end), dtype=np.float64)
        for i, g in enumerate(gammas):
            want = ref_values(_doc({"kind": "exponential", "start": 1.0, "gamma": float(g), "every": 2,
                                    "end": end}), t)
            assert_close(got[:, i], want, "float64", what=f"gamma {g} end {end}")


CYCLIC = {
    "triangular-gamma-ignored": {"mode": "triangular", "gamma": 0.9},
    "triangular2": {"mode": "triangular2"},
    "exp_range-decay": {"mode": "exp_range", "gamma": 0.97},
    "exp_range-growth": {"mode": "exp_range", "gamma": 1.01, "duration": 60},
    "exp_range-one": {"mode": "exp_range", "gamma": 1.0},
    "asymmetric": {"mode": "triangular", "up": 3, "down": 7},
}


@pytest.mark.parametrize("name", list(CYCLIC))
def test_cyclic_modes_match_reference(name):
    spec = _doc({"kind": "cyclic", "low": 0.1, "high": 1.0, "up": 4, "down": 4, **CYCLIC[name]})
    k = np.arange(0, 50)
    want = ref_values(spec, k)
    assert_close(evaluate_numpy(schedspec.load(spec), k), want, "float64", what="numpy")
    assert_close(_math_values(spec, k), want, "float64", what="plain-Python")


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic_with_array_bounds_and_gamma_equals_each_members_reference(mode):
    xp = B.NumpyXP()
    t = np.arange(0, 30)
    lows, highs, gammas = np.array([0.1, 0.0, 0.5]), np.array([1.0, 0.3, 0.6]), np.array([0.9, 1.0, 1.05])
    got = np.asarray(F.cyclic(xp, t[:, None], lows[None, :], highs[None, :], 3, 5, mode, gammas[None, :]),
                     dtype=np.float64)
    for i in range(3):
        want = ref_values(_doc({"kind": "cyclic", "low": float(lows[i]), "high": float(highs[i]), "up": 3,
                                "down": 5, "mode": mode, "gamma": float(gammas[i])}), t)
        assert_close(got[:, i], want, "float64", what=f"member {i}")


# ------------------------------------------------ the JAX and keras.ops backends: every kind in ONE spec (fast)
ALL_KINDS = _doc([
    {"kind": "linear", "duration": 6, "start": 0.0, "end": 1.0},
    {"kind": "cosine", "duration": 7, "end": 0.1, "exponent": 2.0},
    {"kind": "polynomial", "duration": 7, "start": 0.9, "end": 0.01, "power": 2.0},
    {"kind": "polynomial", "duration": 7, "start": 0.8, "end": 0.05, "power": 0.5},
    {"kind": "exponential", "duration": 9, "start": 0.7, "gamma": 0.999, "end": 0.6951},
    {"kind": "exponential", "duration": 9, "start": 0.2, "gamma": 1.3, "every": 2, "staircase": True, "end": 0.4},
    {"kind": "step", "duration": 9, "start": 0.9, "every": 3, "gamma": 0.5},
    {"kind": "multistep", "duration": 9, "start": 0.9, "milestones": [2, 5, 5]},
    # more than 16 milestones: the jax backend counts them with a search instead of a sum of comparisons
    {"kind": "multistep", "duration": 45, "start": 0.9, "gamma": 0.9, "milestones": [*range(1, 20), 20, 20, 33]},
    {"kind": "piecewise", "duration": 9, "points": [[0, 0.3], [3, 0.9], [6, 0.1]], "interpolate": "cosine"},
    {"kind": "piecewise", "duration": 9, "points": [[0, 0.3], [4, 0.9]]},
    {"kind": "inverse_time", "duration": 9, "start": 0.6, "rate": 0.5, "every": 2, "staircase": True},
    {"kind": "inverse_sqrt", "duration": 9, "start": 0.6, "timescale": 3},
    {"kind": "cyclic", "duration": 17, "low": 0.1, "high": 0.9, "up": 3, "down": 5, "mode": "triangular2"},
    {"kind": "cyclic", "duration": 17, "low": 0.1, "high": 0.9, "up": 3, "mode": "exp_range", "gamma": 0.9},
    {"kind": "onecycle", "duration": 20, "peak": 0.9, "three_phase": True},
    {"kind": "onecycle", "duration": 20, "peak": 0.9, "anneal": "linear"},
    {"kind": "sum", "duration": 12, "of": [
        {"kind": "cosine", "duration": 10, "start": 0.5, "end": 0.0}, {"kind": "constant", "value": 0.05}]},
    {"kind": "repeat", "times": 3, "mult": 2, "decay": 0.5, "of": [
        {"kind": "linear", "duration": 3, "start": 0.1, "end": 0.4}, {"kind": "cosine", "duration": 4}]},
    {"kind": "product", "duration": 8, "of": [
        {"kind": "linear", "duration": 8, "start": 1.0, "end": 0.5}, {"kind": "step", "start": 0.6, "every": 2}]},
    {"kind": "clip", "min": 0.2, "max": 0.5, "of": {"kind": "linear", "duration": 8, "start": 0.0, "end": 1.0}},
    {"kind": "polynomial", "duration": 5, "start": 0.5, "end": 0.1, "power": 2.0, "cycle": True},
])


def _all_kinds_steps():
    return np.concatenate([np.arange(0, 260), [1000, 2**31 - 1]])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_kind_in_one_spec_on_jax_matches_reference(dtype):
    k = _all_kinds_steps()
    assert_close(schedspec.evaluate(ALL_KINDS, k, dtype=dtype), ref_values(ALL_KINDS, k), dtype, what="jax")


def test_every_kind_in_one_spec_on_the_numpy_and_math_paths():
    k = _all_kinds_steps()
    want = ref_values(ALL_KINDS, k)
    assert_close(evaluate_numpy(schedspec.load(ALL_KINDS), k), want, "float64", what="numpy")
    assert_close(_math_values(ALL_KINDS, k), want, "float64", what="plain-Python")


def test_every_kind_in_one_spec_on_keras_ops_matches_reference():
    import jax

    pytest.importorskip("keras")
    schedule = schedspec.to_keras(ALL_KINDS)  # keras.ops on the jax backend: one jit, not op by op
    k = _all_kinds_steps()
    got = np.asarray(jax.jit(schedule)(jax.numpy.asarray(k, dtype="int32")))
    assert_close(got, ref_values(ALL_KINDS, k), "float32", what="keras")


@pytest.mark.parametrize("name", ["min-rel-carried", "max-rel", "steps-per-epoch-clock"])
def test_plateau_on_jax_matches_reference(name):
    spec, metrics = PLATEAUS[name]
    k = np.arange(0, 2 * len(next(iter(metrics.values()))) - 6)
    want = ref_values(spec, k, metrics=metrics)
    for dtype in ("float64", "float32"):
        assert_close(schedspec.evaluate(spec, k, metrics=metrics, dtype=dtype), want, dtype, what="jax plateau")


# ------------------------------------------- every value keeps its own relative precision (README, Numerics)
def _exact_linear_onecycle(k, N, peak, pct_start, div_factor, final_div_factor):
    """torch ``OneCycleLR(anneal_strategy="linear")`` (two phases) in exact rational arithmetic on the float64
    inputs: init -> peak over [0, pct*N - 1], peak -> low over [pct*N - 1, N - 1], held after (README)."""
    from fractions import Fraction as Q

    init = peak / div_factor
    low = init / final_div_factor
    e1 = Q(pct_start) * N - 1
    t = Q(min(k, N - 1))
    if t <= e1:
        return Q(init) + (Q(peak) - Q(init)) * t / e1
    return Q(peak) + (Q(low) - Q(peak)) * (t - e1) / (N - 1 - e1)


def test_a_linear_onecycle_keeps_the_relative_precision_of_its_tiny_ends():
    """Next to both ends a value is ~1e-6 of the peak (a long anneal, a large div_factor): computed from the far
    end it would carry an error of an ulp of the peak, ~1e-10 of itself. The parity tolerance (1e-12*peak) cannot
    see that; this can."""
    N, peak, pct, div, fdiv = 1_000_000, 1.0, 0.3, 1e6, 1e6  # steps next to an end are ~1e-6 of the peak
    spec = _doc({"kind": "onecycle", "duration": N, "peak": peak, "pct_start": pct, "div_factor": div,
                 "final_div_factor": fdiv, "anneal": "linear"})
    e1 = int(pct * N) - 1
    k = np.array([0, 1, 2, 3, e1 - 2, e1 - 1, e1, e1 + 1, e1 + 2, N - 4, N - 3, N - 2, N - 1, N, N + 1])
    exact = np.array([float(_exact_linear_onecycle(int(i), N, peak, pct, div, fdiv)) for i in k])
    for got, what in ((evaluate_numpy(schedspec.load(spec), k), "numpy"), (_math_values(spec, k), "plain-Python")):
        rel = np.abs(got - exact) / np.abs(exact)
        assert np.max(rel) <= 1e-13, (what, int(np.argmax(rel)), float(np.max(rel)))


def test_a_growing_factor_times_zero_stays_zero_for_array_starts():
    """README, Numerics: never NaN or inf for finite parameters, a growing factor times 0 stays 0 (here the start
    is an array, as a swept or traced start is). 2**3 = 8 exactly; 2**2000 overflows float64."""
    xp = B.NumpyXP()
    v = np.array([0.0, 1.0, 2.0, -0.5])
    assert F.scaled(xp, v, 2.0, np.full(4, 3.0)).tolist() == [0.0, 8.0, 16.0, -4.0]
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow itself is expected here
        assert F.scaled(xp, v, 2.0, np.full(4, 2000.0)).tolist() == [0.0, math.inf, math.inf, -math.inf]
    assert F.scaled(xp, v, 0.5, np.full(4, 2.0)).tolist() == [0.0, 0.25, 0.5, -0.125]
    assert F.scaled(B.MathXP, 0.0, 2.0, 2000.0) == 0.0


@pytest.mark.parametrize("interpolate", ["constant", "linear", "cosine"])
def test_a_piecewise_of_one_point_is_that_value(interpolate):
    spec = _doc({"kind": "piecewise", "points": [[0, 0.3]], "interpolate": interpolate})
    k = np.arange(0, 5)
    want = ref_values(spec, k)
    assert want == [0.3] * 5
    assert evaluate_numpy(schedspec.load(spec), k).tolist() == want
    assert _math_values(spec, k).tolist() == want


# torch ReduceLROnPlateau's comparisons are strict (`<`, `>`) and its eps test is `lr - new > eps`: reports that
# land exactly on each boundary (exact binary fractions), and a first report that is NaN (a bad one before any best)
def _edge(reports, **params):
    p = {"kind": "plateau", "duration": 12, "start": 1.0, "monitor": "m", "every": 1, "patience": 0,
         "factor": 0.5, **params}
    return _doc([p]), {"m": reports}


NAN = float("nan")
PLATEAU_EDGES = {
    "min-rel-equal-first-nan-p0": _edge([NAN, 1.0, 0.5, 0.5, 0.25] + [0.1] * 8, threshold=0.5),
    "min-rel-equal-first-nan-p1": _edge([NAN, 1.0, 0.5, 0.5, 0.25] + [0.1] * 8, threshold=0.5, patience=1),
    "min-abs-equal": _edge([1.0, 0.75, 0.5, 0.5] + [0.25] * 9, threshold=0.25, threshold_mode="abs"),
    "max-rel-not-abs": _edge([0.5, 0.58, 0.66, 0.7] + [0.9] * 9, mode="max", threshold=0.1),
    "max-rel-equal": _edge([0.5, 0.75, 0.75, 1.5] + [2.0] * 9, mode="max", threshold=0.5),
    "max-abs-equal": _edge([0.5, 0.75, 1.0, 1.0] + [1.5] * 9, mode="max", threshold=0.25, threshold_mode="abs"),
    "eps-equal": _edge([1.0] * 13, eps=0.5),
}


@pytest.mark.parametrize("name", list(PLATEAU_EDGES))
def test_plateau_decisions_on_the_boundaries_match_reference(name):
    spec, metrics = PLATEAU_EDGES[name]
    k = np.arange(0, 14)
    want = ref_values(spec, k, metrics=metrics)
    assert_close(evaluate_numpy(schedspec.load(spec), k, metrics=metrics), want, "float64", what="numpy")
    assert_close(_math_values_metrics(spec, k, metrics), want, "float64", what="plain-Python")


# ------------------------------------------------------------------ the report clock's bookkeeping, by hand
def test_plateau_needed_counts_the_reports_a_step_waits_for():
    """docs/language.md, the report clock: report j is made at the end of steps [j*every, (j+1)*every); the value
    at k needs the reports completed before k (k // every of them), none before the plateau begins or while it
    holds its start, at most ``stop``."""
    assert F.plateau_needed(3, 5, 2, None) == 0  # before the plateau
    assert F.plateau_needed(5, 5, 2, None) == 0  # it begins inside report interval 2: still its start
    assert F.plateau_needed(6, 5, 2, None) == 3
    assert F.plateau_needed(7, 0, 2, None) == 3
    assert type(F.plateau_needed(7, 0, 2, None)) is int
    assert F.plateau_needed(7, 0, 2, 2) == 2  # a plateau that ends after report 1 needs no more
    assert F.plateau_needed(10**9, 0, 1, 40) == 40
    assert F.plateau_needed(1, 0, 1, None) == 1


def test_a_value_that_needs_a_missing_report_is_nan_never_a_guess():
    """README: under jit a value that needs a report not given is NaN, never a guess (here on numpy)."""
    xp = B.NumpyXP()
    t = np.arange(0, 4)
    got = F.plateau(xp, t, 0, 1, np.array([1.0, 0.5, 0.25]), 2, 0)  # 2 reports known: k = 3 needs a third
    assert got[:3].tolist() == [1.0, 0.5, 0.25] and math.isnan(got[3])
    # a plateau whose reports start at report 2 (first = 2) with 1 report known: k <= 2 needs none of its own
    got = F.plateau(xp, t, 0, 1, np.array([1.0, 1.0, 1.0, 0.5]), 1, 2)
    assert got[:3].tolist() == [1.0, 1.0, 1.0] and math.isnan(got[3])


def test_an_open_plateau_uses_its_last_report():
    """An open plateau evaluated up to k = (number of reports) * every: the last value is after the last report."""
    spec = _doc({"kind": "plateau", "start": 1.0, "monitor": "m", "every": 1, "patience": 0, "factor": 0.5})
    metrics = {"m": [1.0, 2.0, 3.0]}  # the 2nd and 3rd reports are bad: halved after each
    k = np.arange(0, 4)
    want = ref_values(spec, k, metrics=metrics)
    assert want == [1.0, 1.0, 0.5, 0.25]
    assert evaluate_numpy(schedspec.load(spec), k, metrics=metrics).tolist() == want
    assert _math_values_metrics(spec, k, metrics).tolist() == want


@pytest.mark.parametrize("xp", [B.MathXP, B.NumpyXP()], ids=["math", "numpy"])
def test_cos_weight_is_exact_at_its_ends_and_relatively_accurate(xp):
    """README, Numerics: the cosine weight is sin(pi*q/2)**2, exactly 0 at q = 0 and exactly 1/2 at q = 1/2, with
    full relative precision near 0 (checked against (1 - cos(pi*q))/2 where that has no cancellation, and against
    the Taylor series pi**2 q**2 / 4 - pi**4 q**4 / 48 where q is tiny)."""
    def w(q):
        return float(F.cos_weight(xp, q if xp is B.MathXP else np.float64(q)))

    assert w(0.0) == 0.0 and w(0.5) == 0.5
    for q in (1e-9, 1e-6, 1e-4):
        taylor = math.pi**2 * q**2 / 4 - math.pi**4 * q**4 / 48
        assert abs(w(q) - taylor) <= 1e-14 * taylor, q
    for q in (0.2, 0.25, 0.3, 0.4, 0.45, 0.49):
        want = (1 - math.cos(math.pi * q)) / 2
        assert abs(w(q) - want) <= 4e-16, q


def test_plateau_trajectories_of_an_online_adapter_match_reference_and_keep_the_report_count():
    # what the torch/Keras Reports and the optax state keep between reports: per plateau, its value after each
    # report n (n = 0..len(reports)), i.e. the value at k = n * every while it is active, and the count of reports
    # actually made (optax's fixed buffer holds more slots than reports). The second plateau's start is carried
    # from the first, so it is a Final evaluated from the same reports.
    from schedspec import _metrics

    spec = _doc([
        {"kind": "linear", "duration": 4, "start": 0.0, "end": 0.1},
        {"kind": "plateau", "duration": 10, "monitor": "loss", "every": 2, "patience": 1, "factor": 0.5},
        {"kind": "plateau", "duration": 20, "monitor": "loss", "every": 2, "patience": 0, "factor": 0.5},
    ])  # fmt: skip
    reports = _LOSS[:17]
    sites = _metrics.sites(bind(schedspec.load(spec).program, None).hparams["lr"])
    assert [(s.origin, s.stop()) for s in sites] == [(4, 7), (14, 17)]
    got = _metrics.trajectories(B.MathXP, sites, {("metric", "loss"): reports, ("count", "loss"): 7})
    want = ref_values(spec, [2 * n for n in range(18)], metrics={"loss": reports})
    for site in sites:
        traj, count = got[("trajectory", site.node, site.origin)]
        assert count == 7
        active = range(site.first(), site.stop() + 1)
        assert [traj[n] for n in active] == [want[n] for n in active], site.origin
        # after its last report a plateau holds (README: its final value is the value after its last report)
        assert traj[site.stop():] == [want[site.stop()]] * (len(reports) + 1 - site.stop())


@pytest.mark.parametrize("name", ["max-rel", "min-abs-cooldown-floor"])
def test_plateau_trajectories_of_every_mode_match_reference(name):
    from schedspec import _metrics

    spec, metrics = PLATEAUS[name]
    (site,) = _metrics.sites(bind(schedspec.load(spec).program, None).hparams["lr"])
    (reports,) = metrics.values()
    (traj, count), = _metrics.trajectories(B.MathXP, [site], {("metric", site.monitor): reports}).values()
    assert count == len(reports) and site.every == 2 and site.first() == 0
    want = ref_values(spec, [2 * n for n in range(site.stop() + 1)], metrics=metrics)
    assert traj[: site.stop() + 1] == want


def test_plateau_reports_of_an_online_adapter_count_from_0_and_resume_from_nothing():
    # Reports.add returns the index j of the report it records (0, 1, ...); load() of a mapping without the
    # metric resumes with no reports of it
    from schedspec import _metrics

    spec, _ = PLATEAUS["min-rel-carried"]
    tree = bind(schedspec.load(spec).program, None).hparams["lr"]
    reports = _metrics.Reports([tree])
    assert [reports.add("loss", x) for x in (1.0, 0.9, 0.9, 0.95)] == [0, 1, 2, 3]
    reports.load({})
    assert reports.reports == {"loss": []}
    assert reports.add("loss", 1.0) == 0


def test_plateau_reports_missing_lists_what_a_step_waits_for():
    # min-rel-carried: a plateau from step 4, every 2 (README's report clock: the value at k follows reports
    # j < k // 2; it consumes from report #2 = 4 // 2). By hand: k = 5 needs none of its own, k = 6 needs reports
    # #0..#2 (3, counted from report 0), k = 9 needs 4 (9 // 2)
    from schedspec import _metrics

    spec, _ = PLATEAUS["min-rel-carried"]
    reports = _metrics.Reports([bind(schedspec.load(spec).program, None).hparams["lr"]])
    (site,) = reports.sites
    assert reports.missing(5) == []
    assert reports.missing(6) == [(site, 3)] and reports.missing(9) == [(site, 4)]
    for x in (1.0, 0.9):
        reports.add("loss", x)
    assert reports.missing(6) == [(site, 3)]
    reports.add("loss", 0.9)
    assert reports.missing(6) == [] and reports.missing(9) == [(site, 4)]
