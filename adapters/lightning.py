"""PyTorch Lightning: a spec as the ``lr_scheduler`` entry of ``configure_optimizers``.

::

    from schedspec.adapters.lightning import scheduler_config

    class Model(lightning.LightningModule):
        def configure_optimizers(self):
            optimizer = torch.optim.AdamW(self.parameters(), lr=3e-4)
            return {"optimizer": optimizer, "lr_scheduler": scheduler_config("run.yaml", optimizer, module=self)}

What Lightning 2.x does with the returned dict (``lightning/pytorch/core/optimizer.py``,
``_configure_schedulers_automatic_opt``; ``loops/training_epoch_loop.py``, ``_update_learning_rates``):

* ``interval`` is the spec's (``step``: after every optimizer update, never during gradient accumulation;
  ``epoch``: after each training epoch), ``frequency`` is 1 (the spec counts every interval unit). Update ``k`` then
  uses ``value(k)``, which is what ``LearningRateMonitor`` logs at step ``k``. Resume
  (``trainer.fit(model, ckpt_path=...)``) is exact: Lightning saves the scheduler's ``state_dict()``.
* Refused with a :class:`schedspec.SpecError` naming the spec position: an ``interval=`` or ``frequency=``
  argument that contradicts the spec (an ``interval: epoch`` spec stepped per batch runs ``steps_per_epoch``
  times too fast).

A spec with a ``plateau``, two ways, no hook to override in either:

* ``module=self`` (recommended): the config stays a plain one (the spec's interval; Lightning steps the
  scheduler) and a :class:`PlateauReports` callback is put first in ``trainer.callbacks``. When a validation ends
  (never the sanity check) while the schedule waits for a report (its step has just crossed the end of one of the
  plateau's intervals), it reports ``trainer.callback_metrics[monitor]``. Running before ``ModelCheckpoint``, it
  makes every checkpoint hold the reports made so far, and Lightning calls it in the epoch a run resumes in: a
  resume is exact from any checkpoint. Several metrics and any ``every`` work, as long as a validation runs at
  the end of each interval; an update whose lr waits for a report no validation gave is refused.
* Without ``module``: the config has ``reduce_on_plateau: True`` and ``monitor``, so Lightning calls the scheduler
  at the end of every training epoch, after validation, with ``trainer.callback_metrics[monitor]``
  (``LightningModule.lr_scheduler_step`` passes it as ``scheduler.step(metric)``), exactly as it feeds
  ``ReduceLROnPlateau``; sanity-check validation is never a report (Lightning clears ``callback_metrics`` after
  it). The scheduler is then a :class:`LightningPlateauLR`: with ``interval: epoch`` that call also steps the
  schedule; with ``interval: step`` the schedule steps after every optimizer update (an optimizer step hook) and
  the call only hands over the report (the config's interval is ``epoch``: log every update with
  ``LearningRateMonitor(logging_interval="step")``). Refused: a plateau whose ``every`` is not a whole number of
  epochs, a ``step`` plateau without ``steps_per_epoch``, plateaus on several metrics; at run time, epochs without
  ``steps_per_epoch`` updates. Such a plateau cannot be resumed: Lightning 2.x never gives a plateau scheduler the
  metric of the epoch a run resumes in (an end-of-epoch checkpoint is written before plateau schedulers are
  stepped, the fit loop skips them at the end of a restarted epoch, and metrics are not saved), so Lightning's own
  ``ReduceLROnPlateau`` silently resumes one report late; :class:`LightningPlateauLR` refuses such a resume at its
  first update, with a ``ValueError`` that says why (and to pass ``module=self``).
"""

from __future__ import annotations

import importlib
import weakref
from typing import Any

from schedspec import _metrics
from schedspec.errors import MissingDependency, SpecError
from schedspec.spec import Spec, load

from ._facade import Facade
from .torch import DEFAULT_BLOCK, SchedSpecLR, to_torch

__all__ = ["LightningPlateauLR", "PlateauReports", "scheduler_config"]


