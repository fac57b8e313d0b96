"""Hugging Face ``transformers.Trainer``: a spec as the Trainer's scheduler, with plateau reports ``on_evaluate``.

::

    from schedspec.adapters.transformers import callback, optimizers

    opts = optimizers("run.yaml", torch.optim.AdamW(model.parameters(), lr=3e-4))
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=val,
                      optimizers=opts, callbacks=[callback(opts)])
    trainer.train()                  # resume: trainer.train(resume_from_checkpoint=True)

What the Trainer (``Trainer._inner_training_loop``; measured with transformers 5.24) does with them:

* It calls ``scheduler.step()`` once after every optimizer update (never during gradient accumulation, nor after
  an update that mixed precision skipped), so update ``k`` uses ``value(k)`` for a spec with ``interval: step``.
  With ``interval: epoch`` the scheduler is an :class:`EpochsFromUpdates` that moves to epoch ``e`` after
  ``e * steps_per_epoch`` updates (the spec needs ``steps_per_epoch``; the callback checks at every epoch end that
  the Trainer's epochs have that many updates, ``len(train_dataloader) // gradient_accumulation_steps``).
* Its ``learning_rate`` log at ``step`` s is ``get_last_lr()`` read *before* that update's ``scheduler.step()``:
  the lr of update ``s - 1`` (``schedspec verify --logged-as previous``; another release may log another step's
  value: ``verify``'s diagnosis then names the ``--logged-as`` to try).
* It saves ``scheduler.state_dict()`` in every checkpoint (``scheduler.pt``) and loads it on
  ``train(resume_from_checkpoint=...)``: resume is exact, plateau reports included (the Trainer evaluates before
  it saves, so a checkpoint holds the report of its own evaluation).
* A spec with a ``plateau``: :func:`callback` takes report ``j`` from the metrics of the evaluation made at
  update ``(j + 1) * every`` (``on_evaluate``, so ``eval_strategy`` must evaluate at the end of each of the
  plateau's intervals: ``"epoch"`` for ``every: 1ep``, or ``"steps"`` with ``eval_steps`` dividing ``every``).
  The metric is ``metrics[monitor]``, or ``metrics["eval_" + monitor]`` (``monitor: loss`` reads ``eval_loss``).
  Other evaluations are not reports: one before training (``trainer.evaluate()`` at step 0), one in the middle of
  an interval, or a second one at the same step. An update whose lr waits for a report that no evaluation gave
  is refused before it runs, saying which evaluation is missing. (The Trainer's own ``ReduceLROnPlateau``
  support does not apply: it is keyed on that class and on ``metric_for_best_model``.)

Without the callback the schedule still runs (and resumes) exactly, but a plateau gets no reports and the
epoch-length check is not made.
"""

from __future__ import annotations

import weakref
from typing import Any

from schedspec import _metrics
from schedspec.errors import SpecError, require
from schedspec.spec import Spec, load

from ._facade import Facade
from .torch import DEFAULT_BLOCK, SchedSpecLR, to_torch

_transformers = require("transformers", "integrations")
TrainerCallback = _transformers.TrainerCallback

__all__ = ["EpochsFromUpdates", "SchedSpecCallback", "callback", "optimizers"]


