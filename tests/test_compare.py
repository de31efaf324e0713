"""workbench.analysis.compare: hand-computed tables, labels and CSV of three runs."""

from __future__ import annotations

import math
import subprocess
import sys
from types import SimpleNamespace

import pytest

from workbench.analysis.compare import (
    MISSING,
    RunFacts,
    compare_table,
    config_differences,
    distinguishing_names,
    facts_from_info,
    facts_from_summary,
    flatten_config,
    folder_suffixes,
    format_seconds,
    run_labels,
)


def config(depth=-1, method="equal_sum", params=None, tasks=None, lr=0.002, device="cpu", name="exp"):
    return {
        "name": name,
        "model": {"backbone": "small_cnn", "sharing_depth": depth},
        "tasks": tasks
        or [
            {"name": "scene", "kind": "classification", "loss_weight": 1.0, "options": {}},
            {"name": "n", "kind": "counting", "loss_weight": 1.0, "options": {}},
        ],
        "weighting": {"method": method, "params": params or {}},
        "optim": {"lr": lr},
        "train": {"device": device, "epochs": 3},
    }


def summary(depth, acc, mae, best_epoch, total, latency, elapsed, status="finished"):
    return {
        "name": "exp",
        "status": status,
        "primary_metrics": {"scene": "accuracy", "n": "mae"},
        "higher_is_better": {"scene": True, "n": False},
        "metric_labels": {
            "scene": {"accuracy": "accuracy"},
            "n": {"mae": "MAE", "exact": "exact-count rate"},
        },
        "final_metrics": {"scene": {"accuracy": acc, "macro_f1": 0.1}, "n": {"mae": mae, "exact": 0.5}},
        # the best epoch's (picked by scene alone) are not what the table shows
        "best_metrics": {"scene": {"accuracy": 0.99, "macro_f1": 0.2}, "n": {"mae": 9.0, "exact": 0.1}},
        "best_epoch": best_epoch,
        "epochs_done": 3,
        "params": {"total": total, "sharing_depth": depth, "num_stages": 4},
        "latency_ms": latency,
        "elapsed_s": elapsed,
    }


def three_runs() -> list[RunFacts]:
    return [
        facts_from_summary("runs/exp-20261128-100000", summary(4, 0.9, 0.5, 1, 100, 1.0, 60.0), config(-1)),
        facts_from_summary("runs/exp-20261128-110000", summary(2, 0.95, 0.7, 2, 150, None, 90.0), config(2)),
        facts_from_summary(
            "runs/exp-20261128-120000",
            summary(0, 0.8, 0.4, 0, 200, 3.0, 30.0, status="stopped"),
            config(0, "dwa", {"temperature": 2.0}),
        ),
    ]


def test_flatten_keys_tasks_by_name_and_resolves_full_depth():
    flat = flatten_config(config(-1, params={"temperature": 2.0}), sharing_depth=4)
    assert flat["model.sharing_depth"] == 4  # -1 means every stage: 4 of 4
    assert flat["tasks"] == "scene+n"
    assert flat["tasks.scene.kind"] == "classification"
    assert flat["tasks.n.loss_weight"] == 1.0
    assert flat["weighting.params.temperature"] == 2.0
    assert "tasks.scene.options" not in flat  # an empty table adds no key
    reordered = config(tasks=list(reversed(config()["tasks"])))
    diffs = config_differences([flatten_config(config()), flatten_config(reordered)])
    assert diffs == ["tasks"]  # only the order of the names differs, no per-task setting


def test_differences_most_telling_first_and_task_sets_do_not_flood():
    one = config(tasks=[{"name": "scene", "kind": "classification", "loss_weight": 1.0}])
    two = config(
        lr=0.001,
        device="cuda",
        tasks=[
            {"name": "scene", "kind": "classification", "loss_weight": 2.0},
            {"name": "masks", "kind": "segmentation", "loss_weight": 1.0, "options": {"head_width": 32}},
        ],
    )
    diffs = config_differences([flatten_config(one, 4), flatten_config(two, 2)])
    # masks.* are not listed: only one run has the task ("tasks" says so)
    assert diffs == [
        "model.sharing_depth",
        "tasks",
        "optim.lr",
        "tasks.scene.loss_weight",
        "train.device",
    ]


def test_labels_name_what_differs():
    facts = three_runs()
    assert run_labels(facts) == ["depth 4 · equal_sum", "depth 2 · equal_sum", "depth 0 · dwa"]
    assert run_labels(facts, max_parts=1) == ["depth 4", "depth 2", "depth 0"]
    assert run_labels(facts[:1]) == ["exp"]


