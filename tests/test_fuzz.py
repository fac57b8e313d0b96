"""Hypothesis fuzzing: whatever the input, only SpecError escapes the loader (and the numpy evaluator), the CLI
never reports an internal error, and every spec that loads keeps the invariants (:func:`invariants`): its values
are finite and never negative (every declared value is >= 0), a monotone phase stays within its start and end, and
a phase's declared end is held exactly once it ends (the next phase carries exactly that value; the last phase
holds it up to k = 2**31 - 1)."""

from __future__ import annotations

import contextlib
import glob
import io
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schedspec
from schedspec import SpecError
from schedspec import language as spec
from schedspec.analysis import value_range as _range_of
from schedspec.cli import main
from schedspec.evaluator import evaluate_numpy

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import known_fault
    from .reference import RefError, ref_phases
    from .strategies import documents
except ImportError:
    from helpers import known_fault
    from reference import RefError, ref_phases
    from strategies import documents

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = sorted({f for m in (*spec.KINDS.values(), spec.Document) for f in m.model_fields} | {"kind", "momentum", "x"})
KINDS = sorted(spec.KINDS)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["5ep", "10%", "2000st", "1.5ep", "$peak", "$nope", "-3ep", "0ep", "abc", "", "1e3", "cos", "min"]),
    st.text(max_size=8),
)


def trees(leaves):
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=5)), children, max_size=5),
            st.fixed_dictionaries({"kind": st.sampled_from(KINDS)}, optional={k: children for k in KEYS[:12]}),
        ),
        max_leaves=20,
    )


def loads_or_spec_error(text: str):
    try:
        return schedspec.loads(text, "fuzz.yaml")
    except SpecError as exc:
        assert exc.issues and all(i.message for i in exc.issues)
        for issue in exc.issues:  # every issue is a position and a message
            assert str(issue).startswith("fuzz.yaml")
        return None


def evaluate_or_spec_error(s, doc=None):
    """A loaded spec keeps the invariants (a plateau, which needs reports, excepted); ``doc``: the dict it was
    loaded from, for the per-phase invariants."""
    try:
        invariants(s, doc)
    except SpecError:
        pass


# ------------------------------------------------------------------------------------------------ invariants
def numpy_values(s, ks, hparam, **kw):
    """The float64 numpy evaluator (`check`'s); an intermediate that overflows (``gamma ** t`` under a ceiling `end`)
    is not a finding as long as the value is finite, which the invariants check."""
    with np.errstate(over="ignore"):
        return evaluate_numpy(s, ks, hparam, **kw)


INVARIANT_STEPS = np.unique(np.r_[np.arange(0, 130), [255, 256, 1000, 4097, 2**20, 2**31 - 2, 2**31 - 1]])
# kind -> its value at local time 0 is its start (so a carried start is the previous phase's end, exactly)
STARTS_AT_START = {"constant", "linear", "cosine", "polynomial", "exponential", "step", "multistep", "inverse_time",
                   "inverse_sqrt", "plateau"}  # fmt: skip
ENDS = {"linear", "cosine", "polynomial"}  # kinds with a declared `end` they reach at their duration


def invariants(s, doc=None, values=None, ks=INVARIANT_STEPS, f32=False) -> None:
    """Every schedule of ``s`` (each hyperparameter; each group; the first sweep member) at ``ks``: finite and
    never negative; with the document ``doc``, each top-level phase of a monotone kind within its bounds and a
    declared end held exactly (float32 paths: the float32 nearest). ``values(hparam, group, ks)`` evaluates
    (default: the float64 numpy evaluator, as `check`)."""
    if values is None:
        def values(h, g, ks):
            return numpy_values(s, ks, h, group=g)
    for h in s.program.hparams:
        for g in (None, *s.program.groups):
            v = np.asarray(values(h, g, ks), np.float64)
            assert v.shape == ks.shape
            assert np.isfinite(v).all(), f"{h} group {g}: not finite at k = {ks[~np.isfinite(v)][:5]}: {doc}"
            assert (v >= 0).all(), f"{h} group {g}: negative at k = {ks[v < 0][:5]}: {v[v < 0][:5]} {doc}"
            if doc is not None and (g is None or h in (doc.get("groups") or {}).get(g, {})) and not known_fault(
                    doc, "invariants", not f32):  # fmt: skip
                phase_invariants(doc, h, g, v, ks, f32, s.program.sweep_members()[0] if s.program.sweep_vars else None)


