"""``python -m workbench``: the same as the ``workbench`` command (the app runs sweeps this way)."""

import sys

from workbench.cli import main

sys.exit(main())
