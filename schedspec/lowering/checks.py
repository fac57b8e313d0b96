"""Checks across phases, made while lowering: a jump at a phase start (a warning), and values that leave the float32
(or float64) range at some step (an error at the node that overflows first, with that step)."""

from __future__ import annotations

import math

from .. import _range, ir, language
from .._source import Source
from ..errors import Issue

__all__ = ["Checks"]


class Checks:
    """The lowerer's cross-phase checks (a mixin of :class:`schedspec.lowering.lowerer._Lowerer`)."""

    doc: Source
    issues: list[Issue]
    warnings: list[Issue]
    records: list[tuple]
    var_defs: dict[str, ir.VarDef]

    def _check_jump(self, m, path, carry, node):
        """Warn when the phase ``m`` (a model, or a bare number: a constant) lowered to ``node`` begins away from
        ``carry``, the previous phase's final value."""
        if isinstance(m, (int, float, str)):  # a bare number (or `$var`) is `{kind: constant, value: ...}`
            explicit = m
        else:
            explicit = getattr(m, "start", None) if not isinstance(m, language.Constant) else m.value
        first_value = None
        if isinstance(m, language.Cyclic):
            first_value = node.low
        elif isinstance(m, language.OneCycle) and isinstance(node.peak, float) and isinstance(node.div_factor, float):
            first_value = node.peak / node.div_factor
        elif explicit is not None:
            first_value = getattr(node, "value" if isinstance(node, ir.Constant) else "start", None)
        if isinstance(first_value, float) and isinstance(carry, float):
            if not math.isclose(first_value, carry, rel_tol=1e-9, abs_tol=1e-15):
                self.warn(path, f"jump from {carry:g} to {first_value:g} at the start of this phase; "
                                "omit `start` to continue from the previous value")  # fmt: skip

    def overflows(self) -> None:
        """Refuse a schedule whose values leave the float32 range (or the float64 one) at some step.

        float32 is the default of ``evaluate`` and of the JAX, Keras and Optax paths, where such a value is ``inf``
        (and ``0 * inf`` a NaN); torch computes in float64. Each node that can grow (exponential, step, multistep,
        cyclic, onecycle, repeat, scale, product, sum) is examined for every sweep member; in each schedule the one
        that overflows first (the innermost on a tie) is reported at its position, with the first step concerned.
        """
        first: dict[tuple, tuple] = {}  # root -> (step, order, node, path, begin, found)
        for order, (node, path, begin, root) in enumerate(self.records):
            if not isinstance(node, _range.GROWING):
                continue
            found = _range.overflow(node, self.var_defs, begin)
            if found is None:
                continue
            step = (begin or 0) + found.at32  # ties: the innermost (recorded first)
            if root not in first or step < first[root][0]:
                first[root] = (step, order, node, path, begin, found)
        for _, _, node, path, begin, found in first.values():
            self.err(_existing(self.doc, path), _overflow_message(node, found, begin, self._at))


_HINTS = {
    "exponential": "give it an `end` (a ceiling), a shorter `duration` or a `gamma` nearer 1",
    "step": "give it a shorter `duration` or a `gamma` nearer 1",
    "multistep": "use fewer milestones or a `gamma` nearer 1",
    "cyclic": "give it a shorter `duration` or a `gamma` nearer 1",
    "onecycle": "lower `peak` or raise `div_factor` / `final_div_factor`",
    "repeat": "give it fewer `times`, a shorter `duration` or a `decay` nearer 1",
}


def _overflow_message(node: ir.Node, found, begin: int | None, at) -> str:
    kind = ir.kind(node)
    if isinstance(begin, int):
        where32 = at(begin + found.at32)
        where64 = None if found.at64 is None else at(begin + found.at64)
    else:  # inside a repeat, or after a var-length phase: its own time
        where32 = f"its local step {found.at32}"
        where64 = None if found.at64 is None else f"its local step {found.at64}"
    member = ""
    if found.member:
        member = " with " + ", ".join(f"{n}={v}" for n, v in found.member.items())
    hint = _HINTS.get(kind, "use smaller factors")
    if where64 is not None and found.at64 == found.at32:
        return (f"this `{kind}` overflows float32 and float64 from {where32} on{member}: no target can carry it; "
                f"{hint}")  # fmt: skip
    value = "inf" if math.isinf(found.value) else f"{found.value:.6g}"
    also = "" if where64 is None else f"; it overflows float64 too, from {where64} on"
    return (f"this `{kind}` overflows float32 from {where32} on{member} (float64 value there: {value}): the float32 "
            f"paths (evaluate's default, to_jax, to_keras, to_optax, emitted keras/optax/jax modules) would give inf "
            f"or NaN{also}; {hint}")  # fmt: skip


def _existing(doc: Source, path: tuple) -> tuple:
    """The longest prefix of ``path`` that exists in the document (a framework kind's neutral parts do not)."""
    cur, out = doc.data, []
    for key in path:
        if isinstance(cur, dict) and key in cur:
            cur = cur[key]
        elif isinstance(cur, list) and isinstance(key, int) and 0 <= key < len(cur):
            cur = cur[key]
        else:
            break
        out.append(key)
    return tuple(out)
