"""torch param groups and resume (issue 9, sections 3 and 4), for ``schedspec.to_torch`` and the emitted torch module.

* The param-group rule (README, "Other hyperparameters and parameter groups"; ``schedspec/_param_groups.py``): a
  param group in one of the spec's ``groups:`` gets exactly its schedules; any other gets
  ``value(k) * lr_g / optimizer.defaults["lr"]``. Checked on every permutation of the param groups, for several
  setups, against ``schedspec.evaluate`` and bit for bit across permutations and between the two paths.
* Resume: every order of building the scheduler and loading the optimizer's and the scheduler's states, with and
  without ``initial_lr`` in the saved optimizer state, against a run that never stopped (the lr SGD applied, bit
  for bit); torch's native ``StepLR``/``LambdaLR`` go through the same orders, and wherever one of them resumes
  exactly, ours must too (ours must in every order).
* The state carries the fingerprint of the bound schedule: a ``total: 100ep`` state is refused by a ``160ep``
  scheduler (an open last phase runs to ``total``).
* ``scheduler.step(v)``: the metric report with a plateau (as ``ReduceLROnPlateau.step(v)``), torch's deprecated
  ``epoch`` without one (whole numbers only; anything else refused before anything changes).
"""

from __future__ import annotations

import copy
import io
import itertools
import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import schedspec  # noqa: E402

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import assert_f64, load_module, native_torch, sgd_update
except ImportError:
    from helpers import assert_f64, load_module, native_torch, sgd_update

ROOT = Path(__file__).resolve().parent.parent
lr_scheduler = torch.optim.lr_scheduler

_MODULES: dict = {}


def emitted(spec, tmp_path_factory):
    """The emitted torch module of ``spec`` (imported once per spec and session)."""
    spec = schedspec.load(spec)
    key = spec.canonical_json()
    if key not in _MODULES:
        _MODULES[key] = load_module(schedspec.emit(spec, "torch"), tmp_path_factory.mktemp("emitted"))
    return _MODULES[key]


@pytest.fixture(params=["to_torch", "emitted"])
def build(request, tmp_path_factory):
    """``build(spec, optimizer, **kw)``: a scheduler from ``schedspec.to_torch`` or from the emitted module."""
    if request.param == "to_torch":
        return lambda spec, opt, **kw: schedspec.to_torch(spec, opt, **kw)
    return lambda spec, opt, **kw: emitted(spec, tmp_path_factory).build_scheduler(opt, **kw)


def param_groups(rows):
    """``[(tag, extra keys)]`` -> an SGD param group per row with one float64 parameter (and the parameters)."""
    params = [torch.zeros(1, dtype=torch.float64, requires_grad=True) for _ in rows]
    return [{"params": [p], "tag": tag, **extra} for p, (tag, extra) in zip(params, rows)], params


def by_tag(opt, key, values=None):
    """``{tag: value}`` of a param-group key (or of ``values``, listed in param-group order)."""
    values = [g[key] for g in opt.param_groups] if values is None else values
    return {g["tag"]: v for g, v in zip(opt.param_groups, values)}


# ------------------------------------------------------------------------------------------------ 3. groups
def test_head_gets_its_lr_whatever_the_order_of_the_param_groups(build):
    """Issue 9 §3: head got 0.01 when backbone came first (scaled by initial_lr relative to group 0)."""
    spec = {"schedspec": 1, "lr": 1.0e-3, "groups": {"backbone": {"scale": 0.1}}}
    for order in (("backbone", "head"), ("head", "backbone")):
        rows = [(n, {"name": n, "lr": {"backbone": 1e-4, "head": 1e-3}[n]}) for n in order]
        groups, params = param_groups(rows)
        opt = torch.optim.SGD(groups)
        sched = build(spec, opt)
        for _ in range(3):
            applied = by_tag(opt, "lr", sgd_update(opt, params))
            assert applied == {"backbone": 0.1 * 1.0e-3, "head": 1.0e-3}, order
            sched.step()


