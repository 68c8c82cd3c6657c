"""meter_agent's HTTP API served by uvicorn on loopback, driven with httpx, on a synthetic meter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from service_support import TOKEN, Agent, start_agent, synthetic_source, write_config

from meter_agent.schema import MeterStatus


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Agent]:
    a = start_agent(write_config(tmp_path))
    yield a
    a.stop()


def jpeg(resp: httpx.Response) -> np.ndarray:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "image/jpeg"
    img = cv2.imdecode(np.frombuffer(resp.content, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img


def test_meter_is_503_until_a_reading_then_the_seed_fields(agent: Agent) -> None:
    with httpx.Client(base_url=agent.url, timeout=30) as c:
        r = c.get("/meter")
        assert r.status_code == 503
        assert r.json() == {"detail": "no accepted meter reading yet."}

        cap = c.post("/capture", headers=agent.auth())
        assert cap.status_code == 200, cap.text
        body = cap.json()
        assert body["accepted"] is True, body
        assert body["digits"] == "123456"
        assert body["id"]

        m = c.get("/meter")
        assert m.status_code == 200
        data = m.json()
        assert set(data) == {
            "reading_kwh",
            "timestamp",
            "confidence",
            "method",
            "digits",
            "id",
            "last_update",
        }
        status = MeterStatus.model_validate(data)
        assert status.reading_kwh == 123456.0 and status.digits == "123456"
        assert data["timestamp"].endswith("Z")
        assert status.id == body["id"]


def test_write_routes_need_the_token(tmp_path: Path) -> None:
    a = start_agent(write_config(tmp_path, server={"token": ""}))
    try:
        with httpx.Client(base_url=a.url, timeout=30) as c:
            r = c.post("/capture")
            assert r.status_code == 403
            assert r.json()["detail"] == "set server.token in the config to allow changes."
            r = c.put("/calibration", json={"threshold": 90}, headers=a.auth())
            assert r.status_code == 403
        assert len(a.service.history) == 0
    finally:
        a.stop()


def test_wrong_token_is_401_and_changes_nothing(agent: Agent) -> None:
    before = agent.config_path.read_bytes()
    with httpx.Client(base_url=agent.url, timeout=30) as c:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
            assert c.post("/capture", headers=headers).status_code == 401
            r = c.put("/calibration", json={"threshold": 90}, headers=headers)
            assert r.status_code == 401
            assert "Bearer" in r.json()["detail"]
            assert r.headers["www-authenticate"] == "Bearer"
    assert agent.config_path.read_bytes() == before
    assert len(agent.service.history) == 0


def test_readings_since_limit_and_rejected(agent: Agent) -> None:
    with httpx.Client(base_url=agent.url, timeout=30) as c:
        ids = []
        for step in (0, 2, -50, 53):  # -50: the meter "went backwards" → must be refused
            agent.source.advance(step)
            ids.append(c.post("/capture", headers=agent.auth()).json())
        assert [b["accepted"] for b in ids] == [True, True, False, True]
        assert ids[2]["reason"]

        r = c.get("/readings")
        assert r.status_code == 200
        acc = r.json()["readings"]
        assert [x["reading_kwh"] for x in acc] == [123456.0, 123458.0, 123461.0]
        assert all(x["accepted"] and "reason" not in x for x in acc)

        both = c.get("/readings", params={"include_rejected": "true"}).json()["readings"]
        assert len(both) == 4
        assert both[2]["accepted"] is False and both[2]["reading_kwh"] is None
        assert both[2]["reason"] == ids[2]["reason"]

        since = acc[0]["timestamp"]
        later = c.get("/readings", params={"since": since, "limit": 1}).json()
        assert later["count"] == 1 and later["readings"][0]["reading_kwh"] == 123458.0

        bad = c.get("/readings", params={"since": "yesterday"})
        assert bad.status_code == 400
        assert "ISO 8601" in bad.json()["detail"]
        assert c.get("/readings", params={"limit": 0}).status_code == 422
        detail = c.get("/readings", params={"limit": "many"}).json()["detail"]
        assert "limit" in detail and "\n" not in detail


def test_health_reports_counts_camera_and_errors(agent: Agent) -> None:
    with httpx.Client(base_url=agent.url, timeout=30) as c:
        h = c.get("/health").json()
        assert h["status"] == "ok" and h["last_capture"] is None
        assert h["uptime_s"] >= 0 and h["camera"]["source"] == "synthetic"
        c.post("/capture", headers=agent.auth())
        agent.source.advance(-10)
        c.post("/capture", headers=agent.auth())
        h = c.get("/health").json()
        assert h["counts"]["accepted"] == 1 and h["counts"]["rejected"] == 1
        assert sum(h["counts"]["rejected_by_reason"].values()) == 1
        assert h["camera"]["ok"] is True and h["camera"]["frame_size"] == [960, 540]
        assert datetime.fromisoformat(h["last_capture"]) is not None
        assert h["lighting"]["brightness"] > 0
        assert h["upload"]["enabled"] is False
        # the accepted 123456 taught the meter's digits (the refused one taught nothing)
        assert set("123456") <= set(h["references"]["digits"]) and h["references"]["examples"] >= 6
        assert TOKEN not in c.get("/health").text
    # the rejected reading's frame was kept (storage.save_images = "rejected"), the accepted not
    saved = sorted(agent.service.image_dir.rglob("*.jpg"))
    assert len(saved) == 1 and saved[0].name.endswith("_rejected.jpg")


def test_frame_stages_and_width(agent: Agent) -> None:
    with httpx.Client(base_url=agent.url, timeout=30) as c:
        raw = jpeg(c.get("/frame.jpg"))
        assert raw.shape == (540, 960, 3)
        # the calibrated window is outlined in green
        green = (raw[:, :, 1] > 200) & (raw[:, :, 0] < 80) & (raw[:, :, 2] < 80)
        assert green.sum() > 500
        # outline=false: the picture alone, for the calibration screen's own window
        plain = jpeg(c.get("/frame.jpg", params={"outline": "false"}))
        assert plain.shape == raw.shape
        plain_green = (plain[:, :, 1] > 200) & (plain[:, :, 0] < 80) & (plain[:, :, 2] < 80)
        assert plain_green.sum() < 50
        small = jpeg(c.get("/frame.jpg", params={"stage": "raw", "width": 320}))
        assert small.shape == (180, 320, 3)
        roi = agent.service.config.calibration.roi
        window = jpeg(c.get("/frame.jpg", params={"stage": "window"}))
        assert abs(window.shape[1] - roi[2]) <= 2 and abs(window.shape[0] - roi[3]) <= 2
        processed = jpeg(c.get("/frame.jpg", params={"stage": "processed"}))
        assert processed.shape[:2] == window.shape[:2]
        bad = c.get("/frame.jpg", params={"stage": "thermal"})
        assert bad.status_code == 400
        assert bad.json()["detail"].startswith("stage must be one of raw, window, processed")
        assert c.get("/frame.jpg", params={"width": 3}).status_code == 422


def test_calibration_get_put_saves_atomically_and_answers_live_ocr(agent: Agent) -> None:
    with httpx.Client(base_url=agent.url, timeout=30) as c:
        cal = c.get("/calibration").json()
        assert set(cal) == {
            "roi",
            "rotate_degrees",
            "display",
            "last_digit",
            "expected_digits",
            "decimals",
            "threshold",
        }
        assert cal["last_digit"] == "turning"
        # the same window, one decimal: the live result is read with the new setting
        r = c.put("/calibration", headers=agent.auth(), json={**cal, "decimals": 1})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["calibration"] == {**cal, "decimals": 1} and body["saved"] is True
        ocr = body["ocr"]
        assert ocr["digits"] == "123456" and ocr["reading_kwh"] == pytest.approx(12345.6)
        assert len(ocr["per_digit"]) == 6
        assert all(0.0 <= conf <= 1.0 for _, conf in ocr["per_digit"])
        on_disk = json.loads(agent.config_path.read_text())
        assert on_disk["ocr"]["decimals"] == 1
        assert on_disk["comment"] == "kept by the agent"  # keys the agent does not know survive

        # a partial body moves only the window; the answer carries the live per-digit result
        new_roi = [cal["roi"][0] - 4, cal["roi"][1] - 3, cal["roi"][2] + 8, cal["roi"][3] + 6]
        r = c.put("/calibration", headers=agent.auth(), json={"roi": new_roi})
        assert r.status_code == 200, r.text
        assert r.json()["calibration"]["roi"] == new_roi
        assert r.json()["calibration"]["decimals"] == 1
        assert len(r.json()["ocr"]["per_digit"]) == 6
        assert json.loads(agent.config_path.read_text())["calibration"]["roi"] == new_roi
        assert c.get("/calibration").json()["roi"] == new_roi
        assert agent.service.reader is not None
        assert not list(agent.config_path.parent.glob("*.tmp"))
        assert len(agent.service.history) == 0  # the live result is not recorded


def test_calibration_sets_how_the_last_drum_is_read(agent: Agent) -> None:
    """``last_digit`` is saved to the file beside the window and reaches the live reader;
    setting it back to the default keeps the file's other keys as they were."""
    with httpx.Client(base_url=agent.url, timeout=30) as c:
        r = c.put("/calibration", headers=agent.auth(), json={"last_digit": "settled"})
        assert r.status_code == 200, r.text
        assert r.json()["calibration"]["last_digit"] == "settled"
        assert json.loads(agent.config_path.read_text())["calibration"]["last_digit"] == "settled"
        assert agent.service.reader is not None
        assert agent.service.reader.config.calibration.last_digit == "settled"
        assert c.get("/calibration").json()["last_digit"] == "settled"
        r = c.put("/calibration", headers=agent.auth(), json={"last_digit": "turning"})
        assert r.status_code == 200, r.text
        assert agent.service.reader.config.calibration.last_digit == "turning"
        on_disk = json.loads(agent.config_path.read_text())
        assert on_disk["calibration"]["last_digit"] == "turning"
        assert on_disk["comment"] == "kept by the agent"


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ("{not json", 400, "must be JSON"),
        ("[1, 2]", 400, "JSON object"),
        ("{}", 400, "at least one"),
        # pydantic's own "after validation" was a word too many (found trying it)
        ('{"roi": [1, 2, 3]}', 422, "roi: list should have at least 4 items, not 3."),
        ('{"roi": [10, 10, 0, 5]}', 422, "roi"),
        ('{"display": "nixie"}', 422, "display"),
        ('{"last_digit": "spinning"}', 422, "last_digit"),
        ('{"expected_digits": 40}', 422, "expected_digits"),
        ('{"threshold": -1}', 422, "threshold"),
        ('{"rotate": 3}', 422, "rotate"),
        ('{"roi": [900, 500, 200, 100]}', 422, "outside"),
    ],
)
def test_bad_calibration_bodies_store_nothing(
    agent: Agent, body: str, status: int, words: str
) -> None:
    before = agent.config_path.read_bytes()
    cfg_before = agent.service.config.model_dump()
    with httpx.Client(base_url=agent.url, timeout=30) as c:
        jpeg(c.get("/frame.jpg"))  # the agent now knows the frame size
        r = c.put(
            "/calibration",
            content=body,
            headers={**agent.auth(), "Content-Type": "application/json"},
        )
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert words in detail and detail.endswith(".") and "Traceback" not in detail
    assert agent.config_path.read_bytes() == before
    assert agent.service.config.model_dump() == cfg_before


