"""Listing runs: a finished run is parsed once while its files are unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workbench.config import default_experiment
from workbench.training import run_store
from workbench.training.run_lock import RunLock
from workbench.training.run_store import RunStore, list_runs


def _run(root, name, status):
    store = RunStore(root / name)
    store.path.mkdir(parents=True)
    cfg = default_experiment()
    cfg.name = name
    store.write_config(cfg)
    store.write_summary({"name": name, "created": 1.0, "status": status, "tasks": ["scene"]})
    return store


def test_finished_runs_are_read_again_only_when_their_files_change(tmp_path, monkeypatch):
    done = _run(tmp_path, "done", "finished")
    live = _run(tmp_path, "live", "running")
    lock = RunLock(live.path)
    lock.acquire()  # a live process holds it: the run is running, not interrupted
    reads: list[str] = []
    real = run_store.read_run_info
    monkeypatch.setattr(run_store, "read_run_info", lambda p: reads.append(p.name) or real(p))
    run_store._INFO_CACHE.clear()
    try:
        first = {r.name: r.status for r in list_runs(tmp_path)}
        assert first == {"done": "finished", "live": "running"}
        assert sorted(reads) == ["done", "live"]
        reads.clear()
        list_runs(tmp_path)
        assert reads == ["live"]  # the finished run came from the cache; the live one is read again
        reads.clear()
        done.write_summary({"name": "done", "created": 1.0, "status": "stopped", "tasks": ["scene"]})
        statuses = {r.name: r.status for r in list_runs(tmp_path)}
        assert statuses["done"] == "stopped" and "done" in reads  # a rewritten summary is read
        reads.clear()
        config = done.path / "config.toml"
        config.write_text(config.read_text().replace('backbone = "small_cnn"', 'backbone = "resnet18"'))
        os.utime(config, ns=(1, 1))  # even with an old modification time: the size and inode differ
        assert {r.name: r.backbone for r in list_runs(tmp_path)}["done"] == "resnet18"
        assert "done" in reads
    finally:
        lock.release()
    reads.clear()
    assert {r.name: r.status for r in list_runs(tmp_path)}["live"] == "interrupted"  # its process let go
    (done.path / "summary.json").unlink()
    assert [r.name for r in list_runs(tmp_path)] == ["live"]  # no longer a run: not listed from the cache


def test_a_rewrite_that_keeps_size_and_modification_time_is_seen(tmp_path):
    """``cp -p`` and ``rsync -t`` keep the modification time: the change time still moves."""
    store = _run(tmp_path, "r", "finished")
    run_store._INFO_CACHE.clear()
    assert list_runs(tmp_path)[0].status == "finished"
    path = store.path / "summary.json"
    before = path.stat()
    text = path.read_text().replace('"finished"', '"stopped" ')  # the same length (JSON whitespace)
    assert len(text) == before.st_size
    with open(path, "w", encoding="utf-8") as fh:  # in place: the same inode
        fh.write(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns and path.stat().st_ino == before.st_ino
    assert list_runs(tmp_path)[0].status == "stopped"


def test_out_of_range_numbers_in_a_summary_read_as_unknown(tmp_path):
    """A time in nanoseconds or a best epoch of 2⁷⁰ (another tool, a hand edit) must not
    reach the calendar or Qt's 64-bit item data."""
    store = _run(tmp_path, "odd", "finished")
    store.write_summary(
        {"name": "odd", "created": 1796018487104088000, "status": "finished", "best_epoch": 2**70}
    )
    run_store._INFO_CACHE.clear()
    (info,) = list_runs(tmp_path)
    assert info.best_epoch == -1
    assert abs(info.created - (store.path / "summary.json").stat().st_mtime) < 5  # the folder's time instead


def test_an_unreadable_run_keeps_its_start_time(tmp_path):
    """A damaged summary.json listed the run as started when the file was damaged (its
    modification time): the folder's name holds when it started."""
    import time

    from workbench.training.run_store import list_runs

    run = tmp_path / "exp-20261201-094117"
    run.mkdir()
    (run / "summary.json").write_text("{not json")
    (info,) = list_runs(tmp_path)
    assert info.status == "unreadable"
    assert info.created == time.mktime((2026, 12, 1, 9, 41, 17, 0, 0, -1))
    other = tmp_path / "no-stamp"
    other.mkdir()
    (other / "summary.json").write_text("{not json")
    assert {i.path.name: i.created for i in list_runs(tmp_path)}["no-stamp"] == other.stat().st_mtime


