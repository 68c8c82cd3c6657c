"""``POST /meter_reading``: meter readings written into the hub, in two shapes.

The seed's route answers the seed's shapes, because the seed's Pi (and anything else
written against the Flask API) reads them: 200 ``{"status": "accepted", "message":
"Reading stored", …}`` and 400 ``{"status": "rejected", "reason": …}``. It takes the
seed's body: only ``reading_kwh`` is required and unknown keys are ignored
(:class:`~energytui.api.schemas.SeedMeterIn`). Our own ``/api/v1/meter_reading`` keeps
the strict body (every key known, a timestamp with a zone) and our status codes: 201
stored, 200 duplicate, 409 lower than the last, 422 refused.

Both go through the same steps, in an order that matters: the writer is authenticated
first (a token, or an address in ``api.trusted_networks``), then the body is read up to
:data:`MAX_BODY_BYTES` (a larger one is refused before a byte of it is parsed), then
parsed and checked, then the hub applies the plausibility checks
(:func:`meter_agent.rules.implausible`) and keeps a refused reading with its reason.
The app's door (:class:`~energytui.api.limits.RequestLimits`) does the first two from
the headers alone, before any route runs; the route repeats them so that it is safe on
its own. The handlers read the raw request instead of declaring a body model because
FastAPI reads and parses a declared body before it runs any dependency, the token check
included.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from energytui.api.auth import make_write_guard
from energytui.api.limits import CLOSE, MAX_BODY_BYTES, TOO_LARGE, BodyTooLarge
from energytui.api.problems import problem_sentence
from energytui.api.schemas import (
    ErrorResponse,
    MeterPostResult,
    MeterReadingIn,
    SeedMeterAccepted,
    SeedMeterIn,
    SeedMeterRejected,
)
from energytui.config import Config
from energytui.hub import Hub
from meter_agent import rules as meter_rules
from meter_agent.schema import MeterReading, iso_z

MISSING_READING = "Missing required field: reading_kwh"  # the seed's words, kept
NOT_JSON = "The request body is not valid JSON."
NOT_UTF8 = "The request body is not valid JSON text (UTF-8)."
TOO_DEEP = "The request body is nested too deeply to be a reading."


async def read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused as soon as it is known to pass ``limit``: from its
    Content-Length before reading, or while reading one without (chunked). The app's
    :class:`~energytui.api.limits.RequestLimits` refuses these first; this keeps a route
    safe when it is served without it (a test's ASGI client)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _refusal_text(hub: Hub, reading: MeterReading, outcome: str) -> str:
    """The sentence for a reading the hub refused (``outcome`` is not stored/duplicate)."""
    rejected = hub.state.meter_rejected
    if rejected is not None and rejected.reading == reading:
        return rejected.refused.text
    last = hub.latest_meter
    if outcome == "lower" and last is not None:  # a hub without plausibility limits
        return meter_rules.lower_than(reading.reading_kwh, last.reading_kwh).text
    return f"The reading was refused ({outcome})"


def _seed_rejected(
    reason: str, code: str, status_code: int = 400, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = SeedMeterRejected(reason=reason, code=code)
    return JSONResponse(body.model_dump(), status_code=status_code, headers=headers)


_SEED_BODY = {
    "required": True,
    "content": {"application/json": {"schema": SeedMeterIn.model_json_schema()}},
}
_OUR_BODY = {
    "required": True,
    "content": {"application/json": {"schema": MeterReadingIn.model_json_schema()}},
}
_ERR: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No token, or a wrong one."},
    403: {"model": ErrorResponse, "description": "No api.token is configured."},
}


def meter_router(hub: Hub, config: Config) -> APIRouter:
    """The write routes for meter readings, over ``hub``, guarded as ``config.api`` says."""
    guard = make_write_guard(config.api.token, config.api.trusted)
    router = APIRouter(tags=["meter"], dependencies=[Depends(guard)])

    @router.post(
        "/meter_reading",
        response_model=SeedMeterAccepted,
        openapi_extra={"requestBody": _SEED_BODY},
        responses={
            400: {"model": SeedMeterRejected, "description": "Not a reading, or implausible."},
            413: {"model": SeedMeterRejected, "description": "The body is too large."},
            **_ERR,
        },
    )
    async def post_seed_meter_reading(request: Request) -> Any:
        """The seed's route: 200 accepted (stored now, or already), 400 rejected with a
        reason (no reading_kwh, not JSON, or refused by the plausibility checks: too low
        a confidence, lower than the last and not set by hand, or a larger rise than
        meter.max_daily_increase_kwh a day). A refused reading is kept in the store's
        ``meter_rejected`` series with its reason."""
        try:
            raw = await read_capped(request)
        except BodyTooLarge:  # the rest of a chunked body is not read: hang up
            return _seed_rejected(TOO_LARGE, "too_large", 413, CLOSE)
        try:  # an empty body is no reading at all, as the seed saw it
            data = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except UnicodeDecodeError:
            return _seed_rejected(NOT_UTF8, "invalid")
        except ValueError:
            return _seed_rejected(NOT_JSON, "invalid")
        except RecursionError:  # the C parser's own depth check
            return _seed_rejected(TOO_DEEP, "invalid")
        if not isinstance(data, dict) or "reading_kwh" not in data:
            return _seed_rejected(MISSING_READING, "invalid")
        try:
            reading = SeedMeterIn.model_validate(data).to_reading(hub.clock.now())
        except ValidationError as exc:
            return _seed_rejected(problem_sentence(exc.errors(), count_others=False), "invalid")
        outcome = await hub.ingest_meter(reading)
        if outcome not in ("stored", "duplicate"):
            code = meter_rules.Refusal.NOT_MONOTONIC.value if outcome == "lower" else outcome
            return _seed_rejected(_refusal_text(hub, reading, outcome) + ".", code)
        result: Literal["stored", "duplicate"] = "stored" if outcome == "stored" else "duplicate"
        return SeedMeterAccepted(
            result=result,
            id=reading.id,
            reading_kwh=reading.reading_kwh,
            timestamp=iso_z(reading.timestamp),
        )

    @router.post(
        "/api/v1/meter_reading",
        response_model=MeterPostResult,
        status_code=status.HTTP_201_CREATED,
        openapi_extra={"requestBody": _OUR_BODY},
        responses={
            200: {"model": MeterPostResult, "description": "Already stored (same id)."},
            400: {"model": ErrorResponse, "description": "The body cannot be decoded."},
            409: {
                "model": ErrorResponse,
                "description": "Lower than the last accepted reading (and not set by hand).",
            },
            413: {"model": ErrorResponse, "description": "The body is too large."},
            422: {
                "model": ErrorResponse,
                "description": "Not a reading, or refused by the plausibility checks.",
            },
            **_ERR,
        },
    )
    async def post_meter_reading(request: Request) -> Any:
        """Take a reading from a meter agent: 201 stored, 200 duplicate, 409 lower than the
        last (a reading with method "manual", set by hand at the agent, may be lower: it
        corrects the ones before), 422 not a reading or refused by the plausibility checks
        (kept in the store's ``meter_rejected`` series)."""
        try:
            raw = await read_capped(request)
        except BodyTooLarge:
            raise HTTPException(413, TOO_LARGE, headers=CLOSE) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, NOT_UTF8) from None
        if not text.strip():
            raise RequestValidationError(
                [{"type": "missing", "loc": ("body",), "msg": "A JSON body is required"}]
            )
        try:
            body = MeterReadingIn.model_validate_json(text)
            reading = MeterReading.model_validate(body.model_dump())
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            ) from None
        outcome = await hub.ingest_meter(reading)
        if outcome not in ("stored", "duplicate"):
            return JSONResponse(
                {"detail": _refusal_text(hub, reading, outcome) + ", so it was not stored."},
                status_code=status.HTTP_409_CONFLICT if outcome == "lower" else 422,
            )
        return JSONResponse(
            MeterPostResult(
                status="stored" if outcome == "stored" else "duplicate",
                id=reading.id,
                reading_kwh=reading.reading_kwh,
            ).model_dump(),
            status_code=status.HTTP_201_CREATED if outcome == "stored" else status.HTTP_200_OK,
        )

    return router
