"""Backbone registry: each backbone is an ordered list of stages with channels and strides.

The sharing depth of ``MultiTaskNet`` indexes these stages. torchvision models are cut at
the points where their output stride changes; the first stage always ends at stride 4 so
dense heads have a high-resolution feature. Everything builds with ``weights=None``;
ImageNet weights come only from torchvision's local cache (never downloaded) and a local
file loads with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from workbench.registry import Registry


class WeightsUnavailable(RuntimeError):
    """Pretrained weights were asked for but cannot be loaded (offline, missing, mismatched)."""


@dataclass(frozen=True)
class BackboneEntry:
    name: str
    num_stages: int
    description: str
    build_model: Callable[[], nn.Module]  # the full model with random weights
    cut: Callable[[nn.Module], list[nn.Module]]  # the model's trunk as ordered stages
    torchvision_name: str = ""  # for ImageNet weights from torchvision's cache


@dataclass
class Backbone:
    stages: list[nn.Module]
    channels: list[int]
    strides: list[int]
    # (tensors loaded, tensors of the full model) from pretrained weights; None without
    loaded: tuple[int, int] | None = None


BACKBONES: Registry[BackboneEntry] = Registry("backbone")


class BackboneError(ValueError):
    """A registered backbone whose entry does not describe what it builds: a stage count
    other than its cut's, or a stage that does not output an (N, C, H, W) feature map."""


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class SmallCNN(nn.Module):
    """A fast 4-stage plain CNN (strides 4, 8, 16, 32); the CPU default."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 256)) -> None:
        super().__init__()
        w0, w1, w2, w3 = widths
        self.stages = nn.ModuleList(
            [
                nn.Sequential(_conv(3, 24, 2), _conv(24, w0, 2), _conv(w0, w0)),
                nn.Sequential(_conv(w0, w1, 2), _conv(w1, w1)),
                nn.Sequential(_conv(w1, w2, 2), _conv(w2, w2)),
                nn.Sequential(_conv(w2, w3, 2), _conv(w3, w3)),
            ]
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def _cut_small_cnn(model: nn.Module) -> list[nn.Module]:
    return list(model.stages)


def _cut_resnet(model: nn.Module) -> list[nn.Module]:
    stem = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool, model.layer1)
    return [stem, model.layer2, model.layer3, model.layer4]


def _cut_by_stride(blocks: list[nn.Module], probe: int = 64) -> list[nn.Module]:
    """Group consecutive blocks into stages that each end at a new output stride (>= 4)."""
    x = torch.zeros(1, 3, probe, probe)
    groups: list[list[nn.Module]] = []
    current: list[nn.Module] = []
    stride = 1
    with torch.no_grad():
        for block in blocks:
            was_training = block.training
            block.eval()
            y = block(x)
            block.train(was_training)
            new_stride = probe // y.shape[-1]
            if new_stride != stride and stride >= 4 and current:
                groups.append(current)
                current = []
            current.append(block)
            stride, x = new_stride, y
    groups.append(current)
    return [nn.Sequential(*g) if len(g) > 1 else g[0] for g in groups]


def _cut_features(model: nn.Module) -> list[nn.Module]:
    return _cut_by_stride(list(model.features))


def _torchvision(name: str) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        import torchvision

        return torchvision.models.get_model(name, weights=None)

    return build


def _register(entry: BackboneEntry) -> None:
    BACKBONES.register(entry.name)(entry)


_register(
    BackboneEntry("small_cnn", 4, "4-stage plain CNN, 1.2M params (fast on CPU)", SmallCNN, _cut_small_cnn)
)
for _name, _desc in (
    ("resnet18", "ResNet-18, 11M params"),
    ("resnet34", "ResNet-34, 21M params"),
    ("resnet50", "ResNet-50, 24M params"),
):
    _register(BackboneEntry(_name, 4, _desc, _torchvision(_name), _cut_resnet, _name))
for _name, _stages, _desc in (
    ("mobilenet_v3_small", 4, "MobileNetV3-Small, 0.9M params"),
    ("mobilenet_v3_large", 4, "MobileNetV3-Large, 3.0M params"),
    ("efficientnet_b0", 4, "EfficientNet-B0, 4.0M params"),
    ("convnext_tiny", 4, "ConvNeXt-Tiny, 28M params"),
):
    _register(BackboneEntry(_name, _stages, _desc, _torchvision(_name), _cut_features, _name))


def imagenet_cache_path(torchvision_name: str) -> Path:
    """Where torchvision's cache keeps the default ImageNet weights of a model."""
    import torchvision

    weights = torchvision.models.get_model_weights(torchvision_name).DEFAULT
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def imagenet_available(name: str) -> bool:
    entry = BACKBONES.get(name)
    return bool(entry.torchvision_name) and imagenet_cache_path(entry.torchvision_name).is_file()


