"""The history screen: power flows and battery charge over a chosen span, from the store.

Keys ``1``–``5`` pick 6 h, 24 h, 7 d, 30 d or 1 y; ``[`` and ``]`` step one span back
or forward. Data comes from the store through the hub (on the store's own thread, in a
worker) as at most about twice the chart width of bucket means; without a store the
screen shows what the hub keeps in memory and says so. It redraws on key presses and on
a slow timer (15 s), never with the hub's views (one a second at least): a plot costs far
more than a sparkline (see research/textual.md).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Header, Static

from energytui.model import DailyEnergy, parse_iso
from energytui.tui.format import SOE_SCALE
from energytui.tui.screens.base import HubScreen
from energytui.tui.widgets.chart import CYAN, GREEN, RED, YELLOW, Chart, ChartSpec, Series
from energytui.tui.widgets.keyfooter import KeyFooter

RELOAD_S = 15.0


@dataclass(frozen=True)
class Span:
    key: str
    label: str
    length: timedelta


SPANS = (
    Span("1", "6 h", timedelta(hours=6)),
    Span("2", "24 h", timedelta(hours=24)),
    Span("3", "7 d", timedelta(days=7)),
    Span("4", "30 d", timedelta(days=30)),
    Span("5", "1 y", timedelta(days=365)),
)
DEFAULT_SPAN = 1  # 24 h

#: (record field, legend label in words, colour); Tesla signs, said in words in the legend
FLOWS = (
    ("solar_w", "solar", YELLOW),
    ("load_w", "home", CYAN),
    ("grid_w", "grid: import +, export −", RED),
    ("battery_w", "battery: discharge +, charge −", GREEN),
)


def spacing_s(times: list[float]) -> float | None:
    """The typical distance between readings (the median), in seconds."""
    if len(times) < 2:
        return None
    gaps = [b - a for a, b in zip(times, times[1:], strict=False) if b > a]
    return statistics.median(gaps) if gaps else None


def energy_totals(rows: list[dict], times: list[float], step_s: float | None) -> DailyEnergy | None:
    """Each row's mean power times the typical bucket length; missing buckets count
    nothing. Imports and exports that share a bucket cancel, hence "estimated". The
    energy-by-direction record of the dashboard's "today" serves a whole span too."""
    if step_s is None or not rows:
        return None
    hours = step_s / 3600.0

    def part(name: str, sign: float) -> float:
        total = 0.0
        for rec in rows:
            v = rec.get(name)
            if isinstance(v, (int, float)):
                total += max(0.0, sign * v)
        return total * hours / 1000.0

    return DailyEnergy(
        solar_kwh=part("solar_w", 1),
        home_kwh=part("load_w", 1),
        grid_import_kwh=part("grid_w", 1),
        grid_export_kwh=part("grid_w", -1),
        battery_charge_kwh=part("battery_w", -1),
        battery_discharge_kwh=part("battery_w", 1),
    )


def describe_step(step_s: float | None) -> str:
    if step_s is None:
        return "readings"
    if step_s <= 10:
        return "raw readings"
    minutes = step_s / 60
    if minutes < 90:
        return f"{minutes:.0f}-min means"
    hours = minutes / 60
    if hours < 23.5:
        return f"{hours:.0f}-h means"
    return f"{hours / 24:.0f}-day means"


def x_ticks(start: datetime, end: datetime, zone, span: Span) -> tuple[tuple[float, str], ...]:
    """Tick positions (seconds from ``start``) and labels in local time."""
    out: list[tuple[float, str]] = []
    length = span.length

    def add(at: datetime, fmt: str) -> None:
        if start <= at <= end:
            out.append(((at - start).total_seconds(), at.astimezone(zone).strftime(fmt)))

    if length <= timedelta(hours=24):
        every = 1 if length <= timedelta(hours=6) else 3
        t = start.replace(minute=0, second=0, microsecond=0)
        while t <= end:
            if t.astimezone(zone).hour % every == 0:
                add(t, "%H:%M")
            t += timedelta(hours=1)
        return tuple(out)
    first = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    if length <= timedelta(days=31):
        fmt = "%a %d" if length <= timedelta(days=7) else "%d %b"
        d = first
        while d <= last:
            add(datetime.combine(d, time(0), tzinfo=zone), fmt)
            d += timedelta(days=1)
        return tuple(out)
    d = date(first.year, first.month, 1)
    while d <= last:
        add(datetime.combine(d, time(0), tzinfo=zone), "%b %Y" if d.month == 1 else "%b")
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return tuple(out)


