"""The single-writer lock: an ``fcntl.flock`` on ``<root>/.writer.lock``.

The kernel drops the lock when the holder's process dies (SIGKILL and power cuts
included), so there is never a stale lock to clean up. The holder writes its pid
into the file so a second process can say who is writing.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = ".writer.lock"


class WriterLock:
    def __init__(self, root: Path) -> None:
        self.path = root / LOCK_NAME
        self._fd: int | None = None
        self.holder_pid: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Try to become the writer; False (and ``holder_pid``) if another process is."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.holder_pid = _read_pid(fd)
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the pid is a courtesy; the flock is what counts
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None
