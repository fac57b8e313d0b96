"""The emitted torch module: every schedule of a spec as one closed-form ``LRScheduler``, as ``schedspec.to_torch``.

The module's ``build_scheduler(optimizer)`` returns ``Schedule``, an ``LRScheduler`` that does what
:class:`schedspec.adapters.torch.SchedSpecLR` does, on the same formulas (Python floats, :class:`MathXP`), so the
two agree bit for bit:

* the document's lr (``_value``), the spec's other hyperparameters (``_HPARAMS``: set on every param group at every
  step, ``beta1``/``beta2`` in ``betas``) and the spec's ``groups:`` (``_GROUPS``: a param group carrying
  ``"name": <group>``, or given by ``build_scheduler(optimizer, groups={<group>: <index>})``, gets exactly that
  group's schedules); every other param group follows the document's lr by the rule of
  :mod:`schedspec._param_groups` (``lr_ratios``, copied verbatim: a group built with ``lr_g`` gets
  ``value(k) * lr_g / optimizer.defaults["lr"]``), which depends on no order;
* ``state_dict()`` holds ``last_epoch``, ``_step_count``, ``base_lrs``, ``_last_lr``, the fingerprint of the bound
  spec and its hparam (and the metric reports with a ``plateau``): the same keys as ``to_torch``'s, so a state
  moves between them; ``load_state_dict`` refuses another spec's state (another fingerprint: the bound schedule,
  in which an open last phase's length to ``total`` is written) and writes the restored update's lr and
  hyperparameters into the optimizer, so resuming is exact in any order of building and loading;
* ``scheduler.step(v)``: with a plateau, ``v`` is the metric report (as ``ReduceLROnPlateau.step(v)``); without
  one it is torch's deprecated ``epoch``, a whole number, anything else refused before anything changes;
* a plateau takes reports as ``to_torch``'s scheduler does (``report``, ``step(metrics=v)``, an update that waits
  for a report refused by an optimizer step pre-hook).

A single phase that a native torch class computes (``StepLR``, ``ExponentialLR``, ...) is named in a comment; the
module is still the closed form, because a native scheduler is chainable (its lr after n decays is a product of n
roundings), follows param group 0, cannot refuse another spec's state, and resumes wrongly in some orders.

The module is assembled from the template below: each line may end with ``  #@FLAGS``, kept only when every flag
holds (``P`` plateaus, ``H`` other hyperparameters, ``G`` spec groups, ``A`` either of these two, ``E`` the spec
counts epochs; ``!`` negates). Nothing from the spec but
numbers, and names that the spec validates as identifiers (hyperparameters, groups, metrics: checked again here),
reaches the code.
"""

from __future__ import annotations

import re

from .. import _param_groups, ir
from . import _codegen, _source

_FLAG_RE = re.compile(r"  #@(!?[PHGAE](?:,!?[PHGAE])*)$")

