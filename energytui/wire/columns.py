"""The kinds of column a wire field can have: one per outside shape.

A :class:`WireField` is one value of the model (a :class:`~energytui.model.PowerSample`
attribute, a lifetime counter, a meter reading field) with everything every outside
shape needs to know about it. The table of fields is in :mod:`energytui.wire.table`;
the functions that walk it for one shape are beside this module (``api``, ``ha``,
``prometheus``, ``rollups``).

A new outside shape is a new column type here, a new attribute of :class:`WireField`,
its values filled in the table and one module that walks it (as :class:`Influx` and
:mod:`energytui.wire.influx`, :class:`Seed` and :mod:`energytui.wire.seed` are): the
fields themselves stay where they are.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from energytui.model import SignWords


class Rollup(enum.StrEnum):
    """How the store summarises a field over a rollup bucket."""

    MEAN = "mean"  # weighted mean, with the bucket's min and max beside it
    LAST = "last"  # the latest value: lifetime counters, words, identifiers
    MAX = "max"  # the highest value
    SUM = "sum"  # the total of the values


#: Where a key sits in ``PowerwallReadings``: what produced the sample, the readings
#: themselves, then the site's state in words.
Part = Literal["about", "reading", "state"]
PARTS: tuple[Part, ...] = ("about", "reading", "state")


def same(v: Any) -> Any:
    return v


@dataclass(frozen=True, slots=True)
class Json:
    """One key of our API's JSON.

    ``encode`` turns the model's value into the key's value; ``decode`` is set on the
    one key a field is read back from (the second-instance viewer), and left None on
    keys derived from it (words, labels, rounded shares).
    """

    name: str
    type: Any  # the pydantic annotation, which also makes the OpenAPI schema
    doc: str | None = None
    part: Part = "reading"
    encode: Callable[[Any], Any] = same
    decode: Callable[[Any], Any] | None = None
    required: bool = True


@dataclass(frozen=True, slots=True)
class Sensor:
    """One Home Assistant entity over MQTT: its discovery words and its published value.

    ``state`` makes the published value from the model's: text, or a number for a
    ``total`` (the sink publishes those never lower than before).
    """

    key: str
    name: str
    group: str  # "power" | "energy" | "meter": which availability topic gates it
    device_class: str | None = None
    state_class: str | None = None
    unit: str | None = None
    options: tuple[str, ...] = ()
    diagnostic: bool = False
    precision: int | None = None
    icon: str | None = None
    state: Callable[[Any], str | float] = str

    @property
    def total(self) -> bool:
        return self.state_class == "total"


@dataclass(frozen=True, slots=True)
class Metric:
    """One Prometheus series: a gauge, or a counter (exported with ``_total``).

    ``value`` makes the sample from the model's value; None leaves the series out.
    """

    name: str
    help: str
    kind: Literal["gauge", "counter"] = "gauge"
    value: Callable[[Any], float | None] = float


@dataclass(frozen=True, slots=True)
class Influx:
    """One InfluxDB field (a float) or tag of the point a sample or reading is written as.

    ``value`` makes the field's number from the model's value (None leaves it out) or,
    for a tag, its text.
    """

    name: str
    value: Callable[[Any], Any] = same
    tag: bool = False


@dataclass(frozen=True, slots=True)
class Seed:
    """One place a field takes in the original Flask API's shapes (the seed's contract).

    ``flat`` is its key in ``/powerwall/status`` (the seed's flat Powerwall readings),
    ``path`` its place in ``/current_readings`` (``("powerwall", "solar", "power_watts")``),
    ``metric`` the seed's Prometheus gauge. ``value`` makes the seed's value from the
    model's (the same one for every place this entry names).
    """

    flat: str | None = None
    path: tuple[str, ...] = ()
    metric: str | None = None
    help: str = ""
    value: Callable[[Any], Any] = same


@dataclass(frozen=True, slots=True)
class WireField:
    """One model value and every outside shape it takes.

    ``attr`` names it on the model (a dataclass field, or a derived property such as
    ``mode``) and, when ``rollup`` is set, as the store record's column.
    """

    attr: str
    unit: str | None = None
    signs: SignWords | None = None  # Tesla's sign words, for a signed flow
    json: tuple[Json, ...] = ()
    history: bool = False  # also a key of history points, under json[0]'s name
    sensor: Sensor | None = None
    metric: Metric | None = None
    influx: Influx | None = None
    seed: tuple[Seed, ...] = ()  # where the seed's shapes have it (energytui.wire.seed)
    rollup: Rollup | None = None  # None: derived, not a column of the store

    @property
    def stored(self) -> bool:
        return self.rollup is not None

    @property
    def read_back(self) -> Json | None:
        """The key the viewer reads this field back from, if it has one."""
        return next((j for j in self.json if j.decode is not None), None)
