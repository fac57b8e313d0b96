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
``1e-6*peak + 1e-5*|v|`` (docs/language.md, Parity).
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
    from .helpers import assert_f32, assert_f64, native_torch
    from .reference import ref_values
except ImportError:
    from helpers import assert_f32, assert_f64, native_torch
    from reference import ref_values

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":  # pragma: no cover
    pytest.skip("these tests run Keras on the JAX backend", allow_module_level=True)
jnp = jax.numpy

try:
    from .targets import (
        F64_TARGETS,
        RUNNERS,
        TARGETS,
        Check,
        check_refusal_positioned,
        keys,
        members,
        to_units,
    )
except ImportError:
    from targets import (
        F64_TARGETS,
        RUNNERS,
        TARGETS,
        Check,
        check_refusal_positioned,
        keys,
        members,
        to_units,
    )


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
    # issue 11's neutral extensions: every target carries them (boundaries b-1, b, b+1 are inside `units`)
    "inverse_sqrt_shift": Feature(  # HF get_inverse_sqrt_schedule: sqrt(ts / (k - W + ts)) after the warmup
        "schedspec: 1\nlr:\n  - {kind: linear, duration: 8, start: 0.0, end: 0.1}\n"
        "  - {kind: inverse_sqrt, timescale: 5, shift: 5}\n",
        40, r"inverse_sqrt|shift", r"use ",
    ),
    "warp_1sqrt": Feature(  # the 1-sqrt decay of WSD recipes: linear with warp 0.5; a warped cosine and polynomial
        "schedspec: 1\nlr:\n  - {kind: linear, duration: 5, start: 0.0, end: 0.1}\n  - {kind: constant, duration: 5}\n"
        "  - {kind: linear, duration: 12, end: 0.001, warp: 0.5}\n  - {kind: cosine, duration: 10, start: 0.1, end: 0.01, warp: 1.5}\n"
        "  - {kind: polynomial, duration: 10, end: 0.0, power: 2, warp: 0.7}\n",
        55, r"warp", r"use ",
    ),
    "tanh": Feature(  # timm TanhLRScheduler: the curve for t < T, then `end`
        "schedspec: 1\nlr:\n  - {kind: linear, duration: 4, start: 0.0, end: 0.1}\n"
        "  - {kind: tanh, duration: 20, start: 0.1, end: 0.001, lb: -6, ub: 4}\n  - {kind: constant, value: 0.002}\n",
        32, r"tanh", r"use ",
    ),
    "repeat_real_period": Feature(  # HF cosine, num_cycles 1.5 after a warmup of 4 (N = 30): a period of 26/1.5 =
        # 52/3 steps (restarts of the inner halves at 26/3, 52/3, 26, ...: real boundaries), and a restart schedule
        # with a real period, a decay and `times`, then held
        "schedspec: 1\nlr:\n  - {kind: linear, duration: 4, start: 0.0, end: 0.1}\n"
        "  - kind: repeat\n    period: '26/1.5'\n    duration: 40\n"
        "    of: [{kind: cosine, start: 0.1, end: 0.0, duration: 1}, {kind: cosine, start: 0.0, end: 0.1, duration: 1}]\n"
        "  - {kind: repeat, period: '20/3', times: 4, decay: 0.5, of: {kind: cosine, start: 0.1, end: 0.01, duration: 5}}\n"
        "  - {kind: constant, value: 0.002}\n",
        80, r"period|repeat", r"use ",
    ),
    "repeat_shift": Feature(  # HF cosine_warmup_with_min_lr with W = 0: the wave's phase 0 one step before k = 0
        "schedspec: 1\nlr:\n  - kind: repeat\n    shift: 1\n    duration: 30\n"
        "    of: [{kind: cosine, start: 0.1, end: 0.01, duration: 12}, {kind: cosine, start: 0.01, end: 0.1, duration: 12}]\n"
        "  - {kind: repeat, shift: 3, period: '7/2', times: 5, of: {kind: linear, start: 0.05, end: 0.0, duration: 2}}\n",
        50, r"shift|repeat", r"use ",
    ),
    "tokens": Feature(  # a 300B-token cosine: 60 steps of 5e9 tokens; durations in tokens resolve to whole steps
        "schedspec: 1\ntokens_per_step: 5000000000\ntotal: 300e9tok\nlr:\n"
        "  - {kind: linear, duration: 50e9tok, start: 0.0, end: 0.1}\n  - {kind: cosine, end: 0.001}\n",
        70, r"tok", r"use ",
    ),
}  # fmt: skip

