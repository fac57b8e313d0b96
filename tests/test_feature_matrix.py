"""Every spec feature x every target: it WORKS (values checked) or it is REFUSED with a positioned SpecError.

A feature a target cannot carry must never be silently ignored (issue 9 §3). Each cell runs the target on a
spec that exercises one feature and decides at run time:

* the target returns values: they must equal the feature's reference (tests/reference.py, an independent pure
  Python evaluator; native torch ``ReduceLROnPlateau`` for a plateau; the framework's own schedule for the
  ``torch.*``/``keras.*``/``optax.*`` kinds), for every hyperparameter, parameter group and sweep member;
* the target raises a :class:`schedspec.SpecError`: every issue must have a line and a column, and the message
  must name the feature and what to use instead; and the cell must not be in ``EXPECTED_WORKS`` (so a
  regression from works to refused fails).

``EXPECTED_WORKS`` is the explicit table of what works today. A cell outside it that starts to work (e.g.
emitted torch modules taking parameter groups) is checked by value, and passes. ``KNOWN_SILENT`` lists the
cells that today neither work nor refuse (a silent drop): they are strict xfails, so fixing one fails the test
until the cell is moved into ``EXPECTED_WORKS``.

Tolerances: float64 paths (evaluate in float64, torch, emitted torch) ``1e-12*peak + 1e-10*|v|``; float32 paths
``1e-6*peak + 1e-5*|v|`` (reference §5).
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from functools import cache

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

import schedspec  # noqa: E402

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import assert_f32, assert_f64, load_module, native_torch
    from .reference import ref_values
except ImportError:
    from helpers import assert_f32, assert_f64, load_module, native_torch
    from reference import ref_values

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":  # pragma: no cover
    pytest.skip("these tests run Keras on the JAX backend", allow_module_level=True)
jnp = jax.numpy

import schedspec.adapters.keras as sk  # noqa: E402
import schedspec.adapters.optax as so  # noqa: E402


# ------------------------------------------------------------------------------------------------ features
@dataclasses.dataclass(frozen=True)
class Feature:
    """A spec exercising one feature, how far to look (``units`` interval units), metric reports for a plateau,
    and the words a refusal must contain: the feature (``names``) and what to use instead (``instead``)."""

    text: str
    units: int
    names: str
    instead: str
    metrics: dict | None = None


PLATEAU_METRICS = [1.0, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]

FEATURES = {
    "groups": Feature(
        "schedspec: 1\ntotal: 40\nlr:\n  - {kind: linear, duration: 10, start: 0.0, end: 0.1}\n"
        "  - {kind: cosine, end: 0.001}\ngroups:\n  backbone: {scale: 0.1}\n"
        "  head:\n    lr: [{kind: constant, value: 0.05, duration: 20}, {kind: constant, value: 0.005}]\n",
        50, r"`groups`", r"use torch .* or optax",
    ),
    "hparam_const": Feature(
        "schedspec: 1\nlr: {kind: cosine, duration: 30, start: 0.1, end: 0.001}\nmomentum: 0.9\n",
        40, r"`momentum`", r"use ",
    ),
    "hparam_sched": Feature(
        "schedspec: 1\nlr: {kind: cosine, duration: 30, start: 0.1, end: 0.001}\nmomentum:\n"
        "  - {kind: cosine, duration: 20, start: 0.95, end: 0.85}\n  - {kind: linear, duration: 20, end: 0.95}\n",
        50, r"`momentum` changes over time", r"use torch or optax",
    ),
    "plateau": Feature(
        "schedspec: 1\ninterval: epoch\nsteps_per_epoch: 2\ntotal: 12\n"
        "lr: {kind: plateau, start: 0.1, monitor: val_loss, patience: 1, factor: 0.5, duration: 12}\n",
        12, r"`plateau`", r"use |inject",
        metrics={"val_loss": PLATEAU_METRICS[:12]},
    ),
    "sweep": Feature(
        "schedspec: 1\nvars:\n  peak: [0.1, 0.2]\nlr:\n  - {kind: linear, duration: 10, start: 0.0, end: $peak}\n"
        "  - {kind: cosine, duration: 30, end: 0.0}\n",
        50, r"sweep var \$peak", r"pick one member with vars=\{'peak': 0.1\}",
    ),
    "epoch": Feature(
        "schedspec: 1\ninterval: epoch\nsteps_per_epoch: 3\ntotal: 20\nlr: {kind: step, start: 0.1, every: 4, gamma: 0.5}\n",
        25, r"interval: epoch", r"add `steps_per_epoch`",
    ),
    "epoch_no_spe": Feature(
        "schedspec: 1\ninterval: epoch\ntotal: 20\nlr: {kind: step, start: 0.1, every: 4, gamma: 0.5}\n",
        25, r"`interval: epoch`", r"add `steps_per_epoch`",
    ),
    "torch_kind": Feature(  # torch's SequentialLR restarts its second scheduler; CosineAnnealingLR up to T_max
        "schedspec: 1\nlr:\n  kind: torch.SequentialLR\n  lr: 0.1\n  schedulers:\n"
        "    - {kind: torch.LinearLR, start_factor: 0.1, total_iters: 5}\n"
        "    - {kind: torch.CosineAnnealingLR, T_max: 30, eta_min: 0.001}\n  milestones: [8]\n",
        38, r"torch\.", r"use ",
    ),
    "keras_kind": Feature(  # decay_steps excludes the warmup; alpha scales warmup_target
        "schedspec: 1\nlr: {kind: keras.CosineDecay, initial_learning_rate: 0.0, decay_steps: 30, "
        "warmup_target: 0.1, warmup_steps: 10, alpha: 0.01}\n",
        50, r"keras\.", r"use ",
    ),
    "optax_kind": Feature(  # decay_steps includes the warmup
        "schedspec: 1\nlr: {kind: optax.warmup_cosine_decay_schedule, init_value: 0.0, peak_value: 0.1, "
        "warmup_steps: 10, decay_steps: 40, end_value: 0.001}\n",
        50, r"optax\.", r"use ",
    ),
    "total": Feature(  # the open last phase runs to `total`
        "schedspec: 1\ntotal: 50\nlr:\n  - {kind: linear, duration: 10, start: 0.0, end: 0.1}\n"
        "  - {kind: cosine, end: 0.001}\n",
        60, r"total", r"use ",
    ),
    "duration_vars": Feature(
        "schedspec: 1\nvars:\n  warmup: 8\n  decay: 30\nlr:\n  - {kind: linear, duration: $warmup, start: 0.0, end: 0.1}\n"
        "  - {kind: cosine, duration: $decay, end: 0.001}\n",
        45, r"\$warmup|\$decay", r"use ",
    ),
}  # fmt: skip

TARGETS = ["evaluate", "to_jax", "to_optax", "optax_inject", "optax_multi_transform", "to_keras", "keras_optimizer",
           "to_torch", "emit_torch", "emit_keras", "emit_optax", "emit_jax"]  # fmt: skip
UNIT_TARGETS = {"evaluate", "to_jax", "to_torch", "emit_torch"}  # k in interval units; the rest count optimizer steps
F64_TARGETS = {"evaluate", "to_torch", "emit_torch"}
F32_REFERENCES = {"keras_kind", "optax_kind"}  # Keras' and optax's own schedules compute in float32

ALL = {(f, t) for f in FEATURES for t in TARGETS}
# Neither works nor refuses today (the emitted torch module scales every param group like group 0): worked on
# with the torch template. A strict xfail: once it works, delete it here and it joins EXPECTED_WORKS.
KNOWN_SILENT = {("groups", "emit_torch"): "emitted torch modules ignore `groups` (issue 9 §3, torch template)"}
EXPECTED_WORKS = ALL - set(KNOWN_SILENT) - {
    # Keras has no parameter groups; a Keras optimizer takes a schedule only for the learning rate
    ("groups", "to_keras"), ("groups", "keras_optimizer"), ("groups", "emit_keras"),
    ("hparam_sched", "keras_optimizer"),
    # torch's emitted module is an LRScheduler: it drives the lr only (a usage error, below)
    ("hparam_const", "emit_torch"), ("hparam_sched", "emit_torch"),
    # a plateau needs state a function of the count cannot hold (use inject/report, or emit --to jax/torch)
    ("plateau", "to_optax"), ("plateau", "emit_keras"), ("plateau", "emit_optax"),
    # one schedule per call: pick a sweep member (checked below for every target)
    ("sweep", "to_optax"), ("sweep", "optax_inject"), ("sweep", "optax_multi_transform"), ("sweep", "to_keras"),
    ("sweep", "keras_optimizer"), ("sweep", "to_torch"), ("sweep", "emit_torch"), ("sweep", "emit_keras"),
    ("sweep", "emit_optax"), ("sweep", "emit_jax"),
    # step-counting targets need steps_per_epoch for an epoch-based spec
    ("epoch_no_spe", "to_optax"), ("epoch_no_spe", "optax_inject"), ("epoch_no_spe", "optax_multi_transform"),
    ("epoch_no_spe", "to_keras"), ("epoch_no_spe", "keras_optimizer"), ("epoch_no_spe", "emit_keras"),
    ("epoch_no_spe", "emit_optax"), ("epoch_no_spe", "emit_jax"),
}  # fmt: skip
# Refused as bad usage (a ValueError naming what to use instead, exit 2 on the command line), not a spec problem.
USAGE = {("hparam_const", "emit_torch"): r"LRScheduler.*emit it for jax or optax",
         ("hparam_sched", "emit_torch"): r"LRScheduler.*emit it for jax or optax"}  # fmt: skip



# ------------------------------------------------------------------------------------------------ references
@cache
def spec_of(feature: str) -> schedspec.Spec:
    return schedspec.loads(FEATURES[feature].text, f"{feature}.yaml")


def data_of(feature: str) -> dict:
    return yaml.safe_load(FEATURES[feature].text)


def keys(spec) -> list[tuple]:
    """(hparam, group) of every schedule a target must carry: each hyperparameter, for the document (None) and
    each parameter group."""
    return [(h, g) for h in spec.program.hparams for g in (None, *spec.program.groups)]


def members(spec) -> list[dict | None]:
    return spec.program.sweep_members() if spec.program.sweep_vars else [None]


def reference(feature: str, member: dict | None = None) -> dict:
    """``{(hparam, group): float64 values at k = 0..units-1}`` from the feature's own reference."""
    f = FEATURES[feature]
    ks = list(range(f.units))
    data = data_of(feature)
    if member:
        data["vars"] = {**data.get("vars", {}), **member}
    if feature == "plateau":
        cfg = {"patience": 1, "factor": 0.5}
        return {("lr", None): np.asarray(native_torch(f.metrics["val_loss"], cfg), np.float64)}
    if feature.endswith("_kind"):
        return {("lr", None): native_kind(feature, f.units)}
    out = {}
    for h, g in keys(spec_of(feature)):
        if g is None:
            out[(h, g)] = np.asarray(ref_values(data, ks, h), np.float64)
            continue
        group = data["groups"][g]
        own = {k: v for k, v in group.items() if k != "scale"}
        values = np.asarray(ref_values({**data, **own}, ks, h), np.float64)
        out[(h, g)] = values * group["scale"] if "scale" in group and h == "lr" else values
    return out


