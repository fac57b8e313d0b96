"""Tests written to kill surviving mutants of the optax (issue 14, item 1)."""

from __future__ import annotations
