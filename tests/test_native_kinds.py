"""Framework kinds (``torch.*``, ``keras.*``, ``optax.*``) against the frameworks' own schedulers.

Every native kind, over at least twice its nominal length: ``schedspec.evaluate`` (float64) of the spec equals the
native object stepped the documented way (torch: ``optimizer.step(); scheduler.step()``, the lr of update k;
Keras/optax: ``schedule(k)``). Tolerances (docs/language.md, Parity): float64 against torch,
``|a - b| <= 1e-12 * peak + 1e-10 * |b|``; against float32 Keras/optax, ``1e-6 * peak + 1e-5 * |b|``; piecewise
constant schedules change at exactly the same k. Also: the four cross-framework translations the issue names, each
compiled to another framework and compared value by value with the original native object, and the bad-input
messages (the framework's own names and rules).
"""

from __future__ import annotations

import functools
import os
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import schedspec  # noqa: E402
from schedspec import SpecError, ir  # noqa: E402
from schedspec.evaluator import evaluate_numpy  # noqa: E402

try:  # tests/ as a package or as a rootdir on sys.path
    from .strategies import own_boundaries
except ImportError:
    from strategies import own_boundaries

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")
optax = pytest.importorskip("optax")
jax = pytest.importorskip("jax")
if (
    keras.backend.backend() != "jax"
):  # pragma: no cover - another test imported keras on another backend first
    pytest.skip("these tests run Keras on the JAX backend", allow_module_level=True)
jnp = jax.numpy
L = torch.optim.lr_scheduler
K = keras.optimizers.schedules


# ------------------------------------------------------------------------------------------------ helpers
def assert_f64(ours, ref, what: str = "") -> None:
    """float64 parity: ``|a - b| <= 1e-12 * peak + 1e-10 * |b|``."""
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    peak = float(np.max(np.abs(b)))
    bad = np.nonzero(np.abs(a - b) > 1e-12 * peak + 1e-10 * np.abs(b))[0]
    if bad.size:
        i = int(bad[0])
        pytest.fail(f"{what}: {bad.size} values differ; first at k={i}: ours {a[i]!r}, native {b[i]!r}")


def assert_f32(ours, ref, what: str = "") -> None:
    """float32 parity: ``|a - b| <= 1e-6 * peak + 1e-5 * |b|``."""
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    peak = float(np.max(np.abs(b)))
    bad = np.nonzero(np.abs(a - b) > 1e-6 * peak + 1e-5 * np.abs(b))[0]
    if bad.size:
        i = int(bad[0])
        pytest.fail(f"{what}: {bad.size} values differ; first at k={i}: ours {a[i]!r}, native {b[i]!r}")


def assert_same_changes(ours, ref) -> None:
    """Discrete changes happen at exactly the same k."""
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    ca = np.flatnonzero(~np.isclose(a[1:], a[:-1], rtol=1e-5, atol=0))
    cb = np.flatnonzero(~np.isclose(b[1:], b[:-1], rtol=1e-5, atol=0))
    np.testing.assert_array_equal(ca, cb)


def optimizer(lr: float = 0.1) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))], lr=lr, momentum=0.9)


def stepped(sched, opt, n: int) -> np.ndarray:
    """The lr of updates 0..n-1 under the documented loop ``optimizer.step(); scheduler.step()``."""
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.asarray(out, dtype=np.float64)


