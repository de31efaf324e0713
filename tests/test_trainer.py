"""Trainer: events, stop/pause/resume, exact resume, NaN handling, run directory, CLI."""

import json
import threading
import time

import pytest
import torch
from conftest import tiny_config

from workbench.experiment_check import save_config
from workbench.training.control import RunControl
from workbench.training.events import (
    EpochEnded,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    SamplesReady,
    StepEnded,
)
from workbench.training.run_store import RunStore, list_runs
from workbench.training.trainer import Trainer, load_checkpoint


def run(cfg, root, subscribers=(), control=None, resume_store=None):
    store = resume_store or RunStore.create(root, cfg.name)
    events = []
    trainer = Trainer(cfg, store, control, [events.append, *subscribers], resume=resume_store is not None)
    summary = trainer.run()
    return store, events, summary


def test_event_order_and_run_directory(tmp_path):
    store, events, summary = run(tiny_config(), tmp_path)
    kinds = [type(e).__name__ for e in events]
    steps_per_epoch = 48 // 16
    expected = (
        ["RunStarted"]
        + (["StepEnded"] * steps_per_epoch + ["EpochEnded", "SamplesReady"]) * 2
        + ["RunFinished"]
    )
    assert kinds == expected
    assert [e.global_step for e in events if isinstance(e, StepEnded)] == list(range(1, 7))
    assert summary["status"] == "finished" and summary["schema_version"] == 1
    assert set(summary["best_metrics"]) == {"scene", "n"}
    assert summary["latency_ms"] > 0
    assert summary["latency_load"] is None or summary["latency_load"] >= 0  # load per core as measured
    assert summary["precision"] == "float32" and "gpu_peak_mib" not in summary  # CPU: no autocast
    assert summary["params"]["total"] < summary["params"]["independent"]
    for name in (
        "config.toml",
        "summary.json",
        "metrics.jsonl",
        "checkpoints/last.pt",
        "checkpoints/best.pt",
        "samples/epoch_000.npz",
        "samples/epoch_001.npz",
    ):
        assert (store.path / name).exists(), name
    records = store.read_metrics()
    assert [r["type"] for r in records].count("epoch") == 2
    samples = store.load_samples(1)
    live = next(e for e in reversed(events) if isinstance(e, SamplesReady))
    assert (samples.images == live.images).all() and samples.images.shape == (4, 64, 64, 3)
    assert samples.predictions["scene"][0]["label"] == live.predictions["scene"][0]["label"]
    assert list_runs(tmp_path)[0].status == "finished"
    # checkpoints load with weights_only=True
    assert load_checkpoint(store.last_checkpoint)["position"]["epoch"] == 2


def test_stop_keeps_a_resumable_checkpoint(tmp_path):
    control = RunControl()

    def stop_at_4(e):
        if isinstance(e, StepEnded) and e.global_step == 4:
            control.request_stop()

    store, events, summary = run(tiny_config(), tmp_path, [stop_at_4], control)
    assert isinstance(events[-1], RunStopped)
    assert summary["status"] == "stopped"
    assert load_checkpoint(store.last_checkpoint)["position"] == {"epoch": 1, "step": 1, "global_step": 4}


def _final_state(store):
    return load_checkpoint(store.last_checkpoint)["model"]


def _step_losses(store):
    return [(r["global_step"], r["losses"]) for r in store.read_metrics() if r["type"] == "step"]


def test_stop_and_resume_equals_uninterrupted(tmp_path):
    cfg = tiny_config(tasks=(("scene", "classification"), ("objects", "detection")))
    cfg.weighting.method = "random"  # weighting RNG state must survive too
    cfg.model.dropout = 0.2  # and the global torch RNG
    full, _, _ = run(cfg, tmp_path / "a")
    control = RunControl()

    def stop_at_4(e):
        if isinstance(e, StepEnded) and e.global_step == 4:
            control.request_stop()

    part, _, _ = run(cfg, tmp_path / "b", [stop_at_4], control)
    _, events, summary = run(part.read_config(), None, resume_store=RunStore(part.path))
    assert summary["status"] == "finished"
    assert isinstance(events[0], RunStarted) and events[0].start_step == 4
    a, b = _final_state(full), _final_state(part)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _step_losses(full) == _step_losses(part)


class Killed(BaseException):
    """Stands in for the process dying: not an Exception, so nothing catches it."""


