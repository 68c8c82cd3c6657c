"""Home Assistant over MQTT from the wire table: the sensors to announce, the values to publish."""

from __future__ import annotations

from typing import Any

from energytui.wire.columns import Sensor, WireField
from energytui.wire.table import COUNTERS, METER, POWER

#: Every entity, in table order: the sample's, its lifetime totals, the meter's.
SENSORS: tuple[Sensor, ...] = tuple(
    f.sensor for f in (*POWER, *COUNTERS, *METER) if f.sensor is not None
)


def states(fields: tuple[WireField, ...], obj: Any) -> list[tuple[Sensor, str | float]]:
    """Each sensor's published value from ``obj`` (a sample, its counters, a meter reading).

    A value that is not known is left out, never published as 0. A time (``device_class``
    timestamp) comes last, so whoever sees it has already been sent the rest.
    """
    found = []
    for f in fields:
        if f.sensor is None:
            continue
        v = getattr(obj, f.attr)
        if v is not None:
            found.append((f.sensor, f.sensor.state(v)))
    return sorted(found, key=lambda sv: sv[0].device_class == "timestamp")
