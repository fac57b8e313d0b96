"""``evaluate`` and ``to_jax``: the vectorised JAX evaluator (jax is imported on first use only).

Vars are traced inputs, never constants baked into the program: ``grad`` with respect to a number var works, a
sweep is one ``vmap`` and therefore **one** XLA compilation whatever its size, and ``--set`` does not recompile.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from typing import Any

import numpy as np

from . import _compile, _metrics, _range, ir, language
from ._target import group_node
from .backends import JaxXP, NumpyXP
from .errors import Issue, SpecError, did_you_mean, require
from .lowering import Lowered, _Lowerer, bind
from .spec import Spec, load

_DTYPES = ("float32", "float64")


def _root(hparam: str, group: str | None = None) -> tuple:
    """Where the schedule of ``hparam`` is in the document (for positioned metric errors)."""
    return ("groups", group, hparam) if group is not None else (hparam,)


def _check_dtype(dtype) -> str:
    """``"float32"`` or ``"float64"``: ``dtype`` as numpy spells it (a name such as ``"f4"``, ``np.float32``,
    ``np.dtype("float64")``).

    Raises:
        ValueError: any other dtype, or None (numpy reads None as float64: never guessed here), or something that
            is no dtype at all.
    """
    try:
        name = None if dtype is None else str(np.dtype(dtype))
    except TypeError:  # numpy's "data type 'x' not understood"
        name = None
    if name not in _DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64' (got {name or dtype!r})")
    return name


def _x64(dtype: str):
    """float64 inside, float32 inside: both explicit, so an ambient jax_enable_x64 does not change the dtype."""
    import jax

    return jax.enable_x64(dtype == "float64")


def _core(node: ir.Node):
    """``core(k, nums: dict, durs: dict, mets: dict)`` in jax.numpy (traced); ``mets`` maps a monitored metric's
    name to its reports (one per ``every``, from k = 0): a plateau is one ``lax.scan`` over them."""
    def core(k, nums, durs, mets=None):
        xp = JaxXP()
        env = {("num", n): xp.f(v) for n, v in nums.items()} | {("dur", n): v for n, v in durs.items()}
        env |= {("metric", n): xp.f(v) for n, v in (mets or {}).items()}
        k = xp.jnp.maximum(xp.jnp.asarray(k, dtype=xp.jnp.int64 if xp.dtype == xp.jnp.float64 else xp.jnp.int32), 0)
        return xp.out(_compile.build(node, xp)(k, env), k)

    return core


def to_jax(spec, hparam: str = "lr", dtype: str = "float32", group: str | None = None):
    """A pure JAX function ``fn(k, metrics=None, **vars)`` of the schedule: jit-, vmap- and grad-able.

    ``k`` is an int or an int array (the update index). Each var may be passed as a keyword (a number, or for a
    duration var an int in interval units); scalar vars default to their spec value, sweep vars must be given.
    A concrete ``k`` (an int, a list, a numpy or JAX array) is checked as :func:`evaluate` checks it (a ValueError
    when it is not whole, a bool, or outside ``[0, 2**31-1]``); under ``jit``/``vmap`` ``k`` is traced and cannot
    be checked: a traced ``k`` outside the range is clamped below at 0 and wraps above like any int32.

    A schedule with a ``plateau`` takes ``metrics={"val_loss": reports}``: one report per ``every`` from k = 0
    (see :mod:`schedspec._metrics`); the reports may be traced arrays (``jit``, ``vmap`` over metric sequences,
    ``grad``). With a concrete ``k``, too few reports raise a :class:`SpecError` saying how many are needed; under
    ``jit`` (traced ``k``) a value that needs a report not given is NaN: unknown, never a guess.

    ``group`` selects one of the spec's parameter groups: its own schedule of ``hparam`` (``scale`` included),
    or the document's when the group does not override it.

    >>> import schedspec
    >>> fn = schedspec.to_jax({"schedspec": 1, "vars": {"peak": 0.1},
    ...                        "lr": [{"kind": "linear", "duration": 10, "start": 0, "end": "$peak"}]})
    >>> round(float(fn(5)), 6), round(float(fn(5, peak=0.2)), 6)
    (0.05, 0.1)
    """
    spec = load(spec)
    dtype = _check_dtype(dtype)
    program = spec.program
    node = group_node(spec, hparam, group)
    nums, durs = ir.used_vars(node)
    core = _core(node)
    defaults: dict[str, Any] = {}
    for name in nums | durs:
        v = program.vars[name]
        if not v.sweep:
            defaults[name] = v.raw[0]

    monitored = {s.monitor for s in _metrics.sites(node)}

    def fn(k, metrics=None, **vars):
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
            if _concrete(k):  # the same exact check as evaluate; a traced k cannot be checked
                k = _as_steps(k, dtype)
            return core(jnp.asarray(k), n_in, d_in, _jax_metrics(spec, _root(hparam, group), node, monitored, metrics, k))

    fn.__doc__ = f"schedspec schedule {spec.name!r} ({hparam}): fn(k, **vars) -> value"
    return fn


def _jax_metrics(spec: Spec, root: tuple, node: ir.Node, monitored: set, metrics, k) -> dict:
    """The reports ``to_jax``'s function passes to the core: names checked always, lengths when ``k`` is known."""
    import jax

    if metrics is not None and not isinstance(metrics, dict):
        raise SpecError([Issue(spec.file, None, None, "metrics", "metrics must be a dict {name: reports}")])
    known = set(_metrics.monitors(spec.program))
    for name in metrics or {}:
        if name not in known:
            _metrics.validate_names(spec, {name: [0.0]})  # raises the positioned message
    concrete = not isinstance(k, jax.core.Tracer)
    given = {}
    for name, value in (metrics or {}).items():
        if name in monitored:
            given[name] = value if isinstance(value, jax.Array) else _metrics._as_reports(spec, name, value)
    if concrete:
        arr = np.asarray(k)
        k_max = int(arr.max()) if arr.size else -1
        shapes = {n: np.zeros((int(np.shape(v)[-1]),)) for n, v in given.items()}
        _metrics.check_lengths(spec, root, node, shapes, k_max)
    elif monitored - set(given):
        missing = sorted(monitored - set(given))[0]
        hparam = root[-1]
        raise SpecError(
            [Issue(spec.file, None, None, hparam, f"the `{hparam}` schedule has a `plateau` monitoring "
                   f"'{missing}': pass metrics={{'{missing}': [...]}} (one report per interval, from k = 0)")]
        )  # fmt: skip
    return {n: given.get(n, np.zeros((0,))) for n in sorted(monitored)}


