"""The Optax adapter: a spec as an optax schedule ``count -> value``.

An optax schedule is a plain function of the optimizer's update count (an int32 that starts at 0 and counts the
updates already applied), so update ``k`` uses ``schedule(k)``: exactly schedspec's ``value(k)``. The schedule is
the JAX function of :func:`schedspec.to_jax`; with ``interval: epoch`` it is evaluated at
``count // steps_per_epoch``. Integer arithmetic comes first, so values are exact for every count below ``2**31``
(optax's decay schedules cast the count to float32 first and lose it above ``2**24``).

``optax.MultiSteps`` (gradient accumulation) already calls the schedule with the count of real updates, so no
option is needed for it.

The checks every target shares (one sweep member, no metric-driven phase, ``steps_per_epoch`` for an epoch-based
spec) are :func:`schedspec._target.resolve`.

A plateau (:func:`inject`, :func:`report`) keeps its state in the optimizer state, a :class:`SchedSpecState`
pytree whose static aux data describes the plateaus (:class:`Plateaus`), so checkpoints need nothing else:
``pickle`` of the state, or its ``jax.tree_util.tree_flatten`` leaves saved and put back with ``tree_unflatten``
(on the structure of a fresh ``init``), continue exactly in another process. :func:`report` also takes a Flax
``nnx.Optimizer``'s ``opt_state`` (leaves in ``nnx.Variable``), which it updates in place.

:func:`current_lr` reads the lr of the next update from any of these states, and from
``optax.inject_hyperparams(opt)(learning_rate=to_optax(spec))``'s: :func:`to_optax` returns a :class:`Schedule`,
a plain ``count -> value`` schedule that is also an optax stateful schedule whose state names it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from schedspec import _compile, _metrics
from schedspec._groups import bound_group_schedules
from schedspec._target import OPTAX_NAMES, check_group, resolve, resolve_all
from schedspec.backends import JaxXP
from schedspec.errors import SpecError, require
from schedspec.evaluator import _concrete, to_jax
from schedspec.ir import check_steps
from schedspec.spec import load

__all__ = ["to_optax", "inject", "report", "multi_transform", "current_lr", "SchedSpecState", "Schedule", "ScheduleState"]


def to_optax(spec: Any, hparam: str = "lr", vars: dict | None = None, group: str | None = None) -> Callable[[Any], Any]:
    """An optax schedule ``count -> value`` of the spec's ``hparam`` schedule.

    ``schedule(count)`` is the value used by update ``count`` (0-based), the count optax keeps in its optimizer
    state; with ``interval: epoch`` it is ``value(count // steps_per_epoch)``. It is a pure JAX function: it works
    under ``jit``, ``vmap`` and on arrays of counts, in float32 (float64 under ``jax_enable_x64``).

    A spec with ``groups``: ``group=None`` is the document's schedule (the one parameters outside every group
    get, as ``schedspec.evaluate``), ``group="backbone"`` that group's; :func:`multi_transform` builds one
    optimizer with every group.

    Args:
        spec: a :class:`schedspec.Spec`, a path to a YAML file, or a dict.
        hparam: which schedule (default ``"lr"``).
        vars: var values; required for sweep vars the schedule uses (one member of the sweep).
        group: one of the spec's ``groups`` (its own schedule of ``hparam``, or the document's when it has none).

    Returns:
        A :class:`Schedule`: a function of the update count, usable as ``optax.sgd(learning_rate=schedule)``, and
        an optax stateful schedule under ``optax.inject_hyperparams`` (so :func:`current_lr` can read the state).

    Raises:
        SpecError: see :func:`schedspec._target.resolve` (sweep without ``vars``, ``plateau``, epoch without ``steps_per_epoch``).
        MissingDependency: optax is not installed.

    >>> import schedspec
    >>> sched = schedspec.to_optax({"schedspec": 1, "lr": [
    ...     {"kind": "linear", "duration": 10, "start": 0.0, "end": 0.1}, {"kind": "constant", "value": 0.1}]})
    >>> [round(float(sched(k)), 6) for k in (0, 5, 10, 1000)]
    [0.0, 0.05, 0.1, 0.1]
    """
    require("optax")
    res = resolve(spec, hparam, vars, "optax", plateau_hint=(
        "an optax schedule is a function of the update count only; build the optimizer with "
        "schedspec.adapters.optax.inject(spec, optax.sgd, ...), which keeps the plateau state in the optimizer "
        "state, and call schedspec.adapters.optax.report(state, name, value) at the end of each interval"),
        group=group)  # fmt: skip
    key = _ScheduleKey("spec", res.spec, hparam, group, res.divisor)
    key._fn = _spec_schedule(res.spec, hparam, group, res.divisor)
    return Schedule(key, name=res.spec.name)


def _spec_schedule(spec, hparam: str, group: str | None, divisor: int):
    """``count -> value``: :func:`schedspec.to_jax` at ``count // divisor``."""

    fn = to_jax(spec, hparam, group=group)  # a concrete count is checked there (exactly, as evaluate checks k)
    if divisor == 1:
        return fn
    import jax.numpy as jnp

    def per_epoch(count):
        if _concrete(count):
            count = check_steps(count)  # before the division: 2**31 // divisor would pass
        return fn(jnp.floor_divide(jnp.asarray(count), divisor))

    return per_epoch


