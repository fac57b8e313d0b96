"""The ``mmengine.param_scheduler`` and ``detectron2.SOLVER`` kinds against the libraries themselves: the committed
reference vectors (tests/vectors/{mmengine,detectron2}.json, every case, twice the schedule, past the end), drawn
configurations run through the real MMEngine ``Runner._build_param_scheduler`` + ``ParamSchedulerHook`` and the real
fvcore param schedulers (composed as detectron2's ``build_lr_scheduler`` composes them), every target
(tests/targets.py) with its invariants, and the positioned refusals quoting the libraries' rules."""

from __future__ import annotations

import copy
import json
import logging
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import schedspec

try:
    from .helpers import assert_f32, assert_f64
except ImportError:
    from helpers import assert_f32, assert_f64

VECTORS = Path(__file__).resolve().parent / "vectors"
MM = json.loads((VECTORS / "mmengine.json").read_text())
D2 = json.loads((VECTORS / "detectron2.json").read_text())
SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow], "derandomize": True}


def mm_doc(config: dict, steps_per_epoch: int | None) -> dict:
    doc = {"schedspec": 1, "lr": {"kind": "mmengine.param_scheduler", "lr": config["lr"],
                                  "train_cfg": config["train_cfg"], "schedulers": config["param_scheduler"]}}  # fmt: skip
    if steps_per_epoch is not None:
        doc["steps_per_epoch"] = steps_per_epoch
    return doc


def d2_doc(solver: dict) -> dict:
    return {"schedspec": 1, "lr": {"kind": "detectron2.SOLVER", **solver}}


def ours(doc: dict, ks) -> np.ndarray:
    return schedspec.evaluate(schedspec.load(doc), np.asarray(ks), dtype="float64")


# ------------------------------------------------------------------------------------------------ vectors
@pytest.mark.parametrize("c", MM, ids=[c["id"] for c in MM])
def test_mmengine_kind_equals_the_vectors(c):
    assert c["k"][-1] >= 2 * c["length"]  # twice the schedule, past the end included
    assert_f64(ours(mm_doc(c["config"], c["steps_per_epoch"]), c["k"]), c["lr"], c["id"])


@pytest.mark.parametrize("c", D2, ids=[c["id"] for c in D2])
def test_detectron2_kind_equals_the_vectors_and_holds_where_detectron2_raises(c):
    doc = d2_doc(c["resolved"]["SOLVER"])
    assert_f64(ours(doc, c["k"]), c["lr"], c["id"])
    m = c["length"]
    far = ours(doc, [m - 1, m, 2 * m, 2**31 - 1])
    assert np.isfinite(far).all() and (far >= 0).all()
    if "raises" in c:  # detectron2 raises from there on: schedspec holds the last value it computed
        assert c["raises"]["k"] <= m + 1
        assert far[2] == far[0] and far[3] == far[0]
    else:  # the cosine continues: symmetric about MAX_ITER, back at BASE_LR at 2 * MAX_ITER
        assert far[2] == pytest.approx(c["resolved"]["SOLVER"]["BASE_LR"], rel=1e-12)


# ------------------------------------------------------------------------------------------------ real MMEngine
def mmengine_values(param_scheduler, *, lr, epoch_length, max_epochs=None, max_iters=None, n=None):
    """The lr of each update, k = 0..n-1, from the real Runner._build_param_scheduler + ParamSchedulerHook stepping
    a real torch SGD (as MMEngine's loops step it, continued past the end of training)."""
    import torch

    with warnings.catch_warnings():  # mmengine's imports warn (torch.jit.script deprecations)
        warnings.simplefilter("ignore")
        from mmengine.hooks import ParamSchedulerHook
        from mmengine.runner import Runner
        from mmengine.runner.loops import EpochBasedTrainLoop, IterBasedTrainLoop

    fake = types.SimpleNamespace(logger=logging.getLogger("test.mmengine"), train_dataloader=range(epoch_length))
    if max_epochs is not None:
        fake._train_loop = object.__new__(EpochBasedTrainLoop)
        fake.max_epochs, fake.max_iters = max_epochs, max_epochs * epoch_length
    else:
        fake._train_loop = object.__new__(IterBasedTrainLoop)
        fake.max_epochs, fake.max_iters = 1, max_iters
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fake.param_schedulers = Runner._build_param_scheduler(fake, copy.deepcopy(param_scheduler), opt)
        hook = ParamSchedulerHook()
        out = []
        for i in range(n):
            out.append(float(opt.param_groups[0]["lr"]))
            opt.step()
            hook.after_train_iter(fake, batch_idx=i % epoch_length)
            if max_epochs is not None and (i + 1) % epoch_length == 0:
                hook.after_train_epoch(fake)
            if max_iters is not None and i + 1 == max_iters:
                hook.after_train_epoch(fake)
    return out


