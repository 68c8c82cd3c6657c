"""``GET /api/v1/events`` over loopback: a real hub with a store, its API served by uvicorn
on 127.0.0.1, a source that fails and recovers, and the seen mark."""

from __future__ import annotations

import httpx

from energytui.config import load_config
from energytui.events import Holds, Kind
from energytui.hub import Hub
from energytui.serve import start_api_in_loop
from energytui.store import Store
from tests.hub_support import ScriptedSource, sample, wait_for


async def test_events_route_lists_newest_first_with_the_seen_mark(tmp_path):
    config = load_config(environ={}, overrides={"api": {"port": 0, "host": "127.0.0.1"}})
    src = ScriptedSource(sample())
    hub = Hub([src], store=Store.open(tmp_path / "store", _fsync=False))
    hub.events.detector.holds = Holds(source=0.0)
    await hub.start()
    api = await start_api_in_loop(hub, config)
    try:
        async with httpx.AsyncClient(base_url=api.url) as c:
            empty = (await c.get("/api/v1/events")).json()
            assert empty == {"count": 0, "unseen": 0, "seen_upto": 0, "events": []}

            await wait_for(lambda: hub.power_is_live)
            src.fail_with = "The gateway refused the connection."
            await wait_for(lambda: any(e.kind is Kind.SOURCE_FAILED for e in hub.events.recent))
            src.fail_with = None
            hub.poll_now()
            await wait_for(lambda: any(e.kind is Kind.SOURCE_RECOVERED for e in hub.events.recent))
            body = (await c.get("/api/v1/events")).json()
            assert body["count"] == 2 and body["unseen"] == 2
            first, second = body["events"]
            assert (first["kind"], second["kind"]) == ("source_recovered", "source_failed")
            assert first["id"] > second["id"]
            assert second == {
                "id": second["id"],
                "timestamp": second["timestamp"],
                "kind": "source_failed",
                "severity": "warning",
                "text": "Source scripted is failing: The gateway refused the connection.",
                "subject": "scripted",
                "seen": False,
            }
            assert second["timestamp"].endswith("Z")

            hub.acknowledge_events()
            body = (await c.get("/api/v1/events", params={"limit": 1})).json()
            assert body["count"] == 1 and body["unseen"] == 0
            assert body["events"][0]["seen"] is True
            assert (await c.get("/api/v1/events", params={"unseen": "true"})).json()["count"] == 0

            bad = await c.get("/api/v1/events", params={"limit": 0})
            assert bad.status_code == 422
            assert "Traceback" not in bad.text and "ValidationError" not in bad.text
    finally:
        await api.stop()
        await hub.stop()
