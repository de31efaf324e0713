"""Config files that are not files: /dev/zero filled the memory, a named pipe without a
writer hung for ever, a 5 MB file was parsed. Each is refused in one line naming it; a
shell's <(...) still works."""

from __future__ import annotations

import os
import threading

import pytest

from workbench.config import ConfigError, config_to_toml, default_experiment, load_config
from workbench.fsutil import SmallFileError, read_small_file


def test_a_device_and_a_large_file_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file /dev/zero: a device or socket"):
        load_config("/dev/zero")
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (4 * 2**20 + 1))
    with pytest.raises(ConfigError, match=f"{big}: larger than 4 MiB"):
        load_config(big)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_is_read_and_a_silent_one_refused_in_time(tmp_path):
    fifo = tmp_path / "exp.toml"
    os.mkfifo(fifo)
    with pytest.raises(SmallFileError, match="nothing was written to within 0.5 s"):
        read_small_file(fifo, 2**20, wait_s=0.5)
    text = config_to_toml(default_experiment())

    def write() -> None:
        with open(fifo, "w") as f:  # blocks until the reader has opened it
            f.write(text)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert load_config(fifo).name == default_experiment().name  # as a shell's <(...) gives it
    finally:
        writer.join(10)