class HistoryScreen(HubScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("1", "span(0)", "6 h", show=False),
        Binding("2", "span(1)", "24 h", show=False),
        Binding("3", "span(2)", "7 d", show=False),
        Binding("4", "span(3)", "30 d", show=False),
        Binding("5", "span(4)", "1 y", show=False),
        Binding("left_square_bracket", "step(1)", "Earlier", key_display="["),
        Binding("right_square_bracket", "step(-1)", "Later", key_display="]"),
    ]

    DEFAULT_CSS = """
    HistoryScreen #history-spans { height: 1; padding: 0 1; background: $boost; }
    HistoryScreen .history-box { border: round $primary; padding: 0 1; }
    HistoryScreen .history-box.console-box { border: solid $primary; }
    HistoryScreen #history-power { height: 2fr; }
    HistoryScreen #history-soe { height: 1fr; min-height: 7; }
    HistoryScreen #history-totals { height: auto; padding: 0 1; }
    HistoryScreen #history-status { height: auto; padding: 0 1; color: $warning; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.span_index = DEFAULT_SPAN
        self.back = 0  # how many whole spans before now the window ends
        self.window: tuple[datetime, datetime] | None = None
        self.origin = ""  # "store" or "memory", once loaded
        self.rows: list[dict] = []
        self.totals: DailyEnergy | None = None
        self.message = ""
        self.loads = 0
        self._detail = ""  # what the span line says after the keys

    @property
    def span(self) -> Span:
        return SPANS[self.span_index]

    def compose(self) -> ComposeResult:
        console = self.app.console_mode
        yield Header(show_clock=False, icon="≡")
        yield Static("", id="history-spans")
        # round corners map to square ones on the Linux console fonts: say solid there
        box = "history-box console-box" if console else "history-box"
        with Vertical(id="history-power", classes=box):
            yield Chart(console=console, id="power-chart")
        with Vertical(id="history-soe", classes=box):
            yield Chart(console=console, id="soe-chart")
        yield Static("", id="history-totals")
        yield Static("", id="history-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "history"
        self.query_one("#history-power").border_title = "Power, kW"
        self.query_one("#history-soe").border_title = "Battery charge, %"
        self._show_spans()
        self.set_interval(RELOAD_S, self._reload_if_live)
        self.load()

    # -- keys ----------------------------------------------------------------------
    def action_span(self, index: int) -> None:
        if index == self.span_index:
            return
        self.span_index = index
        self.back = 0
        self._show_spans()
        self.load()

    def action_step(self, spans: int) -> None:
        back = max(0, self.back + spans)
        if back == self.back:
            if spans < 0:
                self.notify("This span already ends now.", timeout=2)
            return
        self.back = back
        self._show_spans()
        self.load()

    def _reload_if_live(self) -> None:
        if self.back == 0:  # a window in the past does not change
            self.load()

    # -- data ----------------------------------------------------------------------
    def _window(self) -> tuple[datetime, datetime]:
        end = self.hub.clock.now() - self.back * self.span.length
        return end - self.span.length, end

    def _max_points(self) -> int:
        width = self.query_one("#power-chart", Chart).size.width
        return max(120, 2 * (width or 120))

    @work(exclusive=True, exit_on_error=False, group="history")
    async def load(self) -> None:
        start, end = self._window()
        rows: list[dict] = []
        origin = "memory"
        problem = ""
        if self.store is not None:
            try:
                got = await self.hub.query_store(
                    "power", start, end, resolution="auto", max_points=self._max_points()
                )
                rows = list(got or [])
                origin = "store"
            except Exception as exc:  # an unreadable store must not end the screen
                problem = f"Could not read the store ({exc}); showing what is in memory."
        if origin == "memory":
            view = self.app.view
            history = view.history if view is not None else ()
            rows = [s.to_record() for s in history if start <= s.ts <= end]
        self.loads += 1
        self._show(rows, start, end, origin, problem)

    def _show(
        self, rows: list[dict], start: datetime, end: datetime, origin: str, problem: str
    ) -> None:
        self.window = (start, end)
        self.origin = origin
        self.rows = rows
        times: list[float] = []
        kept: list[dict] = []
        for rec in rows:
            try:
                ts = parse_iso(rec["ts"]) if isinstance(rec["ts"], str) else rec["ts"]
            except (KeyError, TypeError, ValueError):
                continue
            times.append((ts - start).total_seconds())
            kept.append(rec)
        step = spacing_s(times)
        self.totals = energy_totals(kept, times, step)
        zone = self.hub.zone
        ticks = x_ticks(start, end, zone, self.span)
        x_lim = (0.0, self.span.length.total_seconds())
        fmt = "%d %b %H:%M" if self.span.length <= timedelta(days=1) else "%d %b %Y"
        when = f"{_local(start, zone, fmt)} – {_local(end, zone, fmt)}"
        empty = f"No data in this span ({when})."
        gap = None if step is None else 3 * step
        # the store stamps a bucket with its start: draw its mean at its middle
        shift = step / 2 if origin == "store" and step else 0.0

        def series(name: str, label: str, colour: int, scale: float) -> Series:
            xs: list[float] = []
            ys: list[float] = []
            for x, rec in zip(times, kept, strict=True):
                v = rec.get(name)
                if isinstance(v, (int, float)):
                    xs.append(x + shift)
                    ys.append(v * scale)
            return Series(label, tuple(xs), tuple(ys), colour)

        power = ChartSpec(
            series=tuple(series(n, label, c, 0.001) for n, label, c in FLOWS),
            x_lim=x_lim,
            x_ticks=ticks,
            gap=gap,
            zero_line=True,
            empty=empty,
        )
        soe = ChartSpec(
            series=(series("soe_pct", f"battery charge, {SOE_SCALE} %", GREEN, 1.0),),
            x_lim=x_lim,
            x_ticks=ticks,
            y_lim=(0.0, 100.0),
            y_unit=" %",
            gap=gap,
            empty=empty,
        )
        self.query_one("#power-chart", Chart).show(power)
        self.query_one("#soe-chart", Chart).show(soe)

        if origin == "memory":
            source = "in memory only (no store)"
        elif step is None:
            source = "from the store"
        else:
            source = f"from the store, {describe_step(step)}"
        self._show_spans(f"{when} · {source}")
        self.query_one("#history-totals", Static).update(self._totals_text(step))
        status = problem
        if not kept:
            status = status or empty
        elif origin == "memory" and not problem:
            covered = times[-1] - times[0]
            status = (
                f"No store is configured: the chart shows only the last "
                f"{_minutes(covered)} kept in memory."
            )
        self.message = status
        self.query_one("#history-status", Static).update(status)

    # -- text ----------------------------------------------------------------------
    def _show_spans(self, detail: str | None = None) -> None:
        if detail is not None:
            self._detail = detail
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, span in enumerate(SPANS):
            style = "reverse bold" if i == self.span_index else ""
            text.append(f" {span.key} {span.label} ", style=style)
            text.append(" ")
        text.append("[ ] step", style="dim")
        if self._detail:
            text.append("   " + self._detail)
        self.query_one("#history-spans", Static).update(text)

    def _totals_text(self, step: float | None) -> Text:
        t = self.totals
        text = Text()
        if t is None:
            return text
        text.append(f"Energy, kWh, estimated from {describe_step(step)}: ", style="dim")
        parts = (
            ("solar", t.solar_kwh),
            ("home", t.home_kwh),
            ("grid in", t.grid_import_kwh),
            ("out", t.grid_export_kwh),
            ("battery in", t.battery_charge_kwh),
            ("out", t.battery_discharge_kwh),
        )
        for i, (name, value) in enumerate(parts):
            if i:
                text.append(" · ", style="dim")
            text.append(f"{name} ")
            text.append(f"{value:.1f}", style="bold")
        return text


def _local(ts: datetime, zone, fmt: str) -> str:
    return ts.astimezone(zone).strftime(fmt)


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes / 60:.1f}".removesuffix(".0") + " h"
