"""schedspec/_range.py, complete mutation run (issue 14, item 1): the range analysis against the independent float64
oracle (tests/reference.py), on every sub-range of every kind of node, for every sweep member.

* :func:`_range.extrema` over ``[lo, hi]`` (lo > 0 included: a phase's own range inside a schedule, a window of a
  repeat) equals the minimum and maximum of the oracle's values on those steps, member by member; every candidate
  point and dense range lies inside ``[lo, hi]`` (the docstring's promise: "local times in ``[lo, hi]``").
* :func:`_range.maxabs` bounds ``|value|`` over ``[lo, hi]`` from above, and is exact where no dense range is needed.
* the overflow search (:func:`_range.first_overflow`, :func:`_range.overflow`) finds exactly the first step that a
  dense scan of the same evaluation finds (what is checked is the search, not the formula).

The specs are written to reach one branch of :func:`_range.candidates` each: the interior maximum of an
``exp_range`` wave (``gamma < 1`` on the rise, ``> 1`` on the fall), a ``onecycle``'s two or three phase ends, a
``piecewise`` point, a ``polynomial`` cycle's ends, a sequence's boundaries, a product with one moving part, a
``repeat`` with ``mult`` 1, an integer ``mult`` > 1 (literal and var periods), a real ``mult`` and a real period or a
shifted clock (aligned, stretched with known breakpoints, stretched without).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import yaml

import schedspec
from schedspec import _range

try:  # tests/ as a package or as a rootdir on sys.path
    from .reference import ref_values
except ImportError:
    from reference import ref_values

H = "schedspec: 1\n"

# two linear halves: up from 0.1 to 1.0 over 3 steps, down to 0.2 over 3 (breakpoints at 0, 3)
TENT = "[{kind: linear, start: 0.1, end: 1.0, duration: 3}, {kind: linear, start: 1.0, end: 0.2, duration: 3}]"
PULSE = "{kind: piecewise, points: [[0, 1.0], [10, 1.0e+20], [20, 1.0]], duration: 25}"  # 1e20 on steps 10 to 19
PEAK_LATE = "[{kind: linear, start: 0.1, end: 1.0, duration: 5}, {kind: linear, start: 1.0, end: 0.5, duration: 1}]"
MOVING2 = ("{kind: product, of: [{kind: linear, start: 1.0, end: 0.5, duration: 6}, "
           "{kind: cosine, start: 1.0, end: 0.2, duration: 6}]}")  # fmt: skip

# name -> (lr and vars, the last step compared)
SPECS = {
    "linear": ("lr: {kind: linear, start: 1.0, end: 0.1, duration: 20}", 30),
    "cosine rising": ("lr: {kind: cosine, start: 0.1, end: 1.0, duration: 17}", 25),
    "piecewise linear": ("lr: {kind: piecewise, points: [[0, 1.0], [5, 0.2], [9, 0.6], [14, 0.1]], "
                         "interpolate: linear}", 25),
    "piecewise constant": ("lr: {kind: piecewise, points: [[0, 0.5], [4, 0.9], [7, 0.05], [12, 0.3]]}", 20),
    "warmup, multistep": ("lr: [{kind: linear, start: 0.0, end: 0.1, duration: 5}, "
                          "{kind: multistep, milestones: [4, 9], gamma: 0.1}]", 20),
    "step, exponential, inverse_time": ("lr: [{kind: step, start: 1.0, every: 3, gamma: 0.5, duration: 8}, "
                                        "{kind: exponential, gamma: 0.8, duration: 6}, "
                                        "{kind: inverse_time, every: 2, rate: 0.5}]", 25),
    "onecycle": ("lr: {kind: onecycle, peak: 1.0, pct_start: 0.3, duration: 23}", 30),
    "onecycle three phase": ("lr: {kind: onecycle, peak: 1.0, pct_start: 0.35, duration: 23, three_phase: true, "
                             "div_factor: 4.0}", 30),
    # 0.29 * 100 - 1 = 27.999999999999996 in float64: the peak is step 28 (the fall's first step, within 1e-15 of
    # the peak), one past the floor of the rounded end
    "onecycle, a rounded peak": ("lr: {kind: onecycle, peak: 1.0, pct_start: 0.29, duration: 100}", 40),
    "onecycle linear": ("lr: {kind: onecycle, peak: 2.0, pct_start: 0.45, duration: 17, anneal: linear}", 22),
    "cyclic triangular": ("lr: {kind: cyclic, low: 0.1, high: 1.0, up: 4, down: 3, duration: 40}", 45),
    "cyclic triangular2": ("lr: {kind: cyclic, low: 0.1, high: 1.0, up: 3, mode: triangular2, duration: 40}", 45),
    # gamma < 1: (t / up) * gamma**t peaks inside the rise, at t = -1 / ln(0.8) = 4.48 (up 10)
    "cyclic exp_range gamma < 1": ("lr: {kind: cyclic, low: 0.1, high: 1.0, up: 10, mode: exp_range, gamma: 0.8, "
                                   "duration: 50}", 55),
    # gamma > 1: ((P - t) / down) * gamma**t peaks inside the fall, at t = P - 1 / ln(1.25) = P - 4.48 (down 10)
    "cyclic exp_range gamma > 1": ("lr: {kind: cyclic, low: 0.1, high: 1.0, up: 3, down: 10, mode: exp_range, "
                                   "gamma: 1.25, duration: 45}", 50),
    # gamma 1.1 (no interior peak: each cycle's max is at `up`, local 3): a range ending 1 step into the fifth cycle
    # (step 53) has its max at the fourth cycle's `up` (step 42), which the range's own first two cycles do not
    # reach: the last cycles are hi // period and the one before (hi / period shifted their candidates off it)
    "cyclic exp_range gamma 1.1, a range ending a step into a cycle": (
        "lr: {kind: cyclic, low: 0.1, high: 1.0, up: 3, down: 10, mode: exp_range, gamma: 1.1, duration: 70}", 53),
    # the lengths and points read from the member's env: a piecewise point and a cyclic's `up` given by sweeps
    "piecewise, var point": ("vars: {v: [3, 5]}\nlr: {kind: piecewise, points: [[0, 0.3], [$v, 0.9], [8, 0.2]], "
                             "interpolate: linear, duration: 10}", 14),
    "cyclic, var up": ("vars: {u: [3, 4]}\nlr: {kind: cyclic, low: 0.1, high: 1.0, up: $u, down: 3, mode: triangular2, "
                       "duration: 30}", 35),
    "cyclic, var down": ("vars: {u: [2, 5]}\nlr: {kind: cyclic, low: 0.1, high: 1.0, up: 3, down: $u, duration: 30}", 35),
    # gamma 1: exp_range without decay (no interior extreme: no log(1) = 0 to divide by)
    "cyclic exp_range gamma 1": ("lr: {kind: cyclic, low: 0.1, high: 1.0, up: 3, down: 4, mode: exp_range, gamma: 1.0, "
                                 "duration: 30}", 35),
    "polynomial cycle, var duration": ("vars: {w: [5, 7]}\nlr: {kind: polynomial, start: 1.0, end: 0.01, power: 2.0, "
                                       "duration: $w, cycle: true}", 30),
    # a part of one step inside the range: its single value is the maximum
    "a spike of one step": ("lr: [{kind: linear, start: 0.1, end: 0.5, duration: 4}, {kind: constant, value: 2.0, "
                            "duration: 1}, {kind: cosine, start: 0.5, end: 0.1, duration: 5}]", 14),
    # two vars that move step positions, a length then an exp_range gamma: both split the members
    "sweep of a length and an exp_range gamma": ("vars: {w: [2, 5], g: [0.9, 0.95]}\nlr: [{kind: linear, start: 0.1, "
                                                 "end: 1.0, duration: $w}, {kind: cyclic, low: 0.1, high: 1.0, up: 3, "
                                                 "mode: exp_range, gamma: $g}]", 20),
    "cyclic open": ("lr: {kind: cyclic, low: 0.2, high: 0.9, up: 2, down: 5, mode: triangular2}", 40),
    "polynomial cycle": ("lr: {kind: polynomial, start: 1.0, end: 0.01, power: 2.0, duration: 7, cycle: true}", 40),
    "sequence": ("lr: [{kind: linear, start: 0.1, end: 1.0, duration: 6}, "
                 "{kind: cyclic, low: 0.2, high: 0.8, up: 2, duration: 9}, {kind: cosine, end: 0.3, duration: 5}, "
                 "{kind: exponential, gamma: 0.9}]", 40),
    "sequence of sequences": ("lr: [[{kind: linear, start: 0.3, end: 0.9, duration: 4}, "
                              "{kind: constant, value: 0.2, duration: 3}], " + TENT + "]", 20),
    "scale": ("lr: {kind: scale, by: 3.0, of: {kind: onecycle, peak: 1.0, duration: 20}}", 25),
    "clip": ("lr: {kind: clip, min: 0.3, max: 0.8, of: {kind: cyclic, low: 0.1, high: 1.0, up: 5, duration: 30}}", 35),
    "product, one moving part": ("lr: {kind: product, of: [{kind: constant, value: 2.0}, "
                                 "{kind: cyclic, low: 0.1, high: 1.0, up: 3, duration: 20}]}", 25),
    # the linear ends at 6: from there on only the cosine moves (candidates, not a dense range)
    "product, a part ending": ("lr: {kind: product, of: [{kind: linear, start: 1.0, end: 3.0, duration: 6}, "
                               "{kind: cosine, start: 1.0, end: 0.1, duration: 20}]}", 25),
    # the same with var durations, a scaled part and a nested product (each part is constant from step 6 on)
    "product, parts ending (var)": ("vars: {w: 6}\nlr: {kind: product, of: [{kind: scale, by: 2.0, of: {kind: linear, "
                                    "start: 1.0, end: 3.0, duration: $w}}, {kind: product, of: [{kind: linear, "
                                    "start: 2.0, end: 1.0, duration: $w}, {kind: constant, value: 0.5}]}, "
                                    "{kind: cosine, start: 1.0, end: 0.1, duration: 20}]}", 25),
    "a sum after a warmup": ("lr: [{kind: linear, start: 0.0, end: 1.0, duration: 5}, {kind: sum, of: [{kind: linear, "
                             "start: 0.0, end: 1.0, duration: 12}, {kind: cosine, start: 1.0, end: 0.0, duration: 8}]}, "
                             "{kind: constant, value: 0.3}]", 25),
    "repeat of a product, mult 1": ("lr: {kind: repeat, times: 3, decay: 0.5, of: " + MOVING2 + "}", 25),
    # the same, of one var length (the sum lasts $w): its dense range ends at the member's length
    "sum of var length, two moving parts": ("vars: {w: [8, 12]}\nlr: {kind: sum, of: [{kind: linear, start: 0.0, "
                                            "end: 1.0, duration: $w}, {kind: cosine, start: 1.0, end: 0.0, "
                                            "duration: $w}]}", 15),
    "sum, two moving parts": ("lr: {kind: sum, of: [{kind: linear, start: 0.0, end: 1.0, duration: 12}, "
                              "{kind: cosine, start: 1.0, end: 0.0, duration: 8}]}", 15),
    "repeat": ("lr: {kind: repeat, times: 4, decay: 0.7, of: " + TENT + "}", 30),
    "repeat growing": ("lr: {kind: repeat, times: 7, decay: 1.3, of: {kind: onecycle, peak: 1.0, duration: 5}}", 40),
    "repeat mult 2": ("lr: {kind: repeat, mult: 2, times: 4, decay: 0.8, of: " + TENT + "}", 100),
    "repeat mult 2 open": ("lr: {kind: repeat, mult: 2, of: {kind: onecycle, peak: 1.0, duration: 5}}", 50),
    "repeat mult 1.5": ("lr: {kind: repeat, mult: 1.5, times: 5, of: " + TENT + "}", 60),
    "repeat mult 2, var period": ("vars: {w: 3}\nlr: {kind: repeat, mult: 2, times: 3, decay: 1.2, of: "
                                  "[{kind: linear, start: 0.1, end: 1.0, duration: $w}, "
                                  "{kind: linear, start: 1.0, end: 0.2, duration: 3}]}", 50),
    "repeat mult 3, var period open": ("vars: {w: 2}\nlr: {kind: repeat, mult: 3, of: "
                                       "[{kind: linear, start: 0.1, end: 1.0, duration: $w}, "
                                       "{kind: piecewise, points: [[0, 1.0], [2, 0.5]], duration: 2}]}", 80),
    # `of`'s breakpoints read from the member's env: a var duration and pct_start, a var point of a piecewise
    "repeat mult 2, var breakpoints": ("vars: {w: 10, q: 0.4, v: 3}\nlr: {kind: repeat, mult: 2, times: 3, of: "
                                       "[{kind: linear, start: 0.1, end: 1.0, duration: 2}, {kind: onecycle, "
                                       "peak: 1.0, pct_start: $q, duration: $w}, {kind: piecewise, points: "
                                       "[[0, 0.3], [$v, 0.9], [7, 0.2]], interpolate: linear, duration: 8}]}", 80),
    # a product with one moving part has that part's breakpoints; with none, none
    "repeat mult 2 of a product, one part moving": ("vars: {q: 0.3}\nlr: {kind: repeat, mult: 2, times: 3, of: "
                                                    "{kind: product, of: [{kind: constant, value: 2.0, duration: 10}, "
                                                    "{kind: onecycle, peak: 1.0, pct_start: $q, duration: 10}]}}", 75),
    "repeat mult 2 of a product of constants": ("lr: [{kind: linear, start: 0.1, end: 0.5, duration: 3}, {kind: repeat, "
                                                "mult: 2, times: 3, of: {kind: product, of: [{kind: constant, "
                                                "value: 2.0, duration: 4}, {kind: constant, value: 0.25, "
                                                "duration: 4}]}}]", 35),
    "repeat of a product": ("lr: {kind: repeat, mult: 2, times: 3, of: " + MOVING2 + "}", 50),
    # a scale (a monotone map) keeps its `of`'s breakpoints, read from the member's env
    "repeat mult 2 of a scale, var length": ("vars: {w: 3}\nlr: {kind: repeat, mult: 2, times: 3, of: {kind: scale, "
                                             "by: 2.0, of: [{kind: linear, start: 0.1, end: 1.0, duration: $w}, "
                                             "{kind: linear, start: 1.0, end: 0.2, duration: 3}]}}", 45),
    # the peak one step before the end of `of` (a last phase of one step): in the last cycle, the step before the
    # repeat's end is the maximum (decay > 1), not the end itself, which holds 0.5
    "repeat growing, a peak one step before the end": ("lr: {kind: repeat, times: 3, decay: 1.5, of: " + PEAK_LATE + "}",
                                                       22),
    "repeat mult 2 once, a peak one step before the end": ("lr: {kind: repeat, mult: 2, times: 1, of: " + PEAK_LATE
                                                           + "}", 10),
    # `of`'s own candidates read the member's env: a var length inside a repeat of mult 1
    "repeat, var period": ("vars: {w: [2, 3]}\nlr: {kind: repeat, times: 3, decay: 0.8, of: [{kind: linear, start: 0.1, "
                           "end: 1.0, duration: $w}, {kind: linear, start: 1.0, end: 0.2, duration: 3}]}", 25),
    # growing cycles of a falling cosine: every cycle's last step is its minimum, the first cycle's the lowest
    "repeat mult 2 growing": ("lr: {kind: repeat, mult: 2, times: 3, decay: 1.5, of: {kind: cosine, start: 1.0, "
                              "end: 0.1, duration: 5}}", 40),
    # a real mult: cycles begin at fractional offsets; a jump down after a rise (its maximum is the step before)
    "repeat mult 1.5, a jump": ("lr: {kind: repeat, mult: 1.5, times: 6, of: [{kind: linear, start: 0.1, end: 1.0, "
                                "duration: 3}, {kind: constant, value: 0.2, duration: 3}]}", 80),
    # a kink between two steps where the nearer one (the max) is the floor: cycle 3 begins at 33.25 (step 34,
    # offset 0.75), its peak at 33.25 + 4.25 * 3.375 = 47.59, the max at 47; the candidates are first - offset +
    # x * scale (with + offset they were 2 steps late and missed it)
    "repeat mult 1.5 of a onecycle, a peak at a fractional offset": (
        "lr: {kind: repeat, times: 5, mult: 1.5, of: {kind: onecycle, peak: 1.0, pct_start: 0.75, duration: 7, "
        "anneal: linear}}", 70),
    # parts of var length inside a stretched repeat (the product gives its own duration): their lengths are the
    # member's; a part of one step moves at step 0 only, and that step makes the product non-monotone
    "repeat mult 2 of a product of var-length parts": ("vars: {w: 4}\nlr: {kind: repeat, mult: 2, times: 3, of: "
                                                       "{kind: product, duration: 10, of: [{kind: linear, start: 0.2, "
                                                       "end: 1.0, duration: $w}, {kind: cosine, start: 1.0, end: 0.5, "
                                                       "duration: 10}]}}", 75),
    "repeat mult 2 of a product, a part of one step": ("lr: {kind: repeat, mult: 2, times: 3, of: {kind: product, of: "
                                                       "[{kind: linear, start: 0.0, end: 1.0, duration: 1}, "
                                                       "{kind: cosine, start: 1.0, end: 0.1, duration: 10}]}}", 75),
    "real period": ('lr: {kind: repeat, period: "10/3", times: 7, decay: 0.9, of: ' + TENT + "}", 30),
    # cycles of 1.5 steps: some have a single step, growing (decay 1.5): each one's value is a candidate
    "real period of 1.5 steps": ('lr: {kind: repeat, period: "3/2", times: 6, decay: 1.5, of: {kind: linear, '
                                 "start: 0.1, end: 1.0, duration: 3}}", 12),
    "real period open": ('lr: {kind: repeat, period: "13/2", decay: 0.9, of: {kind: onecycle, peak: 1.0, '
                         "duration: 5}}", 45),
    "shifted clock": ("lr: {kind: repeat, shift: 2, times: 5, decay: 0.8, of: " + TENT + "}", 35),
    # cycle 1 begins at 10/3 and ends at 20/3: its last step, 6, is still rising (of-time 1.8 * (6 - 10/3) = 4.8),
    # the end (7) holds the spike's 0.05
    "real period, a spike before the end": ('lr: {kind: repeat, period: "10/3", times: 2, of: [{kind: linear, '
                                            "start: 0.1, end: 1.0, duration: 5}, {kind: constant, value: 0.05, "
                                            "duration: 1}]}", 12),
    # whole periods other than the duration of `of`: stretched (of-time 6/9 and 40/20 per step), offsets all whole
    "whole period, stretched": ("lr: {kind: repeat, period: 9, times: 4, of: " + TENT + "}", 40),
    "whole period, compressed": ('lr: {kind: repeat, period: "20/1", times: 2, of: {kind: onecycle, peak: 1.0, '
                                 "duration: 40}}", 45),
    "real period, a var inside": ('vars: {q: [0.3, 0.6]}\nlr: {kind: repeat, period: "13/2", times: 4, of: '
                                  "{kind: onecycle, peak: 1.0, pct_start: $q, duration: 5}}", 30),
    "shifted clock, a var inside": ("vars: {p: [0.5, 2.0], q: [0.3, 0.6]}\nlr: {kind: repeat, shift: 3, times: 4, of: "
                                    "[{kind: linear, start: 0.1, end: $p, duration: 3}, "
                                    "{kind: onecycle, peak: 1.0, pct_start: $q, duration: 5}]}", 35),
    # a shifted clock keeps `of` at whole local times: a cyclic's own candidates (it has no breakpoints to stretch)
    "shifted clock of a cyclic": ("lr: {kind: repeat, shift: 2, times: 3, of: {kind: cyclic, low: 0.1, high: 1.0, "
                                  "up: 2, down: 3, duration: 10}}", 35),
    "real period of a product": ('lr: {kind: repeat, period: "9/2", times: 5, of: ' + MOVING2 + "}", 30),
    "sweep of numbers": ("vars: {p: [0.5, 2.0, 1.0]}\nlr: [{kind: linear, start: 0.1, end: $p, duration: 5}, "
                         "{kind: cyclic, low: 0.1, high: $p, up: 3}]", 25),
    "sweep of durations": ("vars: {w: [2, 5]}\nlr: [{kind: linear, start: 0.1, end: 1.0, duration: $w}, "
                           "{kind: cosine, end: 0.2, duration: 6}]", 15),
    "sweep of pct_start": ("vars: {q: [0.2, 0.6]}\nlr: {kind: onecycle, peak: 1.0, pct_start: $q, duration: 15}", 20),
}  # fmt: skip


# the specs with a product or sum of moving parts -> the first step from which none of its parts moves but one
# (from there on, candidates again), or None (dense wherever the range overlaps it)
DENSE = {"product, a part ending": 6, "product, parts ending (var)": 6, "sum, two moving parts": None, "sum of var length, two moving parts": None,
         "a sum after a warmup": None, "repeat of a product": None, "repeat of a product, mult 1": None,
         "repeat mult 2 of a product of var-length parts": None, "repeat mult 2 of a product, a part of one step": None,
         "real period of a product": None}  # fmt: skip


def _load(name):
    text = H + SPECS[name][0] + "\n"
    return schedspec.loads(text), yaml.safe_load(text)


def _ranges(last: int):
    """[lo, hi] pairs: every lo, and hi at lo, lo + 1, lo + 7 and last."""
    for lo in range(last + 1):
        for hi in sorted({lo, lo + 1, lo + 7, last}):
            if lo <= hi <= last:
                yield lo, hi


def _members(spec, node):
    """(group, row in it, the member as the reference takes it) of every sweep member (one without sweeps)."""
    for group in _range.groups(node, spec.program.vars):
        for i in range(group.size):
            yield group, i, group.member(i)


@pytest.mark.parametrize("name", list(SPECS))
def test_mut_range_extrema_of_every_sub_range_equal_the_reference(name):
    spec, data = _load(name)
    node, last = spec.program.hparams["lr"], SPECS[name][1]
    seen = 0
    for group, i, member in _members(spec, node):
        ref = np.asarray(ref_values(data, range(last + 1), member=member or None), np.float64)
        for lo, hi in _ranges(last):
            c = _range.candidates(node, lo, hi, group.env)
            assert all(lo <= p <= hi for p in c.points), (name, lo, hi, sorted(c.points))
            assert all(lo <= a <= b <= hi for a, b in c.dense), (name, lo, hi, c.dense)
            # evaluated step by step only where no candidate set is known (the module's promise: a product or sum
            # of moving parts); a repeat of any other shape, stretched or not, over 2**31 steps stays a few points
            assert not c.dense or (name in DENSE and (DENSE[name] is None or lo < DENSE[name])), (name, lo, hi, c.dense)
            low, high = _range.extrema(node, lo, hi, group)
            assert low.shape == high.shape == (group.size,)
            want = ref[lo:hi + 1]
            assert low[i] == pytest.approx(want.min(), rel=1e-12, abs=1e-15), (name, member, lo, hi)
            assert high[i] == pytest.approx(want.max(), rel=1e-12, abs=1e-15), (name, member, lo, hi)
            seen += 1
    assert seen > last


def test_mut_range_a_dense_range_is_evaluated_in_blocks_that_cover_it_exactly(monkeypatch):
    # blocks of CHUNK // members steps (CHUNK made 8 here): a range of exactly one block, one step more or less,
    # one not starting at 0; each equals the reference's extremes over the same steps
    spec, data = _load("sum, two moving parts")
    node = spec.program.hparams["lr"]
    ref = np.asarray(ref_values(data, range(20)), np.float64)
    monkeypatch.setattr(_range, "CHUNK", 8)
    (group,) = _range.groups(node, spec.program.vars)
    assert [len(b) for b in _range._dense_blocks(0, 15, 1)] == [8, 8]
    for lo, hi in [(0, 7), (4, 11), (0, 8), (1, 7), (0, 12)]:  # (the sum lasts 12 steps)
        assert _range.candidates(node, lo, hi, group.env).dense == [(lo, hi)]
        low, high = _range.extrema(node, lo, hi, group)
        assert (low[0], high[0]) == (pytest.approx(ref[lo:hi + 1].min(), rel=1e-12),
                                     pytest.approx(ref[lo:hi + 1].max(), rel=1e-12)), (lo, hi)


@pytest.mark.parametrize("name", list(SPECS))
def test_mut_range_maxabs_bounds_every_sub_range_and_is_exact_without_a_dense_range(name):
    spec, data = _load(name)
    node, last = spec.program.hparams["lr"], SPECS[name][1]
    for group, i, member in _members(spec, node):
        ref = np.abs(np.asarray(ref_values(data, range(last + 1), member=member or None), np.float64))
        for lo, hi in list(_ranges(last))[::4]:
            bound = _range.maxabs(node, lo, hi, group.env, "float64", group.size)
            assert bound.shape == (group.size,)
            want = ref[lo:hi + 1].max()
            if _range.candidates(node, lo, hi, group.env).dense:
                assert want * (1 - 1e-12) <= bound[i] < math.inf, (name, member, lo, hi)
            else:
                assert bound[i] == pytest.approx(want, rel=1e-12), (name, member, lo, hi)


# ------------------------------------------------------------------------------------------------ maxabs of combinators
def _node_group(text: str, monkeypatch=None):
    if monkeypatch is None:
        spec = schedspec.loads(H + text + "\n")
    else:  # without the overflow check (to search what the targets would compute)
        from schedspec import lowering as lower

        with monkeypatch.context() as m:
            m.setattr(lower._Lowerer, "overflows", lambda self: None)
            spec = schedspec.loads(H + text + "\n")
    node = spec.program.hparams["lr"]
    return node, list(_range.groups(node, spec.program.vars)), spec


UP = "{kind: linear, start: 1.0, end: 3.0, duration: 10}"  # |value| <= 3 (at 10)
DOWN = "{kind: linear, start: 2.0, end: 1.0, duration: 10}"  # |value| <= 2 (at 0)


@pytest.mark.parametrize("text, lo, hi, bound", [
    # a product's bound is the largest prefix product of its parts' bounds: max(3, 3 * 2)
    (f"lr: {{kind: product, of: [{UP}, {DOWN}]}}", 0, 10, 6.0),
    # from step 5 on: UP <= 3, DOWN <= 1.5 (at 5); the range past the end (10) holds the end values
    (f"lr: {{kind: product, of: [{UP}, {DOWN}]}}", 5, 30, 4.5),
    # the largest prefix, not the last: max(3, 3 * 0.5)
    (f"lr: {{kind: product, of: [{UP}, {{kind: linear, start: 0.5, end: 0.25, duration: 10}}]}}", 0, 10, 3.0),
    # a sum's: the largest prefix sum, 3 + 2
    (f"lr: {{kind: sum, of: [{UP}, {DOWN}]}}", 0, 10, 5.0),
    # a scale multiplies its part's bound by |by|; a clip caps it at |max|
    (f"lr: {{kind: scale, by: 2.5, of: {{kind: sum, of: [{UP}, {DOWN}]}}}}", 0, 10, 12.5),
    (f"lr: {{kind: clip, max: 4.0, of: {{kind: sum, of: [{UP}, {DOWN}]}}}}", 0, 10, 4.0),
    (f"lr: {{kind: clip, max: 7.0, of: {{kind: sum, of: [{UP}, {DOWN}]}}}}", 0, 10, 5.0),
    (f"lr: {{kind: clip, min: 0.1, of: {{kind: sum, of: [{UP}, {DOWN}]}}}}", 0, 10, 5.0),
    # a sequence: the largest of its parts' bounds over their own ranges (the sum's 5, then a constant 0.5)
    (f"lr: [{{kind: sum, of: [{UP}, {DOWN}]}}, {{kind: constant, value: 0.5}}]", 0, 30, 5.0),
    # from step 8: the sum's parts over [8, 10] (its end value included): UP <= 3, DOWN <= 1.2 (at 8)
    (f"lr: [{{kind: sum, of: [{UP}, {DOWN}]}}, {{kind: constant, value: 0.5}}]", 8, 30, 4.2),
    # steps 0..3 of a sum: UP <= 1.6, DOWN <= 2 over [0, 3]
    (f"lr: [{{kind: sum, of: [{UP}, {DOWN}]}}, {{kind: constant, value: 0.5}}]", 0, 3, 3.6),
    # a repeat of a product (6 over one period) times decay**c of its last cycle c, at least 1: 3 cycles, 1.5**2
    (f"lr: {{kind: repeat, times: 3, decay: 1.5, of: {{kind: product, of: [{UP}, {DOWN}]}}}}", 0, 100, 13.5),
    # the same over cycles 0 and 1 only (steps 0..19): 1.5**1
    (f"lr: {{kind: repeat, times: 3, decay: 1.5, of: {{kind: product, of: [{UP}, {DOWN}]}}}}", 0, 19, 9.0),
    # decay < 1: the first cycle's bound (1 at most of decay**c)
    (f"lr: {{kind: repeat, decay: 0.5, of: {{kind: product, of: [{UP}, {DOWN}]}}}}", 0, 1000, 6.0),
    # mult 2 (cycles begin at 0, 10, 30, 70): steps 0..40 are in cycles 0..2, decay 2**2
    (f"lr: {{kind: repeat, mult: 2, decay: 2.0, of: {{kind: product, of: [{UP}, {DOWN}]}}}}", 0, 40, 24.0),
    (f"lr: {{kind: repeat, mult: 2, decay: 2.0, of: {{kind: product, of: [{UP}, {DOWN}]}}}}", 0, 29, 12.0),
    # a real period of 15/2 (cycles begin at 0, 7.5, 15, 22.5): step 22 is in cycle 2, step 23 in cycle 3
    (f'lr: {{kind: repeat, period: "15/2", times: 6, decay: 2.0, of: {{kind: product, of: [{UP}, {DOWN}]}}}}', 0, 22, 24.0),
    (f'lr: {{kind: repeat, period: "15/2", times: 6, decay: 2.0, of: {{kind: product, of: [{UP}, {DOWN}]}}}}', 0, 23, 48.0),
])  # fmt: skip
def test_mut_range_maxabs_of_a_dense_combinator_is_its_parts_bound(text, lo, hi, bound):
    node, (group,), _ = _node_group(text)
    assert _range.candidates(node, lo, hi, group.env).dense
    for dtype in ("float64", "float32"):
        got = _range.maxabs(node, lo, hi, group.env, dtype, 1)
        assert got.shape == (1,) and float(got[0]) == pytest.approx(bound, rel=1e-6), (text, lo, hi, dtype)


def test_mut_range_maxabs_of_an_empty_range_is_0_and_of_a_sweep_is_per_member():
    node, (group,), _ = _node_group("vars: {p: [0.5, 4.0]}\nlr: {kind: linear, start: $p, end: 1.0, duration: 10}")
    assert _range.maxabs(node, 6, 5, group.env, "float64", 2).tolist() == [0.0, 0.0]
    assert _range.maxabs(node, 0, 10, group.env, "float64", 2).tolist() == [1.0, 4.0]
    # steps 5..10 of the linear from 4 to 1: 2.5 at 5
    assert _range.maxabs(node, 5, 10, group.env, "float64", 2).tolist() == [1.0, 2.5]
    # a dense range, per member: (p + (1 - p) t/10) * (2 - t/10), at most max(p, 1) * 2
    node, (group,), _ = _node_group(
        "vars: {p: [0.5, 4.0]}\nlr: {kind: product, of: [{kind: linear, start: $p, end: 1.0, duration: 10}, "
        "{kind: linear, start: 2.0, end: 1.0, duration: 10}]}")  # fmt: skip
    assert _range.maxabs(node, 0, 10, group.env, "float64", 2).tolist() == [2.0, 8.0]
    # a scale by a swept factor, and a clip at a swept ceiling, of a dense sum (at most 3 + 2): per member
    dense_sum = f"{{kind: sum, of: [{UP}, {DOWN}]}}"
    node, (group,), _ = _node_group(f"vars: {{s: [0.5, 3.0]}}\nlr: {{kind: scale, by: $s, of: {dense_sum}}}")
    assert _range.maxabs(node, 0, 10, group.env, "float32", 2).tolist() == [2.5, 15.0]
    node, (group,), _ = _node_group(f"vars: {{s: [4.0, 9.0]}}\nlr: {{kind: clip, max: $s, of: {dense_sum}}}")
    assert _range.maxabs(node, 0, 10, group.env, "float64", 2).tolist() == [4.0, 5.0]


def test_mut_range_maxabs_of_a_plateau_is_its_start_or_its_min():
    # a plateau only lowers its start (down to `min`), or raises it to `min` when it starts below: no reports needed
    head = "steps_per_epoch: 10\n"
    node, (group,), _ = _node_group(head + "lr: {kind: plateau, start: 0.7, min: 0.01, monitor: loss}")
    assert _range.maxabs(node, 0, 100, group.env, "float64", 1).tolist() == [0.7]
    node, (group,), _ = _node_group(head + "lr: {kind: plateau, start: 0.7, min: 2.5, monitor: loss}")
    assert _range.maxabs(node, 0, 100, group.env, "float64", 1).tolist() == [2.5]
    node, (group,), _ = _node_group(head + "vars: {s: [0.5, 3.0]}\n"
                                    "lr: {kind: plateau, start: $s, min: 1.0, monitor: loss}")  # fmt: skip
    assert _range.maxabs(node, 0, 100, group.env, "float32", 2).tolist() == [1.0, 3.0]
    # a combinator holding a plateau is bounded by its parts: a sequence, the largest (the warmup's 0.9)
    node, (group,), _ = _node_group(head + "lr: [{kind: linear, start: 0.1, end: 0.9, duration: 20}, "
                                    "{kind: plateau, min: 0.001, monitor: loss}]")  # fmt: skip
    with pytest.raises(_range.NeedsMetrics):
        _range.candidates(node, 0, 100, group.env)
    assert _range.maxabs(node, 0, 100, group.env, "float64", 1).tolist() == [0.9]
    assert _range.maxabs(node, 0, 10, group.env, "float64", 1).tolist() == [pytest.approx(0.5)]
    # a product: 0.9 * 2 (the plateau's start is the constant 2)
    node, (group,), _ = _node_group(head + "lr: {kind: product, of: [{kind: linear, start: 0.1, end: 0.9, duration: 20}, "
                                    "{kind: plateau, start: 2.0, monitor: loss}]}")  # fmt: skip
    assert _range.maxabs(node, 0, 100, group.env, "float64", 1).tolist() == [pytest.approx(1.8)]
    # in float32, as a float32 target holds them: 0.7 is float32(0.7); a min given by a var is read from the env; a
    # start carried from the phase before is that phase's final value (0.9)
    node, (group,), _ = _node_group(head + "lr: {kind: plateau, start: 0.7, min: 0.01, monitor: loss}")
    assert _range.maxabs(node, 0, 100, group.env, "float32", 1).tolist() == [float(np.float32(0.7))]
    node, (group,), _ = _node_group(head + "vars: {m: 2.5}\nlr: {kind: plateau, start: 0.7, min: $m, monitor: loss}")
    assert _range.maxabs(node, 0, 100, group.env, "float64", 1).tolist() == [2.5]
    node, (group,), _ = _node_group(head + "lr: [{kind: linear, start: 0.1, end: 0.9, duration: 20}, "
                                    "{kind: plateau, min: 0.001, monitor: loss}]")  # fmt: skip
    assert _range.maxabs(node.parts[1], 0, 100, group.env, "float64", 1).tolist() == [pytest.approx(0.9)]


# a sequence holding a plateau is bounded part by part: each part over its own steps (its range reaches the step
# where the next part begins: its held end value, usually what that part carries), the open last part to `hi`
SEQ_WITH_PLATEAU = ("steps_per_epoch: 10\nvars: {w: 5, e: 4.0}\nlr: [{kind: constant, value: 0.3, duration: $w}, "
                    "{kind: plateau, start: 0.2, min: 0.1, monitor: loss, duration: 10}, {kind: linear, start: 1.0, "
                    "end: $e, duration: 10}, {kind: constant, value: 0.5}]")  # fmt: skip


@pytest.mark.parametrize("lo, hi, bound", [
    (0, 100, 4.0),  # the linear's end, at step 25
    (0, 4, 0.3), (5, 14, 0.3),  # the first part reaches step 5; the plateau is at most 0.2
    (15, 20, 2.5), (16, 16, 1.3),  # the linear at its local 5 and 1 (1 + 3 * t / 10)
    (25, 100, 4.0), (26, 100, 0.5),  # from 26 on only the open last part
])  # fmt: skip
def test_mut_range_maxabs_of_a_dense_sequence_bounds_each_part_over_its_own_steps(lo, hi, bound, monkeypatch):
    node, (group,), _ = _node_group(SEQ_WITH_PLATEAU, monkeypatch)
    assert _range.maxabs(node, lo, hi, group.env, "float64", 1).tolist() == [pytest.approx(bound, rel=1e-15)]


def test_mut_range_maxabs_of_a_dense_repeat_of_var_period_bounds_its_cycles():
    node, (group,), _ = _node_group("vars: {w: 6}\nlr: {kind: repeat, times: 3, of: {kind: product, of: [{kind: linear, "
                                    "start: 1.0, end: 0.5, duration: $w}, {kind: cosine, start: 1.0, end: 0.1, "
                                    "duration: $w}]}}")  # fmt: skip
    assert _range.candidates(node, 0, 30, group.env).dense == [(0, 5), (6, 11), (12, 17)]
    assert _range.maxabs(node, 0, 30, group.env, "float64", 1).tolist() == [1.0]


def test_mut_range_maxabs_of_a_dense_stretched_repeat_reads_its_var_period_and_decay_per_member():
    # a product of two moving parts (dense) repeated with mult 2, a var period and a swept decay: cycle i is scaled by
    # decay ** i, so the bound is the first cycle's maximum (1.0) times max(1, decay ** last cycle reached)
    node, (group,), _ = _node_group("vars: {w: 6, d: [0.5, 1.5]}\nlr: {kind: repeat, mult: 2, times: 3, decay: $d, "
                                    "of: {kind: product, of: [{kind: linear, start: 1.0, end: 0.5, duration: $w}, "
                                    "{kind: cosine, start: 1.0, end: 0.1, duration: $w}]}}")  # fmt: skip
    assert _range.candidates(node, 0, 41, group.env).dense
    # cycles start at 0, 6, 18 (6 * (2**i - 1)): step 20 is in cycle 2, step 10 in cycle 1
    assert _range.maxabs(node, 0, 20, group.env, "float64", 2).tolist() == [1.0, 1.5**2]
    assert _range.maxabs(node, 0, 10, group.env, "float64", 2).tolist() == [1.0, 1.5]


@pytest.mark.parametrize("body", [
    "lr: {kind: product, of: [" + PULSE + ", " + PULSE + ", {kind: constant, value: 1.0e-10}]}",
    "lr: {kind: scale, by: 1.0e-10, of: {kind: product, of: [" + PULSE + ", " + PULSE + "]}}",
    "vars: {c: 1.0e-10}\nlr: {kind: clip, min: 0.1, of: {kind: scale, by: $c, of: {kind: product, of: [" + PULSE
    + ", " + PULSE + "]}}}",
    # a repeat of it, cycle by cycle
    "lr: {kind: repeat, times: 2, of: {kind: scale, by: 1.0e-10, of: {kind: product, of: [" + PULSE + ", " + PULSE
    + "]}}}",
    # a sequence holding a plateau (bounded part by part): the same 5 steps later
    "steps_per_epoch: 10\nlr: [{kind: plateau, start: 1.0, monitor: loss, duration: 5}, {kind: scale, by: 1.0e-10, "
    "of: {kind: product, of: [" + PULSE + ", " + PULSE + "]}}]",
])  # fmt: skip
def test_mut_range_a_dense_bound_is_computed_in_float32_where_an_intermediate_overflows(body, monkeypatch):
    # 1e20 * 1e20 is inf in float32 (1e40 in float64, 1e30 once times 1e-10) on steps 10 to 19 only: the targets
    # multiply the pulses first, so inf from step 10; the bound must be float32's too (the ends, 0 and 25, are finite)
    got = _overflow(body, monkeypatch)
    assert (got.at32, got.at64) == (15 if "plateau" in body else 10, None)


# ------------------------------------------------------------------------------------------------ overflow
# worked by hand on the float32 path: gamma ** t passes 3.4028235e+38 (2 ** 128) at t = 128 for gamma 2, at 219 for
# 1.5 (1.5 ** 219 = 1.05e+38 * 1.5 ** 3 ...: ln(3.4028235e+38) / ln(1.5) = 218.8); in float64 2 ** 1024 is inf
# (1.5 ** t stays finite to t = 1750)
def _overflow(text, monkeypatch, begin=None):
    node, _, spec = _node_group(text, monkeypatch)
    return _range.overflow(node, spec.program.vars, begin)


def test_mut_range_overflow_gives_the_float32_and_float64_steps_and_the_value_there(monkeypatch):
    got = _overflow("lr: {kind: exponential, start: 1.0, gamma: 2.0, duration: 2000}", monkeypatch)
    assert (got.at32, got.at64, got.member, got.value) == (128, 1024, {}, 2.0**128)
    got = _overflow("lr: {kind: exponential, start: 1.0, gamma: 1.5, duration: 1000}", monkeypatch)
    assert (got.at32, got.at64, got.member, got.value) == (219, None, {}, 1.5**219)
    assert _overflow("lr: {kind: exponential, start: 1.0, gamma: 1.5, duration: 218}", monkeypatch) is None
    assert _overflow("lr: {kind: exponential, start: 1.0, gamma: 1.5, duration: 219}", monkeypatch).at32 == 219


def test_mut_range_overflow_searches_every_member_past_the_first_chunk_and_keeps_the_first_at_a_tie(monkeypatch):
    # 300 members (_CHUNK = 256 searched at once): 1.01 ** 2000 = 4.4e8 stays finite; member 5 (gamma 1.5) overflows
    # at 219, members 10 (2.0) and 280 (2.0000002: 2 ** 127 * 1.0000152 is finite, 2 ** 128 * ... is not) at 128:
    # the first in sweep order of those overflowing first is member 10
    assert _range._CHUNK < 300
    gammas = [1.01] * 300
    gammas[5], gammas[10], gammas[280] = 1.5, 2.0, 2.0000002
    text = f"vars: {{g: {gammas}}}\nlr: {{kind: exponential, start: 1.0, gamma: $g, duration: 2000}}"
    got = _overflow(text, monkeypatch)
    assert (got.at32, got.at64, got.member, got.value) == (128, 1024, {"g": 2.0}, 2.0**128)
    # without member 10: member 280 (the second chunk), its own float64 step and value
    gammas[10] = 1.01
    text = f"vars: {{g: {gammas}}}\nlr: {{kind: exponential, start: 1.0, gamma: $g, duration: 2000}}"
    got = _overflow(text, monkeypatch)
    assert (got.at32, got.member) == (128, {"g": 2.0000002})
    assert got.at64 == 1024 and got.value == 2.0000002**128
    # member 280 alone, in the second chunk: nothing flagged in the first
    gammas[5] = 1.01
    text = f"vars: {{g: {gammas}}}\nlr: {{kind: exponential, start: 1.0, gamma: $g, duration: 2000}}"
    assert _overflow(text, monkeypatch).member == {"g": 2.0000002}


@pytest.mark.parametrize("widths, at32, member", [
    ([300, 150], 150 + 128, {"w": 150}),  # the second group overflows first
    ([150, 300], 150 + 128, {"w": 150}),  # the first does: the second is searched only before it
    ([150, 100], 100 + 128, {"w": 100}),
])  # fmt: skip
def test_mut_range_overflow_over_groups_of_step_positions_is_the_earliest(widths, at32, member, monkeypatch):
    # a duration var moves the exponential: one group per width, the exponential (2 ** (k - w)) overflows at w + 128
    text = (f"vars: {{w: {widths}}}\nlr: [{{kind: constant, value: 1.0, duration: $w}}, "
            "{kind: exponential, start: 1.0, gamma: 2.0, duration: 1500}]")  # fmt: skip
    node, groups, spec = _node_group(text, monkeypatch)
    assert len(groups) == 2
    got = _range.overflow(node, spec.program.vars, None)
    assert (got.at32, got.at64, got.member, got.value) == (at32, at32 - 128 + 1024, member, 2.0**128)


def test_mut_range_overflow_of_an_open_node_stops_at_the_last_step_after_its_begin(monkeypatch):
    # an open exponential that overflows float32 only after hundreds of millions of steps: its open end is
    # 2**31 - 1 - begin, so it overflows for a begin up to 2**31 - 1 - at32, and not one step later
    text = "lr: {kind: exponential, start: 1.0, gamma: 1.0000001}"
    first = _overflow(text, monkeypatch)
    at = first.at32
    assert 7 * 10**8 < at < 8 * 10**8 and first.at64 is None and first.member == {}
    assert _overflow(text, monkeypatch, begin=0).at32 == at
    assert _overflow(text, monkeypatch, begin=2**31 - 1 - at).at32 == at
    assert _overflow(text, monkeypatch, begin=2**31 - at) is None
    assert _range.first_overflow(first.node, at - 1, at, {}, "float32") == at
    assert _range.first_overflow(first.node, at - 1, at - 1, {}, "float32") is None


def test_mut_range_overflow_bounds_a_start_carried_from_a_plateau_by_its_start_or_min(monkeypatch):
    # the exponential's start is the plateau's final value (reports unknown): at most max(start, min), so
    # 2 * 2 ** t overflows at 127 (2 ** 128), 1 * 2 ** t at 128; the step is local to the exponential
    for start, low, at32 in ((2.0, 0.5, 127), (0.25, 1.0, 128), (1.0, 0.001, 128)):
        node, (group,), spec = _node_group(
            f"steps_per_epoch: 10\nlr: [{{kind: plateau, start: {start}, min: {low}, monitor: loss, duration: 30}}, "
            "{kind: exponential, gamma: 2.0, duration: 400}]", monkeypatch)  # fmt: skip
        exp = node.parts[1]
        got = _range.overflow(exp, spec.program.vars, 30)
        assert (got.at32, got.at64, got.value) == (at32, None, 2.0**128), (start, low)
        bounded, with_bounds = _range.untimed(exp, group)
        assert with_bounds.env[("num", bounded.start.name)] == max(start, low)


# a combinator holding a plateau (its values depend on the reports): the overflow search takes, step by step, the
# worse of the plateau held at its start and at its min. The step named is cross-checked with what evaluate gives
# (float32) for the spec with the plateau replaced by the constant it is held at (`None`: with reports that keep
# improving, which hold the plateau at its start)
PLATEAU_HELD = {
    # min above start: a reduction raises the lr to min, so the plateau is bounded by its min: 1e30 * 1.5 ** t
    # overflows at 49 (held at its start, 1.5 ** t would not before 219). No report sequence reaches 49: the first
    # reduction takes patience + 1 epochs; the refusal is conservative
    "min above start": ("lr: {kind: product, of: [{kind: plateau, start: 1.0, min: 1.0e+30, monitor: loss}, "
                        "{kind: exponential, start: 1.0, gamma: 1.5, duration: 300}]}", 49, {},
                        "{kind: constant, value: 1.0e+30}"),
    # the plateau's own duration ends it: the constant after it (1e30) multiplies 1.5 ** t from step 10 on
    "a phase after the plateau": ("lr: {kind: product, of: [[{kind: plateau, start: 1.0, monitor: loss, duration: 10}, "
                                  "{kind: constant, value: 1.0e+30}], {kind: exponential, start: 1.0, gamma: 1.5, "
                                  "duration: 300}]}", 49, {}, None),
    # a sweep read inside the held tree: member g = 2.0 overflows first, at 29 (1e30 * 2 ** 29 = 5.4e38)
    "a sweep": ("vars: {g: [1.5, 2.0]}\nlr: {kind: product, of: [{kind: plateau, start: 1.0e+30, monitor: loss}, "
                "{kind: exponential, start: 1.0, gamma: $g, duration: 300}]}", 29, {"g": 2.0}, None),
}  # fmt: skip


@pytest.mark.parametrize("name", list(PLATEAU_HELD))
def test_mut_range_overflow_of_a_combinator_holding_a_plateau_is_the_worse_of_its_start_and_min(name, monkeypatch):
    body, at32, member, held = PLATEAU_HELD[name]
    node, _, spec = _node_group("steps_per_epoch: 10\n" + body, monkeypatch)
    got = _range.overflow(node, spec.program.vars, None)
    assert (got.at32, got.member) == (at32, member), name
    # the float64 value there, of the worse of the two (the min's 1e30 times the exponential, not the start's 1.0)
    assert got.value == pytest.approx(1.0e30 * (2.0 if member else 1.5) ** at32, rel=1e-12), name
    if held is not None:  # the plateau written as the constant it is held at
        _, _, spec = _node_group("steps_per_epoch: 10\n" + body.replace(body[body.index("{kind: plateau"):
                                 body.index("}", body.index("{kind: plateau")) + 1], held), monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        v = schedspec.evaluate(spec, np.arange(300), metrics={"loss": [100.0 - i for i in range(40)]}
                               if held is None else None)
    rows = np.atleast_2d(v)  # one row per sweep member
    firsts = [int(np.flatnonzero(~np.isfinite(row))[0]) for row in rows]
    assert min(firsts) == at32, (name, firsts)
    members = list(spec.program.sweep_members()) or [{}]
    assert members[firsts.index(at32)] == member, (name, firsts)


def test_mut_range_a_start_carried_from_a_plateau_is_bounded_member_by_member(monkeypatch):
    # the third phase carries the second's final value, which carries the plateau's (at most max($s, min)): member
    # s = 2.0 starts the third at most at 2 * 2 ** 10 and overflows at 117 (2 ** 11 * 2 ** 117 = 2 ** 128), member
    # s = 0.5 at most at 0.5 * 2 ** 10, at 119. The plateau's length is a var: read from the member's env
    text = ("steps_per_epoch: 10\nvars: {s: [0.5, 2.0], w: 30}\nlr: [{kind: plateau, start: $s, min: 0.25, "
            "monitor: loss, duration: $w}, {kind: exponential, gamma: 2.0, duration: 10}, "
            "{kind: exponential, gamma: 2.0, duration: 400}]")  # fmt: skip
    node, (group,), spec = _node_group(text, monkeypatch)
    third = node.parts[2]
    got = _range.overflow(third, spec.program.vars, 40)
    assert (got.at32, got.at64, got.member, got.value) == (117, None, {"s": 2.0}, 2.0**128)
    bounded, with_bounds = _range.untimed(third, group)
    assert with_bounds.env[("num", bounded.start.name)].tolist() == [[0.5 * 2**10], [2.0 * 2**10]]
    assert group.env.keys() < with_bounds.env.keys()  # the group itself is left as it was
    # the refusal names that member and its step
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.loads(H + text + "\n")
    assert "overflows float32 from its local step 117 on with s=2.0 " in str(err.value)


def test_mut_range_overflow_of_an_open_node_reaches_step_2_31_minus_1(monkeypatch):
    # a jump to 3e38 at the last step a framework counts, doubled: inf there and only there
    text = ("lr: {kind: product, of: [{kind: piecewise, points: [[0, 1.0], [2147483647, 3.0e+38]]}, "
            "{kind: constant, value: 2.0}]}")  # fmt: skip
    for begin in (None, 0):
        got = _overflow(text, monkeypatch, begin=begin)
        assert (got.at32, got.at64, got.value) == (2**31 - 1, None, 6.0e38), begin
    assert _overflow(text, monkeypatch, begin=1) is None  # it begins one step later: that step is never reached


def test_mut_range_a_stretched_repeat_is_dense_only_past_MAX_CYCLES_cycles(monkeypatch):
    # no document reaches the fallback: MAX_CYCLES is at least the most cycles a fractional mult may have (4200
    # cycles went dense with the former 4096)
    from schedspec.lowering import lowerer

    assert _range.MAX_CYCLES >= lowerer.MAX_FRACTIONAL_CYCLES
    node, (group,), _ = _node_group("lr: {kind: repeat, mult: 1.001, times: 4200, of: " + TENT + "}", monkeypatch)
    firsts = _range._cycles(node, 6)[0]
    assert not _range.candidates(node, 0, firsts[-1], group.env).dense
    # the threshold itself, made small: a range over exactly n + 1 cycles (c_hi - c_lo = n) is still examined cycle
    # by cycle, one more is dense; a few cycles late in the repeat are never dense
    n = 100
    monkeypatch.setattr(_range, "MAX_CYCLES", n)
    c = _range.candidates(node, firsts[10], firsts[10 + n], group.env)
    assert not c.dense and len(c.points) > n
    assert _range.candidates(node, firsts[10], firsts[11 + n], group.env).dense == [(firsts[10], firsts[11 + n])]
    c = _range.candidates(node, firsts[4150], firsts[4153] - 1, group.env)
    assert not c.dense and firsts[4151] in c.points and firsts[4152] - 1 in c.points


def test_mut_range_overflow_at_step_0_and_in_float64(monkeypatch):
    # 1e10 * 1e30 = 1e40 at step 0 only (1.0 * 1e30 after): float32 overflows at 0 and only there
    got = _overflow("lr: {kind: product, of: [{kind: piecewise, points: [[0, 1.0e+10], [1, 1.0]], duration: 5}, "
                    "{kind: constant, value: 1.0e+30}]}", monkeypatch)  # fmt: skip
    assert (got.at32, got.at64, got.value) == (0, None, 1.0e40)
    # nine factors of 3e38: 3e38 ** 9 = 1.97e342 overflows float64 too, at step 0
    got = _overflow("lr: {kind: product, of: [" + ", ".join(["{kind: constant, value: 3.0e+38}"] * 9) + "]}",
                    monkeypatch)  # fmt: skip
    assert (got.at32, got.at64) == (0, 0) and got.value == math.inf


def test_mut_range_overflow_of_a_sweep_is_computed_in_float32(monkeypatch):
    # float32(2) ** 128 is inf in float32, 2 ** 128 is finite in float64 and 1e-10 * 2 ** 128 = 3.4e28 fits float32:
    # the sweep's gamma is held in float32, so the scale overflows at 128 (member g = 2.0) as a float32 target does
    got = _overflow("vars: {g: [2.0, 1.5]}\nlr: {kind: scale, by: 1.0e-10, of: {kind: exponential, start: 1.0, "
                    "gamma: $g, duration: 300}}", monkeypatch)  # fmt: skip
    assert (got.at32, got.member) == (128, {"g": 2.0})


def test_mut_range_overflow_searches_later_chunks_up_to_the_step_before_the_earliest(monkeypatch):
    # 300 members of `start: $s`, gamma 2: 2 ** 128 overflows; member 5 (s = 1) at 128, member 280 (s = 2, the
    # second chunk) one step earlier, at 127: the earlier one is found although the first chunk found one
    starts = [1.0e-10] * 300
    starts[5], starts[280] = 1.0, 2.0
    got = _overflow(f"vars: {{s: {starts}}}\nlr: {{kind: exponential, start: $s, gamma: 2.0, duration: 400}}",
                    monkeypatch)  # fmt: skip
    assert (got.at32, got.member) == (127, {"s": 2.0})


def test_mut_range_overflow_keeps_the_first_member_at_a_tie_across_chunks(monkeypatch):
    # every member overflows (1.5 ** 219), so both chunks are searched: member 10 (2.0, the first chunk) and member
    # 280 (2.0000002, the second) both at 128: the first in sweep order is named
    gammas = [1.5] * 300
    gammas[10], gammas[280] = 2.0, 2.0000002
    got = _overflow(f"vars: {{g: {gammas}}}\nlr: {{kind: exponential, start: 1.0, gamma: $g, duration: 2000}}",
                    monkeypatch)  # fmt: skip
    assert (got.at32, got.member) == (128, {"g": 2.0})


def test_mut_range_overflow_goes_on_past_a_chunk_flagged_by_a_loose_bound(monkeypatch):
    # s * 1 then 1 * s, times 2: the product is 2 * s at every step, its bound (the parts' maxima) 2 * s * s. The
    # first chunk's members (s = 1e20) are flagged by the bound and never overflow; member 280 (s = 3e38, the second
    # chunk) overflows at step 0
    starts = [1.0e20] * 300
    starts[280] = 3.0e38
    got = _overflow(f"vars: {{s: {starts}}}\nlr: {{kind: product, duration: 10, of: [{{kind: piecewise, points: "
                    "[[0, $s], [5, 1.0]]}, {kind: piecewise, points: [[0, 1.0], [5, $s]]}, {kind: constant, "
                    "value: 2.0}]}", monkeypatch)  # fmt: skip
    assert (got.at32, got.member) == (0, {"s": 3.0e38})


def test_mut_range_two_starts_carried_from_plateaus_are_bounded_each_on_its_own(monkeypatch):
    # the first exponential starts at most at 4.0 (its plateau's start): 4 * 2 ** t reaches 2 ** 128 at t = 126,
    # absolute 30 + 126; the second at most at 1.0: at its local 128 (2 ** t itself; an intermediate overflowing
    # counts, as in float32 targets)
    text = ("steps_per_epoch: 10\nlr: [{kind: plateau, start: 4.0, monitor: loss, duration: 30}, "
            "{kind: exponential, gamma: 2.0, duration: 200}, {kind: plateau, start: 1.0, monitor: loss, duration: 30}, "
            "{kind: exponential, gamma: 2.0, duration: 200}]")  # fmt: skip
    node, _, spec = _node_group(text, monkeypatch)
    assert _range.overflow(node, spec.program.vars, 0).at32 == 30 + 126
    assert _range.overflow(node.parts[3], spec.program.vars, 260).at32 == 128


def test_mut_range_first_overflow_of_several_members_is_the_first_step_then_the_first_member(monkeypatch):
    gammas = [1.5, 2.0, 2.0000002, 1.01]
    node, (group,), _ = _node_group(
        f"vars: {{g: {gammas}}}\nlr: {{kind: exponential, start: 1.0, gamma: $g, duration: 2000}}", monkeypatch)
    env = group.cast("float32")
    assert _range._first_not_finite(node, 0, 2000, env, "float32", 4) == (128, 1)
    assert _range._first_not_finite(node, 129, 2000, env, "float32", 4) == (129, 1)  # inf from 128 on
    assert _range._first_not_finite(node, 0, 127, env, "float32", 4) is None
    env64 = group.cast("float64")
    assert _range._first_not_finite(node, 0, 2000, env64, "float64", 4) == (1024, 1)
    for i, (at32, at64) in enumerate([(219, 1751), (128, 1024), (128, 1024), (None, None)]):
        member = group.member_env(i)
        assert _range.first_overflow(node, 0, 2000, member, "float64") == at64
        assert _range.first_overflow(node, 0, 2000, group.member_env(i, "float32"), "float32") == at32


# ------------------------------------------------------------------------------------------------ sweeps and members
def test_mut_range_groups_split_members_by_step_positions_in_written_order():
    # w (a duration) and q (a onecycle's pct_start) move step positions: one group per (w, q), in written order;
    # a and b are rows of each group (written order, the last varying fastest); c is fixed; z is not used
    text = ("vars: {a: [1.0, 2.0], w: [3, 4], b: [0.1, 0.2, 0.3], c: 0.5, q: [0.3, 0.4], z: [7, 8]}\n"
            "lr: [{kind: linear, start: $c, end: $a, duration: $w}, {kind: onecycle, peak: $b, pct_start: $q, "
            "duration: 20}]")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = schedspec.loads(H + text + "\n")
    node = spec.program.hparams["lr"]
    assert _range.shape_vars(node) == {"w", "q"} and _range.deps(node) == {"a", "w", "b", "c", "q"}
    groups = list(_range.groups(node, spec.program.vars))
    assert [(g.env[("dur", "w")], g.env[("num", "q")], g.size) for g in groups] == [
        (3, 0.3, 6), (3, 0.4, 6), (4, 0.3, 6), (4, 0.4, 6)]  # fmt: skip
    rows = [(1.0, 0.1), (1.0, 0.2), (1.0, 0.3), (2.0, 0.1), (2.0, 0.2), (2.0, 0.3)]
    for g in groups:
        assert g.env[("num", "c")] == 0.5 and ("num", "z") not in g.env and ("dur", "z") not in g.env
        assert g.env[("num", "a")].shape == g.env[("num", "b")].shape == (6, 1)
        assert g.env[("num", "a")].dtype == np.float64
        assert list(zip(g.env[("num", "a")][:, 0], g.env[("num", "b")][:, 0])) == rows
        w, q = g.env[("dur", "w")], g.env[("num", "q")]
        assert [g.member(i) for i in range(6)] == [{"w": w, "q": q, "a": a, "b": b} for a, b in rows]
        # one member's env: scalars, numbers as float32 for a float32 check, durations as they are
        for i, (a, b) in enumerate(rows):
            e64, e32 = g.member_env(i), g.member_env(i, "float32")
            assert e64 == {("num", "a"): a, ("num", "b"): b, ("num", "c"): 0.5, ("dur", "w"): w, ("num", "w"): float(w),
                           ("num", "q"): q}  # fmt: skip
            assert [type(e64[k]) for k in (("num", "a"), ("num", "c"), ("num", "q"))] == [float] * 3
            assert e32.keys() == e64.keys() and e32[("dur", "w")] == w and type(e32[("dur", "w")]) is int
            for k in (("num", "a"), ("num", "b"), ("num", "c"), ("num", "q")):
                assert type(e32[k]) is np.float32 and e32[k] == np.float32(e64[k])
        cast = g.cast("float32")
        assert cast[("num", "a")].dtype == np.float32 and cast[("num", "c")] == 0.5 and cast[("dur", "w")] == w
    # every sweep member exactly once
    seen = sorted((m["a"], m["w"], m["b"], m["q"]) for g in groups for m in map(g.member, range(g.size)))
    assert seen == sorted((m["a"], m["w"], m["b"], m["q"]) for m in spec.program.sweep_members())


def test_mut_range_groups_without_sweeps_are_one_member_and_shape_vars_follow_the_kind():
    spec = schedspec.loads(H + "vars: {p: 0.5, w: 4}\nlr: {kind: linear, start: $p, end: 0.1, duration: $w}\n")
    node = spec.program.hparams["lr"]
    (g,) = _range.groups(node, spec.program.vars)
    assert (g.size, g.env, g.member(0)) == (1, {("num", "p"): 0.5, ("num", "w"): 4.0, ("dur", "w"): 4}, {})
    # an exp_range cyclic's gamma moves its extremes (a shape var); a triangular one's does not exist; a peak never
    spec = schedspec.loads(H + "vars: {g: [0.9, 0.95], h: [1.0, 2.0]}\nlr: [{kind: cyclic, low: 0.1, high: $h, up: 3, "
                           "mode: exp_range, gamma: $g, duration: 12}, {kind: onecycle, peak: $h, duration: 10}]\n")
    node = spec.program.hparams["lr"]
    assert _range.shape_vars(node) == {"g"} and _range.deps(node) == {"g", "h"}
    assert [g.size for g in _range.groups(node, spec.program.vars)] == [2, 2]
    spec = schedspec.loads(H + "vars: {g: [0.9, 0.95]}\nlr: {kind: cyclic, low: 0.1, high: 1.0, up: 3, "
                           "mode: triangular, gamma: $g, duration: 12}\n")
    assert _range.shape_vars(spec.program.hparams["lr"]) == set()


# ------------------------------------------------------------------------------------------------ array namespaces
def test_mut_range_array_namespace_casts_broadcasts_and_indexes_per_member():
    xp = _range.xp_for("float32")
    assert _range.xp_for("float32") is xp and xp.dtype == np.float32 and _range.xp_for("float64").dtype == np.float64
    # built afresh (xp_for's cache may hold namespaces built before): float64 by default, float32 when asked
    assert _range.ArrayXP().dtype == np.float64 and _range.ArrayXP().f(0.1).dtype == np.float64
    assert _range.ArrayXP("float32").dtype == np.float32 and _range.ArrayXP("float32").f(0.1).dtype == np.float32
    assert xp.f(0.1).dtype == np.float32 and float(xp.f(0.1)) == float(np.float32(0.1))
    full = xp.full_like(np.arange(4), np.array([[1.0], [2.0], [3.0]]))
    assert full.shape == (3, 4) and full.dtype == np.float32 and full[:, 3].tolist() == [1.0, 2.0, 3.0]
    assert xp.out(np.arange(2), 0.5).tolist() == [0.5, 0.5]
    got = xp.take([3, 5, 7], np.array([2, 0, 1]))
    assert got.dtype == np.int64 and got.tolist() == [7, 3, 5]
    # a per-member value (one row per member) and plain numbers: row m takes member m's value
    got = xp.take([0.5, np.array([[1.0], [2.0]]), 3], np.array([[0, 1, 2]]))
    assert got.tolist() == [[0.5, 1.0, 3.0], [0.5, 2.0, 3.0]]
    assert got.dtype == np.float32  # the floats cast to float32, as a float32 target holds them (not float64)
    # a whole number stays exact (not cast to float32, where 2**24 + 1 is 2**24) next to a float
    assert xp.take([2**24 + 1, 0.5], np.array([0, 1])).tolist() == [16777217.0, 0.5]
    assert xp.take([True, 2], np.array([0, 1])).tolist() == [1.0, 2.0]  # a bool is a number, not an index
    # count_le: #{x in thresholds: x <= t}, a repeated threshold counting twice
    ts = np.array([0, 2, 4, 5, 9])
    assert xp.count_le([2, 5, 5], ts).tolist() == [0, 1, 1, 3, 3]
    assert xp.count_le([2.5, 5.0], ts).tolist() == [0, 0, 1, 2, 2] and xp.count_le([2.5, 5.0], ts).dtype == np.int64
    assert xp.count_le([2, 5], ts).dtype == np.int64  # counts index tables (take)
    assert xp.count_le([2, np.array([[1], [6]])], ts).tolist() == [[0, 2, 2, 2, 2], [0, 1, 1, 1, 2]]


def test_mut_range_safe_power_and_final_value_give_inf_instead_of_raising(monkeypatch):
    assert _range.SafeMathXP.power(2.0, 3.0) == 8.0 and _range.SafeMathXP.power(4, 0.5) == 2.0
    assert _range.SafeMathXP.power(10.0, 400.0) == math.inf
    node, _, _ = _node_group("lr: {kind: exponential, start: 0.5, gamma: 0.5, duration: 10}")
    assert _range.final_value(node) == 0.5 * 0.5**10
    node, _, _ = _node_group("lr: {kind: exponential, start: 1.0, gamma: 10.0, duration: 400}", monkeypatch)
    assert _range.final_value(node) == math.inf
    node, _, _ = _node_group("vars: {w: [3, 5]}\nlr: {kind: exponential, start: 0.5, gamma: 0.5, duration: $w}")
    assert [_range.final_value(node, {("dur", "w"): w}) for w in (3, 5)] == [0.5**4, 0.5**6]


def test_mut_range_evaluate_gives_one_row_per_member_in_the_dtype_asked():
    node, (g,), _ = _node_group("vars: {p: [1.0, 2.0]}\nlr: {kind: linear, start: $p, end: 0.0, duration: 4}")
    v = _range.evaluate(node, [0, 2, 4, 9], g.env, "float64", 2)
    assert v.shape == (2, 4) and v.dtype == np.float64 and v.tolist() == [[1.0, 0.5, 0.0, 0.0], [2.0, 1.0, 0.0, 0.0]]
    node, (g,), _ = _node_group("lr: {kind: linear, start: 0.1, end: 0.0, duration: 4}")
    v = _range.evaluate(node, np.array([0, 1]), g.env, "float32", 3)
    assert v.shape == (3, 2) and v.dtype == np.float32 and v[2].tolist() == [np.float32(0.1), np.float32(0.075)]


def test_mut_range_extrema_of_a_cycle_longer_than_the_step_range_are_the_references():
    # 2147483647 / 0.7 steps a cycle (one window holds every step): the falling linear's one cycle runs past
    # 2**31 - 1, its clock shifted by 5, so over [lo, hi] the maximum is at lo and the minimum at hi
    text = H + ('lr: {kind: repeat, period: "2147483647/0.7", shift: 5, of: {kind: linear, start: 1.0, end: 0.1, '
                "duration: 4}}\n")  # fmt: skip
    spec, data = schedspec.loads(text), yaml.safe_load(text)
    node = spec.program.hparams["lr"]
    (group,) = _range.groups(node, spec.program.vars)
    top = 2**31 - 1
    for lo, hi in [(0, 3), (top - 3, top), (0, top), (top, top), (top - 6, top - 5), (1000, 10**6), (2, top - 1)]:
        c = _range.candidates(node, lo, hi, group.env)
        assert not c.dense and all(lo <= p <= hi for p in c.points)
        low, high = _range.extrema(node, lo, hi, group)
        ref = ref_values(data, [lo, hi])
        assert (low[0], high[0]) == (pytest.approx(ref[1], rel=1e-13), pytest.approx(ref[0], rel=1e-13)), (lo, hi)
        assert ref[1] < ref[0] or lo == hi


@pytest.mark.parametrize("period", ["", "vars: {w: 1}\n"])
def test_mut_range_extrema_of_an_open_stretched_repeat_see_its_last_cycle_before_2_31(period):
    # mult 2 of a 6-step tent peaking at 1 (a literal or a var first part): cycle i begins at 6 * (2**i - 1) and
    # lasts 6 * 2**i; the last to begin before 2**31 is cycle 28 (at 1610612730), whose peak, 2**28 steps later
    # (1879048186), is the largest value: 1.3 ** 28 (decay 1.3); the smallest is the first step's 0.1
    first = "1" if not period else "$w"
    text = H + period + ("lr: {kind: repeat, mult: 2, decay: 1.3, of: [{kind: linear, start: 0.1, end: 1.0, "
                         f"duration: {first}}}, {{kind: linear, start: 1.0, end: 0.2, duration: 5}}]}}\n")  # fmt: skip
    spec, data = schedspec.loads(text), yaml.safe_load(text)
    node = spec.program.hparams["lr"]
    (group,) = _range.groups(node, spec.program.vars)
    peak = 6 * (2**28 - 1) + 2**28
    around = ref_values(data, [peak - 1, peak, peak + 1])
    assert around[1] == pytest.approx(1.3**28, rel=1e-12) and max(around) == around[1]
    low, high = _range.extrema(node, 0, 2**31 - 1, group)
    assert (low[0], high[0]) == (pytest.approx(0.1, rel=1e-12), pytest.approx(1.3**28, rel=1e-12))
    low, high = _range.extrema(node, peak - 5, 2**31 - 1, group)
    assert high[0] == pytest.approx(1.3**28, rel=1e-12)
