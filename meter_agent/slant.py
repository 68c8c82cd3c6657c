"""A row's slant: italic figures stood upright before the digit model reads them.

The model reads upright printed digits best. On the frame bench's italic faces it never
trained on (DejaVu Sans Oblique), it took 1s for 7s: the slanted stem and the flag at its
top make a 7's diagonal. Stood upright, the same crops read 0.92-0.97 as 1 where they
read 0.12-0.49 slanted.

An italic face slants every figure by the same angle, so the slant is measured on the
row: per cell, the shear under which its figure's ink stacks into the fewest columns
(the stems and sides stand vertical), and the row's is the median of its cells'. A cell
whose best shear is the end of the range tried is left out: that is a diagonal stroke
(the 7's), not a slanted stem. Only a drum row is stood upright (LCD faces are read by
their segments, and the model trained on slanted ones).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

#: the shears tried (x shift per unit of height, + for a figure leaning right): italic
#: faces lean 0.12-0.22 (7-12°), a 7's diagonal 0.3 or more
SHEARS = np.linspace(-0.3, 0.3, 25)
#: a row is measured on at least this many cells with a slant (fewer: a lone 7 or 4
#: could pass for a slant)
MIN_CELLS = 3
#: a row slanted less than this is read as it is (upright faces measure 0)
MIN_SLANT = 0.05


def shear(image: np.ndarray, s: float, *, grow: bool = False) -> np.ndarray:
    """``image`` sheared about its middle row by ``s`` (the bottom moves right for s > 0,
    so a figure leaning right by ``s`` stands upright). ``grow`` widens the image so no
    ink is cut off (for measuring); otherwise the size is kept and the border repeated
    (for the model, whose crops are backgrounds at their edges)."""
    h, w = image.shape[:2]
    pad = int(abs(s) * h / 2) + 1 if grow else 0
    m = np.array([[1.0, s, pad - s * h / 2.0], [0.0, 1.0, 0.0]], np.float32)
    border = cv2.BORDER_CONSTANT if grow else cv2.BORDER_REPLICATE
    return cv2.warpAffine(image, m, (w + 2 * pad, h), borderMode=border)


def _figure(binary: np.ndarray) -> np.ndarray | None:
    """The ink of a cell's figure: blobs at least a fifth of the cell high that do not
    touch its sides (a drum's edge, a neighbour's stroke); None when there is none."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary)
    h, w = binary.shape[:2]
    keep = [
        i
        for i in range(1, n)
        if stats[i, cv2.CC_STAT_LEFT] > 0
        and stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] < w
        and stats[i, cv2.CC_STAT_HEIGHT] >= 0.2 * h
    ]
    if not keep:
        return None
    return np.isin(labels, keep).astype(np.float32)


def cell_slant(binary: np.ndarray) -> float | None:
    """The slant of one cell's figure (ink = 255), or None: no figure, or its best shear
    is an end of the range (a diagonal stroke, not a slanted stem)."""
    fig = _figure(binary)
    if fig is None:
        return None
    scores = [float(np.square(shear(fig, s, grow=True).sum(axis=0)).sum()) for s in SHEARS]
    k = int(np.argmax(scores))
    return float(SHEARS[k]) if 0 < k < len(SHEARS) - 1 else None


def row_slant(binaries: Sequence[np.ndarray]) -> float:
    """The slant of a row of cells: the median of its cells' (0 when fewer than
    MIN_CELLS have one, or under MIN_SLANT)."""
    found = [s for b in binaries if (s := cell_slant(b)) is not None]
    if len(found) < MIN_CELLS:
        return 0.0
    s = float(np.median(found))
    return s if abs(s) >= MIN_SLANT else 0.0
