"""The per-kind table (schedspec/kinds.py) is complete and both interpreters and the range analysis obey it.

* every IR class is either a row of the table or one of the classes with their own code, never both, never
  neither; every row names a formula of formulas.py that takes exactly its slots, and fields the IR node has;
* every kind is known to both interpreters: ``_compile`` and the emitted source (``_emit._codegen``) evaluate a
  sample of every row (every variant, word and flag; numbers, carried starts) to the same float64 values, on the
  scalar path and the array path;
* the motions the analysis relies on hold: a MONOTONE row is monotone on every sample (a wrong MONOTONE makes
  ``check`` miss an extreme); a BREAKS or CYCLIC row has a sample that is not (the table is not lax); and
  ``check``'s exact min/max equals the dense min/max for every sample;
* no interpreter clamps a self-clamping kind twice (the emitted source of such a phase has no ``xp.minimum(t``).
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

import schedspec
from schedspec import _compile, analysis, ir
from schedspec import backends as B
from schedspec import formulas as F
from schedspec import kinds as K
from schedspec._emit import _codegen

# one or more phases per row: every variant, word and flag; the ones after a warmup get a carried start
SAMPLES = [
    {"kind": "constant", "duration": 20, "value": 0.3},
    {"kind": "linear", "duration": 30, "start": 0.1, "end": 0.7},
    {"kind": "linear", "duration": 30, "start": 0.9, "end": 0.2, "warp": 0.5},
    {"kind": "cosine", "duration": 40, "start": 1.0, "end": 0.1},
    {"kind": "cosine", "duration": 40, "start": 0.1, "end": 1.0, "exponent": 2.0, "warp": 1.5},
    {"kind": "polynomial", "duration": 25, "start": 1.0, "end": 0.0, "power": 2.0},
    {"kind": "polynomial", "duration": 25, "start": 0.5, "end": 0.25, "power": 0.5, "warp": 2.0},
    {"kind": "polynomial", "duration": 7, "start": 1.0, "end": 0.1, "power": 2.0, "cycle": True},
    {"kind": "tanh", "duration": 30, "start": 1.0, "end": 0.05},
    {"kind": "exponential", "duration": 40, "start": 1.0, "gamma": 0.9, "every": 3},
    {"kind": "exponential", "duration": 40, "start": 0.01, "gamma": 1.2, "every": 2, "staircase": True, "end": 0.1},
    {"kind": "exponential", "duration": 40, "start": 1.0, "gamma": 0.8, "end": 0.2},
    {"kind": "step", "duration": 40, "start": 1.0, "gamma": 0.5, "every": 7},
    {"kind": "multistep", "duration": 40, "start": 1.0, "gamma": 0.5, "milestones": [5, 12, 12, 30]},
    {"kind": "piecewise", "duration": 40, "points": [[0, 0.1], [10, 0.9], [25, 0.3], [30, 0.6]]},
    {"kind": "piecewise", "duration": 40, "points": [[0, 0.1], [10, 0.9], [25, 0.3]], "interpolate": "linear"},
    {"kind": "piecewise", "duration": 40, "points": [[0, 0.1], [10, 0.9], [25, 0.3]], "interpolate": "cosine"},
    {"kind": "inverse_time", "duration": 40, "start": 1.0, "rate": 0.5, "every": 4},
    {"kind": "inverse_time", "duration": 40, "start": 1.0, "rate": 0.5, "every": 4, "staircase": True},
    {"kind": "inverse_sqrt", "duration": 40, "start": 1.0, "timescale": 6},
    {"kind": "inverse_sqrt", "duration": 40, "start": 1.0, "timescale": 6, "shift": 6},
    {"kind": "cyclic", "duration": 45, "low": 0.1, "high": 1.0, "up": 5, "down": 8},
    {"kind": "cyclic", "duration": 45, "low": 0.1, "high": 1.0, "up": 5, "mode": "triangular2"},
    {"kind": "cyclic", "duration": 45, "low": 0.1, "high": 1.0, "up": 5, "mode": "exp_range", "gamma": 0.97},
    {"kind": "onecycle", "duration": 40, "peak": 1.0},
    {"kind": "onecycle", "duration": 40, "peak": 1.0, "pct_start": 0.25, "anneal": "linear", "three_phase": True},
]
CARRIED = {"linear", "cosine", "polynomial", "tanh", "exponential", "step", "multistep", "inverse_time",
           "inverse_sqrt"}  # fmt: skip


def _doc(phase: dict, carried: bool) -> dict:
    if carried:
        rest = {k: v for k, v in phase.items() if k != "start"}
        return {"schedspec": 1, "lr": [{"kind": "linear", "duration": 9, "start": 0.0, "end": 0.8}, rest]}
    return {"schedspec": 1, "lr": [phase]}


DOCS = {f"{p['kind']}-{i}{'-carried' if c else ''}": _doc(p, c)
        for i, p in enumerate(SAMPLES) for c in ((False, True) if p["kind"] in CARRIED and "start" in p else (False,))}  # fmt: skip


def _node(doc: dict) -> ir.Node:
    return schedspec.load(doc).program.hparams["lr"]


def _rows(node: ir.Node) -> list[ir.Node]:
    return [n for n in ir.walk(node) if K.is_phase(n)]


def _emitted(node: ir.Node, scalar: bool):
    """``_value(xp, t)`` of the source the code generator writes for ``node`` (run on formulas.py's functions)."""
    gen = _codegen.generate(node, scalar=scalar, label="lr", unit="step")
    namespace = dict(vars(F))
    exec("\n".join(line for block in gen.constants for line in block), namespace)  # noqa: S102 - our own output
    exec("\n\n".join("\n".join(f) for f in gen.functions), namespace)  # noqa: S102
    return namespace["_value"]


def _dense(node: ir.Node, length: int) -> np.ndarray:
    fn = _compile.build(node, B.MathXP)
    return np.array([float(fn(t, {})) for t in range(length + 1)])


# ------------------------------------------------------------------------------------------------ the table
def test_every_ir_kind_is_a_row_or_has_its_own_code():
    every = set(ir.KINDS.values())
    assert not set(K.TABLE) & set(K.OWN_CODE)
    assert set(K.TABLE) | set(K.OWN_CODE) == every, "a kind of ir.py is missing from schedspec/kinds.py"
    assert set(_compile._BUILDERS) == every, "a kind is unknown to _compile"
    for cls in K.OWN_CODE:  # the code generator's own code: a method per combinator, the plateau in expr()
        assert cls is ir.Plateau or hasattr(_codegen.Generator, f"_{ir.KIND_OF[cls]}"), cls


@pytest.mark.parametrize("cls", list(K.TABLE), ids=lambda c: c.__name__)
def test_every_row_names_a_formula_that_takes_its_slots(cls):
    row = K.TABLE[cls]
    assert row.node is cls and row.shape in K.MOTIONS
    names = {f.name for f in dataclasses.fields(cls)} - {"path"}
    for formula, slots in [(row.formula, row.slots)] + ([(row.variant.formula, row.slots + row.variant.slots)]
                                                       if row.variant else []):  # fmt: skip
        fn = getattr(F, formula)
        params = list(inspect.signature(fn).parameters)
        assert params[:2] == ["xp", "t"] and len(params) == 2 + len(slots), (formula, params, slots)
        for s in slots:
            assert s.field in names, (cls.__name__, s.field)
            assert s.shape in K.SHAPES
            assert bool(s.words) == (s.shape == K.WORD)
            assert bool(s.label) == (s.shape in (K.DURS, K.PARAMS))
    if row.clamps:
        assert "duration" in names and (row.slots[0].field, row.slots[0].shape) == ("duration", K.DUR)


def test_the_samples_cover_every_row_and_variant():
    seen = {(type(n), K.row(n).call(n)[0]) for d in DOCS.values() for n in _rows(_node(d))}
    want = {(cls, r.formula) for cls, r in K.TABLE.items()}
    want |= {(cls, r.variant.formula) for cls, r in K.TABLE.items() if r.variant}
    assert want <= seen, want - seen


# ------------------------------------------------------------------------------------------------ interpreters
@pytest.mark.parametrize("name", list(DOCS))
def test_both_interpreters_evaluate_every_kind_alike(name):
    node = _node(DOCS[name])
    length = node.duration + 5 if node.duration is not None else 60
    expected = _dense(node, length)
    scalar = _emitted(node, scalar=True)
    assert [float(scalar(B.MathXP, t)) for t in range(length + 1)] == expected.tolist()
    t = np.arange(length + 1)
    np.testing.assert_array_equal(np.asarray(_emitted(node, scalar=False)(B.NumpyXP(), t), dtype=np.float64),
                                  np.asarray(_compile.build(node, B.NumpyXP())(t, {}), dtype=np.float64))  # fmt: skip


@pytest.mark.parametrize("cls", [c for c, r in K.TABLE.items() if r.clamps], ids=lambda c: c.__name__)
def test_a_self_clamping_kind_is_not_clamped_again(cls):
    for doc in DOCS.values():
        node = _node(doc)
        if any(type(n) is cls for n in _rows(node)):
            gen = _codegen.generate(node, scalar=True, label="lr", unit="step")
            src = "\n".join("\n".join(f) for f in gen.functions)
            assert f"{K.TABLE[cls].formula}(xp, xp.minimum(" not in src, src


# ------------------------------------------------------------------------------------------------ motions
def _monotone(v: np.ndarray) -> bool:
    d = np.diff(v)
    return bool(np.all(d >= 0) or np.all(d <= 0))


@pytest.mark.parametrize("name", list(DOCS))
def test_the_motion_of_every_kind_is_what_check_assumes(name):
    node = _node(DOCS[name])
    length = (node.duration or 50) + 5
    for part, _, _ in ir.phases(node):
        if not K.is_phase(part):
            continue
        values = _dense(part, (part.duration or 50) + 5)
        if K.row(part).shape == K.MONOTONE:
            assert _monotone(values), (name, values)
    program = schedspec.load(DOCS[name]).program
    lo, hi, _ = analysis.value_range(program, "lr", lambda d: length)
    dense = _dense(node, length)
    assert (lo, hi) == (dense.min(), dense.max())


@pytest.mark.parametrize("cls", [c for c, r in K.TABLE.items() if r.shape != K.MONOTONE], ids=lambda c: c.__name__)
def test_a_kind_not_marked_monotone_has_a_sample_that_is_not(cls):
    nodes = [n for d in DOCS.values() for n in _rows(_node(d)) if type(n) is cls]
    assert nodes and any(not _monotone(_dense(n, (n.duration or 50) + 5)) for n in nodes)


# ------------------------------------------------------------------------------------------------ long sequences
def _long(n: int) -> ir.Node:
    """A sequence of ``n`` phases cycling through the samples (starts given or carried), from tables when long."""
    phases = [dict(p) for p in SAMPLES if not p.get("cycle")]
    out = []
    for i in range(n):
        p = dict(phases[i % len(phases)])
        if i % 4 == 3 and "start" in p and p["kind"] in CARRIED:
            del p["start"]  # carried from the phase before
        out.append(p)
    return _node({"schedspec": 1, "lr": out})


def test_a_long_sequence_of_every_kind_is_tabled_and_equals_its_parts(monkeypatch):
    """The tables (_compile) equal the phase-by-phase evaluation on the same backend exactly, and the emitted
    tables equal _compile's, on the array path; every part of every kind is tabled."""
    node = _long(3 * len(SAMPLES))
    assert len(node.parts) > _compile.SMALL_SEQUENCE
    assert [ir.kind(p) for p in node.parts if _compile.table_key(p) is None] == []
    t = np.arange(node.duration + 5)
    xp = B.NumpyXP()
    tabled = np.asarray(_compile.build(node, xp)(t, {}), dtype=np.float64)
    with np.errstate(all="ignore"):  # the emitted modules run on jax or keras.ops; numpy here only to compare
        emitted = np.asarray(_emitted(node, scalar=False)(xp, t), dtype=np.float64)
    np.testing.assert_array_equal(emitted, tabled)
    scalar = _emitted(node, scalar=True)
    assert [float(scalar(B.MathXP, int(k))) for k in t] == _dense(node, len(t) - 1).tolist()
    monkeypatch.setattr(_compile, "SMALL_SEQUENCE", 10**6)  # the same sequence phase by phase
    np.testing.assert_array_equal(np.asarray(_compile.build(node, xp)(t, {}), dtype=np.float64), tabled)


# ------------------------------------------------------------------------------------------------ a new kind
# "Adding a neutral kind touches at most 3 files" (docs/architecture.md): a made-up kind, `smoothstep`, added
# through the three extension points only (a model in language.py, a formula in formulas.py, a row in kinds.py),
# in a copy of the package, runs everywhere: validation, lowering (generic: no branch of its own), the numpy and
# JAX evaluators, torch, the emitted source of the four targets and `check`. The copy differs from the package in
# exactly those three files, so the test fails if a fourth one were needed. It runs in a subprocess because the
# language's document union and the table are built when the package is imported, as they are for a real kind.
_NEW_MODEL = '''
class Smoothstep(_Phase):
    """A made-up kind of tests/test_kinds.py: ``start`` to ``end`` along a smoothstep polynomial."""

    kind: Literal["smoothstep"] = Field(description="Smoothstep from `start` to `end` over `duration`.")
    start: NonNeg | None = start_field()
    end: NonNeg = Field(0.0, description="Value reached at t = duration and held after.")
    order: Literal["cubic", "quintic"] = Field("cubic", description="3p^2 - 2p^3, or 6p^5 - 15p^4 + 10p^3.")


'''
_NEW_LISTING = 'PHASES["smoothstep"] = Smoothstep\n'
_NEW_FORMULA = '''

def smoothstep(xp, t, T, start, end, order):
    """A made-up kind of tests/test_kinds.py: a symmetric weight ``w(q)`` from the nearer end (:func:`halves`)."""
    first, q = halves(xp, t, T)
    w = q * q * (3 - 2 * q) if order == "cubic" else q * q * q * (10 - q * (15 - 6 * q))
    return interpolate(xp, start, end, first, w)
'''
_NEW_ROW = '''

register(Kind("smoothstep", "smoothstep", (*_s("duration:dur start:param end:param"),
                                           Slot("order", WORD, words=("cubic", "quintic"))), True, MONOTONE, holds="end"))
'''
_NEW_KIND_RUN = r'''
import json, math, subprocess, sys
import numpy as np
import schedspec
from schedspec import SpecError, evaluator, ir, kinds

text = """schedspec: 1
vars: {low: 0.05}
lr:
  - {kind: linear, start: 0.0, end: 0.8, duration: 10}
  - {kind: smoothstep, end: $low, order: quintic, duration: 30}
  - {kind: smoothstep, end: 0.4, duration: 20}
  - {kind: constant, duration: 5}
"""
spec = schedspec.loads(text)
node = spec.program.hparams["lr"]
row = kinds.TABLE[type(node.parts[1])]
out = {"declared": row.declared, "ir_kind": ir.kind(node.parts[1]), "fingerprint": spec.fingerprint}
k = np.arange(0, 80)
out["jax64"] = np.asarray(schedspec.evaluate(spec, k, dtype="float64"), dtype=float).tolist()
out["jax32"] = np.asarray(schedspec.evaluate(spec, k), dtype=float).tolist()
out["numpy"] = np.asarray(evaluator.evaluate_numpy(spec, k), dtype=float).tolist()
import torch
opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
sch = schedspec.to_torch(spec, opt)
out["torch"] = []
for _ in k:
    out["torch"].append(opt.param_groups[0]["lr"]); opt.step(); sch.step()
out["emitted"] = {}
for target in ("torch", "keras", "optax", "jax"):
    src = schedspec.emit(spec, target)
    out["emitted"][target] = "def smoothstep(" in src
    namespace = {"__name__": "emitted_" + target}
    exec(compile(src, target, "exec"), namespace)
    if target == "jax":
        out["emitted_jax"] = [float(namespace["schedule"](int(t))) for t in k]
    elif target == "torch":
        out["emitted_torch"] = [float(namespace["value"](int(t))) for t in k]
errors = {}
for name, bad in {"no_start": "schedspec: 1\nlr: {kind: smoothstep, end: 0.1, duration: 5}\n",
                  "no_length": "schedspec: 1\nlr: {kind: smoothstep, start: 1, end: 0.1}\n",
                  "word": "schedspec: 1\nlr: {kind: smoothstep, start: 1, order: cubix, duration: 5}\n"}.items():
    try:
        schedspec.loads(bad)
        errors[name] = None
    except SpecError as e:
        errors[name] = str(e)
out["errors"] = errors
with open("spec.yaml", "w") as f:
    f.write(text)
check = subprocess.run([sys.executable, "-m", "schedspec", "check", "spec.yaml"], capture_output=True, text=True)
out["check"] = [check.returncode, check.stdout + check.stderr]
print(json.dumps(out))
'''


def _smoothstep(t: int, T: int, start: float, end: float, order: str) -> float:
    """The made-up kind, written independently: the textbook smoothstep at p = min(t, T) / T."""
    p = min(t, T) / T
    w = p * p * (3 - 2 * p) if order == "cubic" else p**3 * (6 * p * p - 15 * p + 10)
    return start + (end - start) * w


def test_a_new_kind_needs_only_a_model_a_formula_and_a_row(tmp_path):
    import filecmp
    import json
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(repo / "schedspec", tmp_path / "schedspec", symlinks=True, ignore=ignore)
    shutil.copytree(repo / "adapters", tmp_path / "adapters", ignore=ignore)
    pkg = tmp_path / "schedspec"
    language = (pkg / "language.py").read_text()
    anchor = "COMBINATORS: dict[str, type[_Phase]] = {"
    assert language.count(anchor) == 1 and language.count("\nPHASES: dict[str, type[_Phase]] = {") == 1
    language = language.replace("\nPHASES: dict[str, type[_Phase]] = {", _NEW_MODEL + "PHASES: dict[str, type[_Phase]] = {")
    (pkg / "language.py").write_text(language.replace(anchor, _NEW_LISTING + anchor))
    (pkg / "formulas.py").write_text((pkg / "formulas.py").read_text() + _NEW_FORMULA)
    (pkg / "kinds.py").write_text((pkg / "kinds.py").read_text() + _NEW_ROW)

    changed = []
    for here, _dirs, files in os.walk(pkg):
        for name in files:
            path = Path(here) / name
            rel = path.relative_to(tmp_path)
            if not filecmp.cmp(path, repo / rel, shallow=False):
                changed.append(str(rel))
    assert sorted(changed) == ["schedspec/formulas.py", "schedspec/kinds.py", "schedspec/language.py"]

    env = {**os.environ, "PYTHONPATH": str(tmp_path), "KERAS_BACKEND": "jax"}
    (tmp_path / "run.py").write_text(_NEW_KIND_RUN)
    proc = subprocess.run([sys.executable, "run.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.splitlines()[-1])
    assert out["declared"] and out["ir_kind"] == "smoothstep"

    def expected(t: int) -> float:
        if t < 10:
            return 0.8 * t / 10
        if t < 40:
            return _smoothstep(t - 10, 30, 0.8, 0.05, "quintic")
        return _smoothstep(t - 40, 20, 0.05, 0.4, "cubic")  # its start carried from the phase before; then held

    ref = np.array([expected(t) for t in range(80)])
    for name in ("jax64", "numpy", "torch", "emitted_torch"):
        np.testing.assert_allclose(out[name], ref, rtol=1e-14, atol=2e-15, err_msg=name)  # the reference cancels
    np.testing.assert_allclose(out["jax32"], ref, rtol=2.5e-7, err_msg="jax32")
    np.testing.assert_allclose(out["emitted_jax"], ref, rtol=2.5e-7, err_msg="emitted jax")
    # the declared ends are held exactly: float64 paths, and the float32 nearest on float32 paths
    for name in ("jax64", "numpy", "torch", "emitted_torch"):
        assert out[name][40] == 0.05 and out[name][60:] == [0.4] * 20, name
    for name in ("jax32", "emitted_jax"):
        assert out[name][40] == float(np.float32(0.05)) and out[name][60:] == [float(np.float32(0.4))] * 20, name
    assert out["emitted"] == {"torch": True, "keras": True, "optax": True, "jax": True}
    errors = out["errors"]
    assert errors["no_start"].startswith("<string>:2:5: missing `start`"), errors
    assert errors["no_length"].startswith("<string>:2:5: `smoothstep` needs a `duration`"), errors
    assert errors["word"].startswith("<string>:2:") and "order" in errors["word"], errors
    rc, printed = out["check"]
    assert rc == 0 and "smoothstep" in printed and "min 0  max 0.8" in printed, printed


def test_a_declared_node_is_an_ir_node_like_the_others():
    """``ir.declare`` (what a row naming its kind calls): the node is frozen, known to ``ir.kind``, the canonical form
    (a defaulted variant field left out at its neutral value), the walker and pickle; the registries are restored."""
    import pickle

    saved = dict(ir.KINDS), dict(ir.KIND_OF), dict(ir._FIELDS)
    try:
        cls = ir.declare("made_up_ramp", [("start", ir.Param), ("end", ir.Param)], {"warp": 1.0})
        node = cls(ir.Var("a"), 0.5, ir.DVar("n"))
        assert cls.__name__ == "MadeUpRamp" and ir.kind(node) == "made_up_ramp" and ir.KINDS["made_up_ramp"] is cls
        assert ir.to_json(node) == {"kind": "made_up_ramp", "start": {"var": "a"}, "end": 0.5, "duration": {"var": "n"}}
        assert ir.to_json(dataclasses.replace(node, warp=2.0))["warp"] == 2.0
        assert ir.used_vars(ir.Sequence((ir.Constant(1.0, 3), node), None)) == ({"a"}, {"n"})
        assert ir.map_params(node, lambda p: 0.25 if p == 0.5 else p) == cls(ir.Var("a"), 0.25, ir.DVar("n"))
        assert pickle.loads(pickle.dumps(node)) == node
        with pytest.raises(dataclasses.FrozenInstanceError):
            node.end = 1.0  # type: ignore[misc]
        with pytest.raises(ValueError, match="already has a kind 'made_up_ramp'"):
            ir.declare("made_up_ramp", [])
        with pytest.raises(ValueError, match="already has a kind 'linear'"):
            K.Kind("linear", "linear", K._s("duration:dur start:param end:param"), True, K.MONOTONE)
        with pytest.raises(ValueError, match="must be distinct"):
            ir.declare("made_up_twice", [("start", ir.Param), ("start", ir.Param)])
        with pytest.raises(ValueError, match="already has its row"):
            K.register(K.TABLE[ir.Linear])
    finally:
        for registry, before in zip((ir.KINDS, ir.KIND_OF, ir._FIELDS), saved, strict=True):
            registry.clear()
            registry.update(before)
        vars(ir).pop("MadeUpRamp", None)
    assert "made_up_ramp" not in ir.KINDS
