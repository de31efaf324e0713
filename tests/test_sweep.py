"""Sweeps: expansion, the queue (continues after a stop), Δm, the results table and charts."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

from workbench.cli import main
from workbench.config import ConfigError
from workbench.experiment_check import save_config
from workbench.sweep.queue import run_sweep
from workbench.sweep.spec import load_sweep, parse_sweep
from workbench.training.control import RunControl
from workbench.training.trainer import Trainer


def _queue(folder):
    """queue.json's runs as paths (written relative to the sweep folder)."""
    return {k: str(folder / v) for k, v in json.loads((folder / "queue.json").read_text()).items()}


def _base(tmp_path):
    cfg = tiny_config()
    cfg.train.epochs, cfg.train.batch_size, cfg.train.num_samples = 1, 8, 0
    cfg.data.options.update(image_size=32, train_size=16, val_size=8)
    path = tmp_path / "base.toml"
    save_config(cfg, path)
    return path


def _sweep_file(tmp_path, body=""):
    base = _base(tmp_path)
    path = tmp_path / "sweep.toml"
    path.write_text(
        f'name = "s"\nbase = "{base.name}"\nsharing_depth = [0, 4]\nmethods = ["equal_sum", "mgda"]\n'
        f"seeds = [0, 1]\n{body}",
        encoding="utf-8",
    )
    return path


def test_a_sweep_folder_that_cannot_be_made_says_cannot_write(tmp_path, capsys):
    """ "error: ro/runsdir/swp: Read-only file system" lacked what failed ("cannot write"),
    which `train --out` says."""
    from workbench.cli import main

    in_the_way = tmp_path / "afile"
    in_the_way.write_text("")
    assert main(["sweep", str(_sweep_file(tmp_path)), "--out", str(in_the_way)]) == 1
    assert capsys.readouterr().err.endswith(
        f"error: cannot write {in_the_way / 's' / 'runs'}: {in_the_way} is a file, not a folder\n"
    )


def test_expansion_is_the_product_with_seeds_outermost(tmp_path):
    spec = load_sweep(_sweep_file(tmp_path))
    keys = [i.key for i in spec.items()]
    assert len(keys) == 8 and keys[0] == "scene+n-equal_sum-d0-s0" and keys[4].endswith("s1")
    item = spec.items()[3]
    assert item.config.weighting.method == "mgda" and item.config.model.sharing_depth == 4
    assert item.config.train.seed == 0 and item.config.name == "s-scene+n-mgda-d4-s0"


def test_bad_sweeps_name_the_field(tmp_path):
    base = _base(tmp_path)
    with pytest.raises(ConfigError, match="task_sets: the base experiment has no task 'x'"):
        parse_sweep({"task_sets": [["x"]], "base": str(base)})
    with pytest.raises(ConfigError, match="seeds: must be a list of ints"):
        parse_sweep({"seeds": "0", "base": str(base)})
    with pytest.raises(ConfigError, match="methods.*not allowed.*experiment nope-d-1-s0|weighting.method"):
        parse_sweep({"methods": ["nope"], "base": str(base)}).items()
    with pytest.raises(ConfigError, match="unknown key"):
        parse_sweep({"depths": [1]})
    # the name becomes a folder: the value and the offending character are named
    with pytest.raises(
        ConfigError, match=r"name: '\.\./\.\./evil' cannot name a run folder \('/' is not allowed"
    ):
        parse_sweep({"name": "../../evil", "base": str(base)})
    with pytest.raises(ConfigError, match="name: must be a string, got int 3"):
        parse_sweep({"name": 3, "base": str(base)})


@pytest.mark.parametrize(
    ("sweep", "says"),
    [
        ({"seeds": [0, 0]}, "seeds: 0 is listed twice"),
        ({"seeds": [1, 2, 1]}, "seeds: 1 is listed twice"),
        ({"methods": ["mgda", "upgrad", "mgda"]}, "methods: 'mgda' is listed twice"),
        ({"sharing_depth": [0, 0]}, "sharing_depth: 0 is listed twice"),
        ({"task_sets": [["scene", "n"], ["n", "scene"]]}, r"task_sets: \['n', 'scene'\] is listed twice"),
        ({"task_sets": [["scene", "scene"]]}, "task_sets: 'scene' is listed twice"),
        ({"seeds": []}, "seeds: is empty; list at least one value, or leave the key out"),
        ({"task_sets": []}, "task_sets: is empty"),
        ({}, "the sweep varies nothing: give at least one of sharing_depth, methods, task_sets, seeds"),
        ({"seeds": [0], "overrides": {"name": "../../x"}}, "overrides.name: the sweep names its runs"),
    ],
)
def test_a_sweep_that_would_count_one_run_twice_or_vary_nothing_is_refused(tmp_path, sweep, says):
    with pytest.raises(ConfigError, match=says):
        parse_sweep({**sweep, "base": str(_base(tmp_path))})


def test_full_sharing_named_twice_is_refused(tmp_path):
    """-1 means "every stage shared": on a 4-stage backbone it is depth 4."""
    spec = parse_sweep({"sharing_depth": [-1, 4], "base": str(_base(tmp_path))})
    with pytest.raises(
        ConfigError, match=r"sharing_depth: -1 and 4 are listed, and both are full sharing on small_cnn"
    ):
        spec.items()
    assert len(parse_sweep({"sharing_depth": [-1, 3], "base": str(_base(tmp_path))}).items()) == 2


