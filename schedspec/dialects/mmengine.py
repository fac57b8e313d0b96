"""The MMEngine dialect: the ``mmengine.param_scheduler`` kind, an MMEngine ``param_scheduler`` list pasted as is
(MMEngine's own ``type`` names, arguments and defaults), desugared into neutral kinds. Configs are read by
:func:`schedspec.dialects.importers_frameworks.mmengine_data` (behind :func:`schedspec.from_mmengine`).

Semantics (MMEngine 0.10.7, ``mmengine/optim/scheduler/param_scheduler.py``, ``mmengine/runner/runner.py``,
``mmengine/hooks/param_scheduler_hook.py``; docs/dialects.md §2):

* ``end`` defaults to the train loop's length (``max_epochs`` for ``by_epoch`` schedulers, ``max_iters`` for the
  others; ``train_cfg``), else MMEngine's ``INF`` (10**9). ``convert_to_iter_based`` multiplies ``begin``, ``end``,
  ``step_size``, ``milestones``, ``T_max``, ``total_steps`` and ``periods`` by the epoch length (the spec's
  ``steps_per_epoch``) and nothing else.
* A scheduler changes the lr only inside its window ``begin <= g < end`` (g counts iterations, or epochs for a
  ``by_epoch`` one), with local index ``i = g - begin``; outside it the lr holds. ``LinearLR``, ``ConstantLR``,
  ``PolyLR`` end at ``end - begin - 1``; ``CosineAnnealingLR``'s ``T_max`` defaults to ``end - begin``.
* A ``by_epoch`` scheduler is stepped at epoch ends: in a step spec its value is held for ``steps_per_epoch``
  steps (a staircase); in an ``IterBasedTrainLoop`` it is stepped once, after ``max_iters``.
* Overlapping windows act together on the current lr in list order: multiplicative schedulers compose as the
  product of their factors; any other overlap is refused (a recurrence with no closed form).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import did_you_mean
from ._base import Cx, FrameworkKind, N, Stop, Value, is_var, kind_name, window  # noqa: N817

INF = 10**9  # mmengine.optim.scheduler.param_scheduler.INF
MAX_POINTS = 20000  # epochs of a sampled epoch-stepped curve in a step spec

_LR = (
    "The optimizer's lr (`optim_wrapper.optimizer.lr`), which MMEngine's schedulers scale. Default: the previous "
    "phase's final value (the first phase must give it)."
)


# ------------------------------------------------------------------------------------------------ one scheduler
class _Sched(BaseModel):
    """One dict of an MMEngine ``param_scheduler`` list (MMEngine's own argument names and defaults)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    mult: ClassVar[bool] = True  # multiplies the current lr by a factor that does not depend on it
    rules: ClassVar[dict[str, str]] = {}

    type: str = Field(description="The MMEngine scheduler class name (its registry name).")
    begin: int = Field(0, ge=0, description="Step (iteration, or epoch when by_epoch) at which the window begins.")
    end: int | None = Field(
        None, description="Step at which the window ends (exclusive). Default: the train loop's length, else INF."
    )
    by_epoch: bool = Field(True, description="Stepped at epoch ends (true, MMEngine's default) or per iteration.")
    convert_to_iter_based: bool = Field(
        False, description="Convert an epoch-based scheduler to iterations (Runner: epoch_length = steps_per_epoch)."
    )
    verbose: bool = Field(False, description="MMEngine prints each update; no effect on the values.")
    last_step: Literal[-1] = Field(-1, description="Resuming index; only -1 (a fresh scheduler) is a schedule.")

    def is_mult(self) -> bool:
        return self.mult

    def convert(self, L: int) -> dict:  # noqa: N803 - the epoch length
        """The arguments ``build_iter_from_epoch`` rescales (besides begin and end)."""
        return {}

    def scale_free(self) -> bool:
        """True when the values are proportional to the base lr (a var lr becomes a ``scale``)."""
        return True

    def check(self, cx: Cx, sub: tuple, w: Win) -> None:
        """Refuse what MMEngine raises on later (after its constructor)."""

    def value(self, i: int, v: float, w: Win) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def exact(self, cx: Cx, v: float, w: Win) -> Any:
        """Neutral data for local index i = 0..n-1 (interval units = scheduler units), held after."""
        return _sampled(self, v, w, 1)

    def stair(self, cx: Cx, v: float, w: Win) -> Any:
        """Neutral data when one scheduler unit is ``w.u`` interval units (an epoch-based one in a step spec)."""
        return _sampled(self, v, w, w.u)

    def notes(self, cx: Cx, w: Win) -> list[str]:
        return []


class Win:
    """A scheduler resolved: its window in scheduler units ``[b, e)`` (n = e - b), ``u`` interval units per
    scheduler unit, ``eta`` its base lr (MMEngine's ``initial_lr``) and its converted arguments."""

    def __init__(self, idx: int, s: _Sched, b: int, e: int, u: int, eta: float, args: dict):
        self.idx, self.s, self.b, self.e, self.u, self.eta, self.args = idx, s, b, e, u, eta, args
        self.n = e - b
        self.B, self.E = b * u, e * u  # the window in interval units

    def arg(self, name: str) -> Any:
        return self.args.get(name, getattr(self.s, name))


def _sampled(s: _Sched, v: float, w: Win, u: int) -> Any:
    if w.n > MAX_POINTS:
        raise _Refuse((), f"its window is {w.n} {'epochs' if u > 1 else 'steps'} long: a curve stepped at epoch ends "
                          f"is written as one point per epoch, at most {MAX_POINTS}; give a shorter `end` (or "
                          "`train_cfg`)")  # fmt: skip
    if w.n == 1:
        return N("constant", value=s.value(0, v, w))
    return N("piecewise", points=[[j * u, s.value(j, v, w)] for j in range(w.n)])


def _held(cx: Cx, d: dict, last: int, first: float) -> Any:
    """``d`` for t <= last, then its value at ``last`` held."""
    if last <= 0:
        return N("constant", value=first)
    if last > 2**31 - 1:
        return d  # the window never ends within the step counter
    return window(cx, d, last, "MMEngine holds the lr after the window")


class _Refuse(Exception):
    def __init__(self, sub: tuple, message: str):
        super().__init__(message)
        self.sub, self.message = sub, message


def _m(s: Any, w: Win) -> float:
    eta_min, ratio = getattr(s, "eta_min", None), getattr(s, "eta_min_ratio", None)
    if ratio is not None:
        return ratio * w.eta
    return 0.0 if eta_min is None else float(eta_min)


def _both_eta_min(s: Any) -> None:
    if getattr(s, "eta_min", None) is not None and getattr(s, "eta_min_ratio", None) is not None:
        raise _Refuse(("eta_min_ratio",), "MMEngine asserts 'Either `eta_min` or `eta_min_ratio should be "
                                          "specified'; give one of them")  # fmt: skip


class LinearLR(_Sched):
    """``v * (start_factor + (end_factor - start_factor) * i / (end - begin - 1))``."""

    rules: ClassVar = {"start_factor": "Starting multiplicative factor should between 0 and 1.",
                       "end_factor": "Ending multiplicative factor should between 0 and 1."}  # fmt: skip
    start_factor: float = Field(1.0 / 3, ge=0, le=1, description="Factor at the window's first step. Default 1/3.")
    end_factor: float = Field(1.0, ge=0, le=1, description="Factor from end - 1 on. Default 1.")

    def check(self, cx, sub, w):
        if self.start_factor == 0 and w.n >= 2:
            raise _Refuse(sub + ("start_factor",), "start_factor 0 passes MMEngine's constructor but its chained "
                          "update divides by total_iters * start_factor = 0 at the second step (ZeroDivisionError); "
                          "use a start_factor > 0")  # fmt: skip

    def value(self, i, v, w):
        t = w.n - 1
        if t <= 0:
            return v * self.start_factor
        return v * (self.start_factor + (self.end_factor - self.start_factor) * min(i, t) / t)

    def exact(self, cx, v, w):
        t = w.n - 1
        if t <= 0:
            return N("constant", value=v * self.start_factor)
        return N("linear", start=v * self.start_factor, end=v * self.end_factor, duration=t)

    def notes(self, cx, w):
        return [f"schedulers[{w.idx}] LinearLR reaches end_factor at end - begin - 1 = {w.n - 1} (one step before "
                "`end`: MMEngine's total_iters), then holds"]  # fmt: skip


class ConstantLR(_Sched):
    """``v * factor`` for i < end - begin - 1, then ``v``."""

    rules: ClassVar = {"factor": "Constant multiplicative factor should between 0 and 1."}
    factor: float = Field(1.0 / 3, ge=0, le=1, description="Factor until end - 1. Default 1/3.")

    def check(self, cx, sub, w):
        if self.factor == 0 and w.n >= 2:
            raise _Refuse(sub + ("factor",), "factor 0 passes MMEngine's constructor but restoring the lr multiplies "
                                             "by 1 / factor at end - 1 (ZeroDivisionError); use a factor > 0")  # fmt: skip

    def value(self, i, v, w):
        return v * self.factor if i < w.n - 1 or w.n == 1 else v

    def exact(self, cx, v, w):
        if w.n == 1:
            return N("constant", value=v * self.factor)
        return [N("constant", value=v * self.factor, duration=(w.n - 1) * w.u), N("constant", value=v)]

    stair = exact

    def notes(self, cx, w):
        return [f"schedulers[{w.idx}] ConstantLR restores the lr at end - begin - 1 = {w.n - 1} (one step before "
                "`end`)"]  # fmt: skip


class StepLR(_Sched):
    """``v * gamma ** (i // step_size)`` inside the window, held after."""

    step_size: int = Field(description="Decay every step_size steps of the scheduler (epochs when by_epoch).")
    gamma: float = Field(0.1, gt=0, description="Decay factor. Default 0.1.")

    def convert(self, L):  # noqa: N803
        return {"step_size": self.step_size * L}

    def check(self, cx, sub, w):
        if w.arg("step_size") <= 0 and w.n >= 2:
            raise _Refuse(sub + ("step_size",), "MMEngine computes last_step % step_size: step_size must be > 0")

    def value(self, i, v, w):
        return v * self.gamma ** (min(i, w.n - 1) // w.arg("step_size"))

    def exact(self, cx, v, w):
        d = N("step", start=v, every=w.arg("step_size") * w.u, gamma=self.gamma)
        return _held(cx, d, (w.n - 1) * w.u, v)

    stair = exact


class MultiStepLR(_Sched):
    """``v * gamma ** #{m in milestones : m <= i}`` (milestones count from ``begin``; a repeated one twice)."""

    milestones: list[int] = Field(description="Steps after begin at which the lr is multiplied by gamma.")
    gamma: float = Field(0.1, gt=0, description="Decay factor. Default 0.1.")

    def convert(self, L):  # noqa: N803
        return {"milestones": [m * L for m in self.milestones]}

    def value(self, i, v, w):
        return v * self.gamma ** sum(1 for m in w.arg("milestones") if m <= min(i, w.n - 1))

    def exact(self, cx, v, w):
        ms = sorted(m for m in w.arg("milestones") if 0 <= m < w.n)
        start = v * self.gamma ** sum(1 for m in ms if m == 0)
        rest = [m * w.u for m in ms if m > 0]
        if not rest:
            return N("constant", value=start)
        return _held(cx, N("multistep", start=start, milestones=rest, gamma=self.gamma), (w.n - 1) * w.u, start)

    stair = exact


class ExponentialLR(_Sched):
    """``v * gamma ** i``, held at ``gamma ** (end - begin - 1)``."""

    gamma: float = Field(gt=0, description="Factor per step of the scheduler.")

    def value(self, i, v, w):
        return v * self.gamma ** min(i, w.n - 1)

    def exact(self, cx, v, w):
        d = N("exponential", start=v, gamma=self.gamma, every=w.u if w.u > 1 else None,
              staircase=True if w.u > 1 else None)  # fmt: skip
        return _held(cx, d, (w.n - 1) * w.u, v)

    stair = exact

    def notes(self, cx, w):
        if w.s.convert_to_iter_based:
            return [f"schedulers[{w.idx}] ExponentialLR converted to iterations keeps its per-epoch gamma "
                    f"{self.gamma} per iteration (build_iter_from_epoch rescales only begin and end)"]  # fmt: skip
        return []


class CosineAnnealingLR(_Sched):
    """``m + (v - m) * (1 + cos(pi * i / T_max)) / 2``; ``T_max`` defaults to ``end - begin``."""

    T_max: int | None = Field(None, gt=0, description="Half period. Default end - begin.")  # noqa: N815
    eta_min: float | None = Field(None, ge=0, description="Minimum lr. Default 0 (when eta_min_ratio is not given).")
    eta_min_ratio: float | None = Field(None, ge=0, description="Minimum lr as a ratio of the base lr.")

    def is_mult(self) -> bool:
        return not self.eta_min and not self.eta_min_ratio

    def convert(self, L):  # noqa: N803
        return {"T_max": self.T_max * L} if self.T_max is not None else {}

    def scale_free(self):
        return not self.eta_min

    def _t(self, w):
        return w.args.get("T_max") or self.T_max or w.n

    def check(self, cx, sub, w):
        _both_eta_min(self)

    def rises(self, w) -> bool:
        return self._t(w) <= w.n - 2

    def value(self, i, v, w):
        m = _m(self, w)
        return m + (v - m) * (1 + math.cos(math.pi * min(i, w.n - 1) / self._t(w))) / 2

    def exact(self, cx, v, w):
        m, t = _m(self, w), self._t(w)
        down = N("cosine", start=v, end=m, duration=t)
        if self.rises(w):
            d = N("repeat", of=[down, N("cosine", start=m, end=v, duration=t)])
            return {**d, "duration": w.n - 1}
        return _held(cx, down, w.n - 1, v)

    def notes(self, cx, w):
        t = self._t(w)
        if t == w.n:
            return [f"schedulers[{w.idx}] CosineAnnealingLR: T_max defaults to end - begin = {t} (not - 1), so "
                    "eta_min is never reached: the value at end - 1 holds"]  # fmt: skip
        if self.rises(w):
            return [f"schedulers[{w.idx}] CosineAnnealingLR rises again after T_max = {t} (period 2 * T_max) "
                    "inside its window"]  # fmt: skip
        return []


class PolyLR(_Sched):
    """``(v - eta_min) * (1 - i / (end - begin - 1)) ** power + eta_min``."""

    eta_min: float = Field(0.0, ge=0, description="Final lr. Default 0.")
    power: float = Field(1.0, gt=0, description="Power of the polynomial. Default 1.")

    def is_mult(self) -> bool:
        return self.eta_min == 0

    def scale_free(self):
        return self.eta_min == 0

    def value(self, i, v, w):
        t = w.n - 1
        if t <= 0:
            return v
        return (v - self.eta_min) * (1 - min(i, t) / t) ** self.power + self.eta_min

    def exact(self, cx, v, w):
        t = w.n - 1
        if t <= 0:
            return N("constant", value=v)
        return N("polynomial", start=v, end=self.eta_min, power=self.power, duration=t)

    def notes(self, cx, w):
        return [f"schedulers[{w.idx}] PolyLR reaches eta_min at end - begin - 1 = {w.n - 1} (one step before "
                "`end`)"]  # fmt: skip


class OneCycleLR(_Sched):
    """torch's OneCycle with absolute values (the optimizer's lr is ignored); ``total_steps`` defaults to
    ``end - begin``."""

    rules: ClassVar = {"total_steps": "Expected positive integer total_steps",
                       "anneal_strategy": 'anneal_strategy must by one of "cos" or "linear"'}  # fmt: skip
    eta_max: float = Field(0.0, ge=0, description="The peak lr. Default 0.")
    total_steps: int | None = Field(None, gt=0, description="Steps of the cycle. Default end - begin.")
    pct_start: Any = Field(0.3, description="Fraction of the cycle spent rising (a float in [0, 1]). Default 0.3.")
    anneal_strategy: Literal["cos", "linear"] = Field("cos", description="cos or linear. Default cos.")
    div_factor: float = Field(25.0, gt=0, description="initial lr = eta_max / div_factor. Default 25.")
    final_div_factor: float = Field(1e4, gt=0, description="min lr = initial lr / final_div_factor. Default 1e4.")
    three_phase: bool = Field(False, description="Rise, fall back to the initial lr, then anneal. Default false.")
    mult: ClassVar[bool] = False

    def convert(self, L):  # noqa: N803
        return {"total_steps": self.total_steps * L} if self.total_steps is not None else {}

    def scale_free(self):
        return False

    def _n(self, w):
        return w.args.get("total_steps") or self.total_steps or w.n

    def check(self, cx, sub, w):
        p = self.pct_start
        if isinstance(p, bool) or not isinstance(p, float) or not 0 <= p <= 1:
            raise _Refuse(sub + ("pct_start",), f"MMEngine rejects it: 'Expected float between 0 and 1 pct_start, but "
                                                f"got {p!r}' (an int such as 1 is refused too; write 1.0)")  # fmt: skip
        total = self._n(w)
        if w.n > total + 1:
            raise _Refuse(sub + ("end",), f"the window is {w.n} steps but total_steps is {total}: MMEngine raises at "
                                          f"step {total + 1} of it ('Tried to step {total + 2} times. The specified "
                                          f"number of total steps is {total}'); give end - begin <= total_steps + 1")  # fmt: skip

    def _phases(self, total):
        init = self.eta_max / self.div_factor
        low = init / self.final_div_factor
        p = self.pct_start
        if self.three_phase:
            return [(float(p * total) - 1, init, self.eta_max), (float(2 * p * total) - 2, self.eta_max, init),
                    (total - 1, init, low)]  # fmt: skip
        return [(float(p * total) - 1, init, self.eta_max), (total - 1, self.eta_max, low)]

    def value(self, i, v, w):
        total = self._n(w)
        step = min(i, w.n - 1)
        start_step = 0
        phases = self._phases(total)
        for j, (end_step, a, b) in enumerate(phases):
            if step <= end_step or j == len(phases) - 1:
                pct = (step - start_step) / (end_step - start_step)
                if self.anneal_strategy == "cos":
                    return b + (a - b) / 2.0 * (math.cos(math.pi * pct) + 1)
                return (b - a) * pct + a
            start_step = end_step
        raise AssertionError  # pragma: no cover

    def exact(self, cx, v, w):
        total = self._n(w)
        d = N("onecycle", peak=self.eta_max, duration=total, pct_start=self.pct_start, div_factor=self.div_factor,
              final_div_factor=self.final_div_factor, anneal=self.anneal_strategy, three_phase=self.three_phase)  # fmt: skip
        if w.n == total + 1:
            return [d, N("constant", value=self.value(total, v, w))]
        return _held(cx, d, w.n - 1, self.value(0, v, w))

    def notes(self, cx, w):
        total = self._n(w)
        out = [f"schedulers[{w.idx}] OneCycleLR sets absolute values (from eta_max / div_factor, ignoring the "
               "optimizer's lr) and writes initial_lr = eta_max / div_factor for the schedulers after it"]  # fmt: skip
        if w.n == total + 1:
            out.append(f"schedulers[{w.idx}] OneCycleLR: the window's last step is i = total_steps = {total}, where "
                       f"MMEngine still anneals with pct > 1 and the lr climbs back to {self.value(total, 0, w):g}, "
                       "which then holds")  # fmt: skip
        return out


class CosineRestartLR(_Sched):
    """Cosine cycles of ``periods``, each restarting at ``base lr * restart_weights[c]`` down towards ``eta_min``;
    after ``sum(periods)`` the last value holds."""

    periods: list[int] = Field(min_length=1, description="Length of each cosine cycle.")
    restart_weights: list[float] = Field([1.0], description="Peak of each cycle as a ratio of the base lr.")
    eta_min: float | None = Field(None, ge=0, description="Minimum lr (give it or eta_min_ratio).")
    eta_min_ratio: float | None = Field(None, ge=0, description="Minimum lr as a ratio of the base lr.")
    mult: ClassVar[bool] = False

    def convert(self, L):  # noqa: N803
        return {"periods": [p * L for p in self.periods]}

    def scale_free(self):
        return self.eta_min is None

    def check(self, cx, sub, w):
        if self.eta_min is None and self.eta_min_ratio is None:
            raise _Refuse(sub, "MMEngine asserts (eta_min is None) ^ (eta_min_ratio is None): give eta_min or "
                               "eta_min_ratio")  # fmt: skip
        _both_eta_min(self)
        if len(self.periods) != len(self.restart_weights):
            raise _Refuse(sub + ("restart_weights",), "MMEngine asserts 'periods and restart_weights should have the "
                                                      "same length.'")  # fmt: skip
        if any(p <= 0 for p in self.periods):
            raise _Refuse(sub + ("periods",), "every period must be > 0 (MMEngine divides by it)")

    def _last(self, w):
        return min(w.n, sum(w.arg("periods"))) - 1

    def value(self, i, v, w):
        i = min(i, self._last(w))
        m, start = _m(self, w), 0
        for p, wt in zip(w.arg("periods"), self.restart_weights, strict=True):
            if i < start + p:
                s, top = i - start, w.eta * wt
                return top if s == 0 else m + (top - m) * (1 + math.cos(math.pi * s / p)) / 2
            start += p
        raise AssertionError  # pragma: no cover

    def exact(self, cx, v, w):
        m, last, start, parts = _m(self, w), self._last(w), 0, []
        for p, wt in zip(w.arg("periods"), self.restart_weights, strict=True):
            top = w.eta * wt
            d = N("cosine", start=top, end=m, duration=p)
            if start + p - 1 >= last:
                parts.append(_held(cx, d, last - start, top))
                break
            parts.append(d)
            start += p
        return parts if len(parts) > 1 else parts[0]

    def notes(self, cx, w):
        return [f"schedulers[{w.idx}] CosineRestartLR restarts at the base lr * restart_weights (absolute values) "
                "and never reaches eta_min (each cycle's last step is one short); after sum(periods) the last value "
                "holds"]  # fmt: skip


TYPES: dict[str, type[_Sched]] = {m.__name__: m for m in (LinearLR, ConstantLR, StepLR, MultiStepLR, ExponentialLR,
                                                            CosineAnnealingLR, PolyLR, OneCycleLR, CosineRestartLR)}  # fmt: skip
# MMEngine's other registered lr schedulers, refused with the reason
REFUSED = {
    "ReduceOnPlateauLR": "it is driven by validation metrics (ParamSchedulerHook.after_val_epoch); write the neutral "
    "`plateau` kind, which takes the reports",
    "QuadraticWarmupLR": "not supported by schedspec's MMEngine dialect yet (MMEngine's lr = v * (2i + 1) / T**2 "
    "chained); write the warmup in neutral kinds",
    "LRSchedulerMixin": "a mixin, not a scheduler",
}


class TrainCfg(BaseModel):
    """MMEngine's ``train_cfg`` (the train loop): what the default ``end`` of a scheduler is."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    type: Literal["EpochBasedTrainLoop", "IterBasedTrainLoop"] = Field(description="The train loop.")
    max_epochs: int | None = Field(None, gt=0, description="Epochs of an EpochBasedTrainLoop.")
    max_iters: int | None = Field(None, gt=0, description="Iterations of an IterBasedTrainLoop.")
    val_interval: int | None = Field(None, description="Validation interval; no effect on the lr.")
    val_begin: int | None = Field(None, description="First validation; no effect on the lr.")


def _validate(cx: Cx, raw: Any, i: int) -> _Sched:
    sub = ("schedulers", i)
    if not isinstance(raw, dict):
        cx.fail(sub, f"expected an MMEngine scheduler dict with `type:` (one of {', '.join(TYPES)})")
    t = raw.get("type")
    if not isinstance(t, str) or t not in TYPES:
        if t in REFUSED:
            cx.fail(sub + ("type",), f"MMEngine's {t} is not supported: {REFUSED[t]}")
        if isinstance(t, str) and (t.endswith("Momentum") or t.endswith("ParamScheduler")):
            what = "the momentum" if t.endswith("Momentum") else "a named parameter (param_name)"
            cx.fail(sub + ("type",), f"MMEngine's {t} schedules {what}, not the lr: this list is the lr's "
                                     "(write a `momentum:` schedule, or use the ...LR class)")  # fmt: skip
        cx.fail(sub + ("type",) if "type" in raw else sub,
                f"unknown MMEngine scheduler type {t!r}{did_you_mean(str(t), TYPES)} (MMEngine raises KeyError '{t} "
                f"is not in the mmengine::parameter scheduler registry'; known: {', '.join(TYPES)})")  # fmt: skip
    model = TYPES[t]
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            key = loc[0] if loc else None
            if err["type"] == "extra_forbidden":
                msg = (f"unknown argument `{key}` for MMEngine's {t}{did_you_mean(str(key), model.model_fields)} "
                       f"(its arguments: {', '.join(model.model_fields)})")  # fmt: skip
            elif err["type"] == "missing":
                msg = f"missing required argument `{key}` of MMEngine's {t}"
            elif key in model.rules:
                msg = f"`{key}` = {raw.get(key)!r}: MMEngine rejects it ('{model.rules[key]}')"
            else:
                msg = f"`{'.'.join(map(str, loc))}`: {err['msg']}"
            at = cx.path + sub + tuple(x for x in loc[:1] if x in raw)
            if err["type"] == "extra_forbidden":
                cx.lw.err(at, msg, key=True)
            else:
                cx.lw.err(at, msg)
        raise Stop from None


class MMEngineParamScheduler(FrameworkKind):
    """An MMEngine ``param_scheduler`` list (the lr part of an mmdet/mmpretrain/mmseg config), as MMEngine runs it."""

    framework: ClassVar[str] = "mmengine"
    kind: Literal["mmengine.param_scheduler"] = Field(
        description="MMEngine's param_scheduler: a list of scheduler dicts with `type:`, as in an MMEngine config."
    )
    lr: Value | None = Field(None, description=_LR)
    schedulers: list[dict[str, Any]] = Field(
        min_length=1,
        description="The param_scheduler list: dicts with `type` (LinearLR, ConstantLR, StepLR, MultiStepLR, "
        "ExponentialLR, CosineAnnealingLR, PolyLR, OneCycleLR, CosineRestartLR), begin, end, by_epoch, "
        "convert_to_iter_based and the class's own arguments, with MMEngine's defaults.",
    )
    train_cfg: TrainCfg | None = Field(
        None, description="MMEngine's train_cfg: sets each scheduler's default `end` (max_epochs / max_iters)."
    )

    def desugar(self, cx: Cx, span: int | None, carry: Any) -> Any:
        lr = self.lr
        if lr is None:
            if isinstance(carry, float):
                lr = carry
            else:
                cx.fail((), "missing `lr`: MMEngine's schedulers scale the optimizer's lr "
                            "(optim_wrapper.optimizer.lr); give it as `lr`")  # fmt: skip
        scheds = [_validate(cx, raw, i) for i, raw in enumerate(self.schedulers)]
        try:
            if is_var(lr):
                if not all(s.scale_free() for s in scheds):
                    cx.fail(("lr",), f"`lr` must be a number here, not the var {lr}: a scheduler of this list sets "
                                     "absolute values (eta_min, OneCycleLR), so the lr does not factor out")  # fmt: skip
                return N("scale", by=lr, of=self._build(cx, 1.0, scheds))
            return self._build(cx, float(lr), scheds)
        except _Refuse as exc:
            cx.fail(exc.sub, f"mmengine.param_scheduler: {exc.message}")

    # ---------------------------------------------------------------- resolution
    def _resolve(self, cx: Cx, eta: float, scheds: list[_Sched]) -> list[Win]:
        lw = cx.lw
        interval, spe = getattr(lw, "interval", "step"), getattr(lw, "spe", None)
        loop = self.train_cfg
        if loop is not None:
            need = "max_epochs" if loop.type == "EpochBasedTrainLoop" else "max_iters"
            if getattr(loop, need) is None:
                raise _Refuse(("train_cfg",), f"{loop.type} needs `{need}`")
        iter_loop = loop is not None and loop.type == "IterBasedTrainLoop"
        if iter_loop and interval != "step":
            raise _Refuse(("train_cfg",), "an IterBasedTrainLoop counts iterations: write the spec with "
                                          "`interval: step`")  # fmt: skip
        wins, base = [], eta
        for i, s in enumerate(scheds):
            sub = ("schedulers", i)
            by_epoch, b, e, args = s.by_epoch, s.begin, s.end, {}
            if e is None:
                if loop is None:
                    e = INF
                elif loop.type == "EpochBasedTrainLoop":
                    if by_epoch:
                        e = loop.max_epochs
                    elif spe is None:
                        raise _Refuse(sub, "its default `end` is max_iters = max_epochs * the epoch length: give "
                                           "the spec `steps_per_epoch` (len(train_dataloader)) or `end`")  # fmt: skip
                    else:
                        e = loop.max_epochs * spe
                else:
                    e = 1 if by_epoch else loop.max_iters
            if s.convert_to_iter_based:
                if not by_epoch:
                    raise _Refuse(sub + ("convert_to_iter_based",), "MMEngine asserts 'Only epoch-based parameter "
                                  "scheduler can be converted to iter-based': set by_epoch: true or drop it")  # fmt: skip
                if interval != "step" or spe is None:
                    raise _Refuse(sub + ("convert_to_iter_based",), "convert_to_iter_based multiplies the window by "
                                  "the epoch length: the spec needs `interval: step` and `steps_per_epoch` "
                                  "(len(train_dataloader))")  # fmt: skip
                b, e = int(b * spe), (int(e * spe) if e != INF else INF)
                args, by_epoch = s.convert(spe), False
            if e <= b:
                raise _Refuse(sub + (("end",) if s.end is not None else ()),
                              f"MMEngine raises 'end should be larger than begin, but got begin={b}, end={e}'")  # fmt: skip
            if by_epoch and interval == "step":
                if iter_loop:
                    u = loop.max_iters
                    if b >= 2:
                        cx.note(f"schedulers[{i}] ({s.type}, by_epoch) never steps: an IterBasedTrainLoop calls "
                                "after_train_epoch once, after max_iters")  # fmt: skip
                        continue
                    e = min(e, 2)
                    cx.note(f"schedulers[{i}] ({s.type}, by_epoch) in an IterBasedTrainLoop: only its epoch-0 value "
                            f"applies during training (after_train_epoch runs once, after max_iters = {u})")  # fmt: skip
                elif spe is None:
                    raise _Refuse(sub + (("by_epoch",) if "by_epoch" in self.schedulers[i] else ()),
                                  f"{s.type} is stepped at epoch ends (by_epoch: true, MMEngine's default) in a step "
                                  "spec: give the spec `steps_per_epoch` (len(train_dataloader); `schedspec translate --from "
                                  "mmengine --steps-per-epoch N`), or by_epoch: false")  # fmt: skip
                else:
                    u = spe
            elif not by_epoch and interval == "epoch":
                raise _Refuse(sub + ("by_epoch",), f"{s.type} with by_epoch: false steps per iteration: write the "
                                                   "spec with `interval: step` and `steps_per_epoch`")  # fmt: skip
            else:
                u = 1
            w = Win(i, s, b, e, u, base, args)
            if isinstance(s, OneCycleLR):
                base = s.eta_max / s.div_factor  # it writes initial_lr for the schedulers built after it
            if w.E > 2**31 - 1 and e != INF:
                raise _Refuse(sub + ("end",), f"its window ends at step {w.E}, beyond 2**31 - 1")
            s.check(cx, sub, w)
            wins.append(w)
        return wins

    # ---------------------------------------------------------------- building
    def _curve(self, cx: Cx, w: Win, v: float) -> Any:
        if w.u > 1:
            cx.note(f"schedulers[{w.idx}] ({w.s.type}) is stepped at epoch ends: its value changes every "
                    f"{w.u} steps (a staircase)")  # fmt: skip
            return w.s.stair(cx, v, w)
        return w.s.exact(cx, v, w)

    def _build(self, cx: Cx, eta: float, scheds: list[_Sched]) -> Any:
        wins = self._resolve(cx, eta, scheds)
        for w in wins:
            for note in w.s.notes(cx, w):
                cx.note(note)
        clusters: list[list[Win]] = []
        for w in sorted(wins, key=lambda x: (x.B, x.idx)):
            if clusters and w.B < max(x.E for x in clusters[-1]):
                clusters[-1].append(w)
            else:
                clusters.append([w])
        parts: list = []
        v = eta
        if not clusters:
            return N("constant", value=eta)
        if clusters[0][0].B > 0:
            parts.append(N("constant", value=eta, duration=clusters[0][0].B))
        for j, cl in enumerate(clusters):
            cl.sort(key=lambda x: x.idx)
            b0 = min(x.B for x in cl)
            if len(cl) == 1:
                w = cl[0]
                if isinstance(w.s, CosineAnnealingLR) and w.s.rises(w) and not math.isclose(v, w.eta, rel_tol=1e-12):
                    raise _Refuse(("schedulers", w.idx, "T_max"), "T_max is shorter than the window and the lr at "
                                  "`begin` is not the base lr: MMEngine's rise after T_max adds base-lr terms to the "
                                  "current lr, which has no closed form here")  # fmt: skip
                data = self._curve(cx, w, v)
                v_end = w.s.value(w.n - 1, v, w)
            else:
                for w in cl:
                    if not w.s.is_mult() or (isinstance(w.s, CosineAnnealingLR) and w.s.rises(w)):
                        other = next(x for x in cl if x is not w)
                        raise _Refuse(("schedulers", w.idx),
                                      f"its window overlaps schedulers[{other.idx}]'s: MMEngine applies both to the "
                                      f"current lr in list order, and {w.s.type} here is not a pure factor (eta_min, "
                                      "absolute values or a rise after T_max), so the result is a recurrence with no "
                                      "closed form; make the windows disjoint or use eta_min 0")  # fmt: skip
                factors = []
                for k, w in enumerate(cl):
                    f = self._curve(cx, w, v if k == 0 else 1.0)
                    if w.B > b0:
                        f = [N("constant", value=1.0 if k else v, duration=w.B - b0), *(f if isinstance(f, list) else [f])]
                    factors.append(f)
                cx.note("overlapping windows act together: " + ", ".join(f"schedulers[{w.idx}] {w.s.type}" for w in cl)
                        + " multiply the current lr in list order; neutral: their `product`")  # fmt: skip
                data = N("product", of=factors)
                v_end = v
                for w in cl:
                    v_end *= w.s.value(w.n - 1, 1.0, w)
            nxt = clusters[j + 1][0].B if j + 1 < len(clusters) else None
            data = window(cx, data, None if nxt is None else nxt - b0, "the next scheduler's window begins")
            parts.extend(data if isinstance(data, list) else [data])
            v = v_end
        return parts if len(parts) > 1 else parts[0]


_MM = (MMEngineParamScheduler,)
KINDS: dict[str, type[FrameworkKind]] = {kind_name(m): m for m in _MM}
