"""Tests written to kill surviving mutants of ``schedspec/evaluator.py`` (issue 14, item 1).

Each test states the behaviour it holds; the mutation run is ``python tests/mutation/run.py schedspec/evaluator.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import schedspec

pytest.importorskip("jax")

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import Counter
except ImportError:
    from helpers import Counter

from schedspec import evaluator  # noqa: E402

SWEEP = {"schedspec": 1, "vars": {"peak": [0.1, 0.3], "warm": [3, 5]},
         "lr": [{"kind": "linear", "duration": "$warm", "start": 0.0, "end": "$peak"},
                {"kind": "cosine", "duration": 20, "end": 0.001}]}
PLAIN = {"schedspec": 1, "lr": [{"kind": "linear", "duration": 4, "start": 0.0, "end": 0.2},
                                {"kind": "exponential", "gamma": 0.9}]}


@pytest.mark.parametrize("spec", [PLAIN, SWEEP], ids=["plain", "sweep"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 7, 8, 9, 16, 17, 30])
def test_a_long_k_is_evaluated_in_pieces_equal_to_one_call(monkeypatch, spec, dtype, n):
    """``evaluate`` runs a 1-D ``k`` longer than ``CHUNK`` in pieces of ``CHUNK`` steps (the last padded with its
    last step): the result is exactly one call's, in shape, dtype and every value, whatever the length's remainder.
    ``CHUNK`` is 2**22 in use; made 8 here so that pieces, a remainder and an exact multiple are all cheap."""
    k = np.arange(n, dtype=np.int64)[::-1] * 3 + 2  # not sorted: each value must land at its own position
    whole = schedspec.evaluate(spec, k, dtype=dtype)
    monkeypatch.setattr(evaluator, "CHUNK", 8)
    pieces = schedspec.evaluate(spec, k, dtype=dtype)
    assert pieces.shape == whole.shape and pieces.dtype == whole.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(pieces, whole)


def test_a_long_k_in_pieces_calls_the_program_once_a_piece_with_one_shape(monkeypatch):
    """Every piece has ``CHUNK`` steps (one compiled shape): 20 steps in pieces of 8 are three calls of 8 steps."""
    calls = []
    spec = schedspec.load(PLAIN)
    monkeypatch.setattr(evaluator, "CHUNK", 8)
    real = evaluator._chunked

    def spy(fn, steps, *args):
        def counted(piece, *a):
            calls.append(piece)
            return fn(piece, *a)
        return real(counted, steps, *args)

    monkeypatch.setattr(evaluator, "_chunked", spy)
    out = schedspec.evaluate(spec, np.arange(20))
    assert [len(c) for c in calls] == [8, 8, 8]
    assert {c.dtype for c in calls} == {np.dtype(np.int32)}  # one dtype too (float32: int32 steps)
    assert calls[2].tolist() == [16, 17, 18, 19, 19, 19, 19, 19]  # the last piece padded with its last step
    assert out.shape == (20,)
    monkeypatch.setattr(evaluator, "CHUNK", 1 << 22)
    np.testing.assert_array_equal(out, schedspec.evaluate(spec, np.arange(20)))


def test_a_plateau_evaluated_in_pieces_gets_its_reports_in_every_piece(monkeypatch):
    spec = schedspec.loads(TWO_METRICS_YAML)
    metrics = {"val_loss": [3.0, 2.0, 2.5, 2.6] + [1.0] * 17, "acc": [0.1] * 12 + [0.2, 0.2, 0.3] + [0.3] * 6}
    k = np.arange(21)
    whole = schedspec.evaluate(spec, k, metrics=metrics)
    monkeypatch.setattr(evaluator, "CHUNK", 8)
    np.testing.assert_array_equal(schedspec.evaluate(spec, k, metrics=metrics), whole)


def test_a_k_of_exactly_chunk_steps_or_two_dimensions_is_one_call(monkeypatch):
    """Only a 1-D ``k`` LONGER than ``CHUNK`` is split; a 2-D ``k`` keeps its shape in one call."""
    seen = []
    monkeypatch.setattr(evaluator, "CHUNK", 8)
    monkeypatch.setattr(evaluator, "_chunked", lambda *a: seen.append(a) or np.zeros(0))
    spec = schedspec.load(PLAIN)
    assert schedspec.evaluate(spec, np.arange(8)).shape == (8,)
    assert schedspec.evaluate(spec, np.arange(18).reshape(2, 9)).shape == (2, 9)
    assert seen == []


@pytest.mark.parametrize(("shard", "devices", "backend", "size", "want"), [
    (False, 4, "gpu", 8, False),
    (True, 1, "gpu", 8, False),  # one device: nothing to split, even when asked
    (True, 4, "cpu", 2, True),  # asked: on CPU too, and with fewer members than devices (padded)
    (True, 2, "gpu", 1, True),
    (None, 4, "gpu", 4, True),  # auto: several accelerators and at least as many members as devices
    (None, 4, "gpu", 5, True),
    (None, 4, "gpu", 3, False),
    (None, 1, "gpu", 8, False),
    (None, 4, "cpu", 8, False),  # virtual CPU devices share the cores: off unless asked
    (None, 2, "tpu", 2, True),
])
def test_when_a_sweep_is_sharded(monkeypatch, shard, devices, backend, size, want):
    """``evaluate``'s ``shard``: False never, True whenever there are several devices, None (auto) only off CPU
    with several devices and at least as many members as devices (docstring of :func:`schedspec.evaluate`)."""
    import jax

    monkeypatch.setattr(jax, "device_count", lambda *a: devices)
    monkeypatch.setattr(jax, "default_backend", lambda: backend)
    assert evaluator._use_sharding(shard, size) is want


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_sharded_path_gives_one_devices_values(monkeypatch, dtype):
    """The sharded path (``jax.device_put`` over a mesh of every device, the members padded to a multiple of the
    device count) gives exactly the values of one program on one device, in the sweep's shape. Here the path is
    forced on the one CPU device (``device_count`` made 2); tests/test_sharding.py runs it on four virtual devices."""
    import jax

    spec = schedspec.load(SWEEP)
    k = np.arange(0, 40, 3)
    single = schedspec.evaluate(spec, k, dtype=dtype, shard=False)
    monkeypatch.setattr(jax, "device_count", lambda *a: 2)
    sharded_calls = Counter(monkeypatch, evaluator, "_sharded_out")
    sharded = schedspec.evaluate(spec, k, dtype=dtype, shard=True)
    assert sharded_calls.calls == 1
    assert sharded.shape == single.shape == (4, k.size) and sharded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(sharded, single)


# ---- the var shortcut (_Rebind): which vars take it, and that it gives what lowering gives

from schedspec import spec as spec_module  # noqa: E402
from schedspec.lowering import _Lowerer  # noqa: E402


def _same_as_lowering(spec, k, vars, dtype="float64"):
    got = schedspec.evaluate(spec, k, vars=vars, dtype=dtype)
    np.testing.assert_array_equal(got, schedspec.evaluate(spec.with_vars(vars), k, dtype=dtype))
    return got


def test_a_var_used_both_as_a_number_and_as_a_duration_is_lowered_again(monkeypatch):
    """``n`` is a duration (it moves a boundary) as well as a number: a new value must be lowered."""
    doc = {"schedspec": 1, "vars": {"n": 4},
           "lr": [{"kind": "linear", "duration": "$n", "start": 0, "end": 0.5},
                  {"kind": "polynomial", "duration": 20, "end": 0.0, "power": "$n"}]}
    spec = schedspec.load(doc)
    assert "n" not in evaluator._Rebind(spec).bounds
    lowerings = Counter(monkeypatch, spec_module, "lower")
    got = _same_as_lowering(spec, np.arange(12), {"n": 8})
    assert lowerings.calls == 2  # the evaluation's and the comparison's
    assert got[4] == 0.25 and got[8] == 0.5  # the warmup now lasts 8 steps


def test_a_var_under_any_node_that_can_grow_is_lowered_again_not_only_the_last():
    """Every growing node's vars are excluded, not only those of the last one met."""
    doc = {"schedspec": 1, "vars": {"g": 0.5, "h": 0.9, "peak": 0.1},
           "lr": [{"kind": "exponential", "duration": 10, "start": "$peak", "gamma": "$g"},
                  {"kind": "linear", "duration": 10, "end": "$peak"},
                  {"kind": "exponential", "duration": 1000, "gamma": "$h"}]}
    spec = schedspec.load(doc)
    assert set(evaluator._Rebind(spec).bounds) == set()
    with pytest.raises(schedspec.SpecError, match="float32"):
        schedspec.evaluate(spec, [0], vars={"g": 1e5})  # 1e5 ** 9 * 0.1 overflows: refused as load refuses it


