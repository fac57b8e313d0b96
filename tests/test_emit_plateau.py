"""``schedspec.emit`` / ``schedspec compile`` of specs with a ``plateau`` (metric-driven).

The emitted torch scheduler takes metric reports exactly like ``schedspec.to_torch`` (``scheduler.report``,
``scheduler.step(metrics=v)``, reports in ``state_dict``, an update that waits for a report refused); the emitted jax
``schedule(step, metrics=...)`` takes them like ``schedspec.to_jax``. Checked against torch's native
``ReduceLROnPlateau`` (same lrs, same reduction epochs: the float64 decisions are the same operations), against
``to_torch`` (bit for bit: the same formulas on Python floats), and against ``schedspec.evaluate``.

Tolerances (docs/language.md, Parity): float64 ``1e-12*peak + 1e-10*|b|``; float32 ``1e-6*peak + 1e-5*|b|``. Synthetic metrics
keep a margin >= 1e-5 from every threshold, so float32 (jax) decides as float64 does.
"""

from __future__ import annotations

import ast
import importlib.util
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import schedspec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import (
        CONFIGS,
        SEQUENCES,
        assert_f32,
        assert_f64,
        changes,
        changes_rel,
        load_module,
        native_torch,
        plateau_spec,
        sgd_update,
    )
except ImportError:
    from helpers import (
        CONFIGS,
        SEQUENCES,
        assert_f32,
        assert_f64,
        changes,
        changes_rel,
        load_module,
        native_torch,
        plateau_spec,
        sgd_update,
    )

COMPOSED = """\
schedspec: 1
name: composed
steps_per_epoch: 10
total: 30ep
lr:
  - {kind: linear, duration: 5ep, start: 0.0, end: 0.1}
  - {kind: plateau, duration: 15ep, monitor: val_loss, patience: 3, factor: 0.5, min: 1.0e-5}
  - {kind: cosine, end: 0.0}
"""
COMPOSED_METRICS = list(np.r_[np.linspace(2.0, 1.0, 8), np.ones(22)])


def emitted(spec, target: str, tmp_path: Path):
    return load_module(schedspec.emit(spec, target), tmp_path)


def run_documented_loop(torch, build_scheduler, metrics, steps_per_report=1, report_first=False, groups=(1.0,)):
    """Step a real SGD: per update, gradient 1 on a parameter reset to 0 (so it moves by exactly -lr), then
    ``scheduler.step()``; ``scheduler.report("val_loss", m)`` at the end of each interval (just before the interval's
    last ``scheduler.step()`` with ``report_first``, else just after it). Returns the applied lrs per update and
    group, the scheduler and the optimizer."""
    params = [torch.zeros(1, dtype=torch.float64, requires_grad=True) for _ in groups]
    opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, groups)], lr=groups[0])
    sched = build_scheduler(opt)
    applied = []
    for m in metrics:
        for i in range(steps_per_report):
            applied.append(sgd_update(opt, params))
            if report_first and i == steps_per_report - 1:
                sched.report("val_loss", m)
            sched.step()
        if not report_first:
            sched.report("val_loss", m)
    return np.asarray(applied), sched, opt


# ------------------------------------------------------------------------------------------------ torch vs native
@pytest.mark.parametrize("seq", sorted(SEQUENCES))
@pytest.mark.parametrize("cfg", sorted(CONFIGS))
def test_emitted_torch_matches_native_reduce_lr_on_plateau(seq, cfg, tmp_path):
    """The drop-in loop (``scheduler.step(metrics=v)`` once per epoch) gives the lrs of torch's ReduceLROnPlateau,
    bit for bit, and the lr a real SGD applied is that lr."""
    torch = pytest.importorskip("torch")
    metrics, config = SEQUENCES[seq], CONFIGS[cfg]
    ref = native_torch(metrics, config)
    mod = emitted(plateau_spec(config), "torch", tmp_path)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=0.1)
    sched = mod.build_scheduler(opt)
    lrs = []
    for m in metrics:
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(metrics=m)
    assert lrs == ref
    assert changes(lrs) == changes(ref)
    applied, _, _ = run_documented_loop(torch, mod.build_scheduler, metrics)
    assert_f64(applied[:, 0], ref, "lr applied by SGD (report after step)")
    assert [mod.value(k, {"val_loss": metrics}) for k in range(len(metrics))] == ref


