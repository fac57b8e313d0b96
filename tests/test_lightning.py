"""schedspec.adapters.lightning in a real ``lightning.Trainer.fit`` on CPU: the lrs ``LearningRateMonitor`` logs and
the lrs the optimizer applied equal ``schedspec.evaluate``; a plateau is fed by Lightning with no overridden hook
and equals Lightning's native ``ReduceLROnPlateau`` run side by side on the same metrics (sanity-check validation
logs a poisoned value that must never become a report); ``fit(ckpt_path=...)`` resumes exactly; a spec that cannot
match the loop is refused."""

from __future__ import annotations

import numpy as np
import pytest

import schedspec

pytest.importorskip("lightning")
torch = pytest.importorskip("torch")

from lightning.pytorch.callbacks import ModelCheckpoint  # noqa: E402

from schedspec.adapters.lightning import LightningPlateauLR, scheduler_config  # noqa: E402

try:
    from .helpers import CONFIGS, spec_params
    from .loops import assert_lrs, lightning_fit, lightning_module, read_csv_column
except ImportError:
    from helpers import CONFIGS, spec_params
    from loops import assert_lrs, lightning_fit, lightning_module, read_csv_column

WARMUP_COSINE = """\
schedspec: 1
steps_per_epoch: 4
lr:
  - {kind: linear, duration: 3, start: 0.0, end: 0.1}
  - {kind: cosine, duration: 9, end: 0.0}
"""
EPOCH_STEP = """\
schedspec: 1
interval: epoch
lr: {kind: step, start: 0.1, every: 1, gamma: 0.5}
"""
VAL = [1.0, 0.9, 0.95, 0.97, 0.85, 0.86, 0.87, 0.88, 0.8, 0.81]


def expected(spec, n, **kw):
    return schedspec.evaluate(spec, np.arange(n), dtype="float64", **kw).tolist()


# ------------------------------------------------------------------------------------------ plain schedules
def test_step_spec_lr_monitor_and_applied_lr_equal_evaluate(tmp_path):
    spec = schedspec.loads(WARMUP_COSINE)
    module, _, log = lightning_fit(tmp_path, lightning_module(lambda m, opt: scheduler_config(spec, opt)), 3, 4)
    ref = expected(spec, 12)
    assert_lrs(module.applied, ref, "applied")
    logged = read_csv_column(log, "lr-SGD")
    assert sorted(logged) == list(range(12))  # one entry per update, at the update's own step
    assert_lrs([logged[k] for k in range(12)], ref, "LearningRateMonitor")


def test_epoch_spec_steps_once_per_epoch(tmp_path):
    spec = schedspec.loads(EPOCH_STEP)
    config = {}

    def configure(m, opt):
        config.update(scheduler_config(spec, opt))
        return config

    module, _, log = lightning_fit(tmp_path, lightning_module(configure), 4, 3)
    assert config["interval"] == "epoch" and config["frequency"] == 1
    per_epoch = expected(spec, 4)
    assert_lrs(module.applied, [v for v in per_epoch for _ in range(3)], "applied")
    logged = read_csv_column(log, "lr-SGD")  # interval epoch: LearningRateMonitor logs at each epoch's first step
    assert sorted(logged) == [0, 3, 6, 9]
    assert_lrs([logged[3 * e] for e in range(4)], per_epoch, "LearningRateMonitor")


# ------------------------------------------------------------------------------------------------- plateau
def native_plateau(cfg):
    def configure(m, opt):
        return {"scheduler": torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **cfg), "monitor": "val_loss",
                "interval": "epoch"}  # fmt: skip

    return configure


@pytest.mark.parametrize("cfg", ["patience0", "cooldown", "abs"])
@pytest.mark.parametrize("interval", ["epoch", "step"])
def test_plateau_equals_native_reduce_lr_on_plateau(tmp_path, cfg, interval):
    params = spec_params(CONFIGS[cfg])
    if interval == "epoch":
        doc = {"schedspec": 1, "interval": "epoch", "lr": {"kind": "plateau", "start": 0.1, "monitor": "val_loss", **params}}
    else:
        doc = {"schedspec": 1, "steps_per_epoch": 3, "lr": {"kind": "plateau", "start": 0.1, "monitor": "val_loss", **params}}
    spec = schedspec.load(doc)
    epochs = len(VAL)
    ours, _, log = lightning_fit(tmp_path / "ours", lightning_module(lambda m, o: scheduler_config(spec, o), VAL), epochs, 3,
                                 lr_monitor="step")  # fmt: skip
    native, _, _ = lightning_fit(tmp_path / "native", lightning_module(native_plateau(CONFIGS[cfg]), VAL), epochs, 3)
    assert_lrs(ours.applied, native.applied, f"{cfg} {interval}")
    assert len(set(native.applied)) > 1, "the metrics must make the native scheduler reduce"
    logged = read_csv_column(log, "lr-SGD")
    assert_lrs([logged[k] for k in range(3 * epochs)], native.applied, "LearningRateMonitor")


