"""The positions of an MMEngine ``.py`` config, read with :mod:`ast` and never executed (:func:`mmengine_source`).

mmengine reads a ``.py`` config by executing it (``Config.fromfile``); schedspec never does. Once mmengine has
produced the config's data, this module parses the file's text (and its ``_base_`` files') with ``ast.parse``,
which builds a syntax tree and runs nothing, to say where each value of that data was written:

* a module-level assignment ``name = <literal>`` positions ``name``'s value; a literal is a number, a string,
  ``True``/``False``/``None``, a signed number (``-1``), a ``dict(key=...)`` call, a ``{...}`` mapping, a list or a
  tuple, nested as deep as written. Each value is positioned at its first character and each key (a ``dict(...)``
  keyword, a ``{...}`` key, the assigned name) at its own: 1-based line and column, counted in characters as the
  YAML positions are (``ast`` counts UTF-8 bytes);
* ``_base_`` (a string or a list of strings) is resolved as mmengine resolves it, relative to the file that
  names it; a ``.py`` base is read the same way, a ``.yaml``/``.json`` base by :mod:`schedspec._source`. A base
  scoped to a package (``mmdet::...``) is not resolved (its values are positioned at their nearest written
  ancestor, as any value without a position). The bases' top-level names are merged, then the file's own
  assignments over them by mmengine's rule (``Config._merge_a_into_b``): a mapping written over a mapping merges
  key by key, unless it sets ``_delete_=True``; anything else replaces. So an inherited value points into the base
  file that wrote it, and a value the child overrides points at the child's override;
* a value computed by an expression (a variable, arithmetic, a call other than ``dict``, ``{{_base_.x}}``, a
  comprehension) has no position of its own: an error about it points at its nearest written ancestor
  (:meth:`schedspec._source.Source.written`). So does a name assigned again inside a statement (``if``, ``for``,
  ``with``, an import), changed through an item or an attribute, or by a method call (``x.update(...)``);
* every position is checked against the data mmengine produced: a literal whose value differs from it (changed
  by code the reader does not follow) positions nothing, so a position never points at a value that was not used.

The pure-Python ("lazy import") configs that inherit with ``with read_base(): from .base import *`` get the
positions of their own assignments; their bases are not followed.
"""

from __future__ import annotations

import ast
import os
from typing import Any

from .._source import MAX_BYTES, Source, read
from ..errors import SpecError

MAX_BASES = 32  # a `_base_` chain deeper than this is not followed further (mmengine would recurse)
DELETE_KEY = "_delete_"
BASE_KEY = "_base_"
Pos = tuple[int, int]


class _Node:
    """A value as written: ``kind`` "map" (``items``: key -> _Node), "seq" (``items``: list), "scalar"
    (``value``) or "opaque" (computed: no position); ``partial``: a map or seq with ``**x``/``*x`` unpacked into
    it (its other items may be overridden or shifted: only the value check decides); ``delete``: ``_delete_=True``."""

    __slots__ = ("file", "pos", "key_pos", "kind", "items", "value", "partial", "delete")

    def __init__(self, file: str, pos: Pos | None, kind: str, items: Any = None, value: Any = None,
                 partial: bool = False, delete: bool = False) -> None:  # fmt: skip
        self.file, self.pos, self.kind, self.items, self.value = file, pos, kind, items, value
        self.partial, self.delete = partial, delete
        self.key_pos: Pos | None = None


def _opaque(file: str) -> _Node:
    return _Node(file, None, "opaque")


