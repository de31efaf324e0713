"""combine_gradients: torchjd's aggregators as a pure function, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.weighting.gradient_methods import GRADIENT_METHODS, combine_gradients

# g1 = (1, 0), g2 = (-1, 1): they conflict (g1 . g2 = -1 < 0)
G = np.array([[1.0, 0.0], [-1.0, 1.0]])


def test_sum_and_mean():
    direction, weights = combine_gradients("sum", G)
    np.testing.assert_allclose(direction, [0.0, 1.0])
    np.testing.assert_allclose(weights, [1.0, 1.0])
    direction, weights = combine_gradients("mean", G)
    np.testing.assert_allclose(direction, [0.0, 0.5])
    np.testing.assert_allclose(weights, [0.5, 0.5])


def test_pcgrad_projects_each_gradient_off_the_other():
    # g1 - (g1.g2 / |g2|^2) g2 = (1, 0) + 1/2 (-1, 1) = (0.5, 0.5); g2 - (g2.g1 / |g1|^2) g1 = (0, 1)
    direction, _ = combine_gradients("pcgrad", G)
    np.testing.assert_allclose(direction, [0.5, 1.5], atol=1e-6)


def test_mgda_is_the_min_norm_point_of_the_hull():
    # alpha = (g2 - g1).g2 / |g1 - g2|^2 = 3 / 5; 0.6 g1 + 0.4 g2 = (0.2, 0.4)
    direction, weights = combine_gradients("mgda", G)
    np.testing.assert_allclose(direction, [0.2, 0.4], atol=1e-3)
    np.testing.assert_allclose(weights, [0.6, 0.4], atol=1e-3)
    np.testing.assert_allclose(weights @ G, direction, atol=1e-9)


@pytest.mark.parametrize("method", ["upgrad", "dualproj", "imtl_g", "aligned_mtl", "pcgrad", "mgda"])
def test_conflict_averse_methods_do_not_hurt_any_task(method):
    direction, weights = combine_gradients(method, G)
    assert (G @ direction >= -1e-6).all()  # no task's loss rises to first order
    if weights is not None:
        np.testing.assert_allclose(weights @ G, direction, atol=1e-6)


def test_methods_without_task_weights_say_so():
    direction, weights = combine_gradients("graddrop", G)
    assert weights is None and direction.shape == (2,)


def test_config_by_hand():
    """g1 = (2, 0), g2 = (0, 1): unit gradients e1, e2; pinv(I) 1 = (1, 1), so the unit
    target is (1, 1)/sqrt 2 and its length the sum of projections (2 + 1)/sqrt 2: the
    update is (1.5, 1.5), i.e. weights (0.75, 1.5)."""
    direction, weights = combine_gradients("config", [[2.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(direction, [1.5, 1.5], atol=1e-12)
    np.testing.assert_allclose(weights, [0.75, 1.5], atol=1e-12)


@pytest.mark.parametrize("tasks", [2, 3, 5])
def test_config_through_the_gramian_equals_torchjds_config(tasks):
    from torchjd.aggregation import ConFIG

    rng = np.random.default_rng(tasks)
    M = rng.normal(size=(tasks, 40))
    M[1] = 0.9 * M[0] + 0.1 * M[1]  # two nearly aligned tasks
    direction, weights = combine_gradients("config", M)
    reference = ConFIG()(torch.as_tensor(M)).numpy()  # float64, small P: its pinv is exact
    np.testing.assert_allclose(direction, reference, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weights @ M, direction, rtol=1e-9, atol=1e-12)


def test_config_keeps_working_with_millions_of_float32_parameters():
    """torchjd's ConFIG takes pinv of the T x P unit gradients with the default cut-off
    max(T, P) * eps: above 8.4 M float32 parameters it is all zeros (ResNet-18 shares
    11 M). Through the Gramian the update keeps ConFIG's defining property: the same
    projection on every unit task gradient, and a length equal to the sum of the
    gradients' projections on it."""
    from torchjd.aggregation import ConFIG

    from workbench.weighting.gramian_reduction import weights_through_gramian

    gen = torch.Generator().manual_seed(0)
    P = 9_000_000
    J = torch.randn(2, P, generator=gen)
    J[1] = 0.5 * J[0] + J[1]  # cosine 0.45
    Jd = J.double()
    weights = weights_through_gramian(ConFIG(), Jd @ Jd.T)
    direction = weights @ Jd
    unit = direction / direction.norm()
    cosines = (Jd @ unit) / Jd.norm(dim=1)
    assert float(direction.norm()) > 0
    assert float(cosines[0]) == pytest.approx(float(cosines[1]), rel=1e-9)
    assert float(direction.norm()) == pytest.approx(float((Jd @ unit).sum()), rel=1e-9)


