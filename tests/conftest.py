"""Test configuration.

* Under CI (``CI`` set), Hypothesis runs derandomized so a submission's run is reproducible; locally it explores new
  examples on every run.
* Every test runs with the repository root as its working directory (tests name files like
  ``examples/resnet50.yaml``), yet the package under test is always the INSTALLED one: the suite is started from
  ``tests/`` (README), and ``PYTHONSAFEPATH=1`` keeps the working directory off ``sys.path`` in the subprocesses
  that tests start (``python -m schedspec ...``), so a source checkout never shadows the installed wheel.
"""

import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent

os.environ["PYTHONSAFEPATH"] = "1"

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _at_repository_root(monkeypatch):
    monkeypatch.chdir(ROOT)


# ------------------------------------------------------------------------------------------ no silent skips in CI
# Under CI the suite must run whole: a framework, backend or tool it needs that is missing is an error at start-up,
# and any test or module that is skipped anyway fails (locally skips stay allowed and `-ra` lists them).
REQUIRED_UNDER_CI = ("torch", "jax", "keras", "optax", "matplotlib", "jsonschema", "hypothesis", "ruff", "build",
                     "transformers", "mmengine", "fvcore", "flax", "lightning", "tensorboard", "accelerate")
EXPECTED_KERAS_BACKEND = "jax"


def _ci() -> bool:
    return bool(os.environ.get("CI"))


def pytest_configure(config):
    if not _ci():
        return
    import importlib.util

    problems = [f"'{m}' is not installed" for m in REQUIRED_UNDER_CI if importlib.util.find_spec(m) is None]
    backend = os.environ.get("KERAS_BACKEND")
    if backend != EXPECTED_KERAS_BACKEND:
        problems.append(f"KERAS_BACKEND is {backend!r}; the suite expects {EXPECTED_KERAS_BACKEND!r}")
    if problems:
        raise pytest.UsageError(
            "CI is set, and the suite would silently skip tests: " + "; ".join(problems)
            + ". Install the test extras (pip install '.[all]') and set KERAS_BACKEND=jax."
        )


def _fail_skip(report) -> None:
    if _ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI (no silent skips): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_skip(outcome.get_result())
