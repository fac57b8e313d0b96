"""The Keras 3 adapter: a spec as a serialisable ``keras.optimizers.schedules.LearningRateSchedule``.

A Keras optimizer evaluates ``schedule(iterations)``, its int32 count of completed updates, inside every update, so
update ``k`` uses ``schedule(k)``: exactly schedspec's ``value(k)``. :class:`Schedule` evaluates the resolved IR
with ``keras.ops`` only (the shared formulas of :mod:`schedspec.formulas` on :class:`~schedspec.backends.KerasXP`),
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

A ``plateau`` keeps its state (the reports and the value after each) in three variables of its optimizer, whose
class becomes a registered subclass (``PlateauAdam`` for ``Adam``, :func:`plateau_optimizer_class`) that creates
them when Keras builds it: a reloaded optimizer has the same variables in the same order as the saved one, so
Keras restores all of them (iterations and moments too) instead of skipping them with a warning.

Keras has no parameter groups: a spec with ``groups`` is refused (a positioned :class:`SpecError`).

The "current" learning rate a Keras optimizer reports (``optimizer.learning_rate``) is ``schedule(iterations)``:
after update ``k`` it is the value of the **next** update, ``k + 1``.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import numpy as np

from schedspec import _compile, _metrics, ir
from schedspec._target import resolve
from schedspec.backends import KerasXP
from schedspec.errors import SpecError, did_you_mean, require_keras
from schedspec.spec import load

keras = require_keras()  # MissingDependency, or an ImportError naming KERAS_BACKEND

__all__ = ["Schedule", "PlateauCallback", "to_keras", "optimizer", "plateau_optimizer_class"]

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
        if set(data) == {"final"}:  # a start carried from a plateau (its final value depends on the reports)
            return ir.Final(node_from_json(data["final"]))
        if "kind" not in data:
            raise ValueError(f"not a bound schedspec IR node (vars must be substituted): {data!r}")
        cls = ir.KINDS.get(data["kind"])
        if cls is None:
            raise ValueError(f"unknown schedspec IR kind {data['kind']!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        extra = set(data) - names - {"kind"}
        if extra:
            raise ValueError(f"unknown field(s) {sorted(extra)} for IR kind {data['kind']!r}")
        return cls(**{name: node_from_json(data[name]) for name in names if name in data})  # omitted: the default
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
        dtype: the float dtype of the values: ``"float32"`` (default), ``"float64"``, ``"float16"`` or
            ``"bfloat16"`` (a ValueError otherwise: an integer dtype would round every value, a rate under 1 to 0).
        format: the config format version.
        max_reports: with a ``plateau``: how many metric reports the optimizer variables hold (at least the
            last report any plateau consumes); see :meth:`attach`.

    A schedule with a ``plateau`` keeps the value after each metric report in two variables that it adds to its
    optimizer (:meth:`attach`; the callback of :meth:`callback` does it in ``model.fit``), because Keras' JAX
    trainer passes only the model's and the optimizer's variables into its jitted train step: any other variable
    read by a schedule is frozen at its value when the step was traced. The reports themselves are host-side
    (``report(name, value)``), and the values are computed with the shared formulas in float64 (as torch does),
    then stored in float32.
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
        max_reports: int | None = None,
    ):
        if format != _FORMAT:
            raise ValueError(
                f"unsupported schedspec Keras schedule format {format} (this version reads {_FORMAT})"
            )
        if interval not in ("step", "epoch"):
            raise ValueError(f"interval must be 'step' or 'epoch' (got {interval!r})")
        if interval == "epoch" and not (
            isinstance(steps_per_epoch, int) and not isinstance(steps_per_epoch, bool) and steps_per_epoch >= 1
        ):
            raise ValueError(f"interval 'epoch' needs steps_per_epoch >= 1 (got {steps_per_epoch!r})")
        _check_accumulation(gradient_accumulation_steps)
        dtype = _check_float_dtype(dtype)
        self.program = program
        self.hparam = hparam
        self.interval = interval
        self.steps_per_epoch = steps_per_epoch
        self.gradient_accumulation_steps = int(gradient_accumulation_steps or 1)
        self.name = name
        self.fingerprint = fingerprint
        self.dtype = dtype
        self.node = node_from_json(program)
        self._sites = _metrics.sites(self.node)
        self.max_reports = None
        self._reports = None
        self._optimizer = None
        self._values_var = self._counts_var = self._reports_var = None
        if self._sites:
            self.max_reports = _capacity(self._sites, max_reports)
            self._reports = _metrics.Reports([self.node])
        # steps per unit of k: accumulation x steps_per_epoch, possibly past int32 (then every step is in unit 0)
        self._divisor = self.gradient_accumulation_steps * (steps_per_epoch if interval == "epoch" else 1)
        self._xp = KerasXP(dtype)
        self._fn = _compile.build(self.node, self._xp)

    def __call__(self, step):
        """The value used by the update at optimizer step ``step`` (an int scalar or array).

        A concrete ``step`` (a Python number or list, a numpy array) is checked as :func:`schedspec.evaluate`
        checks ``k`` (ValueError: not whole, a bool, or outside ``[0, 2**31-1]``); a tensor or variable (the
        optimizer's ``iterations``, a traced step) cannot be checked here."""
        ops = keras.ops
        if isinstance(step, (int, float, bool, str, bytes, list, tuple, np.ndarray, np.generic)):
            step = ir.check_steps(step)
        k = ops.cast(step, "int32")  # integers first: never round the step through float32
        if self._divisor > ir.MAX_STEPS:  # every step k <= 2**31 - 1 is in unit 0 (an int32 cannot hold the divisor)
            k = ops.zeros_like(k)
        elif self._divisor > 1:
            k = ops.floor_divide(k, self._divisor)
        k = ops.maximum(k, 0)
        return self._xp.out(self._fn(k, self._plateau_env()), k)

    # ------------------------------------------------------------------ plateau
    def _plateau_env(self) -> dict:
        if not self._sites:
            return {}
        if self._values_var is None:
            raise RuntimeError(
                f"the schedule {self.name!r} has a `plateau`: attach it to its optimizer first, with "
                "callbacks=[schedule.callback()] in model.fit, or schedule.attach(optimizer) in a custom loop"
            )
        values, counts = self._values_var.value, self._counts_var.value
        return {("trajectory", s.node, s.origin): (values[i], counts[i]) for i, s in enumerate(self._sites)}

    @property
    def monitors(self) -> list[str]:
        """The metrics the schedule's plateaus monitor (empty without a plateau)."""
        return list(self._reports.names) if self._reports is not None else []

    def attach(self, optimizer) -> None:
        """Add the plateau state to ``optimizer`` as three non-trainable optimizer variables (once per optimizer).

        ``schedspec_plateau_values`` (plateaus x ``max_reports + 1``: the value after each report),
        ``schedspec_plateau_counts`` (reports made, per plateau) and ``schedspec_plateau_reports`` (metrics x
        ``max_reports`` x 2 int32: the bits of each float64 report). Being optimizer variables, they are passed
        into the jitted train step, saved with the optimizer and restored with it (``keras.models.load_model``,
        ``load_weights``); the reports are read back from them before the next report, so a restored optimizer
        continues its plateaus exactly.

        The optimizer's class becomes :func:`plateau_optimizer_class` of its class (a registered subclass whose
        ``build`` attaches the schedule), so that a reloaded optimizer has the same variables in the same order
        as the saved one. Its behaviour is otherwise unchanged (``isinstance`` still holds).
        """
        if not self._sites or self._optimizer is optimizer:
            return
        if self._optimizer is not None:
            raise ValueError(
                f"the schedule {self.name!r} is already attached to another optimizer: a plateau's state lives in "
                "its optimizer's variables, so build one schedule per optimizer (schedspec.to_keras again)"
            )
        cls = plateau_optimizer_class(type(optimizer))
        if type(optimizer) is not cls:
            optimizer.__class__ = cls
        n = len(self._sites)
        self._values_var = optimizer.add_variable(
            shape=(n, self.max_reports + 1), initializer="zeros", dtype=self.dtype, name="schedspec_plateau_values"
        )
        self._counts_var = optimizer.add_variable(
            shape=(n,), initializer="zeros", dtype="int32", name="schedspec_plateau_counts"
        )
        self._reports_var = optimizer.add_variable(
            shape=(len(self._reports.names), self.max_reports, 2), initializer="zeros", dtype="int32",
            name="schedspec_plateau_reports",
        )  # fmt: skip
        self._optimizer = optimizer
        self._write()

    def _variables(self) -> list:
        return [v for v in (self._values_var, self._counts_var, self._reports_var) if v is not None]

    def reports_made(self, name: str) -> int:
        """How many reports of metric ``name`` the schedule holds (read from its optimizer's variables)."""
        self._sync()
        return len(self._reports.reports[name])

    def _sync(self) -> None:
        """Read the reports back from the optimizer variables (they may have been restored from a file)."""
        if self._reports_var is None:
            return
        counts = np.asarray(keras.ops.convert_to_numpy(self._counts_var.value))
        bits = np.ascontiguousarray(keras.ops.convert_to_numpy(self._reports_var.value), dtype=np.int32)
        stored = bits.reshape(bits.shape[0], -1).view(np.float64)  # metrics x max_reports
        reports = {}
        for m, name in enumerate(self._reports.names):
            count = int(counts[next(i for i, s in enumerate(self._sites) if s.monitor == name)])
            held = [float(x) for x in stored[m, : min(count, self.max_reports)]]
            # a report past the buffer is consumed by no plateau (max_reports covers them all): a placeholder
            reports[name] = held + [float("nan")] * (count - len(held))
        if not _same_reports(reports, self._reports.reports):
            self._reports.load(reports)

    def report(self, name: str, value: Any) -> None:
        """Record the next report of metric ``name`` (report ``j`` is the metric at the end of interval ``j``)."""
        if self._reports is None:
            raise ValueError(f"the schedule {self.name!r} has no `plateau`, so it takes no metric reports")
        if name not in self._reports.names:
            raise ValueError(
                f"no `plateau` of {self.name!r} monitors {name!r}{did_you_mean(str(name), self._reports.names)} "
                f"(monitored: {', '.join(self._reports.names)})"
            )
        self._sync()
        j = len(self._reports.reports[name])
        for site in self._sites:
            if site.monitor == name and site.stop() is None and j >= self.max_reports:
                raise ValueError(
                    f"report #{j} of {name!r} exceeds max_reports={self.max_reports} of an open-ended plateau: "
                    "build the schedule with a larger max_reports"
                )
        self._reports.add(name, value)
        if self._values_var is not None:
            self._write()

    def _write(self) -> None:
        env = self._reports.env()
        cap = self.max_reports + 1
        values = np.zeros((len(self._sites), cap), dtype=np.float64)
        counts = np.zeros((len(self._sites),), dtype=np.int32)
        for i, site in enumerate(self._sites):
            traj, count = env[("trajectory", site.node, site.origin)]
            traj = list(traj)[:cap]  # entries past the last consumed report all equal the final value
            values[i, : len(traj)] = traj
            values[i, len(traj) :] = traj[-1]
            counts[i] = count
        stored = np.zeros((len(self._reports.names), self.max_reports), dtype=np.float64)
        for m, name in enumerate(self._reports.names):
            held = self._reports.reports[name][: self.max_reports]
            stored[m, : len(held)] = held
        self._values_var.assign(values.astype(self.dtype))
        self._counts_var.assign(counts)
        self._reports_var.assign(stored.view(np.int32).reshape(stored.shape[0], self.max_reports, 2))

    def callback(self) -> PlateauCallback:
        """A Keras callback for ``model.fit`` that attaches the schedule and reports its metrics at each epoch end."""
        return PlateauCallback(self)

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
            **({"max_reports": self.max_reports} if self.max_reports is not None else {}),
        }

    def __repr__(self) -> str:
        return (
            f"<schedspec.adapters.keras.Schedule {self.name!r} {self.hparam} fingerprint={self.fingerprint}>"
        )


