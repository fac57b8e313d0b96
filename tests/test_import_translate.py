"""Importing live schedulers (``schedspec.from_torch`` / ``from_keras``), YAML round trips, ``translate
--to-neutral``, the notes ``check`` prints for framework quirks, and the neutral extensions those needed.

Imported specs are compiled back (``to_torch`` / ``to_keras``) and compared with the original object, stepped the
documented way, over twice its nominal length (float64: ``1e-12 * peak + 1e-10 * |b|``; float32:
``1e-6 * peak + 1e-5 * |b|``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import schedspec  # noqa: E402
from schedspec import SpecError, ir  # noqa: E402
from schedspec.cli import main  # noqa: E402

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")
jax = pytest.importorskip("jax")
if keras.backend.backend() != "jax":  # pragma: no cover
    pytest.skip("these tests run Keras on the JAX backend", allow_module_level=True)
jnp = jax.numpy
L = torch.optim.lr_scheduler
K = keras.optimizers.schedules
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def assert_close(ours, ref, rel_peak: float, rel: float, what: str = "") -> None:
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    peak = float(np.max(np.abs(b)))
    bad = np.nonzero(np.abs(a - b) > rel_peak * peak + rel * np.abs(b))[0]
    if bad.size:
        i = int(bad[0])
        pytest.fail(f"{what}: {bad.size} values differ; first at k={i}: ours {a[i]!r}, native {b[i]!r}")


def optimizer(lrs=(0.1,), adam: bool = False) -> torch.optim.Optimizer:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))], "lr": lr} for lr in lrs]
    if adam:  # group 0 is built with the optimizer's lr: the param-group rule's reference (README)
        return torch.optim.Adam(groups, lr=lrs[0])
    return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)


def stepped(sched, opt, n: int) -> np.ndarray:
    """The lr of every param group for updates 0..n-1 (``optimizer.step(); scheduler.step()``): groups x n."""
    out = []
    for _ in range(n):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    return np.asarray(out, dtype=np.float64).T


def build(make, lrs=(0.1,)):
    opt = optimizer(lrs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return make(opt), opt


# ------------------------------------------------------------------------------------------------ from_torch
IMPORTS = {
    "StepLR": (lambda o: L.StepLR(o, 7, 0.5), 60),
    "MultiStepLR": (lambda o: L.MultiStepLR(o, [25, 10, 25], 0.3), 80),
    "ConstantLR": (lambda o: L.ConstantLR(o, 0.25, 20), 40),
    "LinearLR": (lambda o: L.LinearLR(o, 0.01, 0.9, 50), 100),
    "ExponentialLR": (lambda o: L.ExponentialLR(o, 0.97), 150),
    "PolynomialLR": (lambda o: L.PolynomialLR(o, 40, 2.0), 80),
    "CosineAnnealingLR": (lambda o: L.CosineAnnealingLR(o, 30, 0.001), 120),
    "CosineAnnealingWarmRestarts": (lambda o: L.CosineAnnealingWarmRestarts(o, 8, 2, 0.001), 200),
    "CyclicLR": (lambda o: L.CyclicLR(o, 0.01, 0.1, 7, 4, mode="triangular2"), 100),
    "CyclicLR exp_range": (lambda o: L.CyclicLR(o, 0.01, 0.1, 5, mode="exp_range", gamma=0.98), 100),
    "OneCycleLR": (lambda o: L.OneCycleLR(o, 0.3, total_steps=100, pct_start=0.35, div_factor=7.0), 100),
    "OneCycleLR three phase": (
        lambda o: L.OneCycleLR(o, 0.3, epochs=6, steps_per_epoch=17, anneal_strategy="linear", three_phase=True), 102
    ),
    "SequentialLR": (
        lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 20), L.ConstantLR(o, 0.5, 5), L.CosineAnnealingLR(o, 40)], [15, 30]),
        150,
    ),
    "ChainedScheduler": (lambda o: L.ChainedScheduler([L.LinearLR(o, 0.2, 1.0, 10), L.StepLR(o, 15, 0.5)]), 100),
    # CyclicLR built first sets initial_lr to its base_lr: the later schedulers restart there, and the import says so
    "SequentialLR cyclic first": (lambda o: L.SequentialLR(o, [L.CyclicLR(o, 0.01, 0.2, 3), L.ExponentialLR(o, 0.9)], [10]), 40),
}  # fmt: skip


@pytest.mark.parametrize("name", list(IMPORTS))
def test_from_torch_then_to_torch_equals_the_original(name):
    make, n = IMPORTS[name]
    sched, opt = build(make)
    spec = schedspec.from_torch(sched)
    assert spec.program.hparams["lr"] is not None and not spec.warnings
    ref = stepped(sched, opt, n)
    again, opt2 = build(lambda o: schedspec.to_torch(spec, o))
    assert_close(stepped(again, opt2, n), ref, 1e-12, 1e-10, name)
    # YAML round trip: same fingerprint, and the text names torch's own class
    text = spec.to_yaml()
    assert f"kind: torch.{name.split()[0]}" in text
    assert schedspec.loads(text).fingerprint == spec.fingerprint


def test_from_torch_reads_every_param_group_proportionally():
    sched, opt = build(lambda o: L.StepLR(o, 5, 0.5), lrs=(0.1, 0.01))
    spec = schedspec.from_torch(sched)
    ref = stepped(sched, opt, 30)
    again, opt2 = build(lambda o: schedspec.to_torch(spec, o), lrs=(0.1, 0.01))
    assert_close(stepped(again, opt2, 30), ref, 1e-12, 1e-10, "two groups")


def test_from_torch_takes_the_optimizers_lr_whatever_group_comes_first():
    """The spec's lr is the param-group rule's reference (defaults["lr"] when a group was built with it), not group
    0's: to_torch on the same optimizer then reproduces every group, in either order of the groups."""
    def make(lrs):
        groups = [{"params": [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))], **({"lr": lr} if lr else {})}
                  for lr in lrs]  # fmt: skip
        return torch.optim.SGD(groups, lr=0.1)

    for lrs in ((0.01, None), (None, 0.01)):
        opt = make(lrs)
        sched = L.StepLR(opt, 5, 0.5)
        spec = schedspec.from_torch(sched)
        assert spec.doc.data["lr"]["lr"] == 0.1
        ref = stepped(sched, opt, 30)
        opt2 = make(lrs)
        assert_close(stepped(schedspec.to_torch(spec, opt2), opt2, 30), ref, 1e-12, 1e-10, f"groups {lrs}")
    opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in (0.1, 0.01)])
    with pytest.raises(SpecError, match=r"StepLR: the param groups .* built with different lrs .* none with the "
                                        r"optimizer's lr"):  # fmt: skip
        schedspec.from_torch(L.StepLR(opt, 5, 0.5))


