"""Real training loops for the integration tests (Lightning, HF Trainer, plain torch, Keras), kept tiny.

Each loop trains one float64 parameter ``p`` whose gradient is exactly 1 (the loss is ``p.sum()``), reset to 0
before each update: after the update ``-p`` is exactly the lr the optimizer applied (SGD, no momentum). The
metric a plateau monitors is a fixed sequence indexed by epoch, so two runs (schedspec and a native scheduler)
see the same reports whatever their lrs.
"""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path


# ------------------------------------------------------------------------------------------------ Lightning
def lightning_module(configure, val_seq=None, poison_sanity=True):
    """A LightningModule class around ``configure(module, optimizer) -> lr_scheduler entry`` (or None).

    Records ``applied`` (the lr each update applied, from the parameter's change) and ``seen`` (the lr in param
    group 0 just before each update). With ``val_seq``, validation logs ``val_loss = val_seq[epoch]``, and
    ``poison_sanity`` logs 0.0 during the sanity check (a report taken from it would be the best value ever seen,
    so every later epoch would count as bad).
    """
    import lightning as L
    import torch

    class Tiny(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
            self.applied: list[float] = []
            self.seen: list[float] = []

        def training_step(self, batch, batch_idx):
            return self.p.sum() + 0.0 * batch[0].sum()

        def on_train_batch_start(self, batch, batch_idx):
            with torch.no_grad():
                self.p.zero_()

        def on_before_optimizer_step(self, optimizer):
            self.seen.append(optimizer.param_groups[0]["lr"])

        def on_train_batch_end(self, outputs, batch, batch_idx):
            self.applied.append(-float(self.p.detach()))

        def validation_step(self, batch, batch_idx):
            if val_seq is not None:
                value = 0.0 if (poison_sanity and self.trainer.sanity_checking) else val_seq[self.current_epoch]
                self.log("val_loss", torch.tensor(float(value), dtype=torch.float64))

        def configure_optimizers(self):
            optimizer = torch.optim.SGD(self.parameters(), lr=0.1)
            entry = configure(self, optimizer)
            return optimizer if entry is None else {"optimizer": optimizer, "lr_scheduler": entry}

    return Tiny


def lightning_fit(tmp: Path, module_cls, epochs: int, batches: int, *, ckpt_path=None, callbacks=(), val=True,
                  lr_monitor: str | None = "default", max_steps: int = -1, accumulate: int = 1,
                  tensorboard: bool = False, **trainer_kw):  # fmt: skip
    """Run ``Trainer.fit`` on CPU; return ``(module, trainer, log)``: the CSVLogger's ``metrics.csv``, or with
    ``tensorboard`` the TensorBoardLogger's directory."""
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import LearningRateMonitor
    from lightning.pytorch.loggers import CSVLogger

    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(batches, 1)), batch_size=1)
    cbs = list(callbacks)
    if lr_monitor is not None:
        cbs.append(LearningRateMonitor(logging_interval=None if lr_monitor == "default" else lr_monitor))
    if tensorboard:
        from lightning.pytorch.loggers import TensorBoardLogger

        logger = TensorBoardLogger(str(tmp), name="tb")
    else:
        logger = CSVLogger(str(tmp), name="logs")
    trainer = L.Trainer(
        max_epochs=epochs, max_steps=max_steps, accelerator="cpu", devices=1, enable_progress_bar=False,
        enable_model_summary=False, logger=logger, log_every_n_steps=1, callbacks=cbs, default_root_dir=str(tmp),
        enable_checkpointing=any(type(c).__name__ == "ModelCheckpoint" for c in cbs),
        accumulate_grad_batches=accumulate, num_sanity_val_steps=2 if val else 0,
        limit_val_batches=1 if val else 0, **trainer_kw,
    )  # fmt: skip
    module = module_cls()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's notices (workers, pytree deprecations): not under test
        trainer.fit(module, train_dataloaders=data, val_dataloaders=data if val else None, ckpt_path=ckpt_path)
    return module, trainer, Path(logger.log_dir) if tensorboard else Path(logger.log_dir) / "metrics.csv"


def read_csv_column(path: Path, column: str) -> dict[int, float]:
    """``{step: value}`` of the rows of a Lightning CSVLogger file that have ``column``."""
    out = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get(column) not in (None, ""):
                out[int(row["step"])] = float(row[column])
    return out


