"""timm's training loop (issue 12 §3): ``to_torch(spec, optimizer, loop="timm")`` and the emitted module's
``build_scheduler(optimizer, loop="timm")`` in the loop of timm's ``train.py``, on timm's layer-decay param groups.

timm cannot be installed next to torch 2.13 here, so ``tests/loops.py`` mirrors it: ``param_groups_layer_decay``,
the ``Scheduler`` base class, ``StepLRScheduler``, ``PlateauLRScheduler`` and the scheduler calls of ``train.py``
(checked once against timm 1.0.31's own code: the same groups and, through the same loop, the same lrs).

* The lr every param group applied is ``evaluate(spec, k) * lr_scale`` (``k``: the update for ``interval: step``,
  the epoch for ``interval: epoch``), and equals timm's own ``StepLRScheduler``/``PlateauLRScheduler`` run through
  the same loop on the same groups, bit for bit, with ``t_in_epochs`` from the spec's ``interval``.
* The emitted module equals ``to_torch`` bit for bit in that loop.
* ``lr_scale`` is the last factor of the param-group rule, in both loops; a bad one is refused.
* Resuming as timm's ``main`` does, and the calls that would silently restart a fresh scheduler.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import schedspec  # noqa: E402

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import assert_f64, load_module, sgd_update
    from .loops import (
        TimmPlateauLRScheduler,
        TimmStepLRScheduler,
        timm_model,
        timm_param_groups_layer_decay,
        timm_train,
    )
except ImportError:
    from helpers import assert_f64, load_module, sgd_update
    from loops import (
        TimmPlateauLRScheduler,
        TimmStepLRScheduler,
        timm_model,
        timm_param_groups_layer_decay,
        timm_train,
    )

_MODULES: dict = {}


def emitted(spec, tmp_path_factory):
    spec = schedspec.load(spec)
    key = spec.canonical_json()
    if key not in _MODULES:
        _MODULES[key] = load_module(schedspec.emit(spec, "torch"), tmp_path_factory.mktemp("emitted"))
    return _MODULES[key]


@pytest.fixture(params=["to_torch", "emitted"])
def build(request, tmp_path_factory):
    """``build(spec, optimizer, **kw)``: a timm-loop scheduler from ``schedspec.to_torch`` or the emitted module."""
    if request.param == "to_torch":
        return lambda spec, opt, **kw: schedspec.to_torch(spec, opt, loop="timm", **kw)
    return lambda spec, opt, **kw: emitted(spec, tmp_path_factory).build_scheduler(opt, loop="timm", **kw)


L = 0.1  # timm's --lr: the optimizer's lr; layer-decay groups carry none of their own


def layer_decay_optimizer(layers: int = 4, layer_decay: float = 0.5):
    """SGD on timm's layer-decay groups of the tiny model: (optimizer, params, group index of each param, scales)."""
    named, layer_map = timm_model(layers)
    groups = timm_param_groups_layer_decay(named, layer_map, weight_decay=0.05, layer_decay=layer_decay)
    opt = torch.optim.SGD(groups, lr=L)
    params = [p for _, p in named]
    where = {id(p): g for g, group in enumerate(opt.param_groups) for p in group["params"]}
    return opt, params, [where[id(p)] for p in params], [g["lr_scale"] for g in opt.param_groups]


def per_group(applied, owner, ngroups):
    """``applied[update][param]`` -> ``[update][group]`` (every param of a group applied the same lr)."""
    out = []
    for row in applied:
        groups = [None] * ngroups
        for lr, g in zip(row, owner):
            assert groups[g] is None or groups[g] == lr
            groups[g] = lr
        out.append(groups)
    return out


STEP = {"schedspec": 1, "lr": {"kind": "step", "start": L, "every": 3, "gamma": 0.5}}
PLATEAU = {"schedspec": 1, "interval": "epoch", "total": 10,
           "lr": {"kind": "plateau", "start": L, "monitor": "val_loss", "patience": 1, "factor": 0.5}}  # fmt: skip
VAL = [1.0, 0.9, 0.9, 0.9, 0.95, 0.95, 0.8, 0.85, 0.8, 0.8, 0.7, 0.7]  # reductions every 1 and every 2 epochs


def run(make_sched, **loop):
    opt, params, owner, scales = layer_decay_optimizer()
    sched = make_sched(opt)
    return per_group(timm_train(opt, params, sched, **loop), owner, len(scales)), scales, sched


