"""Binding: a program with its vars substituted by values (scalar vars by their value, sweep vars from one member)
and the carried starts that no longer depend on a var folded into numbers."""

from __future__ import annotations

from typing import Any

from .. import _range, ir
from ..errors import Issue, SpecError

__all__ = ["bind"]


def bind(program: ir.Program, member: dict[str, Any] | None = None) -> ir.Program:
    """Substitute vars by values (scalar vars by their value; sweep vars from ``member``) and fold carried starts."""
    member = member or {}
    num, steps = {}, {}
    keep = set()
    for name, v in program.vars.items():
        if v.sweep and name not in member:
            keep.add(name)
            continue
        if name in member and member[name] not in v.raw:
            raise SpecError(
                [Issue("<spec>", None, None, f"vars.{name}", f"{member[name]!r} is not one of the values of var '{name}' "
                       f"({', '.join(repr(x) for x in v.raw)}); use Spec.with_vars to set another value")]
            )
        idx = v.raw.index(member[name]) if name in member else 0
        if v.number is not None:
            num[name] = v.number[idx]
        if v.steps is not None:
            steps[name] = v.steps[idx]
    env = {("num", k): x for k, x in num.items()} | {("dur", k): x for k, x in steps.items()}

    def sub(x):  # one parameter (ir.map_params rebuilds the nodes around it)
        if isinstance(x, ir.Var):
            return x if x.name in keep else num[x.name]
        if isinstance(x, ir.DVar):
            return x if x.name in keep else steps[x.name]
        if isinstance(x, ir.DSum):  # the terms of the vars bound are folded in; those of kept sweep vars stay
            out: ir.Dur = x.const
            for coef, n in x.terms:
                out = ir.dur_add(out, ir.dur_mul(ir.DVar(n) if n in keep else steps[n], coef))
            return out
        if isinstance(x, ir.Final):
            node = ir.map_params(x.node, sub)
            return ir.Final(node) if ir.depends_on_vars(node) else _range.final_value(node, env)
        return x

    return ir.Program(
        hparams={k: ir.map_params(v, sub) for k, v in program.hparams.items()},
        groups={g: {k: ir.map_params(v, sub) for k, v in hps.items()} for g, hps in program.groups.items()},
        vars={k: v for k, v in program.vars.items() if k in keep},
        interval=program.interval,
        steps_per_epoch=program.steps_per_epoch,
        total=program.total,
        name=program.name,
        description=program.description,
    )
