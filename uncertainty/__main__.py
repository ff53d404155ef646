"""``python -m uncertainty``: see :mod:`uncertainty.cli`."""

import sys

from .cli import main

sys.exit(main())
