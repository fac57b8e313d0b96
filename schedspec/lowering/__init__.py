"""Lowering: the language's models -> the IR (:mod:`schedspec.ir`), every problem positioned.

* :func:`validate`: parsed data -> :class:`schedspec.language.Document` (pydantic errors in the spec's own terms);
* :func:`lower`: the document -> :class:`Lowered` (the program, its warnings, the framework notes, the neutral data of
  each framework-kind node): units and vars (:mod:`.units`), phases, sequences and combinators (:mod:`.lowerer`),
  framework kinds through their dialect (:mod:`.dialect`), cross-phase checks (:mod:`.checks`);
* :func:`bind`: vars substituted by values (one sweep member).
"""

from .bind import bind as bind
from .lowerer import Lowered as Lowered
from .lowerer import _Lowerer as _Lowerer
from .lowerer import lower as lower
from .validate import validate as validate

__all__ = ["Lowered", "bind", "lower", "validate"]
