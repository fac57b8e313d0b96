"""Import hygiene of the fast paths (issue 13): ``schedspec check`` loads the core and nothing of the evaluator,
plotting, the emitters, the adapters or a framework; ``import schedspec`` loads no numpy; a terminal plot of a spec
that needs no JAX (no plateau fed by traced reports) loads no jax. Each runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ("jax", "torch", "keras", "optax", "matplotlib", "tensorflow")
LAYERS_ABOVE_CHECK = ("schedspec.evaluator", "schedspec.plotting", "schedspec._emit", "schedspec.adapters",
                      "schedspec._logplan", "schedspec._verify")  # fmt: skip


def loaded(code: str, watch: tuple[str, ...]) -> tuple[list[str], str]:
    """Run ``code`` in a fresh interpreter; the modules of ``watch`` (or their submodules) it loaded, and stdout."""
    probe = (
        f"{code}\nimport sys, json\nwatch = {list(watch)!r}\n"
        "print(json.dumps(sorted({w for w in watch for m in sys.modules if m == w or m.startswith(w + '.')})))"
    )
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    *out, last = r.stdout.strip().splitlines()
    return json.loads(last), "\n".join(out)


def test_check_loads_no_framework_and_nothing_above_the_analysis():
    for example in ("examples/gpt-warmup-cosine.yaml", "examples/lr-sweep.yaml", "examples/torch-native.yaml",
                    "examples/warmup-plateau-cooldown.yaml"):  # fmt: skip
        got, out = loaded(f"from schedspec.cli import main; assert main(['check', {example!r}]) == 0",
                          FRAMEWORKS + LAYERS_ABOVE_CHECK)  # fmt: skip
        assert got == [], example
        assert "fingerprint" in out


def test_import_schedspec_loads_no_numpy_and_no_framework():
    got, _ = loaded("import schedspec", ("numpy", *FRAMEWORKS, *LAYERS_ABOVE_CHECK))
    assert got == []
