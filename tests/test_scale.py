"""Large specs (issue 13): a piecewise of thousands of points, a multistep of thousands of milestones and a
sequence of hundreds of phases equal the independent reference (tests/reference.py) at every sampled segment
boundary (k = b - 1, b, b + 1) on every target, in float32 and float64; and the traced program (the jaxpr of
``to_jax``) does not grow with the number of points, milestones or phases. Correctness only, no timing.
"""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import schedspec  # noqa: E402
from schedspec import _compile, ir  # noqa: E402
from schedspec import kinds as K  # noqa: E402

jax = pytest.importorskip("jax")
torch = pytest.importorskip("torch")
pytest.importorskip("keras")
pytest.importorskip("optax")

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import assert_f32, assert_f64, boundaries, load_module
    from .reference import ref_schedule
    from .targets import RUNNERS, Check
except ImportError:
    from helpers import assert_f32, assert_f64, boundaries, load_module
    from reference import ref_schedule
    from targets import RUNNERS, Check


# ------------------------------------------------------------------------------------------------ specs
def piecewise(n: int, interpolate: str = "linear") -> dict:
    """Irregular spacing (1 to 9 steps) and values that go up and down."""
    at, points = 0, []
    for i in range(n):
        points.append([at, round(0.5 / (1 + (i * 7919) % 101), 9)])
        at += 1 + (i * 31) % 9
    return {"schedspec": 1, "lr": {"kind": "piecewise", "interpolate": interpolate, "points": points}}


def multistep(n: int) -> dict:
    """Milestones 1 to 6 steps apart, some repeated (a repeated milestone counts twice)."""
    ms, m = [], 0
    for i in range(n):
        m += 0 if i % 97 == 5 else 1 + (i * 13) % 6
        ms.append(m)
    return {"schedspec": 1, "lr": {"kind": "multistep", "start": 0.5, "gamma": 0.999, "milestones": ms}}


def sequence(n: int, alone: bool = True) -> dict:
    """Constant, linear, cosine (exponents 1 and 2), polynomial phases, starts given or carried; with ``alone``
    also a step phase and an exponential (from tables too) and a repeat (a combinator: evaluated on its own)."""
    phases = []
    for i in range(n):
        v = round(0.1 / (1 + i % 7), 9)
        d = 3 + (i * 17) % 11
        kind = i % 5
        if kind == 0:
            phases.append({"kind": "constant", "duration": d, "value": v})
        elif kind == 1:
            phases.append({"kind": "linear", "duration": d, "end": v * 3})  # start carried from the previous phase
        elif kind == 2:
            phases.append({"kind": "cosine", "duration": d, "start": v, "end": v / 10, "exponent": 1 + i % 2})
        elif kind == 3:
            phases.append({"kind": "polynomial", "duration": d, "end": v / 4, "power": 2})
        else:
            phases.append({"kind": "linear", "duration": d, "start": 0, "end": v})
        if alone and i == n // 2:
            phases.append({"kind": "step", "duration": 40, "start": v, "every": 7, "gamma": 0.5})
            phases.append({"kind": "exponential", "duration": 30, "gamma": 0.97})
            phases.append({"kind": "repeat", "times": 2, "of": {"kind": "linear", "duration": 6, "start": v, "end": 0}})
    return {"schedspec": 1, "lr": phases}


def sparse_multistep(n: int) -> dict:
    """Milestones about 2**31 / n apart: too sparse for a direct table (a binary search finds the count)."""
    step = (2**31 - 2) // (n + 1)
    return {"schedspec": 1, "lr": {"kind": "multistep", "start": 0.5, "gamma": 0.9,
                                   "milestones": [step * (i + 1) + i % 3 for i in range(n)]}}  # fmt: skip


SPECS = {
    "multistep-sparse": lambda: sparse_multistep(300),
    "piecewise-linear": lambda: piecewise(2000),
    "piecewise-cosine": lambda: piecewise(500, "cosine"),
    "piecewise-constant": lambda: piecewise(500, "constant"),
    "multistep": lambda: multistep(2000),
    "sequence": lambda: sequence(300),
}


def sampled_units(spec: schedspec.Spec, samples: int = 40) -> np.ndarray:
    """b - 1, b, b + 1 at ``samples`` segment boundaries spread over the schedule (first and last included), plus
    the end of the int32 range."""
    node = spec.program.hparams["lr"]
    if isinstance(node, ir.Piecewise):
        bs = list(node.ats)
    elif isinstance(node, ir.MultiStep):
        bs = list(node.milestones)
    else:
        bs = boundaries(node)
    bs = sorted(set(bs))
    picked = [bs[int(i)] for i in np.linspace(0, len(bs) - 1, samples).round()]
    ks = {ir.MAX_STEPS} | {b + d for b in picked for d in (-1, 0, 1) if b + d >= 0}
    return np.asarray(sorted(ks), dtype=np.int64)


