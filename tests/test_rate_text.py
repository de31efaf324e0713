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


def test_the_cli_bar_names_the_epoch_of_the_step_it_draws(capsys):
    """The count was updated (and drawn) before the description: epoch 2's first step was
    drawn as "epoch 1: 62% 5/8"."""
    from workbench.cli_progress import ProgressPrinter
    from workbench.training.events import RunStarted, StepEnded

    printer = ProgressPrinter()
    printer(RunStarted("r", {}, {"total": 10, "independent": 10}, "cpu", ("a",), steps_per_epoch=4, epochs=2))
    printer.bar.mininterval = 0  # draw on every update, as a slow step does
    printer.bar.miniters = 1
    for step in range(5):  # epoch 1's four steps, then epoch 2's first
        printer(StepEnded(step // 4, step % 4, step + 1, 4, {"a": 1.0}, {"a": 1.0}, 1.0, 1e-3, 8.0, 5.0))
    drawn = capsys.readouterr().err.split("\r")[-1]
    assert drawn.startswith("epoch 2:") and "5/8" in drawn
    printer.close()
