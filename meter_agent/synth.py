"""Synthetic meter frames with known ground truth, for tests, benchmarks and demos.

Real labelled whole-meter frames with a free licence do not exist in any useful number,
so the reader's "never accept a wrong value" promise is tested on frames we draw
ourselves: a 7-segment LCD or a drum (odometer) counter placed somewhere in a camera
frame, with the nuisances a real camera brings (noise, blur, glare, uneven light, a
small rotation) and the screens a smart meter shows that are *not* the reading
(the all-8s segment test, a blank display, the date, another register).

Everything is numpy/OpenCV and deterministic given the seed. Digits can also be drawn in
a TrueType face (``font=``; rendered with Pillow by :mod:`meter_agent.training.fonts`), so
the reader can be measured on type it never trained on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

Kind = Literal["lcd7", "drum"]
Screen = Literal["reading", "test", "blank", "date", "register"]

#: Segment letters a..g: a top, b upper right, c lower right, d bottom, e lower left,
#: f upper left, g middle (the usual 7-segment naming).
SEGMENTS: dict[str, str] = {
    "0": "abcdef",
    "1": "bc",
    "2": "abdeg",
    "3": "abcdg",
    "4": "bcfg",
    "5": "acdfg",
    "6": "acdefg",
    "7": "abc",
    "8": "abcdefg",
    "9": "abcdfg",
    "-": "g",
    "E": "adefg",
    "P": "abefg",
    "r": "eg",
    "A": "abcefg",
    "C": "adef",
    "H": "bcefg",
    "L": "def",
    "t": "defg",
    "n": "ceg",
    "o": "cdeg",
    " ": "",
}


@dataclass
class SynthFrame:
    """A generated camera frame and what it truly shows.

    ``digits`` is the reading the reader should accept (the lower digit for a drum
    caught mid-roll, as an odometer is read) or None for a screen it must reject.
    ``roi`` is [x, y, w, h] of the digit window in the frame *after* rotating it by
    ``rotation`` degrees (the calibration convention of :mod:`meter_agent.vision`);
    ``bezel`` is the display's dark frame around that window, in the same convention (a
    user drawing a window loosely draws around that).
    """

    image: np.ndarray
    kind: Kind
    screen: Screen
    digits: str | None
    roi: list[int]
    rotation: float
    roll: float = 0.0
    occluded: int | None = None
    notes: list[str] = field(default_factory=list)
    bezel: list[int] | None = None

    def truth(self) -> dict:
        return {
            "kind": self.kind,
            "screen": self.screen,
            "digits": self.digits,
            "roi": list(self.roi),
            "rotation": self.rotation,
            "roll": self.roll,
            "occluded": self.occluded,
        }


@dataclass
class _Style:
    """The look of one meter: colours, sizes, font."""

    cell_w: int
    cell_h: int
    gap: int
    bg: tuple[int, int, int]
    ink: tuple[int, int, int]
    italic: float
    font: int
    thickness_frac: float
    red_last: bool
    face: Path | None = None  # a TrueType face for the digits (None: drawn segments/Hershey)


def _rgb(values: np.ndarray) -> tuple[int, int, int]:
    """Three colour channels drawn by the generator, as whole numbers."""
    r, g, b = (int(v) for v in values)
    return r, g, b


def _style(kind: Kind, rng: np.random.Generator, n_digits: int) -> _Style:
    cell_h = int(rng.integers(56, 96))
    if kind == "lcd7":
        cell_w = int(cell_h * rng.uniform(0.52, 0.62))
        base = rng.uniform(140, 200)
        bg = (int(base * 0.95), int(base * rng.uniform(1.0, 1.08)), int(base * 0.98))
        ink = _rgb(rng.uniform(20, 60, 3))
        return _Style(
            cell_w,
            cell_h,
            int(cell_w * rng.uniform(0.18, 0.3)),
            bg,
            ink,
            float(rng.choice([0.0, 0.0, 0.12])),
            0,
            float(rng.uniform(0.13, 0.18)),
            False,
        )
    cell_w = int(cell_h * rng.uniform(0.6, 0.75))
    dark = bool(rng.random() < 0.7)
    if dark:
        bg = _rgb(rng.uniform(15, 45, 3))
        ink = _rgb(rng.uniform(200, 245, 3))
    else:
        bg = _rgb(rng.uniform(200, 240, 3))
        ink = _rgb(rng.uniform(10, 40, 3))
    return _Style(
        cell_w,
        cell_h,
        int(cell_w * rng.uniform(0.15, 0.3)),
        bg,
        ink,
        0.0,
        int(rng.choice([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX])),
        float(rng.uniform(0.08, 0.12)),
        bool(rng.random() < 0.4),
    )


def _segment_polys(w: int, h: int, t: float, italic: float) -> dict[str, np.ndarray]:
    """Hexagonal segment outlines inside a w×h cell, optionally sheared (italic)."""
    m = 0.12 * w
    x0, x1 = m, w - m
    y0, y1 = 0.1 * h, 0.9 * h
    ym = (y0 + y1) / 2
    g = t * 0.18  # small gap between segments, as on real glass
    ht = t / 2

    def horiz(y: float) -> np.ndarray:
        return np.array(
            [
                (x0 + g, y),
                (x0 + g + ht, y - ht),
                (x1 - g - ht, y - ht),
                (x1 - g, y),
                (x1 - g - ht, y + ht),
                (x0 + g + ht, y + ht),
            ]
        )

    def vert(x: float, ya: float, yb: float) -> np.ndarray:
        return np.array(
            [
                (x, ya + g),
                (x + ht, ya + g + ht),
                (x + ht, yb - g - ht),
                (x, yb - g),
                (x - ht, yb - g - ht),
                (x - ht, ya + g + ht),
            ]
        )

    polys = {
        "a": horiz(y0 + ht),
        "g": horiz(ym),
        "d": horiz(y1 - ht),
        "f": vert(x0 + ht, y0 + ht, ym),
        "b": vert(x1 - ht, y0 + ht, ym),
        "e": vert(x0 + ht, ym, y1 - ht),
        "c": vert(x1 - ht, ym, y1 - ht),
    }
    for k, p in polys.items():
        p = p.copy()
        p[:, 0] += italic * (h - p[:, 1]) - italic * h / 2
        polys[k] = p
    return polys


def draw_lcd_cell(
    char: str,
    w: int,
    h: int,
    *,
    bg: tuple[int, int, int] = (170, 180, 170),
    ink: tuple[int, int, int] = (40, 40, 40),
    thickness_frac: float = 0.15,
    italic: float = 0.0,
    ghost: float = 0.06,
    dot: bool = False,
    face: Path | None = None,
) -> np.ndarray:
    """One 7-segment cell (BGR). ``ghost`` draws unlit segments faintly, as real LCDs show.

    With a TrueType ``face`` the character is that face's glyph (a segment face's ghost
    is its all-segments glyph); a character the face lacks is drawn as segments."""
    cell = np.empty((h, w, 3), np.uint8)
    cell[:] = bg
    if face is not None:
        faced = _face_cell(char, w, h, face, bg, ink, italic, ghost)
        if faced is not None:
            cell = faced
            if dot:
                r = max(2, int(w * 0.07))
                cv2.circle(cell, (w - r - 1, int(h * 0.9) - r), r, ink, -1, cv2.LINE_AA)
            return cell
    polys = _segment_polys(w, h, thickness_frac * w * 1.6, italic)
    lit = SEGMENTS.get(char, "")
    ghost_col = tuple(int(b + (i - b) * ghost) for b, i in zip(bg, ink, strict=True))
    for name, poly in polys.items():
        colour = ink if name in lit else ghost_col
        cv2.fillPoly(cell, [np.round(poly * 16).astype(np.int32)], colour, cv2.LINE_AA, shift=4)
    if dot:
        r = max(2, int(w * 0.07))
        cv2.circle(cell, (w - r - 1, int(h * 0.9) - r), r, ink, -1, cv2.LINE_AA)
    return cell


def _face_cell(
    char: str,
    w: int,
    h: int,
    face: Path,
    bg: tuple[int, int, int],
    ink: tuple[int, int, int],
    italic: float,
    ghost: float,
) -> np.ndarray | None:
    """A flat cell with ``char`` in a TrueType face (None if the face lacks the character)."""
    from meter_agent.training.fonts import ghost_mask, glyph_mask

    gw, gh = max(2, int(w * 0.78)), max(2, int(h * 0.8))
    glyph = glyph_mask(face, char, gw, gh)
    if glyph is None:
        return None
    lit = ghost_mask(face, gw, gh)
    if lit is not None and ghost > 0:
        glyph = np.maximum(glyph, lit * ghost)
    mask = np.zeros((h, w), np.float32)
    x0, y0 = (w - gw) // 2, (h - gh) // 2
    mask[y0 : y0 + gh, x0 : x0 + gw] = glyph
    if italic:
        m = np.array([[1.0, -italic, italic * h / 2], [0.0, 1.0, 0.0]], np.float32)
        mask = np.asarray(cv2.warpAffine(mask, m, (w, h)), np.float32)
    return _ink(mask, bg, ink)


def _ink(mask: np.ndarray, bg: tuple[int, int, int], ink: tuple[int, int, int]) -> np.ndarray:
    """A BGR image: ``bg`` where the mask is 0, ``ink`` where it is 1."""
    b = np.array(bg, np.float32)
    i = np.array(ink, np.float32)
    return np.clip(b + mask[..., None] * (i - b) + 0.5, 0, 255).astype(np.uint8)


def draw_drum_cell(
    digit: int,
    frac: float,
    w: int,
    h: int,
    *,
    bg: tuple[int, int, int] = (30, 30, 30),
    ink: tuple[int, int, int] = (230, 230, 230),
    font: int = cv2.FONT_HERSHEY_SIMPLEX,
    thickness_frac: float = 0.1,
    face: Path | None = None,
) -> np.ndarray:
    """One drum window: ``digit`` turned ``frac`` of the way toward ``digit + 1``.

    The drum surface scrolls upward as it turns, so mid-roll the lower half of the window
    shows the top of the next digit, exactly as on a mechanical counter. ``face`` prints
    the figures in a TrueType face instead of OpenCV's Hershey ``font``.
    """
    pitch = int(h * 0.95)
    strip_h = pitch * 4 + h
    strip = np.empty((strip_h, w, 3), np.uint8)
    strip[:] = bg
    glyph_h = h * 0.55
    if face is not None:
        from meter_agent.training.fonts import glyph_aspect, glyph_mask

        gh = int(glyph_h)
        gw = max(2, min(int(w * 0.86), int(round(gh * glyph_aspect(face)))))
        mask = np.zeros((strip_h, w), np.float32)
        for k in range(-1, 4):
            glyph = glyph_mask(face, str((digit + k) % 10), gw, gh)
            assert glyph is not None  # every face used draws all ten digits
            top = h // 2 + (k + 1) * pitch - gh // 2
            x0 = (w - gw) // 2
            lo, hi = max(0, top), min(strip_h, top + gh)
            mask[lo:hi, x0 : x0 + gw] = np.maximum(
                mask[lo:hi, x0 : x0 + gw], glyph[lo - top : hi - top]
            )
        strip = _ink(mask, bg, ink)
        off = pitch + int(round(frac * pitch))
        cell = strip[off : off + h].copy()
        shade = 1.0 - 0.35 * np.abs(np.linspace(-1.0, 1.0, h)) ** 2
        return np.clip(cell * shade[:, None, None], 0, 255).astype(np.uint8)
    scale = cv2.getFontScaleFromHeight(font, int(glyph_h), 1)
    thick = max(1, int(round(thickness_frac * w)))
    for k in range(-1, 4):
        d = (digit + k) % 10
        text = str(d)
        (tw, th), _ = cv2.getTextSize(text, font, scale, thick)
        cy = h // 2 + (k + 1) * pitch
        org = (int((w - tw) / 2), int(cy + th / 2))
        cv2.putText(strip, text, org, font, scale, ink, thick, cv2.LINE_AA)
    off = pitch + int(round(frac * pitch))
    cell = strip[off : off + h].copy()
    # the drum's curvature darkens its top and bottom edges
    shade = 1.0 - 0.35 * np.abs(np.linspace(-1.0, 1.0, h)) ** 2
    return np.clip(cell * shade[:, None, None], 0, 255).astype(np.uint8)


def drum_positions(digits: str, roll: float) -> list[tuple[int, float]]:
    """Odometer positions: the last drum is turned ``roll``; a higher drum turns with it
    only while every drum below it shows 9 (that is how the carry works)."""
    out: list[tuple[int, float]] = []
    carry = True
    for ch in reversed(digits):
        d = int(ch)
        out.append((d, roll if carry else 0.0))
        carry = carry and d == 9
    return list(reversed(out))


def _window(
    kind: Kind,
    chars: list[str],
    style: _Style,
    roll: float,
    dots: set[int],
    rng: np.random.Generator,
) -> np.ndarray:
    """The digit window: the cells side by side with gaps and a margin."""
    n = len(chars)
    mx = style.gap
    my = int(style.cell_h * 0.12)
    W = n * style.cell_w + (n - 1) * style.gap + 2 * mx
    H = style.cell_h + 2 * my
    win = np.empty((H, W, 3), np.uint8)
    if kind == "lcd7":
        win[:] = style.bg
    else:
        frame_col = tuple(int(v * 0.5) for v in style.bg) if style.bg[0] > 100 else (70, 70, 70)
        win[:] = frame_col
    positions = drum_positions("".join(chars), roll) if kind == "drum" else []
    for i, ch in enumerate(chars):
        x = mx + i * (style.cell_w + style.gap)
        if kind == "lcd7":
            cell = draw_lcd_cell(
                ch,
                style.cell_w,
                style.cell_h,
                bg=style.bg,
                ink=style.ink,
                thickness_frac=style.thickness_frac,
                italic=style.italic,
                face=style.face,
            )
        else:
            bg = style.bg
            ink = style.ink
            if style.red_last and i == n - 1:
                bg, ink = (30, 30, 170), (235, 235, 235)
            d, f = positions[i]
            cell = draw_drum_cell(
                d,
                f,
                style.cell_w,
                style.cell_h,
                bg=bg,
                ink=ink,
                font=style.font,
                thickness_frac=style.thickness_frac,
                face=style.face,
            )
        win[my : my + style.cell_h, x : x + style.cell_w] = cell
        if kind == "lcd7" and i in dots:
            # the decimal point sits low in the gap after its digit, as on real glass
            r = max(2, int(style.cell_w * 0.07))
            cx = x + style.cell_w + style.gap // 2
            cy = my + int(style.cell_h * 0.9) - r
            cv2.circle(win, (cx, cy), r, style.ink, -1, cv2.LINE_AA)
    return win


def _meter_body(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A plain background: the meter housing under uneven light, with some clutter."""
    base = rng.uniform(60, 170)
    tint = rng.uniform(0.85, 1.15, 3)
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    grad = (np.cos(ang) * gx / w + np.sin(ang) * gy / h) * rng.uniform(20, 70)
    img = np.clip(base + grad, 0, 255)[..., None] * tint[None, None, :]
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(3, 8))):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        col = tuple(int(v) for v in rng.uniform(20, 230, 3))
        cv2.rectangle(
            img, (x, y), (x + int(rng.integers(20, 200)), y + int(rng.integers(5, 60))), col, -1
        )
    return img


