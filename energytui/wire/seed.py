"""The original Flask API's shapes (the seed's contract) from the wire table.

Home Assistant configurations, Grafana queries and scripts written against that API
key on its field names and nesting, so those stay exactly as it built them:
``/powerwall/status`` is a flat dict of the sample (:func:`status`), ``/current_readings``
nests the same values under ``powerwall``, ``utility_meter``, ``net_flow`` and
``system_summary`` (:func:`current`), and ``/metrics`` has its five gauges
(:func:`gauges`). Where each field goes is the table's :class:`~energytui.wire.columns.Seed`
column; what is fixed against the seed (sign words, ``grid_tied``, ``efficiency``,
the mode) is in the value functions the table names. docs/api.md lists every key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from energytui.model import PowerSample, iso_z
from energytui.wire.columns import Seed, WireField
from energytui.wire.table import METER, POWER, SAMPLE_TIME, SEED_ONLY
from meter_agent.schema import MeterReading

#: The sample's fields in the seed's shapes (its time, the flows, the derived ones).
SAMPLE_FIELDS: tuple[WireField, ...] = (SAMPLE_TIME, *POWER, *SEED_ONLY)

#: ``net_flow.description``: the seed had the grid's sign backwards; these are Tesla's.
NET_FLOW_DESCRIPTION = (
    "Tesla signs: grid > 0 imports from the grid, < 0 exports to it;"
    " battery > 0 discharges, < 0 charges"
)

#: The seed's ``utility_meter.method`` while it had no reading.
NO_METER_METHOD = "unknown"


def _places(fields: tuple[WireField, ...], obj: Any) -> Iterator[tuple[Seed, Any]]:
    """Each seed place of ``fields`` with its value from ``obj``."""
    for f in fields:
        for place in f.seed:
            yield place, place.value(getattr(obj, f.attr))


def status(s: PowerSample) -> dict[str, Any]:
    """``/powerwall/status``: the seed's flat readings dict (``sitemaster`` is the caller's)."""
    return {place.flat: v for place, v in _places(SAMPLE_FIELDS, s) if place.flat is not None}


def _put(into: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = into
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def utility_meter(m: MeterReading | None) -> dict[str, Any]:
    """``utility_meter``: the latest accepted reading (``last_update`` is when it was
    read); with none yet, every key null and ``method`` "unknown", as the seed's was."""
    block: dict[str, Any] = {}
    for f in METER:
        for place in f.seed:
            if place.path:
                v = None if m is None else place.value(getattr(m, f.attr))
                _put(block, place.path[1:], v)
    if m is None:
        block["method"] = NO_METER_METHOD
    return block


def current(s: PowerSample, m: MeterReading | None) -> dict[str, Any]:
    """``/current_readings``' ``powerwall``, ``utility_meter``, ``net_flow`` and
    ``system_summary`` blocks, in the seed's order."""
    out: dict[str, Any] = {
        "powerwall": {"solar": {}, "battery": {}, "grid": {}, "load": {}},
        "utility_meter": utility_meter(m),
        "net_flow": {},
        "system_summary": {},
    }
    for place, v in _places(SAMPLE_FIELDS, s):
        if place.path:
            _put(out, place.path, v)
    out["net_flow"]["description"] = NET_FLOW_DESCRIPTION
    return out


def meter_item(m: MeterReading) -> dict[str, Any]:
    """One item of the seed's meter history: ``{"timestamp", "reading"}``, the reading
    being the body the Pi sent (``reading_kwh``, ``timestamp``, ``confidence``,
    ``method``, ``digits``, and ``id`` when it had one)."""
    reading = m.model_dump(mode="json")
    reading["timestamp"] = iso_z(m.timestamp)
    return {"timestamp": reading["timestamp"], "reading": reading}


def gauges(s: PowerSample | None, m: MeterReading | None) -> Iterator[tuple[str, str, float]]:
    """The seed's gauges (name, help, value) from a live sample and a live meter reading;
    one whose value is not known is left out, never exported as 0."""
    found = []
    if s is not None:
        found += list(_places(SAMPLE_FIELDS, s))
    if m is not None:
        found += list(_places(METER, m))
    for place, v in found:
        if place.metric is not None and v is not None:
            yield place.metric, place.help, float(v)
