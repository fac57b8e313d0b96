"""``schedspec verify SPEC LOG``: did a run follow its spec? The logged hyperparameter against the plan.

**The log.** A CSV file with a header (``step`` and the hyperparameter's column), a JSON-lines file (one object
per line; HF's ``trainer_state.json``, an object with a ``log_history`` list, is read too), or a TensorBoard
event file or log directory (read with TensorBoard's ``EventAccumulator``). The hyperparameter's column is found
by name: for ``lr``, ``lr``, ``learning_rate``, Lightning's ``lr-<Optimizer>`` (``lr-AdamW``, ``lr-SGD/pg1``),
``train/learning_rate`` (HF's TensorBoard tags) or ``epoch_learning_rate`` (Keras'); for another hyperparameter
``momentum``, ``momentum``, ``lr-<Optimizer>-momentum`` or ``*/momentum``. Tags under ``plan/`` (written by
:func:`schedspec.log_plan`) are never the run's. When several columns match (one per param group), ``column=``
picks one. Rows without the column are skipped (Lightning's CSV mixes metrics on separate rows).

**Steps.** The log's ``step`` counts optimizer updates (every framework's global step); a log with an ``epoch``
column and no ``step`` counts epochs. ``log_steps="updates"|"epochs"`` overrides this. For an ``interval:
epoch`` spec, updates become epochs as ``k = step // steps_per_epoch`` (without ``steps_per_epoch`` the log's
steps are taken as epochs); epochs become updates of an ``interval: step`` spec as ``k = epoch *
steps_per_epoch``.

**Which value a logger records** (``logged_as``, measured in this repository's tests): ``"applied"`` (default),
the value logged at step ``s`` is the one update ``s`` used: Lightning's ``LearningRateMonitor``, or
``optimizer.param_groups[0]["lr"]`` read before ``optimizer.step()``. ``"previous"``, the value of update
``s - 1``: HF ``Trainer``'s ``learning_rate`` (logged after ``global_step`` is incremented). ``"next"``, the
value of update ``s + 1``: torch's ``scheduler.get_last_lr()`` read after ``scheduler.step()`` for update ``s``,
and Keras' ``learning_rate`` in the epoch-end logs (``CSVLogger``, ``TensorBoard``'s ``epoch_learning_rate``),
which is the schedule at the next update (with ``log_steps="epochs"``).

**Tolerance.** Logs are often float32, so a logged value ``x`` follows the plan's ``v`` when ``|x - v| <=
1e-6 * peak + 1e-5 * |v|``, ``peak`` being the largest ``|v|`` over the logged steps (the float32 parity
tolerance of every adapter).

**Diagnosis.** When values differ, each common cause is tried as a hypothesis that must explain *every* logged
value within the tolerance, and the ones that do are reported: the scheduler stepped once per epoch instead of
once per update (or the reverse); one step early (``scheduler.step()`` before ``optimizer.step()``) or late (or
the wrong ``logged_as``); a restart from step 0 at some step (a resume without the scheduler's state); a
constant factor (a param group's scale, another base lr); a missing warmup (the run was near the peak where the
plan ramps up).
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import json
import math
import os
from collections import Counter
from typing import Any

import numpy as np

from . import _compile, _metrics, backends, ir
from .errors import LogError, MissingDependency, SpecError, require
from .evaluator import evaluate_numpy
from .spec import Spec, load

__all__ = ["LogError", "Log", "Report", "read_log", "verify"]

LOGGED_AS = ("applied", "next", "previous")
MAX_BYTES = 256 * 2**20


@dataclasses.dataclass
class Log:
    """One logged series: ``steps`` (ascending, distinct) and ``values``, from ``column`` of ``path``.

    Attributes:
        unit: what ``steps`` count, ``"updates"`` or ``"epochs"``.
        columns: every column (or tag) of the log, for ``reports`` and messages.
        table: ``{column: (steps, values)}`` of the numeric columns (plateau reports come from here).
    """

    path: str
    column: str
    steps: np.ndarray
    values: np.ndarray
    unit: str
    columns: list[str]
    table: dict[str, tuple[np.ndarray, np.ndarray]]


# ------------------------------------------------------------------------------------------------ reading
def _candidates(hparam: str, columns: list[str]) -> list[str]:
    names = {"lr": ("lr", "learning_rate")}.get(hparam, (hparam,))
    out = []
    for c in columns:
        if c.startswith("plan/") or c in ("step", "epoch", "global_step"):
            continue
        last = c.rsplit("/", 1)[-1]
        if (last in names or c in names or any(last.endswith("_" + n) for n in names)
                or (hparam == "lr" and c.startswith("lr-") and not c.endswith(("-momentum", "-weight_decay")))
                or (hparam != "lr" and c.startswith("lr-") and c.endswith("-" + hparam))):  # fmt: skip
            out.append(c)
    return out


def _number(path: str, where: str, column: str, raw: Any) -> float:
    if isinstance(raw, bool):
        raise LogError(f"{path}{where}: {raw!r} is not a number (column {column!r})")
    if isinstance(raw, (int, float)):
        return float(raw)
    try:
        return float(str(raw).strip())
    except ValueError:
        raise LogError(f"{path}{where}: {str(raw)[:40]!r} is not a number (column {column!r})") from None


def _rows_csv(path: str, text: str) -> tuple[list[str], list[tuple[int, dict]]]:
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in (reader.fieldnames or []) if c is not None]
    if not columns:
        raise LogError(f"{path}: the file is empty (a CSV log needs a header with `step` and the column)")
    rows = []
    for row in reader:
        rows.append((reader.line_num, {(k or "").strip(): v for k, v in row.items() if k is not None}))
    return columns, rows


def _rows_json(path: str, text: str) -> tuple[list[str], list[tuple[int, dict]]]:
    stripped = text.lstrip()
    if stripped.startswith("{") and '"log_history"' in text[:2**20] and "\n{" not in stripped.rstrip():
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise LogError(f"{path}: not valid JSON ({exc})") from None
        entries = data.get("log_history") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise LogError(f"{path}: a JSON object log needs a `log_history` list (HF trainer_state.json)")
        rows = [(0, e) for e in entries if isinstance(e, dict)]
    elif stripped.startswith("["):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise LogError(f"{path}: not valid JSON ({exc})") from None
        rows = [(0, e) for e in data if isinstance(e, dict)]
    else:
        rows = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                raise LogError(f"{path}:{lineno}: not a JSON object (a JSON-lines log has one object per line)") from None
            if not isinstance(obj, dict):
                raise LogError(f"{path}:{lineno}: not a JSON object (a JSON-lines log has one object per line)")
            rows.append((lineno, obj))
    columns = list(dict.fromkeys(k for _, r in rows for k in r))
    if not rows:
        raise LogError(f"{path}: the log has no entries")
    return columns, rows


def _tensorboard(path: str) -> tuple[list[str], dict[str, tuple[np.ndarray, np.ndarray]]]:
    try:
        ea = require("tensorboard.backend.event_processing.event_accumulator", "integrations")
    except MissingDependency:
        raise MissingDependency("tensorboard", "integrations") from None
    acc = ea.EventAccumulator(path, size_guidance={"scalars": 0})
    try:
        acc.Reload()
    except Exception as exc:  # a corrupt record: TensorBoard's reader raises its own errors
        raise LogError(f"{path}: not a readable TensorBoard event file ({type(exc).__name__}: {exc})") from None
    tags = acc.Tags().get("scalars", [])
    table = {}
    for tag in tags:
        events = acc.Scalars(tag)
        table[tag] = (np.asarray([e.step for e in events], dtype=np.int64),
                      np.asarray([e.value for e in events], dtype=np.float64))  # fmt: skip
    return list(tags), table


def _table(path: str, columns: list[str], rows: list[tuple[int, dict]], xcol: str) -> dict:
    """``{column: (steps, values)}`` of every numeric column (duplicates at one step must agree)."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for column in columns:
        if column == xcol:
            continue
        pairs: dict[int, float] = {}
        for lineno, row in rows:
            raw = row.get(column)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            where = f":{lineno}" if lineno else ""
            step_raw = row.get(xcol)
            if step_raw is None or (isinstance(step_raw, str) and not step_raw.strip()):
                raise LogError(f"{path}{where}: a row has {column!r} but no {xcol!r}")
            step = _number(path, where, xcol, step_raw)
            if not step.is_integer() or step < 0:
                raise LogError(f"{path}{where}: {xcol} {step_raw!r} is not a whole number >= 0")
            value = _number(path, where, column, raw)
            s = int(step)
            if s in pairs and not (pairs[s] == value or (math.isnan(pairs[s]) and math.isnan(value))):
                raise LogError(f"{path}{where}: {xcol} {s} has two values of {column!r} ({pairs[s]!r} and "
                               f"{value!r}): is this the log of two runs?")  # fmt: skip
            pairs[s] = value
        if pairs:
            steps = np.asarray(sorted(pairs), dtype=np.int64)
            out[column] = (steps, np.asarray([pairs[s] for s in steps.tolist()], dtype=np.float64))
    return out


