"""A loaded schedule, :class:`Spec`, and the ways to get one: :func:`load` (a file or a dict), :func:`loads` (YAML
text), :func:`from_torch` (a live torch scheduler) and :func:`from_keras` (a live Keras schedule).

Loading is: source text -> data with positions (:mod:`schedspec._source`) -> the language's models
(:func:`schedspec.lowering.validate`) -> the IR (:func:`schedspec.lowering.lower`).
"""

from __future__ import annotations

import functools
import os
from typing import Any

from . import _source, ir
from ._dump import dump
from .dialects import configs, import_timm, import_transformers, importers
from .errors import Issue, SpecError, format_path
from .lowering import Lowered, bind, lower, validate


class Spec:
    """A loaded spec: the validated document, its resolved IR (``program``) and its warnings.

    Attributes:
        file: where it came from (``"<string>"`` or ``"<dict>"`` when not a file).
        doc: its :class:`schedspec._source.Source` (the data and the position of every value).
        model: the validated :class:`schedspec.language.Document`.
        program: the resolved :class:`schedspec.ir.Program`.
        warnings: problems that are not errors (``check --strict`` turns them into errors).
        notes: the framework quirks this spec relies on (``torch.*``, ``keras.*``, ``optax.*`` kinds), each naming
            the neutral spelling; ``schedspec check`` prints them. Not problems: ``--strict`` ignores them.
        desugared: the neutral data of each outermost framework-kind node, by document path (``translate``).
    """

    # Jupyter's SVG view: set by ``schedspec/__init__`` (plotting sits above this module and loads lazily)
    svg_renderer: Any = None

    def __init__(self, doc: _source.Source, model, lowered: Lowered):
        self.doc, self.model = doc, model
        self.program, self.warnings = lowered.program, lowered.warnings
        self.notes, self.desugared = lowered.notes, lowered.desugared
        self._cache: dict = {}  # per-spec caches of the evaluators (compiled functions)

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
        return ir.fingerprint(bind(self.program))

    def canonical_json(self) -> str:
        return ir.canonical(bind(self.program))

    def with_vars(self, overrides: dict[str, Any]) -> Spec:
        """The same spec with some vars set (a value, or a list for a sweep); its notes are the document's."""
        lowered = lower(self.model, self.doc, overrides)
        return Spec(self.doc, self.model, Lowered(lowered.program, lowered.warnings, self.notes, self.desugared))

    def bound(self, member: dict | None = None) -> ir.Program:
        """The program with vars substituted (scalar vars, and sweep vars from ``member``)."""
        return bind(self.program, member)

    def to_yaml(self) -> str:
        """The document as YAML text (comments are not kept); ``loads(spec.to_yaml())`` has the same fingerprint."""
        return dump(self.doc.data)

    def kind_paths(self, kind: str, hparam: str | None = None) -> list[tuple]:
        """Paths in the document of every mapping with ``kind: <kind>`` (under ``hparam`` if given)."""
        data = self.doc.data if isinstance(self.doc.data, dict) else {}
        found: list[tuple] = []
        for name in data:
            if name != "vars" and (hparam is None or name == hparam):
                found += _source.find_mappings(data, lambda k: k == kind, (name,))
        return found

    def unsupported(self, trees: tuple, kind: str, what: str, where: str) -> SpecError:
        """A SpecError positioned at every node of IR kind ``kind`` (``ir.kind``) in ``trees`` (schedules of this
        spec): ``what`` says which target or feature lacks it; ``where`` is the key an issue without a position
        names. A node desugared from a framework kind is positioned at that kind, and the message names the kind as
        written (``torch.ReduceLROnPlateau``)."""
        paths = dict.fromkeys(n.path for n in ir.walk(trees) if ir.kind(n) == kind and n.path)
        issues = []
        for p in paths:
            written = self.doc.get(p)
            written = written.get("kind", kind) if isinstance(written, dict) else kind
            issues.append(self.doc.issue(p, f"{format_path(p)}: the `{written}` kind is not supported {what}"))
        return SpecError(issues or [Issue(self.file, None, None, where, f"the `{kind}` kind is not supported {what}")])

    def _repr_svg_(self) -> str | None:
        """Jupyter display: the schedule as an SVG plot (None when matplotlib is missing)."""
        renderer = type(self).svg_renderer
        return None if renderer is None else renderer(self)

    def __repr__(self) -> str:
        return f"<schedspec.Spec {self.name!r} fingerprint={self.fingerprint} hparams={self.hparams}>"


def _finish(doc: _source.Source) -> Spec:
    model = validate(doc)
    return Spec(doc, model, lower(model, doc))


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