def test_ocr_reads_without_recording(agent: Agent) -> None:
    with httpx.Client(base_url=agent.url, timeout=30) as c:
        r = c.get("/ocr")
        assert r.status_code == 200
        assert r.json()["recorded"] is False and r.json()["digits"] == "123456"
        assert c.get("/meter").status_code == 503
        assert c.get("/readings", params={"include_rejected": True}).json()["count"] == 0


def test_post_ocr_tries_an_unsaved_calibration(agent: Agent) -> None:
    before = agent.config_path.read_bytes()
    with httpx.Client(base_url=agent.url, timeout=30) as c:
        r = c.post("/ocr", headers=agent.auth(), json={"decimals": 2})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["recorded"] is False and body["saved"] is False
        assert body["calibration"]["decimals"] == 2
        assert body["digits"] == "123456" and body["reading_kwh"] == pytest.approx(1234.56)
        # a window over the wrong place does not read as the meter
        off = c.post("/ocr", headers=agent.auth(), json={"roi": [0, 0, 200, 60]}).json()
        assert off["accepted"] is False and off["calibration"]["roi"] == [0, 0, 200, 60]
        bad = c.post("/ocr", headers=agent.auth(), json={"roi": [1, 2]})
        assert bad.status_code == 422 and "roi" in bad.json()["detail"]
        assert c.post("/ocr", json={"decimals": 2}).status_code == 401
        assert c.get("/calibration").json()["decimals"] == 0
    assert agent.config_path.read_bytes() == before
    assert len(agent.service.history) == 0


