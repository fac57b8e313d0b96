"""Two schedules compared: the difference panel and where they first differ beyond the parity tolerance
(:data:`~schedspec.plotting.data.DIFF_TOLERANCE`), found while every step is scanned once."""

from __future__ import annotations

import numpy as np

from .. import evaluator
from ..errors import PlotError
from .band import BAND_ABOVE, Band, member_boundaries, named_members, resolve_members, sample_steps, spread
from .data import (
    _CHUNK,
    DIFF_TOLERANCE,
    Curve,
    DiffResult,
    Panel,
    View,
    _boundaries,
    _member_label,
    _members,
    _scan,
    _short,
    _ylabel,
)  # fmt: skip

__all__ = ["diff_line", "diff_panels"]


def diff_panels(specs: list, hparam: str, grids: list, factors: list, labels: list, style_of: dict, per_spec: list,
                columns: int, dtype: str, log: bool, wanted=None) -> tuple[list[Panel], DiffResult]:  # fmt: skip
    """The panels of ``--diff`` (both schedules, and their difference) and the first update where they differ.

    Every update of every member is compared. A sweep of more than :data:`~schedspec.plotting.band.BAND_ABOVE`
    members is drawn as the plain plot draws it: per spec a band (min/max and quantiles across the members, at the
    sampled updates) and the named members (``wanted``, else the first, the last, the highest and lowest peak of
    the first spec), and in the difference panel the band of the members' differences and the named members'.
    """
    a, b = specs
    members_a, sweep_a = _members(a, hparam)
    members_b, sweep_b = _members(b, hparam)
    if len(members_a) != len(members_b):
        raise PlotError(
            f"--diff: the specs have {len(members_a)} and {len(members_b)} sweep members; they must match"
        )
    m = len(members_a)
    tol_abs, tol_rel = DIFF_TOLERANCE["float32" if dtype == "float32" else "float64"]
    # A step differs when |a - b| > tol_abs * peak + tol_rel * |v|, with peak (per member) the larger maximum of
    # the two over the whole range: known only at the end. So each step keeps the peak above which it would be
    # equal, `crit = (|a - b| - tol_rel |v|) / tol_abs`, while it exceeds the running peak (a lower bound of the
    # final one); the rest can never differ. At the end the steps with crit > peak are the differences.
    state = {"max": 0.0, "n": 0, "peak": np.zeros(m), "kept": []}

    def both(k):
        # a schedule the sweep does not change is one curve (evaluate gives it one equal row per member)
        va = np.atleast_2d(evaluator.evaluate(a, k, hparam=hparam, dtype=dtype, metrics=per_spec[0]))[:m]
        vb = np.atleast_2d(evaluator.evaluate(b, k, hparam=hparam, dtype=dtype, metrics=per_spec[1]))[:m]
        va, vb = va.astype(np.float64), vb.astype(np.float64)
        return np.concatenate([va, vb, va - vb])

    def hook(k, v):
        va, vb = v[:m], v[m : 2 * m]
        state["n"] += k.size
        with np.errstate(invalid="ignore"):
            same = (va == vb) | (np.isnan(va) & np.isnan(vb))
            d = np.where(same, 0.0, np.abs(va - vb))
            d = np.where(np.isnan(d), np.inf, d)  # one side NaN: a difference
            if d.size:
                state["max"] = max(state["max"], float(d.max()))
            mag = np.fmax(np.abs(va), np.abs(vb))
            if mag.size:
                state["peak"] = np.fmax(state["peak"], np.nanmax(np.where(np.isfinite(mag), mag, np.nan), axis=1,
                                                                initial=0.0))  # fmt: skip
            crit = np.where(same, -np.inf, (d - tol_rel * np.where(np.isfinite(mag), mag, 0.0)) / tol_abs)
        rows, cols = np.nonzero(crit > state["peak"][:, None])
        if rows.size:
            state["kept"].append((k[cols], rows, crit[rows, cols], va[rows, cols], vb[rows, cols]))

    if m > BAND_ABOVE:
        _compare(both, grids[0], hook, rows=3 * m)
        panels_out = _band_panels(specs, hparam, members_a, members_b, grids[0], factors[0], columns, both, labels,
                                  per_spec, log, wanted)  # fmt: skip
    else:
        panels_out = _curve_panels(specs, hparam, members_a, sweep_a, members_b, sweep_b, grids[0], factors[0],
                                   columns, both, hook, labels, style_of, per_spec, log)  # fmt: skip
    first = count = None
    if state["kept"]:
        ks, rows, crit, va, vb = (np.concatenate(x) for x in zip(*state["kept"]))
        real = crit > state["peak"][rows]
        if real.any():
            ks, va, vb = ks[real], va[real], vb[real]
            order = np.lexsort((rows[real], ks))
            first = int(order[0])
            count = int(np.unique(ks).size)
    result = DiffResult(
        None if first is None else int(ks[first]),
        None if first is None else int(ks[first]) * factors[0],
        None if first is None else float(va[first]),
        None if first is None else float(vb[first]),
        state["max"],
        state["n"],
        count or 0,
        "float32" if dtype == "float32" else "float64",
    )
    return panels_out, result


