"""The simulated site must balance, respect its battery limits and react to outages."""

from datetime import UTC, datetime, timedelta

import pytest

from energytui.model import GridStatus, SystemMode
from energytui.sources.simulated import SimulatedSite, SiteSpec

START = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)


def run(site, hours=24, step=60):
    return [
        site.advance(START + timedelta(seconds=i * step)) for i in range(int(hours * 3600 / step))
    ]


def test_power_balances_every_sample():
    for p in run(SimulatedSite(SiteSpec(timezone="Europe/Berlin"))):
        assert p.solar_w + p.battery_w + p.grid_w == pytest.approx(p.load_w, abs=0.5)
        assert p.solar_w >= 0 and p.load_w >= 0


def test_sun_follows_the_local_zone():
    site = SimulatedSite(SiteSpec(timezone="America/Los_Angeles"))
    samples = run(site)
    for p in samples:
        hour = p.ts.astimezone(site.zone).hour
        if hour < 6 or hour >= 20:
            assert p.solar_w == 0
    assert max(p.solar_w for p in samples) > 2000


def test_battery_stays_within_reserve_and_full():
    spec = SiteSpec(reserve_pct=30.0, initial_soe_pct=35.0)
    samples = run(SimulatedSite(spec), hours=72)
    assert min(p.soe_pct for p in samples) >= 30.0 - 0.01
    assert max(p.soe_pct for p in samples) <= 100.0
    modes = {p.mode for p in samples}
    assert SystemMode.SOLAR_CHARGING_BATTERY in modes
    assert SystemMode.GRID_POWERED in modes


def test_outage_islands_the_site():
    site = SimulatedSite()
    site.advance(START + timedelta(hours=20))
    site.outage = True
    p = site.advance(START + timedelta(hours=20, seconds=5))
    assert p.grid_w == 0 and p.grid_status is GridStatus.DOWN and p.mode is SystemMode.OFF_GRID
    assert p.solar_w + p.battery_w == pytest.approx(p.load_w, abs=0.5)


def test_counters_grow_monotonically_and_match_integration():
    samples = run(SimulatedSite(), hours=24, step=5)
    first, last = samples[0].counters, samples[-1].counters
    d = last.minus(first)
    integrated = sum(max(0.0, p.grid_w) * 5 / 3600 for p in samples[1:])
    assert d.grid_imported_wh == pytest.approx(integrated, rel=0.02)
    for a, b in zip(samples, samples[1:], strict=False):
        assert b.counters.solar_produced_wh >= a.counters.solar_produced_wh


def test_deterministic_for_a_seed():
    a = run(SimulatedSite(SiteSpec(seed=3)), hours=2)
    b = run(SimulatedSite(SiteSpec(seed=3)), hours=2)
    assert a == b
