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

A ``plateau`` (metric-driven) is emitted for torch and jax: the module also copies the plateau state machine of
:mod:`schedspec.formulas` (``plateau_update`` via ``plateau_trajectory``, ``plateau``, ``plateau_needed``) and
generates ``_plateaus(xp, reports, counts)``, mirroring ``_compile._plateau``. torch's scheduler takes reports
exactly like :func:`schedspec.to_torch` (``scheduler.report(name, value)``, ``scheduler.step(metrics=value)``,
the reports in ``state_dict()``, an update that waits for a report refused); jax's ``schedule(step, metrics=None)``
takes ``{name: reports}`` like :func:`schedspec.to_jax`. keras and optax refuse a plateau, naming the runtime
adapter to use (their schedule needs state that the optimizer does not carry: a callback, or ``inject``/``report``).

The torch module (:mod:`._torch`) carries every schedule of the spec, like :func:`schedspec.to_torch`: the lr,
the other hyperparameters and the ``groups:``, in one closed-form ``LRScheduler`` that follows the param-group
rule of :mod:`schedspec._param_groups`, carries the fingerprint in its state and resumes exactly in any order. A
single phase that a native class computes (``StepLR``, ``MultiStepLR``, ``ExponentialLR``, ``ConstantLR``; see
:func:`native_torch`) is named in a comment.

Emission itself imports no framework (it is text generation), so it is fast and works where the target is not
installed.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap

from .. import ir
from .._errors import SpecError, did_you_mean
from .._groups import bound_group_schedules
from .._target import resolve
from . import _codegen, _source, _torch

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
# What to use instead of an emitted module for a plateau, where the target cannot take metric reports.
_PLATEAU_HINTS = {
    "keras": "use the runtime adapter: schedule = schedspec.to_keras(spec), then model.fit(..., "
             "callbacks=[schedule.callback()]); or emit --to jax / --to torch",
    "optax": "use the runtime adapter: tx = schedspec.adapters.optax.inject(spec, optax.sgd), then "
             "state = schedspec.adapters.optax.report(state, name, value) at the end of each interval; or emit --to jax, "
             "whose schedule(step, metrics=...) takes the reports",
}  # fmt: skip


def _bind(spec, hparam: str, target: str):
    """The bound program and the hparam's node, or a SpecError naming what stops the emission."""
    res = resolve(spec, hparam, None, target, counts_steps=target != "torch", entry=f"`schedspec compile --to {target}`",
                  metrics_ok=target not in _PLATEAU_HINTS, plateau_hint=_PLATEAU_HINTS.get(target, ""))  # fmt: skip
    return res.bound, res.node


def _bind_torch(spec):
    """The bound program and its lr for torch, whose module carries every schedule: a SpecError names every
    schedule (hyperparameter or group) that stops the emission, each at its position."""
    issues = []
    for name in spec.program.hparams:
        try:
            res = resolve(spec, name, None, "torch", counts_steps=False, entry="`schedspec compile --to torch`",
                          metrics_ok=True)  # fmt: skip
        except SpecError as err:
            issues += [i for i in err.issues if i not in issues]
            continue
        if name == "lr":
            bound, node = res.bound, res.node
    try:
        bound_group_schedules(spec, "torch")
    except SpecError as err:
        issues += [i for i in err.issues if i not in issues]
    if issues:
        raise SpecError(issues)
    return bound, node


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
def _clocks(sites: list) -> dict[str, int]:
    """``{metric: every}`` of the plateaus, in order of appearance (a metric has one report clock)."""
    out: dict[str, int] = {}
    for site in sites:
        out.setdefault(site.monitor, site.every)
    return out


def _clock(every: int, unit: str) -> str:
    """Where report j is made: ``epoch j`` or ``steps [500*j, 500*(j+1))``."""
    return f"{unit} j" if every == 1 else f"{unit}s [{every}*j, {every}*(j+1))"


