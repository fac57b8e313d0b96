"""The closed-form PyTorch scheduler behind :func:`schedspec.adapters.torch.to_torch`: :class:`SchedSpecLR`.

Import it from :mod:`schedspec.adapters.torch`, which also holds the timm-loop subclass and the group matching;
this module holds the scheduler itself (values in blocks, the param-group rule, plateau reports, state dicts).
"""

from __future__ import annotations

import bisect
import operator
import warnings
import weakref
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from schedspec import _compile, _metrics, ir
from schedspec._param_groups import lr_ratios, lr_scales, set_hparam
from schedspec._target import resolve
from schedspec.backends import MathXP, NumpyXP
from schedspec.errors import did_you_mean, require
from schedspec.spec import Spec

torch = require("torch", "torch")
from torch.optim.lr_scheduler import LRScheduler  # noqa: E402

__all__ = ["SchedSpecLR", "DEFAULT_BLOCK"]


DEFAULT_BLOCK = 4096
_STATE_KEYS = ("last_epoch", "_step_count", "base_lrs", "_last_lr")


def _resolve(spec: Spec, hparam: str, vars: dict | None) -> tuple[Spec, ir.Node]:
    """The spec with ``vars`` applied and the bound IR node of ``hparam`` (no var left), or a SpecError."""
    res = resolve(spec, hparam, vars, "torch", counts_steps=False, metrics_ok=True)
    return res.spec, res.node


def _built_lrs(optimizer) -> list:
    """Per param group, the lr it was built with: ``initial_lr`` (torch sets it from ``lr`` when the first
    scheduler is built), else its ``lr``."""
    return [g.get("initial_lr", g["lr"]) for g in optimizer.param_groups]


def _ratio_check(ref):
    """An optimizer step pre-hook that refuses an update while the param groups' lr factors are ambiguous."""

    def hook(optimizer, args, kwargs):
        sched = ref()
        if sched is not None and sched._ratio_problem:
            raise ValueError(f"{sched.spec_name!r}: {sched._ratio_problem}")

    return hook


def _block_parts(node: ir.Node) -> list[tuple[int, int | None, Any]]:
    """``(begin, end, fn)`` per top-level phase of ``node`` (one part, ``(0, None, fn)``, if not a sequence).

    A sequence's phase *i* covers ``begin_i <= k < begin_{i+1}`` (the boundary belongs to the next phase) and is
    evaluated at ``k - begin_i`` (as in ``schedspec._compile``); evaluating a block phase by phase skips the
    phases that do not overlap it. ``fn`` is the shared numpy float64 evaluator of the phase (it clamps after its
    end).
    """
    xp = NumpyXP()
    if not isinstance(node, ir.Sequence) or len(node.parts) > _compile.SMALL_SEQUENCE:
        # a long sequence is evaluated whole, from its tables (one numpy call per kind, not per phase)
        return [(0, None, _compile.build(node, xp))]
    parts, begin = [], 0
    for i, part in enumerate(node.parts):
        end = None if i == len(node.parts) - 1 else begin + part.duration
        parts.append((begin, end, _compile.build(part, xp)))
        begin = end
    return parts


def _evaluate_block(parts: list[tuple[int, int | None, Any]], steps: np.ndarray) -> np.ndarray:
    """float64 values at the consecutive int64 ``steps`` (ascending by 1), phase by phase."""
    out = np.empty(steps.shape, dtype=np.float64)
    lo, n = int(steps[0]), len(steps)
    # the first part that overlaps the block (a binary search on the begins: a 1,000-phase sequence costs a block
    # what the few phases it overlaps cost, not a loop over every phase)
    first = max(bisect.bisect_right(parts, lo, key=lambda p: p[0]) - 1, 0)
    for j in range(first, len(parts)):
        begin, end, fn = parts[j]
        if begin >= lo + n:
            break
        a = max(begin - lo, 0)
        b = n if end is None else min(end - lo, n)
        if a >= b:
            continue
        with np.errstate(all="ignore"):  # where() computes both branches; only the selected values are used
            out[a:b] = np.broadcast_to(np.asarray(fn(steps[a:b] - begin, {}), dtype=np.float64), (b - a,))
    return out


