"""InfluxDB points from the wire table: which measurement, tags and fields a sample gives.

A :class:`~energytui.model.PowerSample` (with its lifetime counters) is one point of
measurement ``power``; an accepted :class:`~meter_agent.schema.MeterReading` is one point
of ``meter``, at the time it was read. Every field is a float (a field's type can never
change once InfluxDB has seen it) and a value not known is left out, never written as 0.
Times are whole milliseconds, truncated as the store's are, so a point and the
store's record of the same sample carry the same time.
docs/influxdb.md describes the schema; the Grafana dashboard in deploy/compose queries it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

from influxdb_client import Point, WritePrecision

from energytui.model import PowerSample
from energytui.store.records import dt_to_ms
from energytui.wire.columns import WireField
from energytui.wire.table import COUNTERS, METER, POWER
from meter_agent.schema import MeterReading

POWER_MEASUREMENT, METER_MEASUREMENT = "power", "meter"
#: the precision of every timestamp written (the client's enum is a str)
MS = cast(WritePrecision, WritePrecision.MS)


def _schema() -> Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    def part(fields: tuple[WireField, ...], tag: bool) -> tuple[str, ...]:
        return tuple(f.influx.name for f in fields if f.influx and f.influx.tag is tag)

    return {
        POWER_MEASUREMENT: (part(POWER, True), part(POWER, False) + part(COUNTERS, False)),
        METER_MEASUREMENT: (part(METER, True), part(METER, False)),
    }


#: measurement -> (tags, fields) that can be written: what a dashboard may query
SCHEMA = _schema()


def _put(point: Point, fields: tuple[WireField, ...], obj: Any) -> None:
    for f in fields:
        col = f.influx
        if col is None:
            continue
        v = getattr(obj, f.attr)
        value = col.value(v)
        if col.tag:
            point.tag(col.name, value)
        elif value is not None and math.isfinite(value):
            point.field(col.name, float(value))


def to_lines(obj: PowerSample | MeterReading) -> list[str]:
    """One power sample or meter reading as line protocol (millisecond timestamps)."""
    if isinstance(obj, PowerSample):
        point = Point(POWER_MEASUREMENT)
        _put(point, POWER, obj)
        if obj.counters is not None:
            _put(point, COUNTERS, obj.counters)
        point.time(dt_to_ms(obj.ts), MS)
    elif isinstance(obj, MeterReading):
        point = Point(METER_MEASUREMENT)
        _put(point, METER, obj)
        point.time(dt_to_ms(obj.timestamp), MS)
    else:
        return []
    line = point.to_line_protocol()
    return [line] if line else []