def test_report_before_or_after_the_intervals_last_step_and_every(tmp_path):
    """Step interval, one report per 4 steps: a reduction decided at report j applies from k = 4(j + 1), whether
    the report comes just before or just after the interval's last scheduler.step()."""
    torch = pytest.importorskip("torch")
    spec = {"schedspec": 1, "lr": {"kind": "plateau", "start": 1.0, "monitor": "val_loss", "patience": 0,
                                   "factor": 0.5, "every": 4}}  # fmt: skip
    metrics = [1.0, 2.0, 0.5, 0.5, 0.5]
    mod = emitted(spec, "torch", tmp_path)
    after, _, _ = run_documented_loop(torch, mod.build_scheduler, metrics, steps_per_report=4)
    before, _, _ = run_documented_loop(torch, mod.build_scheduler, metrics, steps_per_report=4, report_first=True)
    ref = np.repeat(native_torch(metrics, dict(patience=0, factor=0.5), start=1.0), 4)
    np.testing.assert_array_equal(after[:, 0], ref)
    np.testing.assert_array_equal(before[:, 0], ref)
    assert changes(after[:, 0]) == [8, 16]


# ------------------------------------------------------------------------------------------------ composed
def test_composed_emitted_torch_equals_to_torch_and_evaluate(tmp_path):
    """warmup -> plateau -> cosine cooldown from whatever the plateau reached: emitted torch == to_torch (bit for
    bit, every update, two param groups) == evaluate(float64)."""
    torch = pytest.importorskip("torch")
    spec = schedspec.loads(COMPOSED)
    mod = emitted(spec, "torch", tmp_path)
    ours, sched, _ = run_documented_loop(torch, mod.build_scheduler, COMPOSED_METRICS, 10, groups=(1.0, 0.25))

    def adapter(opt):
        return schedspec.to_torch(spec, opt)

    theirs, _, _ = run_documented_loop(torch, adapter, COMPOSED_METRICS, 10, groups=(1.0, 0.25))
    np.testing.assert_array_equal(ours, theirs)
    ref = schedspec.evaluate(spec, np.arange(301), metrics={"val_loss": COMPOSED_METRICS}, dtype="float64")
    assert_f64(ours[:, 0], ref[:300], "emitted torch vs evaluate")
    assert_f64(ours[:, 1], 0.25 * ref[:300], "group 1 keeps its ratio")
    assert changes_rel(ours[:, 0], 1e-9) == changes_rel(ref[:300], 1e-9)
    assert ours[200, 0] < 0.1  # the cooldown starts from the plateau's final value (after its last report)
    assert_f64([mod.value(k, {"val_loss": COMPOSED_METRICS}) for k in range(301)], ref, "value(k, metrics)")
    assert sched.get_last_lr()[0] == pytest.approx(ref[300], abs=1e-15)


def test_resume_mid_plateau_is_exact(tmp_path):
    torch = pytest.importorskip("torch")
    spec = schedspec.loads(COMPOSED)
    mod = emitted(spec, "torch", tmp_path)
    metrics = COMPOSED_METRICS
    continuous, _, _ = run_documented_loop(torch, mod.build_scheduler, metrics, 10)
    first, sched, opt = run_documented_loop(torch, mod.build_scheduler, metrics[:12], 10)
    state = {"opt": opt.state_dict(), "sched": sched.state_dict()}
    assert set(state["sched"]) == {"last_epoch", "_step_count", "base_lrs", "_last_lr", "schedspec_reports",
                                   "schedspec_fingerprint", "schedspec_hparam"}  # fmt: skip
    assert state["sched"]["schedspec_reports"] == {"val_loss": metrics[:12]}
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt2 = torch.optim.SGD([p], lr=1.0)
    sched2 = mod.build_scheduler(opt2)
    opt2.load_state_dict(state["opt"])
    sched2.load_state_dict(state["sched"])
    rest = []
    for m in metrics[12:]:
        for _ in range(10):
            p.grad = torch.ones_like(p)
            with torch.no_grad():
                p.zero_()
            opt2.step()
            rest.append(-float(p.detach()))
            sched2.step()
        sched2.report("val_loss", m)
    assert first[:, 0].tolist() + rest == continuous[:, 0].tolist()  # resume == continuous, bit for bit
    # a state saved by schedspec.to_torch (same reports key) loads too; a state without reports does not
    opt3 = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    adapter = schedspec.to_torch(spec, opt3)
    for e in range(3):
        for _ in range(10):
            opt3.step()
            adapter.step()
        adapter.report("val_loss", metrics[e])
    sched3 = mod.build_scheduler(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0))
    sched3.load_state_dict(adapter.state_dict())
    assert sched3.reports == {"val_loss": metrics[:3]} and sched3.last_epoch == 30
    with pytest.raises(ValueError, match="no metric reports of val_loss"):
        sched3.load_state_dict({k: v for k, v in sched.state_dict().items() if k != "schedspec_reports"})
    other = schedspec.to_torch(plateau_spec(CONFIGS["default"]), torch.optim.SGD([torch.zeros(1)], lr=1.0))
    with pytest.raises(ValueError, match=f"saved from a different schedule \\(fingerprint {other.fingerprint}, `lr`\\); "
                                         f"this module runs fingerprint {spec.fingerprint}"):  # fmt: skip
        sched3.load_state_dict(other.state_dict())


