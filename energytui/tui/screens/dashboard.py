"""The dashboard: power flow, battery, mode, sparklines, today's energy, source health."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from energytui.model import PowerSample, SystemMode
from energytui.tui.format import age, kw
from energytui.tui.widgets.battery import BatteryGauge
from energytui.tui.widgets.energy import EnergyPanel, energy_rows
from energytui.tui.widgets.flow import PowerFlow
from energytui.tui.widgets.health import HealthPanel
from energytui.tui.widgets.sparks import SparkPanel

MODE_STYLE = {
    SystemMode.SOLAR_CHARGING_BATTERY: "mode-good",
    SystemMode.EXPORTING_TO_GRID: "mode-good",
    SystemMode.SOLAR_POWERED: "mode-good",
    SystemMode.DRAWING_FROM_BATTERY: "mode-battery",
    SystemMode.GRID_POWERED: "mode-grid",
    SystemMode.GRID_CHARGING_BATTERY: "mode-grid",
    SystemMode.OFF_GRID: "mode-alert",
}


class DashboardScreen(Screen):
    """The main screen: everything at a glance, at 80×24 and up."""

    def __init__(self) -> None:
        super().__init__()
        self._last_keys: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="≡")
        yield Static("", id="mode")
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
        self.refresh_data()

    def _changed(self, name: str, key: object) -> bool:
        """True when ``key`` differs from what ``name`` last drew: identical redraws are
        skipped, which is most of the dashboard's cost at a 1 s poll interval."""
        if self._last_keys.get(name) == key:
            return False
        self._last_keys[name] = key
        return True

    def refresh_data(self) -> None:
        app = self.app
        hub = app.hub
        now = hub.clock.now()
        sample = hub.latest_power
        live = hub.power_is_live
        psrc = hub.power_source
        h = hub.health.get(psrc.name) if psrc else None
        note = ""
        if not live and h is not None:
            note = f"(last data {age(h.age_s(now))})" + (f" {h.last_error}" if h.last_error else "")
        if self._changed("flow", (sample, live, note)):
            self.query_one("#flow", PowerFlow).show(sample, live=live, glyphs=app.glyphs, stale_note=note)
        battery = self.query_one("#battery", BatteryGauge)
        if self._changed("battery", (sample, live, battery.content_size)):
            battery.show(sample, capacity_kwh=app.battery_kwh, live=live, glyphs=app.glyphs)
        if self._changed("samples", sample):
            cutoff = now.timestamp() - app.config.tui.spark_minutes * 60
            recent = [s for s in hub.state.history if s.ts.timestamp() >= cutoff]
            self.query_one("#sparks", SparkPanel).show(recent)
            rows = energy_rows(hub.energy)
            if self._changed("energy", rows):
                self.query_one("#energy", EnergyPanel).show(rows)
        health = list(hub.health.values())
        if self._changed("health", (tuple(_health_key(x, now) for x in health), hub.store_error)):
            self.query_one("#health", HealthPanel).show(health, now, hub.store_error)
        self.sub_title = app.subtitle_text(now)
        mode = self.query_one("#mode", Static)
        width = mode.content_size.width
        if not self._changed("mode", (sample, live, width)):
            return
        if sample is None:
            mode.update("Mode: waiting for data", layout=False)
            mode.set_classes("")
            return
        # one line of fixed height and full width: no layout pass needed
        mode.update(mode_line(sample, live, width), layout=False)
        mode.set_classes("stale" if not live else MODE_STYLE.get(sample.mode, ""))


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


def _health_key(h, now) -> tuple:
    """What the health line shows; the age only matters once it is no longer fresh."""
    age_s = h.age_s(now)
    shown_age = None if age_s is None else (int(age_s) if age_s > 2 * h.interval_s else "fresh")
    latency = None if h.latency_ms is None else round(h.latency_ms, -1)
    return (h.name, h.state, h.last_error, shown_age, latency)