def test_labels_name_the_setting_that_alone_sets_a_run_apart():
    """Runs that share depth and method and differ in the learning rate or the seed were
    all labelled "depth 4 · equal_sum" and told apart by start time only."""
    seeded = config()
    seeded["train"] = {**seeded["train"], "seed": 1}
    facts = [
        RunFacts("r/exp-20261128-100000", "exp", config=config(2, "dwa")),
        RunFacts("r/exp-20261128-110000", "exp", config=config(lr=0.005)),
        RunFacts("r/exp-20261128-120000", "exp", config=seeded),
        RunFacts("r/exp-20261128-130000", "exp", config=config()),
        RunFacts("r/exp-20261128-140000", "exp", config=config()),  # a copy: its start time
    ]
    assert run_labels(facts) == [
        "depth 2 · lr 0.002 · seed —",
        "depth full · lr 0.005 · seed —",
        "depth full · lr 0.002 · seed 1",
        "depth full · lr 0.002 · seed — · 13:00:00",
        "depth full · lr 0.002 · seed — · 14:00:00",
    ]


def test_written_out_defaults_of_another_source_and_unreadable_configs_are_no_differences():
    """A run whose config.toml cannot be read made every setting a difference ("—" against
    the value); the options of another data source are that source's, not differences."""
    shapes = config()
    shapes["data"] = {"source": "shapes", "options": {"noise": 0.08}}
    yolo = config()
    yolo["data"] = {"source": "yolo", "options": {"val_fraction": 0.2}}
    shapes2 = config(lr=0.005)
    shapes2["data"] = {"source": "shapes", "options": {"noise": 0.08}}
    assert config_differences([flatten_config(c) for c in (shapes, yolo, shapes2)]) == [
        "optim.lr",
        "data.source",
    ]
    shapes2["data"]["options"]["noise"] = 0.1
    assert "data.options.noise" in config_differences([flatten_config(c) for c in (shapes, yolo, shapes2)])
    facts = [
        RunFacts("r/exp-20261128-100000", "exp", config=config(2)),
        RunFacts("r/exp-20261128-110000", "exp", config=config()),
        # as summary.json gives them: a depth and classes, but no config
        RunFacts("r/bad-20261128-120000", "bad", config={}, sharing_depth=4, task_classes={"scene": ("a",)}),
    ]
    assert config_differences([flatten_config(f.config) for f in facts]) == ["model.sharing_depth"]
    assert run_labels(facts) == ["depth 2", "depth full", "12:00:00"]
    assert [c.key for c in compare_table(facts).columns if c.kind == "config"] == [
        "config:model.sharing_depth"
    ]


def test_a_methods_params_differ_only_among_runs_of_that_method():
    runs = [
        config(method="dwa", params={"temperature": 2.0}),
        config(),
        config(method="dwa", params={"temperature": 2.0}),
    ]
    assert config_differences([flatten_config(c) for c in runs]) == ["weighting.method"]
    runs[2]["weighting"]["params"] = {"temperature": 4.0}
    assert "weighting.params.temperature" in config_differences([flatten_config(c) for c in runs])


def test_runs_of_several_data_sources_compare_source_by_source():
    """Each source was one tuple of a thousand characters in the labels and a column (the
    window grew to 3,533 px), and the unused top-level shapes options were columns."""

    def multi(seed, second="/d/folder_c"):
        c = config()
        c["data"] = {
            "source": "shapes",
            "options": {"image_size": 128},
            "sources": [
                {
                    "source": "coco",
                    "path": "/d/coco_a/c.json",
                    "tasks": ["objects"],
                    "options": {"split_seed": seed},
                },
                {"source": "folder", "path": second, "tasks": ["scene"], "options": {}},
            ],
        }
        return c

    flats = [flatten_config(c) for c in (multi(0), multi(1), multi(0, "/d/folder_d"))]
    assert config_differences(flats) == ["data.sources.1.options.split_seed", "data.sources.2.path"]
    facts = [
        RunFacts(f"r/m-2026112{i}-100000", "m", config=c)
        for i, c in enumerate((multi(0), multi(1), multi(0, "/d/folder_d")))
    ]
    assert run_labels(facts) == [
        "source 1 split seed 0 · source 2 folder_c",
        "source 1 split seed 1 · source 2 folder_c",
        "source 1 split seed 0 · source 2 folder_d",
    ]
    titles = [c.title for c in compare_table(facts).columns if c.kind == "config"]
    assert titles == ["Source 1: split seed", "Source 2: path"]