def assert_lrs(ours, ref, what: str = "", rel: float = 1e-12) -> None:
    """Same length and ``|a - b| <= rel * max(|b|, peak)`` elementwise (float64 parity)."""
    assert len(ours) == len(ref), f"{what}: {len(ours)} values vs {len(ref)}"
    peak = max((abs(x) for x in ref), default=0.0)
    for i, (a, b) in enumerate(zip(ours, ref)):
        assert math.isclose(a, b, rel_tol=1e-10, abs_tol=rel * peak), f"{what}: index {i}: {a!r} != {b!r}"



# ------------------------------------------------------------------------------------------------ HF Trainer
def hf_model_and_data(val_seq=None, n: int = 4):
    """A tiny ``nn.Module`` the HF Trainer can train (its loss is ``p.sum()``: gradient 1), and its datasets.

    In evaluation the loss is ``val_seq[epoch]`` (the epoch is set by :func:`hf_recorder`), so ``eval_loss`` is a
    fixed sequence. Returns ``(model, train_dataset, eval_dataset)``.
    """
    import torch

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
            self.epoch = 0

        def forward(self, x=None, labels=None):
            if not self.training and val_seq is not None:
                return {"loss": torch.tensor(float(val_seq[self.epoch]), dtype=torch.float64)}
            return {"loss": self.p.sum() + 0.0 * x.sum()}

    class Data(torch.utils.data.Dataset):
        def __len__(self):
            return n

        def __getitem__(self, i):
            return {"x": torch.zeros(1), "labels": torch.zeros(1)}

    return Tiny(), Data(), Data()


def hf_recorder():
    """A TrainerCallback recording the lr each update applied (``-p`` after the update, ``p`` reset before)."""
    import math

    import torch
    from transformers import TrainerCallback

    class Recorder(TrainerCallback):
        def __init__(self):
            self.applied: list[float] = []

        def on_step_begin(self, args, state, control, model=None, **kw):
            with torch.no_grad():
                model.p.zero_()

        def on_step_end(self, args, state, control, model=None, **kw):
            self.applied.append(-float(model.p.detach()))

        def on_epoch_begin(self, args, state, control, model=None, **kw):
            model.epoch = math.floor(state.epoch or 0)

    return Recorder()


def hf_train(tmp: Path, model, train, evaluation, opts, callbacks, *, epochs: int = 3, resume=None,
             eval_strategy: str = "epoch", save_strategy: str = "epoch", **extra):  # fmt: skip
    """``Trainer(...).train()`` on CPU with one example per batch; returns the trainer."""
    from transformers import Trainer, TrainingArguments

    kw = dict(output_dir=str(tmp), num_train_epochs=epochs, per_device_train_batch_size=1, per_device_eval_batch_size=1,
              logging_steps=1, report_to=[], save_strategy=save_strategy, eval_strategy=eval_strategy, use_cpu=True,
              disable_tqdm=True, max_grad_norm=0.0, seed=0)  # fmt: skip
    args = TrainingArguments(**{**kw, **extra})
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=evaluation, optimizers=opts,
                      callbacks=list(callbacks))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # HF notices about the tiny model: not under test
        trainer.train(resume_from_checkpoint=resume)
    return trainer


# ------------------------------------------------------------------------------------------------ plain torch
def torch_loop(spec, steps: int, mode: str = "right", log: str = "applied", group: int = 0, steps_per_epoch: int = 4):
    """A plain torch loop over ``steps`` updates with ``schedspec.to_torch``; returns ``[(step, logged lr)]``.

    ``log``: ``"applied"`` (the lr update s applied, measured from the parameter's change), ``"next"``
    (``scheduler.get_last_lr()`` after ``scheduler.step()``). Deliberately wrong ``mode``s: ``"early"``
    (``scheduler.step()`` before ``optimizer.step()``), ``"epoch"`` (stepped once per epoch), ``"restart@R"``
    (optimizer and scheduler rebuilt at update R without loading the scheduler's state). ``group=1`` logs a second
    param group created with half the lr.
    """
    import torch

    import schedspec

    params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(2)]

    def build():
        opt = torch.optim.SGD([{"params": [params[0]], "lr": 0.1}, {"params": [params[1]], "lr": 0.05}], lr=0.1)
        return opt, schedspec.to_torch(spec, opt)

    opt, sched = build()
    restart = int(mode.split("@")[1]) if mode.startswith("restart@") else None
    rows = []
    for s in range(steps):
        if s == restart:
            opt, sched = build()
        if mode == "early":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch warns about this order: the fault under test
                sched.step()
        with torch.no_grad():
            for p in params:
                p.zero_()
        opt.zero_grad()
        sum(p.sum() for p in params).backward()
        opt.step()
        applied = -float(params[group].detach())
        if mode in ("right",) or mode.startswith("restart@"):
            sched.step()
        elif mode == "epoch" and (s + 1) % steps_per_epoch == 0:
            sched.step()
        rows.append((s, applied if log == "applied" else sched.get_last_lr()[group]))
    return rows


