"""Engines on real meter digits (the shared crops) and on drawn seven-segment cells.

Floors are set a few points under what was measured (see docs/meter-reading.md and
``python -m meter_agent.training.compare_models``). The trained model is only ever scored
on its held-out makers, with the model trained without them (``bench/models``); the
shipped model has seen every real crop.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from read_support import REPO, digit_rows, shared_digits

from meter_agent.engines.digits import (
    N_OUT,
    DigitsEngine,
    conv3x3_relu,
    fold_floor,
    fold_round,
    matmul,
    max_pool2,
    position,
    prepare,
)
from meter_agent.engines.seven_segment import SevenSegmentEngine, decode_cell
from meter_agent.engines.tesseract import TesseractEngine, available
from meter_agent.synth import SEGMENTS, draw_drum_cell, draw_lcd_cell
from meter_agent.vision import binarise, cell_from_crop

HELDOUT_MODEL = REPO / "bench" / "models" / "digits-heldout.npz"
#: a few points under what the held-out model measured (see docs/meter-reading.md)
#: measured: lower digit 100 %, mean position error 0.036 step, 91 % of clean digits at p ≥ 0.8
FLOORS = {"rollover_lower": 0.97, "rollover_error": 0.08, "clean_sure": 0.88}


@pytest.fixture(scope="module")
def held_out() -> tuple[DigitsEngine, list[dict], dict[str, np.ndarray]]:
    data = shared_digits()
    engine = DigitsEngine(HELDOUT_MODEL)
    held = set(engine.model.info["held_out_files"])
    rows = [r for r in digit_rows(data) if r["file"] in held and not r["note"].startswith("blank")]
    imgs = {r["file"]: cv2.imread(str(data / r["file"])) for r in rows}
    return engine, rows, imgs


def test_models_ship_their_credit_and_their_held_out_split() -> None:
    shipped, held = DigitsEngine().model.info, DigitsEngine(HELDOUT_MODEL).model.info
    for info in (shipped, held):
        assert "haverland/Tenth-of-step-of-a-meter-digit" in info["notice"]
        assert "Apache" in info["notice"]
        assert len(info["held_out_files"]) > 200
        assert "rollover/powermeter" in info["held_out_report"]
        assert 0.3 < info["temperature"] < 4.0
    assert shipped["trained_on_all"] and not held["trained_on_all"]
    assert shipped["held_out_files"] == held["held_out_files"]
    assert shipped["held_out_report"] == held["held_out_report"]


@pytest.mark.parametrize(
    ("kind", "floor"),
    # measured with the position model (2 members, 24 epochs, both folders and fonts,
    # 5 December 2026; the 14-epoch pair the same): 98.4 %, 100 %, 94.7 % (38 crops of
    # unseen water makers), 91.7 % (12 gas crops)
    [("powermeter", 0.97), ("lcd", 0.97), ("watermeter", 0.85), ("gasmeter", 0.9)],
)
def test_model_on_held_out_clean_digits(held_out, kind: str, floor: float) -> None:
    engine, rows, imgs = held_out
    rs = [r for r in rows if r["category"] == "clean" and r["kind"] == kind]
    assert rs, f"no held-out {kind} digits"
    got = engine.read([imgs[r["file"]] for r in rs], rolling=kind != "lcd")
    acc = sum(g.char == r["digit"] for g, r in zip(got, rs, strict=True)) / len(rs)
    assert acc >= floor, f"{kind}: {acc:.3f}"


def test_model_is_never_sure_and_wrong_on_unseen_makers(held_out) -> None:
    """A settled digit the model alone vouches for at the reader's default threshold
    (0.8, its calibrated probability of the nearest digit) must not be wrong."""
    engine, rows, imgs = held_out
    rs = [r for r in rows if r["category"] == "clean"]
    probs = engine.probabilities([imgs[r["file"]] for r in rs])
    top = probs[:, :10].argmax(axis=1)
    sure = probs[np.arange(len(rs)), top] >= 0.8
    wrong = [r["file"] for r, t, s in zip(rs, top, sure, strict=True) if s and str(t) != r["digit"]]
    assert not wrong, wrong
    assert sure.mean() >= FLOORS["clean_sure"], sure.mean()


def test_model_reads_the_lower_digit_of_rolling_drums(held_out) -> None:
    engine, rows, imgs = held_out
    rs = [r for r in rows if r["category"] == "rollover"]
    x = np.stack([prepare(imgs[r["file"]]) for r in rs])
    pos = [position(q) for q in engine.model.positions(x)]
    truth = [int(r["digit"]) + int(r["tenth"]) / 10 for r in rs]
    lower = [math.floor(v) % 10 == int(r["digit"]) for v, r in zip(pos, rs, strict=True)]
    err = [abs((v - t + 5) % 10 - 5) for v, t in zip(pos, truth, strict=True)]
    assert sum(lower) / len(rs) >= FLOORS["rollover_lower"], sum(lower) / len(rs)
    assert float(np.mean(err)) <= FLOORS["rollover_error"], float(np.mean(err))


def test_position_folds_and_the_drum_position() -> None:
    """The 100 tenths fold to digits two ways: the nearest digit (half steps shared) and
    the lower digit (a last drum); the position is the local circular mean."""
    q = np.zeros(N_OUT)
    q[35] = 1.0  # 3.5: between 3 and 4
    assert fold_round(q)[3] == fold_round(q)[4] == 0.5
    assert fold_floor(q)[3] == 1.0
    q = np.zeros(N_OUT)
    q[[98, 99, 0]] = [0.25, 0.5, 0.25]  # around 9.9, wrapping
    assert abs(position(q) - 9.9) < 1e-6
    assert fold_floor(q)[9] == 0.75 and fold_round(q)[0] == 1.0
    q = np.zeros(N_OUT)
    q[N_OUT - 1] = 1.0
    assert fold_round(q)[10] == 1.0


def test_numpy_convolution_matches_the_definition() -> None:
    """im2col by strides against a plain loop: zero padding 1, weights (C·9)×K, ReLU."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 4, 3)).astype(np.float32)
    wt = rng.normal(size=(6, 3, 3, 3)).astype(np.float32)  # torch layout K×C×3×3
    b = rng.normal(size=6).astype(np.float32)
    got = conv3x3_relu(x, wt.reshape(6, -1).T.copy(), b)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    want = np.zeros((2, 5, 4, 6), np.float32)
    for i in range(5):
        for j in range(4):
            patch = xp[:, i : i + 3, j : j + 3, :]  # N×3×3×C
            want[:, i, j] = np.einsum("nhwc,kchw->nk", patch, wt) + b
    assert np.allclose(got, np.maximum(want, 0), atol=1e-4)
    pooled = max_pool2(got)
    assert pooled.shape == (2, 2, 2, 6)
    assert np.allclose(pooled[:, 0, 0], got[:, :2, :2].max(axis=(1, 2)))


def test_blocked_matrix_product_is_the_plain_one() -> None:
    """Row blocks (kept under OpenBLAS's threading size) change nothing but the speed."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(1000, 144)).astype(np.float32)
    w = rng.normal(size=(144, 32)).astype(np.float32)
    assert np.allclose(matmul(a, w), a @ w, atol=1e-4)


def test_model_reads_drawn_digits_in_either_polarity() -> None:
    engine = DigitsEngine()
    cells = [draw_lcd_cell(str(d), 40, 70) for d in range(10)]
    for imgs in (cells, [255 - c for c in cells]):
        got = [g.char for g in engine.read(imgs, rolling=False)]
        assert sum(g == str(d) for d, g in enumerate(got)) >= 9, got


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
