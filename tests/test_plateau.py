"""``plateau`` evaluated everywhere: evaluate (JAX float32/float64, numpy), to_jax, torch, Keras and Optax, against
the native ``ReduceLROnPlateau`` of torch and Keras, optax's ``reduce_on_plateau``, and the lr a real optimizer
applied; composition (warmup -> plateau -> cooldown from whatever the plateau reached); resume; errors.

Tolerances (docs/language.md, Parity): float64 ``1e-12*peak + 1e-10*|b|``; float32 ``1e-6*peak + 1e-5*|b|``; reductions (the
k where the value changes) must be identical. Synthetic metrics keep a margin >= 1e-5 from every threshold, so
float32 comparisons (Keras, optax, JAX float32) decide as torch's float64 ones do.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import schedspec  # noqa: E402

torch = pytest.importorskip("torch")
lr_scheduler = torch.optim.lr_scheduler
try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import (
        CONFIGS,
        NAN,
        SEQUENCES,
        assert_f32,
        assert_f64,
        changes,
        changes_rel,
        native_torch,
        plateau_spec,
    )
except ImportError:
    from helpers import (
        CONFIGS,
        NAN,
        SEQUENCES,
        assert_f32,
        assert_f64,
        changes,
        changes_rel,
        native_torch,
        plateau_spec,
    )


# ------------------------------------------------------------------------------------------------ evaluate
@pytest.mark.parametrize("seq", sorted(SEQUENCES))
@pytest.mark.parametrize("cfg", sorted(CONFIGS))
def test_evaluate_matches_native_torch(seq, cfg):
    metrics = SEQUENCES[seq]
    ref = native_torch(metrics, CONFIGS[cfg])
    spec = schedspec.load(plateau_spec(CONFIGS[cfg]))
    k = np.arange(len(metrics))
    m = {"val_loss": metrics}
    f64 = schedspec.evaluate(spec, k, metrics=m, dtype="float64")
    np.testing.assert_array_equal(f64, ref)  # same float64 operations, in the same order: identical
    f32 = schedspec.evaluate(spec, k, metrics=m)
    assert_f32(f32, ref, "float32")
    assert changes_rel(f32) == changes(ref)
    npy = schedspec.evaluator.evaluate_numpy(spec, k, metrics=m)
    np.testing.assert_array_equal(npy, ref)


def test_every_and_reduction_from_the_next_interval():
    """Step interval, one report per `every` = 4 steps: a reduction decided at report j applies from k = 4(j+1)."""
    spec = schedspec.load({"schedspec": 1, "lr": {"kind": "plateau", "start": 1.0, "monitor": "val_loss",
                                                  "patience": 0, "factor": 0.5, "every": 4}})  # fmt: skip
    metrics = [1.0, 2.0, 0.5, 0.5]
    v = schedspec.evaluate(spec, np.arange(16), metrics={"val_loss": metrics}, dtype="float64")
    ref = native_torch(metrics, dict(patience=0, factor=0.5), start=1.0)
    np.testing.assert_array_equal(v, np.repeat(ref, 4))
    assert changes(v) == [8]  # report 1 (bad) reduces from k = 8; report 3 (bad) would from k = 16


def test_warmup_plateau_cooldown_composes():
    """[linear warmup 5 ep, plateau (patience 3, factor 0.5, min 1e-5) for 15 ep, cosine cooldown 10 ep from
    whatever the plateau reached]: each piece against its native torch scheduler."""
    spe = 10
    spec = schedspec.loads(COMPOSED)
    metrics = list(np.r_[np.linspace(2.0, 1.0, 8), [1.0, 1.0, 0.999, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
                         np.full(10, 0.5)])  # fmt: skip
    k = np.arange(300 + 1)
    v = schedspec.evaluate(spec, k, metrics={"val_loss": metrics}, dtype="float64")
    # warmup: LinearLR from 0 to 0.1 (lr = 0.1, start_factor tiny) is 0 + 0.1 k / 50
    assert_f64(v[:50], 0.1 * np.arange(50) / 50, "warmup")
    # plateau: native ReduceLROnPlateau fed the reports made while it is active (reports 5..19), one per epoch
    plat = native_torch(metrics[5:20], dict(patience=3, factor=0.5, min_lr=1e-5))
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    red = lr_scheduler.ReduceLROnPlateau(opt, patience=3, factor=0.5, min_lr=1e-5)
    for m in metrics[5:20]:
        red.step(m)
    final = opt.param_groups[0]["lr"]
    np.testing.assert_array_equal(v[50:200], np.repeat(plat, spe))
    # cooldown: CosineAnnealingLR(T_max=100) from the plateau's final value
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=final)
    cos = lr_scheduler.CosineAnnealingLR(opt, T_max=100, eta_min=0.0)
    ref = []
    for _ in range(101):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        cos.step()
    assert_f64(v[200:], ref, "cooldown")
    assert final < 0.1 and v[200] == final


COMPOSED = """\
schedspec: 1
steps_per_epoch: 10
total: 30ep
lr:
  - {kind: linear, duration: 5ep, start: 0.0, end: 0.1}
  - {kind: plateau, duration: 15ep, monitor: val_loss, patience: 3, factor: 0.5, min: 1.0e-5}
  - {kind: cosine, end: 0.0}
