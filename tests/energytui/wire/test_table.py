"""The wire table reaches every outside shape: a field declared there needs no other edit.

Each test walks the table, so a field added to it is checked in the API's JSON and
OpenAPI schema, the viewer's reverse mapping, MQTT discovery and values, ``/metrics``
and the store's rollups without a new assertion here.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest
from prometheus_client.parser import text_string_to_metric_families

from energytui.api.schemas import PowerPoint, PowerwallReadings
from energytui.config import Config, MqttConfig
from energytui.hub import Hub, meter_record
from energytui.model import (
    BATTERY_WORDS,
    GRID_WORDS,
    BatteryStatus,
    EnergyCounters,
    GridDirection,
    GridStatus,
    PowerSample,
)
from energytui.serve import start_api_in_loop
from energytui.sinks.mqtt import ENTITIES, MqttSink
from energytui.sources.remote import RemoteHubSource
from energytui.store import Store
from energytui.store.records import dt_to_ms
from energytui.wire import COUNTERS, METER, POWER, ROLLUP_RULES, SAMPLE_TIME, Rollup
from energytui.wire import api as wire_api
from energytui.wire import influx as wire_influx
from energytui.wire.table import GridStatusWord
from meter_agent.schema import MeterReading
from tests.hub_support import ScriptedSource, api_client, sample, wait_for
from tests.mqtt_listener import Listener

T0 = datetime(2026, 11, 25, 8, 0, 1, 250_000, tzinfo=UTC)
COUNTERS_ODD = EnergyCounters(1.5, 2_000_000.125, 0.0, 3e9, 7.000001, 123_456.789)

#: Samples that between them reach every branch of a mapping: unknown values, no
#: counters, each grid status, both signs and idle, awkward floats.
SAMPLES = [
    PowerSample(T0, 3000.0, -1234.56, 812.3449, 2577.7, 64.37, 20.0, GridStatus.UP,
                COUNTERS_ODD, "powerwall"),
    PowerSample(T0, 0.0, 0.0, 0.0, 0.0, None, None, GridStatus.UNKNOWN, None, "simulated"),
    PowerSample(T0, 12.5, 1500.0, -0.0, 1512.5, 99.95, 100.0, GridStatus.DOWN, COUNTERS_ODD, "x"),
    PowerSample(T0, 6000.1, 0.3, -4000.7, 2000.0, 0.0, 5.0, GridStatus.SYNCING, None, "y"),
]  # fmt: skip

STORED = tuple(f for f in POWER if f.stored)


class WholeMillisecondSource(ScriptedSource):
    """Stamps samples to the millisecond, the API's precision, so the viewer's copy is equal."""

    async def poll(self) -> PowerSample:
        s = await super().poll()
        return s.with_(ts=s.ts.replace(microsecond=s.ts.microsecond // 1000 * 1000))


def metric_names(text: str) -> set[str]:
    return {s.name for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_the_table_covers_every_field_of_the_model():
    sample_fields = {f.name for f in dataclasses.fields(PowerSample)}
    assert {f.attr for f in STORED} == sample_fields - {"ts", "counters"}
    assert SAMPLE_TIME.attr == "ts"
    assert [f.attr for f in COUNTERS] == list(EnergyCounters.__dataclass_fields__)
    assert [f.attr for f in METER] == list(MeterReading.model_fields)
    for f in POWER:
        assert f.json, f"{f.attr} has no key in the API's JSON"
        assert hasattr(SAMPLES[0], f.attr)
    every = [*POWER, *COUNTERS, *METER]
    assert (
        len({f.sensor.key for f in every if f.sensor})
        == len(ENTITIES)
        == len([f for f in every if f.sensor])
    )


def test_every_power_in_watts_reaches_every_shape():
    """A flow in watts is a history point, a sensor, a series and a mean in the store."""
    powers = [f for f in POWER if f.unit == "W"]
    assert {"solar_w", "battery_w", "grid_w", "load_w"} <= {f.attr for f in powers}
    for f in powers:
        assert f.history and f.sensor and f.metric and f.rollup is Rollup.MEAN, f.attr


@pytest.mark.parametrize("s", SAMPLES)
def test_every_influx_field_of_the_table_is_written_when_known(s):
    """The line protocol walks the table: every stored flow and counter with a value is a
    field of the point, every unknown one is left out (never a 0), the time is the store's."""
    (line,) = wire_influx.to_lines(s)
    head, fields, ts = line.split(" ")
    written = dict(kv.split("=") for kv in fields.split(","))
    expect = {
        f.influx.name
        for f in (*POWER, *COUNTERS)
        if f.influx
        and not f.influx.tag
        and (s.counters if f in COUNTERS else s) is not None
        and f.influx.value(getattr(s.counters if f in COUNTERS else s, f.attr)) is not None
    }
    assert set(written) == expect
    assert set(written) <= set(wire_influx.SCHEMA["power"][1])
    assert float(written["solar_w"]) == s.solar_w and float(written["home_w"]) == s.load_w
    assert head == f"power,source={s.source}" and int(ts) == dt_to_ms(s.ts)
    for f in (*POWER, *COUNTERS):
        if f.unit == "W" or f in COUNTERS:
            assert f.influx is not None, f"{f.attr} is not written to InfluxDB"


