"""transformers.* kinds against the values transformers itself produced (tests/vectors/transformers.json, made by
tests/vectors/generate.py): every HF SchedulerType with a formula, through schedspec.from_transformers on the
vector's own TrainingArguments fields, over at least twice the schedule (past num_training_steps included).
Tolerance float64 ``1e-12*peak + 1e-10*|v|``; discrete changes at identical k. Also: a live HF LambdaLR, the
same fingerprint as the neutral spelling, notes, and positioned refusals quoting HF's rules."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import schedspec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "vectors" / "transformers.json").read_text(encoding="utf-8"))
# vectors whose schedule no neutral spelling expresses: refused, with the reason (checked below). None today: the
# real-valued periods (cosine.cycles1.5.w4.n30, cosine_with_restarts.c3.fractional_period) are `repeat`s with
# `period: "<D>/<c>"`, cosine_warmup_with_min_lr without warmup a `repeat` with `shift: 1`
REFUSED: dict[str, str] = {}


def _assert_parity(got, want, what):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    peak = np.max(np.abs(want))
    bad = np.abs(got - want) > 1e-12 * peak + 1e-10 * np.abs(want)
    assert not bad.any(), f"{what}: k index {np.nonzero(bad)[0][:5]}: {got[bad][:5]} vs {want[bad][:5]}"


def _spec(case):
    return schedspec.from_transformers(case["config"], steps_per_epoch=case.get("steps_per_epoch"))


def _metrics(case):
    m = case.get("metrics")
    return None if m is None else {m["name"]: m["values"]}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_every_vector(case):
    if case["id"] in REFUSED:
        with pytest.raises(schedspec.SpecError) as exc:
            _spec(case)
        assert REFUSED[case["id"]] in str(exc.value) and exc.value.issues[0].path == "lr.num_cycles"
        return
    spec = _spec(case)
    ks = np.asarray(case["k"])
    assert ks.max() >= 2 * case["length"] or ks.max() >= 2**31 - 1
    got = schedspec.evaluate(spec, ks, dtype="float64", metrics=_metrics(case))
    _assert_parity(got, case["lr"], case["id"])


def test_every_scheduler_type_is_a_kind():
    from schedspec.dialects import transformers as hf

    hf_types = {"linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
                "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr",
                "warmup_stable_decay", "greedy"}  # fmt: skip
    assert set(hf.SCHEDULER_TYPES) == hf_types
    covered = {c["config"]["lr_scheduler_type"] for c in CASES}
    assert covered == hf_types - {"greedy"}


def test_same_fingerprint_as_the_neutral_spelling_and_notes():
    spec = schedspec.loads("schedspec: 1\nlr: {kind: transformers.cosine, lr: 0.001, num_warmup_steps: 5, "
                           "num_training_steps: 30}\n")  # fmt: skip
    neutral = schedspec.loads("schedspec: 1\nlr:\n  - {kind: linear, start: 0.0, end: 0.001, duration: 5}\n"
                              "  - kind: repeat\n    of: [{kind: cosine, start: 0.001, end: 0.0, duration: 25},\n"
                              "         {kind: cosine, start: 0.0, end: 0.001, duration: 25}]\n")  # fmt: skip
    assert spec.fingerprint == neutral.fingerprint
    assert any("keeps moving after num_training_steps = 30" in str(n) for n in spec.notes)
    inv = schedspec.loads("schedspec: 1\nlr: {kind: transformers.inverse_sqrt, lr: 1.0, num_warmup_steps: 1000}\n")
    assert schedspec.evaluate(inv, [2000], dtype="float64")[0] == pytest.approx(2**-0.5, rel=1e-15)


def test_live_hf_lambda_lr():
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    cases = [("cosine", {}, {}), ("linear", {}, {}), ("polynomial", {"power": 2.0, "lr_end": 1e-5}, {}),
             ("inverse_sqrt", {"timescale": 25}, {}), ("cosine_with_min_lr", {"min_lr_rate": 0.1}, {}),
             ("cosine_warmup_with_min_lr", {"min_lr": 1e-4}, {}), ("constant_with_warmup", {}, {}),
             ("warmup_stable_decay", {"num_decay_steps": 8, "decay_type": "1-sqrt", "min_lr_ratio": 0.1}, {}),
             ("cosine_with_restarts", {"num_cycles": 2}, {})]  # fmt: skip
    for type_name, kw, _ in cases:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
        sched = transformers.get_scheduler(type_name, opt, num_warmup_steps=6, num_training_steps=30,
                                           scheduler_specific_kwargs=kw)  # fmt: skip
        want = []
        for _ in range(70):
            want.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        spec = schedspec.from_transformers(sched)
        _assert_parity(schedspec.evaluate(spec, np.arange(70), dtype="float64"), want, type_name)


def _err(data, **kw):
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.from_transformers(data, **kw)
    return str(exc.value)


def test_bad_hf_input_is_refused_with_hf_rules():
    assert "did you mean 'cosine'" in _err({"lr_scheduler_type": "cosin", "max_steps": 10})
    msg = _err({"lr_scheduler_type": "cosine", "max_steps": 10, "lr_scheduler_kwargs": {"num_cycle": 2}})
    assert "unexpected keyword argument 'num_cycle'" in msg and "did you mean 'num_cycles'" in msg
    assert "Expected value warmup_steps >= 0" in _err({"warmup_steps": -1, "max_steps": 10})
    assert "must be smaller than initial lr" in _err({"lr_scheduler_type": "polynomial", "learning_rate": 1e-7,
                                                      "max_steps": 10})  # fmt: skip
    assert "requires an eval strategy" in _err({"lr_scheduler_type": "reduce_lr_on_plateau", "max_steps": 10})
    assert "pass steps_per_epoch" in _err({"lr_scheduler_type": "linear"})
    assert "did you mean 'lr_scheduler_type'" in _err({"lr_schedular_type": "linear", "max_steps": 10})
    spec = "schedspec: 1\nlr: {kind: transformers.greedy, lr: 0.1}\n"
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.loads(spec, "g.yaml")
    assert str(exc.value).startswith("g.yaml:2:") and "GreedyLR" in str(exc.value)
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.loads("schedspec: 1\nlr: {kind: transformers.cosine, lr: 0.1, num_training_steps: 9, "
                        "num_cycle: 2}\n", "c.yaml")  # fmt: skip
    assert "c.yaml:2:" in str(exc.value) and "num_cycles" in str(exc.value)


def test_warmup_precedence_and_rounding():
    base = {"lr_scheduler_type": "linear", "learning_rate": 1.0, "max_steps": 100}
    spec = schedspec.from_transformers({**base, "warmup_steps": 0.07})  # ceil(100 * 0.07) = 8 (float: 7.000000000000001)
    assert spec.doc.data["lr"]["num_warmup_steps"] == 8
    spec = schedspec.from_transformers({**base, "warmup_steps": 2.7})
    assert spec.doc.data["lr"]["num_warmup_steps"] == 2
    spec = schedspec.from_transformers({**base, "warmup_steps": 5, "warmup_ratio": 0.2})
    assert spec.doc.data["lr"]["num_warmup_steps"] == 5 and "warmup_steps wins" in spec.doc.data["description"]
    spec = schedspec.from_transformers({**base, "warmup_ratio": 0.2})
    assert spec.doc.data["lr"]["num_warmup_steps"] == 20


def _hf_lrs(type_name: str, w: int, n: int, kw: dict, steps: int, lr: float = 1e-3) -> list[float]:
    """The lr of each optimizer update under ``transformers.get_scheduler`` (the float64 lr torch applies)."""
    import torch
    import transformers

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=lr)
    sched = transformers.get_scheduler(type_name, opt, num_warmup_steps=w, num_training_steps=n,
                                       scheduler_specific_kwargs=dict(kw))  # fmt: skip
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize("n", [30, 7, 1])
def test_cosine_warmup_with_min_lr_without_warmup_equals_hf(n, tmp_path, capsys):
    """Was refused (no time shift for cosines); now the wave's `repeat` with `shift: 1`: HF computes the cosine at
    p = (k + 1) / N, one step ahead. Equal to HF at every step, past N, from YAML and from a training_args.json,
    with a note; and HF's W = 0 value at k is still cosine_with_min_lr's at k + 1 (HF's and ours)."""
    from schedspec.cli import main

    kw = {"min_lr": 1e-4}
    text = ("schedspec: 1\nlr:\n  kind: transformers.cosine_warmup_with_min_lr\n  lr: 0.001\n  num_warmup_steps: 0\n"
            f"  num_training_steps: {n}\n  min_lr: 0.0001\n")  # fmt: skip
    spec = schedspec.loads(text, "w0.yaml")
    hf0 = _hf_lrs("cosine_warmup_with_min_lr", 0, n, kw, 2 * n + 2)
    _assert_parity(schedspec.evaluate(spec, np.arange(len(hf0)), dtype="float64"), hf0, f"W=0 N={n}")
    assert any("w0.yaml:3:3" in str(x) and "shift: 1" in str(x) for x in spec.notes), [str(x) for x in spec.notes]
    path = tmp_path / "training_args.json"
    path.write_text('{"lr_scheduler_type": "cosine_warmup_with_min_lr",\n "learning_rate": 0.001,\n "max_steps": '
                    f'{n},\n "warmup_steps": 0,\n "lr_scheduler_kwargs": {{"min_lr": 0.0001}}}}\n')  # fmt: skip
    assert main(["translate", "--from", "transformers", "--to-neutral", str(path)]) == 0
    assert "shift: 1" in capsys.readouterr().out
    translated = schedspec.from_transformers(json.loads(path.read_text()))
    _assert_parity(schedspec.evaluate(translated, np.arange(len(hf0)), dtype="float64"), hf0, "training_args.json")
    later = _hf_lrs("cosine_with_min_lr", 0, n, kw, 2 * n + 3)
    _assert_parity(hf0, later[1:], "HF W=0 vs HF cosine_with_min_lr one step later")
    other = schedspec.loads(text.replace("cosine_warmup_with_min_lr", "cosine_with_min_lr"))
    _assert_parity(schedspec.evaluate(other, np.arange(1, 2 * n + 3), dtype="float64"), hf0, "one step later")


@pytest.mark.parametrize("w", [1, 2, 5])
def test_cosine_warmup_with_min_lr_with_warmup_equals_hf_at_every_step_and_in_float32(w):
    import torch

    n, kw = 24, {"min_lr_rate": 0.1}
    spec = schedspec.loads("schedspec: 1\nlr: {kind: transformers.cosine_warmup_with_min_lr, lr: 0.001, "
                           f"num_warmup_steps: {w}, num_training_steps: {n}, min_lr_rate: 0.1}}\n")  # fmt: skip
    ks = np.arange(2 * n + 2)  # 0, 1, ..., N - 1, N, N + 1 and past
    want = _hf_lrs("cosine_warmup_with_min_lr", w, n, kw, len(ks))
    _assert_parity(schedspec.evaluate(spec, ks, dtype="float64"), want, f"W={w}")
    # the float32 step a torch optimizer applied (SGD on a float32 parameter, gradient 1), under HF's LambdaLR and
    # under to_torch(spec), in the same loop: the same updates
    import transformers

    from schedspec.adapters.torch import to_torch

    def applied(make) -> list[float]:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.001)
        sched = make(opt)
        out = []
        for _ in ks:
            p.grad = torch.ones(1)
            before = p.detach().clone()
            opt.step()
            out.append(float((before - p.detach())[0]))
            sched.step()
        return out

    hf = applied(lambda o: transformers.get_scheduler("cosine_warmup_with_min_lr", o, num_warmup_steps=w,
                                                      num_training_steps=n, scheduler_specific_kwargs=dict(kw)))  # fmt: skip
    ours = applied(lambda o: to_torch(spec, o))
    assert np.allclose(ours, hf, rtol=1e-6, atol=0), (ours[:4], hf[:4])


