"""The Keras adapter against Keras' own schedules and against the lr a Keras optimizer actually applies.

Runs on the JAX backend (``KERAS_BACKEND=jax``); the torch backend is checked in a subprocess. Tolerances (float32
on either side): ``|a - b| <= 1e-6 * peak + 1e-5 * |b|`` with ``peak = max |b|``; discrete changes at exactly the
same k.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import schedspec  # noqa: E402

keras = pytest.importorskip("keras")
# another test may have imported keras on another backend first
if keras.backend.backend() != "jax":  # pragma: no cover
    pytest.skip("these tests run Keras on the JAX backend", allow_module_level=True)
jax = pytest.importorskip("jax")
jnp = jax.numpy
S = keras.optimizers.schedules


def assert_f32(actual, expected, what: str = "") -> None:
    """float32 parity: |a - b| <= 1e-6 * peak + 1e-5 * |b| (reference tolerance for anything float32)."""
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    peak = float(np.max(np.abs(b))) if b.size else 0.0
    bad = np.abs(a - b) > 1e-6 * peak + 1e-5 * np.abs(b)
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


def native_values(schedule, k) -> np.ndarray:
    """A native Keras schedule at every k (vmapped: CosineDecay's warmup branch is an ops.cond)."""
    return np.asarray(jax.vmap(schedule)(jnp.asarray(k, jnp.int32)))


# ------------------------------------------------------------------------------------------ native parity
NATIVE = {
    # name: (schedspec lr, native Keras schedule, k max, piecewise-constant?)
    "step": (
        {"kind": "step", "start": 0.1, "every": 30, "gamma": 0.5},
        lambda: S.ExponentialDecay(0.1, 30, 0.5, staircase=True),
        200,
        True,
    ),
    "multistep": (  # Keras changes at boundary + 1: boundaries = milestones - 1; a repeated milestone counts twice
        {"kind": "multistep", "start": 0.1, "milestones": [30, 80, 80, 120], "gamma": 0.1},
        lambda: S.PiecewiseConstantDecay([29, 79, 119], [0.1, 0.01, 0.0001, 0.00001]),
        240,
        True,
    ),
    "exponential": (
        {"kind": "exponential", "start": 0.1, "gamma": 0.97},
        lambda: S.ExponentialDecay(0.1, 1, 0.97),
        300,
        False,
    ),
    "exponential-every": (
        {"kind": "exponential", "start": 0.1, "gamma": 0.5, "every": 10},
        lambda: S.ExponentialDecay(0.1, 10, 0.5),
        200,
        False,
    ),
    "polynomial": (
        {"kind": "polynomial", "start": 0.1, "end": 0.0, "power": 2, "duration": 100},
        lambda: S.PolynomialDecay(0.1, 100, end_learning_rate=0.0, power=2.0),
        200,
        False,
    ),
    "linear-warmup": (  # PolynomialDecay(a, W, end=p) ramps up: a Keras linear warmup
        {"kind": "linear", "start": 0.01, "end": 0.1, "duration": 50},
        lambda: S.PolynomialDecay(0.01, 50, end_learning_rate=0.1, power=1.0),
        100,
        False,
    ),
    "cosine": (  # Keras clamps after decay_steps, as schedspec does
        {"kind": "cosine", "start": 0.1, "end": 0.001, "duration": 100},
        lambda: S.CosineDecay(0.1, 100, alpha=0.01),
        200,
        False,
    ),
    "warmup-cosine": (  # decay_steps excludes the warmup; alpha multiplies warmup_target
        [
            {"kind": "linear", "duration": 10, "start": 0.0, "end": 0.1},
            {"kind": "cosine", "duration": 90, "end": 0.001},
        ],
        lambda: S.CosineDecay(0.0, 90, alpha=0.01, warmup_target=0.1, warmup_steps=10),
        200,
        False,
    ),
    "cosine-restarts": (
        {"kind": "repeat", "mult": 2, "of": {"kind": "cosine", "start": 0.1, "end": 0.001, "duration": 20}},
        lambda: S.CosineDecayRestarts(0.1, 20, t_mul=2.0, m_mul=1.0, alpha=0.01),
        1300,
        False,
    ),
    "cosine-restarts-mult1": (
        {"kind": "repeat", "of": {"kind": "cosine", "start": 0.1, "end": 0.0, "duration": 25}},
        lambda: S.CosineDecayRestarts(0.1, 25, t_mul=1.0, m_mul=1.0),
        200,
        False,
    ),
    "inverse-time": (
        {"kind": "inverse_time", "start": 0.1, "rate": 0.5, "every": 10},
        lambda: S.InverseTimeDecay(0.1, 10, 0.5),
        200,
        False,
    ),
    "inverse-time-staircase": (
        {"kind": "inverse_time", "start": 0.1, "rate": 0.5, "every": 10, "staircase": True},
        lambda: S.InverseTimeDecay(0.1, 10, 0.5, staircase=True),
        200,
        True,
    ),
}


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_matches_native_keras(name):
    lr, native, n, constant = NATIVE[name]
    k = np.arange(n + 1, dtype=np.int32)
    sched = schedspec.to_keras(spec_of(lr))
    ours = np.asarray(sched(k))
    ref = native_values(native(), k)
    assert ours.dtype == np.float32
    assert_f32(ours, ref, name)
    assert_f32(np.asarray(jax.jit(sched)(k)), ref, name + " (jit)")
    if constant:
        assert_same_changes(ours, ref)


def test_large_step_is_exact_where_native_restarts_fail():
    """Step 30,000,999 of a 1000-step repeat of cosine: integer arithmetic first keeps it exact (reference 2.3)."""
    lr = {"kind": "repeat", "of": {"kind": "cosine", "start": 1.0, "end": 0.0, "duration": 1000}}
    sched = schedspec.to_keras(spec_of(lr))
    native = S.CosineDecayRestarts(1.0, 1000, t_mul=1.0, m_mul=1.0)
    for step in (30_000_999, 30_000_500, 30_001_001, 2**31 - 1):
        exact = 0.5 * (1 + math.cos(math.pi * (step % 1000) / 1000))  # float64
        got = float(sched(np.int32(step)))
        assert abs(got - exact) <= 1e-6 * 1.0 + 1e-5 * exact, (step, got, exact)
    # Keras' own schedule rounds the step through float32 first and lands on the wrong side of a restart
    exact = 0.5 * (1 + math.cos(math.pi * 0.999))
    assert exact < 3e-6 and float(native(30_000_999)) > 0.5


def test_schedule_inside_jit_with_a_traced_step():
    lr = [
        {"kind": "linear", "duration": 10, "start": 0.0, "end": 0.1},
        {"kind": "cosine", "duration": 90, "end": 0.0},
    ]
    spec = spec_of(lr)
    sched = schedspec.to_keras(spec)
    got = [float(jax.jit(sched)(jnp.int32(k))) for k in (0, 5, 10, 50, 100, 1000)]
    assert_f32(got, schedspec.evaluate(spec, [0, 5, 10, 50, 100, 1000]))


# ------------------------------------------------------------------------------------- the applied lr
SPEC = [
    {"kind": "linear", "duration": 8, "start": 0.0, "end": 0.1},
    {"kind": "cosine", "duration": 20, "end": 0.001},
]


def _model(learning_rate, **opt_kw):
    """y = w * x, MAE against y = 1000: dL/dw = -x exactly, so SGD changes w by +lr * x."""
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, **opt_kw), loss="mae")
    return model


