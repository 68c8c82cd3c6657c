"""Build a real MeterService on a synthetic meter, with its config file on disk, for the tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_support import LoopbackServer

from meter_agent.capture import FileSource, FrameSource, SyntheticSource
from meter_agent.config import AgentConfig, load_agent_config, save_agent_config
from meter_agent.server import create_app
from meter_agent.service import MeterService

TOKEN = "test-token-123"


def write_config(tmp_path: Path, **sections: dict[str, Any]) -> Path:
    """A config file for a synthetic 6-digit LCD meter, calibrated to where the meter is."""
    data: dict[str, Any] = {
        "camera": {"source": "synthetic", "width": 960, "height": 540, "burst_interval_s": 0.0},
        "ocr": {
            "expected_digits": 6,
            "decimals": 0,
            "burst_frames": 2,
            "interval_s": 1.0,
            # readings come seconds apart in a test: allow any rise, keep refusing a fall
            "max_increase_per_day": 1e9,
        },
        "storage": {"data_dir": "data", "image_dir": "images", "log_file": ""},
        "server": {"token": TOKEN},
        "calibration": {"display": "lcd7"},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    cfg = AgentConfig.model_validate(data)
    hint = synthetic_source(cfg).calibration_hint()
    if "roi" not in sections.get("calibration", {}):
        cfg.calibration.roi = hint["roi"]
        cfg.calibration.rotate_degrees = round(hint["rotate_degrees"], 2)
    path = tmp_path / "meter-agent.json"
    path.write_text(json.dumps({"comment": "kept by the agent"}))
    save_agent_config(cfg, path)
    return path


def synthetic_source(cfg: AgentConfig, start: int = 123456) -> SyntheticSource:
    return SyntheticSource(cfg.camera, cfg.ocr, start=start, creep=False)


@dataclass
class Agent:
    service: MeterService
    server: LoopbackServer
    config_path: Path
    source: FrameSource

    @property
    def url(self) -> str:
        return self.server.url

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}

    def stop(self) -> None:
        self.server.stop()
        self.service.close()


def start_agent(config_path: Path, source: FrameSource | None = None, start: int = 123456) -> Agent:
    cfg = load_agent_config(config_path)
    if source is None:
        source = (
            synthetic_source(cfg, start)
            if cfg.camera.source == "synthetic"
            else FileSource(cfg.camera.path)
        )
    service = MeterService(cfg, config_path, source=source)
    server = LoopbackServer(create_app(service)).start()
    return Agent(service, server, config_path, source)
