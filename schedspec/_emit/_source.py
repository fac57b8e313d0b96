"""Copy the shared formulas and one array backend out of ``schedspec/formulas.py`` and ``schedspec/backends.py``,
verbatim.

Emitted modules contain the very functions that the evaluator and the adapters run, so parity holds by
construction: there is no second, hand-written copy of a formula to drift. Definitions are found by name in the
parsed source file (one snapshot, so a function and everything it uses always come from the same text), and what
each one uses is found by walking the names it loads: other functions, classes and module constants of
formulas.py and backends.py (one namespace: backends.py imports its helpers from formulas.py) are copied too; the only module they may use is ``math``. The torch param-group rule
(``schedspec/_param_groups.py``, shared with the torch adapter) is copied the same way (``module=``).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass

from .. import backends, formulas

_ALLOWED_MODULES = {"math"}  # the only module a copied definition may use (emitted modules import it)

_Def = ast.FunctionDef | ast.ClassDef | ast.Assign | ast.AnnAssign


@dataclass(frozen=True)
class _Snapshot:
    lines: list[str]
    defs: dict[str, _Def]  # top-level functions, classes and constants by name
    imports: set[str]  # names bound by top-level imports


_cache: dict[tuple, _Snapshot] = {}

FORMULAS = (formulas, backends)  # the default namespace, in the order their definitions are emitted


@dataclass(frozen=True)
class _Found:
    node: _Def
    snap: _Snapshot
    order: tuple[int, int]  # (module, line): source order across the modules


def _namespace(module) -> tuple[dict[str, _Found], str]:
    """Every top-level definition of ``module`` (a module, or a tuple of them read as one namespace: the first
    definition of a name wins, so an imported helper resolves to its own module's definition) and a label."""
    mods = module if isinstance(module, tuple) else (module,)
    defs: dict[str, _Found] = {}
    for i, m in enumerate(mods):
        snap = _snapshot(m)
        for name, node in snap.defs.items():
            defs.setdefault(name, _Found(node, snap, (i, node.lineno)))
    return defs, " / ".join(os.path.basename(m.__file__) for m in mods)


def _snapshot(module) -> _Snapshot:
    path = module.__file__
    try:
        st = os.stat(path)
        key = (path, st.st_mtime_ns, st.st_size)
        if key in _cache:
            return _cache[key]
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:  # pragma: no cover - an install without source files
        raise RuntimeError(f"schedspec.emit needs the source of {path} ({exc})") from None
    tree = ast.parse(text, filename=path)
    defs: dict[str, _Def] = {}
    imports: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defs[node.name] = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    defs[t.id] = node
    snap = _Snapshot(text.splitlines(), defs, imports)
    for old in [k for k in _cache if k[0] == path]:
        del _cache[old]
    _cache[key] = snap
    return snap


def _bound_inside(node: ast.AST) -> set[str]:
    """Names a definition binds itself: arguments, assignments, loop targets, local imports."""
    out: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.arg):
            out.add(sub.arg)
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            out.add(sub.id)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in sub.names)
    return out


def closure(names: set[str], module=FORMULAS) -> list[str]:
    """``names`` plus every module-level definition of ``module`` (default: formulas.py and backends.py) they use,
    in source order.

    Raises:
        LookupError: a name is not defined there, or a definition uses a module other than ``math``.
    """
    defs, label = _namespace(module)
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        d = defs.get(name)
        if d is None:
            raise LookupError(f"{label} defines no {name!r}")
        seen.add(name)
        node = d.node
        local = _bound_inside(node) if not isinstance(node, (ast.Assign, ast.AnnAssign)) else set()
        for sub in ast.walk(node):
            if not (isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)) or sub.id in local:
                continue
            if sub.id in defs:
                todo.append(sub.id)
            elif sub.id in d.snap.imports and sub.id not in _ALLOWED_MODULES:
                raise LookupError(f"{name!r} in {label} uses the module {sub.id!r}; emitted code imports only math")
    return sorted(seen, key=lambda n: defs[n].order)


def modules_used(names: list[str], module=FORMULAS) -> set[str]:
    """The modules (only ``math`` is allowed) that the named definitions use: what the emitted module imports."""
    defs, _ = _namespace(module)
    out = set()
    for name in names:
        d = defs[name]
        local = _bound_inside(d.node) if not isinstance(d.node, (ast.Assign, ast.AnnAssign)) else set()
        for sub in ast.walk(d.node):
            if (isinstance(sub, ast.Name) and sub.id in d.snap.imports and sub.id not in local
                    and sub.id not in defs):  # fmt: skip
                out.add(sub.id)
    return out


def source_of(names: list[str], module=FORMULAS) -> list[str]:
    """The source text of each named top-level definition of ``module`` (decorators included)."""
    defs, _ = _namespace(module)
    out, done = [], set()
    for name in names:
        d = defs[name]
        if id(d.node) in done:  # `a = b = ...` defines two names in one statement
            continue
        done.add(id(d.node))
        first = min([d.node.lineno, *(x.lineno for x in getattr(d.node, "decorator_list", ()))])
        out.append("\n".join(d.snap.lines[first - 1 : d.node.end_lineno]))
    return out
