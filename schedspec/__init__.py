"""schedspec: learning-rate schedules written once, evaluated everywhere.

The public surface, one name per line. Loading a spec and its errors are imported here; the rest loads on first use
(PEP 562 ``__getattr__``) and is the real function, so ``inspect.signature(schedspec.evaluate)`` shows every
parameter. Importing this package imports neither jax, torch, keras, optax nor matplotlib (nor numpy).
"""

import importlib

from ._version import __version__ as __version__
from .errors import Issue as Issue
from .errors import LogError as LogError
from .errors import MissingDependency as MissingDependency
from .errors import PlateauNeedsMetrics as PlateauNeedsMetrics
from .errors import PlotError as PlotError
from .errors import SpecError as SpecError
from .errors import UsageError as UsageError
from .spec import Spec as Spec
from .spec import from_detectron2 as from_detectron2
from .spec import from_keras as from_keras
from .spec import from_mmengine as from_mmengine
from .spec import from_timm as from_timm
from .spec import from_torch as from_torch
from .spec import from_transformers as from_transformers
from .spec import load as load
from .spec import loads as loads

# name -> (module, attribute): loaded on first use, then kept in this module's namespace
_LAZY = {
    "evaluate": ("evaluator", "evaluate"),  # numpy + jax (jax on first call)
    "to_jax": ("evaluator", "to_jax"),
    "to_torch": ("adapters.torch", "to_torch"),
    "to_keras": ("adapters.keras", "to_keras"),
    "to_optax": ("adapters.optax", "to_optax"),
    "emit": ("_emit", "emit"),
    "plot": ("plotting", "plot"),  # matplotlib on first call
    "log_plan": ("_logplan", "log_plan"),
    "verify": ("_verify", "verify"),
}

__all__ = [
    "Issue", "LogError", "MissingDependency", "PlateauNeedsMetrics", "PlotError", "Spec", "SpecError", "UsageError",
    "__version__", "emit", "evaluate", "from_detectron2", "from_keras", "from_mmengine", "from_timm", "from_torch",
    "from_transformers", "load", "loads", "log_plan", "plot", "to_jax", "to_keras", "to_optax", "to_torch", "verify",
]  # fmt: skip


def __getattr__(name: str):
    """The lazily loaded public functions (PEP 562): the real function, with its own signature and docstring.

    Where the framework a name needs is not installed (``to_torch`` without torch), the name still resolves (so
    ``from schedspec import *`` and ``hasattr`` work) to a function that raises :class:`MissingDependency` when
    called, as the real one would.
    """
    if name not in _LAZY:
        raise AttributeError(f"module 'schedspec' has no attribute {name!r}")
    module, attr = _LAZY[name]
    try:
        value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    except MissingDependency as exc:
        return _unavailable(name, exc)
    globals()[name] = value
    return value


def _unavailable(name: str, missing: MissingDependency):
    def unavailable(*args, **kwargs):
        raise MissingDependency(missing.package, missing.extra) from missing

    unavailable.__name__ = unavailable.__qualname__ = name
    unavailable.__doc__ = f"Unavailable here: {missing}"
    return unavailable


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _repr_svg(spec: Spec):
    """A spec's notebook view (:meth:`Spec._repr_svg_`): the SVG plot, or None when matplotlib is missing."""
    try:
        repr_svg = importlib.import_module(f"{__name__}.plotting").repr_svg
    except ImportError:
        return None
    return repr_svg(spec)


Spec.svg_renderer = _repr_svg  # plotting sits above spec.py: the view is plugged in here, loaded on first use