def torch_values(make, n: int, lr: float = 0.1) -> np.ndarray:
    opt = optimizer(lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's own deprecation chatter in some constructors
        return stepped(make(opt), opt, n)


def fn_values(schedule, n: int) -> np.ndarray:
    """A Keras schedule or an optax schedule at k = 0..n-1 (vmapped: some are not vectorised over k)."""
    return np.asarray(jax.vmap(schedule)(jnp.arange(n)), dtype=np.float64)


def ours(lr, n: int, **kw) -> np.ndarray:
    return schedspec.evaluate({"schedspec": 1, "lr": lr}, np.arange(n), dtype="float64", **kw)


# ------------------------------------------------------------------------------------------------ torch
P = 0.1
TORCH = {
    # name: (native constructor, spec, steps compared (>= 2x the nominal length))
    "StepLR": (lambda o: L.StepLR(o, step_size=7, gamma=0.5), {"step_size": 7, "gamma": 0.5}, 60),
    "StepLR defaults": (lambda o: L.StepLR(o, 10), {"step_size": 10}, 40),
    "MultiStepLR unsorted, repeated": (
        lambda o: L.MultiStepLR(o, milestones=[30, 10, 25, 25], gamma=0.3),
        {"milestones": [30, 10, 25, 25], "gamma": 0.3}, 80,
    ),
    "MultiStepLR at 0": (lambda o: L.MultiStepLR(o, [0, 5], 0.5), {"milestones": [0, 5], "gamma": 0.5}, 20),
    "ConstantLR": (lambda o: L.ConstantLR(o, factor=0.25, total_iters=20), {"factor": 0.25, "total_iters": 20}, 40),
    "ConstantLR defaults": (lambda o: L.ConstantLR(o), {}, 12),
    "ConstantLR total_iters 0": (lambda o: L.ConstantLR(o, 0.5, 0), {"factor": 0.5, "total_iters": 0}, 10),
    "LinearLR warmup": (
        lambda o: L.LinearLR(o, start_factor=0.01, total_iters=100), {"start_factor": 0.01, "total_iters": 100}, 200
    ),
    "LinearLR decay": (
        lambda o: L.LinearLR(o, 1.0, 0.1, 50), {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 50}, 100
    ),
    "LinearLR defaults": (lambda o: L.LinearLR(o), {}, 12),
    "LinearLR total_iters 0": (lambda o: L.LinearLR(o, 0.5, 1.0, 0), {"start_factor": 0.5, "total_iters": 0}, 10),
    "ExponentialLR": (lambda o: L.ExponentialLR(o, 0.97), {"gamma": 0.97}, 200),
    "PolynomialLR": (lambda o: L.PolynomialLR(o, total_iters=50, power=2.0), {"total_iters": 50, "power": 2.0}, 100),
    "PolynomialLR defaults": (lambda o: L.PolynomialLR(o), {}, 12),
    "CosineAnnealingLR rebounds": (
        lambda o: L.CosineAnnealingLR(o, T_max=50, eta_min=0.001), {"T_max": 50, "eta_min": 0.001}, 200
    ),
    "CosineAnnealingWarmRestarts": (
        lambda o: L.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=0.001),
        {"T_0": 10, "T_mult": 2, "eta_min": 0.001}, 300,
    ),
    "CosineAnnealingWarmRestarts T_mult 1": (lambda o: L.CosineAnnealingWarmRestarts(o, 7), {"T_0": 7}, 50),
    "MultiplicativeLR": (lambda o: L.MultiplicativeLR(o, lambda e: 0.95), {"lr_lambda": 0.95}, 100),
    "CyclicLR triangular": (
        lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=7, step_size_down=5),
        {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 7, "step_size_down": 5}, 100,
    ),
    "CyclicLR triangular2": (
        lambda o: L.CyclicLR(o, 0.01, 0.1, 6, mode="triangular2"),
        {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 6, "mode": "triangular2"}, 100,
    ),
    "CyclicLR exp_range": (
        lambda o: L.CyclicLR(o, 0.01, 0.1, 5, mode="exp_range", gamma=0.99, cycle_momentum=False),
        {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5, "mode": "exp_range", "gamma": 0.99, "cycle_momentum": False},
        100,
    ),
    "SequentialLR warmup cosine": (
        lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.01, 1.0, 100), L.CosineAnnealingLR(o, 900)], [100]),
        {"schedulers": [{"kind": "torch.LinearLR", "start_factor": 0.01, "total_iters": 100},
                        {"kind": "torch.CosineAnnealingLR", "T_max": 900}], "milestones": [100]}, 2000,
    ),
    "SequentialLR truncated warmup jumps": (
        lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 100), L.ExponentialLR(o, 0.99)], [60]),
        {"schedulers": [{"kind": "torch.LinearLR", "start_factor": 0.1, "total_iters": 100},
                        {"kind": "torch.ExponentialLR", "gamma": 0.99}], "milestones": [60]}, 200,
    ),
    "SequentialLR four kinds, MultiplicativeLR continues": (
        lambda o: L.SequentialLR(o, [L.ConstantLR(o, 0.5, 3), L.StepLR(o, 3, 0.5), L.MultiplicativeLR(o, lambda e: 0.9),
                                     L.CosineAnnealingWarmRestarts(o, 4, 2)], [5, 12, 20]),
        {"schedulers": [{"kind": "torch.ConstantLR", "factor": 0.5, "total_iters": 3},
                        {"kind": "torch.StepLR", "step_size": 3, "gamma": 0.5},
                        {"kind": "torch.MultiplicativeLR", "lr_lambda": 0.9},
                        {"kind": "torch.CosineAnnealingWarmRestarts", "T_0": 4, "T_mult": 2}], "milestones": [5, 12, 20]},
        80,
    ),
    "SequentialLR milestone 0 and a repeated milestone": (
        lambda o: L.SequentialLR(o, [L.ConstantLR(o, 0.5, 3), L.StepLR(o, 1, 0.5), L.ExponentialLR(o, 0.9)], [0, 0]),
        {"schedulers": [{"kind": "torch.ConstantLR", "factor": 0.5, "total_iters": 3},
                        {"kind": "torch.StepLR", "step_size": 1, "gamma": 0.5},
                        {"kind": "torch.ExponentialLR", "gamma": 0.9}], "milestones": [0, 0]}, 20,
    ),
    "SequentialLR cosine cut before T_max": (
        lambda o: L.SequentialLR(o, [L.CosineAnnealingLR(o, 50), L.ExponentialLR(o, 0.95)], [30]),
        {"schedulers": [{"kind": "torch.CosineAnnealingLR", "T_max": 50}, {"kind": "torch.ExponentialLR", "gamma": 0.95}],
         "milestones": [30]}, 80,
    ),
    "SequentialLR polynomial cut, cyclic after": (
        lambda o: L.SequentialLR(o, [L.PolynomialLR(o, 50, 2.0), L.CyclicLR(o, 0.01, 0.2, 3)], [30]),
        {"schedulers": [{"kind": "torch.PolynomialLR", "total_iters": 50, "power": 2.0},
                        {"kind": "torch.CyclicLR", "base_lr": 0.01, "max_lr": 0.2, "step_size_up": 3}],
         "milestones": [30]}, 80,
    ),
    "ChainedScheduler": (
        lambda o: L.ChainedScheduler([L.ConstantLR(o, 0.5, 10), L.ExponentialLR(o, 0.98)]),
        {"schedulers": [{"kind": "torch.ConstantLR", "factor": 0.5, "total_iters": 10},
                        {"kind": "torch.ExponentialLR", "gamma": 0.98}]}, 100,
    ),
    "ChainedScheduler nested, MultiStep, Polynomial, Multiplicative": (
        lambda o: L.ChainedScheduler([L.LinearLR(o, 0.1, 1.0, 20),
                                      L.ChainedScheduler([L.MultiStepLR(o, [30, 60], 0.5), L.MultiplicativeLR(o, lambda e: 0.995)]),
                                      L.PolynomialLR(o, 80, 1.5)]),
        {"schedulers": [{"kind": "torch.LinearLR", "start_factor": 0.1, "total_iters": 20},
                        {"kind": "torch.ChainedScheduler", "schedulers": [
                            {"kind": "torch.MultiStepLR", "milestones": [30, 60], "gamma": 0.5},
                            {"kind": "torch.MultiplicativeLR", "lr_lambda": 0.995}]},
                        {"kind": "torch.PolynomialLR", "total_iters": 80, "power": 1.5}]}, 160,
    ),
    "ChainedScheduler warmup with cosine": (
        lambda o: L.ChainedScheduler([L.LinearLR(o, 0.1, 1.0, 20), L.CosineAnnealingLR(o, 50)]),
        {"schedulers": [{"kind": "torch.LinearLR", "start_factor": 0.1, "total_iters": 20},
                        {"kind": "torch.CosineAnnealingLR", "T_max": 50}]}, 220,
    ),
    "ChainedScheduler cosine drops a settled factor": (
        lambda o: L.ChainedScheduler([L.CosineAnnealingLR(o, 40), L.ConstantLR(o, 0.5, 10), L.LinearLR(o, 1.0, 0.5, 30)]),
        {"schedulers": [{"kind": "torch.CosineAnnealingLR", "T_max": 40},
                        {"kind": "torch.ConstantLR", "factor": 0.5, "total_iters": 10},
                        {"kind": "torch.LinearLR", "start_factor": 1.0, "end_factor": 0.5, "total_iters": 30}]}, 200,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(TORCH))
def test_torch_kind_equals_torch(name):
    make, params, n = TORCH[name]
    cls = name.split()[0]
    node = {"kind": f"torch.{cls}", **({"lr": P} if cls != "CyclicLR" else {}), **params}
    ref = torch_values(make, n)
    got = ours(node, n)
    assert_f64(got, ref, name)
    assert_same_changes(got, ref)
    # the same spec as a torch scheduler (the adapter), stepped the documented way
    opt = optimizer()
    assert_f64(
        stepped(schedspec.to_torch({"schedspec": 1, "lr": node}, opt), opt, n), ref, f"{name} via to_torch"
    )


