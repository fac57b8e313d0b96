"""Faults found by the generated documents (tests/test_generated.py) and the fuzz invariants
(tests/test_fuzz.py), each as the smallest case with its exact wrong and right values.

A fault still open is a strict xfail: once it is fixed the test passes, the xfail fails, and both the mark and
the matching entry of ``tests/helpers.py::known_fault`` (which leaves that run out of the generated tests and
the fuzz invariants meanwhile) must go. A fixed one stays as a plain regression test, its docstring saying
what it was.
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
@pytest.mark.parametrize("exponent", [0.5, 1.0, 3.0])
def test_cosine_end_float32_under_jit(exponent):
    """Regression of a fault the generated documents and the fuzz invariants found, since fixed by the exact-
    ends work. It was: evaluate/to_jax float32 under jit: at k >= duration a cosine with end 0 gives NaN with
    exponent 0.5 (right: 0.0), -2.9802318e-09 with exponent 1 and -2.646977e-24 with exponent 3 (right: 0.0;
    an lr must never be negative); the emitted modules, Keras and optax give 0.0."""
    spec = _load(f"lr: {{kind: cosine, start: 0.1, end: 0.0, exponent: {exponent}, duration: 7}}\n")
    got = schedspec.evaluate(spec, [6, 7, 8, 2**31 - 1])  # float32, jit
    assert np.isfinite(got).all() and (got >= 0).all(), got
    assert got[1:].tolist() == [0.0, 0.0, 0.0], got


@pytest.mark.parametrize("pct", [0.5704285714285714, 0.5])
def test_onecycle_final_value_float32_exact(pct):
    """Regression of a fault the generated documents and the fuzz invariants found, since fixed by the exact-
    ends work. It was: onecycle in float32 does not hold float32(peak / div_factor / final_div_factor) from N
    - 1 on: peak 1.5, duration 7, pct_start 0.5704285714285714, div_factor 1, linear, three_phase gives
    1.56641e-04 at k = 6, 7, 100 (right: 1.5e-04; 4.4% off, beyond the float32 tolerance; the float64 paths
    give 1.5e-04); pct_start 0.5 gives 1.4996529e-04."""
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


def test_group_plateau_refused_by_to_optax():
    """Regression (found by the generated documents): a plateau inside a group was not refused by
    to_optax(spec, group='head'): it built, and raised at call time 'pass metrics={...}', which an optax schedule
    cannot take. Right: a SpecError positioned at the group's plateau, pointing to adapters.optax.inject, as for a
    document plateau."""
    spec = _load(GROUP_PLATEAU)
    with pytest.raises(schedspec.SpecError, match="not supported by to_optax.*inject"):
        schedspec.to_optax(spec, group="head")


def test_group_plateau_refused_by_emit_optax():
    """Regression (found by the generated documents): a plateau inside a group was not refused by `compile --to
    optax`: it exited 0 and the module's build_schedule('head') raised 'ValueError: dictionary update sequence
    element #0 has length 1; 2 is required'. Right: refused, positioned at the group's plateau, naming
    adapters.optax.inject, as a document plateau is."""
    spec = _load(GROUP_PLATEAU)
    with pytest.raises(schedspec.SpecError) as info:
        schedspec.emit(spec, "optax")
    assert info.value.issues[0].line == 6 and "inject" in str(info.value)


@pytest.mark.parametrize("target", ["to_optax", "optax", "keras"])
def test_native_plateau_refusal_is_positioned(target):
    """Regression, fixed by the IR node paths (one house): torch.ReduceLROnPlateau refused by to_optax and
    `compile --to optax|keras` was not positioned ('f.yaml: lr: the `plateau` kind is not supported ...'); it is
    now 'f.yaml:3:5: lr[0]: ...', at the torch.ReduceLROnPlateau the user wrote, naming it."""
    spec = _load("lr:\n  - {kind: torch.ReduceLROnPlateau, monitor: acc, lr: 0.05, every: 1, patience: 1, "
                 "duration: 10}\n  - 0.3\n")  # fmt: skip
    with pytest.raises(schedspec.SpecError) as info:
        schedspec.to_optax(spec) if target == "to_optax" else schedspec.emit(spec, target)
    issue = info.value.issues[0]
    assert (issue.line, issue.col) == (3, 5), str(info.value)
    assert "torch.ReduceLROnPlateau" in issue.message


@pytest.mark.parametrize("kind", ["torch.ConstantLR", "torch.SequentialLR", "optax.linear_schedule"])
def test_framework_kind_with_internal_boundary_after_total_loads(kind):
    """Regression (found by the generated documents): a framework kind whose desugared (internal) phase begins
    after `total` was refused: total 3 with {kind: torch.ConstantLR, lr: 0.1, factor: 0.1, total_iters: 4} was
    'torch.ConstantLR (in its neutral form): this phase begins at step 4, after `total`' though the user's only
    phase begins at 0 and torch runs it. Right: it loads, 0.01 at k = 0, 1, 2 (only the user's phases are checked
    against `total`)."""
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
def test_evaluate_sweep_axis_always():
    """Regression (found by the generated documents): evaluating a schedule that uses no sweep var of the spec (lr,
    when only momentum sweeps) returned shape (2,), so a caller could not index the members alike for every
    hyperparameter. Right (README 'evaluate'): (2, 2), one equal row per member; to_jax stays one member's function
    and needs no var the schedule does not use."""
    spec = _load("lr: 0.1\nmomentum: {kind: constant, value: $m}\nvars: {m: [0.8, 0.9]}\n")
    assert schedspec.evaluate(spec, [0, 1], hparam="momentum").shape == (2, 2)
    got = schedspec.evaluate(spec, [0, 1])
    assert got.shape == (2, 2) and (got == np.float32(0.1)).all()
    assert schedspec.evaluate(spec, 5).shape == (2,)
    assert schedspec.evaluate(spec, [0, 1], vars={"m": 0.5}).shape == (2,)  # a member picked: no sweep left
    assert float(schedspec.to_jax(spec)(3)) == pytest.approx(0.1)


# ------------------------------------------------------------------------------------------------ cancellation
@pytest.mark.parametrize("kind", ["cosine", "polynomial"])
@pytest.mark.parametrize("start, end", [(0.0001, 0.01), (0.01, 0.001), (0.1, 1.0e17)])
def test_phase_gives_its_start_exactly(kind, start, end):
    """Regression (found by the generated documents and the fuzz invariants, fixed by the exact-ends work): a
    cosine or polynomial does not give its start at t = 0 (e + (s - e) * 1 rounds, or cancels): start 0.0001,
    end 0.01 gives 9.99999999999994e-05 in float64 (right: 0.0001; it leaves [0.0001, 0.01]) and 9.999983e-05 in
    float32 (right: 9.9999997e-05, 17 ulp off); start 0.01, end 0.001 gives 0.010000000000000002 (right: 0.01);
    start 0.1, end 1e17 gives 0.0 in float64 for both kinds and -2.6843546e+08 (a negative lr) for the
    polynomial in float32; linear gives its start exactly."""
    spec = _load(f"lr: {{kind: {kind}, start: {start}, end: {end}, duration: 5}}\n")
    assert schedspec.evaluate(spec, [0], dtype="float64").tolist() == [start]
    assert schedspec.evaluate(spec, [0]).tolist() == [float(np.float32(start))]


@pytest.mark.parametrize("power", [1.0, 0.5])
def test_cyclic_polynomial_near_int32_max_in_float32(power):
    """Regression (found by the generated documents and the fuzz invariants, fixed by the exact-ends work): a
    cyclic polynomial in float32 near k = 2**31: {polynomial, cycle: true, duration: 4, start: 0.001} gives
    -1.3969839e-12 at k = 2**31 - 3 (right: 1.3969839e-12, as float64 gives 1.39698386e-12: 1 - t/D rounds below
    0), and NaN with power 0.5 (right: 3.7376247e-08); README: exact for every k < 2**31 even in float32."""
    spec = _load(f"lr: {{kind: polynomial, cycle: true, duration: 4, start: 0.001, power: {power}}}\n")
    ks = [2**31 - 3, 2**31 - 2, 2**31 - 1]
    want = schedspec.evaluate(spec, ks, dtype="float64").astype(np.float32)
    got = schedspec.evaluate(spec, ks)
    assert np.isfinite(got).all() and (got >= 0).all(), got
    np.testing.assert_allclose(got, want, rtol=1e-5)


# ------------------------------------------------------------------------------------------------ cuts
@pytest.mark.parametrize("body, k, want", [
    ("{kind: torch.CosineAnnealingWarmRestarts, lr: 0.001, T_0: 2, duration: 2}", [2, 3], 0.001),
    ("{kind: keras.CosineDecayRestarts, initial_learning_rate: 0.001, first_decay_steps: 2, duration: 2}", [2, 3],
     0.001),
    ("{kind: optax.sgdr_schedule, duration: 2, cosine_kwargs: [{init_value: 0.001, peak_value: 0.001, warmup_steps: 0, "
     "decay_steps: 2}, {init_value: 0.001, peak_value: 0.001, warmup_steps: 0, decay_steps: 2}]}", [2, 3], 0.001),
    ("{kind: torch.ConstantLR, lr: 0.001, factor: 0.1, total_iters: 1, duration: 1}", [1, 2], 0.001),
    ("{kind: torch.SequentialLR, lr: 0.001, schedulers: [{kind: torch.ConstantLR, factor: 0.5, total_iters: 9}, "
     "{kind: torch.ConstantLR, factor: 0.1, total_iters: 9}], milestones: [2], duration: 2}", [2, 3], 0.0001),
    ("{kind: optax.join_schedules, schedules: [{kind: optax.constant_schedule, value: 0.001}, "
     "{kind: optax.constant_schedule, value: 0.0001}], boundaries: [2], duration: 2}", [2, 3], 0.0001),
], ids=["torch-restart", "keras-restart", "optax-restart", "torch-ConstantLR", "torch-SequentialLR", "optax-join"])
def test_framework_kind_cut_at_its_own_boundary_holds_the_value_there(body, k, want):
    """Regression (found by the generated documents): a framework kind cut by `duration` exactly at one of its own
    boundaries (a restart, a milestone of a desugared sequence) held the value before the boundary:
    torch.CosineAnnealingWarmRestarts {lr: 0.001, T_0: 2, duration: 2} gave 0.0 at k >= 2, torch.ConstantLR
    {total_iters: 1, duration: 1} 0.0001, torch.SequentialLR milestone 2 cut at 2 0.0005, optax.join_schedules
    boundary 2 cut at 2 0.001; the same for keras.CosineDecayRestarts and optax.sgdr_schedule. Right: every node
    holds its value AT its duration (the framework's value at that step), as the neutral repeat and clip window
    do (README 'Every node holds its final value after its end')."""
    spec = _load(f"lr: {body}\n")
    np.testing.assert_allclose(schedspec.evaluate(spec, k, dtype="float64"), [want] * len(k), rtol=1e-12)


def test_neutral_cuts_at_a_boundary_hold_the_value_there():
    """The neutral spellings the framework kinds above should agree with (these pass today)."""
    repeat = _load("lr: {kind: repeat, duration: 2, of: {kind: cosine, start: 0.001, end: 0.0, duration: 2}}\n")
    window = _load("lr: {kind: clip, duration: 1, of: [{kind: constant, value: 0.0001, duration: 1}, 0.001]}\n")
    assert schedspec.evaluate(repeat, [2, 3], dtype="float64").tolist() == [0.001, 0.001]
    assert schedspec.evaluate(window, [1, 2], dtype="float64").tolist() == [0.001, 0.001]


# ------------------------------------------------------------------------------------------------ linear ends
@pytest.mark.parametrize("dtype, start, end", [("float64", 0.0005, 0.0001), ("float64", 0.7, 0.1),
                                               ("float32", 0.9, 0.8), ("float32", 0.0001, 0.001)])  # fmt: skip
def test_linear_end_held_exactly(dtype, start, end):
    """Regression (found by the generated documents and the fuzz invariants, fixed by the exact-ends work): a
    linear phase does not hold its declared end exactly (s + (e - s) * 1 rounds): float64 0.0005 -> 0.0001 holds
    9.999999999999999e-05 and 0.7 -> 0.1 holds 0.09999999999999998, below the end (right: 0.0001, 0.1); float32
    (evaluate, to_optax, to_keras) 0.9 -> 0.8 holds 0.7999999523162842 (right: float32(0.8) =
    0.800000011920929), 0.0001 -> 0.001 holds 0.0009999999310821295 (right: 0.0010000000474974513); cosine and
    polynomial hold their ends exactly."""
    spec = _load(f"lr: {{kind: linear, start: {start}, end: {end}, duration: 1}}\n")
    want = end if dtype == "float64" else float(np.float32(end))
    assert schedspec.evaluate(spec, [1, 2, 2**31 - 1], dtype=dtype).tolist() == [want] * 3


@pytest.mark.parametrize("kind, end, k, want", [("linear", 0.0, 3, 0.0), ("polynomial", 0.0, 0, 0.0001)])
def test_start_and_end_exact_in_float32(kind, end, k, want):
    """Regression of a fault the generated documents and the fuzz invariants found, since fixed by the exact-
    ends work. It was: schedspec.evaluate in float32 (jit) rounds a declared start or end off the float32
    nearest, where to_optax and to_keras give it exactly: linear 0.0001 -> 0.0 (duration 3) holds
    -3.637978807091713e-12 from k = 3 (right: 0.0; a negative lr), polynomial start 0.0001 (duration 3) gives
    0.000100000005 at k = 0 (right: float32(0.0001) = 9.9999997e-05)."""
    spec = _load(f"lr: {{kind: {kind}, start: 0.0001, end: {end}, duration: 3}}\n")
    assert schedspec.evaluate(spec, [k]).tolist() == [float(np.float32(want))]


# ------------------------------------------------------------------------------------------------ cyclic, traced
def test_cyclic_traced_ends_exact_at_the_turn_float32():
    """Regression (fixed: the turn is an exact 1, formulas.cyclic). Found by tests/test_invariants.py::test_traced_start_and_end (pre-existing on main, not issue 11's work):
    ``{kind: cyclic, low: $v_low, high: $v_high, up: 41}`` with v_low = 1000, v_high = 0 under evaluate in float32
    gives 5.9604645e-05 at k = 41 (the turn, where the value is ``high`` = 0 exactly): ``h = 41 / 41`` is
    computed as ``41 * (1/41) = 0.99999994`` once the ends are traced. Right: 0.0 (as with literal ends)."""
    spec = _load("vars: {v_low: 1000.0, v_high: 0.0}\n"
                 "lr: {kind: cyclic, low: $v_low, high: $v_high, up: 41, mode: triangular}\n")  # fmt: skip
    got = schedspec.evaluate(spec, [40, 41, 42, 123])
    assert got[1] == 0.0 and got[3] == 0.0, got


def test_optax_report_to_a_plateau_that_ends_before_its_first_report():
    """Regression (found by tests/test_generated.py in CI): a group's torch.ReduceLROnPlateau with `every: 5` and
    `duration: 1` needs no report (its buffer holds 0), and `schedspec.adapters.optax.report` under jit raised
    jax's IndexError 'index is out of bounds for axis 0 with size 0' at the 5th update. Right: the report is
    taken and ignored, and the lr stays the plateau's 0.001 then the carried value."""
    import jax
    import jax.numpy as jnp
    import optax

    from schedspec.adapters import optax as so

    spec = _load("lr: 0.01\ngroups:\n  head:\n    lr: [{kind: torch.ReduceLROnPlateau, monitor: val_loss, lr: 0.001, "
                 "every: 5, patience: 0, factor: 0.1, duration: 1}]\n")  # fmt: skip
    tx = so.inject(spec, optax.sgd, group="head")
    params = {"w": jnp.zeros(())}
    state = tx.init(params)
    grads = {"w": jnp.ones(())}
    lrs = []
    for k in range(7):
        _, state = tx.update(grads, state, params)
        lrs.append(float(state.hyperparams["learning_rate"]))
        if (k + 1) % 5 == 0:
            state = jax.jit(lambda s: so.report(s, "val_loss", 1.0))(state)
    assert lrs == [float(np.float32(0.001))] * 7, lrs


@pytest.mark.parametrize("lr, want", [
    ("{kind: torch.OneCycleLR, max_lr: 0.001, total_steps: 28, pct_start: 0.25, three_phase: true}", "onecycle"),
    ("[{kind: optax.constant_schedule, value: 0.001, duration: 1}, {kind: optax.warmup_cosine_decay_schedule, "
     "init_value: 0.0, peak_value: 0.001, warmup_steps: 1, decay_steps: 2}]", "warmup"),
])  # fmt: skip
def test_an_open_last_framework_kind_runs_to_total(lr, want):
    """Regression (found by tests/test_generated.py in CI): an open last framework kind whose own phases go past
    `total` ran on past it, where an open last phase runs to `total` and holds its value there (docs/language.md):
    OneCycleLR (total_steps 28) with total 1 gave 2.8e-04, 5.2e-04 at k = 2, 3 (right: its value at k = 1,
    1.0430780e-04, held); an optax warmup-cosine beginning at k = 1 with total 2 gave 0.0 from k = 3 (right:
    its value at k = 2, the peak 0.001, held)."""
    total = 1 if want == "onecycle" else 2
    spec = _load(f"total: {total}\nlr: {lr}\n")
    got = schedspec.evaluate(spec, [0, 1, 2, 3, 10, 2**31 - 1], dtype="float64").tolist()
    if want == "onecycle":
        import torch

        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.001)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.001, total_steps=28, pct_start=0.25,
                                                    three_phase=True)  # fmt: skip
        native = [opt.param_groups[0]["lr"]]
        opt.step()
        sched.step()
        native.append(opt.param_groups[0]["lr"])  # value(1), native torch
        assert got[:2] == pytest.approx(native, rel=1e-12, abs=0)
        assert got[2:] == [got[1]] * 4, got
    else:
        assert got == [0.001, 0.0, 0.001, 0.001, 0.001, 0.001], got


