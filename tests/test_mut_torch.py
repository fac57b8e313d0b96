"""adapters/torch.py (``to_torch``, the timm loop's :class:`TimmSchedSpecLR`, the param-group matching), mutation
pass (issue 14, item 1): timm's calls (``step(epoch, metric)``, ``step_update(num_updates)``) at their boundaries,
which epoch end is a plateau report, the refusals of a fresh scheduler resumed by the wrong call, the spec groups
matched by name and by index, the hyperparameters a param group lacks, and every message written out by hand.
Values are worked by hand from the documents (a plateau with ``patience: 0`` halves the lr at the first report that
does not improve on the best one, as ``ReduceLROnPlateau``), or read from the param groups a real optimizer carries.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import schedspec  # noqa: E402

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import sgd_update
except ImportError:
    from helpers import sgd_update


class Bare(torch.optim.Optimizer):
    """A real torch optimizer whose param groups carry exactly ``lr`` and ``foo`` (besides ``params``/``name``)."""

    def __init__(self, params, lr=0.1, foo=1.0):
        super().__init__(params, {"lr": lr, "foo": foo})

    def step(self, closure=None):
        return None


def _params(n=1):
    return [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(n)]


def _opt(n=1, lr=0.1, names=None, cls=torch.optim.SGD, **kw):
    names = names or [None] * n
    groups = [{"params": [p], **({"name": nm} if nm else {})} for p, nm in zip(_params(len(names)), names)]
    return cls(groups, lr=lr, **kw)


# warmup 0 -> 0.4 over 4 updates, then 0.4 held: value(k) = 0.1 * k for k < 4, 0.4 from 4 on
WARM = {"schedspec": 1, "name": "warm", "lr": [{"kind": "linear", "duration": 4, "start": 0.0, "end": 0.4}, 0.4]}
# a plateau reporting every 4 updates (or epochs), patience 0, factor 0.5
PLATEAU = {"schedspec": 1, "name": "pl", "lr": {"kind": "plateau", "start": 0.1, "monitor": "loss", "every": 4,
                                                 "patience": 0, "factor": 0.5}}  # fmt: skip
TWO = {"schedspec": 1, "name": "two", "interval": "epoch",
       "lr": {"kind": "plateau", "start": 0.1, "monitor": "a", "patience": 0},
       "momentum": {"kind": "plateau", "start": 0.9, "monitor": "b", "patience": 0}}  # fmt: skip
GROUPS = schedspec.loads("schedspec: 1\nname: g\nlr: 0.1\nmomentum: 0.9\ngroups:\n  backbone: {scale: 0.5}\n"
                         "  head:\n    lr: 0.3\n    momentum: 0.8\n", file="g.yaml")  # fmt: skip


# ------------------------------------------------------------------ timm's calls
@pytest.mark.parametrize("bad", [1.5, "2", True, None])
def test_timms_positions_must_be_whole_numbers(bad):
    sched = schedspec.to_torch(WARM, _opt(), loop="timm")
    with pytest.raises(ValueError) as exc:
        sched.step_update(bad)
    assert str(exc.value) == f"lr_scheduler.step_update({bad!r}): timm's num_updates must be a whole number (an int)"
    if bad is None:
        return
    with pytest.raises(ValueError) as exc:
        sched.step(bad, None)
    assert str(exc.value) == f"lr_scheduler.step({bad!r}): timm's epoch must be a whole number (an int)"


@pytest.mark.parametrize("bad", [-1, 2**31])
def test_timms_positions_must_be_in_the_int32_range(bad):
    sched = schedspec.to_torch(WARM, _opt(), loop="timm")
    with pytest.raises(ValueError) as exc:
        sched.step_update(bad)
    assert str(exc.value) == f"num_updates={bad}: it must be in [0, 2**31-1]"
    with pytest.raises(ValueError) as exc:
        sched.step(bad, None)
    assert str(exc.value) == f"epoch={bad}: it must be in [0, 2**31-1]"


def test_step_update_moves_a_per_update_spec_to_every_position_from_0_to_2_31_minus_1():
    """``step_update(n)``: the next update uses ``value(n)`` (0.1 * n in the warmup, 0.4 held after it, exactly to
    the last int32 update); any index type is taken (``operator.index``), and each move counts one scheduler step
    (``_step_count``, saved in the state: 1 after construction, as torch's)."""
    import numpy as np

    opt = _opt(lr=0.4)
    params = [p for g in opt.param_groups for p in g["params"]]
    sched = schedspec.to_torch(WARM, opt, loop="timm")
    assert sched.t_in_epochs is False and sched.state_dict()["_step_count"] == 1
    for n, lr in [(0, 0.0), (1, 0.1), (np.int64(3), 0.30000000000000004), (4, 0.4), (5, 0.4), (2**31 - 1, 0.4),
                  (2, 0.2)]:  # fmt: skip
        sched.step_update(n)
        assert sched.last_epoch == n and sched.get_last_lr() == [lr] and sgd_update(opt, params) == [lr]
    assert sched.state_dict()["_step_count"] == 8
    sched.step(3, None)  # an epoch end does not move a per-update spec
    assert sched.last_epoch == 2 and opt.param_groups[0]["lr"] == 0.2


def test_step_moves_a_per_epoch_spec_and_step_update_does_not():
    opt = _opt(lr=0.4)
    sched = schedspec.to_torch({**WARM, "interval": "epoch"}, opt, loop="timm")
    assert sched.t_in_epochs is True
    sched.step_update(1)  # a fresh scheduler's first update: allowed, moves nothing
    assert sched.last_epoch == 0 and opt.param_groups[0]["lr"] == 0.0
    sched.step(2, None)
    assert sched.last_epoch == 2 and opt.param_groups[0]["lr"] == 0.2 and sched.state_dict()["_step_count"] == 2
    sched.step_update(7)  # no longer fresh: ignored
    assert sched.last_epoch == 2 and opt.param_groups[0]["lr"] == 0.2
    sched.step(0, None)
    assert sched.last_epoch == 0 and opt.param_groups[0]["lr"] == 0.0


def test_step_moves_every_other_hyperparameter_schedule_at_timms_position():
    spec = {**WARM, "momentum": [{"kind": "linear", "duration": 4, "start": 0.9, "end": 0.5}, 0.5]}
    opt = _opt(lr=0.4, momentum=0.0)
    sched = schedspec.to_torch(spec, opt, loop="timm")
    assert opt.param_groups[0]["momentum"] == 0.9
    sched.step_update(2)
    assert opt.param_groups[0]["momentum"] == 0.7 and opt.param_groups[0]["lr"] == 0.2
    sched.step_update(9)
    assert opt.param_groups[0]["momentum"] == 0.5 and opt.param_groups[0]["lr"] == 0.4


def test_step_without_an_epoch_says_timms_loop_passes_one():
    sched = schedspec.to_torch(WARM, _opt(), loop="timm")
    with pytest.raises(ValueError) as exc:
        sched.step()
    assert str(exc.value) == (
        "timm's loop calls lr_scheduler.step(epoch + 1, metric) at the end of each epoch; this scheduler "
        "(loop='timm') needs the epoch. For torch's loop, build it without loop='timm'")


def test_a_fresh_per_update_scheduler_refuses_step_of_a_later_epoch_as_its_first_call():
    with pytest.raises(ValueError) as exc:
        schedspec.to_torch(WARM, _opt(), loop="timm").step(1)
    assert str(exc.value) == (
        "lr_scheduler.step(1) is the first call of a fresh scheduler: timm resumes at epoch 1 so, but 'warm' counts "
        "updates (interval: step), so it would restart at update 0. Run timm with --sched-on-updates (it then calls "
        "step_update(start_epoch * updates_per_epoch)), or load the scheduler's state_dict() saved with the checkpoint")
    sched = schedspec.to_torch(WARM, _opt(), loop="timm")
    sched.step(0)  # epoch 0 is where a fresh scheduler is
    sched.step(5)  # no longer fresh
    assert sched.last_epoch == 0
    sched = schedspec.to_torch(WARM, _opt(), loop="timm")
    sched.step_update(3)
    sched.step(1)
    assert sched.last_epoch == 3
    saved = sched.state_dict()
    sched = schedspec.to_torch(WARM, _opt(), loop="timm")
    sched.load_state_dict(saved)
    sched.step(1)  # a loaded state is a placed scheduler
    assert sched.last_epoch == 3


def test_a_fresh_per_epoch_scheduler_refuses_step_update_of_a_later_update_as_its_first_call():
    spec = {**WARM, "interval": "epoch"}
    with pytest.raises(ValueError) as exc:
        schedspec.to_torch(spec, _opt(), loop="timm").step_update(2)
    assert str(exc.value) == (
        "lr_scheduler.step_update(2) is the first call of a fresh scheduler: timm resumes so with --sched-on-updates, "
        "but 'warm' counts epochs (interval: epoch), so it would restart at epoch 0. Run timm without "
        "--sched-on-updates (it then calls step(start_epoch)), or load the scheduler's state_dict() saved with the "
        "checkpoint")
    sched = schedspec.to_torch(spec, _opt(), loop="timm")
    sched.step(2)
    sched.step_update(40)
    saved = sched.state_dict()
    sched = schedspec.to_torch(spec, _opt(), loop="timm")
    sched.load_state_dict(saved)
    sched.step_update(40)
    assert sched.last_epoch == 2


# ------------------------------------------------------------------ plateau reports from timm's epoch ends
def test_a_per_update_plateau_takes_the_epoch_end_metric_that_closes_its_report_interval():
    """Report j is the metric of the epoch end where the updates done equal ``4 * (j + 1)``; any other epoch end's
    metric (or a None one) is no report."""
    opt = _opt()
    params = [p for g in opt.param_groups for p in g["params"]]
    sched = schedspec.to_torch(PLATEAU, opt, loop="timm")
    for n in (1, 2, 3):
        sgd_update(opt, params)
        sched.step_update(n)
    sched.step(1, 1.0)  # 3 updates done: closes no interval
    assert sched.reports == {"loss": ()}
    sgd_update(opt, params)
    sched.step_update(4)
    sched.step(1, None)  # skipped validation
    sched.step(1, {"loss": None})
    assert sched.reports == {"loss": ()}
    sched.step(1, 1.0)
    sched.step(2, 0.5)  # still 4 updates done: report 1 closes at 8
    assert sched.reports == {"loss": (1.0,)}
    for n in range(5, 9):
        assert sgd_update(opt, params) == [0.1]
        sched.step_update(n)
    with pytest.raises(RuntimeError) as exc:
        sgd_update(opt, params)
    assert str(exc.value) == (
        "update 8 of 'pl' uses the value after 2 reports of 'loss' (one per 4 updates), but 1 were given: timm's loop "
        "gives report j as lr_scheduler.step(epoch + 1, metric) at the end of the epoch that ends after 4 x (j + 1) "
        "updates; validate at every such epoch end (--val-interval), with epochs of a whole number of report "
        "intervals, or load the scheduler's state_dict() when resuming")
    sched.step(2, {"loss": 1.0})  # no improvement on 1.0, patience 0: halved
    assert sched.reports == {"loss": (1.0, 1.0)} and sgd_update(opt, params) == [0.05]


def test_a_per_epoch_plateau_takes_the_metric_of_every_second_epoch_and_says_which_it_waits_for():
    spec = {**PLATEAU, "interval": "epoch", "lr": {**PLATEAU["lr"], "every": 2}}
    opt = _opt()
    params = [p for g in opt.param_groups for p in g["params"]]
    sched = schedspec.to_torch(spec, opt, loop="timm")
    sched.step(1, 1.0)
    assert sched.reports == {"loss": ()} and sgd_update(opt, params) == [0.1]
    sched.step(2, None)
    assert sched.reports == {"loss": ()}
    with pytest.raises(RuntimeError) as exc:
        sgd_update(opt, params)
    assert str(exc.value) == (
        "epoch 2 of 'pl' uses the value after 1 reports of 'loss' (one per 2 epochs), but 0 were given: timm's loop "
        "gives report j as lr_scheduler.step(epoch + 1, metric) at the end of the epoch that ends after 2 x (j + 1) "
        "epochs; validate at every such epoch end (--val-interval), or load the scheduler's state_dict() when "
        "resuming")
    sched.step(2, 1.0)
    sched.step(4, 2.0)
    assert sched.reports == {"loss": (1.0, 2.0)} and sgd_update(opt, params) == [0.05]


def test_several_monitored_metrics_take_a_mapping_and_refuse_a_number_or_an_unknown_name():
    sched = schedspec.to_torch(TWO, _opt(momentum=0.0), loop="timm")
    with pytest.raises(ValueError) as exc:
        sched.step(1, 1.0)
    assert str(exc.value) == "'two' monitors a, b: pass lr_scheduler.step(epoch, {name: value, ...})"
    with pytest.raises(ValueError) as exc:
        sched.step(1, {"a": 1.0, "c": 1.0})
    assert str(exc.value) == "lr_scheduler.step(epoch, metric): no `plateau` of 'two' monitors 'c' (monitored: a, b)"
    with pytest.raises(ValueError) as exc:
        sched.step(1, {"bb": 1.0})
    assert str(exc.value) == ("lr_scheduler.step(epoch, metric): no `plateau` of 'two' monitors 'bb'; did you mean "
                              "'b'? (monitored: a, b)")  # fmt: skip
    sched.step(1, {"a": 1.0, "b": 3.0})
    sched.step(2, {"a": 2.0, "b": 4.0})
    # neither improved at its second report, patience 0, factor 0.1: ReduceLROnPlateau's old * factor
    group = sched.optimizer.param_groups[0]
    assert sched.reports == {"a": (1.0, 2.0), "b": (3.0, 4.0)} and (group["lr"], group["momentum"]) == (0.1 * 0.1, 0.9 * 0.1)
    sched.step(3, {"b": 5.0})  # a's report 2 closes at epoch 3 too: none given, the lr waits for it
    assert sched.reports == {"a": (1.0, 2.0), "b": (3.0, 4.0, 5.0)} and sched.waiting() == [("a", 3)]
    sched.step(4, {"a": 0.5, "b": 0.5})  # a's report 2 is past: 0.5 closes no interval of a's
    assert sched.reports == {"a": (1.0, 2.0), "b": (3.0, 4.0, 5.0, 0.5)}


def test_a_spec_without_a_plateau_ignores_timms_metric():
    sched = schedspec.to_torch({**WARM, "interval": "epoch"}, _opt(lr=0.4), loop="timm")
    sched.step(3, {"anything": 1.0})
    sched.step(3, 0.5)
    assert sched.last_epoch == 3 and sched.optimizer.param_groups[0]["lr"] == 0.30000000000000004


# ------------------------------------------------------------------ to_torch's arguments
def test_loop_is_torch_or_timm():
    with pytest.raises(ValueError) as exc:
        schedspec.to_torch(WARM, _opt(), loop="lightning")
    assert str(exc.value) == "loop must be 'torch' or 'timm' (got 'lightning')"
    assert type(schedspec.to_torch(WARM, _opt(), loop="torch")).__name__ == "SchedSpecLR"
    assert type(schedspec.to_torch(WARM, _opt(), loop="timm")).__name__ == "TimmSchedSpecLR"


def test_hparams_names_only_other_schedules_of_the_spec():
    for hparams, text in [
        (["lr"], "hparams: 'lr' is not another hyperparameter schedule of 'two' (it has: momentum)"),
        (["momentun"], "hparams: 'momentun' is not another hyperparameter schedule of 'two'; did you mean "
                       "'momentum'? (it has: momentum)"),
    ]:  # fmt: skip
        with pytest.raises(ValueError) as exc:
            schedspec.to_torch(TWO, _opt(momentum=0.0), hparams=hparams)
        assert str(exc.value) == text
    with pytest.raises(ValueError) as exc:
        schedspec.to_torch(WARM, _opt(), hparams=["x"])
    assert str(exc.value) == "hparams: 'x' is not another hyperparameter schedule of 'warm' (it has: none besides the lr)"
    # the momentum schedule drives the lr: the lr schedule is not "another" one, and the default sets no other
    with pytest.raises(ValueError) as exc:
        schedspec.to_torch(TWO, _opt(momentum=0.0), hparam="momentum", hparams=["momentum"])
    assert str(exc.value) == ("hparams: 'momentum' is not another hyperparameter schedule of 'two' (it has: none "
                              "besides the lr)")  # fmt: skip
    # nor is the lr schedule itself, when another one drives the lr
    with pytest.raises(ValueError) as exc:
        schedspec.to_torch(TWO, _opt(momentum=0.0), hparam="momentum", hparams=["lr"])
    assert str(exc.value) == "hparams: 'lr' is not another hyperparameter schedule of 'two' (it has: none besides the lr)"
    # several other schedules: all listed, in the document's order
    three = schedspec.loads("schedspec: 1\nname: three\nlr: 0.1\nmomentum: 0.9\nweight_decay: 0.01\n")
    with pytest.raises(ValueError) as exc:
        schedspec.to_torch(three, _opt(momentum=0.0, weight_decay=0.0), hparams=["x"])
    assert str(exc.value) == "hparams: 'x' is not another hyperparameter schedule of 'three' (it has: momentum, weight_decay)"
    opt = _opt(momentum=0.0)
    sched = schedspec.to_torch(TWO, opt, hparam="momentum")
    assert sched.get_last_lr() == [0.9] and opt.param_groups[0]["momentum"] == 0.0
    opt = _opt(momentum=0.0)
    schedspec.to_torch(TWO, opt, hparams=["momentum"])
    assert opt.param_groups[0]["momentum"] == 0.9


# ------------------------------------------------------------------ spec groups and param groups
def test_spec_groups_match_param_groups_by_name_or_by_index():
    opt = _opt(names=["head", "other", "backbone"], momentum=0.0)
    sched = schedspec.to_torch(GROUPS, opt)
    assert sched.get_last_lr() == [0.3, 0.1, 0.05] and [g["momentum"] for g in opt.param_groups] == [0.8, 0.9, 0.9]
    opt = _opt(4, momentum=0.0)
    sched = schedspec.to_torch(GROUPS, opt, groups={"backbone": [0, 3], "head": (2,)})
    assert sched.get_last_lr() == [0.05, 0.1, 0.3, 0.05]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9, 0.8, 0.9]
    opt = _opt(names=["head", "x"], momentum=0.0)  # an index wins over the name of another param group
    assert schedspec.to_torch(GROUPS, opt, groups={"backbone": 1, "head": 0}).get_last_lr() == [0.3, 0.05]


