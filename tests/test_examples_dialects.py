"""examples/dialects/: real configs in transformers.* and timm.* kinds, each checked against the values the
library itself produced for that config (tests/vectors), over its whole recorded range (twice the schedule), at
float64 ``1e-12*peak + 1e-10*|v|``; each also emits standalone source for every target, and its neutral
spelling (translate --to-neutral) has the same fingerprint."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import schedspec  # noqa: E402
from schedspec.dialects import neutral_document  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VECTORS = {c["id"]: c for lib in ("transformers", "timm")
           for c in json.loads((ROOT / "tests" / "vectors" / f"{lib}.json").read_text(encoding="utf-8"))}  # fmt: skip
EXAMPLES = {
    "hf-run-clm.yaml": "transformers.run_clm.defaults",
    "timm-seresnet34.yaml": "timm.recipe.seresnet34.cosine150",
    "llm-wsd-tokens.yaml": "transformers.smollm2_1.7B.wsd",
}


def test_every_dialect_example_is_listed():
    assert sorted(p.name for p in (ROOT / "examples" / "dialects").glob("*.yaml")) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_matches_its_library(name):
    spec = schedspec.load(ROOT / "examples" / "dialects" / name)
    case = VECTORS[EXAMPLES[name]]
    text = (ROOT / "examples" / "dialects" / name).read_text()
    assert case["id"] in text and "huggingface/" in text  # the comment names its source and its vector
    ks = np.asarray(case["k"])
    got = schedspec.evaluate(spec, ks, dtype="float64")
    want = np.asarray(case["lr"], np.float64)
    peak = np.max(np.abs(want))
    bad = np.abs(got - want) > 1e-12 * peak + 1e-10 * np.abs(want)
    assert not bad.any(), f"{name}: k {ks[bad][:5]}: {got[bad][:5]} vs {want[bad][:5]}"
    neutral = schedspec.load(neutral_document(spec))
    assert neutral.fingerprint == spec.fingerprint
    counts_steps = spec.program.interval == "step" or spec.program.steps_per_epoch
    for target in ("torch", "keras", "optax", "jax") if counts_steps else ("torch",):
        assert "def " in schedspec.emit(spec, target)
    if not counts_steps:  # an epoch spec without steps_per_epoch: the step-counting targets refuse, positioned
        with pytest.raises(schedspec.SpecError, match=r"timm-seresnet34.yaml:\d+:\d+: .*steps_per_epoch"):
            schedspec.emit(spec, "optax")


@pytest.mark.parametrize("config, example, extra", [
    ("timm_seresnet34_args.yaml", "timm-seresnet34.yaml", []),
    ("hf_run_clm_training_args.json", "hf-run-clm.yaml", ["--steps-per-epoch", "290"]),
])  # fmt: skip
def test_translate_from_the_library_config_gives_the_example(config, example, extra, tmp_path):
    """`schedspec translate --from LIB FILE` on the library's own config file (tests/vectors/configs) gives a spec
    with the example's fingerprint."""
    from schedspec.cli import main

    lib = "timm" if config.startswith("timm") else "transformers"
    out = tmp_path / "spec.yaml"
    assert main(["translate", "--from", lib, str(ROOT / "tests" / "vectors" / "configs" / config), "-o", str(out),
                 *extra]) == 0  # fmt: skip
    assert schedspec.load(out).fingerprint == schedspec.load(ROOT / "examples" / "dialects" / example).fingerprint
