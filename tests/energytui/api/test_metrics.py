"""``GET /metrics``: Prometheus names, units and content type, from the hub's cache."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from energytui.hub import Hub
from energytui.model import EnergyCounters
from tests.hub_support import ScriptedSource, api_client, sample, wait_for


def parse(text: str) -> dict[str, float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            key = s.name + (
                "{" + ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) + "}"
                if s.labels
                else ""
            )
            out[key] = s.value
    return out


async def test_metrics_names_units_and_values():
    src = ScriptedSource(
        sample(solar_w=4200.0, battery_w=-1500.0, grid_w=-700.0, load_w=2000.0, soe_pct=80.0)
    )
    hub = Hub([src])
    await hub.start()
    try:
        await wait_for(lambda: hub.power_is_live)
        async with api_client(hub) as c:
            r = await c.get("/metrics")
            om = await c.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    finally:
        await hub.stop()
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    m = parse(r.text)
    assert m["energytui_solar_power_watts"] == 4200.0
    assert m["energytui_battery_power_watts"] == -1500.0
    assert m["energytui_grid_power_watts"] == -700.0
    assert m["energytui_home_power_watts"] == 2000.0
    assert m["energytui_battery_charge_ratio"] == pytest.approx(0.80)
    assert m["energytui_battery_reserve_ratio"] == pytest.approx(0.20)
    assert m["energytui_grid_imported_joules_total"] == 2_000_000.0 * 3600
    assert m["energytui_battery_discharged_joules_total"] == 250_000.0 * 3600
    assert m["energytui_power_stale"] == 0.0
    assert m["energytui_grid_connected"] == 1.0
    assert m["energytui_source_up{kind=power,source=scripted}"] == 1.0
    assert m["energytui_source_last_success_timestamp_seconds{source=scripted}"] > 1.7e9
    info = [k for k in m if k.startswith("energytui_info{")]
    assert info and "version=" in info[0] and m[info[0]] == 1.0


async def test_a_counter_never_goes_down_between_scrapes():
    src = ScriptedSource(sample())
    hub = Hub([src])
    await hub.start()
    try:
        await wait_for(lambda: hub.power_is_live)
        async with api_client(hub) as c:
            before = parse((await c.get("/metrics")).text)
            lower = EnergyCounters(**(src.next.counters.to_dict() | {"grid_imported_wh": 1_000.0}))
            src.next = src.next.with_(counters=lower)
            await wait_for(lambda: hub.latest_power.counters.grid_imported_wh == 1_000.0)
            after = parse((await c.get("/metrics")).text)
    finally:
        await hub.stop()
    assert before["energytui_grid_imported_joules_total"] == 2_000_000.0 * 3600
    assert "energytui_grid_imported_joules_total" not in after  # held back, not a dip
    assert after["energytui_solar_produced_joules_total"] == 1_000_000.0 * 3600


async def test_meter_counter_exported_while_fresh(sim_hub):
    from datetime import UTC, datetime

    from meter_agent.schema import MeterReading

    await sim_hub.ingest_meter(
        MeterReading(reading_kwh=4321.0, timestamp=datetime.now(UTC), confidence=0.9, id="z")
    )
    async with api_client(sim_hub) as c:
        m = parse((await c.get("/metrics")).text)
    assert m["energytui_meter_joules_total"] == 4321.0 * 3_600_000
    assert m["energytui_meter_confidence_ratio"] == pytest.approx(0.9)
