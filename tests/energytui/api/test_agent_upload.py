"""meter_agent's store-and-forward upload into the real energytui API and hub.

The hub is down while the agent accepts readings; when it comes back every
reading arrives once, in order, and a retried upload stores nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from energytui.config import load_config
from energytui.hub import Hub
from energytui.serve import start_api_in_loop
from energytui.store import Store
from meter_agent.config import UploadConfig
from meter_agent.schema import MeterReading
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