def test_a_group_without_its_own_lr_takes_the_documents_lr_schedule():
    spec = schedspec.loads("schedspec: 1\nlr: [{kind: linear, duration: 4, start: 0.0, end: 0.4}, 0.4]\n"
                           "momentum: 0.9\ngroups:\n  head: {momentum: 0.8}\n")  # fmt: skip
    opt = _opt(names=["head", "x"], lr=0.4, momentum=0.0)
    sched = schedspec.to_torch(spec, opt)
    for _ in range(2):
        opt.step()
        sched.step()
    assert sched.get_last_lr() == [0.2, 0.2] and [g["momentum"] for g in opt.param_groups] == [0.8, 0.9]
    opt = _opt(names=["head", "x"], lr=0.4, momentum=0.0)
    schedspec.to_torch(spec, opt, hparams=[])  # the lr only: a group's own momentum is not set either
    assert [g["momentum"] for g in opt.param_groups] == [0.0, 0.0]


def test_a_plateau_in_a_groups_own_schedule_takes_reports():
    spec = schedspec.loads("schedspec: 1\nlr: 0.1\ngroups:\n  head:\n    lr: {kind: plateau, start: 0.2, monitor: loss, "
                           "every: 1, patience: 0}\n")  # fmt: skip
    opt = _opt(names=["head", "x"])
    sched = schedspec.to_torch(spec, opt)
    assert sched.monitors == ("loss",)
    sched.report("loss", 1.0)
    opt.step()
    sched.step()
    sched.report("loss", 1.0)  # no improvement, patience 0: the reduction applies from the next interval
    assert opt.param_groups[0]["lr"] == 0.2
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] == 0.2 * 0.1 and opt.param_groups[1]["lr"] == 0.1  # ReduceLROnPlateau's old * factor


