"""Hyperparameters besides ``lr`` (momentum, weight_decay, beta1/beta2) and parameter groups, in torch, optax and
Keras: against torch ``OneCycleLR(cycle_momentum=True)``, the updates real optimizers applied, and the errors for a
hyperparameter the optimizer does not have or a group no parameters carry.

Tolerances (docs/language.md, Parity): float64 ``1e-12*peak + 1e-10*|b|``; float32 ``1e-6*peak + 1e-5*|b|``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import schedspec  # noqa: E402

torch = pytest.importorskip("torch")
lr_scheduler = torch.optim.lr_scheduler


def assert_close(ours, ref, rel=1e-10, peak_rel=1e-12, what=""):
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, (what, ours.shape, ref.shape)
    peak = np.max(np.abs(ref))
    bad = np.nonzero(np.abs(ours - ref) > peak_rel * peak + rel * np.abs(ref))[0]
    assert not bad.size, f"{what}: first difference at {bad[0]}: {ours[bad[0]]!r} vs {ref[bad[0]]!r}"


def assert_f32(ours, ref, what=""):
    assert_close(ours, ref, rel=1e-5, peak_rel=1e-6, what=what)


# ------------------------------------------------------------------------------------------------ one-cycle
def onecycle_spec(n: int, pct: float, anneal: str, three_phase: bool, key: str = "momentum") -> dict:
    """torch OneCycleLR(max_lr=0.1, total_steps=n, pct_start=pct, base_momentum=0.85, max_momentum=0.95) with its
    momentum written as neutral phases: max -> base over [0, pct*n - 1], back to max at n - 1 (three-phase: base
    -> max by 2*pct*n - 2, then held)."""
    kind = "cosine" if anneal == "cos" else "linear"
    e1 = round(pct * n) - 1
    if three_phase:
        e2 = 2 * round(pct * n) - 2
        momentum = [{"kind": kind, "duration": e1, "start": 0.95, "end": 0.85},
                    {"kind": kind, "duration": e2 - e1, "end": 0.95}, {"kind": "constant"}]  # fmt: skip
    else:
        momentum = [{"kind": kind, "duration": e1, "start": 0.95, "end": 0.85},
                    {"kind": kind, "duration": n - 1 - e1, "end": 0.95}]  # fmt: skip
    return {"schedspec": 1, "lr": {"kind": "onecycle", "duration": n, "peak": 0.1, "pct_start": pct, "anneal": anneal,
                                   "three_phase": three_phase}, key: momentum}  # fmt: skip


def run(opt, sched, n, key="momentum"):
    """Per update: lr, momentum (or betas[0]) and the parameter after it (constant gradient 1)."""
    p = opt.param_groups[0]["params"][0]
    lrs, moms, params = [], [], []
    for _ in range(n):
        g = opt.param_groups[0]
        lrs.append(g["lr"])
        moms.append(g["momentum"] if key == "momentum" else g["betas"][0])
        opt.zero_grad()
        p.grad = torch.ones_like(p)
        opt.step()
        params.append(float(p.detach()[0]))
        sched.step()
    return np.asarray(lrs), np.asarray(moms), np.asarray(params)


def make(kind: str):
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    if kind == "sgd":
        return torch.optim.SGD([p], lr=0.1, momentum=0.0)  # OneCycleLR overwrites the momentum even from 0
    return torch.optim.Adam([p], lr=0.1)


@pytest.mark.parametrize(
    ("opt_kind", "anneal", "three_phase"),
    [("sgd", "cos", False), ("sgd", "linear", True), ("adam", "cos", False), ("adam", "linear", False)],
)
def test_onecycle_momentum_matches_torch_onecycle(opt_kind, anneal, three_phase):
    n, pct = 200, 0.3
    key = "momentum" if opt_kind == "sgd" else "beta1"
    opt = make(opt_kind)
    native = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=n, pct_start=pct, anneal_strategy=anneal,
                                     three_phase=three_phase, cycle_momentum=True)  # fmt: skip
    n_lr, n_mom, n_par = run(opt, native, n - 1, key)  # torch refuses to step past total_steps
    opt = make(opt_kind)
    ours = schedspec.to_torch(onecycle_spec(n, pct, anneal, three_phase, key), opt)
    o_lr, o_mom, o_par = run(opt, ours, n - 1, key)
    assert_close(o_lr, n_lr, what="lr")
    assert_close(o_mom, n_mom, what="momentum")
    assert_close(o_par, n_par, rel=1e-9, what="parameters the optimizer produced")
    # the same momentum schedule from the evaluator, and from optax's inject_hyperparams
    spec = schedspec.load(onecycle_spec(n, pct, anneal, three_phase, key))
    assert_close(
        schedspec.evaluate(spec, np.arange(n - 1), hparam=key, dtype="float64"), n_mom, what="evaluate"
    )


def test_optax_inject_sets_every_hyperparameter():
    optax = pytest.importorskip("optax")
    import jax
    import jax.numpy as jnp

    import schedspec.adapters.optax as so

    n = 100
    spec = schedspec.load(onecycle_spec(n, 0.3, "cos", False, "beta1"))
    tx = so.inject(spec, optax.adam)
    params = {"w": jnp.zeros(())}
    state = tx.init(params)
    update = jax.jit(tx.update)
    lrs, b1s = [], []
    for _ in range(n):
        _, state = update({"w": jnp.ones(())}, state, params)
        lrs.append(float(state.hyperparams["learning_rate"]))  # optax shows the value the update just used
        b1s.append(float(state.hyperparams["b1"]))
    k = np.arange(n)
    assert_f32(lrs, schedspec.evaluate(spec, k, dtype="float64"), "learning_rate")
    assert_f32(b1s, schedspec.evaluate(spec, k, hparam="beta1", dtype="float64"), "b1")
    with pytest.raises(schedspec.SpecError, match=r"`momentum`: optax.adam has no argument 'momentum'.*write the "
                                                  r"schedule as `beta1`"):  # fmt: skip
        so.inject(onecycle_spec(n, 0.3, "cos", False, "momentum"), optax.adam)
    with pytest.raises(schedspec.SpecError, match=r"`beta1`: optax.sgd has no argument 'b1'"):
        so.inject(spec, optax.sgd)


def test_torch_sets_weight_decay_and_betas_on_every_group():
    spec = {"schedspec": 1, "lr": 0.01, "weight_decay": {"kind": "linear", "duration": 10, "start": 0.0, "end": 0.1},
            "beta2": {"kind": "constant", "value": 0.98}}  # fmt: skip
    ps = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(2)]
    opt = torch.optim.AdamW([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.02}], lr=0.01)
    sched = schedspec.to_torch(spec, opt)
    for k in range(12):
        for g in opt.param_groups:
            assert g["weight_decay"] == pytest.approx(min(k, 10) / 100, abs=1e-15)
            assert g["betas"] == (0.9, 0.98)
        opt.step()
        sched.step()
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.02]  # unnamed groups keep their ratio to group 0


@pytest.mark.parametrize(
    ("spec_key", "opt_kind", "message"),
    [
        (
            "momentum",
            "adam",
            r"<string>:3:1: `momentum`: the Adam optimizer's param group 0 has no 'momentum'.*"
            r"its momentum is betas\[0\]: write the schedule as `beta1`",
        ),
        (
            "beta1",
            "sgd",
            r"`beta1`: the SGD optimizer's param group 0 has no 'betas'.*it has `momentum` instead",
        ),
        ("lars_trust", "sgd", r"`lars_trust`: the SGD optimizer's param group 0 has no 'lars_trust'"),
    ],
)
def test_torch_refuses_a_hyperparameter_the_optimizer_lacks(spec_key, opt_kind, message):
    spec = schedspec.loads(f"schedspec: 1\nlr: 0.1\n{spec_key}: 0.9\n")
    with pytest.raises(schedspec.SpecError, match=message):
        schedspec.to_torch(spec, make(opt_kind))
    # the lr alone is still possible, by asking for no other hyperparameter
    schedspec.to_torch(spec, make(opt_kind), hparams=[])


def test_keras_optimizer_constant_hyperparameters_and_clear_errors():
    keras = pytest.importorskip("keras")
    from schedspec.adapters.keras import optimizer

    spec = schedspec.loads(
        "schedspec: 1\nlr: {kind: step, start: 0.1, every: 10}\nmomentum: 0.9\nweight_decay: 1.0e-4\n"
    )
    opt = optimizer(spec, keras.optimizers.SGD)
    assert opt.momentum == pytest.approx(0.9) and opt.weight_decay == pytest.approx(1e-4)
    assert float(opt.learning_rate) == pytest.approx(0.1)
    with pytest.raises(schedspec.SpecError, match=r"`momentum` changes over time, but Keras optimizers take a schedule "
                                                  r"only for the learning rate"):  # fmt: skip
        optimizer(onecycle_spec(100, 0.3, "cos", False), keras.optimizers.SGD)
    with pytest.raises(schedspec.SpecError, match=r"`momentum`: Adam has no argument 'momentum'"):
        optimizer(spec, keras.optimizers.Adam)
    with pytest.raises(schedspec.SpecError, match=r"`groups`: a Keras optimizer has no parameter groups"):
        optimizer({"schedspec": 1, "lr": 0.1, "groups": {"head": {"scale": 2.0}}}, keras.optimizers.SGD)


# ------------------------------------------------------------------------------------------------ groups
GROUPS = """\
schedspec: 1
lr:
  - {kind: linear, duration: 10, start: 0.0, end: 0.1}
  - {kind: cosine, duration: 90, end: 0.0}
