"""The reference frame in the running agent: kept when a window is saved over HTTP, used
for every reading, surviving a restart; a damaged file is moved aside and the agent
reads as without one. Real service, real files, real HTTP on loopback."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import cv2
import httpx
import pytest
from service_support import TOKEN, start_agent, write_config

from meter_agent.calibration import REFERENCE_FRAME_AGE_S
from meter_agent.synth import SynthFrame, move_frame, render_frame

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _meter(path: Path, frame: SynthFrame) -> None:
    """The camera (a file source) now sees ``frame``."""
    ok, buf = cv2.imencode(".png", frame.image)
    assert ok
    tmp = path.with_suffix(".tmp.png")
    tmp.write_bytes(buf.tobytes())
    tmp.replace(path)


@pytest.fixture
def camera(tmp_path: Path) -> tuple[Path, SynthFrame, Path]:
    # seed 14: seed 12's style (large round dots) draws a 7 the wider digit model of 4
    # December 2026 reads at 0.70 and refuses; the reading is not what this file tests
    frame = render_frame("lcd7", "204517", seed=14, glare=False)
    image = tmp_path / "camera.png"
    _meter(image, frame)
    cfg = write_config(
        tmp_path,
        camera={"source": "file", "path": str(image), "width": 1280, "height": 720},
        calibration={"roi": [0, 0, 64, 64], "rotate_degrees": 0.0, "display": "lcd7"},
        ocr={"burst_frames": 1},
    )
    return image, frame, cfg


def test_a_saved_window_keeps_the_reference_and_a_moved_camera_is_refused(camera) -> None:
    image, frame, cfg = camera
    agent = start_agent(cfg)
    try:
        with httpx.Client(base_url=agent.url, timeout=60) as c:
            assert c.get("/health").json()["alignment"] == {"reference": False}
            # the careful window: the loose one is tests/meter_agent/test_vision_loose_window.py
            body = {"roi": list(frame.roi), "rotate_degrees": round(frame.rotation, 2)}
            r = c.put("/calibration", json=body, headers=AUTH)
            assert r.status_code == 200, r.text
            ocr = r.json()["ocr"]
            assert ocr["digits"] == "204517" and ocr["accepted"]
            vision = ocr["vision"]
            assert vision["alignment"]["ok"] and vision["alignment"]["shift_px"] < 1
            assert len(vision["cells"]) == 6 and len(vision["row"]) == 4
            # the cells found lie on the digits, inside the loose window
            xs = [p[0] for cell in vision["cells"] for p in cell]
            x, _, w, _ = frame.roi
            assert x - 25 < min(xs) and max(xs) < x + w + 25
            ref = agent.service.data_dir / "reference.png"
            assert ref.is_file()

            # the camera moved a little: aligned, read right, shown in /health
            _meter(image, move_frame(frame, 25, -14, 1.2))
            cap = c.post("/capture", headers=AUTH).json()
            assert cap["accepted"] and cap["digits"] == "204517", cap
            al = c.get("/health").json()["alignment"]
            assert al["ok"] and 20 < al["shift_px"] < 40 and abs(al["rotation_deg"] - 1.2) < 0.3

            # moved far: refused with the reason, nothing accepted
            _meter(image, move_frame(frame, 500, 260, 0))
            cap = c.post("/capture", headers=AUTH).json()
            assert not cap["accepted"] and cap["digits"] is None
            assert cap["reason"].startswith(
                "camera_moved: the camera or meter moved; check the calibration"
            )
            health = c.get("/health").json()
            assert health["alignment"]["ok"] is False
            assert health["counts"]["rejected_by_reason"].get("camera_moved") == 1
            # the live preview says so too
            ocr = c.get("/ocr").json()
            assert ocr["vision"]["alignment"]["ok"] is False and ocr["vision"]["cells"] == []
    finally:
        agent.stop()

    # after a restart the reference is still there: the far-moved view is still refused
    agent = start_agent(cfg)
    try:
        with httpx.Client(base_url=agent.url, timeout=60) as c:
            cap = c.post("/capture", headers=AUTH).json()
            assert cap["reason"].startswith("camera_moved"), cap
            _meter(image, frame)
            cap = c.post("/capture", headers=AUTH).json()
            assert cap["accepted"] and cap["digits"] == "204517", cap
    finally:
        agent.stop()


def test_a_damaged_reference_is_moved_aside_and_the_agent_reads_without_it(
    camera, caplog: pytest.LogCaptureFixture
) -> None:
    image, frame, cfg = camera
    data = json.loads(cfg.read_text())
    data["calibration"]["roi"] = list(frame.roi)
    data["calibration"]["rotate_degrees"] = frame.rotation
    cfg.write_text(json.dumps(data))
    ref = cfg.parent / "data" / "reference.png"
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_bytes(b"\x89PNG\r\n\x1a\n not really a picture")
    with caplog.at_level(logging.WARNING):
        agent = start_agent(cfg)
    try:
        assert not ref.exists() and ref.with_name("reference.png.damaged").is_file()
        warned = [r.getMessage() for r in caplog.records if "reference frame" in r.getMessage()]
        assert len(warned) == 1 and "without alignment" in warned[0]
        with httpx.Client(base_url=agent.url, timeout=60) as c:
            assert c.get("/health").json()["alignment"] == {"reference": False}
            cap = c.post("/capture", headers=AUTH).json()
            assert cap["accepted"] and cap["digits"] == "204517", cap
    finally:
        agent.stop()


def test_changing_only_the_threshold_keeps_the_reference(camera) -> None:
    image, frame, cfg = camera
    agent = start_agent(cfg)
    try:
        with httpx.Client(base_url=agent.url, timeout=60) as c:
            body = {"roi": list(frame.roi), "rotate_degrees": round(frame.rotation, 2)}
            assert c.put("/calibration", json=body, headers=AUTH).status_code == 200
            ref = agent.service.data_dir / "reference.png"
            before = ref.read_bytes()
            _meter(image, move_frame(frame, 30, 10, 0))
            assert c.put("/calibration", json={"decimals": 1}, headers=AUTH).status_code == 200
            assert ref.read_bytes() == before
            # a new window is drawn on the picture as it is now: it becomes the reference
            time.sleep(REFERENCE_FRAME_AGE_S + 0.1)  # a fresh frame, not the one just read
            assert c.put("/calibration", json=body, headers=AUTH).status_code == 200
            assert ref.read_bytes() != before
    finally:
        agent.stop()
