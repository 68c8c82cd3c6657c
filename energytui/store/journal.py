"""The write-ahead journal: the durability point of every reading.

``<root>/journal.jsonl`` is JSON lines, opened ``O_APPEND``: a header line
``{"energytui_journal": 1, "gen": "<random>"}`` and then one line per record,
``{"s": "<series>", "r": {<record>}}``. :meth:`JournalWriter.append` writes the
lines and ``fdatasync``s before it returns, so an acknowledged reading survives
a crash or a power cut (as far as the disk honours the sync).

When the store folds the journal into shard files it first *rotates* it: the
current file is renamed ``journal-<n>.jsonl`` and a fresh one takes its place,
so appends never wait for the fold. Rotated files are deleted once their
records are safely in shard files. On open, every journal file is replayed in
order; a torn last line (a crash in the middle of an append) is dropped and cut
off, every complete line is kept.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from energytui.store import storage
from energytui.store.errors import StoreError
from energytui.store.records import check_series, normalize
from energytui.store.storage import atomic_write, fsync_dir, write_all

log = logging.getLogger("energytui.store")

CURRENT = "journal.jsonl"
ROTATED_RE = re.compile(r"journal-(\d{1,12})\.jsonl")
HEADER_KEY = "energytui_journal"

Entry = tuple[str, int, dict]  # (series, ts_ms, record)


def encode_line(series: str, record: dict) -> bytes:
    return (
        json.dumps({"s": series, "r": record}, separators=(",", ":"), allow_nan=False).encode()
        + b"\n"
    )


def _header() -> bytes:
    return json.dumps({HEADER_KEY: 1, "gen": secrets.token_hex(8)}).encode() + b"\n"


def parse(data: bytes, where: str) -> tuple[list[Entry], int, str | None]:
    """Complete lines of ``data`` → (entries, bytes consumed, header gen).

    Bytes after the last newline are a torn line and are not consumed. A complete
    line that is not a valid record is skipped with a warning.
    """
    end = data.rfind(b"\n") + 1
    out: list[Entry] = []
    gen = None
    bad = 0
    for line in data[:end].split(b"\n"):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if HEADER_KEY in obj:
                gen = obj.get("gen")
                continue
            series = check_series(obj["s"])
            ts, rec = normalize(series, obj["r"])
        except (ValueError, KeyError, TypeError, StoreError):
            bad += 1
            continue
        out.append((series, ts, rec))
    if bad:
        log.warning(
            "journal %s: skipped %d damaged line(s); kept %d record(s).", where, bad, len(out)
        )
    return out, end, gen


def journal_files(root: Path) -> list[Path]:
    """Rotated journals oldest first, then the current one (those that exist)."""
    rotated = []
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    for name in names:
        m = ROTATED_RE.fullmatch(name)
        if m:
            rotated.append((int(m.group(1)), root / name))
    files = [p for _, p in sorted(rotated)]
    if CURRENT in names:
        files.append(root / CURRENT)
    return files


class JournalWriter:
    """The writer's side of the journal (see module doc)."""

    def __init__(self, root: Path, *, fsync: bool = True, on_write: Callable[[int], None]) -> None:
        self.root = root
        self.path = root / CURRENT
        self.fsync = fsync
        self.on_write = on_write
        self.rotated: list[Path] = []
        self._fd: int | None = None
        self._size = 0
        self._next_n = 1

    # -- open ----------------------------------------------------------------
    def recover(self) -> list[Entry]:
        """Replay every journal file; cut a torn tail off the current one."""
        entries: list[Entry] = []
        self.rotated = []
        for path in journal_files(self.root):
            data = path.read_bytes()
            got, end, _ = parse(data, path.name)
            entries.extend(got)
            if path.name == CURRENT:
                if end < len(data):
                    log.warning(
                        "journal %s: dropped a torn last line (%d bytes) left by a crash;"
                        " kept %d complete record(s).",
                        path.name,
                        len(data) - end,
                        len(got),
                    )
                    fd = os.open(path, os.O_WRONLY)
                    try:
                        storage.seam.ftruncate(fd, end)
                        if self.fsync:
                            storage.seam.fsync(fd)
                    finally:
                        os.close(fd)
            else:
                self.rotated.append(path)
                m = ROTATED_RE.fullmatch(path.name)
                assert m is not None  # journal_files lists only the current and rotated names
                n = int(m.group(1))
                self._next_n = max(self._next_n, n + 1)
        return entries

    def open(self) -> int:
        """Open (creating if need be) the current journal for appending; its descriptor."""
        if not self.path.exists():
            self._create()
        fd = self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._size = os.fstat(fd).st_size
        return fd

    def _create(self) -> None:
        header = _header()
        atomic_write(self.path, header, fsync=self.fsync)
        self.on_write(len(header))

    # -- use -----------------------------------------------------------------
    def append(self, data: bytes) -> None:
        """Append whole lines and sync: when this returns, they are durable."""
        fd = self._fd
        if fd is None:
            fd = self.open()  # a failed rotation left no journal open: start one
        try:
            write_all(fd, data)
            if self.fsync:
                storage.seam.fdatasync(fd)
        except OSError:
            # never leave half a line for the next append to glue onto
            with contextlib.suppress(OSError):
                storage.seam.ftruncate(fd, self._size)
            raise
        self._size += len(data)
        self.on_write(len(data))

    def lost(self) -> str | None:
        """None while the open journal is still the file at its path; else one sentence.

        A journal deleted or replaced under a running writer (by hand, or by another
        process that wrongly became a writer) must not be appended to: the lines
        would go to a file nobody can read again."""
        fd = self._fd
        if fd is None:
            return None
        held = os.fstat(fd)
        if held.st_nlink == 0:
            return f"the journal {self.path} was deleted while this process was writing it"
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return f"the journal {self.path} was moved away while this process was writing it"
        if (st.st_ino, st.st_dev) != (held.st_ino, held.st_dev):
            return (
                f"the journal {self.path} was replaced while this process was writing it"
                " (another process is writing this store)"
            )
        return None

    @property
    def size(self) -> int:
        return self._size

    def rotate(self) -> None:
        """Move the current journal aside (to be folded) and start a fresh one."""
        name = self.root / f"journal-{self._next_n:06d}.jsonl"
        self._next_n += 1
        old = self._fd
        storage.seam.rename(self.path, name)
        self.rotated.append(name)
        self._fd = None
        if old is not None:
            os.close(old)
        self._create()  # atomic_write fsyncs the directory: both renames are durable
        self.open()

    def drop_rotated(self, upto: int | None = None) -> None:
        """Delete rotated journals (the first ``upto``, or all): their records are in shards.

        One that cannot be deleted now (a disk error) stays listed: folding it again
        later gives the same files, so it is only deleted then."""
        victims = self.rotated[: len(self.rotated) if upto is None else upto]
        kept: list[Path] = []
        for path in victims:
            try:
                storage.seam.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("journal %s: could not delete it after folding (%s).", path.name, exc)
                kept.append(path)
        self.rotated = kept + self.rotated[len(victims) :]
        if victims and self.fsync:
            try:
                fsync_dir(self.root)
            except OSError as exc:
                log.warning(
                    "journal: could not sync %s after deleting folded journals (%s).",
                    self.root,
                    exc,
                )

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass
class _FileState:
    ino: int
    gen: str | None
    offset: int = 0
    entries: list[Entry] = field(default_factory=list)


