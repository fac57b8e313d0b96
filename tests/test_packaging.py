"""The package a user installs: every module ships, ``schedspec.adapters`` is the top-level ``adapters/`` folder,
and under CI the suite runs against the installed wheel, not the source tree."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import schedspec
import schedspec.adapters

ROOT = Path(__file__).resolve().parent.parent


def _source_files() -> set[str]:
    """``schedspec/...`` paths of every module (and py.typed) of the source tree, ``adapters/`` included."""
    out = set()
    for folder, dirs, files in os.walk(ROOT / "schedspec", followlinks=True):  # through the adapters symlink
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py") or name == "py.typed":
                out.add((Path(folder) / name).relative_to(ROOT).as_posix())
    return out


def _installed_from_source() -> bool:
    return Path(schedspec.__file__).resolve().parent == (ROOT / "schedspec").resolve()


def test_adapters_folder_is_schedspec_adapters():
    """``adapters/`` at the top level is ``schedspec.adapters``: the same folder from a source checkout or an
    editable install, an identical copy in a normal install; never a top-level ``adapters`` package."""
    here = Path(schedspec.adapters.__file__).resolve().parent
    if _installed_from_source():
        assert here == ROOT / "adapters"
    else:
        assert here.parent == Path(schedspec.__file__).resolve().parent
        for name in ("__init__.py", "torch.py", "keras.py", "optax.py"):
            assert (here / name).read_bytes() == (ROOT / "adapters" / name).read_bytes(), name
    assert (ROOT / "schedspec" / "adapters").is_symlink()
    assert os.readlink(ROOT / "schedspec" / "adapters") == "../adapters"


@pytest.mark.skipif(not os.environ.get("CI"), reason="CI tests the installed wheel; locally an editable install is fine")
def test_ci_imports_the_installed_package():
    """The test process and the subprocesses tests start (from the repository root) import the installed wheel."""
    path = Path(schedspec.__file__).resolve()
    assert "site-packages" in path.parts, path
    assert ROOT not in path.parents, path
    for argv in (["-c", "import schedspec; print(schedspec.__file__)"], ["-m", "schedspec", "--version"]):
        proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-c", "import schedspec; print(schedspec.__file__)"],
                          capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert "site-packages" in Path(proc.stdout.strip()).resolve().parts, proc.stdout


def test_installed_files_match_the_source_tree():
    """The installed distribution lists every module of the source tree (a wheel install: its RECORD)."""
    if _installed_from_source():
        pytest.skip("editable install: the wheel itself is checked by test_wheel_ships_every_module")
    record = {f.as_posix() for f in importlib.metadata.files("schedspec") if f.as_posix().startswith("schedspec/")}
    shipped = {f for f in record if f.endswith(".py") or f.endswith("py.typed")}
    assert shipped == _source_files()


def test_wheel_ships_every_module(tmp_path):
    """Build the wheel from the source tree: its file list is exactly the source tree's modules."""
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("schedspec-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert not any(n.startswith("adapters/") for n in names), "a top-level `adapters` package would shadow PyPI's"
    modules = {n for n in names if n.startswith("schedspec/")}
    assert modules == _source_files()
    version = next(n for n in names if n.endswith(".dist-info/METADATA"))
    assert f"Version: {schedspec.__version__}" in zipfile.ZipFile(wheel).read(version).decode()


def test_version_flag():
    proc = subprocess.run([sys.executable, "-m", "schedspec", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"schedspec {importlib.metadata.version('schedspec')}"
    assert importlib.metadata.version("schedspec") == schedspec.__version__
