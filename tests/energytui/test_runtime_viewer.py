"""Two real processes: the first owns the store and polls; a second attaches as a viewer."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from energytui.config import load_config
from energytui.runtime import build_hub
from energytui.sources.remote import RemoteHubSource
from energytui.tui.app import EnergyApp
from tests.support import free_port, wait_for_http


@pytest.fixture
def first_instance(tmp_path):
    port = free_port()
    env_cfg = tmp_path / "c.toml"
    env_cfg.write_text(
        f'[general]\ndata_dir = "{tmp_path / "data"}"\n[api]\nport = {port}\n[simulated]\ninterval_s = 0.5\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "energytui.cli", "serve", "--config", str(env_cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_http(f"http://127.0.0.1:{port}/api/v1/health", proc)  # the store is locked by then
    yield env_cfg
    proc.terminate()
    proc.wait(timeout=15)


async def test_second_instance_attaches_as_viewer(first_instance):
    cfg = load_config(first_instance, environ={})
    hub = build_hub(cfg)
    try:
        assert hub.store.readonly and "read-only" in hub.store.readonly_reason
        # no meter agent configured on either side: no meter line to be an error
        assert [type(s) for s in hub.sources.values()] == [RemoteHubSource]
        app = EnergyApp(cfg, hub)
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(100):
                await pilot.pause(0.1)
                if hub.latest_power is not None and hub.health["remote"].state == "ok":
                    break
            assert hub.latest_power is not None and hub.latest_power.source == "simulated"
            app.refresh_view()
            await pilot.pause()
            assert "read-only" in app.screen.sub_title
            assert app.screen.sub_title.startswith(f"viewer of 127.0.0.1:{cfg.api.port} · ")
            assert "remote" in str(app.screen.query_one("#health").render())
    finally:
        if hub.started:
            await hub.stop()
        elif hub.store is not None:
            await asyncio.to_thread(hub.store.close)


def test_a_viewer_follows_the_meter_only_where_the_first_instance_has_one():
    from energytui.config import Config
    from energytui.runtime import viewer_sources
    from energytui.sources.remote import RemoteMeterSource

    bare = Config.model_validate({})
    assert [type(s) for s in viewer_sources(bare)] == [RemoteHubSource]
    polled = Config.model_validate({"meter": {"endpoint": "http://127.0.0.1:5001"}})
    pushed = Config.model_validate({"api": {"token": "t0ken-for-the-agent"}})
    for cfg in (polled, pushed):
        assert [type(s) for s in viewer_sources(cfg)] == [RemoteHubSource, RemoteMeterSource]


async def test_viewer_devices_screen_and_outage_key_say_what_a_viewer_can_do(first_instance):
    """Issue 16: a viewer of the simulated site was told "No power source is configured."
    and that outages "can only be simulated on the simulated site"."""
    from energytui.tui.screens.devices import DevicesScreen

    cfg = load_config(first_instance, environ={})
    hub = build_hub(cfg)
    try:
        app = EnergyApp(cfg, hub)
        async with app.run_test(size=(110, 40)) as pilot:
            for _ in range(100):
                await pilot.pause(0.1)
                if hub.latest_power is not None and hub.health["remote"].state == "ok":
                    break
            assert hub.latest_power is not None
            # the battery's times use the first instance's capacity, not a guess
            assert app.battery_kwh == 13.5
            await pilot.press("v")
            await pilot.pause()
            assert isinstance(app.screen, DevicesScreen)
            summary = str(app.screen.query_one("#summary").render())
            where = f"127.0.0.1:{cfg.api.port}"
            assert "No power source is configured" not in summary
            assert f"views the one at {where}" in summary and "simulated site" in summary
            assert "Reserve" in summary and "%" in summary
            await pilot.press("s")
            await pilot.pause()
            assert isinstance(app.screen, DevicesScreen)  # no dialog for a viewer
            result = str(app.screen.query_one("#result").render())
            assert f"change it in the energytui at {where}" in result
            await pilot.press("o")
            await pilot.pause()
            said = [n.message for n in app._notifications]
            assert any(f"viewer of the simulated site at {where}" in m for m in said), said
            assert not any("can only be simulated" in m for m in said)
    finally:
        if hub.started:
            await hub.stop()
        elif hub.store is not None:
            await asyncio.to_thread(hub.store.close)
