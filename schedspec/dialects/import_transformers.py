"""Hugging Face configs and live schedulers -> spec data in ``transformers.*`` kinds (behind
:func:`schedspec.from_transformers`).

Three sources:

* a ``TrainingArguments`` (read through ``to_dict()``) or a plain dict of its fields, as in ``training_args.json``:
  ``lr_scheduler_type`` (default ``linear``), ``learning_rate`` (5e-5), ``warmup_steps``/``warmup_ratio``,
  ``max_steps`` or ``num_train_epochs`` with ``steps_per_epoch`` (updates per epoch: the file does not hold the
  dataloader's length), ``lr_scheduler_kwargs`` (a dict or a JSON string), and for ``reduce_lr_on_plateau``
  ``eval_strategy``/``eval_steps``/``metric_for_best_model``;
* a live HF scheduler: the ``LambdaLR`` that ``get_scheduler`` returns holds a ``functools.partial`` of one of
  ``transformers.optimization``'s lambdas, recognised by the function's name and keywords (the optimizer's lr is
  the scheduler's ``base_lrs``);
* a live ``ReduceLROnPlateau`` is :func:`schedspec.from_torch`'s.

HF's rules are applied as ``Trainer`` applies them (docs/dialects.md §1.2): N = ``max_steps`` if > 0, else
``ceil(num_train_epochs * steps_per_epoch)``; W = ``int(warmup_steps)`` if ``warmup_steps >= 1``,
``ceil(N * warmup_steps)`` if it is in (0, 1) (HF 5.2+: a ratio), else ``ceil(N * warmup_ratio)`` (4.x files);
when a 4.x file sets both, ``warmup_steps`` wins (4.x's rule; 5.0-5.1 wrote the same value in both) and the spec's
``description`` says so. Unknown names get a did-you-mean among HF's own names; values HF rejects are refused
quoting HF's rule. Errors are :class:`schedspec.SpecError` issues positioned at the field (``<transformers>``);
for a file, :func:`.configs.transformers_file` moves them to its line and column.
"""

from __future__ import annotations

import difflib
import json
import math
from typing import Any

from ..errors import SpecError, did_you_mean
from . import transformers as hf
from ._base import plain, refuse

__all__ = ["transformers_args", "transformers_data"]

_ORIGIN = "transformers"
# the lambda of each formula type (transformers/optimization.py) -> the type, and the keywords it carries
_LAMBDAS = {
    "_get_constant_lambda": "constant",
    "_get_constant_schedule_with_warmup_lr_lambda": "constant_with_warmup",
    "_get_linear_schedule_with_warmup_lr_lambda": "linear",
    "_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda": "cosine_with_restarts",
    "_get_polynomial_decay_schedule_with_warmup_lr_lambda": "polynomial",
    "_get_inverse_sqrt_schedule_lr_lambda": "inverse_sqrt",
    "_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda": "cosine_warmup_with_min_lr",
    "_get_wsd_scheduler_lambda": "warmup_stable_decay",
}
HF_TYPES = (*hf.SCHEDULER_TYPES, "cosine_with_min_lr_schedule_with_warmup_lr_rate")  # SchedulerType values
_TRAINING_ARGS = {"lr_scheduler_type", "learning_rate", "warmup_steps", "warmup_ratio", "max_steps",
                  "num_train_epochs", "lr_scheduler_kwargs", "steps_per_epoch", "eval_strategy", "evaluation_strategy",
                  "eval_steps", "metric_for_best_model", "gradient_accumulation_steps"}  # fmt: skip


def _fail(path: tuple, message: str) -> SpecError:
    return refuse(_ORIGIN, path, message)


def _number(d: dict, key: str, default: Any) -> Any:
    """``d[key]`` (or ``default``) as a Python number; a string, list or other value is refused at ``key``, as
    ``TrainingArguments`` (a dataclass with ``float``/``int`` fields) would not take it."""
    value = plain(d.get(key, default))
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        if value is None and default is None:
            return None
        raise _fail((key,), f"{key} must be a number (got {value!r}): TrainingArguments declares it a number")
    if not math.isfinite(value):
        raise _fail((key,), f"{key} must be a finite number (got {value!r})")
    return value


