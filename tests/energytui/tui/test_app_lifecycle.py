"""The TUI that owns the store also serves the API and publishes to MQTT (the kiosk case)."""

from __future__ import annotations

import httpx

from energytui.config import load_config
from energytui.runtime import build_hub
from energytui.tui.app import EnergyApp
from tests.mqtt_listener import Listener


async def test_tui_owner_serves_api_and_mqtt(tmp_path, broker):
    cfg = load_config(
        environ={},
        overrides={
            "general": {"data_dir": str(tmp_path)},
            "simulated": {"interval_s": 0.2},
            "api": {"port": 0},
            "mqtt": {"enabled": True, "port": broker, "interval_s": 0.0},
        },
    )
    listener = Listener(broker)
    hub = build_hub(cfg)
    app = EnergyApp(cfg, hub)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(100):
                await pilot.pause(0.05)
                if app.runtime.api is not None and hub.power_is_live:
                    break
            async with httpx.AsyncClient() as client:
                r = await client.get(f"{app.runtime.api.url}/api/v1/current_readings")
            assert r.status_code == 200 and r.json()["powerwall"]["solar_power"] is not None
            await listener.wait(lambda: listener.topics("homeassistant/sensor/"), timeout=10)
            assert any(t.endswith("/config") for t in listener.topics("homeassistant/sensor/"))
    finally:
        listener.close()


async def test_the_app_freezes_what_lives_as_long_as_it_and_gives_it_back(tmp_path):
    # the collector's full passes walked every Textual object each time (33 ms, most of
    # a second's cost); frozen after the first screen, given back at exit so an app
    # started again in the same process leaks nothing
    import gc

    cfg = load_config(
        environ={},
        overrides={"general": {"data_dir": str(tmp_path)}, "api": {"enabled": False}},
    )
    app = EnergyApp(cfg, build_hub(cfg))
    before = gc.get_freeze_count()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        assert gc.get_freeze_count() > before
    assert gc.get_freeze_count() == 0
