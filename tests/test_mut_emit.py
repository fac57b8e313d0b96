"""Tests written to kill surviving mutants of ``schedspec/_emit/__init__.py`` (issue 14, item 1): the jax and optax
modules of a spec with parameter groups, counted in epochs, with and without plateaus, run and compared with
``schedspec.evaluate`` group by group (no example has groups and ``interval: epoch`` together, so the snapshots
could not see the unit or the epoch conversion of a group's schedule)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import schedspec  # noqa: E402

pytest.importorskip("jax")

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import load_module
except ImportError:
    from helpers import load_module

EPOCH_GROUPS = """\
schedspec: 1
interval: epoch
steps_per_epoch: 4
lr:
  - {kind: linear, duration: 3, start: 0.0, end: 0.4}
  - {kind: cosine, duration: 6, end: 0.01}
weight_decay: 0.05
groups:
  head:
    lr:
      - {kind: constant, value: 0.3, duration: 2}
      - {kind: step, every: 2, gamma: 0.5}
  backbone: {scale: 0.5}
  frozen:
    weight_decay: 0.0
"""

PLATEAU_GROUPS = """\
schedspec: 1
lr:
  - {kind: constant, value: 0.2, duration: 3}
  - {kind: plateau, duration: 20, monitor: val_loss, every: 2, patience: 0, factor: 0.5}
groups:
  head:
    lr:
      - {kind: linear, duration: 8, start: 0.0, end: 0.6}
  tail:
    lr:
      - {kind: plateau, duration: 30, monitor: acc, mode: max, every: 2, patience: 1, factor: 0.1, start: 0.9}
  same: {}
