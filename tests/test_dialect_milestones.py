"""Every milestone-like list of every dialect, in any order and with repeats, against the framework itself.

The lists: torch ``MultiStepLR.milestones`` and ``SequentialLR.milestones``, MMEngine ``MultiStepLR.milestones``,
detectron2 ``SOLVER.STEPS`` (fvcore), Keras ``PiecewiseConstantDecay.boundaries``, optax
``join_schedules.boundaries`` and timm ``MultiStepLRScheduler.decay_t``. For a Hypothesis-drawn list (unsorted,
repeated, zeros allowed) the kind either equals the framework's values over the whole schedule and past it, or is
refused at the line and column of the list item that is out of order, saying how to fix it. What each framework does
with such a list decides which: torch and MMEngine keep milestones as a multiset (order never matters, a repeat
decays twice: matched); fvcore raises on a list that is not strictly ascending (refused, fvcore's words); timm
bisects the list as written and "assumes it sorted" (an unsorted list is refused, a repeat decays twice: matched);
Keras and optax compare boundaries one after the other (a decreasing one is refused; a repeat is matched where the
framework defines it).
"""

from __future__ import annotations

import bisect
import os
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import schedspec  # noqa: E402

try:
    from .helpers import assert_f32, assert_f64
    from .test_dialect_mmengine_detectron2 import detectron2_values
except ImportError:
    from helpers import assert_f32, assert_f64
    from test_dialect_mmengine_detectron2 import detectron2_values

SETTINGS = dict(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
LISTS = st.lists(st.integers(0, 30), min_size=1, max_size=5)
N = 70  # steps compared: past every drawn milestone and the schedules' ends


def yaml_spec(kind: str, key: str, items: list[int], rest: str, interval: str = "step") -> tuple[str, int]:
    """A spec with the list written one item per line (line of item i: ``first + i``), and the line of item 0."""
    head = f"schedspec: 1\ninterval: {interval}\nlr:\n  kind: {kind}\n{rest}  {key}:\n"
    first = head.count("\n") + 1
    return head + "".join(f"    - {m}\n" for m in items), first


def ours_or_refusal(text: str, first: int, n: int = N):
    """The float64 values at k < n, or the refusal's (line, col, message) after checking it names a list item."""
    try:
        spec = schedspec.loads(text, "m.yaml")
    except schedspec.SpecError as exc:
        assert len(exc.issues) == 1, exc
        issue = exc.issues[0]
        assert issue.line is not None and issue.line >= first and issue.col == 7, str(exc)  # the item itself
        return issue.line - first, issue.message
    return schedspec.evaluate(spec, np.arange(n), dtype="float64")


def descending_at(items: list[int], strict: bool) -> int | None:
    """The first index whose item is below (``strict``: not above) the one before it."""
    for i in range(1, len(items)):
        if items[i] < items[i - 1] or (strict and items[i] == items[i - 1]):
            return i
    return None


def assert_refused_at(got, i: int, *words: str) -> None:
    assert isinstance(got, tuple), f"expected a refusal at item {i}, got values"
    at, message = got
    assert at == i, (at, i, message)
    assert all(w in message for w in words), message


# ------------------------------------------------------------------------------------------------ torch
@settings(**SETTINGS)
@given(ms=LISTS, gamma=st.sampled_from([0.5, 0.1, 2.0]))
def test_torch_multisteplr_milestones_any_order_and_repeats_equal_torch(ms, gamma):
    import torch

    text, first = yaml_spec("torch.MultiStepLR", "milestones", ms, f"  lr: 0.1\n  gamma: {gamma}\n")
    got = ours_or_refusal(text, first)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=ms, gamma=gamma)
    ref = []
    for _ in range(N):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert_f64(got, ref, f"MultiStepLR{ms}")  # a multiset in torch: never refused


