"""InfluxDB 2.x writer: every power sample and accepted meter reading, never lost.

Why it is built this way:

* **The client library for the line protocol and the request, not for batching.**
  ``influxdb-client`` (1.50) makes each point (``Point``: escaping, float fields,
  millisecond timestamps) and posts to ``/api/v2/write`` with its synchronous write
  API. Its *batching* write API is not used: it keeps points in memory, retries on its
  own reactivex thread for at most three minutes and then drops the batch with only a
  callback to say so, and loses everything on a restart. That is the opposite of
  store-and-forward. Here every point goes to an on-disk spool first
  (:mod:`energytui.sinks.influx_spool`) and is deleted only after the server answered
  2xx; our own sender retries with back-off for as long as it takes, bounded by the
  spool's size, not by a timer.
* **Never on the hub's event loop.** The hub calls :meth:`InfluxSink.handle` on its
  loop; it turns the sample into lines (cheap, pure) and hands them to a queue. One
  thread appends the queue to the spool; another posts sealed batches with a total
  timeout. A dead or slow database therefore delays nothing but the sender.
* **At least once.** A batch whose answer was lost is sent again. InfluxDB keeps one
  point per measurement, tag set and timestamp, so a resent batch overwrites itself.
* **The token** goes only into the ``Authorization`` header: it is not logged, not in
  :class:`InfluxStatus`, not in ``repr`` of the config (``repr=False``), and the
  client's debug mode (which logs headers) stays off.

Schema: see docs/influxdb.md. The points come from the wire table
(:func:`energytui.wire.influx.to_lines`), like every other outside shape.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import urllib3
from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException

from energytui.config import Config, InfluxConfig
from energytui.hub import HubEvent, SampleEvent
from energytui.sinks.influx_spool import Batch, Spool, SpoolBusy, SpoolWriteError
from energytui.wire.influx import MS, to_lines

log = logging.getLogger(__name__)


def points(n: int) -> str:
    """A count of points in words ("1 point", "1,500 points"), for the health line and
    the log."""
    return f"{n:,} point" + ("" if n == 1 else "s")


#: in-memory queue between the hub and the spooler thread; only fills if the disk hangs
QUEUE_MAX_POINTS = 10_000
MIN_BACKOFF_S = 0.5
MAX_BACKOFF_S = 60.0
#: a wrong token, org or bucket does not fix itself in seconds
CONFIG_BACKOFF_S = 30.0


def safe_url(url: str) -> str:
    """The URL without a password in it, for logs and the status."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def spool_dir(config: Config) -> Path:
    """Where the spool lives: in the data dir, beside the store."""
    return config.data_dir / "influx-spool"


@dataclass(frozen=True)
class InfluxStatus:
    """What the health line and /health show about the writer."""

    enabled: bool
    state: str  # stopped | ok | behind | error
    url: str
    points_written: int
    points_pending: int
    oldest_unsent_age_s: float | None
    dropped: int
    rejected: int
    last_error: str | None
    last_write: datetime | None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["last_write"] = None if self.last_write is None else self.last_write.isoformat()
        if self.oldest_unsent_age_s is not None:
            d["oldest_unsent_age_s"] = round(self.oldest_unsent_age_s, 1)
        return d

    def line(self) -> str:
        """A few words for a health line: how far behind, and what is wrong. While the
        writer keeps up (``ok``) the points of the batch being filled are not "waiting":
        at the default 10 s flush interval some nearly always are, and the line would
        never say how much was written."""
        if self.state == "stopped":
            return f"InfluxDB stopped: {self.last_error}" if self.last_error else "InfluxDB off"
        parts = []
        if self.points_pending and self.state != "ok":
            age = _age(self.oldest_unsent_age_s)
            parts.append(f"{points(self.points_pending)} waiting" + (f" ({age})" if age else ""))
        if self.dropped:
            parts.append(f"{self.dropped:,} dropped (spool full)")
        if self.rejected:
            parts.append(f"{self.rejected:,} refused")
        if self.state == "error":
            head = (
                "InfluxDB unreachable"
                if "cannot reach" in (self.last_error or "")
                else ("InfluxDB error")
            )
        else:
            head = f"InfluxDB {self.state}"
        if self.state == "ok":
            return ", ".join([f"{head}, {self.points_written:,} written", *parts])
        return head + (": " + ", ".join(parts) if parts else f", {self.points_written:,} written")


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 90:
        return f"oldest {seconds:.0f} s"
    if seconds < 90 * 60:
        return f"oldest {seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"oldest {seconds / 3600:.0f} h"
    return f"oldest {seconds / 86400:.0f} d"


