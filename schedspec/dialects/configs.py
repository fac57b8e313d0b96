"""Framework config files and dicts -> spec data in the framework's own kinds: MMEngine configs
(:func:`mmengine_data`) and detectron2 configs (:func:`detectron2_data`, :func:`read_detectron2`, which resolves
``_BASE_`` chains). Behind :func:`schedspec.from_mmengine`, :func:`schedspec.from_detectron2` and ``schedspec
translate --from``.

Each importer returns ``(data, origin)``: the spec data, and for each path of the spec a path of the input (a
mapping of path prefixes), so that an error in the imported spec is reported where the input wrote the value. An
input the importer cannot read is refused with a :class:`SpecError` positioned in the input (when it has positions).
Nothing is executed: an MMEngine ``.py`` config is Python, read only by mmengine itself (the CLI says so).
HF's ``training_args.json`` (:func:`transformers_file`) and timm's ``args.yaml`` (:func:`timm_file`) are read by
:mod:`.import_transformers` and :mod:`.import_timm`; their refusals are moved to the line and column of the input.
"""

from __future__ import annotations

import os
from typing import Any

from .._source import Source, read
from ..errors import Issue, SpecError, did_you_mean, format_path
from . import import_timm, import_transformers
from .detectron2 import DEFAULTS, parse_value

# every key of detectron2's SOLVER node (detectron2/config/defaults.py, git 02b5c4e); the others are refused as
# detectron2 refuses them ("Non-existent config key")
D2_SOLVER_KEYS = ("AMP", "BASE_LR", "BASE_LR_END", "BIAS_LR_FACTOR", "CHECKPOINT_PERIOD", "CLIP_GRADIENTS", "GAMMA",
                  "IMS_PER_BATCH", "LR_SCHEDULER_NAME", "MAX_ITER", "MOMENTUM", "NESTEROV", "NUM_DECAYS",
                  "REFERENCE_WORLD_SIZE", "RESCALE_INTERVAL", "STEPS", "WARMUP_FACTOR", "WARMUP_ITERS",
                  "WARMUP_METHOD", "WEIGHT_DECAY", "WEIGHT_DECAY_BIAS", "WEIGHT_DECAY_NORM")  # fmt: skip
MAX_BASES = 32  # a _BASE_ chain deeper than this is refused


def _fail(src: Source | None, origin: str, path: tuple, message: str, key: bool = False) -> SpecError:
    if src is not None:
        return SpecError([src.issue(path, message, key=key)])
    return SpecError([Issue(f"<{origin}>", None, None, format_path(path) if path else "<config>", message)])


# ------------------------------------------------------------------------------------------------ MMEngine
def mmengine_data(
    cfg: Any,
    *,
    train_cfg: dict | None = None,
    lr: float | None = None,
    steps_per_epoch: int | None = None,
    name: str | None = None,
    src: Source | None = None,
) -> tuple[dict, dict]:
    """An MMEngine config as spec data with one ``mmengine.param_scheduler`` kind.

    Args:
        cfg: an MMEngine config as a dict (``Config.to_dict()``, or the data of a .json/.yaml config) with
            ``param_scheduler``, ``train_cfg`` and ``optim_wrapper.optimizer.lr`` (or ``optimizer.lr``); or the
            ``param_scheduler`` list (or one dict) itself, with ``train_cfg`` and ``lr`` given here.
        train_cfg: MMEngine's ``train_cfg`` (the default ``end`` of each scheduler), when ``cfg`` does not hold it.
        lr: the optimizer's lr, when ``cfg`` does not hold it.
        steps_per_epoch: ``len(train_dataloader)`` (not in a config): needed by epoch-based schedulers next to
            iteration ones and by ``convert_to_iter_based``.
        name: the spec's ``name``.
        src: the parsed input (positions for the errors).

    Returns:
        ``(data, origin)``: the spec data and the map of spec path prefixes to input path prefixes.

    Raises:
        SpecError: no ``param_scheduler``, no lr, a ``_base_`` to resolve, or a shape MMEngine would not read.
    """
    origin = "mmengine config"
    path: tuple = ()
    lr_path: tuple | None = None
    if isinstance(cfg, dict) and "param_scheduler" in cfg:
        if "_base_" in cfg:
            raise _fail(src, origin, ("_base_",), "this config inherits from `_base_` files: resolve them first with "
                        "mmengine (`Config.fromfile(path).dump('config.json')`) and translate the result")  # fmt: skip
        scheds, path = cfg["param_scheduler"], ("param_scheduler",)
        train_cfg = cfg.get("train_cfg", train_cfg)
        if lr is None:
            for p in (("optim_wrapper", "optimizer", "lr"), ("optimizer", "lr")):
                cur: Any = cfg
                for key in p:
                    cur = cur.get(key) if isinstance(cur, dict) else None
                if cur is not None:
                    lr = cur
                    lr_path = p
                    break
    elif isinstance(cfg, (list, dict)) and not (isinstance(cfg, dict) and "type" not in cfg):
        scheds = cfg
    else:
        raise _fail(src, origin, (), "expected an MMEngine config with `param_scheduler` (or the param_scheduler "
                                     "list itself)")  # fmt: skip
    if isinstance(scheds, dict):
        scheds = [scheds]  # MMEngine accepts one scheduler dict
    if not isinstance(scheds, list) or not scheds:
        raise _fail(src, origin, path, "`param_scheduler` must be a list of scheduler dicts with `type:`")
    if lr is None:
        raise _fail(src, origin, (), "no lr: give `optim_wrapper.optimizer.lr` in the config, or lr=")
    kind: dict = {"kind": "mmengine.param_scheduler", "lr": lr}
    if train_cfg is not None:
        loop = {k: v for k, v in train_cfg.items() if k in ("type", "max_epochs", "max_iters", "val_interval", "val_begin")}
        kind["train_cfg"] = loop
    kind["schedulers"] = [dict(s) if isinstance(s, dict) else s for s in scheds]
    data: dict = {"schedspec": 1}
    if name:
        data["name"] = name
    if steps_per_epoch is not None:
        data["steps_per_epoch"] = steps_per_epoch
    data["lr"] = kind
    where = {("lr", "schedulers"): path, ("lr",): path}
    if train_cfg is not None and isinstance(cfg, dict) and "train_cfg" in cfg:
        where[("lr", "train_cfg")] = ("train_cfg",)
    if lr_path:
        where[("lr", "lr")] = lr_path
    return data, where


