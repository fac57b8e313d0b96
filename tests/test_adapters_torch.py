"""The PyTorch adapter (``schedspec.to_torch``) against native torch schedulers, the lr an optimizer applied, the
JAX evaluator, checkpoints, and its errors.

Tolerances (float64 against float64): ``|a - b| <= 1e-12 * peak + 1e-10 * |b|``, ``peak = max |reference|``.
"""

from __future__ import annotations

import glob
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

import schedspec  # noqa: E402
from schedspec import ir  # noqa: E402

lr_scheduler = torch.optim.lr_scheduler
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml")))


# ------------------------------------------------------------------------------------------------ helpers
def assert_f64(ours, ref, what: str = "") -> None:
    """float64 parity: ``|a - b| <= 1e-12 * peak + 1e-10 * |b|`` elementwise."""
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape, (what, ours.shape, ref.shape)
    peak = float(np.max(np.abs(ref))) if ref.size else 0.0
    err = np.abs(ours - ref)
    bad = np.nonzero(err > 1e-12 * peak + 1e-10 * np.abs(ref))[0]
    if bad.size:
        i = int(bad[0])
        pytest.fail(
            f"{what}: {bad.size} values differ; first at index {i}: ours {ours[i]!r}, reference {ref[i]!r}"
        )


def make_optimizer(lrs=(0.1,), kind: str = "sgd") -> torch.optim.Optimizer:
    """An optimizer with one single-parameter group per lr in ``lrs``."""
    groups = [{"params": [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))], "lr": lr} for lr in lrs]
    if kind == "adam":
        return torch.optim.Adam(groups, lr=lrs[0])
    return torch.optim.SGD(groups, lr=lrs[0])


def run(sched, opt, n: int) -> np.ndarray:
    """The lr of updates 0..n-1 under the documented loop (``optimizer.step(); scheduler.step()``): groups x n."""
    out = []
    for _ in range(n):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    return np.asarray(out, dtype=np.float64).T


def ours(spec, n: int, lrs=(0.1,), **kw) -> np.ndarray:
    opt = make_optimizer(lrs)
    return run(schedspec.to_torch(spec, opt, **kw), opt, n)


def native(make, n: int, lrs=(0.1,)) -> np.ndarray:
    opt = make_optimizer(lrs)
    return run(make(opt), opt, n)


def reference(spec, n: int, **kw) -> np.ndarray:
    """schedspec's JAX evaluator in float64 at k = 0..n-1."""
    return schedspec.evaluate(spec, np.arange(n), dtype="float64", **kw)


def lr_spec(schedule) -> dict:
    return {"schedspec": 1, "lr": schedule}


# ------------------------------------------------------------------------------------------------ 1. native parity
P, A = 0.1, 0.004  # peak, warmup start

