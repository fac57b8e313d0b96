"""Metric reports for ``plateau`` phases: where each plateau sits, what reports it needs, and their validation.

The report clock (one convention for every target):

* A plateau reports once per ``every`` (default one epoch). Report ``j`` of a metric is made at the **end of
  interval j**, i.e. after the update ``k = (j + 1) * every - 1``, counting from ``k = 0`` of the whole schedule
  (not from the plateau's start). ``metrics={"val_loss": [m0, m1, ...]}`` lists them in that order, one per
  interval, including intervals before the plateau begins (those are ignored).
* A plateau that begins at global step ``B`` and lasts ``D`` consumes the reports made while it is active:
  ``B // every <= j < (B + D) // every`` (no upper bound when it never ends).
* Its value at ``k`` is the value after the reports completed before ``k``, i.e. reports ``j < k // every``: a
  reduction decided at report ``j`` applies from ``k = (j + 1) * every``, torch's "from the next epoch".
* Its final value (carried into the next phase, e.g. a cosine cooldown that starts "from whatever the plateau
  reached") is the value after its last report.

This module imports neither jax nor a framework: it is shared by :mod:`schedspec.evaluator` and the adapters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported where reports are handled: `check` must not pay for it
    import numpy as np

from . import _compile, ir
from . import backends as B
from . import formulas as F
from .errors import Issue, SpecError, did_you_mean, format_path


@dataclasses.dataclass(frozen=True)
class Site:
    """One plateau in a schedule tree.

    Attributes:
        node: the plateau's IR node.
        origin: the global step at which it begins (an int, or a var-dependent duration before binding).
        index: its position among the plateaus of the tree (pre-order), which is also its position among the
            ``kind: plateau`` mappings of the document under the same schedule.
        in_repeat: it sits inside a ``repeat`` (not allowed: reports cannot restart).
    """

    node: ir.Plateau
    origin: Any
    index: int
    in_repeat: bool = False

    @property
    def monitor(self) -> str:
        return self.node.monitor

    @property
    def every(self) -> int:
        return self.node.every

    def first(self, steps: dict | None = None) -> int:
        """The first report it consumes: ``origin // every``."""
        return ir.dur_value(self.origin, steps or {}) // self.every

    def stop(self, steps: dict | None = None) -> int | None:
        """One past the last report it consumes: ``(origin + duration) // every`` (None: never ends)."""
        if self.node.duration is None:
            return None
        return ir.dur_value(ir.dur_add(self.origin, self.node.duration), steps or {}) // self.every

    def needed(self, k_max: int, steps: dict | None = None) -> int:
        """How many reports (from report 0) evaluating every ``k <= k_max`` needs; 0 if none of its own."""
        return F.plateau_needed(k_max, ir.dur_value(self.origin, steps or {}), self.every, self.stop(steps))


def sites(node: ir.Node) -> list[Site]:
    """Every plateau of a schedule tree, in pre-order, with the global step it begins at.

    A sequence's part *i* begins at the sum of the durations before it; the parts of any other combinator
    (``product``, ``scale``, ``clip``, ...) begin where it does. Carried starts (``Final``) are not sites.
    """
    plateaus = [(x, begin, in_repeat) for x, begin, in_repeat in ir.timeline(node) if isinstance(x, ir.Plateau)]
    return [Site(x, begin, i, in_repeat) for i, (x, begin, in_repeat) in enumerate(plateaus)]


def site_path(root: tuple, site: Site) -> tuple:
    """The document path of a site: its plateau's source path (a ``kind: plateau`` mapping, or the framework kind it
    was desugared from, e.g. ``torch.ReduceLROnPlateau``), or ``root`` when the node has none (built by hand)."""
    return site.node.path or tuple(root)


def open_ended_issues(doc, schedules: Mapping[str, ir.Node], cannot: str, fix: str) -> list[Issue]:
    """A positioned issue at each plateau of ``schedules`` (``{hparam: bound node}``) that never ends, for an
    adapter that keeps the reports in fixed-size buffers: ``cannot`` says what it cannot size, ``fix`` the argument
    that sizes them. (A spec's ``total`` ends every plateau: there is none in a spec with one.)"""
    issues: list[Issue] = []
    for name, node in schedules.items():
        for site in sites(node):
            if site.stop() is not None:
                continue
            path = site_path((name,), site)
            issue = doc.issue(path, f"{format_path(path)}: this `plateau` never ends, so it consumes metric reports "
                                    f"forever and {cannot}: pass {fix} (how many reports training makes), or give the "
                                    "plateau a `duration` or the spec a `total`")  # fmt: skip
            if issue not in issues:
                issues.append(issue)
    return issues