def _as_steps(k, dtype: str) -> np.ndarray:
    """``k`` checked exactly (:func:`schedspec.ir.check_steps`), as the int type of ``dtype``."""
    return ir.check_steps(k).astype(np.int64 if dtype == "float64" else np.int32, copy=False)  # no copy of a 1e8-step k


def _concrete(k) -> bool:
    """Whether ``k`` has values to check here: not a JAX tracer (under ``jit``/``vmap``/``grad``), nor a tensor of
    another framework (checked by nobody: pass ints or numpy/JAX arrays to get the check)."""
    import jax

    if isinstance(k, jax.core.Tracer):
        return False
    return isinstance(k, (int, float, bool, str, bytes, list, tuple, np.ndarray, np.generic, jax.Array))


@functools.lru_cache(maxsize=256)
def _jitted(structure: _Structure, dtype: str, sweep: bool):
    """The jitted core of a tree, cached by STRUCTURE, never by var values: the tree holds ``Var`` references
    (whose values are traced inputs), so ``evaluate(spec, k, vars={"peak": p})`` with a new ``p`` (a new Spec, an
    equal tree) reuses the compiled program. ``jax.jit`` itself retraces for new input shapes (a sweep's size)."""
    jax = require("jax")
    core = _core(structure.node)
    if sweep:
        return jax.jit(jax.vmap(core, in_axes=(None, 0, 0, None)))
    return jax.jit(core)


class _Structure:
    """A tree as a cache key: equal when the trees are equal (by value: kinds, numbers, var NAMES), the hash
    computed once."""

    __slots__ = ("node", "_hash")

    def __init__(self, node: ir.Node):
        self.node = node
        self._hash = hash((type(node), node))

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return isinstance(other, _Structure) and self.node == other.node


