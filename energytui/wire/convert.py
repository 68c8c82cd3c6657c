"""Small conversions the wire table names: a model value into one shape's value."""

from __future__ import annotations

from datetime import datetime

from energytui.model import IDLE_W, GridStatus, SeedMode, SystemMode
from energytui.sources.powerwall_details import raw_pct

WH_TO_J = 3600.0
KWH_TO_J = 3_600_000.0


def word(v: GridStatus | SystemMode | SeedMode) -> str:
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


# -- the seed's (the original Flask API's) values -----------------------------------
#: pypowerwall's ``grid_status()`` words, which the seed passed through.
_PYPOWERWALL_GRID = {GridStatus.UP: "UP", GridStatus.DOWN: "DOWN", GridStatus.SYNCING: "SYNCING"}


def pypowerwall_grid(status: GridStatus) -> str | None:
    """ "UP", "DOWN" or "SYNCING" as pypowerwall's ``grid_status()`` says; None when unknown
    (pypowerwall's None too)."""
    return _PYPOWERWALL_GRID.get(status)


def grid_tied(status: GridStatus) -> bool:
    """The seed's ``grid_tied``: true while connected to the grid (it compared with
    "SystemGridConnected", which pypowerwall no longer returns, so it was always false)."""
    return status is GridStatus.UP


def gateway_pct(app: float | None) -> float | None:
    """Our battery percentage (the Tesla app's scale) on the gateway's raw scale, which
    pypowerwall's ``level()`` returns and the seed served (raw = app x 0.95 + 5)."""
    return None if app is None else round(raw_pct(app), 2)


def solar_word(watts: float) -> str:
    """The seed's ``powerwall.solar.status``: "producing" above the idle band, else "idle"."""
    return "producing" if watts > IDLE_W else "idle"


def efficiency(self_consumption_pct: float | None) -> float:
    """The seed's ``system_summary.efficiency``, defined: the share of solar production used
    on site (home or battery) rather than exported, %; 0 while the panels produce nothing
    (as the seed's was). Without a battery it equals the seed's ``min(100, load/solar)``."""
    return 0.0 if self_consumption_pct is None else round(self_consumption_pct, 1)
