"""Why the pooled heads changed (issue 6, item 19): a ReLU MLP on pooled features loses its units."""

from __future__ import annotations

import torch
from torch import nn

from workbench.tasks.heads import PooledHead


def pooled_like_an_untrained_trunk(n: int, gen: torch.Generator) -> torch.Tensor:
    """Post-ReLU, globally pooled features: positive, and nearly the same for every image."""
    base = torch.rand(256, generator=gen) * 0.6 + 0.2
    return (base + 0.05 * torch.randn(n, 256, generator=gen)).clamp(min=0)


def alive_after_warmup(head: nn.Module, first_linear: nn.Linear, normalise) -> float:
    """Train on labels the features cannot explain yet (as before the trunk learns), with
    AdamW and the default 50-step warm-up to 2e-3; return the share of hidden units whose
    pre-activation is positive for at least one of 512 inputs."""
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW(head.parameters(), lr=2e-3)
    for step in range(150):
        for group in opt.param_groups:
            group["lr"] = 2e-3 * min(1.0, (step + 1) / 50)
        x = pooled_like_an_untrained_trunk(32, gen)[:, :, None, None]
        y = torch.randint(0, 4, (32,), generator=gen)
        loss = nn.functional.cross_entropy(head([x]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    probe = pooled_like_an_untrained_trunk(512, gen)
    with torch.no_grad():
        pre = first_linear(normalise(probe))
    return float((pre > 0).any(dim=0).float().mean())


class PlainHead(nn.Module):
    """The head before the fix: pool, Linear, ReLU, Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 4))

    def forward(self, features):
        return self.mlp(features[-1].mean(dim=(2, 3)))


def test_plain_mlp_head_dies_and_the_hidden_option_does_not():
    torch.manual_seed(1)
    plain = PlainHead()
    dead_share = 1 - alive_after_warmup(plain, plain.mlp[0], lambda x: x)
    assert dead_share > 0.9  # the failure of the old head: nearly every unit is dead
    torch.manual_seed(1)
    head = PooledHead(256, 4, hidden=256)
    norm, first = head.mlp[0], head.mlp[1]
    assert alive_after_warmup(head, first, norm) > 0.7  # centred inputs: no coherent drift


def test_default_pooled_head_is_linear_on_the_pooled_feature():
    head = PooledHead(32, 5)
    assert isinstance(head.mlp, nn.Identity) and head.out.in_features == 32
    features = [torch.randn(3, 8, 16, 16), torch.randn(3, 32, 4, 4)]
    expected = head.out(features[-1].mean(dim=(2, 3)))
    assert torch.allclose(head(features), expected)


def test_pooled_head_shapes_and_dtype():
    head = PooledHead(32, 5, hidden=16)
    out = head([torch.randn(3, 8, 16, 16), torch.randn(3, 32, 4, 4).half()])
    assert out.shape == (3, 5) and out.dtype == torch.float32
