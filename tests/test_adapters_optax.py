"""The Optax adapter against optax's own schedules and against the lr an optax optimizer actually applies.

Tolerances (float32 on either side): ``|a - b| <= 1e-6 * peak + 1e-5 * |b|`` with ``peak = max |b|`` over the
compared range; discrete changes must happen at exactly the same k.
"""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import schedspec

optax = pytest.importorskip("optax")
jax = pytest.importorskip("jax")
jnp = jax.numpy


def assert_f32(actual, expected, what: str = "") -> None:
    """float32 parity: |a - b| <= 1e-6 * peak + 1e-5 * |b| (reference tolerance for anything float32)."""
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    peak = float(np.max(np.abs(b))) if b.size else 0.0
    err = np.abs(a - b)
    bad = err > 1e-6 * peak + 1e-5 * np.abs(b)
    if bad.any():
        i = int(np.argmax(bad))
        raise AssertionError(
            f"{what}: {int(bad.sum())} mismatches; first at index {i}: {a.flat[i]!r} vs {b.flat[i]!r}"
        )


def assert_same_changes(actual, expected) -> None:
    """Piecewise-constant schedules must change value at exactly the same k."""
    a, b = np.asarray(actual), np.asarray(expected)
    ca = np.flatnonzero(~np.isclose(a[1:], a[:-1], rtol=1e-5, atol=0))
    cb = np.flatnonzero(~np.isclose(b[1:], b[:-1], rtol=1e-5, atol=0))
    np.testing.assert_array_equal(ca, cb)


def spec_of(lr, **top) -> schedspec.Spec:
    return schedspec.load({"schedspec": 1, **top, "lr": lr})


def ks(n: int) -> np.ndarray:
    return np.arange(0, n + 1, dtype=np.int32)


# ------------------------------------------------------------------------------------------ native parity
def _sgdr_kwargs(peak, end, t0, mult, cycles):
    return [
        dict(init_value=peak, peak_value=peak, warmup_steps=0, decay_steps=t0 * mult**i, end_value=end)
        for i in range(cycles)
    ]


