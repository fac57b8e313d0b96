"""The lowering package (schedspec/lowering/checks.py, validate.py, bind.py, dialect.py, lowerer.py), first mutation
pass (issue 14, item 1): the exact positioned messages of the cross-phase checks (jumps, overflows), of validation,
of binding a sweep member, of framework kinds, and the exact lowered IR.

Every expected message and position is written by hand. Overflow steps are worked from docs/language.md's formulas
on the float32 path: ``gamma ** t`` overflows float32 once it passes 3.4028235e+38 (``2 ** 128``, ``1.1 ** 931``,
``1.5 ** 219``) and float64 once it passes 1.7976931e+308 (``2 ** 1024``, ``1.1 ** 7448``, ``1.5 ** 1751``); the
float64 value quoted is the schedule's value at the float32 step, worked the same way."""

from __future__ import annotations

import pytest
import yaml

import schedspec

H = "schedspec: 1\n"
F32 = ("the float32 paths (evaluate's default, to_jax, to_keras, to_optax, emitted keras/optax/jax modules) would "
       "give inf or NaN")  # fmt: skip
EXP_HINT = "give it an `end` (a ceiling), a shorter `duration` or a `gamma` nearer 1"


def problems(text: str) -> list[str]:
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.loads(text, "x.yaml")
    return [str(i) for i in err.value.issues]


def warnings_of(text: str) -> list[str]:
    return [str(w) for w in schedspec.loads(text, "x.yaml").warnings]


# ================================================================ checks.py: jumps


def _jump(carry: str, first: str, line: int = 4, col: int = 5) -> str:
    return (f"x.yaml:{line}:{col}: jump from {carry} to {first} at the start of this phase; omit `start` to continue "
            "from the previous value")  # fmt: skip


WARMUP = "lr:\n  - {kind: linear, start: 0.0, end: 0.5, duration: 10}\n"


@pytest.mark.parametrize("second, expected", [
    # an explicit `start` that is not where the previous phase ended
    ("{kind: cosine, start: 0.25, end: 0.0, duration: 10}", [_jump("0.5", "0.25")]),
    ("{kind: linear, start: 0.75, end: 0.0, duration: 10}", [_jump("0.5", "0.75")]),
    ("{kind: constant, value: 0.125}", [_jump("0.5", "0.125")]),
    # `cyclic` begins at `low`, `onecycle` at `peak / div_factor` (25 by default): 1 / 25 = 0.04
    ("{kind: cyclic, low: 0.125, high: 1.0, up: 5}", [_jump("0.5", "0.125")]),
    ("{kind: onecycle, peak: 1.0, duration: 100}", [_jump("0.5", "0.04")]),
    ("{kind: onecycle, peak: 2.0, div_factor: 4.0, duration: 100}", []),  # 2 / 4 = 0.5: no jump
    ("{kind: cyclic, low: 0.5, high: 1.0, up: 5}", []),
    # the same value, or one within rel 1e-9: no jump; omitted: carried
    ("{kind: cosine, start: 0.5, end: 0.0, duration: 10}", []),
    ("{kind: cosine, start: 0.5000000001, end: 0.0, duration: 10}", []),
    ("{kind: cosine, start: 0.500001, end: 0.0, duration: 10}", [_jump("0.5", "0.500001")]),
    ("{kind: cosine, end: 0.0, duration: 10}", []),
    # a bare number is `{kind: constant, value: ...}`: it warns alike (it did not before)
    ("0.125", [_jump("0.5", "0.125")]),
    ("0.5", []),
    ("$v", []),  # a var: its members may differ; like `{kind: constant, value: $v}`
])  # fmt: skip
def test_a_jump_at_a_phase_start_is_a_warning_at_that_phase(second, expected):
    used = "vars: {v: 0.25}\n" if "$v" in second else ""
    assert warnings_of(H + used + WARMUP + f"  - {second}\n") == [
        w.replace("x.yaml:4:", "x.yaml:5:") if used else w for w in expected]


def test_a_jump_from_zero_is_measured_with_an_absolute_tolerance_of_1e_15():
    decay = "lr:\n  - {kind: cosine, start: 0.5, end: 0.0, duration: 10}\n"
    assert warnings_of(H + decay + "  - {kind: cosine, start: 1.0e-16, end: 0.0, duration: 10}\n") == []
    assert warnings_of(H + decay + "  - {kind: cosine, start: 1.0e-14, end: 0.0, duration: 10}\n") == [
        _jump("0", "1e-14")]


def test_a_start_given_by_a_var_is_not_checked_for_a_jump():
    assert warnings_of(H + "vars: {s: 0.25}\n" + WARMUP + "  - {kind: cosine, start: $s, end: 0.0, duration: 10}\n") == []


# ================================================================ checks.py: overflows


def test_an_overflow_inside_a_repeat_is_at_local_steps_for_float32_and_float64():
    (issue,) = problems(H + "lr: {kind: repeat, of: {kind: exponential, start: 1.0, gamma: 1.5, duration: 2000}}\n")
    assert issue == ("x.yaml:2:24: this `exponential` overflows float32 from its local step 219 on (float64 value "
                     f"there: 3.66426e+38): {F32}; it overflows float64 too, from its local step 1751 on; {EXP_HINT}")


def test_an_overflow_of_float32_only_inside_a_repeat_says_nothing_of_float64():
    (issue,) = problems(H + "lr: {kind: repeat, of: {kind: multistep, start: 0.1, milestones: [10, 20, 30], "
                        "gamma: 1.0e+15, duration: 40}}\n")
    assert issue == ("x.yaml:2:24: this `multistep` overflows float32 from its local step 30 on (float64 value there: "
                     f"1e+44): {F32}; use fewer milestones or a `gamma` nearer 1")


def test_an_overflow_of_float32_only_says_nothing_of_float64():
    # 0.1 * (1e15) ** 3 = 1e44 from the third milestone on, and no further growth
    (issue,) = problems(H + "lr: {kind: multistep, start: 0.1, milestones: [10, 20, 30], gamma: 1.0e+15}\n")
    assert issue == ("x.yaml:2:5: this `multistep` overflows float32 from step 30 on (float64 value there: 1e+44): "
                     f"{F32}; use fewer milestones or a `gamma` nearer 1")


def test_an_overflow_of_both_ranges_at_once_says_no_target_can_carry_it():
    # nine factors 3e38 applied at the same milestone: 1 before step 10, (3e38) ** 9 ~ 2e345 from step 10 on
    part = "{kind: multistep, start: 1.0, gamma: 3.0e+38, milestones: [10]}"
    (issue,) = problems(H + "lr: {kind: product, of: [" + ", ".join([part] * 9) + "]}\n")
    assert issue == ("x.yaml:2:5: this `product` overflows float32 and float64 from step 10 on: no target can carry "
                     "it; use smaller factors")


def test_an_overflow_names_the_sweep_member():
    # 1e30 * 2 ** t passes 3.4e38 at t = 29 (2 ** 29 = 5.36871e8): member a = 1e30 (b = 1e5 does not matter)
    (issue,) = problems(H + "vars: {a: [1.0, 1.0e+30]}\n"
                        "lr: {kind: scale, by: $a, of: {kind: exponential, start: 1.0, gamma: 2.0, duration: 100}}\n")
    assert issue == ("x.yaml:3:5: this `scale` overflows float32 from step 29 on with a=1e+30 (float64 value there: "
                     f"5.36871e+38): {F32}; use smaller factors")
    (issue,) = problems(H + "vars: {a: [1.0, 1.0e+30], b: [1.0, 2.0]}\n"
                        "lr: {kind: scale, by: $a, of: {kind: scale, by: $b, of: {kind: exponential, start: 1.0, "
                        "gamma: 2.0, duration: 100}}}\n")
    assert issue.startswith("x.yaml:3:5: this `scale` overflows float32 from step ")
    assert " with a=1e+30, b=" in issue


def test_the_node_that_overflows_first_is_reported_even_when_an_inner_one_overflows_a_step_later():
    # 2 * 2 ** (k - 10) passes 3.4e38 at k = 137, one step before the exponential itself (2 ** 128 at k = 138)
    (issue,) = problems(H + "lr: {kind: scale, by: 2.0, of: [{kind: constant, value: 1.0, duration: 10}, "
                        "{kind: exponential, gamma: 2.0}]}\n")
    assert issue == ("x.yaml:2:5: this `scale` overflows float32 from step 137 on (float64 value there: 3.40282e+38): "
                     f"{F32}; it overflows float64 too, from step 1033 on; use smaller factors")


def test_a_growing_phase_that_stays_finite_does_not_hide_a_later_one_that_overflows():
    # the second phase begins at step 10: 0.1 * 1.1 ** (k - 10) from there (gamma ** t overflows at t = 931)
    (issue,) = problems(H + "lr: [{kind: exponential, start: 1.0, gamma: 0.5, duration: 10}, "
                        "{kind: exponential, start: 0.1, gamma: 1.1}]\n")
    assert issue == ("x.yaml:2:65: this `exponential` overflows float32 from step 941 on (float64 value there: "
                     f"3.44025e+37): {F32}; it overflows float64 too, from step 7458 on; {EXP_HINT}")


def test_a_growth_that_begins_near_the_last_step_is_checked_only_up_to_it():
    # begins at 2**31 - 1 - 100: 2 ** (t / 1000) stays below 2 ** 0.1 until the step counter ends
    spec = schedspec.loads(H + "lr: [{kind: constant, value: 1.0, duration: 2147483547}, "
                           "{kind: exponential, gamma: 2.0, every: 1000}]\n")
    assert spec.program.hparams["lr"].parts[1].start == 1.0
    # begins at 2**31 - 1 - 2100: 2 ** (t / 10) overflows float32 at t = 1280, step 2147481547 + 1280
    (issue,) = problems(H + "lr: [{kind: constant, value: 1.0, duration: 2147481547}, "
                        "{kind: exponential, gamma: 2.0, every: 10}]\n")
    assert issue == ("x.yaml:2:58: this `exponential` overflows float32 from step 2147482827 on (float64 value there: "
                     f"3.40282e+38): {F32}; {EXP_HINT}")


JOIN = ("{kind: optax.join_schedules, schedules: [{kind: optax.constant_schedule, value: 0.1}, "
        "{kind: optax.exponential_decay, init_value: 0.1, transition_steps: 1, decay_rate: 1.1}], boundaries: [10]}")


@pytest.mark.parametrize("body, where, begin", [
    # the overflowing part is a phase of the framework kind's neutral form (not in the document): reported at the
    # framework node, the nearest node the document has
    (f"lr: {JOIN}\n", "2:5", 10),
    (f"lr:\n  - {JOIN}\n", "3:5", 10),
    (f"lr:\n  - {{kind: constant, value: 0.1, duration: 5}}\n  - {JOIN}\n", "4:5", 15),
    (f"lr:\n  - {{kind: constant, value: 0.1, duration: 5}}\n  - {{kind: scale, by: 1.0, of: {JOIN}}}\n", "4:32", 15),
])  # fmt: skip
def test_an_overflow_inside_a_framework_kind_is_reported_at_the_framework_node(body, where, begin):
    (issue,) = problems(H + body)
    assert issue == (f"x.yaml:{where}: this `exponential` overflows float32 from step {begin + 931} on (float64 value "
                     f"there: 3.44025e+37): {F32}; it overflows float64 too, from step {begin + 7448} on; {EXP_HINT}")


# ================================================================ validate.py: pydantic's errors in the spec's terms