@pytest.mark.parametrize("total", [1, 2, 3, 4])
def test_an_open_framework_kind_whose_phase_begins_at_total_holds_its_value_there(total):
    """Regression (found by tests/test_fuzz.py's float32 invariants): an open last framework kind whose own last
    phase begins exactly at `total` ran on past `total` (its length is open, so it was not cut):
    torch.SequentialLR [StepLR, StepLR] milestones [1] with total 1 gave 0.1, 0.1, 0.05, 0.025, ... at k = 0..3.
    Right (docs/language.md, an open last phase runs to `total` and holds its value there): torch's own values
    up to k = total, then the value AT total held (0.1: the second StepLR's first value)."""
    import torch

    body = ("{kind: torch.SequentialLR, lr: 0.1, schedulers: [{kind: torch.StepLR, step_size: 1, gamma: 0.5}, "
            "{kind: torch.StepLR, step_size: 1, gamma: 0.5}], milestones: [1]}")  # fmt: skip
    spec = _load(f"total: {total}\nlr: {body}\n")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    s1 = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    s2 = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [s1, s2], milestones=[1])
    native = []
    for _ in range(total + 1):
        native.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    ks = [*range(total + 1), total + 1, total + 7, 2**31 - 1]
    for dtype in ("float64", "float32"):
        got = schedspec.evaluate(spec, ks, dtype=dtype).tolist()
        want = [*native, native[-1], native[-1], native[-1]]
        cast = (lambda x: float(np.float32(x))) if dtype == "float32" else float
        assert got == [cast(w) for w in want], (dtype, got, want)


