"""adapters/_torch_lr.py (SchedSpecLR), mutation pass (issue 14, item 1): torch's LRScheduler protocol (the
deprecated ``step(epoch)``, ``get_last_lr``), values in blocks across phase and block boundaries, the param-group
rule with ``lr_scale``, plateau reports, ``state_dict`` / ``load_state_dict`` and every refusal, with its exact
message. Values come from the independent reference (tests/reference.py), from native torch schedulers
(``torch.optim.lr_scheduler``), or are worked by hand; messages are written by hand.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import schedspec  # noqa: E402

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import native_torch, sgd_update
    from .reference import ref_values
except ImportError:
    from helpers import native_torch, sgd_update
    from reference import ref_values

COSINE_DOC = {"schedspec": 1, "lr": [{"kind": "cosine", "duration": 10, "start": 0.1, "end": 0.0}]}
COSINE = schedspec.loads("schedspec: 1\nlr: [{kind: cosine, duration: 10, start: 0.1, end: 0.0}]\n", file="co.yaml")
PLATEAU = schedspec.loads(
    "schedspec: 1\nname: pl\nlr:\n  - {kind: linear, duration: 4, start: 0.0, end: 0.1}\n"
    "  - {kind: plateau, monitor: loss, every: 2, patience: 0, factor: 0.5}\n", file="pl.yaml")
# three phases (warmup, hold, cosine) whose boundaries 5 and 12 fall inside blocks of 7 and 4 steps
THREE = {"schedspec": 1, "lr": [{"kind": "linear", "duration": 5, "start": 0.0, "end": 0.4},
                                {"kind": "constant", "duration": 7, "value": 0.4},
                                {"kind": "cosine", "duration": 9, "end": 0.004}]}


def _opt(lr=0.1, n=1, **group):
    params = [{"params": [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], **group} for _ in range(n)]
    return torch.optim.SGD(params, lr=lr)


def _run(sched, n):
    """``get_last_lr()`` of updates 0 .. n-1 under ``optimizer.step(); scheduler.step()``."""
    out = []
    for _ in range(n):
        out.append(sched.get_last_lr()[0])
        sched.optimizer.step()
        sched.step()
    return out


# ------------------------------------------------------------------ values in blocks, the step(epoch) protocol
@pytest.mark.parametrize("block_size", [0, 1, 4, 7, 4096])
def test_every_block_size_gives_the_reference_values_across_phase_and_block_boundaries(block_size):
    k = np.arange(30)
    sched = schedspec.to_torch(THREE, _opt(0.4), block_size=block_size)
    np.testing.assert_allclose(_run(sched, 30), ref_values(THREE, k), rtol=1e-13, atol=0)
    assert [sched.lr_at(int(i)) for i in k] == pytest.approx(ref_values(THREE, k), rel=1e-13, abs=0)


@pytest.mark.parametrize("block_size", [0, 7])
def test_deprecated_step_epoch_jumps_like_torchs_closed_form(block_size):
    """torch's ``step(epoch)`` sets ``last_epoch = epoch`` and the closed-form lr there (here: forwards past a
    block, back into an earlier block, and to the last update of all); compared with torch's CosineAnnealingLR,
    whose closed form is the same cosine (``eta_min + (base - eta_min) * (1 + cos(pi * k / T_max)) / 2``)."""
    spec = {"schedspec": 1, "lr": [{"kind": "cosine", "duration": 20, "start": 0.1, "end": 0.001}]}
    sched = schedspec.to_torch(spec, _opt(0.1), block_size=block_size)
    native_opt = _opt(0.1)
    native = torch.optim.lr_scheduler.CosineAnnealingLR(native_opt, T_max=20, eta_min=0.001)
    for k in (15, 3, 9, 20, 2):
        with pytest.warns(UserWarning):  # torch's deprecation of step(epoch), for both
            sched.step(k)
            native.step(k)
        assert sched.last_epoch == k
        assert sched.get_last_lr()[0] == pytest.approx(native.get_last_lr()[0], rel=1e-14, abs=1e-17)
        assert sched.optimizer.param_groups[0]["lr"] == sched.get_last_lr()[0]
    with pytest.warns(UserWarning):
        sched.step(2**31 - 1)
    assert sched.get_last_lr() == [0.001]  # the declared end, held exactly to the last int32 update


def test_a_long_sequence_is_evaluated_whole_in_blocks():
    """More phases than the phase-by-phase block path takes (17 > 16): the same values as the scalar path and
    the reference (a staircase 0.1, 0.2, ... of 3 updates each)."""
    spec = {"schedspec": 1, "lr": [{"kind": "constant", "duration": 3, "value": 0.1 * (i + 1)} for i in range(17)]}
    k = np.arange(60)
    for block_size in (0, 5, 4096):
        sched = schedspec.to_torch(spec, _opt(0.1), block_size=block_size)
        assert _run(sched, 60) == pytest.approx(ref_values(spec, k), rel=1e-15, abs=0)
    assert ref_values(spec, [0, 3, 50, 59]) == [0.1, 0.2, 0.1 * 17, 0.1 * 17]


def test_lr_scale_multiplies_each_groups_value():
    """timm's layer decay: a group carrying ``lr_scale`` gets ``value(k) * lr_scale`` (block and scalar paths,
    and ``get_lr``); the update the optimizer applied says the same."""
    for block_size in (0, 4096):
        opt = _opt(0.1, n=2)
        opt.param_groups[1]["lr_scale"] = 0.25
        sched = schedspec.to_torch(COSINE, opt, block_size=block_size)
        params = [g["params"][0] for g in opt.param_groups]
        for k in range(12):
            v = ref_values(COSINE_DOC, [k])[0]
            assert sched.get_last_lr() == pytest.approx([v, v * 0.25], rel=1e-14, abs=1e-18)
            assert sgd_update(opt, params) == pytest.approx([v, v * 0.25], rel=1e-14, abs=1e-18)
            sched.step()


def test_get_lr_inside_step_does_not_warn_and_outside_warns_like_torch():
    sched = schedspec.to_torch(COSINE, _opt())
    sched.optimizer.step()
    sched.step()  # inside step(): no warning (pyproject turns warnings into errors)
    with pytest.warns(UserWarning, match=r"^To get the last learning rate computed by the scheduler, please use "
                                         r"`get_last_lr\(\)`\.$"):
        assert sched.get_lr() == [0.1 * (1 + math.cos(math.pi / 10)) / 2]


# ------------------------------------------------------------------ refusals, with their exact messages
def _raises(exc, fn, message):
    with pytest.raises(exc) as info:
        fn()
    assert str(info.value) == message


def test_block_size_and_interval_are_checked():
    _raises(ValueError, lambda: schedspec.to_torch(COSINE, _opt(), block_size=1.5),
            "block_size must be an int >= 0 (got 1.5)")
    _raises(ValueError, lambda: schedspec.to_torch(COSINE, _opt(), block_size=-1),
            "block_size must be an int >= 0 (got -1)")
    assert schedspec.to_torch(COSINE, _opt(), block_size=0).block_size == 0
    from schedspec.adapters.torch import SchedSpecLR

    node = COSINE.program.hparams["lr"]
    _raises(ValueError, lambda: SchedSpecLR(_opt(), node, fingerprint="f", interval="epochs"),
            "interval must be 'step' or 'epoch' (got 'epochs')")
    assert SchedSpecLR(_opt(), node, fingerprint="f", interval="epoch").interval == "epoch"
    # the documented defaults of a scheduler built directly
    sched = SchedSpecLR(_opt(), node, fingerprint="f")
    assert (sched.hparam, sched.spec_name, sched.block_size, sched.interval, sched.fingerprint) == (
        "lr", "", 4096, "step", "f")  # fmt: skip
    assert sched.state_dict()["schedspec_hparam"] == "lr" and sched.monitors == () and sched.waiting() == []


def test_a_bool_is_not_taken_for_an_int_by_any_adapter_argument():
    """``True`` is an ``int`` in Python; no adapter may read it as 1 (a block of one step, param group 1, one
    accumulated step, a report buffer of one): each refuses it, as the emitted modules already did."""
    import keras  # noqa: F401  (the keras adapter needs it; CI has it)

    _raises(ValueError, lambda: schedspec.to_torch(COSINE, _opt(), block_size=True),
            "block_size must be an int >= 0 (got True)")
    grouped = schedspec.loads("schedspec: 1\nlr: 0.1\ngroups:\n  head:\n    lr: 0.2\n", file="g.yaml")
    with pytest.raises(schedspec.SpecError, match=r"groups\['head'\] = True: the optimizer has param groups 0..1"):
        schedspec.to_torch(grouped, _opt(n=2), groups={"head": True})
    assert schedspec.to_torch(grouped, _opt(n=2), groups={"head": 1}).get_last_lr() == [0.1, 0.2]
    with pytest.raises(ValueError, match=r"gradient_accumulation_steps must be an integer >= 1 \(got True\)"):
        schedspec.to_keras(COSINE, gradient_accumulation_steps=True)
    with pytest.raises((ValueError, schedspec.SpecError), match="max_reports"):
        schedspec.to_keras(PLATEAU, max_reports=True)


def test_the_deprecated_epoch_is_a_whole_number_in_range():
    sched = schedspec.to_torch(COSINE, _opt())
    for bad in (1.5, True, "3"):
        _raises(ValueError, lambda bad=bad: sched.step(bad),
                f"scheduler.step({bad!r}): 'co.yaml' has no `plateau`, so it takes no metric; a positional argument "
                "is torch's deprecated `epoch` (the update whose lr to set next), which must be a whole number (an "
                "int). Call scheduler.step() once per update")
    for bad in (2**31, -1):
        _raises(ValueError, lambda bad=bad: sched.step(epoch=bad),
                f"scheduler.step(epoch={bad}): the epoch must be in [0, 2**31-1]")
    _raises(ValueError, lambda: sched.step(3, epoch=4),
            "give torch's deprecated epoch once: scheduler.step(e) or scheduler.step(epoch=e)")
    _raises(ValueError, lambda: sched.step(metrics=1.0), "'co.yaml' has no `plateau`: scheduler.step() takes no metrics")
    _raises(ValueError, lambda: sched.report("loss", 1.0), "'co.yaml' has no `plateau`, so it takes no metric reports")
    assert sched.last_epoch == 0  # nothing moved


def test_update_indices_are_checked_like_evaluate():
    sched = schedspec.to_torch(COSINE, _opt())
    _raises(ValueError, lambda: sched.lr_at(True), "last_epoch=True: k must be an int or an array of ints, got bool")
    _raises(ValueError, lambda: sched.lr_at([1, 2]),
            "last_epoch=[1, 2]: one update index is expected, got an array of shape (2,)")
    assert sched.lr_at(np.int64(10)) == 0.0


def test_timms_step_update_is_refused_with_the_way_to_build_a_timm_scheduler():
    for interval, per in (("step", "optimizer update"), ("epoch", "epoch")):
        spec = {"schedspec": 1, "interval": interval, "lr": [{"kind": "cosine", "duration": 10, "start": 0.1}]}
        _raises(TypeError, lambda spec=spec: schedspec.to_torch(spec, _opt()).step_update(5),
                f"scheduler.step_update(5) is timm's call, but this scheduler follows torch's loop (scheduler.step() "
                f"once per {per}): in timm's train.py build it with schedspec.to_torch(spec, optimizer, loop='timm'), "
                "whose step_update(num_updates, metric) and step(epoch, metric) follow timm's")


def test_repr_names_the_spec_the_hparam_the_fingerprint_and_the_update():
    sched = schedspec.to_torch(COSINE, _opt())
    sched.optimizer.step()
    sched.step()
    assert repr(sched) == (f"<schedspec.SchedSpecLR 'co.yaml' `lr` fingerprint={sched.fingerprint} last_epoch=1>")


# ------------------------------------------------------------------ state dicts
def test_state_dict_holds_exactly_the_resume_state():
    sched = schedspec.to_torch(COSINE, _opt())
    for _ in range(3):
        sched.optimizer.step()
        sched.step()
    v3 = 0.1 * (1 + math.cos(math.pi * 3 / 10)) / 2
    assert sched.state_dict() == {"last_epoch": 3, "_step_count": 4, "base_lrs": [0.1],
                                  "_last_lr": [pytest.approx(v3, rel=1e-15)],
                                  "schedspec_fingerprint": sched.fingerprint, "schedspec_hparam": "lr"}


def test_load_state_dict_refuses_a_foreign_or_incomplete_state():
    sched = schedspec.to_torch(COSINE, _opt())
    state = sched.state_dict()
    _raises(ValueError, lambda: sched.load_state_dict({"b": 1, "a": 2}),
            "this is not a schedspec scheduler state (no 'schedspec_fingerprint'; keys: a, b); load a state saved by "
            "a schedspec.to_torch scheduler")
    _raises(ValueError, lambda: sched.load_state_dict({**state, "schedspec_fingerprint": "x"}),
            f"the scheduler state was saved from a different schedule (fingerprint x, `lr`); this scheduler runs "
            f"'co.yaml' (fingerprint {sched.fingerprint}, `lr`). Build the scheduler from the same spec and vars as "
            "the checkpoint")
    _raises(ValueError, lambda: sched.load_state_dict({**state, "schedspec_hparam": "momentum"}),
            f"the scheduler state was saved from a different schedule (fingerprint {sched.fingerprint}, `momentum`); "
            f"this scheduler runs 'co.yaml' (fingerprint {sched.fingerprint}, `lr`). Build the scheduler from the "
            "same spec and vars as the checkpoint")
    for key in ("last_epoch", "_step_count", "base_lrs", "_last_lr"):
        _raises(ValueError, lambda key=key: sched.load_state_dict({k: v for k, v in state.items() if k != key}),
                f"the scheduler state lacks {key}")
    _raises(ValueError, lambda: sched.load_state_dict({k: v for k, v in state.items() if k not in ("base_lrs", "_last_lr")}),
            "the scheduler state lacks base_lrs, _last_lr")
    _raises(ValueError, lambda: sched.load_state_dict({**state, "base_lrs": [0.1, 0.1]}),
            "the scheduler state has 2 param groups, the optimizer has 1")
    # a state without schedspec_hparam is the lr's
    sched.load_state_dict({k: v for k, v in state.items() if k != "schedspec_hparam"})
    assert sched.last_epoch == 0


def test_load_state_dict_writes_the_restored_update_into_the_optimizer():
    """The restored update's lr goes into the optimizer whatever it held (the lr torch's CosineAnnealingLR's
    closed form gives there), ``initial_lr`` is the saved built lr, and ``_step_count`` is restored."""
    src = schedspec.to_torch(COSINE, _opt())
    for _ in range(4):
        src.optimizer.step()
        src.step()
    state = src.state_dict()
    opt = _opt(0.1)
    dst = schedspec.to_torch(COSINE, opt)
    opt.param_groups[0]["lr"] = 123.0
    opt.param_groups[0]["initial_lr"] = 7.0
    dst.load_state_dict(state)
    native = torch.optim.lr_scheduler.CosineAnnealingLR(_opt(0.1), T_max=10, eta_min=0.0)
    for _ in range(4):
        native.optimizer.step()
        native.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(native.get_last_lr()[0], rel=1e-14)
    assert opt.param_groups[0]["initial_lr"] == 0.1
    assert (dst.last_epoch, dst._step_count, dst.base_lrs) == (4, 5, [0.1])


# ------------------------------------------------------------------ plateau reports
def test_plateau_accessors_and_report_refusals():
    sched = schedspec.to_torch(PLATEAU, _opt())
    assert (sched.monitors, dict(sched.report_every), dict(sched.reports), sched.waiting()) == (
        ("loss",), {"loss": 2}, {"loss": ()}, [])
    with pytest.raises(TypeError):
        sched.report_every["loss"] = 3  # read-only
    _raises(ValueError, lambda: sched.step(1.0, metrics=1.0),
            "give the metric report once: scheduler.step(v) or scheduler.step(metrics=v)")
    _raises(ValueError, lambda: sched.step(epoch=3),
            "this schedule has a `plateau`: give a metric report as scheduler.step(value), "
            "scheduler.step(metrics=value) or scheduler.report(name, value); `epoch` (torch's deprecated explicit "
            "epoch) cannot move a schedule driven by reports")
    _raises(ValueError, lambda: sched.report("los", 1.0),
            "no `plateau` of 'pl' monitors 'los'; did you mean 'loss'? (monitored: loss)")
    sched.report("loss", 1.0)  # report 0: the metric at the end of interval 0 (updates 0..1), given early
    _raises(ValueError, lambda: sched.report("loss", 1.0),
            "report #1 of 'loss' is the metric at the end of interval 1 (updates 2..3), but the scheduler is at "
            "update 0 (interval 0): make one report per 2 updates")
    assert dict(sched.reports) == {"loss": (1.0,)}


def test_a_plateau_update_waits_for_its_report_and_resumes_from_the_reports():
    sched = schedspec.to_torch(PLATEAU, _opt())
    lrs = []
    for _ in range(6):
        lrs.append(sched.get_last_lr()[0])
        sched.optimizer.step()
        sched.step()
        if sched.last_epoch in (2, 4):
            sched.report("loss", 1.0)
    # warmup 0, 0.025, 0.05, 0.075, then 0.1 from update 4 (the plateau starts; report 1 is its first)
    assert lrs == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1, 0.1], rel=1e-15)
    assert sched.waiting() == [("loss", 3)]
    _raises(RuntimeError, sched.optimizer.step,
            "update 6 of 'pl' uses the value after 3 reports of 'loss' (one per 2 updates), but 2 were given: call "
            "scheduler.report('loss', value) (or scheduler.step(metrics=value)) at the end of each interval, before "
            "the next optimizer.step()")
    state = sched.state_dict()
    assert state["schedspec_reports"] == {"loss": [1.0, 1.0]}
    _raises(ValueError, lambda: schedspec.to_torch(PLATEAU, _opt()).load_state_dict(
        {k: v for k, v in state.items() if k != "schedspec_reports"}),
        "the scheduler state has no metric reports, but this schedule has a `plateau`")
    # report 2 is the plateau's first (its best); report 3 (1.0 again, not better, patience 0) halves the lr from
    # the next interval on: torch's ReduceLROnPlateau on the plateau's reports says the same
    sched.report("loss", 1.0)
    assert sched.waiting() == [] and sched.get_last_lr() == [0.1]
    sched.optimizer.step()
    sched.step()
    sched.optimizer.step()
    sched.step(metrics=1.0)  # report 3, then update 8
    assert native_torch([1.0, 1.0, 1.0], {"patience": 0, "factor": 0.5}, start=0.1) == [0.1, 0.1, 0.05]
    assert (sched.last_epoch, sched.get_last_lr()) == (8, [0.05])
    resumed = schedspec.to_torch(PLATEAU, _opt())
    resumed.load_state_dict(sched.state_dict())
    assert resumed.get_last_lr() == [0.05] and resumed.optimizer.param_groups[0]["lr"] == 0.05
    assert dict(resumed.reports) == {"loss": (1.0, 1.0, 1.0, 1.0)}


def test_deprecated_step_epoch_with_spec_groups_sets_each_groups_value():
    """A spec with ``groups:`` (one scalar evaluation per group): ``step(epoch)`` jumps every param group to its
    own schedule's value there (worked by hand: the head's constant 0.05 then 0.005 from update 20; the document's
    linear 0 -> 0.1 over 10 updates, held; the backbone at scale 0.1 of it)."""
    spec = {"schedspec": 1, "lr": [{"kind": "linear", "duration": 10, "start": 0.0, "end": 0.1}],
            "groups": {"backbone": {"scale": 0.1},
                       "head": {"lr": [{"kind": "constant", "value": 0.05, "duration": 20},
                                       {"kind": "constant", "value": 0.005}]}}}
    params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(2)]
    opt = torch.optim.SGD([{"params": [params[0]], "name": "head"}, {"params": [params[1]], "name": "backbone"}],
                          lr=0.1)
    sched = schedspec.to_torch(spec, opt)
    for k, want in ((5, [0.05, 0.005]), (25, [0.005, 0.01]), (19, [0.05, 0.01])):
        with pytest.warns(UserWarning):  # torch's deprecation of step(epoch)
            sched.step(k)
        assert sched.last_epoch == k
        assert sched.get_last_lr() == pytest.approx(want, rel=1e-15)
        assert sgd_update(opt, params) == pytest.approx(want, rel=1e-15)


def test_waiting_gives_the_most_reports_any_plateau_of_a_metric_needs():
    """Two plateaus on `loss` (one report per update): the lr's runs on, the momentum's ended at update 3. At
    update 10 with no report, the lr's needs reports 0..9 (10), the momentum's 3: ``waiting`` says 10, once."""
    spec = {"schedspec": 1,
            "lr": [{"kind": "plateau", "start": 0.1, "monitor": "loss", "every": 1, "patience": 0, "factor": 0.5}],
            "momentum": [{"kind": "plateau", "duration": 3, "start": 0.9, "monitor": "loss", "every": 1,
                          "patience": 0, "factor": 0.5}, {"kind": "constant", "value": 0.5}]}
    params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))]
    sched = schedspec.to_torch(spec, torch.optim.SGD(params, lr=0.1, momentum=0.9))
    assert sched.waiting() == []
    state = {**sched.state_dict(), "last_epoch": 10}
    resumed = schedspec.to_torch(spec, torch.optim.SGD(params, lr=0.1, momentum=0.9))
    resumed.load_state_dict(state)
    assert resumed.waiting() == [("loss", 10)]


def test_lr_at_with_groups_or_plateaus_is_the_documents_value():
    """``lr_at`` on the per-group scalar path (groups, plateaus): the document's lr at ``k``; with a plateau,
    from the reports given so far, NaN where one is missing (its docstring). Worked by hand: the warmup
    0, 0.025, ..., 0.1 (4 updates), then the plateau halving 0.1 after report 3 (patience 0, as in
    ``test_a_plateau_update_waits_for_its_report_and_resumes_from_the_reports``)."""
    spec = {"schedspec": 1, "lr": [{"kind": "linear", "duration": 10, "start": 0.0, "end": 0.1}],
            "groups": {"head": {"lr": 0.5}}}
    params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(2)]
    opt = torch.optim.SGD([{"params": [params[0]], "name": "head"}, {"params": [params[1]]}], lr=0.1)
    sched = schedspec.to_torch(spec, opt)
    assert [sched.lr_at(k) for k in (0, 5, 10, 11)] == pytest.approx([0.0, 0.05, 0.1, 0.1], rel=1e-15)
    _raises(ValueError, lambda: sched.lr_at(-1), "last_epoch=-1: " + _check_steps_message(-1))
    sched = schedspec.to_torch(PLATEAU, _opt())
    assert [sched.lr_at(k) for k in (0, 2, 4)] == pytest.approx([0.0, 0.05, 0.1], rel=1e-15)
    assert math.isnan(sched.lr_at(4 + 2))  # needs report 2, not given
    for _ in range(4):
        sched.report("loss", 1.0)
        for _ in range(2):
            sched.optimizer.step()
            sched.step()
    assert sched.lr_at(6) == 0.1 and sched.lr_at(8) == 0.05


def _check_steps_message(k):
    from schedspec import ir

    with pytest.raises(ValueError) as info:
        ir.check_steps(k)
    return str(info.value)


def test_an_epoch_plateau_says_epoch_and_one_report_per_epoch_is_singular():
    spec = schedspec.loads("schedspec: 1\ninterval: epoch\nlr:\n"
                           "  - {kind: plateau, start: 0.1, monitor: loss, every: 1, patience: 0}\n", file="ep.yaml")
    sched = schedspec.to_torch(spec, _opt())
    sched.optimizer.step()
    sched.step()
    _raises(RuntimeError, sched.optimizer.step,
            "epoch 1 of 'ep.yaml' uses the value after 1 reports of 'loss' (one per 1 epoch), but 0 were given: call "
            "scheduler.report('loss', value) (or scheduler.step(metrics=value)) at the end of each interval, before "
            "the next optimizer.step()")
    sched.report("loss", 1.0)
    sched.report("loss", 1.0)
    _raises(ValueError, lambda: sched.report("loss", 1.0),
            "report #2 of 'loss' is the metric at the end of interval 2 (updates 2..2), but the scheduler is at "
            "update 1 (interval 1): make one report per 1 update")


def test_an_unknown_metric_lists_every_monitored_one():
    spec = schedspec.loads("schedspec: 1\nlr:\n  - {kind: plateau, start: 0.1, monitor: loss, every: 1, patience: 0}\n"
                           "momentum:\n  - {kind: plateau, start: 0.9, monitor: acc, mode: max, every: 1, patience: 0}\n",
                           file="two.yaml")
    params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))]
    sched = schedspec.to_torch(spec, torch.optim.SGD(params, lr=0.1, momentum=0.9))
    _raises(ValueError, lambda: sched.report("los", 1.0),
            "no `plateau` of 'two.yaml' monitors 'los'; did you mean 'loss'? (monitored: acc, loss)")


def test_a_report_that_an_update_waits_for_writes_its_lr_at_once():
    """At update 8 the lr waits for report 3 (the optimizer keeps 0.1 meanwhile); the report (not better than
    the best 1.0, patience 0) halves it, and the optimizer gets 0.05 at once: the next optimizer.step() applies it."""
    sched = schedspec.to_torch(PLATEAU, _opt())
    params = [sched.optimizer.param_groups[0]["params"][0]]
    for k in range(1, 9):
        sgd_update(sched.optimizer, params)
        sched.step()
        if k in (2, 4, 6):
            sched.report("loss", 1.0)
    assert sched.last_epoch == 8 and sched.waiting() == [("loss", 4)]
    assert sched.optimizer.param_groups[0]["lr"] == 0.1
    sched.report("loss", 1.0)
    assert sched.waiting() == [] and sched.get_last_lr() == [0.05]
    assert sgd_update(sched.optimizer, params) == [0.05]


# ------------------------------------------------------------------ other hyperparameters, groups, several metrics
def test_groups_and_plateaus_evaluate_one_step_at_a_time():
    """The documented ``block_size`` attribute: 0 (one scalar evaluation per step) where values depend on the
    group or on the reports given so far, whatever block was asked for; else the block asked for."""
    grouped = {"schedspec": 1, "lr": 0.1, "groups": {"head": {"lr": 0.2}}}
    params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(2)]
    opt = torch.optim.SGD([{"params": [params[0]], "name": "head"}, {"params": [params[1]]}], lr=0.1)
    assert schedspec.to_torch(grouped, opt, block_size=64).block_size == 0
    assert schedspec.to_torch(PLATEAU, _opt(), block_size=64).block_size == 0
    assert schedspec.to_torch(COSINE, _opt(), block_size=64).block_size == 64
    assert schedspec.to_torch(COSINE, _opt()).block_size == 4096


def _momentum_run(spec, n):
    """(lr, momentum) of the named group ``head`` and an unnamed group, updates 0..n-1 (SGD built with momentum
    0.5, so a value the spec did not set stays 0.5)."""
    params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(2)]
    opt = torch.optim.SGD([{"params": [params[0]], "name": "head"}, {"params": [params[1]]}], lr=0.1, momentum=0.5)
    sched = schedspec.to_torch(spec, opt)
    out = []
    for _ in range(n):
        out.append([(g["lr"], g["momentum"]) for g in opt.param_groups])
        opt.step()
        sched.step()
    return out


def test_a_groups_own_hyperparameter_schedule_is_set_at_every_update_and_overrides_the_documents():
    """Worked by hand: the document's momentum 0.9 -> 0.5 over 4 updates (0.9, 0.8, 0.7, 0.6, then 0.5); the head's
    own 0.95 -> 0.75 over 2 (0.95, 0.85, then 0.75). The unnamed group follows the document, the head its own."""
    linear = {"kind": "linear", "duration": 4, "start": 0.9, "end": 0.5}
    head = {"kind": "linear", "duration": 2, "start": 0.95, "end": 0.75}
    spec = {"schedspec": 1, "lr": 0.1, "momentum": linear, "groups": {"head": {"momentum": head}}}
    got = _momentum_run(spec, 6)
    assert [row[0][1] for row in got] == pytest.approx([0.95, 0.85, 0.75, 0.75, 0.75, 0.75], rel=1e-15)
    assert [row[1][1] for row in got] == pytest.approx([0.9, 0.8, 0.7, 0.6, 0.5, 0.5], rel=1e-15)
    assert all(row[0][0] == row[1][0] == 0.1 for row in got)
    # built directly with only a group's own momentum (no `others`: to_torch always passes the document's, the
    # constructor does not need them): still set at every update; the unnamed group keeps the optimizer's own
    from schedspec.adapters.torch import SchedSpecLR

    program = schedspec.load(spec).program
    params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(2)]
    opt = torch.optim.SGD([{"params": [params[0]]}, {"params": [params[1]]}], lr=0.1, momentum=0.5)
    sched = SchedSpecLR(opt, program.hparams["lr"], fingerprint="f",
                        group_nodes={0: {"lr": program.hparams["lr"], "momentum": program.groups["head"]["momentum"]}})
    got = []
    for _ in range(4):
        got.append([g["momentum"] for g in opt.param_groups])
        opt.step()
        sched.step()
    assert [row[0] for row in got] == pytest.approx([0.95, 0.85, 0.75, 0.75], rel=1e-15)
    assert [row[1] for row in got] == [0.5] * 4


TWO_METRICS = schedspec.loads(
    "schedspec: 1\nlr:\n  - {kind: plateau, start: 0.1, monitor: loss, every: 1, patience: 0, factor: 0.5}\n"
    "momentum:\n  - {kind: plateau, start: 0.9, monitor: acc, mode: max, every: 1, patience: 0, factor: 0.5}\n",
    file="two.yaml")


def test_a_step_with_the_reports_of_two_metrics_takes_a_mapping():
    params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))]
    sched = schedspec.to_torch(TWO_METRICS, torch.optim.SGD(params, lr=0.1, momentum=0.9))
    _raises(ValueError, lambda: sched.step(1.0),
            "'two.yaml' monitors acc, loss: pass scheduler.step(metrics={name: value, ...})")
    _raises(ValueError, lambda: sched.step(metrics=1.0),
            "'two.yaml' monitors acc, loss: pass scheduler.step(metrics={name: value, ...})")
    assert sched.last_epoch == 0 and dict(sched.reports) == {"acc": (), "loss": ()}
    # torch's ReduceLROnPlateau, patience 0: a report not better than the best reduces from the next update
    for loss, acc in ((1.0, 0.5), (1.0, 0.6), (0.5, 0.6)):
        sched.optimizer.step()
        sched.step(metrics={"loss": loss, "acc": acc})
    assert dict(sched.reports) == {"acc": (0.5, 0.6, 0.6), "loss": (1.0, 1.0, 0.5)}
    assert native_torch([1.0, 1.0, 0.5, 0.0], {"patience": 0, "factor": 0.5}, start=0.1) == [0.1, 0.1, 0.05, 0.05]
    assert native_torch([0.5, 0.6, 0.6, 0.0], {"patience": 0, "factor": 0.5, "mode": "max"}, start=0.9) == [
        0.9, 0.9, 0.9, 0.45]  # fmt: skip
    group = sched.optimizer.param_groups[0]
    assert (sched.last_epoch, group["lr"], group["momentum"]) == (3, 0.05, 0.45)


def test_a_resume_while_an_update_waits_for_its_report_restores_the_hyperparameters_of_the_update_before():
    """Saved at update 6, which waits for report 2 (the plateau from update 4, every 2): the optimizer held the lr
    and momentum of update 5 (0.1 and 0.9 - 0.05 * 5 = 0.65, worked by hand); a resume on a fresh optimizer
    writes them, and the report then writes update 6's (0.1: report 2 is the plateau's first, its best; 0.6)."""
    spec = {"schedspec": 1, "lr": [{"kind": "linear", "duration": 4, "start": 0.0, "end": 0.1},
                                   {"kind": "plateau", "monitor": "loss", "every": 2, "patience": 0, "factor": 0.5}],
            "momentum": {"kind": "linear", "duration": 10, "start": 0.9, "end": 0.4}}

    def opt():
        return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=0.3, momentum=0.0)

    sched = schedspec.to_torch(spec, opt())
    for k in range(1, 7):
        sched.optimizer.step()
        sched.step()
        if k in (2, 4):
            sched.report("loss", 1.0)
    group = sched.optimizer.param_groups[0]
    assert (sched.last_epoch, sched.waiting(), group["lr"], group["momentum"]) == (6, [("loss", 3)], 0.1,
                                                                                    pytest.approx(0.65, rel=1e-15))
    resumed = schedspec.to_torch(spec, opt())
    resumed.load_state_dict(sched.state_dict())
    group = resumed.optimizer.param_groups[0]
    assert (resumed.waiting(), group["lr"], group["momentum"]) == ([("loss", 3)], 0.1, pytest.approx(0.65, rel=1e-15))
    _raises(RuntimeError, resumed.optimizer.step,  # still refused until the report comes
            "update 6 of '<dict>' uses the value after 3 reports of 'loss' (one per 2 updates), but 2 were given: "
            "call scheduler.report('loss', value) (or scheduler.step(metrics=value)) at the end of each interval, "
            "before the next optimizer.step()")
    resumed.report("loss", 1.0)
    assert (resumed.waiting(), group["lr"], group["momentum"]) == ([], 0.1, pytest.approx(0.6, rel=1e-15))
    # saved at update 1, waiting for report 0 (a plateau from update 0, every update): update 0's momentum 0.9
    spec = {**spec, "lr": {"kind": "plateau", "start": 0.2, "monitor": "loss", "every": 1, "patience": 0}}
    sched = schedspec.to_torch(spec, opt())
    sched.optimizer.step()
    sched.step()
    resumed = schedspec.to_torch(spec, opt())
    resumed.load_state_dict(sched.state_dict())
    group = resumed.optimizer.param_groups[0]
    assert (resumed.waiting(), group["lr"], group["momentum"]) == ([("loss", 1)], 0.2, 0.9)


def test_a_resume_restores_the_lr_factors_of_the_saved_built_lrs():
    """Two unnamed groups built with lr 0.1 (the optimizer's) and 0.05: factors 1 and 1/2 (the param-group rule).
    Resumed on an optimizer whose second group was built with 0.02: the saved built lrs win (factors 1 and 1/2
    again, and ``initial_lr`` is written back); the cosine's value at update 5 is 0.05 (worked by hand)."""
    def opt(second):
        params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(2)]
        return torch.optim.SGD([{"params": [params[0]]}, {"params": [params[1]], "lr": second}], lr=0.1)

    for block_size in (0, 4096):
        sched = schedspec.to_torch(COSINE, opt(0.05), block_size=block_size)
        for _ in range(5):
            sched.optimizer.step()
            sched.step()
        resumed = schedspec.to_torch(COSINE, opt(0.02), block_size=block_size)
        assert resumed.get_last_lr() == pytest.approx([0.1, 0.02], rel=1e-15)
        resumed.load_state_dict(sched.state_dict())
        assert resumed.get_last_lr() == pytest.approx([0.05, 0.025], rel=1e-15)
        assert [g["initial_lr"] for g in resumed.optimizer.param_groups] == [0.1, 0.05]
        resumed.optimizer.step()
        resumed.step()
        want = 0.1 * (1 + math.cos(math.pi * 6 / 10)) / 2
        assert resumed.get_last_lr() == pytest.approx([want, want / 2], rel=1e-15)


