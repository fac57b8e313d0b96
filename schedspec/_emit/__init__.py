"""``emit(spec, target)``: a spec as a standalone Python module for torch, keras, optax or jax.

The module imports only its target framework (and ``math``); it never imports schedspec. It contains:

* a comment header: the spec's name and description (sanitised: comments only, never code), the fingerprint of
  what was emitted, the schedspec version, and how to step it;
* the formula functions it needs and one array backend class, copied verbatim from :mod:`schedspec.formulas`
  (``MathXP`` for torch, ``JaxXP`` for jax and optax, ``KerasXP`` for keras), so the emitted values are the
  evaluator's values by construction;
* ``_value(xp, t)``, generated from the bound IR (:mod:`schedspec._emit._codegen`) with exact numeric literals;
* the target's entry point: torch ``build_scheduler(optimizer)``, keras ``build_schedule()`` (a serialisable
  ``LearningRateSchedule``), optax ``build_schedule()`` (``count -> value``), jax ``schedule(step)``.

torch uses a native class where it equals the spec for every ``k``, the end included: ``StepLR`` (a ``step``
phase, or a staircase ``exponential``, with no duration), ``MultiStepLR``, ``ExponentialLR`` and ``ConstantLR``
(``factor=1``). Everything else is a closed-form ``LRScheduler`` subclass. ``CosineAnnealingLR`` is never used:
it rises again after ``T_max``.

Emission itself imports no framework (it is text generation), so it is fast and works where the target is not
installed.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap

from .. import ir, lower
from .._errors import did_you_mean
from .._target import resolve
from . import _codegen, _source

TARGETS = ("torch", "keras", "optax", "jax")

# What each target's module calls its backend class, and the comment lines that say how to use it.
_BACKEND = {"torch": "MathXP", "keras": "KerasXP", "optax": "JaxXP", "jax": "JaxXP"}


# ------------------------------------------------------------------------------------------ strings
def sanitize(text: str) -> str:
    """Text safe inside a ``#`` comment: every non-printable character escaped, as ``repr`` does.

    Newlines, carriage returns, form feeds, NUL, Unicode line/paragraph separators and bidi controls become
    visible escapes (``\\n``, ``\\u2028``...), so the text can never end the comment or disguise code.

    >>> sanitize("a\\nb\\u2028c")
    'a\\\\nb\\\\u2028c'
    """
    out = []
    for ch in str(text):
        out.append(ch if ch.isprintable() else repr(ch)[1:-1])
    return "".join(out)


def _comment(label: str, text: str, width: int = 100) -> list[str]:
    """``# label text`` wrapped on whitespace; the text is sanitised first."""
    body = sanitize(text)
    lines = textwrap.wrap(body, width=width - len(label) - 3, break_long_words=True, break_on_hyphens=False)
    lines = lines or [""]
    pad = " " * len(label)
    return [f"# {label} {lines[0]}".rstrip()] + [f"# {pad} {line}".rstrip() for line in lines[1:]]


# ------------------------------------------------------------------------------------------ checks
def _bind(spec, hparam: str, target: str):
    """The bound program and the hparam's node, or a SpecError naming what stops the emission."""
    res = resolve(spec, hparam, None, target, counts_steps=target != "torch", entry=f"`schedspec compile --to {target}`")
    return lower.bind(res.spec.program), res.node


# ------------------------------------------------------------------------------------------ torch native
@dataclasses.dataclass(frozen=True)
class _Native:
    cls: str
    start: float
    kwargs: list[tuple[str, str]]


def native_torch(node: ir.Node) -> _Native | None:
    """The torch class equal to ``node`` for every k (end included), or None.

    ``StepLR`` = ``step`` (or staircase ``exponential``), ``MultiStepLR`` = ``multistep``, ``ExponentialLR`` =
    ``exponential`` with ``every: 1`` and no ``end``, ``ConstantLR(factor=1)`` = ``constant``; each with no
    duration (a phase with a duration holds its value after it, which none of these classes does).
    """
    num = _codegen.num
    if getattr(node, "duration", 0) is not None:
        return None
    if isinstance(node, ir.Constant):
        return _Native("ConstantLR", node.value, [("factor", "1.0"), ("total_iters", "0")])
    if isinstance(node, ir.Step):
        return _Native("StepLR", node.start, [("step_size", num(node.every)), ("gamma", num(node.gamma))])
    if isinstance(node, ir.MultiStep):
        milestones = "[" + ", ".join(num(m) for m in node.milestones) + "]"
        return _Native("MultiStepLR", node.start, [("milestones", milestones), ("gamma", num(node.gamma))])
    if isinstance(node, ir.Exponential) and node.end is None:
        if node.every == 1:
            return _Native("ExponentialLR", node.start, [("gamma", num(node.gamma))])
        if node.staircase:
            return _Native("StepLR", node.start, [("step_size", num(node.every)), ("gamma", num(node.gamma))])
    return None


