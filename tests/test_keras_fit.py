"""Keras ``model.fit`` with validation (issue 12 §4): ``schedspec.adapters.keras.optimizer(spec, Adam)`` and the
plateau callback, reporting ``val_loss`` (from ``validation_data``) or ``loss`` at each epoch end, against Keras' own
``ReduceLROnPlateau`` callback run on the same model, data and seed, and against the lr the optimizer applied.

Keras' callback translates as keras(patience p, cooldown c, min_delta d) = plateau(patience p - 1, cooldown
max(c - 1, 0), threshold d, threshold_mode abs, eps 0) (README, "Metric-driven schedules"). With factor 0.5 every
lr is exact in float32 on both sides, so the two runs are the same computation: the same metrics, lrs and weights,
bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import schedspec  # noqa: E402
import schedspec.adapters.keras as sk  # noqa: E402

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import assert_f32, changes
except ImportError:
    from helpers import assert_f32, changes

EPOCHS, BATCH, N = 16, 8, 32  # 4 updates per epoch
KERAS_CB = {"factor": 0.5, "patience": 2, "cooldown": 2, "min_delta": 0.05, "min_lr": 0.003}


def plateau_spec(monitor: str, start: float = 0.05) -> dict:
    """KERAS_CB in schedspec's (torch's) terms."""
    return {"schedspec": 1, "interval": "epoch", "steps_per_epoch": N // BATCH, "total": EPOCHS,
            "lr": {"kind": "plateau", "start": start, "monitor": monitor, "factor": 0.5, "patience": 1, "cooldown": 1,
                   "threshold": 0.05, "threshold_mode": "abs", "min": 0.003, "eps": 0}}  # fmt: skip


def regression_data():
    rng = np.random.default_rng(0)
    w = np.array([[1.0], [-2.0], [0.5]], "float32")
    x, xv = rng.normal(size=(N, 3)).astype("float32"), rng.normal(size=(16, 3)).astype("float32")
    y = (x @ w + 0.3 * rng.normal(size=(N, 1))).astype("float32")
    yv = (xv @ w + 0.3 * rng.normal(size=(16, 1))).astype("float32")
    return x, y, xv, yv


class BatchLR(keras.callbacks.Callback):
    """``optimizer.learning_rate`` at the start of every batch: the lr that batch's update uses."""

    def __init__(self):
        super().__init__()
        self.lrs: list[float] = []

    def on_train_batch_begin(self, batch, logs=None):
        self.lrs.append(float(np.asarray(self.model.optimizer.learning_rate)))


def fit_adam(kind: str, monitor: str):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    rec = BatchLR()
    if kind == "schedspec":
        opt = sk.optimizer(plateau_spec(monitor), keras.optimizers.Adam)
        callbacks = [sk.PlateauCallback(), rec]
    else:
        opt = keras.optimizers.Adam(learning_rate=0.05)
        callbacks = [keras.callbacks.ReduceLROnPlateau(monitor=monitor, **KERAS_CB), rec]
    model.compile(optimizer=opt, loss="mse")
    x, y, xv, yv = regression_data()
    history = model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, validation_data=(xv, yv), shuffle=False, verbose=0,
                        callbacks=callbacks)  # fmt: skip
    return history.history, rec.lrs, [np.asarray(w) for w in model.get_weights()]


@pytest.mark.parametrize("monitor", ["val_loss", "loss"])
def test_adam_with_validation_matches_keras_reduce_lr_on_plateau(monitor):
    """adapters.keras.optimizer(spec, Adam) + PlateauCallback() in fit(validation_data=...) vs Adam +
    keras.callbacks.ReduceLROnPlateau: the same metrics every epoch, the same lr every update, the same weights;
    and the lrs are evaluate(spec, epoch, metrics=the logged metric)."""
    ours, lrs, weights = fit_adam("schedspec", monitor)
    theirs, native_lrs, native_weights = fit_adam("keras", monitor)
    assert ours[monitor] == theirs[monitor]
    assert lrs == native_lrs
    for a, b in zip(weights, native_weights):
        np.testing.assert_array_equal(a, b)
    epochs = np.arange(len(lrs)) // (N // BATCH)
    ref = schedspec.evaluate(plateau_spec(monitor), epochs, metrics={monitor: ours[monitor]})
    assert_f32(lrs, ref, f"lr vs evaluate with the logged {monitor}")
    assert len(changes(lrs)) >= 2  # it reduced (twice or more) within the run


