"""``train.time_limit_s`` counts all of a run's training: a resume of a run that spent it is
refused with what to do, and ``resume --time-limit S`` trains S more seconds (0: no limit)."""

from __future__ import annotations

import json

from conftest import tiny_config

from workbench.cli import main
from workbench.experiment_check import save_config
from workbench.training.run_store import list_runs


def test_a_spent_time_limit_refuses_the_resume_and_more_time_continues_it(tmp_path, capsys):
    cfg = tiny_config()
    cfg.train.epochs, cfg.train.batch_size, cfg.train.num_samples = 2, 8, 0
    cfg.data.options.update(image_size=32, train_size=16, val_size=8)
    path = tmp_path / "exp.toml"
    save_config(cfg, path)
    runs = tmp_path / "runs"
    assert main(["train", str(path), "--out", str(runs), "--quiet", "--time-limit", "0.001"]) == 0
    (run,) = list_runs(runs)
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == (
        f"time limit reached; to train further: workbench resume {run.path} --time-limit SECONDS"
    )
    before = (run.path / "summary.json").read_text()
    assert json.loads(before)["stop_reason"] == "time_limit"

    assert main(["resume", str(run.path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"error: {run.path} has spent its time limit: " in err
    assert "--time-limit SECONDS (that many more; 0 for no limit)" in err
    assert (run.path / "summary.json").read_text() == before  # a refused resume changes nothing

    assert main(["resume", str(run.path), "--quiet", "--time-limit", "nan"]) == 2
    assert "--time-limit: nan is not between 0 and 2592000 seconds" in capsys.readouterr().err

    assert main(["resume", str(run.path), "--quiet", "--time-limit", "0.001"]) == 0  # one more step or so
    assert main(["resume", str(run.path), "--quiet", "--time-limit", "0"]) == 0
    summary = json.loads((run.path / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epochs_done"] == 2
    changes = summary["config_changes"]  # both resumes' changes, in order
    assert len(changes) == 2 and changes[0].startswith("train.time_limit_s: 0.001 -> ")  # spent + 0.001
    assert changes[1].endswith("-> 0.0")


def test_printed_commands_run_as_pasted_and_a_lifted_limit_is_kept(tmp_path, capsys, monkeypatch):
    """ "to train further: workbench resume -runs x/RUN --time-limit SECONDS" broke when
    pasted: argparse took "-runs" for an option and the space split the path. Printed
    commands are quoted now. ``resume --time-limit 0`` lifts the limit in config.toml too:
    it stayed 0.001 there, and the compare view showed it."""
    import shlex

    from workbench.training.run_store import RunStore

    cfg = tiny_config()
    cfg.train.epochs, cfg.train.batch_size, cfg.train.num_samples = 2, 8, 0
    cfg.data.options.update(image_size=32, train_size=16, val_size=8)
    monkeypatch.chdir(tmp_path)
    save_config(cfg, tmp_path / "exp.toml")
    assert main(["train", "exp.toml", "--out", "-runs x#1", "--quiet", "--time-limit", "0.001"]) == 0
    (run,) = list_runs(tmp_path / "-runs x#1")
    line = capsys.readouterr().out.splitlines()[-1]
    prefix = "time limit reached; to train further: "
    assert line.startswith(prefix)
    words = shlex.split(line[len(prefix) :])
    assert words[:2] == ["workbench", "resume"] and words[2] == f"./-runs x#1/{run.path.name}"
    assert words[3:] == ["--time-limit", "SECONDS"]
    assert main([*words[1:4], "0", "--quiet"]) == 0  # as pasted, SECONDS filled in
    store = RunStore(run.path)
    assert store.read_summary()["status"] == "finished"
    assert store.read_config().train.time_limit_s == 0.0


def test_a_resume_on_another_device_keeps_it_in_the_config(tmp_path, capsys):
    """`resume --device cpu` of an "auto" run left config.toml at "auto": the next plain
    resume logged "device: 'cpu' -> 'auto'" (cuda where there is one) and the runs list
    and compare view showed "auto"."""
    from workbench.training.run_store import RunStore

    cfg = tiny_config()
    cfg.train.device, cfg.train.epochs, cfg.train.batch_size, cfg.train.num_samples = "auto", 2, 8, 0
    cfg.data.options.update(image_size=32, train_size=16, val_size=8)
    save_config(cfg, tmp_path / "exp.toml")
    assert main(["train", str(tmp_path / "exp.toml"), "--out", str(tmp_path / "runs"), "--quiet",
                 "--time-limit", "0.001"]) == 0  # fmt: skip
    (run,) = list_runs(tmp_path / "runs")
    assert main(["resume", str(run.path), "--device", "cpu", "--quiet", "--time-limit", "0.001"]) == 0
    store = RunStore(run.path)
    assert store.read_config().train.device == "cpu"
    assert main(["resume", str(run.path), "--quiet", "--time-limit", "0"]) == 0
    changes = store.read_summary()["config_changes"]
    assert not any(c.startswith("train.device: 'cpu' -> 'auto'") for c in changes), changes
    assert store.read_summary()["status"] == "finished"