def test_unknown_route_and_method_answer_json(agent: Agent) -> None:
    with httpx.Client(base_url=agent.url, timeout=30) as c:
        r = c.get("/nope")
        assert r.status_code == 404 and r.json()["detail"].endswith(".")
        index = c.get("/").json()
        assert index["service"] == "meter_agent" and "GET /meter" in index["routes"]
        assert c.delete("/meter").status_code == 405


def test_last_reading_survives_an_agent_restart(tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path)
    a = start_agent(cfg_path)
    with httpx.Client(base_url=a.url, timeout=30) as c:
        first = c.post("/capture", headers=a.auth()).json()
    a.stop()
    state = json.loads((tmp_path / "data" / "reader_state.json").read_text())
    assert state["last_digits"] == "123456"
    b = start_agent(cfg_path, start=123400)  # a wrong, lower value after the restart
    try:
        with httpx.Client(base_url=b.url, timeout=30) as c:
            m = c.get("/meter").json()
            assert m["reading_kwh"] == 123456.0 and m["id"] == first["id"]
            low = c.post("/capture", headers=b.auth()).json()
            assert low["accepted"] is False and low["reason"].startswith("not_monotonic")
            assert c.get("/meter").json()["reading_kwh"] == 123456.0
    finally:
        b.stop()
    # without its state file the reader takes the last accepted value from the history
    (tmp_path / "data" / "reader_state.json").unlink()
    c3 = start_agent(cfg_path, start=123450)
    try:
        assert c3.service.reader.last_accepted.digits == "123456"
        assert c3.service.capture_once().accepted is False
    finally:
        c3.stop()


