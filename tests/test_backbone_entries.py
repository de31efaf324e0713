"""A backbone entry that does not describe what it builds (an extension's mistake) is
refused when it is built, naming the backbone and what to fix: a declared stage count
other than its cut's (the setup and config validation offer depths 0..num_stages), or a
stage that outputs no (N, C, H, W) feature map."""

from __future__ import annotations

import pytest
from torch import nn

from workbench.models.backbones import BACKBONES, BackboneEntry, BackboneError, build_backbone


def _two_convs() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.Conv2d(8, 16, 3, 2, 1), nn.Flatten())


def test_declared_stage_count_must_match_the_cut(monkeypatch):
    entry = BackboneEntry("two", 6, "", _two_convs, lambda m: [m[0], m[1]])
    monkeypatch.setitem(BACKBONES._items, "two", entry)
    with pytest.raises(BackboneError) as info:
        build_backbone("two")
    assert str(info.value) == (
        "backbone 'two' declares 6 stages but its cut gives 2; make its BackboneEntry's num_stages match"
    )
    monkeypatch.setitem(
        BACKBONES._items, "two", BackboneEntry("two", 2, "", _two_convs, lambda m: [m[0], m[1]])
    )
    trunk = build_backbone("two")
    assert trunk.channels == [8, 16] and trunk.strides == [2, 4]  # 64 px -> 32 -> 16


def test_a_stage_without_a_feature_map_is_named(monkeypatch):
    entry = BackboneEntry("flat", 2, "", _two_convs, lambda m: [m[0], nn.Sequential(m[1], m[2])])
    monkeypatch.setitem(BACKBONES._items, "flat", entry)
    with pytest.raises(
        BackboneError, match=r"^backbone 'flat': stage 2 outputs \(1, 4096\) for a 1x3x64x64 image"
    ):
        build_backbone("flat")


def test_the_cli_says_it_in_one_line(monkeypatch, capsys, tmp_path):
    from conftest import tiny_config

    from workbench.cli import main
    from workbench.experiment_check import save_config

    entry = BackboneEntry("two", 3, "", _two_convs, lambda m: [m[0], m[1]])
    monkeypatch.setitem(BACKBONES._items, "two", entry)
    cfg = tiny_config()
    cfg.model.backbone = "two"
    save_config(cfg, tmp_path / "exp.toml")
    assert main(["train", str(tmp_path / "exp.toml"), "--out", str(tmp_path / "runs"), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert (
        err
        == "error: backbone 'two' declares 3 stages but its cut gives 2; make its BackboneEntry's num_stages match"
    )
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # no run folder


@pytest.mark.parametrize(
    ("build", "cut", "said"),
    [
        (
            lambda: (_ for _ in ()).throw(RuntimeError("no weights")),
            lambda m: [],
            "building the model failed: RuntimeError: no weights",
        ),
        (
            _two_convs,
            lambda m: [m[0], print],
            "its cut must return a list of nn.Module stages, got Conv2d, builtin_function_or_method",
        ),
        (_two_convs, lambda m: None, "its cut failed: TypeError: 'NoneType' object is not iterable"),
        (
            _two_convs,
            lambda m: [m[1], m[0]],
            "stage 1 failed on an input of shape (1, 3, 64, 64): RuntimeError: ",
        ),
    ],
)
def test_a_backbone_that_cannot_be_built_is_named(monkeypatch, build, cut, said):
    monkeypatch.setitem(BACKBONES._items, "odd", BackboneEntry("odd", 2, "", build, cut))
    with pytest.raises(BackboneError) as info:
        build_backbone("odd")
    assert str(info.value).startswith(f"backbone 'odd': {said}")