def native_kind(feature: str, n: int) -> np.ndarray:
    """The framework's own schedule at k = 0..n-1 (the lr torch applies before each step, for torch)."""
    if feature == "torch_kind":
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=0.1)
        sch = torch.optim.lr_scheduler
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seq = sch.SequentialLR(opt, [sch.LinearLR(opt, start_factor=0.1, total_iters=5),
                                         sch.CosineAnnealingLR(opt, T_max=30, eta_min=0.001)], milestones=[8])  # fmt: skip
            out = []
            for _ in range(n):
                out.append(opt.param_groups[0]["lr"])
                opt.step()
                seq.step()
        return np.asarray(out)
    k = jnp.arange(n)
    if feature == "keras_kind":
        native = keras.optimizers.schedules.CosineDecay(0.0, 30, alpha=0.01, warmup_target=0.1, warmup_steps=10)
    else:
        native = optax.warmup_cosine_decay_schedule(0.0, 0.1, 10, 40, end_value=0.001)
    return np.asarray(jax.vmap(native)(k), np.float64)


# ------------------------------------------------------------------------------------------------ clocks
def spe_of(spec) -> int:
    return spec.program.steps_per_epoch if spec.program.interval == "epoch" and spec.program.steps_per_epoch else 1


def steps_of(spec, units: int) -> np.ndarray:
    """The optimizer steps a step-counting target is checked at: the first and the last step of each unit."""
    spe = spe_of(spec)
    k = np.arange(units)
    return np.unique(np.concatenate([k * spe, k * spe + spe - 1]))