@pytest.mark.parametrize(
    "kwargs, spec",
    [
        ({"total_steps": 100}, {"total_steps": 100}),
        ({"total_steps": 120, "pct_start": 0.25, "anneal_strategy": "linear", "three_phase": True},
         {"total_steps": 120, "pct_start": 0.25, "anneal_strategy": "linear", "three_phase": True}),
        ({"epochs": 10, "steps_per_epoch": 9, "div_factor": 10.0, "final_div_factor": 100.0},
         {"epochs": 10, "steps_per_epoch": 9, "div_factor": 10.0, "final_div_factor": 100.0}),
    ],
)  # fmt: skip
def test_torch_onecycle_equals_torch_and_holds_where_torch_raises(kwargs, spec):
    n = kwargs.get("total_steps") or kwargs["epochs"] * kwargs["steps_per_epoch"]
    opt = optimizer()
    sched = L.OneCycleLR(opt, max_lr=P, **kwargs)
    ref = stepped(sched, opt, n)  # updates 0..N-1: torch's whole schedule
    with pytest.raises(ValueError, match="Tried to step"):
        sched.step()  # torch cannot go on: the (N+1)-th step raises
    node = {"kind": "torch.OneCycleLR", "max_lr": P, **spec}
    got = ours(node, 2 * n)
    assert_f64(got[:n], ref, "OneCycleLR")
    assert np.all(
        got[n - 1 :] == got[n - 1]
    )  # then it holds the minimum (documented; torch has no value there)


def test_torch_lr_var_becomes_a_scale_and_sweeps():
    """A torch kind whose lr is a var: {kind: scale, by: $lr, ...}; each sweep member equals torch at that lr."""
    node = {"kind": "torch.LinearLR", "lr": "$peak", "start_factor": 0.1, "total_iters": 20}
    spec = schedspec.load({"schedspec": 1, "vars": {"peak": [0.1, 0.3]}, "lr": node})
    assert isinstance(spec.program.hparams["lr"], ir.Scale)
    got = schedspec.evaluate(spec, np.arange(40), dtype="float64")
    for row, lr in zip(got, (0.1, 0.3)):
        assert_f64(row, torch_values(lambda o: L.LinearLR(o, 0.1, 1.0, 20), 40, lr=lr), f"lr={lr}")
    # where lr passes through unchanged, the var stays where it is
    step = schedspec.load(
        {"schedspec": 1, "vars": {"peak": 0.1}, "lr": {"kind": "torch.StepLR", "lr": "$peak", "step_size": 5}}
    )
    assert step.program.hparams["lr"] == ir.Step(ir.Var("peak"), 0.1, 5, None)


def test_torch_lr_defaults_to_the_carried_value_and_native_phases_mix_with_neutral_ones():
    """[neutral linear warmup, torch.CosineAnnealingLR without lr] = warmup, then torch's cosine from the peak."""
    seq = [
        {"kind": "linear", "start": 0.0, "end": P, "duration": 10},
        {"kind": "torch.CosineAnnealingLR", "T_max": 40},
    ]
    got = ours(seq, 120)
    np.testing.assert_allclose(got[:10], np.arange(10) / 10 * P, rtol=1e-15, atol=0)
    assert_f64(got[10:], torch_values(lambda o: L.CosineAnnealingLR(o, 40), 110), "cosine after the warmup")


def test_native_duration_cuts_a_native_phase():
    """`duration` (schedspec's own) cuts a native schedule: torch LinearLR for 10 steps, then Keras CosineDecay."""
    seq = [
        {"kind": "torch.LinearLR", "lr": P, "start_factor": 0.1, "total_iters": 20, "duration": 10},
        {"kind": "keras.CosineDecay", "initial_learning_rate": 0.055, "decay_steps": 90},
    ]
    got = ours(seq, 200)
    assert_f64(got[:10], torch_values(lambda o: L.LinearLR(o, 0.1, 1.0, 20), 10), "cut LinearLR")
    assert_f32(got[10:], fn_values(K.CosineDecay(0.055, 90), 190), "CosineDecay after it")


def test_torch_reduce_lr_on_plateau_lowers_to_the_neutral_plateau():
    native = {"kind": "torch.ReduceLROnPlateau", "lr": P, "monitor": "val_loss", "mode": "max", "factor": 0.5,
              "patience": 3, "threshold": 0.01, "threshold_mode": "abs", "cooldown": 2, "min_lr": 1e-4, "eps": 1e-9}  # fmt: skip
    neutral = {"kind": "plateau", "start": P, "monitor": "val_loss", "mode": "max", "factor": 0.5, "patience": 3,
               "threshold": 0.01, "threshold_mode": "abs", "cooldown": 2, "min": 1e-4, "eps": 1e-9}  # fmt: skip
    head = {"schedspec": 1, "interval": "epoch"}
    a, b = schedspec.load({**head, "lr": native}), schedspec.load({**head, "lr": neutral})
    assert a.program.hparams == b.program.hparams and a.fingerprint == b.fingerprint
    defaults = schedspec.load({**head, "lr": {"kind": "torch.ReduceLROnPlateau", "lr": P, "monitor": "loss"}})
    node = defaults.program.hparams["lr"]
    # torch's defaults: mode min, factor 0.1, patience 10, threshold 1e-4 rel, cooldown 0, min_lr 0, eps 1e-8
    assert (node.mode, node.factor, node.patience, node.threshold, node.threshold_mode, node.cooldown, node.min,
            node.eps) == ("min", 0.1, 10, 1e-4, "rel", 0, 0.0, 1e-8)  # fmt: skip
    # torch.ReduceLROnPlateau's own defaults, read from its signature (not copied from our output)
    import inspect

    sig = inspect.signature(L.ReduceLROnPlateau.__init__).parameters
    assert (node.mode, node.factor, node.patience, node.threshold, node.threshold_mode, node.cooldown, node.min,
            node.eps) == tuple(sig[k].default for k in ("mode", "factor", "patience", "threshold", "threshold_mode",
                                                          "cooldown", "min_lr", "eps"))  # fmt: skip


