"""A real meter_agent on loopback over a synthetic meter, for screenshots and demos.

Only the screenshot command and the tests use it; the monitor itself talks to
an agent over HTTP and never imports the agent's internals.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn

from meter_agent.capture import SyntheticSource
from meter_agent.config import AgentConfig, save_agent_config
from meter_agent.server import create_app
from meter_agent.service import MeterService


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DemoAgent:
    """Serve a MeterService on 127.0.0.1 in a thread; ``offset`` misplaces the window (px)."""

    def __init__(
        self,
        workdir: Path,
        *,
        token: str = "demo-token",
        offset: tuple[int, int] = (0, 0),
        decimals: int = 1,
    ) -> None:
        cfg = AgentConfig.model_validate(
            {
                "camera": {"source": "synthetic", "width": 1280, "height": 720},
                "ocr": {"expected_digits": 6, "burst_frames": 1, "decimals": decimals},
                "server": {"token": token},
                "storage": {
                    "data_dir": str(workdir / "data"),
                    "image_dir": str(workdir / "img"),
                    "save_images": "none",
                },
                "calibration": {"display": "lcd7"},
            }
        )
        self.token = token
        self.source = SyntheticSource(cfg.camera, cfg.ocr, creep=False)
        hint = self.source.calibration_hint()
        self.true_roi = hint["roi"]
        self.rotation = hint["rotate_degrees"]
        x, y, w, h = self.true_roi
        cfg.calibration.roi = [x + offset[0], y + offset[1], w, h]
        cfg.calibration.rotate_degrees = self.rotation if offset == (0, 0) else 0.0
        self.config_path = workdir / "agent.json"
        save_agent_config(cfg, self.config_path)
        self.service = MeterService(cfg, self.config_path, source=self.source)
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(self.service),
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="off",
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DemoAgent:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo meter agent did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.service.close()

    def __enter__(self) -> DemoAgent:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def demo_meter_history(hub, *, end: datetime | None = None, days: int = 3) -> None:
    """Fill the hub with hourly meter readings ending at ``end`` (for the meter screen)."""
    from meter_agent.schema import MeterReading

    end = end or datetime.now(UTC)
    kwh = 31415.9
    hours = days * 24
    for i in range(hours + 1):
        ts = end - timedelta(hours=hours - i)
        kwh += 0.3 + (0.9 if 17 <= ts.hour <= 21 else 0.0)
        hub.state.meter_history.append(
            MeterReading(
                reading_kwh=round(kwh, 1),
                timestamp=ts,
                confidence=0.97,
                method="cnn+seven_segment",
                digits=None,
                id=f"demo-{i}",
            )
        )
    hub.state.latest_meter = hub.state.meter_history[-1]
