"""Single-task baselines, reuse of finished runs, and the Δm written into a run's summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

from workbench.analysis.delta_m import delta_m
from workbench.cli import main
from workbench.experiment_check import save_config
from workbench.training.baselines import baseline_plan, delta_m_entry, find_finished_run
from workbench.training.checkpoint import load_checkpoint
from workbench.training.run_store import RunStore, list_runs
from workbench.training.trainer import Trainer


def _cfg(**optim):
    cfg = tiny_config()
    cfg.train.epochs, cfg.train.batch_size, cfg.train.num_samples = 1, 8, 0
    cfg.data.options.update(image_size=32, train_size=16, val_size=8)
    for k, v in optim.items():
        setattr(cfg.optim, k, v)
    return cfg


def test_plan_is_one_depth_zero_run_or_one_run_per_task():
    (joint,) = baseline_plan(_cfg())
    assert joint.tasks == ["scene", "n"]
    assert joint.config.model.sharing_depth == 0 and joint.config.weighting.method == "equal_sum"
    split = baseline_plan(_cfg(grad_clip=1.0))  # one global clipping norm couples the tasks
    assert [p.tasks for p in split] == [["scene"], ["n"]]
    assert all(len(p.config.tasks) == 1 for p in split)


def test_depth_zero_run_is_the_single_task_network(tmp_path):
    """The first task's branch of the depth-0 run trains exactly like a single-task run."""
    (joint,) = baseline_plan(_cfg())
    a = RunStore.create(tmp_path, "joint")
    Trainer(joint.config, a).run()
    single = _cfg()
    single.tasks = single.tasks[:1]
    b = RunStore.create(tmp_path, "single")
    Trainer(single, b).run()
    ja = load_checkpoint(a.last_checkpoint, "last")["model"]
    sb = load_checkpoint(b.last_checkpoint, "last")["model"]
    own = {k: v for k, v in ja.items() if ".scene." in k}
    for key, value in own.items():
        other = key.replace("branches.scene.", "shared.") if key.startswith("branches.") else key
        assert torch.equal(value, sb[other]), key


def test_cli_trains_then_reuses_and_writes_delta_m(tmp_path, capsys, monkeypatch):
    cfg_path = tmp_path / "exp.toml"
    save_config(_cfg(), cfg_path)
    monkeypatch.chdir(tmp_path)
    runs = Path("runs")  # relative: the baselines' paths in the summary must not be
    assert main(["train", str(cfg_path), "--out", str(runs), "--quiet"]) == 0
    (run,) = list_runs(runs)
    assert main(["baselines", str(run.path), "--quiet"]) == 0
    summary = json.loads((run.path / "summary.json").read_text())
    entry = summary["delta_m"]
    stl_dir = entry["baseline_runs"]["scene"]
    assert Path(stl_dir).is_absolute() and ".." not in Path(stl_dir).parts
    stl = json.loads((RunStore(stl_dir).path / "summary.json").read_text())
    primary = summary["primary_metrics"]
    mtl_values = {t: summary["final_metrics"][t][m] for t, m in primary.items()}
    stl_values = {t: stl["final_metrics"][t][m] for t, m in primary.items()}
    want = delta_m(mtl_values, stl_values, summary["higher_is_better"])
    assert entry["maninis"] == pytest.approx(want.value)
    assert entry["libmtl_metrics"] == {t: list(m) for t, m in summary["final_metrics"].items()}
    assert "Δm (Maninis" in capsys.readouterr().out
    n_runs = len(list_runs(runs))
    assert main(["baselines", str(run.path), "--quiet"]) == 0  # the finished baseline is reused
    assert len(list_runs(runs)) == n_runs
    assert "reusing" in capsys.readouterr().out
    assert find_finished_run(runs, baseline_plan(RunStore(run.path).read_config())[0].config) is not None


