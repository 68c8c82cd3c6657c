"""The hub: polls every source on its own schedule, stores, and fans out.

It owns the timing policy so that sources stay simple: each poll runs under a
timeout; failures back off exponentially (never faster than the source asks
through ``SourceError.retry_after``, which is how a wrong Powerwall password
stops hammering the gateway); a source whose last success is older than two
intervals is *stale*, and stale data is never presented as live.

Subscribers either take every event (a sample, a health change) or, like the TUI,
take a frozen :class:`~energytui.view.HubView` of everything: the hub builds one after
every change and once a second, so ages move. Every write to a device goes through the
hub's commands (:meth:`Hub.set_reserve`, :meth:`Hub.set_mode`, :meth:`Hub.set_outage`).

No Textual imports: the TUI, the HTTP API and the sinks are all subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from energytui.clock import Clock
from energytui.energy import EnergyToday, local_midnight
from energytui.events import Event, EventBook
from energytui.model import PowerSample
from energytui.sources.base import (
    Cause,
    DeviceSource,
    Source,
    SourceError,
    SourceState,
    with_wait,
)
from energytui.sources.simulated import SimulatedSite, SimulatedSource
from energytui.view import (
    EnergyView,
    HubView,
    MeterView,
    PowerView,
    RejectedReading,
    SinkReport,
    SinkView,
    SourceStatus,
    StatusSource,
    StoreView,
)
from meter_agent import rules as meter_rules
from meter_agent.schema import MeterReading, iso_z

if TYPE_CHECKING:  # imported when opened: a hub without a store never loads TinyDB
    from energytui.store.events import EventLog

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 300.0
#: failures that cost the device nothing (no answer, a refused connection, another
#: energytui whose own data is stale): retried at most this many poll intervals apart, so
#: data is back within two polls of the device coming back instead of after a back-off
#: grown to minutes
TRANSPORT_CAUSES = frozenset({Cause.TIMEOUT, Cause.REFUSED, Cause.UNREACHABLE, Cause.STALE})
TRANSPORT_RETRY_INTERVALS = 1.0
MAINTAIN_EVERY_S = 60.0
#: while the store takes no writes (read-only or full disk, another writer, a lost
#: journal) the hub polls and serves live data and tries the store again this often
STORE_RETRY_S = 30.0
#: readings held in memory meanwhile, written when the store works again (~11 h at 2 s)
STORE_BACKLOG = 20_000
#: a view older than this gets a successor from the once-a-second sweep (a little under
#: the sweep's second, so a view built by a poll just before is not built again)
TICK_S = 0.9
#: the sweep also leaves the tick to a poll due within this long, or one started less
#: than this long ago: its view follows at once. At a 1 s poll interval the sweep's
#: second and the poll's drift past each other, and each poll's view came a few
#: milliseconds after a sweep's: two views a second, each drawn in full by every screen.
POLL_GRACE_S = 0.25


def meter_record(reading: MeterReading) -> dict:
    """A meter reading as a flat store record (``ts`` instead of ``timestamp``)."""
    rec = reading.model_dump(mode="json")
    rec["ts"] = rec.pop("timestamp")
    return rec


@dataclass(frozen=True)
class MeterRejection:
    """A reading the plausibility checks refused, with why and when it arrived: kept in the
    store's ``meter_rejected`` series (never in ``meter``) so an operator can see it."""

    reading: MeterReading
    refused: meter_rules.Refused
    received: datetime

    def view(self) -> RejectedReading:
        """The frozen copy the hub's views carry."""
        return RejectedReading(
            self.reading, self.refused.code.value, self.refused.text, self.received
        )

    def to_record(self) -> dict:
        rec = meter_record(self.reading)
        rec["code"] = self.refused.code.value
        rec["reason"] = self.refused.text
        rec["received"] = iso_z(self.received)
        return rec


def meter_from_record(rec: dict) -> MeterReading:
    data = {k: v for k, v in rec.items() if k in MeterReading.model_fields}
    data["timestamp"] = rec["ts"]
    return MeterReading.model_validate(data)


