"""``schedspec eval SPEC [--at A:B[:S]] [--hparam lr] [--set NAME=VALUE] [--format csv|json] [--dtype ...]
[--metrics NAME=FILE]``: the schedule's values at a range of steps (every sweep member as a column)."""

from __future__ import annotations

import argparse
import json
import sys

from .._text import sanitize
from ..analysis import default_length, parse_range
from ..errors import SpecError, UsageError
from ._common import add_metrics_argument, add_set_argument, cli_hints, load_spec, parse_metrics

HELP = "evaluate a spec at a range of steps (csv or json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``eval`` arguments on its subparser."""
    parser.add_argument("spec", metavar="SPEC")
    parser.add_argument("--at", default=None, metavar="A:B[:S]", help="steps A..B-1 every S (default: the whole schedule)")
    parser.add_argument("--hparam", default="lr", help="which schedule (default lr)")
    add_set_argument(parser)
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    add_metrics_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print CSV or JSON; return the exit code."""
    import numpy as np

    from .. import evaluator  # loaded when `eval` runs: `check` does not pay for numpy and the evaluator

    spec = load_spec(args.spec, args.sets)
    if args.hparam not in spec.program.hparams:
        raise UsageError(f"--hparam {args.hparam!r}: the spec has {', '.join(spec.program.hparams)}")
    if args.at is not None:
        steps = parse_range(args.at)
    else:
        length = default_length(spec, args.hparam)
        if length is None:
            raise UsageError("the schedule never ends and no `total` is set; give --at A:B")
        steps = range(0, length + 1)
    k = np.arange(steps.start, steps.stop, steps.step, dtype=np.int64)
    metrics = parse_metrics(args.metrics)
    try:
        values = evaluator.evaluate(spec, k, hparam=args.hparam, dtype=args.dtype, metrics=metrics)
    except SpecError as exc:
        raise cli_hints(exc) from None
    members = spec.program.sweep_members() if values.ndim == 2 else None
    out = sys.stdout
    if args.format == "json":
        if members is None:
            json.dump({"hparam": args.hparam, "k": k.tolist(), "values": [float(x) for x in values]}, out)
        else:
            json.dump(
                {
                    "hparam": args.hparam,
                    "k": k.tolist(),
                    "members": [{"vars": m, "values": [float(x) for x in row]} for m, row in zip(members, values)],
                },
                out,
            )
        out.write("\n")
        return 0
    if members is None:
        out.write(f"k,{args.hparam}\n")
        for step, v in zip(k.tolist(), values.tolist()):
            out.write(f"{step},{v!r}\n")
    else:
        names = [sanitize(args.hparam + "[" + ",".join(f"{n}={m[n]}" for n in m) + "]") for m in members]
        out.write("k," + ",".join(names) + "\n")
        for j, step in enumerate(k.tolist()):
            out.write(f"{step}," + ",".join(repr(float(values[i, j])) for i in range(len(members))) + "\n")
    return 0
