"""Regenerate screenshots/*.svg from the deterministic demo app: `make screenshots`.

The screens are the ones the snapshot tests pin, so the pictures in the repo
never drift from what the program draws.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path

from energytui.tui.demo import demo_app


async def _shoot(
    out: Path, name: str, size: tuple[int, int], keys: tuple[str, ...] = (), **tui
) -> Path:
    app = demo_app(**tui)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for h in app.hub.health.values():
            h.latency_ms = 3.0
        app._refresh_screen()
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.2)
        path = out / f"{name}.svg"
        app.save_screenshot(str(path))
    return path


SHOTS: list[tuple[str, tuple[int, int], tuple[str, ...], dict]] = [
    ("dashboard-80x24", (80, 24), (), {}),
    ("dashboard-120x40", (120, 40), (), {}),
    ("dashboard-console", (80, 24), (), {"console": True}),
    ("help", (80, 24), ("question_mark",), {}),
    ("devices", (100, 30), ("v",), {}),
    ("meter", (100, 30), ("m",), {}),
]


async def main_async(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for name, size, keys, tui in SHOTS:
        module = {
            "devices": "energytui.tui.screens.devices",
            "meter": "energytui.tui.screens.meter",
        }.get(name)
        if module:
            try:
                importlib.import_module(module)
            except ImportError:
                continue
        made.append(await _shoot(out, name, size, keys, **tui))
    return made


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "screenshots")
    for p in asyncio.run(main_async(out)):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
