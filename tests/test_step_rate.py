"""The speed shown while training: the warm-up step left out, a window of recent steps."""

import pytest

from workbench.training.step_rate import StepRate


def test_the_warm_up_step_does_not_dominate_the_rate():
    rate = StepRate(window=4)
    assert rate.seconds_per_step == 0.0 and rate.images_per_s(8) == 0.0  # no step yet
    rate.add(2.0)  # the process's first step: warm-up
    assert rate.seconds_per_step == 2.0  # the only one: said as it is
    assert rate.images_per_s(8) == pytest.approx(4.0)
    for _ in range(3):
        rate.add(0.03)
    # 8 images / 0.03 s = 266.7 img/s; the old running average (0.9 old + 0.1 new, from
    # 2.0) said 8 / (0.729 * 2.0 + 0.271 * 0.03) = 5.45 img/s after these three steps
    assert rate.images_per_s(8) == pytest.approx(8 / 0.03)


def test_the_rate_is_the_mean_of_the_last_window_steps():
    rate = StepRate(window=3)
    for seconds in (9.0, 0.1, 0.1, 0.1, 0.4, 0.4):  # 9.0 is the warm-up
        rate.add(seconds)
    # the last three: 0.1, 0.4, 0.4 -> mean 0.3 s
    assert rate.seconds_per_step == pytest.approx(0.3)
    assert rate.images_per_s(6) == pytest.approx(20.0)
