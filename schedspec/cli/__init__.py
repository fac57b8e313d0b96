"""``schedspec`` command line: one module per subcommand (check, eval, schema, compile, plot, translate, verify),
each with ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.

Exit codes: 0 ok, 1 the spec has problems (``file:line:col: message`` on stderr), 2 bad usage or internal error.
Every subcommand module is imported here (cheaply); what a subcommand needs beyond the core (the evaluator, the
emitters, plotting, numpy, a framework) is imported when it runs, so ``check`` never imports jax, a framework or
matplotlib. Library modules never import this package.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from .._text import sanitize
from .._version import __version__
from ..errors import MissingDependency, SpecError, UsageError
from . import check, compile, eval, plot, schema, translate, verify

__all__ = ["COMMANDS", "main"]

COMMANDS = {
    "check": check, "eval": eval, "schema": schema, "compile": compile, "plot": plot, "translate": translate,
    "verify": verify,
}  # fmt: skip


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s arguments are registered (its ``add_arguments`` may import what it lists)."""
    p = argparse.ArgumentParser(
        prog="schedspec",
        description="Learning-rate schedules written once as YAML: check, evaluate, compile and plot them.",
    )
    p.add_argument("--version", action="version", version=f"schedspec {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        parser = sub.add_parser(name, help=module.HELP)
        if name == command or name in ("check", "eval", "schema"):
            module.add_arguments(parser)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = _parser(command)
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command].run(args)
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return 1
    except MissingDependency as exc:
        print(f"schedspec: {exc}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(sanitize(f"schedspec {args.command}: {exc}"), file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `schedspec eval ... | head`
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an internal error, not a user mistake: still no traceback by default
        if os.environ.get("SCHEDSPEC_DEBUG"):
            traceback.print_exc()
        print(sanitize(f"schedspec: internal error: {type(exc).__name__}: {exc} (set SCHEDSPEC_DEBUG=1 for a traceback)"),
              file=sys.stderr)  # fmt: skip
        return 2
