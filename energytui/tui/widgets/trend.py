"""Trend charts that tell the truth: a time axis over exactly the window named, one
zero-based kW scale shared by every row, signed flows, gaps drawn as gaps.

The old sparkline panel kept the last 120 samples whatever their times, scaled each row
from its own minimum to its maximum (3,812→3,862 W drew ▁…█), drew one sample as full
bars and lost the battery's and the grid's sign. Here each column is a fixed slice of the
window; a slice with no sample is blank, a slice whose mean is zero is a dim dot on the
zero line. Import and discharge go up, export and charge go down (the history legend's
convention), each flow in its own colour from :mod:`energytui.tui.palette`.
"""

from __future__ import annotations

import math
import operator
import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from energytui.model import IDLE_W, PowerSample
from energytui.tui.format import kw, kw_signed
from energytui.tui.palette import DARK, FlowColours
from energytui.tui.widgets.sized import SizedStatic

EIGHTHS = " ▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Row:
    """One flow: its name, colour key and whether it goes below zero."""

    flow: str
    label: str
    signed: bool


ROWS = (
    Row("solar", "solar", False),
    Row("home", "home", False),
    Row("battery", "battery", True),
    Row("grid", "grid", True),
)
LABEL_W = 17


class Points:
    """One flow's points as epoch seconds (ascending) and values, the form the columns are
    cut from: a bisection per column edge and a sum per slice, where converting and
    placing each of a window's hundreds of samples every second cost milliseconds."""

    __slots__ = ("times", "values")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.values: list[float] = []

    @classmethod
    def of(cls, points: Iterable[tuple[datetime, float | None]]) -> Points:
        out = cls()
        for ts, v in sorted(points, key=lambda p: p[0]):
            out.add(ts.timestamp(), v)
        return out

    def add(self, t: float, value: float | None) -> None:
        """Append a point (no earlier than the last); a missing value is no point."""
        if value is None or math.isnan(value):
            return
        self.times.append(t)
        self.values.append(value)

    def drop_before(self, t: float) -> None:
        cut = bisect_left(self.times, t)
        if cut:
            del self.times[:cut]
            del self.values[:cut]


class TrendData:
    """The four flows of the recent samples, kept from one draw to the next: each second
    adds the new samples and drops the ones that left the window, instead of converting
    the whole window (up to an hour of samples) again."""

    def __init__(self) -> None:
        self.flows: dict[str, Points] = {r.flow: Points() for r in ROWS}
        self._taken: list[float] = []  # the times of the samples taken, in the window

    def update(self, samples: Sequence[PowerSample], start: datetime) -> None:
        """Take ``samples`` (oldest first, as the hub keeps them) from ``start`` on."""
        start_s = start.timestamp()
        first = bisect_left(samples, start, key=lambda s: s.ts)
        last = self._taken[-1] if self._taken else None
        new = len(samples)
        while new > first and (last is None or samples[new - 1].ts.timestamp() > last):
            new -= 1
        cut = bisect_left(self._taken, start_s)
        del self._taken[:cut]
        for p in self.flows.values():
            p.drop_before(start_s)
        if len(self._taken) + len(samples) - new != len(samples) - first:
            # the hub's history was refilled (a restart reads the store): start again
            self.flows = {r.flow: Points() for r in ROWS}
            self._taken, new = [], first
        for s in samples[new:]:
            t = s.ts.timestamp()
            self._taken.append(t)
            for flow, value in _values(s):
                self.flows[flow].add(t, value)

    @classmethod
    def of(cls, series: Mapping[str, Sequence[tuple[datetime, float]]]) -> TrendData:
        out = cls()
        out.flows.update({flow: Points.of(pts) for flow, pts in series.items()})
        return out


def _values(s: PowerSample) -> tuple[tuple[str, float], ...]:
    """The four flows of a sample with the gateway's signs (grid > 0 imports, battery >
    0 discharges: both drawn up)."""
    return (
        ("solar", max(0.0, s.solar_w)),
        ("home", max(0.0, s.load_w)),
        ("battery", s.battery_w),
        ("grid", s.grid_w),
    )