@pytest.fixture(scope="module", params=list(SPECS))
def case(request):
    doc = SPECS[request.param]()
    spec = schedspec.load(doc)
    units = sampled_units(spec)
    ref = ref_schedule(doc)
    return request.param, spec, units, np.asarray([ref.value(int(k)) for k in units])


# targets evaluated at any k (the stateful ones step update by update: checked through the closed forms below)
POINT_TARGETS = ["evaluate", "to_jax", "to_optax", "to_keras", "emit_keras", "emit_optax", "emit_jax"]


@pytest.mark.parametrize("target", POINT_TARGETS)
def test_large_spec_equals_the_reference_at_its_boundaries(case, target, tmp_path):
    name, spec, units, ref = case
    out = RUNNERS[target](spec, Check(units=units, loop=0), None, tmp_path)
    xs, values = out[("lr", None)]
    want = dict(zip(units.tolist(), ref.tolist()))
    expected = np.asarray([want[int(x)] for x in xs])
    (assert_f64 if target == "evaluate" else assert_f32)(values, expected, f"{name} on {target}")


def test_large_spec_evaluate_float32_equals_the_reference(case):
    name, spec, units, ref = case
    assert_f32(schedspec.evaluate(spec, units, dtype="float32"), ref, f"{name} evaluate float32")


def _closed_form(sched, units) -> np.ndarray:
    out = []
    for k in units.tolist():
        sched.last_epoch = k
        out.append(sched._get_closed_form_lr()[0])
    return np.asarray(out)


@pytest.mark.parametrize("block_size", [None, 0], ids=["blocks", "scalar"])
def test_large_spec_on_torch_equals_the_reference(case, block_size):
    name, spec, units, ref = case
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = schedspec.to_torch(spec, opt, **({} if block_size is None else {"block_size": block_size}))
    assert_f64(_closed_form(sched, units), ref, f"{name} to_torch ({'scalar' if block_size == 0 else 'blocks'})")


def test_large_spec_emitted_torch_equals_the_reference(case, tmp_path):
    name, spec, units, ref = case
    mod = load_module(schedspec.emit(spec, "torch"), tmp_path)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = mod.build_scheduler(opt)
    assert_f64(_closed_form(sched, units), ref, f"{name} emitted torch")


def test_the_stateful_torch_loop_follows_a_long_sequence(tmp_path):
    """to_torch stepped update by update (the block path) through the first 200 steps of a 300-phase sequence."""
    doc = sequence(300)
    spec = schedspec.load(doc)
    units = np.arange(200)
    out = RUNNERS["to_torch"](spec, Check(units=units, loop=200), None, tmp_path)
    ref = ref_schedule(doc)
    xs, values = out[("lr", None)]
    assert_f64(values, [ref.value(int(k)) for k in xs], "to_torch loop")


def test_a_long_sequence_with_a_duration_var_equals_the_reference():
    """Begins that depend on a var (traced), and a var parameter (a part evaluated on its own)."""
    doc = sequence(40, alone=False)
    doc["vars"] = {"w": 25, "peak": 0.2}
    doc["lr"][3] = {"kind": "linear", "duration": "$w", "start": 0, "end": "$peak"}
    spec = schedspec.load(doc)
    fixed = {"schedspec": 1, "lr": [dict(p) for p in doc["lr"]]}
    fixed["lr"][3] = {"kind": "linear", "duration": 25, "start": 0, "end": 0.2}
    units = sampled_units(schedspec.load(fixed), 30)
    ref = ref_schedule(fixed)
    expected = [ref.value(int(k)) for k in units]
    assert_f64(schedspec.evaluate(spec, units, dtype="float64"), expected, "f64")
    assert_f32(schedspec.evaluate(spec, units), expected, "f32")
    assert_f32(np.asarray(jax.jit(schedspec.to_jax(spec))(units)), expected, "to_jax")
    other = schedspec.evaluate(spec, units, vars={"w": 30, "peak": 0.3}, dtype="float64")
    fixed["lr"][3] = {"kind": "linear", "duration": 30, "start": 0, "end": 0.3}
    ref = ref_schedule(fixed)
    assert_f64(other, [ref.value(int(k)) for k in units], "new var values")


# ------------------------------------------------------------------------------------------------ structure
def _equations(jaxpr) -> int:
    """Equations of a jaxpr, those of its sub-programs (pjit, while, cond, scan) included."""
    n = 0
    for eqn in jaxpr.eqns:
        n += 1
        for p in eqn.params.values():
            for sub in p if isinstance(p, (list, tuple)) else [p]:
                inner = getattr(sub, "jaxpr", None)
                if inner is not None:
                    n += _equations(getattr(inner, "jaxpr", inner))
    return n