def test_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match="weighs the task losses, not their gradients"):
        combine_gradients("dwa", G)
    with pytest.raises(ValueError, match="unknown gradient method 'nope'"):
        combine_gradients("nope", G)
    with pytest.raises(ValueError, match="shape"):
        combine_gradients("sum", np.zeros(3))
    with pytest.raises(ValueError, match="NaN or infinite"):
        combine_gradients("sum", np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="takes no parameter 'c'"):
        combine_gradients("pcgrad", G, c=0.5)
    cagrad = GRADIENT_METHODS["cagrad"]
    if cagrad.missing():
        with pytest.raises(ValueError, match="pip install cvxpy"):
            combine_gradients("cagrad", G)


def test_every_method_names_its_source():
    for spec in GRADIENT_METHODS.values():
        assert spec.paper and spec.cost


def test_nash_mtl_needs_two_gradients_and_keeps_cvxpy_advice_to_itself():
    import warnings

    pytest.importorskip("cvxpy")
    with pytest.raises(ValueError, match="nash_mtl needs at least 2 task gradients"):
        combine_gradients("nash_mtl", np.ones((1, 4)))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")
        _, weights = combine_gradients("nash_mtl", np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]]))
    assert weights is not None and (weights > 0).all()
    assert not [w for w in seen if "DPP" in str(w.message)]


def test_the_weights_returned_give_the_direction_returned_for_every_weighing_method():
    """Random draws, PCGrad's random order and GradVac's state once per call: computing the
    direction and then the weights again returned weights of another draw (|w G - d| up to
    0.49)."""
    g3 = np.array([[1.0, 0.0, 0.5], [-0.8, 1.0, 0.0], [0.2, -0.5, 1.0]])
    checked = []
    for method, spec in GRADIENT_METHODS.items():
        if spec.missing() or method == "graddrop":
            continue
        for _ in range(3):  # the random ones: several draws
            direction, weights = combine_gradients(method, g3)
            if weights is None:
                break
            np.testing.assert_allclose(weights @ g3, direction, atol=1e-9, err_msg=method)
        checked.append(method)
    assert {"random_grad", "pcgrad", "gradvac"} <= set(checked)


def test_a_solver_installed_but_broken_is_a_value_error(monkeypatch):
    spec = GRADIENT_METHODS["upgrad"]
    monkeypatch.setattr(
        type(spec),
        "broken",
        lambda self: f"{self.name} needs qpsolvers, which is installed but cannot be imported",
    )
    with pytest.raises(ValueError, match="installed but cannot be imported"):
        combine_gradients("upgrad", G)


def test_all_zero_gradients_are_the_zero_step_for_every_method():
    """Nash-MTL's programme failed on them ("Parameter value must be real", reported in
    training as gradients "too large"); FairGrad returned weights of 512."""
    for method, spec in GRADIENT_METHODS.items():
        if spec.missing():
            continue
        direction, weights = combine_gradients(method, np.zeros((2, 3)))
        np.testing.assert_array_equal(direction, np.zeros(3), err_msg=method)
        assert weights is None or list(weights) == [1.0, 1.0], method


@pytest.mark.parametrize("scale", [1e-3, 1e-6, 1e20])
def test_scale_free_methods_give_the_same_weights_at_any_scale(scale):
    """torchjd zeroes a Gramian whose trace is under 1e-4: UPGrad fell back to the mean and
    CAGrad to a zero step once every task gradient was shorter than ~0.006 (late in
    training), and IMTL-G gave zero weights at 1e20. Their weights depend on directions
    and ratios only."""
    from workbench.weighting.gradient_methods import SCALE_FREE_METHODS

    g3 = np.random.default_rng(1).standard_normal((3, 20))
    for method in sorted(SCALE_FREE_METHODS):
        if GRADIENT_METHODS[method].missing():
            continue
        torch.manual_seed(0)  # GradVac draws each task's order of the others
        direction, weights = combine_gradients(method, g3)
        torch.manual_seed(0)
        scaled_direction, scaled_weights = combine_gradients(method, scale * g3)
        np.testing.assert_allclose(scaled_weights, weights, rtol=1e-5, atol=1e-9, err_msg=method)
        np.testing.assert_allclose(
            scaled_direction, scale * direction, rtol=1e-5, atol=1e-9 * scale, err_msg=method
        )
    # UPGrad here is not the mean (the gradients conflict): it was, at 1e-3
    assert not np.allclose(combine_gradients("upgrad", 1e-3 * g3)[1], [1 / 3] * 3)