@dataclass
class SourceHealth:
    """What the hub knows about one source's recent behaviour."""

    name: str
    kind: str
    interval_s: float
    state: SourceState = SourceState.WAITING
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    last_error: str | None = None
    error_cause: Cause | None = None
    consecutive_errors: int = 0
    latency_ms: float | None = None
    next_poll_at: datetime | None = None
    polls: int = 0
    failures: int = 0
    #: wall-clock monotonic time of the last success: liveness is judged on it, so an
    #: accelerated or frozen data clock can never make old data look live
    last_success_mono: float | None = None
    #: a wait the source asked for (a login back-off, a 429 pause): the error's reason,
    #: the words before the time left ("next login attempt in") and the ``monotonic()``
    #: deadline, so every screen and ``/health`` count down instead of freezing "60 s"
    error_reason: str | None = None
    error_then: str | None = None
    retry_mono: float | None = None

    def error_text(self, mono: float | None = None) -> str | None:
        """``last_error`` with the wait it names counted down to ``mono`` (now)."""
        if self.last_error is None or self.error_then is None or self.retry_mono is None:
            return self.last_error
        left = self.retry_mono - (time.monotonic() if mono is None else mono)
        if left <= 0.5:
            return f"{(self.error_reason or '').rstrip('.')}; trying again now."
        return with_wait(self.error_reason or "", self.error_then, left)

    def age_s(self, now: datetime) -> float | None:
        """Age of the last good reading: the data clock's, bounded by real elapsed time."""
        if self.last_success is None:
            return None
        by_clock = (now - self.last_success).total_seconds()
        if self.last_success_mono is None:
            return by_clock
        return max(0.0, min(by_clock, time.monotonic() - self.last_success_mono))

    def to_dict(self) -> dict[str, Any]:
        from energytui.model import iso_z

        def ts(v: datetime | None) -> str | None:
            return None if v is None else iso_z(v)

        return {
            "name": self.name,
            "kind": self.kind,
            "state": self.state,
            "last_success": ts(self.last_success),
            "last_attempt": ts(self.last_attempt),
            "last_error": self.error_text(),
            "consecutive_errors": self.consecutive_errors,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "next_poll_at": ts(self.next_poll_at),
            "polls": self.polls,
            "failures": self.failures,
        }


@dataclass(frozen=True)
class SampleEvent:
    source: str
    sample: PowerSample | MeterReading


@dataclass(frozen=True)
class HealthEvent:
    health: SourceHealth


HubEvent = SampleEvent | HealthEvent
Subscriber = Callable[[HubEvent], None]
ViewSubscriber = Callable[[HubView], None]


@dataclass
class HubState:
    """The hub's cache: what every subscriber may read at any time."""

    latest_power: PowerSample | None = None
    latest_meter: MeterReading | None = None
    history: deque[PowerSample] = field(default_factory=lambda: deque(maxlen=3600))
    meter_history: deque[MeterReading] = field(default_factory=lambda: deque(maxlen=2000))
    #: readings set by hand lower than the one before, taken since start: exporters that
    #: never publish a total lower than before start again from the corrected value
    meter_corrections: int = 0
    #: the agent's latest reading when it is lower than the accepted one and refused
    #: (the agent started over, or the meter was replaced): the meter screen says so,
    #: since nothing else would show why the reading stops moving
    meter_refused: MeterReading | None = None
    #: the latest reading the plausibility checks refused (any reason), with the reason
    meter_rejected: MeterRejection | None = None


