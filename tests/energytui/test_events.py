"""The event detector over real sample sequences (the simulated site, stepped on its own
clock) and over real hubs: what becomes an event, and what a flapping value does not."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from energytui.events import Detector, EventBook, EventsView, Holds, Kind, Severity
from energytui.hub import Hub
from energytui.model import GridStatus, PowerSample
from energytui.sources.base import SourceState
from energytui.sources.simulated import SimulatedSite, SiteSpec
from energytui.view import EnergyView, HubView, MeterView, PowerView, SourceStatus, StoreView
from meter_agent.schema import MeterReading
from tests.hub_support import ScriptedSource, sample, wait_for

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


def view_of(
    s: PowerSample | None,
    now: datetime,
    *,
    live: bool = True,
    state: SourceState = SourceState.OK,
    error: str | None = None,
    store_error: str | None = None,
) -> HubView:
    """The view a hub builds around sample ``s`` at ``now``."""
    status = SourceStatus(
        "simulated",
        "power",
        5.0,
        state=state,
        last_error=error,
        consecutive_errors=0 if state is SourceState.OK else 1,
    )
    return HubView(
        now=now,
        mono=0.0,
        power=PowerView("simulated", s, live),
        sources=(status,),
        energy=EnergyView(),
        meter=MeterView(),
        history=(),
        store=StoreView(present=True, error=store_error),
    )


def run_site(
    site: SimulatedSite, start: datetime, seconds: int, step: int = 5, *, book: EventBook
) -> datetime:
    """Step the site every ``step`` s for ``seconds``, the book watching each view."""
    t = start
    for _ in range(seconds // step):
        t += timedelta(seconds=step)
        book.observe(view_of(site.advance(t), t))
    return t


def test_an_outage_is_one_alarm_and_its_end_one_event_with_how_long():
    site = SimulatedSite(SiteSpec(initial_soe_pct=70.0))
    book = EventBook()
    t = run_site(site, T0, 600, book=book)
    assert list(book.recent) == []  # the grid up at start is not news
    site.outage = True
    t = run_site(site, t, 20 * 60, book=book)
    site.outage = False
    run_site(site, t, 600, book=book)
    kinds = [e.kind for e in book.recent]
    assert kinds == [Kind.GRID_DOWN, Kind.GRID_UP]
    down, up = book.recent
    assert down.severity is Severity.ALARM and up.severity is Severity.INFO
    assert down.at == T0 + timedelta(seconds=605)  # when the outage began, not when confirmed
    assert "The grid is down" in down.text and down.text.endswith(".")
    assert "The grid is back after 20 min" in up.text
    assert down.id < up.id
    assert book.view().top == down  # the alarm, not the later info


def test_a_flapping_grid_logs_nothing_while_it_flaps_faster_than_the_hold():
    site = SimulatedSite()
    book = EventBook(detector=Detector(Holds(grid=10.0)))
    t = run_site(site, T0, 60, book=book)
    for i in range(120):  # down for one 5 s sample, up for the next: ten minutes of it
        site.outage = i % 2 == 0
        t = run_site(site, t, 5, book=book)
    assert [e.kind for e in book.recent] == []
    # a slow flapper (a minute each way) logs each real change once
    for i in range(6):
        site.outage = i % 2 == 0
        t = run_site(site, t, 60, book=book)
    assert [e.kind for e in book.recent] == [Kind.GRID_DOWN, Kind.GRID_UP] * 3


def test_the_battery_at_its_reserve_is_one_warning_not_one_per_sample():
    # an evening without sun: the battery carries the house down to its reserve and
    # then stays there, jittering around it, for hours
    site = SimulatedSite(SiteSpec(initial_soe_pct=24.0, reserve_pct=20.0))
    book = EventBook()
    run_site(site, datetime(2026, 6, 21, 19, 0, tzinfo=UTC), 6 * 3600, book=book)
    assert site.soe_pct <= 20.5
    events = [e for e in book.recent if e.kind is Kind.BATTERY_RESERVE]
    assert len(events) == 1
    assert events[0].severity is Severity.WARNING
    assert "reserve (20 %)" in events[0].text


def test_the_reserve_during_an_outage_is_an_alarm():
    site = SimulatedSite(SiteSpec(initial_soe_pct=23.0, reserve_pct=20.0))
    book = EventBook()
    t = run_site(site, datetime(2026, 6, 21, 20, 0, tzinfo=UTC), 60, book=book)
    site.outage = True
    run_site(site, t, 3 * 3600, book=book)
    reserve = [e for e in book.recent if e.kind is Kind.BATTERY_RESERVE]
    assert len(reserve) == 1 and reserve[0].severity is Severity.ALARM
    assert "the house may lose power" in reserve[0].text


def test_a_full_battery_is_logged_once_as_information():
    site = SimulatedSite(SiteSpec(initial_soe_pct=90.0))
    book = EventBook()
    run_site(site, datetime(2026, 6, 21, 10, 0, tzinfo=UTC), 4 * 3600, book=book)
    full = [e for e in book.recent if e.kind is Kind.BATTERY_FULL]
    assert len(full) == 1 and full[0].severity is Severity.INFO
    assert book.view().top is None  # information only: no banner for it


def test_stale_data_makes_no_grid_event():
    s = SimulatedSite().advance(T0)
    down = replace(s, grid_status=GridStatus.DOWN)
    book = EventBook()
    for i in range(30):
        book.observe(view_of(down, T0 + timedelta(seconds=5 * i), live=False))
    assert [e.kind for e in book.recent] == []


def test_a_source_failing_and_recovering_and_the_store_falling_behind():
    s = SimulatedSite().advance(T0)
    book = EventBook(detector=Detector(Holds(source=30.0, store=60.0)))
    t = T0
    for _ in range(4):  # a failure shorter than the hold: nothing
        t += timedelta(seconds=5)
        book.observe(view_of(s, t, state=SourceState.ERROR, error="It timed out."))
    t += timedelta(seconds=5)
    book.observe(view_of(s, t))
    assert list(book.recent) == []
    for _ in range(10):
        t += timedelta(seconds=5)
        book.observe(
            view_of(s, t, state=SourceState.ERROR, error="The gateway did not answer within 5 s.")
        )
    for _ in range(20):
        t += timedelta(seconds=5)
        book.observe(view_of(s, t, store_error="Not storing readings: the disk is full."))
    kinds = [(e.kind, e.subject) for e in book.recent]
    assert kinds == [
        (Kind.SOURCE_FAILED, "simulated"),
        (Kind.SOURCE_RECOVERED, "simulated"),
        (Kind.STORE_BEHIND, ""),
    ]
    failed = book.recent[0]
    assert failed.text == "Source simulated is failing: The gateway did not answer within 5 s."
    assert book.recent[2].text == "Not storing readings: the disk is full."


def test_a_restart_during_an_outage_does_not_log_it_again_and_logs_its_end():
    site = SimulatedSite()
    book = EventBook()
    t = run_site(site, T0, 60, book=book)
    site.outage = True
    t = run_site(site, t, 120, book=book)
    kept = list(book.recent)
    assert [e.kind for e in kept] == [Kind.GRID_DOWN]
    later = EventBook()  # the monitor restarts; the log gives back what it kept
    later.load(kept, seen_upto=0)
    t = run_site(site, t, 120, book=later)
    assert [e.kind for e in later.recent] == [Kind.GRID_DOWN]
    site.outage = False
    run_site(site, t, 60, book=later)
    assert [e.kind for e in later.recent] == [Kind.GRID_DOWN, Kind.GRID_UP]
    assert later.recent[1].id > later.recent[0].id


def test_acknowledging_clears_the_top_and_only_newer_events_bring_it_back():
    site = SimulatedSite()
    book = EventBook()
    t = run_site(site, T0, 60, book=book)
    site.outage = True
    t = run_site(site, t, 60, book=book)
    assert book.view().top is not None
    assert book.acknowledge()
    assert book.view().top is None and book.view().unseen == ()
    assert not book.acknowledge()  # nothing new: nothing changed
    site.outage = False
    t = run_site(site, t, 60, book=book)
    assert book.view().top is None  # the grid back is information
    site.outage = True
    run_site(site, t, 60, book=book)
    top = book.view().top
    assert top is not None and top.kind is Kind.GRID_DOWN and top.id > book.seen_upto


def test_events_view_top_prefers_the_alarm_over_a_newer_warning():
    site = SimulatedSite()
    book = EventBook(detector=Detector(Holds(source=0.0)))
    t = run_site(site, T0, 30, book=book)
    site.outage = True
    t = run_site(site, t, 30, book=book)
    s = site.advance(t)
    for _ in range(3):
        t += timedelta(seconds=5)
        book.observe(view_of(s, t, state=SourceState.ERROR, error="It timed out."))
    view = book.view()
    assert [e.kind for e in view.recent] == [Kind.SOURCE_FAILED, Kind.GRID_DOWN]
    assert view.top is not None and view.top.kind is Kind.GRID_DOWN
    assert EventsView(view.recent, seen_upto=view.recent[1].id).top == view.recent[0]


# -- over real hubs ---------------------------------------------------------------------
async def test_a_hub_finds_a_failing_source_and_its_recovery():
    src = ScriptedSource(sample())
    hub = Hub([src])
    hub.events.detector.holds = Holds(source=0.0)
    await hub.start()
    try:
        await wait_for(lambda: hub.power_is_live)
        src.fail_with = "The gateway refused the connection."
        await wait_for(lambda: any(e.kind is Kind.SOURCE_FAILED for e in hub.view.events.recent))
        src.fail_with = None
        hub.poll_now()
        await wait_for(lambda: any(e.kind is Kind.SOURCE_RECOVERED for e in hub.view.events.recent))
    finally:
        await hub.stop()
    failed = next(e for e in hub.view.events.recent if e.kind is Kind.SOURCE_FAILED)
    assert failed.text == "Source scripted is failing: The gateway refused the connection."


def _reading(kwh: float, minute: int, method: str = "tesseract+7seg") -> MeterReading:
    return MeterReading(
        reading_kwh=kwh,
        timestamp=T0 + timedelta(minutes=minute),
        confidence=0.95,
        method=method,
    )


async def test_a_meter_reading_refused_and_one_set_by_hand_are_events():
    hub = Hub([])
    assert await hub.ingest_meter(_reading(1000.0, 0)) == "stored"
    assert await hub.ingest_meter(_reading(1001.0, 1)) == "stored"
    assert await hub.ingest_meter(_reading(990.0, 2)) == "lower"
    for minute in range(3, 8):  # polled again and again: one event, not five
        await hub.ingest_meter(_reading(990.5, minute))
    refused = [e for e in hub.view.events.recent if e.kind is Kind.METER_REFUSED]
    assert len(refused) == 1
    assert refused[0].text == (
        "The meter reading 990.0 kWh was refused: it is lower than the last, 1,001.0 kWh."
    )
    assert await hub.ingest_meter(_reading(995.0, 9, method="manual")) == "stored"
    by_hand = [e for e in hub.view.events.recent if e.kind is Kind.METER_SET_BY_HAND]
    assert [e.text for e in by_hand] == ["The meter reading was set by hand to 995.0 kWh."]
    await asyncio.sleep(0)


def test_storm_watch_from_the_gateways_alerts_is_logged_once_and_its_end_too():
    from energytui.sources.powerwall_details import PowerwallDetails

    hub = Hub([])
    hub._storm_watch(PowerwallDetails(alerts=("RealPowerAvailableLimited",)))
    assert list(hub.events.recent) == []  # no storm at start is not news
    for _ in range(3):  # the details are fetched again and again while it lasts
        hub._storm_watch(PowerwallDetails(alerts=("StormWatchActive", "GridCodesWrite")))
    hub._storm_watch(PowerwallDetails(alerts=()))
    assert [(e.kind, e.severity) for e in hub.view.events.recent] == [
        (Kind.STORM_OVER, Severity.INFO),
        (Kind.STORM_WATCH, Severity.WARNING),
    ]
    assert hub.view.events.top is not None and hub.view.events.top.kind is Kind.STORM_WATCH