def write_csv(path: Path, rows, column: str = "lr") -> Path:
    with open(path, "w", newline="") as fh:
        fh.write(f"step,{column}\n")
        fh.writelines(f"{s},{v!r}\n" for s, v in rows)
    return path


# ------------------------------------------------------------------------------------------------ timm
# A faithful mirror of timm (huggingface/pytorch-image-models; timm cannot be installed next to torch 2.13 here):
# ``param_groups_layer_decay`` (timm/optim/_param_groups.py), the ``Scheduler`` base class
# (timm/scheduler/scheduler.py, without noise), ``StepLRScheduler`` and ``PlateauLRScheduler`` (without warmup or
# noise), and the scheduler calls of ``train.py`` (``train_one_epoch`` and the epoch loop of ``main``).
def timm_param_groups_layer_decay(named_params, layer_map, weight_decay=0.05, layer_decay=0.75, min_scale=0.0):
    """timm's ``param_groups_layer_decay`` (``named_params``: ``model.named_parameters()``; ``layer_map``: name ->
    layer id, what timm gets from ``group_matcher`` or ``auto_group_layers``). No group carries an ``lr``."""
    num_layers = max(layer_map.values()) + 1
    layer_max = num_layers - 1
    layer_scales = list(max(min_scale, layer_decay ** (layer_max - i)) for i in range(num_layers))
    param_groups = {}
    for name, param in named_params:
        if not param.requires_grad:
            continue
        if param.ndim <= 1:
            g_decay, this_decay = "no_decay", 0.0
        else:
            g_decay, this_decay = "decay", weight_decay
        layer_id = layer_map.get(name, layer_max)
        this_scale = layer_scales[layer_id]
        group_name = f"layer_{layer_id}_{g_decay}"
        if group_name not in param_groups:
            param_groups[group_name] = {"lr_scale": this_scale, "weight_decay": this_decay, "params": []}
        param_groups[group_name]["params"].append(param)
    return list(param_groups.values())


class TimmScheduler:
    """timm's ``Scheduler`` base class (noise left out): ``step(epoch, metric)`` and ``step_update(num_updates,
    metric)`` set ``value(t) * lr_scale`` per group, each only when ``t_in_epochs`` says it counts that unit."""

    def __init__(self, optimizer, param_group_field="lr", t_in_epochs=True, initialize=True):
        self.optimizer = optimizer
        self.param_group_field = param_group_field
        self._initial_param_group_field = f"initial_{param_group_field}"
        if initialize:
            for i, group in enumerate(self.optimizer.param_groups):
                if param_group_field not in group:
                    raise KeyError(f"{param_group_field} missing from param_groups[{i}]")
                group.setdefault(self._initial_param_group_field, group[param_group_field])
        self.base_values = [group[self._initial_param_group_field] for group in self.optimizer.param_groups]
        self.metric = None
        self.t_in_epochs = t_in_epochs
        self.update_groups(self.base_values)

    def _get_values(self, t, on_epoch=True):
        proceed = (on_epoch and self.t_in_epochs) or (not on_epoch and not self.t_in_epochs)
        if not proceed:
            return None
        return self._get_lr(t)

    def step(self, epoch, metric=None):
        self.metric = metric
        values = self._get_values(epoch, on_epoch=True)
        if values is not None:
            self.update_groups(values)

    def step_update(self, num_updates, metric=None):
        self.metric = metric
        values = self._get_values(num_updates, on_epoch=False)
        if values is not None:
            self.update_groups(values)

    def update_groups(self, values):
        if not isinstance(values, (list, tuple)):
            values = [values] * len(self.optimizer.param_groups)
        for param_group, value in zip(self.optimizer.param_groups, values):
            if "lr_scale" in param_group:
                param_group[self.param_group_field] = value * param_group["lr_scale"]
            else:
                param_group[self.param_group_field] = value


