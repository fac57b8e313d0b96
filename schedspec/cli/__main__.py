"""``python -m schedspec.cli``."""

import sys

from . import main

sys.exit(main())
