"""Listing runs: a finished run is parsed once while its files are unchanged."""

from __future__ import annotations

import os

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
