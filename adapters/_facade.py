"""An ``LRScheduler`` face over a :class:`schedspec.adapters.torch.SchedSpecLR`, for training loops with rules of
their own (Lightning's plateau slot, HF Trainer's once-per-update ``step()``).

A loop calls ``facade.step(...)`` on its own clock; the facade decides when the wrapped scheduler steps and when a
metric is a plateau report, and it saves its own counters next to the scheduler's state, so a checkpoint resumes
exactly. It is an ``LRScheduler`` instance (loops check that), but it never runs ``LRScheduler.__init__``: the
wrapped scheduler already owns the optimizer's lrs.
"""

from __future__ import annotations

from typing import Any

from schedspec.errors import require

torch = require("torch", "torch")
from torch.optim.lr_scheduler import LRScheduler  # noqa: E402

__all__ = ["Facade"]


class Facade(LRScheduler):
    """Base class: delegates the ``LRScheduler`` surface to ``self.scheduler`` (a ``SchedSpecLR``).

    Subclasses define :meth:`step` and list their own counters in ``_OWN`` (saved by :meth:`state_dict`).

    Attributes:
        scheduler: the wrapped ``SchedSpecLR`` (``scheduler.report(name, value)``, ``scheduler.lr_at(k)``, ...).
        optimizer: the wrapped scheduler's optimizer (loops check that it is one of theirs).
    """

    _OWN: tuple[str, ...] = ()

    def __init__(self, scheduler: Any) -> None:  # noqa: D107 - no LRScheduler.__init__ on purpose (see module)
        self.scheduler = scheduler
        self.optimizer = scheduler.optimizer

    # ------------------------------------------------------------------ the LRScheduler surface
    @property
    def last_epoch(self) -> int:  # type: ignore[override]
        """The wrapped scheduler's ``last_epoch`` (its ``k``)."""
        return self.scheduler.last_epoch

    @last_epoch.setter
    def last_epoch(self, value: int) -> None:
        self.scheduler.last_epoch = value

    @property
    def base_lrs(self) -> list:  # type: ignore[override]
        return self.scheduler.base_lrs

    @property
    def fingerprint(self) -> str:
        return self.scheduler.fingerprint

    def get_last_lr(self) -> list[float]:
        """The lrs the wrapped scheduler wrote last (torch's ``get_last_lr``)."""
        return self.scheduler.get_last_lr()

    def get_lr(self) -> list[float]:
        return self.scheduler.get_last_lr()

    def step(self, *args: Any, **kwargs: Any) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The wrapped scheduler's state under ``"scheduler"`` and this facade's counters."""
        return {"schedspec_facade": type(self).__name__, "scheduler": self.scheduler.state_dict(),
                **{key: getattr(self, key) for key in self._OWN}}  # fmt: skip

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` of the same kind of facade over the same spec.

        Raises:
            ValueError: the state was saved by something else (another facade, a bare scheduler), or from
                another spec (the wrapped scheduler checks the fingerprint).
        """
        kind = state_dict.get("schedspec_facade") if isinstance(state_dict, dict) else None
        if kind != type(self).__name__:
            got = f"a {kind} state" if kind else "not a state saved by this scheduler (no 'schedspec_facade')"
            raise ValueError(f"cannot load the scheduler state: it is {got}; this is a {type(self).__name__}, "
                             "built the same way as when the checkpoint was saved?")  # fmt: skip
        self.scheduler.load_state_dict(state_dict["scheduler"])
        for key in self._OWN:
            setattr(self, key, state_dict[key])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} over {self.scheduler!r}>"
