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
        rows = reopened.query("meter", datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC))
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