def read_log(path: str | os.PathLike, hparam: str = "lr", column: str | None = None,
             log_steps: str | None = None) -> Log:  # fmt: skip
    """Read the series of ``hparam`` from a CSV, JSON-lines or TensorBoard log; see the module documentation.

    Raises:
        LogError: the file cannot be read, is empty, has no step column, no (or several) matching columns, or
            holds something that is not a number; the message is one line naming the file (and line).
        MissingDependency: a TensorBoard log without the ``tensorboard`` package.
    """
    path = os.fspath(path)
    if log_steps not in (None, "updates", "epochs"):
        raise LogError(f"log_steps must be 'updates' or 'epochs' (got {log_steps!r})")
    if os.path.isdir(path) or "tfevents" in os.path.basename(path):
        if not os.path.exists(path):
            raise LogError(f"{path}: no such file")
        source = path
        if os.path.isdir(path):  # a run's directory, or a log root holding exactly one run (HF's runs/<date>)
            runs = sorted(d for d, _, fs in os.walk(path) if any("tfevents" in f for f in fs))
            if not runs:
                raise LogError(f"{path}: a directory without TensorBoard event files (events.out.tfevents.*)")
            if len(runs) > 1:
                raise LogError(f"{path}: {len(runs)} TensorBoard runs ({', '.join(os.path.relpath(r, path) for r in runs[:4])}"
                               f"{', ...' if len(runs) > 4 else ''}); give the run's directory")  # fmt: skip
            source = runs[0]
        columns, table = _tensorboard(source)
        unit = "updates"
        if not columns:
            raise LogError(f"{path}: the TensorBoard log has no scalars")
    else:
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_BYTES + 1)
        except OSError as exc:
            raise LogError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
        if len(data) > MAX_BYTES:
            raise LogError(f"{path}: the file is over {MAX_BYTES // 2**20} MiB")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise LogError(f"{path}: not a text file (a CSV, a JSON-lines file, or a TensorBoard event file)") from None
        if not text.strip():
            raise LogError(f"{path}: the file is empty")
        parse = _rows_json if text.lstrip().startswith(("{", "[")) else _rows_csv
        columns, rows = parse(path, text)
        xcol = next((c for c in ("step", "global_step", "epoch") if c in columns), None)
        if xcol is None:
            raise LogError(f"{path}: no `step` column (it has: {', '.join(columns[:12])})")
        unit = "epochs" if xcol == "epoch" else "updates"
        table = _table(path, columns, rows, xcol)
    found = _candidates(hparam, columns) if column is None else [column]
    if column is not None and column not in columns:
        raise LogError(f"{path}: no column {column!r} (it has: {', '.join(columns[:12])})")
    found = [c for c in found if c in table] or found
    if not found:
        hint = _suggest(hparam, columns)
        raise LogError(f"{path}: no column for `{hparam}` (looked for {', '.join(_wanted(hparam))}; it has: "
                       f"{', '.join(columns[:12]) or 'none'}){hint or ';'} name it with --column")  # fmt: skip
    if len(found) > 1:
        raise LogError(f"{path}: several columns could be `{hparam}`: {', '.join(found)}; pick one with --column")
    name = found[0]
    if name not in table:
        raise LogError(f"{path}: the column {name!r} has no values")
    steps, values = table[name]
    return Log(path, name, steps, values, log_steps or unit, columns, table)


