"""``schedspec verify SPEC LOG``: logs produced by real loops (plain torch, Lightning, HF Trainer, Keras), right and
deliberately wrong (stepped per epoch, scheduler.step() before optimizer.step(), resumed without the scheduler's
state, a constant factor, warmup missing), each recognised from the shape of the difference; what each framework
logs (applied / previous / next); malformed logs are a one-line error with exit code 2."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import schedspec
from schedspec._verify import LogError, read_log, verify
from schedspec.cli import main

torch = pytest.importorskip("torch")

try:
    from .loops import torch_loop, write_csv
except ImportError:
    from loops import torch_loop, write_csv

SPEC = """\
schedspec: 1
name: warmup-cosine
steps_per_epoch: 4
lr:
  - {kind: linear, duration: 4, start: 0.0, end: 0.1}
  - {kind: cosine, duration: 20, end: 0.0}
"""
N = 24


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(SPEC)
    return str(path)


def cli(capsys, *argv):
    code = main(["verify", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def causes(report):
    return [c for c, _ in report.diagnoses]


# ------------------------------------------------------------------------------------------------ plain torch
def test_torch_right_runs_pass_and_what_torch_logs(tmp_path, spec_file, capsys):
    applied = write_csv(tmp_path / "applied.csv", torch_loop(schedspec.load(spec_file), N))
    code, out, _ = cli(capsys, spec_file, applied)
    assert code == 0 and "OK: every logged value follows the spec" in out
    nxt = write_csv(tmp_path / "next.csv", torch_loop(schedspec.load(spec_file), N, log="next"))
    assert cli(capsys, spec_file, nxt, "--logged-as", "next")[0] == 0  # get_last_lr() after scheduler.step()
    report = verify(spec_file, nxt)  # read as applied, it is one step ahead: the hint names --logged-as next
    assert not report.ok and causes(report) == ["early"] and "--logged-as next" in str(report)


@pytest.mark.parametrize("mode, cause, word", [
    ("early", "early", "scheduler.step() before optimizer.step()"),
    ("epoch", "epoch-per-update", "once per epoch"),
    ("restart@10", "restart", "restarted from step 0 at step 10"),
])  # fmt: skip
def test_torch_wrong_loops_are_diagnosed(tmp_path, spec_file, capsys, mode, cause, word):
    log = write_csv(tmp_path / "log.csv", torch_loop(schedspec.load(spec_file), N, mode=mode))
    code, out, _ = cli(capsys, spec_file, log)
    assert code == 1
    report = verify(spec_file, log)
    assert causes(report) == [cause]
    assert word in out and "first divergence at step" in out and f"of {N} logged steps differ" in out
    ref = schedspec.evaluate(schedspec.load(spec_file), np.arange(N), dtype="float64")
    s, logged, planned = report.first
    assert planned == pytest.approx(ref[s], rel=1e-12) and logged != pytest.approx(planned)
    assert np.allclose(report.planned, ref[report.k], rtol=1e-12, atol=1e-15)
    tol = 1e-6 * report.peak + 1e-5 * np.abs(report.planned)
    assert report.n_differ == int(np.sum(np.abs(report.logged - report.planned) > tol)) > 0
    if cause == "epoch-per-update":
        assert "epoch" in out


def test_constant_factor_of_a_param_group(tmp_path, spec_file, capsys):
    log = write_csv(tmp_path / "pg2.csv", torch_loop(schedspec.load(spec_file), N, group=1))
    code, out, _ = cli(capsys, spec_file, log)
    assert code == 1 and causes(verify(spec_file, log)) == ["factor"] and "0.5x the spec's" in out


def test_warmup_missing_in_a_native_cosine_run(tmp_path, spec_file, capsys):
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=N)  # the same peak and length, no warmup
    rows = []
    for s in range(N):
        rows.append((s, opt.param_groups[0]["lr"]))
        opt.step()
        sched.step()
    log = write_csv(tmp_path / "native.csv", rows, column="learning_rate")
    code, out, _ = cli(capsys, spec_file, log)
    assert code == 1 and causes(verify(spec_file, log)) == ["warmup"]
    assert "warmup missing" in out and "first divergence at step 0: logged 0.1, spec 0\n" in out


# ------------------------------------------------------------------------------------------------ Lightning
def test_lightning_logs_pass_and_the_default_epoch_interval_is_diagnosed(tmp_path, spec_file, capsys):
    pytest.importorskip("lightning")
    from schedspec.adapters.lightning import scheduler_config

    try:
        from .loops import lightning_fit, lightning_module
    except ImportError:
        from loops import lightning_fit, lightning_module

    spec = schedspec.load(spec_file)
    _, _, csv_log = lightning_fit(tmp_path / "ok", lightning_module(lambda m, o: scheduler_config(spec, o)), 6, 4)
    code, out, _ = cli(capsys, spec_file, csv_log)
    assert code == 0 and "'lr-SGD'" in out  # LearningRateMonitor's value at step s is update s's: applied
    # the classic mistake: {"scheduler": ...} without "interval" -> Lightning steps it once per epoch
    wrong = lightning_module(lambda m, o: {"scheduler": schedspec.to_torch(spec, o)})
    _, _, tb_dir = lightning_fit(tmp_path / "wrong", wrong, 6, 4, tensorboard=True)
    code, out, _ = cli(capsys, spec_file, tb_dir)  # read with TensorBoard's own reader
    assert code == 1 and "once per epoch (4 updates, from steps_per_epoch)" in out and '"interval": "step"' in out


# ------------------------------------------------------------------------------------------------ HF Trainer
def test_hf_trainer_logs_the_previous_update(tmp_path, spec_file, capsys):
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    from schedspec.adapters.transformers import callback, optimizers

    try:
        from .loops import hf_model_and_data, hf_train
    except ImportError:
        from loops import hf_model_and_data, hf_train

    model, train, ev = hf_model_and_data(n=4)
    opts = optimizers(schedspec.load(spec_file), torch.optim.SGD(model.parameters(), lr=0.1))
    hf_train(tmp_path / "run", model, train, ev, opts, [callback(opts)], epochs=6, eval_strategy="no",
             save_strategy="epoch", report_to=["tensorboard"])  # fmt: skip
    state = tmp_path / "run" / f"checkpoint-{N}" / "trainer_state.json"
    assert cli(capsys, spec_file, state, "--logged-as", "previous")[0] == 0
    code, out, _ = cli(capsys, spec_file, state)
    assert code == 1 and "one step late" in out and "--logged-as previous" in out
    runs = tmp_path / "run" / "runs"  # HF's TensorBoard logs: runs/<date_host>/events..., tag train/learning_rate
    assert cli(capsys, spec_file, runs, "--logged-as", "previous")[0] == 0
    lines = tmp_path / "log.jsonl"  # the same history as JSON lines
    lines.write_text("".join(json.dumps(h) + "\n" for h in json.loads(state.read_text())["log_history"]))
    assert verify(spec_file, lines, logged_as="previous").ok


# ------------------------------------------------------------------------------------------------ Keras
def test_keras_fit_applied_and_epoch_end_logs_and_a_recompile_restart(tmp_path, spec_file, capsys):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    spec = schedspec.load(spec_file)

    class Log(keras.callbacks.Callback):
        """What a Keras user logs: the optimizer's lr before each batch (applied) and at each epoch's end."""

        def __init__(self, offset=0):
            super().__init__()
            self.batches, self.epochs, self.offset = [], [], offset

        def _lr(self):
            return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

        def on_train_batch_begin(self, batch, logs=None):
            self.batches.append((self.offset + len(self.batches), self._lr()))

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append({"epoch": epoch, "learning_rate": self._lr()})

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    x = np.zeros((4, 1), dtype="float32")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedspec.to_keras(spec)), loss="mse")
    log = Log()
    model.fit(x, x, batch_size=1, epochs=6, verbose=0, callbacks=[log])
    assert cli(capsys, spec_file, write_csv(tmp_path / "k.csv", log.batches))[0] == 0
    ends = tmp_path / "epochs.jsonl"
    ends.write_text("".join(json.dumps(r) + "\n" for r in log.epochs))
    assert verify(spec_file, ends, logged_as="next").ok and not verify(spec_file, ends).ok
    # compile() again between two fit() calls: a fresh optimizer, whose iterations restart at 0
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedspec.to_keras(spec)), loss="mse")
    more = Log(offset=len(log.batches))
    model.fit(x, x, batch_size=1, epochs=2, verbose=0, callbacks=[more])
    code, out, _ = cli(capsys, spec_file, write_csv(tmp_path / "k2.csv", log.batches + more.batches))
    assert code == 1 and f"restarted from step 0 at step {N}" in out


# ------------------------------------------------------------------------------------------------ epoch specs
def test_epoch_spec_logged_per_update_and_the_reverse_fault(tmp_path, capsys):
    path = tmp_path / "ep.yaml"
    path.write_text("schedspec: 1\ninterval: epoch\nsteps_per_epoch: 4\nlr: {kind: step, start: 0.1, every: 1, gamma: 0.5}\n")
    spec = schedspec.load(str(path))
    rows_ok, rows_bad = [], []
    for s in range(16):
        rows_ok.append((s, float(schedspec.evaluate(spec, s // 4, dtype="float64"))))
        rows_bad.append((s, float(schedspec.evaluate(spec, s, dtype="float64"))))  # stepped per update
    assert cli(capsys, path, write_csv(tmp_path / "ok.csv", rows_ok))[0] == 0
    code, out, _ = cli(capsys, path, write_csv(tmp_path / "bad.csv", rows_bad))
    assert code == 1 and "once per update instead of once per epoch" in out


def test_epoch_spec_without_steps_per_epoch_reads_steps_as_epochs_and_says_so(tmp_path, capsys):
    path = tmp_path / "ep.yaml"
    path.write_text("schedspec: 1\ninterval: epoch\nlr: {kind: step, start: 0.1, every: 1, gamma: 0.5}\n")
    per_epoch = write_csv(tmp_path / "e.csv", [(e, 0.1 * 0.5**e) for e in range(4)])
    code, out, _ = cli(capsys, path, per_epoch)
    assert code == 0 and "read as epochs" in out
    per_update = write_csv(tmp_path / "u.csv", [(3 * e, 0.1 * 0.5**e) for e in range(4)])  # Lightning's steps
    code, out, _ = cli(capsys, path, per_update)
    assert code == 1 and "add steps_per_epoch" in out


def test_group_schedules(tmp_path, capsys):
    path = tmp_path / "g.yaml"
    path.write_text(SPEC + "groups:\n  backbone: {scale: 0.25}\n")
    spec = schedspec.load(str(path))
    rows = [(s, float(v)) for s, v in enumerate(schedspec.evaluate(spec, np.arange(N), group="backbone", dtype="float64"))]
    log = write_csv(tmp_path / "bb.csv", rows)
    assert cli(capsys, path, log, "--group", "backbone")[0] == 0
    code, out, _ = cli(capsys, path, log)
    assert code == 1 and "0.25x the spec's" in out
    assert cli(capsys, path, log, "--group", "head")[0] == 2


# ------------------------------------------------------------------------------------------------ plateau reports
def test_plateau_reports_are_read_from_the_log(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text("schedspec: 1\ninterval: epoch\nlr: {kind: plateau, start: 0.1, monitor: val_loss, patience: 0}\n")
    val = [1.0, 1.1, 1.2, 0.5]
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    lines = []
    for e, m in enumerate(val):
        lines.append(f"{e},{opt.param_groups[0]['lr']!r},\n")
        lines.append(f"{e},,{m!r}\n")
        sched.step(m)
    log = tmp_path / "p.csv"
    log.write_text("step,lr,val_loss\n" + "".join(lines))
    assert cli(capsys, path, log)[0] == 0


# ------------------------------------------------------------------------------------------------ malformed logs
@pytest.mark.parametrize("name, text, message", [
    ("empty.csv", "", "the file is empty"),
    ("blank.csv", "\n\n", "the file is empty"),
    ("nocol.csv", "step,loss\n0,1.0\n", "no column for `lr`"),
    ("nostep.csv", "lr\n0.1\n", "no `step` column"),
    ("text.csv", "step,lr\n0,0.1\n1,abc\n", ":3: 'abc' is not a number (column 'lr')"),
    ("step.csv", "step,lr\n0.5,0.1\n", "is not a whole number"),
    ("two.csv", "step,lr\n0,0.1\n0,0.2\n", "step 0 has two values"),
    ("many.csv", "step,lr-SGD/pg1,lr-SGD/pg2\n0,0.1,0.2\n", "several columns could be `lr`"),
    ("bad.jsonl", '{"step": 0, "lr": 0.1}\nnot json\n', ":2: not a JSON object"),
    ("str.jsonl", '{"step": 0, "lr": "x"}\n', "'x' is not a number"),
    ("bin.csv", b"\xff\xfe\x00", "not a text file"),
])  # fmt: skip
def test_malformed_logs_are_one_line_errors_with_exit_2(tmp_path, spec_file, capsys, name, text, message):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    code, out, err = cli(capsys, spec_file, path)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"schedspec verify: {path}") and message in err
    with pytest.raises(LogError):
        read_log(path)


def test_missing_files_and_directories_are_exit_2(tmp_path, spec_file, capsys):
    code, _, err = cli(capsys, spec_file, tmp_path / "nope.csv")
    assert code == 2 and "cannot read the file" in err
    (tmp_path / "empty_dir").mkdir()
    code, _, err = cli(capsys, spec_file, tmp_path / "empty_dir")
    assert code == 2 and "without TensorBoard event files" in err


def test_column_and_log_steps_options(tmp_path, spec_file, capsys):
    spec = schedspec.load(spec_file)
    rows = torch_loop(spec, N)
    path = tmp_path / "two.csv"
    path.write_text("step,lr-SGD/pg1,lr-SGD/pg2\n" + "".join(f"{s},{v!r},{v / 2!r}\n" for s, v in rows))
    assert cli(capsys, spec_file, path, "--column", "lr-SGD/pg1")[0] == 0
    assert cli(capsys, spec_file, path, "--column", "lr-SGD/pg2")[0] == 1
    per_epoch = tmp_path / "epochs.csv"  # one value per epoch, at the epoch's first update
    per_epoch.write_text("epoch,lr\n" + "".join(f"{e},{rows[4 * e][1]!r}\n" for e in range(N // 4)))
    assert cli(capsys, spec_file, per_epoch)[0] == 0