# Blocks are separated by "#---" lines; @UNIT@ is the spec's interval ("step" or "epoch").
_TEMPLATE = r'''
_STATE = ("last_epoch", "_step_count", "base_lrs", "_last_lr")
#---
def value(k):  #@!P
    """The document's lr at k (a whole number of @UNIT@s), in float64."""  #@!P
    k = max(int(k), 0)  #@!P
    return MathXP.out(_value(MathXP, k), k)  #@!P
def _as_reports(metrics):  #@P
    """``{metric: [float, ...]}`` for every monitored metric; a name no plateau monitors is an error."""  #@P
    metrics = dict(metrics or {})  #@P
    for name in metrics:  #@P
        if name not in _REPORTS:  #@P
            raise ValueError(  #@P
                f"no plateau of this schedule monitors {name!r} (monitored: {', '.join(_REPORTS)})"  #@P
            )  #@P
    return {name: [float(x) for x in metrics.get(name, ())] for name in _REPORTS}  #@P
#---
def value(k, metrics=None):  #@P
    """The document's lr at k (a whole number of @UNIT@s), in float64, given the metric reports.  #@P
  #@P
    ``metrics={"name": [report 0, report 1, ...]}``: report j is the metric at the end of interval j of the  #@P
    plateau's clock, counted from k = 0. A value that needs a report not given is NaN.  #@P
    """  #@P
    k = max(int(k), 0)  #@P
    reports = _as_reports(metrics)  #@P
    p = _plateaus(MathXP, reports, {name: len(v) for name, v in reports.items()})  #@P
    return MathXP.out(_value(MathXP, k, p), k)  #@P
#---
def _as_epoch(epoch):  #@!P
    """torch's deprecated ``scheduler.step(epoch)``: a whole number of @UNIT@s, checked before anything changes."""  #@!P
    index = getattr(type(epoch), "__index__", None)  #@!P
    try:  #@!P
        k = None if index is None or isinstance(epoch, bool) else index(epoch)  #@!P
    except TypeError:  # a float tensor  #@!P
        k = None  #@!P
    if k is None:  #@!P
        raise ValueError(  #@!P
            f"scheduler.step({epoch!r}): this schedule has no plateau, so it takes no metric; a positional "  #@!P
            "argument is torch's deprecated `epoch` (the @UNIT@ whose lr to set next), which must be a whole "  #@!P
            "number (an int). Call scheduler.step() once per @UNIT@"  #@!P
        )  #@!P
    if not 0 <= k <= 2147483647:  #@!P
        raise ValueError(f"scheduler.step(epoch={k}): the epoch must be in [0, 2**31-1]")  #@!P
    return k  #@!P
#---
def _match(optimizer, groups):  #@G
    """``{param group index: spec group}``: the param groups carrying ``"name": <group>``, or ``groups``' indices."""  #@G
    given = dict(groups or {})  #@G
    for name in given:  #@G
        if name not in _GROUPS:  #@G
            raise ValueError(  #@G
                f"groups={{{name!r}: ...}}: the spec defines no group {name!r} (it has: {', '.join(_GROUPS)})"  #@G
            )  #@G
    param_groups = optimizer.param_groups  #@G
    out = {}  #@G
    for name in _GROUPS:  #@G
        if name in given:  #@G
            idxs = list(given[name]) if isinstance(given[name], (list, tuple)) else [given[name]]  #@G
            if any(type(i) is not int or not 0 <= i < len(param_groups) for i in idxs):  #@G
                raise ValueError(  #@G
                    f"groups[{name!r}] = {given[name]!r}: the optimizer has param groups 0..{len(param_groups) - 1}"  #@G
                )  #@G
        else:  #@G
            idxs = [i for i, group in enumerate(param_groups) if group.get("name") == name]  #@G
        if not idxs:  #@G
            names = ", ".join(str(group.get("name", "<unnamed>")) for group in param_groups)  #@G
            raise ValueError(  #@G
                f'group {name!r}: no param group of the optimizer carries "name": {name!r} (their names: {names}); '  #@G
                f'add "name": {name!r} to that param group, or pass groups={{{name!r}: <index>}}'  #@G
            )  #@G
        for i in idxs:  #@G
            if i in out:  #@G
                raise ValueError(f"group {name!r}: param group {i} already belongs to group {out[i]!r}")  #@G
            out[i] = name  #@G
    return out  #@G
#---
def _plan(optimizer, groups, hparams):
    """Per param group: its own lr schedule (None: it follows the document's lr) and the hyperparameters set on it."""
    if groups:  #@!G
        raise ValueError(f"groups={groups!r}: the spec defines no groups")  #@!G
    if hparams:  #@!H
        raise ValueError(f"hparams={hparams!r}: the spec has no hyperparameter schedule besides the lr")  #@!H
    return [(None, {}) for _ in optimizer.param_groups]  #@!A
    chosen = list(_HPARAMS if hparams is None else hparams)  #@H
    for name in chosen:  #@H
        if name not in _HPARAMS:  #@H
            raise ValueError(  #@H
                f"hparams: {name!r} is not another hyperparameter schedule of this spec (it has: {', '.join(_HPARAMS)})"  #@H
            )  #@H
    assign = _match(optimizer, groups)  #@G
    plan = []  #@A
    for g, group in enumerate(optimizer.param_groups):  #@H
    for g in range(len(optimizer.param_groups)):  #@!H,G
        own = _GROUPS[assign[g]] if g in assign else {}  #@G
        lr = own.get("lr", _value) if g in assign else None  #@G
        lr = None  #@H,!G
        hps = {name: own.get(name, _HPARAMS[name]) for name in chosen}  #@H,G
        hps = {name: _HPARAMS[name] for name in chosen}  #@H,!G
        hps = {}  #@!H,G
        for name in hps:  #@H
            if hparam_key(name) not in group:  #@H
                have = ", ".join(key for key in group if key not in ("params", "initial_lr", "name"))  #@H
                raise ValueError(  #@H
                    f"{name!r}: param group {g} of the {type(optimizer).__name__} optimizer has no "  #@H
                    f"{hparam_key(name)!r} (it has: {have}); build_scheduler(optimizer, hparams=[]) drives the "  #@H
                    "lr only"  #@H
                )  #@H
        plan.append((lr, hps))  #@A
    return plan  #@A
#---
def _refuse(ref):
    """An optimizer step pre-hook: no update while the param groups' lr factors are ambiguous (lr_ratios)."""  #@!P
    """An optimizer step pre-hook: no update while the lr factors are ambiguous (lr_ratios) or its lr waits."""  #@P

    def hook(optimizer, args, kwargs):
        scheduler = ref()
        if scheduler is None:
            return
        if scheduler._problem:
            raise ValueError(scheduler._problem)
        if scheduler._waiting:  #@P
            name, need = scheduler._waiting[0]  #@P
            raise RuntimeError(  #@P
                f"update {scheduler.last_epoch} uses the value after {need} reports of {name!r} (one per "  #@P
                f"{_REPORTS[name]} @UNIT@{'s' if _REPORTS[name] != 1 else ''}), but {len(scheduler.reports[name])} "  #@P
                f"were given: call scheduler.report({name!r}, value) (or scheduler.step(metrics=value)) at the end "  #@P
                "of each interval, before the next optimizer.step()"  #@P
            )  #@P

    return hook
#---
class Schedule(LRScheduler):
    """The spec in closed form (the comments at the top say how to step it, the param-group rule, resuming).

    ``state_dict()`` has the keys of ``schedspec.to_torch``'s state; ``load_state_dict`` resumes in any order.
    """

    def __init__(self, optimizer, groups=None, hparams=None):
        self._plan = _plan(optimizer, groups, hparams)
        self._follows = [g for g, (own, _) in enumerate(self._plan) if own is None]
        self.reports = {name: [] for name in _REPORTS}  #@P
        self._refresh()  #@P
        self._waiting = []  #@P
        built = [group.get("initial_lr", group["lr"]) for group in optimizer.param_groups]
        self._set_ratios(optimizer, built)
        self._hook = optimizer.register_step_pre_hook(_refuse(weakref.ref(self)))
        super().__init__(optimizer)

    def _set_ratios(self, optimizer, built):
        """The factor on the document's lr of each param group, from the lrs they were built with."""
        self._ratios, self._problem = lr_ratios(optimizer.defaults.get("lr"), built, self._follows)

    def _check_groups(self):
        """Refuse param groups added (optimizer.add_param_group) or removed since the scheduler was built."""
        groups = len(self.optimizer.param_groups)
        if groups != len(self._plan):
            raise ValueError(
                f"the optimizer has {groups} param groups, but the scheduler was built with {len(self._plan)}: param "
                "groups added (optimizer.add_param_group) or removed after it was built are not scheduled; build "
                "the scheduler after the last change to the optimizer's param groups"
            )

    def _refresh(self):  #@P
        """Recompute every plateau's value after each report (one scan each)."""  #@P
        self._p = _plateaus(MathXP, self.reports, {name: len(v) for name, v in self.reports.items()})  #@P
  #@P
    def _at(self, fn, k):
        return MathXP.out(fn(MathXP, k), k)  #@!P
        return MathXP.out(fn(MathXP, k, self._p), k)  #@P

    def _lrs(self, k):
        """The lr of every param group at k (times its lr_scale, timm's layer decay, where it has one)."""
        lr = self._at(_value, k)
        plan = zip(self._plan, self._ratios, strict=True)
        values = [lr * ratio if own is None else self._at(own, k) for (own, _), ratio in plan]
        scales = lr_scales(self.optimizer.param_groups)
        return values if scales is None else [v * s for v, s in zip(values, scales, strict=True)]

    def _set_hparams(self, k):  #@H
        """Set the other hyperparameters of every param group at k."""  #@H
        for group, (_, hps) in zip(self.optimizer.param_groups, self._plan, strict=True):  #@H
            for name, fn in hps.items():  #@H
                set_hparam(group, name, self._at(fn, k))  #@H
  #@H
    def _write(self, values):
        """Write the lrs into the param groups (a tensor lr in place, as torch does) and ``_last_lr``."""
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(float(lr))
            else:
                group["lr"] = lr
        self._last_lr = [
            group["lr"].clone() if isinstance(group["lr"], torch.Tensor) else group["lr"]
            for group in self.optimizer.param_groups
        ]

    def get_lr(self):
        return self._get_closed_form_lr()

    def _get_closed_form_lr(self):
        self._check_groups()
        k = self.last_epoch
        self._waiting = _waiting(k, {name: len(v) for name, v in self.reports.items()})  #@P
        if self._waiting:  # report() writes the lr; optimizer.step() refuses to run meanwhile  #@P
            return [group["lr"] for group in self.optimizer.param_groups]  #@P
        return self._lrs(k)

    def step(self, arg=None, /, *, epoch=None, metrics=None):
        """Move to the next @UNIT@. A positional argument means what it means to torch: here, with no plateau,  #@!P
        the deprecated ``epoch``, a whole number e (the next update then uses value(e)); anything else is refused.  #@!P
        """  #@!P
        if arg is not None:  #@!P
            if epoch is not None:  #@!P
                raise ValueError("give torch's deprecated epoch once: scheduler.step(e) or step(epoch=e)")  #@!P
            epoch = arg  #@!P
        if metrics is not None:  #@!P
            raise ValueError("this schedule has no plateau: scheduler.step() takes no metrics")  #@!P
        if epoch is None:  #@!P
            super().step()  #@!P
        else:  #@!P
            super().step(_as_epoch(epoch))  #@!P
        """Move to the next @UNIT@. A positional argument is the metric report made at the end of the interval  #@P
        that just ended, as in ``ReduceLROnPlateau.step(metrics)``; so is ``metrics`` (a number when one metric  #@P
        is monitored, else ``{name: value}``). It is recorded first, as by report(), then the schedule steps.  #@P
        """  #@P
        if arg is not None:  #@P
            if metrics is not None:  #@P
                raise ValueError("give the metric report once: scheduler.step(v) or step(metrics=v)")  #@P
            metrics = arg  #@P
        if epoch is not None:  #@P
            raise ValueError(  #@P
                "this schedule has a plateau: give a metric report as scheduler.step(value), "  #@P
                "scheduler.step(metrics=value) or scheduler.report(name, value); `epoch` (torch's deprecated "  #@P
                "explicit epoch) cannot move a schedule driven by reports"  #@P
            )  #@P
        if metrics is not None:  #@P
            if not isinstance(metrics, dict):  #@P
                if len(_REPORTS) != 1:  #@P
                    raise ValueError(  #@P
                        f"this schedule monitors {', '.join(_REPORTS)}: pass scheduler.step(metrics={{name: value, ...}})"  #@P
                    )  #@P
                metrics = {next(iter(_REPORTS)): metrics}  #@P
            for name, v in metrics.items():  #@P
                self.report(name, v)  #@P
        super().step()  #@P
        self._set_hparams(self.last_epoch)  #@H,!P
        if not self._waiting:  #@H,P
            self._set_hparams(self.last_epoch)  #@H,P
  #@P
    def report(self, name, value):  #@P
        """Record the next report of metric ``name``: report j is the metric at the end of interval j of  #@P
        the plateau's clock (counted from k = 0; make the reports before the plateau begins too). Give it  #@P
        just before or just after the interval's last scheduler.step(); the reduction it decides applies  #@P
        from the next interval."""  #@P
        if name not in _REPORTS:  #@P
            raise ValueError(  #@P
                f"no plateau of this schedule monitors {name!r} (monitored: {', '.join(_REPORTS)})"  #@P
            )  #@P
        j, every, k = len(self.reports[name]), _REPORTS[name], self.last_epoch  #@P
        if j > k // every:  #@P
            raise ValueError(  #@P
                f"report #{j} of {name!r} is the metric at the end of interval {j} (@UNIT@s {j * every}.."  #@P
                f"{(j + 1) * every - 1}), but the scheduler is at @UNIT@ {k} (interval {k // every}): make "  #@P
                f"one report per {_REPORTS[name]} @UNIT@{'s' if _REPORTS[name] != 1 else ''}"  #@P
            )  #@P
        self._check_groups()  #@P
        self.reports[name].append(float(value))  #@P
        self._refresh()  #@P
        if self._waiting:  # this update waited for the report: write its lr now  #@P
            values = self._get_closed_form_lr()  #@P
            if not self._waiting:  #@P
                self._write(values)  #@P
                self._set_hparams(k)  #@H,P

    def waiting(self):
        """[(metric, reports needed)]: the reports the next update's lr waits for (optimizer.step() refuses meanwhile)."""
        return []  #@!P
        need = {}  #@P
        for name, n in _waiting(self.last_epoch, {name: len(v) for name, v in self.reports.items()}):  #@P
            need[name] = max(n, need.get(name, 0))  #@P
        return list(need.items())  #@P

    def step_update(self, num_updates, metric=None):
        """timm's per-update call: refused here (build_scheduler(optimizer, loop="timm") follows timm's loop)."""
        raise TypeError(
            f"scheduler.step_update({num_updates!r}) is timm's call, but this scheduler follows torch's loop "
            "(scheduler.step() once per @UNIT@): in timm's train.py build it with build_scheduler(optimizer, "
            "loop='timm')"
        )

    def state_dict(self):
        state = {key: self.__dict__[key] for key in _STATE}
        state["schedspec_fingerprint"] = _FINGERPRINT
        state["schedspec_hparam"] = "lr"
        state["schedspec_reports"] = {name: list(v) for name, v in self.reports.items()}  #@P
        return state

    def load_state_dict(self, state_dict):
        """Restore a state saved by ``state_dict()``, here or by ``schedspec.to_torch`` for the same spec and vars,
        before or after ``optimizer.load_state_dict()``: the restored update's lr and hyperparameters are written
        into the optimizer, so the next update uses value(last_epoch) in any order.
        """
        saved = state_dict.get("schedspec_fingerprint")
        hparam = state_dict.get("schedspec_hparam", "lr")
        if saved is None:
            raise ValueError(
                "this is not a schedspec scheduler state (no 'schedspec_fingerprint'): load a state saved by this "
                "module's scheduler or by schedspec.to_torch for the same spec"
            )
        if saved != _FINGERPRINT or hparam != "lr":
            raise ValueError(
                f"the scheduler state was saved from a different schedule (fingerprint {saved}, `{hparam}`); this "
                f"module runs fingerprint {_FINGERPRINT}, `lr`: build the scheduler from the same spec and vars as "
                "the checkpoint"
            )
        missing = [key for key in _STATE if key not in state_dict]
        if missing:
            raise ValueError(f"the scheduler state lacks {', '.join(missing)}")
        self._check_groups()
        n, groups = len(state_dict["base_lrs"]), len(self.optimizer.param_groups)
        if n != groups:
            raise ValueError(f"the scheduler state has {n} param groups, the optimizer has {groups}")
        reports = state_dict.get("schedspec_reports")  #@P
        if not isinstance(reports, dict) or set(reports) != set(_REPORTS):  #@P
            raise ValueError(  #@P
                f"the scheduler state has no metric reports of {', '.join(_REPORTS)}: save it with "  #@P
                "state_dict() of a scheduler built by this module"  #@P
            )  #@P
        self.last_epoch = int(state_dict["last_epoch"])
        self._step_count = int(state_dict["_step_count"])
        self.base_lrs = list(state_dict["base_lrs"])
        self._set_ratios(self.optimizer, self.base_lrs)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["initial_lr"] = base
        self.reports = {name: [float(x) for x in reports[name]] for name in _REPORTS}  #@P
        self._refresh()  #@P
        values = self._get_closed_form_lr()
        if self._waiting:  # the restored update waits for a report: the lrs it had when saved  #@P
            self._write(list(state_dict["_last_lr"]))  #@P
            if self.last_epoch > 0:  #@H,P
                self._set_hparams(self.last_epoch - 1)  #@H,P
            return  #@P
        self._write(values)
        self._set_hparams(self.last_epoch)  #@H
#---
def _whole(value, what):
    """timm's epoch or num_updates: a whole number in [0, 2**31-1]."""
    index = getattr(type(value), "__index__", None)
    try:
        k = None if index is None or isinstance(value, bool) else index(value)
    except TypeError:
        k = None
    if k is None:
        call = "step" if what == "epoch" else "step_update"
        raise ValueError(f"lr_scheduler.{call}({value!r}): timm's {what} must be a whole number (an int)")
    if not 0 <= k <= 2147483647:
        raise ValueError(f"{what}={k}: it must be in [0, 2**31-1]")
    return k
#---
def _timm_metrics(metric):  #@P
    """{name: value} of timm's metric (None: no metric): a number when one metric is monitored."""  #@P
    if metric is None:  #@P
        return None  #@P
    if isinstance(metric, dict):  #@P
        for name in metric:  #@P
            if name not in _REPORTS:  #@P
                raise ValueError(  #@P
                    f"no plateau of this schedule monitors {name!r} (monitored: {', '.join(_REPORTS)})"  #@P
                )  #@P
        return dict(metric)  #@P
    if len(_REPORTS) != 1:  #@P
        raise ValueError(  #@P
            f"this schedule monitors {', '.join(_REPORTS)}: pass step(epoch, {{name: value, ...}})"  #@P
        )  #@P
    return {next(iter(_REPORTS)): metric}  #@P
#---
class TimmSchedule(Schedule):
    """The spec for timm's train.py loop: build_scheduler(optimizer, loop="timm") (the comments at the top)."""

    t_in_epochs = True  # the spec counts epochs: step(epoch, metric) moves the lr, step_update does nothing  #@E
    t_in_epochs = False  # the spec counts updates: step_update(num_updates) moves the lr, step does not  #@!E

    def __init__(self, *args, **kwargs):
        self._building = True
        self._fresh = True  # no timm call and no load_state_dict yet
        super().__init__(*args, **kwargs)
        self._building = False

    def step(self, epoch=None, metric=None):
        """timm's end-of-epoch call, lr_scheduler.step(epoch + 1, metric)."""
        if self._building:  # LRScheduler.__init__ steps once to write value(0)
            super().step()
            return
        if epoch is None:
            raise ValueError(
                "timm's loop calls lr_scheduler.step(epoch + 1, metric) at the end of each epoch; this scheduler "
                "(loop='timm') needs the epoch"
            )
        e = _whole(epoch, "epoch")
        metrics = _timm_metrics(metric)  #@P
        self._fresh = False  #@E
        self._record(metrics, e)  #@P,E
        self._move_to(e)  #@E
        if self._fresh and e > 0:  #@!E
            raise ValueError(  #@!E
                f"lr_scheduler.step({e}) is the first call of a fresh scheduler: timm resumes at epoch {e} so, but "  #@!E
                "this spec counts updates, so it would restart at update 0. Run timm with --sched-on-updates, or "  #@!E
                "load the scheduler's state_dict() saved with the checkpoint"  #@!E
            )  #@!E
        self._fresh = False  #@!E
        self._record(metrics, self.last_epoch)  #@P,!E

    def step_update(self, num_updates, metric=None):
        """timm's per-update call, lr_scheduler.step_update(num_updates=n, metric=...); the metric is ignored."""
        n = _whole(num_updates, "num_updates")
        if self._fresh and n > 1:  #@E
            raise ValueError(  #@E
                f"lr_scheduler.step_update({n}) is the first call of a fresh scheduler: timm resumes so with "  #@E
                "--sched-on-updates, but this spec counts epochs, so it would restart at epoch 0. Run timm without "  #@E
                "--sched-on-updates, or load the scheduler's state_dict() saved with the checkpoint"  #@E
            )  #@E
        self._fresh = False
        self._move_to(n)  #@!E

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self._fresh = False

    def _record(self, metrics, position):  #@P
        """Report each metric whose next report's interval ends at ``position``; any other metric is no report."""  #@P
        for name, value in (metrics or {}).items():  #@P
            if value is not None and (len(self.reports[name]) + 1) * _REPORTS[name] == position:  #@P
                self.report(name, value)  #@P
  #@P
    def _move_to(self, k):
        """Set the position to ``k`` (timm's t) and write its lrs and hyperparameters."""
        self._step_count += 1
        self.last_epoch = k
        self._write(self._get_closed_form_lr())
        self._set_hparams(k)  #@H,!P
        if not self._waiting:  #@H,P
            self._set_hparams(k)  #@H,P
'''