def test_a_sweep_is_refused_naming_torch_and_an_epoch_spec_needs_no_steps_per_epoch():
    """The torch scheduler builds one member (the message names to_torch and torch, with a member to pick); it is
    stepped once per interval, so an epoch spec needs no ``steps_per_epoch`` (cosine over 10 epochs, worked by
    hand at epochs 0, 5, 10)."""
    sweep = schedspec.loads("schedspec: 1\nvars: {peak: [0.1, 0.2]}\nlr: {kind: cosine, duration: 10, start: $peak}\n",
                            "sw.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.to_torch(sweep, _opt())
    assert str(err.value) == (
        "sw.yaml:2:14: `lr` uses the sweep var $peak (2 values: 0.1, 0.2), but to_torch builds one torch schedule: "
        "pick one member with vars={'peak': 0.1} (or `--set peak=0.1` on the command line)"
    )
    assert schedspec.to_torch(sweep, _opt(), vars={"peak": 0.2}).lr_at(5) == pytest.approx(0.1, rel=1e-15)
    epochs = {"schedspec": 1, "interval": "epoch", "lr": {"kind": "cosine", "duration": 10, "start": 0.1}}
    sched = schedspec.to_torch(epochs, _opt())
    assert sched.interval == "epoch"
    assert [sched.lr_at(k) for k in (0, 5, 10)] == pytest.approx([0.1, 0.05, 0.0], rel=1e-15, abs=1e-18)


def test_a_scheduler_no_one_holds_refuses_nothing():
    """The optimizer's pre-hooks hold the scheduler weakly: once it is collected, an optimizer built with
    ambiguous lr factors (unnamed groups 1.0 and 0.25, none the optimizer's 0.001) steps again, with the lrs its
    groups hold."""
    import gc

    params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(2)]
    opt = torch.optim.SGD([{"params": [params[0]], "lr": 1.0}, {"params": [params[1]], "lr": 0.25}])
    sched = schedspec.to_torch(COSINE, opt)
    with pytest.raises(ValueError, match="built with different lrs"):
        opt.step()
    del sched
    gc.collect()
    params[0].grad = torch.ones(1, dtype=torch.float64)
    params[1].grad = torch.ones(1, dtype=torch.float64)
    opt.step()
    assert [float(p.detach()) for p in params] == [-g["lr"] for g in opt.param_groups]


