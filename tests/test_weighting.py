import pytest
import torch

from workbench.weighting import WEIGHTINGS
from workbench.weighting.base import BackwardContext

NAMES = ["a", "b"]


def losses(a=2.0, b=4.0):
    return {"a": torch.tensor(a, requires_grad=True), "b": torch.tensor(b, requires_grad=True)}


def make(method, params=None, static=None, seed=0):
    return WEIGHTINGS.get(method)(NAMES, params or {}, static or {"a": 1.0, "b": 1.0}, seed=seed)


def test_equal_static():
    assert make("equal_sum").combine(losses())[1] == {"a": 1.0, "b": 1.0}
    total, w = make("equal_mean").combine(losses())
    assert w == {"a": 0.5, "b": 0.5} and total.item() == pytest.approx(3.0)
    total, w = make("static", static={"a": 0.25, "b": 2.0}).combine(losses())
    assert total.item() == pytest.approx(0.5 + 8.0)


def test_uncertainty_learns_log_variances():
    m = make("uncertainty")
    ls = losses()
    total, w = m.combine(ls)
    assert w == {"a": 0.5, "b": 0.5}
    total.backward()
    # d/ds (0.5 e^-s L + 0.5 s) at s=0 is 0.5 (1 - L): negative for L > 1
    assert m.log_vars.grad.tolist() == pytest.approx([0.5 * (1 - 2.0), 0.5 * (1 - 4.0)])


def test_dwa_uses_loss_ratios_with_temperature():
    m = make("dwa")
    m.epoch_end({"a": 1.0, "b": 1.0})
    assert m.combine(losses())[1] == {"a": 1.0, "b": 1.0}  # first two epochs: 1
    m.epoch_end({"a": 0.5, "b": 1.0})  # a fell, b did not: b gets more weight
    w = m.combine(losses())[1]
    assert w["b"] > w["a"] and w["a"] + w["b"] == pytest.approx(2.0)
    import math

    assert w["a"] / w["b"] == pytest.approx(math.exp((0.5 - 1.0) / 2.0))
    restored = make("dwa")
    restored.load_state_dict(m.state_dict())
    assert restored.combine(losses())[1] == w


def test_random_weighting_is_seeded_and_resumable():
    m1, m2 = make("random", seed=3), make("random", seed=3)
    w1 = [m1.combine(losses())[1] for _ in range(3)]
    assert w1 == [m2.combine(losses())[1] for _ in range(3)]
    assert all(sum(w.values()) == pytest.approx(1.0) for w in w1)
    assert w1[0] != w1[1]
    m3 = make("random", seed=3)
    m3.load_state_dict(m1.state_dict())
    assert m3.combine(losses())[1] == m1.combine(losses())[1]


@pytest.mark.parametrize("method", WEIGHTINGS.names())
def test_backward_leaves_gradients(method):
    m = make(method)
    x = torch.ones(2, requires_grad=True)
    total, w = m.backward({"a": x[0] * 2, "b": x[1] * 3}, BackwardContext())
    assert x.grad is not None and (x.grad > 0).all()
    assert set(w) == set(NAMES)
