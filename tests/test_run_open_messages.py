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
    message = window.statusBar().currentMessage()
    assert "(unknown)" in message and "(5)" not in message
    assert "3 damaged line(s) of metrics.jsonl were left out" in message  # _records has one too

    monkeypatch.setattr(window, "show_error", lambda *a, **k: None)
    broken = tmp_path / "broken"
    _write_run(broken, _records(5))
    (broken / "summary.json").write_text('{"schema_version": 99}')
    assert not window._load_run(broken)
    assert window.statusBar().currentMessage() == "Could not open run broken."
    assert "good" not in window.windowTitle()