def test_a_resume_can_make_the_lr_factors_ambiguous_and_clear_them_again():
    """The factors follow the restored built lrs (``base_lrs``): a state saved from an optimizer built with lrs
    1.0 and 0.25 under an optimizer lr of 0.001 (no group has it: ambiguous) makes the next update refused; a state
    with unambiguous built lrs (0.001 and 0.00025: factors 1 and 1/4) lets it run again, with the cosine's
    value(0) = 0.1 and 0.025."""
    def opt(*lrs):
        params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in lrs]
        return torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs, strict=True)], lr=0.001)

    ambiguous = schedspec.to_torch(COSINE, opt(1.0, 0.25)).state_dict()
    clear = schedspec.to_torch(COSINE, opt(0.001, 0.00025)).state_dict()
    sched = schedspec.to_torch(COSINE, opt(0.001, 0.00025))
    params = [g["params"][0] for g in sched.optimizer.param_groups]
    sched.load_state_dict(ambiguous)
    with pytest.raises(ValueError, match=r"built with different lrs \(0: 1.0, 1: 0.25\) and none with the "
                                         r"optimizer's lr \(defaults\['lr'\] = 0.001\)"):  # fmt: skip
        sgd_update(sched.optimizer, params)
    sched.load_state_dict(clear)
    assert sgd_update(sched.optimizer, params) == pytest.approx([0.1, 0.025], rel=1e-15)