def test_kill_and_resume_equals_uninterrupted(tmp_path):
    cfg = tiny_config()
    full, _, _ = run(cfg, tmp_path / "a")

    def die_at_5(e):
        if isinstance(e, StepEnded) and e.global_step == 5:
            raise Killed

    store = RunStore.create(tmp_path / "b", cfg.name)
    trainer = Trainer(cfg, store, subscribers=[die_at_5])
    trainer.emit = _emit_raising(trainer)
    with pytest.raises(Killed):
        trainer.run()
    assert load_checkpoint(store.last_checkpoint)["position"]["global_step"] == 3  # epoch 1's
    _, _, summary = run(store.read_config(), None, resume_store=RunStore(store.path))
    assert summary["status"] == "finished"
    a, b = _final_state(full), _final_state(store)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _step_losses(full) == _step_losses(store)  # log has no repeated steps


def _emit_raising(trainer):
    """emit() without the guard that protects training from broken subscribers."""
    original = trainer.emit

    def emit(event):
        if isinstance(event, StepEnded):
            for s in trainer.subscribers:
                s(event)
            return
        original(event)

    return emit


def test_pause_and_resume(tmp_path):
    control = RunControl()
    events = []
    paused = threading.Event()

    def on_event(e):
        events.append(e)
        if isinstance(e, StepEnded) and e.global_step == 2:
            control.pause()
        if isinstance(e, Paused):
            paused.set()

    store = RunStore.create(tmp_path, "tiny")
    thread = threading.Thread(target=Trainer(tiny_config(), store, control, [on_event]).run)
    thread.start()
    assert paused.wait(60)
    n = len(events)
    assert not any(isinstance(e, StepEnded) and e.global_step > 2 for e in events)
    assert json.loads(store.summary_path.read_text())["status"] == "paused"
    control.resume()
    thread.join(120)
    assert not thread.is_alive()
    kinds = [type(e) for e in events]
    assert kinds.index(Paused) < kinds.index(Resumed) and len(events) > n
    assert isinstance(events[-1], RunFinished)


def test_a_pause_is_no_training_time(tmp_path):
    """Paused longer than its time limit, a run stopped for the time limit one step after
    Resume, and logged the pause as training time (elapsed_s 25.8 s for 2 steps): the
    limit and the logged time both read the clock the pause now moves on."""
    control = RunControl()
    paused = threading.Event()

    def on_event(e):
        if isinstance(e, StepEnded) and e.global_step == 1:
            control.pause()
        if isinstance(e, Paused):
            paused.set()

    store = RunStore.create(tmp_path, "tiny")
    summary = {}
    trainer = Trainer(tiny_config(), store, control, [on_event])
    thread = threading.Thread(target=lambda: summary.update(trainer.run()))
    started = time.perf_counter()
    thread.start()
    assert paused.wait(60)
    time.sleep(2.0)
    control.resume()
    thread.join(120)
    wall = time.perf_counter() - started
    assert summary["status"] == "finished"
    steps = [r for r in store.read_metrics() if r["type"] == "step"]
    assert max(r["elapsed_s"] for r in steps) <= wall - 2.0 + 0.1
    assert summary["elapsed_s"] <= wall - 2.0 + 0.1


def _counting_loss_nan_at_training_call(monkeypatch, call: int) -> None:
    """The counting loss turns NaN at its ``call``-th training evaluation (validation's are
    left alone)."""
    from workbench.tasks.counting import Counting

    original = Counting.loss
    calls = {"n": 0}

    def flaky(self, output, targets):
        value = original(self, output, targets)
        if torch.is_grad_enabled():  # training steps only
            calls["n"] += 1
            if calls["n"] == call:
                return value * float("nan")
        return value

    monkeypatch.setattr(Counting, "loss", flaky)


def test_nan_loss_fails_naming_the_task_and_keeps_checkpoint(tmp_path, monkeypatch):

    _counting_loss_nan_at_training_call(monkeypatch, 5)  # epoch 2, step 2
    cfg = tiny_config()
    store, events, summary = run(cfg, tmp_path)
    failed = events[-1]
    assert isinstance(failed, RunFailed)
    assert "task 'n' loss became nan" in failed.error
    assert summary["status"] == "failed" and "task 'n'" in summary["error"]
    assert load_checkpoint(store.last_checkpoint)["position"]["epoch"] == 1


