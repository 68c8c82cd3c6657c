"""A sink falling behind and catching up as events: the real InfluxDB writer, started by
the runtime, writing to a real VictoriaMetrics that the test stops and starts again."""

from __future__ import annotations

import asyncio

from energytui.config import load_config
from energytui.events import Holds, Kind, Severity
from energytui.runtime import Runtime, build_hub
from tests.hub_support import wait_for
from tests.victoria_support import Victoria


async def test_the_influxdb_writer_failing_and_catching_up_are_events(tmp_path, victoria):
    cfg = load_config(
        environ={},
        overrides={
            "general": {"data_dir": str(tmp_path / "data")},
            "simulated": {"interval_s": 0.2},
            "influxdb": {
                "url": victoria.url,
                "org": "solar",
                "flush_interval_s": 0.2,
                "timeout_s": 2.0,
            },
        },
    )
    hub = build_hub(cfg)
    hub.events.detector.holds = Holds(sink=0.0)
    runtime = Runtime(cfg, hub, serve_api=False)
    await runtime.start()

    def kinds() -> list[Kind]:
        return [e.kind for e in hub.events.recent]

    try:
        await wait_for(lambda: bool(hub.view.sinks) and hub.view.sinks[0].healthy, 30)
        assert kinds() == []
        await asyncio.to_thread(victoria.stop)
        await wait_for(lambda: Kind.SINK_BEHIND in kinds(), 30, "the sink to fall behind")
        again = Victoria(victoria.storage, victoria.port)
        await asyncio.to_thread(again.start)
        try:
            await wait_for(lambda: Kind.SINK_RECOVERED in kinds(), 30, "the sink to catch up")
        finally:
            await runtime.stop()
            await asyncio.to_thread(again.stop)
    finally:
        await runtime.stop()
    behind = next(e for e in hub.events.recent if e.kind is Kind.SINK_BEHIND)
    assert behind.severity is Severity.WARNING and behind.subject == "influxdb"
    assert behind.text.startswith("Sink influxdb is ") and "InfluxDB" in behind.text
    assert behind.text.endswith(".") and "\n" not in behind.text
    recovered = next(e for e in hub.events.recent if e.kind is Kind.SINK_RECOVERED)
    assert recovered.text.startswith("Sink influxdb has caught up")
