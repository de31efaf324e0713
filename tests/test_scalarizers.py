"""torchjd's scalarizers as loss weightings: totals and reported weights by hand."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.weighting import WEIGHTINGS


def _losses(a=1.0, b=4.0):
    x = torch.tensor([a, b], requires_grad=True)
    return {"a": x[0] * 1.0, "b": x[1] * 1.0}


def test_geometric_mean_total_and_weights():
    w = WEIGHTINGS.get("geometric_mean")(["a", "b"], {}, {})
    total, weights = w.combine(_losses())
    assert float(total.detach()) == pytest.approx(2.0)  # sqrt(1 * 4)
    # d/dL_i (L_a L_b)^(1/2) = total / (2 L_i): 1.0 and 0.25
    assert weights == pytest.approx({"a": 1.0, "b": 0.25})
    assert w.last_regulariser == 0.0  # 1.0 * 1 + 0.25 * 4 = 2 = the total: nothing beyond Σ wᵢ·Lᵢ


def test_stch_weights_favour_the_largest_loss():
    w = WEIGHTINGS.get("stch")(["a", "b"], {"mu": 1.0}, {})
    total, weights = w.combine(_losses())
    # mu log(exp(0.5 L_a) + exp(0.5 L_b)) with weights 1/2: softmax(0.5, 2) / 2
    z = math.exp(0.5) + math.exp(2.0)
    assert float(total.detach()) == pytest.approx(math.log(z))
    assert weights == pytest.approx({"a": 0.5 * math.exp(0.5) / z, "b": 0.5 * math.exp(2.0) / z})
    weighted = 0.5 * (math.exp(0.5) * 1.0 + math.exp(2.0) * 4.0) / z
    assert w.last_regulariser == pytest.approx(math.log(z) - weighted)  # the rest of the objective


def test_imtl_l_starts_as_the_sum_and_learns_scales():
    w = WEIGHTINGS.get("imtl_l")(["a", "b"], {}, {})
    total, weights = w.combine(_losses())
    assert float(total.detach()) == pytest.approx(5.0) and weights == pytest.approx({"a": 1.0, "b": 1.0})
    assert sum(p.numel() for p in w.parameters()) == 2  # the s_i join the optimiser
    with torch.no_grad():
        next(w.parameters()).copy_(torch.tensor([0.5, -1.0]))  # s = (0.5, -1)
    total, weights = w.combine(_losses())
    # Σ e^s_i L_i - s_i: weights e^0.5, e^-1; the regulariser is -Σ s_i = 0.5, not part of
    # the logged Σ wᵢ·Lᵢ (it was, with a regulariser of 0)
    assert weights == pytest.approx({"a": math.exp(0.5), "b": math.exp(-1.0)})
    assert w.last_regulariser == pytest.approx(0.5)
    assert float(total.detach()) == pytest.approx(math.exp(0.5) * 1.0 + math.exp(-1.0) * 4.0 + 0.5)


def test_partial_labels_keep_the_absent_task_at_its_last_loss():
    w = WEIGHTINGS.get("geometric_mean")(["a", "b"], {}, {})
    w.combine(_losses(1.0, 4.0))
    total, weights = w.combine(_losses(9.0, 100.0), present={"a"})
    assert float(total.detach()) == pytest.approx(6.0)  # sqrt(9 * 4): b enters with its last loss
    assert weights["b"] == 0.0