def test_an_uncalibrated_synthetic_demo_frames_its_meter_by_itself(tmp_path: Path) -> None:
    from meter_agent.config import load_agent_config
    from meter_agent.service import MeterService

    cfg_path = write_config(tmp_path, calibration={"roi": None, "display": "lcd7"})
    agent_cfg = load_agent_config(cfg_path)
    assert agent_cfg.calibration.roi is None
    service = MeterService(agent_cfg, cfg_path)  # its own synthetic source, from the config
    try:
        assert service.config.calibration.roi is not None
        assert service.capture_once().accepted is True
    finally:
        service.close()
    assert json.loads(cfg_path.read_text())["calibration"]["roi"] is None  # nothing saved


def test_a_full_card_is_a_clear_error_and_nothing_is_kept(agent: Agent) -> None:
    history_file = agent.service.history.path
    history_file.unlink(missing_ok=True)
    history_file.mkdir()  # writing the history now fails like a broken card would
    with httpx.Client(base_url=agent.url, timeout=30) as c:
        r = c.post("/capture", headers=agent.auth())
        assert r.status_code == 507
        assert r.json()["detail"].startswith("the history in ") and "not kept" in r.json()["detail"]
        assert c.get("/meter").status_code == 503
        assert "cannot be written" in c.get("/health").json()["last_error"]
    assert len(agent.service.history) == 0