def test_queue_continues_after_a_stop_and_writes_results(tmp_path):
    spec = load_sweep(_sweep_file(tmp_path))
    calls: list[tuple[str, bool]] = []

    def train(cfg, store, resume):
        calls.append((cfg.name, resume))
        control = RunControl()
        if cfg.name == "s-scene+n-mgda-d0-s0" and not resume:
            control.request_stop()  # stopped before its first step
        return Trainer(cfg, store, control, resume=resume).run()

    out = tmp_path / "out"
    # a stopped run (Ctrl-C, SIGTERM, Stop) stops the whole sweep
    first = run_sweep(spec, out, train, log=lambda m: None)
    assert len(first.finished) == 2 and len(calls) == 3
    calls.clear()
    second = run_sweep(spec, out, train, log=lambda m: None)
    assert calls[0] == ("s-scene+n-mgda-d0-s0", True)  # the stopped run is resumed
    assert len(calls) == 6 and len(second.finished) == 8  # the finished runs are kept
    rows = list(csv.DictReader((out / "s" / "results.csv").open()))
    table = list(csv.DictReader((out / "s" / "table.csv").open()))
    assert len(rows) == 8 and len(table) == 4
    metric = next(k for k in rows[0] if k.startswith("scene/"))
    for agg in table:
        members = [
            float(r[metric])
            for r in rows
            if (r["method"], r["sharing_depth"]) == (agg["method"], agg["sharing_depth"])
        ]
        assert float(agg[metric]) == pytest.approx(statistics.fmean(members))
        assert float(agg[f"{metric}_std"]) == pytest.approx(statistics.stdev(members))
        assert agg["seeds"] == "2"
    # the depth-0 plain-sum runs are the single-task baselines: their Δm against themselves is 0
    for r in rows:
        if r["method"] == "equal_sum" and r["sharing_depth"] == "0":
            assert r["delta_m"] == "0.0"  # not "-0.0"
        assert r["delta_m"] != ""
    assert (out / "s" / "depth-scene_n.png").stat().st_size > 5000
    assert (out / "s" / "pareto-scene_n.png").stat().st_size > 5000
    queue = _queue(out / "s")
    assert len(queue) == 8


