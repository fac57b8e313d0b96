"""Generated documents over the whole language against the independent reference, on every target.

``tests/strategies.documents()`` draws whole documents: every neutral kind and combinator (``plateau`` with metric
reports, ``sum``, a cyclic ``polynomial``), the framework kinds (``torch.*``, ``keras.*``, ``optax.*``), number and
duration vars anywhere they are allowed (sweeps included), ``total`` (open last phases, ``%`` durations),
``interval: epoch``, ``steps_per_epoch`` (``ep``/``st`` durations), other hyperparameters and parameter groups.
Every document must load (a SpecError is a finding), and every schedule of it (each hyperparameter, each group,
each sweep member) must equal ``tests/reference.py`` (written from the README, importing nothing of schedspec):

* ``test_documents_evaluate_matches_reference``: ``schedspec.evaluate`` in float64 and in float32;
* ``test_documents_on_every_target``: every target of ``tests/targets.py`` (``evaluate``, ``to_jax`` under ``jit``
  and ``vmap``, ``to_optax``, the optax ``inject``/``multi_transform`` optimizers, ``to_keras``, the Keras
  optimizer, ``to_torch`` with the lr the SGD optimizer applied, and the emitted torch, keras, optax and jax
  modules); a target either gives the reference's values or refuses, positioned, for a documented reason
  (``refusal_reason``), never silently;
* ``test_reference_keras_formulas_match_keras``: the reference's float64 Keras formulas against Keras itself.

Tolerances (README, "Native schedulers"): float64 ``1e-12*peak + 1e-10*|v|``, float32 ``1e-6*peak + 1e-5*|v|``.
Metric reports are on a 1/8 grid, so a float32 and a float64 comparison with a plateau's threshold decide alike.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import schedspec  # noqa: E402

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":  # pragma: no cover
    pytest.skip("these tests run Keras on the JAX backend", allow_module_level=True)

try:  # tests/ as a package or as a rootdir on sys.path
    from .helpers import assert_f32, assert_f64, known_fault
    from .reference import ref_members, ref_schedule
    from .strategies import KERAS, _keras, documents
    from .targets import F64_TARGETS, RUNNERS, TARGETS, Check, check_refusal_positioned, keys, to_units
except ImportError:
    from helpers import assert_f32, assert_f64, known_fault
    from reference import ref_members, ref_schedule
    from strategies import KERAS, _keras, documents
    from targets import F64_TARGETS, RUNNERS, TARGETS, Check, check_refusal_positioned, keys, to_units

HORIZON = 120  # how far to look at a schedule that never ends
DENSE = 240  # every unit up to here
LARGE = [2**20 + 3, 2**31 - 1]  # and these, where every schedule ends (the reference holds the end there)
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def sgdw(learning_rate, momentum=0.0, weight_decay=0.0):
    """SGD with momentum and coupled weight decay (as torch): an optax optimizer taking every hyperparameter the
    generated documents schedule."""
    return optax.chain(optax.add_decayed_weights(weight_decay), optax.sgd(learning_rate, momentum))


# ------------------------------------------------------------------------------------------------ reference
class Ref:
    """The reference of a drawn case: its schedules, the units to look at, and the metric reports."""

    def __init__(self, case, spec):
        self.case, self.spec = case, spec
        self.members = ref_members(case.doc)
        scheds = [(h, g) for h, g in keys(spec)]
        lengths = [ref_schedule(case.doc, h, g, m or None).duration for h, g in scheds for m in self.members]
        finite = all(n is not None for n in lengths)
        last = min(max([2 * n + 1 for n in lengths if n is not None] + [HORIZON]), DENSE)
        units = list(range(last + 1))
        if finite and not case.monitors:
            units += LARGE
        self.units = np.asarray(units, np.int64)
        self.metrics = case.metrics(int(self.units.max()))
        self._cache: dict = {}

    def values(self, h, g, member: dict | None, units) -> np.ndarray:
        key = (h, g, tuple(sorted((member or {}).items())))
        if key not in self._cache:
            self._cache[key] = ref_schedule(self.case.doc, h, g, member or None, self.metrics)
        sched = self._cache[key]
        return np.asarray([sched.value(int(k)) for k in units], np.float64)


def compare(ours, ref, f64: bool, what: str) -> None:
    (assert_f64 if f64 else assert_f32)(ours, ref, what)


def loaded(case) -> schedspec.Spec:
    """The document loaded from its YAML text (so that a refusal has a line and a column to point at)."""
    try:
        return schedspec.loads(yaml.safe_dump(case.doc, sort_keys=False), "generated.yaml")
    except schedspec.SpecError as err:  # the generator draws valid documents only
        pytest.fail(f"a valid document was refused: {err}\n{case.doc}")


# ------------------------------------------------------------------------------------------------ evaluate
@settings(max_examples=40, **SETTINGS)
@given(documents())
def test_documents_evaluate_matches_reference(case):
    spec = loaded(case)
    ref = Ref(case, spec)
    for h, g in keys(spec):
        for dtype in ("float64", "float32"):
            if known_fault(case.doc, "evaluate", dtype == "float64"):
                continue
            got = schedspec.evaluate(spec, ref.units, hparam=h, group=g, metrics=ref.metrics, dtype=dtype)
            # a sweep axis whenever the spec sweeps (test_evaluate_sweep_axis_always), none otherwise
            assert got.ndim == (2 if spec.program.sweep_vars else 1), (got.shape, case.doc)
            rows = got if got.ndim == 2 else [got]
            assert len(rows) == len(ref.members)
            for row, member in zip(rows, ref.members):
                want = ref.values(h, g, member, ref.units)
                compare(row, want, dtype == "float64", f"evaluate {dtype} {h} group={g} member={member}\n{case.doc}")


# ------------------------------------------------------------------------------------------------ every target
STEP_COUNTING = {"to_optax", "optax_inject", "optax_multi_transform", "to_keras", "keras_optimizer", "emit_keras",
                 "emit_optax", "emit_jax"}  # fmt: skip
WHOLE_SWEEP = {"evaluate", "to_jax"}  # the others take one member (vars=...)
KERAS_TARGETS = {"to_keras", "keras_optimizer", "emit_keras"}


def _changes_over_time(x) -> bool:
    return not isinstance(x, (int, float, str))


def refusal_reason(case, spec, target: str, message: str, member) -> str | None:
    """The README's reason for ``target`` to refuse this document, if the refusal says it; None: no reason."""
    doc = case.doc
    if spec.program.sweep_vars and member is None and target not in WHOLE_SWEEP and "sweep var" in message:
        return "one sweep member per call"
    if doc.get("interval") == "epoch" and "steps_per_epoch" not in doc and target in STEP_COUNTING \
            and "steps_per_epoch" in message:  # fmt: skip
        return "an epoch spec on a target counting optimizer steps needs steps_per_epoch"
    if case.monitors and target in ("to_optax", "emit_keras", "emit_optax") and "plateau" in message:
        return "a plateau needs state a function of the count cannot hold"
    if case.monitors and "total" not in doc and "max_reports" in message and target in (
            "to_keras", "keras_optimizer", "optax_inject", "optax_multi_transform"):  # fmt: skip
        return "an open-ended plateau needs total or max_reports= (the size of the state)"
    if doc.get("groups") and target in KERAS_TARGETS and "`groups`" in message:
        return "Keras has no parameter groups"
    others = [h for h in spec.program.hparams if h != "lr"]
    changing = [h for h in others if _changes_over_time(doc[h])] + [
        h for b in (doc.get("groups") or {}).values() for h in b if h not in ("lr", "scale")]
    if target == "keras_optimizer" and any(f"`{h}`" in message for h in changing) and "changes over time" in message:
        return "a Keras optimizer takes a schedule for the learning rate only"
    return None


