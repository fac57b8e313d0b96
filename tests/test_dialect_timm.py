"""timm.* kinds against the values timm itself produced (tests/vectors/timm.json, generated in a side environment
by tests/vectors/generate.py: timm is never imported or installed here), over at least twice the schedule.
Tolerance float64 ``1e-12*peak + 1e-10*|v|``. ``schedspec.from_timm`` is checked with stand-in objects that carry
the attributes of timm's classes and are compared with the same vectors."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import schedspec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "vectors" / "timm.json").read_text(encoding="utf-8"))
CLASSES = {"CosineLRScheduler": "cosine", "TanhLRScheduler": "tanh", "StepLRScheduler": "step",
           "MultiStepLRScheduler": "multistep", "PolyLRScheduler": "poly", "PlateauLRScheduler": "plateau"}  # fmt: skip
SCHEDULERS = [c for c in CASES if c["api"].split(".")[-1] in CLASSES]
# not one of issue 11's six classes (WSDLRScheduler) or a whole train.py recipe (create_scheduler args): the
# recipes are checked through examples/ (tests/test_examples_dialects.py)
OTHERS = [c["id"] for c in CASES if c not in SCHEDULERS]


def assert_parity(got, want, what):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    peak = np.max(np.abs(want))
    bad = np.abs(got - want) > 1e-12 * peak + 1e-10 * np.abs(want)
    assert not bad.any(), f"{what}: k {np.nonzero(bad)[0][:5]}: {got[bad][:5]} vs {want[bad][:5]}"


def spec_of(case) -> schedspec.Spec:
    sched = CLASSES[case["api"].split(".")[-1]]
    doc = {"schedspec": 1, "interval": case["interval"], "lr": {"kind": f"timm.{sched}", **case["config"]}}
    if case.get("steps_per_epoch"):
        doc["steps_per_epoch"] = case["steps_per_epoch"]
    if isinstance(case["config"].get("decay_t"), float):  # a fractional decay_t lists its decays up to `total`
        doc["total"] = max(case["k"]) + 1
    return schedspec.load(doc)


def metrics_of(case):
    m = case.get("metrics")
    return None if m is None else {m["name"]: m["values"]}


@pytest.mark.parametrize("case", SCHEDULERS, ids=[c["id"] for c in SCHEDULERS])
def test_every_vector(case):
    spec = spec_of(case)
    ks = np.asarray(case["k"])
    assert ks.max() >= 2 * case["length"]
    got = schedspec.evaluate(spec, ks, dtype="float64", metrics=metrics_of(case))
    assert_parity(got, case["lr"], case["id"])


def test_the_six_classes_have_vectors_and_the_rest_is_named():
    assert {c["api"].split(".")[-1] for c in SCHEDULERS} == set(CLASSES)
    assert set(OTHERS) == {"timm.wsd.1-sqrt", "timm.wsd.rsqrt.linear", "timm.recipe.seresnet34.cosine150",
                           "timm.recipe.efficientnet_b2.step", "timm.recipe.deit_small.main_py"}  # fmt: skip


def _standin(cls_name: str, config: dict):
    """An object shaped like timm's scheduler (class name, module, attributes as the constructor stores them)."""
    cls = type(cls_name, (), {"__module__": "timm.scheduler.standin"})
    obj = cls()
    defaults = {"warmup_t": 0, "warmup_lr_init": 0.0, "t_in_epochs": True, "noise_range_t": None}
    for key, value in {**defaults, **config}.items():
        if key != "lr":
            setattr(obj, key, value)
    obj.base_values = [config["lr"]]
    if cls_name == "PlateauLRScheduler":
        inner = type("ReduceLROnPlateau", (), {})()
        inner.factor, inner.patience, inner.mode = config.get("decay_rate", 0.1), config.get("patience_t", 10), \
            config.get("mode", "max")  # fmt: skip
        inner.threshold, inner.cooldown = config.get("threshold", 1e-4), config.get("cooldown_t", 0)
        inner.min_lrs = [config.get("lr_min", 0.0)]
        obj.lr_scheduler = inner
    return obj


@pytest.mark.parametrize("case", SCHEDULERS, ids=[c["id"] for c in SCHEDULERS])
def test_from_timm_reads_the_attributes(case):
    cls = case["api"].split(".")[-1]
    obj = _standin(cls, case["config"])
    total = spec_of(case).doc.data.get("total")
    spec = schedspec.from_timm(obj, monitor=(case.get("metrics") or {}).get("name"), total=total)
    assert spec.program.interval == case["interval"]
    if case.get("steps_per_epoch"):  # a timm scheduler does not know the loader's length
        spec = schedspec.load({**spec.doc.data, "steps_per_epoch": case["steps_per_epoch"]})
    got = schedspec.evaluate(spec, np.asarray(case["k"]), dtype="float64", metrics=metrics_of(case))
    assert_parity(got, case["lr"], case["id"])
    assert spec.fingerprint == spec_of(case).fingerprint


