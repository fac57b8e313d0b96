"""schedspec: learning-rate schedules written once, evaluated everywhere.

Importing this package imports neither jax, torch, keras, optax nor matplotlib; each loads when first used.
"""

from ._errors import Issue as Issue
from ._errors import MissingDependency as MissingDependency
from ._errors import SpecError as SpecError
from ._load import Spec as Spec
from ._load import load as load
from ._load import loads as loads
from .evaluator import evaluate as evaluate
from .evaluator import to_jax as to_jax

__version__ = "0.1.0"


__all__ = ["Issue", "MissingDependency", "Spec", "SpecError", "evaluate", "load", "loads", "to_jax", "__version__"]