# ------------------------------------------------------------------------------------------------ overflow in sweeps
def test_an_overflow_in_a_sweep_is_reported_at_the_first_step_of_any_member():
    """Regression (found by the lowering's mutation pass, issue 14): docs/language.md promises the overflow error
    names "the node that overflows first, naming the first step and the sweep member". With members
    (a, b) in {1, 1e30} x {1, 1e5}, ``a * b * 2 ** t`` passes 3.4028235e+38 first for (1e30, 1e5), at t = 12
    (1e35 * 4096 = 4.096e+38); load reported (1e30, 1): step 29, the first member in sweep order that overflows. Right: step 12,
    ``with a=1e+30, b=100000.0`` (``_range.overflow`` now searches every flagged member, 256 at a time)."""
    with pytest.raises(schedspec.SpecError) as err:
        _load("vars: {a: [1.0, 1.0e+30], b: [1.0, 1.0e+5]}\nlr: {kind: scale, by: $a, of: {kind: scale, by: $b, "
              "of: {kind: exponential, start: 1.0, gamma: 2.0, duration: 100}}}\n", "x.yaml")
    (issue,) = err.value.issues
    assert str(issue).startswith("x.yaml:3:5: this `scale` overflows float32 from step 12 on with a=1e+30, "
                                 "b=100000.0 (float64 value there: 4.096e+38)"), str(issue)


