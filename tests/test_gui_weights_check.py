"""The setup checks a chosen weights file when it is chosen: the banner said "Ready" for a
text file named .pt, a pickled module or a state dict of another network, and only Start
refused them."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("text", "is not a PyTorch tensor file"),
        ("other", "no tensor in"),
        ("good", ""),
    ],
)
def test_a_weights_file_is_judged_when_chosen(window, qtbot, tmp_path, kind, words):
    import torch

    from workbench.models.backbones import BACKBONES

    path = tmp_path / "weights.pt"
    if kind == "text":
        path.write_text("not a checkpoint\n")
    elif kind == "other":
        torch.save({"foo.weight": torch.zeros(3, 3)}, path)
    else:
        torch.save(BACKBONES.get("small_cnn").build_model().state_dict(), path)
    cfg = window.setup.config()
    cfg.model.backbone = "small_cnn"
    cfg.model.pretrained = "file"
    cfg.model.weights_file = str(path)
    window.setup.set_config(cfg)
    if words:
        qtbot.waitUntil(lambda: not window.setup.is_valid(), timeout=20_000)
        message = window.setup.error_message()
        assert "weights" in message.lower() and words in message, message
    else:
        qtbot.waitUntil(lambda: not window.setup._weights_job.busy(), timeout=20_000)
        qtbot.wait(50)
        assert window.setup.is_valid(), window.setup.error_message()
