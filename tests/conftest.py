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