class _ScheduleKey:
    """What a :class:`ScheduleState` needs to evaluate its schedule: static, hashable, picklable (pytree aux data).

    ``kind`` ``"spec"``: the bound :class:`schedspec.Spec` (vars applied), evaluated as :func:`to_optax` does
    (``payload``: the spec; equal keys have the same canonical schedule, hparam, group and divisor); ``"node"``: a
    bound IR node (:func:`inject`; ``payload``: ``(node, divisor)``). A pickled key keeps the payload and builds
    the function again when first used.
    """

    __slots__ = ("kind", "payload", "hparam", "group", "divisor", "_ident", "_fn")

    def __init__(self, kind: str, payload: Any, hparam: str, group: str | None, divisor: int):
        self.kind, self.payload, self.hparam, self.group, self.divisor = kind, payload, hparam, group, int(divisor)
        self._ident, self._fn = None, None

    def fn(self) -> Callable[[Any], Any]:
        if self._fn is None:
            if self.kind == "node":
                self._fn = _count_schedule(self.payload, self.divisor)
            else:
                self._fn = _spec_schedule(self.payload, self.hparam, self.group, self.divisor)
        return self._fn

    def _id(self) -> tuple:
        if self._ident is None:
            what = self.payload.canonical_json() if self.kind == "spec" else self.payload
            self._ident = (self.kind, what, self.hparam, self.group, self.divisor)
        return self._ident

    def __eq__(self, other) -> bool:
        return isinstance(other, _ScheduleKey) and self._id() == other._id()

    def __hash__(self) -> int:
        return hash(self._id())

    def __getstate__(self):
        return (self.kind, self.payload, self.hparam, self.group, self.divisor)

    def __setstate__(self, state) -> None:
        self.kind, self.payload, self.hparam, self.group, self.divisor = state
        self._ident, self._fn = None, None

    def __repr__(self) -> str:
        return f"<schedule {self.hparam!r}{'' if self.group is None else f' of group {self.group!r}'}>"


class ScheduleState:
    """The state of a :class:`Schedule` under ``optax.inject_hyperparams`` (a JAX pytree): the update count (int32,
    the leaf) and, as static aux data, which schedule it counts for, so :func:`current_lr` needs nothing else."""

    __slots__ = ("count", "key")

    def __init__(self, count, key):
        self.count, self.key = count, key

    def __repr__(self) -> str:
        return f"ScheduleState(count={self.count}, {self.key!r})"