def test_cli_lists_and_refuses_in_one_line(tmp_path, capsys):
    path = _sweep_file(tmp_path)
    assert main(["sweep", str(path), "--list"]) == 0
    assert len(capsys.readouterr().out.split()) == 8
    bad = tmp_path / "bad.toml"
    bad.write_text('task_sets = [["x"]]\n', encoding="utf-8")
    assert main(["sweep", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no task 'x'" in err


@pytest.mark.parametrize(
    ("devices", "says"),
    [
        ("tpu", "'tpu' is not allowed"),
        (",,,", "names no device"),
        ("cpu,cpu", "cpu named twice"),
        pytest.param(
            "cuda:9",
            "cuda:9",
            marks=pytest.mark.skipif(torch.cuda.device_count() > 9, reason="needs fewer than 10 GPUs"),
        ),
    ],
)
def test_bad_devices_are_refused_before_any_folder(tmp_path, capsys, devices, says):
    path = _sweep_file(tmp_path)
    out = tmp_path / "out"
    for extra in ([], ["--list"]):
        assert main(["sweep", str(path), "--out", str(out), "--devices", devices, *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--devices" in err and says in err
    assert not out.exists()


def test_a_second_sweep_reuses_finished_runs_of_the_same_configuration(tmp_path):
    base = _base(tmp_path)
    out = tmp_path / "out"
    trained = []

    def train(cfg, store, resume):
        trained.append(cfg.name)
        return Trainer(cfg, store, resume=resume).run()

    first = parse_sweep({"name": "a", "base": str(base), "sharing_depth": [0, 4], "baselines": False})
    run_sweep(first, out, train, log=lambda m: None)
    second = parse_sweep(
        {"name": "b", "base": str(base), "sharing_depth": [4], "methods": ["equal_sum", "mgda"]}
    )
    outcome = run_sweep(second, out, train, log=lambda m: None)
    assert trained == ["a-scene+n-equal_sum-d0-s0", "a-scene+n-equal_sum-d4-s0", "b-scene+n-mgda-d4-s0"]
    assert len(outcome.finished) == 2
    queue = _queue(out / "b")
    assert "/a/runs/" in queue["scene+n-equal_sum-d4-s0"]
    rows = list(csv.DictReader((out / "b" / "results.csv").open()))
    assert {r["method"] for r in rows} == {"equal_sum", "mgda"}
    assert all(r["delta_m"] != "" for r in rows)  # baselines found in sweep "a"


def test_an_edited_sweep_trains_what_it_now_says_and_keeps_the_old_runs(tmp_path):
    """The queue maps an experiment's key to its run; when the sweep file (or its base) is
    edited under the same name, the key's run was made with another config: never reported
    as the new experiment's result."""
    base = _base(tmp_path)
    out = tmp_path / "out"
    trained, logged = [], []

    def train(cfg, store, resume):
        trained.append((cfg.name, cfg.optim.lr, resume))
        return Trainer(cfg, store, resume=resume).run()

    sweep = {"name": "a", "base": str(base), "sharing_depth": [4], "baselines": False}
    run_sweep(parse_sweep(sweep), out, train, log=logged.append)
    old = _queue(out / "a")["scene+n-equal_sum-d4-s0"]
    edited = {**sweep, "overrides": {"optim": {"lr": 1e-4}}}
    outcome = run_sweep(parse_sweep(edited), out, train, log=logged.append)
    assert trained == [("a-scene+n-equal_sum-d4-s0", 1e-3, False), ("a-scene+n-equal_sum-d4-s0", 1e-4, False)]
    assert outcome.finished == ["scene+n-equal_sum-d4-s0"]
    new = _queue(out / "a")["scene+n-equal_sum-d4-s0"]
    assert new != old and (tmp_path / old / "config.toml").is_file()  # the old run is kept
    said = [m for m in logged if "changed since" in m]
    assert said == [
        f"[a] scene+n-equal_sum-d4-s0: the experiment changed since {old} was made "
        "(optim.lr: 0.001 -> 0.0001); it is not reused"
    ]
    rows = list(csv.DictReader((out / "a" / "results.csv").open()))
    assert [r["run_dir"] for r in rows] == [new]
    # run again unchanged: reused, nothing trained
    run_sweep(parse_sweep(edited), out, train, log=logged.append)
    assert len(trained) == 2
    # back to the first settings: the first run is found again (the same configuration)
    run_sweep(parse_sweep(sweep), out, train, log=logged.append)
    assert len(trained) == 2
    assert _queue(out / "a")["scene+n-equal_sum-d4-s0"] == old


@pytest.mark.slow
def test_a_signalled_sweep_exits_as_stopped_and_says_to_run_it_again(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    base = _base(tmp_path)
    text = base.read_text().replace("epochs = 1", "epochs = 200")  # long enough to be signalled
    base.write_text(text)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'name = "s"\nbase = "{base.name}"\nseeds = [0, 1]\nbaselines = false\n')
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "sweep", str(sweep), "--out", str(out), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.time() + 120
    while not any(p.stat().st_size for p in out.glob("s/runs/*/metrics.jsonl")):
        assert time.time() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    again = f"workbench sweep {sweep} --out {out}"
    assert stdout.splitlines()[-1] == f"stopped; continue with: {again}"  # said once, at the end
    # the member that had begun is "stopped", as its results.csv row says; the other never ran
    assert stdout.splitlines()[-2].startswith("sweep s: 0 finished, 0 failed, 1 stopped, 1 not run")
    assert stdout.count("continue with") == 1
    rows = {r["seed"]: r for r in csv.DictReader((out / "s" / "results.csv").open())}
    assert rows["0"]["status"] == "stopped" and rows["1"]["status"] == "not run"
    assert rows["0"]["sharing_depth"] == "4"  # resolved (hard sharing of 4 stages) as for a finished run


def _signal_after_run(monkeypatch, when=lambda trainer: True):
    """Make ``Trainer.run`` send this process SIGTERM as the run returns (while the CLI's
    handler of that run is still in place): the signal of a Ctrl-C just after the last
    step, which the run no longer needs."""
    import os
    import signal

    original = Trainer.run

    def run_then_signal(self):
        summary = original(self)
        if when(self):
            os.kill(os.getpid(), signal.SIGTERM)
        return summary

    monkeypatch.setattr(Trainer, "run", run_then_signal)


def test_a_stop_signal_that_comes_as_a_member_finishes_ends_the_sweep(tmp_path, monkeypatch, capsys):
    base = _base(tmp_path)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'name = "s"\nbase = "{base.name}"\nseeds = [0, 1]\nbaselines = false\n')
    out = tmp_path / "out"
    _signal_after_run(monkeypatch)
    assert main(["sweep", str(sweep), "--out", str(out), "--quiet"]) == 143
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith("sweep s: 1 finished, 0 failed, 1 not run")
    assert lines[-1] == f"stopped; continue with: workbench sweep {sweep} --out {out}"
    assert len(list((out / "s" / "runs").iterdir())) == 1  # the second member never started
    monkeypatch.undo()
    assert main(["sweep", str(sweep), "--out", str(out), "--quiet"]) == 0
    assert "sweep s: 2 finished" in capsys.readouterr().out


def test_a_stop_during_the_baselines_ends_the_sweep_and_the_stopped_baseline_is_resumed(
    tmp_path, monkeypatch, capsys
):
    import os
    import signal

    base = _base(tmp_path)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'name = "s"\nbase = "{base.name}"\nsharing_depth = [2, 4]\n')
    out = tmp_path / "out"
    original = Trainer.run

    def stop_the_first_baseline(self):  # a SIGTERM as the baseline starts: it stops after a step
        if self.config.name.endswith("-stl") and not self.resume:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self)

    monkeypatch.setattr(Trainer, "run", stop_the_first_baseline)
    assert main(["sweep", str(sweep), "--out", str(out), "--quiet"]) == 143
    out_text = capsys.readouterr().out
    assert out_text.count("baseline for scene, n: training") == 1  # no second baseline after the stop
    runs = out / "s" / "runs"
    (stl,) = [p for p in runs.iterdir() if "-stl-" in p.name]
    assert json.loads((stl / "summary.json").read_text())["status"] == "stopped"
    # named for what it is, a depth-0 plain-sum run of the tasks and seed, not "...-d2-s0-stl"
    assert stl.name.startswith("s-scene+n-s0-stl-")
    monkeypatch.undo()
    assert main(["sweep", str(sweep), "--out", str(out), "--quiet"]) == 0
    out_text = capsys.readouterr().out
    assert f"baseline for scene, n: resuming {stl}" in out_text
    assert [p for p in runs.iterdir() if "-stl-" in p.name] == [stl]  # resumed, not trained anew
    assert json.loads((stl / "summary.json").read_text())["status"] == "finished"
    for run in runs.iterdir():
        if "-stl-" not in run.name:
            assert "delta_m" in json.loads((run / "summary.json").read_text())


def test_a_member_whose_resume_is_refused_fails_and_the_others_and_delta_m_go_on(tmp_path, capsys):
    """A member killed mid-run (summary "running") whose last.pt is then damaged: its resume
    is refused. It stopped the whole sweep, was "not run", exited 0 and skipped Δm, on every
    run of the sweep after; now it fails with the reason and what to do, the members after
    it train, and Δm is written for the finished runs."""
    import shutil

    base = _base(tmp_path)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'name = "s"\nbase = "{base.name}"\nsharing_depth = [2, 4]\n')
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--quiet"]) == 0
    folder = out / "s"
    queue = _queue(folder)
    (first_key, first), (second_key, second) = sorted(queue.items())
    assert "-d2-" in first_key
    summary = json.loads((Path(first) / "summary.json").read_text())
    (Path(first) / "summary.json").write_text(json.dumps({**summary, "status": "running"}))  # kill -9
    last = Path(first) / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[:100])
    shutil.rmtree(second)  # the member after it has to train again
    capsys.readouterr()
    assert main(["sweep", str(sweep), "--out", str(out), "--quiet"]) == 1
    out_text, err = capsys.readouterr()
    assert "sweep s: 1 finished, 1 failed, 0 not run" in out_text
    assert f"failed {first_key}: could not be resumed: {last} cannot be read" in err
    assert f"; to train it again from the start, delete or move {first} and run the command again" in err
    again = _queue(folder)[second_key]
    assert json.loads((Path(again) / "summary.json").read_text())["status"] == "finished"
    assert "delta_m" in json.loads((Path(again) / "summary.json").read_text())
    assert "Traceback" not in err
    # the failed member keeps its row in results.csv (it vanished from it), with the reason
    rows = {r["sharing_depth"]: r for r in csv.DictReader((folder / "results.csv").open())}
    assert rows["2"]["status"] == "running"  # what its summary says: killed, not resumable
    assert rows["2"]["error"].startswith(f"could not be resumed: {last} cannot be read")
    metric = next(k for k in rows["4"] if k.startswith("scene/"))
    assert rows["2"][metric] == "" and rows["2"]["delta_m"] == ""
    assert rows["4"]["status"] == "finished" and rows["4"]["error"] == "" and float(rows["4"][metric]) >= 0
    assert len(list(csv.DictReader((folder / "table.csv").open()))) == 1  # the mean is of results only