def from_torch(scheduler: Any, *, monitor: str | None = None, name: str | None = None) -> Spec:
    """A spec of a live ``torch.optim.lr_scheduler`` scheduler (and its optimizer's base lr), in ``torch.*`` kinds
    (what is read, and what is refused: :mod:`schedspec.dialects.importers`).

    Args:
        scheduler: a scheduler of ``torch.optim.lr_scheduler`` (``SequentialLR`` and ``ChainedScheduler`` trees
            included).
        monitor: the metric's name, required for a ``ReduceLROnPlateau`` (torch only sees its values).
        name: the spec's ``name``.

    Returns:
        The spec; ``spec.to_yaml()`` is its YAML text, which loads back to the same fingerprint.

    Raises:
        SpecError: the scheduler cannot be imported faithfully; the message names its class and why.
        MissingDependency: torch is not installed.

    >>> import torch, schedspec
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    >>> spec = schedspec.from_torch(torch.optim.lr_scheduler.StepLR(opt, step_size=30))
    >>> print(spec.to_yaml().strip())
    schedspec: 1
    lr: {kind: torch.StepLR, lr: 0.1, step_size: 30, gamma: 0.1}
    """
    return load(importers.torch_data(scheduler, monitor=monitor, name=name))


def from_keras(schedule: Any, *, name: str | None = None) -> Spec:
    """A spec of a live ``keras.optimizers.schedules`` schedule, in ``keras.*`` kinds (read from ``get_config()``).

    Args:
        schedule: one of Keras' built-in ``LearningRateSchedule`` classes.
        name: the spec's ``name``.

    Returns:
        The spec; ``spec.to_yaml()`` is its YAML text, which loads back to the same fingerprint.

    Raises:
        SpecError: the schedule cannot be imported faithfully (a custom ``LearningRateSchedule``, a subclass, a
            non-integer step count); the message names its class and why.
        MissingDependency: keras is not installed.
    """
    return load(importers.keras_data(schedule, name=name))


def from_mmengine(
    cfg: Any,
    *,
    train_cfg: dict | None = None,
    lr: float | None = None,
    steps_per_epoch: int | None = None,
    name: str | None = None,
) -> Spec:
    """A spec of an MMEngine config's lr schedule, in the ``mmengine.param_scheduler`` kind (MMEngine's own
    ``param_scheduler`` dicts, unchanged; what is read: :func:`schedspec.dialects.configs.mmengine_data`).

    Args:
        cfg: an MMEngine config as a dict (``mmengine.Config.to_dict()``, or the data of a .json/.yaml config) with
            ``param_scheduler``, ``train_cfg`` and ``optim_wrapper.optimizer.lr``; or its ``param_scheduler`` list
            (or one dict), with ``train_cfg`` and ``lr`` given here.
        train_cfg: MMEngine's ``train_cfg`` when ``cfg`` is the list (sets each scheduler's default ``end``).
        lr: the optimizer's lr when ``cfg`` does not hold it.
        steps_per_epoch: ``len(train_dataloader)`` in optimizer steps, needed by epoch-based schedulers in a spec
            that counts iterations (``interval: step``) and by ``convert_to_iter_based``.
        name: the spec's ``name``.

    Returns:
        The spec (``interval: step``): ``value(k)`` is the lr of iteration k as MMEngine's
        ``ParamSchedulerHook`` sets it (epoch-based schedulers stepped at epoch ends).

    Raises:
        SpecError: the config cannot be read, or MMEngine itself would refuse it (its rule quoted).

    >>> import schedspec
    >>> spec = schedspec.from_mmengine([{"type": "LinearLR", "start_factor": 0.1, "by_epoch": False, "end": 10}],
    ...                                lr=0.1)
    >>> round(float(schedspec.evaluate(spec, [9])[0]), 6)
    0.1
    """
    data, origin = configs.mmengine_data(cfg, train_cfg=train_cfg, lr=lr, steps_per_epoch=steps_per_epoch, name=name)
    return load(data)


def from_detectron2(cfg: Any, *, name: str | None = None) -> Spec:
    """A spec of a detectron2 config's lr schedule, in the ``detectron2.SOLVER`` kind (what is read:
    :func:`schedspec.dialects.configs.detectron2_data`).

    Args:
        cfg: a detectron2 ``CfgNode`` or a dict with ``SOLVER`` (keys not given take detectron2's defaults).
        name: the spec's ``name``.

    Returns:
        The spec (``interval: step``): ``value(k)`` is ``BASE_LR * M(k / MAX_ITER)``, the lr of iteration k.

    Raises:
        SpecError: no ``SOLVER``, a key detectron2 does not have, or a value detectron2/fvcore would refuse.

    >>> import schedspec
    >>> spec = schedspec.from_detectron2({"SOLVER": {"BASE_LR": 0.02, "STEPS": (60000, 80000), "MAX_ITER": 90000}})
    >>> [round(float(v), 6) for v in schedspec.evaluate(spec, [0, 1000, 60000], dtype="float64")]
    [2e-05, 0.02, 0.002]
    """
    data, origin = configs.detectron2_data(cfg, name=name)
    return load(data)