def test_every_spec_group_must_match_a_param_group():
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.to_torch(GROUPS, _opt(names=["backbone", None, "x"], momentum=0.0))
    assert str(exc.value) == (
        "g.yaml:7:3: group `head`: no param group of the torch optimizer carries \"name\": 'head' (their names: "
        "backbone, <unnamed>, x); add \"name\": 'head' to that param group, or pass groups={'head': <index>}")


def test_a_param_group_matched_twice_is_refused():
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.to_torch(GROUPS, _opt(3, momentum=0.0), groups={"backbone": [0, 1], "head": 1})
    assert str(exc.value) == "g.yaml:7:3: group `head`: param group 1 already belongs to group `backbone`"
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.to_torch(GROUPS, _opt(names=["backbone", "x"], momentum=0.0), groups={"head": 0})
    assert str(exc.value) == "g.yaml:7:3: group `head`: param group 0 already belongs to group `backbone`"


@pytest.mark.parametrize("index", [3, -1, [0, 3], (1, -1), True, [False], "1", 1.0])
def test_an_index_out_of_range_or_not_an_int_is_refused(index):
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.to_torch(GROUPS, _opt(3, momentum=0.0), groups={"backbone": index, "head": 2})
    assert str(exc.value) == f"g.yaml: groups.backbone: groups['backbone'] = {index!r}: the optimizer has param groups 0..2"


