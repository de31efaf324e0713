"""What the window says about a run it opens: a damaged status is "unknown" (it showed a raw
5), damaged log lines are counted (they were left out silently), and after a failed open
the status bar no longer says it shows the run before."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")


def test_a_status_that_is_no_status_reads_unknown(tmp_path):
    from workbench.training.run_store import RunStore

    store = RunStore(tmp_path)
    for bad in (5, None, "exploded", ["finished"]):
        assert store.effective_status({"status": bad}) == "unknown"
    assert store.effective_status({"status": "finished"}) == "finished"


def test_opening_runs_says_what_it_left_out_and_what_failed(window, tmp_path, monkeypatch):
    from test_off_thread import _records, _write_run

    good = tmp_path / "good"
    _write_run(good, _records(20))
    with open(good / "metrics.jsonl", "a") as f:
        f.write("{not json\n\x00\x00\n")
    summary = json.loads((good / "summary.json").read_text())
    (good / "summary.json").write_text(json.dumps({**summary, "status": 5}))
    assert window._load_run(good)
    message = window.statusBar().full_message()
    assert "(unknown)" in message and "(5)" not in message
    assert "3 damaged line(s) of metrics.jsonl were left out" in message  # _records has one too

    monkeypatch.setattr(window, "show_error", lambda *a, **k: None)
    broken = tmp_path / "broken"
    _write_run(broken, _records(5))
    (broken / "summary.json").write_text('{"schema_version": 99}')
    assert not window._load_run(broken)
    assert window.statusBar().full_message() == "Could not open run broken."
    assert "good" not in window.windowTitle()


def test_a_log_that_cannot_be_read_is_said_not_shown_as_empty(tmp_path):
    """An unreadable metrics.jsonl read as "no logged steps yet", and a resume would have
    rewritten it without its history."""
    from test_off_thread import _records, _write_run

    from workbench.training.run_store import RunFileError, RunStore

    _write_run(tmp_path / "run", _records(3))
    (tmp_path / "run" / "metrics.jsonl").unlink()
    (tmp_path / "run" / "metrics.jsonl").mkdir()  # not readable as a file: as a chmod 000 one
    with pytest.raises(RunFileError, match=r"run/metrics\.jsonl cannot be read: Is a directory"):
        RunStore(tmp_path / "run").read_metrics()
    (tmp_path / "run" / "metrics.jsonl").rmdir()
    assert RunStore(tmp_path / "run").read_metrics() == []  # none yet: no problem


def test_runs_the_app_may_not_look_into_are_listed_as_unreadable(tmp_path, monkeypatch):
    """A chmod 000 run folder vanished from the list (and opening it raised a raw
    PermissionError); an empty list now says why the folder gave none."""
    import pathlib

    from test_off_thread import _records, _write_run

    from workbench.training import run_store
    from workbench.training.run_store import list_runs, runs_root_problem

    root = tmp_path / "runs"
    _write_run(root / "open", _records(3))
    _write_run(root / "locked", _records(3))
    real_stat = pathlib.Path.stat

    def stat(self, *args, **kwargs):
        if self.parent.name == "locked":  # root ignores chmod 000: refused here instead
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "stat", stat)
    run_store._INFO_CACHE.clear()
    runs = {r.path.name: r for r in list_runs(root)}
    assert runs["open"].status == "finished"
    assert runs["locked"].status == "unreadable" and runs["locked"].error.endswith(
        "locked: Permission denied"
    )
    assert runs_root_problem(root) is None
    assert (
        runs_root_problem(tmp_path / "gone")
        == f"Runs folder {tmp_path / 'gone'} does not exist (yet): a run started here creates it"
    )
    (tmp_path / "file").write_text("x")
    assert runs_root_problem(tmp_path / "file") == f"Runs folder {tmp_path / 'file'} is a file, not a folder"


def test_a_run_that_cannot_be_read_opens_with_one_line(window, tmp_path, monkeypatch):
    import pathlib

    from test_off_thread import _records, _write_run

    said = []
    monkeypatch.setattr(
        window, "show_error", lambda title, text, details="": said.append((title, text, details))
    )
    run = tmp_path / "run"
    _write_run(run, _records(3))
    (run / "metrics.jsonl").unlink()
    (run / "metrics.jsonl").mkdir()
    assert not window._load_run(run)
    (title, text, details) = said[-1]
    assert text == f"Run {run} could not be loaded: {run / 'metrics.jsonl'} cannot be read: Is a directory"
    assert details == "" and "\n" not in text
    real_exists = pathlib.Path.exists

    def exists(self, *args, **kwargs):
        if self.parent == run:
            raise PermissionError(13, "Permission denied", str(self))
        return real_exists(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "exists", exists)
    assert not window._load_run(run)
    assert said[-1][1] == f"Cannot open run {run}: Permission denied." and said[-1][2] == ""
    assert window.statusBar().full_message() == "Could not open run run."


def test_the_runs_list_says_why_it_is_empty(qtbot, tmp_path):
    import shutil

    from test_off_thread import _records, _write_run

    from workbench.gui.runs_panel import RunsPanel

    root = tmp_path / "runs"
    _write_run(root / "a", _records(3))
    panel = RunsPanel(root)
    qtbot.addWidget(panel)
    panel.refresh()
    assert panel.tree.topLevelItemCount() == 1 and panel.message_label.text() == ""
    shutil.rmtree(root)  # deleted while shown: the list went empty without a word
    panel.refresh()
    assert panel.tree.topLevelItemCount() == 0
    assert (
        panel.message_label.text()
        == f"Runs folder {root} does not exist (yet): a run started here creates it"
    )
    panel.refresh()  # nothing changed since: the message stays
    assert "does not exist" in panel.message_label.text()
    root.mkdir()
    panel.refresh()
    assert panel.message_label.text() == f"No runs in {root} yet: a run started here is listed"


def test_a_terminals_sweep_is_listed_and_runs_one_folder_down_are_pointed_to(qtbot, tmp_path):
    """`workbench sweep FILE --out RUNS` writes RUNS/NAME/runs/; the app listed only
    RUNS/sweeps/NAME/runs/, so with both at their defaults the list stayed empty, silently."""
    from test_off_thread import _records, _write_run

    from workbench.gui.runs_panel import RunsPanel

    root = tmp_path / "runs"
    _write_run(root / "depths" / "runs" / "a", _records(3))
    _write_run(root / "sweeps" / "methods" / "runs" / "b", _records(3))
    panel = RunsPanel(root)
    qtbot.addWidget(panel)
    panel.refresh()
    assert panel.tree.topLevelItemCount() == 1  # no queue.json yet: not a sweep folder
    assert panel.message_label.text() == ""
    (root / "depths" / "queue.json").write_text("{}")
    panel.refresh()
    assert panel.tree.topLevelItemCount() == 2
    # runs one folder down, the parent chosen: said where they are
    other = tmp_path / "parent"
    _write_run(other / "runs" / "c", _records(3))
    _write_run(other / "runs" / "d", _records(3))
    panel.set_root(other)
    panel.refresh()
    assert panel.tree.topLevelItemCount() == 0
    assert panel.message_label.text() == (
        f"No runs directly in {other}; {other / 'runs'} holds 2: choose it as the runs folder (File ▸ Runs folder…)"
    )
