"""Seven-segment decoder for LCD meters: sample the seven segment regions of a
thresholded cell and look the pattern up in a table.

Why: stock Tesseract reads 8–20 % of real LCD digits; segment sampling needs no
training, costs microseconds, and — the property the reader relies on — rejects any
pattern that is not a digit (a letter, a dash, a half-lit cell) instead of guessing.

The cell's ink is reduced to its bounding box (a decimal point, a small round blob low
on the right, is reported separately and left out). A narrow box is a "1". Otherwise
each segment region is "on" when enough of it is ink; italic displays are handled by
trying a few shears and keeping the most decisive one.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from meter_agent.engines import DigitGuess

# segment regions in the digit's bounding box: (x0, x1, y0, y1) as fractions
_REGIONS: dict[str, tuple[float, float, float, float]] = {
    "a": (0.3, 0.7, 0.0, 0.14),
    "b": (0.72, 1.0, 0.18, 0.42),
    "c": (0.72, 1.0, 0.58, 0.82),
    "d": (0.3, 0.7, 0.86, 1.0),
    "e": (0.0, 0.28, 0.58, 0.82),
    "f": (0.0, 0.28, 0.18, 0.42),
    "g": (0.3, 0.7, 0.43, 0.57),
}
_ORDER = "abcdefg"
_PATTERNS: dict[frozenset[str], str] = {
    frozenset("abcdef"): "0",
    frozenset("bc"): "1",
    frozenset("abdeg"): "2",
    frozenset("abcdg"): "3",
    frozenset("bcfg"): "4",
    frozenset("acdfg"): "5",
    frozenset("acdefg"): "6",
    frozenset("cdefg"): "6",  # 6 without its top bar
    frozenset("abc"): "7",
    frozenset("abcf"): "7",  # 7 with a hook
    frozenset("abcdefg"): "8",
    frozenset("abcdfg"): "9",
    frozenset("abcfg"): "9",  # 9 without its bottom bar
}
ON = 0.4
#: DSEG's light faces are drawn in strokes that fill their sample regions only 0.3-0.45
#: when lit (0 when not): no pattern clears ON. When the usual line finds no digit, a
#: box whose fullest region is under ON / THIN_ON is read again with a segment lit at
#: THIN_ON of that fill, never under MIN_ON, and only when every region is clearly lit or
#: not (no fill between THIN_GAP's shares of the fullest). On real LCD photos that
#: reading is wrong more often (a 1's flag, a 4 with a neighbour's edge read as 7 and 9),
#: so it only ever confirms the model's digit (``DigitGuess.confirm_only``)
THIN_ON = 0.5
MIN_ON = 0.15
THIN_GAP = (0.25, 0.65)
#: the middle of the two counters (the spaces the segments enclose): no digit lights them,
#: so ink there means a blob (a shadow, a finger, glare), not a segment pattern
_COUNTERS = ((0.35, 0.65, 0.2, 0.37), (0.35, 0.65, 0.63, 0.8))
BLOB = 0.6
SHEARS = (0.0, -0.05, 0.05, 0.1, 0.16, 0.24)


def _components(binary: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, int, int, int]]]:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    comps = [(int(x), int(y), int(w), int(h), int(a)) for x, y, w, h, a in stats[1:n]]
    return labels, comps


def _shear(binary: np.ndarray, s: float) -> np.ndarray:
    if s == 0:
        return binary
    h, w = binary.shape
    m = np.array([[1, s, -s * h / 2], [0, 1, 0]], np.float32)
    return cv2.warpAffine(binary, m, (w, h), flags=cv2.INTER_NEAREST)


def _decode_box(ink: np.ndarray, thin: bool = False) -> tuple[set[str], float, dict[str, float]]:
    """Lit segments of a tight digit box, the weakest decision's margin, and the fills.

    ``thin``: the box is drawn in thin strokes (see THIN_ON): a segment is lit at half
    the fullest region's fill, when every region is clearly lit or clearly not; a box
    that is not so gets no pattern (margin -1)."""
    h, w = ink.shape
    fills = {}
    for name, (x0, x1, y0, y1) in _REGIONS.items():
        r = ink[
            int(y0 * h) : max(int(y1 * h), int(y0 * h) + 1),
            int(x0 * w) : max(int(x1 * w), int(x0 * w) + 1),
        ]
        fills[name] = float(np.mean(r > 0)) if r.size else 0.0
    on = ON
    if thin:
        fullest = max(fills.values())
        clear = all(
            f <= THIN_GAP[0] * fullest or f >= THIN_GAP[1] * fullest for f in fills.values()
        )
        if not (MIN_ON <= fullest < ON / THIN_ON and clear):
            return set(), -1.0, fills
        on = THIN_ON * fullest
    lit = {k for k, f in fills.items() if f >= on}
    margin = min(abs(f - on) for f in fills.values())
    for x0, x1, y0, y1 in _COUNTERS:
        r = ink[
            int(y0 * h) : max(int(y1 * h), int(y0 * h) + 1),
            int(x0 * w) : max(int(x1 * w), int(x0 * w) + 1),
        ]
        if r.size and float(np.mean(r > 0)) >= BLOB:
            return set(), -1.0, fills
    return lit, margin, fills


def _one_stroke(box: np.ndarray) -> bool:
    """Most inked rows of the box cross the ink once: one upright stroke (a 1), not the
    two uprights of a narrow face's 8 or 0 (DSEG's are under 0.38 as wide as tall, and
    an 8 was read as a 1)."""
    ink = box > 0
    crossings = (ink[:, 1:] & ~ink[:, :-1]).sum(axis=1) + ink[:, 0]
    inked = crossings > 0
    return bool(inked.any()) and float(np.mean(crossings[inked] == 1)) >= 0.8


#: the least confidence at which a segment pattern is read as a digit: under it the
#: pattern is barely over the line (thin light segments sampled at their edges), and a
#: digit there would outvote the model with a guess
CLEAR_PATTERN = 0.7


def decode_cell(binary: np.ndarray, ref_height: float | None = None) -> DigitGuess:
    """Decode one thresholded cell (ink = 255).

    ``ref_height`` is the typical digit height in this window (the engine passes the
    median over the row): a sign much lower than the digits beside it (a dash, a small
    "o") is not a digit even when its segments happen to form one.
    """
    h, w = binary.shape[:2]
    if h < 8 or w < 4:
        return DigitGuess(None, 0.0, "unknown")
    area = h * w
    _, comps = _components(binary)
    # drop specks, and what touches the cell's side without being the digit: the
    # window frame, a neighbour's segment cut by a loose crop, the display's frame lines
    body = []
    dot = dot_before = False
    for x, y, cw, chh, a in comps:
        if a < area * 0.004:
            continue
        if (x == 0 or x + cw >= w) and chh > 0.9 * h and cw < 0.2 * w:
            continue  # a full-height bar at the cell's side: the window frame
        if chh < 0.15 * h and (y <= 1 or y + chh >= h - 1):
            continue  # the window frame's edge, not a segment
        at_side = x <= 1 or x + cw >= w - 1
        mid_x, mid_y = (x + cw / 2) / w, (y + chh / 2) / h
        if at_side and not 0.2 <= mid_x <= 0.8:
            continue  # a piece of the neighbouring digit, cut by the cell's side
        if at_side and cw > 0.6 * w and chh < 0.2 * h and not 0.2 <= mid_y <= 0.8:
            continue  # the display's frame line above or below the digits
        aspect = max(cw, chh) / max(1, min(cw, chh))
        # a decimal point: small, round, low, in the gap at either side of the digit
        if a < area * 0.04 and aspect < 1.8 and y + chh / 2 > 0.7 * h:
            centre = x + cw / 2
            if centre > 0.8 * w:
                dot = True
                continue
            if centre < 0.2 * w:
                dot_before = True
                continue
        body.append((x, y, cw, chh, a))
    if not body:
        return DigitGuess(None, 0.9, "blank", dot=dot, dot_before=dot_before)
    mask = np.zeros_like(binary)
    x0 = min(c[0] for c in body)
    y0 = min(c[1] for c in body)
    x1 = max(c[0] + c[2] for c in body)
    y1 = max(c[1] + c[3] for c in body)
    mask[y0:y1, x0:x1] = binary[y0:y1, x0:x1]
    bh = y1 - y0
    if bh < 0.35 * h or (ref_height is not None and bh < 0.75 * ref_height):
        # a dash, a small "o", a low blob: not a digit
        return DigitGuess(None, 0.8, "other", dot=dot, dot_before=dot_before)
    got = _read_mask(mask, dot, dot_before)
    if got.char is None:
        thin = _read_mask(mask, dot, dot_before, thin=True)
        if thin.char is not None:
            return replace(thin, confirm_only=True)
    return got


def _read_mask(mask: np.ndarray, dot: bool, dot_before: bool, thin: bool = False) -> DigitGuess:
    """The digit's ink under the shear that decodes it most decisively."""
    best: tuple[float, set[str]] | None = None
    narrow = False
    for s in SHEARS:
        sh = _shear(mask, s)
        ys, xs = np.nonzero(sh)
        if len(xs) == 0:
            continue
        bx0, bx1, by0, by1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        box = sh[by0:by1, bx0:bx1]
        if (bx1 - bx0) < 0.38 * (by1 - by0) and _one_stroke(box):
            # a "1": one vertical stroke, inked in both halves
            top = float(np.mean(box[: box.shape[0] // 2] > 0))
            bot = float(np.mean(box[box.shape[0] // 2 :] > 0))
            if top > 0.4 and bot > 0.4 and not thin:
                narrow = True
                margin = min(top, bot) - 0.4
                if best is None or margin > best[0]:
                    best = (margin, {"b", "c"})
            continue
        lit, margin, _ = _decode_box(box, thin)
        if best is None or margin > best[0]:
            best = (margin, lit)
    if best is None:
        return DigitGuess(None, 0.0, "unknown", dot=dot, dot_before=dot_before)
    margin, lit = best
    if margin < 0:
        # no shear gives a segment pattern, only a filled blob: no opinion, not "other"
        return DigitGuess(None, 0.0, "unknown", dot=dot, dot_before=dot_before)
    char = _PATTERNS.get(frozenset(lit))
    conf = float(np.clip(0.5 + margin / 0.3, 0.5, 1.0))
    if char is None:
        return DigitGuess(None, conf, "other", dot=dot, dot_before=dot_before)
    if conf < CLEAR_PATTERN:
        # no opinion, rather than a guess that outvotes the model
        return DigitGuess(None, 0.0, "unknown", dot=dot, dot_before=dot_before)
    if narrow and char == "1":
        conf = max(conf, 0.85)
    return DigitGuess(char, conf, "digit", value=float(char), dot=dot, dot_before=dot_before)


class SevenSegmentEngine:
    """The decoder as an engine over a window's thresholded cells."""

    name = "seven_segment"

    def read(self, binaries: list[np.ndarray]) -> list[DigitGuess]:
        heights = [h for h in (ink_height(b) for b in binaries) if h > 0]
        ref = float(np.median(heights)) if len(heights) >= 3 else None
        return [decode_cell(b, ref) for b in binaries]


def ink_height(binary: np.ndarray) -> int:
    """Height of the ink's bounding box, ignoring specks (0 for an empty cell)."""
    h, w = binary.shape[:2]
    _, comps = _components(binary)
    keep = [(y, y + ch) for _, y, _, ch, a in comps if a >= h * w * 0.004 and ch >= 0.15 * h]
    if not keep:
        return 0
    return max(b for _, b in keep) - min(a for a, _ in keep)
