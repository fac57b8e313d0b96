"""Copy the shared formulas and one array backend out of ``schedspec/formulas.py``, verbatim.

Emitted modules contain the very functions that the evaluator and the adapters run, so parity holds by
construction: there is no second, hand-written copy of a formula to drift. Definitions are found by name in the
parsed source file (one snapshot, so a function and everything it uses always come from the same text), and what
each one uses is found by walking the names it loads: other functions, classes and module constants of
formulas.py are copied too; the only module they may use is ``math``. The torch param-group rule
(``schedspec/_param_groups.py``, shared with the torch adapter) is copied the same way (``module=``).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass

from .. import formulas

_ALLOWED_MODULES = {"math"}  # the only module a copied definition may use (emitted modules import it)

_Def = ast.FunctionDef | ast.ClassDef | ast.Assign | ast.AnnAssign


@dataclass(frozen=True)
class _Snapshot:
    lines: list[str]
    defs: dict[str, _Def]  # top-level functions, classes and constants by name
    imports: set[str]  # names bound by top-level imports


_cache: dict[tuple, _Snapshot] = {}


def _snapshot(module=formulas) -> _Snapshot:
    path = module.__file__
    try:
        st = os.stat(path)
        key = (path, st.st_mtime_ns, st.st_size)
        if key in _cache:
            return _cache[key]
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:  # pragma: no cover - an install without source files
        raise RuntimeError(f"schedspec.emit needs the source of schedspec/formulas.py ({exc})") from None
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


def closure(names: set[str], module=formulas) -> list[str]:
    """``names`` plus every module-level definition of formulas.py they use, in source order.

    Raises:
        LookupError: a name is not defined in formulas.py, or a definition uses a module other than ``math``.
    """
    snap = _snapshot(module)
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        node = snap.defs.get(name)
        if node is None:
            raise LookupError(f"{os.path.basename(module.__file__)} defines no {name!r}")
        seen.add(name)
        local = _bound_inside(node) if not isinstance(node, (ast.Assign, ast.AnnAssign)) else set()
        for sub in ast.walk(node):
            if not (isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)) or sub.id in local:
                continue
            if sub.id in snap.defs:
                todo.append(sub.id)
            elif sub.id in snap.imports and sub.id not in _ALLOWED_MODULES:
                raise LookupError(
                    f"{name!r} in {os.path.basename(module.__file__)} uses the module {sub.id!r}; emitted code imports only "
                    "math"
                )
    return sorted(seen, key=lambda n: snap.defs[n].lineno)


def modules_used(names: list[str], module=formulas) -> set[str]:
    """The modules (only ``math`` is allowed) that the named definitions use: what the emitted module imports."""
    snap = _snapshot(module)
    out = set()
    for name in names:
        node = snap.defs[name]
        local = _bound_inside(node) if not isinstance(node, (ast.Assign, ast.AnnAssign)) else set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in snap.imports and sub.id not in local:
                out.add(sub.id)
    return out


def source_of(names: list[str], module=formulas) -> list[str]:
    """The source text of each named top-level definition of ``module`` (formulas.py; decorators included)."""
    snap = _snapshot(module)
    out, done = [], set()
    for name in names:
        node = snap.defs[name]
        if id(node) in done:  # `a = b = ...` defines two names in one statement
            continue
        done.add(id(node))
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
        out.append("\n".join(snap.lines[first - 1 : node.end_lineno]))
    return out
