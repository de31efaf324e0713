"""Image files as users have them (issue 7, "Images as they come"): content decides the
format, EXIF orientation is applied, every mode becomes 8-bit RGB, huge images shrink while
decoding, and bad files give one line naming the file."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from workbench.data.image_io import ImageError, load_rgb


def _rgb(width: int, height: int) -> np.ndarray:
    """Distinct, exactly representable colours per pixel."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 10 % 256, y * 20 % 256, (x + y) * 5 % 256], axis=-1).astype(np.uint8)


def test_png_named_jpg_and_gif_named_jpeg_decode_by_content(tmp_path):
    pixels = _rgb(6, 4)
    png = tmp_path / "photo.jpg"
    Image.fromarray(pixels).save(png, format="PNG")
    assert np.array_equal(load_rgb(png).pixels, pixels)
    gif = tmp_path / "scan.jpeg"
    flat = np.zeros((4, 6, 3), np.uint8)
    flat[:, 3:] = (200, 40, 10)
    Image.fromarray(flat).save(gif, format="GIF")
    assert np.array_equal(load_rgb(gif).pixels, flat)


def _with_orientation(path, pixels, orientation) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, format="PNG", exif=exif)


def test_exif_orientation_6_turns_the_image_clockwise(tmp_path):
    pixels = np.zeros((2, 4, 3), np.uint8)  # 4 wide, 2 high, red in the stored top-left
    pixels[0, 0] = (255, 0, 0)
    _with_orientation(tmp_path / "o6.png", pixels, 6)
    out = load_rgb(tmp_path / "o6.png")
    assert out.pixels.shape == (4, 2, 3)  # upright: 2 wide, 4 high
    assert tuple(out.pixels[0, 1]) == (255, 0, 0)  # top-left turned clockwise lands top-right
    assert out.pixels.sum() == 255
    assert out.original_size == (2, 4)


@pytest.mark.parametrize("orientation", [0, 9, 65535])
def test_invalid_orientation_is_ignored(tmp_path, orientation):
    pixels = _rgb(5, 3)
    _with_orientation(tmp_path / "bad.png", pixels, orientation)
    assert np.array_equal(load_rgb(tmp_path / "bad.png").pixels, pixels)


def test_grayscale_sixteen_bit_alpha_palette_and_cmyk_become_rgb(tmp_path):
    Image.fromarray(np.full((2, 2), 100, np.uint8)).save(tmp_path / "gray.png")
    assert load_rgb(tmp_path / "gray.png").pixels.tolist() == [[[100] * 3] * 2] * 2

    deep = np.array([[65535, 2570]], dtype=np.uint16)  # 65535/257 = 255, 2570/257 = 10
    Image.fromarray(deep).save(tmp_path / "deep.png")
    assert load_rgb(tmp_path / "deep.png").pixels[0, :, 0].tolist() == [255, 10]

    rgba = np.array([[[10, 20, 30, 255], [10, 20, 30, 0], [0, 0, 0, 128]]], np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    out = load_rgb(tmp_path / "alpha.png").pixels[0]
    assert out[0].tolist() == [10, 20, 30]  # opaque: as is
    assert out[1].tolist() == [255, 255, 255]  # transparent: the white background
    assert all(abs(v - 127) <= 1 for v in out[2])  # half: 255 * (1 - 128/255) = 127

    pal = Image.new("P", (2, 1))
    pal.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    pal.putpixel((0, 0), 0)
    pal.putpixel((1, 0), 1)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "pal.png", transparency=0)
    assert load_rgb(tmp_path / "pal.png").pixels[0].tolist() == [[255, 255, 255], [0, 200, 0]]

    Image.new("CMYK", (2, 2), (0, 0, 0, 0)).save(tmp_path / "print.jpg", quality=100)
    assert load_rgb(tmp_path / "print.jpg").pixels.min() >= 250  # no ink: white