def test_plateau_after_warmup_reports_at_epoch_ends(tmp_path):
    spec = schedspec.loads("""\
schedspec: 1
steps_per_epoch: 3
lr:
  - {kind: linear, duration: 1ep, start: 0.0, end: 0.1}
  - {kind: plateau, monitor: val_loss, patience: 0, factor: 0.5, every: 2ep}
""")
    config = {}

    def configure(m, opt):
        config.update(scheduler_config(spec, opt))
        return config

    module, _, _ = lightning_fit(tmp_path, lightning_module(configure, VAL), 8, 3)
    assert isinstance(config["scheduler"], LightningPlateauLR)
    assert config["reduce_on_plateau"] and config["monitor"] == "val_loss" and config["interval"] == "epoch"
    reports = VAL[1:8:2]  # every 2 epochs: the metric of epochs 1, 3, 5, 7
    assert_lrs(module.applied, expected(spec, 24, metrics={"val_loss": reports}))
    assert config["scheduler"].scheduler.state_dict()["schedspec_reports"] == {"val_loss": reports}


def test_sanity_check_is_never_a_report(tmp_path):
    spec = schedspec.load({"schedspec": 1, "interval": "epoch",
                           "lr": {"kind": "plateau", "start": 0.1, "monitor": "val_loss", "patience": 0}})  # fmt: skip
    config = {}

    def configure(m, opt):
        config.update(scheduler_config(spec, opt))
        return config

    seq = [1.0, 0.5, 0.25, 0.125]  # always improving: no reduction, unless the sanity check's 0.0 were report 0
    module, _, _ = lightning_fit(tmp_path, lightning_module(configure, seq), 4, 2)
    assert module.applied == [0.1] * 8
    assert config["scheduler"].scheduler.state_dict()["schedspec_reports"] == {"val_loss": seq}


# -------------------------------------------------------------------------------------------------- resume
def _checkpoints(tmp, **kw):
    return ModelCheckpoint(dirpath=str(tmp / "ckpt"), save_top_k=-1, filename="{epoch}-{step}", **kw)


def test_resume_from_epoch_end_checkpoint_is_exact(tmp_path):
    spec = schedspec.loads(WARMUP_COSINE)
    cls = lightning_module(lambda m, opt: scheduler_config(spec, opt))
    full, _, _ = lightning_fit(tmp_path / "a", cls, 3, 4, callbacks=[_checkpoints(tmp_path / "a", every_n_epochs=1)])
    ckpt = tmp_path / "a" / "ckpt" / "epoch=0-step=4.ckpt"
    resumed, _, log = lightning_fit(tmp_path / "b", cls, 3, 4, ckpt_path=str(ckpt))
    assert resumed.applied == full.applied[4:]  # bit for bit
    logged = read_csv_column(log, "lr-SGD")
    assert sorted(logged) == list(range(4, 12))


def test_resume_epoch_spec_from_mid_epoch_checkpoint_is_exact(tmp_path):
    spec = schedspec.loads(EPOCH_STEP)
    cls = lightning_module(lambda m, opt: scheduler_config(spec, opt))
    full, _, _ = lightning_fit(tmp_path / "a", cls, 3, 4, callbacks=[_checkpoints(tmp_path / "a", every_n_train_steps=5)])
    resumed, _, _ = lightning_fit(tmp_path / "b", cls, 3, 4, ckpt_path=str(tmp_path / "a" / "ckpt" / "epoch=1-step=5.ckpt"))
    assert resumed.applied == full.applied[5:]


