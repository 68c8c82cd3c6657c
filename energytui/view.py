"""The hub's read model: one frozen, typed snapshot of everything a screen shows.

The hub builds a :class:`HubView` after every change (a sample, a health change, a
refused meter reading) and at least once a second (its liveness sweep), and hands it
to its view subscribers; ``Hub.view`` is the latest one. Readers never touch the
hub's mutable state: a view does not change once built, so it can be kept, compared
and drawn at leisure.

Every part is a frozen dataclass and compares by value, and a part that did not move
is the very same object as in the view before (or equal to it): a screen redraws a
panel only when ``new.part != old.part``. Times that age every second are not stored
as ages but worked out from the view's own clock (``now``, ``mono``), so a source's
status stays equal between polls while the view's ``now`` moves on.

No Textual import here: the TUI is one reader among others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from energytui.events import EventsView
from energytui.model import PowerSample
from energytui.sources.base import Cause, SourceState
from meter_agent.schema import MeterReading

if TYPE_CHECKING:
    from energytui.energy import EnergyToday
    from energytui.hub import SourceHealth
    from energytui.tariff import Cost


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A frozen copy of the hub's ``SourceHealth`` for one source."""

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
    #: ``time.monotonic()`` at the last success: ages are bounded by real elapsed time
    last_success_mono: float | None = None
    #: a wait's reason, its words and its ``monotonic()`` deadline (see SourceHealth)
    error_reason: str | None = None
    error_then: str | None = None
    retry_mono: float | None = None
    #: the hub judged the source's data live when the view was built
    live: bool = False

    @classmethod
    def of(cls, h: SourceHealth, *, live: bool, mono: float | None = None) -> SourceStatus:
        """Every field of ``h``, by name: a field added there and not here fails at once
        (every view is built from one) instead of going silently missing from the screens.
        ``last_error`` counts a wait down to ``mono``, when the view is built (every second)."""
        values = {f.name: getattr(h, f.name) for f in fields(h)}
        values["last_error"] = h.error_text(mono)
        return cls(**values, live=live)


@dataclass(frozen=True, slots=True)
class PowerView:
    """The latest power sample and whether it may be shown as live."""

    source: str | None = None  # the power source's name; None without one
    sample: PowerSample | None = None
    live: bool = False


@dataclass(frozen=True, slots=True)
class EnergyView:
    """Today's energy as the dashboard shows it (``EnergyToday.best``), kWh."""

    day: date | None = None
    solar_kwh: float = 0.0
    home_kwh: float = 0.0
    grid_import_kwh: float = 0.0
    grid_export_kwh: float = 0.0
    battery_charge_kwh: float = 0.0
    battery_discharge_kwh: float = 0.0
    method: str = "integrated"  # or "counters"
    #: counters − integral per flow (kWh), in ``EnergyToday.reconciliation`` order; None
    #: without counters
    reconciliation: tuple[tuple[str, float], ...] | None = None
    #: today's cost at the tariff's prices; None without a tariff (``[tariff]``)
    cost: Cost | None = None

    @classmethod
    def of(cls, today: EnergyToday) -> EnergyView:
        e = today.best
        rec = today.reconciliation()
        return cls(
            day=today.day,
            solar_kwh=e.solar_kwh,
            home_kwh=e.home_kwh,
            grid_import_kwh=e.grid_import_kwh,
            grid_export_kwh=e.grid_export_kwh,
            battery_charge_kwh=e.battery_charge_kwh,
            battery_discharge_kwh=e.battery_discharge_kwh,
            method=e.method,
            reconciliation=None if rec is None else tuple(rec.items()),
            cost=today.cost(),
        )


@dataclass(frozen=True, slots=True)
class RejectedReading:
    """The latest reading the hub's plausibility checks refused (a copy of the hub's
    ``MeterRejection``): without it a refused reading would only be in the store and the
    log, and the meter screen would just show an older reading."""

    reading: MeterReading
    code: str  # low_confidence | not_monotonic | increase_too_large
    reason: str  # one sentence, no full stop
    at: datetime  # when the hub refused it (its clock)


