"""Keys, footers and help pages across the screens (issue 16): one meaning per global
key, footers that keep whole keys in rank order at 80, 120 and 200 columns, and a help
page per screen that lists its keys and the global ones."""

from __future__ import annotations

import re

import pytest

from devkit.demo import demo_app, demo_config
from energytui.hub import Hub
from energytui.tui.app import EnergyApp
from energytui.tui.screens.help import HelpScreen
from energytui.tui.widgets.keyfooter import KeyFooter, footer_entries
from tests.hub_support import ScriptedSource, sample

#: the keys of the key map that mean one thing on every screen
GLOBAL_KEYS = {
    "q": "quit",
    "question_mark": "help",
    "r": "refresh",
    "v": "devices",
    "m": "meter",
    "c": "calibrate",
    "y": "history",
    "o": "toggle_outage",
}
SCREENS = {
    "dashboard": (),
    "devices": ("v",),
    "meter": ("m",),
    "calibrate": ("c",),
    "history": ("y",),
    "events": ("e",),
}


async def _open(pilot, keys) -> None:
    await pilot.pause()
    for key in keys:
        await pilot.press(key)
        await pilot.pause(0.1)


def bottom_line(app) -> str:
    """The screen's last row as drawn."""
    return str(app.screen.query_one(KeyFooter).render()).rstrip()


def split_footer(line: str, texts: set[str]) -> list[str]:
    """The footer's entries, left to right; fails when the line holds anything else
    (a key cut mid-word, a stray glyph)."""
    pattern = "|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True))
    parts = []
    rest = line.strip()
    while rest:
        m = re.match(rf"({pattern})(\s+|$)", rest)
        assert m, f"not a whole key at {rest!r} in {line!r}"
        parts.append(m.group(1))
        rest = rest[m.end() :]
    return parts


@pytest.mark.parametrize("width", [80, 120, 200])
@pytest.mark.parametrize("name", list(SCREENS))
async def test_footer_keeps_whole_keys_in_rank_order(name, width):
    """Textual's footer cut the last key mid-word at 80 columns and never showed `o`;
    on calibration `+ - d D . t f` were out of sight below 200 columns."""
    app = demo_app()
    async with app.run_test(size=(width, 30)) as pilot:
        await _open(pilot, SCREENS[name])
        screen = app.screen
        line = str(screen.query_one(KeyFooter).render())
        assert len(line) <= width
        entries = footer_entries(screen)
        by_text = {e.text: e for e in entries}
        shown = split_footer(line, set(by_text))
        ranks = [by_text[t].rank for t in shown]
        assert ranks == sorted(ranks)
        # whatever is dropped ranks below everything shown
        dropped = [e for e in entries if e.text not in shown]
        assert not dropped or min(e.rank for e in dropped) >= max(ranks)
        assert shown[:2] == ["? Help", "q Quit"]
        if name != "dashboard":
            assert any(by_text[t].action in ("app.pop_screen", "leave", "back") for t in shown)
        if width >= 120 and name == "dashboard":
            assert "o Outage" in shown  # the simulated site: its outage key is visible
        if width >= 200:  # every key of the screen's own (calibration's + - d D . t f)
            assert all(e.global_key for e in dropped), [e.text for e in dropped]


@pytest.mark.parametrize("name", list(SCREENS))
async def test_a_global_key_means_the_same_on_every_screen(name):
    """`r` was poll, reserve (a write), reload and rotate; `m` meter and mode."""
    app = demo_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await _open(pilot, SCREENS[name])
        active = app.screen.active_bindings
        for key, action in GLOBAL_KEYS.items():
            if key not in active:
                continue  # hidden here (o away from the simulated site)
            got = active[key].binding.action.removeprefix("app.")
            assert got == action, f"{key} means {got} on {name}, not {action}"


