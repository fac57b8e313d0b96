"""Plot benchmarks: how long a 10**7-step plot takes (target: <= 3 s wall), and big sweeps drawn as a band (targets
for 10,000 members: PNG <= 3 s, terminal <= 1 s, terminal output under 20 kB), medians of several runs.

    python benchmarks/bench_plot.py [--steps 10000000] [--repeat 3] [--only steps|sweeps]

Sweeps (``--only sweeps``): sweeps of 10 (the baseline), 10,000 and 60,000 members (lr peak x warmup length, a
warmup then a cosine over 100,000 steps), each drawn by ``schedspec plot`` to a PNG and to the terminal in a fresh
process (wall and CPU), and in one process (prepare + draw + PNG / prepare + text, the spec loaded fresh each run
so the JIT compilation is counted); every figure is also given as a ratio to the 10-member sweep measured in the
same run, and the terminal output's size in bytes.

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
    command would take on an idle machine with one free core (the work is mostly serial). Python runs as an
    installed copy does, with its bytecode cache: ``PYTHONDONTWRITEBYTECODE`` is dropped for the child, and one
    untimed run first writes the cache (without it every run compiles schedspec's sources again, ~0.2 s).
    """
    import resource

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, capture_output=True, text=True, env=env)
    times, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
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


def sweep_text(peaks: int, warms: int, steps: int = 100_000) -> str:
    import numpy as np

    p = ", ".join(f"{v:.6g}" for v in np.geomspace(1e-4, 1e-1, peaks))
    w = ", ".join(str(v) for v in range(100, 100 + 10 * warms, 10))
    return (f"schedspec: 1\nname: sweep-{peaks * warms}\ntotal: {steps}\nvars: {{peak: [{p}], warm: [{w}]}}\n"
            "lr:\n  - {kind: linear, duration: $warm, start: 0.0, end: $peak}\n  - {kind: cosine, end: 0.0}\n")  # fmt: skip


def sweeps(exe: list[str], tmp: str, repeat: int) -> None:
    import schedspec
    from schedspec import plotting

    rows = {}
    print(f"big sweeps as a band (cpu count {os.cpu_count()}), median of {repeat}:")
    for members, (peaks, warms) in ((10, (10, 1)), (10_000, (100, 100)), (60_000, (600, 100))):
        path = os.path.join(tmp, f"sweep{members}.yaml")
        Path(path).write_text(sweep_text(peaks, warms))
        png, _, png_cpu = wall(exe + ["plot", path, "-o", os.path.join(tmp, "sweep.png")], repeat)
        term, _, term_cpu = wall(exe + ["plot", path, "--width", "100", "--color", "never"], repeat)
        out = subprocess.run(exe + ["plot", path, "--width", "100", "--color", "never"], capture_output=True)
        size = len(out.stdout)
        fig_t, text_t = [], []
        for _ in range(repeat):
            spec = schedspec.load(path)
            t0 = time.perf_counter()
            fig, _ = plotting.figure([spec])
            plotting.render(fig, "png")
            fig_t.append(time.perf_counter() - t0)
            spec = schedspec.load(path)
            t0 = time.perf_counter()
            plotting.text([spec], width=100)
            text_t.append(time.perf_counter() - t0)
        rows[members] = (png, png_cpu, term, term_cpu, statistics.median(fig_t), statistics.median(text_t), size)
    base = rows[10]
    for members, r in rows.items():
        ratio = " | ".join(f"{r[i] / base[i]:.1f}x" for i in (0, 2, 4, 5))
        print(f"  {members:>6,} members: CLI PNG {r[0]:.2f} s wall (CPU {r[1]:.2f} s), CLI terminal {r[2]:.2f} s wall "
              f"(CPU {r[3]:.2f} s), {r[6]:,} bytes | in process: figure + PNG {r[4]:.2f} s, text {r[5]:.2f} s "
              f"| ratio to 10 members (CLI PNG | CLI terminal | PNG | text): {ratio}")  # fmt: skip
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=("steps", "sweeps"), default=None, help="run one of the two parts")
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
        if args.only != "steps":
            sweeps(exe, tmp, args.repeat)
        if args.only == "sweeps":
            return
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
