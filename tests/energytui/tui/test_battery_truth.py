"""Issue 16: the battery gauge's times use the gateway's capacity and the real reserve.

Against the emulator through real pypowerwall, on the dashboard with Pilot: two
Powerwalls (27 kWh) must not be timed as one (13.5 kWh, the old default), "reserve in"
is only said with a known reserve and is counted to it, and otherwise the time is
"empty in"."""

from __future__ import annotations

from datetime import UTC, datetime

from devkit.emulator import Emulator
from energytui.config import Config
from energytui.hub import Hub
from energytui.model import PowerSample
from energytui.sources.powerwall import PowerwallSource
from energytui.sources.simulated import SimulatedSite, SiteSpec
from energytui.tui.app import EnergyApp
from energytui.tui.format import duration
from energytui.tui.glyphs import CONSOLE
from energytui.tui.widgets.battery import render_battery
from tests.gateway_support import PASSWORD, until

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _sample(battery_w: float, soe: float, reserve: float | None) -> PowerSample:
    return PowerSample(NOON, 0.0, battery_w, 0.0, 1000.0, soe_pct=soe, reserve_pct=reserve)


def test_discharging_without_a_known_reserve_says_empty_in():
    text = render_battery(_sample(2000.0, 50.0, None), capacity_kwh=27.0, live=True).plain
    assert "reserve in" not in text
    assert f"empty in {duration(27.0 * 0.5 / 2.0)}" in text  # 6 h 45 min to 0 %


def test_discharging_with_a_reserve_counts_to_the_reserve():
    text = render_battery(_sample(2000.0, 50.0, 20.0), capacity_kwh=27.0, live=True).plain
    assert f"reserve in {duration(27.0 * 0.3 / 2.0)}" in text  # 4 h 03 min to 20 %


def test_below_the_reserve_in_an_outage_says_empty_in():
    text = render_battery(_sample(2000.0, 15.0, 20.0), capacity_kwh=27.0, live=True).plain
    assert "reserve in" not in text and "empty in" in text


def test_no_capacity_no_made_up_time():
    text = render_battery(_sample(-2000.0, 50.0, 20.0), capacity_kwh=None, live=True).plain
    assert "full in" not in text and "capacity" in text


def test_console_glyphs_have_no_em_dash():
    text = render_battery(
        _sample(0.0, 50.0, None), capacity_kwh=None, live=True, glyphs=CONSOLE
    ).plain
    assert "—" not in text and "reserve -" in text


async def test_dashboard_times_use_the_capacity_the_gateway_reports(tmp_path):
    site = SimulatedSite(SiteSpec(battery_kwh=27.0))
    with Emulator(password=PASSWORD, site=site) as emu:
        cfg = Config.model_validate(
            {
                "general": {"data_dir": str(tmp_path / "data")},
                "powerwall": {"host": emu.host_port, "password": PASSWORD, "timeout_s": 1.0},
            }
        )
        src = PowerwallSource.from_config(cfg)
        src.interval_s = 0.5
        app = EnergyApp(cfg, Hub([src]))
        async with app.run_test(size=(120, 40)) as pilot:
            await until(lambda: src.capacity_kwh is not None)
            await until(lambda: app.hub.latest_power is not None)
            sample = app.hub.latest_power
            await until(lambda: app.hub.latest_power is not sample)  # drawn with the capacity
            app.refresh_view()
            await pilot.pause()
            assert app.battery_kwh == 27.0
            shown = str(app.screen.query_one("#battery").render())
            s = app.view.power.sample
            assert s is not None and s.reserve_pct is not None
            assert _times_match(shown, s), (shown, s)


def _times_match(shown: str, s: PowerSample) -> bool:
    """The time on screen is the one the 27 kWh capacity gives (not 13.5 kWh's half)."""
    from energytui.model import battery_eta_hours

    if s.battery_charging:
        return f"full in {duration(battery_eta_hours(s.soe_pct, s.battery_w, 27.0))}" in shown
    if s.battery_discharging:
        floor = s.reserve_pct if s.reserve_pct is not None and s.soe_pct > s.reserve_pct else 0.0
        eta = battery_eta_hours(s.soe_pct, s.battery_w, 27.0, floor)
        return duration(eta) in shown
    return True