def test_labels_of_identical_configs_fall_back_to_start_times():
    same = [
        RunFacts("r/exp-20261128-143737", "exp", config=config()),
        RunFacts("r/exp-20261128-143341", "exp", config=config()),
    ]
    assert run_labels(same) == ["14:37:37", "14:33:41"]
    # only an incidental setting differs: it is named then
    devices = [
        RunFacts("r/a", "exp", config=config(device="cpu")),
        RunFacts("r/b", "exp", config=config(device="cuda")),
    ]
    assert run_labels(devices) == ["device cpu", "device cuda"]
    assert folder_suffixes(["x-20261128-143737", "x-20261128-143737-2"]) == ["14:37:37", "14:37:37 #2"]
    assert folder_suffixes(["x-20261127-143737", "x-20261128-143737"]) == ["11-27 14:37:37", "11-28 14:37:37"]


def test_distinguishing_names_only_within_an_experiment_name():
    facts = three_runs() + [RunFacts("runs/other-20261128-130000", "other", config=config(name="other"))]
    assert distinguishing_names(facts) == [
        "exp · depth 4 · equal_sum",
        "exp · depth 2 · equal_sum",
        "exp · depth 0 · dwa",
        "other",
    ]


def test_table_columns_values_and_best_marks():
    table = compare_table(three_runs())
    assert [c.title for c in table.columns] == [
        "Run",
        "Sharing depth",
        "Weighting",  # dwa's temperature is no difference: no other run uses dwa
        "scene accuracy",
        "n MAE",  # the metric's label, from summary.json
        "Best epoch",
        "Parameters",
        "Latency",
        "Wall time",
        "Status",
    ]
    col = table.column
    assert [table.value(r, "metric:scene/accuracy") for r in range(3)] == [0.9, 0.95, 0.8]
    assert table.best_rows(col("metric:scene/accuracy")) == {1}  # higher is better
    assert table.best_rows(col("metric:n/mae")) == {2}  # lower is better: 0.4
    assert table.best_rows(col("params")) == {0}  # 100 parameters
    assert table.best_rows(col("latency")) == {0}  # 1.0 ms; run 2 has none
    # 60 s: the stopped run's 30 s is not a run's wall time (it was marked best)
    assert table.best_rows(col("wall")) == {0}
    assert table.best_rows(col("best_epoch")) == set()  # not a better/worse column
    assert table.best_rows(col("config:model.sharing_depth")) == set()
    texts = [[table.text(r, c) for c in range(len(table.columns))] for r in range(3)]
    assert texts[0] == [
        "depth 4 · equal_sum", "4", "equal_sum", "0.900", "0.500", "2 of 3", "100", "1 ms", "1:00", "finished",
    ]  # fmt: skip
    assert texts[1][7] == "—"  # latency unknown
    assert texts[2][3:6] == ["0.800", "0.400", "1 of 3"]
    assert texts[2][1:3] == ["0", "dwa"] and texts[2][-1] == "stopped"


def test_a_failed_or_killed_run_is_never_marked_best_and_an_empty_setting_is_an_empty_csv_cell():
    runs = three_runs()
    runs[1] = facts_from_summary(
        runs[1].path, summary(2, 0.99, 0.1, 2, 150, None, 90.0, status="failed"), dict(runs[1].config)
    )
    table = compare_table(runs)
    assert table.best_rows(table.column("metric:scene/accuracy")) == {
        0
    }  # 0.9; the failed 0.99 is not a result
    assert table.best_rows(table.column("metric:n/mae")) == {2}  # 0.4; not the failed 0.1
    empty = [
        facts_from_summary(
            "r/a-20261128-100000", summary(4, 0.9, 0.5, 1, 100, 1.0, 60.0), {"data": {"path": ""}}
        ),
        facts_from_summary(
            "r/b-20261128-100000", summary(4, 0.9, 0.5, 1, 100, 1.0, 60.0), {"data": {"path": "/d/x"}}
        ),
    ]
    table = compare_table(empty)
    column = table.column("config:data.path")
    assert [table.csv_value(r, column) for r in range(2)] == ["", "/d/x"]