def test_a_scheduler_built_on_a_stepped_optimizer_reads_the_built_lr_like_torch():
    """torch reads a group's built lr from ``initial_lr`` (set by the first scheduler), not from its current lr: a
    second scheduler built after 5 updates has the ``base_lrs`` a second native CosineAnnealingLR has, and starts
    from the cosine's value(0) = 0.1 again (factor 1)."""
    opt, native_opt = _opt(0.1), _opt(0.1)
    first = schedspec.to_torch(COSINE, opt)
    native_first = torch.optim.lr_scheduler.CosineAnnealingLR(native_opt, T_max=10, eta_min=0.0)
    for _ in range(5):
        opt.step()
        first.step()
        native_opt.step()
        native_first.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05, rel=1e-15)
    second = schedspec.to_torch(COSINE, opt)
    native_second = torch.optim.lr_scheduler.CosineAnnealingLR(native_opt, T_max=10, eta_min=0.0)
    assert native_second.base_lrs == second.base_lrs == [0.1]
    # the factor is 0.1 / 0.1 = 1: our closed form's value(0) (torch's chainable form keeps the current lr at
    # its epoch 0 instead: not compared)
    assert second.get_last_lr() == [0.1]


def test_lr_scale_multiplies_each_groups_value_on_the_per_step_path():
    """timm's ``lr_scale`` on the path of plateaus (and spec groups): the warmup 0, 0.025, 0.05, 0.075 (worked by
    hand) times 1 and 0.25."""
    opt = _opt(0.1, n=2)
    opt.param_groups[1]["lr_scale"] = 0.25
    sched = schedspec.to_torch(PLATEAU, opt)
    got = []
    for _ in range(4):
        got.append(sched.get_last_lr())
        opt.step()
        sched.step()
    want = [0.0, 0.025, 0.05, 0.075]
    assert got == [pytest.approx([v, v * 0.25], rel=1e-15, abs=0) for v in want]


