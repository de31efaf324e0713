"""Small file questions the readers ask, answered without raising for odd paths."""

from __future__ import annotations

import errno
import os
import stat
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from workbench.data.image_io import orientation, special_file, too_large_to_decode
from workbench.data.import_report import REFUSED, SKIPPED, ImportReport
from workbench.data.read_stop import check_stop


def probe_size(image: Path, report: ImportReport) -> tuple[int, int] | None:
    """The image's (width, height) from its header, upright (after EXIF orientation, the
    frame annotation tools show and annotate), or None with the reason reported (missing,
    not an image, too large, unreadable).

    Raises ReadStopped when the read was asked to stop (``workbench.data.read_stop``):
    every format's reader probes each image, so a stop waits for one file, not the set."""
    check_stop()
    if special_file(image):
        report.add(
            image, "", "not a regular file (a pipe or device): reading it could wait for ever", SKIPPED
        )
        return None
    try:
        with warnings.catch_warnings():
            # judged as training judges it (a large JPEG decodes reduced), without Pillow's
            # raw warning on the terminal
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(image) as img:
                width, height = img.size
                if too_large_to_decode(img):
                    report.add(
                        image,
                        "",
                        f"too large: {width}x{height} is more than {Image.MAX_IMAGE_PIXELS:,} pixels "
                        "(only JPEGs are decoded reduced)",
                        SKIPPED,
                    )
                    return None
                return (height, width) if orientation(img) in (5, 6, 7, 8) else (width, height)
    except FileNotFoundError:
        if image.is_symlink():  # said as the folder readers say it
            report.add(image, "", f"a link to a missing file ({os.readlink(image)})", SKIPPED)
        else:
            report.add(image, "", "missing image", SKIPPED)
    except UnidentifiedImageError:
        report.add(image, "", "file content is not an image", SKIPPED)
    except Image.DecompressionBombError as exc:
        report.add(image, "", f"too large to decode safely ({exc})", SKIPPED)
    except (OSError, ValueError) as exc:  # unreadable, a folder, a name too long or with NUL
        report.add(image, "", f"unreadable image: {exc}", SKIPPED)
    return None


def not_a_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file, in a few words ("a folder, not a file", "a
    symbolic link loop", "not a regular file (a pipe or device) ..."); None for a regular
    file. One answer for every reader: a FIFO where an annotation belonged hung the read,
    and a folder, a loop or a device was taken for "no file" (an image without labels
    became background, a list's split vanished) or stopped a whole set."""
    try:
        mode = path.stat().st_mode  # follows links
    except FileNotFoundError:
        if path.is_symlink():
            return f"a link to a missing file ({os.readlink(path)})"
        return "missing"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        return f"cannot be read: {exc.strerror or exc}"
    except ValueError:  # a NUL in the name
        return "a name that cannot be used (a NUL character)"
    if stat.S_ISDIR(mode):
        return "a folder, not a file"
    if not stat.S_ISREG(mode):
        return "not a regular file (a pipe or device): reading it could wait for ever"
    return None


def same_file_key(path: Path) -> str:
    """One key for every name of one file (a link, ``a/../b``); a path that cannot be
    resolved (a link loop: RuntimeError on Python 3.11, OSError later) keeps its own name."""
    try:
        return str(path.resolve())
    except (OSError, RuntimeError, ValueError):
        return str(path)


def present(path: Path) -> bool:
    """Whether anything is at ``path``, a broken or looping link included."""
    try:
        return os.path.lexists(path)
    except (OSError, ValueError):
        return False


def is_file(path: Path) -> bool:
    """Path.is_file that answers False instead of raising (no permission, name too long, NUL)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def read_list(path: Path, report: ImportReport) -> list[str] | None:
    """The lines of a text file, or None with the reason reported (not UTF-8, unreadable)."""
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        report.add(path, "", "not a text file (not UTF-8)", REFUSED)
    except OSError as exc:
        report.add(path, "", f"cannot read: {exc.strerror or exc}", REFUSED)
    return None