async def test_outage_key_shows_only_where_an_outage_can_be_simulated():
    app = demo_app()
    async with app.run_test(size=(200, 30)) as pilot:
        await pilot.pause()
        assert "o Outage" in bottom_line(app)
    hub = Hub([ScriptedSource(sample())])
    app = EnergyApp(demo_config(), hub, serve_api=False)
    async with app.run_test(size=(200, 30)) as pilot:
        await pilot.pause()
        assert "Outage" not in bottom_line(app)
        assert "o" not in app.screen.active_bindings


@pytest.mark.parametrize("name", list(SCREENS))
async def test_help_lists_the_screens_keys_and_the_global_ones(name):
    app = demo_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await _open(pilot, SCREENS[name])
        under = app.screen
        every = footer_entries(under, shown_only=False)
        own = [e for e in every if not e.global_key]
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen) and help_screen.about is under
        from energytui.tui.screens.help import help_text

        page = help_text(under)
        for entry in own:  # hidden keys too (history's 1-5)
            assert entry.description in page
        assert "Global keys" in page and "Quit" in page and "Help" in page
        for entry in every:  # the global keys the screen leaves global
            assert entry.description in page
        if name == "dashboard":
            for word in ("Poll now", "Devices", "Meter", "Calibrate", "History", "Outage"):
                assert word in page
        # the help page's own footer: closing, not quitting
        footer = bottom_line(app)
        assert "Close" in footer and "Quit" not in footer
        await pilot.press("q")
        await pilot.pause()
        assert app.screen is under and app.is_running


async def test_history_help_names_its_span_keys():
    app = demo_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await _open(pilot, ("y",))
        from energytui.tui.screens.help import help_text

        page = help_text(app.screen)
        for label in ("6 h", "24 h", "7 d", "30 d", "1 y", "Earlier", "Later"):
            assert label in page


async def test_escape_goes_back_and_is_hidden_on_the_first_screen():
    app = demo_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        first = app.screen
        assert "escape" not in first.active_bindings
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is not first
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is first


async def test_palette_screenshot_saves_a_file_and_says_where(tmp_path):
    """It said "Failed to save screenshot" and no path (Textual saves to a Downloads
    folder a Pi or a server lacks)."""
    from devkit.demo import demo_hub
    from energytui.config import load_config

    cfg = load_config(
        environ={"TIMEZONE": "Europe/Berlin"},
        overrides={"general": {"data_dir": str(tmp_path / "data")}},
    )
    hub, _, _ = demo_hub()
    app = EnergyApp(cfg, hub, serve_api=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Screenshot")
        await pilot.pause(0.3)
        await pilot.press("enter")
        folder = tmp_path / "data" / "screenshots"
        for _ in range(100):
            await pilot.pause(0.05)
            if folder.is_dir() and list(folder.glob("*.svg")):
                break
        files = list(folder.glob("*.svg"))
        assert len(files) == 1 and "<svg" in files[0].read_text()
        said = [n.message for n in app._notifications]
        assert any(str(files[0]) in m for m in said), said


async def test_palette_help_opens_the_help_of_the_screen_under_it():
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(pilot, ("y",))
        under = app.screen
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Help")
        await pilot.pause(0.3)
        await pilot.press("enter")
        for _ in range(40):
            await pilot.pause(0.05)
            if isinstance(app.screen, HelpScreen):
                break
        assert isinstance(app.screen, HelpScreen) and app.screen.about is under


async def test_screenshot_that_cannot_be_saved_says_where_and_why(tmp_path):
    from devkit.demo import demo_hub
    from energytui.config import load_config

    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    cfg = load_config(
        environ={"TIMEZONE": "Europe/Berlin"}, overrides={"general": {"data_dir": str(blocker)}}
    )
    hub, _, _ = demo_hub()
    app = EnergyApp(cfg, hub, serve_api=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.take_screenshot() is None
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert any(str(blocker / "screenshots") in m and "Error" not in m for m in said), said
