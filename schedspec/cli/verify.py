"""``schedspec verify SPEC LOG [--hparam lr] [--logged-as applied|next|previous]``: did this run follow this spec?

Exit codes: 0 every logged value follows the spec (within the float32 parity tolerance), 1 it does not (the first
divergence, how many steps differ and a diagnosis are printed) or the spec has problems, 2 the log cannot be read
(a one-line error naming the file and line) or bad usage. See :mod:`schedspec._verify`.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import LogError, UsageError
from ._common import add_metrics_argument, add_set_argument, cli_hints, load_spec, parse_metrics

HELP = "check a run's logged lr (CSV, JSON lines, TensorBoard) against the spec"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``verify`` arguments on its subparser."""
    parser.description = (
        "Compare a hyperparameter a run logged (CSV with a `step` column, JSON lines, HF trainer_state.json, or a "
        "TensorBoard event file or directory) with what SPEC planned. Exit 0 when every logged value is within "
        "1e-6*peak + 1e-5*|v| of the plan, 1 otherwise, with the first divergence and a diagnosis (stepped per "
        "epoch instead of per update or the reverse, one step early or late, restarted from step 0, a constant "
        "factor, warmup missing)."
    )
    parser.add_argument("spec", metavar="SPEC", help="the spec file (YAML)")
    parser.add_argument("log", metavar="LOG", help="the run's log: .csv, .jsonl/.json, or TensorBoard events/dir")
    parser.add_argument("--hparam", default="lr", help="which hyperparameter (default lr)")
    parser.add_argument(
        "--logged-as", dest="logged_as", choices=("applied", "next", "previous"), default="applied",
        help="the value logged at step s is the one update s used (applied: Lightning's LearningRateMonitor), the "
             "next one (next: torch get_last_lr() after scheduler.step(), Keras epoch logs) or the previous one "
             "(previous: HF Trainer's learning_rate)",
    )  # fmt: skip
    parser.add_argument("--column", default=None, help="the log column or tag to read (when several match)")
    parser.add_argument("--group", default=None, help="compare with this parameter group's schedule")
    parser.add_argument("--log-steps", dest="log_steps", choices=("updates", "epochs"), default=None,
                        help="what the log's step column counts (default: updates; epochs for an `epoch` column)")  # fmt: skip
    add_set_argument(parser, "set a var (repeatable): the run's sweep member")
    add_metrics_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Verify; print the report; return 0 (follows), 1 (diverges) or raise UsageError (exit 2)."""
    from .._verify import verify

    spec = load_spec(args.spec, args.sets)
    if args.hparam not in spec.program.hparams:
        raise UsageError(f"--hparam {args.hparam!r}: the spec has {', '.join(spec.program.hparams)}")
    if args.group is not None and args.group not in spec.program.groups:
        raise UsageError(f"--group {args.group!r}: the spec's groups are {', '.join(spec.program.groups) or 'none'}")
    metrics = parse_metrics(args.metrics)
    try:
        report = verify(spec, args.log, hparam=args.hparam, logged_as=args.logged_as, column=args.column,
                        group=args.group, metrics=metrics, log_steps=args.log_steps)  # fmt: skip
    except LogError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        if hasattr(exc, "issues"):
            raise cli_hints(exc) from None
        raise
    print(report, file=sys.stdout)
    return 0 if report.ok else 1