@pytest.mark.parametrize(("type_name", "kw", "n", "period"), [
    ("cosine", {"num_cycles": 1.5}, 30, "26/1.5"),  # vector cosine.cycles1.5.w4.n30: half wave 26 / 3
    ("cosine_with_min_lr", {"num_cycles": 1.5, "min_lr_rate": 0.1}, 30, "26/1.5"),
    ("cosine_warmup_with_min_lr", {"num_cycles": 0.7, "min_lr_rate": 0.1}, 30, "26/0.7"),
    ("cosine_with_restarts", {"num_cycles": 3}, 24, "20/3"),  # vector c3.fractional_period: period 20 / 3
    ("cosine_with_restarts", {"num_cycles": 2.5}, 24, "20/2.5"),  # a fractional num_cycles: cut at N
])  # fmt: skip
def test_a_real_valued_hf_period_equals_hf(type_name, kw, n, period):
    """Was refused (no real-valued period in the language); now a `repeat` with `period: "<D>/<c>"`, noted, equal
    to HF itself at every step, past N included."""
    w = 4
    node = {"kind": f"transformers.{type_name}", "lr": 0.001, "num_warmup_steps": w, "num_training_steps": n, **kw}
    spec = schedspec.load({"schedspec": 1, "lr": node})
    want = _hf_lrs(type_name, w, n, kw, 2 * n + 2)
    _assert_parity(schedspec.evaluate(spec, np.arange(len(want)), dtype="float64"), want, f"{type_name} N={n}")
    assert any(f'period: "{period}"' in str(x) for x in spec.notes), [str(x) for x in spec.notes]


