"""adapters/lightning.py, mutation pass (issue 14, item 1): what the real ``Trainer.fit`` runs of
``tests/test_lightning.py`` do not pin. ``scheduler_config``'s dict and every refusal word for word at its
position; :class:`LightningPlateauLR` driven as Lightning drives it (``optimizer.step()`` for each update, then
``step(metric)`` at each epoch end), its checks on their boundaries and its saved counters; :class:`PlateauReports`
called with a stand-in trainer (the attributes Lightning's loop reads). Values come from ``schedspec.evaluate``.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

import schedspec

pytest.importorskip("lightning")
torch = pytest.importorskip("torch")

from schedspec.adapters.lightning import LightningPlateauLR, PlateauReports, scheduler_config  # noqa: E402

STEP_PLATEAU = """\
schedspec: 1
name: sp
steps_per_epoch: 2
lr: {kind: plateau, start: 0.1, monitor: val_loss, every: 2, patience: 0, factor: 0.5}
"""
EPOCH_PLATEAU = """\
schedspec: 1
name: ep
interval: epoch
lr: {kind: plateau, start: 0.1, monitor: val_loss, every: 2, patience: 0, factor: 0.5}
"""


def _opt():
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=0.1)


def _trainer(callbacks=None, sanity=False, metrics=None, step=0):
    return types.SimpleNamespace(callbacks=[] if callbacks is None else callbacks, sanity_checking=sanity,
                                 callback_metrics=metrics or {}, global_step=step)  # fmt: skip


# ------------------------------------------------------------------------------------------ scheduler_config
def test_the_config_of_a_plain_spec_is_lightnings_dict_with_the_spec_interval():
    for text, unit in (("schedspec: 1\nlr: 0.1\n", "step"), ("schedspec: 1\ninterval: epoch\nlr: 0.1\n", "epoch")):
        config = scheduler_config(schedspec.loads(text), _opt(), name="lr-x")
        assert set(config) == {"scheduler", "interval", "frequency", "name"}
        assert (config["interval"], config["frequency"], config["name"]) == (unit, 1, "lr-x")
        assert scheduler_config(schedspec.loads(text), _opt(), interval=unit)["name"] is None
    member = scheduler_config(schedspec.loads("schedspec: 1\nvars: {p: [0.1, 0.3]}\nlr: $p\n"), _opt(), vars={"p": 0.3})
    assert member["scheduler"].get_last_lr() == pytest.approx([0.3])
    hp = scheduler_config(schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: 0.7\n"), _opt(), hparams=[], block_size=8)
    assert hp["scheduler"].optimizer.param_groups[0]["momentum"] == 0 and hp["scheduler"].block_size == 8


def test_an_interval_or_frequency_that_contradicts_the_spec_is_refused_word_for_word():
    epoch = schedspec.loads("schedspec: 1\ninterval: epoch\nsteps_per_epoch: 6\nlr: 0.1\n", "e.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        scheduler_config(epoch, _opt(), interval="step")
    assert str(err.value) == (
        "e.yaml:2:1: scheduler_config(interval='step'): the spec counts epochs (`interval: epoch`), so Lightning would "
        "step it once per batch, 6 times too fast; drop interval= (it is taken from the spec) or change the spec's "
        "`interval`")
    no_spe = schedspec.loads("schedspec: 1\ninterval: epoch\nlr: 0.1\n", "n.yaml")
    with pytest.raises(schedspec.SpecError, match=r"once per batch, steps_per_epoch times too fast"):
        scheduler_config(no_spe, _opt(), interval="step")
    step = schedspec.loads("schedspec: 1\nlr: 0.1\n", "s.yaml")  # no `interval` key: positioned at the document
    with pytest.raises(schedspec.SpecError) as err:
        scheduler_config(step, _opt(), interval="epoch")
    assert str(err.value) == (
        "s.yaml:1:1: scheduler_config(interval='epoch'): the spec counts steps (`interval: step`), so Lightning "
        "would step it once per epoch, far too slowly; drop interval= (it is taken from the spec) or change the "
        "spec's `interval`")
    with pytest.raises(ValueError) as err:
        scheduler_config(step, _opt(), frequency=2)
    assert str(err.value) == ("scheduler_config(frequency=2): the spec's k counts every step, so Lightning must step "
                              "it every step (frequency 1); write the slower schedule in the spec instead")


def test_monitor_is_checked_against_the_plateaus_with_or_without_module():
    plain = schedspec.loads("schedspec: 1\nname: p\nlr: 0.1\n")
    with pytest.raises(ValueError) as err:
        scheduler_config(plain, _opt(), monitor="val_loss")
    assert str(err.value) == "scheduler_config(monitor='val_loss'): 'p' has no `plateau`, nothing monitors a metric"
    spec = schedspec.loads(EPOCH_PLATEAU)
    message = ("scheduler_config(monitor='val_acc'): the spec's plateaus monitor val_loss; drop monitor= (it is "
               "taken from the spec)")  # fmt: skip
    with pytest.raises(ValueError) as err:
        scheduler_config(spec, _opt(), monitor="val_acc")
    assert str(err.value) == message
    with pytest.raises(ValueError) as err:
        scheduler_config(spec, _opt(), monitor="val_acc", module=types.SimpleNamespace(trainer=_trainer()))
    assert str(err.value) == message
    config = scheduler_config(spec, _opt(), monitor="val_loss", strict=False)
    assert (config["monitor"], config["strict"], config["reduce_on_plateau"], config["interval"]) == (
        "val_loss", False, True, "epoch")
    assert isinstance(config["scheduler"], LightningPlateauLR) and config["scheduler"].epochs_per_report == 2


def test_a_plateau_lightning_cannot_feed_is_refused_at_the_plateau_word_for_word():
    two = schedspec.loads("schedspec: 1\ninterval: epoch\nlr:\n"
                          "  - {kind: plateau, start: 0.1, monitor: val_loss, duration: 3}\n"
                          "  - {kind: plateau, monitor: val_acc, mode: max}\n", "two.yaml")  # fmt: skip
    with pytest.raises(schedspec.SpecError) as err:
        scheduler_config(two, _opt())
    way = "pass scheduler_config(..., module=self), or monitor one metric in the whole spec"
    assert [str(i) for i in err.value.issues] == [
        f"two.yaml:4:5: this plateau monitors 'val_loss', another one 'val_acc': Lightning feeds one metric per "
        f"scheduler (its `monitor`); {way}",
        f"two.yaml:5:5: this plateau monitors 'val_acc', another one 'val_loss': Lightning feeds one metric per "
        f"scheduler (its `monitor`); {way}"]  # fmt: skip
    no_spe = schedspec.loads("schedspec: 1\nlr: {kind: plateau, start: 0.1, monitor: m, every: 4}\n", "n.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        scheduler_config(no_spe, _opt())
    assert str(err.value) == (
        "n.yaml:2:5: Lightning gives a plateau its metric at the end of each training epoch, and this spec counts "
        "steps: add `steps_per_epoch` (optimizer updates per epoch) so that the reports can be placed, or pass "
        "scheduler_config(..., module=self)")
    odd = schedspec.loads("schedspec: 1\nsteps_per_epoch: 4\nlr: {kind: plateau, start: 0.1, monitor: m, every: 6}\n", "o.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        scheduler_config(odd, _opt())
    assert str(err.value) == (
        "o.yaml:3:5: this plateau reports every 6 steps, which is not a whole number of epochs (4 steps): Lightning "
        "gives a plateau scheduler its metric at epoch ends only; make `every` a multiple of 1ep, or pass "
        "scheduler_config(..., module=self)")
    whole = schedspec.loads(STEP_PLATEAU.replace("every: 2", "every: 4"))
    assert scheduler_config(whole, _opt())["scheduler"].epochs_per_report == 2
    assert scheduler_config(schedspec.loads(EPOCH_PLATEAU.replace("every: 2", "every: 3")), _opt())[
        "scheduler"].epochs_per_report == 3


def test_module_must_be_attached_to_a_trainer_and_its_callback_replaces_an_earlier_one():
    spec = schedspec.loads(EPOCH_PLATEAU)
    for module in (types.SimpleNamespace(), types.SimpleNamespace(trainer=types.SimpleNamespace(callbacks=())),
                   types.SimpleNamespace(_trainer=None, trainer=None)):  # fmt: skip
        with pytest.raises(ValueError) as err:
            scheduler_config(spec, _opt(), module=module)
        assert str(err.value) == ("scheduler_config(..., module=...): pass the LightningModule from "
                                  "configure_optimizers (self), attached to a Trainer")  # fmt: skip
    other = object()
    trainer = _trainer([other])
    first = scheduler_config(spec, _opt(), module=types.SimpleNamespace(trainer=trainer))
    assert set(first) == {"scheduler", "interval", "frequency", "name"} and first["interval"] == "epoch"
    assert isinstance(trainer.callbacks[0], PlateauReports) and trainer.callbacks[1:] == [other]
    module = types.SimpleNamespace(_trainer=trainer, trainer=None)  # Lightning's own attribute first
    second = scheduler_config(spec, _opt(), module=module)
    assert len(trainer.callbacks) == 2 and trainer.callbacks[0].scheduler is second["scheduler"]
    assert trainer.callbacks[0].monitors == ["val_loss"] and trainer.callbacks[0].spec is spec


# ------------------------------------------------------------------------------------------ LightningPlateauLR
def _run_epoch(sched, n):
    """``n`` optimizer updates (the step hooks run), as Lightning makes them."""
    for _ in range(n):
        sched.optimizer.step()


def test_a_step_plateau_steps_per_update_and_takes_every_second_epochs_metric():
    """``steps_per_epoch: 2``, ``every: 2`` (one epoch): the schedule moves after each update; each epoch's metric
    is a report; the lr then equals ``evaluate`` with those reports."""
    spec = schedspec.loads(STEP_PLATEAU)
    sched = scheduler_config(spec, _opt())["scheduler"]
    assert (sched.monitor, sched.interval, sched.epochs_per_report, sched.epoch_len) == ("val_loss", "step", 1, 2)
    vals = [1.0, 2.0, 0.5]
    lrs = []
    for e, v in enumerate(vals):
        for _ in range(2):
            lrs.append(sched.get_last_lr()[0])
            sched.optimizer.step()
        sched.step(v)
        assert (sched.epoch_ends, sched.updates, sched.updates_at_end) == (e + 1, 2 * e + 2, 2 * e + 2)
    want = schedspec.evaluate(spec, np.arange(6), metrics={"val_loss": vals}, dtype="float64")
    assert lrs == pytest.approx(list(want)) and sched.scheduler.reports == {"val_loss": tuple(vals)}
    assert sched.state_dict()["schedspec_facade"] == "LightningPlateauLR"
    assert {k: sched.state_dict()[k] for k in ("epoch_ends", "updates", "updates_at_end", "epoch_len")} == {
        "epoch_ends": 3, "updates": 6, "updates_at_end": 6, "epoch_len": 2}


def test_an_epoch_plateau_learns_the_epoch_length_and_reports_every_second_epoch():
    spec = schedspec.loads(EPOCH_PLATEAU)
    sched = scheduler_config(spec, _opt())["scheduler"]
    assert sched.epoch_len is None and sched.epochs_per_report == 2
    for e, v in enumerate([3.0, 1.0, 2.0, 4.0]):
        _run_epoch(sched, 3)
        sched.step(v)
        assert sched.epoch_len == 3 and sched.last_epoch == e + 1
    assert sched.scheduler.reports == {"val_loss": (1.0, 4.0)}  # the metrics of epochs 1 and 3
    _run_epoch(sched, 5)  # an epoch spec's length is not checked (the schedule moves once per epoch anyway)
    sched.step(0.5)
    with pytest.raises(ValueError) as err:
        sched.step()
    assert str(err.value) == ("LightningPlateauLR.step() takes the epoch's 'val_loss' (Lightning passes it as "
                              "scheduler.step(metric) at each epoch end)")  # fmt: skip


def test_a_step_plateaus_epochs_must_have_steps_per_epoch_updates():
    spec = schedspec.loads(STEP_PLATEAU, "sp.yaml")

    def message(epoch, n):
        return (f"sp.yaml:3:1: Lightning's training epoch {epoch} had {n} optimizer updates, but the spec has "
                "steps_per_epoch: 2, so the plateau's reports would fall at the wrong steps; set steps_per_epoch to "
                "len(train_dataloader) // accumulate_grad_batches")

    short = scheduler_config(spec, _opt())["scheduler"]
    short.optimizer.step()
    with pytest.raises(schedspec.SpecError) as err:
        short.step(1.0)
    assert str(err.value) == message(0, 1)
    long = scheduler_config(spec, _opt())["scheduler"]
    _run_epoch(long, 2)
    long.step(1.0)
    _run_epoch(long, 2)
    with pytest.raises(schedspec.SpecError) as err:
        long.optimizer.step()  # the third update of epoch 1 is refused before it runs
    assert str(err.value) == message(1, "more than 2")
    assert long.updates == 4


@pytest.mark.parametrize("since", [1, 2])
def test_a_resume_inside_an_epoch_is_refused_at_the_first_update_and_epoch_end(since):
    spec = schedspec.loads(EPOCH_PLATEAU.replace("every: 2", "every: 1"))
    sched = scheduler_config(spec, _opt())["scheduler"]
    _run_epoch(sched, 3)
    sched.step(1.0)
    _run_epoch(sched, since)
    state = sched.state_dict()
    again = scheduler_config(spec, _opt())["scheduler"]
    again.load_state_dict(state)
    assert (again.epoch_ends, again.updates, again.updates_at_end, again.epoch_len) == (1, 3 + since, 3, 3)
    want = (f"cannot resume this plateau: the checkpoint was saved {since} update{'s' if since != 1 else ''} into "
            "training epoch 1, and Lightning never gives a plateau scheduler the 'val_loss' of the epoch a run resumes "
            "in (its fit loop skips plateau schedulers at the end of a restarted epoch, an end-of-epoch checkpoint is "
            "written before they are stepped, and metrics are not saved), so the resumed run would apply every later "
            "reduction one epoch late (Lightning's own ReduceLROnPlateau silently does). Build the scheduler with "
            "scheduler_config(spec, optimizer, module=self): its reports are then saved in every checkpoint and a "
            "resume is exact")  # fmt: skip
    with pytest.raises(ValueError) as err:
        again.optimizer.step()
    assert str(err.value) == want
    with pytest.raises(ValueError) as err:
        again.step(2.0)
    assert str(err.value) == want
    at_end = scheduler_config(spec, _opt())["scheduler"]
    at_end.load_state_dict({**state, "updates": 3})  # saved at the epoch's end: resumes
    at_end.optimizer.step()
    at_end.step(2.0)
    assert at_end.scheduler.reports == {"val_loss": (1.0, 2.0)}


# ------------------------------------------------------------------------------------------ PlateauReports
def test_plateau_reports_report_when_the_schedule_waits_and_never_in_the_sanity_check():
    spec = schedspec.loads(STEP_PLATEAU)
    trainer = _trainer()
    sched = scheduler_config(spec, _opt(), module=types.SimpleNamespace(trainer=trainer))["scheduler"]
    cb = trainer.callbacks[0]
    cb.on_validation_end(_trainer(sanity=True, metrics={"val_loss": 9.0}), None)
    cb.on_validation_end(_trainer(metrics={"val_loss": 8.0}), None)  # nothing waits yet
    assert sched.reports == {"val_loss": ()}
    for _ in range(2):
        cb.on_train_batch_start(_trainer(), None, None, 0)
        sched.optimizer.step()
        sched.step()
    cb.on_validation_end(_trainer(sanity=True, metrics={"val_loss": 9.0}), None)
    assert sched.reports == {"val_loss": ()}
    cb.on_validation_end(_trainer(metrics={"val_loss": torch.tensor(1.5)}), None)
    assert sched.reports == {"val_loss": (1.5,)}
    cb.on_train_batch_start(_trainer(step=2), None, None, 0)


@pytest.mark.parametrize("interval", ["step", "epoch"])
def test_plateau_reports_refusals_word_for_word(interval):
    text = STEP_PLATEAU if interval == "step" else EPOCH_PLATEAU
    name = "sp" if interval == "step" else "ep"
    trainer = _trainer()
    sched = scheduler_config(schedspec.loads(text), _opt(), module=types.SimpleNamespace(trainer=trainer))["scheduler"]
    cb = trainer.callbacks[0]
    for _ in range(2):
        sched.optimizer.step()
        sched.step()
    with pytest.raises(ValueError) as err:
        cb.on_train_batch_start(_trainer(step=2), None, None, 0)
    unit = "updates" if interval == "step" else "epochs"
    assert str(err.value) == (
        f"update 2 of '{name}' uses the value after report 0 of 'val_loss' (the metric at the end of {unit} 0..1), "
        f"but no validation ran since: validate at the end of every 2 {unit} (check_val_every_n_epoch=1 with "
        "steps_per_epoch matching the loop's epochs, or val_check_interval)")
    for metrics, logged in (({"train_loss": 1.0, "acc": 0.5}, "acc, train_loss"), ({}, "nothing")):
        with pytest.raises(ValueError) as err:
            cb.on_validation_end(_trainer(metrics=metrics), None)
        assert str(err.value) == (
            f"the plateau of '{name}' needs report 0 of 'val_loss' now, but this validation logged no 'val_loss' "
            f"(logged: {logged}); log it in validation_step with self.log")


# ------------------------------------------------------------------------------------------ the rest
def test_the_callback_base_is_lightnings_or_pytorch_lightnings_or_a_missing_dependency(monkeypatch):
    """``lightning.pytorch.Callback``; the standalone ``pytorch_lightning``'s when only that is installed; else the
    missing-extra error (``pip install 'schedspec[integrations]'``)."""
    import sys

    import lightning.pytorch

    from schedspec.adapters import lightning as adapter

    assert adapter._lightning_callback_base() is lightning.pytorch.Callback
    standalone = types.ModuleType("pytorch_lightning")
    standalone.Callback = type("Callback", (), {})
    monkeypatch.setitem(sys.modules, "lightning.pytorch", None)  # import raises ImportError
    monkeypatch.setitem(sys.modules, "pytorch_lightning", standalone)
    assert adapter._lightning_callback_base() is standalone.Callback
    monkeypatch.setitem(sys.modules, "pytorch_lightning", None)
    with pytest.raises(schedspec.errors.MissingDependency) as err:
        adapter._lightning_callback_base()
    assert str(err.value) == str(schedspec.errors.MissingDependency("lightning", "integrations"))
    assert "lightning" in str(err.value) and "schedspec[integrations]" in str(err.value)


def test_monitor_names_every_metric_the_plateaus_monitor():
    two = schedspec.loads("schedspec: 1\ninterval: epoch\nlr:\n"
                          "  - {kind: plateau, start: 0.1, monitor: val_loss, duration: 3}\n"
                          "  - {kind: plateau, monitor: val_acc, mode: max}\n")  # fmt: skip
    message = ("scheduler_config(monitor='loss'): the spec's plateaus monitor val_loss, val_acc; drop monitor= (it is "
               "taken from the spec)")  # fmt: skip
    for module in (None, types.SimpleNamespace(trainer=_trainer())):
        with pytest.raises(ValueError) as err:
            scheduler_config(two, _opt(), monitor="loss", module=module)
        assert str(err.value) == message


def test_the_defaults_and_arguments_reach_the_plateau_config_and_the_scheduler():
    """``strict`` is Lightning's default (True); ``epochs_per_report`` is a whole number; ``hparam`` and ``groups``
    reach ``to_torch``."""
    config = scheduler_config(schedspec.loads(STEP_PLATEAU.replace("every: 2", "every: 4")), _opt())
    assert config["strict"] is True and type(config["scheduler"].epochs_per_report) is int
    spec = schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: 0.5\ngroups:\n  head: {lr: 0.02}\n")
    opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))]},
                           {"params": [torch.nn.Parameter(torch.zeros(1))]}], lr=0.1)  # fmt: skip
    sched = scheduler_config(spec, opt, groups={"head": 1}, hparams=[])["scheduler"]
    assert sched.get_last_lr() == pytest.approx([0.1, 0.02])
    by_momentum = scheduler_config(schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: 0.5\n"), _opt(), hparam="momentum",
                                   hparams=[])["scheduler"]  # fmt: skip
    assert by_momentum.get_last_lr() == pytest.approx([0.5])


def test_an_epoch_plateau_learns_the_epoch_length_even_with_steps_per_epoch():
    """``interval: epoch`` with ``steps_per_epoch: 4`` (a unit for durations): the loop's epoch length is learnt
    from the first epoch (3 updates here), not taken from the spec."""
    spec = schedspec.loads(EPOCH_PLATEAU.replace("interval: epoch\n", "interval: epoch\nsteps_per_epoch: 4\n"))
    sched = scheduler_config(spec, _opt())["scheduler"]
    assert sched.epoch_len is None
    _run_epoch(sched, 3)
    sched.step(1.0)
    assert sched.epoch_len == 3 and sched.state_dict()["epoch_len"] == 3


def test_every_third_epochs_metric_is_a_report():
    """``every: 3`` epochs: the metrics of epochs 2 and 5 (the ends of intervals 0 and 1) are reports 0 and 1."""
    spec = schedspec.loads(EPOCH_PLATEAU.replace("every: 2", "every: 3"))
    sched = scheduler_config(spec, _opt())["scheduler"]
    for v in range(7):
        _run_epoch(sched, 2)
        sched.step(float(v))
    assert sched.scheduler.reports == {"val_loss": (2.0, 5.0)}


def test_a_one_member_sweep_is_bound_to_that_member():
    """A sweep var the scheduler does not run (``momentum``, not in ``hparams``) stays a sweep: the plateaus are
    found in its first (only) member."""
    spec = schedspec.loads("schedspec: 1\ninterval: epoch\nvars: {m: [0.5]}\nmomentum: $m\n"
                           "lr: {kind: plateau, start: 0.1, monitor: val_loss}\n")  # fmt: skip
    assert scheduler_config(spec, _opt(), hparams=[])["monitor"] == "val_loss"


def test_an_interval_refusal_without_an_interval_key_is_at_the_document():
    with pytest.raises(schedspec.SpecError) as err:
        scheduler_config(schedspec.loads("schedspec: 1\nlr: 0.1\n"), _opt(), interval="epoch")
    assert err.value.issues[0].path == "<document>"
    with pytest.raises(schedspec.SpecError) as err:
        scheduler_config(schedspec.loads("schedspec: 1\ninterval: step\nlr: 0.1\n"), _opt(), interval="epoch")
    assert err.value.issues[0].path == "interval" and (err.value.issues[0].line, err.value.issues[0].col) == (2, 1)