def schedules(program: ir.Program) -> list[tuple[tuple, ir.Node]]:
    """``(document path, node)`` of every schedule in a program (hyperparameters, then per-group overrides)."""
    out = [((name,), node) for name, node in program.hparams.items()]
    for group, hps in (getattr(program, "groups", None) or {}).items():
        for name, node in hps.items():
            out.append((("groups", group, name), node))
    return out


def check_program(schedule_nodes: list[tuple[tuple, ir.Node]], doc) -> list[Issue]:
    """Lowering checks of plateaus: none inside a ``repeat``; one ``every`` per monitored metric."""
    issues = []
    clocks: dict[str, tuple[int, tuple]] = {}
    for root, node in schedule_nodes:
        for site in sites(node):
            path = site_path(root, site)
            if site.in_repeat:
                issues.append(doc.issue(path, "a `plateau` cannot be inside a `repeat`: its metric reports cannot "
                                              "restart; put the plateau in a sequence instead"))  # fmt: skip
                continue
            seen = clocks.setdefault(site.monitor, (site.every, path))
            if seen[0] != site.every:
                issues.append(
                    doc.issue(
                        path,
                        f"this plateau reports '{site.monitor}' every {site.every} steps, but the plateau at "
                        f"{format_path(seen[1])} reports it every {seen[0]}: a metric has one report clock "
                        "(one list of reports); give both the same `every`",
                    )
                )
    return issues


def monitors(program: ir.Program) -> list[str]:
    """Every metric name monitored anywhere in the program, in order of appearance."""
    out: list[str] = []
    for _, node in schedules(program):
        for site in sites(node):
            if site.monitor not in out:
                out.append(site.monitor)
    return out


def _member_steps(program: ir.Program) -> list[dict[str, int]]:
    """The duration vars' values (interval units) of every sweep member (one dict when there is no sweep)."""
    dvars = {n: v for n, v in program.vars.items() if v.steps is not None}
    if not dvars:
        return [{}]
    members = program.sweep_members() if program.sweep_vars else [{}]
    out = []
    for m in members:
        steps = {}
        for n, v in dvars.items():
            steps[n] = v.steps[v.raw.index(m[n])] if n in m else v.steps[0]
        out.append(steps)
    return out


def _as_reports(spec, name: str, value: Any) -> np.ndarray:
    import numpy as np

    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim != 1:
        got = "a scalar" if arr is not None and arr.ndim == 0 else f"{type(value).__name__}"
        raise SpecError(
            [Issue(spec.file, None, None, f"metrics.{name}", f"metrics['{name}'] must be a 1-D list of numbers "
                   f"(one report per interval), got {got}")]
        )  # fmt: skip
    return arr


def validate_names(spec, metrics: Mapping | None) -> dict[str, np.ndarray]:
    """``metrics`` as float64 arrays, or a SpecError for a name no plateau monitors or a malformed list."""
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise SpecError(
            [Issue(spec.file, None, None, "metrics", f"metrics must be a mapping {{name: [reports]}}, got "
                   f"{type(metrics).__name__}")]
        )  # fmt: skip
    known = monitors(spec.program)
    out = {}
    for name, value in metrics.items():
        if name not in known:
            if known:
                msg = (f"metrics['{name}']: no `plateau` of this spec monitors '{name}'{did_you_mean(str(name), known)} "
                       f"(monitored: {', '.join(known)})")  # fmt: skip
            else:
                msg = f"metrics['{name}']: this spec has no `plateau`, so it takes no metric reports"
            raise SpecError([Issue(spec.file, None, None, f"metrics.{name}", msg)])
        out[name] = _as_reports(spec, name, value)
    return out


def _clock(every: int, interval: str) -> str:
    unit = "step" if interval == "step" else "epoch"
    return f"{every} {unit}{'s' if every != 1 else ''}"


