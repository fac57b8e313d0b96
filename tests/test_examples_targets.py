"""Every example in examples/ through every target it is meant for (values checked), and refused, positioned, by
every target it is not meant for (issue 9 §3).

``MEANT_FOR`` records, per example, the targets it is meant for, decided from its kinds and features:

* an ``interval: epoch`` spec without ``steps_per_epoch`` cannot run on a target that counts optimizer steps
  (optax, Keras, the emitted keras/optax/jax modules): only evaluate, to_jax, torch and emitted torch;
* a ``plateau`` needs metric reports: not ``to_optax`` nor the emitted keras/optax modules (functions of the
  step only);
* ``groups``: not Keras (no parameter groups);
* a hyperparameter that changes over time: not ``adapters.keras.optimizer`` (Keras schedules the lr only);
* a sweep runs whole on evaluate and to_jax (vmap), and one member at a time on every other target.

The values are checked against the independent reference (tests/reference.py), which covers every example (a
plateau on the README's report clock, framework kinds by the frameworks' own semantics); a plateau gets synthetic
reports (improving, then flat, so it reduces). Stateful targets (optax optimizers, torch) are stepped update by update
over the first ``LOOP_UPDATES`` updates; the others are evaluated over the whole schedule (twice its length,
strided, plus every phase boundary +-1).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

import schedspec  # noqa: E402

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":  # pragma: no cover
    pytest.skip("these tests run Keras on the JAX backend", allow_module_level=True)

try:  # tests/ as a package or as a rootdir on sys.path
    from .examples_index import ALL_EXAMPLES, FRAMEWORK_EXAMPLES, framework_files, load_example
    from .helpers import assert_f32, assert_f64, example_steps
    from .reference import ref_schedule
    from .targets import (
        F64_TARGETS,
        RUNNERS,
        TARGETS,
        UNIT_TARGETS,
        Check,
        check_refusal_positioned,
        keys,
        to_units,
    )
except ImportError:
    from examples_index import ALL_EXAMPLES, FRAMEWORK_EXAMPLES, framework_files, load_example
    from helpers import assert_f32, assert_f64, example_steps
    from reference import ref_schedule
    from targets import (
        F64_TARGETS,
        RUNNERS,
        TARGETS,
        UNIT_TARGETS,
        Check,
        check_refusal_positioned,
        keys,
        to_units,
    )

from schedspec import _metrics  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# the top-level specs, examples/dialects/ and the framework configs of examples/frameworks/ (translated as
# `schedspec translate --from` reads them), by their path under examples/ (tests/examples_index.py)
EXAMPLES = ALL_EXAMPLES

EVERY = set(TARGETS)
NO_SPE = {"evaluate", "to_jax", "to_torch", "emit_torch"}  # epoch interval without steps_per_epoch
PLATEAU = EVERY - {"to_optax", "emit_keras", "emit_optax"}
MEANT_FOR = {
    "bert.yaml": EVERY,
    "cosine-annealing.yaml": NO_SPE,
    "cosine-formula.yaml": EVERY,  # a duration var ($T)
    "exponential.yaml": NO_SPE,
    "finetune-groups.yaml": EVERY - {"to_keras", "keras_optimizer", "emit_keras"},  # groups: no Keras
    "gpt-warmup-cosine.yaml": EVERY,
    "keras-reduce-lr-on-plateau.yaml": PLATEAU,
    "lr-sweep.yaml": NO_SPE,  # a sweep, and epochs without steps_per_epoch
    "onecycle-momentum.yaml": EVERY - {"keras_optimizer"},  # momentum changes over time
    "onecycle.yaml": EVERY,
    "reduce-lr-on-plateau.yaml": NO_SPE,  # a plateau, and epochs without steps_per_epoch
    "resnet50.yaml": EVERY,  # constant momentum and weight decay
    "sgdr.yaml": NO_SPE,
    "steplr.yaml": NO_SPE,
    "torch-native.yaml": EVERY,  # torch.* kinds; momentum as an optax.* kind
    "warmup-plateau-cooldown.yaml": PLATEAU,
    "wsd.yaml": EVERY,
    "dialects/hf-run-clm.yaml": EVERY,  # transformers.linear over 3ep (steps_per_epoch given)
    "dialects/llm-wsd-tokens.yaml": EVERY,  # transformers.warmup_stable_decay in token time
    "dialects/timm-seresnet34.yaml": NO_SPE,  # timm.cosine per epoch, without steps_per_epoch
    "frameworks/mmdet/schedule_1x.yaml": EVERY,  # mmengine.param_scheduler (steps_per_epoch 60)
    "frameworks/detectron2/COCO-Detection/faster_rcnn_R_50_FPN_1x.yaml": EVERY,  # detectron2.SOLVER via _BASE_
}
# Meant for, but neither working nor refused today: strict xfails (see tests/test_feature_matrix.py).
KNOWN_SILENT: dict = {}  # (example, target) pairs that silently misbehave; none today
LOOP_UPDATES = 300  # how many updates the stateful targets are stepped through


def sgdw(learning_rate, momentum, weight_decay):
    """SGD with momentum and (coupled, as torch) weight decay: an optax optimizer taking resnet50's schedules."""
    return optax.chain(optax.add_decayed_weights(weight_decay), optax.sgd(learning_rate, momentum))