def _plateau_sites(spec: Spec) -> list[tuple[tuple, _metrics.Site]]:
    """``(document path of the plateau, site)`` of every plateau in the bound spec (vars applied)."""
    program = spec.program
    bound = spec.bound(program.sweep_members()[0] if program.sweep_vars else None)
    out = []
    for root, node in _metrics.schedules(bound):
        for site in _metrics.sites(node):
            out.append((_metrics.site_path(root, site), site))
    return out


def _interval_issue(spec: Spec, message: str):
    doc = spec.doc
    return doc.issue(("interval",), message, key=True) if "interval" in (doc.data or {}) else \
        doc.issue((), message)  # fmt: skip


def scheduler_config(
    spec: Spec | str | dict,
    optimizer: Any,
    *,
    hparam: str = "lr",
    vars: dict[str, Any] | None = None,
    hparams: list[str] | None = None,
    groups: dict[str, Any] | None = None,
    block_size: int = DEFAULT_BLOCK,
    name: str | None = None,
    interval: str | None = None,
    frequency: int = 1,
    monitor: str | None = None,
    strict: bool = True,
    module: Any = None,
) -> dict[str, Any]:
    """Lightning's ``lr_scheduler`` dict for ``optimizer`` running ``spec``; see the module documentation.

    Args:
        spec: a :class:`schedspec.Spec`, a path to a YAML file, or a dict.
        optimizer: the ``torch.optim.Optimizer`` that ``configure_optimizers`` returns with it.
        hparam, vars, hparams, groups, block_size: as for :func:`schedspec.to_torch`.
        name: Lightning's logging name for ``LearningRateMonitor`` (default ``lr-<Optimizer>``).
        interval: ``"step"`` or ``"epoch"``; only accepted when it is the spec's own (default: the spec's).
        frequency: only 1 (the spec counts every interval unit; write a slower schedule in the spec instead).
        monitor: only the metric the spec's plateaus monitor (default: it).
        strict: Lightning's ``strict`` for the ``reduce_on_plateau`` path: stop when ``monitor`` was not logged.
        module: the ``LightningModule`` (``self`` in ``configure_optimizers``). For a spec with a plateau, the
            reports are then given by a callback this adds to the trainer (see the module documentation), which
            makes resume exact; without it, Lightning's ``reduce_on_plateau`` path is used.

    Returns:
        ``{"scheduler", "interval", "frequency", "name"}`` with a :class:`schedspec.adapters.torch.SchedSpecLR`;
        for a spec with a plateau and no ``module``, ``"interval": "epoch"``, ``"reduce_on_plateau": True``,
        ``"monitor"`` and ``"strict"``, with a :class:`LightningPlateauLR` over the scheduler.

    Raises:
        SpecError: the spec is invalid, cannot run on ``optimizer`` (see :func:`schedspec.to_torch`), or cannot
            match Lightning's loop (see the module documentation).
        ValueError: ``frequency`` is not 1.
    """
    spec = load(spec)
    if vars:
        spec = spec.with_vars(dict(vars))
    program = spec.program
    unit = program.interval
    if interval is not None and interval != unit:
        why = (f"Lightning would step it once per batch, {program.steps_per_epoch or 'steps_per_epoch'} times too fast"
               if unit == "epoch" else "Lightning would step it once per epoch, far too slowly")  # fmt: skip
        raise SpecError([_interval_issue(spec, f"scheduler_config(interval={interval!r}): the spec counts {unit}s "
                                               f"(`interval: {unit}`), so {why}; drop interval= (it is taken from "
                                               "the spec) or change the spec's `interval`")])  # fmt: skip
    if frequency != 1:
        raise ValueError(f"scheduler_config(frequency={frequency!r}): the spec's k counts every {unit}, so Lightning "
                         f"must step it every {unit} (frequency 1); write the slower schedule in the spec instead")
    sched = to_torch(spec, optimizer, hparam=hparam, hparams=hparams, groups=groups, block_size=block_size)
    sites = _plateau_sites(spec)
    config: dict[str, Any] = {"scheduler": sched, "interval": unit, "frequency": 1, "name": name}
    if sites and module is not None:
        names = list(dict.fromkeys(site.monitor for _, site in sites))
        if monitor is not None and monitor not in names:
            raise ValueError(f"scheduler_config(monitor={monitor!r}): the spec's plateaus monitor {', '.join(names)}; "
                             "drop monitor= (it is taken from the spec)")  # fmt: skip
        _attach_reports(module, sched, spec, names)
        return config
    if not sites:
        if monitor is not None:
            raise ValueError(f"scheduler_config(monitor={monitor!r}): {spec.name!r} has no `plateau`, nothing "
                             "monitors a metric")  # fmt: skip
        return config
    names = list(dict.fromkeys(site.monitor for _, site in sites))
    issues = []
    if len(names) > 1:
        issues += [spec.doc.issue(path, f"this plateau monitors '{site.monitor}', another one "
                                        f"'{names[0] if site.monitor != names[0] else names[1]}': Lightning feeds one "
                                        "metric per scheduler (its `monitor`); pass scheduler_config(..., module=self), or "
                                        "monitor one metric in the whole spec",
                                  ) for path, site in sites]  # fmt: skip
    if monitor is not None and monitor not in names:
        raise ValueError(f"scheduler_config(monitor={monitor!r}): the spec's plateaus monitor {', '.join(names)}; "
                         "drop monitor= (it is taken from the spec)")  # fmt: skip
    spe = program.steps_per_epoch
    path, site = sites[0]
    if unit == "step" and spe is None:
        issues.append(spec.doc.issue(path, "Lightning gives a plateau its metric at the end of each training epoch, "
                                           "and this spec counts steps: add `steps_per_epoch` (optimizer updates "
                                           "per epoch) so that the reports can be placed, or pass "
                                           "scheduler_config(..., module=self)"))  # fmt: skip
    elif site.every % (spe if unit == "step" else 1):
        issues.append(spec.doc.issue(path, f"this plateau reports every {site.every} steps, which is not a whole "
                                           f"number of epochs ({spe} steps): Lightning gives a plateau scheduler its "
                                           "metric at epoch ends only; make `every` a multiple of 1ep, or pass "
                                           "scheduler_config(..., module=self)"))  # fmt: skip
    if issues:
        raise SpecError(issues)
    epochs_per_report = site.every // (spe if unit == "step" else 1)
    config["scheduler"] = LightningPlateauLR(sched, spec, names[0], epochs_per_report)
    config.update(interval="epoch", reduce_on_plateau=True, monitor=names[0], strict=strict)
    return config