def test_sgd_applied_lr_with_validation():
    """The lr the optimizer applied, per update, from the weight (loss = mean(prediction * y) with x = y = 1 in
    training: dL/dw = 1, so SGD moves w by -lr); the validation targets y = 0 make val_loss constant, so the
    plateau reduces after every patience + 1 epochs (cooldown included). Ours (adapters.keras.optimizer(spec, SGD))
    and Keras' ReduceLROnPlateau apply the same lrs, which are evaluate's."""

    def run(kind):
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
        if kind == "schedspec":
            opt, callbacks = sk.optimizer(plateau_spec("val_loss", 0.1), keras.optimizers.SGD), [sk.PlateauCallback()]
        else:
            opt = keras.optimizers.SGD(learning_rate=0.1)
            callbacks = [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", **KERAS_CB)]
        model.compile(optimizer=opt, loss=lambda y, p: keras.ops.mean(p * y))
        weights = []

        class Weights(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                weights.append(float(np.asarray(self.model.layers[0].kernel)[0, 0]))

        ones = np.ones((N, 1), "float32")
        history = model.fit(ones, ones, batch_size=BATCH, epochs=EPOCHS, validation_data=(ones[:4], 0 * ones[:4]),
                            shuffle=False, verbose=0, callbacks=[*callbacks, Weights()])  # fmt: skip
        return -np.diff(np.r_[0.0, weights]), history.history["val_loss"]

    applied, val = run("schedspec")
    native, native_val = run("keras")
    assert val == native_val == [0.0] * EPOCHS
    np.testing.assert_array_equal(applied, native)
    ref = schedspec.evaluate(plateau_spec("val_loss", 0.1), np.arange(len(applied)) // (N // BATCH),
                             metrics={"val_loss": val})  # fmt: skip
    assert_f32(applied, ref, "applied lr vs evaluate")
    assert len(changes(ref)) >= 3


def test_the_optimizers_lr_can_be_read_before_fit():
    """adapters.keras.optimizer(spec, Adam) with a plateau: optimizer.learning_rate used to raise ("attach it to
    its optimizer first") until fit attached the schedule, and its docstring pointed to a .callback() that the
    value Keras returns does not have. The schedule is now attached when the optimizer is built."""
    opt = sk.optimizer(plateau_spec("val_loss"), keras.optimizers.Adam)
    assert type(opt).__name__ == "PlateauAdam"
    assert float(np.asarray(opt.learning_rate)) == np.float32(0.05)
    assert [v.name for v in opt.variables][-3:] == ["schedspec_plateau_values", "schedspec_plateau_counts",
                                                   "schedspec_plateau_reports"]  # fmt: skip


def test_validation_every_second_epoch_with_a_plateau_every_two_epochs():
    """fit(validation_freq=2) logs val_loss at every second epoch; a plateau with every: 2 (epochs) takes one
    report there (the callback used to demand a report at every epoch end, so no clock but one epoch worked).
    Keras' ReduceLROnPlateau skips the epochs without val_loss, so its patience counts validations too: the same
    lrs and weights."""
    import warnings

    def run(kind):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        rec = BatchLR()
        if kind == "schedspec":
            spec = plateau_spec("val_loss")
            spec["lr"] = {**spec["lr"], "every": 2, "patience": 0, "cooldown": 0}
            opt, callbacks = sk.optimizer(spec, keras.optimizers.Adam), [sk.PlateauCallback(), rec]
        else:
            spec = None
            opt = keras.optimizers.Adam(learning_rate=0.05)
            callbacks = [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", **{**KERAS_CB, "patience": 1,
                                                                                 "cooldown": 1}), rec]  # fmt: skip
        model.compile(optimizer=opt, loss="mse")
        x, y, xv, yv = regression_data()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras' callback warns at each epoch without val_loss
            history = model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, validation_data=(xv, yv), validation_freq=2,
                                shuffle=False, verbose=0, callbacks=callbacks)  # fmt: skip
        return history.history["val_loss"], rec.lrs, model.get_weights(), spec

    val, lrs, weights, spec = run("schedspec")
    native_val, native_lrs, native_weights, _ = run("keras")
    assert val == native_val and len(val) == EPOCHS // 2
    assert lrs == native_lrs and len(changes(lrs)) >= 2
    for a, b in zip(weights, native_weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert_f32(lrs, schedspec.evaluate(spec, np.arange(len(lrs)) // (N // BATCH), metrics={"val_loss": val}))


@pytest.mark.parametrize("case", ["interval inside an epoch", "epochs of another length", "no validation"])
def test_misaligned_or_missing_reports_are_errors(case):
    spec = plateau_spec("val_loss")
    batch, fit_kw = BATCH, {"validation_data": None}
    if case == "interval inside an epoch":  # reports every 6 updates, fit's epochs have 4
        spec = {"schedspec": 1, "total": 64, "lr": {**spec["lr"], "every": 6}}
        match = r"report #0 of 'val_loss' is the metric at the end of interval 0 .*after update 5.*end after updates 3 and 7"
    elif case == "epochs of another length":  # the spec's epochs have 4 updates, fit's 3
        batch = 11
        match = r"epoch 0 of fit ended after 3 optimizer steps, which is not a whole number of the spec's epochs"
    else:
        match = r"monitors 'val_loss', which epoch 0 did not log \(logged: loss\); e.g. val_loss needs validation_data"
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=sk.optimizer(spec, keras.optimizers.SGD), loss="mse")
    x, y, xv, yv = regression_data()
    if case != "no validation":
        fit_kw = {"validation_data": (xv, yv)}
    with pytest.raises(ValueError, match=match):
        model.fit(x, y, batch_size=batch, epochs=3, shuffle=False, verbose=0, callbacks=[sk.PlateauCallback()],
                  **fit_kw)  # fmt: skip
