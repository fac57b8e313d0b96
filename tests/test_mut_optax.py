"""Tests written to kill surviving mutants of ``adapters/optax.py`` (issue 14, item 1).

What the adapter's own tests did not pin: :func:`inject` of an epoch spec without a plateau (the count divided by
``steps_per_epoch``), :func:`multi_transform`'s ``vars``, ``max_reports``, fixed optimizer arguments and label
function, its refusals word for word and at their positions, the open-ended plateau's message, the keys and
states that pickles and pytrees carry. Every value is compared with ``schedspec.evaluate`` (float64) at the count
the update used.
"""

from __future__ import annotations

import pickle

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
