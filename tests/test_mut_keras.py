"""Tests written to kill surviving mutants of ``adapters/keras.py`` (issue 14, item 1).

The adapter's own tests (tests/test_adapters_keras.py, tests/test_keras_fit.py) hold the values against Keras'
schedules and real ``model.fit`` runs; these pin what they did not: the serialised form's refusals word for word,
the constructor's checks, the plateau's report buffer and its refusals, and the callback's decisions at an epoch
end, called directly (no ``fit``: a model stand-in with the optimizer's iteration count and fit's ``params``).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import schedspec  # noqa: E402
from schedspec import ir  # noqa: E402

keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":  # pragma: no cover
    pytest.skip("these tests run Keras on the JAX backend", allow_module_level=True)
sk = pytest.importorskip("schedspec.adapters.keras")

LINEAR = {"schedspec": 1, "lr": {"kind": "linear", "start": 0.0, "end": 0.1, "duration": 10}}


def test_node_from_json_rebuilds_bound_ir_and_refuses_anything_else_by_name():
    node = ir.Linear(start=0.0, end=0.1, duration=10)
    assert sk.node_from_json(ir.to_json(node)) == node
    assert sk.node_from_json({"final": ir.to_json(node)}) == ir.Final(node)
    assert sk.node_from_json([1, [2, 3]]) == (1, (2, 3))
    with pytest.raises(ValueError) as err:
        sk.node_from_json({"var": "peak"})
    assert str(err.value) == "not a bound schedspec IR node (vars must be substituted): {'var': 'peak'}"
    with pytest.raises(ValueError) as err:
        sk.node_from_json({"kind": "lineer"})
    assert str(err.value) == "unknown schedspec IR kind 'lineer'"
    with pytest.raises(ValueError) as err:
        sk.node_from_json({"kind": "linear", "start": 0.0, "stop": 1, "zz": 2})
    assert str(err.value) == "unknown field(s) ['stop', 'zz'] for IR kind 'linear'"


def test_the_constructor_checks_its_serialised_form():
    program = sk.to_keras(LINEAR).program
    for kwargs, message in (
        ({"format": 2}, "unsupported schedspec Keras schedule format 2 (this version reads 1)"),
        ({"interval": "steps"}, "interval must be 'step' or 'epoch' (got 'steps')"),
        ({"interval": "epoch"}, "interval 'epoch' needs steps_per_epoch >= 1 (got None)"),
        ({"interval": "epoch", "steps_per_epoch": 0}, "interval 'epoch' needs steps_per_epoch >= 1 (got 0)"),
        ({"interval": "epoch", "steps_per_epoch": True}, "interval 'epoch' needs steps_per_epoch >= 1 (got True)"),
        ({"interval": "epoch", "steps_per_epoch": 2.0}, "interval 'epoch' needs steps_per_epoch >= 1 (got 2.0)"),
        ({"gradient_accumulation_steps": 0}, "gradient_accumulation_steps must be an integer >= 1 (got 0)"),
    ):
        with pytest.raises(ValueError) as err:
            sk.Schedule(program, **kwargs)
        assert str(err.value) == message
    one = sk.Schedule(program, interval="epoch", steps_per_epoch=1, gradient_accumulation_steps=None)
    assert one.gradient_accumulation_steps == 1 and one._divisor == 1 and one.max_reports is None
    for spe, acc, at_last in ((2**20, 2**12, 0.0), (2**31 - 1, 1, 0.01), (2**30, 2, 0.0), (2**30, 1, 0.01)):
        # the last int32 step of a divisor of 2**31 - 1 or less is in unit 1; of a larger one, in unit 0 (it was
        # clamped to 2**31 - 1, which put that step in unit 1)
        sched = sk.Schedule(program, interval="epoch", steps_per_epoch=spe, gradient_accumulation_steps=acc)
        assert float(sched(2**31 - 1)) == pytest.approx(at_last), (spe, acc)
        assert float(sched(min(spe * acc, 2**31) - 1)) == 0.0, (spe, acc)
        assert float(sched(np.int32(2**31 - 1))) == pytest.approx(at_last)
    assert sk.Schedule(program, steps_per_epoch=5)._divisor == 1  # a step schedule ignores steps_per_epoch
    assert sk.Schedule(program, gradient_accumulation_steps=3)._divisor == 3
    two = sk.Schedule(program, gradient_accumulation_steps=2)  # real update j sees micro-step 2j + 1
    assert [round(float(two(k)), 6) for k in (1, 2, 3)] == [0.0, 0.01, 0.01] and two.hparam == "lr"


def test_a_concrete_step_is_checked_and_divided():
    """Update ``k`` of an epoch spec with accumulation ``A`` uses ``value(k // (A * steps_per_epoch))``; concrete
    steps of every Python and numpy spelling are checked as update indices."""
    spec = schedspec.load({**LINEAR, "interval": "epoch", "steps_per_epoch": 3})
    sched = sk.to_keras(spec, gradient_accumulation_steps=2)
    k = np.arange(0, 80)
    np.testing.assert_allclose(np.asarray(sched(k)), schedspec.evaluate(spec, k // 6, dtype="float64"), rtol=1e-6)
    assert float(sched(6)) == pytest.approx(0.01) and float(sched(np.int64(6))) == pytest.approx(0.01)
    assert float(sched(6.0)) == pytest.approx(0.01) and np.asarray(sched([0, 6])).tolist() == pytest.approx([0, 0.01])
    for bad, message in ((True, "got bool"), (2.5, "whole numbers"), (-1, r"\[0, 2\*\*31-1\]"),
                         (2**31, r"\[0, 2\*\*31-1\]"), ("3", "an int")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            sched(bad)


PLATEAU = """\
schedspec: 1
lr:
  - {kind: constant, value: 0.2, duration: 2}
  - {kind: plateau, monitor: val_loss, every: 2, patience: 0, factor: 0.5}
"""


def test_max_reports_is_required_checked_and_kept_in_the_config():
    spec = schedspec.loads(PLATEAU, "p.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        sk.to_keras(spec)
    assert str(err.value) == (
        "p.yaml:4:5: lr[1]: this `plateau` never ends, so it consumes metric reports forever and to_keras cannot "
        "size the optimizer variables that hold them: pass to_keras(..., max_reports=N) (how many reports training "
        "makes), or give the plateau a `duration` or the spec a `total`")  # fmt: skip
    program = sk.to_keras(spec, max_reports=4).program
    with pytest.raises(ValueError) as err:
        sk.Schedule(program)
    assert str(err.value) == ("a `plateau` that never ends consumes reports forever: give max_reports (how many "
                              "metric reports training makes), or give the plateau a duration or the spec a `total`")
    for bad in (True, 2.0, -1):
        with pytest.raises(ValueError) as err:
            sk.Schedule(program, max_reports=bad)
        assert str(err.value) == f"max_reports must be an int >= 0, the last report a plateau consumes (got {bad!r})"
    ended = sk.to_keras(schedspec.loads(PLATEAU.replace("factor: 0.5}", "factor: 0.5, duration: 6}")))
    assert ended.max_reports == 4 and ended.get_config()["max_reports"] == 4
    with pytest.raises(ValueError) as err:
        sk.Schedule(ended.program, max_reports=3)
    assert str(err.value) == "max_reports must be an int >= 4, the last report a plateau consumes (got 3)"
    total = sk.to_keras(schedspec.loads("total: 11\n" + PLATEAU))
    assert total.max_reports == 5  # one report per `every` up to `total`
    assert "max_reports" not in sk.to_keras(LINEAR).get_config()


def test_reports_are_refused_by_name_and_past_the_buffer():
    spec = schedspec.loads(PLATEAU)
    sched = sk.to_keras(spec, max_reports=3)
    with pytest.raises(ValueError) as err:
        sk.to_keras(LINEAR).report("val_loss", 1.0)
    assert str(err.value) == "the schedule '<dict>' has no `plateau`, so it takes no metric reports"
    with pytest.raises(ValueError) as err:
        sched.report("val_los", 1.0)
    assert str(err.value) == "no `plateau` of '<string>' monitors 'val_los'; did you mean 'val_loss'? (monitored: val_loss)"
    for _ in range(3):
        sched.report("val_loss", 1.0)  # before attach: kept, written when attached
    with pytest.raises(ValueError) as err:
        sched.report("val_loss", 1.0)
    assert str(err.value) == ("report #3 of 'val_loss' exceeds max_reports=3 of an open-ended plateau: build the "
                              "schedule with a larger max_reports")  # fmt: skip
    opt = keras.optimizers.SGD(learning_rate=sched)
    sched.attach(opt)
    assert sched.reports_made("val_loss") == 3
    k = np.arange(8)
    want = schedspec.evaluate(spec, k, metrics={"val_loss": [1.0, 1.0, 1.0]}, dtype="float64")
    np.testing.assert_allclose(np.asarray(sched(k)), want, rtol=1e-6)
    assert len(set(want.tolist())) == 2 and np.isnan(float(sched(8)))  # a reduction, then a report not made


EPOCH_PLATEAU = """\
schedspec: 1
interval: epoch
steps_per_epoch: 2
total: 20
lr: {kind: plateau, start: 0.1, monitor: val_loss, every: 2, patience: 0, factor: 0.5}
"""


class _Model:
    """What the callback reads of a model: its optimizer (a real one: the plateau variables live in it)."""

    def __init__(self, optimizer):
        self.optimizer = optimizer


def _callback(text, steps):
    sched = sk.to_keras(schedspec.loads(text))
    opt = keras.optimizers.SGD(learning_rate=sched)
    cb = sk.PlateauCallback()  # finds the schedule in the model's optimizer
    cb.set_model(_Model(opt))
    cb.set_params({"steps": steps} if steps else {})
    return cb, sched, opt


def _end(cb, opt, iterations, epoch, logs):
    opt.iterations.assign(iterations)
    cb.on_epoch_end(epoch, logs)


def test_the_callback_reports_at_the_epoch_ends_that_close_an_interval():
    """Epochs of 2 updates (one spec epoch each), a plateau every 2 epochs: the first fit epoch closes nothing, the
    second closes interval 0 (report #0), and so on; each report is the epoch's logged metric."""
    cb, sched, opt = _callback(EPOCH_PLATEAU, 2)
    assert cb.schedule is sched and sched._optimizer is opt
    _end(cb, opt, 2, 0, {"val_loss": 3.0})
    assert sched.reports_made("val_loss") == 0
    _end(cb, opt, 4, 1, {"val_loss": 2.0, "loss": 9.0})
    _end(cb, opt, 6, 2, None)  # closes nothing: no metric needed
    _end(cb, opt, 8, 3, {"val_loss": 2.5})
    assert sched._reports.reports == {"val_loss": [2.0, 2.5]}


def test_the_callback_refuses_epochs_that_do_not_line_up_word_for_word():
    cb, sched, opt = _callback(EPOCH_PLATEAU, 2)
    with pytest.raises(ValueError) as err:
        _end(cb, opt, 3, 1, {"val_loss": 1.0})
    assert str(err.value) == (
        "epoch 1 of fit ended after 3 optimizer steps, which is not a whole number of the spec's epochs (2 steps "
        "each: steps_per_epoch x gradient_accumulation_steps): make fit's steps per epoch match (or report by hand "
        "with schedule.report)")  # fmt: skip
    with pytest.raises(ValueError) as err:
        _end(cb, opt, 4, 1, {"loss": 1.0, "acc": 0.5})
    assert str(err.value) == (
        "the schedule's plateau monitors 'val_loss', which epoch 1 did not log (logged: acc, loss); e.g. val_loss "
        "needs validation_data in fit, and validation at this epoch (validation_freq must divide the plateau's "
        "`every`)")  # fmt: skip
    with pytest.raises(ValueError, match=r"\(logged: nothing\)"):
        _end(cb, opt, 4, 1, None)
    with pytest.raises(ValueError) as err:
        _end(cb, opt, 10, 4, {"val_loss": 1.0})  # report #0 was due after epoch 1
    assert str(err.value) == (
        "report #0 of 'val_loss' is the metric at the end of interval 0 of the spec's clock (after epoch 1, one "
        "report per 2 epochs), but fit's epochs end after epochs 4 and 5: make fit's epochs end where the "
        "plateau's intervals end (steps per epoch, the plateau's `every`), or report by hand with schedule.report")
    cb, sched, opt = _callback(EPOCH_PLATEAU, None)  # fit without a step count: the next end is unknown
    with pytest.raises(ValueError, match=r"but fit's epochs end after epochs 4 and 4:"):
        _end(cb, opt, 10, 4, {"val_loss": 1.0})
    _end(cb, opt, 2, 0, {})  # k = 1 < due 2: nothing due
    step = "schedspec: 1\ntotal: 20\nlr: {kind: plateau, start: 0.1, monitor: loss, every: 1, patience: 0}\n"
    cb, sched, opt = _callback(step, 3)
    with pytest.raises(ValueError) as err:
        _end(cb, opt, 3, 0, {"loss": 1.0})
    assert str(err.value).startswith("report #0 of 'loss' is the metric at the end of interval 0 of the spec's clock "
                                     "(after update 0, one report per 1 update), but fit's epochs end after updates "
                                     "2 and 5:")  # fmt: skip


def test_a_callback_needs_a_plateau():
    with pytest.raises(ValueError) as err:
        sk.PlateauCallback(sk.to_keras(schedspec.load({**LINEAR, "name": "flat"})))
    assert str(err.value) == "the schedule 'flat' has no `plateau`: it needs no callback"
    model = _Model(keras.optimizers.SGD(learning_rate=sk.to_keras(LINEAR)))
    with pytest.raises(ValueError) as err:
        sk.PlateauCallback().set_model(model)
    assert str(err.value) == ("PlateauCallback(): the model's optimizer has no schedspec schedule with a `plateau` "
                              "(its learning_rate is Schedule); pass the schedule: schedule.callback()")  # fmt: skip
    cb, model = sk.PlateauCallback(), _Model(None)
    cb.set_model(model)  # no optimizer yet (compiled later): found when training begins
    assert cb.schedule is None
    sched = sk.to_keras(schedspec.loads(EPOCH_PLATEAU))
    model.optimizer = keras.optimizers.SGD(learning_rate=sched)
    cb.on_train_begin()
    assert cb.schedule is sched and sched._optimizer is model.optimizer


def test_optimizer_passes_constants_member_accumulation_and_refuses_a_repeated_argument():
    spec = schedspec.loads("schedspec: 1\nvars:\n  peak: [0.1, 0.2]\nlr: {kind: constant, value: $peak}\n"
                           "beta1: 0.8\nbeta2: 0.95\neps: 1.0e-6\n", "o.yaml")  # fmt: skip
    opt = sk.optimizer(spec, keras.optimizers.Adam, vars={"peak": 0.2}, gradient_accumulation_steps=2)
    assert (opt.beta_1, opt.beta_2, opt.epsilon) == pytest.approx((0.8, 0.95, 1e-6))
    assert opt.gradient_accumulation_steps == 2 and opt._learning_rate.gradient_accumulation_steps == 2
    assert float(opt.learning_rate) == pytest.approx(0.2) and type(opt) is keras.optimizers.Adam
    with pytest.raises(schedspec.SpecError) as err:
        sk.optimizer(spec, keras.optimizers.Adam, vars={"peak": 0.2}, beta_1=0.5)
    assert str(err.value) == "o.yaml:5:1: `beta1` is set by the spec; do not also pass beta_1="
    with pytest.raises(schedspec.SpecError) as err:
        sk.optimizer(spec, keras.optimizers.SGD, vars={"peak": 0.2})
    issues = err.value.issues
    assert [(i.line, i.col) for i in issues] == [(5, 1), (6, 1), (7, 1)]
    assert issues[0].message.startswith("`beta1`: SGD has no argument 'beta_1' (it takes: ")
    taken = issues[0].message.split("(it takes: ")[1].rstrip(")").split(", ")
    assert taken == sorted(taken) and "momentum" in taken and "self" not in taken and "kwargs" not in taken
    with pytest.raises(schedspec.SpecError, match=r"`lr` uses the sweep var \$peak"):
        sk.optimizer(spec, keras.optimizers.Adam)


def test_optimizer_with_a_plateau_is_of_the_plateau_class_and_attached():
    opt = sk.optimizer(schedspec.loads(PLATEAU), keras.optimizers.SGD, max_reports=5)
    sched = opt._learning_rate
    assert type(opt) is sk.plateau_optimizer_class(keras.optimizers.SGD) and type(opt).__name__ == "PlateauSGD"
    assert sched.max_reports == 5 and sched._optimizer is opt and float(opt.learning_rate) == pytest.approx(0.2)


def test_plateau_optimizer_classes_are_made_once_named_and_keep_the_plateau_variables_last():
    cls = sk.plateau_optimizer_class(keras.optimizers.Adam)
    assert sk.plateau_optimizer_class(keras.optimizers.Adam) is cls and sk.plateau_optimizer_class(cls) is cls
    assert keras.saving.get_registered_name(cls) == "schedspec>PlateauAdam" and issubclass(cls, keras.optimizers.Adam)

    class MyOpt(keras.optimizers.SGD):
        pass

    mine = sk.plateau_optimizer_class(MyOpt)  # made here (the builtins' were made at import)
    assert (mine.__name__, mine.__module__, mine.__doc__) == (
        "PlateauMyOpt", "schedspec.adapters.keras", "MyOpt carrying a schedspec plateau (see plateau_optimizer_class).")
    assert keras.saving.get_registered_name(mine) == f"schedspec>PlateauMyOpt@{__name__}"
    assert sk.plateau_optimizer_class(mine) is mine and issubclass(mine, MyOpt)
    for kind, attach_first in ((cls, True), (cls, False), (mine, True), (mine, False)):
        sched = sk.to_keras(schedspec.loads(PLATEAU), max_reports=2)
        opt = kind(learning_rate=sched)
        if attach_first:
            sched.attach(opt)
        opt.build([keras.Variable(np.zeros((2,), np.float32))])
        names = [v.name for v in opt.variables]
        assert names[-3:] == ["schedspec_plateau_values", "schedspec_plateau_counts", "schedspec_plateau_reports"]
        assert len(names) == (6 if kind is cls else 4) and sched._optimizer is opt, names  # Adam: m, v; SGD: none
        assert opt.built and float(opt.learning_rate) == pytest.approx(0.2)
    for kind in (cls, mine):
        plain = kind(learning_rate=0.1)
        plain.build([keras.Variable(np.zeros((2,), np.float32))])
        assert not any(v.name.startswith("schedspec") for v in plain.variables) and plain.built


def test_the_plateau_state_is_read_back_from_the_optimizer_variables():
    """Variables restored into the optimizer (``load_weights``: here assigned from another schedule's) are what the
    next report and ``reports_made`` see; reports past a plateau that ended are counted, held as NaN placeholders
    past the buffer."""
    text = PLATEAU.replace("factor: 0.5}", "factor: 0.5, duration: 4}")  # consumes reports #1 and #2
    a = sk.to_keras(schedspec.loads(text))
    a.attach(keras.optimizers.SGD(learning_rate=a))
    for v in (1.0, 0.5, 0.25, 0.125):
        a.report("val_loss", v)
    assert a.max_reports == 3 and a.reports_made("val_loss") == 4
    assert a._reports.reports["val_loss"][:3] == [1.0, 0.5, 0.25]
    b = sk.to_keras(schedspec.loads(text))
    b.attach(keras.optimizers.SGD(learning_rate=b))
    for mine, theirs in zip(b._variables(), a._variables()):
        mine.assign(theirs.value)
    assert b.reports_made("val_loss") == 4
    got = b._reports.reports["val_loss"]
    assert got[:3] == [1.0, 0.5, 0.25] and np.isnan(got[3])
    k = np.arange(8)
    np.testing.assert_array_equal(np.asarray(b(k)), np.asarray(a(k)))
    b.report("val_loss", 9.0)
    assert b.reports_made("val_loss") == 5


def test_attach_once_and_the_call_before_it_are_explained():
    sched = sk.to_keras(schedspec.load({"schedspec": 1, "name": "p", "total": 10, "lr": {
        "kind": "plateau", "start": 0.1, "monitor": "loss", "every": 1}}))  # fmt: skip
    with pytest.raises(RuntimeError) as err:
        sched(0)
    assert str(err.value) == ("the schedule 'p' has a `plateau`: attach it to its optimizer first, with "
                              "callbacks=[schedule.callback()] in model.fit, or schedule.attach(optimizer) in a "
                              "custom loop")  # fmt: skip
    opt = keras.optimizers.SGD(learning_rate=sched)
    sched.attach(opt)
    variables = sched._variables()
    sched.attach(opt)  # the same optimizer again: nothing new
    assert sched._variables() == variables and len(variables) == 3 and sched.monitors == ["loss"]
    with pytest.raises(ValueError) as err:
        sched.attach(keras.optimizers.SGD(learning_rate=sched))
    assert str(err.value) == ("the schedule 'p' is already attached to another optimizer: a plateau's state lives in "
                              "its optimizer's variables, so build one schedule per optimizer (schedspec.to_keras "
                              "again)")  # fmt: skip
    flat = sk.to_keras(LINEAR)
    flat.attach(opt)  # no plateau: nothing to attach
    assert flat._optimizer is None and flat._variables() == [] and flat.monitors == []


def test_the_config_names_everything_and_rebuilds_the_same_schedule():
    spec = schedspec.load({"schedspec": 1, "name": "cfg", "interval": "epoch", "steps_per_epoch": 3, "total": 12,
                           "lr": {"kind": "plateau", "start": 0.1, "monitor": "loss", "every": 1}})  # fmt: skip
    sched = sk.to_keras(spec, gradient_accumulation_steps=2, dtype="float16")
    config = sched.get_config()
    assert config == {"program": sched.program, "hparam": "lr", "interval": "epoch", "steps_per_epoch": 3,
                      "gradient_accumulation_steps": 2, "name": "cfg", "fingerprint": spec.fingerprint,
                      "dtype": "float16", "format": 1, "max_reports": 12}  # fmt: skip
    again = sk.Schedule.from_config(config)
    assert again.get_config() == config and again.node == sched.node
    assert repr(sched) == f"<schedspec.adapters.keras.Schedule 'cfg' lr fingerprint={spec.fingerprint}>"
    for s in (sched, again):
        s.attach(keras.optimizers.SGD(learning_rate=s))
        assert s._values_var.dtype == "float16"
        assert str(s(0).dtype) == "float16"
    step = sk.to_keras(LINEAR).get_config()
    assert step["steps_per_epoch"] is None and step["gradient_accumulation_steps"] == 1 and step["dtype"] == "float32"


def test_optimizer_refuses_groups_and_names_its_entry_point_and_the_arguments_it_takes():
    with pytest.raises(schedspec.SpecError) as err:
        sk.optimizer(schedspec.loads("schedspec: 1\nlr: 0.1\ngroups:\n  head: {scale: 2.0}\n", "g.yaml"),
                     keras.optimizers.SGD)  # fmt: skip
    assert str(err.value) == (
        "g.yaml:3:1: `groups`: a Keras optimizer has no parameter groups (one learning rate for all its weights), so "
        "schedspec.adapters.keras.optimizer cannot carry them; use torch (schedspec.to_torch: param groups by "
        "\"name\") or optax (schedspec.adapters.optax.multi_transform: labels) for per-group schedules, or remove "
        "`groups`")  # fmt: skip

    class Loose(keras.optimizers.SGD):
        def __init__(self, learning_rate=0.01, *args, **kwargs):
            super().__init__(learning_rate, *args, **kwargs)

    spec = schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: 0.5\nfoo: 1.0\n", "m.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        sk.optimizer(spec, Loose)
    assert [str(i) for i in err.value.issues] == [
        "m.yaml:3:1: `momentum`: Loose has no argument 'momentum' (it takes: learning_rate)",
        "m.yaml:4:1: `foo`: Loose has no argument 'foo' (it takes: learning_rate)"]  # fmt: skip
    opt = sk.optimizer(schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: 0.5\n"), keras.optimizers.SGD)
    assert opt.momentum == pytest.approx(0.5)
    sched = sk.to_keras(schedspec.loads(EPOCH_PLATEAU))
    assert sched.callback().schedule is sched


def test_every_builtin_optimizer_has_its_plateau_class_registered_at_import():
    """``import schedspec.adapters.keras`` registers ``schedspec>PlateauAdamW`` etc. for every Keras optimizer (a
    saved model reloads without a call first); not for the base class or the wrappers."""
    import inspect

    builtin = [obj for obj in vars(keras.optimizers).values()
               if inspect.isclass(obj) and issubclass(obj, keras.optimizers.Optimizer)]  # fmt: skip
    made = {base for base in sk._PLATEAU_CLASSES if base.__module__.startswith("keras")}
    wrappers = {getattr(keras.optimizers, n, None) for n in ("Optimizer", "LossScaleOptimizer", "MultiOptimizer")}
    assert made == set(builtin) - wrappers and {"Adagrad", "Ftrl", "Lion"} <= {b.__name__ for b in made}
    for base in made:
        assert keras.saving.get_registered_object(f"schedspec>Plateau{base.__name__}") is sk._PLATEAU_CLASSES[base]


def test_optimizer_lists_every_refused_hyperparameter_and_names_itself():
    text = ("schedspec: 1\nvars:\n  m: [0.5, 0.9]\nlr: 0.1\nmomentum: {kind: linear, start: 0.5, end: 0.9, duration: 10}\n"
            "weight_decay: {kind: linear, start: 0.0, end: 0.1, duration: 10}\nema_momentum: $m\n")  # fmt: skip
    with pytest.raises(schedspec.SpecError) as err:
        sk.optimizer(schedspec.loads(text, "c.yaml"), keras.optimizers.SGD)
    changes = ("changes over time, but Keras optimizers take a schedule only for the learning rate (the others are "
               "constants traced into the train step); use torch or optax for this spec")  # fmt: skip
    assert [str(i) for i in err.value.issues] == [
        f"c.yaml:5:1: `momentum` {changes}", f"c.yaml:6:1: `weight_decay` {changes}",
        "c.yaml:3:6: `ema_momentum` uses the sweep var $m (2 values: 0.5, 0.9), but schedspec.adapters.keras.optimizer "
        "builds one keras schedule: pick one member with vars={'m': 0.5} (or `--set m=0.5` on the command line)"]  # fmt: skip
    with pytest.raises(schedspec.SpecError) as err:
        sk.optimizer(schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: 0.5\nweight_decay: 0.1\n", "k.yaml"),
                     keras.optimizers.SGD, momentum=0.1, weight_decay=0.2)  # fmt: skip
    assert [str(i) for i in err.value.issues] == [
        "k.yaml:3:1: `momentum` is set by the spec; do not also pass momentum=",
        "k.yaml:4:1: `weight_decay` is set by the spec; do not also pass weight_decay="]  # fmt: skip


TWO = """\
schedspec: 1
interval: epoch
steps_per_epoch: 2
total: 40
lr:
  - {kind: plateau, start: 0.1, monitor: acc, mode: max, every: 4, duration: 8}
  - {kind: plateau, monitor: val_loss, every: 2}
"""


def test_the_callback_reports_each_metric_on_its_own_clock_and_names_them_all():
    """Two metrics: at epoch 2 only val_loss is due (acc every 4 epochs): acc's interval skipped, val_loss still
    reported. Without fit's step count, an epoch end exactly at the due step reports."""
    cb, sched, opt = _callback(TWO, None)
    _end(cb, opt, 4, 1, {"val_loss": 2.0})  # k = 2: val_loss #0 due (every 2); acc #0 due at 4
    assert sched._reports.reports == {"acc": [], "val_loss": [2.0]}
    _end(cb, opt, 8, 3, {"val_loss": 1.0, "acc": 0.5})  # k = 4: both due
    assert sched._reports.reports == {"acc": [0.5], "val_loss": [2.0, 1.0]}
    with pytest.raises(ValueError) as err:
        sched.report("los", 1.0)
    assert str(err.value) == "no `plateau` of '<string>' monitors 'los' (monitored: acc, val_loss)"


def test_a_model_without_an_optimizer_attribute():
    import types

    cb = sk.PlateauCallback()
    cb.set_model(types.SimpleNamespace())  # not compiled: nothing to find yet
    assert cb.schedule is None
    with pytest.raises(ValueError, match=r"\(its learning_rate is NoneType\)"):
        cb._find(types.SimpleNamespace())


def test_restored_reports_of_the_same_count_replace_the_schedules_own():
    """The optimizer variables (restored from a checkpoint) are the truth even when they hold as many reports as
    the schedule already has: values with many mantissa bits survive the int32 bit store exactly."""
    text = PLATEAU.replace("factor: 0.5}", "factor: 0.5, duration: 6}")
    a, b = sk.to_keras(schedspec.loads(text)), sk.to_keras(schedspec.loads(text))
    for s, values in ((a, [0.1, 1 / 3, 0.3]), (b, [5.0, 5.0, 5.0])):
        s.attach(keras.optimizers.SGD(learning_rate=s))
        for v in values:
            s.report("val_loss", v)
    assert [str(v.dtype) for v in b._variables()] == ["float32", "int32", "int32"]
    for mine, theirs in zip(b._variables(), a._variables()):
        mine.assign(theirs.value)
    assert b.reports_made("val_loss") == 3 and b._reports.reports["val_loss"] == [0.1, 1 / 3, 0.3]
    k = np.arange(8)
    np.testing.assert_array_equal(np.asarray(b(k)), np.asarray(a(k)))


def test_attach_makes_the_optimizer_a_plateau_optimizer_and_a_short_plateau_holds_one_report():
    sched = sk.to_keras(schedspec.loads(PLATEAU), max_reports=3)
    opt = keras.optimizers.SGD(learning_rate=sched)
    sched.attach(opt)
    assert type(opt) is sk.plateau_optimizer_class(keras.optimizers.SGD) and isinstance(opt, keras.optimizers.SGD)
    # a plateau that ends before it consumes a report (begins at 0, 1 step, reports every 2): one slot all the same
    short = sk.to_keras(schedspec.loads("schedspec: 1\nlr:\n  - {kind: plateau, start: 0.1, monitor: a, every: 2, "
                                        "duration: 1}\n  - {kind: constant, value: 0.05}\n"))  # fmt: skip
    assert short.max_reports == 1


def test_to_keras_refuses_groups_and_keeps_the_hyperparameter_name():
    with pytest.raises(schedspec.SpecError) as err:
        sk.to_keras(schedspec.loads("schedspec: 1\nlr: 0.1\ngroups:\n  head: {scale: 2.0}\n", "g.yaml"))
    assert str(err.value).startswith("g.yaml:3:1: `groups`: a Keras optimizer has no parameter groups (one learning "
                                     "rate for all its weights), so to_keras cannot carry them")  # fmt: skip
    sched = sk.to_keras(schedspec.loads("schedspec: 1\nlr: 0.1\nmomentum: 0.9\n"), hparam="momentum")
    assert sched.hparam == "momentum" and sched.get_config()["hparam"] == "momentum" and float(sched(0)) == pytest.approx(0.9)


def test_optimizer_reports_a_sweep_var_and_the_hyperparameters_after_it_and_names_keras():
    """A hyperparameter refused for its sweep var does not end the search: the ones after it are refused too; the
    lr's own refusals name the Keras target (its sweep var, and an epoch spec without ``steps_per_epoch``)."""
    text = ("schedspec: 1\nvars:\n  m: [0.5, 0.9]\nlr: 0.1\nema_momentum: $m\n"
            "momentum: {kind: linear, start: 0.5, end: 0.9, duration: 10}\n")  # fmt: skip
    with pytest.raises(schedspec.SpecError) as err:
        sk.optimizer(schedspec.loads(text, "c.yaml"), keras.optimizers.SGD)
    assert [(i.line, i.col) for i in err.value.issues] == [(3, 6), (6, 1)], err.value
    lr_sweep = schedspec.loads("schedspec: 1\nvars:\n  p: [0.1, 0.2]\nlr: $p\n", "l.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        sk.optimizer(lr_sweep, keras.optimizers.SGD)
    assert str(err.value) == ("l.yaml:3:6: `lr` uses the sweep var $p (2 values: 0.1, 0.2), but "
                              "schedspec.adapters.keras.optimizer builds one keras schedule: pick one member with "
                              "vars={'p': 0.1} (or `--set p=0.1` on the command line)")  # fmt: skip
    epochs = schedspec.loads("schedspec: 1\ninterval: epoch\nlr: {kind: step, start: 0.1, every: 2, gamma: 0.5}\n", "e.yaml")
    with pytest.raises(schedspec.SpecError) as err:
        sk.optimizer(epochs, keras.optimizers.SGD)
    assert str(err.value).startswith("e.yaml:2:") and "but keras counts optimizer steps: add `steps_per_epoch`" in str(err.value)


@pytest.mark.parametrize("dtype,named", [("int32", "'int32'"), (None, "None"), ("bfloat16x", "'bfloat16x'"),
                                         (np.int64, "'int64'"), ("bool", "'bool'")])  # fmt: skip
def test_a_keras_schedule_in_a_dtype_that_is_not_a_float_is_refused(dtype, named):
    """An integer dtype rounded every value (an lr of 0.1 was 0 in int32), None was Keras' floatx() guessed: each
    is a ValueError naming the dtype, from ``to_keras`` and from a config, as ``from_config`` reads it."""
    spec = {"schedspec": 1, "lr": 0.1}
    message = f"dtype must be a float dtype, one of float32, float64, float16, bfloat16 (got {named})"
    with pytest.raises(ValueError) as err:
        sk.to_keras(spec, dtype=dtype)
    assert str(err.value) == message
    config = sk.to_keras(spec).get_config()
    with pytest.raises(ValueError) as err:
        sk.Schedule.from_config({**config, "dtype": dtype})
    assert str(err.value) == message


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", np.float32])
def test_a_keras_schedule_in_every_float_dtype_gives_evaluates_values(dtype):
    """(float64 is accepted too; under Keras' jax backend without x64 it is float32, with Keras' warning.)"""
    spec = {"schedspec": 1, "lr": {"kind": "cosine", "start": 0.1, "duration": 10, "end": 0.001}}
    sched = sk.to_keras(spec, dtype=dtype)
    name = keras.backend.standardize_dtype(dtype)
    assert sched.dtype == name == sched.get_config()["dtype"]
    k = np.arange(12)
    got = keras.ops.convert_to_numpy(sched(k))
    assert str(got.dtype) == name
    got = got.astype(np.float64)
    want = schedspec.evaluate(spec, k, dtype="float64")
    rtol = {"float16": 2 * 2.0**-10, "bfloat16": 2 * 2.0**-7}.get(name, 1e-6)  # computed in the dtype: 2 ulp
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0)