def test_a_nan_weight_from_the_weighting_stops_before_the_update_naming_the_method(tmp_path, monkeypatch):
    """Finite losses, a NaN weight (a new method's bug) at epoch 2, step 2: the run stops at
    that step, before the optimiser applies it, naming the method and the task; it was
    reported as the next step's task loss after one NaN update."""
    from workbench.weighting.methods import EqualSum

    calls = {"n": 0}

    def weights(self, losses):
        calls["n"] += 1
        return {n: (float("nan") if calls["n"] == 5 and n == "n" else 1.0) for n in self.task_names}

    monkeypatch.setattr(EqualSum, "task_weights", weights)
    seen = []
    monkeypatch.setattr(torch.optim.AdamW, "step", lambda self, *a, **k: seen.append(calls["n"]))
    store, events, summary = run(tiny_config(), tmp_path)
    failed = events[-1]
    assert isinstance(failed, RunFailed)
    assert failed.error.startswith(
        "weighting 'equal_sum' gave a non-finite weight for task 'n' (nan) at epoch 2, step 2 from finite losses"
    )
    assert "nothing was updated" in failed.error and "loss became" not in failed.error
    assert seen == [1, 2, 3, 4]  # the optimiser never stepped on the NaN
    assert summary["status"] == "failed"
    assert load_checkpoint(store.last_checkpoint)["position"]["epoch"] == 1


@pytest.mark.parametrize("grad_clip", [0.0, 1.0])
def test_nan_gradients_from_finite_losses_stop_before_the_update(tmp_path, monkeypatch, grad_clip):
    """A weighting whose backward writes NaN into a gradient (an extension's bug) at epoch 2,
    step 2: the run stops at that step, before the optimiser applies it; it was reported one
    step later as "task ... loss became nan" after the update ruined the weights. With
    clipping on, clip_grad_norm_'s own norm is what is checked."""
    from workbench.weighting.base import Weighting

    original = Weighting.backward
    calls = {"n": 0}

    def backward(self, losses, ctx, present=None):
        out = original(self, losses, ctx, present)
        calls["n"] += 1
        if calls["n"] == 5:
            next(p for p in ctx.task_params["n"] if p.grad is not None).grad.view(-1)[0] = float("nan")
        return out

    monkeypatch.setattr(Weighting, "backward", backward)
    seen = []
    monkeypatch.setattr(torch.optim.AdamW, "step", lambda self, *a, **k: seen.append(calls["n"]))
    cfg = tiny_config()
    cfg.optim.grad_clip = grad_clip
    store, events, summary = run(cfg, tmp_path)
    assert summary["status"] == "failed"
    assert summary["error"].startswith(
        "the gradients became non-finite at epoch 2, step 2 from finite losses (scene "
    )
    assert "with weighting 'equal_sum'; nothing was updated" in summary["error"]
    assert seen == [1, 2, 3, 4]
    assert load_checkpoint(store.last_checkpoint)["position"]["epoch"] == 1


@pytest.mark.parametrize(
    ("computed", "said"),
    [
        (
            lambda values: {k: v for k, v in values.items() if k != "exact"},
            "compute() left out metric 'exact'",
        ),
        (
            lambda values: list(values.values()),
            "compute() must return a dict {metric: float or None}, got list",
        ),
        (lambda values: {**values, "mae": "low"}, "metric 'mae' must be a number or None, got str"),
    ],
)
def test_a_task_kinds_compute_that_leaves_out_a_metric_or_gives_no_numbers_is_named(
    tmp_path, monkeypatch, computed, said
):
    """A metric left out of compute() vanished from the curves and the summary."""
    from workbench.tasks.counting import Counting

    original = Counting.make_metrics

    def make_metrics(self):
        metrics = original(self)
        real = metrics.compute
        metrics.compute = lambda: computed(real())
        return metrics

    monkeypatch.setattr(Counting, "make_metrics", make_metrics)
    _, events, summary = run(tiny_config(), tmp_path)
    assert isinstance(events[-1], RunFailed)
    assert summary["error"].startswith(
        f"task 'n' (counting): its metrics (compute) failed: TypeError: {said}"
    )