def test_a_tensor_lr_is_filled_in_place_on_resume_and_last_lr_is_a_copy_like_torch():
    """A param group whose lr is a tensor (torch's capturable / compiled optimizers): ``load_state_dict`` writes the
    restored update's lr into that same tensor, and ``get_last_lr()`` holds a copy of it (torch's own schedulers
    clone a tensor lr into ``_last_lr``: checked on its CosineAnnealingLR). The cosine at update 3 is
    0.1 * (1 + cos(3 pi / 10)) / 2 (worked by hand)."""
    def opt():
        return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))],
                               lr=torch.tensor(0.1, dtype=torch.float64))

    native = torch.optim.lr_scheduler.CosineAnnealingLR(opt(), T_max=10, eta_min=0.0)
    native.optimizer.step()
    native.step()
    assert native.get_last_lr()[0] is not native.optimizer.param_groups[0]["lr"]
    sched = schedspec.to_torch(COSINE, opt())
    for _ in range(3):
        sched.optimizer.step()
        sched.step()
    resumed = schedspec.to_torch(COSINE, opt())
    tensor = resumed.optimizer.param_groups[0]["lr"]
    resumed.load_state_dict(sched.state_dict())
    v3 = 0.1 * (1 + math.cos(3 * math.pi / 10)) / 2
    assert resumed.optimizer.param_groups[0]["lr"] is tensor and float(tensor) == pytest.approx(v3, rel=1e-15)
    (last,) = resumed.get_last_lr()
    assert isinstance(last, torch.Tensor) and last is not tensor and float(last) == float(tensor)


