"""Tests written to kill surviving mutants of ``adapters/optax.py`` (issue 14, item 1).

What the adapter's own tests did not pin: :func:`inject` of an epoch spec without a plateau (the count divided by
``steps_per_epoch``), :func:`multi_transform`'s ``vars``, ``max_reports``, fixed optimizer arguments and label
function, its refusals word for word and at their positions, the open-ended plateau's message, the keys and
states that pickles and pytrees carry. Every value is compared with ``schedspec.evaluate`` (float64) at the count
the update used.
"""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest

import schedspec

optax = pytest.importorskip("optax")
jax = pytest.importorskip("jax")
so = pytest.importorskip("schedspec.adapters.optax")


def _used(tx, params, n, read, reports=None):
    """``read(state)`` after each of updates 0..n-1 (gradient 1, jitted), i.e. what each update used; ``reports``:
    ``{name: values}``, report ``j`` made after update ``(j + 1) * every - 1`` (``every`` 2)."""
    jnp = jax.numpy
    state = tx.init(params)
    grads = jax.tree_util.tree_map(jnp.ones_like, params)
    update = jax.jit(lambda s: tx.update(grads, s, params)[1])
    out = []
    for k in range(n):
        state = update(state)
        out.append(jax.device_get(read(state)))
        if reports and (k + 1) % 2 == 0:
            for name, values in reports.items():
                state = so.report(state, name, values[(k + 1) // 2 - 1])
    return out


EPOCHS = """\
schedspec: 1
interval: epoch
steps_per_epoch: 2
lr: {kind: step, start: 0.1, every: 1, gamma: 0.5}
momentum: {kind: linear, duration: 4, start: 0.5, end: 0.9}
"""


def test_inject_of_an_epoch_spec_without_a_plateau_uses_the_epoch_of_each_update():
    """Update ``k`` of an ``interval: epoch`` spec uses ``value(k // steps_per_epoch)``, for every hyperparameter
    (``steps_per_epoch`` 2: a count left undivided, or divided only when it is not 2, differs from update 1)."""
    spec = schedspec.loads(EPOCHS)
    used = _used(so.inject(spec, optax.sgd), {"w": np.zeros((), np.float32)}, 12, lambda s: s.hyperparams)
    epochs = np.arange(12) // 2
    for arg, hp in (("learning_rate", "lr"), ("momentum", "momentum")):
        want = schedspec.evaluate(spec, epochs, hparam=hp, dtype="float64")
        np.testing.assert_allclose([u[arg] for u in used], want, rtol=1e-6, err_msg=arg)


GROUPS = """\
schedspec: 1
vars:
  peak: [0.1, 0.2]
lr:
  - {kind: constant, value: $peak, duration: 2}
  - {kind: plateau, monitor: val_loss, every: 2, patience: 0, factor: 0.5}
groups:
  head: {scale: 2.0}
  body:
    lr: {kind: plateau, start: 0.3, monitor: val_loss, every: 2, patience: 0, factor: 0.1}
"""

LOSSES = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]


def test_multi_transform_passes_vars_max_reports_and_fixed_arguments_to_every_group():
    """A sweep member (``vars``), the buffer size of open-ended plateaus (``max_reports``: required, none ends)
    and a fixed argument of the optimizer (``momentum=0.9``) reach the transformation of every label, and the
    labels may be a function of the params: each label's update uses its group's schedule."""
    spec = schedspec.loads(GROUPS, "groups.yaml")
    params = {"h": np.zeros((), np.float32), "b": np.zeros((), np.float32), "o": np.zeros((), np.float32)}
    labels = {"h": "head", "b": "body", "o": "default"}
    tx = so.multi_transform(spec, optax.sgd, lambda p: {k: labels[k] for k in p}, vars={"peak": 0.2},
                            max_reports=6, momentum=0.9)  # fmt: skip
    n = 12
    used = _used(tx, params, n, lambda s: {lab: s.inner_states[lab].inner_state.hyperparams for lab in
                                           ("head", "body", "default")}, {"val_loss": LOSSES})  # fmt: skip
    k = np.arange(n)
    for lab, group in (("head", "head"), ("body", "body"), ("default", None)):
        want = schedspec.evaluate(spec, k, vars={"peak": 0.2}, metrics={"val_loss": LOSSES}, group=group,
                                  dtype="float64")  # fmt: skip
        np.testing.assert_allclose([u[lab]["learning_rate"] for u in used], want, rtol=1e-6, err_msg=lab)
        assert [float(u[lab]["momentum"]) for u in used] == pytest.approx([0.9] * n), lab
    with pytest.raises(schedspec.SpecError, match="never ends"):
        so.multi_transform(spec, optax.sgd, labels, vars={"peak": 0.2})


def test_multi_transform_refusals_are_exact_and_positioned():
    """A group named ``default`` is refused at its own key (the second group here: a path that missed it would
    fall back to the first group's line), and the first group no parameter carries is named with every label
    seen (sorted as text: an int label is allowed)."""
    spec = schedspec.loads("schedspec: 1\nlr: 0.1\ngroups:\n  a: {scale: 0.5}\n  default: {scale: 0.5}\n", "g.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        so.multi_transform(spec, optax.sgd, {"w": "default"})
    (issue,) = err.value.issues
    assert str(issue) == ("g.yaml:5:3: group `default`: multi_transform gives the label 'default' to the parameters "
                          "outside every group (the document's schedules); rename the group")  # fmt: skip
    assert issue.path == "groups.default"

    spec = schedspec.loads("schedspec: 1\nlr: 0.1\ngroups:\n  head: {scale: 0.5}\n  body: {scale: 0.5}\n"
                           "  tail: {scale: 0.5}\n", "m.yaml")  # fmt: skip
    tx = so.multi_transform(spec, optax.sgd, lambda p: {"b": "body", "x": 3})
    with pytest.raises(schedspec.SpecError) as err:
        tx.init({"b": np.zeros(()), "x": np.zeros(())})
    (issue,) = err.value.issues
    assert str(issue) == "m.yaml:4:3: group `head`: no parameter carries the label 'head' (labels: 3, body)"
    assert issue.path == "groups.head"


def test_an_open_ended_plateau_is_refused_with_the_whole_message_at_each_plateau():
    """Every plateau that never ends is named (the second here: one that ends is skipped, not a stop), in a
    group's own schedule too, with the whole advice."""
    text = ("schedspec: 1\nlr:\n  - {kind: plateau, start: 0.1, duration: 4, monitor: a, every: 1}\n"
            "  - {kind: plateau, monitor: b, every: 1}\ngroups:\n  g:\n    lr: {kind: plateau, start: 0.2, monitor: a, every: 1}\n")  # fmt: skip
    spec = schedspec.loads(text, "open.yaml")
    advice = ("this `plateau` never ends, so it consumes metric reports forever and inject cannot size the report "
              "buffers of the optimizer state: pass max_reports=N (how many reports training makes), or give the "
              "plateau a `duration` or the spec a `total`")  # fmt: skip
    with pytest.raises(schedspec.SpecError) as err:
        so.inject(spec, optax.sgd)
    assert [str(i) for i in err.value.issues] == [f"open.yaml:4:5: lr[1]: {advice}"]
    with pytest.raises(schedspec.SpecError) as err:
        so.inject(spec, optax.sgd, group="g")
    assert [str(i) for i in err.value.issues] == [f"open.yaml:7:9: groups.g.lr: {advice}"]


def test_to_optax_of_an_epoch_spec_divides_the_count_and_checks_it_first():
    """``steps_per_epoch`` 2: update ``k`` uses epoch ``k // 2``; a count is checked as an update index before the
    division (``2**31 // 2`` would be a valid epoch)."""
    spec = schedspec.loads(EPOCHS)
    sched = schedspec.to_optax(spec)
    k = np.arange(12)
    np.testing.assert_allclose(sched(k), schedspec.evaluate(spec, k // 2, dtype="float64"), rtol=1e-6)
    with pytest.raises(ValueError, match=r"k must be in \[0, 2\*\*31-1\]"):
        sched(2**31)


GROUP_SPEC = """\
schedspec: 1
lr: [{kind: linear, duration: 10, start: 0.0, end: 0.1}, {kind: constant, value: 0.1}]
groups:
  head: {lr: {kind: step, start: 0.3, every: 3, gamma: 0.5}}
"""


def _inject_key(spec):
    """The key of the learning-rate schedule of ``inject`` without a plateau (in its inject_hyperparams state)."""
    return so.inject(spec, optax.sgd).init({"w": np.zeros((), np.float32)}).hyperparams_states["learning_rate"].key


def test_schedule_keys_are_equal_exactly_when_they_describe_the_same_schedule():
    """The pytree aux data of a :class:`ScheduleState`: jit caches on it, a checkpoint compares it. Keys of the
    same spec, hparam and group are equal with equal hashes; another spec, group or kind is another key; a key
    survives pickling (built again, a group's schedule included) and says what it is."""
    spec, other = schedspec.loads(GROUP_SPEC), schedspec.loads(GROUP_SPEC.replace("0.3", "0.4").replace("duration: 10", "duration: 12"))
    a, b = schedspec.to_optax(spec).key, schedspec.to_optax(spec).key
    assert a == b and hash(a) == hash(b)
    distinct = [a, schedspec.to_optax(other).key, schedspec.to_optax(spec, group="head").key,
                schedspec.to_optax(other, group="head").key, _inject_key(spec), _inject_key(other)]  # fmt: skip
    for i, x in enumerate(distinct):
        for j, y in enumerate(distinct):
            assert (x == y) == (i == j), (x, y)
    assert x != "not a key"
    assert len({hash(x) for x in distinct}) == len(distinct)
    assert _inject_key(spec) == _inject_key(spec) and hash(_inject_key(spec)) == hash(_inject_key(spec))
    assert (repr(a), repr(distinct[2])) == ("<schedule 'lr'>", "<schedule 'lr' of group 'head'>")
    head = schedspec.to_optax(spec, group="head")
    loaded = pickle.loads(pickle.dumps(head))
    assert loaded.key._fn is None and loaded.key._ident is None and loaded.key == head.key
    k = np.arange(12)
    np.testing.assert_array_equal(loaded(k), head(k))
    np.testing.assert_allclose(loaded(k), 0.3 * 0.5 ** (k // 3), rtol=1e-6)


def test_a_schedules_optax_state_counts_in_int32_and_saturates():
    """optax's count: int32 from 0, saturating at the int32 maximum (one short of it plus one, then held)."""
    sched = schedspec.to_optax(schedspec.loads(GROUP_SPEC))
    state = sched.init()
    assert state.count.dtype == np.int32 and int(state.count) == 0
    top = np.iinfo(np.int32).max
    for start, want in ((0, 1), (top - 2, top - 1), (top - 1, top), (top, top)):
        assert int(sched.update(so.ScheduleState(np.int32(start), sched.key)).count) == want, start


PLATEAU_SPEC = """\
schedspec: 1
lr:
  - {kind: constant, value: 0.2, duration: 2}
  - {kind: plateau, duration: 8, monitor: val_loss, every: 2, patience: 0, factor: 0.5}
"""


def _plateaus(text):
    return so.inject(schedspec.loads(text), optax.sgd).init({"w": np.zeros((), np.float32)}).key


def test_plateau_keys_compare_hash_pickle_and_read_old_pickles():
    """:class:`Plateaus` (a plateau state's aux data) is equal and hashes equal for the same plateaus, differs for
    others, round-trips through pickle, and reads a state pickled before it kept schedules, divisor and group
    (three fields: the rest take their defaults)."""
    a, b = _plateaus(PLATEAU_SPEC), _plateaus(PLATEAU_SPEC)
    c = _plateaus(PLATEAU_SPEC.replace("factor: 0.5", "factor: 0.25"))
    assert a == b and hash(a) == hash(b) and a != c and hash(a) != hash(c) and a != "not plateaus"
    assert pickle.loads(pickle.dumps(a)) == a
    assert repr(a) == "Plateaus(metrics=['val_loss'], plateaus=1, capacity=5)"
    old = so.Plateaus.__new__(so.Plateaus)
    old.__setstate__([a.sites, a.names, a.capacity])
    assert (old.sites, old.names, old.capacity, old.schedules, old.divisor, old.group) == (
        a.sites, a.names, 5, (), 1, None)  # fmt: skip
    new = so.Plateaus.__new__(so.Plateaus)
    new.__setstate__(a.__getstate__())
    assert new == a and new.schedules == a.schedules and len(a.schedules) == 1


def test_current_lr_refusals_say_what_the_state_has():
    """No schedule; ``group=None`` where the state has no document's schedule or several (the hint to pass
    ``group=``); a group the state lacks, or several of it; each message is exact. ``group=None`` picks the
    document's schedule among others, and the one schedule of a state whatever its group."""
    params, spec = {"w": np.zeros((), np.float32)}, schedspec.loads(GROUP_SPEC)
    with pytest.raises(ValueError) as err:
        so.current_lr(optax.sgd(0.1).init(params))
    assert str(err.value) == (
        "no schedspec learning-rate schedule in this optimizer state: build the optimizer with "
        "schedspec.adapters.optax.inject(spec, opt) (or multi_transform), or with "
        "optax.inject_hyperparams(opt)(learning_rate=schedspec.to_optax(spec))")  # fmt: skip
    two = optax.chain(so.inject(spec, optax.sgd), so.inject(spec, optax.sgd, group="head"))
    state = two.init(params)
    assert (float(so.current_lr(state)), float(so.current_lr(state, group="head"))) == pytest.approx((0.0, 0.3))
    both = schedspec.loads(GROUP_SPEC + "  tail: {scale: 0.5}\n")
    heads = optax.chain(so.inject(both, optax.sgd, group="head"), so.inject(both, optax.sgd, group="tail"))
    with pytest.raises(ValueError) as err:
        so.current_lr(heads.init(params))
    assert str(err.value) == ("current_lr(state, group=None): the state has no learning-rate schedule of that group "
                              "(it has: 'head', 'tail'); pass group=")  # fmt: skip
    with pytest.raises(ValueError) as err:
        so.current_lr(optax.chain(so.inject(spec, optax.sgd), so.inject(spec, optax.sgd)).init(params))
    assert str(err.value) == ("current_lr(state, group=None): the state has several learning-rate schedules of that "
                              "group (it has: None (the document's)); pass group=")  # fmt: skip
    with pytest.raises(ValueError) as err:
        so.current_lr(state, group="tail")
    assert str(err.value) == ("current_lr(state, group='tail'): the state has no learning-rate schedule of that "
                              "group (it has: None (the document's), 'head')")  # fmt: skip
    same = optax.chain(so.inject(spec, optax.sgd, group="head"), so.inject(spec, optax.sgd, group="head"))
    with pytest.raises(ValueError) as err:
        so.current_lr(same.init(params), group="head")
    assert str(err.value) == ("current_lr(state, group='head'): the state has several learning-rate schedules of "
                              "that group (it has: 'head')")  # fmt: skip
    one = so.inject(spec, optax.sgd, group="head").init(params)
    assert float(so.current_lr(one)) == pytest.approx(0.3)
    with pytest.raises(ValueError) as err:
        so.current_lr(so.inject(spec, optax.sgd).init(params), group="head")
    assert str(err.value) == ("current_lr(state, group='head'): the state has no learning-rate schedule of that "
                              "group (it has: None (the document's))")  # fmt: skip


GROUP_VARS = """\
name: grouped
schedspec: 1
vars:
  hp: [0.3, 0.4]
lr: 0.1
groups:
  head:
    lr: {kind: step, start: $hp, every: 3, gamma: 0.5}
  body:
    lr: [{kind: constant, value: 0.2, duration: 2}, {kind: plateau, monitor: val_loss, every: 2, duration: 4}]
"""


def test_to_optax_of_a_group_checks_that_groups_sweep_vars_and_plateaus():
    """``group=`` runs the group's own schedule, so its sweep vars and plateaus are checked, at their positions and
    with the way out; the document's schedule, which uses neither, needs no member."""
    spec = schedspec.loads(GROUP_VARS, "s.yaml")
    sched = schedspec.to_optax(spec)
    assert float(sched(0)) == pytest.approx(0.1)
    assert sched.__doc__ == "schedspec schedule 'grouped' (lr) as an optax schedule: count -> value"
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.to_optax(spec, group="head")
    assert str(err.value) == ("s.yaml:4:7: group `head` `lr` uses the sweep var $hp (2 values: 0.3, 0.4), but to_optax "
                              "builds one optax schedule: pick one member with vars={'hp': 0.3} (or `--set hp=0.3` "
                              "on the command line)")  # fmt: skip
    assert float(schedspec.to_optax(spec, group="head", vars={"hp": 0.4})(3)) == pytest.approx(0.2)
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.to_optax(spec, group="body")
    assert str(err.value) == (
        "s.yaml:10:53: groups.body.lr[1]: the `plateau` kind is not supported by to_optax (optax): a plateau is "
        "driven by metric reports, which it cannot take (an optax schedule is a function of the update count only; "
        "build the optimizer with schedspec.adapters.optax.inject(spec, optax.sgd, ...), which keeps the plateau "
        "state in the optimizer state, and call schedspec.adapters.optax.report(state, name, value) at the end of "
        "each interval)")  # fmt: skip


def test_a_report_past_the_buffer_is_not_stored():
    """``max_reports`` reports are stored; one more is counted but overwrites nothing (the last stored report
    stays), and the values that would need it are not changed by it."""
    spec = schedspec.loads(PLATEAU_SPEC)
    tx = so.inject(spec, optax.sgd)
    state = tx.init({"w": np.zeros((), np.float32)})
    losses = [1.0, 2.0, 3.0, 4.0, 5.0]
    for v in losses:
        state = so.report(state, "val_loss", v)
    full = np.asarray(state.reports["val_loss"])
    assert full.tolist() == losses and int(state.nreports["val_loss"]) == 5
    after = so.report(state, "val_loss", 0.0)
    assert np.asarray(after.reports["val_loss"]).tolist() == losses and int(after.nreports["val_loss"]) == 6
    for a, b in zip(after.values, state.values):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("entry", ["to_optax", "inject", "multi_transform"])
def test_every_entry_point_names_the_extra_when_optax_is_missing(entry, monkeypatch):
    monkeypatch.setitem(sys.modules, "optax", None)  # `import optax` raises ImportError
    call = {"to_optax": lambda: so.to_optax(PLATEAU_SPEC), "inject": lambda: so.inject(PLATEAU_SPEC, None),
            "multi_transform": lambda: so.multi_transform(PLATEAU_SPEC, None, {})}[entry]  # fmt: skip
    with pytest.raises(schedspec.MissingDependency) as err:
        call()
    assert str(err.value) == "Missing optional dependency 'optax'. Install it with: pip install 'schedspec[optax]'"


def test_a_plateau_inject_state_holds_update_0s_values_after_init_and_passes_params_on():
    """As ``optax.inject_hyperparams``: after ``init``, ``state.hyperparams`` holds what update 0 uses (it held the
    placeholders 0.0 with a plateau); ``update`` passes ``params`` to the optimizer (adamw's weight decay)."""
    spec = schedspec.loads(PLATEAU_SPEC + "weight_decay: 0.5\n")
    params = {"w": np.full((), 2.0, np.float32)}
    tx = so.inject(spec, optax.adamw)
    state = tx.init(params)
    assert (float(state.hyperparams["learning_rate"]), float(state.hyperparams["weight_decay"])) == pytest.approx(
        (0.2, 0.5))  # fmt: skip
    plain = so.inject(schedspec.loads(PLATEAU_SPEC.split("  - {kind: plateau")[0] + "weight_decay: 0.5\n"), optax.adamw)
    assert float(plain.init(params).hyperparams["learning_rate"]) == pytest.approx(0.2)
    grads = {"w": np.ones((), np.float32)}
    got, _ = tx.update(grads, state, params)
    want, _ = optax.adamw(0.2, weight_decay=0.5).update(grads, optax.adamw(0.2, weight_decay=0.5).init(params), params)
    assert float(got["w"]) == pytest.approx(float(want["w"]), rel=1e-5) and float(want["w"]) != pytest.approx(-0.2)
    assert schedspec.to_optax(schedspec.loads(GROUP_SPEC)).__name__ == "schedspec_schedule"


def test_an_argument_the_optimizer_lacks_is_refused_at_the_spec_key_with_what_it_takes():
    """Each hyperparameter ``opt_fn`` does not take is named at its key (a group's own one at the group's key),
    with the optimizer's arguments, and for ``momentum`` on an Adam-like optimizer the way to write it."""
    text = ("schedspec: 1\nlr: 0.1\nmomentum: 0.9\nfoo: 1.0\ngroups:\n  head:\n    foo: 2.0\n"
            "  body: {scale: 0.5}\n")  # fmt: skip
    spec = schedspec.loads(text, "h.yaml")

    def adamish(learning_rate, b1=0.9, b2=0.999):
        return optax.adam(learning_rate, b1, b2)

    def plain(learning_rate):
        return optax.sgd(learning_rate)

    with pytest.raises(schedspec.SpecError) as err:
        so.inject(spec, adamish)
    assert [str(i) for i in err.value.issues] == [
        "h.yaml:3:1: `momentum`: optax.adamish has no argument 'momentum' (it takes: learning_rate, b1, b2); its "
        "momentum is b1: write the schedule as `beta1`",
        "h.yaml:4:1: `foo`: optax.adamish has no argument 'foo' (it takes: learning_rate, b1, b2)"]  # fmt: skip
    with pytest.raises(schedspec.SpecError) as err:
        so.inject(spec, plain, group="head")
    assert [str(i) for i in err.value.issues] == [
        "h.yaml:3:1: `momentum`: optax.plain has no argument 'momentum' (it takes: learning_rate)",
        "h.yaml:7:5: `foo`: optax.plain has no argument 'foo' (it takes: learning_rate)"]  # fmt: skip
    with pytest.raises(schedspec.SpecError) as err:
        so.inject(spec, plain, group="body")  # the document's foo: at the document's key
    assert [str(i) for i in err.value.issues][1] == "h.yaml:4:1: `foo`: optax.plain has no argument 'foo' (it takes: learning_rate)"
    with pytest.raises(schedspec.SpecError) as err:
        so.inject(spec, lambda learning_rate: optax.sgd(learning_rate))
    assert str(err.value.issues[0]).endswith("`momentum`: optax.<lambda> has no argument 'momentum' (it takes: learning_rate)")


def test_inject_names_the_group_it_lacks_and_an_argument_given_twice():
    spec = schedspec.loads(GROUP_SPEC, "g.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        so.inject(spec, optax.sgd, group="haed")
    assert str(err.value) == "g.yaml: groups: the spec has no group 'haed'; did you mean 'head'? (it has: head)"
    with pytest.raises(schedspec.SpecError) as err:
        so.inject(schedspec.loads("schedspec: 1\nlr: 0.1\n", "n.yaml"), optax.sgd, group="head")
    assert str(err.value) == "n.yaml: groups: the spec has no group 'head' (it has: none)"
    with pytest.raises(ValueError) as err:
        so.inject(spec, optax.sgd, learning_rate=0.1)
    assert str(err.value) == "learning_rate= is set by the spec's schedule; do not pass it again"


def test_inject_without_a_plateau_runs_each_group_and_member_with_the_spec_values():
    """No plateau: ``optax.inject_hyperparams`` with count schedules, per group, for a sweep member, in epochs."""
    spec = schedspec.loads(GROUP_VARS.replace("    lr: [{kind: constant, value: 0.2, duration: 2}, {kind: plateau, "
                                              "monitor: val_loss, every: 2, duration: 4}]\n", "    momentum: 0.5\n")
                           + "momentum: 0.9\ninterval: epoch\nsteps_per_epoch: 2\n")  # fmt: skip
    k = np.arange(10)
    for group in (None, "head", "body"):
        tx = so.inject(spec, optax.sgd, vars={"hp": 0.4}, group=group)
        used = _used(tx, {"w": np.zeros((), np.float32)}, 10, lambda s: s.hyperparams)
        for arg, hp in (("learning_rate", "lr"), ("momentum", "momentum")):
            want = schedspec.evaluate(spec, k // 2, hparam=hp, vars={"hp": 0.4}, group=group, dtype="float64")
            np.testing.assert_allclose([u[arg] for u in used], want, rtol=1e-6, err_msg=f"{group} {arg}")
        key = tx.init({"w": np.zeros((), np.float32)}).hyperparams_states["learning_rate"].key
        assert (key.kind, key.hparam, key.group, key.divisor) == ("node", "lr", group, 2)


def test_the_states_are_pytrees_whose_aux_data_is_the_key():
    sched = schedspec.to_optax(schedspec.loads(GROUP_SPEC))
    leaves, tree = jax.tree_util.tree_flatten(sched.init())
    assert len(leaves) == 1 and int(leaves[0]) == 0
    again = jax.tree_util.tree_unflatten(tree, [np.int32(7)])
    assert isinstance(again, so.ScheduleState) and int(again.count) == 7 and again.key == sched.key
    state = so.inject(schedspec.loads(PLATEAU_SPEC), optax.sgd).init({"w": np.zeros((), np.float32)})
    leaves, tree = jax.tree_util.tree_flatten(state)
    back = jax.tree_util.tree_unflatten(tree, leaves)
    assert isinstance(back, so.SchedSpecState) and back.key == state.key
    assert int(back.count) == 0 and set(back.reports) == {"val_loss"} and len(back.values) == 1


def test_every_hyperparameter_refused_at_once_and_a_shared_issue_once():
    """Two sweep vars in two hyperparameters and a missing ``steps_per_epoch``: one error lists the three (the
    epoch issue once, not once per hyperparameter), naming the function called."""
    text = ("schedspec: 1\nvars:\n  hp: [0.3, 0.4]\n  m: [0.5, 0.9]\nlr: {kind: step, start: $hp, every: 3}\n"
            "momentum: $m\ninterval: epoch\n")  # fmt: skip
    with pytest.raises(schedspec.SpecError) as err:
        so.inject(schedspec.loads(text, "s.yaml"), optax.sgd)
    lines = [str(i) for i in err.value.issues]
    assert [line.split(": ")[0] for line in lines] == ["s.yaml:3:7", "s.yaml:7:11", "s.yaml:4:6"]
    assert lines[2] == ("s.yaml:4:6: `momentum` uses the sweep var $m (2 values: 0.5, 0.9), but "
                        "schedspec.adapters.optax.inject builds one optax schedule: pick one member with "
                        "vars={'m': 0.5} (or `--set m=0.5` on the command line)")  # fmt: skip


def test_report_buffers_are_sized_from_total_or_checked_max_reports():
    """A plateau that never ends in a spec with ``total``: one report per ``every`` up to ``total`` (11 // 2 = 5, or
    the last report an ending plateau consumes when larger); ``max_reports`` must be an int at least that."""
    text = ("schedspec: 1\ntotal: 11\nlr:\n  - {kind: plateau, start: 0.2, duration: 2, monitor: a, every: 2}\n"
            "  - {kind: plateau, monitor: b, every: 2}\n")  # fmt: skip
    params = {"w": np.zeros((), np.float32)}
    state = so.inject(schedspec.loads(text), optax.sgd).init(params)
    assert state.key.capacity == 5 and {n: b.shape for n, b in state.reports.items()} == {"a": (5,), "b": (5,)}
    ended = text.replace("total: 11", "total: 3").replace("monitor: b, every: 2}", "monitor: b, every: 2, duration: 8}")
    assert so.inject(schedspec.loads(ended), optax.sgd).init(params).key.capacity == 5  # b's last report: #4
    spec = schedspec.loads(text)
    assert so.inject(spec, optax.sgd, max_reports=5).init(params).key.capacity == 5
    for bad in (True, 5.0, 0):
        with pytest.raises(ValueError) as err:
            so.inject(schedspec.loads(ended), optax.sgd, max_reports=bad)
        assert str(err.value) == f"max_reports must be an int >= 5, the last report a plateau consumes (got {bad!r})"


def test_a_groups_plateau_state_knows_its_group_and_its_count_saturates():
    text = PLATEAU_SPEC + "groups:\n  body: {lr: {kind: plateau, start: 0.3, duration: 8, monitor: val_loss, every: 2}}\n"
    spec = schedspec.loads(text)
    params = {"w": np.zeros((), np.float32)}
    body = so.inject(spec, optax.sgd, group="body")
    state = body.init(params)
    assert state.key.group == "body"
    both = optax.chain(so.inject(spec, optax.sgd), body).init(params)
    assert (float(so.current_lr(both, group="body")), float(so.current_lr(both))) == pytest.approx((0.3, 0.2))
    top = np.iinfo(np.int32).max
    grads = {"w": np.ones((), np.float32)}
    for start, want in ((top - 1, top), (top, top)):
        _, after = body.update(grads, state._replace(count=np.int32(start)), params)
        assert int(after.count) == want


def test_a_variable_is_what_has_both_get_value_and_set_value():
    """Flax ``nnx.Variable`` duck typing: both methods, not one of them."""

    class Both:
        def get_value(self):
            return 1.0

        def set_value(self, v):
            pass

    class GetOnly:
        def get_value(self):
            return 1.0

    assert so._is_variable(Both()) and not so._is_variable(GetOnly()) and not so._is_variable(np.zeros(()))


def test_an_optimizer_without_a_name_is_the_optimizer():
    import functools

    spec = schedspec.loads("schedspec: 1\nlr: 0.1\nfoo: 1.0\n", "p.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        so.inject(spec, functools.partial(optax.sgd, nesterov=False))
    assert str(err.value).startswith("p.yaml:3:1: `foo`: the optimizer has no argument 'foo' (it takes: learning_rate")


def test_the_refusals_of_a_missing_group_a_groups_sweep_and_multi_transform_name_what_was_called():
    spec = schedspec.loads("schedspec: 1\nlr: 0.1\nfoo: 1.0\ngroups:\n  a: {scale: 0.5}\n  b: {scale: 2.0}\n", "p.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        so.inject(spec, optax.sgd, group="c")
    assert str(err.value) == "p.yaml: groups: the spec has no group 'c' (it has: a, b)"
    grouped = schedspec.loads(GROUP_VARS + "momentum: $hp\n", "v.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        so.inject(grouped, optax.sgd, group="head")
    assert str(err.value) == ("v.yaml:4:7: group `head` `lr` uses the sweep var $hp (2 values: 0.3, 0.4), but "
                              "schedspec.adapters.optax.inject builds one optax schedule: pick one member with "
                              "vars={'hp': 0.3} (or `--set hp=0.3` on the command line)")  # fmt: skip
    doc_var = schedspec.loads("schedspec: 1\nvars:\n  hp: [0.3, 0.4]\nlr: 0.1\nmomentum: $hp\ngroups:\n  body: {lr: 0.2}\n",
                              "v.yaml")  # fmt: skip
    with pytest.raises(schedspec.SpecError) as err:
        so.inject(doc_var, optax.sgd, group="body")  # the document's momentum, under the group
    assert str(err.value) == ("v.yaml:3:7: `momentum` uses the sweep var $hp (2 values: 0.3, 0.4), but "
                              "schedspec.adapters.optax.inject builds one optax schedule: pick one member with "
                              "vars={'hp': 0.3} (or `--set hp=0.3` on the command line)")  # fmt: skip
    for text in ("schedspec: 1\nvars:\n  hp: [0.3, 0.4]\nlr: $hp\n",
                 "schedspec: 1\nvars:\n  hp: [0.3, 0.4]\nlr: 0.1\nmomentum: $hp\ngroups:\n  a: {lr: 0.2}\n"):
        with pytest.raises(schedspec.SpecError) as err:
            so.multi_transform(schedspec.loads(text), optax.sgd, {"w": "a"})
        assert "but schedspec.adapters.optax.multi_transform builds one optax schedule" in str(err.value)


def test_a_label_that_is_no_group_gets_the_documents_schedules():
    spec = schedspec.loads("schedspec: 1\nlr: 0.1\ngroups:\n  a: {scale: 0.5}\n")
    params = {"w": np.zeros((), np.float32), "v": np.zeros((), np.float32)}
    tx = so.multi_transform(spec, optax.sgd, {"w": "a", "v": "other"})
    updates, _ = tx.update({"w": np.ones((), np.float32), "v": np.ones((), np.float32)}, tx.init(params), params)
    assert (float(updates["w"]), float(updates["v"])) == pytest.approx((-0.05, -0.1))


def test_a_group_that_keeps_the_documents_plateau_lr():
    """A group overriding only ``momentum`` runs the document's plateau lr (metric-driven schedules allowed under a
    group too), with its own momentum."""
    spec = schedspec.loads(PLATEAU_SPEC + "momentum: 0.9\ngroups:\n  head: {momentum: 0.5}\n")
    state = so.inject(spec, optax.sgd, group="head").init({"w": np.zeros((), np.float32)})
    assert (float(state.hyperparams["learning_rate"]), float(state.hyperparams["momentum"])) == pytest.approx((0.2, 0.5))
    assert state.key.names == ("val_loss",) and float(so.current_lr(state)) == pytest.approx(0.2)


def test_inject_without_a_plateau_passes_the_fixed_arguments_on():
    """``inject(spec, optax.sgd, momentum=0.9)`` of a spec with only ``lr`` (no plateau): the fixed argument reaches
    the optimizer (in ``hyperparams``, as ``optax.inject_hyperparams`` keeps it) and the update uses it."""
    spec = schedspec.loads("schedspec: 1\nlr: {kind: constant, value: 0.5}\n")
    params = {"w": np.zeros((), np.float32)}
    tx = so.inject(spec, optax.sgd, momentum=0.9)
    state = tx.init(params)
    assert float(state.hyperparams["momentum"]) == pytest.approx(0.9)
    grads = {"w": np.ones((), np.float32)}
    _, state = tx.update(grads, state, params)
    updates, _ = tx.update(grads, state, params)
    assert float(updates["w"]) == pytest.approx(-0.5 * 1.9)  # trace 1 + 0.9 * 1 with momentum, 1 without


def test_max_reports_1_is_enough_for_plateaus_that_never_end_when_given():
    """With only open-ended plateaus (no stop to read), the least ``max_reports`` accepted is 1."""
    spec = schedspec.loads("schedspec: 1\nlr: {kind: plateau, start: 0.1, monitor: a, every: 2}\n")
    state = so.inject(spec, optax.sgd, max_reports=1).init({"w": np.zeros((), np.float32)})
    assert state.key.capacity == 1 and state.reports["a"].shape == (1,)
    with pytest.raises(ValueError, match=r"max_reports must be an int >= 1, .* \(got 0\)"):
        so.inject(spec, optax.sgd, max_reports=0)


def test_a_group_that_overrides_every_schedule_of_an_epoch_spec_still_needs_steps_per_epoch():
    """``inject(group=)`` of a group that overrides every hyperparameter checks no schedule of the document's, and
    still refuses ``interval: epoch`` without ``steps_per_epoch`` (optax counts updates), positioned, word for
    word; ``multi_transform`` likewise."""
    spec = schedspec.loads("schedspec: 1\ninterval: epoch\nlr: 0.1\ngroups:\n  head:\n"
                           "    lr: {kind: step, start: 0.2, every: 2}\n")  # fmt: skip
    want = ("<string>:2:11: `interval: epoch` counts epochs, but optax counts optimizer steps: add `steps_per_epoch` "
            "(the schedule then uses k = step // steps_per_epoch)")  # fmt: skip
    for call in (lambda: so.inject(spec, optax.sgd, group="head"),
                 lambda: so.multi_transform(spec, optax.sgd, {"a": "head"})):  # fmt: skip
        with pytest.raises(schedspec.SpecError) as err:
            call()
        assert str(err.value) == want