class _File:
    """One ``.py`` file's text: ``ast`` byte offsets to 1-based character columns."""

    def __init__(self, path: str, text: str) -> None:
        self.path, self.lines = path, text.splitlines()

    def pos(self, node: Any) -> Pos:
        line = self.lines[node.lineno - 1] if 0 < node.lineno <= len(self.lines) else ""
        col = len(line.encode("utf-8")[: node.col_offset].decode("utf-8", "replace"))
        return node.lineno, col + 1

    def literal(self, expr: ast.expr) -> _Node:
        """The value ``expr`` writes, as a tree of nodes; anything but a literal is opaque."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, (str, int, float, bool, type(None))):
            return _Node(self.path, self.pos(expr), "scalar", value=expr.value)
        if (isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd))
                and isinstance(expr.operand, ast.Constant) and type(expr.operand.value) in (int, float)):  # fmt: skip
            v = expr.operand.value
            return _Node(self.path, self.pos(expr), "scalar", value=-v if isinstance(expr.op, ast.USub) else v)
        if isinstance(expr, ast.Dict):
            return self._mapping(expr, [(k, v, k) for k, v in zip(expr.keys, expr.values, strict=True)])
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "dict":
            node = self._mapping(expr, [(None if kw.arg is None else ast.Constant(kw.arg), kw.value, kw)
                                        for kw in expr.keywords])  # fmt: skip
            node.partial = node.partial or bool(expr.args)  # dict(other, a=1): other's keys are not written here
            return node
        if isinstance(expr, (ast.List, ast.Tuple)):
            items, partial = [], False
            for e in expr.elts:
                if isinstance(e, ast.Starred):  # the items after it are shifted by an unknown length
                    partial = True
                    break
                items.append(self.literal(e))
            return _Node(self.path, self.pos(expr), "seq", items=items, partial=partial)
        return _opaque(self.path)

    def _mapping(self, expr: ast.expr, entries: list) -> _Node:
        node = _Node(self.path, self.pos(expr), "map", items={})
        for key, value, at in entries:
            if key is None:  # **other
                node.partial = True
                continue
            if not (isinstance(key, ast.Constant) and isinstance(key.value, (str, int))):
                node.partial = True  # a computed key: which key it is is not written
                continue
            if key.value == DELETE_KEY:
                node.delete = isinstance(value, ast.Constant) and value.value is True
                continue
            child = self.literal(value)
            child.key_pos = self.pos(at)
            node.items[key.value] = child
        return node


def _stored_names(stmt: ast.stmt) -> set[str]:
    """Every name a statement binds or may change (at any depth, function bodies aside)."""
    names: set[str] = set()
    stack: list[ast.AST] = [stmt]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(n.name)
            continue
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in n.names)
        elif isinstance(n, (ast.Subscript, ast.Attribute)) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(_root(n))
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):  # x.update(...), x[0].append(...)
            names.add(_root(n.func.value))
        stack.extend(ast.iter_child_nodes(n))
    names.discard("")
    return names


def _root(expr: ast.expr) -> str:
    while isinstance(expr, (ast.Subscript, ast.Attribute)):
        expr = expr.value
    return expr.id if isinstance(expr, ast.Name) else ""


def _read_py(path: str) -> tuple[dict[str, _Node], list[str] | None] | None:
    """A ``.py`` file's module-level values and its ``_base_`` list (None: not literal strings); None when the
    file cannot be read or parsed (mmengine, which read it first, says why)."""
    try:
        if os.stat(path).st_size > MAX_BYTES:
            return None
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        tree = ast.parse(text, filename=path)  # parsing builds a tree; nothing of the file runs
        return _module(_File(path, text), tree)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError):
        return None


def _module(f: _File, tree: ast.Module) -> tuple[dict[str, _Node], list[str] | None]:
    path = f.path
    own: dict[str, _Node] = {}
    bases: list[str] | None = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for name in _stored_names(ast.Expr(stmt.value)):  # x.pop(...) or (y := ...) inside the value
                own[name] = _opaque(path)
            for target in targets:
                if isinstance(target, ast.Name):
                    node = f.literal(stmt.value)
                    node.key_pos = f.pos(target)
                    own[target.id] = node
                    if target.id == BASE_KEY:
                        bases = _base_list(node)
                else:
                    for name in _stored_names(ast.Expr(target)):
                        own[name] = _opaque(path)
            continue
        for name in _stored_names(stmt):
            own[name] = _opaque(path)
            if name == BASE_KEY:
                bases = None
    own.pop(BASE_KEY, None)
    return own, bases


def _base_list(node: _Node) -> list[str] | None:
    if node.kind == "scalar" and isinstance(node.value, str):
        return [node.value]
    if node.kind == "seq" and not node.partial and all(i.kind == "scalar" and isinstance(i.value, str)
                                                       for i in node.items):  # fmt: skip
        return [i.value for i in node.items]
    return None


def _from_source(src: Source) -> dict[str, _Node]:
    """A YAML/JSON base file's top level as nodes (its positions from :mod:`schedspec._source`)."""

    def node(x: Any, path: tuple) -> _Node:
        pos = src.positions.get(path)
        if isinstance(x, dict):
            n = _Node(src.file, pos, "map", items={})
            for k, v in x.items():
                if k == DELETE_KEY:
                    n.delete = v is True
                    continue
                n.items[k] = node(v, path + (k,))
                n.items[k].key_pos = src.key_positions.get(path + (k,))
            return n
        if isinstance(x, list):
            return _Node(src.file, pos, "seq", items=[node(v, path + (i,)) for i, v in enumerate(x)])
        return _Node(src.file, pos, "scalar", value=x)

    if not isinstance(src.data, dict):  # not a config mmengine reads (it refused it first)
        return {}
    top = node(src.data, ())
    top.items.pop(BASE_KEY, None)
    return top.items