@st.composite
def mm_scheduler(draw, epochs: int, L: int):  # noqa: N803
    t = draw(st.sampled_from(["LinearLR", "ConstantLR", "StepLR", "MultiStepLR", "ExponentialLR",
                              "CosineAnnealingLR", "PolyLR", "OneCycleLR", "CosineRestartLR"]))  # fmt: skip
    by_epoch = draw(st.booleans())
    top = epochs if by_epoch else epochs * L
    begin = draw(st.integers(0, top - 1))
    end = draw(st.integers(begin + 1, top + 3))
    d: dict = {"type": t, "by_epoch": by_epoch, "begin": begin}
    if draw(st.booleans()):
        d["end"] = end
    else:
        end = top
        if begin >= end:
            d["end"] = end = begin + 1
    n = end - begin
    if by_epoch and draw(st.booleans()):
        d["convert_to_iter_based"] = True
    if t == "LinearLR":
        d |= {"start_factor": draw(st.sampled_from([0.001, 0.25, 1.0])), "end_factor": draw(st.sampled_from([0.0, 0.5, 1.0]))}
    elif t == "ConstantLR":
        d["factor"] = draw(st.sampled_from([0.1, 0.5, 1.0]))
    elif t == "StepLR":
        d |= {"step_size": draw(st.integers(1, 4)), "gamma": draw(st.sampled_from([0.1, 0.5]))}
    elif t == "MultiStepLR":
        d |= {"milestones": sorted(draw(st.lists(st.integers(0, n + 1), min_size=1, max_size=3))), "gamma": 0.5}
    elif t == "ExponentialLR":
        d["gamma"] = draw(st.sampled_from([0.8, 0.95]))
    elif t == "CosineAnnealingLR":
        if draw(st.booleans()):
            d["eta_min"] = draw(st.sampled_from([0.0, 1e-4]))
        elif draw(st.booleans()):
            d["eta_min_ratio"] = 0.05
        if draw(st.booleans()):
            d["T_max"] = draw(st.integers(1, n + 2))
    elif t == "PolyLR":
        d |= {"eta_min": draw(st.sampled_from([0.0, 1e-4])), "power": draw(st.sampled_from([0.5, 1.0, 2.0]))}
    elif t == "OneCycleLR":
        total = draw(st.integers(max(n - 1, 4), n + 5))
        d |= {"eta_max": 0.2, "total_steps": total, "pct_start": draw(st.sampled_from([0.25, 0.3, 0.5])),
              "anneal_strategy": draw(st.sampled_from(["cos", "linear"])), "three_phase": draw(st.booleans())}  # fmt: skip
    else:
        periods = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
        d |= {"periods": periods, "restart_weights": [1.0, 0.5, 0.25][: len(periods)]}
        d["eta_min" if draw(st.booleans()) else "eta_min_ratio"] = 0.01
    return d


@settings(max_examples=60, **SETTINGS)
@given(data=st.data())
def test_mmengine_kind_equals_real_mmengine_on_drawn_lists(data):
    L, epochs = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 5))  # noqa: N806
    scheds = data.draw(st.lists(mm_scheduler(epochs, L), min_size=1, max_size=2))
    iter_loop = data.draw(st.booleans()) and not any(s.get("convert_to_iter_based") for s in scheds)
    loop = ({"type": "IterBasedTrainLoop", "max_iters": epochs * L} if iter_loop
            else {"type": "EpochBasedTrainLoop", "max_epochs": epochs})  # fmt: skip
    length = epochs * L
    n = 2 * length + 2
    try:
        ref = mmengine_values(scheds, lr=0.1, epoch_length=L, n=n, **{k: v for k, v in loop.items() if k != "type"})
    except (ValueError, ZeroDivisionError, AssertionError):  # MMEngine itself refuses: so must schedspec
        with pytest.raises(schedspec.SpecError):
            ours(mm_doc({"lr": 0.1, "train_cfg": loop, "param_scheduler": scheds}, L), range(n))
        return
    doc = mm_doc({"lr": 0.1, "train_cfg": loop, "param_scheduler": scheds}, L)
    try:
        got = ours(doc, range(n))
    except schedspec.SpecError as err:  # refused: only the documented overlaps / recurrences
        msg = str(err)
        assert "overlaps" in msg or "no closed form" in msg, msg
        assume(False)
        return
    assert_f64(got, ref, json.dumps(scheds))


