"""schedspec/backends.py, mutation pass (issue 14, item 1): each array namespace's vocabulary, method by method,
eagerly (no compiled program: a test costs milliseconds, so the jax and keras.ops classes can be mutation-tested
too). Expected values come from Python's own arithmetic (``bisect``, ``math``), numpy's float32 rounding, or are
worked by hand from the docstrings; dtypes are the ones the docstrings promise.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
import pytest

from schedspec import backends as B
from schedspec import formulas as F

jax = pytest.importorskip("jax")
jnp = jax.numpy
keras = pytest.importorskip("keras")

SMALL = [0, 2, 2, 5]  # a repeated threshold counts twice
LARGE = list(range(0, 60, 3))  # 20 > SMALL_TABLE thresholds, dense: a direct table
SPARSE = [i * 10_000 for i in range(20)]  # 20 thresholds 10,000 apart: too sparse for a direct table
FLOATS = [0.5 * i for i in range(20)]  # float thresholds: a binary search
TIMES = [0, 1, 2, 3, 4, 5, 6, 29, 30, 57, 58, 59, 60, 1000, 9_999, 10_000, 10_001, 190_000, 2**31 - 1]


def _expected(thresholds, t):
    return bisect.bisect_right(thresholds, t)


def _xps():
    return [("jax", B.JaxXP()), ("keras", B.KerasXP())]


# ------------------------------------------------------------------ MathXP
def test_math_power_is_float64_and_inf_where_it_overflows():
    assert B.MathXP.power(2, 3) == 8.0 and isinstance(B.MathXP.power(2, 3), float)
    assert B.MathXP.power(0.5, 0.5) == math.sqrt(0.5)
    assert B.MathXP.power(10.0, 400) == math.inf


@pytest.mark.parametrize("thresholds", [SMALL, LARGE, SPARSE, FLOATS, [3]])
def test_math_count_le_is_bisect_right(thresholds):
    table = B.MathXP.table(thresholds)
    assert table == tuple(thresholds)
    assert [B.MathXP.count_le(table, t) for t in TIMES + [2.5, -1]] == [_expected(thresholds, t) for t in TIMES + [2.5, -1]]


def test_math_small_vocabulary():
    xp = B.MathXP
    assert (xp.where(True, 1, 2), xp.where(False, 1, 2), xp.where(0, 1, 2)) == (1, 2, 2)
    assert (xp.floordiv(7, 2), xp.mod(7, 3), xp.floordiv(-7, 2)) == (3, 1, -4)
    assert xp.full_like(5, 3) == 3.0 and isinstance(xp.full_like(5, 3), float)
    assert xp.take((10, 20, 30), 2.0) == 30 and xp.index([1.5, 2.5], np.int64(1)) == 2.5
    assert xp.out(3, 0) == 3.0 and isinstance(xp.out(np.float32(3), 0), float)
    assert list(xp.arange(3)) == [0, 1, 2] and xp.prepend(1.0, [2.0, 3.0]) == [1.0, 2.0, 3.0]
    assert xp.scan(lambda c, x: (c + x[0] * x[1], c), 10, ([1, 2, 3], [4, 5, 6])) == [10, 14, 24]
    with pytest.raises(ValueError):  # the streams have the same length by construction: a mismatch is a bug
        xp.scan(lambda c, x: (c, c), 0, ([1, 2], [1]))


# ------------------------------------------------------------------ NumpyXP
def test_numpy_vocabulary_is_float64():
    xp = B.NumpyXP()
    assert xp.f(3).dtype == np.float64 and xp.f(np.float32(0.1)) == np.float64(np.float32(0.1))
    full = xp.full_like(np.arange(4), 2)
    assert full.dtype == np.float64 and full.tolist() == [2.0] * 4
    assert xp.full_like(5, 1.5).shape == ()
    assert xp.table([1, 2]).dtype == np.int64 and xp.table([1, 2.5]).dtype == np.float64
    out = xp.out(1, np.arange(3))
    assert out.dtype == np.float64 and out.tolist() == [1.0, 1.0, 1.0]
    pre = xp.prepend(1, [2, 3])
    assert pre.dtype == np.float64 and pre.tolist() == [1.0, 2.0, 3.0]
    idx = xp.index([1, 2, 3], np.array([2, 0]))
    assert idx.dtype == np.float64 and idx.tolist() == [3.0, 1.0]
    assert xp.arange(3).tolist() == [0, 1, 2]
    assert xp.take([np.array(1.0), np.array(2.0)], np.array([1, 0, 1])).tolist() == [2.0, 1.0, 2.0]
    assert xp.take(np.array([5, 6]), 1) == 6
    assert (xp.floordiv(7, 2), xp.mod(7, 3), xp.power(2.0, 3)) == (3, 1, 8.0)


@pytest.mark.parametrize("thresholds", [SMALL, LARGE, SPARSE, FLOATS])
def test_numpy_count_le_is_bisect_right(thresholds):
    xp = B.NumpyXP()
    t = np.array(TIMES)
    want = [_expected(thresholds, int(x)) for x in TIMES]
    assert xp.count_le(xp.table(thresholds), t).tolist() == want
    assert xp.count_le(list(thresholds), t).tolist() == want  # a list of numbers (a sweep's array items)


# ------------------------------------------------------------------ JaxXP, KerasXP (eager, float32)
@pytest.mark.parametrize("thresholds", [SMALL, LARGE, SPARSE, FLOATS, [7]])
def test_count_le_of_the_float32_backends_is_bisect_right_as_int32(thresholds):
    for name, xp in _xps():
        table = xp.table(thresholds) if len(thresholds) > F.SMALL_TABLE else list(thresholds)
        t = jnp.asarray(TIMES, dtype=jnp.int32) if name == "jax" else keras.ops.convert_to_tensor(TIMES, "int32")
        got = xp.count_le(table, t)
        assert np.asarray(got).tolist() == [_expected(thresholds, x) for x in TIMES], name
        assert str(got.dtype) == "int32", name


def test_count_le_of_the_float32_backends_at_a_float_time():
    """A stretched repeat's float time: no direct table (it needs integer times), a binary search."""
    for name, xp in _xps():
        t = [0.0, 2.5, 3.0, 44.9, 45.0, 100.0]
        tt = jnp.asarray(t, dtype=jnp.float32) if name == "jax" else keras.ops.convert_to_tensor(t, "float32")
        got = xp.count_le(xp.table(LARGE), tt)
        assert np.asarray(got).tolist() == [_expected(LARGE, x) for x in t], name