def report_every(spec) -> int:
    """Optimizer steps per metric report (one report per plateau interval)."""
    sites = [s for h in spec.program.hparams.values() for s in schedspec._metrics.sites(h)]
    return sites[0].every * spe_of(spec) if sites else 0


# ------------------------------------------------------------------------------------------------ runners
# Each runner returns {(hparam, group): values} (for a whole sweep {(hparam, group, member): values}): at
# k = 0..units-1 for UNIT_TARGETS, at steps_of(spec) otherwise. It raises what the target raises.
def run_evaluate(spec, f: Feature, vars, tmp_path):
    out = {}
    for h, g in keys(spec):
        v = schedspec.evaluate(spec, np.arange(f.units), hparam=h, group=g, vars=vars, metrics=f.metrics,
                               dtype="float64")  # fmt: skip
        if v.ndim == 2:  # a sweep: the leading axis runs over the members
            out.update({(h, g, m): row for m, row in enumerate(v)})
        else:
            out[(h, g)] = v
    return out


def run_to_jax(spec, f, vars, tmp_path):
    spec = spec.with_vars(vars) if vars else spec
    out = {}
    k = jnp.arange(f.units)
    for h, g in keys(spec):
        fn = schedspec.to_jax(spec, hparam=h, group=g)
        metrics = {n: jnp.asarray(v) for n, v in (f.metrics or {}).items()}
        if spec.program.sweep_vars:  # the documented way: one vmap over the members
            ms = members(spec)
            args = {n: jnp.asarray([m[n] for m in ms]) for n in spec.program.sweep_vars}
            rows = jax.jit(jax.vmap(lambda a, fn=fn, metrics=metrics: fn(k, metrics=metrics or None, **a)))(args)
            out.update({(h, g, m): np.asarray(r) for m, r in enumerate(rows)})
        else:
            out[(h, g)] = np.asarray(jax.jit(lambda k, fn=fn, metrics=metrics: fn(k, metrics=metrics or None))(k))
    return out