# ------------------------------------------------------------------------------------------------ real fvcore
def detectron2_values(solver: dict, n: int) -> list[float]:
    """detectron2's build_lr_scheduler composition (solver/build.py, solver/lr_scheduler.py WarmupParamScheduler),
    over the real fvcore param schedulers: BASE_LR * M(k / MAX_ITER) for k < n (fvcore raises past MAX_ITER)."""
    return detectron2_at(solver, range(n))


def detectron2_at(solver: dict, ks) -> list[float]:
    """:func:`detectron2_values` at the iterations ``ks`` only (huge MAX_ITER)."""
    from fvcore.common.param_scheduler import (
        CompositeParamScheduler,
        ConstantParamScheduler,
        CosineParamScheduler,
        LinearParamScheduler,
        MultiStepParamScheduler,
        StepWithFixedGammaParamScheduler,
    )

    from schedspec.dialects.detectron2 import DEFAULTS

    s = {**DEFAULTS, **solver}
    m = s["MAX_ITER"]
    if s["LR_SCHEDULER_NAME"] == "WarmupMultiStepLR":
        steps = [x for x in s["STEPS"] if x <= m]
        main = MultiStepParamScheduler(values=[s["GAMMA"] ** k for k in range(len(steps) + 1)], milestones=steps,
                                       num_updates=m)  # fmt: skip
    elif s["LR_SCHEDULER_NAME"] == "WarmupCosineLR":
        main = CosineParamScheduler(1, s["BASE_LR_END"] / s["BASE_LR"])
    else:
        main = StepWithFixedGammaParamScheduler(base_value=1.0, gamma=s["GAMMA"], num_decays=s["NUM_DECAYS"],
                                                num_updates=m)  # fmt: skip
    w = min(s["WARMUP_ITERS"] / m, 1.0)
    rescale = s["RESCALE_INTERVAL"]
    end_value = main(0.0) if rescale else main(w)
    start_value = s["WARMUP_FACTOR"] * main(0.0)
    warm = ConstantParamScheduler(start_value) if s["WARMUP_METHOD"] == "constant" else LinearParamScheduler(
        start_value, end_value)
    sched = CompositeParamScheduler([warm, main], interval_scaling=["rescaled", "rescaled" if rescale else "fixed"],
                                    lengths=[w, 1 - w])  # fmt: skip
    return [s["BASE_LR"] * sched(k / m) for k in ks]


@pytest.mark.parametrize(("m", "w"), [(999_999, 1000), (1_000_000, 1000), (2_000_000, 1000), (2_000_001, 7),
                                      (12_345_678, 5000), (5_000_000, 0), ((1 << 30) - 1, 1000), (1 << 30, 1000),
                                      ((1 << 30) + 7, 3_000), (2**31 - 1, 1000)])  # fmt: skip
@pytest.mark.parametrize(("method", "rescale"), [("linear", True), ("constant", True), ("linear", False)])
def test_detectron2_cosine_at_a_million_iterations_and_more_equals_fvcore(m, w, method, rescale):
    """WarmupCosineLR once fvcore's 1e-6 epsilon (1e-6 * MAX_ITER >= 1 iteration) moves the switch: with
    RESCALE_INTERVAL it starts the rescaled cosine before WARMUP_ITERS, at a negative local time (its cosine mirrors
    there); from MAX_ITER 2**30 one period of fvcore's cosine no longer fits below 2**31. Every iteration around the
    switch, the cosine's bottom at MAX_ITER, past it, and k up to 2**31 - 1, against fvcore."""
    solver = {"LR_SCHEDULER_NAME": "WarmupCosineLR", "MAX_ITER": m, "BASE_LR": 0.02, "WARMUP_ITERS": w,
              "RESCALE_INTERVAL": rescale, "BASE_LR_END": 0.0002, "WARMUP_METHOD": method, "WARMUP_FACTOR": 0.01}  # fmt: skip
    d = int(1e-6 * m) + 3
    ks = sorted({k for k in [*range(max(0, w - d - 2), w + 3), (m + w) // 2, m - 2, m - 1, m, m + 1, 2 * m - w - 1,
                             2 * m - w, 2 * m, 2**31 - 2, 2**31 - 1] if 0 <= k <= 2**31 - 1})  # fmt: skip
    spec = schedspec.load(d2_doc(solver))
    want = detectron2_at(solver, ks)
    assert_f64(ours(d2_doc(solver), ks), want, f"MAX_ITER={m} WARMUP_ITERS={w}")
    assert_f32(schedspec.evaluate(spec, ks, dtype="float32"), want, f"float32, MAX_ITER={m} WARMUP_ITERS={w}")
    if rescale and 2_000_000 <= m and 0 < w - 1e-6 * m:  # the mirrored iterations (1e-6 * MAX_ITER >= 2) are named
        assert any("negative local time" in n.message for n in spec.notes)


