"""Events: what happened to the site that an owner wants to know about later.

A grid outage, the battery at its reserve or full, Storm Watch, a meter reading
refused or set by hand, a source failing and recovering, the store or a sink
falling behind: as toasts these vanish; here they become :class:`Event` records in
a log (kept in the store, :mod:`energytui.store.events`) that the TUI lists and
its banner shows until someone has seen them.

:class:`Detector` turns the hub's views into events. Every condition it watches is
*de-bounced*: a change counts only once the new state has held for that
condition's hold time on the hub's clock, so a value that flaps faster than that
logs nothing, and a slower flapper logs one event per real change. One-off events
(a refused meter reading) are logged at most once per :data:`REPEAT_S` for each kind.

:class:`EventBook` numbers the events, keeps the recent ones in memory and the
"seen up to" mark, and builds the :class:`EventsView` that every ``HubView``
carries. No Textual import here.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from energytui.model import GridStatus, iso_z, parse_iso
from energytui.sources.base import SourceState
from meter_agent.rules import set_by_hand

if TYPE_CHECKING:
    from energytui.view import HubView, SinkView, SourceStatus


class Severity(enum.IntEnum):
    """How loud an event is: the banner shows warnings and alarms, the log all."""

    INFO = 0
    WARNING = 1
    ALARM = 2

    @property
    def word(self) -> str:
        return self.name.lower()

    @classmethod
    def of_word(cls, word: str) -> Severity:
        return cls[word.upper()]


class Kind(enum.StrEnum):
    """What happened, in one word (the API and the store write these words)."""

    GRID_DOWN = "grid_down"
    GRID_UP = "grid_up"
    BATTERY_RESERVE = "battery_reserve"
    BATTERY_FULL = "battery_full"
    STORM_WATCH = "storm_watch"
    STORM_OVER = "storm_over"
    METER_REFUSED = "meter_refused"
    METER_SET_BY_HAND = "meter_set_by_hand"
    SOURCE_FAILED = "source_failed"
    SOURCE_RECOVERED = "source_recovered"
    STORE_BEHIND = "store_behind"
    STORE_RECOVERED = "store_recovered"
    SINK_BEHIND = "sink_behind"
    SINK_RECOVERED = "sink_recovered"


@dataclass(frozen=True, slots=True)
class Event:
    """One event. ``id`` grows with time and is unique in one log (0: not numbered yet)."""

    at: datetime
    kind: Kind
    severity: Severity
    text: str  # one sentence, ending with a full stop
    subject: str = ""  # the source or sink it is about, when it is about one
    id: int = 0

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts": iso_z(self.at),
            "kind": self.kind.value,
            "severity": self.severity.word,
            "text": self.text,
            "subject": self.subject,
        }

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Event:
        """The event back from :meth:`to_record`; raises ValueError/KeyError/TypeError on
        a record that is not one."""
        return cls(
            at=parse_iso(rec["ts"]),
            kind=Kind(rec["kind"]),
            severity=Severity.of_word(str(rec["severity"])),
            text=str(rec["text"]),
            subject=str(rec.get("subject") or ""),
            id=int(rec["id"]),
        )


@dataclass(frozen=True, slots=True)
class EventsView:
    """The events part of a ``HubView``: the recent ones, newest first, and the seen mark."""

    recent: tuple[Event, ...] = ()
    seen_upto: int = 0  # every event with an id up to this one has been seen

    @property
    def unseen(self) -> tuple[Event, ...]:
        return tuple(e for e in self.recent if e.id > self.seen_upto)

    @property
    def top(self) -> Event | None:
        """The most serious unseen warning or alarm (the newest among equals); None when
        nothing needs a look (unseen info events only go to the log)."""
        best: Event | None = None
        for e in self.recent:  # newest first: a later one wins only by severity
            if e.id <= self.seen_upto or e.severity < Severity.WARNING:
                continue
            if best is None or e.severity > best.severity:
                best = e
        return best


# -- detection -------------------------------------------------------------------------
#: one-off events of one kind (a refused meter reading) are logged at most this often
REPEAT_S = 600.0


@dataclass(frozen=True)
class Holds:
    """How long (s, on the hub's clock) a new state must hold before it is an event."""

    grid: float = 10.0
    battery: float = 30.0
    source: float = 30.0
    store: float = 60.0
    sink: float = 120.0


#: the full mark and its hysteresis: full at 99.5 %, no longer full below 97 %
FULL_PCT = 99.5
FULL_CLEAR_PCT = 97.0
#: at reserve within half a percent of it; no longer at reserve 3 % above it
RESERVE_MARGIN = 0.5
RESERVE_CLEAR = 3.0


@dataclass
class _Condition:
    """A de-bounced on/off state: ``feed`` returns the new state once it has held."""

    hold_s: float
    reported: bool | None = None  # the state last logged; None: not known yet
    pending: bool | None = None
    since: datetime | None = None
    on_at: datetime | None = None  # when the reported "on" began
    changed_at: datetime | None = None  # when the last reported change began

    def feed(self, value: bool | None, now: datetime) -> bool | None:
        if value is None:
            self.pending = None
            return None
        if value == self.reported:
            self.pending = None
            return None
        if self.reported is None and not value:
            self.reported = False  # the normal state at start is not news
            return None
        if self.pending is not value or self.since is None:
            self.pending, self.since = value, now
        if (now - self.since).total_seconds() < self.hold_s:
            return None
        self.reported, self.pending = value, None
        self.changed_at = self.since
        if value:
            self.on_at = self.since
        return value


#: condition key -> (the event when it turns on, when it turns off or None)
_PAIRS: dict[str, tuple[Kind, Kind | None]] = {
    "grid": (Kind.GRID_DOWN, Kind.GRID_UP),
    "reserve": (Kind.BATTERY_RESERVE, None),
    "full": (Kind.BATTERY_FULL, None),
    "storm": (Kind.STORM_WATCH, Kind.STORM_OVER),
    "source": (Kind.SOURCE_FAILED, Kind.SOURCE_RECOVERED),
    "store": (Kind.STORE_BEHIND, Kind.STORE_RECOVERED),
    "sink": (Kind.SINK_BEHIND, Kind.SINK_RECOVERED),
}
_KEY_OF = {k: (key, True) for key, (k, _) in _PAIRS.items()} | {
    k: (key, False) for key, (_, k) in _PAIRS.items() if k is not None
}


def _duration(start: datetime | None, end: datetime) -> str:
    """' after 12 min' style: how long a state lasted, for the event that ends it."""
    if start is None:
        return ""
    s = max(0.0, (end - start).total_seconds())
    if s < 90:
        return f" after {s:.0f} s"
    if s < 5400:
        return f" after {s / 60:.0f} min"
    return f" after {s / 3600:.1f} h"


def _clause(text: str | None) -> str:
    return (text or "no reason given").strip().rstrip(".")


class Detector:
    """Turns successive hub views into events (see the module doc)."""

    def __init__(self, holds: Holds | None = None) -> None:
        self.holds = holds or Holds()
        self._conds: dict[tuple[str, str], _Condition] = {}
        self._last_once: dict[Kind, datetime] = {}
        self._rejected_at: datetime | None = None
        self._refused_kwh: float | None = None
        self._meter_seen = False
        self._corrections = 0
        self._latest_ts: datetime | None = None
        self._grid_down = False

    def _cond(self, key: str, subject: str = "") -> _Condition:
        c = self._conds.get((key, subject))
        if c is None:
            hold = {
                "grid": self.holds.grid,
                "reserve": self.holds.battery,
                "full": self.holds.battery,
                "storm": 0.0,
                "source": self.holds.source,
                "store": self.holds.store,
                "sink": self.holds.sink,
            }[key]
            c = self._conds[(key, subject)] = _Condition(hold)
        return c

    def seed(self, events: list[Event]) -> None:
        """Take the states the log last reported (oldest first), so a restart during an
        outage does not log the outage again, and its end is still logged."""
        for e in events:
            key, on = _KEY_OF.get(e.kind, (None, False))
            if key is None:
                continue
            c = self._cond(key, e.subject)
            c.reported = on
            c.on_at = e.at if on else None
            if key == "grid":
                self._grid_down = on

    def storm_watch(self, active: bool | None, now: datetime) -> list[Event]:
        """Storm Watch as the gateway reports it (its alerts); None: not known."""
        return self._turn("storm", "", active, now, self._storm_text)

    @staticmethod
    def _storm_text(on: bool) -> tuple[Severity, str]:
        if on:
            return (
                Severity.WARNING,
                "Storm Watch is on: the Powerwall keeps itself charged for a likely outage.",
            )
        return Severity.INFO, "Storm Watch has ended."

    def observe(self, view: HubView) -> list[Event]:
        """The events that ``view`` (compared with the ones before) brings."""
        now = view.now
        out: list[Event] = []
        out += self._power(view, now)
        for s in view.sources:
            out += self._source(s, now)
        out += self._meter(view, now)
        out += self._store(view, now)
        for sink in view.sinks:
            out += self._sink(sink, now)
        return out

    # -- conditions -----------------------------------------------------------------
    def _turn(
        self,
        key: str,
        subject: str,
        value: bool | None,
        now: datetime,
        words: Callable[[bool], tuple[Severity, str]],
    ) -> list[Event]:
        """Feed one condition; the event its confirmed change makes, in ``words``."""
        c = self._cond(key, subject)
        started = c.on_at
        changed = c.feed(value, now)
        if changed is None:
            return []
        on_kind, off_kind = _PAIRS[key]
        kind = on_kind if changed else off_kind
        if kind is None:  # no event for the end of this one (the battery off its reserve)
            return []
        severity, text = words(changed)
        at = c.changed_at or now  # when the new state began, not when it was confirmed
        if not changed:
            text = text.replace("{after}", _duration(started, at))
        return [Event(at, kind, severity, text, subject)]

    def _power(self, view: HubView, now: datetime) -> list[Event]:
        s = view.power.sample
        if s is None or not view.power.live:
            return []  # old data says nothing about now
        out: list[Event] = []
        grid = {GridStatus.DOWN: True, GridStatus.UP: False}.get(s.grid_status)
        soe = "" if s.soe_pct is None else f" (battery at {s.soe_pct:.0f} %)"

        def grid_words(on: bool) -> tuple[Severity, str]:
            if on:
                return (
                    Severity.ALARM,
                    f"The grid is down: the battery and solar carry the house{soe}.",
                )
            return Severity.INFO, "The grid is back{after}" + f"{soe}."

        out += self._turn("grid", "", grid, now, grid_words)
        c = self._cond("grid")
        self._grid_down = bool(c.reported)
        at_reserve: bool | None = None
        full: bool | None = None
        if s.soe_pct is not None:
            if s.reserve_pct is not None:
                cond = self._cond("reserve")
                limit = s.reserve_pct + (RESERVE_CLEAR if cond.reported else RESERVE_MARGIN)
                at_reserve = s.soe_pct <= limit
            was_full = self._cond("full").reported
            full = s.soe_pct >= (FULL_CLEAR_PCT if was_full else FULL_PCT)
        down = self._grid_down

        def reserve_words(on: bool) -> tuple[Severity, str]:
            if down:
                return (
                    Severity.ALARM,
                    f"The battery is down to its reserve ({s.soe_pct:.0f} %) during an outage:"
                    " the house may lose power.",
                )
            return (
                Severity.WARNING,
                f"The battery is down to its reserve ({s.soe_pct:.0f} %); the grid takes over.",
            )

        out += self._turn("reserve", "", at_reserve, now, reserve_words)
        out += self._turn(
            "full",
            "",
            full,
            now,
            lambda on: (Severity.INFO, f"The battery is full ({s.soe_pct:.0f} %)."),
        )
        return out

    def _source(self, s: SourceStatus, now: datetime) -> list[Event]:
        if s.state is SourceState.WAITING and s.consecutive_errors == 0:
            failing: bool | None = None  # not heard from yet: nothing to say
        else:
            failing = s.state in (SourceState.ERROR, SourceState.BACKOFF, SourceState.STALE)

        def words(on: bool) -> tuple[Severity, str]:
            if on:
                why = _clause(s.last_error) if s.last_error else "its data is stale"
                return Severity.WARNING, f"Source {s.name} is failing: {why}."
            return Severity.INFO, f"Source {s.name} works again{{after}}."

        return self._turn("source", s.name, failing, now, words)

    def _store(self, view: HubView, now: datetime) -> list[Event]:
        error = view.store.error

        def words(on: bool) -> tuple[Severity, str]:
            if on:
                return Severity.WARNING, _clause(error) + "."
            return Severity.INFO, "Readings are being stored again{after}."

        return self._turn("store", "", error is not None, now, words)

    def _sink(self, sink: SinkView, now: datetime) -> list[Event]:
        def words(on: bool) -> tuple[Severity, str]:
            if on:
                doing = {"behind": "is behind", "error": "is failing", "stopped": "has stopped"}
                what = doing.get(sink.state, f"is {sink.state}")
                return Severity.WARNING, f"Sink {sink.name} {what}: {_clause(sink.line)}."
            return Severity.INFO, f"Sink {sink.name} has caught up{{after}}."

        return self._turn("sink", sink.name, not sink.healthy, now, words)

    def _once(self, kind: Kind, now: datetime) -> bool:
        """Whether a one-off event of ``kind`` may be logged now (see :data:`REPEAT_S`)."""
        last = self._last_once.get(kind)
        if last is not None and now - last < timedelta(seconds=REPEAT_S):
            return False
        self._last_once[kind] = now
        return True

    def _meter(self, view: HubView, now: datetime) -> list[Event]:
        m = view.meter
        out: list[Event] = []
        rej = m.rejected
        if rej is not None and rej.at != self._rejected_at:
            self._rejected_at = rej.at
            if self._once(Kind.METER_REFUSED, now):
                out.append(
                    Event(
                        now,
                        Kind.METER_REFUSED,
                        Severity.WARNING,
                        f"The meter reading {rej.reading.reading_kwh:,.1f} kWh was refused:"
                        f" {_clause(rej.reason)}.",
                        m.source or "meter",
                    )
                )
        refused = None if m.refused is None else m.refused.reading_kwh
        new_refusal = refused is not None and refused != self._refused_kwh and rej is None
        if new_refusal and self._once(Kind.METER_REFUSED, now):
            last = "" if m.latest is None else f" than the last, {m.latest.reading_kwh:,.1f} kWh"
            out.append(
                Event(
                    now,
                    Kind.METER_REFUSED,
                    Severity.WARNING,
                    f"The meter reading {refused:,.1f} kWh was refused: it is lower{last}.",
                    m.source or "meter",
                )
            )
        self._refused_kwh = refused
        latest = m.latest
        latest_ts = None if latest is None else latest.timestamp
        by_hand = False
        if self._meter_seen:  # the reading found at start is not news
            if m.corrections > self._corrections:
                by_hand = True  # a lower reading set by hand, accepted as a correction
            elif latest is not None and set_by_hand(latest.method) and latest_ts != self._latest_ts:
                by_hand = True
        self._meter_seen = True
        self._corrections = m.corrections
        self._latest_ts = latest_ts
        if by_hand and latest is not None:
            out.append(
                Event(
                    now,
                    Kind.METER_SET_BY_HAND,
                    Severity.INFO,
                    f"The meter reading was set by hand to {latest.reading_kwh:,.1f} kWh.",
                    m.source or "meter",
                )
            )
        return out


# -- the book ---------------------------------------------------------------------------
#: events kept in memory (and in every view): the events screen's page
RECENT = 200


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


@dataclass
class EventBook:
    """The recent events, numbered, and the seen mark; the view of them (see module doc)."""

    detector: Detector = field(default_factory=Detector)
    recent: deque[Event] = field(default_factory=lambda: deque(maxlen=RECENT))
    seen_upto: int = 0
    _last_id: int = 0
    _view: EventsView | None = None

    def load(self, events: list[Event], seen_upto: int) -> None:
        """Take what the log kept (oldest first), merged with what is in memory already
        (the store may open only after the first events)."""
        merged = sorted({e.id: e for e in [*events, *self.recent]}.values(), key=lambda e: e.id)
        self.recent.clear()
        self.recent.extend(merged[-RECENT:])
        self.seen_upto = max(self.seen_upto, seen_upto)
        if merged:
            self._last_id = max(self._last_id, merged[-1].id)
        self.detector.seed(merged)
        self._view = None

    def number(self, events: list[Event]) -> list[Event]:
        """Give each new event its id (its time in ms, kept growing) and keep it."""
        out = []
        for e in events:
            self._last_id = max(self._last_id + 1, _ms(e.at))
            e = replace(e, id=self._last_id)
            self.recent.append(e)
            out.append(e)
        if out:
            self._view = None
        return out

    def observe(self, view: HubView) -> list[Event]:
        return self.number(self.detector.observe(view))

    def acknowledge(self, upto: int | None = None) -> bool:
        """Mark every event (or those up to ``upto``) seen; True when that changed anything."""
        mark = self._last_id if upto is None else min(upto, self._last_id)
        if mark <= self.seen_upto:
            return False
        self.seen_upto = mark
        self._view = None
        return True

    def view(self) -> EventsView:
        if self._view is None:
            self._view = EventsView(tuple(reversed(self.recent)), self.seen_upto)
        return self._view
