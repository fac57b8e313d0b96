"""Scaling benchmarks (issue 13): cost that must not grow with the spec. One command, medians, ratios in one run.

    python benchmarks/bench_scale.py [--quick]

Each large spec is measured against the same kind with 10 elements, in the same process:

1. ``piecewise`` with 10,000 points (linear interpolation), a ``sequence`` of 1,000 phases (linear/cosine/constant
   in turn) and ``multistep`` with 10,000 milestones:
   - compile + first call: ``jax.jit(schedspec.to_jax(spec))`` on ``jnp.arange(1000)`` (a fresh function, so XLA
     compiles it), target <= 3x;
   - per step: the jitted function over ``jnp.arange(N)`` (median), target <= 2x;
   - ``schedspec.loads`` of the YAML text vs ``yaml.safe_load`` of the same text, target <= 3x;
   - torch ``scheduler.step()`` (block and scalar paths), target <= 1.5x;
   - emitted source size (``schedspec.emit``, every target).
2. ``evaluate(spec, k, vars={"peak": p})`` with a new value each call vs ``evaluate(spec, k)``: target <= 2x.
3. Memory: peak RSS (``resource``) of a subprocess evaluating a warmup+cosine at 1e8 steps, less its RSS before the
   call, against the bytes of the output array.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("KERAS_BACKEND", "jax")


def median_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ------------------------------------------------------------------------------------------------ specs
def piecewise_doc(n: int) -> str:
    pts = ", ".join(f"[{i * 10}, {1.0 / (1 + (i % 97)):.6g}]" for i in range(n))
    return f"schedspec: 1\nlr: {{kind: piecewise, interpolate: linear, points: [{pts}]}}\n"


def multistep_doc(n: int) -> str:
    ms = ", ".join(str(10 * (i + 1)) for i in range(n))
    return f"schedspec: 1\nlr: {{kind: multistep, start: 0.1, gamma: 0.999, milestones: [{ms}]}}\n"


def sequence_doc(n: int) -> str:
    lines = ["schedspec: 1", "lr:"]
    for i in range(n):
        v = 1.0 / (1 + i % 13)
        kind = ("linear", "cosine", "constant")[i % 3]
        if kind == "constant":
            lines.append(f"  - {{kind: constant, duration: {7 + i % 5}, value: {v:.6g}}}")
        else:
            lines.append(f"  - {{kind: {kind}, duration: {7 + i % 5}, start: {v:.6g}, end: {v / 2:.6g}}}")
    return "\n".join(lines) + "\n"


CASES = {"piecewise": piecewise_doc, "sequence": sequence_doc, "multistep": multistep_doc}
SIZES = {"piecewise": 10_000, "sequence": 1_000, "multistep": 10_000}


# ------------------------------------------------------------------------------------------------ measures
def compile_first(text: str, repeat: int) -> float:
    import jax
    import jax.numpy as jnp

    import schedspec

    spec = schedspec.loads(text)
    k = jnp.arange(1000, dtype=jnp.int32)

    def once():
        jax.jit(schedspec.to_jax(spec))(k).block_until_ready()

    return median_of(once, repeat)


def per_step(text: str, n: int, repeat: int) -> float:
    import jax
    import jax.numpy as jnp

    import schedspec

    fn = jax.jit(schedspec.to_jax(schedspec.loads(text)))
    k = jnp.arange(n, dtype=jnp.int32)
    fn(k).block_until_ready()
    return median_of(lambda: fn(k).block_until_ready(), repeat) / n


def load_ratio(text: str, repeat: int) -> tuple[float, float]:
    import yaml

    import schedspec

    t_ours = median_of(lambda: schedspec.loads(text), repeat)
    t_yaml = median_of(lambda: yaml.safe_load(text), repeat)
    return t_ours, t_yaml


def torch_step(text: str, block_size: int | None, steps: int, repeat: int) -> float:
    import torch

    import schedspec

    spec = schedspec.loads(text)

    def run():
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        kw = {} if block_size is None else {"block_size": block_size}
        sched = schedspec.to_torch(spec, opt, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # step() without optimizer.step(): torch warns once
            t0 = time.perf_counter()
            for _ in range(steps):
                sched.step()
            return time.perf_counter() - t0

    run()
    return statistics.median(run() for _ in range(repeat)) / steps


def emitted_size(text: str) -> dict:
    import schedspec

    spec = schedspec.loads(text)
    out = {}
    for target in ("torch", "jax", "keras", "optax"):
        try:
            src = schedspec.emit(spec, target)
            out[target] = (len(src), src.count("\n"))
        except Exception as e:  # noqa: BLE001 - a refusal is a figure too
            out[target] = f"refused: {type(e).__name__}"
    return out


def vars_ratio(repeat: int) -> tuple[float, float]:
    import numpy as np

    import schedspec

    spec = schedspec.loads(
        "schedspec: 1\nvars: {peak: 0.1}\n"
        "lr: [{kind: linear, duration: 100, start: 0, end: $peak}, {kind: cosine, duration: 900, end: 0}]\n"
    )
    k = np.arange(1000)
    schedspec.evaluate(spec, k)
    schedspec.evaluate(spec, k, vars={"peak": 0.5})
    t_plain = median_of(lambda: schedspec.evaluate(spec, k), repeat)
    values = iter(np.linspace(0.01, 1.0, 10 * repeat + 10).tolist())
    t_vars = median_of(lambda: schedspec.evaluate(spec, k, vars={"peak": next(values)}), repeat)
    return t_vars, t_plain


_MEMORY = r"""
import json, resource, sys, numpy as np, schedspec
n = int(sys.argv[1])
spec = schedspec.loads("schedspec: 1\nlr: [{kind: linear, duration: %d, start: 0, end: 0.001},"
                       " {kind: cosine, duration: %d, end: 0.0001}]\n" % (n // 100, n - n // 100))
schedspec.evaluate(spec, np.arange(1000))  # compile, imports
k = np.arange(n, dtype=np.int32)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
out = schedspec.evaluate(spec, k)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"before": before, "after": after, "out": out.nbytes, "k": k.nbytes}))
"""


def memory(n: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    res = subprocess.run([sys.executable, "-c", _MEMORY, str(n)], capture_output=True, text=True, env=env, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------ main
def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and smaller arrays")
    ap.add_argument("--only", choices=[*CASES, "vars", "memory"], action="append", help="run only these parts")
    args = ap.parse_args()
    quick = args.quick
    only = set(args.only or [*CASES, "vars", "memory"])
    sys.path.insert(0, str(ROOT))
    n_steps = 100_000 if quick else 1_000_000
    for name, doc in CASES.items():
        if name not in only:
            continue
        big_n = SIZES[name]
        small, big = doc(10), doc(big_n)
        print(f"== {name}: {big_n} vs 10 ({len(big) / 1e3:.0f} kB of YAML)", flush=True)
        t0 = time.perf_counter()
        c_small = compile_first(small, 3 if quick else 5)
        # a slow compile (seconds) is measured once or twice: its spread is small against the ratio
        c_big = compile_first(big, 1)
        if c_big < 2.0 and not quick:
            c_big = min(c_big, compile_first(big, 3))
        print(f"  compile + first call: {c_big * 1e3:.0f} ms vs {c_small * 1e3:.0f} ms -> {ratio(c_big, c_small)}"
              " (target <= 3x)", flush=True)  # fmt: skip
        s_small = per_step(small, n_steps, 5)
        s_big = per_step(big, n_steps, 5)
        print(f"  per step ({n_steps:.0e} steps): {s_big * 1e9:.2f} ns vs {s_small * 1e9:.2f} ns -> "
              f"{ratio(s_big, s_small)} (target <= 2x)", flush=True)  # fmt: skip
        l_ours, l_yaml = load_ratio(big, 3 if quick else 5)
        print(f"  loads: {l_ours * 1e3:.0f} ms vs yaml.safe_load {l_yaml * 1e3:.0f} ms -> {ratio(l_ours, l_yaml)}"
              " (target <= 3x)", flush=True)  # fmt: skip
        for label, bs in (("block", None), ("scalar", 0)):
            steps = 2000 if quick else 5000
            ts_small = torch_step(small, bs, steps, 3)
            ts_big = torch_step(big, bs, steps, 3)
            print(f"  torch step() {label}: {ts_big * 1e6:.2f} us vs {ts_small * 1e6:.2f} us -> "
                  f"{ratio(ts_big, ts_small)} (target <= 1.5x)", flush=True)  # fmt: skip
        sizes = emitted_size(big)
        print("  emitted source (chars, lines): " + ", ".join(f"{t} {v}" for t, v in sizes.items()), flush=True)
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    if "vars" in only:
        t_vars, t_plain = vars_ratio(10 if quick else 30)
        print(f"== evaluate with a new var value: {t_vars * 1e3:.2f} ms vs {t_plain * 1e3:.2f} ms without vars -> "
              f"{ratio(t_vars, t_plain)} (target <= 2x)", flush=True)  # fmt: skip
    if "memory" in only:
        n = 10**7 if quick else 10**8
        m = memory(n)
        extra = m["after"] - m["before"]
        print(f"== memory, evaluate at {n:.0e} steps: peak RSS grew by {extra / 2**20:.0f} MiB; output array "
              f"{m['out'] / 2**20:.0f} MiB (k array {m['k'] / 2**20:.0f} MiB, allocated before) -> "
              f"{extra / m['out']:.2f}x the output", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
