"""PyTorch runtime adapter: a schedspec schedule as a ``torch.optim.lr_scheduler.LRScheduler``.

The scheduler is closed-form: ``get_lr()`` returns ``value(last_epoch)`` for every param group, never a ratio of
the previous lr, so it does not drift, it resumes bit-exactly from ``state_dict()`` in any order of loading, and a
param group built with the optimizer's lr receives exactly the float64 value of the spec (the param-group rule:
:mod:`schedspec._param_groups`). Values come from the shared formula set (:mod:`schedspec.formulas`) evaluated in float64
on numpy in blocks of ``block_size`` steps (a step is then a list lookup) or, with ``block_size=0``, one Python-math
evaluation per step. Neither path imports jax.

The documented loop::

    scheduler = schedspec.to_torch("run.yaml", optimizer)
    for batch in data:
        loss = model(batch).sum()
        loss.backward()
        optimizer.step()        # update k uses value(k)
        optimizer.zero_grad()
        scheduler.step()        # then moves to k + 1

Just after ``scheduler.step()`` has been called for update ``k``, ``scheduler.get_last_lr()`` and
``optimizer.param_groups[i]["lr"]`` hold ``value(k + 1)``: the lr of the **next** update (torch convention).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from schedspec import _metrics, ir
from schedspec._groups import bound_group_schedules
from schedspec._param_groups import hparam_key
from schedspec._target import resolve_all
from schedspec.errors import Issue, SpecError, did_you_mean, require
from schedspec.spec import Spec, load

torch = require("torch", "torch")

from ._torch_lr import DEFAULT_BLOCK, SchedSpecLR, _resolve  # noqa: E402

__all__ = ["SchedSpecLR", "TimmSchedSpecLR", "to_torch"]


class TimmSchedSpecLR(SchedSpecLR):
    """A :class:`SchedSpecLR` driven by timm's training loop: ``schedspec.to_torch(spec, optimizer, loop="timm")``.

    timm's ``train.py`` calls ``lr_scheduler.step_update(num_updates=n, metric=...)`` after each optimizer update
    (``n`` updates done so far) and ``lr_scheduler.step(epoch + 1, metric)`` at the end of each epoch (``metric``
    None when it skipped validation), and, when it resumes at ``start_epoch``, ``step_update(start_epoch *
    updates_per_epoch)`` with ``--sched-on-updates``, else ``step(start_epoch)``. timm's schedulers set the lr of
    the next update or epoch to ``value(t)`` for the ``t`` they are given, and ignore the other call: a scheduler
    with ``t_in_epochs=True`` follows ``step``, one with ``t_in_epochs=False`` follows ``step_update``
    (``timm/scheduler/scheduler.py``, ``_get_values``). Here the spec's ``interval`` decides
    (:attr:`t_in_epochs`):

    * ``interval: step``: ``step_update(n)`` moves to update ``n``: the next update uses ``value(n)``.
      ``step(epoch, metric)`` does not move the lr; it only gives plateau reports.
    * ``interval: epoch``: ``step(e, metric)`` moves to epoch ``e``: the epoch's updates use ``value(e)``.
      ``step_update`` does nothing.

    ``t`` is absolute, so the position never drifts and resuming needs no state but the plateau reports.

    Plateau reports: the ``metric`` of ``step(e, metric)`` (a number when the spec monitors one metric, else
    ``{name: value}``) is report ``j`` of a monitored metric when that epoch end closes the report's interval
    ``j``: when ``(j + 1) * every`` equals the scheduler's position (``e`` for ``interval: epoch``; the updates
    done, ``n`` of the last ``step_update``, for ``interval: step``). Any other metric is no report (timm's
    validation at an epoch that closes no interval, e.g. its last epoch with ``--val-interval``), and a spec
    without a plateau ignores it, as timm's schedulers do. The ``metric`` of ``step_update`` (timm's running
    average of the training loss) is ignored, as timm's own schedulers ignore it. An update whose lr waits for a
    report is refused by ``optimizer.step()``, as with :meth:`SchedSpecLR.report`.

    Per-group ``lr_scale`` (timm's layer decay) is honoured as by every :class:`SchedSpecLR`.

    Resuming: timm's ``CheckpointSaver`` does not save the scheduler. Without a plateau, timm's own
    ``step(start_epoch)`` (``interval: epoch``) or ``step_update(start_epoch * updates_per_epoch)`` (``interval:
    step``, timm's ``--sched-on-updates``) puts a fresh scheduler where it belongs. The other call would leave a
    fresh scheduler at 0, so the first call of a fresh scheduler is refused when it is that one (``step(e)``
    with ``e > 0`` for ``interval: step``, ``step_update(n)`` with ``n > 1`` for ``interval: epoch``). With a
    plateau, save ``lr_scheduler.state_dict()`` in the checkpoint and load it after building the scheduler.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._building = True
        self._fresh = True  # no timm call and no load_state_dict yet: the position is 0, nothing placed it there
        super().__init__(*args, **kwargs)
        self._building = False

    @property
    def t_in_epochs(self) -> bool:
        """timm's name for ``interval: epoch`` (timm's ``train.py`` logs it): ``step`` moves the lr, not
        ``step_update``."""
        return self.interval == "epoch"

    def step(self, epoch: Any = None, metric: Any = None) -> None:  # type: ignore[override]
        """timm's end-of-epoch call: ``lr_scheduler.step(epoch + 1, metric)`` (see the class docstring).

        Args:
            epoch: the epoch about to begin (``e`` epochs done): a whole number in ``[0, 2**31-1]``.
            metric: the epoch's metric (timm's ``eval_metrics[eval_metric]``), or None when it skipped
                validation; a plateau report when it closes a report interval, else ignored.

        Raises:
            ValueError: ``epoch`` missing or not a whole number, a resumed fresh scheduler (see the class
                docstring), or a number ``metric`` while the spec monitors several metrics.
        """
        if self._building:  # LRScheduler.__init__ steps once to write value(0)
            super().step()
            return
        if epoch is None:
            raise ValueError(
                "timm's loop calls lr_scheduler.step(epoch + 1, metric) at the end of each epoch; this scheduler "
                "(loop='timm') needs the epoch. For torch's loop, build it without loop='timm'"
            )
        e = self._whole(epoch, "epoch")
        metrics = self._timm_metrics(metric)
        if self.interval == "epoch":
            self._fresh = False
            self._record(metrics, e)
            self._move_to(e)
            return
        if self._fresh and e > 0:
            raise ValueError(
                f"lr_scheduler.step({e}) is the first call of a fresh scheduler: timm resumes at epoch {e} so, but "
                f"{self.spec_name!r} counts updates (interval: step), so it would restart at update 0. Run timm "
                "with --sched-on-updates (it then calls step_update(start_epoch * updates_per_epoch)), or load the "
                "scheduler's state_dict() saved with the checkpoint"
            )
        self._fresh = False
        self._record(metrics, self.last_epoch)

    def step_update(self, num_updates: Any, metric: Any = None) -> None:
        """timm's per-update call: ``lr_scheduler.step_update(num_updates=n, metric=...)`` after update ``n - 1``.

        Args:
            num_updates: the optimizer updates done so far: a whole number in ``[0, 2**31-1]``.
            metric: ignored (timm's running average of the training loss; timm's schedulers ignore it too).

        Raises:
            ValueError: ``num_updates`` not a whole number, or a resumed fresh scheduler (class docstring).
        """
        n = self._whole(num_updates, "num_updates")
        if self.interval == "step":
            self._fresh = False
            self._move_to(n)
            return
        if self._fresh and n > 1:
            raise ValueError(
                f"lr_scheduler.step_update({n}) is the first call of a fresh scheduler: timm resumes so with "
                f"--sched-on-updates, but {self.spec_name!r} counts epochs (interval: epoch), so it would restart at "
                "epoch 0. Run timm without --sched-on-updates (it then calls step(start_epoch)), or load the "
                "scheduler's state_dict() saved with the checkpoint"
            )
        self._fresh = False

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._fresh = False

    # ------------------------------------------------------------------ internals
    def _whole(self, value: Any, what: str) -> int:
        try:
            k = None if isinstance(value, bool) else operator.index(value)
        except TypeError:
            k = None
        if k is None:
            raise ValueError(f"lr_scheduler.{'step' if what == 'epoch' else 'step_update'}({value!r}): timm's "
                             f"{what} must be a whole number (an int)")  # fmt: skip
        if not 0 <= k <= ir.MAX_STEPS:
            raise ValueError(f"{what}={k}: it must be in [0, 2**31-1]")
        return k

    def _timm_metrics(self, metric: Any) -> dict[str, Any] | None:
        """``{name: value}`` of a plateau spec's metric (None: no metric, or a spec without a plateau)."""
        if metric is None or self._reports is None:
            return None
        names = self._reports.names
        if isinstance(metric, Mapping):
            unknown = [n for n in metric if n not in names]
            if unknown:
                raise ValueError(f"lr_scheduler.step(epoch, metric): no `plateau` of {self.spec_name!r} monitors "
                                 f"{unknown[0]!r}{did_you_mean(str(unknown[0]), names)} (monitored: {', '.join(names)})")  # fmt: skip
            return dict(metric)
        if len(names) != 1:
            raise ValueError(f"{self.spec_name!r} monitors {', '.join(names)}: pass lr_scheduler.step(epoch, "
                             "{name: value, ...})")  # fmt: skip
        return {names[0]: metric}

    def _record(self, metrics: dict[str, Any] | None, position: int) -> None:
        """Report each metric whose next report's interval ends at ``position`` (the class docstring's rule)."""
        for name, value in (metrics or {}).items():
            if value is not None and (len(self._reports.reports[name]) + 1) * self._reports.every[name] == position:
                self.report(name, value)

    def _move_to(self, k: int) -> None:
        """Set the position to ``k`` and write its lrs and hyperparameters (timm's ``t``; no deprecation warning)."""
        self._step_count += 1
        self.last_epoch = k
        self._write_lrs(self._get_closed_form_lr())
        self._apply_others()

    def _report_hint(self, name: str) -> str:
        every = self._reports.every[name]
        unit = "epoch" if self.interval == "epoch" else "update"
        return (f"timm's loop gives report j as lr_scheduler.step(epoch + 1, metric) at the end of the epoch that "
                f"ends after {every} x (j + 1) {unit}s; validate at every such epoch end (--val-interval)"
                f"{'' if self.interval == 'epoch' else ', with epochs of a whole number of report intervals'}, or "
                "load the scheduler's state_dict() when resuming")  # fmt: skip


def _others_for(spec: Spec, hparam: str, hparams: list[str] | None) -> list[str]:
    """The hyperparameter schedules besides the lr that the scheduler sets (default: all of the spec's)."""
    names = [n for n in spec.program.hparams if n not in ("lr", hparam)] if hparam == "lr" else []
    if hparams is None:
        return names
    for n in hparams:
        if n not in spec.program.hparams or n in ("lr", hparam):
            raise ValueError(
                f"hparams: {n!r} is not another hyperparameter schedule of {spec.name!r}"
                f"{did_you_mean(str(n), names)} (it has: {', '.join(names) or 'none besides the lr'})"
            )
    return list(hparams)


def match_groups(spec: Spec, param_groups: list[dict], groups: dict[str, Any] | None, target: str) -> dict[int, str]:
    """Which spec group each param group belongs to: ``{param group index: spec group name}``.

    A param group belongs to spec group ``G`` when it carries ``"name": G``, or when ``groups`` maps ``G`` to its
    index (or a list of indices). Every spec group must match at least one param group; a param group matched by
    two spec groups, an index out of range, or a name in ``groups`` that the spec does not define is an error.
    """
    spec_groups = list(spec.program.groups)
    doc = spec.doc
    issues = []
    groups = dict(groups or {})
    for name in groups:
        if name not in spec_groups:
            issues.append(Issue(spec.file, None, None, f"groups.{name}", f"groups={{{name!r}: ...}}: the spec defines no "
                                f"group {name!r}{did_you_mean(str(name), spec_groups)} (it has: {', '.join(spec_groups) or 'none'})"))  # fmt: skip
    carried = [pg.get("name", "<unnamed>") for pg in param_groups]
    out: dict[int, str] = {}
    for name in spec_groups:
        if name in groups:
            idx = groups[name]
            idxs = list(idx) if isinstance(idx, (list, tuple)) else [idx]
            bad = [i for i in idxs if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(param_groups)]
            if bad:
                issues.append(Issue(spec.file, None, None, f"groups.{name}", f"groups[{name!r}] = {idx!r}: the "
                                    f"optimizer has param groups 0..{len(param_groups) - 1}"))  # fmt: skip
                continue
        else:
            idxs = [i for i, pg in enumerate(param_groups) if pg.get("name") == name]
        if not idxs:
            issues.append(doc.issue(("groups", name), f"group `{name}`: no param group of the {target} optimizer "
                                    f"carries \"name\": {name!r} (their names: {', '.join(map(str, carried))}); add "
                                    f"\"name\": {name!r} to that param group, or pass groups={{{name!r}: <index>}}", key=True))  # fmt: skip
        for i in idxs:
            if i in out:
                issues.append(doc.issue(("groups", name), f"group `{name}`: param group {i} already belongs to "
                                        f"group `{out[i]}`", key=True))  # fmt: skip
            out[i] = name
    if issues:
        raise SpecError(issues)
    return out


def _check_keys(spec: Spec, optimizer: Any, plan: dict[int, dict[str, tuple]]) -> None:
    """Every hyperparameter set on a param group must be one it has (``beta1``/``beta2``: ``betas``)."""
    issues, seen = [], set()
    for g, names in plan.items():
        group = optimizer.param_groups[g]
        for name, path in names.items():
            key = hparam_key(name)
            if key in group or (name, path) in seen:
                continue
            seen.add((name, path))
            have = ", ".join(k for k in group if k not in ("params", "initial_lr", "name"))
            hint = ""
            if name == "momentum" and "betas" in group:
                hint = "; its momentum is betas[0]: write the schedule as `beta1`"
            elif name in ("beta1", "beta2") and "momentum" in group:
                hint = "; it has `momentum` instead"
            issues.append(spec.doc.issue(path, f"`{name}`: the {type(optimizer).__name__} optimizer's param group {g} "
                                               f"has no '{key}' (it has: {have}){hint}", key=True))  # fmt: skip
    if issues:
        raise SpecError(issues)


def to_torch(
    spec: Spec | str | dict,
    optimizer: torch.optim.Optimizer,
    hparam: str = "lr",
    vars: dict[str, Any] | None = None,
    block_size: int = DEFAULT_BLOCK,
    hparams: list[str] | None = None,
    groups: dict[str, Any] | None = None,
    loop: str = "torch",
) -> SchedSpecLR:
    """A ``torch.optim.lr_scheduler.LRScheduler`` that sets ``optimizer``'s lr to the spec's value at each step.

    Call ``optimizer.step()`` then ``scheduler.step()``: update ``k`` (0-based) then uses ``value(k)``, and
    ``get_last_lr()`` after the k-th ``scheduler.step()`` call reports ``value(k + 1)``, the next update's lr.
    With ``interval: epoch`` the schedule counts epochs: call ``scheduler.step()`` once per epoch (after the
    epoch's last ``optimizer.step()``), and epoch ``e`` uses ``value(e)``; ``steps_per_epoch`` is not needed.

    Param groups (the rule of :mod:`schedspec._param_groups`; it depends on no order). A param group that
    belongs to one of the spec's ``groups`` (it carries ``"name": <group>``, or ``groups`` maps the group to its
    index) gets exactly that group's schedules: the lr it was built with is not used. Every other param group
    ``g`` gets ``value(k) * lr_g / L``, where ``lr_g`` is the lr it was built with (``initial_lr``) and ``L`` is
    ``optimizer.defaults["lr"]`` (torch's convention: a group built without its own lr has ``lr_g = L`` and gets
    exactly ``value(k)``). If none of them was built with ``L`` but all with one same lr, they all get exactly
    ``value(k)``; if they were built with different lrs, none of them ``L``, the factors are ambiguous and
    ``optimizer.step()`` raises a ValueError saying how to fix it.

    Every other hyperparameter schedule of the spec (``momentum``, ``weight_decay``, ``beta1``/``beta2`` =
    ``betas[0]``/``betas[1]``, or any name a param group has) is set on every param group at every step (a spec
    group's own schedule on its param groups); one the optimizer does not have (``momentum`` for Adam) is a
    :class:`SpecError`.

    A spec with a ``plateau`` takes metric reports: ``scheduler.report("val_loss", v)`` at the end of each
    interval of the plateau's ``every`` clock (from k = 0), or ``scheduler.step(metrics=v)``; see
    :meth:`SchedSpecLR.report`. A plain plateau reproduces ``ReduceLROnPlateau`` exactly.

    Resume with ``scheduler.load_state_dict(saved)`` on a scheduler built from the same spec and vars, before
    or after ``optimizer.load_state_dict`` and whether the scheduler was built before or after it: the next
    update uses ``value(last_epoch)`` in every order. A state saved from another spec is refused (the
    fingerprint of the bound schedule; a different ``total`` that an open last phase runs to is another
    schedule). The metric reports are part of the state, so resuming mid-plateau is exact.

    ``scheduler.step(v)``: with a ``plateau``, ``v`` is the metric report (as ``ReduceLROnPlateau.step(v)``);
    without one it is torch's deprecated ``epoch`` and must be a whole number (see :meth:`SchedSpecLR.step`).

    ``loop="timm"`` gives a :class:`TimmSchedSpecLR` for timm's ``train.py``: ``step_update(num_updates, metric)``
    after each update and ``step(epoch + 1, metric)`` at each epoch end, the spec's ``interval`` choosing which
    one moves the lr (timm's ``t_in_epochs``). A param group's ``lr_scale`` (timm's layer decay) multiplies its
    lr in both loops.

    Args:
        spec: a :class:`schedspec.Spec`, a path to a YAML file, or a dict.
        optimizer: a ``torch.optim.Optimizer``.
        hparam: which schedule of the spec drives the lr (default ``"lr"``).
        vars: var values overriding the spec's (a spec that sweeps a var used by ``hparam`` needs one value).
        block_size: steps evaluated at once with numpy float64 (default 4096); 0 evaluates each step with
            Python math (slower per step, no block computation).
        hparams: the other hyperparameter schedules to set (default: all of the spec's; ``[]``: the lr only, spec
            groups' own schedules of other hyperparameters included).
        groups: ``{spec group: param group index (or list of indices)}`` for param groups without a ``"name"``.
        loop: ``"torch"`` (default: ``scheduler.step()`` once per update, or per epoch with ``interval:
            epoch``) or ``"timm"`` (timm's ``step_update``/``step(epoch, metric)``: :class:`TimmSchedSpecLR`).

    Returns:
        A :class:`SchedSpecLR` (a :class:`TimmSchedSpecLR` with ``loop="timm"``).

    Raises:
        SpecError: the spec is invalid, has no ``hparam``, sweeps a var without ``vars`` choosing one member,
            sets a hyperparameter the optimizer does not have, or defines a group no param group carries.
        ValueError: ``loop`` is neither ``"torch"`` nor ``"timm"``.

    >>> import torch, schedspec
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    >>> sched = schedspec.to_torch({"schedspec": 1, "lr": {"kind": "step", "start": 0.1, "every": 2, "gamma": 0.5}}, opt)
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(opt.param_groups[0]["lr"])
    ...     opt.step()
    ...     sched.step()
    >>> lrs
    [0.1, 0.1, 0.05, 0.05, 0.025]
    """
    if loop not in ("torch", "timm"):
        raise ValueError(f"loop must be 'torch' or 'timm' (got {loop!r})")
    spec = load(spec)
    spec, node = _resolve(spec, hparam, vars)
    names = _others_for(spec, hparam, hparams)
    others = {n: res.node for n, res in resolve_all(spec, names, "torch", counts_steps=False, metrics_ok=True).items()}
    assign = match_groups(spec, optimizer.param_groups, groups, "torch")
    group_nodes: dict[int, dict[str, ir.Node]] = {}
    plan: dict[int, dict[str, tuple]] = {g: {n: (n,) for n in names} for g in range(len(optimizer.param_groups))}
    if assign:
        bound_groups = bound_group_schedules(spec, "torch", "to_torch")
        for g, gname in assign.items():
            own = {n: v for n, v in bound_groups[gname].items() if n == "lr" or n in names}
            group_nodes[g] = {"lr": own.get("lr", node), **{n: v for n, v in own.items() if n != "lr"}}
            plan[g].update({n: ("groups", gname, n) for n in own if n != "lr"})
    _check_keys(spec, optimizer, plan)
    trees = [node, *others.values(), *(v for hps in group_nodes.values() for v in hps.values())]
    reports = _metrics.Reports(trees) if any(_metrics.sites(t) for t in trees) else None
    cls = TimmSchedSpecLR if loop == "timm" else SchedSpecLR
    return cls(
        optimizer,
        node,
        fingerprint=spec.fingerprint,
        hparam=hparam,
        spec_name=spec.name,
        block_size=block_size,
        others=others,
        group_nodes=group_nodes,
        reports=reports,
        interval=spec.program.interval,
    )