def _same_reports(a: dict, b: dict) -> bool:
    """Equal report lists, NaN equal to NaN (a NaN report is a bad report, and a placeholder past the buffer)."""
    if a.keys() != b.keys():
        return False
    return all(len(a[n]) == len(b[n]) and np.array_equal(a[n], b[n], equal_nan=True) for n in a)


def _capacity(sites: list, max_reports: int | None) -> int:
    """Reports the variables hold: every report a plateau consumes (``max_reports`` if given, checked)."""
    stops = [s.stop() for s in sites]
    need = max((x for x in stops if x is not None), default=0)
    if max_reports is None:
        if any(x is None for x in stops):
            raise ValueError(
                "a `plateau` that never ends consumes reports forever: give max_reports (how many metric reports "
                "training makes), or give the plateau a duration or the spec a `total`"
            )
        return max(need, 1)
    if not isinstance(max_reports, int) or isinstance(max_reports, bool) or max_reports < need:
        raise ValueError(f"max_reports must be an int >= {need}, the last report a plateau consumes (got {max_reports!r})")
    return max_reports


class PlateauCallback(keras.callbacks.Callback):
    """Feeds a :class:`Schedule`'s plateaus in ``model.fit``: ``callbacks=[schedule.callback()]``.

    ``set_model`` attaches the schedule to the model's optimizer; ``on_epoch_end`` reads each monitored metric
    from the epoch's logs (``val_loss`` when ``validation_data`` is given, ``loss``, any metric) and reports it
    when that epoch end closes the metric's next report interval (``every``, from k = 0, checked against the
    optimizer's update count): at every epoch for ``every: 1ep``, at every second one for ``every: 2ep`` (with
    ``validation_freq=2``, the epochs Keras validates). An interval that ends inside an epoch, an epoch of
    another length than the spec's, or a metric missing from the logs when its report is due is an error,
    never skipped.

    ``PlateauCallback()`` without a schedule finds it in the model's optimizer when ``fit`` starts: the way to
    continue a model reloaded with ``keras.models.load_model`` (its optimizer holds the plateau state).
    """

    def __init__(self, schedule: Schedule | None = None):
        super().__init__()
        if schedule is not None and not schedule.monitors:
            raise ValueError(f"the schedule {schedule.name!r} has no `plateau`: it needs no callback")
        self.schedule = schedule

    def _find(self, model) -> None:
        if self.schedule is not None:
            return
        sched = getattr(getattr(model, "optimizer", None), "_learning_rate", None)
        if not isinstance(sched, Schedule) or not sched.monitors:
            raise ValueError(
                "PlateauCallback(): the model's optimizer has no schedspec schedule with a `plateau` (its "
                f"learning_rate is {type(sched).__name__}); pass the schedule: schedule.callback()"
            )
        self.schedule = sched

    def set_model(self, model) -> None:
        super().set_model(model)
        if getattr(model, "optimizer", None) is not None:
            self._find(model)
            self.schedule.attach(model.optimizer)

    def on_train_begin(self, logs=None) -> None:
        self._find(self.model)
        self.schedule.attach(self.model.optimizer)

    def on_epoch_end(self, epoch, logs=None) -> None:
        logs = logs or {}
        sched = self.schedule
        iterations = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        unit = "epoch" if sched.interval == "epoch" else "update"
        if iterations % sched._divisor:
            raise ValueError(
                f"epoch {epoch} of fit ended after {iterations} optimizer steps, which is not a whole number of the "
                f"spec's {unit}s ({sched._divisor} steps each: steps_per_epoch x gradient_accumulation_steps): make "
                "fit's steps per epoch match (or report by hand with schedule.report)"
            )
        k = iterations // sched._divisor
        steps = (self.params or {}).get("steps")
        k_next = (iterations + steps) // sched._divisor if steps else None
        for name in sched.monitors:
            j = sched.reports_made(name)
            every = sched._reports.every[name]
            due = (j + 1) * every  # report j is the metric at the end of the spec's interval j
            if k < due and (k_next is None or k_next <= due):
                continue  # this epoch end closes none of the metric's intervals (every is longer than an epoch)
            if k != due:
                raise ValueError(
                    f"report #{j} of {name!r} is the metric at the end of interval {j} of the spec's clock (after "
                    f"{unit} {due - 1}, one report per {every} {unit}{'s' if every != 1 else ''}), but fit's epochs "
                    f"end after {unit}s {k - 1} and {(k_next or k) - 1}: make fit's epochs end where the plateau's "
                    "intervals end (steps per epoch, the plateau's `every`), or report by hand with schedule.report"
                )
            if name not in logs:
                raise ValueError(
                    f"the schedule's plateau monitors {name!r}, which epoch {epoch} did not log (logged: "
                    f"{', '.join(sorted(logs)) or 'nothing'}); e.g. val_loss needs validation_data in fit, and "
                    "validation at this epoch (validation_freq must divide the plateau's `every`)"
                )
            sched.report(name, float(logs[name]))


