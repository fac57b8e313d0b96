"""Overhead of schedspec's Keras and Optax schedules inside a jitted training loop, against the native schedules.

Run: ``KERAS_BACKEND=jax python benchmarks/bench_keras_optax.py [--updates 100000] [--repeats 15]``

Both sides run the same warmup + cosine schedule (linear 0 -> 1e-3 over 1000 steps, cosine to 1e-5 at step 100000):

- Keras: ``optimizer.stateless_apply`` of SGD inside one ``jax.jit``-compiled ``fori_loop`` of ``--updates`` train
  steps (a small linear-regression gradient, then the update), with ``learning_rate`` = a constant (baseline),
  Keras' ``CosineDecay(warmup_target=...)``, or ``schedspec.to_keras(spec)``.
- Optax: ``optax.sgd(...).update`` + ``apply_updates`` in the same kind of loop, with a constant (baseline),
  ``optax.warmup_cosine_decay_schedule``, or ``schedspec.to_optax(spec)``.

Printed: the median and the minimum time per update of each variant (the repeats are interleaved, so load changes
hit all of them alike; on a shared machine the minimum is the steadier figure), the extra time per update over the
constant-lr baseline, and the ratios ours / native (the issue's target is <= 1.0x). The two schedules are checked to
be the same function first (max |ours - native| <= 1e-6 of the peak), so a fast wrong schedule cannot pass.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

SPEC = {
    "schedspec": 1,
    "name": "bench-warmup-cosine",
    "lr": [
        {"kind": "linear", "duration": 1000, "start": 0.0, "end": 1e-3},
        {"kind": "cosine", "duration": 99000, "end": 1e-5},
    ],
}
DIM, BATCH = 32, 8


def _data():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, DIM)).astype("float32")
    y = rng.standard_normal((BATCH,)).astype("float32")
    return x, y


def keras_runner(learning_rate, updates: int):
    """A jitted fn running ``updates`` Keras SGD train steps; returns (fn, args)."""
    import jax
    import jax.numpy as jnp
    import keras
    import numpy as np

    x, y = (jnp.asarray(a) for a in _data())
    opt = keras.optimizers.SGD(learning_rate=learning_rate)
    w = keras.Variable(np.zeros((DIM,), "float32"))
    opt.build([w])
    train_vars = [w.value]
    opt_vars = [v.value for v in opt.variables]

    def loss(ws):
        return jnp.mean((x @ ws[0] - y) ** 2)

    @jax.jit
    def run(train_vars, opt_vars):
        def body(_, carry):
            tv, ov = carry
            grads = jax.grad(loss)(tv)
            return tuple(opt.stateless_apply(ov, grads, tv))

        return jax.lax.fori_loop(0, updates, body, (train_vars, opt_vars))

    return run, (train_vars, opt_vars)


def optax_runner(learning_rate, updates: int):
    """A jitted fn running ``updates`` optax SGD train steps; returns (fn, args)."""
    import jax
    import jax.numpy as jnp
    import optax

    x, y = (jnp.asarray(a) for a in _data())
    opt = optax.sgd(learning_rate=learning_rate)
    params = jnp.zeros((DIM,), jnp.float32)
    state = opt.init(params)

    def loss(p):
        return jnp.mean((x @ p - y) ** 2)

    @jax.jit
    def run(params, state):
        def body(_, carry):
            p, s = carry
            updates_, s = opt.update(jax.grad(loss)(p), s, p)
            return optax.apply_updates(p, updates_), s

        return jax.lax.fori_loop(0, updates, body, (params, state))

    return run, (params, state)


def measure(runners: dict, updates: int, repeats: int) -> tuple[dict, dict]:
    """Interleaved repeats; returns the median and the minimum seconds per update of each variant."""
    import jax

    for fn, args in runners.values():  # compile and warm up
        jax.block_until_ready(fn(*args))
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, (fn, args) in runners.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times[name].append((time.perf_counter() - t0) / updates)
    return {n: statistics.median(ts) for n, ts in times.items()}, {n: min(ts) for n, ts in times.items()}


def report(title: str, med: dict, best: dict, ours: str, native: str, base: str) -> dict:
    """Print the per-update times, the extra over the constant-lr baseline, and the ratios ours / native."""
    print(f"\n{title}")
    for name in med:
        print(
            f"  {name:<28s} median {med[name] * 1e9:8.1f} ns/update   min {best[name] * 1e9:8.1f} ns/update"
        )
    out = {}
    for label, t in (("median", med), ("min", best)):
        extra_ours, extra_native = t[ours] - t[base], t[native] - t[base]
        ratio = t[ours] / t[native]
        line = (f"  [{label}] extra over constant lr: ours {extra_ours * 1e9:+.1f} ns, native {extra_native * 1e9:+.1f} ns;"
                f" ours/native whole update {ratio:.3f}x (target <= 1.0x)")  # fmt: skip
        if extra_native > 0:
            line += f", schedule overhead only {extra_ours / extra_native:.3f}x"
        print(line)
        out[label] = {"ratio": ratio, "extra_ours": extra_ours, "extra_native": extra_native}
    return out


def check_same(ours, native) -> float:
    """max |ours(k) - native(k)| / peak over k = 0 .. 110000 (vmapped: CosineDecay's warmup is an ops.cond)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    k = jnp.arange(0, 110_001, dtype=jnp.int32)
    a = np.asarray(jax.jit(jax.vmap(ours))(k), np.float64)
    b = np.asarray(jax.jit(jax.vmap(native))(k), np.float64)
    err = float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
    print(f"  same schedule: max |ours - native| / peak = {err:.2e} over k = 0..110000")
    if err > 1e-6:
        raise SystemExit(f"the two schedules differ ({err:.2e} of the peak): the timings are not comparable")
    return err


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--updates", type=int, default=100000, help="train steps per timed loop (default 100000)"
    )
    parser.add_argument("--repeats", type=int, default=15, help="timed loops per variant (default 15)")
    args = parser.parse_args(argv)

    import jax
    import keras
    import optax

    import schedspec

    spec = schedspec.load(SPEC)
    print(f"jax {jax.__version__}, keras {keras.__version__} ({keras.backend.backend()}), optax {optax.__version__}, "
          f"device {jax.devices()[0].platform}; {args.updates} updates x {args.repeats} repeats")  # fmt: skip

    K = keras.optimizers.schedules
    ours = schedspec.to_keras(spec)
    native = K.CosineDecay(0.0, 99000, alpha=1e-2, warmup_target=1e-3, warmup_steps=1000)
    med, best = measure(
        {
            "keras constant lr": keras_runner(1e-3, args.updates),
            "keras CosineDecay(warmup)": keras_runner(native, args.updates),
            "schedspec.to_keras": keras_runner(ours, args.updates),
        },
        args.updates,
        args.repeats,
    )
    report("Keras SGD, jitted train step", med, best, "schedspec.to_keras", "keras CosineDecay(warmup)",
           "keras constant lr")  # fmt: skip
    check_same(ours, native)

    ours = schedspec.to_optax(spec)
    native = optax.warmup_cosine_decay_schedule(0.0, 1e-3, 1000, 100000, 1e-5)
    med, best = measure(
        {
            "optax constant lr": optax_runner(1e-3, args.updates),
            "optax warmup_cosine_decay": optax_runner(native, args.updates),
            "schedspec.to_optax": optax_runner(ours, args.updates),
        },
        args.updates,
        args.repeats,
    )
    report("optax.sgd, jitted update", med, best, "schedspec.to_optax", "optax warmup_cosine_decay",
           "optax constant lr")  # fmt: skip
    check_same(ours, native)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
