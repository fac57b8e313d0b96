"""The Keras 3 adapter: a spec as a serialisable ``keras.optimizers.schedules.LearningRateSchedule``.

A Keras optimizer evaluates ``schedule(iterations)``, its int32 count of completed updates, inside every update, so
update ``k`` uses ``schedule(k)``: exactly schedspec's ``value(k)``. :class:`Schedule` evaluates the resolved IR
with ``keras.ops`` only (the shared formulas of :mod:`schedspec.formulas` on :class:`~schedspec.formulas.KerasXP`),
so it runs on every Keras backend (jax, torch, tensorflow) and inside a jitted train step.

The step is cast to **int32 before anything else**: phase offsets, ``t // every`` and ``t % period`` are integer
operations and floats appear only after them. Keras' own schedules cast the step to float32 first, which rounds
every step above ``2**24`` (``CosineDecayRestarts(first_decay_steps=1000)`` at step 30,000,999 returns the peak
instead of the near-zero end of a cycle).

Time:

- ``interval: epoch``: ``k = step // steps_per_epoch`` (the spec must give ``steps_per_epoch``).
- ``gradient_accumulation_steps=A`` (the same ``A`` as the optimizer's): Keras then calls the schedule with the
  micro-step counter, and real update ``j`` sees step ``(j + 1) * A - 1``; the schedule uses ``step // A = j``.

Serialisation: ``get_config()`` holds the resolved IR of the one schedule as JSON data (vars substituted), not a
path to the spec, so a ``.keras`` file is self-contained. The class is registered as ``"schedspec>Schedule"``
when this module is imported (``schedspec.to_keras`` imports it); to load a saved model in a fresh process, run
``import schedspec.adapters.keras`` first, or pass ``custom_objects={"Schedule": Schedule}``.

The "current" learning rate a Keras optimizer reports (``optimizer.learning_rate``) is ``schedule(iterations)``:
after update ``k`` it is the value of the **next** update, ``k + 1``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from schedspec import _compile, ir
from schedspec._errors import MissingDependency
from schedspec._target import resolve
from schedspec.formulas import KerasXP


def _import_keras():
    try:
        import keras
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] == "keras":
            raise MissingDependency("keras", "keras") from exc
        raise ImportError(
            f"keras is installed, but importing it failed ({exc}). Keras 3 runs on the backend named by the "
            "KERAS_BACKEND environment variable (default 'tensorflow'); set KERAS_BACKEND=jax or KERAS_BACKEND=torch "
            "before keras is first imported"
        ) from exc
    return keras


keras = _import_keras()

__all__ = ["Schedule", "to_keras"]

_FORMAT = 1


def node_from_json(data: Any) -> Any:
    """Rebuild an IR value from :func:`schedspec.ir.to_json` data (of a bound program: no vars).

    Args:
        data: a ``{"kind": ..., field: ...}`` mapping, a list, or a scalar.

    Returns:
        The IR node (lists become tuples).

    Raises:
        ValueError: an unknown kind or field, or a var reference (the IR must be bound).
    """
    if isinstance(data, dict):
        if "kind" not in data:
            raise ValueError(f"not a bound schedspec IR node (vars must be substituted): {data!r}")
        cls = ir.KINDS.get(data["kind"])
        if cls is None:
            raise ValueError(f"unknown schedspec IR kind {data['kind']!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        extra = set(data) - names - {"kind"}
        if extra:
            raise ValueError(f"unknown field(s) {sorted(extra)} for IR kind {data['kind']!r}")
        return cls(**{name: node_from_json(data.get(name)) for name in names})
    if isinstance(data, (list, tuple)):
        return tuple(node_from_json(v) for v in data)
    return data


@keras.saving.register_keras_serializable(package="schedspec")
class Schedule(keras.optimizers.schedules.LearningRateSchedule):
    """A schedspec schedule as a Keras ``LearningRateSchedule``: ``schedule(step)`` is ``value(k)``.

    Build it with :func:`to_keras`; the constructor takes the serialised form (what ``get_config`` returns).

    Args:
        program: the resolved IR of the schedule, as :func:`schedspec.ir.to_json` data (vars substituted).
        hparam: the hyperparameter it came from (informational).
        interval: ``"step"`` or ``"epoch"``.
        steps_per_epoch: needed when ``interval`` is ``"epoch"`` (k = step // steps_per_epoch).
        gradient_accumulation_steps: the optimizer's ``gradient_accumulation_steps`` (k = step // A), or 1.
        name: the spec's name (informational).
        fingerprint: the spec's fingerprint (informational).
        dtype: the float dtype of the values (default ``"float32"``).
        format: the config format version.
    """

    def __init__(
        self,
        program: dict,
        hparam: str = "lr",
        interval: str = "step",
        steps_per_epoch: int | None = None,
        gradient_accumulation_steps: int = 1,
        name: str | None = None,
        fingerprint: str | None = None,
        dtype: str = "float32",
        format: int = _FORMAT,
    ):
        if format != _FORMAT:
            raise ValueError(
                f"unsupported schedspec Keras schedule format {format} (this version reads {_FORMAT})"
            )
        if interval not in ("step", "epoch"):
            raise ValueError(f"interval must be 'step' or 'epoch' (got {interval!r})")
        if interval == "epoch" and not (isinstance(steps_per_epoch, int) and steps_per_epoch >= 1):
            raise ValueError(f"interval 'epoch' needs steps_per_epoch >= 1 (got {steps_per_epoch!r})")
        _check_accumulation(gradient_accumulation_steps)
        self.program = program
        self.hparam = hparam
        self.interval = interval
        self.steps_per_epoch = steps_per_epoch
        self.gradient_accumulation_steps = int(gradient_accumulation_steps or 1)
        self.name = name
        self.fingerprint = fingerprint
        self.dtype = dtype
        self.node = node_from_json(program)
        if any(isinstance(n, ir.Plateau) for n in _nodes(self.node)):
            raise ValueError("a `plateau` schedule is metric-driven and cannot run as a Keras schedule")
        divisor = self.gradient_accumulation_steps * (steps_per_epoch if interval == "epoch" else 1)
        # k < 2**31, so a larger divisor gives the same k // divisor
        self._divisor = min(divisor, ir.MAX_STEPS)
        self._xp = KerasXP(dtype)
        self._fn = _compile.build(self.node, self._xp)

    def __call__(self, step):
        """The value used by the update at optimizer step ``step`` (an int scalar or array)."""
        ops = keras.ops
        k = ops.cast(step, "int32")  # integers first: never round the step through float32
        if self._divisor > 1:
            k = ops.floor_divide(k, self._divisor)
        k = ops.maximum(k, 0)
        return self._xp.out(self._fn(k, {}), k)

    def get_config(self) -> dict:
        """Everything needed to rebuild the schedule (JSON data)."""
        return {
            "program": self.program,
            "hparam": self.hparam,
            "interval": self.interval,
            "steps_per_epoch": self.steps_per_epoch,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
            "name": self.name,
            "fingerprint": self.fingerprint,
            "dtype": self.dtype,
            "format": _FORMAT,
        }

    def __repr__(self) -> str:
        return (
            f"<schedspec.adapters.keras.Schedule {self.name!r} {self.hparam} fingerprint={self.fingerprint}>"
        )


def _nodes(x: Any):
    if isinstance(x, ir.Node):
        yield x
        for f in dataclasses.fields(x):
            yield from _nodes(getattr(x, f.name))
    elif isinstance(x, tuple):
        for v in x:
            yield from _nodes(v)


def _check_accumulation(a: Any) -> None:
    if a is None:
        return
    if isinstance(a, bool) or not isinstance(a, int) or a < 1:
        raise ValueError(f"gradient_accumulation_steps must be an integer >= 1 (got {a!r})")


def to_keras(
    spec: Any,
    hparam: str = "lr",
    vars: dict | None = None,
    gradient_accumulation_steps: int | None = None,
    dtype: str = "float32",
) -> Schedule:
    """A Keras ``LearningRateSchedule`` of the spec's ``hparam`` schedule.

    Update ``k`` (the optimizer's ``iterations``) uses ``value(k)``; with ``interval: epoch``,
    ``value(step // steps_per_epoch)``. Pass the optimizer's ``gradient_accumulation_steps`` too, so that real
    update ``j`` uses ``value(j)`` (Keras calls the schedule with the micro-step count).

    Args:
        spec: a :class:`schedspec.Spec`, a path to a YAML file, or a dict.
        hparam: which schedule (default ``"lr"``).
        vars: var values; required for sweep vars the schedule uses (one member of the sweep).
        gradient_accumulation_steps: the optimizer's ``gradient_accumulation_steps`` (None or 1: none).
        dtype: the float dtype of the values (default ``"float32"``).

    Returns:
        A :class:`Schedule`, e.g. for ``keras.optimizers.SGD(learning_rate=...)``; it survives
        ``model.save(...)``/``keras.models.load_model(...)``.

    Raises:
        SpecError: no such hparam, a sweep var not fixed by ``vars``, a ``plateau`` phase, or an epoch-based spec
            without ``steps_per_epoch``.
        ValueError: a bad ``gradient_accumulation_steps``.

    >>> import schedspec
    >>> sched = schedspec.to_keras({"schedspec": 1, "lr": [
    ...     {"kind": "linear", "duration": 10, "start": 0.0, "end": 0.1}, {"kind": "constant", "value": 0.1}]})
    >>> [round(float(sched(k)), 6) for k in (0, 5, 10, 1000)]
    [0.0, 0.05, 0.1, 0.1]
    """
    _check_accumulation(gradient_accumulation_steps)
    res = resolve(spec, hparam, vars, "keras")
    program = res.spec.program
    return Schedule(
        program=ir.to_json(res.node),
        hparam=hparam,
        interval=program.interval,
        steps_per_epoch=program.steps_per_epoch if program.interval == "epoch" else None,
        gradient_accumulation_steps=gradient_accumulation_steps or 1,
        name=res.spec.name,
        fingerprint=ir.fingerprint(res.spec.bound()),
        dtype=dtype,
    )
