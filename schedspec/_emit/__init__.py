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

Parameter ``groups`` are emitted for optax and jax: every distinct group schedule gets its own generated
functions (namespace ``g1``, ``g2``, ...), and ``schedule(step, group=None)`` (``schedule(step, metrics=None,
group=None)`` with a plateau) picks one, as ``schedspec.to_jax(spec, group=...)``; the optax module adds
``build_schedule(group=None)`` and ``build_multi_transform(opt_fn, param_labels, **kwargs)`` (labels, as
``schedspec.adapters.optax.multi_transform``). keras refuses ``groups`` (Keras has no parameter groups). The header
of a keras/optax/jax module names the spec's other schedules and the groups' other overrides (one module carries
one hyperparameter: ``--hparam``).

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
from .._groups import bound_group_schedules
from .._target import OPTAX_NAMES, resolve, resolve_all
from .._version import __version__
from ..errors import SpecError, did_you_mean
from ..spec import load
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
    lines = textwrap.wrap(body, width=width - len(label) - 3, break_on_hyphens=False) or [""]
    pad = " " * len(label)
    return [f"# {label} {lines[0]}".rstrip()] + [f"# {pad} {line}" for line in lines[1:]]


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
    """The bound program and the hparam's node (torch: the lr's; its module carries every schedule of the spec).

    Raises:
        SpecError: every reason the emission stops, each at its position, at once: a sweep var not fixed in a
            schedule the module carries (the hyperparameter's, every group's; torch: every hyperparameter's too), a
            plateau for keras or optax, `groups` for keras, a group named `default` for optax, `interval: epoch`
            without `steps_per_epoch` for a target counting optimizer steps.
    """
    entry = f"`schedspec compile --to {target}`"
    issues = []
    try:
        if target == "torch":  # stepped once per interval; it takes metric reports
            res = resolve_all(spec, spec.program.hparams, target, counts_steps=False, entry=entry,
                              metrics_ok=True)["lr"]  # fmt: skip
        else:
            res = resolve(spec, hparam, None, target, entry=entry, metrics_ok=target not in _PLATEAU_HINTS,
                          plateau_hint=_PLATEAU_HINTS.get(target, ""), groups_ok=target != "keras",
                          groups=target == "optax")  # fmt: skip
    except SpecError as err:
        issues = list(err.issues)
    if target != "keras":  # keras refuses `groups` (groups_ok): a group's sweep var is the next thing to fix there
        try:
            bound_group_schedules(spec, target, entry)  # a group's sweep var: one member
        except SpecError as err:
            issues += [i for i in err.issues if i not in issues]
    if target == "optax" and "default" in spec.program.groups:
        issues.append(spec.doc.issue(("groups", "default"), "group `default`: the optax module's build_multi_transform "
                                     "gives the label 'default' to the parameters outside every group (the "
                                     "document's schedule); rename the group", key=True))  # fmt: skip
    if issues:
        raise SpecError(issues)
    return res.bound, res.node


# Targets whose module takes a parameter group (`schedule(step, group=None)`); keras refuses `groups` (it has
# none), torch is emitted by its own template.
_GROUP_TARGETS = ("optax", "jax")


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