@pytest.mark.parametrize("body, expected", [
    # bounds (greater_than / greater_than_equal / less_than ...), each naming its key, at the value
    ("lr: {kind: plateau, monitor: val_loss, factor: 1.5, patience: -1, every: 0, duration: 10}\n",
     ["x.yaml:2:48: `factor`: must be < 1 (got 1.5)", "x.yaml:2:63: `patience`: must be >= 0 (got -1)",
      "x.yaml:2:74: `every`: a duration must be > 0 (got 0)"]),
    # too_short
    ("lr: {kind: multistep, start: 0.1, milestones: []}\n", ["x.yaml:2:47: `milestones`: must not be empty"]),
    # a vars / groups key that is not a name: at the key
    ("vars: {1bad: 1.0}\nlr: 0.1\n",
     ["x.yaml:2:8: `1bad` is not a valid name: a name is letters, digits and '_' (ASCII), starting with a letter or '_'"]),
    ('groups: {"g h": {scale: 0.5}}\nlr: 0.1\n',
     ["x.yaml:2:10: `g h` is not a valid name: a name is letters, digits and '_' (ASCII), starting with a letter or '_'"]),
    # a value that must be a name
    ('lr: {kind: plateau, monitor: "val loss", every: 5, start: 0.1}\n',
     ["x.yaml:2:30: must be a name made of letters, digits and '_' (got the string 'val loss')"]),
    # a validator's own message ("Value error, " dropped); two issues of one line in column order
    ("lr: {kind: linear, end: -1.0, start: -2.0, duration: 10}\n",
     ["x.yaml:2:25: `end`: must not be negative (got -1)", "x.yaml:2:38: `start`: must not be negative (got -2)"]),
    ("lr: {kind: linear, start: -2.0, end: -1.0, duration: 10}\n",
     ["x.yaml:2:27: `start`: must not be negative (got -2)", "x.yaml:2:38: `end`: must not be negative (got -1)"]),
    # `kind`
    ("lr: {kind: 3}\n", ["x.yaml:2:5: `kind` must be a name like 'cosine', got 3"]),
    ("lr: {kind: cosin, start: 0.1, duration: 10}\n",
     ["x.yaml:2:12: unknown kind 'cosin'; did you mean 'cosine'? (known kinds: constant, linear, cosine, polynomial, "
      "exponential, step, multistep, piecewise, inverse_time, inverse_sqrt, tanh, cyclic, onecycle, plateau, repeat, "
      "product, scale, clip, sum; or a framework's own: torch.<Class>, keras.<Class>, optax.<function>)"]),
    # (str(None) = "None" is close to "cosine" for difflib: a suggestion other than cosine shows which word is matched)
    ("lr: {kind: lineer, start: 0.1, duration: 10}\n",
     ["x.yaml:2:12: unknown kind 'lineer'; did you mean 'linear'? (known kinds: constant, linear, cosine, polynomial, "
      "exponential, step, multistep, piecewise, inverse_time, inverse_sqrt, tanh, cyclic, onecycle, plateau, repeat, "
      "product, scale, clip, sum; or a framework's own: torch.<Class>, keras.<Class>, optax.<function>)"]),
    # literals: the choices quoted, a near miss suggested
    ("lr: {kind: cyclic, low: 0.1, high: 1.0, up: 5, mode: triangle}\n",
     ["x.yaml:2:54: `mode`: expected 'triangular', 'triangular2' or 'exp_range', got the string 'triangle'; "
      "did you mean 'triangular'?"]),
    # a word of the choices' text that is not a choice ("or") is not suggested
    ("lr: {kind: cyclic, low: 0.1, high: 1.0, up: 5, mode: or}\n",
     ["x.yaml:2:54: `mode`: expected 'triangular', 'triangular2' or 'exp_range', got the string 'or'"]),
    ("steps_per_epoch: 0\nlr: 0.1\n", ["x.yaml:2:18: `steps_per_epoch`: must be > 0 (got 0)"]),
    ("lr: true\n", ["x.yaml:2:5: `lr`: expected a number or a $var, got the boolean true"]),
    ("lr: [0.1, null]\n", ["x.yaml:2:11: expected a schedule (a number, a $var, a mapping with `kind`, or a list "
                          "of phases), got nothing (null)"]),
    # unknown keys: of a kind, and of a mapping inside a framework kind (an sgdr `cosine_kwargs` entry)
    ("lr: {kind: linear, start: 0.1, end: 0.0, duration: 10, foo: 1}\n",
     ["x.yaml:2:56: unknown key `foo` for `linear` (valid keys: duration, kind, start, end, warp)"]),
    ("lr: {kind: optax.sgdr_schedule, cosine_kwargs: [{init_value: 0.1, peak_value: 0.2, warmup_steps: 1, "
     "decay_steps: 10, foo: 1}]}\n",
     ["x.yaml:2:118: unknown key `foo` for an optax.sgdr_schedule `cosine_kwargs` entry (valid keys: init_value, "
      "peak_value, warmup_steps, decay_steps, end_value, exponent)"]),
    # top-level keys: every bad one, at the key (an integer key too); a name near `lr` is a hyperparameter
    ('lr: 0.1\n"bad key": 0.1\n"also bad": 0.2\n',
     ["x.yaml:3:1: `bad key` is not a valid key: a hyperparameter name is letters, digits and '_'",
      "x.yaml:4:1: `also bad` is not a valid key: a hyperparameter name is letters, digits and '_'"]),
    ("lr: 0.1\n1: 0.1\n", ["x.yaml:3:1: `1` is not a valid key: a hyperparameter name is letters, digits and '_'"]),
])  # fmt: skip
def test_validation_errors_are_positioned_in_the_spec_s_own_terms(body, expected):
    assert problems(H + body) == expected


def test_each_problem_is_reported_once_as_the_user_reads_it():
    """A YAML alias repeats its anchor's fault at the anchor's position: one line. Two elements of a dict spec
    with the same fault differ by their paths: a line each (a dict spec has no lines and columns, and the second
    element's problem was once dropped as a repeat of the first's)."""
    hint = "unknown key `times` for `inverse_sqrt`; did you mean 'timescale'? (valid keys: duration, kind, start, " \
           "timescale, shift)"
    body = "lr:\n  - &w {kind: inverse_sqrt, start: 1.0, timescale: 4, times: 3, duration: 5}\n  - *w\n  - *w\n"
    assert problems(H + body) == [f"x.yaml:3:55: {hint}"]
    phase = {"kind": "inverse_sqrt", "start": 1.0, "timescale": 4, "times": 3, "duration": 5}
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.load({"schedspec": 1, "lr": [phase, dict(phase), {**phase, "start": -1}]})
    assert [str(i) for i in err.value.issues] == [
        f"<dict>: lr[0].times: {hint}", f"<dict>: lr[1].times: {hint}",
        "<dict>: lr[2].start: `start`: must not be negative (got -1)", f"<dict>: lr[2].times: {hint}"]


def test_a_top_level_key_near_lr_is_a_hyperparameter_not_a_typo():
    assert schedspec.loads(H + "lr: 0.1\nlrr: 0.2\n").hparams == ["lr", "lrr"]


@pytest.mark.parametrize("text, expected", [
    # an unsupported version does not hide the other problems (its own literal error is not repeated)
    ("schedspec: 2\nlr: {kind: linear, start: 0.1}\n",
     ["x.yaml:1:12: unsupported format version 2; this schedspec reads version 1",
      "x.yaml:2:5: missing required key `end` for kind `linear`"]),
    ('schedspec: "1"\nlr: 0.1\n', ["x.yaml:1:12: `schedspec`: expected 1, got the string '1'; did you mean '1'?"]),
    ('schedspec: "x"\nlr: 0.1\n', ["x.yaml:1:12: `schedspec`: expected 1, got the string 'x'"]),
])  # fmt: skip
def test_the_format_version(text, expected):
    assert problems(text) == expected


def test_a_dict_spec_too_deep_or_with_bad_keys_is_refused_with_its_paths():
    x: object = 1
    for _ in range(70):
        x = [x]
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.load({"schedspec": 1, "lr": 0.1, "x": x})
    assert [str(i) for i in err.value.issues] == [
        "<dict>: x" + "[0]" * 64 + ": the document is too deeply nested: more than 64 levels of lists and mappings "
        "(a spec needs only a few; a YAML alias that refers to itself?)"]
    with pytest.raises(schedspec.SpecError) as err:  # a value YAML cannot make: what it is, quoted
        schedspec.load({"schedspec": 1, "lr": {0.1}})
    assert [str(i) for i in err.value.issues] == [
        "<dict>: lr: expected a schedule (a number, a $var, a mapping with `kind`, or a list of phases), got {0.1}"]
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.load({"schedspec": 1, "lr": {"kind": "linear", "start": 0.1}, "bad key": 1})
    assert [str(i) for i in err.value.issues] == [  # unpositioned: in the order found
        "<dict>: bad key: `bad key` is not a valid key: a hyperparameter name is letters, digits and '_'",
        "<dict>: lr: missing required key `end` for kind `linear`"]


# ================================================================ bind.py: one sweep member, scalar vars folded in

SWEPT = H + (
    "name: n\ndescription: d\nsteps_per_epoch: 4\ntotal: 100\n"
    "vars: {p: [0.5, 2.0], d: [4, 8], c: 0.25, w: 3}\n"
    "lr:\n"
    "  - {kind: linear, start: $p, end: $c, duration: $d}\n"
    "  - {kind: constant, value: 0.125, duration: $w}\n"
    "  - {kind: cosine, end: 0.0, duration: 10}\n"
    "wd: {kind: scale, by: $p, of: [{kind: linear, start: 1.0, end: $p, duration: 10}, {kind: cosine, duration: 10}]}\n"
    "groups:\n  g: {scale: $c}\n"
)


def _literal(p, d):
    """The same document with every var written as its value (member p, d): what binding must give."""
    return H + (
        "name: n\ndescription: d\nsteps_per_epoch: 4\ntotal: 100\n"
        "lr:\n"
        f"  - {{kind: linear, start: {p}, end: 0.25, duration: {d}}}\n"
        "  - {kind: constant, value: 0.125, duration: 3}\n"
        "  - {kind: cosine, end: 0.0, duration: 10}\n"
        f"wd: {{kind: scale, by: {p}, of: [{{kind: linear, start: 1.0, end: {p}, duration: 10}}, "
        "{kind: cosine, duration: 10}]}\n"
        "groups:\n  g: {scale: 0.25}\n"
    )


@pytest.mark.parametrize("p, d", [(0.5, 4), (0.5, 8), (2.0, 4), (2.0, 8)])
def test_binding_a_member_gives_the_program_of_the_document_with_its_values_written(p, d):
    bound = schedspec.loads(SWEPT).bound({"p": p, "d": d})
    literal = schedspec.loads(_literal(p, d)).program
    assert bound == literal  # nodes (carried starts folded: the cosine after `wd`'s linear starts at p), groups,
    # interval, steps_per_epoch, total, name, description; no vars left
    assert bound.vars == {} and bound.hparams["lr"].duration == d + 13
    assert bound.hparams["wd"].of.parts[1].start == p


def test_binding_part_of_a_sweep_keeps_the_other_sweep_vars_and_folds_the_scalar_ones():
    """Regression: a duration sum of a kept sweep var and a scalar var (`$d` then `$w`) kept the scalar's term while
    the scalar var left `vars`: the bound program raised KeyError ('dur', 'w') in check's analysis, and the
    fingerprint differed from the same document with `w` written as 3."""
    from schedspec import analysis, ir

    spec = schedspec.loads(SWEPT)
    bound = spec.bound({"p": 2.0})
    assert list(bound.vars) == ["d"]
    lr = bound.hparams["lr"]
    assert lr.parts[0].duration == ir.DVar("d") and lr.parts[1].duration == 3
    assert lr.duration == ir.DSum(13, ((1, "d"),))
    assert analysis.value_range(bound, "lr") == (0.0, 2.0, {100})  # members d = 4, 8, each to total 100
    same = schedspec.loads(SWEPT.replace("c: 0.25, w: 3", "c: 0.25").replace("duration: $w", "duration: 3"))
    assert spec.fingerprint == same.fingerprint
    assert spec.bound() == same.bound()  # no member: every sweep var kept, the scalar ones folded


def test_binding_a_value_that_is_not_a_member_is_refused():
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.loads(SWEPT).bound({"p": 3.0})
    assert str(err.value) == ("<spec>: vars.p: 3.0 is not one of the values of var 'p' (0.5, 2.0); use "
                              "Spec.with_vars to set another value")


# ================================================================ dialect.py: a framework kind through its neutral form


def _lowered(text: str):
    return schedspec.loads(H + text, "x.yaml")


@pytest.mark.parametrize("framework, neutral", [
    # cut at its literal `duration`
    ("{kind: torch.ExponentialLR, lr: 0.1, gamma: 0.9, duration: 10}",
     "{kind: exponential, start: 0.1, gamma: 0.9, duration: 10}"),
    # LinearLR: lr * (start_factor + (1 - start_factor) * min(t, total_iters) / total_iters)
    ("{kind: torch.LinearLR, lr: 0.1, start_factor: 0.5, total_iters: 30}",
     "{kind: linear, start: 0.05, end: 0.1, duration: 30}"),
    # a number (or a var) is a constant
    ("{kind: optax.constant_schedule, value: 0.1}", "{kind: constant, value: 0.1}"),
    # ConstantLR: lr * factor for total_iters steps, then lr (a jump that is torch's own: no warning)
    ("[{kind: linear, start: 0.0, end: 0.5, duration: 5}, {kind: torch.ConstantLR, lr: 0.2, factor: 0.5, "
     "total_iters: 3}]",
     "[{kind: linear, start: 0.0, end: 0.5, duration: 5}, {kind: constant, value: 0.1, duration: 3}, "
     "{kind: constant, value: 0.2}]"),
])  # fmt: skip
def test_a_framework_kind_lowers_to_its_neutral_form(framework, neutral):
    spec = _lowered(f"lr: {framework}\n")
    assert spec.program == schedspec.loads(H + f"lr: {neutral}\n").program
    assert spec.warnings == []


def test_the_neutral_form_is_recorded_at_the_framework_node_and_every_node_is_positioned_there():
    spec = _lowered("lr: [{kind: linear, start: 0.0, end: 0.5, duration: 5}, {kind: torch.ConstantLR, lr: 0.2, "
                    "factor: 0.5, total_iters: 3}]\n")
    assert spec.desugared == {("lr", 1): [{"kind": "constant", "value": 0.1, "duration": 3},
                                          {"kind": "constant", "value": 0.2}]}
    assert [p.path for p in spec.program.hparams["lr"].parts] == [("lr", 0), ("lr", 1), ("lr", 1)]
    spec = _lowered("vars: {v: 0.1}\nlr: {kind: optax.constant_schedule, value: $v}\n")
    assert spec.desugared == {("lr",): {"kind": "constant", "value": "$v"}}
    assert spec.program == schedspec.loads(H + "vars: {v: 0.1}\nlr: {kind: constant, value: $v}\n").program


@pytest.mark.parametrize("total, neutral", [
    # an open last framework kind runs to `total`: one whose own phases go on past it is cut there
    (20, "{kind: linear, start: 0.05, end: 0.08333333333333334, duration: 20}"),  # 0.1 * (0.5 + 0.5 * 20 / 30)
    (50, "{kind: linear, start: 0.05, end: 0.1, duration: 30}"),  # ends before `total`: left as written
])  # fmt: skip
def test_an_open_last_framework_kind_is_cut_at_total(total, neutral):
    framework = "{kind: torch.LinearLR, lr: 0.1, start_factor: 0.5, total_iters: 30}"
    spec = _lowered(f"total: {total}\nlr: {framework}\n")
    assert spec.program == schedspec.loads(H + f"total: {total}\nlr: {neutral}\n").program