NATIVE_CASES = {
    "steplr": (
        lambda o: lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
        {"kind": "step", "start": P, "every": 7, "gamma": 0.5},
        100,
    ),
    "multisteplr_repeated_milestone": (
        lambda o: lr_scheduler.MultiStepLR(o, milestones=[10, 25, 25, 40], gamma=0.3),
        {"kind": "multistep", "start": P, "milestones": [10, 25, 25, 40], "gamma": 0.3},
        100,
    ),
    "exponentiallr": (
        lambda o: lr_scheduler.ExponentialLR(o, gamma=0.97),
        {"kind": "exponential", "start": P, "gamma": 0.97},
        200,
    ),
    "linearlr_warmup": (
        lambda o: lr_scheduler.LinearLR(o, start_factor=A / P, end_factor=1.0, total_iters=37),
        {"kind": "linear", "start": A, "end": P, "duration": 37},
        2 * 37,
    ),
    "polynomiallr": (
        lambda o: lr_scheduler.PolynomialLR(o, total_iters=50, power=2.0),
        {"kind": "polynomial", "start": P, "end": 0.0, "power": 2.0, "duration": 50},
        2 * 50,
    ),
    "polynomiallr_linear": (
        lambda o: lr_scheduler.PolynomialLR(o, total_iters=33, power=1.0),
        {"kind": "polynomial", "start": P, "duration": 33},
        2 * 33,
    ),
    "sequentiallr_warmup_cosine": (
        lambda o: lr_scheduler.SequentialLR(
            o,
            [
                lr_scheduler.LinearLR(o, start_factor=A / P, end_factor=1.0, total_iters=20),
                lr_scheduler.CosineAnnealingLR(o, T_max=80, eta_min=0.002),
            ],
            milestones=[20],
        ),
        [
            {"kind": "linear", "start": A, "end": P, "duration": 20},
            {"kind": "cosine", "end": 0.002, "duration": 80},
        ],
        101,  # k = 0..D; past D torch's cosine rises again, ours holds (checked in the cosine test)
    ),
    "cawr_tmult1": (
        lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=1, eta_min=0.001),
        {"kind": "repeat", "of": {"kind": "cosine", "start": P, "end": 0.001, "duration": 10}},
        2 * 75,
    ),
    "cawr_tmult2": (
        lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=0.001),
        {"kind": "repeat", "mult": 2, "of": {"kind": "cosine", "start": P, "end": 0.001, "duration": 10}},
        2 * 150,
    ),
    "cawr_tmult3": (
        lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=3, eta_min=0.0),
        {"kind": "repeat", "mult": 3, "of": {"kind": "cosine", "start": P, "duration": 3}},
        2 * 120,
    ),
}
for _mode in ("triangular", "triangular2", "exp_range"):
    NATIVE_CASES[f"cycliclr_{_mode}"] = (
        lambda o, m=_mode: lr_scheduler.CyclicLR(
            o,
            base_lr=0.01,
            max_lr=P,
            step_size_up=10,
            step_size_down=15,
            mode=m,
            gamma=0.99,
            cycle_momentum=False,
        ),
        {"kind": "cyclic", "low": 0.01, "high": P, "up": 10, "down": 15, "mode": _mode, "gamma": 0.99},
        2 * 4 * 25,
    )


@pytest.mark.parametrize("case", sorted(NATIVE_CASES))
def test_native_parity(case):
    make, schedule, n = NATIVE_CASES[case]
    assert_f64(ours(lr_spec(schedule), n)[0], native(make, n)[0], case)


@pytest.mark.parametrize("eta_min", [0.0, 0.003])
def test_cosine_annealing_up_to_tmax_then_holds(eta_min):
    T = 60
    mine = ours(lr_spec({"kind": "cosine", "start": P, "end": eta_min, "duration": T}), 2 * T + 1)[0]
    theirs = native(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=T, eta_min=eta_min), 2 * T + 1)[0]
    assert_f64(mine[: T + 1], theirs[: T + 1], "k <= T_max")
    # torch's CosineAnnealingLR is periodic past T_max; ours clamps at the value torch reaches at T_max
    assert_f64(mine[T:], np.full(T + 1, theirs[T]), "k >= T_max holds")
    assert theirs[2 * T] > theirs[T]  # (the native one does rise again: the two really differ there)


@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_onecycle_parity(anneal, three_phase):
    N, pct, div, fdiv = 97, 0.3, 20.0, 500.0
    spec = lr_spec(
        {"kind": "onecycle", "peak": P, "duration": N, "pct_start": pct, "div_factor": div,
         "final_div_factor": fdiv, "anneal": anneal, "three_phase": three_phase}
    )  # fmt: skip
    theirs = native(
        lambda o: lr_scheduler.OneCycleLR(
            o, max_lr=P, total_steps=N, pct_start=pct, anneal_strategy=anneal, three_phase=three_phase,
            div_factor=div, final_div_factor=fdiv, cycle_momentum=False,
        ),
        N,
    )[0]  # fmt: skip
    mine = ours(spec, 2 * N)[0]
    assert_f64(mine[:N], theirs, "k <= N-1")
    assert_f64(mine[N - 1 :], np.full(N + 1, theirs[N - 1]), "holds from N-1 on")


