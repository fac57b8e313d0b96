"""What every target (torch, keras, optax, emitted source) checks before it runs a schedule: one place.

:func:`resolve` narrows a spec to one hyperparameter and one sweep member and reports, all at once and with
positions, what the target cannot run: an unknown hyperparameter, a sweep var not fixed by ``vars``, a
metric-driven ``plateau``, parameter ``groups`` (Keras has none), or ``interval: epoch`` without
``steps_per_epoch`` for a target that counts optimizer steps.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from . import ir
from .errors import Issue, SpecError, did_you_mean
from .spec import Spec, load

# optax's own names of the hyperparameters whose spec name differs (``optax.adam(learning_rate=..., b1=...)``)
OPTAX_NAMES = {"lr": "learning_rate", "beta1": "b1", "beta2": "b2"}


def hparam_node(spec: Spec, hparam: str) -> ir.Node:
    """The (unbound) IR of ``hparam``, or a SpecError naming the schedules the spec has."""
    node = spec.program.hparams.get(hparam)
    if node is None:
        raise SpecError(
            [Issue(spec.file, None, None, hparam, f"the spec has no `{hparam}` schedule{did_you_mean(hparam, spec.program.hparams)} "
                   f"(it has: {', '.join(spec.program.hparams)})")]
        )  # fmt: skip
    return node


def check_group(spec: Spec, group: str) -> None:
    """Check that the spec has a group ``group``.

    Raises:
        SpecError: it has none; the message names the groups it has (and the closest name).
    """
    groups = spec.program.groups
    if group not in groups:
        raise SpecError(
            [Issue(spec.file, None, None, "groups", f"the spec has no group {group!r}{did_you_mean(str(group), groups)} "
                   f"(it has: {', '.join(groups) or 'none'})")]
        )  # fmt: skip


def group_node(spec: Spec, hparam: str, group: str | None) -> ir.Node:
    """The (unbound) IR of the ``hparam`` schedule that group ``group``'s parameters get: the group's own, or the
    document's when the group has none (``group=None``: the document's).

    Raises:
        SpecError: the spec has no ``hparam`` schedule, or no group ``group``.
    """
    node = hparam_node(spec, hparam)
    if group is None:
        return node
    check_group(spec, group)
    return spec.program.groups[group].get(hparam, node)


@dataclasses.dataclass(frozen=True)
class Resolved:
    """A spec narrowed to one hyperparameter and one sweep member.

    Attributes:
        spec: the spec, with ``vars`` applied.
        hparam: the hyperparameter's name.
        node: its IR with every var substituted (plain floats and ints); with ``group``, the group's schedule.
        divisor: ``steps_per_epoch`` for ``interval: epoch`` on a step-counting target, else 1 (k = step // divisor).
        bound: the whole program with every var substituted (``node`` is ``bound.hparams[hparam]``, or
            ``bound.groups[group][hparam]`` for a group's own schedule).
    """

    spec: Spec
    hparam: str
    node: ir.Node
    divisor: int
    bound: ir.Program


def resolve(
    spec: Any,
    hparam: str,
    vars: dict | None,
    target: str,
    counts_steps: bool = True,
    entry: str | None = None,
    metrics_ok: bool = False,
    plateau_hint: str = "use a time-based schedule here",
    groups_ok: bool = True,
    groups: tuple | bool = (),
    group: str | None = None,
) -> Resolved:
    """Load ``spec``, apply ``vars`` and check that ``target`` can run its ``hparam`` schedule.

    Args:
        spec: a :class:`schedspec.Spec`, a path or a dict.
        hparam: the hyperparameter (``"lr"``, ``"momentum"``, ...).
        vars: var values (a sweep member, or overrides); the sweep vars the schedule uses must be given.
        target: the target's name for messages (``"torch"``, ``"keras"``, ``"optax"``, ``"jax"``).
        counts_steps: the target counts optimizer steps (Keras, Optax), so an epoch-based spec needs
            ``steps_per_epoch``; False for a torch scheduler, which is stepped once per interval.
        entry: what the user called, for messages (default ``to_<target>``).
        metrics_ok: the target runs metric-driven ``plateau`` phases (it takes metric reports).
        plateau_hint: what to do instead, in the message refusing a plateau (when ``metrics_ok`` is False).
        groups_ok: the target can carry the spec's parameter ``groups`` (False for Keras, which has none).
        groups: the parameter groups whose ``hparam`` schedule the target also runs (``True``: every group), checked
            like ``hparam``'s: a plateau in one is refused, positioned, when ``metrics_ok`` is False.
        group: the target runs only this group's ``hparam`` schedule (the document's where the group has none, as
            :func:`group_node`): that schedule is checked and returned, not the document's (whose sweep vars and
            plateaus the target never sees).

    Raises:
        SpecError: every reason the target cannot run the schedule, each with its position.
    """
    spec = load(spec)
    if vars:
        spec = spec.with_vars(dict(vars))
    program = spec.program
    node = group_node(spec, hparam, group)
    own = group is not None and hparam in program.groups[group]  # the group's own schedule, not the document's
    doc = spec.doc
    issues: list[Issue] = []
    entry = entry or f"to_{target}"
    groups = tuple(g for g in (program.groups if groups is True else groups or ()) if hparam in program.groups.get(g, {}))
    trees = (node, *(program.groups[g][hparam] for g in groups))
    if not metrics_ok and any(isinstance(n, ir.Plateau) for n in ir.walk(trees)):
        what = f"by {entry} ({target}): a plateau is driven by metric reports, which it cannot take ({plateau_hint})"
        issues.extend(spec.unsupported(trees, "plateau", what, hparam).issues)
    if not groups_ok and program.groups:
        issues.append(
            doc.issue(
                ("groups",),
                f"`groups`: a Keras optimizer has no parameter groups (one learning rate for all its weights), so "
                f"{entry} cannot carry them; use torch (schedspec.to_torch: param groups by \"name\") or optax "
                "(schedspec.adapters.optax.multi_transform: labels) for per-group schedules, or remove `groups`",
                key=True,
            )
        )
    nums, durs = ir.used_vars(node)
    label = f"group `{group}` `{hparam}`" if own else f"`{hparam}`"
    issues += [sweep_issue(spec, name, label, entry, target) for name in sorted((nums | durs) & set(program.sweep_vars))]
    divisor = 1
    if counts_steps and program.interval == "epoch":
        if program.steps_per_epoch is None:
            issues.append(
                doc.issue(
                    ("interval",),
                    f"`interval: epoch` counts epochs, but {target} counts optimizer steps: add `steps_per_epoch` "
                    "(the schedule then uses k = step // steps_per_epoch)",
                )
            )
        else:
            divisor = int(program.steps_per_epoch)
    if issues:
        raise SpecError(issues)
    bound = spec.bound()
    return Resolved(spec, hparam, bound.groups[group][hparam] if own else bound.hparams[hparam], divisor, bound)


def sweep_issue(spec: Spec, var: str, label: str, entry: str, target: str) -> Issue:
    """The issue of a sweep var ``var`` that the schedule ``label`` uses (`` `lr` ``, ``group `g` `lr` ``) and that
    ``entry`` (what the user called) was not given a member of, at the var, with the way out."""
    raw = spec.program.vars[var].raw
    first = raw[0]
    return spec.doc.issue(
        ("vars", var),
        f"{label} uses the sweep var ${var} ({len(raw)} values: {', '.join(str(v) for v in raw)}), but {entry} builds "
        f"one {target} schedule: pick one member with vars={{{var!r}: {first!r}}} (or `--set {var}={first}` on the "
        "command line)",
    )


def resolve_all(spec: Spec, hparams: Any, target: str, **options: Any) -> dict[str, Resolved]:
    """:func:`resolve` of each of ``hparams`` (``spec`` with its vars already applied), every problem of every one
    reported at once in one :class:`SpecError` (an issue several share, a missing ``steps_per_epoch``, once): a
    second sweep var in another hyperparameter is not left for the next run to find.

    Returns:
        ``{hparam: Resolved}``, in the order of ``hparams``.
    """
    out: dict[str, Resolved] = {}
    issues: list[Issue] = []
    for name in hparams:
        try:
            out[name] = resolve(spec, name, None, target, **options)
        except SpecError as exc:
            issues.extend(i for i in exc.issues if i not in issues)
    if issues:
        raise SpecError(issues)
    return out
