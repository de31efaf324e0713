"""Commands the CLI prints for the user to run next, quoted so that they run as pasted.

"continue with: workbench resume runs/x" broke for a runs folder named ``-runs`` (argparse
took it for an option) or holding a space, a quote or ``#``. Every printed command is built
here: each path is shell-quoted (``shlex.quote``, POSIX shells) and a relative path that
starts with "-" gets "./" in front.
"""

from __future__ import annotations

import os
import shlex
from pathlib import PurePath


def shell_path(path: str | os.PathLike[str]) -> str:
    """``path`` as one shell word that no command takes for an option.

    >>> shell_path("-runs/a b")
    "'./-runs/a b'"
    """
    text = os.fspath(path)
    if text.startswith("-"):
        text = "./" + text
    return shlex.quote(text)


def workbench_command(*parts: str | os.PathLike[str]) -> str:
    """A ``workbench`` command line: paths (``PurePath``) quoted by ``shell_path``, other
    words (subcommands, options, placeholders such as ``SECONDS``) quoted only where the
    shell needs it.

    >>> workbench_command("resume", PurePath("-runs/x"), "--time-limit", "SECONDS")
    'workbench resume ./-runs/x --time-limit SECONDS'
    """
    words = ["workbench"]
    for part in parts:
        words.append(shell_path(part) if isinstance(part, PurePath) else shlex.quote(os.fspath(part)))
    return " ".join(words)
