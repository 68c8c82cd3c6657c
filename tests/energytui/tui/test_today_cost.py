"""Today's cost on the dashboard's Today panel: the hub's EnergyToday keeps today's
energy per 15-minute slot, prices it with the configured tariff, and the panel shows
one line for it; without a tariff there is no such line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devkit.demo import demo_config, demo_hub
from energytui.config import TariffConfig, TariffRate, load_config
from energytui.energy import EnergyToday
from energytui.model import DailyEnergy, EnergyCounters, GridStatus, PowerSample
from energytui.runtime import build_hub
from energytui.tariff import Tariff
from energytui.tui.app import EnergyApp
from energytui.tui.widgets.energy import energy_rows
from energytui.view import EnergyView

ZONE = ZoneInfo("Europe/Berlin")


def reading(ts: datetime, wh: float, grid_w: float = 1000.0) -> PowerSample:
    return PowerSample(
        ts=ts,
        solar_w=0.0,
        battery_w=0.0,
        grid_w=grid_w,
        load_w=1000.0,
        soe_pct=50.0,
        reserve_pct=20.0,
        grid_status=GridStatus.UP,
        counters=EnergyCounters(grid_imported_wh=wh, home_consumed_wh=wh),
        source="scripted",
    )


def test_today_cost_uses_the_price_of_each_slot():
    tariff = Tariff.from_config(
        TariffConfig(
            currency="EUR",
            import_price=0.20,
            daily_charge=0.96,
            rates=[TariffRate(start="18:00", end="19:00", import_price=0.50)],
        )
    )
    today = EnergyToday(ZONE, tariff=tariff)
    # 1 kWh between 17:00 and 18:00 local, 1 kWh between 18:00 and 19:00
    t = datetime(2026, 6, 20, 17, 0, tzinfo=ZONE).astimezone(UTC)
    wh = 100_000.0
    for _ in range(24):  # every 5 minutes, 2 h
        today.add(reading(t, wh))
        t += timedelta(minutes=5)
        wh += 1000 / 12
    today.add(reading(t, wh))
    cost = today.cost()
    assert cost is not None and cost.currency == "EUR"
    fixed = 0.96 * 8 / 96  # 8 slots saw energy
    assert cost.cost == pytest.approx(1 * 0.20 + 1 * 0.50 + fixed)
    assert cost.savings == pytest.approx(0.0)  # everything came from the grid
    rows = dict(energy_rows(EnergyView.of(today)))
    assert rows["Cost EUR"] == f"{cost.cost:.2f} saved 0.00"
    # no tariff: no line
    assert "Cost EUR" not in dict(energy_rows(EnergyView.of(EnergyToday(ZONE))))
    assert EnergyToday(ZONE).cost() is None


def test_the_runtime_gives_the_hub_the_configured_tariff(tmp_path):
    cfg = load_config(
        environ={"ENERGYTUI_GENERAL__DATA_DIR": str(tmp_path)},
        overrides={"tariff": {"import_price": 0.3, "currency": "GBP"}},
    )
    hub = build_hub(cfg, with_store=False)
    assert hub.energy.tariff is not None and hub.energy.tariff.currency == "GBP"
    plain = build_hub(
        load_config(environ={"ENERGYTUI_GENERAL__DATA_DIR": str(tmp_path)}), with_store=False
    )
    assert plain.energy.tariff is None


def _screen_text(app: EnergyApp) -> str:
    """What the terminal shows, as plain text."""
    import io

    from rich.console import Console

    console = Console(width=120, height=40, file=io.StringIO(), record=True)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


async def test_the_today_panel_shows_one_cost_line():
    hub, _, _ = demo_hub()
    hub.energy.tariff = Tariff.from_config(TariffConfig(import_price=0.30, export_price=0.08))
    app = EnergyApp(demo_config(), hub)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.refresh_view()
        await pilot.pause()
        screen_text = _screen_text(app)
        lines = [line for line in screen_text.splitlines() if "Cost EUR" in line]
        assert len(lines) == 1 and "saved" in lines[0], screen_text
    assert isinstance(hub.energy.best, DailyEnergy)
