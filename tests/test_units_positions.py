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