def test_from_torch_sees_the_optimizers_base_lr_even_after_steps():
    sched, opt = build(lambda o: L.ExponentialLR(o, 0.9), lrs=(0.05,))
    stepped(sched, opt, 7)  # the optimizer's lr is now 0.05 * 0.9**7; the spec still starts at the base lr
    spec = schedspec.from_torch(sched)
    assert spec.doc.data["lr"]["lr"] == 0.05


def test_from_torch_reduce_lr_on_plateau_needs_the_metric_name():
    sched, _ = build(
        lambda o: L.ReduceLROnPlateau(o, mode="max", factor=0.5, patience=2, threshold_mode="abs")
    )
    with pytest.raises(SpecError, match=r"pass it, e\.g\. from_torch\(scheduler, monitor='val_loss'\)"):
        schedspec.from_torch(sched)
    spec = schedspec.from_torch(sched, monitor="val_acc")
    node = spec.program.hparams["lr"]
    assert isinstance(node, ir.Plateau)
    assert (node.start, node.monitor, node.mode, node.factor, node.patience, node.threshold_mode) == (
        0.1, "val_acc", "max", 0.5, 2, "abs")  # fmt: skip
    assert schedspec.loads(spec.to_yaml()).fingerprint == spec.fingerprint


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda o: L.LambdaLR(o, lambda e: 0.9**e), "LambdaLR holds an arbitrary Python function"),
        (lambda o: L.MultiplicativeLR(o, lambda e: 0.9), "MultiplicativeLR holds an arbitrary Python function"),
        (lambda o: L.CyclicLR(o, 0.01, 0.1, 5, scale_fn=lambda x: 0.5), "custom scale_fn holds an arbitrary Python function"),
        (lambda o: L.SequentialLR(o, [L.StepLR(o, 2), L.LambdaLR(o, lambda e: 1.0)], [3]),
         "schedulers[1]: LambdaLR holds an arbitrary Python function"),
    ],
)  # fmt: skip
def test_from_torch_refuses_what_it_cannot_read_and_says_which_class(make, expected):
    sched, _ = build(make)
    with pytest.raises(SpecError) as info:
        schedspec.from_torch(sched)
    assert expected in str(info.value)