def test_hf_restarts_moved_by_float_rounding_are_refused_at_num_cycles():
    """HF's (num_cycles * progress) % 1.0 with N - W = 22, num_cycles = 22: at k - W = 15 it is
    14.999999999999998, so HF restarts one step late there (its value ~0, not lr); an exact `repeat` cannot say
    that: refused at num_cycles, naming the step and a length that works (which then equals HF)."""
    from transformers.optimization import _get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda as hf

    assert 22.0 * (15.0 / 22.0) == 14.999999999999998 and hf(15, num_warmup_steps=0, num_training_steps=22,
                                                             num_cycles=22) < 1e-3  # fmt: skip
    text = ("schedspec: 1\nlr:\n  kind: transformers.cosine_with_restarts\n  lr: 0.001\n  num_warmup_steps: 0\n"
            "  num_training_steps: 22\n  num_cycles: 22\n")  # fmt: skip
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.loads(text, "r.yaml")
    msg = str(exc.value)
    assert msg.startswith("r.yaml:7:15: ") and "k = 15" in msg, msg
    suggested = [int(x) for x in msg.split("num_training_steps = ")[-1].split(")")[0].split(" or ")]
    for good in suggested:
        spec = schedspec.loads(text.replace("num_training_steps: 22", f"num_training_steps: {good}"))
        want = _hf_lrs("cosine_with_restarts", 0, good, {"num_cycles": 22}, 2 * good + 2)
        _assert_parity(schedspec.evaluate(spec, np.arange(len(want)), dtype="float64"), want, f"N={good}")