@settings(max_examples=60, **SETTINGS)
@given(
    name=st.sampled_from(["WarmupMultiStepLR", "WarmupCosineLR", "WarmupStepWithFixedGammaLR"]),
    m=st.integers(20, 400),
    warm=st.floats(0.0, 0.5),
    data=st.data(),
)
def test_detectron2_kind_equals_fvcore_on_drawn_solvers(name, m, warm, data):
    solver = {"LR_SCHEDULER_NAME": name, "MAX_ITER": m, "BASE_LR": 0.02, "WARMUP_ITERS": int(warm * m),
              "WARMUP_FACTOR": data.draw(st.sampled_from([0.001, 0.1, 1.0])),
              "WARMUP_METHOD": data.draw(st.sampled_from(["linear", "constant"])),
              "RESCALE_INTERVAL": data.draw(st.booleans()), "GAMMA": data.draw(st.sampled_from([0.1, 0.5])),
              "NUM_DECAYS": data.draw(st.integers(1, 4)), "BASE_LR_END": data.draw(st.sampled_from([0.0, 0.002])),
              "STEPS": sorted(data.draw(st.sets(st.integers(1, m - 1), min_size=1, max_size=3)))}  # fmt: skip
    got = ours(d2_doc(solver), range(m))
    ref = detectron2_values(solver, m)
    assert_f64(got, ref, json.dumps(solver))


def test_detectron2_where_epsilon_moves_every_switch_at_two_million():
    """fvcore's 1e-6 epsilon at MAX_ITER 2e6: the warmup ends at k = 998 (not 1000), the decay is at 1499998."""
    solver = {"BASE_LR": 0.1, "MAX_ITER": 2000000, "WARMUP_ITERS": 1000, "STEPS": [1500000]}
    ks = [997, 998, 999, 1000, 1499997, 1499998, 1499999]
    ref = _fvcore_at(solver, ks)
    assert_f64(ours(d2_doc(solver), ks), ref)
    got = ours(d2_doc(solver), [1499997, 1499998])
    assert got[1] == pytest.approx(got[0] * 0.1, rel=1e-12)


def _fvcore_at(solver, ks):
    from fvcore.common.param_scheduler import (
        CompositeParamScheduler,
        LinearParamScheduler,
        MultiStepParamScheduler,
    )

    m = solver["MAX_ITER"]
    main = MultiStepParamScheduler(values=[1.0, 0.1], milestones=solver["STEPS"], num_updates=m)
    w = solver["WARMUP_ITERS"] / m
    sched = CompositeParamScheduler([LinearParamScheduler(0.001 * main(0.0), main(w)), main],
                                    interval_scaling=["rescaled", "fixed"], lengths=[w, 1 - w])  # fmt: skip
    return [solver["BASE_LR"] * sched(k / m) for k in ks]


# ------------------------------------------------------------------------------------------------ every target
TARGET_CASES = {
    "mmengine.overlap": ("mmengine.overlap.LinearLR.iter+CosineAnnealingLR.iter", MM),
    "mmengine.convert": ("mmengine.convert_to_iter_based.LinearLR+CosineAnnealingLR", MM),
    "mmengine.epoch_staircase": ("mmengine.CosineRestartLR.epoch.ratio", MM),
    "detectron2.multistep": ("detectron2.WarmupMultiStepLR.linear", D2),
    "detectron2.cosine": ("detectron2.WarmupCosineLR.end1e-4", D2),
}


@pytest.mark.parametrize("target", ["evaluate", "to_jax", "to_optax", "optax_inject", "to_keras", "to_torch",
                                    "emit_torch", "emit_keras", "emit_optax", "emit_jax"])  # fmt: skip
