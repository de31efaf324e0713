"""Training speed as the CLI's progress bar and the app's training bar show it."""

from __future__ import annotations

import pytest

from workbench.training.events import rate_text


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (1234.4, "1,234 img/s"),
        (10.0, "10 img/s"),
        (9.96, "10.0 img/s"),  # one decimal below 10
        (3.44, "3.4 img/s"),
        (0.1234, "0.12 img/s"),  # was "0 img/s": a ResNet at 256 px on a loaded CPU
        (0.0047, "0.0047 img/s"),
        (0.0, "0 img/s"),
    ],
)
def test_slow_runs_are_not_shown_as_zero(rate, text):
    assert rate_text(rate) == text


def test_the_cli_bar_shows_the_same_words(capsys):
    from types import SimpleNamespace

    from workbench.cli_progress import ProgressPrinter
    from workbench.training.events import StepEnded

    printer = ProgressPrinter()
    printer.bar = SimpleNamespace(
        n=0,
        update=lambda n: None,
        set_description=lambda *a, **k: None,
        set_postfix_str=lambda s, **k: shown.append(s),
    )
    shown: list[str] = []
    printer(StepEnded(0, 0, 1, 10, {"a": 1.0}, {"a": 1.0}, 1.0, 1e-3, 0.12, 5.0))
    assert shown == ["a 1.000 | 0.12 img/s"]