def test_param_groups_scale_by_initial_lr():
    lrs = (0.1, 0.25, 0.0125)
    schedule = {"kind": "step", "start": lrs[0], "every": 5, "gamma": 0.5}
    mine = ours(lr_spec(schedule), 40, lrs=lrs)
    theirs = native(lambda o: lr_scheduler.StepLR(o, step_size=5, gamma=0.5), 40, lrs=lrs)
    for g in range(len(lrs)):
        assert_f64(mine[g], theirs[g], f"group {g}")
    # group 0 gets exactly the spec value (the same as with a single group)
    assert mine[0].tolist() == ours(lr_spec(schedule), 40)[0].tolist()

    cos = lr_spec({"kind": "cosine", "start": 0.1, "end": 0.001, "duration": 30})
    mine = ours(cos, 60, lrs=lrs)
    theirs = native(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=30, eta_min=0.001), 31, lrs=(0.1,))[0]
    assert mine[0].tolist() == ours(cos, 60)[0].tolist()
    assert_f64(mine[0][:31], theirs, "group 0 vs native")
    for g in (1, 2):
        assert_f64(mine[g], mine[0] * (lrs[g] / lrs[0]), f"group {g} ratio")


def test_tensor_lr_group():
    param = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([param], lr=torch.tensor(0.1, dtype=torch.float64))
    spec = lr_spec(
        [{"kind": "linear", "start": 0.0, "end": 0.1, "duration": 10}, {"kind": "cosine", "duration": 20}]
    )
    sched = schedspec.to_torch(spec, opt)
    got = []
    for _ in range(40):
        got.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        sched.step()
    assert isinstance(opt.param_groups[0]["lr"], torch.Tensor)
    assert_f64(got, reference(spec, 40))


# ------------------------------------------------------------------------------------------------ 2. examples
def _boundaries(node: ir.Node) -> list[int]:
    """Begins of the top-level phases of a bound node (where values change kind)."""
    if not isinstance(node, ir.Sequence):
        return []
    out, b = [], 0
    for part in node.parts[:-1]:
        b += part.duration
        out.append(b)
    return out


def values_at(sched, opt, ks) -> np.ndarray:
    """Group-0 lrs at the sorted update indices ``ks``: consecutive ones by ``step()``, jumps by setting
    ``last_epoch = k - 1`` and then ``step()`` (what a resumed scheduler does)."""
    out, last = [], 0
    opt.step()
    for k in ks:
        if k != last:
            if k != last + 1:
                sched.last_epoch = k - 1
            sched.step()
            last = k
        out.append(opt.param_groups[0]["lr"])
    return np.asarray(out)


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_examples_match_evaluate(path):
    spec = schedspec.load(path)
    member = spec.program.sweep_members()[0] if spec.program.sweep_vars else None  # a sweep: its first member
    if any(isinstance(n, ir.Plateau) for n in _walk(spec.program.hparams["lr"])):  # fed a flat metric
        spe = spec.program.steps_per_epoch if spec.program.interval == "step" else 1
        opt = make_optimizer()
        sched = schedspec.to_torch(spec, opt, vars=member, hparams=[])
        lrs = []
        for _ in range(40):
            for _ in range(spe or 1):
                lrs.append(opt.param_groups[0]["lr"])
                opt.step()
                sched.step()
            sched.report(sched._reports.names[0], 1.0)
        metrics = {sched._reports.names[0]: [1.0] * 40}
        assert_f64(lrs, schedspec.evaluate(spec, np.arange(len(lrs)), vars=member, metrics=metrics, dtype="float64"))
        return
    bound = (spec.with_vars(member) if member else spec).bound()
    node = bound.hparams["lr"]
    length = node.duration or bound.total or 1000
    end = 2 * length
    if end <= 200_000:
        ks = np.arange(end + 1)
    else:  # long schedules: every step near the start, the boundaries and the end; a stride elsewhere
        pieces = [np.arange(20_000), np.linspace(0, end, 20_001).astype(np.int64)]
        for b in [*_boundaries(node), length, end]:
            pieces.append(np.arange(max(b - 500, 0), min(b + 500, end + 1)))
        ks = np.unique(np.concatenate(pieces))
    groups = list(spec.program.groups)  # spec groups need param groups carrying their names; group 0 has none
    opt = make_optimizer((0.1,) * (1 + len(groups)))
    for i, name in enumerate(groups, start=1):
        opt.param_groups[i]["name"] = name
    sched = schedspec.to_torch(spec, opt, vars=member)
    got = values_at(sched, opt, ks.tolist())
    assert_f64(got, schedspec.evaluate(spec, ks, vars=member, dtype="float64"), os.path.basename(path))


