"""Tesseract (through pytesseract) as one voter among the engines.

pytesseract starts a tesseract process per call (about 70 ms, most of it loading the
model), so Tesseract is only asked about the few cells the other engines are unsure of.
Cells can also be pasted into one line image, far apart, and read with a single
``--psm 7`` call with a digit whitelist: each digit comes back as its own "word" with a
box and a confidence, mapped to the cell its box centre falls in. That is cheaper but
weaker on loose real crops, whose window edges Tesseract then reads as text. A cell
that gets two characters, or none, has no Tesseract vote.

Tesseract is weak on meter digits (about 44 % of real drum crops, under 20 % of LCD
digits in the research notes) so its vote carries a small weight in the reader.
"""

from __future__ import annotations

import json
import os
import shutil
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from meter_agent.engines import DigitGuess, unknown

# one thread per tesseract process: on a 2- or 4-core Pi, OpenMP start-up for a tiny
# image costs more than it saves (set before pytesseract spawns its first process)
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

LINE_H = 40
GAP = 28
CONFIG = "--psm 7 -c tessedit_char_whitelist=0123456789"

#: how often Tesseract's digit was right per band of its confidence, measured on real
#: drum crops by ``python -m meter_agent.training.tesseract_accuracy``
ACCURACY_PATH = Path(__file__).resolve().parents[1] / "models" / "tesseract-accuracy.json"
#: the upper ends of the confidence bands of that table
BANDS = (0.2, 0.4, 0.6, 0.8, 1.0)


def available() -> bool:
    """True when the tesseract binary and pytesseract are installed."""
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return False
    return shutil.which("tesseract") is not None


def _prepare(gray: np.ndarray) -> np.ndarray:
    """Scale to the height Tesseract likes (ink dark on white), stretch the contrast."""
    h, w = gray.shape[:2]
    scale = LINE_H / max(h, 1)
    g = cv2.resize(gray, (max(4, int(round(w * scale))), LINE_H), interpolation=cv2.INTER_CUBIC)
    # a dst array of the same shape: OpenCV's stubs differ between releases on None
    return cv2.normalize(g, np.empty_like(g), 0, 255, cv2.NORM_MINMAX)