@pytest.mark.parametrize("scale", [1.0, 1e-4, 1e-9])
def test_gradvac_on_a_conflicting_pair_projects_at_any_scale(scale):
    """cos(g1, g2) = -1/sqrt(2) below GradVac's first target 0: each gradient moves to be
    orthogonal to the other, g1 + 0.5 g2 and g2 + g1 (PCGrad's step at target 0), so the
    weights are (2, 1.5). torchjd's eps of 1e-8 beside the squared norms made them
    (1.014, 1.007) at scale 1e-5 and the plain sum's below."""
    direction, weights = combine_gradients("gradvac", scale * np.array([[1.0, 0.0], [-1.0, 1.0]]))
    np.testing.assert_allclose(weights, [2.0, 1.5], rtol=1e-6)
    np.testing.assert_allclose(direction, scale * np.array([0.5, 1.5]), rtol=1e-6)


@pytest.mark.skipif(GRADIENT_METHODS["nash_mtl"].missing() != [], reason="cvxpy is not installed")
def test_nash_mtl_solves_a_pair_whose_first_step_has_no_linearisation():
    """G = [[1, 0], [-1, 1]]: at torchjd's start alpha = (1, 1), (G Gᵀ alpha)_1 = 0 and the
    programme's log has no value; torchjd kept alpha = 1 (the plain sum). The bargaining
    solution of G Gᵀ alpha = 1/alpha, by hand: alpha_1 - alpha_2 = 1/alpha_1,
    2 alpha_2 - alpha_1 = 1/alpha_2, so alpha_1 = sqrt(2 + sqrt(2)) = 1.8478 and
    alpha_2 = alpha_1 - 1/alpha_1 = 1.3066; the update d = alpha @ G = (0.5412, 1.3066),
    of norm sqrt(2), clipped to max_norm 1: d = (sin(pi/8), cos(pi/8)), weights alpha / sqrt(2)."""
    G = np.array([[1.0, 0.0], [-1.0, 1.0]])
    direction, weights = combine_gradients("nash_mtl", G)
    np.testing.assert_allclose(direction, [np.sin(np.pi / 8), np.cos(np.pi / 8)], atol=1e-4)
    np.testing.assert_allclose(weights, [1.30656, 0.92388], atol=1e-4)
    _, alpha = combine_gradients("nash_mtl", G, max_norm=0.0)  # unclipped
    np.testing.assert_allclose(alpha, [np.sqrt(2 + np.sqrt(2)), 1.30656], rtol=1e-3)
    np.testing.assert_allclose(G @ G.T @ alpha, 1 / alpha, rtol=1e-3)


@pytest.mark.parametrize(
    "method, params, message",
    [
        ("cagrad", {"c": 5.0}, "cagrad.c: must be >= 0 and < 1, got 5.0"),
        ("mgda", {"epsilon": float("nan")}, "mgda.epsilon: must be a finite number, got nan"),
        ("gradvac", {"beta": 7}, "gradvac.beta: must be between 0 and 1, got 7.0"),
    ],
)
def test_combine_gradients_holds_parameters_to_the_configs_limits(method, params, message):
    """A config refuses cagrad c = 5; combine_gradients took it, and NaN, without a word."""
    if GRADIENT_METHODS[method].missing():
        pytest.skip(f"{method}'s solver is not installed")
    with pytest.raises(ValueError) as err:
        combine_gradients(method, np.eye(2), **params)
    assert str(err.value) == message


@pytest.mark.parametrize("scale", [1e3, 1e-3, 1e-6])
@pytest.mark.parametrize(
    "method, params, power", [("nash_mtl", {"max_norm": 0.0}, 1.0), ("fairgrad", {"alpha": 2.0}, 4 / 3)]
)
def test_nash_mtl_and_fairgrad_weights_go_as_their_power_of_one_over_the_scale(scale, method, params, power):
    """G = [[1, 0], [-0.5, 1]] times s: Nash-MTL's alpha solves G Gᵀ alpha = 1/alpha, so
    alpha(sG) = alpha(G) / s; FairGrad's w solves G Gᵀ w = w^(-1/a), so w(sG) = w(G) s^(-2a/(a+1))
    (4/3 at a = 2). At s = 1e-3 torchjd's programmes stopped short (Nash-MTL residual 0.5,
    FairGrad 0.12) and at 1e-6 Nash-MTL returned the plain sum's 1s."""
    if GRADIENT_METHODS[method].missing():
        pytest.skip(f"{method}'s solver is not installed")
    G = np.array([[1.0, 0.0], [-0.5, 1.0]])
    _, unit = combine_gradients(method, G, **params)
    _, scaled = combine_gradients(method, scale * G, **params)
    np.testing.assert_allclose(scaled, unit * scale ** (-power), rtol=1e-4)
    K = scale**2 * G @ G.T
    exponent = -1.0 if method == "nash_mtl" else -1 / params["alpha"]
    np.testing.assert_allclose(K @ scaled, scaled**exponent, rtol=1e-4)  # the method's own equation