def test_best_marks_ties_and_no_spread():
    facts = three_runs()
    tied = [
        facts_from_summary(f.path, {**summary(4, 0.9, 0.5, 1, 100, 1.0, 60.0)}, dict(f.config)) for f in facts
    ]
    table = compare_table(tied)
    assert table.best_rows(table.column("metric:scene/accuracy")) == set()  # all equal: nothing marked
    two_best = three_runs()
    two_best[2] = facts_from_summary(two_best[2].path, summary(0, 0.95, 0.4, 0, 200, 3.0, 30.0), {})
    table = compare_table(two_best)
    assert table.best_rows(table.column("metric:scene/accuracy")) == {1, 2}


def test_csv_holds_raw_values():
    table = compare_table(three_runs())
    lines = table.to_csv().splitlines()
    assert lines[0] == (
        "Run,Sharing depth,Weighting,scene accuracy,n MAE,Best epoch,"
        "Parameters,Latency (ms),Wall time (s),Status,Folder"
    )
    assert (
        lines[1] == "depth 4 · equal_sum,4,equal_sum,0.9,0.5,2,100,1.0,60.0,finished,runs/exp-20261128-100000"
    )
    assert (
        lines[2] == "depth 2 · equal_sum,2,equal_sum,0.95,0.7,3,150,,90.0,finished,runs/exp-20261128-110000"
    )
    assert lines[3] == "depth 0 · dwa,0,dwa,0.8,0.4,1,200,3.0,30.0,stopped,runs/exp-20261128-120000"


def test_undefined_metric_and_old_summaries():
    s = summary(4, None, 0.5, -1, 100, None, None)
    s.pop("params")
    facts = facts_from_summary("runs/x", s, config())
    assert facts.metrics == {"scene": None, "n": 0.5}
    assert facts.best_epoch == -1 and facts.params_total is None and facts.sharing_depth == -1
    table = compare_table([facts])
    assert table.text(0, table.column("metric:scene/accuracy")) == "—"
    assert table.text(0, table.column("best_epoch")) == "—"
    assert [c.key for c in table.columns if c.key.startswith("config:")] == []  # one run: no differences


def test_facts_from_run_info_like_objects():
    info = SimpleNamespace(
        path="runs/a",
        name="exp",
        status="interrupted",
        key_metrics={"scene/accuracy": 0.75},
        primary_metrics={"scene": "accuracy"},
        higher_is_better={"scene": True},
        best_epoch=2,
        epochs_done=4,
        params_total=1234,
        latency_ms=2.5,
        elapsed_s=12.0,
        sharing_depth=2,
        config=config(2),
        created=5.0,
    )
    facts = facts_from_info(info)
    assert facts.metrics == {"scene": 0.75}
    assert (facts.best_epoch, facts.epochs_done, facts.params_total, facts.sharing_depth) == (2, 4, 1234, 2)
    old = SimpleNamespace(path="runs/b", name="exp", status="finished", key_metrics={"n/mae": 0.3})
    facts = facts_from_info(old)  # an older RunInfo: only what it has
    assert facts.primary_metrics == {"n": "mae"} and facts.metrics == {"n": 0.3}
    assert facts.best_epoch == -1 and facts.config == {}


def test_format_seconds():
    assert format_seconds(266.4) == "4:26"
    assert format_seconds(3723) == "1:02:03"
    assert MISSING is type(MISSING)()