def _bounds(kind, ph, start):
    """The closed interval a phase of a monotone kind stays in (None: not a monotone kind, or not decided)."""
    num = ph.number
    if kind in ENDS:
        e = num("end", 0.0)
        return min(start, e), max(start, e)
    if kind == "constant":
        return start, start
    g = num("gamma", 0.1)
    if kind == "exponential":
        end = num("end")
        if end is not None and g != 1:
            return min(start, end), max(start, end)
        return (0.0, start) if g <= 1 else (start, math.inf)
    if kind in ("step", "multistep"):
        return (0.0, start) if g <= 1 else (start, math.inf)
    if kind in ("inverse_time", "inverse_sqrt"):
        return 0.0, start
    return None


def phase_invariants(doc, h, g, v, ks, f32, member) -> None:
    try:
        phases = ref_phases(doc, h, g, member)
    except (RefError, KeyError, TypeError, ValueError):
        return  # a shape the reference does not take (the loader took it: nothing to hold it to)
    cast = (lambda x: float(np.float32(x))) if f32 else float
    last = phases[-1] if phases else None
    if last is not None and last.duration is not None:  # every node holds its final value after its end
        after = v[ks >= last.begin + last.duration]
        assert (after == after[:1]).all(), f"{h} group {g}: not held after k = {last.begin + last.duration}: {doc}"
    for i, ph in enumerate(phases):
        if not isinstance(ph.node, dict):
            continue
        kind = ph.node.get("kind")
        try:
            if ph.carries:  # the value it was handed (carried exactly: checked at the previous phase's end)
                at = np.nonzero(ks == ph.begin)[0]
                start = float(v[at[0]]) if at.size else None
            else:
                start = ph.start()
            bounds = _bounds(kind, ph, start) if start is not None else None
        except (RefError, KeyError, TypeError, ValueError):
            continue
        end = ph.begin + ph.duration if ph.duration is not None else None
        if bounds is not None:
            inside = (ks >= ph.begin) & (ks < end if end is not None and i < len(phases) - 1 else ks >= ph.begin)
            lo, hi = cast(bounds[0]), cast(bounds[1])
            bad = inside & ((v < lo) | (v > hi))
            assert not bad.any(), (f"{h} group {g} phase {i} ({kind}) leaves [{lo!r}, {hi!r}] at k = {ks[bad][:5]}: "
                                   f"{v[bad][:5]!r}\n{doc}")  # fmt: skip
        if kind in ENDS and end is not None and not ph.node.get("cycle"):
            declared = cast(ph.number("end", 0.0))
            if i == len(phases) - 1:  # held from its end on, up to 2**31 - 1
                held = ks >= end
            else:  # carried exactly into the next phase when it gives no start of its own
                nxt = phases[i + 1]
                if not (isinstance(nxt.node, dict) and nxt.carries and nxt.node.get("kind") in STARTS_AT_START):
                    continue
                if nxt.node.get("kind") == "exponential" and nxt.node.get("end") is not None:
                    continue  # its floor (or ceiling) may be above (below) the start it is handed
                held = ks == end
            bad = held & (v != declared)
            assert not bad.any(), (f"{h} group {g} phase {i} ({kind}): its end {declared!r} is not held exactly at "
                                   f"k = {ks[bad][:5]}: {v[bad][:5]!r}\n{doc}")  # fmt: skip


@FUZZ
@given(st.text(max_size=200))
def test_random_text(text):
    loads_or_spec_error(text)


