"""The array namespaces the shared formulas (:mod:`schedspec.formulas`) run on.

:class:`MathXP` (Python scalars, float64: the torch path and constant folding), :class:`NumpyXP` (numpy,
float64: ``check`` and the torch adapter's blocks), :class:`JaxXP` (``jax.numpy``: ``evaluate``, ``to_jax``, optax)
and :class:`KerasXP` (``keras.ops``: the Keras adapter). Each gives the same small vocabulary (``where``,
``minimum``, ``floordiv``, ``take``, ``count_le``, ``cos_weight``, ...) with integer arithmetic before any float
conversion. Emitted modules copy one of these classes verbatim (``schedspec/_emit/_source.py``), so a class may use
only ``math`` at module level and the formulas module's helpers; numpy, jax and keras are imported inside methods.
"""

from __future__ import annotations

import math

from .formulas import SMALL_TABLE, _is_num, corrected_power, direct_table, number_table


# ------------------------------------------------------------------------------------------------ backends
class MathXP:
    """Python scalars (float64): the torch path and constant folding. ``t`` is a Python int or float."""

    scalar = True
    divide = True  # `halves` divides (no compiler rewrites a division here)
    f = staticmethod(float)
    minimum = staticmethod(min)
    maximum = staticmethod(max)
    sin = staticmethod(math.sin)
    expm1 = staticmethod(math.expm1)
    log1p = staticmethod(math.log1p)
    sqrt = staticmethod(math.sqrt)

    @staticmethod
    def where(c, a, b):
        return a if c else b

    @staticmethod
    def floordiv(a, b):
        return a // b

    @staticmethod
    def mod(a, b):
        return a % b

    @staticmethod
    def power(a, b):
        """``a ** b`` in float64; inf where it overflows (as numpy and jax.numpy), never ``OverflowError``."""
        try:
            return float(a) ** float(b)
        except OverflowError:
            return math.inf

    @staticmethod
    def full_like(t, v):
        return float(v)

    @staticmethod
    def take(values, i):
        return values[int(i)]

    @staticmethod
    def table(items):
        """A constant table (ascending thresholds or values) for :meth:`take` and :meth:`count_le`: a tuple."""
        return tuple(items)

    @staticmethod
    def count_le(thresholds, t):
        """``#{x in thresholds : x <= t}`` for ascending ``thresholds`` (a repeated one counts twice): a binary
        search (``bisect_right``), O(log n) whatever the number of points or milestones."""
        lo, hi = 0, len(thresholds)
        while lo < hi:
            mid = (lo + hi) // 2
            if thresholds[mid] <= t:
                lo = mid + 1
            else:
                hi = mid
        return lo

    @staticmethod
    def out(v, t):
        return float(v)

    @staticmethod
    def scan(f, init, xs):
        """``jax.lax.scan`` as a Python loop: the stacked outputs (a list)."""
        carry, ys = init, []
        for x in zip(*xs, strict=True):
            carry, y = f(carry, x)
            ys.append(y)
        return ys

    @staticmethod
    def arange(n):
        return range(n)

    @staticmethod
    def prepend(x, ys):
        return [x, *ys]

    @staticmethod
    def index(values, i):
        return values[int(i)]


class NumpyXP:
    """numpy float64 arrays (``check``, the numpy reference path, to_torch's blocks)."""

    scalar = False
    divide = True  # as MathXP, to the last bit

    def __init__(self):
        import numpy as np

        self.np = np
        self.minimum, self.maximum, self.where = np.minimum, np.maximum, np.where
        self.floordiv, self.mod, self.sin, self.sqrt, self.power = np.floor_divide, np.mod, np.sin, np.sqrt, np.power
        self.expm1, self.log1p = np.expm1, np.log1p

    def f(self, x):
        return self.np.asarray(x, dtype=self.np.float64)

    def full_like(self, t, v):
        return self.np.broadcast_to(self.np.asarray(v, dtype=self.np.float64), self.np.shape(t))

    def table(self, items):
        """A constant table: one int64 (all ints) or float64 array, built once (see :func:`number_table`)."""
        return number_table(self.np, items)

    def take(self, values, i):
        if not isinstance(values, self.np.ndarray):
            values = self.np.stack([self.np.asarray(v) for v in values])
        return values[i]

    def count_le(self, thresholds, t):
        """``#{x in thresholds : x <= t}`` for ascending ``thresholds``: ``searchsorted`` (side right)."""
        arr = thresholds if isinstance(thresholds, self.np.ndarray) else self.np.stack([self.np.asarray(x) for x in thresholds])
        return self.np.searchsorted(arr, t, side="right")

    def out(self, v, t):
        return self.np.broadcast_to(self.f(v), self.np.shape(t))

    scan = staticmethod(MathXP.scan)

    def arange(self, n):
        return self.np.arange(n)

    def prepend(self, x, ys):
        return self.np.asarray([x, *ys], dtype=self.np.float64)

    def index(self, values, i):
        return self.np.asarray(values, dtype=self.np.float64)[i]