def test_sign_words_are_the_api_types():
    assert set(get_args(GridDirection)) == set(GRID_WORDS.words)
    assert set(get_args(BatteryStatus)) == set(BATTERY_WORDS.words)
    assert list(get_args(GridStatusWord)) == [g.value for g in GridStatus]
    assert (GRID_WORDS.word(60), GRID_WORDS.word(-60), GRID_WORDS.word(50)) == GRID_WORDS.words
    assert (BATTERY_WORDS.word(51), BATTERY_WORDS.word(-51)) == ("discharging", "charging")
    signed = {f.attr: f.signs for f in POWER if f.signs}
    assert signed == {"battery_w": BATTERY_WORDS, "grid_w": GRID_WORDS}


@pytest.mark.parametrize("s", SAMPLES)
def test_json_and_back_gives_the_same_sample(s):
    body = PowerwallReadings.model_validate({**wire_api.readings(s), "age_s": 0.0, "stale": False})
    wire = json.loads(body.model_dump_json())
    for f in POWER:
        for j in f.json:
            assert j.name in wire, j.name
    assert set(wire["lifetime"] or {}) == (
        set() if s.counters is None else {j.name for f in COUNTERS for j in f.json}
    )
    again = PowerwallReadings.model_validate(wire)
    assert wire_api.sample_from_readings(again.model_dump()) == s
    point = PowerPoint.model_validate(wire_api.point(s)).model_dump()
    assert point == wire_api.point_from_record(s.to_record())
    assert set(point) == {"timestamp"} | {f.json[0].name for f in POWER if f.history}


def test_every_key_is_in_the_openapi_contract():
    props = PowerwallReadings.model_json_schema()["properties"]
    for f in POWER:
        for j in f.json:
            assert j.name in props
            assert props[j.name].get("description") == j.doc
    assert list(props)[:3] == ["timestamp", "age_s", "stale"] and list(props)[-1] == "lifetime"


async def test_a_sample_reaches_the_api_and_metrics_and_the_viewer_reads_it_back():
    # one poll a minute: the one sample the viewer reads is still the hub's latest after
    # (at 0.05 s a new sample could land between the viewer's poll and the comparison)
    first = Hub([WholeMillisecondSource(SAMPLES[0], interval_s=60.0)])
    await first.start()
    handle = await start_api_in_loop(first, Config.model_validate({"api": {"port": 0}}))
    viewer = RemoteHubSource(handle.url, timeout_s=2.0)
    try:
        await wait_for(lambda: first.power_is_live)
        async with api_client(first) as c:
            body = (await c.get("/api/v1/current_readings")).json()["powerwall"]
            names = metric_names((await c.get("/metrics")).text)
        got = await viewer.poll()
        held = first.latest_power
    finally:
        await viewer.close()
        await handle.stop()
        await first.stop()
    assert got == held  # model -> API JSON -> RemoteHubSource -> the same model
    for f in (*POWER, SAMPLE_TIME):
        assert all(j.name in body for j in f.json), f.attr
        if f.metric is not None:
            assert f.metric.name in names, f.metric.name
    for f in COUNTERS:
        assert f.json[0].name in body["lifetime"]
        assert f"{f.metric.name}_total" in names


