"""Helpers for the meter_agent service tests: real uvicorn servers on loopback, test images."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import cv2
import numpy as np
import uvicorn


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