@pytest.mark.parametrize("body, expected", [
    ("vars: {d: 10}\nlr: {kind: torch.ExponentialLR, lr: 0.1, gamma: 0.9, duration: $d}\n",
     "x.yaml:3:64: torch.ExponentialLR: `duration` of torch.ExponentialLR must be a literal: the native schedule is "
     "cut there"),
    # a problem of the neutral form: at the framework node, prefixed with its kind
    ("lr: {kind: torch.OneCycleLR, max_lr: 0.1, total_steps: 2, pct_start: 0.3}\n",
     "x.yaml:2:5: torch.OneCycleLR (in its neutral form): pct_start * duration = 0.6 must be > 1 (the peak is at "
     "pct_start*N - 1, which must come after step 0)"),
    ("lr: [{kind: constant, value: 0.1, duration: 5},\n     {kind: torch.OneCycleLR, max_lr: 0.1, total_steps: 2, "
     "pct_start: 0.3}]\n",
     "x.yaml:3:6: torch.OneCycleLR (in its neutral form): pct_start * duration = 0.6 must be > 1 (the peak is at "
     "pct_start*N - 1, which must come after step 0)"),
])  # fmt: skip
def test_a_framework_kind_s_problems_are_positioned_and_named(body, expected):
    assert problems(H + body) == [expected]


STEP = "{kind: torch.StepLR, step_size: 1, gamma: 0.5}"
SEQ2 = f"{{kind: torch.SequentialLR, lr: 0.1, schedulers: [{STEP}, {STEP}], milestones: [2]}}"
SEQ3 = f"{{kind: torch.SequentialLR, lr: 0.1, schedulers: [{STEP}, {STEP}, {STEP}], milestones: [1, 3]}}"
CONST = "{kind: torch.ConstantLR, lr: 0.1, factor: 0.5, total_iters: 4}"


def _step(start=0.1, duration=None):
    return {"kind": "step", "start": start, "every": 1, "gamma": 0.5,
            **({} if duration is None else {"duration": duration})}  # fmt: skip


@pytest.mark.parametrize("framework, total, desugared, values", [
    # SequentialLR [StepLR, StepLR] milestones [2]: torch gives 0.1, 0.05, then the second StepLR from 0.1 again
    # (0.1, 0.05, 0.025, ...). Its open last phase begins at step 2:
    # after `total` 1: cut at 1, the value at 1 (0.05) held
    (SEQ2, 1, [_step(duration=1)], [0.1, 0.05, 0.05, 0.05, 0.05]),
    # exactly at `total` 2 and it moves: cut there (a window over both), the value AT 2 (0.1, the restart) held
    (SEQ2, 2, [{"kind": "clip", "of": [_step(duration=2), _step(duration=1)], "duration": 2}],
     [0.1, 0.05, 0.1, 0.1, 0.1]),
    # before `total` 3: left as written (the open phase runs to `total` as a neutral one does), 0.05 held from 3
    (SEQ2, 3, [_step(duration=2), _step()], [0.1, 0.05, 0.1, 0.05, 0.05]),
    # three StepLRs, milestones [1, 3]: the open last one begins at 1 + 2 = 3 (the lengths of every part before it)
    (SEQ3, 3, [{"kind": "clip", "of": [_step(duration=1), _step(duration=2), _step(duration=1)], "duration": 3}],
     [0.1, 0.1, 0.05, 0.1, 0.1]),
    (SEQ3, 4, [_step(duration=1), _step(duration=2), _step()], [0.1, 0.1, 0.05, 0.1, 0.05]),
    # [ConstantLR (0.05 for 1 step, then 0.1), StepLR] milestones [2]: three parts, the held constant in the
    # middle; the open StepLR (the LAST part) begins exactly at `total` 2 and moves: cut, 0.1 (its first value) held
    ("{kind: torch.SequentialLR, lr: 0.1, schedulers: [{kind: torch.ConstantLR, factor: 0.5, total_iters: 1}, "
     f"{STEP}], milestones: [2]}}", 2,
     [{"kind": "clip", "of": [{"kind": "constant", "value": 0.05, "duration": 1},
                              {"kind": "constant", "value": 0.1, "duration": 1}, _step(duration=1)], "duration": 2}],
     [0.05, 0.1, 0.1, 0.1, 0.1]),
    # ConstantLR: 0.05 for 4 steps, then 0.1 forever (a held constant). `total` 3: its last phase begins after it
    (CONST, 3, [{"kind": "constant", "value": 0.05, "duration": 3}], [0.05, 0.05, 0.05, 0.05, 0.05]),
    # `total` 4: the held constant begins exactly there; it holds 0.1 anyway, so it is left as written
    (CONST, 4, [{"kind": "constant", "value": 0.05, "duration": 4}, {"kind": "constant", "value": 0.1}],
     [0.05, 0.05, 0.05, 0.05, 0.1]),
    # one open phase (not a sequence) begins at 0, before any `total`: as written
    ("{kind: torch.ExponentialLR, lr: 0.1, gamma: 0.5}", 3, {"kind": "exponential", "start": 0.1, "gamma": 0.5},
     [0.1, 0.05, 0.025, 0.0125, 0.0125]),
])  # fmt: skip
def test_an_open_framework_kind_is_cut_at_total_only_when_its_open_phase_begins_after_or_moves_from_there(
        framework, total, desugared, values):
    """docs/language.md: an open last phase runs to `total` and holds its value there. A framework kind whose own
    open last phase begins after `total`, or exactly at `total` and changes after it, is cut at `total`; else its
    neutral form is left as written (same values; `translate --to-neutral` writes it). Values worked from torch's
    documented formulas (StepLR ``lr * gamma ** (k // step_size)``, SequentialLR restarting the next scheduler at
    each milestone, ConstantLR ``lr * factor`` for ``total_iters`` steps), k = 0..4, held from `total` on."""
    spec = _lowered(f"total: {total}\nlr: {framework}\n")
    assert spec.desugared == {("lr",): desugared}
    assert schedspec.evaluate(spec, [0, 1, 2, 3, 4], dtype="float64").tolist() == pytest.approx(values, rel=1e-15)


def test_a_framework_kind_with_a_var_length_is_not_cut_at_total_and_is_cut_at_its_literal_duration():
    """A var length cannot be compared with `total` when the spec is lowered (its members may differ): the kind is
    left as written and runs to `total` like any open phase. Cut at its own literal `duration`, a var length
    inside it is refused, positioned, saying why; cut at `total` exactly where a var-length repeat restarts, too."""
    spec = _lowered("vars: {n: 30}\ntotal: 10\nlr: {kind: keras.CosineDecay, initial_learning_rate: 0.1, "
                    "decay_steps: $n}\n")  # fmt: skip
    assert spec.desugared == {("lr",): {"kind": "cosine", "start": 0.1, "end": 0.0, "duration": "$n"}}
    assert problems(H + "vars: {n: 30}\nlr: {kind: keras.CosineDecay, initial_learning_rate: 0.1, decay_steps: $n, "
                        "duration: 10}\n") == [  # fmt: skip
        "x.yaml:3:86: keras.CosineDecay: `duration` must be a number of steps here, not the var $n: it is cut at its "
        "`duration`"]
    assert problems(H + "vars: {n: 30}\ntotal: 10\nlr: {kind: torch.SequentialLR, lr: 0.1, schedulers: [{kind: "
                        "torch.StepLR, step_size: 3}, {kind: torch.CosineAnnealingWarmRestarts, T_0: $n}], "
                        "milestones: [10]}\n") == [  # fmt: skip
        "x.yaml:4:5: torch.SequentialLR: `duration` must be a number of steps here, not the var $n: it runs to "
        "`total`"]


