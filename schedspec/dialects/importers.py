"""Live framework objects -> spec data in their dialect's kinds: :func:`torch_data` (a torch scheduler, behind
:func:`schedspec.from_torch`) and :func:`keras_data` (a Keras schedule, behind :func:`schedspec.from_keras`).

What is imported is the schedule's *definition* (its value at every k from 0), not its progress: a scheduler that
has already been stepped imports the same spec as a fresh one. Nothing is guessed: an object whose schedule cannot be
read faithfully is refused with a :class:`~schedspec.SpecError` that names its class (and where it sits inside a
``SequentialLR``/``ChainedScheduler``) and why: a ``LambdaLR`` or ``MultiplicativeLR`` holds an arbitrary Python
function, a subclass may override the formula, a custom Keras ``LearningRateSchedule`` is arbitrary code.

torch: ``lr`` is the optimizer's reference lr: ``optimizer.defaults["lr"]`` when a param group was built with it,
else the one lr every param group was built with (``initial_lr``; the rule of :mod:`schedspec._param_groups`).
Other param groups are not part of a spec: ``schedspec.to_torch`` gives group g ``value(k) * lr_g / L`` by that
rule, which equals torch when the scheduler is proportional to the base lr. Where it is not (``eta_min != 0`` with
groups of different base lrs; per-group ``base_lr``/``max_lr``/``min_lr`` lists that are not proportional), or
where the rule has no reference lr (param groups built with different lrs, none the optimizer's), the import is
refused. ``ReduceLROnPlateau`` needs ``monitor=`` (the metric's name, which torch never sees). Momentum cycling
(``CyclicLR``/``OneCycleLR`` ``cycle_momentum``) is recorded as the kind's parameters, but the spec's ``lr``
schedule does not drive momentum.

Keras: the parameters are read from ``get_config()``.
"""

from __future__ import annotations

from typing import Any

from .._param_groups import reference_lr
from ..errors import require, require_keras
from ._base import plain, recover, refuse, whole

__all__ = ["keras_data", "torch_data"]


# ------------------------------------------------------------------------------------------------ torch
_TORCH_IMPORTABLE = (
    "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau",
)  # fmt: skip


def torch_data(scheduler: Any, *, monitor: str | None = None, name: str | None = None) -> dict:
    """The spec data (``{"schedspec": 1, "lr": {"kind": "torch...."}}``) of a live ``torch.optim.lr_scheduler``
    scheduler and its optimizer's base lr, in ``torch.*`` kinds; :func:`schedspec.from_torch` loads it.

    Args:
        scheduler: a scheduler of ``torch.optim.lr_scheduler`` (``SequentialLR`` and ``ChainedScheduler`` trees
            included).
        monitor: the metric's name, required for a ``ReduceLROnPlateau`` (torch only sees its values).
        name: the spec's ``name``.

    Raises:
        SpecError: the scheduler cannot be imported faithfully; the message names its class and why.
    """
    torch = require("torch", "torch")
    L = torch.optim.lr_scheduler
    if not isinstance(scheduler, (L.LRScheduler, L.ReduceLROnPlateau)):
        raise refuse(
            "from_torch", (), f"expected a torch.optim.lr_scheduler scheduler, got {type(scheduler).__name__}"
        )
    data: dict = {"schedspec": 1}
    if name is not None:
        data["name"] = name
    data["lr"] = _torch_node(L, scheduler, (), True, monitor)
    return data


def _initial_lr(L: Any, s: Any, path: tuple) -> float:
    """The spec's ``lr``: the reference lr of the param-group rule, from the lrs the groups were built with."""
    groups = s.optimizer.param_groups
    built = []
    for i, group in enumerate(groups):
        lr = group.get("initial_lr")
        if lr is None:
            if not (isinstance(s, L.ReduceLROnPlateau) and s.last_epoch == 0):
                raise refuse("from_torch", path, f"{type(s).__name__}: the optimizer's param group {i} has no `initial_lr` "
                                                "(and its lr may have been reduced already): import the scheduler before "
                                                "training")  # fmt: skip
            lr = group["lr"]
        built.append(float(plain(lr)))
    defaults = (getattr(s.optimizer, "defaults", None) or {}).get("lr")
    ref, problem = reference_lr(None if defaults is None else float(plain(defaults)), built, range(len(built)))
    if problem:
        raise refuse("from_torch", path, f"{type(s).__name__}: {problem}")
    return ref


