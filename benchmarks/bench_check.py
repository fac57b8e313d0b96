"""`schedspec check` of a 2e9-step repeat (target: <= 1 s), against a 1000-step one measured in the same run.

    python benchmarks/bench_check.py [--repeat 7]

1. in one process (imports and the one-time validator build excluded): load + the check's analysis (phase table
   and min/max, ``schedspec.analysis``) of ``{kind: repeat, times: 2000000, of: <1000-step cosine>}`` (2e9 steps),
   of the same with a per-cycle ``decay``, of a warmup + cosine body, and of the baseline, one cycle (``times: 1``);
   the median of ``--repeat`` runs and the ratio to the baseline. The min/max of a repeat are its body's, found in
   closed form (the edge cycles' candidate steps), so the ratio stays near 1 whatever ``times`` is.
2. ``schedspec check`` end to end in a fresh process (Python start and imports included) for the 2e9-step spec
   and the baseline: wall-time and CPU-time (user + sys of the child) medians and their ratio. Python runs as an
   installed package does, with its bytecode cache: one untimed run first writes ``__pycache__`` even where
   ``PYTHONDONTWRITEBYTECODE`` is set (without the cache every run compiles schedspec's sources again, about
   0.2 s of the total, which no installed copy pays). On shared cores the CPU time is the steadier figure.

Nothing is asserted: the numbers are printed (this is not a timed test; tests/test_guarantees.py checks that the
analysis evaluates a bounded number of steps).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COSINE = "{kind: cosine, start: 0.001, end: 0.0, duration: 1000}"
SPECS = {
    "baseline: 1 cycle (1000 steps)": f"lr: {{kind: repeat, times: 1, of: {COSINE}}}",
    "repeat 2e6 x 1000 (2e9 steps)": f"lr: {{kind: repeat, times: 2000000, of: {COSINE}}}",
    "repeat 2e6, decay 0.999": f"lr: {{kind: repeat, times: 2000000, decay: 0.999, of: {COSINE}}}",
    "repeat 2e6 of warmup + cosine": "lr: {kind: repeat, times: 2000000, of: [{kind: linear, start: 0, end: 0.001, "
                                     "duration: 100}, {kind: cosine, end: 0.0, duration: 900}]}",
    # a fractional mult: 9000 cycles whose real starts are computed exactly (the cycle table took minutes with
    # Fraction powers; dyadic integers since)
    "repeat mult 1.001, 9000 cycles": "lr: {kind: repeat, mult: 1.001, times: 9000, of: [{kind: linear, start: 0.1, "
                                      "end: 1.0, duration: 3}, {kind: linear, start: 1.0, end: 0.2, duration: 3}]}",
}  # fmt: skip


def analyse(text: str) -> None:
    import schedspec
    from schedspec import analysis

    spec = schedspec.loads("schedspec: 1\n" + text + "\n", "bench.yaml")
    node = spec.program.hparams["lr"]
    analysis.phase_rows(node)
    analysis.value_range(spec.program, "lr")


def median_in_process(text: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        analyse(text)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_cli(text: str, repeat: int) -> tuple[float, float, float]:
    """``(wall median, CPU median, wall spread max - min)`` of ``schedspec check`` in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text("schedspec: 1\n" + text + "\n", encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: with the bytecode cache
        command = [sys.executable, "-m", "schedspec", "check", str(path)]
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)  # writes __pycache__
        walls, cpus = [], []
        for _ in range(repeat):
            t, c = time.perf_counter(), _child_cpu()
            subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - t)
            cpus.append(_child_cpu() - c)
    return statistics.median(walls), statistics.median(cpus), max(walls) - min(walls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    analyse(SPECS["baseline: 1 cycle (1000 steps)"])  # imports, the validator build
    base = median_in_process(SPECS["baseline: 1 cycle (1000 steps)"], args.repeat)
    print("check analysis (load + phase table + min/max), in process, median of", args.repeat)
    for name, text in SPECS.items():
        m = median_in_process(text, args.repeat)
        print(f"  {name:36s} {m * 1e3:8.2f} ms   x{m / base:6.2f} the baseline")
    print("`schedspec check` end to end (fresh process), median of", max(3, args.repeat // 2))
    n = max(3, args.repeat // 2)
    base_cli, base_cpu, base_spread = median_cli(SPECS["baseline: 1 cycle (1000 steps)"], n)
    big_cli, big_cpu, big_spread = median_cli(SPECS["repeat 2e6 x 1000 (2e9 steps)"], n)
    print(f"  baseline {base_cli:.3f} s wall (spread {base_spread:.3f}), {base_cpu:.3f} s CPU")
    print(f"  2e9-step repeat {big_cli:.3f} s wall (spread {big_spread:.3f}), {big_cpu:.3f} s CPU "
          f"(x{big_cli / base_cli:.2f} the baseline; target <= 1 s)")  # fmt: skip


if __name__ == "__main__":
    main()