class JournalReader:
    """A read-only view of the journal that picks up new lines on every call."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, _FileState] = {}

    def read(self) -> list[Entry]:
        for _ in range(5):
            before = [p.name for p in journal_files(self.root)]
            try:
                out = self._read(before)
            except FileNotFoundError:
                continue  # rotated or dropped under our feet: look again
            after = [p.name for p in journal_files(self.root)]
            if after == before:
                return out
        return out

    def _read(self, names: list[str]) -> list[Entry]:
        out: list[Entry] = []
        for name in names:
            path = self.root / name
            with open(path, "rb") as fh:
                st = os.fstat(fh.fileno())
                head = fh.read(256)
                gen = None
                if head.startswith(b'{"' + HEADER_KEY.encode()):
                    try:
                        gen = json.loads(head[: head.index(b"\n")]).get("gen")
                    except ValueError:
                        gen = None
                state = self._files.get(name)
                if (
                    state is None
                    or state.ino != st.st_ino
                    or state.gen != gen
                    or st.st_size < state.offset
                ):
                    state = _FileState(st.st_ino, gen)
                    self._files[name] = state
                if st.st_size > state.offset:
                    fh.seek(state.offset)
                    data = fh.read(st.st_size - state.offset)
                    got, end, _ = parse(data, name)
                    state.entries.extend(got)
                    state.offset += end
            out.extend(state.entries)
        for gone in set(self._files) - set(names):
            del self._files[gone]
        return out
