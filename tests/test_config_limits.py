"""Every config number is finite and bounded; names are safe folder names (issue 6, items 3, 22, 26)."""

from __future__ import annotations

import dataclasses
import math
import typing

import pytest
import tomli_w

from workbench.config import (
    SEED_MAX,
    ConfigError,
    ExperimentConfig,
    default_experiment,
    field_meta,
    to_dict,
)
from workbench.data import DATASETS
from workbench.experiment_check import config_from_toml_text, field_label, load_config, validate_experiment
from workbench.tasks import TASK_KINDS
from workbench.weighting import WEIGHTINGS


def numeric_fields(cls, path=""):
    """(dotted path, field, type) of every int/float field of a config dataclass, recursively."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        where = f"{path}.{f.name}" if path else f.name
        if dataclasses.is_dataclass(tp):
            yield from numeric_fields(tp, where)
        elif tp in (int, float):
            yield where, f, tp


CONFIG_NUMBERS = list(numeric_fields(ExperimentConfig))
OPTION_NUMBERS = [
    (kind, name, f, tp)
    for kind in TASK_KINDS.names()
    for name, f, tp in numeric_fields(TASK_KINDS.get(kind).Options)
]
SOURCE_NUMBERS = [
    (source, name, f, tp)
    for source in DATASETS.names()
    for name, f, tp in numeric_fields(DATASETS.get(source).Options)
]
PARAM_NUMBERS = [
    (method, name, f, tp)
    for method in WEIGHTINGS.names()
    for name, f, tp in numeric_fields(WEIGHTINGS.get(method).Params)
]


def with_value(dotted: str, value) -> str:
    """The default experiment as TOML with one field replaced."""
    data = to_dict(default_experiment())
    *parents, leaf = dotted.split(".")
    node = data
    for p in parents:
        node = node[p]
    node[leaf] = value
    return tomli_w.dumps(data)


def test_there_are_many_numbers_to_check():
    assert len(CONFIG_NUMBERS) >= 18
    assert len(OPTION_NUMBERS) >= 10
    assert len(SOURCE_NUMBERS) >= 11 + 5 * 7  # shapes and every image-set source


@pytest.mark.parametrize(("source", "name", "f", "tp"), SOURCE_NUMBERS, ids=lambda v: str(v))
def test_data_source_options_are_finite_and_bounded(source, name, f, tp):
    meta = field_meta(DATASETS.get(source).Options, f.name)
    assert meta.le is not None or meta.lt is not None
    path = "" if source == "shapes" else "some/folder"
    base = f"[data]\nsource = '{source}'\npath = '{path}'\n[data.options]\n"
    base_tasks = "[[tasks]]\nname = 't'\nkind = 'classification'\n"
    if tp is float:
        with pytest.raises(ConfigError) as info:
            config_from_toml_text(base + f"{name} = nan\n" + base_tasks)
        assert info.value.path == f"data.options.{name}"
    high = meta.le if meta.le is not None else meta.lt
    too_big = int(high) + 1 if tp is int else float(high) * 2 + 1
    with pytest.raises(ConfigError) as info:
        config_from_toml_text(base + f"{name} = {too_big}\n" + base_tasks)
    assert info.value.path == f"data.options.{name}"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    ("dotted", "f", "tp"), [n for n in CONFIG_NUMBERS if n[2] is float], ids=lambda v: str(v)
)
def test_every_float_field_refuses_non_finite(dotted, f, tp, bad):
    with pytest.raises(ConfigError) as info:
        config_from_toml_text(with_value(dotted, bad))
    assert info.value.path == dotted
    assert "finite" in info.value.message


@pytest.mark.parametrize(("dotted", "f", "tp"), CONFIG_NUMBERS, ids=lambda v: str(v))
def test_every_number_has_an_upper_bound(dotted, f, tp):
    meta = field_meta(type_of(dotted), f.name)
    if dotted == "model.sharing_depth":  # bounded by the backbone's stage count, checked below
        return
    assert meta.le is not None or meta.lt is not None, dotted
    high = meta.le if meta.le is not None else meta.lt
    too_big = int(high) + 1 if tp is int else high * 2 + 1
    with pytest.raises(ConfigError) as info:
        config_from_toml_text(with_value(dotted, too_big))
    assert info.value.path == dotted


def type_of(dotted: str):
    cls = ExperimentConfig
    for part in dotted.split(".")[:-1]:
        cls = typing.get_type_hints(cls)[part]
    return cls


@pytest.mark.parametrize(("kind", "name", "f", "tp"), OPTION_NUMBERS, ids=lambda v: str(v))
def test_task_options_are_finite_and_bounded(kind, name, f, tp):
    meta = field_meta(TASK_KINDS.get(kind).Options, f.name)
    assert meta.le is not None or meta.lt is not None
    base = "[[tasks]]\nname = 't'\nkind = '" + kind + "'\n[tasks.options]\n"
    if tp is float:
        with pytest.raises(ConfigError) as info:
            config_from_toml_text(base + f"{name} = nan\n")
        assert info.value.path == f"tasks[0].options.{name}"
    high = meta.le if meta.le is not None else meta.lt
    too_big = int(high) + 1 if tp is int else float(high) * 2 + 1
    with pytest.raises(ConfigError) as info:
        config_from_toml_text(base + f"{name} = {too_big}\n")
    assert info.value.path == f"tasks[0].options.{name}"


@pytest.mark.parametrize(("method", "name", "f", "tp"), PARAM_NUMBERS, ids=lambda v: str(v))
def test_weighting_params_are_finite_and_bounded(method, name, f, tp):
    base = (
        "[[tasks]]\nname = 't'\nkind = 'counting'\n[weighting]\nmethod = '"
        + method
        + "'\n[weighting.params]\n"
    )
    with pytest.raises(ConfigError) as info:
        config_from_toml_text(base + f"{name} = inf\n")
    assert info.value.path == f"weighting.params.{name}"


def test_nan_set_in_code_is_refused_too():
    # The GUI builds configs in code, not from TOML: the same check applies.
    cfg = default_experiment()
    cfg.optim.weight_decay = math.nan
    with pytest.raises(ConfigError) as info:
        validate_experiment(cfg)
    assert info.value.path == "optim.weight_decay"
    cfg = default_experiment()
    cfg.train.time_limit_s = math.nan
    with pytest.raises(ConfigError, match="train.time_limit_s: must be a finite number"):
        validate_experiment(cfg)
    cfg = default_experiment()
    cfg.tasks[1].options = {"heatmap_weight": math.inf}
    with pytest.raises(ConfigError, match=r"tasks\[1\].options.heatmap_weight"):
        validate_experiment(cfg)


@pytest.mark.parametrize(
    ("dotted", "value"),
    [
        ("train.seed", SEED_MAX + 1),
        ("train.seed", -1),
        ("data.options.data_seed", 2**63 - 1),
        ("data.options.train_size", 10**12),
        ("data.options.val_size", 10**12),
        ("optim.lr", 1e30),
        ("train.epochs", 10**9),
        ("optim.grad_clip", -1.0),
    ],
)
def test_examples_from_the_issue(dotted, value):
    with pytest.raises(ConfigError) as info:
        config_from_toml_text(with_value(dotted, value))
    assert info.value.path == dotted


def test_largest_seed_is_accepted():
    cfg = config_from_toml_text(with_value("train.seed", SEED_MAX))
    assert cfg.train.seed == SEED_MAX


def test_min_objects_zero_is_allowed():
    cfg = config_from_toml_text(with_value("data.options.min_objects", 0))
    assert cfg.data.options["min_objects"] == 0


@pytest.mark.parametrize(
    "name",
    ["../x", "a/b", "..", ".", ".hidden", "a\\b", "x" * 101, "", " ", "con trol", "tab\tname", "é"],
)
def test_unsafe_experiment_names_are_refused(name):
    with pytest.raises(ConfigError) as info:
        config_from_toml_text(with_value("name", name))
    assert info.value.path == "name"


def test_nul_in_a_name_is_refused():
    cfg = default_experiment()
    cfg.name = "a\x00b"
    with pytest.raises(ConfigError) as info:
        validate_experiment(cfg)
    assert info.value.path == "name"


@pytest.mark.parametrize("name", ["shapes-cls-det-seg", "run_1", "v1.2", "a+b", "X" * 100])
def test_safe_names_pass(name):
    assert config_from_toml_text(with_value("name", name)).name == name


def test_non_utf8_config_names_the_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes("name = 'caf\xe9'\n".encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert "UTF-8" in str(info.value)


def test_labels_for_messages():
    assert field_label("optim.lr") == "Learning rate"
    assert field_label("tasks[2].name") == "Task 3: Task name"
    assert field_label("data.options.min_objects") == "Fewest objects"
    assert field_label("tasks[0].options.hidden") == "Task 1: option 'hidden'"
    assert field_label("no.such.path") == "no"


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("-", "it starts with '-'; the first character must be an ASCII letter or digit"),
        ("..", "it starts with '.'; the first character must be an ASCII letter or digit"),
        ("_x", "it starts with '_'; the first character must be an ASCII letter or digit"),
        ("a/b", "'/' is not allowed"),
        (".a b", "' ' is not allowed"),
        ("тест", "'т' is not allowed"),
        ("café", "'é' is not allowed"),
    ],
)
def test_a_refused_name_says_the_rule_it_breaks(name, why):
    """A name of allowed characters is refused for its first one: the message says so,
    never that an allowed character is not allowed."""
    with pytest.raises(ConfigError) as info:
        config_from_toml_text(with_value("name", name))
    assert f"({why})" in info.value.message
    # 'т' is a letter: the rule names the letters it means
    assert "use ASCII letters, digits" in info.value.message


def test_the_sweep_dialogs_seeds_follow_the_seed_fields_limits(qtbot, tmp_path):
    from conftest import tiny_config

    from workbench.gui.sweep_dialog import SweepDialog
    from workbench.weighting import WEIGHTINGS

    dialog = SweepDialog(tiny_config(), 4, list(WEIGHTINGS.names()), tmp_path)
    qtbot.addWidget(dialog)
    dialog.seeds.setText("0, 1")
    assert dialog.ok.isEnabled()
    for bad in ("-5", f"0, {SEED_MAX + 1}", "99999999999999999999999"):
        dialog.seeds.setText(bad)
        assert not dialog.ok.isEnabled(), bad
        assert dialog.count.text().startswith("Seeds: must be"), dialog.count.text()
    dialog.seeds.setText(f"0, {SEED_MAX}")
    assert dialog.ok.isEnabled()


def test_the_sweep_dialog_checks_what_the_sweep_checks_before_writing_anything(qtbot, tmp_path):
    """Name "ünï" or "..", or no seeds, enabled "Run sweep"; the sweep then refused them
    (exit 2) after the dialog had written ünï.toml or a hidden ...toml into runs/sweeps/."""
    import tomllib
    from conftest import tiny_config

    from workbench.gui.sweep_dialog import SweepDialog
    from workbench.weighting import WEIGHTINGS

    dialog = SweepDialog(tiny_config(), 4, list(WEIGHTINGS.names()), tmp_path)
    qtbot.addWidget(dialog)
    for typed, expected in (("ünï", "n"), ("..", "sweep"), ("../x y", "x-y"), ("ok-1", "ok-1")):
        dialog.name.setText(typed)
        assert dialog.sweep_name() == expected, typed
        assert dialog.ok.isEnabled()
    dialog.name.setText("x" * 300)
    assert not dialog.ok.isEnabled() and dialog.count.text().startswith("Name: must be at most")
    dialog.name.setText("..")
    dialog.seeds.setText("")
    assert dialog.ok.isEnabled() and "as 'sweep'" in dialog.count.text()
    assert not (tmp_path / "sweeps").exists()  # nothing written while choosing
    path = dialog.sweep_file()
    data = tomllib.loads(path.read_text())
    assert path.name == "sweep.toml" and "seeds" not in data  # the base's seed: not an empty list
    assert sorted(p.name for p in (tmp_path / "sweeps").iterdir()) == ["sweep.base.toml", "sweep.toml"]
