"""The seven-segment decoder on every real LCD crop of the shared digits.

The decoder is not trained, so all the LCD crops are fair to score it on. Real crops are
loose: they hold pieces of the neighbouring digits and the display's frame lines above
and below, which the decoder must leave out; a shadow filling a digit's counters is a
blob, on which it must not give a digit.
"""

from __future__ import annotations

import cv2
import numpy as np
from read_support import digit_rows, shared_digits

from meter_agent.engines.seven_segment import decode_cell
from meter_agent.synth import draw_lcd_cell
from meter_agent.vision import cell_from_crop


def test_decoder_reads_loose_real_lcd_crops_and_rarely_says_a_wrong_digit() -> None:
    data = shared_digits()
    rows = [r for r in digit_rows(data) if r["kind"] == "lcd" and not r["note"].startswith("blank")]
    got = [decode_cell(cell_from_crop(cv2.imread(str(data / r["file"]))).binary) for r in rows]
    right = sum(g.char == r["digit"] for g, r in zip(got, rows, strict=True))
    wrong = sum(g.char not in (None, r["digit"]) for g, r in zip(got, rows, strict=True))
    # measured 87 right and 3 wrong of 314 (before frame lines and neighbours were left
    # out: 44 right, 25 wrong; before a frame line one pixel in and patterns barely over
    # the line: 96 right, 4 wrong)
    assert right >= 0.25 * len(rows), right
    assert wrong <= 0.02 * len(rows), wrong


def test_a_filled_blob_is_no_opinion_not_a_digit() -> None:
    cell = np.zeros((80, 48), np.uint8)
    cell[8:72, 10:38] = 255  # a shadow or a finger over the digit
    g = decode_cell(cell)
    assert g.char is None and g.kind == "unknown"


def _segments(ch: str) -> np.ndarray:
    """A clean binary seven-segment digit filling a 69 × 47 cell (ink = 255)."""
    cell = draw_lcd_cell(ch, 47, 69, bg=(0, 0, 0), ink=(255, 255, 255), ghost=0.0)[..., 0]
    return np.where(cell > 127, 255, 0).astype(np.uint8)


def test_the_displays_frame_line_a_pixel_in_is_left_out() -> None:
    # the frame line above the digits, cut one pixel below the cell's top (a tight window
    # a hair off), was kept as part of the digit: its box took the line in, and a 9 or a
    # 0 read as no digit at all ("other", which refuses the reading as another screen)
    for ch in "90":
        cell = np.zeros((69, 47), np.uint8)
        cell[13:58, 14:35] = cv2.resize(_segments(ch), (21, 45), interpolation=cv2.INTER_NEAREST)
        cell[1, 0:15] = cell[1, 16:35] = 255  # the line, in two pieces
        g = decode_cell(cell)
        assert g.char == ch, (ch, g)


def test_a_pattern_barely_over_the_line_is_no_opinion() -> None:
    # an 8 whose middle segment is half lit (thin light segments sampled at their edge):
    # the decoder guessed 0 at 0.58, a vote against the model's 8; it now abstains
    cell = _segments("8")
    ys, xs = np.nonzero(cell)
    mid, x0, x1 = (ys.min() + ys.max()) // 2, xs.min() + 6, xs.max() - 6
    cell[mid - 4 : mid + 5, int(x0 + 0.45 * (x1 - x0)) : x1] = 0
    g = decode_cell(cell)
    assert g.char is None and g.kind == "unknown", g
    assert decode_cell(_segments("8")).char == "8"  # the whole 8 still reads


def test_a_narrow_faces_eight_is_not_a_one() -> None:
    # DSEG7 Modern's digits are under 0.38 as wide as tall, the decoder's bar for "one
    # upright stroke": an 8 was read as a 1 (0.85) against the model's sure 8, and the
    # reading was refused. A 1 crosses each row of its box once, an 8 or a 0 twice.
    for ch in "80":
        cell = np.zeros((114, 56), np.uint8)
        cell[21:93, 15:42] = cv2.resize(_segments(ch), (27, 72), interpolation=cv2.INTER_NEAREST)
        g = decode_cell(cell)
        assert g.char == ch, (ch, g)
    one = np.zeros((114, 56), np.uint8)
    one[21:93, 33:42] = cv2.resize(_segments("1"), (9, 72), interpolation=cv2.INTER_NEAREST)
    assert decode_cell(one).char == "1"