def _select(template: str, flags: dict[str, bool], unit: str) -> list[list[str]]:
    """The template's blocks with the lines whose flags hold (flags removed), ``@UNIT@`` replaced."""
    blocks: list[list[str]] = [[]]
    for line in template.strip("\n").split("\n"):
        if line == "#---":
            blocks.append([])
            continue
        m = _FLAG_RE.search(line)
        if m:
            wanted = m.group(1).split(",")
            if not all(flags[f.lstrip("!")] != f.startswith("!") for f in wanted):
                continue
            line = line[: m.start()]
        blocks[-1].append(line.rstrip().replace("@UNIT@", unit))
    return [b for b in blocks if b]


def _name(name: str) -> str:
    """A string literal for a name the spec validated as an identifier (hyperparameter, group): checked again."""
    if not (isinstance(name, str) and name.isascii() and name.isidentifier()):
        raise ValueError(f"unexpected name {name!r}")
    return f'"{name}"'


def _dict(var: str, items: list[tuple[str, str]], comment: str) -> list[str]:
    """``VAR = {key: value, ...}  # comment``, one item per line when it does not fit (as ``ruff format`` does)."""
    flat = f"{var} = {{{', '.join(f'{k}: {v}' for k, v in items)}}}  # {comment}"
    if len(flat) <= _codegen.LINE:
        return [flat]
    return [f"{var} = {{  # {comment}", *(f"{_codegen.INDENT}{k}: {v}," for k, v in items), "}"]