def test_a_member_whose_summary_is_unreadable_fails_and_the_others_go_on(tmp_path, capsys):
    """One member's damaged summary.json was one error line: no other member ran, no
    results, no Δm."""
    import shutil

    base = _base(tmp_path)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'name = "s"\nbase = "{base.name}"\nsharing_depth = [2, 4]\n')
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--quiet"]) == 0
    (first_key, first), (second_key, second) = sorted(_queue(out / "s").items())
    (Path(first) / "summary.json").write_text("garbage")
    shutil.rmtree(second)
    capsys.readouterr()
    assert main(["sweep", str(sweep), "--out", str(out), "--quiet"]) == 1
    out_text, err = capsys.readouterr()
    assert "sweep s: 1 finished, 1 failed, 0 not run" in out_text
    assert f"failed {first_key}: {Path(first) / 'summary.json'}" in err
    assert f"to train it again from the start, delete or move {first} and run the command again" in err
    again = _queue(out / "s")[second_key]
    assert "delta_m" in json.loads((Path(again) / "summary.json").read_text())
    rows = list(csv.DictReader((out / "s" / "results.csv").open()))
    assert [(r["sharing_depth"], r["status"]) for r in rows] == [("2", "unreadable"), ("4", "finished")]
    assert str(Path(first) / "summary.json") in rows[0]["error"]


class _BudgetSpentAt(Trainer):
    """A trainer whose time limit strikes as ``epoch`` begins (the check after a step,
    made deterministic): epoch 0 ends the run before any validation, epoch 1 after one."""

    at_epoch = 1

    def _train_epoch(self, loop, epoch):
        if epoch == self.at_epoch:
            from workbench.training.trainer import StopReason

            return StopReason.TIME_LIMIT
        return super()._train_epoch(loop, epoch)


