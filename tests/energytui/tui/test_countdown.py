"""Issue 16: "next login attempt in 60 s" counted down nowhere. The health panel and the
dashboard's stale note now say the time left each time they are drawn."""

from __future__ import annotations

import re

from devkit.emulator import Emulator
from energytui.config import Config
from energytui.hub import Hub
from energytui.sources.powerwall import PowerwallSource
from energytui.tui.app import EnergyApp
from tests.gateway_support import until

WAIT = re.compile(r"next login attempt in (\d+) s")


async def test_login_wait_counts_down_on_the_dashboard(emulator: Emulator, tmp_path):
    cfg = Config.model_validate(
        {
            "general": {"data_dir": str(tmp_path / "data")},
            "powerwall": {"host": emulator.host_port, "password": "wrong", "timeout_s": 1.0},
        }
    )
    app = EnergyApp(cfg, Hub([PowerwallSource.from_config(cfg)]))
    async with app.run_test(size=(140, 40)) as pilot:
        health = app.hub.health["powerwall"]
        await until(lambda: health.consecutive_errors >= 1)

        async def seconds_shown() -> int:
            app.refresh_view()
            await pilot.pause()
            panel = str(app.screen.query_one("#health").render())
            m = WAIT.search(panel.replace("\n", " "))
            assert m is not None, panel
            return int(m.group(1))

        first = await seconds_shown()
        assert first in (59, 60)
        later = first
        for _ in range(100):  # until the next second is drawn
            later = await seconds_shown()
            if later < first:
                break
            await pilot.pause(0.05)
        assert later < first
        assert emulator.counts.login_attempts == 1