"""


def test_to_jax_jit_vmap_grad():
    import jax
    import jax.numpy as jnp

    spec = schedspec.load({"schedspec": 1, "interval": "epoch", "vars": {"s": 0.1},
                           "lr": {"kind": "plateau", "start": "$s", "monitor": "val_loss", "patience": 0,
                                  "factor": 0.5}})  # fmt: skip
    fn = schedspec.to_jax(spec)
    flat = jnp.ones(6)
    assert float(fn(5, metrics={"val_loss": flat})) == pytest.approx(0.1 * 0.5**4)
    jitted = jax.jit(lambda k, m: fn(k, metrics={"val_loss": m}))
    np.testing.assert_allclose(
        jitted(jnp.arange(6), flat), [0.1, 0.1, 0.05, 0.025, 0.0125, 0.00625], rtol=1e-6
    )
    # vmap over metric sequences: improving never reduces, flat does
    batch = jnp.stack([flat, jnp.linspace(1.0, 0.5, 6)])
    out = jax.vmap(lambda m: fn(5, metrics={"val_loss": m}))(batch)
    np.testing.assert_allclose(out, [0.1 * 0.5**4, 0.1], rtol=1e-6)
    # d value / d start = factor ** reductions
    g = jax.grad(lambda s: fn(5, metrics={"val_loss": flat}, s=s))(0.1)
    assert float(g) == pytest.approx(0.5**4)
    # under jit, a value that needs a report not given is NaN (never a guess)
    assert math.isnan(float(jitted(5, flat[:3])))
    assert not math.isnan(float(jitted(3, flat[:3])))


def test_sweep_shares_the_metrics():
    spec = schedspec.load({"schedspec": 1, "interval": "epoch", "vars": {"f": [0.5, 0.1]},
                           "lr": {"kind": "plateau", "start": 1.0, "monitor": "val_loss", "patience": 0,
                                  "factor": "$f"}})  # fmt: skip
    v = schedspec.evaluate(spec, [0, 1, 2, 3], metrics={"val_loss": [1.0, 1.0, 1.0]}, dtype="float64")
    np.testing.assert_allclose(v, [[1, 1, 0.5, 0.25], [1, 1, 0.1, 0.01]], rtol=1e-15)


# ------------------------------------------------------------------------------------------------ torch
def run_torch(spec, metrics, start=0.1, steps_per_report=1):
    """Applied lr per update (measured through real SGD updates: loss = p.sum(), so dp = -lr)."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=start)
    sched = schedspec.to_torch(spec, opt)
    applied = []
    for m in metrics:
        for _ in range(steps_per_report):
            before = p.detach().clone()
            opt.zero_grad()
            p.sum().backward()
            opt.step()
            applied.append(float(before - p.detach()))
            sched.step()
        sched.report("val_loss", m)
    return np.asarray(applied), sched, opt


@pytest.mark.parametrize("seq", ["noisy", "nan", "negative_rel"])
@pytest.mark.parametrize("cfg", ["default", "cooldown", "max_abs", "min_lr"])
def test_torch_adapter_matches_native_exactly(seq, cfg):
    metrics = SEQUENCES[seq]
    spec = plateau_spec(CONFIGS[cfg])
    # the documented drop-in loop: scheduler.step(metrics=v) at the end of each epoch
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=0.1)
    sched = schedspec.to_torch(spec, opt)
    lrs = []
    for m in metrics:
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(metrics=m)
    assert lrs == native_torch(metrics, CONFIGS[cfg])
    applied, _, _ = run_torch(spec, metrics)
    assert_f64(applied, native_torch(metrics, CONFIGS[cfg]), "applied lr")


