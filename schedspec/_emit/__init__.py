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

from .. import ir
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
                  metrics_ok=target not in _PLATEAU_HINTS, plateau_hint=_PLATEAU_HINTS.get(target, ""),
                  groups_ok=target != "keras")  # fmt: skip
    if target in _GROUP_TARGETS and res.bound.groups:
        from .._errors import SpecError
        from .._groups import bound_group_schedules

        bound_group_schedules(res.spec, f"`schedspec compile --to {target}`")  # a group's sweep var: one member
        if target == "optax" and "default" in res.bound.groups:
            raise SpecError([res.spec.doc.issue(("groups", "default"), "group `default`: the optax module's "
                                                "build_multi_transform gives the label 'default' to the parameters "
                                                "outside every group (the document's schedule); rename the group",
                                                key=True)])  # fmt: skip
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


def _clock(every: int, unit: str) -> str:
    """Where report j is made: ``epoch j`` or ``steps [500*j, 500*(j+1))``."""
    return f"{unit} j" if every == 1 else f"{unit}s [{every}*j, {every}*(j+1))"


def _report_usage(target: str, sites: list, unit: str) -> list[str]:
    """The header lines that say how to give a plateau its metric reports."""
    clocks = _clocks(sites)
    names = list(clocks)
    for n in names:
        _codegen.metric(n)  # an identifier (validated by the spec; checked again: it is written into comments)
    first = {n: min(s.origin // s.every for s in sites if s.monitor == n) for n in names}
    lines = []
    if target == "torch":
        lines += [
            "# Usage (a closed-form LRScheduler driven by metric reports, like torch ReduceLROnPlateau):",
            "#     scheduler = build_scheduler(optimizer)",
            "#     after each optimizer.step(): scheduler.step()" if unit == "step" else
            "#     at the end of each epoch (after its last optimizer.step()): scheduler.step()",
        ]  # fmt: skip
        for n in names:
            e = clocks[n]
            per = unit if e == 1 else f"{e} {unit}s"
            lines.append(f'#     at the end of each {per}: scheduler.report("{n}", {n})')
        if len(names) == 1 and clocks[names[0]] == 1:
            n = names[0]
            lines += [
                f"# or, as a drop-in for ReduceLROnPlateau.step({n}): scheduler.step(metrics={n}) once per {unit}",
                "# (it records the report, then steps).",
            ]
    else:
        given = ", ".join(f'"{n}": reports' for n in names)
        lines.append(f"# Usage: schedule(step, metrics={{{given}}}) -> value; pure jax.numpy, jit- and vmap-able.")
    for n in names:
        uses = ("." if first[n] == 0 else
                f"; the plateau uses reports from #{first[n]} on (make the earlier ones too: they are ignored).")
        text = f"Report j of {n} is the metric at the end of {_clock(clocks[n], unit)}, counted from k = 0{uses}"  # fmt: skip
        lines += [f"# {line}" for line in textwrap.wrap(sanitize(text), width=98, break_on_hyphens=False)]
    lines.append("# A reduction decided at report j applies from the next interval, as in torch.")
    if target == "torch":
        lines += [
            "# optimizer.step() raises if its update's lr waits for a report not made yet; state_dict() keeps the",
            "# reports, so load_state_dict() resumes exactly, mid-plateau too. Update k uses the spec's value(k);",
            "# get_last_lr() reports the next update's lr. Param group g gets value(k) * initial_lr[g] / initial_lr[0].",
        ]
    else:
        lines.append(
            "# A value that needs a report not given is NaN (never a guess); with a concrete step, a ValueError."
        )
    return lines


def _header(spec, bound, hparam: str, target: str, fingerprint: str, native: _Native | None,
            sites: list | None = None) -> list[str]:  # fmt: skip
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
    if sites:
        lines += _report_usage(target, sites, unit)
    elif target == "torch":
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
    if target != "torch":
        lines += _groups_usage(bound, hparam, target, bool(sites))
    return lines


def _groups_usage(bound, hparam: str, target: str, metrics: bool) -> list[str]:
    """Header lines naming what else the spec schedules, and how the module takes a parameter group."""
    lines = []
    others = [n for n in bound.hparams if n != hparam]
    if others:
        text = (f"This module carries `{hparam}` only; the spec also schedules {', '.join(others)}: emit each with "
                "`--hparam NAME`.")  # fmt: skip
        lines += [f"# {line}" for line in textwrap.wrap(sanitize(text), width=98, break_on_hyphens=False)]
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
    lines += [f"# {line}" for line in textwrap.wrap(sanitize(text), width=98, break_on_hyphens=False)]
    overrides = [f"{g}: {', '.join(n for n in own if n != hparam)}" for g, own in bound.groups.items()
                 if any(n != hparam for n in own)]  # fmt: skip
    if overrides:
        text = f"The groups also override ({'; '.join(overrides)}): emit those with `--hparam NAME`."
        lines += [f"# {line}" for line in textwrap.wrap(sanitize(text), width=98, break_on_hyphens=False)]
    return lines


def _imports(target: str, native: _Native | None, stdlib: set[str]) -> list[str]:
    first = [*(f"import {m}" for m in sorted(stdlib)), ""] if stdlib else []  # (weakref: a torch plateau's hook)
    if target == "torch":
        if native:
            return [f"from torch.optim.lr_scheduler import {native.cls}"]
        return [*first, "from torch.optim.lr_scheduler import LRScheduler"]
    if target == "keras":
        return [*first, "import keras", "from keras import ops"]
    return [*first, "import jax.numpy as jnp"]


# emitted into both plateau entry points (torch and jax): `metrics` names must be monitored by a plateau
_UNKNOWN_METRIC_CHECK = [
    "    metrics = dict(metrics or {})",
    "    for name in metrics:",
    "        if name not in _REPORTS:",
    "            raise ValueError(",
    '                f"no plateau of this schedule monitors {name!r} (monitored: {\', \'.join(_REPORTS)})"',
    "            )",
]


def _torch_plateau_entry(unit: str, fingerprint: str) -> list[list[str]]:
    """torch with plateaus: ``value(k, metrics)`` and a closed-form ``LRScheduler`` that takes metric reports, as
    ``schedspec.to_torch`` does (adapters/torch.py ``SchedSpecLR``: report, step(metrics=), pending check, state)."""
    per = f"{{_REPORTS[name]}} {unit}{{'s' if _REPORTS[name] != 1 else ''}}"
    return [
        [
            "def _as_reports(metrics):",
            '    """``{metric: [float, ...]}`` for every monitored metric; a name no plateau monitors is an error."""',
            *_UNKNOWN_METRIC_CHECK,
            "    return {name: [float(x) for x in metrics.get(name, ())] for name in _REPORTS}",
        ],
        [
            "def value(k, metrics=None):",
            f'    """The schedule at k (a whole number of {unit}s), in float64, given the metric reports.',
            "",
            '    ``metrics={"name": [report 0, report 1, ...]}``: report j is the metric at the end of interval j of the',
            "    plateau's clock, counted from k = 0. A value that needs a report not given is NaN.",
            '    """',
            "    k = max(int(k), 0)",
            "    reports = _as_reports(metrics)",
            "    p = _plateaus(MathXP, reports, {name: len(v) for name, v in reports.items()})",
            "    return MathXP.out(_value(MathXP, k, p), k)",
        ],
        [
            "def _refuse_waiting(ref):",
            '    """An optimizer step pre-hook that refuses an update whose lr waits for a metric report."""',
            "",
            "    def hook(optimizer, args, kwargs):",
            "        scheduler = ref()",
            "        if scheduler is not None and scheduler._waiting:",
            "            name, need = scheduler._waiting[0]",
            "            raise RuntimeError(",
            '                f"update {scheduler.last_epoch} uses the value after {need} reports of {name!r} (one per "',
            f'                f"{per}), but {{len(scheduler.reports[name])}} were given: "',
            '                f"call scheduler.report({name!r}, value) (or scheduler.step(metrics=value)) at the end of "',
            '                "each interval, before the next optimizer.step()"',
            "            )",
            "",
            "    return hook",
        ],
        [
            "class Schedule(LRScheduler):",
            '    """The spec in closed form, driven by metric reports: param group g gets',
            "    value(last_epoch) * initial_lr[g] / initial_lr[0], the plateaus' values after the reports made so far.",
            "",
            "    Call ``optimizer.step()`` then ``scheduler.step()``, and ``scheduler.report(name, value)`` at the end of",
            "    each interval of the plateau's clock (or ``scheduler.step(metrics=value)``). ``state_dict()`` holds",
            "    ``last_epoch``, ``_step_count``, ``base_lrs``, ``_last_lr`` and the reports: resume with",
            "    ``load_state_dict``.",
            '    """',
            "",
            "    def __init__(self, optimizer):",
            "        self.reports = {name: [] for name in _REPORTS}",
            "        self._refresh()",
            "        self._waiting = []",
            "        self._hook = optimizer.register_step_pre_hook(_refuse_waiting(weakref.ref(self)))",
            "        super().__init__(optimizer)",
            "",
            "    def _refresh(self):",
            '        """Recompute every plateau\'s value after each report (one scan each)."""',
            "        self._p = _plateaus(MathXP, self.reports, {name: len(v) for name, v in self.reports.items()})",
            "",
            "    def get_lr(self):",
            "        return self._get_closed_form_lr()",
            "",
            "    def _get_closed_form_lr(self):",
            "        k = self.last_epoch",
            "        self._waiting = _waiting(k, {name: len(v) for name, v in self.reports.items()})",
            "        if self._waiting:  # report() writes the lr; optimizer.step() refuses to run meanwhile",
            '            return [group["lr"] for group in self.optimizer.param_groups]',
            "        lr = MathXP.out(_value(MathXP, k, self._p), k)",
            "        base0 = self.base_lrs[0]",
            "        return [lr * (base / base0) if base0 else lr for base in self.base_lrs]",
            "",
            "    def step(self, epoch=None, metrics=None):",
            '        """Move to the next update. ``metrics``: a report made at the end of the interval that just ended,',
            '        recorded first (a number when one metric is monitored, else ``{name: value}``), as by report()."""',
            "        if metrics is not None:",
            "            if not isinstance(metrics, dict):",
            "                if len(_REPORTS) != 1:",
            "                    raise ValueError(",
            '                        f"this schedule monitors {\', \'.join(_REPORTS)}: pass "',
            '                        "scheduler.step(metrics={name: value, ...})"',
            "                    )",
            "                metrics = {next(iter(_REPORTS)): metrics}",
            "            for name, value in metrics.items():",
            "                self.report(name, value)",
            "        if epoch is not None:",
            "            raise ValueError(",
            '                "this schedule has a plateau: give a metric report as scheduler.step(metrics=value) or "',
            '                "scheduler.report(name, value); a positional argument is torch\'s deprecated `epoch`"',
            "            )",
            "        super().step()",
            "",
            "    def report(self, name, value):",
            '        """Record the next report of metric ``name``: report j is the metric at the end of interval j of',
            "        the plateau's clock (counted from k = 0; make the reports before the plateau begins too). Give it",
            "        just before or just after the interval's last scheduler.step(); the reduction it decides applies",
            '        from the next interval."""',
            "        if name not in _REPORTS:",
            "            raise ValueError(",
            '                f"no plateau of this schedule monitors {name!r} (monitored: {\', \'.join(_REPORTS)})"',
            "            )",
            "        j, every, k = len(self.reports[name]), _REPORTS[name], self.last_epoch",
            "        if j > k // every:",
            "            raise ValueError(",
            f'                f"report #{{j}} of {{name!r}} is the metric at the end of interval {{j}} ({unit}s {{j * every}}.."',
            f'                f"{{(j + 1) * every - 1}}), but the scheduler is at {unit} {{k}} (interval {{k // every}}): make "',
            f'                f"one report per {per}"',
            "            )",
            "        self.reports[name].append(float(value))",
            "        self._refresh()",
            "        if self._waiting:  # this update waited for the report: write its lr now",
            "            values = self._get_closed_form_lr()",
            "            if not self._waiting:",
            "                for group, lr in zip(self.optimizer.param_groups, values, strict=True):",
            '                    group["lr"] = lr',
            "                self._last_lr = list(values)",
            "",
            "    def state_dict(self):",
            '        state = {key: self.__dict__[key] for key in ("last_epoch", "_step_count", "base_lrs", "_last_lr")}',
            '        state["schedspec_reports"] = {name: list(v) for name, v in self.reports.items()}',
            "        return state",
            "",
            "    def load_state_dict(self, state_dict):",
            "        state = dict(state_dict)",
            '        reports = state.pop("schedspec_reports", None)',
            f'        saved = state.pop("schedspec_fingerprint", "{fingerprint}")  # (a state saved by schedspec.to_torch)',
            '        state.pop("schedspec_hparam", None)',
            f'        if saved != "{fingerprint}":',
            "            raise ValueError(",
            f'                f"the scheduler state was saved from another schedule (fingerprint {{saved}}, not {fingerprint})"',
            "            )",
            "        if not isinstance(reports, dict) or set(reports) != set(_REPORTS):",
            "            raise ValueError(",
            '                f"the scheduler state has no metric reports of {\', \'.join(_REPORTS)}: save it with "',
            '                "state_dict() of a scheduler built by this module"',
            "            )",
            "        super().load_state_dict(state)",
            "        self.reports = {name: [float(x) for x in reports[name]] for name in _REPORTS}",
            "        self._refresh()",
            "        self._waiting = _waiting(self.last_epoch, {name: len(v) for name, v in self.reports.items()})",
        ],
        [
            "def build_scheduler(optimizer):",
            '    """A torch LRScheduler for ``optimizer`` that takes metric reports (see the comments at the top)."""',
            "    return Schedule(optimizer)",
        ],
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
    if sites and target == "torch":
        return _torch_plateau_entry(unit, fingerprint)
    if sites and target == "jax":
        epoch = [f"    k = xp.floordiv(k, {spe})  # the spec counts epochs"] if spe else []
        return _jax_plateau_entry(epoch, unit)
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
                "    k = jnp.maximum(jnp.asarray(step), 0)",
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
                "    k = jnp.maximum(jnp.asarray(step), 0)",
                *epoch,
                "    reports, counts = _inputs(xp, metrics, k, waiting, monitored)",
                "    if plateaus is None:",
                "        return xp.out(value(xp, k), k)",
                "    return xp.out(value(xp, k, plateaus(xp, reports, counts)), k)",
            ],
        ]
    if target == "optax":
        from ..adapters.optax import OPTAX_NAMES

        arg = OPTAX_NAMES.get(hparam, hparam)
        _codegen.metric(arg)  # an identifier: written as a string literal
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
    sites: list = []
    if native:
        blocks += _native_blocks(native)
    elif target in _GROUP_TARGETS and bound.groups:
        gens, ns_of = _group_generators(bound, node, hparam)
        sites = [site for gen in gens for site in gen.sites]
        copied = _source.closure({*(f for gen in gens for f in gen.formulas), _BACKEND[target]})
        stdlib = _source.modules_used(copied)
        blocks += [src.splitlines() for src in _source.source_of(copied)]
        for gen in gens:
            if gen.constants:
                blocks.append([line for c in gen.constants for line in c])
            blocks += gen.functions
        blocks += _groups_entry(target, bound, hparam, gens, ns_of)
    else:
        unit = "epoch" if bound.interval == "epoch" else "step"
        gen = _codegen.generate(node, scalar=target == "torch", label=hparam, unit=unit)
        sites = gen.sites
        copied = _source.closure({*gen.formulas, _BACKEND[target]})
        stdlib = _source.modules_used(copied)
        if sites and target == "torch":
            stdlib.add("weakref")  # the scheduler's optimizer hook holds it weakly
        blocks += [src.splitlines() for src in _source.source_of(copied)]
        if gen.constants:
            blocks.append([line for c in gen.constants for line in c])
        blocks += gen.functions
        blocks += _entry(target, bound, hparam, fingerprint, sites)
    head = _header(spec, bound, hparam, target, fingerprint, native, sites)
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
        SpecError: the spec is invalid, still sweeps (pass ``vars``), has a ``plateau`` for keras or optax (they
            name the runtime adapter to use instead), has ``groups`` for keras (or a group named ``default`` for
            optax, the label of the parameters outside every group), or counts epochs without
            ``steps_per_epoch`` for a step-counting target.
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