# ------------------------------------------------------------------------------------------ plateau optimizers
_PLATEAU_CLASSES: dict[type, type] = {}


def plateau_optimizer_class(base: type) -> type:
    """The registered subclass of the Keras optimizer class ``base`` that carries a schedspec plateau.

    Its only difference: ``build`` also attaches the :class:`Schedule` it was given as ``learning_rate``
    (:meth:`Schedule.attach`) and puts the plateau variables last, so the optimizer has the same variables, in
    the same order, whether the schedule was attached before or after the optimizer was built, and when Keras
    rebuilds it while loading a saved model. Without that, Keras would skip loading every optimizer variable
    (iterations and Adam moments included) with only a warning about the variable count.

    The subclasses of Keras' own optimizers (``keras.optimizers.SGD``, ``Adam``, ...) are registered when this
    module is imported, as ``"schedspec>PlateauAdam"`` etc., so ``import schedspec.adapters.keras`` before
    ``keras.models.load_model`` suffices. For an optimizer class of your own, call
    ``plateau_optimizer_class(MyOptimizer)`` before loading (Keras otherwise says it cannot locate the class).
    """
    if getattr(base, "_schedspec_plateau", False):
        return base
    cls = _PLATEAU_CLASSES.get(base)
    if cls is not None:
        return cls

    def build(self, variables):
        base.build(self, variables)
        sched = getattr(self, "_learning_rate", None)
        if isinstance(sched, Schedule) and sched._sites:
            sched.attach(self)
            mine = sched._variables()
            own = self._variables  # Keras' list (its tracker's store): reorder it in place
            own[:] = [v for v in own if not any(v is m for m in mine)] + mine

    public = getattr(keras.optimizers, base.__name__, None) is base
    name = f"Plateau{base.__name__}" if public else f"Plateau{base.__name__}@{base.__module__}"
    cls = type(f"Plateau{base.__name__}", (base,), {
        "build": build, "_schedspec_plateau": True, "__module__": __name__,
        "__doc__": f"{base.__name__} carrying a schedspec plateau (see plateau_optimizer_class).",
    })  # fmt: skip
    keras.saving.register_keras_serializable(package="schedspec", name=name)(cls)
    _PLATEAU_CLASSES[base] = cls
    return cls


