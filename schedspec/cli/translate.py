"""``schedspec translate SPEC --to-neutral [-o FILE]``: framework kinds -> neutral kinds, same fingerprint.

Every ``torch.*``, ``keras.*`` and ``optax.*`` node is replaced by the neutral data it desugars to
(:func:`schedspec.native.neutral_document`); everything else (vars, total, other hyperparameters, names) is kept as
written. The result is loaded back and its fingerprint compared with the original's before anything is written, so
a translation never changes the meaning. Comments are not kept. The notes ``schedspec check`` prints for the
original name the quirks that the neutral spelling now states explicitly.

To run a spec in another framework, use ``schedspec compile SPEC --to torch|keras|optax|jax`` (it works on native
kinds directly).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import UsageError
from ._common import load_spec

HELP = "rewrite a spec written in framework kinds (torch.*, keras.*, optax.*) in neutral kinds"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``translate`` arguments on its subparser."""
    parser.description = (
        "Rewrite a spec written with framework kinds (torch.StepLR, keras.CosineDecay, optax.sgdr_schedule, ...) "
        "in neutral kinds (linear, cosine, repeat, ...). The result has the same fingerprint."
    )
    parser.add_argument("spec", metavar="SPEC", help="the spec file (YAML)")
    parser.add_argument(
        "--to-neutral",
        dest="to_neutral",
        action="store_true",
        help="rewrite framework kinds as neutral kinds (required)",
    )
    parser.add_argument(
        "-o", "--output", default=None, metavar="FILE", help="write to FILE (default: stdout)"
    )


def run(args: argparse.Namespace) -> int:
    """Translate; return the exit code."""
    from .._dump import dump
    from ..dialects import neutral_document
    from ..spec import loads

    if not args.to_neutral:
        raise UsageError(
            "say what to translate to: --to-neutral (framework kinds -> neutral kinds); to run a spec in a framework "
            "use `schedspec compile SPEC --to torch|keras|optax|jax`"
        )
    spec = load_spec(args.spec)
    text = dump(neutral_document(spec))
    again = loads(text, f"{args.spec} (translated)")
    if again.fingerprint != spec.fingerprint:  # pragma: no cover - desugaring is the lowering itself
        raise RuntimeError(
            f"the translation changed the fingerprint ({spec.fingerprint} -> {again.fingerprint})"
        )
    header = (
        f"# {args.spec} in neutral kinds (schedspec translate --to-neutral); fingerprint {spec.fingerprint}\n"
    )
    if args.output in (None, "-"):
        sys.stdout.write(header + text)
    else:
        try:
            with open(args.output, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(header + text)
        except OSError as exc:
            raise UsageError(f"cannot write {args.output!r}: {exc.strerror or exc}") from None
    return 0
