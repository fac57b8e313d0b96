#!/usr/bin/env python3
"""Regenerate the framework reference vectors in ``tests/vectors/*.json`` from the libraries themselves.

One command, from the repository root (each library in its own environment, see below)::

    python tests/vectors/generate.py --detectron2 PATH/TO/detectron2 --timm-python PATH/TO/timmvenv/bin/python

It writes ``transformers.json``, ``mmengine.json``, ``detectron2.json`` and ``timm.json`` next to this file
(``--only LIB`` regenerates one of them; ``--out DIR`` writes elsewhere). Every value is produced by running the
library's real scheduler the way the library's own training loop steps it, with a real ``torch.optim.SGD``: the
recorded ``lr[i]`` is the learning rate that update ``k[i]`` applied (read from the param group just before
``optimizer.step()`` and checked against the change of a float64 parameter with gradient 1, which is exact).

Environments (CI never runs this script; it only reads the committed JSON):

* transformers, mmengine, fvcore, torch: the project's development environment
  (``pip install torch==2.13.0 transformers mmengine fvcore``).
* detectron2 is not on PyPI. ``--detectron2 PATH`` (or ``SCHEDSPEC_DETECTRON2``) is a checkout of
  github.com/facebookresearch/detectron2 or its bare git directory. Its files ``detectron2/solver/lr_scheduler.py``,
  ``detectron2/solver/build.py``, ``detectron2/config/defaults.py`` and ``configs/Base-RCNN-FPN.yaml`` are read at
  generation time and executed with fvcore (installed); only ``detectron2.config.CfgNode`` (fvcore's ``CfgNode``)
  and ``detectron2.utils.env.TORCH_VERSION`` are stubbed. No detectron2 code is copied into this repository.
* timm needs torchvision at its top level (``timm/__init__.py`` imports ``timm.layers``, which imports torchvision),
  and the torchvision builds available here break CPU torch. Make a side environment::

      python3 -m venv timmvenv
      timmvenv/bin/pip install torch==2.13.0 && timmvenv/bin/pip install timm --no-deps && timmvenv/bin/pip install numpy

  and pass ``--timm-python timmvenv/bin/python`` (or ``SCHEDSPEC_TIMM_PYTHON``): the timm part of this script then
  re-runs itself in that interpreter. There, ``timm`` is registered in ``sys.modules`` as an empty package whose
  ``__path__`` is the installed timm directory, so ``import timm.scheduler`` runs ``timm/scheduler/*.py`` (which
  import only torch, numpy and each other) without ``timm/__init__.py``. Nothing else of timm is imported.

Case format (one JSON list per library; checked by ``tests/test_vectors_wellformed.py``)::

    {"id", "library", "version", "api", "config": {the library's own arguments, as a user writes them},
     "interval": "step" | "epoch", "steps_per_epoch"?, "length": the schedule's length in interval units,
     "boundaries": [phase boundaries b; k holds b-1, b, b+1], "k": [...], "lr": [...float64...], "notes",
     optional "resolved" (values the library derives), "driver" (the loop that stepped it), "metrics"
     (plateau reports: report j is fed after update (j+1)*every - 1), "raises" (the first k whose lr the library
     cannot compute, and its error), "source" and "config_file" (real configs, under tests/vectors/configs/)}

``k`` covers 0 .. 2 * length (all of it for short schedules; boundaries +-1, the library's discrete changes and an
even sample for long ones), except where the library raises first (``raises``).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import math
import os
import subprocess
import sys
import types
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIBRARIES = ("transformers", "mmengine", "detectron2", "timm")
DENSE_LIMIT = 400  # schedules whose 2x horizon is at most this are recorded at every k
SAMPLE = 96  # evenly spaced points for longer ones


# ------------------------------------------------------------------------------------------------ common
class Probe:
    """A real ``torch.optim.SGD`` over one float64 parameter with gradient 1: ``update()`` performs one optimizer
    update and returns the lr it applied (the parameter starts at 0, so ``-p`` after the step is exactly lr)."""

    def __init__(self, lr):
        import torch

        self.torch = torch
        self.p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        self.opt = torch.optim.SGD([self.p], lr=lr)

    def update(self):
        torch = self.torch
        group_lr = float(self.opt.param_groups[0]["lr"])
        with torch.no_grad():
            self.p.zero_()
        self.p.grad = torch.ones_like(self.p)
        self.opt.step()
        applied = -self.p.item()
        if applied != group_lr:
            raise AssertionError(f"the optimizer applied {applied!r}, the param group says {group_lr!r}")
        return group_lr


def pick_k(end, boundaries=(), values=None, extra=(), dense_limit=DENSE_LIMIT, sample=SAMPLE):
    """The k recorded for a schedule observed on 0..end: all of them if ``end <= dense_limit``, otherwise
    0..2, end-1..end, each boundary b-1..b+1, every discrete change of ``values`` (when there are at most 60 of
    them), an even sample and ``extra``."""
    if end <= dense_limit:
        ks = set(range(end + 1))
    else:
        ks = {0, 1, 2, end - 1, end}
        for i in range(sample + 1):
            ks.add(round(i * end / sample))
        if values is not None:
            changes = [k for k in range(1, len(values)) if values[k] != values[k - 1]]
            if len(changes) <= 60:
                boundaries = list(boundaries) + changes
    for b in boundaries:
        ks.update((b - 1, b, b + 1))
    ks.update(extra)
    return sorted(k for k in ks if 0 <= k <= end)


def case(cid, library, version, api, config, *, interval, length, k, lr, notes, boundaries=(), **more):
    c = {
        "id": cid,
        "library": library,
        "version": version,
        "api": api,
        "config": config,
        "interval": interval,
    }
    if "steps_per_epoch" in more:
        c["steps_per_epoch"] = more.pop("steps_per_epoch")
    c["length"] = int(length)
    c["boundaries"] = sorted({int(b) for b in boundaries})
    for key in ("resolved", "driver", "metrics", "raises", "source", "config_file", "tokens_per_step"):
        if key in more:
            c[key] = more.pop(key)
    if more:
        raise TypeError(f"unknown case fields {sorted(more)}")
    c["notes"] = notes
    c["k"] = [int(x) for x in k]
    c["lr"] = [float(x) for x in lr]
    for x in c["lr"]:
        if not math.isfinite(x):
            raise AssertionError(f"{cid}: non-finite lr {x}")
    return c


def dump(path, cases):
    """One case per block, ``k`` and ``lr`` on one line each; floats by repr (they round-trip exactly)."""
    ids = [c["id"] for c in cases]
    if len(ids) != len(set(ids)):
        raise AssertionError(f"duplicate ids in {path.name}")
    out = io.StringIO()
    out.write("[\n")
    for i, c in enumerate(cases):
        out.write("  {\n")
        items = list(c.items())
        for j, (key, value) in enumerate(items):
            sep = "," if j < len(items) - 1 else ""
            out.write(f"    {json.dumps(key)}: {json.dumps(value, allow_nan=False, ensure_ascii=False)}{sep}\n")
        out.write("  }" + ("," if i < len(cases) - 1 else "") + "\n")
    out.write("]\n")
    path.write_text(out.getvalue(), encoding="utf-8")
    print(f"wrote {path} ({len(cases)} cases, {path.stat().st_size // 1024} KiB)")


def record(values, ks):
    return [values[k] for k in ks]


# ------------------------------------------------------------------------------------------------ transformers
def gen_transformers(subset=None):
    """``TrainingArguments`` -> ``Trainer.create_scheduler`` (-> ``get_scheduler``), stepped as ``Trainer``'s
    inner loop does (``optimizer.step(); lr_scheduler.step()`` once per optimizer update; a plateau scheduler is
    stepped only after an evaluation, with the metric)."""
    import tempfile

    import transformers
    from transformers import Trainer, TrainingArguments
    from transformers.trainer_utils import SchedulerType

    version = transformers.__version__
    lib = "transformers"
    tmp = tempfile.mkdtemp(prefix="schedspec-vectors-")
    formula_types = {t.value for t in SchedulerType} - {"greedy"}
    covered = set()
    cases = []

    def args_for(cfg):
        fields = {k: v for k, v in cfg.items() if k not in ("steps_per_epoch",)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return TrainingArguments(output_dir=tmp, report_to="none", **fields)

    def build(cfg, num_training_steps):
        targs = args_for(cfg)
        probe = Probe(targs.learning_rate)
        stub = types.SimpleNamespace(lr_scheduler=None, args=targs, _created_lr_scheduler=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = Trainer.create_scheduler(stub, num_training_steps=num_training_steps, optimizer=probe.opt)
        return targs, probe, sched

    def training_steps(cfg):
        """Trainer.set_initial_training_values with a dataloader of ``steps_per_epoch`` batches."""
        targs = args_for(cfg)
        if targs.max_steps > 0 and "steps_per_epoch" not in cfg:
            return targs.max_steps
        spe = cfg["steps_per_epoch"]
        stub = types.SimpleNamespace(
            get_total_train_batch_size=lambda a: a.per_device_train_batch_size * a.gradient_accumulation_steps,
            get_sp_size=lambda: 1,
            num_examples=lambda dl: len(dl) * targs.per_device_train_batch_size,
        )
        return Trainer.set_initial_training_values(stub, targs, list(range(spe)))[-1]

    def run(cid, cfg, notes, *, length=None, boundaries=(), horizon=None, extra=(), jump=False, **more):
        if subset is not None and cid not in subset:
            return
        n = training_steps(cfg)
        targs, probe, sched = build(cfg, n)
        w = targs.get_warmup_steps(n)
        length = n if length is None else length
        end = 2 * length if horizon is None else horizon
        resolved = {"num_training_steps": n, "num_warmup_steps": w}
        if jump:  # a LambdaLR is a closed form of last_epoch: set it, step once, apply one update
            ks = pick_k(end, boundaries, extra=extra) + sorted(e for e in extra if e > end)
            check = min(end, 3000)
            stepped = [probe.update()]
            for _ in range(check):
                sched.step()
                stepped.append(probe.update())
            lrs = []
            for k in ks:
                sched.last_epoch = k - 1
                sched.step()
                lrs.append(probe.update())
                if k <= check and lrs[-1] != stepped[k]:
                    raise AssertionError(f"{cid}: jumping to k={k} differs from stepping")
            driver = ("Trainer loop: optimizer.step(); lr_scheduler.step() per update. Stepped for k <= "
                      f"{check}; beyond, LambdaLR.last_epoch is set to k-1 and stepped once (LambdaLR is a closed "
                      "form of last_epoch; both agree on the stepped prefix)")
        else:
            values = []
            for _ in range(end + 1):
                values.append(probe.update())
                sched.step()
            ks = pick_k(end, boundaries, values, extra=[e for e in extra if e <= end])
            lrs = record(values, ks)
            driver = "Trainer loop: optimizer.step(); lr_scheduler.step() once per optimizer update"
        covered.add(targs.lr_scheduler_type.value)
        cases.append(case(
            f"transformers.{cid}", lib, version, "TrainingArguments -> Trainer.create_scheduler (get_scheduler)",
            cfg, interval="step", length=length, boundaries=[b for b in boundaries if b <= end], k=ks, lr=lrs,
            notes=notes, resolved={**resolved, **more.pop("resolved", {})}, driver=driver, **more,
        ))

    base = {"learning_rate": 1e-3}
    # -- linear, cosine, restarts, polynomial
    run("linear.w5.n30", {**base, "lr_scheduler_type": "linear", "warmup_steps": 5, "max_steps": 30},
        "Linear warmup 0 -> lr over 5 steps, linear decay to 0 at num_training_steps, 0 after.", boundaries=[5, 30])
    run("linear.w0.n20", {**base, "lr_scheduler_type": "linear", "max_steps": 20},
        "No warmup: k=0 uses the full lr (0/max(1,0) is never taken).", boundaries=[20])
    run("linear.warmup_longer_than_training", {**base, "lr_scheduler_type": "linear", "warmup_steps": 30,
                                                "max_steps": 20},
        "num_warmup_steps > num_training_steps is accepted: the ramp k/W runs to k = W - 1 (never reaching lr), "
        "then max(0, (N - k) / max(1, N - W)) = 0.", boundaries=[20, 30])
    run("cosine.w5.n30", {**base, "lr_scheduler_type": "cosine", "warmup_steps": 5, "max_steps": 30},
        "After num_training_steps the cosine keeps going: progress > 1 climbs back up (max(0, .) only clips "
        "negatives), reaching lr again at k = 2*N - W.", boundaries=[5, 30, 55])
    run("cosine.cycles1.5.w4.n30", {**base, "lr_scheduler_type": "cosine", "warmup_steps": 4, "max_steps": 30,
                                    "lr_scheduler_kwargs": {"num_cycles": 1.5}},
        "num_cycles 1.5: three half-waves between W and N (down, up, down); continues periodically after N.",
        boundaries=[4, 30])
    run("cosine_with_restarts.c3.w4.n34", {**base, "lr_scheduler_type": "cosine_with_restarts", "warmup_steps": 4,
                                           "max_steps": 34, "lr_scheduler_kwargs": {"num_cycles": 3}},
        "Hard restarts: 3 cycles of 10 steps after the warmup; exactly 0 from num_training_steps on "
        "(progress >= 1).", boundaries=[4, 14, 24, 34])
    run("cosine_with_restarts.c3.fractional_period", {**base, "lr_scheduler_type": "cosine_with_restarts",
                                                      "warmup_steps": 4, "max_steps": 24,
                                                      "lr_scheduler_kwargs": {"num_cycles": 3}},
        "(N - W) / num_cycles = 20/3 is not a whole number of steps: cycle j restarts at the first k with "
        "floor(3 (k - W) / 20) = j (k = 11, 18), mid-curve values follow the fractional phase.",
        boundaries=[4, 11, 18, 24])
    run("cosine_with_restarts.c7.w0.n100", {**base, "lr_scheduler_type": "cosine_with_restarts", "max_steps": 100,
                                           "lr_scheduler_kwargs": {"num_cycles": 7}},
        "(N - W) / num_cycles = 100/7: restarts at the first k at or after each j * 100/7 (k = 15, 29, 43, 58, 72, "
        "86); HF's float (7 * (k / 100)) % 1.0 puts every restart at the exact step (none is met within a "
        "rounding error); 0 from N on.", boundaries=[15, 29, 43, 58, 72, 86, 100])
    run("cosine_with_restarts.default.w3.n20", {**base, "lr_scheduler_type": "cosine_with_restarts",
                                                "warmup_steps": 3, "max_steps": 20},
        "Default num_cycles=1: a half cosine to 0, then 0.", boundaries=[3, 20])
    run("cosine_with_restarts.kwargs_json_string", {**base, "lr_scheduler_type": "cosine_with_restarts",
                                                    "warmup_steps": 2, "max_steps": 24,
                                                    "lr_scheduler_kwargs": '{"num_cycles": "2"}'},
        "lr_scheduler_kwargs given as a JSON string (as on the command line): TrainingArguments.__post_init__ "
        "parses strings starting with '{' and _convert_str_dict turns the digit string '2' into the int 2.",
        boundaries=[2, 13, 24], resolved={"lr_scheduler_kwargs": {"num_cycles": 2}})
    run("polynomial.default.w5.n30", {**base, "lr_scheduler_type": "polynomial", "warmup_steps": 5,
                                      "max_steps": 30},
        "Defaults power=1.0, lr_end=1e-7 (absolute, not a ratio: the lambda returns lr_end / lr_init); holds "
        "lr_end for k > N.", boundaries=[5, 30])
    run("polynomial.p2.end1e-5.w3.n25", {**base, "lr_scheduler_type": "polynomial", "warmup_steps": 3,
                                         "max_steps": 25, "lr_scheduler_kwargs": {"power": 2.0, "lr_end": 1e-5}},
        "power 2 from lr to lr_end over N - W steps. get_polynomial_decay_schedule_with_warmup raises "
        "ValueError('lr_end (...) must be smaller than initial lr (...)') unless lr > lr_end.", boundaries=[3, 25])
    # -- constants
    run("constant", {**base, "lr_scheduler_type": "constant", "warmup_steps": 5, "max_steps": 20},
        "get_scheduler returns get_constant_schedule(optimizer) before looking at anything else: warmup_steps, "
        "num_training_steps and lr_scheduler_kwargs are ignored.")
    run("constant_with_warmup.w10", {**base, "lr_scheduler_type": "constant_with_warmup", "warmup_steps": 10,
                                     "max_steps": 20, "lr_scheduler_kwargs": {"num_cycles": 7}},
        "Linear warmup then lr forever. get_scheduler passes only num_warmup_steps: lr_scheduler_kwargs are "
        "silently dropped (the num_cycles here has no effect and raises nothing).", boundaries=[10])
    # -- inverse_sqrt
    run("inverse_sqrt.w10", {**base, "lr_scheduler_type": "inverse_sqrt", "warmup_steps": 10, "max_steps": 30},
        "timescale defaults to num_warmup_steps: lr * 1/sqrt((k + timescale - W) / timescale) for k >= W = lr * "
        "sqrt(W / k): no plateau after the warmup. No end: num_training_steps is not used.",
        boundaries=[10], extra=[1000, 10**6, 2**31 - 1], horizon=60, jump=True, length=30)
    run("inverse_sqrt.w10.ts25", {**base, "lr_scheduler_type": "inverse_sqrt", "warmup_steps": 10, "max_steps": 30,
                                  "lr_scheduler_kwargs": {"timescale": 25}},
        "timescale != num_warmup_steps: time shift shift = timescale - W, lr * sqrt(timescale / (k - W + "
        "timescale)); equals lr at k = W.", boundaries=[10], extra=[1000, 10**6, 2**31 - 1], horizon=60,
        jump=True, length=30)
    run("inverse_sqrt.w0", {**base, "lr_scheduler_type": "inverse_sqrt", "max_steps": 30},
        "num_warmup_steps 0 -> timescale = num_warmup_steps or 10_000 = 10000: lr * sqrt(10000 / (k + 10000)).",
        extra=[100, 1000, 10000, 40000, 10**6, 2**31 - 1], horizon=60, jump=True, length=30)
    # -- plateau (stepped with the metric after each evaluation)
    if subset is None or "reduce_lr_on_plateau.p1" in subset:
        cid = "reduce_lr_on_plateau.p1"
        every, nsteps = 5, 80
        reports = [1.0, 0.9, 0.95, 0.97, 0.96, 0.8, 0.85, 0.86, 0.87, 0.7, 0.71, 0.72, 0.73, 0.74, 0.6, 0.65]
        cfg = {**base, "lr_scheduler_type": "reduce_lr_on_plateau", "warmup_steps": 3, "max_steps": 40,
               "lr_scheduler_kwargs": {"factor": 0.5, "patience": 1}, "eval_strategy": "steps",
               "eval_steps": every, "metric_for_best_model": "loss"}
        targs, probe, sched = build(cfg, 40)
        values = []
        for k in range(nsteps + 1):
            values.append(probe.update())
            if (k + 1) % every == 0 and (k + 1) // every - 1 < len(reports):
                sched.step(reports[(k + 1) // every - 1])
        ks = list(range(nsteps + 1))
        covered.add("reduce_lr_on_plateau")
        cases.append(case(
            f"transformers.{cid}", lib, version, "TrainingArguments -> Trainer.create_scheduler (get_scheduler)",
            cfg, interval="step", length=40, k=ks, lr=record(values, ks),
            notes="torch ReduceLROnPlateau with the kwargs (torch defaults otherwise: mode min, threshold 1e-4 "
                  "rel, cooldown 0, min_lr 0, eps 1e-8). warmup_steps is ignored (get_scheduler returns before "
                  "reading it). Trainer steps it only in _evaluate, after global_step % eval_steps == 0, with "
                  "metrics['eval_' + metric_for_best_model]; a reduction decided at report j applies from update "
                  "(j+1)*eval_steps.",
            resolved={"num_training_steps": 40, "num_warmup_steps": targs.get_warmup_steps(40)},
            driver="Trainer loop: optimizer.step() per update; lr_scheduler.step(metric) after each evaluation",
            metrics={"name": "eval_loss", "every": every, "values": reports},
        ))
    # -- cosine with a floor
    run("cosine_with_min_lr.min_lr1e-5", {**base, "lr_scheduler_type": "cosine_with_min_lr", "warmup_steps": 5,
                                          "max_steps": 30, "lr_scheduler_kwargs": {"min_lr": 1e-5}},
        "min_lr is turned into min_lr_rate = min_lr / optimizer.defaults['lr'] (raises ValueError 'Only one of "
        "min_lr or min_lr_rate should be set' / 'One of min_lr or min_lr_rate should be set through the "
        "`lr_scheduler_kwargs`'). Continues (rises) after N like 'cosine'.", boundaries=[5, 30])
    run("cosine_with_min_lr.rate0.1.cycles1", {**base, "lr_scheduler_type": "cosine_with_min_lr",
                                               "warmup_steps": 4, "max_steps": 24,
                                               "lr_scheduler_kwargs": {"min_lr_rate": 0.1, "num_cycles": 1.0}},
        "min_lr_rate 0.1 with num_cycles 1: down to 0.1*lr at the middle, back to lr at N.", boundaries=[4, 14, 24])
    run("cosine_warmup_with_min_lr.rate0.1", {**base, "lr_scheduler_type": "cosine_warmup_with_min_lr",
                                              "warmup_steps": 5, "max_steps": 30,
                                              "lr_scheduler_kwargs": {"min_lr_rate": 0.1}},
        "Off by one from cosine_with_min_lr: the warmup is (k+1)/W (k=0 is lr/W, not 0; k=W-1 is lr) and the "
        "cosine's progress is (k - W + 1)/(N - W), so min_lr is reached at k = N - 1.", boundaries=[5, 29, 30])
    run("cosine_warmup_with_min_lr.warmup_lr_rate0.2", {**base, "lr_scheduler_type": "cosine_warmup_with_min_lr",
                                                        "warmup_steps": 6, "max_steps": 30,
                                                        "lr_scheduler_kwargs": {"min_lr": 1e-4,
                                                                                "warmup_lr_rate": 0.2}},
        "warmup_lr_rate r: warmup r + (1 - r) * k / max(1, W - 1) (reaches lr at k = W - 1).",
        boundaries=[6, 29, 30])
    run("cosine_warmup_with_min_lr.w0", {**base, "lr_scheduler_type": "cosine_warmup_with_min_lr", "max_steps": 30,
                                         "lr_scheduler_kwargs": {"min_lr_rate": 0.1}},
        "num_warmup_steps 0: no warmup, and the cosine's progress is (k + 1) / N: its phase 0 is at k = -1, so k = 0 "
        "is already below lr and min_lr is reached at k = N - 1 (a clock shifted by one step); continues after N.",
        boundaries=[29, 30, 59])
    # -- warmup_stable_decay
    wsd = {**base, "lr_scheduler_type": "warmup_stable_decay", "warmup_steps": 5, "max_steps": 30}
    run("warmup_stable_decay.default", {**wsd, "lr_scheduler_kwargs": {"num_decay_steps": 10}},
        "Defaults warmup_type linear, decay_type cosine, min_lr_ratio 0; num_stable_steps = N - W - D = 15. "
        "min_lr_ratio * lr is held from W + S + D on.", boundaries=[5, 20, 30])
    run("warmup_stable_decay.linear.min0.1", {**wsd, "lr_scheduler_kwargs": {"num_decay_steps": 10,
                                                                             "decay_type": "linear",
                                                                             "min_lr_ratio": 0.1}},
        "min_lr_ratio also lifts the warmup: it starts at min_lr_ratio*lr (k=0), not 0.", boundaries=[5, 20, 30])
    run("warmup_stable_decay.1-sqrt", {**wsd, "lr_scheduler_kwargs": {"num_decay_steps": 10,
                                                                      "decay_type": "1-sqrt"}},
        "decay 1 - sqrt(progress).", boundaries=[5, 20, 30])
    run("warmup_stable_decay.cosine_warmup.1-sqrt.min0.05", {**wsd, "lr_scheduler_kwargs": {
        "num_decay_steps": 8, "warmup_type": "cosine", "decay_type": "1-sqrt", "min_lr_ratio": 0.05}},
        "warmup 0.5*(1 - cos(pi*progress)), both phases rescaled to [min_lr_ratio, 1].", boundaries=[5, 22, 30])
    run("warmup_stable_decay.1-sqrt_warmup.linear", {**wsd, "lr_scheduler_kwargs": {
        "num_decay_steps": 10, "warmup_type": "1-sqrt", "decay_type": "linear"}},
        "warmup 1 - sqrt(1 - progress).", boundaries=[5, 20, 30])
    run("warmup_stable_decay.cosine.cycles1", {**wsd, "lr_scheduler_kwargs": {
        "num_decay_steps": 10, "num_cycles": 1.0}},
        "num_cycles 1 in the decay: goes down and back up to lr at the end of the decay, then drops to "
        "min_lr_ratio (0) at W + S + D.", boundaries=[5, 20, 30])
    run("warmup_stable_decay.stable_given", {**wsd, "lr_scheduler_kwargs": {
        "num_decay_steps": 6, "num_stable_steps": 9, "decay_type": "linear", "min_lr_ratio": 0.2}},
        "num_stable_steps given and num_training_steps passed too (Trainer always passes it): get_wsd_schedule "
        "warns 'Both num_training_steps and num_stable_steps are specified. num_stable_steps will be used.' "
        "Here W + S + D = 20 < N = 30: min_lr_ratio is held from 20.", boundaries=[5, 14, 20], length=30)
    # -- TrainingArguments conventions
    run("warmup_steps_ratio.0.07.n100", {**base, "lr_scheduler_type": "linear", "warmup_steps": 0.07,
                                         "max_steps": 100},
        "warmup_steps < 1 is a ratio: get_warmup_steps = math.ceil(num_training_steps * warmup_steps). In float "
        "100 * 0.07 = 7.000000000000001, so the warmup is 8 steps, not 7.", boundaries=[8, 100])
    run("warmup_steps_float_truncated.2.7", {**base, "lr_scheduler_type": "linear", "warmup_steps": 2.7,
                                             "max_steps": 20},
        "warmup_steps >= 1 is int(warmup_steps): 2.7 -> 2 (truncated, not rounded).", boundaries=[2, 20])
    run("run_clm.defaults", _run_clm_defaults(args_for), "HF run_clm with TrainingArguments defaults: "
        "lr_scheduler_type linear, learning_rate 5e-5, warmup_steps 0, num_train_epochs 3, max_steps -1. "
        "num_training_steps = ceil(num_train_epochs * num_update_steps_per_epoch) with a dataloader of "
        "steps_per_epoch batches (the value depends on the dataset; 290 here).", boundaries=[290, 580, 870],
        source={"repository": "huggingface/transformers",
                "path": "examples/pytorch/language-modeling/run_clm.py (TrainingArguments defaults: "
                        "src/transformers/training_args.py)"},
        config_file="tests/vectors/configs/hf_run_clm_training_args.json")
    # -- an LLM WSD recipe in token time
    run("smollm2_1.7B.wsd", _smollm2_as_hf(), "SmolLM2-1.7B pretraining schedule (nanotron, WSD with a linear "
        "decay over the last 524000 of 5240000 steps, 2000 warmup steps, 2**21 tokens per step = 11T tokens) "
        "written as HF warmup_stable_decay. These are HF's values for that config; nanotron's own "
        "step-count conventions are not reproduced.", boundaries=[2000, 4716000, 5240000], jump=True,
        extra=[10**6, 3 * 10**6, 5000000, 5239999], tokens_per_step=_smollm2_tokens_per_step(),
        source={"repository": "huggingface/smollm", "path": "text/pretraining/smollm2/config_smollm2_1B.yaml"},
        config_file="tests/vectors/configs/smollm2_1.7B_lr_schedule.yaml")

    missing = formula_types - covered
    if subset is None and missing:
        raise AssertionError(f"SchedulerType members without a case: {sorted(missing)}")
    return cases


def _run_clm_defaults(args_for):
    """TrainingArguments' defaults for the fields that shape the schedule (what run_clm gets when the command line
    sets none of them), written to configs/hf_run_clm_training_args.json as training_args.json holds them."""
    targs = args_for({})
    keys = ("lr_scheduler_type", "learning_rate", "warmup_steps", "num_train_epochs", "max_steps",
            "lr_scheduler_kwargs", "gradient_accumulation_steps", "per_device_train_batch_size")
    d = targs.to_dict()
    cfg = {key: d[key] for key in keys}
    cfg["steps_per_epoch"] = 290
    return cfg


def _smollm2_as_hf():
    """configs/smollm2_1.7B_lr_schedule.yaml (nanotron) as HF warmup_stable_decay TrainingArguments fields."""
    import yaml

    y = yaml.safe_load((HERE / "configs" / "smollm2_1.7B_lr_schedule.yaml").read_text())
    s, t = y["optimizer"]["learning_rate_scheduler"], y["tokens"]
    assert s["lr_warmup_style"] == "linear" and s["min_decay_lr"] == 0
    assert s["lr_decay_starting_step"] + s["lr_decay_steps"] == t["train_steps"]
    return {"learning_rate": s["learning_rate"], "lr_scheduler_type": "warmup_stable_decay",
            "warmup_steps": s["lr_warmup_steps"], "max_steps": t["train_steps"],
            "lr_scheduler_kwargs": {"num_decay_steps": s["lr_decay_steps"],
                                    "num_stable_steps": s["lr_decay_starting_step"] - s["lr_warmup_steps"],
                                    "decay_type": s["lr_decay_style"], "min_lr_ratio": 0.0}}


def _smollm2_tokens_per_step():
    import yaml

    y = yaml.safe_load((HERE / "configs" / "smollm2_1.7B_lr_schedule.yaml").read_text())
    t = y["tokens"]
    return y["parallelism"]["dp"] * t["micro_batch_size"] * t["batch_accumulation_per_replica"] * t["sequence_length"]


# ------------------------------------------------------------------------------------------------ mmengine
def gen_mmengine(subset=None):
    """The dicts of an MMEngine ``param_scheduler`` built by the real ``Runner._build_param_scheduler`` (default
    ``end`` from the train loop, ``convert_to_iter_based`` with ``epoch_length = len(train_dataloader)``) and stepped
    by the real ``ParamSchedulerHook``: ``after_train_iter`` after every iteration (iter-based schedulers),
    ``after_train_epoch`` after every epoch (epoch-based ones) in an EpochBasedTrainLoop, once after the last
    iteration in an IterBasedTrainLoop."""
    import logging

    import mmengine
    from mmengine.hooks import ParamSchedulerHook
    from mmengine.runner import Runner
    from mmengine.runner.loops import EpochBasedTrainLoop, IterBasedTrainLoop

    version = mmengine.__version__
    lib = "mmengine"
    cases = []
    logger = logging.getLogger("schedspec.vectors.mmengine")

    def run(cid, param_scheduler, notes, *, lr=0.1, epoch_length=5, max_epochs=None, max_iters=None,
            boundaries=(), extra=(), **more):
        if subset is not None and cid not in subset:
            return
        loop = "epoch" if max_epochs is not None else "iter"
        fake = types.SimpleNamespace()
        if loop == "epoch":
            fake._train_loop = object.__new__(EpochBasedTrainLoop)
            fake.max_epochs, fake.max_iters = max_epochs, max_epochs * epoch_length
            length = max_epochs * epoch_length
        else:
            fake._train_loop = object.__new__(IterBasedTrainLoop)
            fake.max_epochs, fake.max_iters = 1, max_iters
            length = max_iters
        fake.logger = logger
        fake.train_dataloader = range(epoch_length)
        probe = Probe(lr)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fake.param_schedulers = Runner._build_param_scheduler(fake, copy.deepcopy(param_scheduler), probe.opt)
            hook = ParamSchedulerHook()
            values = []
            end = 2 * length
            i = 0
            while len(values) <= end:
                values.append(probe.update())
                hook.after_train_iter(fake, batch_idx=i % epoch_length)
                i += 1
                if loop == "epoch" and i % epoch_length == 0:
                    hook.after_train_epoch(fake)
                if loop == "iter" and i == max_iters:
                    hook.after_train_epoch(fake)
        ks = pick_k(end, boundaries, values, extra=extra)
        train_cfg = ({"type": "EpochBasedTrainLoop", "max_epochs": max_epochs} if loop == "epoch"
                     else {"type": "IterBasedTrainLoop", "max_iters": max_iters})
        cases.append(case(
            f"mmengine.{cid}", lib, version, "param_scheduler (Runner._build_param_scheduler + ParamSchedulerHook)",
            {"lr": lr, "param_scheduler": param_scheduler, "train_cfg": train_cfg}, interval="step",
            steps_per_epoch=epoch_length, length=length, boundaries=[b for b in boundaries if b <= end], k=ks,
            lr=record(values, ks), notes=notes,
            driver=("EpochBasedTrainLoop: per iteration optimizer.step() then ParamSchedulerHook.after_train_iter "
                    "(steps by_epoch=False schedulers); after each epoch after_train_epoch (steps by_epoch=True "
                    "ones). Continued past max_epochs as if training went on." if loop == "epoch" else
                    "IterBasedTrainLoop: per iteration optimizer.step() then after_train_iter; after_train_epoch "
                    "once, after iteration max_iters. Continued past max_iters as if training went on."),
            **more,
        ))

    L = 5
    run("LinearLR.iter.sf0.1.end10", [dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=10)],
        "total_iters = end - begin - 1 = 9: lr*start_factor at k=0, lr at k=9 (one step before end), held after. "
        "Chained form: each step multiplies the current lr by 1 + (ef - sf)/(T*sf + (i-1)(ef - sf)).",
        max_epochs=6, boundaries=[9, 10])
    run("LinearLR.epoch.sf0.25.end4", [dict(type="LinearLR", start_factor=0.25, end=4)],
        "by_epoch default True: stepped at epoch ends, so the lr changes every epoch_length iterations; reaches lr "
        "in epoch end-1 = 3.", max_epochs=6, boundaries=[3 * L, 4 * L])
    run("LinearLR.iter.decay.ef0.5.begin3.end13", [dict(type="LinearLR", start_factor=1.0, end_factor=0.5,
                                                       by_epoch=False, begin=3, end=13)],
        "A decay (start_factor 1 -> end_factor 0.5) in the window [3, 13): identity before begin, end_factor "
        "reached at end - 1 = 12.", max_epochs=4, boundaries=[3, 12, 13])
    run("ConstantLR.iter.f0.5.begin2.end8", [dict(type="ConstantLR", factor=0.5, by_epoch=False, begin=2, end=8)],
        "Multiplies by factor at the first step of its window (k = begin) and divides it back at last_step == "
        "total_iters = end - begin - 1, i.e. k = end - 1 = 7 (one step before end).", max_epochs=4,
        boundaries=[2, 7, 8])
    run("StepLR.epoch.s3.g0.5", [dict(type="StepLR", step_size=3, gamma=0.5)],
        "No end: Runner sets end = max_epochs (8); by_epoch. Decays at epochs 3, 6; stops at end (epoch 8): "
        "held after, no decay at epoch 9.", max_epochs=8, boundaries=[3 * L, 6 * L, 8 * L, 9 * L])
    run("MultiStepLR.epoch.m3_7", [dict(type="MultiStepLR", milestones=[3, 7], gamma=0.1)],
        "Milestones in epochs from begin; end defaults to max_epochs (10).", max_epochs=10,
        boundaries=[3 * L, 7 * L])
    run("MultiStepLR.epoch.repeated_milestone", [dict(type="MultiStepLR", milestones=[2, 2, 5], gamma=0.5)],
        "A repeated milestone counts twice (Counter): gamma**2 at epoch 2.", max_epochs=6,
        boundaries=[2 * L, 5 * L])
    run("ExponentialLR.iter.g0.9.end20", [dict(type="ExponentialLR", gamma=0.9, by_epoch=False, begin=0, end=20)],
        "lr * gamma**k for k < end, then held at gamma**(end-1).", max_epochs=4, boundaries=[19, 20])
    run("CosineAnnealingLR.iter.begin5.end25", [dict(type="CosineAnnealingLR", eta_min=1e-4, by_epoch=False,
                                                     begin=5, end=25)],
        "T_max defaults to end - begin = 20 (NOT end - begin - 1): eta_min is never reached inside the window "
        "(the last value, at k = end - 1, is one step short); held after end. Identity before begin.",
        max_epochs=6, boundaries=[5, 24, 25])
    run("CosineAnnealingLR.epoch.eta_min_ratio0.1", [dict(type="CosineAnnealingLR", eta_min_ratio=0.1)],
        "by_epoch, end = max_epochs = 8 -> T_max 8; eta_min = 0.1 * base lr.", max_epochs=8,
        boundaries=[8 * L])
    run("CosineAnnealingLR.iter.Tmax10.end40", [dict(type="CosineAnnealingLR", T_max=10, eta_min=0.0,
                                                     by_epoch=False, begin=0, end=40)],
        "T_max shorter than the window: like torch's CosineAnnealingLR it rises back after T_max (period 2*T_max).",
        max_epochs=10, boundaries=[10, 20, 30, 40])
    run("PolyLR.iter.p2.end20", [dict(type="PolyLR", power=2.0, eta_min=1e-5, by_epoch=False, begin=0, end=20)],
        "total_iters = end - begin - 1 = 19: eta_min reached at k = 19 (end - 1).", max_epochs=5,
        boundaries=[19, 20])
    run("PolyLR.iter.p1.default", [dict(type="PolyLR", by_epoch=False, begin=0, end=15)],
        "Defaults power 1, eta_min 0: linear to 0 at end - 1.", max_epochs=4, boundaries=[14, 15])
    run("OneCycleLR.iter.30", [dict(type="OneCycleLR", eta_max=0.1, by_epoch=False, begin=0, end=30)],
        "total_steps = end - begin = 30; two phases (cos): initial eta_max/25, peak at pct_start*30 - 1 = 8, "
        "eta_max/25/1e4 at 29. The optimizer's own lr is ignored (OneCycle sets initial_lr itself).",
        lr=0.02, max_epochs=8, boundaries=[8, 29, 30])
    run("OneCycleLR.iter.three_phase.linear", [dict(type="OneCycleLR", eta_max=0.1, total_steps=40,
                                                    pct_start=0.25, anneal_strategy="linear", three_phase=True,
                                                    div_factor=10.0, final_div_factor=100.0, by_epoch=False,
                                                    begin=0, end=40)],
        "three_phase, linear: up to step 9, back to initial at 18, to min at 39.", lr=0.02, max_epochs=10,
        boundaries=[9, 18, 39, 40])
    run("OneCycleLR.iter.total_steps_lt_window", [dict(type="OneCycleLR", eta_max=0.1, total_steps=5,
                                                       by_epoch=False, begin=0, end=6)],
        "total_steps 5 < end - begin 6: at last_step = total_steps = 5 mmengine still anneals, with pct > 1, so the "
        "lr climbs back (0.0188 after 4e-07); a window longer than total_steps + 1 raises ValueError('Tried to step "
        "{n} times. The specified number of total steps is {total_steps}').", lr=0.02, max_epochs=4,
        boundaries=[4, 5, 6])
    run("CosineRestartLR.iter.periods5_10_15", [dict(type="CosineRestartLR", periods=[5, 10, 15],
                                                     restart_weights=[1.0, 0.5, 0.25], eta_min=0.001,
                                                     by_epoch=False, begin=0, end=30)],
        "Cycle i restarts at eta_max = base*restart_weights[i], cosine to eta_min with T = periods[i] (never "
        "reached: the cycle's last step is one short); after sum(periods) the value is held.", max_epochs=8,
        boundaries=[5, 15, 30])
    run("CosineRestartLR.epoch.ratio", [dict(type="CosineRestartLR", periods=[3, 3], restart_weights=[1.0, 0.8],
                                             eta_min_ratio=0.05)],
        "by_epoch, eta_min_ratio; end defaults to max_epochs.", max_epochs=6, boundaries=[3 * L, 6 * L])
    run("convert_to_iter_based.LinearLR+CosineAnnealingLR",
        [dict(type="LinearLR", start_factor=0.01, by_epoch=True, end=2, convert_to_iter_based=True),
         dict(type="CosineAnnealingLR", eta_min=0.0, by_epoch=True, begin=2, end=8, convert_to_iter_based=True)],
        "convert_to_iter_based multiplies begin/end (and T_max, milestones, step_size, periods, total_steps) by "
        "epoch_length and steps per iteration: warmup over iterations [0, 10), cosine over [10, 40).",
        max_epochs=8, boundaries=[9, 10, 39, 40])
    run("overlap.LinearLR.iter+CosineAnnealingLR.iter",
        [dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=8),
         dict(type="CosineAnnealingLR", eta_min=0.0, by_epoch=False, begin=0, end=30)],
        "Overlapping windows act together: each scheduler updates the current lr in its chained form, in list "
        "order, so during [0, 8) the warmup factor and the cosine compose (not a sequence).", max_epochs=6,
        boundaries=[7, 8, 30])
    run("overlap.ExponentialLR.epoch+MultiStepLR.epoch",
        [dict(type="ExponentialLR", gamma=0.8, end=6), dict(type="MultiStepLR", milestones=[2, 4], gamma=0.5)],
        "Two epoch-based schedulers, both multiplying: 0.8**e * 0.5**#milestones.", max_epochs=8,
        boundaries=[2 * L, 4 * L, 6 * L])
    run("iterloop.epoch_scheduler_never_steps",
        [dict(type="LinearLR", start_factor=0.5, by_epoch=False, begin=0, end=6),
         dict(type="MultiStepLR", milestones=[1], gamma=0.1)],
        "In an IterBasedTrainLoop after_train_epoch runs once, after the last iteration: a by_epoch=True "
        "scheduler (here MultiStepLR, end defaulting to max_epochs = 1) never changes the lr during training.",
        max_iters=20, boundaries=[5, 6, 20, 21])
    run("mmdet.schedule_1x", _schedule_1x(), "mmdet schedule_1x: LinearLR warmup over iterations [0, 500) "
        "(start_factor 0.001, total_iters 499) and MultiStepLR x0.1 at epochs 8 and 11 (stepped at epoch ends), "
        "SGD lr 0.02, 12 epochs. epoch_length 7330 stands for len(train_dataloader) (COCO train2017 at 16 images "
        "per batch; it depends on the dataset and the GPUs).", lr=0.02, epoch_length=7330, max_epochs=12,
        boundaries=[499, 500, 8 * 7330, 11 * 7330, 12 * 7330],
        source={"repository": "open-mmlab/mmdetection", "path": "configs/_base_/schedules/schedule_1x.py",
                "commit": "178134968e460a4c16a21c6681d03c70d6357e1c"},
        config_file="tests/vectors/configs/mmdet_schedule_1x.py")
    run("mmpretrain.imagenet_bs1024_adamw_swin", _swin(), "mmpretrain Swin ImageNet schedule: LinearLR "
        "start_factor 1e-3 over 20 epochs converted to iterations, then CosineAnnealingLR by epoch from epoch 20 "
        "to max_epochs 300 (T_max = 280 epochs), eta_min 1e-5, AdamW lr 5e-4 * 1024 / 512. epoch_length 1251 "
        "stands for len(train_dataloader) (ImageNet-1k at 1024 images per batch).", lr=5e-4 * 1024 / 512,
        epoch_length=1251, max_epochs=300, boundaries=[20 * 1251 - 1, 20 * 1251, 21 * 1251, 300 * 1251],
        extra=[e * 1251 + d for e in range(20, 600, 20) for d in (-1, 0, 1)],
        source={"repository": "open-mmlab/mmpretrain",
                "path": "configs/_base_/schedules/imagenet_bs1024_adamw_swin.py",
                "commit": "14ced91f8cd62d995c39432e7a50ac7e3d86bddc"},
        config_file="tests/vectors/configs/mmpretrain_imagenet_bs1024_adamw_swin.py")
    return cases


def _mm_config(name):
    """A committed MMEngine config read the way MMEngine reads it (``Config.fromfile`` executes the file)."""
    from mmengine.config import Config

    cfg = Config.fromfile(str(HERE / "configs" / name))
    return cfg.to_dict()


def _schedule_1x():
    cfg = _mm_config("mmdet_schedule_1x.py")
    assert cfg["train_cfg"]["max_epochs"] == 12 and cfg["optim_wrapper"]["optimizer"]["lr"] == 0.02
    return cfg["param_scheduler"]


def _swin():
    cfg = _mm_config("mmpretrain_imagenet_bs1024_adamw_swin.py")
    assert cfg["train_cfg"]["max_epochs"] == 300 and cfg["optim_wrapper"]["optimizer"]["lr"] == 5e-4 * 1024 / 512
    return cfg["param_scheduler"]


# ------------------------------------------------------------------------------------------------ detectron2
def _d2_reader(path):
    """Read a detectron2 file from a checkout or from a bare git directory (``git show HEAD:...``)."""
    root = Path(path)
    if (root / "detectron2" / "solver" / "lr_scheduler.py").exists():
        def read(rel):
            return (root / rel).read_text(encoding="utf-8")
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
        return read, (rev.stdout.strip() or "unknown")

    def read(rel):
        return subprocess.run(["git", "--git-dir", str(root), "show", f"HEAD:{rel}"], check=True,
                              capture_output=True, text=True).stdout
    rev = subprocess.run(["git", "--git-dir", str(root), "rev-parse", "HEAD"], check=True, capture_output=True,
                         text=True).stdout.strip()
    return read, rev


def _load_detectron2(path):
    """Execute detectron2's solver and config defaults from ``path`` with fvcore, stubbing only
    ``detectron2.config.CfgNode`` and ``detectron2.utils.env.TORCH_VERSION``."""
    import fvcore.common.config
    import torch

    read, rev = _d2_reader(path)

    def module(name, package=False):
        m = types.ModuleType(name)
        if package:
            m.__path__ = []
        sys.modules[name] = m
        return m

    module("detectron2", package=True)
    cfgpkg = module("detectron2.config", package=True)
    cfgpkg.CfgNode = fvcore.common.config.CfgNode
    cfgmod = module("detectron2.config.config")
    cfgmod.CfgNode = fvcore.common.config.CfgNode
    module("detectron2.utils", package=True)
    env = module("detectron2.utils.env")
    env.TORCH_VERSION = tuple(int(x) for x in torch.__version__.split(".")[:2])
    module("detectron2.solver", package=True)
    loaded = {}
    for name, rel in (("detectron2.solver.lr_scheduler", "detectron2/solver/lr_scheduler.py"),
                      ("detectron2.solver.build", "detectron2/solver/build.py"),
                      ("detectron2.config.defaults", "detectron2/config/defaults.py")):
        m = module(name)
        m.__package__ = name.rsplit(".", 1)[0]
        m.__file__ = f"<detectron2 {rev[:12]}>/{rel}"
        exec(compile(read(rel), m.__file__, "exec"), m.__dict__)  # noqa: S102 - detectron2's own source
        loaded[name] = m
    return loaded, read, rev


def gen_detectron2(path, subset=None):
    """detectron2's ``build_lr_scheduler(cfg, optimizer)`` (an ``LRMultiplier`` over fvcore schedulers in a
    ``WarmupParamScheduler``), stepped as detectron2's ``hooks.LRScheduler.after_step`` does: one
    ``scheduler.step()`` after each iteration's ``optimizer.step()``."""
    import importlib.metadata

    import yaml

    mods, read, rev = _load_detectron2(path)
    build_lr_scheduler = mods["detectron2.solver.build"].build_lr_scheduler
    defaults = mods["detectron2.config.defaults"]._C
    version = f"detectron2 git {rev} (fvcore {importlib.metadata.version('fvcore')})"
    lib = "detectron2"
    cases = []

    def run(cid, solver, notes, *, base=None, boundaries=(), extra=(), jump=False, **more):
        if subset is not None and cid not in subset:
            return
        cfg = (base or defaults).clone()
        cfg.defrost()
        cfg.merge_from_other_cfg(type(cfg)({"SOLVER": solver}))
        s = cfg.SOLVER
        probe = Probe(s.BASE_LR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = build_lr_scheduler(cfg, probe.opt)
        length = s.MAX_ITER
        end = 2 * length
        raises = None
        if jump:
            ks = pick_k(end, boundaries, extra=extra)
            check = 5000
            stepped = []
            for _ in range(check + 1):
                stepped.append(probe.update())
                sched.step()
            lrs, kept = [], []
            for k in ks:
                sched.last_epoch = k - 1
                try:
                    sched.step()
                except Exception as e:  # the first k the library cannot compute
                    raises = {"k": k, "error": f"{type(e).__name__}: {e}"}
                    break
                lrs.append(probe.update())
                kept.append(k)
                if k <= check and lrs[-1] != stepped[k]:
                    raise AssertionError(f"{cid}: jumping to k={k} differs from stepping")
            ks = kept
            driver = ("detectron2 loop: optimizer.step(); scheduler.step() per iteration. Stepped for k <= 5000; "
                      "beyond, LRMultiplier.last_epoch is set to k-1 and stepped once (LRMultiplier is a closed "
                      "form of last_epoch; both agree on the stepped prefix)")
        else:
            values = [probe.update()]
            for k in range(1, end + 1):
                try:
                    sched.step()
                except Exception as e:
                    raises = {"k": k, "error": f"{type(e).__name__}: {e}"}
                    break
                values.append(probe.update())
            ks = pick_k(len(values) - 1, boundaries, values, extra=extra)
            lrs = record(values, ks)
            driver = ("detectron2 loop (engine/train_loop.py, hooks.LRScheduler.after_step): optimizer.step(); "
                      "scheduler.step() per iteration, continued past MAX_ITER until the library raises")
        if raises is not None:
            more["raises"] = raises
        cases.append(case(
            f"detectron2.{cid}", lib, version, "detectron2.solver.build_lr_scheduler(cfg, optimizer)",
            {"SOLVER": solver}, interval="step", length=length,
            boundaries=[b for b in boundaries if b <= (ks[-1] if ks else 0)], k=ks, lr=lrs, notes=notes,
            resolved={"SOLVER": {key: (list(v) if isinstance(v, tuple) else v) for key, v in s.items()
                                 if key in ("LR_SCHEDULER_NAME", "BASE_LR", "BASE_LR_END", "MAX_ITER", "STEPS",
                                            "GAMMA", "WARMUP_FACTOR", "WARMUP_ITERS", "WARMUP_METHOD",
                                            "NUM_DECAYS", "RESCALE_INTERVAL")}},
            driver=driver, **more,
        ))

    small = {"BASE_LR": 0.02, "MAX_ITER": 100, "WARMUP_ITERS": 10, "WARMUP_FACTOR": 0.001}
    run("WarmupMultiStepLR.linear", {**small, "LR_SCHEDULER_NAME": "WarmupMultiStepLR", "STEPS": (60, 80)},
        "Linear warmup from WARMUP_FACTOR*BASE_LR to the main schedule's value at WARMUP_ITERS/MAX_ITER; STEPS "
        "are absolute iterations (the warmup is not subtracted). Past MAX_ITER fvcore's MultiStepParamScheduler "
        "raises (where > 1).", boundaries=[10, 60, 80, 100])
    run("WarmupMultiStepLR.constant", {**small, "LR_SCHEDULER_NAME": "WarmupMultiStepLR", "STEPS": (60, 80),
                                       "WARMUP_METHOD": "constant"},
        "WARMUP_METHOD constant: WARMUP_FACTOR*BASE_LR for k < WARMUP_ITERS, then the multistep.",
        boundaries=[10, 60, 80, 100])
    run("WarmupMultiStepLR.step_beyond_max_iter", {**small, "LR_SCHEDULER_NAME": "WarmupMultiStepLR",
                                                   "STEPS": (50, 150), "GAMMA": 0.5},
        "A STEPS value > MAX_ITER is dropped with a logged warning ('SOLVER.STEPS contains values larger than "
        "SOLVER.MAX_ITER. These values will be ignored.'). A value == MAX_ITER raises ValueError in fvcore "
        "('Milestone must be smaller than total number of updates').", boundaries=[10, 50, 100])
    run("WarmupCosineLR.end0", {**small, "LR_SCHEDULER_NAME": "WarmupCosineLR"},
        "Cosine over the whole of [0, MAX_ITER] in fixed (absolute) time; the linear warmup ends at the cosine's "
        "value at WARMUP_ITERS, below BASE_LR. Past MAX_ITER fvcore's cosine keeps going (rises again).",
        boundaries=[10, 100])
    run("WarmupCosineLR.end1e-4", {**small, "LR_SCHEDULER_NAME": "WarmupCosineLR", "BASE_LR_END": 1e-4},
        "BASE_LR_END: the cosine goes to BASE_LR_END / BASE_LR as a multiplier (assert 0 <= end_value <= 1).",
        boundaries=[10, 100])
    run("WarmupStepWithFixedGammaLR.rescale_false", {**small, "LR_SCHEDULER_NAME": "WarmupStepWithFixedGammaLR",
                                                     "NUM_DECAYS": 3, "GAMMA": 0.1},
        "NUM_DECAYS+1 equal steps over [0, MAX_ITER] in absolute time (decays at 25, 50, 75). fvcore's "
        "StepParamScheduler indexes int((where + 1e-6) * 4): at k = MAX_ITER that is 4, an IndexError, which the "
        "scheduler.step() after the last iteration computes.", boundaries=[10, 25, 50, 75])
    run("WarmupStepWithFixedGammaLR.rescale_true", {**small, "LR_SCHEDULER_NAME": "WarmupStepWithFixedGammaLR",
                                                    "NUM_DECAYS": 3, "GAMMA": 0.5, "RESCALE_INTERVAL": True},
        "RESCALE_INTERVAL: the main schedule is squeezed into [WARMUP_ITERS, MAX_ITER] (decays at 10 + 90*i/4 "
        "rounded by where-epsilon: 32.5 -> 33, 55, 77.5 -> 78) and the warmup ends at its value at 0 (1.0).",
        boundaries=[10, 33, 55, 78])
    run("WarmupMultiStepLR.where_epsilon_2M", {"BASE_LR": 0.1, "MAX_ITER": 2000000, "WARMUP_ITERS": 1000,
                                               "LR_SCHEDULER_NAME": "WarmupMultiStepLR", "STEPS": (1500000,)},
        "fvcore compares (k/MAX_ITER + 1e-6) * MAX_ITER: with MAX_ITER = 2e6 that adds 2 iterations, so the "
        "decay happens at k = 1499998, two iterations before STEPS (the warmup switch moves too).",
        boundaries=[998, 1000, 1499998, 1500000, 2000000], jump=True)
    # Base-RCNN-FPN (1x): the real config file merged over the real defaults.
    if subset is None or "Base-RCNN-FPN.1x" in subset:
        base = defaults.clone()
        base.defrost()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = yaml.safe_load(read("configs/Base-RCNN-FPN.yaml"))
        base.merge_from_other_cfg(type(base)(loaded))
        committed = yaml.safe_load((HERE / "configs" / "detectron2_Base-RCNN-FPN_SOLVER.yaml").read_text())
        solver = {key: type(base)._decode_cfg_value(v) for key, v in committed["SOLVER"].items()}
        for key, v in solver.items():
            if base.SOLVER[key] != v:
                raise AssertionError(f"Base-RCNN-FPN SOLVER.{key}: file {base.SOLVER[key]!r}, committed {v!r}")
        run("Base-RCNN-FPN.1x", solver, "configs/Base-RCNN-FPN.yaml (the 1x schedule of e.g. "
            "COCO-Detection/faster_rcnn_R_50_FPN_1x.yaml, which only adds _BASE_ and MODEL keys): BASE_LR 0.02, "
            "STEPS (60000, 80000) absolute, MAX_ITER 90000; warmup from defaults.py (WARMUP_ITERS 1000, "
            "WARMUP_FACTOR 0.001, linear).", base=base, boundaries=[1000, 60000, 80000, 90000],
            source={"repository": "facebookresearch/detectron2", "path": "configs/Base-RCNN-FPN.yaml",
                    "commit": rev},
            config_file="tests/vectors/configs/detectron2_Base-RCNN-FPN_SOLVER.yaml")
    return cases


# ------------------------------------------------------------------------------------------------ timm
def import_timm_scheduler():
    """``timm.scheduler`` without ``timm/__init__.py`` (which needs torchvision): ``timm`` becomes an empty
    package whose ``__path__`` is the installed directory."""
    import importlib.util

    if "timm" not in sys.modules:
        spec = importlib.util.find_spec("timm")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("timm is not installed in this interpreter")
        pkg = types.ModuleType("timm")
        pkg.__path__ = list(spec.submodule_search_locations)
        sys.modules["timm"] = pkg
    import timm.scheduler

    return timm.scheduler


def gen_timm(subset=None):
    """timm schedulers stepped as timm's ``train.py`` does: ``lr_scheduler.step(epoch + 1, metric)`` after each
    epoch, and ``lr_scheduler.step_update(num_updates)`` after each optimizer update (``num_updates`` counted
    from 0 over the whole run, incremented before the call); whichever of the two does not match ``t_in_epochs``
    is a no-op. Update 0 uses the lr the constructor set."""
    import argparse as ap
    import importlib.metadata

    sch = import_timm_scheduler()
    version = importlib.metadata.version("timm")
    lib = "timm"
    cases = []

    def drive(sched, probe, *, epochs, updates_per_epoch=1, per_update=False, deit=False, metrics=None):
        values = []
        num_updates = 0
        for epoch in range(epochs):
            for _ in range(updates_per_epoch if per_update else 1):
                values.append(probe.update())
                num_updates += 1
                sched.step_update(num_updates=num_updates)
            metric = metrics[epoch] if metrics is not None and epoch < len(metrics) else None
            if deit:
                sched.step(epoch)
            else:
                sched.step(epoch + 1, metric)
        return values

    def run(cid, cls, kwargs, notes, *, lr=0.1, length=None, boundaries=(), extra=(), updates_per_epoch=None,
            metrics=None, **more):
        if subset is not None and cid not in subset:
            return
        probe = Probe(lr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = getattr(sch, cls)(probe.opt, **kwargs)
        if length is None:
            length = sched.get_cycle_length()
        per_update = kwargs.get("t_in_epochs", True) is False
        end = 2 * length
        if per_update:
            epochs = -(-(end + 1) // updates_per_epoch)
            values = drive(sched, probe, epochs=epochs, updates_per_epoch=updates_per_epoch, per_update=True)
        else:
            values = drive(sched, probe, epochs=end + 1, metrics=metrics)
        values = values[: end + 1]
        ks = pick_k(end, boundaries, values, extra=extra, dense_limit=700)
        extra_fields = {"steps_per_epoch": updates_per_epoch} if per_update else {}
        if metrics is not None:
            extra_fields["metrics"] = {"name": "eval_metric", "every": 1, "values": metrics}
        cases.append(case(
            f"timm.{cid}", lib, version, f"timm.scheduler.{cls}", {"lr": lr, **kwargs},
            interval="step" if per_update else "epoch", length=length,
            boundaries=[b for b in boundaries if b <= end], k=ks, lr=record(values, ks), notes=notes,
            driver=("train.py: optimizer.step(); num_updates += 1; lr_scheduler.step_update(num_updates) per update"
                    if per_update else "train.py: lr_scheduler.step(epoch + 1, metric) after each epoch; epoch 0 "
                    "uses the constructor's lr"),
            **extra_fields, **more,
        ))

    # -- cosine
    run("cosine.t20.warmup3", "CosineLRScheduler", dict(t_initial=20, lr_min=1e-4, warmup_t=3,
                                                        warmup_lr_init=1e-3),
        "warmup_prefix False (default): the warmup replaces the first warmup_t epochs of the cosine, whose time "
        "still starts at 0 - the ramp targets lr (warmup_lr_init + t*(lr - init)/warmup_t) and at t = warmup_t "
        "jumps onto the cosine already at cos(pi*3/20). cycle_limit 1: lr_min from t = t_initial on.",
        boundaries=[3, 20])
    run("cosine.t20.warmup3.prefix", "CosineLRScheduler", dict(t_initial=20, lr_min=1e-4, warmup_t=3,
                                                               warmup_lr_init=1e-3, warmup_prefix=True),
        "warmup_prefix True: the cosine starts after the warmup (t - warmup_t); length warmup_t + t_initial.",
        boundaries=[3, 23])
    run("cosine.cycles.mul2.decay0.5", "CosineLRScheduler", dict(t_initial=5, cycle_mul=2.0, cycle_decay=0.5,
                                                                 cycle_limit=3, lr_min=0.0),
        "cycle i lasts t_initial*cycle_mul**i (5, 10, 20), peaks lr*cycle_decay**i; i from floor(log(1 - t/t0*(1 - "
        "mul), mul)); lr_min after cycle_limit cycles.", boundaries=[5, 15, 35])
    run("cosine.cycles.mul1.5.limit4", "CosineLRScheduler", dict(t_initial=4, cycle_mul=1.5, cycle_decay=0.8,
                                                                 cycle_limit=4, lr_min=0.001),
        "Fractional cycle_mul: cycle boundaries at 4, 10, 19, 32.5 (t_curr is fractional inside a cycle).",
        boundaries=[4, 10, 19, 32, 33])
    run("cosine.kdecay2", "CosineLRScheduler", dict(t_initial=20, lr_min=0.0, k_decay=2.0),
        "k_decay: cos(pi * t**k / T**k).", boundaries=[20])
    run("cosine.kdecay0.5.warmup2", "CosineLRScheduler", dict(t_initial=16, lr_min=0.001, k_decay=0.5, warmup_t=2,
                                                              warmup_lr_init=0.0),
        "k_decay 0.5 with a (non-prefix) warmup.", boundaries=[2, 16])
    run("cosine.per_update", "CosineLRScheduler", dict(t_initial=60, lr_min=1e-5, warmup_t=12, warmup_lr_init=1e-4,
                                                       t_in_epochs=False),
        "t_in_epochs False: stepped per optimizer update with step_update(num_updates); step(epoch) is a no-op. "
        "(train.py's --sched-on-updates multiplies epochs, warmup epochs, ... by updates_per_epoch.)",
        updates_per_epoch=6, boundaries=[12, 60])
    # -- tanh
    run("tanh.t20", "TanhLRScheduler", dict(t_initial=20, lr_min=1e-4),
        "lr_min + 0.5*(lr - lr_min)*(1 - tanh(lb*(1 - t/T) + ub*t/T)), lb -7, ub 3. Epoch 0 uses the "
        "constructor's lr (exactly lr), not the formula at t=0 (which is 1 - tanh(-7) ~ 1.9999983 / 2 of it).",
        boundaries=[20])
    run("tanh.lb-4.ub4.warmup3.cycles2", "TanhLRScheduler", dict(t_initial=10, lb=-4.0, ub=4.0, lr_min=0.0,
                                                                 warmup_t=3, warmup_lr_init=0.0, cycle_limit=2,
                                                                 cycle_decay=0.5),
        "Without warmup_prefix, tanh's warmup ramps to the tanh curve's value at warmup_t (t_v = _get_lr(warmup_t)),"
        " not to lr (unlike cosine/poly, which ramp to lr).", boundaries=[3, 10, 20])
    # -- step / multistep
    run("step.d5.r0.5.warmup3", "StepLRScheduler", dict(decay_t=5, decay_rate=0.5, warmup_t=3, warmup_lr_init=0.01),
        "warmup_prefix defaults to True for step: lr * decay_rate**((t - warmup_t) // decay_t).", length=25,
        boundaries=[3, 8, 13, 18, 23])
    run("step.d2.4.r0.97", "StepLRScheduler", dict(decay_t=2.4, decay_rate=0.97),
        "Float decay_t: t // 2.4 (Python float floor division) decays at epochs 3, 5, 8, 10, 12, ...", length=20,
        boundaries=[3, 5, 8])
    run("multistep.m5_12.warmup2", "MultiStepLRScheduler", dict(decay_t=[5, 12], decay_rate=0.1, warmup_t=2,
                                                                warmup_lr_init=0.001),
        "Milestones are compared with t + 1 (bisect_right(decay_t, t + 1)): milestone m applies at t = m - 1; "
        "t excludes the warmup (warmup_prefix True): decays at epochs 2 + 4 = 6 and 2 + 11 = 13.", length=16,
        boundaries=[2, 6, 13])
    run("multistep.m1_3", "MultiStepLRScheduler", dict(decay_t=[1, 3], decay_rate=0.5),
        "By the formula milestone 1 applies at t = 0 (1 <= 0 + 1), but epoch 0 uses the lr the constructor set "
        "(base lr, undecayed): epoch 0 is lr, epoch 1 lr/2 (milestone 1), epoch 2 lr/4 (milestone 3 at t = 2).",
        length=6, boundaries=[1, 2, 3])
    run("multistep.repeated_milestone.warmup2", "MultiStepLRScheduler", dict(decay_t=[3, 3, 7], decay_rate=0.5,
                                                                             warmup_t=2, warmup_lr_init=0.01),
        "A repeated milestone counts once per repetition (bisect_right on the sorted list): two decays at once at "
        "t = 2 + 3 - 1 = 4, a third at 2 + 7 - 1 = 8. (An unsorted decay_t is bisected as written, which timm "
        "assumes sorted: schedspec refuses it.)", length=12, boundaries=[2, 4, 8])
    # -- poly
    run("poly.t20.default", "PolyLRScheduler", dict(t_initial=20),
        "Defaults power 0.5, lr_min 0: (1 - t/T)**0.5.", boundaries=[20])
    run("poly.t16.p2.kdecay1.5.warmup2", "PolyLRScheduler", dict(t_initial=16, power=2.0, lr_min=1e-4, k_decay=1.5,
                                                                 warmup_t=2, warmup_lr_init=1e-3,
                                                                 warmup_prefix=True),
        "(1 - t**k / T**k)**power with k_decay 1.5, warmup prefixed.", boundaries=[2, 18])
    # -- plateau
    reports = [0.5, 0.6, 0.62, 0.61, 0.615, 0.60, 0.7, 0.69, 0.695, 0.70, 0.69, 0.69, 0.7, 0.71, 0.70, 0.70,
               0.70, 0.70, 0.70, 0.70, 0.70]
    run("plateau.max.p2.warmup2", "PlateauLRScheduler", dict(decay_rate=0.5, patience_t=2, warmup_t=2,
                                                             warmup_lr_init=0.01, mode="max"),
        "torch ReduceLROnPlateau(mode, factor=decay_rate, patience=patience_t, threshold, cooldown=cooldown_t, "
        "min_lr=lr_min) fed step(epoch + 1, metric) after each epoch; mode defaults to 'max' (accuracy). While "
        "epoch <= warmup_t (note <=) step sets the warmup lr and ignores the metric. Deprecated in timm (a "
        "FutureWarning at construction).", length=10, metrics=reports[:20], boundaries=[2])
    # the metric of epoch W - 1 is fed with step(W) (W <= warmup_t: dropped); counted, its 0.99 would make every
    # later report a bad one and reduce at epoch 5
    ignored = [0.1, 0.2, 0.99, 0.5, 0.55, 0.6, 0.6, 0.605, 0.62, 0.62, 0.62, 0.62, 0.7, 0.7, 0.7, 0.7, 0.7, 0.71,
               0.71, 0.71, 0.72, 0.72, 0.72, 0.72]
    run("plateau.warmup3.metric_ignored", "PlateauLRScheduler", dict(decay_rate=0.1, patience_t=1, warmup_t=3,
                                                                     warmup_lr_init=0.001),
        "warmup_t 3: the reports of epochs 0, 1, 2 are fed with step(1), step(2), step(3), all <= warmup_t, and "
        "dropped (the 0.99 of epoch 2 included: counted, every later report would be a bad one); report 3 is the "
        "first counted. The plateau multiplies the warmup's last value (0.001 + 3 * (0.1 - 0.001) / 3).",
        length=12, metrics=ignored, boundaries=[3])
    losses = [1.0, 0.9, 0.895, 0.894, 0.7, 0.7, 0.7, 0.7, 0.65, 0.649, 0.649, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,
              0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    run("plateau.min.cooldown2.threshold0.01.lr_min", "PlateauLRScheduler",
        dict(decay_rate=0.5, patience_t=1, cooldown_t=2, threshold=0.01, lr_min=0.02, mode="min"),
        "mode min, threshold 0.01 (rel): a loss must fall below best * 0.99 to count as better (0.895 after 0.9 is "
        "a bad epoch); patience_t 1: the second bad epoch in a row reduces; cooldown_t 2: the two reports after a "
        "reduction count no bad epochs; lr_min 0.02 clamps the third reduction (0.025 -> 0.02), then no change. "
        "No warmup: every report is counted.", length=14, metrics=losses, boundaries=[])
    flat = [0.3] * 24
    run("plateau.eps_floor.patience0", "PlateauLRScheduler",
        dict(decay_rate=0.5, patience_t=0, lr_min=0.025 - 5e-9),
        "patience_t 0: every bad report reduces (the first report is better than -inf). lr_min 0.025 - 5e-9: the "
        "reduction from 0.025 would be to 0.025 - 5e-9, less than torch's eps 1e-8 below: not applied (torch "
        "ReduceLROnPlateau: `if old_lr - new_lr > eps`), the lr stays 0.025.", length=12, metrics=flat,
        boundaries=[])
    negative = [-5.0, -1.0, -0.995, -0.99, -0.9, -0.9, -0.9, -1.2, -1.19, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0,
                -1.0, -1.0, -1.0, -1.0]
    run("plateau.min.negative_metric.threshold0.01", "PlateauLRScheduler",
        dict(decay_rate=0.5, patience_t=1, threshold=0.01, mode="min", warmup_t=1, warmup_lr_init=0.05),
        "mode min with a negative metric: torch's rel threshold compares a < best * (1 - threshold), which for a "
        "negative best lets a slightly worse loss count as better: after best -1.0, -0.995 is better (< -0.99), "
        "then -0.99 (< -0.98505), and the first reduction waits for -0.9 twice (epoch 6). warmup_t 1: report 0 "
        "(-5.0, fed with step(1)) is dropped.", length=10, metrics=negative, boundaries=[1])
    # -- wsd (timm's own; not in issue 11's list)
    run("wsd.1-sqrt", "WSDLRScheduler", dict(t_initial=20, decay_t=6, lr_min=1e-5, warmup_t=4, warmup_lr_init=0.0),
        "timm WSDLRScheduler: warmup always a prefix; decay 1 - sqrt(frac) over the last decay_t of t_initial; "
        "lr_min reached at warmup_t + t_initial (one step past the last scheduled epoch).", boundaries=[4, 18, 24])
    run("wsd.rsqrt.linear", "WSDLRScheduler", dict(t_initial=20, decay_t=5, stable_fn="rsqrt", decay_fn="linear",
                                                   warmup_t=4, warmup_lr_init=0.0),
        "stable_fn rsqrt (timescale = warmup_t): (1 + t_s/4)**-0.5, then a linear cooldown of that.",
        boundaries=[4, 19, 24])
    # -- real recipes
    if subset is None or "recipe.seresnet34.cosine150" in subset:
        args = _timm_train_defaults(ap)
        args.sched, args.epochs, args.warmup_epochs, args.lr = "cosine", 150, 5, 0.4
        _timm_recipe(cases, sch, version, "recipe.seresnet34.cosine150", args, deit=False,
                     notes="timm docs ImageNet recipe: ./distributed_train.sh 4 --model seresnet34 --sched cosine "
                           "--epochs 150 --warmup-epochs 5 --lr 0.4 (train.py defaults: warmup_lr 1e-5, min_lr 0, "
                           "cooldown 0, warmup_prefix False) via create_scheduler(args).",
                     source={"repository": "huggingface/pytorch-image-models",
                             "path": "hfdocs/source/training_script.mdx (defaults: train.py)"},
                     config_file="tests/vectors/configs/timm_seresnet34_args.yaml", drive=drive,
                     boundaries=[5, 150])
    if subset is None or "recipe.efficientnet_b2.step" in subset:
        args = _timm_train_defaults(ap)
        args.sched, args.epochs, args.decay_epochs, args.decay_rate = "step", 450, 2.4, 0.97
        args.warmup_lr, args.lr = 1e-6, 0.016
        _timm_recipe(cases, sch, version, "recipe.efficientnet_b2.step", args, deit=False,
                     notes="timm docs ImageNet recipe: --model efficientnet_b2 -b 128 --sched step --epochs 450 "
                           "--decay-epochs 2.4 --decay-rate .97 --warmup-lr 1e-6 --lr .016 (warmup_epochs default "
                           "5, prefixed for step: decays at 5 + t with t // 2.4).",
                     source={"repository": "huggingface/pytorch-image-models",
                             "path": "hfdocs/source/training_script.mdx (defaults: train.py)"},
                     config_file="tests/vectors/configs/timm_efficientnet_b2_args.yaml", drive=drive,
                     boundaries=[5, 8, 10])
    if subset is None or "recipe.deit_small.main_py" in subset:
        args = _deit_defaults(ap)
        _timm_recipe(cases, sch, version, "recipe.deit_small.main_py", args, deit=True,
                     notes="DeiT main.py defaults (--sched cosine --epochs 300 --warmup-epochs 5 --warmup-lr 1e-6 "
                           "--min-lr 1e-5 --cooldown-epochs 10, lr 5e-4 scaled by batch 256 x 4 GPUs / 512 = 1e-3) "
                           "through timm's create_scheduler. DeiT's loop calls lr_scheduler.step(epoch) at the end "
                           "of epoch `epoch` (not epoch + 1 like timm's train.py): epoch e >= 1 uses the formula at "
                           "e - 1, epochs 0 and 1 both use warmup_lr. DeiT trains args.epochs = 300 (the 310 "
                           "create_scheduler returns is ignored).",
                     source={"repository": "facebookresearch/deit", "path": "main.py",
                             "commit": "7e160fe43f0252d17191b71cbb5826254114ea5b"},
                     config_file="tests/vectors/configs/deit_main_args.yaml", drive=drive, length=300,
                     boundaries=[5, 6, 300, 301])
    return cases


def _timm_train_defaults(ap):
    """The scheduler-related defaults of timm's train.py argument parser."""
    return ap.Namespace(sched="cosine", sched_on_updates=False, lr=None, lr_noise=None, lr_noise_pct=0.67,
                        lr_noise_std=1.0, lr_cycle_mul=1.0, lr_cycle_decay=0.5, lr_cycle_limit=1, lr_k_decay=1.0,
                        warmup_lr=1e-5, min_lr=0.0, epochs=300, decay_milestones=[90, 180, 270], decay_epochs=90,
                        warmup_epochs=5, warmup_prefix=False, cooldown_epochs=0, patience_epochs=10,
                        decay_rate=0.1, eval_metric="top1", seed=42)


def _deit_defaults(ap):
    """DeiT main.py's scheduler arguments (its parser has no lr_cycle_*/warmup_prefix: timm's defaults apply)."""
    return ap.Namespace(sched="cosine", lr=5e-4 * 256 * 4 / 512.0, lr_noise=None, lr_noise_pct=0.67,
                        lr_noise_std=1.0, warmup_lr=1e-6, min_lr=1e-5, epochs=300, decay_epochs=30,
                        warmup_epochs=5, cooldown_epochs=10, patience_epochs=10, decay_rate=0.1, seed=0)


def _timm_recipe(cases, sch, version, cid, args, *, deit, notes, source, config_file, drive, boundaries,
                 length=None):
    probe = Probe(args.lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched, num_epochs = sch.create_scheduler(args, probe.opt)
    length = num_epochs if length is None else length
    end = 2 * length
    values = drive(sched, probe, epochs=end + 1, deit=deit)
    ks = pick_k(end, boundaries, values, dense_limit=700)
    cfg = {k: v for k, v in vars(args).items()}
    cases.append(case(
        f"timm.{cid}", "timm", version, "timm.scheduler.create_scheduler(args)", cfg, interval="epoch",
        length=length, boundaries=boundaries, k=ks, lr=record(values, ks), notes=notes,
        resolved={"num_epochs": num_epochs, "scheduler": type(sched).__name__},
        driver=("DeiT main.py: lr_scheduler.step(epoch) after each epoch" if deit else
                "train.py: lr_scheduler.step(epoch + 1, metric) after each epoch"),
        source=source, config_file=config_file,
    ))


# ------------------------------------------------------------------------------------------------ main
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", action="append", choices=LIBRARIES, help="regenerate these libraries only")
    p.add_argument("--out", type=Path, default=HERE, help="output directory (default: tests/vectors)")
    p.add_argument("--detectron2", default=os.environ.get("SCHEDSPEC_DETECTRON2"),
                   help="detectron2 checkout or bare git directory (env SCHEDSPEC_DETECTRON2)")
    p.add_argument("--timm-python", default=os.environ.get("SCHEDSPEC_TIMM_PYTHON"),
                   help="python of a side environment with timm --no-deps (env SCHEDSPEC_TIMM_PYTHON)")
    a = p.parse_args(argv)
    todo = a.only or list(LIBRARIES)
    a.out.mkdir(parents=True, exist_ok=True)
    for lib in todo:
        if lib == "transformers":
            cases = gen_transformers()
            dump(a.out / "transformers.json", cases)
            (run_clm,) = [c for c in cases if c["id"] == "transformers.run_clm.defaults"]
            fields = {key: v for key, v in run_clm["config"].items() if key != "steps_per_epoch"}
            (HERE / "configs" / "hf_run_clm_training_args.json").write_text(json.dumps(fields, indent=2) + "\n")
        elif lib == "mmengine":
            dump(a.out / "mmengine.json", gen_mmengine())
        elif lib == "detectron2":
            if not a.detectron2:
                p.error("detectron2 needs --detectron2 PATH (a checkout or its git directory)")
            dump(a.out / "detectron2.json", gen_detectron2(a.detectron2))
        elif lib == "timm":
            try:
                import_timm_scheduler()
            except ImportError:
                if not a.timm_python:
                    p.error("timm is not importable here: pass --timm-python (see the docstring)")
                subprocess.run([a.timm_python, str(Path(__file__).resolve()), "--only", "timm", "--out",
                                str(a.out.resolve())], check=True)
                continue
            dump(a.out / "timm.json", gen_timm())


if __name__ == "__main__":
    main()
