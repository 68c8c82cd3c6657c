"""The dashboard: power flow, battery, mode, sparklines, today's energy, source health."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from energytui.model import SystemMode
from energytui.tui.format import age, kw
from energytui.tui.widgets.battery import BatteryGauge
from energytui.tui.widgets.energy import EnergyPanel
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

    def refresh_data(self) -> None:
        app = self.app
        hub = app.hub
        now = hub.clock.now()
        sample = hub.latest_power
        live = hub.power_is_live
        psrc = hub.power_source
        h = hub.health.get(psrc.name) if psrc else None
        note = f"(last data {age(h.age_s(now))})" if h else ""
        if h and h.last_error:
            note += f" {h.last_error}"
        self.query_one("#flow", PowerFlow).show(
            sample, live=live, glyphs=app.glyphs, stale_note=note
        )
        self.query_one("#battery", BatteryGauge).show(
            sample, capacity_kwh=app.battery_kwh, live=live, glyphs=app.glyphs
        )
        minutes = app.config.tui.spark_minutes
        cutoff = now.timestamp() - minutes * 60
        recent = [s for s in hub.state.history if s.ts.timestamp() >= cutoff]
        self.query_one("#sparks", SparkPanel).show(recent)
        self.query_one("#energy", EnergyPanel).show(hub.energy, sample)
        self.query_one("#health", HealthPanel).show(list(hub.health.values()), now, hub.store_error)
        mode = self.query_one("#mode", Static)
        if sample is None:
            mode.update("Mode: waiting for data")
            mode.set_classes("")
        else:
            extra = ""
            sp = sample.self_powered_pct
            if sp is not None:
                extra = f"   self-powered {sp:.0f} %"
            sc = sample.solar_self_consumption_pct
            if sc is not None:
                extra += f" · solar used on site {sc:.0f} %"
            prefix = "STALE · " if not live else ""
            mode.update(
                f"{prefix}Mode: {sample.mode.label}{extra}   grid {sample.grid_status.value} · home {kw(sample.load_w)}"
            )
            mode.set_classes("stale" if not live else MODE_STYLE.get(sample.mode, ""))
        self.sub_title = app.subtitle_text(now)
