"""Shared helpers for the reading-core tests (synthetic streams, the shared real digits)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from meter_agent.config import AgentConfig
from meter_agent.synth import Kind, SynthFrame

REPO = Path(__file__).resolve().parents[2]
DIGITS_DIR = REPO.parent / "shared" / "data" / "meter-digits"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def shared_digits() -> Path:
    """The real labelled digit crops; skip (with the reason) when CI has no shared copy."""
    if not (DIGITS_DIR / "labels.csv").is_file():
        pytest.skip(
            f"shared meter digits not found at {DIGITS_DIR} (CI copies shared/ beside the clone)"
        )
    return DIGITS_DIR


def digit_rows(data: Path) -> list[dict]:
    with open(data / "labels.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def config_for(
    frame: SynthFrame, *, n: int = 6, decimals: int = 0, display: str = "auto"
) -> AgentConfig:
    cfg = AgentConfig()
    cfg.ocr.expected_digits = n
    cfg.ocr.decimals = decimals
    cfg.ocr.interval_s = 3600
    cfg.calibration.roi = list(frame.roi)
    cfg.calibration.rotate_degrees = frame.rotation
    cfg.calibration.display = display  # type: ignore[assignment]
    return cfg


def hourly(i: int) -> datetime:
    return T0 + timedelta(hours=i)


#: one of ``bench.frames``' drum frames: digits, style seed, nuisance seed, font face's
#: file name, the last drum's turn, and the window drawn (None: the digit window itself)
BenchDrum = tuple[str, int, int, str, float, "list[int] | None"]


def bench_drum_frames(
    cases: list[BenchDrum], kind: Kind = "drum"
) -> list[tuple[SynthFrame, AgentConfig]]:
    """The frames of ``cases`` as ``bench.frames`` draws them (1280×720, in its held-out
    faces; ``kind`` "lcd7" for its LCD frames), each with a config calibrated on its
    window (display "auto"); skip the test when a face is not installed."""
    from meter_agent.synth import render_frame
    from meter_agent.training.fonts import HELDOUT_FONTS, present_fonts

    faces = {f.name: f for f in present_fonts(HELDOUT_FONTS)}
    if not all(case[3] in faces for case in cases):
        pytest.skip("the held-out faces (fonts-dejavu-core, fonts-liberation, DSEG) are missing")
    out = []
    for digits, style, nuisance, face, roll, roi in cases:
        f = render_frame(
            kind,
            digits,
            seed=style,
            nuisance_seed=nuisance,
            font=faces[face],
            roll=roll,
            frame_size=(1280, 720),
        )
        cfg = config_for(f, n=len(digits))
        if roi is not None:
            cfg.calibration.roi = list(roi)
        out.append((f, cfg))
    return out