def run_target(case, spec, ref, target, tmp_path) -> None:
    check = Check(units=ref.units[ref.units <= DENSE], loop=min(int(ref.units[ref.units <= DENSE].max()) + 1, 60),
                  metrics=ref.metrics, optax_fn=sgdw, torch_lr_only=True)  # fmt: skip
    if known_fault(case.doc, target, target in F64_TARGETS):
        return
    runner = RUNNERS[target]
    calls = [None] if target in WHOLE_SWEEP or not spec.program.sweep_vars else [None, *ref.members[:2]]
    for member in calls:
        try:
            got = runner(spec, check, member, tmp_path)
        except schedspec.SpecError as err:
            reason = refusal_reason(case, spec, target, str(err), member)
            assert reason, f"{target} refused a document it should run: {err}\n{case.doc}"
            check_refusal_positioned(err, "generated.yaml")
            continue
        for key, (xs, ours) in got.items():
            if key[0] == "applied":
                h, g, m = key[1], key[2], None
            else:
                h, g, m = key[0], key[1], (key[2] if len(key) > 2 else None)
            chosen = ref.members[m] if m is not None else (member or ref.members[0])
            want = ref.values(h, g, chosen, to_units(spec, target, xs))
            what = f"{target} {key} member={chosen}\n{case.doc}"
            compare(ours, want, target in F64_TARGETS, what)
        expected = {(h, g) for h, g in keys(spec) if not (target == "emit_torch" and h != "lr")}
        have = {(k[0], k[1]) for k in got if k[0] != "applied"}
        assert expected <= have, f"{target} left out {expected - have}\n{case.doc}"


