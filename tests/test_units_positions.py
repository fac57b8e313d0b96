"""Units and vars in lowering (schedspec/lowering/units.py): the README's promises that every error is
``file:line:col: what is wrong and how to fix it`` (here at the var's own value, the sweep element included), that
durations are never rounded, that units follow the spec's ``interval``, and that warnings are warnings. Written to
kill the mutants of units.py that tests/test_language.py left alive (issue 14); positions and values by hand."""

from __future__ import annotations

import numpy as np
import pytest

import schedspec
from schedspec.evaluator import evaluate_numpy

try:
    from .reference import ref_members, ref_values
except ImportError:
    from reference import ref_members, ref_values

H = "schedspec: 1\n"


def _error(text):
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.loads(text)
    return err.value


def test_a_bad_duration_in_a_sweep_is_positioned_at_its_element_once():
    err = _error(H + "vars: {d: [10, 2.5]}\nlr: [{kind: linear, duration: $d, start: 0, end: 1}]\n")
    assert len(err.issues) == 1
    #                 vars: {d: [10, 2.5]}: the 2.5 is line 2, column 16
    assert str(err) == "<string>:2:16: a bare duration (var $d, used at lr[0].duration) is a whole number of steps (got 2.5)"


def test_a_number_var_beyond_float32_is_positioned_at_its_element():
    err = _error(H + "vars: {x: [0.5, 1.0e+39]}\nlr: {kind: constant, value: $x}\n")
    assert len(err.issues) == 1
    assert str(err).startswith("<string>:2:17: $x = 1e+39 is beyond the float32 range (largest 3.4028235e+38)")


def test_the_largest_float32_is_not_beyond_the_float32_range():
    spec = schedspec.loads(H + "vars: {x: 3.4028234663852886e+38}\nlr: {kind: constant, value: $x}\n")
    assert evaluate_numpy(spec, [0]).tolist() == [3.4028234663852886e+38]


def test_epochs_are_native_in_an_epoch_spec_and_steps_need_steps_per_epoch():
    spec = schedspec.loads(H + "interval: epoch\nlr: [{kind: linear, duration: 3ep, start: 0, end: 1}]\n")
    assert evaluate_numpy(spec, [0, 3, 4]).tolist() == [0.0, 1.0, 1.0]
    err = _error(H + "interval: epoch\nlr: [{kind: linear, duration: 20st, start: 0, end: 1}]\n")
    assert str(err) == ("<string>:3:31: '20st' is in steps, which needs `steps_per_epoch`; add `steps_per_epoch: N` "
                        "at the top level")


def test_an_epoch_spec_says_epoch_in_its_messages():
    spec = schedspec.loads(H + "interval: epoch\ntotal: 8\nlr: [{kind: linear, duration: 3, start: 0, end: 1}]\n")
    assert [str(w) for w in spec.warnings] == [
        "<string>:4:5: the `lr` schedule ends at epoch 3, before `total` (epoch 8); it holds its final value after that"]
    spec = schedspec.loads(H + "total: 8\nlr: [{kind: linear, duration: 3, start: 0, end: 1}]\n")
    assert [str(w) for w in spec.warnings] == [
        "<string>:3:5: the `lr` schedule ends at step 3, before `total` (step 8); it holds its final value after that"]


def test_warnings_have_the_warning_severity():
    spec = schedspec.loads(H + "vars: {u: 1}\nlr: {kind: constant, value: 0.1}\n")
    assert [(str(w), w.severity) for w in spec.warnings] == [("<string>:2:11: var 'u' is defined but never used",
                                                               "warning")]


@pytest.mark.parametrize("var", ["d: [4, '6st', 8]", "d: [4, 1ep]"])
def test_each_member_of_a_duration_sweep_runs_its_own_length(var):
    doc = {"schedspec": 1, "steps_per_epoch": 5,
           "vars": {"d": [4, "6st", 8] if "8" in var else [4, "1ep"]},
           "lr": [{"kind": "linear", "duration": "$d", "start": 0.0, "end": 1.0}]}
    spec = schedspec.load(doc)
    k = np.arange(0, 12)
    members = spec.program.sweep_members()
    assert len(members) == len(ref_members(doc))
    for member, ref_member in zip(members, ref_members(doc)):
        np.testing.assert_allclose(evaluate_numpy(spec, k, member=member), ref_values(doc, k, member=ref_member),
                                   rtol=1e-15, atol=0)


