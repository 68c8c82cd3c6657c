"""Consumption from meter readings: today and this month, and how it compares
with the Powerwall's own grid-import counter.

A period's consumption is the last reading minus the last reading *before* the
period began (or the first inside it when there is none), so a reading taken
at 23:58 yesterday still anchors today.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from energytui.energy import local_midnight
from meter_agent.schema import MANUAL_METHOD


@dataclass(frozen=True)
class Consumption:
    kwh: float | None
    since: datetime
    readings: int


def consumption(readings: Sequence[tuple], since: datetime) -> Consumption:
    """``readings`` are (ts, kWh) or (ts, kWh, method), sorted by ts; never negative.

    The steps up are summed, except a step *into* a reading set by hand (method
    "manual"): that is a correction, not consumption, whichever way it goes. So a
    replaced meter starting again from zero keeps what the old meter counted in the
    period, and a mistyped correction that is corrected again adds nothing."""
    before = [r for r in readings if r[0] < since]
    inside = [r for r in readings if r[0] >= since]
    if not inside:
        return Consumption(None, since, 0)
    prev = before[-1][1] if before else inside[0][1]
    total = 0.0
    for r in inside:
        kwh = r[1]
        if not (len(r) > 2 and r[2] == MANUAL_METHOD):
            total += max(0.0, kwh - prev)
        prev = kwh
    return Consumption(total, since, len(inside))


def month_start(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    return datetime(local.year, local.month, 1, tzinfo=zone)


def today_and_month(
    readings: Sequence[tuple], now: datetime, zone: ZoneInfo
) -> tuple[Consumption, Consumption]:
    return consumption(readings, local_midnight(now, zone)), consumption(
        readings, month_start(now, zone)
    )


def reconcile(
    meter_kwh: float | None, powerwall_import_kwh: float | None, *, decimals: int | None = 2
) -> str:
    """One line comparing the meter's delta with the gateway's grid import; the meter's
    figures (its delta and the difference) with the meter's own ``decimals``."""
    if meter_kwh is None or powerwall_import_kwh is None:
        return "not enough data to compare yet"
    d = 2 if decimals is None else decimals
    diff = meter_kwh - powerwall_import_kwh
    text = (
        f"meter {meter_kwh:.{d}f} kWh vs Powerwall grid import {powerwall_import_kwh:.2f} kWh "
        f"({diff:+.{d}f} kWh"
    )
    if powerwall_import_kwh > 0.05:
        return f"{text}, {100.0 * diff / powerwall_import_kwh:+.0f} %)"
    return text + ")"
