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
    if isinstance(scheduler, dict):
        return _args_data(scheduler, monitor=monitor, total=total, name=name)
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


_ARGS_SCHEDS = ("cosine", "tanh", "poly", "step", "multistep")


def _args_data(args: dict, *, monitor: str | None, total: int | None, name: str | None) -> dict:
    """timm ``train.py``'s ``args.yaml`` (epoch-stepped ``create_scheduler_v2``): ``sched``, ``epochs``, ``lr``,
    ``warmup_epochs``, ``warmup_lr``, ``min_lr``, ``lr_cycle_mul``/``_decay``/``_limit``, ``lr_k_decay``,
    ``decay_epochs``, ``decay_milestones``, ``decay_rate``, ``warmup_prefix``; the noise arguments refused."""
    sched = args.get("sched", "cosine")
    if sched not in _ARGS_SCHEDS:
        raise _fail(f"--sched {sched!r}: schedspec reads {', '.join(_ARGS_SCHEDS)} from args.yaml (a plateau needs "
                    "its metric's reports: write timm.plateau)")  # fmt: skip
    if args.get("sched_on_updates"):
        raise _fail("sched_on_updates: the schedule counts updates, whose number per epoch args.yaml does not hold; "
                    "write the timm kind in a step spec")  # fmt: skip
    if args.get("lr_noise") is not None:
        raise _fail("lr_noise is set: timm's lr noise is seeded randomness, not a schedule")
    data: dict = {"kind": f"timm.{sched}", "lr": float(args["lr"]), "warmup_t": int(args.get("warmup_epochs", 0)),
                  "warmup_lr_init": float(args.get("warmup_lr", 1e-5)),
                  "warmup_prefix": bool(args.get("warmup_prefix", False))}  # fmt: skip
    if sched in ("cosine", "tanh", "poly"):
        data.update(t_initial=int(args["epochs"]), lr_min=float(args.get("min_lr", 0.0)),
                    cycle_mul=float(args.get("lr_cycle_mul", 1.0)), cycle_decay=float(args.get("lr_cycle_decay", 0.5)),
                    cycle_limit=int(args.get("lr_cycle_limit", 1)))  # fmt: skip
        if sched != "tanh":
            data["k_decay"] = float(args.get("lr_k_decay", 1.0))
        if sched == "poly":
            data["power"] = float(args.get("decay_rate", 0.1))
    elif sched == "step":
        data.update(decay_t=plain(args.get("decay_epochs", 90)), decay_rate=float(args.get("decay_rate", 0.1)))
    else:
        data.update(decay_t=list(args.get("decay_milestones", [90, 180, 270])),
                    decay_rate=float(args.get("decay_rate", 0.1)))  # fmt: skip
    doc: dict = {"schedspec": 1}
    if name:
        doc["name"] = name
    doc["interval"] = "epoch"
    if total is not None:
        doc["total"] = int(total)
    elif isinstance(data.get("decay_t"), float):
        doc["total"] = int(args["epochs"]) + int(args.get("cooldown_epochs", 0))
    doc["lr"] = data
    return doc