class Schedule:
    """A schedspec schedule for optax: ``schedule(count) -> value``, what :func:`to_optax` returns.

    It is a plain optax schedule (``optax.sgd(learning_rate=schedule)``; ``jit``, ``vmap``, arrays of counts), and
    also an optax *stateful* schedule (``init``, ``update``, ``schedule(state)``): ``optax.inject_hyperparams``
    then keeps a :class:`ScheduleState` for it, the same count as the ``WrappedScheduleState`` it keeps for a
    plain function (same values), which names the schedule, so :func:`current_lr` reads the next update's lr
    from the optimizer state alone.
    """

    def __init__(self, key: _ScheduleKey, name: str | None):
        self.key = key
        self.__name__ = "schedspec_schedule"
        self.__doc__ = f"schedspec schedule {name!r} ({key.hparam}) as an optax schedule: count -> value"

    def __call__(self, count: Any, **extra_args: Any) -> Any:
        """The value used by update ``count`` (or at a :class:`ScheduleState`'s count)."""
        if isinstance(count, ScheduleState):
            count = count.count
        return self.key.fn()(count)

    def init(self) -> ScheduleState:
        """optax's stateful-schedule interface: the state before update 0."""
        import jax.numpy as jnp

        _register()
        return ScheduleState(jnp.zeros([], jnp.int32), self.key)

    def update(self, state: ScheduleState, **extra_args: Any) -> ScheduleState:
        """optax's stateful-schedule interface: one more update (optax's saturating int32 count)."""
        import jax.numpy as jnp

        count = jnp.minimum(state.count, jnp.iinfo(jnp.int32).max - 1) + 1
        return ScheduleState(count, state.key)

    def __repr__(self) -> str:
        return f"<schedspec optax Schedule {self.key!r}>"


# ------------------------------------------------------------------------------------------ hyperparameters
# optax's argument names of the hyperparameters a spec may schedule (any other name is passed as written).

class SchedSpecState:
    """The state of :func:`inject` for a spec with plateaus (a JAX pytree).

    Attributes:
        count: updates applied so far (int32).
        reports: ``{metric: buffer}``, the reports so far in a fixed-size buffer.
        nreports: ``{metric: count}``, how many reports were made.
        values: per plateau, the value after each report (recomputed by :func:`report`).
        inner: the ``optax.inject_hyperparams`` state (``inner.hyperparams``: the values the last update used).
        key: the plateaus' static description (:class:`Plateaus`: their IR, report clocks and buffer size), the
            pytree's aux data. :func:`report` needs nothing else, so a state restored in another process (pickle,
            or the leaves of ``jax.tree_util.tree_flatten`` put back with ``tree_unflatten``) takes reports.
    """

    __slots__ = ("count", "reports", "nreports", "values", "inner", "key")

    def __init__(self, count, reports, nreports, values, inner, key):
        self.count, self.reports, self.nreports, self.values, self.inner, self.key = (
            count, reports, nreports, values, inner, key,
        )  # fmt: skip

    def _replace(self, **changes) -> SchedSpecState:
        fields = {f: getattr(self, f) for f in self.__slots__}
        return SchedSpecState(**{**fields, **changes})

    @property
    def hyperparams(self) -> dict:
        """The values the last update used (``inner.hyperparams``)."""
        return self.inner.hyperparams

    def __repr__(self) -> str:
        return f"SchedSpecState(count={self.count}, nreports={self.nreports})"


