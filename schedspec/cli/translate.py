"""``schedspec translate``: framework kinds -> neutral kinds (``--to-neutral``), and a framework's own config file ->
a spec in that framework's kinds (``--from LIBRARY FILE``).

* ``schedspec translate SPEC --to-neutral [-o FILE]``: every ``torch.*``, ``keras.*``, ``optax.*``,
  ``mmengine.*``, ``detectron2.*`` node is replaced by the neutral data it desugars to
  (:func:`schedspec.dialects.neutral_document`); everything else is kept as written. The result is loaded back and
  its fingerprint compared with the original's before anything is written, so a translation never changes the
  meaning. Comments are not kept.
* ``schedspec translate --from transformers|timm|mmengine|detectron2 FILE [-o FILE] [--to-neutral]``: reads the
  library's own config file (HF ``training_args.json``, timm's ``args.yaml``, an MMEngine config, a detectron2 YAML
  with its ``_BASE_`` chain) through the importer registered for the library (:data:`IMPORTERS`) and writes the
  spec in the library's kinds (or, with ``--to-neutral``, in neutral kinds). An error in the file is reported at
  its line and column. An MMEngine ``.py`` config is Python: only mmengine can read it (by executing it, as MMEngine
  does); schedspec never executes it otherwise. Its values are then positioned from its text and its ``_base_``
  files' (:mod:`schedspec.dialects.pyconfig`: ``ast``, nothing executed): an error points at the line and column
  of the literal that wrote the value, in the base file for an inherited one.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Any

from .. import _source
from ..errors import SpecError, UsageError, format_path
from ._common import load_spec

HELP = "rewrite a spec in neutral kinds, or a framework's config file (--from) as a spec"
LIBRARIES = ("transformers", "timm", "mmengine", "detectron2")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``translate`` arguments on its subparser."""
    parser.description = (
        "Rewrite a spec written with framework kinds (torch.StepLR, keras.CosineDecay, mmengine.param_scheduler, "
        "...) in neutral kinds (same fingerprint), or read a framework's own config file (--from) as a spec."
    )
    parser.add_argument("spec", metavar="FILE", help="the spec file (YAML), or with --from the library's config file")
    parser.add_argument("--from", dest="library", default=None, choices=LIBRARIES, metavar="LIBRARY",
                        help="read FILE as LIBRARY's own config: " + ", ".join(LIBRARIES))  # fmt: skip
    parser.add_argument(
        "--to-neutral", dest="to_neutral", action="store_true", help="rewrite framework kinds as neutral kinds"
    )
    parser.add_argument("--steps-per-epoch", dest="steps_per_epoch", type=int, default=None, metavar="N",
                        help="with --from: optimizer steps per epoch (len(train_dataloader)), which a config file "
                             "does not hold")  # fmt: skip
    parser.add_argument("-o", "--output", default=None, metavar="FILE", help="write to FILE (default: stdout)")


# ------------------------------------------------------------------------------------------------ importers
def _read_data(path: str, expected: str | None = None) -> _source.Source:
    """A JSON or YAML config file, parsed with the position of every value (JSON is read as YAML 1.2). ``expected``
    says what the file's top level must be, in place of the spec reader's wording (a spec's ``schedspec: 1``)."""
    try:
        return _source.read(path)
    except SpecError as exc:
        first = exc.issues[0]
        if expected is None or len(exc.issues) != 1 or not first.message.startswith("the top level must be a mapping"):
            raise
        got = first.message.rsplit("got ", 1)[-1]
        raise SpecError([dataclasses.replace(first, message=f"{expected} (got {got})")]) from None


def _mmengine(path: str, options: dict) -> Any:
    from ..dialects.configs import mmengine_data
    from ..spec import load_mapped

    if path.endswith(".py"):
        try:
            from mmengine.config import Config  # noqa: F401 - only to know it is there
        except ImportError:
            raise UsageError(
                f"{path}: an MMEngine .py config is Python, which only mmengine reads (by executing it); schedspec "
                "never executes it. Install mmengine (pip install mmengine) to translate it, or convert it where "
                "mmengine is installed: python -c \"from mmengine import Config; "
                f"Config.fromfile('{os.path.basename(path)}').dump('config.json')\" and translate config.json"
            ) from None
        from mmengine.config import Config

        from ..dialects.pyconfig import mmengine_source

        try:
            cfg = Config.fromfile(path).to_dict()  # mmengine executes its own config format
        except Exception as exc:  # the config's own error, or mmengine's: say which, without a traceback
            raise UsageError(f"{path}: mmengine could not read the config: {type(exc).__name__}: {exc}") from None
        src = mmengine_source(path, cfg)  # positions from the text (ast), nothing executed again
    else:
        src = _read_data(path)
        cfg = src.data
    data, origin = mmengine_data(cfg, steps_per_epoch=options.get("steps_per_epoch"), src=src,
                                 name=os.path.splitext(os.path.basename(path))[0])  # fmt: skip
    return load_mapped(data, origin, src)


