"""What ``schedspec check`` computes about a spec, apart from printing it: the phase table, exact min/max over
every sweep member, the metrics the plateaus need, the parameter groups' lines, and how far to evaluate.

Nothing here imports numpy at module level, jax, a framework or matplotlib: ``check`` stays fast. The CLI prints
these results; plotting and the evaluator's callers use :func:`parse_range` and :func:`default_length`.
"""

from __future__ import annotations

from . import _compile, _metrics, _range, ir
from ._text import short_number
from .errors import SpecError, UsageError
from .lowering import bind

__all__ = ["default_length", "group_lines", "minmax", "monitors", "parse_range", "phase_rows", "value_range"]


def parse_range(text: str) -> range:
    """``"A:B"`` / ``"A:B:S"`` / ``"A"`` -> ``range(A, B[, S])`` of update indices (B exclusive; ``"A"`` is A alone).

    Raises:
        UsageError: not whole numbers, ``A < 0``, ``B <= A``, ``S <= 0``, or a step at or above 2**31.
    """
    parts = text.split(":")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise UsageError(f"--at expects A:B or A:B:S with whole numbers, got {text!r}") from None
    if len(nums) == 1:
        nums = [nums[0], nums[0] + 1]
    if len(nums) not in (2, 3) or (len(nums) == 3 and nums[2] <= 0) or nums[0] < 0 or nums[1] <= nums[0]:
        raise UsageError(f"--at expects A:B[:S] with 0 <= A < B and S > 0, got {text!r}")
    if nums[1] - 1 > 2**31 - 1:
        raise UsageError("--at: steps must be below 2**31")
    return range(*nums)


def default_length(spec, hparam: str = "lr") -> int | None:
    """How far to evaluate by default: to the end of the schedule or `total`, whichever is later (the longest sweep
    member's end when a duration var sweeps); None if it never ends."""
    program = spec.program
    node = program.hparams.get(hparam)
    if node is None:
        return program.total
    ends = {_compile.dur(node.duration, g.env) for g in _range.groups(node.duration, program.vars)}
    if None in ends:
        return program.total
    return max([*ends, *([program.total] if program.total is not None else [])])


def phase_rows(node: ir.Node) -> list[tuple[str, int, int | None, float | None, float | None]]:
    """The top-level phases of a bound schedule: ``(kind, begin, end, start value, end value)`` (float64; a value
    is None where it cannot be computed without metric reports; ``end`` None for a phase that never ends)."""
    rows = []
    for part, begin, end in ir.phases(node):
        fn = _compile.build(part, _range.SafeMathXP)
        v0 = _safe(fn, 0)
        if v0 is None and isinstance(part, ir.Plateau):  # no report counts at its first step: its start
            v0 = _safe(lambda t, env, p=part.start: _compile.param(p, _range.SafeMathXP, env), 0)
        v1 = _safe(fn, part.duration) if part.duration is not None else None
        rows.append((_label(part), begin, end, v0, v1))
    return rows


def _label(part: ir.Node) -> str:
    """A phase's kind, with a repeat's real cycle length and clock shift where it has them ("repeat (period 52/3,
    shift 1)")."""
    if ir.has_real_cycles(part):
        extra = ([f"period {ir.cycle_length(part)}"] if part.span is not None else []) + (
            [f"shift {part.shift}"] if part.shift else [])  # fmt: skip
        return f"repeat ({', '.join(extra)})"
    return ir.kind(part)


def _safe(fn, t):
    try:
        return float(fn(t, {}))
    except SpecError:
        return None


def minmax(program: ir.Program, hparam: str, length: int | None) -> tuple[float, float] | None:
    """(min, max) over steps 0..length of a schedule of ``program`` (every sweep member of its vars), or None when
    its values depend on metric reports (a plateau) or ``length`` is None; see :func:`value_range`."""
    r = value_range(program, hparam, lambda d: length)
    return None if r is None else r[:2]


def value_range(program: ir.Program, hparam: str, length_of=None) -> tuple[float, float, set[int]] | None:
    """(min, max, lengths) of ``program.hparams[hparam]`` over steps 0..length for EVERY sweep member, exact.

    ``length_of(duration)`` gives the range of a member whose schedule lasts ``duration`` (default: to its end or
    ``total``, whichever is later); ``lengths`` is the set of ranges used. The analysis (:mod:`schedspec._range`)
    evaluates only the steps where an extreme can be (each monotone piece's ends; periodic shapes' first and last
    cycles) for all members at once, and densely only a product or sum of changing parts. None when the values
    depend on metric reports, or a member never ends and no ``total`` is set.
    """
    node = program.hparams[hparam]
    if length_of is None:
        def length_of(d):
            lengths = [x for x in (d, program.total) if isinstance(x, int)]
            return max(lengths) if lengths else None
    lo, hi, lengths = float("inf"), -float("inf"), set()
    try:
        for group in _range.groups(node, program.vars):
            length = length_of(_compile.dur(node.duration, group.env))
            if length is None:
                return None
            a, b = _range.extrema(node, 0, length, group)
            lo, hi = min(lo, float(a.min())), max(hi, float(b.max()))
            lengths.add(length)
    except (_range.NeedsMetrics, SpecError):  # a plateau: its values depend on the reports
        return None
    return lo, hi, lengths


def monitors(node: ir.Node) -> list[str]:
    """The metrics the plateaus of a schedule monitor, in order (numpy-free, jax-free)."""
    return list(dict.fromkeys(s.monitor for s in _metrics.sites(node)))


def group_lines(program: ir.Program, unit: str, member: dict | None = None) -> list[str]:
    """``schedspec check`` lines for the groups of ``program`` (with its vars): each overridden schedule's phases, as
    bound to the sweep ``member`` (default: the first value of every var), and its exact min/max over EVERY sweep
    member, each to its own end or ``total`` (whichever is later), as the document's own min/max line."""
    if member is None:
        member = {n: program.vars[n].raw[0] for n in program.sweep_vars}
    bound = bind(program, member)
    lines = []
    for gname, own in bound.groups.items():
        lines.append(f"  group {gname}:" + ("" if own else " the document's schedules"))
        for name, node in own.items():
            if isinstance(node, ir.Scale) and node.of == bound.hparams.get(name):
                phases = f"{short_number(node.by)} x the document's `{name}`"
            else:
                phases = "; ".join(f"{ir.kind(p)} {b}..{'forever' if e is None else e}" for p, b, e in ir.phases(node))
            lines.append(f"    {name}: {phases}")
            sub = ir.Program(hparams={name: program.groups[gname][name]}, vars=program.vars, interval=program.interval,
                             steps_per_epoch=program.steps_per_epoch, total=program.total)  # fmt: skip
            r = value_range(sub, name)
            if r is not None:
                lo, hi, lengths = r
                span = f"0..{max(lengths)}" + ("" if len(lengths) == 1 else ", each member to its own end")
                lines.append(f"      min {short_number(lo)}  max {short_number(hi)}  (over {unit}s {span})")
            elif monitors(node):
                lines.append(f"      values depend on the metric reports of {', '.join(monitors(node))}")
    return lines
