"""The wire table: every field of the model and each outside shape it takes.

This is the one place to edit when a field is added: declare it here (its unit, its
sign words, its API key, its Home Assistant sensor, its Prometheus series, its InfluxDB
field, its places in the original Flask API's shapes and how the store rolls it up) and
the API's JSON and OpenAPI schema, the viewer's reverse mapping, MQTT discovery and
values, ``/metrics``, InfluxDB points, the seed's routes and the store's rollups all
follow. ``tests/energytui/wire/test_table.py`` checks that every
field reaches every shape.

Signs are Tesla's (see :mod:`energytui.model`): grid > 0 imports, battery > 0
discharges; the words for them are :data:`~energytui.model.GRID_WORDS` and
:data:`~energytui.model.BATTERY_WORDS`.

Order matters and is kept on purpose: the API's keys, the store's record columns and
the ``/metrics`` series come out in table order (within each API part).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from energytui.model import (
    BATTERY_WORDS,
    GRID_WORDS,
    BatteryStatus,
    GridDirection,
    GridStatus,
    SystemMode,
    iso_z,
    parse_iso,
)
from energytui.wire.columns import Influx, Json, Metric, Rollup, Seed, Sensor, WireField, same
from energytui.wire.convert import (
    W,
    connected_gauge,
    efficiency,
    gateway_pct,
    grid_connected,
    grid_tied,
    joules_from_kwh,
    joules_from_wh,
    kwh,
    label,
    one_decimal,
    percent_text,
    pypowerwall_grid,
    ratio,
    solar_word,
    tag_text,
    unix_seconds,
    word,
)

#: :class:`GridStatus`'s words as a type (the OpenAPI enum); test_wire checks them.
GridStatusWord = Literal["up", "down", "syncing", "unknown"]

# -- the Powerwall sample ------------------------------------------------------
#: The sample's time: ``timestamp`` in the API, ``ts`` in the store (the bucket's own
#: key there, never rolled up), a gauge beside the power series.
SAMPLE_TIME = WireField(
    "ts",
    json=(Json("timestamp", str, "when the sample was taken (UTC, Z)", encode=iso_z,
               decode=parse_iso),),
    metric=Metric(
        "energytui_sample_timestamp_seconds",
        "Unix time of the Powerwall sample these series come from.",
        value=unix_seconds,
    ),
    seed=(Seed(flat="timestamp", value=iso_z),),
)  # fmt: skip

POWER: tuple[WireField, ...] = (
    WireField(
        "solar_w", "W",
        json=(Json("solar_power", float, "W, >= 0 produces", decode=same),),
        history=True,
        sensor=Sensor("solar_power", "Solar power", "power", "power", "measurement", "W",
                      precision=0, state=W),
        metric=Metric("energytui_solar_power_watts", "Solar production, W (>= 0)."),
        influx=Influx("solar_w"),
        seed=(
            Seed("solar_power_watts", ("powerwall", "solar", "power_watts"),
                 "solar_production_watts", "Solar production in watts"),
            Seed(path=("powerwall", "solar", "status"), value=solar_word),
            Seed(path=("net_flow", "solar_production_watts")),
        ),
        rollup=Rollup.MEAN,
    ),
    WireField(
        "battery_w", "W", signs=BATTERY_WORDS,
        json=(
            Json("battery_power", float, "W, > 0 discharges, < 0 charges", decode=same),
            Json("battery_status", BatteryStatus, part="state", encode=BATTERY_WORDS.word),
        ),
        history=True,
        sensor=Sensor("battery_power", "Battery power", "power", "power", "measurement", "W",
                      precision=0, state=W),
        metric=Metric("energytui_battery_power_watts",
                      "Battery power, W (> 0 discharging, < 0 charging)."),
        influx=Influx("battery_w"),
        seed=(
            Seed("battery_power_watts", ("powerwall", "battery", "power_watts")),
            Seed(path=("powerwall", "battery", "status"), value=BATTERY_WORDS.word),
            Seed(path=("net_flow", "battery_charge_watts")),  # its name is the seed's
        ),
        rollup=Rollup.MEAN,
    ),
    WireField(
        "grid_w", "W", signs=GRID_WORDS,
        json=(
            Json("grid_power", float, "W, > 0 imports from the grid, < 0 exports", decode=same),
            Json("grid_direction", GridDirection, part="state", encode=GRID_WORDS.word),
        ),
        history=True,
        sensor=Sensor("grid_power", "Grid power", "power", "power", "measurement", "W",
                      precision=0, state=W),
        metric=Metric("energytui_grid_power_watts",
                      "Grid power, W (> 0 importing, < 0 exporting)."),
        influx=Influx("grid_w"),
        seed=(
            Seed("grid_power_watts", ("powerwall", "grid", "power_watts"), "grid_power_watts",
                 "Grid import/export in watts"),
            Seed(path=("net_flow", "grid_import_watts")),
            Seed(path=("net_flow", "net_grid_flow")),
        ),
        rollup=Rollup.MEAN,
    ),
    WireField(
        "load_w", "W",
        json=(Json("home_power", float, "W, >= 0 consumed by the home", decode=same),),
        history=True,
        sensor=Sensor("home_power", "Home power", "power", "power", "measurement", "W",
                      precision=0, state=W),
        metric=Metric("energytui_home_power_watts", "Home consumption, W (>= 0)."),
        influx=Influx("home_w"),
        seed=(
            Seed("load_power_watts", ("powerwall", "load", "power_watts"), "home_load_watts",
                 "Home load in watts"),
            Seed(path=("net_flow", "home_load_watts")),
        ),
        rollup=Rollup.MEAN,
    ),
    WireField(
        "soe_pct", "%",
        json=(Json("battery_percentage", float | None, "state of energy, 0-100 %", decode=same),),
        history=True,
        sensor=Sensor("battery_level", "Battery", "power", "battery", "measurement", "%",
                      precision=1, state="{:.1f}".format),
        metric=Metric("energytui_battery_charge_ratio", "Battery state of energy, 0-1.",
                      value=ratio),
        influx=Influx("battery_pct"),
        seed=(
            # the seed's scale is the gateway's (pypowerwall level()); the app's sits beside
            Seed("battery_level_percent", ("powerwall", "battery", "percent_charged"),
                 "battery_level_percent", "Battery charge percentage", value=gateway_pct),
            Seed("battery_level_app_percent", ("powerwall", "battery", "percent_charged_app")),
        ),
        rollup=Rollup.MEAN,
    ),
    WireField(
        "reserve_pct", "%",
        json=(Json("backup_reserve_percentage", float | None, "reserve kept for outages, %",
                   decode=same),),
        sensor=Sensor("backup_reserve", "Backup reserve", "power", "battery", "measurement", "%",
                      state="{:.0f}".format),
        metric=Metric("energytui_battery_reserve_ratio", "Backup reserve, 0-1.", value=ratio),
        influx=Influx("reserve_pct"),
        rollup=Rollup.MEAN,
    ),
    WireField(
        "grid_status",
        json=(
            Json("grid_status", GridStatusWord, part="state", encode=word, decode=GridStatus),
            Json("grid_connected", bool | None, "null while the grid status is unknown",
                 part="state", encode=grid_connected),
        ),
        sensor=Sensor("grid_status", "Grid status", "power", "enum",
                      options=tuple(g.value for g in GridStatus), state=word),
        metric=Metric("energytui_grid_connected",
                      "1 when the site is connected to the grid, 0 when islanded or syncing.",
                      value=connected_gauge),
        influx=Influx("grid_up", connected_gauge),
        seed=(
            Seed("grid_status", ("powerwall", "grid", "status"), value=pypowerwall_grid),
            Seed(path=("system_summary", "grid_tied"), value=grid_tied),
        ),
        rollup=Rollup.LAST,
    ),
    WireField(
        "source",
        json=(Json("source", str, "which source produced it: simulated, powerwall, …",
                   part="about", decode=same),),
        influx=Influx("source", tag_text, tag=True),
        rollup=Rollup.LAST,
    ),
    # derived from the fields above: shown everywhere, never stored or read back
    WireField(
        "mode",
        json=(
            Json("mode", str, "what the site is doing (see docs/api.md for the words)",
                 part="state", encode=word),
            Json("mode_label", str, part="state", encode=label),
        ),
        sensor=Sensor("mode", "Mode", "power", "enum",
                      options=tuple(m.value for m in SystemMode), state=word),
    ),
    WireField(
        "self_powered_pct", "%",
        json=(Json("self_powered_percent", float | None,
                   "share of the home's load not taken from the grid, %", part="state",
                   encode=one_decimal),),
        sensor=Sensor("self_powered", "Self-powered", "power", None, "measurement", "%",
                      precision=0, icon="mdi:home-lightning-bolt", state="{:.0f}".format),
    ),
    WireField(
        "solar_self_consumption_pct", "%",
        json=(Json("solar_self_consumption_percent", float | None, part="state",
                   encode=one_decimal, required=False),),
        seed=(Seed(path=("system_summary", "efficiency"), value=efficiency),),
    ),
)  # fmt: skip


#: Derived values only the seed's shapes have: a property of the sample each.
SEED_ONLY: tuple[WireField, ...] = (
    WireField("seed_mode", seed=(Seed(path=("system_summary", "mode"), value=word),)),
)


def _counter(attr: str, key: str, name: str, stem: str, help_: str) -> WireField:
    """A gateway lifetime counter (Wh, one per direction, never signed): ``lifetime.<attr>``
    in the API, a kWh total in Home Assistant, a joules counter in Prometheus, and the
    last value in a rollup."""
    return WireField(
        attr,
        "Wh",
        json=(Json(attr, float, decode=same),),
        sensor=Sensor(key, name, "energy", "energy", "total", "kWh", precision=2, state=kwh),
        metric=Metric(f"energytui_{stem}_joules", help_, "counter", value=joules_from_wh),
        influx=Influx(f"{stem}_kwh", kwh),
        rollup=Rollup.LAST,
    )


#: :class:`~energytui.model.EnergyCounters`, in its field order.
COUNTERS: tuple[WireField, ...] = (
    _counter("solar_produced_wh", "solar_energy", "Solar production", "solar_produced",
             "Solar energy produced (gateway lifetime counter)."),
    _counter("grid_imported_wh", "grid_import", "Grid import", "grid_imported",
             "Energy imported from the grid."),
    _counter("grid_exported_wh", "grid_export", "Grid export", "grid_exported",
             "Energy exported to the grid."),
    _counter("battery_charged_wh", "battery_charged", "Battery charged", "battery_charged",
             "Energy that went into the battery."),
    _counter("battery_discharged_wh", "battery_discharged", "Battery discharged",
             "battery_discharged", "Energy that came out of the battery."),
    _counter("home_consumed_wh", "home_energy", "Home consumption", "home_consumed",
             "Energy consumed by the home."),
)  # fmt: skip

# -- the utility meter ---------------------------------------------------------
#: :class:`~meter_agent.schema.MeterReading`'s fields. Its API shape is the agent's own
#: schema (``MeterOut`` mirrors it); its store column for ``timestamp`` is ``ts``.
METER: tuple[WireField, ...] = (
    WireField(
        "reading_kwh", "kWh",
        sensor=Sensor("meter_energy", "Utility meter", "meter", "energy", "total", "kWh",
                      precision=1, state=float),
        metric=Metric("energytui_meter_joules",
                      "Utility meter register read by the camera (lower only when corrected by"
                      " hand).", "counter", value=joules_from_kwh),
        influx=Influx("reading_kwh"),
        seed=(Seed(path=("utility_meter", "reading_kwh"), metric="meter_reading_kwh",
                   help="Utility meter reading in kWh"),),
        rollup=Rollup.LAST,
    ),
    WireField(
        "timestamp",
        sensor=Sensor("meter_last_read", "Meter last read", "meter", "timestamp",
                      diagnostic=True, state=iso_z),
        metric=Metric("energytui_meter_reading_timestamp_seconds",
                      "Unix time of the meter reading.", value=unix_seconds),
        seed=(Seed(path=("utility_meter", "last_update"), value=iso_z),),
    ),
    WireField(
        "confidence", "0-1",
        sensor=Sensor("meter_confidence", "Meter read confidence", "meter", None, "measurement",
                      "%", diagnostic=True, precision=0, icon="mdi:eye-check",
                      state=percent_text),
        metric=Metric("energytui_meter_confidence_ratio",
                      "OCR confidence of the meter reading, 0-1."),
        influx=Influx("confidence"),
        seed=(Seed(path=("utility_meter", "confidence")),),
        rollup=Rollup.MEAN,
    ),
    WireField("method", influx=Influx("method", tag_text, tag=True),
              seed=(Seed(path=("utility_meter", "method")),), rollup=Rollup.LAST),
    WireField("digits", rollup=Rollup.LAST),
    WireField("id", rollup=Rollup.LAST),
)  # fmt: skip


def _rollup_rules() -> Mapping[str, Rollup]:
    """Store column → rollup, for every series (their columns never share a name)."""
    rules: dict[str, Rollup] = {}
    for f in (*POWER, *COUNTERS, *METER):
        if f.rollup is None:
            continue
        if rules.get(f.attr, f.rollup) is not f.rollup:
            raise ValueError(f"store column {f.attr!r} is declared with two rollups")
        rules[f.attr] = f.rollup
    return rules


#: How the store rolls up each column it holds, declared per field above.
ROLLUP_RULES: Mapping[str, Rollup] = _rollup_rules()