def test_torch_composed_per_step_and_resume_mid_plateau():
    spec = schedspec.loads(COMPOSED)
    metrics = list(np.r_[np.linspace(2.0, 1.0, 8), np.ones(22)])
    ref = schedspec.evaluate(spec, np.arange(300), metrics={"val_loss": metrics}, dtype="float64")
    applied, _, _ = run_torch(spec, metrics, steps_per_report=10)
    assert_f64(applied, ref, "applied lr")
    assert changes_rel(applied, 1e-9) == changes_rel(ref, 1e-9)
    # resume at epoch 12 (mid-plateau): a new scheduler + load_state_dict continues exactly
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = schedspec.to_torch(spec, opt)
    lrs = []
    for e in range(12):
        for _ in range(10):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        sched.report("val_loss", metrics[e])
    state = {"opt": opt.state_dict(), "sched": sched.state_dict()}
    opt2 = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=0.1)
    sched2 = schedspec.to_torch(spec, opt2)
    opt2.load_state_dict(state["opt"])
    sched2.load_state_dict(state["sched"])
    for e in range(12, 30):
        for _ in range(10):
            lrs.append(opt2.param_groups[0]["lr"])
            opt2.step()
            sched2.step()
        sched2.report("val_loss", metrics[e])
    continuous = []
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=0.1)
    sched = schedspec.to_torch(spec, opt)
    for e in range(30):
        for _ in range(10):
            continuous.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        sched.report("val_loss", metrics[e])
    assert lrs == continuous  # resume == continuous, bit for bit


def test_torch_missing_report_refuses_the_update():
    spec = schedspec.loads(COMPOSED, "composed.yaml")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = schedspec.to_torch(spec, opt)
    for e in range(6):
        for _ in range(10):
            opt.step()
            sched.step()
        if e < 5:
            sched.report("val_loss", 1.0)
    with pytest.raises(
        RuntimeError, match=r"update 60 .* after 6 reports of 'val_loss'.*5 were given.*scheduler.report"
    ):
        opt.step()
    sched.report("val_loss", 1.0)  # the late report writes the lr; the update may now run
    opt.step()
    with pytest.raises(ValueError, match=r"report #7 of 'val_loss'.*interval 7.*at update 60 \(interval 6\)"):
        sched.report("val_loss", 1.0)
        sched.report("val_loss", 1.0)
    with pytest.raises(ValueError, match=r"monitors 'val_los'; did you mean 'val_loss'"):
        sched.report("val_los", 1.0)
    # torch's deprecated explicit epoch cannot move a schedule driven by reports (a positional argument is the
    # metric report, as in ReduceLROnPlateau.step(v): tests/test_torch_groups_resume.py)
    with pytest.raises(ValueError, match=r"step\(metrics=value\).*cannot move a schedule driven by reports"):
        sched.step(epoch=5)


# ------------------------------------------------------------------------------------------------ optax
def test_optax_inject_matches_torch_and_native_reduce_on_plateau():
    optax = pytest.importorskip("optax")
    import jax
    import jax.numpy as jnp

    import schedspec.adapters.optax as so

    metrics = SEQUENCES["noisy"]
    cfg = dict(patience=2, factor=0.5, cooldown=1, threshold=0.01, threshold_mode="abs")
    spec = {**plateau_spec(cfg), "steps_per_epoch": 1}  # optax counts updates: one update per epoch here
    tx = so.inject(spec, optax.sgd, max_reports=len(metrics))
    params = {"w": jnp.zeros(())}
    state = tx.init(params)
    update, report = jax.jit(tx.update), jax.jit(so.report, static_argnums=1)
    used = []
    for m in metrics:
        _, state = update({"w": jnp.ones(())}, state, params)
        used.append(float(state.hyperparams["learning_rate"]))
        state = report(state, "val_loss", m)
    ref = native_torch(metrics, cfg)
    assert_f32(used, ref, "optax inject vs torch")
    assert changes_rel(used) == changes(ref)
    # optax's own reduce_on_plateau(patience P+1, cooldown C, atol, rtol 0) applies the new scale to the update
    # that gave the value: its scale after report j is our value for epoch j + 1 (Keras ReduceLROnPlateau reduces at the end of an epoch)
    rop = optax.contrib.reduce_on_plateau(patience=3, cooldown=1, factor=0.5, atol=0.01, rtol=0.0)
    rstate = rop.init(params)
    scales = []
    for m in metrics:
        _, rstate = rop.update({"w": jnp.ones(())}, rstate, params, value=m)
        scales.append(0.1 * float(rstate.scale))
    assert_f32(used[1:], scales[:-1], "vs optax reduce_on_plateau, shifted by one")


