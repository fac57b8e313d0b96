"""Issue 11's neutral extensions: ``inverse_sqrt`` ``shift``, ``warp`` (``1-sqrt``, timm ``k_decay``), ``tanh``
and token time (``tok`` with ``tokens_per_step``): named values from the libraries' own formulas, positioned
errors, fingerprints. Every target and the invariants are in tests/test_feature_matrix.py and
tests/test_invariants.py."""

from __future__ import annotations

import math
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import schedspec  # noqa: E402


def _load(text: str, name: str = "x.yaml") -> schedspec.Spec:
    return schedspec.loads("schedspec: 1\n" + text, name)


def _errors(text: str) -> list[str]:
    with pytest.raises(schedspec.SpecError) as exc:
        _load(text)
    return [str(i) for i in exc.value.issues]


def test_inverse_sqrt_shift_follows_hf_after_a_warmup():
    """HF get_inverse_sqrt_schedule(W=1000, timescale=1000): 1/sqrt((k + ts - W) / ts) from k = W; at k = 2000 it
    is sqrt(1/2) = 0.7071 of the peak (the unshifted spelling holds the peak there: 29% above)."""
    spec = _load("lr:\n  - {kind: linear, start: 0.0, end: 1.0, duration: 1000}\n"
                 "  - {kind: inverse_sqrt, timescale: 1000, shift: 1000}\n")  # fmt: skip
    ks = [0, 999, 1000, 1001, 2000, 10**6, 2**31 - 1]
    got = schedspec.evaluate(spec, ks, dtype="float64")
    hf = [k / 1000 if k < 1000 else 1 / math.sqrt((k + 1000 - 1000) / 1000) for k in ks]
    np.testing.assert_allclose(got, hf, rtol=1e-12, atol=0)
    assert got[4] == pytest.approx(math.sqrt(0.5), rel=1e-15)


def test_warp_half_is_the_wsd_1_sqrt_decay():
    """HF get_wsd_schedule decay_type '1-sqrt', min_lr_ratio m: m + (1 - m) * (1 - sqrt(p)) times the peak."""
    spec = _load("lr: {kind: linear, start: 2.0, end: 0.2, warp: 0.5, duration: 100}\n")
    ks = np.arange(0, 110)
    got = schedspec.evaluate(spec, ks, dtype="float64")
    p = np.minimum(ks, 100) / 100
    want = 2.0 * (0.1 + 0.9 * (1 - np.sqrt(p)))
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    assert got[0] == 2.0 and (got[100:] == 0.2).all()


def test_warp_is_timm_k_decay_cosine():
    """timm CosineLRScheduler k_decay: lr_min + 0.5 * (lr - lr_min) * (1 + cos(pi * t**k / T**k))."""
    spec = _load("lr: {kind: cosine, start: 0.5, end: 0.01, warp: 1.7, duration: 30}\n")
    ks = np.arange(31)
    got = schedspec.evaluate(spec, ks, dtype="float64")
    want = 0.01 + 0.5 * (0.5 - 0.01) * (1 + np.cos(np.pi * ks**1.7 / 30**1.7))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_tanh_is_timm_tanh_and_holds_its_end():
    spec = _load("lr: {kind: tanh, start: 0.4, end: 0.01, lb: -7, ub: 3, duration: 50}\n")
    ks = np.arange(0, 60)
    got = schedspec.evaluate(spec, ks, dtype="float64")
    tr = np.minimum(ks, 50) / 50
    want = 0.01 + 0.5 * (0.4 - 0.01) * (1 - np.tanh(-7 * (1 - tr) + 3 * tr))
    np.testing.assert_allclose(got[:50], want[:50], rtol=1e-12)
    assert (got[50:] == 0.01).all()  # timm: from the cycle's end on, lr_min


def test_a_300b_token_cosine_compiles_to_steps():
    """300B tokens at 2**21 tokens per step (the token counts are far beyond 2**31, the steps are not)."""
    tps = 2**21
    spec = _load(f"tokens_per_step: {tps}\ntotal: {300 * 2**30 * 1024}tok\nlr:\n"
                 f"  - {{kind: linear, start: 0.0, end: 3e-4, duration: {375 * tps}tok}}\n"
                 "  - {kind: cosine, end: 3e-5}\n")  # fmt: skip
    steps = 300 * 2**30 * 1024 // tps
    assert spec.program.total == steps < 2**31
    same = _load(f"total: {steps}\nlr:\n  - {{kind: linear, start: 0.0, end: 3e-4, duration: 375}}\n"
                 "  - {kind: cosine, end: 3e-5}\n")  # fmt: skip
    assert spec.fingerprint == same.fingerprint
    ks = [0, 374, 375, 376, steps - 1, steps, steps + 1]
    np.testing.assert_array_equal(schedspec.evaluate(spec, ks, dtype="float64"),
                                  schedspec.evaluate(same, ks, dtype="float64"))  # fmt: skip


def test_token_durations_that_are_not_whole_steps_are_positioned_errors():
    errs = _errors("tokens_per_step: 4000000\nlr:\n  - {kind: linear, start: 0.0, end: 1.0, duration: 375e6tok}\n"
                   "  - {kind: constant}\n")  # fmt: skip
    assert errs == ["x.yaml:4:52: duration '375e6tok' is 93.75 steps at tokens_per_step 4000000, not a whole number of "
                    "steps; never rounded: choose a value that divides evenly"]  # fmt: skip
    errs = _errors("lr: {kind: linear, start: 0.0, end: 1.0, duration: 1e9tok}\n")
    assert len(errs) == 1 and errs[0].startswith("x.yaml:2:") and "needs `tokens_per_step`" in errs[0]


def test_bad_new_parameters_are_positioned():
    errs = _errors("lr: {kind: tanh, start: 1.0, lb: 2, ub: 1, duration: 10}\n")
    assert len(errs) == 1 and errs[0].startswith("x.yaml:2:") and "`ub` (1) must be greater than `lb` (2)" in errs[0]
    errs = _errors("lr: {kind: polynomial, start: 1.0, cycle: true, warp: 0.5, duration: 10}\n")
    assert len(errs) == 1 and errs[0].startswith("x.yaml:2:") and "`warp` is not supported with `cycle: true`" in errs[0]
    errs = _errors("lr: {kind: linear, start: 1.0, end: 0.0, warp: 0, duration: 10}\n")
    assert len(errs) == 1 and errs[0].startswith("x.yaml:2:") and "must be > 0" in errs[0]
    errs = _errors("lr: {kind: tanh, start: 1.0}\n")
    assert len(errs) == 1 and "`tanh` needs a `duration`" in errs[0]


def test_defaults_leave_fingerprints_unchanged():
    """warp 1 and shift 0 are left out of the canonical form: specs that do not use them keep their fingerprint."""
    a = _load("lr: [{kind: linear, start: 0.0, end: 1.0, duration: 5}, {kind: inverse_sqrt, timescale: 5}]\n")
    b = _load("lr: [{kind: linear, start: 0.0, end: 1.0, duration: 5, warp: 1}, {kind: inverse_sqrt, timescale: 5}]\n")
    c = _load("lr: [{kind: linear, start: 0.0, end: 1.0, duration: 5, warp: 0.5}, {kind: inverse_sqrt, timescale: 5}]\n")
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert "warp" not in a.canonical_json() and "shift" not in a.canonical_json()
