"""Mutation kills for schedspec/_compile.py and schedspec/_emit/_codegen.py (issue 14, item 1).

Both interpreters of the IR, the closures of ``_compile`` and the source text of ``_emit._codegen``, are run on
the numpy and plain-Python namespaces (no compilation) over every combinator and the var, carried-start,
long-sequence and plateau paths, and compared with the independent float64 reference (tests/reference.py); the
helpers nothing else in the fast selections reaches (``final_value``, ``scalar_fn``, ``fixed_param``, the
report-free plateau) are checked against values worked by hand from the README.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import schedspec
from schedspec import _compile, _metrics, ir
from schedspec import backends as B
from schedspec import formulas as F
from schedspec._emit import _codegen
from schedspec.errors import PlateauNeedsMetrics
from schedspec.lowering.bind import bind

try:  # tests/ as a package or as a rootdir on sys.path
    from .reference import ref_values
    from .test_evaluate import assert_close
except ImportError:
    from reference import ref_values
    from test_evaluate import assert_close


def _doc(lr, **top):
    return {"schedspec": 1, **top, "lr": lr}


COS = {"kind": "cosine", "start": 1.0, "end": 0.1, "duration": 8}
LIN = {"kind": "linear", "start": 0.2, "end": 0.9, "duration": 5}
STEP = {"kind": "step", "start": 0.8, "gamma": 0.5, "every": 3, "duration": 10}

# every combinator, its variants (mult 1 / integral / fractional, times or forever, decay), vars in every place the
# closures read them (a number var, a duration var, a sum of durations), carried starts, and long sequences
SPECS = {
    "repeat-times-decay": _doc({"kind": "repeat", "of": COS, "times": 3, "decay": 0.5}),
    "repeat-forever": _doc({"kind": "repeat", "of": LIN}),
    "repeat-forever-decay": _doc({"kind": "repeat", "of": STEP, "decay": 0.9}),
    "repeat-mult2-times": _doc({"kind": "repeat", "of": COS, "mult": 2, "times": 3}),
    "repeat-mult2-forever-decay": _doc({"kind": "repeat", "of": LIN, "mult": 2, "decay": 0.7}),
    "repeat-mult1.5-times": _doc({"kind": "repeat", "of": STEP, "mult": 1.5, "times": 4, "decay": 0.8}),
    "repeat-var-period": _doc({"kind": "repeat", "of": {**COS, "duration": "$p"}, "times": 3, "decay": "$d"},
                              vars={"p": "6st", "d": 0.5}),
    "repeat-var-period-mult2": _doc({"kind": "repeat", "of": {**LIN, "duration": "$p"}, "mult": 2, "times": 4},
                                    vars={"p": "3st"}),
    "repeat-var-period-mult3-forever": _doc({"kind": "repeat", "of": {**LIN, "duration": "$p"}, "mult": 3},
                                            vars={"p": "2st"}),
    # a var period stretched by mult 2 with a var decay: the cycle count reaches the decay (and is capped at
    # times - 1 from the end on)
    "repeat-var-period-mult2-decay": _doc({"kind": "repeat", "of": {**LIN, "duration": "$p"}, "mult": 2, "times": 4,
                                           "decay": "$d"}, vars={"p": "3st", "d": 0.5}),
    "repeat-mult2-decay-var-of-vars": _doc({"kind": "repeat", "of": {**COS, "end": "$e"}, "mult": 2, "times": 3,
                                            "decay": "$d"}, vars={"e": 0.2, "d": 0.5}),
    "repeat-growing": _doc({"kind": "repeat", "of": COS, "times": 3, "decay": 2}),
    "product": _doc({"kind": "product", "of": [COS, STEP, {"kind": "constant", "value": 0.5, "duration": 30}]}),
    "sum": _doc({"kind": "sum", "of": [COS, LIN, STEP]}),
    "scale-var": _doc({"kind": "scale", "by": "$s", "of": [LIN, COS]}, vars={"s": 0.25}),
    "clip-min": _doc({"kind": "clip", "min": 0.3, "of": [LIN, COS]}),
    "clip-max": _doc({"kind": "clip", "max": 0.6, "of": [LIN, COS]}),
    "clip-both-vars": _doc({"kind": "clip", "min": "$lo", "max": "$hi", "of": [LIN, COS, STEP]},
                           vars={"lo": 0.25, "hi": 0.75}),
    "clip-of-vars": _doc({"kind": "clip", "min": 0.1, "of": [{**LIN, "end": "$e"}, {**COS, "duration": "$w"}]},
                         vars={"e": 0.7, "w": "9st"}),
    "scale-of-vars": _doc({"kind": "scale", "by": 2.0, "of": [{**LIN, "end": "$e"}, {**COS, "duration": "$w"}]},
                          vars={"e": 0.7, "w": "9st"}),
    # every part of a product or a sum reads the vars from env (the first part and the later ones are called apart)
    "product-of-vars": _doc({"kind": "product", "duration": 30, "of": [{**LIN, "end": "$e"}, {**COS, "duration": "$w"},
                                                       {"kind": "constant", "value": "$c", "duration": 30}]},
                            vars={"e": 0.7, "w": "9st", "c": 0.5}),
    "sum-of-vars": _doc({"kind": "sum", "of": [{**COS, "start": "$c"}, {**LIN, "end": "$e"}]},
                        vars={"e": 0.7, "c": 0.3}),
    "tables-of-vars": _doc([{"kind": "multistep", "start": 1.0, "gamma": 0.5, "milestones": [3, "$m", 12],
                             "duration": 20},
                            {"kind": "piecewise", "points": [[0, 0.2], ["$m", "$v"], [15, 0.1]], "duration": 20,
                             "interpolate": "linear"}],
                           vars={"m": "7st", "v": 0.6}),
    # more than formulas.SMALL_TABLE points: the ats and the values are constant tables
    "piecewise-20-points": _doc({"kind": "piecewise", "interpolate": "linear", "duration": 100,
                                 "points": [[5 * i, round(0.1 + 0.04 * (i % 7), 2)] for i in range(20)]}),
    # one-item tables: the emitted constant must stay a tuple, ``(6,)``
    "one-milestone": _doc([{"kind": "multistep", "start": 1.0, "gamma": 0.5, "milestones": [6], "duration": 10},
                           {"kind": "piecewise", "points": [[0, 0.3]], "duration": 5}]),
    "sequence-vars": _doc([{"kind": "linear", "start": 0.0, "end": "$peak", "duration": "$w"},
                           {"kind": "cosine", "end": "$floor", "duration": "$d"},
                           {"kind": "constant", "value": "$floor", "duration": 4},
                           {"kind": "step", "gamma": 0.5, "every": 2, "duration": 6}],
                          vars={"peak": 0.9, "w": "7st", "d": "11st", "floor": 0.05}),
    "nested-carried": _doc([LIN, [{"kind": "cosine", "end": 0.3, "duration": 6}, STEP],
                            {"kind": "repeat", "of": {"kind": "linear", "end": 0.1, "duration": 4}, "times": 2}]),
    "long-constant": _doc([dict(p) for _ in range(6) for p in (LIN, COS, STEP)]),
    "long-carried-vars": _doc([
        {"kind": "linear", "start": "$a", "end": 0.5, "duration": 3} if i % 5 == 0 else
        {"kind": "cosine", "end": "$b" if i % 2 else 0.2, "duration": "$w" if i % 7 == 3 else 4} if i % 3 else
        {"kind": "exponential", "gamma": 0.9, "every": 2, "duration": 5}
        for i in range(20)], vars={"a": 0.8, "b": 0.05, "w": "6st"}),
    # a long sequence whose carried starts come from parts the tables cannot read a held value from: a repeat
    # whose end is a var (a combinator: evaluated on its own) and a step whose start is a var (no held param), the
    # latter carried into a constant's value
    "long-carried-from-alone": _doc([*[dict(p) for _ in range(8) for p in (LIN, COS)],
                                     {"kind": "repeat", "times": 2,
                                      "of": {"kind": "linear", "start": 0.9, "end": "$e", "duration": 3}},
                                     {"kind": "step", "gamma": 0.5, "every": 2, "duration": 5},
                                     {"kind": "step", "start": "$a", "gamma": 0.5, "every": 2, "duration": 6},
                                     {"kind": "constant", "duration": 4}, LIN],
                                    vars={"e": 0.3, "a": 0.7}),
    # a long sequence whose second part is evaluated on its own and whose last part (a step, grouped) does not
    # clamp its own time: the tables clamp t to its end (read beyond it, t up to 179)
    "long-second-alone": _doc([LIN, {"kind": "repeat", "of": COS, "times": 2},
                               *[dict(p) for _ in range(7) for p in (LIN, COS)], STEP]),
    # a long sequence whose every part is evaluated on its own (no group: the first part alone assigns `out`)
    "long-all-alone": _doc([{"kind": "repeat", "times": 2, "of": {**LIN, "start": 0.1 + 0.05 * i}} for i in range(17)]),
    "long-open-last": _doc([*[dict(p) for _ in range(6) for p in (LIN, STEP, COS)],
                            {"kind": "linear", "start": 0.3, "end": 0.0, "duration": 5},
                            {"kind": "constant", "value": 0.125}], total=170),
}


def _program(spec):
    return schedspec.load(spec).program


def _env(program) -> dict:
    """The vars' values as ``_compile`` reads them (``evaluate``'s env): numbers and durations in interval units."""
    env = {}
    for name, v in program.vars.items():
        if v.number is not None:
            env[("num", name)] = v.number[0]
        if v.steps is not None:
            env[("dur", name)] = v.steps[0]
    return env


def _steps(spec) -> np.ndarray:
    return np.arange(0, 180)


def _emitted(node: ir.Node, scalar: bool):
    gen = _codegen.generate(node, scalar=scalar, label="lr", unit="step")
    namespace = dict(vars(F))
    exec("\n".join(line for block in gen.constants for line in block), namespace)  # noqa: S102 - our own output
    exec("\n\n".join("\n".join(f) for f in gen.functions), namespace)  # noqa: S102
    return namespace


@pytest.mark.parametrize("name", list(SPECS))
def test_compile_with_vars_in_env_matches_reference(name):
    """The unbound tree (vars read from ``env``, as ``evaluate`` does) on numpy and on plain Python."""
    spec = SPECS[name]
    program = _program(spec)
    node, env, k = program.hparams["lr"], _env(program), _steps(spec)
    want = ref_values(spec, k)
    assert_close(np.asarray(_compile.build(node, B.NumpyXP())(k, env), dtype=np.float64), want, "float64",
                 what="numpy, vars in env")  # fmt: skip
    fn = _compile.build(node, B.MathXP)
    assert_close([float(fn(int(i), env)) for i in k], want, "float64", what="plain Python, vars in env")


@pytest.mark.parametrize("name", list(SPECS))
def test_emitted_source_matches_reference(name):
    """The emitted source of the bound tree, scalar and array, and the bound tree's closures."""
    spec = SPECS[name]
    program = _program(spec)
    node, k = bind(program, None).hparams["lr"], _steps(spec)
    want = ref_values(spec, k)
    scalar = _emitted(node, scalar=True)["_value"]
    assert_close([float(scalar(B.MathXP, int(i))) for i in k], want, "float64", what="emitted scalar")
    with np.errstate(all="ignore"):
        array = _emitted(node, scalar=False)["_value"](B.NumpyXP(), k)
    assert_close(np.asarray(array, dtype=np.float64), want, "float64", what="emitted array")
    assert_close(np.asarray(_compile.build(node, B.NumpyXP())(k, {}), dtype=np.float64), want, "float64",
                 what="bound numpy")  # fmt: skip


