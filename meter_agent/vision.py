"""The vision pipeline: from a raw camera frame to one image per digit cell.

Steps, in order: rotate the frame by the calibrated angle (about its centre), crop the
calibrated window, flatten the light (subtract the large-scale background, then CLAHE,
so glare and vignetting do not move the threshold), threshold (Otsu or the configured
level) with ink always white in the binary image, and split the window into
``expected_digits`` cells: an equal split whose boundaries are then moved to the emptiest
column nearby (the gaps between digits), so a slightly loose ROI still cuts between digits.

Two optional stages come first when the reader asks for them: the frame is aligned to
the calibration's reference frame (:mod:`meter_agent.align`; the alignment is folded
into the same single warp), and the digit row is found inside a loosely drawn window
(:mod:`meter_agent.locate`); the cells are then cut from the row's own box, exactly as
from a tight window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from meter_agent.config import CalibrationConfig, OcrConfig


class ImageError(ValueError):
    """An image that cannot be used, worded as one sentence."""


class DigitRowError(ImageError):
    """No digit row of the expected length could be found in the window."""


@dataclass
class Cell:
    """One digit position: its box in the window and its grey and binary images."""

    index: int
    box: tuple[int, int, int, int]  # x, y, w, h inside the window
    gray: np.ndarray  # light-normalised grey, ink dark on light
    binary: np.ndarray  # ink = 255
    ink: float  # share of ink pixels in the cell's centre region
    raw: np.ndarray | None = None  # camera grey, as the digit model was trained on

    @property
    def model_image(self) -> np.ndarray:
        """What the digit model reads: the camera's grey (or colour) when kept."""
        return self.raw if self.raw is not None else self.gray

    @property
    def blank(self) -> bool:
        """Almost no ink: an unlit LCD position or an empty screen."""
        return self.ink < 0.02


@dataclass
class Window:
    """The processed digit window of one frame."""

    color: np.ndarray
    gray: np.ndarray  # light-normalised, ink dark on light
    binary: np.ndarray  # ink = 255
    ink_dark: bool  # the digits were darker than their background in the camera image
    threshold: float
    cells: list[Cell] = field(default_factory=list)
    #: where the cells were cut from inside the calibrated window (x, y, w, h); the
    #: whole window unless the digit row was located in a loose one
    row: tuple[int, int, int, int] | None = None
    #: the calibrated window (camera colours) the row was found in
    full: np.ndarray | None = None
    #: the row was found with its height measured (see meter_agent.locate.Row.sure)
    row_sure: bool = True
    #: where the cells were cut between the drum faces (window x), when they were
    cuts: tuple[float, ...] | None = None


def to_bgr(frame: np.ndarray) -> np.ndarray:
    """Accept grey, BGR or BGRA frames; reject anything else in one sentence."""
    if not isinstance(frame, np.ndarray) or frame.size == 0:
        raise ImageError("the frame is empty or not an image array.")
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    raise ImageError(f"the frame has an unsupported shape {frame.shape}.")


