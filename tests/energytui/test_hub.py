"""The hub's schedule: polling, back-off, staleness, fan-out, meter dedupe."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from energytui.hub import HealthEvent, Hub, SampleEvent
from energytui.sources.base import SourceError
from energytui.sources.meter import MeterSource
from energytui.sources.simulated import SimulatedSource
from meter_agent.schema import MeterReading


async def wait_for(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_polls_and_fans_out():
    src = SimulatedSource(interval_s=0.05)
    hub = Hub([src])
    events = []
    hub.subscribe(events.append)
    await hub.start()
    try:
        await wait_for(lambda: len(hub.state.history) >= 3)
    finally:
        await hub.stop()
    assert any(isinstance(e, SampleEvent) for e in events)
    assert any(isinstance(e, HealthEvent) for e in events)
    assert hub.health["simulated"].state == "ok"
    assert hub.latest_power is hub.state.history[-1]


async def test_errors_back_off_then_recover():
    src = SimulatedSource(interval_s=0.05)
    src.fail_with = "the simulated site is switched off."
    hub = Hub([src])
    await hub.start()
    try:
        await wait_for(lambda: hub.health["simulated"].consecutive_errors >= 3)
        h = hub.health["simulated"]
        assert h.state == "error"
        assert h.last_error == "the simulated site is switched off."
        assert not hub.power_is_live
        src.fail_with = None
        hub.poll_now()
        await wait_for(lambda: hub.health["simulated"].state == "ok")
        assert hub.power_is_live
        assert h.last_error is None
    finally:
        await hub.stop()


class _RetryAfterSource(SimulatedSource):
    async def poll(self):
        self.calls = getattr(self, "calls", 0) + 1
        raise SourceError(
            "wrong password; next login attempt in 60 s.", retry_after=60, cause="login"
        )


async def test_retry_after_is_honoured_even_on_refresh():
    src = _RetryAfterSource(interval_s=0.05)
    hub = Hub([src])
    await hub.start()
    try:
        await wait_for(lambda: hub.health["simulated"].state == "backoff")
        hub.poll_now()
        await asyncio.sleep(0.3)
        assert src.calls == 1
        nxt = hub.health["simulated"].next_poll_at
        assert (nxt - datetime.now(UTC)).total_seconds() > 50
    finally:
        await hub.stop()


class _SlowMeter(BaseHTTPRequestHandler):
    delay = 0.0

    def do_GET(self):  # noqa: N802
        time.sleep(type(self).delay)
        body = json.dumps(
            {
                "reading_kwh": 1234.5,
                "timestamp": "2026-06-01T12:00:00Z",
                "confidence": 0.99,
                "method": "cnn",
                "digits": "012345",
                "last_update": "2026-06-01T12:00:01Z",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def slow_meter_server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _SlowMeter)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


async def test_timeout_is_one_sentence_and_marks_stale(slow_meter_server):
    port = slow_meter_server.server_address[1]
    src = MeterSource(f"http://127.0.0.1:{port}", interval_s=0.1, timeout_s=0.3)
    hub = Hub([src])
    await hub.start()
    try:
        await wait_for(lambda: hub.health["meter"].state == "ok")
        assert hub.latest_meter.reading_kwh == 1234.5
        _SlowMeter.delay = 1.0
        await wait_for(lambda: hub.health["meter"].state == "error", timeout=8)
        assert "did not answer within 0.3 s" in hub.health["meter"].last_error
        assert not hub.is_live("meter")
        _SlowMeter.delay = 0.0
    finally:
        _SlowMeter.delay = 0.0
        await hub.stop()


async def test_unreachable_meter_agent():
    src = MeterSource("http://127.0.0.1:9", interval_s=0.1, timeout_s=0.5)
    hub = Hub([src])
    await hub.start()
    try:
        await wait_for(lambda: hub.health["meter"].consecutive_errors >= 1)
        assert "cannot be reached" in hub.health["meter"].last_error
    finally:
        await hub.stop()


async def test_ingest_meter_dedupes_and_never_goes_down():
    hub = Hub([])
    r1 = MeterReading(reading_kwh=100.0, timestamp="2026-06-01T12:00:00Z", confidence=0.99, id="a1")
    r2 = MeterReading(reading_kwh=100.4, timestamp="2026-06-01T12:05:00Z", confidence=0.99, id="a2")
    low = MeterReading(reading_kwh=99.0, timestamp="2026-06-01T12:10:00Z", confidence=0.99, id="a3")
    assert await hub.ingest_meter(r1) == "stored"
    assert await hub.ingest_meter(r1) == "duplicate"
    assert await hub.ingest_meter(r2) == "stored"
    assert await hub.ingest_meter(low) == "lower"
    assert hub.latest_meter.reading_kwh == 100.4
    assert len(hub.state.meter_history) == 2


async def test_polled_meter_readings_are_stored_once(slow_meter_server, tmp_path):
    from energytui.store import Store

    port = slow_meter_server.server_address[1]
    store = Store.open(tmp_path / "store")
    hub = Hub([MeterSource(f"http://127.0.0.1:{port}", interval_s=0.05, timeout_s=2)], store=store)
    await hub.start()
    try:
        await wait_for(lambda: hub.health["meter"].polls >= 4)
    finally:
        await hub.stop()
    reopened = Store.open(tmp_path / "store")
    try:
        rows = reopened.query(
            "meter", datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC)
        )
        assert [r["reading_kwh"] for r in rows] == [1234.5]
    finally:
        reopened.close()


async def test_a_pushed_reading_wakes_a_meter_poll_that_failed(tmp_path):
    """An agent started after the monitor pushes its first reading: the poll that found
    nothing listening tries again at once, not after its 30 s interval (or back-off)."""
    from devkit.demo_agent import DemoAgent

    (tmp_path / "agent").mkdir()
    agent = DemoAgent(tmp_path / "agent")
    hub = Hub([MeterSource(agent.url, interval_s=30.0, timeout_s=2.0)])
    await hub.start()
    try:
        await wait_for(lambda: hub.health["meter"].state == "error")
        assert "cannot be reached" in hub.health["meter"].last_error
        with agent:
            _, record = await asyncio.to_thread(agent.service.capture_and_record)
            assert record.accepted
            assert await hub.ingest_meter(record.to_meter_reading()) == "stored"
            await wait_for(lambda: hub.health["meter"].state == "ok", timeout=10)
            assert hub.health["meter"].last_error is None
            assert hub.health["meter"].polls == 2
    finally:
        await hub.stop()


# -- the read model -------------------------------------------------------------------
async def test_a_view_is_published_after_each_poll_and_is_frozen():
    import dataclasses

    from energytui.sources.base import SourceState
    from energytui.view import HubView

    src = SimulatedSource(interval_s=0.05)
    hub = Hub([src])
    views: list[HubView] = []
    hub.subscribe_view(views.append)
    await hub.start()
    try:
        await wait_for(lambda: len(hub.state.history) >= 3)
    finally:
        await hub.stop()
    last = views[-1]
    assert last is hub.view
    assert last.power.sample is hub.latest_power and last.power.source == "simulated"
    assert last.history[-1] is hub.latest_power and len(last.history) == len(hub.state.history)
    status = last.source("simulated")
    assert status is last.power_status and status.state is SourceState.OK and status.polls >= 3
    assert last.energy.solar_kwh == hub.energy.best.solar_kwh
    assert not last.store.present and last.meter.source is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        last.power = None  # type: ignore[misc]
    # one view per poll (sample and health together), not one per event
    polls = hub.health["simulated"].polls
    assert len(views) <= polls + 3  # + the one after start, and the liveness ticks


async def test_at_a_1_s_poll_interval_the_sweep_leaves_the_tick_to_the_polls(tmp_path):
    """One view a second, not two: with a store each poll takes a little longer than its
    second, so the once-a-second sweep published a few milliseconds before each poll's
    view, and every screen drew both."""
    from energytui.store import Store

    src = SimulatedSource(interval_s=1.0)
    hub = Hub([src], store=Store.open(tmp_path / "store"))
    views = []
    hub.subscribe_view(views.append)
    await hub.start()
    try:
        await wait_for(lambda: hub.health["simulated"].polls >= 4, timeout=10)
        await asyncio.sleep(0.5)  # past the next sweep
    finally:
        await hub.stop()
    polls = hub.health["simulated"].polls
    assert len(views) <= polls + 1  # the one at start, then one per poll


async def test_views_share_what_did_not_move():
    """A view built when nothing was added keeps the same history tuple and compares
    equal part by part: the screens redraw only what moved."""
    from devkit.demo import demo_hub

    hub, _, clock = demo_hub()
    a = hub.publish_view()
    b = hub.publish_view()
    assert a is not b and a.history is b.history
    assert (a.power, a.energy, a.meter, a.sources, a.store) == (
        b.power,
        b.energy,
        b.meter,
        b.sources,
        b.store,
    )
    clock.advance(5)
    hub.state.history.append(hub.sources["simulated"].site.advance(clock.now()))
    c = hub.publish_view()
    assert c.history is not b.history and c.history[-1] is hub.state.history[-1]
    assert c.now > b.now


async def test_the_hub_publishes_a_view_every_second_and_on_refused_meter_readings():
    hub = Hub([SimulatedSource(interval_s=999)])
    views = []
    hub.subscribe_view(views.append)
    await hub.start()
    try:
        await wait_for(lambda: len(views) >= 3, timeout=5)  # start, first poll, a tick
        r1 = MeterReading(
            reading_kwh=100.0, timestamp="2026-06-01T12:00:00Z", confidence=0.99, id="a1"
        )
        low = MeterReading(
            reading_kwh=99.0, timestamp="2026-06-01T12:10:00Z", confidence=0.99, id="a3"
        )
        assert await hub.ingest_meter(r1) == "stored"
        assert views[-1].meter.latest is r1 and views[-1].meter.refused is None
        n = len(views)
        assert await hub.ingest_meter(r1) == "duplicate"
        assert len(views) == n  # nothing moved
        assert await hub.ingest_meter(low) == "lower"
        assert views[-1].meter.refused is low and views[-1].meter.latest is r1
    finally:
        await hub.stop()


def test_states_and_causes_keep_their_words():
    """StrEnum: what the API, metrics and MQTT write stays the same string."""
    from energytui.hub import SourceHealth
    from energytui.sources.base import Cause, SourceState

    h = SourceHealth("simulated", "power", 5.0, state=SourceState.BACKOFF)
    out = json.loads(json.dumps(h.to_dict()))
    assert out["state"] == "backoff" and h.state == "backoff" and f"{h.state}" == "backoff"
    err = SourceError("wrong password.", cause="login")
    assert err.cause is Cause.LOGIN and err.cause == "login"
    assert SourceError("x").cause is Cause.ERROR
    assert Cause.NO_DATA == "nodata" and Cause.RATE_LIMIT == "rate_limit"
    with pytest.raises(ValueError):
        SourceError("x", cause="no such cause")


async def test_commands_go_through_the_hub():
    src = SimulatedSource(interval_s=999)
    hub = Hub([src])
    await hub.start()
    try:
        assert hub.device is None and hub.simulated_site is src.site
        assert await hub.power_details() is None
        with pytest.raises(SourceError) as info:
            await hub.set_reserve(30)
        assert info.value.cause == "unsupported" and "needs a Powerwall" in str(info.value)
        polls = hub.health["simulated"].polls
        hub.set_outage(True)
        assert src.site.outage
        await wait_for(lambda: hub.health["simulated"].polls > polls)  # polled at once
    finally:
        await hub.stop()
    meter_only = Hub([MeterSource("http://127.0.0.1:9")])
    with pytest.raises(SourceError, match="only be simulated"):
        meter_only.set_outage(True)


async def test_a_sinks_status_is_in_every_view_until_it_is_unregistered(tmp_path):
    """The runtime owns the sinks; the hub only asks a registered status call, once per
    view, so the health line follows the writer without the hub knowing what it is."""
    from energytui.config import InfluxConfig
    from energytui.sinks.influx import InfluxSink
    from energytui.view import SinkView

    hub = Hub([SimulatedSource(interval_s=999)])
    views = []
    hub.subscribe_view(views.append)
    sink = InfluxSink(None, InfluxConfig(url="http://127.0.0.1:9"), tmp_path / "spool")
    assert hub.publish_view().sinks == ()
    remove = hub.add_status_source("influxdb", sink.status)
    # registering shows it at once, as the writer reports itself (not started: stopped)
    assert views[-1].sinks == (SinkView("influxdb", "stopped", "InfluxDB off", 0),)
    with pytest.raises(ValueError, match="influxdb"):
        hub.add_status_source("influxdb", sink.status)
    assert list(hub.sink_reports()) == ["influxdb"]

    def broken():
        raise RuntimeError("a bug in a sink")

    remove_broken = hub.add_status_source("broken", broken)
    view = hub.publish_view()  # a status call that raises does not stop the views
    assert [s.name for s in view.sinks] == ["influxdb", "broken"]
    assert view.sinks[1].state == "error" and "cannot be read" in view.sinks[1].line
    remove_broken()
    remove()
    remove()  # twice is harmless
    assert views[-1].sinks == () and hub.sink_reports() == {}


async def test_the_latest_refused_reading_is_in_the_view_with_its_reason():
    from meter_agent.rules import Limits

    hub = Hub([SimulatedSource(interval_s=999)], meter_limits=Limits())
    views = []
    hub.subscribe_view(views.append)
    assert hub.publish_view().meter.rejected is None
    unsure = MeterReading(
        reading_kwh=1234.5, timestamp="2026-06-01T12:00:00Z", confidence=0.5, id="u1"
    )
    assert await hub.ingest_meter(unsure) == "low_confidence"
    rejected = views[-1].meter.rejected
    assert rejected is not None and rejected.reading == unsure
    assert (rejected.code, rejected.reason) == (
        "low_confidence",
        "The confidence 0.50 is below the threshold 0.80",
    )
    assert rejected.at == hub.state.meter_rejected.received
    assert hub.publish_view().meter == views[-2].meter  # unchanged: equal, no redraw
    good = MeterReading(
        reading_kwh=1314.0, timestamp="2026-06-01T12:05:00Z", confidence=0.95, id="g1"
    )
    jump = MeterReading(
        reading_kwh=473188.0, timestamp="2026-06-01T12:10:00Z", confidence=0.95, id="j1"
    )
    assert await hub.ingest_meter(good) == "stored"
    assert views[-1].meter.rejected == rejected  # an accepted reading does not clear it
    assert await hub.ingest_meter(jump) == "increase_too_large"
    latest = views[-1].meter.rejected
    assert latest is not None and latest.reading == jump and latest.code == "increase_too_large"
