"""SetupPanel: config round trip, validation marks, sharing-depth counts, previews."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import textwrap

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from workbench.config import (  # noqa: E402
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    OptimConfig,
    TaskConfig,
    TrainConfig,
    WeightingConfig,
    default_experiment,
)

pytest.importorskip("pytestqt")


def _load_core() -> None:
    import workbench.models.backbones  # noqa: F401
    import workbench.tasks  # noqa: F401
    import workbench.training.device  # noqa: F401
    import workbench.weighting  # noqa: F401


def _settle(qtbot, panel) -> None:
    qtbot.waitUntil(lambda: not panel.counts_busy() and panel.previews_ready(), timeout=20000)


@pytest.fixture
def make_panel(qtbot):
    from workbench.gui.setup_panel import SetupPanel

    panels = []

    def make(loaded: bool = True):
        panel = SetupPanel()
        qtbot.addWidget(panel)
        panel.resize(420, 900)
        panel.show()
        if loaded:
            _load_core()
            panel.core_loaded()
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.shutdown()


@pytest.fixture
def panel(make_panel, qtbot):
    p = make_panel()
    _settle(qtbot, p)
    return p


def non_default_config() -> ExperimentConfig:
    return ExperimentConfig(
        name="round-trip",
        data=DataConfig(
            options=dict(
                image_size=96,
                num_classes=6,
                min_objects=2,
                max_objects=5,
                min_size=0.15,
                max_size=0.35,
                noise=0.13,
                clutter=4,
                train_size=5000,
                val_size=250,
                data_seed=7,
            )
        ),
        model=ModelConfig(
            backbone="resnet18",
            input_size=112,
            pretrained="none",
            weights_file="/tmp/some weights.pt",
            sharing_depth=2,
            dropout=0.25,
            channels_last=False,
        ),
        # not in registry order; options partly given, one an explicit default
        tasks=[
            TaskConfig(
                name="boxes",
                kind="detection",
                loss_weight=2.5,
                options={"head_width": 48, "score_threshold": 0.3},
            ),
            TaskConfig(name="scene", kind="classification", loss_weight=0.75, options={}),
            TaskConfig(name="n_objects", kind="counting", loss_weight=1.0, options={"loss": "l1"}),
        ],
        weighting=WeightingConfig(method="uncertainty", params={"init_log_var": -0.5}),
        optim=OptimConfig(
            optimizer="sgd",
            lr=3.7e-4,
            weight_decay=0.05,
            momentum=0.85,
            schedule="step",
            warmup_steps=7,
            step_size=3,
            gamma=0.3,
            grad_clip=1.5,
        ),
        train=TrainConfig(
            epochs=9,
            batch_size=24,
            device="cpu",
            amp=False,
            amp_dtype="float16",
            seed=11,
            workers=2,
            early_stopping_metric="boxes/map_50",
            patience=3,
            time_limit_s=90.5,
            num_samples=8,
            threads=3,
        ),
    )


def test_no_torch_until_core_loaded():
    code = textwrap.dedent(
        """
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from workbench.config import default_experiment
        from workbench.gui.setup_panel import SetupPanel
        p = SetupPanel()
        p.show()
        cfg = default_experiment()
        cfg.optim.lr = 0.01
        cfg.tasks[0].options = {"hidden": 64}
        p.set_config(cfg)
        app.processEvents()
        assert p.config() == cfg, p.config()
        assert not p.is_valid() and "Loading" in p.error_message()
        assert not p.backbone_combo.isEnabled()
        assert "torch" not in sys.modules, "torch imported before core_loaded"
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "ok" in out.stdout


def test_round_trip_non_default(panel, qtbot):
    cfg = non_default_config()
    panel.set_config(cfg)
    assert panel.config() == cfg
    # the same after the background jobs came back
    _settle(qtbot, panel)
    assert panel.config() == cfg
    # -1 (hard sharing) and an explicit full depth both survive
    for depth in (-1, 4, 0):
        c = copy.deepcopy(cfg)
        c.model.sharing_depth = depth
        panel.set_config(c)
        assert panel.config() == c
    # the default experiment too
    panel.set_config(default_experiment())
    assert panel.config() == default_experiment()
    _settle(qtbot, panel)


