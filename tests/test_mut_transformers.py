"""adapters/transformers.py, mutation pass (issue 14, item 1): what the real Trainer runs of
``tests/test_transformers.py`` do not pin. The callback's hooks are called directly with transformers' own
``TrainerState`` and ``TrainerControl`` (as ``Trainer`` calls them: keyword arguments), so each check of the loop,
each report rule and each refusal is exercised on its boundary, with its whole message written by hand; values
come from ``schedspec.evaluate``.
"""

from __future__ import annotations

import numpy as np
import pytest

import schedspec

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from transformers import TrainerControl, TrainerState  # noqa: E402

from schedspec.adapters.transformers import EpochsFromUpdates, SchedSpecCallback, callback, optimizers  # noqa: E402

EPOCHS = {"schedspec": 1, "interval": "epoch", "steps_per_epoch": 3,
          "lr": {"kind": "step", "start": 0.1, "every": 1, "gamma": 0.5}}  # fmt: skip
PLATEAU_TEXT = """\
schedspec: 1
name: pl
steps_per_epoch: 4
lr: {kind: plateau, start: 0.1, monitor: loss, every: 2, patience: 0, factor: 0.5}
"""
PLATEAU = schedspec.loads(PLATEAU_TEXT)


def _opt(n=1, **group):
    params = [{"params": [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], **group} for _ in range(n)]
    return torch.optim.SGD(params, lr=0.1)


def _state(step=0, epoch=0.0, max_steps=100):
    return TrainerState(epoch=epoch, global_step=step, max_steps=max_steps)


def _update(sched):
    """One optimizer update, then the scheduler's step (torch's order)."""
    sched.optimizer.step()
    sched.step()


def _lrs(sched):
    return [g["lr"] for g in sched.optimizer.param_groups]


# ------------------------------------------------------------------------------------------------ optimizers
def test_epochs_from_updates_steps_once_per_epoch_and_saves_its_count():
    """``steps_per_epoch`` 3: the wrapped scheduler moves at updates 3, 6 (not 1, 2, 4, 5); ``step`` takes no
    argument; ``updates`` is saved and restored with the facade's own kind."""
    opt, sched = optimizers(EPOCHS, _opt())
    assert isinstance(sched, EpochsFromUpdates) and sched.steps_per_epoch == 3 and sched.updates == 0
    want = schedspec.evaluate(EPOCHS, np.arange(3), dtype="float64")
    seen = [sched.get_last_lr()[0]]
    for _ in range(6):
        _update(sched)
        seen.append(sched.get_last_lr()[0])
    assert seen == pytest.approx([want[0]] * 3 + [want[1]] * 3 + [want[2]])
    assert sched.last_epoch == 2 and sched.updates == 6
    with pytest.raises(TypeError) as err:
        sched.step(1)
    assert str(err.value) == "EpochsFromUpdates.step() takes no argument: the Trainer calls it once per update"
    with pytest.raises(TypeError):
        sched.step(epoch=1)
    state = sched.state_dict()
    assert state["schedspec_facade"] == "EpochsFromUpdates" and state["updates"] == 6
    _, again = optimizers(EPOCHS, _opt())
    again.load_state_dict(state)
    assert again.updates == 6 and again.last_epoch == 2 and again.get_last_lr() == sched.get_last_lr()
    _update(again)
    assert again.updates == 7 and again.last_epoch == 2


def test_optimizers_passes_vars_hyperparameters_groups_and_block_size_on():
    """``vars`` picks the sweep member (the scheduler's spec has it applied), ``groups`` maps a spec group to a
    param group, ``hparams`` limits the schedules set, ``block_size`` reaches the scheduler."""
    text = ("schedspec: 1\nvars: {peak: [0.1, 0.2]}\nlr: {kind: constant, value: $peak}\nmomentum: 0.8\n"
            "groups:\n  head: {lr: 0.05}\n")  # fmt: skip
    spec = schedspec.loads(text)
    opt = _opt(2)
    got_opt, sched = optimizers(spec, opt, vars={"peak": 0.2}, groups={"head": 1}, hparams=[])
    assert got_opt is opt and not isinstance(sched, EpochsFromUpdates)
    assert _lrs(sched) == pytest.approx([0.2, 0.05]) and opt.param_groups[0]["momentum"] == 0
    assert sched.spec.program.vars["peak"].sweep is False
    assert optimizers({"schedspec": 1, "lr": 0.1}, _opt(), block_size=16)[1].block_size == 16
    _, with_momentum = optimizers(spec, _opt(2), vars={"peak": 0.1}, groups={"head": 1})
    assert [g["momentum"] for g in with_momentum.optimizer.param_groups] == pytest.approx([0.8, 0.8])