NATIVE = {
    # name: (schedspec lr, native optax schedule, k range, piecewise-constant?)
    "step": (
        {"kind": "step", "start": 0.1, "every": 30, "gamma": 0.5},
        optax.exponential_decay(0.1, 30, 0.5, staircase=True),
        200,
        True,
    ),
    "multistep": (
        {"kind": "multistep", "start": 0.1, "milestones": [30, 80, 80], "gamma": 0.1},
        optax.piecewise_constant_schedule(0.1, {30: 0.1, 80: 0.01}),
        200,
        True,
    ),
    "exponential": (
        {"kind": "exponential", "start": 0.1, "gamma": 0.97},
        optax.exponential_decay(0.1, 1, 0.97),
        300,
        False,
    ),
    "exponential-every-floor": (
        {"kind": "exponential", "start": 0.1, "gamma": 0.5, "every": 10, "end": 0.01},
        optax.exponential_decay(0.1, 10, 0.5, end_value=0.01),
        200,
        False,
    ),
    "exponential-staircase": (
        {"kind": "exponential", "start": 0.1, "gamma": 0.8, "every": 7, "staircase": True},
        optax.exponential_decay(0.1, 7, 0.8, staircase=True),
        200,
        True,
    ),
    "linear": (
        {"kind": "linear", "start": 0.01, "end": 0.1, "duration": 50},
        optax.linear_schedule(0.01, 0.1, 50),
        100,
        False,
    ),
    "polynomial": (
        {"kind": "polynomial", "start": 0.1, "end": 0.001, "power": 2, "duration": 100},
        optax.polynomial_schedule(0.1, 0.001, 2, 100),
        200,
        False,
    ),
    "cosine": (
        {"kind": "cosine", "start": 0.1, "end": 0.001, "duration": 100},
        optax.cosine_decay_schedule(0.1, 100, alpha=0.01),
        200,
        False,
    ),
    "cosine-exponent": (
        {"kind": "cosine", "start": 0.1, "end": 0.0, "exponent": 2.0, "duration": 100},
        optax.cosine_decay_schedule(0.1, 100, exponent=2.0),
        200,
        False,
    ),
    "warmup-cosine": (  # optax's decay_steps includes the warmup
        [
            {"kind": "linear", "duration": 10, "start": 0.0, "end": 0.1},
            {"kind": "cosine", "duration": 90, "end": 0.001},
        ],
        optax.warmup_cosine_decay_schedule(0.0, 0.1, 10, 100, 0.001),
        200,
        False,
    ),
    "sgdr-mult2": (  # optax stops after its listed cycles: compare within them (20 + 40 + 80 + 160 = 300)
        {"kind": "repeat", "mult": 2, "of": {"kind": "cosine", "start": 0.1, "end": 0.001, "duration": 20}},
        optax.sgdr_schedule(_sgdr_kwargs(0.1, 0.001, 20, 2, 4)),
        299,
        False,
    ),
    "sgdr-times": (  # with `times`, both hold the last cycle's end value afterwards
        {"kind": "repeat", "times": 3, "of": {"kind": "cosine", "start": 0.1, "end": 0.001, "duration": 25}},
        optax.sgdr_schedule(_sgdr_kwargs(0.1, 0.001, 25, 1, 3)),
        150,
        False,
    ),
    "piecewise-linear": (
        {
            "kind": "piecewise",
            "interpolate": "linear",
            "points": [[0, 0.1], [20, 0.05], [50, 0.2], [90, 0.001]],
        },
        optax.piecewise_interpolate_schedule("linear", 0.1, {20: 0.5, 50: 4.0, 90: 0.005}),
        180,
        False,
    ),
    "piecewise-constant": (
        {"kind": "piecewise", "points": [[0, 0.1], [20, 0.05], [50, 0.2], [90, 0.001]]},
        optax.piecewise_constant_schedule(0.1, {20: 0.5, 50: 4.0, 90: 0.005}),
        180,
        True,
    ),
    "torch-onecycle": (  # reference 3.4: the exact optax emulation of torch OneCycleLR (pct*N an integer)
        {"kind": "onecycle", "peak": 0.1, "duration": 100, "pct_start": 0.3},
        optax.piecewise_interpolate_schedule("cosine", 0.1 / 25, {29: 25.0, 99: 1 / (25 * 1e4)}),
        200,
        False,
    ),
}


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_matches_native_optax(name):
    lr, native, n, constant = NATIVE[name]
    k = ks(n)
    ours = np.asarray(schedspec.to_optax(spec_of(lr))(k))
    # piecewise_interpolate_schedule is not vectorised over the count (reference 3.5): vmap every native.
    ref = np.asarray(jax.vmap(native)(jnp.asarray(k)))
    assert ours.dtype == np.float32
    assert_f32(ours, ref, name)
    if constant:
        assert_same_changes(ours, ref)


def test_sgdr_native_stops_restarting_ours_does_not():
    """Past optax's listed cycles, sgdr holds its end value; a `repeat` without `times` keeps restarting."""
    lr, native, _, _ = NATIVE["sgdr-mult2"]
    ours = schedspec.to_optax(spec_of(lr))
    assert float(native(300)) == pytest.approx(0.001, rel=1e-6)
    assert float(ours(300)) == pytest.approx(0.1, rel=1e-6)  # the 5th cycle starts at 20 * (2**4 - 1) = 300


# ------------------------------------------------------------------------------------- the applied lr
SPEC_WARMUP_COSINE = [
    {"kind": "linear", "duration": 20, "start": 0.0, "end": 0.1},
    {"kind": "cosine", "duration": 60, "end": 0.001},
]