def bucket_means(
    points: Sequence[tuple[datetime, float]] | Points,
    start: datetime,
    end: datetime,
    columns: int,
) -> list[float | None]:
    """The mean of the points in each of ``columns`` equal slices of [start, end].

    A slice with no point of its own holds the value before it when that point is at
    most two of the series' usual spacings old (samples further apart than a column
    are still one line); otherwise it is None — a gap, never a zero."""
    p = points if isinstance(points, Points) else Points.of(points)
    start_s, end_s = start.timestamp(), end.timestamp()
    span = end_s - start_s
    if span <= 0 or columns <= 0:
        return [None] * max(columns, 0)
    times, values = p.times, p.values
    lo, hi = bisect_left(times, start_s), bisect_right(times, end_s)
    edges = [lo]
    for i in range(1, columns):
        edges.append(bisect_left(times, start_s + span * i / columns, edges[-1], hi))
    edges.append(hi)
    out: list[float | None] = [None] * columns
    last_at: list[float | None] = [None] * columns  # seconds of the slice's last point
    for i in range(columns):
        a, b = edges[i], edges[i + 1]
        if b > a:
            out[i] = math.fsum(values[a:b]) / (b - a)
            last_at[i] = times[b - 1] - start_s
    if hi - lo < 2:
        return out
    diffs = sorted(map(operator.sub, times[lo + 1 : hi], times[lo : hi - 1]))
    steps = diffs[bisect_right(diffs, 0.0) :]  # repeated times are no spacing
    if not steps:
        return out
    hold = 2 * statistics.median(steps)
    width = span / columns
    prev_value: float | None = None
    prev_t: float | None = None
    for i in range(columns):
        if out[i] is not None:
            prev_value, prev_t = out[i], last_at[i]
        elif prev_t is not None and i * width - prev_t <= hold:
            out[i] = prev_value
    return out


def _strip(
    values: list[float | None], rows_up: int, rows_down: int, per_row: float, fine: bool
) -> list[list[str]]:
    """Cells of one strip, top row first: bars up from the zero line for positive
    values, down from it for negative ones."""
    h = rows_up + rows_down
    grid = [[" "] * len(values) for _ in range(h)]
    zero_row = rows_up - 1 if rows_up else 0  # the cell row just above the zero line
    for x, v in enumerate(values):
        if v is None:
            continue
        eighths = round(abs(v) / per_row * 8) if per_row > 0 else 0
        if eighths == 0:
            grid[zero_row if v >= 0 or not rows_down else rows_up][x] = "·"
            continue
        if v > 0 and rows_up:
            eighths = min(eighths, rows_up * 8)
            full, part = divmod(eighths, 8)
            for r in range(full):
                grid[rows_up - 1 - r][x] = "█"
            if part and full < rows_up:
                grid[rows_up - 1 - full][x] = EIGHTHS[part] if fine else ("█" if part >= 4 else " ")
        elif v < 0 and rows_down:
            eighths = min(eighths, rows_down * 8)
            full, part = divmod(eighths, 8)
            for r in range(full):
                grid[rows_up + r][x] = "█"
            if part and full < rows_down:
                if fine:
                    ch = "█" if part >= 6 else "▀" if part >= 3 else "▔"
                else:
                    ch = "█" if part >= 4 else " "
                grid[rows_up + full][x] = ch
    return grid


