"""The InfluxDB writer's store-and-forward spool: line protocol in small files on disk.

Why files of whole batches, and no cursor:

* Points are appended to one *open* file (``open-<ms>.lp``); when it holds a batch, or
  when the sender has caught up and the flush interval has passed, it is *sealed*:
  fsynced and renamed to ``<seq>-<ms>.lp`` (``ms``: when its first point was spooled,
  which is how old the oldest unsent point is). The sender posts the oldest sealed
  file whole and deletes it once the server said 2xx. Deleting is the acknowledgement,
  so there is no cursor file to keep in step (and to be torn by a power cut), and a
  crash between the server's answer and the delete sends one batch again at most.
* While the database is down the open file fills to a whole batch before it is sealed,
  so a day's outage is a few hundred files, not one per flush interval.
* The spool is bounded by a number of points: when a new point makes it larger, whole
  sealed files are dropped, oldest first (never the one being sent), and counted. A
  file is at most one batch, so the spool holds between ``max_points - batch`` and
  ``max_points`` points (plus the batch in flight) once it is full.
* A file that cannot be read as our line protocol (a torn write, bit rot, someone's
  editor) is moved into ``corrupt/`` with one sentence; its good lines stay in the
  spool under the same name, so nothing else is lost. A torn last line in the open
  file (a crash in the middle of an append) is the expected damage and is dropped.
* One process owns a spool: ``flock`` on ``.lock``; a second one is refused.

Appends are flushed to the OS at once and fsynced when a file is sealed: a power cut
loses at most what the kernel had not yet written back of the open file, and the SD
card is not worn by an fsync per sample.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SEALED_RE = re.compile(r"^(\d{10})-(\d{13})\.lp$")
OPEN_RE = re.compile(r"^open-(\d{13})\.lp$")
#: one line of line protocol as this writer makes it: measurement and tags (escapes
#: allowed), fields (quoted strings allowed), a millisecond timestamp of 13 digits
LINE_RE = re.compile(
    r"^(?:[^\s\\]|\\.)+ (?:[^\s\\\"=]|\\.)+=(?:[^\s\\\"]|\\.|\"(?:[^\"\\]|\\.)*\")+ \d{13}$"
)


class SpoolBusy(Exception):
    """Another process writes this spool."""


@dataclass
class SpoolFile:
    path: Path
    seq: int
    spooled_ms: int
    points: int


@dataclass(frozen=True)
class SpoolState:
    """One consistent reading of the spool's counters."""

    pending: int  # points on disk, not yet sent
    sent: int  # points the server took, since open()
    dropped: int  # points dropped because the spool was full, since open()
    sealed_files: int  # files waiting for the sender
    open_since_ms: int | None  # when the open file's first point was spooled
    oldest_ms: int | None  # when the oldest unsent point was spooled


@dataclass(frozen=True)
class Batch:
    """A sealed file handed to the sender: send ``body``, then ack() or release()."""

    file: SpoolFile
    body: bytes

    @property
    def points(self) -> int:
        return self.file.points


def valid_line(line: str) -> bool:
    return bool(LINE_RE.match(line))


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _split_lines(data: bytes) -> tuple[list[str], int]:
    """Good lines, and how many were not line protocol (or not UTF-8)."""
    good: list[str] = []
    bad = 0
    for raw in data.split(b"\n"):
        if not raw:
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            bad += 1
            continue
        if valid_line(line):
            good.append(line)
        else:
            bad += 1
    return good, bad


