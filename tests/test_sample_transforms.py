"""Fitting real images to the square input (issue 7): boxes and masks move with the image,
padding is ignored by segmentation, augmentation is reproducible."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.data.sample_transforms import PAD_IMAGE, PAD_MASK, Augment, fit_sample

BOX = np.array([[20, 10, 60, 50]], np.float32)
LABELS = np.array([3], np.int64)


def scene(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    image = np.full((height, width, 3), 200, np.uint8)
    mask = np.zeros((height, width), np.uint8)
    mask[10:50, 20:60] = 1
    return image, mask


def test_letterbox_landscape_scales_and_pads_top_and_bottom():
    image, mask = scene(200, 100)
    out, boxes, labels, out_mask = fit_sample(image, BOX, LABELS, mask, 128)
    # scale 128/200 = 0.64: 128 x 64 px, 32 rows of padding above and below
    np.testing.assert_allclose(boxes, [[12.8, 10 * 0.64 + 32, 38.4, 50 * 0.64 + 32]], atol=1e-4)
    assert labels.tolist() == [3]
    assert out.shape == (128, 128, 3) and (out[:32] == PAD_IMAGE).all() and (out[96:] == PAD_IMAGE).all()
    assert (out[32:96] == 200).all()
    assert (out_mask[:32] == PAD_MASK).all() and (out_mask[96:] == PAD_MASK).all()
    assert set(np.unique(out_mask[32:96])) == {0, 1}  # nearest: no blended classes


def test_letterbox_portrait_pads_left_and_right():
    image, mask = scene(100, 200)
    _, boxes, _, _ = fit_sample(image, BOX, LABELS, mask, 128)
    np.testing.assert_allclose(boxes, [[20 * 0.64 + 32, 6.4, 60 * 0.64 + 32, 32.0]], atol=1e-4)


def test_stretch_scales_each_axis():
    image, mask = scene(200, 100)
    _, boxes, _, out_mask = fit_sample(image, BOX, LABELS, mask, 128, mode="stretch")
    np.testing.assert_allclose(boxes, [[12.8, 12.8, 38.4, 64.0]], atol=1e-4)  # x 0.64, y 1.28
    assert PAD_MASK not in out_mask


def test_flip_moves_the_box_and_tiny_boxes_stay_with_their_labels():
    image, mask = scene(200, 100)
    boxes_in = np.array([[20, 10, 60, 50], [0, 0, 1, 1]], np.float32)  # the second: 0.64 px after fitting
    _, boxes, labels, _ = fit_sample(image, boxes_in, np.array([3, 5]), mask, 128, augment=Augment(hflip=1.0))
    # flipped in the 200 px image: x 140-180, then scaled by 0.64; the tiny one fitted to
    # x 0..0.64 (grown to 0..1 at the left edge), y 32..32.64 (centre 32.32: 31.82..32.82),
    # then flipped to x 127..128
    np.testing.assert_allclose(boxes, [[89.6, 38.4, 115.2, 64.0], [127.0, 31.82, 128.0, 32.82]], atol=1e-4)
    assert labels.tolist() == [3, 5]


def test_augmentation_is_reproducible_and_leaves_the_global_generator_alone():
    image, mask = scene(200, 100)
    augment = Augment(hflip=0.5, scale_range=(0.5, 1.5), color=0.4)
    before = torch.get_rng_state()
    first = fit_sample(
        image, BOX, LABELS, mask, 64, augment=augment, generator=torch.Generator().manual_seed(7)
    )
    second = fit_sample(
        image, BOX, LABELS, mask, 64, augment=augment, generator=torch.Generator().manual_seed(7)
    )
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert torch.equal(torch.get_rng_state(), before)


def test_unknown_mode():
    image, mask = scene(20, 10)
    with pytest.raises(ValueError, match="letterbox"):
        fit_sample(image, BOX, LABELS, mask, 16, mode="crop")


def test_objects_under_one_pixel_after_fitting_are_kept_at_one_pixel():
    """Ten 12 px objects of a 1,024 x 768 photo fitted to 64 px are 0.75 px wide: the
    sanitising step dropped all ten and the image's count became 0, silently."""
    image = np.zeros((768, 1024, 3), np.uint8)
    boxes = np.array([[100 * i + 20, 380, 100 * i + 32, 392] for i in range(10)], np.float32)
    labels = np.arange(10) % 3
    _, out_boxes, out_labels, _ = fit_sample(image, boxes, labels, None, 64)
    assert out_labels.tolist() == labels.tolist()  # all ten kept, in order
    # letterbox: scale 64/1024 = 0.0625, 48 px tall, 8 px of padding on top
    # box 0: x 20..32 -> 1.25..2.0 (0.75 px, centre 1.625) -> 1.125..2.125
    #        y 380..392 -> 23.75..24.5 + 8 -> 31.75..32.5 (centre 32.125) -> 31.625..32.625
    assert out_boxes[0].tolist() == pytest.approx([1.125, 31.625, 2.125, 32.625])
    sides = out_boxes[:, 2:] - out_boxes[:, :2]
    assert np.allclose(sides, 1.0)
    # one at the very edge stays inside the image; one with no area at all still goes
    edge = np.array([[1023.5, 0, 1024, 4], [500, 300, 500, 340]], np.float32)
    _, grown, kept, _ = fit_sample(image, edge, np.array([1, 2]), None, 64)
    assert kept.tolist() == [1]
    # x 1023.5..1024 -> 63.97..64 (grown, kept inside: 63..64); y 0..4 -> 8..8.25 (centre
    # 8.125: 7.625..8.625)
    assert grown[0].tolist() == pytest.approx([63.0, 7.625, 64.0, 8.625])