def test_each_member_of_a_number_sweep_gets_its_own_value():
    doc = {"schedspec": 1, "vars": {"peak": [0.1, 0.3]},
           "lr": [{"kind": "linear", "duration": 4, "start": 0.0, "end": "$peak"}]}
    spec = schedspec.load(doc)
    k = np.arange(0, 6)
    for member, ref_member in zip(spec.program.sweep_members(), ref_members(doc), strict=True):
        np.testing.assert_allclose(evaluate_numpy(spec, k, member=member), ref_values(doc, k, member=ref_member),
                                   rtol=1e-15, atol=0)


F32 = ("is beyond the float32 range (largest 3.4028235e+38), where the float32 paths (evaluate's default, to_jax, "
       "to_keras, to_optax, emitted keras/optax/jax modules) would hold inf; give a smaller number")


def test_a_literal_beyond_float32_is_positioned_at_the_number_naming_its_key():
    assert str(_error(H + "lr: {kind: constant, value: 1.0e+39}\n")) == f"<string>:2:29: `value`: 1e+39 {F32}"
    # inside a list there is no key to name: the position says where
    assert str(_error(H + "lr: {kind: piecewise, points: [[0, 0.1], [5, 1.0e+39]]}\n")) == f"<string>:2:46: 1e+39 {F32}"
    spec = schedspec.loads(H + "lr: {kind: constant, value: 3.4028234663852886e+38}\n")  # the largest float32
    assert evaluate_numpy(spec, [0]).tolist() == [3.4028234663852886e+38]


# line 2 is `lr: {kind: piecewise, points: [[0, 0.1], <point>], duration: 9}`: the point begins at column 42, its
# `at` at 43 and, after `[3, `, its value at 46 (the pair's own column, 42, was where all of these were positioned)
@pytest.mark.parametrize("point, message", [
    ("[2.5, 0.5]", "2:43: a bare duration is a whole number of interval units (got 2.5); write e.g. '2.5ep' for epochs"),
    ("[3, -0.5]", "2:46: must not be negative (got -0.5)"),
    ("[x, 1]", "2:43: expected a duration like 1000, '2000st', '5ep', '1.5ep', '10%' or a $var, got the string 'x'"),
    ("[$, 1]", "2:43: expected a duration like 1000, '2000st', '5ep', '1.5ep', '10%' or a $var, got the string '$'"),
    ("[3, abc]", "2:46: expected a number or a $var, got the string 'abc'"),
    # not a pair: the whole item is what is wrong
    ("[4, 1, 2]", "2:42: a point is a pair [at, value], e.g. [1000, 0.01]; got a list"),
    ("5", "2:42: a point is a pair [at, value], e.g. [1000, 0.01]; got 5"),
])
def test_a_bad_piecewise_point_is_positioned_at_its_bad_item_not_at_the_pair(point, message):
    """The `at` or the value of a point, whichever the model refuses (the pair itself when it is not a pair)."""
    text = H + "lr: {kind: piecewise, points: [[0, 0.1], " + point + "], duration: 9}\n"
    assert str(_error(text)) == "<string>:" + message


@pytest.mark.parametrize("var, use, message", [
    ("p: 2.0", "{kind: onecycle, duration: 10, peak: 0.1, pct_start: $p}",
     "<string>:2:11: $p = 2.0 is used at lr.pct_start, where it must be < 1"),
    ("p: 0", "{kind: cosine, duration: 10, start: 0.1, exponent: $p}",
     "<string>:2:11: $p = 0 is used at lr.exponent, where it must be > 0"),
])
def test_a_var_is_checked_against_the_bound_of_the_field_it_is_used_in(var, use, message):
    """A `$var` is checked again where it is used (the field's declared bound), positioned at the var's value."""
    assert str(_error(H + "vars: {" + var + "}\nlr: " + use + "\n")) == message
