"""File writes that never leave a half-written file, and JSON that stays standard.

``atomic_write`` writes a temp file beside the target, then renames it over the target;
the temp file gets the same permissions as any file the user creates (umask applied), so a
run directory's files do not differ in mode by how they were written. A failure to write
is a ``SaveFailed`` that names the file and the operating system's reason in one line.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

TEMP_SUFFIX = ".tmp"


class SaveFailed(OSError):
    """A file could not be written: ``str()`` is one line naming the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def os_reason(exc: BaseException) -> str:
    """The operating system's words for an error ("No space left on device"), one line."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def write_reason(path: Path | str, exc: BaseException) -> str:
    """Why ``path`` (a file or folder to create) cannot be written, in the user's terms where
    the operating system's words mislead: "Not a directory" becomes which part of the path
    is a file, and "No such file or directory" for a folder that exists (/proc and other
    file systems that take no new files) says so."""
    import errno

    code = getattr(exc, "errno", None)
    if code in (errno.ENOTDIR, errno.ENOENT, errno.EEXIST):
        path = Path(path)
        existing = next((p for p in (path, *path.parents) if p.exists()), None)
        if existing is not None and not existing.is_dir() and (existing != path or code != errno.ENOENT):
            return f"{existing} is a file, not a folder"
        if code == errno.ENOENT and existing is not None and existing.is_dir():
            if existing == path.parent:
                return f"{existing} does not allow new files in it"
            if existing != path:
                return f"there is no folder {path.parent}"
    return os_reason(exc)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()


def atomic_write(
    path: Path, write: Callable[[Any], None], mode: str = "wb", make_folder: bool = False
) -> None:
    """Call ``write(fileobj)`` on a temp file and rename it to ``path`` once complete.

    The folder must exist (``make_folder`` creates the last one). A crash mid-write
    leaves the previous file untouched (a kill may leave a ``.NAME.*.tmp``
    file beside it, which ``remove_temp_files`` cleans up).

    Raises:
        SaveFailed: the folder or file cannot be written (disk full, file-size limit,
            folder removed, no permission ...).
    """
    path = Path(path)
    if path.is_symlink():  # replace what the link points to, not the link
        path = Path(os.path.realpath(path))
    if path.exists() and not path.is_file():
        raise SaveFailed(
            path, "it exists and is not a regular file (a folder, device or pipe); choose a file"
        )
    tmp = None
    try:
        if make_folder:
            # Only the last folder (e.g. a run's checkpoints/), never its parents: a run
            # folder removed mid-run must fail the write, not be silently made again.
            path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
        os.fchmod(fd, FILE_MODE)
        # a file name that is not UTF-8 (Python holds its bytes as surrogates) is written
        # as "\udcff": a report naming it must not fail, as import_report.txt did
        text_mode = {"encoding": "utf-8", "errors": "backslashreplace"}
        with os.fdopen(fd, mode, **({} if "b" in mode else text_mode)) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, Exception) and not isinstance(exc, SaveFailed):
            raise SaveFailed(path, write_reason(path, exc)) from exc
        raise


def remove_temp_files(folder: Path) -> list[Path]:
    """Delete temp files left by ``atomic_write`` in ``folder`` and its sub-folders (a kill
    mid-write leaves them). Only for a folder no other process is writing to."""
    removed = []
    if not Path(folder).is_dir():
        return removed
    for tmp in Path(folder).rglob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed.append(tmp)
    return removed


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda fh: fh.write(text), mode="w")


def json_safe(obj: Any, nulled: list[str] | None = None, where: str = "") -> Any:
    """``obj`` with every non-finite float replaced by None (JSON ``null``).

    Standard JSON has no NaN or Infinity. The paths of replaced values are appended to
    ``nulled`` so the writer can say why a value is missing.
    """
    if isinstance(obj, float) and not math.isfinite(obj):
        if nulled is not None:
            nulled.append(where or "(value)")
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v, nulled, f"{where}.{k}" if where else str(k)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v, nulled, f"{where}[{i}]") for i, v in enumerate(obj)]
    return obj


def dumps_json_line(obj: Any) -> str:
    """One line of strict JSON (non-finite floats become null)."""
    return json.dumps(json_safe(obj), allow_nan=False)


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write strict JSON atomically; non-finite floats become null (see ``json_safe``).

    When ``obj`` is a dict and a value had to be nulled, the key ``NULLED_KEY`` lists where,
    so a reader can tell "not finite" from "undefined".
    """
    nulled: list[str] = []
    data = json_safe(obj, nulled)
    if nulled and isinstance(data, dict):
        data[NULLED_KEY] = sorted(set(data.get(NULLED_KEY) or []) | set(nulled))
    atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


NULLED_KEY = "null_because_not_finite"


class SmallFileError(OSError):
    """A file that ``read_small_file`` will not read (its message says why)."""


def read_small_file(path: Path, limit: int, wait_s: float = 15.0) -> bytes:
    """The bytes of a small input file (a config): a regular file, or a pipe such as a
    shell's ``<(...)``, read up to ``limit`` bytes.

    Raises SmallFileError for a device (``/dev/zero`` would fill the memory), a socket, a
    file over ``limit`` bytes, or a pipe nothing is written to within ``wait_s`` seconds (a
    named pipe without a writer hung for ever); OSError as ``open`` raises it."""
    import select
    import stat

    mode = os.stat(path).st_mode
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        raise SmallFileError(f"{path}: a device or socket, not a file")
    if stat.S_ISREG(mode):
        if os.stat(path).st_size > limit:
            raise SmallFileError(f"{path}: larger than {limit // 2**20} MiB, not a file of this kind")
        return Path(path).read_bytes()
    if not stat.S_ISFIFO(mode):
        return Path(path).read_bytes()  # a folder: open says so in its own words
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a named pipe without a writer must not hang here
    chunks, size = [], 0
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], wait_s)
            if not ready:
                raise SmallFileError(f"{path}: a pipe that nothing was written to within {wait_s:g} s")
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise SmallFileError(f"{path}: gives more than {limit // 2**20} MiB, not a file of this kind")
    finally:
        os.close(fd)
