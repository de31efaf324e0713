"""What a run leaves behind when its numbers go wrong or it is stopped (issue 6: 1, 7, 13, 14, 21)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import tiny_config

from workbench.fsutil import NULLED_KEY, atomic_write_json
from workbench.training.checkpoint import load_checkpoint
from workbench.training.control import RunControl
from workbench.training.events import EpochEnded, RunFailed, RunStarted, SamplesReady, StepEnded
from workbench.training.run_store import RunStore
from workbench.training.trainer import Trainer


def run(cfg, root=None, subscribers=(), control=None, store=None, resume=False):
    store = store or RunStore.create(root, cfg.name)
    events: list = []
    summary = Trainer(cfg, store, control, [events.append, *subscribers], resume=resume).run()
    return store, events, summary


def strict_json(path):
    """Parse as standard JSON: NaN / Infinity tokens are errors."""

    def refuse(token):
        raise ValueError(f"{path} holds {token}")

    return json.loads(path.read_text(), parse_constant=refuse)


def all_json_is_strict(store: RunStore) -> None:
    strict_json(store.summary_path)
    for line in store.metrics_path.read_text().splitlines():
        json.loads(line, parse_constant=lambda t: (_ for _ in ()).throw(ValueError(t)))


@pytest.fixture
def nan_in_validation(monkeypatch):
    """Make the counting task's validation outputs NaN from the given epoch (0-based) on."""
    from workbench.tasks.counting import Counting

    state = {"from_epoch": 0, "epoch": 0}
    original = Counting.loss

    def loss(self, output, targets):
        if not torch.is_grad_enabled() and state["epoch"] >= state["from_epoch"]:
            output = output * float("nan")
        return original(self, output, targets)

    def track(event):
        if isinstance(event, EpochEnded):
            state["epoch"] = event.epoch + 1

    monkeypatch.setattr(Counting, "loss", loss)
    return state, track


def test_nan_only_in_validation_stops_before_any_checkpoint(tmp_path, nan_in_validation):
    state, track = nan_in_validation
    state["from_epoch"] = 0
    store, events, summary = run(tiny_config(), tmp_path, [track])
    failed = events[-1]
    assert isinstance(failed, RunFailed)
    assert "task 'n' validation loss became nan after epoch 1" in failed.error
    assert "no checkpoint had been written yet" in failed.error
    assert "is kept" not in failed.error  # no checkpoint exists, so none is "kept"
    assert not store.last_checkpoint.exists() and not store.best_checkpoint.exists()
    assert not any(isinstance(e, EpochEnded) for e in events)  # never logged, never "best"
    assert summary["status"] == "failed"
    all_json_is_strict(store)
    assert [r["type"] for r in store.read_metrics()] == ["step"] * 3


def test_nan_in_a_later_validation_keeps_the_previous_epoch(tmp_path, nan_in_validation):
    state, track = nan_in_validation
    state["from_epoch"] = 1
    cfg = tiny_config()
    cfg.train.epochs = 3
    store, events, summary = run(cfg, tmp_path, [track])
    assert isinstance(events[-1], RunFailed)
    assert "after epoch 2" in events[-1].error and "last checkpoint" in events[-1].error
    last = load_checkpoint(store.last_checkpoint, "last")
    best = load_checkpoint(store.best_checkpoint, "best")
    assert last["position"]["epoch"] == 1 and best["epoch"] == 0
    assert all(torch.isfinite(v).all() for v in last["model"].values() if v.is_floating_point())
    assert [r["epoch"] for r in store.read_metrics() if r["type"] == "epoch"] == [0]
    assert summary["best_epoch"] == 0
    all_json_is_strict(store)
    # The run can be resumed from the kept checkpoint (it fails again at the same place).
    _, events2, _ = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert isinstance(events2[0], RunStarted) and events2[0].start_epoch == 1


def test_a_non_finite_metric_stops_the_run_too(tmp_path, monkeypatch):
    from workbench.tasks import counting

    monkeypatch.setattr(counting._CountingMetrics, "compute", lambda self: {"mae": math.inf, "exact": 0.5})
    store, events, summary = run(tiny_config(), tmp_path)
    assert "validation metric mae became inf" in events[-1].error
    assert not store.last_checkpoint.exists()


def test_json_files_never_hold_nan(tmp_path):
    path = tmp_path / "x.json"
    atomic_write_json(path, {"a": 1.0, "b": {"c": math.nan, "d": [1.0, -math.inf]}})
    data = strict_json(path)
    assert data["b"] == {"c": None, "d": [1.0, None]}
    assert data[NULLED_KEY] == ["b.c", "b.d[1]"]