@pytest.mark.parametrize("case", sorted(TARGET_CASES))
def test_every_target_runs_the_kinds_never_nan_never_negative(case, target, tmp_path):
    try:
        from .targets import F64_TARGETS, RUNNERS, Check
    except ImportError:
        from targets import F64_TARGETS, RUNNERS, Check
    cid, cases = TARGET_CASES[case]
    c = next(x for x in cases if x["id"] == cid)
    doc = mm_doc(c["config"], c["steps_per_epoch"]) if cid.startswith("mmengine") else d2_doc(c["resolved"]["SOLVER"])
    spec = schedspec.load(doc)
    loop = min(c["length"] + 5, 120)
    check = Check(units=np.asarray(c["k"], dtype=np.int64), loop=loop)
    out = RUNNERS[target](spec, check, None, tmp_path)
    xs, vals = out[("lr", None)]
    vals = np.asarray(vals, dtype=np.float64)
    assert np.isfinite(vals).all() and (vals >= 0).all()
    ref = dict(zip(c["k"], c["lr"], strict=True))
    keep = [i for i, x in enumerate(np.asarray(xs)) if int(x) in ref]
    assert keep, "nothing compared"
    got, want = vals[keep], [ref[int(np.asarray(xs)[i])] for i in keep]
    (assert_f64 if target in F64_TARGETS else assert_f32)(got, want, f"{case} on {target}")


# ------------------------------------------------------------------------------------------------ fingerprints
@pytest.mark.parametrize("c", [MM[-2], D2[-1]], ids=["schedule_1x", "Base-RCNN-FPN"])
def test_translate_to_neutral_keeps_the_fingerprint(c):
    from schedspec.dialects import neutral_document

    doc = mm_doc(c["config"], c["steps_per_epoch"]) if c["id"].startswith("mmengine") else d2_doc(c["resolved"]["SOLVER"])
    spec = schedspec.load(doc)
    neutral = neutral_document(spec)
    assert "mmengine" not in json.dumps(neutral) and "detectron2" not in json.dumps(neutral)
    assert schedspec.load(neutral).fingerprint == spec.fingerprint
    assert spec.notes, "the quirks it relies on are noted"


# ------------------------------------------------------------------------------------------------ bad input
def _err(doc) -> str:
    """The error of ``doc`` written as YAML text (so that every issue has a line and a column)."""
    import yaml

    with pytest.raises(schedspec.SpecError) as e:
        schedspec.loads(yaml.safe_dump(doc, sort_keys=False), "bad.yaml")
    for issue in e.value.issues:
        assert issue.line is not None and issue.col is not None, issue
    return str(e.value)


def _mm(*scheds, **top):
    return {"schedspec": 1, **top, "lr": {"kind": "mmengine.param_scheduler", "lr": 0.1, "schedulers": list(scheds)}}