# ------------------------------------------------------------------------------------ the lrs, vs timm's own
@pytest.mark.parametrize("interval", ["step", "epoch"])
def test_layer_decay_groups_apply_value_times_lr_scale_as_timms_step_scheduler(interval, build):
    """timm's StepLRScheduler(decay_t=3, decay_rate=0.5) with t_in_epochs = (interval == "epoch") and the spec
    `step` (start 0.1, every 3, gamma 0.5) through timm's loop on layer-decay groups: the same lrs bit for bit, and
    each is evaluate(spec, k) * lr_scale (k the update, or the epoch). Before: step_update was missing, step(epoch,
    metric) refused, and lr_scale ignored (every group ran at the head's lr)."""
    spec = {**STEP, "interval": interval}
    loop = dict(epochs=6, batches=4, val_seq=VAL)
    ours, scales, sched = run(lambda opt: build(spec, opt), **loop)
    theirs, _, _ = run(lambda opt: TimmStepLRScheduler(opt, 3, 0.5, t_in_epochs=interval == "epoch"), **loop)
    assert ours == theirs
    assert sched.t_in_epochs == (interval == "epoch")
    k = np.arange(len(ours)) // (4 if interval == "epoch" else 1)
    value = schedspec.evaluate(spec, k, dtype="float64")
    for g, s in enumerate(scales):
        assert_f64([row[g] for row in ours], value * s, f"group {g} (lr_scale {s})")
    assert len(set(scales)) == 6 and len({row[-1] for row in ours}) >= 2  # 6 layers, decays happened


def test_the_head_gets_the_documents_lr_not_128x(build):
    """The named case: layer_decay 0.5 over 8 layers (embedding scale 0.5**7 = 1/128, listed first). The head runs
    at exactly value(k), the embedding at value(k) / 128; folding lr_scale into the groups' lrs under the former
    rule (a ratio to param group 0's lr) gave the head 128 x value(k)."""
    opt, params, owner, scales = layer_decay_optimizer(layers=6, layer_decay=0.5)
    assert scales[0] == 1 / 128 and scales[-1] == 1.0
    sched = build(STEP, opt)
    rows = per_group(timm_train(opt, params, sched, epochs=2, batches=5), owner, len(scales))
    exact = schedspec.to_torch(STEP, torch.optim.SGD([torch.zeros(1)], lr=L), block_size=0)
    for k, row in enumerate(rows):
        assert row[-1] == exact.lr_at(k)
        assert row[0] == exact.lr_at(k) / 128
    assert opt.param_groups[-1]["lr"] / exact.lr_at(len(rows)) == 1.0


@pytest.mark.parametrize("val_interval", [1, 2])
def test_plateau_from_timms_epoch_metric_matches_timms_plateau_scheduler(val_interval, build):
    """timm's PlateauLRScheduler (torch's ReduceLROnPlateau stepped by step(epoch, metric) when a metric is given)
    vs a spec plateau reported once per validation (every: val_interval epochs): the same lrs in every group, bit
    for bit, and evaluate's with those reports times lr_scale. With --val-interval 2, timm's step(e, None) at the
    epochs without validation is no report."""
    spec = copy.deepcopy(PLATEAU)
    spec["lr"]["every"] = val_interval
    loop = dict(epochs=10, batches=3, val_seq=VAL, val_interval=val_interval)
    ours, scales, sched = run(lambda opt: build(spec, opt), **loop)
    theirs, _, _ = run(lambda opt: TimmPlateauLRScheduler(opt, decay_rate=0.5, patience_t=1, mode="min"), **loop)
    assert ours == theirs
    reports = [VAL[e] for e in range(val_interval - 1, 10, val_interval)]
    assert list(sched.reports["val_loss"]) == reports
    epochs = np.arange(len(ours)) // 3
    value = schedspec.evaluate(spec, epochs, metrics={"val_loss": reports}, dtype="float64")
    for g, s in enumerate(scales):
        assert_f64([row[g] for row in ours], value * s, f"group {g}")
    assert len({row[-1] for row in ours}) >= 2  # it reduced