def _train(opt, n_steps, state=None, params=None, start=0):
    """Run ``n_steps`` jitted SGD updates; return the lr recovered from each parameter change, and the state."""
    if params is None:
        params = {"w": jnp.zeros((3,), jnp.float32)}
    if state is None:
        state = opt.init(params)

    @jax.jit
    def step(params, state, sign):
        grads = {"w": sign * jnp.array([1.0, -2.0, 0.5], jnp.float32)}
        updates, state = opt.update(grads, state, params)
        new = optax.apply_updates(params, updates)
        return new, state, grads

    lrs = []
    for i in range(start, start + n_steps):
        sign = jnp.float32(1.0 if i % 2 == 0 else -1.0)  # alternate, so |w| stays small and float32-exact
        new, state, grads = step(params, state, sign)
        delta = np.asarray(new["w"], np.float64) - np.asarray(params["w"], np.float64)
        lr = -delta / np.asarray(grads["w"], np.float64)  # SGD: delta = -lr * g
        assert np.allclose(lr, lr[0], rtol=1e-6, atol=0)
        lrs.append(lr[0])
        params = new
    return np.asarray(lrs), state, params


def test_sgd_applies_spec_lr_under_jit():
    spec = spec_of(SPEC_WARMUP_COSINE)
    opt = optax.sgd(learning_rate=schedspec.to_optax(spec))
    lrs, state, _ = _train(opt, 100)
    assert_f32(lrs, schedspec.evaluate(spec, np.arange(100)), "applied lr")
    assert int(optax.tree_utils.tree_get(state, "count")) == 100


def test_resume_from_saved_state_continues_identically():
    spec = spec_of(SPEC_WARMUP_COSINE)
    opt = optax.sgd(learning_rate=schedspec.to_optax(spec))
    full, _, p_full = _train(opt, 60)
    first, state, params = _train(opt, 30)
    saved = pickle.dumps(jax.device_get((state, params)))  # a checkpoint: the count lives in the state
    state, params = pickle.loads(saved)
    second, _, p_resumed = _train(opt, 30, state=state, params=params, start=30)
    np.testing.assert_array_equal(np.concatenate([first, second]), full)
    np.testing.assert_array_equal(np.asarray(p_resumed["w"]), np.asarray(p_full["w"]))
    assert_f32(full, schedspec.evaluate(spec, np.arange(60)), "resumed lr")