def _curve_panels(specs, hparam, members_a, sweep_a, members_b, sweep_b, grid, f, columns, both, hook, labels,
                  style_of, per_spec, log) -> list[Panel]:  # fmt: skip
    """Every member of both specs as a curve (its envelope), and each member's difference."""
    m = len(members_a)
    rows, exact = _scan(both, grid, columns, hook, rows=3 * m)
    main_curves, diff_curves = [], []
    for j in range(m):
        for side, (spec_i, members, sweep) in enumerate(
            ((0, members_a, sweep_a), (1, members_b, sweep_b))
        ):
            k, v = rows[side * m + j]
            label = _member_label(labels[spec_i], members[j] if sweep else None)
            main_curves.append(
                Curve(
                    label,
                    k,
                    k * f,
                    v,
                    exact,
                    style_of[(spec_i, j)],
                    spec_i,
                    members[j] if sweep else None,
                )
            )
        k, v = rows[2 * m + j]
        dl = _member_label(f"{labels[0]} − {labels[1]}", members_a[j] if sweep_a else None)
        diff_curves.append(Curve(dl, k, k * f, v, exact, j, -1, members_a[j] if sweep_a else None))
    bounds = []
    for i, s in enumerate(specs):
        members, _ = _members(s, hparam)
        bounds += _boundaries(s, hparam, members, grid.start, grid.last, f, style_of[(i, 0)],
                              per_spec[i])  # fmt: skip
    return [
        Panel(hparam, _ylabel(hparam), main_curves, bounds, log),
        Panel("difference", f"difference ({hparam})", diff_curves, [], False),
    ]


def _compare(both, grid, hook, rows: int) -> None:
    """``hook`` over every update of ``grid`` in chunks of equal length (one compilation; the last padded with
    its last update, which the hook does not see twice), without the envelopes a drawn curve needs."""
    n = grid.count
    per = max(1, min(n, _CHUNK // max(1, rows)))
    for lo in range(0, n, per):
        i = np.arange(lo, lo + per, dtype=np.int64)
        np.minimum(i, n - 1, out=i)
        k = grid.k(i)
        valid = min(per, n - lo)
        hook(k[:valid], np.atleast_2d(both(k))[:, :valid])


def _band_panels(specs, hparam, members_a, members_b, grid, f, columns, both, labels, per_spec, log,
                 wanted) -> list[Panel]:  # fmt: skip
    """A big sweep compared: per spec a band and the named members; the band of the differences."""
    a, b = specs
    m = len(members_a)
    keep = resolve_members(wanted, members_a, a.file) if wanted else [0, m - 1]
    marks = member_boundaries(a.program, hparam, members_a, keep, most=4 * columns)
    marks |= member_boundaries(b.program, hparam, members_b, keep, most=4 * columns)
    k, exact = sample_steps(grid, columns, marks)
    values = np.atleast_2d(both(k))
    va, vb, vd = values[:m], values[m : 2 * m], values[2 * m :]
    x = k * f
    # styles: the two bands 0 and 1, the named members of the first spec 2, 4, ... and of the second 3, 5, ...
    bands = [Band(labels[i], m, k, x, *spread(v), exact, i, i) for i, v in ((0, va), (1, vb))]
    diff_band = Band(f"{labels[0]} − {labels[1]}", m, k, x, *spread(vd), exact, 0, -1)
    named = named_members(va, keep if wanted else None)
    main_curves, diff_curves, bounds = [], [], []
    for n, (j, role) in enumerate(named):
        for i, (v, members) in enumerate(((va, members_a), (vb, members_b))):
            label = _member_label(f"{role} #{j}: {labels[i]}", members[j])
            main_curves.append(Curve(label, k, x, v[j], exact, 2 + 2 * n + i, i, members[j]))
        label = _member_label(f"{role} #{j}: {labels[0]} − {labels[1]}", members_a[j])
        diff_curves.append(Curve(label, k, x, vd[j], exact, 1 + n, -1, members_a[j]))
    for i, (s, members) in enumerate(((a, members_a), (b, members_b))):
        bounds += _boundaries(s, hparam, [members[j] for j, _ in named], grid.start, grid.last, f, 2 + i,
                              per_spec[i])  # fmt: skip
    return [
        Panel(hparam, _ylabel(hparam), main_curves, bounds, log, bands),
        Panel("difference", f"difference ({hparam})", diff_curves, [], False, [diff_band]),
    ]


def _diff_line(view: View) -> str:
    d = view.diff
    a, b = view.labels[:2]
    unit = view.xunit
    if d is None:
        return ""
    tol_abs, tol_rel = DIFF_TOLERANCE[d.dtype]
    tolerance = f"{tol_abs:g}*peak + {tol_rel:g}*|v|, {d.dtype}"
    span = f"{_short(view.xlim[0])}..{_short(view.xlim[1])}"
    if d.k is None:
        rounding = "" if d.max_abs == 0 else f"; largest difference {d.max_abs:.6g}, rounding"
        return f"{a} and {b} are equal at every {unit} in {span} ({d.checked} compared; tolerance {tolerance}{rounding})"
    where = f"{unit} {d.x:g}" if unit != "step" or d.x != d.k else f"step {d.k}"
    return (f"first difference at {where}: {a} = {d.a!r}, {b} = {d.b!r}; {d.count} of the {d.checked} compared "
            f"differ beyond the tolerance {tolerance} (largest difference {d.max_abs:.6g})")  # fmt: skip


def diff_line(view: View) -> str:
    """The one-line summary of a ``--diff`` view (where the schedules first differ)."""
    return _diff_line(view)