# ------------------------------------------------------------------------------------------------ keras
KERAS = {
    "ExponentialDecay": (K.ExponentialDecay(0.1, 10, 0.5), {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}, 200),
    "ExponentialDecay staircase": (
        K.ExponentialDecay(0.1, 10, 0.7, staircase=True),
        {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.7, "staircase": True}, 200,
    ),
    "PiecewiseConstantDecay": (
        K.PiecewiseConstantDecay([10, 20, 35], [0.1, 0.05, 0.01, 0.001]),
        {"boundaries": [10, 20, 35], "values": [0.1, 0.05, 0.01, 0.001]}, 70,
    ),
    "PiecewiseConstantDecay boundary 0": (
        K.PiecewiseConstantDecay([0, 5], [0.1, 0.05, 0.01]), {"boundaries": [0, 5], "values": [0.1, 0.05, 0.01]}, 12
    ),
    "PolynomialDecay defaults": (K.PolynomialDecay(0.1, 50), {"initial_learning_rate": 0.1, "decay_steps": 50}, 100),
    "PolynomialDecay warmup": (
        K.PolynomialDecay(0.0, 50, end_learning_rate=0.1), {"initial_learning_rate": 0.0, "decay_steps": 50, "end_learning_rate": 0.1}, 100
    ),
    "PolynomialDecay cycle": (
        K.PolynomialDecay(0.1, 20, 0.01, power=2.0, cycle=True),
        {"initial_learning_rate": 0.1, "decay_steps": 20, "end_learning_rate": 0.01, "power": 2.0, "cycle": True}, 200,
    ),
    "InverseTimeDecay": (K.InverseTimeDecay(0.1, 10, 0.5), {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}, 200),
    "InverseTimeDecay staircase": (
        K.InverseTimeDecay(0.1, 7, 0.5, staircase=True),
        {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5, "staircase": True}, 100,
    ),
    "CosineDecay": (K.CosineDecay(0.1, 100, alpha=0.1), {"initial_learning_rate": 0.1, "decay_steps": 100, "alpha": 0.1}, 200),
    "CosineDecay warmup": (
        K.CosineDecay(0.0, 900, warmup_target=0.1, warmup_steps=100),
        {"initial_learning_rate": 0.0, "decay_steps": 900, "warmup_target": 0.1, "warmup_steps": 100}, 2000,
    ),
    "CosineDecay warmup alpha": (
        K.CosineDecay(0.01, 60, alpha=0.2, warmup_target=0.1, warmup_steps=20),
        {"initial_learning_rate": 0.01, "decay_steps": 60, "alpha": 0.2, "warmup_target": 0.1, "warmup_steps": 20}, 160,
    ),
    "CosineDecayRestarts defaults": (K.CosineDecayRestarts(0.1, 20), {"initial_learning_rate": 0.1, "first_decay_steps": 20}, 300),
    "CosineDecayRestarts t_mul 1.5 m_mul alpha": (
        K.CosineDecayRestarts(0.1, 20, t_mul=1.5, m_mul=0.8, alpha=0.1),
        {"initial_learning_rate": 0.1, "first_decay_steps": 20, "t_mul": 1.5, "m_mul": 0.8, "alpha": 0.1}, 300,
    ),
    "CosineDecayRestarts t_mul 1": (
        K.CosineDecayRestarts(0.1, 15, t_mul=1.0, m_mul=0.5),
        {"initial_learning_rate": 0.1, "first_decay_steps": 15, "t_mul": 1.0, "m_mul": 0.5}, 100,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(KERAS))
def test_keras_kind_equals_keras(name):
    native, params, n = KERAS[name]
    node = {"kind": f"keras.{name.split()[0]}", **params}
    ref = fn_values(native, n)
    got = ours(node, n)
    assert_f32(got, ref, name)
    assert_same_changes(got, ref)


# ------------------------------------------------------------------------------------------------ optax
SGDR = [
    {"init_value": 0.1, "peak_value": 0.1, "warmup_steps": 0, "decay_steps": 20, "end_value": 0.001},
    {
        "init_value": 0.001,
        "peak_value": 0.05,
        "warmup_steps": 5,
        "decay_steps": 40,
        "end_value": 0.0,
        "exponent": 2.0,
    },
]
OPTAX = {
    "constant_schedule": (optax.constant_schedule(0.1), {"value": 0.1}, 10),
    "linear_schedule": (
        optax.linear_schedule(0.1, 0.001, 50, transition_begin=10),
        {"init_value": 0.1, "end_value": 0.001, "transition_steps": 50, "transition_begin": 10}, 120,
    ),
    "linear_schedule disabled": (
        optax.linear_schedule(0.1, 0.001, 0), {"init_value": 0.1, "end_value": 0.001, "transition_steps": 0}, 10
    ),
    "polynomial_schedule": (
        optax.polynomial_schedule(0.1, 0.001, 2.0, 50, 10),
        {"init_value": 0.1, "end_value": 0.001, "power": 2.0, "transition_steps": 50, "transition_begin": 10}, 120,
    ),
    "exponential_decay": (
        optax.exponential_decay(0.1, 10, 0.5), {"init_value": 0.1, "transition_steps": 10, "decay_rate": 0.5}, 200
    ),
    "exponential_decay begin staircase floor": (
        optax.exponential_decay(0.1, 10, 0.5, transition_begin=5, staircase=True, end_value=0.01),
        {"init_value": 0.1, "transition_steps": 10, "decay_rate": 0.5, "transition_begin": 5, "staircase": True,
         "end_value": 0.01}, 100,
    ),
    "exponential_decay growth ceiling": (
        optax.exponential_decay(0.01, 5, 1.5, end_value=0.1),
        {"init_value": 0.01, "transition_steps": 5, "decay_rate": 1.5, "end_value": 0.1}, 60,
    ),
    "exponential_decay floor above init": (
        optax.exponential_decay(0.01, 5, 0.5, transition_begin=3, end_value=0.02),
        {"init_value": 0.01, "transition_steps": 5, "decay_rate": 0.5, "transition_begin": 3, "end_value": 0.02}, 20,
    ),
    "piecewise_constant_schedule": (
        optax.piecewise_constant_schedule(0.1, {10: 0.5, 30: 0.1}),
        {"init_value": 0.1, "boundaries_and_scales": {10: 0.5, 30: 0.1}}, 60,
    ),
    "piecewise_constant_schedule at 0, scale > 1": (
        optax.piecewise_constant_schedule(0.1, {0: 0.5, 7: 3.0}),
        {"init_value": 0.1, "boundaries_and_scales": {0: 0.5, 7: 3.0}}, 20,
    ),
    "piecewise_interpolate_schedule linear": (
        optax.piecewise_interpolate_schedule("linear", 0.1, {10: 0.5, 30: 0.1}),
        {"interpolate_type": "linear", "init_value": 0.1, "boundaries_and_scales": {10: 0.5, 30: 0.1}}, 60,
    ),
    "piecewise_interpolate_schedule cosine at 0": (
        optax.piecewise_interpolate_schedule("cosine", 0.1, {0: 2.0, 25: 0.01}),
        {"interpolate_type": "cosine", "init_value": 0.1, "boundaries_and_scales": {0: 2.0, 25: 0.01}}, 60,
    ),
    "cosine_decay_schedule": (
        optax.cosine_decay_schedule(0.1, 100, alpha=0.1, exponent=2.0),
        {"init_value": 0.1, "decay_steps": 100, "alpha": 0.1, "exponent": 2.0}, 200,
    ),
    "warmup_cosine_decay_schedule": (
        optax.warmup_cosine_decay_schedule(0.0, 0.1, 100, 1000, end_value=0.001),
        {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 100, "decay_steps": 1000, "end_value": 0.001}, 2000,
    ),
    "warmup_cosine_decay_schedule no warmup": (
        optax.warmup_cosine_decay_schedule(0.0, 0.1, 0, 100),
        {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 0, "decay_steps": 100}, 200,
    ),
    "warmup_exponential_decay_schedule": (
        optax.warmup_exponential_decay_schedule(0.0, 0.1, 20, 10, 0.5, transition_begin=5, end_value=0.001),
        {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 20, "transition_steps": 10, "decay_rate": 0.5,
         "transition_begin": 5, "end_value": 0.001}, 150,
    ),
    "warmup_constant_schedule": (
        optax.warmup_constant_schedule(0.0, 0.1, 20), {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 20}, 40
    ),
    "sgdr_schedule": (optax.sgdr_schedule(SGDR), {"cosine_kwargs": SGDR}, 120),
    "cosine_onecycle_schedule": (
        optax.cosine_onecycle_schedule(100, 0.1), {"transition_steps": 100, "peak_value": 0.1}, 200
    ),
    "cosine_onecycle_schedule pct": (
        optax.cosine_onecycle_schedule(90, 0.1, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
        {"transition_steps": 90, "peak_value": 0.1, "pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0}, 180,
    ),
    "linear_onecycle_schedule": (
        optax.linear_onecycle_schedule(100, 0.1), {"transition_steps": 100, "peak_value": 0.1}, 200
    ),
    "join_schedules": (
        optax.join_schedules([optax.linear_schedule(0.0, 0.1, 20), optax.cosine_decay_schedule(0.1, 80),
                              optax.constant_schedule(0.01)], [10, 90]),
        {"schedules": [{"kind": "optax.linear_schedule", "init_value": 0.0, "end_value": 0.1, "transition_steps": 20},
                       {"kind": "optax.cosine_decay_schedule", "init_value": 0.1, "decay_steps": 80},
                       {"kind": "optax.constant_schedule", "value": 0.01}], "boundaries": [10, 90]}, 200,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(OPTAX))
def test_optax_kind_equals_optax(name):
    native, params, n = OPTAX[name]
    node = {"kind": f"optax.{name.split()[0]}", **params}
    ref = fn_values(native, n)
    got = ours(node, n)
    assert_f32(got, ref, name)
    assert_same_changes(got, ref)


def test_every_native_kind_is_tested():
    tested = {f"torch.{n.split()[0]}" for n in TORCH} | {"torch.OneCycleLR", "torch.ReduceLROnPlateau"}
    tested |= {f"keras.{n.split()[0]}" for n in KERAS} | {f"optax.{n.split()[0]}" for n in OPTAX}
    tested |= {"mmengine.param_scheduler", "detectron2.SOLVER"}  # tests/test_dialect_mmengine_detectron2.py
    # transformers.* and timm.*: every kind against the library's own vectors (tests/test_dialect_transformers.py,
    # tests/test_dialect_timm.py); greedy is refused (no neutral spelling)
    import json
    from pathlib import Path

    from schedspec import dialects as native

    vectors = Path(__file__).resolve().parent / "vectors"
    hf = json.loads((vectors / "transformers.json").read_text(encoding="utf-8"))
    tested |= {f"transformers.{c['config']['lr_scheduler_type']}" for c in hf} | {"transformers.greedy"}
    classes = {"CosineLRScheduler": "cosine", "TanhLRScheduler": "tanh", "StepLRScheduler": "step",
               "MultiStepLRScheduler": "multistep", "PolyLRScheduler": "poly", "PlateauLRScheduler": "plateau"}  # fmt: skip
    timm = json.loads((vectors / "timm.json").read_text(encoding="utf-8"))
    tested |= {f"timm.{classes[c['api'].split('.')[-1]]}" for c in timm if c["api"].split(".")[-1] in classes}
    assert set(native.KINDS) == tested


# ------------------------------------------------------------------------------------------------ translations
def test_keras_cosine_decay_with_warmup_to_torch():
    """keras.CosineDecay (warmup excluded from decay_steps) compiled to a torch scheduler = the Keras schedule."""
    spec = {"schedspec": 1, "lr": {"kind": "keras.CosineDecay", "initial_learning_rate": 0.0, "decay_steps": 900,
                                   "warmup_target": 0.1, "warmup_steps": 100, "alpha": 0.05}}  # fmt: skip
    n = 2000
    opt = optimizer()
    got = stepped(schedspec.to_torch(spec, opt), opt, n)
    assert_f32(
        got, fn_values(K.CosineDecay(0.0, 900, alpha=0.05, warmup_target=0.1, warmup_steps=100), n), "torch"
    )
    src = schedspec.emit(spec, "torch")  # the emitted standalone module agrees too
    scope: dict = {}
    exec(compile(src, "<emitted>", "exec"), scope)  # noqa: S102 - our own generated module
    opt = optimizer()
    assert_f32(stepped(scope["build_scheduler"](opt), opt, n), got, "emitted torch module")


def test_torch_onecycle_to_optax():
    spec = {"schedspec": 1, "lr": {"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 1000}}
    n = 1000
    ref = torch_values(lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=1000), n)
    sched = schedspec.to_optax(spec)
    assert_f32(np.asarray(sched(jnp.arange(n))), ref, "optax")
    # and inside an optax optimizer: the lr sgd applied at update k
    tx = optax.sgd(learning_rate=sched)
    params = jnp.zeros(())
    state = tx.init(params)
    applied = []
    update = jax.jit(tx.update)
    for _ in range(50):
        u, state = update(jnp.ones(()), state, params)
        applied.append(-float(u))
    assert_f32(applied, ref[:50], "optax.sgd applied lr")


def test_optax_sgdr_to_keras():
    spec = {"schedspec": 1, "lr": {"kind": "optax.sgdr_schedule", "cosine_kwargs": SGDR * 2}}
    n = 250
    sched = schedspec.to_keras(spec)
    got = np.asarray([float(sched(k)) for k in range(n)])
    assert_f32(got, fn_values(optax.sgdr_schedule(SGDR * 2), n), "keras")


def test_torch_sequential_warmup_cosine_to_optax():
    node = {"kind": "torch.SequentialLR", "lr": 0.1, "milestones": [100],
            "schedulers": [{"kind": "torch.LinearLR", "start_factor": 0.01, "total_iters": 100},
                           {"kind": "torch.CosineAnnealingLR", "T_max": 900}]}  # fmt: skip
    n = 2000  # twice the nominal length: torch's cosine comes back up after T_max, and so does the optax schedule
    ref = torch_values(
        lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.01, 1.0, 100), L.CosineAnnealingLR(o, 900)], [100]), n
    )
    got = np.asarray(schedspec.to_optax({"schedspec": 1, "lr": node})(jnp.arange(n)))
    assert_f32(got, ref, "optax")


# ------------------------------------------------------------------------------------------------ bad input
def problems(node, **head) -> list[str]:
    with pytest.raises(SpecError) as info:
        schedspec.load({"schedspec": 1, **head, "lr": node})
    return [i.message for i in info.value.issues]


def test_unknown_native_parameter_gets_the_framework_names():
    missing, msg = problems({"kind": "torch.CosineAnnealingLR", "lr": 0.1, "T_maxx": 10})
    assert missing == "missing required key `T_max` for kind `torch.CosineAnnealingLR`"
    assert "unknown key `T_maxx` for `torch.CosineAnnealingLR`; did you mean 'T_max'?" in msg
    assert "(valid keys: duration, kind, lr, T_max, eta_min)" in msg
    _, msg = problems({"kind": "keras.CosineDecay", "initial_learning_rate": 0.1, "decay_step": 10})
    assert "unknown key `decay_step` for `keras.CosineDecay`; did you mean 'decay_steps'?" in msg
    (msg,) = problems({"kind": "optax.warmup_cosine_decay_schedule", "init_value": 0, "peak_value": 0.1,
                       "warmup_steps": 1, "decay_steps": 10, "end_val": 0.0})  # fmt: skip
    assert "unknown key `end_val`" in msg and "did you mean 'end_value'?" in msg
    _, msg = problems({"kind": "optax.sgdr_schedule", "cosine_kwargs": [{"init_value": 0.1, "peak_value": 0.1,
                       "warmup_steps": 0, "decay_step": 10}]})  # fmt: skip
    assert (
        "unknown key `decay_step` for an optax.sgdr_schedule `cosine_kwargs` entry; did you mean 'decay_steps'?"
        in msg
    )


def test_unknown_native_kind_gets_a_did_you_mean_among_the_framework_kinds():
    (msg,) = problems({"kind": "torch.StepLr", "lr": 0.1, "step_size": 3})
    assert (
        "unknown kind 'torch.StepLr'; did you mean 'torch.StepLR'?" in msg
        and "torch kinds: torch.StepLR" in msg
    )
    (msg,) = problems({"kind": "optax.cosine_decay", "init_value": 0.1, "decay_steps": 3})
    assert "did you mean 'optax.cosine_decay_schedule'?" in msg


@pytest.mark.parametrize(
    "node, native_error, expected",
    [
        ({"kind": "torch.LinearLR", "lr": 0.1, "start_factor": 0},
         lambda o: L.LinearLR(o, start_factor=0), "torch.LinearLR needs 0 < start_factor <= 1"),
        ({"kind": "torch.LinearLR", "lr": 0.1, "end_factor": 1.5},
         lambda o: L.LinearLR(o, end_factor=1.5), "torch.LinearLR needs 0 <= end_factor <= 1"),
        ({"kind": "torch.ConstantLR", "lr": 0.1, "factor": 2},
         lambda o: L.ConstantLR(o, factor=2), "torch.ConstantLR needs 0 <= factor <= 1"),
        ({"kind": "torch.ReduceLROnPlateau", "lr": 0.1, "monitor": "loss", "factor": 1.0},
         lambda o: L.ReduceLROnPlateau(o, factor=1.0), "torch.ReduceLROnPlateau needs factor < 1.0"),
        ({"kind": "torch.CosineAnnealingWarmRestarts", "lr": 0.1, "T_0": 0},
         lambda o: L.CosineAnnealingWarmRestarts(o, T_0=0), "positive integer T_0"),
        ({"kind": "torch.CosineAnnealingWarmRestarts", "lr": 0.1, "T_0": 5, "T_mult": 0},
         lambda o: L.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=0), "must be >= 1"),
        ({"kind": "torch.OneCycleLR", "max_lr": 0.1},
         lambda o: L.OneCycleLR(o, max_lr=0.1), "either total_steps OR (epochs AND steps_per_epoch)"),
        ({"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 0},
         lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=0), "positive integer total_steps"),
        ({"kind": "torch.SequentialLR", "lr": 0.1, "schedulers": [{"kind": "torch.StepLR", "step_size": 2}], "milestones": [3]},
         lambda o: L.SequentialLR(o, [L.StepLR(o, 2)], [3]), "one more than the number of milestones"),
        ({"kind": "torch.SequentialLR", "lr": 0.1, "milestones": [], "schedulers": [
            {"kind": "torch.ReduceLROnPlateau", "monitor": "loss"}]},
         lambda o: L.SequentialLR(o, [L.ReduceLROnPlateau(o)], []), "does not support `ReduceLROnPlateau`"),
    ],
)  # fmt: skip
def test_values_the_torch_constructor_rejects_are_rejected_with_its_rule(node, native_error, expected):
    with pytest.raises((ValueError, TypeError)):
        native_error(optimizer())  # torch itself rejects it
    msgs = problems(node)
    assert any(expected in m for m in msgs), msgs


@pytest.mark.parametrize(
    "node, native_error, expected",
    [
        ({"kind": "keras.ExponentialDecay", "initial_learning_rate": 0.1, "decay_steps": 0, "decay_rate": 0.5},
         lambda: K.ExponentialDecay(0.1, 0, 0.5), "Argument `decay_steps` must be > 0"),
        ({"kind": "keras.CosineDecayRestarts", "initial_learning_rate": 0.1, "first_decay_steps": 0},
         lambda: K.CosineDecayRestarts(0.1, 0), "Argument `first_decay_steps` must be > 0"),
        ({"kind": "keras.PiecewiseConstantDecay", "boundaries": [10], "values": [0.1]},
         lambda: K.PiecewiseConstantDecay([10], [0.1]), "The length of boundaries should be 1 less"),
        ({"kind": "optax.cosine_decay_schedule", "init_value": 0.1, "decay_steps": 0},
         lambda: optax.cosine_decay_schedule(0.1, 0), "requires positive decay_steps"),
        ({"kind": "optax.warmup_cosine_decay_schedule", "init_value": 0.0, "peak_value": 0.1, "warmup_steps": 10,
          "decay_steps": 10}, lambda: optax.warmup_cosine_decay_schedule(0.0, 0.1, 10, 10), "decay_steps must exceed warmup_steps"),
        ({"kind": "optax.piecewise_constant_schedule", "init_value": 0.1, "boundaries_and_scales": {10: -1.0}},
         lambda: optax.piecewise_constant_schedule(0.1, {10: -1.0}), "non-negative scale factors"),
        ({"kind": "optax.cosine_onecycle_schedule", "transition_steps": 0, "peak_value": 0.1},
         lambda: optax.cosine_onecycle_schedule(0, 0.1), "non-positive `transition_steps`"),
    ],
)  # fmt: skip
def test_values_keras_and_optax_reject_are_rejected_with_their_rule(node, native_error, expected):
    with pytest.raises(ValueError):
        native_error()
    msgs = problems(node)
    assert any(expected in m for m in msgs), msgs


def test_unfaithful_combinations_are_refused_with_the_reason():
    chained = {
        "kind": "torch.ChainedScheduler",
        "lr": 0.1,
        "schedulers": [
            {"kind": "torch.ExponentialLR", "gamma": 0.9},
            {"kind": "torch.CosineAnnealingLR", "T_max": 10, "eta_min": 0.01},
        ],
    }
    (msg,) = problems(chained)
    assert "eta_min != 0 cannot be chained" in msg and "affine" in msg
    chained["schedulers"][1]["eta_min"] = 0.0
    (msg,) = problems(chained)  # the exponential never settles, so torch's lr after T_max is not a product
    assert "must stop changing by T_max = 10" in msg
    (msg,) = problems(
        {
            "kind": "torch.ChainedScheduler",
            "lr": 0.1,
            "schedulers": [{"kind": "torch.OneCycleLR", "max_lr": 1, "total_steps": 9}],
        }
    )
    assert "overwriting the other schedulers' factors" in msg
    (msg,) = problems(
        {
            "kind": "torch.SequentialLR",
            "lr": 0.1,
            "milestones": [3],
            "schedulers": [
                {"kind": "torch.StepLR", "lr": 0.2, "step_size": 2},
                {"kind": "torch.ExponentialLR", "gamma": 0.9},
            ],
        }
    )
    assert "give `lr` once, on the torch.SequentialLR" in msg
    (msg,) = problems(
        {
            "kind": "torch.SequentialLR",
            "lr": 0.1,
            "milestones": [3],
            "schedulers": [
                {"kind": "torch.StepLR", "step_size": 2},
                {"kind": "cosine", "start": 0.1, "duration": 9},
            ],
        }
    )
    assert "expected a torch kind here" in msg
    (msg,) = problems({"kind": "torch.StepLR", "step_size": 2})
    assert "missing `lr`" in msg
    (msg,) = problems(
        {
            "kind": "torch.SequentialLR",
            "lr": 0.1,
            "milestones": [10],
            "schedulers": [
                {"kind": "torch.CyclicLR", "base_lr": 0.01, "max_lr": 0.2, "step_size_up": 3},
                {"kind": "torch.ExponentialLR", "gamma": 0.9},
            ],
        }
    )
    assert "sets the optimizer's initial_lr to its base_lr" in msg
    for nested in ("torch.SequentialLR", "torch.ChainedScheduler"):
        (msg,) = problems(
            {
                "kind": "torch.SequentialLR",
                "lr": 0.1,
                "milestones": [3],
                "schedulers": [
                    {"kind": "torch.StepLR", "step_size": 2},
                    {
                        "kind": nested,
                        "schedulers": [{"kind": "torch.StepLR", "step_size": 2}],
                        **({"milestones": []} if nested == "torch.SequentialLR" else {}),
                    },
                ],
            }
        )
        assert f"{nested} inside torch.SequentialLR is not supported" in msg
    (msg,) = problems({"kind": "keras.CosineDecay", "initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.1,
                       "warmup_target": "$peak", "warmup_steps": 2}, vars={"peak": 0.2})  # fmt: skip
    assert "must be a number here, not a var" in msg and "alpha * (warmup_target" in msg


def test_errors_are_positioned_at_the_native_parameter():
    text = "schedspec: 1\nlr:\n  kind: torch.LinearLR\n  lr: 0.1\n  start_factor: 0\n"
    with pytest.raises(SpecError) as info:
        schedspec.loads(text, "n.yaml")
    assert str(info.value) == (
        "n.yaml:5:17: `start_factor`: torch.LinearLR needs 0 < start_factor <= 1 ('Starting multiplicative factor "
        "expected to be greater than 0 and less or equal to 1.') (got 0)"
    )


# ------------------------------------------------------------------------------------------------ fuzzing
def _field_strategy(name: str, prop: dict, children):
    """A hypothesis strategy for one native parameter, from its JSON Schema: mostly plausible, sometimes not."""
    from hypothesis import strategies as st

    odd = st.sampled_from([-1, 0, 1.5, "$peak", "$w", "2ep", "abc", None, float("nan")])
    if name in ("schedulers", "schedules"):
        return st.lists(children, min_size=1, max_size=3)
    if name == "cosine_kwargs":
        kw = st.fixed_dictionaries(
            {"init_value": st.floats(0, 0.2), "peak_value": st.floats(0, 0.2), "warmup_steps": st.integers(0, 10),
             "decay_steps": st.integers(1, 40)}, optional={"end_value": st.floats(0, 0.01), "exponent": st.floats(0.5, 3)})  # fmt: skip
        return st.lists(kw, min_size=1, max_size=3)
    if name == "monitor":
        return st.just("val_loss")
    kinds = {x.get("type") for x in prop.get("anyOf", [prop])}
    if "enum" in prop or "const" in prop:
        plain = st.sampled_from(prop.get("enum") or [prop.get("const")])
    elif prop.get("type") == "boolean":
        plain = st.booleans()
    elif prop.get("type") == "array":
        item = prop.get("items", {})
        item_kinds = {x.get("type") for x in item.get("anyOf", [item])}
        elem = st.integers(0, 50) if "integer" in item_kinds else st.floats(0.0001, 0.2)
        plain = st.lists(elem, max_size=4)
    elif prop.get("type") == "object":
        plain = st.dictionaries(st.integers(0, 50), st.floats(0, 2), max_size=3)
    elif "integer" in kinds:
        plain = st.integers(0, 40) | st.just("2ep")
    elif "number" in kinds:
        plain = st.floats(0.0001, 1.0) | st.sampled_from([0.0, 1.0, "$peak"])
    else:
        plain = st.integers(1, 5)
    return st.one_of(plain, plain, plain, odd)


def _native_trees():
    from hypothesis import strategies as st

    from schedspec import dialects as native

    def node(children):
        def one(kind):
            model = native.KINDS[kind]
            schema = model.model_json_schema()
            if "$ref" in schema:  # a recursive model (SequentialLR, ChainedScheduler, join_schedules)
                schema = schema["$defs"][schema["$ref"].rsplit("/", 1)[1]]
            props, required = schema["properties"], set(schema.get("required", [])) - {"kind"}
            fields = {
                f: _field_strategy(f, props.get(f, {}), children) for f in model.model_fields if f != "kind"
            }
            fields.pop("duration", None)
            return st.fixed_dictionaries(
                {"kind": st.just(kind), **{f: fields[f] for f in required if f in fields}},
                optional={f: v for f, v in fields.items() if f not in required}
                | {"duration": st.integers(1, 60)},
            )

        return st.sampled_from(sorted(native.KINDS)).flatmap(one)

    leaf = node(st.just({"kind": "torch.StepLR", "step_size": 3}))
    return st.recursive(leaf, node, max_leaves=4)


def test_fuzzed_native_kinds_only_ever_raise_spec_errors():
    """Whatever the parameters, a native kind loads or fails with SpecErrors; a loaded one evaluates, prints its
    notes and round-trips through YAML and translation with its fingerprint."""
    from hypothesis import HealthCheck, given, settings

    from schedspec.cli.translate import neutral_text
    from schedspec.dialects import neutral_document
    from schedspec.evaluator import evaluate_numpy

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_native_trees(), st_bool())
    def run(lr, first):
        doc = {"schedspec": 1, "steps_per_epoch": 4, "total": 80, "vars": {"peak": 0.5, "w": 6},
               "lr": [{"kind": "constant", "value": 0.05, "duration": 7}, lr] if first else lr}  # fmt: skip
        try:
            s = schedspec.load(doc)
        except SpecError as exc:
            assert exc.issues and all(i.message for i in exc.issues)
            return
        assert all(n.severity == "note" for n in s.notes)
        assert schedspec.loads(s.to_yaml()).fingerprint == s.fingerprint
        try:
            text = neutral_text(s, "neutral.yaml")
        except SpecError as exc:  # refused, positioned at the framework kind: only for a phase past `total`
            (issue,) = exc.issues
            assert issue.path and "no valid neutral spelling" in issue.message and "after `total`" in issue.message
        else:
            assert schedspec.loads(text).fingerprint == s.fingerprint
            assert schedspec.load(neutral_document(s)).fingerprint == s.fingerprint
        try:
            evaluate_numpy(s, np.arange(0, 50), "lr")
        except SpecError:
            pass

    run()