def _pending_hook(ref):
    """An optimizer step pre-hook that refuses an update whose lr waits for a metric report."""

    def hook(optimizer, args, kwargs):
        sched = ref()
        if sched is not None:
            sched._check_pending(optimizer, args, kwargs)

    return hook


class SchedSpecLR(LRScheduler):
    """A closed-form ``LRScheduler`` running a schedspec schedule (build it with :func:`to_torch`).

    ``get_lr()`` (and ``_get_closed_form_lr()``) return, for each param group ``g``, its spec group's lr at
    ``last_epoch`` when it belongs to one, else ``value(last_epoch) * lr_g / L`` (the rule of
    :mod:`schedspec._param_groups`: ``lr_g`` the lr the group was built with, ``L`` the optimizer's
    ``defaults["lr"]``; a group built without its own lr gets exactly ``value(last_epoch)``), times the group's
    ``lr_scale`` where it carries one (timm's layer decay). ``last_epoch`` is ``k``, the index of the next update,
    under the loop ``optimizer.step(); scheduler.step()``.

    Resume is exact in any order of ``optimizer.load_state_dict``, building the scheduler and
    ``scheduler.load_state_dict``: the factors depend only on the built lrs (saved as ``base_lrs``) and on
    ``defaults["lr"]`` (never saved: it comes from building the optimizer again), and ``load_state_dict`` writes
    the restored update's lr and hyperparameters into the optimizer.

    The param groups are matched (spec groups, lr factors) when the scheduler is built: after a param group was
    added (``optimizer.add_param_group``) or removed, its next lr (``step``, ``report``, ``load_state_dict``)
    raises a ValueError saying to build the scheduler after the change.

    Attributes:
        fingerprint: the fingerprint of the bound spec (vars applied); saved in ``state_dict()`` and checked by
            ``load_state_dict()``.
        hparam: the schedule used (``"lr"``).
        spec_name: the spec's name, for messages.
        block_size: steps evaluated at once (0: one scalar evaluation per step).
        interval: the spec's ``interval``: ``"step"`` (``last_epoch`` counts optimizer updates) or ``"epoch"``
            (it counts epochs: step the scheduler once per epoch).

    With plateaus: :meth:`report` takes the metric reports; :attr:`reports`, :attr:`monitors`,
    :attr:`report_every` and :meth:`waiting` read them (for training-loop helpers).
    """

    _get_lr_called_within_step = False

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        node: ir.Node,
        *,
        fingerprint: str,
        hparam: str = "lr",
        spec_name: str = "",
        block_size: int = DEFAULT_BLOCK,
        others: dict[str, ir.Node] | None = None,
        group_nodes: dict[int, dict[str, ir.Node]] | None = None,
        reports: _metrics.Reports | None = None,
        interval: str = "step",
    ) -> None:
        """Build the scheduler; this writes ``value(0)`` into the optimizer, like every torch scheduler.

        Args:
            optimizer: the optimizer whose param groups' ``lr`` is set at every step.
            node: the bound IR node of the schedule (no vars left).
            fingerprint: the spec fingerprint stored in ``state_dict()``.
            hparam: the name of the schedule in the spec.
            spec_name: the spec's name, for messages.
            block_size: steps evaluated per numpy block; 0 evaluates each step with Python math instead.
            others: bound schedules of further hyperparameters (``momentum``, ``weight_decay``, ``beta1``, ...),
                set on every param group at every step.
            group_nodes: per param group index, the bound schedules of its spec group (``lr`` included); such a
                group gets exactly these values (the lr it was built with is not used).
            reports: the metric reports of the spec's plateaus (:class:`schedspec._metrics.Reports`), when it has
                any; values are then computed one step at a time from the reports given so far.
            interval: the spec's ``interval`` (``"step"`` or ``"epoch"``).
        """
        if not isinstance(block_size, int) or isinstance(block_size, bool) or block_size < 0:
            raise ValueError(f"block_size must be an int >= 0 (got {block_size!r})")
        if interval not in ("step", "epoch"):
            raise ValueError(f"interval must be 'step' or 'epoch' (got {interval!r})")
        self.interval = interval
        self._others = {name: _compile.build(n, MathXP) for name, n in (others or {}).items()}
        self._group_fns = {
            g: {name: _compile.build(n, MathXP) for name, n in hps.items()} for g, hps in (group_nodes or {}).items()
        }
        self._reports = reports
        self._pending: list = []
        self._has_others = bool(self._others) or any(set(f) - {"lr"} for f in self._group_fns.values())
        # the param groups that follow the document's lr (scaled by lr_g / defaults["lr"]); the others are absolute
        self._follows = [g for g in range(len(optimizer.param_groups)) if "lr" not in self._group_fns.get(g, {})]
        self._defaults_lr = (getattr(optimizer, "defaults", None) or {}).get("lr")
        self._ratio_hook = None
        # groups or plateaus: one scalar evaluation per group and step (plateau values change with each report)
        self._general = bool(self._group_fns) or reports is not None
        if self._general:
            block_size = 0
            self._lr_fn = _compile.build(node, MathXP)
        if reports is not None:
            self._hook = optimizer.register_step_pre_hook(_pending_hook(weakref.ref(self)))
        self._spec_node = node
        self.fingerprint = fingerprint
        self.hparam = hparam
        self.spec_name = spec_name
        self.block_size = block_size
        self._scalar = _compile.scalar_fn(node)
        self._block_parts = _block_parts(node) if block_size else []
        # torch sets base_lrs from group.setdefault("initial_lr", group["lr"]) before its first step: same here.
        self._set_ratios(optimizer, _built_lrs(optimizer))
        super().__init__(optimizer)

    # ------------------------------------------------------------------ values
    def _set_ratios(self, optimizer, built: list) -> None:
        """The lr factor of every param group from the lrs they were built with (:func:`lr_ratios`).

        Where the rule gives none (ambiguous), the factors are 1.0 placeholders and an optimizer step pre-hook
        refuses every update until a ``load_state_dict`` restores built lrs that give one (a resume may build
        the scheduler on an optimizer whose loaded lrs are not the built ones).
        """
        self._ratios, self._ratio_problem = lr_ratios(self._defaults_lr, built, self._follows)
        if self._ratio_problem and self._ratio_hook is None:
            self._ratio_hook = optimizer.register_step_pre_hook(_ratio_check(weakref.ref(self)))
        elif not self._ratio_problem and self._ratio_hook is not None:
            self._ratio_hook.remove()
            self._ratio_hook = None
        self._clear_cache()

    def _check_groups(self) -> None:
        """Refuse param groups added (``optimizer.add_param_group``) or removed since the scheduler was built (the
        param-group rule and the spec groups were matched then): a ValueError saying to build it after them."""
        groups = len(self.optimizer.param_groups)
        if groups != self._ngroups:
            raise ValueError(
                f"{self.spec_name!r}: the optimizer has {groups} param groups, but the scheduler was built with "
                f"{self._ngroups}: param groups added (optimizer.add_param_group) or removed after it was built are "
                "not scheduled; build the scheduler after the last change to the optimizer's param groups"
            )

    def _clear_cache(self) -> None:
        self._flat: list[float] = []
        self._ngroups = len(self._ratios)
        self._row0 = 0
        self._nrows = 0

    def lr_at(self, k: int) -> float:
        """The spec's float64 value at update ``k`` (the document's lr), by scalar Python-math evaluation.

        Args:
            k: the update index (0-based).

        Returns:
            ``value(k)``; a param group outside the spec's groups uses ``value(k) * lr_g / defaults["lr"]``.
            With plateaus, a value that needs a metric report not given yet is NaN.
        """
        if self._general:
            return float(self._lr_fn(self._check_k(k), self._env()))
        return self._scalar(self._check_k(k))

    # ------------------------------------------------------------------ reports (read-only accessors)
    @property
    def monitors(self) -> tuple[str, ...]:
        """The metrics the spec's plateaus monitor, sorted (empty without a plateau)."""
        return tuple(self._reports.names) if self._reports is not None else ()

    @property
    def report_every(self) -> Mapping[str, int]:
        """``{metric: every}``: one report of each monitored metric per ``every`` units of the spec's interval
        (updates for ``interval: step``, epochs for ``interval: epoch``), counted from k = 0. Read-only."""
        return MappingProxyType(dict(self._reports.every) if self._reports is not None else {})

    @property
    def reports(self) -> Mapping[str, tuple[float, ...]]:
        """``{metric: (report 0, report 1, ...)}``: the reports given so far (restored by
        :meth:`load_state_dict`), as a read-only snapshot; add one with :meth:`report`."""
        book = self._reports.reports if self._reports is not None else {}
        return MappingProxyType({name: tuple(values) for name, values in book.items()})

    def waiting(self) -> list[tuple[str, int]]:
        """``[(metric, reports needed), ...]``: the metrics whose reports the next update's lr still waits for
        (empty when it needs none; then ``optimizer.step()`` runs).

        The next update is ``last_epoch``; it needs ``reports needed`` reports of the metric, counted from
        report 0 (:attr:`reports` has fewer). One entry per metric, in the order of the plateaus in the spec,
        with the largest number any of its plateaus needs. ``optimizer.step()`` refuses to run while this is not
        empty, so a training-loop helper reports the metric (:meth:`report`) when it sees it here.
        """
        if self._reports is None:
            return []
        need: dict[str, int] = {}
        for site, n in self._reports.missing(self._check_k(self.last_epoch)):
            need[site.monitor] = max(n, need.get(site.monitor, 0))
        return list(need.items())

    # ------------------------------------------------------------------ groups, hyperparameters, reports
    def _env(self) -> dict:
        return self._reports.env() if self._reports is not None else {}

    def _general_lr(self, k: int) -> list[float]:
        """Per-group lrs at ``k`` (groups with their own spec schedule, plateaus); the current lrs while pending."""
        k = self._check_k(k)
        if self._reports is not None:
            self._pending = self._reports.missing(k)
            if self._pending:  # wait for the report (report() writes the lrs); optimizer.step() refuses meanwhile
                return [group["lr"] for group in self.optimizer.param_groups]
        env = self._env()
        base = float(self._lr_fn(k, env))
        out = []
        for g, ratio in enumerate(self._ratios):
            fn = self._group_fns.get(g, {}).get("lr")
            out.append(float(fn(k, env)) if fn is not None else base * ratio)
        return self._scale(out)

    def _apply_others(self, k: int | None = None) -> None:
        """Set every other hyperparameter schedule on the param groups at ``k`` (default ``last_epoch``)."""
        if self._pending or not self._has_others:
            return
        k, env = self.last_epoch if k is None else k, self._env()
        for g, group in enumerate(self.optimizer.param_groups):
            fns = {**self._others, **self._group_fns.get(g, {})}
            for name, fn in fns.items():
                if name != "lr":
                    set_hparam(group, name, float(fn(k, env)))

    def step(self, value: Any = None, /, *, epoch: Any = None, metrics: Any = None) -> None:
        """Move to the next update: ``last_epoch += 1`` and write its lr (and other hyperparameters).

        Args:
            value: a positional argument means what it means to torch. With a ``plateau`` it is the metric
                report, as in ``ReduceLROnPlateau.step(metrics)`` (Lightning calls ``scheduler.step(v)``).
                Without one it is torch's deprecated ``epoch`` (``LRScheduler.step(epoch)``): a whole number
                ``e >= 0`` (an int, or an integer numpy/torch scalar), after which the next update uses
                ``value(e)``, with torch's deprecation warning; anything else (a float metric such as 0.53,
                or 2.0) is a ValueError, raised before anything changes.
            epoch: torch's deprecated explicit epoch, the same as a positional whole number; not allowed with
                plateaus.
            metrics: a metric report made at the end of the interval that just ended, given before stepping: a
                number when the spec monitors one metric, or ``{name: value}`` (same as :meth:`report`).

        Raises:
            ValueError: as said above; a metric for a spec without a plateau; an epoch with a plateau.
        """
        if value is None and metrics is None and epoch is None and self._reports is None and not self._has_others:
            super().step()  # the common case: the lr only, no reports (the per-step hot path)
            return
        if value is not None:
            if self._reports is not None:
                if metrics is not None:
                    raise ValueError("give the metric report once: scheduler.step(v) or scheduler.step(metrics=v)")
                metrics = value
            elif epoch is not None:
                raise ValueError("give torch's deprecated epoch once: scheduler.step(e) or scheduler.step(epoch=e)")
            else:
                epoch = value
        if metrics is not None and self._reports is None:
            raise ValueError(f"{self.spec_name!r} has no `plateau`: scheduler.step() takes no metrics")
        if epoch is not None:
            if self._reports is not None:
                raise ValueError(
                    "this schedule has a `plateau`: give a metric report as scheduler.step(value), "
                    "scheduler.step(metrics=value) or scheduler.report(name, value); `epoch` (torch's deprecated "
                    "explicit epoch) cannot move a schedule driven by reports"
                )
            epoch = self._as_epoch(epoch)
        if metrics is not None:
            if not isinstance(metrics, dict):
                if len(self._reports.names) != 1:
                    raise ValueError(
                        f"{self.spec_name!r} monitors {', '.join(self._reports.names)}: pass "
                        "scheduler.step(metrics={name: value, ...})"
                    )
                metrics = {self._reports.names[0]: metrics}
            for name, v in metrics.items():
                self.report(name, v)
        if epoch is None:
            super().step()
        else:
            super().step(epoch)
        self._apply_others()

    def _as_epoch(self, epoch: Any) -> int:
        """torch's deprecated ``step(epoch)``: a whole number of updates, checked before anything changes."""
        try:
            k = None if isinstance(epoch, bool) else operator.index(epoch)
        except TypeError:
            k = None
        if k is None:
            raise ValueError(
                f"scheduler.step({epoch!r}): {self.spec_name!r} has no `plateau`, so it takes no metric; a "
                "positional argument is torch's deprecated `epoch` (the update whose lr to set next), which must "
                "be a whole number (an int). Call scheduler.step() once per update"
            )
        if not 0 <= k <= ir.MAX_STEPS:
            raise ValueError(f"scheduler.step(epoch={k}): the epoch must be in [0, 2**31-1]")
        return k

    def report(self, name: str, value: Any) -> None:
        """Record the next report of metric ``name`` (report ``j`` = the ``j``-th call, from k = 0).

        Report ``j`` is the metric measured at the end of interval ``j`` of the plateau's ``every`` clock; make
        one per interval, including intervals before the plateau begins (they are ignored). It may be given just
        before the interval's last ``scheduler.step()`` or just after it; the reduction it decides applies from
        the next interval. If ``scheduler.step()`` already moved into an interval whose lr needs this report,
        the lr is written now (``optimizer.step()`` refuses to run until it is).

        Raises:
            ValueError: the spec has no plateau monitoring ``name``, or the report comes before its interval.
        """
        reports = self._reports
        if reports is None:
            raise ValueError(f"{self.spec_name!r} has no `plateau`, so it takes no metric reports")
        if name not in reports.names:
            raise ValueError(
                f"no `plateau` of {self.spec_name!r} monitors {name!r}{did_you_mean(str(name), reports.names)} "
                f"(monitored: {', '.join(reports.names)})"
            )
        j, every, k = len(reports.reports[name]), reports.every[name], self.last_epoch
        if j > k // every:
            raise ValueError(
                f"report #{j} of {name!r} is the metric at the end of interval {j} (updates {j * every}.."
                f"{(j + 1) * every - 1}), but the scheduler is at update {k} (interval {k // every}): make one report "
                f"per {every} update{'s' if every != 1 else ''}"
            )
        self._check_groups()
        reports.add(name, value)
        if self._pending:
            values = self._general_lr(k)
            if not self._pending:
                self._write_lrs(values)
                self._apply_others()

    def _write_lrs(self, values: list) -> None:
        """Write the lrs into the param groups (in place for a tensor lr, as torch does) and ``_last_lr``."""
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(float(lr))
            else:
                group["lr"] = lr
        self._last_lr = [
            group["lr"].clone() if isinstance(group["lr"], torch.Tensor) else group["lr"]
            for group in self.optimizer.param_groups
        ]

    def _check_pending(self, optimizer, args, kwargs) -> None:
        if self._pending:
            site, need = self._pending[0]
            name, unit = site.monitor, "epoch" if self.interval == "epoch" else "update"
            raise RuntimeError(
                f"{unit} {self.last_epoch} of {self.spec_name!r} uses the value after {need} reports of {name!r} "
                f"(one per {site.every} {unit}{'s' if site.every != 1 else ''}), but "
                f"{len(self._reports.reports[name])} were given: {self._report_hint(name)}"
            )

    def _report_hint(self, name: str) -> str:
        """How to make the report that an update waits for (the end of the message of :meth:`_check_pending`)."""
        return (f"call scheduler.report({name!r}, value) (or scheduler.step(metrics=value)) at the end of each "
                "interval, before the next optimizer.step()")  # fmt: skip

    def step_update(self, num_updates: Any, metric: Any = None) -> None:
        """timm's per-update call, refused: this scheduler follows torch's loop (build it with ``loop="timm"``).

        Raises:
            TypeError: always; :class:`TimmSchedSpecLR` (``schedspec.to_torch(spec, optimizer, loop="timm")``)
                takes timm's ``step_update(num_updates, metric)`` and ``step(epoch, metric)``.
        """
        raise TypeError(
            f"scheduler.step_update({num_updates!r}) is timm's call, but this scheduler follows torch's loop "
            f"(scheduler.step() once per {'epoch' if self.interval == 'epoch' else 'optimizer update'}): in timm's "
            "train.py build it with schedspec.to_torch(spec, optimizer, loop='timm'), whose step_update(num_updates, "
            "metric) and step(epoch, metric) follow timm's"
        )

    @staticmethod
    def _check_k(k: Any) -> int:
        """``k`` (``last_epoch``, ``lr_at``'s k) checked exactly as :func:`schedspec.evaluate` checks it: one whole
        number in ``[0, 2**31-1]`` (a bool, a fraction or a value out of range is a ValueError naming it)."""
        try:
            arr = ir.check_steps(k)
        except ValueError as exc:
            raise ValueError(f"last_epoch={k!r}: {exc}") from None
        if arr.ndim:
            raise ValueError(f"last_epoch={k!r}: one update index is expected, got an array of shape {arr.shape}")
        return int(arr)

    def _values_at(self, k: int) -> list[float]:
        """The per-group lrs at ``k`` (a fresh list), ``lr_scale`` applied."""
        i = k - self._row0
        if 0 <= i < self._nrows:
            j = i * self._ngroups
            return self._scale(self._flat[j : j + self._ngroups])
        return self._scale(self._fill(k))

    def _scale(self, values: list) -> list:
        """``values`` times each param group's ``lr_scale`` (timm's layer decay), when a group carries one: the
        last step of the param-group rule (:func:`schedspec._param_groups.lr_scales`, read from the param groups
        as they are now)."""
        scales = lr_scales(self.optimizer.param_groups)
        if scales is None:
            return values
        return [v * s for v, s in zip(values, scales, strict=True)]

    def _fill(self, k: Any) -> list[float]:
        k = self._check_k(k)
        if not self.block_size:
            v = self._scalar(k)
            return [v * r for r in self._ratios]
        start = k - k % self.block_size
        steps = np.arange(start, min(start + self.block_size, ir.MAX_STEPS + 1), dtype=np.int64)
        values = _evaluate_block(self._block_parts, steps)
        # One flat list of floats (row-major: step, group): floats are not tracked by the garbage collector,
        # so this is ~30x cheaper to build than a list of per-step lists.
        self._flat = (values[:, None] * np.asarray(self._ratios, dtype=np.float64)).ravel().tolist()
        self._row0, self._nrows = start, len(steps)
        j = (k - start) * self._ngroups
        return self._flat[j : j + self._ngroups]

    def get_lr(self) -> list[float]:
        """The lr of every param group at ``last_epoch`` (see the class docstring for the per-group rule)."""
        if not self._get_lr_called_within_step:
            warnings.warn(
                "To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                UserWarning,
                stacklevel=2,
            )
        self._check_groups()
        if self._general:
            return self._general_lr(self.last_epoch)
        i = self.last_epoch - self._row0  # inlined _values_at: this is the per-step hot path
        if 0 <= i < self._nrows:
            j = i * self._ngroups
            row = self._flat[j : j + self._ngroups]
        else:
            row = self._fill(self.last_epoch)
        for group in self.optimizer.param_groups:
            if "lr_scale" in group:
                return self._scale(row)
        return row

    def _get_closed_form_lr(self) -> list[float]:
        """Same as :meth:`get_lr` (used by the deprecated ``step(epoch)``)."""
        self._check_groups()
        self.last_epoch = self._check_k(self.last_epoch)
        if self._general:
            return self._general_lr(self.last_epoch)
        return self._values_at(self.last_epoch)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """What resuming needs: ``last_epoch``, ``_step_count``, ``base_lrs``, ``_last_lr`` and the spec identity.

        No function or cache is saved; a scheduler built from the same spec (and vars) restores the rest.
        """
        state = {key: getattr(self, key) for key in _STATE_KEYS}
        state["base_lrs"] = list(state["base_lrs"])
        state["_last_lr"] = list(state["_last_lr"])
        state["schedspec_fingerprint"] = self.fingerprint
        state["schedspec_hparam"] = self.hparam
        if self._reports is not None:  # the plateau state is a function of the reports: they are the state
            state["schedspec_reports"] = {name: list(v) for name, v in self._reports.reports.items()}
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` of a scheduler built from the same spec.

        Args:
            state_dict: the saved state.

        It may come before or after ``optimizer.load_state_dict`` and before or after the scheduler was built on
        a loaded optimizer: it restores ``last_epoch``, the built lrs (``base_lrs``, also written back as each
        group's ``initial_lr``) and the metric reports, then writes the lr and the other hyperparameters of the
        restored update into the optimizer, so the next update uses ``value(last_epoch)`` whatever the order
        (torch's own ``load_state_dict`` leaves the optimizer alone; see pytorch issue 65342). While that
        update waits for a metric report, the saved ``_last_lr`` is written instead.

        Raises:
            ValueError: the state comes from another spec (another fingerprint: the bound schedule, so also
                another ``total`` where an open last phase runs to it), another hparam, another number of
                param groups, or is not a schedspec scheduler state.
        """
        saved = state_dict.get("schedspec_fingerprint")
        if saved is None:
            raise ValueError(
                "this is not a schedspec scheduler state (no 'schedspec_fingerprint'; keys: "
                f"{', '.join(sorted(map(str, state_dict)))}); load a state saved by a schedspec.to_torch scheduler"
            )
        hparam = state_dict.get("schedspec_hparam", "lr")
        if saved != self.fingerprint or hparam != self.hparam:
            raise ValueError(
                f"the scheduler state was saved from a different schedule (fingerprint {saved}, `{hparam}`); this "
                f"scheduler runs {self.spec_name!r} (fingerprint {self.fingerprint}, `{self.hparam}`). Build the "
                "scheduler from the same spec and vars as the checkpoint"
            )
        missing = [key for key in _STATE_KEYS if key not in state_dict]
        if missing:
            raise ValueError(f"the scheduler state lacks {', '.join(missing)}")
        self._check_groups()
        groups = len(self.optimizer.param_groups)
        if len(state_dict["base_lrs"]) != groups:
            raise ValueError(
                f"the scheduler state has {len(state_dict['base_lrs'])} param groups, the optimizer has {groups}"
            )
        if self._reports is not None and "schedspec_reports" not in state_dict:
            raise ValueError("the scheduler state has no metric reports, but this schedule has a `plateau`")
        self.last_epoch = self._check_k(state_dict["last_epoch"])
        self._step_count = int(state_dict["_step_count"])
        self.base_lrs = list(state_dict["base_lrs"])
        self._last_lr = list(state_dict["_last_lr"])
        self._set_ratios(self.optimizer, self.base_lrs)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["initial_lr"] = base
        if self._reports is not None:
            self._reports.load(state_dict["schedspec_reports"])
        k = self.last_epoch
        values = self._general_lr(k) if self._general else self._values_at(k)  # (sets _pending with plateaus)
        if self._pending:  # the restored update waits for a report: the lrs it had when saved
            self._write_lrs(list(state_dict["_last_lr"]))
            if k > 0:
                self._pending, pending = [], self._pending
                self._apply_others(k - 1)
                self._pending = pending
        else:
            self._write_lrs(values)
            self._apply_others()

    def __repr__(self) -> str:
        return (
            f"<schedspec.SchedSpecLR {self.spec_name!r} `{self.hparam}` fingerprint={self.fingerprint} "
            f"last_epoch={self.last_epoch}>"
        )