def test_only_the_groups_that_follow_the_documents_lr_decide_its_factors():
    """The param-group rule (README, torch param groups) reads the built lrs of the groups without a spec group lr
    only: here the two unnamed groups, both built with 0.5 and none with the optimizer's 0.1, get exactly the
    document's value (factor 1); the head (its spec group's own lr 0.2, built with 0.3) does not take part: with it,
    the built lrs 0.3 and 0.5 would be ambiguous."""
    spec = {"schedspec": 1, "lr": [{"kind": "linear", "duration": 4, "start": 0.0, "end": 0.1}],
            "groups": {"head": {"lr": 0.2}}}
    params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(3)]
    opt = torch.optim.SGD([{"params": [params[0]], "name": "head", "lr": 0.3}, {"params": [params[1]], "lr": 0.5},
                           {"params": [params[2]], "lr": 0.5}], lr=0.1)  # fmt: skip
    sched = schedspec.to_torch(spec, opt)
    for v in (0.0, 0.025, 0.05, 0.075, 0.1):
        assert sgd_update(opt, params) == pytest.approx([0.2, v, v], rel=1e-15, abs=0)
        sched.step()


# ------------------------------------------------------------------ third pass (the 49 survivors of the full run)
def test_a_second_scheduler_reads_every_groups_built_lr_from_initial_lr_like_torch():
    """Two param groups built with 0.1 (the optimizer's lr) and 0.05, stepped 5 updates along the cosine (their lrs
    are then 0.05 and 0.025): a second scheduler built on that optimizer takes the built lrs from ``initial_lr``,
    as torch does (a second native CosineAnnealingLR has the same ``base_lrs``), so the factors are 1 and 1/2 and
    it starts from torch's closed form at epoch 0, ``base_lrs``; read from the current lrs (0.05 and 0.025, none
    the optimizer's 0.1) the factors would be ambiguous."""
    def opt():
        params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(2)]
        return torch.optim.SGD([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}], lr=0.1)

    ours, native_opt = opt(), opt()
    first = schedspec.to_torch(COSINE, ours)
    native_first = torch.optim.lr_scheduler.CosineAnnealingLR(native_opt, T_max=10, eta_min=0.0)
    for _ in range(5):
        ours.step()
        first.step()
        native_opt.step()
        native_first.step()
    assert [g["lr"] for g in ours.param_groups] == pytest.approx([0.05, 0.025], rel=1e-15)
    second = schedspec.to_torch(COSINE, ours)
    native_second = torch.optim.lr_scheduler.CosineAnnealingLR(native_opt, T_max=10, eta_min=0.0)
    assert second.base_lrs == native_second.base_lrs == [0.1, 0.05]
    assert second.get_last_lr() == native_second._get_closed_form_lr() == [0.1, 0.05]
    params = [g["params"][0] for g in ours.param_groups]
    assert sgd_update(ours, params) == [0.1, 0.05]