@pytest.mark.parametrize("interval", ["epoch", "step"])
def test_plateau_resume_is_refused_where_lightning_loses_a_report(tmp_path, interval):
    top = {"interval": "epoch"} if interval == "epoch" else {"steps_per_epoch": 4}
    plateau = {"kind": "plateau", "start": 0.1, "monitor": "val_loss", "patience": 0, "factor": 0.5}
    spec = schedspec.load({"schedspec": 1, **top, "lr": plateau})
    cls = lightning_module(lambda m, opt: scheduler_config(spec, opt), VAL)
    cbs = [_checkpoints(tmp_path / "m", every_n_train_steps=6), _checkpoints(tmp_path / "e", every_n_epochs=1)]
    lightning_fit(tmp_path / "a", cls, 5, 4, callbacks=cbs)
    mid, end = tmp_path / "m" / "ckpt" / "epoch=1-step=6.ckpt", tmp_path / "e" / "ckpt" / "epoch=2-step=12.ckpt"
    with pytest.raises(ValueError, match="2 updates into training epoch 1.*one epoch late"):
        lightning_fit(tmp_path / "b", cls, 5, 4, ckpt_path=str(mid))
    with pytest.raises(ValueError, match="4 updates into training epoch 2.*one epoch late"):
        lightning_fit(tmp_path / "c", cls, 5, 4, ckpt_path=str(end))


def test_lightning_itself_loses_the_report_of_a_resumed_epoch(tmp_path):
    """Why the resume above is refused: Lightning's own ReduceLROnPlateau, resumed, drifts from the full run."""
    native = lightning_module(native_plateau(CONFIGS["patience0"]), VAL)
    full, _, _ = lightning_fit(tmp_path / "a", native, 5, 4, callbacks=[_checkpoints(tmp_path / "a", every_n_train_steps=6)])
    resumed, _, _ = lightning_fit(tmp_path / "b", native, 5, 4, ckpt_path=str(tmp_path / "a" / "ckpt" / "epoch=1-step=6.ckpt"))
    assert resumed.applied != full.applied[6:]


# ------------------------------------------------------------------------------------ plateau with module=self
def _plateau_spec(interval, **params):
    top = {"interval": "epoch"} if interval == "epoch" else {"steps_per_epoch": 4}
    return schedspec.load({"schedspec": 1, **top, "lr": {"kind": "plateau", "start": 0.1, "monitor": "val_loss",
                                                       **params}})  # fmt: skip


@pytest.mark.parametrize("interval", ["epoch", "step"])
def test_module_plateau_equals_native_and_keeps_the_spec_interval(tmp_path, interval):
    spec = _plateau_spec(interval, **spec_params(CONFIGS["cooldown"]))
    config = {}

    def configure(m, opt):
        config.update(scheduler_config(spec, opt, module=m))
        return config

    ours, trainer, log = lightning_fit(tmp_path / "ours", lightning_module(configure, VAL), len(VAL), 4)
    native, _, _ = lightning_fit(tmp_path / "native", lightning_module(native_plateau(CONFIGS["cooldown"]), VAL),
                                 len(VAL), 4)  # fmt: skip
    assert_lrs(ours.applied, native.applied, interval)
    assert len(set(native.applied)) > 2
    assert config["interval"] == interval and not config.get("reduce_on_plateau") and "monitor" not in config
    assert type(trainer.callbacks[0]).__name__ == "PlateauReports"  # first: before ModelCheckpoint
    assert config["scheduler"].state_dict()["schedspec_reports"] == {"val_loss": VAL}  # the sanity check's 0.0: no
    if interval == "step":  # Lightning steps it per update: LearningRateMonitor() logs every update by default
        logged = read_csv_column(log, "lr-SGD")
        assert_lrs([logged[k] for k in range(4 * len(VAL))], native.applied, "LearningRateMonitor")


@pytest.mark.parametrize("interval", ["epoch", "step"])
def test_module_plateau_resumes_exactly_from_any_checkpoint(tmp_path, interval):
    spec = _plateau_spec(interval, patience=0, factor=0.5)
    cls = lightning_module(lambda m, opt: scheduler_config(spec, opt, module=m), VAL)
    cbs = [_checkpoints(tmp_path / "m", every_n_train_steps=6), _checkpoints(tmp_path / "e", every_n_epochs=1)]
    full, _, _ = lightning_fit(tmp_path / "a", cls, 6, 4, callbacks=cbs)
    assert len(set(full.applied)) > 2
    for ckpt, done in [(tmp_path / "m" / "ckpt" / "epoch=1-step=6.ckpt", 6),
                       (tmp_path / "e" / "ckpt" / "epoch=2-step=12.ckpt", 12)]:  # fmt: skip
        resumed, _, _ = lightning_fit(tmp_path / f"r{done}", cls, 6, 4, ckpt_path=str(ckpt))
        assert resumed.applied == full.applied[done:], ckpt.name


