"""Atomic file writes and the TinyDB Storage that uses them.

Every file the store writes goes through :func:`atomic_write`: a temporary file
in the same directory, ``fsync``, ``os.replace`` over the target, then an
``fsync`` of the directory so the rename itself survives a power cut. A crash
leaves either the old file or the new one, never a mix; at worst a stray
``*.tmp`` that the next writer deletes when it opens the store.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document, Table

TMP_SUFFIX = ".tmp"
TABLE = "_default"  # TinyDB's default table: the files open with a plain TinyDB(path) too


class Seam:
    """The calls by which the store changes files: write, sync, rename, cut, delete.

    Every write of the store goes through the one :data:`seam` instance, so a test
    can put a subclass in its place (:func:`use_seam`) that fails a chosen call
    with ENOSPC or EIO, writes only part of the bytes, or models a power cut, and
    then check that every acknowledged reading is still there. The defaults are
    the plain ``os`` calls.
    """

    def write(self, fd: int, data: memoryview) -> int:
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def fdatasync(self, fd: int) -> None:
        os.fdatasync(fd)

    def replace(self, src: Path, dst: Path) -> None:
        os.replace(src, dst)

    def rename(self, src: Path, dst: Path) -> None:
        os.rename(src, dst)

    def ftruncate(self, fd: int, length: int) -> None:
        os.ftruncate(fd, length)

    def unlink(self, path: Path) -> None:
        os.unlink(path)


seam = Seam()


def use_seam(new: Seam) -> Seam:
    """Route the store's file calls through ``new``; returns the one it replaces."""
    global seam
    old, seam = seam, new
    return old


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        seam.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = seam.write(fd, view)
        if n <= 0:
            raise OSError(errno.EIO, "a write made no progress")
        view = view[n:]


def atomic_write(path: Path, data: bytes | Callable[[int], int], *, fsync: bool = True) -> int:
    """Replace ``path``: temp file + fsync + os.replace + directory fsync.

    ``data`` is the bytes, or a function that writes them to the file descriptor
    it is given (to stream a large file) and returns how many it wrote.
    Returns the number of bytes written.
    """
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}{TMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            if callable(data):
                n = data(fd)
            else:
                write_all(fd, data)
                n = len(data)
            if fsync:
                seam.fsync(fd)
        finally:
            os.close(fd)
        seam.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            seam.unlink(tmp)
        raise
    if fsync:
        fsync_dir(path.parent)
    return n


_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
#: Tables bigger than this are serialised a slice at a time, not as one string.
STREAM_DOCS = 2000


def _stream(data: dict[str, dict[str, Any]]) -> Callable[[int], int]:
    """Write ``data`` exactly as ``json.dumps(data, separators=(",", ":"))`` would,
    without holding the whole text (and its bytes) in memory at once."""

    def writer(fd: int) -> int:
        total = 0

        def put(text: str) -> None:
            nonlocal total
            raw = text.encode()
            write_all(fd, raw)
            total += len(raw)

        put("{")
        for ti, (name, table) in enumerate(data.items()):
            put(("," if ti else "") + _encode(name) + ":{")
            buf: list[str] = []
            for di, (doc_id, doc) in enumerate(table.items()):
                buf.append(("," if di else "") + _encode(doc_id) + ":" + _encode(doc))
                if len(buf) >= 500:
                    put("".join(buf))
                    buf.clear()
            put("".join(buf) + "}")
        put("}")
        return total

    return writer


class CorruptFile(ValueError):
    """A shard file that is not a TinyDB JSON database."""


class AtomicJSONStorage(Storage):
    """TinyDB storage: reads the whole file, writes it atomically (see module doc).

    ``fresh=True`` makes the database start empty even if the file exists, so one
    ``insert_multiple`` replaces the file in a single atomic write. ``on_write``
    is told how many bytes each write put on disk.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        fresh: bool = False,
        fsync: bool = True,
        on_write: Callable[[int], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.fresh = fresh
        self.fsync = fsync
        self.on_write = on_write

    def read(self) -> dict[str, dict[str, Any]] | None:
        if self.fresh:
            return None
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        if not raw.strip():
            raise CorruptFile("the file is empty")
        try:
            data = json.loads(raw)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise CorruptFile(str(exc)) from None
        if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
            raise CorruptFile("the file is JSON but not a TinyDB database")
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        if sum(len(t) for t in data.values()) > STREAM_DOCS:
            n = atomic_write(self.path, _stream(data), fsync=self.fsync)
        else:
            n = atomic_write(self.path, _encode(data).encode(), fsync=self.fsync)
        self.fresh = False
        if self.on_write is not None:
            self.on_write(n)


def _pair(doc: dict, doc_id: int) -> tuple[int, dict]:
    return doc_id, doc


class _PairTable(Table):
    """A read-only table that yields (id, document) without copying each document.

    (TinyDB's ``document_class`` hook; the default ``Document`` copies every dict,
    which doubles the memory a large shard needs while it is read.)
    """

    document_class = staticmethod(_pair)  # type: ignore[assignment]


class _ReadDB(TinyDB):
    table_class = _PairTable


def read_shard(path: Path) -> dict[int, dict]:
    """All documents of one shard file, by id (the id is the time in ms)."""
    db = _ReadDB(path, storage=AtomicJSONStorage)
    try:
        if not path.exists():
            raise FileNotFoundError(path)
        try:
            out = {}
            for doc_id, doc in db.table(TABLE, cache_size=0):
                if not isinstance(doc, dict) or not isinstance(doc.get("ts"), str):
                    raise CorruptFile(f"document {doc_id} is not a record with a ts")
                out[doc_id] = doc
            return out
        except CorruptFile:
            raise
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise CorruptFile(f"its contents are not records ({exc})") from None
    finally:
        db.close()


def write_shard(
    path: Path,
    docs: dict[int, dict],
    *,
    fsync: bool = True,
    on_write: Callable[[int], None] | None = None,
) -> int:
    """Write ``docs`` as a brand-new TinyDB file at ``path`` (one atomic write); returns bytes."""
    written = []

    def count(n: int) -> None:
        written.append(n)
        if on_write is not None:
            on_write(n)

    db = TinyDB(path, storage=AtomicJSONStorage, fresh=True, fsync=fsync, on_write=count)
    try:
        db.table(TABLE, cache_size=0).insert_multiple(
            Document(docs[k], doc_id=k) for k in sorted(docs)
        )
    finally:
        db.close()
    return sum(written)
