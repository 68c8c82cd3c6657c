"""meter_agent.quiet_server: uvicorn ticking once a second still serves, dates and stops."""

from __future__ import annotations

import threading
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import uvicorn
from agent_support import free_port

from meter_agent.quiet_server import TICK_S, QuietServer


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_serves_with_a_current_date_and_stops_within_a_tick() -> None:
    port = free_port()
    server = QuietServer(
        uvicorn.Config(_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        time.sleep(2.5 * TICK_S)  # the Date header must follow the clock, not the start
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as c:
            r = c.get("/")
        assert r.status_code == 200 and r.text == "ok"
        sent = parsedate_to_datetime(r.headers["date"]).timestamp()
        assert abs(sent - time.time()) <= TICK_S + 1.0
    finally:
        t0 = time.monotonic()
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert time.monotonic() - t0 < TICK_S + 2.0
