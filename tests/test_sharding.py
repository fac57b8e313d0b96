"""A sweep evaluated over several JAX devices (``jax.sharding``): identical to one device.

CPU only here: ``XLA_FLAGS=--xla_force_host_platform_device_count=4`` makes four virtual CPU devices. The flag must
be set before jax starts, so each configuration runs in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("jax")

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import jax
    import schedspec
    import schedspec.evaluator as ev

    out_dir, expect = sys.argv[1], int(sys.argv[2])
    assert jax.device_count() == expect, jax.devices()
    seen = []
    original = ev._sharded_out

    def spy(*args):
        out, size = original(*args)
        seen.append((len(out.sharding.device_set), [s.data.shape for s in out.addressable_shards], size))
        return out, size

    ev._sharded_out = spy
    sweep = schedspec.load({"schedspec": 1, "steps_per_epoch": 10,
        "vars": {"peak": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], "warm": ["1ep", "2ep", "3ep"]},
        "lr": [{"kind": "linear", "duration": "$warm", "start": 0.0, "end": "$peak"},
               {"kind": "plateau", "duration": "5ep", "monitor": "val_loss", "patience": 0, "factor": 0.5},
               {"kind": "cosine", "duration": "10ep", "end": 0.0}]})
    metrics = {"val_loss": [1.0, 0.9, 0.9, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7]}
    k = np.arange(0, 200)
    results = {}
    for dtype in ("float32", "float64"):
        sharded = ev.evaluate(sweep, k, metrics=metrics, dtype=dtype, shard=True)
        single = ev.evaluate(sweep, k, metrics=metrics, dtype=dtype, shard=False)
        assert np.array_equal(sharded, single), dtype
        np.save(f"{out_dir}/{dtype}.npy", sharded)
    n_seen = len(seen)
    ev.evaluate(sweep, k, metrics=metrics)  # auto: not on CPU (virtual devices share the cores)
    assert len(seen) == n_seen
    json.dump({"devices": jax.device_count(), "seen": seen}, open(f"{out_dir}/info.json", "w"))
    """
)


def run(tmp_path, devices: int):
    out = tmp_path / f"d{devices}"
    out.mkdir()
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(out), str(devices)], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, json.loads((out / "info.json").read_text())


def test_sweep_sharded_over_four_devices_equals_one_device(tmp_path):
    one, info1 = run(tmp_path, 1)
    four, info4 = run(tmp_path, 4)
    assert info1["seen"] == []  # one device: nothing to shard
    # four devices: every evaluation split the 21-member sweep (padded to 24) into 4 shards of 6 members
    assert info4["seen"] and all(s[0] == 4 and s[2] == 21 for s in info4["seen"])
    assert all(shape[0] == 6 for s in info4["seen"] for shape in s[1])
    for dtype in ("float32", "float64"):
        a, b = np.load(one / f"{dtype}.npy"), np.load(four / f"{dtype}.npy")
        assert a.shape == (21, 200)
        np.testing.assert_array_equal(a, b)  # bit-identical to one device
