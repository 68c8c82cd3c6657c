"""The theme chosen on screen is kept, and the flows keep readable colours on it
(issue 15: a light theme put yellow on cream; the chosen theme was not kept)."""

from __future__ import annotations

import pytest
from textual.geometry import Region

from devkit.demo import demo_config, demo_hub
from energytui.tui import prefs
from energytui.tui.app import EnergyApp
from energytui.tui.palette import DARK, LIGHT


def _colours(widget) -> set[str]:
    width, height = widget.size
    out = set()
    for strip in widget.render_lines(Region(0, 0, width, height)):
        for seg in strip:
            if seg.text.strip() and seg.style is not None and seg.style.color is not None:
                r, g, b = seg.style.color.get_truecolor()[:3]
                out.add(f"#{r:02x}{g:02x}{b:02x}")
    return out


async def test_the_chosen_theme_is_kept_for_the_next_start(tmp_path):
    hub, _, _ = demo_hub()
    app = EnergyApp(demo_config(), hub, serve_api=False, prefs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.theme = "textual-light"
        await pilot.pause()
    assert prefs.load(tmp_path).theme == "textual-light"
    hub, _, _ = demo_hub()
    again = EnergyApp(demo_config(), hub, serve_api=False, prefs_dir=tmp_path)
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert again.theme == "textual-light"


async def test_an_unreadable_prefs_file_is_no_choice(tmp_path):
    (tmp_path / prefs.FILE_NAME).write_text("{not json")
    hub, _, _ = demo_hub()
    app = EnergyApp(demo_config(), hub, serve_api=False, prefs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.theme == "textual-dark"


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])  # the full and the compact diagram
async def test_a_light_theme_draws_the_flows_in_their_light_colours(tmp_path, size):
    hub, _, _ = demo_hub()
    app = EnergyApp(demo_config(), hub, serve_api=False)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        app.refresh_view()
        await pilot.pause()
        dark = _colours(app.screen.query_one("#flow"))
        assert DARK.solar in dark and LIGHT.solar not in dark
        app.theme = "textual-light"
        await pilot.pause()
        await pilot.pause()
        light = _colours(app.screen.query_one("#flow"))
        assert LIGHT.solar in light and DARK.solar not in light
