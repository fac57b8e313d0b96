"""Every ``transformers.*`` and ``timm.*`` kind against the independent float64 reference (tests/reference.py, whose
formulas are written from transformers' ``optimization.py`` and timm's scheduler files, never from schedspec's
code), with Hypothesis-drawn parameters, at the boundaries (k = 0, 1, each of W - 1, W, W + 1, N - 1, N, N + 1,
twice the schedule and k up to 2**31 - 1; ``timm.plateau`` at every k its drawn reports reach). A drawn combination that the kind refuses must be refused with a
positioned error (the refusals themselves are tested against the libraries in tests/test_dialect_transformers.py
and tests/test_dialect_timm.py); the test asserts that most draws are accepted, so it cannot pass by refusing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import schedspec

try:
    from .helpers import assert_f64
    from .reference import ref_values
except ImportError:
    from helpers import assert_f64
    from reference import ref_values

SETTINGS = dict(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
HF_TYPES = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
            "inverse_sqrt", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay")  # fmt: skip
TIMM_SCHEDS = ("cosine", "tanh", "step", "multistep", "poly", "plateau")
ACCEPTED: dict[str, list[bool]] = {}


def boundaries(*points: int, end: int) -> list[int]:
    ks = {0, 1, 2 * end, 2 * end + 1, 2**31 - 1, 2**20 + 3}
    for b in points:
        ks |= {b - 1, b, b + 1}
    return sorted(k for k in ks if 0 <= k <= 2**31 - 1)


def compare(node: dict | list, ks: list[int], interval: str = "step", metrics: dict | None = None) -> bool:
    """schedspec (float64) against the reference at ``ks``; False when the kind refuses the draw (positioned)."""
    doc = {"schedspec": 1, "interval": interval, "lr": node}
    note(repr(node))
    try:
        spec = schedspec.load(doc)
    except schedspec.SpecError as exc:
        assert all(i.path.startswith("lr") for i in exc.issues), str(exc)
        return False
    got = schedspec.evaluate(spec, ks, dtype="float64", metrics=metrics)
    assert_f64(got, ref_values(doc, ks, metrics=metrics), f"{node!r} {metrics!r}")
    return True


@st.composite
def hf_node(draw, type_name: str) -> tuple[dict, list[int]]:
    w = draw(st.sampled_from([0, 1, 2, 5, 16]))
    n = w + draw(st.sampled_from([1, 2, 8, 30, 64, 1000]))
    node: dict = {"kind": f"transformers.{type_name}", "lr": draw(st.sampled_from([1e-3, 0.1, 3.0])),
                  "num_warmup_steps": w, "num_training_steps": n}  # fmt: skip
    if type_name in ("cosine", "cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        node["num_cycles"] = draw(st.sampled_from([0.5, 1, 2, 0.25, 1.5, 0.7, 3.37]))  # real periods included
    if type_name == "cosine_with_restarts":  # (binary-exact: the reference reads num_cycles as the binary float)
        node["num_cycles"] = draw(st.sampled_from([1, 2, 4, 3, 7, 2.5, 1.5]))
    if type_name == "polynomial":
        node["power"] = draw(st.sampled_from([0.5, 1.0, 2.0]))
        node["lr_end"] = draw(st.sampled_from([1e-7, 1e-5]))
    if type_name == "inverse_sqrt" and draw(st.booleans()):
        node["timescale"] = draw(st.sampled_from([1, 7, 100]))
    if type_name in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        node["min_lr_rate"] = draw(st.sampled_from([0.0, 0.1, 0.5]))
    if type_name == "cosine_warmup_with_min_lr" and draw(st.booleans()):
        node["warmup_lr_rate"] = draw(st.sampled_from([0.0, 0.2]))
    if type_name == "warmup_stable_decay":
        d = draw(st.integers(0, n - w))
        node["num_decay_steps"] = d
        node["warmup_type"] = draw(st.sampled_from(["linear", "cosine", "1-sqrt"]))
        node["decay_type"] = draw(st.sampled_from(["linear", "cosine", "1-sqrt"]))
        node["min_lr_ratio"] = draw(st.sampled_from([0.0, 0.1]))
        if draw(st.booleans()):
            node["num_stable_steps"] = n - w - d
    return node, boundaries(w, n, end=n)


@pytest.mark.parametrize("type_name", HF_TYPES)
@settings(**SETTINGS)
@given(data=st.data())
def test_every_transformers_kind_equals_the_reference_at_its_boundaries(type_name, data):
    node, ks = data.draw(hf_node(type_name))
    ACCEPTED.setdefault(f"transformers.{type_name}", []).append(compare(node, ks))


@st.composite
def timm_node(draw, sched: str) -> tuple[dict, list[int]]:
    t0 = draw(st.sampled_from([1, 2, 10, 37]))
    wt = draw(st.sampled_from([0, 1, 3]))
    node: dict = {"kind": f"timm.{sched}", "lr": draw(st.sampled_from([0.1, 1.0])), "warmup_t": wt,
                  "warmup_lr_init": draw(st.sampled_from([0.0, 1e-3]))}  # fmt: skip
    if draw(st.booleans()):
        node["warmup_prefix"] = draw(st.booleans())
    points = [wt]
    if sched in ("cosine", "tanh", "poly"):
        node["t_initial"] = t0
        node["lr_min"] = draw(st.sampled_from([0.0, 1e-4]))
        limit = draw(st.sampled_from([1, 2, 3]))
        node["cycle_limit"] = limit
        node["cycle_decay"] = draw(st.sampled_from([1.0, 0.5]))
        node["cycle_mul"] = draw(st.sampled_from([1.0, 2.0]))
        if sched in ("cosine", "poly"):
            node["k_decay"] = draw(st.sampled_from([1.0, 0.5, 2.0]))
        if sched == "poly":
            node["power"] = draw(st.sampled_from([0.5, 1.0, 2.0]))
        if sched == "tanh":
            node["lb"], node["ub"] = draw(st.sampled_from([(-7.0, 3.0), (-4.0, 4.0)]))
        mul = node["cycle_mul"]
        ends = [int(t0 * (mul**(i + 1) - 1) / (mul - 1)) if mul != 1 else t0 * (i + 1) for i in range(limit)]
        points += [wt + e for e in ends] + ends
        end = wt + ends[-1]
    elif sched == "step":
        node["decay_t"] = draw(st.sampled_from([1, 3, 2.4, 10]))
        node["decay_rate"] = draw(st.sampled_from([0.5, 0.97]))
        end = 40
        points += [wt + 3, wt + 10]
    else:
        ms = sorted(draw(st.lists(st.integers(1, 30), min_size=1, max_size=3)))
        node["decay_t"] = ms
        node["decay_rate"] = draw(st.sampled_from([0.1, 0.5]))
        points += [m - 1 for m in ms] + [wt + m - 1 for m in ms]
        end = wt + ms[-1]
    return node, boundaries(*points, end=end)


@st.composite
def timm_plateau(draw) -> tuple[list | dict, list[int], dict]:
    """A ``timm.plateau`` node (after a constant phase or not: its reports are the phase's own epochs) and a report
    sequence built to meet each of torch's rules: moves better by more than the threshold, better by less than it
    (a bad epoch), equal, worse, now and then a NaN (a bad epoch) or an infinity; runs of bad epochs that reach
    ``patience_t`` during and after a cooldown; a ``lr_min`` that clamps, sits less than torch's eps below a
    reachable lr, or lies above lr (torch then never changes it);
    and, during the warmup, reports far better than any later one: counted, they would make every later report
    a bad one (timm drops the reports fed while ``epoch <= warmup_t``)."""
    wt = draw(st.sampled_from([0, 1, 2, 3]))
    mode = draw(st.sampled_from(["min", "max", None]))  # None: timm's default, max
    lr, rate = draw(st.sampled_from([0.1, 1.0])), draw(st.sampled_from([0.1, 0.5, 0.9]))
    node: dict = {"kind": "timm.plateau", "lr": lr, "warmup_t": wt, "decay_rate": rate,
                  "patience_t": draw(st.integers(0, 3)), "cooldown_t": draw(st.integers(0, 2)),
                  "threshold": draw(st.sampled_from([0.0, 1e-4, 0.05])),
                  "lr_min": draw(st.sampled_from([0.0, lr * rate**2 * 0.7, lr * rate**2 - 4e-9, 2 * lr]))}  # fmt: skip
    if mode is not None:
        node["mode"] = mode
    if wt and draw(st.booleans()):
        node["warmup_lr_init"] = draw(st.sampled_from([0.0, 1e-3]))
    sign = -1.0 if mode == "min" else 1.0  # the direction of a better report
    thr = node["threshold"]
    x = draw(st.sampled_from([-2.0, 0.5, 100.0]))
    before = draw(st.integers(0, 3))  # epochs of a constant phase before the plateau's own
    reports = []
    for j in range(before + 40):
        if before <= j < before + wt:  # fed with step(e + 1 <= warmup_t): dropped by timm
            reports.append(x + sign * 1000.0 if draw(st.booleans()) else x - sign * 1000.0)
            continue
        move = draw(st.sampled_from(["better", "within", "same", "same", "worse", "worse", "nan", "inf"]))
        if move in ("nan", "inf"):  # torch: float(metric), compared as it is (an infinite best is never beaten)
            reports.append(float("nan") if move == "nan" else draw(st.sampled_from([1.0, -1.0])) * float("inf"))
            continue
        x = {"better": x + sign * (abs(x) * 0.2 + 0.1), "within": x + sign * abs(x) * thr * 0.5, "same": x,
             "worse": x - sign * (abs(x) * 0.1 + 0.05)}[move]  # fmt: skip
        reports.append(x)
    lr_node = [{"kind": "constant", "value": 0.3, "duration": before}, node] if before else node
    return lr_node, list(range(len(reports) + 1)), {"eval_metric": reports}


@pytest.mark.parametrize("sched", TIMM_SCHEDS)
@settings(**SETTINGS)
@given(data=st.data())
def test_every_timm_kind_equals_the_reference_at_its_boundaries(sched, data):
    if sched == "plateau":  # metric-driven: every k the drawn reports reach (k = len(reports) needs all of them)
        node, ks, metrics = data.draw(timm_plateau())
        ACCEPTED.setdefault("timm.plateau", []).append(compare(node, ks, interval="epoch", metrics=metrics))
        return
    node, ks = data.draw(timm_node(sched))
    ACCEPTED.setdefault(f"timm.{sched}", []).append(compare(node, ks, interval="epoch"))


def test_the_draws_were_mostly_accepted():
    """Run after the two tests above (same module, in order): a kind that refused most draws would pass them
    without comparing anything."""
    for kind in [*(f"transformers.{t}" for t in HF_TYPES), *(f"timm.{s}" for s in TIMM_SCHEDS)]:
        seen = ACCEPTED.get(kind)
        if not seen:  # this test was selected alone (-k): nothing to judge
            continue
        assert sum(seen) >= len(seen) // 2, f"{kind}: {sum(seen)} of {len(seen)} draws accepted"


def test_the_reference_reproduces_the_hf_vector_of_a_real_period():
    """The reference itself against a library vector (transformers.json): HF's own values, not schedspec's (which
    tests/test_dialect_transformers.py compares with the same vector)."""
    import json
    from pathlib import Path

    cases = json.loads((Path(__file__).parent / "vectors" / "transformers.json").read_text())
    c = next(x for x in cases if x["id"] == "transformers.cosine.cycles1.5.w4.n30")
    cfg = c["config"]
    node = {"kind": "transformers.cosine", "lr": cfg["learning_rate"], "num_warmup_steps": cfg["warmup_steps"],
            "num_training_steps": cfg["max_steps"], **cfg["lr_scheduler_kwargs"]}  # fmt: skip
    got = ref_values({"schedspec": 1, "lr": node}, c["k"])
    assert_f64(np.asarray(got), np.asarray(c["lr"]), c["id"])


def test_the_reference_reproduces_every_timm_scheduler_vector():
    """The reference itself against the values timm produced (timm.json, the six classes of issue 11, the plateau
    vectors with their reports): timm's own values, not schedspec's."""
    import json
    from pathlib import Path

    classes = {"CosineLRScheduler": "cosine", "TanhLRScheduler": "tanh", "StepLRScheduler": "step",
               "MultiStepLRScheduler": "multistep", "PolyLRScheduler": "poly", "PlateauLRScheduler": "plateau"}  # fmt: skip
    cases = json.loads((Path(__file__).parent / "vectors" / "timm.json").read_text())
    seen = set()
    for c in cases:
        cls = c["api"].split(".")[-1]
        if cls not in classes:
            continue
        doc = {"schedspec": 1, "interval": c["interval"], "lr": {"kind": f"timm.{classes[cls]}", **c["config"]}}
        if c.get("steps_per_epoch"):
            doc["steps_per_epoch"] = c["steps_per_epoch"]
        metrics = {c["metrics"]["name"]: c["metrics"]["values"]} if c.get("metrics") else None
        got = ref_values(doc, c["k"], metrics=metrics)
        assert_f64(np.asarray(got), np.asarray(c["lr"]), c["id"])
        seen.add(classes[cls])
    assert seen == set(classes.values())
    assert sum("plateau" in c["id"] for c in cases) >= 5
