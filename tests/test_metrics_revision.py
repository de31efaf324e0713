"""Numbers measured by other rules are said, never mixed silently (a run from an older
version resumed, evaluated, compared, reused as a baseline or kept in a sweep).

An older version's detection validation loss was a mean per box; a run it made and today's
resumed had its curve change meaning at the resumed epoch without a word, and eval printed
numbers that differed from the run's own log."""

from __future__ import annotations

import json

import pytest
from conftest import tiny_config

from workbench.cli import main
from workbench.training.control import RunControl
from workbench.training.events import RunStarted, StepEnded
from workbench.training.metrics_revision import METRICS_REVISION, eval_note, resume_note, run_revision
from workbench.training.run_store import RunStore
from workbench.training.trainer import Trainer


def _train(cfg, store, control=None, events=None, resume=False):
    return Trainer(cfg, store, control, [events.append] if events is not None else [], resume=resume).run()


def _as_if_older(store: RunStore) -> None:
    """What a version from before revisions were recorded leaves: no metrics_revision."""
    data = json.loads(store.summary_path.read_text())
    data.pop("metrics_revision")
    store.summary_path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("summary", "revision"),
    [({}, 0), (None, 0), ({"metrics_revision": 1}, 1), ({"metrics_revision": "1"}, 0),
     ({"metrics_revision": -1}, 0), ({"metrics_revision": True}, 0), ({"metrics_revision": 7}, 7)],
)  # fmt: skip
def test_the_revision_a_summary_records(summary, revision):
    assert run_revision(summary) == revision


def test_notes_name_both_revisions_and_the_epoch():
    assert eval_note(METRICS_REVISION) == ""
    assert eval_note(0).startswith("the run was measured by metrics revision 0 (a run from before")
    assert f"by metrics revision {METRICS_REVISION} and may differ" in eval_note(0)
    assert "newer than this workbench's" in eval_note(METRICS_REVISION + 5)
    note = resume_note(0, 3)
    assert note.startswith("epochs 1-3 were measured by metrics revision 0 (")
    assert f"from epoch 4 on, by metrics revision {METRICS_REVISION}:" in note


def test_a_resume_across_revisions_says_where_the_curves_change(tmp_path):
    control = RunControl()
    store = RunStore.create(tmp_path, "tiny")

    def stop(event):
        if isinstance(event, StepEnded) and event.global_step == 4:  # 3 steps an epoch: after epoch 1
            control.request_stop()

    first = Trainer(tiny_config(), store, control, [stop]).run()
    assert first["epochs_done"] == 1 and first["metrics_revision"] == METRICS_REVISION
    _as_if_older(store)
    events: list = []
    summary = _train(store.read_config(), RunStore(store.path), events=events, resume=True)
    assert summary["status"] == "finished" and summary["metrics_revision"] == METRICS_REVISION
    assert summary["revision_changes"] == [{"epoch": 2, "from": 0, "to": METRICS_REVISION}]
    started = next(e for e in events if isinstance(e, RunStarted))
    assert resume_note(0, 1) in started.note and resume_note(0, 1) in summary["notes"]


def test_a_resume_by_the_same_revision_says_nothing_of_it(tmp_path):
    control = RunControl()
    store = RunStore.create(tmp_path, "tiny")

    def stop(event):
        if isinstance(event, StepEnded) and event.global_step == 4:
            control.request_stop()

    Trainer(tiny_config(), store, control, [stop]).run()
    summary = _train(store.read_config(), RunStore(store.path), resume=True)
    assert "revision_changes" not in summary
    assert not any("metrics revision" in n for n in summary.get("notes") or [])


def test_eval_of_an_older_run_says_its_numbers_are_by_todays_rules(tmp_path, capsys):
    store = RunStore.create(tmp_path, "tiny")
    _train(tiny_config(), store)
    assert main(["eval", str(store.path)]) == 0
    assert "metrics revision" not in capsys.readouterr().err
    _as_if_older(store)
    assert main(["eval", str(store.path)]) == 0
    assert f"note: {eval_note(0)}" in capsys.readouterr().err.splitlines()
    assert json.loads((store.path / "eval_best.json").read_text())["metrics_revision"] == METRICS_REVISION


def test_a_run_measured_by_other_rules_is_not_reused_as_a_baseline(tmp_path):
    from workbench.training.baselines import find_finished_run

    cfg = tiny_config()
    store = RunStore.create(tmp_path, "tiny")
    _train(cfg, store)
    assert find_finished_run(tmp_path, cfg) == store.path
    _as_if_older(store)
    passed_over: list[str] = []
    assert find_finished_run(tmp_path, cfg, passed_over=passed_over) is None
    assert passed_over == [
        f"{store.path} is not reused: it was measured by metrics revision 0, this workbench measures by "
        f"{METRICS_REVISION}"
    ]


def test_compare_shows_the_revision_when_runs_differ_in_it():
    from workbench.analysis.compare import compare_table, facts_from_summary, run_labels

    base = {
        "status": "finished",
        "primary_metrics": {"a": "accuracy"},
        "final_metrics": {"a": {"accuracy": 0.5}},
    }
    config = {"name": "x", "model": {"backbone": "small_cnn"}}
    old = facts_from_summary("runs/x-20261128-100000", base, config)
    new = facts_from_summary("runs/x-20261128-110000", {**base, "metrics_revision": 1}, config)
    table = compare_table([old, new])
    col = [c.title for c in table.columns].index("Metrics revision")
    assert (table.text(0, col), table.text(1, col)) == ("0", "1")
    assert run_labels([old, new]) == ["metrics revision 0", "metrics revision 1"]
    same = facts_from_summary("runs/x-20261128-120000", {**base, "metrics_revision": 1}, config)
    assert "Metrics revision" not in [c.title for c in compare_table([new, same]).columns]


def test_a_sweep_of_members_measured_two_ways_says_so():
    from workbench.sweep.results import aggregate, mixed_revision_note

    rows = [
        {"tasks": "a", "method": "m", "sharing_depth": 1, "seed": s, "a/acc": v, "metrics_revision": r}
        for s, v, r in ((0, 0.5, 0), (1, 0.7, 1), (2, 0.6, 1))
    ]
    assert mixed_revision_note(rows).startswith(
        "note: the members were measured by different metrics revisions (revision 0: 1 run, revision 1: 2 runs;"
    )
    assert mixed_revision_note(rows[1:]) == ""
    (row,) = aggregate(rows)
    assert "metrics_revision" not in row and "metrics_revision_std" not in row  # not averaged
