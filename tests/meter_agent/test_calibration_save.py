"""Saving a calibration writes the config file as its owner wrote it plus what changed.

A real agent on loopback, changed with ``PUT /calibration`` as the TUI does, over the
seed's own config.json (from the seed's document) and over a minimal file of a user's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from service_support import TOKEN, start_agent, synthetic_source, write_config

from meter_agent.capture import SyntheticSource
from meter_agent.config import AgentConfig, load_agent_config
from meter_agent.service import MeterService
from tests.seed_pi_support import seed_config_in

AUTH = {"Authorization": f"Bearer {TOKEN}"}
SYNTHETIC = {"source": "synthetic", "width": 960, "height": 540, "burst_interval_s": 0.0}


def _hint(data: dict[str, Any]) -> dict[str, Any]:
    """Where the synthetic meter's digits are for the camera and OCR settings of ``data``."""
    cfg = AgentConfig.model_validate(data)
    return synthetic_source(cfg).calibration_hint()


def _put(path: Path, body: dict[str, Any]) -> dict[str, Any]:
    agent = start_agent(path)
    try:
        r = httpx.put(f"{agent.url}/calibration", headers=AUTH, json=body, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()
    finally:
        agent.stop()


def test_the_seeds_config_keeps_its_keys_order_and_values(tmp_path: Path) -> None:
    data = seed_config_in(
        tmp_path,
        camera=SYNTHETIC,
        server={"token": TOKEN},
        upload={"api_endpoint": ""},
        storage={"data_dir": str(tmp_path / "data")},
    )
    path = tmp_path / "config.json"
    text = json.dumps(data, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
    roi = _hint(data)["roi"]
    body = _put(path, {"roi": roi, "rotate_degrees": 1.5, "decimals": 1})
    assert body["saved"] is True

    saved_text = path.read_text(encoding="utf-8")
    saved = json.loads(saved_text)
    # every section and key as the seed wrote them, in its order, the seed's names kept
    # (device_id, monotonic_check, api_endpoint, interval_seconds, image_path, ...)
    assert list(saved) == [*data, "calibration"]
    for section, values in data.items():
        want = dict(values)
        if section == "ocr":
            want["decimals"] = 1
        assert saved[section] == want, section
        assert list(saved[section])[: len(values)] == list(values)
    # only what changed is added: no default frozen into the file
    assert saved["calibration"] == {"roi": roi, "rotate_degrees": 1.5}
    assert "burst_frames" not in saved["ocr"] and "threshold" not in saved["ocr"]
    assert "lighting" in saved and "gain" not in saved["lighting"]
    assert "server" in saved and "host" not in saved["server"]
    # the same layout: two-space indent, a final newline
    assert saved_text.startswith('{\n  "camera": {\n    "device_id": 0,') and saved_text.endswith(
        "}\n"
    )


def test_a_minimal_config_gets_only_what_changed(tmp_path: Path) -> None:
    data = {
        "_note": "my meter, calibrated by hand",
        "camera": SYNTHETIC,
        "server": {"token": TOKEN},
        "storage": {"data_dir": "data", "log_file": ""},
    }
    path = tmp_path / "meter-agent.json"
    path.write_text(json.dumps(data, indent=4), encoding="utf-8")
    path.chmod(0o640)
    hint = _hint(data)
    window = {"roi": hint["roi"], "rotate_degrees": round(hint["rotate_degrees"], 1)}
    _put(path, {**window, "display": "lcd7"})
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved == {**data, "calibration": {**window, "display": "lcd7"}}
    assert list(saved) == [*data, "calibration"]
    assert path.read_text(encoding="utf-8").startswith('{\n    "_note"')  # its indent kept
    assert path.stat().st_mode & 0o777 == 0o640  # its permissions kept

    # a second save changes the changed key in place and adds nothing else
    _put(path, {**window, "display": "lcd7", "threshold": 140})
    again = json.loads(path.read_text(encoding="utf-8"))
    assert again == {**saved, "ocr": {"threshold": 140}}


def test_the_demo_meter_stays_in_its_window_when_the_display_setting_is_saved(
    tmp_path: Path,
) -> None:
    """The synthetic meter used to draw drums whenever ``calibration.display`` was
    ``drum``: a newcomer who tried the display key on the demo's LCD and saved found,
    after a restart, a drum meter somewhere else and ``no_digit_row`` in the window he
    had drawn. The meter's kind is ``camera.synthetic_meter`` now, and a saved display
    setting leaves the meter where it was."""
    data = {"camera": SYNTHETIC, "server": {"token": TOKEN}, "storage": {"data_dir": "data"}}
    path = tmp_path / "meter-agent.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    first = MeterService(load_agent_config(path), path)  # its own source, as `serve` opens it
    try:
        roi = first.config.calibration.roi
        assert roi is not None  # the demo frames itself when no window is saved
        rotate = first.config.calibration.rotate_degrees
    finally:
        first.close()
    _put(path, {"roi": roi, "rotate_degrees": rotate, "display": "drum"})
    assert json.loads(path.read_text(encoding="utf-8"))["calibration"]["display"] == "drum"

    again = MeterService(load_agent_config(path), path)
    try:
        assert isinstance(again.source, SyntheticSource)
        assert again.source.calibration_hint()["roi"] == roi
        again.source.grab()
        assert again.source.last_truth is not None and again.source.last_truth["kind"] == "lcd7"
    finally:
        again.close()


def test_the_demo_meter_can_be_a_drum_meter_and_is_read(tmp_path: Path) -> None:
    """``camera.synthetic_meter: drum`` shows rolling drums, carries and all, in their own
    place; calibrated to them the agent reads them."""
    lcd = _hint({"camera": SYNTHETIC})
    path = write_config(
        tmp_path, camera={"synthetic_meter": "drum"}, calibration={"display": "drum"}
    )
    assert json.loads(path.read_text(encoding="utf-8"))["calibration"]["roi"] != lcd["roi"]
    agent = start_agent(path, start=299999)
    assert isinstance(agent.source, SyntheticSource)
    try:
        for want in ("299999", "300000"):
            res = agent.service.capture_once()
            assert agent.source.last_truth is not None
            assert agent.source.last_truth["kind"] == "drum"
            assert res.accepted and res.digits == want, (res.digits, res.reason)
            agent.source.advance(1)
    finally:
        agent.stop()