def test_set_config_before_core_loaded(make_panel, qtbot):
    p = make_panel(loaded=False)
    cfg = non_default_config()
    p.set_config(cfg)
    assert p.config() == cfg
    assert not p.backbone_combo.isEnabled()
    with qtbot.waitSignal(p.validityChanged, timeout=5000):
        _load_core()
        p.core_loaded()
    assert p.config() == cfg
    assert p.backbone_combo.isEnabled()
    _settle(qtbot, p)


def test_edit_emits_config_changed(panel, qtbot):
    with qtbot.waitSignal(panel.configChanged, timeout=2000) as blocker:
        panel.epochs.setValue(13)
    assert blocker.args[0].train.epochs == 13
    assert panel.config().train.epochs == 13


def test_depth_slider_updates_counts(panel, qtbot):
    view = panel.architecture
    panel.depth_slider.setValue(0)
    qtbot.waitUntil(lambda: view.counts() is not None and view.counts()["depth"] == 0, timeout=20000)
    c0 = view.counts()
    assert c0["shared"] == 0
    assert c0["total"] == c0["independent"]
    assert panel.config().model.sharing_depth == 0

    panel.depth_slider.setValue(panel.depth_slider.maximum())
    qtbot.waitUntil(lambda: view.counts() is not None and view.counts()["depth"] == 4, timeout=20000)
    c4 = view.counts()
    assert c4["shared"] > 0
    assert max(c4["per_task"]) < c4["shared"] / 4  # only heads remain per task
    assert c4["total"] < c4["independent"] == c0["independent"]
    assert len(c4["per_task"]) == len(panel.config().tasks)

    # the numbers are those of the real network
    from workbench.data.base import DataInfo
    from workbench.models.multitask import MultiTaskNet
    from workbench.tasks import build_task

    cfg = panel.config()
    info = DataInfo(128, 4, tuple("abcd"))  # the default shapes: 128 px, 4 classes
    net = MultiTaskNet(cfg.model.backbone, [build_task(t, info) for t in cfg.tasks], 2)
    panel.depth_slider.setValue(2)
    qtbot.waitUntil(lambda: view.counts() is not None and view.counts()["depth"] == 2, timeout=20000)
    real = net.param_counts()
    assert view.counts()["shared"] == real["shared"]
    assert view.counts()["total"] == real["total"]
    assert view.counts()["per_task"] == [real["per_task"][t.name] for t in cfg.tasks]


def test_bigger_backbone_counts_off_thread(panel, qtbot):
    index = panel.backbone_combo.findData("resnet50")
    panel.backbone_combo.setCurrentIndex(index)
    panel.backbone_combo.activated.emit(index)
    assert panel.config().model.backbone == "resnet50"
    qtbot.waitUntil(lambda: not panel.counts_busy(), timeout=30000)
    c = panel.architecture.counts()
    assert c is not None and c["backbone"] > 20_000_000


def test_invalid_lr_marks_field(panel, qtbot):
    with qtbot.waitSignal(panel.validityChanged, timeout=2000) as blocker:
        panel.lr.setValue(0.0)
    valid, message = blocker.args
    assert valid is False
    assert message.startswith("Learning rate: must be > 0")  # the field's label, not "optim.lr"
    assert panel.lr.property("invalid") is True
    assert panel.lr in panel.invalid_widgets()
    assert "must be > 0" in panel.lr.toolTip()
    assert not panel.is_valid()
    with qtbot.waitSignal(panel.validityChanged, timeout=2000) as blocker:
        panel.lr.setValue(1e-3)
    assert blocker.args == [True, ""]
    assert not panel.lr.property("invalid")


def test_typed_lr_zero_is_refused_aloud_and_the_rate_kept(panel, qtbot):
    """lr > 0 is declared: 0 is out of range like 15 is, refused when the field is left
    with the value it had kept (it was taken, and only the banner said it was wrong)."""
    from PySide6.QtCore import Qt

    before = panel.config().optim.lr
    panel.lr.setFocus()
    panel.lr.lineEdit().selectAll()
    qtbot.keyClicks(panel.lr.lineEdit(), "0")
    qtbot.keyClick(panel.lr.lineEdit(), Qt.Key.Key_Return)
    assert panel.lr.last_refusal.endswith(f"“0”: must be above 0; kept {before:g}")
    assert panel.config().optim.lr == before and panel.is_valid()


