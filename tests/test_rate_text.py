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


def test_an_epoch_and_its_notes_are_written_together(capsys):
    """Each note was written on its own: tqdm redrew its bar after every line, and where
    stderr is not a terminal each redraw stayed in the text between the epoch line and its
    note."""
    from workbench.cli_progress import ProgressPrinter
    from workbench.training.events import EpochEnded, RunStarted, StepEnded

    printer = ProgressPrinter()
    printer(RunStarted("r", {}, {"total": 10, "independent": 10}, "cpu", ("a",), steps_per_epoch=2, epochs=2))
    printer.bar.mininterval = 0
    printer.bar.miniters = 1
    printer(StepEnded(0, 0, 1, 2, {"a": 1.0}, {"a": 1.0}, 1.0, 1e-3, 8.0, 5.0))
    capsys.readouterr()
    printer(
        EpochEnded(
            0, 2, {"a": 1.0}, {"a": 0.5}, {"a": {"acc": 0.25}}, True, 3.0,
            labelled={"a": {"train": 4, "val": 0}},
            data_note="1 data problem met in epoch 1: x.png", data_problems=1,
        )
    )  # fmt: skip
    err = capsys.readouterr().err
    epoch_line = "epoch 1 (3s): a acc=0.250\n"
    unlabelled = err[err.index(epoch_line) + len(epoch_line) :]
    assert unlabelled.startswith("note: ") and "\r" not in unlabelled.split("\n")[0]
    after_note = unlabelled.split("\n", 1)[1]
    assert after_note.startswith("1 data problem met in epoch 1: x.png\n")
    printer.close()