class EpochsFromUpdates(Facade):
    """An ``interval: epoch`` schedule stepped once per optimizer update: epoch ``e = updates // steps_per_epoch``.

    The Trainer calls :meth:`step` after every update; the wrapped scheduler steps once per ``steps_per_epoch``
    of them. ``updates`` is saved in checkpoints.
    """

    _OWN = ("updates",)

    def __init__(self, scheduler: SchedSpecLR, steps_per_epoch: int) -> None:
        super().__init__(scheduler)
        self.steps_per_epoch = steps_per_epoch
        self.updates = 0

    def step(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """One optimizer update done (the Trainer passes no argument)."""
        if args or kwargs:
            raise TypeError("EpochsFromUpdates.step() takes no argument: the Trainer calls it once per update")
        self.updates += 1
        if self.updates % self.steps_per_epoch == 0:
            self.scheduler.step()


def optimizers(
    spec: Spec | str | dict,
    optimizer: Any,
    *,
    hparam: str = "lr",
    vars: dict[str, Any] | None = None,
    hparams: list[str] | None = None,
    groups: dict[str, Any] | None = None,
    block_size: int = DEFAULT_BLOCK,
) -> tuple[Any, Any]:
    """``(optimizer, scheduler)`` for ``Trainer(optimizers=...)``: the scheduler runs ``spec`` once per update.

    Args:
        spec: a :class:`schedspec.Spec`, a path to a YAML file, or a dict.
        optimizer: a ``torch.optim.Optimizer`` over the model's parameters.
        hparam, vars, hparams, groups, block_size: as for :func:`schedspec.to_torch`.

    Returns:
        ``(optimizer, scheduler)``; the scheduler is a :class:`schedspec.adapters.torch.SchedSpecLR`, or an
        :class:`EpochsFromUpdates` over one for ``interval: epoch``. It carries the spec as ``scheduler.spec``.

    Raises:
        SpecError: the spec is invalid or cannot run on ``optimizer`` (see :func:`schedspec.to_torch`), or has
            ``interval: epoch`` without ``steps_per_epoch`` (the Trainer counts updates).
    """
    spec = load(spec)
    if vars:
        spec = spec.with_vars(dict(vars))
    program = spec.program
    if program.interval == "epoch" and program.steps_per_epoch is None:
        raise SpecError([spec.doc.issue(("interval",), "`interval: epoch` counts epochs, but the HF Trainer steps the "
                                        "scheduler once per optimizer update: add `steps_per_epoch` (updates per "
                                        "epoch: len(train_dataloader) // gradient_accumulation_steps)", key=True)])  # fmt: skip
    sched: Any = to_torch(spec, optimizer, hparam=hparam, hparams=hparams, groups=groups, block_size=block_size)
    if program.interval == "epoch":
        sched = EpochsFromUpdates(sched, int(program.steps_per_epoch))
    sched.spec = spec
    return optimizer, sched


def callback(opts: Any) -> SchedSpecCallback:
    """The ``TrainerCallback`` that feeds the plateau reports and checks the loop; see :class:`SchedSpecCallback`.

    Args:
        opts: what :func:`optimizers` returned (or its scheduler).
    """
    sched = opts[1] if isinstance(opts, tuple) else opts
    return SchedSpecCallback(sched)


def _inner(sched: Any) -> SchedSpecLR:
    return sched.scheduler if isinstance(sched, Facade) else sched


def _given(inner: SchedSpecLR, name: str) -> int:
    """How many reports of ``name`` the scheduler holds."""
    return len(inner.reports[name])


class SchedSpecCallback(TrainerCallback):
    """Plateau reports from ``on_evaluate``, and the checks that the Trainer runs the spec as written.

    Args:
        scheduler: the scheduler :func:`optimizers` returned (it must carry ``.spec``).

    Raises (during ``trainer.train()``):
        ValueError: the Trainer runs another scheduler than this one (``optimizers=`` was not passed), or an
            update's lr waits for a plateau report that no evaluation gave, or the evaluation that should give
            one has no such metric.
        SpecError: (``interval: epoch``, or a plateau) the Trainer's epochs do not have ``steps_per_epoch``
            updates.
    """

    def __init__(self, scheduler: Any) -> None:
        spec = getattr(scheduler, "spec", None)
        if spec is None:
            raise TypeError("callback(...) takes what schedspec.adapters.transformers.optimizers(...) returned")
        self.spec: Spec = spec
        self._sched = weakref.proxy(scheduler)
        self._sched_id = id(scheduler)
        program = spec.program
        bound = spec.bound(program.sweep_members()[0] if program.sweep_vars else None)
        self.sites = [s for _, node in _metrics.schedules(bound) for s in _metrics.sites(node)]
        self.monitors = list(dict.fromkeys(s.monitor for s in self.sites))
        scale = int(program.steps_per_epoch) if program.interval == "epoch" else 1
        self.every = {s.monitor: s.every * scale for s in self.sites}  # in optimizer updates

    # ------------------------------------------------------------------ checks
    def on_train_begin(self, args, state, control, lr_scheduler=None, **kwargs):
        if lr_scheduler is not None and id(lr_scheduler) != self._sched_id:
            raise ValueError(f"the Trainer runs {type(lr_scheduler).__name__}, not the schedspec scheduler of "
                             f"{self.spec.name!r}: pass Trainer(optimizers=opts, callbacks=[callback(opts)]) with "
                             "opts = schedspec.adapters.transformers.optimizers(spec, optimizer)")  # fmt: skip

    def on_step_begin(self, args, state, control, **kwargs):
        pending = _inner(self._sched).waiting()
        if pending:
            name, need = pending[0]
            every = self.every[name]
            raise ValueError(
                f"update {state.global_step} of {self.spec.name!r} needs report {need - 1} of '{name}', the "
                f"metric of the evaluation at update {need * every}, but no evaluation gave it: evaluate at the end "
                f"of every {every} updates (eval_strategy='steps' with eval_steps={every}"
                f"{', or eval_strategy=' + repr('epoch') if self.spec.program.steps_per_epoch else ''}) and put "
                f"'{name}' (or 'eval_{name}') in the metrics"
            )

    def on_epoch_end(self, args, state, control, **kwargs):
        spe = self.spec.program.steps_per_epoch
        if spe is None or control.should_training_stop or state.global_step >= state.max_steps:
            return
        if self.spec.program.interval != "epoch" and not self.sites:
            return  # steps_per_epoch is only a unit for writing durations here
        epoch = round(state.epoch or 0)
        if state.global_step != epoch * spe:
            raise SpecError([self.spec.doc.issue(("steps_per_epoch",), f"after {epoch} epoch{'s' if epoch != 1 else ''} "
                                                 f"the Trainer had made {state.global_step} optimizer updates, but the "
                                                 f"spec's steps_per_epoch: {spe} makes {epoch * spe}: set it to "
                                                 "len(train_dataloader) // gradient_accumulation_steps", key=True)])  # fmt: skip

    # ------------------------------------------------------------------ reports
    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not self.sites:
            return
        inner = _inner(self._sched)
        s = state.global_step
        for name in self.monitors:
            every = self.every[name]
            j = s // every - 1
            if s % every or j != _given(inner, name):
                continue  # not the end of a report interval, or its report was already taken
            metrics = metrics or {}
            key = name if name in metrics else f"eval_{name}"
            if key not in metrics:
                raise ValueError(f"the evaluation at update {s} is report {j} of '{name}' for {self.spec.name!r}, "
                                 f"but its metrics have no '{name}' nor 'eval_{name}' (they have: "
                                 f"{', '.join(sorted(metrics)) or 'none'})")  # fmt: skip
            inner.report(name, metrics[key])