weight_decay: 1.0e-4
groups:
  backbone: {scale: 0.1}
  head:
    lr: [{kind: constant, value: 0.05, duration: 50}, {kind: constant, value: 0.005}]
    weight_decay: 0
"""


def test_torch_groups_by_name_and_by_index():
    spec = schedspec.loads(GROUPS, "groups.yaml")
    ps = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(3)]
    opt = torch.optim.SGD([{"params": [ps[0]], "name": "backbone"}, {"params": [ps[1]], "name": "head"},
                           {"params": [ps[2]]}], lr=0.1)  # fmt: skip
    sched = schedspec.to_torch(spec, opt)
    lrs, wds, deltas = [], [], []
    for _ in range(100):
        lrs.append([g["lr"] for g in opt.param_groups])
        wds.append([g["weight_decay"] for g in opt.param_groups])
        before = [float(p.detach()[0]) for p in ps]
        opt.zero_grad()
        for p in ps:
            p.grad = torch.ones_like(p)
        opt.step()
        deltas.append([b - float(p.detach()[0]) for b, p in zip(before, ps)])
        sched.step()
    lrs, wds, deltas = map(np.asarray, (lrs, wds, deltas))
    k = np.arange(100)
    top = schedspec.evaluate(spec, k, dtype="float64")
    assert_close(lrs[:, 0], schedspec.evaluate(spec, k, dtype="float64", group="backbone"), what="backbone")
    assert_close(lrs[:, 0], 0.1 * top, what="backbone = 0.1 x lr")
    assert_close(lrs[:, 1], np.where(k < 50, 0.05, 0.005), what="head")
    assert_close(lrs[:, 2], top, what="an unnamed group gets the document's lr")
    assert (wds[:, 1] == 0).all() and (wds[:, [0, 2]] == 1e-4).all()
    # what SGD applied (weight decay included: grad + wd * p)
    assert_close(deltas[:, 1], lrs[:, 1], rel=1e-9, what="head applied")
    # by index, for param groups without a name
    opt = torch.optim.SGD([{"params": [ps[0]]}, {"params": [ps[1]]}], lr=0.1)
    sched = schedspec.to_torch(spec, opt, groups={"backbone": 0, "head": 1})
    assert [g["lr"] for g in opt.param_groups] == [0.0, 0.05]


def test_group_errors():
    spec = schedspec.loads(GROUPS, "groups.yaml")
    opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "name": "backbone"}], lr=0.1)
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.to_torch(spec, opt)
    assert str(err.value).startswith("groups.yaml:8:3: group `head`: no param group of the torch optimizer carries "
                                     "\"name\": 'head' (their names: backbone)")  # fmt: skip
    with pytest.raises(schedspec.SpecError, match=r"groups=\{'haed': ...\}: the spec defines no group 'haed'; did you "
                                                  r"mean 'head'"):  # fmt: skip
        schedspec.to_torch(spec, opt, groups={"haed": 0})
    with pytest.raises(
        schedspec.SpecError, match=r"group `head`: `momentun` is not a hyperparameter of the document"
    ):
        schedspec.loads("schedspec: 1\nlr: 0.1\ngroups:\n  head: {momentun: 0.9}\n")
    with pytest.raises(schedspec.SpecError, match="the spec has no group 'neck'"):
        schedspec.evaluate(spec, [0], group="neck")


def test_optax_multi_transform_by_labels():
    optax = pytest.importorskip("optax")
    import jax
    import jax.numpy as jnp

    import schedspec.adapters.optax as so

    spec = schedspec.loads(GROUPS)
    with pytest.raises(schedspec.SpecError, match=r"<string>:5:1: `weight_decay`: optax.sgd has no argument"):
        so.multi_transform(spec, optax.sgd, {})
    spec = schedspec.loads(GROUPS.replace("weight_decay: 1.0e-4\n", "").replace("    weight_decay: 0\n", ""))
    params = {"backbone": jnp.zeros(()), "head": jnp.zeros(()), "other": jnp.zeros(())}
    labels = {"backbone": "backbone", "head": "head", "other": "default"}
    tx = so.multi_transform(spec, optax.sgd, labels)
    state = tx.init(params)
    update = jax.jit(tx.update)
    applied = []
    for _ in range(100):
        u, state = update(jax.tree_util.tree_map(jnp.ones_like, params), state, params)
        applied.append([-float(u[n]) for n in ("backbone", "head", "other")])
    applied = np.asarray(applied)
    k = np.arange(100)
    for i, group in enumerate(("backbone", "head", None)):
        assert_f32(applied[:, i], schedspec.evaluate(spec, k, dtype="float64", group=group), f"optax {group}")
    with pytest.raises(schedspec.SpecError, match=r"group `head`: no parameter carries the label 'head'"):
        so.multi_transform(spec, optax.sgd, {"a": "backbone", "b": "default"}).init({"a": 0.0, "b": 0.0})


def test_groups_with_a_plateau_report_once_for_all():
    """A plateau scaled per group: one report reaches every group's state (torch and optax)."""
    optax = pytest.importorskip("optax")
    import jax.numpy as jnp

    import schedspec.adapters.optax as so

    text = ("schedspec: 1\ninterval: epoch\nsteps_per_epoch: 1\nlr: {kind: plateau, start: 0.1, monitor: val_loss, "
            "patience: 0, factor: 0.5}\ngroups:\n  backbone: {scale: 0.1}\n")  # fmt: skip
    spec = schedspec.loads(text)
    metrics = [1.0, 1.0, 0.5, 0.5, 0.5]
    ref = schedspec.evaluate(spec, np.arange(5), metrics={"val_loss": metrics}, dtype="float64")
    opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "name": "backbone"},
                           {"params": [torch.nn.Parameter(torch.zeros(1))]}], lr=0.1)  # fmt: skip
    sched = schedspec.to_torch(spec, opt)
    got = []
    for m in metrics:
        got.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step(metrics=m)
    assert_close(np.asarray(got)[:, 0], 0.1 * ref, what="torch backbone")
    assert_close(np.asarray(got)[:, 1], ref, what="torch default")
    params = {"a": jnp.zeros(()), "b": jnp.zeros(())}
    tx = so.multi_transform(spec, optax.sgd, {"a": "backbone", "b": "default"}, max_reports=5)
    state = tx.init(params)
    used = []
    for m in metrics:
        u, state = tx.update({"a": jnp.ones(()), "b": jnp.ones(())}, state, params)
        used.append([-float(u["a"]), -float(u["b"])])
        state = so.report(state, "val_loss", m)
    assert_f32(np.asarray(used)[:, 0], 0.1 * ref, "optax backbone")
    assert_f32(np.asarray(used)[:, 1], ref, "optax default")