def st_bool():
    from hypothesis import strategies as st

    return st.booleans()


# ------------------------------------------------------------------------------------------------ cuts
def _own_cuts(params: dict, n: int) -> list[int]:
    """Up to 6 of a framework kind's own boundaries in [1, n - 2] (every whole number in its parameters and the
    sums of them: restarts, milestones, a warmup plus a decay), spread over the range."""
    own = sorted(b for b in own_boundaries(params) if 1 <= b <= n - 2)
    return own if len(own) <= 6 else [own[round(i * (len(own) - 1) / 5)] for i in range(6)]


def _native_cases():
    for fw, table in (("torch", TORCH), ("keras", KERAS), ("optax", OPTAX)):
        for name, (_, params, n) in table.items():
            for b in _own_cuts(params, n):
                yield pytest.param(fw, name, b, id=f"{fw}-{name}-cut{b}")


@functools.cache
def _native_ref(fw: str, name: str) -> np.ndarray:
    make, _, n = {"torch": TORCH, "keras": KERAS, "optax": OPTAX}[fw][name]
    return torch_values(make, n) if fw == "torch" else fn_values(make, n)


@pytest.mark.parametrize("fw, name, cut", list(_native_cases()))
def test_native_kind_cut_by_duration_holds_the_native_value_at_the_cut(fw, name, cut):
    """Every framework kind cut by `duration` at each of its own boundaries (and at other whole numbers of its
    parameters) holds, from the cut on, the native object's value AT the cut step (every node holds its value at
    its duration), and equals it before. The kind of the fault test_faults.py::
    test_framework_kind_cut_at_its_own_boundary_holds_the_value_there held (the value before the boundary)."""
    _, params, _ = {"torch": TORCH, "keras": KERAS, "optax": OPTAX}[fw][name]
    cls = name.split()[0]
    node = {"kind": f"{fw}.{cls}", **params, "duration": cut}
    if fw == "torch" and cls != "CyclicLR":
        node["lr"] = P
    ref = _native_ref(fw, name)
    ks = np.r_[np.arange(cut + 1), cut + 1, cut + 7, 2**31 - 1]
    want = ref[np.minimum(ks, cut)]
    got = evaluate_numpy(schedspec.load({"schedspec": 1, "lr": node}), ks)
    (assert_f64 if fw == "torch" else assert_f32)(got, want, f"{name} cut at {cut}")