@pytest.mark.parametrize(("doc", "expected"), [
    (_mm({"type": "CosineLR", "by_epoch": False}), "unknown MMEngine scheduler type 'CosineLR'"),
    (_mm({"type": "LinearLR", "start_factr": 0.1, "by_epoch": False, "end": 5}),
     "unknown argument `start_factr` for MMEngine's LinearLR; did you mean 'start_factor'"),
    (_mm({"type": "LinearLR", "start_factor": 1.5, "by_epoch": False, "end": 5}),
     "Starting multiplicative factor should between 0 and 1."),
    (_mm({"type": "ConstantLR", "factor": 0, "by_epoch": False, "end": 5}), "ZeroDivisionError"),
    (_mm({"type": "LinearLR", "start_factor": 0.0, "by_epoch": False, "end": 5}), "ZeroDivisionError"),
    (_mm({"type": "OneCycleLR", "eta_max": 0.1, "pct_start": 1, "by_epoch": False, "end": 5}),
     "Expected float between 0 and 1 pct_start"),
    (_mm({"type": "OneCycleLR", "eta_max": 0.1, "total_steps": 5, "by_epoch": False, "end": 9}),
     "Tried to step 7 times. The specified number of total steps is 5"),
    (_mm({"type": "StepLR", "step_size": 2}), "give the spec `steps_per_epoch`"),
    (_mm({"type": "LinearLR", "by_epoch": False, "begin": 5, "end": 5}), "end should be larger than begin"),
    (_mm({"type": "LinearLR", "by_epoch": False, "end": 5, "convert_to_iter_based": True}),
     "Only epoch-based parameter scheduler can be converted"),
    (_mm({"type": "CosineAnnealingLR", "eta_min": 1e-4, "by_epoch": False, "end": 20},
         {"type": "LinearLR", "by_epoch": False, "end": 5}), "overlaps"),
    (_mm({"type": "CosineAnnealingLR", "eta_min": 1e-4, "eta_min_ratio": 0.1, "by_epoch": False, "end": 20}),
     "Either `eta_min` or `eta_min_ratio"),
    (_mm({"type": "CosineRestartLR", "periods": [2, 3], "restart_weights": [1.0], "eta_min": 0.0,
          "by_epoch": False}), "periods and restart_weights should have the same length."),
    (_mm({"type": "ReduceOnPlateauLR"}), "plateau"),
    (_mm({"type": "LinearLR", "by_epoch": False, "end": 5}, interval="epoch"), "interval: step"),
    ({"schedspec": 1, "lr": {"kind": "detectron2.SOLVER", "LR_SCHEDULER_NAME": "WarmupCosinLR"}},
     "Unknown LR scheduler: WarmupCosinLR')? did you mean 'WarmupCosineLR'"),
    ({"schedspec": 1, "lr": {"kind": "detectron2.SOLVER", "STEPS": [100, 50], "MAX_ITER": 200}},
     "Milestone must be smaller than start epoch"),
    ({"schedspec": 1, "lr": {"kind": "detectron2.SOLVER", "STEPS": [200], "MAX_ITER": 200}},
     "Milestone must be smaller than total number of updates"),
    ({"schedspec": 1, "lr": {"kind": "detectron2.SOLVER", "WARMUP_METHOD": "cosine"}}, "Unknown warmup method"),
    ({"schedspec": 1, "lr": {"kind": "detectron2.SOLVER", "BASE_LR": 0.01, "BASE_LR_END": 0.1,
                             "LR_SCHEDULER_NAME": "WarmupCosineLR"}}, "0 <= BASE_LR_END / BASE_LR <= 1"),
    ({"schedspec": 1, "lr": {"kind": "detectron2.SOLVER", "BASE_LRR": 0.01}}, "did you mean 'BASE_LR'"),
])  # fmt: skip
def test_bad_input_is_refused_positioned_with_the_library_rule(doc, expected):
    msg = _err(doc)
    if "?" in expected:  # a did-you-mean after the library's message
        head, tail = expected.split("')? ")
        assert head in msg and tail in msg, msg
    else:
        assert expected in msg, msg


def test_a_var_lr_factors_out_of_multiplicative_schedulers_and_is_refused_with_absolute_ones():
    base = _mm({"type": "LinearLR", "start_factor": 0.1, "by_epoch": False, "end": 10})
    base["lr"]["lr"] = "$lr"
    base["vars"] = {"lr": [0.1, 0.2]}
    got = schedspec.evaluate(schedspec.load(base), np.arange(12), dtype="float64")
    assert got.shape == (2, 12) and np.allclose(got[1], 2 * got[0], rtol=1e-12)
    base["lr"]["schedulers"].append({"type": "PolyLR", "eta_min": 1e-3, "by_epoch": False, "begin": 10, "end": 20})
    assert "absolute values" in _err(base)


def test_an_epoch_spec_steps_epoch_based_schedulers_once_per_epoch():
    """interval: epoch: k counts epochs; the same list in a step spec holds each epoch's value for L steps."""
    scheds = [{"type": "LinearLR", "start_factor": 0.25, "end": 4}, {"type": "CosineAnnealingLR", "begin": 4},
              {"type": "MultiStepLR", "milestones": [6], "gamma": 0.5}]  # fmt: skip
    cfg = {"lr": 0.1, "train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 10}, "param_scheduler": scheds}
    epoch = mm_doc(cfg, None) | {"interval": "epoch"}
    ref = mmengine_values(scheds, lr=0.1, epoch_length=3, max_epochs=10, n=3 * 20)
    assert_f64(ours(epoch, range(20)), ref[::3])
    assert_f64(ours(mm_doc(cfg, 3), range(60)), ref)


def test_momentum_and_plateau_schedulers_are_refused_with_the_reason():
    assert "schedules the momentum, not the lr" in _err(_mm({"type": "CosineAnnealingMomentum"}))
    assert "`plateau`" in _err(_mm({"type": "ReduceOnPlateauLR"}))


def test_notes_name_the_quirks():
    spec = schedspec.load(mm_doc(MM[-2]["config"], MM[-2]["steps_per_epoch"]))
    text = "\n".join(str(n) for n in spec.notes)
    assert "end - begin - 1 = 499" in text and "epoch ends" in text and "product" in text


# ------------------------------------------------------------------------------------------------ .py positions
# An MMEngine .py config is executed by mmengine only; schedspec then positions its values from the text
# (schedspec/dialects/pyconfig.py: ast, nothing executed), in the base file for an inherited value.
MM_BASE = """# a base schedule
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma={gamma})
]
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02, momentum=0.9))
"""
MM_LIST = """param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type={type!r}, begin=0, end={end}, by_epoch=True, milestones=[8, 11], gamma=0.1)
]
"""


def _translate_py(tmp_path, capsys, files: dict[str, str], top: str) -> tuple[int, str]:
    from schedspec.cli import main

    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["translate", "--from", "mmengine", str(tmp_path / top), "--steps-per-epoch", "10"])
    return code, capsys.readouterr().err


