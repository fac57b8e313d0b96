"""Sweep sharding: one command, medians, ratios against the one-device run of the same sweep.

    python benchmarks/bench_sharding.py [--quick]

``schedspec.evaluate`` of a sweep of 1,024 warmup+cosine configurations (peak x warmup length) x 20,000 steps,
with 1, 2 and 4 virtual CPU devices (``XLA_FLAGS=--xla_force_host_platform_device_count=D``, each in its own
process), with ``shard=True``: the sweep axis is split over the devices with ``jax.sharding`` (each sharded run is
checked to be bit-identical to ``shard=False`` in the same process). Virtual CPU devices share the machine's cores,
which XLA already uses for one device, so on CPU sharding does not speed up (which is why ``evaluate`` shards by
default only on accelerators); on several GPUs the same code splits the sweep across them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

WORKER = """
import json, statistics, sys, time
import numpy as np
import jax
import schedspec
import schedspec.evaluator as ev

members, steps, repeat = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
side = int(round(members ** 0.5))
peaks = [float(x) for x in np.linspace(1e-4, 1e-2, side)]
warms = [int(x) for x in np.linspace(100, 2000, members // side)]
spec = schedspec.load({"schedspec": 1, "vars": {"peak": peaks, "warm": warms},
                       "lr": [{"kind": "linear", "duration": "$warm", "start": 0.0, "end": "$peak"},
                              {"kind": "cosine", "duration": steps, "end": 0.0}]})
k = np.arange(steps, dtype=np.int32)
shard = jax.device_count() > 1  # on CPU, sharding is off unless asked for
t0 = time.perf_counter()
first = ev.evaluate(spec, k, shard=shard)
compile_s = time.perf_counter() - t0
times = []
for _ in range(repeat):
    t0 = time.perf_counter()
    ev.evaluate(spec, k, shard=shard)
    times.append(time.perf_counter() - t0)
same = bool(np.array_equal(first, ev.evaluate(spec, k, shard=False)))
print(json.dumps({"devices": jax.device_count(), "median_s": statistics.median(times), "first_s": compile_s,
                  "values": int(first.size), "identical": same}))
"""


def run(devices: int, members: int, steps: int, repeat: int) -> dict:
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    proc = subprocess.run([sys.executable, "-c", WORKER, str(members), str(steps), str(repeat)], env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller sweep (256 x 5,000)")
    args = parser.parse_args()
    members, steps, repeat = (256, 5_000, 3) if args.quick else (1_024, 20_000, 5)
    print(f"sweep of {members} configurations x {steps:,} steps = {members * steps:,} values; CPU cores: "
          f"{os.cpu_count()}; no GPU in this run (virtual CPU devices only)")  # fmt: skip
    base = None
    for devices in (1, 2, 4):
        r = run(devices, members, steps, repeat)
        base = base or r["median_s"]
        print(f"  {r['devices']} device(s): median {r['median_s'] * 1e3:8.1f} ms ({r['values'] / r['median_s'] / 1e6:7.1f} "
              f"M values/s), first call incl. compile {r['first_s'] * 1e3:7.1f} ms, speed-up vs 1 device "
              f"{base / r['median_s']:.2f}x, identical to shard=False: {r['identical']}")  # fmt: skip


if __name__ == "__main__":
    main()