"""

K_STEPS = np.array([0, 1, 3, 4, 5, 7, 8, 11, 12, 15, 16, 23, 24, 35, 36, 40, 60])


def _close(a, b, what):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, what
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7, err_msg=what)


@pytest.mark.parametrize("target", ["jax", "optax"])
def test_an_epoch_spec_with_groups_runs_each_groups_schedule_per_step(target, tmp_path):
    """Steps are counted in epochs (k // steps_per_epoch) for every group; a group that overrides only another
    hyperparameter gets the document's schedule; ``scale`` multiplies it; an unknown group is a ValueError."""
    spec = schedspec.loads(EPOCH_GROUPS)
    source = schedspec.emit(spec, target)
    assert "# The spec counts epochs: step k uses the value at epoch k // 4." in source
    assert "_GROUPS = {" in source and "k = xp.floordiv(k, 4)  # the spec counts epochs" in source
    mod = load_module(source, tmp_path)
    steps_spec = schedspec.loads(EPOCH_GROUPS.replace("interval: epoch\n", "").replace("duration: 3,", "duration: 12,")
                                 .replace("duration: 6,", "duration: 24,").replace("duration: 2}", "duration: 8}")
                                 .replace("every: 2,", "every: 8,"))
    for group in (None, "head", "backbone", "frozen"):
        got = mod.schedule(K_STEPS, group=group)
        want = schedspec.evaluate(spec, K_STEPS // 4, group=group)  # the spec's value at epoch k // 4
        _close(got, want, f"{target} group {group}")
        if target == "optax":
            _close([mod.build_schedule(group)(int(k)) for k in K_STEPS], want, f"build_schedule({group})")
    # the epoch spec read per step equals no spec counted in steps: the conversion is the module's
    assert not np.allclose(np.asarray(mod.schedule(K_STEPS, group="head")),
                           schedspec.evaluate(steps_spec, K_STEPS // 4, group="head"))
    _close(mod.schedule(K_STEPS, group="frozen"), mod.schedule(K_STEPS), "frozen shares the document's")
    _close(mod.schedule(K_STEPS, group="backbone"), 0.5 * np.asarray(mod.schedule(K_STEPS)), "backbone scaled")
    with pytest.raises(ValueError) as err:
        mod.schedule(3, group="nope")
    assert str(err.value) == "the spec has no parameter group 'nope' (its groups: head, backbone, frozen)"
    if target == "optax":
        with pytest.raises(ValueError, match="no parameter group 'nope'"):
            mod.build_schedule("nope")


def test_the_optax_multi_transform_of_an_emitted_module_gives_each_group_its_schedule(tmp_path):
    import jax.numpy as jnp
    import optax

    spec = schedspec.loads(EPOCH_GROUPS)
    mod = load_module(schedspec.emit(spec, "optax"), tmp_path)
    params = {"a": jnp.zeros(1), "b": jnp.zeros(1), "c": jnp.zeros(1), "d": jnp.zeros(1), "e": jnp.zeros(1)}
    labels = {"a": "head", "b": "backbone", "c": "frozen", "d": "default", "e": "other"}
    tx = mod.build_multi_transform(optax.sgd, labels)
    state = tx.init(params)
    grads = {n: jnp.ones(1) for n in params}
    for k in range(9):
        updates, state = tx.update(grads, state, params)
        for name, group in (("a", "head"), ("b", "backbone"), ("c", "frozen"), ("d", None), ("e", None)):
            want = float(schedspec.evaluate(spec, k // 4, group=group))
            assert float(-updates[name][0]) == pytest.approx(want, rel=1e-6, abs=1e-9), (k, name)
    with pytest.raises(ValueError) as err:
        mod.build_multi_transform(optax.sgd, {"a": "head", "b": "default"}).init({"a": jnp.zeros(1),
                                                                                     "b": jnp.zeros(1)})
    assert str(err.value) == "group 'backbone': no parameter carries its label (labels: default, head)"


def test_an_optax_module_with_a_group_named_default_is_refused():
    spec = schedspec.loads(EPOCH_GROUPS.replace("  frozen:", "  default:"))
    with pytest.raises(schedspec.SpecError, match="group `default`.*rename the group"):
        schedspec.emit(spec, "optax")
    assert "_GROUPS" in schedspec.emit(spec, "jax")  # jax has no labels: the name is free there


def test_a_jax_module_with_plateaus_in_groups_feeds_each_groups_own_reports(tmp_path):
    """The document's plateau (val_loss), a group without plateau (no reports needed), a group with its own
    plateau on another metric, and a group equal to the document's: each against ``evaluate``."""
    spec = schedspec.loads(PLATEAU_GROUPS)
    source = schedspec.emit(spec, "jax")
    assert "_MONITORED = {" in source and "def schedule(step, metrics=None, group=None):" in source
    assert "schedule(step, metrics, group=NAME) is that group's `lr`" in source.replace("\n# ", " ")
    mod = load_module(source, tmp_path)
    k = np.arange(0, 40, 3)
    metrics = {"val_loss": [3.0, 2.0, 2.5, 2.6, 1.0, 1.5, 1.6, 1.7] + [1.0] * 12,
               "acc": [0.1, 0.2, 0.2, 0.1, 0.1, 0.3] + [0.3] * 14}
    for group in (None, "head", "tail", "same"):
        want = schedspec.evaluate(spec, k, group=group, metrics=metrics)
        _close(mod.schedule(k, metrics, group=group), want, f"group {group}")
    _close(mod.schedule(k, group="head"), schedspec.evaluate(spec, k, group="head"), "head needs no reports")
    with pytest.raises(ValueError) as err:
        mod.schedule(k, {"val_loss": [1.0]}, group="same")
    assert str(err.value) == ("the value at step 39 needs 11 reports of 'val_loss' (one per 2 step(s), counted from "
                              "step 0), but 1 were given: pass metrics={'val_loss': [...]}")
    with pytest.raises(ValueError) as err:
        mod.schedule(k, {"loss": [1.0]}, group="tail")
    assert str(err.value) == "no plateau of this schedule monitors 'loss' (monitored: val_loss, acc)"
    with pytest.raises(ValueError, match=r"metrics\['acc'\] must be a 1-D list of reports \(got shape \(1, 2\)\)"):
        mod.schedule(k, {"acc": [[1.0, 2.0]]}, group="tail")


EPOCH_PLAIN = """\
schedspec: 1
interval: epoch
steps_per_epoch: 3
lr:
  - {kind: linear, duration: 2, start: 0.0, end: 0.4}
  - {kind: step, every: 2, gamma: 0.5}
"""


@pytest.mark.parametrize("target", ["jax", "optax", "keras"])
def test_an_epoch_spec_without_groups_is_read_per_step(target, tmp_path):
    """Every target's module takes the optimizer's step and reads the spec at epoch k // steps_per_epoch."""
    spec = schedspec.loads(EPOCH_PLAIN)
    source = schedspec.emit(spec, target)
    assert "k = xp.floordiv(k, 3)  # the spec counts epochs" in source
    mod = load_module(source, tmp_path)
    k = np.arange(0, 20)
    want = schedspec.evaluate(spec, k // 3)
    if target == "keras":
        schedule = mod.build_schedule()
        got = [float(schedule(int(s))) for s in k]
    else:
        got = mod.schedule(k)
    _close(got, want, target)


def test_the_native_torch_classes_of_the_kinds_that_have_one():
    """``native_torch``: the torch class equal to a node for every k, with its arguments as written into the
    emitted module; None for a node with a duration or without an equal class."""
    from schedspec import ir
    from schedspec._emit import _Native, native_torch

    lr = schedspec.load({"schedspec": 1, "lr": {"kind": "constant", "value": 0.25}}).program.hparams["lr"]
    assert native_torch(lr) == _Native("ConstantLR", 0.25, [("factor", "1.0"), ("total_iters", "0")])
    seq = schedspec.load({"schedspec": 1, "lr": [{"kind": "constant", "value": 0.1, "duration": 5},
                                                 {"kind": "constant", "value": 0.2}]}).program.hparams["lr"]
    assert native_torch(seq) is None
    timed = schedspec.load({"schedspec": 1, "lr": {"kind": "constant", "value": 0.1, "duration": 5}})
    assert native_torch(timed.program.hparams["lr"]) is None
    assert isinstance(lr, ir.Constant)


def test_the_jax_usage_line_names_every_monitored_metric():
    spec = schedspec.loads("schedspec: 1\nlr:\n"
                           "  - {kind: plateau, duration: 10, monitor: val_loss, every: 1, start: 1.0}\n"
                           "  - {kind: plateau, duration: 10, monitor: acc, mode: max, every: 1}\n")
    source = schedspec.emit(spec, "jax")
    assert ('# Usage: schedule(step, metrics={"val_loss": reports, "acc": reports}) -> value; pure jax.numpy,\n'
            "# jit- and vmap-able.\n") in source  # wrapped at 98 characters of text, as every header paragraph


@pytest.mark.parametrize("target", ["jax", "optax", "keras"])
def test_every_header_line_of_a_plateau_or_group_module_fits_100_characters(target):
    """The usage paragraphs are wrapped at 98 characters of text after ``# ``: with metric and group names of
    every length from 1 to 40 characters, no line of the header is longer than 100."""
    for n in range(1, 41):
        name = "m" + "x" * (n - 1)
        doc = ("schedspec: 1\nlr:\n  - {kind: constant, value: 0.1, duration: 5}\n"
               f"  - {{kind: plateau, duration: 10, monitor: {name}, every: 2}}\n")
        groups = f"groups:\n  {name}:\n    lr: 0.5\n"
        if target == "jax":
            text = schedspec.emit(schedspec.loads(doc + groups), target) + "\nx = 1\n"
            text += schedspec.emit(schedspec.loads(doc), target)
        else:  # keras and optax refuse a plateau: their group header
            text = schedspec.emit(schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: 0.9\n" + groups), target) \
                if target == "optax" else schedspec.emit(schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: 0.9\n"),
                                                         target)
        header = []
        for line in text.splitlines():  # the header: the comment lines before the first line of code
            if line.startswith("#"):
                header.append(line)
            elif line.strip():
                break
        assert max(len(line) for line in header) <= 100, (n, max(header, key=len))


PLATEAU_GROUPS_EPOCH = """\
schedspec: 1
interval: epoch
steps_per_epoch: 2
lr:
  - {kind: constant, value: 0.2, duration: 3}
  - {kind: plateau, duration: 20, monitor: val_loss, every: 2, patience: 0, factor: 0.5}
groups:
  head:
    lr:
      - {kind: linear, duration: 8, start: 0.0, end: 0.6}
  tail:
    lr:
      - {kind: plateau, duration: 30, monitor: acc, mode: max, every: 2, patience: 1, factor: 0.1, start: 0.9}
"""
GROUPS_SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "mut_emit" / "plateau-groups-epoch.jax.py"


def test_the_jax_module_of_plateaus_in_groups_counted_in_epochs_is_unchanged():
    """No example has parameter groups with plateaus counted in epochs: this spec's jax module is held byte for
    byte (its group table, entry points, docstrings and messages, in epochs). Regenerate deliberately with
    ``python tests/test_mut_emit.py --update``."""
    text = schedspec.emit(schedspec.loads(PLATEAU_GROUPS_EPOCH), "jax")
    assert text == GROUPS_SNAPSHOT.read_text(encoding="utf-8")
    assert '(one per {_MONITORED[name]} "' in text and 'f"epoch(s), counted from epoch 0), but' in text


def test_the_jax_module_of_plateaus_in_groups_runs_under_jit_and_against_evaluate(tmp_path):
    import jax
    import jax.numpy as jnp

    spec = schedspec.loads(PLATEAU_GROUPS_EPOCH)
    mod = load_module(schedspec.emit(spec, "jax"), tmp_path)
    metrics = {"val_loss": [3.0, 2.0, 2.5, 2.6, 1.0, 1.5, 1.6, 1.7] + [1.0] * 12,
               "acc": [0.1, 0.2, 0.2, 0.1, 0.1, 0.3] + [0.3] * 14}
    k = np.arange(0, 60, 5)
    for group in (None, "head", "tail"):
        _close(mod.schedule(k, metrics, group=group), schedspec.evaluate(spec, k // 2, group=group, metrics=metrics),
               f"group {group}")
        traced = jax.jit(lambda s, m, g=group: mod.schedule(s, m, group=g))
        _close(traced(k, {n: jnp.asarray(v) for n, v in metrics.items()}), mod.schedule(k, metrics, group=group),
               f"jit group {group}")
    # under jit a value that needs a report not given is NaN, never a guess, and never an exception
    early = jax.jit(lambda s: mod.schedule(s, {"acc": jnp.zeros((1,))}, group="tail"))(jnp.asarray([0, 40]))
    assert float(early[0]) == pytest.approx(0.9) and np.isnan(float(early[1]))


if __name__ == "__main__":  # python tests/test_mut_emit.py --update
    import sys

    if sys.argv[1:] == ["--update"]:
        GROUPS_SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        GROUPS_SNAPSHOT.write_text(schedspec.emit(schedspec.loads(PLATEAU_GROUPS_EPOCH), "jax"), encoding="utf-8")


def test_the_native_torch_class_of_a_staircase_exponential_is_steplr():
    """A staircase ``exponential`` (``every`` > 1, no ``end``) is ``StepLR``; a smooth one with ``every`` > 1 has no
    equal class; ``every: 1`` is ``ExponentialLR``."""
    from schedspec._emit import _Native, native_torch

    def node(**kw):
        return schedspec.load({"schedspec": 1, "lr": {"kind": "exponential", "start": 0.1, "gamma": 0.5, **kw}}).program.hparams["lr"]

    assert native_torch(node(every=3, staircase=True)) == _Native("StepLR", 0.1, [("step_size", "3"), ("gamma", "0.5")])
    assert native_torch(node(every=3)) is None
    assert native_torch(node()) == _Native("ExponentialLR", 0.1, [("gamma", "0.5")])


def test_a_step_counted_group_plateau_module_says_steps_in_each_groups_comments():
    """The group's generated code (namespace ``g2``) of a spec counted in steps writes its report clock in steps,
    as the document's does (the epoch snapshot above holds the epoch wording)."""
    text = schedspec.emit(schedspec.loads(PLATEAU_GROUPS), "jax")
    assert '_REPORTS_g2 = {"acc": 2}  # metric: one report per this many steps' in text
    assert ('# p[0]: lr of group tail: the plateau on "acc" from k = 0, one report per 2 steps; it consumes reports '
            "0..14") in text  # fmt: skip


def test_an_optax_group_module_of_a_hyperparameter_without_an_optax_name_keeps_its_name(tmp_path):
    """``momentum`` has no optax spelling of its own (``lr`` is ``learning_rate``): the optax module's
    ``build_multi_transform`` passes it as ``momentum``."""
    spec = schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: {kind: linear, duration: 4, start: 0.5, end: 0.9}\n"
                           "groups:\n  head:\n    momentum: 0.7\n")  # fmt: skip
    text = schedspec.emit(spec, "optax", hparam="momentum")
    assert "``optax.inject_hyperparams(opt_fn)(momentum=build_schedule(group)," in text
    assert "optax.inject_hyperparams(opt_fn)(\n            momentum=build_schedule(group), **kwargs\n        )" in text
    assert "learning_rate=build_schedule()" not in text


@pytest.mark.parametrize("hparam", ["momentum", "beta1", "weight_decay"])
def test_the_usage_of_an_optax_or_keras_module_of_another_hyperparameter_is_not_the_learning_rate(hparam, tmp_path):
    """A module of ``momentum`` said ``optax.sgd(learning_rate=build_schedule())``: the momentum schedule as the
    learning rate. optax takes it through ``inject_hyperparams`` under its optax name (``beta1`` is ``b1``), and
    the optax module's schedule gives the spec's values there; Keras optimizers take a schedule only for the
    learning rate, which the keras module's usage says. The lr module keeps its usage."""
    import optax

    text = f"schedspec: 1\nlr: 0.1\n{hparam}: {{kind: linear, duration: 4, start: 0.5, end: 0.9}}\n"
    spec = schedspec.loads(text)
    arg = {"beta1": "b1"}.get(hparam, hparam)
    source = schedspec.emit(spec, "optax", hparam=hparam)
    assert f"# Usage: optax.inject_hyperparams(opt_fn)(learning_rate=..., {arg}=build_schedule())" in source
    assert "learning_rate=build_schedule()" not in source
    mod = load_module(source, tmp_path)
    opt_fn = optax.sgd if hparam == "momentum" else optax.adamw
    tx = optax.inject_hyperparams(opt_fn)(learning_rate=0.1, **{arg: mod.build_schedule()})
    params = {"w": np.zeros((), np.float32)}
    state, seen = tx.init(params), []
    for _ in range(5):
        _, state = tx.update({"w": np.ones((), np.float32)}, state, params)
        seen.append(float(state.hyperparams[arg]))
    _close(seen, schedspec.evaluate(spec, np.arange(5), hparam=hparam, dtype="float64"), "the values updates used")
    keras_source = schedspec.emit(spec, "keras", hparam=hparam)
    assert "learning_rate=build_schedule()" not in keras_source
    assert (f"# Usage: build_schedule() is a keras LearningRateSchedule of `{hparam}` (step -> value); Keras\n"
            "# optimizers take a schedule only for learning_rate, so call it in a loop or callback of your own.") in keras_source
    assert "# Usage: optax.sgd(learning_rate=build_schedule())" in schedspec.emit(spec, "optax")
    assert "# Usage: keras.optimizers.SGD(learning_rate=build_schedule())" in schedspec.emit(spec, "keras")


NATIVE_COMMENTED = [
    ("{kind: step, start: 0.1, every: 3, gamma: 0.5}", "StepLR(optimizer, step_size=3, gamma=0.5)"),
    ("{kind: multistep, start: 0.1, milestones: [2, 5], gamma: 0.1}", "MultiStepLR(optimizer, milestones=[2, 5], gamma=0.1)"),
    ("{kind: exponential, start: 0.1, gamma: 0.9}", "ExponentialLR(optimizer, gamma=0.9)"),
    ("{kind: exponential, start: 0.1, gamma: 0.5, every: 3, staircase: true}", "StepLR(optimizer, step_size=3, gamma=0.5)"),
    ("{kind: constant, value: 0.1}", "ConstantLR(optimizer, factor=1.0, total_iters=0)"),
]


@pytest.mark.parametrize("lr,native", NATIVE_COMMENTED)
def test_the_native_class_named_in_a_torch_modules_header_gives_the_same_values(lr, native):
    """The torch module of a single phase that a torch class computes names it in its header, with its arguments,
    as what "gives the same values": the class built from that text (``eval`` of the comment's call, on an
    optimizer built with the comment's lr) gives ``evaluate``'s values for 12 steps."""
    torch = pytest.importorskip("torch")
    spec = schedspec.loads(f"schedspec: 1\nlr: {lr}\n")
    text = " ".join(line[2:] for line in schedspec.emit(spec, "torch").splitlines() if line.startswith("# "))
    call = f"torch.optim.lr_scheduler.{native} on an optimizer built with lr=0.1 gives the same values"
    assert call in text
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=0.1)
    sched = eval(call.split(" on an optimizer")[0], {"torch": torch, "optimizer": optimizer})  # the header's own text
    got = []
    for _ in range(12):
        got.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        sched.step()
    _close(got, schedspec.evaluate(spec, np.arange(12), dtype="float64"), native)


SWEEPS = """\
schedspec: 1
vars: {peak: [0.1, 0.2], m: [0.8, 0.9], h: [0.3, 0.4]}
lr: {kind: constant, value: $peak}
momentum: {kind: constant, value: $m}
groups:
  head:
    lr: {kind: constant, value: $h}
"""


def _sweep(var, label, values, target, col):
    first = values.split(", ")[0]
    return (f"<string>:2:{col}: {label} uses the sweep var ${var} (2 values: {values}), but `schedspec compile --to "
            f"{target}` builds one {target} schedule: pick one member with vars={{'{var}': {first}}} (or "
            f"`--set {var}={first}` on the command line)")  # fmt: skip


@pytest.mark.parametrize("target", ["torch", "jax", "optax", "keras"])
def test_every_reason_a_module_cannot_be_emitted_is_reported_at_once_word_for_word(target):
    """A sweep var not fixed in each schedule the module carries (torch: every hyperparameter's; jax and optax: the
    emitted one's; all three: every group's), and optax's group named ``default`` (at its key, after another
    group): every issue in one SpecError, each at its var or key, naming the command and the target; none left for
    the next run to find (jax and optax reported the group's sweep var only once the document's was fixed). Keras
    refuses `groups` as a whole, so a group's sweep var is not reported there."""
    doc = SWEEPS.replace("  head:", "  tail: {}\n  default:") if target == "optax" else SWEEPS
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.emit(schedspec.loads(doc), target)
    group = "default" if target == "optax" else "head"
    want = [_sweep("peak", "`lr`", "0.1, 0.2", target, 14)]
    if target == "torch":
        want.append(_sweep("m", "`momentum`", "0.8, 0.9", target, 29))
    if target == "keras":
        want.insert(0, "<string>:5:1: `groups`: a Keras optimizer has no parameter groups (one learning rate for all "
                       "its weights), so `schedspec compile --to keras` cannot carry them; use torch "
                       '(schedspec.to_torch: param groups by "name") or optax (schedspec.adapters.optax.multi_transform: '
                       "labels) for per-group schedules, or remove `groups`")  # fmt: skip
    else:
        want.append(_sweep("h", f"group `{group}` `lr`", "0.3, 0.4", target, 44))
    if target == "optax":
        want.append("<string>:7:3: group `default`: the optax module's build_multi_transform gives the label "
                    "'default' to the parameters outside every group (the document's schedule); rename the group")
    assert str(err.value) == "\n".join(want)


def test_an_optax_module_refuses_a_plateau_in_a_group_at_the_groups_phase():
    spec = schedspec.loads("schedspec: 1\nlr: 0.1\ngroups:\n  head:\n"
                           "    lr: {kind: plateau, duration: 5, monitor: loss, every: 1, start: 0.1}\n")
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.emit(spec, "optax")
    assert str(err.value) == (
        "<string>:5:9: groups.head.lr: the `plateau` kind is not supported by `schedspec compile --to optax` (optax): "
        "a plateau is driven by metric reports, which it cannot take (use the runtime adapter: tx = "
        "schedspec.adapters.optax.inject(spec, optax.sgd), then state = schedspec.adapters.optax.report(state, name, "
        "value) at the end of each interval; or emit --to jax, whose schedule(step, metrics=...) takes the reports)")
    assert "_GROUPS" in schedspec.emit(spec, "jax")  # jax takes the reports


def test_emits_arguments_are_checked_word_for_word_and_default_to_the_torch_lr():
    spec = schedspec.loads("schedspec: 1\nlr: {kind: step, start: 0.1, every: 3}\nmomentum: 0.9\n")
    assert schedspec.emit(spec) == schedspec.emit(spec, "torch")
    assert schedspec.emit(spec, "jax") == schedspec.emit(spec, "jax", hparam="lr") != schedspec.emit(
        spec, "jax", hparam="momentum")
    cases = [(("toch",), {}, "unknown target 'toch'; did you mean 'torch'?; choose one of torch, keras, optax, jax"),
             (("jax",), {"hparam": 3}, "hparam must be an identifier such as 'lr' (got 3)"),
             (("jax",), {"hparam": "lr-x"}, "hparam must be an identifier such as 'lr' (got 'lr-x')"),
             (("torch",), {"hparam": "momentum"}, "the torch target emits an LRScheduler, which drives the learning "
              "rate only (got hparam 'momentum'); emit it for jax or optax instead")]  # fmt: skip
    for args, kwargs, message in cases:
        with pytest.raises(ValueError) as err:
            schedspec.emit(spec, *args, **kwargs)
        assert type(err.value) is ValueError and str(err.value) == message
    with pytest.raises(schedspec.SpecError) as err:  # an identifier with capitals: the spec's answer, not emit's
        schedspec.emit(spec, "jax", hparam="Momentum")
    assert str(err.value) == ("<string>: Momentum: the spec has no `Momentum` schedule; did you mean 'momentum'? "
                              "(it has: lr, momentum)")


def _header(source):
    return source[: source.index('"""')].splitlines()


def test_the_header_wraps_the_name_at_100_characters_never_at_a_hyphen_and_escapes_it():
    """Single-letter words fill the name's lines to 99 characters (98 of text after ``# ``, less ``name: ``: an
    odd count); a hyphenated word that would cross the width moves whole to the next line; a blank name leaves
    ``# name:`` with no trailing space; a backslash stays one backslash."""
    def header(name):
        return _header(schedspec.emit(schedspec.loads(f"schedspec: 1\nname: '{name}'\nlr: 0.1\n"), "jax"))

    lines = header(" ".join("a" * 100))
    names = [line for line in lines if line.startswith(("# name:", "#       "))]
    assert names[0] == "# name: " + " ".join("a" * 46) and len(names[0]) == 99
    assert names[1] == "#       " + " ".join("a" * 46) and names[2] == "#       " + " ".join("a" * 8)
    assert max(len(line) for line in lines) <= 100
    word = "bb-cc-dd-ee-ff-gg"
    lines = header("a " * 40 + word)
    assert "# name: " + "a " * 39 + "a" in lines and "#       " + word in lines
    assert "# name:" in header("  ")
    assert "# name: a\\b" in header("a\\b")


def test_the_header_names_every_override_of_every_group():
    spec = schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: 0.9\nweight_decay: 0.1\ngroups:\n"
                           "  head: {momentum: 0.8, weight_decay: 0.0, lr: 0.2}\n  tail: {momentum: 0.7}\n"
                           "  mid: {lr: 0.3}\n")  # fmt: skip
    text = " ".join(line[2:] for line in _header(schedspec.emit(spec, "jax")))
    assert ("This module carries `lr` only; the spec also schedules momentum, weight_decay: emit each with "
            "`--hparam NAME`.") in text
    assert "The groups also override (head: momentum, weight_decay; tail: momentum): emit those with `--hparam NAME`." in text
    optax = schedspec.emit(schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: 0.9\n"), "optax", hparam="momentum")
    assert '    """An optax schedule ``count -> value`` (see the usage line of the header)."""' in optax
