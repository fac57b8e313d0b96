"""``schedspec plot SPEC --run LOG``: a training run's logged values over the plan, with the first divergence.

The log is read and compared by :func:`schedspec._verify.verify` (what ``schedspec verify`` prints), so the
divergence marked on the plot is the one ``verify`` reports: the first logged step whose value leaves the
tolerance ``1e-6 * peak + 1e-5 * |v|`` of the plan. Each logged value is drawn where it applies: at update
``step + shift`` (``logged_as``: applied 0, next +1, previous -1), in the plot's x unit. numpy only.
"""

from __future__ import annotations

import numpy as np

from .. import _verify
from ..errors import LogError, MissingDependency, PlotError
from .data import RunOverlay, _Grid, _scan

__all__ = ["run_overlay"]

_SHIFT = {"applied": 0, "next": 1, "previous": -1}


def run_overlay(spec, log, *, hparam: str, factor: float, xlim: tuple[float, float], columns: int,
                metrics: dict | None, logged_as: str = "applied", column: str | None = None) -> RunOverlay:  # fmt: skip
    """Compare the run's log with ``spec`` and place its values on the plot's x axis (``factor``: x units per
    update of ``spec``). A log of more than ``4 * columns`` values in the range is reduced to its per-column
    envelope (as the plan is), so every spike of the run is kept.

    Raises:
        PlotError: the log cannot be read, has no column for ``hparam`` (the message lists the columns found), or
            no logged value falls in the plotted range.
        SpecError: a spec that ``verify`` refuses (a sweep: pick the run's member with ``--set``).
    """
    try:
        report = _verify.verify(spec, log, hparam=hparam, logged_as=logged_as, column=column, metrics=metrics)
    except LogError as exc:
        raise PlotError(f"--run {exc}") from None
    except MissingDependency as exc:
        raise PlotError(f"--run {log}: {exc}") from None
    program = spec.program
    u = report.steps + _SHIFT[logged_as]
    if program.interval == "epoch" and report.unit == "updates" and program.steps_per_epoch:
        at = u / program.steps_per_epoch  # an update inside an epoch: its fraction of the epoch
    else:
        at = report.k.astype(np.float64)
    x = at * factor
    inside = (x >= xlim[0]) & (x <= xlim[1])
    if not inside.any():
        raise PlotError(f"--run {report.path}: no logged value of {report.column!r} falls in the plotted range "
                        f"{xlim[0]:g}..{xlim[1]:g} (logged steps {report.steps_text})")  # fmt: skip
    x, values = x[inside], report.logged[inside]
    if len(x) > 4 * columns:
        logged = values
        rows, _ = _scan(lambda i: logged[i][None, :], _Grid(0, 1, len(x)), columns)
        i, values = rows[0]
        x = x[i]
    first = None
    step = None
    if report.first is not None:
        step, logged, planned = report.first
        j = int(np.flatnonzero(report.steps == step)[0])
        first = (float(at[j] * factor), float(logged), float(planned))
    summary = str(report).splitlines()
    return RunOverlay(label=f"run: {report.path} ({report.column})", x=x, values=np.asarray(values, np.float64),
                      first=first, step=step, n=report.n, n_differ=report.n_differ,
                      summary="\n".join(summary))  # fmt: skip
