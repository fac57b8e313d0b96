"""``evaluate(spec, k, vars={...})`` with new var values (issue 13): no new lowering and no new compilation for a
new scalar value of a number var, with the values, vars and errors that lowering gives (the shortcut is checked
against ``Spec.with_vars``, which lowers, and against the independent reference). Correctness only, no timing.
"""

from __future__ import annotations

import math
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import schedspec  # noqa: E402
from schedspec import _compile, evaluator  # noqa: E402
from schedspec import spec as spec_module  # noqa: E402

pytest.importorskip("jax")

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import Counter, assert_f32, assert_f64
    from .reference import ref_values
except ImportError:
    from helpers import Counter, assert_f32, assert_f64
    from reference import ref_values

DOC = {
    "schedspec": 1,
    "vars": {"peak": 0.1, "floor": 0.001, "power": 2},
    "lr": [
        {"kind": "linear", "duration": 10, "start": 0, "end": "$peak"},
        {"kind": "polynomial", "duration": 60, "end": "$floor", "power": "$power"},
        {"kind": "cosine", "duration": 30, "end": 0},
    ],
}
K = np.array([0, 1, 9, 10, 11, 35, 69, 70, 71, 99, 100, 101, 5000])


def test_new_values_are_neither_lowered_nor_compiled_again(monkeypatch):
    spec = schedspec.load(DOC)
    schedspec.evaluate(spec, K, vars={"peak": 0.3})  # the first call works out what a var value may change
    lowerings = Counter(monkeypatch, spec_module, "lower")
    traces = Counter(monkeypatch, _compile, "build")  # called while jax traces the program, only then
    for peak, floor in [(0.2, 0.0), (0.05, 0.01), (1.5, 0.2), (7, 0)]:
        got = schedspec.evaluate(spec, K, vars={"peak": peak, "floor": floor})
        member = {"peak": peak, "floor": floor, "power": 2}
        assert_f32(got, ref_values(DOC, K.tolist(), member=member), f"peak={peak} floor={floor}")
    assert (lowerings.calls, traces.calls) == (0, 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_shortcut_gives_what_lowering_gives(dtype):
    spec = schedspec.load(DOC)
    for vars in [{"peak": 0.2}, {"power": 0.5}, {"peak": 3, "floor": 0.5, "power": 1}]:
        fast = schedspec.evaluate(spec, K, vars=vars, dtype=dtype)
        lowered = spec.with_vars(vars)
        np.testing.assert_array_equal(fast, schedspec.evaluate(lowered, K, dtype=dtype))
        assert fast.dtype == np.dtype(dtype)
        if dtype == "float64":
            assert_f64(fast, ref_values(DOC, K.tolist(), member={**DOC["vars"], **vars}), str(vars))


_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-2, 2),
    st.integers(-5, 5),
    st.sampled_from([0, 0.0, -0.0, 1e38, 3.5e38, -1e-300, True, False, "10 steps", "$peak", None, [0.1, 0.2]]),
)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(["peak", "floor", "power"]), value=_VALUES)
def test_any_value_is_accepted_or_refused_exactly_as_lowering_does(name, value):
    """Every value, good or bad, against ``with_vars`` (lowering): the same SpecError, or the same values."""
    spec = schedspec.load(DOC)
    try:
        expected = schedspec.evaluate(spec.with_vars({name: value}), K)
    except schedspec.SpecError as e:
        with pytest.raises(schedspec.SpecError) as got:
            schedspec.evaluate(spec, K, vars={name: value})
        assert str(got.value) == str(e)
        return
    np.testing.assert_array_equal(schedspec.evaluate(spec, K, vars={name: value}), expected)


def test_a_var_under_a_node_that_can_grow_is_lowered_again(monkeypatch):
    """Its value takes part in the overflow check: that spec goes through lowering, and a value that overflows
    is refused as by ``load``."""
    doc = {"schedspec": 1, "vars": {"g": 0.5, "peak": 0.1},
           "lr": [{"kind": "linear", "duration": 10, "start": 0, "end": "$peak"},
                  {"kind": "exponential", "duration": 1000, "gamma": "$g"}]}  # fmt: skip
    spec = schedspec.load(doc)
    assert "g" not in evaluator._Rebind(spec).bounds and "peak" not in evaluator._Rebind(spec).bounds  # carried
    lowerings = Counter(monkeypatch, spec_module, "lower")
    got = schedspec.evaluate(spec, [0, 10, 20], vars={"g": 0.9}, dtype="float64")
    assert lowerings.calls == 1
    assert_f64(got, ref_values(doc, [0, 10, 20], member={"g": 0.9, "peak": 0.1}), "g=0.9")
    with pytest.raises(schedspec.SpecError, match="float32"):
        schedspec.evaluate(spec, [0], vars={"g": 2.0})


def test_duration_and_sweep_vars_are_lowered_again(monkeypatch):
    doc = {"schedspec": 1, "vars": {"w": 10, "peak": 0.1},
           "lr": [{"kind": "linear", "duration": "$w", "start": 0, "end": "$peak"}, {"kind": "cosine", "duration": 90}]}  # fmt: skip
    spec = schedspec.load(doc)
    assert set(evaluator._Rebind(spec).bounds) == {"peak"}
    lowerings = Counter(monkeypatch, spec_module, "lower")
    got = schedspec.evaluate(spec, [0, 15, 20, 99], vars={"w": 20}, dtype="float64")
    assert_f64(got, ref_values(doc, [0, 15, 20, 99], member={"w": 20, "peak": 0.1}), "w=20")
    swept = schedspec.evaluate(spec, [15], vars={"peak": [0.1, 0.2]}, dtype="float64")
    assert swept.shape == (2, 1) and math.isclose(swept[1, 0], 2 * swept[0, 0])
    assert lowerings.calls == 2
