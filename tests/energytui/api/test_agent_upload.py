"""meter_agent's store-and-forward upload into the real energytui API and hub.

The hub is down while the agent accepts readings; when it comes back every
reading arrives once, in order, and a retried upload stores nothing twice.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx

from energytui.config import load_config
from energytui.hub import Hub
from energytui.meter_stats import consumption
from energytui.serve import start_api_in_loop
from energytui.store import Store
from meter_agent.config import UploadConfig
from meter_agent.schema import MANUAL_METHOD, MeterReading
from meter_agent.upload import Uploader
from tests.support import free_port

TOKEN = "hub-token"


def _reading(i: int) -> MeterReading:
    ts = datetime(2026, 6, 1, 12, tzinfo=UTC) + timedelta(minutes=5 * i)
    return MeterReading(
        reading_kwh=1000 + i * 0.5, timestamp=ts, confidence=0.99, method="cnn", id=f"r{i}"
    )


async def test_readings_made_while_the_hub_is_down_arrive_once(tmp_path):
    port = free_port()
    up = Uploader(
        UploadConfig(
            enabled=True, url=f"http://127.0.0.1:{port}/meter_reading", token=TOKEN, timeout_s=2
        ),
        tmp_path / "agent",
    )
    for i in range(3):
        up.enqueue(_reading(i))
    assert await up.flush() == 0  # nothing listens yet: kept in the outbox

    cfg = load_config(environ={}, overrides={"api": {"port": port, "token": TOKEN}})
    store = Store.open(tmp_path / "store")
    hub = Hub([], store=store)
    api = await start_api_in_loop(hub, cfg)
    try:
        assert await up.flush() == 3
        up.enqueue(_reading(3))
        assert await up.flush() == 1
        assert await up.flush() == 0  # nothing left, nothing resent
        # a reading posted twice (e.g. the agent crashed after sending) is stored once
        async with httpx.AsyncClient() as client:
            r = await client.post(
                f"{api.url}/meter_reading",
                json=_reading(3).model_dump(mode="json"),
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
        assert r.status_code == 200
        rows = store.query(
            "meter", datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC)
        )
        assert [row["id"] for row in rows] == ["r0", "r1", "r2", "r3"]
        assert hub.latest_meter.reading_kwh == 1001.5
    finally:
        await api.stop()
        await hub.stop()


async def test_a_reading_set_by_hand_lower_than_the_last_becomes_the_new_base(tmp_path):
    """After a meter change (or a wrong value corrected at the agent's PUT /reading) the
    hub takes the lower "manual" reading, and the true readings after it, instead of
    refusing every one of them as a step backwards; an ordinary lower reading is still
    refused, and today's consumption counts only the steps up."""
    port = free_port()
    up = Uploader(
        UploadConfig(
            enabled=True, url=f"http://127.0.0.1:{port}/meter_reading", token=TOKEN, timeout_s=2
        ),
        tmp_path / "agent",
    )
    cfg = load_config(environ={}, overrides={"api": {"port": port, "token": TOKEN}})
    store = Store.open(tmp_path / "store")
    hub = Hub([], store=store)
    api = await start_api_in_loop(hub, cfg)
    # recent, so the meter counts as live and is exported in /metrics
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)

    def at(minutes: int, kwh: float, rid: str, method: str = "cnn") -> MeterReading:
        return MeterReading(
            reading_kwh=kwh,
            timestamp=t0 + timedelta(minutes=minutes),
            confidence=0.99 if method == "cnn" else 1.0,
            method=method,
            id=rid,
        )

    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        for r in (at(0, 5000.0, "a"), at(5, 5002.0, "b")):
            up.enqueue(r)
        assert await up.flush() == 2
        async with httpx.AsyncClient() as client:
            glitch = await client.post(
                f"{api.url}/api/v1/meter_reading",
                json=at(7, 12.0, "x").model_dump(mode="json"),
                headers=auth,
            )
            assert glitch.status_code == 409  # not set by hand: refused as before
            up.enqueue(at(10, 3.5, "m", method=MANUAL_METHOD))  # the new meter
            up.enqueue(at(15, 4.0, "c"))
            assert await up.flush() == 2
            assert hub.latest_meter.reading_kwh == 4.0
            assert hub.state.meter_corrections == 1
            metrics = (await client.get(f"{api.url}/metrics")).text
        rows = store.query("meter", t0, t0 + timedelta(hours=1))
        assert [(row["id"], row["reading_kwh"]) for row in rows] == [
            ("a", 5000.0),
            ("b", 5002.0),
            ("m", 3.5),
            ("c", 4.0),
        ]
        pts = [(m.timestamp, m.reading_kwh, m.method) for m in hub.state.meter_history]
        used = consumption(pts, t0 - timedelta(hours=1))
        assert used.kwh == 2.5  # 2 kWh on the old meter, 0.5 on the new one
        # a mistyped correction (far too high) corrected again adds nothing
        typo = [*pts, (t0 + timedelta(minutes=20), 9004.0, MANUAL_METHOD)]
        typo += [(t0 + timedelta(minutes=21), 4.0, MANUAL_METHOD)]
        typo += [(t0 + timedelta(minutes=25), 4.5, "cnn")]
        assert consumption(typo, t0 - timedelta(hours=1)).kwh == 3.0
        # the meter counter restarts from the corrected value (a reset to Prometheus)
        line = next(
            ln for ln in metrics.splitlines() if ln.startswith("energytui_meter_joules_total")
        )
        assert float(line.split()[-1]) == 4.0 * 3_600_000
    finally:
        await api.stop()
        await hub.stop()


