"""The event log: a small TinyDB file of its own in the store's directory.

Events are rare (a few a day; the detector de-bounces them), so they do not go
through the journal and shards of the time series: one file, ``events.json``,
holds table ``events`` (doc id = event id, which grows with time) and table
``seen`` (one document: every event up to ``upto`` has been seen). Each write
replaces the whole file atomically (:class:`AtomicJSONStorage`), so a crash
leaves the old log or the new one.

Retention: at most :data:`MAX_EVENTS` events and none older than
:data:`MAX_AGE_DAYS`; the oldest go first, in the same write that adds new ones,
so the file never grows past a few hundred kB.

A read-only store (another process writes it) opens the log read-only: it lists
the events, and its own acknowledgements stay in memory.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from tinydb import TinyDB
from tinydb.table import Document

from energytui.events import Event
from energytui.store.storage import AtomicJSONStorage, CorruptFile

log = logging.getLogger("energytui.store")

FILE = "events.json"
EVENTS = "events"
SEEN = "seen"
MAX_EVENTS = 1000
MAX_AGE_DAYS = 365


class EventLog:
    """The store's event log (see module doc). Not thread-safe by itself: the hub calls it
    from the store's one thread; a lock guards against any other caller."""

    def __init__(self, root: Path, *, readonly: bool = False, fsync: bool = True) -> None:
        self.path = Path(root) / FILE
        self.readonly = readonly
        self._fsync = fsync
        self._lock = threading.Lock()
        self._db: TinyDB | None = None

    def _open(self) -> TinyDB:
        if self._db is None:
            self._db = TinyDB(self.path, storage=AtomicJSONStorage, fsync=self._fsync)
        return self._db

    def _read(self) -> tuple[list[Event], int]:
        """Every event (oldest first) and the seen mark; a damaged file is moved aside."""
        try:
            db = self._open()
            docs = db.table(EVENTS, cache_size=0).all()
            seen_docs = db.table(SEEN, cache_size=0).all()
        except CorruptFile as exc:
            self._aside(str(exc))
            return [], 0
        events = []
        for doc in docs:
            try:
                events.append(Event.from_record(dict(doc)))
            except (KeyError, TypeError, ValueError):
                log.warning("events: skipped a record that is not an event: %r", dict(doc))
        events.sort(key=lambda e: e.id)
        seen = 0
        if seen_docs:
            value = seen_docs[0].get("upto")
            if isinstance(value, int):
                seen = value
        return events, seen

    def _aside(self, why: str) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self.readonly:
            log.warning("events: %s is damaged (%s); showing no past events.", self.path, why)
            return
        aside = self.path.with_name(
            f"{FILE}.corrupt-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
        )
        try:
            os.replace(self.path, aside)
        except OSError as exc:
            log.error("events: %s is damaged and cannot be moved aside: %s", self.path, exc)
            return
        log.warning(
            "events: %s was damaged (%s); moved it aside to %s and started a new log.",
            self.path,
            why,
            aside.name,
        )

    def load(self) -> tuple[list[Event], int]:
        """All kept events, oldest first, and the id up to which they were seen."""
        with self._lock:
            return self._read()

    def recent(self, limit: int) -> list[Event]:
        """The newest ``limit`` events, newest first."""
        events, _ = self.load()
        return events[::-1][:limit]

    def add(self, events: list[Event], now: datetime | None = None) -> None:
        """Keep numbered ``events`` and drop what retention no longer keeps, in one write."""
        if self.readonly or not events:
            return
        with self._lock:
            kept, _ = self._read()
            by_id = {e.id: e for e in kept}
            by_id.update((e.id, e) for e in events)
            newest = max(by_id.values(), key=lambda e: e.id).at
            cutoff = (now or newest) - timedelta(days=MAX_AGE_DAYS)
            ordered = sorted(by_id.values(), key=lambda e: e.id)
            ordered = [e for e in ordered if e.at >= cutoff][-MAX_EVENTS:]
            self._replace(ordered)

    def _replace(self, events: list[Event]) -> None:
        """Write the whole log: the events and the seen mark, one atomic file write."""
        db = self._open()
        seen = db.table(SEEN, cache_size=0).all()
        data = {
            EVENTS: {str(e.id): e.to_record() for e in events},
            SEEN: {"1": dict(seen[0])} if seen else {},
        }
        db.storage.write(data)

    def acknowledge(self, upto: int) -> None:
        """Keep the seen mark (never moved back)."""
        if self.readonly:
            return
        with self._lock:
            try:
                table = self._open().table(SEEN, cache_size=0)
                old = table.all()
            except CorruptFile as exc:
                self._aside(str(exc))
                table = self._open().table(SEEN, cache_size=0)
                old = []
            if old and isinstance(old[0].get("upto"), int) and old[0]["upto"] >= upto:
                return
            table.upsert(Document({"upto": upto}, doc_id=1))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