def test_refusals():
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.loads("schedspec: 1\nlr: {kind: timm.cosine, lr: 0.1, t_initial: 10, noise_range_t: 5}\n", "n.yaml")
    assert str(exc.value).startswith("n.yaml:2:") and "seeded randomness is not a schedule" in str(exc.value)
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.loads("schedspec: 1\nlr: {kind: timm.cosine, lr: 0.1, t_intial: 10}\n", "n.yaml")
    assert "t_initial" in str(exc.value) and str(exc.value).startswith("n.yaml:2:")
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.loads("schedspec: 1\nlr: {kind: timm.cosin, lr: 0.1, t_initial: 10}\n", "n.yaml")
    assert "timm.cosine" in str(exc.value)
    other = type("MyScheduler", (), {"__module__": "mine"})()
    with pytest.raises(schedspec.SpecError, match="not one of timm's schedulers"):
        schedspec.from_timm(other)


@pytest.mark.parametrize("case_id", ["timm.recipe.seresnet34.cosine150", "timm.recipe.efficientnet_b2.step"])
def test_from_timm_reads_train_py_args(case_id):
    """timm's own args.yaml (train.py's arguments, as in tests/vectors/configs) against create_scheduler's values."""
    case = next(c for c in CASES if c["id"] == case_id)
    # a fractional decay_t lists its decays up to `total` (default: epochs + cooldown); here the recorded range
    spec = schedspec.from_timm(case["config"], total=max(case["k"]) + 1)
    got = schedspec.evaluate(spec, np.asarray(case["k"]), dtype="float64")
    assert_parity(got, case["lr"], case_id)


def test_plateau_is_epoch_stepped_only():
    """timm's PlateauLRScheduler has one clock, ``step(epoch + 1, metric)``: its ``step_update`` does nothing and
    ``create_scheduler_v2`` asserts 'Plateau LR only supports step per epoch.'; it takes no ``t_in_epochs``. A step
    spec would count steps timm never counts: refused, positioned, rather than given another schedule."""
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.loads("schedspec: 1\nlr: {kind: timm.plateau, lr: 0.1, warmup_t: 2}\n", "p.yaml")
    assert str(exc.value) == ("p.yaml:2:5: timm's PlateauLRScheduler is stepped once per epoch only (its step_update "
                              "does nothing; create_scheduler_v2 asserts 'Plateau LR only supports step per epoch.'): "
                              "write the spec with `interval: epoch`")  # fmt: skip
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.loads("schedspec: 1\ninterval: epoch\nlr: {kind: timm.plateau, lr: 0.1, t_in_epochs: false}\n",
                        "p.yaml")  # fmt: skip
    assert str(exc.value) == ("p.yaml:3:48: PlateauLRScheduler takes no t_in_epochs: it is stepped once per epoch "
                              "only; remove t_in_epochs")  # fmt: skip
    # a live scheduler whose t_in_epochs attribute says updates is still read on its only clock, epochs
    (case,) = [c for c in SCHEDULERS if c["id"] == "timm.plateau.warmup3.metric_ignored"]
    obj = _standin("PlateauLRScheduler", case["config"])
    obj.t_in_epochs = False
    spec = schedspec.from_timm(obj)
    assert spec.program.interval == "epoch" and "t_in_epochs" not in spec.doc.data["lr"]
    got = schedspec.evaluate(spec, np.asarray(case["k"]), dtype="float64", metrics=metrics_of(case))
    assert_parity(got, case["lr"], case["id"])


def test_plateau_drops_the_report_fed_at_the_warmups_last_epoch():
    """The named case (vector timm.plateau.warmup3.metric_ignored, timm's own values): the report of epoch 2 is
    fed with step(3) and 3 <= warmup_t = 3, so timm drops it; had it counted (a `<` reading), its 0.99 would make
    the next two reports bad ones and reduce at epoch 5. Exact values from timm: 0.1 through epoch 10, then
    0.1 * 0.1 (float64: 0.010000000000000002) from epoch 11."""
    (case,) = [c for c in SCHEDULERS if c["id"] == "timm.plateau.warmup3.metric_ignored"]
    got = schedspec.evaluate(spec_of(case), np.arange(13), dtype="float64", metrics=metrics_of(case))
    assert got[3:11].tolist() == [0.1] * 8
    assert got[11:13].tolist() == [0.1 * 0.1] * 2 == [0.010000000000000002] * 2
