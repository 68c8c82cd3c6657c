"""The wire: one table maps the model to every outside shape, and back.

* :mod:`~energytui.wire.table` — the fields (the one place to edit when one is added),
* :mod:`~energytui.wire.columns` — what a field can say about each shape,
* :mod:`~energytui.wire.convert` — the small conversions the table names,
* :mod:`~energytui.wire.api` — our API's JSON and the viewer's reverse mapping,
* :mod:`~energytui.wire.ha` — Home Assistant sensors and MQTT values,
* :mod:`~energytui.wire.prometheus` — ``/metrics`` series,
* :mod:`~energytui.wire.influx` — InfluxDB points (line protocol),
* :data:`~energytui.wire.table.ROLLUP_RULES` — how the store rolls up each column.

Growing it: another outside shape is another column of the same table. The original
Flask API's shapes (``/current_readings`` nesting ``powerwall.solar.power_watts``,
``/powerwall/status`` keys such as ``battery_level_percent``, its Prometheus names
``solar_production_watts``, ``battery_level_percent``, ``grid_power_watts``,
``home_load_watts``) become a column type in :mod:`~energytui.wire.columns` (say a
``Seed`` with the flat key, the nested path and the metric), an attribute of
:class:`WireField` filled in for the fields the seed had, and one module here that
walks it, as InfluxDB points are (:class:`~energytui.wire.columns.Influx`).
"""

from energytui.wire.columns import Json, Metric, Rollup, Sensor, WireField
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
    "Sensor",
    "WireField",
]
