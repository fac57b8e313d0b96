"""``schedspec compile SPEC --to torch|keras|optax|jax [-o FILE] [--set NAME=VALUE] [--hparam lr]``.

Writes a standalone Python module (see :mod:`schedspec._emit`) to stdout or ``FILE``. Emission is text
generation: it imports no framework, so it also works where the target framework is not installed (a note on
stderr says so). Exit codes: 0 ok, 1 the spec has problems, 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

from ..errors import UsageError
from ._common import add_set_argument, load_spec

HELP = "write standalone Python source for torch, keras, optax or jax"

# The module each target's emitted code imports (optax schedules are plain jax functions).
_NEEDS = {"torch": "torch", "keras": "keras", "optax": "jax", "jax": "jax"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``compile`` arguments on its subparser."""
    from .._emit import TARGETS

    parser.description = (
        "Write one schedule of SPEC as a standalone Python module for torch, keras, optax or jax. The module "
        "imports only its framework (never schedspec): torch gets build_scheduler(optimizer), keras and optax "
        "build_schedule(), jax schedule(step). With a plateau, the torch scheduler takes metric reports "
        "(scheduler.report(name, value)) and jax takes schedule(step, metrics={name: reports}); keras and optax "
        "refuse it and name the runtime adapter to use."
    )
    parser.add_argument("spec", metavar="SPEC", help="the spec file (YAML)")
    parser.add_argument("--to", dest="target", required=True, choices=TARGETS, help="the target framework")
    parser.add_argument(
        "-o", "--output", default=None, metavar="FILE", help="write to FILE (default: stdout)"
    )
    add_set_argument(parser, "set a var (repeatable); a sweep must be reduced to one member this way")
    parser.add_argument("--hparam", default="lr", help="which schedule (default lr; torch supports lr only)")


def run(args: argparse.Namespace) -> int:
    """Emit the module; return the exit code."""
    from .._emit import emit

    spec = load_spec(args.spec, args.sets)
    if args.hparam not in spec.program.hparams:
        raise UsageError(f"--hparam {args.hparam!r}: the spec has {', '.join(spec.program.hparams)}")
    try:
        source = emit(spec, args.target, hparam=args.hparam)
    except ValueError as exc:
        if type(exc) is ValueError:  # a SpecError (a ValueError subclass) is the spec's problem: exit 1
            raise UsageError(str(exc)) from None
        raise
    if args.output in (None, "-"):
        sys.stdout.write(source)
    else:
        try:
            with open(args.output, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(source)
        except OSError as exc:
            raise UsageError(f"cannot write {args.output!r}: {exc.strerror or exc}") from None
    module = _NEEDS[args.target]
    if importlib.util.find_spec(module) is None:
        where = "" if args.output in (None, "-") else f" {os.path.basename(args.output)}"
        print(f"schedspec compile: note: {module} is not installed here; the emitted module{where} needs it to run",
              file=sys.stderr)  # fmt: skip
    return 0
