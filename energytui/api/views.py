"""Hub state → API bodies.

Everything is read from the hub's cache at request time, so nothing is ever
cached forever (the seed's bug); anything not live is marked ``stale`` rather
than presented as current.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Literal

from energytui.api.schemas import (
    CurrentHistory,
    CurrentReadings,
    EnergyTodayOut,
    MeterOut,
    MeterPoint,
    MeterRejectedOut,
    PowerPoint,
    PowerwallReadings,
    SinkStatusOut,
    SourceHealthOut,
)
from energytui.hub import Hub
from energytui.model import PowerSample, iso_z, parse_iso, utcnow
from energytui.view import SinkView
from energytui.wire import api as wire_api
from meter_agent.schema import MeterReading

log = logging.getLogger(__name__)


def source_health(hub: Hub) -> dict[str, SourceHealthOut]:
    out = {}
    for name, h in hub.health.items():
        d = h.to_dict()
        d["live"] = hub.is_live(name)
        out[name] = SourceHealthOut.model_validate(d)
    return out


def sink_status(hub: Hub) -> dict[str, SinkStatusOut]:
    """Each sink the runtime registered with the hub, as it reports itself now."""
    out = {}
    for name, report in hub.sink_reports().items():
        if report is None:
            out[name] = SinkStatusOut(state="error", line=SinkView.unreadable(name).line)
        else:
            out[name] = SinkStatusOut.model_validate({**report.to_dict(), "line": report.line()})
    return out


def meter_rejected(hub: Hub) -> MeterRejectedOut | None:
    """The latest reading the hub refused, with why and when; None before any."""
    r = hub.state.meter_rejected
    if r is None:
        return None
    return MeterRejectedOut.model_validate(
        {
            "reading_kwh": r.reading.reading_kwh,
            "confidence": r.reading.confidence,
            "timestamp": iso_z(r.reading.timestamp),
            "code": r.refused.code.value,
            "reason": r.refused.text,
            "at": iso_z(r.received),
        }
    )


def powerwall_readings(hub: Hub, now: datetime) -> PowerwallReadings | None:
    s = hub.latest_power
    if s is None:
        return None
    return PowerwallReadings.model_validate(
        {
            **wire_api.readings(s),
            "age_s": round(max(0.0, (now - s.ts).total_seconds()), 1),
            "stale": not hub.power_is_live,
        }
    )


def meter_source_name(hub: Hub) -> str | None:
    src = hub.meter_source
    return None if src is None else src.name


def meter_last_update(hub: Hub) -> datetime | None:
    """When the hub last heard from the meter: the poll's success, else the reading's own time."""
    name = meter_source_name(hub)
    if name is not None and hub.health[name].last_success is not None:
        return hub.health[name].last_success
    m = hub.latest_meter
    return None if m is None else m.timestamp


def meter_is_live(hub: Hub, now: datetime, stale_after_s: float) -> bool:
    """A polled meter follows the hub's health; a pushed one is live while younger than the limit.

    The agent stamps readings with the wall clock, so their age is taken on the wall
    clock too (``now`` is the hub's clock, which runs faster in an accelerated demo).
    """
    m = hub.latest_meter
    if m is None:
        return False
    name = meter_source_name(hub)
    if name is not None:
        return hub.is_live(name)
    return (utcnow() - m.timestamp).total_seconds() <= stale_after_s


def meter_out(hub: Hub, now: datetime, stale_after_s: float) -> MeterOut | None:
    m = hub.latest_meter
    if m is None:
        return None
    lu = meter_last_update(hub)
    return MeterOut(
        reading_kwh=m.reading_kwh,
        timestamp=iso_z(m.timestamp),
        confidence=m.confidence,
        method=m.method,
        digits=m.digits,
        id=m.id,
        last_update=None if lu is None else iso_z(lu),
        age_s=round(max(0.0, (utcnow() - m.timestamp).total_seconds()), 1),
        stale=not meter_is_live(hub, now, stale_after_s),
    )


def energy_today(hub: Hub) -> EnergyTodayOut:
    e = hub.energy
    d = e.best.to_dict()
    d["day"] = None if e.day is None else e.day.isoformat()
    return EnergyTodayOut.model_validate(d)


def power_point(s: PowerSample) -> PowerPoint:
    return PowerPoint.model_validate(wire_api.point(s))


def power_point_from_record(rec: dict) -> PowerPoint | None:
    """A store record (raw or rolled up) as a point; None when it lacks a time."""
    try:
        point = wire_api.point_from_record(rec)
    except (TypeError, ValueError):
        return None
    return None if point is None else PowerPoint.model_validate(point)


def meter_point(m: MeterReading) -> MeterPoint:
    return MeterPoint(
        timestamp=iso_z(m.timestamp),
        reading_kwh=m.reading_kwh,
        confidence=m.confidence,
        method=m.method,
    )


def meter_point_from_record(rec: dict) -> MeterPoint | None:
    ts = rec.get("ts")
    try:
        when = parse_iso(ts) if isinstance(ts, str) else ts
        kwh = rec.get("reading_kwh")
        if not isinstance(when, datetime) or kwh is None:
            return None
        conf = rec.get("confidence")
        method = rec.get("method")
        return MeterPoint(
            timestamp=iso_z(when),
            reading_kwh=float(kwh),
            confidence=None if conf is None else float(conf),
            method=None if method is None else str(method),
        )
    except (TypeError, ValueError):
        return None


async def meter_rows(hub: Hub, start: datetime, end: datetime) -> list[dict] | None:
    """The store's meter records in the window, oldest first; None without a store (or
    when it cannot be read: the caller falls back to memory).

    Raw records while the window lies within raw retention (every reading, no
    cap); beyond that the store's rollups, whose ``reading_kwh`` is the last
    reading of each bucket.
    """
    raw_days = getattr(hub.store, "raw_retention_days", 14)
    oldest_raw = hub.clock.now() - timedelta(days=raw_days)
    resolution = "raw" if start >= oldest_raw else "auto"
    try:
        return await hub.query_store("meter", start, end, resolution=resolution)
    except Exception as exc:  # the store being unwell must not fail the request
        log.warning("meter history from the store failed, using memory: %s", exc)
        return None


def meter_in_memory(hub: Hub, start: datetime, end: datetime) -> list[MeterReading]:
    """The readings the hub holds in memory within the window (no store)."""
    return [m for m in tuple(hub.state.meter_history) if start <= m.timestamp <= end]


Origin = Literal["store", "memory"]


async def meter_history(
    hub: Hub, start: datetime, end: datetime
) -> tuple[Origin, list[MeterPoint]]:
    """Every accepted reading in the window: from the store when there is one, else memory."""
    rows = await meter_rows(hub, start, end)
    if rows is not None:
        pts = [p for p in (meter_point_from_record(r) for r in rows) if p is not None]
        return "store", pts
    return "memory", [meter_point(m) for m in meter_in_memory(hub, start, end)]


async def power_history(
    hub: Hub, start: datetime, end: datetime, max_points: int | None
) -> tuple[Origin, list[PowerPoint]]:
    """Power samples in the window: from the store (it picks raw or rollups), else memory."""
    try:
        rows = await hub.query_store("power", start, end, resolution="auto", max_points=max_points)
    except Exception as exc:
        log.warning("power history from the store failed, using memory: %s", exc)
        rows = None
    if rows is not None:
        pts = [p for p in (power_point_from_record(r) for r in rows) if p is not None]
        return "store", pts
    pts = [power_point(s) for s in tuple(hub.state.history) if start <= s.ts <= end]
    if max_points and len(pts) > max_points:
        step = len(pts) / max_points
        pts = [pts[int(i * step)] for i in range(max_points)]
    return "memory", pts


async def current_readings(
    hub: Hub, *, include_history: bool, meter_stale_s: float
) -> CurrentReadings:
    now = hub.clock.now()
    history = None
    if include_history:
        _, meter_pts = await meter_history(hub, now - timedelta(days=1), now)
        history = CurrentHistory(
            power=[power_point(s) for s in tuple(hub.state.history)], meter=meter_pts
        )
    return CurrentReadings(
        timestamp=iso_z(now),
        stale=not hub.power_is_live,
        powerwall=powerwall_readings(hub, now),
        meter=meter_out(hub, now, meter_stale_s),
        energy_today=energy_today(hub),
        sources=source_health(hub),
        history=history,
    )