def test_a_product_holding_a_plateau_that_overflows_float32_is_refused():
    """Regression (found by the mutation run of ``_range.py``, issue 14: ``break`` for ``continue`` survived in the
    overflow search). A part of the search that needs metric reports (a plateau inside a product, sum or scale)
    was skipped, so ``product(plateau start 1e30, 1.5 ** t)`` loaded, and its float32 paths give inf from step 49
    (1e30 * 1.5 ** 49 = 4.25081e+38 > 3.4028235e+38) whenever the reports never reduce the plateau. Right: refused
    there, the plateau held at its start (or its min, whichever is worse), as a carried plateau start already was."""
    with pytest.raises(schedspec.SpecError) as err:
        _load("steps_per_epoch: 10\nlr: {kind: product, of: [{kind: plateau, start: 1.0e+30, monitor: loss}, "
              "{kind: exponential, start: 1.0, gamma: 1.5, duration: 100}]}\n", "x.yaml")
    (issue,) = err.value.issues
    assert str(issue) == (
        "x.yaml:3:5: this `product` overflows float32 from step 49 on (float64 value there: 4.25081e+38): the float32 "
        "paths (evaluate's default, to_jax, to_keras, to_optax, emitted keras/optax/jax modules) would give inf or "
        "NaN; use smaller factors")


