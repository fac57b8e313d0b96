"""The torch dialect: ``torch.<Class>`` kinds for the schedulers of ``torch.optim.lr_scheduler``, their desugaring
into neutral kinds and the quirks they rely on (notes). Live schedulers are read by
:func:`schedspec.dialects.importers.torch_data` (behind :func:`schedspec.from_torch`).

A torch scheduler scales the optimizer's base lr: a kind takes it as ``lr`` (default: the previous phase's final
value); ``CyclicLR`` and ``OneCycleLR`` set the lr themselves and take no ``lr``. A torch scheduler whose ``lr`` is
a var becomes ``{kind: scale, by: $lr, of: <the schedule at lr 1>}``. Quirks reproduced exactly, each recorded as a
note: ``CosineAnnealingLR`` rising again after ``T_max``, ``SequentialLR`` restarting every scheduler at the
optimizer's lr, ``ChainedScheduler`` re-adding base-lr terms after a cosine's ``T_max``, ...
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import Field

from .. import ir
from .._fields import Duration
from ._base import (
    Cx,
    FrameworkKind,
    N,  # noqa: N817 - builds one neutral mapping
    NeedLiteral,
    Real,
    Steps,
    Value,
    is_var,
    kind_name,
    length,
    union,
    window,
)  # fmt: skip

_LR = (
    "The optimizer's base learning rate (torch `initial_lr`, the `lr` the optimizer is built with), which torch "
    "schedulers scale. Default: the previous phase's final value (the first phase must give it). Not allowed on a "
    "scheduler inside torch.SequentialLR / torch.ChainedScheduler: give it once, on the outer one."
)


class _Torch(FrameworkKind):
    framework: ClassVar[str] = "torch"

    def desugar(self, cx: Cx, span: int | None, carry: Any) -> Any:
        lr = getattr(self, "lr", None)
        if "lr" in type(self).model_fields and lr is None:
            if isinstance(carry, float):
                lr = carry
            elif isinstance(carry, ir.Final):
                cx.fail((), "give `lr`: the previous phase's final value depends on a var, and torch schedulers "
                            "compute with their base lr")  # fmt: skip
            else:
                cx.fail((), f"missing `lr`: {cx.kind} scales the optimizer's base learning rate; give it as `lr` "
                            "(it defaults to the previous phase's final value, and this is the first phase)")  # fmt: skip
        try:
            return self.curve(cx, lr, span, None)
        except NeedLiteral:
            if not is_var(lr):
                raise
            return N("scale", by=lr, of=self.curve(cx, 1.0, span, None))

    def curve(self, cx: Cx, lr: Any, span: int | None, prev: Any) -> Any:  # pragma: no cover - overridden
        """Neutral data for this scheduler at base lr ``lr``, used for ``span`` units (None: forever)."""
        raise NotImplementedError

    def settles(self, cx: Cx) -> float:
        """The step from which this scheduler's factor stops changing (``inf``: never), for ChainedScheduler."""
        return math.inf


def _total(cx: Cx, raw: Any) -> int:
    return cx.steps(raw, ("total_iters",), "torch compares the step with it")


class TorchStepLR(_Torch):
    """torch ``StepLR``: ``lr * gamma ** (k // step_size)``."""

    kind: Literal["torch.StepLR"] = Field(
        description="torch.optim.lr_scheduler.StepLR: decay by gamma every step_size."
    )
    lr: Value | None = Field(None, description=_LR)
    step_size: Steps("torch.StepLR needs step_size > 0 (it computes last_epoch % step_size)", gt=0) = Field(
        description="Period of learning rate decay, in steps (scheduler.step() calls)."
    )
    gamma: Real(gt=0) = Field(0.1, description="Multiplicative factor of learning rate decay. Default 0.1.")

    def curve(self, cx, lr, span, prev):
        return N("step", start=lr, every=self.step_size, gamma=self.gamma)

    def settles(self, cx):
        return 0 if not is_var(self.gamma) and self.gamma == 1 else math.inf


