"""Shard files: TinyDB databases, one logical file per series per period.

Layout under the store root (``<level>`` is ``raw``, ``1m``, ``15m`` or ``1d``)::

    <level>/<series>/<period>.json                          the base file of a period
    <level>/<series>/<period>.<lo>-<hi>.<first>-<last>.json  a segment written since

Periods are a UTC day for ``raw`` and ``1m``, a month for ``15m`` and a year for
``1d``. Every file is a TinyDB JSON database (default table, document id = the
record's time in ms since the epoch), readable with a plain ``TinyDB(path).all()``;
every file is written once, atomically, and never modified in place.

Why segments: rewriting a whole day file every minute would cost gigabytes a
day of SD-card writes. Instead each fold of the journal writes a small new
segment. ``lo``/``hi`` are a store-wide sequence number, so newer segments sort
later and win when a document id appears twice; ``first``/``last`` are the
oldest and newest document ids inside, so a query or a rollup reads only the
files that overlap the time it needs. Segments of one size class are merged when
:data:`FANOUT` of them pile up (size-tiered, as in an LSM tree), and once a
period is over and quiet everything is merged into its base file: a closed day
is one TinyDB file, writes per day stay a few times the data, and a period never
has more than a few dozen files.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from energytui.store import storage
from energytui.store.records import SERIES_RE, day_key, month_key, period_bounds, year_key
from energytui.store.storage import TMP_SUFFIX, CorruptFile, fsync_dir, read_shard, write_shard

log = logging.getLogger("energytui.store")

LEVELS = ("raw", "1m", "15m", "1d")
BUCKET_MS = {"1m": 60_000, "15m": 900_000, "1d": 86_400_000}
PERIOD_KEY: dict[str, Callable[[int], str]] = {
    "raw": day_key,
    "1m": day_key,
    "15m": month_key,
    "1d": year_key,
}

#: Size-tiered merging: this many segments of one size class merge into one.
FANOUT = 16
#: Segments below this size are size class 0; each class is FANOUT times bigger.
TIER0_BYTES = 16 * 1024
#: A period with more segments than this is merged into its base at once.
MAX_SEGMENTS = 64
#: The cache keeps loaded files adding up to at most this many bytes of JSON (in
#: memory a document takes 3-4 times its JSON size; a full raw day of power
#: readings is about 7 MB of JSON).
CACHE_BYTES = 12_000_000

NAME_RE = re.compile(
    r"(?P<period>\d{4}(?:-\d{2}){0,2})"
    r"(?:\.(?P<lo>\d{1,12})-(?P<hi>\d{1,12})(?:\.(?P<first>\d{1,15})-(?P<last>\d{1,15}))?)?\.json"
)


def tier(size: int) -> int:
    t, bound = 0, TIER0_BYTES
    while size >= bound:
        t += 1
        bound *= FANOUT
    return t


@dataclass(frozen=True, slots=True)
class ShardFile:
    name: str
    period: str
    lo: int  # sequence range; -1 for the base file
    hi: int
    first: int  # ids (ms) inside: a segment's exact range, a base file's period
    last: int
    size: int
    sig: tuple[int, int, int]  # (inode, size, mtime_ns): a rewritten file has a new one

    @property
    def is_base(self) -> bool:
        return self.lo < 0

    @property
    def order(self) -> tuple[int, int]:
        return (self.hi, self.lo)

    def overlaps(self, lo: int, hi: int) -> bool:
        """Might hold ids in [lo, hi)?"""
        return self.first < hi and self.last >= lo

    @classmethod
    def from_name(cls, name: str, st: os.stat_result) -> ShardFile | None:
        m = NAME_RE.fullmatch(name)
        if not m:
            return None
        period = m.group("period")
        start, end = period_bounds(period)
        lo = int(m.group("lo")) if m.group("lo") else -1
        hi = int(m.group("hi")) if m.group("hi") else -1
        first = int(m.group("first")) if m.group("first") else start
        last = int(m.group("last")) if m.group("last") else end - 1
        return cls(
            name, period, lo, hi, first, last, st.st_size, (st.st_ino, st.st_size, st.st_mtime_ns)
        )


def segment_name(period: str, lo: int, hi: int, first: int, last: int) -> str:
    return f"{period}.{lo:012d}-{hi:012d}.{first}-{last}.json"


class Stale(Exception):
    """A file vanished while reading (the writer merged it): list again and retry."""


class Partition:
    """What we hold of one (level, series, period): its file list and the files read so far."""

    __slots__ = ("files", "loaded")

    def __init__(self, files: list[ShardFile]) -> None:
        self.files = list(files)
        # name -> (sig, {id: doc}, sorted ids)
        self.loaded: dict[str, tuple[tuple, dict[int, dict], list[int]]] = {}

    def weight(self) -> int:
        return sum(sig[1] for sig, _, _ in self.loaded.values())

    def relist(self, files: list[ShardFile]) -> None:
        self.files = list(files)
        current = {f.name: f.sig for f in files}
        for name in [n for n, (sig, _, _) in self.loaded.items() if current.get(n) != sig]:
            del self.loaded[name]


class Shards:
    """Every shard file of a store: index, lazy reading through an LRU, writing, merging."""

    def __init__(
        self,
        root: Path,
        *,
        readonly: bool,
        fsync: bool = True,
        on_write: Callable[[str, int], None] | None = None,
    ) -> None:
        self.root = root
        self.readonly = readonly
        self.fsync = fsync
        self.on_write = on_write or (lambda level, n: None)
        self._index: dict[tuple[str, str], dict[str, list[ShardFile]]] = {}
        self._lru: OrderedDict[tuple[str, str, str], Partition] = OrderedDict()
        self._seq = 0
        self._warned: set[tuple[str, tuple]] = set()
        self.compactions = 0
        self.quarantined: list[Path] = []

    # -- index -----------------------------------------------------------------
    def dir(self, level: str, series: str) -> Path:
        return self.root / level / series

    def index(self, level: str, series: str) -> dict[str, list[ShardFile]]:
        key = (level, series)
        idx = self._index.get(key)
        if idx is None:
            idx = self._index[key] = self._scan(level, series)
        return idx

    def refresh(self, level: str, series: str) -> None:
        """Forget what we know of a directory (a reader does this before each query)."""
        self._index.pop((level, series), None)

    def _scan(self, level: str, series: str) -> dict[str, list[ShardFile]]:
        idx: dict[str, list[ShardFile]] = {}
        try:
            entries = list(os.scandir(self.dir(level, series)))
        except (FileNotFoundError, NotADirectoryError):
            return idx
        for entry in entries:
            if not NAME_RE.fullmatch(entry.name):
                continue
            try:
                f = ShardFile.from_name(entry.name, entry.stat())
            except (FileNotFoundError, ValueError):
                continue
            if f is not None:
                idx.setdefault(f.period, []).append(f)
        for files in idx.values():
            files.sort(key=lambda f: f.order)
        return idx

    def indexed(self) -> list[tuple[str, str]]:
        return list(self._index)

    def series(self, level: str | None = None) -> list[str]:
        names: set[str] = set()
        for lv in (level,) if level else LEVELS:
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                names.update(n for n in os.listdir(self.root / lv) if SERIES_RE.fullmatch(n))
        return sorted(names)

    def scan_all(self) -> set[tuple[str, str, str]]:
        """Writer's open: delete stray temp files, move obviously damaged shards aside,
        learn the sequence number, index every directory. Returns the periods that
        have segments. Reads only the last bytes of each file, never whole files."""
        segmented: set[tuple[str, str, str]] = set()
        removed = 0
        for name in os.listdir(self.root):
            if name.endswith(TMP_SUFFIX):
                _unlink(self.root / name)
                removed += 1
        for level in LEVELS:
            for series in self.series(level):
                d = self.dir(level, series)
                for entry in os.scandir(d):
                    if entry.name.endswith(TMP_SUFFIX):
                        _unlink(Path(entry.path))
                        removed += 1
                    elif NAME_RE.fullmatch(entry.name):
                        problem = _quick_check(Path(entry.path))
                        if problem:
                            self.quarantine(Path(entry.path), problem)
                idx = self._index[(level, series)] = self._scan(level, series)
                for period, files in idx.items():
                    for f in files:
                        self._seq = max(self._seq, f.hi)
                        if not f.is_base:
                            segmented.add((level, series, period))
        if removed:
            log.info(
                "store: removed %d leftover temporary file(s) of an interrupted write.", removed
            )
        return segmented

    # -- reading ---------------------------------------------------------------
    def _partition(self, level: str, series: str, period: str) -> Partition:
        key = (level, series, period)
        files = self.index(level, series).get(period, [])
        part = self._lru.get(key)
        if part is None:
            part = Partition(files)
        elif part.files != files:
            part.relist(files)
        return part

    def _docs(
        self, level: str, series: str, part: Partition, f: ShardFile
    ) -> tuple[dict[int, dict], list[int]] | None:
        got = part.loaded.get(f.name)
        if got is not None and got[0] == f.sig:
            return got[1], got[2]
        docs = self._read_file(level, series, f)
        if docs is None:
            return None
        keys = sorted(docs)
        part.loaded[f.name] = (f.sig, docs, keys)
        return docs, keys

    def between(
        self, level: str, series: str, period: str, lo: int, hi: int, *, cache: bool = True
    ) -> list[tuple[int, dict]]:
        """(id, doc) of one period with lo <= id < hi, in time order.

        Reads only the files whose id range overlaps; later files win. With
        ``cache=False`` what is read is not kept (unless the period is cached).
        """
        key = (level, series, period)
        part = self._partition(level, series, period)
        out: dict[int, dict] = {}
        for f in list(part.files):
            if not f.overlaps(lo, hi):
                continue
            got = self._docs(level, series, part, f)
            if got is None:
                continue
            docs, keys = got
            i = bisect_left(keys, lo)
            j = bisect_left(keys, hi, i)
            for k in keys[i:j]:
                out[k] = docs[k]
        if cache or key in self._lru:
            self._remember(key, part)
        return sorted(out.items(), key=lambda kv: kv[0])

    def newest(self, level: str, series: str) -> tuple[int, dict] | None:
        """(id, doc) with the greatest id of the newest period that has any, or None.

        Reads files from the one whose id range ends last, and stops as soon as no
        other file can hold a greater id (usually after one small segment).
        """
        idx = self.index(level, series)
        for period in sorted(idx, reverse=True):
            part = self._partition(level, series, period)
            best: int | None = None
            value: dict = {}
            for f in sorted(part.files, key=lambda f: f.last, reverse=True):
                if best is not None and f.last < best:
                    break
                got = self._docs(level, series, part, f)
                if got and got[1] and (best is None or got[1][-1] > best):
                    best = got[1][-1]
                    value = got[0][best]
            if best is not None:
                for f in part.files:  # the last file (in write order) holding it wins
                    held = part.loaded.get(f.name)
                    if held is not None and best in held[1]:
                        value = held[1][best]
                return best, value
        return None

    def _read_file(self, level: str, series: str, f: ShardFile) -> dict[int, dict] | None:
        path = self.dir(level, series) / f.name
        try:
            return read_shard(path)
        except FileNotFoundError:
            if self.readonly:
                raise Stale(path) from None
            log.warning("shard file %s disappeared; the store carries on without it.", path)
            self._drop_from_index(level, series, f.period, f.name)
            return None
        except CorruptFile as exc:
            self.quarantine(path, str(exc), sig=f.sig)
            return None
        except OSError as exc:
            log.warning("cannot read shard file %s (%s); it is skipped.", path, exc.strerror or exc)
            return None

    def _drop_from_index(self, level: str, series: str, period: str, name: str) -> None:
        idx = self._index.get((level, series))
        if idx and period in idx:
            idx[period] = [g for g in idx[period] if g.name != name]
        part = self._lru.get((level, series, period))
        if part is not None:
            part.files = [g for g in part.files if g.name != name]
            part.loaded.pop(name, None)

    def _remember(self, key: tuple[str, str, str], part: Partition) -> None:
        self._lru[key] = part
        self._lru.move_to_end(key)
        total = sum(p.weight() for p in self._lru.values())
        while total > CACHE_BYTES and len(self._lru) > 1:
            old_key, old = next(iter(self._lru.items()))
            if old_key == key:
                break
            del self._lru[old_key]
            total -= old.weight()

    def forget(self, key: tuple[str, str, str]) -> None:
        self._lru.pop(key, None)

    def cached_partitions(self) -> int:
        return len(self._lru)

    # -- damaged files -----------------------------------------------------------
    def quarantine(self, path: Path, problem: str, sig: tuple | None = None) -> None:
        """Move a damaged shard aside to ``<name>.corrupt-<time>`` (never delete it)."""
        if self.readonly:
            key = (str(path), sig or ())
            if key not in self._warned:
                self._warned.add(key)
                log.warning("shard file %s is damaged (%s); it is skipped.", path, problem)
            return
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = path.with_name(f"{path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        try:
            storage.seam.rename(path, target)
            if self.fsync:
                fsync_dir(path.parent)
        except FileNotFoundError:
            return
        self.quarantined.append(target)
        log.warning(
            "shard file %s is damaged (%s); moved it aside to %s and carried on without it.",
            path,
            problem,
            target.name,
        )
        m = NAME_RE.fullmatch(path.name)
        if m:
            self._drop_from_index(
                path.parent.parent.name, path.parent.name, m.group("period"), path.name
            )

    # -- writing -----------------------------------------------------------------
    def _ensure_dir(self, level: str, series: str) -> Path:
        d = self.dir(level, series)
        if not d.is_dir():
            for p in (self.root / level, d):
                if not p.is_dir():
                    p.mkdir(exist_ok=True)
                    if self.fsync:
                        fsync_dir(p.parent)
        return d

    def _write(self, level: str, series: str, name: str, docs: dict[int, dict]) -> ShardFile:
        path = self.dir(level, series) / name
        nbytes = write_shard(path, docs, fsync=self.fsync)
        self.on_write(level, nbytes)
        f = ShardFile.from_name(name, os.stat(path))
        if f is None:  # the names written here are made by segment_name or are "<period>.json"
            raise ValueError(f"not a shard file name: {name!r}")
        return f

    def _cache_new(self, level: str, series: str, f: ShardFile, docs: dict[int, dict]) -> None:
        part = self._lru.get((level, series, f.period))
        if part is not None:
            part.files = list(self.index(level, series).get(f.period, []))
            part.loaded[f.name] = (f.sig, docs, sorted(docs))

    def write_segment(
        self, level: str, series: str, period: str, docs: dict[int, dict]
    ) -> ShardFile:
        """Write ``docs`` as a new segment of the period (the newest: its docs win)."""
        self._ensure_dir(level, series)
        self._seq += 1
        name = segment_name(period, self._seq, self._seq, min(docs), max(docs))
        try:
            f = self._write(level, series, name, docs)
        except OSError:
            self.refresh(level, series)  # the file may be there (a failed directory sync)
            self.forget((level, series, period))
            raise
        self.index(level, series).setdefault(period, []).append(f)
        self._cache_new(level, series, f, docs)
        return f

    def write_base(self, level: str, series: str, period: str, docs: dict[int, dict]) -> ShardFile:
        """Write a whole period as its base file (bulk import; replaces what was there)."""
        self._ensure_dir(level, series)
        f = self._write(level, series, f"{period}.json", docs)
        files = self.index(level, series).setdefault(period, [])
        files[:] = [f] + [g for g in files if g.name != f.name]
        self.forget((level, series, period))
        return f

    def compact(self, level: str, series: str, period: str) -> None:
        """Size-tiered merging of the newest segments of a period (see module doc)."""
        while True:
            files = self.index(level, series).get(period, [])
            segs = [f for f in files if not f.is_base]
            if len(segs) > MAX_SEGMENTS:
                self.compact_full(level, series, period)
                return
            if len(segs) < FANOUT:
                return
            t = tier(segs[-1].size)
            run: list[ShardFile] = []
            for f in reversed(segs):
                if tier(f.size) != t:
                    break
                run.append(f)
            if len(run) < FANOUT:
                return
            run.reverse()
            self._merge(level, series, period, run, into_base=False)

    def compact_full(self, level: str, series: str, period: str) -> None:
        """Merge every file of a period into its base file."""
        files = self.index(level, series).get(period, [])
        if any(not f.is_base for f in files):
            self._merge(level, series, period, list(files), into_base=True)

    def _merge(
        self, level: str, series: str, period: str, inputs: list[ShardFile], *, into_base: bool
    ) -> None:
        part = self._partition(level, series, period)
        if into_base and sum(f.size for f in inputs) > 1_000_000:
            # a big merge holds a whole period in memory at once: make room first
            for key in [k for k in self._lru if k != (level, series, period)]:
                del self._lru[key]
        merged: dict[int, dict] = {}
        used: list[ShardFile] = []
        for f in inputs:
            got = part.loaded.get(f.name)
            docs: dict[int, dict] | None
            if got is not None and got[0] == f.sig:
                docs = got[1]
            else:
                docs = self._read_file(level, series, f)
            if docs is None:  # damaged and moved aside, or gone
                continue
            merged.update(docs)
            used.append(f)
        d = self.dir(level, series)
        new: ShardFile | None = None
        name = f"{period}.json"
        try:
            if merged:
                if not into_base:
                    name = segment_name(
                        period,
                        min(f.lo for f in used),
                        max(f.hi for f in used),
                        min(merged),
                        max(merged),
                    )
                new = self._write(level, series, name, merged)
            # oldest first: if we crash (or a delete fails) half-way, what is left is a
            # suffix of the inputs, and re-applying a suffix over the merged file
            # changes nothing
            for f in sorted(used, key=lambda f: f.order):
                if f.name != name:
                    _unlink(d / f.name)
            if self.fsync:
                fsync_dir(d)
        except OSError:
            # what is on disk is whole (old files, or the merged one and a suffix of the
            # old): know it from the directory again, never from what this merge meant
            # to leave, or a later merge would rewrite the period without the new file
            self.refresh(level, series)
            self.forget((level, series, period))
            raise
        self.compactions += 1
        files = self.index(level, series).setdefault(period, [])
        gone = {f.name for f in used} | {name}
        files[:] = [f for f in files if f.name not in gone]
        if new is not None:
            files.append(new)
            files.sort(key=lambda f: f.order)
        if into_base:
            self.forget((level, series, period))  # a closed period: free its memory
        elif (level, series, period) in self._lru:
            part.relist(files)
            if new is not None:
                part.loaded[name] = (new.sig, merged, sorted(merged))

    def delete_period(self, level: str, series: str, period: str) -> int:
        """Retention: delete every file of a period (whole files, nothing rewritten)."""
        files = self.index(level, series).pop(period, [])
        d = self.dir(level, series)
        for f in files:
            _unlink(d / f.name)
        self.forget((level, series, period))
        return len(files)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        storage.seam.unlink(path)


def _quick_check(path: Path) -> str | None:
    """Cheap test that a shard is a whole JSON document: starts with '{' and ends with '}'."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size == 0:
                return "the file is empty"
            head = fh.read(1)
            fh.seek(max(0, size - 16))
            tail = fh.read().rstrip()
    except FileNotFoundError:
        return None
    if head != b"{" or not tail.endswith(b"}"):
        return "the file is cut short or overwritten (it does not end like a JSON document)"
    return None