class _Plan:
    """What :func:`evaluate` needs of one tree, worked out once per STRUCTURE (never per var value): the names it
    uses as numbers and as durations, whether it has a ``plateau``, and its jitted cores (by dtype and sweep)."""

    __slots__ = ("structure", "nums", "durs", "plateaus")

    def __init__(self, structure: _Structure):
        self.structure = structure
        nums, durs = ir.used_vars(structure.node)
        self.nums, self.durs = tuple(sorted(nums)), tuple(sorted(durs))
        self.plateaus = bool(_metrics.sites(structure.node))

    def fn(self, dtype: str, sweep: bool):
        return _jitted(self.structure, dtype, sweep)


@functools.lru_cache(maxsize=256)
def _plan_of(structure: _Structure) -> _Plan:
    return _Plan(structure)


def _plan(base: Spec, node: ir.Node, hparam: str, group: str | None, names: tuple) -> _Plan:
    """The plan of ``node`` (the ``hparam`` tree of ``base``, or of ``base`` re-bound with new var values): kept
    in ``base._cache`` under the var NAMES set (``names``), reused while the tree of a re-bound spec equals the
    one it was made for (vars are references in the tree, their values traced inputs, so a new value gives an
    equal tree); else found by structure."""
    key = ("plan", hparam, group, names)
    hit = base._cache.get(key)
    if hit is not None and hit.structure.node == node:
        return hit
    plan = _plan_of(_Structure(node))
    base._cache[key] = plan
    return plan


def _inputs(program: ir.Program, plan: _Plan, dtype: str):
    nums, durs = plan.nums, plan.durs
    fdt = np.float64 if dtype == "float64" else np.float32
    idt = np.int64 if dtype == "float64" else np.int32
    if not program.sweep_vars:  # the common case: one scalar per var
        n_in = {n: np.asarray(program.vars[n].number[0], dtype=fdt) for n in nums}
        d_in = {n: np.asarray(program.vars[n].steps[0], dtype=idt) for n in durs}
        return False, n_in, d_in
    members = program.sweep_members()
    sweep = bool(set(nums + durs) & set(program.sweep_vars))

    def column(name, role):
        v = program.vars[name]
        values = v.number if role == "num" else v.steps
        if not v.sweep:
            return np.asarray(values[0], dtype=fdt if role == "num" else idt)
        index = {raw: i for i, raw in enumerate(v.raw)}
        col = [values[index[m[name]]] for m in members]
        return np.asarray(col, dtype=fdt if role == "num" else idt)

    n_in = {n: column(n, "num") for n in nums}
    d_in = {n: column(n, "dur") for n in durs}
    if sweep:
        size = len(members)
        n_in = {n: np.broadcast_to(a, (size,)) for n, a in n_in.items()}
        d_in = {n: np.broadcast_to(a, (size,)) for n, a in d_in.items()}
    return sweep, n_in, d_in


class _Rebind:
    """How a spec takes new scalar values of its number vars without being lowered again (:func:`_rebind`).

    Lowering depends on a number var's value only through its checks (a lowered tree holds ``Var(name)``, never
    the value): the value is a number (``language._var_entry``), within float32, within the bound of every field
    it is used in (``Units.var_numbers``, recorded here once by lowering with a recorder), and, when it sits under
    a node that can grow (``_range.GROWING``: exponential, step, repeat, ...), the overflow check of that node.
    A var is ``eligible`` when it is a scalar number var used only as a number and under no such node: for it the
    checks below are exactly lowering's, so a new value gives the tree, vars and errors that lowering would."""

    __slots__ = ("bounds",)

    def __init__(self, spec: Spec):
        program = spec.program
        trees = (*program.hparams.values(), *(n for g in program.groups.values() for n in g.values()))
        durs = ir.used_vars(trees)[1]
        grown = set()
        for node in ir.walk(trees):
            if isinstance(node, _range.GROWING):
                nums, ds = ir.used_vars(node)
                grown |= nums | ds
        uses: dict[str, list] = {}

        class Recorder(_Lowerer):
            def var_numbers(self, name, use_path, bound):
                uses.setdefault(name, []).append(bound)
                return super().var_numbers(name, use_path, bound)

        current = {n: list(v.raw) if v.sweep else v.raw[0] for n, v in program.vars.items()}
        try:
            Recorder(spec.model, spec.doc, current).run()
        except SpecError:  # not expected (the spec was lowered with these values): no shortcut then
            uses = {}
        self.bounds = {
            n: tuple(b for b in uses[n] if b is not None)
            for n, v in program.vars.items()
            if n in uses and not v.sweep and v.number is not None and n not in durs and n not in grown
        }

    def program(self, spec: Spec, vars: dict) -> ir.Program | None:
        """``spec.program`` with ``vars`` set, or None when a value must go through lowering (a var that is not
        eligible, a value that is not a finite int or float, or one that lowering would refuse: it raises there)."""
        new = dict(spec.program.vars)
        for name, value in vars.items():
            bounds = self.bounds.get(name)
            if bounds is None or isinstance(value, bool) or not isinstance(value, (int, float)):
                return None
            if not math.isfinite(value) or abs(float(value)) > _range.F32_MAX:
                return None
            try:
                raw = language._var_entry(value)
            except Exception:  # noqa: BLE001 - lowering raises the positioned error
                return None
            if any(b.violation(raw) for b in bounds):
                return None
            # steps: a number var is never read as a duration (eligible vars are used as numbers only)
            new[name] = ir.VarDef(name, (raw,), (float(raw),), None, False)
        return dataclasses.replace(spec.program, vars=new)


