"""Task conflict: cosines and norm ratios from the Gramian, and their record in a run."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from conftest import tiny_config

from workbench.config import ConfigError, WeightingConfig
from workbench.experiment_check import validate_experiment
from workbench.training.checkpoint import load_checkpoint
from workbench.training.conflict import ConflictTally, conflict_from_gramian
from workbench.training.run_store import RunStore
from workbench.training.task_affinity import lookahead_affinity
from workbench.training.trainer import Trainer


def test_cosines_and_norm_ratios_by_hand():
    # g_a = (3, 0), g_b = (-1, 1), g_c = (0, 0): G = [[9, -3, 0], [-3, 2, 0], [0, 0, 0]]
    g = torch.tensor([[3.0, 0.0], [-1.0, 1.0], [0.0, 0.0]])
    sample = conflict_from_gramian(g @ g.T, ["a", "b", "c"])
    assert sample.cos[0][1] == pytest.approx(-3 / (3 * 2**0.5))  # -0.7071
    assert sample.cos[0][2] == 0.0 and sample.cos[1][1] == pytest.approx(1.0)
    mean = (3 + 2**0.5 + 0) / 3
    assert sample.norm_ratio == pytest.approx((3 / mean, 2**0.5 / mean, 0.0))
    assert conflict_from_gramian(torch.full((2, 2), float("nan")), ["a", "b"]) is None
    assert conflict_from_gramian(torch.ones((1, 1)), ["a"]) is None


def test_tally_means_and_negative_shares():
    tally = ConflictTally()
    for c in (-0.5, 0.25, -0.25, 0.5):
        G = torch.tensor([[1.0, c], [c, 1.0]])
        tally.add(conflict_from_gramian(G, ["a", "b"]))
    summary = ConflictTally.from_dict(json.loads(json.dumps(tally.as_dict()))).summary()
    assert summary["measurements"] == 4
    assert summary["mean_cos"]["a|b"] == pytest.approx(0.0)
    assert summary["negative_share"]["a|b"] == pytest.approx(0.5)
    assert summary["mean_norm_ratio"] == pytest.approx({"a": 1.0, "b": 1.0})


def _run(tmp_path, name, method="equal_sum", every=2, epochs=1):
    cfg = tiny_config()
    cfg.name = name
    cfg.train.epochs, cfg.train.batch_size, cfg.train.num_samples = epochs, 8, 0
    cfg.data.options.update(image_size=32, train_size=24, val_size=8)
    cfg.weighting = WeightingConfig(method=method, conflict_every=every)
    store = RunStore.create(tmp_path, name)
    events = []
    summary = Trainer(cfg, store, subscribers=[events.append]).run()
    return store, summary, [e for e in events if type(e).__name__ == "StepEnded"]


def test_a_run_records_conflict_every_k_steps_without_changing_training(tmp_path):
    store, summary, steps = _run(tmp_path, "measured", every=2)
    measured = [e.global_step for e in steps if e.conflict]
    assert measured == [1, 3]  # steps 0 and 2 (0-based) of 3
    lines = [json.loads(line) for line in store.metrics_path.read_text().splitlines()]
    assert sum(1 for r in lines if "conflict" in r) == 2
    assert summary["conflict"]["measurements"] == 2
    assert set(summary["conflict"]["mean_cos"]) == {"scene|n"}
    quiet, quiet_summary, quiet_steps = _run(tmp_path, "quiet", every=0)
    assert not any(e.conflict for e in quiet_steps) and "conflict" not in quiet_summary
    a = load_checkpoint(store.last_checkpoint, "last")["model"]
    b = load_checkpoint(quiet.last_checkpoint, "last")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # measuring never changes the weights


def test_a_gradient_method_shares_its_gramian_with_the_measurement(tmp_path):
    _, loss_based, steps_a = _run(tmp_path, "a", method="equal_sum", every=1)
    _, gradient, steps_b = _run(tmp_path, "b", method="sum", every=1)
    first_a, first_b = steps_a[0].conflict, steps_b[0].conflict
    assert first_a["cos"][0][1] == pytest.approx(first_b["cos"][0][1], abs=1e-5)
    assert gradient["conflict"]["measurements"] == 3


def test_lookahead_affinity_by_hand_restores_weights_statistics_and_generator():
    """L_a = (w - 1)², L_b = (w + 1)² at w = 0: g_a = -2, g_b = 2. With η = 0.1 a step for a
    moves w to 0.2: L_a = 0.64, L_b = 1.44, so Z[a] = (1 - 0.64, 1 - 1.44) = (0.36, -0.44);
    a step for b moves w to -0.2, the mirror image (Fifty et al. 2021, eq. 3)."""
    model = torch.nn.Module()
    model.w = torch.nn.Parameter(torch.zeros(1))
    model.register_buffer("stat", torch.tensor([5.0]))

    def losses_after():
        model.stat.add_(1.0)  # a BatchNorm-like side effect of the forward pass
        torch.rand(3)  # and a draw from the generator
        w = float(model.w)
        return [(w - 1) ** 2, (w + 1) ** 2]

    jacobian = torch.tensor([[-2.0], [2.0]])
    torch.manual_seed(7)
    expected_draw = torch.rand(1)
    torch.manual_seed(7)
    Z = lookahead_affinity(model, [model.w], jacobian, 0.1, losses_after, [1.0, 1.0])
    assert Z[0] == pytest.approx((0.36, -0.44)) and Z[1] == pytest.approx((-0.44, 0.36))
    assert float(model.w.detach()) == 0.0 and float(model.stat) == 5.0
    assert torch.equal(torch.rand(1), expected_draw)  # the lookahead left the generator as it was
    assert (
        lookahead_affinity(model, [model.w], jacobian, 0.1, lambda: [float("nan"), 1.0], [1.0, 1.0]) is None
    )


def test_tally_averages_affinity_per_ordered_pair():
    tally = ConflictTally()
    eye = torch.eye(2)
    for z in (0.1, 0.3):
        sample = conflict_from_gramian(eye, ["a", "b"])
        tally.add(dataclasses.replace(sample, affinity=((z, -z), (2 * z, z))))
    summary = ConflictTally.from_dict(json.loads(json.dumps(tally.as_dict()))).summary()
    assert summary["mean_affinity"] == pytest.approx({"a>a": 0.2, "a>b": -0.2, "b>a": 0.4, "b>b": 0.2})
    assert summary["affinity_measurements"] == 2
    assert "mean_affinity" not in ConflictTally().summary()


def test_a_run_measures_lookahead_affinity_without_changing_training(tmp_path):
    cfg = tiny_config()
    cfg.train.epochs, cfg.train.batch_size, cfg.train.num_samples = 1, 8, 0
    cfg.data.options.update(image_size=32, train_size=24, val_size=8)
    runs = {}
    for name, affinity in (("tag", True), ("plain", False)):
        cfg.name = name
        cfg.weighting = WeightingConfig(method="equal_sum", conflict_every=2, lookahead_affinity=affinity)
        store = RunStore.create(tmp_path, name)
        events = []
        summary = Trainer(cfg, store, subscribers=[events.append]).run()
        runs[name] = (store, summary, [e for e in events if type(e).__name__ == "StepEnded"])
    store, summary, steps = runs["tag"]
    measured = [e.conflict for e in steps if e.conflict]
    assert len(measured) == 2 and all(len(c["affinity"]) == 2 == len(c["affinity"][0]) for c in measured)
    assert set(summary["conflict"]["mean_affinity"]) == {"scene>scene", "scene>n", "n>scene", "n>n"}
    logged = [json.loads(line) for line in store.metrics_path.read_text().splitlines()]
    assert sum(1 for r in logged if "affinity" in r.get("conflict", {})) == 2
    assert "mean_affinity" not in runs["plain"][1]["conflict"]
    a = load_checkpoint(store.last_checkpoint, "last")["model"]
    b = load_checkpoint(runs["plain"][0].last_checkpoint, "last")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # the lookahead never changes the weights or statistics
    assert [e.losses for e in steps] == [e.losses for e in runs["plain"][2]]


def test_lookahead_affinity_needs_conflict_measurements():
    cfg = tiny_config()
    cfg.weighting = WeightingConfig(conflict_every=0, lookahead_affinity=True)
    with pytest.raises(ConfigError, match="weighting.lookahead_affinity.*conflict_every above 0"):
        validate_experiment(cfg)


def test_lookahead_draws_the_steps_own_dropout_masks(tmp_path):
    """With η ≈ 0 a step changes nothing, so Z must be ≈ 0 even with dropout: the lookahead
    passes reuse the forward pass's masks (with fresh masks Z was 0.04-0.13 here)."""
    cfg = tiny_config()
    cfg.model.dropout = 0.5
    cfg.optim.optimizer, cfg.optim.lr, cfg.optim.warmup_steps = "sgd", 1e-9, 0
    cfg.train.epochs, cfg.train.batch_size, cfg.train.num_samples = 1, 8, 0
    cfg.data.options.update(image_size=32, train_size=16, val_size=8)
    cfg.weighting = WeightingConfig(method="equal_sum", conflict_every=1, lookahead_affinity=True)
    events = []
    Trainer(cfg, RunStore.create(tmp_path, "dropout"), subscribers=[events.append]).run()
    measured = [e.conflict["affinity"] for e in events if type(e).__name__ == "StepEnded" and e.conflict]
    assert len(measured) == 2
    assert max(abs(z) for Z in measured for row in Z for z in row) < 1e-5
