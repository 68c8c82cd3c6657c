"""Console mode on every screen (issue 16): what reaches the Linux console must be in
the console fonts' glyph set (research/textual.md): ASCII, box lines, █ and ░.

It applied only to the dashboard: the other screens kept rounded corners and
``←↑↓→ ⏎ − × Δ — ▏``, which the console draws as diamonds."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from devkit.demo import demo_app, demo_config, demo_hub
from devkit.demo_agent import DemoAgent
from energytui.tui.app import EnergyApp
from energytui.tui.glyphs import CONSOLE_SAFE, ConsoleFilter, console_cells
from energytui.tui.screens.dialogs import InputDialog

TOKEN = "glyph-test-token"


def drawn(app) -> str:
    """Every character on the screen as the terminal receives it."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


def unsafe(text: str) -> set[str]:
    return {ch for ch in text if ch not in CONSOLE_SAFE and ch != "\n"}


@pytest.fixture
def agent(tmp_path):
    with DemoAgent(tmp_path, token=TOKEN, offset=(48, 32)) as a:
        yield a


async def _wait(pilot, done, tries: int = 100) -> None:
    for _ in range(tries):
        await pilot.pause(0.05)
        if done():
            return


async def test_every_screen_draws_only_console_glyphs_in_console_mode(agent):
    hub, _, _ = demo_hub()
    cfg = demo_config(console=True)
    cfg.meter.endpoint = agent.url
    cfg.meter.token = TOKEN
    app = EnergyApp(cfg, hub, serve_api=False)
    seen: dict[str, str] = {}

    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        app.refresh_view()
        await pilot.pause()
        seen["dashboard"] = drawn(app)
        await pilot.press("question_mark")
        await pilot.pause()
        seen["help"] = drawn(app)
        await pilot.press("escape")
        for key, name in (("v", "devices"), ("m", "meter"), ("y", "history")):
            await pilot.press(key)
            await pilot.pause(0.3)
            seen[name] = drawn(app)
            await pilot.press("question_mark")
            await pilot.pause()
            seen[f"{name} help"] = drawn(app)
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
        await pilot.press("c")
        screen = app.screen
        await _wait(pilot, lambda: getattr(screen, "ocr", None) is not None)
        seen["calibration"] = drawn(app)
        await pilot.press("escape")
        await pilot.pause()
        # a dialog (reserve and meter reading use this one) and the command palette
        app.push_screen(InputDialog("Backup reserve — 0…100 %, then ⏎:", name="x"))
        await pilot.pause()
        seen["dialog"] = drawn(app)
        await pilot.press("escape")
        await pilot.pause()
        from energytui.tui.screens.devices import ConfirmDialog, ModeDialog

        app.push_screen(ConfirmDialog("Set the backup reserve to 30 %?"))
        await pilot.pause()
        seen["confirm"] = drawn(app)
        await pilot.press("escape")
        await pilot.pause()
        app.push_screen(ModeDialog("self_consumption"))
        await pilot.pause()
        seen["mode dialog"] = drawn(app)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        seen["palette"] = drawn(app)
        await pilot.press("escape")
        await pilot.pause()

    kiosk = demo_app(kiosk=True, console=True)
    async with kiosk.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        kiosk.refresh_view()
        await pilot.pause()
        seen["kiosk"] = drawn(kiosk)

    assert "meter calibration" in seen["calibration"] and "Devices" in seen["devices"]
    bad = {name: "".join(sorted(unsafe(text))) for name, text in seen.items() if unsafe(text)}
    assert not bad, f"glyphs the Linux console lacks: {bad}"


def test_the_filter_keeps_cells_where_they_were():
    """One character for one: the layout of a line does not move."""
    from rich.cells import cell_len

    line = "╭─ Power ─╮ ← ↑ ↓ → ⏎ − × Δ — ▏ ▁▂▃ ● ° … · 🔎 search"
    out = console_cells(line)
    assert cell_len(out) == cell_len(line) and not unsafe(out)
    from rich.segment import Segment
    from textual.color import Color

    segs = ConsoleFilter().apply([Segment(line), Segment("plain")], Color(0, 0, 0))
    assert "".join(s.text for s in segs) == out + "plain"


async def test_unicode_mode_keeps_its_glyphs():
    app = demo_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        assert "╭" in drawn(app)
