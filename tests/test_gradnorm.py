"""GradNorm (Chen et al. 2018): the weights' gradient and the renormalisation, by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from workbench.weighting import WEIGHTINGS
from workbench.weighting.base import BackwardContext


def _toy():
    """One shared scalar θ = 1; L_a = 1.5 θ² - 0.5 (= 1, |dL/dθ| = 3), L_b = 0.5 θ² + 1.5 (= 2, 1)."""
    shared = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        shared.weight.fill_(1.0)
    theta = shared.weight[0, 0]
    losses = {"a": 1.5 * theta**2 - 0.5, "b": 0.5 * theta**2 + 1.5}
    ctx = BackwardContext(shared_params=[shared.weight], shared_modules=[shared], task_params={})
    return shared, losses, ctx


def test_weight_gradient_and_model_gradient_by_hand():
    gradnorm = WEIGHTINGS.get("gradnorm")(["a", "b"], {}, {})
    gradnorm.initial = {"a": 2.0, "b": 2.0}  # L(0)
    shared, losses, ctx = _toy()
    total, weights = gradnorm.backward(losses, ctx)
    # L~ = (0.5, 1), r = (2/3, 4/3); G = (3, 1), mean 2; targets 2 r^1.5 = (1.089, 3.079)
    # dL_grad/dw = (sign(3 - 1.089) 3, sign(1 - 3.079) 1) = (3, -1)
    assert gradnorm.w.grad.tolist() == pytest.approx([3.0, -1.0])
    assert weights == {"a": 1.0, "b": 1.0} and total == pytest.approx(3.0)
    assert shared.weight.grad.item() == pytest.approx(3.0 + 1.0)  # d(L_a + L_b)/dθ


def test_alpha_zero_equalises_norms_and_weights_renormalise_to_T():
    gradnorm = WEIGHTINGS.get("gradnorm")(["a", "b"], {"alpha": 0.0}, {})
    with torch.no_grad():
        gradnorm.w.copy_(torch.tensor([3.0, 1.0]))  # renormalised to sum 2: (1.5, 0.5)
    shared, losses, ctx = _toy()
    _, weights = gradnorm.backward(losses, ctx)
    assert weights == pytest.approx({"a": 1.5, "b": 0.5})
    # G = (1.5·3, 0.5·1) = (4.5, 0.5), target = mean = 2.5: signs (+, -) -> (3, -1)
    assert gradnorm.w.grad.tolist() == pytest.approx([3.0, -1.0])
    assert shared.weight.grad.item() == pytest.approx(1.5 * 3 + 0.5 * 1)
    assert gradnorm.initial == pytest.approx({"a": 1.0, "b": 2.0})  # the first step's losses


def test_depth_zero_sums_the_losses():
    gradnorm = WEIGHTINGS.get("gradnorm")(["a", "b"], {}, {})
    _, losses, _ = _toy()
    total, weights = gradnorm.backward(
        losses, BackwardContext(shared_params=[], shared_modules=[], task_params={})
    )
    assert total == pytest.approx(3.0) and weights == {"a": 1.0, "b": 1.0}
    assert gradnorm.w.grad is None
