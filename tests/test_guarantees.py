"""README guarantees that had no test able to fail (issue 14), each checked by breaking the code once:

* ``k`` in ``evaluate``: an int or an int array with ``0 <= k < 2**31``; anything else a ValueError, never a
  value (and ``to_jax`` with a concrete ``k``, which must not silently compute at a wrapped or fractional k);
* every warning kind: shown by ``check`` (exit 0, ``(warning)``), an error under ``check --strict`` (exit 1);
* ``check``'s phase table and min/max line, exactly, on constructed specs and examples, the expected text derived
  from the independent reference (tests/reference.py);
* the fingerprint: ``name``, ``description`` and ``total`` are not part of it, everything that changes a value is;
* ``eval``'s default range: 0 to the schedule's end or ``total``, inclusive.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

import schedspec
from schedspec.cli import main

try:  # tests/ as a package or as a rootdir on sys.path
    from .reference import RefError, ref_members, ref_phases, ref_schedule
    from .strategies import documents
except ImportError:
    from reference import RefError, ref_members, ref_phases, ref_schedule
    from strategies import documents

ROOT = Path(__file__).resolve().parent.parent
STEP = {"schedspec": 1, "lr": {"kind": "step", "start": 0.1, "every": 2, "gamma": 0.5}}


def cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def write(tmp_path, doc, name="s.yaml") -> str:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------------------------------------ k
BAD_K = {
    "negative": (-1, r"k must be in \[0, 2\*\*31-1\] \(got -1\.\.-1\)"),
    "negative in an array": (np.array([0, 5, -3]), r"k must be in \[0, 2\*\*31-1\] \(got -3\.\.5\)"),
    "2**31": (2**31, r"k must be in \[0, 2\*\*31-1\] \(got 2147483648\.\.2147483648\)"),
    "2**31 in an int64 array": (np.array([0, 2**31], np.int64), r"k must be in \[0, 2\*\*31-1\]"),
    "1.5": (1.5, r"k must be whole numbers \(update indices\)"),
    "fractions in a float array": (np.array([0.0, 2.0, 2.5]), r"k must be whole numbers"),
    "nan": (math.nan, r"k must be whole numbers"),
    "True": (True, r"k must be an int or an array of ints, got bool"),
    "a bool array": (np.array([True, False]), r"k must be an int or an array of ints, got bool"),
    "a string": ("3", r"k must be an int or an array of ints"),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("what", list(BAD_K))
def test_evaluate_refuses_k_out_of_range_or_not_whole(what, dtype):
    k, message = BAD_K[what]
    with pytest.raises(ValueError, match=message):
        schedspec.evaluate(STEP, k, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_evaluate_takes_every_int_k_in_range(dtype):
    """The edges of the range and the int-like forms are values, equal to the reference's (step: 0.1 * 0.5**(k//2);
    at 2**31 - 1 that is 0 in float32 and float64 alike)."""
    cases = [0, 2**31 - 1, np.int64(5), np.uint16(5), 2.0, np.array([0.0, 3.0]), [1, 2, 3],
             np.array([[0, 1], [2, 3]], np.int32)]  # fmt: skip
    for k in cases:
        got = schedspec.evaluate(STEP, k, dtype=dtype)
        ks = np.asarray(k).astype(np.int64)
        want = np.asarray([ref_schedule(STEP).value(int(x)) for x in ks.ravel()]).reshape(ks.shape)
        np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == "float32" else 1e-15, err_msg=repr(k))


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_evaluate_refuses_a_float32_k_of_2_31():
    """Regression (issue 14): a float32 k of 2**31 (2147483648.0) passed evaluate's range check (compared in
    float32, 2**31 - 1 rounds to 2**31), was cast to int32 -2**31 with a RuntimeWarning and gave 0.1, the value at
    a negative k. Right: ValueError 'k must be in [0, 2**31-1]' (k is checked exactly, before any cast)."""
    with pytest.raises(ValueError, match=r"k must be in \[0, 2\*\*31-1\]"):
        schedspec.evaluate(STEP, np.array([2.0**31], np.float32))


@pytest.mark.parametrize("what", ["negative", "1.5", "True", "2**31 in an int64 array"])
def test_to_jax_refuses_a_concrete_k_out_of_range_or_not_whole(what):
    """Regression (issue 14): to_jax(spec)(k) with a concrete k computed silently where evaluate refuses: k = -1
    gave 0.1, k = 1.5 gave 0.1, k = True gave 0.1, k = [0, 2**31] gave [0.1, 0.1] (k wrapped to -2**31). Right: the
    same ValueError as evaluate (under jit k is traced and cannot be checked)."""
    k, message = BAD_K[what]
    with pytest.raises(ValueError, match=message):
        schedspec.to_jax(STEP)(k)


# every path that takes a concrete k (README "Evaluate": every one checks it exactly, as evaluate does)
EPOCH_STEP = {**STEP, "interval": "epoch", "steps_per_epoch": 3}


def _k_paths():
    import torch

    def torch_lr_at(k):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        return schedspec.to_torch(STEP, opt).lr_at(k)

    return {
        "evaluate float32": lambda k: schedspec.evaluate(STEP, k),
        "evaluate float64": lambda k: schedspec.evaluate(STEP, k, dtype="float64"),
        "to_jax float32": lambda k: schedspec.to_jax(STEP)(k),
        "to_jax float64": lambda k: schedspec.to_jax(STEP, dtype="float64")(k),
        "to_optax": lambda k: schedspec.to_optax(STEP)(k),
        "to_optax per epoch": lambda k: schedspec.to_optax(EPOCH_STEP)(k),
        "to_keras": lambda k: schedspec.to_keras(STEP)(k),
        "to_torch lr_at": torch_lr_at,
        "emitted jax": _emitted("jax"),
        "emitted optax": _emitted("optax"),
        "emitted keras": _emitted("keras"),
    }


@functools.cache
def _emitted(target: str):
    """The schedule of the module `schedspec compile --to TARGET` writes for STEP (executed once)."""
    namespace: dict = {}
    exec(compile(schedspec.emit(STEP, target), f"emitted_{target}.py", "exec"), namespace)  # noqa: S102
    return namespace["schedule"] if target == "jax" else namespace["build_schedule"]()


K_PATHS = ["evaluate float32", "evaluate float64", "to_jax float32", "to_jax float64", "to_optax",
           "to_optax per epoch", "to_keras", "to_torch lr_at", "emitted jax", "emitted optax", "emitted keras"]  # fmt: skip
SCALAR_ONLY = {"to_torch lr_at"}
FLOAT32_2_31 = np.float32(2.0**31)


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("what", [*BAD_K, "float32 2**31", "float32 2**31 in an array", "2**70"])
@pytest.mark.parametrize("path", K_PATHS)
def test_every_path_refuses_a_concrete_k_out_of_range_or_not_whole(path, what):
    """The kind of the two faults above, as a matrix: every path that takes a concrete k refuses, with evaluate's
    message, every k that is not a whole number in [0, 2**31-1] (checked exactly, before any cast)."""
    k, message = {"float32 2**31": (FLOAT32_2_31, r"k must be in \[0, 2\*\*31-1\]"),
                  "float32 2**31 in an array": (np.array([0, FLOAT32_2_31]), r"k must be in \[0, 2\*\*31-1\]"),
                  "2**70": (2**70, r"k must be in \[0, 2\*\*31-1\]")}.get(what) or BAD_K[what]  # fmt: skip
    if path in SCALAR_ONLY and np.ndim(k):
        message = "one update index|" + message
    with pytest.raises(ValueError, match=message):
        _k_paths()[path](k)


@pytest.mark.parametrize("path", K_PATHS)
def test_every_path_takes_the_edges_of_the_k_range(path):
    """0 and 2**31 - 1 (an int, a float32 just below 2**31, a whole float) are values on every path."""
    fn = _k_paths()[path]
    assert float(np.asarray(fn(0)).ravel()[0]) == pytest.approx(0.1, rel=1e-7)
    assert float(np.asarray(fn(2**31 - 1)).ravel()[0]) == 0.0
    assert float(np.asarray(fn(np.float32(2.0**31 - 128))).ravel()[0]) == 0.0
    assert float(np.asarray(fn(5.0)).ravel()[0]) == pytest.approx(0.1 * 0.5 ** (5 // 2 if "epoch" not in path else 0),
                                                                  rel=1e-7)


def test_to_jax_under_jit_takes_a_traced_k():
    """Under jit k is traced and cannot be checked (README): it computes, clamped below at 0."""
    import jax

    fn = jax.jit(schedspec.to_jax(STEP))
    assert float(fn(4)) == pytest.approx(0.025, rel=1e-7) and float(fn(-1)) == pytest.approx(0.1, rel=1e-7)


def test_to_jax_takes_int32_max():
    assert float(schedspec.to_jax(STEP)(2**31 - 1)) == 0.0
    assert float(schedspec.to_jax(STEP)(np.int64(3))) == pytest.approx(0.05, rel=1e-7)


# ------------------------------------------------------------------------------------------------ warnings
WARNINGS = {  # README "Validation": a jump, an end before `total`, a falling first linear, an unused var; and groups
    "jump": ("lr:\n  - {kind: constant, value: 0.1, duration: 10}\n  - {kind: constant, value: 0.5, duration: 10}\n",
             "4:5: jump from 0.1 to 0.5 at the start of this phase; omit `start` to continue from the previous value"),
    "ends before total": ("total: 100\nlr: {kind: cosine, start: 0.1, duration: 50}\n",
                          "3:5: the `lr` schedule ends at step 50, before `total` (step 100); it holds its final "
                          "value after that"),
    "falling warmup": ("lr:\n  - {kind: linear, start: 0.1, end: 0.01, duration: 10}\n  - {kind: cosine, duration: 20}\n",
                       "3:5: this looks like a warmup (a first `linear` phase), but its end 0.01 is below its start "
                       "0.1; swap `start` and `end` if it should rise"),
    "unused var": ("vars:\n  peak: 0.1\n  spare: 3\nlr: {kind: constant, value: $peak}\n",
                   "4:10: var 'spare' is defined but never used"),
    "a group that changes nothing": ("lr: 0.1\ngroups:\n  backbone: {}\n",
                                     "4:13: group `backbone` changes nothing (no `scale`, no schedule): it gets the "
                                     "document's schedules"),
    "ends before total (epochs, momentum)": (
        "interval: epoch\ntotal: 30\nlr: 0.1\nmomentum: [{kind: constant, value: 0.9, duration: 20}]\n",
        "5:11: the `momentum` schedule ends at epoch 20, before `total` (epoch 30); it holds its final value after that"),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(WARNINGS))
def test_every_warning_is_shown_by_check_and_an_error_under_strict(kind, tmp_path):
    body, message = WARNINGS[kind]
    path = write(tmp_path, "schedspec: 1\n" + body)
    line = f"{path}:{message}"
    assert [str(w) for w in schedspec.load(path).warnings] == [line]
    rc, out, err = cli("check", path)
    assert (rc, err) == (0, line + " (warning)\n")
    assert "fingerprint" in out
    rc, out, err = cli("check", "--strict", path)
    assert (rc, err) == (1, line + "\n")


def test_a_clean_spec_has_no_warning(tmp_path):
    path = write(tmp_path, "schedspec: 1\ntotal: 30\nlr: [{kind: linear, start: 0.0, end: 0.1, duration: 10}, "
                           "{kind: cosine, end: 0.001}]\nvars: {}\n")  # fmt: skip
    assert schedspec.load(path).warnings == []
    assert cli("check", "--strict", path)[::2] == (0, "")


# ------------------------------------------------------------------------------------------------ check's table
def _g(v: float) -> str:
    return "0" if v == 0 else f"{v:.6g}"


def _steps(x: int, spe) -> str:
    return _g(x / spe)


def expected_table(doc: dict, hparam: str = "lr") -> list[str]:
    """``check``'s table and min/max line for ``doc[hparam]``, from the reference: one row per top-level phase
    (begin, end, in epochs too with ``steps_per_epoch``, the value at its begin and its final value; the table shows
    the first sweep member), then min and max over k = 0..end inclusive across every sweep member."""
    epoch = doc.get("interval") == "epoch"
    unit = "epoch" if epoch else "step"
    spe = doc.get("steps_per_epoch") if not epoch else None
    members = ref_members(doc)
    phases = ref_phases(doc, hparam, member=members[0] or None)
    head = ["#", "kind", f"begin({unit})", f"end({unit})"] + (["begin(ep)", "end(ep)"] if spe else []) + ["start",
                                                                                                        "end value"]
    rows = []
    for i, ph in enumerate(phases):
        end = ph.begin + ph.duration if ph.duration is not None else None
        kind = ph.node["kind"] if isinstance(ph.node, dict) else "constant"
        row = [str(i), kind, str(ph.begin), str(end) if end is not None else "forever"]
        if spe:
            row += [_steps(ph.begin, spe), _steps(end, spe) if end is not None else "forever"]
        row += [_g(ph.sched.value(0)), _g(ph.sched.final()) if end is not None else "-"]
        rows.append(row)
    widths = [max(len(r[c]) for r in [head, *rows]) for c in range(len(head))]
    lines = ["    " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [head, *rows]]
    scheds = [ref_schedule(doc, hparam, member=m or None) for m in members]
    ends = [s.duration for s in scheds]
    if None in ends:
        return lines + ["    min/max: the schedule never ends and no `total` is set"]
    # README: each member runs to its own end (`total`, or its last phase's end when a duration var sweeps)
    values = [s.value(k) for s, end in zip(scheds, ends) for k in range(end + 1)]
    own = ", each member to its own end" if len(set(ends)) > 1 else ""
    return lines + [f"    min {_g(min(values))}  max {_g(max(values))}  (over {unit}s 0..{max(ends)}{own})"]


TABLE_SPECS = {
    "warmup, cosine, multistep; epochs of 4 steps; a sweep": {
        "schedspec": 1, "steps_per_epoch": 4, "total": 30, "vars": {"peak": [0.3, 0.7]},
        "lr": [{"kind": "linear", "start": 0.0, "end": "$peak", "duration": 6},
               {"kind": "cosine", "end": 0.01, "duration": 10},
               {"kind": "multistep", "milestones": [3, 5], "gamma": 0.5}]},
    "never ends": {"schedspec": 1, "lr": [{"kind": "constant", "value": 0.2, "duration": 5},
                                          {"kind": "exponential", "gamma": 0.9}]},
    "epochs; a cyclic rising above its ends, then a polynomial": {
        "schedspec": 1, "interval": "epoch",
        "lr": [{"kind": "cyclic", "low": 0.01, "high": 0.07, "up": 3, "duration": 12},
               {"kind": "polynomial", "end": 0.001, "power": 2, "duration": 7}]},
    "the max inside a phase (onecycle), nested lists": {
        "schedspec": 1, "total": 70,
        "lr": [[{"kind": "constant", "value": 0.01, "duration": 10}, {"kind": "onecycle", "peak": 0.5, "duration": 40}],
               {"kind": "step", "start": 0.02, "every": 5, "gamma": 0.5}]},
    "a duration var sweep (each member to its own end)": {
        "schedspec": 1, "vars": {"w": [4, 9]},
        "lr": [{"kind": "linear", "start": 0.0, "end": 0.3, "duration": "$w"},
               {"kind": "cosine", "end": 0.05, "duration": 10}]},
    "six significant digits (and no more)": {
        "schedspec": 1, "lr": [{"kind": "linear", "start": 0.0, "end": 0.1234567, "duration": 3},
                               {"kind": "exponential", "gamma": 0.97, "duration": 7}]},
    "a repeat with decay and a sum": {
        "schedspec": 1, "steps_per_epoch": 5,
        "lr": [{"kind": "repeat", "times": 3, "decay": 0.5,
                "of": {"kind": "cosine", "start": 0.4, "end": 0.1, "duration": "2ep"}},
               {"kind": "sum", "of": [{"kind": "constant", "value": 0.01, "duration": 6},
                                      {"kind": "linear", "start": 0.0, "end": 0.2, "duration": 6}]}]},
}  # fmt: skip


LONG_REPEATS = {  # (body, the steps where the reference attains min and max)
    "2e6 cycles of a 1000-step cosine (2e9 steps)": (
        {"kind": "repeat", "times": 2000000, "of": {"kind": "cosine", "start": 0.001, "end": 0.0, "duration": 1000}},
        2 * 10**9, 0),
    "1000 decaying cycles": (
        {"kind": "repeat", "times": 1000, "decay": 0.999,
         "of": {"kind": "cosine", "start": 0.001, "end": 0.0005, "duration": 1000}}, 10**6, 0),
    "2e6 cycles of a warmup and a cosine": (
        {"kind": "repeat", "times": 2000000, "of": [{"kind": "linear", "start": 0.0002, "end": 0.001, "duration": 100},
                                                    {"kind": "cosine", "end": 0.0001, "duration": 900}]},
        2 * 10**9, 100),  # the min is the end held after the last cycle (below the 0.0002 each cycle starts at)
}  # fmt: skip


@pytest.mark.parametrize("name", list(LONG_REPEATS))
def test_check_of_a_long_repeat_is_closed_form(name, tmp_path, monkeypatch):
    """`check`'s min/max of a repeat of up to 2e9 steps is its body's, found in closed form (issue 13): the right
    values (from the reference, at the steps where they are attained), and a bounded number of steps evaluated
    (counted at the range analysis' evaluation hook, load's overflow check included), never one per step."""
    from schedspec import _range

    body, at_min, at_max = LONG_REPEATS[name]
    doc = {"schedspec": 1, "lr": body}
    ref = ref_schedule(doc)
    evaluated = []
    original = _range.evaluate

    def counting(node, t, *args, **kw):
        evaluated.append(len(t))
        return original(node, t, *args, **kw)

    monkeypatch.setattr(_range, "evaluate", counting)
    rc, out, err = cli("check", write(tmp_path, doc))
    assert rc == 0, err
    end = ref.duration
    assert f"    min {_g(ref.value(at_min))}  max {_g(ref.value(at_max))}  (over steps 0..{end})" in out, out
    assert 0 < sum(evaluated) <= 1000, (sum(evaluated), end)


def table_of(out: str, hparam: str = "lr") -> list[str]:
    lines = out.splitlines()
    i = lines.index(f"  {hparam}:")
    table = []
    for line in lines[i + 1:]:
        if not line.startswith("    "):
            break
        table.append(line)
    return table


@pytest.mark.parametrize("name", list(TABLE_SPECS))
def test_check_table_and_min_max_are_exact(name, tmp_path):
    doc = TABLE_SPECS[name]
    rc, out, _ = cli("check", write(tmp_path, doc))
    assert rc == 0
    assert table_of(out) == expected_table(doc)


EXAMPLE_TABLES = ["gpt-warmup-cosine.yaml", "wsd.yaml", "resnet50.yaml", "cosine-formula.yaml", "lr-sweep.yaml",
                  "finetune-groups.yaml", "onecycle.yaml", "bert.yaml"]  # fmt: skip


@pytest.mark.parametrize("name", EXAMPLE_TABLES)
def test_check_table_and_min_max_of_examples(name):
    path = ROOT / "examples" / name
    doc = yaml.safe_load(path.read_text())
    rc, out, _ = cli("check", str(path))
    assert rc == 0
    for hparam in [k for k in doc if k not in ("schedspec", "name", "description", "interval", "steps_per_epoch",
                                               "total", "vars", "groups")]:  # fmt: skip
        if isinstance(doc[hparam], (int, float)):
            doc = {**doc, hparam: {"kind": "constant", "value": doc[hparam]}}
        assert table_of(out, hparam) == expected_table(doc, hparam), hparam


def test_check_header_line():
    rc, out, _ = cli("check", str(ROOT / "examples" / "lr-sweep.yaml"))
    assert out.splitlines()[1] == ("  interval epoch, total 100 epochs, sweep of 4 over lr0 (the table shows the first "
                                   "member; min/max cover all 4)")  # fmt: skip
    rc, out, _ = cli("check", str(ROOT / "examples" / "finetune-groups.yaml"))
    assert out.splitlines()[1] == "  interval step, steps_per_epoch 1000, total 20000 steps"


# ------------------------------------------------------------------------------------------------ fingerprint
BASE = "schedspec: 1\nsteps_per_epoch: 4\nlr: [{kind: linear, start: 0.0, end: 0.1, duration: 2ep}, {kind: cosine, " \
       "end: 0.001, duration: 20}]\n"  # fmt: skip


def fp(text: str) -> str:
    return schedspec.loads(text, "f.yaml").fingerprint


def test_name_description_and_total_are_not_part_of_the_fingerprint():
    base = fp(BASE)
    assert fp("name: a run\ndescription: |\n  the same\n  schedule\n" + BASE) == base
    assert fp(BASE + "name: another\n") == base
    assert fp("total: 28\n" + BASE) == base  # the schedule ends at 28: `total` changes no value
    assert fp("total: 1000\n" + BASE) == base  # holds its end from 28 on, as without `total`
    assert fp("total: 250ep\n" + BASE) == base


def test_what_changes_a_value_is_part_of_the_fingerprint():
    base = fp(BASE)
    open_end = BASE.replace(", duration: 20}]", "}]")
    changed = {
        "a value": BASE.replace("end: 0.1", "end: 0.2"),
        "a duration": BASE.replace("duration: 20", "duration: 21"),
        "a unit": BASE.replace("2ep", "2st"),
        "steps_per_epoch (with ep durations)": BASE.replace("steps_per_epoch: 4", "steps_per_epoch: 5"),
        "a kind": BASE.replace("kind: cosine", "kind: polynomial"),
        "an optional parameter": BASE.replace("end: 0.001", "end: 0.001, exponent: 2"),
        "another hyperparameter": BASE + "momentum: 0.9\n",
        "a group": BASE + "groups: {backbone: {scale: 0.1}}\n",
        "a var's value": BASE.replace("end: 0.1", "end: $p") + "vars: {p: 0.2}\n",
        "a sweep": BASE.replace("end: 0.1", "end: $p") + "vars: {p: [0.1, 0.2]}\n",
        "interval": BASE.replace("steps_per_epoch: 4", "interval: epoch\nsteps_per_epoch: 4"),
        "total under an open last phase": "total: 40\n" + open_end,
    }
    fps = {what: fp(text) for what, text in changed.items()}
    assert all(f != base for f in fps.values()), [w for w, f in fps.items() if f == base]
    assert fp("total: 40\n" + open_end) != fp("total: 41\n" + open_end)
    assert fp(BASE.replace("end: 0.1", "end: $p") + "vars: {p: 0.1}\n") == base  # a scalar var is resolved


def _numbers(x, path=()):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _numbers(v, (*path, k))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _numbers(v, (*path, i))
    elif isinstance(x, float) and x > 0:
        yield path


def _set(doc, path, value):
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(documents())
def test_fingerprint_changes_exactly_with_the_values(case):
    """A generated document with one number changed: when the reference's values change anywhere (any schedule,
    group or sweep member, k up to twice the length), the fingerprint changes; a name, a description or a `total`
    at or beyond every schedule's end never changes it."""
    doc = case.doc
    spec = schedspec.load(doc)
    assert schedspec.load({**doc, "name": "x", "description": "y"}).fingerprint == spec.fingerprint
    bare = {k: v for k, v in doc.items() if k != "total"}
    try:  # where each schedule ends by itself (no open last phase running to `total`)
        ends = [ref_schedule(bare, h, g, m or None).duration for h, g, m in schedules_of(bare)]
    except RefError:
        ends = [None]
    if None not in ends and "%" not in yaml.safe_dump(doc):  # then `total` changes no value, nor any length
        fps = {schedspec.load({**bare, **t}).fingerprint for t in ({}, {"total": max(ends)}, {"total": max(ends) + 7})}
        assert fps == {spec.fingerprint}, doc
    paths = [p for p in _numbers(doc) if p[0] not in ("schedspec", "total", "steps_per_epoch")]
    if not paths:
        return
    path = paths[len(paths) // 2]
    other = copy.deepcopy(doc)
    old = path_value(doc, path)
    _set(other, path, old * 0.5 if old < 1e30 else old)
    try:
        changed = schedspec.load(other)
    except schedspec.SpecError:
        return  # e.g. a clip's min above its max now
    metrics = case.metrics(200)
    try:
        differ = values_differ(doc, other, metrics)
    except RefError:
        return
    if differ:
        assert changed.fingerprint != spec.fingerprint, (path, doc)


def path_value(doc, path):
    node = doc
    for p in path:
        node = node[p]
    return node


def schedules_of(doc: dict):
    """(hparam, group, sweep member) of every schedule of a document."""
    keys = [k for k in doc if k not in ("schedspec", "name", "description", "interval", "steps_per_epoch", "total",
                                        "vars", "groups")]  # fmt: skip
    for h, g, m in itertools.product(keys, [None, *(doc.get("groups") or {})], ref_members(doc)):
        if g is None or h in doc["groups"][g] or (h == "lr" and "scale" in doc["groups"][g]):
            yield h, g, m


def values_differ(a: dict, b: dict, metrics) -> bool:
    for h, g, m in schedules_of(a):
        sa, sb = ref_schedule(a, h, g, m or None, metrics), ref_schedule(b, h, g, m or None, metrics)
        n = max(sa.duration or 100, sb.duration or 100)
        if any(sa.value(k) != sb.value(k) for k in range(0, min(2 * n + 1, 400))):
            return True
    return False


# ------------------------------------------------------------------------------------------------ eval's range
@pytest.mark.parametrize("doc, last", [
    ("total: 10\nlr: {kind: cosine, start: 0.1, duration: 5}\n", 10),  # holds to total (a warning)
    ("lr: [{kind: linear, start: 0.0, end: 0.1, duration: 3}, {kind: cosine, duration: 4}]\n", 7),  # its end
    ("total: 12\nlr: [{kind: linear, start: 0.0, end: 0.1, duration: 3}, {kind: cosine}]\n", 12),  # runs to total
    ("vars: {w: [2, 6]}\nlr: [{kind: linear, start: 0.0, end: 0.1, duration: $w}, {kind: constant, duration: 3}]\n",
     9),  # the longest member's end
    ("interval: epoch\ntotal: 5\nlr: {kind: step, start: 0.1, every: 2}\n", 5),  # epochs, an open phase
])  # fmt: skip
def test_eval_default_range_includes_the_end(doc, last, tmp_path):
    path = write(tmp_path, "schedspec: 1\n" + doc)
    rc, out, err = cli("eval", path, "--dtype", "float64")
    assert rc == 0, err
    rows = out.strip().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == list(range(last + 1))
    data = yaml.safe_load(doc)
    for r in rows:  # every column (each sweep member) is the reference's value at that k
        k, *vals = r.split(",")
        want = [ref_schedule({"schedspec": 1, **data}, member=m or None).value(int(k)) for m in ref_members(data)]
        np.testing.assert_allclose([float(v) for v in vals], want, rtol=1e-6)


def test_eval_default_range_of_an_example_ends_at_total():
    rc, out, _ = cli("eval", str(ROOT / "examples" / "wsd.yaml"), "--format", "json")
    data = __import__("json").loads(out)
    assert rc == 0 and data["k"][0] == 0 and data["k"][-1] == 100000 and len(data["k"]) == 100001


# ------------------------------------------------------------------------------------------------ plateau warnings
def test_plateau_paths_emit_no_warning_at_all(tmp_path):
    """Replaces test_plateau.py::test_warnings_stay_errors, which only re-ran evaluate under the `error` filter that
    pyproject already sets. Here every plateau path runs with every warning recorded ("always"), including the
    categories pyproject ignores (DeprecationWarnings raised inside jax, keras, optax), and none may be: evaluate
    in float32 and float64, to_jax under jit, to_torch stepped with report() and with step(v), the emitted torch
    module."""
    import warnings

    import jax
    import torch

    try:
        from .helpers import load_module
    except ImportError:
        from helpers import load_module

    text = (ROOT / "examples" / "warmup-plateau-cooldown.yaml").read_text()
    by_epoch = "schedspec: 1\ninterval: epoch\nlr: {kind: plateau, start: 0.1, monitor: val_loss, patience: 1}\n"
    reports = [2.0 - 0.1 * i if i < 8 else 1.2 for i in range(100)]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        spec = schedspec.loads(text, "p.yaml")
        for dtype in ("float32", "float64"):
            schedspec.evaluate(spec, [0, 2500, 30000, 50000], metrics={"val_loss": reports}, dtype=dtype)
        jax.jit(lambda k: schedspec.to_jax(spec)(k, metrics={"val_loss": jax.numpy.asarray(reports)}))(
            jax.numpy.arange(0, 50000, 999))
        for s, per_epoch in ((spec, False), (schedspec.loads(by_epoch, "e.yaml"), True)):
            module = load_module(schedspec.emit(s, "torch"), tmp_path)
            for make in (lambda o, s=s: schedspec.to_torch(s, o), module.build_scheduler):
                p = torch.nn.Parameter(torch.zeros(1))
                opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
                sched = make(opt)
                if per_epoch:  # ReduceLROnPlateau's loop: step(v) once per epoch
                    for e in range(12):
                        opt.step()
                        sched.step(reports[e])
                    continue
                for k in range(3 * 500):  # report() at the end of each epoch, step() after every update
                    opt.step()
                    if (k + 1) % 500 == 0:
                        sched.report("val_loss", reports[k // 500])
                    sched.step()
    assert [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in seen] == []
