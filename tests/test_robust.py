"""No internal errors whatever the input, and a CLI analysis that tells the truth (issue 9, sections 5 and 6).

* Values that leave the float range: a positioned error naming the first step, cross-checked against the real float32
  (JAX) and float64 evaluation of the same schedule loaded without the check.
* Nesting at any depth: the positioned "too deeply nested" error, from text and from a dict.
* `check` min/max over every sweep member, exact (compared with a dense evaluation of every member).
* `plot --diff` with the parity tolerance; message templates that leak no placeholder; user text escaped.
* An open last phase inside scale/clip/product/sum runs to `total`.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

import schedspec
from schedspec import SpecError
from schedspec import lowering as lower
from schedspec.cli import main

ROOT = Path(__file__).resolve().parent.parent
HEAD = "schedspec: 1\n"
F32 = "the float32 paths (evaluate's default, to_jax, to_keras, to_optax, emitted keras/optax/jax modules) would give inf or NaN"


def problems(text: str, file: str = "x.yaml") -> list[str]:
    with pytest.raises(SpecError) as info:
        schedspec.loads(text, file)
    return [str(i) for i in info.value.issues]


def cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


# ================================================================================================ §5 overflow
def test_exponential_growth_past_the_float_range_is_a_positioned_error(tmp_path):
    text = HEAD + "total: 10000\nlr: {kind: exponential, start: 0.1, gamma: 1.1}\n"
    message = (
        f"x.yaml:3:5: this `exponential` overflows float32 from step 931 on (float64 value there: 3.44025e+37): {F32}; "
        "it overflows float64 too, from step 7448 on; give it an `end` (a ceiling), a shorter `duration` or a "
        "`gamma` nearer 1"
    )
    assert problems(text) == [message]
    path = tmp_path / "x.yaml"
    path.write_text(text)
    for argv in (["check", str(path)], ["eval", str(path)], ["eval", str(path), "--dtype", "float64"]):
        rc, out, err = cli(*argv)
        assert (rc, out) == (1, "")
        assert err == message.replace("x.yaml", str(path)) + "\n"


# (spec lines, expected issue, first float32 step, first float64 step or None): the steps are where the schedule
# itself (top level) becomes inf/NaN in float32 and float64 (cross-checked below).
OVERFLOWS = {
    "exponential": ("lr: {kind: exponential, start: 0.1, gamma: 1.1}", "2:5", "exponential", 931, 7448),
    "exponential from 0 (0 * inf)": ("lr: {kind: exponential, start: 0.0, gamma: 1.1}", "2:5", "exponential", None, None),
    "step": ("lr: {kind: step, start: 0.1, every: 10, gamma: 10}", "2:5", "step", 390, 3090),
    "multistep": ("lr: {kind: multistep, start: 0.1, milestones: [10, 20, 30], gamma: 1.0e+15}", "2:5", "multistep", 30, None),
    "cyclic exp_range": ("lr: {kind: cyclic, low: 0.1, high: 1.0, up: 5, mode: exp_range, gamma: 1.1}", "2:5", "cyclic", 931, 7448),
    "cyclic exp_range, no amplitude (0 * inf)": (
        "lr: {kind: cyclic, low: 0.1, high: 0.1, up: 5, mode: exp_range, gamma: 1.1}", "2:5", "cyclic", None, None),
    "repeat decay > 1": ("lr: {kind: repeat, decay: 10, of: {kind: cosine, start: 1, duration: 10}}", "2:5", "repeat", 390, 3090),
    "repeat mult 2": ("lr: {kind: repeat, mult: 2, decay: 1.0e+10, of: {kind: cosine, start: 1, duration: 10}}", "2:5", "repeat", 150, None),
    "onecycle final_div_factor < 1": (
        "lr: {kind: onecycle, peak: 1.0e+36, final_div_factor: 1.0e-4, duration: 100}", "2:5", "onecycle", 30, None),
    "onecycle div_factor < 1": ("lr: {kind: onecycle, peak: 1.0e+38, div_factor: 0.01, duration: 100}", "2:5", "onecycle", 0, None),
    "scale": ("lr: [{kind: constant, value: 1.0, duration: 50}, {kind: scale, by: 1.0e+20, of: {kind: exponential, start: 1.0, "
              "gamma: 2.0}}]", "2:50", "scale", 112, 1008),
    "product": ("lr: {kind: product, of: [{kind: linear, start: 0, end: 1.0e+30, duration: 100}, {kind: constant, value: 1.0e+10}]}",
                "2:5", "product", 4, None),
    "sum": ("lr: {kind: sum, of: [{kind: linear, start: 0, end: 3.0e+38, duration: 100}, 3.0e+38]}", "2:5", "sum", 14, None),
    "group scale": ("lr: 1.0e+30\ngroups: {backbone: {scale: 1.0e+10}}", "3:28", "scale", 0, None),
    "a sweep member": ("vars: {peak: [1.0e-5, 1.0e+30, 1.0e+35]}\nlr: {kind: scale, by: $peak, of: [{kind: linear, start: 0, "
                       "end: 1.0e+10, duration: 10}, {kind: cosine, duration: 20}]}", "3:5", "scale", 1, None),
    "a framework kind": ("lr: {kind: torch.ExponentialLR, lr: 0.1, gamma: 1.1}", "2:5", "exponential", 931, 7448),
    "inside a repeat": ("lr: {kind: repeat, of: {kind: exponential, start: 1.0, gamma: 1.5, duration: 300}}", "2:24",
                        "exponential", 219, None),
}  # fmt: skip


def _load_unchecked(text: str, monkeypatch):
    """The spec loaded WITHOUT the overflow check (to evaluate what the targets would compute)."""
    with monkeypatch.context() as m:
        m.setattr(lower._Lowerer, "overflows", lambda self: None)
        return schedspec.loads(text)


@pytest.mark.parametrize("name", OVERFLOWS)
def test_every_kind_that_can_overflow_is_refused_at_its_first_step(name, monkeypatch):
    body, where, kind, at32, at64 = OVERFLOWS[name]
    text = HEAD + body + "\n"
    if at32 is None:  # 0 * inf: NaN or 0 depending on how the formula guards it; refused exactly where a target NaNs
        spec = _load_unchecked(text, monkeypatch)
        k = np.arange(0, 8000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            bad = np.flatnonzero(~np.isfinite(schedspec.evaluate(spec, k)))
        if not bad.size:
            schedspec.loads(text)
            return
        at32, at64 = int(bad[0]), None
    (issue,) = problems(text)
    local = "its local step" if name == "inside a repeat" else "step"
    assert issue.startswith(f"x.yaml:{where}: this `{kind}` overflows float32 from {local} {at32} on"), issue
    if at64 is not None:
        assert f"it overflows float64 too, from step {at64} on" in issue
    # what the targets compute: float32 (JAX, the default path) finite before at32, inf/NaN at at32
    spec = _load_unchecked(text, monkeypatch)
    group = {"group": "backbone"} if "group" in name else {}
    k = np.arange(0, at32 + 1)
    row = 1 if "sweep" in name else 0
    with warnings.catch_warnings():  # the targets' own overflow warnings: what the check prevents
        warnings.simplefilter("ignore", RuntimeWarning)
        v32 = np.atleast_2d(schedspec.evaluate(spec, k, **group))
        assert np.isfinite(v32[:, :at32]).all() and not np.isfinite(v32[row, at32])
        if at64 is not None:
            v64 = np.atleast_2d(schedspec.evaluate(spec, [at64 - 1, at64], dtype="float64", **group))
            assert np.isfinite(v64[row, 0]) and not np.isfinite(v64[row, 1])


def test_one_step_before_the_overflow_loads_and_stays_finite_everywhere():
    # the same exponential cut at step 930 holds its (finite) value from there on; at 931 it is refused
    spec = schedspec.loads(HEAD + "lr: {kind: exponential, start: 0.1, gamma: 1.1, duration: 930}\n")
    k = np.array([0, 929, 930, 931, 2**31 - 1])
    assert np.isfinite(schedspec.evaluate(spec, k)).all() and np.isfinite(schedspec.evaluate(spec, k, dtype="float64")).all()
    assert problems(HEAD + "lr: {kind: exponential, start: 0.1, gamma: 1.1, duration: 931}\n")[0].startswith(
        "x.yaml:2:5: this `exponential` overflows float32 from step 931 on"
    )


def test_growth_capped_by_its_own_end_is_fine_and_check_reads_it():
    # gamma**t overflows (float64 from step 7448) but min(inf, end) = end: the schedule is finite on every path
    text = HEAD + "total: 10000\nlr:\n  - {kind: exponential, start: 0.1, gamma: 1.1, end: 1.0, duration: 9000}\n  - {kind: cosine}\n"
    spec = schedspec.loads(text)
    assert spec.program.hparams["lr"].parts[1].start == 1.0  # the carried start: no OverflowError
    k = np.array([0, 24, 25, 8999, 9000, 9500, 10000, 2**31 - 1])
    for dtype in ("float32", "float64"):
        assert np.isfinite(schedspec.evaluate(spec, k, dtype=dtype)).all()
    path = ROOT / "x.yaml"
    try:
        path.write_text(text)
        rc, out, err = cli("check", "x.yaml")
    finally:
        path.unlink()
    assert (rc, err) == (0, "") and "min 0  max 1  (over steps 0..10000)" in out


def test_a_part_that_overflows_is_refused_even_when_a_clip_caps_it():
    # documented rule: each part's own values must stay in range (write the cap as the exponential's `end`)
    (issue,) = problems(HEAD + "lr: {kind: clip, max: 1.0, of: {kind: exponential, start: 0.1, gamma: 1.1}}\n")
    assert issue.startswith("x.yaml:2:32: this `exponential` overflows float32 from step 931 on")


def test_overflow_check_needs_no_metric_reports():
    # a plateau's values depend on its reports; the check bounds them by its start (or `min`): it never asks for them
    base = ("lr:\n  - {kind: linear, start: 0.0, end: 0.1, duration: 4}\n"
            "  - {kind: plateau, monitor: val_loss, every: 2, duration: 16}\n")  # fmt: skip
    for tail in ("  - {kind: exponential, gamma: 1.1, duration: 100}\n",
                 "  - {kind: product, of: [{kind: plateau, start: 1.0, monitor: val_loss, every: 2, duration: 30}, "
                 "{kind: cosine, start: 0.5, end: 0.05, duration: 24}]}\n"):  # fmt: skip
        schedspec.loads(HEAD + base + tail)
    (issue,) = problems(HEAD + base + "  - {kind: exponential, gamma: 1.1}\n")
    # from at most the plateau's start 0.1 (it begins at step 20): float32 gives inf at 20 + 931
    assert issue.startswith("x.yaml:5:5: this `exponential` overflows float32 from step 951 on")


PLATEAU_OVERFLOWS = {  # a combinator holding a plateau -> (its position and kind)
    "product": ("lr: {kind: product, of: [{kind: plateau, start: 1.0e+30, monitor: loss}, "
                "{kind: exponential, start: 1.0, gamma: 1.5, duration: 100}]}", "3:5", "product"),
    "sum": ("lr: {kind: sum, of: [{kind: plateau, start: 3.0e+38, monitor: loss}, "
            "{kind: exponential, start: 1.0e+37, gamma: 1.5, duration: 100}]}", "3:5", "sum"),
    "scale of a sequence": ("lr: [{kind: constant, value: 0.5, duration: 20}, {kind: scale, by: 1.0e+12, of: "
                            "[{kind: linear, start: 0.5, end: 1.0e+27, duration: 30}, "
                            "{kind: plateau, monitor: loss, duration: 60}]}]", "3:50", "scale"),
    "product of a sequence": ("lr: {kind: product, of: [[{kind: constant, value: 1.0, duration: 7}, {kind: plateau, "
                              "start: 1.0e+30, monitor: loss}], {kind: exponential, start: 1.0, gamma: 2.0, "
                              "duration: 200}]}", "3:5", "product"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(PLATEAU_OVERFLOWS))
def test_every_combinator_holding_a_plateau_that_overflows_is_refused_where_evaluate_gives_inf(name, monkeypatch):
    # the kind of test_a_product_holding_a_plateau_that_overflows_float32_is_refused (tests/test_faults.py): a
    # plateau whose reports keep improving holds its start; the refusal names the first step where evaluate then
    # gives inf (float32), cross-checked on the spec loaded without the check
    body, where, kind = PLATEAU_OVERFLOWS[name]
    text = HEAD + "steps_per_epoch: 10\n" + body + "\n"
    spec = _load_unchecked(text, monkeypatch)
    ks = np.arange(0, 120)
    improving = {"loss": [100.0 - i for i in range(13)]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        bad = np.flatnonzero(~np.isfinite(schedspec.evaluate(spec, ks, metrics=improving)))
    assert bad.size, name
    (issue,) = problems(text)
    assert issue.startswith(f"x.yaml:{where}: this `{kind}` overflows float32 from step {int(bad[0])} on "), issue


@pytest.mark.parametrize(
    "text, message",
    [
        ("lr: 1.0e+39", "x.yaml:2:5: `lr`: 1e+39 is beyond the float32 range"),
        ("lr: {kind: cosine, start: 1.0e+300, duration: 10}", "x.yaml:2:27: `start`: 1e+300 is beyond the float32 range"),
        ("vars: {p: [0.1, 1.0e+308]}\nlr: $p", "x.yaml:2:17: $p = 1e+308 is beyond the float32 range"),
        ("lr: {kind: plateau, start: 1, monitor: m, every: 1, threshold: 3.5e+38}",
         "x.yaml:2:64: `threshold`: 3.5e+38 is beyond the float32 range"),
    ],
)  # fmt: skip
def test_numbers_beyond_float32_are_refused_at_the_number(text, message):
    (issue,) = problems(HEAD + text + "\n")
    assert issue == message + (
        " (largest 3.4028235e+38), where the float32 paths (evaluate's default, to_jax, to_keras, to_optax, emitted "
        "keras/optax/jax modules) would hold inf; give a smaller number"
    )


@pytest.mark.parametrize(
    "body, message",
    [
        ("[{kind: constant, value: 0.1, duration: 2147483647}, {kind: constant, value: 0.2, duration: 2147483647}]",
         "x.yaml:2:5: this sequence lasts 4294967294 steps, more than 2**31-1 (the int32 step counter of every "
         "framework); shorten its phases"),
        ("{kind: cyclic, low: 0.1, high: 1, up: 2147483000, down: 1000}",
         "x.yaml:2:43: `up` + `down` = 2147484000 steps, more than 2**31-1 (the int32 step counter of every framework)"),
        ("{kind: repeat, mult: 1.0000001, of: {kind: cosine, start: 1, duration: 1}}",
         "x.yaml:2:26: with `mult` 1.0000001 and a period of 1, about 53741130 cycles begin before step 2**31-1; a "
         "fractional `mult` allows at most 10000: give fewer `times`, a larger `mult` or `mult: 1`"),
        ("{kind: repeat, mult: 2, times: 9223372036854775807, of: {kind: cosine, start: 1, duration: 1}}",
         "x.yaml:2:36: 9223372036854775807 cycles last more than 2**31-1 steps"),
        ("{kind: repeat, mult: .inf, of: {kind: cosine, start: 1, duration: 1}}",
         "x.yaml:2:26: `mult` must be a finite number (got inf)"),
        ("0.1\nsteps_per_epoch: 4294967296",
         "x.yaml:3:18: `steps_per_epoch` 4294967296 is more than 2**31-1 (the int32 step counter of every framework)"),
    ],
)  # fmt: skip
def test_integer_sizes_past_the_int32_step_counter_are_refused_without_hanging(body, message):
    assert problems(HEAD + "lr: " + body + "\n") == [message]


# ================================================================================================ §5 nesting
TOO_DEEP = (
    "the document is too deeply nested: more than 64 levels of lists and mappings (a spec needs only a few; a YAML "
    "alias that refers to itself?)"
)


def nested_text(shape: str, depth: int) -> str:
    if shape == "lists":
        return HEAD + "lr: " + "[" * depth + "0.1" + "]" * depth + "\n"
    if shape == "flow mappings":
        return HEAD + "lr: " + "{x: " * depth + "0.1" + "}" * depth + "\n"
    if shape == "scales":
        return HEAD + "lr: " + "{kind: scale, by: 1, of: " * depth + "0.1" + "}" * depth + "\n"
    if shape == "block mappings":
        return HEAD + "lr:\n" + "".join(" " * (i + 1) + "x:\n" for i in range(depth)) + " " * (depth + 1) + "0.1\n"
    raise AssertionError(shape)


NESTING = [
    (shape, position, depth)
    for shape, position in (("lists", "2:69"), ("flow mappings", "2:258"), ("scales", "2:1581"), ("block mappings", "66:65"))
    for depth in (65, 70, 400, 700, 1000, 1400, 5000, 100_000)
    if (depth <= 1400 if shape == "block mappings" else len(nested_text(shape, depth)) <= 1 << 20)
]  # fmt: skip  (deeper block mappings, or 100,000 scales, are over 1 MiB: that is its own error)


@pytest.mark.parametrize("shape, position, depth", NESTING)
def test_every_depth_gets_the_positioned_nesting_error(shape, position, depth):
    assert problems(nested_text(shape, depth)) == [f"x.yaml:{position}: {TOO_DEEP}"]


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_a_deep_dict_gets_the_nesting_error_with_its_path(depth):
    lr: object = 0.1
    for _ in range(depth):
        lr = {"kind": "scale", "by": 1, "of": lr}
    with pytest.raises(SpecError) as info:
        schedspec.load({"schedspec": 1, "lr": lr})
    (issue,) = info.value.issues
    assert (issue.line, issue.message, issue.path) == (None, TOO_DEEP, "lr" + ".of" * 63 + ".kind")  # at depth 65
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(SpecError, match="too deeply nested"):
        schedspec.load({"schedspec": 1, "lr": cyclic})


def test_the_deepest_allowed_nesting_runs_on_every_command(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text(HEAD + "total: 100\nlr: " + "{kind: scale, by: 1, of: " * 62 + "{kind: cosine, start: 1, end: 0.1}"
                    + "}" * 62 + "\n")  # fmt: skip
    for argv in (["check"], ["eval", "--at", "0:101:50"], ["compile", "--to", "torch"], ["compile", "--to", "jax"]):
        rc, out, err = cli(argv[0], str(path), *argv[1:])
        assert (rc, err) == (0, "") and out, argv
    unwrapped = schedspec.loads(HEAD + "total: 100\nlr: {kind: cosine, start: 1, end: 0.1}\n")
    rc, out, _ = cli("eval", str(path), "--at", "0:101:50", "--dtype", "float64")
    expected = schedspec.evaluate(unwrapped, [0, 50, 100], dtype="float64")
    assert out == "k,lr\n" + "".join(f"{k},{v!r}\n" for k, v in zip((0, 50, 100), expected.tolist()))


# ================================================================================================ §6 check min/max
def test_check_min_max_covers_every_sweep_member(tmp_path):
    path = tmp_path / "sweep.yaml"
    peaks = ", ".join(["1.0e-5"] * 64 + ["0.01"])
    path.write_text(HEAD + f"total: 1000\nvars: {{peak: [{peaks}]}}\n"
                    "lr: [{kind: linear, start: 0, end: $peak, duration: 100}, {kind: cosine, end: 0}]\n")  # fmt: skip
    rc, out, err = cli("check", str(path))
    assert (rc, err) == (0, "")
    assert "sweep of 65 over peak (the table shows the first member; min/max cover all 65)" in out
    assert "    min 0  max 0.01  (over steps 0..1000)\n" in out


def test_check_min_max_of_10000_members_is_exact(tmp_path):
    rng = np.random.default_rng(7)
    peaks = np.round(rng.uniform(1e-4, 1e-2, 10_000), 8)
    floors = np.round(rng.uniform(1e-6, 1e-5, 10_000), 10)
    path = tmp_path / "big.yaml"
    path.write_text(
        HEAD + f"total: 100000\nvars: {{peak: [{', '.join(map(repr, peaks.tolist()))}], "
        f"floor: [{', '.join(map(repr, floors[:3].tolist()))}]}}\n"
        "lr: [{kind: linear, start: $floor, end: $peak, duration: 100}, {kind: cosine, end: $floor}]\n"
    )
    rc, out, err = cli("check", str(path))
    assert (rc, err) == (0, "")
    assert "sweep of 30000 over peak, floor" in out
    # the extremes (30000 members): the warmup's end (the largest peak) and the smallest floor, held at the end
    assert f"    min {float(floors[:3].min()):.6g}  max {float(peaks.max()):.6g}  (over steps 0..100000)\n" in out


# The kind: check's analysis equals a dense evaluation of every step of every member, for random schedules.
def _spec_strategy():
    from hypothesis import strategies as st

    num = st.sampled_from([0.0, 0.01, 0.1, 0.5, 1.0, 2.0, "$p"])
    dur = st.sampled_from([1, 3, 7, 20, "$w"])
    leaf = st.one_of(
        st.builds(lambda s, e, d: {"kind": "linear", "start": s, "end": e, "duration": d}, num, num, dur),
        st.builds(lambda s, e, d, x: {"kind": "cosine", "start": s, "end": e, "duration": d, "exponent": x}, num, num, dur,
                  st.sampled_from([0.5, 1.0, 2.0])),  # fmt: skip
        st.builds(lambda s, g, e: {"kind": "step", "start": s, "gamma": g, "every": e}, num, st.sampled_from([0.5, 1.5]), dur),
        st.builds(lambda s, g: {"kind": "exponential", "start": s, "gamma": g, "duration": 30}, num, st.sampled_from([0.9, 1.1])),
        st.builds(lambda lo, hi, u, m, g: {"kind": "cyclic", "low": lo, "high": hi, "up": u, "mode": m, "gamma": g,
                                           "duration": 60}, num, num, st.sampled_from([2, 5]),
                  st.sampled_from(["triangular", "triangular2", "exp_range"]), st.sampled_from([0.97, 1.02])),  # fmt: skip
        st.builds(lambda p, pct, th: {"kind": "onecycle", "peak": p, "pct_start": pct, "three_phase": th, "duration": 40},
                  num, st.sampled_from([0.25, 0.3, 0.45]), st.booleans()),  # fmt: skip
        st.builds(lambda v, interp: {"kind": "piecewise", "points": [[0, v], [5, 0.3], [9, 0.05]], "interpolate": interp},
                  num, st.sampled_from(["constant", "linear", "cosine"])),  # fmt: skip
        st.builds(lambda s, d: {"kind": "polynomial", "start": s, "end": 0.01, "power": 2.0, "duration": d, "cycle": True},
                  num, st.sampled_from([3, 10])),  # fmt: skip
    )
    return st.recursive(
        leaf,
        lambda ch: st.one_of(
            st.lists(ch, min_size=1, max_size=3),
            st.builds(lambda o, t, m, dc: {"kind": "repeat", "of": o, "times": t, "mult": m, "decay": dc},
                      ch, st.sampled_from([None, 3]), st.sampled_from([1, 2, 1.5]), st.sampled_from([1.0, 0.7, 1.3])),
            st.builds(lambda o, b: {"kind": "scale", "of": o, "by": b}, ch, st.sampled_from([0.5, "$p"])),
            st.builds(lambda o, hi: {"kind": "clip", "of": o, "max": hi, "min": 0.02}, ch, st.sampled_from([0.3, 1.0])),
            st.builds(lambda a, b: {"kind": "product", "of": [a, b]}, ch, ch),
            st.builds(lambda a, b: {"kind": "sum", "of": [a, b]}, ch, ch),
        ),  # fmt: skip
        max_leaves=4,
    )


def test_check_extrema_equal_a_dense_evaluation_of_every_member():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from schedspec.analysis import value_range as _range_of
    from schedspec.evaluator import evaluate_numpy

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_spec_strategy(), st.sampled_from([None, 150]))
    def check(lr, total):
        doc = {"schedspec": 1, "vars": {"p": [0.25, 1.5], "w": [2, 9]}, "lr": lr}
        if total:
            doc["total"] = total
        try:
            spec = schedspec.load(doc)
        except SpecError:
            return
        program = spec.program

        def length_of(d):
            return 160 if d is None else max(d, total or 0)

        got = _range_of(program, "lr", length_of)
        # every member on its own, bound (vars substituted) and evaluated at every step by the numpy evaluator
        lo, hi = np.inf, -np.inf
        for member in program.sweep_members() or [None]:
            length = length_of(lower.bind(program, member).hparams["lr"].duration)
            v = evaluate_numpy(spec, np.arange(length + 1), member=member)
            lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
        assert got[0] == pytest.approx(lo, rel=1e-12, abs=1e-300), (lr, got, lo, hi)
        assert got[1] == pytest.approx(hi, rel=1e-12, abs=1e-300), (lr, got, lo, hi)

    check()


# ================================================================================================ §6 plot --diff
DIFF_A = HEAD + """name: a
total: 100000
lr: [{kind: linear, start: 0, end: 0.02, duration: 500}, {kind: constant, duration: 59500}, {kind: constant, value: 0.002}]
"""
DIFF_B = HEAD + """name: b
total: 100000
lr: {kind: scale, by: 0.2, of: [{kind: linear, start: 0, end: 0.1, duration: 500}, {kind: constant, duration: 59500},
                                {kind: constant, value: 0.1}]}