# ------------------------------------------------------------------------------------------------ detectron2
def detectron2_data(
    cfg: Any, *, name: str | None = None, src: Source | None = None, solver_path: tuple = ("SOLVER",)
) -> tuple[dict, dict]:
    """A detectron2 config's ``SOLVER`` node as spec data with one ``detectron2.SOLVER`` kind.

    Args:
        cfg: a ``CfgNode`` (a dict subclass) or a dict with ``SOLVER``; values written as detectron2's YAML writes
            them (``STEPS: (60000, 80000)``, a string that detectron2 reads as a Python literal) are decoded the way
            detectron2 decodes them (``ast.literal_eval``, never code). Keys not given take detectron2's defaults.
        name: the spec's ``name``.
        src: the parsed input (positions for the errors).

    Returns:
        ``(data, origin)``: the spec data (with a ``description`` naming the SOLVER keys that do not shape the lr)
        and the map of spec path prefixes to input path prefixes.

    Raises:
        SpecError: no ``SOLVER``, or a key detectron2 does not have (``Non-existent config key``, with a
            did-you-mean).
    """
    origin = "detectron2 config"
    solver = cfg.get("SOLVER") if isinstance(cfg, dict) else None
    if not isinstance(solver, dict):
        raise _fail(src, origin, (), "expected a detectron2 config with a `SOLVER` node")
    kind: dict = {"kind": "detectron2.SOLVER"}
    other = []
    for key, value in solver.items():
        if key in DEFAULTS:
            kind[key] = parse_value(value)
        elif key in D2_SOLVER_KEYS:
            other.append(key)
        else:
            raise _fail(src, origin, solver_path + (key,), key=True, message=f"detectron2 raises 'Non-existent config key: SOLVER.{key}'"
                        f"{did_you_mean(str(key), D2_SOLVER_KEYS)}")  # fmt: skip
    data: dict = {"schedspec": 1}
    if name:
        data["name"] = name
    if other:
        data["description"] = ("detectron2 SOLVER; keys that do not shape the lr schedule, not part of this spec: "
                               + ", ".join(other))  # fmt: skip
    data["lr"] = kind
    return data, {("lr",): solver_path}


def read_detectron2(path: str) -> tuple[Source, dict]:
    """A detectron2 YAML config with its ``_BASE_`` chain resolved (each ``_BASE_`` relative to the file that names
    it, merged as detectron2's ``merge_from_file`` does: the base first, the file's own keys over it).

    Returns:
        ``(src, cfg)``: the merged config's source and the merged config. Every value is positioned at its line and
        column in the file that wrote it: a key inherited from a ``_BASE_`` file (at any depth) in that base file
        (``src.files``), a key the top file writes (or overrides) in the top file.

    Raises:
        SpecError: a file cannot be read, a ``_BASE_`` is not a relative path string, or the chain has a cycle.
    """
    top = read(path)
    layers = _layers(path, top, [os.path.realpath(path)])  # the deepest base first, the top file last
    merged: dict = {}
    for layer in layers:
        merged = _merge(merged, _own(layer))
    src = Source(merged, top.file)
    for layer in layers:  # a later layer (closer to the top) wins the position of every path it writes
        for table, mine in ((src.positions, layer.positions), (src.key_positions, layer.key_positions)):
            for p, where in mine.items():
                if p and p[0] != "_BASE_" and _has(merged, p):
                    table[p] = where
                    if layer is not top:
                        src.files[p] = layer.file
                    else:
                        src.files.pop(p, None)
    src.positions.setdefault((), top.positions.get((), (1, 1)))
    if ("_BASE_",) in top.positions:  # a refusal about the chain itself points at the top file's `_BASE_`
        src.positions[("_BASE_",)] = top.positions[("_BASE_",)]
    return src, merged


