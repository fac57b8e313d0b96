"""The layout holds: schedspec's modules import each other without a cycle, library modules never import the CLI,
imports inside functions are only for the heavy frameworks, no module is over 800 lines, and nothing in the
repository cites a file outside it.

The import graph is read with ``ast`` from the source (every ``import`` and ``from ... import``, relative and
absolute, at module level and inside functions). Its nodes are the modules of ``schedspec`` (``adapters/`` counted
as ``schedspec.adapters``, what it installs as). An edge A -> B is an import of B by A; importing ``a.b.c`` also
runs the ``__init__`` of the package ``a.b``, so that is an edge too. ``schedspec/__init__.py`` is the facade: a
``from . import x`` of a submodule is not an edge to it, and its lazy names (``_LAZY``) are its edges.

``python tests/test_architecture.py [-v]`` prints the summary (modules, edges, cycles, largest modules).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FACADE = "schedspec"
MAX_LINES = 800

# imports that may sit inside a function, anywhere: the heavy frameworks (and numpy, a core dependency kept out of
# `import schedspec`, `check -q` and `schema`, which need no array)
LAZY_ANYWHERE = {"jax", "torch", "keras", "optax", "matplotlib", "numpy"}
# modules where an import inside a function is the design, with the reason
LAZY_MODULES = {
    "schedspec": "the facade: its lazy names load the evaluator, the adapters, the emitters, plotting on first use",
    "schedspec.cli": "the CLI loads what a subcommand needs when it runs, so `schedspec check` stays fast",
}
# files that may name a document outside the repository: this test (which looks for them)
CITATION_EXEMPT = {"tests/test_architecture.py"}
CITATIONS = re.compile(r"SPEC\.md|SPEC §|framework-semantics|reference §|\.\./shared")


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Module name -> source file, for every module of schedspec (adapters/ as schedspec.adapters)."""
    out = {}
    for p in sorted((root / "schedspec").rglob("*.py")):
        rel = p.relative_to(root)
        if rel.parts[1] == "adapters":
            continue  # the symlink to ../adapters: listed from adapters/ below
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = p
    for p in sorted((root / "adapters").glob("*.py")):
        out["schedspec.adapters" if p.stem == "__init__" else f"schedspec.adapters.{p.stem}"] = p
    return out


def imports(name: str, path: Path):
    """``(module, imported name or None, line, inside a function)`` of every import statement of a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    in_function = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function.update(id(n) for n in ast.walk(fn))
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            for alias in n.names:
                yield alias.name, None, n.lineno, id(n) in in_function
        elif isinstance(n, ast.ImportFrom):
            if n.level:
                base = package.split(".")
                base = base[: len(base) - (n.level - 1)] if n.level > 1 else base
                module = ".".join(base + ([n.module] if n.module else []))
            else:
                module = n.module or ""
            for alias in n.names:
                yield module, alias.name, n.lineno, id(n) in in_function


def lazy_names(path: Path) -> dict[str, tuple[str, str]]:
    """The facade's ``_LAZY`` table (name -> (module, attribute)), read from its source."""
    for n in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_LAZY" for t in n.targets):
            return ast.literal_eval(n.value)
    return {}


def graph(root: Path = ROOT) -> tuple[dict[str, Path], dict[str, set[str]]]:
    """``(modules, edges)``: ``edges[a]`` is the set of schedspec modules ``a`` imports (see the module docs)."""
    mods = modules(root)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        found = [(module, attr) for module, attr, _, _ in imports(name, path)]
        if name == FACADE:
            found += [(f"{FACADE}.{module}", None) for module, _ in lazy_names(path).values()]
        for module, attr in found:
            if module != FACADE and not module.startswith(FACADE + "."):
                continue
            sub = f"{module}.{attr}" if attr else None
            target = sub if sub in mods else module
            if target not in mods or target == name:
                continue
            if target == FACADE and sub in mods:
                continue  # `from . import x`: the submodule, not the facade
            edges[name].add(target)
            parts = target.split(".")
            for i in range(2, len(parts)):  # the packages on the way run their __init__
                parent = ".".join(parts[:i])
                if parent in mods and parent != name and not name.startswith(parent + "."):
                    edges[name].add(parent)
    return mods, edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def summary(root: Path = ROOT) -> str:
    mods, edges = graph(root)
    comps = cycles(edges)
    sizes = sorted(((len(p.read_text(encoding="utf-8").splitlines()), m) for m, p in mods.items()), reverse=True)
    lines = [f"modules {len(mods)}, edges {sum(len(v) for v in edges.values())}, cycles {len(comps)}"]
    lines += [f"  cycle: {' '.join(c)}" for c in comps]
    lines.append("largest: " + ", ".join(f"{m} {n}" for n, m in sizes[:10]))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ the tests
