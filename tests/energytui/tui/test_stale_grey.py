"""Stale data greys every figure (issue 16): the battery's text and its countdown, the
sparklines' values, today's energy, the kiosk's digits; not only the power flow."""

from __future__ import annotations

import pytest
from textual.geometry import Region

from devkit.demo import demo_config, demo_hub
from energytui.tui.app import EnergyApp
from energytui.tui.format import STALE

GREY = tuple(int(STALE[i : i + 2], 16) for i in (1, 3, 5))


def figures(widget) -> list[tuple[str, tuple | None]]:
    """Each drawn run of text holding a digit, with its foreground colour."""
    width, height = widget.size
    out = []
    for strip in widget.render_lines(Region(0, 0, width, height)):
        for seg in strip:
            if any(ch.isdigit() for ch in seg.text) and seg.style is not None:
                colour = seg.style.color
                out.append((seg.text, None if colour is None else colour.get_truecolor()[:3]))
    return out


def not_grey(widget) -> list[tuple[str, tuple | None]]:
    return [(text, c) for text, c in figures(widget) if c != GREY]


def blocks(widget) -> list[tuple[str, tuple | None]]:
    """Each drawn run of block letters (the kiosk's figures), with its colour."""
    width, height = widget.size
    out = []
    for strip in widget.render_lines(Region(0, 0, width, height)):
        for seg in strip:
            if any(ch in "█▀▄" for ch in seg.text) and seg.style is not None:
                colour = seg.style.color
                out.append((seg.text, None if colour is None else colour.get_truecolor()[:3]))
    return out


async def _stale(pilot, app, src, clock) -> None:
    """Make the only power source fail until its data is stale."""
    src.fail_with = "the simulated gateway is unplugged."
    app.hub.poll_now()
    for _ in range(100):
        clock.advance(1)
        await pilot.pause(0.03)
        if app.hub.health["simulated"].consecutive_errors and not app.hub.power_is_live:
            break
    clock.advance(120)
    app.refresh_view()
    await pilot.pause()
    await pilot.pause()
    assert not app.view.power.live


DASHBOARD_VALUES = (
    "#battery",  # charge, power, countdown, reserve
    "#energy",
    "#sparks",  # the trend's values beside each row
)


@pytest.mark.parametrize("console", [False, True])
async def test_stale_dashboard_greys_every_figure(console):
    hub, src, clock = demo_hub(interval_s=0.05)
    app = EnergyApp(demo_config(console=console), hub, serve_api=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.refresh_view()
        await pilot.pause()
        screen = app.screen
        live = {wid: figures(screen.query_one(wid)) for wid in DASHBOARD_VALUES}
        assert all(live.values()), live
        assert any(not_grey(screen.query_one(wid)) for wid in DASHBOARD_VALUES)
        battery = str(screen.query_one("#battery").render())
        assert "full in" in battery or "reserve in" in battery  # the countdown is there
        await _stale(pilot, app, src, clock)
        for wid in DASHBOARD_VALUES:
            widget = screen.query_one(wid)
            assert figures(widget), wid
            assert not not_grey(widget), (wid, not_grey(widget))


async def test_stale_kiosk_greys_its_digits():
    hub, src, clock = demo_hub(interval_s=0.05)
    app = EnergyApp(demo_config(kiosk=True, console=True), hub, serve_api=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.refresh_view()
        await pilot.pause()
        await _stale(pilot, app, src, clock)
        for key in ("solar", "home", "grid", "battery", "soe", "today"):
            widget = app.screen.query_one(f"#big-{key}")
            drawn = blocks(widget)
            assert drawn, key
            assert all(c == GREY for _, c in drawn), (key, drawn)