class TimmStepLRScheduler(TimmScheduler):
    """timm's ``StepLRScheduler`` without warmup: ``base * decay_rate ** (t // decay_t)``."""

    def __init__(self, optimizer, decay_t, decay_rate=1.0, t_in_epochs=True):
        super().__init__(optimizer, param_group_field="lr", t_in_epochs=t_in_epochs)
        self.decay_t = decay_t
        self.decay_rate = decay_rate

    def _get_lr(self, t):
        return [v * (self.decay_rate ** (t // self.decay_t)) for v in self.base_values]


class TimmPlateauLRScheduler(TimmScheduler):
    """timm's ``PlateauLRScheduler`` without warmup or noise: torch's ``ReduceLROnPlateau`` stepped by
    ``step(epoch, metric)`` when a metric is given; ``step_update`` does nothing."""

    def __init__(self, optimizer, decay_rate=0.1, patience_t=10, threshold=1e-4, cooldown_t=0, lr_min=0.0,
                 mode="max"):  # fmt: skip
        import torch

        super().__init__(optimizer, "lr")
        self.lr_scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, patience=patience_t, factor=decay_rate, threshold=threshold, cooldown=cooldown_t,
            mode=mode, min_lr=lr_min,
        )  # fmt: skip

    def step(self, epoch, metric=None):
        if metric is not None:
            self.lr_scheduler.step(metric)

    def step_update(self, num_updates, metric=None):
        return None


def timm_model(layers: int = 4):
    """A tiny layered model for layer decay: per layer a 2-d float64 weight and a 1-d bias (the two weight-decay
    groups of timm), ``layer_map``: embed 0, blocks 1..layers, head layers + 1. Returns (named params, layer_map)."""
    import torch

    named, layer_map = [], {}
    names = ["embed", *(f"blocks.{i}" for i in range(layers)), "head"]
    for i, name in enumerate(names):
        for kind, shape in (("weight", (1, 1)), ("bias", (1,))):
            named.append((f"{name}.{kind}", torch.nn.Parameter(torch.zeros(shape, dtype=torch.float64))))
            layer_map[f"{name}.{kind}"] = i
    return named, layer_map


def timm_train(optimizer, params, lr_scheduler, *, epochs: int, batches: int, start_epoch: int = 0,
               val_seq=None, val_interval: int = 1, grad_accum_steps: int = 1, sched_on_updates: bool = False,
               resume: bool = False):  # fmt: skip
    """The scheduler calls of timm's ``train.py`` around real SGD updates; returns, per update, the lr each param
    group applied (every parameter has gradient exactly 1 and is reset to 0 first: its change is ``-lr``).

    ``resume``: the calls ``main`` makes before the loop when it starts at ``start_epoch > 0`` (``step_update(
    start_epoch * updates_per_epoch)`` with ``--sched-on-updates``, else ``step(start_epoch)``). ``val_seq[e]``
    is the validation metric of epoch ``e`` (None: ``loader_eval`` is None and the metric is the training loss
    average, here 1.0); validation runs when ``(epoch + 1) % val_interval == 0`` or at the last epoch.
    """
    import torch

    updates_per_epoch = (batches + grad_accum_steps - 1) // grad_accum_steps
    if resume and start_epoch > 0:
        if sched_on_updates:
            lr_scheduler.step_update(start_epoch * updates_per_epoch)
        else:
            lr_scheduler.step(start_epoch)
    applied = []
    for epoch in range(start_epoch, epochs):
        # train_one_epoch
        accum_steps = grad_accum_steps
        last_accum_steps = batches % accum_steps
        num_updates = epoch * updates_per_epoch
        last_batch_idx = batches - 1
        last_batch_idx_to_accum = batches - last_accum_steps
        for batch_idx in range(batches):
            last_batch = batch_idx == last_batch_idx
            need_update = last_batch or (batch_idx + 1) % accum_steps == 0
            if batch_idx >= last_batch_idx_to_accum:
                accum_steps = last_accum_steps
            if not need_update:
                continue
            for p in params:
                p.grad = torch.ones_like(p)
                with torch.no_grad():
                    p.zero_()
            optimizer.step()
            applied.append([-float(p.detach().reshape(-1)[0]) for p in params])
            num_updates += 1
            optimizer.zero_grad()
            lr_scheduler.step_update(num_updates=num_updates, metric=1.0)
        # main's epoch loop
        epoch_p_1 = epoch + 1
        if epoch_p_1 % val_interval != 0 and epoch_p_1 != epochs:
            lr_scheduler.step(epoch_p_1, metric=None)
            continue
        latest_metric = val_seq[epoch] if val_seq is not None else 1.0
        lr_scheduler.step(epoch_p_1, latest_metric)
    return applied