def test_from_torch_refuses_subclasses_and_foreign_objects():
    class MyStep(L.StepLR):
        def get_lr(self):
            return [0.5 for _ in self.optimizer.param_groups]

    sched, opt = build(lambda o: MyStep(o, 3))
    with pytest.raises(SpecError, match="MyStep subclasses torch's StepLR and may change its formula"):
        schedspec.from_torch(sched)
    with pytest.raises(SpecError, match="expected a torch.optim.lr_scheduler scheduler, got list"):
        schedspec.from_torch([1, 2])
    ours, _ = build(lambda o: schedspec.to_torch({"schedspec": 1, "lr": 0.1}, o))
    with pytest.raises(SpecError, match="already a schedspec scheduler"):
        schedspec.from_torch(ours)


def test_from_torch_refuses_groups_that_a_proportional_spec_cannot_follow():
    sched, _ = build(lambda o: L.CosineAnnealingLR(o, 10, eta_min=0.001), lrs=(0.1, 0.01))
    with pytest.raises(SpecError, match="per-group initial lrs \\(with eta_min != 0\\) differ"):
        schedspec.from_torch(sched)


# ------------------------------------------------------------------------------------------------ from_keras
KERAS_IMPORTS = {
    "ExponentialDecay": (K.ExponentialDecay(0.1, 10, 0.5, staircase=True), 120),
    "PiecewiseConstantDecay": (K.PiecewiseConstantDecay([10, 20], [0.1, 0.05, 0.01]), 60),
    "PolynomialDecay": (K.PolynomialDecay(0.1, 20, power=2.0, cycle=True), 100),
    "InverseTimeDecay": (K.InverseTimeDecay(0.1, 10, 0.5), 100),
    "CosineDecay": (K.CosineDecay(0.0, 90, alpha=0.1, warmup_target=0.1, warmup_steps=10), 200),
    "CosineDecayRestarts": (K.CosineDecayRestarts(0.1, 20, t_mul=1.5, m_mul=0.8, alpha=0.1), 300),
}  # fmt: skip


@pytest.mark.parametrize("name", list(KERAS_IMPORTS))
def test_from_keras_then_to_keras_equals_the_original(name):
    native, n = KERAS_IMPORTS[name]
    spec = schedspec.from_keras(native)
    ref = np.asarray(jax.vmap(native)(jnp.arange(n)))
    again = schedspec.to_keras(spec)
    assert_close(np.asarray(jax.vmap(again)(jnp.arange(n))), ref, 1e-6, 1e-5, name)
    text = spec.to_yaml()
    assert f"kind: keras.{name}" in text
    assert schedspec.loads(text).fingerprint == spec.fingerprint


def test_from_keras_refuses_custom_schedules():
    class Mine(K.LearningRateSchedule):
        def __call__(self, step):
            return 0.1

    with pytest.raises(SpecError, match="Mine cannot be imported: it subclasses LearningRateSchedule"):
        schedspec.from_keras(Mine())

    class Exp(K.ExponentialDecay):
        pass

    with pytest.raises(SpecError, match="Exp cannot be imported: it subclasses ExponentialDecay"):
        schedspec.from_keras(Exp(0.1, 10, 0.5))
    with pytest.raises(SpecError, match="already a schedspec schedule"):
        schedspec.from_keras(schedspec.to_keras({"schedspec": 1, "lr": 0.1}))
    with pytest.raises(SpecError, match="`decay_steps` = 2.5 is not a whole number of steps"):
        schedspec.from_keras(K.ExponentialDecay(0.1, 2.5, 0.5))


# ------------------------------------------------------------------------------------------------ translate
NATIVE = textwrap.dedent(
    """\
    schedspec: 1
    name: natives
    steps_per_epoch: 10
    total: 40ep
    vars: {peak: 0.1}
    lr:
      - {kind: optax.linear_schedule, init_value: 0.0, end_value: $peak, transition_steps: 2ep, duration: 2ep}
      - kind: torch.SequentialLR
        lr: $peak
        schedulers:
          - {kind: torch.ConstantLR, factor: 0.5, total_iters: 30}
          - {kind: torch.CosineAnnealingWarmRestarts, T_0: 50, T_mult: 2}
        milestones: [5ep]
    momentum: {kind: keras.PiecewiseConstantDecay, boundaries: [100, 200], values: [0.95, 0.9, 0.85]}
    weight_decay: {kind: keras.CosineDecayRestarts, initial_learning_rate: 0.001, first_decay_steps: 30, m_mul: 0.5, alpha: 0.2}
    beta2: {kind: keras.PolynomialDecay, initial_learning_rate: 0.999, decay_steps: 50, end_learning_rate: 0.99, cycle: true}
    """
)