def test_missing_report_refuses_the_update(tmp_path):
    torch = pytest.importorskip("torch")
    mod = emitted(schedspec.loads(COMPOSED), "torch", tmp_path)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = mod.build_scheduler(opt)
    for e in range(6):
        for _ in range(10):
            opt.step()
            sched.step()
        if e < 5:
            sched.report("val_loss", 1.0)
    with pytest.raises(
        RuntimeError, match=r"update 60 uses the value after 6 reports of 'val_loss' \(one per 10 steps\), but 5 were "
                            r"given: call scheduler.report\('val_loss', value\)"):  # fmt: skip
        opt.step()
    sched.report("val_loss", 1.0)  # the late report writes the lr; the update may now run
    assert opt.param_groups[0]["lr"] == 0.1 and sched.get_last_lr() == [0.1]
    opt.step()
    with pytest.raises(ValueError, match=r"report #7 of 'val_loss'.*interval 7.*at step 60 \(interval 6\)"):
        sched.report("val_loss", 1.0)
        sched.report("val_loss", 1.0)
    with pytest.raises(ValueError, match=r"no plateau of this schedule monitors 'val_los' \(monitored: val_loss\)"):
        sched.report("val_los", 1.0)
    # torch's deprecated explicit epoch cannot move it (a positional argument is the metric report)
    with pytest.raises(ValueError, match=r"step\(metrics=value\).*cannot move a schedule driven by reports"):
        sched.step(epoch=5)
    with pytest.raises(ValueError, match="monitors 'acc'"):
        mod.value(3, {"acc": [1.0]})
    assert math.isnan(mod.value(60, {"val_loss": [1.0] * 5}))  # value(k) needs report #5: unknown, never a guess
    assert mod.value(59, {"val_loss": [1.0] * 5}) == 0.1