class WriteFailed(Exception):
    """A batch was not taken; ``kind`` says what to do: retry, config (retry slowly), reject."""

    def __init__(self, message: str, kind: str = "retry", retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after


def _describe_api_error(exc: ApiException, url: str) -> WriteFailed:
    status = exc.status or 0
    detail = (getattr(exc, "message", None) or exc.reason or "").strip().rstrip(".")
    detail = detail.splitlines()[0][:200] if detail else f"HTTP {status}"
    retry_after: float | None = None
    raw = getattr(exc, "retry_after", None)
    if raw:
        try:
            retry_after = float(raw)
        except ValueError:
            retry_after = None
    if status in (401, 403):
        return WriteFailed(
            f"InfluxDB at {url} refused the token ({status}: {detail}); check INFLUXDB_TOKEN "
            "or influxdb.token.",
            "config",
        )
    if status == 404:
        return WriteFailed(
            f"InfluxDB at {url} has no such org or bucket ({detail}); check INFLUXDB_ORG and "
            "INFLUXDB_BUCKET.",
            "config",
        )
    if status in (400, 413, 422):
        # no full stop: the sender adds where the batch went
        return WriteFailed(f"InfluxDB at {url} refused a batch ({status}: {detail})", "reject")
    return WriteFailed(
        f"InfluxDB at {url} answered {status} ({detail}); retrying.", "retry", retry_after
    )


class _Writer:
    """Posts one batch of line protocol with the client library's synchronous API."""

    def __init__(self, config: InfluxConfig) -> None:
        self.url = safe_url(config.url)
        self.bucket = config.bucket
        self.org = config.org
        self._client = InfluxDBClient(
            url=config.url,
            token=config.token,
            org=config.org,
            timeout=int(config.timeout_s * 1000),  # total, not per socket read
            debug=False,  # debug logs the Authorization header
            retries=False,  # our spool retries; urllib3 must not resend behind our back
        )
        self._api = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, body: bytes) -> None:
        try:
            self._api.write(
                bucket=self.bucket,
                org=self.org,
                record=body,
                write_precision=MS,
            )
        except ApiException as exc:
            raise _describe_api_error(exc, self.url) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # refused, reset, timeout, DNS
            raise WriteFailed(
                f"cannot reach InfluxDB at {self.url} ({_short_cause(exc)}); points are kept "
                "on disk and sent when it is back."
            ) from None
        except Exception:  # a bug must not stop the sender: keep the batch, retry
            log.debug("InfluxDB: write failed unexpectedly", exc_info=True)
            raise WriteFailed(
                f"writing to InfluxDB at {self.url} failed unexpectedly (see the log); "
                "points are kept on disk."
            ) from None

    def close(self) -> None:
        self._api.close()
        self._client.close()


def _short_cause(exc: BaseException) -> str:
    """The innermost reason of a urllib3 error, without its object reprs."""
    text = type(exc).__name__
    reason = getattr(exc, "reason", None)
    while isinstance(reason, BaseException):
        text = type(reason).__name__
        reason = getattr(reason, "reason", None)
    if "Timeout" in text or "timed out" in str(exc):
        return "no answer in time"
    if "NewConnection" in text or "Refused" in str(exc):
        return "connection refused"
    if "Protocol" in text or "RemoteDisconnected" in str(exc):
        return "connection dropped"
    if "NameResolution" in text:
        return "host name not found"
    return "network error"  # the class name stays in the log: users read words