def test_a_growing_exponential_capped_by_its_end_overflows_silently_in_blocks():
    """``exponential`` with ``gamma: 2`` and a ceiling ``end``: ``start * 2 ** k`` overflows to inf in float64
    from k = 1024 on (held at ``end`` by the cap); a block of 4096 steps evaluates it there without a numpy
    RuntimeWarning reaching the user. Values: torch's ExponentialLR (``start * gamma ** k``) up to the cap 0.1,
    the cap exactly after it, to the last int32 update."""
    spec = {"schedspec": 1, "lr": {"kind": "exponential", "start": 0.001, "gamma": 2.0, "end": 0.1}}
    native = torch.optim.lr_scheduler.ExponentialLR(_opt(0.001), gamma=2.0)
    want = []
    for _ in range(12):
        want.append(min(native.get_last_lr()[0], 0.1))
        native.optimizer.step()
        native.step()
    assert want[6:8] == [0.064, 0.1]
    for block_size in (7, 4096):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # numpy's "overflow encountered in power"
            warnings.simplefilter("ignore", UserWarning)  # torch's deprecation of step(epoch)
            sched = schedspec.to_torch(spec, _opt(0.001), block_size=block_size)
            assert _run(sched, 12) == want
            sched.step(epoch=2**31 - 1)
            assert sched.get_last_lr() == [0.1]


def test_a_non_optimizer_is_refused_with_torchs_own_error():
    """An object with param groups that is not a torch Optimizer: refused with the TypeError torch's own
    schedulers raise (it has no ``defaults``; nothing may be read from it first)."""
    class NotAnOptimizer:
        def __init__(self):
            self.param_groups = [{"params": [], "lr": 0.1}]

    with pytest.raises(TypeError) as native:
        torch.optim.lr_scheduler.CosineAnnealingLR(NotAnOptimizer(), T_max=10)
    assert str(native.value) == "NotAnOptimizer is not an Optimizer"
    _raises(TypeError, lambda: schedspec.to_torch(COSINE, NotAnOptimizer()), "NotAnOptimizer is not an Optimizer")


def test_a_spec_groups_own_lr_keeps_its_lr_scale_when_other_hyperparameters_are_set():
    """A param group with its spec group's own lr and timm's ``lr_scale`` 0.5, in a spec that also schedules
    ``weight_decay`` (set on every group at every update): the lr the optimizer applies is the head's linear
    0.2 -> 0.1 (worked by hand: 0.2, 0.175, 0.15, 0.125, 0.1) times 0.5; the other group the document's 0.1.
    (The parameters are 0 before each update, so the weight decay adds nothing to the update.)"""
    spec = {"schedspec": 1, "lr": 0.1, "weight_decay": {"kind": "linear", "duration": 4, "start": 0.01, "end": 0.0},
            "groups": {"head": {"lr": {"kind": "linear", "duration": 4, "start": 0.2, "end": 0.1}}}}
    params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(2)]
    opt = torch.optim.SGD([{"params": [params[0]], "name": "head", "lr_scale": 0.5}, {"params": [params[1]]}],
                          lr=0.1)
    sched = schedspec.to_torch(spec, opt)
    got, decay = [], []
    for _ in range(6):
        decay.append([g["weight_decay"] for g in opt.param_groups])
        got.append(sgd_update(opt, params))
        sched.step()
    want = [0.2, 0.175, 0.15, 0.125, 0.1, 0.1]
    assert got == [pytest.approx([0.5 * v, 0.1], rel=1e-15) for v in want]
    assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr() == pytest.approx([0.05, 0.1], rel=1e-15)
    assert [d[0] for d in decay] == [d[1] for d in decay] == pytest.approx(
        [0.01, 0.0075, 0.005, 0.0025, 0.0, 0.0], rel=1e-15, abs=1e-18)


