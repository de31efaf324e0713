"""``workbench weights``: where ImageNet files are expected, and whether they load and fit."""

from __future__ import annotations

import torch

from workbench.cli import main


def test_weights_report_finds_checks_and_explains(tmp_path, monkeypatch, capsys):
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    from workbench.models.backbones import imagenet_cache_path
    from workbench.models.weights_report import weights_status

    good = imagenet_cache_path("resnet18")
    assert good.parent == tmp_path / "hub" / "checkpoints"
    good.parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), good)
    imagenet_cache_path("resnet34").write_bytes(b"not a checkpoint")
    rows = {r.backbone: r for r in weights_status()}
    assert rows["resnet18"].state == "ok" and rows["resnet18"].matched == rows["resnet18"].total > 100
    assert rows["resnet34"].state.startswith("ImageNet weights:") and "\n" not in rows["resnet34"].state
    assert rows["resnet50"].state == "missing" and rows["resnet50"].path.endswith(".pth")
    assert rows["small_cnn"].state == "no ImageNet weights"
    assert main(["weights"]) == 0
    out = capsys.readouterr().out
    assert "resnet18" in out and "ok (" in out and "never downloads" in out