class Hub:
    """Polls sources, writes the store, fans samples and health out to subscribers."""

    def __init__(
        self,
        sources: list[Source],
        *,
        store: Any = None,
        clock: Clock | None = None,
        zone: ZoneInfo | None = None,
        history_minutes: int = 60,
        meter_limits: meter_rules.Limits | None = None,
        store_opener: Callable[[], Any] | None = None,
        store_note: str | None = None,
        maintain_every_s: float = MAINTAIN_EVERY_S,
    ) -> None:
        self.sources: dict[str, Source] = {s.name: s for s in sources}
        self.store = store
        #: opens the store again (a writer when it can be one): set when this hub polls
        #: its own sources and should be the store's writer; None for a viewer or a test
        self.store_opener = store_opener
        self.maintain_every_s = maintain_every_s
        self.clock = clock or Clock()
        self.zone = zone or ZoneInfo("UTC")
        self.state = HubState()
        self.state.history = deque(
            maxlen=max(60, int(history_minutes * 60 / self._power_interval()))
        )
        self.health: dict[str, SourceHealth] = {
            s.name: SourceHealth(s.name, s.kind, s.interval_s) for s in sources
        }
        self.energy = EnergyToday(self.zone)
        self._subs: list[Subscriber] = []
        self._view_subs: list[ViewSubscriber] = []
        self._view: HubView | None = None
        self._history_view: tuple[PowerSample, ...] = ()
        self._meter_history_view: tuple[MeterReading, ...] = ()
        self._energy_view: EnergyView | None = None
        self._tasks: list[asyncio.Task] = []
        self._wake: dict[str, asyncio.Event] = {}
        #: per source, when its next view is expected (monotonic): its next poll, or the
        #: start of the poll under way (see :data:`POLL_GRACE_S`)
        self._poll_due: dict[str, float] = {}
        self._store_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._seen_meter_ids: deque[str] = deque(maxlen=5000)
        #: the plausibility checks on every reading; None (a hub built bare, in tests or
        #: tools) keeps only the never-lower rule
        self.meter_limits = meter_limits
        self._pending_rejections: deque[MeterRejection] = deque()
        self.started = False
        #: one sentence while readings are not being stored (shown on every screen and
        #: in /health); None while the store takes them
        self.store_error: str | None = store_note
        self._backlog: deque[tuple[str, dict]] = deque(maxlen=STORE_BACKLOG)
        # not storing from the start: the first retry is a full interval away
        self._store_retry_at = time.monotonic() + STORE_RETRY_S if store_note else 0.0
        self._maintaining = False
        #: the sinks' status calls, by name (see :meth:`add_status_source`)
        self._status_sources: dict[str, StatusSource] = {}
        #: events found in the views (:mod:`energytui.events`), kept in the store's event
        #: log (``event_log``, opened at start) when there is a store
        self.events = EventBook()
        self.event_log: EventLog | None = None

    # -- public reads ------------------------------------------------------
    @property
    def latest_power(self) -> PowerSample | None:
        return self.state.latest_power

    @property
    def latest_meter(self) -> MeterReading | None:
        return self.state.latest_meter

    def source_of(self, kind: str) -> Source | None:
        """The first source of ``kind`` ("power" or "meter"), if the hub has one."""
        return next((s for s in self.sources.values() if s.kind == kind), None)

    @property
    def power_source(self) -> Source | None:
        return self.source_of("power")

    @property
    def meter_source(self) -> Source | None:
        return self.source_of("meter")

    @property
    def power_is_live(self) -> bool:
        src = self.power_source
        if src is None or self.state.latest_power is None:
            return False
        return self.is_live(src.name)

    def is_live(self, name: str, *, mono: float | None = None) -> bool:
        """Whether the source's data is live (at ``mono``, a ``time.monotonic()``; now)."""
        h = self.health[name]
        if h.last_success_mono is None or h.consecutive_errors > 0:
            return False
        age = (time.monotonic() if mono is None else mono) - h.last_success_mono
        return age <= 2 * h.interval_s + self.sources[name].timeout_s

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        self._subs.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subs.remove(callback)

        return unsubscribe

    # -- sinks' status ----------------------------------------------------------
    def add_status_source(self, name: str, status: StatusSource) -> Callable[[], None]:
        """Show a sink's status in every view (and ``/api/v1/health``) until the returned
        callable is called. The hub does not own the sinks (the runtime starts and stops
        them), yet the health line is drawn from the hub's view: this is how it learns of
        them. ``status`` is called on the event loop for every view, once a second, so it
        must be cheap and read memory only (as ``InfluxSink.status`` does)."""
        if name in self._status_sources:
            raise ValueError(f"a status source named {name!r} is already registered")
        self._status_sources[name] = status

        def remove() -> None:
            if self._status_sources.get(name) is status:
                del self._status_sources[name]
                self._changed()

        self._changed()
        return remove

    def sink_reports(self) -> dict[str, SinkReport | None]:
        """Each registered sink's report now, in the order they were registered; None for
        one whose status call failed (a bug in a sink must not stop the views)."""
        reports: dict[str, SinkReport | None] = {}
        for name, status in list(self._status_sources.items()):
            try:
                reports[name] = status()
            except Exception:
                log.exception("status of sink %s failed", name)
                reports[name] = None
        return reports

    # -- the read model ------------------------------------------------------
    @property
    def view(self) -> HubView:
        """The latest view (built now when none was yet)."""
        if self._view is None:
            self._view = self._build_view()
        return self._view

    def subscribe_view(self, callback: ViewSubscriber) -> Callable[[], None]:
        """Call ``callback`` with every new :class:`HubView`: after each poll, each pushed
        meter reading, and once a second (so ages and clocks move)."""
        self._view_subs.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._view_subs.remove(callback)

        return unsubscribe

    def publish_view(self) -> HubView:
        """Build a view of the hub as it is now and hand it to every view subscriber."""
        view = self._view = self._build_view()
        for cb in list(self._view_subs):
            try:
                cb(view)
            except Exception:
                log.exception("view subscriber failed")
        return view

    def _changed(self) -> None:
        """The state moved: build a new view now. Even when nobody reads views (a headless
        hub serving only the API): the event detector watches every one."""
        self.publish_view()

    def _build_view(self) -> HubView:
        now = self.clock.now()
        mono = time.monotonic()
        statuses = {
            name: SourceStatus.of(h, live=self.is_live(name, mono=mono), mono=mono)
            for name, h in self.health.items()
        }
        psrc = self.power_source
        msrc = self.meter_source
        state = self.state
        history = _frozen(state.history, self._history_view)
        if history is not self._history_view or self._energy_view is None:
            # today's energy moves only with a sample, and every sample goes to the
            # history too; working it out costs more than the rest of the view
            self._energy_view = EnergyView.of(self.energy)
        self._history_view = history
        self._meter_history_view = _frozen(state.meter_history, self._meter_history_view)
        view = HubView(
            now=now,
            mono=mono,
            power=PowerView(
                source=None if psrc is None else psrc.name,
                sample=state.latest_power,
                live=psrc is not None
                and state.latest_power is not None
                and statuses[psrc.name].live,
            ),
            sources=tuple(statuses.values()),
            energy=self._energy_view,
            meter=MeterView(
                source=None if msrc is None else msrc.name,
                latest=state.latest_meter,
                refused=state.meter_refused,
                live=msrc is not None and statuses[msrc.name].live,
                corrections=state.meter_corrections,
                history=self._meter_history_view,
                rejected=None if state.meter_rejected is None else state.meter_rejected.view(),
            ),
            history=self._history_view,
            store=StoreView(
                present=self.store is not None,
                readonly_reason=getattr(self.store, "readonly_reason", None),
                error=self.store_error,
            ),
            sinks=tuple(
                SinkView.unreadable(name) if report is None else SinkView.of(name, report)
                for name, report in self.sink_reports().items()
            ),
            events=self.events.view(),
        )
        return self._note_events(view, self.events.observe(view))

    # -- events ----------------------------------------------------------------
    def _note_events(self, view: HubView, new: list[Event]) -> HubView:
        """Log the events a view brought, keep them in the event log (on the store's
        thread, in order) and return the view carrying them."""
        if not new:
            return view
        for e in new:
            log.log(logging.WARNING if e.severity else logging.INFO, "event: %s", e.text)
        self._keep_events(new)
        return replace(view, events=self.events.view())

    def _keep_events(self, new: list[Event]) -> None:
        if self.event_log is not None:
            self._log_events(self.event_log.add, new)

    def _log_events(self, fn: Callable, *args: Any) -> None:
        """Run an event-log call on the store's thread (after its writes before, in
        order); nothing once the hub has stopped."""
        with contextlib.suppress(RuntimeError):  # the pool is shut down: the hub stopped
            self._store_pool.submit(fn, *args).add_done_callback(_logged)

    def acknowledge_events(self) -> None:
        """Mark every event seen (the banner goes away) and keep the mark in the log."""
        if not self.events.acknowledge():
            return
        if self.event_log is not None:
            self._log_events(self.event_log.acknowledge, self.events.seen_upto)
        self._changed()

    async def _open_events(self) -> None:
        """Open the store's event log and take the events it kept (at start)."""
        root = getattr(self.store, "root", None)
        if root is None:
            return
        from energytui.store.events import EventLog

        readonly = bool(getattr(self.store, "readonly", False))
        try:
            event_log = EventLog(root, readonly=readonly)
            kept, seen = await self._in_store(event_log.load)
        except Exception as exc:  # no event log must not stop the monitor
            log.warning("could not read the event log: %s", exc)
            return
        unsaved = [e for e in self.events.recent if e.id not in {k.id for k in kept}]
        old, self.event_log = self.event_log, event_log
        if old is not None:
            self._log_events(old.close)
        self.events.load(kept, seen)
        if unsaved:  # found before the store could be written: kept now
            self._log_events(event_log.add, unsaved)

    async def recent_events(self, limit: int) -> list[Event]:
        """The newest ``limit`` events, newest first: from the log when there is one
        (it keeps more than memory), else from memory."""
        if self.event_log is not None and limit > len(self.events.recent):
            with contextlib.suppress(Exception):
                return await self._in_store(self.event_log.recent, limit)
        return list(self.events.view().recent[:limit])

    # -- commands: every write to a device goes through the hub ---------------
    @property
    def device(self) -> DeviceSource | None:
        """The power source when it has device details and settings (a Powerwall)."""
        src = self.power_source
        return src if isinstance(src, DeviceSource) else None

    @property
    def simulated_site(self) -> SimulatedSite | None:
        """The simulated site behind the power source, when that is what it is."""
        src = self.power_source
        return src.site if isinstance(src, SimulatedSource) else None

    async def power_details(self, *, refresh: bool = False) -> Any:
        """The device's slow-schedule details (``PowerwallDetails``), fetched now when
        ``refresh``; None when the power source has none (the simulated site, a remote
        hub). Raises :class:`SourceError` when they cannot be had."""
        device = self.device
        if device is None:
            return None
        details = await (device.refresh_details() if refresh else device.details())
        self._storm_watch(details)
        return details

    def _storm_watch(self, details: Any) -> None:
        """Storm Watch, when the gateway's alerts name it, becomes an event."""
        alerts = getattr(details, "alerts", None)
        if not isinstance(alerts, tuple | list):
            return
        active = any("storm" in str(a).lower() for a in alerts)
        new = self.events.number(self.events.detector.storm_watch(active, self.clock.now()))
        if new:
            self._keep_events(new)
            self._changed()

    async def set_reserve(self, pct: float) -> str:
        """Set the backup reserve (%, the Tesla app's scale): the device's answer in one
        sentence, or :class:`SourceError`."""
        return await self._control("the backup reserve").set_reserve(pct)

    async def set_mode(self, mode: str) -> str:
        """Set the operation mode (self_consumption, autonomous, backup)."""
        return await self._control("the operation mode").set_mode(mode)

    def set_outage(self, on: bool) -> None:
        """Start or end a grid outage on the simulated site, and poll it at once."""
        src = self.power_source
        if not isinstance(src, SimulatedSource):
            raise SourceError(
                "Outages can only be simulated on the simulated site.", cause=Cause.UNSUPPORTED
            )
        src.set_outage(on)
        self.poll_now(src.name)

    def _control(self, what: str) -> DeviceSource:
        device = self.device
        if device is None:
            raise SourceError(f"Changing {what} needs a Powerwall.", cause=Cause.UNSUPPORTED)
        return device

    # -- lifecycle ---------------------------------------------------------
    async def start(self) -> None:
        if self.started:
            return
        self.started = True
        await self._restore()
        await self._open_events()
        self._changed()
        for name in self.sources:
            self._wake[name] = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._run(name), name=f"poll-{name}"))
        self._tasks.append(asyncio.create_task(self._watch(), name="hub-watch"))
        if self.store is not None and not getattr(self.store, "readonly", False):
            self._start_maintain()
        if self.store_opener is not None:
            self._tasks.append(asyncio.create_task(self._store_retry(), name="store-retry"))

    def _start_maintain(self) -> None:
        if not self._maintaining:
            self._maintaining = True
            self._tasks.append(asyncio.create_task(self._maintain(), name="store-maintain"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        for s in self.sources.values():
            with contextlib.suppress(Exception):
                await s.close()
        if self.event_log is not None:
            await self._in_store(self.event_log.close)
        if self.store is not None:
            await self._in_store(self.store.close)
        self._store_pool.shutdown(wait=True)
        self.started = False
        self._maintaining = False

    def poll_now(self, name: str | None = None) -> None:
        """Ask for an immediate poll (all sources, or one), e.g. from a refresh key."""
        for n, ev in self._wake.items():
            if name is None or n == name:
                h = self.health[n]
                if h.state is not SourceState.BACKOFF:  # never cut a login back-off short
                    ev.set()

    # -- the poll loop -----------------------------------------------------
    async def _run(self, name: str) -> None:
        src = self.sources[name]
        health = self.health[name]
        while True:
            started = self._poll_due[name] = time.monotonic()
            health.last_attempt = self.clock.now()
            health.polls += 1
            delay = src.interval_s
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancel that lands as the inner await finishes, and stop() then hangs
                async with asyncio.timeout(src.timeout_s + 1.0):
                    result = await src.poll()
            except TimeoutError:
                delay = self._failed(
                    health,
                    SourceError(
                        f"{name} did not answer within {src.timeout_s:g} s.", cause=Cause.TIMEOUT
                    ),
                )
            except SourceError as exc:
                delay = self._failed(health, exc)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in a source must not stop polling
                log.exception("source %s failed unexpectedly", name)
                delay = self._failed(
                    health,
                    SourceError(f"{name} failed unexpectedly; the log has the details."),
                )
            else:
                health.latency_ms = (time.monotonic() - started) * 1000.0
                health.last_success = self.clock.now()
                health.last_success_mono = time.monotonic()
                health.consecutive_errors = 0
                health.last_error = None
                health.error_cause = None
                health.error_reason = health.error_then = health.retry_mono = None
                health.state = SourceState.OK
                await self._accept(name, src.kind, result)
            health.next_poll_at = self.clock.now() + timedelta(seconds=delay)
            self._poll_due[name] = time.monotonic() + delay
            self._publish(HealthEvent(health))
            self._changed()  # one view for the sample and the health change together
            wake = self._wake[name]
            wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await wake.wait()

    def _failed(self, health: SourceHealth, exc: SourceError) -> float:
        health.consecutive_errors += 1
        health.failures += 1
        health.last_error = str(exc)
        health.error_cause = exc.cause
        delay = min(
            MAX_BACKOFF_S, health.interval_s * (2 ** min(health.consecutive_errors - 1, 10))
        )
        if exc.cause in TRANSPORT_CAUSES:
            delay = min(delay, health.interval_s * TRANSPORT_RETRY_INTERVALS)
        health.error_reason = getattr(exc, "reason", None)
        health.error_then = getattr(exc, "then", None)
        health.retry_mono = None
        if exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
            health.state = SourceState.BACKOFF
            if health.error_then is not None:
                health.retry_mono = time.monotonic() + delay
        else:
            health.state = SourceState.ERROR
        log.warning("%s: %s (next try in %.0f s)", health.name, exc, delay)
        return delay

    async def _accept(self, name: str, kind: str, result: Any) -> None:
        if isinstance(result, PowerSample):
            self.state.latest_power = result
            self.state.history.append(result)
            self.energy.add(result)
            await self._store_append("power", result.to_record())
        elif isinstance(result, MeterReading):
            stored = self._accept_meter(result) == "stored"
            await self._store_rejections()
            if not stored:
                return
            await self._store_append("meter", meter_record(result))
        else:
            log.error("source %s returned %r, ignored", name, type(result).__name__)
            return
        self._publish(SampleEvent(name, result))

    # -- meter readings (polled, or posted by the agent through the API) ---
    def _accept_meter(self, reading: MeterReading) -> str:
        """Take a polled or pushed reading: 'stored', 'duplicate', 'lower' (lower than the
        last and not set by hand) or, with :attr:`meter_limits`, the code of another
        plausibility check that refused it (:class:`meter_agent.rules.Refusal`); the
        refusal is then in ``state.meter_rejected``."""
        last = self.state.latest_meter
        if reading.id is not None and reading.id in self._seen_meter_ids:
            return "duplicate"
        last_kwh = None if last is None else last.reading_kwh
        # a reading lower than the last is refused, unless set by hand (method "manual"):
        # that one corrects the ones before it
        if meter_rules.steps_back(reading.reading_kwh, last_kwh, reading.method):
            assert last is not None
            if self.meter_limits is not None:  # kept, and logged, as every refusal is
                self._reject_meter(
                    reading, meter_rules.lower_than(reading.reading_kwh, last.reading_kwh)
                )
            elif self.state.meter_refused is None or (
                self.state.meter_refused.reading_kwh != reading.reading_kwh
            ):
                log.warning(
                    "meter reading %.3f lower than last %.3f, ignored",
                    reading.reading_kwh,
                    last.reading_kwh,
                )
            self.state.meter_refused = reading
            return "lower"
        if last is not None and reading.timestamp <= last.timestamp and reading.id is None:
            return "duplicate"  # the same reading polled again
        if self.meter_limits is not None:
            refused = meter_rules.implausible(reading, last, self.meter_limits)
            if refused is not None:
                self._reject_meter(reading, refused)
                return refused.code.value
        if last is not None and meter_rules.is_lower(reading.reading_kwh, last_kwh):
            # set by hand at the agent: a replaced meter or a wrong value corrected.
            # Refusing it would refuse every true reading after it too (the agent
            # compares with the corrected value from now on), as AI-on-the-edge's
            # "Neg. Rate" lock does
            log.warning(
                "meter reading corrected by hand from %.3f to %.3f",
                last.reading_kwh,
                reading.reading_kwh,
            )
            self.state.meter_corrections += 1
        if reading.id is not None:
            self._seen_meter_ids.append(reading.id)
        self.state.latest_meter = reading
        self.state.meter_history.append(reading)
        self.state.meter_refused = None
        return "stored"

    def _reject_meter(self, reading: MeterReading, refused: meter_rules.Refused) -> None:
        """Note a refused reading; one already noted (polled again) is not noted twice."""
        before = self.state.meter_rejected
        if before is not None and before.reading == reading:
            return
        log.warning("meter reading %.3f refused: %s", reading.reading_kwh, refused.text)
        self.state.meter_rejected = MeterRejection(reading, refused, self.clock.now())
        self._pending_rejections.append(self.state.meter_rejected)

    async def _store_rejections(self) -> None:
        while self._pending_rejections:
            await self._store_append(
                "meter_rejected", self._pending_rejections.popleft().to_record()
            )

    async def ingest_meter(self, reading: MeterReading) -> str:
        """Take a reading pushed by a meter agent: 'stored', 'duplicate', 'lower' (a
        reading set by hand may be lower: it corrects the ones before) or the code of
        another refusal (see :meth:`_accept_meter`)."""
        self._heard_from_agent()
        status = self._accept_meter(reading)
        if status == "stored":
            await self._store_append("meter", meter_record(reading))
            self._publish(SampleEvent("meter", reading))
        await self._store_rejections()
        if status != "duplicate":  # stored, or refused as lower: the meter screen says so
            self._changed()
        return status

    def _heard_from_agent(self) -> None:
        """A pushed reading proves the meter agent is up: a meter poll that failed (the
        agent restarting, or started after the monitor) tries again now instead of after
        its back-off, which grows to minutes, while the status line says "cannot be
        reached". A login back-off (``retry_after``) is never cut short."""
        for name, src in self.sources.items():
            if src.kind == "meter" and self.health[name].state is SourceState.ERROR:
                self.poll_now(name)

    # -- store -------------------------------------------------------------
    async def query_store(
        self, series: str, start: datetime, end: datetime, **kwargs: Any
    ) -> list[dict] | None:
        """Read the store on its own thread (readers share it with the writer); None without one."""
        if self.store is None:
            return None
        return await self._in_store(lambda: self.store.query(series, start, end, **kwargs))

    async def _in_store(self, fn: Callable, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._store_pool, fn, *args)

    async def _store_append(self, series: str, record: dict) -> None:
        if self.store_opener is not None and not self._store_writes():
            # live without storing: keep the reading for when the store works again
            self._backlog.append((series, record))
            return
        if self.store is None or getattr(self.store, "readonly", False):
            return
        try:
            await self._in_store(self.store.append, series, record)
            self.store_error = None
        except Exception as exc:  # a full disk must not stop the monitor
            if self.store_opener is not None:
                self._backlog.append((series, record))
                self._not_storing(f"could not write the store ({str(exc).rstrip('.')})")
            else:
                self.store_error = f"could not write the store: {exc}"
                log.error("%s", self.store_error)

    def _store_writes(self) -> bool:
        """Whether readings go to the store now (not while it waits for a retry)."""
        store = self.store
        return (
            store is not None
            and not getattr(store, "readonly", False)
            and getattr(store, "stopped", None) is None
            and not self._backlog
            and time.monotonic() >= self._store_retry_at
        )

    def _not_storing(self, why: str) -> None:
        """Go on live, without storing, and say so once (the retry loop tries again)."""
        sentence = (
            f"Not storing readings: {why.rstrip('.')}; showing live data and trying again"
            f" every {STORE_RETRY_S:.0f} s."
        )
        if sentence != self.store_error:
            log.error("%s", sentence)
        self.store_error = sentence
        self._store_retry_at = time.monotonic() + STORE_RETRY_S

    async def _store_retry(self) -> None:
        while True:
            wait = self._store_retry_at - time.monotonic()
            if wait > 0 or self._store_writes():
                await asyncio.sleep(min(1.0, wait) if wait > 0 else 1.0)
                continue
            try:
                await self.retry_store()
            except Exception as exc:  # the loop must outlive any one failure
                log.error("store retry failed: %s", exc)
                self._store_retry_at = time.monotonic() + STORE_RETRY_S

    async def retry_store(self) -> bool:
        """Open the store again if it takes no writes, then write what waited; True when
        readings are being stored again."""
        if self.store_opener is None:
            return False
        store = self.store
        need_open = (
            store is None
            or getattr(store, "readonly", False)
            or getattr(store, "stopped", None) is not None
        )
        if need_open:
            carried: dict[str, list[dict]] = {}
            if store is not None and getattr(store, "stopped", None) is not None:
                carried = store.unsaved()
            holds_lock = store is not None and not getattr(store, "readonly", False)
            if holds_lock:  # a writer that stopped: let go of the lock first
                with contextlib.suppress(Exception):
                    await self._in_store(store.close)
                self.store = None
            try:
                fresh = await self._in_store(self.store_opener)
            except Exception as exc:
                self._not_storing(str(exc))
                return False
            self.store = fresh
            if store is not None and not holds_lock:  # a reader: replaced, then closed
                with contextlib.suppress(Exception):
                    await self._in_store(store.close)
            if fresh is None or getattr(fresh, "readonly", False):
                reason = getattr(fresh, "readonly_reason", None) or "the store cannot be opened"
                self._not_storing(reason.replace("; opened read-only", ""))
                for series, recs in carried.items():
                    self._backlog.extend((series, r) for r in recs)
                return False
            for series, recs in carried.items():
                self._backlog.extendleft((series, r) for r in reversed(recs))
            log.info("store: writing again at %s", getattr(fresh, "root", "?"))
            if self.event_log is None or self.event_log.readonly:
                await self._open_events()  # the event log is written from now on too
        if self._backlog:
            # taken out first: readings that arrive while these are written queue anew
            items = list(self._backlog)
            self._backlog.clear()
            by_series: dict[str, list[dict]] = {}
            for series, rec in items:
                by_series.setdefault(series, []).append(rec)
            try:
                for series, recs in by_series.items():
                    await self._in_store(self.store.append_many, series, recs)
            except Exception as exc:
                # put back in front (writing one twice is harmless: records are keyed by time)
                self._backlog.extendleft(reversed(items))
                self._not_storing(f"could not write the store ({str(exc).rstrip('.')})")
                return False
        self.store_error = None
        self._store_retry_at = 0.0
        if self.started:
            self._start_maintain()
        return True

    async def _restore(self) -> None:
        """Refill today's energy and the sparkline history from the store after a restart."""
        if self.store is None:
            return
        now = self.clock.now()
        start = local_midnight(now, self.zone)
        try:
            rows = await self._in_store(
                lambda: self.store.query("power", start, now, resolution="raw")
            )
        except Exception as exc:
            log.warning("could not read today's history from the store: %s", exc)
            return
        for rec in rows:
            try:
                s = PowerSample.from_record(rec)
            except (KeyError, TypeError, ValueError):
                continue
            self.energy.add(s)
            self.state.history.append(s)
        try:
            last_meter = await self._in_store(self.store.latest, "meter")
            if last_meter:
                self.state.latest_meter = meter_from_record(last_meter)
        except Exception as exc:
            log.warning("could not read the last meter reading from the store: %s", exc)

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(self.maintain_every_s)
            store = self.store
            if store is None or getattr(store, "readonly", False):
                continue
            try:
                await self._in_store(store.maintain, self.clock.now())
            except Exception as exc:
                log.error("store maintenance failed: %s", exc)
                if self.store_opener is not None and getattr(store, "stopped", None):
                    self._not_storing(str(store.stopped))

    async def _watch(self) -> None:
        """Once a second: turn 'ok' into 'stale' when a source's data ages past two
        intervals, and publish a new view unless a poll just did or is about to (its
        ``now`` is the clock's tick: ages and the time of day move on screen)."""
        while True:
            await asyncio.sleep(1.0)
            moved = False
            for name, h in self.health.items():
                if h.state is SourceState.OK and not self.is_live(name):
                    h.state = SourceState.STALE
                    self._publish(HealthEvent(h))
                    moved = True
            last = self._view
            now = time.monotonic()
            if moved or last is None or (now - last.mono >= TICK_S and not self._poll_near(now)):
                self._changed()

    def _poll_near(self, now: float) -> bool:
        """Whether a poll's view is moments away (see :data:`POLL_GRACE_S`)."""
        return any(abs(due - now) <= POLL_GRACE_S for due in self._poll_due.values())

    def _power_interval(self) -> float:
        src = self.power_source
        return src.interval_s if src else 5.0

    def _publish(self, event: HubEvent) -> None:
        for cb in list(self._subs):
            try:
                cb(event)
            except Exception:
                log.exception("subscriber failed")


def _logged(future: Any) -> None:
    """A failed write of the event log goes to the log file (the events stay in memory)."""
    exc = future.exception()
    if exc is not None:
        log.error("could not write the event log: %s", exc)


def _frozen(items: deque, last: tuple) -> tuple:
    """``items`` as a tuple: the one made last time while nothing was added or replaced
    (same length, same first and last item), so views share it and compare in no time."""
    if len(last) == len(items) and (not items or (last[0] is items[0] and last[-1] is items[-1])):
        return last
    return tuple(items)
