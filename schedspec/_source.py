"""The source of a spec: YAML text -> plain data plus the position of every value and key (:class:`Source`).

* YAML 1.2 core schema: ``1e-3`` is a float, only ``true``/``false`` are booleans (``yes``/``on`` stay strings),
  ``0o17``/``0x1f`` are ints, ``.inf``/``.nan`` are floats.
* A duplicate key is an error naming both lines. A tab in indentation, several documents, an explicit tag, a
  merge key (``<<``) or an oversized file each get a clear error. Every position is 1-based.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .errors import Issue, SpecError, format_path

MAX_BYTES = 1 << 20  # a real spec is a few KiB; anything over 1 MiB is refused before it is parsed
MAX_NODES = 100_000  # alias expansion ("billion laughs") guard
MAX_DEPTH = 64  # levels of lists and mappings; a real spec needs a handful (PyYAML's composer recurses per level)
TOO_DEEP = (
    f"the document is too deeply nested: more than {MAX_DEPTH} levels of lists and mappings (a spec needs only a "
    "few; a YAML alias that refers to itself?)"
)
TOO_LARGE = f"the document is too large: more than {MAX_NODES} values (YAML aliases expanding?)"


class _TooDeep(Exception):
    def __init__(self, mark):
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema implicit resolvers, refusing more than ``MAX_DEPTH`` levels of nesting
    before PyYAML's recursive composer can exhaust the Python stack (whatever the depth: 70 or 100,000)."""

    _depth = 0

    def compose_node(self, parent, index):
        depth = self._depth
        if depth > MAX_DEPTH:
            raise _TooDeep(self.peek_event().start_mark)
        self._depth = depth + 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth = depth


_Loader.yaml_implicit_resolvers = {}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])


@dataclass
class Source:
    """A spec's source: its data (plain dicts, lists and scalars), the file it came from, and the line and column of
    every value and key, keyed by path tuples (``("lr", 0, "duration")``); a dict given in Python has no positions."""

    data: object
    file: str
    positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    # the file each path was written in, where it is not ``file`` (a value inherited from a detectron2 ``_BASE_``
    # file is positioned in that file); a path absent here takes its nearest parent's file, else ``file``
    files: dict[tuple, str] = field(default_factory=dict)

    def file_of(self, path: tuple) -> str:
        """The file that wrote the value at ``path`` (its nearest parent's when it has no entry; else ``file``)."""
        p = tuple(path)
        while True:
            if p in self.files:
                return self.files[p]
            if not p:
                return self.file
            p = p[:-1]

    def written(self, path: tuple) -> tuple | None:
        """The longest prefix of ``path`` (``path`` itself included) that has a position, or None."""
        p = tuple(path)
        while p not in self.positions:
            if not p:
                return None
            p = p[:-1]
        return p

    def where(self, path: tuple, key: bool = False) -> tuple[int | None, int | None]:
        """The (line, col) of the value at ``path`` (or of its key), falling back to the nearest parent."""
        table = self.key_positions if key else self.positions
        p = tuple(path)
        if p in table:
            return table[p]
        parent = self.written(p[:-1]) if p else None
        return (None, None) if parent is None else self.positions[parent]

    def get(self, path: tuple):
        """The value at ``path`` in the data, or None when there is none."""
        cur = self.data
        for key in path:
            if isinstance(cur, dict) and key in cur:
                cur = cur[key]
            elif isinstance(cur, list) and isinstance(key, int) and 0 <= key < len(cur):
                cur = cur[key]
            else:
                return None
        return cur

    def issue(self, path: tuple, message: str, key: bool = False, severity: str = "error") -> Issue:

        line, col = self.where(path, key=key)
        return Issue(self.file_of(path), line, col, format_path(path), message, severity)


def find_mappings(data, match, root: tuple = ()) -> list[tuple]:
    """Paths (pre-order) of every mapping under ``data[root]`` whose ``kind`` satisfies ``match(kind)``."""
    found: list[tuple] = []

    def walk(x, path):
        if isinstance(x, dict):
            if match(x.get("kind")):
                found.append(path)
            for key, value in x.items():
                walk(value, path + (key,))
        elif isinstance(x, list):
            for i, value in enumerate(x):
                walk(value, path + (i,))

    cur = data
    for key in root:
        try:
            cur = cur[key]
        except (KeyError, IndexError, TypeError):
            return found
    walk(cur, tuple(root))
    return found