MM_PY_FAULTS = {
    "a bad argument in the child": (
        {"cfg.py": "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02))\n"
                   "train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12)\n"
                   "param_scheduler = [\n"
                   "    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=0),\n]\n"},
        "cfg.py:4:76: mmengine.param_scheduler: MMEngine raises 'end should be larger than begin, but got begin=0, "
        "end=0'"),
    "a bad argument in a base file": (
        {"_base_/schedule.py": MM_BASE.format(gamma=-0.1),
         "cfg.py": "_base_ = ['./_base_/schedule.py']\ntrain_cfg = dict(max_epochs=24)\n"},
        "_base_/schedule.py:5:88: `gamma`: Input should be greater than 0"),
    "a bad argument in a YAML base file": (
        {"base.yaml": "train_cfg: {type: EpochBasedTrainLoop, max_epochs: 12}\noptim_wrapper:\n  optimizer: {lr: 0.02}\n"
                      "param_scheduler:\n  - {type: MultiStepLR, end: 12, by_epoch: true, milestones: [8], gamma: -1}\n",
         "cfg.py": "_base_ = 'base.yaml'\ntrain_cfg = dict(max_epochs=24)\n"},
        "base.yaml:5:74: `gamma`: Input should be greater than 0"),
    "an unknown type, did-you-mean": (
        {"_base_/schedule.py": MM_BASE.format(gamma=0.1),
         "cfg.py": "_base_ = './_base_/schedule.py'\n" + MM_LIST.format(type="MultiStepLr", end=12)},
        "cfg.py:4:15: unknown MMEngine scheduler type 'MultiStepLr'; did you mean 'MultiStepLR'? (MMEngine raises "
        "KeyError 'MultiStepLr is not in the mmengine::parameter scheduler registry'; known: LinearLR, ConstantLR, "
        "StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, PolyLR, OneCycleLR, CosineRestartLR)"),
    "the child's override of a base value": (
        {"_base_/schedule.py": MM_BASE.format(gamma=0.1),
         "cfg.py": "_base_ = ['./_base_/schedule.py']\n\ntrain_cfg = dict(max_epochs=0)\n"},
        "cfg.py:3:29: `max_epochs`: must be > 0 (got 0)"),
    "the child's _delete_ replacement of a base mapping": (
        {"_base_/schedule.py": MM_BASE.format(gamma=0.1),
         "cfg.py": "_base_ = './_base_/schedule.py'\n"
                   "train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=-5)\n"},
        "cfg.py:2:70: `max_iters`: must be > 0 (got -5)"),
    "a computed value: its nearest written ancestor": (
        {"_base_/schedule.py": MM_BASE.format(gamma=0.1),
         "cfg.py": "_base_ = './_base_/schedule.py'\nbase_lr = 0.01\n"
                   + MM_LIST.format(type="MultiStepLR", end="base_lr * 2")},
        "cfg.py:5:5: `end`: Input should be a valid integer"),
    "a {{_base_.x}} value: its nearest written ancestor": (
        {"_base_/schedule.py": MM_BASE.format(gamma=0.1),
         "cfg.py": "_base_ = './_base_/schedule.py'\n"
                   + MM_LIST.format(type="MultiStepLR", end="{{_base_.train_cfg.max_epochs}}").replace(
                       "milestones=[8, 11]", "milestones={{_base_.train_cfg.max_epochs}}")},
        "cfg.py:4:5: `milestones`: Input should be a valid list"),
}


