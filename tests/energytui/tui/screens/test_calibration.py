"""Calibration against a real meter_agent on loopback fed with synthetic frames.

The agent starts with its digit window in the wrong place; the test drives the
calibration screen with the keys a user would press to move it onto the
digits, saves, and then the agent must read the meter correctly.
"""

from __future__ import annotations

import io
import json

import httpx
import pytest
from rich.console import Console
from textual.widgets import Static

from devkit.demo import demo_config, demo_hub
from devkit.demo_agent import DemoAgent, free_port
from energytui.tui.app import EnergyApp
from energytui.tui.screens.calibration import STEPS, CalibrationScreen, LeaveDialog
from energytui.tui.widgets.frame import FramePreview
from energytui.tui.widgets.preview import CameraPreview, window_crop

TOKEN = "cal-test-token"


@pytest.fixture
def agent(tmp_path):
    with DemoAgent(tmp_path, token=TOKEN, offset=(48, 32)) as a:
        yield a


def _app(endpoint: str, token: str = TOKEN, **tui) -> EnergyApp:
    hub, _, _ = demo_hub()
    cfg = demo_config(**{"preview": "halfblock", **tui})  # half blocks: deterministic
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


async def _save(pilot, screen: CalibrationScreen) -> None:
    """Press enter and wait until the agent took the edits."""
    await pilot.press("enter")
    for _ in range(200):
        await pilot.pause(0.05)
        if not screen.dirty:
            break
    assert "Saved" in str(screen.query_one("#cal-status").render())


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
        # rotate to the meter's tilt in 0.5° steps, with < and > (r is the app's poll)
        turns = round(agent.rotation / 0.5)
        await pilot.press(*([">"] * turns if turns > 0 else ["<"] * -turns))
        assert screen.cal["roi"] == agent.true_roi
        assert screen.dirty
        await _save(pilot, screen)
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


async def test_escape_without_changes_leaves_at_once(agent):
    app = _app(agent.url)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await _open_calibration(pilot)
        assert not screen.dirty
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, (CalibrationScreen, LeaveDialog))


async def test_escape_with_unsaved_changes_asks_save_discard_or_stay(agent):
    before = agent.config_path.read_text()
    app = _app(agent.url)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await _open_calibration(pilot)
        roi = list(screen.cal["roi"])
        await pilot.press("left", "left", "d")
        assert screen.dirty
        # escape asks; escape again (or n) stays, the edits kept
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LeaveDialog)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and screen.dirty
        # discard: leaves, nothing saved
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert not isinstance(app.screen, (CalibrationScreen, LeaveDialog))
    assert agent.config_path.read_text() == before

    app = _app(agent.url)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await _open_calibration(pilot)
        await pilot.press("left")
        moved = [roi[0] - STEPS[screen.step_index], *roi[1:]]
        assert screen.cal["roi"] == moved
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("s")  # save, then leave once the agent took it
        for _ in range(200):
            await pilot.pause(0.05)
            if not isinstance(app.screen, (CalibrationScreen, LeaveDialog)):
                break
        assert not isinstance(app.screen, (CalibrationScreen, LeaveDialog))
    assert json.loads(agent.config_path.read_text())["calibration"]["roi"] == moved


async def test_wrong_token_is_said_on_opening_before_any_key(agent):
    app = _app(agent.url, token="not-the-token")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await _open_calibration(pilot)
        for _ in range(100):
            if screen.token_error:
                break
            await pilot.pause(0.05)
        status = str(screen.query_one("#cal-status").render())
        assert "refused the token" in status and "Connected" not in status
        assert screen.cal is not None  # the picture and the window are still shown


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