def _walk(node):
    yield node
    for child in node.children():
        yield from _walk(child)


def test_epoch_interval_steps_once_per_epoch():
    spec = schedspec.loads(
        "schedspec: 1\ninterval: epoch\nlr:\n  - {kind: linear, duration: 3, start: 0.01, end: 0.1}\n"
        "  - {kind: cosine, duration: 7, end: 0.0}\n"
    )
    steps_per_epoch, epochs = 4, 14
    opt = make_optimizer()
    sched = schedspec.to_torch(spec, opt)
    seen = []
    for _ in range(epochs):
        for _ in range(steps_per_epoch):
            seen.append(opt.param_groups[0]["lr"])
            opt.step()
        sched.step()
    per_epoch = reference(spec, epochs)
    assert_f64(seen, np.repeat(per_epoch, steps_per_epoch))


# ------------------------------------------------------------------------------------------------ 3. applied lr
WARMUP_COSINE = lr_spec(
    [
        {"kind": "linear", "start": 0.0, "end": 0.05, "duration": 40},
        {"kind": "cosine", "end": 0.001, "duration": 200},
    ]
)


def _train(kind: str, steps: int):
    """Train a tiny float64 model with the documented loop; return (lr read before each step, recovered lr)."""
    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Linear(8, 1, dtype=torch.float64)
    x = torch.randn(64, 8, generator=gen, dtype=torch.float64)
    y = torch.randn(64, 1, generator=gen, dtype=torch.float64)
    if kind == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.0)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1.0)
    sched = schedspec.to_torch(WARMUP_COSINE, opt)
    read, applied = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean() + 1.0  # + 1: keeps gradients away from 0
        loss.backward()
        before = [p.detach().clone() for p in model.parameters()]
        grads = [p.grad.detach().clone() for p in model.parameters()]
        read.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        # SGD without momentum: delta = -lr * grad; least squares over every parameter element
        delta = torch.cat([(b - p.detach()).flatten() for b, p in zip(before, model.parameters())])
        g = torch.cat([gr.flatten() for gr in grads])
        applied.append(float((delta @ g) / (g @ g)))
    return np.asarray(read), np.asarray(applied)


def test_sgd_applies_the_spec_lr():
    steps = 300
    read, applied = _train("sgd", steps)
    ref = reference(WARMUP_COSINE, steps)
    assert_f64(read, ref, "param_groups lr before each step")
    # the recovered lr carries the rounding of the float64 parameter update (~1e-16 / |grad|): 1e-12 * peak
    peak = ref.max()
    assert np.max(np.abs(applied - ref)) <= 1e-12 * peak + 1e-10 * peak
    assert applied[0] == 0.0 and applied[40] == pytest.approx(0.05, rel=1e-12)


def test_adam_reads_the_spec_lr():
    read, _ = _train("adam", 250)
    assert_f64(read, reference(WARMUP_COSINE, 250), "Adam param_groups lr before each step")


# ------------------------------------------------------------------------------------------------ 4. resume
def _model_and_opt():
    torch.manual_seed(1)
    model = torch.nn.Linear(4, 2, dtype=torch.float64)
    opt = torch.optim.SGD(
        [{"params": [model.weight], "lr": 0.2}, {"params": [model.bias], "lr": 0.05}], lr=0.2, momentum=0.9
    )
    return model, opt


def _train_steps(model, opt, sched, n, x):
    lrs = []
    for _ in range(n):
        opt.zero_grad()
        model(x).pow(2).sum().backward()
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    return lrs