def _report_usage(sites: list, unit: str) -> list[str]:
    """The header lines that say how to give a plateau its metric reports (jax; torch: :mod:`._torch`)."""
    clocks = _clocks(sites)
    names = list(clocks)
    for n in names:
        _codegen.metric(n)  # an identifier (validated by the spec; checked again: it is written into comments)
    first = {n: min(s.origin // s.every for s in sites if s.monitor == n) for n in names}
    given = ", ".join(f'"{n}": reports' for n in names)
    usage = f"Usage: schedule(step, metrics={{{given}}}) -> value; pure jax.numpy, jit- and vmap-able."
    lines = _codegen.paragraph(sanitize(usage))
    for n in names:
        uses = ("." if first[n] == 0 else
                f"; the plateau uses reports from #{first[n]} on (make the earlier ones too: they are ignored).")
        text = f"Report j of {n} is the metric at the end of {_codegen.clock(clocks[n], unit)}, counted from k = 0{uses}"  # fmt: skip
        lines += _codegen.paragraph(sanitize(text))
    lines.append("# A reduction decided at report j applies from the next interval, as in torch.")
    lines.append("# A value that needs a report not given is NaN (never a guess); with a concrete step, a ValueError.")
    return lines


def _header(spec, bound, hparam: str, target: str, fingerprint: str, sites: list | None = None) -> list[str]:
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
        lines += _report_usage(sites, unit)
    elif target == "keras":
        lines += ["# Usage: keras.optimizers.SGD(learning_rate=build_schedule())"] if hparam == "lr" else \
            _codegen.paragraph(f"Usage: build_schedule() is a keras LearningRateSchedule of `{_ident(hparam)}` "
                               "(step -> value); Keras optimizers take a schedule only for learning_rate, so call it "
                               "in a loop or callback of your own.")  # fmt: skip
        lines.append("# Update k (0-based, the optimizer's iterations) uses the spec's value at k.")
    elif target == "optax":
        lines.append(f"# Usage: {_optax_usage(hparam)}")
        lines.append("# Update k (0-based, the optax count) uses the spec's value at k.")
    else:
        lines += ["# Usage: schedule(step) -> value; pure jax.numpy, jit- and vmap-able."]
    if unit == "epoch" and target != "torch":
        lines.append(
            f"# The spec counts epochs: step k uses the value at epoch k // {bound.steps_per_epoch}."
        )
    if target != "torch":
        lines += _groups_usage(bound, hparam, target, bool(sites))
    return lines


def _ident(name: str) -> str:
    """``name``, checked to be an identifier (the spec validates hyperparameter names; checked again: it is written
    into the module)."""
    _codegen.metric(name)
    return name


def _optax_arg(hparam: str) -> str:
    """The optax argument of ``hparam`` (optax's own name: ``lr`` is ``learning_rate``, ``beta1`` is ``b1``)."""
    return _ident(OPTAX_NAMES.get(hparam, hparam))


def _optax_usage(hparam: str) -> str:
    """How an optax optimizer takes the schedule of ``hparam``: a plain argument for the learning rate, through
    ``optax.inject_hyperparams`` for the others."""
    if hparam == "lr":
        return "optax.sgd(learning_rate=build_schedule())"
    return f"optax.inject_hyperparams(opt_fn)(learning_rate=..., {_optax_arg(hparam)}=build_schedule())"


def _groups_usage(bound, hparam: str, target: str, metrics: bool) -> list[str]:
    """Header lines naming what else the spec schedules, and how the module takes a parameter group."""
    others = [n for n in bound.hparams if n != hparam]
    text = (f"This module carries `{hparam}` only; the spec also schedules {', '.join(others)}: emit each with "
            "`--hparam NAME`.")  # fmt: skip
    lines = _codegen.paragraph(sanitize(text)) if others else []
    if not bound.groups or target not in _GROUP_TARGETS:
        return lines
    names = ", ".join(bound.groups)
    call = "schedule(step, metrics, group=NAME)" if metrics else "schedule(step, group=NAME)"
    text = (f"Parameter groups ({names}): {call} is that group's `{hparam}` (its own, or the document's when it "
            f"has none); group=None is the document's, for the parameters outside every group.")  # fmt: skip
    if target == "optax":
        text += (" build_schedule(group=NAME) is its optax schedule; build_multi_transform(opt_fn, param_labels, "
                 "**kwargs) is optax.multi_transform with one optax.inject_hyperparams(opt_fn) per group, the label "
                 "'default' (or any label that is not a group) for the rest, as "
                 "schedspec.adapters.optax.multi_transform.")  # fmt: skip
    lines += _codegen.paragraph(sanitize(text))
    overrides = [f"{g}: {', '.join(n for n in own if n != hparam)}" for g, own in bound.groups.items()
                 if any(n != hparam for n in own)]  # fmt: skip
    if overrides:
        text = f"The groups also override ({'; '.join(overrides)}): emit those with `--hparam NAME`."
        lines += _codegen.paragraph(sanitize(text))
    return lines


def _imports(target: str, stdlib: set[str]) -> list[str]:
    """The module's imports: ``stdlib`` (never empty: every backend's helpers use ``math``), then the framework."""
    first = [*(f"import {m}" for m in sorted(stdlib)), ""]
    if target == "keras":
        return [*first, "import keras", "from keras import ops"]
    return [*first, "import jax.numpy as jnp"]


# emitted into every keras/optax/jax module: a concrete step is checked exactly, as schedspec.evaluate checks k
_STEP_CHECK = [
    "def _checked(step):",
    '    """A concrete ``step`` (a Python number or list, a numpy array) checked exactly, before any cast, as',
    "    schedspec.evaluate checks k: a whole number in [0, 2**31-1], not a bool (a ValueError otherwise). A traced",
    '    step (jit, vmap) or a tensor or variable (the optimizer\'s count) cannot be checked here: returned as is."""',
    "    if not isinstance(step, (int, float, str, list, tuple)) and type(step).__module__ != \"numpy\":",
    "        return step",
    "    import numpy as np",
    "",
    "    a = np.asarray(step)",
    "    if a.dtype == object and a.size and all(type(x) is int for x in a.flat):  # an int beyond int64",
    '        raise ValueError(f"k must be in [0, 2**31-1] (got {min(a.flat)}..{max(a.flat)})")',
    "    if a.dtype.kind not in \"iuf\":",
    '        raise ValueError(f"k must be an int or an array of ints, got {a.dtype}")',
    "    w = a.astype(np.float64) if a.dtype.kind == \"f\" else a",
    "    if a.dtype.kind == \"f\" and not (np.isfinite(w).all() and (w == np.floor(w)).all()):",
    '        raise ValueError("k must be whole numbers (update indices); got non-integer values")',
    "    if w.size and (w.min() < 0 or w.max() > 2147483647):",
    '        raise ValueError(f"k must be in [0, 2**31-1] (got {a.min()}..{a.max()})")',
    "    return w.astype(np.int64)",
]


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
            "    k = jnp.maximum(jnp.asarray(_checked(step)), 0)",
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
                '        k = ops.maximum(ops.cast(_checked(step), "int32"), 0)',
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
            "    k = jnp.maximum(jnp.asarray(_checked(step)), 0)",
            *epoch,
            "    return xp.out(_value(xp, k), k)",
        ]
    ]
    if target == "optax":
        blocks.append(
            [
                "def build_schedule():",
                '    """An optax schedule ``count -> value`` (e.g. ``learning_rate=build_schedule()``)."""' if hparam == "lr"
                else '    """An optax schedule ``count -> value`` (see the usage line of the header)."""',
                "    return schedule",
            ]
        )
    return blocks