def test_unchecking_all_tasks_is_invalid(panel, qtbot):
    messages = []
    panel.validityChanged.connect(lambda ok, msg: messages.append((ok, msg)))
    for row in panel._rows.values():
        row.check.setChecked(False)
    assert panel.config().tasks == []
    assert messages[-1][0] is False
    assert "at least one task" in messages[-1][1]
    assert panel.sections["tasks"].header.property("invalid") is True
    assert "at least one task" in panel.architecture.status()
    panel._rows["counting"].check.setChecked(True)
    assert messages[-1] == (True, "")
    assert [t.kind for t in panel.config().tasks] == ["counting"]


def test_task_option_error_points_at_editor(panel):
    row = panel._rows["classification"]
    editor = row.options.editor("label_smoothing")
    assert editor.maximum() == 0.5  # the option's declared range
    row.options.set_values({"label_smoothing": 0.7})  # e.g. from a config file: kept, reported
    row.options.changed.emit()
    assert panel.error_message() == "classification task: Label smoothing: must be between 0 and 0.5, got 0.7"
    assert editor.property("invalid") is True
    assert row.body.isVisible()  # the options opened to show the problem


def test_duplicate_task_name_marks_name(panel):
    row = panel._rows["detection"]
    row.name_edit.setText("scene")
    row.name_edit.textEdited.emit("scene")
    assert panel.error_message() == "detection task name: duplicate task name 'scene'"
    assert row.name_edit.property("invalid") is True


def test_early_stopping_choices_follow_tasks(panel):
    combo = panel.es_combo
    items = [combo.itemData(i) for i in range(combo.count())]
    assert items[0] == "" and "scene/accuracy" in items and "objects/map_50" in items
    combo.setCurrentIndex(combo.findData("scene/f1"))
    combo.activated.emit(combo.currentIndex())
    assert panel.config().train.early_stopping_metric == "scene/f1"
    row = panel._rows["classification"]
    row.name_edit.setText("shape")
    row.name_edit.textEdited.emit("shape")
    assert panel.config().train.early_stopping_metric == "shape/f1"
    assert panel.is_valid()


def test_imagenet_choice_needs_cached_weights(panel, monkeypatch):
    from workbench.models import backbones

    assert not panel.imagenet_enabled()  # small_cnn is not a torchvision model
    assert "no ImageNet weights" in panel.pretrained_combo.toolTip()

    index = panel.backbone_combo.findData("resnet18")
    panel.backbone_combo.setCurrentIndex(index)
    panel.backbone_combo.activated.emit(index)
    monkeypatch.setattr(backbones, "imagenet_available", lambda name: False)
    panel.refresh_weights_availability()
    assert not panel.imagenet_enabled()
    assert "cache" in panel.pretrained_combo.toolTip()

    monkeypatch.setattr(backbones, "imagenet_available", lambda name: True)
    panel.refresh_weights_availability()
    assert panel.imagenet_enabled()


def test_previews_render(panel, qtbot):
    pixmaps = panel.preview_pixmaps()
    assert len(pixmaps) == 8  # a grid of 4 x 2
    first = []
    for pm in pixmaps:
        assert not pm.isNull() and pm.width() > 20
        img = pm.toImage()
        colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
        assert len(colours) > 10  # a scene, not a blank square
        first.append(img)
    # new knobs give new scenes (debounced, generated off the GUI thread)
    panel.data_section.forms["shapes"].editor("data_seed").setValue(5)
    qtbot.waitUntil(panel.previews_ready, timeout=20000)
    again = [pm.toImage() for pm in panel.preview_pixmaps()]
    assert len(again) == 8 and any(a != b for a, b in zip(first, again, strict=True))
    panel.preview.mask_box.setChecked(True)
    assert len(panel.preview_pixmaps()) == 8


# ---------------------------------------------------------------------------- issue 6, item 16


def _edit(panel, widget, value) -> None:
    widget.setValue(value)  # valueChanged -> the panel's edit path, like a user's change