def rotate(frame: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate counter-clockwise by ``degrees`` about the frame centre, keeping its size."""
    if abs(degrees) < 1e-6:
        return frame
    h, w = frame.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def crop_roi(frame: np.ndarray, roi: list[int] | None) -> np.ndarray:
    """Cut the calibrated window; None means the whole frame."""
    if roi is None:
        return frame
    x, y, w, h = roi
    fh, fw = frame.shape[:2]
    if x >= fw or y >= fh:
        raise ImageError(f"the calibrated roi {roi} lies outside the {fw}x{fh} frame.")
    x2, y2 = min(fw, x + w), min(fh, y + h)
    out = frame[y:y2, x:x2]
    if out.shape[0] < 8 or out.shape[1] < 8:
        raise ImageError(f"the calibrated roi {roi} leaves less than 8x8 pixels of the frame.")
    return out


def upright_window(
    frame: np.ndarray,
    degrees: float,
    roi: list[int] | None,
    transform: np.ndarray | None = None,
) -> np.ndarray:
    """Rotate and crop in one warp that computes only the window's pixels (rotating the
    whole 1280×720 frame first costs ten times more), same result as rotate + crop_roi.

    ``transform`` (2×3, reference pixels → frame pixels, see :mod:`meter_agent.align`)
    first takes the frame back to where the reference frame was, in the same warp."""
    if transform is not None and np.allclose(transform, np.eye(2, 3)):
        transform = None
    if transform is None and (roi is None or abs(degrees) < 1e-6):
        return crop_roi(rotate(frame, degrees), roi)
    fh, fw = frame.shape[:2]
    if roi is None:
        roi = [0, 0, fw, fh]
    crop_roi(np.empty((fh, fw), np.uint8), roi)  # the same one-sentence errors
    x, y, w, h = roi
    w, h = min(w, fw - x), min(h, fh - y)
    m = cv2.getRotationMatrix2D((fw / 2, fh / 2), degrees, 1.0)
    m[0, 2] -= x
    m[1, 2] -= y
    if transform is None:
        return cv2.warpAffine(
            frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    # window pixel → reference pixel (undo rotation and crop) → frame pixel (transform)
    back = np.vstack([cv2.invertAffineTransform(m), [0.0, 0.0, 1.0]])
    to_frame = np.vstack([np.asarray(transform, np.float64), [0.0, 0.0, 1.0]]) @ back
    return cv2.warpAffine(
        frame,
        to_frame[:2],
        (w, h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def normalise_light(gray: np.ndarray, cell_h: int) -> np.ndarray:
    """Subtract the slow background (glare, vignetting, shadow), then stretch the contrast.

    A reflection adds light, so subtracting a blur about a cell high removes it while the
    strokes, much thinner than that, keep their contrast. Percentile stretching (not
    min/max) keeps a single hot pixel from flattening the rest.
    """
    g = gray.astype(np.float32)
    sigma = max(3.0, cell_h * 0.8)
    flat = g - cv2.GaussianBlur(g, (0, 0), sigma)
    lo, hi = np.percentile(flat, (1, 99))
    if hi - lo < 1e-3:
        return np.full(gray.shape, 128, np.uint8)
    return np.clip((flat - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)


#: local equalisation of a faint cell (CLAHE): the clip limit and the tile grid (a
#: digit cell is about twice as tall as wide; 4 × 4 tiles of it hold a stroke or two)
EQUALISE_CLIP = 2.0
EQUALISE_TILES = (4, 4)


def equalised(image: np.ndarray) -> np.ndarray:
    """A cell (grey or BGR) as grey with its contrast equalised tile by tile (CLAHE):
    a faint figure on an uneven ground stands out from it where one global stretch
    (the model's own standardisation) lifts the ground's unevenness and the noise with
    the figure."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    out: np.ndarray = cv2.createCLAHE(EQUALISE_CLIP, EQUALISE_TILES).apply(grey)
    return out


def _centre_mask(shape: tuple[int, int], n: int) -> np.ndarray:
    """The middle of each equal-split cell: digits, not the window frame or drum borders."""
    h, w = shape
    mask = np.zeros((h, w), bool)
    cw = w / n
    for i in range(n):
        x0, x1 = int(i * cw + cw * 0.2), int((i + 1) * cw - cw * 0.2)
        mask[int(h * 0.15) : int(h * 0.85), x0 : max(x1, x0 + 1)] = True
    return mask


def _stroke_width(fg: np.ndarray, mask: np.ndarray) -> float:
    """Mean distance to the nearest background pixel over the foreground in ``mask``."""
    d = cv2.distanceTransform(fg, cv2.DIST_L2, 3)
    sel = (fg > 0) & mask
    return float(d[sel].mean()) if sel.any() else 1e9


def _ink_is_dark(gray: np.ndarray, t: float, mask: np.ndarray) -> bool:
    """Which side of the threshold is ink, by a vote of three cues.

    No single cue holds for every meter: ink is made of thin strokes (fails for bold LCD
    digits, whose counters are as narrow as their segments), ink is the minority inside
    the window (fails for very bold digits), and the window's top and bottom margins are
    background (fails for light drums set in a dark frame). Two of three are right in
    every case we know of.
    """
    dark = np.where(gray <= t, 255, 0).astype(np.uint8)
    light = cv2.bitwise_not(dark)
    votes = 0
    votes += 1 if _stroke_width(dark, mask) < _stroke_width(light, mask) else -1
    votes += 1 if float(np.mean(dark > 0)) < 0.5 else -1
    h = gray.shape[0]
    band = max(1, h // 12)
    edge = np.concatenate([dark[:band].ravel(), dark[-band:].ravel()])
    votes += 1 if float(np.mean(edge > 0)) < 0.5 else -1
    return votes > 0


def binarise(gray: np.ndarray, n: int, level: int = 0) -> tuple[np.ndarray, bool, float]:
    """Threshold with Otsu (``level`` 0) or a fixed level; ink becomes 255.

    The automatic level is computed on the cell centres only, so the bright frame between
    drums cannot pull it. Which side is ink: the side made of thin strokes.
    """
    mask = _centre_mask(gray.shape[:2], n)
    sample = gray[mask]
    if level > 0:
        t = float(level)
    else:
        t, _ = cv2.threshold(sample.reshape(1, -1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink_dark = _ink_is_dark(gray, t, mask)
    if ink_dark:
        binary = np.where(gray <= t, 255, 0).astype(np.uint8)
    else:
        binary = np.where(gray > t, 255, 0).astype(np.uint8)
    return binary, ink_dark, float(t)


def contrast(gray: np.ndarray, binary: np.ndarray) -> float:
    """Grey-level difference between ink and background (0 when either is missing)."""
    ink = binary > 0
    if ink.sum() < 4 or (~ink).sum() < 4:
        return 0.0
    return float(abs(gray[ink].mean() - gray[~ink].mean()))


def split_cells(binary: np.ndarray, n: int) -> list[tuple[int, int]]:
    """Column ranges of ``n`` cells: equal split, boundaries moved to the emptiest column
    within a quarter cell (the gaps between digits)."""
    h, w = binary.shape[:2]
    cw = w / n
    prof = (binary > 0).mean(axis=0).astype(np.float32)
    k = max(1, int(cw * 0.15)) | 1
    prof = cv2.GaussianBlur(prof.reshape(1, -1), (k, 1), 0).ravel()
    bounds = [0]
    for i in range(1, n):
        x = int(round(i * cw))
        r = max(1, int(cw * 0.25))
        lo, hi = max(bounds[-1] + 2, x - r), min(w - 2, x + r)
        if hi <= lo:
            bounds.append(x)
            continue
        seg = prof[lo:hi]
        # prefer the middle of a run of empty columns, and stay near the equal split
        penalty = np.abs(np.arange(lo, hi) - x) / (r * 50.0)
        best = int(np.argmin(seg + penalty)) + lo
        bounds.append(best)
    bounds.append(w)
    return [(bounds[i], bounds[i + 1]) for i in range(n)]


def process_window(
    frame: np.ndarray,
    calibration: CalibrationConfig,
    ocr: OcrConfig,
    *,
    transform: np.ndarray | None = None,
    locate: bool = False,
    row: tuple[int, int, int, int] | None = None,
    cuts: tuple[float, ...] | None = None,
) -> Window:
    """Run the whole pipeline on one BGR frame.

    ``transform`` aligns the frame to the reference first (see :func:`upright_window`).
    ``row`` cuts the cells from that box of the calibrated window; ``locate`` finds the
    digit row in the window first (:func:`meter_agent.locate.find_row`) and raises
    :class:`DigitRowError` when there is none. Without either, the whole window is the
    row, as always. ``cuts`` (window x, with ``row``) cut the cells between the drum
    faces as the row search found them before (:attr:`Window.cuts`)."""
    bgr = to_bgr(frame)
    sure = True
    full = upright_window(bgr, calibration.rotate_degrees, calibration.roi, transform)
    fh, fw = full.shape[:2]
    if row is None and locate:
        from meter_agent.locate import find_row

        found = find_row(full, ocr.expected_digits, calibration.display)
        if found is None:
            raise DigitRowError(
                f"no row of {ocr.expected_digits} digits was found in the window; "
                "draw it around the display, or check the digit count."
            )
        row = found.box
        sure = found.sure
        cuts = None
        if found.faces_seen or calibration.display == "drum":
            # a brightness step around the digits is a drum face's edge only on drums
            cuts = found.cuts
    if row is not None:
        x, y, w, h = row
        x, y = max(0, min(x, fw - 1)), max(0, min(y, fh - 1))
        w, h = max(1, min(w, fw - x)), max(1, min(h, fh - y))
        row = (x, y, w, h)
        if row == (0, 0, fw, fh):
            color = full
        else:
            if w < 8 or h < 8:
                raise DigitRowError("the digit row found in the window is too small to read.")
            color = full[y : y + h, x : x + w]
    else:
        color = full
    bounds = None
    if cuts is not None and row is not None:
        bounds = _bounds_from_cuts(cuts, row[0], color.shape[1])
    win = _process_color(color, ocr, bounds)
    win.cuts = cuts if bounds is not None else None
    win.row = row if row is not None else (0, 0, fw, fh)
    win.row_sure = sure
    win.full = full
    return win


def _bounds_from_cuts(cuts: tuple[float, ...], x0: int, w: int) -> list[tuple[int, int]] | None:
    """Cell column ranges of a row ``w`` wide starting at window x ``x0`` from the cuts
    between its cells (window x); None when they do not make cells of sensible widths."""
    inner = [int(round(c - x0)) for c in cuts]
    edges = [0, *inner, w]
    widths = np.diff(edges)
    if len(widths) < 2 or widths.min() < 0.5 * float(np.median(widths)):
        return None
    return [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


def _process_color(
    color: np.ndarray, ocr: OcrConfig, bounds: list[tuple[int, int]] | None = None
) -> Window:
    """Light, threshold and cells of an upright window of digits (cut at ``bounds``
    when the row's cells are known, else split by :func:`split_cells`)."""
    gray_raw = cv2.cvtColor(color, cv2.COLOR_BGR2GRAY)
    h = gray_raw.shape[0]
    cell_h = int(min(h, gray_raw.shape[1] / max(ocr.expected_digits, 1) * 1.6))
    gray = normalise_light(gray_raw, cell_h)
    binary, ink_dark, t = binarise(gray, ocr.expected_digits, ocr.threshold)
    # remove specks smaller than a segment's end
    binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    # the window's own edge (bezel, frame) is never a digit
    by, bx = max(1, binary.shape[0] // 50), max(1, binary.shape[1] // 200)
    binary[:by] = 0
    binary[-by:] = 0
    binary[:, :bx] = 0
    binary[:, -bx:] = 0
    gray_ink_dark = gray if ink_dark else cv2.bitwise_not(gray)
    win = Window(color=color, gray=gray_ink_dark, binary=binary, ink_dark=ink_dark, threshold=t)
    if bounds is None or len(bounds) != ocr.expected_digits:
        bounds = split_cells(binary, ocr.expected_digits)
    for i, (x0, x1) in enumerate(bounds):
        cb = binary[:, x0:x1]
        ch, cw = cb.shape[:2]
        sl = (slice(int(ch * 0.15), int(ch * 0.85)), slice(int(cw * 0.15), int(cw * 0.85)))
        centre = cb[sl]
        ink = float(np.mean(centre > 0)) if centre.size else 0.0
        # raw camera contrast: noise stretched by normalisation is not ink
        if contrast(gray_raw[:, x0:x1][sl], centre) < 18.0:
            ink = 0.0
        win.cells.append(
            Cell(
                index=i,
                box=(x0, 0, x1 - x0, h),
                gray=gray_ink_dark[:, x0:x1],
                binary=cb,
                ink=ink,
                raw=gray_raw[:, x0:x1],
            )
        )
    return win


def cell_color(win: Window, cell: Cell) -> np.ndarray:
    """The camera colours of one cell (what the digit model was trained on)."""
    x, y, w, h = cell.box
    return win.color[y : y + h, x : x + w]


def process_for_preview(
    frame: np.ndarray,
    calibration: CalibrationConfig,
    ocr: OcrConfig,
    *,
    transform: np.ndarray | None = None,
    locate: bool = False,
    row: tuple[int, int, int, int] | None = None,
) -> dict[str, np.ndarray]:
    """Images for the calibration screen and ``GET /frame.jpg``.

    ``window`` is the upright crop in camera colours (with the digit row and its cells
    drawn when they were found inside a loose window); ``processed`` is the binary image
    of the row (ink white) as BGR with the cell boundaries drawn, so the user sees what
    the engines see. The keywords are :func:`process_window`'s."""
    return preview_images(
        process_window(frame, calibration, ocr, transform=transform, locate=locate, row=row)
    )


def preview_images(win: Window) -> dict[str, np.ndarray]:
    """:func:`process_for_preview`'s images of an already processed window."""
    processed = cv2.cvtColor(win.binary, cv2.COLOR_GRAY2BGR)
    for cell in win.cells[1:]:
        x = cell.box[0]
        cv2.line(processed, (x, 0), (x, processed.shape[0] - 1), (0, 160, 255), 1)
    full = win.full if win.full is not None else win.color
    window = full.copy()
    fh, fw = full.shape[:2]
    if win.row is not None and win.row != (0, 0, fw, fh):
        rx, ry, _, _ = win.row
        for cell in win.cells:
            x, y, w, h = cell.box
            cv2.rectangle(
                window, (rx + x, ry + y), (rx + x + w - 1, ry + y + h - 1), (0, 160, 255), 1
            )
    return {"window": window, "processed": processed}


def cell_from_crop(crop: np.ndarray, level: int = 0) -> Cell:
    """Treat a single-digit image (a real labelled crop, say) as one cell of a window."""
    cal = CalibrationConfig()
    ocr = OcrConfig(expected_digits=1, threshold=level)
    return process_window(crop, cal, ocr).cells[0]