@pytest.mark.parametrize("values", [[0.5, 0.25, 0.125], [0.1 * i for i in range(20)], [3, 7, 11],
                                    list(range(0, 100, 5))])
def test_take_of_the_float32_backends(values):
    """``values[i]``: ints stay int32 (step offsets), floats in float32, whether the table is short (a stack) or
    long (one constant)."""
    i = [0, len(values) - 1, 1]
    ints = all(isinstance(v, int) for v in values)
    for name, xp in _xps():
        table = xp.table(values) if len(values) > F.SMALL_TABLE else tuple(values)
        idx = jnp.asarray(i) if name == "jax" else keras.ops.convert_to_tensor(i, "int32")
        got = xp.take(table, idx)
        want = [values[j] for j in i]
        if ints and (name == "keras" or len(values) > F.SMALL_TABLE):
            assert str(got.dtype) == "int32" and np.asarray(got).tolist() == want, name
        else:
            assert np.asarray(got, dtype=np.float64).tolist() == [float(np.float32(v)) for v in want], name


def test_take_of_traced_items_stacks_them():
    for name, xp in _xps():
        items = [jnp.float32(0.5), jnp.float32(0.25)] if name == "jax" else [keras.ops.convert_to_tensor(0.5),
                                                                             keras.ops.convert_to_tensor(0.25)]
        items = items * 9  # 18 > SMALL_TABLE
        got = xp.take(items, jnp.asarray([1, 16]) if name == "jax" else keras.ops.convert_to_tensor([1, 16]))
        assert np.asarray(got).tolist() == [0.25, 0.5], name