async def test_the_window_is_zoomed_at_the_cameras_resolution(agent):
    """The camera picture comes in at the camera's full resolution, without the agent's
    outline of the saved window; the zoomed view is the window cut from it, turned as the
    reader turns it, drawn over a whole pane (half blocks here)."""
    app = _app(agent.url)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_calibration(pilot)
        frame = screen.query_one("#cal-frame", CameraPreview)
        zoom = screen.query_one("#cal-zoom-view", CameraPreview)
        assert frame.source_size == (1280, 720)  # the camera's own pixels
        x, y, w, h = screen.cal["roi"]
        assert zoom.source_size == (w, h)
        # the window fills its pane: far more terminal cells than in the whole picture
        pane = zoom.query_one(FramePreview)
        px = pane._pixels
        assert px is not None
        whole = frame.query_one(FramePreview)._pixels
        assert whole is not None
        in_whole = w * whole.shape[1] / 1280
        assert px.shape[1] > 2 * in_whole
        # a turn of the window turns the zoomed picture with it
        before = pane._pixels.copy()
        await pilot.press(">", ">", ">", ">")
        await pilot.pause()
        assert screen.cal["rotate_degrees"] == 2.0
        assert not (pane._pixels.shape == before.shape and (pane._pixels == before).all())


def test_window_crop_cuts_the_turned_frame():
    import numpy as np

    frame = np.zeros((100, 200, 3), np.uint8)
    frame[40:60, 50:150] = 255
    crop = window_crop(frame, [50, 40, 100, 20], 0.0)
    assert crop.shape == (20, 100, 3) and crop.min() == 255
    turned = window_crop(frame, [50, 40, 100, 20], 10.0)
    assert turned.shape == (20, 100, 3) and turned.min() < 255
    # a window reaching past the frame is clipped, never empty
    assert window_crop(frame, [190, 90, 50, 50], 0.0).shape == (10, 10, 3)


async def test_a_terminal_with_sixel_gets_the_cameras_own_pixels(agent):
    """With tui.preview = "sixel" (what the probe finds in xterm, foot, WezTerm...) the
    picture is textual-image's Sixel widget, given the camera's frame at full resolution."""
    from textual_image.widget import SixelImage

    app = _app(agent.url, preview="sixel")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_calibration(pilot)
        frame = screen.query_one("#cal-frame", CameraPreview)
        image = frame.query_one(SixelImage)
        for _ in range(100):  # drawn once the edits settle
            if image.image is not None:
                break
            await pilot.pause(0.05)
        assert image.image is not None and image.image.size == (1280, 720)
        zoom = screen.query_one("#cal-zoom-view", CameraPreview).query_one(SixelImage)
        assert zoom.image.size == tuple(screen.cal["roi"][2:])


def _drawn_glyphs(screen) -> set[str]:
    """Every character the screen's own widgets draw (borders and their titles too); the
    header and the footer are the app's (their glyphs are checked with the app's keys)."""
    from textual.geometry import Region
    from textual.widgets import Footer, Header

    chars: set[str] = set()
    for widget in screen.query("*"):
        if any(isinstance(w, Header | Footer) for w in (widget, *widget.ancestors)):
            continue
        size = widget.size
        for strip in widget.render_lines(Region(0, 0, size.width, size.height)):
            chars.update(strip.text)
    return chars - {"\u00a0"}


def _console_safe(ch: str) -> bool:
    return ch.isascii() or "\u2500" <= ch <= "\u257f" or ch in "█░"