@FUZZ
@given(trees(scalars))
def test_random_yaml_trees(tree):
    text = yaml.safe_dump(tree, allow_unicode=True)
    s = loads_or_spec_error(text)
    if s is not None:
        evaluate_or_spec_error(s, tree if isinstance(tree, dict) else None)


durations = st.one_of(st.integers(1, 50), st.sampled_from(["2ep", "5st", "10%", "$w"]))
numbers = st.one_of(st.floats(0, 2, allow_nan=False), st.integers(0, 3), st.sampled_from(["$peak", -1.0, math.nan]))
phase = st.fixed_dictionaries(
    {"kind": st.sampled_from(KINDS)},
    optional={
        "duration": durations, "start": numbers, "end": numbers, "value": numbers, "gamma": numbers,
        "every": durations, "milestones": st.lists(durations, max_size=3), "points": st.lists(st.tuples(durations, numbers).map(list), max_size=3),
        "peak": numbers, "low": numbers, "high": numbers, "up": durations, "times": st.integers(0, 4), "mult": st.sampled_from([1, 2, 1.5]),
        "by": numbers, "monitor": st.just("val_loss"), "timescale": durations, "rate": numbers, "exponent": numbers, "power": numbers,
    },
)  # fmt: skip
spec_trees = st.recursive(
    phase,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3),
        st.fixed_dictionaries({"kind": st.sampled_from(["repeat", "scale", "clip"]), "of": children},
                              optional={"times": st.integers(1, 3), "by": numbers, "max": numbers, "duration": durations}),
        st.fixed_dictionaries({"kind": st.just("product"), "of": st.lists(children, min_size=1, max_size=2)}),
    ),
    max_leaves=6,
)  # fmt: skip


@FUZZ
@given(spec_trees, st.booleans())
def test_random_spec_trees(lr, with_context):
    doc = {"schedspec": 1, "lr": lr}
    if with_context:
        doc |= {"steps_per_epoch": 4, "total": 60, "vars": {"peak": 0.5, "w": 6}}
    for load in (lambda: schedspec.load(doc), lambda: schedspec.loads(yaml.safe_dump(doc), "fuzz.yaml")):
        try:
            s = load()
        except SpecError:
            continue
        evaluate_or_spec_error(s, doc)


EXAMPLES = [Path(p).read_text(encoding="utf-8") for p in sorted(glob.glob(str(Path(__file__).resolve().parent.parent / "examples" / "*.yaml")))]


@FUZZ
@given(st.sampled_from(EXAMPLES), st.data())
def test_mutated_examples(text, data):
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, min(len(text), i + 6)))
        text = text[:i] + data.draw(st.sampled_from(["", "-", ":", "\t", "[", "{", "0", "ep", "$x", "\n", "  ", "#", "é"])) + text[j:]
    s = loads_or_spec_error(text)
    if s is not None:
        evaluate_or_spec_error(s, same_meaning(s, text))


def same_meaning(s, text):
    """The document as a dict when PyYAML (YAML 1.1) reads ``text`` to the same schedule as schedspec did."""
    try:
        doc = yaml.safe_load(text)
        return doc if schedspec.load(doc).fingerprint == s.fingerprint else None
    except Exception:
        return None


# ----------------------------------------------------------------------------------- issue 9 §5: no internal errors
# Deep nesting, numbers at the edges of the float and int ranges in every numeric field, long flow sequences: the
# loader raises only SpecError with positioned issues, a spec that loads is finite on the float64 and float32 paths
# at every step sampled (up to 2**31 - 1), `check`'s analysis runs, and the CLI never says "internal error".
EDGE = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STEPS = np.array([0, 1, 2, 9, 10, 99, 100, 999, 1000, 4097, 2**20, 2**31 - 2, 2**31 - 1])
TOO_DEEP = "the document is too deeply nested: more than 64 levels"


