"""Calibration against a real meter_agent on loopback fed with synthetic frames.

The agent starts with its digit window in the wrong place; the test drives the
calibration screen with the keys a user would press to move it onto the
digits, saves, and then the agent must read the meter correctly.
"""

from __future__ import annotations

import json

import httpx
import pytest

from devkit.demo import demo_config, demo_hub
from devkit.demo_agent import DemoAgent, free_port
from energytui.tui.app import EnergyApp
from energytui.tui.screens.calibration import STEPS, CalibrationScreen

TOKEN = "cal-test-token"


@pytest.fixture
def agent(tmp_path):
    with DemoAgent(tmp_path, token=TOKEN, offset=(48, 32)) as a:
        yield a


def _app(endpoint: str, token: str = TOKEN, **tui) -> EnergyApp:
    hub, _, _ = demo_hub()
    cfg = demo_config(**tui)
    cfg.meter.endpoint = endpoint
    cfg.meter.token = token
    return EnergyApp(cfg, hub)


async def _open_calibration(pilot) -> CalibrationScreen:
    await pilot.press("c")
    screen = pilot.app.screen
    assert isinstance(screen, CalibrationScreen)
    for _ in range(200):
        await pilot.pause(0.05)
        if screen.cal is not None or "cannot" in str(screen.query_one("#cal-status").render()):
            break
    return screen


async def test_calibration_moves_the_window_onto_the_digits(agent):
    app = _app(agent.url)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await _open_calibration(pilot)
        assert screen.cal is not None, str(screen.query_one("#cal-status").render())
        assert screen.cal["roi"][:2] == [agent.true_roi[0] + 48, agent.true_roi[1] + 32]
        # step 16 px: 3 left, 2 up
        while STEPS[screen.step_index] != 16:
            await pilot.press("g")
        await pilot.press("left", "left", "left", "up", "up")
        # rotate to the meter's tilt in 0.5° steps
        turns = round(agent.rotation / 0.5)
        await pilot.press(*(["R"] * turns if turns > 0 else ["r"] * -turns))
        assert screen.cal["roi"] == agent.true_roi
        assert screen.dirty
        await pilot.press("enter")
        for _ in range(200):
            await pilot.pause(0.05)
            if not screen.dirty:
                break
        assert "Saved" in str(screen.query_one("#cal-status").render())
        # live OCR result with per-digit confidences is on screen
        for _ in range(100):
            await pilot.pause(0.05)
            if screen.ocr and screen.ocr.get("digits"):
                break
        assert screen.ocr["digits"] == agent.source.digits()
        assert agent.source.digits() in app.export_screenshot()
    saved = json.loads(agent.config_path.read_text())
    assert saved["calibration"]["roi"] == agent.true_roi
    r = httpx.post(f"{agent.url}/capture", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    body = r.json()
    assert r.status_code == 200 and body["accepted"], body
    assert body["digits"] == agent.source.digits()


async def test_escape_leaves_without_saving(agent):
    before = agent.config_path.read_text()
    app = _app(agent.url)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await _open_calibration(pilot)
        await pilot.press("left", "left", "d")
        assert screen.dirty
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CalibrationScreen)
    assert agent.config_path.read_text() == before


async def test_wrong_token_is_refused_and_nothing_is_saved(agent):
    before = agent.config_path.read_text()
    app = _app(agent.url, token="not-the-token")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await _open_calibration(pilot)
        await pilot.press("left")
        await pilot.press("enter")
        for _ in range(100):
            await pilot.pause(0.05)
            if "Not saved" in str(screen.query_one("#cal-status").render()):
                break
        status = str(screen.query_one("#cal-status").render())
        assert "Not saved: meter agent refused the token" in status
        assert screen.dirty
    assert agent.config_path.read_text() == before


async def test_agent_down_gets_a_clear_message():
    port = free_port()
    app = _app(f"http://127.0.0.1:{port}")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open_calibration(pilot)
        status = str(screen.query_one("#cal-status").render())
        assert "cannot be reached" in status and "is it running?" in status
        await pilot.press("enter")  # nothing to save: says so, no crash
        await pilot.pause()
        assert isinstance(app.screen, CalibrationScreen)