@settings(**SETTINGS)
@given(ms=st.lists(st.integers(0, 30), min_size=2, max_size=2))
def test_torch_sequentiallr_milestones_are_increasing_or_refused_and_equal_torch(ms):
    import torch

    rest = ("  lr: 0.1\n  schedulers:\n    - {kind: torch.ConstantLR, factor: 0.5, total_iters: 4}\n"
            "    - {kind: torch.ExponentialLR, gamma: 0.9}\n    - {kind: torch.LinearLR, start_factor: 0.2, "
            "total_iters: 6}\n")  # fmt: skip
    text, first = yaml_spec("torch.SequentialLR", "milestones", ms, rest)
    got = ours_or_refusal(text, first)
    bad = descending_at(ms, strict=False)
    if bad is not None:  # torch bisects the milestones (bisect_right): not meaningful unsorted
        assert_refused_at(got, bad, "increasing", f"{ms[bad]} comes after {ms[bad - 1]}")
        return
    L = torch.optim.lr_scheduler  # noqa: N806
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = L.SequentialLR(opt, [L.ConstantLR(opt, 0.5, 4), L.ExponentialLR(opt, 0.9), L.LinearLR(opt, 0.2, 1.0, 6)],
                               milestones=ms)  # fmt: skip
        ref = []
        for _ in range(N):
            ref.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    assert_f64(got, ref, f"SequentialLR{ms}")


# ------------------------------------------------------------------------------------------------ MMEngine
@settings(**SETTINGS)
@given(ms=LISTS, gamma=st.sampled_from([0.5, 0.1]))
def test_mmengine_multisteplr_milestones_any_order_and_repeats_equal_mmengine(ms, gamma):
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mmengine.optim.scheduler import MultiStepLR

    rest = (f"  lr: 0.1\n  schedulers:\n    - type: MultiStepLR\n      by_epoch: false\n      gamma: {gamma}\n"
            f"      end: 60\n      milestones: {ms}\n")  # fmt: skip
    text = f"schedspec: 1\nlr:\n  kind: mmengine.param_scheduler\n{rest}"
    got = schedspec.evaluate(schedspec.loads(text), np.arange(N), dtype="float64")  # a multiset: never refused
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = MultiStepLR(opt, milestones=ms, gamma=gamma, by_epoch=False, begin=0, end=60)
    ref = []
    for _ in range(N):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert_f64(got, ref, f"mmengine MultiStepLR{ms}")


# ------------------------------------------------------------------------------------------------ detectron2
@settings(**SETTINGS)
@given(ms=st.lists(st.integers(1, 60), min_size=1, max_size=4), warm=st.sampled_from([0, 5]))
def test_detectron2_steps_are_strictly_ascending_or_refused_as_fvcore_and_equal_fvcore(ms, warm):
    rest = f"  BASE_LR: 0.1\n  MAX_ITER: 64\n  WARMUP_ITERS: {warm}\n"
    text, first = yaml_spec("detectron2.SOLVER", "STEPS", ms, rest)
    got = ours_or_refusal(text, first, 64)
    bad = descending_at(ms, strict=True)
    if bad is not None:  # fvcore's MultiStepParamScheduler raises
        assert_refused_at(got, bad, "fvcore raises 'Milestone must be smaller than start epoch", "ascending")
        return
    assert_f64(got, detectron2_values({"BASE_LR": 0.1, "MAX_ITER": 64, "WARMUP_ITERS": warm, "STEPS": tuple(ms)}, 64))


# ------------------------------------------------------------------------------------------------ Keras, optax
@settings(**SETTINGS)
@given(bs=LISTS)
def test_keras_piecewise_boundaries_are_strictly_increasing_or_refused_and_equal_keras(bs):
    import keras

    values = [0.1 * 0.7**i for i in range(len(bs) + 1)]
    text, first = yaml_spec("keras.PiecewiseConstantDecay", "boundaries", bs, f"  values: {values}\n")
    got = ours_or_refusal(text, first)
    bad = descending_at(bs, strict=True)
    if bad is not None:  # Keras sums one indicator per interval: out of order, intervals overlap or vanish
        assert_refused_at(got, bad, "strictly increasing", "Write")
        return
    sched = keras.optimizers.schedules.PiecewiseConstantDecay(bs, values)
    assert_f32(got, [float(sched(k)) for k in range(N)], f"PiecewiseConstantDecay{bs}")