class FrameTooSmall(ValueError):
    """The frame asked for cannot hold the meter's window; one sentence."""


def render_frame(
    kind: Kind,
    digits: str,
    *,
    seed: int,
    screen: Screen = "reading",
    roll: float = 0.0,
    decimals: int = 0,
    frame_size: tuple[int, int] = (1280, 720),
    rotation: float | None = None,
    glare: bool | None = None,
    noise: float | None = None,
    blur: float | None = None,
    occlude: int | None = None,
    jitter_degrees: float = 0.0,
    nuisance_seed: int | None = None,
    font: Path | None = None,
) -> SynthFrame:
    """Draw one frame of a ``kind`` meter showing ``digits`` (or another ``screen``).

    ``roll`` turns the last drum (and, by carry, every 9 above it) part-way to the next
    digit. ``occlude`` hides one cell (a finger, a cable, a spider) so that the reader
    must refuse. ``jitter_degrees`` tilts the meter beyond the calibrated rotation
    (the camera mount settling). Unspecified nuisances are drawn at random from the seed.
    ``font`` draws the digits in that TrueType face; everything else about the frame is
    the same as without it.
    """
    rng = np.random.default_rng(seed)
    n = len(digits)
    style = _style(kind, rng, n)
    if font is not None:
        style.face = Path(font)
    canvas_rng = np.random.default_rng(seed + 1)
    # what changes from frame to frame on one meter: light, glare, noise, screen content
    nrng = rng if nuisance_seed is None else np.random.default_rng(nuisance_seed)
    drawn = float(rng.uniform(-6, 6))  # always drawn, so a given rotation changes nothing else
    rotation = drawn if rotation is None else float(rotation)
    chars = list(digits)
    dots: set[int] = {n - decimals - 1} if (kind == "lcd7" and decimals > 0) else set()
    truth: str | None = digits
    if screen == "test":
        chars, dots, truth = ["8"] * n, set(range(n)), None
    elif screen == "blank":
        chars, dots, truth = [" "] * n, set(), None
    elif screen == "date":
        day, month, year = (
            int(nrng.integers(1, 29)),
            int(nrng.integers(1, 13)),
            int(nrng.integers(20, 40)),
        )
        text = (
            f"{day:02d}{month:02d}{year:02d}".rjust(n)[:n]
            if n >= 6
            else f"{day:02d}{month:02d}"[:n]
        )
        chars, truth = list(text), None
        dots = {n - 5, n - 3} if n >= 6 else {1}
    elif screen == "register":
        code = str(nrng.choice(["E", "P", "A", "-", "r", "H"]))
        other = f"{int(nrng.integers(0, 10 ** (n - 1))):0{n - 1}d}"
        chars, truth = [code] + list(other), None
    if kind == "drum" and screen != "reading":
        raise ValueError("drum counters only show readings; other screens are an LCD thing")
    if kind == "drum" and roll > 0 and not 0.0 < roll < 1.0:
        raise ValueError("roll must be a fraction between 0 and 1")
    win = _window(kind, chars, style, roll, dots, rng)
    if occlude is not None:
        x = style.gap + occlude * (style.cell_w + style.gap)
        y0 = int(style.cell_h * 0.12)
        # anything from a dark cable to a pale finger, with a little shading
        col = nrng.uniform(0, 255, 3)
        wh_, ww_ = win.shape[:2]
        p0 = (max(0, x - 2), y0 + int(style.cell_h * 0.15))
        p1 = (min(ww_, x + style.cell_w + 2), min(wh_, y0 + int(style.cell_h * 0.9)))
        patch = np.empty((p1[1] - p0[1], p1[0] - p0[0], 3), np.float32)
        patch[:] = col
        patch *= np.linspace(0.8, 1.1, patch.shape[0])[:, None, None]
        win[p0[1] : p1[1], p0[0] : p1[0]] = np.clip(patch, 0, 255).astype(np.uint8)
        truth = None
    fw, fh = frame_size
    wh, ww = win.shape[:2]
    if fw < ww + 20 or fh < wh + 20:
        raise FrameTooSmall(
            f"a {fw}x{fh} frame is too small for this synthetic meter, whose window is "
            f"{ww}x{wh} pixels; use at least {ww + 20}x{wh + 20} (e.g. 960x540)."
        )
    canvas = _meter_body(rng, fw, fh)
    # keep the window inside the frame after any rotation (the rotated frame's corners are lost)
    cx = int(canvas_rng.integers(fw // 2 - fw // 6, fw // 2 + fw // 6)) - ww // 2
    cy = int(canvas_rng.integers(fh // 2 - fh // 6, fh // 2 + fh // 6)) - wh // 2
    cx = int(np.clip(cx, 10, fw - ww - 10))
    cy = int(np.clip(cy, 10, fh - wh - 10))
    # a bezel around the window
    pad = int(wh * 0.3)
    cv2.rectangle(canvas, (cx - pad, cy - pad), (cx + ww + pad, cy + wh + pad), (25, 25, 25), -1)
    canvas[cy : cy + wh, cx : cx + ww] = win
    if jitter_degrees:
        m = cv2.getRotationMatrix2D((cx + ww / 2, cy + wh / 2), jitter_degrees, 1.0)
        canvas = cv2.warpAffine(canvas, m, (fw, fh), borderMode=cv2.BORDER_REPLICATE)
    img: np.ndarray = canvas.astype(np.float32)
    glare = bool(nrng.random() < 0.3) if glare is None else glare
    if glare:
        gy, gx = np.mgrid[0:fh, 0:fw].astype(np.float32)
        # a soft reflection over part of the window that leaves the digits readable
        gx0 = cx + nrng.uniform(0.1, 0.9) * ww
        gy0 = cy + nrng.uniform(0.0, 1.0) * wh
        sx, sy = nrng.uniform(0.08, 0.25) * ww, nrng.uniform(0.3, 0.8) * wh
        blob = np.exp(-(((gx - gx0) / sx) ** 2 + ((gy - gy0) / sy) ** 2))
        img += blob[..., None] * nrng.uniform(40, 90)
    light = nrng.uniform(0.7, 1.2)
    img *= light
    blur = float(nrng.uniform(0.0, 1.4)) if blur is None else blur
    if blur > 0.05:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    noise = float(nrng.uniform(2.0, 9.0)) if noise is None else noise
    if noise > 0:
        img += nrng.normal(0.0, noise, img.shape).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    m = cv2.getRotationMatrix2D((fw / 2, fh / 2), -rotation, 1.0)
    raw = cv2.warpAffine(img, m, (fw, fh), borderMode=cv2.BORDER_REPLICATE)
    notes = []
    if glare:
        notes.append("glare")
    return SynthFrame(
        image=raw,
        kind=kind,
        screen=screen,
        digits=truth,
        roi=[cx, cy, ww, wh],
        rotation=rotation,
        roll=roll if kind == "drum" else 0.0,
        occluded=occlude,
        notes=notes,
        bezel=[cx - pad, cy - pad, ww + 2 * pad, wh + 2 * pad],
    )


def make_stream(
    kind: Kind,
    count: int,
    *,
    seed: int,
    n_digits: int = 6,
    decimals: int = 0,
    start: int | None = None,
    max_step: int = 3,
    screens: bool = True,
    roll_every: int = 3,
    font: Path | None = None,
) -> list[SynthFrame]:
    """A sequence of frames from one meter (one geometry, one look) with a rising reading.

    Every frame shares the seed's style, ROI and rotation so one calibration fits all.
    LCD streams mix in the screens a smart meter cycles through (test, blank, date,
    another register); drum streams catch the last drum mid-roll every ``roll_every``
    frames. Use the ``digits`` of each frame as the expected accepted value (None = must
    be rejected). ``font`` draws the digits in that TrueType face.
    """
    rng = np.random.default_rng(seed)
    value = int(rng.integers(0, 10 ** (n_digits - 1))) if start is None else start
    style_seed = int(rng.integers(0, 2**31))
    rotation = float(rng.uniform(-6, 6))
    frames: list[SynthFrame] = []
    for i in range(count):
        value += int(rng.integers(0, max_step + 1))
        digits = f"{value % 10**n_digits:0{n_digits}d}"
        screen: Screen = "reading"
        roll = 0.0
        if kind == "lcd7" and screens and i % 4 == 3:
            screen = ("test", "blank", "date", "register")[(i // 4) % 4]
        if kind == "drum" and roll_every and i % roll_every == roll_every - 1:
            roll = float(rng.uniform(0.15, 0.85))
        frames.append(
            _render_styled(
                kind,
                digits,
                style_seed,
                rotation,
                screen,
                roll,
                decimals,
                int(rng.integers(0, 2**31)),
                font,
            )
        )
    return frames


def _render_styled(
    kind: Kind,
    digits: str,
    style_seed: int,
    rotation: float,
    screen: Screen,
    roll: float,
    decimals: int,
    nuisance_seed: int,
    font: Path | None = None,
) -> SynthFrame:
    """Render with a fixed meter style/geometry (style_seed) and varying nuisances."""
    return render_frame(
        kind,
        digits,
        seed=style_seed,
        screen=screen,
        roll=roll,
        decimals=decimals,
        rotation=rotation,
        nuisance_seed=nuisance_seed,
        font=font,
    )


def loose_roi(frame: SynthFrame, margin: float = 0.1) -> list[int]:
    """A window drawn loosely around the whole display: the digit window, its bezel, and
    ``margin`` (a share of the bezel's width and height) more on each side, clipped to
    the frame. In the same (rotated-frame) coordinates as ``frame.roi``; what a user
    drags around the meter's display without aiming at the digits."""
    x, y, w, h = frame.roi
    pad = int(h * 0.3)  # the bezel render_frame draws around the digit window
    bw, bh = w + 2 * pad, h + 2 * pad
    mx, my = int(round(bw * margin)), int(round(bh * margin))
    fh, fw = frame.image.shape[:2]
    x0, y0 = max(0, x - pad - mx), max(0, y - pad - my)
    x1, y1 = min(fw, x + w + pad + mx), min(fh, y + h + pad + my)
    return [x0, y0, x1 - x0, y1 - y0]


def move_image(image: np.ndarray, dx: float, dy: float, degrees: float) -> np.ndarray:
    """The camera's picture after the camera (or meter) moved: the scene turned by
    ``degrees`` (counter-clockwise) about the picture's centre, then shifted by ``dx``,
    ``dy`` pixels; what comes into view from outside repeats the edge."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    m[0, 2] += dx
    m[1, 2] += dy
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def move_frame(frame: SynthFrame, dx: float, dy: float, degrees: float) -> SynthFrame:
    """``frame`` seen by a camera that moved (see :func:`move_image`). The truth is
    unchanged, and so is ``roi``: it is where the calibration, drawn before the move,
    still says the digits are."""
    moved = move_image(frame.image, dx, dy, degrees)
    note = f"moved dx={dx:g} dy={dy:g} rot={degrees:g}"
    return SynthFrame(
        image=moved,
        kind=frame.kind,
        screen=frame.screen,
        digits=frame.digits,
        roi=list(frame.roi),
        rotation=frame.rotation,
        roll=frame.roll,
        occluded=frame.occluded,
        notes=[*frame.notes, note],
    )
