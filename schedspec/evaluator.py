"""``evaluate`` and ``to_jax``: the vectorised JAX evaluator (jax is imported on first use only).

Vars are traced inputs, never constants baked into the program: ``grad`` with respect to a number var works, a
sweep is one ``vmap`` and therefore **one** XLA compilation whatever its size, and ``--set`` does not recompile.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from . import _compile, ir
from ._errors import Issue, SpecError, did_you_mean, require
from ._load import Spec, load
from ._target import contains, hparam_node, used_vars

_DTYPES = ("float32", "float64")


def _spec(spec) -> Spec:
    return spec if isinstance(spec, Spec) else load(spec)


_PLATEAU_WHAT = (
    "by evaluate/to_jax yet: a plateau is driven by metric reports, and metric-driven evaluation is not "
    "implemented yet (remove the plateau phase, or use its `start` as a constant)"
)


def _node(spec: Spec, hparam: str) -> ir.Node:
    """The hparam's IR, or a positioned SpecError (unknown hparam, metric-driven plateau)."""
    node = hparam_node(spec, hparam)
    if contains(node, ir.Plateau):
        raise spec.unsupported("plateau", _PLATEAU_WHAT, hparam)
    return node


def _check_dtype(dtype: str) -> str:
    dtype = str(np.dtype(dtype)) if dtype not in _DTYPES else dtype
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64' (got {dtype!r})")
    return dtype


def _x64(dtype: str):
    """float64 inside, float32 inside: both explicit, so an ambient jax_enable_x64 does not change the dtype."""
    import jax

    return jax.enable_x64(dtype == "float64")


def _core(program: ir.Program, node: ir.Node):
    """``core(k, nums: dict, durs: dict)`` in jax.numpy (traced)."""
    from .formulas import JaxXP

    def core(k, nums, durs):
        xp = JaxXP()
        env = {("num", n): xp.f(v) for n, v in nums.items()} | {("dur", n): v for n, v in durs.items()}
        k = xp.jnp.maximum(xp.jnp.asarray(k, dtype=xp.jnp.int64 if xp.dtype == xp.jnp.float64 else xp.jnp.int32), 0)
        return xp.out(_compile.build(node, xp)(k, env), k)

    return core


def to_jax(spec, hparam: str = "lr", dtype: str = "float32"):
    """A pure JAX function ``fn(k, **vars)`` of the schedule: jit-, vmap- and grad-able.

    ``k`` is an int or an int array (the update index). Each var may be passed as a keyword (a number, or for a
    duration var an int in interval units); scalar vars default to their spec value, sweep vars must be given.

    >>> import schedspec
    >>> fn = schedspec.to_jax({"schedspec": 1, "vars": {"peak": 0.1},
    ...                        "lr": [{"kind": "linear", "duration": 10, "start": 0, "end": "$peak"}]})
    >>> round(float(fn(5)), 6), round(float(fn(5, peak=0.2)), 6)
    (0.05, 0.1)
    """
    spec = _spec(spec)
    dtype = _check_dtype(dtype)
    program = spec.program
    node = _node(spec, hparam)
    nums, durs = used_vars(node)
    core = _core(program, node)
    defaults: dict[str, Any] = {}
    for name in nums | durs:
        v = program.vars[name]
        if not v.sweep:
            defaults[name] = v.raw[0]

    def fn(k, **vars):
        unknown = set(vars) - set(program.vars)
        if unknown:
            name = sorted(unknown)[0]
            raise TypeError(f"unknown var {name!r}{did_you_mean(name, program.vars)}; the spec's vars: {', '.join(program.vars) or '(none)'}")
        import jax.numpy as jnp

        with _x64(dtype):
            values = {**defaults, **vars}
            missing = sorted((nums | durs) - set(values))
            if missing:
                raise TypeError(f"var {missing[0]!r} is a sweep; pass {missing[0]}=... (use jax.vmap to sweep)")
            n_in = {n: values[n] for n in nums}
            d_in = {}
            for n in durs:
                val = values[n]
                if isinstance(val, str):
                    val = program.vars[n].steps[program.vars[n].raw.index(val)] if val in program.vars[n].raw else None
                    if val is None:
                        raise TypeError(f"pass duration var {n!r} as an int number of {program.interval}s")
                d_in[n] = jnp.asarray(val).astype(jnp.int64 if dtype == "float64" else jnp.int32)
            return core(jnp.asarray(k), n_in, d_in)

    fn.__doc__ = f"schedspec schedule {spec.name!r} ({hparam}): fn(k, **vars) -> value"
    return fn