SPEC_GROUPS = {
    "schedspec": 1,
    "lr": [{"kind": "linear", "duration": 10, "start": 0.0, "end": 0.1}, {"kind": "cosine", "duration": 40, "end": 0.001}],
    "weight_decay": {"kind": "linear", "duration": 30, "start": 0.0, "end": 0.01},
    "groups": {
        "backbone": {"scale": 0.1},
        "head": {"lr": [{"kind": "constant", "value": 0.05, "duration": 20}, {"kind": "constant", "value": 0.005}],
                 "weight_decay": 0.0},
        "norms": {"weight_decay": 0.0},
    },
}  # fmt: skip
SPEC_PLAIN = {"schedspec": 1, "lr": [{"kind": "linear", "duration": 10, "start": 0.0, "end": 0.1},
                                     {"kind": "cosine", "duration": 40, "end": 0.001}]}  # fmt: skip
SPEC_MOMENTUM = {**SPEC_PLAIN, "momentum": {"kind": "cosine", "duration": 50, "start": 0.95, "end": 0.85},
                 "groups": {"head": {"momentum": 0.9}}}  # fmt: skip

# name: (spec, SGD defaults, param groups [(tag, keys)], expected lr per tag: a spec group's name or a factor)
SETUPS = {
    "named spec groups, one unnamed": (SPEC_GROUPS, {"lr": 0.1}, [
        ("backbone", {"name": "backbone", "lr": 1e-4}), ("head", {"name": "head", "lr": 3.0}),
        ("norms", {"name": "norms"}), ("rest", {}),
    ], {"backbone": "backbone", "head": "head", "norms": "norms", "rest": 1.0}),
    "unnamed groups with their own lrs": (SPEC_PLAIN, {"lr": 0.1}, [
        ("a", {}), ("b", {"lr": 0.01}), ("c", {"lr": 0.05}), ("d", {"lr": 0.1}),
    ], {"a": 1.0, "b": 0.01 / 0.1, "c": 0.05 / 0.1, "d": 1.0}),
    "unnamed groups all with one lr that is not the optimizer's": (SPEC_PLAIN, {}, [
        ("a", {"lr": 0.5}), ("b", {"lr": 0.5}), ("c", {"lr": 0.5}),
    ], {"a": 1.0, "b": 1.0, "c": 1.0}),
    "spec groups with their own schedules and hyperparameters, unnamed scaled": (SPEC_GROUPS, {"lr": 0.2}, [
        ("head", {"name": "head"}), ("x", {"lr": 0.05}), ("backbone", {"name": "backbone", "lr": 0.2}),
        ("norms", {"name": "norms", "lr": 0.7}), ("y", {}),
    ], {"head": "head", "x": 0.25, "backbone": "backbone", "norms": "norms", "y": 1.0}),
}  # fmt: skip


def run_setup(build, spec, defaults, rows, order, n, **kw):
    """Applied lrs (SGD probe) and weight decays per tag for updates 0..n-1, param groups in ``order``."""
    groups, params = param_groups([rows[i] for i in order])
    opt = torch.optim.SGD(groups, **defaults)
    sched = build(spec, opt, **kw)
    lrs, wds = [], []
    for _ in range(n):
        wds.append(by_tag(opt, "weight_decay"))
        lrs.append(by_tag(opt, "lr", sgd_update(opt, params)))
        sched.step()
    return lrs, wds


@pytest.mark.parametrize("setup", list(SETUPS))
def test_every_permutation_of_the_param_groups_gives_the_same_values(setup, build):
    spec, defaults, rows, expected = SETUPS[setup]
    n = 60
    k = np.arange(n)
    document = schedspec.evaluate(spec, k, dtype="float64")
    first = None
    for order in itertools.permutations(range(len(rows))):
        lrs, wds = run_setup(build, spec, defaults, rows, order, n)
        if first is None:
            first = (lrs, wds)
            for tag, want in expected.items():
                got = [row[tag] for row in lrs]
                if isinstance(want, str):
                    assert_f64(got, schedspec.evaluate(spec, k, dtype="float64", group=want), f"{setup}: {tag}")
                else:
                    assert_f64(got, want * document, f"{setup}: {tag}")
            if "weight_decay" in schedspec.load(spec).program.hparams:
                for tag, want in expected.items():
                    group = want if isinstance(want, str) else None
                    ref = schedspec.evaluate(spec, k, dtype="float64", hparam="weight_decay", group=group)
                    assert_f64([row[tag] for row in wds], ref, f"{setup}: weight_decay of {tag}")
        else:  # bit for bit, whatever the order
            assert (lrs, wds) == first, (setup, order)