def _rebind(spec: Spec, vars: dict) -> Spec:
    """``spec.with_vars(vars)``, without lowering again when every value is a new scalar of an eligible number
    var (:class:`_Rebind`): then the tree is the same object, so the compiled program is found at once."""
    info = spec._cache.get("rebind")
    if info is None:
        info = spec._cache["rebind"] = _Rebind(spec)
    program = info.program(spec, vars)
    if program is None:
        return spec.with_vars(vars)
    return Spec(spec.doc, spec.model, Lowered(program, spec.warnings, spec.notes, spec.desugared))


def evaluate(spec, k, hparam: str = "lr", vars: dict | None = None, metrics: dict | None = None, dtype: str = "float32",
             group: str | None = None, shard: bool | None = None):
    """The schedule's values at update index ``k`` (an int or an int array), as a numpy array.

    With sweep lists in ``vars`` (in the spec or given here) the result has a leading sweep axis: the cartesian
    product of the lists, vars in the order written, the last varying fastest (``Spec.program.sweep_members()``).
    The axis is there whenever the spec sweeps, also for a schedule that uses no sweep var (its rows are then
    equal), so every hyperparameter and group of one spec has the same shape ``(members, *k.shape)``.
    ``vars`` are checked as ``load`` checks them (a :class:`SpecError` naming the var); a new value never compiles
    the program again, and a new scalar of a number var outside any node that can grow is not lowered again
    either (see :class:`_Rebind`).
    ``dtype`` is ``"float32"`` (default) or ``"float64"``. ``group`` evaluates one parameter group's schedule.

    ``metrics={"val_loss": [m0, m1, ...]}`` feeds the ``plateau`` phases: report ``j`` is the metric at the end of
    interval ``j`` of the plateau's ``every`` clock, counted from k = 0 (see :mod:`schedspec._metrics`); every
    sweep member sees the same reports. Too few reports for the largest ``k`` asked for, a plateau's metric
    missing, or a name no plateau monitors is a :class:`SpecError` saying what is needed and where.

    A sweep is sharded over every JAX device (``jax.sharding``: a 1-D mesh over the sweep axis, padded to a
    multiple of the device count) when there are several accelerator devices and at least as many members as
    devices; ``shard=True``/``False`` forces it on or off (on CPU it is off by default: virtual CPU devices share
    the cores that XLA already uses for one device, and measured slower, see ``benchmarks/bench_sharding.py``).
    Each member's values are computed by the same program on one device, so the result is identical to one
    device's.

    >>> import schedspec
    >>> spec = {"schedspec": 1, "lr": {"kind": "step", "start": 0.1, "every": 2, "gamma": 0.5}}
    >>> schedspec.evaluate(spec, [0, 1, 2, 3, 4]).tolist()
    [0.10000000149011612, 0.10000000149011612, 0.05000000074505806, 0.05000000074505806, 0.02500000037252903]
    """
    base = spec = load(spec)
    dtype = _check_dtype(dtype)
    if vars:
        spec = _rebind(spec, vars)
    node = group_node(spec, hparam, group)
    plan = _plan(base, node, hparam, group, tuple(sorted(vars)) if vars else ())
    steps = _as_steps(k, dtype)
    program = spec.program
    if metrics is None and not plan.plateaus:  # nothing to check, nothing to feed
        m_in = {}
    else:
        k_max = int(steps.max()) if steps.size else -1
        m_in = _metrics.inputs(spec, _root(hparam, group), node, metrics, k_max)
    with _x64(dtype):
        m_in = {n: v.astype(np.float64 if dtype == "float64" else np.float32) for n, v in m_in.items()}
        sweep, n_in, d_in = _inputs(program, plan, dtype)
        fn = plan.fn(dtype, sweep)
        if sweep and _use_sharding(shard, len(program.sweep_members())):
            return _sharded(fn, steps, n_in, d_in, m_in)
        if steps.ndim == 1 and steps.size > CHUNK:
            out = _chunked(fn, steps, n_in, d_in, m_in)
        else:
            out = np.asarray(fn(steps, n_in, d_in, m_in))
    if program.sweep_vars and not sweep:  # the same row for every member: the axis is there all the same
        out = np.repeat(out[None], len(program.sweep_members()), axis=0)
    return out


