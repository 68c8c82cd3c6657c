"""The TUI says in one sentence, on every screen, that readings are not being stored
(issue 14, finding 4): here the data dir is a real tmpfs remounted read-only."""

from __future__ import annotations

from energytui.runtime import build_hub
from energytui.store import Store
from energytui.tui.app import EnergyApp
from tests.energytui.test_live_without_store import _cfg, remount, tmpfs
from tests.energytui.tui.test_sink_health import until


async def test_every_screen_says_readings_are_not_stored(tmp_path):
    data = tmp_path / "data"
    with tmpfs(data):
        cfg = _cfg(data)
        Store.open(cfg.store_path).close()
        remount(data, "ro")
        hub = build_hub(cfg)
        assert hub.sources and type(next(iter(hub.sources.values()))).__name__ == "SimulatedSource"
        app = EnergyApp(cfg, hub)
        async with app.run_test(size=(160, 40)) as pilot:
            await until(
                pilot,
                lambda: "Not storing readings: cannot write to" in app.screen.sub_title,
                what="the dashboard's title line to say the store takes no writes",
            )
            assert "read-only file system" in app.screen.sub_title
            for key, base in (("y", "history"), ("m", "utility meter")):
                await pilot.press(key)
                await until(
                    pilot,
                    lambda base=base: app.screen.sub_title.startswith(
                        f"{base} · Not storing readings"
                    ),
                    what=f"the {base} screen's title line",
                )
                await pilot.press("escape")