async def test_meter_series_reach_metrics(sim_hub):
    await sim_hub.ingest_meter(
        MeterReading(reading_kwh=4321.5, timestamp=datetime.now(UTC), confidence=0.9, id="w1")
    )
    async with api_client(sim_hub) as c:
        names = metric_names((await c.get("/metrics")).text)
    for f in METER:
        if f.metric is not None:
            suffix = "_total" if f.metric.kind == "counter" else ""
            assert f.metric.name + suffix in names


async def test_every_sensor_is_announced_and_published(broker):
    listener = Listener(broker)
    hub = Hub([ScriptedSource(sample(counters=COUNTERS_ODD))])
    await hub.start()
    sink = MqttSink(
        hub, MqttConfig(enabled=True, host="127.0.0.1", port=broker, interval_s=0.0),
        announce_jitter_s=0,
    )  # fmt: skip
    sink.start()
    try:
        await wait_for(lambda: hub.power_is_live)
        await hub.ingest_meter(
            MeterReading(reading_kwh=12.5, timestamp=datetime.now(UTC), confidence=0.5, id="m")
        )
        sensors = [f.sensor for f in (*POWER, *COUNTERS, *METER) if f.sensor is not None]
        await listener.wait(
            lambda: all(listener.last(f"energytui/{e.key}") is not None for e in sensors)
        )
        for e in sensors:
            config = json.loads(listener.last(f"homeassistant/sensor/energytui_{e.key}/config"))
            assert (config["name"], config["state_topic"]) == (e.name, f"energytui/{e.key}")
            assert config.get("device_class") == e.device_class
            assert config.get("unit_of_measurement") == e.unit
            assert config.get("state_class") == e.state_class
    finally:
        sink.stop()
        await hub.stop()
        listener.close()


def test_every_stored_column_has_its_declared_rollup(tmp_path):
    records = [s.with_(ts=T0 + timedelta(seconds=5 * i)).to_record() for i, s in enumerate(SAMPLES)]
    meters = [
        meter_record(MeterReading(reading_kwh=10.0 + i, timestamp=T0 + timedelta(seconds=5 * i),
                                  confidence=0.5 + i / 10, method="tesseract", digits="1", id=f"r{i}"))
        for i in range(3)
    ]  # fmt: skip
    power_columns = {"ts"} | {f.attr for f in STORED} | {f.attr for f in COUNTERS}
    assert set().union(*map(set, records)) == power_columns
    assert set().union(*map(set, meters)) == {"ts"} | {f.attr for f in METER} - {"timestamp"}
    for column in (power_columns | set(meters[0])) - {"ts"}:
        assert column in ROLLUP_RULES, column
    with Store.open(tmp_path, flush_interval_s=0) as store:
        store.append_many("power", records)
        store.append_many("meter", meters)
        store.maintain(T0 + timedelta(hours=1))
        for series, rows in (("power", records), ("meter", meters)):
            (doc,) = store.query(series, T0, T0 + timedelta(minutes=1), resolution="1m")
            for column, rule in ROLLUP_RULES.items():
                values = [r[column] for r in rows if r.get(column) is not None]
                if not values:
                    assert column not in doc
                elif rule is Rollup.LAST:
                    assert doc[column] == values[-1] and column not in doc.get("min", {})
                else:
                    assert rule is Rollup.MEAN  # the rule every numeric column has today
                    assert doc[column] == pytest.approx(sum(values) / len(values), abs=1e-3)
                    assert doc["min"][column] == min(values)
                    assert doc["max"][column] == max(values)
