"""The InfluxDB writer on the dashboard's health line and in /api/v1/health: a real
writer, started by the TUI's runtime, writing to a real VictoriaMetrics that the test
then stops."""

from __future__ import annotations

import asyncio
import re

import httpx

from energytui.config import load_config
from energytui.runtime import build_hub
from energytui.tui.app import EnergyApp
from tests.victoria_support import Victoria


async def until(pilot, predicate, *, limit_s: float = 30.0, what: str = "") -> None:
    end = asyncio.get_running_loop().time() + limit_s
    while not predicate():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError(f"not in time: {what}")
        await pilot.pause(0.05)


async def health_json(app: EnergyApp) -> dict:
    assert app.runtime.api is not None
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{app.runtime.api.url}/api/v1/health")
    assert r.status_code == 200
    return r.json()


async def test_the_influxdb_line_follows_the_writer_from_ok_to_unreachable(tmp_path, victoria):
    cfg = load_config(
        environ={},
        overrides={
            "general": {"data_dir": str(tmp_path / "data")},
            "simulated": {"interval_s": 0.2},
            "api": {"port": 0},
            "influxdb": {
                "url": victoria.url,
                "org": "solar",
                "flush_interval_s": 0.2,
                "timeout_s": 2.0,
            },
        },
    )
    hub = build_hub(cfg)
    app = EnergyApp(cfg, hub)

    def health_line() -> str:
        return str(app.screen.query_one("#health").render())

    async with app.run_test(size=(100, 30)) as pilot:
        await until(
            pilot,
            lambda: (
                re.search(r"^InfluxDB ok, [1-9][\d,]* written$", health_line(), re.M) is not None
            ),
            what="the InfluxDB line to count points written",
        )
        assert app.view is not None and app.view.sinks[0].name == "influxdb"

        # /api/v1/health: the writer's own report, and healthy while it keeps up
        body: dict = {}

        async def healthy() -> bool:
            nonlocal body
            body = await health_json(app)
            return body["status"] == "healthy"

        for _ in range(100):
            if await healthy():
                break
            await pilot.pause(0.1)
        influx = body["sinks"]["influxdb"]
        assert body["status"] == "healthy", body
        assert influx["state"] == "ok" and influx["points_written"] > 0
        assert influx["url"] == victoria.url and influx["last_error"] is None
        assert influx["line"].startswith("InfluxDB ok, ")

        await asyncio.to_thread(victoria.stop)
        await until(
            pilot,
            lambda: "InfluxDB unreachable" in health_line() and "points waiting" in health_line(),
            what="the line to say unreachable",
        )
        assert re.search(
            r"^InfluxDB unreachable: [\d,]+ points waiting \(oldest \d+ s\)$", health_line(), re.M
        ), health_line()
        body = await health_json(app)
        influx = body["sinks"]["influxdb"]
        assert body["status"] == "degraded"
        assert influx["state"] == "error" and influx["points_pending"] > 0
        assert "cannot reach InfluxDB" in influx["last_error"]
        assert influx["line"].startswith("InfluxDB unreachable: ")

        # the database is back on the same port: the spool drains, the line is ok again
        written = influx["points_written"]
        again = Victoria(victoria.storage, victoria.port)
        await asyncio.to_thread(again.start)
        try:
            await until(
                pilot,
                lambda: (
                    health_line().endswith(" written")
                    and (app.runtime.influx is not None)
                    and app.runtime.influx.status().points_written > written
                ),
                what="the line to be ok again",
            )
            assert re.search(r"^InfluxDB ok, [\d,]+ written$", health_line(), re.M)
        finally:
            await app.runtime.stop()  # flush while the database is up
            await asyncio.to_thread(again.stop)
    # the runtime stopped the writer and took it off the hub's views
    assert hub.sink_reports() == {} and hub.view.sinks == ()


async def test_without_a_sink_the_health_panel_and_health_have_none(tmp_path):
    cfg = load_config(
        environ={},
        overrides={
            "general": {"data_dir": str(tmp_path / "data")},
            "simulated": {"interval_s": 0.2},
            "api": {"port": 0},
        },
    )
    hub = build_hub(cfg)
    app = EnergyApp(cfg, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.runtime.api is not None and hub.power_is_live)
        assert "InfluxDB" not in str(app.screen.query_one("#health").render())
        assert app.view is not None and app.view.sinks == ()
        assert (await health_json(app))["sinks"] == {}