def _hooks(ref):
    """Optimizer step hooks: before an update, the checks; after it, count it (and step an ``interval: step``
    schedule)."""

    def pre(optimizer, args, kwargs):
        facade = ref()
        if facade is not None:
            facade._before_update()

    def post(optimizer, args, kwargs):
        facade = ref()
        if facade is not None:
            facade._after_update()

    return pre, post


class LightningPlateauLR(Facade):
    """The scheduler of a spec with a ``plateau`` under Lightning (built by :func:`scheduler_config`).

    Lightning calls ``step(metric)`` at the end of every training epoch, after validation. With ``interval: epoch``
    that takes the metric as the plateau's report when the epoch ends a report interval (``every`` epochs) and
    steps the schedule. With ``interval: step`` the schedule steps after every optimizer update (a step
    post-hook) and ``step(metric)`` only hands over the report, after checking that the epoch had
    ``steps_per_epoch`` updates.

    Attributes:
        scheduler: the wrapped :class:`schedspec.adapters.torch.SchedSpecLR`.
        monitor: the metric's name.
        interval: the spec's interval.
        epoch_ends: how many epoch ends Lightning has reported; ``updates``: optimizer updates seen;
            ``updates_at_end``: ``updates`` at the last epoch end; ``epoch_len``: updates per epoch (the spec's
            ``steps_per_epoch`` for ``interval: step``, else learnt from the first epoch). All saved in checkpoints.
    """

    _OWN = ("epoch_ends", "updates", "updates_at_end", "epoch_len")

    def __init__(self, scheduler: SchedSpecLR, spec: Spec, monitor: str, epochs_per_report: int) -> None:
        super().__init__(scheduler)
        self.monitor = monitor
        self.interval = spec.program.interval
        self.epochs_per_report = epochs_per_report
        self.epoch_ends = 0
        self.updates = 0
        self.updates_at_end = 0
        self.epoch_len: int | None = spec.program.steps_per_epoch if self.interval == "step" else None
        self._spec = spec
        self._resumed_mid_epoch: tuple[int, int] | None = None  # (epoch, updates into it) of a refused resume
        pre, post = _hooks(weakref.ref(self))
        optimizer = scheduler.optimizer
        self._hooks = [optimizer.register_step_pre_hook(pre), optimizer.register_step_post_hook(post)]
        # run the checks before the wrapped scheduler's own pre-hook (which only knows that a report is missing)
        order = getattr(optimizer, "_optimizer_step_pre_hooks", None)
        if hasattr(order, "move_to_end"):
            order.move_to_end(self._hooks[0].id, last=False)

    def _before_update(self) -> None:
        if self._resumed_mid_epoch is not None:
            self._refuse_resume(*self._resumed_mid_epoch)
        if self.interval == "step" and self.updates - self.updates_at_end >= self.epoch_len:
            self._epoch_mismatch(self.epoch_ends, f"more than {self.epoch_len}")

    def _epoch_mismatch(self, epoch: int, n: Any) -> None:
        raise SpecError([self._spec.doc.issue(("steps_per_epoch",), f"Lightning's training epoch {epoch} had {n} "
                                              f"optimizer updates, but the spec has steps_per_epoch: "
                                              f"{self.epoch_len}, so the plateau's reports would fall at the wrong "
                                              "steps; set steps_per_epoch to len(train_dataloader) // "
                                              "accumulate_grad_batches", key=True)])  # fmt: skip

    def _after_update(self) -> None:
        self.updates += 1
        if self.interval == "step":
            self.scheduler.step()

    def step(self, metric: Any = None) -> None:  # type: ignore[override]
        """The end of a training epoch, with ``metric`` (Lightning's ``callback_metrics[monitor]``).

        Raises:
            ValueError: no metric was given, or the run resumed from an end-of-epoch checkpoint that lacks a report.
            SpecError: (``interval: step``) the epoch did not have ``steps_per_epoch`` updates.
        """
        if metric is None:
            raise ValueError(f"{type(self).__name__}.step() takes the epoch's '{self.monitor}' (Lightning passes it "
                             "as scheduler.step(metric) at each epoch end)")  # fmt: skip
        epoch, n = self.epoch_ends, self.updates - self.updates_at_end
        if self._resumed_mid_epoch is not None:
            self._refuse_resume(*self._resumed_mid_epoch)
        if self.epoch_len is None:
            self.epoch_len = n
        elif self.interval == "step" and n != self.epoch_len:
            self._epoch_mismatch(epoch, n)
        if (epoch + 1) % self.epochs_per_report == 0:
            self.scheduler.report(self.monitor, metric)
        if self.interval == "epoch":
            self.scheduler.step()
        self.epoch_ends, self.updates_at_end = epoch + 1, self.updates

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a checkpoint's state (see :meth:`Facade.load_state_dict`); see :meth:`_refuse_resume`."""
        super().load_state_dict(state_dict)
        since = self.updates - self.updates_at_end
        self._resumed_mid_epoch = (self.epoch_ends, since) if since > 0 else None

    def _refuse_resume(self, epoch: int, since: int) -> None:
        """Lightning (2.x) never gives a plateau the report of the epoch a run resumes in.

        An end-of-epoch checkpoint is written before Lightning's end-of-epoch plateau call, and in the epoch a run
        resumes in, the fit loop skips that call (``fit_loop.on_advance_end``: ``if not self.restarting``); no
        metric is saved. A checkpoint taken after ``since > 0`` updates of epoch ``epoch`` thus resumes without
        report ``epoch``: the run would continue one report late (Lightning's own ``ReduceLROnPlateau`` silently
        does). Refused at the first update after the resume.
        """
        raise ValueError(
            f"cannot resume this plateau: the checkpoint was saved {since} update{'s' if since != 1 else ''} into "
            f"training epoch {epoch}, and Lightning never gives a plateau scheduler the '{self.monitor}' of the "
            "epoch a run resumes in (its fit loop skips plateau schedulers at the end of a restarted epoch, an "
            "end-of-epoch checkpoint is written before they are stepped, and metrics are not saved), so the "
            "resumed run would apply every later reduction one epoch late (Lightning's own ReduceLROnPlateau "
            "silently does). Build the scheduler with scheduler_config(spec, optimizer, module=self): its reports "
            "are then saved in every checkpoint and a resume is exact"
        )


