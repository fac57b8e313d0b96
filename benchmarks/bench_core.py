"""Core benchmarks: one command, medians, ratios against the peer measured in the same run.

    python benchmarks/bench_core.py [--quick]

1. warmup+cosine over N steps: schedspec (jit of to_jax over jnp.arange(N)) vs jit(optax.warmup_cosine_decay_schedule)
   and vs writing a fresh float32 array of N (jnp.full), N = 1e7 and 1e8.
2. a 10-cycle SGDR over 1e7 steps: schedspec `repeat` vs optax.sgdr_schedule.
3. a sweep of 1,024 warmup+cosine configurations (peak x warmup length) x 100,000 steps, compile included:
   schedspec.evaluate (one vmapped compilation) vs building and jitting an optax schedule per configuration
   (measured on a subset and scaled to 1,024; optax cannot vmap over a traced warmup length).
4. `schedspec check examples/gpt-warmup-cosine.yaml` wall time vs bare `python -c "import pydantic, yaml"`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def median_time(fn, repeat: int = 5) -> float:
    fn()  # warm-up (compilation)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved(fns: dict, repeat: int) -> dict:
    """Median seconds of each function, measured in rounds (A, B, C, A, B, C, ...) after a warm-up of each, so
    that drift in a shared machine's speed hits every contender alike."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(v) for name, v in times.items()}


def bench_warmup_cosine(n: int, repeat: int) -> None:
    import jax
    import jax.numpy as jnp
    import optax

    import schedspec

    W, peak, end = n // 100, 1e-3, 1e-4
    spec = schedspec.load(
        {"schedspec": 1, "lr": [{"kind": "linear", "duration": W, "start": 0.0, "end": peak},
                                {"kind": "cosine", "duration": n - W, "end": end}]}
    )  # fmt: skip
    ours = jax.jit(schedspec.to_jax(spec))
    theirs = jax.jit(optax.warmup_cosine_decay_schedule(0.0, peak, W, n, end))
    full = jax.jit(lambda k: jnp.full(k.shape, 1.0, jnp.float32))
    k = jnp.arange(n, dtype=jnp.int32)
    t = interleaved({"ours": lambda: ours(k).block_until_ready(), "optax": lambda: theirs(k).block_until_ready(),
                     "full": lambda: full(k).block_until_ready()}, repeat)  # fmt: skip
    t_ours, t_optax, t_full = t["ours"], t["optax"], t["full"]
    a, b = ours(k), theirs(k)
    err = float(jnp.max(jnp.abs(a - b)))
    print(f"warmup+cosine N={n:.0e}: schedspec {t_ours / n * 1e9:.2f} ns/step | optax {t_optax / n * 1e9:.2f} ns/step"
          f" | jnp.full {t_full / n * 1e9:.2f} ns/step || ratio vs optax {t_ours / t_optax:.3f}x (target <= 0.5x),"
          f" vs jnp.full {t_ours / t_full:.2f}x (target <= 3x); max |diff| vs optax {err:.2e}")  # fmt: skip