def run_to_optax(spec, f, vars, tmp_path):
    steps = jnp.asarray(steps_of(spec, f.units), jnp.int32)
    return {(h, g): np.asarray(jax.jit(schedspec.to_optax(spec, hparam=h, vars=vars, group=g))(steps))
            for h, g in keys(spec)}  # fmt: skip


def _optax_train(tx, params, labels_of_key, spec, f, steps):
    """Run jitted updates 0..max(steps) with gradient 1 and the metric reports at the end of each report
    interval; return {key: the value each update used}, read from the inject_hyperparams states."""
    state = tx.init(params)
    update = jax.jit(tx.update)
    every = report_every(spec)
    seen = {key: [] for key in labels_of_key}
    for k in range(int(steps.max()) + 1):
        updates, state = update(jax.tree_util.tree_map(jnp.ones_like, params), state, params)
        for key, read in labels_of_key.items():
            seen[key].append(float(read(state)))
        if every and (k + 1) % every == 0:
            for name, values in (f.metrics or {}).items():
                state = so.report(state, name, values[(k + 1) // every - 1])
    return {key: np.asarray(v)[steps] for key, v in seen.items()}


def _arg(h: str) -> str:
    return so.OPTAX_NAMES.get(h, h)


def run_optax_inject(spec, f, vars, tmp_path):
    steps = steps_of(spec, f.units)
    out = {}
    for g in (None, *spec.program.groups):
        tx = so.inject(spec, optax.sgd, vars=vars, group=g)
        read = {(h, g): (lambda s, a=a: s.hyperparams[a]) for h in spec.program.hparams for a in [_arg(h)]}
        out.update(_optax_train(tx, {"w": jnp.zeros(())}, read, spec, f, steps))
    return out


def run_optax_multi_transform(spec, f, vars, tmp_path):
    steps = steps_of(spec, f.units)
    groups = list(spec.program.groups)
    labels = {f"p_{g}": g for g in groups} | {"p_default": "default"}
    tx = so.multi_transform(spec, optax.sgd, labels, vars=vars)
    read = {(h, g): (lambda s, a=a, lab=g or "default": s.inner_states[lab].inner_state.hyperparams[a])
            for h in spec.program.hparams for a in [_arg(h)] for g in (None, *groups)}  # fmt: skip
    return _optax_train(tx, {p: jnp.zeros(()) for p in labels}, read, spec, f, steps)


def _keras_plateau(schedule, f) -> None:
    """Attach to an optimizer and make every report (the values at every step then use the reports made)."""
    if schedule.monitors:
        if schedule._optimizer is None:
            schedule.attach(keras.optimizers.SGD(learning_rate=schedule))
        for name, values in f.metrics.items():
            for v in values:
                schedule.report(name, v)


def run_to_keras(spec, f, vars, tmp_path):
    steps = steps_of(spec, f.units).astype(np.int32)
    out = {}
    for h, g in keys(spec):
        sched = schedspec.to_keras(spec, hparam=h, vars=vars)  # groups: refused (Keras has none)
        _keras_plateau(sched, f)
        out[(h, g)] = np.asarray(sched(steps))
    return out


def run_keras_optimizer(spec, f, vars, tmp_path):
    steps = steps_of(spec, f.units).astype(np.int32)
    opt = sk.optimizer(spec, keras.optimizers.SGD, vars=vars)
    _keras_plateau(opt._learning_rate, f)
    out = {}
    for h, g in keys(spec):
        if h == "lr":
            out[(h, g)] = np.asarray(opt._learning_rate(steps))
        else:  # a constant hyperparameter, passed to the constructor
            out[(h, g)] = np.full(len(steps), float(getattr(opt, sk._KERAS_NAMES.get(h, h))))
    return out


def _torch_run(spec, f, make, hparams_of_group=("lr",)):
    """SGD with one param group per spec group (named) and one unnamed; the scheduler from ``make(opt)``,
    stepped once per interval unit with the plateau's reports; {(hparam, group): values before each update}."""
    groups = list(spec.program.groups)
    ps = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(len(groups) + 1)]
    opt = torch.optim.SGD([{"params": [p], **({"name": g} if g else {})} for p, g in zip(ps, [*groups, None])],
                          lr=0.1, momentum=0.5)  # fmt: skip
    sched = make(opt)
    out = {(h, g): [] for h in hparams_of_group for g in (None, *groups)}
    names = list(f.metrics or {})
    for k in range(f.units):
        for i, g in enumerate([*groups, None]):
            for h in hparams_of_group:
                out[(h, g)].append(opt.param_groups[i][h])
        opt.step()
        for name in names:
            sched.report(name, f.metrics[name][k])
        sched.step()
    return {key: np.asarray(v, np.float64) for key, v in out.items()}


def run_to_torch(spec, f, vars, tmp_path):
    return _torch_run(spec, f, lambda opt: schedspec.to_torch(spec, opt, vars=vars), tuple(spec.program.hparams))


def _emit(spec, target, h, vars, tmp_path):
    return load_module(schedspec.emit(spec, target, hparam=h, vars=vars), tmp_path)


def run_emit_torch(spec, f, vars, tmp_path):
    for h in spec.program.hparams:  # the module is an LRScheduler: another hyperparameter is refused
        if h != "lr":
            schedspec.emit(spec, "torch", hparam=h, vars=vars)
    mod = _emit(spec, "torch", "lr", vars, tmp_path)
    return _torch_run(spec, f, mod.build_scheduler)


def run_emit_keras(spec, f, vars, tmp_path):
    steps = steps_of(spec, f.units).astype(np.int32)
    out = {}
    for h, g in keys(spec):
        out[(h, g)] = np.asarray(_emit(spec, "keras", h, vars, tmp_path).build_schedule()(steps))
    return out


def run_emit_optax(spec, f, vars, tmp_path):
    steps = jnp.asarray(steps_of(spec, f.units), jnp.int32)
    out = {}
    groups = list(spec.program.groups)
    for h in spec.program.hparams:
        mod = _emit(spec, "optax", h, vars, tmp_path)
        for g in (None, *groups):
            sched = mod.build_schedule(g) if groups else mod.build_schedule()
            out[(h, g)] = np.asarray(jax.jit(sched)(steps))
        if groups and h == "lr":  # the labels, as adapters.optax.multi_transform: what sgd applied
            labels = {f"p_{g}": g for g in groups} | {"p_other": "default"}
            tx = mod.build_multi_transform(optax.sgd, labels)
            read = {("applied", g): (lambda s, lab=g or "default": s.inner_states[lab].inner_state.hyperparams["learning_rate"])
                    for g in (None, *groups)}  # fmt: skip
            applied = _optax_train(tx, {p: jnp.zeros(()) for p in labels}, read, spec, f, np.asarray(steps))
            for g in (None, *groups):
                assert_f32(applied[("applied", g)], out[(h, g)], f"emitted build_multi_transform, group {g}")
    return out


def run_emit_jax(spec, f, vars, tmp_path):
    steps = jnp.asarray(steps_of(spec, f.units), jnp.int32)
    out = {}
    for h in spec.program.hparams:
        mod = _emit(spec, "jax", h, vars, tmp_path)
        for g in (None, *spec.program.groups):
            kw = ({"metrics": f.metrics} if f.metrics else {}) | ({"group": g} if spec.program.groups else {})
            out[(h, g)] = np.asarray(mod.schedule(steps, **kw))
    return out


RUNNERS = {t: globals()[f"run_{t}"] for t in TARGETS}


# ------------------------------------------------------------------------------------------------ checks
def check_values(feature: str, target: str, spec, got: dict, member_index=None, member=None) -> None:
    f = FEATURES[feature]
    ref = reference(feature, member)
    expected_keys = {key if member_index is None else (*key, member_index) for key in ref}
    got_keys = {key for key in got if key[0] != "applied"} if member_index is None else set(got)
    assert got_keys >= expected_keys, f"{target} left out {sorted(expected_keys - got_keys, key=str)}"
    spe = spe_of(spec)
    for key, values in ref.items():
        ours = got[key if member_index is None else (*key, member_index)]
        if target not in UNIT_TARGETS:
            values = values[steps_of(spec, f.units) // spe]
        what = f"{feature} x {target}: {key}" + (f" member {member}" if member else "")
        exact = target in F64_TARGETS and feature not in F32_REFERENCES
        (assert_f64 if exact else assert_f32)(ours, values, what)


def check_refusal(feature: str, target: str, err: schedspec.SpecError) -> None:
    f = FEATURES[feature]
    assert err.issues, f"{feature} x {target}: a SpecError without issues"
    for issue in err.issues:
        assert issue.line is not None and issue.col is not None, f"{feature} x {target}: not positioned: {issue}"
        assert issue.file == f"{feature}.yaml"
    text = str(err)
    assert re.search(f.names, text), f"{feature} x {target}: the refusal does not name the feature: {text}"
    assert re.search(f.instead, text), f"{feature} x {target}: the refusal does not say what to use instead: {text}"


def _cells():
    for feature in FEATURES:
        for target in TARGETS:
            marks = []
            if (feature, target) in KNOWN_SILENT:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_SILENT[(feature, target)]))
            yield pytest.param(feature, target, marks=marks, id=f"{feature}-{target}")


