"""Shared test helpers: plateau cases (synthetic metric sequences, ReduceLROnPlateau configurations, native torch as
reference, and the parity assertions of docs/language.md (Parity) (float64: 1e-12*peak + 1e-10*|v|; float32: 1e-6*peak +
1e-5*|v|; NaN only where the reference is NaN)."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path

import numpy as np

from schedspec import ir

NAN = float("nan")

rng = np.random.default_rng(1234)
SEQUENCES = {
    "improving": [2.0 - 0.05 * i for i in range(30)],
    "flat": [1.0] * 30,
    "noisy": list(np.round(1.0 + 0.05 * rng.standard_normal(30) - 0.01 * np.arange(30), 3)),
    "nan": [1.0, 0.9, NAN, 0.9, 0.8, NAN, NAN, NAN, 0.8, 0.7, NAN, 0.7, 0.7, 0.7, 0.7, NAN] * 2,
    # rel threshold with negative values: torch's `best * (1 - thr)` inverts (a worsening counts as better)
    "negative_rel": [-1.0, -0.99995, -0.9999, -0.99985, -0.9998, -1.5, -1.5, -1.5, -1.5, -1.4] * 3,
}
CONFIGS = {  # torch ReduceLROnPlateau keyword arguments
    "default": dict(patience=3, factor=0.5),
    "cooldown": dict(patience=1, factor=0.5, cooldown=2),
    "patience0": dict(patience=0, factor=0.3),
    "abs": dict(patience=2, factor=0.5, threshold=0.01, threshold_mode="abs"),
    "max": dict(patience=2, factor=0.5, mode="max"),
    "max_abs": dict(patience=1, factor=0.5, mode="max", threshold=0.02, threshold_mode="abs", cooldown=1),
    "min_lr": dict(patience=0, factor=0.5, min_lr=0.02),
}


def spec_params(cfg: dict) -> dict:
    """torch keyword arguments -> the `plateau` kind's parameters (`min_lr` is `min`)."""
    out = {k: v for k, v in cfg.items() if k != "min_lr"}
    if "min_lr" in cfg:
        out["min"] = cfg["min_lr"]
    return out


def plateau_spec(cfg: dict, start: float = 0.1, **top) -> dict:
    """A one-phase epoch-interval plateau spec (``top``: further top-level keys)."""
    return {"schedspec": 1, "interval": "epoch", **top,
            "lr": {"kind": "plateau", "start": start, "monitor": "val_loss", **spec_params(cfg)}}  # fmt: skip


def native_torch(metrics, cfg: dict, start: float = 0.1) -> list[float]:
    """The lr torch's ReduceLROnPlateau gives epoch e (recorded before epoch e's report)."""
    import torch

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=start)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **cfg)
    out = []
    for m in metrics:
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(m)
    return out


def changes(values) -> list[int]:
    """The k where the value differs from the value at k - 1 (the reductions)."""
    v = np.asarray(values, dtype=np.float64)
    return [int(i) for i in np.nonzero(v[1:] != v[:-1])[0] + 1]


def changes_rel(values, rtol: float = 1e-5) -> list[int]:
    """The k where the value changes by more than rounding noise (relative ``rtol``; float32 by default)."""
    v = np.asarray(values, dtype=np.float64)
    scale = np.maximum(np.abs(v[1:]), np.abs(v[:-1]))
    return [int(i) for i in np.nonzero(np.abs(v[1:] - v[:-1]) > rtol * scale)[0] + 1]


def _assert_close(ours, ref, what: str, peak_tol: float, rel_tol: float) -> None:
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    peak = np.nanmax(np.abs(ref))
    ok = (np.abs(ours - ref) <= peak_tol * peak + rel_tol * np.abs(ref)) | (np.isnan(ours) & np.isnan(ref))
    bad = ~ok
    assert not bad.any(), f"{what}: first difference at {np.argmax(bad)}: {ours[bad][:3]!r} vs {ref[bad][:3]!r}"


def assert_f64(ours, ref, what: str = "") -> None:
    _assert_close(ours, ref, what, 1e-12, 1e-10)


def assert_f32(ours, ref, what: str = "") -> None:
    _assert_close(ours, ref, what, 1e-6, 1e-5)


class Counter:
    """Counts the calls of ``module.name`` for the rest of a test (``monkeypatch`` puts it back): ``.calls``."""

    def __init__(self, monkeypatch, module, name):
        self.calls = 0
        inner = getattr(module, name)

        def counted(*args, **kwargs):
            self.calls += 1
            return inner(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)


def load_module(source: str, directory: Path):
    """Write ``source`` to a fresh file in ``directory`` and import it (under a unique module name)."""
    name = f"emitted_{uuid.uuid4().hex}"
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------ IR walks for examples
def ir_nodes(x):
    """Every IR node of a tree (carried starts included), pre-order."""
    return ir.walk(x)


def has_plateau(node) -> bool:
    return any(isinstance(n, ir.Plateau) for n in ir_nodes(node))


def boundaries(node, offset: int = 0) -> list[int]:
    """Every phase begin and end of a bound tree (nested sequences included)."""
    out = []
    if isinstance(node, ir.Sequence):
        b = offset
        for part in node.parts:
            out += boundaries(part, b)
            out.append(b)
            if part.duration is None:
                break
            b += part.duration
    elif node.duration is not None:
        out.append(offset + node.duration)
    return out


def example_steps(node, program) -> np.ndarray:
    """k = 0 .. 2 x length (strided to a few thousand points) plus every phase boundary +-1."""
    length = node.duration or program.total or 1000
    n = 2 * length
    k = np.unique(np.linspace(0, n, min(n + 1, 3001)).astype(np.int64))
    extra = [b + d for b in boundaries(node) for d in (-1, 0, 1)]
    k = np.unique(np.concatenate([k, np.asarray(extra, dtype=np.int64)]))
    return k[(k >= 0) & (k < 2**31)]


# ------------------------------------------------------------------------------------------ applied lr
def sgd_update(optimizer, params) -> list[float]:
    """One ``optimizer.step()`` of a plain SGD whose parameters were reset to 0 with gradient 1: the update each
    parameter receives is exactly ``-lr`` (float64), so this returns the lr the optimizer applied, per group."""
    import torch

    for p in params:
        p.grad = torch.ones_like(p)
        with torch.no_grad():
            p.zero_()
    optimizer.step()
    return [-float(p.detach()) for p in params]


# ------------------------------------------------------------------------------------------ known faults
# Faults found by the generated documents (tests/test_generated.py, the invariants of tests/test_fuzz.py), each
# held by a strict xfail of tests/test_faults.py that names its exact wrong and right values; the runs they would
# fail are left out of the generated tests (and only those) until the fault is fixed: then the strict xfail fails,
# and its entry here must go.
def known_fault(doc: dict, target: str, f64: bool) -> str | None:
    """The known fault (a strict xfail of tests/test_faults.py) that running document ``doc`` on ``target`` (a
    name of tests/targets.py, or ``"invariants"`` for the fuzz invariants of tests/test_fuzz.py) would show, or
    None. That run is then left out, and only that run. None open today: every fault found is fixed and held by
    a regression test of tests/test_faults.py or tests/test_guarantees.py."""
    return None