@pytest.mark.parametrize("case", list(MM_PY_FAULTS))
def test_an_mmengine_py_config_is_positioned_in_the_file_that_wrote_the_value(tmp_path, capsys, case):
    files, expected = MM_PY_FAULTS[case]
    code, err = _translate_py(tmp_path, capsys, files, "cfg.py")
    assert code != 0
    assert f"{tmp_path}/{expected}\n" in err, err


def test_the_py_position_reader_executes_and_imports_nothing(tmp_path):
    """mmengine executes the config; the reader only parses it: a config that would write a file, exit the
    process and import a module still gets its positions, and nothing of it runs. The reader's own source calls
    none of Python's ways to run code."""
    import ast
    import sys

    from schedspec.dialects import pyconfig

    marker = tmp_path / "executed"
    path = tmp_path / "cfg.py"
    path.write_text(f"import json_not_a_module_here\nopen({str(marker)!r}, 'w').write('x')\nraise SystemExit(3)\n"
                    "train_cfg = dict(type='ÉpochLoop', max_epochs=12)  # é: columns count characters\n"
                    "param_scheduler = [{'type': 'LinearLR', 'end': -5}]\n", encoding="utf-8")  # fmt: skip
    data = {"train_cfg": {"type": "ÉpochLoop", "max_epochs": 12}, "param_scheduler": [{"type": "LinearLR", "end": -5}]}
    before = set(sys.modules)
    src = pyconfig.mmengine_source(str(path), data)
    assert not marker.exists() and "json_not_a_module_here" not in sys.modules and set(sys.modules) == before
    assert src.positions[("train_cfg", "max_epochs")] == (4, 47)  # 48 in UTF-8 bytes
    assert src.key_positions[("train_cfg", "max_epochs")] == (4, 36)
    assert src.positions[("param_scheduler", 0, "end")] == (5, 48)
    assert src.positions[("param_scheduler", 0)] == (5, 20) and src.positions[("train_cfg",)] == (4, 13)
    called = {n.func.id for n in ast.walk(ast.parse(Path(pyconfig.__file__).read_text()))
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}  # fmt: skip
    assert not called & {"exec", "eval", "compile", "__import__", "runpy", "import_module"}
    assert "literal_eval" not in Path(pyconfig.__file__).read_text()


def test_a_py_value_changed_after_its_literal_is_not_positioned_at_the_literal(tmp_path):
    """Code the reader does not follow (an item assignment, a method call, a loop) may change a literal's value:
    such a value is positioned at its nearest written ancestor, never at the stale literal."""
    from schedspec.dialects import pyconfig

    path = tmp_path / "cfg.py"
    path.write_text("train_cfg = dict(max_epochs=12, val_interval=1)\ntrain_cfg.update(max_epochs=24)\n"
                    "param_scheduler = [dict(type='LinearLR', end=500), dict(type='StepLR', step_size=3)]\n"
                    "param_scheduler[0]['end'] = 1000\n"
                    "optim_wrapper = dict(optimizer=dict(lr=0.1))\nfor _ in range(2):\n    optim_wrapper = {}\n"
                    "val_cfg = dict(a=1, b=[1, 2])\nval_cfg2 = dict(a=1, b=[1, 2])\n")  # fmt: skip
    data = {"train_cfg": {"max_epochs": 24, "val_interval": 1},
            "param_scheduler": [{"type": "LinearLR", "end": 1000}, {"type": "StepLR", "step_size": 3}],
            "optim_wrapper": {}, "val_cfg": {"a": 1, "b": [1, 2]}, "val_cfg2": {"a": 2, "b": [1, 2, 3]}}  # fmt: skip
    src = pyconfig.mmengine_source(str(path), data)
    assert not any(p[0] in ("train_cfg", "param_scheduler", "optim_wrapper") for p in src.positions if p)
    assert src.positions[("val_cfg", "b", 1)] == (8, 27)
    # a value that differs from its literal (here, only as a stand-in for code that changed it) is not positioned
    assert ("val_cfg2", "a") not in src.positions and ("val_cfg2", "b") not in src.positions
    assert src.positions[("val_cfg2",)] == (9, 12)


def test_a_config_mmengine_cannot_read_is_a_usage_error_not_a_traceback(tmp_path, capsys):
    code, err = _translate_py(tmp_path, capsys, {"cfg.py": "param_scheduler = [dict(type=LinearLR)]\n"}, "cfg.py")
    assert code == 2 and "Traceback" not in err
    assert f"{tmp_path}/cfg.py: mmengine could not read the config: NameError: name 'LinearLR' is not defined" in err
