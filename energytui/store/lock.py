"""The single-writer lock: an ``fcntl.flock`` on the store directory itself.

The lock is taken on a descriptor of ``<root>`` (opened read-only), not on a file
inside it: a file can be deleted and created again while its holder runs, and a
new file is a new lock, so a second writer would get in (and fold and delete the
first one's journal). The directory cannot be swapped under a running writer
without the writer noticing (:meth:`WriterLock.intact` compares the path with the
held descriptor). The kernel drops the lock when the holder's process dies
(SIGKILL and power cuts included), so there is never a stale lock to clean up.

``<root>/.writer.lock`` is still written with the holder's pid (and flocked too,
for energytui versions that locked only the file), so a second process can say
who is writing; deleting it changes nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_NAME = ".writer.lock"


class WriterLock:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / LOCK_NAME
        self._dir_fd: int | None = None
        self._fd: int | None = None
        self.holder_pid: int | None = None

    @property
    def held(self) -> bool:
        return self._dir_fd is not None

    def acquire(self) -> bool:
        """Try to become the writer; False (and ``holder_pid``) if another process is."""
        dir_fd = os.open(self.root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            fcntl.flock(dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(dir_fd)
            self.holder_pid = self._peek_pid()
            return False
        except BaseException:
            os.close(dir_fd)
            raise
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            fd = None  # a read-only or full directory: the caller finds out on its first write
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # an older energytui holds the file lock
                self.holder_pid = _read_pid(fd)
                os.close(fd)
                fcntl.flock(dir_fd, fcntl.LOCK_UN)
                os.close(dir_fd)
                return False
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            except OSError:
                pass  # the pid is a courtesy; the flock on the directory is what counts
        self._dir_fd = dir_fd
        self._fd = fd
        return True

    def intact(self) -> str | None:
        """None while the locked directory is still the one at ``root``; else one sentence."""
        if self._dir_fd is None:
            return "the writer lock is not held."
        try:
            st = os.stat(self.root)
        except OSError:
            return f"the store directory {self.root} was removed while this process wrote it."
        held = os.fstat(self._dir_fd)
        if (st.st_ino, st.st_dev) != (held.st_ino, held.st_dev):
            return f"the store directory {self.root} was replaced while this process wrote it."
        return None

    def _peek_pid(self) -> int | None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return None
        try:
            return _read_pid(fd)
        finally:
            os.close(fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        dir_fd, self._dir_fd = self._dir_fd, None
        for f in (fd, dir_fd):
            if f is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(f, fcntl.LOCK_UN)
                os.close(f)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None