# evaluate() runs a long 1-D ``k`` in pieces of this many steps written into one output array: the memory it needs
# is the output plus a constant (a few pieces), not a copy of ``k`` and of the output on the device as well
CHUNK = 1 << 22


def _chunked(fn, steps: np.ndarray, n_in: dict, d_in: dict, m_in: dict) -> np.ndarray:
    """``fn`` over ``steps`` in pieces of :data:`CHUNK` (the last one padded with its last step, so that every
    piece has the same shape: one compilation), written into one numpy array; the values are those of one call
    (each value depends on its own step only)."""
    size = steps.shape[0]
    out = None
    for lo in range(0, size, CHUNK):
        piece = steps[lo : lo + CHUNK]
        n = piece.shape[0]
        if n < CHUNK:
            piece = np.concatenate([piece, np.full(CHUNK - n, piece[-1], dtype=piece.dtype)])
        values = np.asarray(fn(piece, n_in, d_in, m_in))
        if out is None:
            out = np.empty(values.shape[:-1] + (size,), dtype=values.dtype)
        out[..., lo : lo + n] = values[..., :n]
        del values
    return out


def sweep_sharding():
    """The ``NamedSharding`` a sweep is split with (a 1-D mesh ``("sweep",)`` over all JAX devices)."""
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.asarray(jax.devices()), ("sweep",))
    return NamedSharding(mesh, PartitionSpec("sweep"))


def _use_sharding(shard: bool | None, size: int) -> bool:
    if shard is False:
        return False
    import jax

    devices = jax.device_count()
    if shard is None:  # virtual CPU devices share the cores XLA already uses for one device: no gain (measured)
        return devices > 1 and size >= devices and jax.default_backend() != "cpu"
    return devices > 1


def _sharded(fn, steps, n_in: dict, d_in: dict, m_in: dict) -> np.ndarray:
    """Run the vmapped program with the sweep axis split over every device; the same values as one device."""
    out, size = _sharded_out(fn, steps, n_in, d_in, m_in)
    return np.asarray(out)[:size]


def _sharded_out(fn, steps, n_in: dict, d_in: dict, m_in: dict):
    """The sharded output (a ``jax.Array`` split over the devices along the sweep axis) and the sweep size."""
    import jax

    sharding = sweep_sharding()
    n_dev = len(sharding.mesh.devices)
    size = next(iter([*n_in.values(), *d_in.values()])).shape[0]
    pad = -size % n_dev  # pad with copies of the last member: every device gets the same number of members

    def put(a):
        a = np.asarray(a)
        if pad:
            a = np.concatenate([a, np.repeat(a[-1:], pad, axis=0)])
        return jax.device_put(a, sharding)

    return fn(steps, {n: put(a) for n, a in n_in.items()}, {n: put(a) for n, a in d_in.items()}, m_in), size