async def test_console_mode_draws_only_console_glyphs(agent):
    """On the Linux console (no half blocks, no degree sign in its font) the calibration
    screen and its leave dialog draw ASCII, box lines and full blocks only."""
    app = _app(agent.url, console=True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_calibration(pilot)
        for _ in range(100):
            if screen.ocr:
                break
            await pilot.pause(0.05)
        await pilot.pause()
        assert screen.query_one("#cal-frame", CameraPreview).renderer == "blocks"
        bad = {ch for ch in _drawn_glyphs(screen) if not _console_safe(ch)}
        assert not bad, bad
        await pilot.press(">", "escape")
        await pilot.pause()
        assert isinstance(app.screen, LeaveDialog)
        bad = {ch for ch in _drawn_glyphs(app.screen) if not _console_safe(ch)}
        assert not bad, bad


def test_the_renderer_is_the_probed_one_or_half_blocks(monkeypatch):
    from energytui.tui.widgets import preview

    monkeypatch.setattr(preview, "_probed", None)
    assert preview.chosen_renderer("auto", console=False) == "halfblock"  # never asked
    assert preview.chosen_renderer("auto", console=True) == "blocks"
    assert preview.chosen_renderer("sixel", console=True) == "blocks"  # no sixel on a console
    assert preview.chosen_renderer("kitty", console=False) == "kitty"
    assert preview.probe_terminal() in ("sixel", "kitty", "halfblock")
    monkeypatch.setattr(preview, "_probed", "sixel")
    assert preview.chosen_renderer("auto", console=False) == "sixel"
    assert preview.chosen_renderer("halfblock", console=False) == "halfblock"


async def test_a_still_picture_is_not_encoded_again(agent):
    """In Sixel every new picture is encoded on the app's thread: a camera frame that
    differs from the one drawn by noise only, with the same window, is not drawn again;
    a moved window is, once the keys pause."""
    from textual_image.widget import SixelImage

    app = _app(agent.url, preview="sixel")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_calibration(pilot)
        image = screen.query_one("#cal-frame", CameraPreview).query_one(SixelImage)
        for _ in range(100):
            if image.image is not None:
                break
            await pilot.pause(0.05)
        drawn = image.image
        await pilot.press("f")  # a new frame of the same still meter
        await screen.workers.wait_for_complete()
        await pilot.pause(0.3)
        assert image.image is drawn
        await pilot.press("left", "left", "left")
        await pilot.pause(0.3)
        assert image.image is not drawn


def _side(screen: CalibrationScreen) -> str:
    """The side panel's text, its columns joined by single spaces."""
    console = Console(width=80, file=io.StringIO(), record=True)
    console.print(screen.query_one("#cal-side", Static).content)
    return " ".join(console.export_text().split())


async def test_u_sets_whether_a_drum_windows_last_digit_turns(agent):
    """`u` switches a drum window's last digit between turning (the meter's own last drum)
    and settled (a window of whole digits); the side panel says which, and a save writes
    it to the agent's config file beside the display kind."""
    app = _app(agent.url)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await _open_calibration(pilot)
        assert screen.cal is not None and screen.cal["last_digit"] == "turning"
        assert "last digit" not in _side(screen)  # an LCD has no turning digit
        while screen.cal["display"] != "drum":
            await pilot.press("t")
        assert "last digit turning" in _side(screen)
        await pilot.press("u")
        assert screen.cal["last_digit"] == "settled" and screen.dirty
        assert "last digit settled" in _side(screen)
        await _save(pilot, screen)
    saved = json.loads(agent.config_path.read_text())["calibration"]
    assert saved["display"] == "drum" and saved["last_digit"] == "settled"
    assert agent.service.reader is not None
    assert agent.service.reader.config.calibration.last_digit == "settled"


async def test_the_side_panel_says_what_auto_took_the_meter_for(tmp_path):
    """With the display type left on auto, the side panel shows what the agent read the
    meter as (it sticks for the calibration): an LCD here, so the drums' "last digit"
    setting is not shown (an LCD has no turning digit)."""
    with DemoAgent(tmp_path, token=TOKEN) as a:  # the window on the digits
        app = _app(a.url)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await _open_calibration(pilot)
            assert screen.cal is not None
            while screen.cal["display"] != "auto":
                await pilot.press("t")
            await _save(pilot, screen)
            for _ in range(200):
                await pilot.pause(0.05)
                if "auto → lcd7" in _side(screen):
                    break
            assert "display auto → lcd7" in _side(screen)
            assert screen.ocr is not None and screen.ocr.get("display") == "lcd7"
            assert "last digit" not in _side(screen)
            # and its key is greyed out in the footer: pressing it changes nothing
            assert screen.check_action("last_digit", ()) is None
            await pilot.press("u")
            assert screen.cal["last_digit"] == "turning" and not screen.dirty
