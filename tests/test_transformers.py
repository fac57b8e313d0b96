"""schedspec.adapters.transformers in a real HF ``Trainer`` (a tiny torch module, no download): the lr each update
applied equals ``schedspec.evaluate``; the ``learning_rate`` log holds the previous update's lr; a plateau fed
``on_evaluate`` equals the Trainer's own ``ReduceLROnPlateau`` support run side by side; resume from a checkpoint
is exact; a loop that cannot give the reports, or epochs of another length, is refused."""

from __future__ import annotations

import numpy as np
import pytest

import schedspec

pytest.importorskip("transformers")
pytest.importorskip("accelerate")
torch = pytest.importorskip("torch")

from schedspec.adapters.transformers import EpochsFromUpdates, callback, optimizers  # noqa: E402

try:
    from .loops import assert_lrs, hf_model_and_data, hf_recorder, hf_train
except ImportError:
    from loops import assert_lrs, hf_model_and_data, hf_recorder, hf_train

WARMUP_COSINE = """\
schedspec: 1
lr:
  - {kind: linear, duration: 3, start: 0.0, end: 0.1}
  - {kind: cosine, duration: 9, end: 0.0}
"""
VAL = [1.0, 0.9, 0.95, 0.97, 0.85, 0.86, 0.87]
PLATEAU = {"schedspec": 1, "steps_per_epoch": 4,
           "lr": {"kind": "plateau", "start": 0.1, "monitor": "eval_loss", "patience": 0, "factor": 0.5}}  # fmt: skip


def expected(spec, n, **kw):
    return schedspec.evaluate(spec, np.arange(n), dtype="float64", **kw).tolist()


def run(tmp, spec, val=None, epochs=3, resume=None, **kw):
    model, train, ev = hf_model_and_data(val)
    opts = optimizers(spec, torch.optim.SGD(model.parameters(), lr=0.1))
    rec = hf_recorder()
    trainer = hf_train(tmp, model, train, ev, opts, [callback(opts), rec], epochs=epochs, resume=resume, **kw)
    return rec.applied, trainer, opts[1]


def test_applied_lr_equals_evaluate_and_the_log_holds_the_previous_update(tmp_path):
    spec = schedspec.loads(WARMUP_COSINE)
    applied, trainer, _ = run(tmp_path, spec, save_strategy="no", eval_strategy="no")
    ref = expected(spec, 12)
    assert_lrs(applied, ref, "applied")
    logged = {h["step"]: h["learning_rate"] for h in trainer.state.log_history if "learning_rate" in h}
    assert sorted(logged) == list(range(1, 13))
    assert_lrs([logged[s] for s in range(1, 13)], ref, "learning_rate at step s = lr of update s - 1")


def test_epoch_spec_moves_once_per_steps_per_epoch_updates(tmp_path):
    spec = schedspec.load({"schedspec": 1, "interval": "epoch", "steps_per_epoch": 4,
                           "lr": {"kind": "step", "start": 0.1, "every": 1, "gamma": 0.5}})  # fmt: skip
    applied, _, sched = run(tmp_path, spec, save_strategy="no", eval_strategy="no")
    assert isinstance(sched, EpochsFromUpdates)
    assert_lrs(applied, [v for v in expected(spec, 3) for _ in range(4)])


def test_plateau_equals_the_trainers_own_reduce_lr_on_plateau(tmp_path):
    spec = schedspec.load(PLATEAU)
    ours, _, sched = run(tmp_path / "ours", spec, VAL, epochs=7, save_strategy="no")
    model, train, ev = hf_model_and_data(VAL)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    native = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    rec = hf_recorder()
    hf_train(tmp_path / "native", model, train, ev, (opt, native), [rec], epochs=7, save_strategy="no",
             metric_for_best_model="loss")  # fmt: skip
    assert len(set(rec.applied)) > 1
    assert_lrs(ours, rec.applied, "plateau vs the Trainer's ReduceLROnPlateau")
    assert sched.state_dict()["schedspec_reports"] == {"eval_loss": VAL}


def test_evaluations_that_are_not_reports_are_ignored(tmp_path):
    spec = schedspec.load(PLATEAU)
    model, train, ev = hf_model_and_data(VAL)
    opts = optimizers(spec, torch.optim.SGD(model.parameters(), lr=0.1))
    rec = hf_recorder()
    from transformers import Trainer, TrainingArguments

    args = TrainingArguments(output_dir=str(tmp_path), num_train_epochs=2, per_device_train_batch_size=1,
                             per_device_eval_batch_size=1, report_to=[], save_strategy="no", eval_strategy="steps",
                             eval_steps=2, use_cpu=True, disable_tqdm=True, max_grad_norm=0.0)  # fmt: skip
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=ev, optimizers=opts,
                      callbacks=[callback(opts), rec])  # fmt: skip
    trainer.evaluate()  # before training: step 0 ends no interval
    trainer.train()  # evaluations at updates 2, 4, 6, 8: only 4 and 8 end an interval
    trainer.evaluate()  # after training, at update 8 again: already reported
    assert opts[1].state_dict()["schedspec_reports"] == {"eval_loss": VAL[:2]}
    assert_lrs(rec.applied, expected(spec, 8, metrics={"eval_loss": VAL[:2]}))


@pytest.mark.parametrize("kind", ["plateau", "epoch"])
def test_resume_from_checkpoint_is_exact(tmp_path, kind):
    if kind == "plateau":
        spec = schedspec.load(PLATEAU)
    else:
        spec = schedspec.load({"schedspec": 1, "interval": "epoch", "steps_per_epoch": 4,
                               "lr": {"kind": "exponential", "start": 0.1, "gamma": 0.7}})  # fmt: skip
    full, _, _ = run(tmp_path / "a", spec, VAL, epochs=5)
    assert len(set(full)) > 2
    resumed, _, _ = run(tmp_path / "b", spec, VAL, epochs=5, resume=str(tmp_path / "a" / "checkpoint-8"))
    assert resumed == full[8:]  # bit for bit


def test_missing_evaluation_is_refused_before_the_update(tmp_path):
    spec = schedspec.load(PLATEAU)
    with pytest.raises(ValueError, match=r"update 4 .* needs report 0 of 'eval_loss'.*eval_steps=4"):
        run(tmp_path, spec, VAL, eval_strategy="no", save_strategy="no")


def test_epochs_of_another_length_are_refused(tmp_path):
    spec = schedspec.loads("""\
schedspec: 1
interval: epoch
steps_per_epoch: 3
lr: {kind: step, start: 0.1, every: 1, gamma: 0.5}
""", file="run.yaml")  # fmt: skip
    with pytest.raises(schedspec.SpecError, match=r"run.yaml:3:1: after 1 epoch the Trainer had made 4 optimizer updates.*makes 3"):
        run(tmp_path, spec, eval_strategy="no", save_strategy="no")
    with pytest.raises(schedspec.SpecError, match=r"add `steps_per_epoch`"):
        optimizers({"schedspec": 1, "interval": "epoch", "lr": 0.1}, torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))]))


def test_another_scheduler_is_refused(tmp_path):
    spec = schedspec.loads(WARMUP_COSINE)
    model, train, ev = hf_model_and_data()
    opts = optimizers(spec, torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="not the schedspec scheduler"):
        hf_train(tmp_path, model, train, ev, (None, None), [callback(opts)], save_strategy="no", eval_strategy="no")