@pytest.mark.parametrize("block_size", [0, 7, 4096])
def test_the_update_after_the_last_int32_update_is_refused_on_every_block_size(block_size):
    """``step(epoch=2**31-1)`` sets the last update there is; the next ``step()`` moves past it and is refused
    with ``evaluate``'s message, whatever block the last update's value came from (a block of 7 starting at
    2**31-2 would reach 2**31 if it were not cut at 2**31-1)."""
    sched = schedspec.to_torch(COSINE, _opt(), block_size=block_size)
    with pytest.warns(UserWarning):  # torch's deprecation of step(epoch)
        sched.step(epoch=2**31 - 1)
    assert sched.get_last_lr() == [0.0]
    sched.optimizer.step()
    _raises(ValueError, sched.step, f"last_epoch={2**31}: " + _check_steps_message(2**31))


def test_a_spec_groups_own_plateau_reads_the_reports():
    """A spec group whose own lr is a plateau (the document's lr a constant 0.1): the head follows torch's
    ReduceLROnPlateau on the reports (patience 0, factor 0.5: 0.2, 0.2, 0.1, 0.05 for the losses 1, 1, 1, 0.5
    reported before updates 1..4), the other group keeps 0.1."""
    spec = {"schedspec": 1, "lr": 0.1, "groups": {"head": {"lr": {
        "kind": "plateau", "start": 0.2, "monitor": "loss", "every": 1, "patience": 0, "factor": 0.5}}}}
    params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(2)]
    opt = torch.optim.SGD([{"params": [params[0]], "name": "head"}, {"params": [params[1]]}], lr=0.1)
    sched = schedspec.to_torch(spec, opt)
    losses = [1.0, 1.0, 1.0, 0.5]
    got = []
    for loss in losses:
        got.append(sgd_update(opt, params))
        sched.step(loss)
    got.append(sgd_update(opt, params))
    head = native_torch([*losses, 0.0], {"patience": 0, "factor": 0.5}, start=0.2)
    assert head == [0.2, 0.2, 0.1, 0.05, 0.05]
    assert got == [[h, 0.1] for h in head]


def _ambiguous_and_clear_states():
    """States saved from optimizers (lr 0.001) whose two groups were built with 1.0 and 0.25 (ambiguous: none with
    the optimizer's lr) and with 0.001 and 0.00025 (factors 1 and 1/4)."""
    def opt(*lrs):
        params = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in lrs]
        return torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs, strict=True)], lr=0.001)

    return opt, schedspec.to_torch(COSINE, opt(1.0, 0.25)).state_dict(), schedspec.to_torch(
        COSINE, opt(0.001, 0.00025)).state_dict()


AMBIGUOUS = r"built with different lrs \(0: 1.0, 1: 0.25\) and none with the optimizer's lr"


def test_ambiguous_lr_factors_stay_refused_through_every_resume_until_one_clears_them():
    """Built on an ambiguous optimizer, then resumed from its own (ambiguous) state: still refused; cleared by a
    state with clear factors (the cosine's value(0) = 0.1 and 0.025 applied), ambiguous again after a third
    resume: refused again (the refusal follows every restored state, however many came before)."""
    opt, ambiguous, clear = _ambiguous_and_clear_states()
    sched = schedspec.to_torch(COSINE, opt(1.0, 0.25))
    params = [g["params"][0] for g in sched.optimizer.param_groups]
    for state, want in ((ambiguous, None), (ambiguous, None), (clear, [0.1, 0.025]), (ambiguous, None),
                        (clear, [0.1, 0.025])):  # fmt: skip
        sched.load_state_dict(state)
        if want is None:
            with pytest.raises(ValueError, match=AMBIGUOUS):
                sgd_update(sched.optimizer, params)
        else:
            assert sgd_update(sched.optimizer, params) == pytest.approx(want, rel=1e-15)


def test_the_ambiguity_check_is_an_optimizer_hook_only_while_the_factors_are_ambiguous():
    """The per-update cost of the param-group rule: no step pre-hook on the optimizer while the factors are
    clear, one while they are ambiguous, none again once a resume clears them (read from torch's hook table:
    nothing else can see a hook that refuses nothing)."""
    opt, ambiguous, clear = _ambiguous_and_clear_states()
    optimizer = opt(0.001, 0.00025)
    sched = schedspec.to_torch(COSINE, optimizer)
    hooks = optimizer._optimizer_step_pre_hooks
    assert len(hooks) == 0
    for state, n in ((ambiguous, 1), (ambiguous, 1), (clear, 0), (clear, 0), (ambiguous, 1), (clear, 0)):
        sched.load_state_dict(state)
        assert len(hooks) == n


def test_get_lr_outside_step_warns_at_the_line_that_called_it():
    """The warning of ``get_lr()`` outside ``step()`` (torch's message and category) names the caller's file and
    line (``stacklevel=2``), where the user can change the call. (torch's own schedulers warn from a helper with
    ``stacklevel=2``, which names torch's lr_scheduler.py instead.)"""
    import inspect

    sched = schedspec.to_torch(COSINE, _opt())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        sched.get_lr()
    assert [(w.category, str(w.message), w.filename, w.lineno) for w in caught] == [
        (UserWarning, "To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
         __file__, line)]  # fmt: skip


def test_lr_scale_on_every_group_multiplies_each_groups_value_in_blocks():
    """Every param group carries ``lr_scale`` (0.5 and 0.25): each gets the cosine's value times its own, on the
    block path as on the scalar one; the cosine from torch's CosineAnnealingLR closed form, updates 0..10."""
    for block_size in (0, 4096):
        opt = _opt(0.1, n=2)
        opt.param_groups[0]["lr_scale"] = 0.5
        opt.param_groups[1]["lr_scale"] = 0.25
        native = torch.optim.lr_scheduler.CosineAnnealingLR(_opt(0.1), T_max=10, eta_min=0.0)
        sched = schedspec.to_torch(COSINE, opt, block_size=block_size)
        params = [g["params"][0] for g in opt.param_groups]
        for _ in range(11):  # to the cosine's end (torch's cosine turns back up after it; ours holds the end)
            v = native._get_closed_form_lr()[0]
            assert sgd_update(opt, params) == pytest.approx([v * 0.5, v * 0.25], rel=1e-14, abs=1e-18)
            assert sched.get_last_lr() == pytest.approx([v * 0.5, v * 0.25], rel=1e-14, abs=1e-18)
            sched.step()
            native.optimizer.step()
            native.step()