@dataclass(frozen=True, slots=True)
class MeterView:
    """The utility meter as the hub knows it."""

    source: str | None = None  # the meter source's name (kind "meter"); None without one
    latest: MeterReading | None = None  # the accepted reading
    #: the agent's latest reading when lower than the accepted one and refused
    refused: MeterReading | None = None
    live: bool = False  # a polled meter source's data is live (False when only pushed)
    corrections: int = 0  # readings set lower by hand since start
    history: tuple[MeterReading, ...] = ()  # accepted readings kept in memory, oldest first
    #: the latest reading the plausibility checks refused, with why; None before any
    rejected: RejectedReading | None = None


@dataclass(frozen=True, slots=True)
class StoreView:
    present: bool = False
    readonly_reason: str | None = None  # why this process only reads the store
    error: str | None = None  # the last write that failed, until one succeeds


class SinkReport(Protocol):
    """What a sink tells about itself (``InfluxStatus`` is one): the hub asks for it on
    every view, once a second, so making one must be cheap and touch memory only."""

    @property
    def state(self) -> str:
        """ok, behind, error or stopped: anything but ok is worth a look."""
        ...

    @property
    def points_pending(self) -> int:
        """How many points wait to be sent (0: caught up)."""
        ...

    def line(self) -> str:
        """A few words for a health line."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON (the API's ``/api/v1/health``)."""
        ...


#: what :meth:`energytui.hub.Hub.add_status_source` takes: a sink's cheap status call
StatusSource = Callable[[], SinkReport]


@dataclass(frozen=True, slots=True)
class SinkView:
    """One sink's state as the health line shows it: words and counts, no clock, so a
    sink where nothing happened compares equal from view to view (the age of its oldest
    waiting point is in ``line`` only as coarsely as it is shown)."""

    name: str  # the name it was registered under, e.g. "influxdb"
    state: str  # ok | behind | error | stopped
    line: str  # e.g. "InfluxDB ok, 1,234 written"
    pending: int = 0  # points behind

    @property
    def healthy(self) -> bool:
        return self.state == "ok"

    @classmethod
    def of(cls, name: str, report: SinkReport) -> SinkView:
        return cls(name, report.state, report.line(), report.points_pending)

    @classmethod
    def unreadable(cls, name: str) -> SinkView:
        """A sink whose status call raised (a bug): shown as an error, not hidden."""
        return cls(name, "error", f"{name}: its status cannot be read (see the log)")


@dataclass(frozen=True, slots=True)
class HubView:
    """Everything the hub knows, as of ``now``."""

    now: datetime  # the hub's clock when the view was built
    mono: float  # ``time.monotonic()`` then: ages use both, as the hub does
    power: PowerView
    sources: tuple[SourceStatus, ...]  # in the order the sources were configured
    energy: EnergyView
    meter: MeterView
    #: the power samples kept in memory, oldest first (the sparklines' data); the same
    #: tuple object from view to view until a sample is added
    history: tuple[PowerSample, ...]
    store: StoreView
    #: the sinks the runtime told the hub about (empty without any), in that order
    sinks: tuple[SinkView, ...] = ()
    #: the recent events, newest first, and how far they were seen (:mod:`energytui.events`)
    events: EventsView = EventsView()

    def source(self, name: str | None) -> SourceStatus | None:
        return next((s for s in self.sources if s.name == name), None)

    @property
    def power_status(self) -> SourceStatus | None:
        """The power source's status (kept apart from ``power``, which changes only
        with what the power panels draw)."""
        return self.source(self.power.source)

    @property
    def meter_status(self) -> SourceStatus | None:
        """The polled meter source's status; None when readings are only pushed."""
        return self.source(self.meter.source)

    def age_s(self, status: SourceStatus | None) -> float | None:
        """Age of a source's last good reading: the data clock's, bounded by the real
        time elapsed (an accelerated or frozen clock never makes old data look live)."""
        if status is None or status.last_success is None:
            return None
        by_clock = (self.now - status.last_success).total_seconds()
        if status.last_success_mono is None:
            return by_clock
        return max(0.0, min(by_clock, self.mono - status.last_success_mono))