def test_min_max_pair_marks_the_field_the_user_edited(panel):
    s = panel.data_section.forms["shapes"].editors
    _edit(panel, s["min_objects"], 4)
    _edit(panel, s["min_objects"], 5)  # now above "most objects" (4): the edited field is marked
    assert panel.error_message() == "Most objects: must be >= Fewest objects (5), got 4"
    assert panel.invalid_widgets()[0] is s["min_objects"]
    assert s["max_objects"] not in panel.invalid_widgets()
    _edit(panel, s["min_objects"], 1)
    assert panel.is_valid() and not panel.invalid_widgets()
    _edit(panel, s["min_objects"], 3)
    _edit(panel, s["max_objects"], 2)  # the other side of the pair: that one is marked
    assert s["max_objects"] in panel.invalid_widgets() and s["min_objects"] not in panel.invalid_widgets()
    _edit(panel, s["max_objects"], 4)
    cfg = panel.config()
    cfg.data.options["min_size"], cfg.data.options["max_size"] = 0.5, 0.2
    panel.set_config(cfg)  # nobody edited either: both are marked
    marked = panel.invalid_widgets()
    assert s["min_size"] in marked and s["max_size"] in marked


def test_invalid_outline_keeps_the_spin_box_arrows(panel, qtbot):
    from workbench.gui.setup_widgets import is_outlined, mark_invalid

    spin = panel.lr
    panel.scroll.ensureWidgetVisible(spin)
    spin.setValue(0.0)
    assert spin in panel.invalid_widgets()
    assert is_outlined(spin)
    after = spin.grab().toImage()
    mark_invalid(spin, False)  # the same widget, same value, without the outline
    before = spin.grab().toImage()
    mark_invalid(spin, True)
    assert after.size() == before.size()  # no border added around it: nothing moves
    w, h = before.width(), before.height()
    # inside the 3 px outline the widget is drawn exactly as before: arrows, text, frame
    inner_same = all(
        before.pixel(x, y) == after.pixel(x, y) for x in range(4, w - 4, 2) for y in range(4, h - 4, 2)
    )
    assert inner_same
    from PySide6.QtGui import QColor

    red = [QColor(after.pixel(x, 1)) for x in range(6, w - 6, 3)]
    assert all(c.red() > 150 and c.green() < 110 for c in red)  # the outline itself
    spin.setValue(1e-3)
    assert not is_outlined(spin)


def test_banner_never_moves_the_form(panel, qtbot):
    top = panel.scroll.geometry().top()
    height = panel.banner.height()
    panel.lr.setValue(0.0)  # a problem appears
    assert panel.banner.isVisible()
    assert panel.scroll.geometry().top() == top and panel.banner.height() == height
    assert "Learning rate" in panel.banner.text()
    long = "x " * 400
    panel._set_banner(long, "error", link=True)  # a very long message: shortened, whole in the tooltip
    assert panel.banner.height() == height and panel.banner.toolTip() == long
    panel.lr.setValue(1e-3)  # fixed
    assert panel.scroll.geometry().top() == top and panel.banner.height() == height
    assert panel.banner_text().startswith("Ready")


def test_form_limits_come_from_the_config_metadata(panel):
    from workbench.config import field_meta
    from workbench.data.shapes import ShapesOptions

    s = panel.data_section.forms["shapes"].editors
    assert s["min_objects"].minimum() == field_meta(ShapesOptions, "min_objects").ge == 0
    assert s["max_objects"].maximum() == 20
    assert panel.lr.maximum() == 10.0
    # lr > 0 and gamma in (0, 1]: the excluded ends are refused on leaving the field
    assert panel.lr.open_low and panel.gamma.open_low and not panel.gamma.open_high
    assert not panel.weight_decay.open_low and not panel.seed.open_low
    assert panel.input_size.minimum() == 0 and panel.input_size.specialValueText() == "data size"
    assert s["train_size"].toolTip() == field_meta(ShapesOptions, "train_size").help


@pytest.mark.parametrize("depth", [0, 1, 3, 4])
def test_architecture_labels_never_cut(qtbot, depth):
    from PySide6.QtGui import QImage

    from workbench.gui.architecture_view import ArchitectureView

    for names in (
        ["scene", "objects", "masks"],
        ["scene", "objects", "masks", "count", "largest", "present"],
    ):
        view = ArchitectureView()
        qtbot.addWidget(view)
        view.set_architecture(4, depth, names, [64, 128, 256, 2048], [4, 8, 16, 32], 128)
        n = len(names)
        counts = {"per_task": [1_234_567] * n, "head_params": [1] * n, "shared": 17_000, "total": 4_870_000,
                  "independent": 4_920_000, "backbone": 1_180_000, "depth": depth, "num_stages": 4,
                  "stage_params": [1, 2, 3, 4]}  # fmt: skip
        view.set_counts(counts)
        for width in (view.minimumWidth(), view.minimumWidth() + 7, 361, 380, 386, 394, 401, 420):
            view.resize(width, view.height())
            image = QImage(view.size(), QImage.Format.Format_ARGB32)
            view.render(image)
            assert view.elided_texts() == [], (width, names, view.elided_texts())