def _suggest(hparam: str, columns: list[str]) -> str:
    """``"; did you mean 'X'?"`` for a column close to the hyperparameter's names (the whole name or its last
    ``/`` part, e.g. ``learning-rate``, ``train/lrate``, ``LR``), or ``""``."""
    names = {"lr": ("lr", "learning_rate", "learning rate")}.get(hparam, (hparam,))
    cands = [c for c in columns if c not in ("step", "epoch", "global_step") and not c.startswith("plan/")]
    full = {c.lower(): c for c in cands}
    last = {c.rsplit("/", 1)[-1].lower(): c for c in cands}
    for n in names:
        for pool in (full, last):
            close = difflib.get_close_matches(n, list(pool), n=1, cutoff=0.6)
            if close:
                return f"; did you mean '{pool[close[0]]}'?"
    close = [c for c in cands if any(n in c.rsplit("/", 1)[-1].lower() for n in names)]
    return f"; did you mean '{close[0]}'?" if len(close) == 1 else ""


def _wanted(hparam: str) -> list[str]:
    if hparam == "lr":
        return ["lr", "learning_rate", "lr-<Optimizer>", "*/learning_rate", "*_learning_rate"]
    return [hparam, f"lr-<Optimizer>-{hparam}", f"*/{hparam}"]


