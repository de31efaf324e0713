"""The typed run state and the gradient seam the loop hands to a weighting."""

from __future__ import annotations

import pytest

from workbench.training.run_state import Position, TrainingState


def test_state_round_trips_through_a_checkpoint_dict():
    state = TrainingState(best_value=0.5, best_epoch=2, bad_epochs=1, elapsed=12.5)
    state.start_epoch(["a", "b"])
    state.add_step({"a": 2.0, "b": 0.0}, {"a": 4, "b": 0})
    state.add_step({"a": 1.0, "b": 3.0}, {"a": 2, "b": 6})
    data = state.as_dict()
    assert "epoch_record" not in data  # written only with an epoch's commit
    assert TrainingState.from_dict(data, ["a", "b"], 8) == state
    assert Position.from_dict(Position(3, 1, 31).as_dict()) == Position(3, 1, 31)


def test_epoch_means_count_only_the_steps_that_labelled_the_task():
    state = TrainingState()
    state.start_epoch(["a", "b"])
    state.add_step({"a": 2.0, "b": 0.0}, {"a": 4, "b": 0})  # b not in this batch
    state.add_step({"a": 1.0, "b": 3.0}, {"a": 2, "b": 6})
    assert state.train_losses() == {"a": 1.5, "b": 3.0}  # (2 + 1) / 2 and 3 / 1, not 3 / 2
    assert state.epoch_samples == {"a": 6, "b": 6} and state.epoch_count == 2


def test_a_checkpoint_from_before_partial_labels_counts_every_step():
    old = {
        "best_value": None,
        "best_epoch": -1,
        "bad_epochs": 0,
        "best_metrics": {},
        "final_metrics": {},
        "epoch_sums": {"a": 6.0},
        "epoch_count": 3,
        "elapsed": 1.0,
    }
    state = TrainingState.from_dict(old, ["a"], 16)
    assert state.epoch_steps == {"a": 3} and state.epoch_samples == {"a": 48}
    assert state.train_losses() == {"a": 2.0}


@pytest.mark.parametrize(
    ("values", "higher", "best_epochs"),
    [
        ([0.5, 0.7, 0.6], True, [0, 1, 1]),
        ([0.5, 0.7, 0.6], False, [0, 0, 0]),
        ([None, None, 0.1, None], True, [0, 1, 2, 2]),  # undefined never beats defined
    ],
)
def test_best_epoch_by_the_monitored_value(values, higher, best_epochs):
    state = TrainingState()
    seen = []
    for epoch, value in enumerate(values):
        state.record_validation({"t": {"m": value}}, epoch, value, higher)
        seen.append(state.best_epoch)
    assert seen == best_epochs
    assert state.final_metrics == {"t": {"m": values[-1]}}


@pytest.mark.parametrize("depth", [0, 2, 4])
def test_the_loop_partitions_the_parameters_into_shared_and_per_task(depth, tiny):
    from workbench.training.experiment import build_experiment, build_optimizer
    from workbench.training.trainer import _Loop

    tiny.model.sharing_depth = depth
    exp = build_experiment(tiny)
    loop = _Loop(
        exp=exp,
        model=exp.model,
        weighting=exp.weighting,
        optimizer=build_optimizer(tiny, exp.model, exp.weighting),
        precision=None,
        batch_size=8,
        steps_per_epoch=1,
        epochs=1,
        target_keys=frozenset(),
    )
    ids = [id(p) for p in loop.shared_params] + [id(p) for ps in loop.task_params.values() for p in ps]
    own = [id(p) for p in exp.model.parameters()]
    assert sorted(ids) == sorted(own)  # every parameter exactly once
    assert len(loop.shared_modules) == depth and (not loop.shared_params) == (depth == 0)
    assert set(loop.task_params) == {t.name for t in tiny.tasks}
    assert all(loop.task_params.values())
