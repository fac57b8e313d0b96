"""Live timm schedulers -> spec data in ``timm.*`` kinds (behind :func:`schedspec.from_timm`).

A scheduler is recognised by its class name (``CosineLRScheduler``, ``TanhLRScheduler``, ``StepLRScheduler``,
``MultiStepLRScheduler``, ``PolyLRScheduler``, ``PlateauLRScheduler``) and read from its attributes (duck typing:
timm itself is never imported); ``lr`` is its first ``base_values`` entry. The loop cannot be read from the object:
the kinds follow timm's ``train.py`` (``step(epoch + 1)`` after each epoch, or ``step_update(num_updates)`` after
each update), and ``t`` counts the spec's interval, which is ``epoch`` when ``t_in_epochs`` is True, else ``step``.
DeiT's ``main.py`` steps one epoch later (``step(epoch)``): write that loop's first epoch as its own phase.
"""

from __future__ import annotations

from typing import Any

from ..errors import SpecError
from . import timm as tm
from ._base import plain, refuse

__all__ = ["timm_data"]

_CLASSES = {"CosineLRScheduler": "cosine", "TanhLRScheduler": "tanh", "StepLRScheduler": "step",
            "MultiStepLRScheduler": "multistep", "PolyLRScheduler": "poly", "PlateauLRScheduler": "plateau"}  # fmt: skip
_SKIP = {"kind", "duration", "lr", "monitor", "verbose", "initialize"}


def _fail(message: str) -> SpecError:
    return refuse("timm", (), message)


def timm_data(scheduler: Any, *, monitor: str | None = None, total: int | None = None, name: str | None = None) -> dict:
    """Spec data in ``timm.*`` kinds from a live timm scheduler (see the module's docstring).

    Raises:
        SpecError: a class that is not one of the six (a subclass included: its ``_get_lr`` may differ), noise
            switched on, or per-group base values that differ.
    """
    cls = type(scheduler).__name__
    if cls not in _CLASSES or not type(scheduler).__module__.startswith("timm."):
        raise _fail(f"{cls} is not one of timm's schedulers schedspec reads ({', '.join(_CLASSES)}): a subclass or "
                    "another class may compute other values")  # fmt: skip
    sched = _CLASSES[cls]
    base = [plain(v) for v in getattr(scheduler, "base_values", [])]
    if not base or len(set(base)) != 1:
        raise _fail(f"the param groups' base lrs differ ({base}): import one schedule at a time")
    model = tm.KINDS[f"timm.{sched}"]
    data: dict = {"kind": f"timm.{sched}", "lr": float(base[0])}
    for field in model.model_fields:
        if field in _SKIP:
            continue
        src = {"decay_rate": "decay_rate", "patience_t": "patience_t", "cooldown_t": "cooldown_t"}.get(field, field)
        inner = getattr(scheduler, "lr_scheduler", None)  # PlateauLRScheduler wraps torch's ReduceLROnPlateau
        if sched == "plateau" and inner is not None and field in ("decay_rate", "patience_t", "mode", "threshold",
                                                                   "cooldown_t", "lr_min"):  # fmt: skip
            attr = {"decay_rate": "factor", "patience_t": "patience", "mode": "mode", "threshold": "threshold",
                    "cooldown_t": "cooldown", "lr_min": "min_lrs"}[field]  # fmt: skip
            value = plain(getattr(inner, attr))
            if field == "lr_min":
                value = value[0] if isinstance(value, list) else value
        elif hasattr(scheduler, src):
            value = plain(getattr(scheduler, src))
        else:
            continue
        if isinstance(value, tuple):
            value = list(value)
        data[field] = value
    if sched == "plateau":
        data["monitor"] = monitor or "eval_metric"
        data.pop("warmup_prefix", None)
    if data.get("noise_range_t") is not None:
        raise _fail("the scheduler adds lr noise (noise_range_t is set): seeded randomness is not a schedule")
    for noise in ("noise_range_t", "noise_pct", "noise_std", "noise_seed", "noise_type"):
        data.pop(noise, None)
    interval = "epoch" if getattr(scheduler, "t_in_epochs", True) else "step"
    doc: dict = {"schedspec": 1}
    if name:
        doc["name"] = name
    if interval == "epoch":
        doc["interval"] = "epoch"
    if total is not None:
        doc["total"] = int(total)
    doc["lr"] = data
    return doc