def test_key_metrics_are_the_last_epochs_as_delta_m(tmp_path):
    """The Runs panel showed the best epoch's value beside Δm, which compares the last's."""
    import json

    from workbench.analysis.compare import facts_from_info
    from workbench.training.run_store import list_runs

    run = tmp_path / "exp-20261201-100000"
    run.mkdir()
    (run / "summary.json").write_text(
        json.dumps(
            {
                "schema_version": 1,
                "status": "finished",
                "primary_metrics": {"cls": "accuracy"},
                "best_metrics": {"cls": {"accuracy": 0.9}},
                "final_metrics": {"cls": {"accuracy": 0.7}},
                "delta_m": {"maninis": -12.0},
            }
        )
    )
    (info,) = list_runs(tmp_path)
    assert info.key_metrics == {"cls/accuracy": 0.7}
    assert facts_from_info(info).metrics == {"cls": 0.7}


def test_a_run_that_lost_its_summary_is_listed_with_why(tmp_path):
    """A run folder with its config, checkpoints and log but no summary.json was left out
    of the list without a word; a folder that only has a config (a run being created) is
    still not a run."""
    run = tmp_path / "exp-20261201-094117"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.toml").write_text('name = "exp"\n')
    starting = tmp_path / "exp-20261201-100000"
    starting.mkdir()
    (starting / "config.toml").write_text('name = "exp"\n')
    (info,) = list_runs(tmp_path)
    assert info.path == run and info.status == "unreadable"
    assert info.error == (
        f"{run / 'summary.json'} is missing (deleted or moved); the run's checkpoints and log are still there"
    )


@pytest.mark.parametrize(("content", "said"), [(b"garbage", "not an .npz (zip) archive"), (b"", "empty")])
def test_a_samples_file_that_is_no_archive_is_named_without_numpys_unpickling_advice(tmp_path, content, said):
    from workbench.training.run_store import RunFileError

    store = RunStore.create(tmp_path, "x")
    store.samples_path(0).parent.mkdir(parents=True, exist_ok=True)
    store.samples_path(0).write_bytes(content)
    with pytest.raises(RunFileError) as caught:
        store.load_samples(0)
    assert str(caught.value) == f"{store.samples_path(0)}: not a readable samples file ({said})"


def test_runs_panel_names_do_not_count_a_default_written_out():
    """Two runs of one config, one spelling out the shapes defaults, were named "tiny · noise —"
    and "tiny · noise 0.08"; once the core is loaded they are told apart by start time."""
    pytest.importorskip("PySide6")
    import workbench.training.trainer  # noqa: F401 - the core, loaded as in the app
    from workbench.gui.runs_panel import RunsPanel
    from workbench.training.run_store import RunInfo

    plain = {"name": "tiny", "data": {"source": "shapes", "options": {}}}
    spelled = {"name": "tiny", "data": {"source": "shapes", "options": {"noise": 0.08, "clutter": 2}}}
    infos = [
        RunInfo(Path(f"/r/tiny-20261201-10000{i}"), "tiny", 0.0, "finished", (), {}, config=c)
        for i, c in enumerate((plain, spelled))
    ]
    names = RunsPanel._names(infos)
    assert names == ["tiny · 10:00:00", "tiny · 10:00:01"]


def test_runs_listed_before_the_core_loaded_are_named_again_once_it_has(tmp_path, qtbot, monkeypatch):
    """A run whose config predates a field ("lookahead_affinity") was listed as
    "tiny · lookahead affinity —" beside "… affinity off" for good: the list was named
    before the core loaded and a refresh that found the same runs kept those names."""
    import workbench.training.trainer  # noqa: F401 - the core, as the app loads it
    from workbench.gui.runs_panel import RunsPanel

    for folder in ("tiny-20261201-100000", "tiny-20261201-100001"):
        store = RunStore(tmp_path / folder)
        store.path.mkdir()
        cfg = default_experiment()
        cfg.name = "tiny"
        store.write_config(cfg)
        store.write_summary({"name": "tiny", "created": 1.0, "status": "finished", "tasks": ["scene"]})
    old = tmp_path / "tiny-20261201-100000" / "config.toml"
    text = old.read_text()
    assert "lookahead_affinity" in text
    old.write_text("".join(ln for ln in text.splitlines(True) if "lookahead_affinity" not in ln))
    monkeypatch.setattr("workbench.gui.core_loader.loaded_module", lambda name: None)  # still loading
    panel = RunsPanel(tmp_path)
    qtbot.addWidget(panel)
    panel.refresh()
    names = [panel.tree.topLevelItem(i).text(0) for i in range(panel.tree.topLevelItemCount())]
    assert any("affinity" in name for name in names)
    monkeypatch.undo()
    panel.refresh()  # the same runs: nothing is rebuilt
    panel.core_loaded()
    names = sorted(panel.tree.topLevelItem(i).text(0) for i in range(panel.tree.topLevelItemCount()))
    assert names == ["tiny · 10:00:00", "tiny · 10:00:01"]