@pytest.mark.parametrize("kind, want", [
    ("{kind: torch.ConstantLR, lr: 0.1, factor: 0.1, total_iters: 100}", [0.1 * 0.1] * 4),
    ("{kind: detectron2.SOLVER}", None),
])  # fmt: skip
def test_translate_to_neutral_of_a_kind_running_past_total_writes_its_cut_spelling(kind, want, tmp_path):
    """A framework kind may run its own phases past `total` (torch.ConstantLR's factor ends at step 100, the
    detectron2 warmup at 1000, both after `total: 80`). An open last phase runs to `total` and holds its value
    there (docs/language.md), so the kind is cut at `total` when it is loaded, and `translate --to-neutral` writes
    that cut spelling: the same fingerprint and values, the values after `total` held. (Before, the uncut neutral
    spelling had a phase beginning after `total`: translate refused it, and loading kept the framework's values
    past `total`, torch.ConstantLR's 0.1 from k = 100.)"""
    import subprocess
    import sys

    path = tmp_path / "s.yaml"
    path.write_text(f"schedspec: 1\ntotal: 80\nlr: {kind}\n")
    out = tmp_path / "n.yaml"
    proc = subprocess.run([sys.executable, "-m", "schedspec", "translate", str(path), "--to-neutral", "-o", str(out)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    spec, neutral = schedspec.load(str(path)), schedspec.load(str(out))
    assert neutral.fingerprint == spec.fingerprint
    ks = [0, 79, 80, 81, 100, 2**31 - 1]
    got = schedspec.evaluate(spec, ks, dtype="float64")
    assert got.tolist() == schedspec.evaluate(neutral, ks, dtype="float64").tolist()
    assert (got[2:] == got[2]).all(), got  # held from `total` on
    if want is not None:
        assert got[:4].tolist() == pytest.approx(want, rel=1e-15, abs=0)