class TorchMultiStepLR(_Torch):
    """torch ``MultiStepLR``: ``lr * gamma ** #{m in milestones : m <= k}``."""

    kind: Literal["torch.MultiStepLR"] = Field(
        description="torch.optim.lr_scheduler.MultiStepLR: decay by gamma at each milestone."
    )
    lr: Value | None = Field(None, description=_LR)
    milestones: list[Steps(ge=0)] = Field(
        description="Steps at which the lr is multiplied by gamma (torch keeps them as a multiset: a repeated "
        "milestone applies gamma twice; their order does not matter)."
    )
    gamma: Real(gt=0) = Field(0.1, description="Multiplicative factor of learning rate decay. Default 0.1.")

    def _milestones(self, cx):
        return sorted(
            cx.steps(m, ("milestones", i), "torch sorts the milestones")
            for i, m in enumerate(self.milestones)
        )

    def curve(self, cx, lr, span, prev):
        ms = self._milestones(cx)
        zeros = sum(1 for m in ms if m == 0)
        start = lr if zeros == 0 else cx.mul(lr, cx.lit(self.gamma, ("gamma",), "a milestone at 0 applies at once") ** zeros,
                                             ("lr",), "a milestone at 0 multiplies lr by gamma at once")  # fmt: skip
        rest = [m for m in ms if m > 0]
        if not rest:
            return N("constant", value=start)
        return N("multistep", start=start, milestones=rest, gamma=self.gamma)

    def settles(self, cx):
        ms = self._milestones(cx)
        return max(ms) if ms else 0


class TorchConstantLR(_Torch):
    """torch ``ConstantLR``: ``lr * factor`` until ``total_iters``, then ``lr``."""

    kind: Literal["torch.ConstantLR"] = Field(
        description="torch.optim.lr_scheduler.ConstantLR: lr * factor until total_iters."
    )
    lr: Value | None = Field(None, description=_LR)
    factor: Real("torch.ConstantLR needs 0 <= factor <= 1 ('Constant multiplicative factor expected to be between 0 "
                 "and 1.')", ge=0, le=1) = Field(1.0 / 3, description="Multiplier until total_iters. Default 1/3.")  # fmt: skip
    total_iters: Steps() = Field(5, description="Steps during which lr is multiplied by factor. Default 5.")

    def curve(self, cx, lr, span, prev):
        total = _total(cx, self.total_iters)
        low = cx.mul(lr, self.factor, ("factor",), "torch multiplies lr by it")
        if total <= 0:
            cx.note(f"total_iters = {total}: torch applies factor at step 0 and never restores lr (its step() only "
                    "undoes the factor when last_epoch == total_iters), so the lr stays lr * factor; neutral: "
                    f"{{kind: constant, value: {low}}}")  # fmt: skip
            return N("constant", value=low)
        if not is_var(self.factor) and self.factor == 0:
            cx.fail(("factor",), "torch.ConstantLR with factor 0 divides by zero at total_iters (it restores lr by "
                                 "multiplying with 1 / factor); use a factor > 0")  # fmt: skip
        return [N("constant", value=low, duration=total), N("constant", value=lr)]

    def settles(self, cx):
        return max(_total(cx, self.total_iters), 0)


class TorchLinearLR(_Torch):
    """torch ``LinearLR``: ``lr * (start_factor + (end_factor - start_factor) * min(k, T) / T)``."""

    kind: Literal["torch.LinearLR"] = Field(
        description="torch.optim.lr_scheduler.LinearLR: a linear factor ramp over total_iters."
    )
    lr: Value | None = Field(None, description=_LR)
    start_factor: Real("torch.LinearLR needs 0 < start_factor <= 1 ('Starting multiplicative factor expected to be "
                       "greater than 0 and less or equal to 1.')", gt=0, le=1) = Field(
        1.0 / 3, description="Factor at step 0. Default 1/3.")  # fmt: skip
    end_factor: Real("torch.LinearLR needs 0 <= end_factor <= 1 ('Ending multiplicative factor expected to be between "
                     "0 and 1.')", ge=0, le=1) = Field(1.0, description="Factor from total_iters on. Default 1.")  # fmt: skip
    total_iters: Steps() = Field(5, description="Steps of the ramp. Default 5.")

    def curve(self, cx, lr, span, prev):
        total = _total(cx, self.total_iters)
        start = cx.mul(lr, self.start_factor, ("start_factor",), "torch multiplies lr by it")
        if total <= 0:
            cx.note(f"total_iters = {total}: torch applies start_factor at step 0 and never changes it again; "
                    f"neutral: {{kind: constant, value: {start}}}")  # fmt: skip
            return N("constant", value=start)
        end = cx.mul(lr, self.end_factor, ("end_factor",), "torch multiplies lr by it")
        return N("linear", start=start, end=end, duration=total)

    def settles(self, cx):
        return max(_total(cx, self.total_iters), 0)


