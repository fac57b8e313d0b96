"""The detectron2 dialect: the ``detectron2.SOLVER`` kind, the schedule keys of a detectron2 ``SOLVER`` config node
(its own upper-case names and the defaults of ``detectron2/config/defaults.py``), desugared into neutral kinds.
Configs are read by :func:`solver_data` (behind :func:`schedspec.from_detectron2`).

Semantics (detectron2 ``solver/build.py`` ``build_lr_scheduler`` and ``solver/lr_scheduler.py``
``WarmupParamScheduler``/``LRMultiplier`` over fvcore's ``common/param_scheduler.py``; docs/dialects.md §3): the lr
of iteration k is ``BASE_LR * M(k / MAX_ITER)``, M a composite of a warmup over ``WARMUP_ITERS`` and the main
schedule in absolute time (``STEPS`` are absolute iterations, the warmup included) unless ``RESCALE_INTERVAL``.
fvcore compares with ``WHERE_EPSILON = 1e-6``, which moves every switch earlier once ``MAX_ITER >= 1e6``: each
switch point is found by evaluating fvcore's own float expression, never analytically.
"""

from __future__ import annotations

import ast
import bisect
import math
from typing import Any, ClassVar, Literal

from pydantic import Field

from ..errors import did_you_mean
from ._base import Cx, FrameworkKind, N, Real, is_var, kind_name, window  # noqa: N817

EPS = 1e-6  # fvcore ParamScheduler.WHERE_EPSILON
INT32 = 2**31 - 1  # the last iteration any framework counts
NAMES = ("WarmupMultiStepLR", "WarmupCosineLR", "WarmupStepWithFixedGammaLR")
# detectron2/config/defaults.py (git 02b5c4e), the SOLVER keys of the lr schedule
DEFAULTS = {"LR_SCHEDULER_NAME": "WarmupMultiStepLR", "MAX_ITER": 40000, "BASE_LR": 0.001, "BASE_LR_END": 0.0,
            "GAMMA": 0.1, "STEPS": [30000], "NUM_DECAYS": 3, "WARMUP_FACTOR": 1.0 / 1000, "WARMUP_ITERS": 1000,
            "WARMUP_METHOD": "linear", "RESCALE_INTERVAL": False}  # fmt: skip