def _size(doc: dict) -> int:
    k = jax.numpy.arange(100, dtype=jax.numpy.int32)
    return _equations(jax.make_jaxpr(schedspec.to_jax(doc))(k).jaxpr)


@pytest.mark.parametrize(
    "make, small, large",
    [(piecewise, 40, 4000), (lambda n: piecewise(n, "constant"), 40, 4000), (multistep, 40, 4000),
     (sequence, 30, 1000)],
    ids=["piecewise-linear", "piecewise-constant", "multistep", "sequence"],
)  # fmt: skip
def test_the_traced_program_does_not_grow_with_the_spec(make, small, large):
    assert _size(make(large)) == _size(make(small))


def test_the_tables_are_what_a_long_sequence_is_evaluated_from():
    """The sequence's parts fall in one group per formula and static values (a constant is a linear phase from its
    value to its value; the cosine's exponent steers a branch), the repeat (a combinator) on its own (what keeps
    the program's size independent of the number of phases)."""
    node = schedspec.load(sequence(300)).program.hparams["lr"]
    keys = {_compile.table_key(p) for p in node.parts}
    assert {k[0] for k in keys if k is not None} == {"linear", "cosine", "polynomial", "step", "exponential"}
    assert len([k for k in keys if k is not None and k[0] == "cosine"]) == 2  # exponents 1 and 2
    alone = [p for p in node.parts if _compile.table_key(p) is None]
    assert [type(p) for p in alone] == [ir.Repeat]


def test_evaluate_with_new_var_values_reuses_the_compiled_program():
    """The jitted program is cached by the tree's structure (vars are traced inputs), never by their values."""
    from schedspec import evaluator

    spec = schedspec.loads("schedspec: 1\nvars: {peak: 0.1}\n"
                           "lr: [{kind: linear, duration: 10, start: 0, end: $peak}, {kind: cosine, duration: 90}]\n")  # fmt: skip
    first = schedspec.evaluate(spec, [5, 50], vars={"peak": 0.2})
    before = evaluator._jitted.cache_info()
    second = schedspec.evaluate(spec, [5, 50], vars={"peak": 0.4})
    after = evaluator._jitted.cache_info()
    assert after.misses == before.misses and after.hits == before.hits + 1
    np.testing.assert_allclose(second, 2 * first, rtol=1e-6)


def test_a_long_k_is_evaluated_in_pieces_with_the_values_of_one_call(monkeypatch):
    from schedspec import evaluator

    spec = schedspec.load(sequence(30))
    k = np.arange(0, 3000, 3)
    whole = schedspec.evaluate(spec, k)
    monkeypatch.setattr(evaluator, "CHUNK", 128)
    np.testing.assert_array_equal(schedspec.evaluate(spec, k), whole)


def test_emitted_data_tables_are_packed():
    """10,000 points: a data table of numbers a few hundred lines long, not one line per point."""
    src = schedspec.emit(schedspec.load(piecewise(10_000)), "jax")
    assert src.count("\n") < 3000  # 20,000 numbers (the ats and the values), about ten a line
    assert "# 10000 numbers" in src


# ------------------------------------------------------------------------------------------------ every kind
def _phase_of(kind: str, i: int) -> dict:
    """Phase ``i`` of a long sequence of one kind: durations and the gathered parameters vary from phase to phase,
    the static ones (a power base, a branch-steering exponent, a one-cycle's shape) are shared; a start is given,
    or carried from the phase before (every third phase)."""
    v = round(0.1 / (1 + i % 7), 9)
    d = 5 + (i * 17) % 11
    start = {} if i % 3 == 2 and i > 0 else {"start": v}
    m = {
        "constant": {"value": v},
        "linear": {**start, "end": v / 3},
        "linear_warp": {**start, "end": v / 3, "warp": 0.5},
        "cosine": {**start, "end": v / 5},
        "cosine_warp": {**start, "end": v / 5, "exponent": 2.0, "warp": 1.5},
        "polynomial": {**start, "end": v / 4, "power": 2.0},
        "polynomial_warp": {**start, "end": v / 4, "power": 0.5, "warp": 2.0},
        "tanh": {**start, "end": v / 9},
        "exponential": {"start": v, "gamma": 0.93, "every": 1 + i % 3, "end": v / 2 if i % 2 else None,
                        "staircase": True},
        "step": {"start": v, "gamma": 0.5, "every": 1 + i % 4},
        "multistep": {"start": v, "gamma": 0.7, "milestones": [2, 3, 3]},
        "piecewise": {"points": [[0, 0.1], [2, 0.3], [4, 0.2]], "interpolate": "cosine"},
        "inverse_time": {"start": v, "rate": 0.1 * (1 + i % 3), "every": 1 + i % 2},
        "inverse_sqrt": {"start": v, "timescale": 1 + i % 4},
        "inverse_sqrt_shift": {"start": v, "timescale": 1 + i % 4, "shift": 2 + i % 3},
        "cyclic": {"low": v / 10, "high": v, "up": 1 + i % 3, "down": 2 + i % 2},
        "onecycle": {"peak": 0.1, "pct_start": 0.25},
    }[kind]
    name = kind.split("_")[0] if kind not in ("inverse_time", "inverse_sqrt", "inverse_sqrt_shift") else (
        "inverse_time" if kind == "inverse_time" else "inverse_sqrt")  # fmt: skip
    return {"kind": name, "duration": d, **{k: x for k, x in m.items() if x is not None}}