def test_translate_to_neutral_keeps_the_fingerprint_and_the_values(tmp_path, capsys):
    path = tmp_path / "natives.yaml"
    path.write_text(NATIVE)
    assert main(["translate", str(path), "--to-neutral"]) == 0
    out = capsys.readouterr().out
    assert "torch." not in out.split("\n", 1)[1] and "keras." not in out and "optax." not in out
    original = schedspec.load(str(path))
    neutral = schedspec.loads(out)
    assert neutral.fingerprint == original.fingerprint
    assert neutral.program.hparams == original.program.hparams
    assert neutral.notes == [] and original.notes  # the quirks are now explicit in the neutral spelling
    assert "kind: sum" in out and "cycle: true" in out  # the two neutral extensions
    for hparam in original.program.hparams:
        np.testing.assert_array_equal(
            schedspec.evaluate(neutral, np.arange(500), hparam=hparam, dtype="float64"),
            schedspec.evaluate(original, np.arange(500), hparam=hparam, dtype="float64"),
        )
    target = tmp_path / "neutral.yaml"
    assert main(["translate", str(path), "--to-neutral", "-o", str(target)]) == 0
    assert schedspec.load(str(target)).fingerprint == original.fingerprint


def test_translate_usage_and_spec_errors(tmp_path, capsys):
    path = tmp_path / "n.yaml"
    path.write_text(NATIVE)
    assert main(["translate", str(path)]) == 2
    assert "--to-neutral" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("schedspec: 1\nlr: {kind: torch.LinearLR, lr: 0.1, start_factor: 0}\n")
    assert main(["translate", str(bad), "--to-neutral"]) == 1
    assert (
        "bad.yaml:2:51: `start_factor`: torch.LinearLR needs 0 < start_factor <= 1" in capsys.readouterr().err
    )


def test_check_prints_the_quirks_as_notes_and_strict_still_passes(tmp_path, capsys):
    path = tmp_path / "q.yaml"
    path.write_text(
        "schedspec: 1\nlr:\n  kind: torch.SequentialLR\n  lr: 0.1\n  milestones: [60]\n  schedulers:\n"
        "    - {kind: torch.LinearLR, start_factor: 0.1, total_iters: 100}\n"
        "    - {kind: torch.CosineAnnealingLR, T_max: 100}\n"
    )
    assert main(["check", "--strict", str(path)]) == 0
    out = capsys.readouterr().out
    notes = [line.strip() for line in out.splitlines() if line.strip().startswith("note:")]
    assert any(
        "q.yaml:7:7: torch.LinearLR: cut at step 60 before its own end (step 100)" in n for n in notes
    ), notes
    assert any("q.yaml:3:3: torch.SequentialLR: each scheduler starts again from lr = 0.1" in n and "starts at 0.1 where "
               "the previous one was at 0.064" in n for n in notes), notes  # fmt: skip
    assert any("q.yaml:8:7: torch.CosineAnnealingLR: the lr rises again after T_max = 100" in n and
               "{kind: cosine, end: eta_min, duration: 100}" in n for n in notes), notes  # fmt: skip