"""


def test_diff_skips_rounding_and_counts_the_real_differences(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(DIFF_A)
    b.write_text(DIFF_B)
    va, vb = (schedspec.evaluate(schedspec.load(p), np.arange(100001), dtype="float64") for p in (a, b))
    rounding = np.flatnonzero(va[:60000] != vb[:60000])
    assert rounding.size > 1000  # the rounding the old report called "the first difference"
    rc, out, err = cli("plot", str(a), str(b), "--diff", "--width", "60", "--color", "never")
    assert (rc, err) == (0, "")
    assert out.splitlines()[-1] == (
        "first difference at step 60000: a = 0.002, b = 0.020000000000000004; 40001 of the 100001 compared differ "
        "beyond the tolerance 1e-12*peak + 1e-10*|v|, float64 (largest difference 0.018)"
    )
    from schedspec import plotting

    view = plotting.prepare([schedspec.load(a), schedspec.load(b)], diff=True, columns=200)
    assert (view.diff.k, view.diff.count, view.diff.checked) == (60000, 40001, 100001)


def test_diff_within_the_float32_tolerance_is_equal(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(HEAD + "lr: {kind: linear, start: 0, end: 0.02, duration: 500}\n")
    b.write_text(HEAD + "lr: {kind: scale, by: 0.2, of: {kind: linear, start: 0, end: 0.1, duration: 500}}\n")
    rc, out, _ = cli("plot", str(a), str(b), "--diff", "--width", "60", "--dtype", "float32", "--color", "never")
    assert rc == 0 and "(501 compared; tolerance 1e-06*peak + 1e-05*|v|, float32" in out.splitlines()[-1]


# ================================================================================================ §6 messages
PLACEHOLDER = re.compile(r"\{[A-Za-z_]\w*(?:![rsa])?(?::[^{}\s]*)?\}")

# Each provokes one of the message templates of spec.py / native.py (PydanticCustomError) or lower.py.
PROVOKE = [
    "vars: {péak: 0.1}\nlr: 0.1",
    "lr: $péak",
    "lr: '$'",
    "lr: {kind: cosine, start: 1, duration: '0ep'}",
    "lr: {kind: cosine, start: 1, duration: '-1ep'}",
    "lr: {kind: cosine, start: 1, duration: .nan}",
    "lr: {kind: cosine, start: 1, duration: -3}",
    "lr: {kind: cosine, start: 1, duration: 2.5}",
    "lr: {kind: cosine, start: 1, duration: [1]}",
    "lr: {kind: cosine, start: [1], duration: 10}",
    "lr: {kind: cosine, start: -1, duration: 10}",
    "lr: {kind: cosine, start: .inf, duration: 10}",
    "lr: {kind: cosine, start: .nan, duration: 10}",
    "lr: {kind: piecewise, points: [[0, 1, 2]]}",
    "lr: {kind: piecewise, points: [3]}",
    "vars: {a: $b}\nlr: 0.1",
    "vars: {a: []}\nlr: 0.1",
    "lr: {kind: torch.StepLR, lr: 0.1, step_size: 1.5}",
    "lr: {kind: torch.StepLR, lr: 0.1, step_size: abc}",
    "lr: {kind: torch.StepLR, lr: 0.1, step_size: -2}",
    "lr: {kind: torch.LinearLR, lr: 0.1, start_factor: 0}",
    "lr: {kind: optax.piecewise_constant_schedule, init_value: 0.1, boundaries_and_scales: [1, 2]}",
    "lr: {kind: optax.piecewise_constant_schedule, init_value: 0.1, boundaries_and_scales: {-1: 0.5}}",
    "lr: {kind: optax.piecewise_constant_schedule, init_value: 0.1, boundaries_and_scales: {10: -0.5}}",
    "lr: {kind: keras.ExponentialDecay, initial_learning_rate: 0.1, decay_steps: 1.5, decay_rate: 0.9}",
]


@pytest.mark.parametrize("text", PROVOKE)
def test_no_message_leaks_a_format_placeholder(text):
    issues = problems(HEAD + text + "\n")
    assert issues
    for issue in issues:
        assert not PLACEHOLDER.search(issue), issue


def test_the_var_name_error_quotes_the_name_at_its_key():
    assert problems(HEAD + "vars: {péak: 0.1}\nlr: 0.1\n") == [
        "x.yaml:2:8: `péak` is not a valid name: a name is letters, digits and '_' (ASCII), starting with a letter or '_'"
    ]
    assert problems(HEAD + "lr: $péak\n") == [
        "x.yaml:2:5: `lr`: invalid var reference '$péak': a var name is letters, digits and '_'"
    ]


def test_custom_error_templates_use_only_their_context_keys():
    """The kind: a PydanticCustomError template formats only plain ``{key}`` placeholders of its context (no ``!r``,
    no format spec, no key missing), in every module of the package."""
    bad = []
    for path in sorted((ROOT / "schedspec").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "PydanticCustomError"):
                continue
            if len(node.args) < 2 or not isinstance(node.args[1], ast.Constant):
                continue
            template = node.args[1].value
            keys = set()
            if len(node.args) > 2 and isinstance(node.args[2], ast.Dict):
                keys = {k.value for k in node.args[2].keys if isinstance(k, ast.Constant)}
            for match in re.finditer(r"\{([^{}]*)\}", template):
                inner = match.group(1)
                if re.fullmatch(r"[A-Za-z_]\w*(![rsa])?(:[^\s{}]*)?", inner) and inner not in keys:
                    bad.append(f"{path.name}:{node.lineno}: {{{inner}}}")
    assert bad == []


# ================================================================================================ §6 user text
BIDI = "evil\u202egnp.exe\x1b[31m"


def test_check_eval_plot_and_errors_escape_user_text(tmp_path):
    path = tmp_path / "bidi.yaml"
    path.write_text(HEAD + f"name: {BIDI!r}\nvars: {{w: ['5ep\u2028', 2ep]}}\nsteps_per_epoch: 2\n".replace("'", '"')
                    + "lr: [{kind: constant, value: 0.1, duration: $w}, {kind: constant, value: 0.1}]\n")  # fmt: skip
    escaped = "evil\\u202egnp.exe\\x1b[31m"
    rc, out, err = cli("check", str(path))
    assert rc == 0 and out.splitlines()[0].startswith(f"{path}: {escaped}  fingerprint")
    rc, out, err = cli("eval", str(path), "--at", "0:2")
    assert rc == 0 and out.splitlines()[0] == "k,lr[w=5ep\\u2028],lr[w=2ep]"
    rc, out, err = cli("plot", str(path), "--at", "0:20", "--width", "60", "--color", "never")
    assert rc == 0 and escaped in out
    for text in (out, err):
        assert "\u202e" not in text and "\x1b" not in text and "\u2028" not in text
    (issue,) = problems(HEAD + "lr: {kind: 'cos\u202eine', start: 1}\n")
    assert "\u202e" not in issue and "cos\\u202eine" in issue
    rc, out, err = cli("check", str(tmp_path / "no\u202efile.yaml"))
    assert rc == 1 and "no\\u202efile.yaml" in err and "\u202e" not in err


# ================================================================================================ §6 open phase in a combinator
UNWRAPPED = "[{kind: linear, start: 0, end: 1.0, duration: 10}, {kind: cosine, end: 0.1}]"


@pytest.mark.parametrize(
    "wrapped, factor",
    [
        ("{kind: scale, by: 1.0, of: {kind: cosine, start: 1.0, end: 0.1}}", None),
        (f"{{kind: scale, by: 0.5, of: {UNWRAPPED}}}", 0.5),
        (f"{{kind: product, of: [{UNWRAPPED}, 0.5]}}", 0.5),
        (f"{{kind: product, of: [0.5, {{kind: clip, max: 2.0, of: {UNWRAPPED}}}]}}", 0.5),
        (f"{{kind: scale, by: 0.5, of: [{UNWRAPPED}]}}", 0.5),
        (f"{{kind: sum, of: [{UNWRAPPED}, 0.0]}}", 1.0),
        (f"{{kind: clip, min: 0.0, of: {UNWRAPPED}}}", 1.0),
    ],
)
def test_an_open_last_phase_inside_a_combinator_runs_to_total(wrapped, factor):
    k = np.arange(0, 131)
    spec = schedspec.loads(HEAD + f"total: 100\nlr: {wrapped}\n")
    assert spec.program.hparams["lr"].duration == 100
    if factor is None:  # the issue's case: `cosine` needs a `duration` no more; equal to the unwrapped cosine
        base = schedspec.loads(HEAD + "total: 100\nlr: {kind: cosine, start: 1.0, end: 0.1}\n")
        factor = 1.0
    else:
        base = schedspec.loads(HEAD + f"total: 100\nlr: {UNWRAPPED}\n")
    expected = schedspec.evaluate(base, k, dtype="float64") * factor
    np.testing.assert_allclose(schedspec.evaluate(spec, k, dtype="float64"), expected, rtol=1e-15, atol=0)
    assert schedspec.evaluate(spec, [100, 130], dtype="float64").tolist() == [0.1 * factor] * 2


def test_a_combinator_with_its_own_duration_gives_it_to_its_open_part():
    spec = schedspec.loads(HEAD + "lr: [{kind: scale, by: 2.0, duration: 50, of: {kind: cosine, start: 0.5}}, "
                           "{kind: constant, value: 0.5}]\n")  # fmt: skip
    first = spec.program.hparams["lr"].parts[0]
    assert first.duration == 50 and first.of.duration == 50
    assert schedspec.evaluate(spec, [0, 50], dtype="float64").tolist() == [1.0, 0.5]


def test_yaml_round_trip_of_a_deep_message_stays_one_line():
    text = yaml.safe_dump({"schedspec": 1, "lr": {"kind": "cosine\n", "start": 1}})
    (issue,) = problems(text)
    assert "\n" not in issue


def _lr_node_and_group(text: str, monkeypatch=None):
    from schedspec import _range

    spec = _load_unchecked(HEAD + text, monkeypatch) if monkeypatch else schedspec.loads(HEAD + text)
    node = spec.program.hparams["lr"]
    (group,) = _range.groups(node, spec.program.vars)
    return node, group


def test_extrema_of_a_dense_range_not_starting_at_0_ignore_the_steps_before_it():
    # a product of two moving parts has no candidate set: [lo, hi] is evaluated step by step. By hand:
    # (1 - t/10)**2 over t = 5..10 is 0.25 at 5 down to 0 at 10 (steps 0..4, worth up to 1, are outside the range)
    from schedspec import _range

    node, group = _lr_node_and_group(
        "lr: {kind: product, of: [{kind: linear, start: 1.0, end: 0.0, duration: 10}, "
        "{kind: linear, start: 1.0, end: 0.0, duration: 10}]}\n"
    )
    assert _range.candidates(node, 5, 10, group.env).dense == [(5, 10)]
    low, high = _range.extrema(node, 5, 10, group)
    assert (low.tolist(), high.tolist()) == ([0.0], [0.25])


def test_extrema_of_a_dense_range_longer_than_one_block_see_every_block_end():
    # a dense range is evaluated in blocks of _range.CHUNK steps (one member): the maximum sits on the last step
    # of the first block. By hand, with N = CHUNK - 1: (t/N) * (2 - t/(2N)) rises to 1 * 1.5 at t = N, and
    # (2 - t/N) * (2 - t/(2N)) falls after it; the minimum is 0 at t = 0
    from schedspec import _range

    n = _range.CHUNK - 1
    node, group = _lr_node_and_group(
        f"lr: {{kind: product, of: [[{{kind: linear, start: 0.0, end: 1.0, duration: {n}}}, "
        f"{{kind: linear, start: 1.0, end: 0.0, duration: {n}}}], {{kind: linear, start: 2.0, end: 1.0, duration: {2 * n}}}]}}\n"
    )
    assert _range.candidates(node, 0, 2 * n, group.env).dense == [(0, 2 * n)]
    low, high = _range.extrema(node, 0, 2 * n, group)
    assert (low.tolist(), high.tolist()) == ([0.0], [1.5])


def test_overflow_search_over_a_single_step_range_finds_that_step(monkeypatch):
    # first_overflow over [a, a]: the exponential 0.1 * 1.1**k (float32) is finite at 930 and inf from 931 on
    # (the step test_every_kind_that_can_overflow_is_refused_at_its_first_step checks against evaluate)
    from schedspec import _range

    node, group = _lr_node_and_group("lr: {kind: exponential, start: 0.1, gamma: 1.1}\n", monkeypatch)
    assert [_range.first_overflow(node, k, k, group.env, "float32") for k in (930, 931, 932)] == [None, 931, 932]
    assert _range.first_overflow(node, 0, 931, group.env, "float32") == 931


def test_overflow_search_with_a_loose_bound_evaluates_exactly_its_range_and_every_leaf(monkeypatch):
    # a product's bound multiplies its parts' bounds, so a range whose values are all finite can still be evaluated
    # step by step: first_overflow must then report nothing outside [a, b], and go on to the next range after a
    # finite one. 0.1 * 1.02**k times a linear from 1e5 down to 0: max times max passes F32_MAX (3.40282e38) on
    # the first leaf, where the values are finite; the first inf (or NaN) is cross-checked with evaluate
    from schedspec import _range

    text = ("lr: {kind: product, of: [{kind: exponential, start: 0.1, gamma: 1.02}, "
            "{kind: linear, start: 1.0e+5, end: 0.0, duration: 5000}]}\n")  # fmt: skip
    node, group = _lr_node_and_group(text, monkeypatch)
    spec = _load_unchecked(HEAD + text, monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        first = int(np.flatnonzero(~np.isfinite(schedspec.evaluate(spec, np.arange(0, 20000))))[0])
    assert first > _range.LEAF
    # [first - 3000, first - 1]: one leaf, finite values, a bound above F32_MAX (so it is evaluated)
    assert float(_range.maxabs(node, first - 3000, first - 1, group.env, "float32", 1)[0]) > _range.F32_MAX
    assert _range.first_overflow(node, first - 3000, first - 1, group.env, "float32") is None
    # [0, 2 * first - 1] splits at first - 1: the lower half's upper leaf is evaluated (finite), then the upper half
    mid = first - 1
    lower_leaf = (mid // 2 + 1, mid)
    assert float(_range.maxabs(node, *lower_leaf, group.env, "float32", 1)[0]) > _range.F32_MAX
    assert _range.first_overflow(node, 0, 2 * first - 1, group.env, "float32") == first
    assert _range.first_overflow(node, 0, 20000, group.env, "float32") == first


@pytest.mark.parametrize("dense", [False, True])
def test_extrema_are_per_sweep_member(dense):
    # a linear from $p to 1.0 over 10 steps: member p = 0.5 spans [0.5, 1], member p = 2 spans [1, 2] (by hand);
    # as a product with a (moving) linear 1 -> 1, the same values come from a dense range
    from schedspec import _range

    lin = "{kind: linear, start: $p, end: 1.0, duration: 10}"
    lr = f"{{kind: product, of: [{lin}, {{kind: linear, start: 1.0, end: 1.0, duration: 10}}]}}" if dense else lin
    spec = schedspec.loads(HEAD + f"vars: {{p: [0.5, 2.0]}}\nlr: {lr}\n")
    node = spec.program.hparams["lr"]
    (group,) = _range.groups(node, spec.program.vars)
    assert group.size == 2 and bool(_range.candidates(node, 0, 10, group.env).dense) == dense
    low, high = _range.extrema(node, 0, 10, group)
    assert (low.tolist(), high.tolist()) == ([0.5, 1.0], [1.0, 2.0])