def load_mapped(data: dict, origin: dict, src: _source.Source) -> Spec:
    """Load spec ``data`` built from the input ``src`` (an imported config): every path of the spec is positioned
    where ``origin`` (spec path prefix -> input path prefix) says the input wrote it, so that an error points into
    the input file: in the file that wrote it when ``src`` merges several (``src.files``: a detectron2 ``_BASE_``
    chain). A value without a position of its own points to the input's ``_BASE_``, else to its nearest parent."""
    positions: dict = {}
    keys: dict = {}
    files: dict = {}

    def input_path(path: tuple) -> tuple | None:
        for n in range(len(path), 0, -1):
            if path[:n] in origin:
                return tuple(origin[path[:n]]) + path[n:]
        return None

    def walk(x: Any, path: tuple) -> None:
        ip = input_path(path)
        if ip is not None:
            if ip in src.positions:
                positions[path] = src.positions[ip]
                if ip in src.key_positions:
                    keys[path] = src.key_positions[ip]
                files[path] = src.file_of(ip)
            else:  # a value the input did not write as such (a decoded string's item): its nearest written parent
                parent = src.written(ip[:-1]) or None  # (the document root is not a written parent)
                if parent is None and ("_BASE_",) in src.positions:
                    parent = ("_BASE_",)
                parent = parent or ()
                positions[path] = src.positions.get(parent, (1, 1))
                files[path] = src.file_of(parent)
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, path + (k,))
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, path + (i,))

    walk(data, ())
    for path in list(positions):  # keys without a position of their own point at their value
        keys.setdefault(path, positions[path])
    positions.setdefault((), (1, 1))
    # a path keeps its file where it differs from what its parent's file already is (not only where it differs
    # from the top file: `lr` may map to a base file's value and `lr.train_cfg` to the top file's)
    out = _source.Source(data, src.file, positions, keys)
    for p in sorted(files, key=len):
        if files[p] != out.file_of(p[:-1]):
            out.files[p] = files[p]
    return _finish(out)


def from_transformers(args: Any, *, steps_per_epoch: int | None = None, name: str | None = None) -> Spec:
    """A spec of a Hugging Face schedule, in ``transformers.*`` kinds (:mod:`schedspec.dialects.import_transformers`).

    Args:
        args: ``TrainingArguments``, a dict of its fields (as in ``training_args.json``), or the live ``LambdaLR``
            that ``transformers.get_scheduler`` returned (its ``functools.partial`` lambda is recognised by function
            and keywords).
        steps_per_epoch: optimizer updates per epoch, needed when ``max_steps <= 0`` (N = ``ceil(num_train_epochs *
            steps_per_epoch)``, as ``Trainer``).
        name: the spec's ``name``.

    Returns:
        The spec (k counts optimizer updates); ``spec.to_yaml()`` loads back to the same fingerprint.

    Raises:
        SpecError: an unknown type or keyword (did-you-mean among HF's names), a value HF rejects (HF's rule quoted),
            a lambda that is not HF's.
    """
    return load(import_transformers.transformers_data(args, steps_per_epoch=steps_per_epoch, name=name))


def from_timm(
    scheduler: Any, *, monitor: str | None = None, total: int | None = None, name: str | None = None
) -> Spec:
    """A spec of a live timm scheduler, in ``timm.*`` kinds (:mod:`schedspec.dialects.import_timm`; timm is never
    imported: the object is read by its class name and attributes).

    Args:
        scheduler: a ``CosineLRScheduler``, ``TanhLRScheduler``, ``StepLRScheduler``, ``MultiStepLRScheduler``,
            ``PolyLRScheduler`` or ``PlateauLRScheduler``.
        monitor: the metric's name for a ``PlateauLRScheduler`` (default ``eval_metric``).
        total: the run's length in ``t`` units (the spec's ``total``): needed by a fractional ``decay_t``, whose
            decays are listed up to it.
        name: the spec's ``name``.

    Returns:
        The spec; its interval is ``epoch`` when the scheduler's ``t_in_epochs`` is True, else ``step``; ``t`` is
        stepped as timm's ``train.py`` steps it.

    Raises:
        SpecError: another class (a subclass included), lr noise switched on, base lrs that differ per group.
    """
    return load(import_timm.timm_data(scheduler, monitor=monitor, total=total, name=name))


__all__ = [
    "Spec", "from_detectron2", "from_keras", "from_mmengine", "from_timm", "from_torch", "from_transformers", "load",
    "load_mapped", "loads",
]  # fmt: skip