def test_an_epoch_spec_without_steps_per_epoch_is_refused_at_interval():
    spec = schedspec.loads("schedspec: 1\nname: e\ninterval: epoch\nlr: 0.1\n", "e.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        optimizers(spec, _opt())
    assert str(err.value) == (
        "e.yaml:3:1: `interval: epoch` counts epochs, but the HF Trainer steps the scheduler once per optimizer "
        "update: add `steps_per_epoch` (updates per epoch: len(train_dataloader) // gradient_accumulation_steps)")


# ------------------------------------------------------------------------------------------------ the callback
def test_callback_takes_the_pair_or_the_scheduler_and_refuses_anything_else():
    opts = optimizers(PLATEAU, _opt())
    assert callback(opts).spec is opts[1].spec and callback(opts[1]).spec is opts[1].spec
    with pytest.raises(TypeError) as err:
        callback(torch.optim.lr_scheduler.StepLR(_opt(), 2))
    assert str(err.value) == "callback(...) takes what schedspec.adapters.transformers.optimizers(...) returned"


def test_the_callback_counts_every_in_updates_from_the_first_sweep_member():
    """An epoch spec's plateau ``every`` (epochs) is ``every * steps_per_epoch`` updates; a step spec's is as
    written; a spec still holding a sweep (a duration var) is bound to its first member to find the plateaus."""
    text = ("schedspec: 1\ninterval: epoch\nsteps_per_epoch: 5\nvars: {e: [6, 9]}\nlr:\n"
            "  - {kind: plateau, start: 0.1, monitor: a, every: 3, duration: $e}\n  - {kind: plateau, monitor: b, every: 1}\n")  # fmt: skip
    cb = SchedSpecCallback(optimizers(schedspec.loads(text), _opt(), vars={"e": 9})[1])
    assert cb.monitors == ["a", "b"] and cb.every == {"a": 15, "b": 5}
    sweep = SchedSpecCallback(type("S", (), {"spec": schedspec.loads(text)})())  # a scheduler of any member
    assert sweep.monitors == ["a", "b"] and sweep.every == {"a": 15, "b": 5}
    step = SchedSpecCallback(optimizers(PLATEAU, _opt())[1])
    assert step.monitors == ["loss"] and step.every == {"loss": 2}
    plain = SchedSpecCallback(optimizers(EPOCHS, _opt())[1])
    assert plain.sites == [] and plain.monitors == [] and plain.every == {}


def test_on_train_begin_refuses_another_scheduler_only():
    opts = optimizers(PLATEAU, _opt())
    cb = callback(opts)
    args, control = None, TrainerControl()
    cb.on_train_begin(args, _state(), control, lr_scheduler=opts[1])
    cb.on_train_begin(args, _state(), control)  # not given: nothing to check
    other = torch.optim.lr_scheduler.StepLR(opts[0], 2)
    with pytest.raises(ValueError) as err:
        cb.on_train_begin(args, _state(), control, lr_scheduler=other)
    assert str(err.value) == (
        "the Trainer runs StepLR, not the schedspec scheduler of 'pl': pass Trainer(optimizers=opts, "
        "callbacks=[callback(opts)]) with opts = schedspec.adapters.transformers.optimizers(spec, optimizer)")


@pytest.mark.parametrize("spe", [4, None])
def test_on_step_begin_refuses_an_update_that_waits_for_a_report(spe):
    """Update 2 of an ``every: 2`` plateau needs report 0, the metric of the evaluation at update 2; the
    ``eval_strategy='epoch'`` way out is offered only when the spec knows its epochs (``steps_per_epoch``)."""
    text = PLATEAU_TEXT if spe else PLATEAU_TEXT.replace("steps_per_epoch: 4\n", "")
    opts = optimizers(schedspec.loads(text), _opt())
    sched, cb = opts[1], callback(opts)
    cb.on_step_begin(None, _state(0), TrainerControl())
    _update(sched)
    cb.on_step_begin(None, _state(1), TrainerControl())
    _update(sched)
    with pytest.raises(ValueError) as err:
        cb.on_step_begin(None, _state(2), TrainerControl())
    epoch = ", or eval_strategy='epoch'" if spe else ""
    assert str(err.value) == (
        "update 2 of 'pl' needs report 0 of 'loss', the metric of the evaluation at update 2, but no evaluation "
        f"gave it: evaluate at the end of every 2 updates (eval_strategy='steps' with eval_steps=2{epoch}) and put "
        "'loss' (or 'eval_loss') in the metrics")
    sched.report("loss", 1.0)
    cb.on_step_begin(None, _state(2), TrainerControl())


def test_on_epoch_end_checks_the_epoch_length_only_where_it_matters():
    """The spec's ``steps_per_epoch`` must be the Trainer's updates per epoch, for an epoch spec or a plateau;
    not checked after the last update, when training stops, without ``steps_per_epoch``, or for a step spec
    without a plateau (where it only writes durations)."""
    epochs = schedspec.loads("schedspec: 1\nname: ep\ninterval: epoch\nsteps_per_epoch: 3\nlr: 0.1\n", "ep.yaml")
    cb = callback(optimizers(epochs, _opt()))
    stop = TrainerControl()
    stop.should_training_stop = True
    cb.on_epoch_end(None, _state(3, 1.0), TrainerControl())
    cb.on_epoch_end(None, _state(4, 1.0), stop)
    cb.on_epoch_end(None, _state(4, 1.0, max_steps=4), TrainerControl())
    for step, epoch, n in ((4, 1.0, "1 epoch"), (5, 2.0, "2 epochs"), (5, 0.0, "0 epochs")):
        with pytest.raises(schedspec.SpecError) as err:
            cb.on_epoch_end(None, _state(step, epoch, max_steps=step + 1), TrainerControl())
        made = round(epoch) * 3
        assert str(err.value) == (
            f"ep.yaml:4:1: after {n} the Trainer had made {step} optimizer updates, but the spec's steps_per_epoch: 3 "
            f"makes {made}: set it to len(train_dataloader) // gradient_accumulation_steps")
    with pytest.raises(schedspec.SpecError):
        cb.on_epoch_end(None, _state(4, 1.0, max_steps=5), TrainerControl())
    cb.on_epoch_end(None, _state(6, 1.9999, max_steps=7), TrainerControl())  # a float epoch is rounded
    step_unit = schedspec.loads("schedspec: 1\nsteps_per_epoch: 3\nlr: {kind: linear, duration: 2ep, start: 0, end: 1}\n")
    callback(optimizers(step_unit, _opt())).on_epoch_end(None, _state(4, 1.0), TrainerControl())
    callback(optimizers(schedspec.loads(PLATEAU_TEXT.replace("steps_per_epoch: 4\n", "")), _opt())).on_epoch_end(None, _state(5, 1.0), TrainerControl())
    plateau = callback(optimizers(PLATEAU, _opt()))
    with pytest.raises(schedspec.SpecError, match="after 1 epoch the Trainer had made 5 optimizer updates"):
        plateau.on_epoch_end(None, _state(5, 1.0), TrainerControl())


def test_on_evaluate_takes_the_report_at_the_end_of_each_interval_once():
    """``every: 2``: the evaluation at update 2 is report 0, at 4 report 1; one at update 3 (mid-interval), a second
    one at the same update, or one at update 0 is not a report; ``eval_loss`` stands for ``loss``."""
    opts = optimizers(PLATEAU, _opt())
    sched, cb = opts[1], callback(opts)
    cb.on_evaluate(None, _state(0), TrainerControl(), metrics={"eval_loss": 9.0})
    for _ in range(2):
        _update(sched)
    cb.on_evaluate(None, _state(2), TrainerControl(), metrics={"eval_loss": 1.0})
    cb.on_evaluate(None, _state(2), TrainerControl(), metrics={"eval_loss": 7.0})
    _update(sched)
    cb.on_evaluate(None, _state(3), TrainerControl(), metrics={"loss": 8.0})
    _update(sched)
    cb.on_evaluate(None, _state(4), TrainerControl(), metrics={"loss": 2.0, "eval_loss": 6.0})
    assert sched.reports == {"loss": (1.0, 2.0)}
    want = schedspec.evaluate(PLATEAU, np.arange(6), metrics={"loss": [1.0, 2.0]}, dtype="float64")
    seen = [sched.lr_at(k) for k in range(6)]
    assert seen == pytest.approx(list(want))


def test_on_evaluate_refuses_a_report_evaluation_without_the_metric():
    opts = optimizers(PLATEAU, _opt())
    sched, cb = opts[1], callback(opts)
    _update(sched)
    _update(sched)
    for metrics, have in (({"eval_acc": 0.5, "epoch": 1.0}, "epoch, eval_acc"), ({}, "none"), (None, "none")):
        with pytest.raises(ValueError) as err:
            cb.on_evaluate(None, _state(2), TrainerControl(), metrics=metrics)
        assert str(err.value) == (f"the evaluation at update 2 is report 0 of 'loss' for 'pl', but its metrics have no "
                                  f"'loss' nor 'eval_loss' (they have: {have})")
    callback(optimizers(EPOCHS, _opt())).on_evaluate(None, _state(3), TrainerControl(), metrics=None)  # no plateau


# ------------------------------------------------------------------------------------------------ the facade
def test_the_facade_is_the_wrapped_schedulers_lrscheduler_surface():
    """adapters/_facade.py: every ``LRScheduler`` attribute a loop reads is the wrapped scheduler's;
    ``last_epoch`` is written through; the state of anything but the same kind of facade is refused by name."""
    opt, facade = optimizers(EPOCHS, _opt())
    inner = facade.scheduler
    assert isinstance(facade, torch.optim.lr_scheduler.LRScheduler) and facade.optimizer is opt is inner.optimizer
    _update(facade)
    _update(facade)
    _update(facade)
    assert facade.last_epoch == inner.last_epoch == 1
    assert facade.base_lrs == inner.base_lrs == [0.1] and facade.fingerprint == inner.fingerprint
    assert facade.get_lr() == facade.get_last_lr() == inner.get_last_lr() == [pytest.approx(0.05)]
    facade.last_epoch = 7
    assert inner.last_epoch == 7
    assert repr(facade) == f"<EpochsFromUpdates over {inner!r}>"
    bare = "not a state saved by this scheduler (no 'schedspec_facade')"
    for state, got in ((inner.state_dict(), bare), ([1, 2], bare), ({"schedspec_facade": "LightningPlateauLR"},
                                                                      "a LightningPlateauLR state")):  # fmt: skip
        with pytest.raises(ValueError) as err:
            facade.load_state_dict(state)
        assert str(err.value) == (f"cannot load the scheduler state: it is {got}; this is a EpochsFromUpdates, built "
                                  "the same way as when the checkpoint was saved?")  # fmt: skip


def test_each_metric_reports_on_its_own_clock_and_a_one_member_sweep_binds_its_member():
    """Metrics ``a`` (every 2 updates) and ``b`` (every 3): the evaluation at update 3 is a report of ``b`` only
    (``a``'s interval is not over), at 6 of both. A spec whose sweep has one member is bound to that member."""
    text = ("schedspec: 1\nname: ab\nlr:\n  - {kind: plateau, start: 0.1, monitor: a, every: 2, duration: 6}\n"
            "  - {kind: plateau, monitor: b, every: 3}\n")  # fmt: skip
    opts = optimizers(schedspec.loads(text), _opt())
    sched, cb = opts[1], callback(opts)
    assert cb.monitors == ["a", "b"] and cb.every == {"a": 2, "b": 3}
    reports = {"a": 1.0, "b": 2.0}
    for step in range(1, 7):
        sched.optimizer.step()
        sched.step()
        cb.on_evaluate(None, _state(step), TrainerControl(), metrics=dict(reports))
    assert sched.reports == {"a": (1.0, 1.0, 1.0), "b": (2.0, 2.0)}
    one = text.replace("name: ab\n", "vars: {d: [6]}\n").replace("duration: 6", "duration: $d")
    cb = SchedSpecCallback(type("S", (), {"spec": schedspec.loads(one)})())
    assert cb.every == {"a": 2, "b": 3}


def test_optimizers_runs_the_hyperparameter_asked_for():
    """``hparam="momentum"``: the spec's momentum schedule drives the lr (as ``to_torch``'s ``hparam``)."""
    spec = schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: {kind: linear, duration: 4, start: 0.5, end: 0.9}\n")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=0.3, momentum=0.1)
    _, sched = optimizers(spec, opt, hparam="momentum", hparams=[])
    seen = []
    for _ in range(5):
        seen.append(opt.param_groups[0]["lr"])
        _update(sched)
    assert seen == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9]) and opt.param_groups[0]["momentum"] == 0.1