@pytest.mark.parametrize("rate", [0.0, 0.3, None])
@pytest.mark.parametrize("w", [1, 2, 3])
def test_cosine_warmup_with_min_lr_warmup_lr_rate_equals_hf(w, rate):
    """Regression: with num_warmup_steps = 1 and warmup_lr_rate set, HF's k = 0 is warmup_lr_rate * lr (0.0 for
    rate 0, N = 9), not lr; found by the reference comparison (tests/test_dialect_reference.py)."""
    n, kw = 9, {"min_lr_rate": 0.1, **({} if rate is None else {"warmup_lr_rate": rate})}
    node = {"kind": "transformers.cosine_warmup_with_min_lr", "lr": 0.001, "num_warmup_steps": w,
            "num_training_steps": n, **kw}  # fmt: skip
    want = _hf_lrs("cosine_warmup_with_min_lr", w, n, kw, 2 * n + 2)
    got = schedspec.evaluate(schedspec.load({"schedspec": 1, "lr": node}), np.arange(len(want)), dtype="float64")
    _assert_parity(got, want, f"W={w} warmup_lr_rate={rate}")
    if w == 1 and rate == 0.0:
        assert got[0] == 0.0 and want[0] == 0.0


REAL_TYPES = ("cosine", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "cosine_with_restarts", "warmup_stable_decay")