EVERY_KIND = ["constant", "linear", "linear_warp", "cosine", "cosine_warp", "polynomial", "polynomial_warp", "tanh",
              "exponential", "step", "multistep", "piecewise", "inverse_time", "inverse_sqrt", "inverse_sqrt_shift",
              "cyclic", "onecycle"]  # fmt: skip


def one_kind(kind: str, n: int) -> dict:
    return {"schedspec": 1, "lr": [_phase_of(kind, i) for i in range(n)]}


def test_every_kind_of_the_table_is_sampled():
    """Every row of the table (and every variant) has a long sequence here."""
    seen = {K.row(p).call(p)[0] for kind in EVERY_KIND for p in schedspec.load(one_kind(kind, 20)).program.hparams["lr"].parts}
    assert set(K.FORMULAS) - seen == {"polynomial_cycle"}  # a cyclic polynomial never ends: not a middle phase


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_a_long_sequence_of_any_kind_is_tabled_and_does_not_grow(kind):
    node = schedspec.load(one_kind(kind, 300)).program.hparams["lr"]
    assert all(_compile.table_key(p) is not None for p in node.parts), kind
    assert _size(one_kind(kind, 1000)) == _size(one_kind(kind, 30))


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_a_long_sequence_of_any_kind_equals_the_reference(kind, tmp_path):
    doc = one_kind(kind, 200)
    spec = schedspec.load(doc)
    units = sampled_units(spec, 60)
    ref = ref_schedule(doc)
    expected = np.asarray([ref.value(int(k)) for k in units])
    assert_f64(schedspec.evaluate(spec, units, dtype="float64"), expected, f"{kind} f64")
    assert_f32(schedspec.evaluate(spec, units, dtype="float32"), expected, f"{kind} f32")
    last = spec.program.hparams["lr"].parts[-1]
    holds = K.row(last).holds
    if holds is not None:  # the last phase's declared end is held exactly (float32 nearest in float32)
        end = getattr(last, holds)
        assert schedspec.evaluate(spec, [ir.MAX_STEPS], dtype="float64")[0] == end
        assert schedspec.evaluate(spec, [ir.MAX_STEPS], dtype="float32")[0] == np.float32(end)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    assert_f64(_closed_form(schedspec.to_torch(spec, opt), units), expected, f"{kind} to_torch blocks")
    xs, values = RUNNERS["emit_jax"](spec, Check(units=units, loop=0), None, tmp_path)[("lr", None)]
    want = dict(zip(units.tolist(), expected.tolist()))
    assert_f32(values, [want[int(x)] for x in xs], f"{kind} emit_jax")


def test_a_long_sequence_with_var_parameters_is_tabled():
    """Parts whose parameters are number vars gather them from a small traced table (one entry per var): they
    are tabled, the program does not grow, and new var values give the reference's values."""

    def doc(n, peak=None, low=None):
        d = one_kind("cosine", n)
        for i, p in enumerate(d["lr"]):
            if i % 4 == 1:
                p["start"] = "$peak" if peak is None else peak
            if i % 5 == 3:
                p["end"] = "$low" if low is None else low
        if peak is None:
            d["vars"] = {"peak": 0.2, "low": 0.001}
        return d

    node = schedspec.load(doc(300)).program.hparams["lr"]
    assert all(_compile.table_key(p) is not None for p in node.parts)
    assert _size(doc(1000)) == _size(doc(30))
    spec = schedspec.load(doc(200))
    units = sampled_units(spec, 40)
    for peak, low in [(0.2, 0.001), (0.5, 0.01)]:
        ref = ref_schedule(doc(200, peak, low))
        expected = [ref.value(int(k)) for k in units]
        got = schedspec.evaluate(spec, units, vars={"peak": peak, "low": low}, dtype="float64")
        assert_f64(got, expected, f"peak {peak}")
        assert_f32(schedspec.evaluate(spec, units, vars={"peak": peak, "low": low}), expected, f"peak {peak} f32")
