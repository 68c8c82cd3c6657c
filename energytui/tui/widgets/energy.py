"""Today's energy by flow, with the source of the figures (gateway counters or
integration) and, with a tariff, today's cost; and the history screen's energy bars."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from energytui.energy import EnergyToday, SpanEnergy
from energytui.tui.format import STALE
from energytui.tui.glyphs import Glyphs
from energytui.tui.palette import DARK, FlowColours
from energytui.tui.widgets.daybars import hbar
from energytui.view import EnergyView


def energy_rows(today: EnergyView | EnergyToday) -> list[tuple[str, str]]:
    """(label, value) per line, as shown."""
    e = today if isinstance(today, EnergyView) else EnergyView.of(today)
    rows = [
        ("Solar", f"{e.solar_kwh:.1f} kWh"),
        ("Home", f"{e.home_kwh:.1f} kWh"),
        ("Grid in", f"{e.grid_import_kwh:.1f} kWh"),
        ("Grid out", f"{e.grid_export_kwh:.1f} kWh"),
        ("Batt in", f"{e.battery_charge_kwh:.1f} kWh"),
        ("Batt out", f"{e.battery_discharge_kwh:.1f} kWh"),
    ]
    cost = e.cost
    if cost is not None:  # right under the flows: a small panel cuts the lines below first
        rows.append((f"Cost {cost.currency}", f"{cost.cost:.2f} saved {cost.savings:.2f}"))
    if e.home_kwh > 0:
        self_powered = max(0.0, min(100.0, 100 * (1 - e.grid_import_kwh / e.home_kwh)))
        rows.append(("Self-powered", f"{self_powered:.0f} %"))
    if e.solar_kwh > 0:
        used = max(0.0, min(100.0, 100 * (1 - e.grid_export_kwh / e.solar_kwh)))
        rows.append(("Solar used", f"{used:.0f} %"))
    rec = e.reconciliation
    if rec is None:
        rows.append(("from", "integrated"))
    else:
        worst: float = max((gap for _, gap in rec), key=abs)
        worst = round(worst, 2) + 0.0  # + 0.0: no "-0.00"
        rows.append(("from", f"counters (Δ {worst:+.2f})"))
    return rows


def _table(rows: list[tuple[str, str]], live: bool = True) -> Table:
    tbl = Table.grid(padding=(0, 1))
    label_style = "grey70" if live else STALE
    value_style = "bold" if live else STALE
    if any(label.startswith("Cost ") for label, _ in rows):
        # the cost line keeps its one line in a small panel: the labels give way first
        # (cropped: the Linux console font has no ellipsis)
        tbl.add_column(style=label_style, no_wrap=True, overflow="crop")
        tbl.add_column(justify="right", style=value_style, no_wrap=True)
    else:
        tbl.add_column(style=label_style)
        tbl.add_column(justify="right", style=value_style)
    for label, value in rows:
        tbl.add_row(label, value)
    return tbl


class EnergyPanel(Static):
    DEFAULT_CSS = "EnergyPanel { height: 1fr; }"

    def show(self, rows: list[tuple[str, str]], live: bool = True) -> None:
        """Draw :func:`energy_rows` (the caller skips rows it drew already: they move
        by 0.1 kWh, minutes apart, and a Rich table costs a few ms to draw); grey while
        the power data behind them is stale."""
        self.update(_table(rows, live), layout=False)


#: (DailyEnergy field, column heading, flow) of the history screen's energy bars; the
#: colour is the flow's on every screen (:mod:`energytui.tui.palette`)
BAR_FLOWS = (
    ("solar_kwh", "solar", "solar"),
    ("home_kwh", "home", "home"),
    ("grid_import_kwh", "grid in", "grid"),
    ("grid_export_kwh", "grid out", "grid"),
    ("battery_charge_kwh", "batt in", "battery"),
    ("battery_discharge_kwh", "batt out", "battery"),
)
_LABEL = {"slot": "%a %H:%M", "hour": "%a %H:%M", "day": "%a %d %b", "month": "%b %Y"}
LABEL_W = 11


def _bar(value: float, top: float, cells: int, glyphs: Glyphs) -> str:
    """:func:`~energytui.tui.widgets.daybars.hbar` padded to ``cells``, in the app's glyphs
    (whole cells on the Linux console: ``glyphs.sparks`` is False there)."""
    return hbar(value, top, cells, fine=glyphs.sparks, full=glyphs.full).ljust(cells)


def energy_bars(
    span: SpanEnergy | None,
    glyphs: Glyphs,
    width: int,
    zone: ZoneInfo,
    colours: FlowColours = DARK,
) -> Text:
    """One line per hour, day or month of the span, newest first: a bar and kWh per flow
    (all on one scale, so solar and home compare), and the cost with a tariff."""
    text = Text(no_wrap=True, overflow="crop")
    if span is None or not span.periods:
        text.append("No energy in this span.", style="dim")
        return text
    money = span.currency is not None
    cost_w = 9 if money else 0
    per = max(7, (width - LABEL_W - cost_w) // len(BAR_FLOWS))
    cells = per - 6
    top = max(
        (getattr(p.energy, name) for p in span.periods for name, _, _ in BAR_FLOWS), default=0.0
    )
    text.append(f"per {span.unit}".ljust(LABEL_W), style="dim")
    for _, heading, flow in BAR_FLOWS:
        text.append(heading.rjust(per - 1)[: per - 1] + " ", style=colours.of(flow))
    if money:
        text.append(f"cost {span.currency}".rjust(cost_w), style="dim")
    fmt = _LABEL[span.unit]
    for p in reversed(span.periods):
        text.append("\n")
        text.append(p.start.astimezone(zone).strftime(fmt).ljust(LABEL_W), style="grey70")
        for name, _, flow in BAR_FLOWS:
            value = getattr(p.energy, name)
            text.append(_bar(value, top, cells, glyphs), style=colours.of(flow))
            text.append(f"{value:5.1f} ", style="bold")
        if money and p.cost is not None:
            text.append(f"{p.cost.cost:{cost_w}.2f}", style="bold")
    return text
