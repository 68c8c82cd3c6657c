"""Store-and-forward upload of accepted readings to the energytui hub.

Every accepted reading is first appended (fsync'd) to ``<data_dir>/outbox.jsonl``;
only then is it sent to the hub's ``POST /meter_reading``. Each id the hub
confirms is appended to ``<data_dir>/outbox.delivered``. So a reading made while
the hub or the network is down waits on disk, survives an agent restart, and is
delivered later in the order it was made; a delivered id is never sent again
(and the hub dedupes by id anyway, should a confirmation be lost on the wire).
Sending stops at the first failure so order is kept. When every entry is
delivered and the outbox has grown, both files are rewritten empty — outbox
first, so a crash in between can never make a delivered reading look pending.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from meter_agent.config import UploadConfig
from meter_agent.history import append_line, read_json_lines, repair_torn_tail, rewrite_lines
from meter_agent.schema import MeterReading, iso_z

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

#: answers after which a reading is never retried: the hub will not take it as it is
#: (409 from energytui's /api/v1/meter_reading = lower than the last reading it accepted;
#: 400 ``{"status": "rejected", "reason": …}`` from the seed's /meter_reading, which
#: energytui's hub answers too, for a reading its plausibility checks refuse)
PERMANENT_REFUSALS = frozenset({400, 409, 413, 422})
#: compact once this many delivered entries sit in the outbox
COMPACT_AFTER = 500


class Outbox:
    """The on-disk queue: pending readings in order, and the ids already delivered."""

    def __init__(self, data_dir: str | Path) -> None:
        self.dir = Path(data_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "outbox.jsonl"
        self.delivered_path = self.dir / "outbox.delivered"
        self.dropped_path = self.dir / "outbox.refused.jsonl"
        self._lock = threading.Lock()
        self._entries: list[MeterReading] = []
        self._done: set[str] = set()
        self._load()

    def _load(self) -> None:
        repair_torn_tail(self.path)
        repair_torn_tail(self.delivered_path)
        seen: set[str] = set()
        for obj in read_json_lines(self.path):
            try:
                r = MeterReading.model_validate(obj)
            except ValidationError:
                log.warning("an outbox entry in %s is malformed; skipped", self.path)
                continue
            if r.id and r.id not in seen:
                seen.add(r.id)
                self._entries.append(r)
        try:
            text = self.delivered_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            text = ""
        self._done = {line.strip() for line in text.splitlines() if line.strip()}

    def add(self, reading: MeterReading) -> None:
        """Queue one reading durably. It must carry an id (the hub dedupes by it)."""
        if not reading.id:
            raise ValueError("an outbox reading needs an id")
        with self._lock:
            if reading.id in self._done or any(e.id == reading.id for e in self._entries[-50:]):
                return
            append_line(self.path, reading.model_dump_json())
            self._entries.append(reading)

    def newest_timestamp(self) -> datetime | None:
        """The time of the newest reading the outbox holds, delivered or not."""
        with self._lock:
            return max((e.timestamp for e in self._entries), default=None)

    def pending(self) -> list[MeterReading]:
        """Readings not yet delivered, oldest first."""
        with self._lock:
            return [e for e in self._entries if e.id not in self._done]

    def mark_delivered(self, reading_id: str) -> None:
        with self._lock:
            if reading_id in self._done:
                return
            append_line(self.delivered_path, reading_id)
            self._done.add(reading_id)

    def mark_refused(self, reading: MeterReading, why: str) -> None:
        """Set aside a reading the hub will never take, so it stops blocking the queue."""
        with self._lock:
            append_line(
                self.dropped_path, json.dumps({**reading.model_dump(mode="json"), "refused": why})
            )
            append_line(self.delivered_path, reading.id or "")
            self._done.add(reading.id or "")

    def delivered_count(self) -> int:
        with self._lock:
            return sum(1 for e in self._entries if e.id in self._done)

    def maybe_compact(self) -> bool:
        """Empty both files once everything is delivered and the outbox has grown."""
        with self._lock:
            if len(self._entries) < COMPACT_AFTER:
                return False
            if any(e.id not in self._done for e in self._entries):
                return False
            rewrite_lines(self.path, [])  # outbox first: see the module docstring
            rewrite_lines(self.delivered_path, [])
            self._entries.clear()
            self._done.clear()
            return True


@dataclass
class UploadStatus:
    enabled: bool
    url: str
    pending: int = 0
    delivered: int = 0
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    last_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "url": self.url,
            "pending": self.pending,
            "delivered": self.delivered,
            "last_success": None if self.last_success is None else iso_z(self.last_success),
            "last_attempt": None if self.last_attempt is None else iso_z(self.last_attempt),
            "last_error": self.last_error,
        }


class Uploader:
    """Queues accepted readings and delivers them to the hub when it can be reached."""

    def __init__(self, config: UploadConfig, data_dir: str | Path) -> None:
        self.config = config
        self.outbox = Outbox(data_dir)
        self.status = UploadStatus(enabled=config.enabled, url=config.url)
        self._flush_lock: Any = None  # an asyncio.Lock, made on first use in the running loop
        # accepted readings the outbox could not take (card full): queued before the next
        self._unqueued: list[MeterReading] = []
        self._unqueued_lock = threading.Lock()
        self._refresh()

    def _refresh(self) -> None:
        self.status.pending = len(self.outbox.pending()) + len(self._unqueued)
        self.status.delivered = self.outbox.delivered_count()

    def enqueue(self, reading: MeterReading) -> None:
        """Queue an accepted reading (no-op when upload is disabled). When the outbox
        cannot be written (OSError, raised) the reading is kept in memory and queued,
        in order, before the next one or at the next flush: the history has it, so the
        hub must get it too."""
        if not self.config.enabled:
            return
        with self._unqueued_lock:
            self._unqueued.append(reading)
        self.queue_unqueued()

    def queue_unqueued(self) -> None:
        """Write the readings the outbox could not take yet, oldest first (OSError when
        it still cannot: they stay in memory)."""
        with self._unqueued_lock:
            try:
                while self._unqueued:
                    self.outbox.add(self._unqueued[0])
                    self._unqueued.pop(0)
            finally:
                self._refresh()

    def catch_up(self, accepted: list[MeterReading]) -> int:
        """At start: queue the accepted readings (in time order) that are newer than
        anything the outbox holds — the outbox could not take them before a restart.
        Only when the outbox holds something to compare with (an empty one was compacted
        or never used: its history is not a backlog to send). Returns how many."""
        if not self.config.enabled:
            return 0
        newest = self.outbox.newest_timestamp()
        if newest is None:
            return 0
        missing = [r for r in accepted if r.timestamp > newest]
        for r in missing:
            log.warning("reading %s was not in the upload outbox; queued now", r.id)
            with self._unqueued_lock:
                self._unqueued.append(r)
        if missing:
            self.queue_unqueued()
        return len(missing)

    def _headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json", "User-Agent": "meter-agent"}
        if self.config.token:
            h["Authorization"] = f"Bearer {self.config.token}"
        return h

    async def flush(self, client: httpx.AsyncClient | None = None) -> int:
        """Send every pending reading in order; stop at the first failure. Returns how many went."""
        import asyncio

        import httpx  # only an agent that uploads needs it (it weighs ~10 MB with its CLI)

        if not self.config.enabled:
            return 0
        if not self.config.url.startswith(("http://", "https://")):
            self.status.last_error = (
                "upload.url must be the hub's http(s)://…/meter_reading address."
            )
            return 0
        if self._flush_lock is None:
            self._flush_lock = asyncio.Lock()
        async with self._flush_lock:
            try:
                await asyncio.to_thread(self.queue_unqueued)
            except OSError as exc:
                self.status.last_error = f"the upload outbox cannot be written: {exc}."
            own = client is None
            client = client or httpx.AsyncClient(timeout=self.config.timeout_s)
            sent = 0
            try:
                for reading in self.outbox.pending():
                    if not await self._send_one(client, reading):
                        break
                    sent += 1
            finally:
                if own:
                    await client.aclose()
            await asyncio.to_thread(self.outbox.maybe_compact)
            self._refresh()
            return sent

    async def _send_one(self, client: httpx.AsyncClient, reading: MeterReading) -> bool:
        import httpx

        url = self.config.url
        now = datetime.now(UTC)
        self.status.last_attempt = now
        try:
            resp = await client.post(
                url,
                content=reading.model_dump_json(),
                headers=self._headers(),
                timeout=self.config.timeout_s,
            )
        except httpx.TimeoutException:
            self.status.last_error = (
                f"the hub at {url} did not answer within {self.config.timeout_s:g} s."
            )
            return False
        except httpx.HTTPError as exc:
            self.status.last_error = f"the hub at {url} cannot be reached: {exc}."
            return False
        code = resp.status_code
        # 201 stored or 200 already stored (our /api/v1 shape); 200 {"status": "accepted"}
        # (the seed's shape, stored now or already)
        if 200 <= code < 300:
            self.outbox.mark_delivered(reading.id or "")
            self.status.last_success = now
            self.status.last_error = None
            return True
        if code in (401, 403):
            self.status.last_error = (
                f"the hub at {url} refused the upload (HTTP {code}); check upload.token."
            )
            return False
        if code in PERMANENT_REFUSALS:
            detail = _detail(resp)
            log.error(
                "hub refused reading %s for good (HTTP %d: %s); set aside", reading.id, code, detail
            )
            self.outbox.mark_refused(reading, f"HTTP {code}: {detail}")
            self.status.last_error = (
                f"the hub refused reading {reading.id} (HTTP {code}: {detail})."
            )
            return True
        self.status.last_error = f"the hub at {url} answered HTTP {code}; will retry."
        return False


def _detail(resp: httpx.Response) -> str:
    """The hub's sentence: ``reason`` in the seed's shape, ``detail`` in ours."""
    try:
        body = resp.json()
        if isinstance(body, dict):
            for key in ("reason", "detail"):
                if key in body:
                    return str(body[key])[:200]
    except ValueError:
        pass
    return resp.text[:200]
