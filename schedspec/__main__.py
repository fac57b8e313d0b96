"""``python -m schedspec`` runs the CLI."""

from schedspec.cli import main

raise SystemExit(main())