def test_a_framework_kind_takes_the_carried_value_as_its_lr_and_leaves_other_phases_problems_alone():
    # no `lr`: torch's base lr is the previous phase's final value (0.5)
    spec = _lowered("lr: [{kind: linear, start: 0.0, end: 0.5, duration: 5}, {kind: torch.ExponentialLR, gamma: 0.5}]\n")
    assert spec.desugared == {("lr", 1): {"kind": "exponential", "start": 0.5, "gamma": 0.5}}
    # an error found before the kind (another hyperparameter's, an earlier phase's) stays where it is and as it is:
    # only the kind's own problems are prefixed and moved to it
    assert problems(H + "lr: {kind: onecycle, peak: 0.1, duration: 10, pct_start: 0.1}\nmomentum: {kind: "
                        "torch.ExponentialLR, lr: 0.9, gamma: 0.5}\n") == [  # fmt: skip
        "x.yaml:2:58: pct_start * duration = 1 must be > 1 (the peak is at pct_start*N - 1, which must come after "
        "step 0)"]
    assert problems(H + "total: 5\nlr: [{kind: constant, value: 0.1, duration: 10}, {kind: torch.ExponentialLR, "
                        "lr: 0.1, gamma: 0.5}]\n") == [  # fmt: skip
        "x.yaml:3:50: this phase begins at step 10, after `total` (step 5); shorten the phases before it or raise "
        "`total`"]
    # a spec given as a dict: the problem names the framework node's path
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.load({"schedspec": 1, "lr": [{"kind": "constant", "value": 0.1, "duration": 5}, {
            "kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 2, "pct_start": 0.3}]})
    assert [(str(i), i.severity) for i in err.value.issues] == [
        ("<dict>: lr[1]: torch.OneCycleLR (in its neutral form): pct_start * duration = 0.6 must be > 1 (the peak is "
         "at pct_start*N - 1, which must come after step 0)", "error")]


def test_a_phase_after_a_framework_kind_that_begins_after_total_is_refused():
    """Inside a framework kind's neutral form a phase may begin after `total` (the framework's own structure; it is
    cut or held there); a phase the user wrote after the kind may not."""
    assert problems(H + "total: 5\nlr: [{kind: torch.ExponentialLR, lr: 0.1, gamma: 0.5, duration: 10},\n"
                        "     {kind: constant, value: 0.1}]\n") == [  # fmt: skip
        "x.yaml:4:6: this phase begins at step 10, after `total` (step 5); shorten the phases before it or raise "
        "`total`"]


# ================================================================ lowerer.py: every refusal, exact, at its position

LOWERER_ERRORS = {
    "bare number not last": ("lr: [0.1, {kind: constant, value: 0.2}]\n",
                             "x.yaml:2:6: a bare number (0.1) has no duration; write {kind: constant, value: 0.1, "
                             "duration: ...} for a phase that is not the last"),
    "endless phase not last": ("lr: [{kind: repeat, of: {kind: cosine, start: 0.1, duration: 10}}, "
                               "{kind: constant, value: 0.2}]\n",
                               "x.yaml:2:6: only the last phase of a sequence may run forever; give this phase a "
                               "`duration`"),
    "sequence past 2**31-1": ("lr: [{kind: constant, value: 0.1, duration: 2147483647}, {kind: constant, value: 0.1, "
                              "duration: 1}]\n",
                              "x.yaml:2:5: this sequence lasts 2147483648 steps, more than 2**31-1 (the int32 step "
                              "counter of every framework); shorten its phases"),
    "sequence past 2**31-1 in epochs": ("interval: epoch\nlr: [{kind: constant, value: 0.1, duration: 2147483647}, "
                                        "{kind: constant, value: 0.1, duration: 1}]\n",
                                        "x.yaml:3:5: this sequence lasts 2147483648 epochs, more than 2**31-1 (the "
                                        "int32 step counter of every framework); shorten its phases"),
    "phase after total": ("total: 10\nlr: [{kind: constant, value: 0.1, duration: 20}, {kind: constant, value: 0.2}]\n",
                          "x.yaml:3:50: this phase begins at step 20, after `total` (step 10); shorten the phases "
                          "before it or raise `total`"),
    "onecycle peak at step 0": ("lr: {kind: onecycle, peak: 0.1, duration: 10, pct_start: 0.1}\n",
                                "x.yaml:2:58: pct_start * duration = 1 must be > 1 (the peak is at pct_start*N - 1, "
                                "which must come after step 0)"),
    "onecycle three_phase": ("lr: {kind: onecycle, peak: 0.1, duration: 10, pct_start: 0.55, three_phase: true}\n",
                             "x.yaml:2:58: with three_phase the second phase must end before N - 1: lower pct_start "
                             "below 0.5"),
    "piecewise first point": ("lr: {kind: piecewise, points: [[1, 0.1], [5, 0.2]]}\n",
                              "x.yaml:2:33: the first point must be at 0 (got 1)"),
    "plateau without a clock": ("lr: {kind: plateau, monitor: m, start: 0.1}\n",
                                "x.yaml:2:5: `plateau` reports once per epoch by default, which needs "
                                "`steps_per_epoch`; set it, or give `every`"),
    "plateau every in epochs": ("lr: {kind: plateau, monitor: m, start: 0.1, every: 3ep}\n",
                                "x.yaml:2:52: '3ep' is in epochs, which needs `steps_per_epoch`; add "
                                "`steps_per_epoch: N` at the top level"),
    "repeat of endless": ("lr: {kind: repeat, of: {kind: constant, value: 0.1}}\n",
                          "x.yaml:2:24: `repeat` needs `of` to have a finite duration (one period); give it a "
                          "`duration`"),
    "repeat mult inf": ("lr: {kind: repeat, mult: .inf, of: {kind: cosine, start: 0.1, duration: 10}}\n",
                        "x.yaml:2:26: `mult` must be a finite number (got inf)"),
    "repeat var period": ("vars: {p: [10, 20]}\nlr: {kind: repeat, mult: 1.5, of: {kind: cosine, start: 0.1, "
                          "duration: $p}}\n", "x.yaml:3:26: a var-length period needs an integer `mult`"),
    "repeat 32 doublings": ("lr: {kind: repeat, mult: 2, times: 32, of: {kind: cosine, start: 0.1, duration: 1}}\n",
                            "x.yaml:2:36: 32 cycles last 4294967295 steps, more than 2**31-1"),  # 2**32 - 1
    "repeat 62 doublings": ("lr: {kind: repeat, mult: 2, times: 62, of: {kind: cosine, start: 0.1, duration: 1}}\n",
                            "x.yaml:2:36: 62 cycles last 4611686018427387903 steps, more than 2**31-1"),  # 2**62 - 1
    "repeat 63 doublings": ("lr: {kind: repeat, mult: 2, times: 63, of: {kind: cosine, start: 0.1, duration: 1}}\n",
                            "x.yaml:2:36: 63 cycles last more than 2**31-1 steps"),
    "repeat mult 1 too long": ("lr: {kind: repeat, times: 300000000, of: {kind: cosine, start: 0.1, duration: 10}}\n",
                               "x.yaml:2:27: 300000000 cycles last more than 2**31-1 steps"),
    "repeat mult 1 too long, few cycles": ("lr: {kind: repeat, times: 30, of: {kind: cosine, start: 0.1, "
                                           "duration: 100000000}}\n",
                                           "x.yaml:2:27: 30 cycles last 3000000000 steps, more than 2**31-1"),
    "product of var lengths": ("vars: {a: [5, 10], b: [5, 20]}\nlr: {kind: product, of: [{kind: cosine, start: 0.1, "
                               "duration: $a}, {kind: cosine, start: 0.1, duration: $b}]}\n",
                               "x.yaml:3:5: the parts have var durations, so the longest is not known; give this "
                               "combinator a `duration`"),
    "clip bounds": ("lr: {kind: clip, min: 0.5, max: 0.2, of: {kind: cosine, start: 0.1, duration: 10}}\n",
                    "x.yaml:2:23: `min` (0.5) must not exceed `max` (0.2)"),
    "steps_per_epoch": ("steps_per_epoch: 2147483648\nlr: 0.1\n",
                        "x.yaml:2:18: `steps_per_epoch` 2147483648 is more than 2**31-1 (the int32 step counter of "
                        "every framework)"),
    "total percentage": ("total: 10%\nlr: 0.1\n", "x.yaml:2:8: `total` cannot be a percentage of itself; give steps "
                                                  "or epochs"),
    "total var": ("vars: {t: 100}\ntotal: $t\nlr: 0.1\n", "x.yaml:3:8: `total` must be a literal duration, not a var"),
    "sweep too large": ("vars: {" + ", ".join(f"v{i}: [1.0, 2.0]" for i in range(21)) + "}\nlr: {kind: constant, "
                        "value: " + " ".join(["$v0"]) + "}\n",
                        "x.yaml:2:7: the sweep has 2097152 members, more than 1000000; split it"),  # 2**21
    "cycle without duration": ("lr: {kind: polynomial, start: 0.1, cycle: true}\n",
                               "x.yaml:2:43: `cycle: true` restarts the decay after each `duration`: give the first "
                               "decay length as `duration` (the phase itself never ends)"),
    "cycle with warp": ("lr: {kind: polynomial, start: 0.1, cycle: true, duration: 10, warp: 2.0}\n",
                        "x.yaml:2:69: `warp` is not supported with `cycle: true` (Keras has no warp); remove one"),
    "tanh bounds": ("lr: {kind: tanh, start: 0.1, lb: 3.0, ub: 3.0, duration: 10}\n",
                    "x.yaml:2:43: `ub` (3) must be greater than `lb` (3): the curve runs from tanh(lb) to tanh(ub) "
                    "(timm asserts lb < ub)"),
    "cyclic period": ("lr: {kind: cyclic, low: 0.1, high: 1.0, up: 2000000000, down: 2000000000}\n",
                      "x.yaml:2:45: `up` + `down` = 4000000000 steps, more than 2**31-1 (the int32 step counter of "
                      "every framework)"),
    "first phase without start": ("lr: {kind: linear, end: 0.1, duration: 10}\n",
                                  "x.yaml:2:5: missing `start`: the first phase must give its start value (later "
                                  "phases default to the previous phase's final value)"),
    "no duration": ("lr: {kind: cosine, start: 0.1}\n",
                    "x.yaml:2:5: `cosine` needs a `duration` (or, as the last phase, a `total` to run to)"),
}  # fmt: skip


@pytest.mark.parametrize("name", LOWERER_ERRORS)
def test_every_refusal_of_the_lowerer_is_exact_and_positioned(name):
    body, expected = LOWERER_ERRORS[name]
    assert problems(H + body) == [expected]


def test_unordered_piecewise_points_are_each_refused_at_their_position():
    assert problems(H + "lr: {kind: piecewise, points: [[0, 0.1], [5, 0.2], [5, 0.3], [3, 0.1]]}\n") == [
        "x.yaml:2:53: points must be in strictly ascending order of `at`: 5 comes after 5",
        "x.yaml:2:63: points must be in strictly ascending order of `at`: 3 comes after 5"]


@pytest.mark.parametrize("body, neutral", [
    # cycles of 10 * mult**i: 10 + 20 + 40; 10 + 15 + 22.5 = 47.5, the first step after it 48; 10 x 3
    ("{kind: repeat, mult: 2, times: 3, decay: 0.5, of: {kind: cosine, start: 0.1, duration: 10}}", 70),
    ("{kind: repeat, mult: 1.5, times: 3, of: {kind: cosine, start: 0.1, duration: 10}}", 48),
    ("{kind: repeat, times: 3, of: {kind: cosine, start: 0.1, duration: 10}}", 30),
    ("{kind: repeat, mult: 2, times: 31, of: {kind: cosine, start: 0.1, duration: 1}}", 2**31 - 1),  # the last step
    ("{kind: repeat, of: {kind: cosine, start: 0.1, duration: 10}}", None),
])  # fmt: skip
def test_a_repeat_lasts_the_sum_of_its_cycles(body, neutral):
    node = schedspec.loads(H + f"lr: {body}\n").program.hparams["lr"]
    assert node.duration == neutral and node.period == (1 if "duration: 1}" in body else 10)


@pytest.mark.parametrize("head, every", [("interval: epoch\n", 1), ("steps_per_epoch: 7\n", 7), ("", 5)])
def test_a_plateau_reports_once_per_epoch_by_default(head, every):
    tail = ", every: 5" if not head else ""
    node = schedspec.loads(H + head + f"lr: {{kind: plateau, monitor: m, start: 0.1{tail}}}\n").program.hparams["lr"]
    assert node.every == every


def test_a_plateau_keeps_every_field_as_written():
    node = schedspec.loads(H + "steps_per_epoch: 4\nlr: {kind: plateau, monitor: m, start: 0.1, factor: 0.5, "
                           "threshold: 0.01, min: 0.001, eps: 0.0, patience: 2, cooldown: 1, mode: max, "
                           "threshold_mode: abs, every: 3ep, duration: 40}\n").program.hparams["lr"]
    assert (node.start, node.monitor, node.mode, node.factor, node.patience, node.threshold, node.threshold_mode,
            node.cooldown, node.min, node.eps, node.every, node.duration) == (
        0.1, "m", "max", 0.5, 2, 0.01, "abs", 1, 0.001, 0.0, 12, 40)  # 3ep at 4 steps per epoch


def test_a_group_that_changes_nothing_is_a_warning():
    assert warnings_of(H + "lr: 0.1\ngroups: {g: {}}\n") == [
        "x.yaml:3:13: group `g` changes nothing (no `scale`, no schedule): it gets the document's schedules"]


SWEEP_D = H + "vars: {p: [0.5, 2.0], d: 10}\nlr: {kind: linear, start: $p, end: 0.0, duration: $d}\n"


@pytest.mark.parametrize("overrides, expected", [
    ({"zz": 1}, "x.yaml: vars.zz: unknown var 'zz' (the spec defines: p, d)"),
    ({"pp": 1}, "x.yaml: vars.pp: unknown var 'pp' (the spec defines: p, d); did you mean 'p'?"),
    ({"p": "abc"}, "x.yaml: vars.p: var 'p' set to 'abc': expected a duration like 1000, '2000st', '5ep', '1.5ep', "
                   "'10%' or a $var, got the string 'abc'"),
    ({"d": -3}, "x.yaml: vars.d: var 'd' set to -3: must not be negative (got -3)"),
    # refused where the value is used: named by its path too, never positioned at the document's own value
    ({"p": 1e39}, "x.yaml: vars.p: $p = 1e+39 is beyond the float32 range (largest 3.4028235e+38), where the "
                  "float32 paths (evaluate's default, to_jax, to_keras, to_optax, emitted keras/optax/jax modules) "
                  "would hold inf; give a smaller number"),
    ({"p": [0.5, 1e39]}, "x.yaml: vars.p[1]: $p = 1e+39 is beyond the float32 range (largest 3.4028235e+38), where "
                         "the float32 paths (evaluate's default, to_jax, to_keras, to_optax, emitted keras/optax/jax "
                         "modules) would hold inf; give a smaller number"),
    ({"d": "3ep"}, "x.yaml: vars.d: '3ep' is in epochs, which needs `steps_per_epoch`; add `steps_per_epoch: N` at "
                   "the top level"),
    ({"d": [5, 2.5]}, "x.yaml: vars.d[1]: a bare duration (var $d, used at lr.duration) is a whole number of steps "
                      "(got 2.5)"),
])  # fmt: skip
def test_with_vars_refuses_an_unknown_var_or_a_bad_value(overrides, expected):
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.loads(SWEEP_D, "x.yaml").with_vars(overrides)
    assert str(err.value) == expected


def test_with_vars_on_a_spec_without_vars_and_with_a_new_sweep():
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.loads(H + "lr: 0.1\n").with_vars({"x": 1})
    assert str(err.value) == "<string>: vars.x: unknown var 'x' (the spec defines: none)"
    spec = schedspec.loads(SWEEP_D).with_vars({"p": (0.25, 1.0), "d": 20})
    assert spec.program.vars["p"].raw == (0.25, 1.0) and spec.program.vars["p"].sweep
    assert spec.bound({"p": 1.0}) == schedspec.loads(H + "lr: {kind: linear, start: 1.0, end: 0.0, duration: 20}\n").program


@pytest.mark.parametrize("body, duration", [
    # product / sum: the longest part; var parts of one var: that var; an open part: open (or `total`)
    ("{kind: product, of: [{kind: cosine, start: 0.1, duration: 5}, {kind: cosine, start: 0.1, duration: 20}]}", 20),
    ("{kind: product, of: [{kind: cosine, start: 0.1, duration: 5}, 0.5]}", None),
    ("{kind: sum, duration: 7, of: [{kind: cosine, start: 0.1, duration: 5}, 0.5]}", 7),
    # clip / scale: their own `duration`, else their part's
    ("{kind: clip, min: 0.05, of: [{kind: linear, start: 0.1, end: 0.2, duration: 5}, {kind: cosine, duration: 10}]}", 15),
    ("{kind: clip, duration: 8, of: [{kind: linear, start: 0.1, end: 0.2, duration: 5}, {kind: cosine}]}", 8),
    ("{kind: scale, by: 2.0, of: {kind: cosine, start: 0.1, duration: 10}}", 10),
])  # fmt: skip
def test_a_combinator_lasts_its_own_duration_or_its_parts(body, duration):
    assert schedspec.loads(H + f"lr: {body}\n").program.hparams["lr"].duration == duration


def test_an_open_part_inside_a_combinator_runs_to_its_duration_or_to_total():
    from schedspec import ir

    node = schedspec.loads(H + "vars: {a: [5, 10]}\nlr: {kind: sum, of: [{kind: cosine, start: 0.1, duration: $a}, "
                           "{kind: linear, start: 0.1, end: 0.2, duration: $a}]}\n").program.hparams["lr"]
    assert node.duration == ir.DVar("a")
    node = schedspec.loads(H + "total: 30\nlr: {kind: product, of: [{kind: cosine, start: 0.1, duration: 5}, 0.5]}\n"
                           ).program.hparams["lr"]
    assert node.duration == 30 and node.parts[1].duration is None
    node = schedspec.loads(H + "lr: {kind: clip, duration: 8, of: [{kind: linear, start: 0.1, end: 0.2, duration: 5}, "
                           "{kind: cosine}]}\n").program.hparams["lr"]
    assert node.of.parts[1].duration == 3 and node.of.parts[1].start == 0.2  # to the clip's end, carried
    node = schedspec.loads(H + "total: 30\nlr: {kind: scale, by: 2.0, of: [{kind: linear, start: 0.1, end: 0.2, "
                           "duration: 5}, {kind: cosine}]}\n").program.hparams["lr"]
    assert (node.duration, node.of.parts[1].duration) == (30, 25)


def test_a_clip_in_a_sequence_carries_the_previous_value_and_a_scale_does_not():
    node = schedspec.loads(H + "lr: [{kind: linear, start: 0.1, end: 0.2, duration: 5}, {kind: clip, max: 0.15, of: "
                           "{kind: cosine, duration: 10}}]\n").program.hparams["lr"]
    assert node.parts[1].of.start == 0.2 and node.parts[1].max == 0.15 and node.duration == 15
    assert problems(H + "lr: [{kind: linear, start: 0.1, end: 0.2, duration: 5}, {kind: scale, by: 2.0, of: "
                    "{kind: cosine, duration: 10}}]\n") == [
        "x.yaml:2:84: missing `start`: the first phase must give its start value (later phases default to the "
        "previous phase's final value)"]


def test_a_phase_may_begin_exactly_at_total():
    spec = schedspec.loads(H + "total: 10\nlr: [{kind: constant, value: 0.1, duration: 10}, {kind: constant, value: 0.1}]\n")
    assert spec.program.hparams["lr"].parts[1].duration is None and spec.warnings == []
    assert problems(H + "total: 9\nlr: [{kind: constant, value: 0.1, duration: 10}, {kind: constant, value: 0.1}]\n") == [
        "x.yaml:3:50: this phase begins at step 10, after `total` (step 9); shorten the phases before it or raise "
        "`total`"]


def test_a_framework_quirk_is_a_positioned_note_not_a_warning():
    spec = schedspec.loads(H + "lr: {kind: torch.CosineAnnealingLR, lr: 0.1, T_max: 10}\n", "x.yaml")
    assert spec.warnings == [] and [n.severity for n in spec.notes] == ["note"]
    assert [str(n) for n in spec.notes] == [
        "x.yaml:2:5: torch.CosineAnnealingLR: the lr rises again after T_max = 10 (a period of 2 * T_max: torch's "
        "cosine never holds eta_min); neutral: {kind: repeat, of: [{kind: cosine, start: lr, end: eta_min, duration: "
        "T_max}, {kind: cosine, start: eta_min, end: lr, duration: T_max}]}; to hold eta_min after T_max write "
        "{kind: cosine, end: eta_min, duration: 10}"]


TIMM_STEP = "{kind: timm.step, lr: 0.1, decay_t: 2.5, decay_rate: 0.5%s}"
FRACTIONAL = ("decay_t = 2.5 is fractional: timm decays at the first t with t // decay_t higher, which is listed up "
              "to the schedule's end: give the kind a `duration` or the spec a `total`")


@pytest.mark.parametrize("head, tail, line", [("", ", duration: 10", 2), ("total: 10\n", "", 3)])
def test_a_framework_kind_sees_its_horizon_from_its_duration_or_total(head, tail, line):
    # timm: t // 2.5 grows at t = 3, 5, 8, 10 (up to the end, 10)
    spec = schedspec.loads(H + head + "lr: " + TIMM_STEP % tail + "\n", "x.yaml")
    assert spec.program == schedspec.loads(H + head + "lr: {kind: multistep, start: 0.1, gamma: 0.5, "
                                           "milestones: [3, 5, 8, 10], duration: 10}\n").program
    assert [str(n) for n in spec.notes] == [
        f"x.yaml:{line}:5: timm.step: decay_t = 2.5 is fractional: timm decays at t = 3, 5, 8, 10, ... (float floor "
        "division); neutral: a multistep with those milestones"]


@pytest.mark.parametrize("body, expected", [
    ("lr: " + TIMM_STEP % "" + "\n", f"x.yaml:2:41: {FRACTIONAL}"),
    # after a var-length phase the room left to `total` is not known: no horizon
    ("vars: {d: [4, 6]}\ntotal: 20\nlr: [{kind: linear, start: 0.0, end: 0.1, duration: $d}, " + TIMM_STEP % ""
     + "]\n", f"x.yaml:4:94: {FRACTIONAL}"),
    # a framework kind's own `duration` is resolved at its position
    ("lr: " + TIMM_STEP % ", duration: 2ep" + "\n",
     "x.yaml:2:73: '2ep' is in epochs, which needs `steps_per_epoch`; add `steps_per_epoch: N` at the top level"),
])  # fmt: skip
def test_a_framework_kind_without_a_horizon_or_with_a_bad_duration_is_refused(body, expected):
    assert problems(H + body) == [expected]


def test_sequence_boundaries():
    # a flat first linear is not an inverted warmup
    spec = _lowered("lr: [{kind: linear, start: 0.1, end: 0.1, duration: 5}, {kind: cosine, duration: 10}]\n")
    assert spec.warnings == [] and spec.program.hparams["lr"].duration == 15
    # one step left to `total`: the open last phase lasts 1
    spec = _lowered("total: 11\nlr: [{kind: constant, value: 0.1, duration: 10}, {kind: cosine, end: 0.0}]\n")
    assert spec.program.hparams["lr"].parts[1].duration == 1
    # a repeat with `times` has its own length: it may be followed
    spec = _lowered("lr: [{kind: repeat, times: 2, of: {kind: cosine, start: 0.1, duration: 10}}, "
                    "{kind: constant, value: 0.0}]\n")
    assert spec.program.hparams["lr"].parts[0].duration == 20 and spec.warnings == []
    # a bare number as the last phase is a constant that never ends
    spec = _lowered("lr: [{kind: linear, start: 0.0, end: 0.1, duration: 5}, 0.1]\n")
    assert spec.program == schedspec.loads(H + "lr: [{kind: linear, start: 0.0, end: 0.1, duration: 5}, "
                                           "{kind: constant, value: 0.1}]\n").program


def test_a_part_after_a_nested_sequence_still_knows_where_it_begins():
    # the exponential begins at step 0 (a part of a product): its overflow is at a global step, not a local one
    (issue,) = problems(H + "lr: {kind: product, of: [[{kind: constant, value: 1.0, duration: 5}, {kind: constant, "
                        "value: 1.0}], {kind: exponential, start: 1.0, gamma: 2.0}]}\n")
    assert issue == ("x.yaml:2:101: this `exponential` overflows float32 from step 128 on (float64 value there: "
                     f"3.40282e+38): {F32}; it overflows float64 too, from step 1024 on; {EXP_HINT}")


# ================================================================ cycles.py: a repeat's real period and shift

COS10 = "{kind: cosine, start: 1.0, end: 0.0, duration: 10}"


@pytest.mark.parametrize("period, expected", [
    ("$p", "x.yaml:4:84: `period` must be a literal (not a $var): the cycle starts are tabulated when the spec is "
           "lowered"),
    ("'26.5/3'", "x.yaml:4:84: a bare period numerator is a whole number of steps (got 26.5)"),
    ("'0.55ep/2'", "x.yaml:4:84: period numerator '0.55ep' is 5.5 steps at steps_per_epoch 10, not a whole number "
                   "of steps; never rounded: choose a value that divides evenly"),
    ("0.55ep", "x.yaml:4:84: period '0.55ep' is 5.5 steps at steps_per_epoch 10, not a whole number of steps; never "
               "rounded: choose a value that divides evenly"),
])  # fmt: skip
def test_a_period_that_is_not_a_literal_whole_duration_is_refused_at_it(period, expected):
    assert problems(H + "vars: {p: 12}\nsteps_per_epoch: 10\n"
                        f"lr: {{kind: repeat, of: {COS10}, period: {period}}}\n") == [expected]  # fmt: skip


@pytest.mark.parametrize("repeat, expected", [
    # whole lengths are written as whole numbers, real ones as u/v
    ("period: 12, shift: 24, times: 2",
     "x.yaml:2:95: the shift 24 is at or after the end of the 2 cycles (2 x 12 = 24 units): the repeat would only "
     "hold its final value; give a smaller `shift` or more `times`"),
    ("period: '26/3', shift: 18, times: 2",
     "x.yaml:2:99: the shift 18 is at or after the end of the 2 cycles (2 x 26/3 = 52/3 units): the repeat would "
     "only hold its final value; give a smaller `shift` or more `times`"),
    ("period: 12, times: 200000000",
     "x.yaml:2:95: 200000000 cycles of 12 units last 2400000000 steps, more than 2**31-1"),
    ("period: '26/3', times: 300000000",
     "x.yaml:2:99: 300000000 cycles of 26/3 units last 2600000000 steps, more than 2**31-1"),
    ("period: '26/3', mult: 2",
     "x.yaml:2:84: `period` cannot be combined with `mult` 2: with `mult` each cycle has its own length; give "
     "`mult: 1` (the default) or drop `period`"),
])  # fmt: skip
def test_a_repeat_whose_cycles_end_before_the_shift_or_after_2_31_is_refused(repeat, expected):
    assert problems(H + f"lr: {{kind: repeat, of: {COS10}, {repeat}}}\n") == [expected]


def test_a_period_of_more_than_10000_cycles_per_window_is_refused_at_it_and_10000_is_allowed():
    """docs/language.md: a rational period ``D/c`` is ``u/v`` units in lowest terms, and ``u`` units hold ``v``
    cycles whose starts are tabulated one by one, at most 10000 of them. ``26/1.0001`` is 260000/10001 units:
    refused at `period`, every number of the message written out. ``10001/10000`` (10000 cycle starts) is the
    largest table allowed; its values worked by hand: cycle i begins at the real time ``i * 1.0001`` and `of`
    (a 10-step cosine) is squeezed to the period, ``0.5 * (1 + cos(pi * l / 1.0001))`` at local time ``l``."""
    import math
    from fractions import Fraction

    assert problems(H + f"lr: {{kind: repeat, of: {COS10}, period: '26/1.0001'}}\n") == [
        "x.yaml:2:84: the period 26/1.0001 is 260000/10001 units: 260000 units hold 10001 cycles, and their starts "
        "are tabulated one by one (at most 10000); give a divisor with fewer decimals"]  # fmt: skip
    spec = _lowered(f"lr: {{kind: repeat, of: {COS10}, period: '10001/10000'}}\n")
    period = Fraction(10001, 10000)
    ks = [0, 1, 2, 10000, 10001, 10002]
    want = []
    for k in ks:
        i = math.floor(k / period)  # the last cycle that began at or before k
        local = k - i * period
        want.append(0.5 * (1 + math.cos(math.pi * float(local / period))))
    assert want[0] == want[4] == 1.0  # 10001 = 10000 cycles of 1.0001 exactly: a restart
    got = schedspec.evaluate(spec, ks, dtype="float64").tolist()
    assert got == pytest.approx(want, rel=1e-9, abs=1e-15)


def test_a_repeat_whose_cycles_end_exactly_at_2_31_minus_1_loads():
    """214748365 cycles of 10 steps shifted by 3 end at ``2147483650 - 3 = 2**31-1``, the int32 step counter's last
    value: allowed (a shift of 2 ends one step later, refused above). With the shift, step t is the unshifted
    cosine at ``t + 3``: ``0.5 * (1 + cos(pi * ((t + 3) mod 10) / 10))``; from the end, its final value 0.0."""
    import math

    spec = _lowered(f"lr: {{kind: repeat, of: {COS10}, times: 214748365, shift: 3}}\n")
    assert spec.program.hparams["lr"].duration == 2**31 - 1
    assert problems(H + f"lr: {{kind: repeat, of: {COS10}, times: 214748365, shift: 2}}\n") == [
        "x.yaml:2:83: 214748365 cycles of 10 units last 2147483648 steps, more than 2**31-1"]
    ks = [0, 7, 2**31 - 2, 2**31 - 1]
    want = [0.5 * (1 + math.cos(math.pi * ((k + 3) % 10) / 10)) for k in ks[:3]] + [0.0]
    assert schedspec.evaluate(spec, ks, dtype="float64").tolist() == pytest.approx(want, rel=1e-12, abs=1e-16)


def test_a_whole_period_longer_than_of_stretches_it_and_the_shift_moves_the_clock():
    """``period: 12`` (a plain whole duration) stretches the 10-step cosine to 12 steps; ``shift: 1`` gives at t the
    unshifted value at t + 1: ``0.5 * (1 + cos(pi * ((t + 1) mod 12) / 12))`` (docs/language.md)."""
    import math

    spec = _lowered(f"lr: {{kind: repeat, of: {COS10}, period: 12, shift: 1}}\n")
    ks = [0, 10, 11, 12, 13, 23, 24]
    want = [0.5 * (1 + math.cos(math.pi * ((k + 1) % 12) / 12)) for k in ks]
    assert schedspec.evaluate(spec, ks, dtype="float64").tolist() == pytest.approx(want, rel=1e-15, abs=1e-16)


# ================================================================ lowerer.py: sequences at `total`


@pytest.mark.parametrize("total", [1, 2, 3])
def test_an_open_last_phase_that_begins_exactly_at_total_is_windowed_there(total):
    """docs/language.md: an open last phase runs to `total`; one that begins exactly at `total` has no room, so the
    sequence is windowed at `total` (a clip without bounds) and holds that phase's first value (0.1) from there;
    one that begins before `total` runs on as written. Values of ``0.1 * 0.5 ** k`` worked by hand."""
    from schedspec import ir

    step = "{kind: step, start: 0.1, every: 1, gamma: 0.5"
    spec = _lowered(f"total: {total}\nlr: [{step}, duration: {total}}}, {step}}}]\n")
    node = spec.program.hparams["lr"]
    assert isinstance(node, ir.Clip) and (node.min, node.max, node.duration) == (None, None, total)
    assert node.path == node.of.path == ("lr",)  # the window and the sequence are the document's `lr`
    assert isinstance(node.of, ir.Sequence) and len(node.of.parts) == 2
    ks = [*range(total + 3), 2**31 - 1]
    want = [0.1 * 0.5**k for k in range(total)] + [0.1] * (len(ks) - total)
    assert schedspec.evaluate(spec, ks, dtype="float64").tolist() == pytest.approx(want, rel=1e-15, abs=0)
    # one step more of room: not windowed, the open phase runs to `total` (0.1, 0.05 at total + 1)
    spec = _lowered(f"total: {total + 1}\nlr: [{step}, duration: {total}}}, {step}}}]\n")
    assert isinstance(spec.program.hparams["lr"], ir.Sequence)
    got = schedspec.evaluate(spec, [total, total + 1, total + 2], dtype="float64").tolist()
    assert got == pytest.approx([0.1, 0.05, 0.05], rel=1e-15, abs=0)


def test_a_held_constant_or_a_bare_number_beginning_at_total_is_left_as_written_at_its_own_path():
    """A constant (or a bare number, the same) beginning exactly at `total` holds its value anyway: the sequence is
    not windowed (same values, same fingerprint), and the bare number's node is positioned at the number."""
    from schedspec import ir

    for last in ("{kind: constant, value: 0.2}", "0.2"):
        spec = _lowered(f"total: 5\nlr: [{{kind: constant, value: 0.1, duration: 5}}, {last}]\n")
        node = spec.program.hparams["lr"]
        assert isinstance(node, ir.Sequence), last
        assert [p.path for p in node.parts] == [("lr", 0), ("lr", 1)]
        assert schedspec.evaluate(spec, [4, 5, 6], dtype="float64").tolist() == [0.1, 0.2, 0.2]


def test_a_sequence_of_exactly_2_31_minus_1_steps_loads():
    """2**31-1 steps is the int32 step counter's last value: allowed; one more is refused (the refusal above)."""
    spec = _lowered("lr: [{kind: constant, value: 0.1, duration: 2147483646}, {kind: constant, value: 0.2, duration: 1}]\n")
    assert spec.program.hparams["lr"].duration == 2**31 - 1
    assert schedspec.evaluate(spec, [2**31 - 2, 2**31 - 1], dtype="float64").tolist() == [0.2, 0.2]


def test_a_repeat_in_a_sequence_gives_the_carried_value_to_its_cycle():
    """A `repeat`'s `of` without `start` begins each cycle at the previous phase's final value (0.2)."""
    node = _lowered("lr: [{kind: linear, start: 0.1, end: 0.2, duration: 5}, {kind: repeat, times: 2, of: "
                    "{kind: cosine, end: 0.0, duration: 10}}]\n").program.hparams["lr"]  # fmt: skip
    assert node.parts[1].of.start == 0.2 and node.duration == 25


# ================================================================ lowerer.py: a refused field builds nothing

NEXT = "{kind: linear, end: 0.0, duration: 5}"  # a phase after it, carrying its final value as `start`
BEYOND = "is beyond the float32 range (largest 3.4028235e+38)"
EPOCHS = "'3ep' is in epochs, which needs `steps_per_epoch`; add `steps_per_epoch: N` at the top level"


@pytest.mark.parametrize("phase, message", [
    # one case per field that each kind's own branch reads (and a few of the kinds built from their table row):
    # `@` marks where the one error is positioned (it is not part of the spec)
    ("{kind: constant, value: @1e39, duration: 10}", f"`value`: 1e+39 {BEYOND}"),
    ("{kind: polynomial, start: 1.0, end: @1e39, power: 2, duration: 10}", f"`end`: 1e+39 {BEYOND}"),
    ("{kind: polynomial, start: 1.0, end: 0.0, power: 2, duration: 10, warp: @1e39}", f"`warp`: 1e+39 {BEYOND}"),
    ("@{kind: polynomial, end: 0.0, power: 2, duration: 10}", "missing `start`: the first phase must give"),
    ("{kind: tanh, start: 1.0, end: 0.0, lb: @1e39, ub: 3, duration: 10}", f"`lb`: 1e+39 {BEYOND}"),
    ("{kind: tanh, start: 1.0, end: 0.0, lb: 1, ub: @1, duration: 10}",
     "`ub` (1) must be greater than `lb` (1): the curve runs from tanh(lb) to tanh(ub)"),
    ("{kind: multistep, start: 1.0, gamma: @1e39, milestones: [2], duration: 10}", f"`gamma`: 1e+39 {BEYOND}"),
    ("{kind: multistep, start: 1.0, gamma: 0.5, milestones: [2, @'3ep'], duration: 10}", EPOCHS),
    ("{kind: piecewise, points: [[0, 1.0], [5, @1e39]], duration: 10}", f"1e+39 {BEYOND}"),
    ("{kind: piecewise, points: [[0, 1.0], [@'3ep', 0.5]], duration: 10}", EPOCHS),
    ("{kind: piecewise, points: [[@2, 1.0], [5, 0.5]], duration: 10}", "the first point must be at 0 (got 2)"),
    ("{kind: cyclic, low: 0.1, high: @1e39, up: 5, duration: 10}", f"`high`: 1e+39 {BEYOND}"),
    ("{kind: cyclic, low: 0.1, high: 1.0, up: @'3ep', duration: 10}", EPOCHS),
    ("{kind: cyclic, low: 0.1, high: 1.0, up: 5, down: @'3ep', duration: 10}", EPOCHS),
    ("{kind: onecycle, peak: @1e39, duration: 10}", f"`peak`: 1e+39 {BEYOND}"),
    ("{kind: onecycle, peak: 1.0, pct_start: @0.1, duration: 10}", "pct_start * duration = 1 must be > 1"),
    ("{kind: plateau, start: 1.0, monitor: loss, every: 1, eps: @1e39, duration: 10}", f"`eps`: 1e+39 {BEYOND}"),
    ("@{kind: plateau, monitor: loss, every: 1, duration: 10}", "missing `start`: the first phase must give"),
    ("{kind: linear, start: 1.0, end: @1e39, duration: 10}", f"`end`: 1e+39 {BEYOND}"),
    ("{kind: exponential, start: 1.0, gamma: @1e39, duration: 10}", f"`gamma`: 1e+39 {BEYOND}"),
    ("{kind: step, start: 1.0, gamma: 0.5, every: @'3ep', duration: 10}", EPOCHS),
    ("{kind: scale, by: @1e39, of: {kind: linear, start: 1.0, end: 0.0, duration: 10}}", f"`by`: 1e+39 {BEYOND}"),
])  # fmt: skip
def test_a_bad_field_of_a_phase_before_another_is_the_only_error_and_builds_nothing(phase, message):
    """docs/language.md: every problem is reported with its position. A phase refused at a field builds no node,
    so the next phase (which carries that phase's final value as its `start`) neither crashes on a half-built
    node nor adds an error of its own: exactly one error, at the bad value (the column of `@`)."""
    line = f"lr: [{phase}, {NEXT}]"
    col = line.index("@") + 1
    got = problems(H + line.replace("@", "") + "\n")
    assert len(got) == 1 and got[0].startswith(f"x.yaml:2:{col}: {message}"), got


def test_a_first_constant_without_value_is_refused_in_plain_words():
    assert problems(H + "lr: {kind: constant}\n") == [
        "x.yaml:2:5: missing `value`: the first phase must give its value (later phases default to the previous "
        "phase's final value)"]


@pytest.mark.parametrize("phase, second", [
    ("{kind: cyclic, low: 0.1, high: 1e39, up: 2147483647, down: 1}",
     "x.yaml:2:46: `up` + `down` = 2147483648 steps, more than 2**31-1 (the int32 step counter of every framework)"),
    ("{kind: onecycle, peak: 1e39, pct_start: 0.05, duration: 10}",
     "x.yaml:2:45: pct_start * duration = 0.5 must be > 1 (the peak is at pct_start*N - 1, which must come after "
     "step 0)"),
    ("{kind: tanh, start: 1e39, end: 0.0, lb: 1, ub: 1, duration: 10}",
     "x.yaml:2:52: `ub` (1) must be greater than `lb` (1): the curve runs from tanh(lb) to tanh(ub) (timm asserts "
     "lb < ub)"),
    ("{kind: piecewise, points: [[0, 1e39], [5, 1.0], [3, 0.5]]}",
     "x.yaml:2:54: points must be in strictly ascending order of `at`: 3 comes after 5"),
    ("{kind: multistep, start: 1e39, gamma: 0.5, milestones: [5, 3]}",
     "x.yaml:2:64: milestones must be in ascending order: 3 comes after 5"),
])  # fmt: skip
def test_a_check_across_fields_runs_when_the_fields_it_reads_are_valid(phase, second):
    """docs/language.md: within a phase, a check across fields runs whenever the fields it reads are valid, so
    independent problems are all reported: the refused number first (in the document's order), then the check."""
    got = problems(H + f"lr: {phase}\n")
    assert len(got) == 2 and f"1e+39 {BEYOND}" in got[0] and got[1] == second, got


@pytest.mark.parametrize("phase, col", [
    ("{kind: cyclic, low: 0.1, high: 1.0, up: '3ep', down: 2147483647}", 45),
    ("{kind: piecewise, points: [[0, 1.0], ['3ep', 1.0], [2, 0.5]]}", 43),
])  # fmt: skip
def test_a_check_across_fields_is_never_computed_from_a_refused_field(phase, col):
    got = problems(H + f"lr: {phase}\n")
    assert len(got) == 1 and got[0].startswith(f"x.yaml:2:{col}: '3ep' is in epochs"), got


@pytest.mark.parametrize("kind", ["linear", "cosine", "polynomial", "onecycle", "tanh"])
def test_a_kind_that_needs_a_length_is_refused_without_duration_or_total(kind):
    fields = {"onecycle": "peak: 1.0"}.get(kind, "start: 1.0, end: 0.0")
    assert problems(H + f"lr: {{kind: {kind}, {fields}}}\n") == [
        f"x.yaml:2:5: `{kind}` needs a `duration` (or, as the last phase, a `total` to run to)"]


def test_a_onecycle_of_var_duration_loads_and_its_pct_start_is_checked_per_member():
    """With a $var duration, ``pct_start * duration`` is not known when the phase is lowered: the phase loads (its
    first value ``peak / div_factor`` = 1/25, torch's OneCycleLR default div_factor)."""
    spec = _lowered("vars: {d: 100}\nlr: {kind: onecycle, peak: 1.0, duration: $d}\n")
    assert schedspec.evaluate(spec, [0], dtype="float64").tolist() == [0.04]


@pytest.mark.parametrize("phase, explicit", [
    ("{kind: polynomial, end: 0.0, power: 2, duration: 10}", "{kind: polynomial, start: 0.5, end: 0.0, power: 2, duration: 10}"),
    ("{kind: tanh, end: 0.0, duration: 10}", "{kind: tanh, start: 0.5, end: 0.0, duration: 10}"),
    ("{kind: multistep, gamma: 0.5, milestones: [2], duration: 10}",
     "{kind: multistep, start: 0.5, gamma: 0.5, milestones: [2], duration: 10}"),
    ("{kind: constant, duration: 10}", "{kind: constant, value: 0.5, duration: 10}"),
])  # fmt: skip
def test_polynomial_tanh_multistep_and_constant_carry_the_previous_final_value_as_start(phase, explicit):
    """docs/language.md: a later phase without `start` begins at the previous phase's final value (0.5 here)."""
    first = "{kind: linear, start: 1.0, end: 0.5, duration: 10}"
    carried, written = _lowered(f"lr: [{first}, {phase}]\n"), _lowered(f"lr: [{first}, {explicit}]\n")
    ks = [9, 10, 11, 12, 15, 19, 20]
    assert schedspec.evaluate(carried, ks, dtype="float64").tolist() == \
        schedspec.evaluate(written, ks, dtype="float64").tolist()
    if "polynomial" in phase:  # (0.5 - 0) * (1 - t / 10) ** 2 at t = k - 10
        want = [0.55, 0.5, 0.405, 0.32, 0.125, 0.005, 0.0]
        assert schedspec.evaluate(carried, ks, dtype="float64").tolist() == pytest.approx(want, rel=1e-12, abs=1e-15)
    if "constant" in phase:
        assert schedspec.evaluate(carried, ks, dtype="float64").tolist() == [0.55] + [0.5] * 6
    if "multistep" in phase:  # 0.5, then 0.25 from milestone 2 (step 12)
        assert schedspec.evaluate(carried, ks, dtype="float64").tolist() == [0.55, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]


def test_a_cyclic_period_of_exactly_2_31_minus_1_loads():
    spec = _lowered("lr: {kind: cyclic, low: 0.1, high: 1.0, up: 2147483646, down: 1}\n")
    assert spec.program.hparams["lr"].up == 2147483646
    assert problems(H + "lr: {kind: cyclic, low: 0.1, high: 1.0, up: 2147483647, down: 1}\n") == [
        "x.yaml:2:45: `up` + `down` = 2147483648 steps, more than 2**31-1 (the int32 step counter of every framework)"]


def test_milestones_out_of_order_are_refused_from_the_second_and_repeated_ones_decay_twice():
    """torch's MultiStepLR counts a repeated milestone twice (its milestones are a Counter): at step 3 the lr is
    ``1.0 * 0.5 ** 2``. A milestone before the previous one is refused, at it, from the second milestone on."""
    assert problems(H + "lr: {kind: multistep, start: 1.0, gamma: 0.5, milestones: [5, 3]}\n") == [
        "x.yaml:2:63: milestones must be in ascending order: 3 comes after 5"]
    spec = _lowered("lr: {kind: multistep, start: 1.0, gamma: 0.5, milestones: [3, 3]}\n")
    assert schedspec.evaluate(spec, [2, 3, 4], dtype="float64").tolist() == [1.0, 0.25, 0.25]


def test_a_combinator_as_the_open_last_phase_keeps_its_own_length_and_a_refused_one_builds_nothing():
    """A `scale` of a 5-step phase, last in a sequence under `total: 20`, keeps its length (it is not an open
    phase): the schedule ends at step 15, which is warned; refused (a bad `by`), it is the only error."""
    text = "total: 20\nlr: [{kind: constant, value: 0.5, duration: 10}, {kind: scale, by: BY, of: " \
           "{kind: linear, start: 1.0, end: 0.0, duration: 5}}]\n"  # fmt: skip
    spec = _lowered(text.replace("BY", "2"))
    assert spec.program.hparams["lr"].parts[1].duration == 5
    assert [str(w) for w in spec.warnings] == [
        "x.yaml:3:5: the `lr` schedule ends at step 15, before `total` (step 20); it holds its final value after that"]
    got = problems(H + text.replace("BY", "1e39"))
    assert len(got) == 1 and got[0].startswith(f"x.yaml:3:68: `by`: 1e+39 {BEYOND}"), got


def test_every_generically_lowered_kind_gets_every_slot_from_its_model():
    """The lowerer builds a kind without a branch of its own from its table row's slots (``_generic``): it reads
    a PARAM or DUR slot's field and refuses nothing itself, so the model must require that field or give it a
    default (else a missing one would build nothing, silently), and no such row may have a tuple slot (DURS,
    PARAMS: read as they are). A new neutral kind that breaks either needs a branch in ``_Lowerer._phase``."""
    from pydantic_core import PydanticUndefined

    from schedspec import kinds as K
    from schedspec import language
    from schedspec.lowering import lowerer

    generic = 0
    for name, model in language.PHASES.items():
        row = lowerer._generic_row(name)
        if row is None:
            assert name in lowerer._BRANCHED, name
            continue
        generic += 1
        variant = {s.field for s in row.variant.slots} if row.variant else set()
        for slot in row.slots + (row.variant.slots if row.variant else ()):
            assert slot.shape not in (K.DURS, K.PARAMS), (name, slot.field)
            if slot.field in ("start", "duration") or slot.field in variant or slot.shape not in (K.PARAM, K.DUR):
                continue  # carried, cut at `total` / refused as a needed length, at its neutral value, optional
            info = model.model_fields[slot.field]
            assert info.is_required() or info.default not in (None, PydanticUndefined), (name, slot.field)
    assert generic >= 6  # linear, cosine, exponential, step, inverse_time, inverse_sqrt at least


# ================================================================ lowerer.py: groups


def test_every_unknown_key_of_a_group_is_reported_with_its_nearest_name_scale_included():
    got = problems(H + "lr: 0.1\nwd: 0.1\ngroups:\n  head: {scal: 2, wdd: 0.2}\n")
    assert got == [
        "x.yaml:5:10: group `head`: `scal` is not a hyperparameter of the document; did you mean 'scale'? (it "
        "schedules: lr, wd); a group overrides the document's schedules, so schedule it at the top level too",
        "x.yaml:5:19: group `head`: `wdd` is not a hyperparameter of the document; did you mean 'wd'? (it "
        "schedules: lr, wd); a group overrides the document's schedules, so schedule it at the top level too"]  # fmt: skip


def test_a_group_schedule_begins_at_step_0_and_may_fill_total_exactly():
    """A group's own schedule is checked against `total` from step 0, as the document's: a last phase that begins
    exactly at `total` is allowed (its value is held from there)."""
    spec = _lowered("total: 10\nlr: 0.1\ngroups:\n  head: {lr: [{kind: constant, value: 0.1, duration: 10}, 0.1]}\n")
    assert spec.warnings == []
    assert problems(H + "total: 10\nlr: 0.1\ngroups:\n  head: {lr: [{kind: constant, value: 0.1, duration: 11}, 0.1]}\n") \
        == ["x.yaml:5:59: this phase begins at step 11, after `total` (step 10); shorten the phases before it or "
            "raise `total`"]  # fmt: skip


def test_a_bad_group_scale_is_its_only_error_and_a_group_with_its_own_lr_is_not_warned_of():
    got = problems(H + "lr: 0.1\ngroups:\n  head: {scale: 1e39}\n")
    assert len(got) == 1 and got[0].startswith(f"x.yaml:4:17: `scale`: 1e+39 {BEYOND}"), got
    assert warnings_of(H + "lr: 0.1\ngroups:\n  head: {lr: 0.2}\n") == []
    assert warnings_of(H + "lr: 0.1\ngroups:\n  head: {scale: 2}\n") == []
    assert warnings_of(H + "lr: 0.1\ngroups:\n  head: {}\n") == [
        "x.yaml:4:9: group `head` changes nothing (no `scale`, no schedule): it gets the document's schedules"]


@pytest.mark.parametrize("lr, col", [("1e39", 5), ("{kind: linear, start: 1.0, end: 1e39, duration: 10}", 37)])
def test_a_refused_document_lr_under_a_group_scale_is_the_only_error(lr, col):
    """A group's `scale` multiplies the document's `lr`; when that `lr` is refused there is nothing to scale: the
    one error is the `lr`'s own (no crash on the missing schedule)."""
    got = problems(H + f"lr: {lr}\ngroups:\n  head: {{scale: 2}}\n")
    assert len(got) == 1 and got[0].startswith(f"x.yaml:2:{col}: "), got
    assert f"1e+39 {BEYOND}" in got[0]


def test_a_group_scale_over_its_own_lr_that_overflows_is_reported_once():
    """An exponential doubling from 1.0 passes the float32 maximum at step 128; scaled by 2, at step 127. The
    group's `lr` is one schedule: the first overflow (the scale's) is reported, not both."""
    got = problems(H + "lr: 0.1\ngroups:\n  head: {lr: {kind: exponential, start: 1.0, gamma: 2.0, duration: 200}, "
                       "scale: 2}\n")  # fmt: skip
    assert len(got) == 1 and got[0].startswith("x.yaml:4:81: this `scale` overflows float32 from step 127 on"), got


# ================================================================ lowerer.py: repeat


REP_COS = "{kind: cosine, start: 1.0, end: 0.0, duration: 10}"


@pytest.mark.parametrize("body, expected", [
    # a var's members are checked against the field's bound, at the var
    ("vars: {d: [0.5, -0.5]}\nlr: {kind: repeat, of: " + REP_COS + ", decay: $d}\n",
     "x.yaml:2:11: `d`: must not be negative (got -0.5)"),
    ("lr: {kind: repeat, of: " + REP_COS + ", mult: 1.0e+39}\n",
     "x.yaml:2:82: `mult`: 1e+39 is beyond the float32 range (largest 3.4028235e+38), where the float32 paths "
     "(evaluate's default, to_jax, to_keras, to_optax, emitted keras/optax/jax modules) would hold inf; give a "
     "smaller number"),
    # log1p((2**31 - 1) * (mult - 1) / period) / log(mult) = log1p(21474.8) / log(1.0001) = 99751.8 cycles
    ("lr: {kind: repeat, of: " + REP_COS + ", mult: 1.0001}\n",
     "x.yaml:2:82: with `mult` 1.0001 and a period of 10, about 99751 cycles begin before step 2**31-1; a fractional "
     "`mult` allows at most 10000: give fewer `times`, a larger `mult` or `mult: 1`"),
    # a 1-step period stretched by 1.5 each cycle: cycle i begins at ceil((1.5**i - 1) / 0.5); cycle 52 would begin
    # after 2**31-1 (1.5**52 / 0.5 = 2.8e9), so 60 cycles do not fit; the end is past the table: 2**31
    ("lr: {kind: repeat, of: {kind: constant, value: 0.5, duration: 1}, mult: 1.5, times: 60}\n",
     "x.yaml:2:85: 60 cycles last 2147483648 steps, more than 2**31-1"),
])  # fmt: skip
def test_a_repeat_s_refusals_are_exact(body, expected):
    assert problems(H + body) == [expected]


@pytest.mark.parametrize("fields, want", [
    # (period, times, mult, duration, span, shift) of the lowered Repeat
    ("mult: 1.0001, times: 3", (10, 3, 1.0001, 31, None, 0)),  # 10 + 10.001 + 10.002: the 4th begins at 31
    ("mult: 1.5, times: 5", (10, 5, 1.5, 132, None, 0)),  # 10 * (1.5**5 - 1) / 0.5 = 131.875: step 132
    ("period: '10/1'", (10, None, 1.0, None, None, 0)),  # a real period equal to `of`: the plain repeat
    ("period: '10/1', times: 2", (10, 2, 1.0, 20, None, 0)),
    ("shift: 3, times: 2", (10, 2, 1.0, 17, None, 3)),  # the clock 3 steps ahead: 20 - 3
    ("shift: 3, times: 2, duration: 30", (10, 2, 1.0, 30, None, 3)),  # a written duration is kept
    ("period: '26/3', times: 2", (10, 2, 1.0, 18, "26/3", 0)),  # ceil(52/3) = 18
    ("period: '26/3', shift: 1", (10, None, 1.0, None, "26/3", 1)),
])  # fmt: skip
def test_a_repeat_lowers_its_period_times_mult_duration_and_shift(fields, want):
    node = _lowered(f"lr: {{kind: repeat, of: {REP_COS}, {fields}}}\n").program.hparams["lr"]
    assert (node.period, node.times, node.mult, node.duration, node.span, node.shift) == want


def test_an_overflow_after_a_repeat_inside_a_product_is_at_its_absolute_step():
    """The product begins at step 10; its exponential (gamma 2) passes 3.4028235e+38 at local step 128 (2**128):
    absolute step 138. The repeat before it inside the product must not lose where the product begins."""
    assert problems(H + f"lr: [{REP_COS}, {{kind: product, of: [{{kind: repeat, of: {REP_COS}, times: 2}}, "
                        "{kind: exponential, start: 1.0, gamma: 2.0}]}]\n")[0].startswith(  # fmt: skip
        "x.yaml:2:161: this `exponential` overflows float32 from step 138 on (float64 value there: 3.40282e+38)")


# ================================================================ lowerer.py: phases built from the kinds table


@pytest.mark.parametrize("phase, want", [
    # a variant's field: at its neutral value when not written (warp 1, shift 0), as written otherwise
    ("{kind: linear, start: 0.0, end: 1.0, duration: 10}", {"warp": 1.0}),
    ("{kind: linear, start: 0.0, end: 1.0, duration: 10, warp: 2.0}", {"warp": 2.0}),
    ("{kind: cosine, start: 1.0, end: 0.0, duration: 10, warp: 0.5}", {"warp": 0.5, "exponent": 1.0}),
    ("{kind: inverse_sqrt, start: 0.1, timescale: 10}", {"shift": 0, "timescale": 10}),
    ("{kind: inverse_sqrt, start: 0.1, timescale: 10, shift: 5}", {"shift": 5, "timescale": 10}),
])  # fmt: skip
def test_a_generic_phase_takes_its_variant_field_or_its_neutral_value(phase, want):
    node = _lowered(f"lr: {phase}\n").program.hparams["lr"]
    assert {f: getattr(node, f) for f in want} == want


@pytest.mark.parametrize("fields, expected", [
    # `down` defaults to `up`: a bad `up` is reported once (it was read, and reported, twice)
    ("low: 0.1, high: 1.0, up: 0.55ep",
     ["x.yaml:3:45: duration '0.55ep' is 5.5 steps at steps_per_epoch 10, not a whole number of steps; never "
      "rounded: choose a value that divides evenly"]),
    ("low: 1.0e+39, high: 1.0, up: 5",
     ["x.yaml:3:25: `low`: 1e+39 is beyond the float32 range (largest 3.4028235e+38), where the float32 paths "
      "(evaluate's default, to_jax, to_keras, to_optax, emitted keras/optax/jax modules) would hold inf; give a "
      "smaller number"]),
])  # fmt: skip
def test_a_bad_field_of_a_cyclic_phase_is_reported_once_and_nothing_else_is_built(fields, expected):
    assert problems(H + f"steps_per_epoch: 10\nlr: {{kind: cyclic, {fields}}}\n") == expected


def _ir():
    from schedspec import ir

    return ir


@pytest.mark.parametrize("phase, want", [
    ("{kind: constant, value: 0.5, duration: 10}", lambda ir: ir.Constant(0.5, 10)),
    ("{kind: polynomial, start: 1.0, end: 0.1, power: 2.0, duration: 10, warp: 3.0}",
     lambda ir: ir.Polynomial(1.0, 0.1, 2.0, 10, warp=3.0)),
    # `cycle`: `duration` is the first decay length (`every`); the phase never ends: it runs to `total`
    ("{kind: polynomial, start: 1.0, end: 0.1, power: 2.0, duration: 10, cycle: true}",
     lambda ir: ir.PolynomialCycle(1.0, 0.1, 2.0, 10, 100)),
    ("{kind: tanh, start: 1.0, end: 0.1, lb: -4.0, ub: 2.0, duration: 10}", lambda ir: ir.Tanh(1.0, 0.1, -4.0, 2.0, 10)),
    ("{kind: multistep, start: 1.0, gamma: 0.5, milestones: [3, 7]}",
     lambda ir: ir.MultiStep(1.0, 0.5, (3, 7), 100)),
    ("{kind: piecewise, points: [[0, 1.0], [4, 0.5], [9, 0.25]], interpolate: linear}",
     lambda ir: ir.Piecewise((0, 4, 9), (1.0, 0.5, 0.25), "linear", 100)),
    ("{kind: cyclic, low: 0.1, high: 1.0, up: 4, down: 6, mode: exp_range, gamma: 0.9, duration: 20}",
     lambda ir: ir.Cyclic(0.1, 1.0, 4, 6, "exp_range", 0.9, 20)),
    ("{kind: cyclic, low: 0.1, high: 1.0, up: 4}",  # `down` is `up`; triangular, gamma 1; runs to `total`
     lambda ir: ir.Cyclic(0.1, 1.0, 4, 4, "triangular", 1.0, 100)),
    ("{kind: onecycle, peak: 1.0, duration: 100, pct_start: 0.3, div_factor: 10.0, final_div_factor: 100.0, "
     "anneal: linear, three_phase: true}", lambda ir: ir.OneCycle(1.0, 0.3, 10.0, 100.0, "linear", True, 100)),
])  # fmt: skip
def test_every_kind_with_its_own_branch_lowers_to_the_fields_written(phase, want):
    """Each field of the IR node is the value written in the document (or its documented default), the open
    phases running to `total` (100)."""
    assert _lowered(f"total: 100\nlr: {phase}\n").program.hparams["lr"] == want(_ir())


@pytest.mark.parametrize("phase, expected", [
    ("{kind: tanh, start: 1.0, end: 0.1, lb: 2.0, ub: -4.0, duration: 10}",
     "x.yaml:3:53: `ub` (-4) must be greater than `lb` (2): the curve runs from tanh(lb) to tanh(ub) (timm asserts "
     "lb < ub)"),
    ("{kind: tanh, start: 1.0, end: 0.1, lb: 2.0, ub: 2.0, duration: 10}",
     "x.yaml:3:53: `ub` (2) must be greater than `lb` (2): the curve runs from tanh(lb) to tanh(ub) (timm asserts "
     "lb < ub)"),
    ("{kind: piecewise, points: [[0, 1.0], [0, 0.5], [5, 0.2]]}",
     "x.yaml:3:43: points must be in strictly ascending order of `at`: 0 comes after 0"),
    ("{kind: piecewise, points: [[0, 1.0], [0.55ep, 0.5], [9, 0.2]]}",
     "x.yaml:3:43: duration '0.55ep' is 5.5 steps at steps_per_epoch 10, not a whole number of steps; never rounded: "
     "choose a value that divides evenly"),
    ("{kind: multistep, start: 1.0, gamma: 0.5, milestones: [3, 0.55ep]}",
     "x.yaml:3:63: duration '0.55ep' is 5.5 steps at steps_per_epoch 10, not a whole number of steps; never "
     "rounded: choose a value that divides evenly"),
    ("{kind: polynomial, start: 1.0, end: 0.1, power: 2.0, duration: 0.55ep, cycle: true}",
     "x.yaml:3:68: duration '0.55ep' is 5.5 steps at steps_per_epoch 10, not a whole number of steps; never "
     "rounded: choose a value that divides evenly"),
    ("{kind: constant, value: 1.0e+39, duration: 10}",
     "x.yaml:3:29: `value`: 1e+39 is beyond the float32 range (largest 3.4028235e+38), where the float32 paths "
     "(evaluate's default, to_jax, to_keras, to_optax, emitted keras/optax/jax modules) would hold inf; give a "
     "smaller number"),
])  # fmt: skip
def test_a_bad_field_of_a_branched_kind_is_refused_once_at_it(phase, expected):
    assert problems(H + f"steps_per_epoch: 10\nlr: {phase}\n") == [expected]


@pytest.mark.parametrize("fields", [
    "pct_start: 0.15",  # pct_start * duration = 1.5 > 1: the peak at 0.5 comes after step 0
    "pct_start: 0.54, three_phase: true",  # 2 * 5.4 - 2 = 8.8 < 9 = N - 1
    "pct_start: 0.6",  # without three_phase there is no second phase to end before N - 1
])
def test_a_onecycle_just_inside_its_limits_loads(fields):
    assert _lowered(f"lr: {{kind: onecycle, peak: 1.0, duration: 10, {fields}}}\n").program.hparams["lr"].duration == 10


COS1 = "{kind: cosine, start: 1.0, end: 0.0, duration: 10}"
F32_HINT = ("1e+39 is beyond the float32 range (largest 3.4028235e+38), where the float32 paths (evaluate's default, "
            "to_jax, to_keras, to_optax, emitted keras/optax/jax modules) would hold inf; give a smaller number")


@pytest.mark.parametrize("phase, want", [
    # a combinator's own `duration` cuts it; its open parts run to it
    (f"{{kind: scale, by: 2.0, of: {COS1}, duration: 5}}", lambda ir, c: ir.Scale(2.0, c, 5)),
    (f"{{kind: clip, min: 0.5, max: 0.5, of: {COS1}}}", lambda ir, c: ir.Clip(c, 0.5, 0.5, 10)),  # min = max: allowed
    (f"{{kind: clip, min: 0.25, of: {COS1}}}", lambda ir, c: ir.Clip(c, 0.25, None, 10)),
    ("{kind: product, of: [{kind: exponential, start: 1.0, gamma: 0.5}, {kind: constant, value: 1.0}], duration: 10}",
     lambda ir, c: ir.Product((ir.Exponential(1.0, 0.5, 1, False, None, 10), ir.Constant(1.0, 10)), 10)),
])  # fmt: skip
def test_scale_clip_and_product_lower_to_the_fields_written(phase, want):
    ir = _ir()
    assert _lowered(f"lr: {phase}\n").program.hparams["lr"] == want(ir, ir.Cosine(1.0, 0.0, 1.0, 10, warp=1.0))


@pytest.mark.parametrize("field", ["by", "min", "max"])
def test_a_bad_number_of_scale_or_clip_is_refused_at_it(field):
    kind = "scale" if field == "by" else "clip"
    assert problems(H + f"lr: {{kind: {kind}, {field}: 1.0e+39, of: {COS1}}}\n") == [
        f"x.yaml:2:23: `{field}`: {F32_HINT}"]


def test_the_top_level_reads_total_and_steps_per_epoch_at_their_positions():
    assert problems(H + "steps_per_epoch: 10\ntotal: 0.55ep\nlr: 0.1\n") == [
        "x.yaml:3:8: total '0.55ep' is 5.5 steps at steps_per_epoch 10, not a whole number of steps; never rounded: "
        "choose a value that divides evenly"]
    # 2**31-1 steps per epoch is the int32 counter's last value: allowed
    assert _lowered("steps_per_epoch: 2147483647\nlr: 0.1\n").program.hparams["lr"] == _ir().Constant(0.1, None)


def test_a_bare_number_is_a_constant_at_its_own_path_running_to_total():
    ir = _ir()
    node = _lowered("total: 50\nlr: 0.1\n").program.hparams["lr"]
    assert node == ir.Constant(0.1, 50) and node.path == ("lr",)
    assert problems(H + "lr: [{kind: constant, value: 0.1, duration: 5}, 1.0e+39]\n") == [
        f"x.yaml:2:49: {F32_HINT}"]


def test_a_nested_sequence_continues_from_the_value_before_it():
    node = _lowered("lr: [{kind: linear, start: 0.0, end: 0.5, duration: 5}, [{kind: cosine, end: 0.0, duration: 10}, "
                    "{kind: constant, value: 0.0}]]\n").program.hparams["lr"]  # fmt: skip
    assert node.parts[1] == _ir().Cosine(0.5, 0.0, 1.0, 10, warp=1.0)


def test_the_program_keeps_the_documents_time_base_names_and_vars():
    ir = _ir()
    p = _lowered("name: n\ndescription: d\ninterval: epoch\nsteps_per_epoch: 10\nvars: {w: [2, 3], p: 0.5}\n"
                 "lr: {kind: linear, start: 0.0, end: $p, duration: $w}\n").program  # fmt: skip
    assert (p.interval, p.steps_per_epoch, p.name, p.description, p.total) == ("epoch", 10, "n", "d", None)
    assert p.vars == {"w": ir.VarDef("w", (2, 3), (2.0, 3.0), (2, 3), True),
                      "p": ir.VarDef("p", (0.5,), (0.5,), None, False)}  # fmt: skip
    # a duration var with a unit: its steps at steps_per_epoch 10 (the interval is `step` by default)
    p = _lowered("steps_per_epoch: 10\nvars: {w: 3ep}\nlr: {kind: linear, start: 0.0, end: 1.0, duration: $w}\n").program
    assert p.vars["w"].steps == (30,) and p.interval == "step"


def test_a_group_key_that_is_not_a_hyperparameter_is_refused_with_a_did_you_mean():
    assert problems(H + "lr: 0.1\nmomentum: 0.9\ngroups:\n  head: {momentun: 0.5}\n") == [
        "x.yaml:5:10: group `head`: `momentun` is not a hyperparameter of the document; did you mean 'momentum'? "
        "(it schedules: lr, momentum); a group overrides the document's schedules, so schedule it at the top level "
        "too"]


def test_groups_lower_their_own_schedules_and_scale_the_lr_they_get():
    """A group's `scale` multiplies its own `lr` if it has one, else the document's; its own schedules run to
    `total` like the document's; every node is positioned in the group."""
    ir = _ir()
    groups = _lowered("total: 20\nlr: {kind: cosine, start: 1.0, end: 0.0, duration: 20}\nmomentum: 0.9\ngroups:\n"
                      "  head: {scale: 0.5}\n  body: {lr: {kind: linear, start: 0.0, end: 0.2, duration: 10}, "
                      "scale: 2.0}\n  mom: {momentum: 0.8}\n").program.groups  # fmt: skip
    cos, lin = ir.Cosine(1.0, 0.0, 1.0, 20, warp=1.0), ir.Linear(0.0, 0.2, 10, warp=1.0)
    assert groups == {"head": {"lr": ir.Scale(0.5, cos, 20)}, "body": {"lr": ir.Scale(2.0, lin, 10)},
                      "mom": {"momentum": ir.Constant(0.8, 20)}}  # fmt: skip
    assert [(g, n, x.path) for g, own in groups.items() for n, x in own.items()] == [
        ("head", "lr", ("groups", "head", "scale")), ("body", "lr", ("groups", "body", "scale")),
        ("mom", "momentum", ("groups", "mom", "momentum"))]
    assert groups["body"]["lr"].of.path == ("groups", "body", "lr")


@pytest.mark.parametrize("body, expected", [
    ("lr: 0.1\ngroups:\n  head: {scale: 1.0e+39}\n", f"x.yaml:4:17: `scale`: {F32_HINT}"),
    # a group's scale is checked for overflow with the schedule it scales: 1e30 * 2**t passes float32 at t = 29
    ("lr: {kind: exponential, start: 1.0, gamma: 2.0, duration: 100}\ngroups:\n  head: {scale: 1.0e+30}\n",
     "x.yaml:4:17: this `scale` overflows float32 from step 29 on (float64 value there: 5.36871e+38): the float32 "
     "paths (evaluate's default, to_jax, to_keras, to_optax, emitted keras/optax/jax modules) would give inf or NaN; "
     "use smaller factors"),
    ("lr: 0.1\ngroups:\n  head: {lr: {kind: linear, start: 0.0, end: 1.0e+39, duration: 5}}\n",
     f"x.yaml:4:46: `end`: {F32_HINT}"),
])  # fmt: skip
def test_a_groups_problems_are_positioned_in_the_group(body, expected):
    assert problems(H + body) == [expected]


@pytest.mark.parametrize("fields, expected", [
    (f"of: {COS10}, period: '26/3', shift: $s",
     "x.yaml:4:99: `shift` must be a literal duration (not a $var): the cycle starts are tabulated when the spec is "
     "lowered"),
    (f"of: {COS10}, shift: 0.55ep",
     "x.yaml:4:83: shift '0.55ep' is 5.5 steps at steps_per_epoch 10, not a whole number of steps; never rounded: "
     "choose a value that divides evenly"),
    ("period: '26/3', of: {kind: cosine, start: 1.0, end: 0.0, duration: $d}",
     "x.yaml:4:40: a `repeat` with `period` or `shift` needs `of` to have a literal duration (not a $var): its cycle "
     "starts are tabulated when the spec is lowered"),
])  # fmt: skip
def test_a_var_shift_or_of_length_and_a_bad_shift_are_refused_with_a_period(fields, expected):
    assert problems(H + "vars: {s: 2, d: 10}\nsteps_per_epoch: 10\n"
                        f"lr: {{kind: repeat, {fields}}}\n") == [expected]  # fmt: skip


def test_a_sequence_inside_a_clip_continues_from_the_value_before_the_clip():
    """`clip` passes the carried value to its `of`: a list there begins at the previous phase's final value (0.5)."""
    node = _lowered("lr: [{kind: linear, start: 0.0, end: 0.5, duration: 5}, {kind: clip, max: 1.0, of: "
                    "[{kind: cosine, end: 0.0, duration: 10}, {kind: constant, value: 0.0}]}]\n").program.hparams["lr"]
    assert node.parts[1].of.parts[0] == _ir().Cosine(0.5, 0.0, 1.0, 10, warp=1.0)


@pytest.mark.parametrize("kind", [
    "{kind: optax.sgdr_schedule, cosine_kwargs: [{init_value: 0.0, peak_value: 0.001, warmup_steps: 1, decay_steps: 3},"
    " {init_value: 0.0, peak_value: 0.001, warmup_steps: 0, decay_steps: 3}]}",
    "{kind: optax.cosine_decay_schedule, init_value: 0.1, decay_steps: 4}",
    "{kind: torch.StepLR, lr: 0.1, step_size: 2, gamma: 0.5}",
    "{kind: torch.LinearLR, lr: 0.1, start_factor: 0.5, total_iters: 3}",
])  # fmt: skip
def test_a_framework_kind_after_a_var_length_phase_is_cut_at_total_per_member(kind):
    """docs/language.md: a framework kind as the last phase is cut at `total` (it holds the framework's value at
    `total`), also when where it begins depends on a var: per sweep member, as tests/reference.py computes it.
    Found by the generated documents: an sgdr after a `$v0`-long phase ran past `total: 3` to its own end (0.0)."""
    import reference

    doc = {"schedspec": 1, "total": 6, "vars": {"v0": [1, 3, 5]},
           "lr": [{"kind": "constant", "value": 0.1, "duration": "$v0"}, yaml.safe_load(kind)]}  # fmt: skip
    got = schedspec.evaluate(schedspec.load(doc), range(12), dtype="float64")
    for row, v0 in zip(got, [1, 3, 5]):
        want = reference.ref_values(doc, range(12), member={"v0": v0})
        assert row.tolist() == pytest.approx(want, rel=1e-12, abs=1e-15), v0


@pytest.mark.parametrize("kind", ["product", "sum"])
def test_a_combinator_of_parts_of_one_var_length_lasts_that_length(kind):
    """The duration of `product`/`sum` is the longest of its parts' (docs/language.md): with var lengths it is
    known only when they are all the same var, one part included; two different vars need the combinator's own."""
    from schedspec import ir
    from schedspec.evaluator import evaluate_numpy

    lin = "{kind: linear, start: 0.2, end: 1.0, duration: $w}"
    for of in (f"[{lin}]", f"[{lin}, {{kind: cosine, start: 1.0, end: 0.5, duration: $w}}]"):
        spec = schedspec.loads(H + f"vars: {{w: [4, 6]}}\nlr: {{kind: {kind}, of: {of}}}\n", "x.yaml")
        assert spec.program.hparams["lr"].duration == ir.DVar("w")
    alone = schedspec.loads(H + f"vars: {{w: [4, 6]}}\nlr: {lin}\n")
    spec = schedspec.loads(H + f"vars: {{w: [4, 6]}}\nlr: {{kind: {kind}, of: [{lin}]}}\n")
    for member in spec.program.sweep_members():  # one part: the part itself, held after its length
        assert evaluate_numpy(spec, range(9), member=member).tolist() == evaluate_numpy(alone, range(9), member=member).tolist()
    assert problems(H + f"vars: {{w: 4, v: 6}}\nlr: {{kind: {kind}, of: [{lin}, {{kind: constant, value: 1.0, "
                        "duration: $v}]}\n") == [
        "x.yaml:3:5: the parts have var durations, so the longest is not known; give this combinator a `duration`"]
