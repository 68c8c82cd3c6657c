"""The calibration screen shows the digit cells the agent found and how the camera's
picture lies against the calibration's reference: a real meter_agent on loopback, fed
with synthetic frames, driven with the keys a user presses."""

from __future__ import annotations

from devkit.demo import demo_config, demo_hub
from devkit.demo_agent import DemoAgent
from energytui.tui.app import EnergyApp
from energytui.tui.screens.calibration import CalibrationScreen
from energytui.tui.widgets.preview import CameraPreview

TOKEN = "cal-cells-token"


def _app(endpoint: str) -> EnergyApp:
    hub, _, _ = demo_hub()
    cfg = demo_config()
    cfg.meter.endpoint = endpoint
    cfg.meter.token = TOKEN
    return EnergyApp(cfg, hub)


def _text(app: EnergyApp) -> str:
    """The screen's text as a user reads it (the SVG writes spaces as &#160;)."""
    return app.export_screenshot().replace("&#160;", " ")


async def _wait(pilot, until, tries: int = 300) -> None:
    for _ in range(tries):
        await pilot.pause(0.05)
        if until():
            return


async def test_the_cells_found_and_the_alignment_are_shown(tmp_path) -> None:
    with DemoAgent(tmp_path, token=TOKEN) as agent:
        app = _app(agent.url)
        async with app.run_test(size=(130, 40)) as pilot:
            await pilot.press("c")
            screen = app.screen
            assert isinstance(screen, CalibrationScreen)
            await _wait(pilot, lambda: bool(screen.cells))
            # six cells, drawn over the camera picture, and no reference yet
            assert screen.cells is not None and len(screen.cells) == 6
            assert screen.query_one("#cal-frame", CameraPreview).cells == screen.cells
            x, y, w, h = agent.true_roi
            xs = [p[0] for cell in screen.cells for p in cell]
            assert x - 30 < min(xs) and max(xs) < x + w + 30
            shot = _text(app)
            assert "6 found" in shot and "no reference" in shot
            # saving keeps the picture the window was drawn on as the reference
            await pilot.press("enter")
            await _wait(pilot, lambda: "shift" in str(screen.alignment_text()))
            assert str(screen.alignment_text()).startswith("shift 0.0 px, rotation +0.00°")
            assert "shift 0.0 px" in _text(app)
        assert (agent.service.data_dir / "reference.png").is_file()
