"""meter_agent's HTTP API (FastAPI): readings, health, camera preview and calibration.

Read routes are open on the LAN, like the seed's ``/meter``. Routes that change
something (``PUT /calibration``, ``POST /capture``) need ``Authorization: Bearer
<server.token>`` and are refused outright while no token is configured, so a
fresh install cannot be re-calibrated by anyone who finds it. Every error a
client can cause answers with ``{"detail": "<one sentence>"}`` and changes
nothing; an unexpected failure answers 500 with a sentence, never a traceback.
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime
from typing import Any

import cv2
import numpy as np
from fastapi import Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from meter_agent import __version__
from meter_agent.capture import CaptureError
from meter_agent.config import AgentConfigError, CalibrationConfig, describe_validation_error
from meter_agent.http_guard import (
    MAX_BODY_BYTES,
    BadJson,
    BodyGuard,
    BodyTimeout,
    BodyTooLarge,
    parse_json_object,
)
from meter_agent.memory import release_free_memory
from meter_agent.schema import problem_words
from meter_agent.service import (
    CalibrationError,
    CalibrationUpdate,
    MeterService,
    ReadingError,
    StorageError,
    calibration_view,
)

log = logging.getLogger(__name__)

STAGES = ("raw", "window", "processed")

#: routes that grab or read frames; their buffers are handed back once they have answered
HEAVY_ROUTES = frozenset({"/capture", "/frame.jpg", "/ocr", "/calibration", "/reading"})


class ReleaseMemoryAfter:
    """ASGI wrapper: after a route that worked on frames, give the freed pages back, so a
    preview or an on-demand reading does not leave the resting agent bigger (see
    :mod:`meter_agent.memory`)."""

    def __init__(self, app: Any, paths: frozenset[str] = HEAVY_ROUTES) -> None:
        self.app, self.paths = app, paths

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope.get("type") == "http" and scope.get("path") in self.paths:
                release_free_memory()


class ApiError(Exception):
    """An error a client caused or must know about: an HTTP status and one sentence."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers


class ReadingBody(BaseModel):
    """``PUT /reading``: the meter's true reading, as its digits or in kWh (one of them)."""

    model_config = ConfigDict(extra="forbid")

    digits: str | None = None
    reading_kwh: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)


class CalibrationBody(BaseModel):
    """``PUT /calibration``: any subset of the fields ``GET /calibration`` returns."""

    model_config = ConfigDict(extra="forbid")

    roi: list[int] | None = Field(default=None, min_length=4, max_length=4)
    rotate_degrees: float | None = Field(default=None, ge=-180.0, le=180.0)
    display: str | None = None
    last_digit: str | None = None
    expected_digits: int | None = Field(default=None, ge=1, le=12)
    decimals: int | None = Field(default=None, ge=0, le=6)
    threshold: int | None = Field(default=None, ge=0, le=255)


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads its JSON itself (after the token
    check and the body limits, see :mod:`meter_agent.http_guard`), so /docs shows it."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


def _one_sentence(exc: ValidationError | RequestValidationError, origin: str) -> str:
    errs = exc.errors()
    if not errs:
        return f"{origin} is not valid."
    err = errs[0]
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
    if loc and loc[0] in ("query", "path", "header"):
        origin = f"{loc[0]} parameter"
        loc = loc[1:]
    where = ".".join(loc) or "(top level)"
    msg = problem_words(err)
    if err.get("type") == "extra_forbidden":
        msg = "is not a field that can be set here"
    return f"{origin} {where}: {msg[0].lower() + msg[1:]}."


def parse_since(value: str | None) -> datetime | None:
    """``since`` as an aware UTC time; a time without a zone is taken as UTC."""
    if value is None or value == "":
        return None
    if len(value) > 64:
        raise ApiError(400, "since is not an ISO 8601 time such as 2026-11-25T08:00:00Z.")
    try:
        ts = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError:
        raise ApiError(
            400, f"since={value!r} is not an ISO 8601 time such as 2026-11-25T08:00:00Z."
        ) from None
    try:
        return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise ApiError(
            400, f"since={value!r} is outside the times this agent can compare (years 1-9999 UTC)."
        ) from None


