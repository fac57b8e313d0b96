"""Every target of a spec, run the way a user runs it, returning the values it gives or applies.

Shared by tests/test_feature_matrix.py (feature x target) and tests/test_examples_targets.py (example x target).
A runner ``run_<target>(spec, check, vars, tmp_path)`` returns ``{key: (xs, values)}`` for every schedule the
target must carry, ``key = (hparam, group)`` (``group`` None: the document's schedule), or ``(hparam, group,
member)`` when it takes a whole sweep at once; ``xs`` are interval units for ``UNIT_TARGETS`` and optimizer
steps for the others (see :func:`to_units`). It raises whatever the target raises: a refusal is the caller's to
judge. Nothing here compares values.

Targets: runtime ``evaluate``, ``to_jax``, ``to_optax``, ``optax_inject`` (``adapters.optax.inject``),
``optax_multi_transform``, ``to_keras``, ``keras_optimizer`` (``adapters.keras.optimizer``), ``to_torch``; emitted
``emit_torch``, ``emit_keras``, ``emit_optax``, ``emit_jax`` (``schedspec.emit``, the module imported). The
emitted optax module of a spec with groups also returns ``("applied", "lr", group)``: the lr each group's
update used under its ``build_multi_transform``.
Stateful targets (the optax optimizers, torch) are stepped update by update, with the metric reports of a
plateau at the end of each report interval, up to ``check.loop`` interval units.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import warnings
from collections.abc import Callable

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import torch  # noqa: E402

import schedspec  # noqa: E402
import schedspec.adapters.keras as sk  # noqa: E402
import schedspec.adapters.optax as so  # noqa: E402
from schedspec import _metrics  # noqa: E402

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import load_module
except ImportError:
    from helpers import load_module

jnp = jax.numpy

TARGETS = ["evaluate", "to_jax", "to_optax", "optax_inject", "optax_multi_transform", "to_keras", "keras_optimizer",
           "to_torch", "emit_torch", "emit_keras", "emit_optax", "emit_jax"]  # fmt: skip
UNIT_TARGETS = {"evaluate", "to_jax", "to_torch", "emit_torch"}  # k in interval units; the rest count optimizer steps
F64_TARGETS = {"evaluate", "to_torch", "emit_torch"}  # float64 paths; the rest compute in float32


@dataclasses.dataclass(frozen=True)
class Check:
    """What to run a spec's targets on.

    Attributes:
        units: the interval units (k) to look at (sorted, unique).
        loop: how many interval units the stateful targets step through (they are checked at ``units < loop``).
        metrics: a plateau's reports, ``{name: [report 0, 1, ...]}`` (enough for ``units``).
        optax_fn: the optax optimizer factory for inject/multi_transform (it must take the spec's hyperparameters).
        keras_cls: the Keras optimizer class for ``adapters.keras.optimizer``.
        torch_lr_only: emitted torch is checked for ``lr`` only (an LRScheduler); else another hyperparameter
            makes it raise (emit refuses it), as a feature matrix wants.
    """

    units: np.ndarray
    loop: int
    metrics: dict | None = None
    optax_fn: Callable = optax.sgd
    keras_cls: type = keras.optimizers.SGD
    torch_lr_only: bool = False


def keys(spec) -> list[tuple]:
    """(hparam, group) of every schedule a target must carry."""
    return [(h, g) for h in spec.program.hparams for g in (None, *spec.program.groups)]


def members(spec) -> list[dict]:
    return spec.program.sweep_members()


def spe_of(spec) -> int:
    """Optimizer steps per interval unit (1 for ``interval: step`` or without ``steps_per_epoch``)."""
    program = spec.program
    return program.steps_per_epoch if program.interval == "epoch" and program.steps_per_epoch else 1


def steps_of(spec, units: np.ndarray) -> np.ndarray:
    """The optimizer steps a step-counting target is checked at: the first and the last step of each unit."""
    spe = spe_of(spec)
    units = np.asarray(units, np.int64)
    steps = np.unique(np.concatenate([units * spe, units * spe + spe - 1]))
    return steps[steps < 2**31]


def to_units(spec, target: str, xs: np.ndarray) -> np.ndarray:
    """The interval units of the ``xs`` a runner of ``target`` returned values at."""
    return np.asarray(xs) if target in UNIT_TARGETS else np.asarray(xs) // spe_of(spec)


def report_every(spec) -> int:
    """Optimizer steps per metric report (one report per plateau interval), 0 without a plateau."""
    nodes = [*spec.program.hparams.values(), *(n for g in spec.program.groups.values() for n in g.values())]
    sites = [s for n in nodes for s in _metrics.sites(n)]
    return sites[0].every * spe_of(spec) if sites else 0


def _arg(h: str) -> str:
    return so.OPTAX_NAMES.get(h, h)


# ------------------------------------------------------------------------------------------------ runners
def run_evaluate(spec, check: Check, vars, tmp_path):
    out = {}
    for h, g in keys(spec):
        v = schedspec.evaluate(spec, check.units, hparam=h, group=g, vars=vars, metrics=check.metrics, dtype="float64")
        if v.ndim == 2:  # a sweep: the leading axis runs over the members
            out.update({(h, g, m): (check.units, row) for m, row in enumerate(v)})
        else:
            out[(h, g)] = (check.units, v)
    return out


def run_to_jax(spec, check, vars, tmp_path):
    spec = spec.with_vars(vars) if vars else spec
    out = {}
    k = jnp.asarray(check.units)
    metrics = {n: jnp.asarray(v) for n, v in (check.metrics or {}).items()} or None
    for h, g in keys(spec):
        fn = schedspec.to_jax(spec, hparam=h, group=g)
        if spec.program.sweep_vars:  # the documented way: one vmap over the members
            ms = members(spec)
            args = {n: jnp.asarray([m[n] for m in ms]) for n in spec.program.sweep_vars}
            rows = jax.jit(jax.vmap(lambda a, fn=fn: fn(k, metrics=metrics, **a)))(args)
            out.update({(h, g, m): (check.units, np.asarray(r)) for m, r in enumerate(rows)})
        else:
            out[(h, g)] = (check.units, np.asarray(jax.jit(lambda k, fn=fn: fn(k, metrics=metrics))(k)))
    return out


def run_to_optax(spec, check, vars, tmp_path):
    steps = steps_of(spec, check.units)
    k = jnp.asarray(steps, jnp.int32)
    return {(h, g): (steps, np.asarray(jax.jit(schedspec.to_optax(spec, hparam=h, vars=vars, group=g))(k)))
            for h, g in keys(spec)}  # fmt: skip


def monitors_of(spec, group=None) -> set:
    """The metrics the plateaus of the document's schedules (``group`` None) or of a group's schedules monitor."""
    program = spec.program
    nodes = program.hparams if group is None else {**program.hparams, **program.groups[group]}
    return {s.node.monitor for n in nodes.values() for s in _metrics.sites(n)}


def _optax_train(tx, params, reads: dict, spec, check, monitors=None) -> dict:
    """Jitted updates 0..(last step before ``check.loop``) with gradient 1 and the metric reports at the end of
    each report interval (of the metrics in ``monitors``; None: all); ``{key: (steps, the value each update
    used)}`` read from the inject_hyperparams states."""
    steps = steps_of(spec, check.units[check.units < check.loop])
    state = tx.init(params)
    every = report_every(spec)
    grads = jax.tree_util.tree_map(jnp.ones_like, params)
    names = [name for name in (check.metrics or {}) if monitors is None or name in monitors]

    @jax.jit
    def update(state):
        _, state = tx.update(grads, state, params)
        return state, [read(state) for read in reads.values()]

    @jax.jit
    def report(state, values):
        for name, v in zip(names, values):
            state = so.report(state, name, v)
        return state

    seen = []
    for k in range(int(steps.max()) + 1 if steps.size else 0):
        state, used = update(state)
        seen.append(used)  # device values: read back once at the end
        if every and names and (k + 1) % every == 0:
            state = report(state, [check.metrics[n][(k + 1) // every - 1] for n in names])
    columns = np.asarray(jax.device_get(seen), np.float64).reshape(len(seen), len(reads)) if seen else None
    return {key: (steps, columns[steps, i] if seen else np.zeros(0)) for i, key in enumerate(reads)}


def run_optax_inject(spec, check, vars, tmp_path):
    out = {}
    for g in (None, *spec.program.groups):
        tx = so.inject(spec, check.optax_fn, vars=vars, group=g)
        reads = {(h, g): (lambda s, a=a: s.hyperparams[a]) for h in spec.program.hparams for a in [_arg(h)]}
        out.update(_optax_train(tx, {"w": jnp.zeros(())}, reads, spec, check, monitors_of(spec, g)))
    return out


def _multi_reads(spec, groups, read_state):
    return {(h, g): (lambda s, a=a, lab=g or "default": read_state(s, lab)[a])
            for h in spec.program.hparams for a in [_arg(h)] for g in (None, *groups)}  # fmt: skip


def run_optax_multi_transform(spec, check, vars, tmp_path):
    groups = list(spec.program.groups)
    labels = {f"p_{g}": g for g in groups} | {"p_default": "default"}
    tx = so.multi_transform(spec, check.optax_fn, labels, vars=vars)
    reads = _multi_reads(spec, groups, lambda s, lab: s.inner_states[lab].inner_state.hyperparams)
    return _optax_train(tx, {p: jnp.zeros(()) for p in labels}, reads, spec, check)


def _keras_reports(schedule, check) -> None:
    """Attach to an optimizer and make every report (the values at every step then use the reports made)."""
    if schedule.monitors:
        if schedule._optimizer is None:
            schedule.attach(keras.optimizers.SGD(learning_rate=schedule))
        for name, values in check.metrics.items():
            for v in values[: schedule.max_reports]:
                schedule.report(name, v)


def run_to_keras(spec, check, vars, tmp_path):
    steps = steps_of(spec, check.units)
    out = {}
    for h, g in keys(spec):
        sched = schedspec.to_keras(spec, hparam=h, vars=vars)  # groups: refused (Keras has none)
        _keras_reports(sched, check)
        out[(h, g)] = (steps, np.asarray(sched(steps.astype(np.int32))))
    return out


def run_keras_optimizer(spec, check, vars, tmp_path):
    steps = steps_of(spec, check.units)
    opt = sk.optimizer(spec, check.keras_cls, vars=vars)
    _keras_reports(opt._learning_rate, check)
    out = {}
    for h, g in keys(spec):
        if h == "lr":
            out[(h, g)] = (steps, np.asarray(opt._learning_rate(steps.astype(np.int32))))
        else:  # a constant hyperparameter, passed to the constructor
            out[(h, g)] = (steps, np.full(len(steps), float(getattr(opt, sk._KERAS_NAMES.get(h, h)))))
    return out


def _torch_run(spec, check, make, hparams=("lr",)) -> dict:
    """SGD with one param group per spec group (named) and one unnamed; the scheduler ``make(opt)``, stepped once
    per interval unit up to ``check.loop`` with the plateau's reports; the values in the param groups before each
    update, and ``("applied", "lr", group)``: the lr each update applied, measured from the parameter's change
    (reset to 0 with gradient 1 before the update, so weight decay adds nothing and the change is ``-lr`` times
    the momentum buffer)."""
    groups = list(spec.program.groups)
    ps = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(len(groups) + 1)]
    opt = torch.optim.SGD([{"params": [p], **({"name": g} if g else {})} for p, g in zip(ps, [*groups, None])],
                          lr=0.1, momentum=0.5, weight_decay=0.5)  # fmt: skip
    sched = make(opt)
    torch_name = {"beta1": ("betas", 0), "beta2": ("betas", 1)}
    seen = {(h, g): [] for h in hparams for g in (None, *groups)}
    seen.update({("applied", "lr", g): [] for g in (None, *groups)})
    every = report_every(spec) // spe_of(spec)  # torch is stepped once per interval unit
    units = check.units[check.units < check.loop]
    for k in range(int(units.max()) + 1 if units.size else 0):
        for i, g in enumerate([*groups, None]):
            for h in hparams:
                key, idx = torch_name.get(h, (h, None))
                v = opt.param_groups[i][key]
                seen[(h, g)].append(v if idx is None else v[idx])
        for p in ps:
            with torch.no_grad():
                p.zero_()
            p.grad = torch.ones_like(p)
        opt.step()
        for i, (p, g) in enumerate(zip(ps, [*groups, None])):
            buf = opt.state[p].get("momentum_buffer") if opt.param_groups[i]["momentum"] != 0 else None
            seen[("applied", "lr", g)].append(-float(p.detach()) / (float(buf) if buf is not None else 1.0))
        if every and (k + 1) % every == 0:
            for name, values in (check.metrics or {}).items():
                sched.report(name, values[(k + 1) // every - 1])
        sched.step()
    return {key: (units, np.asarray(v, np.float64)[units]) for key, v in seen.items()}


def run_to_torch(spec, check, vars, tmp_path):
    return _torch_run(spec, check, lambda opt: schedspec.to_torch(spec, opt, vars=vars), tuple(spec.program.hparams))


def _emit(spec, target, h, vars, tmp_path):
    return load_module(schedspec.emit(spec, target, hparam=h, vars=vars), tmp_path)


def run_emit_torch(spec, check, vars, tmp_path):
    if not check.torch_lr_only:
        for h in spec.program.hparams:  # the module is an LRScheduler: emit refuses another hyperparameter
            if h != "lr":
                schedspec.emit(spec, "torch", hparam=h, vars=vars)
    mod = _emit(spec, "torch", "lr", vars, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a native torch scheduler warns about its own deprecated arguments
        return _torch_run(spec, check, mod.build_scheduler)


def run_emit_keras(spec, check, vars, tmp_path):
    steps = steps_of(spec, check.units)
    return {(h, g): (steps, np.asarray(_emit(spec, "keras", h, vars, tmp_path).build_schedule()(steps.astype(np.int32))))
            for h, g in keys(spec)}  # fmt: skip


def run_emit_optax(spec, check, vars, tmp_path):
    steps = steps_of(spec, check.units)
    k = jnp.asarray(steps, jnp.int32)
    out = {}
    groups = list(spec.program.groups)
    for h in spec.program.hparams:
        mod = _emit(spec, "optax", h, vars, tmp_path)
        for g in (None, *groups):
            sched = mod.build_schedule(g) if groups else mod.build_schedule()
            out[(h, g)] = (steps, np.asarray(jax.jit(sched)(k)))
        if groups and h == "lr":  # the labels, as adapters.optax.multi_transform: what each group's update used
            labels = {f"p_{g}": g for g in groups} | {"p_other": "default"}
            tx = mod.build_multi_transform(optax.sgd, labels)
            reads = _multi_reads(spec, groups, lambda s, lab: s.inner_states[lab].inner_state.hyperparams)
            reads = {("applied", *key): r for key, r in reads.items() if key[0] == "lr"}
            out.update(_optax_train(tx, {p: jnp.zeros(()) for p in labels}, reads, spec, check))
    return out


def run_emit_jax(spec, check, vars, tmp_path):
    steps = steps_of(spec, check.units)
    k = jnp.asarray(steps, jnp.int32)
    out = {}
    for h in spec.program.hparams:
        mod = _emit(spec, "jax", h, vars, tmp_path)
        for g in (None, *spec.program.groups):
            takes = inspect.signature(mod.schedule).parameters  # metrics: with a plateau; group: with groups
            kw = ({"metrics": check.metrics} if "metrics" in takes else {}) | ({"group": g} if "group" in takes else {})
            out[(h, g)] = (steps, np.asarray(mod.schedule(k, **kw)))
    return out


RUNNERS = {t: globals()[f"run_{t}"] for t in TARGETS}


def check_refusal_positioned(err: schedspec.SpecError, file: str | None = None) -> None:
    """Every issue of a refusal has a line and a column (and is in ``file``)."""
    assert err.issues, "a SpecError without issues"
    for issue in err.issues:
        assert issue.line is not None and issue.col is not None, f"not positioned: {issue}"
        if file is not None:
            assert issue.file == file, (issue.file, file)
