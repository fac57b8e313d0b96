"""The Optax adapter: a spec as an optax schedule ``count -> value``.

An optax schedule is a plain function of the optimizer's update count (an int32 that starts at 0 and counts the
updates already applied), so update ``k`` uses ``schedule(k)``: exactly schedspec's ``value(k)``. The schedule is
the JAX function of :func:`schedspec.to_jax`; with ``interval: epoch`` it is evaluated at
``count // steps_per_epoch``. Integer arithmetic comes first, so values are exact for every count below ``2**31``
(optax's decay schedules cast the count to float32 first and lose it above ``2**24``).

``optax.MultiSteps`` (gradient accumulation) already calls the schedule with the count of real updates, so no
option is needed for it.

This module also holds the checks shared by the Keras adapter (:func:`resolve`): one sweep member, no metric-driven
phase, and ``steps_per_epoch`` for an epoch-based spec.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from schedspec import ir
from schedspec._errors import Issue, SpecError, require
from schedspec._load import Spec, load

__all__ = ["to_optax"]


@dataclasses.dataclass(frozen=True)
class Resolved:
    """A spec narrowed to one hyperparameter and one sweep member, ready for a step-counting framework.

    Attributes:
        spec: the spec, with ``vars`` applied.
        hparam: the hyperparameter's name.
        node: its IR, vars substituted (plain floats and ints).
        divisor: ``steps_per_epoch`` for ``interval: epoch``, else 1 (k = step // divisor).
    """

    spec: Spec
    hparam: str
    node: ir.Node
    divisor: int


def _walk(x: Any) -> Iterator[ir.Node]:
    """Every IR node in a tree (including the nodes held by carried starts)."""
    if isinstance(x, ir.Final):
        yield from _walk(x.node)
    elif isinstance(x, ir.Node):
        yield x
        for f in dataclasses.fields(x):
            yield from _walk(getattr(x, f.name))
    elif isinstance(x, tuple):
        for v in x:
            yield from _walk(v)


def _used_vars(node: ir.Node) -> set[str]:
    out: set[str] = set()

    def visit(x: Any) -> None:
        if isinstance(x, (ir.Var, ir.DVar)):
            out.add(x.name)
        elif isinstance(x, ir.Sum):
            out.update(n for _, n in x.terms)
        elif isinstance(x, ir.Final):
            visit(x.node)
        elif isinstance(x, ir.Node):
            for f in dataclasses.fields(x):
                visit(getattr(x, f.name))
        elif isinstance(x, tuple):
            for v in x:
                visit(v)

    visit(node)
    return out


def resolve(spec: Any, hparam: str, vars: dict | None, target: str) -> Resolved:
    """Load ``spec``, apply ``vars`` and check that ``target`` can run its ``hparam`` schedule.

    Args:
        spec: a :class:`schedspec.Spec`, a path or a dict.
        hparam: the hyperparameter (``"lr"``, ``"momentum"``, ...).
        vars: var values (a member of a sweep, or overrides); sweep vars the schedule uses must be given.
        target: the target's name for messages (``"keras"``, ``"optax"``).

    Raises:
        SpecError: the spec has no such hparam, the schedule uses a sweep var not fixed by ``vars``, it contains a
            metric-driven ``plateau``, or it counts epochs without ``steps_per_epoch``.
    """
    from schedspec.evaluator import _node

    spec = load(spec)
    if vars:
        spec = spec.with_vars(dict(vars))
    program = spec.program
    node = program.hparams.get(hparam)
    if node is None:
        _node(spec, hparam)  # raises: no such hparam (with a did-you-mean)
    doc = spec.doc
    issues: list[Issue] = []

    if any(isinstance(n, ir.Plateau) for n in _walk(node)):
        what = (
            f"by to_{target}: a plateau is driven by metric reports, which a {target} schedule never receives "
            f"(metric-driven schedules are not supported by the {target} adapter yet)"
        )
        issues.extend(spec.unsupported("plateau", what, hparam).issues)

    sweeps = sorted(_used_vars(node) & set(program.sweep_vars))
    for name in sweeps:
        values = ", ".join(str(v) for v in program.vars[name].raw)
        issues.append(
            doc.issue(
                ("vars", name),
                f"`{hparam}` uses the sweep var '{name}' ([{values}]), but a {target} schedule is one run: pick a "
                f"member with vars={{'{name}': ...}} (e.g. to_{target}(spec, vars=spec.program.sweep_members()[0]))",
            )
        )

    divisor = 1
    if program.interval == "epoch":
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
    return Resolved(spec, hparam, bound.hparams[hparam], divisor)


def to_optax(spec: Any, hparam: str = "lr", vars: dict | None = None) -> Callable[[Any], Any]:
    """An optax schedule ``count -> value`` of the spec's ``hparam`` schedule.

    ``schedule(count)`` is the value used by update ``count`` (0-based), the count optax keeps in its optimizer
    state; with ``interval: epoch`` it is ``value(count // steps_per_epoch)``. It is a pure JAX function: it works
    under ``jit``, ``vmap`` and on arrays of counts, in float32 (float64 under ``jax_enable_x64``).

    Args:
        spec: a :class:`schedspec.Spec`, a path to a YAML file, or a dict.
        hparam: which schedule (default ``"lr"``).
        vars: var values; required for sweep vars the schedule uses (one member of the sweep).

    Returns:
        A function of the update count, usable as ``optax.sgd(learning_rate=schedule)``.

    Raises:
        SpecError: see :func:`resolve` (sweep without ``vars``, ``plateau``, epoch without ``steps_per_epoch``).
        MissingDependency: optax is not installed.

    >>> import schedspec
    >>> sched = schedspec.to_optax({"schedspec": 1, "lr": [
    ...     {"kind": "linear", "duration": 10, "start": 0.0, "end": 0.1}, {"kind": "constant", "value": 0.1}]})
    >>> [round(float(sched(k)), 6) for k in (0, 5, 10, 1000)]
    [0.0, 0.05, 0.1, 0.1]
    """
    require("optax", "optax")
    from schedspec.evaluator import to_jax

    res = resolve(spec, hparam, vars, "optax")
    fn = to_jax(res.spec, hparam)
    divisor = res.divisor
    if divisor == 1:

        def schedule(count):
            return fn(count)

    else:
        import jax.numpy as jnp

        def schedule(count):
            return fn(jnp.floor_divide(jnp.asarray(count), divisor))

    schedule.__doc__ = f"schedspec schedule {res.spec.name!r} ({hparam}) as an optax schedule: count -> value"
    schedule.__name__ = "schedspec_schedule"
    return schedule