class TorchExponentialLR(_Torch):
    """torch ``ExponentialLR``: ``lr * gamma ** k``."""

    kind: Literal["torch.ExponentialLR"] = Field(
        description="torch.optim.lr_scheduler.ExponentialLR: lr * gamma ** k."
    )
    lr: Value | None = Field(None, description=_LR)
    gamma: Real(gt=0) = Field(description="Multiplicative factor of learning rate decay per step.")

    def curve(self, cx, lr, span, prev):
        return N("exponential", start=lr, gamma=self.gamma)

    def settles(self, cx):
        return 0 if not is_var(self.gamma) and self.gamma == 1 else math.inf


class TorchMultiplicativeLR(_Torch):
    """torch ``MultiplicativeLR`` with a constant factor: ``lr * f ** k`` (``f(0)`` is never applied)."""

    kind: Literal["torch.MultiplicativeLR"] = Field(
        description="torch.optim.lr_scheduler.MultiplicativeLR with a constant factor: lr * lr_lambda ** k."
    )
    lr: Value | None = Field(None, description=_LR)
    lr_lambda: Real(gt=0) = Field(
        description="The constant factor the lr is multiplied by at every step (torch takes a function of the epoch; "
        "a spec can only give a constant)."
    )

    def curve(self, cx, lr, span, prev):
        cx.note("the factor is first applied at step 1 (torch never applies lr_lambda(0)): lr * f ** k; neutral: "
                f"{{kind: exponential, start: lr, gamma: {self.lr_lambda}}}")  # fmt: skip
        return N("exponential", start=lr, gamma=self.lr_lambda)

    def settles(self, cx):
        return 0 if not is_var(self.lr_lambda) and self.lr_lambda == 1 else math.inf


class TorchPolynomialLR(_Torch):
    """torch ``PolynomialLR``: ``lr * (1 - min(k, T) / T) ** power`` (always decays to 0)."""

    kind: Literal["torch.PolynomialLR"] = Field(
        description="torch.optim.lr_scheduler.PolynomialLR: polynomial decay to 0."
    )
    lr: Value | None = Field(None, description=_LR)
    total_iters: Steps() = Field(5, description="Steps of the decay (the lr is 0 from then on). Default 5.")
    power: Real(gt=0) = Field(1.0, description="Power of the polynomial. Default 1.")

    def curve(self, cx, lr, span, prev):
        total = _total(cx, self.total_iters)
        if total <= 0:
            cx.note(f"total_iters = {total}: torch's step() leaves the lr unchanged at every step; neutral: "
                    "{kind: constant, value: lr}")  # fmt: skip
            return N("constant", value=lr)
        return N("polynomial", start=lr, end=0.0, power=self.power, duration=total)

    def settles(self, cx):
        return max(_total(cx, self.total_iters), 0)


class TorchCosineAnnealingLR(_Torch):
    """torch ``CosineAnnealingLR``: ``eta_min + (lr - eta_min) * (1 + cos(pi * k / T_max)) / 2`` for every k."""

    kind: Literal["torch.CosineAnnealingLR"] = Field(
        description="torch.optim.lr_scheduler.CosineAnnealingLR: cosine from lr to eta_min over T_max, then back up "
        "(it does not stop at T_max: period 2 * T_max)."
    )
    lr: Value | None = Field(None, description=_LR)
    T_max: Steps("torch.CosineAnnealingLR needs T_max > 0 (it divides by it)", gt=0) = Field(  # noqa: N815
        description="Steps from lr down to eta_min."
    )
    eta_min: Value = Field(0.0, description="Minimum learning rate. Default 0.")

    def curve(self, cx, lr, span, prev):
        t_max = self.T_max
        horizon = span if span is not None else cx.horizon
        if (
            horizon is None
            or is_var(t_max)
            or horizon > cx.steps(t_max, ("T_max",), "compared with the milestones")
        ):
            cx.note(f"the lr rises again after T_max = {t_max} (a period of 2 * T_max: torch's cosine never holds "
                    "eta_min); neutral: {kind: repeat, of: [{kind: cosine, start: lr, end: eta_min, duration: T_max}, "
                    "{kind: cosine, start: eta_min, end: lr, duration: T_max}]}; to hold eta_min after T_max write "
                    f"{{kind: cosine, end: eta_min, duration: {t_max}}}")  # fmt: skip
        down = N("cosine", start=lr, end=self.eta_min, duration=t_max)
        up = N("cosine", start=self.eta_min, end=lr, duration=t_max)
        return N("repeat", of=[down, up])