@pytest.mark.parametrize("a, b", [(0.999, 1000), (0.9, 25), (0.5, 3), (2, 10)])
def test_power_of_the_float32_backends_keeps_float32_accuracy(a, b):
    """``gamma ** k`` within a few float32 ulps of the exact value (float64 here), for a base float32 cannot
    hold; the result is float32."""
    exact = a**b
    for name, xp in _xps():
        k = jnp.asarray(b, dtype=jnp.int32) if name == "jax" else keras.ops.convert_to_tensor(b, "int32")
        got = xp.power(a, xp.f(k))
        assert str(got.dtype) == "float32", name
        assert abs(float(got) - exact) <= 4e-7 * exact, (name, float(got), exact)


def test_power_of_the_float32_backends_takes_arrays_of_bases_and_exponents():
    """A sweep's gammas (an array base) raised to an array of steps, elementwise, in float32."""
    a, b = [0.5, 0.9, 0.999], [3, 25, 1000]
    for name, xp in _xps():
        conv = (lambda v, d: jnp.asarray(v, dtype=d)) if name == "jax" else keras.ops.convert_to_tensor
        got = np.asarray(xp.power(conv(a, "float32"), conv(b, "float32")), dtype=np.float64)
        want = [float(np.float32(x) ** np.float32(y)) for x, y in zip(a, b)]
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=0, err_msg=name)


def test_jax_cos_weight_is_sin_squared_within_float32_and_exact_at_its_ends():
    xp = B.JaxXP()
    q = np.linspace(0.0, 0.5, 101)
    got = np.asarray(xp.cos_weight(jnp.asarray(q, dtype=jnp.float32)), dtype=np.float64)
    want = np.sin(np.pi * np.float32(q).astype(np.float64) / 2) ** 2
    np.testing.assert_allclose(got[1:], want[1:], rtol=3e-7, atol=0)
    assert got[0] == 0.0 and got[-1] == 0.5


def test_jax_vocabulary_is_the_ambient_float32():
    xp = B.JaxXP()
    assert xp.dtype == jnp.float32 and xp.fast
    assert xp.f(3).dtype == jnp.float32
    full = xp.full_like(jnp.arange(3), 2)
    assert full.dtype == jnp.float32 and np.asarray(full).tolist() == [2.0] * 3
    assert xp.table([1, 2]).dtype == np.int64 and xp.table([1.5]).dtype == np.float64
    out = xp.out(1.5, jnp.arange(2))
    assert out.dtype == jnp.float32 and np.asarray(out).tolist() == [1.5, 1.5]
    pre = xp.prepend(1, jnp.asarray([2, 3]))
    assert pre.dtype == jnp.float32 and np.asarray(pre).tolist() == [1.0, 2.0, 3.0]
    assert float(xp.index([1.5, 2.5], 1)) == 2.5 and np.asarray(xp.arange(3)).tolist() == [0, 1, 2]
    ys = xp.scan(lambda c, x: (c + x[0], c), jnp.float32(1), (jnp.asarray([1.0, 2.0]),))
    assert np.asarray(ys).tolist() == [1.0, 2.0]
    assert (int(xp.floordiv(7, 2)), int(xp.mod(7, 3))) == (3, 1)


def test_jax_float64_uses_sin_and_the_plain_power():
    with jax.enable_x64(True):
        xp = B.JaxXP()
        assert xp.dtype == jnp.float64 and not xp.fast and xp.cos_weight is None
        assert float(xp.power(0.999, 1000.0)) == pytest.approx(0.999**1000, rel=1e-13)
        got = xp.count_le(xp.table(LARGE), jnp.asarray([4, 44], dtype=jnp.int64))
        assert got.dtype == jnp.int64 and np.asarray(got).tolist() == [2, 15]  # a wide direct table
        assert xp.take(xp.table(list(range(0, 100, 5))), jnp.asarray([3])).dtype == jnp.int64