def test_optax_composed_per_step_and_missing_report_is_nan():
    optax = pytest.importorskip("optax")
    import jax
    import jax.numpy as jnp

    import schedspec.adapters.optax as so

    spec = schedspec.loads(COMPOSED)
    metrics = list(np.r_[np.linspace(2.0, 1.0, 8), np.ones(22)])
    tx = optax.chain(optax.clip(1e9), so.inject(spec, optax.sgd))  # the state may sit inside a chain
    params = {"w": jnp.zeros(())}
    state = tx.init(params)
    update, report = jax.jit(tx.update), jax.jit(so.report, static_argnums=1)
    applied = []
    for e in range(30):
        for _ in range(10):
            u, state = update({"w": jnp.ones(())}, state, params)
            applied.append(-float(u["w"]))
        state = report(state, "val_loss", metrics[e])
    ref = schedspec.evaluate(spec, np.arange(300), metrics={"val_loss": metrics}, dtype="float64")
    assert_f32(applied, ref, "optax applied lr")
    assert changes_rel(applied) == changes_rel(ref)
    state = tx.init(params)
    for _ in range(60):  # updates 0..59 need no report (the plateau's first epoch, 50..59, uses its start)
        u, state = update({"w": jnp.ones(())}, state, params)
    assert float(u["w"]) == pytest.approx(-0.1)
    u, state = update({"w": jnp.ones(())}, state, params)
    assert math.isnan(
        float(u["w"])
    )  # update 60 needs reports 5.. (made at the end of epoch 5): none was made
    with pytest.raises(ValueError, match="monitors 'val_acc'"):
        so.report(state, "val_acc", 1.0)
    with pytest.raises(schedspec.SpecError, match=r"to_optax.*inject"):
        so.to_optax(spec)


# ------------------------------------------------------------------------------------------------ keras
def keras_fit(optimizer, callbacks, metrics, steps=1):
    keras = pytest.importorskip("keras")
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=optimizer, loss=lambda y, p: keras.ops.mean(p))
    weights = []

    class Inject(keras.callbacks.Callback):  # writes the synthetic metric into the epoch's logs
        def on_epoch_begin(self, epoch, logs=None):  # (the JAX trainer syncs variables at epoch ends only)
            weights.append(float(model.layers[0].kernel.numpy()[0, 0]))

        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = metrics[epoch]

    x = np.ones((steps, 1), "float32")
    model.fit(
        x, x, batch_size=1, epochs=len(metrics), verbose=0, shuffle=False, callbacks=[Inject(), *callbacks]
    )
    weights.append(float(model.layers[0].kernel.numpy()[0, 0]))
    return -np.diff(weights)  # loss = w: each update applies dw = -lr; per epoch, the sum of its updates' lrs


def test_keras_callback_matches_native_reduce_lr_on_plateau():
    keras = pytest.importorskip("keras")
    metrics = [1.0, 0.9, 0.9, 0.9, 0.9, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, NAN, 0.7, 0.7, 0.7, 0.7, 0.7]
    native = keras_fit(keras.optimizers.SGD(learning_rate=0.1), [keras.callbacks.ReduceLROnPlateau(
        monitor="val_loss", mode="min", factor=0.5, patience=3, cooldown=2, min_delta=1e-4, min_lr=0.01)], metrics)  # fmt: skip
    # keras(p, c) == torch(p - 1, max(c - 1, 0)); min_delta is absolute (Keras ReduceLROnPlateau)
    spec = {"schedspec": 1, "interval": "epoch", "steps_per_epoch": 1,
            "lr": {"kind": "plateau", "start": 0.1, "monitor": "val_loss", "patience": 2, "cooldown": 1,
                   "factor": 0.5, "threshold": 1e-4, "threshold_mode": "abs", "min": 0.01}}  # fmt: skip
    schedule = schedspec.to_keras(spec, max_reports=len(metrics))
    ours = keras_fit(keras.optimizers.SGD(learning_rate=schedule), [schedule.callback()], metrics)
    assert_f32(ours, native, "applied lr vs keras ReduceLROnPlateau")
    assert changes_rel(ours) == changes_rel(native)
    ref = schedspec.evaluate(spec, np.arange(len(metrics)), metrics={"val_loss": metrics})
    assert_f32(ours, ref, "applied lr vs evaluate")