class TorchCosineAnnealingWarmRestarts(_Torch):
    """torch ``CosineAnnealingWarmRestarts``: a cosine from lr to eta_min, restarted every T_i = T_0 * T_mult**i."""

    kind: Literal["torch.CosineAnnealingWarmRestarts"] = Field(
        description="torch.optim.lr_scheduler.CosineAnnealingWarmRestarts (SGDR): cosine restarts."
    )
    lr: Value | None = Field(None, description=_LR)
    T_0: Steps("torch.CosineAnnealingWarmRestarts needs a positive integer T_0 ('Expected positive integer T_0')",  # noqa: N815
               gt=0) = Field(description="Steps of the first cycle.")  # fmt: skip
    T_mult: int = Field(1, ge=1, description="Each cycle is T_mult times longer than the previous (an integer >= 1, "  # noqa: N815
                                             "as torch requires). Default 1.")  # fmt: skip
    eta_min: Value = Field(0.0, description="Minimum learning rate. Default 0.")

    def curve(self, cx, lr, span, prev):
        return N("repeat", of=N("cosine", start=lr, end=self.eta_min, duration=self.T_0), mult=self.T_mult)


_MOMENTUM = (
    "torch also cycles the optimizer's momentum (beta1), inversely to the lr; that is another hyperparameter, not "
    "part of this lr schedule (write a `momentum:` schedule for it)."
)


class TorchCyclicLR(_Torch):
    """torch ``CyclicLR``: triangular waves between base_lr and max_lr (it sets the lr itself: no ``lr``)."""

    kind: Literal["torch.CyclicLR"] = Field(
        description="torch.optim.lr_scheduler.CyclicLR: cyclical learning rate."
    )
    base_lr: Value = Field(
        description="Lower boundary of the cycle (torch overwrites the optimizer's lr with it)."
    )
    max_lr: Value = Field(description="Upper boundary of the cycle.")
    step_size_up: Steps(gt=0) = Field(2000, description="Steps of the increasing half. Default 2000.")
    step_size_down: Steps(gt=0) | None = Field(
        None, description="Steps of the decreasing half. Default step_size_up."
    )
    mode: Literal["triangular", "triangular2", "exp_range"] = Field(
        "triangular",
        description="triangular (constant amplitude), triangular2 (halved each cycle) or exp_range "
        "(amplitude * gamma ** k). Default triangular.",
    )
    gamma: Real(gt=0) = Field(
        1.0, description="Base of the amplitude scaling of exp_range (per step). Default 1."
    )
    scale_mode: Literal["cycle", "iterations"] | None = Field(
        None,
        description="Only used by torch with a custom scale_fn (a Python function, which a spec cannot hold); "
        "with the built-in modes torch uses 'cycle' (triangular, triangular2) or 'iterations' (exp_range).",
    )
    cycle_momentum: bool = Field(True, description=f"Whether torch cycles momentum. {_MOMENTUM}")
    base_momentum: Real(ge=0) = Field(0.8, description=f"Lower momentum boundary. {_MOMENTUM}")
    max_momentum: Real(ge=0) = Field(0.9, description=f"Upper momentum boundary. {_MOMENTUM}")

    def curve(self, cx, lr, span, prev):
        implied = "iterations" if self.mode == "exp_range" else "cycle"
        if self.scale_mode is not None and self.scale_mode != implied:
            cx.fail(("scale_mode",), f"torch ignores scale_mode {self.scale_mode!r} for mode {self.mode!r} (it uses "
                                     f"{implied!r}; scale_mode only applies to a custom scale_fn): remove it")  # fmt: skip
        if self.cycle_momentum:
            cx.note(f"cycle_momentum is true: {_MOMENTUM}")
        return N("cyclic", low=self.base_lr, high=self.max_lr, up=self.step_size_up, down=self.step_size_down,
                 mode=self.mode, gamma=self.gamma)  # fmt: skip