def nested(shape: str, depth: int) -> str:
    """A document whose `lr` is nested ``depth`` levels deep (depth + 1 levels below the document)."""
    head = "schedspec: 1\ntotal: 100\nlr: "
    if shape == "lists":
        return head + "[" * depth + "0.1" + "]" * depth + "\n"
    if shape == "flow mappings":
        return head + "{x: " * depth + "0.1" + "}" * depth + "\n"
    if shape == "scales":
        return head + "{kind: scale, by: 0.5, of: " * depth + "{kind: cosine, start: 1.0}" + "}" * depth + "\n"
    if shape == "repeats":
        return head + "{kind: repeat, times: 1, of: " * depth + "{kind: cosine, start: 1.0, duration: 10}" + "}" * depth + "\n"
    if shape == "clips in lists":
        return head + "[{kind: clip, max: 1.0, of: " * depth + "{kind: linear, start: 0, end: 1, duration: 5}" + "}]" * depth + "\n"
    if shape == "block mappings":
        return "schedspec: 1\nlr:\n" + "".join(" " * (i + 1) + "x:\n" for i in range(depth)) + " " * (depth + 1) + "0.1\n"
    raise AssertionError(shape)


def nested_dict(shape: str, depth: int) -> dict:
    lr: object = {"kind": "cosine", "start": 1.0}
    for _ in range(depth):
        lr = [lr] if shape == "lists" else {"kind": "scale", "by": 0.5, "of": lr}
    return {"schedspec": 1, "total": 100, "lr": lr}


def finite_everywhere(s, float32: bool = True, doc=None) -> None:
    """A loaded spec: finite and not negative in float64 (numpy) and float32 (JAX) at the sampled steps, with the
    per-phase invariants when its document ``doc`` is given; check's analysis runs."""
    for hparam in s.program.hparams:
        try:
            v64 = numpy_values(s, STEPS, hparam)
        except SpecError:  # a plateau without its reports
            continue
        assert np.isfinite(v64).all() and (v64 >= 0).all(), (hparam, v64)
        if float32 and not (doc is not None and known_fault(doc, "invariants", False)):
            v32 = schedspec.evaluate(s, STEPS, hparam=hparam)
            v32 = v32[0] if v32.ndim == 2 else v32
            assert np.isfinite(v32).all() and (v32 >= 0).all(), (hparam, v32)
        if doc is not None:
            invariants(s, doc, ks=STEPS)
        r = _range_of(s.program, hparam, lambda d: min(d if d is not None else 5000, 5000))
        assert r is None or np.isfinite(r[:2]).all()


def cli_ok(text: str, commands=(("check",), ("eval", "--at", "0:50"), ("eval", "--at", "2147483600:2147483647:7", "--dtype", "float64"))):
    """`check` and `eval` in-process: exit 0 or 1, and on 1 only positioned problems; never an internal error."""
    fd, path = tempfile.mkstemp(suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        for cmd in commands:
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = main([cmd[0], path, *cmd[1:]])
            assert "internal error" not in err.getvalue() and "Traceback" not in err.getvalue(), err.getvalue()
            assert rc in (0, 1), (cmd, rc, err.getvalue())
            if rc == 1:
                for line in err.getvalue().splitlines():
                    assert line.startswith(path + ":") or line.startswith("<spec>") or "(warning)" in line, line
            assert "inf" not in out.getvalue().replace("info", "") and "nan" not in out.getvalue(), out.getvalue()[:300]
    finally:
        os.unlink(path)


SHAPES = ["lists", "flow mappings", "scales", "repeats", "clips in lists", "block mappings"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SHAPES), st.one_of(st.integers(1, 80), st.integers(1, 5000)))
def test_nesting_at_any_depth_loads_or_is_refused_positioned(shape, depth):
    if shape == "block mappings":
        depth = min(depth, 1400)  # deeper is over 1 MiB: its own error
    text = nested(shape, depth)
    s = loads_or_spec_error(text)
    # how many levels below the document its deepest value is (a mapping's values are one level below it)
    deepest = {"clips in lists": 2 * depth + 2, "scales": depth + 2, "repeats": depth + 2}.get(shape, depth + 1)
    if deepest > 64:
        assert s is None
        with pytest.raises(SpecError) as info:
            schedspec.loads(text, "fuzz.yaml")
        (issue,) = info.value.issues
        assert issue.message.startswith(TOO_DEEP) and issue.line is not None
    elif shape in ("lists", "scales", "repeats", "clips in lists"):
        assert s is not None
        finite_everywhere(s, float32=False)  # (one JAX compilation per depth would dominate the suite)
    if shape in ("lists", "scales"):
        # the dict's innermost value is a mapping ({kind: cosine, ...}), one level below the text's `0.1`
        deepest_dict = depth + 2
        try:
            d = schedspec.load(nested_dict(shape, depth))
        except SpecError as exc:
            assert deepest_dict > 64 and exc.issues[0].message.startswith(TOO_DEEP)
        else:
            assert deepest_dict <= 64
            finite_everywhere(d, float32=False)


