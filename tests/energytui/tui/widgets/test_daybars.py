"""Today's bars and the battery's day: one scale, gaps as gaps (issue 15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from energytui.tui.widgets.daybars import render_soe_day, render_today_bars
from energytui.view import EnergyView

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_bars_share_one_scale() -> None:
    e = EnergyView(solar_kwh=20.0, home_kwh=10.0, grid_export_kwh=5.0)
    lines = render_today_bars(e, 59).plain.split("\n")
    assert len(lines) == 6
    ink = {line.split()[0] + line.split()[1]: line.count("█") for line in lines}
    assert ink["Solar20.0"] == 40 and ink["Home10.0"] == 20
    assert ink["Gridout"] == 10 and ink["Gridin"] == 0


def test_a_few_wh_after_midnight_draw_slivers_not_full_bars() -> None:
    # scaled to the largest flow, 0.03 kWh drew a full bar beside "0.0 kWh"
    e = EnergyView(home_kwh=0.03, battery_discharge_kwh=0.03)
    lines = render_today_bars(e, 59).plain.split("\n")
    assert all(len(line[19:].strip()) <= 2 for line in lines)  # 0.03 of 1 kWh: a sliver


def test_the_battery_day_has_its_gap_and_its_reserve_line() -> None:
    start = NOW - timedelta(hours=24)
    pts = [(start + timedelta(minutes=10 * k), 50.0) for k in range(144) if not 60 <= k < 90]
    text = render_soe_day(pts, start, NOW, 53, 9, reserve_pct=20.0).plain
    lines = text.split("\n")
    bottom = lines[7][5:]
    assert bottom.count(" ") >= 8  # five hours without a sample: blank, not 0 %
    assert any("·" in line for line in lines[:8])
    assert lines[-1].rstrip().endswith("now") and "-24 h" in lines[-1]