def test_file_names_in_messages_are_not_taken_for_config_fields(qtbot, window):
    from workbench.config import ConfigError
    from workbench.gui.setup_panel import is_config_path

    assert not any(is_config_path(p) for p in ("data.yaml", "train.txt", "model.pt", "optim.json"))
    assert all(is_config_path(p) for p in ("data.path", "train.epochs", "tasks[2].options.head_width"))
    error = ConfigError(
        "data.path", "cannot use this data: /x/data.yaml: malformed YAML; /x/ImageSets/Main/train.txt, line 1"
    )
    text = window.setup.human_message(error)
    assert "/x/data.yaml: malformed YAML" in text and "/x/ImageSets/Main/train.txt, line 1" in text
    assert "Epochs" in window.setup.human_message(ConfigError("", "see train.epochs"))


def test_every_control_has_help_and_numbers_carry_their_declared_unit(panel):
    """Combo boxes, check boxes and section headers had no tooltip (16 of 77 controls);
    an image size read "128" and the conflict interval "20" without their unit."""
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QWidget

    for section in panel.sections.values():
        section.set_expanded(True)
    missing = []
    for widget in panel.findChildren(QWidget):
        if not isinstance(widget, (QAbstractSpinBox, QLineEdit, QComboBox, QAbstractButton)):
            continue
        if isinstance(widget, QLineEdit) and isinstance(widget.parent(), (QAbstractSpinBox, QComboBox)):
            continue  # the editor inside a spin or combo box
        if widget.isVisibleTo(panel) and not widget.toolTip():
            missing.append(widget.accessibleName() or getattr(widget, "text", lambda: "")())
    assert missing == []
    assert panel.weighting.conflict_form.editors["conflict_every"].suffix() == " steps"
    forms = panel.data_section.forms
    assert forms["shapes"].editors["image_size"].suffix() == " px"
    assert forms["coco"].editors["image_size"].suffix() == " px"


def test_seeds_past_32_bits_are_shown_and_typed_as_the_cli_takes_them(panel, qtbot):
    """Seeds go to 2**32 - 1 (config.SEED_MAX): a QSpinBox stops at 2**31 - 1, so 4294967295
    showed as 0 while the run used 4294967295, and typing it was refused."""
    from PySide6.QtCore import Qt

    from workbench.config import SEED_MAX

    cfg = default_experiment()
    cfg.train.seed = SEED_MAX
    cfg.data.options["data_seed"] = 3_000_000_000
    panel.set_config(cfg)
    assert panel.seed.text() == "4294967295" and panel.seed.maximum() == SEED_MAX
    data_seed = panel.data_section.forms["shapes"].editors["data_seed"]
    assert data_seed.text() == "3000000000" and data_seed.maximum() == SEED_MAX
    assert panel.config().train.seed == SEED_MAX and panel.config().data.options["data_seed"] == 3_000_000_000
    # typed: the largest is kept, one more is refused aloud naming the limit
    panel.seed.lineEdit().selectAll()
    qtbot.keyClicks(panel.seed.lineEdit(), "4294967294")
    qtbot.keyClick(panel.seed.lineEdit(), Qt.Key.Key_Return)
    assert panel.config().train.seed == 4294967294
    panel.seed.lineEdit().selectAll()
    qtbot.keyClicks(panel.seed.lineEdit(), "4294967296")
    qtbot.keyClick(panel.seed.lineEdit(), Qt.Key.Key_Return)
    assert "above the maximum 4294967295" in panel.seed.last_refusal
    assert panel.config().train.seed == 4294967294
    panel.seed.stepBy(1)
    assert panel.config().train.seed == SEED_MAX and isinstance(panel.config().train.seed, int)