def test_a_run_that_spends_its_time_limit_is_a_result_and_the_sweep_goes_on(tmp_path):
    """A time limit in a sweep is every run's budget: the run is not a stop of the sweep,
    its last validated epoch is its result (Δm too), and a second sweep never resumes it."""
    base = _base(tmp_path)
    text = (
        base.read_text()
        .replace("epochs = 1", "epochs = 2")
        .replace("time_limit_s = 0.0", "time_limit_s = 900.0")
    )
    assert "epochs = 2" in text and "time_limit_s = 900.0" in text
    base.write_text(text)
    out = tmp_path / "out"
    trained, logged = [], []

    def train(cfg, store, resume):
        trained.append((cfg.name, resume))
        runner = _BudgetSpentAt if cfg.model.sharing_depth == 4 else Trainer
        return runner(cfg, store, resume=resume).run()

    spec = parse_sweep({"name": "t", "base": str(base), "sharing_depth": [4, 0], "seeds": [0, 1]})
    outcome = run_sweep(spec, out, train, log=logged.append)
    # every run trained once (the budget did not halt the sweep); the d0 runs are the baselines
    assert [n for n, _ in trained] == [
        "t-scene+n-equal_sum-d4-s0",
        "t-scene+n-equal_sum-d0-s0",
        "t-scene+n-equal_sum-d4-s1",
        "t-scene+n-equal_sum-d0-s1",
    ]
    assert sorted(outcome.finished) == sorted(i.key for i in spec.items()) and not outcome.failed
    assert not outcome.skipped
    said = [m for m in logged if "its budget is spent" in m]
    assert said == [
        f"[t] scene+n-equal_sum-d4-s{s}: time limit reached after 1 epoch(s): its budget is spent"
        for s in (0, 1)
    ]
    queue = _queue(out / "t")
    spent = json.loads((tmp_path / queue["scene+n-equal_sum-d4-s0"] / "summary.json").read_text())
    assert spent["status"] == "stopped" and spent["stop_reason"] == "time_limit"
    assert spent["epochs_done"] == 1 and spent["latency_ms"] > 0
    rows = {(r["sharing_depth"], r["seed"]): r for r in csv.DictReader((out / "t" / "results.csv").open())}
    assert len(rows) == 4
    assert rows[("4", "0")]["epochs"] == "1" and rows[("0", "0")]["epochs"] == "2"
    # Δm of the budget-ended run: its epoch-1 metrics against the d0 run's last epoch
    metric = spent["primary_metrics"]["scene"]
    base_run = json.loads((tmp_path / queue["scene+n-equal_sum-d0-s0"] / "summary.json").read_text())
    mine, theirs = spent["final_metrics"]["scene"][metric], base_run["final_metrics"]["scene"][metric]
    assert spent["delta_m"]["per_task"]["scene"] == pytest.approx(100 * (mine - theirs) / theirs)
    # again: nothing is trained, nothing resumed
    trained.clear()
    again = run_sweep(spec, out, train, log=logged.append)
    assert trained == [] and sorted(again.finished) == sorted(outcome.finished)


def test_a_time_limit_before_the_first_validation_is_reported_and_the_sweep_goes_on(tmp_path):
    base = _base(tmp_path)
    out = tmp_path / "out"
    trained = []

    def train(cfg, store, resume):
        trained.append(cfg.name)
        return Trainer(cfg, store, resume=resume).run()

    # a real limit, far shorter than one step: each run stops after its first step
    spec = parse_sweep(
        {
            "name": "t",
            "base": str(base),
            "seeds": [0, 1],
            "baselines": False,
            "overrides": {"train": {"time_limit_s": 0.001}},
        }
    )
    outcome = run_sweep(spec, out, train, log=lambda m: None)
    assert trained == ["t-scene+n-equal_sum-d-1-s0", "t-scene+n-equal_sum-d-1-s1"]
    assert outcome.finished == [] and not outcome.skipped
    assert outcome.failed == {
        key: "no result: its time limit was reached before the first validation; raise train.time_limit_s"
        for key in ("scene+n-equal_sum-d-1-s0", "scene+n-equal_sum-d-1-s1")
    }
    rows = list(csv.DictReader((out / "t" / "results.csv").open()))  # every member, though none has a result
    assert [(r["seed"], r["status"], r["error"]) for r in rows] == [
        (seed, "stopped", outcome.failed[f"scene+n-equal_sum-d-1-s{seed}"]) for seed in ("0", "1")
    ]
    assert not (out / "t" / "table.csv").exists()
    trained.clear()
    run_sweep(spec, out, train, log=lambda m: None)
    assert trained == []  # its budget is spent: not resumed into a second one


def test_the_cli_says_a_sweep_runs_budget_is_spent_not_to_continue_it(tmp_path, capsys):
    base = _base(tmp_path)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        f'name = "t"\nbase = "{base.name}"\nseeds = [0]\nbaselines = false\n[overrides.train]\ntime_limit_s = 0.001\n'
    )
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert "time limit reached: this run's budget is spent; it validated no epoch" in out
    assert "continue with" not in out and "resume continues" not in out and "is its result" not in out
    assert "no result: its time limit was reached before the first validation" in err


def test_a_solver_that_cannot_be_imported_refuses_the_sweep_before_anything_is_written(
    tmp_path, monkeypatch, capsys
):
    from workbench.weighting.gradient_methods import GradientMethod

    def broken(self):
        return f"{self.name} needs cvxpy, which is installed but cannot be imported (ImportError: probe)"

    monkeypatch.setattr(GradientMethod, "missing", lambda self: [])
    monkeypatch.setattr(GradientMethod, "broken", broken)
    base = _base(tmp_path)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'name = "s"\nbase = "{base.name}"\nmethods = ["equal_sum", "cagrad"]\n')
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "weighting.method: cagrad needs cvxpy, which is installed but cannot be imported" in err
    assert "(experiment scene+n-cagrad-d-1-s0)" in err
    assert not out.exists()