# ------------------------------------------------------------------------------------------ assembly
def _header(spec, bound, hparam: str, target: str, fingerprint: str, native: _Native | None) -> list[str]:
    from .. import __version__

    unit = "epoch" if bound.interval == "epoch" else "step"
    lines = [
        f"# Generated by schedspec {__version__} (`schedspec compile --to {target}`). Do not edit: regenerate it.",
        "# Standalone: it needs only its framework, not schedspec.",
        "#",
        *_comment("name:", spec.name),
    ]
    if bound.description:
        lines += _comment("description:", bound.description)
    lines += [
        *_comment("schedule:", f"{hparam}, interval {unit}" + (
            f", steps_per_epoch {bound.steps_per_epoch}" if bound.steps_per_epoch else "")),
        f"# fingerprint: {fingerprint}",
    ]  # fmt: skip
    if spec.program.vars:
        values = ", ".join(f"{n}={v.raw[0]}" for n, v in spec.program.vars.items())
        lines += _comment("vars:", values)
    lines.append("#")
    per = "once per epoch" if unit == "epoch" else "once per optimizer step"
    if target == "torch":
        what = f"torch.optim.lr_scheduler.{native.cls}" if native else "a closed-form LRScheduler"
        lines += [
            f"# Usage ({what}):",
            "#     scheduler = build_scheduler(optimizer)",
            f"#     then {per}: optimizer.step(); scheduler.step()",
            "# Update k (0-based) uses the spec's value(k); get_last_lr() reports the next update's lr.",
        ]
        if not native:
            lines.append("# Param group g gets value(k) * initial_lr[g] / initial_lr[0].")
    elif target == "keras":
        lines += [
            "# Usage: keras.optimizers.SGD(learning_rate=build_schedule())",
            "# Update k (0-based, the optimizer's iterations) uses the spec's value at k.",
        ]
    elif target == "optax":
        lines += [
            "# Usage: optax.sgd(learning_rate=build_schedule())",
            "# Update k (0-based, the optax count) uses the spec's value at k.",
        ]
    else:
        lines += ["# Usage: schedule(step) -> value; pure jax.numpy, jit- and vmap-able."]
    if unit == "epoch" and target != "torch":
        lines.append(
            f"# The spec counts epochs: step k uses the value at epoch k // {bound.steps_per_epoch}."
        )
    return lines


def _imports(target: str, native: _Native | None, stdlib: set[str]) -> list[str]:
    first = [*(f"import {m}" for m in sorted(stdlib)), ""] if stdlib else []
    if target == "torch":
        if native:
            return [f"from torch.optim.lr_scheduler import {native.cls}"]
        return [*first, "from torch.optim.lr_scheduler import LRScheduler"]
    if target == "keras":
        return [*first, "import keras", "from keras import ops"]
    return [*first, "import jax.numpy as jnp"]


def _entry(target: str, bound, hparam: str, fingerprint: str) -> list[list[str]]:
    """The target's public entry point(s), as top-level blocks."""
    spe = bound.steps_per_epoch if bound.interval == "epoch" else None
    if target == "torch":
        return [
            [
                "def value(k):",
                '    """The schedule at k (a whole number of steps, or epochs with interval epoch), in float64."""',
                "    k = max(int(k), 0)",
                "    return MathXP.out(_value(MathXP, k), k)",
            ],
            [
                "class Schedule(LRScheduler):",
                '    """The spec in closed form: param group g gets value(last_epoch) * initial_lr[g] / initial_lr[0].',
                "",
                "    Call ``optimizer.step()`` then ``scheduler.step()``. ``state_dict()`` holds only ``last_epoch``,",
                "    ``_step_count``, ``base_lrs`` and ``_last_lr``: resume with ``load_state_dict``.",
                '    """',
                "",
                "    def get_lr(self):",
                "        return self._get_closed_form_lr()",
                "",
                "    def _get_closed_form_lr(self):",
                "        lr = value(self.last_epoch)",
                "        base0 = self.base_lrs[0]",
                "        return [lr * (base / base0) if base0 else lr for base in self.base_lrs]",
                "",
                "    def state_dict(self):",
                '        return {key: self.__dict__[key] for key in ("last_epoch", "_step_count", "base_lrs", "_last_lr")}',
            ],
            [
                "def build_scheduler(optimizer):",
                '    """A torch LRScheduler for ``optimizer``: call ``optimizer.step(); scheduler.step()`` each interval."""',
                "    return Schedule(optimizer)",
            ],
        ]
    epoch = [f"    k = xp.floordiv(k, {spe})  # the spec counts epochs"] if spe else []
    if target == "keras":
        reg = f"Schedule_{fingerprint}_{hparam}"
        return [
            [
                f'@keras.saving.register_keras_serializable(package="schedspec_emitted", name="{reg}")',
                "class Schedule(keras.optimizers.schedules.LearningRateSchedule):",
                '    """The spec as a Keras schedule: ``schedule(step)`` is the value for update ``step`` (0-based)."""',
                "",
                f'    def __init__(self, fingerprint="{fingerprint}"):',
                f'        if fingerprint != "{fingerprint}":',
                f'            raise ValueError(f"this module emits schedule {fingerprint}, not {{fingerprint}}")',
                "        self.fingerprint = fingerprint",
                "",
                "    def __call__(self, step):",
                "        xp = KerasXP()",
                '        k = ops.maximum(ops.cast(step, "int32"), 0)',
                *(["    " + e for e in epoch]),
                "        return xp.out(_value(xp, k), k)",
                "",
                "    def get_config(self):",
                '        return {"fingerprint": self.fingerprint}',
            ],
            [
                "def build_schedule():",
                '    """A serialisable ``keras.optimizers.schedules.LearningRateSchedule``."""',
                "    return Schedule()",
            ],
        ]
    blocks = [
        [
            "def schedule(step):",
            '    """The value for update ``step`` (an int or an int array, 0-based); pure jax.numpy."""',
            "    xp = JaxXP()",
            "    k = jnp.maximum(jnp.asarray(step), 0)",
            *epoch,
            "    return xp.out(_value(xp, k), k)",
        ]
    ]
    if target == "optax":
        blocks.append(
            [
                "def build_schedule():",
                '    """An optax schedule ``count -> value`` (e.g. ``learning_rate=build_schedule()``)."""',
                "    return schedule",
            ]
        )
    return blocks


