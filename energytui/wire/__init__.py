"""The wire: one table maps the model to every outside shape, and back.

* :mod:`~energytui.wire.table` — the fields (the one place to edit when one is added),
* :mod:`~energytui.wire.columns` — what a field can say about each shape,
* :mod:`~energytui.wire.convert` — the small conversions the table names,
* :mod:`~energytui.wire.api` — our API's JSON and the viewer's reverse mapping,
* :mod:`~energytui.wire.ha` — Home Assistant sensors and MQTT values,
* :mod:`~energytui.wire.prometheus` — ``/metrics`` series,
* :mod:`~energytui.wire.influx` — InfluxDB points (line protocol),
* :mod:`~energytui.wire.seed` — the original Flask API's JSON and Prometheus names (the
  seed's contract: ``/powerwall/status``'s flat keys, ``/current_readings``' nesting,
  ``solar_production_watts`` …), from each field's :class:`~energytui.wire.columns.Seed`
  places,
* :data:`~energytui.wire.table.ROLLUP_RULES` — how the store rolls up each column.

Growing it: another outside shape is another column of the same table (a column type in
:mod:`~energytui.wire.columns`, an attribute of :class:`WireField` filled in for the
fields that have it) and one module here that walks it, as InfluxDB points
(:class:`~energytui.wire.columns.Influx`) and the seed's shapes
(:class:`~energytui.wire.columns.Seed`) are.
"""

from energytui.wire.columns import Json, Metric, Rollup, Seed, Sensor, WireField
from energytui.wire.table import COUNTERS, METER, POWER, ROLLUP_RULES, SAMPLE_TIME

__all__ = [
    "COUNTERS",
    "METER",
    "POWER",
    "ROLLUP_RULES",
    "SAMPLE_TIME",
    "Json",
    "Metric",
    "Rollup",
    "Seed",
    "Sensor",
    "WireField",
]