def _detectron2(path: str, options: dict) -> Any:
    from ..dialects.configs import detectron2_data, read_detectron2
    from ..spec import load_mapped

    if path.endswith(".py"):
        raise UsageError(f"{path}: a detectron2 LazyConfig (.py) is Python, which schedspec never executes; "
                         "translate a YAML config (with its SOLVER node)")  # fmt: skip
    src, cfg = read_detectron2(path)
    data, origin = detectron2_data(cfg, src=src, name=os.path.splitext(os.path.basename(path))[0])
    return load_mapped(data, origin, src)


def _transformers(path: str, options: dict) -> Any:
    from ..dialects.configs import transformers_file
    from ..spec import load_mapped

    src = _read_data(path, "a training_args.json is a JSON object of TrainingArguments fields "
                           "(TrainingArguments.to_json_string())")  # fmt: skip
    data, origin, notes = transformers_file(src, steps_per_epoch=options.get("steps_per_epoch"))
    spec = load_mapped(data, origin, src)
    for note in notes:  # HF's silent choices, at the value they concern (also in the spec's description)
        print(f"{note} (note)", file=sys.stderr)
    return spec


def _timm(path: str, options: dict) -> Any:
    from ..dialects.configs import timm_file
    from ..spec import load_mapped

    if options.get("steps_per_epoch"):
        raise UsageError("--from timm: args.yaml is stepped per epoch (sched_on_updates is refused); "
                         "--steps-per-epoch does not apply")  # fmt: skip
    src = _read_data(path, "a timm args.yaml is a mapping of train.py's arguments")
    data, origin = timm_file(src)
    return load_mapped(data, origin, src)


# library name -> importer(path, options) -> Spec
IMPORTERS = {
    "transformers": _transformers,
    "timm": _timm,
    "mmengine": _mmengine,
    "detectron2": _detectron2,
}


# ------------------------------------------------------------------------------------------------ run
def _write(path: str | None, text: str) -> None:
    if path in (None, "-"):
        sys.stdout.write(text)
        return
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path!r}: {exc.strerror or exc}") from None


def neutral_text(spec, name: str) -> str:
    """The YAML of ``spec`` in neutral kinds (:func:`schedspec.dialects.neutral_document`), loaded back and checked
    to have ``spec``'s fingerprint.

    Raises:
        SpecError: the neutral spelling is refused by the language although the framework kind loads (a framework
            kind's own phases may begin after ``total``; a neutral phase may not), positioned at the framework kind
            in ``spec``'s own file, with the language's reason.
    """
    from .._dump import dump
    from ..dialects import neutral_document
    from ..spec import loads

    text = dump(neutral_document(spec))
    try:
        again = loads(text, name)
    except SpecError as exc:
        first = next((i for i in exc.issues if i.severity == "error"), exc.issues[0])
        paths = sorted(spec.desugared, key=lambda p: (not format_path(p) or not first.path.startswith(format_path(p)),
                                                      len(p)))  # fmt: skip
        where = paths[0] if paths else ()
        kind = (spec.doc.get(where) or {}).get("kind", "the framework kind") if paths else "the framework kinds"
        raise SpecError([spec.doc.issue(where, (
            f"{kind} has no valid neutral spelling here: written in neutral kinds, {first.path} would be refused "
            f"({first.message}); the framework kind may run its own phases past `total`, a neutral phase may not. "
            "Keep the framework kind, or raise `total` / cut the kind with `duration` before translating"))]) from None
    if again.fingerprint != spec.fingerprint:  # pragma: no cover - desugaring is the lowering itself
        raise RuntimeError(f"the translation changed the fingerprint ({spec.fingerprint} -> {again.fingerprint})")
    return text


def run(args: argparse.Namespace) -> int:
    """Translate; return the exit code."""
    from ..spec import loads

    if args.library is None and not args.to_neutral:
        raise UsageError(
            "say what to translate: --to-neutral (framework kinds -> neutral kinds), or --from LIBRARY FILE (a "
            f"framework's config file -> a spec; LIBRARY is one of {', '.join(LIBRARIES)}); to run a spec in a "
            "framework use `schedspec compile SPEC --to torch|keras|optax|jax`"
        )
    if args.library is None:
        spec = load_spec(args.spec)
        origin = f"{args.spec} in neutral kinds (schedspec translate --to-neutral)"
    else:
        if args.steps_per_epoch is not None and args.steps_per_epoch <= 0:
            raise UsageError(f"--steps-per-epoch must be > 0 (got {args.steps_per_epoch})")
        spec = IMPORTERS[args.library](args.spec, {"steps_per_epoch": args.steps_per_epoch})
        origin = f"{args.spec} read as a {args.library} config (schedspec translate --from {args.library})"
    if args.to_neutral:
        text = neutral_text(spec, f"{args.spec} (translated)")
        origin += ", in neutral kinds"
    else:
        text = spec.to_yaml()
        if loads(text, f"{args.spec} (translated)").fingerprint != spec.fingerprint:  # pragma: no cover
            raise RuntimeError("the written spec does not load back to the same fingerprint")
    if not text.endswith("\n"):
        text += "\n"
    _write(args.output, f"# {origin}; fingerprint {spec.fingerprint}\n" + text)
    return 0


__all__ = ["HELP", "IMPORTERS", "LIBRARIES", "add_arguments", "neutral_text", "run"]
_ = SpecError  # the importers raise it; the CLI's main prints it as file:line:col
