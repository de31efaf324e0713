"""Δm against published tables (Nash-MTL, Navon et al. ICML 2022, Table 2: NYUv2)."""

from __future__ import annotations

import pytest

from workbench.analysis.delta_m import delta_m

# NYUv2, 3 tasks, 9 metrics: segmentation (mIoU, pixel accuracy), depth (absolute and
# relative error), surface normals (mean and median angle error, % within 11.25/22.5/30 deg)
HIGHER = {"seg": True, "depth": False, "normal": [False, False, True, True, True]}
STL = {"seg": [38.30, 63.76], "depth": [0.6754, 0.2780], "normal": [25.01, 19.21, 30.14, 57.20, 69.15]}
LS = {"seg": [39.29, 65.33], "depth": [0.5493, 0.2263], "normal": [28.15, 23.96, 22.09, 47.50, 61.08]}
NASH = {"seg": [40.13, 65.93], "depth": [0.5261, 0.2171], "normal": [25.26, 20.08, 28.40, 55.47, 68.15]}


@pytest.mark.parametrize(("row", "published"), [(LS, 5.59), (NASH, -4.04)])
def test_reproduces_the_published_delta_m(row, published):
    # the table prints its metrics rounded (2 or 4 digits, about 1e-4 relative each), which
    # moves a recomputed Δm by up to about 0.01 points
    assert delta_m(row, STL, HIGHER).value == pytest.approx(published, abs=0.01)


def test_libmtl_convention_averages_per_task_first_and_flips_the_sign():
    result = delta_m(LS, STL, HIGHER, convention="libmtl")
    # per task (positive = better): seg (2.585 + 2.462) / 2, depth (18.671 + 18.597) / 2,
    # normal -(12.555 + 24.727 + 26.709 + 16.958 + 11.670) / 5
    assert result.per_task["seg"] == pytest.approx(2.5235, abs=1e-3)
    assert result.per_task["depth"] == pytest.approx(18.634, abs=1e-3)
    assert result.per_task["normal"] == pytest.approx(-18.524, abs=1e-3)
    assert result.value == pytest.approx((2.5235 + 18.634 - 18.524) / 3, abs=1e-3)


def test_one_metric_per_task_makes_the_conventions_opposite():
    mtl, stl = {"a": 0.8, "b": 0.5}, {"a": 0.75, "b": 0.4}
    higher = {"a": True, "b": False}
    # a: +6.667 %, b: -25 % -> Maninis: -(6.667 - 25) / 2 = 9.167
    maninis = delta_m(mtl, stl, higher)
    assert maninis.value == pytest.approx(9.1667, abs=1e-3)
    assert delta_m(mtl, stl, higher, convention="libmtl").value == pytest.approx(-maninis.value)
    assert maninis.per_task == pytest.approx({"a": 6.6667, "b": -25.0}, abs=1e-3)


def test_bad_input_names_what_is_wrong():
    with pytest.raises(ValueError, match="unknown Δm convention 'x'"):
        delta_m({"a": 1.0}, {"a": 1.0}, {"a": True}, convention="x")
    with pytest.raises(ValueError, match="the tasks differ"):
        delta_m({"a": 1.0}, {"b": 1.0}, {"a": True})
    with pytest.raises(ValueError, match="a: the single-task value is 0"):
        delta_m({"a": 1.0}, {"a": 0.0}, {"a": True})
    with pytest.raises(ValueError, match="a: 2 multi-task and 1 single-task"):
        delta_m({"a": [1.0, 2.0]}, {"a": [1.0]}, {"a": True})
    with pytest.raises(ValueError, match="not finite"):
        delta_m({"a": float("nan")}, {"a": 1.0}, {"a": True})
