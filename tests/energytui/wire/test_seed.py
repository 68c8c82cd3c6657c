"""The seed's shapes walk the wire table: every Seed place of a field reaches its route."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from energytui.model import GridStatus, PowerSample, SeedMode
from energytui.wire import seed as wire_seed
from energytui.wire.convert import gateway_pct, pypowerwall_grid
from energytui.wire.table import METER
from meter_agent.schema import MeterReading
from tests.energytui.wire.test_table import SAMPLES

READING = MeterReading(
    reading_kwh=1314.25,
    timestamp=datetime(2026, 11, 7, 14, 23, 45, tzinfo=UTC),
    confidence=0.98,
    method="camera_ocr",
    digits="0001314",
)


def leaf(body: dict, path: tuple[str, ...]):
    for key in path:
        body = body[key]
    return body


@pytest.mark.parametrize("s", SAMPLES)
def test_every_seed_place_of_a_sample_is_filled(s: PowerSample):
    flat = wire_seed.status(s)
    nested = wire_seed.current(s, READING)
    for f in wire_seed.SAMPLE_FIELDS:
        for place in f.seed:
            want = place.value(getattr(s, f.attr))
            if place.flat:
                assert flat[place.flat] == want, place.flat
            if place.path:
                assert leaf(nested, place.path) == want, place.path
    assert set(nested) == {"powerwall", "utility_meter", "net_flow", "system_summary"}
    assert nested["system_summary"]["mode"] in {m.value for m in SeedMode}
    assert flat["battery_level_percent"] == gateway_pct(s.soe_pct)
    assert flat["grid_status"] == pypowerwall_grid(s.grid_status)


def test_scales_and_words():
    assert gateway_pct(50.0) == 52.5 and gateway_pct(0.0) == 5.0 and gateway_pct(None) is None
    assert [pypowerwall_grid(g) for g in GridStatus] == ["UP", "DOWN", "SYNCING", None]


def test_utility_meter_block_with_and_without_a_reading():
    places = {p.path[1] for f in METER for p in f.seed if p.path}
    assert places == {"reading_kwh", "method", "last_update", "confidence"}
    assert wire_seed.utility_meter(READING) == {
        "reading_kwh": 1314.25,
        "last_update": "2026-11-07T14:23:45.000Z",
        "confidence": 0.98,
        "method": "camera_ocr",
    }
    none = wire_seed.utility_meter(None)
    assert none == dict.fromkeys(places) | {"method": "unknown"}


def test_gauges_leave_out_what_is_not_known():
    full = dict((n, v) for n, _, v in wire_seed.gauges(SAMPLES[0], READING))
    assert set(full) == {
        "solar_production_watts",
        "battery_level_percent",
        "grid_power_watts",
        "home_load_watts",
        "meter_reading_kwh",
    }
    assert full["grid_power_watts"] == SAMPLES[0].grid_w
    no_soe = {n for n, _, _ in wire_seed.gauges(SAMPLES[1], None)}
    assert "battery_level_percent" not in no_soe and "meter_reading_kwh" not in no_soe
    assert list(wire_seed.gauges(None, None)) == []
