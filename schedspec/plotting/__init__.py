"""Plots of schedules: matplotlib figures (PNG, SVG, PDF, notebooks) and text charts for the terminal.

Faithful at any length. A schedule of 10**7 steps is evaluated at **every** step (with
:func:`schedspec.evaluate`, in chunks) and reduced to at most four points per pixel column: the first, the smallest,
the largest and the last value of the column, in step order (the "M4" reduction). Drawing those points gives the
same pixels as drawing every step, so no jump, spike or restart is lost, and every plotted point is a true
``(k, value(k))`` pair. Schedules with fewer than ``4 x columns`` steps are plotted at every step.

A sweep of more than :data:`~schedspec.plotting.band.BAND_ABOVE` members is drawn as a band (min/max and
quantiles across members at sampled steps, see :mod:`.band`) plus a few named members; a sweep whose members'
peaks span more than two decades gets a log axis by default. ``run=LOG`` draws a training run over its plan with
its first divergence (:mod:`.run`, through :func:`schedspec._verify.verify`).

By concern: :mod:`.data` (the view's dataclasses, the reduction, grids, boundaries), :mod:`.prepare` (a
:class:`View` of one or more specs), :mod:`.band` (big sweeps), :mod:`.run` (a run's log over the plan),
:mod:`.diff` (two specs compared), :mod:`.figure` (matplotlib, imported only
when a figure is drawn: ``pip install 'schedspec[plot]'``) and :mod:`.terminal` (text charts, numpy only).
"""

from ..errors import PlotError as PlotError
from .data import DIFF_TOLERANCE as DIFF_TOLERANCE
from .data import Boundary as Boundary
from .data import Curve as Curve
from .data import DiffResult as DiffResult
from .data import Panel as Panel
from .data import View as View
from .data import _Grid as _Grid  # the M4 reduction's grid and scan, exercised directly by the tests
from .data import _scan as _scan
from .diff import diff_line as diff_line
from .figure import FORMATS as FORMATS
from .figure import _mpl as _mpl
from .figure import figure as figure
from .figure import plot as plot
from .figure import render as render
from .figure import repr_svg as repr_svg
from .figure import save as save
from .prepare import prepare as prepare
from .terminal import text as text

__all__ = [
    "PlotError", "Curve", "Boundary", "Panel", "View", "DiffResult", "prepare", "plot", "figure", "render",
    "repr_svg", "text", "save", "diff_line", "FORMATS", "DIFF_TOLERANCE",
]  # fmt: skip