@pytest.mark.parametrize("block_size", [4096, 7, 0])
def test_resume_is_exact(tmp_path, block_size):
    spec = schedspec.load(WARMUP_COSINE)
    x = torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(3, 4)
    total, half = 240, 113

    model, opt = _model_and_opt()
    sched = schedspec.to_torch(spec, opt, block_size=block_size)
    straight = _train_steps(model, opt, sched, total, x)
    final_weights = model.weight.detach().clone()

    model, opt = _model_and_opt()
    sched = schedspec.to_torch(spec, opt, block_size=block_size)
    first = _train_steps(model, opt, sched, half, x)
    path = tmp_path / "ckpt.pt"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}, path)
    del model, opt, sched

    model, opt = _model_and_opt()
    sched = schedspec.to_torch(spec, opt, block_size=block_size)
    ckpt = torch.load(path, weights_only=True)
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["opt"])
    sched.load_state_dict(ckpt["sched"])
    second = _train_steps(model, opt, sched, total - half, x)

    assert first + second == straight  # exactly equal
    assert torch.equal(model.weight.detach(), final_weights)


def test_state_dict_holds_only_resume_state():
    opt = make_optimizer((0.1, 0.2))
    sched = schedspec.to_torch(WARMUP_COSINE, opt)
    state = sched.state_dict()
    assert set(state) == {"last_epoch", "_step_count", "base_lrs", "_last_lr", "schedspec_fingerprint",
                          "schedspec_hparam"}  # fmt: skip
    assert state["schedspec_fingerprint"] == schedspec.load(WARMUP_COSINE).fingerprint
    assert not any(callable(v) for v in state.values())


def test_state_from_another_spec_is_refused():
    opt = make_optimizer()
    sched = schedspec.to_torch(WARMUP_COSINE, opt)
    for _ in range(5):
        opt.step()
        sched.step()
    state = sched.state_dict()
    other = lr_spec(
        [{"kind": "linear", "start": 0.0, "end": 0.05, "duration": 41}, {"kind": "cosine", "duration": 200}]
    )
    opt2 = make_optimizer()
    with pytest.raises(ValueError, match="different schedule"):
        schedspec.to_torch(other, opt2).load_state_dict(state)
    native_state = lr_scheduler.StepLR(make_optimizer(), step_size=3).state_dict()
    with pytest.raises(ValueError, match="not a schedspec scheduler state"):
        schedspec.to_torch(WARMUP_COSINE, make_optimizer()).load_state_dict(native_state)
    with pytest.raises(ValueError, match="param groups"):
        schedspec.to_torch(WARMUP_COSINE, make_optimizer((0.1, 0.2))).load_state_dict(state)


# ------------------------------------------------------------------------------------------------ 5. random specs
st = hypothesis.strategies

values = st.floats(0.001, 1.0).map(lambda v: round(v, 6))
durations = st.integers(1, 40)