def _base_ratios(s: Any) -> list[float]:
    lrs = [float(plain(g.get("initial_lr", g["lr"]))) for g in s.optimizer.param_groups]
    return [b / lrs[0] if lrs[0] else 1.0 for b in lrs]


def _proportional(origin: str, path: tuple, cls: str, what: str, values: list) -> None:
    values = [float(plain(v)) for v in values]
    if len(values) > 1 and len(set(values)) > 1:
        raise refuse(origin, path, f"{cls}: per-group {what} differ ({values}); a spec is one schedule, and other param "
                                  "groups follow the spec in proportion to their initial lr, which torch does not do here")  # fmt: skip


def _torch_node(L: Any, s: Any, path: tuple, top: bool, monitor: str | None) -> dict:  # noqa: C901 - one branch per class
    cls = type(s).__name__
    origin = "from_torch"
    if getattr(L, cls, None) is not type(s):
        bases = [b.__name__ for b in type(s).__mro__[1:] if getattr(L, b.__name__, None) is b]
        if cls == "SchedSpecLR":
            raise refuse(origin, path, f"SchedSpecLR is already a schedspec scheduler (fingerprint {s.fingerprint}): "
                                      "use the spec it was built from")  # fmt: skip
        if bases and bases[0] not in ("LRScheduler", "_LRScheduler"):
            raise refuse(origin, path, f"{cls} subclasses torch's {bases[0]} and may change its formula; schedspec "
                                      f"imports the torch classes themselves ({', '.join(_TORCH_IMPORTABLE)})")  # fmt: skip
        raise refuse(origin, path, f"{cls} is not a torch.optim.lr_scheduler class; its schedule is arbitrary code that "
                                  f"schedspec cannot read (importable: {', '.join(_TORCH_IMPORTABLE)})")  # fmt: skip
    if cls in ("LambdaLR", "MultiplicativeLR"):
        fn = s.lr_lambdas[0]
        raise refuse(origin, path, f"{cls} holds an arbitrary Python function (lr_lambda={getattr(fn, '__qualname__', fn)!r}), "
                                  "which schedspec cannot read; write the schedule in a spec instead (a constant "
                                  "MultiplicativeLR factor is `{kind: torch.MultiplicativeLR, lr_lambda: 0.95}`)")  # fmt: skip
    if cls not in _TORCH_IMPORTABLE:
        raise refuse(origin, path, f"{cls} cannot be imported (importable: {', '.join(_TORCH_IMPORTABLE)})")
    node: dict = {"kind": f"torch.{cls}"}
    lr_kinds = cls not in ("CyclicLR", "OneCycleLR")
    if top and lr_kinds:
        node["lr"] = _initial_lr(L, s, path)
    ratios = _base_ratios(s)
    if cls == "StepLR":
        node |= {"step_size": whole(origin, path, "step_size", s.step_size), "gamma": float(s.gamma)}
    elif cls == "MultiStepLR":
        node |= {"milestones": [whole(origin, path, "milestones", m) for m in sorted(s.milestones.elements())],
                 "gamma": float(s.gamma)}  # fmt: skip
    elif cls == "ConstantLR":
        node |= {"factor": float(s.factor), "total_iters": whole(origin, path, "total_iters", s.total_iters)}
    elif cls == "LinearLR":
        node |= {"start_factor": float(s.start_factor), "end_factor": float(s.end_factor),
                 "total_iters": whole(origin, path, "total_iters", s.total_iters)}  # fmt: skip
    elif cls == "ExponentialLR":
        node |= {"gamma": float(s.gamma)}
    elif cls == "PolynomialLR":
        node |= {"total_iters": whole(origin, path, "total_iters", s.total_iters), "power": float(s.power)}
    elif cls in ("CosineAnnealingLR", "CosineAnnealingWarmRestarts"):
        if float(s.eta_min) != 0:
            _proportional(origin, path, cls, "initial lrs (with eta_min != 0)", ratios)
        if cls == "CosineAnnealingLR":
            node |= {"T_max": whole(origin, path, "T_max", s.T_max)}
        else:
            node |= {
                "T_0": whole(origin, path, "T_0", s.T_0),
                "T_mult": whole(origin, path, "T_mult", s.T_mult),
            }
        node["eta_min"] = float(s.eta_min)
    elif cls == "CyclicLR":
        if s._scale_fn_custom is not None:
            raise refuse(origin, path, "CyclicLR with a custom scale_fn holds an arbitrary Python function, which "
                                      "schedspec cannot read")  # fmt: skip
        base, high = [float(plain(b)) for b in s.base_lrs], [float(plain(m)) for m in s.max_lrs]
        _proportional(
            origin, path, cls, "base_lr / max_lr ratios", [h / b if b else h for b, h in zip(base, high)]
        )
        total, ratio = float(s.total_size), float(s.step_ratio)
        up = round(total * ratio)
        down = round(total - up)
        if float(up) + float(down) != total or float(up) / total != ratio:
            raise refuse(
                origin,
                path,
                f"CyclicLR: step sizes (total {total}, ratio {ratio}) are not whole numbers of steps",
            )
        node |= {"base_lr": base[0], "max_lr": high[0], "step_size_up": up}
        if down != up:
            node["step_size_down"] = down
        node |= {"mode": s.mode, "gamma": float(s.gamma), "cycle_momentum": bool(s.cycle_momentum)}
        if s.cycle_momentum:
            g = s.optimizer.param_groups[0]
            node |= {"base_momentum": float(g["base_momentum"]), "max_momentum": float(g["max_momentum"])}
    elif cls == "OneCycleLR":
        g = s.optimizer.param_groups[0]
        n = whole(origin, path, "total_steps", s.total_steps)
        peak, init, low = float(g["max_lr"]), float(g["initial_lr"]), float(g["min_lr"])
        groups = s.optimizer.param_groups
        _proportional(
            origin,
            path,
            cls,
            "max_lr / initial lr ratios",
            [float(x["max_lr"]) / float(x["initial_lr"]) for x in groups],
        )
        phases = s._schedule_phases
        end1 = float(phases[0]["end_step"])
        div = recover(peak / init, lambda d: peak / d == init)
        fdiv = recover(init / low, lambda f: init / f == low)
        pct = recover((end1 + 1) / n, lambda p: float(p * n) - 1 == end1)
        node |= {"max_lr": peak, "total_steps": n, "pct_start": pct, "anneal_strategy": s._anneal_func_type,
                 "div_factor": div, "final_div_factor": fdiv, "three_phase": len(phases) == 3,
                 "cycle_momentum": bool(s.cycle_momentum)}  # fmt: skip
        if s.cycle_momentum:
            node |= {"base_momentum": float(g["base_momentum"]), "max_momentum": float(g["max_momentum"])}
    elif cls == "ReduceLROnPlateau":
        if monitor is None:
            raise refuse(origin, path, "ReduceLROnPlateau is driven by a metric torch receives in step(metric), whose "
                                      "name it never sees: pass it, e.g. from_torch(scheduler, monitor='val_loss')")  # fmt: skip
        _proportional(origin, path, cls, "min_lr", s.min_lrs)
        node |= {"monitor": monitor, "mode": s.mode, "factor": float(s.factor), "patience": int(s.patience),
                 "threshold": float(s.threshold), "threshold_mode": s.threshold_mode, "cooldown": int(s.cooldown),
                 "min_lr": float(s.min_lrs[0]), "eps": float(s.eps)}  # fmt: skip
    elif cls == "SequentialLR":
        node["schedulers"] = [
            _torch_node(L, c, path + ("schedulers", i), False, monitor) for i, c in enumerate(s._schedulers)
        ]
        node["milestones"] = [whole(origin, path, "milestones", m) for m in s._milestones]
        _same_base(L, s, path)
    elif cls == "ChainedScheduler":
        node["schedulers"] = [
            _torch_node(L, c, path + ("schedulers", i), False, monitor) for i, c in enumerate(s._schedulers)
        ]
        _same_base(L, s, path)
    return node


