"""``schedspec plot``: draw schedules to PNG/SVG/PDF (matplotlib) or in the terminal (no extra needed).

Without ``-o`` (or with ``--ascii``) the plot is drawn as text; with ``-o FILE`` the figure is rendered to memory
and written at the end, so nothing is written when anything fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from .._text import sanitize
from ..errors import SpecError, UsageError
from ._common import add_metrics_argument, add_set_argument, cli_hints, load_spec, parse_metrics

HELP = "plot one or more specs (PNG/SVG/PDF, or in the terminal)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``plot`` options on its subparser."""
    parser.add_argument("specs", nargs="+", metavar="SPEC")
    parser.add_argument("-o", "--output", default=None, metavar="FILE", help="write a .png, .svg or .pdf")
    add_set_argument(parser)
    parser.add_argument(
        "--yscale", choices=("auto", "linear", "log"), default="auto",
        help="y axis of the main schedule (default auto: log when the curves' peaks span more than two decades)",
    )  # fmt: skip
    parser.add_argument("--log", dest="yscale", action="store_const", const="log", help="same as --yscale log")
    parser.add_argument(
        "--member", dest="members", action="append", default=None, metavar="I|VAR=V[,VAR=V]",
        help="a big sweep (a band) draws this member as a line: its index (from 0, in sweep order) or its var "
             "values (repeatable; default the first, the last and the highest and lowest peak)",
    )  # fmt: skip
    parser.add_argument(
        "--run", default=None, metavar="LOG",
        help="overlay a training run's logged values (CSV, JSON lines or TensorBoard, as `schedspec verify` "
             "reads them) and mark where it first leaves the plan",
    )  # fmt: skip
    parser.add_argument("--logged-as", dest="logged_as", choices=("applied", "next", "previous"), default="applied",
                        help="with --run: which update's value the log holds (see `schedspec verify`)")  # fmt: skip
    parser.add_argument("--column", default=None, help="with --run: the log column or tag to read")
    parser.add_argument(
        "--at",
        default=None,
        metavar="A:B[:S]",
        help="x range A..B-1 every S, in x-axis units (default: the whole schedule)",
    )
    parser.add_argument(
        "--x",
        dest="xunit",
        choices=("step", "epoch"),
        default=None,
        help="x axis unit (default: the interval)",
    )
    parser.add_argument("--hparam", default="lr", help="the main schedule (default lr)")
    parser.add_argument(
        "--only", action="store_true", help="plot only --hparam (no panels for the other hyperparameters)"
    )
    parser.add_argument("--ascii", action="store_true", help="draw in the terminal (also when -o is given)")
    parser.add_argument(
        "--charset",
        choices=("braille", "ascii"),
        default=None,
        help="terminal characters (default: braille when the terminal can show it)",
    )
    parser.add_argument(
        "--width",
        type=int,
        default=None,
        metavar="N",
        help="terminal chart width in characters (default: the terminal's)",
    )
    parser.add_argument(
        "--height", type=int, default=None, metavar="N", help="terminal chart height in rows (default 14)"
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="ANSI colours in the terminal chart",
    )
    parser.add_argument(
        "--diff",
        action="store_true",
        help="two specs: plot both and their difference; print the first step where they differ",
    )
    parser.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default=None,
        help="evaluation precision (default float32; float64 with --diff)",
    )
    parser.add_argument(
        "--size", default=None, metavar="WxH", help="image size in pixels (default 1200 wide)"
    )
    parser.add_argument("--dpi", type=int, default=100, help="image resolution (default 100)")
    add_metrics_argument(parser)


def _size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    w, sep, h = text.lower().partition("x")
    try:
        size = (int(w), int(h))
    except ValueError:
        raise UsageError(f"--size expects WxH in pixels, e.g. 1200x800 (got {text!r})") from None
    if not sep or min(size) < 100 or max(size) > 20000:
        raise UsageError(f"--size expects WxH with each side from 100 to 20000 pixels (got {text!r})")
    return size


def _members(items: list[str] | None) -> list | None:
    """``--member`` values: an index, or ``var=value[,var=value]`` pairs."""
    if not items:
        return None
    out: list = []
    for item in items:
        text = item.strip()
        if text.isdigit():
            out.append(int(text))
            continue
        pairs = {}
        for part in text.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise UsageError(f"--member {item!r}: give an index (0, 1, ...) or var=value pairs, e.g. peak=0.1,warm=20")
            pairs[name.strip()] = value.strip()
        out.append(pairs)
    return out


def _use_color(mode: str) -> bool:
    if mode != "auto":
        return mode == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _charset(choice: str | None) -> str:
    if choice:
        return choice
    try:
        "⣿┤".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "ascii"
    return "braille"


def run(args: argparse.Namespace) -> int:
    """Run ``schedspec plot``; return the exit code (errors are raised for :func:`schedspec.cli.main`)."""
    from .. import plotting

    out = args.output
    if out is not None:
        ext = os.path.splitext(out)[1].lower()
        if ext not in plotting.FORMATS:
            raise UsageError(
                f"-o {out}: unknown output format {ext or '(no extension)'!r}; use .png, .svg or .pdf"
            )
        if os.path.isdir(out):
            raise UsageError(f"-o {out}: is a folder")
    if args.diff and len(args.specs) != 2:
        raise UsageError(f"--diff compares exactly two specs (got {len(args.specs)})")
    if args.width is not None and args.width < 1:
        raise UsageError(f"--width must be a positive number of characters (got {args.width})")
    if args.height is not None and not 2 <= args.height <= 500:
        raise UsageError(f"--height must be from 2 to 500 rows (got {args.height})")
    if args.dpi < 10 or args.dpi > 1200:
        raise UsageError(f"--dpi must be from 10 to 1200 (got {args.dpi})")
    size = _size(args.size)
    if out is not None:
        plotting._mpl()  # MissingDependency (exit 2) before any work

    specs = [load_spec(path, args.sets) for path in args.specs]
    metrics = parse_metrics(args.metrics)
    kw = dict(
        hparam=args.hparam,
        at=args.at,
        x=args.xunit,
        log={"auto": None, "linear": False, "log": True}[args.yscale],
        diff=args.diff,
        panels=not args.only,
        dtype=args.dtype,
        metrics=metrics,
        members=_members(args.members),
    )
    if args.run is not None:
        if args.diff:
            raise UsageError("--run draws one run over one spec; it cannot be combined with --diff")
        if len(specs) != 1:
            raise UsageError(f"--run compares the run with one spec (got {len(specs)})")
        kw.update(run=args.run, logged_as=args.logged_as, column=args.column)
    elif args.column is not None or args.logged_as != "applied":
        raise UsageError("--column and --logged-as describe the --run log; give --run LOG")
    try:
        if out is None or args.ascii:
            width = args.width or shutil.get_terminal_size((100, 24)).columns
            body, view = plotting.text(
                specs,
                width=width,
                height=args.height or 14,
                color=_use_color(args.color),
                charset=_charset(args.charset),
                **kw,
            )
            sys.stdout.write(body)
        if out is not None:
            fig, view = plotting.figure(specs, size=size, dpi=args.dpi, **kw)
            nbytes = plotting.save(fig, out)
            if args.diff and not args.ascii:
                print(plotting.diff_line(view))
            if view.run is not None and not args.ascii:
                print("\n".join(sanitize(line) for line in view.run.summary.splitlines()))
            print(sanitize(f"wrote {out} ({nbytes} bytes)"), file=sys.stderr)
    except plotting.PlotError as exc:
        raise UsageError(str(exc)) from None
    except SpecError as exc:
        raise cli_hints(exc) from None
    return 0
