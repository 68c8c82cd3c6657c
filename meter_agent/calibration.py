"""Calibration: the window on the camera picture and the OCR settings the TUI's
calibration screen edits, checked against the camera and saved to the config file.

Why a module of its own: ``GET``/``PUT /calibration`` and ``POST /ocr`` (try unsaved
settings) share one way of merging an edit into the current settings and validating it,
and a saved edit must reach the config file before the live reader, so that a file that
cannot be written changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meter_agent.config import (
    AgentConfig,
    AgentConfigError,
    CalibrationConfig,
    OcrConfig,
    changed_settings,
    load_agent_config,
    save_config_changes,
)

if TYPE_CHECKING:
    from meter_agent.reader import MeterReader


@dataclass
class CalibrationUpdate:
    """The calibration and OCR fields the TUI edits; None = leave as it is."""

    roi: list[int] | None = None
    rotate_degrees: float | None = None
    display: str | None = None
    last_digit: str | None = None
    expected_digits: int | None = None
    decimals: int | None = None
    threshold: int | None = None
    clear_roi: bool = False  # the body said "roi": null


#: the live frame kept as the reference when a window is saved is at most this old
REFERENCE_FRAME_AGE_S = 0.5


def moves_window(update: CalibrationUpdate) -> bool:
    """The update sets the window's geometry (drawn on the live picture), so the live
    picture becomes the reference frames are aligned to; a change of threshold or digit
    count alone keeps the reference."""
    return update.roi is not None or update.rotate_degrees is not None or update.clear_roi


class CalibrationError(ValueError):
    """A calibration that validates on its own but does not fit the camera picture."""


def check_roi_fits(roi: list[int] | None, frame_size: tuple[int, int] | None) -> None:
    """Refuse a window that reaches outside the frame (the reader could never use it)."""
    if roi is None or frame_size is None:
        return
    fw, fh = frame_size
    x, y, w, h = roi
    if x + w > fw or y + h > fh:
        raise CalibrationError(
            f"roi {roi} reaches outside the {fw}x{fh} camera frame; make it smaller or move it."
        )


def calibration_view(config: AgentConfig) -> dict[str, Any]:
    """``GET /calibration``'s body: what the calibration screen shows and edits."""
    c, o = config.calibration, config.ocr
    return {
        "roi": c.roi,
        "rotate_degrees": c.rotate_degrees,
        "display": c.display,
        "last_digit": c.last_digit,
        "expected_digits": o.expected_digits,
        "decimals": o.decimals,
        "threshold": o.threshold,
    }


def merged_calibration(
    config: AgentConfig, update: CalibrationUpdate, frame_size: tuple[int, int] | None
) -> tuple[CalibrationConfig, OcrConfig]:
    """``config``'s calibration and OCR settings with ``update`` applied, validated.

    Raises ``pydantic.ValidationError`` for bad values and :class:`CalibrationError` for a
    window outside a camera frame of ``frame_size`` (None: not known yet, not checked).
    """
    cal = config.calibration.model_dump()
    ocr = config.ocr.model_dump()
    if update.clear_roi:
        cal["roi"] = None
    elif update.roi is not None:
        cal["roi"] = update.roi
    for key in ("rotate_degrees", "display", "last_digit"):
        if getattr(update, key) is not None:
            cal[key] = getattr(update, key)
    for key in ("expected_digits", "decimals", "threshold"):
        if getattr(update, key) is not None:
            ocr[key] = getattr(update, key)
    new_cal = CalibrationConfig.model_validate(cal)
    new_ocr = OcrConfig.model_validate(ocr)
    check_roi_fits(new_cal.roi, frame_size)
    return new_cal, new_ocr


#: the settings a calibration edits, by section; no other key is ever written by one
EDITED = {
    "calibration": ("roi", "rotate_degrees", "display", "last_digit"),
    "ocr": ("expected_digits", "decimals", "threshold"),
}


def file_changes(
    config_path: Path, config: AgentConfig, new_cal: CalibrationConfig, new_ocr: OcrConfig
) -> dict[str, dict[str, Any]]:
    """The calibration settings whose new value is not what the file says now.

    Compared with the file rather than the running config: the agent may run with a window
    it found itself that the file never said, which a save must write; and a setting the
    file leaves to its default stays out of it while the default is still what is wanted."""
    try:
        on_file = load_agent_config(config_path) if config_path.exists() else AgentConfig()
    except AgentConfigError:
        on_file = config
    changes: dict[str, dict[str, Any]] = {}
    for section, new in (("calibration", new_cal), ("ocr", new_ocr)):
        diff = changed_settings(getattr(on_file, section), new, section).get(section, {})
        kept = {k: v for k, v in diff.items() if k in EDITED[section]}
        if kept:
            changes[section] = kept
    return changes


def apply_calibration(
    config: AgentConfig,
    update: CalibrationUpdate,
    frame_size: tuple[int, int] | None,
    *,
    config_path: Path | None,
    reader: MeterReader,
) -> AgentConfig:
    """Validate, save atomically to ``config_path`` (None: not saved), then apply to the
    live ``reader``; returns the new config, which the caller makes current.

    Only the settings that changed are written, into the file as its owner wrote it
    (:func:`~meter_agent.config.save_config_changes`): never every default.

    Raises ``pydantic.ValidationError`` for bad values and :class:`CalibrationError` for a
    window outside the frame (nothing saved either way), and ``OSError`` when the config
    file cannot be written (nothing applied).
    """
    new_cal, new_ocr = merged_calibration(config, update, frame_size)
    new_cfg = config.model_copy(update={"calibration": new_cal, "ocr": new_ocr})
    if config_path is not None:
        changes = file_changes(config_path, config, new_cal, new_ocr)
        if changes:
            save_config_changes(config_path, changes)
    reader.update_calibration(new_cal, new_ocr)
    return new_cfg