def evaluate_numpy(
    spec_or_program, k, hparam: str = "lr", member: dict | None = None, metrics: dict | None = None,
    group: str | None = None,
) -> np.ndarray:
    """float64 numpy evaluation of one sweep member (no jax): ``check`` and reference paths.

    ``metrics`` feeds plateaus as in :func:`evaluate` (checked against the spec when a :class:`Spec` is given).
    """
    program = spec_or_program.program if isinstance(spec_or_program, Spec) else spec_or_program
    steps = np.asarray(k, dtype=np.int64)
    if isinstance(spec_or_program, Spec):
        node = group_node(spec_or_program, hparam, group)  # clear, positioned errors (unknown hparam or group)
        k_max = int(steps.max()) if steps.size else -1
        metrics = _metrics.inputs(spec_or_program, _root(hparam, group), node, metrics, k_max)
    bound = bind(program, member or (program.sweep_members()[0] if program.sweep_vars else None))
    node = bound.hparams[hparam] if group is None else bound.groups[group].get(hparam, bound.hparams[hparam])
    xp = NumpyXP()
    env = {("metric", n): np.asarray(v, dtype=np.float64) for n, v in (metrics or {}).items()}
    return np.asarray(xp.out(_compile.build(node, xp)(steps, env), steps), dtype=np.float64)


def evaluate_host(spec, k, hparam: str = "lr", dtype: str = "float32", group: str | None = None) -> np.ndarray | None:
    """:func:`evaluate`'s values computed by numpy, without jax: every sweep member at once, in float64 with the
    shared formulas (``_range.evaluate``, the same tree and formula set as every target), rounded once to ``dtype``.

    The shape is :func:`evaluate`'s: ``(members, *k.shape)`` when the spec sweeps, else ``k.shape``; ``k`` is
    checked as :func:`evaluate` checks it (a ValueError). A float32 result is the float64 value rounded to float32:
    it may differ from the JAX float32 computation in the last place (JAX evaluates in float32 throughout), far below
    what a terminal chart resolves. Returns None where the tree has a ``plateau`` (its values need the reports'
    scan: use :func:`evaluate`). Used by the terminal plot, which then never imports jax.
    """
    spec = load(spec)
    dtype = _check_dtype(dtype)
    node = group_node(spec, hparam, group)
    if _metrics.sites(node):
        return None
    steps = _as_steps(k, "float64")
    flat = steps.reshape(-1)
    program = spec.program
    sweep = program.sweep_vars  # written order; members: their cartesian product, the last varying fastest
    sizes = [len(program.vars[n].raw) for n in sweep]
    used = _range.deps(node)
    u = [i for i, n in enumerate(sweep) if n in used]  # the sweep vars the tree uses (the others: equal rows)
    shaped = _range.shape_vars(node)
    s_pos = [j for j, i in enumerate(u) if sweep[i] in shaped]  # those that move step positions: one build each
    grid = np.indices([sizes[i] for i in u]).reshape(len(u), -1) if u else np.zeros((0, 1), dtype=np.int64)
    env0: dict = {}
    for n in used:
        v = program.vars.get(n)
        if v is not None and not v.sweep:
            if v.number is not None:
                env0[("num", n)] = v.number[0]
            if v.steps is not None:
                env0[("dur", n)] = v.steps[0]
    values = np.empty((grid.shape[1], flat.shape[0]), dtype=dtype)  # float64 values rounded once on assignment
    for combo in itertools.product(*(range(sizes[u[j]]) for j in s_pos)):
        rows = np.flatnonzero(np.all(grid[s_pos] == np.asarray(combo, dtype=np.int64)[:, None], axis=0))
        env = dict(env0)
        for j, c in zip(s_pos, combo):
            v = program.vars[sweep[u[j]]]
            if v.number is not None:
                env[("num", v.name)] = v.number[c]
            if v.steps is not None:
                env[("dur", v.name)] = v.steps[c]
        for j, i in enumerate(u):
            v = program.vars[sweep[i]]
            if j not in s_pos and v.number is not None:
                env[("num", v.name)] = np.asarray(v.number, dtype=np.float64)[grid[j, rows]].reshape(-1, 1)
        values[rows] = _range.evaluate(node, flat, env, "float64", rows.shape[0])
    if sweep and u != list(range(len(sweep))):  # each member's row: its used vars' values as a combination index
        members = np.indices(sizes).reshape(len(sweep), -1)
        row = np.ravel_multi_index(tuple(members[i] for i in u), [sizes[i] for i in u]) if u else 0
        values = values[row] if u else np.repeat(values, members.shape[1], axis=0)
    out = values.reshape((values.shape[0], *steps.shape))
    return out if program.sweep_vars else out[0]
