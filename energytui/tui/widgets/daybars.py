"""Today's energy as bars per flow, and the battery's charge over the last 24 hours.

Two drawings for the space under the power flow on a tall dashboard: the owner's two
most looked-at questions ("how much today?" and "how did the battery do overnight?").
Pure functions of the hub's view and of stored samples, so they are tested without a
terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text

from energytui.tui.palette import DARK, FlowColours
from energytui.tui.widgets.sized import SizedStatic
from energytui.tui.widgets.trend import EIGHTHS, axis_line, bucket_means
from energytui.view import EnergyView

#: left eighth blocks, for the end of a horizontal bar
LEFT_EIGHTHS = " ▏▎▍▌▋▊▉█"

BARS = (
    ("solar", "Solar", "solar_kwh"),
    ("home", "Home", "home_kwh"),
    ("grid", "Grid in", "grid_import_kwh"),
    ("grid", "Grid out", "grid_export_kwh"),
    ("battery", "Batt in", "battery_charge_kwh"),
    ("battery", "Batt out", "battery_discharge_kwh"),
)
LABEL_W = 19  # "Batt out  12.3 kWh "
#: the least kWh a full bar stands for: just after midnight the flows are a few Wh, and
#: scaled to the largest of them they drew full bars beside "0.0 kWh"
MIN_TOP_KWH = 1.0


def hbar(value: float, top: float, cells: int, *, fine: bool = True, full: str = "█") -> str:
    """``value`` of ``top`` as a bar up to ``cells`` wide, not padded: eighth blocks at its
    end where the font has them (``fine``), whole cells, rounded, on the Linux console."""
    if top <= 0 or value <= 0 or cells <= 0:
        return ""
    eighths = round(min(1.0, value / top) * cells * 8)
    if not fine:
        return full * round(eighths / 8)
    whole, part = divmod(eighths, 8)
    return full * whole + (LEFT_EIGHTHS[part] if part else "")


def render_today_bars(
    energy: EnergyView,
    width: int,
    *,
    colours: FlowColours = DARK,
    fine: bool = True,
    live: bool = True,
) -> Text:
    """One row per flow: name, kWh, and a bar on one scale shared by every row."""
    bar_w = max(1, width - LABEL_W)
    values = [float(getattr(energy, attr)) for _, _, attr in BARS]
    top = max(MIN_TOP_KWH, *values)
    out = Text(no_wrap=True, overflow="crop")
    for i, ((flow, label, _), v) in enumerate(zip(BARS, values, strict=True)):
        style = colours.of(flow) if live else colours.dim
        bar = hbar(v, top, bar_w, fine=fine)
        if i:
            out.append("\n")
        out.append(f"{label:<9}{v:5.1f} kWh ", style=style)
        out.append(bar, style=style)
    return out


def render_soe_day(
    points: Sequence[tuple[datetime, float]],
    start: datetime,
    end: datetime,
    width: int,
    height: int,
    *,
    reserve_pct: float | None = None,
    colour: str = DARK.battery,
    dim: str = DARK.dim,
    fine: bool = True,
) -> Text:
    """The battery's charge (0–100 %) over [start, end], gaps blank; the reserve as a
    dotted line when known; the last row is the time axis."""
    label_w = 5
    plot_w = max(1, width - label_w)
    rows = max(1, height - 1)
    means = bucket_means(points, start, end, plot_w)
    grid = [[" "] * plot_w for _ in range(rows)]
    if reserve_pct is not None:
        r = min(rows - 1, int(reserve_pct / 100 * rows))
        for x in range(plot_w):
            grid[rows - 1 - r][x] = "·" if fine else "."
    for x, v in enumerate(means):
        if v is None:
            continue
        eighths = round(max(0.0, min(100.0, v)) / 100 * rows * 8)
        full, part = divmod(eighths, 8)
        for y in range(full):
            grid[rows - 1 - y][x] = "█"
        if part and full < rows:
            grid[rows - 1 - full][x] = EIGHTHS[part] if fine else ("█" if part >= 4 else " ")
    out = Text(no_wrap=True, overflow="crop")
    for y, cells in enumerate(grid):
        label = "100%" if y == 0 else "  0%" if y == rows - 1 else ""
        out.append(f"{label:>4} ", style=dim)
        out.append("".join(cells), style=colour)
        out.append("\n")
    out.append(" " * label_w + axis_line(start, end, plot_w), style=dim)
    return out


class SoeDay(SizedStatic):
    """:func:`render_soe_day` at the widget's size; hidden by its screen when short."""

    DEFAULT_CSS = """
    SoeDay { height: 1fr; }
    """

    def show(
        self,
        points: Sequence[tuple[datetime, float]],
        start: datetime,
        end: datetime,
        *,
        reserve_pct: float | None,
        colour: str,
        dim: str,
        fine: bool,
    ) -> None:
        self._args = (list(points), start, end, reserve_pct, colour, dim, fine)
        self.redraw()

    def render_at(self, width: int, height: int) -> Text:
        points, start, end, reserve, colour, dim, fine = self._args
        return render_soe_day(
            points,
            start,
            end,
            width,
            height,
            reserve_pct=reserve,
            colour=colour,
            dim=dim,
            fine=fine,
        )


class TodayBars(SizedStatic):
    """:func:`render_today_bars` at the widget's width (six rows)."""

    DEFAULT_CSS = """
    TodayBars { height: 6; }
    """

    def show(self, energy: EnergyView, *, colours: FlowColours, fine: bool, live: bool) -> None:
        self._args = (energy, colours, fine, live)
        self.redraw()

    def render_at(self, width: int, height: int) -> Text:
        energy, colours, fine, live = self._args
        return render_today_bars(energy, width, colours=colours, fine=fine, live=live)
