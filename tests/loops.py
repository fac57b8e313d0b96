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
                  lr_monitor: str | None = "default", max_steps: int = -1, accumulate: int = 1):  # fmt: skip
    """Run ``Trainer.fit`` on CPU; return ``(module, trainer, metrics.csv path)``."""
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import LearningRateMonitor
    from lightning.pytorch.loggers import CSVLogger

    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(batches, 1)), batch_size=1)
    cbs = list(callbacks)
    if lr_monitor is not None:
        cbs.append(LearningRateMonitor(logging_interval=None if lr_monitor == "default" else lr_monitor))
    logger = CSVLogger(str(tmp), name="logs")
    trainer = L.Trainer(
        max_epochs=epochs, max_steps=max_steps, accelerator="cpu", devices=1, enable_progress_bar=False,
        enable_model_summary=False, logger=logger, log_every_n_steps=1, callbacks=cbs, default_root_dir=str(tmp),
        enable_checkpointing=any(type(c).__name__ == "ModelCheckpoint" for c in cbs),
        accumulate_grad_batches=accumulate, num_sanity_val_steps=2 if val else 0,
        limit_val_batches=1 if val else 0,
    )  # fmt: skip
    module = module_cls()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's notices (workers, pytree deprecations): not under test
        trainer.fit(module, train_dataloaders=data, val_dataloaders=data if val else None, ckpt_path=ckpt_path)
    return module, trainer, Path(logger.log_dir) / "metrics.csv"


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