class Detectron2Solver(FrameworkKind):
    """A detectron2 ``SOLVER`` node's lr schedule (``build_lr_scheduler``), as detectron2 runs it per iteration."""

    framework: ClassVar[str] = "detectron2"
    kind: Literal["detectron2.SOLVER"] = Field(
        description="detectron2's SOLVER config node (LR_SCHEDULER_NAME, BASE_LR, STEPS, MAX_ITER, WARMUP_*), "
        "stepped once per iteration."
    )
    LR_SCHEDULER_NAME: str = Field(
        "WarmupMultiStepLR", description="WarmupMultiStepLR (default), WarmupCosineLR or WarmupStepWithFixedGammaLR."
    )
    BASE_LR: Real(ge=0) = Field(0.001, description="The lr the multiplier scales. Default 0.001.")
    BASE_LR_END: float = Field(0.0, ge=0, description="WarmupCosineLR: the final lr. Default 0.")
    MAX_ITER: int = Field(40000, gt=0, description="Iterations of training (where = k / MAX_ITER). Default 40000.")
    STEPS: list[int] = Field([30000], description="WarmupMultiStepLR: absolute iterations (warmup included) at "
                             "which the lr is multiplied by GAMMA. Default (30000,).")  # fmt: skip
    GAMMA: float = Field(0.1, description="Decay factor. Default 0.1.")
    NUM_DECAYS: int = Field(3, description="WarmupStepWithFixedGammaLR: number of equal decays. Default 3.")
    WARMUP_FACTOR: float = Field(1.0 / 1000, ge=0, description="Warmup starts at WARMUP_FACTOR * the main "
                                 "schedule's first value. Default 1/1000.")  # fmt: skip
    WARMUP_ITERS: int = Field(1000, ge=0, description="Iterations of warmup. Default 1000.")
    WARMUP_METHOD: str = Field("linear", description="linear or constant. Default linear.")
    RESCALE_INTERVAL: bool = Field(False, description="Squeeze the main schedule into [WARMUP_ITERS, MAX_ITER] "
                                   "(true), or keep it in absolute time (false, the default).")  # fmt: skip

    # ---------------------------------------------------------------- fvcore, evaluated as fvcore does
    def _main_fn(self, cx: Cx):
        name, m = self.LR_SCHEDULER_NAME, self.MAX_ITER
        if name not in NAMES:
            cx.fail(("LR_SCHEDULER_NAME",), f"detectron2 raises ValueError('Unknown LR scheduler: {name}')"
                                            f"{did_you_mean(name, NAMES)} (known: {', '.join(NAMES)})")  # fmt: skip
        if name == "WarmupMultiStepLR":
            steps = [x for x in self.STEPS if x <= m]
            if len(steps) != len(self.STEPS):
                cx.note("SOLVER.STEPS contains values larger than SOLVER.MAX_ITER: detectron2 ignores them (it logs "
                        f"'These values will be ignored.'): {[x for x in self.STEPS if x > m]}")  # fmt: skip
            values = [self.GAMMA**k for k in range(len(steps) + 1)]
            if m < len(values):
                cx.fail(("MAX_ITER",), "fvcore raises 'Total num_updates must be greater than length of param "
                                       "schedule'")  # fmt: skip
            start = 0
            for i, s in enumerate(steps):
                if s >= m:
                    cx.fail(("STEPS", self.STEPS.index(s)), f"fvcore raises 'Milestone must be smaller than total "
                                                             f"number of updates: num_updates={m}, milestone={s}'")  # fmt: skip
                if start >= s:
                    cx.fail(("STEPS", i), f"fvcore raises 'Milestone must be smaller than start epoch: "
                                          f"start_epoch={start}, milestone={s}' (STEPS must be > 0 and ascending)")  # fmt: skip
                start = s

            def main(where: float) -> float:
                return values[bisect.bisect_right(steps, int((where + EPS) * m))]

            return main, "steps"
        if name == "WarmupCosineLR":
            base = self.BASE_LR
            if is_var(base):
                if self.BASE_LR_END:
                    cx.fail(("BASE_LR",), f"BASE_LR must be a number here, not the var {base}: detectron2 divides "
                                          "BASE_LR_END by it")  # fmt: skip
                base = 1.0
            e = self.BASE_LR_END / base if base else math.inf
            if not 0.0 <= e <= 1.0:
                cx.fail(("BASE_LR_END",), f"detectron2 asserts 0 <= BASE_LR_END / BASE_LR <= 1 (AssertionError: {e})")

            def main(where: float) -> float:
                return e + 0.5 * (1 - e) * (1 + math.cos(math.pi * where))

            return main, "cosine"
        if not self.GAMMA > 0:
            cx.fail(("GAMMA",), "fvcore raises 'base_value and gamma must be positive numbers'")
        if not self.NUM_DECAYS > 0:
            cx.fail(("NUM_DECAYS",), "fvcore raises 'num_decays and num_updates must be positive integers'")
        values = [1.0]
        for _ in range(self.NUM_DECAYS):
            values.append(values[-1] * self.GAMMA)

        def main(where: float) -> float:
            return values[min(int((where + EPS) * len(values)), len(values) - 1)]  # fvcore: IndexError at the end

        return main, "steps"

    def desugar(self, cx: Cx, span: int | None, carry: Any) -> Any:
        if getattr(cx.lw, "interval", "step") != "step":
            cx.fail((), "detectron2 steps its scheduler once per iteration: write the spec with `interval: step`")
        if self.WARMUP_METHOD not in ("linear", "constant"):
            cx.fail(("WARMUP_METHOD",), f"detectron2 raises ValueError('Unknown warmup method: {self.WARMUP_METHOD}')"
                                        " (linear or constant)")  # fmt: skip
        if is_var(self.BASE_LR):
            return N("scale", by=self.BASE_LR, of=self._curve(cx, 1.0))
        return self._curve(cx, float(self.BASE_LR))

    def _curve(self, cx: Cx, base: float) -> Any:
        main, shape = self._main_fn(cx)
        m, big_w = self.MAX_ITER, self.WARMUP_ITERS
        w = min(big_w / m, 1.0)
        lengths = [w, 1 - w]
        rescale = self.RESCALE_INTERVAL
        end_value = main(0.0) if rescale else main(w)
        start_value = self.WARMUP_FACTOR * main(0.0)

        def in_warmup(k: int) -> bool:  # fvcore CompositeParamScheduler.__call__
            return not (k / m + EPS > lengths[0])

        def main_at(k: int) -> float:
            where = k / m
            if rescale:
                where = (where - (lengths[0] + lengths[1] - lengths[1])) / lengths[1]
            return main(where)

        # the first iteration of the main schedule (fvcore's own float comparison)
        k_sw = next((k for k in range(max(0, min(big_w, m) - int(EPS * m) - 3), m + 2) if not in_warmup(k)), m)
        k_sw = min(k_sw, m)
        parts: list = []
        ramp = min(big_w, m)
        if k_sw > 0:
            if self.WARMUP_METHOD == "constant":
                parts.append(N("constant", value=base * start_value, duration=k_sw))
            else:
                lin = N("linear", start=base * start_value, end=base * end_value, duration=ramp)
                parts.append(window(cx, lin, k_sw, "fvcore switches to the main schedule there"))
            if k_sw != big_w:
                cx.note(f"fvcore's WHERE_EPSILON (1e-6 * MAX_ITER = {EPS * m:g} iterations) ends the warmup at "
                        f"k = {k_sw}, not WARMUP_ITERS = {big_w}; the other switches move earlier too")  # fmt: skip
            if not rescale and big_w > 0:
                cx.note(f"the main schedule runs in absolute time: the warmup ends at its value at WARMUP_ITERS "
                        f"({end_value:g} * BASE_LR) and STEPS count from iteration 0, the warmup included")  # fmt: skip
        if shape == "steps":
            cx.note(f"{self.LR_SCHEDULER_NAME}: detectron2 raises past MAX_ITER = {m} (fvcore's where > 1, or an "
                    "IndexError at k = MAX_ITER for WarmupStepWithFixedGammaLR); schedspec holds the last value")  # fmt: skip
            g = self.GAMMA
            idx = self._changes(main_at, k_sw, m, g)
            start = base * main_at(min(k_sw, m - 1))
            milestones = [k - k_sw for k in idx]
            if not milestones:
                parts.append(N("constant", value=start))
            else:
                parts.append(N("multistep", start=start, milestones=milestones, gamma=g))
            return parts if len(parts) > 1 else parts[0]
        # cosine: continues past MAX_ITER (symmetric about it), fvcore raises nothing
        cx.note("WarmupCosineLR: the cosine keeps going past MAX_ITER and rises again (fvcore's cosine of "
                "where > 1)")  # fmt: skip
        e = main(1.0)
        if rescale:
            t = m - big_w
            cos = self._wave(cx, base, base * e, t, big_w)
            d = big_w - k_sw
            if d > 0:
                # fvcore's epsilon switches to the rescaled cosine at k_sw < WARMUP_ITERS, where its local time
                # (k - W) / (MAX_ITER - W) is negative; fvcore's cosine of it is cos(pi * where), even, so those d
                # iterations mirror the cosine's first ones (rising to the peak at W). d <= 1e-6 * MAX_ITER + 1
                # (at most 2149 for any int32 MAX_ITER): they are listed with fvcore's own values, then the cosine
                # starts at its peak at W, as fvcore's does.
                cx.note(f"RESCALE_INTERVAL with MAX_ITER = {m}: fvcore's WHERE_EPSILON starts the rescaled cosine "
                        f"at k = {k_sw}, {d} iteration(s) before WARMUP_ITERS, at a negative local time where the "
                        "cosine mirrors its start; neutral: those values as a `piecewise`, then the cosine from "
                        "WARMUP_ITERS")  # fmt: skip
                pts = [[j, base * main_at(k_sw + j)] for j in range(d)]
                parts.append(N("piecewise", points=pts, duration=d) if d > 1 else N("constant", value=pts[0][1],
                                                                                   duration=1))  # fmt: skip
            parts.append(cos)
            return parts if len(parts) > 1 else parts[0]
        cos = self._wave(cx, base, base * e, m, 0)
        if k_sw == 0:
            return cos
        cx.note("WarmupCosineLR in absolute time: the warmup replaces the first WARMUP_ITERS of a cosine that "
                "started at iteration 0; neutral: a `sum` of the cosine cut by a 0/1 `piecewise` window and the "
                "warmup")  # fmt: skip
        gate = N("piecewise", points=[[0, 0.0], [k_sw, 1.0]])
        return N("sum", of=[N("product", of=[cos, gate]), [parts[0], N("constant", value=0.0)]])

    @staticmethod
    def _wave(cx: Cx, top: float, bottom: float, t: int, begin: int) -> Any:
        """fvcore's cosine of ``where`` in [0, 2] and on, which keeps moving past its end (down over ``t``
        iterations, back up over ``t``, ...), beginning at iteration ``begin``: a ``repeat`` of the two halves; when
        one period does not fit below the int32 step counter (MAX_ITER >= 2**30), the halves up to 2**31 - 1 (no
        iteration comes after it)."""
        down, up = N("cosine", start=top, end=bottom, duration=t), N("cosine", start=bottom, end=top, duration=t)
        room = INT32 - begin - t  # iterations of the rising half before 2**31 - 1
        if room >= t:
            return N("repeat", of=[down, up])
        return [down, window(cx, up, room, "no iteration comes after 2**31 - 1")] if room > 0 else down

    @staticmethod
    def _changes(main_at, k0: int, m: int, gamma: float) -> list[int]:
        """Every k in (k0, m) where fvcore's piecewise-constant value changes, with multiplicity (a double change
        is a repeated milestone), found by bisection on fvcore's own expression."""
        out: list[int] = []
        lo, v_end = k0, main_at(m - 1) if m - 1 >= k0 else main_at(k0)
        cur = main_at(k0)
        while cur != v_end and lo < m - 1:
            a, b = lo, m - 1  # main_at(a) == cur != main_at(b)
            while b - a > 1:
                mid = (a + b) // 2
                if main_at(mid) == cur:
                    a = mid
                else:
                    b = mid
            nxt = main_at(b)
            ok = cur and nxt and gamma > 0 and gamma != 1
            count = max(1, round(math.log(nxt / cur) / math.log(gamma))) if ok else 1
            out.extend([b] * count)
            lo, cur = b, nxt
        return out


def parse_value(v: Any) -> Any:
    """A detectron2 YAML value as detectron2's ``CfgNode`` decodes it: a string that is a Python literal (``"(60000,
    80000)"``) becomes that literal (``ast.literal_eval``, never code), tuples become lists."""
    if isinstance(v, str):
        try:
            v = ast.literal_eval(v)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return v
    if isinstance(v, tuple):
        return list(v)
    return v


_D2 = (Detectron2Solver,)
KINDS: dict[str, type[FrameworkKind]] = {kind_name(m): m for m in _D2}