def _register_builtin_optimizers() -> None:

    for obj in list(vars(keras.optimizers).values()):
        if (inspect.isclass(obj) and issubclass(obj, keras.optimizers.Optimizer) and obj is not keras.optimizers.Optimizer
                and obj.__name__ not in ("LossScaleOptimizer", "MultiOptimizer")):  # fmt: skip
            plateau_optimizer_class(obj)


_register_builtin_optimizers()


_FLOAT_DTYPES = ("float32", "float64", "float16", "bfloat16")


def _check_float_dtype(dtype: Any) -> str:
    """``dtype`` as Keras names it (``keras.backend.standardize_dtype``: ``np.float32`` is ``"float32"``), one of
    the float dtypes; a ValueError otherwise (None too: it is Keras' ``floatx()``, never guessed here)."""
    import keras

    try:
        name = None if dtype is None else keras.backend.standardize_dtype(dtype)
    except (ValueError, TypeError):  # keras' "Invalid dtype"
        name = None
    if name not in _FLOAT_DTYPES:
        raise ValueError(f"dtype must be a float dtype, one of {', '.join(_FLOAT_DTYPES)} (got {name or dtype!r})")
    return name


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
    max_reports: int | None = None,
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
        dtype: the float dtype of the values: ``"float32"`` (default), ``"float64"``, ``"float16"`` or
            ``"bfloat16"``; any other is a ValueError.
        max_reports: with a ``plateau`` that never ends: how many metric reports its variables hold.

    A spec with a ``plateau`` needs its metric reports: pass ``callbacks=[schedule.callback()]`` to
    ``model.fit`` (one report per epoch, read from the logs), or call ``schedule.attach(optimizer)`` once and
    ``schedule.report(name, value)`` at the end of each interval in a custom loop. Keras' own
    ``ReduceLROnPlateau`` callback cannot drive a schedule (it sets the lr, which raises on a schedule). The
    plateau's state lives in its optimizer's variables, so ``model.save``/``keras.models.load_model`` (and
    ``save_weights``/``load_weights``) keep it with the iterations and the optimizer's moments; continue a
    reloaded model with ``callbacks=[schedspec.adapters.keras.PlateauCallback()]`` (see
    :func:`plateau_optimizer_class`).

    Returns:
        A :class:`Schedule`, e.g. for ``keras.optimizers.SGD(learning_rate=...)``; it survives
        ``model.save(...)``/``keras.models.load_model(...)``.

    Raises:
        SpecError: no such hparam, a sweep var not fixed by ``vars``, an epoch-based spec without
            ``steps_per_epoch``, parameter ``groups`` (a Keras optimizer has none: use torch or optax), or a
            ``plateau`` that never ends in a spec without ``total`` and no ``max_reports`` (each positioned).
        ValueError: a bad ``gradient_accumulation_steps``.

    >>> import schedspec
    >>> sched = schedspec.to_keras({"schedspec": 1, "lr": [
    ...     {"kind": "linear", "duration": 10, "start": 0.0, "end": 0.1}, {"kind": "constant", "value": 0.1}]})
    >>> [round(float(sched(k)), 6) for k in (0, 5, 10, 1000)]
    [0.0, 0.05, 0.1, 0.1]
    """
    _check_accumulation(gradient_accumulation_steps)
    res = resolve(spec, hparam, vars, "keras", metrics_ok=True, groups_ok=False)
    program = res.spec.program
    if max_reports is None:
        issues = _metrics.open_ended_issues(res.spec.doc, {res.hparam: res.node},
                                            "to_keras cannot size the optimizer variables that hold them",
                                            "to_keras(..., max_reports=N)")  # fmt: skip
        if issues:
            raise SpecError(issues)
    return Schedule(
        program=ir.to_json(res.node),
        hparam=hparam,
        interval=program.interval,
        steps_per_epoch=program.steps_per_epoch if program.interval == "epoch" else None,
        gradient_accumulation_steps=gradient_accumulation_steps or 1,
        name=res.spec.name,
        fingerprint=ir.fingerprint(res.spec.bound()),
        dtype=dtype,
        max_reports=max_reports,
    )


# Keras' names of the hyperparameters a spec may schedule (any other name is passed as written).
_KERAS_NAMES = {"lr": "learning_rate", "beta1": "beta_1", "beta2": "beta_2", "eps": "epsilon"}


def optimizer(spec: Any, optimizer_cls: Any, *, vars: dict | None = None, gradient_accumulation_steps: int | None = None,
              max_reports: int | None = None, **kwargs: Any):  # fmt: skip
    """A Keras optimizer of class ``optimizer_cls`` whose learning rate is the spec's ``lr`` schedule.

    Keras takes a schedule only for ``learning_rate``; its other hyperparameters are Python numbers fixed when
    the train step is traced. So every other hyperparameter of the spec (``momentum``, ``weight_decay``,
    ``beta1`` -> ``beta_1``, ``beta2`` -> ``beta_2``, ``eps`` -> ``epsilon``) must be a constant, which is passed
    to the constructor; one that changes over time, one the optimizer does not take, or a spec with ``groups``
    is a :class:`SpecError`, never silently dropped.

    Args:
        spec: a :class:`schedspec.Spec`, a path or a dict.
        optimizer_cls: e.g. ``keras.optimizers.SGD``.
        vars: var values (one sweep member).
        gradient_accumulation_steps: passed to the optimizer and to the schedule.
        max_reports: see :func:`to_keras`.
        **kwargs: further constructor arguments (they may not repeat a scheduled hyperparameter).

    Returns:
        The optimizer. With a ``plateau`` it is of the class :func:`plateau_optimizer_class` gives and the
        :class:`Schedule` is already attached to it (so ``optimizer.learning_rate``, the lr of the next update,
        can be read before ``fit``); pass ``callbacks=[schedspec.adapters.keras.PlateauCallback()]`` to
        ``model.fit``: it finds the schedule in the model's optimizer and reports each epoch's metric from the
        logs (``val_loss`` with ``validation_data``, ``loss``, any metric). (``optimizer.learning_rate`` is a value,
        not the schedule: Keras evaluates a schedule when it is read.)
    """

    spec = load(spec)
    if vars:
        spec = spec.with_vars(dict(vars))
    entry = "schedspec.adapters.keras.optimizer"
    resolve(spec, "lr", None, "keras", metrics_ok=True, groups_ok=False, entry=entry)  # groups: refused
    accepted = set(inspect.signature(optimizer_cls.__init__).parameters) - {"self", "args", "kwargs"}
    issues, args = [], {}
    for name in spec.program.hparams:
        if name == "lr":
            continue
        kw = _KERAS_NAMES.get(name, name)
        path = (name,)
        if kw not in accepted:
            issues.append(spec.doc.issue(path, f"`{name}`: {optimizer_cls.__name__} has no argument '{kw}' "
                                               f"(it takes: {', '.join(sorted(accepted))})", key=True))  # fmt: skip
            continue
        try:
            node = resolve(spec, name, None, "keras", entry=entry).node
        except SpecError as exc:  # a sweep var not fixed by vars: reported with the others
            issues.extend(exc.issues)
            continue
        if not isinstance(node, ir.Constant):
            issues.append(spec.doc.issue(path, f"`{name}` changes over time, but Keras optimizers take a schedule "
                                               "only for the learning rate (the others are constants traced into "
                                               "the train step); use torch or optax for this spec", key=True))  # fmt: skip
            continue
        if kw in kwargs:
            issues.append(spec.doc.issue(path, f"`{name}` is set by the spec; do not also pass {kw}=", key=True))
            continue
        args[kw] = float(node.value)
    if issues:
        raise SpecError(issues)
    schedule = to_keras(spec, gradient_accumulation_steps=gradient_accumulation_steps, max_reports=max_reports)
    if gradient_accumulation_steps:
        kwargs["gradient_accumulation_steps"] = gradient_accumulation_steps
    if schedule.monitors:  # the plateau state lives in the optimizer: build the class that saves and reloads it
        optimizer_cls = plateau_optimizer_class(optimizer_cls)
    opt = optimizer_cls(learning_rate=schedule, **args, **kwargs)
    if schedule.monitors:
        schedule.attach(opt)  # its variables exist now: optimizer.learning_rate can be read before fit
    return opt