def test_keras_vocabulary_is_float32_by_default_and_follows_its_dtype():
    ops = keras.ops
    xp = B.KerasXP()
    assert xp.dtype == "float32"
    assert str(xp.f(ops.convert_to_tensor(3, "int32")).dtype) == "float32"
    full = xp.full_like(ops.arange(3), 2.0)
    assert str(full.dtype) == "float32" and np.asarray(full).tolist() == [2.0] * 3
    assert np.asarray(xp.out(1.5, ops.arange(2))).tolist() == [1.5, 1.5]
    pre = xp.prepend(1, ops.convert_to_tensor([2, 3]))
    assert str(pre.dtype) == "float32" and np.asarray(pre).tolist() == [1.0, 2.0, 3.0]
    assert float(xp.index(ops.convert_to_tensor([1.5, 2.5]), 1)) == 2.5
    assert np.asarray(xp.arange(3)).tolist() == [0, 1, 2]
    ys = xp.scan(lambda c, x: (c + x, c), ops.convert_to_tensor(1.0), ops.convert_to_tensor([1.0, 2.0]))
    assert np.asarray(ys).tolist() == [1.0, 2.0]
    with jax.enable_x64(True):  # keras on jax holds float64 only under x64
        x64 = B.KerasXP("float64")
        assert str(x64.f(1).dtype) == "float64"
        assert float(x64.power(0.999, 1000)) == pytest.approx(0.999**1000, rel=1e-13)
        assert str(x64.power(2, 3).dtype) == "float64" and float(x64.power(2, 3)) == 8.0
        assert str(x64.full_like(ops.arange(2), 0.1).dtype) == "float64"
        assert np.asarray(x64.full_like(ops.arange(2), 0.1)).tolist() == [0.1, 0.1]  # not float32's 0.1
        pre = x64.prepend(0.1, ops.convert_to_tensor([0.2], "float32"))
        assert str(pre.dtype) == "float64" and np.asarray(pre).tolist() == [0.1, float(np.float32(0.2))]
        pre = x64.prepend(0.1, ops.convert_to_tensor([0.2], "float64"))
        assert str(pre.dtype) == "float64" and np.asarray(pre).tolist() == [0.1, 0.2]


def test_keras_power_rounds_a_python_number_once_into_its_dtype():
    """A Python base or exponent becomes the namespace's dtype directly (one rounding from float64, numpy's),
    never through the ambient float32 first. float16 (a dtype the Keras adapter takes): 1 + 2**-11 + 2**-40 is
    just above the midpoint of float16's 1 and 1 + 2**-10, so it rounds up; float32 would first round it to the
    midpoint itself, which float16 then rounds to even, 1.0. float64 (under x64): a fractional exponent, 0.9, is
    not rounded to float32 (a relative error of 2e-8 in ``0.5 ** 0.9``)."""
    x = 1 + 2**-11 + 2**-40
    assert float(np.float16(x)) == 1 + 2**-10 and float(np.float16(np.float32(x))) == 1.0
    xp = B.KerasXP("float16")
    base = xp.power(x, 1)
    assert str(base.dtype) == "float16" and float(base) == 1 + 2**-10
    exponent = xp.power(2, x)  # 2 ** (1 + 2**-10) = 2.00135..., nearest float16 2 + 2**-9
    assert str(exponent.dtype) == "float16" and float(exponent) == float(np.float16(2 ** (1 + 2**-10))) == 2 + 2**-9
    with jax.enable_x64(True):
        x64 = B.KerasXP("float64")
        got = x64.power(0.5, 0.9)
        assert str(got.dtype) == "float64" and float(got) == pytest.approx(0.5**0.9, rel=1e-15, abs=0)


def test_jax_take_clips_an_index_past_either_end_never_nan():
    """``mode="clip"`` (the docstring's): an index past the end gives the last value and a negative one the first,
    on the long path (one constant) as on the short one (stacked items); ``"fill"`` would give NaN (and wrap -1)."""
    xp = B.JaxXP()
    for values in (tuple(float(i) for i in range(20)), xp.table([float(i) for i in range(20)]), (0.0, 1.0, 19.0)):
        got = np.asarray(xp.take(values, jnp.asarray([0, 19 if len(values) == 20 else 2, 20, 25, -1])))
        assert got.tolist() == [0.0, 19.0, 19.0, 19.0, 0.0]


