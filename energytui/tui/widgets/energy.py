"""Today's energy by flow, with the source of the figures (gateway counters or integration)."""

from __future__ import annotations

from rich.table import Table
from textual.widgets import Static

from energytui.energy import EnergyToday
from energytui.model import PowerSample


def render_energy(today: EnergyToday, latest: PowerSample | None) -> Table:
    e = today.best
    tbl = Table.grid(padding=(0, 1))
    tbl.add_column(style="grey70")
    tbl.add_column(justify="right", style="bold")
    tbl.add_row("Solar", f"{e.solar_kwh:.1f} kWh")
    tbl.add_row("Home", f"{e.home_kwh:.1f} kWh")
    tbl.add_row("Grid in", f"{e.grid_import_kwh:.1f} kWh")
    tbl.add_row("Grid out", f"{e.grid_export_kwh:.1f} kWh")
    tbl.add_row("Batt in", f"{e.battery_charge_kwh:.1f} kWh")
    tbl.add_row("Batt out", f"{e.battery_discharge_kwh:.1f} kWh")
    if e.home_kwh > 0:
        self_powered = max(0.0, min(100.0, 100 * (1 - e.grid_import_kwh / e.home_kwh)))
        tbl.add_row("Self-powered", f"{self_powered:.0f} %")
    if e.solar_kwh > 0:
        used = max(0.0, min(100.0, 100 * (1 - e.grid_export_kwh / e.solar_kwh)))
        tbl.add_row("Solar used", f"{used:.0f} %")
    rec = today.reconciliation()
    if rec is None:
        tbl.add_row("from", "integrated")
    else:
        worst = max(rec.values(), key=abs)
        tbl.add_row("from", f"counters (Δ {worst:+.2f})")
    return tbl


class EnergyPanel(Static):
    DEFAULT_CSS = "EnergyPanel { height: 1fr; }"

    def show(self, today: EnergyToday, latest: PowerSample | None) -> None:
        self.update(render_energy(today, latest), layout=False)
