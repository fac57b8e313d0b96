"""``schedspec schema [-o FILE]``: the JSON Schema of the spec language (``schemas/schedspec-v1.schema.json``)."""

from __future__ import annotations

import argparse
import json
import sys

from ..language import Document

HELP = "print the JSON Schema of the spec language"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``schema`` arguments on its subparser."""
    parser.add_argument("-o", "--output", default=None, metavar="FILE")


def schema_text() -> str:
    """The JSON Schema of the language, as committed in ``schemas/schedspec-v1.schema.json``."""
    schema = Document.model_json_schema()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://schedspec.dev/schemas/schedspec-v1.schema.json",
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def run(args: argparse.Namespace) -> int:
    """Print or write the schema; return 0."""
    text = schema_text()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0
