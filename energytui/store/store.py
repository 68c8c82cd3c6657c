"""The Store: TinyDB shards behind a write-ahead journal, with rollups and retention.

See ``docs/store.md`` for the whole picture. In short:

* ``append`` writes one JSON line to the journal and syncs it: durable at once,
  and its cost never depends on how much history there is.
* ``maintain`` (the hub calls it about once a minute) folds the journal into
  TinyDB shard files, updates the 1-minute, 15-minute and daily rollups, merges
  small files, and deletes whole files past the retention limits.
* ``query`` reads only the files covering the asked range (lazily, through an
  LRU), plus whatever is still in the journal.
* One process writes (an ``flock``); any other opens the store read-only and
  re-reads files and journal on every query, so it sees the writer's new data.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

from energytui.store import rollup
from energytui.store.errors import StoreError, StoreReadOnly
from energytui.store.journal import JournalReader, JournalWriter, encode_line, journal_files
from energytui.store.lock import WriterLock
from energytui.store.records import (
    DAY_MS,
    check_series,
    day_key,
    month_key,
    ms_to_iso,
    normalize,
    period_bounds,
    to_ms,
)
from energytui.store.shards import BUCKET_MS, LEVELS, PERIOD_KEY, Shards, Stale
from energytui.store.storage import CorruptFile, atomic_write

log = logging.getLogger("energytui.store")

FORMAT = "energytui-store"
VERSION = 1
MARKER = "store.json"
#: ``{"raw": {"power": "2026-11-20"}, "1m": {...}}``: per level and series, the last
#: period whose files retention deleted. A missing file is no evidence of deletion
#: (a new store, a day the hub was off): only this says raw data was removed.
RETENTION = "retention.json"

HOUR_MS = 3_600_000
#: ``resolution="auto"``: the finest level whose span limit covers the query.
AUTO_LIMITS = (("raw", 6 * HOUR_MS), ("1m", 7 * DAY_MS), ("15m", 90 * DAY_MS))
RESOLUTIONS = {
    "raw": "raw",
    "1m": "1m",
    "1min": "1m",
    "minute": "1m",
    "15m": "15m",
    "15min": "15m",
    "1d": "1d",
    "day": "1d",
    "daily": "1d",
}
#: Fold the journal at once (even inside append) when it holds this many records.
MAX_PENDING = 20_000
#: A period is merged into its base file once it has been over this long ...
CLOSE_GRACE_MS = 5 * 60_000
#: ... and nothing was written to it for this long (late readings trickle in).
CLOSE_QUIET_MS = 10 * 60_000


class _Options(TypedDict):
    """The keyword arguments :meth:`Store.open` passes on to ``Store()``."""

    raw_retention_days: int
    minute_retention_days: int
    flush_interval_s: float
    fsync: bool


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Store:
    """A crash-safe, flat-cost TinyDB store of time series (see module doc)."""

    readonly: bool
    readonly_reason: str | None
    root: Path

    def __init__(
        self,
        root: Path,
        *,
        readonly: bool,
        readonly_reason: str | None,
        raw_retention_days: int,
        minute_retention_days: int,
        flush_interval_s: float,
        fsync: bool = True,
    ) -> None:
        """Use :meth:`Store.open`."""
        self.root = root
        self.readonly = readonly
        self.readonly_reason = readonly_reason
        self.raw_retention_days = raw_retention_days
        self.minute_retention_days = minute_retention_days
        self.flush_interval_s = flush_interval_s
        self._fsync = fsync
        self._lock = threading.Lock()  # journal, pending, latest: short sections only
        self._io = threading.RLock()  # shard files and their cache: query, maintain, close
        self._closed = False
        self._written: dict[str, int] = {}
        self._pending: dict[str, dict[int, dict]] = {}
        self._pending_count = 0
        self._latest: dict[str, tuple[int, dict]] = {}
        self._latest_checked: set[str] = set()
        self._segmented: dict[tuple[str, str, str], int] = {}
        # per series: (first minute, {minute: {ts: record}}) of records already in
        # raw shards, complete for every minute >= first minute
        self._tail: dict[str, tuple[int | None, dict[int, dict[int, dict]]]] = {}
        self._last_flush_ms: int | None = None
        self._now_ms: int | None = None
        self._flushes = 0
        self._lock_file: WriterLock | None = None
        self._journal: JournalWriter | None = None
        self._reader: JournalReader | None = None
        self._shards = Shards(root, readonly=readonly, fsync=fsync, on_write=self._count)
        #: one sentence once this writer found its lock or journal taken from under it
        #: and stopped writing (see :meth:`_check_intact`); None while it writes
        self.stopped: str | None = None
        #: True when the store is read-only because another process holds the writer lock
        self.writer_elsewhere = False
        self._removed: dict[str, dict[str, str]] = {}

    # ======================================================================
    # opening and closing
    # ======================================================================
    @classmethod
    def open(
        cls,
        root: Path | str,
        *,
        raw_retention_days: int = 14,
        minute_retention_days: int = 90,
        readonly: bool = False,
        flush_interval_s: float = 60.0,
        _fsync: bool = True,
    ) -> Store:
        """Open (creating if needed) the store at ``root``.

        If another process is writing it, the store opens read-only and
        ``readonly_reason`` says why. Raises :class:`StoreError` with one sentence
        when the store cannot be opened at all. ``_fsync=False`` is for tests only:
        it skips every sync, so nothing is crash-safe.
        """
        for name, value in (
            ("raw_retention_days", raw_retention_days),
            ("minute_retention_days", minute_retention_days),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise StoreError(
                    f"{name} must be a whole number of days, at least 1 (got {value!r})."
                )
        if not isinstance(flush_interval_s, (int, float)) or flush_interval_s < 0:
            raise StoreError(
                f"flush_interval_s must be a number of seconds >= 0 (got {flush_interval_s!r})."
            )
        try:
            root = Path(root).expanduser().absolute()
        except (TypeError, RuntimeError) as exc:
            raise StoreError(f"the store path {root!r} is not usable: {exc}.") from None
        opts = _Options(
            raw_retention_days=raw_retention_days,
            minute_retention_days=minute_retention_days,
            flush_interval_s=float(flush_interval_s),
            fsync=bool(_fsync),
        )
        if readonly:
            if not root.is_dir():
                raise StoreError(f"there is no energytui store at {root}.")
            store = cls(
                root, readonly=True, readonly_reason="opened read-only as requested.", **opts
            )
            store._open_reader()
            return store

        if root.exists() and not root.is_dir():
            raise StoreError(f"the store path {root} is a file, not a directory.")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store directory {root}: {_why(exc)}.") from None
        lock = WriterLock(root)
        try:
            got = lock.acquire()
        except OSError as exc:
            reason = f"cannot write to {root} ({_why(exc)}); opened read-only."
            store = cls(root, readonly=True, readonly_reason=reason, **opts)
            store._open_reader()
            log.warning("store: %s", reason)
            return store
        if not got:
            who = (
                f"another energytui (pid {lock.holder_pid})"
                if lock.holder_pid
                else "another energytui process"
            )
            reason = f"{who} is writing this store; opened read-only."
            store = cls(root, readonly=True, readonly_reason=reason, **opts)
            store.writer_elsewhere = True
            store._open_reader()
            log.info("store: %s", reason)
            return store
        store = cls(root, readonly=False, readonly_reason=None, **opts)
        store._lock_file = lock
        try:
            store._open_writer()
        except StoreError:
            store._abandon()
            raise
        except OSError as exc:
            store._abandon()
            if exc.errno not in _CANNOT_WRITE:
                raise StoreError(f"cannot open the store at {root}: {_why(exc)}.") from None
            # a read-only or full disk: what is there can still be read
            reason = f"cannot write to {root} ({_why(exc)}); opened read-only."
            log.warning("store: %s", reason)
            try:
                store = cls(root, readonly=True, readonly_reason=reason, **opts)
                store._open_reader()
            except OSError as exc2:
                raise StoreError(f"cannot open the store at {root}: {_why(exc2)}.") from None
        return store

    def _abandon(self) -> None:
        if self._journal is not None:
            self._journal.close()
        if self._lock_file is not None:
            self._lock_file.release()
        self._closed = True

    def _check_marker(self, create: bool) -> bool:
        """Check (or write) ``store.json``; True if it was there before."""
        path = self.root / MARKER
        try:
            meta = json.loads(path.read_bytes())
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise ValueError("not an energytui store marker")
        except FileNotFoundError:
            if create:
                data = json.dumps(
                    {"format": FORMAT, "version": VERSION, "created": ms_to_iso(_wall_ms())}
                ).encode()
                atomic_write(path, data, fsync=self._fsync)
                self._count("meta", len(data))
            return False
        except ValueError:
            if create:
                aside = path.with_name(
                    f"{MARKER}.corrupt-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
                )
                os.replace(path, aside)
                log.warning(
                    "store: %s was damaged; moved it aside to %s and wrote a new one.",
                    path,
                    aside.name,
                )
                self._check_marker(create)
            return True
        version = meta.get("version")
        if not isinstance(version, int) or version > VERSION:
            raise StoreError(
                f"the store at {self.root} has format version {version!r}, newer than this energytui"
                f" understands ({VERSION}); upgrade energytui to open it."
            )
        return True

    # -- what retention removed ----------------------------------------------
    def _read_removed(self) -> dict[str, dict[str, str]] | None:
        """The retention marker's content; None when there is none (or it is damaged)."""
        try:
            data = json.loads((self.root / RETENTION).read_bytes())
        except FileNotFoundError:
            return None
        except ValueError:
            log.warning("store: %s is damaged; treating no raw data as removed.", RETENTION)
            return None
        if not isinstance(data, dict):
            return None
        out: dict[str, dict[str, str]] = {}
        for level in ("raw", "1m"):
            per = data.get(level)
            if isinstance(per, dict):
                out[level] = {s: p for s, p in per.items() if isinstance(p, str)}
        return out

    def _write_removed(self) -> None:
        data = json.dumps(self._removed, sort_keys=True, separators=(",", ":")).encode()
        atomic_write(self.root / RETENTION, data, fsync=self._fsync)
        self._count("meta", len(data))

    def _load_removed(self, had_marker: bool) -> None:
        """Writer at open: read the retention marker (a new store gets an empty one).

        A store written before the marker existed gets one that counts as removed
        what is older than the retention limits and older than the oldest file still
        there (what retention deleted); a day that still has files is never marked."""
        found = self._read_removed()
        if found is not None:
            self._removed = found
            return
        self._removed = {}
        if had_marker:
            now_ms = _wall_ms()
            limits = (("raw", self.raw_retention_days), ("1m", self.minute_retention_days))
            for level, days in limits:
                key = PERIOD_KEY[level]
                cut = key(now_ms - days * DAY_MS - DAY_MS)
                for series in self._indexed_series(level):
                    periods = sorted(self._shards.index(level, series))
                    if periods:
                        before = key(period_bounds(periods[0])[0] - 1)
                        cut = min(cut, before)
                    self._removed.setdefault(level, {})[series] = cut
        with contextlib.suppress(OSError):
            self._write_removed()

    def removed_upto(self, level: str, series: str) -> str | None:
        """The last period of ``level``/``series`` that retention deleted, or None."""
        if self.readonly:
            self._removed = self._read_removed() or {}
        return self._removed.get(level, {}).get(series)

    def _open_reader(self) -> None:
        self._check_marker(create=False)
        self._reader = JournalReader(self.root)

    def _open_writer(self) -> None:
        had_marker = self._check_marker(create=True)
        for key in self._shards.scan_all():
            self._segmented[key] = 0
        self._load_removed(had_marker)
        journal = self._journal = JournalWriter(
            self.root, fsync=self._fsync, on_write=lambda n: self._count("journal", n)
        )
        entries = journal.recover()
        journal.open()
        for series, ts, rec in entries:
            self._pending.setdefault(series, {})[ts] = rec
            self._note_latest(series, ts, rec)
        self._pending_count = sum(len(p) for p in self._pending.values())
        if self._pending_count or journal.rotated:
            # fold what a previous run left in the journal, so nothing is counted twice
            try:
                with self._io:
                    self._flush(_wall_ms())
            except StoreError as exc:
                log.warning(
                    "store: could not fold the journal at open (%s); it stays in the journal.", exc
                )

    def close(self) -> None:
        """Fold the journal into shards and release the lock. Safe to call twice."""
        with self._io:
            if self._closed:
                return
            try:
                if not self.readonly and self._pending_count and self.stopped is None:
                    try:
                        self._flush(self._now_ms or _wall_ms())
                    except StoreError as exc:
                        log.error("store: %s The readings are safe in the journal.", exc)
            finally:
                with self._lock:
                    self._closed = True
                    if self._journal is not None:
                        self._journal.close()
                if self._lock_file is not None:
                    self._lock_file.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "read-only" if self.readonly else "writer"
        return f"<Store {self.root} {mode}{' closed' if self._closed else ''}>"

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store at {self.root} is closed.")

    def _writer(self) -> JournalWriter:
        """The journal of a writer store (:meth:`open` sets it before anyone can write)."""
        if self._journal is None:
            raise StoreError(f"the store at {self.root} has no journal open for writing.")
        return self._journal

    def _journal_reader(self) -> JournalReader:
        """The journal reader of a read-only store (:meth:`open` sets it)."""
        if self._reader is None:
            raise StoreError(f"the store at {self.root} has no journal open for reading.")
        return self._reader

    def _count(self, kind: str, n: int) -> None:
        self._written[kind] = self._written.get(kind, 0) + n

    # ======================================================================
    # writing
    # ======================================================================
    def append(self, series: str, record: dict) -> None:
        """Store one record durably (journal + sync) before returning."""
        self.append_many(series, [record])

    def append_many(self, series: str, records: list[dict]) -> None:
        """Store several records of one series with one sync; all or nothing."""
        if self.readonly:
            raise StoreReadOnly(
                f"cannot store {series!r} readings: this store is read-only"
                f" ({(self.readonly_reason or '').rstrip('.')})."
            )
        check_series(series)
        if not isinstance(records, (list, tuple)):
            raise StoreError(f"append_many needs a list of records, not {type(records).__name__}.")
        items = [normalize(series, r) for r in records]
        if not items:
            return
        data = b"".join(encode_line(series, rec) for _, rec in items)
        with self._lock:
            self._check_open()
            journal = self._writer()
            self._check_intact()
            try:
                journal.append(data)
            except OSError as exc:
                raise StoreError(
                    f"could not write the journal in {self.root}: {_why(exc)}."
                ) from None
            pend = self._pending.setdefault(series, {})
            for ts, rec in items:
                pend[ts] = rec
                self._note_latest(series, ts, rec)
            self._pending_count += len(items)
            overflow = self._pending_count >= MAX_PENDING
        if overflow:  # nobody calls maintain(): fold now rather than grow without bound
            with self._io:
                try:
                    self._flush(self._now_ms or _wall_ms())
                except StoreError as exc:  # the readings are durable in the journal anyway
                    log.error("store: %s", exc)

    def _check_intact(self) -> None:
        """Raise (and stop writing for good) if the lock's directory or the journal was
        deleted or replaced under this writer. Caller holds ``self._lock``.

        Appending to a journal that is no longer at its path would acknowledge
        readings nobody can read back; folding would overwrite another writer's
        files. So the store stops, says why once in the log, and keeps what it has
        in memory for queries (:meth:`unsaved` hands it to a store opened anew)."""
        if self.stopped is None:
            lock = self._lock_file
            why = lock.intact() if lock is not None else None
            if why is None and self._journal is not None:
                why = self._journal.lost()
            if why is not None:
                self.stopped = (
                    f"stopped writing the store at {self.root}: {why.rstrip('.')};"
                    " nothing more is written until it is opened again."
                )
                log.error("store: %s", self.stopped)
        if self.stopped is not None:
            raise StoreError(self.stopped)

    def unsaved(self) -> dict[str, list[dict]]:
        """Records this writer holds that are not in shard files (by series): after it
        stopped, a newly opened store writes them again so none is lost."""
        with self._lock:
            return {s: [p[t] for t in sorted(p)] for s, p in self._pending.items() if p}

    def _note_latest(self, series: str, ts: int, rec: dict) -> None:
        cur = self._latest.get(series)
        if cur is None or ts >= cur[0]:
            self._latest[series] = (ts, rec)

    def maintain(self, now: datetime | None = None) -> None:
        """Fold the journal into shards (every ``flush_interval_s``), update rollups,
        merge small files, apply retention. Cheap when there is nothing to do."""
        if self.readonly:
            return
        now_ms = _wall_ms() if now is None else to_ms(now, "now")
        with self._io:
            self._check_open()
            with self._lock:
                self._check_intact()
            self._now_ms = now_ms
            if self._pending_count or self._writer().rotated:
                last = self._last_flush_ms
                due = (
                    last is None
                    or now_ms < last
                    or now_ms - last >= max(0.0, self.flush_interval_s - 1.0) * 1000
                    or self._pending_count >= MAX_PENDING
                )
                if due:
                    self._flush(now_ms)
            self._close_periods(now_ms)
            self._retention(now_ms)

    def _flush(self, now_ms: int) -> None:
        """Journal → shards. Caller holds ``self._io``."""
        journal = self._writer()
        with self._lock:
            self._check_intact()
            snapshot, self._pending = self._pending, {}
            self._pending_count = 0
            try:
                journal.rotate()
            except OSError as exc:
                self._restore(snapshot)
                raise StoreError(
                    f"could not rotate the journal in {self.root}: {_why(exc)}."
                ) from None
            rotated = len(journal.rotated)
        try:
            touched = self._fold(snapshot, now_ms)
        except (OSError, ValueError, CorruptFile) as exc:
            with self._lock:
                self._restore(snapshot)
            raise StoreError(
                f"could not write shard files in {self.root}: {_why(exc)}; the readings stay in the journal."
            ) from None
        except BaseException:
            with self._lock:
                self._restore(snapshot)
            raise
        journal.drop_rotated(rotated)
        self._last_flush_ms = now_ms
        self._flushes += 1
        for level, series, period in touched:
            try:
                self._shards.compact(level, series, period)
            except OSError as exc:  # merging is an optimisation: try again next time
                log.warning(
                    "store: could not merge %s/%s/%s: %s.", level, series, period, _why(exc)
                )

    def _restore(self, snapshot: dict[str, dict[int, dict]]) -> None:
        """Put a snapshot that failed to fold back in front of what came since."""
        for series, recs in snapshot.items():
            newer = self._pending.get(series, {})
            merged = dict(recs)
            merged.update(newer)
            self._pending[series] = merged
        self._pending_count = sum(len(p) for p in self._pending.values())

    def _fold(self, snapshot: dict[str, dict[int, dict]], now_ms: int) -> set[tuple[str, str, str]]:
        """Write a snapshot of journal records as raw segments and recompute the
        rollup buckets they touch. Idempotent: folding the same records twice
        gives the same files' content (a crash before the journal is dropped
        just folds them again)."""
        sh = self._shards
        touched: set[tuple[str, str, str]] = set()
        raw_cut = now_ms - self.raw_retention_days * DAY_MS
        min_cut = now_ms - self.minute_retention_days * DAY_MS

        def write(level: str, series: str, docs: dict[int, dict]) -> None:
            by_period: dict[str, dict[int, dict]] = {}
            key = PERIOD_KEY[level]
            for ts, doc in docs.items():
                by_period.setdefault(key(ts), {})[ts] = doc
            for period, part in by_period.items():
                sh.write_segment(level, series, period, part)
                touched.add((level, series, period))
                self._segmented[(level, series, period)] = now_ms

        for series, recs in snapshot.items():
            if not recs:
                continue
            # which days still had raw / 1-minute files before this fold: a day whose
            # files retention already deleted cannot be recomputed, only merged into
            raw_had = set(sh.index("raw", series))
            min_had = set(sh.index("1m", series))
            write("raw", series, recs)
            keys = sorted(recs)

            # 1-minute buckets: recomputed from every raw record of the minute (exact
            # and idempotent). Records flushed earlier in the newest minutes are kept
            # in memory (the tail), so the raw shard is read only after a restart or
            # for readings that arrive out of order; a day whose raw shard is past
            # retention is merged into the old bucket instead.
            minutes: dict[int, list[int]] = {}
            for ts in keys:
                minutes.setdefault(ts - ts % 60_000, []).append(ts)
            tail_from, tail = self._tail.get(series, (None, {}))
            expired = {
                m
                for m in minutes
                if day_key(m) not in raw_had and period_bounds(day_key(m))[1] <= raw_cut
            }
            on_disk: dict[int, dict[int, dict]] = {}
            by_day: dict[str, list[int]] = {}
            for m in minutes:
                if m not in expired and (tail_from is None or m < tail_from):
                    by_day.setdefault(day_key(m), []).append(m)
            for day, ms in by_day.items():  # one read per day, of the files that overlap
                for ts, doc in sh.between(
                    "raw", series, day, min(ms), max(ms) + 60_000, cache=False
                ):
                    on_disk.setdefault(ts - ts % 60_000, {})[ts] = doc
            seen: dict[int, dict[int, dict]] = {}
            docs_1m: dict[int, dict] = {}
            for m, tss in minutes.items():
                if m in expired:
                    delta = rollup.rollup_records(m, [recs[t] for t in tss])
                    docs_1m[m] = self._merge_old("1m", series, m, delta)
                    continue
                if tail_from is not None and m >= tail_from:
                    have = dict(tail.get(m, {}))
                else:
                    have = on_disk.get(m, {})
                have.update((t, recs[t]) for t in tss)
                seen[m] = have
                docs_1m[m] = rollup.rollup_records(m, [have[t] for t in sorted(have)])
            if seen:
                newest = max(seen)
                if tail_from is None or newest >= tail_from:
                    kept = {m: v for m, v in tail.items() if m >= newest}
                    kept.update((m, v) for m, v in seen.items() if m >= newest)
                    self._tail[series] = (newest, kept)
            write("1m", series, docs_1m)

            # 15-minute buckets from the 1-minute ones.
            quarters: dict[int, list[int]] = {}
            for ts in keys:
                quarters.setdefault(ts - ts % 900_000, []).append(ts)
            docs_15m: dict[int, dict] = {}
            for q, tss in quarters.items():
                if day_key(q) not in min_had and period_bounds(day_key(q))[1] <= min_cut:
                    delta = rollup.rollup_records(q, [recs[t] for t in tss])
                    docs_15m[q] = self._merge_old("15m", series, q, delta)
                else:
                    rows = sh.between("1m", series, day_key(q), q, q + 900_000)
                    docs_15m[q] = rollup.combine(q, [d for _, d in rows])
            write("15m", series, docs_15m)

            # Daily buckets from the 15-minute ones (kept forever).
            docs_1d: dict[int, dict] = {}
            for d in sorted({q - q % DAY_MS for q in quarters}):
                rows = sh.between("15m", series, month_key(d), d, d + DAY_MS)
                docs_1d[d] = rollup.combine(d, [doc for _, doc in rows])
            write("1d", series, docs_1d)
        return touched

    def _merge_old(self, level: str, series: str, bucket: int, delta: dict) -> dict:
        rows = self._shards.between(level, series, PERIOD_KEY[level](bucket), bucket, bucket + 1)
        old = rows[0][1] if rows else None
        return delta if old is None else rollup.combine(bucket, [old, delta])

    def _close_periods(self, now_ms: int) -> None:
        """Merge every file of a finished, quiet period into its one base file."""
        for key, last_write in list(self._segmented.items()):
            level, series, period = key
            if (
                period_bounds(period)[1] + CLOSE_GRACE_MS > now_ms
                or last_write + CLOSE_QUIET_MS > now_ms
            ):
                continue
            try:
                self._shards.compact_full(level, series, period)
            except OSError as exc:
                log.warning(
                    "store: could not merge %s/%s/%s: %s.", level, series, period, _why(exc)
                )
                continue
            del self._segmented[key]

    def _retention(self, now_ms: int) -> None:
        """Delete whole raw files past raw_retention_days, 1-minute ones past minute_retention_days."""
        for level, days in (("raw", self.raw_retention_days), ("1m", self.minute_retention_days)):
            cut = now_ms - days * DAY_MS
            for series in self._indexed_series(level):
                idx = self._shards.index(level, series)
                doomed = [p for p in idx if period_bounds(p)[1] <= cut]
                if not doomed:
                    continue
                # the marker first: a crash between leaves files marked removed (retention
                # deletes them next time), never removed files that look like a gap
                per = self._removed.setdefault(level, {})
                upto = max(doomed)
                if per.get(series, "") < upto:
                    per[series] = upto
                    self._write_removed()
                for period in doomed:
                    n = self._shards.delete_period(level, series, period)
                    self._segmented.pop((level, series, period), None)
                    log.info(
                        "store: retention removed %s/%s/%s (%d file(s)).", level, series, period, n
                    )

    def _indexed_series(self, level: str) -> list[str]:
        return sorted(
            {s for (lv, s) in self._shards.indexed() if lv == level}
            | set(self._shards.series(level))
        )

    # ======================================================================
    # reading
    # ======================================================================
    def _pending_view(self) -> dict[str, dict[int, dict]]:
        """Records not yet in shard files: the writer's memory, or the journal for a reader."""
        if not self.readonly:
            with self._lock:
                return {s: dict(p) for s, p in self._pending.items()}
        out: dict[str, dict[int, dict]] = {}
        try:
            entries = self._journal_reader().read()
        except OSError as exc:
            log.warning("store: cannot read the journal (%s); showing shard files only.", _why(exc))
            return out
        for series, ts, rec in entries:
            out.setdefault(series, {})[ts] = rec
        return out

    def _pick_level(self, resolution: str, lo: int, hi: int) -> str:
        if not isinstance(resolution, str):
            raise StoreError(
                f"resolution must be a string such as 'auto', not {type(resolution).__name__}."
            )
        res = resolution.strip().lower()
        if res in RESOLUTIONS:
            return RESOLUTIONS[res]
        if res != "auto":
            raise StoreError(f"resolution {resolution!r} is not one of auto, raw, 1m, 15m, 1d.")
        span = hi - lo
        level = "1d"
        for name, limit in AUTO_LIMITS:
            if span <= limit:
                level = name
                break
        return level

    def _fall_back(
        self, level: str, series: str, lo: int, hi: int, pending: dict[int, dict]
    ) -> str:
        """Auto only: if retention already deleted the chosen level's file for the start
        of the range (the retention marker says so: a day without a file is not enough)
        and the journal has nothing there, use the next coarser level that still has
        it, so an old range still draws."""
        if level not in ("raw", "1m") or any(lo <= ts <= hi for ts in pending):
            return level
        upto = self.removed_upto(level, series)
        if upto is None or PERIOD_KEY[level](lo) > upto:
            return level
        for candidate in LEVELS[LEVELS.index(level) :]:
            if self._has_period(candidate, series, lo):
                return candidate
        return level

    def _has_period(self, level: str, series: str, ms: int) -> bool:
        if self.readonly:
            self._shards.refresh(level, series)
        return PERIOD_KEY[level](ms) in self._shards.index(level, series)

    def query(
        self,
        series: str,
        start: datetime,
        end: datetime,
        *,
        resolution: str = "auto",
        max_points: int | None = None,
    ) -> list[dict]:
        """Records (or rollup buckets) of ``series`` with start <= ts <= end, by time.

        ``resolution``: "auto" (≤ 6 h raw, ≤ 7 d 1m, ≤ 90 d 15m, else 1d), or one of
        "raw", "1m", "15m", "1d". With ``max_points``, rows are averaged into at
        most that many even time buckets. ``ts`` comes back as ISO 8601 with Z.
        """
        check_series(series)
        lo = to_ms(start, "start")
        hi = to_ms(end, "end")
        if max_points is not None and (
            isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1
        ):
            raise StoreError(
                f"max_points must be a whole number >= 1 or None (got {max_points!r})."
            )
        level = self._pick_level(resolution, lo, hi)
        auto = isinstance(resolution, str) and resolution.strip().lower() == "auto"
        if hi < lo:
            return []
        with self._io:
            self._check_open()
            for attempt in range(5):
                try:
                    # journal first, then files: a record leaves the journal only after
                    # it is in a file, so a reader racing the writer never misses it
                    pending = self._pending_view().get(series, {})
                    if auto:
                        level = self._fall_back(level, series, lo, hi, pending)
                    if level == "raw":
                        rows = self._raw_rows(series, lo, hi, pending)
                    else:
                        rows = self._rollup_rows(level, series, lo, hi, pending)
                    break
                except Stale:
                    if attempt == 4:
                        raise StoreError(
                            f"the store at {self.root} kept changing while it was read; try again."
                        ) from None
        if max_points is not None and len(rows) > max_points:
            rows = _downsample(rows, lo, hi, max_points, level)
            return [rollup.public(doc) for _, doc in rows]
        if level == "raw":
            return [dict(doc) for _, doc in rows]
        return [rollup.public(doc) for _, doc in rows]

    def _periods(self, level: str, series: str, lo: int, hi: int) -> list[str]:
        if self.readonly:
            self._shards.refresh(level, series)
        key = PERIOD_KEY[level]
        first, last = key(lo), key(hi)
        return sorted(p for p in self._shards.index(level, series) if first <= p <= last)

    def _raw_rows(
        self, series: str, lo: int, hi: int, pending: dict[int, dict]
    ) -> list[tuple[int, dict]]:
        out: dict[int, dict] = {}
        for period in self._periods("raw", series, lo, hi):
            out.update(self._shards.between("raw", series, period, lo, hi + 1))
        for ts, rec in pending.items():
            if lo <= ts <= hi:
                out[ts] = rec
        return sorted(out.items(), key=lambda kv: kv[0])

    def _rollup_rows(
        self, level: str, series: str, lo: int, hi: int, pending: dict[int, dict]
    ) -> list[tuple[int, dict]]:
        width = BUCKET_MS[level]
        first = lo - lo % width
        out: dict[int, dict] = {}
        for period in self._periods(level, series, first, hi):
            out.update(self._shards.between(level, series, period, first, hi + 1))
        fresh: dict[int, list[int]] = {}
        for ts in pending:
            if first <= ts and ts - ts % width <= hi:
                fresh.setdefault(ts - ts % width, []).append(ts)
        for bucket, tss in fresh.items():
            doc = rollup.rollup_records(bucket, [pending[t] for t in sorted(tss)])
            old = out.get(bucket)
            out[bucket] = doc if old is None else rollup.combine(bucket, [old, doc])
        return sorted(out.items(), key=lambda kv: kv[0])

    def latest(self, series: str) -> dict | None:
        """The newest record of ``series`` (journal included), or None."""
        check_series(series)
        with self._io:
            self._check_open()
            for _attempt in range(5):
                try:
                    if self.readonly:
                        best = None
                        for ts, rec in self._pending_view().get(series, {}).items():
                            if best is None or ts >= best[0]:
                                best = (ts, rec)
                        disk = self._latest_on_disk(series)
                    else:
                        if series not in self._latest_checked:
                            disk = self._latest_on_disk(series)
                            with self._lock:
                                if disk is not None:
                                    self._note_latest(series, *disk)
                                self._latest_checked.add(series)
                        with self._lock:
                            best = self._latest.get(series)
                        disk = None
                    break
                except Stale:
                    continue
            else:
                raise StoreError(
                    f"the store at {self.root} kept changing while it was read; try again."
                )
        if disk is not None and (best is None or disk[0] > best[0]):
            best = disk
        return None if best is None else rollup.public(best[1])

    def _latest_on_disk(self, series: str) -> tuple[int, dict] | None:
        for level in LEVELS:
            if self.readonly:
                self._shards.refresh(level, series)
            found = self._shards.newest(level, series)
            if found is not None:
                ts, doc = found
                if level != "raw":  # only rollups are left: their last bucket, without bookkeeping
                    doc = {k: v for k, v in doc.items() if k not in rollup.BOOKKEEPING or k == "ts"}
                return ts, doc
        return None

    # ======================================================================
    # facts
    # ======================================================================
    def series(self) -> list[str]:
        """Names of every series with data (files or journal)."""
        with self._io:
            names = set(self._shards.series())
            names.update(s for s, p in self._pending_view().items() if p)
        return sorted(names)

    def stats(self) -> dict[str, Any]:
        """Files and bytes on disk, journal state, and bytes this store has written."""
        files = 0
        size = 0
        for dirpath, _dirs, names in os.walk(self.root):
            for name in names:
                try:
                    size += os.stat(os.path.join(dirpath, name)).st_size
                    files += 1
                except FileNotFoundError:
                    pass
        journal_bytes = 0
        for path in journal_files(self.root):
            with contextlib.suppress(FileNotFoundError):
                journal_bytes += path.stat().st_size
        if self.readonly:
            journal_records = sum(len(p) for p in self._pending_view().values())
        else:
            journal_records = self._pending_count
        written = dict(self._written)
        return {
            "root": str(self.root),
            "readonly": self.readonly,
            "readonly_reason": self.readonly_reason,
            "stopped": self.stopped,
            "files": files,
            "bytes_on_disk": size,
            "journal_records": journal_records,
            "journal_bytes": journal_bytes,
            "bytes_written": sum(written.values()),
            "bytes_written_by_kind": written,
            "flushes": self._flushes,
            "compactions": self._shards.compactions,
            "cached_partitions": self._shards.cached_partitions(),
            "quarantined": [str(p) for p in self._shards.quarantined],
            "raw_retention_days": self.raw_retention_days,
            "minute_retention_days": self.minute_retention_days,
        }


def _downsample(
    rows: list[tuple[int, dict]], lo: int, hi: int, max_points: int, level: str
) -> list[tuple[int, dict]]:
    """Average rows into at most ``max_points`` buckets of equal time width."""
    raw = level == "raw"
    unit = 1000 if raw else BUCKET_MS[level]  # buckets of whole seconds, or whole rollups
    start = min(lo, rows[0][0])
    start -= start % unit
    span = max(hi, rows[-1][0]) - start + 1
    width = -(-span // max_points)
    width = -(-width // unit) * unit
    groups: dict[int, list[dict]] = {}
    for ts, doc in rows:
        groups.setdefault((ts - start) // width, []).append(doc)
    out = []
    for i in sorted(groups):
        bucket = start + i * width
        docs = groups[i]
        out.append(
            (bucket, rollup.rollup_records(bucket, docs) if raw else rollup.combine(bucket, docs))
        )
    return out


#: errors that mean "this disk takes no writes now", not "this is not a store"
_CANNOT_WRITE = {errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EIO}


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    return str(exc) or "an unexpected error (see the log)"


__all__ = ["Store", "StoreError", "StoreReadOnly"]
