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
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from energytui.model import PowerSample
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


def bucket_means(
    points: Sequence[tuple[datetime, float]], start: datetime, end: datetime, columns: int
) -> list[float | None]:
    """The mean of the points in each of ``columns`` equal slices of [start, end].

    A slice with no point of its own holds the value before it when that point is at
    most two of the series' usual spacings old (samples further apart than a column
    are still one line); otherwise it is None — a gap, never a zero."""
    span = (end - start).total_seconds()
    if span <= 0 or columns <= 0:
        return [None] * max(columns, 0)
    sums = [0.0] * columns
    counts = [0] * columns
    last_at: list[float | None] = [None] * columns  # seconds of the slice's last point
    kept = []
    for ts, v in points:
        if v is None or math.isnan(v):
            continue
        t = (ts - start).total_seconds()
        if not 0 <= t <= span:
            continue
        i = min(columns - 1, int(t / span * columns))
        sums[i] += v
        counts[i] += 1
        seen = last_at[i]
        last_at[i] = t if seen is None else max(seen, t)
        kept.append(t)
    out: list[float | None] = [s / n if n else None for s, n in zip(sums, counts, strict=True)]
    kept.sort()
    steps = [b - a for a, b in zip(kept, kept[1:], strict=False) if b > a]
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


def render_trend(
    series: Mapping[str, Sequence[tuple[datetime, float]]],
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
    means = {r.flow: bucket_means(series.get(r.flow, ()), start, end, plot_w) for r in ROWS}
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
    out = Text(no_wrap=True, overflow="crop")
    for r in ROWS:
        strip_h = heights[r.flow]
        up = strip_h - strip_h // 2 if r.signed else strip_h
        down = strip_h // 2 if r.signed else 0
        grid = _strip(means[r.flow], up, down, per_row, fine)
        latest = next((v for v in reversed(means[r.flow]) if v is not None), None)
        style = colours.of(r.flow) if live else colours.dim
        for i, cells in enumerate(grid):
            if i == 0:
                shown = kw_signed(latest) if r.signed else kw(latest)
                label = f"{r.label:<8}{shown if latest is not None else '—':>8} "
            elif i == 1 and strip_h > 1:
                label = f"{'':<8}{'':>7} "
            else:
                label = " " * LABEL_W
            out.append(label[:LABEL_W].ljust(LABEL_W), style=style)
            out.append("".join(cells), style=style)
            out.append("\n")
    scale = kw(per_row) if per_row else "—"
    out.append(f"{'row = ' + scale:<{LABEL_W}}"[:LABEL_W], style=colours.dim)
    out.append(axis_line(start, end, plot_w), style=colours.dim)
    return out


class TrendPanel(SizedStatic):
    """:func:`render_trend` at the panel's size."""

    DEFAULT_CSS = """
    TrendPanel { height: 1fr; }
    """

    def show(
        self,
        series: Mapping[str, Sequence[tuple[datetime, float]]],
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


def series_of(samples: Sequence[PowerSample]) -> dict[str, list[tuple[datetime, float]]]:
    """The four flows of ``samples`` with the gateway's signs (grid > 0 imports,
    battery > 0 discharges: both drawn up)."""
    return {
        "solar": [(s.ts, max(0.0, s.solar_w)) for s in samples],
        "home": [(s.ts, max(0.0, s.load_w)) for s in samples],
        "battery": [(s.ts, s.battery_w) for s in samples],
        "grid": [(s.ts, s.grid_w) for s in samples],
    }