class TorchOneCycleLR(_Torch):
    """torch ``OneCycleLR``: initial -> max_lr at pct_start*N - 1 -> minimum at N - 1 (it sets the lr itself)."""

    kind: Literal["torch.OneCycleLR"] = Field(
        description="torch.optim.lr_scheduler.OneCycleLR: the 1cycle policy."
    )
    max_lr: Value = Field(
        description="Peak learning rate (torch overwrites the optimizer's initial lr with max_lr / div_factor)."
    )
    total_steps: Steps("torch.OneCycleLR needs a positive integer total_steps", gt=0) | None = Field(
        None, description="N, the number of steps in the cycle. Either this, or epochs and steps_per_epoch."
    )
    epochs: int | None = Field(None, gt=0, description="With steps_per_epoch: N = epochs * steps_per_epoch.")
    steps_per_epoch: int | None = Field(None, gt=0, description="With epochs: N = epochs * steps_per_epoch.")
    pct_start: Real("torch.OneCycleLR needs 0 <= pct_start <= 1", ge=0, le=1) = Field(
        0.3, description="Fraction of the cycle spent increasing the lr. Default 0.3."
    )
    anneal_strategy: Literal["cos", "linear"] = Field("cos", description="Annealing shape. Default cos.")
    cycle_momentum: bool = Field(True, description=f"Whether torch cycles momentum. {_MOMENTUM}")
    base_momentum: Real(ge=0) = Field(0.85, description=f"Lower momentum boundary. {_MOMENTUM}")
    max_momentum: Real(ge=0) = Field(0.95, description=f"Upper momentum boundary. {_MOMENTUM}")
    div_factor: Real(gt=0) = Field(25.0, description="initial lr = max_lr / div_factor. Default 25.")
    final_div_factor: Real(gt=0) = Field(
        1e4, description="minimum lr = initial lr / final_div_factor. Default 1e4."
    )
    three_phase: bool = Field(
        False, description="Rise, fall back to the initial lr, then anneal to the minimum. Default false."
    )

    def curve(self, cx, lr, span, prev):
        n = self.total_steps
        if n is None:
            if self.epochs is None or self.steps_per_epoch is None:
                cx.fail(
                    (),
                    "torch.OneCycleLR: 'You must define either total_steps OR (epochs AND steps_per_epoch)'",
                )
            n = self.epochs * self.steps_per_epoch
        if self.cycle_momentum:
            cx.note(f"cycle_momentum is true: {_MOMENTUM}")
        cx.note(f"the peak is at step pct_start * N - 1 and the minimum at N - 1 (N = {n}); torch raises on the "
                "(N+1)-th scheduler.step(), and schedspec holds the minimum from N - 1 on (at k = N torch's lr is "
                "already past the end of its last anneal); neutral: {kind: onecycle, peak: max_lr, duration: N, ...}")  # fmt: skip
        return N("onecycle", peak=self.max_lr, duration=n, pct_start=self.pct_start, div_factor=self.div_factor,
                 final_div_factor=self.final_div_factor, anneal=self.anneal_strategy, three_phase=self.three_phase)  # fmt: skip