def _bases_of(src: Source) -> list[str] | None:
    b = src.data.get(BASE_KEY, []) if isinstance(src.data, dict) else []
    b = [b] if isinstance(b, str) else b
    return b if isinstance(b, list) and all(isinstance(x, str) for x in b) else None


def _tree(path: str, chain: list[str]) -> dict[str, _Node]:
    """The top level of ``path`` with its bases merged under it, as mmengine's ``Config._file2dict`` merges."""
    if path.endswith(".py"):
        got = _read_py(path)
        if got is None:
            return {}
        own, bases = got
    else:
        try:
            src = read(path)
        except SpecError:
            return {}
        own, bases = _from_source(src), _bases_of(src)
    merged: dict[str, _Node] = {}
    for base in bases or []:
        if "::" in base or len(chain) >= MAX_BASES:  # a package's config (mmdet::...): not resolved here
            continue
        full = os.path.normpath(os.path.join(os.path.dirname(path), base))
        if os.path.realpath(full) in chain:
            continue
        merged.update(_tree(full, [*chain, os.path.realpath(full)]))  # mmengine refuses a key in two bases: no order to decide
    for key, node in own.items():
        merged[key] = _merge(node, merged.get(key))
    return merged


def _merge(a: _Node, b: _Node | None) -> _Node:
    """``a`` (the child's) written over ``b`` (the base's): mmengine's ``Config._merge_a_into_b``."""
    if a.kind != "map" or b is None or b.kind != "map" or a.delete:
        return a
    out = _Node(a.file, a.pos, "map", items=dict(b.items), partial=a.partial or b.partial)
    out.key_pos = a.key_pos
    for k, v in a.items.items():
        out.items[k] = _merge(v, b.items.get(k))
    return out


def _agrees(node: _Node, value: Any) -> bool:
    """The data mmengine produced at a path is the value written there."""
    if node.kind == "map":
        return isinstance(value, dict)
    if node.kind == "seq":
        return isinstance(value, (list, tuple)) and (node.partial or len(value) == len(node.items))
    if node.kind != "scalar" or isinstance(value, (dict, list, tuple)):
        return False
    if isinstance(value, bool) or isinstance(node.value, bool):
        return type(value) is type(node.value) and value == node.value
    if isinstance(value, (int, float)) and isinstance(node.value, (int, float)):
        return value == node.value
    return type(value) is type(node.value) and value == node.value


def mmengine_source(path: str, data: dict) -> Source:
    """``data`` (what mmengine's ``Config.fromfile(path).to_dict()`` returned) with the position of every value the
    config files wrote as a literal (see the module's docstring); nothing of the files is executed or imported.

    Args:
        path: the ``.py`` config (its ``_base_`` files are found relative to it).
        data: the config's data, as mmengine produced it.

    Returns:
        A :class:`schedspec._source.Source` of ``data``: ``positions``/``key_positions`` (1-based line and column)
        for the written values, ``files`` naming the base file for a value inherited from one; the root at 1:1 of
        ``path``. A file that cannot be read or parsed contributes no positions (mmengine read it first).
    """
    tree = _tree(path, [os.path.realpath(path)])
    src = Source(data, path)

    def fill(node: _Node | None, value: Any, p: tuple) -> None:
        if node is None or node.pos is None or not _agrees(node, value):
            return
        src.positions[p] = node.pos
        if node.key_pos is not None:
            src.key_positions[p] = node.key_pos
        src.files[p] = node.file  # every written path names its file (a child of a base's value may be the top's)
        if node.kind == "map":
            for k, v in value.items():
                fill(node.items.get(k), v, p + (k,))
        elif node.kind == "seq":
            for i, v in enumerate(value):
                fill(node.items[i] if i < len(node.items) else None, v, p + (i,))

    if isinstance(data, dict):
        for key, value in data.items():
            fill(tree.get(key), value, (key,))
    src.positions.setdefault((), (1, 1))
    return src


__all__ = ["mmengine_source"]