def test_quirk_notes_name_the_neutral_spelling():
    cases = {
        "keras.PiecewiseConstantDecay": ({"boundaries": [10], "values": [0.1, 0.01]}, "points at boundary + 1"),
        "keras.CosineDecay": ({"initial_learning_rate": 0.0, "decay_steps": 90, "warmup_target": 0.1, "warmup_steps": 10},
                              "counts the cosine AFTER the warmup"),
        "optax.warmup_cosine_decay_schedule": ({"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 10, "decay_steps": 100},
                                               "includes the warmup"),
        "keras.PolynomialDecay": ({"initial_learning_rate": 0.1, "decay_steps": 10}, "defaults to 1e-4 in Keras"),
        "keras.CosineDecayRestarts": ({"initial_learning_rate": 0.1, "first_decay_steps": 10, "m_mul": 0.5, "alpha": 0.1},
                                      "NOT scaled by m_mul"),
        "torch.MultiplicativeLR": ({"lr": 0.1, "lr_lambda": 0.9}, "never applies lr_lambda(0)"),
        "torch.OneCycleLR": ({"max_lr": 0.1, "total_steps": 100}, "torch raises on the (N+1)-th scheduler.step()"),
        "optax.cosine_onecycle_schedule": ({"transition_steps": 100, "peak_value": 0.1}, "int(pct_start * N) = 30"),
        "optax.sgdr_schedule": ({"cosine_kwargs": [{"init_value": 0.1, "peak_value": 0.1, "warmup_steps": 0, "decay_steps": 10}]},
                                "no more restarts"),
    }  # fmt: skip
    for kind, (params, expected) in cases.items():
        notes = schedspec.load({"schedspec": 1, "lr": {"kind": kind, **params}}).notes
        assert any(expected in n.message and "neutral" in n.message for n in notes), (
            kind,
            [n.message for n in notes],
        )
        assert all(n.severity == "note" for n in notes)


def test_spec_to_yaml_round_trips_every_example():
    import glob

    for path in sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml"))):
        spec = schedspec.load(path)
        assert schedspec.loads(spec.to_yaml()).fingerprint == spec.fingerprint, path


def test_check_and_import_stay_framework_free_with_native_kinds():
    code = textwrap.dedent(
        """
        import sys, schedspec
        from schedspec.cli import main
        assert main(["check", "-q", sys.argv[1]]) == 0
        spec = schedspec.load(sys.argv[1])
        spec.notes; spec.to_yaml()
        heavy = sorted(m for m in ("jax", "torch", "keras", "optax", "matplotlib") if m in sys.modules)
        print(json.dumps(heavy) if False else ",".join(heavy))
        """
    )
    out = subprocess.run([sys.executable, "-c", code, os.path.join(ROOT, "examples", "torch-native.yaml")],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert out.stdout.strip() == "", out.stdout
    json.dumps(out.stdout)  # (keep json imported for the message above)


# ------------------------------------------------------------------------------------------------ neutral extensions
def test_polynomial_cycle_and_sum_run_on_every_target():
    """The two neutral extensions, written directly, on numpy, JAX, torch, Keras, optax and emitted source."""
    spec = {"schedspec": 1, "lr": {"kind": "sum", "of": [
        0.01, {"kind": "polynomial", "start": 0.1, "end": 0.0, "power": 2.0, "duration": 20, "cycle": True}]}}  # fmt: skip
    n = 150
    ref = np.asarray(jax.vmap(K.PolynomialDecay(0.1, 20, 0.0, power=2.0, cycle=True))(jnp.arange(n))) + 0.01
    assert_close(schedspec.evaluate(spec, np.arange(n), dtype="float64"), ref, 1e-6, 1e-5, "evaluate")
    assert_close(schedspec.evaluate(spec, np.arange(n)), ref, 1e-6, 1e-5, "evaluate float32")
    sched, opt = build(lambda o: schedspec.to_torch(spec, o))
    assert_close(stepped(sched, opt, n)[0], ref, 1e-6, 1e-5, "torch")
    sched = schedspec.to_keras(spec)
    assert_close(np.asarray(jax.vmap(sched)(jnp.arange(n))), ref, 1e-6, 1e-5, "keras")
    reloaded = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(sched))
    assert_close(np.asarray(jax.vmap(reloaded)(jnp.arange(n))), ref, 1e-6, 1e-5, "keras, serialised and reloaded")
    assert_close(np.asarray(schedspec.to_optax(spec)(jnp.arange(n))), ref, 1e-6, 1e-5, "optax")
    for target in ("jax", "torch"):
        scope: dict = {}
        exec(compile(schedspec.emit(spec, target), "<emitted>", "exec"), scope)  # noqa: S102 - our generated module
        if target == "jax":
            got = np.asarray(scope["schedule"](jnp.arange(n)))
        else:
            sched, opt = build(scope["build_scheduler"])
            got = stepped(sched, opt, n)[0]
        assert_close(got, ref, 1e-6, 1e-5, f"emitted {target}")


def test_polynomial_cycle_needs_its_decay_length():
    with pytest.raises(SpecError, match="`cycle: true` restarts the decay after each `duration`"):
        schedspec.load(
            {"schedspec": 1, "total": 100, "lr": {"kind": "polynomial", "start": 0.1, "cycle": True}}
        )