@st.composite
def phases(draw, first: bool):
    kind = draw(st.sampled_from(["constant", "linear", "cosine", "polynomial", "exponential", "step", "multistep",
                                 "piecewise", "inverse_time", "inverse_sqrt", "cyclic", "onecycle"]))  # fmt: skip
    d = draw(durations)
    start = {"start": draw(values)} if first or draw(st.booleans()) else {}
    if kind == "constant":
        return {"kind": kind, "duration": d, **({"value": start["start"]} if start else {})}
    if kind == "linear":
        return {"kind": kind, "duration": d, **start, "end": draw(values)}
    if kind == "cosine":
        return {
            "kind": kind,
            "duration": d,
            **start,
            "end": draw(values),
            "exponent": draw(st.sampled_from([1.0, 2.0, 0.5])),
        }
    if kind == "polynomial":
        return {
            "kind": kind,
            "duration": d,
            **start,
            "end": draw(values),
            "power": draw(st.sampled_from([1.0, 2.0, 0.7])),
        }
    if kind == "exponential":
        gamma = draw(st.floats(0.8, 1.05))
        out = {"kind": kind, "duration": d, **start, "gamma": gamma, "every": draw(st.integers(1, 5)),
               "staircase": draw(st.booleans())}  # fmt: skip
        if draw(st.booleans()):
            out["end"] = draw(values)
        return out
    if kind == "step":
        return {
            "kind": kind,
            "duration": d,
            **start,
            "every": draw(st.integers(1, 10)),
            "gamma": draw(st.floats(0.1, 0.9)),
        }
    if kind == "multistep":
        ms = sorted(draw(st.lists(st.integers(1, d), min_size=1, max_size=4)))
        return {"kind": kind, "duration": d, **start, "milestones": ms, "gamma": draw(st.floats(0.1, 0.9))}
    if kind == "piecewise":
        ats = sorted(set(draw(st.lists(st.integers(1, d), max_size=3))))
        pts = [[0, draw(values)]] + [[a, draw(values)] for a in ats]
        return {"kind": kind, "duration": d, "points": pts,
                "interpolate": draw(st.sampled_from(["constant", "linear", "cosine"]))}  # fmt: skip
    if kind == "inverse_time":
        return {"kind": kind, "duration": d, **start, "rate": draw(st.floats(0.0, 2.0)),
                "every": draw(st.integers(1, 5)), "staircase": draw(st.booleans())}  # fmt: skip
    if kind == "inverse_sqrt":
        return {"kind": kind, "duration": d, **start, "timescale": draw(st.integers(1, 10))}
    if kind == "cyclic":
        lo, hi = sorted([draw(values), draw(values)])
        out = {"kind": kind, "duration": d, "low": lo, "high": hi, "up": draw(st.integers(1, 8)),
               "mode": draw(st.sampled_from(["triangular", "triangular2", "exp_range"])), "gamma": draw(st.floats(0.9, 1.0))}  # fmt: skip
        if draw(st.booleans()):
            out["down"] = draw(st.integers(1, 8))
        return out
    three = draw(st.booleans())
    return {"kind": "onecycle", "peak": draw(values), "duration": draw(st.integers(10, 40)),
            "pct_start": draw(st.floats(0.2, 0.45 if three else 0.8)), "anneal": draw(st.sampled_from(["cos", "linear"])),
            "three_phase": three}  # fmt: skip


@st.composite
def schedules(draw):
    n = draw(st.integers(1, 4))
    parts = [draw(phases(first=i == 0)) for i in range(n)]
    wrap = draw(st.sampled_from(["none", "none", "repeat", "scale", "clip", "product"]))
    if wrap == "repeat":
        inner = parts if len(parts) > 1 else parts[0]
        return {"kind": "repeat", "of": inner, "times": draw(st.one_of(st.none(), st.integers(1, 3))),
                "mult": draw(st.sampled_from([1, 1, 2, 1.5])), "decay": draw(st.sampled_from([1.0, 0.5]))}  # fmt: skip
    if wrap == "scale":
        return {"kind": "scale", "by": draw(st.floats(0.1, 3.0)), "of": parts}
    if wrap == "clip":
        lo, hi = sorted([draw(values), draw(values)])
        return {"kind": "clip", "min": lo, "max": hi, "of": parts}
    if wrap == "product":
        return {"kind": "product", "of": [parts, draw(phases(first=True))]}
    return parts