def _as_steps(k, dtype: str) -> np.ndarray:
    arr = np.asarray(k)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.floor(arr)):
            raise ValueError("k must be whole numbers (update indices); got non-integer values")
    elif arr.dtype.kind not in "iu":
        raise ValueError(f"k must be an int or an array of ints, got {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > ir.MAX_STEPS):
        raise ValueError(f"k must be in [0, 2**31-1] (got {arr.min()}..{arr.max()})")
    return arr.astype(np.int64 if dtype == "float64" else np.int32)


@functools.lru_cache(maxsize=256)
def _jitted(program_id: int, hparam: str, dtype: str, sweep: bool, _keep):
    jax = require("jax")
    program, node = _keep
    core = _core(program, node)
    if sweep:
        return jax.jit(jax.vmap(core, in_axes=(None, 0, 0)))
    return jax.jit(core)


def _inputs(program: ir.Program, node: ir.Node, dtype: str):
    nums, durs = used_vars(node)
    members = program.sweep_members()
    sweep = bool(program.sweep_vars) and bool((nums | durs) & set(program.sweep_vars))
    fdt = np.float64 if dtype == "float64" else np.float32
    idt = np.int64 if dtype == "float64" else np.int32

    def column(name, role):
        v = program.vars[name]
        values = v.number if role == "num" else v.steps
        if not v.sweep:
            return np.asarray(values[0], dtype=fdt if role == "num" else idt)
        index = {raw: i for i, raw in enumerate(v.raw)}
        col = [values[index[m[name]]] for m in members]
        return np.asarray(col, dtype=fdt if role == "num" else idt)

    n_in = {n: column(n, "num") for n in sorted(nums)}
    d_in = {n: column(n, "dur") for n in sorted(durs)}
    if sweep:
        size = len(members)
        n_in = {n: np.broadcast_to(a, (size,)) for n, a in n_in.items()}
        d_in = {n: np.broadcast_to(a, (size,)) for n, a in d_in.items()}
    return sweep, n_in, d_in


def evaluate(spec, k, hparam: str = "lr", vars: dict | None = None, metrics: dict | None = None, dtype: str = "float32"):
    """The schedule's values at update index ``k`` (an int or an int array), as a numpy array.

    With sweep lists in ``vars`` (in the spec or given here) the result has a leading sweep axis: the cartesian
    product of the lists, vars in the order written, the last varying fastest (``Spec.program.sweep_members()``).
    ``dtype`` is ``"float32"`` (default) or ``"float64"``.

    >>> import schedspec
    >>> spec = {"schedspec": 1, "lr": {"kind": "step", "start": 0.1, "every": 2, "gamma": 0.5}}
    >>> schedspec.evaluate(spec, [0, 1, 2, 3, 4]).tolist()
    [0.10000000149011612, 0.10000000149011612, 0.05000000074505806, 0.05000000074505806, 0.02500000037252903]
    """
    spec = _spec(spec)
    dtype = _check_dtype(dtype)
    if vars:
        spec = spec.with_vars(vars)
    if metrics is not None:
        raise SpecError(
            [Issue(spec.file, None, None, hparam, "metric-driven evaluation (`plateau`) is not supported yet")]
        )
    node = _node(spec, hparam)
    steps = _as_steps(k, dtype)
    program = spec.program
    with _x64(dtype):
        sweep, n_in, d_in = _inputs(program, node, dtype)
        key = (hparam, dtype, sweep)
        fn = spec._cache.get(key)
        if fn is None:
            fn = _jitted(id(program), hparam, dtype, sweep, _Keep(program, node))
            spec._cache[key] = fn
        out = fn(steps, n_in, d_in)
        return np.asarray(out)


class _Keep(tuple):
    """Holds (program, node) for the lru_cache key without hashing the tree by value."""

    def __new__(cls, program, node):
        return super().__new__(cls, (program, node))

    def __hash__(self):
        return id(self[0]) ^ hash(id(self[1]))

    def __eq__(self, other):
        return isinstance(other, _Keep) and self[0] is other[0] and self[1] is other[1]


def evaluate_numpy(spec_or_program, k, hparam: str = "lr", member: dict | None = None) -> np.ndarray:
    """float64 numpy evaluation of one sweep member (no jax): ``check`` and reference paths."""
    from . import lower
    from .formulas import NumpyXP

    program = spec_or_program.program if isinstance(spec_or_program, Spec) else spec_or_program
    if isinstance(spec_or_program, Spec):
        _node(spec_or_program, hparam)  # clear, positioned errors (unknown hparam, plateau)
    bound = lower.bind(program, member or (program.sweep_members()[0] if program.sweep_vars else None))
    node = bound.hparams[hparam]
    xp = NumpyXP()
    steps = np.asarray(k, dtype=np.int64)
    return np.asarray(xp.out(_compile.build(node, xp)(steps, {}), steps), dtype=np.float64)