def test_compare_imports_neither_qt_nor_torch():
    code = (
        "import sys, workbench.analysis.compare as c; "
        "bad = [m for m in ('torch', 'PySide6') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_negative_or_odd_durations_are_unknown_not_clock_times():
    from workbench.analysis.compare import facts_from_summary

    for bad in (-5, -0.001, float("nan"), "12", True):
        facts = facts_from_summary("r", {"elapsed_s": bad, "latency_ms": bad}, {})
        assert facts.elapsed_s is None and facts.latency_ms is None
    facts = facts_from_summary("r", {"elapsed_s": 0, "latency_ms": 2.5}, {})
    assert (facts.elapsed_s, facts.latency_ms) == (0.0, 2.5)


def test_a_killed_run_compares_as_interrupted(tmp_path):
    """summary.json still says running, but no process holds the run: every view says
    "interrupted", as the runs list does."""
    pytest.importorskip("PySide6")
    from workbench.gui.main_window import MainWindow
    from workbench.training.run_store import RunStore

    store = RunStore(tmp_path / "killed")
    store.path.mkdir()
    store.write_summary({"name": "killed", "status": "running", "tasks": ["a"]})
    facts, _, note = MainWindow._compare_facts(store.path, False)
    assert facts.status == "interrupted" and "config.toml: cannot be read (No such file" in note


def test_compare_reads_configs_with_their_defaults_and_names_one_it_cannot_read(tmp_path):
    """Writing out a default option ("noise = 0.08", as the README's example does) made a
    column of "—" against 0.08 and kept two seeds from merging; a config.toml that is not
    TOML made every setting a difference, without a word."""
    pytest.importorskip("PySide6")
    from workbench.analysis.compare import config_differences, flatten_config
    from workbench.gui.main_window import MainWindow
    from workbench.training.run_store import RunStore

    facts = []
    for name, options in (("plain", ""), ("spelled", "noise = 0.08\nmin_objects = 1\n")):
        store = RunStore(tmp_path / name)
        store.path.mkdir()
        store.write_summary({"name": name, "status": "finished"})
        store.config_path.write_text(
            f'name = "x"\n[data]\nsource = "shapes"\n[data.options]\n{options}', encoding="utf-8"
        )
        fact, _, note = MainWindow._compare_facts(store.path, False)
        assert note == ""
        facts.append(fact)
    assert facts[0].config["data"]["options"]["noise"] == 0.08
    assert config_differences([flatten_config(f.config) for f in facts]) == []
    bad = RunStore(tmp_path / "bad")
    bad.path.mkdir()
    bad.write_summary({"name": "bad", "status": "finished"})
    bad.config_path.write_text("name = = 1\n", encoding="utf-8")
    fact, _, note = MainWindow._compare_facts(bad.path, False)
    assert fact.config == {} and fact.status == "finished"
    assert note.startswith(f"{bad.config_path}: cannot be read (")
    assert note.endswith("); the run's settings are left out of the comparison")
    with pytest.raises(ValueError, match="the folder is not there any more"):
        MainWindow._compare_facts(tmp_path / "gone", False)


def test_labels_say_at_most_four_differences_and_paths_by_their_last_part():
    from workbench.analysis.compare import MAX_LABEL_PARTS, facts_from_summary, run_labels

    def run(i, **over):
        config = {
            "name": "x",
            "data": {"source": "coco", "path": f"/data/sets/set{i % 2}/instances_train.json", "options": {}},
            "model": {"backbone": "small_cnn", "sharing_depth": i % 3},
            "weighting": {"method": ["equal_sum", "dwa"][i % 2]},
            "optim": {"lr": [1e-3, 2e-3, 5e-4][i % 3]},
            "train": {
                "epochs": 2 + i,
                "seed": i % 2,
                "time_limit_s": 0.0 if i % 2 else 30.0,
                "batch_size": 8 + i % 2,
            },
        }
        for k, v in over.items():
            config[k] = v
        return facts_from_summary(f"/runs/x-20261130-12000{i}", {"name": "x"}, config)

    labels = run_labels([run(i) for i in range(8)])
    assert len(set(labels)) == 8
    assert all(label.count(" · ") < MAX_LABEL_PARTS for label in labels), labels
    paths = run_labels(
        [
            facts_from_summary("/r/a", {}, {"data": {"path": "/d/voc2007"}}),
            facts_from_summary("/r/b", {}, {"data": {"path": ""}}),
        ]
    )
    assert paths == ["path voc2007", "no path"]


def test_runs_of_one_config_whose_classes_differ_say_so():
    """The same config on a data folder whose classes changed in between: the classes are a
    difference (a column and the label), so a best mark over two class sets is not silent."""
    a = summary(4, 0.9, 0.5, 1, 100, 1.0, 60.0)
    b = summary(4, 0.95, 0.5, 1, 100, 1.0, 60.0)
    a["task_classes"] = {"scene": ["red", "green", "blue"], "n": ["red", "green", "blue"]}
    b["task_classes"] = {"scene": ["red", "green", "blue", "rouge, vif"], "n": ["red", "green", "blue"]}
    facts = [
        facts_from_summary("runs/exp-20261128-100000", a, config()),
        facts_from_summary("runs/exp-20261128-110000", b, config()),
    ]
    table = compare_table(facts)
    titles = [c.title for c in table.columns]
    assert "scene: classes" in titles and "n: classes" not in titles
    col = titles.index("scene: classes")
    assert table.text(0, col) == "3: red, green, blue"
    assert table.text(1, col) == '4: red, green, blue, "rouge, vif"'
    assert run_labels(facts) == ["scene 3 classes", "scene 4 classes"]


def test_a_run_from_before_task_classes_does_not_differ_in_its_classes():
    """Runs from versions that did not write task_classes showed a "scene: classes" column
    of "—" against "4: circle, …" and a label "scene classes —": unknown is no difference.
    Two known class lists that differ still are, beside an unknown one."""
    old = summary(4, 0.9, 0.5, 1, 100, 1.0, 60.0)
    new = summary(4, 0.95, 0.5, 1, 100, 1.0, 60.0)
    new["task_classes"] = {"scene": ["red", "green"], "n": ["red", "green"]}
    facts = [
        facts_from_summary("runs/exp-20261128-100000", old, config()),
        facts_from_summary("runs/exp-20261128-110000", new, config()),
    ]
    assert not any(c.title.endswith(": classes") for c in compare_table(facts).columns)
    assert run_labels(facts) == ["10:00:00", "11:00:00"]
    other = summary(4, 0.95, 0.5, 1, 100, 1.0, 60.0)
    other["task_classes"] = {"scene": ["red", "blue"], "n": ["red", "green"]}
    facts.append(facts_from_summary("runs/exp-20261128-120000", other, config()))
    titles = [c.title for c in compare_table(facts).columns]
    assert "scene: classes" in titles and "n: classes" not in titles


def test_best_marks_follow_what_the_cells_show():
    """1,180,988 and 1,181,245 parameters both read "1.18M": marking one of them best marked
    a difference nobody could see. Latency of a second or more reads in seconds."""
    facts = three_runs()
    from dataclasses import replace

    facts = [
        replace(facts[0], params_total=1_180_988, latency_ms=1330.0),
        replace(facts[1], params_total=1_181_245, latency_ms=12.5),
        replace(facts[2], params_total=2_000_000, latency_ms=999.4),
    ]
    table = compare_table(facts)
    col = table.column("params")
    assert [table.text(r, col) for r in range(3)] == ["1.18M", "1.18M", "2M"]
    assert table.best_rows(col) == {0, 1}
    lat = table.column("latency")
    assert [table.text(r, lat) for r in range(3)] == ["1.33 s", "12.5 ms", "999 ms"]
    same = [replace(f, params_total=1_180_988 + i) for i, f in enumerate(facts)]
    assert compare_table(same).best_rows(col) == set()  # every cell reads "1.18M"


def test_merged_rows_keep_the_delta_m_column_and_write_their_std():
    """One config, seeds 0 and 1: Δm -10 for seed 0, none for seed 1. The merged row's Δm
    is undefined, and the column stayed away as if no run had one; the CSV left the ± std
    of merged rows out."""
    facts = [
        RunFacts(path=f"/r{s}", config={"train": {"seed": s}}, primary_metrics={"a": "acc"},
                 higher_is_better={"a": True}, metrics={"a": acc}, delta_m=dm)
        for s, acc, dm in ((0, 0.5, -10.0), (1, 0.7, None))
    ]  # fmt: skip
    table = compare_table(facts)
    assert len(table.rows) == 1 and table.rows[0][table.column("delta_m")] is None
    header, row = table.to_csv().splitlines()
    assert (
        header
        == "Run,a acc,a acc std,Δm (%),Seeds,Best epoch,Parameters,Latency (ms),Wall time (s),Status,Folder"
    )
    mean, std = (float(v) for v in row.split(",")[1:3])
    assert mean == pytest.approx(0.6) and std == pytest.approx(math.sqrt(0.02))  # (0.1² + 0.1²) / (2 - 1)


def test_paths_that_end_alike_are_labelled_by_as_many_last_parts_as_tell_them_apart():
    """Two COCO sets both read from instances_train.json were both labelled "path
    instances_train.json" and told apart only by their start times."""
    from workbench.analysis.compare import path_tails, run_labels

    a = "/data/first set/annotations/instances_train.json"
    b = "/data/second/annotations/instances_train.json"
    labels = run_labels(
        [
            facts_from_summary("/r/a-20261202-101010", {}, {"data": {"source": "coco", "path": a}}),
            facts_from_summary("/r/b-20261202-111111", {}, {"data": {"source": "coco", "path": b}}),
        ]
    )
    assert labels == [
        "path first set/annotations/instances_train.json",
        "path second/annotations/instances_train.json",
    ]
    assert path_tails(["/x/voc", "/y/coco", "/x/voc"]) == {"/x/voc": "voc", "/y/coco": "coco"}
    assert path_tails(["/a/b/c", "/z/b/c"]) == {"/a/b/c": "a/b/c", "/z/b/c": "z/b/c"}
