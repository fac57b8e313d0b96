"""Wall time of ``schedspec compile examples/gpt-warmup-cosine.yaml --to torch`` (target: <= 0.35 s).

Run: ``python benchmarks/bench_compile.py`` (optionally ``--repeats 21 --target keras``). Each candidate is a fresh
interpreter, timed from spawn to exit; runs are interleaved so that machine noise hits every candidate alike, and
the median of ``--repeats`` runs is printed for:

* ``python -c "import pydantic, yaml"``: the floor, what any pydantic + YAML tool pays to start;
* ``python -c "import schedspec"``: the package import (core, no emission);
* ``schedspec compile SPEC --to TARGET``: the whole command (import, load, validate, lower, emit, write).

It also prints the in-process time of ``schedspec.emit`` alone (after the first call), and exits 1 if the compile
median is over the target.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "gpt-warmup-cosine.yaml"
TARGET_S = 0.35


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def _compile_cmd(target: str) -> list[str]:
    script = shutil.which("schedspec", path=os.path.dirname(sys.executable)) or shutil.which("schedspec")
    head = [script] if script else [sys.executable, "-m", "schedspec.cli"]
    return [*head, "compile", str(SPEC), "--to", target]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--target", default="torch", choices=("torch", "keras", "optax", "jax"))
    args = parser.parse_args(argv)
    candidates = {
        "import pydantic, yaml": [sys.executable, "-c", "import pydantic, yaml"],
        "import schedspec": [sys.executable, "-c", "import schedspec"],
        f"schedspec compile --to {args.target}": _compile_cmd(args.target),
    }
    for cmd in candidates.values():  # warm the OS file cache and .pyc files
        _wall(cmd)
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(args.repeats):
        for name, cmd in candidates.items():
            times[name].append(_wall(cmd))
    floor = statistics.median(times["import pydantic, yaml"])
    print(f"median of {args.repeats} runs ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}):")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:<32} {med:6.3f} s   (+{med - floor:.3f} s over the floor; min {min(ts):.3f} s)")

    import schedspec

    spec = schedspec.load(SPEC)
    schedspec.emit(spec, args.target)
    n = 50
    start = time.perf_counter()
    for _ in range(n):
        schedspec.emit(spec, args.target)
    print(f"  schedspec.emit in process        {(time.perf_counter() - start) / n * 1e3:6.2f} ms per call")
    compile_s = statistics.median(times[f"schedspec compile --to {args.target}"])
    verdict = "OK" if compile_s <= TARGET_S else "OVER"
    print(f"compile median {compile_s:.3f} s vs target {TARGET_S} s: {verdict}")
    return 0 if compile_s <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
