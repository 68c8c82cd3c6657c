"""The wire: one table maps the model to every outside shape, and back.

* :mod:`~energytui.wire.table` — the fields (the one place to edit when one is added),
* :mod:`~energytui.wire.columns` — what a field can say about each shape,
* :mod:`~energytui.wire.api` — our API's JSON and the viewer's reverse mapping,
* :mod:`~energytui.wire.ha` — Home Assistant sensors and MQTT values,
* :mod:`~energytui.wire.prometheus` — ``/metrics`` series,
* :data:`~energytui.wire.table.ROLLUP_RULES` — how the store rolls up each column.
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