@pytest.mark.parametrize("feature, target", list(_cells()))
def test_feature_works_or_is_refused_positioned(feature, target, tmp_path):
    spec = spec_of(feature)
    runner = RUNNERS[target]
    try:
        got = runner(spec, FEATURES[feature], None, tmp_path)
    except schedspec.SpecError as err:
        assert (feature, target) not in EXPECTED_WORKS, f"{feature} x {target} is expected to work: {err}"
        check_refusal(feature, target, err)
    except ValueError as err:
        if (feature, target) not in USAGE:
            raise
        assert re.search(USAGE[(feature, target)], str(err)), str(err)
    else:
        if spec.program.sweep_vars:  # the whole sweep at once (leading axis / vmap)
            for m, member in enumerate(members(spec)):
                check_values(feature, target, spec, got, m, member)
        else:
            check_values(feature, target, spec, got)
    if spec.program.sweep_vars:  # what to use instead of a whole sweep: one member, on every target
        for member in members(spec):
            check_values(feature, target, spec, runner(spec, FEATURES[feature], member, tmp_path), member=member)


def test_the_tables_name_real_cells():
    assert set(RUNNERS) == set(TARGETS)
    for table in (EXPECTED_WORKS, set(USAGE), set(KNOWN_SILENT)):
        assert table <= ALL
    assert not (set(KNOWN_SILENT) & EXPECTED_WORKS) and not (set(USAGE) & EXPECTED_WORKS)