def test_groups_naming_no_group_of_the_spec_are_refused_together():
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.to_torch(GROUPS, _opt(3, momentum=0.0), groups={"backbone": 0, "head": 2, "neck": 1, "hed": 1})
    assert str(exc.value) == (
        "g.yaml: groups.neck: groups={'neck': ...}: the spec defines no group 'neck' (it has: backbone, head)\n"
        "g.yaml: groups.hed: groups={'hed': ...}: the spec defines no group 'hed'; did you mean 'head'? (it has: "
        "backbone, head)")
    plain = schedspec.loads("schedspec: 1\nlr: 0.1\n", file="p.yaml")
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.to_torch(plain, _opt(), groups={"head": 0})
    assert str(exc.value) == "p.yaml: groups.head: groups={'head': ...}: the spec defines no group 'head' (it has: none)"


# ------------------------------------------------------------------ hyperparameters a param group lacks
def test_a_hyperparameter_the_param_groups_lack_is_refused_once_per_schedule_with_what_they_have():
    spec = schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: 0.9\nbeta1: 0.9\nfoo: 2.0\ngroups:\n  head:\n"
                           "    momentum: 0.8\n", file="k.yaml")  # fmt: skip
    opt = Bare([{"params": [p], **({"name": "head"} if i == 0 else {})} for i, p in enumerate(_params(3))])
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.to_torch(spec, opt)
    assert str(exc.value) == (
        # param group 0 is `head` (its own momentum), 1 and 2 take the document's: each schedule once, in the
        # order of the param groups
        "k.yaml:8:5: `momentum`: the Bare optimizer's param group 0 has no 'momentum' (it has: lr, foo)\n"
        "k.yaml:4:1: `beta1`: the Bare optimizer's param group 0 has no 'betas' (it has: lr, foo)\n"
        "k.yaml:3:1: `momentum`: the Bare optimizer's param group 1 has no 'momentum' (it has: lr, foo)")
    opt = Bare([{"params": _params(1)}], foo=0.0)
    schedspec.to_torch(schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: 0.9\nfoo: 2.0\n"), opt, hparams=["foo"])
    assert opt.param_groups[0]["foo"] == 2.0


def test_momentum_and_betas_point_to_each_other():
    mom = schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: 0.9\n", file="m.yaml")
    opt = torch.optim.Adam([{"params": _params(1)}], lr=0.1)
    have = ", ".join(k for k in opt.param_groups[0] if k != "params")
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.to_torch(mom, opt)
    assert str(exc.value) == (f"m.yaml:3:1: `momentum`: the Adam optimizer's param group 0 has no 'momentum' (it has: "
                              f"{have}); its momentum is betas[0]: write the schedule as `beta1`")  # fmt: skip
    for name in ("beta1", "beta2"):
        beta = schedspec.loads(f"schedspec: 1\nlr: 0.1\n{name}: 0.9\n", file="b.yaml")
        opt = torch.optim.SGD([{"params": _params(1)}], lr=0.1, momentum=0.5)
        have = ", ".join(k for k in opt.param_groups[0] if k != "params")
        with pytest.raises(schedspec.SpecError) as exc:
            schedspec.to_torch(beta, opt)
        assert str(exc.value) == (f"b.yaml:3:1: `{name}`: the SGD optimizer's param group 0 has no 'betas' (it has: "
                                  f"{have}); it has `momentum` instead")  # fmt: skip
    opt = Bare([{"params": _params(1)}])
    with pytest.raises(schedspec.SpecError) as exc:  # no hint where the optimizer has neither
        schedspec.to_torch(beta, opt)
    assert str(exc.value) == "b.yaml:3:1: `beta2`: the Bare optimizer's param group 0 has no 'betas' (it has: lr, foo)"


def test_several_monitored_metrics_take_a_skipped_validation():
    """timm passes ``metric=None`` when it skipped validation: no report, whatever the number of metrics."""
    sched = schedspec.to_torch(TWO, _opt(momentum=0.0), loop="timm")
    sched.step(1, None)
    assert sched.reports == {"a": (), "b": ()} and sched.last_epoch == 1


def test_two_spec_groups_given_the_same_bad_index_are_each_refused_once():
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.to_torch(GROUPS, _opt(2, momentum=0.0), groups={"backbone": 5, "head": 5})
    assert str(exc.value) == ("g.yaml: groups.backbone: groups['backbone'] = 5: the optimizer has param groups 0..1\n"
                              "g.yaml: groups.head: groups['head'] = 5: the optimizer has param groups 0..1")  # fmt: skip


def test_what_a_param_group_has_leaves_out_the_lr_torch_saved_for_itself():
    """A scheduler built before on the same optimizer added ``initial_lr`` (torch's): not a hyperparameter."""
    opt = Bare([{"params": _params(1)}])
    schedspec.to_torch(WARM, opt)
    assert "initial_lr" in opt.param_groups[0]
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.to_torch(schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: 0.9\n", file="m.yaml"), opt)
    assert str(exc.value) == "m.yaml:3:1: `momentum`: the Bare optimizer's param group 0 has no 'momentum' (it has: lr, foo)"


def test_the_scheduler_carries_the_bound_specs_identity_and_the_arguments():
    spec = schedspec.loads("schedspec: 1\nname: w\nvars: {peak: [0.1, 0.2]}\nlr: [{kind: linear, duration: 4, start: 0.0,"
                           " end: $peak}, $peak]\nmomentum: 0.9\n")  # fmt: skip
    opt = _opt(momentum=0.0)
    sched = schedspec.to_torch(spec, opt, vars={"peak": 0.2}, block_size=7)
    assert (sched.hparam, sched.spec_name, sched.block_size, sched.interval) == ("lr", "w", 7, "step")
    assert sched.fingerprint == spec.with_vars({"peak": 0.2}).fingerprint
    assert sched.fingerprint != schedspec.to_torch(spec, _opt(momentum=0.0), vars={"peak": 0.1}).fingerprint
    assert schedspec.to_torch(WARM, _opt()).block_size == 4096 and schedspec.to_torch(WARM, _opt(), block_size=0).block_size == 0
    assert schedspec.to_torch(WARM, _opt()).fingerprint == schedspec.load(WARM).fingerprint
    saved = schedspec.to_torch(spec, _opt(momentum=0.0), vars={"peak": 0.1}).state_dict()
    with pytest.raises(ValueError, match=r"the scheduler state was saved from a different schedule"):
        sched.load_state_dict(saved)
    sched.load_state_dict(schedspec.to_torch(spec, _opt(momentum=0.0), vars={"peak": 0.2}).state_dict())
    m = schedspec.to_torch(spec, _opt(momentum=0.0), hparam="momentum", vars={"peak": 0.2})
    assert m.hparam == "momentum" and m.get_last_lr() == [0.9]


def test_a_missing_hyperparameter_after_one_the_param_group_has_is_still_refused():
    spec = schedspec.loads("schedspec: 1\nlr: 0.1\nfoo: 2.0\nmomentum: 0.9\n", file="o.yaml")
    opt = Bare([{"params": _params(1)}])
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.to_torch(spec, opt)
    assert str(exc.value) == "o.yaml:4:1: `momentum`: the Bare optimizer's param group 0 has no 'momentum' (it has: lr, foo)"
    assert "momentum" not in opt.param_groups[0]


def test_a_group_schedule_on_a_sweep_var_needs_vars_to_pick_one_member():
    spec = schedspec.loads("schedspec: 1\nvars: {w: [0.3, 0.4]}\nlr: 0.1\ngroups:\n  head: {lr: $w}\n", file="s.yaml")
    with pytest.raises(schedspec.SpecError) as exc:
        schedspec.to_torch(spec, _opt(names=["head", "x"]))
    assert str(exc.value) == ("s.yaml:2:11: group `head` `lr` uses the sweep var $w (2 values: 0.3, 0.4), but to_torch "
                              "builds one torch schedule: pick one member with vars={'w': 0.3} (or `--set w=0.3` on "
                              "the command line)")  # fmt: skip
    assert schedspec.to_torch(spec, _opt(names=["head", "x"]), vars={"w": 0.4}).get_last_lr() == [0.4, 0.1]


def test_a_schedule_other_than_lr_driving_the_lr_sets_no_other_hyperparameter_unless_named():
    spec = schedspec.loads("schedspec: 1\nname: three\nlr: 0.1\nmomentum: 0.9\nweight_decay: 0.01\n")
    opt = _opt(momentum=0.0, weight_decay=0.0)
    sched = schedspec.to_torch(spec, opt, hparam="momentum")
    assert sched.get_last_lr() == [0.9] and (opt.param_groups[0]["momentum"], opt.param_groups[0]["weight_decay"]) == (
        0.0, 0.0)
    schedspec.to_torch(spec, opt, hparam="momentum", hparams=["weight_decay"])  # named: set
    assert (opt.param_groups[0]["momentum"], opt.param_groups[0]["weight_decay"]) == (0.0, 0.01)
    opt = _opt(momentum=0.0, weight_decay=0.0)
    schedspec.to_torch(spec, opt)
    assert (opt.param_groups[0]["momentum"], opt.param_groups[0]["weight_decay"]) == (0.9, 0.01)


def test_every_other_hyperparameter_refused_at_once():
    """Two sweep vars in two scheduled hyperparameters of the optimizer: one error names both."""
    text = ("schedspec: 1\nvars:\n  m: [0.5, 0.9]\n  w: [0.0, 0.1]\nlr: 0.1\nmomentum: $m\nweight_decay: $w\n")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.to_torch(schedspec.loads(text, "t.yaml"), opt)
    assert [str(i).split(": ")[1] for i in err.value.issues] == ["`momentum` uses the sweep var $m (2 values",
                                                                   "`weight_decay` uses the sweep var $w (2 values"]
