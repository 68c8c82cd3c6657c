"""Today's energy from the gateway's lifetime counters, across restarts and resets."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from energytui.clock import AcceleratedClock
from energytui.energy import EnergyToday
from energytui.hub import Hub
from energytui.model import EnergyCounters, PowerSample
from energytui.sources.simulated import SimulatedSource
from energytui.store import Store

T = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def sample(minutes: float, home_wh: float, solar_wh: float = 0.0) -> PowerSample:
    return PowerSample(
        T + timedelta(minutes=minutes),
        solar_w=0.0,
        battery_w=0.0,
        grid_w=500.0,
        load_w=500.0,
        counters=EnergyCounters(home_consumed_wh=home_wh, solar_produced_wh=solar_wh),
    )


def test_counters_that_go_back_keep_what_they_counted_today():
    today = EnergyToday(ZoneInfo("UTC"))
    today.add(sample(0, 10_000))
    today.add(sample(1, 12_000))  # 2 kWh today
    today.add(sample(2, 300))  # reset (a replaced gateway): counting goes on from here
    today.add(sample(3, 1_300))
    assert today.best.method == "counters"
    assert today.best.home_kwh == pytest.approx(3.0)
    today.add(sample(24 * 60, 5_000))  # a new day starts from nothing
    today.add(sample(24 * 60 + 1, 5_500))
    assert today.best.home_kwh == pytest.approx(0.5)


def test_counters_that_only_grow_are_read_as_before():
    today = EnergyToday(ZoneInfo("UTC"))
    for i, wh in enumerate((100.0, 150.0, 150.0, 400.0)):
        today.add(sample(i, wh, solar_wh=2 * wh))
    assert today.best.home_kwh == pytest.approx(0.3)
    assert today.best.solar_kwh == pytest.approx(0.6)


async def _run_site(store: Store, clock: AcceleratedClock, polls: int) -> Hub:
    hub = Hub([SimulatedSource(clock=clock, interval_s=0.02)], store=store, clock=clock)
    await hub.start()
    try:
        while hub.health["simulated"].polls < polls:
            await asyncio.sleep(0.02)
    finally:
        await hub.stop()
    return hub


async def test_a_restarted_monitor_keeps_todays_energy(tmp_path):
    """The simulated site starts its counters afresh on every start: the day's energy
    restored from the store must not fall to zero behind a counter that went back."""
    start = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    store = Store.open(tmp_path / "store")
    try:
        first = await _run_site(store, AcceleratedClock(600.0, start), polls=10)
    finally:
        store.close()
    before = first.energy.best.home_kwh
    assert first.energy.best.method == "counters" and before > 0.005
    store = Store.open(tmp_path / "store")
    try:
        clock = AcceleratedClock(600.0, first.clock.now() + timedelta(minutes=10))
        second = await _run_site(store, clock, polls=3)
    finally:
        store.close()
    assert second.energy.best.method == "counters"
    assert second.energy.best.home_kwh > before
    # the counters and the integral over the restored samples tell the same day
    assert abs(second.energy.reconciliation()["home_kwh"]) < 0.1 * before


def test_the_shown_difference_is_never_minus_zero():
    from energytui.tui.widgets.energy import energy_rows

    def grid_fed(minutes: float, wh: float) -> PowerSample:
        s = sample(minutes, wh)
        return replace(s, counters=replace(s.counters, grid_imported_wh=wh))

    today = EnergyToday(ZoneInfo("UTC"))
    today.add(grid_fed(0, 10_000.0))
    today.add(grid_fed(1, 10_008.3))  # the integral says 500 W for a minute: 8.33 Wh
    assert dict(energy_rows(today))["from"] == "counters (Δ +0.00)"