def axis_line(start: datetime, end: datetime, width: int) -> str:
    """Tick labels under the plot: the window's start, its middle and "now"."""
    span_s = (end - start).total_seconds()

    def ago(seconds: float) -> str:
        if seconds >= 2 * 86400 and seconds % 86400 == 0:
            return f"-{seconds / 86400:.0f} d"
        if seconds >= 3600:
            return f"-{seconds / 3600:g} h"
        return f"-{seconds / 60:g} min"

    left, mid, right = ago(span_s), ago(span_s / 2), "now"
    line = [" "] * width
    for pos, label in ((0, left), (width // 2 - len(mid) // 2, mid), (width - len(right), right)):
        for i, ch in enumerate(label):
            if 0 <= pos + i < width:
                line[pos + i] = ch
    return "".join(line)


def nice_step(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at least ``value``: a scale that reads as a
    round figure ("row = 500 W") and stays put while the peak moves within its step,
    so the chart is not drawn again each second for a rescale nobody can see."""
    if value <= 0:
        return 0.0
    base = 10.0 ** math.floor(math.log10(value))
    for m in (1.0, 2.0, 2.5, 5.0):
        if m * base >= value * (1 - 1e-9):
            return m * base
    return 10 * base


def render_trend(
    series: TrendData | Mapping[str, Sequence[tuple[datetime, float]]],
    start: datetime,
    end: datetime,
    width: int,
    height: int,
    *,
    colours: FlowColours = DARK,
    fine: bool = True,
    live: bool = True,
) -> Text:
    """The four flows over [start, end] in ``width`` × ``height`` cells; the last row
    is the time axis. ``fine``: eighth blocks (not on the Linux console)."""
    plot_w = max(1, width - LABEL_W)
    # the window ends on a column boundary, so the columns stand still between them and
    # a redraw that changes nothing can be skipped (the window still spans exactly)
    span = end - start
    col_s = span.total_seconds() / plot_w
    if col_s > 0:
        edge = math.ceil(end.timestamp() / col_s) * col_s
        end = datetime.fromtimestamp(edge, tz=end.tzinfo)
        start = end - span
    # rows left over by an uneven division go to the first strips: no blank rows
    base, extra = divmod(max(len(ROWS), height - 1), len(ROWS))
    heights = {r.flow: base + (1 if i < extra else 0) for i, r in enumerate(ROWS)}
    data = series if isinstance(series, TrendData) else TrendData.of(series)
    means = {r.flow: bucket_means(data.flows[r.flow], start, end, plot_w) for r in ROWS}
    # one scale for every row: the kW per cell row that fits the largest bar anywhere
    per_row = 0.0
    for r in ROWS:
        strip_h = heights[r.flow]
        up = strip_h - strip_h // 2 if r.signed else strip_h
        down = strip_h // 2 if r.signed else 0
        vals = [v for v in means[r.flow] if v is not None]
        if vals and up:
            per_row = max(per_row, max(0.0, max(vals)) / up)
        if vals and down:
            per_row = max(per_row, max(0.0, -min(vals)) / down)
    per_row = nice_step(per_row)
    out = Text(no_wrap=True, overflow="crop")
    for r in ROWS:
        strip_h = heights[r.flow]
        up = strip_h - strip_h // 2 if r.signed else strip_h
        down = strip_h // 2 if r.signed else 0
        grid = _strip(means[r.flow], up, down, per_row, fine)
        top, bottom = _peak_labels(means[r.flow], r.signed, strip_h)
        style = colours.of(r.flow) if live else colours.dim
        for i, cells in enumerate(grid):
            if i == 0:
                label = f"{r.label:<8}{top:>8} "
            elif i == strip_h - 1 and bottom:
                label = f"{'':<8}{bottom:>8} "
            else:
                label = " " * LABEL_W
            out.append(label[:LABEL_W].ljust(LABEL_W), style=style)
            out.append("".join(cells), style=style)
            out.append("\n")
    scale = kw(per_row) if per_row else "—"
    out.append(f"{'row = ' + scale:<{LABEL_W}}"[:LABEL_W], style=colours.dim)
    out.append(axis_line(start, end, plot_w), style=colours.dim)
    return out


def _peak_labels(means: Sequence[float | None], signed: bool, strip_h: int) -> tuple[str, str]:
    """The strip's peaks over the window, at its top and bottom edge: the largest flow
    up (and, for a signed flow, the largest down). Peaks, not the latest column, which
    read as the live figure and were not it (a column's mean lags the flow diagram),
    and which moved every second, so the whole chart was drawn again every second."""
    vals = [v for v in means if v is not None]
    if not vals:
        return "—", ""
    if not signed:
        return kw(max(vals)), ""
    high, low = max(vals), min(vals)

    def with_sign(watts: float) -> str:
        return ("+" + kw(watts)) if watts > 0 else kw_signed(watts)

    if strip_h < 2:  # one row: the larger of the two
        return with_sign(high if high >= -low else low), ""
    if low >= -IDLE_W and high <= IDLE_W:  # idle all the window: "0 W", as solar at night
        return kw(max(high, -low)), ""
    return (with_sign(high) if high > IDLE_W else ""), (with_sign(low) if low < -IDLE_W else "")


class TrendPanel(SizedStatic):
    """:func:`render_trend` at the panel's size."""

    DEFAULT_CSS = """
    TrendPanel { height: 1fr; }
    """

    def show(
        self,
        series: TrendData | Mapping[str, Sequence[tuple[datetime, float]]],
        start: datetime,
        end: datetime,
        *,
        colours: FlowColours = DARK,
        fine: bool = True,
        live: bool = True,
    ) -> None:
        self._args = (series, start, end, colours, fine, live)
        self.redraw()

    def render_at(self, width: int, height: int) -> Text:
        series, start, end, colours, fine, live = self._args
        return render_trend(
            series, start, end, width, height, colours=colours, fine=fine, live=live
        )
