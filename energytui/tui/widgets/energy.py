"""Today's energy by flow, with the source of the figures (gateway counters or integration)."""

from __future__ import annotations

from rich.table import Table
from textual.widgets import Static

from energytui.energy import EnergyToday
from energytui.tui.format import STALE
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
    tbl.add_column(style="grey70" if live else STALE)
    tbl.add_column(justify="right", style="bold" if live else STALE)
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