class TorchReduceLROnPlateau(_Torch):
    """torch ``ReduceLROnPlateau`` (neutral ``plateau``): the lr is multiplied by factor when a metric stalls."""

    kind: Literal["torch.ReduceLROnPlateau"] = Field(
        description="torch.optim.lr_scheduler.ReduceLROnPlateau: reduce the lr when a metric stops improving."
    )
    lr: Value | None = Field(None, description=_LR)
    monitor: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="schedspec: the name of the metric torch receives in scheduler.step(metric), e.g. val_loss.",
    )
    mode: Literal["min", "max"] = Field(
        "min", description="Whether lower (min) or higher (max) is better. Default min."
    )
    factor: Real("torch.ReduceLROnPlateau needs factor < 1.0 ('Factor should be < 1.0.'; schedspec also needs it > 0)",
                 gt=0, lt=1) = Field(0.1, description="new_lr = lr * factor. Default 0.1.")  # fmt: skip
    patience: int = Field(
        10, ge=0, description="Bad epochs tolerated; the lr is reduced after patience + 1. Default 10."
    )
    threshold: Value = Field(1e-4, description="Minimum change that counts as an improvement. Default 1e-4.")
    threshold_mode: Literal["rel", "abs"] = Field(
        "rel", description="Relative or absolute threshold. Default rel."
    )
    cooldown: int = Field(0, ge=0, description="Epochs ignored after a reduction. Default 0.")
    min_lr: Value = Field(
        0.0, description="Lower bound of the lr (one number: per-group lists are not supported). Default 0."
    )
    eps: Value = Field(1e-8, description="Reductions smaller than eps are skipped. Default 1e-8.")
    every: Duration | None = Field(
        None,
        description="schedspec: units between two scheduler.step(metric) calls. Default 1: torch's k counts those "
        "calls (with interval: step and one call per epoch, write `every: 1ep`).",
    )

    def curve(self, cx, lr, span, prev):
        return N("plateau", start=lr, monitor=self.monitor, mode=self.mode, factor=self.factor, patience=self.patience,
                 threshold=self.threshold, threshold_mode=self.threshold_mode, cooldown=self.cooldown, min=self.min_lr,
                 eps=self.eps, every=1 if self.every is None else self.every)  # fmt: skip


_NO_NESTING = {
    "torch.ReduceLROnPlateau": "torch rejects it ('does not support `ReduceLROnPlateau` scheduler as it requires "
    "additional kwargs to be specified when calling `step`')",
}