def encode_jpeg(img: np.ndarray, width: int | None = None, quality: int = 85) -> bytes:
    """JPEG bytes, downscaled to ``width`` pixels wide when that is smaller."""
    if width and img.shape[1] > width:
        h = max(1, round(img.shape[0] * width / img.shape[1]))
        img = cv2.resize(img, (width, h), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ApiError(500, "the frame could not be encoded as JPEG.")
    return buf.tobytes()


def draw_window(frame: np.ndarray, calibration: CalibrationConfig) -> np.ndarray:
    """The raw frame with the calibrated window outlined where it really lies.

    The ROI is given in the frame rotated by ``rotate_degrees`` (the vision convention),
    so its corners are mapped back through the inverse rotation.
    """
    out = frame.copy()
    if not calibration.roi:
        return out
    x, y, w, h = calibration.roi
    fh, fw = out.shape[:2]
    corners = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float64)
    if abs(calibration.rotate_degrees) > 1e-6:
        m = cv2.getRotationMatrix2D((fw / 2, fh / 2), calibration.rotate_degrees, 1.0)
        inv = cv2.invertAffineTransform(m)
        corners = corners @ inv[:, :2].T + inv[:, 2]
    pts = np.round(corners).astype(np.int32).reshape(-1, 1, 2)
    thick = max(2, fw // 400)
    cv2.polylines(out, [pts], isClosed=True, color=(0, 255, 0), thickness=thick)
    return out


def result_json(result: Any, record_id: str | None = None) -> dict[str, Any]:
    """A ReadResult as JSON (its own ``to_json``), plus the history id when it was recorded."""
    body = dict(result.to_json())
    if record_id is not None:
        body["id"] = record_id
    return body


def create_app(service: MeterService) -> FastAPI:
    """The agent's API around a running (or idle) :class:`MeterService`."""
    app = FastAPI(
        title="meter_agent",
        version=__version__,
        description="Reads the utility meter from a camera; never publishes a wrong value.",
    )
    app.state.service = service
    app.add_middleware(ReleaseMemoryAfter)
    app.add_middleware(BodyGuard)

    # --- errors: one sentence, never a traceback ----------------------------------------
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_: Request, exc: BodyTooLarge) -> JSONResponse:
        return JSONResponse(
            {"detail": f"the body is over the {MAX_BODY_BYTES} bytes this agent takes."},
            status_code=413,
        )

    @app.exception_handler(BodyTimeout)
    async def _too_slow(_: Request, exc: BodyTimeout) -> JSONResponse:
        return JSONResponse(
            {"detail": "the body did not arrive in time; send it all at once."}, status_code=408
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _one_sentence(exc, "request")}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request refused."
        if exc.status_code == 404:
            detail = "no such route; see /docs for the API."
        elif exc.status_code == 405:
            detail = "this route does not take that method."
        return JSONResponse({"detail": detail}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error in a request")
        return JSONResponse(
            {"detail": "internal error; see the agent's log."},
            status_code=500,
        )

    def require_writer(request: Request) -> None:
        token = service.config.server.token
        if not token:
            raise ApiError(403, "set server.token in the config to allow changes.")
        got = request.headers.get("authorization", "")
        scheme, _, value = got.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            value.strip().encode(), token.encode()
        ):
            raise ApiError(
                401,
                "a valid 'Authorization: Bearer <server.token>' header is required.",
                headers={"WWW-Authenticate": "Bearer"},
            )

    # --- readings ------------------------------------------------------------------------
    @app.get("/")
    def index() -> dict[str, Any]:
        """What this is and where to look, for someone who opens the agent in a browser."""
        return {
            "service": "meter_agent",
            "version": __version__,
            "routes": {
                "GET /meter": "latest accepted reading (503 until there is one)",
                "GET /readings": "history: ?since=ISO8601&limit=N&include_rejected=true",
                "GET /health": "status, counts, camera, upload",
                "GET /frame.jpg": "camera picture: ?stage=raw|window|processed&width=N&outline=false",
                "GET /ocr": "read the current frame without recording it",
                "GET /calibration": "the window and OCR settings",
                "PUT /calibration": "change and save them (bearer token)",
                "POST /ocr": "try unsaved settings on the current frame (bearer token)",
                "POST /capture": "take a reading now (bearer token)",
                "PUT /reading": "set the true reading by hand when the checks are stuck (bearer token)",
                "GET /docs": "OpenAPI documentation",
            },
        }

    @app.get("/meter")
    def get_meter() -> JSONResponse:
        status = service.latest_status()
        if status is None:
            raise ApiError(503, "no accepted meter reading yet.")
        return JSONResponse(status.model_dump(mode="json"))

    @app.get("/readings")
    def get_readings(
        since: str | None = None,
        limit: int = Query(100, ge=1, le=10000),
        include_rejected: bool = False,
    ) -> dict[str, Any]:
        ts = parse_since(since)
        rows = service.history.query(since=ts, limit=limit, include_rejected=include_rejected)
        out = []
        for r in rows:
            d = r.model_dump(mode="json", exclude={"per_digit"})
            if r.accepted:
                d.pop("reason", None)
            out.append(d)
        return {"count": len(out), "readings": out}

    @app.get("/health")
    def get_health() -> dict[str, Any]:
        return {"version": __version__, **service.health()}

    # --- camera preview ------------------------------------------------------------------
    @app.get("/frame.jpg")
    def get_frame(
        stage: str = "raw",
        width: int | None = Query(None, ge=16, le=8192),
        outline: bool = True,
    ) -> Response:
        if stage not in STAGES:
            raise ApiError(400, f"stage must be one of {', '.join(STAGES)}, not {stage!r}.")
        try:
            frame = service.current_frame()
        except CaptureError as exc:
            raise ApiError(503, f"no camera frame: {exc}") from None
        if stage == "raw":
            # outline=false: the picture alone, for a client that draws its own window
            img = draw_window(frame, service.config.calibration) if outline else frame
        else:
            try:
                img = service.preview_images(frame)[stage]
            except ValueError as exc:  # vision.ImageError: the window does not fit the frame
                raise ApiError(409, str(exc)) from None
        return Response(
            encode_jpeg(img, width), media_type="image/jpeg", headers={"Cache-Control": "no-store"}
        )

    @app.get("/ocr")
    def get_ocr() -> dict[str, Any]:
        try:
            result, vision = service.ocr_preview_details()
        except CaptureError as exc:
            raise ApiError(503, f"no camera frame: {exc}") from None
        return {"recorded": False, **result_json(result), "vision": vision}

    # --- calibration ---------------------------------------------------------------------
    @app.get("/calibration")
    def get_calibration() -> dict[str, Any]:
        return calibration_view(service.config)

    @app.put(
        "/calibration",
        dependencies=[Depends(require_writer)],
        openapi_extra=json_body(CalibrationBody),
    )
    async def put_calibration(request: Request) -> dict[str, Any]:
        update = await _calibration_update(request, require_fields=True)
        return await run_in_threadpool(_apply_calibration, service, update)

    @app.post(
        "/ocr", dependencies=[Depends(require_writer)], openapi_extra=json_body(CalibrationBody)
    )
    async def post_ocr(request: Request) -> dict[str, Any]:
        """Live OCR with an UNSAVED calibration (any subset of the fields): nothing is stored."""
        update = await _calibration_update(request, require_fields=False)
        return await run_in_threadpool(_ocr_with, service, update)

    @app.post("/capture", dependencies=[Depends(require_writer)])
    def post_capture() -> dict[str, Any]:
        try:
            result, record = service.capture_and_record()
        except CaptureError as exc:
            raise ApiError(503, f"no camera frame: {exc}") from None
        except StorageError as exc:
            raise ApiError(507, str(exc)) from None
        body = result_json(result, record.id)
        body["accepted"] = record.accepted
        if not record.accepted:  # the service's own last check may refuse what the reader took
            body["reason"] = record.reason
            body["reading_kwh"] = None
        return body

    @app.put(
        "/reading", dependencies=[Depends(require_writer)], openapi_extra=json_body(ReadingBody)
    )
    async def put_reading(request: Request) -> dict[str, Any]:
        """Set the last good reading by hand (a replaced meter, or a value that should never
        have been accepted): it is recorded as "manual" and the checks compare with it."""
        raw = await request.body()
        try:
            data = parse_json_object(raw, '{"digits": "012345"}')
        except BadJson as exc:
            raise ApiError(400, str(exc)) from None
        try:
            body = ReadingBody.model_validate(data)
        except ValidationError as exc:
            raise ApiError(422, _one_sentence(exc, "reading")) from None
        if (body.digits is None) == (body.reading_kwh is None):
            raise ApiError(422, "give exactly one of digits and reading_kwh.")
        value: str | float = body.digits if body.digits is not None else body.reading_kwh  # type: ignore[assignment]
        try:
            record = await run_in_threadpool(service.set_reading, value)
        except ReadingError as exc:
            raise ApiError(422, str(exc)) from None
        except StorageError as exc:
            raise ApiError(507, str(exc)) from None
        return {"recorded": True, **record.model_dump(mode="json", exclude={"per_digit", "reason"})}

    return app


