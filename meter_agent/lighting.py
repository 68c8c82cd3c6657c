"""Keep the digit window evenly lit by steering the camera's brightness or exposure.

A meter cupboard goes from dark to sunlit through the day, and an LCD that is too
bright or too dim loses its segments. When ``lighting.enabled`` is set the agent
measures the mean grey of the calibrated window after every capture and nudges the
camera control toward ``lighting.brightness_target`` with a proportional step that
is clamped to ``lighting.max_step`` (so one odd frame never swings the picture).
For sources without a control (files, snapshot URLs, synthetic) it only measures,
so ``/health`` still shows how bright the picture is.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from meter_agent.capture import LightControl
from meter_agent.config import LightingConfig


@dataclass
class LightingReport:
    """The outcome of one observation: what was measured and what was done."""

    brightness: float | None = None  # mean grey 0–255 of the window, None = not measured
    target: float = 128.0
    enabled: bool = False
    control: str | None = None  # which camera control, None = the source has none
    control_value: float | None = None  # its value after this step
    step: float = 0.0  # the change applied (0 = none)

    def to_json(self) -> dict:
        return {
            "enabled": self.enabled,
            "brightness": None if self.brightness is None else round(self.brightness, 1),
            "target": self.target,
            "control": self.control,
            "control_value": self.control_value,
            "last_step": self.step,
        }


def roi_brightness(frame: np.ndarray, roi: list[int] | None) -> float:
    """Mean grey level (0–255) of ``roi`` = [x, y, w, h] clipped to the frame, or the whole frame."""
    grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if roi:
        x, y, w, h = roi
        H, W = grey.shape[:2]
        x0, y0 = max(0, min(x, W - 1)), max(0, min(y, H - 1))
        x1, y1 = max(x0 + 1, min(x + w, W)), max(y0 + 1, min(y + h, H))
        grey = grey[y0:y1, x0:x1]
    return float(grey.mean())


def proportional_step(config: LightingConfig, brightness: float) -> float:
    """The control change for one step: gain × error, clamped, zero inside the tolerance band."""
    error = config.brightness_target - brightness
    if abs(error) <= config.tolerance:
        return 0.0
    step = config.gain * error
    return max(-config.max_step, min(config.max_step, step))


class LightingController:
    """Measures every capture and, when enabled and possible, steps the camera control."""

    def __init__(self, config: LightingConfig, control: LightControl | None) -> None:
        self.config = config
        self.control = control
        self.last = LightingReport(target=config.brightness_target, enabled=config.enabled)
        self._value: float | None = None  # our idea of the control's value

    def observe(self, frame: np.ndarray, roi: list[int] | None) -> LightingReport:
        cfg = self.config
        b = roi_brightness(frame, roi)
        report = LightingReport(
            brightness=b,
            target=cfg.brightness_target,
            enabled=cfg.enabled,
            control=None if self.control is None else self.control.name,
        )
        if cfg.enabled and self.control is not None:
            current = self.control.get()
            if current is None:
                current = (
                    self._value
                    if self._value is not None
                    else ((cfg.control_min + cfg.control_max) / 2)
                )
            step = proportional_step(cfg, b)
            new = max(cfg.control_min, min(cfg.control_max, current + step))
            if new != current:
                self.control.set(new)
            report.step = new - current
            report.control_value = new
            self._value = new
        self.last = report
        return report
