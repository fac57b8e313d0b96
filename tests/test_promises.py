"""tests/PROMISES.md names, for each promise of the documentation, the tests that hold it: every name it gives
must be a real test (a renamed or deleted test would leave a promise silently unheld)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _tests_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def test_every_test_named_in_promises_exists():
    text = (HERE / "PROMISES.md").read_text(encoding="utf-8")
    named = re.findall(r"`(test_[a-z0-9_]+\.py)::([A-Za-z0-9_]+)(?:\[[^\]]*\])?`", text)
    assert len(named) > 100, "PROMISES.md lost its references"
    missing = [f"{f}::{fn}" for f, fn in named if not (HERE / f).exists() or fn not in _tests_of(HERE / f)]
    assert not missing, f"PROMISES.md names tests that do not exist: {missing}"
    files = set(re.findall(r"`(test_[a-z0-9_]+\.py)`", text))
    assert all((HERE / f).exists() for f in files), [f for f in files if not (HERE / f).exists()]