def test_import_graph_has_no_cycle():
    mods, edges = graph()
    print(summary())  # the numbers the notes quote (pytest -s)
    assert len(mods) > 30 and sum(map(len, edges.values())) > 50  # the graph was read
    assert cycles(edges) == []


def test_library_modules_never_import_the_cli():
    mods, edges = graph()
    offenders = [(m, t) for m, ts in edges.items() for t in ts
                 if (t == "schedspec.cli" or t.startswith("schedspec.cli.")) and not m.startswith("schedspec.cli")
                 and m not in ("schedspec.__main__",)]  # fmt: skip
    assert offenders == []


def _lazy_allowed(name: str, module: str) -> bool:
    if module.split(".")[0] in LAZY_ANYWHERE:
        return True
    return name == FACADE or any(m != FACADE and (name == m or name.startswith(m + ".")) for m in LAZY_MODULES)


def test_imports_inside_functions_are_only_for_the_heavy_frameworks():
    offenders = []
    for name, path in modules().items():
        for module, attr, line, in_function in imports(name, path):
            if in_function and not _lazy_allowed(name, module):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {module}{'.' + attr if attr else ''}")
    assert offenders == []


def test_no_module_is_over_800_lines():
    big = {m: n for m, p in modules().items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert big == {}


def test_nothing_cites_a_file_outside_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    offenders = []
    for rel in files:
        if rel in CITATION_EXEMPT or not (ROOT / rel).is_file():
            continue
        try:
            text = (ROOT / rel).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        offenders += [f"{rel}:{i}" for i, line in enumerate(text.splitlines(), 1) if CITATIONS.search(line)]
    assert offenders == []


def test_the_checks_can_fail(tmp_path):
    """The graph and the rules see what they look for, on a small package written here."""
    pkg = tmp_path / "schedspec"
    (pkg / "cli").mkdir(parents=True)
    (tmp_path / "adapters").mkdir()
    (pkg / "__init__.py").write_text("from .a import f as f\n_LAZY = {'g': ('b', 'g')}\n")
    (pkg / "a.py").write_text("from . import b\n\ndef f():\n    from .cli import main\n    import yaml\n")
    (pkg / "b.py").write_text("from .a import f\n")
    (pkg / "cli" / "__init__.py").write_text("def main():\n    from .. import b\n")
    mods, edges = graph(tmp_path)
    assert set(mods) == {"schedspec", "schedspec.a", "schedspec.b", "schedspec.cli"}
    assert edges["schedspec"] == {"schedspec.a", "schedspec.b"}
    assert edges["schedspec.a"] == {"schedspec.b", "schedspec.cli"}
    assert cycles(edges) == [["schedspec.a", "schedspec.b", "schedspec.cli"]]
    lazy = [(m, mod) for m, p in mods.items() for mod, _, _, fn in imports(m, p) if fn and not _lazy_allowed(m, mod)]
    assert lazy == [("schedspec.a", "schedspec.cli"), ("schedspec.a", "yaml")]


def test_public_surface_has_real_signatures_and_an_explicit_all():
    import inspect

    import schedspec

    assert "group" in inspect.signature(schedspec.evaluate).parameters
    assert "shard" in inspect.signature(schedspec.evaluate).parameters
    assert "group" in inspect.signature(schedspec.to_optax).parameters
    assert "block_size" in inspect.signature(schedspec.to_torch).parameters
    assert "max_reports" in inspect.signature(schedspec.to_keras).parameters
    assert "monitor" in inspect.signature(schedspec.from_torch).parameters
    for name in schedspec.__all__:
        value = getattr(schedspec, name)
        assert value is not None, name
        if callable(value) and not isinstance(value, type):
            assert "kwargs" not in inspect.signature(value).parameters, name  # the real function, not a wrapper
    assert sorted(schedspec.__all__) == sorted(set(schedspec.__all__))
    assert set(schedspec._LAZY) <= set(schedspec.__all__)


def test_a_lazy_name_whose_framework_is_missing_still_resolves(monkeypatch):
    """``from schedspec import *`` and ``hasattr`` work without torch; calling ``to_torch`` says what to install."""
    import importlib

    import pytest

    import schedspec

    real = importlib.import_module

    def without_torch(name, *args):
        if name == "schedspec.adapters.torch":
            raise schedspec.MissingDependency("torch", "torch")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_torch)
    monkeypatch.delitem(vars(schedspec), "to_torch", raising=False)  # not cached yet in this process
    fn = schedspec.to_torch
    assert fn.__name__ == "to_torch" and "to_torch" not in vars(schedspec)
    with pytest.raises(schedspec.MissingDependency, match=r"pip install 'schedspec\[torch\]'"):
        fn("spec.yaml", None)


if __name__ == "__main__":
    print(summary())
    if "-v" in sys.argv:
        _, edges = graph()
        for m in sorted(edges):
            print(m, "->", " ".join(sorted(edges[m])))