class JaxXP:
    """``jax.numpy`` in the ambient float dtype (float32, or float64 under x64)."""

    scalar = False

    def __init__(self):
        import jax.numpy as jnp

        self.jnp = jnp
        self.dtype = jnp.zeros(()).dtype  # float32, or float64 when x64 is on
        self.fast = self.dtype == jnp.float32
        if not self.fast:  # float64: jnp.sin (the polynomial is float32-accurate only)
            self.cos_weight = None
        self.minimum, self.maximum, self.where = jnp.minimum, jnp.maximum, jnp.where
        self.floordiv, self.mod, self.sin, self.sqrt = jnp.floor_divide, jnp.mod, jnp.sin, jnp.sqrt
        self.expm1, self.log1p = jnp.expm1, jnp.log1p

    def power(self, a, b):
        """``a ** b``; in float32, a Python-number base float32 cannot hold (``gamma: 0.999``) is corrected
        (:func:`corrected_power`), so that ``gamma ** k`` keeps float32 accuracy for every k."""
        if self.fast:
            return corrected_power(self.jnp.power, self.jnp.exp, a, b)
        return self.jnp.power(a, b)

    def f(self, x):
        return self.jnp.asarray(x).astype(self.dtype)

    def full_like(self, t, v):
        return self.jnp.broadcast_to(self.jnp.asarray(v, dtype=self.dtype), self.jnp.shape(t))

    def table(self, items):
        """A constant table: a numpy array (int64 or float64), one constant of the traced program (not one per
        item), cast to the ambient dtypes where it is used."""
        import numpy as np

        return number_table(np, items)

    def _array(self, values):
        """``values`` as one array: a constant table (or a tuple of Python numbers, e.g. an emitted module's data
        table) becomes ONE constant in the ambient int or float dtype, whatever its length; traced items are
        stacked."""
        import numpy as np

        jnp = self.jnp
        if not isinstance(values, np.ndarray) and all(_is_num(v) for v in values):
            values = number_table(np, values)
        if isinstance(values, np.ndarray):
            ints = values.dtype.kind in "iu"
            wide = self.dtype == jnp.float64
            return jnp.asarray(values, dtype=(jnp.int64 if wide else jnp.int32) if ints else self.dtype)
        return jnp.stack([jnp.asarray(v) for v in values])

    def take(self, values, i):
        """``values[i]`` for indices known to be in range: ``mode="clip"`` (the default ``"fill"`` checks every
        index and is several times slower on CPU)."""
        if not isinstance(values, (list, tuple)) or len(values) > SMALL_TABLE:
            return self.jnp.take(self._array(values), i, mode="clip")
        return self.jnp.take(self.jnp.stack([self.jnp.asarray(v) for v in values]), i, mode="clip")

    def count_le(self, thresholds, t):
        """``#{x in thresholds : x <= t}`` for ascending ``thresholds``: up to :data:`SMALL_TABLE` of them, one
        comparison each (unrolled); beyond, a binary search in one constant array (``searchsorted``): the traced
        program does not grow with the number of points or milestones."""
        jnp = self.jnp
        if isinstance(thresholds, (list, tuple)) and len(thresholds) <= SMALL_TABLE:
            out = (t >= thresholds[0]).astype(jnp.int32)
            for x in thresholds[1:]:
                out = out + (t >= x).astype(jnp.int32)
            return out
        integer = jnp.issubdtype(jnp.result_type(t), jnp.integer)
        direct = direct_table(thresholds, integer, self.dtype == jnp.float64)
        if direct is not None:  # one gather: the count at every integer time up to the last threshold
            table, last = direct
            return jnp.take(jnp.asarray(table), jnp.clip(t, 0, last), mode="clip")
        arr = self._array(thresholds)
        return jnp.searchsorted(arr, t, side="right", method="scan").astype(jnp.int32)

    def out(self, v, t):
        return self.jnp.broadcast_to(self.f(v), self.jnp.shape(t))

    def scan(self, f, init, xs):
        """``jax.lax.scan(f, init, xs)``: the stacked outputs."""
        from jax import lax

        return lax.scan(f, init, xs)[1]

    def arange(self, n):
        return self.jnp.arange(n)

    def prepend(self, x, ys):
        return self.jnp.concatenate([self.jnp.reshape(self.f(x), (1,)), self.f(ys)])

    def index(self, values, i):
        return self.jnp.asarray(values)[i]

    def cos_weight(self, q):
        """``sin(pi q / 2) ** 2`` for q in [0, 1/2] in float32 (see :func:`cos_weight`): ``q**2 * P(q**2)``.

        ``P`` (degree 4) is a weighted least-squares fit of ``sin(pi q / 2) ** 2 / q**2`` on Chebyshev nodes, in
        float64, for relative error, with ``P(1/4) = 2``. The result is exactly 0 at q = 0 (a factor ``q**2``),
        exactly 1/2 at q = 1/2 (the products by ``q**2 = 1/4`` are exact there, with or without fused
        multiply-adds), and within 1.8e-7 relative of the exact value over [0, 1/2] in float32 (XLA's
        ``(1 - cos(pi q)) / 2``: no relative precision near 0); about 2x faster than ``jnp.sin`` on CPU.
        """
        s = q * q
        acc = _COS_WEIGHT_COEFS[-1]
        for c in _COS_WEIGHT_COEFS[-2::-1]:
            acc = acc * s + c
        return s * acc


