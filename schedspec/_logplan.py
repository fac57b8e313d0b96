"""``schedspec.log_plan(spec, writer)``: the planned schedule in TensorBoard, next to the run it drives.

What is written (``prefix`` defaults to ``"plan"``):

* ``plan/<hparam>`` (and ``plan/<group>/<hparam>`` for each parameter group's own schedules): the planned value
  as scalars, with ``step`` = the spec's ``k`` (optimizer updates for ``interval: step``, epochs for
  ``interval: epoch``) from 0 to the end of the schedule (or ``total``, or ``end=``).
* ``plan/spec`` and ``plan/fingerprint``: the spec as YAML (``spec.to_yaml()``; comments are not kept; the vars
  given to ``log_plan`` follow it) and its fingerprint, as text.
* ``plan/plot``: the plot :func:`schedspec.plotting.figure` draws (every hyperparameter), as an RGB image.

Cost: at most ``points`` scalars per schedule. The steps are ``points // 2`` evenly spaced ones (0 and the end
included) plus, for each boundary ``b`` where the schedule may jump or bend (a phase's start, a step or
multistep milestone, a piecewise point, a repeat's restart, a plateau's report step), ``b - 1`` and ``b``, so
a jump is drawn as a vertical edge at its exact step. Boundaries come first from the top-level phases, then
from inside them, until ``points // 2`` are taken; with more than that (a ``step`` of ``every: 1`` over 10**6
steps), the rest are represented by the even grid only. Values are evaluated in float64 with numpy (no jax) and
TensorBoard stores them as float32.

The writer is ``torch.utils.tensorboard.SummaryWriter`` or tensorboardX's (anything with ``add_scalar``,
``add_text`` and ``add_image``); nothing here imports torch or tensorboard, and matplotlib only for the image.
"""

from __future__ import annotations

import math
from typing import Any

from . import ir
from .errors import SpecError
from .evaluator import evaluate_numpy
from .lowering import bind
from .plotting import _mpl, figure
from .spec import Spec, load

__all__ = ["log_plan", "plan_steps"]

_MAX_INNER = 100_000  # a node's own boundaries enumerated at most (a step of every: 1 has one per update)


