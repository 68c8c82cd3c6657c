"""``/api/v1/powerwall/*``: the site's status, battery level and device vitals (ours; the
seed's ``/powerwall/*`` shapes are in :mod:`energytui.api.routes_seed`).

The original Flask API proxied pypowerwall on every request; here the hub's
cache answers (a request never reaches the gateway), and the vitals come from
the Powerwall source's slow schedule when it has one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request

from energytui.api import views
from energytui.api.schemas import PowerwallStatus, SoeOut, VitalsOut
from energytui.hub import Hub
from energytui.model import BATTERY_WORDS, GRID_WORDS, SystemMode, iso_z
from energytui.sources.powerwall_alerts import describe_alert
from energytui.wire.convert import grid_connected

log = logging.getLogger(__name__)
router = APIRouter(prefix="/powerwall", tags=["powerwall"])

#: Longest a request waits for the source's details (they are normally cached).
DETAILS_WAIT_S = 2.0


def _hub(request: Request) -> Hub:
    return request.app.state.hub


@router.get("/status", response_model=PowerwallStatus)
async def powerwall_status(request: Request) -> PowerwallStatus:
    """Grid status, battery and mode in words; ``connected`` false means the data is not live."""
    hub = _hub(request)
    now = hub.clock.now()
    s = hub.latest_power
    src = hub.power_source
    health = views.source_health(hub).get(src.name) if src is not None else None
    live = hub.power_is_live
    mode = s.mode if s is not None else SystemMode.UNKNOWN
    return PowerwallStatus(
        timestamp=iso_z(now),
        connected=live,
        stale=not live,
        sample_timestamp=None if s is None else iso_z(s.ts),
        grid_status="unknown" if s is None else s.grid_status.value,
        grid_connected=None if s is None else grid_connected(s.grid_status),
        grid_direction=None if s is None else GRID_WORDS.word(s.grid_w),
        battery_status=None if s is None else BATTERY_WORDS.word(s.battery_w),
        battery_percentage=None if s is None else s.soe_pct,
        backup_reserve_percentage=None if s is None else s.reserve_pct,
        mode=mode.value,
        mode_label=mode.label,
        source=None if s is None else s.source,
        health=health,
        last_error=None if health is None else health.last_error,
    )


@router.get("/soe", response_model=SoeOut)
async def powerwall_soe(request: Request) -> SoeOut:
    """Battery state of energy in percent (pypowerwall proxy's ``/soe`` shape) plus staleness."""
    hub = _hub(request)
    s = hub.latest_power
    return SoeOut(
        percentage=None if s is None else s.soe_pct,
        timestamp=None if s is None else iso_z(s.ts),
        stale=not hub.power_is_live,
    )


def _jsonable(v: Any) -> Any:
    """Dataclasses, tuples and datetimes as plain JSON; non-finite floats as null."""
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: _jsonable(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, datetime):
        return iso_z(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return str(v)


@router.get("/vitals", response_model=VitalsOut)
async def powerwall_vitals(request: Request) -> VitalsOut:
    """Device details (alerts, battery blocks, strings, temperatures, vitals) when available."""
    hub = _hub(request)
    now = iso_z(hub.clock.now())
    src = hub.power_source
    fetch = getattr(src, "details", None)
    if src is None or not callable(fetch):
        site = hub.simulated_site  # its capacity and reserve are known: a viewer needs them
        return VitalsOut(
            timestamp=now,
            available=False,
            notes=["The power source has no device details (the simulated site or a remote hub)."],
            capacity_kwh=None if site is None else site.spec.battery_kwh,
            reserve_pct=None if site is None else site.spec.reserve_pct,
        )
    try:
        d = await asyncio.wait_for(fetch(), timeout=DETAILS_WAIT_S)
    except TimeoutError:
        return VitalsOut(
            timestamp=now, available=False, notes=["The Powerwall details are still loading."]
        )
    except Exception as exc:  # the details are a nicety; never fail the request
        log.warning("Powerwall details failed: %s", type(exc).__name__)
        return VitalsOut(
            timestamp=now, available=False, notes=["Reading the Powerwall details failed."]
        )
    data = _jsonable(d)
    temps = {
        k: v for k, v in (data.get("temperatures") or {}).items() if isinstance(v, int | float)
    }
    return VitalsOut(
        timestamp=now,
        available=data.get("fetched_at") is not None,
        fetched_at=data.get("fetched_at"),
        firmware=data.get("firmware"),
        site_name=data.get("site_name"),
        operation_mode=data.get("operation_mode"),
        alerts=[str(a) for a in data.get("alerts") or []],
        battery_blocks=[b for b in data.get("battery_blocks") or [] if isinstance(b, dict)],
        strings=[x for x in data.get("strings") or [] if isinstance(x, dict)],
        temperatures=temps,
        vitals=data.get("vitals") if isinstance(data.get("vitals"), dict) else None,
        notes=[str(n) for n in data.get("notes") or []],
        capacity_kwh=data.get("capacity_kwh"),
        reserve_pct=data.get("reserve_pct"),
        mode_unknown=data.get("mode_unknown"),
        reserve_unknown=data.get("reserve_unknown"),
        alert_descriptions={str(a): describe_alert(str(a)) for a in data.get("alerts") or []},
    )
