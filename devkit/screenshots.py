"""Regenerate screenshots/*.svg from the deterministic demo app: `make screenshots`.

The screens are the ones the snapshot tests pin, so the pictures in the repo
never drift from what the program draws.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from devkit.demo import demo_app
from energytui.tui.app import EnergyApp


async def settle(pilot, keys: tuple[str, ...] = ()) -> None:
    """The demo app drawn with fixed latencies (the same picture on every run), then
    ``keys`` pressed: what the pictures and the size snapshots both show."""
    app = pilot.app
    await pilot.pause()
    for h in app.hub.health.values():
        h.latency_ms = 3.0
    app.refresh_view()
    await pilot.pause()
    for key in keys:
        await pilot.press(key)
        await pilot.pause(0.2)


async def _shoot(
    out: Path, name: str, size: tuple[int, int], keys: tuple[str, ...] = (), **tui
) -> Path:
    app = demo_app(**tui)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, keys)
        path = out / f"{name}.svg"
        app.save_screenshot(str(path))
    return path


SHOTS: list[tuple[str, tuple[int, int], tuple[str, ...], dict]] = [
    ("dashboard-80x24", (80, 24), (), {}),
    ("dashboard-120x40", (120, 40), (), {}),
    ("dashboard-200x60", (200, 60), (), {}),
    ("dashboard-console", (80, 24), (), {"console": True}),
    ("kiosk", (80, 24), (), {"kiosk": True}),
    ("help", (80, 24), ("question_mark",), {}),
    ("devices", (100, 30), ("v",), {}),
    ("history", (120, 36), ("y",), {}),
    ("events", (100, 30), ("o", "e"), {}),
]


async def _shoot_with_agent(out: Path, name: str, key: str, offset: tuple[int, int]) -> Path:
    """Meter and calibration screens against a real meter_agent on a synthetic meter."""
    import tempfile

    from devkit.demo import demo_config, demo_hub
    from devkit.demo_agent import DemoAgent, demo_meter_history

    with tempfile.TemporaryDirectory() as tmp, DemoAgent(Path(tmp), offset=offset) as agent:
        if key == "m":
            await asyncio.to_thread(agent.service.capture_and_record)
            agent.source.advance(-30)  # the meter "goes backwards": the agent must refuse it
            await asyncio.to_thread(agent.service.capture_and_record)
        hub, _, _ = demo_hub()
        demo_meter_history(hub, end=hub.clock.now())
        cfg = demo_config(preview_refresh_s=0, preview="halfblock")  # the same on every terminal
        cfg.meter.endpoint = agent.url
        cfg.meter.token = agent.token
        app = EnergyApp(cfg, hub)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            await pilot.press(key)
            for _ in range(60):
                await pilot.pause(0.1)
                screen = app.screen
                if getattr(screen, "ocr", None) is not None or getattr(screen, "rejected", None):
                    break
            await pilot.pause(0.3)
            path = out / f"{name}.svg"
            app.save_screenshot(str(path))
    return path


async def main_async(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    made = [await _shoot(out, name, size, keys, **tui) for name, size, keys, tui in SHOTS]
    made.append(await _shoot_with_agent(out, "meter", "m", (0, 0)))
    made.append(await _shoot_with_agent(out, "calibration", "c", (48, 32)))
    return made


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "screenshots")
    for p in asyncio.run(main_async(out)):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