def test_an_error_in_a_task_loss_names_the_task_and_its_output_shape(tmp_path, monkeypatch):
    """A task kind whose loss fails on the head's output (an extension with a head of the
    wrong width) says which task and what shape, before torch's own words."""
    from workbench.tasks.counting import Counting

    def broken(self, output, targets):
        raise IndexError("Target 1 is out of bounds.")

    monkeypatch.setattr(Counting, "loss", broken)
    _, events, summary = run(tiny_config(), tmp_path)
    assert isinstance(events[-1], RunFailed)
    assert summary["error"] == (
        "task 'n' (counting): its loss on the head's output (16, 1) failed: IndexError: Target 1 is out of bounds."
    )


@pytest.mark.parametrize(
    ("returned", "said"),
    [
        (lambda names: {n: 1.0 for n in names if n != "n"}, "its task weights have no weight for task 'n'"),
        (lambda names: [1.0 for _ in names], "its task weights must be a dict {task: weight}, got list"),
        (lambda names: {n: "x" for n in names}, "its weight for task 'scene' is not a number: str"),
        (
            lambda names: {n: torch.ones(3) for n in names},
            "its weight for task 'scene' is not a number: Tensor (3)",
        ),
        (
            lambda names: {**{n: 1.0 for n in names}, "secne": 1.0},
            "its task weights name 'secne', which is not a task of this run (tasks: scene, n)",
        ),
    ],
)
def test_a_weighting_whose_weights_are_wrong_is_named(tmp_path, monkeypatch, returned, said):
    """A KeyError 'n' or torch's words said nothing of which method gave what."""
    from workbench.weighting.base import Weighting

    original = Weighting.backward

    def backward(self, losses, ctx, present=None):
        total, _ = original(self, losses, ctx, present)
        return total, returned(self.task_names)

    monkeypatch.setattr(Weighting, "backward", backward)
    _, events, summary = run(tiny_config(), tmp_path)
    assert isinstance(events[-1], RunFailed)
    assert summary["error"] == f"weighting 'equal_sum' failed: {said}"


def test_a_weighting_backward_that_leaves_no_gradient_is_refused_at_the_first_step(tmp_path, monkeypatch):
    from workbench.weighting.base import Weighting

    def backward(self, losses, ctx, present=None):
        return 0.0, {n: 1.0 for n in self.task_names}  # no backward call: nothing would learn

    monkeypatch.setattr(Weighting, "backward", backward)
    _, events, summary = run(tiny_config(), tmp_path)
    assert summary["error"].startswith(
        "weighting 'equal_sum': its backward left no gradient on any parameter"
    )
    assert summary["global_step"] == 0


@pytest.mark.parametrize(
    ("loss", "said"),
    [
        (lambda value: float(value), "a loss must be a 0-d tensor (the batch mean), got float"),
        (lambda value: value.repeat(8), "a loss must be a 0-d tensor (the batch mean), got shape (8)"),
        (
            lambda value: value.detach(),
            "the loss is detached from the head's output: nothing would be learned",
        ),
    ],
)
def test_a_task_loss_of_the_wrong_kind_names_the_task(tmp_path, monkeypatch, loss, said):
    from workbench.tasks.counting import Counting

    original = Counting.loss
    monkeypatch.setattr(Counting, "loss", lambda self, output, targets: loss(original(self, output, targets)))
    _, _, summary = run(tiny_config(), tmp_path)
    assert (
        summary["error"]
        == f"task 'n' (counting): its loss on the head's output (16, 1) failed: TypeError: {said}"
    )


def test_a_failed_run_keeps_the_task_conflict_measured_up_to_the_failure(tmp_path, monkeypatch):
    """The conflict section of a failed run's summary counts every measured step, those
    after the last saved epoch included (the committed state alone missed them)."""
    from workbench.training.events import StepEnded

    _counting_loss_nan_at_training_call(monkeypatch, 5)  # epoch 2, step 2
    cfg = tiny_config()
    cfg.weighting.conflict_every = 1
    store, events, summary = run(cfg, tmp_path)
    measured = sum(1 for e in events if isinstance(e, StepEnded) and e.conflict is not None)
    committed = load_checkpoint(store.last_checkpoint)
    assert summary["status"] == "failed"
    assert measured == 4 and summary["conflict"]["measurements"] == measured
    assert "after the last saved epoch" in summary["conflict_note"]
    on_disk = json.loads(store.summary_path.read_text())
    assert on_disk["conflict"]["measurements"] == 4
    assert committed["position"]["epoch"] == 1  # the checkpoint holds 3 of them