def test_module_plateau_reports_at_any_validation_clock(tmp_path):
    """every: 6 updates with 4-update epochs: reports come from validations every 6 updates (val_check_interval)."""
    spec = schedspec.load({"schedspec": 1, "lr": {"kind": "plateau", "start": 0.1, "monitor": "val_loss",
                                                  "patience": 0, "every": 6}})  # fmt: skip
    cls = lightning_module(lambda m, opt: scheduler_config(spec, opt, module=m), VAL)
    module, _, _ = lightning_fit(tmp_path, cls, 4, 4, val_check_interval=6, check_val_every_n_epoch=None)
    reports = [VAL[1], VAL[2]]  # after update 6 (epoch 1) and update 12 (the end of epoch 2)
    assert_lrs(module.applied, expected(spec, 16, metrics={"val_loss": reports}))
    assert len(set(module.applied)) == 2


def test_module_plateau_without_validation_is_refused(tmp_path):
    spec = _plateau_spec("step", patience=0)
    cls = lightning_module(lambda m, opt: scheduler_config(spec, opt, module=m), VAL)
    with pytest.raises(ValueError, match=r"update 4 .* report 0 of 'val_loss'.*no validation ran since"):
        lightning_fit(tmp_path, cls, 2, 4, val=False)


# -------------------------------------------------------------------------------------------------- refusals
def _opt():
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)


def test_interval_that_contradicts_the_spec_is_refused():
    spec = schedspec.loads(EPOCH_STEP, file="run.yaml")
    with pytest.raises(schedspec.SpecError, match=r"run.yaml:2:1: .*interval='step'.*counts epochs.*once per batch"):
        scheduler_config(spec, _opt(), interval="step")
    assert scheduler_config(spec, _opt(), interval="epoch")["interval"] == "epoch"
    with pytest.raises(ValueError, match="frequency 1"):
        scheduler_config(spec, _opt(), frequency=2)


def test_plateau_that_cannot_match_lightning_is_refused():
    def doc(top, **plateau):
        return schedspec.load({"schedspec": 1, **top, "lr": {"kind": "plateau", "start": 0.1, "monitor": "val_loss",
                                                           **plateau}})  # fmt: skip

    with pytest.raises(schedspec.SpecError, match="add `steps_per_epoch`"):
        scheduler_config(doc({}, every=10), _opt())
    with pytest.raises(schedspec.SpecError, match="not a whole number of epochs"):
        scheduler_config(doc({"steps_per_epoch": 4}, every=6), _opt())
    two = schedspec.load({"schedspec": 1, "interval": "epoch", "lr": [
        {"kind": "plateau", "start": 0.1, "monitor": "val_loss", "duration": 3},
        {"kind": "plateau", "monitor": "val_acc", "mode": "max"}]})  # fmt: skip
    with pytest.raises(schedspec.SpecError, match="one metric per scheduler"):
        scheduler_config(two, _opt())
    with pytest.raises(ValueError, match="monitor"):
        scheduler_config(doc({"interval": "epoch"}), _opt(), monitor="val_acc")


def test_steps_per_epoch_that_does_not_match_the_loop_stops_the_run(tmp_path):
    spec = schedspec.loads("""\
schedspec: 1
steps_per_epoch: 5
lr: {kind: plateau, start: 0.1, monitor: val_loss}
""", file="run.yaml")  # fmt: skip
    cls = lightning_module(lambda m, opt: scheduler_config(spec, opt), VAL)
    with pytest.raises(schedspec.SpecError, match=r"run.yaml:2:1: .*epoch 0 had 4 optimizer updates.*steps_per_epoch: 5"):
        lightning_fit(tmp_path / "short", cls, 2, 4)
    with pytest.raises(schedspec.SpecError, match=r"epoch 0 had more than 5 optimizer updates"):
        lightning_fit(tmp_path / "long", cls, 2, 6)