def test_a_group_built_with_the_optimizers_lr_gets_exactly_the_documents_value(build):
    spec = SPEC_PLAIN
    n = 60
    alone = run_setup(build, spec, {"lr": 0.1}, [("a", {})], (0,), n)[0]
    mixed = run_setup(build, spec, {"lr": 0.1}, [("b", {"lr": 0.01}), ("a", {}), ("c", {"lr": 0.1})], (0, 1, 2), n)[0]
    assert [row["a"] for row in alone] == [row["a"] for row in mixed] == [row["c"] for row in mixed]
    assert [row["b"] for row in mixed] == [v * (0.01 / 0.1) for v in (row["a"] for row in alone)]


def test_momentum_schedules_on_every_permutation(build):
    """A hyperparameter the SGD probe cannot see (momentum): read from the param groups, every permutation."""
    rows = [("head", {"name": "head"}), ("a", {"lr": 0.05}), ("b", {})]
    n = 55
    k = np.arange(n)
    first = None
    for order in itertools.permutations(range(3)):
        groups, _ = param_groups([rows[i] for i in order])
        opt = torch.optim.SGD(groups, lr=0.1, momentum=0.5)
        sched = build(SPEC_MOMENTUM, opt)
        got = []
        for _ in range(n):
            got.append((by_tag(opt, "lr"), by_tag(opt, "momentum")))
            opt.step()
            sched.step()
        if first is None:
            first = got
            mom = schedspec.evaluate(SPEC_MOMENTUM, k, dtype="float64", hparam="momentum")
            assert_f64([m["a"] for _, m in got], mom, "momentum of an unnamed group")
            assert all(m["head"] == 0.9 for _, m in got)
            lr = schedspec.evaluate(SPEC_MOMENTUM, k, dtype="float64")
            assert_f64([r["a"] for r, _ in got], 0.5 * lr, "lr of a group built with 0.05 under lr=0.1")
            assert_f64([r["head"] for r, _ in got], lr, "head: the document's lr (its spec group has none of its own)")
        else:
            assert got == first, order


def test_ambiguous_factors_are_refused_in_every_order(build):
    """Unnamed param groups built with different lrs, none the optimizer's: the first update raises (the rule
    cannot tell which group gets the spec's values); the same in every order. An optimizer lr of 0 likewise."""
    rows = [("a", {"lr": 1.0}), ("b", {"lr": 0.25}), ("c", {"lr": 0.5})]
    for order in itertools.permutations(range(3)):
        groups, params = param_groups([rows[i] for i in order])
        opt = torch.optim.SGD(groups)  # defaults["lr"] = 0.001, which no group has
        sched = build(SPEC_PLAIN, opt)  # (kept: a scheduler no one holds checks nothing)
        with pytest.raises(ValueError, match=r"built with different lrs \(0: .*\) and none with the optimizer's lr "
                                             r"\(defaults\['lr'\] = 0.001\).*lr=1.0"):  # fmt: skip
            sgd_update(opt, params)
        assert all(float(p.detach()) == 0.0 for p in params) and sched.last_epoch == 0  # no update was made
    groups, params = param_groups([("a", {"lr": 0.1}), ("b", {})])
    opt = torch.optim.SGD(groups, lr=0.0)
    sched = build(SPEC_PLAIN, opt)
    with pytest.raises(ValueError, match=r"param group 0 was built with lr 0.1 but the optimizer's lr is 0"):
        sgd_update(opt, params)
    assert sched.last_epoch == 0


ADDED = ("the optimizer has 2 param groups, but the scheduler was built with 1: param groups added "
         "(optimizer.add_param_group) or removed after it was built are not scheduled; build the scheduler after the "
         "last change to the optimizer's param groups")
_COSINE = {"kind": "cosine", "duration": 10, "start": 0.1, "end": 0.0}
_ADDED_SPECS = {
    "plain": {"schedspec": 1, "lr": _COSINE},
    "momentum": {"schedspec": 1, "lr": _COSINE, "momentum": {"kind": "linear", "duration": 4, "start": 0.9, "end": 0.5}},
    "plateau": {"schedspec": 1, "lr": {"kind": "plateau", "start": 0.1, "monitor": "loss", "every": 1, "patience": 0}},
}