class Plateaus:
    """What :func:`report` needs to recompute the plateaus of a :class:`SchedSpecState`: static, hashable,
    picklable (the aux data of the state's pytree).

    Attributes:
        sites: the plateaus (:class:`schedspec._metrics.Site`: bound IR node and the step it begins at).
        names: the metrics they monitor (sorted).
        capacity: the size of each report buffer (``max_reports``).
        schedules: ``((optax argument, bound IR node), ...)``: every hyperparameter the state drives
            (:meth:`values_at`, :func:`current_lr`).
        divisor: ``steps_per_epoch`` for ``interval: epoch``, else 1 (the update count is divided by it).
        group: the spec group of :func:`inject`'s ``group=`` (None: the document's schedules).
    """

    __slots__ = ("sites", "names", "capacity", "schedules", "divisor", "group")

    def __init__(self, sites: tuple, names: tuple, capacity: int, schedules: tuple, divisor: int, group: str | None):
        self.sites, self.names, self.capacity = tuple(sites), tuple(names), int(capacity)
        self.schedules, self.divisor, self.group = tuple(schedules), int(divisor), group

    def _key(self) -> tuple:
        return (self.sites, self.names, self.capacity, self.schedules, self.divisor, self.group)

    def __eq__(self, other) -> bool:
        return isinstance(other, Plateaus) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __getstate__(self):
        return self._key()

    def __setstate__(self, state) -> None:
        state = tuple(state) + ((), 1, None)[len(state) - 3 :]  # a state pickled before schedules were kept
        self.sites, self.names, self.capacity, self.schedules, self.divisor, self.group = state

    def values_at(self, state: SchedSpecState) -> dict:
        """``{optax argument: value}`` for update ``state.count`` (NaN where a report is missing): what the next
        update uses (:func:`inject`'s update computes its hyperparameters with this very function)."""
        import jax.numpy as jnp

        xp = JaxXP()
        k = state.count if self.divisor == 1 else jnp.floor_divide(state.count, self.divisor)
        env = {("trajectory", s.node, s.origin): (state.values[i], state.nreports[s.monitor])
               for i, s in enumerate(self.sites)}  # fmt: skip
        return {arg: xp.out(_compile.build(node, xp)(k, env), k) for arg, node in self.schedules}

    def __repr__(self) -> str:
        return f"Plateaus(metrics={list(self.names)}, plateaus={len(self.sites)}, capacity={self.capacity})"

    def refresh(self, state: SchedSpecState) -> SchedSpecState:
        """Recompute the value after each report of every plateau from the report buffers (one scan each)."""

        xp = JaxXP()
        env = {("metric", n): state.reports[n] for n in self.names}  # the whole buffer: values past a count unread
        trajs = _metrics.trajectories(xp, list(self.sites), env)
        return state._replace(values=tuple(xp.f(trajs[("trajectory", s.node, s.origin)][0]) for s in self.sites))

    def add(self, state: SchedSpecState, name: str, value: Any) -> SchedSpecState:
        """``state`` with the next report of ``name`` (not stored past the buffer), plateaus recomputed."""
        import jax.numpy as jnp

        n = state.nreports[name]
        buf = state.reports[name]
        cap = self.capacity
        if buf.shape[0]:  # an empty buffer (a plateau that ends before its first report) stores nothing
            buf = jnp.where(n < cap, buf.at[jnp.minimum(n, cap - 1)].set(value), buf)
        return self.refresh(state._replace(reports={**state.reports, name: buf}, nreports={**state.nreports, name: n + 1}))


def _flatten(state: SchedSpecState):
    return (state.count, state.reports, state.nreports, state.values, state.inner), state.key


def _unflatten(key, children) -> SchedSpecState:
    return SchedSpecState(*children, key)


_registered = False


def _register() -> None:
    global _registered
    if not _registered:
        import jax

        jax.tree_util.register_pytree_node(SchedSpecState, _flatten, _unflatten)
        jax.tree_util.register_pytree_node(ScheduleState, lambda s: ((s.count,), s.key),
                                           lambda key, children: ScheduleState(children[0], key))  # fmt: skip
        _registered = True


def _hparam_args(spec, opt_fn, names, where: tuple = (), own: tuple = ()) -> dict[str, str]:
    """``{spec hyperparameter: optax argument}``, or a positioned SpecError for one ``opt_fn`` does not take."""

    params = inspect.signature(opt_fn).parameters
    out, issues = {}, []
    for name in names:
        arg = OPTAX_NAMES.get(name, name)
        if arg not in params:
            hint = "; its momentum is b1: write the schedule as `beta1`" if name == "momentum" and "b1" in params else ""
            fn_name = f"optax.{opt_fn.__name__}" if hasattr(opt_fn, "__name__") else "the optimizer"  # a partial
            path = where + (name,) if name in own else (name,)
            issues.append(spec.doc.issue(path, f"`{name}`: {fn_name} has no argument '{arg}' (it takes: "
                                         f"{', '.join(params)}){hint}", key=True))  # fmt: skip
        out[name] = arg
    if issues:
        raise SpecError(issues)
    return out