@hypothesis.settings(max_examples=30, deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
@hypothesis.given(schedule=schedules())
def test_random_specs_match_evaluate(schedule):
    spec = schedspec.load(lr_spec(schedule))
    node = spec.bound().hparams["lr"]
    n = 2 * (node.duration or 100) + 1
    ref = reference(spec, n)
    assert_f64(ours(spec, n)[0], ref, "blocks of 4096")
    assert_f64(ours(spec, n, block_size=5)[0], ref, "blocks of 5")
    opt = make_optimizer()
    sched = schedspec.to_torch(spec, opt, block_size=0)
    assert_f64(run(sched, opt, n)[0], ref, "scalar path")
    assert_f64([sched.lr_at(k) for k in range(n)], ref, "lr_at")


# ------------------------------------------------------------------------------------------------ 6. errors
SWEEP = {"schedspec": 1, "vars": {"peak": [0.1, 0.3], "w": [5, 10]},
         "lr": [{"kind": "linear", "start": 0.0, "end": "$peak", "duration": "$w"}, {"kind": "cosine", "duration": 30}]}  # fmt: skip


def test_sweep_needs_vars():
    with pytest.raises(schedspec.SpecError, match=r"sweep var.*vars=") as err:
        schedspec.to_torch(SWEEP, make_optimizer())
    assert "$peak" in str(err.value) and "$w" in str(err.value)
    member = {"peak": 0.3, "w": 10}
    assert_f64(ours(SWEEP, 80, vars=member)[0], reference(SWEEP, 80, vars=member))


def test_vars_override():
    spec = {"schedspec": 1, "vars": {"peak": 0.1},
            "lr": [{"kind": "linear", "start": 0.0, "end": "$peak", "duration": 10}, {"kind": "cosine", "duration": 30}]}  # fmt: skip
    got = ours(spec, 60, vars={"peak": 0.5})[0]
    assert_f64(got, reference(spec, 60, vars={"peak": 0.5}))
    assert got[10] == 0.5


def test_plateau_waits_for_its_metric_report():
    """A plateau runs on metric reports (tests/test_plateau.py); an update that needs one not given is refused."""
    text = textwrap.dedent(
        """\
        schedspec: 1
        steps_per_epoch: 100
        lr:
          - {kind: linear, duration: 50, start: 0.0, end: 0.1}
          - {kind: plateau, monitor: val_loss, patience: 3}
        """
    )
    spec = schedspec.loads(text, file="run.yaml")
    opt = make_optimizer()
    sched = schedspec.to_torch(spec, opt)
    for _ in range(100):  # the plateau begins at step 50; report 0 is made at the end of step 99
        opt.step()
        sched.step()
    with pytest.raises(RuntimeError, match=r"update 100 of 'run.yaml'.* 1 reports of 'val_loss'.*scheduler.report"):
        opt.step()
    sched.report("val_loss", 1.0)
    opt.step()
    assert opt.param_groups[0]["lr"] == 0.1


def test_unknown_hparam():
    with pytest.raises(schedspec.SpecError, match="momentum"):
        schedspec.to_torch(WARMUP_COSINE, make_optimizer(), hparam="momentum")


def test_block_size_and_k_are_checked():
    with pytest.raises(ValueError, match="block_size"):
        schedspec.to_torch(WARMUP_COSINE, make_optimizer(), block_size=-1)
    sched = schedspec.to_torch(WARMUP_COSINE, make_optimizer())
    with pytest.raises(ValueError, match=r"2\*\*31-1"):
        sched.lr_at(2**31)
    assert sched.lr_at(0) == 0.0 and sched.lr_at(2**31 - 1) == pytest.approx(0.001, rel=1e-15)


def _subprocess(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)  # fmt: skip


def test_torch_path_never_imports_jax():
    proc = _subprocess(
        """
        import sys, torch, schedspec
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        sched = schedspec.to_torch("examples/gpt-warmup-cosine.yaml", opt)
        for _ in range(5000):
            opt.step(); sched.step()
        sched.state_dict(); sched.lr_at(123)
        print("jax" in sys.modules, [m for m in sys.modules if m.startswith(("jax", "keras", "optax"))][:3])
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False []"


def test_missing_torch_says_how_to_install():
    proc = _subprocess(
        """
        import sys
        sys.modules["torch"] = None
        import schedspec
        try:
            schedspec.to_torch({"schedspec": 1, "lr": 0.1}, None)
        except schedspec.MissingDependency as e:
            print(e)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        proc.stdout.strip()
        == "Missing optional dependency 'torch'. Install it with: pip install 'schedspec[torch]'"
    )


def test_get_lr_outside_step_warns_like_torch():
    sched = schedspec.to_torch(WARMUP_COSINE, make_optimizer())
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    assert sched.get_last_lr() == [0.0]
    assert math.isclose(
        schedspec.to_torch(WARMUP_COSINE, make_optimizer(), block_size=0).lr_at(40), 0.05, rel_tol=1e-15
    )