# ------------------------------------------------------------------------------- one group's schedule only
ONE_GROUP = """\
schedspec: 1
vars: {peak: [0.1, 0.2], w: [1, 2], g_lr: [0.05, 0.07]}
lr: {kind: plateau, start: $peak, monitor: a, every: 1, duration: 3}
groups:
  g:
    lr: {kind: constant, value: $g_lr}
  h:
    lr: {kind: constant, value: $w}
"""


def _one_group_values(entry, spec, vars):
    """Update/step 0..3 of group ``g``'s lr through ``entry``, with ``vars``."""
    steps = np.arange(4)
    if entry == "evaluate":
        return schedspec.evaluate(spec.with_vars(vars) if vars else spec, steps, group="g", dtype="float64")
    if entry == "to_jax":
        return np.asarray(schedspec.to_jax(spec.with_vars(vars) if vars else spec, group="g")(steps))
    so = pytest.importorskip("schedspec.adapters.optax")
    if entry == "to_optax":
        return np.asarray(so.to_optax(spec, vars=vars, group="g")(steps))
    optax = pytest.importorskip("optax")
    tx = so.inject(spec, optax.sgd, vars=vars, group="g")
    return np.full(4, float(tx.init({"w": np.zeros((), np.float32)}).hyperparams["learning_rate"]))


@pytest.mark.parametrize("entry", ["evaluate", "to_jax", "to_optax", "inject"])
def test_one_groups_schedule_is_checked_for_what_that_group_runs(entry):
    """A target of one group (``group="g"``) runs g's own ``lr``, never the document's or another group's: the
    document's plateau and sweep var ``$peak`` and group h's ``$w`` are not refused (they were by to_optax and
    inject, which read the document's ``lr``); g's own sweep var is (named as g's), and a member of it runs."""
    spec = schedspec.loads(ONE_GROUP, "one.yaml")
    values = _one_group_values(entry, spec, {"g_lr": 0.07})  # evaluate: every member of the sweep over $peak, $w
    assert values.shape[-1] == 4
    np.testing.assert_allclose(values, np.full(values.shape, 0.07), rtol=1e-6)
    if entry in ("evaluate", "to_jax"):
        return  # a sweep evaluates every member
    with pytest.raises(schedspec.SpecError) as err:
        _one_group_values(entry, spec, None)
    assert [(i.line, i.col) for i in err.value.issues] == [(2, 43)], err.value
    assert "group `g` `lr` uses the sweep var $g_lr" in str(err.value) and "$peak" not in str(err.value)
