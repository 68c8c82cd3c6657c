"""Kiosk: large type for a small screen across the room, no keyboard needed.

Shows the four flows and the battery in block figures that fill their tiles (readable
from a few metres on the Pi's display; half blocks on a terminal emulator, full blocks
on the Linux console), the mode in words, and the age of the data; the app cycles
between this and the dashboard, which shows no key footer in kiosk mode.
"""

from __future__ import annotations

from datetime import tzinfo

from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import Label, Static

from energytui.model import describe_battery, describe_grid
from energytui.tui.format import SOE_SCALE, age
from energytui.tui.screens.base import ViewScreen
from energytui.tui.widgets.banner import EventBanner
from energytui.tui.widgets.bigtext import BigText
from energytui.view import HubView


def _kw_digits(watts: float | None) -> str:
    """kW to a tenth, as the Tesla app shows it: fewer figures are larger ones across a
    room, and hundredths changed every second, drawing most of the screen again."""
    return "--.-" if watts is None else f"{abs(watts) / 1000:.1f}"


class KioskScreen(ViewScreen):
    DEFAULT_CSS = """
    KioskScreen { layout: vertical; }
    KioskScreen #kiosk-mode { height: 3; content-align: center middle; text-style: bold; background: $boost; }
    KioskScreen Grid { grid-size: 3 2; grid-gutter: 0 1; height: 1fr; }
    KioskScreen .tile { border: solid $primary; height: 100%; }
    KioskScreen .tile Label { width: 100%; height: 1; content-align: center middle; }
    KioskScreen .tile BigText { width: 100%; height: 1fr; text-style: bold; }
    KioskScreen #kiosk-status { height: 1; content-align: center middle; color: $text-muted; }
    KioskScreen.stale .tile { border: solid $error; }
    KioskScreen.stale .tile BigText, KioskScreen.stale .tile Label { color: #808080; }
    """

    TILES = (
        ("solar", "Solar kW"),
        ("home", "Home kW"),
        ("grid", "Grid kW"),
        ("battery", "Battery kW"),
        ("soe", f"Battery % · {SOE_SCALE}"),
        ("today", "Solar today kWh"),
    )

    def compose(self) -> ComposeResult:
        yield EventBanner(id="banner", kiosk=True)
        yield Static("", id="kiosk-mode")
        with Grid():
            for key, title in self.TILES:
                with Vertical(classes="tile", id=f"tile-{key}"):
                    # full blocks only on the Linux console (its font has no half blocks)
                    yield BigText(id=f"big-{key}", half_blocks=not self.app.console_mode)
                    yield Label(title, id=f"label-{key}")
        yield Static("", id="kiosk-status")

    def _set(self, key: str, value: str, caption: str) -> None:
        self.query_one(f"#big-{key}", BigText).show(value)
        _update(self.query_one(f"#label-{key}", Label), caption)

    def draw(self, view: HubView, old: HubView | None) -> None:
        self.query_one(EventBanner).show(
            view.events, self.app.config.zone, bell=self.app.config.tui.bell
        )
        s = view.power.sample
        live = view.power.live
        self.set_class(not live, "stale")
        if s is None:
            self.query_one("#kiosk-mode", Static).update("Waiting for the first reading")
            return
        if old is None or view.power != old.power or view.energy != old.energy:
            self._set("solar", _kw_digits(s.solar_w), "Solar kW")
            self._set("home", _kw_digits(s.load_w), "Home kW")
            self._set("grid", _kw_digits(s.grid_w), f"Grid kW · {describe_grid(s.grid_w)}")
            self._set(
                "battery", _kw_digits(s.battery_w), f"Battery kW · {describe_battery(s.battery_w)}"
            )
            self._set(
                "soe", "--" if s.soe_pct is None else f"{s.soe_pct:.0f}", f"Battery % · {SOE_SCALE}"
            )
            self._set("today", f"{view.energy.solar_kwh:.1f}", "Solar today kWh")
            prefix = "STALE — " if not live else ""
            _update(self.query_one("#kiosk-mode", Static), f"{prefix}{s.mode.label}")
        status = kiosk_status(view, self.app.config.zone)
        if old is None or status != kiosk_status(old, self.app.config.zone):
            self.query_one("#kiosk-status", Static).update(status)


def _update(widget: Static, text: str) -> None:
    """Update only with new words: Static.update lays the screen out again each time,
    and the six captions and the mode were updated every second with the same words."""
    if widget.content != text:
        widget.update(text)


def kiosk_status(view: HubView, zone: tzinfo) -> str:
    """The age of the power data, its error, and the time of day."""
    h = view.power_status
    status = f"data {age(view.age_s(h)) if h else 'never'}"
    if h and h.last_error:
        status += f" · {h.last_error}"
    return status + " · " + view.now.astimezone(zone).strftime("%H:%M")