def _schedules(spec, group: str | None, entry: str) -> tuple[dict, tuple]:
    """Bound IR of every schedule the optimizer gets (the spec's, or one group's overriding the spec's)."""
    if group is None:
        nodes = resolve_all(spec, spec.program.hparams, "optax", metrics_ok=True, entry=entry)
        return {name: res.node for name, res in nodes.items()}, ()
    check_group(spec, group)
    own = bound_group_schedules(spec, "optax", entry, (group,))[group]
    nodes = resolve_all(spec, [n for n in spec.program.hparams if n not in own], "optax", metrics_ok=True, entry=entry)
    return {**{name: res.node for name, res in nodes.items()}, **own}, ("groups", group)


def inject(spec: Any, opt_fn: Callable, *, vars: dict | None = None, max_reports: int | None = None,
           group: str | None = None, **kwargs: Any):  # fmt: skip
    """``optax.inject_hyperparams(opt_fn)`` driven by every hyperparameter schedule of the spec.

    ``lr`` is passed as ``learning_rate``, ``beta1``/``beta2`` as ``b1``/``b2``, any other name as written
    (``momentum``, ``weight_decay``, ``eps``, ...); one that ``opt_fn`` does not take is a :class:`SpecError`.
    ``kwargs`` are further (fixed) arguments of ``opt_fn``. After each update, ``state.hyperparams`` holds the
    values that update used (optax's convention; torch and Keras report the next update's).

    Without a ``plateau`` this is exactly ``optax.inject_hyperparams(opt_fn)(learning_rate=schedule, ...)`` with
    the count schedules of :func:`to_optax`. With a plateau, the state (:class:`SchedSpecState`) also holds the
    metric reports: call ``state = report(state, "val_loss", value)`` at the end of each interval of the
    plateau's ``every`` clock (one report per interval from update 0, including intervals before the plateau
    begins). The next update uses the reduced value, as torch and Keras do (optax's own ``reduce_on_plateau``
    applies it to the update that gave the value). An update whose value needs a report not given yet uses NaN,
    so a forgotten report cannot go unnoticed. ``update`` and ``report`` are jit-able; ``report`` recomputes each
    plateau's values (one scan over the report buffer), so an update only looks them up.

    Args:
        spec: a :class:`schedspec.Spec`, a path or a dict.
        opt_fn: an optax optimizer factory, e.g. ``optax.sgd`` or ``optax.adamw``.
        vars: var values (one sweep member).
        max_reports: with a plateau: the size of the report buffers (default: the last report a plateau
            consumes, or up to ``total`` for one that never ends).
        group: the transformation of one of the spec's ``groups`` (its schedules, the spec's for the rest);
            see :func:`multi_transform`.
        **kwargs: further arguments of ``opt_fn``.

    Returns:
        An ``optax.GradientTransformation``.

    >>> import optax, schedspec.adapters.optax as so
    >>> tx = so.inject({"schedspec": 1, "lr": {"kind": "step", "start": 0.1, "every": 2, "gamma": 0.5},
    ...                 "momentum": 0.9}, optax.sgd)
    >>> sorted(tx.init({"w": 0.0}).hyperparams)
    ['learning_rate', 'momentum']
    """
    return _inject(spec, opt_fn, vars, max_reports, group, kwargs, "schedspec.adapters.optax.inject")


def _inject(spec, opt_fn, vars, max_reports, group, kwargs, entry: str):
    """:func:`inject`; ``entry``: the public function called, named in the errors (inject or multi_transform)."""
    optax = require("optax")
    spec = load(spec)
    if vars:
        spec = spec.with_vars(dict(vars))
    nodes, where = _schedules(spec, group, entry)
    args = _hparam_args(spec, opt_fn, list(nodes), where, tuple(spec.program.groups.get(group, {})))
    clash = sorted(set(args.values()) & set(kwargs))
    if clash:
        raise ValueError(f"{clash[0]}= is set by the spec's schedule; do not pass it again")
    divisor = resolve(spec, "lr", None, "optax", metrics_ok=True, entry=entry, group=group).divisor
    sites = [s for node in nodes.values() for s in _metrics.sites(node)]
    if not sites:
        fns = {args[name]: Schedule(_ScheduleKey("node", node, name, group, divisor), spec.name)
               for name, node in nodes.items()}  # fmt: skip
        return optax.inject_hyperparams(opt_fn)(**fns, **kwargs)
    return _PlateauInject(spec, opt_fn, nodes, args, sites, divisor, max_reports, kwargs, group).transformation()


