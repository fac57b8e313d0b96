"""Dialects: the frameworks' own schedulers as spec kinds, ``torch.<Class>``, ``keras.<Class>``, ``optax.<function>``.

One module per framework (:mod:`.torch`, :mod:`.keras`, :mod:`.optax`), each with its models, their desugaring and
the notes of the quirks they rely on; :mod:`._base` holds what they share and :mod:`.importers` reads live framework
objects. This package is the registry: :data:`KINDS` maps every framework kind to its model, and the document union
of :mod:`schedspec.language` reads it. A new dialect is one module with a ``KINDS`` dict, listed in :data:`DIALECTS`.

Each framework kind is a Pydantic model with the framework's own parameter names and defaults (``extra="forbid"``, so
a misspelt parameter gets a did-you-mean among the framework's names) and a ``description`` on every field. It is
not evaluated by itself: during lowering it is **desugared** into neutral schedule data (exactly the YAML one would
write with ``linear``, ``cosine``, ``repeat``, ...), which is then validated and lowered like any neutral spec.
Hence:

* a spec in framework kinds and its neutral spelling have the same IR, so the same fingerprint, by construction;
* ``schedspec translate --to-neutral`` is "desugar, then dump the YAML" (see :func:`neutral_document`);
* every target (evaluator, torch, Keras, Optax, emitted source) runs framework kinds with no code of its own.

Desugaring reproduces the framework's semantics exactly, quirks included (torch ``CosineAnnealingLR`` rising again
after ``T_max``, torch ``SequentialLR`` restarting every scheduler at the optimizer's lr, Keras
``PiecewiseConstantDecay`` switching one step after a boundary, Keras ``CosineDecay``'s ``decay_steps`` excluding
the warmup, ...). Each quirk the spec relies on is recorded as a *note* (``Spec.notes``, printed by ``schedspec
check``) that names the neutral spelling. Two quirks needed the neutral language to grow: Keras
``PolynomialDecay(cycle=True)`` is ``polynomial`` with ``cycle: true``, and the unscaled ``alpha`` floor of Keras
``CosineDecayRestarts`` is a ``sum`` of a constant and a decaying ``repeat``.

Conventions shared by all framework kinds:

* Step counts (``step_size``, ``decay_steps``, ``transition_steps``, ...) are in the spec's interval units (a torch
  scheduler is stepped once per interval); unit strings (``5ep``, ``2000st``, ``10%``) are accepted too.
* A ``$var`` is accepted wherever the value passes into the neutral spelling unchanged. Where the framework
  computes with it (``lr * start_factor``, ``decay_steps - warmup_steps``, a milestone cut), the value must be a
  literal and the error says why; a torch scheduler whose ``lr`` is a var becomes ``{kind: scale, by: $lr, of: <the
  schedule at lr 1>}``.
* torch schedulers scale the optimizer's base lr: they take it as ``lr`` (default: the previous phase's final
  value). ``CyclicLR`` and ``OneCycleLR`` set the lr themselves and take no ``lr``.
* ``duration`` (schedspec's own, on every framework kind) cuts the framework's schedule to that length, for use as a
  phase of a neutral sequence.
* A value the framework's constructor rejects is rejected with the framework's rule spelled out.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from . import detectron2, keras, mmengine, optax, timm, torch, transformers
from ._base import FrameworkKind

__all__ = ["DIALECTS", "KINDS", "kinds_like", "neutral_document", "submodel"]

# in this order in the document union (and its JSON Schema)
DIALECTS = (torch, keras, optax, mmengine, detectron2, transformers, timm)

KINDS: dict[str, type[FrameworkKind]] = {name: model for d in DIALECTS for name, model in d.KINDS.items()}

# mappings inside a framework kind that have no ``kind`` of their own: (parent key, model, what to call it)
_SUBMODELS = (("cosine_kwargs", optax.WarmupCosineArgs, "an optax.sgdr_schedule `cosine_kwargs` entry"),)


def kinds_like(kind: str) -> str | None:
    """``"torch kinds: torch.StepLR, ..."`` for a misspelt framework kind, else None."""
    prefix = kind.split(".", 1)[0] if "." in kind else None
    names = [k for k in KINDS if k.split(".", 1)[0] == prefix]
    return f"{prefix} kinds: {', '.join(names)}" if names else None


def submodel(path: tuple, data: Any) -> tuple[type[BaseModel], str] | None:
    """The model of a mapping inside a framework kind that has no ``kind`` of its own (an sgdr ``cosine_kwargs``
    entry), and what to call it in a message; None for any other path."""
    for key, model, what in _SUBMODELS:
        if len(path) >= 2 and path[-2] == key:
            return model, what
    return None


def neutral_document(spec: Any) -> dict:
    """The spec's document with every framework-kind node replaced by its neutral spelling (same fingerprint).

    ``spec`` is a :class:`schedspec.Spec`: its ``doc.data`` and ``desugared`` (the neutral data of each outermost
    framework-kind node, by document path, recorded when it was lowered) are read.
    """
    desugared = spec.desugared
    data = copy.deepcopy(spec.doc.data)

    def replace(x: Any, path: tuple) -> Any:
        if path in desugared:
            return copy.deepcopy(desugared[path])
        if isinstance(x, dict):
            return {k: (replace(v, path + (k,)) if k != "vars" or path else v) for k, v in x.items()}
        if isinstance(x, list):
            out = []
            for i, v in enumerate(x):
                new = replace(v, path + (i,))
                if isinstance(new, list) and (path + (i,)) in desugared and not isinstance(v, list):
                    out.extend(
                        new
                    )  # a desugared sequence inside a sequence: nested lists flatten, same meaning
                else:
                    out.append(new)
            return out
        return x

    return replace(data, ())
