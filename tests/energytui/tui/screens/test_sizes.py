"""Every screen at 80×24, 120×40 and 200×60, and on the Linux console (issue 15): SVG
snapshots of the deterministic demo, so a layout that leaves blank rows, cuts a figure
or breaks at one size is seen in review.

The meter and calibration screens run against a real meter agent on a synthetic meter
(:class:`devkit.demo_agent.DemoAgent`), as ``make screenshots`` shows them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from devkit.demo import demo_app, demo_config, demo_hub
from devkit.demo_agent import DemoAgent, demo_meter_history
from devkit.screenshots import settle
from energytui.tui.app import EnergyApp

SIZES = {"80x24": (80, 24), "120x40": (120, 40), "200x60": (200, 60)}
#: screen name → keys that open it from the dashboard, and app options
SCREENS = {
    "dashboard": ((), {}),
    "kiosk": ((), {"kiosk": True}),
    "devices": (("v",), {}),
    "history": (("y",), {}),
    "events": (("o", "e"), {}),
    "help": (("question_mark",), {}),
}
CASES = [(s, size, False) for s in SCREENS for size in SIZES] + [
    (s, "80x24", True) for s in SCREENS
]


def _settle_with(keys: tuple[str, ...]):
    async def run_before(pilot) -> None:
        await settle(pilot, keys)
        pilot.app.refresh_view()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize(
    ("screen", "size", "console"),
    CASES,
    ids=[f"{s}-{z}{'-console' if c else ''}" for s, z, c in CASES],
)
def test_every_screen_at_every_size(snap_compare, screen, size, console):
    keys, tui = SCREENS[screen]
    app = demo_app(**tui, **({"console": True} if console else {}))
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_settle_with(keys))


#: the calibration screen's camera picture differs in its pixels' colours from run to run
#: (the synthetic camera's noise), so it is checked by layout below, not by snapshot
AGENT_CASES = [("m", size, False) for size in SIZES] + [("m", "80x24", True)]


@pytest.mark.parametrize(
    ("key", "size", "console"),
    AGENT_CASES,
    ids=[
        f"{'meter' if k == 'm' else 'calibration'}-{z}{'-console' if c else ''}"
        for k, z, c in AGENT_CASES
    ],
)
def test_meter_screens_at_every_size(snap_compare, tmp_path: Path, key, size, console):
    with DemoAgent(tmp_path, offset=(0, 0)) as agent:
        if key == "m":
            agent.service.capture_and_record()
        hub, _, _ = demo_hub()
        demo_meter_history(hub, end=hub.clock.now())
        cfg = demo_config(preview_refresh_s=0, preview="halfblock", console=console)
        cfg.meter.endpoint = agent.url
        cfg.meter.token = agent.token
        app = EnergyApp(cfg, hub)

        async def run_before(pilot) -> None:
            await pilot.pause()
            await pilot.press(key)
            for _ in range(60):
                await pilot.pause(0.1)
                screen = pilot.app.screen
                if getattr(screen, "ocr", None) is not None or getattr(screen, "rejected", None):
                    break
            await asyncio.sleep(0.3)
            await pilot.pause()

        assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)


@pytest.mark.parametrize(("size", "console"), [(z, False) for z in SIZES] + [("80x24", True)])
async def test_the_calibration_screen_fits_every_size(tmp_path: Path, size, console):
    """Picture, zoomed window, side panel, status and footer all get room."""
    with DemoAgent(tmp_path, offset=(48, 32)) as agent:
        hub, _, _ = demo_hub()
        cfg = demo_config(preview_refresh_s=0, preview="halfblock", console=console)
        cfg.meter.endpoint = agent.url
        cfg.meter.token = agent.token
        app = EnergyApp(cfg, hub)
        async with app.run_test(size=SIZES[size]) as pilot:
            await pilot.press("c")
            for _ in range(60):
                await pilot.pause(0.1)
                if getattr(app.screen, "ocr", None) is not None:
                    break
            for wid in ("#cal-frame", "#cal-zoom-view", "#cal-side", "#cal-status"):
                region = app.screen.query_one(wid).region
                assert region.width > 0 and region.height > 0, (wid, region)
                assert region.right <= SIZES[size][0] and region.bottom <= SIZES[size][1]