EXTREMES = [1e308, -1e308, 5e-324, 1e-320, 1e-45, 2**63, -(2**63), 2**31, 2**31 - 1, -0.0, 0.0, 3.4028234663852886e38,
            3.5e38, 1e38, 1.0, 1e-300, math.inf, math.nan]  # fmt: skip
BASES = {
    "constant": {"value": 0.1}, "linear": {"start": 0.0, "end": 0.1, "duration": 100},
    "cosine": {"start": 0.1, "duration": 100}, "polynomial": {"start": 0.1, "duration": 100},
    "exponential": {"start": 0.1, "gamma": 0.9}, "step": {"start": 0.1, "every": 10},
    "multistep": {"start": 0.1, "milestones": [10, 20]}, "piecewise": {"points": [[0, 0.1], [10, 0.01]]},
    "inverse_time": {"start": 0.1, "rate": 0.5}, "inverse_sqrt": {"start": 0.1, "timescale": 10},
    "cyclic": {"low": 0.01, "high": 0.1, "up": 10, "mode": "exp_range"}, "onecycle": {"peak": 0.1, "duration": 100},
    "plateau": {"start": 0.1, "monitor": "val_loss", "every": 10},
    "repeat": {"of": {"kind": "cosine", "start": 0.1, "duration": 10}, "decay": 0.9},
    "scale": {"by": 0.5, "of": {"kind": "cosine", "start": 0.1, "duration": 10}},
    "clip": {"min": 0.01, "max": 0.5, "of": {"kind": "exponential", "start": 0.1, "gamma": 1.01}},
    "product": {"of": [{"kind": "cosine", "start": 0.1, "duration": 10}, 0.5]},
    "sum": {"of": [{"kind": "cosine", "start": 0.1, "duration": 10}, 0.5]},
    "torch.ExponentialLR": {"lr": 0.1, "gamma": 0.99}, "torch.OneCycleLR": {"max_lr": 0.1, "total_steps": 100},
    "keras.InverseTimeDecay": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5},
    "optax.exponential_decay": {"init_value": 0.1, "transition_steps": 10, "decay_rate": 0.9},
}  # fmt: skip
NOT_NUMBERS = {"kind", "of", "points", "mode", "anneal", "interpolate", "monitor", "staircase", "cycle", "three_phase",
               "threshold_mode", "name", "milestones"}  # fmt: skip


def numeric_fields(kind: str) -> list[str]:
    return sorted(f for f in spec.KINDS[kind].model_fields if f not in NOT_NUMBERS)


@st.composite
def edge_specs(draw):
    kind = draw(st.sampled_from(sorted(BASES)))
    phase = {"kind": kind, **BASES[kind]}
    fields = numeric_fields(kind)
    for field in draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True)):
        phase[field] = draw(st.sampled_from(EXTREMES))
    if kind == "multistep" and draw(st.booleans()):
        phase["milestones"] = [10, draw(st.sampled_from(EXTREMES))]
    if kind == "piecewise" and draw(st.booleans()):
        phase["points"] = [[0, draw(st.sampled_from(EXTREMES))], [draw(st.sampled_from([10, 2**31 - 1, 2**63])), 0.01]]
    doc = {"schedspec": 1, "lr": phase}
    if draw(st.booleans()):
        doc["total"] = draw(st.sampled_from([1000, 2**31 - 1, 2**31, 5e-324, 1e308, -0.0]))
    if draw(st.booleans()):
        doc["steps_per_epoch"] = draw(st.sampled_from([10, 2**31 - 1, 2**63]))
    if draw(st.booleans()):  # through a var (a sweep, or a scalar), and wrapped
        value = draw(st.sampled_from(EXTREMES))
        doc["vars"] = {"v": draw(st.sampled_from([value, [0.1, value]]))}
        doc["lr"] = {"kind": "scale", "by": "$v", "of": phase}
    return doc


