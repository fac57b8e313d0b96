"""``load`` / ``loads``: text or dict -> a validated, lowered :class:`Spec`."""

from __future__ import annotations

import functools
import os
from typing import Any

from . import _source, ir, lower
from .errors import Issue, SpecError, format_path


class Spec:
    """A loaded spec: the validated document, its resolved IR (``program``) and its warnings.

    Attributes:
        file: where it came from (``"<string>"`` or ``"<dict>"`` when not a file).
        model: the validated :class:`schedspec.language.Document`.
        program: the resolved :class:`schedspec.ir.Program`.
        warnings: problems that are not errors (``check --strict`` turns them into errors).
    """

    def __init__(self, doc: _source.Source, model, program: ir.Program, warnings: list[Issue]):
        self.doc, self.model, self.program, self.warnings = doc, model, program, warnings
        self._cache: dict = {}

    @property
    def file(self) -> str:
        return self.doc.file

    @property
    def name(self) -> str:
        return self.program.name or os.path.basename(self.file)

    @property
    def hparams(self) -> list[str]:
        return list(self.program.hparams)

    @functools.cached_property
    def fingerprint(self) -> str:
        """Short hash of the canonical resolved schedule (scalar vars folded in); computed once per Spec."""
        return ir.fingerprint(lower.bind(self.program))

    def canonical_json(self) -> str:
        return ir.canonical(lower.bind(self.program))

    def with_vars(self, overrides: dict[str, Any]) -> Spec:
        """The same spec with some vars set (a value, or a list for a sweep)."""
        program, warnings = lower.lower(self.model, self.doc, overrides)
        return Spec(self.doc, self.model, program, warnings)

    def bound(self, member: dict | None = None) -> ir.Program:
        """The program with vars substituted (scalar vars, and sweep vars from ``member``)."""
        return lower.bind(self.program, member)

    @property
    def notes(self) -> list[Issue]:
        """The framework quirks this spec relies on (``torch.*``, ``keras.*``, ``optax.*`` kinds), each naming the
        neutral spelling; ``schedspec check`` prints them. Not problems: ``--strict`` ignores them."""
        if "notes" not in self._cache:
            from .native import relower

            self._cache["notes"] = relower(self)[0]
        return self._cache["notes"]

    def to_yaml(self) -> str:
        """The document as YAML text (comments are not kept); ``loads(spec.to_yaml())`` has the same fingerprint."""
        from ._dump import dump

        return dump(self.doc.data)

    def kind_paths(self, kind: str, hparam: str | None = None) -> list[tuple]:
        """Paths in the document of every mapping with ``kind: <kind>`` (under ``hparam`` if given)."""
        data = self.doc.data if isinstance(self.doc.data, dict) else {}
        found: list[tuple] = []
        for name in data:
            if name != "vars" and (hparam is None or name == hparam):
                found += _source.find_mappings(data, lambda k: k == kind, (name,))
        return found

    def unsupported(self, kind: str, what: str, hparam: str | None = None) -> SpecError:
        """A SpecError positioned at every ``kind`` phase: ``what`` says which target or feature lacks it."""
        issues = [
            self.doc.issue(p, f"{format_path(p)}: the `{kind}` kind is not supported {what}")
            for p in self.kind_paths(kind, hparam)
        ]
        return SpecError(issues or [Issue(self.file, None, None, hparam or "<document>", f"the `{kind}` kind is not supported {what}")])

    def _repr_svg_(self) -> str | None:
        """Jupyter display: the schedule as an SVG plot (None when matplotlib is missing)."""
        try:
            from .plotting import repr_svg
        except ImportError:
            return None
        return repr_svg(self)

    def __repr__(self) -> str:
        return f"<schedspec.Spec {self.name!r} fingerprint={self.fingerprint} hparams={self.hparams}>"


def _finish(doc: _source.Source) -> Spec:
    model = lower.validate(doc)
    program, warnings = lower.lower(model, doc)
    return Spec(doc, model, program, warnings)


def loads(text: str | bytes, file: str = "<string>") -> Spec:
    """Load a spec from YAML text. Raises :class:`SpecError` listing every problem.

    >>> spec = loads("schedspec: 1\\nlr: [{kind: linear, duration: 10, start: 0, end: 0.1}, {kind: cosine, duration: 90}]")
    >>> spec.program.hparams["lr"].duration
    100
    """
    return _finish(_source.parse(text, file))


def load(source: str | os.PathLike | dict | Spec) -> Spec:
    """Load a spec from a file path, or from a Python dict (no line numbers then, the same paths)."""
    if isinstance(source, Spec):
        return source
    if isinstance(source, dict):
        return _finish(_source.Source(source, "<dict>"))
    if isinstance(source, (str, os.PathLike)):
        return _finish(_source.read(os.fspath(source)))
    raise SpecError([Issue("<spec>", None, None, "<document>", f"cannot load a spec from {type(source).__name__}")])
