"""Small conversions the wire table names: a model value into one shape's value."""

from __future__ import annotations

from datetime import datetime

from energytui.model import GridStatus, SystemMode

WH_TO_J = 3600.0
KWH_TO_J = 3_600_000.0


def word(v: GridStatus | SystemMode) -> str:
    return v.value


def label(v: SystemMode) -> str:
    return v.label


def grid_connected(status: GridStatus) -> bool | None:
    """Connected to the grid; None while that is not known."""
    if status is GridStatus.UNKNOWN:
        return None
    return status is GridStatus.UP


def connected_gauge(status: GridStatus) -> float | None:
    up = grid_connected(status)
    return None if up is None else float(up)


def one_decimal(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def ratio(pct: float) -> float:
    return pct / 100.0


def tag_text(v: str | None) -> str:
    """An InfluxDB tag's text: a tag is never empty (it would drop the tag)."""
    return v or "unknown"


def kwh(wh: float) -> float:
    return wh / 1000.0


def joules_from_wh(wh: float) -> float:
    return wh * WH_TO_J


def joules_from_kwh(value: float) -> float:
    return value * KWH_TO_J


def unix_seconds(ts: datetime) -> float:
    return ts.timestamp()


def percent_text(share: float) -> str:
    return f"{share * 100.0:.0f}"


W = "{:.1f}".format  # a power's MQTT value: watts to a tenth
