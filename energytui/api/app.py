"""The FastAPI app, served from the hub's live cache.

Two sets of routes: the original Flask API's (the seed's contract, on its own paths:
:mod:`energytui.api.routes_seed`, its JSON 404 and 500 bodies here) and our richer
shapes under ``/api/v1`` (this module and :mod:`energytui.api.routes_powerwall`).
``/metrics`` has both the seed's and our series.

The app never polls a device and never owns the hub's lifecycle: whoever
created the hub (``energytui serve`` or the TUI) starts and stops it. That is
why the app has no lifespan and two apps may share one hub.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from prometheus_client.exposition import choose_encoder
from starlette.exceptions import HTTPException as StarletteHTTPException

from energytui import __version__
from energytui.api import views
from energytui.api.auth import WriteAuth
from energytui.api.limits import BodyRefused, RequestLimits, refusal_body
from energytui.api.metrics import ServerErrors, make_registry
from energytui.api.problems import problem_sentence
from energytui.api.routes_energy import router as energy_router
from energytui.api.routes_events import router as events_router
from energytui.api.routes_meter import meter_router
from energytui.api.routes_powerwall import router as powerwall_router
from energytui.api.routes_seed import router as seed_router
from energytui.api.schemas import (
    CurrentReadings,
    ErrorResponse,
    HealthOut,
    MeterHistory,
    PowerHistory,
    StoreStatus,
)
from energytui.config import Config
from energytui.hub import Hub
from energytui.model import iso_z, utcnow

log = logging.getLogger(__name__)

ERR = {"model": ErrorResponse}
#: Our own routes' prefix: the seed's routes keep the bare paths.
V1 = "/api/v1"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": problem_sentence(exc.errors())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, BodyRefused):  # too large or too slow, met while a route read it
            body = refusal_body(request.url.path, exc.detail, exc.code)
            return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
        if exc.status_code == 404:  # the seed's body for a path that is not a route
            return JSONResponse(
                {"status": "error", "message": "Endpoint not found", "timestamp": iso_z(utcnow())},
                status_code=404,
            )
        detail = exc.detail if isinstance(exc.detail, str) else "The request cannot be served."
        if exc.status_code == 405:  # Starlette's "Method Not Allowed", as a sentence
            allowed = (exc.headers or {}).get("Allow", "")
            detail = f"{request.method} is not allowed on {request.url.path}" + (
                f"; it answers {allowed}." if allowed else "."
            )
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "The request body is not valid JSON text (UTF-8)."  # FastAPI's wording
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - a bug
        log.exception("unhandled error serving %s", request.url.path)
        sentence = "The server hit an internal error; see the energytui log."
        # the seed's errorhandler(500) body; its /current_readings put the text in "error"
        return JSONResponse(
            {
                "status": "error",
                "message": "Internal server error",
                "error": sentence,
                "detail": sentence,
                "timestamp": iso_z(utcnow()),
            },
            status_code=500,
        )


def create_api(hub: Hub, config: Config) -> FastAPI:
    """Build the API over ``hub``; reads come from its cache, writes go through it."""
    app = FastAPI(
        title="energytui",
        version=__version__,
        description=(
            "Live readings of a home solar site (Tesla Powerwall + camera-read utility meter). "
            "Powers in W with Tesla signs: grid > 0 imports, battery > 0 discharges. "
            "See docs/api.md."
        ),
    )
    app.state.hub = hub
    app.state.config = config
    started = time.monotonic()
    meter_stale_s = config.api.meter_stale_s
    server_errors = ServerErrors()
    registry = make_registry(hub, meter_stale_s=meter_stale_s, server_errors=server_errors)
    _install_error_handlers(app)
    meter = meter_router(hub, config)
    # innermost of ours, so that CORS headers and the 5xx count see its refusals
    app.add_middleware(
        RequestLimits,
        auth=WriteAuth(config.api.token, config.api.trusted),
        write_paths=frozenset(
            r.path for r in meter.routes if isinstance(r, APIRoute) and "POST" in (r.methods or ())
        ),
    )
    if config.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.api.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(server_errors.middleware)
    v1 = APIRouter(prefix=V1)

    @v1.get("/health", response_model=HealthOut, tags=["status"])
    async def health() -> HealthOut:
        """Healthy when the Powerwall data is live; degraded when anything is stale, or a
        sink (the InfluxDB writer) is in error or behind."""
        now = hub.clock.now()
        power_live = hub.power_is_live
        meter_name = views.meter_source_name(hub)
        meter_live = views.meter_is_live(hub, now, meter_stale_s)
        all_live = all(hub.is_live(n) for n in hub.sources)
        refused = hub.state.meter_refused
        sinks = views.sink_status(hub)
        state: Literal["healthy", "degraded", "unhealthy"]
        if not power_live:
            state = "unhealthy"
        elif (
            not all_live
            or hub.store_error
            or refused is not None
            or any(s.state != "ok" for s in sinks.values())
            or (meter_name is None and hub.latest_meter and not meter_live)
        ):
            state = "degraded"
        else:
            state = "healthy"
        return HealthOut(
            status=state,
            timestamp=iso_z(now),
            version=__version__,
            uptime_s=round(time.monotonic() - started, 1),
            powerwall_connected=power_live,
            meter_connected=meter_live,
            meter_refused_lower_kwh=None if refused is None else refused.reading_kwh,
            meter_rejected=views.meter_rejected(hub),
            store=StoreStatus(
                enabled=hub.store is not None,
                readonly=bool(getattr(hub.store, "readonly", False)),
                error=hub.store_error,
            ),
            sources=views.source_health(hub),
            sinks=sinks,
        )

    @v1.get(
        "/current_readings", response_model=CurrentReadings, tags=["readings"], responses={422: ERR}
    )
    async def current_readings(
        include_history: Annotated[
            bool, Query(description="add the in-memory power history and 24 h of meter readings")
        ] = False,
    ) -> CurrentReadings:
        """Everything the dashboard shows; ``stale`` marks data that is not live."""
        return await views.current_readings(
            hub, include_history=include_history, meter_stale_s=meter_stale_s
        )

    @v1.get("/history/meter", response_model=MeterHistory, tags=["history"], responses={422: ERR})
    async def history_meter(
        days: Annotated[float, Query(gt=0, le=3660, description="window length in days")] = 7,
    ) -> MeterHistory:
        """Every accepted meter reading in the window (from the store when there is one)."""
        end = hub.clock.now()
        start = end - timedelta(days=days)
        origin, pts = await views.meter_history(hub, start, end)
        return MeterHistory(
            days=days,
            start=iso_z(start),
            end=iso_z(end),
            count=len(pts),
            origin=origin,
            readings=pts,
        )

    @v1.get("/history/power", response_model=PowerHistory, tags=["history"], responses={422: ERR})
    async def history_power(
        hours: Annotated[
            float, Query(gt=0, le=24 * 3660, description="window length in hours")
        ] = 1,
        max_points: Annotated[
            int | None, Query(ge=2, le=100_000, description="downsample to at most this many")
        ] = None,
    ) -> PowerHistory:
        """Power samples in the window (store rollups for long windows)."""
        end = hub.clock.now()
        start = end - timedelta(hours=hours)
        origin, pts = await views.power_history(hub, start, end, max_points)
        return PowerHistory(
            hours=hours,
            start=iso_z(start),
            end=iso_z(end),
            count=len(pts),
            origin=origin,
            points=pts,
        )

    @app.get(
        "/metrics",
        tags=["status"],
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus exposition (text or OpenMetrics by Accept).",
                "content": {"text/plain": {}, "application/openmetrics-text": {}},
            }
        },
    )
    async def metrics(request: Request) -> Response:
        """Prometheus metrics from the hub's cache; stale power data is left out."""
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(registry), media_type=None, headers={"Content-Type": content_type})

    app.include_router(seed_router)
    v1.include_router(powerwall_router)
    v1.include_router(events_router)
    v1.include_router(energy_router)
    app.include_router(v1)
    app.include_router(meter)
    return app