# sin(pi q / 2)**2 / q**2 = sum c_i q**(2i) on [0, 1/2], fitted in float64 with sum c_i / 4**i = 2, then rounded to
# float32 (c_1 one ulp off) so that the float32 evaluation at q = 1/2 is exactly 1/2 (see JaxXP.cos_weight)
_COS_WEIGHT_COEFS = (
    2.4674010276794434, -2.029355525970459, 0.6676186323165894, -0.11752796173095703, 0.01229370478540659,
)  # fmt: skip


class KerasXP:
    """``keras.ops`` (any Keras 3 backend: jax, torch, tensorflow), float32 by default: the Keras adapter.

    ``t`` is an int32 tensor (the optimizer's step, cast to int32 before anything else), so ``t - begin``,
    ``t // every`` and ``t % period`` are exact integer operations; floats appear only after them.
    """

    scalar = False

    def __init__(self, dtype: str = "float32"):
        from keras import ops

        self.ops = ops
        self.dtype = dtype
        self.minimum, self.maximum, self.where = ops.minimum, ops.maximum, ops.where
        self.floordiv, self.mod, self.sin, self.sqrt = ops.floor_divide, ops.mod, ops.sin, ops.sqrt
        self.expm1, self.log1p = ops.expm1, ops.log1p

    def f(self, x):
        """``x`` as a float tensor (after the integer arithmetic)."""
        return self.ops.cast(x, self.dtype)

    def power(self, a, b):
        """``a ** b`` in the float dtype (a Python base such as ``gamma`` stays a float, never an int power); in
        float32 a Python-number base is corrected for its rounding (:func:`corrected_power`)."""
        ops = self.ops

        def pow_dtype(a, b):
            if isinstance(a, (int, float)) and not isinstance(a, bool):
                a = ops.convert_to_tensor(float(a), dtype=self.dtype)
            if isinstance(b, (int, float)) and not isinstance(b, bool):
                b = ops.convert_to_tensor(float(b), dtype=self.dtype)
            return ops.power(ops.cast(a, self.dtype), ops.cast(b, self.dtype))

        if self.dtype == "float32":
            return corrected_power(pow_dtype, ops.exp, a, b)
        return pow_dtype(a, b)

    def full_like(self, t, v):
        return self.ops.broadcast_to(self.ops.cast(v, self.dtype), self.ops.shape(t))

    def table(self, items):
        """A constant table: a numpy array (int64 or float64), converted where it is used (int32 / float dtype)."""
        import numpy as np

        return number_table(np, items)

    def _array(self, values):
        """``values`` as one tensor: ints as int32 (step offsets), anything else in the float dtype; a table (or
        a tuple of Python numbers) is one constant whatever its length."""
        import numpy as np

        ops = self.ops
        if not isinstance(values, np.ndarray) and all(_is_num(v) for v in values):
            values = number_table(np, values)
        if isinstance(values, np.ndarray):
            return ops.convert_to_tensor(values, dtype="int32" if values.dtype.kind in "iu" else self.dtype)
        return ops.stack([ops.cast(v, self.dtype) for v in values])

    def take(self, values, i):
        """``values[i]``: Python ints stay int32 (step offsets), anything else becomes the float dtype."""
        return self.ops.take(self._array(values), i)

    def count_le(self, thresholds, t):
        """``#{x in thresholds : x <= t}`` as int32 for ascending ``thresholds`` (a repeated threshold counts
        twice): one comparison each up to :data:`SMALL_TABLE`, beyond a ``searchsorted`` in one constant."""
        ops = self.ops
        if isinstance(thresholds, (list, tuple)) and len(thresholds) <= SMALL_TABLE:
            out = ops.cast(ops.greater_equal(t, thresholds[0]), "int32")
            for x in thresholds[1:]:
                out = out + ops.cast(ops.greater_equal(t, x), "int32")
            return out
        from keras import backend

        direct = direct_table(thresholds, "int" in backend.standardize_dtype(getattr(t, "dtype", "float32")))
        if direct is not None:  # one gather: the count at every integer time up to the last threshold
            table, last = direct
            return ops.take(ops.convert_to_tensor(table, dtype="int32"), ops.clip(t, 0, last))
        arr = self._array(thresholds)
        return ops.cast(ops.searchsorted(arr, ops.cast(t, arr.dtype), side="right"), "int32")

    def out(self, v, t):
        return self.full_like(t, v)

    def scan(self, f, init, xs):
        """``keras.ops.scan(f, init, xs)``: the stacked outputs."""
        return self.ops.scan(f, init, xs)[1]

    def arange(self, n):
        return self.ops.arange(n)

    def prepend(self, x, ys):
        ops = self.ops
        return ops.concatenate([ops.reshape(ops.cast(x, self.dtype), (1,)), ops.cast(ys, self.dtype)])

    def index(self, values, i):
        return self.ops.take(values, i)