def bench_sgdr(n: int, repeat: int) -> None:
    import jax
    import jax.numpy as jnp
    import optax

    import schedspec

    cycles, period, peak = 10, n // 10, 0.1
    spec = schedspec.load(
        {"schedspec": 1, "lr": {"kind": "repeat", "times": cycles,
                                "of": {"kind": "cosine", "start": peak, "end": 0.0, "duration": period}}}
    )  # fmt: skip
    ours = jax.jit(schedspec.to_jax(spec))
    kw = [dict(init_value=peak, peak_value=peak, warmup_steps=0, decay_steps=period, end_value=0.0)] * cycles
    theirs = jax.jit(optax.sgdr_schedule(kw))
    k = jnp.arange(n, dtype=jnp.int32)
    t = interleaved({"ours": lambda: ours(k).block_until_ready(), "optax": lambda: theirs(k).block_until_ready()},
                    repeat)  # fmt: skip
    t_ours, t_optax = t["ours"], t["optax"]
    err = float(jnp.max(jnp.abs(ours(k) - theirs(k))))
    print(f"SGDR 10 cycles N={n:.0e}: schedspec {t_ours / n * 1e9:.2f} ns/step | optax sgdr {t_optax / n * 1e9:.2f} ns/step"
          f" || ratio {t_ours / t_optax:.3f}x (target <= 0.15x); max |diff| {err:.2e}")  # fmt: skip
    for c in (2, 40):  # cost per step must not grow with the number of phases
        s = schedspec.load({"schedspec": 1, "lr": {"kind": "repeat", "times": c,
                            "of": {"kind": "cosine", "start": peak, "end": 0.0, "duration": n // c}}})  # fmt: skip
        f = jax.jit(schedspec.to_jax(s))
        t = median_time(lambda f=f: f(k).block_until_ready(), repeat)
        print(f"  SGDR {c} cycles: schedspec {t / n * 1e9:.2f} ns/step")


def bench_sweep(members: int, steps: int, optax_subset: int) -> None:
    import itertools

    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    import schedspec

    peaks = [float(x) for x in np.geomspace(1e-4, 1e-1, 32)]
    warmups = [int(x) for x in np.linspace(100, 10_000, members // 32)]
    doc = {"schedspec": 1, "vars": {"peak": peaks, "warm": warmups},
           "lr": [{"kind": "linear", "duration": "$warm", "start": 0.0, "end": "$peak"},
                  {"kind": "cosine", "duration": steps, "end": 0.0}]}  # fmt: skip
    k = np.arange(steps, dtype=np.int32)
    t0 = time.perf_counter()
    spec = schedspec.load(doc)  # a fresh spec: nothing cached, so compilation is included
    out = schedspec.evaluate(spec, k)
    t_ours = time.perf_counter() - t0
    assert out.shape == (len(peaks) * len(warmups), steps)
    combos = list(itertools.product(peaks, warmups))[:optax_subset]
    kk = jnp.asarray(k)
    t0 = time.perf_counter()
    for p, w in combos:
        jax.jit(optax.warmup_cosine_decay_schedule(0.0, p, w, w + steps, 0.0))(kk).block_until_ready()
    t_sub = time.perf_counter() - t0
    t_optax = t_sub * (len(peaks) * len(warmups)) / len(combos)
    print(f"sweep {out.shape[0]} configs x {steps} steps, compile included: schedspec {t_ours:.3f} s (target <= 1 s) |"
          f" optax per config {t_sub / len(combos) * 1e3:.1f} ms x {out.shape[0]} = {t_optax:.1f} s (measured on"
          f" {len(combos)}) || speed-up {t_optax / t_ours:.0f}x (target >= 50x)")  # fmt: skip


def bench_check(repeat: int) -> None:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # time the CLI as installed: with its bytecode cache (written below)
    exe = Path(sys.executable).parent / "schedspec"
    subprocess.run([str(exe), "check", "examples/gpt-warmup-cosine.yaml"], cwd=ROOT, env=env, capture_output=True)

    def wall(cmd):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    t_check = wall([str(exe), "check", "examples/gpt-warmup-cosine.yaml"])
    t_bare = wall([sys.executable, "-c", "import pydantic, yaml"])
    print(f"`schedspec check examples/gpt-warmup-cosine.yaml`: {t_check:.3f} s wall (target <= 0.3 s) | bare"
          f" `python -c 'import pydantic, yaml'` {t_bare:.3f} s || ratio {t_check / t_bare:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = ap.parse_args()
    import jax

    print(f"jax {jax.__version__} on {jax.devices()[0].platform} ({os.cpu_count()} CPUs); medians")
    repeat = 3 if args.quick else 11
    bench_check(repeat)
    for n in ((10**6,) if args.quick else (10**7, 10**8)):
        bench_warmup_cosine(n, 3 if n >= 10**8 else repeat)
    bench_sgdr(10**6 if args.quick else 10**7, repeat)
    bench_sweep(1024, 10_000 if args.quick else 100_000, 4 if args.quick else 16)


if __name__ == "__main__":
    main()