# ------------------------------------------------------------------------------------------------ jax
def test_emitted_jax_matches_evaluate_jit_vmap_and_errors(tmp_path):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    spec = schedspec.loads(COMPOSED)
    mod = emitted(spec, "jax", tmp_path)
    k = np.arange(301)
    m = {"val_loss": COMPOSED_METRICS}
    ref32 = schedspec.evaluate(spec, k, metrics=m)
    ref64 = schedspec.evaluate(spec, k, metrics=m, dtype="float64")
    jitted = jax.jit(lambda k, r: mod.schedule(k, metrics={"val_loss": r}))
    np.testing.assert_array_equal(np.asarray(jitted(k, jnp.asarray(COMPOSED_METRICS))), ref32)
    assert_f32(np.asarray(mod.schedule(k, metrics=m)), ref32, "eager")
    assert_f32(np.asarray(mod.schedule(k, metrics=m)), ref64, "eager vs float64")
    assert changes_rel(np.asarray(mod.schedule(k, metrics=m)), 1e-5) == changes_rel(ref64, 1e-5)
    with jax.enable_x64(True):  # under x64 the module computes in float64, like evaluate(dtype="float64")
        assert_f64(np.asarray(mod.schedule(k, metrics=m)), ref64, "x64")
    # vmap over metric sequences; traced reports; a missing report under jit is NaN, eager a ValueError
    batch = jnp.stack([jnp.asarray(COMPOSED_METRICS), jnp.linspace(2.0, 0.5, 30)])
    out = jax.vmap(lambda r: mod.schedule(199, metrics={"val_loss": r}))(batch)
    assert float(out[0]) < 0.1 and float(out[1]) == pytest.approx(0.1)
    assert math.isnan(float(jitted(60, jnp.ones(5))))
    assert float(jitted(59, jnp.ones(5))) == pytest.approx(0.1)
    assert float(mod.schedule(59)) == pytest.approx(0.1)  # no report needed yet: none required
    with pytest.raises(ValueError, match=r"the value at step 60 needs 6 reports of 'val_loss'.*but 5 were given"):
        mod.schedule(np.arange(61), metrics={"val_loss": [1.0] * 5})
    with pytest.raises(ValueError, match=r"no plateau of this schedule monitors 'val_los'"):
        mod.schedule(0, metrics={"val_los": [1.0]})
    with pytest.raises(ValueError, match="1-D"):
        mod.schedule(0, metrics={"val_loss": 1.0})
    with pytest.raises(ValueError, match=r"k must be in \[0, 2\*\*31-1\]"):  # concrete: refused, as evaluate
        mod.schedule(-5, metrics=m)
    assert float(jitted(-5, jnp.asarray(COMPOSED_METRICS))) == float(mod.schedule(0, metrics=m))  # traced: clamped


