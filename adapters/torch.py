"""PyTorch runtime adapter: a schedspec schedule as a ``torch.optim.lr_scheduler.LRScheduler``.

The scheduler is closed-form: ``get_lr()`` returns ``value(last_epoch)`` for every param group, never a ratio of
the previous lr, so it does not drift, it resumes bit-exactly from ``state_dict()``, and group 0 receives exactly the
float64 value of the spec. Values come from the shared formula set (:mod:`schedspec.formulas`) evaluated in float64
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

import warnings
from typing import Any

import numpy as np

from schedspec import _compile, ir
from schedspec._errors import require
from schedspec._load import Spec, load
from schedspec._target import resolve
from schedspec.formulas import NumpyXP

torch = require("torch", "torch")
from torch.optim.lr_scheduler import LRScheduler  # noqa: E402

__all__ = ["SchedSpecLR", "to_torch"]

DEFAULT_BLOCK = 4096
_STATE_KEYS = ("last_epoch", "_step_count", "base_lrs", "_last_lr")


def _resolve(spec: Spec, hparam: str, vars: dict | None) -> tuple[Spec, ir.Node]:
    """The spec with ``vars`` applied and the bound IR node of ``hparam`` (no var left), or a SpecError."""
    res = resolve(spec, hparam, vars, "torch", counts_steps=False)
    return res.spec, res.node


def _ratios(base_lrs: list) -> list[float]:
    """Per-group scale ``initial_lr_g / initial_lr_0`` (group 0: exactly 1.0)."""
    lrs = [float(b) for b in base_lrs]
    first = lrs[0]
    if first == 0.0:
        if any(b != 0.0 for b in lrs):
            raise ValueError(
                "param group 0 has initial lr 0 but other groups do not; groups are scaled by "
                f"initial_lr_g / initial_lr_0 (got initial lrs {lrs}); give group 0 a non-zero lr"
            )
        return [1.0] * len(lrs)
    return [1.0] + [b / first for b in lrs[1:]]


def _block_parts(node: ir.Node) -> list[tuple[int, int | None, Any]]:
    """``(begin, end, fn)`` per top-level phase of ``node`` (one part, ``(0, None, fn)``, if not a sequence).

    A sequence's phase *i* covers ``begin_i <= k < begin_{i+1}`` (the boundary belongs to the next phase) and is
    evaluated at ``k - begin_i`` (as in ``schedspec._compile``); evaluating a block phase by phase skips the
    phases that do not overlap it. ``fn`` is the shared numpy float64 evaluator of the phase (it clamps after its
    end).
    """
    xp = NumpyXP()
    if not isinstance(node, ir.Sequence):
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
    for begin, end, fn in parts:
        a = max(begin - lo, 0)
        b = n if end is None else min(end - lo, n)
        if a >= b:
            continue
        with np.errstate(all="ignore"):  # where() computes both branches; only the selected values are used
            out[a:b] = np.broadcast_to(np.asarray(fn(steps[a:b] - begin, {}), dtype=np.float64), (b - a,))
    return out


class SchedSpecLR(LRScheduler):
    """A closed-form ``LRScheduler`` running a schedspec schedule (build it with :func:`to_torch`).

    ``get_lr()`` (and ``_get_closed_form_lr()``) return ``value(last_epoch) * initial_lr_g / initial_lr_0`` for
    each param group ``g``: group 0 gets exactly the spec's value, other groups keep their ratio to group 0.
    ``last_epoch`` is ``k``, the index of the next update, under the loop ``optimizer.step(); scheduler.step()``.

    Attributes:
        fingerprint: the fingerprint of the bound spec (vars applied); saved in ``state_dict()`` and checked by
            ``load_state_dict()``.
        hparam: the schedule used (``"lr"``).
        spec_name: the spec's name, for messages.
        block_size: steps evaluated at once (0: one scalar evaluation per step).
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
    ) -> None:
        """Build the scheduler; this writes ``value(0)`` into the optimizer, like every torch scheduler.

        Args:
            optimizer: the optimizer whose param groups' ``lr`` is set at every step.
            node: the bound IR node of the schedule (no vars left).
            fingerprint: the spec fingerprint stored in ``state_dict()``.
            hparam: the name of the schedule in the spec.
            spec_name: the spec's name, for messages.
            block_size: steps evaluated per numpy block; 0 evaluates each step with Python math instead.
        """
        if not isinstance(block_size, int) or block_size < 0:
            raise ValueError(f"block_size must be an int >= 0 (got {block_size!r})")
        self._spec_node = node
        self.fingerprint = fingerprint
        self.hparam = hparam
        self.spec_name = spec_name
        self.block_size = block_size
        self._scalar = _compile.scalar_fn(node)
        self._block_parts = _block_parts(node) if block_size else []
        # torch sets base_lrs from group.setdefault("initial_lr", group["lr"]) before its first step: same here.
        self._ratios = _ratios([g.get("initial_lr", g["lr"]) for g in optimizer.param_groups])
        self._clear_cache()
        super().__init__(optimizer)

    # ------------------------------------------------------------------ values
    def _clear_cache(self) -> None:
        self._flat: list[float] = []
        self._ngroups = len(self._ratios)
        self._row0 = 0
        self._nrows = 0

    def lr_at(self, k: int) -> float:
        """The spec's float64 value at update ``k`` (group 0), by scalar Python-math evaluation.

        Args:
            k: the update index (0-based).

        Returns:
            ``value(k)``; group ``g`` uses ``value(k) * initial_lr_g / initial_lr_0``.
        """
        return self._scalar(self._check_k(k))

    @staticmethod
    def _check_k(k: Any) -> int:
        if isinstance(k, float):
            if not k.is_integer():
                raise ValueError(f"the schedule is evaluated at whole update indices; got last_epoch={k!r}")
            k = int(k)
        k = int(k)
        if not 0 <= k <= ir.MAX_STEPS:
            raise ValueError(f"last_epoch must be in [0, 2**31-1] (got {k})")
        return k

    def _values_at(self, k: int) -> list[float]:
        """The per-group lrs at ``k`` (a fresh list)."""
        i = k - self._row0
        if 0 <= i < self._nrows:
            j = i * self._ngroups
            return self._flat[j : j + self._ngroups]
        return self._fill(k)

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
        """The lr of every param group at ``last_epoch``: ``value(last_epoch) * initial_lr_g / initial_lr_0``."""
        if not self._get_lr_called_within_step:
            warnings.warn(
                "To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                UserWarning,
                stacklevel=2,
            )
        i = self.last_epoch - self._row0  # inlined _values_at: this is the per-step hot path
        if 0 <= i < self._nrows:
            j = i * self._ngroups
            return self._flat[j : j + self._ngroups]
        return self._fill(self.last_epoch)

    def _get_closed_form_lr(self) -> list[float]:
        """Same as :meth:`get_lr` (used by the deprecated ``step(epoch)``)."""
        self.last_epoch = self._check_k(self.last_epoch)
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
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` of a scheduler built from the same spec.

        Args:
            state_dict: the saved state.

        Raises:
            ValueError: the state comes from another spec, another hparam, another number of param groups, or is
                not a schedspec scheduler state.
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
        groups = len(self.optimizer.param_groups)
        if len(state_dict["base_lrs"]) != groups:
            raise ValueError(
                f"the scheduler state has {len(state_dict['base_lrs'])} param groups, the optimizer has {groups}"
            )
        self.last_epoch = self._check_k(state_dict["last_epoch"])
        self._step_count = int(state_dict["_step_count"])
        self.base_lrs = list(state_dict["base_lrs"])
        self._last_lr = list(state_dict["_last_lr"])
        self._ratios = _ratios(self.base_lrs)
        self._clear_cache()

    def __repr__(self) -> str:
        return (
            f"<schedspec.SchedSpecLR {self.spec_name!r} `{self.hparam}` fingerprint={self.fingerprint} "
            f"last_epoch={self.last_epoch}>"
        )


def to_torch(
    spec: Spec | str | dict,
    optimizer: torch.optim.Optimizer,
    hparam: str = "lr",
    vars: dict[str, Any] | None = None,
    block_size: int = DEFAULT_BLOCK,
) -> SchedSpecLR:
    """A ``torch.optim.lr_scheduler.LRScheduler`` that sets ``optimizer``'s lr to the spec's value at each step.

    Call ``optimizer.step()`` then ``scheduler.step()``: update ``k`` (0-based) then uses ``value(k)``, and
    ``get_last_lr()`` after the k-th ``scheduler.step()`` call reports ``value(k + 1)``, the next update's lr.
    With ``interval: epoch`` the schedule counts epochs: call ``scheduler.step()`` once per epoch (after the
    epoch's last ``optimizer.step()``), and epoch ``e`` uses ``value(e)``; ``steps_per_epoch`` is not needed.

    Group 0 gets exactly the spec's value; group ``g`` gets ``value(k) * initial_lr_g / initial_lr_0``, where
    ``initial_lr`` is the lr the group had when the scheduler was built (all groups equal: all get the value).
    Resume with ``scheduler.load_state_dict(saved)`` on a scheduler built from the same spec and vars; a state
    saved from another spec is refused.

    Args:
        spec: a :class:`schedspec.Spec`, a path to a YAML file, or a dict.
        optimizer: a ``torch.optim.Optimizer``.
        hparam: which schedule of the spec drives the lr (default ``"lr"``).
        vars: var values overriding the spec's (a spec that sweeps a var used by ``hparam`` needs one value).
        block_size: steps evaluated at once with numpy float64 (default 4096); 0 evaluates each step with
            Python math (slower per step, no block computation).

    Returns:
        A :class:`SchedSpecLR`.

    Raises:
        SpecError: the spec is invalid, has no ``hparam``, sweeps a var without ``vars`` choosing one member, or
            uses ``plateau`` (metric-driven, not supported by this adapter yet).

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
    spec = load(spec)
    spec, node = _resolve(spec, hparam, vars)
    return SchedSpecLR(
        optimizer,
        node,
        fingerprint=spec.fingerprint,
        hparam=hparam,
        spec_name=spec.name,
        block_size=block_size,
    )
