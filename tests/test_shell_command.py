"""Printed commands run as pasted: paths quoted, a leading "-" made a path."""

from __future__ import annotations

import shlex
from pathlib import Path, PurePosixPath

import pytest

from workbench.shell_command import shell_path, workbench_command


@pytest.mark.parametrize(
    "path, word",
    [
        ("runs/a", "runs/a"),  # nothing to quote
        ("-runs/a", "./-runs/a"),  # not an option
        ("dé 日本/it's #1 %x", "dé 日本/it's #1 %x"),
        ('a"b;$(rm)`x`', 'a"b;$(rm)`x`'),
        ("/abs/-x", "/abs/-x"),
    ],
)
def test_a_path_is_one_shell_word_that_is_not_an_option(path, word):
    (parsed,) = shlex.split(shell_path(path))
    assert parsed == word


def test_a_command_quotes_paths_and_keeps_words():
    line = workbench_command("resume", PurePosixPath("-r x/run"), "--time-limit", "SECONDS")
    assert line == "workbench resume './-r x/run' --time-limit SECONDS"
    assert shlex.split(workbench_command("data", "check", Path("a b"))) == [
        "workbench",
        "data",
        "check",
        "a b",
    ]