class TorchSequentialLR(_Torch):
    """torch ``SequentialLR``: scheduler i runs from milestone i-1, at local time k - milestone, restarted at lr."""

    kind: Literal["torch.SequentialLR"] = Field(
        description="torch.optim.lr_scheduler.SequentialLR: schedulers one after the other, each restarted at lr."
    )
    lr: Value | None = Field(None, description=_LR)
    schedulers: list[TorchSchedule] = Field(
        min_length=1, description="The torch schedulers, in order (without `lr`)."
    )
    milestones: list[Steps(ge=0)] = Field(
        description="Steps at which the next scheduler takes over (one fewer than schedulers), increasing."
    )

    def curve(self, cx, lr, span, prev):
        n = len(self.schedulers)
        if len(self.milestones) != n - 1:
            cx.fail(("milestones",), "torch.SequentialLR expects the number of schedulers to be one more than the "
                                     f"number of milestones (got {n} schedulers and {len(self.milestones)} milestones)")  # fmt: skip
        ms = [
            cx.steps(m, ("milestones", i), "the schedulers are cut there")
            for i, m in enumerate(self.milestones)
        ]
        for i in range(1, len(ms)):
            if ms[i] < ms[i - 1]:
                cx.fail(
                    ("milestones", i),
                    f"milestones must be increasing (torch bisects them): {ms[i]} comes after {ms[i - 1]}",
                )
        begins = [0, *ms]
        parts: list = []
        previous = None  # (data, span) of the last scheduler that ran
        restarted = []
        for i, child in enumerate(self.schedulers):
            sub = cx.child("schedulers", i, kind=child.kind, begin=begins[i])
            _check_child(sub, child, "torch.SequentialLR")
            if child.kind in ("torch.SequentialLR", "torch.ChainedScheduler"):
                sub.fail((), f"{child.kind} inside torch.SequentialLR is not supported: torch steps it once too often "
                             "when it comes first and raises NotImplementedError at its milestone otherwise")  # fmt: skip
            if child.kind == "torch.OneCycleLR":
                sub.fail((), "torch.OneCycleLR inside torch.SequentialLR is not supported: its constructor overwrites "
                             "the optimizer's initial_lr, which SequentialLR restarts every scheduler from, and it "
                             "raises once stepped past its total_steps")  # fmt: skip
            if (
                i == 0
                and isinstance(child, TorchCyclicLR)
                and n > 1
                and (is_var(lr) or is_var(child.base_lr) or lr != child.base_lr)
            ):
                sub.fail((), "torch.CyclicLR as the first scheduler of a SequentialLR (constructed first) sets the "
                             "optimizer's initial_lr to its base_lr, and the later schedulers restart from that: give "
                             f"the SequentialLR lr = base_lr ({child.base_lr}), or put CyclicLR later")  # fmt: skip
            begin = begins[i]
            if span is not None and begin > span:
                break
            end = begins[i + 1] if i + 1 < n else None
            # cut at `span`, the value held from there on is the value at `span` (a scheduler beginning there
            # gives it): the schedulers run to `span + 1` and the caller's window cuts them at `span`
            if span is not None:
                end = span + 1 if end is None else min(end, span + 1)
            child_span = None if end is None else end - begin
            if child_span == 0:
                continue
            child_lr = lr
            if isinstance(child, TorchMultiplicativeLR) and previous is not None:
                last = sub.value_at(previous[0], previous[1] - 1, ())
                child_lr = sub.mul(last, child.lr_lambda, ("lr_lambda",), "it continues from the previous lr")
                sub.note(f"at its milestone it continues from the lr the previous scheduler left ({last:g}) times "
                         "lr_lambda, not from lr (torch: it reads the optimizer's current lr)")  # fmt: skip
            data = child.curve(sub, child_lr, child_span, previous)
            if previous is not None and not isinstance(child, TorchMultiplicativeLR):
                held = sub.try_value_at(
                    previous[0], previous[1]
                )  # where the previous one would have continued
                first = sub.try_value_at(data, 0)
                if held is None or first is None or not math.isclose(held, first, rel_tol=1e-12, abs_tol=0.0):
                    restarted.append((i, child.kind, held, first))
            natural = length(sub, data, "it is cut at a milestone")
            cut = end if span is None or end is None else min(end, span)
            if child_span is not None and natural is not None and natural > cut - begin and cut > begin:
                sub.note(f"cut at step {cut} before its own end (step {begin + natural}): torch switches "
                         "schedulers at the milestone whatever the value")  # fmt: skip
            data = window(sub, data, child_span, "it is cut at a milestone")
            parts.extend(data if isinstance(data, list) else [data])
            previous = (data, child_span)
        if restarted:
            names = ", ".join(
                f"schedulers[{i}] {k}" + (f" starts at {first:g} where the previous one was at {held:g}"
                                          if held is not None and first is not None else "")
                for i, k, held, first in restarted
            )  # fmt: skip
            cx.note(f"each scheduler starts again from lr = {lr} at its milestone, not from the previous scheduler's "
                    f"last value ({names}); neutral: a list of phases, each with an explicit `start`")  # fmt: skip
        return parts if len(parts) != 1 else parts[0]


def _check_child(sub: Cx, child: Any, parent: str) -> None:
    if child.kind in _NO_NESTING:
        sub.fail((), f"{child.kind} inside {parent}: {_NO_NESTING[child.kind]}")
    if getattr(child, "lr", None) is not None:
        sub.fail(
            ("lr",), f"a scheduler inside {parent} shares its optimizer: give `lr` once, on the {parent}"
        )
    if child.duration is not None:
        sub.fail(
            ("duration",),
            f"`duration` is not allowed inside {parent}: its own structure sets each scheduler's span",
        )


_CHAINABLE = ("torch.ConstantLR", "torch.LinearLR", "torch.ExponentialLR", "torch.StepLR", "torch.MultiStepLR",
              "torch.PolynomialLR", "torch.MultiplicativeLR")  # fmt: skip