def test_multisteps_uses_real_update_count():
    """optax.MultiSteps advances the inner count on real updates only: real update j uses value(j)."""
    spec = spec_of(SPEC_WARMUP_COSINE)
    a = 3
    opt = optax.MultiSteps(optax.sgd(learning_rate=schedspec.to_optax(spec)), every_k_schedule=a)
    params = {"w": jnp.zeros((3,), jnp.float32)}
    state = opt.init(params)
    update = jax.jit(opt.update)
    g = {"w": jnp.array([1.0, -2.0, 0.5], jnp.float32)}
    applied = []
    for micro in range(a * 40):
        sign = 1.0 if (micro // a) % 2 == 0 else -1.0
        grads = jax.tree.map(lambda x, s=sign: s * x, g)
        updates, state = update(grads, state, params)
        if (micro + 1) % a == 0:
            applied.append(-float(updates["w"][0]) / sign)
        else:
            assert float(jnp.abs(updates["w"]).max()) == 0.0
        params = optax.apply_updates(params, updates)
    assert_f32(np.asarray(applied), schedspec.evaluate(spec, np.arange(40)), "MultiSteps lr")


# ------------------------------------------------------------------------------- time, vars and errors
def test_epoch_interval_uses_count_floordiv_steps_per_epoch():
    spec = spec_of(
        {"kind": "step", "start": 0.1, "every": 3, "gamma": 0.5}, interval="epoch", steps_per_epoch=7
    )
    sched = schedspec.to_optax(spec)
    steps = np.arange(0, 200, dtype=np.int32)
    ref = np.asarray(optax.exponential_decay(0.1, 21, 0.5, staircase=True)(steps))  # 3 epochs = 21 steps
    assert_f32(np.asarray(sched(steps)), ref, "epoch")
    assert_same_changes(np.asarray(sched(steps)), ref)
    assert_f32(np.asarray(sched(steps)), schedspec.evaluate(spec, steps // 7), "epoch vs evaluate")


def test_epoch_interval_without_steps_per_epoch_is_a_spec_error():
    spec = schedspec.loads(
        "schedspec: 1\ninterval: epoch\nlr: {kind: cosine, start: 0.1, duration: 50}\n", "run.yaml"
    )
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.to_optax(spec)
    issue = err.value.issues[0]
    assert issue.path == "interval" and issue.line == 2
    assert "steps_per_epoch" in issue.message and "optax" in issue.message
    assert str(err.value).startswith("run.yaml:2:")


def test_plateau_is_a_spec_error_naming_target_feature_and_path():
    text = (
        "schedspec: 1\ninterval: epoch\nsteps_per_epoch: 10\nlr:\n  - {kind: linear, start: 0.0, end: 0.1, duration: 5}\n"
        "  - {kind: plateau, monitor: val_loss, patience: 2}\n"
    )
    spec = schedspec.loads(text, "plateau.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.to_optax(spec)
    (issue,) = err.value.issues
    assert issue.path == "lr[1]" and issue.line == 6
    assert "to_optax" in issue.message and "plateau" in issue.message and "metric" in issue.message


def test_sweep_needs_vars_to_pick_a_member():
    spec = spec_of(
        {"kind": "cosine", "start": "$peak", "end": 0.0, "duration": 100}, vars={"peak": [0.1, 0.3]}
    )
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.to_optax(spec)
    assert err.value.issues[0].path == "vars.peak" and "vars=" in err.value.issues[0].message
    sched = schedspec.to_optax(spec, vars={"peak": 0.3})
    k = ks(150)
    assert_f32(np.asarray(sched(k)), np.asarray(optax.cosine_decay_schedule(0.3, 100)(k)), "member")
    # a sweep member exactly as sweep_members() gives it
    member = spec.program.sweep_members()[0]
    assert_f32(np.asarray(schedspec.to_optax(spec, vars=member)(k)), schedspec.evaluate(spec, k, vars=member))


def test_unknown_hparam_is_a_spec_error():
    with pytest.raises(schedspec.SpecError, match="momentum"):
        schedspec.to_optax(spec_of(0.1), hparam="momentum")


def test_other_hparam_and_scalar_var_override():
    spec = schedspec.load(
        {"schedspec": 1, "vars": {"peak": 0.1}, "lr": {"kind": "constant", "value": "$peak"},
         "momentum": {"kind": "linear", "start": 0.85, "end": 0.95, "duration": 10}}
    )  # fmt: skip
    assert float(schedspec.to_optax(spec, hparam="momentum")(5)) == pytest.approx(0.9, abs=1e-7)
    assert float(schedspec.to_optax(spec, vars={"peak": 0.2})(5)) == pytest.approx(0.2, abs=1e-8)


def test_large_count_is_exact_where_float32_steps_collapse():
    """k = 30,000,999 of a 1000-step restart cycle: integer arithmetic first keeps it exact."""
    spec = spec_of({"kind": "repeat", "of": {"kind": "cosine", "start": 1.0, "end": 0.0, "duration": 1000}})
    sched = jax.jit(schedspec.to_optax(spec))
    for k in (30_000_999, 30_001_000, 2**31 - 1):
        t = k % 1000
        exact = 0.5 * (1 + math.cos(math.pi * t / 1000))  # float64
        assert abs(float(sched(jnp.int32(k))) - exact) <= 1e-6, k
    # optax's own schedule casts the count to float32 first, and collapses consecutive counts there
    native = optax.cosine_decay_schedule(1.0, 50_000_000)
    assert float(native(30_000_001)) == float(native(30_000_000))


def test_jit_vmap_and_scalar_agree():
    spec = spec_of(SPEC_WARMUP_COSINE)
    sched = schedspec.to_optax(spec)
    k = jnp.arange(0, 120, dtype=jnp.int32)
    eager = np.asarray(sched(k))
    jitted = np.asarray(jax.jit(sched)(k))
    vmapped = np.asarray(jax.jit(jax.vmap(sched))(k))
    scalars = np.asarray([float(sched(int(i))) for i in range(0, 120, 7)])
    for got in (jitted, vmapped):
        assert_f32(got, eager)
    assert_f32(scalars, eager[::7])


# ------------------------------------------------------------------------------------------- examples
# Every example through to_keras/to_optax (and every other target): tests/test_examples_targets.py.

# ------------------------------------------------------------------------------- plateau state: checkpoints
PLATEAU_CKPT = """\
schedspec: 1
interval: epoch
steps_per_epoch: 2
total: 10
lr:
  - {kind: linear, duration: 2, start: 0.0, end: 0.1}
  - {kind: plateau, duration: 6, monitor: val_loss, patience: 0, factor: 0.5}
  - {kind: cosine, end: 0.0}
momentum: 0.9
"""
def _ckpt_spec():
    return schedspec.loads(PLATEAU_CKPT)


CKPT_METRICS = [3.0, 2.0, 1.0, 1.0, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0]  # one val_loss per epoch of 2 updates

_CKPT_SCRIPT = textwrap.dedent(
    """
    import json, pickle, sys
    import jax, jax.numpy as jnp, numpy as np, optax
    import schedspec, schedspec.adapters.optax as so

    SPEC, METRICS = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    mode, path, out = sys.argv[3], sys.argv[4], sys.argv[5]

    def run(tx, state, params, start, stop):
        lrs = []
        update = jax.jit(tx.update)
        for k in range(start, stop):
            g = {"w": jnp.asarray([1.0, -2.0], jnp.float32) * (1.0 if k % 2 == 0 else -1.0)}
            updates, state = update(g, state, params)
            params = optax.apply_updates(params, updates)
            lrs.append(float(state.hyperparams["learning_rate"]))
            if k % 2 == 1:  # the end of epoch k // 2
                state = so.report(state, "val_loss", METRICS[k // 2])
        return state, params, lrs

    tx = so.inject(schedspec.loads(SPEC), optax.sgd)
    params0 = {"w": jnp.zeros((2,), jnp.float32)}
    if mode == "save":  # 9 updates (mid-epoch), then a pickle of (state, params)
        state, params, lrs = run(tx, tx.init(params0), params0, 0, 9)
        pickle.dump(jax.device_get((state, params)), open(path, "wb"))
    else:
        if mode == "load-pickle":
            state, params = pickle.load(open(path, "rb"))
        else:  # ordinary pytree checkpointing: the leaves saved with numpy, the structure of a fresh init
            data = np.load(path)
            leaves = [jnp.asarray(data[f"arr_{i}"]) for i in range(len(data.files))]
            state, params = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure((tx.init(params0), params0)), leaves)
        state, params, lrs = run(tx, state, params, 9, 20)
    json.dump({"lrs": lrs, "w": np.asarray(params["w"]).tolist()}, open(out, "w"))
    """
)


def _ckpt_run(mode: str, path, tmp_path) -> dict:
    out = tmp_path / f"{mode}.json"
    proc = subprocess.run([sys.executable, "-c", _CKPT_SCRIPT, json.dumps(PLATEAU_CKPT), json.dumps(CKPT_METRICS), mode,
                           str(path), str(out)], capture_output=True, text=True, timeout=180)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def _ckpt_reference():
    """The uninterrupted run in this process: the lr each of 20 updates used, and the final parameters."""
    import schedspec.adapters.optax as so

    tx = so.inject(schedspec.loads(PLATEAU_CKPT), optax.sgd)
    params = {"w": jnp.zeros((2,), jnp.float32)}
    state, update, lrs, mid = tx.init(params), jax.jit(tx.update), [], None
    for k in range(20):
        g = {"w": jnp.asarray([1.0, -2.0], jnp.float32) * (1.0 if k % 2 == 0 else -1.0)}
        updates, state = update(g, state, params)
        params = optax.apply_updates(params, updates)
        lrs.append(float(state.hyperparams["learning_rate"]))
        if k % 2 == 1:
            state = so.report(state, "val_loss", CKPT_METRICS[k // 2])
        if k == 8:
            mid = jax.device_get((state, params))
    return lrs, np.asarray(params["w"]), mid


def test_plateau_state_pickles_into_a_fresh_process(tmp_path):
    """issue 9 §4: an inject() state with a plateau, pickled, then loaded in a fresh process, failed at the next
    report with a bare KeyError (the plateaus were found through a per-process registry). The state now carries
    the plateaus' description: a run saved after 9 updates in one process and continued in another equals the
    uninterrupted run bit for bit, and the lrs are evaluate's."""
    lrs, w, _ = _ckpt_reference()
    path = tmp_path / "state.pkl"
    _ckpt_run("save", path, tmp_path)
    got = _ckpt_run("load-pickle", path, tmp_path)
    np.testing.assert_array_equal(got["lrs"], lrs[9:])
    np.testing.assert_array_equal(np.asarray(got["w"], np.float32), w)
    k = np.arange(20)
    ref = schedspec.evaluate(_ckpt_spec(), k // 2, metrics={"val_loss": CKPT_METRICS})
    assert_f32(lrs, ref, "inject lr vs evaluate")
    # the named case, per epoch: warmup 0, 0.05; the plateau from 0.1 consumes reports 2..7 (1.0 best, then 1.0
    # reduces; 0.9 is better; 1.0, 1.0, 1.0 reduce); the cosine cooldown starts from its final 0.00625
    per_epoch = [0.0, 0.05, 0.1, 0.1, 0.05, 0.05, 0.025, 0.0125, 0.00625, 0.003125]
    np.testing.assert_array_equal(lrs, np.repeat(np.float32(per_epoch), 2).astype(np.float64))


def test_plateau_state_round_trips_through_pytree_leaves(tmp_path):
    """Ordinary pytree checkpointing: ``tree_flatten`` of (state, params), the leaves saved with numpy, put back
    in a fresh process with ``tree_unflatten`` on the structure of a fresh ``init``; the treedefs are equal."""
    import schedspec.adapters.optax as so

    lrs, w, mid = _ckpt_reference()
    leaves, treedef = jax.tree_util.tree_flatten(mid)
    tx = so.inject(_ckpt_spec(), optax.sgd)  # built again: the same static description
    params = {"w": jnp.zeros((2,), jnp.float32)}
    assert jax.tree_util.tree_structure((tx.init(params), params)) == treedef
    path = tmp_path / "leaves.npz"
    np.savez(path, *[np.asarray(x) for x in leaves])
    got = _ckpt_run("load-leaves", path, tmp_path)
    np.testing.assert_array_equal(got["lrs"], lrs[9:])
    np.testing.assert_array_equal(np.asarray(got["w"], np.float32), w)


class _Box:
    """A faithful minimal mirror of how Flax's ``nnx.Optimizer`` holds ``opt_state``: ``to_opt_state`` maps every
    array leaf of ``tx.init(...)`` into an ``OptArray`` variable, a pytree node around the value with
    ``get_value``/``set_value`` that ``nnx.as_pure`` unwraps before ``tx.update`` and ``nnx.update`` writes back."""

    def __init__(self, value):
        self.value = value

    def get_value(self):
        return self.value

    def set_value(self, value):
        self.value = value


jax.tree_util.register_pytree_node(_Box, lambda b: ((b.value,), None), lambda _, c: _Box(c[0]))


def _nnx_mirror_step(tx, boxed, grads, params):
    pure = jax.tree_util.tree_map(lambda b: b.get_value(), boxed, is_leaf=lambda x: isinstance(x, _Box))
    updates, new = tx.update(grads, pure, params)
    jax.tree_util.tree_map(lambda b, v: b.set_value(v), boxed, new, is_leaf=lambda x: isinstance(x, _Box))
    return optax.apply_updates(params, updates)


def _nnx_run(kind: str) -> list[float]:
    """The lr of 20 updates of optax.sgd on PLATEAU_CKPT held by nnx.Optimizer (``kind="flax"``) or its mirror,
    reporting with ``report(optimizer.opt_state, ...)`` and nothing else (the state is updated in place)."""
    import schedspec.adapters.optax as so

    tx = so.inject(_ckpt_spec(), optax.sgd)
    lrs = []
    if kind == "flax":
        from flax import nnx

        class Model(nnx.Module):
            def __init__(self):
                self.w = nnx.Param(jnp.zeros((2,), jnp.float32))

        model = Model()
        opt = nnx.Optimizer(model, tx, wrt=nnx.Param)
    else:
        params = {"w": jnp.zeros((2,), jnp.float32)}
        boxed = jax.tree_util.tree_map(_Box, tx.init(params))
    for k in range(20):
        g = jnp.asarray([1.0, -2.0], jnp.float32) * (1.0 if k % 2 == 0 else -1.0)
        if kind == "flax":
            grads = jax.tree_util.tree_map(lambda _, g=g: g, nnx.state(model, nnx.Param))  # nnx.grad's structure
            opt.update(model, grads)
            state = opt.opt_state
            lrs.append(float(np.asarray(state.inner.hyperparams["learning_rate"].get_value())))
        else:
            params = _nnx_mirror_step(tx, boxed, {"w": g}, params)
            state = boxed
            lrs.append(float(state.inner.hyperparams["learning_rate"].get_value()))
        if k % 2 == 1:
            returned = so.report(state, "val_loss", CKPT_METRICS[k // 2])
            assert returned is state  # updated in place, and returned
    return lrs


@pytest.mark.parametrize("kind", ["mirror", "flax"])
def test_report_on_a_flax_nnx_optimizer_state(kind):
    """issue 9 §4: ``report`` failed on a Flax ``nnx.Optimizer``'s ``opt_state`` (its leaves are nnx variables:
    ``'<' not supported between instances of 'OptArray' and 'int'``). It now reads their values and writes the
    new ones back in place. Checked against real Flax where installed and always against a faithful mirror."""
    if kind == "flax":
        pytest.importorskip("flax.nnx")
    lrs, _, _ = _ckpt_reference()
    np.testing.assert_array_equal(_nnx_run(kind), lrs)


def test_open_ended_plateau_needs_max_reports_positioned():
    import schedspec.adapters.optax as so

    spec = schedspec.loads("schedspec: 1\ninterval: epoch\nsteps_per_epoch: 2\nlr:\n"
                           "  - {kind: linear, duration: 2, start: 0.0, end: 0.1}\n"
                           "  - {kind: plateau, monitor: val_loss}\n", "open.yaml")  # fmt: skip
    with pytest.raises(schedspec.SpecError) as err:
        so.inject(spec, optax.sgd)
    assert str(err.value).startswith("open.yaml:6:5: lr[1]: this `plateau` never ends") and "max_reports=N" in str(err.value)
    so.inject(spec, optax.sgd, max_reports=8)  # given: fine


def test_to_optax_takes_a_group_and_multi_transform_refuses_a_group_named_default():
    """to_optax(spec, group=...) is that group's count schedule (examples/finetune-groups.yaml: backbone is 0.1 x
    the document's 1e-3 at step 1000, head holds 1e-3 until step 2000); a spec group named `default` would take
    the label multi_transform gives the parameters outside every group, so it is refused at its key."""
    import schedspec.adapters.optax as so

    path = "examples/finetune-groups.yaml"
    k = jnp.asarray([1000, 1999, 20000], jnp.int32)
    doc_1999 = 1e-5 + (1e-3 - 1e-5) * (1 + math.cos(math.pi * 999 / 19000)) / 2  # the cosine from step 1000
    assert_f32(schedspec.to_optax(path, group="backbone")(k), [1e-4, 0.1 * doc_1999, 1e-6], "backbone")
    assert_f32(schedspec.to_optax(path, group="head")(k), [1e-3, 1e-3, 1e-5], "head")
    assert_f32(schedspec.to_optax(path)(k), schedspec.evaluate(path, k), "the document's")
    with pytest.raises(schedspec.SpecError, match="the spec has no group 'haed'; did you mean 'head'"):
        schedspec.to_optax(path, group="haed")
    spec = schedspec.loads("schedspec: 1\nlr: 0.1\ngroups:\n  default: {scale: 0.5}\n", "g.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        so.multi_transform(spec, optax.sgd, {"w": "default"})
    assert str(err.value).startswith("g.yaml:4:3: group `default`: multi_transform gives the label 'default'")