@pytest.mark.parametrize("case", ["plain", "lr_scale", "momentum", "plateau", "epoch", "resume", "timm"])
def test_a_param_group_added_after_the_scheduler_was_built_is_refused(case, build):
    """``optimizer.add_param_group`` after the scheduler was built (Lightning's BaseFinetuning unfreezes layers so):
    the scheduler matched the param groups and decided their lr factors when it was built, so its next lr (a
    step, a step to an epoch, a metric report, a resume, timm's step_update) is refused, saying to build it after the change; never a
    bare ``zip()`` error (torch's own closed-form LambdaLR fails there with one: checked). The optimizer keeps the
    lrs of the last update."""
    native = lr_scheduler.LambdaLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), lambda k: 1.0)
    native.optimizer.add_param_group({"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3})
    native.optimizer.step()
    with pytest.raises(ValueError, match=r"^zip\(\) argument 2 is shorter than argument 1$"):
        native.step()
    spec = _ADDED_SPECS.get(case, _ADDED_SPECS["plain"])
    opt = torch.optim.SGD([torch.zeros(1, dtype=torch.float64, requires_grad=True)], lr=0.1, momentum=0.9)
    if case == "lr_scale":
        opt.param_groups[0]["lr_scale"] = 0.5
    sched = build(spec, opt, **({"loop": "timm"} if case == "timm" else {}))
    state = sched.state_dict()
    before = opt.param_groups[0]["lr"]
    opt.add_param_group({"params": [torch.zeros(1, dtype=torch.float64, requires_grad=True)], "lr": 0.3,
                         **({"lr_scale": 0.25} if case == "lr_scale" else {})})
    # (imported here: run alone, the emitted cases import no adapter)
    from schedspec.adapters.torch import SchedSpecLR

    prefix = "'<dict>': " if isinstance(sched, SchedSpecLR) else ""
    with pytest.raises(ValueError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's deprecation of step(epoch)
        if case == "plateau":
            sched.report("loss", 1.0)
        elif case == "epoch":
            sched.step(3)
        elif case == "resume":
            sched.load_state_dict(state)
        elif case == "timm":
            sched.step_update(1)
        else:
            opt.step()
            sched.step()
    assert str(info.value) == prefix + ADDED
    assert [g["lr"] for g in opt.param_groups] == [before, 0.3]


def test_hparams_empty_leaves_every_other_hyperparameter_alone(build):
    """``hparams=[]`` drives the lr only: a spec group's own weight decay is not set either."""
    groups, params = param_groups([("head", {"name": "head"}), ("backbone", {"name": "backbone"}),
                                   ("norms", {"name": "norms"})])  # fmt: skip
    opt = torch.optim.SGD(groups, lr=0.1, weight_decay=0.3)
    sched = build(SPEC_GROUPS, opt, hparams=[])
    for _ in range(5):
        assert [g["weight_decay"] for g in opt.param_groups] == [0.3, 0.3, 0.3]
        sgd_update(opt, params)
        sched.step()


@pytest.mark.parametrize("path", sorted(p for p in (ROOT / "examples").glob("*.yaml") if "groups:" in p.read_text()),
                         ids=lambda p: p.name)  # fmt: skip
def test_emitted_module_equals_to_torch_bit_for_bit_on_examples_with_groups(path, tmp_path_factory):
    """Every example with groups: the emitted module and to_torch write the same lrs and hyperparameters into
    every param group (named spec groups, a scaled unnamed one), densely over the first steps and at sampled k
    (by resuming there) up to twice the schedule's length."""
    spec = schedspec.load(path)
    program = spec.program
    assert program.groups
    mod = emitted(spec, tmp_path_factory)
    names = list(program.groups)
    others = [n for n in program.hparams if n != "lr"]

    def make():
        groups, _ = param_groups([*((n, {"name": n, "lr": 5.0}) for n in names), ("x", {"lr": 0.02}), ("y", {})])
        opt = torch.optim.AdamW(groups, lr=0.01)
        return opt

    def snapshot(opt):
        return [(g["lr"], *(g[n] for n in others)) for g in opt.param_groups]

    opt_a, opt_b = make(), make()
    a, b = schedspec.to_torch(spec, opt_a), mod.build_scheduler(opt_b)
    length = 2 * (program.total or 1000)
    for _ in range(min(length, 2500)):
        assert snapshot(opt_a) == snapshot(opt_b)
        opt_a.step()
        opt_b.step()
        a.step()
        b.step()
    for k in sorted({*np.linspace(0, length, 200).astype(int).tolist(), length}):
        state = dict(a.state_dict(), last_epoch=k)
        a.load_state_dict(state)
        b.load_state_dict(state)
        assert snapshot(opt_a) == snapshot(opt_b), k
    assert snapshot(opt_a)[-2][0] == pytest.approx(0.02 / 0.01 * schedspec.evaluate(spec, [length], dtype="float64")[0])


def test_emitted_schedule_refuses_groups_or_hparams_its_spec_lacks(tmp_path_factory):
    mod = emitted(SPEC_PLAIN, tmp_path_factory)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="the spec defines no groups"):
        mod.Schedule(opt, groups={"head": 0})
    with pytest.raises(ValueError, match="no hyperparameter schedule besides the lr"):
        mod.Schedule(opt, hparams=["momentum"])
    with pytest.raises(TypeError):
        mod.build_scheduler(opt, groups={"head": 0})
    mod = emitted(SPEC_GROUPS, tmp_path_factory)
    with pytest.raises(ValueError, match=r"hparams: 'momentum' is not another hyperparameter schedule"):
        mod.build_scheduler(opt, hparams=["momentum"])
    with pytest.raises(ValueError, match=r"group 'backbone': no param group of the optimizer carries \"name\""):
        mod.build_scheduler(opt)
    with pytest.raises(ValueError, match=r"groups=\{'neck': ...\}: the spec defines no group 'neck'"):
        mod.build_scheduler(opt, groups={"neck": 0})
    groups, _ = param_groups([("b", {"name": "backbone"}), ("h", {"name": "head"}), ("n", {"name": "norms"})])
    with pytest.raises(ValueError, match=r"group 'head': param group 1 already belongs to group 'backbone'"):
        mod.build_scheduler(torch.optim.SGD(groups, lr=0.1), groups={"backbone": [0, 1]})
    rows = [("b", {"name": "backbone"}), ("h", {"name": "head"}), ("n", {"name": "norms"})]
    with pytest.raises(ValueError, match=r"'weight_decay': param group 0 of the Rprop optimizer has no 'weight_decay'"
                                         r".*hparams=\[\]\) drives the lr only"):  # fmt: skip
        mod.build_scheduler(torch.optim.Rprop(param_groups(rows)[0], lr=0.1))
    mod.build_scheduler(torch.optim.Rprop(param_groups(rows)[0], lr=0.1), hparams=[])  # the lr alone is possible


def test_cli_compile_to_torch_keeps_the_groups(tmp_path, capsys):
    from schedspec.cli import main

    out = tmp_path / "finetune.py"
    assert main(["compile", "examples/finetune-groups.yaml", "--to", "torch", "-o", str(out)]) == 0
    source = out.read_text()
    assert '"backbone": {"lr": _schedule_2}' in source
    assert '"head": {"lr": _schedule_3, "weight_decay": _schedule_4}' in source
    assert "schedule: lr (and weight_decay, groups.backbone, groups.head)" in source


# ------------------------------------------------------------------------------------------------ 4. resume
ORDERS = (
    "build, optimizer.load, scheduler.load",
    "build, scheduler.load, optimizer.load",
    "optimizer.load, build, scheduler.load",  # pytorch issue 65342
)
STRIP = (False, True)  # with / without initial_lr in the saved optimizer state


def checkpoint(obj):
    """A state dict through torch.save / torch.load, as a real checkpoint."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def resume(order, make_sched, opt, opt_state, sched_state, strip):
    opt_state = copy.deepcopy(opt_state)
    if strip:
        for g in opt_state["param_groups"]:
            g.pop("initial_lr", None)
    if order == ORDERS[0]:
        sched = make_sched(opt)
        opt.load_state_dict(opt_state)
        sched.load_state_dict(sched_state)
    elif order == ORDERS[1]:
        sched = make_sched(opt)
        sched.load_state_dict(sched_state)
        opt.load_state_dict(opt_state)
    else:
        opt.load_state_dict(opt_state)
        sched = make_sched(opt)
        sched.load_state_dict(sched_state)
    return sched


def interrupted(make_opt, make_sched, n, stop, order, strip, reports=None, every=1, pending=False):
    """Applied lrs (and weight decays) of updates 0..n-1: one run, or stopped after ``stop`` updates, saved and
    resumed in ``order`` (``order=None``: never stopped). ``reports``: a metric report after every ``every``
    updates (``pending``: the report due at the stop is made only after resuming)."""
    opt, params = make_opt()
    sched = make_sched(opt)
    out = []
    for k in range(n):
        if k == stop and order is not None:
            saved = checkpoint({"opt": opt.state_dict(), "sched": sched.state_dict()})
            opt, params = make_opt()
            sched = resume(order, make_sched, opt, saved["opt"], saved["sched"], strip)
            if pending:
                sched.report("val_loss", reports[k // every - 1])
        out.append((sgd_update(opt, params), [g.get("weight_decay") for g in opt.param_groups]))
        sched.step()
        if reports is not None and (k + 1) % every == 0 and not (pending and order is not None and k + 1 == stop):
            sched.report("val_loss", reports[k // every])
    return out


def sgd_maker(rows, **defaults):
    return lambda: (lambda g: (torch.optim.SGD(g[0], **defaults), g[1]))(param_groups(rows))


def test_resume_after_optimizer_load_and_build_uses_the_saved_update(build):
    """Issue 9 §4: optimizer.load_state_dict -> build -> scheduler.load_state_dict (pytorch 65342). The next update
    used value(0) = 0.1 while get_last_lr() said 0.05; it must use value(500) = 0.05, and get_last_lr() agree."""
    spec = {"schedspec": 1, "lr": {"kind": "cosine", "duration": 1000, "start": 0.1, "end": 0.0}}
    value500 = schedspec.to_torch(spec, torch.optim.SGD([torch.zeros(1)], lr=0.1), block_size=0).lr_at(500)
    assert value500 == pytest.approx(0.05, abs=1e-15)
    make_opt = sgd_maker([("a", {})], lr=0.1)
    opt, params = make_opt()
    sched = build(spec, opt)
    for _ in range(500):
        sgd_update(opt, params)
        sched.step()
    saved = checkpoint({"opt": opt.state_dict(), "sched": sched.state_dict()})
    opt, params = make_opt()
    opt.load_state_dict(saved["opt"])
    sched = build(spec, opt)
    sched.load_state_dict(saved["sched"])
    assert sched.get_last_lr() == [value500]
    assert sgd_update(opt, params) == [value500]


RESUME_SPECS = {
    "cosine": ({"schedspec": 1, "lr": {"kind": "cosine", "duration": 1000, "start": 0.1, "end": 0.0}},
               [("a", {})], {"lr": 0.1}, None),
    "groups and weight decay": (SPEC_GROUPS | {"weight_decay": {"kind": "linear", "duration": 700, "start": 0.0,
                                                                "end": 0.01}},
                                [("backbone", {"name": "backbone", "lr": 1e-4}), ("x", {"lr": 0.05}),
                                 ("head", {"name": "head"}), ("norms", {"name": "norms"}), ("y", {})],
                                {"lr": 0.1}, None),
    "plateau, reports every 10 updates": (
        {"schedspec": 1, "lr": [{"kind": "linear", "duration": 100, "start": 0.0, "end": 0.1},
                                {"kind": "plateau", "monitor": "val_loss", "every": 10, "patience": 1, "factor": 0.5,
                                 "duration": 700},
                                {"kind": "cosine", "duration": 200, "end": 0.0}],
         "groups": {"backbone": {"scale": 0.1}}},
        [("backbone", {"name": "backbone"}), ("x", {"lr": 0.05}), ("y", {})], {"lr": 0.1},
        [1.0 - 0.01 * (i % 17) for i in range(100)]),
}  # fmt: skip


@pytest.mark.parametrize("name", list(RESUME_SPECS))
def test_resume_is_exact_in_every_order(name, build):
    spec, rows, defaults, reports = RESUME_SPECS[name]
    make_opt = sgd_maker(rows, **defaults)
    n, stop = 1000, 500

    def make_sched(opt):
        return build(spec, opt)

    straight = interrupted(make_opt, make_sched, n, stop, None, False, reports, 10)
    for order, strip in itertools.product(ORDERS, STRIP):
        got = interrupted(make_opt, make_sched, n, stop, order, strip, reports, 10)
        assert got == straight, (order, strip)
        if reports is not None:  # saved while the next update waits for its report, made after resuming
            got = interrupted(make_opt, make_sched, n, stop, order, strip, reports, 10, pending=True)
            assert got == straight, (order, strip, "pending")


@pytest.mark.parametrize("name", list(RESUME_SPECS))
def test_emitted_module_equals_to_torch_with_reports_and_groups(name, tmp_path_factory):
    """The same runs through both paths: the applied lrs and weight decays agree bit for bit (a plateau whose
    trajectory a scaled group shares has one row in the emitted module, as in to_torch's reports)."""
    spec, rows, defaults, reports = RESUME_SPECS[name]
    make_opt = sgd_maker(rows, **defaults)
    mod = emitted(spec, tmp_path_factory)
    ours = interrupted(make_opt, lambda o: schedspec.to_torch(spec, o), 1000, 500, None, False, reports, 10)
    theirs = interrupted(make_opt, mod.build_scheduler, 1000, 500, None, False, reports, 10)
    assert ours == theirs
    if reports is not None:
        assert schedspec.emit(spec, "torch").count("values = plateau_trajectory(") == 1


def test_resume_orders_against_native_torch(build):
    """Wherever torch's own StepLR or LambdaLR resumes exactly, ours does too (ours: in every order). LambdaLR
    is closed form like ours but does not write its lr on load, so it fails the #65342 order: the harness sees it."""
    spec = {"schedspec": 1, "lr": {"kind": "step", "start": 0.1, "every": 100, "gamma": 0.5}}
    make_opt = sgd_maker([("a", {}), ("b", {"lr": 0.02})], lr=0.1)
    natives = {
        "StepLR": lambda opt: lr_scheduler.StepLR(opt, step_size=100, gamma=0.5),
        "LambdaLR": lambda opt: lr_scheduler.LambdaLR(opt, lambda k: 0.5 ** (k // 100)),
        "ours": lambda opt: build(spec, opt),
    }
    n, stop = 1000, 550
    exact = {}
    for name, make_sched in natives.items():
        straight = interrupted(make_opt, make_sched, n, stop, None, False)
        for order, strip in itertools.product(ORDERS, STRIP):
            exact[name, order, strip] = interrupted(make_opt, make_sched, n, stop, order, strip) == straight
    assert not exact["LambdaLR", ORDERS[2], False]  # the #65342 order: torch's closed form resumes at value(0)
    for order, strip in itertools.product(ORDERS, STRIP):
        if exact["StepLR", order, strip] or exact["LambdaLR", order, strip]:
            assert exact["ours", order, strip], (order, strip)
        assert exact["ours", order, strip], (order, strip)


def test_a_state_for_total_100ep_is_refused_by_a_scheduler_for_160ep(build, tmp_path_factory):
    """The state's identity is the fingerprint of the bound schedule: an open last phase runs to `total`, so 100ep
    and 160ep are two schedules (refused both ways, between to_torch and the emitted module too); a `total` that
    changes no value (every phase has a duration) is the same schedule, and its state loads."""

    def doc(total, open_end=True):
        last = {"kind": "cosine", "end": 0.0} if open_end else {"kind": "cosine", "end": 0.0, "duration": "95ep"}
        return {"schedspec": 1, "steps_per_epoch": 10, "total": total,
                "lr": [{"kind": "linear", "duration": "5ep", "start": 0.0, "end": 0.1}, last]}  # fmt: skip

    short, long = schedspec.load(doc("100ep")), schedspec.load(doc("160ep"))
    assert short.fingerprint != long.fingerprint
    for saver in ("to_torch", "emitted"):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        if saver == "to_torch":
            sched = schedspec.to_torch(short, opt)
        else:
            sched = emitted(short, tmp_path_factory).build_scheduler(opt)
        for _ in range(30):
            opt.step()
            sched.step()
        state = sched.state_dict()
        assert state["schedspec_fingerprint"] == short.fingerprint
        target = build(long, torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1))
        with pytest.raises(ValueError, match=rf"different schedule \(fingerprint {short.fingerprint}, `lr`\).*"
                                             rf"{long.fingerprint}"):  # fmt: skip
            target.load_state_dict(state)
        assert target.last_epoch == 0
        build(short, torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)).load_state_dict(state)
    same_a, same_b = schedspec.load(doc("100ep", False)), schedspec.load(doc("160ep", False))
    assert same_a.fingerprint == same_b.fingerprint
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = schedspec.to_torch(same_a, opt)
    for _ in range(30):
        opt.step()
        sched.step()
    again = build(same_b, torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1))
    again.load_state_dict(sched.state_dict())
    assert again.get_last_lr() == sched.get_last_lr()
    with pytest.raises(ValueError, match="not a schedspec scheduler state"):
        build(short, torch.optim.SGD([torch.zeros(1)], lr=0.1)).load_state_dict(
            lr_scheduler.StepLR(torch.optim.SGD([torch.zeros(1)], lr=0.1), 3).state_dict()
        )


# ------------------------------------------------------------------------------------------------ step(v)
PLATEAU = {"schedspec": 1, "interval": "epoch", "lr": {"kind": "plateau", "start": 0.1, "monitor": "val_loss",
                                                       "patience": 1, "factor": 0.5}}  # fmt: skip


def test_positional_metric_is_reduce_lr_on_plateau_step(build):
    """Lightning calls scheduler.step(metric): the same lrs as torch's ReduceLROnPlateau.step(metric)."""
    metrics = [1.0, 0.9, 0.9, 0.9, 0.95, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7]
    ref = native_torch(metrics, {"patience": 1, "factor": 0.5})
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = build(PLATEAU, opt)
    applied = []
    for m in metrics:
        applied.extend(sgd_update(opt, [p]))
        sched.step(m)
    assert applied == ref
    assert len({*ref}) >= 3  # two reductions happened
    with pytest.raises(ValueError, match="give the metric report once"):
        sched.step(0.5, metrics=0.5)
    with pytest.raises(ValueError, match="cannot move a schedule driven by reports"):
        sched.step(epoch=3)


def test_positional_argument_without_a_plateau_is_torchs_deprecated_epoch(build):
    """Without a plateau, step(e) is torch's deprecated step(epoch) for a whole number e (as LambdaLR: the next
    update uses value(e)); a float, even 2.0, or a bool is refused before anything changes (a metric given by
    mistake is never read as an epoch)."""
    spec = {"schedspec": 1, "lr": {"kind": "linear", "duration": 10, "start": 0.0, "end": 0.1}}
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = build(spec, opt)
    q = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    native_opt = torch.optim.SGD([q], lr=0.1)
    native = lr_scheduler.LambdaLR(native_opt, lambda k: min(k, 10) / 10)
    exact = schedspec.to_torch(spec, torch.optim.SGD([torch.zeros(1)], lr=0.1), block_size=0)
    opt.step()  # (no gradient yet: nothing moves; torch warns when a scheduler steps before its optimizer)
    native_opt.step()
    for e in (5, np.int64(7), torch.tensor(3), 0, 12):
        with pytest.warns(UserWarning, match="epoch"):
            sched.step(e)
        with pytest.warns(UserWarning, match="epoch"):
            native.step(int(e))
        assert sched.last_epoch == native.last_epoch == int(e)
        ours, theirs = sgd_update(opt, [p]), sgd_update(native_opt, [q])  # the update after step(e) uses value(e)
        assert ours == [exact.lr_at(int(e))]
        assert math.isclose(ours[0], theirs[0], rel_tol=1e-15, abs_tol=1e-18), (e, ours, theirs)
    before = (sched.last_epoch, opt.param_groups[0]["lr"], sched.get_last_lr())
    for bad in (0.53, 2.0, True, torch.tensor(0.5), "3", -1):
        with pytest.raises(ValueError, match=r"scheduler.step|epoch must be in"):
            sched.step(bad)
        assert (sched.last_epoch, opt.param_groups[0]["lr"], sched.get_last_lr()) == before, bad
    with pytest.raises(ValueError, match="takes no metrics"):
        sched.step(metrics=0.5)
    sched.step()
    assert sched.last_epoch == before[0] + 1


def test_the_emitted_module_documents_the_rule(tmp_path_factory):
    source = schedspec.emit(SPEC_GROUPS, "torch")
    assert 'value(k) * lr_g / L, lr_g the lr it was built with and L the optimizer\'s lr' in source.replace("\n# ", " ")
    assert "def lr_ratios(defaults_lr, built, follows):" in source  # copied verbatim from schedspec/_param_groups.py
    import inspect

    from schedspec import _param_groups

    assert inspect.getsource(_param_groups.lr_ratios) in source
    assert os.path.basename(_param_groups.__file__) == "_param_groups.py"
