"""schedspec: learning-rate schedules written once, evaluated everywhere.

Importing this package imports neither jax, torch, keras, optax nor matplotlib; each loads when first used.
"""

from ._version import __version__ as __version__
from .errors import Issue as Issue
from .errors import MissingDependency as MissingDependency
from .errors import SpecError as SpecError
from .spec import Spec as Spec
from .spec import load as load
from .spec import loads as loads


def evaluate(spec, k, hparam="lr", vars=None, metrics=None, dtype="float32", **kwargs):
    """The schedule's values at update index ``k`` as a numpy array; see :func:`schedspec.evaluator.evaluate`."""
    from .evaluator import evaluate as _impl

    return _impl(spec, k, hparam=hparam, vars=vars, metrics=metrics, dtype=dtype, **kwargs)


def to_jax(spec, hparam="lr", dtype="float32", **kwargs):
    """A pure JAX function ``fn(k, metrics=None, **vars)``: jit-, vmap- and grad-able; see
    :func:`schedspec.evaluator.to_jax`."""
    from .evaluator import to_jax as _impl

    return _impl(spec, hparam=hparam, dtype=dtype, **kwargs)


def to_torch(spec, optimizer, **kwargs):
    """A ``torch.optim.lr_scheduler.LRScheduler`` for ``optimizer``; see :mod:`schedspec.adapters.torch`."""
    from .adapters.torch import to_torch as _impl

    return _impl(spec, optimizer, **kwargs)


def to_keras(spec, **kwargs):
    """A ``keras.optimizers.schedules.LearningRateSchedule``; see :mod:`schedspec.adapters.keras`."""
    from .adapters.keras import to_keras as _impl

    return _impl(spec, **kwargs)


def to_optax(spec, **kwargs):
    """An optax schedule ``count -> value``; see :mod:`schedspec.adapters.optax`."""
    from .adapters.optax import to_optax as _impl

    return _impl(spec, **kwargs)


def emit(spec, target="torch", **kwargs):
    """Standalone Python source for ``target`` ("torch" | "keras" | "optax" | "jax"); see :mod:`schedspec._emit`."""
    from ._emit import emit as _impl

    return _impl(spec, target, **kwargs)


def from_torch(scheduler, **kwargs):
    """A spec (in ``torch.*`` kinds) of a live torch scheduler; see :func:`schedspec.importers.from_torch`."""
    from .spec import from_torch as _impl

    return _impl(scheduler, **kwargs)


def from_keras(schedule, **kwargs):
    """A spec (in ``keras.*`` kinds) of a live Keras schedule; see :func:`schedspec.importers.from_keras`."""
    from .spec import from_keras as _impl

    return _impl(schedule, **kwargs)


def plot(spec, ax=None, **kwargs):
    """Draw the schedule into a matplotlib axes (created if ``ax`` is None) and return it; see :mod:`schedspec.plotting`."""
    from .plotting import plot as _impl

    return _impl(spec, ax=ax, **kwargs)


# ---- integrations (issue 12): the plan in TensorBoard; `schedspec verify` lives in schedspec._verify
def log_plan(spec, writer, **kwargs):
    """Write the planned schedule (scalars, the spec as text, the plot) to a TensorBoard writer; see
    :mod:`schedspec._logplan`."""
    from ._logplan import log_plan as _impl

    return _impl(spec, writer, **kwargs)


def verify(spec, log, **kwargs):
    """Did a run follow its spec? Compare a logged hyperparameter with the plan; see :mod:`schedspec._verify`."""
    from ._verify import verify as _impl

    return _impl(spec, log, **kwargs)


def _repr_svg(spec):
    """A spec's notebook view (:meth:`Spec._repr_svg_`): the SVG plot, or None when matplotlib is missing."""
    try:
        from .plotting import repr_svg
    except ImportError:
        return None
    return repr_svg(spec)


Spec.svg_renderer = _repr_svg

__all__ = [
    "Issue", "MissingDependency", "Spec", "SpecError", "emit", "evaluate", "from_keras", "from_torch", "load", "loads",
    "log_plan", "plot", "to_jax", "to_keras", "to_optax", "to_torch", "verify", "__version__",
]  # fmt: skip