def _usage(bound, unit: str, native, sites: list, others: dict, groups: dict) -> list[str]:
    """The header lines that say how to use the module."""
    per = "once per epoch" if unit == "epoch" else "once per optimizer step"
    lines = [
        f"# Usage (a closed-form LRScheduler{' driven by metric reports, like torch ReduceLROnPlateau' if sites else ''}):",
        "#     scheduler = build_scheduler(optimizer)",
        f"#     then {per}: optimizer.step(); scheduler.step()",
    ]  # fmt: skip
    if sites:
        clocks: dict[str, int] = {}
        for site in sites:
            clocks.setdefault(site.monitor, site.every)
        for n, e in clocks.items():
            _codegen.metric(n)  # an identifier (validated by the spec; checked again: it is written into comments)
            what = unit if e == 1 else f"{e} {unit}s"
            lines.append(f'#     at the end of each {what}: scheduler.report("{n}", {n})')
        if len(clocks) == 1 and next(iter(clocks.values())) == 1:
            n = next(iter(clocks))
            lines += [
                f"# or, as a drop-in for ReduceLROnPlateau.step({n}): scheduler.step({n}) once per {unit} (it records",
                "# the report, then steps; scheduler.step(metrics=...) is the same).",
            ]
        for n, e in clocks.items():
            first = min(s.origin // s.every for s in sites if s.monitor == n)
            uses = "." if first == 0 else f"; the plateau uses reports from #{first} on (make the earlier ones too: they are ignored)."  # fmt: skip
            text = f"Report j of {n} is the metric at the end of {_codegen.clock(e, unit)}, counted from k = 0{uses}"
            lines += _codegen.paragraph(text)
        lines += [
            "# A reduction decided at report j applies from the next interval, as in torch. optimizer.step() raises",
            "# if its update's lr waits for a report not made yet; state_dict() keeps the reports.",
        ]
    lines.append("# Update k (0-based) uses the spec's value(k); get_last_lr() reports the next update's lr.")
    if native:
        args = ", ".join(["optimizer", *(f"{k}={v}" for k, v in native.kwargs)])
        text = (f"torch.optim.lr_scheduler.{native.cls}({args}) on an optimizer built with lr={_codegen.num(native.start)} "
                "gives the same values (up to float64 rounding); this closed form also refuses another spec's state, "
                "resumes exactly in any order and follows the param-group rule below.")  # fmt: skip
        lines += _codegen.paragraph(text)
    if groups:
        text = ('Param groups: one carrying "name": <group> (or given by build_scheduler(optimizer, '
                f"groups={{<group>: <index>}})) gets exactly that group's schedules: {', '.join(groups)}. Any other ")  # fmt: skip
    else:
        text = "Param groups: "
    text += ("param group g gets value(k) * lr_g / L, lr_g the lr it was built with and L the optimizer's lr "
             '(optimizer.defaults["lr"]): a group built without its own lr gets exactly value(k). If none was built '
             "with L but all with one same lr, they all get value(k); different lrs, none of them L, are refused "
             'by optimizer.step(). A param group carrying "lr_scale" (timm\'s layer decay) gets its lr times '
             "lr_scale, as timm's schedulers do.")  # fmt: skip
    lines += _codegen.paragraph(text)
    if others:
        text = (f"Other hyperparameters, set on every param group at every {unit}: {', '.join(others)} (a spec "
                "group's own where it has one; build_scheduler(optimizer, hparams=[]) drives the lr only).")  # fmt: skip
        lines += _codegen.paragraph(text)
    moves = "step(epoch + 1, metric) moves the lr" if unit == "epoch" else "step_update(num_updates) moves the lr"
    text = ("timm's train.py: build_scheduler(optimizer, loop=\"timm\") takes step_update(num_updates, metric) after "
            f"each update and step(epoch + 1, metric) at each epoch end; this spec counts {unit}s, so {moves} and "
            "the other call does not" + (", and the metric of an epoch end that closes a report interval is its "
                                          "report." if sites else "."))  # fmt: skip
    lines += _codegen.paragraph(text)
    lines += [
        "# state_dict() carries the fingerprint above; load_state_dict() refuses another spec's state and, before or",
        "# after optimizer.load_state_dict(), writes the restored update's lr into the optimizer (exact resume).",
    ]
    return lines


def module(bound, node: ir.Node, head: list[str], native) -> str:
    """The torch module's source: ``head`` (the common header comment lines), then the usage, the code.

    Args:
        bound: the bound program (every var substituted).
        node: its lr (``bound.hparams["lr"]``).
        head: the header comment lines shared by every target (name, description, fingerprint, vars).
        native: the native torch class equal to ``node`` (named in a comment), or None.
    """
    unit = "epoch" if bound.interval == "epoch" else "step"
    fingerprint = ir.fingerprint(bound)
    others = {name: n for name, n in bound.hparams.items() if name != "lr"}
    groups = dict(bound.groups)
    trees = [("_value", "lr", node)]
    fns: dict[tuple, str] = {}
    for name, n in others.items():
        fns[("", name)] = f"_schedule_{len(trees)}"
        trees.append((fns[("", name)], name, n))
    for gname, own in groups.items():
        for name, n in own.items():
            fns[(gname, name)] = f"_schedule_{len(trees)}"
            trees.append((fns[(gname, name)], f"groups.{gname}.{name}", n))
    gen = _codegen.generate_roots(trees, scalar=True, unit=unit)
    shared = _source.closure({"lr_ratios", "lr_scales", *(["hparam_key", "set_hparam"] if others else [])}, _param_groups)
    copied = _source.closure({*gen.formulas, "MathXP"})
    stdlib = _source.modules_used(copied) | _source.modules_used(shared, _param_groups) | {"weakref"}
    blocks = [src.splitlines() for src in _source.source_of(copied)]
    blocks += [src.splitlines() for src in _source.source_of(shared, _param_groups)]
    if gen.constants:
        blocks.append([line for c in gen.constants for line in c])
    blocks += gen.functions
    tables = [f'_FINGERPRINT = "{fingerprint}"  # the bound spec\'s: state_dict() carries it, load_state_dict() checks it']
    if others:
        items = [(_name(name), fns[("", name)]) for name in others]
        tables += _dict("_HPARAMS", items, "the document's other hyperparameters, set on every param group")
    if groups:
        items = []
        for gname, own in groups.items():
            inner = ", ".join(f"{_name(name)}: {fns[(gname, name)]}" for name in own)
            items.append((_name(gname), f"{{{inner}}}"))
        tables += _dict("_GROUPS", items, "each spec group's own schedules (the others: the document's)")
    blocks.append(tables)
    flags = {"P": bool(gen.sites), "H": bool(others), "G": bool(groups), "A": bool(others or groups), "E": unit == "epoch"}
    blocks += _select(_TEMPLATE, flags, unit)
    params = [*(["groups"] if groups else []), *(["hparams"] if others else [])]
    args = ", ".join(["optimizer", *(f"{p}={p}" for p in params)])
    signature = ", ".join(["optimizer", *(f"{p}=None" for p in params), 'loop="torch"'])
    blocks.append([
        f"def build_scheduler({signature}):",
        '    """A torch LRScheduler for ``optimizer`` (see the comments at the top); loop="timm" follows timm\'s train.py."""',
        '    if loop not in ("torch", "timm"):',
        '        raise ValueError(f"loop must be \'torch\' or \'timm\' (got {loop!r})")',
        f'    return (TimmSchedule if loop == "timm" else Schedule)({args})',
    ])  # fmt: skip
    usage = _usage(bound, unit, native, gen.sites, others, groups)
    imports = [*(f"import {m}" for m in sorted(stdlib)), "", "import torch", "from torch.optim.lr_scheduler import LRScheduler"]
    doc = '"""The schedules of the spec named in the header, for torch; emitted by schedspec."""'
    top = "\n".join([*head, *usage, "", doc, "", *imports])
    return "\n\n\n".join([top, *("\n".join(b) for b in blocks)]) + "\n"