def test_a_new_scalar_of_a_spec_that_sweeps_takes_the_shortcut(monkeypatch):
    """A sweep spec's scalar number var: the shortcut (no lowering), the sweep axis kept, lowering's values."""
    doc = {"schedspec": 1, "vars": {"peak": [0.1, 0.2, 0.4], "floor": 0.001},
           "lr": [{"kind": "linear", "duration": 10, "start": 0, "end": "$peak"},
                  {"kind": "cosine", "duration": 30, "end": "$floor"}]}
    spec = schedspec.load(doc)
    assert set(evaluator._Rebind(spec).bounds) == {"floor"}
    k = np.array([0, 5, 10, 25, 40, 41])
    lowerings = Counter(monkeypatch, spec_module, "lower")
    fast = schedspec.evaluate(spec, k, vars={"floor": 0.05}, dtype="float64")
    assert lowerings.calls == 0
    assert fast.shape == (3, 6) and fast[:, -1].tolist() == [0.05, 0.05, 0.05]
    np.testing.assert_array_equal(fast, schedspec.evaluate(spec.with_vars({"floor": 0.05}), k, dtype="float64"))


def test_the_shortcut_takes_the_float32_maximum_itself(monkeypatch):
    """The largest finite float32 is a value lowering accepts: the shortcut takes it (no lowering)."""
    doc = {"schedspec": 1, "vars": {"peak": 0.1},
           "lr": [{"kind": "linear", "duration": 10, "start": 0, "end": "$peak"}]}
    spec = schedspec.load(doc)
    top = float(np.finfo(np.float32).max)
    schedspec.evaluate(spec, [0], vars={"peak": 0.2})
    lowerings = Counter(monkeypatch, spec_module, "lower")
    got = schedspec.evaluate(spec, [0, 10], vars={"peak": top}, dtype="float64")
    assert lowerings.calls == 0 and got.tolist() == [0.0, top]
    with pytest.raises(schedspec.SpecError, match="float32"):
        schedspec.evaluate(spec, [0], vars={"peak": top * 1.0000001})


