"""The events screen and the event banner, driven by the simulated site's outage key:
Pilot interactions and SVG snapshots."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from textual.geometry import Region
from textual.widgets import Static

from devkit.demo import DEMO_START, demo_app, demo_config, demo_hub
from energytui.events import Event, Kind, Severity
from energytui.tui import app as app_module
from energytui.tui.app import EnergyApp
from energytui.tui.screens.events import EventsScreen
from energytui.tui.screens.kiosk import KioskScreen
from energytui.tui.widgets.banner import EventBanner


async def _until(pilot, clock, pred, what: str, step_s: float = 2.0) -> None:
    """Step the demo clock (the hub polls every 0.05 s) until ``pred()``."""
    for _ in range(300):
        clock.advance(step_s)
        await pilot.pause(0.03)
        if pred():
            return
    raise AssertionError(f"not seen in time: {what}")


def _rows(app: EnergyApp) -> list[str]:
    """The events list as text, one line per event (wide enough that none wraps)."""
    out = Console(width=200, file=io.StringIO(), color_system=None)
    out.print(app.screen.query_one("#events-table", Static).content)
    lines = out.file.getvalue().splitlines()  # type: ignore[attr-defined]
    return [line for line in lines[1:] if line.strip()]


def _banner(app: EnergyApp) -> EventBanner:
    return app.screen.query_one(EventBanner)


def _shown(app: EnergyApp) -> bool:
    b = _banner(app)
    return b.display and b.has_class("shown")


async def test_an_outage_raises_a_banner_that_stays_until_acknowledged():
    hub, _, clock = demo_hub(interval_s=0.05)
    app = EnergyApp(demo_config(), hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert not _shown(app)
        await pilot.press("o")
        await _until(pilot, clock, lambda: _shown(app), "the banner")
        text = str(_banner(app).render())
        assert "The grid is down" in text and "a: acknowledge" in text
        assert _banner(app).has_class("alarm")
        await pilot.press("o")  # the grid comes back: the outage stays on screen
        await _until(
            pilot, clock, lambda: any(e.kind is Kind.GRID_UP for e in hub.events.recent), "up"
        )
        for _ in range(10):
            clock.advance(30)
            await pilot.pause(0.03)
        assert _shown(app) and "The grid is down" in str(_banner(app).render())
        await pilot.press("a")
        await pilot.pause()
        assert not _shown(app)
        assert hub.view.events.unseen == ()


async def test_the_events_screen_lists_newest_first_and_opening_it_is_seeing_it():
    hub, _, clock = demo_hub(interval_s=0.05)
    app = EnergyApp(demo_config(), hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("o")
        await _until(pilot, clock, lambda: _shown(app), "the banner")
        await pilot.press("o")
        await _until(
            pilot, clock, lambda: any(e.kind is Kind.GRID_UP for e in hub.events.recent), "up"
        )
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, EventsScreen)
        rows = _rows(app)
        assert [r[:3] for r in rows] == ["new", "new"]  # new when the screen opened
        assert "info" in rows[0] and "The grid is back" in rows[0]
        assert "alarm" in rows[1] and "The grid is down" in rows[1]
        assert "2 new" in str(app.screen.query_one("#events-summary").render())
        assert hub.view.events.unseen == ()  # opening it counted as seeing them
        await pilot.press("a")
        await pilot.pause()
        assert [r[:3] for r in _rows(app)] == ["   ", "   "]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, EventsScreen)
        assert not _shown(app)


async def test_the_empty_events_summary_wraps_at_80_columns_instead_of_being_cut():
    """Found in tmux at 80×24: the one-line summary lost its last word ("here.")."""
    hub, _, _ = demo_hub(interval_s=0.05)
    app = EnergyApp(demo_config(), hub)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        summary = app.screen.query_one("#events-summary", Static)
        shown = " ".join(
            strip.text.strip()
            for strip in summary.render_lines(Region(0, 0, summary.size.width, summary.size.height))
        )
        assert shown.endswith("failing sources show here."), shown


async def test_the_kiosk_shows_the_banner_large_and_a_takes_it_away():
    hub, _, clock = demo_hub(interval_s=0.05)
    app = EnergyApp(demo_config(kiosk=True, kiosk_cycle_s=3600), hub)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, KioskScreen)
        await pilot.press("o")
        # shown is a class the next layout pass sizes: on a busy machine the test looked
        # before it ran (height 0, one CI run in several)
        await _until(
            pilot,
            clock,
            lambda: _shown(app) and _banner(app).region.height > 0,
            "the kiosk banner, laid out",
        )
        banner = _banner(app)
        assert banner.has_class("kiosk") and banner.region.height == 5
        assert banner.region.width == 80
        await pilot.press("a")
        await pilot.pause()
        assert not _shown(app)


class _BellApp(EnergyApp):
    """Counts the bells it rings (the real bell writes to the terminal)."""

    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))
    rung = 0

    def bell(self) -> None:
        self.rung += 1
        super().bell()


async def test_the_bell_rings_once_per_new_banner_only_when_asked():
    for bell, expected in ((False, 0), (True, 1)):
        hub, _, clock = demo_hub(interval_s=0.05)
        app = _BellApp(demo_config(bell=bell), hub)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("o")
            await _until(pilot, clock, lambda: _shown(app), "the banner")  # noqa: B023
            for _ in range(10):
                clock.advance(5)
                await pilot.pause(0.03)
        assert app.rung == expected


async def test_the_kiosk_rings_once_for_an_event_across_its_screen_changes():
    """The kiosk switches between its two screens, each with a banner of its own."""
    from energytui.tui.screens.dashboard import DashboardScreen

    hub, _, clock = demo_hub(interval_s=0.05)
    app = _BellApp(demo_config(kiosk=True, kiosk_cycle_s=2, bell=True), hub)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("o")
        await _until(pilot, clock, lambda: _shown(app), "the kiosk banner")
        for _ in range(80):
            await pilot.pause(0.1)
            if isinstance(app.screen, DashboardScreen) and _shown(app):
                break
        assert isinstance(app.screen, DashboardScreen) and _shown(app)
        assert app.rung == 1
        await pilot.pause(0.3)  # let the dashboard's header finish mounting before the exit


# -- snapshots ---------------------------------------------------------------------------
def _events(app: EnergyApp) -> None:
    """Three events of the demo morning, at fixed times."""
    at = DEMO_START - timedelta(minutes=40)
    app.hub.events.number(
        [
            Event(
                at,
                Kind.GRID_DOWN,
                Severity.ALARM,
                "The grid is down: the battery and solar carry the house (battery at 61 %).",
            ),
            Event(
                at + timedelta(minutes=12),
                Kind.GRID_UP,
                Severity.INFO,
                "The grid is back after 12 min (battery at 58 %).",
            ),
            Event(
                at + timedelta(minutes=30),
                Kind.SOURCE_FAILED,
                Severity.WARNING,
                "Source meter is failing: The meter agent did not answer within 5 s.",
                "meter",
            ),
        ]
    )


async def _with_events(pilot) -> None:
    await pilot.pause()
    for h in pilot.app.hub.health.values():
        h.latency_ms = 3.0
    _events(pilot.app)
    pilot.app.refresh_view()
    await pilot.pause()


def test_dashboard_with_banner(snap_compare):
    assert snap_compare(demo_app(), terminal_size=(80, 24), run_before=_with_events)


def test_kiosk_with_banner_console(snap_compare):
    assert snap_compare(
        demo_app(kiosk=True, console=True), terminal_size=(80, 24), run_before=_with_events
    )


def test_events_screen(snap_compare):
    async def run_before(pilot):
        await _with_events(pilot)
        await pilot.press("e")
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=(80, 24), run_before=run_before)


def test_events_screen_console(snap_compare):
    async def run_before(pilot):
        await _with_events(pilot)
        await pilot.press("e")
        await pilot.pause()

    assert snap_compare(demo_app(console=True), terminal_size=(80, 24), run_before=run_before)