def _same_base(L: Any, s: Any, path: tuple) -> None:
    """The children of SequentialLR/ChainedScheduler must scale the optimizer's initial lr (they share it)."""
    lr = s.optimizer.param_groups[0].get("initial_lr")
    for i, c in enumerate(s._schedulers):
        base = getattr(c, "base_lrs", None)
        if (
            base
            and lr is not None
            and type(c).__name__ not in ("CyclicLR", "OneCycleLR")
            and float(plain(base[0])) != float(lr)
        ):
            raise refuse("from_torch", path + ("schedulers", i), f"{type(c).__name__}: its base lr {float(base[0])} is not "
                                                                f"the optimizer's initial lr {float(lr)}")  # fmt: skip


# ------------------------------------------------------------------------------------------------ keras
_KERAS_IMPORTABLE = (
    "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay", "InverseTimeDecay", "CosineDecay",
    "CosineDecayRestarts",
)  # fmt: skip
_STEP_KEYS = {"decay_steps", "first_decay_steps", "warmup_steps", "boundaries"}


def keras_data(schedule: Any, *, name: str | None = None) -> dict:
    """The spec data of a live ``keras.optimizers.schedules`` schedule, in ``keras.*`` kinds (read from
    ``get_config()``); :func:`schedspec.from_keras` loads it.

    Args:
        schedule: one of Keras' built-in ``LearningRateSchedule`` classes.
        name: the spec's ``name``.

    Raises:
        SpecError: the schedule cannot be imported faithfully (a custom ``LearningRateSchedule``, a subclass, a
            non-integer step count); the message names its class and why.
    """
    keras = require_keras()
    schedules = keras.optimizers.schedules
    cls = type(schedule).__name__
    origin = "from_keras"
    if getattr(schedules, cls, None) is not type(schedule) or cls not in _KERAS_IMPORTABLE:
        if cls == "Schedule" and type(schedule).__module__.startswith("schedspec"):
            raise refuse(origin, (), "this is already a schedspec schedule: use the spec it was built from")
        why = (
            f"it subclasses {next(b.__name__ for b in type(schedule).__mro__[1:])} and may change its formula"
            if isinstance(schedule, schedules.LearningRateSchedule)
            else "it is not a keras.optimizers.schedules.LearningRateSchedule"
        )
        raise refuse(origin, (), f"{cls} cannot be imported: {why}; a custom schedule is arbitrary code that schedspec "
                                f"cannot read (importable: {', '.join(_KERAS_IMPORTABLE)})")  # fmt: skip
    config = schedule.get_config()
    node: dict = {"kind": f"keras.{cls}"}
    for key, value in config.items():
        if key == "name":
            continue
        value = plain(value)
        if key in _STEP_KEYS:
            value = (
                [whole(origin, (), key, v) for v in value]
                if isinstance(value, list)
                else whole(origin, (), key, value)
            )
        elif isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif isinstance(value, list):
            value = [float(v) for v in value]
        if value is None and key == "warmup_target":
            continue
        node[key] = value
    if cls == "CosineDecay" and config.get("warmup_target") is None:
        node.pop("warmup_steps", None)
    data: dict = {"schedspec": 1}
    if name is not None:
        data["name"] = name
    data["lr"] = node
    return data
