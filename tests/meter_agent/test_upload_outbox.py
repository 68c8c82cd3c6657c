"""Store-and-forward upload against a real HTTP receiver on loopback that is down, then up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from agent_support import LoopbackServer, free_port, hub_app

from meter_agent import upload as upload_mod
from meter_agent.config import UploadConfig
from meter_agent.history import new_reading_id
from meter_agent.schema import MeterReading
from meter_agent.upload import Outbox, Uploader

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def reading(i: int) -> MeterReading:
    ts = T0 + timedelta(minutes=i)
    return MeterReading(
        reading_kwh=4000.0 + i,
        timestamp=ts,
        confidence=0.95,
        method="seven_segment",
        digits=f"{4000 + i:06d}",
        id=new_reading_id(ts),
    )


def config(port: int, **kw: object) -> UploadConfig:
    return UploadConfig(
        enabled=True, url=f"http://127.0.0.1:{port}/meter_reading", timeout_s=3, **kw
    )


async def test_readings_made_while_hub_is_down_arrive_later_in_order_once(tmp_path: Path) -> None:
    port = free_port()
    up = Uploader(config(port), tmp_path)
    sent_readings = [reading(i) for i in range(5)]
    for r in sent_readings[:3]:
        up.enqueue(r)
    assert await up.flush() == 0  # the hub is down
    assert up.status.pending == 3
    assert "cannot be reached" in (up.status.last_error or "")

    # the agent restarts while the hub is still down, and makes two more readings
    up = Uploader(config(port), tmp_path)
    assert [r.id for r in up.outbox.pending()] == [r.id for r in sent_readings[:3]]
    for r in sent_readings[3:]:
        up.enqueue(r)

    app = hub_app()
    with LoopbackServer(app, port=port):
        assert await up.flush() == 5
        assert [r.id for r in app.state.received] == [r.id for r in sent_readings]
        assert app.state.received[0] == sent_readings[0]  # the whole body, as the schema says
        assert up.status.pending == 0 and up.status.last_error is None
        # another restart: nothing is pending, nothing is sent twice
        again = Uploader(config(port), tmp_path)
        assert again.outbox.pending() == []
        assert await again.flush() == 0
        again.enqueue(sent_readings[1])  # the same reading offered again is ignored
        assert await again.flush() == 0
        assert len(app.state.received) == 5


async def test_bearer_token_and_refusals_keep_the_reading(tmp_path: Path) -> None:
    app = hub_app()
    app.state.token = "hub-secret"
    with LoopbackServer(app) as hub:
        wrong = Uploader(config(hub.port, token="nope"), tmp_path)
        wrong.enqueue(reading(0))
        assert await wrong.flush() == 0
        assert "check upload.token" in (wrong.status.last_error or "")
        assert app.state.received == []

        right = Uploader(config(hub.port, token="hub-secret"), tmp_path)
        app.state.fail_with = 503
        assert await right.flush() == 0
        assert "HTTP 503" in (right.status.last_error or "")
        app.state.fail_with = 0
        assert await right.flush() == 1
        assert app.state.auth_headers[-1] == "Bearer hub-secret"
        assert [r.reading_kwh for r in app.state.received] == [4000.0]


async def test_a_reading_the_hub_will_never_take_is_set_aside(tmp_path: Path) -> None:
    app = hub_app()
    bad, good, lower = reading(0), reading(5), reading(2)
    app.state.refuse_ids = {bad.id}
    with LoopbackServer(app) as hub:
        up = Uploader(config(hub.port), tmp_path)
        for r in (bad, good, lower):
            up.enqueue(r)
        assert await up.flush() == 3  # the refused ones no longer block the queue
        assert [r.id for r in app.state.received] == [good.id]
        refused = (tmp_path / "outbox.refused.jsonl").read_text()
        assert bad.id in refused and "implausible" in refused
        assert lower.id in refused and "HTTP 409" in refused
        assert Uploader(config(hub.port), tmp_path).outbox.pending() == []


async def test_outbox_compacts_once_all_is_delivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upload_mod, "COMPACT_AFTER", 3)
    app = hub_app()
    with LoopbackServer(app) as hub:
        up = Uploader(config(hub.port), tmp_path)
        for i in range(4):
            up.enqueue(reading(i))
        assert await up.flush() == 4
        assert (tmp_path / "outbox.jsonl").read_text() == ""
        assert (tmp_path / "outbox.delivered").read_text() == ""
        up.enqueue(reading(10))
        assert await Uploader(config(hub.port), tmp_path).flush() == 1
        assert len(app.state.received) == 5


def test_torn_outbox_line_is_dropped_and_queue_stays_usable(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    box.add(reading(0))
    with open(tmp_path / "outbox.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"reading_kwh": 4001.0, "timest')
    box = Outbox(tmp_path)
    box.add(reading(2))
    assert [r.reading_kwh for r in Outbox(tmp_path).pending()] == [4000.0, 4002.0]


async def test_disabled_upload_queues_nothing(tmp_path: Path) -> None:
    up = Uploader(UploadConfig(enabled=False, url="http://127.0.0.1:9/meter_reading"), tmp_path)
    up.enqueue(reading(0))
    assert await up.flush() == 0
    assert up.outbox.pending() == []
    bad_url = Uploader(UploadConfig(enabled=True, url="hub:5000"), tmp_path)
    bad_url.enqueue(reading(1))
    assert await bad_url.flush() == 0
    assert "upload.url" in (bad_url.status.last_error or "")