def _int32(name, values):
    return jnp.asarray(values, dtype=jnp.int32) if name == "jax" else keras.ops.convert_to_tensor(values, "int32")


@pytest.mark.parametrize("thresholds", [list(range(1, 41)), [i * 100_000_000 for i in range(20)] + [2**31 - 2]])
def test_count_le_of_the_float32_backends_at_step_0_and_at_the_last_int32_steps(thresholds):
    """A dense table whose first threshold is 1 (the count at step 0 is 0: the gather starts at index 0), and
    sparse int thresholds up to 2**31-2 (a binary search in int32: the time is never rounded to float32, where
    2**31-3 would become 2**31)."""
    times = [0, 1, 40, 41, 100_000_000, 2**31 - 3, 2**31 - 2, 2**31 - 1]
    for name, xp in _xps():
        got = xp.count_le(xp.table(thresholds), _int32(name, times))
        assert np.asarray(got).tolist() == [_expected(thresholds, t) for t in times], name


def test_keras_count_le_at_a_python_int_time():
    """A time that is a Python int (no dtype: not an integer tensor, so a binary search) counts as bisect does."""
    xp = B.KerasXP()
    for thresholds in (LARGE, SPARSE):
        assert [int(xp.count_le(xp.table(thresholds), t)) for t in (0, 5, 10_000, 2**31 - 1)] == [
            _expected(thresholds, t) for t in (0, 5, 10_000, 2**31 - 1)]


@pytest.mark.parametrize("name", ["jax", "keras"])
def test_count_le_of_a_long_list_does_not_grow_the_traced_program(name):
    """Beyond SMALL_TABLE thresholds, a list (a sweep's array items, or an emitted module's tuple) is one constant
    table: the traced program has as many operations for 20 thresholds as for 2,000 (unrolled, it would grow);
    keras.ops traced by jax on the jax backend."""
    xp = dict(_xps())[name]

    def size(n):
        thresholds = list(range(0, 3 * n, 3))
        return len(jax.make_jaxpr(lambda t: xp.count_le(thresholds, t))(jnp.int32(0)).jaxpr.eqns)

    assert size(20) == size(2000) and size(2000) < 2 * F.SMALL_TABLE
    got = xp.count_le(list(range(0, 60, 3)), _int32(name, TIMES))
    assert np.asarray(got).tolist() == [_expected(LARGE, t) for t in TIMES]


def test_take_of_traced_items_under_jit_stacks_them():
    """Items that are traced (a sweep's array values inside a compiled program) cannot become a numpy table: they
    are stacked, short list or long, on both namespaces."""
    for name, xp in _xps():
        def f(a, i, xp=xp):
            return xp.take([a, a * 2.0] * 9, i)  # 18 > SMALL_TABLE

        got = jax.jit(f)(jnp.float32(0.25), jnp.asarray([0, 1, 17], dtype=jnp.int32))
        assert np.asarray(got).tolist() == [0.25, 0.5, 0.5], name


def test_keras_take_of_a_long_table_is_int32_or_its_float_dtype():
    """``_array``: ints as int32 (step offsets), floats in the namespace's dtype, whatever the ambient default
    (float16 here; int64 and float64 under x64), for a table and for tensor items."""
    ops = keras.ops
    idx = ops.convert_to_tensor([0, 19], "int32")
    half = B.KerasXP("float16")
    got = half.take(half.table([0.1 * i for i in range(20)]), idx)
    assert str(got.dtype) == "float16" and np.asarray(got).tolist() == [0.0, float(np.float16(1.9000000000000001))]
    with jax.enable_x64(True):
        x64 = B.KerasXP("float64")
        ints = x64.take(x64.table(list(range(0, 100, 5))), idx)
        assert str(ints.dtype) == "int32" and np.asarray(ints).tolist() == [0, 95]
        floats = x64.take([ops.convert_to_tensor(0.1, "float64")] * 20, idx)
        assert str(floats.dtype) == "float64" and np.asarray(floats).tolist() == [0.1, 0.1]