def test_keras_composed_per_step_and_errors():
    keras = pytest.importorskip("keras")
    spec = schedspec.loads(
        "schedspec: 1\nsteps_per_epoch: 2\ntotal: 12ep\nlr:\n"
        "  - {kind: linear, duration: 2ep, start: 0.0, end: 0.1}\n"
        "  - {kind: plateau, duration: 6ep, monitor: val_loss, patience: 1, factor: 0.5}\n"
        "  - {kind: cosine, end: 0.0}\n"
    )
    metrics = [3.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    schedule = schedspec.to_keras(spec)
    applied = keras_fit(keras.optimizers.SGD(learning_rate=schedule), [schedule.callback()], metrics, steps=2)
    ref = schedspec.evaluate(spec, np.arange(24), metrics={"val_loss": metrics}, dtype="float64")
    assert_f32(applied, ref.reshape(12, 2).sum(axis=1), "keras applied lr (per epoch of 2 updates)")
    # a fit epoch that does not end where the spec's report clock does is an error, not a silent shift
    schedule = schedspec.to_keras(spec)
    with pytest.raises(ValueError, match=r"report #0 of 'val_loss'.*after update 1.*fit's epochs end after updates 2 and 5"):
        keras_fit(keras.optimizers.SGD(learning_rate=schedule), [schedule.callback()], metrics, steps=3)


# ------------------------------------------------------------------------------------------------ errors
def test_errors_name_what_is_missing_and_where():
    spec = schedspec.loads(COMPOSED, "run.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.evaluate(spec, np.arange(300))
    assert str(err.value).startswith("run.yaml:6:5: lr[1]: this `plateau` monitors 'val_loss'")
    assert "needs 20 reports" in str(err.value) and "metrics={'val_loss': [...]}" in str(err.value)
    with pytest.raises(schedspec.SpecError, match=r"metrics\['val_loss'\] has 7 reports, but evaluating k up to 299 "
                                                  r"needs 20 .*consumes reports from #5"):  # fmt: skip
        schedspec.evaluate(spec, np.arange(300), metrics={"val_loss": [1.0] * 7})
    with pytest.raises(
        schedspec.SpecError, match=r"no `plateau` of this spec monitors 'val_los'; did you mean 'val_loss'"
    ):
        schedspec.evaluate(spec, [0], metrics={"val_los": [1.0]})
    with pytest.raises(schedspec.SpecError, match="this spec has no `plateau`"):
        schedspec.evaluate({"schedspec": 1, "lr": 0.1}, [0], metrics={"val_loss": [1.0]})
    with pytest.raises(schedspec.SpecError, match="1-D list of numbers"):
        schedspec.evaluate(spec, [0], metrics={"val_loss": 1.0})
    # before the plateau needs a report, no metrics are needed (nothing is guessed: the warmup is known)
    np.testing.assert_allclose(schedspec.evaluate(spec, np.arange(51), dtype="float64")[-1], 0.1)
    with pytest.raises(schedspec.SpecError, match=r"needs 20 reports"):
        schedspec.to_jax(spec)(299)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "lr: {kind: repeat, times: 2, of: {kind: plateau, start: 0.1, monitor: l, duration: 4, every: 1}}\n",
            "2:34",
            "cannot be inside a `repeat`",
        ),
        (
            "lr:\n  - {kind: plateau, start: 0.1, monitor: l, duration: 4, every: 1}\n"
            "  - {kind: plateau, monitor: l, every: 2}\n",
            "4:5",
            "reports 'l' every 2 steps, but the plateau at lr[0]",
        ),
    ],
)
def test_lowering_errors(text, where, message):
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.loads("schedspec: 1\n" + text, "p.yaml")
    assert f"p.yaml:{where}:" in str(err.value) and message in str(err.value)


def test_check_works_without_metrics(tmp_path, capsys):
    from schedspec.cli import main

    path = tmp_path / "p.yaml"
    path.write_text(COMPOSED)
    assert main(["check", "--strict", str(path)]) == 0
    out = capsys.readouterr().out
    assert "plateau" in out and "values depend on the metric reports of val_loss" in out
