"""Live timm schedulers -> spec data in ``timm.*`` kinds (behind :func:`schedspec.from_timm`).

A scheduler is recognised by its class name (``CosineLRScheduler``, ``TanhLRScheduler``, ``StepLRScheduler``,
``MultiStepLRScheduler``, ``PolyLRScheduler``, ``PlateauLRScheduler``) and read from its attributes (duck typing:
timm itself is never imported); ``lr`` is its first ``base_values`` entry. The loop cannot be read from the object:
the kinds follow timm's ``train.py`` (``step(epoch + 1)`` after each epoch, or ``step_update(num_updates)`` after
each update), and ``t`` counts the spec's interval, which is ``epoch`` when ``t_in_epochs`` is True, else ``step``.
DeiT's ``main.py`` steps one epoch later (``step(epoch)``): write that loop's first epoch as its own phase.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from ..errors import SpecError, did_you_mean
from . import timm as tm
from ._base import plain, refuse

__all__ = ["timm_args", "timm_data"]

_CLASSES = {"CosineLRScheduler": "cosine", "TanhLRScheduler": "tanh", "StepLRScheduler": "step",
            "MultiStepLRScheduler": "multistep", "PolyLRScheduler": "poly", "PlateauLRScheduler": "plateau"}  # fmt: skip
_SKIP = {"kind", "duration", "lr", "monitor", "verbose", "initialize"}


def _fail(message: str, path: tuple = ()) -> SpecError:
    return refuse("timm", path, message)


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
        data.pop("t_in_epochs", None)  # not one of its arguments: step(epoch, metric) is its only clock
    if data.get("noise_range_t") is not None:
        raise _fail("the scheduler adds lr noise (noise_range_t is set): seeded randomness is not a schedule")
    for noise in ("noise_range_t", "noise_pct", "noise_std", "noise_seed", "noise_type"):
        data.pop(noise, None)
    interval = "epoch" if sched == "plateau" or getattr(scheduler, "t_in_epochs", True) else "step"
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
# timm train.py's scheduler arguments (timm/scheduler/scheduler_factory.py scheduler_kwargs); a key close to one of
# them but not one of them would be silently left at timm's default: refused with a did-you-mean
_ARGS_KEYS = ("sched", "epochs", "lr", "warmup_epochs", "warmup_lr", "min_lr", "lr_cycle_mul", "lr_cycle_decay",
              "lr_cycle_limit", "lr_k_decay", "decay_epochs", "decay_milestones", "decay_rate", "warmup_prefix",
              "cooldown_epochs", "patience_epochs", "sched_on_updates", "lr_noise", "lr_noise_pct", "lr_noise_std",
              "seed")  # fmt: skip
# args.yaml key -> the timm.<sched> field it sets (spec path ("lr", field))
_ARGS_FIELDS = {"lr": "lr", "warmup_epochs": "warmup_t", "warmup_lr": "warmup_lr_init", "warmup_prefix": "warmup_prefix",
                "epochs": "t_initial", "min_lr": "lr_min", "lr_cycle_mul": "cycle_mul", "lr_cycle_decay": "cycle_decay",
                "lr_cycle_limit": "cycle_limit", "lr_k_decay": "k_decay"}  # fmt: skip


def _arg(args: dict, key: str, default: Any, conv: Any) -> Any:
    """``args[key]`` (or ``default``; ``...`` marks a required key) converted by ``conv`` (``int``/``float``/``bool``),
    refused at ``key`` when it is not a value of that type (timm's argparse would not have written it)."""
    if key not in args:
        if default is ...:
            raise _fail(f"args.yaml has no `{key}`: timm's train.py writes it; add `{key}:`", ())
        return default
    value = args[key]
    if key == "lr" and value is None:
        raise _fail("`lr: null`: timm's train.py then derives the lr from lr_base, the global batch size and "
                    "lr_base_scale, which args.yaml does not settle; write the lr the run used (`lr: 0.001`)", (key,))
    ok = isinstance(value, bool) if conv is bool else isinstance(value, (int, float)) and not isinstance(value, bool)
    if conv is int and ok and value != int(value):
        ok = False
    if not ok or (conv is not bool and not math.isfinite(value)):
        what = {int: "an integer", float: "a number", bool: "true or false"}[conv]
        raise _fail(f"`{key}` must be {what} (got {value!r}), as timm's train.py parses it", (key,))
    return conv(value)


def _args_data(args: dict, *, monitor: str | None, total: int | None, name: str | None) -> dict:
    """timm ``train.py``'s ``args.yaml`` (epoch-stepped ``create_scheduler_v2``): ``sched``, ``epochs``, ``lr``,
    ``warmup_epochs``, ``warmup_lr``, ``min_lr``, ``lr_cycle_mul``/``_decay``/``_limit``, ``lr_k_decay``,
    ``decay_epochs``, ``decay_milestones``, ``decay_rate``, ``warmup_prefix``; the noise arguments refused."""
    return timm_args(args, total=total, name=name)[0]


def timm_args(args: dict, *, total: int | None = None, name: str | None = None) -> tuple[dict, dict]:
    """A timm ``args.yaml``'s data as spec data (see :func:`timm_data`), with where each value came from.

    Returns:
        ``(data, origin)``: the spec data and the map of spec path prefixes to the input's path prefixes.

    Raises:
        SpecError: a ``sched`` schedspec does not read (did-you-mean among timm's), a misspelt scheduler argument,
            a value that is not of its argparse type, lr noise or ``sched_on_updates``; each issue at the input path
            (``<timm>``).
    """
    for key in args:
        close = difflib.get_close_matches(str(key), _ARGS_KEYS, n=1, cutoff=0.85)
        if key not in _ARGS_KEYS and close and close[0] not in args:
            raise _fail(f"unknown timm train.py argument {key!r}; did you mean {close[0]!r}?", (key,))
    sched = args.get("sched", "cosine")
    if sched not in _ARGS_SCHEDS:
        known = (*_ARGS_SCHEDS, "plateau")
        hint = did_you_mean(str(sched), known) if sched != "plateau" else ""
        raise _fail(f"--sched {sched!r}: schedspec reads {', '.join(_ARGS_SCHEDS)} from args.yaml{hint} (a plateau "
                    "needs its metric's reports: write timm.plateau)", ("sched",))  # fmt: skip
    if args.get("sched_on_updates"):
        raise _fail("sched_on_updates: the schedule counts updates, whose number per epoch args.yaml does not hold; "
                    "write the timm kind in a step spec", ("sched_on_updates",))  # fmt: skip
    if args.get("lr_noise") is not None:
        raise _fail("lr_noise is set: timm's lr noise is seeded randomness, not a schedule; set `lr_noise: null`",
                    ("lr_noise",))  # fmt: skip
    data: dict = {"kind": f"timm.{sched}", "lr": _arg(args, "lr", ..., float),
                  "warmup_t": _arg(args, "warmup_epochs", 0, int), "warmup_lr_init": _arg(args, "warmup_lr", 1e-5, float),
                  "warmup_prefix": _arg(args, "warmup_prefix", False, bool)}  # fmt: skip
    origin: dict = {("lr",): ("sched",)}
    if sched in ("cosine", "tanh", "poly"):
        data.update(t_initial=_arg(args, "epochs", ..., int), lr_min=_arg(args, "min_lr", 0.0, float),
                    cycle_mul=_arg(args, "lr_cycle_mul", 1.0, float),
                    cycle_decay=_arg(args, "lr_cycle_decay", 0.5, float),
                    cycle_limit=_arg(args, "lr_cycle_limit", 1, int))  # fmt: skip
        if sched != "tanh":
            data["k_decay"] = _arg(args, "lr_k_decay", 1.0, float)
        if sched == "poly":
            data["power"] = _arg(args, "decay_rate", 0.1, float)
            origin[("lr", "power")] = ("decay_rate",)
    elif sched == "step":
        decay_t = plain(args.get("decay_epochs", 90))
        if isinstance(decay_t, bool) or not isinstance(decay_t, (int, float)):
            raise _fail(f"`decay_epochs` must be a number (got {decay_t!r}), as timm's train.py parses it",
                        ("decay_epochs",))  # fmt: skip
        data.update(decay_t=decay_t, decay_rate=_arg(args, "decay_rate", 0.1, float))
        origin[("lr", "decay_t")], origin[("lr", "decay_rate")] = ("decay_epochs",), ("decay_rate",)
    else:
        milestones = args.get("decay_milestones", [90, 180, 270])
        if not isinstance(milestones, list):
            raise _fail(f"`decay_milestones` must be a list of epochs (got {milestones!r}), as timm's train.py parses "
                        "it", ("decay_milestones",))  # fmt: skip
        data.update(decay_t=list(milestones), decay_rate=_arg(args, "decay_rate", 0.1, float))
        origin[("lr", "decay_t")], origin[("lr", "decay_rate")] = ("decay_milestones",), ("decay_rate",)
    for key, field in _ARGS_FIELDS.items():
        if field in data:
            origin[("lr", field)] = (key,)
    doc: dict = {"schedspec": 1}
    if name:
        doc["name"] = name
    doc["interval"] = "epoch"
    if total is not None:
        doc["total"] = int(total)
    elif isinstance(data.get("decay_t"), float):
        doc["total"] = _arg(args, "epochs", ..., int) + _arg(args, "cooldown_epochs", 0, int)
        origin[("total",)] = ("epochs",)
    doc["lr"] = data
    return doc, origin
