"""The screens' contract with the hub: a frozen view in the app's ``view`` reactive,
redraws of only what moved, store reads and device writes through the hub."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from devkit.demo import demo_config, demo_hub
from devkit.emulator import Emulator
from energytui.config import Config
from energytui.hub import Hub
from energytui.model import SystemMode
from energytui.sources.meter import MeterSource
from energytui.sources.powerwall import PowerwallSource
from energytui.sources.simulated import SimulatedSource
from energytui.tui.app import EnergyApp
from energytui.tui.screens.dashboard import DashboardScreen
from energytui.tui.screens.devices import ConfirmDialog, DevicesScreen, ReserveDialog
from energytui.tui.screens.meter import MeterScreen
from energytui.tui.widgets.flow import PowerFlow
from energytui.tui.widgets.health import HealthPanel
from meter_agent.schema import MeterReading


async def until(pilot, predicate, *, limit_s: float = 15.0) -> None:
    end = asyncio.get_running_loop().time() + limit_s
    while not predicate():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError("condition not reached")
        await pilot.pause(0.05)


def text(app: EnergyApp, wid: str) -> str:
    return str(app.screen.query_one(f"#{wid}").render())


async def test_a_hub_change_reaches_the_screen_through_the_view_reactive():
    """No refresh by name: the hub publishes, the app's ``view`` changes, the dashboard
    watching it redraws."""
    hub, src, clock = demo_hub()
    app = EnergyApp(demo_config(), hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.view is not None and app.view.power.sample is not None)
        assert isinstance(app.screen, DashboardScreen)
        seen = []
        app.watch(app, "view", lambda view: seen.append(view), init=False)
        clock.advance(5)
        hub.set_outage(True)  # a hub command: the simulated site islands, polled at once
        await until(pilot, lambda: "Off grid" in text(app, "mode"))
        assert seen and seen[-1] is hub.view
        assert app.view.power.sample.mode is SystemMode.OFF_GRID
        assert "GRID DOWN" in text(app, "flow")


async def test_only_the_parts_that_moved_are_redrawn(monkeypatch):
    hub, _, _ = demo_hub()
    app = EnergyApp(demo_config(), hub)
    drawn = {"flow": 0, "health": 0}
    flow_show, health_show = PowerFlow.show, HealthPanel.show

    def count(name, real):
        def show(self, *args, **kwargs):
            drawn[name] += 1
            return real(self, *args, **kwargs)

        return show

    monkeypatch.setattr(PowerFlow, "show", count("flow", flow_show))
    monkeypatch.setattr(HealthPanel, "show", count("health", health_show))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.view is not None and app.view.power.sample is not None)
        await pilot.pause()
        before = dict(drawn)
        for _ in range(3):  # new views in which nothing moved (the frozen demo clock)
            app.refresh_view()
            await pilot.pause()
        assert drawn == before
        hub.health["simulated"].latency_ms = 120.0  # the health line changes, nothing else
        app.refresh_view()
        await pilot.pause()
        assert drawn == {"flow": before["flow"], "health": before["health"] + 1}
        assert "120 ms" in text(app, "health")


async def test_a_failing_draw_is_logged_and_the_next_view_is_drawn_in_full(monkeypatch, caplog):
    hub, _, _ = demo_hub()
    app = EnergyApp(demo_config(), hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.view is not None and app.view.power.sample is not None)

        def broken(self, *args, **kwargs):
            raise RuntimeError("a rendering bug")

        monkeypatch.setattr(HealthPanel, "show", broken)
        hub.health["simulated"].latency_ms = 120.0
        with caplog.at_level(logging.ERROR, logger="energytui.tui.screens.base"):
            app.refresh_view()
            await pilot.pause()
        assert app.is_running
        assert any(
            "DashboardScreen could not draw" in r.getMessage() and r.exc_info
            for r in caplog.records
        )
        monkeypatch.undo()
        app.refresh_view()  # the same values as the failed view: drawn because in full
        await pilot.pause()
        assert "120 ms" in text(app, "health")


async def test_the_meter_screen_reads_the_store_through_the_hub_only_when_needed(tmp_path):
    """The 35-day query runs on the store's thread through ``Hub.query_store``, on
    opening and for a new accepted reading, not on every view; the meter's health is
    found by kind, whatever the source is called."""
    from energytui.store import Store

    hub, _, _ = demo_hub()
    # a meter agent that is not there, under a name other than "meter"
    hub = Hub(
        [
            *hub.sources.values(),
            MeterSource("http://127.0.0.1:9", name="kitchen", interval_s=999, timeout_s=0.5),
        ],
        clock=hub.clock,
        zone=hub.zone,
        store=Store.open(tmp_path / "store", _fsync=False),
    )
    queries = []
    real_query = hub.query_store

    async def spy(series, start, end, **kwargs):
        queries.append(series)
        return await real_query(series, start, end, **kwargs)

    hub.query_store = spy  # type: ignore[method-assign]
    now = hub.clock.now()
    first = MeterReading(reading_kwh=500.0, timestamp=now - timedelta(hours=2), confidence=0.98)
    cfg = demo_config()
    app = EnergyApp(cfg, hub, serve_api=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: hub.health["kitchen"].consecutive_errors >= 1)
        assert await hub.ingest_meter(first) == "stored"
        queries.clear()  # the dashboard's battery chart read its 24 h of power
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MeterScreen))
        screen = app.screen
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert queries == ["meter"] and screen.readings_loads == 1
        latest = text(app, "meter-latest")
        assert "500 kWh" in latest  # no digits, no agent to say its decimals: as it is
        assert "STALE" in latest and "cannot be reached" in latest
        for _ in range(3):
            app.refresh_view()
            await pilot.pause()
        assert queries == ["meter"]  # views without a new reading read nothing
        second = MeterReading(
            reading_kwh=501.5, timestamp=now - timedelta(minutes=5), confidence=0.99
        )
        assert await hub.ingest_meter(second) == "stored"
        await until(pilot, lambda: screen.readings_loads == 2)
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert queries == ["meter", "meter"]
        assert [r[1] for r in screen.readings] == [500.0, 501.5]
        assert screen.query_one("#meter-recent").row_count == 2
        assert "501.5 kWh" in text(app, "meter-latest")


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
async def test_the_devices_screen_writes_the_reserve_through_the_hub(tmp_path):
    """Against the real gateway emulator over pypowerwall: the screen only calls the
    hub's command, and the gateway takes the new reserve."""
    with Emulator(password="s3cret-pw") as emu:
        cfg = Config.model_validate(
            {
                "general": {"data_dir": str(tmp_path / "data")},
                "powerwall": {"host": emu.host_port, "password": "s3cret-pw", "timeout_s": 1.0},
            }
        )
        hub = Hub([PowerwallSource.from_config(cfg)])
        calls = []
        real_set_reserve = hub.set_reserve

        async def spy(pct):
            calls.append(pct)
            return await real_set_reserve(pct)

        hub.set_reserve = spy  # type: ignore[method-assign]
        app = EnergyApp(cfg, hub)
        async with app.run_test(size=(120, 60)) as pilot:
            await until(pilot, lambda: hub.health["powerwall"].state == "ok")
            await pilot.press("v")
            await until(pilot, lambda: isinstance(app.screen, DevicesScreen))
            screen = app.screen
            await until(pilot, lambda: screen.details is not None)
            await pilot.press("s")  # the key map: s Reserve…
            await until(pilot, lambda: isinstance(app.screen, ReserveDialog))
            await pilot.press("4", "0", "enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            await pilot.press("y")
            await until(pilot, lambda: "Backup reserve set to 40 %." in text(app, "result"))
            assert calls == [40.0]
            assert emu.gateway.site.spec.reserve_pct == pytest.approx(40.0, abs=0.01)


async def test_the_outage_key_goes_through_the_hub():
    hub, src, clock = demo_hub(interval_s=0.05)
    app = EnergyApp(demo_config(), hub)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("o")
        assert src.site.outage
        await pilot.press("o")
        assert not src.site.outage
    viewer = Hub([MeterSource("http://127.0.0.1:9", interval_s=999)])
    app = EnergyApp(demo_config(), viewer)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("o")  # not the simulated site: a warning, nothing else
        await pilot.pause()
        assert app.is_running


def test_views_hold_their_meter_readings(tmp_path):
    """A reading given to the hub is the very object in the view (no copies per tick)."""
    hub = Hub([SimulatedSource(interval_s=999)])
    r = MeterReading(reading_kwh=1.0, timestamp=datetime(2026, 6, 1, tzinfo=UTC), confidence=1)
    asyncio.run(hub.ingest_meter(r))
    assert hub.view.meter.latest is r and hub.view.meter.history == (r,)