# ------------------------------------------------------------------------------------------------ module=self
def _attach_reports(module: Any, sched: SchedSpecLR, spec: Spec, names: list[str]) -> None:
    """Put a :class:`PlateauReports` callback first in ``module.trainer.callbacks`` (replacing an earlier one)."""
    trainer = getattr(module, "_trainer", None) or getattr(module, "trainer", None)
    callbacks = getattr(trainer, "callbacks", None)
    if not isinstance(callbacks, list):
        raise ValueError("scheduler_config(..., module=...): pass the LightningModule from configure_optimizers "
                         "(self), attached to a Trainer")  # fmt: skip
    callbacks[:] = [c for c in callbacks if not isinstance(c, PlateauReports)]
    callbacks.insert(0, PlateauReports(sched, spec, names))


def _lightning_callback_base():
    """``lightning.pytorch.Callback`` (or the standalone ``pytorch_lightning``'s)."""


    for name in ("lightning.pytorch", "pytorch_lightning"):
        try:
            return importlib.import_module(name).Callback
        except ImportError:
            continue
    raise MissingDependency("lightning", "integrations")


class PlateauReports(_lightning_callback_base()):
    """The plateau reports of a spec under Lightning, taken by a callback (``scheduler_config(..., module=self)``).

    Lightning steps the scheduler itself (``interval`` from the spec). When a validation ends (never the sanity
    check) while the schedule waits for a report (its step has just crossed the end of a report interval), the
    report is ``trainer.callback_metrics[monitor]``. The callback runs first, before ``ModelCheckpoint``, so a
    checkpoint written at that validation or at the epoch's end holds the report, and a resumed run gets the
    report of the epoch it resumes in (Lightning calls callbacks there, where it skips plateau schedulers).

    Raises (during ``fit``):
        ValueError: an update's lr waits for a report and no validation gave it (validation must run at the end
            of each of the plateau's intervals: every epoch for ``every: 1ep``, or ``val_check_interval``), or
            the validation has no such metric.
    """

    def __init__(self, scheduler: SchedSpecLR, spec: Spec, monitors: list[str]) -> None:
        self.scheduler = scheduler
        self.spec = spec
        self.monitors = monitors

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        for name, _ in self.scheduler.waiting():
            given = len(self.scheduler.reports[name])
            value = trainer.callback_metrics.get(name)
            if value is None:
                raise ValueError(f"the plateau of {self.spec.name!r} needs report {given} of '{name}' now, but "
                                 f"this validation logged no '{name}' (logged: "
                                 f"{', '.join(sorted(trainer.callback_metrics)) or 'nothing'}); log it in "
                                 "validation_step with self.log")  # fmt: skip
            self.scheduler.report(name, value)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        waiting = self.scheduler.waiting()
        if waiting:
            name, need = waiting[0]
            every = self.scheduler.report_every[name]
            unit = "epochs" if self.spec.program.interval == "epoch" else "updates"
            raise ValueError(
                f"update {trainer.global_step} of {self.spec.name!r} uses the value after report {need - 1} of "
                f"'{name}' (the metric at the end of {unit} {(need - 1) * every}.."
                f"{need * every - 1}), but no validation ran since: validate at the end of every {every} "
                f"{unit} (check_val_every_n_epoch=1 with steps_per_epoch matching the loop's epochs, or "
                "val_check_interval)"
            )