def _data(n, every=1, start=0):
    """x alternates sign every ``every`` batches (so |w| stays small and float32-exact); y is far above."""
    i = np.arange(start, start + n)
    x = np.where((i // every) % 2 == 0, 1.0, -1.0).astype(np.float32)[:, None]
    return x, np.full((n, 1), 1000.0, np.float32)


class Recorder(keras.callbacks.Callback):
    """Per batch: the kernel after the update, the optimizer's iterations and its reported learning_rate."""

    def __init__(self):
        super().__init__()
        self.w, self.iterations, self.reported = [], [], []

    def on_train_batch_end(self, batch, logs=None):
        model = self.model  # on the JAX backend this syncs the trainer state into the variables
        self.w.append(float(np.asarray(model.layers[0].kernel)[0, 0]))
        self.iterations.append(int(np.asarray(model.optimizer.iterations)))
        self.reported.append(float(np.asarray(model.optimizer.learning_rate)))


def _fit(model, x, y, w0=0.0):
    rec = Recorder()
    model.fit(x, y, batch_size=1, epochs=1, shuffle=False, verbose=0, callbacks=[rec])
    w = np.concatenate([[w0], rec.w])
    applied = np.diff(w) / x[:, 0]  # delta w = lr * x
    return applied, rec


def test_fit_applies_spec_lr_and_reports_the_next_one():
    spec = spec_of(SPEC)
    n = 40
    x, y = _data(n)
    applied, rec = _fit(_model(schedspec.to_keras(spec)), x, y)
    k = np.arange(n)
    assert_f32(applied, schedspec.evaluate(spec, k), "applied lr")
    assert rec.iterations == list(range(1, n + 1))
    # optimizer.learning_rate = schedule(iterations): after update k it shows the lr of update k + 1
    assert_f32(rec.reported, schedspec.evaluate(spec, k + 1), "reported lr")


def test_fit_with_gradient_accumulation():
    """Keras calls the schedule with the micro-step count; real update j sees step (j + 1) * A - 1."""
    spec = spec_of(SPEC)
    a, updates = 3, 30
    x, y = _data(a * updates, every=a)
    model = _model(schedspec.to_keras(spec, gradient_accumulation_steps=a), gradient_accumulation_steps=a)
    applied, _ = _fit(model, x, y)
    real = applied.reshape(updates, a)
    assert np.all(real[:, :-1] == 0.0)  # micro-steps only accumulate
    assert_f32(real[:, -1], schedspec.evaluate(spec, np.arange(updates)), "accumulated lr")


def test_save_mid_training_load_and_continue(tmp_path):
    spec = spec_of(SPEC)
    n, half = 36, 14
    x, y = _data(n)
    continuous, rec_all = _fit(_model(schedspec.to_keras(spec)), x, y)

    model = _model(schedspec.to_keras(spec))
    first, rec1 = _fit(model, x[:half], y[:half])
    path = str(tmp_path / "half.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    sched = loaded.optimizer._learning_rate
    assert isinstance(sched, schedspec.adapters.keras.Schedule)
    assert sched.get_config() == model.optimizer._learning_rate.get_config()
    assert int(np.asarray(loaded.optimizer.iterations)) == half
    second, rec2 = _fit(loaded, x[half:], y[half:], w0=rec1.w[-1])
    np.testing.assert_array_equal(np.concatenate([first, second]), continuous)
    np.testing.assert_array_equal(rec1.reported + rec2.reported, rec_all.reported)
    assert rec2.iterations == list(range(half + 1, n + 1))
    assert_f32(continuous, schedspec.evaluate(spec, np.arange(n)), "resumed lr")


# ------------------------------------------------------------------------------------- serialisation
def test_config_round_trip():
    spec = spec_of(
        {"kind": "repeat", "mult": 2, "decay": 0.5, "times": 4, "of": [
            {"kind": "linear", "duration": 3, "start": 0.0, "end": 0.1},
            {"kind": "cosine", "duration": 7, "end": 0.001}]},
        interval="epoch", steps_per_epoch=5,
    )  # fmt: skip
    sched = schedspec.to_keras(spec, gradient_accumulation_steps=2)
    config = sched.get_config()
    json.dumps(config)  # plain JSON data
    again = schedspec.adapters.keras.Schedule.from_config(json.loads(json.dumps(config)))
    steps = np.arange(0, 2000, 3, dtype=np.int32)
    np.testing.assert_array_equal(np.asarray(again(steps)), np.asarray(sched(steps)))
    assert again.node == sched.node
    data = keras.saving.serialize_keras_object(sched)
    assert data["registered_name"] == "schedspec>Schedule"
    restored = keras.saving.deserialize_keras_object(json.loads(json.dumps(data)))
    np.testing.assert_array_equal(np.asarray(restored(steps)), np.asarray(sched(steps)))
    assert_f32(np.asarray(sched(steps)), schedspec.evaluate(spec, steps // 2 // 5), "epoch + accumulation")
    opt = keras.optimizers.SGD(learning_rate=sched)
    opt2 = keras.optimizers.SGD.from_config(opt.get_config())
    np.testing.assert_array_equal(np.asarray(opt2._learning_rate(steps)), np.asarray(sched(steps)))


# Every kind and combinator, for the keras.ops backend of the shared formulas (KerasXP) against the JAX evaluator.
ALL_KINDS = {
    "constant": 0.05,
    "linear": {"kind": "linear", "start": 0.0, "end": 0.1, "duration": 17},
    "cosine-exponent": {"kind": "cosine", "start": 0.1, "end": 0.01, "exponent": 2.0, "duration": 37},
    "polynomial": {"kind": "polynomial", "start": 0.1, "end": 0.01, "power": 0.5, "duration": 41},
    "exponential-ceiling": {"kind": "exponential", "start": 0.01, "gamma": 1.05, "every": 3, "end": 0.1},
    "step": {"kind": "step", "start": 0.1, "every": 13, "gamma": 0.3},
    "multistep": {"kind": "multistep", "start": 0.1, "milestones": [5, 20, 20, 60], "gamma": 0.5},
    "piecewise-cosine": {"kind": "piecewise", "interpolate": "cosine", "points": [[0, 0.0], [10, 0.1], [70, 0.001]]},
    "piecewise-constant": {"kind": "piecewise", "points": [[0, 0.1], [7, 0.3], [33, 0.02]]},
    "inverse-time": {"kind": "inverse_time", "start": 0.1, "rate": 0.3, "every": 4, "staircase": True},
    "inverse-sqrt": {"kind": "inverse_sqrt", "start": 0.1, "timescale": 16},
    "cyclic-triangular2": {"kind": "cyclic", "low": 0.01, "high": 0.1, "up": 7, "down": 11, "mode": "triangular2"},
    "cyclic-exp-range": {"kind": "cyclic", "low": 0.01, "high": 0.1, "up": 9, "mode": "exp_range", "gamma": 0.99},
    "onecycle-three-phase": {"kind": "onecycle", "peak": 0.1, "duration": 50, "three_phase": True, "anneal": "linear"},
    "onecycle-fractional": {"kind": "onecycle", "peak": 0.1, "duration": 10, "pct_start": 0.25},
    "repeat-mult-1.5-decay": {
        "kind": "repeat", "mult": 1.5, "decay": 0.7, "times": 5,
        "of": {"kind": "cosine", "start": 0.1, "end": 0.0, "duration": 8}},
    "repeat-mult-3": {"kind": "repeat", "mult": 3, "of": {"kind": "linear", "start": 0.1, "end": 0.0, "duration": 4}},
    "product": {"kind": "product", "of": [
        {"kind": "linear", "start": 0.1, "end": 1.0, "duration": 10},
        {"kind": "step", "start": 0.1, "every": 25, "gamma": 0.5}]},
    "scale-clip": {"kind": "clip", "min": 0.02, "max": 0.08, "of": {
        "kind": "scale", "by": 2.0, "of": {"kind": "cosine", "start": 0.1, "end": 0.0, "duration": 60}}},
    "sequence-carried": [
        {"kind": "linear", "start": 0.0, "end": 0.1, "duration": 10},
        {"kind": "constant", "duration": 15},
        {"kind": "exponential", "gamma": 0.9, "staircase": True, "every": 2}],
}  # fmt: skip
KIND_STEPS = np.arange(0, 400, dtype=np.int32)


@pytest.mark.parametrize("name", sorted(ALL_KINDS))
def test_every_kind_matches_evaluate(name):
    spec = spec_of(ALL_KINDS[name])
    sched = schedspec.to_keras(spec)
    ref = schedspec.evaluate(spec, KIND_STEPS)
    assert_f32(np.asarray(sched(KIND_STEPS)), ref, name)
    assert_f32(np.asarray(jax.jit(sched)(KIND_STEPS)), ref, name + " (jit)")


_TORCH_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    import keras
    import schedspec
    import schedspec.adapters.keras  # registers "schedspec>Schedule" for load_model
    assert keras.backend.backend() == "torch", keras.backend.backend()
    spec = schedspec.load(json.loads(sys.argv[1]))
    out = {"kinds": {}}
    for name, lr in json.loads(sys.argv[3]).items():
        sched = schedspec.to_keras({"schedspec": 1, "lr": lr})
        values = sched(np.arange(400, dtype=np.int32))
        out["kinds"][name] = keras.ops.convert_to_numpy(values).tolist()
    sched = schedspec.to_keras(spec)
    out["values"] = [float(sched(k)) for k in range(0, 40)]
    out["array"] = np.asarray(keras.ops.convert_to_numpy(sched(np.arange(40, dtype=np.int32)))).tolist()
    out["big"] = float(sched(30_000_999))
    model = keras.models.load_model(sys.argv[2])  # saved by the JAX backend after some batches
    out["iterations"] = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    x = np.where(np.arange(10) % 2 == 0, 1.0, -1.0).astype("float32")[:, None]
    ws = []
    cb = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: ws.append(float(keras.ops.convert_to_numpy(model.layers[0].kernel)[0, 0])))
    w0 = float(keras.ops.convert_to_numpy(model.layers[0].kernel)[0, 0])
    model.fit(x, np.full((10, 1), 1000.0, "float32"), batch_size=1, shuffle=False, verbose=0, callbacks=[cb])
    out["applied"] = (np.diff([w0] + ws) / x[:, 0]).tolist()
    print("RESULT" + json.dumps(out))
    """
)


def test_torch_backend_and_fresh_process_load(tmp_path):
    pytest.importorskip("torch")
    data = {"schedspec": 1, "lr": [
        {"kind": "linear", "duration": 8, "start": 0.0, "end": 0.1},
        {"kind": "repeat", "of": {"kind": "cosine", "duration": 10, "start": 0.1, "end": 0.001}}]}  # fmt: skip
    spec = schedspec.load(data)
    half = 6
    model = _model(schedspec.to_keras(spec))
    x, y = _data(half)
    model.fit(x, y, batch_size=1, verbose=0, shuffle=False)
    path = str(tmp_path / "jax.keras")
    model.save(path)
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    proc = subprocess.run(
        [sys.executable, "-c", _TORCH_SCRIPT, json.dumps(data), path, json.dumps(ALL_KINDS)],
        env=env, capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][-1]
    out = json.loads(line[len("RESULT") :])
    ref = schedspec.evaluate(spec, np.arange(40))
    assert_f32(out["values"], ref, "torch backend scalar")
    assert_f32(out["array"], ref, "torch backend array")
    assert abs(out["big"] - float(schedspec.evaluate(spec, [30_000_999], dtype="float64")[0])) <= 1e-6 * 0.1
    assert out["iterations"] == half
    assert_f32(
        out["applied"], schedspec.evaluate(spec, np.arange(half, half + 10)), "torch backend applied lr"
    )


# ------------------------------------------------------------------------------- time, vars and errors
def test_epoch_interval_uses_step_floordiv_steps_per_epoch():
    spec = spec_of(
        {"kind": "step", "start": 0.1, "every": 3, "gamma": 0.5}, interval="epoch", steps_per_epoch=7
    )
    steps = np.arange(0, 200, dtype=np.int32)
    ours = np.asarray(schedspec.to_keras(spec)(steps))
    ref = native_values(S.ExponentialDecay(0.1, 21, 0.5, staircase=True), steps)  # 3 epochs = 21 steps
    assert_f32(ours, ref, "epoch")
    assert_same_changes(ours, ref)


def test_epoch_interval_without_steps_per_epoch_is_a_spec_error():
    spec = schedspec.loads(
        "schedspec: 1\ninterval: epoch\nlr: {kind: cosine, start: 0.1, duration: 50}\n", "run.yaml"
    )
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.to_keras(spec)
    issue = err.value.issues[0]
    assert issue.path == "interval" and issue.line == 2
    assert "steps_per_epoch" in issue.message and "keras" in issue.message


def test_plateau_needs_its_buffer_size_and_its_optimizer():
    """A plateau runs on metric reports (tests/test_plateau.py): an open-ended one needs ``max_reports``, and the
    schedule must be attached to its optimizer (the values live in optimizer variables) before it is called."""
    text = (
        "schedspec: 1\ninterval: epoch\nsteps_per_epoch: 10\nlr:\n"
        "  - {kind: linear, start: 0.0, end: 0.1, duration: 5}\n"
        "  - {kind: plateau, monitor: val_loss, patience: 2}\n"
    )
    spec = schedspec.loads(text, "plateau.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.to_keras(spec)
    assert str(err.value).startswith("plateau.yaml:6:5: lr[1]: this `plateau` never ends")
    assert "to_keras(..., max_reports=N)" in str(err.value)
    sched = schedspec.to_keras(spec, max_reports=20)
    with pytest.raises(RuntimeError, match=r"attach it to its optimizer first.*schedule.callback\(\)"):
        sched(0)
    sched.attach(keras.optimizers.SGD(learning_rate=sched))
    assert float(sched(59)) == pytest.approx(0.1) and np.isnan(float(sched(60)))  # epoch 6 needs report 5


def test_sweep_needs_vars_to_pick_a_member():
    spec = spec_of(
        {"kind": "cosine", "start": "$peak", "end": 0.0, "duration": 100}, vars={"peak": [0.1, 0.3]}
    )
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.to_keras(spec)
    assert err.value.issues[0].path == "vars.peak" and "vars=" in err.value.issues[0].message
    k = np.arange(150, dtype=np.int32)
    sched = schedspec.to_keras(spec, vars={"peak": 0.3})
    assert_f32(np.asarray(sched(k)), native_values(S.CosineDecay(0.3, 100), k), "member")


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "3"])
def test_bad_gradient_accumulation_steps(bad):
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        schedspec.to_keras(spec_of(0.1), gradient_accumulation_steps=bad)


# ------------------------------------------------------------------------------------------- examples
# Every example through to_keras/to_optax (and every other target): tests/test_examples_targets.py.

# ------------------------------------------------------------------------------- plateau: save and reload
# A plateau that reduces at every report after the first (rel threshold 0.9: no epoch improves 10x), so the lr of
# epoch e is 0.01 for e <= 1, then 0.01 * 0.5**(e - 1): the value after reload is known exactly.
PLATEAU_RESUME = """\
schedspec: 1
interval: epoch
steps_per_epoch: 4
total: 10
lr: {kind: plateau, start: 0.01, monitor: loss, patience: 0, factor: 0.5, threshold: 0.9}
"""

_RESUME_SCRIPT = textwrap.dedent(
    """
    import json, sys, warnings
    import numpy as np
    import keras
    import schedspec.adapters.keras as sk  # registers the schedule and the plateau optimizers

    path, out, epochs, how = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras' "Skipping variable loading for optimizer" is a failure here
        model = keras.models.load_model(path)
    opt = model.optimizer
    state = {"class": type(opt).__name__, "iterations": int(opt.iterations),
             "lr": float(opt.learning_rate), "names": [v.name for v in opt.variables],
             "variables": [np.asarray(v).tolist() for v in opt.variables]}
    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    done = state["iterations"] // 4
    callback = sk.PlateauCallback() if how == "callback" else opt._learning_rate.callback()
    model.fit(x, y, batch_size=4, epochs=epochs, initial_epoch=done, shuffle=False, verbose=0, callbacks=[callback])
    state["weights"] = [np.asarray(w).tolist() for w in model.get_weights()]
    state["final_lr"] = float(opt.learning_rate)
    state["reports"] = opt._learning_rate._reports.reports
    json.dump(state, open(out, "w"))
    """
)


def _plateau_model(build: str):
    """A seeded linear model on Adam whose lr is the PLATEAU_RESUME schedule (with its callback)."""
    spec = schedspec.loads(PLATEAU_RESUME)
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    if build == "optimizer":  # schedspec.adapters.keras.optimizer builds the plateau class directly
        opt = schedspec.adapters.keras.optimizer(spec, keras.optimizers.Adam)
    else:  # a plain Keras optimizer: its class becomes the plateau class when the callback attaches
        opt = keras.optimizers.Adam(learning_rate=schedspec.to_keras(spec))
    model.compile(optimizer=opt, loss="mse")
    return model, opt._learning_rate


def _plateau_fit(model, schedule, epochs, initial_epoch=0):
    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model.fit(x, y, batch_size=4, epochs=epochs, initial_epoch=initial_epoch, shuffle=False, verbose=0,
              callbacks=[schedule.callback()])  # fmt: skip


@pytest.mark.parametrize("build", ["plain", "optimizer"])
def test_plateau_state_survives_save_and_reload_in_a_fresh_process(build, tmp_path):
    """issue 9 §4: a `.keras` file of a model whose optimizer runs a plateau used to reload with iterations 0,
    no Adam moments and a restarted plateau (Keras skipped every optimizer variable, with only a warning about the
    variable count). Now: saved after 3 epochs (12 updates, lr 0.0025 after two reductions), reloaded in a fresh
    process, every optimizer variable comes back and 3 more epochs equal an uninterrupted run of 6."""
    model, schedule = _plateau_model(build)
    _plateau_fit(model, schedule, 6)
    full_weights = [np.asarray(w) for w in model.get_weights()]
    full_reports = list(schedule._reports.reports["loss"])
    assert float(model.optimizer.learning_rate) == np.float32(0.01 * 0.5**5)

    model, schedule = _plateau_model(build)
    _plateau_fit(model, schedule, 3)
    opt = model.optimizer
    assert type(opt).__name__ == "PlateauAdam" and isinstance(opt, keras.optimizers.Adam)
    names = [v.name for v in opt.variables]
    assert names[-3:] == ["schedspec_plateau_values", "schedspec_plateau_counts", "schedspec_plateau_reports"]
    saved = [np.asarray(v) for v in opt.variables]
    path = str(tmp_path / "plateau.keras")
    model.save(path)

    out = tmp_path / "resumed.json"
    proc = subprocess.run([sys.executable, "-c", _RESUME_SCRIPT, path, str(out), "6", "callback"],
                          capture_output=True, text=True, timeout=180, cwd=str(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(out.read_text())
    assert got["class"] == "PlateauAdam"
    assert got["iterations"] == 12
    assert got["lr"] == float(np.float32(0.0025))  # the reduced lr, not the restarted 0.01
    assert got["names"][-3:] == names[-3:] and len(got["names"]) == len(names)
    for before, after, name in zip(saved, got["variables"], names):  # Adam moments and the plateau state
        np.testing.assert_array_equal(np.asarray(after, before.dtype), before, err_msg=name)
    assert got["final_lr"] == float(np.float32(0.01 * 0.5**5))
    np.testing.assert_array_equal(got["reports"]["loss"], full_reports)
    for a, b in zip(got["weights"], full_weights):
        np.testing.assert_array_equal(np.asarray(a, np.float32), b)


def test_plateau_state_survives_save_weights_and_load_weights(tmp_path):
    """``save_weights``/``load_weights`` restore the plateau too: the schedule reads its reports back from the
    optimizer variables before the next report (its host copy is stale after a load)."""
    model, schedule = _plateau_model("optimizer")
    _plateau_fit(model, schedule, 5)
    full = [np.asarray(w) for w in model.get_weights()]

    model, schedule = _plateau_model("optimizer")
    _plateau_fit(model, schedule, 3)
    path = str(tmp_path / "three.weights.h5")
    model.save_weights(path)
    _plateau_fit(model, schedule, 4, initial_epoch=3)  # one epoch further: host reports now hold 4
    model.load_weights(path)
    assert int(model.optimizer.iterations) == 12 and float(model.optimizer.learning_rate) == np.float32(0.0025)
    assert schedule.reports_made("loss") == 3
    _plateau_fit(model, schedule, 5, initial_epoch=3)
    for a, b in zip(model.get_weights(), full):
        np.testing.assert_array_equal(np.asarray(a), b)


def test_plateau_schedule_belongs_to_one_optimizer():
    schedule = schedspec.to_keras(schedspec.loads(PLATEAU_RESUME))
    schedule.attach(keras.optimizers.SGD(learning_rate=schedule))
    with pytest.raises(ValueError, match="already attached to another optimizer"):
        schedule.attach(keras.optimizers.SGD(learning_rate=schedule))
    with pytest.raises(ValueError, match=r"PlateauCallback\(\): the model's optimizer has no schedspec schedule"):
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        schedspec.adapters.keras.PlateauCallback().set_model(model)


def test_keras_reduce_lr_on_plateau_example_is_complete():
    """issue 9 §3: examples/keras-reduce-lr-on-plateau.yaml failed in to_keras (no steps_per_epoch; an
    open-ended plateau needs max_reports). The example now gives both (390 steps per epoch, total 100 epochs:
    100 reports); the incomplete spec keeps its clear, positioned errors."""
    path = "examples/keras-reduce-lr-on-plateau.yaml"
    sched = schedspec.to_keras(path)
    assert sched.max_reports == 100 and sched.monitors == ["val_acc"] and sched._divisor == 390
    opt = schedspec.adapters.keras.optimizer(path, keras.optimizers.Adam)
    assert type(opt).__name__ == "PlateauAdam"
    text = Path(path).read_text()  # (tests run at the repository root)
    no_spe = text.replace("steps_per_epoch: 390\n", "")
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.to_keras(schedspec.loads(no_spe, "k.yaml"))
    assert str(err.value).startswith("k.yaml:19:11: `interval: epoch` counts epochs, but keras counts optimizer "
                                     "steps: add `steps_per_epoch`")  # fmt: skip
    open_ended = text.replace("total: 100\n", "")
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.to_keras(schedspec.loads(open_ended, "k.yaml"))
    assert str(err.value).startswith("k.yaml:22:3: lr: this `plateau` never ends")
    assert schedspec.to_keras(schedspec.loads(open_ended, "k.yaml"), max_reports=50).max_reports == 50
