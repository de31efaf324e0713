"""The decoded-image cache (issue 7): memory first, then disk, keyed by file and variant."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.data.image_cache import ImageCache


class Loader:
    def __init__(self, value: int, shape=(10, 10, 3)) -> None:
        self.calls, self.value, self.shape = 0, value, shape

    def __call__(self) -> np.ndarray:
        self.calls += 1
        return np.full(self.shape, self.value, np.uint8)


@pytest.fixture
def files(tmp_path):
    paths = []
    for name in "abc":
        path = tmp_path / f"{name}.jpg"
        path.write_bytes(name.encode())
        paths.append(path)
    return paths


def test_second_epoch_comes_from_memory(files):
    cache = ImageCache()
    load = Loader(7)
    first = cache.get(files[0], "128", load)
    second = cache.get(files[0], "128", load)
    assert load.calls == 1 and second is first and not second.flags.writeable
    cache.get(files[0], "256", load)  # another input size is another entry
    assert load.calls == 2
    assert (cache.stats.memory_hits, cache.stats.misses) == (1, 2)


def test_what_does_not_fit_in_memory_goes_to_disk(files, tmp_path):
    cache = ImageCache(memory_bytes=450, disk_dir=tmp_path / "cache")  # one 300-byte image fits
    a, b = Loader(1), Loader(2)
    cache.get(files[0], "v", a)
    cache.get(files[1], "v", b)  # a is pushed out to disk
    again = cache.get(files[0], "v", a)
    assert a.calls == 1 and (again == 1).all() and cache.stats.disk_hits == 1
    big = Loader(3, shape=(20, 20, 3))  # 1,200 bytes: straight to disk
    cache.get(files[2], "v", big)
    assert (cache.get(files[2], "v", big) == 3).all() and big.calls == 1


def test_an_edited_file_is_decoded_again(files):
    cache = ImageCache()
    load = Loader(5)
    cache.get(files[0], "v", load)
    files[0].write_bytes(b"a new, longer picture")
    cache.get(files[0], "v", load)
    assert load.calls == 2


def test_a_damaged_cache_file_is_decoded_again_and_rewritten(files, tmp_path):
    disk = tmp_path / "cache"
    ImageCache(memory_bytes=0, disk_dir=disk).get(files[0], "v", Loader(9))
    (entry,) = disk.glob("*.npy")
    entry.write_bytes(b"not numpy")
    fresh = ImageCache(memory_bytes=0, disk_dir=disk)
    load = Loader(9)
    assert (fresh.get(files[0], "v", load) == 9).all() and load.calls == 1
    assert (np.load(entry) == 9).all()  # rewritten
    assert (ImageCache(memory_bytes=0, disk_dir=disk).get(files[0], "v", Loader(0)) == 9).all()