F32_REFERENCES = {"keras_kind", "optax_kind"}  # Keras' and optax's own schedules compute in float32

ALL = {(f, t) for f in FEATURES for t in TARGETS}
# Neither works nor refuses today (the emitted torch module scales every param group like group 0): worked on
# with the torch template. A strict xfail: once it works, delete it here and it joins EXPECTED_WORKS.
KNOWN_SILENT: dict = {}  # (feature, target) pairs that silently misbehave, as strict xfails; none today
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


# ------------------------------------------------------------------------------------------------ checks
def check(feature: str) -> Check:
    f = FEATURES[feature]
    return Check(units=np.arange(f.units), loop=f.units, metrics=f.metrics)


def check_values(feature: str, target: str, spec, got: dict, member_index=None, member=None) -> None:
    """The values of every (hparam, group) equal the feature's reference (the key with ``member_index`` for a
    whole sweep); nothing the reference has may be missing."""
    ref = reference(feature, member)
    wanted = {key if member_index is None else (*key, member_index): key for key in ref}
    assert set(got) >= set(wanted), f"{feature} x {target} left out {sorted(set(wanted) - set(got), key=str)}"
    extra = {key: key[1:] for key in got if key[0] == "applied"}  # what an optimizer applied, per group
    for key, ref_key in {**wanted, **extra}.items():
        xs, ours = got[key]
        values = ref[ref_key][to_units(spec, target, xs)]
        what = f"{feature} x {target}: {key}" + (f" member {member}" if member else "")
        exact = target in F64_TARGETS and feature not in F32_REFERENCES
        (assert_f64 if exact else assert_f32)(ours, values, what)


# The function a target's runner calls: a refusal that names the function refusing names this one (an optax
# inject refused a sweep as "to_optax builds one optax schedule", the function inject calls inside).
ENTRIES = {"to_optax": "schedspec.to_optax", "optax_inject": "schedspec.adapters.optax.inject",
           "optax_multi_transform": "schedspec.adapters.optax.multi_transform", "to_keras": "schedspec.to_keras",
           "keras_optimizer": "schedspec.adapters.keras.optimizer", "to_torch": "schedspec.to_torch"}  # fmt: skip
NAMED_ENTRY = re.compile(r"but (\S+) builds one|supported by (\S+) \(|so (\S+) cannot carry")


def check_refusal(feature: str, target: str, err: schedspec.SpecError) -> None:
    f = FEATURES[feature]
    check_refusal_positioned(err, f"{feature}.yaml")
    text = str(err)
    for match in NAMED_ENTRY.finditer(text):
        named = next(g for g in match.groups() if g)
        assert target not in ENTRIES or ENTRIES[target].endswith(named), (
            f"{feature} x {target}: the refusal names {named}, not the function called ({ENTRIES[target]}): {text}")
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
        got = runner(spec, check(feature), None, tmp_path)
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
            check_values(feature, target, spec, runner(spec, check(feature), member, tmp_path), member=member)


def test_the_tables_name_real_cells():
    assert set(RUNNERS) == set(TARGETS)
    for table in (EXPECTED_WORKS, set(USAGE), set(KNOWN_SILENT)):
        assert table <= ALL
    assert not (set(KNOWN_SILENT) & EXPECTED_WORKS) and not (set(USAGE) & EXPECTED_WORKS)