def test_a_member_that_does_not_start_is_failed_and_leaves_no_folder(tmp_path):
    spec = parse_sweep({"name": "s", "base": str(_base(tmp_path)), "seeds": [0, 1], "baselines": False})
    out = tmp_path / "out"

    def train(cfg, store, resume):  # refused before it wrote anything (e.g. its data went away)
        if cfg.train.seed == 0:
            return {"status": "failed", "error": "data: gone", "not_started": True}
        return Trainer(cfg, store, resume=resume).run()

    outcome = run_sweep(spec, out, train, log=lambda m: None)
    assert outcome.failed == {"scene+n-equal_sum-d-1-s0": "data: gone"}
    assert outcome.finished == ["scene+n-equal_sum-d-1-s1"]
    runs = list((out / "s" / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("s-scene+n-equal_sum-d-1-s1")
    assert list(_queue(out / "s")) == ["scene+n-equal_sum-d-1-s1"]


def test_a_member_stopped_while_reading_its_data_halts_the_sweep_and_is_trained_next_time(tmp_path):
    """A stop during a member's data read (nothing written) was taken for a refusal: the
    member "failed" with "did not start", and the sweep went on to the next one."""
    spec = parse_sweep({"name": "s", "base": str(_base(tmp_path)), "seeds": [0, 1], "baselines": False})
    out = tmp_path / "out"
    calls = []

    def train(cfg, store, resume):
        calls.append((cfg.train.seed, resume))
        if len(calls) == 1:  # what Trainer.run returns for a stop during the read
            return {"status": "stopped", "stop_reason": "user", "not_started": True}
        return Trainer(cfg, store, resume=resume).run()

    outcome = run_sweep(spec, out, train, log=lambda m: None)
    assert outcome.failed == {} and outcome.finished == []
    assert outcome.skipped[0] == "scene+n-equal_sum-d-1-s0" and calls == [(0, False)]  # halted
    assert not (out / "s" / "runs").exists() or not any((out / "s" / "runs").iterdir())  # no empty folder
    again = run_sweep(spec, out, train, log=lambda m: None)
    assert calls[1:] == [(0, False), (1, False)] and len(again.finished) == 2


def test_one_seed_has_no_standard_deviation_and_undefined_columns_stay():
    """The sample std (n - 1) of one value is undefined, not 0; a column undefined in every
    row (Δm without baselines) keeps its place in the header."""
    from workbench.sweep.results import aggregate

    rows = [
        {"tasks": "a+b", "method": "dwa", "sharing_depth": 2, "seed": 0, "a/acc": 0.5, "delta_m": None},
        {"tasks": "a+b", "method": "mgda", "sharing_depth": 2, "seed": 0, "a/acc": 0.25, "delta_m": None},
        {"tasks": "a+b", "method": "mgda", "sharing_depth": 2, "seed": 3, "a/acc": 0.75, "delta_m": None},
    ]
    dwa, mgda = aggregate(rows)
    assert (
        dwa["a/acc"] == 0.5 and dwa["a/acc_std"] is None and dwa["seeds"] == 1 and dwa["seed_values"] == "0"
    )
    assert mgda["a/acc"] == 0.5 and mgda["a/acc_std"] == pytest.approx(0.3535533906)  # |0.25-0.75|/sqrt(2)
    assert mgda["seed_values"] == "0, 3"
    assert "delta_m" in mgda and mgda["delta_m"] is None and mgda["delta_m_std"] is None


def test_a_second_sweep_into_the_same_folder_is_refused_while_the_first_runs(tmp_path, capsys):
    """Two sweeps into one folder trained the same baselines twice and rewrote each other's
    Δm. The folder is locked as a run is: a live process holding it refuses the second."""
    import os
    import socket
    import time

    base = _base(tmp_path)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'name = "s"\nbase = "{base.name}"\nseeds = [0, 1]\nbaselines = false\n')
    out = tmp_path / "out"
    (out / "s").mkdir(parents=True)
    other = os.getppid()  # alive for as long as this test runs
    (out / "s" / ".lock").write_text(
        json.dumps({"pid": other, "host": socket.gethostname(), "started": time.time()})
    )
    assert main(["sweep", str(sweep), "--out", str(out), "--quiet"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {out / 's'}: process {other} on {socket.gethostname()} is running this sweep now; wait for it "
        "to end, or stop it (it continues where it stopped when run again)"
    )
    assert not list((out / "s" / "runs").iterdir())
    (out / "s" / ".lock").write_text(
        json.dumps({"pid": 2**22 + 7, "host": socket.gethostname(), "started": 0})
    )
    assert main(["sweep", str(sweep), "--out", str(out), "--quiet"]) == 0  # a dead process's lock is stale
    assert not (out / "s" / ".lock").exists()


def test_a_signal_that_comes_as_the_next_member_starts_stops_it_at_once(tmp_path, monkeypatch, capsys):
    """The signal landed after the sweep decided to start the next run and before that run's
    handler was in place: the run trained to its end. It stops at once now, resumable."""
    import signal

    from workbench import cli

    base = _base(tmp_path)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'name = "s"\nbase = "{base.name}"\nseeds = [0, 1]\nbaselines = false\n')
    out = tmp_path / "out"
    original = cli._train_and_report
    calls = []

    def late_signal(cfg, store, *args, **kwargs):
        calls.append(store.path)
        if len(calls) == 2:
            cli.command_stop_signal = signal.SIGTERM  # as the between-runs handler records it
        return original(cfg, store, *args, **kwargs)

    monkeypatch.setattr(cli, "_train_and_report", late_signal)
    assert main(["sweep", str(sweep), "--out", str(out), "--quiet"]) == 143
    second = json.loads((calls[1] / "summary.json").read_text())
    assert second["status"] == "stopped" and second.get("epochs_done", 0) == 0
    log = calls[1] / "metrics.jsonl"
    assert not log.exists() or '"step"' not in log.read_text()  # not one step trained after the stop


def test_a_second_signal_exits_with_its_own_number_and_says_how_to_continue(tmp_path, monkeypatch, capsys):
    import os
    import signal

    base = _base(tmp_path)
    original = Trainer.run

    def two_signals(self):
        os.kill(os.getpid(), signal.SIGTERM)  # stop after this step ...
        os.kill(os.getpid(), signal.SIGTERM)  # ... no: abort
        return original(self)

    monkeypatch.setattr(Trainer, "run", two_signals)
    assert main(["train", str(base), "--out", str(tmp_path / "runs"), "--quiet"]) == 143  # not 130
    err = capsys.readouterr().err
    (run,) = (tmp_path / "runs").iterdir()
    assert err.strip().splitlines()[-1] == f"interrupted; continue with: workbench resume {run}"


def test_a_sweep_file_of_the_same_name_says_the_folder_holds_other_experiments(tmp_path):
    base = _base(tmp_path)
    spec = parse_sweep({"name": "s", "base": str(base), "seeds": [0, 1], "baselines": False})
    out = tmp_path / "out"
    run_sweep(
        spec, out, lambda cfg, store, resume: Trainer(cfg, store, resume=resume).run(), log=lambda m: None
    )
    other = parse_sweep({"name": "s", "base": str(base), "seeds": [1, 2], "baselines": False})
    logged = []
    run_sweep(
        other, out, lambda cfg, store, resume: Trainer(cfg, store, resume=resume).run(), log=logged.append
    )
    assert logged[0] == (
        f"[s] 1 experiment(s) in {out / 's'} are not in this sweep (scene+n-equal_sum-d-1-s0): their runs are "
        "kept, and results.csv and table.csv hold this sweep's experiments only"
    )
    assert len(_queue(out / "s")) == 3  # nothing forgotten


def test_a_value_undefined_for_one_seed_is_undefined_for_the_row():
    """Δm of seed 0 is -10 and of seed 1 undefined: a mean of seed 0 alone beside "0, 1"
    read as both seeds' mean. The sweep table and the compare view's merged row say None."""
    from workbench.analysis.compare import RunFacts
    from workbench.analysis.seed_groups import merge_seeds
    from workbench.sweep.results import aggregate

    rows = [
        {"tasks": "a+b", "method": "dwa", "sharing_depth": 2, "seed": s, "a/acc": acc, "delta_m": dm}
        for s, acc, dm in ((0, 0.5, -10.0), (1, 0.7, None))
    ]
    (row,) = aggregate(rows)
    assert row["delta_m"] is None and row["delta_m_std"] is None and row["seed_values"] == "0, 1"
    assert row["a/acc"] == pytest.approx(0.6) and row["a/acc_std"] == pytest.approx(0.1414213562)
    facts = [
        RunFacts(
            path=f"/r{s}",
            config={"train": {"seed": s}},
            primary_metrics={"a": "acc"},
            metrics={"a": acc},
            delta_m=dm,
        )
        for s, acc, dm in ((0, 0.5, -10.0), (1, None, -12.0))
    ]
    merged = merge_seeds(facts)
    assert merged.seeds == (0, 1) and merged.metrics["a"] is None and "metric:a/acc" not in merged.spread
    assert merged.delta_m == pytest.approx(-11.0) and merged.spread["delta_m"] == pytest.approx(1.4142135624)


def test_seeds_of_runs_that_learned_other_classes_are_not_merged():
    from workbench.analysis.compare import RunFacts, compare_table

    facts = [
        RunFacts(path=f"/r{s}", config={"train": {"seed": s}}, primary_metrics={"n": "mae"},
                 metrics={"n": float(s + 1)}, task_classes={"n": classes})
        for s, classes in ((0, ("a", "b")), (1, ("a", "b", "c")))
    ]  # fmt: skip
    table = compare_table(facts)
    assert len(table.rows) == 2  # two experiments, not "seeds 0, 1" with MAE 1.5


def test_sweep_chart_titles_say_which_way_is_better():
    from workbench.sweep.results import _title

    assert _title("n/mae") == "n MAE (lower is better)"
    assert _title("n/exact") == "n exact-count rate (higher is better)"
    assert _title("objects/map_50") == "objects mAP@0.5 (higher is better)"
    assert _title("masks/miou") == "masks miou (higher is better)"  # two kinds, two labels
    # the task's own kind known (as a sweep knows it): its label
    kinds = {"masks": "segmentation", "box": "localization"}
    assert _title("masks/miou", kinds) == "masks mIoU incl. background (higher is better)"
    assert _title("box/miou", kinds) == "box mean IoU (higher is better)"


def test_charts_an_earlier_sweep_of_the_same_name_wrote_are_removed(tmp_path):
    """An edited sweep with one depth writes no depth chart: the earlier file's chart (with
    its depth-0 runs) stayed, and the app showed it beside a table without those rows."""
    from workbench.sweep.results import write_charts

    def row(depth, acc, seed=0):
        return {"tasks": "a+b", "method": "dwa", "sharing_depth": depth, "a/acc": acc, "b/acc": 1 - acc}

    assert sorted(p.name for p in write_charts(tmp_path, [row(0, 0.5), row(2, 0.7)])) == [
        "depth-a_b.png",
        "pareto-a_b.png",
    ]
    (tmp_path / "notes.png").write_bytes(b"mine")  # not a chart of ours: kept
    assert [p.name for p in write_charts(tmp_path, [row(2, 0.7)])] == ["pareto-a_b.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.png", "pareto-a_b.png"]


def test_a_sweep_run_again_from_another_working_directory_or_moved_finds_its_runs(tmp_path, monkeypatch):
    """queue.json held the run folders as the first process named them, relative to its
    working directory: the app (or a shell elsewhere) running the sweep again found none
    and trained every experiment again. They are relative to the sweep folder now, and old
    queues are looked up in the sweep's runs/ by name."""
    import shutil

    base = _base(tmp_path)
    trained = []

    def train(cfg, store, resume):
        trained.append(cfg.name)
        return Trainer(cfg, store, resume=resume).run()

    sweep = parse_sweep({"name": "a", "base": str(base), "sharing_depth": [0, 4], "baselines": False})
    monkeypatch.chdir(tmp_path)
    run_sweep(sweep, "out", train, log=lambda m: None)  # --out given relative
    assert len(trained) == 2
    written = json.loads((tmp_path / "out" / "a" / "queue.json").read_text())
    assert all(v.startswith("runs/") for v in written.values())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    outcome = run_sweep(sweep, tmp_path / "out", train, log=lambda m: None)
    assert len(trained) == 2 and len(outcome.finished) == 2  # nothing trained again
    # a queue of the old kind (relative to the writer's working directory), in a moved folder
    shutil.move(tmp_path / "out", tmp_path / "moved")
    queue = tmp_path / "moved" / "a" / "queue.json"
    queue.write_text(json.dumps({k: f"out/a/{v}" for k, v in written.items()}))
    outcome = run_sweep(sweep, tmp_path / "moved", train, log=lambda m: None)
    assert len(trained) == 2 and len(outcome.finished) == 2
    rows = list(csv.DictReader((tmp_path / "moved" / "a" / "results.csv").open()))
    assert all(r["run_dir"].startswith(str(tmp_path / "moved" / "a" / "runs")) for r in rows)


def test_a_reused_sibling_run_is_found_again_after_the_sweeps_folder_moved(tmp_path):
    """A run reused from a sibling sweep is queued by its absolute path; after the whole
    folder moved that entry pointed nowhere and the experiment was trained again, though the
    same finished run sat in the moved sibling."""
    import shutil

    base = _base(tmp_path)
    trained = []

    def train(cfg, store, resume):
        trained.append(cfg.name)
        return Trainer(cfg, store, resume=resume).run()

    run_sweep(
        parse_sweep({"name": "a", "base": str(base), "sharing_depth": [4], "baselines": False}),
        tmp_path / "out",
        train,
        log=lambda m: None,
    )
    b = parse_sweep({"name": "b", "base": str(base), "sharing_depth": [4], "baselines": False})
    run_sweep(b, tmp_path / "out", train, log=lambda m: None)
    assert len(trained) == 1  # b reused a's run
    shutil.move(tmp_path / "out", tmp_path / "moved")
    logged = []
    outcome = run_sweep(b, tmp_path / "moved", train, log=logged.append)
    assert len(trained) == 1 and len(outcome.finished) == 1
    assert any("reusing the finished run" in m and "moved" in m for m in logged)
    assert "/moved/a/runs/" in _queue(tmp_path / "moved" / "b")["scene+n-equal_sum-d4-s0"]


def test_latencies_measured_on_a_busy_machine_are_said(monkeypatch):
    """A sweep's latency column put a 1.25 M-parameter model at 571 ms beside a 3.6 M one at
    24 ms, the first measured at a load of 5 per core, without a word."""
    import os

    from workbench.sweep.results import busy_latency_note
    from workbench.training.evaluation import machine_load

    rows = [
        {"latency_ms": 24.0, "latency_load": 0.4},
        {"latency_ms": 571.1, "latency_load": 5.25},
        {"latency_ms": 30.0, "latency_load": None},  # a run from before the load was kept
    ]
    assert busy_latency_note(rows) == (
        "note: 1 of 3 runs measured their latency while the machine was busy (load per core up to "
        "5.25, column latency_load): their latency_ms says more about the machine than the model; "
        "measure again with `workbench export RUN` on a quiet machine"
    )
    assert busy_latency_note(rows[:1]) == ""
    monkeypatch.setattr(os, "getloadavg", lambda: (3.0, 1.0, 1.0))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert machine_load() == 1.5  # 3 processes wanting a core, 2 cores


def test_chart_names_of_long_task_lists_fit_a_file_name_and_stay_apart():
    """Six tasks of 40 letters made a 280-byte chart name: the sweep trained every member and
    then failed with "File name too long"."""
    from workbench.sweep.results import SLUG_BYTES, _slug

    tasks = "+".join(c * 40 for c in "abcdef")
    other = "+".join(c * 40 for c in "abcdeg")
    assert len(_slug(tasks).encode()) <= SLUG_BYTES and _slug(tasks) != _slug(other)
    assert len(f"pareto-{_slug('é' * 300)}.png".encode()) <= 255
    assert _slug("a+b") == "a_b"
