"""``schedspec.adapters.optax.current_lr(state)`` (issue 12 §4): the lr the next update will use, read from the
optimizer state alone, checked against the lr each following update actually used (``state.hyperparams`` after
it, and the update optax.sgd applied: ``-update`` for a gradient of 1), bit for bit.

States: ``optax.inject_hyperparams(opt)(learning_rate=to_optax(spec))``, ``inject`` (with and without a plateau,
inside ``optax.chain`` and ``optax.MultiSteps``, before and after ``report``), ``multi_transform`` (per group),
a Flax ``nnx.Optimizer``'s ``opt_state`` (real Flax where installed, and always a faithful mirror), a state
pickled and loaded again.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import schedspec

optax = pytest.importorskip("optax")
jax = pytest.importorskip("jax")
jnp = jax.numpy
so = pytest.importorskip("schedspec.adapters.optax")

WARM_COS = {"schedspec": 1, "total": 40,
            "lr": [{"kind": "linear", "duration": 8, "start": 0.0, "end": 0.1}, {"kind": "cosine", "end": 0.001}]}  # fmt: skip
PLATEAU = {"schedspec": 1, "interval": "epoch", "steps_per_epoch": 2, "total": 10,
           "lr": [{"kind": "linear", "duration": 2, "start": 0.0, "end": 0.1},
                  {"kind": "plateau", "duration": 6, "monitor": "val_loss", "patience": 0, "factor": 0.5},
                  {"kind": "cosine", "end": 0.0}]}  # fmt: skip
METRICS = [3.0, 2.0, 1.0, 1.0, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0]
# numpy, not jax arrays: a jax computation at import starts XLA threads, and a process forked from one that ran
# them can deadlock (tests/mutation/run.py forks a worker per mutant from the process that collected the tests)
PARAMS = {"w": np.zeros((), np.float32)}
ONE = {"w": np.ones((), np.float32)}


def follow(tx, n, *, report_every=None, path=lambda s: s, jit=True):
    """Run ``n`` updates of ``tx`` (gradient 1); before each, ``current_lr(state)``; after each, the lr the update
    applied (``-update``) and, every ``report_every`` updates, ``report(state, "val_loss", METRICS[...])``."""
    state = tx.init(PARAMS)
    update = jax.jit(tx.update) if jit else tx.update
    read = jax.jit(so.current_lr) if jit else so.current_lr
    report = jax.jit(so.report, static_argnums=1) if jit else so.report
    predicted, applied = [], []
    for k in range(n):
        predicted.append(float(read(state)))
        u, state = update(ONE, state, PARAMS)
        applied.append(-float(u["w"]))
        if report_every and (k + 1) % report_every == 0:
            state = report(state, "val_loss", METRICS[k // report_every])
    return predicted, applied, state


def test_inject_hyperparams_of_to_optax():
    """The bare optax route: optax.inject_hyperparams(optax.sgd)(learning_rate=to_optax(spec)). state.hyperparams
    holds the lr of the last update (update 0's after init); current_lr the next one's: value(count)."""
    sched = schedspec.to_optax(WARM_COS)
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=sched)
    predicted, applied, state = follow(tx, 40)
    assert predicted == applied
    assert predicted == [float(jax.jit(sched)(k)) for k in range(40)]
    assert float(state.hyperparams["learning_rate"]) == applied[-1]  # the last update's
    assert float(so.current_lr(state)) == float(sched(40)) != applied[-1]  # the next one's
    assert isinstance(state.hyperparams_states["learning_rate"], so.ScheduleState)


def test_inject_inside_chain_and_multisteps():
    tx = optax.chain(optax.clip(1e9), so.inject(WARM_COS, optax.sgd))
    predicted, applied, _ = follow(tx, 40)
    assert predicted == applied
    ref = np.asarray(schedspec.evaluate(WARM_COS, np.arange(40)), np.float32)
    np.testing.assert_allclose(predicted, ref, rtol=1e-6, atol=1e-9)
    # with momentum (another hyperparameter schedule) the lr is the one inject_hyperparams records next
    tx = optax.chain(optax.clip(1e9), so.inject({**WARM_COS, "momentum": 0.9}, optax.sgd))
    state = tx.init(PARAMS)
    for _ in range(12):
        nxt = float(so.current_lr(state))
        _, state = tx.update(ONE, state, PARAMS)
        assert float(state[1].hyperparams["learning_rate"]) == nxt
    # MultiSteps (gradient accumulation): the count is the real updates', so current_lr is the next real one's
    tx = optax.MultiSteps(so.inject(WARM_COS, optax.sgd), every_k_schedule=3)
    state, update = tx.init(PARAMS), jax.jit(tx.update)
    for micro in range(30):
        nxt = float(so.current_lr(state))
        u, state = update(ONE, state, PARAMS)
        if micro % 3 == 2:  # a real update (of the mean gradient, 1): it used the lr read before it
            assert -float(u["w"]) == nxt == float(schedspec.to_optax(WARM_COS)(micro // 3))


def test_plateau_inject_before_and_after_report():
    """With a plateau the next lr depends on the reports: after report(...) current_lr is the reduced value the
    next update uses; an update whose lr waits for a report not made is NaN, and so is current_lr."""
    tx = so.inject(PLATEAU, optax.sgd)
    predicted, applied, state = follow(tx, 20, report_every=2)
    assert predicted == applied
    per_epoch = [0.0, 0.05, 0.1, 0.1, 0.05, 0.05, 0.025, 0.0125, 0.00625, 0.003125]
    np.testing.assert_array_equal(predicted, np.repeat(np.float32(per_epoch), 2).astype(np.float64))
    state = tx.init(PARAMS)
    for _ in range(6):  # epochs 0..2; no report made
        _, state = tx.update(ONE, state, PARAMS)
    assert math.isnan(float(so.current_lr(state)))  # epoch 3 needs the report of epoch 2
    state = so.report(so.report(so.report(state, "val_loss", 3.0), "val_loss", 2.0), "val_loss", 1.0)
    assert float(so.current_lr(state)) == np.float32(0.1)


def test_multi_transform_reads_each_group():
    spec = {**WARM_COS, "groups": {"backbone": {"scale": 0.1}, "head": {"lr": {"kind": "constant", "value": 0.3}}}}
    labels = {"a": "backbone", "b": "head", "c": "default"}
    params = {k: jnp.zeros((), jnp.float32) for k in labels}
    tx = so.multi_transform(spec, optax.sgd, labels)
    state, update = tx.init(params), jax.jit(tx.update)
    assert float(so.current_lr(state)) == float(so.current_lr(state, group=None))  # the document's ("default")
    with pytest.raises(ValueError, match=r"group='neck'.*no learning-rate schedule"):
        so.current_lr(state, group="neck")
    read = jax.jit(so.current_lr, static_argnames="group")  # jitted as the update is: the same XLA rounding
    for _ in range(12):
        nxt = {lab: float(read(state, group=None if lab == "default" else lab)) for lab in labels.values()}
        u, state = update({k: jnp.ones((), jnp.float32) for k in labels}, state, params)
        assert {labels[name]: -float(v) for name, v in u.items()} == nxt
    assert nxt["head"] == np.float32(0.3)
    assert nxt["backbone"] == pytest.approx(0.1 * nxt["default"], rel=1e-6)


class _Box:
    """Flax ``nnx.Optimizer`` holds ``opt_state`` with every array leaf in an ``OptArray`` variable (``to_opt_state``),
    unwrapped by ``nnx.as_pure`` before ``tx.update`` and written back in place by ``nnx.update``: this mirror does
    the same with ``get_value``/``set_value``."""

    def __init__(self, value):
        self.value = value

    def get_value(self):
        return self.value

    def set_value(self, value):
        self.value = value


jax.tree_util.register_pytree_node(_Box, lambda b: ((b.value,), None), lambda _, c: _Box(c[0]))


def _nnx_lrs(kind, tx, n=20, report_every=None):
    """(current_lr before each update, the lr it applied) for ``tx`` held by nnx.Optimizer or its mirror."""
    predicted, applied = [], []
    if kind == "flax":
        from flax import nnx

        class Model(nnx.Module):
            def __init__(self):
                self.w = nnx.Param(jnp.zeros((), jnp.float32))

        model = Model()
        opt = nnx.Optimizer(model, tx, wrt=nnx.Param)
    else:
        params = dict(PARAMS)
        boxed = jax.tree_util.tree_map(_Box, tx.init(params))
    for k in range(n):
        if kind == "flax":
            state = opt.opt_state
            predicted.append(float(so.current_lr(state)))
            u = opt.update(model, jax.tree_util.tree_map(lambda _: jnp.ones((), jnp.float32), nnx.state(model, nnx.Param)))
            applied.append(-float(jax.tree_util.tree_leaves(u)[0]))
        else:
            state = boxed
            predicted.append(float(so.current_lr(state)))
            pure = jax.tree_util.tree_map(lambda b: b.get_value(), boxed, is_leaf=lambda x: isinstance(x, _Box))
            u, new = tx.update(ONE, pure, params)
            jax.tree_util.tree_map(lambda b, v: b.set_value(v), boxed, new, is_leaf=lambda x: isinstance(x, _Box))
            applied.append(-float(u["w"]))
        if report_every and (k + 1) % report_every == 0:
            so.report(state, "val_loss", METRICS[k // report_every])
    return predicted, applied


@pytest.mark.parametrize("kind", ["mirror", "flax"])
@pytest.mark.parametrize("build", ["inject_hyperparams", "inject", "inject plateau"])
def test_inside_a_flax_nnx_optimizer(kind, build):
    if kind == "flax":
        pytest.importorskip("flax.nnx")
    if build == "inject_hyperparams":
        tx, every = optax.inject_hyperparams(optax.sgd)(learning_rate=schedspec.to_optax(WARM_COS)), None
    elif build == "inject":
        tx, every = so.inject(WARM_COS, optax.sgd), None
    else:
        tx, every = so.inject(PLATEAU, optax.sgd), 2
    predicted, applied = _nnx_lrs(kind, tx, report_every=every)
    assert predicted == applied
    reference, _, _ = follow(tx, 20, report_every=every, jit=False)
    assert predicted == reference


def test_a_pickled_state_still_names_its_schedule():
    """A checkpoint (pickle of the state, or its leaves put back on a fresh init's structure) keeps what
    current_lr needs: the schedule is described in the state's static aux data and built again when loaded."""
    sched = schedspec.to_optax(WARM_COS)
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=sched)
    state = tx.init(PARAMS)
    for _ in range(11):
        _, state = tx.update(ONE, state, PARAMS)
    loaded = pickle.loads(pickle.dumps(jax.device_get(state)))
    key = loaded.hyperparams_states["learning_rate"].key
    assert key == sched.key and key._fn is None  # built again from the (pickled) bound spec
    assert float(so.current_lr(loaded)) == float(sched(11))
    leaves = jax.tree_util.tree_leaves(state)
    again = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(tx.init(PARAMS)), leaves)
    assert float(so.current_lr(again)) == float(sched(11))


def test_a_state_without_a_readable_schedule_is_refused():
    tx = optax.chain(so.inject(WARM_COS, optax.sgd), so.inject(WARM_COS, optax.sgd))
    with pytest.raises(ValueError, match=r"several learning-rate schedules of that group \(it has: None"):
        so.current_lr(tx.init(PARAMS))
    tx = optax.sgd(learning_rate=schedspec.to_optax(WARM_COS))  # the schedule lives in the closure only
    with pytest.raises(ValueError, match=r"no schedspec learning-rate schedule in this optimizer state"):
        so.current_lr(tx.init(PARAMS))
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)
    with pytest.raises(ValueError, match=r"inject_hyperparams\(opt\)\(learning_rate=schedspec.to_optax\(spec\)\)"):
        so.current_lr(tx.init(PARAMS))
