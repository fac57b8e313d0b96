"""Faults found by the generated documents (tests/test_generated.py) and the fuzz invariants (tests/test_fuzz.py),
each as the smallest case with its exact wrong and right values.

Each is a strict xfail: once the fault is fixed the test passes, the xfail fails, and both the mark and the
matching entry of ``tests/test_generated.py::known_fault`` (which leaves that comparison out of the generated
tests meanwhile) must go.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import schedspec  # noqa: E402


def _load(text: str, name: str = "f.yaml") -> schedspec.Spec:
    return schedspec.loads("schedspec: 1\n" + text, name)


# ------------------------------------------------------------------------------------------------ float32 ends
@pytest.mark.xfail(strict=True, reason="evaluate/to_jax float32 under jit: at k >= duration a cosine with end 0 "
                   "gives NaN with exponent 0.5 (right: 0.0), -2.9802318e-09 with exponent 1 and -2.646977e-24 with "
                   "exponent 3 (right: 0.0; an lr must never be negative); the emitted modules, Keras and optax give "
                   "0.0")  # fmt: skip
@pytest.mark.parametrize("exponent", [0.5, 1.0, 3.0])
def test_cosine_end_float32_under_jit(exponent):
    spec = _load(f"lr: {{kind: cosine, start: 0.1, end: 0.0, exponent: {exponent}, duration: 7}}\n")
    got = schedspec.evaluate(spec, [6, 7, 8, 2**31 - 1])  # float32, jit
    assert np.isfinite(got).all() and (got >= 0).all(), got
    assert got[1:].tolist() == [0.0, 0.0, 0.0], got


@pytest.mark.xfail(strict=True, reason="onecycle in float32 does not hold float32(peak / div_factor / "
                   "final_div_factor) from N - 1 on: peak 1.5, duration 7, pct_start 0.5704285714285714, "
                   "div_factor 1, linear, three_phase gives 1.56641e-04 at k = 6, 7, 100 (right: 1.5e-04; 4.4% off, "
                   "beyond the float32 tolerance; the float64 paths give 1.5e-04); pct_start 0.5 gives "
                   "1.4996529e-04")  # fmt: skip
@pytest.mark.parametrize("pct", [0.5704285714285714, 0.5])
def test_onecycle_final_value_float32_exact(pct):
    spec = _load(f"lr: {{kind: onecycle, peak: 1.5, duration: 7, pct_start: {pct}, div_factor: 1.0, "
                 "anneal: linear, three_phase: true}\n")  # fmt: skip
    assert schedspec.evaluate(spec, [6, 7, 100]).tolist() == [float(np.float32(1.5 / 1e4))] * 3


# ------------------------------------------------------------------------------------------------ refusals
GROUP_PLATEAU = """lr: 0.1
groups:
  head:
    lr:
      - {kind: plateau, monitor: val_loss, start: 0.01, every: 1, patience: 0, factor: 0.5, duration: 6}
      - 0.001
"""


@pytest.mark.xfail(strict=True, reason="a plateau inside a group: to_optax(spec, group='head') builds (right: a "
                   "SpecError pointing to adapters.optax.inject, as for a document plateau) and raises at call time "
                   "'pass metrics={...}', which an optax schedule cannot take")  # fmt: skip
def test_group_plateau_refused_by_to_optax():
    spec = _load(GROUP_PLATEAU)
    with pytest.raises(schedspec.SpecError, match="not supported by to_optax.*inject"):
        schedspec.to_optax(spec, group="head")


@pytest.mark.xfail(strict=True, reason="a plateau inside a group: `compile --to optax` exits 0 and the module's "
                   "build_schedule('head') raises 'ValueError: dictionary update sequence element #0 has length 1; "
                   "2 is required' (right: refused, positioned, naming adapters.optax.inject, as a document "
                   "plateau is)")  # fmt: skip
def test_group_plateau_refused_by_emit_optax():
    spec = _load(GROUP_PLATEAU)
    with pytest.raises(schedspec.SpecError) as info:
        schedspec.emit(spec, "optax")
    assert info.value.issues[0].line == 6 and "inject" in str(info.value)


@pytest.mark.xfail(strict=True, reason="torch.ReduceLROnPlateau refused by to_optax and `compile --to optax|keras` "
                   "is not positioned: 'f.yaml: lr: the `plateau` kind is not supported ...' (right: "
                   "'f.yaml:3:5: lr[0]: ...', at the torch.ReduceLROnPlateau the user wrote, naming it)")  # fmt: skip
@pytest.mark.parametrize("target", ["to_optax", "optax", "keras"])
def test_native_plateau_refusal_is_positioned(target):
    spec = _load("lr:\n  - {kind: torch.ReduceLROnPlateau, monitor: acc, lr: 0.05, every: 1, patience: 1, "
                 "duration: 10}\n  - 0.3\n")  # fmt: skip
    with pytest.raises(schedspec.SpecError) as info:
        schedspec.to_optax(spec) if target == "to_optax" else schedspec.emit(spec, target)
    issue = info.value.issues[0]
    assert (issue.line, issue.col) == (3, 5), str(info.value)
    assert "torch.ReduceLROnPlateau" in issue.message


@pytest.mark.xfail(strict=True, reason="a framework kind whose desugared (internal) phase begins after `total` is "
                   "refused: total 3 with {kind: torch.ConstantLR, lr: 0.1, factor: 0.1, total_iters: 4} is "
                   "'torch.ConstantLR (in its neutral form): this phase begins at step 4, after `total`' though the "
                   "user's only phase begins at 0 and torch runs it (0.01 at k = 0, 1, 2); torch.LinearLR with "
                   "total_iters 4 loads; so do both with a literal lr and `duration: 1` (with `lr: $v` ConstantLR is "
                   "refused again). Right: it loads, values 0.01")  # fmt: skip
@pytest.mark.parametrize("kind", ["torch.ConstantLR", "torch.SequentialLR", "optax.linear_schedule"])
def test_framework_kind_with_internal_boundary_after_total_loads(kind):
    body = {
        "torch.ConstantLR": "{kind: torch.ConstantLR, lr: 0.1, factor: 0.1, total_iters: 4}",
        "torch.SequentialLR": "{kind: torch.SequentialLR, lr: 0.1, schedulers: [{kind: torch.ConstantLR, factor: 0.1, "
                              "total_iters: 9}, {kind: torch.StepLR, step_size: 2}], milestones: [5]}",
        "optax.linear_schedule": "{kind: optax.linear_schedule, init_value: 0.01, end_value: 0.0, transition_steps: 2,"
                                 " transition_begin: 5}",
    }[kind]
    spec = _load(f"total: 3\nlr: {body}\n")
    np.testing.assert_allclose(schedspec.evaluate(spec, [0, 1, 2], dtype="float64"), [0.01] * 3, rtol=1e-12)


# ------------------------------------------------------------------------------------------------ sweep axis
@pytest.mark.xfail(strict=True, reason="README: 'With sweep lists in vars the result has a leading axis over the "
                   "cartesian product'; evaluating a schedule that uses no sweep var of the spec (lr, when only "
                   "momentum sweeps) returns shape (2,) (right: (2, 2), one row per member), so a caller cannot index "
                   "the members alike for every hyperparameter")  # fmt: skip
def test_evaluate_sweep_axis_always():
    spec = _load("lr: 0.1\nmomentum: {kind: constant, value: $m}\nvars: {m: [0.8, 0.9]}\n")
    assert schedspec.evaluate(spec, [0, 1], hparam="momentum").shape == (2, 2)
    assert schedspec.evaluate(spec, [0, 1]).shape == (2, 2)