def check_lengths(spec, root: tuple, node: ir.Node, given: dict[str, np.ndarray], k_max: int) -> None:
    """Raise a positioned SpecError when evaluating ``k <= k_max`` needs reports that ``given`` lacks."""
    if k_max < 0:
        return
    program = spec.program
    issues = []
    members = _member_steps(program)
    for site in sites(node):
        need = max(site.needed(k_max, steps) for steps in members)
        if need == 0:
            continue
        name = site.monitor
        path = site_path(root, site)
        clock = _clock(site.every, program.interval)
        first = min(site.first(steps) for steps in members)
        unit = program.interval
        span = f"{unit} j" if site.every == 1 else f"{unit}s [{site.every}*j, {site.every}*(j+1))"
        where = f"report j is made at the end of {span}, counted from k = 0; this plateau consumes reports from #{first}"
        if name not in given:
            issues.append(spec.doc.issue(
                path, f"{format_path(path)}: this `plateau` monitors '{name}': evaluating k up to {k_max} needs "
                      f"{need} reports of it (one per {clock}; {where}); pass metrics={{'{name}': [...]}}"))  # fmt: skip
        elif len(given[name]) < need:
            issues.append(spec.doc.issue(
                path, f"{format_path(path)}: metrics['{name}'] has {len(given[name])} reports, but evaluating k up "
                      f"to {k_max} needs {need} (one per {clock}; {where})"))  # fmt: skip
    if issues:
        raise SpecError(issues)


def inputs(spec, root: tuple, node: ir.Node, metrics: Mapping | None, k_max: int) -> dict[str, np.ndarray]:
    """Validated float64 reports for every metric the tree monitors (an empty list where none are needed)."""
    import numpy as np

    given = validate_names(spec, metrics)
    check_lengths(spec, root, node, given, k_max)
    out = {}
    for site in sites(node):
        out.setdefault(site.monitor, given.get(site.monitor, np.zeros((0,), dtype=np.float64)))
    return out


# ------------------------------------------------------------------------------------------ online reports
def trajectories(xp, bound_sites: list[Site], env: dict) -> dict:
    """``{("trajectory", node, origin): (values, count)}`` for the sites of a bound tree, from the reports in
    ``env`` (``("metric", name)`` and ``("count", name)``): what an online adapter keeps between reports."""
    out = {}
    for site in bound_sites:
        n = site.node
        origin = site.origin
        reports = env[("metric", n.monitor)]
        count = env.get(("count", n.monitor), len(reports))
        start = _compile.param(n.start, xp, {**env, _compile.ORIGIN: origin})
        first = origin // n.every
        stop = site.stop()
        traj = F.plateau_trajectory(xp, reports, first, stop, start, n.mode, n.factor, n.patience, n.threshold,
                                    n.threshold_mode, n.cooldown, n.min, n.eps)  # fmt: skip
        out[("trajectory", n, origin)] = (traj, count)
    return out


class Reports:
    """Host-side metric reports of one bound schedule (the torch adapter and the Keras callback).

    ``add(name, value)`` appends report ``j = len(reports[name])``; the value after each report is recomputed for
    every plateau (in float64, with the shared formulas: one scan over the reports so far, once per report), and
    :meth:`env` hands it to the evaluator, so evaluating one step costs a lookup.

    Args:
        nodes: the bound schedule trees that may hold plateaus (every hyperparameter and group of a spec).
    """

    def __init__(self, nodes: list[ir.Node]):
        self.sites = [s for node in nodes for s in sites(node)]
        self.names = sorted({s.monitor for s in self.sites})
        self.every = {s.monitor: s.every for s in self.sites}
        self.reports: dict[str, list[float]] = {name: [] for name in self.names}
        self._env: dict = {}
        self._refresh()

    def _refresh(self) -> None:
        env = {("metric", n): list(v) for n, v in self.reports.items()}
        self._env = trajectories(B.MathXP, self.sites, env)

    def add(self, name: str, value: Any) -> int:
        """Record the next report of ``name``; return its index ``j``."""
        self.reports[name].append(float(value))
        self._refresh()
        return len(self.reports[name]) - 1

    def load(self, reports: Mapping[str, list]) -> None:
        """Replace every report (resume)."""
        self.reports = {name: [float(x) for x in reports.get(name, [])] for name in self.names}
        self._refresh()

    def env(self) -> dict:
        return self._env

    def missing(self, k: int) -> list[tuple[Site, int]]:
        """``(site, reports needed)`` for each plateau that lacks reports to give the value at update ``k``."""
        out = []
        for site in self.sites:
            need = site.needed(k)
            if need > len(self.reports[site.monitor]):
                out.append((site, need))
        return out


__all__ = ["Site", "sites", "check_program", "monitors", "inputs", "validate_names", "check_lengths",
           "trajectories", "Reports"]  # fmt: skip
