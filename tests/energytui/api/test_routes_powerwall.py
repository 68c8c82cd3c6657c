"""The API over a real PowerwallSource (pypowerwall) talking to the HTTPS gateway emulator."""

from __future__ import annotations

import warnings

import pytest

from devkit.emulator import Emulator
from energytui.config import PowerwallConfig
from energytui.hub import Hub
from energytui.sources.powerwall import PowerwallSource
from tests.hub_support import api_client, wait_for

PASSWORD = "api-test-pw"


@pytest.fixture(autouse=True)
def _quiet_self_signed_tls():
    from urllib3.exceptions import InsecureRequestWarning

    warnings.filterwarnings("ignore", category=InsecureRequestWarning)


async def test_vitals_status_and_readings_from_the_gateway(tmp_path):
    with Emulator(password=PASSWORD, firmware="23.28.2 0a6b2c0f") as emu:
        cfg = PowerwallConfig(host=emu.host_port, password=PASSWORD, interval_s=1.0, timeout_s=2.0)
        hub = Hub([PowerwallSource(cfg, state_dir=tmp_path)])
        await hub.start()
        try:
            await wait_for(lambda: hub.power_is_live, timeout=20)
            async with api_client(hub) as c:
                # the first slow refresh may take a while on a busy machine: each request
                # waits up to 2 s for it, so ask again until it has landed
                for _ in range(30):
                    vitals = (await c.get("/api/v1/powerwall/vitals")).json()
                    if vitals["available"]:
                        break
                status = (await c.get("/api/v1/powerwall/status")).json()
                cur = (await c.get("/api/v1/current_readings")).json()
                metrics = (await c.get("/metrics")).text
        finally:
            await hub.stop()
    assert vitals["available"] is True
    assert vitals["firmware"].startswith("23.28")
    assert len(vitals["battery_blocks"]) == 2
    assert all("serial" in b for b in vitals["battery_blocks"])
    assert vitals["vitals"] and any(k.startswith("TEPOD--") for k in vitals["vitals"])
    # issue 16: the capacity and the reserve the gateway reports, alerts in words
    assert vitals["capacity_kwh"] == pytest.approx(13.5)
    assert vitals["reserve_pct"] == pytest.approx(20.0)
    assert vitals["mode_unknown"] is None and vitals["reserve_unknown"] is None
    words = vitals["alert_descriptions"]
    assert set(words) == set(vitals["alerts"]) and words["SystemConnectedToGrid"].endswith(".")
    assert status["connected"] is True and status["source"] == "powerwall"
    pw = cur["powerwall"]
    assert pw["stale"] is False and pw["lifetime"] is not None
    assert pw["grid_status"] in ("up", "down", "syncing")
    assert 0 <= pw["battery_percentage"] <= 100
    assert "energytui_grid_imported_joules_total" in metrics
    assert PASSWORD not in str(vitals) + str(status) + str(cur) + metrics
