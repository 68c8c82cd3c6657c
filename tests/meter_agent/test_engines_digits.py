"""Engines on real meter digits (the shared crops) and on drawn seven-segment cells.

Floors are set a few points under what was measured (see docs/meter-reading.md and
``python -m bench.ocr``); the trained model is only ever scored on its held-out makers.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from read_support import digit_rows, shared_digits

from meter_agent.engines.digits import DigitsEngine, drum_value, features
from meter_agent.engines.seven_segment import SevenSegmentEngine, decode_cell
from meter_agent.engines.tesseract import TesseractEngine, available
from meter_agent.synth import SEGMENTS, draw_drum_cell, draw_lcd_cell
from meter_agent.vision import binarise, cell_from_crop


@pytest.fixture(scope="module")
def held_out() -> tuple[DigitsEngine, list[dict], dict[str, np.ndarray]]:
    data = shared_digits()
    engine = DigitsEngine()
    held = set(engine.model.info["held_out_files"])
    rows = [r for r in digit_rows(data) if r["file"] in held and not r["note"].startswith("blank")]
    imgs = {r["file"]: cv2.imread(str(data / r["file"])) for r in rows}
    return engine, rows, imgs


def test_model_ships_its_credit_and_its_held_out_split() -> None:
    info = DigitsEngine().model.info
    assert "haverland/Tenth-of-step-of-a-meter-digit" in info["notice"]
    assert "Apache" in info["notice"]
    assert len(info["held_out_files"]) > 200


@pytest.mark.parametrize(
    ("kind", "floor"),
    # measured: 96.5 %, 95.1 %, 100 % (25 crops), 83 % (12 crops of one unseen maker)
    [("powermeter", 0.93), ("lcd", 0.9), ("watermeter", 0.92), ("gasmeter", 0.66)],
)
def test_model_on_held_out_clean_digits(held_out, kind: str, floor: float) -> None:
    engine, rows, imgs = held_out
    rs = [r for r in rows if r["category"] == "clean" and r["kind"] == kind]
    assert rs, f"no held-out {kind} digits"
    got = engine.read([imgs[r["file"]] for r in rs], rolling=kind != "lcd")
    acc = sum(g.char == r["digit"] for g, r in zip(got, rs, strict=True)) / len(rs)
    assert acc >= floor, f"{kind}: {acc:.3f}"


def test_model_reads_the_lower_digit_of_rolling_drums(held_out) -> None:
    engine, rows, imgs = held_out
    rs = [r for r in rows if r["category"] == "rollover"]
    probs = engine.probabilities([imgs[r["file"]] for r in rs])
    lower = [
        math.floor(drum_value(p)) % 10 == int(r["digit"]) for p, r in zip(probs, rs, strict=True)
    ]
    err = [
        abs((drum_value(p) - (int(r["digit"]) + int(r["tenth"]) / 10) + 5) % 10 - 5)
        for p, r in zip(probs, rs, strict=True)
    ]
    assert sum(lower) / len(rs) >= 0.68  # measured 0.74
    assert float(np.mean(err)) <= 0.6  # measured 0.49 digit


def test_features_are_polarity_invariant_in_their_gradient_part() -> None:
    cell = draw_lcd_cell("5", 40, 70)
    a, b = features(cell), features(255 - cell)
    n_hog = a.size - 160
    assert np.corrcoef(a[:n_hog], b[:n_hog])[0, 1] > 0.999


@pytest.mark.parametrize("italic", [0.0, 0.12])
def test_seven_segment_reads_every_digit_and_refuses_letters(italic: float) -> None:
    """Each sign is decoded in a row beside real digits (the engine compares heights)."""
    engine = SevenSegmentEngine()
    for ch in SEGMENTS:
        row = [draw_lcd_cell(c, 44, 76, italic=italic, thickness_frac=0.15) for c in ("2", ch, "5")]
        binaries = [binarise(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY), 1)[0] for c in row]
        g = engine.read(binaries)[1]
        if ch.isdigit():
            assert g.char == ch, (ch, g)
        elif ch == " ":
            # unlit segments still show faintly; the pipeline calls the cell blank by contrast
            assert cell_from_crop(row[1]).blank
        else:
            assert g.char is None, (ch, g)


def test_seven_segment_on_real_lcd_crops_rarely_says_a_wrong_digit(held_out) -> None:
    """Loose real crops (with neighbours) defeat segment sampling; it must then abstain."""
    _, rows, imgs = held_out
    rs = [r for r in rows if r["kind"] == "lcd"]
    got = [decode_cell(cell_from_crop(imgs[r["file"]]).binary) for r in rs]
    wrong = sum(g.char is not None and g.char != r["digit"] for g, r in zip(got, rs, strict=True))
    assert wrong <= 0.1 * len(rs)


@pytest.mark.skipif(not available(), reason="tesseract is not installed")
def test_tesseract_reads_a_clean_row_in_one_call() -> None:
    cells = []
    for ch in "305172":
        drum = draw_drum_cell(int(ch), 0.0, 48, 72, bg=(235, 235, 235), ink=(20, 20, 20))
        binary, _, _ = binarise(cv2.cvtColor(drum, cv2.COLOR_BGR2GRAY), 1)
        cells.append(binary)
    got = TesseractEngine().read(cells, one_call=True)
    assert len(got) == 6
    right = sum(g.char == ch for g, ch in zip(got, "305172", strict=True))
    wrong = sum(g.char not in (None, ch) for g, ch in zip(got, "305172", strict=True))
    assert right >= 4 and wrong <= 1  # measured 5 right, 1 wrong


@pytest.mark.skipif(not available(), reason="tesseract is not installed")
def test_tesseract_on_real_drum_digits(held_out) -> None:
    _, rows, imgs = held_out
    rs = [r for r in rows if r["kind"] == "powermeter" and r["category"] == "clean"][:40]
    te = TesseractEngine()
    got = te.read([cell_from_crop(imgs[r["file"]]).binary for r in rs])
    right = sum(g.char == r["digit"] for g, r in zip(got, rs, strict=True))
    assert right >= 0.35 * len(rs)  # measured about 50 %: Tesseract is weak on meters