@EDGE
@given(edge_specs())
def test_numbers_at_the_edges_in_every_field(doc):
    for load in (lambda: schedspec.load(doc), lambda: schedspec.loads(yaml.safe_dump(doc), "fuzz.yaml")):
        try:
            s = load()
        except SpecError as exc:
            assert exc.issues and all(i.message for i in exc.issues)
            continue
        finite_everywhere(s, doc=doc)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(edge_specs().map(yaml.safe_dump), st.builds(nested, st.sampled_from(SHAPES[:-1]), st.integers(55, 70))))
def test_the_cli_never_reports_an_internal_error(text):
    cli_ok(text)


phase_texts = st.sampled_from([
    "{kind: constant, value: 0.1, duration: 3}", "{kind: linear, end: 0.2, duration: 5}", "{kind: cosine, end: 0.01, duration: 7}",
    "{kind: exponential, gamma: 0.99, duration: 4}", "{kind: step, every: 2, gamma: 0.5, duration: 6}", "0.1",
    "{kind: repeat, times: 2, of: {kind: cosine, end: 0.0, duration: 3}}", "{kind: cyclic, low: 0.01, high: 0.1, up: 2, duration: 8}",
])  # fmt: skip


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(phase_texts, min_size=1, max_size=40), st.integers(1, 3000), st.booleans())
def test_long_flow_sequences(pattern, n, with_total):
    items = [pattern[i % len(pattern)] for i in range(n)]
    text = "schedspec: 1\n" + ("total: 100000\n" if with_total else "") + "lr: [{kind: constant, value: 0.1, duration: 1}, " + ", ".join(items) + "]\n"
    s = loads_or_spec_error(text)
    if s is not None:
        v = evaluate_numpy(s, STEPS, "lr")
        assert np.isfinite(v).all()
    cli_ok(text, commands=(("check",),) if n > 300 else (("check",), ("eval", "--at", "0:50")))


# ------------------------------------------------------------------------------ the whole language: invariants
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(documents())
def test_generated_documents_keep_the_invariants(case):
    """Every document of tests/strategies.documents() (plateaus fed their reports), on the float64 numpy path."""
    s = schedspec.loads(yaml.safe_dump(case.doc, sort_keys=False), "generated.yaml")
    ks = INVARIANT_STEPS if not case.monitors else INVARIANT_STEPS[INVARIANT_STEPS < 300]
    metrics = case.metrics(int(ks.max()))
    invariants(s, case.doc, lambda h, g, ks: numpy_values(s, ks, h, metrics=metrics, group=g), ks)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(documents())
def test_generated_documents_keep_the_invariants_in_float32(case):
    """The same on the float32 path (``schedspec.evaluate``, jit): ends held as the float32 nearest."""
    if known_fault(case.doc, "invariants", False):
        return  # a known fault (tests/test_faults.py), held by its strict xfail
    s = schedspec.loads(yaml.safe_dump(case.doc, sort_keys=False), "generated.yaml")
    ks = INVARIANT_STEPS if not case.monitors else INVARIANT_STEPS[INVARIANT_STEPS < 300]
    metrics = case.metrics(int(ks.max()))

    def values(h, g, ks):
        v = schedspec.evaluate(s, ks, hparam=h, group=g, metrics=metrics)
        return v[0] if v.ndim == 2 else v  # the first sweep member, as the invariants' reference phases

    invariants(s, case.doc, values, ks, f32=True)
