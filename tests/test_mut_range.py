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

import numpy as np
import pytest
import yaml

import schedspec
from schedspec import _range
from tests.reference import ref_values

H = "schedspec: 1\n"

# two linear halves: up from 0.1 to 1.0 over 3 steps, down to 0.2 over 3 (breakpoints at 0, 3)
TENT = "[{kind: linear, start: 0.1, end: 1.0, duration: 3}, {kind: linear, start: 1.0, end: 0.2, duration: 3}]"
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
    "onecycle linear": ("lr: {kind: onecycle, peak: 2.0, pct_start: 0.45, duration: 17, anneal: linear}", 22),
    "cyclic triangular": ("lr: {kind: cyclic, low: 0.1, high: 1.0, up: 4, down: 3, duration: 40}", 45),
    "cyclic triangular2": ("lr: {kind: cyclic, low: 0.1, high: 1.0, up: 3, mode: triangular2, duration: 40}", 45),
    # gamma < 1: (t / up) * gamma**t peaks inside the rise, at t = -1 / ln(0.8) = 4.48 (up 10)
    "cyclic exp_range gamma < 1": ("lr: {kind: cyclic, low: 0.1, high: 1.0, up: 10, mode: exp_range, gamma: 0.8, "
                                   "duration: 50}", 55),
    # gamma > 1: ((P - t) / down) * gamma**t peaks inside the fall, at t = P - 1 / ln(1.25) = P - 4.48 (down 10)
    "cyclic exp_range gamma > 1": ("lr: {kind: cyclic, low: 0.1, high: 1.0, up: 3, down: 10, mode: exp_range, "
                                   "gamma: 1.25, duration: 45}", 50),
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
    "repeat of a product": ("lr: {kind: repeat, mult: 2, times: 3, of: " + MOVING2 + "}", 50),
    "real period": ('lr: {kind: repeat, period: "10/3", times: 7, decay: 0.9, of: ' + TENT + "}", 30),
    "real period open": ('lr: {kind: repeat, period: "13/2", decay: 0.9, of: {kind: onecycle, peak: 1.0, '
                         "duration: 5}}", 45),
    "shifted clock": ("lr: {kind: repeat, shift: 2, times: 5, decay: 0.8, of: " + TENT + "}", 35),
    "real period of a product": ('lr: {kind: repeat, period: "9/2", times: 5, of: ' + MOVING2 + "}", 30),
    "sweep of numbers": ("vars: {p: [0.5, 2.0, 1.0]}\nlr: [{kind: linear, start: 0.1, end: $p, duration: 5}, "
                         "{kind: cyclic, low: 0.1, high: $p, up: 3}]", 25),
    "sweep of durations": ("vars: {w: [2, 5]}\nlr: [{kind: linear, start: 0.1, end: 1.0, duration: $w}, "
                           "{kind: cosine, end: 0.2, duration: 6}]", 15),
    "sweep of pct_start": ("vars: {q: [0.2, 0.6]}\nlr: {kind: onecycle, peak: 1.0, pct_start: $q, duration: 15}", 20),
}  # fmt: skip


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
            low, high = _range.extrema(node, lo, hi, group)
            assert low.shape == high.shape == (group.size,)
            want = ref[lo:hi + 1]
            assert low[i] == pytest.approx(want.min(), rel=1e-12, abs=1e-15), (name, member, lo, hi)
            assert high[i] == pytest.approx(want.max(), rel=1e-12, abs=1e-15), (name, member, lo, hi)
            seen += 1
    assert seen > last


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
