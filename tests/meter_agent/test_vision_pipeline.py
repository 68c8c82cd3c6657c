"""Vision pipeline on synthetic frames: rotation, crop, polarity, cells, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from meter_agent.config import CalibrationConfig, OcrConfig
from meter_agent.synth import render_frame
from meter_agent.vision import ImageError, process_for_preview, process_window, rotate


@pytest.mark.parametrize("kind", ["lcd7", "drum"])
def test_window_is_split_into_the_expected_cells(kind: str) -> None:
    f = render_frame(kind, "305172", seed=11, glare=False)  # type: ignore[arg-type]
    cal = CalibrationConfig(roi=f.roi, rotate_degrees=f.rotation)
    win = process_window(f.image, cal, OcrConfig(expected_digits=6))
    assert len(win.cells) == 6
    widths = [c.box[2] for c in win.cells]
    assert max(widths) < 1.5 * min(widths)
    assert all(c.ink > 0.05 for c in win.cells)
    assert win.binary.shape == win.color.shape[:2]


def test_lcd_ink_is_dark_and_light_drum_digits_are_light() -> None:
    lcd = render_frame("lcd7", "111111", seed=3)
    w = process_window(
        lcd.image, CalibrationConfig(roi=lcd.roi, rotate_degrees=lcd.rotation), OcrConfig()
    )
    assert w.ink_dark
    # white-on-black drum meters are the common look; seed 5 is one
    drum = render_frame("drum", "222222", seed=5)
    w = process_window(
        drum.image, CalibrationConfig(roi=drum.roi, rotate_degrees=drum.rotation), OcrConfig()
    )
    assert not w.ink_dark


def test_blank_display_has_no_ink_in_its_cells() -> None:
    f = render_frame("lcd7", "000000", seed=8, screen="blank", glare=False)
    w = process_window(
        f.image, CalibrationConfig(roi=f.roi, rotate_degrees=f.rotation), OcrConfig()
    )
    assert all(c.blank for c in w.cells)


def test_rotation_round_trips_the_upright_window() -> None:
    kw = dict(seed=1, noise=0.0, blur=0.0, glare=False)
    straight = render_frame("lcd7", "123456", rotation=0.0, **kw)  # type: ignore[arg-type]
    tilted = render_frame("lcd7", "123456", rotation=5.0, **kw)  # type: ignore[arg-type]
    assert straight.roi == tilted.roi
    x, y, w, h = straight.roi
    ref = straight.image[y : y + h, x : x + w].astype(float)
    back = rotate(tilted.image, 5.0)[y : y + h, x : x + w].astype(float)
    raw = tilted.image[y : y + h, x : x + w].astype(float)
    assert np.abs(back - ref).mean() < 6
    assert np.abs(raw - ref).mean() > 3 * np.abs(back - ref).mean()


def test_bad_input_gives_one_sentence_errors() -> None:
    with pytest.raises(ImageError, match="outside"):
        process_window(
            np.zeros((100, 100, 3), np.uint8), CalibrationConfig(roi=[500, 10, 50, 50]), OcrConfig()
        )
    with pytest.raises(ImageError, match="empty"):
        process_window(np.zeros((0, 0, 3), np.uint8), CalibrationConfig(), OcrConfig())


def test_preview_images_for_the_calibration_screen() -> None:
    f = render_frame("drum", "000042", seed=2)
    out = process_for_preview(
        f.image, CalibrationConfig(roi=f.roi, rotate_degrees=f.rotation), OcrConfig()
    )
    assert set(out) == {"window", "processed"}
    assert out["window"].shape == out["processed"].shape
    assert out["processed"].ndim == 3
