"""The CI guard of tests/conftest.py is itself tested (issue 14, item 4).

Under ``CI`` the suite must run whole: a framework, backend or tool it needs that is missing stops the run at
start-up (``pytest.UsageError``), a ``KERAS_BACKEND`` other than jax stops it, and any test or module skipped anyway
is reported as failed. Locally (no ``CI``) nothing of this applies. The guard is run here on fake environments
(``importlib.util.find_spec`` monkeypatched), and its hooks on a real pytest run in a subprocess.
docs/testing.md shows it failing in a scratch venv that lacks the frameworks.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import conftest
import pytest

HERE = Path(__file__).resolve().parent


def _fake_find_spec(missing):
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name in missing:
            return None
        if name in conftest.REQUIRED_UNDER_CI:
            return types.SimpleNamespace(name=name)  # present, without importing it
        return real(name, *args, **kwargs)

    return find_spec


@pytest.mark.parametrize("missing", ["torch", "jax", "keras", "ruff", "flax"])
def test_ci_fails_when_a_required_framework_is_missing(monkeypatch, missing):
    monkeypatch.setenv("CI", "1")
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setattr(importlib.util, "find_spec", _fake_find_spec({missing}))
    with pytest.raises(pytest.UsageError) as err:
        conftest.pytest_configure(None)
    message = str(err.value)
    assert f"'{missing}' is not installed" in message
    assert message.count("is not installed") == 1
    assert "pip install '.[all]'" in message


@pytest.mark.parametrize("backend", [None, "torch", "tensorflow", ""])
def test_ci_fails_when_keras_backend_is_not_jax(monkeypatch, backend):
    monkeypatch.setenv("CI", "1")
    if backend is None:
        monkeypatch.delenv("KERAS_BACKEND", raising=False)
    else:
        monkeypatch.setenv("KERAS_BACKEND", backend)
    monkeypatch.setattr(importlib.util, "find_spec", _fake_find_spec(set()))
    with pytest.raises(pytest.UsageError, match=f"KERAS_BACKEND is {backend!r}; the suite expects 'jax'"):
        conftest.pytest_configure(None)


def test_ci_passes_when_everything_is_there(monkeypatch):
    monkeypatch.setenv("CI", "1")
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setattr(importlib.util, "find_spec", _fake_find_spec(set()))
    assert conftest.pytest_configure(None) is None


def test_without_ci_missing_frameworks_are_allowed(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    monkeypatch.setattr(importlib.util, "find_spec", _fake_find_spec(set(conftest.REQUIRED_UNDER_CI)))
    assert conftest.pytest_configure(None) is None


def _report(outcome, wasxfail=False):
    r = types.SimpleNamespace(outcome=outcome, longrepr=("f.py", 3, "Skipped: no torch"))
    r.skipped = outcome == "skipped"
    if wasxfail:
        r.wasxfail = "reason"
    return r


def test_a_skip_becomes_a_failure_under_ci_only(monkeypatch):
    monkeypatch.setenv("CI", "1")
    r = _report("skipped")
    conftest._fail_skip(r)
    assert r.outcome == "failed"
    assert r.longrepr == "skipped under CI (no silent skips): Skipped: no torch"
    xfailed = _report("skipped", wasxfail=True)  # an xfail is reported as skipped: it stays allowed
    conftest._fail_skip(xfailed)
    assert xfailed.outcome == "skipped"
    monkeypatch.delenv("CI")
    local = _report("skipped")
    conftest._fail_skip(local)
    assert local.outcome == "skipped"


TEST_X = (
    "import pytest\n\n"
    "def test_runs():\n    assert True\n\n"
    "def test_skips():\n    pytest.skip('no torch here')\n\n"
    "@pytest.mark.xfail(strict=True)\ndef test_xfails():\n    assert False\n"
)
MODULE_SKIP = "import pytest\n\npytest.importorskip('a_module_that_does_not_exist')\n\ndef test_never():\n    pass\n"


def _run_pytest_with_the_guard(tmp_path, source, ci):
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_x.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["KERAS_BACKEND"] = "jax"
    if ci:
        env["CI"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-rA", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )


def test_a_skipped_test_fails_a_real_run_under_ci(tmp_path):
    ci = _run_pytest_with_the_guard(tmp_path, TEST_X, ci=True)
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "FAILED test_x.py::test_skips - skipped under CI (no silent skips): Skipped: no torch here" in ci.stdout
    assert "1 failed, 1 passed, 1 xfailed" in ci.stdout
    local = _run_pytest_with_the_guard(tmp_path, TEST_X, ci=False)
    assert local.returncode == 0, local.stdout + local.stderr
    assert "1 passed, 1 skipped, 1 xfailed" in local.stdout


def test_a_skipped_module_fails_a_real_run_under_ci(tmp_path):
    ci = _run_pytest_with_the_guard(tmp_path, MODULE_SKIP, ci=True)
    assert ci.returncode != 0, ci.stdout + ci.stderr
    assert "ERROR test_x.py - skipped under CI (no silent skips): Skipped: could not import" in ci.stdout
    local = _run_pytest_with_the_guard(tmp_path, MODULE_SKIP, ci=False)
    assert local.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, local.stdout + local.stderr
    assert "1 skipped" in local.stdout
