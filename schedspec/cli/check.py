"""``schedspec check SPEC... [--strict] [--set NAME=VALUE] [-q]``: validate specs and print what they mean.

For each spec: its warnings (errors with ``--strict``), the framework quirks it relies on (notes), then per
hyperparameter the phase table (kind, begin, end, start and end values), the exact min/max over every sweep member,
and the parameter groups. Imports neither numpy's users (the evaluator) nor jax, a framework or matplotlib.
"""

from __future__ import annotations

import argparse
import sys

from .._text import sanitize, short_number
from ..analysis import default_length, group_lines, monitors, phase_rows, value_range
from ..errors import SpecError
from ..lowering import bind
from ._common import add_set_argument, load_spec

HELP = "validate specs; print each phase, min/max, warnings and the fingerprint"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``check`` arguments on its subparser."""
    parser.add_argument("specs", nargs="+", metavar="SPEC")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    add_set_argument(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="print only problems")


def run(args: argparse.Namespace) -> int:
    """Check every spec; print its table (unless ``-q``); return 1 if any has problems (or warnings with
    ``--strict``)."""
    status = 0
    for path in args.specs:
        try:
            spec = load_spec(path, args.sets)
        except SpecError as exc:
            print(exc, file=sys.stderr)
            status = 1
            continue
        warnings = spec.warnings
        for w in warnings:
            print(f"{w}{'' if args.strict else ' (warning)'}", file=sys.stderr)
        if args.strict and warnings:
            status = 1
        if args.quiet:
            continue
        program = spec.program
        spe = program.steps_per_epoch
        unit = "step" if program.interval == "step" else "epoch"
        head = f"{path}: {program.name or '(unnamed)'}  fingerprint {spec.fingerprint}"
        print(sanitize(head))  # the name is user text: bidi controls, escapes and newlines are shown escaped
        info = [f"interval {unit}"]
        if spe:
            info.append(f"steps_per_epoch {spe}")
        if program.total is not None:
            info.append(f"total {program.total} {unit}s")
        first = {n: program.vars[n].raw[0] for n in program.sweep_vars} or None
        if program.sweep_vars:
            size = program.sweep_size
            info.append(f"sweep of {size} over {', '.join(program.sweep_vars)} (the table shows the first member; "
                        f"min/max cover all {size})")  # fmt: skip
        print("  " + ", ".join(info))
        for note in spec.notes:  # framework quirks a torch.*/keras.*/optax.* kind relies on (not problems)
            print(f"  note: {note}")
        bound = bind(program, first)
        for hparam in program.hparams:
            node = bound.hparams[hparam]
            print(f"  {hparam}:")
            ep = unit == "step" and spe
            header = ["#", "kind", f"begin({unit})", f"end({unit})"]
            if ep:
                header += ["begin(ep)", "end(ep)"]
            header += ["start", "end value"]
            table = [header]
            for i, (kind, b, e, v0, v1) in enumerate(phase_rows(node)):
                row = [str(i), kind, str(b), "forever" if e is None else str(e)]
                if ep:
                    row += [f"{b / spe:g}", "-" if e is None else f"{e / spe:g}"]
                row += ["?" if v0 is None else short_number(v0), "-" if v1 is None else short_number(v1)]
                table.append(row)
            widths = [max(len(r[c]) for r in table) for c in range(len(header))]
            for r in table:
                print("    " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
            r = value_range(program, hparam)
            if r is not None:
                lo, hi, lengths = r
                span = f"0..{max(lengths)}" + ("" if len(lengths) == 1 else ", each member to its own end")
                print(f"    min {short_number(lo)}  max {short_number(hi)}  (over {unit}s {span})")
            elif default_length(spec, hparam) is None:
                print("    min/max: the schedule never ends and no `total` is set")
            if r is None and monitors(node):  # a plateau: its start is known, the rest needs the reports
                print(f"    from the plateau's start on, values depend on the metric reports of "
                      f"{', '.join(monitors(node))} (pass them as metrics= to schedspec.evaluate)")  # fmt: skip
        if program.groups:  # parameter groups: the schedules each one overrides
            print("\n".join(group_lines(program, unit, first)))
    return status
