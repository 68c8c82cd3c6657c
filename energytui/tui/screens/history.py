"""The history screen: power flows, battery charge and energy bars over a chosen span.

Keys ``1``–``5`` pick 6 h, 24 h, 7 d, 30 d or 1 y; ``[`` and ``]`` step one span back
or forward; ``x`` writes the span's energy (and cost, with a tariff) as CSV to
``<data dir>/exports/``. Data comes from the store through the hub (on the store's own
thread, in a worker) as at most about twice the chart width of bucket means; without a
store the screen shows what the hub keeps in memory and says so. Energy is summed from
15-minute slots (:mod:`energytui.energy`), so every span agrees with every other. It
redraws on key presses and on a slow timer (15 s), never with the hub's views (one a
second at least): a plot costs far more than a sparkline (see research/textual.md).
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Header, Static

from energytui.energy import (
    SpanEnergy,
    reading_spacing_s,
    slot_cache_for,
    slots_between,
    summarise,
    to_csv,
)
from energytui.model import DailyEnergy, parse_iso
from energytui.tariff import Tariff
from energytui.tui.format import SOE_SCALE
from energytui.tui.palette import flow_colours
from energytui.tui.screens.base import HubScreen
from energytui.tui.widgets.chart import BLUE, GREEN, MAGENTA, YELLOW, Chart, ChartSpec, Series
from energytui.tui.widgets.energy import energy_bars
from energytui.tui.widgets.keyfooter import KeyFooter

RELOAD_S = 15.0


@dataclass(frozen=True)
class Span:
    key: str
    label: str
    length: timedelta
    bars: str  # the energy bars' period: hour, day or month
    export: str  # the CSV rows' period

    @property
    def slug(self) -> str:
        return self.label.replace(" ", "")


SPANS = (
    Span("1", "6 h", timedelta(hours=6), "hour", "slot"),
    Span("2", "24 h", timedelta(hours=24), "hour", "hour"),
    Span("3", "7 d", timedelta(days=7), "day", "hour"),
    Span("4", "30 d", timedelta(days=30), "day", "day"),
    Span("5", "1 y", timedelta(days=365), "month", "day"),
)
DEFAULT_SPAN = 1  # 24 h
#: the rows (border included) the power chart, the battery chart and the energy table need
#: to be of use: a chart 9 (a plot of 6 rows; :class:`Chart` draws from 5), the table
#: its head and a line
BOX_ROWS = (9, 9, 4)
BOX_IDS = ("#history-power", "#history-soe", "#history-energy")

#: (record field, legend label in words, colour); Tesla signs, said in words in the legend,
#: short enough that the legend's line holds all four in a box at 80 columns (76)
FLOWS = (
    ("solar_w", "solar", YELLOW),
    ("load_w", "home", BLUE),
    ("grid_w", "grid: +import −export", MAGENTA),
    ("battery_w", "battery: +discharge −charge", GREEN),
)


def spacing_s(times: list[float]) -> float | None:
    """The typical distance between readings (the median), in seconds."""
    if len(times) < 2:
        return None
    gaps = [b - a for a, b in zip(times, times[1:], strict=False) if b > a]
    return statistics.median(gaps) if gaps else None


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
        Binding("x", "export", "Export CSV"),
    ]

    DEFAULT_CSS = """
    HistoryScreen #history-spans { height: 1; padding: 0 1; background: $boost; }
    HistoryScreen .history-box { border: round $primary; padding: 0 1; }
    HistoryScreen .history-box.console-box { border: solid $primary; }
    HistoryScreen #history-boxes { height: 1fr; }
    HistoryScreen #history-power { height: 2fr; }
    HistoryScreen #history-soe { height: 1fr; }
    HistoryScreen #history-energy { height: 1fr; scrollbar-size-vertical: 1; }
    HistoryScreen #history-bars { height: auto; }
    HistoryScreen #history-totals { height: auto; padding: 0 1; }
    HistoryScreen #history-status { height: auto; padding: 0 1; color: $warning; display: none; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.span_index = DEFAULT_SPAN
        self.back = 0  # how many whole spans before now the window ends
        self.window: tuple[datetime, datetime] | None = None
        self.origin = ""  # "store" or "memory", once loaded
        self.rows: list[dict] = []
        self.totals: DailyEnergy | None = None
        self.energy: SpanEnergy | None = None
        self.last_export: Path | None = None
        self._slots: dict[int, DailyEnergy] = {}
        self.message = ""
        self.loads = 0
        #: what the span line says after the keys: the period shown, and its source
        self._detail: tuple[str, str] = ("", "")

    @property
    def span(self) -> Span:
        return SPANS[self.span_index]

    def compose(self) -> ComposeResult:
        console = self.app.console_mode
        yield Header(show_clock=False, icon="≡")
        yield Static("", id="history-spans")
        # round corners map to square ones on the Linux console fonts: say solid there
        box = "history-box console-box" if console else "history-box"
        with Vertical(id="history-boxes"):
            with Vertical(id="history-power", classes=box):
                yield Chart(console=console, id="power-chart")
            with Vertical(id="history-soe", classes=box):
                yield Chart(console=console, id="soe-chart")
            with VerticalScroll(id="history-energy", classes=box):
                yield Static("", id="history-bars")
        yield Static("", id="history-totals")
        yield Static("", id="history-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "history"
        self.query_one("#history-power").border_title = "Power, kW"
        self.query_one("#history-soe").border_title = "Battery charge, %"
        self.query_one("#history-energy").border_title = "Energy, kWh"
        for box, rows in zip(BOX_IDS, BOX_ROWS, strict=True):
            self.query_one(box).styles.min_height = rows
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

    def action_export(self) -> None:
        """Write the span's energy as CSV into ``<data dir>/exports/`` and say where."""
        if self.energy is None or self.window is None:
            self.notify("Nothing to export yet: the span is still loading.", timeout=3)
            return
        e = summarise(
            self._slots,
            self.energy.start,
            self.energy.end,
            self.hub.zone,
            self.span.export,
            self._tariff,
        )
        start, end = self.window
        zone = self.hub.zone
        name = (
            f"energytui-{self.span.slug}-{start.astimezone(zone):%Y%m%d-%H%M}"
            f"-{end.astimezone(zone):%Y%m%d-%H%M}.csv"
        )
        folder = self.app.config.data_dir / "exports"
        path = folder / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(to_csv(e), encoding="utf-8")
        except OSError as exc:
            why = exc.strerror or str(exc)
            self.notify(f"Could not write {path}: {why}.", severity="error", timeout=8)
            return
        self.last_export = path
        self.notify(
            f"Exported {len(e.periods)} row{'' if len(e.periods) == 1 else 's'} "
            f"({self.span.label}, per {self.span.export}) to {path}",
            title="CSV written (data dir)",
            timeout=8,
        )

    @property
    def _tariff(self) -> Tariff | None:
        return Tariff.from_config(self.app.config.tariff)

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
        view = self.app.view
        memory = view.history if view is not None and origin == "memory" else ()
        if origin == "memory":
            rows = [s.to_record() for s in memory if start <= s.ts <= end]
        spacing = reading_spacing_s(
            getattr(self.hub.power_source, "interval_s", None), self.hub.clock
        )
        try:
            self._slots, _ = await slots_between(
                self.hub.query_store if origin == "store" else None,
                start,
                end,
                interval_s=spacing,
                memory=[s.to_record() for s in memory],
                cache=slot_cache_for(self.store),
                now=self.hub.clock.now(),
            )
        except Exception as exc:  # energy is a part of the screen, not a reason to end it
            problem = problem or f"Could not work out the energy ({exc})."
            self._slots = {}
        # a year is 35,040 slots, a quarter of a second on a desktop: not on the UI's loop
        self.energy = await asyncio.to_thread(
            summarise, self._slots, start, end, self.hub.zone, self.span.bars, self._tariff
        )
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
        self.totals = self.energy.total if self.energy is not None and self.energy.periods else None
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
        self._show_spans((when, source))
        self.query_one("#history-totals", Static).update(self._totals_text())
        bars = self.query_one("#history-bars", Static)
        # the box less its border and padding (4) and the scroll bar a long span needs
        # (1), whether or not the bar shows yet: the same width on every load
        width = (self.query_one("#history-energy").size.width or 120) - 5
        colours = flow_colours(self.app.current_theme.dark)
        bars.update(energy_bars(self.energy, self.app.glyphs, width, self.hub.zone, colours))
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
        line = self.query_one("#history-status", Static)
        line.update(status)
        line.display = bool(status)  # no blank row under the totals on a small screen
        self.call_after_refresh(self._fit_boxes)  # the totals and status may take more rows

    # -- text ----------------------------------------------------------------------
    def _show_spans(self, detail: tuple[str, str] | None = None) -> None:
        """The span keys, then the period shown and where its data comes from. Where the
        line is too narrow (80 columns) the step hint goes first (the footer names ``[``
        and ``]``), then the source: the period itself is never cut off."""
        if detail is not None:
            self._detail = detail
        line = self.query_one("#history-spans", Static)
        width = (line.size.width or self.app.size.width) - 2  # less the padding
        when, source = self._detail
        full = f"{when} · {source}" if source else when
        for hint, tail in ((True, full), (False, full), (False, when)):
            text = self._spans_text(hint, tail)
            if text.cell_len <= width:
                break
        line.update(text)

    def _spans_text(self, hint: bool, tail: str) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, span in enumerate(SPANS):
            style = "reverse bold" if i == self.span_index else ""
            text.append(f" {span.key} {span.label} ", style=style)
            text.append(" ")
        if hint:
            text.append("[ ] step", style="dim")
        if tail:
            text.append("   " + tail if hint else "  " + tail)
        return text

    def on_resize(self) -> None:
        self._show_spans()
        self.call_after_refresh(self._fit_boxes)

    def _fit_boxes(self) -> None:
        """Give a short terminal's rows to the power chart first.

        At 80×24 the three boxes share 18 or 19 rows; shared by their weights the power
        chart got 3 ("Too small for a chart.") under a battery chart of 8. Each box has
        the rows it needs (:data:`BOX_ROWS`); where not all fit, the battery chart (its
        figure is on the dashboard) gives way first, then the energy table."""
        if not self.is_mounted:
            return
        rows = self.query_one("#history-boxes").size.height
        power, soe, energy = BOX_ROWS
        self.query_one(BOX_IDS[1]).display = rows >= power + soe + energy
        self.query_one(BOX_IDS[2]).display = rows >= power + energy
        # never more than there is: Textual lays out boxes whose minimums overflow
        # their container at twice the height, cut off
        self.query_one(BOX_IDS[0]).styles.min_height = min(power, rows)

    def _totals_text(self) -> Text:
        e = self.energy
        t = self.totals
        text = Text()
        if e is None or t is None:
            return text
        text.append(f"Energy, kWh, from {e.method}: ", style="dim")
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
        if e.cost is not None and e.currency:
            c = e.cost
            text.append(f"\nCost, {e.currency}: ", style="dim")
            text.append(f"{c.cost:.2f}", style="bold")
            text.append(f" (fixed {c.fixed:.2f})", style="dim")
            text.append(" · all from the grid ")
            text.append(f"{c.without_solar:.2f}", style="bold")
            text.append(" · saved ")
            text.append(f"{c.savings:.2f}", style="bold green" if c.savings >= 0 else "bold red")
        return text


def _local(ts: datetime, zone, fmt: str) -> str:
    return ts.astimezone(zone).strftime(fmt)


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes / 60:.1f}".removesuffix(".0") + " h"
