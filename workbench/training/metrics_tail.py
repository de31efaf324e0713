"""Reading a run's ``metrics.jsonl`` as it grows, from another process or machine.

A run written elsewhere (a headless job, a ``torchrun`` job on a shared folder) appends
one JSON line per step and per epoch. ``MetricsTail`` hands out the complete lines added
since its last read; a line still being written waits for its newline. When the file got
shorter (a resume drops log lines beyond its checkpoint), reading starts over and
``restarted`` says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.training.run_store import parse_metrics_lines


class MetricsTail:
    """New records of ``path`` (a metrics.jsonl) since the last ``read_new``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.offset = 0  # bytes consumed: always at the end of a complete line
        self.restarted = False
        self.skipped = 0  # lines that were not JSON records (damage), as RunStore counts them

    def read_new(self) -> list[dict[str, Any]]:
        """Records of the complete lines added since the last call (all of them the first
        time, or after the file shrank, with ``restarted`` True). A missing or unreadable
        file gives []."""
        self.restarted = False
        try:
            size = self.path.stat().st_size
            if size < self.offset:
                self.offset, self.restarted = 0, True
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        records, skipped = parse_metrics_lines(data[: end + 1])
        self.skipped += skipped
        return records