# ------------------------------------------------------------------------------------------------ verifying
@dataclasses.dataclass
class Report:
    """The outcome of :func:`verify`.

    Attributes:
        ok: every logged value follows the spec within the tolerance.
        n: how many logged values were compared; ``n_differ``: how many differ.
        first: ``(step, logged, spec)`` at the first difference (the log's step), or None.
        max_abs: the largest ``|logged - spec|``.
        diagnoses: ``[(cause, message)]``; cause is ``"epoch-per-update"``, ``"update-per-epoch"``, ``"early"``,
            ``"late"``, ``"restart"``, ``"factor"`` or ``"warmup"``.
        column, unit, logged_as, peak: what was compared, and the tolerance's peak.
        steps, k, logged, planned: the compared series (for a plot of the run over the plan).
    """

    ok: bool
    spec_name: str
    fingerprint: str
    path: str
    column: str
    hparam: str
    unit: str
    logged_as: str
    n: int
    n_differ: int
    first: tuple[int, float, float] | None
    max_abs: float
    peak: float
    diagnoses: list[tuple[str, str]]
    steps_text: str = ""
    notes: list[str] = dataclasses.field(default_factory=list)
    steps: np.ndarray | None = dataclasses.field(default=None, repr=False)  # the log's steps compared
    k: np.ndarray | None = dataclasses.field(default=None, repr=False)  # the spec's k of each (after logged_as)
    logged: np.ndarray | None = dataclasses.field(default=None, repr=False)
    planned: np.ndarray | None = dataclasses.field(default=None, repr=False)

    def __str__(self) -> str:
        head = (f"{self.path}: {self.column!r} ({self.n} values at {self.unit} {self.steps_text}, logged as "
                f"{self.logged_as}) vs {self.spec_name} `{self.hparam}` (fingerprint {self.fingerprint})")  # fmt: skip
        tol = f"tolerance 1e-6*peak + 1e-5*|v|, peak {self.peak:.6g}"
        if self.ok:
            return f"{head}\nOK: every logged value follows the spec (largest difference {self.max_abs:.3g}; {tol})" + \
                "".join(f"\nnote: {n}" for n in self.notes)  # fmt: skip
        s, x, v = self.first
        lines = [head, f"first divergence at step {s}: logged {x:.7g}, spec {v:.7g}",
                 f"{self.n_differ} of {self.n} logged steps differ ({tol})"]  # fmt: skip
        if self.diagnoses:
            lines += [f"diagnosis: {message}" for _, message in self.diagnoses]
        else:
            lines.append("diagnosis: none of the common causes (stepped per epoch/per update, one step early or "
                         "late, restarted, a constant factor, warmup missing) explains every logged value")  # fmt: skip
        return "\n".join(lines + [f"note: {n}" for n in self.notes])


