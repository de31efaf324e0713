"""combine_gradients: torchjd's aggregators as a pure function, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

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
    direction, weights = combine_gradients("config", G)
    assert weights is None and direction.shape == (2,)


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