def _native_blocks(native: _Native) -> list[list[str]]:
    args = ", ".join(["optimizer", *(f"{k}={v}" for k, v in native.kwargs)])
    return [
        [
            "def build_scheduler(optimizer):",
            f'    """torch ``{native.cls}``, starting at {_codegen.num(native.start)} for param group 0.',
            "",
            "    Every param group g is set to start * initial_lr[g] / initial_lr[0] (its lr when no scheduler has",
            "    set ``initial_lr`` yet), then the native class is built on it.",
            '    """',
            f"    start = {_codegen.num(native.start)}",
            "    groups = optimizer.param_groups",
            '    base0 = groups[0].get("initial_lr", groups[0]["lr"])',
            "    for group in groups:",
            '        base = group.get("initial_lr", group["lr"])',
            '        group["initial_lr"] = group["lr"] = start * (base / base0) if base0 else start',
            *_codegen.call("return ", native.cls, args.split(", "), 1),
        ]
    ]


def _module(spec, bound, node, hparam: str, target: str) -> str:
    fingerprint = ir.fingerprint(bound)
    native = native_torch(node) if target == "torch" else None
    blocks: list[list[str]] = []
    stdlib: set[str] = set()
    if native:
        blocks += _native_blocks(native)
    else:
        gen = _codegen.generate(node, scalar=target == "torch", label=hparam)
        copied = _source.closure({*gen.formulas, _BACKEND[target]})
        stdlib = _source.modules_used(copied)
        blocks += [src.splitlines() for src in _source.source_of(copied)]
        if gen.constants:
            blocks.append([line for c in gen.constants for line in c])
        blocks += gen.functions
        blocks += _entry(target, bound, hparam, fingerprint)
    head = _header(spec, bound, hparam, target, fingerprint, native)
    doc = (
        f'"""The `{hparam}` schedule of the spec named in the header, for {target}; emitted by schedspec."""'
    )
    top = "\n".join([*head, "", doc, "", *_imports(target, native, stdlib)])
    return "\n\n\n".join([top, *("\n".join(b) for b in blocks)]) + "\n"


def emit(spec, target: str = "torch", *, hparam: str = "lr", vars: dict | None = None) -> str:
    """Standalone Python source of one schedule for ``target``: ``"torch"``, ``"keras"``, ``"optax"`` or ``"jax"``.

    Args:
        spec: a :class:`schedspec.Spec`, a path, or a dict.
        target: the framework the module is for.
        hparam: which schedule (default ``"lr"``).
        vars: var values to set first (e.g. one member of a sweep: ``{"peak": 0.1}``).

    Returns:
        The module's source text. It imports only the target framework and ``math``.

    Raises:
        SpecError: the spec is invalid, still sweeps (pass ``vars``), has a ``plateau``, or counts epochs
            without ``steps_per_epoch`` for a step-counting target.
        ValueError: an unknown target, or ``torch`` for a hyperparameter other than ``lr``.

    >>> import schedspec
    >>> src = schedspec.emit({"schedspec": 1, "lr": {"kind": "step", "start": 0.1, "every": 30}}, "torch")
    >>> "StepLR(optimizer, step_size=30, gamma=0.1)" in src
    True
    """
    from .._load import load

    if target not in TARGETS:
        raise ValueError(
            f"unknown target {target!r}{did_you_mean(str(target), TARGETS)}; choose one of {', '.join(TARGETS)}"
        )
    if not isinstance(hparam, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", hparam):
        raise ValueError(f"hparam must be an identifier such as 'lr' (got {hparam!r})")
    spec = load(spec)
    if vars:
        spec = spec.with_vars(vars)
    if target == "torch" and hparam != "lr":
        raise ValueError(
            f"the torch target emits an LRScheduler, which drives the learning rate only (got hparam {hparam!r}); "
            "emit it for jax or optax instead"
        )
    bound, node = _bind(spec, hparam, target)
    return _module(spec, bound, node, hparam, target)


__all__ = ["TARGETS", "emit", "native_torch", "sanitize"]