def _close(x: np.ndarray, v: np.ndarray, peak: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.abs(x - v) <= 1e-6 * peak + 1e-5 * np.abs(v)


def _warmup(node: ir.Node) -> tuple[int, float, float] | None:
    """``(W, start, end)`` of a rising first top-level phase (a warmup), or None."""

    first = node.parts[0] if isinstance(node, ir.Sequence) else node
    if not isinstance(first.duration, int) or first.duration < 2 or isinstance(first, ir.Sequence):
        return None
    fn = _compile.build(first, backends.MathXP)
    try:
        a, b = float(fn(0, {})), float(fn(first.duration, {}))
    except SpecError:
        return None
    return (first.duration, a, b) if b > a else None


def verify(
    spec: Spec | str | dict,
    log: str | os.PathLike | Log,
    *,
    hparam: str = "lr",
    logged_as: str = "applied",
    column: str | None = None,
    group: str | None = None,
    vars: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    log_steps: str | None = None,
) -> Report:
    """Compare the logged ``hparam`` of a run with the spec; see the module documentation.

    Args:
        spec: a :class:`schedspec.Spec`, a path to a YAML file, or a dict.
        log: a log file or TensorBoard directory (or a :class:`Log` already read).
        hparam: the hyperparameter (default ``"lr"``).
        logged_as: ``"applied"`` (default), ``"next"`` or ``"previous"``: which update's value the log holds.
        column: the log column (or tag) to read, when the name does not say.
        group: compare with this parameter group's schedule.
        vars: var values (a spec with sweep vars needs one member).
        metrics: ``{name: reports}`` for the plateaus; by default they are read from the log's column of the
            same name (or ``eval_<name>``), in step order.
        log_steps: ``"updates"`` or ``"epochs"``: what the log's step column counts (default: see the module).

    Returns:
        A :class:`Report` (``str(report)`` is what ``schedspec verify`` prints).

    Raises:
        LogError: the log cannot be read (see :func:`read_log`), or ``logged_as`` is unknown.
        SpecError: the spec is invalid, has no ``hparam``, or a plateau lacks its reports.
    """

    if logged_as not in LOGGED_AS:
        raise LogError(f"--logged-as must be one of {', '.join(LOGGED_AS)} (got {logged_as!r})")
    spec = load(spec)
    if vars:
        spec = spec.with_vars(dict(vars))
    program = spec.program
    if hparam not in program.hparams:
        raise SpecError([ir_issue(spec, f"the spec has no `{hparam}` schedule (it has: {', '.join(program.hparams)})")])
    if not isinstance(log, Log):
        log = read_log(log, hparam, column, log_steps)
    elif log_steps:
        log = dataclasses.replace(log, unit=log_steps)
    if program.sweep_vars:
        raise SpecError([spec.doc.issue(("vars",), "verify compares one run: the spec sweeps "
                                        f"{', '.join(program.sweep_vars)}; pick the run's member with --set", key=True)])  # fmt: skip
    interval, spe = program.interval, program.steps_per_epoch
    unit = log.unit
    notes = []
    if interval == "epoch" and unit == "updates" and spe is None:
        unit = "epochs"  # an epoch spec without steps_per_epoch: the log's steps can only be epochs
        notes.append("the spec counts epochs and has no steps_per_epoch, so the log's steps were read as epochs; if "
                     "they count optimizer updates (Lightning, HF, TensorBoard global steps), add steps_per_epoch "
                     "to the spec (or --set it)")  # fmt: skip
    if metrics is None:
        metrics = _reports_from_log(spec, log)

    def to_k(u: np.ndarray) -> np.ndarray:
        if interval == "epoch" and unit == "updates":
            return u // spe
        if interval == "step" and unit == "epochs":
            return u * (spe or 1)
        return u

    def value(k: np.ndarray) -> np.ndarray:
        k = np.clip(np.asarray(k, dtype=np.int64), 0, ir.MAX_STEPS)
        return np.asarray(evaluate_numpy(spec, k, hparam, None, metrics=metrics, group=group), dtype=np.float64)

    shift = {"applied": 0, "next": 1, "previous": -1}[logged_as]
    keep = log.steps + shift >= 0
    steps, x = log.steps[keep], log.values[keep]
    if len(steps) == 0:
        raise LogError(f"{log.path}: no logged value of {log.column!r} to compare")
    u = steps + shift
    k = to_k(u)
    v = value(k)
    peak = float(np.nanmax(np.abs(v))) if len(v) else 0.0
    ok_mask = _close(x, v, peak)
    bad = np.nonzero(~ok_mask)[0]
    span = f"{int(steps[0])}..{int(steps[-1])}"
    diff = np.abs(x - v)
    report = Report(
        ok=len(bad) == 0, spec_name=spec.name, fingerprint=spec.fingerprint, path=log.path, column=log.column,
        hparam=hparam if group is None else f"{group}/{hparam}", unit="epochs" if unit == "epochs" else "updates",
        logged_as=logged_as, n=len(x), n_differ=len(bad),
        first=None if len(bad) == 0 else (int(steps[bad[0]]), float(x[bad[0]]), float(v[bad[0]])),
        max_abs=float(np.nanmax(diff)) if np.isfinite(diff).any() else float("nan"), peak=peak, diagnoses=[],
        steps_text=span, notes=notes, steps=steps, k=k, logged=x, planned=v,
    )  # fmt: skip
    if not report.ok:
        ctx = _Context(spec, hparam, group, interval, unit, spe, logged_as, u, k, x, v, peak, value, to_k, steps)
        report.diagnoses = _diagnose(ctx, int(bad[0]))
    return report


def ir_issue(spec: Spec, message: str):
    return spec.doc.issue((), message)


def _reports_from_log(spec: Spec, log: Log) -> dict | None:

    names = _metrics.monitors(spec.program)
    out = {}
    for name in names:
        for col in (name, f"eval_{name}", f"val/{name}", f"eval/{name}"):
            if col in log.table:
                out[name] = log.table[col][1].tolist()
                break
    return out or None


def _epoch_lengths(x: np.ndarray, steps: np.ndarray) -> list[int]:
    """Likely epoch lengths: the most common lengths of runs of equal consecutive logged values."""
    runs, n = [], 1
    for i in range(1, len(x)):
        if x[i] == x[i - 1] and steps[i] == steps[i - 1] + 1:
            n += 1
        else:
            runs.append(n)
            n = 1
    counts = Counter(r for r in runs if r > 1)
    return [length for length, _ in counts.most_common(4)]


@dataclasses.dataclass
class _Context:
    spec: Spec
    hparam: str
    group: str | None
    interval: str
    unit: str
    spe: int | None
    logged_as: str
    u: np.ndarray  # the log's steps shifted by logged_as (log units)
    k: np.ndarray  # the spec's k of each logged value
    x: np.ndarray  # logged values
    v: np.ndarray  # planned values
    peak: float
    value: Any  # k array -> planned values
    to_k: Any  # log units -> k
    steps: np.ndarray  # the log's own steps


def _diagnose(c: _Context, i0: int) -> list[tuple[str, str]]:
    """The common causes that explain every logged value (see the module documentation); ``i0``: first difference."""
    out: list[tuple[str, str]] = []
    x, u, k, v = c.x, c.u, c.k, c.v

    def explains(pred: np.ndarray) -> bool:
        return bool(np.all(_close(x, pred, c.peak)))

    # stepped once per epoch instead of once per update (a step spec), or the reverse (an epoch spec)
    if c.interval == "step" and c.unit == "updates":
        lengths = [c.spe] if c.spe else []
        lengths += [n for n in _epoch_lengths(x, c.steps) if n not in lengths]
        for length in lengths:
            if length > 1 and explains(c.value(u // length)):
                where = "steps_per_epoch" if length == c.spe else "the log's runs of equal values"
                out.append(("epoch-per-update", f"the scheduler was stepped once per epoch ({length} updates, from "
                            f"{where}) instead of once per update: update s used value(s // {length}). In Lightning, "
                            "return the scheduler with \"interval\": \"step\" (schedspec.adapters.lightning."
                            "scheduler_config takes it from the spec); in a plain loop, call scheduler.step() after "
                            "every optimizer.step()"))  # fmt: skip
                break
    if c.interval == "epoch" and c.unit == "updates" and c.spe and explains(c.value(u)):
        out.append(("update-per-epoch", f"the scheduler was stepped once per update instead of once per epoch (the "
                    f"spec has `interval: epoch`): update s used value(s), {c.spe}x too fast. In Lightning, return it "
                    "with \"interval\": \"epoch\"; in a plain loop, call scheduler.step() once per epoch"))  # fmt: skip
    # one step early / late (or the logger records another step's value than logged_as says)
    other = {"applied": ("next", "previous"), "next": ("", "applied"), "previous": ("applied", "")}[c.logged_as]
    if explains(c.value(k + 1)):
        hint = f"; or the logger records the next value: try --logged-as {other[0]}" if other[0] else ""
        out.append(("early", "one step early: each update used the value planned for the next one, the classic "
                             f"scheduler.step() before optimizer.step(){hint}"))  # fmt: skip
    elif explains(c.value(np.maximum(k - 1, 0))):
        hint = f"; or the logger records the previous value: try --logged-as {other[1]}" if other[1] else ""
        out.append(("late", "one step late: each update used the value planned for the previous one (the "
                            f"scheduler stepped once too few, e.g. after optimizer.step() of the next update){hint}"))  # fmt: skip
    # restarted from step 0 at step r (a resume without the scheduler's state): r <= the first divergence (the
    # restarted values may equal the plan's for a while, e.g. 0 after the end and 0 at the start), latest first
    hi = int(u[i0])
    for r in range(hi, max(hi - 512, 0), -1):
        kr = int(c.to_k(np.asarray([r]))[0])
        if kr <= 0:
            continue
        j = int(np.searchsorted(u, r))
        head = slice(j, j + 64)  # a cheap look at the first restarted values before the whole tail
        if not np.all(_close(x[head], c.value(k[head] - kr), c.peak)):
            continue
        tail = u >= r
        pred = v.copy()
        pred[tail] = c.value(k[tail] - kr)
        if explains(pred):
            at = int(c.steps[j]) if j < len(u) and int(u[j]) == r else r - (int(u[0]) - int(c.steps[0]))
            out.append(("restart", f"restarted from step 0 at step {at}: from there on the run followed the schedule "
                                   "from its beginning, as after a resume that rebuilt the scheduler without loading "
                                   "its state (load scheduler.state_dict() from the checkpoint too)"))  # fmt: skip
            break
    # a constant factor
    nz = np.abs(v) > 1e-12 * c.peak
    if nz.any():
        with np.errstate(all="ignore"):
            factor = float(np.median(x[nz] / v[nz]))
        if np.isfinite(factor) and factor != 0 and not math.isclose(factor, 1.0, rel_tol=1e-5) and explains(factor * v):
            out.append(("factor", f"every logged value is {factor:.6g}x the spec's: a constant factor, as from a "
                                  "param group's scale (torch scales group g by initial_lr_g / initial_lr_0) or a "
                                  "different base lr (the optimizer's lr, or the spec's peak or start)"))  # fmt: skip
    # warmup missing: near the peak where the plan ramps up
    bound = c.spec.bound()
    own = bound.groups.get(c.group, {}) if c.group else {}
    warm = _warmup(own.get(c.hparam, bound.hparams[c.hparam]))
    if warm is not None:
        w, a, b = warm
        half = a + (b - a) / 2
        low = (k < w) & (v < half)
        if int(k[i0]) < w and low.any() and bool(np.all(x[low] >= half)):
            unit = "steps" if c.interval == "step" else "epochs"
            out.append(("warmup", f"warmup missing: the plan rises from {a:.6g} to {b:.6g} over its first {w} {unit}, "
                                  f"but the run was already near the peak there (logged {float(x[low][0]):.6g} at "
                                  f"step {int(c.steps[low][0])}, planned {float(v[low][0]):.6g})"))  # fmt: skip
    return out