def test_a_burst_cut_short_is_read_from_the_frames_it_got(tmp_path: Path) -> None:
    from meter_agent.capture import CameraSource
    from meter_agent.config import load_agent_config

    cfg_path = write_config(tmp_path, camera={"warmup_frames": 0}, ocr={"burst_frames": 3})
    cfg = load_agent_config(cfg_path)
    frame = synthetic_source(cfg).grab()
    video = tmp_path / "one-frame.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (960, 540))
    writer.write(frame)
    writer.release()
    a = start_agent(
        cfg_path, source=CameraSource(cfg.camera.model_copy(update={"device": str(video)}))
    )
    try:
        result = a.service.capture_once()  # frame 1 is there, frames 2 and 3 are not
        assert result.accepted is True and result.digits == "123456"
    finally:
        a.stop()


def test_a_reading_set_by_hand_unsticks_the_checks(tmp_path: Path) -> None:
    """A wrong high value (here a meter replaced by one showing less) keeps the monotonic
    check refusing every true reading; PUT /reading sets the truth, and the next capture
    is accepted against it. Bad bodies and a missing token change nothing."""
    cfg_path = write_config(tmp_path)
    a = start_agent(cfg_path)
    with httpx.Client(base_url=a.url, timeout=30) as c:
        assert c.post("/capture", headers=a.auth()).json()["digits"] == "123456"
    a.stop()
    b = start_agent(cfg_path, start=100200)  # the new meter
    try:
        with httpx.Client(base_url=b.url, timeout=30) as c:
            stuck = c.post("/capture", headers=b.auth()).json()
            assert stuck["accepted"] is False and stuck["reason"].startswith("not_monotonic")
            n = len(b.service.history)
            for body, status in (
                ({"digits": "12345"}, 422),  # five digits on a six-digit meter
                ({"digits": "12345x"}, 422),
                ({"digits": "100200", "reading_kwh": 100200}, 422),
                ({"reading_kwh": -1}, 422),
                ({"reading_kwh": 1e7}, 422),
                ({"colour": "red"}, 422),
                ([1, 2], 400),
            ):
                r = c.put("/reading", json=body, headers=b.auth())
                assert r.status_code == status, (body, r.text)
                assert r.json()["detail"].endswith("."), r.json()
            r = c.put("/reading", content=b"{not json", headers=b.auth())
            assert r.status_code == 400
            assert c.put("/reading", json={"digits": "100200"}).status_code in (401, 403)
            assert len(b.service.history) == n
            assert c.get("/meter").json()["reading_kwh"] == 123456.0

            r = c.put("/reading", json={"digits": "100200"}, headers=b.auth())
            assert r.status_code == 200, r.text
            assert r.json()["method"] == "manual" and r.json()["accepted"] is True
            m = c.get("/meter").json()
            assert m["reading_kwh"] == 100200.0 and m["method"] == "manual"
            after = c.post("/capture", headers=b.auth()).json()
            assert after["accepted"] is True and after["digits"] == "100200", after
        state = json.loads((tmp_path / "data" / "reader_state.json").read_text())
        assert state["last_digits"] == "100200"
        # the reading went down (a new meter): the old meter's digit examples (3-6 from
        # 123456) were forgotten, and the view the reading was set for taught the new one's
        from meter_agent.references import ReferenceBank

        bank = ReferenceBank.load(
            tmp_path / "data" / "references.npz", b.service.reader.model_fingerprint or ""
        )
        assert bank.known() == "012"
    finally:
        b.stop()
