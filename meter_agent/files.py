"""Durable writes for the agent's files: the small state files replaced whole (reader
state, config, digit examples, the rewritten history and outbox) and the append-only
line files (``history.jsonl``, ``outbox.jsonl``, ``outbox.delivered``,
``outbox.refused.jsonl``).

Why one module: a Pi loses power without warning and its card fills up. A file replaced
in place can be left half written; written to a temporary file, fsync'd, renamed over
the old one and the folder fsync'd, it is either the old file or the new one after a
crash. An append that fails half way (ENOSPC, EIO, a short write) must not leave its
half line behind: the next line would be glued onto it and both would be dropped as a
torn write at the next start, although the second one was acknowledged. So
:func:`append_line` cuts a failed append back to the file's good length, and when even
that fails it remembers the file as dirty and repairs it before the next append.

Every system call that writes goes through :data:`ops`, so the fault tests
(``tests/meter_agent/test_faults.py``) can make any of them fail like a full or broken
card without touching the rest of the process.
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class Ops:
    """The writing system calls, one seam to inject faults at (see the module docstring)."""

    def write(self, fd: int, data: bytes) -> int:
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def replace(self, src: str | Path, dst: str | Path) -> None:
        os.replace(src, dst)

    def ftruncate(self, fd: int, length: int) -> None:
        os.ftruncate(fd, length)


#: the calls every write of this module makes; a test may swap in a failing one
ops = Ops()

# append-only files whose last append failed and could not be cut back: path -> the
# length they had before it (everything up to there is whole lines)
_dirty: dict[str, int] = {}
_dirty_lock = threading.Lock()


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` (a short write is continued; zero progress is EIO)."""
    view = memoryview(data)
    while view:
        n = ops.write(fd, view.tobytes())
        if n <= 0:
            raise OSError(errno.EIO, "the write made no progress")
        view = view[n:]


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (POSIX needs the folder synced too)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        ops.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data``: temporary file, fsync, rename, folder fsync.
    ``mode`` sets the permissions first (0o600 for a file holding a token). On any
    failure the old file is untouched and the temporary one is removed."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        try:
            write_all(fd, data)
            ops.fsync(fd)
        finally:
            os.close(fd)
        if mode is not None:
            os.chmod(tmp, mode)
        ops.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with _dirty_lock:  # replaced whole: whatever a failed append left is gone with it
        _dirty.pop(str(path), None)
    fsync_dir(path.parent)


def set_aside(path: Path) -> Path:
    """Move a damaged file to ``<name>.damaged`` (kept for a person to look at, never
    read again) and say where it went; where it cannot be moved, it stays put."""
    aside = path.with_name(path.name + ".damaged")
    try:
        os.replace(path, aside)
    except OSError:
        return path
    return aside


def _whole_lines_length(fd: int, size: int) -> int:
    """The length of ``fd``'s content up to and including its last newline."""
    pos = size
    chunk = 4096
    while pos > 0:
        start = max(0, pos - chunk)
        data = os.pread(fd, pos - start, start)
        cut = data.rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        pos = start
    return 0


def append_line(path: Path, line: str) -> None:
    """Append one line and fsync it: once this returns, the line survives a power cut.

    That is the durability promised to a caller: the line and its newline are on the
    card (``fsync`` returned) before this returns; if it raises, the line is not in the
    file — a failed append is cut back to the length the file had, and if even that
    cannot be done the file is marked dirty and cut back before the next append (and a
    torn last line left by a crash is cut there too), so a later line is never glued
    onto a half one.
    """
    if "\n" in line:
        raise ValueError("an appended line must not hold a newline")
    key = str(path)
    data = (line + "\n").encode("utf-8")
    new = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        with _dirty_lock:
            good = _dirty.get(key)
        if good is not None and good <= size:
            ops.ftruncate(fd, good)
            size = good
            log.warning("%s: the part of a failed append was cut off", path)
        good = _whole_lines_length(fd, size) if size else 0
        if good != size:  # a torn line (a crash, or a failed append nobody could cut)
            ops.ftruncate(fd, good)
            log.warning("%s ended in a torn line (%d bytes); cut off", path, size - good)
        with _dirty_lock:
            _dirty.pop(key, None)
        try:
            os.lseek(fd, good, os.SEEK_SET)
            write_all(fd, data)
            ops.fsync(fd)
        except BaseException:
            try:
                ops.ftruncate(fd, good)
                ops.fsync(fd)
            except OSError:
                with _dirty_lock:
                    _dirty[key] = good
            raise
    finally:
        os.close(fd)
    if new:
        fsync_dir(path.parent)