def _count_schedule(node, divisor: int):
    """``count -> value`` of a bound IR node (no plateau), jit-able."""
    import jax.numpy as jnp

    def schedule(count):
        xp = JaxXP()
        k = jnp.maximum(jnp.asarray(count), 0)
        if divisor != 1:
            k = jnp.floor_divide(k, divisor)
        return xp.out(_compile.build(node, xp)(k, {}), k)

    return schedule


class _PlateauInject:
    """What :func:`inject` builds for a spec with plateaus (see there)."""

    def __init__(self, spec, opt_fn, nodes, args, sites, divisor, max_reports, kwargs, group=None):
        self.opt_fn, self.nodes, self.args, self.sites, self.divisor, self.kwargs = (
            opt_fn, nodes, args, sites, divisor, kwargs,
        )  # fmt: skip
        self.names = sorted({s.monitor for s in sites})
        stops = [s.stop() for s in sites]
        need = max((x for x in stops if x is not None), default=1)
        if max_reports is None:
            if any(x is None for x in stops):  # (a spec's `total` ends every plateau: none without one)
                raise SpecError(_metrics.open_ended_issues(
                    spec.doc, nodes, "inject cannot size the report buffers of the optimizer state", "max_reports=N"))
            max_reports = need
        elif isinstance(max_reports, bool) or not isinstance(max_reports, int) or max_reports < need:
            raise ValueError(f"max_reports must be an int >= {need}, the last report a plateau consumes (got {max_reports!r})")
        self.capacity = max_reports
        schedules = tuple((args[name], node) for name, node in nodes.items())
        self.key = Plateaus(tuple(sites), tuple(self.names), max_reports, schedules, divisor, group)
        _register()

    def values_at(self, state: SchedSpecState) -> dict:
        """``{optax argument: value}`` for update ``state.count`` (NaN where a report is missing)."""
        return self.key.values_at(state)

    def refresh(self, state: SchedSpecState) -> SchedSpecState:
        """Recompute the value after each report of every plateau (:meth:`Plateaus.refresh`)."""
        return self.key.refresh(state)

    def transformation(self):
        import jax.numpy as jnp
        import optax

        # the scheduled arguments' values are set before each update (their initial values are never used)
        inner_tx = optax.inject_hyperparams(self.opt_fn)(**{a: 0.0 for a in self.args.values()}, **self.kwargs)

        def next_update(state):
            """The inner state with the hyperparameters of update ``state.count``."""
            return state.inner._replace(hyperparams={**state.inner.hyperparams, **self.values_at(state)})

        def init(params):
            state = SchedSpecState(
                count=jnp.zeros((), jnp.int32),
                reports={n: jnp.zeros((self.capacity,)) for n in self.names},  # the default float dtype
                nreports={n: jnp.zeros((), jnp.int32) for n in self.names},
                values=(),  # computed from the (empty) reports by refresh
                inner=inner_tx.init(params),
                key=self.key,
            )
            state = self.refresh(state)
            # as optax.inject_hyperparams: after init, `hyperparams` holds the values update 0 uses
            return state._replace(inner=next_update(state))

        def update(updates, state, params=None):
            updates, inner = inner_tx.update(updates, next_update(state), params)
            count = jnp.minimum(state.count, jnp.iinfo(jnp.int32).max - 1) + 1  # optax's saturating count
            return updates, state._replace(count=count, inner=inner)

        return optax.GradientTransformation(init, update)


