"""Parameter groups (``groups:`` in a spec) for the targets: their bound schedules, one sweep member at a time.

A spec group holds the schedules it overrides (``Program.groups``; a ``scale`` is already folded in as
``Scale(scale, lr)``); every other hyperparameter of the group is the document's. How a target finds the
parameters of a group is the target's business: torch matches param groups by their ``"name"`` key (or an index
given to ``to_torch``), optax by the labels of ``optax.multi_transform``; Keras has no parameter groups.
"""

from __future__ import annotations

from . import ir
from ._errors import SpecError
from ._target import used_vars


def bound_group_schedules(spec, target: str) -> dict[str, dict[str, ir.Node]]:
    """``{group: {hparam: bound node}}`` of the spec's groups (vars substituted).

    Raises:
        SpecError: a group schedule uses a sweep var that was not fixed (``vars=`` picks one member).
    """
    program = spec.program
    issues = []
    for gname, hps in program.groups.items():
        for name, node in hps.items():
            nums, durs = used_vars(node)
            for var in sorted((nums | durs) & set(program.sweep_vars)):
                first = program.vars[var].raw[0]
                issues.append(spec.doc.issue(("vars", var), f"group `{gname}` `{name}` uses the sweep var ${var}: "
                                             f"{target} builds one optimizer; pick one member with vars={{{var!r}: "
                                             f"{first!r}}}"))  # fmt: skip
    if issues:
        raise SpecError(issues)
    return dict(spec.bound().groups)


def effective(program: ir.Program, group: str) -> dict[str, ir.Node]:
    """Every schedule a group's parameters get: the document's, overridden by the group's own."""
    return {**program.hparams, **program.groups[group]}


__all__ = ["bound_group_schedules", "describe", "effective"]


def describe(program: ir.Program, unit: str) -> list[str]:
    """``schedspec check`` lines for the groups of a bound program: each overridden schedule's phases, min/max."""
    from .cli import _fmt, _minmax, _monitors

    lines = []
    for gname, own in program.groups.items():
        lines.append(f"  group {gname}:" + ("" if own else " the document's schedules"))
        for name, node in own.items():
            sub = ir.Program(hparams={name: node}, interval=program.interval, steps_per_epoch=program.steps_per_epoch,
                             total=program.total)  # fmt: skip
            if isinstance(node, ir.Scale) and node.of == program.hparams.get(name):
                phases = f"{_fmt(node.by)} x the document's `{name}`"
            else:
                phases = "; ".join(f"{kind} {b}..{'forever' if e is None else e}" for kind, b, e in _phases(node))
            lines.append(f"    {name}: {phases}")
            lengths = [x for x in (node.duration, program.total) if isinstance(x, int)]
            r = _minmax(sub, name, max(lengths)) if lengths else None
            if r is not None:
                lines.append(f"      min {_fmt(r[0])}  max {_fmt(r[1])}  (over {unit}s 0..{max(lengths)})")
            elif _monitors(node):
                lines.append(f"      values depend on the metric reports of {', '.join(_monitors(node))}")
    return lines


def _phases(node: ir.Node) -> list[tuple[str, int, int | None]]:
    """(kind, begin, end) of the top-level phases of a bound schedule."""
    parts = node.parts if isinstance(node, ir.Sequence) else (node,)
    out, begin = [], 0
    for part in parts:
        end = None if part.duration is None else begin + part.duration
        out.append((ir.kind(part), begin, end))
        if end is None:
            break
        begin = end
    return out