def test_emitted_jax_epoch_spec_counts_optimizer_steps(tmp_path):
    pytest.importorskip("jax")
    cfg = dict(patience=1, factor=0.5, cooldown=1)
    spec = schedspec.load(plateau_spec(cfg, steps_per_epoch=3))
    metrics = SEQUENCES["noisy"]
    mod = emitted(spec, "jax", tmp_path)
    steps = np.arange(3 * len(metrics))
    ref = schedspec.evaluate(spec, steps // 3, metrics={"val_loss": metrics}, dtype="float64")
    assert_f32(np.asarray(mod.schedule(steps, metrics={"val_loss": metrics})), ref, "epoch = step // 3")
    assert "# The spec counts epochs: step k uses the value at epoch k // 3." in schedspec.emit(spec, "jax")


# ------------------------------------------------------------------------------------------------ structures
STRUCTURES = {
    # a plateau as a factor, scaled and clipped: its parts begin where the combinator does
    "product": """\
lr:
  - {kind: constant, value: 0.2, duration: 6}
  - kind: product
    of:
      - {kind: plateau, start: 1.0, monitor: val_loss, patience: 1, factor: 0.5, every: 3, duration: 30}
      - {kind: cosine, start: 0.5, end: 0.05, duration: 24}
  - {kind: linear, end: 0.0, duration: 9}
""",
    "scale_clip": """\
lr:
  - kind: clip
    min: 0.01
    of: {kind: scale, by: 0.5, of: {kind: plateau, start: 0.2, monitor: val_loss, patience: 0, factor: 0.5, every: 2}}
""",
    # plateau -> plateau (the second starts from the first's final value), then a constant carrying it on
    "chained": """\
lr:
  - {kind: linear, start: 0.0, end: 0.1, duration: 4}
  - {kind: plateau, monitor: val_loss, patience: 1, factor: 0.5, every: 2, duration: 16}
  - {kind: plateau, monitor: val_loss, patience: 0, factor: 0.8, every: 2, cooldown: 1, duration: 14}
  - {kind: constant, duration: 6}
  - {kind: exponential, gamma: 0.9}
""",
    # two metrics with their own clocks; the cooldown restarts, starting from the plateau's value
    "two_metrics": """\
lr:
  - {kind: plateau, start: 0.1, monitor: val_loss, patience: 1, factor: 0.5, every: 3, duration: 21}
  - {kind: plateau, monitor: val_acc, mode: max, patience: 0, factor: 0.5, every: 2, duration: 12,
     threshold: 0.01, threshold_mode: abs}
  - {kind: repeat, times: 2, of: {kind: cosine, end: 0.0, duration: 5}}
""",
    "native_torch_kind": """\
lr:
  - {kind: linear, start: 0.01, end: 0.1, duration: 5}
  - {kind: torch.ReduceLROnPlateau, monitor: val_loss, patience: 2, factor: 0.1, cooldown: 1, min_lr: 0.0005}
""",
}


def structure_metrics(spec, n: int) -> dict:
    """Synthetic reports for every monitored metric: noisy, slowly improving, with flat stretches."""
    out = {}
    for i, name in enumerate(schedspec._metrics.monitors(spec.program)):
        r = np.random.default_rng(7 + i)
        base = 1.0 - 0.002 * np.arange(n) + np.round(0.03 * r.standard_normal(n), 2)
        base[n // 3 : n // 2] = base[n // 3]
        out[name] = list(base if "acc" not in name else 1.0 - base)
    return out


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_structures_torch_and_jax_equal_evaluate(name, tmp_path):
    """Plateaus in combinators, chained, carried into later phases, with two metrics: emitted torch (value() and a
    real SGD with reports) and emitted jax against evaluate."""
    torch = pytest.importorskip("torch")
    jax = pytest.importorskip("jax")
    spec = schedspec.loads("schedspec: 1\n" + STRUCTURES[name], f"{name}.yaml")
    n_k = 60
    metrics = structure_metrics(spec, n_k)
    k = np.arange(n_k)
    ref64 = schedspec.evaluate(spec, k, metrics=metrics, dtype="float64")
    ref32 = schedspec.evaluate(spec, k, metrics=metrics)
    torch_mod = emitted(spec, "torch", tmp_path)
    assert_f64([torch_mod.value(int(i), metrics) for i in k], ref64, f"{name}: torch value(k, metrics)")
    # the scheduler, stepped per update, each metric reported at the end of each of its intervals
    every = dict(torch_mod._REPORTS)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = torch_mod.build_scheduler(opt)
    lrs = []
    for i in range(n_k):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        for metric, e in every.items():
            if (i + 1) % e == 0:
                sched.report(metric, metrics[metric][i // e])
    assert_f64(lrs, ref64, f"{name}: torch scheduler")
    adapter_lrs = []
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    adapter = schedspec.to_torch(spec, opt)
    for i in range(n_k):
        adapter_lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        adapter.step()
        for metric, e in every.items():
            if (i + 1) % e == 0:
                adapter.report(metric, metrics[metric][i // e])
    assert lrs == adapter_lrs, f"{name}: emitted torch vs to_torch"
    jax_mod = emitted(spec, "jax", tmp_path)
    out = jax.jit(lambda k, m: jax_mod.schedule(k, metrics=m))(k, {n: np.asarray(v) for n, v in metrics.items()})
    assert_f32(np.asarray(out), ref32, f"{name}: jax jit")
    assert_f32(np.asarray(out), ref64, f"{name}: jax vs float64")
    fn = schedspec.to_jax(spec)
    assert_f32(np.asarray(jax_mod.schedule(k, metrics=metrics)), np.asarray(fn(k, metrics=metrics)), "to_jax")


def test_plateau_modules_are_formatted_and_lint_clean(tmp_path):
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed")
    specs = {name: schedspec.loads("schedspec: 1\n" + text) for name, text in STRUCTURES.items()}
    specs["composed"] = schedspec.loads(COMPOSED)
    specs["epoch"] = schedspec.load(plateau_spec(CONFIGS["max_abs"], steps_per_epoch=4))
    for name, spec in specs.items():
        for target in ("torch", "jax"):
            (tmp_path / f"{name}_{target}.py").write_text(schedspec.emit(spec, target))
    ruff = [sys.executable, "-m", "ruff"]
    fmt = subprocess.run([*ruff, "format", "--isolated", "--line-length", "110", "--diff", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    lint = subprocess.run([*ruff, "check", "--isolated", "--line-length", "110", "--select", "E,F,W,I,B,UP",
                           "--ignore", "E501", str(tmp_path)], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr


# ------------------------------------------------------------------------------------------------ refusals
@pytest.mark.parametrize(("target", "adapter"), [("keras", r"schedspec.to_keras\(spec\).*callback\(\)"),
                                                 ("optax", r"schedspec.adapters.optax.inject\(spec")])  # fmt: skip
def test_keras_and_optax_refuse_naming_the_runtime_adapter(target, adapter):
    text = "schedspec: 1\nsteps_per_epoch: 10\nlr:\n  - {kind: linear, start: 0.0, end: 0.1, duration: 20}\n" \
           "  - {kind: plateau, monitor: val_loss}\n"  # fmt: skip
    with pytest.raises(schedspec.SpecError) as err:
        schedspec.emit(schedspec.loads(text, file="run.yaml"), target)
    (issue,) = err.value.issues
    assert (issue.file, issue.line, issue.path) == ("run.yaml", 5, "lr[1]")
    assert f"`schedspec compile --to {target}`" in issue.message and re.search(adapter, issue.message)


# ------------------------------------------------------------------------------------------------ strings, standalone
EVIL = [
    'it\'s "quoted" \'\'\' and """ triple',
    "line one\nimport os; os.system('touch pwned')",
    "back\\slash\\\nstill a comment? __import__('os').system('touch pwned')",
    "\u2028__import__('os').system('touch pwned')\u2029 form\x0cfeed\x00nul \x85 nel",
    "unicode: λ→∞ ✓ 日本語 \u202e)'denwp' hcuot'(metsys.)'so'(__tropmi__ \ud800",
    '"""\n__import__(\'os\').system(\'touch pwned\')\n"""',
]


@pytest.mark.parametrize("target", ["torch", "jax"])
def test_strings_from_a_plateau_spec_never_become_code(target, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def doc(**top):
        return {"schedspec": 1, "steps_per_epoch": 2, **top,
                "lr": [{"kind": "linear", "start": 0.0, "end": 0.1, "duration": 4},
                       {"kind": "plateau", "monitor": "val_loss", "patience": 1, "duration": 6},
                       {"kind": "cosine", "end": 0.0, "duration": 4}]}  # fmt: skip

    plain = schedspec.emit(doc(name="plain", description="plain"), target)
    plain_tree = ast.parse(plain)
    framework = {"torch": {"math", "weakref", "torch", "torch.optim.lr_scheduler"}, "jax": {"math", "jax.numpy"}}[target]
    imports = set()
    for node in plain_tree.body:
        if isinstance(node, ast.Import):
            imports |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imports.add(node.module)
    assert imports == framework
    for evil in EVIL:
        for field in ("name", "description"):
            source = schedspec.emit(doc(**{"name": "plain", "description": "plain", field: evil}), target)
            assert ast.dump(ast.parse(source)) == ast.dump(plain_tree)
            header = source[: source.index('"""')]
            assert all(line == "" or line.startswith("#") for line in header.split("\n"))
            load_module(source, tmp_path)
    assert not (tmp_path / "pwned").exists()


def test_cli_compiled_module_runs_without_schedspec(tmp_path):
    """`schedspec compile --to torch` of the warmup-plateau-cooldown example, run in a fresh interpreter that may
    not import schedspec, with the documented loop (reports at the end of each epoch)."""
    pytest.importorskip("torch")
    from schedspec.cli import main

    out = tmp_path / "lr_plateau.py"
    path = str(ROOT / "examples" / "warmup-plateau-cooldown.yaml")
    assert main(["compile", path, "--to", "torch", "-o", str(out)]) == 0
    source = out.read_text()
    assert '#     at the end of each 500 steps: scheduler.report("val_loss", val_loss)' in source
    assert "# Report j of val_loss is the metric at the end of steps [500*j, 500*(j+1)), counted from k = 0" in source
    code = textwrap.dedent(
        f"""\
        import sys; sys.path.insert(0, {str(tmp_path)!r}); import builtins; real = builtins.__import__
        def guard(name, *a, **k):
            assert not name.startswith('schedspec'), name
            return real(name, *a, **k)
        builtins.__import__ = guard
        import torch, lr_plateau
        o = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0, momentum=0.9)
        s = lr_plateau.build_scheduler(o)
        for e in range(40):
            for _ in range(500):
                o.step(); s.step()
            s.report('val_loss', 1.0)
        print(repr(o.param_groups[0]['lr']))
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    ref = schedspec.evaluate(path, [20000], metrics={"val_loss": [1.0] * 40}, dtype="float64")
    assert_f64([float(run.stdout)], ref)
