"""Check an exported model against the PyTorch model it came from, on real images."""

from __future__ import annotations

import numpy as np
import torch

from workbench.export.formats import Runner
from workbench.export.graph import flatten, output_names

TOLERANCE = 1e-3  # largest absolute difference of any raw output accepted


def reference_outputs(model: torch.nn.Module, images: torch.Tensor) -> dict[str, np.ndarray]:
    """The eager float32 outputs of ``model`` (eval, CPU) for ``images`` (B, 3, H, W), by name."""
    with torch.no_grad():
        outputs = model(images.float())
    return {
        n: t.detach().cpu().float().numpy()
        for n, t in zip(output_names(outputs), flatten(outputs), strict=True)
    }


def max_differences(
    run: Runner, model: torch.nn.Module, images: torch.Tensor, batch: int
) -> dict[str, float]:
    """Largest absolute difference per output between ``run`` (the exported model) and the
    eager model, over ``images`` fed ``batch`` at a time. Raises ValueError when the export
    returns an output of another shape than PyTorch's."""
    worst: dict[str, float] = {}
    for start in range(0, len(images), batch):
        chunk = images[start : start + batch]
        expected = reference_outputs(model, chunk)
        got = run(chunk)
        for name, want in expected.items():
            have = np.asarray(got[name])
            if have.shape != want.shape:
                raise ValueError(f"output {name!r} has shape {have.shape}, PyTorch gives {want.shape}")
            diff = (
                float(np.max(np.abs(have.astype(np.float64) - want.astype(np.float64)))) if want.size else 0.0
            )
            worst[name] = max(worst.get(name, 0.0), diff)
    return worst