class TorchChainedScheduler(_Torch):
    """torch ``ChainedScheduler``: every scheduler steps on the same lr; for multiplicative ones, lr * prod(factors)."""

    kind: Literal["torch.ChainedScheduler"] = Field(
        description="torch.optim.lr_scheduler.ChainedScheduler: the product of multiplicative schedulers, all from k = 0."
    )
    lr: Value | None = Field(None, description=_LR)
    schedulers: list[TorchSchedule] = Field(
        min_length=1, description="The torch schedulers, all stepped at every step (without `lr`)."
    )

    def _flat(self, cx: Cx) -> list[tuple[Cx, Any]]:
        out = []
        for i, child in enumerate(self.schedulers):
            sub = cx.child("schedulers", i, kind=child.kind)
            _check_child(sub, child, "torch.ChainedScheduler")
            if isinstance(child, TorchChainedScheduler):
                out.extend(child._flat(sub))
            elif child.kind in _CHAINABLE or child.kind == "torch.CosineAnnealingLR":
                out.append((sub, child))
            elif child.kind == "torch.SequentialLR":
                sub.fail((), "torch.SequentialLR inside torch.ChainedScheduler is not supported: at each milestone it "
                             "restarts from the initial lr and drops the other schedulers' factors, so the chain is not "
                             "a product")  # fmt: skip
            else:
                sub.fail((), f"{child.kind} inside torch.ChainedScheduler is not supported: it sets the lr from its own "
                             "closed form at each step, overwriting the other schedulers' factors (only "
                             f"{', '.join(_CHAINABLE)} and CosineAnnealingLR chain multiplicatively)")  # fmt: skip
        return out

    def curve(self, cx, lr, span, prev):
        flat = self._flat(cx)
        cosines = [(s, c) for s, c in flat if isinstance(c, TorchCosineAnnealingLR)]
        others = [(s, c) for s, c in flat if not isinstance(c, TorchCosineAnnealingLR)]
        if not cosines:
            factors = [c.curve(s, lr if i == 0 else 1.0, None, None) for i, (s, c) in enumerate(flat)]
            return factors[0] if len(factors) == 1 else N("product", of=factors)
        sub, cos = cosines[0]
        if len(cosines) > 1:
            cosines[1][0].fail((), "only one torch.CosineAnnealingLR can be chained: each adds base_lr terms at its own "
                                   "T_max + 1, so the chain has no closed form")  # fmt: skip
        if is_var(cos.eta_min) or cos.eta_min != 0:
            sub.fail(("eta_min",), "torch.CosineAnnealingLR with eta_min != 0 cannot be chained: its update "
                                   "(lr - eta_min) * ratio + eta_min is affine, so the chained lr depends on the order "
                                   "and is not the product of the factors (write the product in neutral kinds with "
                                   "`product` if that is what you mean)")  # fmt: skip
        t_max = sub.steps(cos.T_max, ("T_max",), "the chain changes behaviour there")
        for s, c in others:
            settle = c.settles(s)
            if settle > t_max:
                s.fail((), f"chained with torch.CosineAnnealingLR, this scheduler must stop changing by T_max = {t_max} "
                           f"(it changes until step {settle if settle != math.inf else 'forever'}): at T_max + 1 torch "
                           "re-adds base_lr * (1 - cos(pi / T_max)) / 2 to the lr and drops the other factors, so the "
                           "chain is a product only when they have all settled")  # fmt: skip
        if cx.horizon is None or cx.horizon > t_max:
            cx.note(f"after T_max = {t_max} torch's chained lr is the cosine alone, rising again (at T_max + 1 "
                    "CosineAnnealingLR re-adds base_lr terms and the other, settled factors are dropped); neutral: "
                    "[{kind: product, of: [cosine, ...], duration: T_max}, {kind: repeat, of: [cosine up, cosine down]}]")  # fmt: skip
        down = N("cosine", start=lr, end=0.0, duration=t_max)
        factors = [c.curve(s, 1.0, None, None) for s, c in others]
        first = N("product", of=[down, *factors], duration=t_max)
        rebound = N(
            "repeat",
            of=[
                N("cosine", start=0.0, end=lr, duration=t_max),
                N("cosine", start=lr, end=0.0, duration=t_max),
            ],
        )
        return [first, rebound]


_TORCH = (TorchStepLR, TorchMultiStepLR, TorchConstantLR, TorchLinearLR, TorchExponentialLR, TorchPolynomialLR,
          TorchCosineAnnealingLR, TorchCosineAnnealingWarmRestarts, TorchCyclicLR, TorchOneCycleLR, TorchSequentialLR,
          TorchChainedScheduler, TorchReduceLROnPlateau, TorchMultiplicativeLR)  # fmt: skip

TorchSchedule = union(_TORCH, "torch", "TorchSchedule")
KINDS: dict[str, type[FrameworkKind]] = {kind_name(m): m for m in _TORCH}