def _inner_bounds(node: Any, origin: int, limit: int, out: list[int]) -> None:
    """Global steps in ``[0, limit]`` where ``node`` (beginning at ``origin``) may jump or bend, appended to ``out``."""
    if not isinstance(node, ir.Node) or origin > limit:
        return
    dur = node.duration if isinstance(node.duration, int) else None
    stop = limit if dur is None else min(limit, origin + dur)
    if dur is not None and origin + dur <= limit:
        out.append(origin + dur)

    def every(n: Any) -> None:
        if isinstance(n, int) and n > 0 and (stop - origin) // n <= _MAX_INNER:
            out.extend(range(origin + n, stop + 1, n))

    if isinstance(node, ir.Sequence):
        begin = origin
        for part in node.parts:
            out.append(begin)
            _inner_bounds(part, begin, limit, out)
            if not isinstance(part.duration, int):
                break
            begin += part.duration
    elif isinstance(node, ir.MultiStep):
        out.extend(origin + m for m in node.milestones if isinstance(m, int))
    elif isinstance(node, ir.Piecewise):
        out.extend(origin + a for a in node.ats if isinstance(a, int))
    elif isinstance(node, (ir.Step, ir.PolynomialCycle)):
        every(node.every)
    elif isinstance(node, (ir.Exponential, ir.InverseTime)) and node.staircase:
        every(node.every)
    elif isinstance(node, ir.Plateau) and node.every > 0 and (stop - origin) // node.every <= _MAX_INNER:
        first = -(-origin // node.every) * node.every  # reports count from k = 0 of the whole schedule
        out.extend(range(max(first, origin), stop + 1, node.every))
    elif isinstance(node, ir.Cyclic) and isinstance(node.up, int) and isinstance(node.down, int):
        period, b = node.up + node.down, origin
        while b <= stop and (b - origin) // max(period, 1) <= _MAX_INNER:
            out.extend((b, b + node.up))
            b += period
    elif isinstance(node, ir.OneCycle) and isinstance(node.duration, int):
        out.append(origin + node.duration - 1)
    elif ir.has_real_cycles(node):
        length = ir.cycle_length(node)  # cycle i starts at the first step at or after i * length - shift
        i = (node.shift * length.denominator) // length.numerator
        while node.times is None or i <= node.times:
            b = origin + max(0, math.ceil(i * length - node.shift))
            if b > stop or len(out) > _MAX_INNER:
                break
            out.append(b)
            i += 1
    elif isinstance(node, ir.Repeat) and isinstance(node.period, int) and node.period > 0:
        _inner_bounds(node.of, origin, min(stop, origin + node.period), out)  # the first cycle's own boundaries
        i, b = 0, origin
        while b <= stop and (node.times is None or i <= node.times) and i <= _MAX_INNER:
            out.append(b)  # cycle i starts at origin + period * (1 + mult + ... + mult**(i-1)), rounded up
            i += 1
            span = i * node.period if node.mult == 1 else node.period * (node.mult**i - 1) / (node.mult - 1)
            b = origin + math.ceil(span - 1e-9)
    else:
        for child in node.children():
            _inner_bounds(child, origin, limit, out)


def plan_steps(node: ir.Node, end: int, points: int = 2000) -> list[int]:
    """The steps :func:`log_plan` evaluates for one bound schedule over ``[0, end]`` (see the module docs).

    Args:
        node: a bound IR schedule (no vars left).
        end: the last step (inclusive).
        points: the budget (>= 4): at most this many steps are returned.

    Returns:
        Ascending distinct steps in ``[0, end]``, 0 and ``end`` included.
    """
    import numpy as np

    points = max(4, int(points))
    grid = np.unique(np.linspace(0, end, min(end + 1, points // 2)).round().astype(np.int64)).tolist()
    top: list[int] = []
    if isinstance(node, ir.Sequence):
        begin = 0
        for part in node.parts:
            top.append(begin)
            if not isinstance(part.duration, int):
                break
            begin += part.duration
            top.append(begin)
    inner: list[int] = []
    _inner_bounds(node, 0, end, inner)
    budget = points - len(grid)
    chosen: list[int] = []
    seen: set[int] = set(grid)
    for b in dict.fromkeys(top + inner):
        pair = [x for x in (b - 1, b) if 0 <= x <= end and x not in seen]
        if len(chosen) + len(pair) > budget:
            break
        chosen += pair
        seen.update(pair)
    return sorted(seen)


def _schedules(program: ir.Program) -> list[tuple[str, str, ir.Node]]:
    """``(tag suffix, hparam, node)`` of every schedule: the document's, then each group's own."""
    out = [(name, name, node) for name, node in program.hparams.items()]
    for group, hps in program.groups.items():
        out += [(f"{group}/{name}", name, node) for name, node in hps.items()]
    return out


def _length(program: ir.Program, node: ir.Node) -> int | None:
    lengths = [x for x in (node.duration, program.total) if isinstance(x, int)]
    return max(lengths) if lengths else None


def log_plan(
    spec: Spec | str | dict,
    writer: Any,
    *,
    points: int = 2000,
    end: int | None = None,
    vars: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    prefix: str = "plan",
    image: bool = True,
) -> dict[str, int]:
    """Write the planned schedule of ``spec`` to a TensorBoard ``writer``; see the module documentation.

    Args:
        spec: a :class:`schedspec.Spec`, a path to a YAML file, or a dict.
        writer: a ``SummaryWriter`` (``torch.utils.tensorboard`` or tensorboardX).
        points: at most this many scalars per schedule (default 2000; at least 4).
        end: the last step to log (default: the end of each schedule, or ``total``).
        vars: var values (a spec with sweep vars needs one member).
        metrics: ``{name: reports}`` for the plateaus, as :func:`schedspec.evaluate` takes them.
        prefix: the tag prefix.
        image: also write the plot (needs matplotlib, the ``plot`` extra).

    Returns:
        ``{tag: number of scalars written}``.

    Raises:
        SpecError: the spec is invalid, a schedule never ends and neither ``total`` nor ``end`` is set, a sweep
            var is not fixed, or a plateau lacks ``metrics``.
        MissingDependency: ``image=True`` without matplotlib.
    """
    import numpy as np


    spec = load(spec)
    if vars:
        spec = spec.with_vars(dict(vars))
    program = spec.program
    if program.sweep_vars:
        names = ", ".join(program.sweep_vars)
        raise SpecError([spec.doc.issue(("vars",), f"log_plan logs one schedule: the spec sweeps {names}; pick one "
                                        f"member with vars={{...}}", key=True)])  # fmt: skip
    bound = bind(program)
    written: dict[str, int] = {}
    for suffix, hparam, node in _schedules(bound):
        stop = end if end is not None else _length(bound, node)
        if stop is None:
            raise SpecError([spec.doc.issue((hparam,), f"`{suffix}` never ends and the spec sets no `total`: pass "
                                            "log_plan(..., end=LAST_STEP)", key=True)])  # fmt: skip
        steps = plan_steps(node, int(stop), points)
        group = suffix.split("/")[0] if "/" in suffix else None
        k = np.asarray(steps, dtype=np.int64)
        values = evaluate_numpy(spec, k, hparam, None, metrics=metrics, group=group)
        tag = f"{prefix}/{suffix}"
        for step, value in zip(steps, np.asarray(values, dtype=float).tolist()):
            writer.add_scalar(tag, value, step)
        written[tag] = len(steps)
    text = spec.to_yaml()
    if vars:
        text += "\n# vars given to log_plan: " + ", ".join(f"{n}={v!r}" for n, v in vars.items())
    writer.add_text(f"{prefix}/spec", "\n".join("    " + line for line in text.splitlines()), 0)
    writer.add_text(f"{prefix}/fingerprint", spec.fingerprint, 0)
    if image:
        writer.add_image(f"{prefix}/plot", _image(spec, metrics), 0, dataformats="HWC")
    writer.flush()
    return written


def _image(spec: Spec, metrics: dict | None):
    """The plot of every hyperparameter as an ``(H, W, 3)`` uint8 array (matplotlib Agg, no pyplot)."""
    import numpy as np


    _mpl()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    size = (900, 420 + 160 * (len(spec.program.hparams) - 1))
    fig, _ = figure(spec, size=size, metrics=metrics) if metrics else figure(spec, size=size)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