def test_the_shortcut_is_worked_out_once_per_spec(monkeypatch):
    """What a var value may change is found once (one recording lowering per spec), then kept with the spec."""
    spec = schedspec.load({"schedspec": 1, "vars": {"peak": 0.1},
                           "lr": [{"kind": "linear", "duration": 10, "start": 0, "end": "$peak"}]})
    made = Counter(monkeypatch, evaluator, "_Rebind")
    for peak in (0.2, 0.3, 0.4):
        schedspec.evaluate(spec, [10], vars={"peak": peak})
    assert made.calls == 1


def test_when_the_recording_lowering_fails_every_value_is_lowered(monkeypatch):
    """Not expected (the spec was lowered with these values), but then no var takes the shortcut, and values stay
    right."""
    class Failing(_Lowerer):
        def run(self):
            raise schedspec.SpecError([])

    monkeypatch.setattr(evaluator, "_Lowerer", Failing)
    spec = schedspec.load({"schedspec": 1, "vars": {"peak": 0.1},
                           "lr": [{"kind": "linear", "duration": 10, "start": 0, "end": "$peak"}]})
    assert evaluator._Rebind(spec).bounds == {}
    assert schedspec.evaluate(spec, [0, 10, 30], vars={"peak": 0.4}, dtype="float64").tolist() == [0.0, 0.4, 0.4]


def test_a_rebound_spec_positions_its_metric_errors_as_the_loaded_one(tmp_path):
    """The shortcut's spec keeps the document: too few reports for a plateau is refused at the same line and
    column, with the same words, as for the spec lowered with that value."""
    path = tmp_path / "s.yaml"
    path.write_text("schedspec: 1\nvars:\n  peak: 0.1\nlr:\n  - kind: linear\n    duration: 4\n    start: 0\n"
                    "    end: $peak\n  - kind: plateau\n    duration: 20\n    monitor: val_loss\n    every: 2\n")
    spec = schedspec.load(path)
    with pytest.raises(schedspec.SpecError) as fast:
        schedspec.evaluate(spec, [0, 12], vars={"peak": 0.3}, metrics={"val_loss": [1.0]})
    with pytest.raises(schedspec.SpecError) as lowered:
        schedspec.evaluate(spec.with_vars({"peak": 0.3}), [0, 12], metrics={"val_loss": [1.0]})
    assert str(fast.value) == str(lowered.value) and "s.yaml:9:" in str(fast.value)


# ---- evaluate_host (numpy, every member at once: the terminal plot's path) against evaluate

HOST_SPECS = {
    # a sweep whose `momentum` uses no sweep var: its rows repeat, one per member
    "unused-sweep": {"schedspec": 1, "vars": {"peak": [0.1, 0.2, 0.3]},
                     "lr": [{"kind": "linear", "duration": 10, "start": 0, "end": "$peak"}],
                     "momentum": [{"kind": "linear", "duration": 8, "start": 0.8, "end": 0.9}]},
    # a sweep var used as a duration (it moves a boundary: one build per value) AND as a number
    "duration-and-number": {"schedspec": 1, "vars": {"n": [2, 5], "peak": [0.1, 0.4]},
                            "lr": [{"kind": "linear", "duration": "$n", "start": 0, "end": "$peak"},
                                   {"kind": "polynomial", "duration": 20, "end": 0.0, "power": "$n"}]},
    # a scalar var used as a duration, next to a sweep var used as a number: the scalar's steps are every
    # member's (the values of a duration var that is not swept were read from nowhere else)
    "scalar-duration-in-a-sweep": {"schedspec": 1, "vars": {"w": 3, "peak": [0.1, 0.4]},
                                   "lr": [{"kind": "linear", "duration": "$w", "start": 0, "end": "$peak"},
                                          {"kind": "cosine", "duration": 10, "end": 0.01}]},
    # a scalar duration var without a sweep
    "scalar-duration": {"schedspec": 1, "vars": {"w": 4},
                        "lr": [{"kind": "linear", "duration": "$w", "start": 0, "end": 0.3},
                               {"kind": "cosine", "duration": 10, "end": 0.01}]},
    # a group's own schedule
    "group": {"schedspec": 1, "vars": {"peak": 0.1},
              "lr": [{"kind": "linear", "duration": 10, "start": 0, "end": "$peak"}],
              "groups": {"head": {"lr": [{"kind": "cosine", "duration": 12, "start": 0.2, "end": 0.0}]},
                         "backbone": {"scale": 0.5}}},
}


