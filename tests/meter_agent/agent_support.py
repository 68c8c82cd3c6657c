"""Helpers for the meter_agent service tests: real uvicorn servers on loopback, test images."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import cv2
import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from meter_agent.schema import MeterReading


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LoopbackServer:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LoopbackServer:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"test server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=20)
        self.server = self.thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def digits_image(text: str, size: tuple[int, int] = (320, 120), seed: int = 0) -> np.ndarray:
    """A small BGR picture of dark digits on a light plate with a little noise.

    Only a placeholder picture for the capture and storage tests; the reading tests use
    meter_agent.synth.
    """
    w, h = size
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 210, np.uint8)
    cv2.putText(img, text, (10, int(h * 0.75)), cv2.FONT_HERSHEY_SIMPLEX, h / 50, (20, 20, 20), 3)
    noise = rng.normal(0, 4, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def hub_app() -> FastAPI:
    """A small stand-in for the energytui hub's POST /meter_reading (dedupes by id)."""
    app = FastAPI()
    app.state.received = []  # every body that arrived, in arrival order
    app.state.stored = {}
    app.state.token = ""
    app.state.fail_with = 0
    app.state.refuse_ids = set()
    app.state.auth_headers = []

    @app.post("/meter_reading")
    async def meter_reading(request: Request) -> JSONResponse:
        app.state.auth_headers.append(request.headers.get("authorization"))
        if app.state.token and request.headers.get("authorization") != f"Bearer {app.state.token}":
            return JSONResponse({"detail": "bad token"}, status_code=401)
        if app.state.fail_with:
            return JSONResponse({"detail": "busy"}, status_code=app.state.fail_with)
        body = MeterReading.model_validate(await request.json())
        if body.id in app.state.refuse_ids:
            return JSONResponse({"detail": "reading_kwh is implausible"}, status_code=422)
        if app.state.stored and body.reading_kwh < max(
            r.reading_kwh for r in app.state.stored.values()
        ):
            return JSONResponse({"detail": "lower than the last accepted"}, status_code=409)
        app.state.received.append(body)
        if body.id in app.state.stored:
            return JSONResponse({"status": "duplicate"}, status_code=200)
        app.state.stored[body.id] = body
        return JSONResponse({"status": "stored"}, status_code=201)

    return app
