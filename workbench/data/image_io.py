"""Decode image files as they come from users into RGB arrays.

The format is taken from the file's content, never its extension (a PNG named ``.jpg``
and a GIF among JPEGs both decode). EXIF orientation is applied (an invalid value is
ignored), every mode (grayscale, palette, alpha, 16-bit, CMYK, float) becomes 8-bit RGB,
and a huge image is reduced while it is decoded (JPEG's DCT scaling through Pillow's
``draft``), so a 50-megapixel photo never exists at full size in memory.

Errors are :class:`ImageError` with the file and a one-line reason.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N")
MAX_INPUT_SIDE = 1024  # the largest image_size a real data set takes (ImageSetOptions)


class ImageError(ValueError):
    """An image file that cannot be used: ``path`` and a one-line ``reason``."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class DecodedImage:
    """``pixels``: (H, W, 3) uint8 RGB, after EXIF orientation and any reduction.
    ``original_size``: (width, height) in pixels after orientation, before reduction: the
    frame annotations refer to. ``scale``: pixels' width / original width (<= 1)."""

    pixels: np.ndarray
    original_size: tuple[int, int]
    scale: float


def load_rgb(path: str | Path, max_side: int | None = None, resample: bool = True) -> DecodedImage:
    """Decode ``path`` to RGB; with ``max_side``, reduce so that neither side exceeds it.

    ``resample=False`` keeps only the reduction JPEG does while decoding (to the smallest
    of 1/2, 1/4, 1/8 that stays at least ``max_side``) and resamples other formats only
    when they exceed twice ``max_side``: for a caller that resizes anyway, one resampling
    instead of two.

    Raises ImageError when the file is missing or unreadable, is not an image, is
    truncated or damaged, or has more than Pillow's ``Image.MAX_IMAGE_PIXELS``.
    """
    path = Path(path)
    if special_file(path):  # Pillow would wait for ever on a FIFO with no writer
        raise ImageError(path, "not a regular file (a pipe or device)")
    try:
        with warnings.catch_warnings():
            # Pillow warns past MAX_IMAGE_PIXELS when it opens the file; what counts is
            # what is decoded (a reduced JPEG is far smaller), judged below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.seek(0)  # animated GIF/PNG/WebP: the first frame
                width, height = img.size
                # a JPEG's EXIF is in its header; other formats (PNG's eXIf chunk) decode the
                # whole image to find it, and orientation() must not swallow that decoding's
                # error: a damaged PNG was left half black and trained as such
                jpeg = img.format == "JPEG"
                turn = orientation(img) if jpeg else 1
                if max_side is not None and max(width, height) > max_side and img.format == "JPEG":
                    # decode at 1/2, 1/4 or 1/8 scale straight from the DCT coefficients
                    img.draft("RGB", (max_side, max_side))
                if img.size[0] * img.size[1] > Image.MAX_IMAGE_PIXELS:
                    raise Image.DecompressionBombError(img.size)
                img.load()
                if not jpeg:
                    turn = orientation(img)
                swapped = turn in (5, 6, 7, 8)
                img = _apply_orientation(img, turn)
                rgb = _to_rgb(img)
    except FileNotFoundError:
        raise ImageError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageError(path, "is a folder, not an image file") from None
    except PermissionError:
        raise ImageError(path, "permission denied") from None
    except UnidentifiedImageError:
        raise ImageError(path, "not an image (its content is no format Pillow can read)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's guard against decompression bombs (Image.MAX_IMAGE_PIXELS) stays on
        raise ImageError(path, f"too large: more than {Image.MAX_IMAGE_PIXELS:,} pixels") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated or damaged data
        raise ImageError(path, f"damaged or truncated image data ({exc})") from None

    original = (height, width) if swapped else (width, height)
    limit = None if max_side is None else (max_side if resample else 2 * max_side)
    if limit is not None and max(rgb.size) > limit:
        rgb.thumbnail((limit, limit), Image.Resampling.LANCZOS)
    pixels = np.asarray(rgb, dtype=np.uint8)
    return DecodedImage(pixels=pixels, original_size=original, scale=pixels.shape[1] / original[0])


def special_file(path: Path) -> bool:
    """Whether ``path`` is a FIFO, socket or device: not a regular file, folder or nothing."""
    try:
        return path.exists() and not path.is_file() and not path.is_dir()
    except (OSError, ValueError):
        return False


def too_large_to_decode(img: Image.Image) -> bool:
    """Whether the opened ``img`` would be refused by ``load_rgb`` as too large when the
    model's input is at most MAX_INPUT_SIDE: more than ``Image.MAX_IMAGE_PIXELS`` pixels,
    unless it is a JPEG, which decodes at down to 1/8 scale."""
    width, height = img.size
    if width * height <= Image.MAX_IMAGE_PIXELS:
        return False
    if img.format != "JPEG":
        return True
    # Pillow's draft: the largest of 1/8, 1/4, 1/2 that keeps both sides at least the request
    fits = min(width // MAX_INPUT_SIDE, height // MAX_INPUT_SIDE)
    scale = next((s for s in (8, 4, 2) if s <= fits), 1)
    return -(-width // scale) * -(-height // scale) > Image.MAX_IMAGE_PIXELS


def orientation(img: Image.Image) -> int:
    """EXIF orientation 1-8, or 1 when absent or invalid (a string, 0, 9, ...)."""
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # a damaged EXIF block must not cost the image
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


# EXIF orientation -> the transpose that shows the image upright (EXIF 2.3, tag 0x0112).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _apply_orientation(img: Image.Image, turn: int) -> Image.Image:
    method = _UPRIGHT.get(turn)
    return img if method is None else img.transpose(method)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Every Pillow mode to 8-bit RGB; transparency is composited onto white."""
    if img.mode == "RGB":
        return img
    if img.mode in _SIXTEEN_BIT or img.mode in ("I", "F"):
        values = np.asarray(img, dtype=np.float64)
        if img.mode in _SIXTEEN_BIT or values.max(initial=0) > 255:
            values = values / 257.0  # 0-65535 onto 0-255
        elif img.mode == "F" and values.max(initial=0) <= 1.0:
            values = values * 255.0
        gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")
