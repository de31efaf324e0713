"""Entry point of the packaged app: the same ``workbench`` command as the pip install."""

import multiprocessing
import sys

from workbench.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # DataLoader workers re-enter the frozen executable
    sys.exit(main())