def test_samples_are_collected_across_batches(tmp_path):
    cfg = tiny_config()
    cfg.train.batch_size = 1
    cfg.train.num_samples = 8
    cfg.data.options["train_size"] = 4
    cfg.train.epochs = 1
    store, events, summary = run(cfg, tmp_path)
    assert summary["status"] == "finished", summary.get("error")
    samples = next(e for e in events if isinstance(e, SamplesReady))
    assert samples.images.shape[0] == 8
    assert len(samples.predictions["scene"]) == 8 and len(samples.targets["n"]) == 8
    on_disk = store.load_samples(0)
    assert on_disk.images.shape == (8, 64, 64, 3)


def test_stop_during_validation_is_honoured_and_resumes_exactly(tmp_path, monkeypatch):
    """A stop requested while validating ends the run before the next batch; the resume
    validates that epoch again and ends with the same weights and log as an uninterrupted run."""
    cfg = tiny_config()
    cfg.data.options["val_size"] = 64  # four validation batches
    full, _, _ = run(cfg, tmp_path / "a")

    from workbench.training import evaluation

    control = RunControl()
    calls = {"n": 0}
    original = evaluation.collate

    def collate(samples, keys=None):
        calls["n"] += 1
        if calls["n"] == 2:  # during the second validation batch of epoch 1
            control.request_stop()
        return original(samples, keys)

    monkeypatch.setattr(evaluation, "collate", collate)
    store = RunStore.create(tmp_path / "b", cfg.name)
    _, events, summary = run(cfg, store=store, control=control)
    monkeypatch.setattr(evaluation, "collate", original)
    assert summary["status"] == "stopped"
    assert calls["n"] == 2  # no validation batch after the stop
    assert load_checkpoint(store.last_checkpoint)["position"] == {"epoch": 0, "step": 3, "global_step": 3}
    assert not any(isinstance(e, EpochEnded) for e in events)
    _, events, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert summary["status"] == "finished"
    a, b = load_checkpoint(full.last_checkpoint)["model"], load_checkpoint(store.last_checkpoint)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    strip = [
        {k: v for k, v in r.items() if k not in ("time", "seconds", "elapsed_s", "images_per_s")}
        for r in full.read_metrics()
    ]
    got = [
        {k: v for k, v in r.items() if k not in ("time", "seconds", "elapsed_s", "images_per_s")}
        for r in store.read_metrics()
    ]
    assert got == strip


def test_dwa_through_the_trainer_uses_the_formula_from_epoch_three(tmp_path):
    """DWA weights are 1 for epochs 1 and 2; epoch 3 uses the logged epoch-mean losses:
    w_i = T * exp(r_i / 2) / sum_j exp(r_j / 2), r_i = L_i(2) / L_i(1)."""
    cfg = tiny_config()
    cfg.train.epochs = 3
    cfg.weighting.method = "dwa"
    store, events, summary = run(cfg, tmp_path)
    assert summary["status"] == "finished"
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    steps = [e for e in events if isinstance(e, StepEnded)]
    for s in steps:
        if s.epoch < 2:
            assert s.weights == {"scene": 1.0, "n": 1.0}
    l1, l2 = epochs[0].train_losses, epochs[1].train_losses
    ratios = {t: l2[t] / l1[t] for t in l1}
    exps = {t: math.exp(r / 2.0) for t, r in ratios.items()}
    expected = {t: 2 * e / sum(exps.values()) for t, e in exps.items()}
    third = [s for s in steps if s.epoch == 2]
    assert third and all(s.weights == pytest.approx(expected, rel=1e-9) for s in third)
    assert expected["scene"] != pytest.approx(1.0, abs=1e-4)  # the formula really moved them


def test_weighted_sum_and_regulariser_are_logged_apart(tmp_path):
    """Uncertainty weighting: total = sum 0.5 e^-s_i L_i + 0.5 sum s_i; with s_i = 1 at the
    first step, weights are 0.5/e and the regulariser is 0.5 * 2 * 1 = 1.0."""
    cfg = tiny_config()
    cfg.weighting.method = "uncertainty"
    cfg.weighting.params = {"init_log_var": 1.0}
    store, events, _ = run(cfg, tmp_path)
    first = next(e for e in events if isinstance(e, StepEnded))
    assert first.weights == pytest.approx({"scene": 0.5 / math.e, "n": 0.5 / math.e})
    assert first.regulariser == pytest.approx(1.0)
    assert first.weighted_loss == pytest.approx(
        sum(0.5 / math.e * v for v in first.losses.values()), rel=1e-5
    )
    assert first.total_loss == pytest.approx(first.weighted_loss + first.regulariser)
    record = store.read_metrics()[0]
    assert record["regulariser"] == pytest.approx(1.0) and "weighted_loss" in record
