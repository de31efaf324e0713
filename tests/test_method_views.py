"""The app's side of issue 8: grouped methods, the conflict view, Δm and seeds in tables."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest
from PySide6.QtCore import Qt

from workbench.analysis.compare import RunFacts, compare_table
from workbench.gui.conflict_view import ConflictView
from workbench.gui.runs_panel import delta_text, delta_tip
from workbench.gui.weighting_section import WeightingSection
from workbench.weighting import WEIGHTINGS
from workbench.weighting.gradient_methods import GradientMethod


def test_methods_are_grouped_and_a_missing_solver_is_greyed_with_its_hint(qtbot, monkeypatch):
    monkeypatch.setattr(GradientMethod, "missing", lambda self: ["cvxpy"] if self.name == "cagrad" else [])
    section = WeightingSection()
    qtbot.addWidget(section)
    section.set_methods([WEIGHTINGS.get(n) for n in WEIGHTINGS.names()])
    model = section.combo.model()
    texts = [section.combo.itemText(i) for i in range(section.combo.count())]
    assert texts[0] == "Loss weightings" and not model.item(0).isEnabled()
    grad_header = texts.index("Gradient methods (per-task gradients)")
    assert not model.item(grad_header).isEnabled()
    assert section.combo.findData("dwa") < grad_header < section.combo.findData("upgrad")
    assert section.combo.findData("gradnorm") > grad_header
    cagrad = section.combo.findData("cagrad")
    assert not model.item(cagrad).isEnabled()
    assert "pip install cvxpy" in section.combo.itemData(cagrad, Qt.ItemDataRole.ToolTipRole)
    section.set_values("cagrad", {})  # e.g. a config file that names it
    assert "pip install cvxpy" in section.info.text()
    section.set_values("upgrad", {})
    section.set_nothing_shared(True)
    assert "At sharing depth 0" in section.info.text()
    section.set_values("dwa", {})
    assert "At sharing depth 0" not in section.info.text()
    assert set(section.forms["upgrad"].editors) >= {"every", "path"}
    # help in words: what each gradient method does, not only its paper (upgrad and
    # dualproj read the same), no docstring spacing or reST markup
    section.set_values("upgrad", {})
    upgrad = section.info.text()
    section.set_values("dualproj", {})
    assert upgrad != section.info.text() and upgrad.startswith("Projects each task gradient")
    for name in WEIGHTINGS.names():
        section.set_values(name, {})
        assert "  " not in section.info.text() and "``" not in section.info.text(), name
    # the parameters' stack as tall as the shown form, not the tallest
    section.show()
    section.set_values("nash_mtl", {})
    tall = section.stack.sizeHint().height()
    section.set_values("upgrad", {})
    assert section.stack.sizeHint().height() < tall


def test_conflict_view_shows_the_latest_matrix_and_each_pair(qtbot):
    view = ConflictView()
    qtbot.addWidget(view)
    records = [
        {
            "type": "step",
            "global_step": s,
            "conflict": {"tasks": ["a", "b", "c"], "cos": m, "norm_ratio": [1.5, 1.0, 0.5]},
        }
        for s, m in (
            (1, [[1, -0.5, 0.2], [-0.5, 1, 0.1], [0.2, 0.1, 1]]),
            (21, [[1, 0.3, 0.2], [0.3, 1, -0.1], [0.2, -0.1, 1]]),
        )
    ]
    view.add_records([{"type": "step", "global_step": 0}, *records])
    assert view.image.image is None  # a hidden view draws nothing (opening a run costs no drawing)
    view.show()  # shown: drawn at once
    pairs = view.pairs()
    assert pairs["a × b"] == ([1, 21], [-0.5, 0.3])
    assert pairs["b × c"] == ([1, 21], [0.1, -0.1])
    assert view.image.image[1, 0] == pytest.approx(0.3)  # the latest matrix
    text = view.summary_text()
    assert "2 measurements" in text and "a × b: mean cosine -0.10, negative in 50%" in text
    step_axis = view.series.getAxis("bottom")  # steps are whole: no tick at 20.8 about one point
    assert [v for _s, vs in step_axis.tickValues(20.6, 21.4, 300) for v in vs] == [21.0]
    assert not view.affinity_widget.isVisibleTo(view)  # not measured in this run
    titles = []
    view.series_legend.setText = lambda *a, **k: titles.append(a)  # a new legend re-lays out the view
    view.add_records([{"type": "step", "global_step": 41, "conflict": records[1]["conflict"]}])
    view._redraw()
    assert titles == [] and "3 measurements" in view.stats.text()  # same pairs: the title stays
    view.add_records(
        [
            {
                "type": "step",
                "global_step": 61,
                "conflict": {"tasks": ["a", "b"], "cos": [[1, 0], [0, 1]], "norm_ratio": [1, 1]},
            }
        ]
    )
    view._redraw()
    assert len(titles) == 0  # the pairs a × b, a × c, b × c are all still plotted
    view.clear()
    view._redraw()
    assert view.note.isVisibleTo(view) and not view.pairs()


def test_conflict_matrix_numbers_and_names_fit_their_cells(qtbot):
    """Five tasks at 1,024 px: the cell numbers ran into each other and the names under the
    columns too. Numbers that do not fit go (the colour stays); names become 1..T."""
    from workbench.gui.conflict_view import _fit_matrix

    tasks = ["scene", "objects", "masks", "count", "labels"]
    view = ConflictView()
    qtbot.addWidget(view)
    cos = np.eye(5).tolist()
    view.add_records(
        [
            {
                "type": "step",
                "global_step": 1,
                "conflict": {"tasks": tasks, "cos": cos, "norm_ratio": [1.0] * 5},
            }
        ]
    )
    view.resize(1400, 900)
    view.show()
    qtbot.waitUntil(lambda: len(view.cell_text) == 25, timeout=5000)
    view.heat.vb.resize(500, 500)  # wide cells: every number and name
    _fit_matrix(view.heat)
    assert all(t.isVisible() for t in view.cell_text)
    assert [name for _x, name in view.heat.getAxis("bottom")._tickLevels[0]] == tasks
    view.heat.vb.resize(120, 120)  # 24 px cells
    _fit_matrix(view.heat)
    assert not any(t.isVisible() for t in view.cell_text)
    assert [name for _x, name in view.heat.getAxis("bottom")._tickLevels[0]] == ["1", "2", "3", "4", "5"]
    assert [name for _x, name in view.heat.getAxis("left")._tickLevels[0]][0] == "1 scene"


def test_conflict_matrix_in_a_short_pane_and_long_task_names(qtbot):
    """The cells are square, so a wide, short pane makes them small: sized by the width,
    all the numbers stayed and ran together ("+1.0-0.0+0.07"), and the row names over each
    other. Names of 40 letters made the window wider than the screen: shortened in the
    panel, whole in the tooltips."""
    from workbench.gui.conflict_view import _fit_matrix

    tasks = ["scene_classification_of_the_whole_image", "objects", "masks"]
    view = ConflictView()
    qtbot.addWidget(view)
    view.add_records(
        [
            {
                "type": "step",
                "global_step": 1,
                "conflict": {"tasks": tasks, "cos": np.eye(3).tolist(), "norm_ratio": [1.0] * 3},
            }
        ]
    )
    view.resize(900, 600)
    view.show()
    qtbot.waitUntil(lambda: len(view.cell_text) == 9, timeout=5000)
    view.heat.vb.resize(500, 36)  # 12 px cells: too low for a line of text
    _fit_matrix(view.heat)
    assert not any(t.isVisible() for t in view.cell_text)
    assert [name for _x, name in view.heat.getAxis("left")._tickLevels[0]] == ["1", "2", "3"]
    assert view.heat.vb.toolTip() == "1 scene_classification_of_the_whole_image\n2 objects\n3 masks"
    view.heat.vb.resize(480, 480)  # 160 px cells: the names, shortened to 16 characters
    _fit_matrix(view.heat)
    assert [name for _x, name in view.heat.getAxis("bottom")._tickLevels[0]][0] == "scene_classific…"
    legend = view.series_legend.text()
    assert "scene_classific…&nbsp;×&nbsp;objects" in legend and "whole_image" not in legend
    assert "scene_classification_of_the_whole_image × objects" in view.series_legend.toolTip()
    assert "whole_image" not in view.stats.text() and "whole_image" in view.stats.toolTip()
    assert "Tasks: 1 scene_classific…, 2 objects, 3 masks." in view.stats.text()  # the key to 1..T


def test_conflict_view_shows_lookahead_affinity_when_measured(qtbot):
    view = ConflictView()
    qtbot.addWidget(view)
    Z1, Z2 = [[0.2, -0.04], [0.01, 0.1]], [[0.1, 0.02], [0.03, 0.3]]
    view.add_records(
        [
            {
                "type": "step",
                "global_step": s,
                "conflict": {
                    "tasks": ["a", "b"],
                    "cos": [[1, 0], [0, 1]],
                    "norm_ratio": [1, 1],
                    "affinity": Z,
                },
            }
            for s, Z in ((1, Z1), (21, Z2))
        ]
    )
    view.show()
    assert view.affinity_widget.isVisibleTo(view)
    assert view.affinity_image.image[0, 1] == pytest.approx(0.03)  # (x = column 0, y = row 1): b -> a
    assert view.affinity_image.levels == pytest.approx([-0.3, 0.3])  # symmetric about 0, the largest |Z|
    assert view.mean_affinity()[("a", "b")] == pytest.approx(-0.01)  # (-0.04 + 0.02) / 2
    assert "a → b -0.01, b → a +0.02" in view.summary_text()


def test_delta_m_cell_and_tip():
    delta = {
        "maninis": -1.234,
        "libmtl": 1.234,
        "per_task": {"a": 2.0, "b": 0.468},
        "metric": {"a": "acc", "b": "miou"},
    }
    assert delta_text(delta) == "-1.23 %" and delta_text({}) == "–"
    assert "a acc: +2.00 %" in delta_tip(delta) and "workbench baselines" in delta_tip({})
    # baselines compared but Δm undefined: said, not "run workbench baselines" again
    note = "undefined: objects/map_50: the single-task value is 0, so there is no relative change"
    assert delta_text(None, note) == "undefined"
    assert delta_tip({}, note) == f"Δm against single-task baselines is {note}"
    undefined_p = {**delta, "libmtl": None, "libmtl_note": "undefined: n/exact: the single-task value is 0"}
    assert "Δp (LibMTL) undefined: n/exact: the single-task value is 0" in delta_tip(undefined_p)
    assert "undefined: undefined" not in delta_tip(undefined_p)


def _facts(seed, value, delta, depth=2):
    return RunFacts(
        path=f"/runs/r{seed}-{depth}",
        config={"model": {"sharing_depth": depth}, "train": {"seed": seed}},
        primary_metrics={"a": "acc"},
        higher_is_better={"a": True},
        metrics={"a": value},
        delta_m=delta,
        sharing_depth=depth,
    )


def test_compare_merges_seeds_into_mean_and_std():
    facts = [_facts(0, 0.5, -1.0), _facts(1, 0.7, 1.0), _facts(2, 0.6, 3.0), _facts(0, 0.9, None, depth=0)]
    table = compare_table(facts)
    assert len(table.rows) == 2
    row = next(i for i, f in enumerate(table.facts) if f.seeds == (0, 1, 2))
    col = table.column("metric:a/acc")
    assert table.rows[row][col] == pytest.approx(0.6)
    assert table.text(row, col) == "0.600 ± 0.100"  # sample std of 0.5, 0.6, 0.7
    assert table.text(row, table.column("delta_m")) == "+1.00 ± 2.00 %"  # signed, as a single run's
    assert table.value(row, "seeds") == "0, 1, 2"
    single = compare_table(facts, by_seed=False)
    assert len(single.rows) == 4


def test_a_merged_rows_cells_read_like_single_runs_in_the_same_column():
    """Latency read "642 ± 1.04e+03 ms" and wall time "33.5 ± 9.61 s" beside "0:52"."""
    facts = [
        dataclasses.replace(_facts(0, 2.0e10, None), latency_ms=100.0, elapsed_s=20.0),
        dataclasses.replace(_facts(1, 3.0e10, None), latency_ms=2000.0, elapsed_s=47.0),
        dataclasses.replace(_facts(0, 0.5, None, depth=0), latency_ms=40.0, elapsed_s=52.0),
    ]
    table = compare_table(facts)
    row = next(i for i, f in enumerate(table.facts) if f.seeds == (0, 1))
    # mean 1,050 ms, sample std sqrt(2 * 950^2) = 1,343.5 ms: seconds, as a single run's 1 s+
    assert table.text(row, table.column("latency")) == "1.05 ± 1.34 s"
    # mean 33.5 s, std sqrt(2 * 13.5^2) = 19.09 s: m:ss, as the single run's "0:52"
    assert table.text(row, table.column("wall")) == "0:34 ± 0:19"
    single = 1 - row
    assert table.text(single, table.column("wall")) == "0:52"
    assert table.text(single, table.column("latency")) == "40 ms"
    # a mean of 2.5e10 (a diverged metric): the single run's form, not 26 digits
    assert table.text(row, table.column("metric:a/acc")) == "2.5e+10 ± 7.071e+09"
    import csv
    import io

    records = list(csv.DictReader(io.StringIO(table.to_csv())))
    merged = next(r for r in records if r["Seeds"] == "0, 1")
    assert merged["Folder"] == "/runs/r0-2; /runs/r1-2"  # every seed's folder, not the first's
    assert "Seed" not in records[0]  # the Seeds column says them once
    assert "sample standard deviation (n − 1)" in table.columns[table.column("seeds")].tip


def test_a_stopped_or_failed_seed_is_not_averaged_with_finished_ones():
    """A seed stopped after one epoch was averaged with a finished seed ("mixed")."""
    from dataclasses import replace

    finished = [replace(_facts(s, 0.5 + s / 10, None), status="finished", epochs_done=5) for s in (0, 1)]
    stopped = replace(_facts(2, 0.1, None), status="stopped", epochs_done=1)
    table = compare_table([*finished, stopped])
    assert sorted(f.seeds for f in table.facts) == [(), (0, 1)]
    early = [replace(f, epochs_done=3 + i) for i, f in enumerate(finished)]  # early stopping
    assert len(compare_table(early).rows) == 1
    # a loss weight written 1 in one seed's config and 1.0 in the other's is one setting
    weights = [
        replace(f, config={**f.config, "tasks": [{"name": "a", "loss_weight": w}]})
        for f, w in zip(finished, (1, 1.0), strict=True)
    ]
    assert len(compare_table(weights).rows) == 1


def test_a_row_merged_over_seeds_is_labelled_by_all_its_seeds():
    """It was labelled "seed 0" beside a Seeds column of "0, 1". The seed is named only
    where the settings leave rows alike: the depth tells these apart, the Seeds column
    says which draws each row holds."""
    rows = [_facts(0, 0.5, None), _facts(1, 0.7, None), _facts(2, 0.6, None, depth=0)]
    table = compare_table(rows)
    assert sorted(table.labels) == ["depth 0", "depth 2"]
    merged = table.labels.index("depth 2")
    assert table.value(merged, "seeds") == "0, 1"
    alike = [_facts(0, 0.5, None), _facts(1, 0.7, None), _facts(2, 0.6, None)]
    alike[2] = dataclasses.replace(alike[2], status="stopped")  # not merged with the finished seeds
    assert sorted(compare_table(alike).labels) == ["seed 0, 1", "seed 2"]


def test_a_baselines_conflict_setting_does_not_label_it():
    """A single-task baseline (depth 0, conflict off: nothing is shared) was labelled
    "depth 0 · conflict every 0": a measurement setting named as if it changed the run."""
    from workbench.analysis.compare import run_labels

    def cfg(depth, every):
        return {"model": {"sharing_depth": depth}, "weighting": {"conflict_every": every}}

    facts = [RunFacts("r/x-1", "x", config=cfg(2, 20)), RunFacts("r/x-2", "x", config=cfg(0, 0))]
    assert run_labels(facts) == ["depth 2", "depth 0"]


def test_runs_alike_but_for_the_device_are_told_apart_by_it_before_start_times():
    """Two seed-0 runs on device "cpu" and "auto" beside a run of another backbone were
    "small_cnn · seed 0 · 03:25:05" and "· 03:26:02"."""
    from workbench.analysis.compare import run_labels

    def cfg(backbone, device):
        return {"model": {"backbone": backbone}, "train": {"device": device, "seed": 0}}

    facts = [
        RunFacts("r/x-1", "x", config=cfg("small_cnn", "cpu")),
        RunFacts("r/x-2", "x", config=cfg("small_cnn", "auto")),
        RunFacts("r/x-3", "x", config=cfg("resnet18", "cpu")),
    ]
    labels = run_labels(facts)
    assert len(set(labels)) == 3 and not any(":" in label for label in labels), labels
    assert "auto" in labels[1] and "small_cnn" in labels[1]


def test_a_task_set_that_differs_is_named_before_the_seed():
    """A run without one task beside a row of seeds 0, 2 was labelled "lr 0.002 · seed 0"
    against "lr 0.002 · seed 0, 2": the seed told them apart, the task set went unsaid."""
    from workbench.analysis.compare import run_labels

    def cfg(seed, tasks=("a", "b"), lr=0.002):
        return {
            "tasks": [{"name": t, "kind": "classification"} for t in tasks],
            "optim": {"lr": lr},
            "train": {"seed": seed},
        }

    facts = [
        RunFacts("r/x-1", "x", config=cfg("0, 2")),  # a merged row
        RunFacts("r/x-2", "x", config=cfg(0, tasks=("a",))),
        RunFacts("r/x-3", "x", config=cfg(1, lr=0.005)),
    ]
    labels = run_labels(facts)
    assert "seed" not in " ".join(labels), labels
    assert len(set(labels)) == 3 and labels[1].split(" · ")[0] == "a", labels


def test_a_row_merged_over_seeds_is_named_for_all_of_them():
    from dataclasses import replace

    from workbench.analysis.seed_groups import merge_seeds

    sweep = [replace(_facts(s, 0.5, None), name=f"s-a+b-dwa-d2-s{s}") for s in (1, 0)]
    assert merge_seeds(sweep).name == "s-a+b-dwa-d2-s0/1"  # not seed 0's name alone
    assert merge_seeds(sweep).config["name"] == "s-a+b-dwa-d2-s0/1"  # as the name column shows it
    same = [replace(_facts(s, 0.5, None), name="exp") for s in (0, 1)]
    assert merge_seeds(same).name == "exp"
    other = [replace(_facts(s, 0.5, None), name=n) for s, n in ((0, "x"), (1, "y"), (2, "z"))]
    assert merge_seeds(other).name == "x (+2 more)"


def test_sweep_dialog_writes_a_sweep_the_cli_reads(qtbot, tmp_path):
    from workbench.config import default_experiment
    from workbench.gui.sweep_dialog import SweepDialog
    from workbench.sweep.spec import load_sweep

    cfg = default_experiment()
    dialog = SweepDialog(cfg, 4, WEIGHTINGS.names(), tmp_path)
    qtbot.addWidget(dialog)
    # the setup's method, ticked, is in view (it sat below the list's fold, none ticked in sight)
    deep = default_experiment()
    deep.weighting.method = "gradvac"
    other = SweepDialog(deep, 4, WEIGHTINGS.names(), tmp_path)
    qtbot.addWidget(other)
    other.show()
    (ticked,) = [
        other.methods.item(i)
        for i in range(other.methods.count())
        if other.methods.item(i).checkState() == Qt.CheckState.Checked
    ]
    assert ticked.text() == "gradvac" and other.methods.row(ticked) > 20
    shown = other.methods.visualItemRect(ticked)
    assert shown.top() >= 0 and shown.bottom() <= other.methods.viewport().height()
    # grouped as in the setup: headings that cannot be ticked
    texts = [dialog.methods.item(i).text() for i in range(dialog.methods.count())]
    assert texts[0] == "Loss weightings" and "Gradient methods (per-task gradients)" in texts
    assert texts.index("dwa") < texts.index("Gradient methods (per-task gradients)") < texts.index("upgrad")
    assert dialog.methods.item(0).flags() == Qt.ItemFlag.NoItemFlags
    dialog.depths[1][1].setChecked(False)  # depths 0, 2, 3, 4
    dialog.alone.setChecked(True)
    assert dialog.count.text() == f"{4 * 1 * 3 * 4} experiments"  # depths x methods x seeds x task sets
    dialog.seeds.setText("0, x")
    assert not dialog.ok.isEnabled() and "whole numbers" in dialog.count.text()
    dialog.seeds.setText("0, 0")  # the sweep refuses a seed listed twice: so does the form
    assert not dialog.ok.isEnabled() and dialog.count.text() == "Seeds: 0 is listed twice"
    dialog.seeds.setText("3")
    spec = load_sweep(dialog.sweep_file())
    assert spec.sharing_depth == [0, 2, 3, 4] and spec.seeds == [3] and spec.methods == ["equal_sum"]
    assert spec.task_sets[0] == ["scene", "objects", "masks"] and spec.task_sets[1] == ["scene"]
    assert len(spec.items()) == 16


def test_a_sweep_that_fails_at_once_shows_no_older_sweeps_results(qtbot, tmp_path):
    import os

    from PySide6.QtWidgets import QLabel

    from workbench.gui.sweep_dialog import SweepRunDialog

    folder = tmp_path / "out" / "s"
    folder.mkdir(parents=True)
    (folder / "table.csv").write_text("tasks,method,seeds\na+b,dwa,1\n")  # an earlier sweep's
    os.utime(folder / "table.csv", (1, 1))
    dialog = SweepRunDialog(tmp_path / "missing.toml", tmp_path / "out", "s")
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.done, timeout=60_000) as done:
        pass
    assert done.args[0] == 2
    assert not [w for w in dialog.findChildren(QLabel) if w.text().startswith("Results in")]


def test_sweep_charts_take_the_dialogs_width_not_more(qtbot, tmp_path):
    """Charts were scaled to 760 px whatever the dialog's width: on a 1,024 px screen they
    ran past it, behind a sideways scroll bar."""
    from PySide6.QtGui import QColor, QPixmap
    from PySide6.QtWidgets import QScrollArea

    from workbench.gui.sweep_dialog import FitWidthImage, SweepRunDialog

    folder = tmp_path / "out" / "s"
    folder.mkdir(parents=True)
    (folder / "table.csv").write_text("tasks,method,seeds\na+b,dwa,1\n")
    chart = QPixmap(1600, 800)
    chart.fill(QColor("white"))
    chart.save(str(folder / "depth-a_b.png"))
    dialog = SweepRunDialog(tmp_path / "missing.toml", tmp_path / "out", "s")
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.done, timeout=60_000):
        pass
    dialog.show_results()
    dialog.show()
    dialog.resize(620, 700)
    (image,) = dialog.findChildren(FitWidthImage)
    scroll = next(a for a in dialog.findChildren(QScrollArea) if a.widget().isAncestorOf(image))
    qtbot.waitUntil(lambda: image.pixmap().width() < 620, timeout=5000)
    assert image.pixmap().width() <= scroll.viewport().width()
    assert abs(image.pixmap().height() - image.pixmap().width() / 2) <= 1  # the chart's aspect kept
    assert not scroll.horizontalScrollBar().isVisible()


def test_command_dialog_shows_output_and_exit_code(qtbot):
    from workbench.gui.command_dialog import CommandDialog

    dialog = CommandDialog("help", ["sweep", "--help"])
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.done, timeout=60_000) as blocker:
        pass
    assert blocker.args == [0]
    assert "usage: workbench sweep" in dialog.output.toPlainText()
    assert dialog.status.text() == "Finished."


def test_command_dialog_says_stopped_after_stop(qtbot, tmp_path):
    """Stop sends SIGTERM: the command saves and exits with 143, which the dialog calls a
    stop that a second run continues, not a failure."""
    from conftest import tiny_config

    from workbench.experiment_check import save_config
    from workbench.gui.command_dialog import CommandDialog

    cfg = tiny_config()
    cfg.train.epochs = 200
    save_config(cfg, tmp_path / "c.toml")
    runs = tmp_path / "runs"
    dialog = CommandDialog("train", ["train", str(tmp_path / "c.toml"), "--out", str(runs), "--quiet"])
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: any(p.stat().st_size for p in runs.glob("*/metrics.jsonl")), timeout=120_000)
    with qtbot.waitSignal(dialog.done, timeout=120_000) as blocker:
        dialog.stop()
    assert blocker.args == [143]
    assert dialog.status.text() == "Stopped. Run it again to continue where it stopped."


def test_every_registered_method_is_documented():
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "mtl-methods.md").read_text(encoding="utf-8")
    missing = [
        m
        for m in WEIGHTINGS.names()
        if f"| {m} " not in text and f"| {m}," not in text and f", {m} |" not in text
    ]
    assert not missing, f"not in docs/mtl-methods.md: {missing}"


def test_conflict_every_is_edited_in_the_setup_and_round_trips(window, qtbot):
    from workbench.config import default_experiment

    cfg = default_experiment()
    cfg.weighting.conflict_every = 7
    window.setup.set_config(cfg)
    assert window.setup.config().weighting.conflict_every == 7
    editor = window.setup.weighting.editor_for("weighting.conflict_every")
    editor.setValue(0)
    assert window.setup.config().weighting.conflict_every == 0
    cfg.weighting.lookahead_affinity = True
    window.setup.set_config(cfg)
    assert window.setup.config().weighting.lookahead_affinity is True
    window.setup.weighting.editor_for("weighting.lookahead_affinity").setChecked(False)
    assert window.setup.config().weighting.lookahead_affinity is False
    from PySide6.QtWidgets import QLabel

    labels = [w.text() for w in window.setup.weighting.conflict_form.findChildren(QLabel)]
    assert any("Measure conflict every" in t for t in labels)  # the label declared with the field


def test_conflict_view_of_a_long_run_draws_lines_without_dots(qtbot):
    """Thousands of dots took seconds to draw (a 20,000-step run measured every step); past
    MAX_DOTS measurements a pair is a line alone; its statistics still count every one."""
    from workbench.gui.conflict_view import MAX_DOTS

    view = ConflictView()
    qtbot.addWidget(view)
    view.show()

    def record(step, c):
        return {
            "type": "step",
            "global_step": step,
            "conflict": {"tasks": ["a", "b"], "cos": [[1, c], [c, 1]], "norm_ratio": [1, 1]},
        }

    view.add_records([record(s, -0.5 if s % 4 == 0 else 0.5) for s in range(MAX_DOTS)])
    assert view.curves["a × b"].opts["symbol"] == "o"
    view.add_records([record(MAX_DOTS + s, 0.5) for s in range(MAX_DOTS)])
    assert view.curves["a × b"].opts["symbol"] is None
    # a quarter of the first MAX_DOTS are negative: 100 of 800 = 12 %; mean (100 x -0.5 + 700 x 0.5) / 800
    assert "a × b: mean cosine +0.38, negative in 12% of measurements" in view.summary_text()
    view.add_records(
        [
            {
                "type": "step",
                "global_step": 9,
                "conflict": {"tasks": ["a", "b"], "cos": [[1]], "norm_ratio": []},
            }
        ]
    )
    assert len(view.steps) == 2 * MAX_DOTS  # a damaged measurement is left out


def test_escape_on_a_running_command_asks_before_hiding_it(qtbot, tmp_path, monkeypatch):
    """Escape used to hide a running baselines/sweep/export dialog without a word, leaving
    its command running with no way to stop it. It asks now, as Close does."""
    from PySide6.QtWidgets import QMessageBox

    from workbench.gui.command_dialog import CommandDialog

    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked = []

    def question(*args, **kwargs):
        asked.append(args[1])
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    dialog = CommandDialog("sleep", ["config"])  # replaced below by a command that runs a while
    qtbot.addWidget(dialog)
    dialog.process.waitForFinished(60_000)
    dialog.process.start(sys.executable, ["-c", "import time; time.sleep(60)"])
    assert dialog.process.waitForStarted(30_000)
    dialog.show()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert asked == ["Stop the command?"] and dialog.isVisible() and dialog.running()  # "No": stays
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert asked == ["Stop the command?"] * 2
    assert not dialog.isVisible() and not dialog.running()  # "Yes": stopped, then closed


def test_enter_in_the_sweep_dialog_starts_nothing_and_dialogs_fit_the_screen(qtbot, tmp_path):
    """Enter typed in Seeds accepted the dialog: fifteen trainings started by one key. The
    sweep results asked for 900 x 800 px, below the bottom of a 768-pixel screen."""
    from PySide6.QtWidgets import QDialog, QWidget

    from workbench.config import default_experiment
    from workbench.gui.dialog_fit import SCREEN_MARGIN, resize_within_screen
    from workbench.gui.sweep_dialog import SweepDialog

    dialog = SweepDialog(default_experiment(), 4, WEIGHTINGS.names(), tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.seeds.setFocus()
    qtbot.keyClick(dialog.seeds, Qt.Key.Key_Return)
    qtbot.keyClick(dialog.seeds, Qt.Key.Key_Enter)
    assert dialog.isVisible() and dialog.result() == QDialog.DialogCode.Rejected
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)  # a click still runs it
    assert dialog.result() == QDialog.DialogCode.Accepted

    widget = QWidget()
    qtbot.addWidget(widget)
    area = widget.screen().availableGeometry()
    resize_within_screen(widget, area.width() + 500, area.height() + 500)
    assert widget.width() == area.width() - SCREEN_MARGIN[0]
    assert widget.height() == area.height() - SCREEN_MARGIN[1]
    resize_within_screen(widget, 300, 200)  # what fits is kept as asked
    assert (widget.width(), widget.height()) == (300, 200)


def test_conflict_view_fits_a_narrow_window(qtbot):
    """At 1,024 x 768 the heatmap lost its last column and the pairs' legend its last pair:
    their titles, inside the plots, made the plots wider than the room they had. The
    captions now wrap above the plots."""
    from workbench.gui.conflict_view import ConflictView

    view = ConflictView()
    qtbot.addWidget(view)
    tasks = ["scene", "objects", "masks"]
    cos = [[1, 0.06, 0.1], [0.06, 1, 0.07], [0.1, 0.07, 1]]
    view.add_records(
        [
            {
                "type": "step",
                "global_step": 1,
                "conflict": {"tasks": tasks, "cos": cos, "norm_ratio": [1, 1, 1]},
            }
        ]
    )
    view.resize(560, 420)
    view.show()
    qtbot.waitExposed(view)
    view._redraw()
    qtbot.wait(50)
    assert view.minimumSizeHint().width() <= 560
    heat = view.heat.getViewBox()
    shown = heat.viewRange()[0]
    assert shown[0] <= 0.0 and shown[1] >= 3.0  # every column of the 3 x 3 matrix is in view
    legend = view.series_legend.text()
    assert all(
        pair.replace(" ", "&nbsp;") in legend
        for pair in ("scene × objects", "scene × masks", "objects × masks")
    )
    assert view.series_legend.wordWrap() and view.series_legend.width() <= view.width()


def test_the_compare_title_counts_runs_not_merged_rows(qtbot):
    from workbench.gui.compare_view import CompareView

    view = CompareView()
    qtbot.addWidget(view)
    facts = [
        _facts(0, 0.5, None),
        _facts(1, 0.7, None),
        _facts(0, 0.9, None, depth=0),
        _facts(1, 0.8, None, depth=0),
    ]
    view.set_table(compare_table(facts))
    assert view._title_parts[0] == "Comparing 4 runs in 2 rows (seeds merged)"
    view.set_table(compare_table(facts[:1] + facts[2:3]))
    assert view._title_parts[0] == "Comparing 2 runs"
    view.set_table(compare_table(facts[:2]))
    assert view._title_parts[0] == "Comparing 2 runs in 1 row (seeds merged)"


def test_a_long_setting_column_is_capped_and_its_cells_whole_in_tooltips(qtbot):
    """Eight runs, one of six long task names: the Tasks column took 60 % of the width and
    pushed every metric column out of sight."""
    from workbench.gui.compare_view import CompareView

    view = CompareView()
    qtbot.addWidget(view)
    long_tasks = [{"name": f"task_number_{i}_with_a_long_descriptive_name"} for i in range(6)]
    facts = [
        RunFacts(path="/runs/a", config={"tasks": [{"name": "a"}]}, primary_metrics={"a": "acc"},
                 higher_is_better={"a": True}, metrics={"a": 0.5}),
        RunFacts(path="/runs/b", config={"tasks": [{"name": "a"}, *long_tasks]}, primary_metrics={"a": "acc"},
                 higher_is_better={"a": True}, metrics={"a": 0.7}),
    ]  # fmt: skip
    view.set_table(compare_table(facts, by_seed=False))
    view.resize(900, 300)
    view.show()
    qtbot.waitExposed(view)
    tasks = view._table.column("config:tasks")
    whole = view._table.text(1, tasks)
    assert len(whole) > 200  # the six long names
    header = view.grid.horizontalHeader()
    cap = view.grid.fontMetrics().averageCharWidth() * view.WIDE_COLUMN_CHARS
    assert header.sectionSize(tasks) <= max(cap, header.sectionSizeHint(tasks))
    assert view.grid.item(1, tasks).toolTip() == whole  # the whole value on hover
    assert view.grid.item(0, tasks).toolTip() == ""  # "a" fits: nothing to add
    metric = view._table.column("metric:a/acc")  # in sight without scrolling
    assert header.sectionViewportPosition(metric) + header.sectionSize(metric) <= view.grid.viewport().width()
    # a table without long values keeps every column as wide as its contents
    view.set_table(compare_table(facts[:1] + [RunFacts(path="/runs/c", config={"tasks": [{"name": "b"}]})]))
    assert header.sectionResizeMode(view._table.column("config:tasks")) == header.ResizeMode.ResizeToContents


def test_eight_tasks_pairs_are_told_apart(qtbot):
    """28 pairs from a palette of ten colours: three pairs were drawn in the same blue."""
    from workbench.gui.conflict_view import ConflictView, pair_style

    styles = [pair_style(k)[:2] for k in range(28)]
    assert len(set(styles)) == 28
    assert pair_style(0)[1] == Qt.PenStyle.SolidLine and pair_style(10)[1] == Qt.PenStyle.DashLine
    assert pair_style(10)[0] == pair_style(0)[0]  # the same colour, another line
    tasks = [f"t{i}" for i in range(8)]
    cos = [[1.0 if i == j else 0.1 for j in range(8)] for i in range(8)]
    view = ConflictView()
    qtbot.addWidget(view)
    view.add(20, {"tasks": tasks, "cos": cos, "norm_ratio": [1.0] * 8})
    view.show()
    qtbot.waitUntil(lambda: len(view.curves) == 28, timeout=5000)
    drawn = {(c.opts["pen"].color().getRgb()[:3], c.opts["pen"].style()) for c in view.curves.values()}
    assert len(drawn) == 28
    assert "╺╸" in view.series_legend.text()  # the legend shows the line's style too
