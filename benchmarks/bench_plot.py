"""Plot benchmarks: how long a 10**7-step plot takes (target: <= 3 s wall), medians of several runs.

    python benchmarks/bench_plot.py [--steps 10000000] [--repeat 3]

1. `schedspec plot SPEC -o out.png` end to end in a fresh process: Python start, imports of jax and matplotlib,
   loading, evaluating all N steps in chunks, the per-column envelope, rendering, writing. Wall time, and the
   child's CPU time (user + sys), which is what the wall time would be on an idle machine (the work is serial).
2. the same for an SVG and for the terminal chart (`--width 100`, no matplotlib).
3. in one process, split into parts: `prepare` (evaluate every step + envelope; includes the one JIT compilation
   of a freshly loaded spec) and drawing + PNG rendering.
4. the ratio to evaluating the N steps alone (`schedspec.evaluate` over the same chunks) in the same process.

The spec is a warmup, a cyclic phase with 900 cycles, a one-step spike and a flat tail, so the envelope has work
in every column. Nothing is asserted: the numbers are printed (this is not a timed test).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent


def spec_text(n: int) -> str:
    warm, cyc = n // 200, n // 2
    flat = n - warm - cyc - 1
    return (
        "schedspec: 1\n"
        f"name: bench-cyclic-{n}\n"
        f"total: {n}\n"
        "lr:\n"
        f"  - {{kind: linear, duration: {warm}, start: 0.0, end: 0.1}}\n"
        f"  - {{kind: cyclic, low: 0.001, high: 0.3, up: {max(1, cyc // 1800)}, duration: {cyc}}}\n"
        f"  - {{kind: constant, value: 0.02, duration: {flat // 2}}}\n"
        "  - {kind: constant, value: 0.5, duration: 1}\n"
        "  - {kind: constant, value: 0.02}\n"
        "momentum: 0.9\n"
    )


def wall(cmd: list[str], repeat: int) -> tuple[float, list[float], float]:
    """Median wall time, every run's wall time, and the median CPU time (user + sys) of the child process.

    On a shared machine the wall time includes waiting for a core; the CPU time does not, so it is what the
    command would take on an idle machine with one free core (the work is mostly serial).
    """
    import resource

    times, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if res.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
    return statistics.median(times), times, statistics.median(cpus)


def in_process(path: str, n: int, repeat: int) -> None:
    import numpy as np

    import schedspec
    from schedspec import plotting

    prep, draw, evals = [], [], []
    for _ in range(repeat):
        spec = schedspec.load(path)  # fresh program: the JIT compilation is counted, as in the CLI
        t0 = time.perf_counter()
        view = plotting.prepare([spec], columns=1080)
        t1 = time.perf_counter()
        fig, _ = plotting.figure([spec], view=view)
        plotting.render(fig, "png")
        t2 = time.perf_counter()
        prep.append(t1 - t0)
        draw.append(t2 - t1)
        spec = schedspec.load(path)
        t0 = time.perf_counter()
        chunk = 1 << 21
        for a in range(0, n + 1, chunk):
            k = np.minimum(np.arange(a, a + chunk, dtype=np.int64), n)
            schedspec.evaluate(spec, k)
        schedspec.evaluate(spec, np.arange(1), hparam="momentum")
        evals.append(time.perf_counter() - t0)
    points = sum(len(c.k) for p in view.panels for c in p.curves)
    p, d, e = (statistics.median(x) for x in (prep, draw, evals))
    print(f"  in-process: prepare (evaluate {n + 1:,} steps + envelope) {p:.2f} s | draw + PNG {d:.2f} s"
          f" | evaluate alone {e:.2f} s -> prepare / evaluate = {p / e:.2f}x; {points:,} points drawn")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.steps
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.yaml")
        Path(path).write_text(spec_text(n))
        script = Path(sys.executable).with_name("schedspec")  # the console script, as a user runs it
        exe = (
            [str(script)]
            if script.exists()
            else [sys.executable, "-c", "import sys; from schedspec.cli import main; sys.exit(main())"]
        )
        print(f"plot of {n:,} steps (cpu count {os.cpu_count()}), median of {args.repeat}:")
        for label, extra in [
            ("PNG 1200x780", ["-o", os.path.join(tmp, "out.png")]),
            ("SVG", ["-o", os.path.join(tmp, "out.svg")]),
            ("terminal", ["--width", "100", "--color", "never"]),
        ]:
            med, times, cpu = wall(exe + ["plot", path, *extra], args.repeat)
            verdict = "ok" if med <= 3.0 else "OVER the 3 s target"
            runs = ", ".join(f"{t:.2f}" for t in times)
            print(
                f"  schedspec plot -> {label:<13} {med:.2f} s wall (runs: {runs}) {verdict}; CPU {cpu:.2f} s"
            )
        base, _, base_cpu = wall([sys.executable, "-c", "import jax, matplotlib.figure"], args.repeat)
        print(
            f"  for scale: python -c 'import jax, matplotlib.figure' {base:.2f} s wall, CPU {base_cpu:.2f} s"
        )
        print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        in_process(path, n, args.repeat)


if __name__ == "__main__":
    main()
