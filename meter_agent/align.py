"""Align each frame to the calibration's reference frame before the window is cut.

Why: the calibrated window is a fixed rectangle in camera pixels, and cameras move — a
bracket settles, the meter cupboard's door is knocked, a Pi is put back a little off.
A window that slid a few percent cuts the digits in the wrong places; the reading is
then refused at best and misread at worst. AI-on-the-edge users ask for exactly this:
align to a reference picture, and refuse a picture that cannot be aligned.

How: the reference is the frame the calibration's window was drawn on. Around the
window (the window plus about its own size on each side: the display, its bezel and the
meter around it, so the changing digits are a minority) the new frame is matched to the
reference with a rigid motion (shift and rotation): phase correlation finds the shift
on a small copy, then the enhanced correlation coefficient (ECC, which ignores changes
of brightness and contrast) refines shift and rotation, first coarse and then finer.
The match is then checked: the correlation of the aligned region must be high (a
region matched onto a similar-looking spot, or half out of view, correlates poorly),
the motion must be of a size a camera really makes, and the window must still lie
inside the picture. A frame that fails is refused ("the camera or meter moved; check
the calibration") rather than read from a guess.

The result is a 2×3 matrix from reference pixels to frame pixels, which
:func:`meter_agent.vision.upright_window` folds into its one warp of the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from meter_agent.vision import ImageError

#: the correlation of the aligned region (light-flattened, see _detail) with the
#: reference must reach this. Measured on synthetic frames moved ±3 % and turned ±2°:
#: correct alignments of the same meter scored 0.83-0.99 (median 0.96; its digits,
#: light, glare and noise change between frames); another meter's frame, or a region
#: matched one drum off, at most 0.79 (95 % under 0.59)
MIN_QUALITY = 0.8
#: the largest shift (share of the frame's larger side) and rotation a camera that
#: merely settled makes; beyond, the calibration has to be redone
MAX_SHIFT = 0.12
MAX_DEGREES = 6.0
#: a motion smaller than this (pixels at the window, degrees) counts as none: the frame
#: is cut exactly as without a reference, so a still camera reads as it always did
STILL_PX = 0.5
STILL_DEGREES = 0.05
#: the coarse and the fine match work on copies this many pixels across (the region)
COARSE_PX = 160
FINE_PX = 400

#: template-matching peaks tried as starts of the coarse match
MATCH_STARTS = 3
#: light that changes more slowly than this (pixels of the small copies) is ignored
DETAIL_SIGMA = 6.0

MOVED = "the camera or meter moved; check the calibration"


class CameraMovedError(ImageError):
    """A frame that cannot be aligned to the reference, worded as one sentence."""


@dataclass(frozen=True)
class Alignment:
    """How a frame lies against the reference: ``matrix`` maps reference pixels to frame
    pixels; ``dx``/``dy`` is how far the window's centre moved, ``degrees`` the
    rotation (counter-clockwise), ``quality`` the correlation after aligning."""

    matrix: np.ndarray
    dx: float
    dy: float
    degrees: float
    quality: float
    ok: bool
    why: str | None = None

    @property
    def still(self) -> bool:
        return math.hypot(self.dx, self.dy) < STILL_PX and abs(self.degrees) < STILL_DEGREES

    def to_json(self) -> dict[str, Any]:
        """For ``/health``, the live OCR and the calibration screen."""
        return {
            "reference": True,
            "ok": self.ok,
            "shift_px": round(math.hypot(self.dx, self.dy), 1),
            "dx": round(self.dx, 1),
            "dy": round(self.dy, 1),
            "rotation_deg": round(self.degrees, 2),
            "quality": round(self.quality, 3),
            "why": self.why,
        }

    def refusal(self) -> CameraMovedError:
        detail = f" ({self.why})" if self.why else ""
        return CameraMovedError(MOVED + detail)


def gray_of(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def roi_in_raw(roi: list[int] | None, rotate_degrees: float, size: tuple[int, int]) -> np.ndarray:
    """The window's four corners in raw-frame pixels (the ROI is given in the frame
    rotated by ``rotate_degrees`` about its centre)."""
    fw, fh = size
    if roi is None:
        x, y, w, h = 0, 0, fw, fh
    else:
        x, y, w, h = roi
    corners = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float64)
    if abs(rotate_degrees) > 1e-6:
        m = cv2.getRotationMatrix2D((fw / 2, fh / 2), rotate_degrees, 1.0)
        inv = cv2.invertAffineTransform(m)
        corners = corners @ inv[:, :2].T + inv[:, 2]
    return corners


class Reference:
    """The frame the calibration's window was drawn on, ready to align frames to."""

    def __init__(self, frame: np.ndarray) -> None:
        if not isinstance(frame, np.ndarray) or frame.ndim not in (2, 3) or frame.size == 0:
            raise ImageError("the reference frame is empty or not an image array.")
        g = gray_of(frame if frame.dtype == np.uint8 else np.clip(frame, 0, 255).astype(np.uint8))
        self.gray = np.ascontiguousarray(g)
        self.size = (self.gray.shape[1], self.gray.shape[0])
        self._templates: dict[tuple, tuple] = {}

    # -- the region around the window -----------------------------------------------------
    def _region(self, roi: list[int] | None, rotate_degrees: float) -> tuple[int, int, int, int]:
        fw, fh = self.size
        c = roi_in_raw(roi, rotate_degrees, self.size)
        x0, y0 = c.min(axis=0)
        x1, y1 = c.max(axis=0)
        w, h = x1 - x0, y1 - y0
        # the window and about its own size around it, at least a tenth of the frame
        mx, my = max(0.8 * w, 0.1 * fw), max(0.8 * h, 0.1 * fh)
        # kept clear of the picture's edges by the largest shift where the window allows:
        # a region that starts at the edge has nothing to be matched with once the
        # camera turns toward it
        inset = MAX_SHIFT * max(fw, fh) * 0.5
        a = int(max(0, min(x0, max(x0 - mx, inset))))
        b = int(max(0, min(y0, max(y0 - my, inset))))
        c2 = int(min(fw, max(x1, min(x1 + mx, fw - inset))))
        d = int(min(fh, max(y1, min(y1 + my, fh - inset))))
        return a, b, c2 - a, d - b

    def _template(self, roi: list[int] | None, rotate_degrees: float) -> tuple:
        key = (None if roi is None else tuple(roi), round(rotate_degrees, 4))
        got = self._templates.get(key)
        if got is None:
            region = self._region(roi, rotate_degrees)
            x, y, w, h = region
            crop = self.gray[y : y + h, x : x + w]
            # the window itself is left out of the match's score: its digits change
            # from frame to frame (another reading, a drum turning), the meter around
            # it does not
            win = roi_in_raw(roi, rotate_degrees, self.size) - [x, y]
            keep = np.full((h, w), 255, np.uint8)
            cv2.fillConvexPoly(keep, np.round(win).astype(np.int32), 0)
            levels = []
            for px in (COARSE_PX, FINE_PX):
                s = min(1.0, px / max(w, h))
                small = cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
                mask = cv2.resize(
                    keep, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST
                )
                levels.append((s, _detail(small), mask))
            got = (region, levels)
            self._templates = {key: got}  # one calibration at a time
        return got

    # -- aligning ------------------------------------------------------------------------
    def align(self, frame: np.ndarray, roi: list[int] | None, rotate_degrees: float) -> Alignment:
        """Where ``frame`` lies against the reference around the calibrated window."""
        g = gray_of(frame if frame.dtype == np.uint8 else np.clip(frame, 0, 255).astype(np.uint8))
        fw, fh = self.size
        if (g.shape[1], g.shape[0]) != self.size:
            return _refused(f"the picture is {g.shape[1]}x{g.shape[0]}, the reference {fw}x{fh}")
        (rx, ry, rw, rh), levels = self._template(roi, rotate_degrees)
        # the frame around the region, with room for the largest shift allowed
        span = MAX_SHIFT * max(fw, fh)
        ix0, iy0 = int(max(0, rx - span)), int(max(0, ry - span))
        ix1, iy1 = int(min(fw, rx + rw + span)), int(min(fh, ry + rh + span))
        search = g[iy0:iy1, ix0:ix1]

        s, tpl, _ = levels[0]
        img = _detail(cv2.resize(search, None, fx=s, fy=s, interpolation=cv2.INTER_AREA))
        # coarse: from where the region was, and from where plain template matching of
        # the small copies puts it (a shift too large for ECC alone to find); the better
        # of the two matches wins
        ox, oy = (rx - ix0) * s, (ry - iy0) * s
        th, tw = tpl.shape
        starts = [(0.0, 0.0)]
        if img.shape[0] >= th and img.shape[1] >= tw:
            # the best few places: drums and digits repeat, and the best place of a
            # picture whose digits changed may be one drum off
            scores = cv2.matchTemplate(img, tpl, cv2.TM_CCOEFF_NORMED)
            for _ in range(MATCH_STARTS):
                _, peak, _, (mx, my) = cv2.minMaxLoc(scores)
                if peak <= -1.0:
                    break
                if abs(mx - ox) + abs(my - oy) >= 1.0:
                    starts.append((mx - int(ox), my - int(oy)))
                r = max(2, min(th, tw) // 4)
                scores[max(0, my - r) : my + r + 1, max(0, mx - r) : mx + r + 1] = -1.0
        fine = [(s2, tpl2) for s2, tpl2, _ in levels[1:] if s2 != s]
        imgs = [
            _detail(cv2.resize(search, None, fx=s2, fy=s2, interpolation=cv2.INTER_AREA))
            for s2, _ in fine
        ]
        coarse: list[tuple[float, np.ndarray]] = []
        for sx, sy in starts:
            init = np.array([[1, 0, int(ox) + sx], [0, 1, int(oy) + sy]], np.float32)
            first = _ecc(tpl, img, init, 60)
            if first is not None:
                coarse.append(first)
        coarse.sort(key=lambda g: -g[0])
        best: tuple[float, np.ndarray, float] | None = None
        for got0 in coarse[:2]:
            got: tuple[float, np.ndarray] | None = got0
            scale = s
            for (s2, tpl2), img2 in zip(fine, imgs, strict=True):
                if got is None:
                    break
                warp = got[1].copy()
                warp[:, 2] *= s2 / scale
                scale = s2
                got = _ecc(tpl2, img2, warp, 20)
            if got is not None and (best is None or got[0] > best[0]):
                best = (got[0], got[1], scale)
        if best is None:
            return _refused("the picture does not match the reference")
        _, warp, s = best
        # the score: the aligned frame against the reference around the window only
        level = next(lv for lv in levels if lv[0] == s)
        img_s = imgs[-1] if fine and s == fine[-1][0] else img
        quality = _masked_correlation(level[1], img_s, warp, level[2])
        rm = warp[:, :2].astype(np.float64)
        t = warp[:, 2].astype(np.float64) / s
        r0 = np.array([rx, ry], np.float64)
        i0 = np.array([ix0, iy0], np.float64)
        matrix = np.hstack([rm, (i0 - rm @ r0 + t).reshape(2, 1)])
        return self._judge(matrix, float(quality), roi, rotate_degrees)

    def _judge(
        self, matrix: np.ndarray, quality: float, roi: list[int] | None, rotate_degrees: float
    ) -> Alignment:
        fw, fh = self.size
        corners = roi_in_raw(roi, rotate_degrees, self.size)
        centre = corners.mean(axis=0)
        moved = matrix[:, :2] @ centre + matrix[:, 2]
        dx, dy = (moved - centre).tolist()
        degrees = -math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
        where = corners @ matrix[:, :2].T + matrix[:, 2]
        why = None
        if quality < MIN_QUALITY:
            why = f"the picture around the window matches the reference only {quality:.2f}"
        elif math.hypot(dx, dy) > MAX_SHIFT * max(fw, fh) or abs(degrees) > MAX_DEGREES:
            why = f"it moved {math.hypot(dx, dy):.0f} px and {degrees:+.1f}°, too far"
        elif where.min() < -1 or where[:, 0].max() > fw + 1 or where[:, 1].max() > fh + 1:
            why = "the window is no longer all in the picture"
        a = Alignment(matrix, dx, dy, degrees, quality, why is None, why)
        if a.ok and a.still:
            identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
            return Alignment(identity, dx, dy, degrees, quality, True, None)
        return a


def _ecc(
    tpl: np.ndarray, img: np.ndarray, warp: np.ndarray, iters: int
) -> tuple[float, np.ndarray] | None:
    """ECC's rigid match of ``tpl`` in ``img`` from ``warp``: (correlation, warp), or
    None when it does not converge."""
    try:
        quality, out = cv2.findTransformECC(  # type: ignore[call-overload]
            tpl,
            img,
            warp.copy(),
            cv2.MOTION_EUCLIDEAN,
            (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, iters, 1e-4),
            None,
            3,
        )
    except cv2.error:
        return None
    return float(quality), out


def _masked_correlation(
    tpl: np.ndarray, img: np.ndarray, warp: np.ndarray, mask: np.ndarray
) -> float:
    """The correlation of ``tpl`` with ``img`` brought back through ``warp``, over the
    pixels ``mask`` keeps (the meter around the window, not its changing digits)."""
    back = cv2.warpAffine(
        img, warp, (tpl.shape[1], tpl.shape[0]), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    )
    m = mask > 0
    if m.sum() < 16:
        return 0.0
    a, b = tpl[m].astype(np.float64), back[m].astype(np.float64)
    a -= a.mean()
    b -= b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def _detail(gray: np.ndarray) -> np.ndarray:
    """The picture without its slow changes of light (glare, a lamp switched on, the
    sun moving): what is matched is the meter's shapes, not how it is lit."""
    g = gray.astype(np.float32)
    return g - cv2.GaussianBlur(g, (0, 0), DETAIL_SIGMA)


def _refused(why: str) -> Alignment:
    return Alignment(np.eye(2, 3), 0.0, 0.0, 0.0, 0.0, False, why)
