"""The original Flask API's read routes, answering its JSON exactly (the seed's contract).

Home Assistant's REST sensors, scripts and health checks written for that API keep
working unchanged: ``/health``, ``/current_readings`` (``include_history``),
``/powerwall/status``, ``/powerwall/soe``, ``/powerwall/vitals`` and
``/history/meter?days=N`` have its keys, nesting, status words and status codes.
Its bugs are not kept: the values come from the hub's cache at request time (never a
frozen cache), the words follow Tesla's signs, history comes from the store over the
days asked for, and while the Powerwall data is not live the routes answer 503 with
the seed's error bodies instead of old numbers. Which key holds which value is the
wire table's (:mod:`energytui.wire.seed`). Our richer shapes are under ``/api/v1``.
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from energytui.api import views
from energytui.hub import Hub, meter_from_record
from energytui.model import iso_z
from energytui.wire import seed as wire_seed
from meter_agent.schema import MeterReading

log = logging.getLogger(__name__)
router = APIRouter(tags=["seed (original API)"])

#: Longest a request waits for the Powerwall source's details (normally cached).
DETAILS_WAIT_S = 2.0
#: The seed's default ``days`` and the longest window we serve.
DEFAULT_DAYS, MAX_DAYS = 7.0, 3660.0
#: ``include_history``: the last day of meter readings.
CURRENT_HISTORY_DAYS = 1.0

_NOT_LIVE: dict[int | str, dict[str, Any]] = {
    503: {"description": "The Powerwall data is not live (no sample, stale, or errors)."}
}


def _hub(request: Request) -> Hub:
    return request.app.state.hub


def _now(hub: Hub) -> str:
    return iso_z(hub.clock.now())


def not_live_reason(hub: Hub) -> str:
    """Why the Powerwall data is not live, in one sentence (the source's own error first)."""
    src = hub.power_source
    if src is None:
        return "No Powerwall source is configured."
    err = hub.health[src.name].error_text()  # a wait counted down, as on screen
    if err:
        return err
    if hub.latest_power is None:
        return "No Powerwall reading yet."
    return "The Powerwall data is stale (no recent successful poll)."


def _offline(hub: Hub) -> JSONResponse:
    """The seed's ``/powerwall/*`` error body, answered while the data is not live."""
    return JSONResponse({"error": not_live_reason(hub), "timestamp": _now(hub)}, status_code=503)


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


async def _details(hub: Hub) -> Any:
    """The Powerwall source's slow-schedule details, or None (no such source, or late)."""
    fetch = getattr(hub.power_source, "details", None)
    if not callable(fetch):
        return None
    try:
        return await asyncio.wait_for(fetch(), timeout=DETAILS_WAIT_S)
    except Exception as exc:  # the details are a nicety; never fail the request
        log.warning("Powerwall details not available: %s", type(exc).__name__)
        return None


async def meter_items(hub: Hub, days: float) -> list[dict[str, Any]]:
    """The seed's meter history items over the last ``days``, oldest first: every accepted
    reading from the store (rollups beyond raw retention), else from memory."""
    end = hub.clock.now()
    start = end - timedelta(days=days)
    rows = await views.meter_rows(hub, start, end)
    readings: list[MeterReading]
    if rows is None:
        readings = views.meter_in_memory(hub, start, end)
    else:
        readings = []
        for rec in rows:
            try:
                readings.append(meter_from_record(rec))
            except (KeyError, ValueError):
                continue  # a record this version cannot read (say an older store's): skipped
    return [wire_seed.meter_item(m) for m in readings]


@router.get("/health", response_model=None, responses=_NOT_LIVE)
async def health(request: Request) -> JSONResponse:
    """``healthy``/``online`` (200) while the Powerwall data is live, else
    ``unhealthy``/``offline`` (503). Our detailed health is ``/api/v1/health``."""
    hub = _hub(request)
    if hub.power_is_live:
        return _json({"status": "healthy", "powerwall": "online", "timestamp": _now(hub)})
    return _json(
        {
            "status": "unhealthy",
            "powerwall": "offline",
            "timestamp": _now(hub),
            "powerwall_error": not_live_reason(hub),
        },
        503,
    )


@router.get("/current_readings", response_model=None, responses=_NOT_LIVE)
async def current_readings(
    request: Request,
    include_history: Annotated[
        str, Query(description='"true" adds the last 24 h of meter readings as `history`')
    ] = "false",
) -> JSONResponse:
    """The seed's combined readings: ``powerwall``, ``utility_meter``, ``net_flow`` and
    ``system_summary``; 503 ``{"status": "error", "message": "Powerwall offline", …}``
    while the data is not live."""
    hub = _hub(request)
    s = hub.latest_power
    if s is None or not hub.power_is_live:
        return _json(
            {
                "status": "error",
                "message": "Powerwall offline",
                "powerwall_error": not_live_reason(hub),
                "timestamp": _now(hub),
            },
            503,
        )
    body: dict[str, Any] = {
        "timestamp": _now(hub),
        "status": "ok",
        **wire_seed.current(s, hub.latest_meter),
    }
    if include_history.lower() == "true":  # the seed's test: anything else is false
        body["history"] = await meter_items(hub, CURRENT_HISTORY_DAYS)
    return _json(body)


@router.get("/powerwall/status", response_model=None, responses=_NOT_LIVE)
async def powerwall_status(request: Request) -> JSONResponse:
    """The seed's flat Powerwall readings (pypowerwall's values and words)."""
    hub = _hub(request)
    s = hub.latest_power
    if s is None or not hub.power_is_live:
        return _offline(hub)
    details = await _details(hub)
    sitemaster = getattr(details, "sitemaster", None)
    return _json({**wire_seed.status(s), "sitemaster": sitemaster})


@router.get("/powerwall/soe", response_model=None, responses=_NOT_LIVE)
async def powerwall_soe(request: Request) -> JSONResponse:
    """``battery_percent`` on the gateway's scale (pypowerwall ``level()``), the Tesla
    app's beside it."""
    hub = _hub(request)
    s = hub.latest_power
    if s is None or not hub.power_is_live:
        return _offline(hub)
    flat = wire_seed.status(s)
    return _json(
        {
            "battery_percent": flat["battery_level_percent"],
            "battery_app_percent": flat["battery_level_app_percent"],
            "timestamp": flat["timestamp"],
        }
    )


@router.get("/powerwall/vitals", response_model=None, responses=_NOT_LIVE)
async def powerwall_vitals(request: Request) -> JSONResponse:
    """pypowerwall's device vitals (keyed by device); ``{}`` when the gateway offers none
    (firmware 23.44 and later, or a source without devices)."""
    hub = _hub(request)
    if not hub.power_is_live:
        return _offline(hub)
    vitals = getattr(await _details(hub), "vitals", None)
    return _json(vitals if isinstance(vitals, dict) else {})


@router.get(
    "/history/meter",
    response_model=None,
    responses={400: {"description": "`days` is not a number of days greater than 0."}},
)
async def history_meter(
    request: Request,
    days: Annotated[
        str | None, Query(description="window length in days (default 7, fractions allowed)")
    ] = None,
) -> JSONResponse:
    """Every accepted meter reading of the last ``days`` days, from the store, oldest first
    (the seed kept at most 96 polled in memory)."""
    hub = _hub(request)
    try:
        n = DEFAULT_DAYS if days is None else float(days)
    except ValueError:
        n = math.nan
    if not 0 < n <= MAX_DAYS:
        return _json(
            {
                "error": f"days must be a number of days from above 0 to {MAX_DAYS:g}, e.g. ?days=7.",
                "timestamp": _now(hub),
            },
            400,
        )
    items = await meter_items(hub, n)
    return _json({"readings": items, "count": len(items), "timestamp": _now(hub)})
