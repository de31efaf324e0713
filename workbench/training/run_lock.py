"""Who is training a run right now: a lock file with the process id and a heartbeat.

``RUN_DIR/.lock`` holds JSON ``{"pid", "host", "started"}`` and is touched (mtime) at least
every ``HEARTBEAT_S`` seconds while the run trains, pauses or validates. A run whose
summary says "running" or "paused" but whose lock is gone, names a dead process on this
host (or a process started after the lock was written: its PID was reused), or has not
been touched for ``STALE_S`` seconds (another host) is *interrupted*: its
process was killed (SIGKILL, power loss) before it could say so. The lock also keeps two
processes from resuming one run at once.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = ".lock"
_HELD: set[str] = set()  # locks held by this process (the app may train one run while asked to resume it)
HEARTBEAT_S = 5.0
STALE_S = 120.0


class RunBusy(RuntimeError):
    """Another live process is training this run."""


@dataclass(frozen=True)
class LockInfo:
    pid: int
    host: str
    started: float
    touched: float  # mtime of the lock file


def read_lock(run_dir: Path) -> LockInfo | None:
    path = Path(run_dir) / LOCK_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        touched = path.stat().st_mtime
        pid = data["pid"]
        # a PID is a positive int the kernel can hold (pid_max is at most 2**22 on Linux);
        # true, 1.5 or 10**20 were read as process 1, 1, or an OverflowError in os.kill
        if type(pid) is not int or not 0 < pid < 2**31:
            return None
        return LockInfo(pid, str(data["host"]), float(data["started"]), touched)
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (a process that has ended and
    waits for its parent to read its exit status: it trains nothing)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OverflowError:
        return False
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return stat[stat.rindex(")") + 2 :].split()[0] in ("Z", "X")
    except (OSError, ValueError, IndexError):
        return False


_BOOT_TIME: list[float] = []  # /proc/stat's btime, read once


def process_start(pid: int) -> float | None:
    """When process ``pid`` started, in seconds since the epoch (Linux ``/proc``; None
    where that is not known). From ``/proc/PID/stat`` field 22 (start time in clock ticks
    after boot, proc(5)) and ``/proc/stat``'s ``btime``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        ticks = int(stat[stat.rindex(")") + 2 :].split()[19])  # fields after the name start at 3
        if not _BOOT_TIME:
            lines = Path("/proc/stat").read_text(encoding="ascii", errors="replace").splitlines()
            _BOOT_TIME.append(float(next(line.split()[1] for line in lines if line.startswith("btime "))))
        return _BOOT_TIME[0] + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


# the lock is written after its process started; btime is whole seconds and the clock may
# be stepped, so a process that started this much after the lock cannot be its writer
PID_REUSE_SLACK_S = 5.0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def lock_is_live(info: LockInfo | None, now: float | None = None) -> bool:
    """True while the process named by the lock is (as far as one can tell) still training."""
    if info is None:
        return False
    if info.host == socket.gethostname():
        if not _pid_alive(info.pid):
            return False
        # the PID of a process gone may belong to a new one now (PIDs wrap): a run killed
        # long ago stayed "running", and its resume was refused
        began = process_start(info.pid)
        return began is None or began <= info.started + PID_REUSE_SLACK_S
    return (now if now is not None else time.time()) - info.touched < STALE_S


class RunLock:
    """Held by the process that trains a run; ``beat()`` is cheap to call every step."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self._last_beat = 0.0
        self.held = False

    def acquire(self) -> None:
        """Take the lock, replacing a stale one.

        Raises:
            RunBusy: a live process (not this one) holds it.
        """
        from workbench.fsutil import SaveFailed, os_reason

        key = os.path.realpath(self.path)
        if key in _HELD:
            raise RunBusy(f"{self.path.parent} is being trained by this process; stop that run first")
        content = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()})
        for _attempt in range(2):
            try:
                # O_EXCL: of two processes taking the lock at the same moment, one fails here.
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                info = read_lock(self.path.parent)
                if info is not None and lock_is_live(info) and info.pid != os.getpid():
                    raise RunBusy(
                        f"{self.path.parent} is being trained by process {info.pid} on {info.host}; "
                        "stop that run first"
                    ) from None
                if info is None and time.time() - _mtime(self.path) < 2.0:
                    raise RunBusy(f"{self.path.parent} is being started by another process") from None
                with contextlib.suppress(FileNotFoundError):  # stale: its process is gone
                    self.path.unlink()
                continue
            except OSError as exc:
                if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):  # the folder, not the lock
                    raise SaveFailed(
                        self.path.parent,
                        f"{os_reason(exc)}; a run trains in its own folder: copy the folder to one you "
                        "can write and resume the copy",
                    ) from exc
                raise SaveFailed(self.path, os_reason(exc)) from exc
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(content)
            except OSError as exc:  # e.g. a full disk: the run cannot start, and says where
                with contextlib.suppress(OSError):
                    self.path.unlink()
                raise SaveFailed(self.path, os_reason(exc)) from exc
            _HELD.add(key)
            self.held = True
            self._last_beat = time.monotonic()
            return
        raise RunBusy(f"{self.path.parent} is being started by another process")

    def beat(self) -> None:
        if not self.held:
            return
        now = time.monotonic()
        if now - self._last_beat >= HEARTBEAT_S:
            self._last_beat = now
            with contextlib.suppress(OSError):  # a missing folder shows up at the next save
                os.utime(self.path)

    def release(self) -> None:
        if self.held:
            with contextlib.suppress(OSError):
                self.path.unlink()
            _HELD.discard(os.path.realpath(self.path))
            self.held = False