def report(state: Any, name: str, value: Any) -> Any:
    """The optimizer state after the next report of metric ``name`` (pure; works under ``jit``).

    Report ``j`` is the metric at the end of interval ``j`` of the plateau's ``every`` clock, counted from update
    0. Every :class:`SchedSpecState` inside ``state`` (one per :func:`inject`; several under
    :func:`multi_transform`; possibly inside a chain) whose plateaus monitor ``name`` takes it. A report beyond
    the buffer (``max_reports``) is not stored; the values that would need it are NaN.

    The state may come from another process (pickle, or pytree leaves saved and put back): it carries the
    plateaus' description (:class:`Plateaus`). A Flax ``nnx.Optimizer``'s ``opt_state`` (its leaves wrapped in
    ``nnx.Variable``) is updated in place, so ``report(optimizer.opt_state, "val_loss", v)`` suffices there; it is
    also returned.

    Raises:
        ValueError: no plateau in ``state`` monitors ``name``.
    """
    import jax

    found = []

    def visit(x):
        if isinstance(x, SchedSpecState) and name in x.reports:
            found.append(x)
            boxed = any(_is_variable(leaf) for leaf in jax.tree_util.tree_leaves(x, is_leaf=_is_variable))
            if not boxed:
                return x.key.add(x, name, value)
            # leaves held in mutable variables (Flax nnx): compute on their values, write the new ones back
            new = x.key.add(jax.tree_util.tree_map(_unwrap, x, is_leaf=_is_variable), name, value)
            jax.tree_util.tree_map(_assign, x, new, is_leaf=_is_variable)
            return x
        return x

    out = jax.tree_util.tree_map(visit, state, is_leaf=lambda x: isinstance(x, SchedSpecState))
    if not found:
        raise ValueError(f"no schedspec plateau in this optimizer state monitors {name!r}")
    return out


def current_lr(state: Any, group: str | None = None) -> Any:
    """The learning rate the **next** update will use, read from an optimizer state (pure; works under ``jit``).

    optax's ``state.hyperparams["learning_rate"]`` holds the lr the *last* update used (after ``init``: update
    0's); this is the next one: the schedule at the state's update count, with the plateau reports made so far
    (after :func:`report`, the reduced value). It is the same function of the state that the next ``update``
    computes (a float of the schedule's dtype, float32 by default; ``inject_hyperparams`` then casts it to the
    params' dtype), so the two agree bit for bit when both run under ``jit`` or both eagerly (XLA may round the
    last bit of a jitted computation differently from an eager one), and NaN when that update needs a plateau
    report not made yet.

    It finds the schedule wherever it sits in ``state`` (inside ``optax.chain``, ``optax.MultiSteps``, a Flax
    ``nnx.Optimizer``'s ``opt_state``, whose leaves are ``nnx.Variable`` objects):

    * a state of :func:`inject` or :func:`multi_transform` (with or without a plateau);
    * a state of ``optax.inject_hyperparams(opt)(learning_rate=schedspec.to_optax(spec))``: :func:`to_optax`'s
      :class:`Schedule` is an optax stateful schedule, so the state names it. (A plain function, or
      ``optax.sgd(learning_rate=schedule)`` without ``inject_hyperparams``, leaves no trace of the schedule in
      the state: not readable here.)

    Args:
        state: the optimizer state (or ``nnx_optimizer.opt_state``).
        group: with several learning-rate schedules (:func:`multi_transform`: one per spec group), which one:
            a spec group's name, or None for the document's (the ``"default"`` label). With one schedule it may
            be left None.

    Returns:
        A JAX scalar.

    Raises:
        ValueError: no schedspec learning-rate schedule in ``state`` (or none of ``group``), or several that
            ``group`` does not tell apart.

    >>> import jax.numpy as jnp, optax, schedspec, schedspec.adapters.optax as so
    >>> spec = {"schedspec": 1, "lr": {"kind": "step", "start": 0.1, "every": 2, "gamma": 0.5}}
    >>> tx = optax.inject_hyperparams(optax.sgd)(learning_rate=schedspec.to_optax(spec))
    >>> state = tx.init({"w": jnp.zeros(())})
    >>> for _ in range(2):
    ...     _, state = tx.update({"w": jnp.ones(())}, state)
    >>> float(state.hyperparams["learning_rate"]), float(so.current_lr(state))  # update 1's, update 2's
    (0.10000000149011612, 0.05000000074505806)
    """
    import jax

    _register()
    pure = jax.tree_util.tree_map(_unwrap, state, is_leaf=_is_variable)
    found: list[tuple[str | None, Any]] = []

    def visit(x):
        if isinstance(x, SchedSpecState) and isinstance(x.key, Plateaus):
            if any(arg == "learning_rate" for arg, _ in x.key.schedules):
                found.append((x.key.group, lambda x=x: x.key.values_at(x)["learning_rate"]))
        else:
            sched = getattr(x, "hyperparams_states", None)
            sched = sched.get("learning_rate") if isinstance(sched, dict) else None
            if isinstance(sched, ScheduleState):
                found.append((sched.key.group, lambda s=sched: s.key.fn()(s.count)))
        return x

    def is_leaf(x):
        return isinstance(x, SchedSpecState) or hasattr(x, "hyperparams_states")

    jax.tree_util.tree_map(visit, pure, is_leaf=is_leaf)
    if not found:
        raise ValueError(
            "no schedspec learning-rate schedule in this optimizer state: build the optimizer with "
            "schedspec.adapters.optax.inject(spec, opt) (or multi_transform), or with "
            "optax.inject_hyperparams(opt)(learning_rate=schedspec.to_optax(spec))"
        )
    groups = [g for g, _ in found]
    chosen = found if group is None and len(found) == 1 else [f for f in found if f[0] == group]
    if len(chosen) != 1:
        have = ", ".join("None (the document's)" if g is None else repr(g) for g in dict.fromkeys(groups))
        what = "several learning-rate schedules of" if len(chosen) > 1 else "no learning-rate schedule of"
        raise ValueError(f"current_lr(state, group={group!r}): the state has {what} that group (it has: {have})"
                         + ("; pass group=" if group is None and len(chosen) != 1 else ""))  # fmt: skip
    return chosen[0][1]()