def _convert_str_dict(d: dict) -> dict:
    """HF ``TrainingArguments._convert_str_dict``: "true"/"false" -> bools, digit strings -> ints, strings with one
    "." -> floats; anything else stays as it is."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            v = _convert_str_dict(v)
        elif isinstance(v, str):
            if v.lower() in ("true", "false"):
                v = v.lower() == "true"
            elif v.isdigit():
                v = int(v)
            elif v.replace(".", "", 1).isdigit():
                v = float(v)
        out[k] = v
    return out


def _kwargs(raw: Any) -> dict:
    if raw is None:
        return {}
    if isinstance(raw, str):
        if not raw.startswith("{"):
            raise _fail(("lr_scheduler_kwargs",), f"lr_scheduler_kwargs {raw!r} is not a JSON object (HF parses a "
                                                  "string starting with '{' with json.loads)")  # fmt: skip
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _fail(("lr_scheduler_kwargs",), f"lr_scheduler_kwargs is not valid JSON ({exc.msg})") from None
    if not isinstance(raw, dict):
        raise _fail(("lr_scheduler_kwargs",), "lr_scheduler_kwargs must be a mapping of keyword arguments")
    return _convert_str_dict(raw)


def _args_dict(args: Any) -> dict:
    if isinstance(args, dict):
        return dict(args)
    to_dict = getattr(args, "to_dict", None)
    if callable(to_dict) and hasattr(args, "lr_scheduler_type"):
        return dict(to_dict())
    raise _fail((), f"cannot read a {type(args).__name__}: give TrainingArguments, a dict of its fields (as in "
                    "training_args.json) or the LambdaLR that transformers.get_scheduler returned")  # fmt: skip


def _type_name(raw: Any) -> str:
    name = getattr(raw, "value", raw)  # a SchedulerType enum member
    if not isinstance(name, str) or name not in HF_TYPES:
        raise _fail(("lr_scheduler_type",), f"{name!r} is not a valid SchedulerType{did_you_mean(str(name), HF_TYPES)}"
                                            f" (HF's types: {', '.join(hf.SCHEDULER_TYPES)})")  # fmt: skip
    return "cosine_warmup_with_min_lr" if name == "cosine_with_min_lr_schedule_with_warmup_lr_rate" else name


def _steps(d: dict, steps_per_epoch: int | None) -> int:
    max_steps = _number(d, "max_steps", -1)
    if max_steps is not None and max_steps > 0:
        return int(max_steps)
    spe = steps_per_epoch if steps_per_epoch is not None else _number(d, "steps_per_epoch", None)
    if spe is None:
        raise _fail(("max_steps",), "max_steps <= 0: HF trains num_train_epochs x the dataloader's updates per epoch, "
                                    "which a training_args.json does not hold; pass steps_per_epoch= (optimizer "
                                    "updates per epoch; on the command line --steps-per-epoch N)")  # fmt: skip
    epochs = float(_number(d, "num_train_epochs", 3.0))
    return math.ceil(epochs * int(spe))


def _warmup(d: dict, n: int, notes: list) -> int:
    ws = _number(d, "warmup_steps", 0) or 0
    ratio = _number(d, "warmup_ratio", None) or 0
    if ws < 0:
        raise _fail(("warmup_steps",), f"HF: \"Got warmup_steps = {ws}, Expected value warmup_steps >= 0\"")
    if not 0 <= ratio <= 1:
        raise _fail(("warmup_ratio",), "HF: \"warmup_ratio must lie in range [0,1]\"")
    if ws >= 1:
        w = int(ws)
        if ratio and math.ceil(n * ratio) != w:
            notes.append((("warmup_ratio",), f"warmup_steps = {ws} and warmup_ratio = {ratio} are both set: "
                          "warmup_steps wins (transformers 4.x; 5.0-5.1 saved the same value in both); remove "
                          "warmup_ratio to say so"))  # fmt: skip
        return w
    if ws > 0:
        return math.ceil(n * ws)  # HF 5.2+: warmup_steps < 1 is a ratio, rounded up with float arithmetic
    return math.ceil(n * ratio)


def _plateau_fields(d: dict, kw: dict) -> dict:
    strategy = getattr(d.get("eval_strategy", d.get("evaluation_strategy")), "value", d.get("eval_strategy",
                                                                                           d.get("evaluation_strategy")))  # fmt: skip
    if strategy in (None, "no"):
        raise _fail(("eval_strategy",), "HF: \"lr_scheduler_type reduce_lr_on_plateau requires an eval strategy\"")
    out = {"monitor": "eval_" + str(d.get("metric_for_best_model") or "loss")}
    if strategy == "steps":
        every = _number(d, "eval_steps", None)
        if every is None:
            raise _fail(("eval_steps",), "eval_strategy steps needs eval_steps (HF falls back to logging_steps; give "
                                         "eval_steps)")  # fmt: skip
        out["every"] = int(every)
    elif strategy != "epoch":
        raise _fail(("eval_strategy",), f"eval_strategy {strategy!r}: expected 'steps' or 'epoch'")
    return {**out, **kw}


def _kind_data(type_name: str, lr: Any, w: int | None, n: int | None, kw: dict, path: tuple) -> dict:
    model = hf.KINDS[f"transformers.{type_name}"]
    allowed = set(model.model_fields) - {"kind", "duration", "lr", "num_warmup_steps", "num_training_steps"}
    for key in kw:
        if key not in allowed and type_name != "greedy":
            raise _fail(path + (key,), f"get_scheduler({type_name!r}) got an unexpected keyword argument {key!r}"
                                       f"{did_you_mean(key, sorted(allowed))} (its keywords: "
                                       f"{', '.join(sorted(allowed)) or 'none'})")  # fmt: skip
    data = {"kind": f"transformers.{type_name}", "lr": lr}
    if w is not None:
        data["num_warmup_steps"] = w
    if n is not None:
        data["num_training_steps"] = n
    return {**data, **kw}


def _from_args(args: Any, steps_per_epoch: int | None, name: str | None) -> tuple[dict, dict, list]:
    d = _args_dict(args)
    type_name = _type_name(d.get("lr_scheduler_type", "linear"))
    lr = float(_number(d, "learning_rate", 5e-5))
    n = _steps(d, steps_per_epoch)
    notes: list[tuple[tuple, str]] = []  # (input path, what HF chose silently)
    w = _warmup(d, n, notes)
    kw = _kwargs(d.get("lr_scheduler_kwargs"))
    if type_name == "constant":
        if kw:
            notes.append((("lr_scheduler_kwargs",), f"HF's constant ignores lr_scheduler_kwargs {kw}"))
        kw, w, n = {}, (w or None), None
    elif type_name == "constant_with_warmup" and kw:
        notes.append((("lr_scheduler_kwargs",), f"HF's get_scheduler drops lr_scheduler_kwargs {kw} for "
                      "constant_with_warmup"))  # fmt: skip
        kw = {}
    elif type_name == "reduce_lr_on_plateau":
        kw = _plateau_fields(d, kw)
        w, n = (w or None), None
    spe = steps_per_epoch if steps_per_epoch is not None else _number(d, "steps_per_epoch", None)
    doc: dict = {"schedspec": 1}
    if name:
        doc["name"] = name
    if notes:
        doc["description"] = "Imported from HF TrainingArguments. " + " ".join(text for _, text in notes)
    if spe is not None:
        doc["steps_per_epoch"] = int(spe)
    doc["lr"] = _kind_data(type_name, lr, w, n, kw, ("lr_scheduler_kwargs",))
    # where each spec value was written in the input (spec path prefix -> input path prefix)
    origin: dict = {("lr",): ("lr_scheduler_type",), ("lr", "lr"): ("learning_rate",),
                    ("lr", "num_training_steps"): ("max_steps",), ("steps_per_epoch",): ("steps_per_epoch",)}  # fmt: skip
    ws = d.get("warmup_steps")
    origin[("lr", "num_warmup_steps")] = ("warmup_steps",) if ws or "warmup_ratio" not in d else ("warmup_ratio",)
    for key in kw:
        origin[("lr", key)] = ("lr_scheduler_kwargs", key)
    if type_name == "reduce_lr_on_plateau":
        origin[("lr", "monitor")] = ("metric_for_best_model",)
        origin[("lr", "every")] = ("eval_steps",)
    return doc, origin, notes


def transformers_args(
    args: dict, *, steps_per_epoch: int | None = None, name: str | None = None
) -> tuple[dict, dict, list]:
    """A ``training_args.json``'s data as spec data, with where each value came from.

    Returns:
        ``(data, origin, notes)``: the spec data; the map of spec path prefixes to the input's path prefixes; and
        ``(input path, text)`` for each choice HF makes silently (``warmup_steps`` winning over ``warmup_ratio``,
        ``lr_scheduler_kwargs`` HF drops), also written in the spec's ``description``.

    Raises:
        SpecError: as :func:`transformers_data`, each issue at the input path (``<transformers>``).
    """
    _check_fields(args)
    return _from_args(args, steps_per_epoch, name)


def _check_fields(source: dict) -> None:
    for key in source:  # a misspelt scheduler field would be silently left at HF's default: refuse it
        close = difflib.get_close_matches(key, sorted(_TRAINING_ARGS), n=1, cutoff=0.85)
        if key not in _TRAINING_ARGS and close and close[0] not in source:
            raise _fail((key,), f"unknown TrainingArguments field {key!r}; did you mean {close[0]!r}?")


def _from_lambda(scheduler: Any, name: str | None) -> dict:
    lambdas = getattr(scheduler, "lr_lambdas", None)
    if not lambdas or len(lambdas) != 1 and len({id(x) for x in lambdas}) != 1:
        raise _fail((), "the LambdaLR has one lambda per param group that differ: import one schedule at a time")
    fn = lambdas[0]
    func = getattr(fn, "func", fn)
    fname = getattr(func, "__name__", "")
    module = getattr(func, "__module__", "")
    if not module.startswith("transformers."):
        raise _fail((), f"the LambdaLR's lambda ({fname or type(fn).__name__}) is not one of transformers.optimization's "
                        "schedules: a Python lambda cannot be read faithfully")  # fmt: skip
    kw = dict(getattr(fn, "keywords", {}) or {})
    lr = float(plain(scheduler.base_lrs[0]))
    if fname == "_get_cosine_schedule_with_warmup_lr_lambda":
        type_name = "cosine_with_min_lr" if kw.get("min_lr_rate") else "cosine"
        if type_name == "cosine":
            kw.pop("min_lr_rate", None)
    elif fname in _LAMBDAS:
        type_name = _LAMBDAS[fname]
    else:
        raise _fail((), f"transformers.optimization.{fname} is not a schedule schedspec reads (its types: "
                        f"{', '.join(hf.SCHEDULER_TYPES)})")  # fmt: skip
    w, n = kw.pop("num_warmup_steps", None), kw.pop("num_training_steps", None)
    if type_name == "polynomial":
        kw.pop("lr_init", None)  # the optimizer's defaults["lr"], which is lr
    if type_name == "inverse_sqrt" and kw.get("timescale") is None:
        kw.pop("timescale", None)
    if type_name in ("cosine_warmup_with_min_lr",) and kw.get("warmup_lr_rate") is None:
        kw.pop("warmup_lr_rate", None)
    kw = {k: plain(v) for k, v in kw.items()}
    doc: dict = {"schedspec": 1}
    if name:
        doc["name"] = name
    doc["lr"] = _kind_data(type_name, lr, None if w is None else int(w), None if n is None else int(n), kw, ())
    return doc


def transformers_data(source: Any, *, steps_per_epoch: int | None = None, name: str | None = None) -> dict:
    """Spec data in ``transformers.*`` kinds from ``TrainingArguments``, a dict of its fields, or a live HF
    ``LambdaLR`` (see the module's docstring for what is read and HF's rules).

    Raises:
        SpecError: an unknown scheduler type or keyword (with a did-you-mean among HF's names), a value HF rejects
            (quoting HF's rule), a missing ``steps_per_epoch`` when ``max_steps <= 0``, a lambda that is not HF's.
    """
    if isinstance(getattr(source, "lr_lambdas", None), list):
        return _from_lambda(source, name)
    if isinstance(source, dict):
        _check_fields(source)
    return _from_args(source, steps_per_epoch, name)[0]