def stitch(cells: list[np.ndarray]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Cells side by side on white with wide gaps; returns the image and each cell's x-span."""
    parts = [_prepare(c) for c in cells]
    width = sum(p.shape[1] for p in parts) + GAP * (len(parts) + 1)
    line = np.full((LINE_H + 2 * GAP, width), 255, np.uint8)
    spans = []
    x = GAP
    for p in parts:
        line[GAP : GAP + LINE_H, x : x + p.shape[1]] = p
        spans.append((x - GAP // 2, x + p.shape[1] + GAP // 2))
        x += p.shape[1] + GAP
    return line, spans


#: a component at least this full of its box, and this share of the cell wide, is a drum
#: face the threshold took for ink, not a digit
FACE_FILL = 0.7
FACE_WIDTH = 0.5
#: a digit is at least this share of the cell high
DIGIT_HEIGHT = 0.3


def _components(binary: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The label image of ``binary``'s ink (= 255), each component's stats, and the
    labels of those touching the cell's edge."""
    _, labels, st, _ = cv2.connectedComponentsWithStats(
        (binary > 0).astype(np.uint8), connectivity=8
    )
    rim = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    return labels, st, np.unique(rim[rim > 0])


def _figures(st: np.ndarray, edge: np.ndarray, h: int, w: int) -> list[int]:
    """The components that may be a digit: clear of the cell's edges, digit-high, and no
    solid face."""
    keep = []
    for i in range(1, len(st)):
        _, _, bw, bh, area = (int(v) for v in st[i])
        if i in edge or bh < DIGIT_HEIGHT * h:
            continue
        if area >= FACE_FILL * bw * bh and bw >= FACE_WIDTH * w:
            continue
        keep.append(i)
    return keep


def tidy(binary: np.ndarray) -> np.ndarray:
    """A cell's ink as Tesseract should see it (ink = 255), from the vision's binary.

    The vision picks the ink's side once per window, by the threshold; a window of dark
    figures on light drum faces in a darker housing can come out with the faces as "ink"
    and the figures as holes in them (every cell of such a frame came back empty from
    Tesseract). A cell whose ink side holds no figure while the other side does is turned
    round. Then whatever ink touches the cell's edge (the housing, a sliver of the next
    figure on the drum) is cleared when a figure clear of the edges remains: Tesseract
    reads a dark frame around a digit as text of its own. A cell where no figure is seen
    either way is left as it was."""
    h, w = binary.shape[:2]
    for side in (binary, cv2.bitwise_not(binary)):
        labels, st, edge = _components(side)
        if _figures(st, edge, h, w):
            out = side.copy()
            out[np.isin(labels, edge)] = 0
            return out
    return binary


@lru_cache(maxsize=1)
def accuracy_table() -> tuple[float, ...]:
    """The measured share of right digits per confidence band (see ACCURACY_PATH)."""
    data = json.loads(ACCURACY_PATH.read_text())
    table = tuple(float(a) for a in data["accuracy"])
    if len(table) != len(BANDS) or not all(0.0 < a < 1.0 for a in table):
        raise ValueError(f"{ACCURACY_PATH} does not hold one accuracy in (0, 1) per band")
    return table


def band(confidence: float) -> int:
    """The index of the band of BANDS that ``confidence`` falls in (the last holds 1.0)."""
    return next((i for i, top in enumerate(BANDS) if confidence < top), len(BANDS) - 1)


def accuracy(confidence: float) -> float:
    """How often Tesseract's digit is right when it reports ``confidence``: its own
    number is no probability (on real drums right about 60 % of the time under 0.4, and
    92 % over 0.8)."""
    return accuracy_table()[band(confidence)]


class TesseractEngine:
    """Reads cells given as binary images (ink = 255), the form Tesseract reads best here:
    on real drum crops 52 % right against 33 % for the grey crop (bench/ocr.py notes)."""

    name = "tesseract"

    def __init__(self, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s

    def read(self, cells: list[np.ndarray], *, one_call: bool = False) -> list[DigitGuess]:
        """One guess per cell. ``one_call`` reads all cells from one stitched line (one
        process start; fine on clean cells, weaker on loose crops); otherwise each cell is
        its own call (the reader asks about a few unsure cells only)."""
        if not cells:
            return []
        inked = [cv2.bitwise_not(tidy(c)) for c in cells]
        if one_call:
            return self._read_line(inked)
        return [self._read_line([c])[0] for c in inked]

    def _read_line(self, cells: list[np.ndarray]) -> list[DigitGuess]:
        import pytesseract

        line, spans = stitch(cells)
        try:
            data = pytesseract.image_to_data(
                line,
                config=CONFIG,
                output_type=pytesseract.Output.DICT,
                timeout=self.timeout_s,
            )
        except (RuntimeError, pytesseract.TesseractError, OSError):
            return [unknown() for _ in cells]
        found: list[list[tuple[str, float]]] = [[] for _ in cells]
        for text, left, width, conf in zip(
            data["text"], data["left"], data["width"], data["conf"], strict=True
        ):
            text = "".join(ch for ch in str(text) if ch.isdigit())
            if not text:
                continue
            c = max(0.0, min(1.0, float(conf) / 100.0))
            step = width / len(text)
            for k, ch in enumerate(text):
                cx = left + (k + 0.5) * step
                for i, (a, b) in enumerate(spans):
                    if a <= cx < b:
                        found[i].append((ch, c))
                        break
        out = []
        for f in found:
            if len(f) == 1:
                out.append(DigitGuess(f[0][0], f[0][1], "digit", value=float(f[0][0])))
            else:
                out.append(unknown())
        return out