class SpoolWriteError(OSError):
    """Appending failed part-way: ``written`` lines are in the spool, the rest are not."""

    def __init__(self, written: int, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.written = written
        self.cause = cause


class Spool:
    """A bounded directory of line-protocol files, safe to use from two threads."""

    def __init__(
        self,
        directory: Path,
        *,
        max_points: int,
        batch_size: int,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        self.dir = Path(directory)
        self.batch_size = max(1, min(batch_size, max_points))
        self.max_points = max(max_points, self.batch_size)
        self._wall_ms = wall_ms or (lambda: int(time.time() * 1000))
        #: guards the lists and counters below, never held during I/O, so that the
        #: status (read on the event loop) never waits for a slow disk
        self._lock = threading.Lock()
        #: one writer at a time for the open file (held during its I/O)
        self._write_lock = threading.Lock()
        self._sealed: list[SpoolFile] = []  # oldest first
        self._open: SpoolFile | None = None
        self._fh: IO[str] | None = None
        self._in_flight: SpoolFile | None = None
        self._next_seq = 1
        self._lock_fd: int | None = None
        self.dropped = 0
        self.sent = 0
        #: points announced by :meth:`expect` and not yet in a file: counted as pending
        #: so a status never shows a point twice (queue and file) or not at all
        self._incoming = 0

    # -- lifecycle ---------------------------------------------------------------
    def open(self) -> list[str]:
        """Take the spool, repair what a crash left; returns one sentence per repair."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise SpoolBusy(
                f"another energytui process is writing the InfluxDB spool in {self.dir}."
            ) from None
        self._lock_fd = fd
        try:
            return self._scan()
        except BaseException:
            self._lock_fd = None
            os.close(fd)  # let a later start try again
            raise

    def _scan(self) -> list[str]:
        notices: list[str] = []
        with self._lock:
            self._sealed, self._open, self._in_flight = [], None, None
            for p in self.dir.glob("*.tmp"):
                with contextlib.suppress(OSError):
                    p.unlink()
            found: list[tuple[int, int, Path, bool]] = []
            for p in self.dir.iterdir():
                if m := SEALED_RE.match(p.name):
                    found.append((int(m.group(1)), int(m.group(2)), p, False))
                elif m := OPEN_RE.match(p.name):
                    found.append((0, int(m.group(1)), p, True))
            self._next_seq = max((seq for seq, _, _, _ in found), default=0) + 1
            # open files (a crash left them) are sealed in the order they were started
            found.sort(key=lambda f: (f[3], f[0], f[1]))
            for seq, ms, path, was_open in found:
                if was_open:
                    seq = self._next_seq
                    self._next_seq += 1
                f = self._recover(path, seq, ms, was_open, notices)
                if f is not None:
                    self._sealed.append(f)
        return notices

    def _recover(
        self, path: Path, seq: int, ms: int, was_open: bool, notices: list[str]
    ) -> SpoolFile | None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            notices.append(f"InfluxDB spool file {path.name} cannot be read ({exc}); skipped.")
            return None
        if was_open and data and not data.endswith(b"\n"):
            data = data[: data.rfind(b"\n") + 1]  # the append a crash cut short
        good, bad = _split_lines(data)
        target = self.dir / f"{seq:010d}-{ms:013d}.lp"
        if bad:
            aside = self._move_aside(path)
            notices.append(
                f"InfluxDB spool file {path.name} was damaged ({bad} of {bad + len(good)} "
                f"lines unreadable); moved it to {aside} and kept its {len(good)} good points."
            )
            if not good:
                return None
            self._write_atomic(target, good)
        elif not good:
            path.unlink(missing_ok=True)
            return None
        elif was_open or path != target:
            self._write_atomic(target, good)
            path.unlink(missing_ok=True)
        return SpoolFile(target, seq, ms, len(good))

    def _move_aside(self, path: Path) -> Path:
        corrupt = self.dir / "corrupt"
        corrupt.mkdir(exist_ok=True)
        dest = corrupt / path.name
        n = 1
        while dest.exists():
            dest = corrupt / f"{path.name}.{n}"
            n += 1
        os.replace(path, dest)
        return dest

    def _write_atomic(self, target: Path, lines: Sequence[str]) -> None:
        tmp = target.with_name(target.name + ".tmp")
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write("".join(line + "\n" for line in lines))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(self.dir)

    def close(self) -> None:
        """Seal the open file (so the next start sends it) and let the spool go."""
        self.seal()
        with self._lock:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    # -- the spooler's side (one thread; I/O outside the state lock) -----------------
    def expect(self, n: int) -> None:
        """Count ``n`` points about to be appended as pending from now on.

        The sink takes them off its queue and calls this under its queue's lock, so a
        status read under that lock sees each point exactly once.
        """
        with self._lock:
            self._incoming += n

    def append(self, lines: Sequence[str]) -> None:
        """Spool points; seal a full batch; drop the oldest files past the bound.

        Announced lines move from incoming to the open file chunk by chunk. On a disk
        error :class:`SpoolWriteError` says how many were written; the rest stop being
        counted here, because the caller keeps them.
        """
        if not lines:
            return
        written = 0
        try:
            with self._write_lock:
                rest = list(lines)
                while rest:
                    if self._fh is None:
                        ms = self._wall_ms()
                        path = self.dir / f"open-{ms:013d}.lp"
                        self._fh = open(path, "a", encoding="utf-8", newline="\n")  # noqa: SIM115
                        with self._lock:
                            self._open = SpoolFile(path, 0, ms, 0)
                    assert self._open is not None
                    room = self.batch_size - self._open.points
                    chunk, rest = rest[:room], rest[room:]
                    self._fh.write("".join(line + "\n" for line in chunk))
                    self._fh.flush()
                    with self._lock:
                        self._open.points += len(chunk)
                        self._incoming = max(0, self._incoming - len(chunk))
                    written += len(chunk)
                    if self._open.points >= self.batch_size:
                        self._seal()
                self._unlink(self._over_bound())
        except OSError as exc:
            with self._lock:
                self._incoming = max(0, self._incoming - (len(lines) - written))
            raise SpoolWriteError(written, exc) from exc

    def seal(self) -> bool:
        """Make the open file sendable; False when there was nothing to seal."""
        with self._write_lock:
            return self._seal()

    def _seal(self) -> bool:
        f, fh = self._open, self._fh
        if f is None or fh is None:
            return False
        fh.flush()
        os.fsync(fh.fileno())  # the slow part, while the state lock is free
        fh.close()
        self._fh = None
        if f.points == 0:
            f.path.unlink(missing_ok=True)
            with self._lock:
                self._open = None
            return False
        with self._lock:
            seq = self._next_seq
            self._next_seq += 1
        target = self.dir / f"{seq:010d}-{f.spooled_ms:013d}.lp"
        os.replace(f.path, target)
        _fsync_dir(self.dir)
        with self._lock:  # from open to sealed in one step: never counted twice or not at all
            self._open = None
            self._sealed.append(SpoolFile(target, seq, f.spooled_ms, f.points))
        return True

    def _over_bound(self) -> list[Path]:
        """Take the oldest files off the list while over the bound; the caller unlinks."""
        victims: list[Path] = []
        with self._lock:
            while self._pending() > self.max_points:
                victim = next((f for f in self._sealed if f is not self._in_flight), None)
                if victim is None:
                    break
                self._sealed.remove(victim)
                self.dropped += victim.points
                victims.append(victim.path)
        return victims

    @staticmethod
    def _unlink(paths: list[Path]) -> None:
        for path in paths:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

    # -- the sender's side -------------------------------------------------------
    def next_batch(self) -> Batch | None:
        """The oldest sealed file, marked as in flight; None when there is none."""
        while True:
            with self._lock:
                if not self._sealed:
                    return None
                f = self._in_flight = self._sealed[0]
            try:
                return Batch(f, f.path.read_bytes())
            except OSError:
                with self._lock:  # removed or unreadable behind our back: count it lost
                    if f in self._sealed:
                        self._sealed.remove(f)
                        self.dropped += f.points
                    self._in_flight = None

    def ack(self, batch: Batch) -> None:
        """The server took the batch: forget it and count it sent."""
        batch.file.path.unlink(missing_ok=True)  # in flight: nobody else touches it
        with self._lock:
            if batch.file in self._sealed:
                self._sealed.remove(batch.file)
                self.sent += batch.points
            if self._in_flight is batch.file:
                self._in_flight = None
        self._unlink(self._over_bound())

    def release(self, batch: Batch) -> None:
        """Not sent: it stays first in line."""
        with self._lock:
            if self._in_flight is batch.file:
                self._in_flight = None
        self._unlink(self._over_bound())

    def reject(self, batch: Batch) -> Path:
        """The server refused the content itself (resending cannot help): move it aside."""
        rejected = self.dir / "rejected"
        dest = rejected / batch.file.path.name
        try:
            rejected.mkdir(exist_ok=True)
            os.replace(batch.file.path, dest)
        except OSError:
            batch.file.path.unlink(missing_ok=True)
        with self._lock:
            if batch.file in self._sealed:
                self._sealed.remove(batch.file)
            if self._in_flight is batch.file:
                self._in_flight = None
        return dest

    # -- what the status shows (memory only: cheap from the event loop) ------------
    def _pending(self) -> int:
        n = sum(f.points for f in self._sealed)
        return n + (self._open.points if self._open else 0)

    def state(self) -> SpoolState:
        with self._lock:
            times = [f.spooled_ms for f in self._sealed]
            if self._open is not None and self._open.points:
                times.append(self._open.spooled_ms)
            return SpoolState(
                pending=self._pending() + self._incoming,
                sent=self.sent,
                dropped=self.dropped,
                sealed_files=len(self._sealed),
                open_since_ms=self._open.spooled_ms if self._open else None,
                oldest_ms=min(times, default=None),
            )

    @property
    def pending(self) -> int:
        return self.state().pending

    @property
    def incoming(self) -> int:
        """Points announced by :meth:`expect` that are not in a file yet."""
        with self._lock:
            return self._incoming