def _is_variable(x: Any) -> bool:
    """A mutable box around an array, as Flax ``nnx.Variable`` (duck-typed: this module never imports flax)."""
    return hasattr(x, "get_value") and hasattr(x, "set_value")


def _unwrap(x: Any) -> Any:
    return x.get_value() if _is_variable(x) else x


def _assign(target: Any, value: Any) -> None:
    if _is_variable(target):
        target.set_value(value)


def multi_transform(spec: Any, opt_fn: Callable, param_labels: Any, *, vars: dict | None = None,
                    max_reports: int | None = None, **kwargs: Any):  # fmt: skip
    """``optax.multi_transform`` with one :func:`inject` per spec group (label = group name).

    ``param_labels`` (a pytree of labels like the params, or a function of the params, as for
    ``optax.multi_transform``) names each parameter's group; the label ``"default"`` (or any label that is not a
    group of the spec) gets the spec's top-level schedules. Every group of the spec must label at least one
    parameter: checked at ``init``, a group no parameter carries is an error.

    Raises:
        SpecError: a hyperparameter ``opt_fn`` does not take, a group's sweep var not fixed by ``vars``, or a
            group named ``default`` (the label of the parameters outside every group), each positioned.
    """
    optax = require("optax")
    import jax

    spec = load(spec)
    if vars:
        spec = spec.with_vars(dict(vars))
    groups = list(spec.program.groups)
    if "default" in groups:
        raise SpecError([spec.doc.issue(("groups", "default"), "group `default`: multi_transform gives the label "
                                        "'default' to the parameters outside every group (the document's "
                                        "schedules); rename the group", key=True)])  # fmt: skip
    entry = "schedspec.adapters.optax.multi_transform"
    transforms = {g: _inject(spec, opt_fn, None, max_reports, g, kwargs, entry) for g in groups}
    top = _inject(spec, opt_fn, None, max_reports, None, kwargs, entry)
    labels_seen: set = set()

    def labels_of(params):
        labels = param_labels(params) if callable(param_labels) else param_labels
        leaves = set(jax.tree_util.tree_leaves(labels))
        labels_seen.update(leaves)
        missing = [g for g in groups if g not in leaves]
        if missing:
            raise SpecError([spec.doc.issue(("groups", missing[0]), f"group `{missing[0]}`: no parameter carries the "
                                            f"label {missing[0]!r} (labels: {', '.join(map(str, sorted(leaves, key=str)))})",
                                            key=True)])  # fmt: skip
        return jax.tree_util.tree_map(lambda x: x if x in groups else "default", labels)

    return optax.multi_transform({**transforms, "default": top}, labels_of)
