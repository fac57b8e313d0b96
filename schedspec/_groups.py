"""Parameter groups (``groups:`` in a spec) for the targets: their bound schedules, one sweep member at a time.

A spec group holds the schedules it overrides (``Program.groups``; a ``scale`` is already folded in as
``Scale(scale, lr)``); every other hyperparameter of the group is the document's. How a target finds the
parameters of a group is the target's business: torch matches param groups by their ``"name"`` key (or an index
given to ``to_torch``), optax by the labels of ``optax.multi_transform``; Keras has no parameter groups.
"""

from __future__ import annotations

from . import ir
from ._target import sweep_issue
from .errors import SpecError


def bound_group_schedules(spec, target: str, entry: str, groups: tuple | None = None) -> dict[str, dict[str, ir.Node]]:
    """``{group: {hparam: bound node}}`` of the spec's groups (vars substituted).

    Args:
        target: the target's name (``"torch"``, ``"optax"``), and ``entry`` what the user called, for messages.
        groups: the groups the target runs (default: every one); only their schedules are checked.

    Raises:
        SpecError: a schedule of one of ``groups`` uses a sweep var that was not fixed (``vars=`` picks one member).
    """
    program = spec.program
    issues = []
    for gname, hps in program.groups.items():
        if groups is not None and gname not in groups:
            continue
        for name, node in hps.items():
            nums, durs = ir.used_vars(node)
            for var in sorted((nums | durs) & set(program.sweep_vars)):
                issues.append(sweep_issue(spec, var, f"group `{gname}` `{name}`", entry, target))
    if issues:
        raise SpecError(issues)
    return dict(spec.bound().groups)


def effective(program: ir.Program, group: str) -> dict[str, ir.Node]:
    """Every schedule a group's parameters get: the document's, overridden by the group's own."""
    return {**program.hparams, **program.groups[group]}


__all__ = ["bound_group_schedules", "effective"]