@settings(**SETTINGS)
@given(bs=st.lists(st.integers(0, 30), min_size=2, max_size=2))
def test_optax_join_schedules_boundaries_are_increasing_or_refused_and_equal_optax(bs):
    import optax

    rest = ("  schedules:\n    - {kind: optax.constant_schedule, value: 0.1}\n"
            "    - {kind: optax.linear_schedule, init_value: 0.05, end_value: 0.01, transition_steps: 10}\n"
            "    - {kind: optax.exponential_decay, init_value: 0.2, transition_steps: 1, decay_rate: 0.9}\n")  # fmt: skip
    text, first = yaml_spec("optax.join_schedules", "boundaries", bs, rest)
    got = ours_or_refusal(text, first)
    bad = descending_at(bs, strict=False)
    if bad is not None:  # optax's later boundary would override the earlier one's schedule before it begins
        assert_refused_at(got, bad, "increasing", f"{bs[bad]} comes after {bs[bad - 1]}")
        return
    sched = optax.join_schedules([optax.constant_schedule(0.1), optax.linear_schedule(0.05, 0.01, 10),
                                  optax.exponential_decay(0.2, 1, 0.9)], bs)  # fmt: skip
    assert_f32(got, [float(sched(k)) for k in range(N)], f"join_schedules{bs}")


# ------------------------------------------------------------------------------------------------ timm
def timm_multistep(decay_t: list[int], rate: float, warmup_t: int, init: float, lr: float, n: int) -> list[float]:
    """timm's MultiStepLRScheduler as ``train.py`` steps it (timm/scheduler/multistep_lr.py, ``_get_lr`` and
    ``get_curr_decay_steps``, timm 1.0.31; warmup_prefix True, its default): epoch 0 uses the lr the constructor
    set (``warmup_lr_init`` with a warmup, else lr); epoch t >= 1 uses ``_get_lr(t)``."""

    def get_lr(t: int) -> float:
        if t < warmup_t:
            return init + t * (lr - init) / warmup_t
        t = t - warmup_t
        return lr * rate ** bisect.bisect_right(decay_t, t + 1)

    return [(init if warmup_t else lr) if t == 0 else get_lr(t) for t in range(n)]


@settings(**SETTINGS)
@given(ms=LISTS, warm=st.sampled_from([0, 3]))
def test_timm_multistep_decay_t_unsorted_is_refused_repeats_equal_timm(ms, warm):
    ms = [m + 1 for m in ms]  # timm's milestones are 1-based (m applies at t = m - 1)
    rest = f"  lr: 0.1\n  decay_rate: 0.5\n  warmup_t: {warm}\n  warmup_lr_init: 0.01\n"
    text, first = yaml_spec("timm.multistep", "decay_t", ms, rest, interval="epoch")
    got = ours_or_refusal(text, first)
    bad = descending_at(ms, strict=False)
    if bad is not None:
        assert_refused_at(got, bad, "ascending order", f"{ms[bad]} comes after {ms[bad - 1]}",
                          f"Write them sorted: {sorted(ms)}")  # fmt: skip
        return
    assert_f64(got, timm_multistep(ms, 0.5, warm, 0.01, 0.1, N), f"timm multistep{ms}")


def test_timm_multistep_unsorted_is_refused_at_its_item_named_case():
    text, first = yaml_spec("timm.multistep", "decay_t", [30, 10], "  lr: 0.1\n", interval="epoch")
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.loads(text, "m.yaml")
    assert str(err.value).startswith(f"m.yaml:{first + 1}:7: decay_t must be in ascending order: 10 comes after 30")
    assert "Write them sorted: [10, 30]" in str(err.value)


def test_timm_multistep_repeated_milestone_decays_twice_and_is_noted():
    text, _ = yaml_spec("timm.multistep", "decay_t", [3, 3, 7], "  lr: 0.1\n  decay_rate: 0.5\n", interval="epoch")
    spec = schedspec.loads(text)
    assert any("repeats a milestone" in n.message for n in spec.notes)
    got = schedspec.evaluate(spec, [0, 1, 2, 5, 6, 7, 100], dtype="float64")
    assert list(got) == [0.1, 0.1, 0.025, 0.025, 0.0125, 0.0125, 0.0125]


def test_from_timm_args_yaml_unsorted_decay_milestones_is_refused_at_the_item(tmp_path, capsys):
    from schedspec.cli import main

    path = tmp_path / "args.yaml"
    path.write_text("sched: multistep\nlr: 0.1\nepochs: 40\ndecay_milestones:\n- 30\n- 10\ndecay_rate: 0.1\n"
                    "warmup_epochs: 0\n")  # fmt: skip
    assert main(["translate", "--from", "timm", str(path)]) != 0
    err = capsys.readouterr().err
    assert "args.yaml:6:3: decay_t must be in ascending order: 10 comes after 30" in err, err