class InfluxSink:
    """Subscribes to the hub and writes every sample to InfluxDB through a disk spool."""

    def __init__(
        self,
        hub: Any,
        config: InfluxConfig,
        spool_dir: Path,
        *,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.hub = hub
        self.config = config
        self.spool = Spool(
            spool_dir,
            max_points=config.spool_max_points,
            batch_size=config.batch_size,
            wall_ms=lambda: int(wall() * 1000),
        )
        self._wall = wall
        #: the hub's side: guards only the in-memory queue, never held during I/O
        self._qlock = threading.Lock()
        self._queue: deque[str] = deque()
        self._queue_dropped = 0
        self._wake = threading.Event()  # points queued, or stop
        #: the threads' side: back-off, errors and stop (never held during I/O either)
        self._cond = threading.Condition()
        self._stopping = False
        self._flushing = False
        self._threads: list[threading.Thread] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._writer: _Writer | None = None
        self._running = False
        self.rejected = 0
        self.last_error: str | None = None
        self.last_write: datetime | None = None
        self._backoff_until = 0.0
        self._failures = 0
        self._dropped_told = 0
        self._dropped_told_at = float("-inf")

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        """Open the spool (repairing what a crash left), subscribe, start both threads."""
        try:
            notices = self.spool.open()
        except (SpoolBusy, OSError) as exc:
            self.last_error = (
                str(exc)
                if isinstance(exc, SpoolBusy)
                else (
                    f"cannot open the InfluxDB spool in {self.spool.dir} ({exc.strerror or exc})."
                )
            )
            log.error("InfluxDB: %s", self.last_error)
            return
        for notice in notices:
            log.warning("%s", notice)
        self._writer = _Writer(self.config)
        self._stopping = self._flushing = False
        self._failures = 0
        self._backoff_until = 0.0
        self._running = True
        self._threads = [
            threading.Thread(target=self._spool_loop, name="influx-spool", daemon=True),
            threading.Thread(target=self._send_loop, name="influx-send", daemon=True),
        ]
        for t in self._threads:
            t.start()
        if self.hub is not None:
            self._unsubscribe = self.hub.subscribe(self.handle)
        pending = self.spool.pending
        log.info(
            "InfluxDB: writing to %s, bucket %s%s",
            safe_url(self.config.url),
            self.config.bucket,
            f" ({points(pending)} waiting in the spool)" if pending else "",
        )

    def stop(self, timeout_s: float = 5.0) -> None:
        """Send what can be sent within ``timeout_s``; the rest stays in the spool."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if not self._running:
            return
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._flushing = True  # seal now and try once more at once, no back-off wait
            self._backoff_until = 0.0
            failures = self._failures
            self._cond.notify_all()
        self._wake.set()
        while time.monotonic() < deadline:
            if self._queued() == 0 and self.spool.pending == 0:
                break
            if self._failures > failures:
                break  # the database is still away: the rest keeps in the spool
            time.sleep(0.05)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._wake.set()
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()) + 0.2)
        self._threads = []
        self._drain_queue()  # anything the spooler had not taken yet
        self.spool.close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._running = False
        left = self.spool.pending
        if left:
            log.info("InfluxDB: %d points kept in the spool for the next start", left)

    async def astop(self, timeout_s: float = 5.0) -> None:
        """:meth:`stop` from the event loop without blocking it."""
        await asyncio.to_thread(self.stop, timeout_s)

    # -- the hub's side (event loop: no I/O here) ----------------------------------
    def handle(self, event: HubEvent) -> None:
        if not isinstance(event, SampleEvent):
            return
        lines = to_lines(event.sample)
        if not lines:
            return
        with self._qlock:
            self._queue.extend(lines)
            over = len(self._queue) - QUEUE_MAX_POINTS
            for _ in range(max(0, over)):
                self._queue.popleft()
                self._queue_dropped += 1
        self._wake.set()

    def _queued(self) -> int:
        """Points still in memory (those being appended already count in the spool)."""
        with self._qlock:
            return len(self._queue)

    # -- the spooler thread ------------------------------------------------------
    def _drain_queue(self) -> None:
        with self._qlock:  # hand over under the lock: a status counts each point once
            lines = list(self._queue)
            self._queue.clear()
            self.spool.expect(len(lines))
        if not lines:
            return
        try:
            self.spool.append(lines)
        except SpoolWriteError as exc:
            self.last_error = f"cannot write the InfluxDB spool in {self.spool.dir} ({exc.cause})."
            log.error("InfluxDB: %s", self.last_error)
            with self._qlock:  # keep the unwritten ones in memory and try again
                self._queue.extendleft(reversed(lines[exc.written :]))
            time.sleep(1.0)
            return
        self._tell_dropped()

    def _tell_dropped(self) -> None:
        """Say when the full spool starts dropping, then at most every five minutes."""
        dropped = self.spool.state().dropped
        now = time.monotonic()
        if dropped > self._dropped_told and (
            self._dropped_told == 0 or now - self._dropped_told_at >= 300.0
        ):
            log.warning(
                "InfluxDB: the spool is full (%d points); dropped the oldest %d points so far "
                "while %s cannot be written",
                self.spool.max_points,
                dropped,
                safe_url(self.config.url),
            )
            self._dropped_told = dropped
            self._dropped_told_at = now

    def _spool_loop(self) -> None:
        flush_ms = self.config.flush_interval_s * 1000.0
        while not self._stopping:
            self._wake.wait(min(0.5, self.config.flush_interval_s / 2))
            self._wake.clear()
            self._drain_queue()
            st = self.spool.state()
            if st.open_since_ms is None:
                continue
            due = self._wall() * 1000.0 - st.open_since_ms >= flush_ms
            if self._flushing or (due and st.sealed_files == 0):  # caught up: send it now
                try:
                    sealed = self.spool.seal()
                except OSError as exc:
                    self.last_error = f"cannot seal an InfluxDB spool file ({exc})."
                    log.error("InfluxDB: %s", self.last_error)
                    continue
                if sealed:
                    with self._cond:
                        self._cond.notify_all()

    # -- the sender thread -------------------------------------------------------
    def _send_loop(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                wait = self._backoff_until - time.monotonic()
                if wait > 0:
                    self._cond.wait(min(wait, 0.5))
                    continue
            batch = self.spool.next_batch()
            if batch is None:
                with self._cond:
                    if not self._stopping:
                        self._cond.wait(0.2)
                continue
            self._send(batch)

    def _send(self, batch: Batch) -> None:
        assert self._writer is not None
        try:
            self._writer.write(batch.body)
        except WriteFailed as exc:
            self._failed(batch, exc)
            return
        self.spool.ack(batch)  # counts them sent in the same step
        with self._cond:
            self.last_write = datetime.now(UTC)
            failures, self._failures = self._failures, 0
            self.last_error = None
            self._cond.notify_all()
        if failures:
            log.info("InfluxDB: writing again after %d failed attempts", failures)

    def _failed(self, batch: Batch, exc: WriteFailed) -> None:
        msg = str(exc)
        if exc.kind == "reject":
            dest = self.spool.reject(batch)
            were = "was" if batch.points == 1 else "were"
            self.last_error = f"{msg}; its {points(batch.points)} {were} moved to {dest}."
            self.rejected += batch.points
            log.error("InfluxDB: %s", self.last_error)
            return
        self.spool.release(batch)
        with self._cond:
            self._failures += 1
            delay = min(MAX_BACKOFF_S, MIN_BACKOFF_S * 2 ** min(self._failures - 1, 10))
            if exc.kind == "config":
                delay = max(delay, CONFIG_BACKOFF_S)
            if exc.retry_after:
                delay = max(delay, min(exc.retry_after, 600.0))
            self._backoff_until = time.monotonic() + delay
            first = self.last_error != msg
            self.last_error = msg
            self._cond.notify_all()
        if first:  # once per distinct error, not on every retry
            log.warning("InfluxDB: %s", msg)

    # -- status ------------------------------------------------------------------
    @property
    def points_written(self) -> int:
        return self.spool.state().sent

    def status(self) -> InfluxStatus:
        """A snapshot from memory only: cheap and safe to call on the event loop."""
        with self._qlock:  # one snapshot of queue and spool: see _drain_queue
            queued = len(self._queue)
            queue_dropped = self._queue_dropped
            st = self.spool.state()
        age = None if st.oldest_ms is None else max(0.0, self._wall() - st.oldest_ms / 1000.0)
        if not self._running:
            state = "stopped"
        elif self.last_error is not None:
            state = "error"
        elif age is not None and age > 2 * self.config.flush_interval_s + self.config.timeout_s:
            state = "behind"
        else:
            state = "ok"
        return InfluxStatus(
            enabled=self.config.enabled,
            state=state,
            url=safe_url(self.config.url),
            points_written=st.sent,
            points_pending=st.pending + queued,
            oldest_unsent_age_s=age,
            dropped=st.dropped + queue_dropped,
            rejected=self.rejected,
            last_error=self.last_error,
            last_write=self.last_write,
        )