def test_interval_step_plateau_takes_its_reports_from_the_epoch_ends(build):
    """A per-update schedule (warmup, then a plateau reported per epoch of 4 updates, then a cosine cooldown):
    step_update moves the lr, step(epoch + 1, metric) gives the reports; the lrs equal evaluate(spec, update,
    metrics) * lr_scale. Between the epoch's last step_update and its step(epoch + 1, metric) the scheduler waits
    for the report (optimizer.step() would refuse), then writes the reduced lr."""
    spec = {"schedspec": 1, "steps_per_epoch": 4, "total": "10ep",
            "lr": [{"kind": "linear", "duration": "2ep", "start": 0.0, "end": L},
                   {"kind": "plateau", "duration": "6ep", "monitor": "val_loss", "patience": 1, "factor": 0.5},
                   {"kind": "cosine", "end": 0.0}]}  # fmt: skip
    ours, scales, sched = run(lambda opt: build(spec, opt), epochs=10, batches=4, val_seq=VAL)
    value = schedspec.evaluate(spec, np.arange(40), metrics={"val_loss": VAL[:10]}, dtype="float64")
    for g, s in enumerate(scales):
        assert_f64([row[g] for row in ours], value * s, f"group {g}")
    opt, params, _, _ = layer_decay_optimizer()
    sched = build(spec, opt)
    for n in range(1, 13):
        sgd_update(opt, params)
        sched.step_update(n)
        if n % 4 == 0:
            assert sched.waiting() == ([] if n < 12 else [("val_loss", 3)])
            if n == 12:
                with pytest.raises(RuntimeError, match="3 reports of 'val_loss'"):
                    sgd_update(opt, params)
            sched.step(n // 4, VAL[n // 4 - 1])
    assert sched.waiting() == [] and sgd_update(opt, params)[-1] == pytest.approx(value[12], rel=1e-15)


def test_emitted_module_equals_to_torch_bit_for_bit_in_timms_loop(tmp_path_factory):
    """The same timm runs through both paths (interval step and epoch, a plateau, another hyperparameter, a spec
    group carrying lr_scale): every param group's lr and weight decay agree bit for bit."""
    specs = [
        {**STEP, "interval": "epoch", "momentum": {"kind": "linear", "duration": 5, "start": 0.85, "end": 0.95}},
        {"schedspec": 1, "lr": {"kind": "cosine", "duration": 30, "start": L, "end": 0.0},
         "weight_decay": {"kind": "linear", "duration": 20, "start": 0.0, "end": 0.01},
         "groups": {"head": {"scale": 0.5}}},
        PLATEAU,
    ]  # fmt: skip
    for spec in specs:
        mod = emitted(spec, tmp_path_factory)
        results = []
        makers = (lambda o, s=spec: schedspec.to_torch(s, o, loop="timm"), lambda o, m=mod: m.build_scheduler(o, loop="timm"))
        for make in makers:
            opt, params, owner, scales = layer_decay_optimizer()
            opt.param_groups[-1]["name"] = "head"
            for g in opt.param_groups:
                g.setdefault("momentum", 0.0)
            sched = make(opt)
            seen = []
            orig = opt.step

            def step(*a, _orig=orig, _opt=opt, _seen=seen, **kw):
                _seen.append([(g["lr"], g["weight_decay"], g["momentum"]) for g in _opt.param_groups])
                return _orig(*a, **kw)

            opt.step = step
            timm_train(opt, params, sched, epochs=8, batches=3, val_seq=VAL)
            results.append(seen)
        assert results[0] == results[1], spec


# ------------------------------------------------------------------------------------------------ lr_scale
@pytest.mark.parametrize("loop", ["torch", "timm"])
def test_lr_scale_is_the_last_factor_of_the_param_group_rule(loop, tmp_path_factory):
    """In torch's loop and timm's, to_torch and the emitted module: a group built with its own lr (factor
    lr_g / L) and carrying lr_scale gets value * factor * lr_scale; a spec group gets its own schedule * lr_scale;
    lr_scale is read from the param groups as they are (a change applies from the next step, as timm's
    update_groups reads it each time)."""
    spec = {"schedspec": 1, "lr": {"kind": "linear", "duration": 10, "start": 0.0, "end": L},
            "groups": {"head": {"scale": 0.5}}}  # fmt: skip
    rows = [{}, {"lr": 0.05, "lr_scale": 0.25}, {"lr_scale": 0.5}, {"name": "head", "lr_scale": 0.75}]
    exact = schedspec.to_torch({**spec, "groups": {}}, torch.optim.SGD([torch.zeros(1)], lr=L), block_size=0)
    mod = emitted(spec, tmp_path_factory)
    for make in (lambda o: schedspec.to_torch(spec, o, loop=loop), lambda o: mod.build_scheduler(o, loop=loop)):
        params = [torch.zeros(1, dtype=torch.float64, requires_grad=True) for _ in rows]
        opt = torch.optim.SGD([{"params": [p], **extra} for p, extra in zip(params, rows)], lr=L)
        sched = make(opt)
        scale_c = 0.5
        for k in range(12):
            v = exact.lr_at(k)
            assert sgd_update(opt, params) == [v, v * 0.5 * 0.25, v * scale_c, v * 0.5 * 0.75], (loop, k)
            if k == 6:
                opt.param_groups[2]["lr_scale"] = scale_c = 0.125
            sched.step() if loop == "torch" else sched.step_update(k + 1)


@pytest.mark.parametrize("bad", [True, "0.5", float("nan"), float("inf"), -0.5, None, [0.5]])
def test_a_bad_lr_scale_is_refused(bad, build):
    opt, params, _, _ = layer_decay_optimizer()
    opt.param_groups[3]["lr_scale"] = bad
    with pytest.raises(ValueError, match=r"param group 3 has lr_scale=.*finite number >= 0"):
        build(STEP, opt)


def test_folding_lr_scale_into_the_groups_lrs_applies_it_twice_as_in_timm():
    """timm's scheduler takes a group's built lr (initial_lr) as its base and multiplies by lr_scale: groups built
    with lr = L * lr_scale get lr_scale twice there; the same here (documented: do not fold it)."""
    def rows(make):
        named, layer_map = timm_model(2)
        groups = timm_param_groups_layer_decay(named, layer_map, layer_decay=0.5)
        for g in groups:
            g["lr"] = L * g["lr_scale"]
        opt = torch.optim.SGD(groups, lr=L)
        sched = make(opt)
        return [row[::2] for row in timm_train(opt, [p for _, p in named], sched, epochs=2, batches=3)]

    ours = rows(lambda o: schedspec.to_torch(STEP, o, loop="timm"))
    theirs = rows(lambda o: TimmStepLRScheduler(o, 3, 0.5, t_in_epochs=False))
    assert ours == theirs
    assert ours[0] == [L * 0.125**2, L * 0.25**2, L * 0.5**2, L]


# ------------------------------------------------------------------------------------------------ resume
def _checkpoint_run(spec, build, *, stop, epochs, sched_on_updates, load_state, batches=3):
    """timm's run stopped after ``stop`` epochs and resumed by main (a fresh optimizer loaded from the checkpoint,
    a fresh scheduler, then main's resume call); returns (uninterrupted lrs, resumed lrs)."""
    opt, params, owner, scales = layer_decay_optimizer()
    full = per_group(timm_train(opt, params, build(spec, opt), epochs=epochs, batches=batches, val_seq=VAL),
                     owner, len(scales))  # fmt: skip
    opt, params, owner, scales = layer_decay_optimizer()
    sched = build(spec, opt)
    first = per_group(timm_train(opt, params, sched, epochs=stop, batches=batches, val_seq=VAL), owner, len(scales))
    saved = {"optimizer": copy.deepcopy(opt.state_dict()), "scheduler": sched.state_dict()}
    opt, params, owner, scales = layer_decay_optimizer()
    opt.load_state_dict(saved["optimizer"])
    sched = build(spec, opt)
    if load_state:
        sched.load_state_dict(saved["scheduler"])
    rest = timm_train(opt, params, sched, epochs=epochs, batches=batches, start_epoch=stop, val_seq=VAL,
                      sched_on_updates=sched_on_updates, resume=True)  # fmt: skip
    return full, first + per_group(rest, owner, len(scales))


@pytest.mark.parametrize("interval", ["step", "epoch"])
def test_resume_as_timms_main_does(interval, build):
    """Without a plateau a fresh scheduler is put in place by main's own resume call (step_update(start_epoch *
    updates_per_epoch) with --sched-on-updates for interval: step; step(start_epoch) for interval: epoch): the
    resumed run equals the uninterrupted one bit for bit, lr_scale included."""
    spec = {**STEP, "interval": interval}
    full, resumed = _checkpoint_run(spec, build, stop=3, epochs=6, sched_on_updates=interval == "step",
                                    load_state=False)  # fmt: skip
    assert resumed == full


@pytest.mark.parametrize("interval", ["step", "epoch"])
def test_the_resume_call_that_would_restart_a_fresh_scheduler_is_refused(interval, build):
    """The other resume call leaves a fresh scheduler at 0 (timm's step(start_epoch) for a per-update spec, or
    step_update(start_epoch * updates_per_epoch) for a per-epoch spec): refused, saying which flag or state fixes
    it; with the scheduler's state loaded, the same call resumes exactly."""
    spec = {**STEP, "interval": interval}
    flag = "with --sched-on-updates" if interval == "step" else "without --sched-on-updates"
    with pytest.raises(ValueError, match=f"first call of a fresh scheduler.*Run timm {flag}"):
        _checkpoint_run(spec, build, stop=3, epochs=6, sched_on_updates=interval == "epoch", load_state=False)
    full, resumed = _checkpoint_run(spec, build, stop=3, epochs=6, sched_on_updates=interval == "epoch",
                                    load_state=True)  # fmt: skip
    assert resumed == full


def test_plateau_resume_needs_the_schedulers_state(build):
    """timm's CheckpointSaver does not save the scheduler: a plateau resumed without its state is refused at the
    first update (its lr waits for reports no one made); with the state saved and loaded it is exact."""
    full, resumed = _checkpoint_run(PLATEAU, build, stop=4, epochs=8, sched_on_updates=False, load_state=True)
    assert resumed == full and len({row[-1] for row in full}) >= 2
    with pytest.raises(RuntimeError, match=r"uses the value after 4 reports of 'val_loss'"):
        _checkpoint_run(PLATEAU, build, stop=4, epochs=8, sched_on_updates=False, load_state=False)


# ------------------------------------------------------------------------------------------------ the calls
def test_timm_calls_are_checked_and_torch_loops_point_to_loop_timm(build, tmp_path_factory):
    opt, params, _, _ = layer_decay_optimizer()
    sched = build(PLATEAU, opt)
    with pytest.raises(ValueError, match=r"needs the epoch"):
        sched.step()
    for bad in (1.5, "2", True, -1):
        with pytest.raises(ValueError, match=r"whole number|2\*\*31-1"):
            sched.step(bad, 1.0)
        with pytest.raises(ValueError, match=r"whole number|2\*\*31-1"):
            sched.step_update(bad)
    with pytest.raises(ValueError, match="monitors 'val_acc'|no plateau of this schedule monitors 'val_acc'"):
        sched.step(1, {"val_acc": 1.0})
    sched.step(1, {"val_loss": 1.0})
    assert list(sched.reports["val_loss"]) == [1.0]
    sched.step(2, None)  # timm skipped validation: no report, and the epoch waits for it
    assert sched.waiting() == [("val_loss", 2)]
    with pytest.raises(RuntimeError, match="2 reports of 'val_loss'"):
        sgd_update(opt, params)
    with pytest.raises(ValueError, match="loop must be 'torch' or 'timm'"):
        schedspec.to_torch(STEP, opt, loop="lightning")
    with pytest.raises(ValueError, match="loop must be 'torch' or 'timm'"):
        emitted(STEP, tmp_path_factory).build_scheduler(opt, loop="lightning")
    for plain in (schedspec.to_torch(STEP, opt), emitted(STEP, tmp_path_factory).build_scheduler(opt)):
        with pytest.raises(TypeError, match=r"step_update\(4\) is timm's call.*loop='timm'"):
            plain.step_update(4)


def test_public_report_accessors():
    """waiting(), reports, monitors and report_every: what training-loop helpers read (Lightning, HF)."""
    spec = {"schedspec": 1, "lr": [{"kind": "constant", "value": L, "duration": 4},
                                   {"kind": "plateau", "monitor": "val_loss", "every": 2, "patience": 0}],
            "total": 20}  # fmt: skip
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    sched = schedspec.to_torch(spec, torch.optim.SGD([p], lr=L))
    assert sched.monitors == ("val_loss",) and dict(sched.report_every) == {"val_loss": 2}
    assert sched.reports == {"val_loss": ()} and sched.waiting() == [] and sched.interval == "step"
    for _ in range(6):
        assert sgd_update(sched.optimizer, [p]) == [L]
        sched.step()
    assert sched.waiting() == [("val_loss", 3)]
    for v in (1.0, 1.0):
        sched.report("val_loss", v)
    view = sched.reports
    assert view["val_loss"] == (1.0, 1.0) and sched.waiting() == [("val_loss", 3)]
    with pytest.raises(TypeError):
        view["val_loss"] = (0.0,)
    with pytest.raises(TypeError):
        sched.report_every["val_loss"] = 1
    sched.report("val_loss", 2.0)
    assert view["val_loss"] == (1.0, 1.0) and sched.reports["val_loss"] == (1.0, 1.0, 2.0)  # a snapshot
    assert sched.waiting() == [] and sgd_update(sched.optimizer, [p]) == [L]  # report 2: the first it consumes
    plain = schedspec.to_torch(STEP, torch.optim.SGD([p], lr=L))
    assert plain.monitors == () and plain.reports == {} and plain.waiting() == []