# ------------------------------------------------------------------------------------------ parameter groups
def _group_generators(bound, node, hparam: str):
    """One generator per distinct schedule: the document's (names as without groups) and each group's own
    (namespace ``g1``, ``g2``, ...; a group whose schedule equals an earlier one shares its functions).

    Returns:
        (generators, ``{group: namespace}``), ``""`` being the document's namespace.
    """
    unit = "epoch" if bound.interval == "epoch" else "step"
    gens = [_codegen.generate(node, scalar=False, label=hparam, unit=unit)]
    seen = {node: ""}
    ns_of: dict[str, str] = {}
    for i, (group, own) in enumerate(bound.groups.items(), start=1):
        _codegen.metric(group)  # an identifier (validated by the spec; checked again: it is written as a literal)
        gnode = own.get(hparam, node)
        if gnode not in seen:
            seen[gnode] = f"g{i}"
            gens.append(_codegen.generate(gnode, scalar=False, label=f"{hparam} of group {group}", unit=unit,
                                          ns=f"g{i}"))  # fmt: skip
        ns_of[group] = seen[gnode]
    return gens, ns_of


def _groups_entry(target: str, bound, hparam: str, gens: list, ns_of: dict[str, str]) -> list[list[str]]:
    """jax/optax with parameter groups: ``schedule(step[, metrics], group=None)`` dispatching to each group's
    generated ``_value`` (and, with plateaus, its ``_plateaus``/``_waiting``/``_REPORTS``), as
    ``schedspec.to_jax(spec, group=...)``; optax also ``build_schedule(group=None)`` and
    ``build_multi_transform``, as ``schedspec.adapters.optax.multi_transform``."""
    spe = bound.steps_per_epoch if bound.interval == "epoch" else None
    unit = "epoch" if bound.interval == "epoch" else "step"
    epoch = [f"    k = xp.floordiv(k, {spe})  # the spec counts epochs"] if spe else []
    plateaus = any(gen.sites for gen in gens)
    has_sites = {gen.ns: bool(gen.sites) for gen in gens}

    def fn(name: str, ns: str) -> str:
        return f"{name}_{ns}" if ns else name

    def entry(ns: str) -> str:
        if not plateaus:
            return fn("_value", ns)
        if not has_sites[ns]:
            return f"({fn('_value', ns)}, None, None, {{}})"
        return f"({fn('_value', ns)}, {fn('_plateaus', ns)}, {fn('_waiting', ns)}, {fn('_REPORTS', ns)})"

    what = "(_value, _plateaus, _waiting, _REPORTS) of" if plateaus else "The generated _value of"
    table = [
        f"# {what} each parameter group's `{hparam}` schedule; the document's is _DOCUMENT.",
        f"_DOCUMENT = {entry('')}",
        "_GROUPS = {",
        *(f"    {_codegen.metric(g)}: {entry(ns)}," for g, ns in ns_of.items()),
        "}",
    ]
    if plateaus:
        reports = ", ".join(f"**{fn('_REPORTS', gen.ns)}" for gen in gens if gen.sites)
        table.append(f"_MONITORED = {{{reports}}}  # every metric a plateau of this module monitors")
    root = [
        "def _root(group):",
        '    """What evaluates parameter group ``group`` (None: the document\'s schedule, for the parameters outside',
        '    every group); a name that is not a group of the spec is a ValueError."""',
        "    if group is None:",
        "        return _DOCUMENT",
        "    if group not in _GROUPS:",
        "        raise ValueError(f\"the spec has no parameter group {group!r} (its groups: {', '.join(_GROUPS)})\")",
        "    return _GROUPS[group]",
    ]
    blocks = [table, root]
    if not plateaus:
        blocks.append(
            [
                "def schedule(step, group=None):",
                '    """The value for update ``step`` (an int or an int array, 0-based) of parameter group ``group``',
                "    (None: the document's schedule, which the parameters outside every group get); pure jax.numpy.",
                '    """',
                "    value = _root(group)",
                "    xp = JaxXP()",
                "    k = jnp.maximum(jnp.asarray(_checked(step)), 0)",
                *epoch,
                "    return xp.out(value(xp, k), k)",
            ]
        )
    else:
        blocks += [
            [
                "def _inputs(xp, metrics, k, waiting, monitored):",
                '    """The reports of the metrics a group\'s plateaus monitor (float arrays) and how many were given.',
                "",
                "    A name no plateau of the module monitors is a ValueError; so are too few reports for a concrete (not",
                "    traced) k. Reports of metrics the group's schedule does not use are ignored.",
                '    """',
                "    metrics = dict(metrics or {})",
                "    for name in metrics:",
                "        if name not in _MONITORED:",
                "            raise ValueError(",
                '                f"no plateau of this schedule monitors {name!r} (monitored: {\', \'.join(_MONITORED)})"',
                "            )",
                "    reports = {name: xp.f(metrics.get(name, ())) for name in monitored}",
                "    for name, v in reports.items():",
                "        if v.ndim != 1:",
                '            raise ValueError(f"metrics[{name!r}] must be a 1-D list of reports (got shape {v.shape})")',
                "    counts = {name: v.shape[0] for name, v in reports.items()}",
                "    if waiting is None:",
                "        return reports, counts",
                "    try:",
                "        k_max = int(jnp.max(k)) if k.size else -1",
                "    except TypeError:  # a traced step (jit, vmap): a value that needs a missing report is NaN",
                "        return reports, counts",
                "    missing = waiting(k_max, counts)",
                "    if missing:",
                "        name, need = missing[0]",
                "        raise ValueError(",
                f'            f"the value at {unit} {{k_max}} needs {{need}} reports of {{name!r}} (one per {{_MONITORED[name]}} "',
                f'            f"{unit}(s), counted from {unit} 0), but {{counts[name]}} were given: pass "',
                '            f"metrics={{{name!r}: [...]}}"',
                "        )",
                "    return reports, counts",
            ],
            [
                "def schedule(step, metrics=None, group=None):",
                '    """The value for update ``step`` (an int or an int array, 0-based) of parameter group ``group``',
                "    (None: the document's schedule, which the parameters outside every group get); pure jax.numpy.",
                "",
                '    ``metrics={"name": reports}`` feeds the plateaus: report j is the metric at the end of interval j of the',
                "    plateau's clock, counted from 0 (a list or an array; traced under jit/vmap is fine). A value that needs",
                "    a report not given is NaN; with a concrete ``step``, too few reports raise a ValueError.",
                '    """',
                "    value, plateaus, waiting, monitored = _root(group)",
                "    xp = JaxXP()",
                "    k = jnp.maximum(jnp.asarray(_checked(step)), 0)",
                *epoch,
                "    reports, counts = _inputs(xp, metrics, k, waiting, monitored)",
                "    if plateaus is None:",
                "        return xp.out(value(xp, k), k)",
                "    return xp.out(value(xp, k, plateaus(xp, reports, counts)), k)",
            ],
        ]
    if target == "optax":

        arg = _optax_arg(hparam)
        blocks += [
            [
                "def build_schedule(group=None):",
                '    """An optax schedule ``count -> value`` of parameter group ``group`` (None: the document\'s)."""',
                "    _root(group)  # an unknown group fails here, not at the first update",
                "",
                "    def count_schedule(count):",
                "        return schedule(count, group)",
                "",
                "    return count_schedule",
            ],
            [
                "def build_multi_transform(opt_fn, param_labels, **kwargs):",
                f'    """``optax.multi_transform`` with ``optax.inject_hyperparams(opt_fn)({arg}=build_schedule(group),',
                "    **kwargs)`` per parameter group (label = group name), as schedspec.adapters.optax.multi_transform.",
                "",
                "    ``param_labels``: a pytree of labels like the params, or a function of the params. The label",
                '    ``"default"`` (or any label that is not a group) gets the document\'s schedule. Every group must label',
                "    at least one parameter (checked at ``init``): a group no parameter carries is a ValueError.",
                '    """',
                "    import jax",
                "    import optax",
                "",
                "    def labels_of(params):",
                "        labels = param_labels(params) if callable(param_labels) else param_labels",
                "        leaves = set(jax.tree_util.tree_leaves(labels))",
                "        missing = [g for g in _GROUPS if g not in leaves]",
                "        if missing:",
                "            raise ValueError(",
                '                f"group {missing[0]!r}: no parameter carries its label (labels: "',
                "                f\"{', '.join(map(str, sorted(leaves, key=str)))})\"",
                "            )",
                '        return jax.tree_util.tree_map(lambda x: x if x in _GROUPS else "default", labels)',
                "",
                "    transforms = {}",
                '    for group in (*_GROUPS, None):  # None: the document\'s schedule, label "default"',
                *_codegen.call('transforms[group or "default"] = ', "optax.inject_hyperparams(opt_fn)",
                               [f"{arg}=build_schedule(group)", "**kwargs"], 2),
                "    return optax.multi_transform(transforms, labels_of)",
            ],
        ]
    return blocks


