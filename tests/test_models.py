import pytest
import torch

from workbench.data.base import ALL_TARGETS, DataInfo
from workbench.models.backbones import BACKBONES, WeightsUnavailable, build_backbone
from workbench.models.multitask import MultiTaskNet, count_params
from workbench.tasks import TASK_KINDS

INFO = DataInfo(image_size=64, num_classes=3, class_names=("a", "b", "c"), target_keys=ALL_TARGETS)


def make_tasks(kinds=("classification", "segmentation")):
    return [TASK_KINDS.get(k)(f"t{i}", {}, INFO) for i, k in enumerate(kinds)]


@pytest.mark.parametrize("name", BACKBONES.names())
def test_every_backbone_at_every_depth(name):
    entry = BACKBONES.get(name)
    torch.manual_seed(0)
    images = torch.randint(0, 255, (2, 3, 64, 64), dtype=torch.uint8)
    for depth in range(entry.num_stages + 1):
        tasks = make_tasks()
        net = MultiTaskNet(name, tasks, depth)
        out = net(images)
        assert out["t0"].shape == (2, 3)
        assert out["t1"].shape == (2, 4, 64, 64)
        (out["t0"].float().mean() + out["t1"].float().mean()).backward()
        # every parameter on some task's path got a gradient
        assert all(p.grad is not None for p in net.parameters())
        counts = net.param_counts()
        assert counts["total"] == count_params(net)
        assert counts["total"] == counts["shared"] + sum(counts["per_task"].values())
        if depth == 0:
            assert counts["shared"] == 0
            assert counts["total"] == counts["independent"]
        if depth == entry.num_stages:
            assert counts["shared"] == counts["backbone"]
            assert counts["total"] < counts["independent"]


def test_stages_have_increasing_strides():
    for name in ("small_cnn", "resnet18", "mobilenet_v3_small"):
        trunk = build_backbone(name)
        assert trunk.strides == [4, 8, 16, 32]
        assert len(trunk.channels) == BACKBONES.get(name).num_stages


def test_shared_stages_are_computed_once():
    calls = []
    net = MultiTaskNet("small_cnn", make_tasks(("classification", "counting", "multilabel")), 2)
    net.shared[0].register_forward_hook(lambda *a: calls.append(1))
    net(torch.zeros(1, 3, 64, 64, dtype=torch.uint8))
    assert len(calls) == 1
    assert len(net.branches["t0"]) == 2


def test_pretrained_fails_fast_and_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailable, match="not in torchvision's cache"):
        build_backbone("resnet18", pretrained="imagenet")
    with pytest.raises(WeightsUnavailable, match="no ImageNet weights"):
        build_backbone("small_cnn", pretrained="imagenet")
    with pytest.raises(WeightsUnavailable, match="no file at"):
        build_backbone("resnet18", pretrained="file", weights_file=str(tmp_path / "none.pth"))
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsUnavailable, match="not a PyTorch tensor file, or it is corrupt"):
        build_backbone("resnet18", pretrained="file", weights_file=str(corrupt))


def test_local_weights_file_loads(tmp_path):
    import torchvision

    torch.manual_seed(1)
    source = torchvision.models.resnet18(weights=None)
    path = tmp_path / "r18.pth"
    torch.save({"state_dict": source.state_dict()}, path)
    trunk = build_backbone("resnet18", pretrained="file", weights_file=str(path))
    assert torch.equal(trunk.stages[1][0].conv1.weight, source.layer2[0].conv1.weight)


def test_imagenet_cache_is_used_when_present(tmp_path, monkeypatch):
    """A file in torchvision's cache is loaded (we plant one; nothing downloads)."""
    import torchvision

    from workbench.models.backbones import imagenet_cache_path

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = imagenet_cache_path("resnet18")
    path.parent.mkdir(parents=True)
    torch.manual_seed(2)
    source = torchvision.models.resnet18(weights=None)
    torch.save(source.state_dict(), path)
    trunk = build_backbone("resnet18", pretrained="imagenet")
    assert torch.equal(trunk.stages[3][0].conv1.weight, source.layer4[0].conv1.weight)
