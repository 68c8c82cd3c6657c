"""The dashboard: power flow, battery, mode, sparklines, today's energy, source health."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.widgets import Footer, Header, Static

from energytui.model import PowerSample, SystemMode
from energytui.tui.format import age, kw
from energytui.tui.screens.base import ViewScreen
from energytui.tui.widgets.banner import EventBanner
from energytui.tui.widgets.battery import BatteryGauge
from energytui.tui.widgets.energy import EnergyPanel, energy_rows
from energytui.tui.widgets.flow import PowerFlow
from energytui.tui.widgets.health import HealthPanel, health_lines
from energytui.tui.widgets.sparks import SparkPanel
from energytui.view import HubView

MODE_STYLE = {
    SystemMode.SOLAR_CHARGING_BATTERY: "mode-good",
    SystemMode.EXPORTING_TO_GRID: "mode-good",
    SystemMode.SOLAR_POWERED: "mode-good",
    SystemMode.DRAWING_FROM_BATTERY: "mode-battery",
    SystemMode.GRID_POWERED: "mode-grid",
    SystemMode.GRID_CHARGING_BATTERY: "mode-grid",
    SystemMode.OFF_GRID: "mode-alert",
}


class ModeLine(Static):
    """The mode in words on one line of the screen's width (see :func:`mode_line`): it
    draws itself again when its width changes."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple[PowerSample | None, bool] | None = None

    def show(self, sample: PowerSample | None, live: bool) -> None:
        self._shown = (sample, live)
        self._draw()

    def on_resize(self) -> None:
        if self._shown is not None:
            self._draw()

    def _draw(self) -> None:
        assert self._shown is not None
        sample, live = self._shown
        if sample is None:
            self.update("Mode: waiting for data", layout=False)
            self.set_classes("")
            return
        # one line of fixed height and full width: no layout pass needed
        self.update(mode_line(sample, live, self.content_size.width), layout=False)
        self.set_classes("stale" if not live else MODE_STYLE.get(sample.mode, ""))


class DashboardScreen(ViewScreen):
    """The main screen: everything at a glance, at 80×24 and up."""

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="≡")
        yield ModeLine("", id="mode")
        yield EventBanner(id="banner")
        with Container(id="grid"):
            with Vertical(id="flow-box", classes="panel"):
                yield PowerFlow("", id="flow")
            with Vertical(id="battery-box", classes="panel"):
                yield BatteryGauge("", id="battery")
            with Vertical(id="spark-box", classes="panel"):
                yield SparkPanel(console=self.app.console_mode, id="sparks")
            with Vertical(id="energy-box", classes="panel"):
                yield EnergyPanel("", id="energy")
        yield HealthPanel("", id="health")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#flow-box").border_title = "Power flow"
        self.query_one("#battery-box").border_title = "Battery"
        self.query_one("#spark-box").border_title = f"Last {self.app.config.tui.spark_minutes} min"
        self.query_one("#energy-box").border_title = "Today"

    def draw(self, view: HubView, old: HubView | None) -> None:
        """Redraw the panels whose part of the view changed: at a 1 s poll interval most
        views move only the clock, and identical redraws are most of the cost."""
        app = self.app
        self.query_one(EventBanner).show(view.events, app.config.zone, bell=app.config.tui.bell)
        power = view.power
        moved = old is None or power != old.power
        note = stale_note(view)
        if moved or note != stale_note(old):
            self.query_one("#flow", PowerFlow).show(
                power.sample, live=power.live, glyphs=app.glyphs, stale_note=note
            )
        if moved:
            self.query_one("#battery", BatteryGauge).show(
                power.sample, capacity_kwh=app.battery_kwh, live=power.live, glyphs=app.glyphs
            )
            self.query_one("#mode", ModeLine).show(power.sample, power.live)
        if old is None or view.history != old.history:
            cutoff = view.now.timestamp() - app.config.tui.spark_minutes * 60
            recent = [s for s in view.history if s.ts.timestamp() >= cutoff]
            self.query_one("#sparks", SparkPanel).show(recent)
        if old is None or view.energy != old.energy:
            # the figures move by 0.1 kWh, minutes apart: draw the table only then
            rows = energy_rows(view.energy)
            if old is None or rows != energy_rows(old.energy):
                self.query_one("#energy", EnergyPanel).show(rows)
        lines = health_lines(view)
        shown = (lines, view.store.error, view.sinks)
        if old is None or shown != (health_lines(old), old.store.error, old.sinks):
            self.query_one("#health", HealthPanel).show(lines, view.store.error, view.sinks)
        self.sub_title = app.subtitle_text(view)


def stale_note(view: HubView | None) -> str:
    """Why the power flow is not live: the age of the last data and the last error."""
    if view is None or view.power.live or view.power_status is None:
        return ""
    h = view.power_status
    return f"(last data {age(view.age_s(h))})" + (f" {h.last_error}" if h.last_error else "")


def mode_line(sample: PowerSample, live: bool, width: int) -> str:
    """The mode, then the grid and the home's draw, then the shares: on a narrow
    terminal the shares go first (solar used on site, then self-powered), so the
    line is never cut in the middle of a figure. ``width`` 0 (not laid out yet): all."""
    head = f"{'STALE · ' if not live else ''}Mode: {sample.mode.label}"
    tail = f"   grid {sample.grid_status.value} · home {kw(sample.load_w)}"
    shares = []
    if sample.self_powered_pct is not None:
        shares.append(f"self-powered {sample.self_powered_pct:.0f} %")
    if sample.solar_self_consumption_pct is not None:
        shares.append(f"solar used on site {sample.solar_self_consumption_pct:.0f} %")
    while True:
        line = head + (f"   {' · '.join(shares)}" if shares else "") + tail
        if not shares or not width or len(line) <= width:
            return line
        shares.pop()
