"""Time ``scheduler.step()`` of the schedspec torch adapter against native ``StepLR``, measured in the same run.

Run: ``python benchmarks/bench_torch.py`` (optionally ``--steps 50000 --repeats 15``). For 1 and 10 param groups
it prints the median time per ``scheduler.step()`` call of native ``StepLR``, of ``to_torch`` on a warmup+cosine
schedule and on a 10-phase schedule (block cache, the default), and of the scalar per-step path
(``block_size=0``), with each ratio to ``StepLR``. Each timed run steps ``--steps`` times from a fresh scheduler,
so the block evaluations (one per 4096 steps) are included in the per-step time. Runs are interleaved so that
machine noise hits every candidate alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

import schedspec

WARMUP_COSINE = {
    "schedspec": 1,
    "name": "warmup-cosine",
    "lr": [
        {"kind": "linear", "duration": 2000, "start": 0.0, "end": 6e-4},
        {"kind": "cosine", "duration": 598000, "end": 6e-5},
    ],
}

TEN_PHASES = {
    "schedspec": 1,
    "name": "ten-phases",
    "lr": [
        {"kind": "linear", "duration": 1000, "start": 0.0, "end": 0.1},
        {"kind": "constant", "duration": 1000},
        {"kind": "cosine", "duration": 2000, "end": 0.05},
        {"kind": "step", "duration": 2000, "every": 300, "gamma": 0.9},
        {"kind": "exponential", "duration": 2000, "gamma": 0.999},
        {"kind": "polynomial", "duration": 2000, "end": 0.01, "power": 2.0},
        {"kind": "multistep", "duration": 2000, "milestones": [500, 1000, 1500], "gamma": 0.8},
        {"kind": "inverse_sqrt", "duration": 2000, "timescale": 100},
        {"kind": "linear", "duration": 2000, "end": 0.02},
        {"kind": "cosine", "duration": 2000, "end": 0.0},
    ],
}


def make_optimizer(groups: int) -> torch.optim.Optimizer:
    """An SGD optimizer with ``groups`` param groups (lrs 0.1, 0.2, ...), stepped once so torch does not warn."""
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1 * (i + 1)} for i in range(groups)]
    return torch.optim.SGD(params, lr=0.1)


def time_steps(build: Callable[[torch.optim.Optimizer], object], groups: int, steps: int) -> float:
    """Seconds per ``scheduler.step()`` over ``steps`` calls on a fresh optimizer and scheduler."""
    opt = make_optimizer(groups)
    sched = build(opt)
    opt.step()
    step = sched.step
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t0) / steps


def main() -> None:
    """Measure and print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50_000, help="scheduler.step() calls per timed run")
    parser.add_argument("--repeats", type=int, default=11, help="timed runs per candidate (median reported)")
    args = parser.parse_args()

    warmup_cosine = schedspec.load(WARMUP_COSINE)
    ten_phases = schedspec.load(TEN_PHASES)
    candidates: dict[str, Callable] = {
        "native StepLR": lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1000, gamma=0.5),
        "schedspec warmup+cosine": lambda opt: schedspec.to_torch(warmup_cosine, opt),
        "schedspec 10-phase": lambda opt: schedspec.to_torch(ten_phases, opt),
        "schedspec warmup+cosine, block_size=0": lambda opt: schedspec.to_torch(
            warmup_cosine, opt, block_size=0
        ),
        "schedspec 10-phase, block_size=0": lambda opt: schedspec.to_torch(ten_phases, opt, block_size=0),
    }
    print(f"torch {torch.__version__}; {args.steps} steps per run, median of {args.repeats} runs")
    for groups in (1, 10):
        times: dict[str, list[float]] = {name: [] for name in candidates}
        for build in candidates.values():  # warm-up run, not recorded
            time_steps(build, groups, min(args.steps, 5000))
        for _ in range(args.repeats):
            for name, build in candidates.items():
                times[name].append(time_steps(build, groups, args.steps))
        base = statistics.median(times["native StepLR"])
        print(f"\n{groups} param group{'s' if groups > 1 else ''}:")
        for name, ts in times.items():
            med = statistics.median(ts)
            print(f"  {name:<40} {med * 1e6:7.3f} us/step   {med / base:5.2f}x StepLR")


if __name__ == "__main__":
    main()