def test_form_labels_are_the_declared_ones_that_messages_use(panel):
    """A message names a field by its declared label ("Gamma: must be > 0"): the form's row
    shows that label ("Decay factor" in messages beside "Gamma" in the form before)."""
    from PySide6.QtWidgets import QFormLayout, QLabel

    from workbench.config import path_meta

    labels = {}
    for form in panel.findChildren(QFormLayout):
        for row in range(form.rowCount()):
            label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if label and field and isinstance(label.widget(), QLabel) and field.widget() is not None:
                labels[id(field.widget())] = label.widget().text()
    for path, binding in panel._bindings.items():
        meta = path_meta(path)
        shown = labels.get(id(binding.widget))
        if meta is None or shown is None:
            continue  # check boxes carry their own text; rows made of several widgets
        assert shown == meta.label, path
    assert labels[id(panel.gamma)] == "Gamma" and labels[id(panel.seed)] == "Seed"


def test_a_device_this_machine_lacks_is_refused_before_start(panel):
    """As a run refuses it (training.device.resolve_device): Start was enabled for cuda:3
    on a machine without CUDA, and the run then failed."""
    panel._devices = [("cpu", "CPU")]
    cfg = default_experiment()
    cfg.train.device = "cuda:3"
    panel.set_config(cfg)
    assert not panel.is_valid()
    assert "device 'cuda:3' was asked for but CUDA is not available here" in panel._message
    assert panel.device_combo in panel.invalid_widgets()
    panel._devices = [("cpu", "CPU"), ("cuda:0", "cuda:0 H200 (140 GiB)")]
    panel.set_config(cfg)
    assert "does not exist; this machine has 1 CUDA device(s)" in panel._message
    cfg.train.device = "cuda"
    panel.set_config(cfg)
    assert "device" not in panel._message


def test_what_the_cli_preflight_refuses_disables_start_too(panel, qtbot):
    """32 px images in batches of one: BatchNorm sees one value per channel at the deepest
    stage. `workbench train` refuses it before a run folder exists; the form said "valid"
    and the run was then refused. The same check runs off the GUI thread and marks the field."""
    cfg = default_experiment()
    cfg.tasks = [TaskConfig(name="scene", kind="classification")]
    cfg.data.options.update(image_size=32, train_size=16)
    cfg.train.batch_size = 1
    panel.set_config(cfg)
    qtbot.waitUntil(lambda: not panel.is_valid() and "BatchNorm" in panel._message, timeout=30_000)
    assert panel._message.startswith(
        "Batch size: small_cnn's BatchNorm needs more than one value per channel"
    )
    assert panel.batch_size in panel.invalid_widgets()
    cfg.train.batch_size = 2
    panel.set_config(cfg)
    qtbot.waitUntil(lambda: panel.is_valid(), timeout=30_000)


def test_messages_name_task_options_and_method_parameters_by_their_row_labels(panel):
    """The banner said "classification task option 'hidden'" and "stch parameter 'mu'"
    beside rows labelled "Hidden units" and "Smoothing mu"."""
    cfg = default_experiment()
    cfg.tasks = [TaskConfig(name="scene", kind="classification", options={"hidden": 5000})]
    panel.set_config(cfg)
    assert panel._message.startswith("classification task: Hidden units: "), panel._message
    row = panel._task_sources[0]
    assert row.options.editors["hidden"].accessibleName() == "classification task: Hidden units"
    cfg = default_experiment()
    cfg.weighting.method = "stch"
    cfg.weighting.params = {"mu": 0.0}
    panel.set_config(cfg)
    label = panel.weighting.forms["stch"].label_of("mu")
    assert label != "mu" and panel._message.startswith(f"stch: {label}: "), panel._message


def test_the_input_size_of_several_sources_is_the_first_sources(panel, tmp_path):
    """128 px (the unused top-level shapes default) was shown for sources at 48 px."""
    from workbench.config import DataConfig, SourceConfig

    cfg = default_experiment()
    cfg.data = DataConfig(
        sources=[
            SourceConfig("shapes", "", {"image_size": 48}, [cfg.tasks[0].name]),
            SourceConfig("shapes", "", {"image_size": 48}, [t.name for t in cfg.tasks[1:]]),
        ]
    )
    assert panel._image_size(cfg) == 48
    cfg.model.input_size = 64
    assert panel._image_size(cfg) == 64