OPTAX_FN = {"finetune-groups.yaml": optax.adamw, "resnet50.yaml": sgdw}
KERAS_CLS = {"keras-reduce-lr-on-plateau.yaml": keras.optimizers.Adam}


def load(name: str) -> schedspec.Spec:
    return load_example(name)


def plan(name: str) -> Check:
    """The units to look at (the whole schedule; up to `total` with a plateau, whose reports it sizes), the
    stateful horizon and the synthetic reports."""
    spec = load(name)
    member = spec.program.sweep_members()[0] if spec.program.sweep_vars else None
    program = spec.bound(member)
    nodes = list(program.hparams.values()) + [n for g in program.groups.values() for n in g.values()]
    units = np.unique(np.concatenate([example_steps(n, program) for n in nodes]))
    metrics = None
    sites = [s for n in nodes for s in _metrics.sites(n)]
    if sites:
        if program.total is not None:
            units = units[units <= program.total]
        every = {s.monitor: s.every for s in sites}
        metrics = {}
        for monitor, e in every.items():
            n = int(units.max()) // e + 1
            metrics[monitor] = list(np.r_[np.linspace(2.0, 1.0, n // 3), np.ones(n - n // 3)])
    spe = program.steps_per_epoch if program.interval == "epoch" and program.steps_per_epoch else 1
    return Check(units=units, loop=max(3, LOOP_UPDATES // spe), metrics=metrics,
                 optax_fn=OPTAX_FN.get(name, optax.sgd), keras_cls=KERAS_CLS.get(name, keras.optimizers.SGD),
                 torch_lr_only=True)  # fmt: skip


def reference(name: str, spec, h: str, g, units: np.ndarray, metrics, member) -> np.ndarray:
    """The independent reference (tests/reference.py: plateaus on the README's report clock, framework kinds by
    their frameworks' own semantics, groups, sweep members). A framework config of examples/frameworks/ is
    checked against the library itself: MMEngine's own schedulers stepped by its hook, fvcore's schedulers
    composed as detectron2's build_lr_scheduler composes them."""
    if name in FRAMEWORK_EXAMPLES:
        return np.asarray(_framework_reference(name, tuple(int(k) for k in units)), np.float64)
    sched = _reference_schedule(name, h, g, tuple(sorted((member or {}).items())), _freeze(metrics))
    return np.asarray([sched.value(int(k)) for k in units], np.float64)


@functools.cache
def _framework_reference(name: str, ks: tuple[int, ...]) -> list[float]:
    try:
        from .test_dialect_mmengine_detectron2 import detectron2_at, mmengine_values
    except ImportError:
        from test_dialect_mmengine_detectron2 import detectron2_at, mmengine_values
    from schedspec.dialects.configs import read_detectron2
    from schedspec.dialects.detectron2 import parse_value

    library, options = FRAMEWORK_EXAMPLES[name]
    if library == "mmengine":
        cfg = yaml.safe_load((ROOT / "examples" / name).read_text())
        lr, n = cfg["optim_wrapper"]["optimizer"]["lr"], max(ks) + 1
        values = mmengine_values(cfg["param_scheduler"], lr=lr, epoch_length=options["steps_per_epoch"],
                                 max_epochs=cfg["train_cfg"]["max_epochs"], n=n)  # fmt: skip
        return [values[k] for k in ks]
    _, cfg = read_detectron2(str(ROOT / "examples" / name))
    solver = {k: parse_value(v) for k, v in cfg["SOLVER"].items()}
    # fvcore raises past MAX_ITER; detectron2's training stops there: the spec holds its last value
    m = solver["MAX_ITER"]
    last = detectron2_at(solver, [m - 1])[0]
    inside = detectron2_at(solver, [k for k in ks if k < m])
    return inside + [last] * sum(1 for k in ks if k >= m)


@functools.cache
def _reference_schedule(name, h, g, member, metrics):
    data = yaml.safe_load((ROOT / "examples" / name).read_text())
    return ref_schedule(data, h, g, dict(member) or None, {n: list(v) for n, v in metrics} if metrics else None)


def _freeze(metrics):
    return tuple(sorted((n, tuple(float(x) for x in v)) for n, v in metrics.items())) if metrics else None


def _cells():
    for name in EXAMPLES:
        for target in TARGETS:
            marks = []
            if (name, target) in KNOWN_SILENT:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_SILENT[(name, target)]))
            yield pytest.param(name, target, marks=marks, id=f"{name[:-5]}-{target}")


def check_values(name, target, spec, got: dict, check: Check, member, member_index=None) -> None:
    scope = [k for k in keys(spec) if k[0] == "lr"] if target == "emit_torch" and check.torch_lr_only else keys(spec)
    wanted = {key if member_index is None else (*key, member_index): key for key in scope}
    assert set(got) >= set(wanted), f"{name} x {target} left out {sorted(set(wanted) - set(got), key=str)}"
    extra = {key: key[1:] for key in got if key[0] == "applied"}
    for key, (h, g) in {**wanted, **extra}.items():
        xs, ours = got[key]
        assert len(xs), f"{name} x {target}: {key}: nothing was checked"
        units = to_units(spec, target, xs)
        ref = reference(name, spec, h, g, units, check.metrics, member)
        what = f"{name} x {target}: {key}" + (f" member {member}" if member else "")
        (assert_f64 if target in F64_TARGETS else assert_f32)(ours, ref, what)


@pytest.mark.parametrize("name, target", list(_cells()))
def test_example_runs_on_its_targets(name, target, tmp_path):
    spec = load(name)
    check = plan(name)
    runner = RUNNERS[target]
    sweep = spec.program.sweep_members() if spec.program.sweep_vars else []
    if target not in MEANT_FOR[name]:
        with pytest.raises(schedspec.SpecError) as err:
            runner(spec, check, sweep[0] if sweep else None, tmp_path)
        check_refusal_positioned(err.value, str(ROOT / "examples" / name))
        return
    if sweep and target in ("evaluate", "to_jax"):  # the whole sweep at once
        got = runner(spec, check, None, tmp_path)
        for m, member in enumerate(sweep):
            check_values(name, target, spec, got, check, member, m)
    for member in sweep[:2] or [None]:
        check_values(name, target, spec, runner(spec, check, member, tmp_path), check, member)


def test_the_table_covers_every_example():
    assert sorted(MEANT_FOR) == sorted(EXAMPLES), "record each example's targets in MEANT_FOR"
    assert framework_files() == sorted(FRAMEWORK_EXAMPLES), "list each framework config in tests/examples_index.py"
    for name, targets in MEANT_FOR.items():
        assert targets <= set(TARGETS), name
    assert UNIT_TARGETS <= set(TARGETS)


# ------------------------------------------------------------------------------------------------ named cases
def _finetune_expected(k: int) -> dict:
    """examples/finetune-groups.yaml in closed form (1000 steps per epoch, 20 epochs): the document warms up to
    1e-3 over epoch 0, then a cosine to 1e-5; backbone is 0.1 x that; head holds 1e-3 for 2 epochs, then a cosine
    to 1e-5."""
    import math

    def cos(t, n, a, b):
        t = min(t, n)
        return b + (a - b) * (1 + math.cos(math.pi * t / n)) / 2

    doc = 1e-3 * k / 1000 if k < 1000 else cos(k - 1000, 19000, 1e-3, 1e-5)
    head = 1e-3 if k < 2000 else cos(k - 2000, 18000, 1e-3, 1e-5)
    return {None: doc, "backbone": 0.1 * doc, "head": head}


@pytest.mark.parametrize("target", ["optax", "jax"])
def test_finetune_groups_emitted_modules_keep_their_groups(target, tmp_path):
    """issue 9 §3: `schedspec compile examples/finetune-groups.yaml --to optax|jax` exited 0 and dropped
    `groups` (every parameter got the document's lr). The modules now take the group, and optax's
    build_multi_transform labels the parameters as schedspec.adapters.optax.multi_transform does."""
    try:
        from .helpers import load_module
    except ImportError:
        from helpers import load_module

    mod = load_module(schedspec.emit(load("finetune-groups.yaml"), target), tmp_path)
    ks = [0, 500, 999, 1000, 1999, 2000, 11000, 19999, 20000, 25000]
    for g in (None, "backbone", "head"):
        fn = mod.build_schedule(g) if target == "optax" else (lambda k, g=g: mod.schedule(k, group=g))
        got = np.asarray(fn(np.asarray(ks, np.int32)), np.float64)
        assert_f32(got, [_finetune_expected(k)[g] for k in ks], f"{target} group {g}")
    with pytest.raises(ValueError, match=r"no parameter group 'neck' \(its groups: backbone, head\)"):
        mod.schedule(0, group="neck")
    src = schedspec.emit(load("finetune-groups.yaml"), target)
    assert "# The groups also override (head: weight_decay): emit those with `--hparam NAME`." in src
    assert "the spec also schedules weight_decay" in src


def test_finetune_groups_keras_is_refused_at_groups(capsys):
    """Keras has no parameter groups: every Keras path refuses `groups`, positioned at the key."""
    from schedspec.cli import main

    path = "examples/finetune-groups.yaml"
    assert main(["compile", path, "--to", "keras"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:16:1: `groups`: a Keras optimizer has no parameter groups")
    assert "use torch (schedspec.to_torch" in err and "optax (schedspec.adapters.optax.multi_transform" in err
    import schedspec.adapters.keras as sk

    for call in (lambda: schedspec.to_keras(path), lambda: sk.optimizer(path, keras.optimizers.AdamW)):
        with pytest.raises(schedspec.SpecError) as exc:
            call()
        assert str(exc.value).startswith(f"{path}:16:1: `groups`: a Keras optimizer has no parameter groups")
