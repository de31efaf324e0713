"""Decoded, resized images kept between epochs, so the second epoch decodes no JPEG.

In memory up to ``memory_bytes`` (least recently used first out); what does not fit goes
to ``.npy`` files in ``disk_dir`` (beside the run) when one is given. An entry is keyed by
the file's path, size and modification time and by the caller's ``variant`` (e.g. the
input size), so an edited image is decoded again. A damaged cache file is decoded again
and rewritten, never an error.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class CacheStats:
    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0


class ImageCache:
    def __init__(self, memory_bytes: int = 512 * 2**20, disk_dir: str | Path | None = None) -> None:
        self.memory_bytes = memory_bytes
        self.disk_dir = Path(disk_dir) if disk_dir is not None else None
        self.stats = CacheStats()
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._used = 0

    def get(self, path: str | Path, variant: str, load: Callable[[], np.ndarray]) -> np.ndarray:
        """The cached array for ``path`` at ``variant``, else ``load()`` (then cached).

        Raises what ``load`` raises (OSError for a file that is gone)."""
        key = self._key(Path(path), variant)
        array = self._memory.get(key)
        if array is not None:
            self._memory.move_to_end(key)
            self.stats.memory_hits += 1
            return array
        array = self._read_disk(key)
        if array is not None:
            self.stats.disk_hits += 1
        else:
            self.stats.misses += 1
            array = np.ascontiguousarray(load())
            array.setflags(write=False)  # shared between epochs: nobody may change it
        self._keep(key, array)
        return array

    @staticmethod
    def _key(path: Path, variant: str) -> str:
        st = path.stat()
        text = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{variant}"
        return hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()

    def _keep(self, key: str, array: np.ndarray) -> None:
        if array.nbytes <= self.memory_bytes:
            self._memory[key] = array
            self._used += array.nbytes
            while self._used > self.memory_bytes:
                old_key, old = self._memory.popitem(last=False)
                self._used -= old.nbytes
                self._write_disk(old_key, old)
        else:
            self._write_disk(key, array)

    def _disk_path(self, key: str) -> Path | None:
        return self.disk_dir / f"{key}.npy" if self.disk_dir is not None else None

    def _read_disk(self, key: str) -> np.ndarray | None:
        path = self._disk_path(key)
        if path is None or not path.is_file():
            return None
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            path.unlink(missing_ok=True)  # damaged: decoded again and rewritten
            return None
        array.setflags(write=False)
        return array

    def _write_disk(self, key: str, array: np.ndarray) -> None:
        path = self._disk_path(key)
        if path is None or path.is_file():
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "wb") as f:
                np.save(f, array, allow_pickle=False)
            os.replace(tmp, path)
        except OSError:
            pass  # a full disk only costs speed: the image is decoded again next time
