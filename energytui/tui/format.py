"""Number and time formatting for the screens: one place, so every screen agrees."""

from __future__ import annotations

from datetime import datetime

#: Which battery percentage the screens show: the Tesla app's (the gateway's own figure,
#: pypowerwall ``level()``, reads 5 % higher at empty; the seed's API fields keep that
#: one, see docs/api.md), said next to every battery percentage on screen.
SOE_SCALE = "Tesla app"

#: the colour of every figure while its data is stale, on every screen (Rich styles and
#: the stylesheet's ``.stale`` rules use this one grey)
STALE = "#808080"


def kw(watts: float | None) -> str:
    """Watts as kW with two decimals ("3.42 kW"), or W below 1 kW ("450 W")."""
    if watts is None:
        return "—"
    a = abs(watts)
    if a < 1000:
        return f"{a:.0f} W"
    return f"{a / 1000:.2f} kW"


def kw_signed(watts: float | None) -> str:
    """Like :func:`kw` but keeps the sign, for ranges of grid and battery power."""
    if watts is None:
        return "—"
    return ("-" if watts < 0 else "") + kw(watts)


def kwh(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} kWh"


def duration(hours: float | None) -> str:
    if hours is None:
        return "—"
    minutes = int(round(hours * 60))
    if minutes >= 48 * 60:
        return f"{minutes // 1440} d"
    h, m = divmod(minutes, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min"


def age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    s = int(seconds)
    if s < 60:
        return f"{s} s ago"
    if s < 3600:
        return f"{s // 60} min ago"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min ago"
    return f"{s // 86400} d ago"


def local_time(ts: datetime, zone) -> str:
    return ts.astimezone(zone).strftime("%H:%M:%S")
