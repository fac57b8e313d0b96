"""The Optax adapter: a spec as an optax schedule ``count -> value``.

An optax schedule is a plain function of the optimizer's update count (an int32 that starts at 0 and counts the
updates already applied), so update ``k`` uses ``schedule(k)``: exactly schedspec's ``value(k)``. The schedule is
the JAX function of :func:`schedspec.to_jax`; with ``interval: epoch`` it is evaluated at
``count // steps_per_epoch``. Integer arithmetic comes first, so values are exact for every count below ``2**31``
(optax's decay schedules cast the count to float32 first and lose it above ``2**24``).

``optax.MultiSteps`` (gradient accumulation) already calls the schedule with the count of real updates, so no
option is needed for it.

The checks every target shares (one sweep member, no metric-driven phase, ``steps_per_epoch`` for an epoch-based
spec) are :func:`schedspec._target.resolve`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schedspec._errors import require
from schedspec._target import resolve

__all__ = ["to_optax"]


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
        SpecError: see :func:`schedspec._target.resolve` (sweep without ``vars``, ``plateau``, epoch without ``steps_per_epoch``).
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