@pytest.mark.parametrize("name", sorted(HOST_SPECS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_evaluate_host_equals_evaluate(name, dtype):
    spec = schedspec.load(HOST_SPECS[name])
    k = np.array([0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 15, 24, 25, 26, 40])
    tol = 3e-7 if dtype == "float32" else 1e-12  # numpy's and XLA's float64 powers differ in the last places
    cases = [(h, None) for h in spec.hparams] + [("lr", g) for g in spec.program.groups]
    for hparam, group in cases:
        host = evaluator.evaluate_host(spec, k, hparam, dtype, group=group)
        want = schedspec.evaluate(spec, k, hparam=hparam, dtype=dtype, group=group)
        assert host.shape == want.shape and host.dtype == want.dtype, (hparam, group)
        np.testing.assert_allclose(host, want, rtol=tol, atol=tol * 1e-3, err_msg=f"{hparam} {group}")
    if name == "group":
        assert evaluator.evaluate_host(spec, [0], "lr", dtype, group="head")[0] == np.asarray(0.2, dtype)
        assert evaluator.evaluate_host(spec, [10], "lr", dtype, group="backbone")[0] == np.asarray(0.05, dtype)


# ---- evaluate_numpy (float64 numpy, one member: check's and the reference paths)

PLATEAU_GROUP_YAML = """\
schedspec: 1
lr:
  - {kind: constant, value: 0.1, duration: 4}
  - {kind: plateau, duration: 20, monitor: val_loss, every: 1, patience: 0, factor: 0.5}
groups:
  head:
    lr:
      - {kind: linear, duration: 10, start: 0.0, end: 0.2}
  tail:
    lr:
      - {kind: constant, value: 0.3, duration: 2}
      - {kind: plateau, duration: 20, monitor: val_loss, every: 1, patience: 0, factor: 0.1}
"""


def test_evaluate_numpy_of_a_spec_checks_the_groups_own_tree(tmp_path):
    """With a Spec, ``evaluate_numpy`` validates against the schedule evaluated: a group without a plateau needs no
    reports (the document's does), a group's missing reports are positioned at the group's plateau, an unknown
    group is a SpecError naming the groups, and an empty ``k`` needs no report."""
    path = tmp_path / "g.yaml"
    path.write_text(PLATEAU_GROUP_YAML)
    spec = schedspec.load(path)
    assert evaluator.evaluate_numpy(spec, [0, 5, 10], group="head").tolist() == [0.0, 0.1, 0.2]
    with pytest.raises(schedspec.SpecError, match=r"g\.yaml:4:"):
        evaluator.evaluate_numpy(spec, [0, 10])  # the document's plateau needs reports
    with pytest.raises(schedspec.SpecError, match=r"g\.yaml:1[0-3]:"):
        evaluator.evaluate_numpy(spec, [0, 10], group="tail")  # the group's own plateau, at its own lines
    with pytest.raises(schedspec.SpecError, match=r"groups.*head, tail"):
        evaluator.evaluate_numpy(spec, [0], group="nope")
    assert evaluator.evaluate_numpy(spec, [], metrics={"val_loss": []}).tolist() == []
    assert evaluator.evaluate_numpy(spec, np.zeros((0,), dtype=np.int64), group="tail").shape == (0,)
    # with reports: the group's plateau halves... by its own factor
    got = evaluator.evaluate_numpy(spec, [1, 2, 3, 4], group="tail", metrics={"val_loss": [1.0, 2.0, 2.0, 2.0]})
    assert got.tolist()[0] == 0.3 and got.dtype == np.float64


def test_evaluate_numpy_asks_for_reports_up_to_the_largest_k(tmp_path):
    """The largest ``k`` asked for decides how many reports are needed: one report too few is refused, also when
    that ``k`` is not the last in the list."""
    spec = schedspec.loads(PLATEAU_GROUP_YAML)
    ok = evaluator.evaluate_numpy(spec, [9, 2], metrics={"val_loss": [1.0] * 9})
    assert ok.shape == (2,)
    with pytest.raises(schedspec.SpecError, match="report"):
        evaluator.evaluate_numpy(spec, [10, 2], metrics={"val_loss": [1.0] * 9})


# ---- to_jax: groups, var keywords, metrics

def test_to_jax_of_a_group_is_the_groups_schedule_and_an_unknown_group_is_named(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(PLATEAU_GROUP_YAML)
    spec = schedspec.load(path)
    k = np.array([0, 5, 10, 30])
    np.testing.assert_allclose(schedspec.to_jax(spec, group="head")(k), schedspec.evaluate(spec, k, group="head"),
                               rtol=1e-6)  # eager jax and jit may differ in the last float32 place
    assert float(schedspec.to_jax(spec, group="head")(10)) == np.float32(0.2)
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.to_jax(spec, group="nope")
    assert str(err.value) == f"{path}: groups: the spec has no group 'nope' (it has: head, tail)"
    # a group's plateau: too few reports are positioned at the group's plateau, not at the document's
    with pytest.raises(schedspec.SpecError, match=r"g\.yaml:1[0-3]:") as err:
        schedspec.to_jax(spec, group="tail")(12, metrics={"val_loss": [1.0]})
    assert "g.yaml:4:" not in str(err.value)
    with pytest.raises(schedspec.SpecError, match=r"g\.yaml:4:"):
        schedspec.to_jax(spec)(12, metrics={"val_loss": [1.0]})


def test_to_jax_names_an_unknown_var_and_the_vars_the_spec_has():
    fn = schedspec.to_jax({"schedspec": 1, "vars": {"peak": 0.1, "floor": 0.0},
                           "lr": [{"kind": "linear", "duration": 10, "start": "$floor", "end": "$peak"}]})
    with pytest.raises(TypeError) as err:
        fn(3, peek=0.2, zzz=1)
    assert str(err.value) == "unknown var 'peek'; did you mean 'peak'?; the spec's vars: peak, floor"
    bare = schedspec.to_jax({"schedspec": 1, "lr": {"kind": "constant", "value": 0.1}})
    with pytest.raises(TypeError) as err:
        bare(3, peak=0.2)
    assert str(err.value) == "unknown var 'peak'; the spec's vars: (none)"


def test_to_jax_asks_for_each_sweep_var_by_name():
    fn = schedspec.to_jax({"schedspec": 1, "vars": {"peak": [0.1, 0.2], "floor": [0.0, 0.01], "w": [2, 4]},
                           "lr": [{"kind": "linear", "duration": "$w", "start": "$floor", "end": "$peak"}]})
    with pytest.raises(TypeError) as err:
        fn(3, w=2)
    assert str(err.value) == "var 'floor' is a sweep; pass floor=... (use jax.vmap to sweep)"
    with pytest.raises(TypeError) as err:
        fn(3, peak=0.1, floor=0.0)
    assert str(err.value) == "var 'w' is a sweep; pass w=... (use jax.vmap to sweep)"
    assert float(fn(1, peak=0.2, floor=0.0, w=4)) == np.float32(0.05)


def test_to_jax_takes_a_duration_var_as_its_written_value_or_an_int():
    fn = schedspec.to_jax({"schedspec": 1, "steps_per_epoch": 10, "vars": {"w": ["1ep", "2ep"]},
                           "lr": [{"kind": "linear", "duration": "$w", "start": 0.0, "end": 1.0}]},
                          dtype="float64")
    assert float(fn(5, w="1ep")) == 0.5 and float(fn(5, w="2ep")) == 0.25 and float(fn(5, w=20)) == 0.25
    with pytest.raises(TypeError) as err:
        fn(5, w="3ep")
    assert str(err.value) == "pass duration var 'w' as an int number of steps"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_to_jax_a_long_duration_var_is_counted_exactly(dtype):
    """A duration var's value is an int in the program (int32, or int64 in float64): a warmup of 2**24 + 1 steps
    is not over at step 2**24, where a float32 duration would have ended it."""
    d = 2**24 + 1
    fn = schedspec.to_jax({"schedspec": 1, "vars": {"w": d},
                           "lr": [{"kind": "linear", "duration": "$w", "start": 0.0, "end": 1.0},
                                  {"kind": "constant", "value": 2.0}]}, dtype=dtype)
    want = schedspec.evaluate({"schedspec": 1, "lr": [{"kind": "linear", "duration": d, "start": 0.0, "end": 1.0},
                                                      {"kind": "constant", "value": 2.0}]},
                              [d - 1, d, d + 1], dtype=dtype)
    np.testing.assert_array_equal(np.asarray(fn(np.array([d - 1, d, d + 1]), w=d)), want)
    assert float(fn(d - 1, w=d)) < 1.0 and float(fn(d, w=d)) == 2.0


def test_to_jax_refuses_metrics_that_are_not_a_dict(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(PLATEAU_GROUP_YAML)
    fn = schedspec.to_jax(schedspec.load(path))
    with pytest.raises(schedspec.SpecError) as err:
        fn(3, metrics=[1.0, 2.0])
    assert str(err.value) == f"{path}: metrics: metrics must be a dict {{name: reports}}"


def test_to_jax_names_the_spec_and_hparam_in_its_docstring():
    fn = schedspec.to_jax({"schedspec": 1, "name": "mine", "lr": {"kind": "constant", "value": 0.1},
                           "momentum": {"kind": "constant", "value": 0.9}}, hparam="momentum")
    assert fn.__doc__ == "schedspec schedule 'mine' (momentum): fn(k, **vars) -> value"


def test_evaluate_of_a_plateau_without_metrics_is_refused_naming_the_metric():
    spec = schedspec.loads(PLATEAU_GROUP_YAML)
    with pytest.raises(schedspec.SpecError, match="val_loss"):
        schedspec.evaluate(spec, [0, 10])
    assert schedspec.evaluate(spec, [0, 3]).tolist() == [np.float32(0.1)] * 2  # before the plateau: none needed


def test_equal_trees_share_one_compiled_program():
    """The compiled program is cached by the tree's structure: a second load of an equal spec (another tree
    object) finds it, a different tree does not."""
    doc = {"schedspec": 1, "lr": [{"kind": "linear", "duration": 7, "start": 0.0, "end": 0.3},
                                  {"kind": "cosine", "duration": 13, "end": 0.0}]}
    schedspec.evaluate(schedspec.load(doc), [0, 1])
    before = evaluator._jitted.cache_info()
    schedspec.evaluate(schedspec.load(doc), [0, 1])
    after = evaluator._jitted.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (1, 0)
    other = {"schedspec": 1, "lr": [{"kind": "linear", "duration": 7, "start": 0.0, "end": 0.3},
                                    {"kind": "cosine", "duration": 14, "end": 0.0}]}
    schedspec.evaluate(schedspec.load(other), [0, 1])
    assert evaluator._jitted.cache_info().misses == after.misses + 1


TWO_METRICS_YAML = """\
schedspec: 1
lr:
  - {kind: plateau, duration: 10, monitor: val_loss, every: 1, patience: 0, factor: 0.5, start: 1.0}
  - {kind: plateau, duration: 10, monitor: acc, mode: max, every: 1, patience: 0, factor: 0.5}
groups:
  tail:
    lr:
      - {kind: plateau, duration: 10, monitor: val_loss, every: 1, patience: 0, factor: 0.1, start: 2.0}
"""


def test_to_jax_checks_metric_names_and_reports_as_evaluate_does(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(TWO_METRICS_YAML)
    spec = schedspec.load(path)
    fn = schedspec.to_jax(spec)
    with pytest.raises(schedspec.SpecError) as err:
        fn(3, metrics={"val_los": [1.0] * 4, "acc": [0.0] * 4})
    assert str(err.value).startswith(str(path)) and "did you mean 'val_loss'" in str(err.value)
    for bad in ([[1.0, 2.0]], 3.0, "abc"):
        with pytest.raises(schedspec.SpecError, match=r"metrics\['val_loss'\] must be a 1-D list") as err:
            fn(3, metrics={"val_loss": bad, "acc": [0.0] * 4})
        assert str(err.value).startswith(str(path))
    # the reports as a list, a numpy array or a jax array: the same values
    import jax.numpy as jnp

    reports = [3.0, 2.0, 2.0, 2.0]
    want = fn(np.arange(4), metrics={"val_loss": reports})
    assert want.tolist() == [1.0, 1.0, 1.0, 0.5]
    for form in (np.asarray(reports), jnp.asarray(reports)):
        np.testing.assert_array_equal(fn(np.arange(4), metrics={"val_loss": form}), want)


def test_to_jax_an_empty_k_needs_no_report():
    fn = schedspec.to_jax(schedspec.loads(TWO_METRICS_YAML))
    assert fn(np.zeros((0,), dtype=np.int32), metrics={"val_loss": []}).shape == (0,)
    assert fn(np.zeros((0,), dtype=np.int32)).shape == (0,)


def test_to_jax_under_jit_names_the_missing_metric_and_the_schedule():
    """Traced ``k``: lengths cannot be checked, but a monitored metric not passed at all is refused, naming it and
    the hyperparameter (also for a group's schedule: ``lr``, not the group's name)."""
    import jax

    spec = schedspec.loads(TWO_METRICS_YAML)
    fn = schedspec.to_jax(spec)
    with pytest.raises(schedspec.SpecError) as err:
        jax.jit(lambda k: fn(k, metrics={"val_loss": jnp_zeros(4)}))(3)
    assert str(err.value) == ("<string>: lr: the `lr` schedule has a `plateau` monitoring 'acc': pass "
                              "metrics={'acc': [...]} (one report per interval, from k = 0)")
    with pytest.raises(schedspec.SpecError) as err:
        jax.jit(lambda k: fn(k))(3)
    assert "monitoring 'acc'" in str(err.value)  # the first missing name in sorted order
    tail = schedspec.to_jax(spec, group="tail")
    with pytest.raises(schedspec.SpecError) as err:
        jax.jit(lambda k: tail(k))(3)
    assert "the `lr` schedule has a `plateau` monitoring 'val_loss'" in str(err.value)
    got = jax.jit(lambda k: tail(k, metrics={"val_loss": jnp_zeros(4)}))(3)
    assert float(got) == float(tail(3, metrics={"val_loss": np.zeros(4)})) == pytest.approx(0.02, rel=1e-6)


def jnp_zeros(n):
    import jax.numpy as jnp

    return jnp.zeros((n,))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_evaluate_a_long_duration_var_in_a_sweep_is_counted_exactly(dtype):
    """Duration vars reach the program as ints (int32, int64 in float64), swept or not: a warmup of 2**24 + 1
    steps (not a float32) is not over at step 2**24."""
    d = 2**24 + 1
    doc = {"schedspec": 1, "vars": {"w": [d, d + 2], "c": d, "peak": [1.0, 2.0]},
           "lr": [{"kind": "linear", "duration": "$w", "start": 0.0, "end": "$peak"},
                  {"kind": "constant", "value": 5.0, "duration": "$c"}, {"kind": "constant", "value": 7.0}]}
    k = np.array([d - 1, d, d + 1, d + 2, 2 * d - 1, 2 * d, 2 * d + 2])
    got = schedspec.evaluate(doc, k, dtype=dtype)
    assert got.shape == (4, 7)
    w_d = got[0]  # w = d, peak = 1.0
    assert w_d[0] < 1.0 and w_d[1] == 5.0 and w_d[4] == 5.0 and w_d[5] == 7.0
    w_d2 = got[3]  # w = d + 2, peak = 2.0
    assert w_d2[2] < 2.0 and w_d2[3] == 5.0 and w_d2[5] == 5.0 and w_d2[6] == 7.0


SWEEP_PLATEAU = """\
schedspec: 1
vars: {peak: [0.5, 1.0, 2.0]}
lr:
  - {kind: linear, duration: 4, start: 0.0, end: $peak}
  - {kind: plateau, duration: 20, monitor: val_loss, every: 2, patience: 0, factor: 0.5}
"""


@pytest.mark.parametrize("shard", [True, None])
def test_a_sharded_sweep_with_a_plateau_gets_its_reports(monkeypatch, shard):
    """Forced (``shard=True``) or automatic (``None``: several devices, not CPU, at least as many members as
    devices), the sharded path feeds the reports to every member: the values of one device."""
    import jax

    spec = schedspec.loads(SWEEP_PLATEAU)
    metrics = {"val_loss": [3.0, 2.0, 2.5, 2.6, 1.0, 1.5, 1.6, 1.7, 1.0, 1.0, 1.0, 1.0]}
    k = np.arange(0, 24)
    single = schedspec.evaluate(spec, k, metrics=metrics, shard=False)
    monkeypatch.setattr(jax, "device_count", lambda *a: 2)
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    sharded_calls = Counter(monkeypatch, evaluator, "_sharded_out")
    np.testing.assert_array_equal(schedspec.evaluate(spec, k, metrics=metrics, shard=shard), single)
    assert sharded_calls.calls == 1


def test_a_spec_without_a_sweep_is_never_sharded(monkeypatch):
    import jax

    monkeypatch.setattr(jax, "device_count", lambda *a: 2)
    monkeypatch.setattr(evaluator, "_sharded_out", lambda *a: pytest.fail("a single schedule was sharded"))
    assert schedspec.evaluate(PLAIN, [0, 4], shard=True).tolist() == [0.0, np.float32(0.2)]


def test_evaluate_an_empty_k_needs_no_report():
    spec = schedspec.loads(TWO_METRICS_YAML)
    assert schedspec.evaluate(spec, np.zeros((0,), dtype=np.int64)).shape == (0,)
    assert schedspec.evaluate(spec, [], metrics={"val_loss": []}).shape == (0,)


def test_float64_reports_keep_their_float64_differences():
    """In float64 the reports are float64: a report lower by 1e-12 is an improvement (no reduction), which float32
    reports could not see (they round both to 1.0, so the plateau would halve)."""
    spec = schedspec.loads("schedspec: 1\nlr:\n  - {kind: plateau, duration: 10, monitor: val_loss, every: 1, "
                           "patience: 0, factor: 0.5, threshold: 0, threshold_mode: abs, start: 1.0}\n")
    metrics = {"val_loss": [1.0, 1.0 - 1e-12, 1.0 - 2e-12]}
    assert schedspec.evaluate(spec, [1, 2, 3], metrics=metrics, dtype="float64").tolist() == [1.0, 1.0, 1.0]
    assert schedspec.evaluate(spec, [1, 2, 3], metrics=metrics, dtype="float32").tolist() == [1.0, 0.5, 0.25]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.dtype("float32"), "float64", "f4"])
def test_dtype_may_be_given_as_numpy_spells_it(dtype):
    want = np.dtype(dtype)
    assert schedspec.evaluate(PLAIN, [0, 3], dtype=dtype).dtype == want
    assert np.asarray(schedspec.to_jax(PLAIN, dtype=dtype)(3)).dtype == want


@pytest.mark.parametrize("dtype,named", [("float16", "'float16'"), (np.int32, "'int32'"), ("bfloat16x", "'bfloat16x'"),
                                         (None, "None"), (3.5, "3.5")])  # fmt: skip
def test_another_dtype_is_refused_naming_it(dtype, named):
    """Any dtype but float32 and float64 is a ValueError naming it, by ``evaluate`` and ``to_jax``: None too (numpy
    reads None as float64, which was silently used), and what numpy cannot read (its TypeError was let through)."""
    for call in (lambda: schedspec.evaluate(PLAIN, [0], dtype=dtype), lambda: schedspec.to_jax(PLAIN, dtype=dtype)):
        with pytest.raises(ValueError) as err:
            call()
        assert str(err.value) == f"dtype must be 'float32' or 'float64' (got {named})"


def test_to_jax_checks_a_concrete_k_as_evaluate_does():
    fn = schedspec.to_jax(PLAIN)
    for bad in (0.5, -1, 2**31, [1, 2.5], np.array([True])):
        with pytest.raises(ValueError):
            fn(bad)
    assert float(fn(2.0)) == float(fn(2)) == np.float32(0.1)


def test_evaluate_numpy_picks_the_first_sweep_member_or_the_one_given_and_a_groups_fallback():
    spec = schedspec.load(SWEEP)
    k = np.array([0, 2, 3, 5, 10, 25, 30])
    every = schedspec.evaluate(spec, k, dtype="float64")  # members: (0.1, 3), (0.1, 5), (0.3, 3), (0.3, 5)
    np.testing.assert_allclose(evaluator.evaluate_numpy(spec, k), every[0], rtol=1e-12)
    np.testing.assert_allclose(evaluator.evaluate_numpy(spec, k, member={"peak": 0.3, "warm": 5}), every[3],
                               rtol=1e-12)
    groups = schedspec.loads(EPOCHLESS_GROUPS)
    np.testing.assert_array_equal(evaluator.evaluate_numpy(groups, k, group="frozen"), evaluator.evaluate_numpy(groups, k))
    # an empty k needs no report, even of a plateau that starts at step 0
    two = schedspec.loads(TWO_METRICS_YAML)
    assert evaluator.evaluate_numpy(two, [], metrics={"val_loss": [], "acc": []}).shape == (0,)


EPOCHLESS_GROUPS = """\
schedspec: 1
lr:
  - {kind: linear, duration: 3, start: 0.0, end: 0.4}
  - {kind: cosine, duration: 20, end: 0.01}
weight_decay: 0.05
groups:
  frozen:
    weight_decay: 0.0
"""


def test_an_unknown_group_is_named_with_a_suggestion_or_none():
    spec = schedspec.load(HOST_SPECS["group"])
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.evaluate(spec, [0], group="heda")
    assert str(err.value) == ("<dict>: groups: the spec has no group 'heda'; did you mean 'head'? "
                              "(it has: head, backbone)")
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.evaluate(PLAIN, [0], group="head")
    assert str(err.value) == "<dict>: groups: the spec has no group 'head' (it has: none)"


def test_a_plateau_built_without_a_source_path_is_positioned_at_its_schedule():
    """A node built by hand has no source path (``ir.Node.path`` is ``()``): a missing report is positioned at the
    schedule it belongs to, ``lr`` or ``groups.head.lr`` (``_metrics.site_path``'s fallback), by ``evaluate``,
    ``evaluate_numpy`` and ``to_jax`` alike."""
    import dataclasses

    from schedspec import ir

    spec = schedspec.loads("schedspec: 1\nlr:\n  - {kind: constant, value: 0.2, duration: 3}\n"
                           "  - {kind: plateau, duration: 20, monitor: val_loss, every: 2, start: 0.1}\n"
                           "groups:\n  head:\n    lr:\n"
                           "      - {kind: plateau, duration: 30, monitor: acc, mode: max, every: 2, start: 0.9}\n")
    p = spec.program
    spec.program = dataclasses.replace(
        p, hparams={n: ir.with_path(v, ()) for n, v in p.hparams.items()},
        groups={g: {n: ir.with_path(v, ()) for n, v in hp.items()} for g, hp in p.groups.items()})
    assert all(site.node.path == () for node in (*spec.program.hparams.values(), spec.program.groups["head"]["lr"])
               for site in schedspec._metrics.sites(node))  # fmt: skip
    tail = ("evaluating k up to 10 needs 5 reports of it (one per 2 steps; report j is made at the end of steps "
            "[2*j, 2*(j+1)), counted from k = 0; this plateau consumes reports from #{first}); pass metrics={{'{m}': "
            "[...]}}")  # fmt: skip
    want = {None: "<string>:3:3: lr: this `plateau` monitors 'val_loss': " + tail.format(first=1, m="val_loss"),
            "head": "<string>:8:7: groups.head.lr: this `plateau` monitors 'acc': " + tail.format(first=0, m="acc")}
    calls = [lambda g: schedspec.evaluate(spec, 10, group=g), lambda g: evaluator.evaluate_numpy(spec, [10], group=g),
             lambda g: schedspec.to_jax(spec, group=g)(10)]  # fmt: skip
    for call in calls:
        for group, message in want.items():
            with pytest.raises(schedspec.SpecError) as err:
                call(group)
            assert str(err.value) == message