def test_a_baseline_whose_resume_is_refused_says_why_and_how_to_start_it_again(tmp_path, capsys):
    """A baseline killed mid-run (summary "running") whose last.pt is then damaged was
    "has no result: it is running", with nothing running and no way out."""
    cfg_path = tmp_path / "exp.toml"
    save_config(_cfg(), cfg_path)
    runs = tmp_path / "runs"
    assert main(["train", str(cfg_path), "--out", str(runs), "--quiet"]) == 0
    (run,) = list_runs(runs)
    assert main(["baselines", str(run.path), "--quiet"]) == 0
    stl = Path(json.loads((run.path / "summary.json").read_text())["delta_m"]["baseline_runs"]["scene"])
    summary = json.loads((stl / "summary.json").read_text())
    (stl / "summary.json").write_text(json.dumps({**summary, "status": "running"}))  # as kill -9 leaves it
    last = stl / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[:100])
    capsys.readouterr()
    assert main(["baselines", str(run.path), "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert f"baseline {stl} has no result: it could not be resumed: {last} cannot be read" in out + err
    assert f"to train it again from the start, delete or move {stl} and run the command again" in out + err
    assert "it is running" not in out + err and "Traceback" not in err


def test_one_task_or_a_missing_target_is_one_line(tmp_path, capsys):
    one = _cfg()
    one.tasks = one.tasks[:1]
    save_config(one, tmp_path / "one.toml")
    assert main(["baselines", str(tmp_path / "one.toml")]) == 1
    assert "its own single-task baseline" in capsys.readouterr().err
    assert main(["baselines", str(tmp_path / "nothing.toml")]) == 2  # a bad argument
    err = capsys.readouterr().err
    assert (
        err == f"error: {tmp_path / 'nothing.toml'} does not exist; give a run folder or an experiment TOML\n"
    )


def test_a_folder_that_cannot_be_written_is_said_before_any_training(tmp_path, capsys, monkeypatch):
    """The baselines trained (for hours), then failed writing the Δm into a run on a
    read-only disk; a read-only runs folder failed at the first baseline. Both are now
    said first, with the way out. (As root, a read-only folder is not read-only:
    os.access is made to answer as for one.)"""
    import os

    save_config(_cfg(), tmp_path / "exp.toml")
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != locked and real_access(p, mode))
    assert main(["baselines", str(tmp_path / "exp.toml"), "--out", str(locked / "runs")]) == 1
    assert capsys.readouterr().err == (
        f"error: cannot write the baselines into {locked / 'runs'}: {locked} is not writable (no permission); "
        "give --out DIR\n"
    )
    assert list(locked.iterdir()) == []


def test_a_run_from_before_a_config_field_existed_still_matches():
    """Runs made before a field was added (their config.toml lacks it) match a config that
    has the field at its default, and only then: a sweep reuses them as baselines."""
    import copy

    from workbench.config import to_dict
    from workbench.training.baselines import comparable_config

    full = to_dict(_cfg())
    old = copy.deepcopy(full)
    for section, name in (("train", "amp_dtype"), ("optim", "grad_clip"), ("weighting", "conflict_every")):
        del old[section][name]
    del old["tasks"][0]["loss_weight"]
    assert comparable_config(old) == comparable_config(full)
    off_default = copy.deepcopy(full)
    off_default["train"]["amp_dtype"] = "bfloat16"
    assert comparable_config(old) != comparable_config(off_default)


def test_baselines_of_an_unfinished_run_are_refused_before_training(tmp_path, capsys):
    from workbench.training.control import RunControl

    control = RunControl()
    control.request_stop()  # stopped before its first step
    store = RunStore.create(tmp_path, "mtl")
    Trainer(_cfg(), store, control).run()
    assert store.read_summary()["status"] == "stopped"
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["baselines", str(store.path), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {store.path} is stopped: Δm needs a finished run; finish it first (workbench resume "
        f"{store.path}), or give {store.config_path} to train only the baselines"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing trained


def test_a_run_that_spent_its_time_limit_gets_baselines_with_the_same_limit(tmp_path, capsys):
    """A run stopped by its time limit after a validated epoch has a result: `baselines`
    trains the single-task runs under the same limit and writes Δm from its last epoch; one
    stopped by it before any validation is refused, saying why."""
    from workbench.training.trainer import StopReason

    class SpentAt(Trainer):  # the limit strikes as epoch ``at`` begins (made deterministic)
        at = 1

        def _train_epoch(self, loop, epoch):
            return StopReason.TIME_LIMIT if epoch == self.at else super()._train_epoch(loop, epoch)

    cfg = _cfg()
    cfg.train.epochs, cfg.train.time_limit_s = 2, 900.0
    store = RunStore.create(tmp_path / "runs", "mtl")
    SpentAt(cfg, store).run()
    summary = store.read_summary()
    assert (summary["status"], summary["stop_reason"], summary["epochs_done"]) == ("stopped", "time_limit", 1)
    assert main(["baselines", str(store.path), "--quiet"]) == 0
    entry = store.read_summary()["delta_m"]
    (stl_dir,) = set(entry["baseline_runs"].values())
    assert RunStore(stl_dir).read_config().train.time_limit_s == 900.0  # the same budget
    stl = RunStore(stl_dir).read_summary()
    primary = summary["primary_metrics"]
    want = delta_m(
        {t: summary["final_metrics"][t][m] for t, m in primary.items()},
        {t: stl["final_metrics"][t][m] for t, m in primary.items()},
        summary["higher_is_better"],
    )
    assert entry["maninis"] == pytest.approx(want.value)
    capsys.readouterr()
    # resumed to its end, its final metrics change: the old Δm goes (baselines again)
    resumed = store.read_config()
    resumed.train.time_limit_s = 0.0  # a resume may change the time limit
    save_config(resumed, store.config_path)
    assert main(["resume", str(store.path), "--quiet"]) == 0
    assert "delta_m" not in store.read_summary()

    SpentAt.at = 0  # no epoch validated: no result, nothing trained
    empty = RunStore.create(tmp_path / "runs", "empty")
    SpentAt(cfg, empty).run()
    before = len(list_runs(tmp_path / "runs"))
    assert main(["baselines", str(empty.path), "--quiet"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {empty.path} has no result: its time limit was reached before the first validation; "
        "raise train.time_limit_s"
    )
    assert len(list_runs(tmp_path / "runs")) == before


def test_an_undefined_delta_m_is_one_line_and_keeps_the_baselines(tmp_path, capsys):
    """A single-task metric of 0 has no relative change: said in one line (no exception
    class), the baselines stay for the next try."""
    cfg_path = tmp_path / "exp.toml"
    save_config(_cfg(), cfg_path)
    runs = tmp_path / "runs"
    assert main(["train", str(cfg_path), "--out", str(runs), "--quiet"]) == 0
    (run,) = list_runs(runs)
    assert main(["baselines", str(run.path), "--quiet"]) == 0
    entry = json.loads((run.path / "summary.json").read_text())["delta_m"]
    stl = RunStore(entry["baseline_runs"]["scene"])
    summary = stl.read_summary()
    metric = summary["primary_metrics"]["scene"]
    summary["final_metrics"]["scene"][metric] = 0.0
    stl.write_summary(summary)
    capsys.readouterr()
    assert main(["baselines", str(run.path), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: Δm of {run.path} is undefined: scene/accuracy: the single-task value is 0, so there is no relative "
        "change; the baselines are kept"
    )
    assert stl.path.is_dir()
    # the old Δm is not left standing: a null, and why
    written = json.loads((run.path / "summary.json").read_text())
    assert written["delta_m"] is None
    assert (
        written["delta_m_note"]
        == "undefined: scene/accuracy: the single-task value is 0, so there is no relative change"
    )


def _yolo_set(root, n=16):
    """A YOLO set without its own split (a seeded draw holds 25 % out), 3 classes."""
    from PIL import Image

    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for i in range(n):
        Image.new("RGB", (32, 32), (15 * i, 90, 40)).save(root / "images" / f"{i:02d}.png")
        (root / "labels" / f"{i:02d}.txt").write_text(f"{i % 3} 0.5 0.5 0.4 0.4\n")
    (root / "data.yaml").write_text("names: [red, green, blue]\ntrain: images\n")
    return root


def _yolo_run(tmp_path, capsys):
    from workbench.config import DataConfig, TaskConfig

    root = _yolo_set(tmp_path / "set")
    cfg = _cfg()
    cfg.data = DataConfig(source="yolo", path=str(root), options={"image_size": 32, "val_fraction": 0.25})
    cfg.tasks = [TaskConfig(name="present", kind="multilabel"), TaskConfig(name="n", kind="counting")]
    cfg.train.batch_size = 4
    cfg_path = tmp_path / "exp.toml"
    save_config(cfg, cfg_path)
    runs = tmp_path / "runs"
    assert main(["train", str(cfg_path), "--out", str(runs), "--quiet"]) == 0
    (run,) = list_runs(runs)
    capsys.readouterr()
    return root, runs, run.path


def test_baselines_train_on_the_runs_own_images_and_reuse_only_such_runs(tmp_path, capsys):
    """Images added to the data folder since the run would redraw the held-out split: the
    baseline keeps to the run's images (its split.json), and a finished run of the same
    config that saw other images is no baseline of this run."""
    from PIL import Image

    from workbench.training.run_split import SPLIT_FILE

    root, runs, run = _yolo_run(tmp_path, capsys)
    kept = json.loads((run / SPLIT_FILE).read_text())
    # a finished run of the very config the baseline has, on the data as it is now
    for i in range(16, 24):
        Image.new("RGB", (32, 32), (200, 10 * i, 40)).save(root / "images" / f"{i:02d}.png")
        (root / "labels" / f"{i:02d}.txt").write_text("1 0.5 0.5 0.4 0.4\n")
    plan = baseline_plan(RunStore(run).read_config())[0].config
    other = RunStore.create(runs, plan.name)
    assert Trainer(plan, other).run()["status"] == "finished"
    assert json.loads((other.path / SPLIT_FILE).read_text()) != kept
    assert main(["baselines", str(run), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "reusing" not in out and "8 image(s) added since the run started are not used" in err
    baseline = json.loads((run / "summary.json").read_text())["delta_m"]["baseline_runs"]["present"]
    assert baseline != str(other.path)
    assert json.loads((RunStore(baseline).path / SPLIT_FILE).read_text()) == kept
    assert main(["baselines", str(run), "--quiet"]) == 0  # now that one is reused
    assert f"reusing {baseline}" in capsys.readouterr().out


def test_baselines_of_a_run_whose_data_lost_validation_images_or_changed_classes_are_refused(
    tmp_path, capsys
):
    from workbench.training.run_split import SPLIT_FILE

    root, runs, run = _yolo_run(tmp_path, capsys)
    (entry,) = json.loads((run / SPLIT_FILE).read_text())["sources"]
    n_val = len(entry["val"])
    gone = root / entry["val"][0]
    moved = gone.read_bytes()
    gone.unlink()
    before = len(list_runs(runs))
    assert main(["baselines", str(run), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: 1 of the {n_val} validation images {run} was scored on are no longer in its data "
        f"({entry['val'][0]}): its baselines would be scored on other images, and Δm would compare the two. "
        "Restore them"
    )
    gone.write_bytes(moved)
    (root / "data.yaml").write_text("names: [red, verde, blue]\ntrain: images\n")  # a class renamed
    assert main(["baselines", str(run), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: the baselines of {run} must train on the images and classes it used: ")
    assert "the run learned the classes red, green, blue" in err
    assert len(list_runs(runs)) == before  # nothing trained, no folder left
    assert "delta_m" not in json.loads((run / "summary.json").read_text())


def _summary(finals: dict, run_dir: str = "") -> dict:
    return {
        "primary_metrics": {"scene": "accuracy", "n": "mae"},
        "higher_is_better": {"scene": True, "n": False},
        "task_kinds": {"scene": "classification", "n": "counting"},
        "final_metrics": finals,
        "run_dir": run_dir,
    }


def test_delta_p_is_over_every_metric_each_with_its_own_direction():
    """Δm over the primary metrics only; Δp (LibMTL) over every metric both runs measured,
    per task first: over the primary metrics alone it was exactly −Δm, no information."""
    mtl = _summary({"scene": {"accuracy": 0.6, "f1": 0.5}, "n": {"mae": 0.9, "exact": 0.5}})
    stl_scene = _summary({"scene": {"accuracy": 0.5, "f1": 0.4}})
    stl_n = _summary({"n": {"mae": 1.0, "exact": 0.4}})
    entry = delta_m_entry(mtl, {"scene": stl_scene, "n": stl_n})
    # by hand: accuracy +20 %, mae (lower is better) 0.9 vs 1.0: +10 %; Δm = -(20 + 10) / 2
    assert entry["maninis"] == pytest.approx(-15.0)
    # f1 +25 %, exact (higher is better, unlike mae) +25 %:
    # Δp = mean(mean(20, 25), mean(10, 25)) = mean(22.5, 17.5) = 20
    assert entry["libmtl"] == pytest.approx(20.0)
    assert entry["libmtl_metrics"] == {"scene": ["accuracy", "f1"], "n": ["mae", "exact"]}
    assert entry["per_task"] == pytest.approx({"scene": 20.0, "n": 10.0})  # primary metric
    # a secondary metric of 0 in a baseline: Δp undefined (said), Δm still written
    stl_n["final_metrics"]["n"]["exact"] = 0.0
    entry = delta_m_entry(mtl, {"scene": stl_scene, "n": stl_n})
    assert entry["maninis"] == pytest.approx(-15.0)
    assert entry["libmtl"] is None
    assert (
        entry["libmtl_note"]
        == "undefined: n/exact: the single-task value is 0, so there is no relative change"
    )
    # Δm undefined: named by task and metric too
    stl_scene["final_metrics"]["scene"]["accuracy"] = 0.0
    with pytest.raises(ValueError, match=r"^scene/accuracy: the single-task value is 0"):
        delta_m_entry(mtl, {"scene": stl_scene, "n": stl_n})