def _report_usage(target: str, sites: list, unit: str) -> list[str]:
    """The header lines that say how to give a plateau its metric reports (jax; torch: :mod:`._torch`)."""
    clocks = _clocks(sites)
    names = list(clocks)
    for n in names:
        _codegen.metric(n)  # an identifier (validated by the spec; checked again: it is written into comments)
    first = {n: min(s.origin // s.every for s in sites if s.monitor == n) for n in names}
    given = ", ".join(f'"{n}": reports' for n in names)
    lines = [f"# Usage: schedule(step, metrics={{{given}}}) -> value; pure jax.numpy, jit- and vmap-able."]
    for n in names:
        uses = ("." if first[n] == 0 else
                f"; the plateau uses reports from #{first[n]} on (make the earlier ones too: they are ignored).")
        text = f"Report j of {n} is the metric at the end of {_clock(clocks[n], unit)}, counted from k = 0{uses}"  # fmt: skip
        lines += [f"# {line}" for line in textwrap.wrap(sanitize(text), width=98, break_on_hyphens=False)]
    lines.append("# A reduction decided at report j applies from the next interval, as in torch.")
    lines.append("# A value that needs a report not given is NaN (never a guess); with a concrete step, a ValueError.")
    return lines


def _header(spec, bound, hparam: str, target: str, fingerprint: str, sites: list | None = None) -> list[str]:
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
    if target == "torch":
        pass  # the torch module adds its own usage lines (._torch)
    elif sites:
        lines += _report_usage(target, sites, unit)
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


def _imports(target: str, stdlib: set[str]) -> list[str]:
    first = [*(f"import {m}" for m in sorted(stdlib)), ""] if stdlib else []
    if target == "keras":
        return [*first, "import keras", "from keras import ops"]
    return [*first, "import jax.numpy as jnp"]


# emitted into the jax plateau entry point (torch: ._torch): `metrics` names must be monitored by a plateau
_UNKNOWN_METRIC_CHECK = [
    "    metrics = dict(metrics or {})",
    "    for name in metrics:",
    "        if name not in _REPORTS:",
    "            raise ValueError(",
    '                f"no plateau of this schedule monitors {name!r} (monitored: {\', \'.join(_REPORTS)})"',
    "            )",
]


def _jax_plateau_entry(epoch: list[str], unit: str) -> list[list[str]]:
    """jax with plateaus: ``schedule(step, metrics=None)``, as ``schedspec.to_jax``'s ``fn(k, metrics=...)``."""
    return [
        [
            "def _inputs(xp, metrics, k):",
            '    """The reports of every monitored metric (float arrays) and how many were given.',
            "",
            "    A name no plateau monitors is a ValueError; so are too few reports for a concrete (not traced) k.",
            '    """',
            *_UNKNOWN_METRIC_CHECK,
            "    reports = {name: xp.f(metrics.get(name, ())) for name in _REPORTS}",
            "    for name, v in reports.items():",
            "        if v.ndim != 1:",
            '            raise ValueError(f"metrics[{name!r}] must be a 1-D list of reports (got shape {v.shape})")',
            "    counts = {name: v.shape[0] for name, v in reports.items()}",
            "    try:",
            "        k_max = int(jnp.max(k)) if k.size else -1",
            "    except TypeError:  # a traced step (jit, vmap): a value that needs a missing report is NaN",
            "        return reports, counts",
            "    waiting = _waiting(k_max, counts)",
            "    if waiting:",
            "        name, need = waiting[0]",
            "        raise ValueError(",
            f'            f"the value at {unit} {{k_max}} needs {{need}} reports of {{name!r}} (one per {{_REPORTS[name]}} "',
            f'            f"{unit}(s), counted from {unit} 0), but {{counts[name]}} were given: pass "',
            '            f"metrics={{{name!r}: [...]}}"',
            "        )",
            "    return reports, counts",
        ],
        [
            "def schedule(step, metrics=None):",
            '    """The value for update ``step`` (an int or an int array, 0-based); pure jax.numpy.',
            "",
            '    ``metrics={"name": reports}`` feeds the plateaus: report j is the metric at the end of interval j of the',
            "    plateau's clock, counted from 0 (a list or an array; traced under jit/vmap is fine). A value that needs",
            "    a report not given is NaN; with a concrete ``step``, too few reports raise a ValueError.",
            '    """',
            "    xp = JaxXP()",
            "    k = jnp.maximum(jnp.asarray(step), 0)",
            *epoch,
            "    reports, counts = _inputs(xp, metrics, k)",
            "    return xp.out(_value(xp, k, _plateaus(xp, reports, counts)), k)",
        ],
    ]


def _entry(target: str, bound, hparam: str, fingerprint: str, sites: list | None = None) -> list[list[str]]:
    """The target's public entry point(s), as top-level blocks."""
    spe = bound.steps_per_epoch if bound.interval == "epoch" else None
    unit = "epoch" if bound.interval == "epoch" else "step"
    if sites and target == "jax":
        epoch = [f"    k = xp.floordiv(k, {spe})  # the spec counts epochs"] if spe else []
        return _jax_plateau_entry(epoch, unit)
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


def _module(spec, bound, node, hparam: str, target: str) -> str:
    fingerprint = ir.fingerprint(bound)
    if target == "torch":  # every schedule of the spec, groups included (._torch)
        extra = [n for n in bound.hparams if n != "lr"] + [f"groups.{g}" for g in bound.groups]
        title = "lr" + (f" (and {', '.join(extra)})" if extra else "")
        native = native_torch(node) if not extra else None
        return _torch.module(bound, node, _header(spec, bound, title, target, fingerprint), native)
    blocks: list[list[str]] = []
    unit = "epoch" if bound.interval == "epoch" else "step"
    gen = _codegen.generate(node, scalar=False, label=hparam, unit=unit)
    sites = gen.sites
    copied = _source.closure({*gen.formulas, _BACKEND[target]})
    stdlib = _source.modules_used(copied)
    blocks += [src.splitlines() for src in _source.source_of(copied)]
    if gen.constants:
        blocks.append([line for c in gen.constants for line in c])
    blocks += gen.functions
    blocks += _entry(target, bound, hparam, fingerprint, sites)
    head = _header(spec, bound, hparam, target, fingerprint, sites)
    doc = (
        f'"""The `{hparam}` schedule of the spec named in the header, for {target}; emitted by schedspec."""'
    )
    top = "\n".join([*head, "", doc, "", *_imports(target, stdlib)])
    return "\n\n\n".join([top, *("\n".join(b) for b in blocks)]) + "\n"


def emit(spec, target: str = "torch", *, hparam: str = "lr", vars: dict | None = None) -> str:
    """Standalone Python source of one schedule for ``target``: ``"torch"``, ``"keras"``, ``"optax"`` or ``"jax"``.

    Args:
        spec: a :class:`schedspec.Spec`, a path, or a dict.
        target: the framework the module is for.
        hparam: which schedule (default ``"lr"``).
        vars: var values to set first (e.g. one member of a sweep: ``{"peak": 0.1}``).

    Returns:
        The module's source text. It imports only the target framework and ``math`` (torch: also ``weakref``).
        The torch module carries every schedule of the spec (the lr drives its ``LRScheduler``; the other
        hyperparameters and the ``groups:`` are set on the param groups, as :func:`schedspec.to_torch` does).

    Raises:
        SpecError: the spec is invalid, still sweeps (pass ``vars``; for torch, in any schedule), has a
            ``plateau`` for keras or optax (they name the runtime adapter to use instead), or counts epochs
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
    bound, node = _bind_torch(spec) if target == "torch" else _bind(spec, hparam, target)
    return _module(spec, bound, node, hparam, target)


__all__ = ["TARGETS", "emit", "native_torch", "sanitize"]