async def test_a_reading_the_hub_rejects_is_set_aside_once_with_its_reason(tmp_path, caplog):
    """The seed's route answers an implausible reading 400 {"status": "rejected", "reason"};
    the uploader takes that as final: the reading is set aside with the hub's reason,
    logged once, never sent again, and the readings after it still go."""
    port = free_port()
    up = Uploader(
        UploadConfig(
            enabled=True, url=f"http://127.0.0.1:{port}/meter_reading", token=TOKEN, timeout_s=2
        ),
        tmp_path / "agent",
    )
    cfg = load_config(environ={}, overrides={"api": {"port": port, "token": TOKEN}})
    store = Store.open(tmp_path / "store")
    hub = Hub([], store=store, meter_limits=cfg.meter.limits)
    api = await start_api_in_loop(hub, cfg)
    t0 = datetime(2026, 6, 1, 12, tzinfo=UTC)

    def at(hours: float, kwh: float, rid: str, confidence: float = 0.99) -> MeterReading:
        return MeterReading(
            reading_kwh=kwh,
            timestamp=t0 + timedelta(hours=hours),
            confidence=confidence,
            method="cnn",
            id=rid,
        )

    try:
        for r in (at(0, 1314.0, "a"), at(1, 473188.0, "jump"), at(2, 1315.0, "b")):
            up.enqueue(r)
        up.enqueue(at(3, 1316.0, "unsure", confidence=0.5))
        with caplog.at_level("ERROR", logger="meter_agent.upload"):
            assert await up.flush() == 4  # two delivered, two set aside: none left
            assert await up.flush() == 0
        refused = [json.loads(line) for line in up.outbox.dropped_path.read_text().splitlines()]
        assert [(r["id"], r["refused"].split(":")[0]) for r in refused] == [
            ("jump", "HTTP 400"),
            ("unsure", "HTTP 400"),
        ]
        assert "above the last accepted 1314 kWh" in refused[0]["refused"]
        assert "below the threshold 0.80" in refused[1]["refused"]
        logged = [rec.getMessage() for rec in caplog.records]
        assert len(logged) == 2 and "jump" in logged[0] and "unsure" in logged[1]
        assert up.status.pending == 0 and "below the threshold" in up.status.last_error
        rows = store.query("meter", t0, t0 + timedelta(days=1))
        assert [row["id"] for row in rows] == ["a", "b"]
        kept = store.query("meter_rejected", t0, t0 + timedelta(days=1))
        assert [(row["id"], row["code"]) for row in kept] == [
            ("jump", "increase_too_large"),
            ("unsure", "low_confidence"),
        ]
    finally:
        await api.stop()
        await hub.stop()