# ------------------------------------------------------------------------------------------------ plateaus
PLATEAUS = {
    "after-a-warmup-carried": _doc([LIN, {"kind": "plateau", "duration": 30, "monitor": "loss", "every": 3,
                                          "patience": 1, "factor": 0.5},
                                    {"kind": "linear", "end": 0.01, "duration": 9}]),
    "two-metrics-max": _doc([{"kind": "plateau", "duration": 21, "start": 0.4, "monitor": "acc", "every": 2,
                              "mode": "max", "patience": 0, "factor": 0.5, "threshold": 0.01,
                              "threshold_mode": "abs", "cooldown": 1, "min": 0.06},
                             {"kind": "plateau", "monitor": "loss", "every": 4, "patience": 1, "factor": 0.25}],
                            total=60),
    # a long sequence (tables) with parts evaluated on their own (a plateau, a repeat) and a last phase that does not
    # clamp t itself (the tables clamp it to the sequence's end)
    "long-with-parts-alone": _doc([*[dict(p) for _ in range(8) for p in (LIN, COS)],
                                   {"kind": "plateau", "duration": 6, "monitor": "loss", "every": 3, "patience": 0},
                                   {"kind": "repeat", "of": LIN, "times": 2},
                                   {"kind": "step", "gamma": 0.5, "every": 2, "duration": 5}]),
    # a plateau in a sequence inside a clip, after a warmup: its origin is the outer begin plus the inner one
    "in-a-clip-after-a-warmup": _doc([LIN, {"kind": "clip", "max": 0.6, "of": [
        {"kind": "linear", "start": 0.9, "end": 0.3, "duration": 4},
        {"kind": "plateau", "duration": 20, "monitor": "loss", "every": 3, "patience": 0, "factor": 0.5}]},
        {"kind": "linear", "end": 0.01, "duration": 9}]),
    # a plateau's duration and params as vars (read from env on the unbound tree)
    "vars": _doc([{"kind": "plateau", "duration": "$w", "start": "$s", "monitor": "loss", "every": 3, "patience": 0,
                   "factor": "$f", "threshold": "$th", "min": "$lo", "eps": "$eps"},
                  {"kind": "linear", "end": 0.01, "duration": 9}],
                 vars={"w": "27st", "s": 0.5, "f": 0.5, "th": 0.01, "lo": 0.07, "eps": 1e-9}),
}
METRICS = {
    "loss": [1.0, 0.9, 0.95, 0.97, 0.99, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6,
             1.7, 1.8, 1.9, 2.0, *[2.0 + i / 10 for i in range(30)]],
    "acc": [0.1, 0.2, 0.2, 0.205, 0.3, 0.3, 0.3, 0.3, 0.31, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,
            0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
}


@pytest.mark.parametrize("name", list(PLATEAUS))
def test_plateaus_on_both_interpreters_match_reference(name):
    spec = PLATEAUS[name]
    node = bind(_program(spec), None).hparams["lr"]
    k = np.arange(0, 130)
    want = ref_values(spec, k, metrics=METRICS)
    env = {("metric", n): [float(x) for x in v] for n, v in METRICS.items()}
    fn = _compile.build(node, B.MathXP)
    assert_close([float(fn(int(i), env)) for i in k], want, "float64", what="plain-Python plateau")
    program = _program(spec)
    if program.vars:  # the unbound tree, vars read from env
        unbound = _compile.build(program.hparams["lr"], B.MathXP)
        venv = {**env, **_env(program)}
        assert_close([float(unbound(int(i), venv)) for i in k], want, "float64", what="plateau, vars in env")
    np_env = {key: np.asarray(v) for key, v in env.items()}
    assert_close(np.asarray(_compile.build(node, B.NumpyXP())(k, np_env), dtype=np.float64), want, "float64",
                 what="numpy plateau")  # fmt: skip
    for scalar in (True, False):
        ns = _emitted(node, scalar=scalar)
        xp = B.MathXP if scalar else B.NumpyXP()
        p = ns["_plateaus"](xp, METRICS if scalar else {n: np.asarray(v) for n, v in METRICS.items()},
                            {n: len(v) for n, v in METRICS.items()})  # fmt: skip
        got = [float(ns["_value"](xp, int(i), p)) for i in k] if scalar else ns["_value"](xp, k, p)
        assert_close(np.asarray(got, dtype=np.float64), want, "float64", what=f"emitted plateau, scalar={scalar}")
        assert ns["_waiting"](129, {n: len(v) for n, v in METRICS.items()}) == []


@pytest.mark.parametrize("name", list(PLATEAUS))
@pytest.mark.parametrize("xp", [B.MathXP, B.NumpyXP()], ids=["math", "numpy"])
def test_plateau_from_an_online_trajectory_matches_reference(name, xp):
    """The path of the online adapters (torch, Keras, Optax): ``env[("trajectory", node, origin)]`` as
    ``_metrics.trajectories`` keeps it; with fewer reports than needed, NaN exactly where the metrics path says."""
    spec = PLATEAUS[name]
    node = bind(_program(spec), None).hparams["lr"]
    k = np.arange(0, 130)
    want = np.asarray(ref_values(spec, k, metrics=METRICS))
    fn = _compile.build(node, xp)

    def values(env):
        if xp is B.MathXP:
            return np.asarray([float(fn(int(i), env)) for i in k])
        out = np.asarray(fn(k, env), dtype=np.float64)
        assert out.shape == k.shape
        return out

    for cut in (None, 5):
        env = {("metric", n): [float(x) for x in v] for n, v in METRICS.items()}
        if cut is not None:
            env |= {("count", n): cut for n in METRICS}
        online = values(_metrics.trajectories(xp, _metrics.sites(node), env))
        if cut is None:
            assert_close(online, want, "float64", what="trajectory path")
        else:
            offline = values(env)
            assert np.isnan(online).any() and not np.isnan(online).all()
            np.testing.assert_array_equal(np.isnan(online), np.isnan(offline))
            ok = ~np.isnan(online)
            assert_close(online[ok], want[ok], "float64", what="trajectory path, reports cut")


def _one(fn, xp, t) -> float:
    return float(fn(t, {})) if xp is B.MathXP else float(np.asarray(fn(np.asarray([t]), {})).reshape(-1)[0])


@pytest.mark.parametrize("xp", [B.MathXP, B.NumpyXP()], ids=["math", "numpy"])
def test_a_plateau_without_reports_holds_its_start_until_its_first_report_is_needed(xp):
    """Before its first report (k < every, counted from k = 0) a plateau is its start and needs no metrics; from
    the first report on it raises PlateauNeedsMetrics, with the whole message."""
    for every, unit in ((10, "steps"), (1, "step")):
        spec = _doc([{"kind": "plateau", "duration": 40, "start": 0.3, "monitor": "loss", "every": every}])
        fn = _compile.build(bind(_program(spec), None).hparams["lr"], xp)
        for t in range(every):
            assert _one(fn, xp, t) == 0.3
            if xp is not B.MathXP:
                assert np.shape(fn(np.arange(t + 1), {})) == (t + 1,)
        with pytest.raises(PlateauNeedsMetrics) as e:
            fn(every if xp is B.MathXP else np.arange(every + 1), {})
        assert str(e.value).endswith(
            "the `plateau` phase monitoring 'loss' needs its metric reports: pass metrics={'loss': [...]} "
            f"(one report per {every} {unit}, counted from k = 0)"
        )
    # a plateau beginning at k = 6 (origin 6) with every 4: report 1 (made at k = 8) is its first
    spec = _doc([{"kind": "constant", "value": 0.5, "duration": 6},
                 {"kind": "plateau", "duration": 20, "monitor": "m", "every": 4}])
    fn = _compile.build(bind(_program(spec), None).hparams["lr"], xp)
    assert [_one(fn, xp, t) for t in range(8)] == [0.5] * 8
    with pytest.raises(PlateauNeedsMetrics):
        fn(8 if xp is B.MathXP else np.asarray([8]), {})


def test_no_report_needed_and_traced_backends():
    assert _compile._no_report_needed(np.arange(10), 0, 10, 0)
    assert not _compile._no_report_needed(np.arange(11), 0, 10, 0)
    # a plateau from k = 6, every 4 (first = 6 // 4 = 1): report 1, made at k = 8, is the first it needs
    assert _compile._no_report_needed(np.asarray([0, 1]), 6, 4, 1)  # k = 6, 7
    assert not _compile._no_report_needed(np.asarray([0, 2]), 6, 4, 1)  # k = 8
    assert not _compile._no_report_needed(np.asarray([5]), 6, 4, 1)  # k = 11
    assert not _compile.xp_is_traced(B.MathXP)
    assert not _compile.xp_is_traced(B.NumpyXP())
    assert _compile.xp_is_traced(object())  # any other namespace: jax, keras.ops


# ------------------------------------------------------------------------------------------------ helpers
# a cycle that begins at exactly k = 2**31 - 1: a 1-step period doubling forever begins cycle i at 2**i - 1
HUGE = {
    "constant-period": _doc({"kind": "repeat", "of": {"kind": "linear", "start": 1.0, "end": 0.0, "duration": 1},
                             "mult": 2}),
    "var-period": _doc({"kind": "repeat", "of": {"kind": "linear", "start": 1.0, "end": 0.0, "duration": "$p"},
                        "mult": 2}, vars={"p": "1st"}),
}


@pytest.mark.parametrize("name", list(HUGE))
def test_a_cycle_that_begins_at_the_last_step(name):
    spec = HUGE[name]
    program = _program(spec)
    k = [2**30 - 2, 2**30 - 1, 2**31 - 3, 2**31 - 2, 2**31 - 1]
    want = ref_values(spec, k)
    assert want[1] == want[4] == 1.0  # cycles 30 and 31 begin: the start
    fn = _compile.build(program.hparams["lr"], B.MathXP)
    assert [float(fn(i, _env(program))) for i in k] == want
    got = _compile.build(program.hparams["lr"], B.NumpyXP())(np.asarray(k, dtype=np.int64), _env(program))
    assert np.asarray(got, dtype=np.float64).tolist() == want


def test_two_equal_plateaus_one_after_the_other_have_a_row_each():
    """Two plateaus with the same parameters are equal IR nodes: the emitted source tells them apart by where
    they begin (their origin), as ``_compile`` does."""
    p = {"kind": "plateau", "duration": 12, "start": 0.4, "monitor": "loss", "every": 2, "patience": 0}
    spec = _doc([p, p])
    node = bind(_program(spec), None).hparams["lr"]
    k = np.arange(0, 30)
    metrics = {"loss": [1.0, 2.0, 3.0, 0.5, 0.6, 0.7, 1.0, 2.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]}
    want = ref_values(spec, k, metrics=metrics)
    for scalar in (True, False):
        ns = _emitted(node, scalar=scalar)
        xp = B.MathXP if scalar else B.NumpyXP()
        p_rows = ns["_plateaus"](xp, {"loss": np.asarray(metrics["loss"])}, {"loss": len(metrics["loss"])})
        assert len(p_rows) == 2
        got = [float(ns["_value"](xp, int(i), p_rows)) for i in k] if scalar else ns["_value"](xp, k, p_rows)
        assert_close(np.asarray(got, dtype=np.float64), want, "float64", what=f"two plateaus, scalar={scalar}")


def test_final_value_and_scalar_fn_match_reference():
    spec = SPECS["sequence-vars"]
    program = _program(spec)
    node, env = program.hparams["lr"], _env(program)
    assert _compile.final_value(node, env) == 0.05 * 0.5 ** 3  # the step's 6 steps: 3 halvings of the floor
    bound = bind(program, None).hparams["lr"]
    assert _compile.final_value(bound) == 0.05 * 0.5 ** 3
    cos = _doc(COS)
    assert _compile.final_value(bind(_program(cos), None).hparams["lr"]) == 0.1
    for name in ("nested-carried", "repeat-mult1.5-times", "long-carried-vars"):
        b = bind(_program(SPECS[name]), None).hparams["lr"]
        fn = _compile.scalar_fn(b)
        k = [0, 1, 7, 8, 9, 40, 2**31 - 1]
        got = [fn(np.int64(i)) for i in k]
        assert all(type(v) is float for v in got)
        assert_close(got, ref_values(SPECS[name], k), "float64", what=f"scalar_fn {name}")
    assert _compile.scalar_fn(bind(_program(cos), None).hparams["lr"])(3.0) == ref_values(cos, [3])[0]


def test_table_key_names_the_group_of_a_tabled_part_and_none_for_a_part_on_its_own():
    node = bind(_program(PLATEAUS["long-with-parts-alone"]), None).hparams["lr"]
    keys = [_compile.table_key(p) for p in node.parts]
    assert keys[16:18] == [None, None]  # the plateau and the repeat
    assert [k[0] for k in keys[:3]] == ["linear", "cosine", "linear"] and keys[0] == keys[2] != keys[1]
    assert keys[18] == ("step", (_compile.GATHER, 0.5, _compile.GATHER))


def test_fixed_param_reads_only_what_is_known_without_evaluating():
    node = bind(_program(_doc(LIN)), None).hparams["lr"]
    assert _compile.fixed_param(0.25) == 0.25
    assert _compile.fixed_param(3) == 3
    assert _compile.fixed_param(True) is None
    assert _compile.fixed_param(ir.Var("x")) is None
    assert _compile.table_value(ir.Var("x")) == ir.Var("x")
    assert _compile.fixed_param(ir.Final(node)) == 0.9  # a linear phase holds its end
    assert _compile.table_value(ir.Final(node)) == 0.9


# ------------------------------------------------------------------------------------------------ emitted text
# the long sequence of PLATEAUS["long-with-parts-alone"]: 8 x (linear 5, cosine 8) from tables (begins 0, 5, 13,
# .., 96), a plateau at 104 (every 3: first report 104 // 3 = 34) and a repeat at 110 on their own, a step (not
# self-clamping: the tables clamp t to its end, 120 + 5 = 125)
_LONG_HEAD = [
    "def _value(xp, t, p):",
    '    """lr: a sequence of 19 phases, from tables: the segment i of t, then one formula call per group (a kind'
    ' and its static values) on its parameters at row i."""',
    "    t = xp.minimum(t, 125)  # the last phase's end",
    "    i = xp.count_le(_BEGINS_LATER_1, t)  # the last phase that begins at or before t",
    "    local = t - xp.take(_BEGINS_2, i)",
    "    g = xp.take(_GROUPS_3, i)  # 0: on its own",
    "    d0_i = xp.take(_DURATIONS0_4, i)",
    "    p0_i = xp.take(_PARAMS0_5, i)",
    "    p1_i = xp.take(_PARAMS1_6, i)",
]
LONG_ARRAY = [*_LONG_HEAD,
    "    # group 1: 8 phases",
    "    out = linear(xp, local, d0_i, p0_i, p1_i)",
    "    # group 2: 8 phases",
    "    v = cosine(xp, local, d0_i, p0_i, p1_i, 1.0)",
    "    out = xp.where(g == 2, v, out)",
    "    # group 3: 1 phases",
    "    v = step(xp, local, p0_i, 0.5, d0_i)",
    "    out = xp.where(g == 3, v, out)",
    "    # lr[16]: plateau from t = 104",
    "    t16 = xp.maximum(t - 104, 0)",
    "    v16 = plateau(xp, xp.minimum(t16, 6), 104, 3, *p[0], 34)",
    "    out = xp.where(i == 16, v16, out)",
    "    # lr[17]: repeat from t = 110",
    "    t17 = xp.maximum(t - 110, 0)",
    "    v17 = _repeat_1(xp, xp.minimum(t17, 10), p)",
    "    out = xp.where(i == 17, v17, out)",
    "    return out",
]  # fmt: skip
LONG_SCALAR = [*_LONG_HEAD,
    "    # group 1: 8 phases",
    "    if g == 1:",
    "        return linear(xp, local, d0_i, p0_i, p1_i)",
    "    # group 2: 8 phases",
    "    if g == 2:",
    "        return cosine(xp, local, d0_i, p0_i, p1_i, 1.0)",
    "    # group 3: 1 phases",
    "    if g == 3:",
    "        return step(xp, local, p0_i, 0.5, d0_i)",
    "    # lr[16]: plateau from t = 104",
    "    if i == 16:",
    "        return plateau(xp, xp.minimum(local, 6), 104, 3, *p[0], 34)",
    "    # lr[17]: repeat from t = 110",
    "    return _repeat_1(xp, xp.minimum(local, 10), p)",
]  # fmt: skip


@pytest.mark.parametrize("scalar", [True, False], ids=["scalar", "array"])
def test_the_emitted_text_of_a_long_sequence(scalar):
    """What a reader of the emitted module sees for a long sequence: the tables' names, the comments, one branch
    per group and per part on its own, the clamp to the end (no example has a long sequence: the snapshots of
    tests/test_snapshots.py do not show it)."""
    node = bind(_program(PLATEAUS["long-with-parts-alone"]), None).hparams["lr"]
    gen = _codegen.generate(node, scalar=scalar, label="lr", unit="step")
    assert gen.functions[0] == (LONG_SCALAR if scalar else LONG_ARRAY)
    assert [block[0].split(" = ")[0] for block in gen.constants] == [
        "_BEGINS_LATER_1", "_BEGINS_2", "_GROUPS_3", "_DURATIONS0_4", "_PARAMS0_5", "_PARAMS1_6", "_REPORTS"]  # fmt: skip
    assert gen.constants[0] == ["_BEGINS_LATER_1 = (5, 13, 18, 26, 31, 39, 44, 52, 57, 65, 70, 78, 83, 91, 96, 104,"
                                " 110, 120)"]  # fmt: skip
    assert gen.constants[2] == ["_GROUPS_3 = (1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 0, 0, 3)"]
    # the formulas the standalone module copies, and the part on its own labelled by its place in the sequence
    assert gen.formulas == {"linear", "cosine", "step", "plateau", "plateau_needed", "plateau_trajectory"}
    assert gen.functions[1][:2] == ["def _repeat_1(xp, t, p):",
                                    '    """lr[17]: repeat a 5-step period 2 times (mult 1.0, decay 1.0)."""']



@pytest.mark.parametrize("name, clamp", [
    ("long-constant", 138), ("long-second-alone", 122), ("long-carried-from-alone", None), ("long-all-alone", None),
])  # fmt: skip
@pytest.mark.parametrize("scalar", [True, False], ids=["scalar", "array"])
def test_a_long_sequence_clamps_t_to_its_end_only_where_its_last_part_does_not(name, clamp, scalar):
    """The tables clamp t to the sequence's end when its last part is in a group and does not clamp its own time
    (a step); a linear last part clamps itself, and a part on its own is clamped where it is called. The scalar
    path's last branch is a bare ``return`` (every row belongs to a group or is a part on its own)."""
    gen = _codegen.generate(bind(_program(SPECS[name]), None).hparams["lr"], scalar=scalar, label="lr", unit="step")
    text = gen.functions[0]
    if clamp is None:
        assert text[2].startswith("    i = xp.count_le(_BEGINS_LATER_1, t)")
    else:
        assert text[2] == f"    t = xp.minimum(t, {clamp})  # the last phase's end"
    if name == "long-constant" and scalar:
        assert text[-4:] == ["    if g == 2:", "        return cosine(xp, local, d0_i, p0_i, p1_i, 1.0)",
                             "    # group 3: 6 phases", "    return step(xp, local, p0_i, 0.5, d0_i)"]  # fmt: skip



def test_the_emitted_text_of_a_decayed_repeat_of_a_sequence():
    """A whole-period repeat with `times` and a decay: the cycle count, the held end, the decay applied by
    ``scaled`` (copied into the module), the `of` labelled `lr.of`."""
    spec = _doc({"kind": "repeat", "of": [LIN, COS], "times": 3, "decay": 0.5})
    gen = _codegen.generate(bind(_program(spec), None).hparams["lr"], scalar=True, label="lr", unit="step")
    assert gen.functions[0] == [
        "def _repeat_1(xp, t):",
        '    """lr: repeat a 13-step period 3 times (mult 1.0, decay 0.5)."""',
        "    c = xp.floordiv(t, 13)",
        "    local = t - c * 13",
        "    done = c >= 3",
        "    c = xp.minimum(c, 2)",
        "    local = xp.where(done, 13, local)",
        "    v = _sequence_2(xp, local)",
        "    return scaled(xp, v, 0.5, xp.f(c))",
    ]  # fmt: skip
    assert gen.functions[1][1] == '    """lr.of: a sequence of 2 phases starting at t = 0, 5."""'
    assert gen.functions[2] == ["def _value(xp, t):", '    """lr: repeat at time t."""',
                                "    return _repeat_1(xp, xp.minimum(t, 39))"]  # fmt: skip
    assert gen.formulas == {"linear", "cosine", "scaled"}


# ------------------------------------------------------------------------------------------------ guards
def test_nothing_but_checked_names_and_numbers_reaches_the_emitted_source():
    """The guards of the code generator (a spec string never becomes code): a metric name must be an ASCII
    identifier, a word one of the IR's fixed words, a number finite, a namespace an identifier."""
    assert _codegen.metric("val_loss") == '"val_loss"'
    for bad in ("val loss", "é", 'x"; import os', 3, "1a"):
        with pytest.raises(ValueError, match=r"^unexpected metric name "):
            _codegen.metric(bad)
    with pytest.raises(ValueError, match=r"^unexpected metric name 'é'$"):
        _codegen.metric("é")
    assert _codegen.word("cos") == '"cos"'
    with pytest.raises(ValueError, match=r"^unexpected IR word 'os'$"):
        _codegen.word("os")
    # a row's own vocabulary (kinds.Slot.words) is checked too: only plain ASCII identifiers become literals
    for bad in ("é", "a b", 'x"+"y', "1a"):
        with pytest.raises(ValueError, match=r"^unexpected IR word "):
            _codegen.word(bad, {bad})
    assert _codegen.word("clip_me", {"clip_me"}) == '"clip_me"'
    with pytest.raises(ValueError, match=r"^cannot emit the non-finite number inf$"):
        _codegen.num(float("inf"))
    with pytest.raises(TypeError, match=r"^expected a number in the bound IR, got 'x' \(str\)$"):
        _codegen.num("x")
    with pytest.raises(ValueError, match=r"^unexpected namespace 'a-b'$"):
        _codegen.generate(bind(_program(_doc(LIN)), None).hparams["lr"], scalar=True, label="lr", unit="step", ns="a-b")


@pytest.mark.parametrize("period", [0, -3, ir.DVar("p")], ids=["zero", "negative", "var"])
def test_the_code_generator_refuses_a_repeat_period_that_is_not_a_positive_int(period):
    import dataclasses

    node = bind(_program(SPECS["repeat-times-decay"]), None).hparams["lr"]
    assert isinstance(node, ir.Repeat)
    bad = dataclasses.replace(node, period=period)
    with pytest.raises(ValueError, match=r"^repeat period must be a positive int after binding \(got "):
        _codegen.generate(bad, scalar=True, label="lr", unit="step")


@pytest.mark.parametrize("period, m, times", [
    (6, 1.5, 5), (6, 1.5, None), (2, 1.5, None), (10, 2, 4), (5, 3, None), (7, 1.1, None), (13, 1.7, 9),
    (3, 1.25, None), (6, 1.001, 600),
])  # fmt: skip
def test_the_cycle_table_is_the_exact_definition(period, m, times):
    """Cycle i of a repeat with a whole period P and a stretch m starts at the first step at or after
    P * (m**i - 1) / (m - 1) (docs/language.md), computed here with exact fractions: the first step, its distance
    from the exact start and m**i (both correctly rounded floats), up to 2**31 - 1 or the end after `times`. With
    P = 2, m = 1.5 the starts 2 and 5 are whole: a restart exactly there, not one step later."""
    from fractions import Fraction

    mf, want = Fraction(m), ([], [], [])
    i = 0
    while True:
        start = period * (mf**i - 1) / (mf - 1)
        first = math.ceil(start)
        if first > 2**31 - 1 or (times is not None and i > times):
            break
        for col, v in zip(want, (first, float(first - start), float(mf**i))):
            col.append(v)
        i += 1
    got = _compile._cycle_table(period, m, times)
    assert tuple(got) == want
    if (period, m) == (2, 1.5):
        assert got[0][:4] == [0, 2, 5, 10] and got[1][:4] == [0.0, 0.0, 0.0, 0.5]


# ------------------------------------------------------------------------------------------------ real periods
# a repeat with a real cycle length (`period: "<D>/<c>"`) or a shifted clock, on both interpreters with the vars
# read from env and in the emitted source: a whole length with a shift (integer local times), a decay of 2 and a
# var decay (both scale every cycle), a shift past a window, more than formulas.SMALL_TABLE cycle starts per window
# (713 per 5000 steps: the starts are a table), an `of` that reads vars, one window holding every step (a decimal
# count that takes the numerator past 2**31 - 1) with a cycle beginning at the last step, and a numerator exactly
# at 2**31 - 1 (the last length with windows)
_WAVE_VARS = [{"kind": "cosine", "start": "$hi", "end": "$lo", "duration": 1},
              {"kind": "cosine", "start": "$lo", "end": "$hi", "duration": 1}]
_WAVE = [{"kind": "cosine", "start": 1.0, "end": 0.1, "duration": 1},
         {"kind": "cosine", "start": 0.1, "end": 1.0, "duration": 1}]
REAL = {
    # a whole cycle length with a clock shift: integer local times (the real starts themselves)
    "whole-shifted-decay-times": (_doc({"kind": "repeat", "shift": 3, "decay": 0.8, "times": 5,
                                        "of": {"kind": "cosine", "start": 1.0, "end": 0.1, "duration": 9}}),
                                  Fraction(9), 3),
    "whole-shifted-forever": (_doc({"kind": "repeat", "shift": 25, "of": _WAVE_VARS}, vars={"hi": 0.9, "lo": 0.3}),
                              Fraction(2), 25),
    "decay-2": (_doc({"kind": "repeat", "period": "22/3", "times": 3, "decay": 2,
                      "of": {"kind": "cosine", "start": 1.0, "end": 0.1, "duration": 4}}), Fraction(22, 3), 0),
    # a decay of exactly 2 counts cycles with no `times` (one window: cycles 0, 1, 2 before 2**31)
    "decay-2-forever-one-window": (_doc({"kind": "repeat", "period": "1610612735/1.5", "decay": 2,
                                         "of": {"kind": "linear", "start": 1.0, "end": 0.0, "duration": 1}}),
                                   Fraction(3221225470, 3), 0),
    # a shift of more than a window (u = 22): the cycle count of the first window is 50 // 22 * 3 cycles ahead
    "shift-beyond-a-window": (_doc({"kind": "repeat", "period": "22/3", "shift": 50, "times": 12, "decay": 0.9,
                                    "of": {"kind": "cosine", "start": 1.0, "end": 0.1, "duration": 4}}),
                              Fraction(22, 3), 50),
    "decay-var-shift": (_doc({"kind": "repeat", "period": "26/3", "shift": 4, "decay": "$d", "of": _WAVE},
                             vars={"d": 0.9}), Fraction(26, 3), 4),
    "many-starts-of-vars": (_doc({"kind": "repeat", "period": "50/7.13", "shift": 3, "times": 40, "of": _WAVE_VARS},
                                 vars={"hi": 1.0, "lo": 0.1}), Fraction(5000, 713), 3),
    "many-starts-forever": (_doc({"kind": "repeat", "period": "50/7.13", "of": _WAVE}), Fraction(5000, 713), 0),
    "one-window-of-vars": (_doc({"kind": "repeat", "period": "2000000000/0.7", "shift": 5, "of": _WAVE_VARS},
                                vars={"hi": 0.8, "lo": 0.2}), Fraction(20_000_000_000, 7), 5),
    # one window (u = 6442450940 > 2**31 - 1), cycle 1's first step the last step, 2**31 - 1 (P = 2147483646.67)
    "last-step-starts-a-cycle": (_doc({"kind": "repeat", "period": "1610612735/0.75",
                                       "of": {"kind": "linear", "start": 1.0, "end": 0.0, "duration": 1}}),
                                 Fraction(6442450940, 3), 0),
    "numerator-2**31-1": (_doc({"kind": "repeat", "period": "2147483647/2", "shift": 2, "of": _WAVE}),
                          Fraction(2**31 - 1, 2), 2),
}  # fmt: skip


def _real_steps(length: Fraction, shift: int) -> list[int]:
    """k = b-1, b, b+1 around the first 50 cycles' first steps, the first steps of the first windows (``u``
    steps each) and the last steps below 2**31."""
    out = set(range(0, 60)) | {2**31 - 3, 2**31 - 2, 2**31 - 1, 10**9 + 7}
    for i in range(50):
        b = math.ceil(i * length) - shift
        out |= {b - 1, b, b + 1}
    for s in range(1, 4):
        b = s * length.numerator
        out |= {b - 1, b, b + 1}
    return sorted(k for k in out if 0 <= k < 2**31)


@pytest.mark.parametrize("name", list(REAL))
def test_real_periods_on_both_interpreters_and_emitted_match_reference(name):
    spec, length, shift = REAL[name]
    program = _program(spec)
    node, env, k = program.hparams["lr"], _env(program), _real_steps(length, shift)
    assert _compile.ir.has_real_cycles(node)
    want = ref_values(spec, k)
    got = _compile.build(node, B.NumpyXP())(np.asarray(k, dtype=np.int64), env)
    assert_close(np.asarray(got, dtype=np.float64), want, "float64", what=f"{name}: numpy, vars in env")
    fn = _compile.build(node, B.MathXP)
    assert_close([float(fn(i, env)) for i in k], want, "float64", what=f"{name}: plain Python, vars in env")
    bound = bind(program, None).hparams["lr"]
    got = _compile.build(bound, B.NumpyXP())(np.asarray(k, dtype=np.int64), {})
    assert_close(np.asarray(got, dtype=np.float64), want, "float64", what=f"{name}: bound numpy")
    scalar = _emitted(bound, scalar=True)["_value"]
    assert_close([float(scalar(B.MathXP, i)) for i in k], want, "float64", what=f"{name}: emitted scalar")
    with np.errstate(all="ignore"):
        array = _emitted(bound, scalar=False)["_value"](B.NumpyXP(), np.asarray(k, dtype=np.int64))
    assert_close(np.asarray(array, dtype=np.float64), want, "float64", what=f"{name}: emitted array")


@pytest.mark.parametrize("name", list(REAL))
def test_real_cycle_at_is_the_exact_definition(name):
    """Step t belongs to cycle ``floor((t + shift) / P)`` (cycle i begins at the real time i * P on the clock
    ``t + shift``, docs/language.md); the first step of that cycle's part in t's window is the later of the
    window's first step (a multiple of the window, ``u`` of ``P = u / v``, or 0 when one window holds every step)
    and the cycle's first step, ``ceil(i * P) - shift``."""
    spec, length, shift = REAL[name]
    node = _program(spec).hparams["lr"]
    cy = _compile.real_cycles(node)
    u = length.numerator
    assert cy.window == (u if u <= 2**31 - 1 else None)
    assert cy.per_window == length.denominator
    for t in _real_steps(length, shift):
        cycle = math.floor((t + shift) / length)
        window_first = 0 if cy.window is None else t - t % u
        first = max(window_first, math.ceil(cycle * length) - shift)
        assert _compile.real_cycle_at(cy, t) == (cycle, first), (name, t)


REAL_TEXT = {
    "whole-shifted-decay-times": ([
        "def _repeat_1(xp, t):",
        '    """lr: repeat a 9-step schedule 5 times, each cycle 9 steps long (the clock 3 steps ahead; decay 0.8)."""',
        "    s = xp.floordiv(t, 9)",
        "    r = t - s * 9",
        "    j = xp.count_le(_CYCLE_STARTS_1, r)",
        "    local = r - xp.take(_STARTS_2, j)",
        "    c = xp.f(j) + 0.0",
        "    c = c + xp.f(s) * 1.0",
        "    c = xp.minimum(c, 4.0)",
        "    local = xp.where(t >= 42, 9, local)",
        "    v = cosine(xp, local, 9, 1.0, 0.1, 1.0)",
        "    return scaled(xp, v, 0.8, c)",
    ], [["_CYCLE_STARTS_1 = (6,)"], ["_STARTS_2 = (-3, 6)"]]),
    "decay-var-shift": ([
        "def _value(xp, t):",
        '    """lr: repeat a 2-step schedule forever, each cycle 26/3 steps long (the clock 4 steps ahead; decay'
        ' 0.9)."""',
        "    s = xp.floordiv(t, 26)",
        "    r = t - s * 26",
        "    j = xp.count_le(_CYCLE_STARTS_1, r)",
        "    local = xp.f(r - xp.take(_FIRSTS_2, j)) + xp.take(_OFFSETS_3, j)",
        "    local = xp.f(local) * 0.23076923076923078",
        "    c = xp.f(j) + 0.0",
        "    c = c + xp.f(s) * 3.0",
        "    v = _sequence_1(xp, local)",
        "    return scaled(xp, v, 0.9, c)",
    ], [["_CYCLE_STARTS_1 = (5, 14, 22)"], ["_FIRSTS_2 = (0, 5, 14, 22)"],
        ["_OFFSETS_3 = (4.0, 0.3333333333333333, 0.6666666666666666, 0.0)"]]),
    "one-window-of-vars": ([
        "def _value(xp, t):",
        '    """lr: repeat a 2-step schedule forever, each cycle 20000000000/7 steps long (the clock 5 steps ahead; decay'
        ' 1.0)."""',
        "    r = t",
        "    j = 0",
        "    local = xp.f(r - xp.take(_FIRSTS_1, j)) + xp.take(_OFFSETS_2, j)",
        "    local = xp.f(local) * 7e-10",
        "    return _sequence_1(xp, local)",
    ], [["_FIRSTS_1 = (0,)"], ["_OFFSETS_2 = (5.0,)"]]),
}  # fmt: skip


@pytest.mark.parametrize("name", list(REAL_TEXT))
def test_the_emitted_text_of_a_real_period_repeat(name):
    """What a reader of the emitted module sees for a repeat with a real cycle length or a shifted clock (no
    example has one: the snapshots do not show it). Worked by hand: 9-step cycles 3 steps ahead begin at -3 and 6 in
    each 9-step window, end after 5 cycles at 5 * 9 - 3 = 42; 26/3-step cycles 4 steps ahead begin at -4, 14/3,
    40/3 and 22 in each 26-step window (3 cycles a window), the 2-step wave stretched by 2 / (26/3); one window
    holds every step of a 20000000000/7-step cycle, 5 steps in at t = 0. The `of` is labelled `lr.of`."""
    text, constants = REAL_TEXT[name]
    node = bind(_program(REAL[name][0]), None).hparams["lr"]
    gen = _codegen.generate(node, scalar=True, label="lr", unit="step")
    assert gen.functions[0] == text
    assert gen.constants == constants
    # the formulas the standalone module copies: `scaled` with a decay
    assert gen.formulas == ({"cosine"} if name == "one-window-of-vars" else {"cosine", "scaled"})
    if name != "whole-shifted-decay-times":
        assert gen.functions[1][:2] == ["def _sequence_1(xp, t):",
                                        '    """lr.of: a sequence of 2 phases starting at t = 0, 1."""']


def test_the_of_of_a_real_period_repeat_with_times_and_no_decay_is_labelled():
    node = bind(_program(REAL["many-starts-of-vars"][0]), None).hparams["lr"]
    gen = _codegen.generate(node, scalar=True, label="lr", unit="step")
    assert gen.functions[0][-1] == "    return _sequence_2(xp, local)"
    assert gen.functions[1][:2] == ["def _sequence_2(xp, t):",
                                    '    """lr.of: a sequence of 2 phases starting at t = 0, 1."""']
    assert gen.formulas == {"cosine"}


@pytest.mark.parametrize("name, bounds, clamp", [
    ("clip-min", "[0.3, inf]", "    v = xp.maximum(v, 0.3)"),
    ("clip-max", "[-inf, 0.6]", "    v = xp.minimum(v, 0.6)"),
])  # fmt: skip
def test_the_emitted_text_of_a_clip_with_one_bound(name, bounds, clamp):
    """The missing bound reads as an infinity in the clip's docstring; its `of` is labelled `lr.of`."""
    gen = _codegen.generate(bind(_program(SPECS[name]), None).hparams["lr"], scalar=True, label="lr", unit="step")
    assert gen.functions[0] == ["def _clip_1(xp, t):", f'    """lr: a schedule clamped to {bounds}."""',
                                "    v = _sequence_2(xp, t)", clamp, "    return v"]  # fmt: skip
    assert gen.functions[1][1] == '    """lr.of: a sequence of 2 phases starting at t = 0, 5."""'


def test_tuple_literal_fits_one_line_then_one_item_a_line_then_packed():
    """A table's literal: on one line while it fits the line length (110, ruff format's), one item a line up to
    PACKED_TABLE (64) items, beyond that packed as many a line as fit between ``# fmt: off`` and ``# fmt: on``."""
    assert _codegen.LINE == 110 and _codegen.PACKED_TABLE == 64
    name = "_T"
    fits = ["1"] * 35  # "_T = (" + 34 * "1, " + "1)" is 6 + 102 + 2 = 110 characters
    assert len(f"{name} = ({', '.join(fits)})") == 110
    assert _codegen.tuple_literal(name, fits) == [f"{name} = ({', '.join(fits)})"]
    longer = ["1"] * 34 + ["12"]  # 111 characters: one item a line
    assert _codegen.tuple_literal(name, longer) == [f"{name} = (", *(f"    {a}," for a in longer), ")"]
    assert _codegen.tuple_literal(name, ["1"] * 64) == [f"{name} = (", *["    1,"] * 64, ")"]
    items = [str(1000 + i) for i in range(65)]  # 6 characters a number with ", ": 17 a line (4 + 17 * 6 = 106)
    packed = _codegen.tuple_literal(name, items)
    rows = [", ".join(items[i:i + 17]) + "," for i in range(0, 65, 17)]
    assert packed == ["# fmt: off", f"{name} = (  # 65 numbers", *(f"    {r}" for r in rows), ")", "# fmt: on"]
    assert max(len(line) for line in packed) <= 110


def test_a_header_paragraph_wraps_at_98_characters_never_at_a_hyphen():
    """``# `` + text wrapped at 98 characters (100 a line); a hyphenated word moves whole to the next line."""
    text = "x" * 90 + " jit-compiled and vmap-able"
    assert _codegen.paragraph(text) == ["# " + "x" * 90, "# jit-compiled and vmap-able"]
    assert _codegen.paragraph("y" * 98 + " z") == ["# " + "y" * 98, "# z"]


def test_a_call_fits_one_line_then_hugs_then_one_argument_a_line():
    """As ``ruff format`` splits a call at 110 characters: on one line while it fits, then its arguments on one
    indented line, then one argument a line with a trailing comma."""
    head = "    v = f("  # 10 characters, then the arguments and ")"
    for width, want in [
        (99, ["    v = f(" + "a" * 99 + ")"]),  # 110 characters
        (100, [head, "        " + "a" * 100, "    )"]),
        (102, [head, "        " + "a" * 102, "    )"]),  # the hugged line: 110 characters
        (103, [head, "        " + "a" * 103 + ",", "    )"]),
    ]:
        assert _codegen.call("v = ", "f", ["a" * width], 1) == want, width


def test_a_packed_table_row_takes_an_item_that_ends_at_the_line_length():
    """A packed row takes the next item while the row with it and its ", " is at most 110 characters (the row
    is written without the trailing space)."""
    items = ["1000", *["100"] * 69]
    packed = _codegen.tuple_literal("_T", items)
    first = "    " + ", ".join(items[:21]) + ","
    assert len(first) == 109 and packed[2] == first
    assert packed[3] == "    " + ", ".join(items[21:42]) + ","


def test_the_emitted_text_of_a_start_carried_from_a_clip_is_labelled():
    """A start carried from a combinator holding a plateau evaluates that combinator again at its end: its
    functions are labelled ``<hparam> (carried start)``, through ``generate`` and ``generate_roots`` (one function
    per tree, each tree's own label)."""
    node = bind(_program(PLATEAUS["in-a-clip-after-a-warmup"]), None).hparams["lr"]
    docs = [f[1] for f in _codegen.generate(node, scalar=True, label="lr", unit="step").functions]
    assert '    """lr (carried start): a schedule clamped to [-inf, 0.6]."""' in docs
    assert '    """lr (carried start).of: a sequence of 2 phases starting at t = 0, 4."""' in docs
    gen = _codegen.generate_roots([("lr_at", "lr", node), ("wd_at", "weight_decay", node)], scalar=True, unit="step")
    docs = [f[1] for f in gen.functions]
    assert '    """lr (carried start): a schedule clamped to [-inf, 0.6]."""' in docs
    assert docs[0] == '    """lr: a sequence of 3 phases starting at t = 0, 5, 29."""'
    assert len(gen.sites) == 1  # the plateau both trees share has one row


def test_a_sequence_of_16_parts_is_a_chain_and_of_17_from_tables():
    for n, head in [(16, "a sequence of 16 phases starting at t = 0, 5"), (17, "a sequence of 17 phases, from tables")]:
        spec = _doc([dict(p) for p in [*(LIN, COS) * 8, LIN]][:n])
        gen = _codegen.generate(bind(_program(spec), None).hparams["lr"], scalar=False, label="lr", unit="step")
        assert gen.functions[0][1].startswith(f'    """lr: {head}'), n


def test_the_emitted_text_of_a_sequence_beginning_with_a_combinator_labels_it():
    spec = _doc([{"kind": "repeat", "of": COS, "times": 2}, LIN])
    for scalar in (True, False):
        gen = _codegen.generate(bind(_program(spec), None).hparams["lr"], scalar=scalar, label="lr", unit="step")
        assert gen.functions[1][1] == '    """lr[0]: repeat a 8-step period 2 times (mult 1.0, decay 1.0)."""'


def test_a_namespace_prefixes_every_constant():
    """Group modules put several trees in one module: ``ns`` prefixes each constant (upper case) and numbers
    them in order."""
    spec = _doc({"kind": "multistep", "start": 1.0, "gamma": 0.5, "milestones": [3, 6, 12], "duration": 20})
    gen = _codegen.generate(bind(_program(spec), None).hparams["lr"], scalar=True, label="lr", unit="step", ns="g1")
    assert [c[0] for c in gen.constants] == ["_G1_MILESTONES_1 = (3, 6, 12)"]
    two = _doc([STEP, {"kind": "multistep", "gamma": 0.5, "milestones": [3, 6], "duration": 8},
                {"kind": "multistep", "gamma": 0.5, "milestones": [2], "duration": 8}])
    gen = _codegen.generate(bind(_program(two), None).hparams["lr"], scalar=True, label="lr", unit="step", ns="g1")
    assert [c[0].split(" = ")[0] for c in gen.constants] == ["_G1_MILESTONES_1", "_G1_MILESTONES_2"]