def _load_state(path: Path, what: str) -> dict[str, torch.Tensor]:
    from workbench.safe_load import LoadError, safe_torch_load

    try:
        state = safe_torch_load(path)
    except LoadError as exc:
        raise WeightsUnavailable(f"{what}: {exc}") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise WeightsUnavailable(f"{what}: {path} holds no state dict")
    tensors = {
        k.removeprefix("module."): v for k, v in state.items() if isinstance(k, str) and torch.is_tensor(v)
    }
    if not tensors:
        raise WeightsUnavailable(f"{what}: {path} holds no tensors")
    return tensors


def _apply_state(model: nn.Module, state: dict[str, torch.Tensor], what: str, path: Path) -> tuple[int, int]:
    """Load the tensors of ``state`` that match ``model``'s by name and shape; returns
    (tensors loaded, tensors of the model). Raises WeightsUnavailable when none match."""
    own = model.state_dict()
    matched = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not matched:
        raise WeightsUnavailable(f"{what}: no tensor in {path} matches the model's layers")
    model.load_state_dict(matched, strict=False)
    return len(matched), len(own)


def build_backbone(name: str, pretrained: str = "none", weights_file: str = "") -> Backbone:
    """Build backbone ``name`` cut into stages, optionally with pretrained weights."""
    entry = BACKBONES.get(name)
    try:
        model = entry.build_model()
    except Exception as exc:  # an extension's builder: name it (torch's words alone did not)
        raise BackboneError(
            f"backbone {name!r}: building the model failed: {type(exc).__name__}: {exc}"
        ) from exc
    if pretrained == "imagenet":
        if not entry.torchvision_name:
            raise WeightsUnavailable(
                f"backbone {name!r} has no ImageNet weights; use pretrained = 'none' or 'file'"
            )
        path = imagenet_cache_path(entry.torchvision_name)
        if not path.is_file():
            raise WeightsUnavailable(
                f"ImageNet weights for {name} are not in torchvision's cache ({path}) and this app never "
                "downloads at run time; copy the file there, or choose pretrained = 'file' or 'none'"
            )
        loaded = _apply_state(
            model, _load_state(path, f"ImageNet weights for {name}"), f"ImageNet weights for {name}", path
        )
    elif pretrained == "file":
        path = Path(weights_file).expanduser()
        loaded = _apply_state(model, _load_state(path, "model.weights_file"), "model.weights_file", path)
    else:
        loaded = None
    try:
        stages = list(entry.cut(model))
    except Exception as exc:
        raise BackboneError(f"backbone {name!r}: its cut failed: {type(exc).__name__}: {exc}") from exc
    if not all(isinstance(stage, nn.Module) for stage in stages):
        kinds = ", ".join(type(stage).__name__ for stage in stages)
        raise BackboneError(f"backbone {name!r}: its cut must return a list of nn.Module stages, got {kinds}")
    if len(stages) != entry.num_stages:
        # the setup, the sweeps and config validation offer sharing depths 0..num_stages
        raise BackboneError(
            f"backbone {name!r} declares {entry.num_stages} stages but its cut gives {len(stages)}; "
            "make its BackboneEntry's num_stages match"
        )
    channels, strides = probe_stages(stages, name=name)
    return Backbone(stages, channels, strides, loaded)


def probe_stages(stages: list[nn.Module], size: int = 64, name: str = "") -> tuple[list[int], list[int]]:
    """Output channels and strides of each stage, measured with a dummy forward pass.

    Raises BackboneError naming the backbone ``name`` and the stage when a stage does not
    output a 4-d (N, C, H, W) feature map (a trunk that ends in pooling or a flatten)."""
    x = torch.zeros(1, 3, size, size)
    channels, strides = [], []
    with torch.no_grad():
        for number, stage in enumerate(stages, start=1):
            was_training = stage.training
            stage.eval()
            try:
                x = stage(x)
            except Exception as exc:  # channels of one stage not those of the next, say
                given = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
                raise BackboneError(
                    f"backbone {name or '?'!r}: stage {number} failed on an input of shape {given}: "
                    f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                ) from exc
            finally:
                stage.train(was_training)
            if not isinstance(x, torch.Tensor) or x.dim() != 4:
                got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
                raise BackboneError(
                    f"backbone {name or '?'!r}: stage {number} outputs {got} for a 1x3x{size}x{size} "
                    "image; every stage must output a feature map (N, C, H, W) (cut off pooling and "
                    "flatten layers)"
                )
            channels.append(int(x.shape[1]))
            strides.append(size // int(x.shape[-1]))
    return channels, strides
