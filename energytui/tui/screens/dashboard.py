"""The dashboard: power flow, battery and its last 24 h, mode, the trend of the last
minutes, today's energy, source health.

Every panel draws to its own size (the flow diagram and the charts grow with the
terminal), so 120×40 and 200×60 have no blank rows; colours come from the flow palette
of the theme shown (:mod:`energytui.tui.palette`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.widgets import Header

from energytui.model import PowerSample, SystemMode, parse_iso
from energytui.tui.format import age, kw
from energytui.tui.glyphs import console_words
from energytui.tui.palette import FlowColours, flow_colours
from energytui.tui.screens.base import ViewScreen
from energytui.tui.widgets.banner import EventBanner
from energytui.tui.widgets.battery import BatteryGauge
from energytui.tui.widgets.daybars import BARS as FLOW_ROWS
from energytui.tui.widgets.daybars import SoeDay, TodayBars
from energytui.tui.widgets.energy import EnergyPanel, energy_rows
from energytui.tui.widgets.flow import PowerFlow
from energytui.tui.widgets.health import HealthPanel, health_lines
from energytui.tui.widgets.keyfooter import KeyFooter
from energytui.tui.widgets.sized import LineStatic
from energytui.tui.widgets.trend import TrendData, TrendPanel
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


class ModeLine(LineStatic):
    """The mode in words on one line of the screen's width (see :func:`mode_line`): it
    draws itself again when its width changes, and not when its words did not."""

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
            self.show_text(Text("Mode: waiting for data"))
            self.set_classes("")
            return
        # one line of fixed height and full width: no layout pass needed
        self.show_text(Text(mode_line(sample, live, self.content_size.width)))
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
                yield SoeDay("", id="soe-day")
            with Vertical(id="spark-box", classes="panel"):
                yield TrendPanel("", id="sparks")
            with Vertical(id="energy-box", classes="panel"):
                yield TodayBars("", id="today-bars")
                yield EnergyPanel("", id="energy")
        yield HealthPanel("", id="health")
        if not self.app.kiosk:  # nobody types at a kiosk: its rows go to the panels
            yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#flow-box").border_title = "Power flow"
        self.query_one("#battery-box").border_title = "Battery"
        minutes = self.app.config.tui.spark_minutes
        self.query_one("#spark-box").border_title = f"Last {minutes} min · peaks"
        self.query_one("#energy-box").border_title = "Today"
        #: the battery's charge over the last 24 h from the store: (ts, %) oldest first
        self._soe_stored: list[tuple[datetime, float]] = []
        self._soe_loaded_at: datetime | None = None
        #: the trend's points, taken from each view as the samples arrive
        self._trend = TrendData()
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _theme_changed(self, _theme: str) -> None:
        """Every panel again in the new theme's flow colours, without waiting for data."""
        self._drawn = None
        self.take_view(self.app.view)

    @property
    def colours(self) -> FlowColours:
        """The flow palette of the theme on screen (light themes get darker hues)."""
        # by the theme's name: watchers of ``theme`` run before ``current_theme`` follows
        theme = self.app.available_themes.get(self.app.theme)
        return flow_colours(theme.dark if theme is not None else True)

    @work(exclusive=True, exit_on_error=False, group="soe-day")
    async def load_soe_day(self, now: datetime) -> None:
        """The last 24 h of charge from the store, off the UI loop (through the hub)."""
        self._soe_loaded_at = now
        try:
            rows = await self.hub.query_store(
                "power", now - timedelta(hours=24), now, resolution="auto", max_points=288
            )
        except Exception:  # an unreadable store leaves the in-memory part
            rows = None
        points = []
        for rec in rows or []:
            soe = rec.get("soe_pct")
            ts = rec.get("ts")
            if isinstance(soe, int | float) and isinstance(ts, str):
                try:
                    points.append((parse_iso(ts), float(soe)))
                except ValueError:
                    continue
        self._soe_stored = points
        view = self.app.view
        if view is not None:
            self._draw_soe_day(view)

    def _draw_soe_day(self, view: HubView) -> None:
        start, end = view.now - timedelta(hours=24), view.now
        last = self._soe_stored[-1][0] if self._soe_stored else start
        recent = [(s.ts, s.soe_pct) for s in view.history if s.soe_pct is not None and s.ts > last]
        sample = view.power.sample
        self.query_one("#soe-day", SoeDay).show(
            [*self._soe_stored, *recent],
            start,
            end,
            reserve_pct=None if sample is None else sample.reserve_pct,
            colour=self.colours.battery if view.power.live else self.colours.dim,
            dim=self.colours.dim,
            fine=not self.app.console_mode,
        )

    def on_resize(self) -> None:
        # the 24-h chart only where the battery panel has room under the gauge
        tall = self.size.height >= 32
        self.query_one("#soe-day").display = tall
        # today's energy as bars where there is room, the figures' table alone otherwise
        if self.query_one("#today-bars").display != tall:
            self.query_one("#today-bars").display = tall
            self._drawn = None  # the table's rows change with it
            self.take_view(self.app.view)

    def draw(self, view: HubView, old: HubView | None) -> None:
        """Redraw the panels whose part of the view changed: at a 1 s poll interval most
        views move only the clock, and identical redraws are most of the cost."""
        app = self.app
        self.query_one(EventBanner).show(view.events, app.config.zone, bell=app.config.tui.bell)
        power = view.power
        moved = old is None or power != old.power
        note = stale_note(view)
        colours = self.colours
        phase = int(view.now.timestamp())  # whole seconds: the arrowheads' step
        old_phase = None if old is None else int(old.now.timestamp())
        if moved or note != stale_note(old) or phase != old_phase:
            # the arrowheads step once a second, the way the energy flows
            self.query_one("#flow", PowerFlow).show(
                power.sample,
                live=power.live,
                glyphs=app.glyphs,
                stale_note=note,
                phase=phase,
                colours=colours,
            )
        if moved:
            self.query_one("#battery", BatteryGauge).show(
                power.sample, capacity_kwh=app.battery_kwh, live=power.live, glyphs=app.glyphs
            )
            self.query_one("#mode", ModeLine).show(power.sample, power.live)
        if old is None or view.history != old.history or power.live != old.power.live:
            end = view.now
            start = end - timedelta(minutes=app.config.tui.spark_minutes)
            self._trend.update(view.history, start)
            self.query_one("#sparks", TrendPanel).show(
                self._trend,
                start,
                end,
                colours=colours,
                fine=not app.console_mode,
                live=power.live,
            )
        if self._soe_loaded_at is None or view.now - self._soe_loaded_at > timedelta(minutes=5):
            self.load_soe_day(view.now)
        elif (
            old is None
            or power.live != old.power.live
            or view.now.timestamp() // 60 != old.now.timestamp() // 60
        ):
            # a column of the 24-h chart is minutes wide: once a minute is enough
            self._draw_soe_day(view)
        if old is None or view.energy != old.energy or power.live != old.power.live:
            # the figures move by 0.1 kWh, minutes apart: draw the table only then
            rows = energy_rows(view.energy)
            if old is None or rows != energy_rows(old.energy) or power.live != old.power.live:
                bars = self.query_one("#today-bars", TodayBars)
                if bars.display:  # the six flows as bars, the shares and cost below
                    bars.show(
                        view.energy, colours=colours, fine=not app.console_mode, live=power.live
                    )
                    rows = rows[len(FLOW_ROWS) :]
                if app.console_mode:  # "counters (diff +0.02)", not a lookalike of Δ
                    rows = [(label, console_words(value)) for label, value in rows]
                self.query_one("#energy", EnergyPanel).show(rows, live=power.live)
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