def _mark(node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _scalar(node: ScalarNode):
    tag, text = node.tag, node.value
    if tag == "tag:yaml.org,2002:str":
        return text
    if tag == "tag:yaml.org,2002:bool":
        return text.lower() == "true"
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:int":
        t = text.lstrip("+")
        if t.startswith("0o"):
            return int(t[2:], 8)
        if t.startswith("0x"):
            return int(t[2:], 16)
        return int(t)
    if tag == "tag:yaml.org,2002:float":
        low = text.lower().lstrip("+")
        if low in (".inf",):
            return math.inf
        if low == "-.inf":
            return -math.inf
        if low == ".nan":
            return math.nan
        return float(text)
    raise _NodeError(node, f"unsupported YAML tag '{tag}'; a spec holds only plain numbers, strings, lists and mappings")


class _NodeError(Exception):
    def __init__(self, node, message: str):
        self.node, self.message = node, message


def _tab_issues(text: str, file: str) -> list[Issue]:
    issues = []
    for i, line in enumerate(text.splitlines()):
        indent = len(line) - len(line.lstrip(" \t"))
        if "\t" in line[:indent] and line.strip() and not line.lstrip().startswith("#"):
            col = line.index("\t") + 1
            issues.append(
                Issue(file, i + 1, col, "<document>", "tab character in indentation; YAML indentation must use spaces")
            )
    return issues


def parse(text: str | bytes, file: str = "<string>") -> Source:
    """Parse YAML text into a :class:`Source`, or raise :class:`SpecError` with every position known."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise SpecError([_too_big(file, len(text))])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SpecError([Issue(file, 1, 1, "<document>", f"file is not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    if len(text) > MAX_BYTES:
        raise SpecError([_too_big(file, len(text.encode("utf-8", "replace")))])
    if text.startswith("\ufeff"):
        text = text[1:]
    tabs = _tab_issues(text, file)
    if tabs:
        raise SpecError(tabs)
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
    except _TooDeep as exc:
        raise SpecError([Issue(file, exc.mark.line + 1, exc.mark.column + 1, "<document>", TOO_DEEP)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "malformed YAML"
        if exc.context and "expected a single document" in exc.context:
            problem = "several YAML documents in one file; a spec is a single document (remove the extra '---')"
        else:
            problem = f"malformed YAML: {problem}" + (f" ({exc.context})" if exc.context else "")
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecError([Issue(file, line, col, "<document>", problem)]) from None
    except yaml.reader.ReaderError as exc:  # a control character
        before = text[: exc.position]
        line, col = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        raise SpecError(
            [Issue(file, line, col, "<document>", f"control character #x{exc.character:04x} is not allowed in YAML; remove it")]
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError([Issue(file, 1, 1, "<document>", f"malformed YAML: {exc}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        raise SpecError([Issue(file, 1, 1, "<document>", "the file is empty; a spec needs at least `schedspec: 1` and `lr`")])
    doc = Source(None, file)
    issues: list[Issue] = []
    budget = [MAX_NODES]

    def build(n, path: tuple, depth: int):
        budget[0] -= 1
        if depth > MAX_DEPTH:
            raise _NodeError(n, TOO_DEEP)
        if budget[0] < 0:
            raise _NodeError(n, TOO_LARGE)
        doc.positions[path] = _mark(n)
        if isinstance(n, ScalarNode):
            return _scalar(n)
        if n.tag not in ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"):
            raise _NodeError(n, f"unsupported YAML tag '{n.tag}'; a spec holds only plain numbers, strings, lists and mappings")
        if isinstance(n, SequenceNode):
            return [build(item, path + (i,), depth + 1) for i, item in enumerate(n.value)]
        assert isinstance(n, MappingNode)
        out: dict = {}
        first_line: dict = {}
        for knode, vnode in n.value:
            if not isinstance(knode, ScalarNode):
                issues.append(Issue(file, *_mark(knode), "<document>", "a mapping key must be a plain word, not a list or mapping"))
                continue
            if knode.tag == "tag:yaml.org,2002:merge" or knode.value == "<<":
                issues.append(Issue(file, *_mark(knode), "<document>", "YAML merge keys ('<<') are not supported; write the keys out"))
                continue
            key = _scalar(knode)
            if not isinstance(key, str):
                key = knode.value  # `1: x` -> key "1"; the models reject it with a clear message
            kpath = path + (key,)
            if key in out:

                issues.append(
                    Issue(
                        file,
                        *_mark(knode),
                        format_path(kpath),
                        f"duplicate key '{key}' (first defined on line {first_line[key]}); remove one of them",
                    )
                )
                continue
            first_line[key] = knode.start_mark.line + 1
            doc.key_positions[kpath] = _mark(knode)
            out[key] = build(vnode, kpath, depth + 1)
        return out

    try:
        doc.data = build(node, (), 0)
    except _NodeError as exc:
        issues.append(Issue(file, *_mark(exc.node), "<document>", exc.message))
    if issues:
        raise SpecError(issues)
    if not isinstance(doc.data, dict):
        what = "a list" if isinstance(doc.data, list) else f"the scalar {doc.data!r}"
        raise SpecError([Issue(file, 1, 1, "<document>", f"the top level must be a mapping (`schedspec: 1`, `lr: ...`), got {what}")])
    return doc


def check_shape(data, file: str) -> None:
    """Refuse data (a spec given as a Python dict) nested more than ``MAX_DEPTH`` levels deep or holding more than
    ``MAX_NODES`` values, as :func:`parse` does for text; iterative, so any depth (and cyclic data) is reported.

    Raises:
        SpecError: positioned at the path of the first value found too deep.
    """

    stack = [(data, (), 0)]
    count = 0
    while stack:
        x, path, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise SpecError([Issue(file, None, None, format_path(path), TOO_DEEP)])
        if count > MAX_NODES:
            raise SpecError([Issue(file, None, None, format_path(path), TOO_LARGE)])
        if isinstance(x, dict):
            stack.extend((v, path + (k,), depth + 1) for k, v in reversed(x.items()))
        elif isinstance(x, (list, tuple)):
            stack.extend((v, path + (i,), depth + 1) for i, v in reversed(list(enumerate(x))))


def _too_big(file: str, size: int) -> Issue:
    return Issue(
        file,
        1,
        1,
        "<document>",
        f"file is {size / (1 << 20):.1f} MiB; schedspec refuses specs over {MAX_BYTES >> 20} MiB (is this the right file?)",
    )


def read(path: str) -> Source:
    """Read and parse a spec file (refusing oversized files before reading them)."""

    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise SpecError([Issue(str(path), None, None, "<document>", f"cannot read the file: {exc.strerror}")]) from None
    if size > MAX_BYTES:
        raise SpecError([_too_big(str(path), size)])
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SpecError([Issue(str(path), None, None, "<document>", f"cannot read the file: {exc.strerror}")]) from None
    return parse(raw, str(path))