@st.composite
def _hf_real_periods(draw):
    """HF's cosines with any num_cycles (two decimals, 0.5..5, or a whole count for restarts), N - W up to 10**6."""
    type_name = draw(st.sampled_from(REAL_TYPES))
    w = draw(st.integers(0, 100))
    length = draw(st.integers(1, 60) | st.integers(1, 10**6))
    c = float(draw(st.decimals(min_value="0.5", max_value="5", places=2)))
    if type_name == "cosine_with_restarts" and draw(st.booleans()):
        c = draw(st.integers(1, 40))
    kw = {"num_cycles": c}
    if type_name in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        kw["min_lr_rate"] = draw(st.sampled_from([0.0, 0.1]))
    if type_name == "warmup_stable_decay":
        kw.update(num_decay_steps=length, min_lr_ratio=draw(st.sampled_from([0.0, 0.1])))
    return type_name, w, w + length, kw


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(case=_hf_real_periods(), data=st.data())
def test_hf_real_periods_equal_hf_itself_or_are_refused_where_hf_rounding_moves_a_restart(case, data):
    """HF's own lambda (transformers' functions through get_scheduler) against schedspec's float64 evaluate, at
    the exact boundaries k = b-1, b, b+1 of every restart, the warmup, N, 2N and random k up to 2N + 2; or, for
    cosine_with_restarts only, a refusal at num_cycles naming a step where HF's float (num_cycles * progress)
    moves a restart (checked against HF's arithmetic)."""
    import math
    from fractions import Fraction

    import torch
    import transformers

    type_name, w, n, kw = case
    lr = 1e-3
    node = {"kind": f"transformers.{type_name}", "lr": lr, "num_warmup_steps": w, "num_training_steps": n, **kw}
    length = max(1, n - w)
    try:
        spec = schedspec.load({"schedspec": 1, "lr": node})
    except schedspec.SpecError as exc:
        assert type_name == "cosine_with_restarts", str(exc)
        (issue,) = exc.issues
        assert issue.path == "lr.num_cycles", str(exc)
        k = int(issue.message.split("restart at k = ")[1].split(" ")[0])
        exact = math.floor(Fraction(repr(float(kw["num_cycles"]))) * Fraction(k - w, length))
        assert math.floor(float(kw["num_cycles"]) * (float(k - w) / float(length))) != exact
        return
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=lr)
    sched = transformers.get_scheduler(type_name, opt, num_warmup_steps=w, num_training_steps=n,
                                       scheduler_specific_kwargs=dict(kw))  # fmt: skip
    hf = sched.lr_lambdas[0]
    c = Fraction(repr(float(kw["num_cycles"])))
    points = {0, w - 1, w, w + 1, n - 1, n, n + 1, 2 * n, 2 * n + 1, 2 * n + 2}
    period = Fraction(length) / c / (1 if type_name == "cosine_with_restarts" else 2)
    i = 1
    while i * period <= 2 * length and i <= 200:
        b = w + math.ceil(i * period)
        points |= {b - 1, b, b + 1}
        i += 1
    points |= set(data.draw(st.lists(st.integers(0, 2 * n + 2), min_size=20, max_size=20)))
    ks = sorted(k for k in points if k >= 0)
    want = [lr * hf(k) for k in ks]
    _assert_parity(schedspec.evaluate(spec, ks, dtype="float64"), want, repr(node))
