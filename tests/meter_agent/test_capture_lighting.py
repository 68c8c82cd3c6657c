"""The lighting controller: measures the window, steps the camera control, stays bounded."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from agent_support import digits_image

from meter_agent.capture import FileSource, LightControl, lighting_control_for
from meter_agent.config import LightingConfig
from meter_agent.lighting import LightingController, proportional_step, roi_brightness


class Scene(LightControl):
    """A camera in a dim cupboard: the picture's grey level follows the brightness control.

    There is no camera on a test machine, so this stands in for the one knob the
    controller turns; the controller's own code runs unchanged.
    """

    name = "brightness"

    def __init__(self, value: float, ambient: float) -> None:
        self.value, self.ambient, self.history = value, ambient, [value]

    def get(self) -> float | None:
        return self.value

    def set(self, value: float) -> None:
        self.value = value
        self.history.append(value)

    def frame(self) -> np.ndarray:
        level = np.clip(self.ambient + 0.8 * self.value, 0, 255)
        img = np.full((90, 160, 3), level, np.uint8)
        img[:20] = 255  # a bright lamp outside the window must not count
        return img


def test_roi_brightness_measures_only_the_window() -> None:
    img = np.zeros((100, 100, 3), np.uint8)
    img[10:30, 10:50] = 200
    assert roi_brightness(img, [10, 10, 40, 20]) == pytest.approx(200)
    assert roi_brightness(img, None) == pytest.approx(200 * 800 / 10000)
    # a window partly outside the frame is clipped, not an error
    assert roi_brightness(img, [90, 90, 50, 50]) == pytest.approx(0)


def test_step_is_proportional_clamped_and_quiet_inside_tolerance() -> None:
    cfg = LightingConfig(enabled=True, brightness_target=128, gain=0.5, max_step=10, tolerance=8)
    assert proportional_step(cfg, 124) == 0.0
    assert proportional_step(cfg, 110) == pytest.approx(9.0)
    assert proportional_step(cfg, 0) == 10.0
    assert proportional_step(cfg, 255) == -10.0


@pytest.mark.parametrize(("ambient", "start"), [(10.0, 40.0), (60.0, 220.0)])
def test_controller_brings_a_dark_or_bright_scene_to_the_target(
    ambient: float, start: float
) -> None:
    cfg = LightingConfig(enabled=True, brightness_target=120, gain=0.5, max_step=12, tolerance=6)
    scene = Scene(value=start, ambient=ambient)
    assert abs(roi_brightness(scene.frame(), [0, 30, 160, 60]) - 120) > 40
    ctl = LightingController(cfg, scene)
    roi = [0, 30, 160, 60]
    for _ in range(60):
        report = ctl.observe(scene.frame(), roi)
    assert abs(report.brightness - 120) <= 6
    steps = np.abs(np.diff(scene.history))
    assert steps.max() <= 12 + 1e-9
    assert all(cfg.control_min <= v <= cfg.control_max for v in scene.history)
    assert report.to_json()["control"] == "brightness"


def test_disabled_or_file_source_only_measures(tmp_path: Path) -> None:
    img = digits_image("123")
    cv2.imwrite(str(tmp_path / "a.png"), img)
    src = FileSource(tmp_path)
    assert lighting_control_for(src, LightingConfig(enabled=True)) is None
    ctl = LightingController(LightingConfig(enabled=True), None)
    report = ctl.observe(src.grab(), None)
    assert report.brightness == pytest.approx(img.mean(), abs=1.0)
    assert report.control is None and report.step == 0.0
    scene = Scene(value=50.0, ambient=0.0)
    off = LightingController(LightingConfig(enabled=False), scene)
    off.observe(scene.frame(), None)
    assert scene.history == [50.0]