def test_failure_in_setup_is_reported(tmp_path):
    cfg = tiny_config()
    cfg.model.pretrained = "file"
    cfg.model.weights_file = str(tmp_path / "missing.pth")
    store, events, summary = run(cfg, tmp_path)
    assert isinstance(events[-1], RunFailed) and "missing.pth" in events[-1].error
    assert summary["status"] == "failed"


def test_epoch_events_carry_the_metrics_of_the_saved_weights(tmp_path):
    """The last epoch's metrics equal those recomputed by hand from last.pt's weights."""
    from workbench.data.base import collate
    from workbench.training.experiment import build_experiment

    cfg = tiny_config()
    store, events, _ = run(cfg, tmp_path)
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert epochs[0].is_best and epochs[0].best_epoch == 0
    exp = build_experiment(cfg)
    exp.model.load_state_dict(load_checkpoint(store.last_checkpoint)["model"])
    exp.model.eval()
    images, targets = collate([exp.val_set.sample(i) for i in range(len(exp.val_set))])
    with torch.no_grad():
        out = exp.model(images)
    pred, truth = out["scene"].argmax(1), targets["scene_class"]
    count, n = out["n"].squeeze(1), targets["count"]
    got = epochs[-1].val_metrics
    assert got["scene"]["accuracy"] == pytest.approx(float((pred == truth).float().mean()), abs=1e-6)
    assert got["n"]["mae"] == pytest.approx(float((count - n).abs().mean()), abs=1e-5)
    assert got["n"]["exact"] == pytest.approx(float((count.round() == n).float().mean()), abs=1e-6)
    assert epochs[-1].val_losses["n"] == pytest.approx(
        float(torch.nn.functional.smooth_l1_loss(count, n)), abs=1e-5
    )


def test_cli_train_eval_resume_and_errors(tmp_path, capsys):
    from workbench.cli import main

    cfg_path = tmp_path / "exp.toml"
    save_config(tiny_config(), cfg_path)
    assert main(["train", str(cfg_path), "--out", str(tmp_path / "runs"), "--quiet", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    run_dir = out.split("run directory: ")[1].splitlines()[0]
    assert main(["eval", run_dir]) == 0
    assert (tmp_path / "runs").joinpath(run_dir.split("/")[-1], "eval_best.json").exists()
    out = capsys.readouterr().out
    assert "scored 16 validation image(s)" in out and "scene (16 labelled): loss" in out

    bad = tmp_path / "bad.toml"
    bad.write_text("[optim]\nlr = -1\n[[tasks]]\nname='a'\nkind='counting'\n")
    assert main(["train", str(bad)]) == 2
    assert "optim.lr" in capsys.readouterr().err
    assert main(["resume", str(tmp_path / "nowhere")]) == 1


def test_seeded_runs_are_reproducible_and_workers_give_the_same_batches(tmp_path):
    a, _, _ = run(tiny_config(), tmp_path / "a")
    b, _, _ = run(tiny_config(workers=1), tmp_path / "b")
    assert _step_losses(a) == _step_losses(b)
    sa, sb = _final_state(a), _final_state(b)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


ALL_KINDS = (
    ("scene", "classification"),
    ("present", "multilabel"),
    ("box", "localization"),
    ("objects", "detection"),
    ("masks", "segmentation"),
    ("n", "counting"),
)


@pytest.mark.parametrize("method", ["equal_mean", "static", "uncertainty", "dwa", "random"])
def test_every_task_kind_with_every_weighting_trains(tmp_path, method):
    cfg = tiny_config(tasks=ALL_KINDS)
    cfg.weighting.method = method
    cfg.model.sharing_depth = 2
    cfg.tasks[0].loss_weight = 2.0
    _, events, summary = run(cfg, tmp_path)
    assert summary["status"] == "finished", summary.get("error")
    steps = [e for e in events if isinstance(e, StepEnded)]
    assert set(steps[-1].weights) == {name for name, _ in ALL_KINDS}
    if method == "static":
        assert steps[-1].weights["scene"] == 2.0 and steps[-1].weights["n"] == 1.0
    if method == "uncertainty":  # learned: the weights moved away from 0.5
        assert steps[-1].weights != steps[0].weights
    samples = next(e for e in events if isinstance(e, SamplesReady))
    assert set(samples.predictions) == {name for name, _ in ALL_KINDS}
