"""Refactoring guard: the emitted source of every example for every target, and every example's fingerprint, are
byte-identical to the committed snapshot (tests/snapshots/emit/). A change of either must be deliberate: regenerate with
``python tests/test_snapshots.py --update`` in its own commit, saying why in the message."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import schedspec

try:  # tests/ as a package or as a rootdir on sys.path (and as a script: --update)
    from .examples_index import ALL_EXAMPLES, load_example, snapshot_stem
except ImportError:
    from examples_index import ALL_EXAMPLES, load_example, snapshot_stem

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots" / "emit"
# every example: the top-level specs, examples/dialects/ and the framework configs of examples/frameworks/
# (translated as `schedspec translate --from` reads them), by their path under examples/
EXAMPLES = ALL_EXAMPLES
TARGETS = ("torch", "keras", "optax", "jax")


def _first_member(spec) -> dict | None:
    members = spec.program.sweep_members()
    return members[0] if spec.program.sweep_vars else None


def render(path: str, target: str) -> tuple[str, str]:
    """(file name, text): the emitted module, or the refusal's message (a SpecError/ValueError) when it refuses."""
    spec = load_example(path, relative=True)  # relative: messages name the file as users see it
    stem = snapshot_stem(path)
    try:
        return f"{stem}.{target}.py", schedspec.emit(spec, target, vars=_first_member(spec))
    except (schedspec.SpecError, ValueError) as err:
        return f"{stem}.{target}.err", f"{type(err).__name__}: {err}\n"


def fingerprints() -> str:
    return json.dumps({p: load_example(p, relative=True).fingerprint for p in EXAMPLES}, indent=1, sort_keys=True) + "\n"


@pytest.mark.parametrize("path", EXAMPLES, ids=snapshot_stem)
@pytest.mark.parametrize("target", TARGETS)
def test_emitted_source_is_unchanged(path, target):
    name, text = render(path, target)
    snap = SNAPSHOTS / name
    assert snap.exists(), f"no snapshot {name}: run `python tests/test_snapshots.py --update` deliberately"
    assert text == snap.read_text(encoding="utf-8"), f"{name} changed (see the module docstring)"


def test_fingerprints_are_unchanged():
    assert fingerprints() == (SNAPSHOTS / "fingerprints.json").read_text(encoding="utf-8")


def test_every_snapshot_belongs_to_an_example():
    expected = {render(p, t)[0] for p in EXAMPLES for t in TARGETS} | {"fingerprints.json"}
    assert {p.name for p in SNAPSHOTS.iterdir()} == expected


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    import os

    os.chdir(ROOT)
    for old in SNAPSHOTS.glob("*"):
        old.unlink()
    for p in EXAMPLES:
        for t in TARGETS:
            name, text = render(p, t)
            (SNAPSHOTS / name).write_text(text, encoding="utf-8")
    (SNAPSHOTS / "fingerprints.json").write_text(fingerprints(), encoding="utf-8")