def _module(spec, bound, node, hparam: str, target: str) -> str:
    fingerprint = ir.fingerprint(bound)
    if target == "torch":  # every schedule of the spec, groups included (._torch)
        extra = [n for n in bound.hparams if n != "lr"] + [f"groups.{g}" for g in bound.groups]
        title = "lr" + (f" (and {', '.join(extra)})" if extra else "")
        native = native_torch(node) if not extra else None
        return _torch.module(bound, node, _header(spec, bound, title, target, fingerprint), native)
    grouped = target in _GROUP_TARGETS and bound.groups
    if grouped:  # one generator per distinct schedule of the groups (and the document's)
        gens, ns_of = _group_generators(bound, node, hparam)
    else:
        unit = "epoch" if bound.interval == "epoch" else "step"
        gens = [_codegen.generate(node, scalar=False, label=hparam, unit=unit)]
    sites = [site for gen in gens for site in gen.sites]
    copied = _source.closure({*(f for gen in gens for f in gen.formulas), _BACKEND[target]})
    stdlib = _source.modules_used(copied)
    blocks = [src.splitlines() for src in _source.source_of(copied)]
    for gen in gens:
        if gen.constants:
            blocks.append([line for c in gen.constants for line in c])
        blocks += gen.functions
    if grouped:
        blocks += [_STEP_CHECK, *_groups_entry(target, bound, hparam, gens, ns_of)]
    else:
        blocks += [_STEP_CHECK, *_entry(target, bound, hparam, fingerprint, sites)]
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
            ``plateau`` for keras or optax (they name the runtime adapter to use instead), has ``groups`` for keras
            (or a group named ``default`` for optax, the label of the parameters outside every group), or counts
            epochs without ``steps_per_epoch`` for a step-counting target.
        ValueError: an unknown target, or ``torch`` for a hyperparameter other than ``lr``.

    >>> import schedspec
    >>> src = schedspec.emit({"schedspec": 1, "lr": {"kind": "step", "start": 0.1, "every": 30}}, "torch")
    >>> "StepLR(optimizer, step_size=30, gamma=0.1)" in src
    True
    """

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