@pytest.mark.parametrize("total", [1, 2, 3])
def test_an_open_last_phase_beginning_at_total_holds_its_first_value(total):
    """Regression (the neutral form of the fault above): a last open phase beginning exactly at `total` ran on
    forever (it had no room, so `total` did not cut it): ``[{step 0.1, every 1, gamma 0.5, duration: total},
    {step 0.1, every 1, gamma 0.5}]`` with that total gave 0.1, 0.05, 0.025, ... from k = total. Right
    (docs/language.md: an open last phase runs to `total`, every node holds its value after its end): its first
    value, 0.1, from k = total on, on every path. A constant there is left as written (same values)."""
    import torch

    spec = _load(f"total: {total}\nlr:\n  - {{kind: step, start: 0.1, every: 1, gamma: 0.5, duration: {total}}}\n"
                 "  - {kind: step, start: 0.1, every: 1, gamma: 0.5}\n")
    ks = [*range(total + 3), 2**31 - 1]
    first = [0.1 * 0.5**k for k in range(total)]
    want = [*first, *[0.1] * (len(ks) - total)]
    assert schedspec.evaluate(spec, ks, dtype="float64").tolist() == pytest.approx(want, rel=1e-15, abs=0)
    assert schedspec.evaluate(spec, ks, dtype="float32").tolist() == [float(np.float32(w)) for w in want]
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = schedspec.to_torch(spec, opt)
    got = []
    for _ in range(total + 3):
        got.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert got == pytest.approx(want[: total + 3], rel=1e-15, abs=0)
    held = _load(f"total: {total}\nlr: [{{kind: constant, value: 0.1, duration: {total}}}, {{kind: constant, value: 0.2}}]\n")
    assert type(held.program.hparams["lr"]).__name__ == "Sequence"
