"""The event log in the store: real TinyDB files that survive a restart, bounded, and a
hub that keeps its events and the seen mark across one."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from devkit.demo import demo_hub
from energytui.events import Event, EventBook, Kind, Severity
from energytui.hub import Hub
from energytui.store import Store
from energytui.store import events as event_store
from energytui.store.events import EventLog

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def numbered(n: int, start: datetime = T0, step_s: float = 60.0) -> list[Event]:
    book = EventBook()
    return book.number(
        [
            Event(
                start + timedelta(seconds=step_s * i),
                Kind.GRID_DOWN if i % 2 == 0 else Kind.GRID_UP,
                Severity.ALARM if i % 2 == 0 else Severity.INFO,
                f"Event number {i}.",
            )
            for i in range(n)
        ]
    )


def test_events_and_the_seen_mark_survive_a_reopen(tmp_path):
    first = EventLog(tmp_path, fsync=False)
    evs = numbered(5)
    first.add(evs[:3])
    first.add(evs[3:])
    first.acknowledge(evs[2].id)
    first.close()
    again = EventLog(tmp_path, fsync=False)
    kept, seen = again.load()
    assert kept == evs
    assert seen == evs[2].id
    assert again.recent(2) == [evs[4], evs[3]]
    # the file is a TinyDB database of its own, with a table for the events
    data = json.loads((tmp_path / "events.json").read_text())
    assert set(data) == {"events", "seen"} and len(data["events"]) == 5
    again.acknowledge(evs[1].id)  # never moved back
    assert EventLog(tmp_path).load()[1] == evs[2].id


def test_the_log_is_bounded_by_count_and_by_age(tmp_path, monkeypatch):
    monkeypatch.setattr(event_store, "MAX_EVENTS", 50)
    log = EventLog(tmp_path, fsync=False)
    evs = numbered(80)
    for i in range(0, 80, 10):
        log.add(evs[i : i + 10])
    kept, _ = log.load()
    assert kept == evs[-50:]
    # a year later, what is older than the age limit goes with the next write
    late = numbered(1, start=T0 + timedelta(days=event_store.MAX_AGE_DAYS, hours=2))
    late = [Event(e.at, e.kind, e.severity, e.text, id=evs[-1].id + 10**12) for e in late]
    log.add(late)
    assert log.load()[0] == late


def test_a_damaged_log_is_moved_aside_and_a_new_one_started(tmp_path):
    (tmp_path / "events.json").write_text('{"events": {"1": {"id": 1, "ts"', encoding="utf-8")
    log = EventLog(tmp_path, fsync=False)
    assert log.load() == ([], 0)
    assert [p.name.startswith("events.json.corrupt-") for p in tmp_path.iterdir()].count(True) == 1
    evs = numbered(2)
    log.add(evs)
    assert EventLog(tmp_path).load()[0] == evs


def test_a_read_only_log_lists_and_writes_nothing(tmp_path):
    EventLog(tmp_path, fsync=False).add(numbered(3))
    before = (tmp_path / "events.json").read_bytes()
    ro = EventLog(tmp_path, readonly=True)
    assert len(ro.load()[0]) == 3
    ro.add(numbered(1, start=T0 + timedelta(days=1)))
    ro.acknowledge(10**15)
    assert (tmp_path / "events.json").read_bytes() == before


async def _outage(hub: Hub, clock, on: bool) -> None:
    """Start or end the simulated outage and step the demo clock until the hub logs it."""
    hub.set_outage(on)
    want = Kind.GRID_DOWN if on else Kind.GRID_UP
    for _ in range(400):
        clock.advance(2)
        await asyncio.sleep(0.02)
        if hub.events.recent and hub.events.recent[-1].kind is want:
            return
    raise AssertionError(f"no {want} event")


async def test_a_hub_keeps_its_events_and_the_seen_mark_across_a_restart(tmp_path):
    root = tmp_path / "store"
    hub, _, clock = demo_hub(interval_s=0.05)
    hub.store = Store.open(root, _fsync=False)
    await hub.start()
    try:
        await _outage(hub, clock, True)
        hub.acknowledge_events()
        seen = hub.events.seen_upto
        await _outage(hub, clock, False)
    finally:
        await hub.stop()
    assert [e.kind for e in hub.events.recent] == [Kind.GRID_DOWN, Kind.GRID_UP]

    # the monitor starts again on the same store, the grid down once more
    later, src, clock2 = demo_hub(interval_s=0.05, at=clock.now() + timedelta(minutes=5))
    later.store = Store.open(root, _fsync=False)
    await later.start()
    try:
        view = later.view.events
        assert [e.kind for e in view.recent] == [Kind.GRID_UP, Kind.GRID_DOWN]
        assert view.seen_upto == seen
        assert [e.kind for e in view.unseen] == [Kind.GRID_UP]
        assert view.top is None  # the grid back is information: no banner for it
        await _outage(later, clock2, True)
        top = later.view.events.top
        assert top is not None and top.kind is Kind.GRID_DOWN
    finally:
        await later.stop()
    kept, _ = EventLog(root).load()
    assert [e.kind for e in kept] == [Kind.GRID_DOWN, Kind.GRID_UP, Kind.GRID_DOWN]


async def test_events_found_while_another_process_wrote_the_store_are_kept_once_it_is_ours(
    tmp_path,
):
    root = tmp_path / "store"
    other = Store.open(root, _fsync=False)  # another energytui holds the writer lock
    hub, _, clock = demo_hub(interval_s=0.05)
    hub.store_opener = lambda: Store.open(root, _fsync=False)
    hub.store = hub.store_opener()
    assert hub.store.readonly
    await hub.start()
    try:
        assert hub.event_log is not None and hub.event_log.readonly
        await _outage(hub, clock, True)
        assert not (root / "events.json").exists()  # a reader writes nothing
        other.close()
        assert await hub.retry_store()
        assert not hub.event_log.readonly
        await _outage(hub, clock, False)
    finally:
        await hub.stop()
    kept, _ = EventLog(root).load()
    assert [e.kind for e in kept] == [Kind.GRID_DOWN, Kind.GRID_UP]
    assert [e.kind for e in hub.events.recent] == [Kind.GRID_DOWN, Kind.GRID_UP]