async def _calibration_update(request: Request, *, require_fields: bool) -> CalibrationUpdate:
    """Parse a calibration body (any subset of ``GET /calibration``'s fields) or raise ApiError."""
    raw = await request.body()
    try:
        data = parse_json_object(raw, '{"roi": [x, y, w, h]}') if raw.strip() else {}
    except BadJson as exc:
        raise ApiError(400, str(exc)) from None
    if require_fields and not data:
        raise ApiError(400, "the body must be a JSON object with at least one calibration field.")
    try:
        body = CalibrationBody.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, _one_sentence(exc, "calibration")) from None
    return CalibrationUpdate(
        roi=body.roi,
        rotate_degrees=body.rotate_degrees,
        display=body.display,
        last_digit=body.last_digit,
        expected_digits=body.expected_digits,
        decimals=body.decimals,
        threshold=body.threshold,
        clear_roi="roi" in data and data["roi"] is None,
    )


def _ocr_with(service: MeterService, update: CalibrationUpdate) -> dict[str, Any]:
    try:
        result, vision = service.ocr_preview_details(update=update)
    except ValidationError as exc:
        raise ApiError(422, describe_validation_error(exc, "calibration")) from None
    except CalibrationError as exc:
        raise ApiError(422, str(exc)) from None
    except CaptureError as exc:
        raise ApiError(503, f"no camera frame: {exc}") from None
    cal, ocr = service.merged_calibration(update)
    view = calibration_view(service.config.model_copy(update={"calibration": cal, "ocr": ocr}))
    return {
        "recorded": False,
        "saved": False,
        "calibration": view,
        **result_json(result),
        "vision": vision,
    }


def _apply_calibration(service: MeterService, update: CalibrationUpdate) -> dict[str, Any]:
    try:
        cfg = service.apply_calibration(update)
    except ValidationError as exc:
        raise ApiError(422, describe_validation_error(exc, "calibration")) from None
    except CalibrationError as exc:
        raise ApiError(422, str(exc)) from None
    except OSError as exc:
        raise ApiError(
            500, f"the config file cannot be written ({exc.strerror or exc}); nothing was changed."
        ) from None
    except AgentConfigError as exc:  # the file was edited meanwhile into something unreadable
        raise ApiError(409, f"{str(exc).rstrip('.')}; nothing was changed.") from None
    body: dict[str, Any] = {
        "calibration": calibration_view(cfg),
        "saved": service.config_path is not None,
    }
    try:
        result, vision = service.ocr_preview_details()
        body["ocr"] = {**result_json(result), "vision": vision}
    except CaptureError as exc:
        body["ocr"] = None
        body["ocr_error"] = f"no camera frame: {exc}"
    except ValueError as exc:  # the new window does not fit the frame
        body["ocr"] = None
        body["ocr_error"] = str(exc)
    return body
