"""``schedspec`` command line: check, eval, schema (+ compile and plot from their own modules).

Exit codes: 0 ok, 1 the spec has problems (``file:line:col: message`` on stderr), 2 bad usage or internal error.
Heavy frameworks are imported inside command bodies only: ``check`` never imports jax.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys

from ._text import sanitize, short_number
from .analysis import default_length, group_lines, monitors, parse_range, phase_rows, value_range
from .errors import MissingDependency, SpecError, UsageError

# Subcommands implemented in their own modules: each has add_arguments(parser) and run(args) -> int.
_PLUGINS = {
    "compile": ("schedspec._cmd_compile", "write standalone Python source for torch, keras, optax or jax"),
    "plot": ("schedspec._cmd_plot", "plot one or more specs (PNG/SVG/PDF, or in the terminal)"),
    "translate": ("schedspec._cmd_translate", "rewrite a spec written in framework kinds (torch.*, keras.*, optax.*) in neutral kinds"),
    "verify": ("schedspec._cmd_verify", "check a run's logged lr (CSV, JSON lines, TensorBoard) against the spec"),
}


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(
        prog="schedspec",
        description="Learning-rate schedules written once as YAML: check, evaluate, compile and plot them.",
    )
    p.add_argument("--version", action="version", version=f"schedspec {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("check", help="validate specs; print each phase, min/max, warnings and the fingerprint")
    c.add_argument("specs", nargs="+", metavar="SPEC")
    c.add_argument("--strict", action="store_true", help="treat warnings as errors")
    c.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE", help="override a var")
    c.add_argument("-q", "--quiet", action="store_true", help="print only problems")

    e = sub.add_parser("eval", help="evaluate a spec at a range of steps (csv or json)")
    e.add_argument("spec", metavar="SPEC")
    e.add_argument("--at", default=None, metavar="A:B[:S]", help="steps A..B-1 every S (default: the whole schedule)")
    e.add_argument("--hparam", default="lr", help="which schedule (default lr)")
    e.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE", help="override a var")
    e.add_argument("--format", choices=("csv", "json"), default="csv")
    e.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    add_metrics_argument(e)

    s = sub.add_parser("schema", help="print the JSON Schema of the spec language")
    s.add_argument("-o", "--output", default=None, metavar="FILE")

    for name, (module, help_text) in _PLUGINS.items():
        if importlib.util.find_spec(module) is None:
            continue
        plugin = sub.add_parser(name, help=help_text)
        if name == command:  # import a plugin only when it runs: `check` stays fast and framework-free
            importlib.import_module(module).add_arguments(plugin)
    return p


# --------------------------------------------------------------------------------------------- helpers
def parse_sets(sets: list[str]) -> dict:
    """``["peak=0.1", "warm=[1ep, 2ep]"]`` -> ``{"peak": 0.1, "warm": ["1ep", "2ep"]}`` (YAML values)."""
    from . import _yaml

    out = {}
    for item in sets:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise UsageError(f"--set expects NAME=VALUE, got {item!r}")
        try:
            out[name.strip()] = _yaml.parse(f"v: {value}", "--set").data["v"]
        except SpecError:
            raise UsageError(f"--set {item!r}: the value is not valid YAML") from None
    return out


METRICS_HELP = ("metric reports for the plateaus (repeatable): FILE holds report 0, 1, ... of NAME (one per "
                "interval of the plateau's clock, from k = 0) as one number per line, comma-separated, or a JSON list")


def add_metrics_argument(parser: argparse.ArgumentParser) -> None:
    """``--metrics NAME=FILE`` (repeatable), for ``eval`` and ``plot``."""
    parser.add_argument("--metrics", dest="metrics", action="append", default=[], metavar="NAME=FILE",
                        help=METRICS_HELP)  # fmt: skip


def read_reports(name: str, path: str) -> list[float]:
    """The reports in ``path``: one number per line, comma-separated (CSV), or a JSON list; ``#`` starts a comment.

    Raises:
        UsageError: the file cannot be read, or holds something that is not a number (with its line).
    """
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(8 * 2**20 + 1)
    except OSError as exc:
        raise UsageError(f"--metrics {name}={path}: cannot read the file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--metrics {name}={path}: not a text file") from None
    if len(text) > 8 * 2**20:
        raise UsageError(f"--metrics {name}={path}: the file is over 8 MiB")
    if text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"--metrics {name}={path}: not a valid JSON list ({exc})") from None
        bad = next((x for x in data if isinstance(x, bool) or not isinstance(x, (int, float))), None) \
            if isinstance(data, list) else data  # fmt: skip
        if not isinstance(data, list) or bad is not None:
            raise UsageError(f"--metrics {name}={path}: a JSON file must be a flat list of numbers (got {bad!r})")
        return [float(x) for x in data]
    out: list[float] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for token in line.split("#", 1)[0].replace(",", " ").split():
            try:
                out.append(float(token))  # nan and inf are reports too (torch takes float(metric))
            except ValueError:
                raise UsageError(f"--metrics {name}={path}:{lineno}: {token[:40]!r} is not a number") from None
    return out


def parse_metrics(items: list[str]) -> dict[str, list[float]] | None:
    """``["val_loss=loss.txt"]`` -> ``{"val_loss": [reports]}`` (None when no ``--metrics`` was given)."""
    if not items:
        return None
    out: dict[str, list[float]] = {}
    for item in items:
        name, eq, path = item.partition("=")
        name = name.strip()
        if not eq or not name or not path:
            raise UsageError(f"--metrics expects NAME=FILE (e.g. val_loss=val_loss.txt), got {item!r}")
        if name in out:
            raise UsageError(f"--metrics: {name!r} is given twice")
        out[name] = read_reports(name, path)
    return out


def cli_hints(exc: SpecError) -> SpecError:
    """A SpecError whose "pass metrics={...}" hints name the command-line option instead."""
    import dataclasses
    import re

    def fix(message: str) -> str:
        message = re.sub(r"pass metrics=\{'(\w+)': \[\.\.\.\]\}", r"pass --metrics \1=FILE", message)
        return re.sub(r"metrics\['(\w+)'\] has (\d+) reports", r"the --metrics \1 file has \2 reports", message)

    return SpecError([dataclasses.replace(i, message=fix(i.message)) for i in exc.issues])


def load_spec(path: str, sets: list[str] | None = None):
    from ._load import load

    spec = load(path)
    overrides = parse_sets(sets or [])
    return spec.with_vars(overrides) if overrides else spec


# --------------------------------------------------------------------------------------------- check
def cmd_check(args) -> int:
    from . import lower

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
        bound = lower.bind(program, first)
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
            print("\n".join(group_lines(bound, unit)))
    return status


# --------------------------------------------------------------------------------------------- eval
def cmd_eval(args) -> int:
    import numpy as np

    from . import evaluator

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


# --------------------------------------------------------------------------------------------- schema
def schema_text() -> str:
    """The JSON Schema of the language, as committed in ``schemas/schedspec-v1.schema.json``."""
    from .spec import Document

    schema = Document.model_json_schema()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://schedspec.dev/schemas/schedspec-v1.schema.json",
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def cmd_schema(args) -> int:
    text = schema_text()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


# --------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = _parser(command)
    args = parser.parse_args(argv)
    commands = {"check": cmd_check, "eval": cmd_eval, "schema": cmd_schema}
    try:
        if args.command in commands:
            return commands[args.command](args)
        return importlib.import_module(_PLUGINS[args.command][0]).run(args)
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
        import os
        import traceback

        if os.environ.get("SCHEDSPEC_DEBUG"):
            traceback.print_exc()
        print(sanitize(f"schedspec: internal error: {type(exc).__name__}: {exc} (set SCHEDSPEC_DEBUG=1 for a traceback)"),
              file=sys.stderr)  # fmt: skip
        return 2


if __name__ == "__main__":  # pragma: no cover - `python -m schedspec.cli`: use the one imported module's classes
    from schedspec.cli import main as _main

    sys.exit(_main())