@settings(max_examples=8, **SETTINGS)
@given(documents(), st.sampled_from(TARGETS))
def test_documents_on_every_target(case, first):
    """Every target on one document (``first`` first: which target Hypothesis shrinks a failure to)."""
    spec = loaded(case)
    ref = Ref(case, spec)
    with tempfile.TemporaryDirectory() as tmp:
        for target in [first, *(t for t in TARGETS if t != first)]:
            run_target(case, spec, ref, target, Path(tmp))


# ------------------------------------------------------------------------------------------------ the reference
@settings(max_examples=40, **SETTINGS)
@given(st.data())
def test_reference_keras_formulas_match_keras(data):
    """The reference writes Keras' schedules out in float64 (Keras computes them in float32): equal within the
    float32 tolerance to keras.optimizers.schedules itself, restarts and staircases at the same steps."""
    kind = data.draw(st.sampled_from(KERAS))
    m = data.draw(st.composite(lambda draw: _keras(draw, kind))())
    cls = getattr(keras.optimizers.schedules, kind.split(".", 1)[1])
    native = cls(**{k: v for k, v in m.items() if k != "kind"})
    ks = np.arange(0, 120)
    # Keras computes restarts in float32 (XLA divides by multiplying with a reciprocal, and takes a float log):
    # at an exact restart it may be one cycle off (PolynomialDecay(cycle=True) at step 21 of decay_steps 7 gives
    # the value of t/28, not the end); the reference restarts exactly there (README), so those steps are left out
    # (with decay_steps 1 every step is a restart, and k / 1 is exact in float32: nothing to leave out)
    if m.get("cycle") and m["decay_steps"] > 1:
        ks = ks[ks % m["decay_steps"] != 0]
    if kind == "keras.CosineDecayRestarts":
        bounds, b, n = [], 0.0, float(m["first_decay_steps"])
        while b < 130:
            bounds.append(b)
            b, n = b + n, n * m.get("t_mul", 2.0)
        ks = ks[[all(abs(k - x) > 1 for x in bounds[1:]) for k in ks]]
    ref = ref_schedule({"schedspec": 1, "lr": m}).value
    want = np.asarray([ref(int(k)) for k in ks])
    got = np.asarray(jax.vmap(native)(jax.numpy.asarray(ks)), np.float64)  # a Keras `cond` takes one step
    assert_f32(got, want, f"{m}")
