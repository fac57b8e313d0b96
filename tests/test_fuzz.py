"""Hypothesis fuzzing: whatever the input, only SpecError escapes the loader (and the numpy evaluator)."""

from __future__ import annotations

import glob
import math
from pathlib import Path

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schedspec
from schedspec import SpecError, spec
from schedspec.evaluator import evaluate_numpy

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


def evaluate_or_spec_error(s):
    try:
        for hparam in s.program.hparams:
            values = evaluate_numpy(s, np.arange(0, 50), hparam)
            assert values.shape == (50,)
    except SpecError:
        pass


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
        evaluate_or_spec_error(s)


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
        evaluate_or_spec_error(s)


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
        evaluate_or_spec_error(s)
