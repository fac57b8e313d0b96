"""Units and vars in lowering (schedspec/lowering/units.py), second mutation pass (issue 14, item 1): the exact
positioned messages of token durations, unknown vars, out-of-range durations and group keys, and the durations
``n tok`` resolve to (docs/language.md, Time: ``n / tokens_per_step`` steps, or ``n / (tokens_per_step *
steps_per_epoch)`` epochs, exact or an error). Every expected message and position is written by hand; every
value is worked by hand from docs/language.md (a linear 0 -> 1 over d units is ``min(k / d, 1)``)."""

from __future__ import annotations

import pytest

import schedspec
from schedspec.evaluator import evaluate_numpy

H = "schedspec: 1\n"
LIN = "lr: [{kind: linear, duration: %s, start: 0, end: 1}]\n"  # the duration's value starts at column 31


def _error(text_or_doc):
    with pytest.raises(schedspec.SpecError) as err:
        if isinstance(text_or_doc, dict):
            schedspec.load(text_or_doc)
        else:
            schedspec.loads(text_or_doc)
    assert len(err.value.issues) == 1, str(err.value)
    return str(err.value)


# ---------------------------------------------------------------- token time


def test_tokens_without_tokens_per_step_are_refused_at_the_duration():
    assert _error(H + LIN % "10tok") == (
        "<string>:2:31: '10tok' is in tokens, which needs `tokens_per_step`; add `tokens_per_step: N` (global batch "
        "size x sequence length) at the top level")


def test_tokens_in_an_epoch_spec_without_steps_per_epoch_are_refused_at_the_duration():
    assert _error(H + "interval: epoch\ntokens_per_step: 4\n" + LIN % "8tok") == (
        "<string>:4:31: '8tok' is in tokens, which in an epoch spec needs `steps_per_epoch`; add it at the top level")


def test_tokens_are_tokens_per_step_steps():
    # 8 tokens at 4 tokens per step: 2 steps; a linear 0 -> 1 over 2 steps is k / 2, then held
    spec = schedspec.loads(H + "tokens_per_step: 4\n" + LIN % "8tok")
    assert spec.program.hparams["lr"].duration == 2
    assert evaluate_numpy(spec, [0, 1, 2, 3]).tolist() == [0.0, 0.5, 1.0, 1.0]


def test_tokens_in_an_epoch_spec_are_tokens_per_step_times_steps_per_epoch_epochs():
    # 40 tokens at 4 tokens per step and 5 steps per epoch: 20 tokens per epoch, 2 epochs
    spec = schedspec.loads(H + "interval: epoch\ntokens_per_step: 4\nsteps_per_epoch: 5\n" + LIN % "40tok")
    assert spec.program.hparams["lr"].duration == 2
    assert evaluate_numpy(spec, [0, 1, 2, 3]).tolist() == [0.0, 0.5, 1.0, 1.0]


def test_a_token_duration_that_is_not_whole_steps_names_tokens_per_step_only():
    # 6 tokens at 4 per step is 1.5 steps; steps_per_epoch is set but plays no part in a token duration
    assert _error(H + "tokens_per_step: 4\nsteps_per_epoch: 5\n" + LIN % "6tok") == (
        "<string>:4:31: duration '6tok' is 1.5 steps at tokens_per_step 4, not a whole number of steps; never "
        "rounded: choose a value that divides evenly")


def test_an_epoch_duration_that_is_not_whole_steps_names_steps_per_epoch_only():
    # 0.5 epoch at 5 steps per epoch is 2.5 steps; tokens_per_step is set but plays no part in an epoch duration
    assert _error(H + "tokens_per_step: 4\nsteps_per_epoch: 5\n" + LIN % "0.5ep") == (
        "<string>:4:31: duration '0.5ep' is 2.5 steps at steps_per_epoch 5, not a whole number of steps; never "
        "rounded: choose a value that divides evenly")


# ---------------------------------------------------------------- unknown vars


def test_an_unknown_var_in_a_duration_is_positioned_at_it_and_lists_no_vars_when_there_are_none():
    assert _error(H + LIN % "$nope") == "<string>:2:31: unknown var '$nope'; define it under `vars:`"


def test_an_unknown_var_lists_every_defined_var():
    text = H + "vars: {alpha: 0, beta: 1}\nlr: [{kind: linear, duration: $nope, start: $alpha, end: $beta}]\n"
    assert _error(text) == "<string>:3:31: unknown var '$nope'; define it under `vars:` (defined: alpha, beta)"


# ---------------------------------------------------------------- durations out of range


def test_a_zero_duration_var_quotes_the_var_value():
    assert _error(H + "vars: {d: 0}\n" + LIN % "$d") == (
        "<string>:2:11: a duration (var $d, used at lr[0].duration) must be > 0 (got '0')")


def test_the_largest_step_counter_is_a_valid_duration_and_one_more_is_refused():
    spec = schedspec.loads(H + LIN % "2147483647")
    assert spec.program.hparams["lr"].duration == 2**31 - 1
    assert evaluate_numpy(spec, [0, 2**31 - 1]).tolist() == [0.0, 1.0]
    assert _error(H + LIN % "2147483648") == (
        "<string>:2:31: duration '2147483648' is 2147483648 steps, more than 2**31-1 (the int32 step counter of "
        "every framework)")


# ---------------------------------------------------------------- paths of non-sweep vars, literal keys


def test_a_single_value_var_error_names_the_var_itself_not_an_element():
    """A dict has no positions: the issue names its path, ``vars.x`` (a sweep names ``vars.x[i]``)."""
    doc = {"schedspec": 1, "vars": {"x": 1e39}, "lr": {"kind": "constant", "value": "$x"}}
    assert _error(doc).startswith("<dict>: vars.x: $x = 1e+39 is beyond the float32 range")
    doc = {"schedspec": 1, "vars": {"d": 0}, "lr": [{"kind": "linear", "duration": "$d", "start": 0, "end": 1}]}
    assert _error(doc) == "<dict>: vars.d: a duration (var $d, used at lr[0].duration) must be > 0 (got '0')"


def test_a_literal_beyond_float32_in_a_list_phase_names_its_key():
    assert _error(H + "lr: [{kind: constant, value: 1.0e+39}]\n").startswith(
        "<string>:2:30: `value`: 1e+39 is beyond the float32 range")


def test_a_group_key_that_is_not_a_hyperparameter_is_positioned_at_the_key():
    #                      groups: {g: {mom: 0.5}}: the key `mom` is column 14 (its value, 0.5, column 19)
    assert _error(H + "lr: 0.1\nmomentum: 0.9\ngroups: {g: {mom: 0.5}}\n") == (
        "<string>:4:14: group `g`: `mom` is not a hyperparameter of the document (it schedules: lr, momentum); a "
        "group overrides the document's schedules, so schedule it at the top level too")