def test_huge_jpeg_is_reduced_while_decoding(tmp_path):
    Image.fromarray(_rgb(2000, 1000)).save(tmp_path / "big.jpg", quality=90)
    out = load_rgb(tmp_path / "big.jpg", max_side=256)
    assert out.pixels.shape == (128, 256, 3)
    assert out.original_size == (2000, 1000)
    assert out.scale == pytest.approx(256 / 2000)
    small = load_rgb(tmp_path / "big.jpg", max_side=4000)  # no reduction needed
    assert small.pixels.shape == (1000, 2000, 3) and small.scale == 1.0


def test_bad_files_name_the_file_and_the_reason(tmp_path, monkeypatch):
    good = tmp_path / "good.png"
    Image.fromarray(_rgb(64, 64)).save(good)
    data = good.read_bytes()
    cases = {
        "truncated.png": (data[: len(data) // 2], "damaged or truncated"),
        "notes.jpg": (b"these are my notes, not a picture\n", "not an image"),
        "empty.png": (b"", "not an image"),
    }
    for name, (content, words) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ImageError) as info:
            load_rgb(tmp_path / name)
        assert str(info.value).startswith(str(tmp_path / name)) and words in str(info.value)
        assert "\n" not in str(info.value)
    with pytest.raises(ImageError, match="file not found"):
        load_rgb(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="is a folder"):
        load_rgb(tmp_path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64 x 64 = 4,096 pixels
    with pytest.raises(ImageError, match="too large: more than 1,000 pixels"):
        load_rgb(good)


def test_data_check_and_training_agree_on_very_large_images(tmp_path, monkeypatch):
    """A 10,000 x 10,000 JPEG passed the check (with Pillow's raw warning on the terminal)
    and was refused in training. Both now judge what would be decoded: a JPEG decodes
    reduced and is taken, another format past the limit is refused, by both, silently."""
    import warnings

    from PIL import Image

    from workbench.config import ModelConfig, field_meta
    from workbench.data.file_probe import probe_size
    from workbench.data.image_io import MAX_INPUT_SIDE, ImageError, load_rgb
    from workbench.data.image_set_options import ImageSetOptions
    from workbench.data.import_report import ImportReport

    assert (
        MAX_INPUT_SIDE
        == field_meta(ImageSetOptions, "image_size").le
        == field_meta(ModelConfig, "input_size").le
    )
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 9_000_000)  # a small stand-in for Pillow's 89 M
    # 12 M: decoded at 1/2 (both sides stay >= 1,024), 3 M
    Image.new("RGB", (4000, 3000), (10, 200, 30)).save(tmp_path / "big.jpg")
    Image.new("RGB", (3100, 3100), (10, 200, 30)).save(tmp_path / "big.png")  # 9.61 M, decoded whole
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw DecompressionBombWarning
        report = ImportReport()
        assert probe_size(tmp_path / "big.jpg", report) == (4000, 3000)
        decoded = load_rgb(tmp_path / "big.jpg", max_side=1024, resample=False)
        assert decoded.original_size == (4000, 3000) and decoded.pixels.shape == (1500, 2000, 3)
        assert probe_size(tmp_path / "big.png", report) is None
        with pytest.raises(ImageError, match="too large"):
            load_rgb(tmp_path / "big.png", max_side=1024, resample=False)
    (line,) = report.lines()
    assert "big.png" in line and "too large: 3100x3100 is more than 9,000,000 pixels" in line


def test_a_png_with_damaged_image_data_is_refused_not_half_black(tmp_path):
    """Reading the EXIF orientation decoded the PNG and swallowed the error: the image came
    back with its lower half black and trained without a word."""
    import zlib

    from PIL import Image

    from workbench.data.image_io import ImageError, load_rgb

    path = tmp_path / "a.png"
    rng = __import__("numpy").random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype="uint8")).save(path)
    data = bytearray(path.read_bytes())
    start = data.index(b"IDAT") + 4
    length = int.from_bytes(data[start - 8 : start - 4], "big")
    data[start + length // 2] ^= 0xFF  # damage the compressed pixels, then fix the chunk's CRC
    crc = zlib.crc32(bytes(data[start - 4 : start + length]))
    data[start + length : start + length + 4] = crc.to_bytes(4, "big")
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError, match="damaged or truncated image data"):
        load_rgb(path)