def _own(src: Source) -> dict:
    data = dict(src.data)
    data.pop("_BASE_", None)
    return data


def _has(data: Any, path: tuple) -> bool:
    cur = data
    for key in path:
        if isinstance(cur, dict) and key in cur:
            cur = cur[key]
        elif isinstance(cur, list) and isinstance(key, int) and 0 <= key < len(cur):
            cur = cur[key]
        else:
            return False
    return True


def _layers(path: str, src: Source, seen: list[str]) -> list[Source]:
    """The sources of the chain, the deepest ``_BASE_`` first and ``src`` last."""
    data = src.data
    if not isinstance(data, dict):
        raise SpecError([src.issue((), "a detectron2 config is a mapping")])
    base = data.get("_BASE_")
    if base is None:
        return [src]
    if not isinstance(base, str) or not base:
        raise SpecError([src.issue(("_BASE_",), "`_BASE_` must be the path of a YAML file")])
    if base.startswith("~") or "://" in base:
        raise SpecError([src.issue(("_BASE_",), f"`_BASE_` {base!r}: only a path relative to this file is read")])
    full = os.path.normpath(base if os.path.isabs(base) else os.path.join(os.path.dirname(path), base))
    real = os.path.realpath(full)
    if real in seen:
        chain = " -> ".join(os.path.basename(p) for p in [*seen, real])
        raise SpecError([src.issue(("_BASE_",), f"`_BASE_` makes a cycle ({chain}): detectron2 would recurse forever")])
    if len(seen) >= MAX_BASES:
        raise SpecError([src.issue(("_BASE_",), f"more than {MAX_BASES} `_BASE_` levels")])
    try:
        parent = read(full)
    except SpecError as exc:
        if all(i.line is not None for i in exc.issues):  # a fault inside the base file: where it is written
            raise
        raise SpecError([src.issue(("_BASE_",), f"`_BASE_` {base!r}: {exc.issues[0].message}")]) from None
    return [*_layers(full, parent, [*seen, real]), src]


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


# ------------------------------------------------------------------------------------------------ HF and timm files
def _input_path(src: Source, written: str) -> tuple:
    """The input path that an importer's issue names (``format_path`` text, e.g. ``lr_scheduler_kwargs.foo``): the
    path itself when the input wrote it, else its nearest written parent, else the document."""
    best: tuple = ()
    for p in src.positions:
        text = format_path(p)
        if written == text:
            return p
        if len(p) > len(best) and written.startswith((text + ".", text + "[")):
            best = p
    return best


def _in_input(exc: SpecError, src: Source) -> SpecError:
    """``exc``'s issues (raised on the input's data, positioned by path only) at their line and column in ``src``."""
    out = []
    for i in exc.issues:
        if i.line is not None:
            out.append(i)
            continue
        # a name the library does not have is pointed at the key the input wrote, any other refusal at the value
        key = i.message.startswith("unknown ") or "unexpected keyword argument" in i.message
        out.append(src.issue(_input_path(src, i.path), i.message, key=key, severity=i.severity))
    return SpecError(out)


def transformers_file(
    src: Source, *, steps_per_epoch: int | None = None, name: str | None = None
) -> tuple[dict, dict, list[Issue]]:
    """A parsed HF ``training_args.json`` as spec data in ``transformers.*`` kinds
    (:func:`.import_transformers.transformers_args`).

    Returns:
        ``(data, origin, notes)``: the spec data, the map of spec path prefixes to input path prefixes (for
        :func:`schedspec.spec.load_mapped`), and a warning issue at its line and column for each choice HF makes
        silently (``warmup_steps`` winning over ``warmup_ratio``; ``lr_scheduler_kwargs`` HF drops).

    Raises:
        SpecError: the file is not a mapping, or anything :func:`.import_transformers.transformers_args` refuses,
            at its line and column in the file.
    """
    if not isinstance(src.data, dict):
        raise SpecError([src.issue((), "a training_args.json is a JSON object of TrainingArguments fields "
                                       "(TrainingArguments.to_json_string())")])  # fmt: skip
    try:
        data, origin, notes = import_transformers.transformers_args(src.data, steps_per_epoch=steps_per_epoch,
                                                                    name=name)  # fmt: skip
    except SpecError as exc:
        raise _in_input(exc, src) from None
    return data, origin, [src.issue(path, text, severity="warning") for path, text in notes]


def timm_file(src: Source, *, total: int | None = None, name: str | None = None) -> tuple[dict, dict]:
    """A parsed timm ``args.yaml`` as spec data in ``timm.*`` kinds (:func:`.import_timm.timm_args`).

    Returns:
        ``(data, origin)``: the spec data and the map of spec path prefixes to input path prefixes.

    Raises:
        SpecError: the file is not a mapping, or anything :func:`.import_timm.timm_args` refuses, at its line and
            column in the file.
    """
    if not isinstance(src.data, dict):
        raise SpecError([src.issue((), "a timm args.yaml is a mapping of train.py's arguments")])
    try:
        return import_timm.timm_args(src.data, total=total, name=name)
    except SpecError as exc:
        raise _in_input(exc, src) from None
