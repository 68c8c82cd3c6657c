"""Digit cells rendered from many font faces, for training the digit model on type it has
not seen on any photographed meter.

Why: the real crops come from a few dozen meters, so the model knew their few typefaces
and little else; a clean digit in a new face could come out as "not a digit" or, worse,
as a wrong digit. Debian ships free faces of very different designs (DejaVu, Liberation,
FreeFont, Noto, the DSEG seven- and fourteen-segment LCD faces); here they are drawn as
the reader's vision would cut them from a camera window (a digit with a margin, slivers
of the neighbours, a drum's housing), on flat displays and on rolling drums, with the
damage a camera brings (blur, JPEG, glare, shear, noise, low contrast, uneven light).

A fixed quarter of the font *families* is held out (``HELDOUT_FONTS``): the frame bench
(``bench/frames.py``) draws its meters only in those, so it measures reading a face the
model never saw. The split is by a stable hash per kind of face (segment or printed), so
each side has seven-segment and ordinary faces and the split never changes between runs
or machines. Faces missing on a machine are skipped: :func:`present_fonts` says which.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

#: where Debian's font packages put their TrueType files
FONT_ROOT = Path("/usr/share/fonts/truetype")

#: the Debian packages that provide the faces below (scripts/bootstrap.sh installs them)
FONT_PACKAGES = (
    "fonts-dejavu-core",
    "fonts-liberation",
    "fonts-freefont-ttf",
    "fonts-dseg",
    "fonts-noto-mono",
)

_STYLES = ("Regular", "Bold", "Italic", "BoldItalic")
_DSEG_STYLES = ("Regular", "Bold", "Italic", "BoldItalic", "Light", "LightItalic")

#: every face used, relative to FONT_ROOT. Left out on purpose: DejaVu's maths face, the
#: DSEG weather icons and the DSEG7 "SEGG CHAN" face (digits drawn as cartoon faces).
FACES: tuple[str, ...] = (
    *(
        f"dejavu/DejaVu{fam}{sfx}.ttf"
        for fam in ("Sans", "SansCondensed", "Serif", "SerifCondensed")
        for sfx in ("", "-Bold", "-Oblique" if "Sans" in fam else "-Italic")
    ),
    "dejavu/DejaVuSans-ExtraLight.ttf",
    "dejavu/DejaVuSansMono.ttf",
    "dejavu/DejaVuSansMono-Bold.ttf",
    "dejavu/DejaVuSansMono-Oblique.ttf",
    *(
        f"liberation/Liberation{fam}-{s}.ttf"
        for fam in ("Sans", "SansNarrow", "Serif", "Mono")
        for s in _STYLES
    ),
    *(
        f"freefont/Free{fam}{s}.ttf"
        for fam, styles in (
            ("Sans", ("", "Bold", "Oblique", "BoldOblique")),
            ("Serif", ("", "Bold", "Italic", "BoldItalic")),
            ("Mono", ("", "Bold", "Oblique", "BoldOblique")),
        )
        for s in styles
    ),
    "noto/NotoMono-Regular.ttf",
    "noto/NotoSansMono-Regular.ttf",
    "noto/NotoSansMono-Bold.ttf",
    *(
        f"dseg/DSEG{n}{fam}{mini}-{s}.ttf"
        for n in ("7", "14")
        for fam in ("Classic", "Modern")
        for mini in ("", "Mini")
        for s in _DSEG_STYLES
    ),
)

FaceKind = Literal["seven", "fourteen", "printed"]


def face_kind(face: str | Path) -> FaceKind:
    """What a face draws digits with: seven or fourteen LCD segments, or printed strokes."""
    name = Path(face).name
    if name.startswith("DSEG14"):
        return "fourteen"
    if name.startswith("DSEG7"):
        return "seven"
    return "printed"


def family(face: str | Path) -> str:
    """The design a face belongs to: its weights, slants and widths are one family (held
    out together, or a "new" face would only be a bolder cousin of a trained one)."""
    stem = Path(face).stem.split("-")[0]
    for suffix in ("BoldOblique", "BoldItalic", "Oblique", "Italic", "Bold"):
        if stem.startswith("Free") and stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    for word in ("Condensed", "Narrow", "Mini"):
        stem = stem.replace(word, "")
    return {"NotoMono": "NotoSansMono"}.get(stem, stem)


def _stable_hash(s: str) -> str:
    return hashlib.sha1(s.encode()).hexdigest()


def split_faces(
    faces: Iterable[str], share: float = 0.25
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(train, held out): per kind of face, a ``share`` of the families (at least one), in
    the order of a stable hash of the family name."""
    faces = tuple(faces)
    held: set[str] = set()
    for kind in ("seven", "fourteen", "printed"):
        fams = sorted({family(f) for f in faces if face_kind(f) == kind}, key=_stable_hash)
        if len(fams) < 2:
            continue
        held.update(fams[: max(1, round(share * len(fams)))])
    train = tuple(f for f in faces if family(f) not in held)
    heldout = tuple(f for f in faces if family(f) in held)
    return train, heldout


TRAIN_FACES, HELDOUT_FACES = split_faces(FACES)
#: faces the model trains on, and faces kept out of training (the bench draws in these)
TRAIN_FONTS: tuple[Path, ...] = tuple(FONT_ROOT / f for f in TRAIN_FACES)
HELDOUT_FONTS: tuple[Path, ...] = tuple(FONT_ROOT / f for f in HELDOUT_FACES)


def present_fonts(fonts: Iterable[Path]) -> list[Path]:
    """The fonts among ``fonts`` that exist on this machine and load (a face whose package
    is not installed is skipped, not an error)."""
    out = []
    for f in fonts:
        # is_file first: Pillow, given a path it cannot open, looks for a file of the same
        # name in the system's font folders, which would make any font dir look complete
        if not Path(f).is_file():
            continue
        try:
            _glyphs(str(f))
        except (OSError, ValueError):
            continue
        out.append(Path(f))
    return out


def fonts_under(root: Path, heldout: bool = False) -> list[Path]:
    """The training (or held-out) faces present under a font directory ``root``."""
    return present_fonts(root / f for f in (HELDOUT_FACES if heldout else TRAIN_FACES))


# ---------------------------------------------------------------------------- glyphs

#: the size glyphs are rasterised at once per face; cells are drawn from these masks
_RENDER_PX = 96
DIGITS = "0123456789"
#: not-a-digit characters a meter shows (codes, units, errors). Letters that look like a
#: digit on segments (b, g, q, O, S, Z, I, l) are left out: their cell *is* ambiguous.
LETTERS = "AEFHLPrntCUdho-"


#: the height glyph masks are kept at (a little over the tallest glyph drawn in a cell)
_KEEP_H = 60


class Glyphs:
    """One face's characters rasterised into a shared box (so a narrow "1" keeps its
    place in the cell, as a monospaced LCD face sets it), as 0–1 ink masks side by side
    in one sheet, so a cell scales all of them with a single resize."""

    def __init__(
        self, masks: dict[str, np.ndarray], ghost: np.ndarray | None, segments: bool
    ) -> None:
        h, w = masks["8"].shape
        kh = _KEEP_H
        kw = max(4, int(round(w * kh / h)))
        self.segments = segments
        self.has_ghost = ghost is not None
        self.aspect = kw / kh
        self.letters = tuple(c for c in masks if c not in DIGITS)
        keep = {c: cv2.resize(m, (kw, kh), interpolation=cv2.INTER_AREA) for c, m in masks.items()}
        parts = [keep[c] for c in DIGITS]
        if ghost is not None:
            parts.append(cv2.resize(ghost, (kw, kh), interpolation=cv2.INTER_AREA))
        self.sheet = np.hstack(parts)
        self.letter_masks = {c: keep[c] for c in self.letters}
        # the full-size masks too, for whole frames (meter_agent.synth), where a glyph can
        # be drawn larger than the training cells' working size
        self.full = dict(masks)
        self.full_ghost = ghost

    def scaled(self, gw: int, gh: int, letter: str | None = None) -> dict[str, np.ndarray]:
        """The digits (and ``letter``) as gh × gw masks; key "ghost": all segments lit."""
        n = 10 + int(self.has_ghost)
        # linear, not area: one call on the whole sheet is what makes cells cheap, and the
        # masks are anti-aliased already
        sheet = cv2.resize(self.sheet, (n * gw, gh), interpolation=cv2.INTER_LINEAR)
        keys = DIGITS + ("#" if self.has_ghost else "")
        out = {c: sheet[:, i * gw : (i + 1) * gw] for i, c in enumerate(keys)}
        if "#" in out:
            out["ghost"] = out.pop("#")
        if letter is not None:
            out[letter] = cv2.resize(
                self.letter_masks[letter], (gw, gh), interpolation=cv2.INTER_LINEAR
            )
        return out


@functools.lru_cache(maxsize=128)
def _glyphs(path: str) -> Glyphs:
    """Rasterise a TrueType face's digits and letters once (raises OSError if missing)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(path, _RENDER_PX)
    boxes = [font.getbbox(c) for c in DIGITS]
    x0 = min(int(b[0]) for b in boxes)
    y0 = min(int(b[1]) for b in boxes)
    x1 = max(int(b[2]) for b in boxes)
    y1 = max(int(b[3]) for b in boxes)
    if x1 - x0 < 4 or y1 - y0 < 8:
        raise ValueError(f"the font {path} draws no digits")

    def draw(ch: str) -> np.ndarray:
        img = Image.new("L", (x1 - x0, y1 - y0), 0)
        ImageDraw.Draw(img).text((-x0, -y0), ch, font=font, fill=255)
        return np.asarray(img, np.float32) / 255.0

    kind = face_kind(path)
    notdef = draw("\ue000").tobytes()
    masks = {c: draw(c) for c in DIGITS}
    for c in LETTERS:
        m = draw(c)
        if m.tobytes() != notdef and m.max() > 0.5:
            masks[c] = m
    ghost = None
    if kind != "printed":
        ghost = draw("~" if kind == "fourteen" else "8")
    return Glyphs(masks, ghost, kind != "printed")


#: 5×7 dot-matrix digits (a drawn style: matrix LCDs and printed labels)
_DOTS = {
    "0": ("01110", "10001", "10011", "10101", "11001", "10001", "01110"),
    "1": ("00100", "01100", "00100", "00100", "00100", "00100", "01110"),
    "2": ("01110", "10001", "00001", "00010", "00100", "01000", "11111"),
    "3": ("11111", "00010", "00100", "00010", "00001", "10001", "01110"),
    "4": ("00010", "00110", "01010", "10010", "11111", "00010", "00010"),
    "5": ("11111", "10000", "11110", "00001", "00001", "10001", "01110"),
    "6": ("00110", "01000", "10000", "11110", "10001", "10001", "01110"),
    "7": ("11111", "00001", "00010", "00100", "01000", "01000", "01000"),
    "8": ("01110", "10001", "10001", "01110", "10001", "10001", "01110"),
    "9": ("01110", "10001", "10001", "01111", "00001", "00010", "01100"),
    "A": ("01110", "10001", "10001", "11111", "10001", "10001", "10001"),
    "E": ("11111", "10000", "10000", "11110", "10000", "10000", "11111"),
    "H": ("10001", "10001", "10001", "11111", "10001", "10001", "10001"),
    "P": ("11110", "10001", "10001", "11110", "10000", "10000", "10000"),
    "-": ("00000", "00000", "00000", "11111", "00000", "00000", "00000"),
}

#: styles drawn here rather than taken from a font file (trained on; never held out)
DRAWN_STYLES = ("drawn:segments", "drawn:dots", "drawn:hershey", "drawn:hershey-duplex")


@functools.lru_cache(maxsize=16)
def _drawn_glyphs(style: str) -> Glyphs:
    """Glyph masks of a drawn style: the project's own segment drawing, a dot matrix, or
    OpenCV's Hershey stroke fonts."""
    from meter_agent.synth import SEGMENTS, draw_lcd_cell

    w, h = 56, 96
    masks: dict[str, np.ndarray] = {}
    ghost = None
    if style == "drawn:segments":
        for c in DIGITS + LETTERS:
            if c in SEGMENTS:
                cell = draw_lcd_cell(c, w, h, bg=(0, 0, 0), ink=(255, 255, 255), ghost=0.0)
                masks[c] = cell[..., 0].astype(np.float32) / 255.0
        ghost = masks["8"]
    elif style == "drawn:dots":
        for c, rows in _DOTS.items():
            m = np.zeros((h, w), np.float32)
            for r, bits in enumerate(rows):
                for k, bit in enumerate(bits):
                    if bit == "1":
                        cv2.circle(m, (5 + k * 11, 5 + r * 14), 5, 1.0, -1, cv2.LINE_AA)
            masks[c] = m
    else:
        face = cv2.FONT_HERSHEY_DUPLEX if style.endswith("duplex") else cv2.FONT_HERSHEY_SIMPLEX
        scale = cv2.getFontScaleFromHeight(face, int(h * 0.8), 6)
        for c in DIGITS + "AEHPr-":
            m8 = np.zeros((h, w + 16), np.uint8)
            (tw, _), _ = cv2.getTextSize(c, face, scale, 6)
            org = ((w + 16 - tw) // 2, int(h * 0.9))
            cv2.putText(m8, c, org, face, scale, 255, 6, cv2.LINE_AA)
            masks[c] = m8.astype(np.float32) / 255.0
    return Glyphs(masks, ghost, style in ("drawn:segments", "drawn:dots"))


def _face_glyphs(face: str) -> Glyphs:
    return _drawn_glyphs(face) if face.startswith("drawn:") else _glyphs(face)


def glyph_mask(font: Path | str, char: str, w: int, h: int) -> np.ndarray | None:
    """``char`` in ``font`` as an h × w ink mask (0–1) filling the face's digit box; an
    empty mask for a space, None if the face has no such character."""
    if char == " ":
        return np.zeros((h, w), np.float32)
    m = _face_glyphs(str(font)).full.get(char)
    if m is None:
        return None
    return cv2.resize(m, (w, h), interpolation=cv2.INTER_AREA)


def ghost_mask(font: Path | str, w: int, h: int) -> np.ndarray | None:
    """Every segment of a segment face lit, as an h × w mask (None for a printed face)."""
    g = _face_glyphs(str(font)).full_ghost
    return None if g is None else cv2.resize(g, (w, h), interpolation=cv2.INTER_AREA)


def glyph_aspect(font: Path | str) -> float:
    """Width over height of the face's digit box."""
    return _face_glyphs(str(font)).aspect


# ---------------------------------------------------------------------------- cells

#: the working height every cell is composed at, before the camera's resolution
_H = 64
NOT_A_DIGIT = -1.0
#: weights of the tenth (0–9) a rolling drum is drawn at: settled, just left and nearly
#: there are the hard cases (is it still the lower digit? has it arrived?)
_TENTH_WEIGHTS = np.array([3.0, 2.0, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.5])
_TENTH_CUM = np.cumsum(_TENTH_WEIGHTS / _TENTH_WEIGHTS.sum())


def _resize(m: np.ndarray, w: int, h: int) -> np.ndarray:
    return cv2.resize(m, (max(1, w), max(1, h)), interpolation=cv2.INTER_AREA)


def _drum_column(
    g: dict[str, np.ndarray], pos: float, gh: int, pitch: float, radius: float
) -> np.ndarray:
    """An _H × gw ink mask of a drum at ``pos`` (7.3 = the 7 three tenths toward 8): the
    digits are stacked down the drum in rising order (0 below 9), it scrolls upward as it
    turns, and its curvature squeezes the digits toward the window's top and bottom."""
    d = int(pos) % 10
    frac = pos - int(pos)
    stack = np.stack([g[str((d + k) % 10)] for k in (-1, 0, 1, 2)])
    y = np.arange(_H, dtype=np.float32) - _H / 2 + 0.5
    s = frac * pitch + radius * np.arcsin(np.clip(y / radius, -1.0, 1.0))
    k = np.floor((s + pitch / 2) / pitch).astype(np.int64)  # which digit each row shows
    row = np.round(s - k * pitch + gh / 2).astype(np.int64)
    ok = (row >= 0) & (row < gh) & (k >= -1) & (k <= 2)
    out = stack[np.clip(k + 1, 0, 3), np.clip(row, 0, gh - 1)]
    out[~ok] = 0.0
    return out


def _flat_column(
    g: dict[str, np.ndarray], ch: str, gw: int, gh: int, dy: int, ghost: float
) -> np.ndarray:
    """An _H × gw ink mask of a settled digit (or letter, or nothing for ch == " ")."""
    out = np.zeros((_H, gw), np.float32)
    top = (_H - gh) // 2 + dy
    lo, hi = max(0, top), min(_H, top + gh)
    if "ghost" in g and ghost > 0:
        out[lo:hi] = g["ghost"][lo - top : hi - top] * ghost
    if ch != " ":
        m = g[ch][lo - top : hi - top]
        out[lo:hi] = np.maximum(out[lo:hi], m)
    return out


def _smudge(rng: np.random.Generator, gw: int) -> np.ndarray:
    """A stain, a cable or a fingertip: soft blobs with no digit in them."""
    m = np.zeros((_H, gw), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        c = (int(rng.integers(0, gw)), int(rng.integers(_H // 4, 3 * _H // 4)))
        axes = (int(rng.integers(3, max(4, gw // 2))), int(rng.integers(4, _H // 3)))
        cv2.ellipse(m, c, axes, float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(0.4, 1)), -1)
    return cv2.GaussianBlur(m, (0, 0), float(rng.uniform(1.0, 4.0)))


def _grey_pair(rng: np.random.Generator, display: str) -> tuple[float, float]:
    """(background, ink) grey levels: an LCD is mostly dark on pale, a drum either way,
    sometimes a coloured drum (a red last drum is mid-grey to a grey camera)."""
    if display == "lcd" and rng.random() < 0.75:
        return float(rng.uniform(120, 215)), float(rng.uniform(10, 70))
    colour_bg = rng.random() < 0.2
    if colour_bg:  # a red, blue or green drum with white or black figures
        bgr = np.array([[[30, 30, 170]], [[160, 60, 20]], [[40, 130, 40]]], np.uint8)[
            int(rng.integers(0, 3))
        ]
        bg = float(cv2.cvtColor(bgr[None], cv2.COLOR_BGR2GRAY)[0, 0]) * rng.uniform(0.7, 1.2)
        ink = float(rng.uniform(200, 250)) if rng.random() < 0.85 else float(rng.uniform(5, 30))
        return bg, ink
    if rng.random() < 0.55:
        return float(rng.uniform(5, 60)), float(rng.uniform(170, 250))
    return float(rng.uniform(170, 250)), float(rng.uniform(5, 60))


@functools.lru_cache(maxsize=512)
def _ramp(n: int) -> np.ndarray:
    """-1 … 1 over n pixels (cached: cells come in few sizes)."""
    return np.linspace(-1.0, 1.0, n, dtype=np.float32)


def _damage(img: np.ndarray, rng: np.random.Generator, out_h: int) -> np.ndarray:
    """What the camera does: uneven light, glare, low contrast, focus blur, its own
    resolution, sensor noise and JPEG."""
    h, w = img.shape
    yy, xx = _ramp(h)[:, None], _ramp(w)[None, :]
    if rng.random() < 0.5:  # uneven light: a gradient multiplying everything
        a = rng.uniform(0, 2 * np.pi)
        img = img * (1.0 + rng.uniform(0.1, 0.45) * (np.cos(a) * xx + np.sin(a) * yy))
    if rng.random() < 0.3:  # glare: a soft bright patch or band added on top
        cx, cy = rng.uniform(-1, 1, 2)
        sx, sy = rng.uniform(0.3, 1.5, 2)
        img = img + rng.uniform(30, 110) * np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2))
    if rng.random() < 0.3:  # low contrast: a dim or washed-out display
        m = float(img.mean())
        img = m + (img - m) * rng.uniform(0.25, 0.7)
    r = rng.random()
    if r < 0.5:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.4, 2.2)))
    elif r < 0.6:  # motion blur along one axis
        k = int(rng.integers(3, 7))
        kernel = np.zeros((k, k), np.float32)
        if rng.random() < 0.5:
            kernel[k // 2, :] = 1.0 / k
        else:
            kernel[:, k // 2] = 1.0 / k
        img = cv2.filter2D(img, -1, kernel)
    out_w = max(6, int(round(w * out_h / h)))
    img = cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_AREA)
    img = img + rng.normal(0.0, rng.uniform(0.0, 9.0), img.shape).astype(np.float32)
    out: np.ndarray = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.4:
        quality = int(rng.integers(25, 90))
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        jpeg = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else None
        if jpeg is not None:
            out = jpeg
    return out


def _position(rng: np.random.Generator) -> float:
    """A rolling drum's position in tenths: any digit, the tenth weighted to the hard cases
    (and a 9 rolling over to 0 a little more often)."""
    d = 9 if rng.random() < 0.15 else int(rng.integers(0, 10))
    return d + min(9, int(np.searchsorted(_TENTH_CUM, rng.random()))) / 10.0


#: share of rendered cells whose 0 gets a drawn mark (a dot, a bar or a slash) when the
#: face draws a plain one: many faces mark their zero, each its own way (DejaVu Sans Mono
#: a round dot, Noto Sans Mono a slash, Liberation Mono a tall bar), and a model that saw
#: only some of those marks took an unseen one for the waist of an 8
MARKED_ZERO = 0.3


def _marked_zero(m: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plain 0's ink mask (gh × gw) with a mark drawn in its counter: a round or tall
    dot, or a slash across it, sized to the counter and the face's stroke."""
    gh, gw = m.shape
    rows = m[gh // 2] > 0.5
    cols = m[:, gw // 2] > 0.5
    if not rows.any() or not cols.any():
        return m
    xs = np.flatnonzero(rows)
    stroke = max(1, int(np.argmin(rows[xs[0] :]) if not rows[xs[0] :].all() else 1))
    # the counter: the gap between the left and right strokes on the middle row, and
    # between the top and bottom strokes on the middle column
    gap_x = np.flatnonzero(~rows[xs[0] : xs[-1] + 1])
    ys = np.flatnonzero(cols)
    gap_y = np.flatnonzero(~cols[ys[0] : ys[-1] + 1])
    if len(gap_x) < 3 or len(gap_y) < 5:
        return m
    cx = xs[0] + float(gap_x.mean())
    cy = ys[0] + float(gap_y.mean())
    cw, ch = float(len(gap_x)), float(len(gap_y))
    out = m.copy()
    kind = rng.random()
    if kind < 0.55:  # a dot, round to tall
        rx = max(1.0, cw * rng.uniform(0.12, 0.25))
        ry = max(rx, ch * rng.uniform(0.1, 0.3))
        if rng.random() < 0.5:
            cv2.ellipse(out, (int(cx), int(cy)), (int(rx), int(ry)), 0, 0, 360, 1.0, -1)
        else:
            cv2.rectangle(out, (int(cx - rx), int(cy - ry)), (int(cx + rx), int(cy + ry)), 1.0, -1)
    else:  # a slash, inside the counter or through the whole 0
        reach = rng.uniform(0.35, 0.62)
        dx, dy = cw * reach, ch * reach
        t = max(1, int(round(stroke * rng.uniform(0.6, 1.0))))
        p0 = (int(cx - dx), int(cy + dy))
        p1 = (int(cx + dx), int(cy - dy))
        cv2.line(out, p0, p1, 1.0, t, cv2.LINE_AA)
    return out


def _one_cell(rng: np.random.Generator, face: str) -> tuple[np.ndarray, float]:
    g = _face_glyphs(face)
    drum = not g.segments and rng.random() < 0.55
    r = rng.random()
    label_kind = "digit"
    if r < 0.05:
        label_kind = str(rng.choice(["blank", "letter", "smudge", "between"]))
        if label_kind == "letter" and not g.letters:
            label_kind = "blank"
        drum = drum and label_kind in ("smudge", "between")
    letter = str(rng.choice(g.letters)) if label_kind == "letter" else None
    # geometry at the working height
    aspect = g.aspect * rng.uniform(0.85, 1.2)
    gh = int(_H * (rng.uniform(0.45, 0.72) if drum else rng.uniform(0.55, 0.85)))
    gw = max(4, int(gh * aspect))
    gap = int(gw * rng.uniform(0.15, 0.6))
    col_w = gw + gap
    sc = g.scaled(gw, gh, letter)
    if not g.segments and rng.random() < MARKED_ZERO:
        zero = sc["0"]
        if float(zero[gh * 2 // 5 : gh * 3 // 5, gw * 2 // 5 : gw * 3 // 5].mean()) < 0.05:
            sc = {**sc, "0": _marked_zero(zero, rng)}
    if drum:
        pitch = gh * rng.uniform(1.3, 1.8)
        radius = _H / 2 / rng.uniform(0.55, 0.92)
        pos = round(float(_position(rng)) if rng.random() < 0.7 else float(rng.integers(0, 10)), 1)
        mid = _drum_column(sc, pos, gh, pitch, radius)
        side_pos = [float(rng.integers(0, 10)), round(float(_position(rng)), 1)]
        sides = [_drum_column(sc, p, gh, pitch, radius) for p in side_pos]
    else:
        dy = int(rng.integers(-_H // 14, _H // 14 + 1))
        ghost = float(rng.uniform(0.03, 0.18)) if g.has_ghost and rng.random() < 0.6 else 0.0
        pos = float(rng.integers(0, 10))
        ch = str(int(pos))
        if label_kind == "blank":
            ch = " "
        elif letter is not None:
            ch = letter
        mid = _flat_column(sc, ch, gw, gh, dy, ghost)
        sides = [
            _flat_column(sc, str(int(rng.integers(0, 10))), gw, gh, dy, ghost) for _ in range(2)
        ]
    if label_kind == "smudge":
        mid = np.maximum(mid * 0.0, _smudge(rng, gw))
    # three columns side by side: neighbour, this digit, neighbour
    W = 3 * col_w
    ink_mask = np.zeros((_H, W), np.float32)
    for i, col in enumerate((sides[0], mid, sides[1])):
        x = i * col_w + gap // 2
        ink_mask[:, x : x + gw] = col
    bg, ink = _grey_pair(rng, "drum" if drum else "lcd")
    img = bg + ink_mask * (ink - bg)
    if drum:  # the drum's curvature darkens its top and bottom
        img *= 1.0 - rng.uniform(0.15, 0.45) * _ramp(_H)[:, None] ** 2
    housing = float(rng.uniform(10, 120)) if rng.random() < 0.5 else float(rng.uniform(120, 230))
    if drum and rng.random() < 0.5:  # the housing between drum windows
        for i in range(4):
            x = i * col_w
            img[:, max(0, x - gap // 4) : x + gap // 4] = housing
    if rng.random() < (0.45 if drum else 0.15):  # the window's frame above and below
        img[: int(_H * rng.uniform(0.02, 0.15))] = housing
        img[_H - int(_H * rng.uniform(0.02, 0.15)) :] = housing
    # shear (italic, or a camera seeing the meter from the side), tilt, scale, shift
    cx = 1.5 * col_w if label_kind != "between" else 2.0 * col_w
    a = np.deg2rad(rng.uniform(-4.0, 4.0))
    shear = rng.uniform(-0.25, 0.25) if rng.random() < 0.4 else 0.0
    s = rng.uniform(0.9, 1.1)
    lin = (
        s
        * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        @ np.array([[1.0, shear], [0.0, 1.0]])
    )
    centre = np.array([cx, _H / 2])
    shift = np.array([rng.uniform(-0.05, 0.05) * gw, rng.uniform(-0.03, 0.03) * _H])
    m = np.hstack([lin, (centre + shift - lin @ centre)[:, None]]).astype(np.float32)
    img = np.asarray(cv2.warpAffine(img, m, (W, _H), borderMode=cv2.BORDER_REPLICATE))
    # the cut: the digit with a margin that may reach into its neighbours
    if label_kind == "between":  # across the gap: at most half of either digit
        x0 = int(cx - gap / 2 - rng.uniform(0.25, 0.5) * gw)
        x1 = int(cx + gap / 2 + rng.uniform(0.25, 0.5) * gw)
    else:
        x0 = int(cx - gw / 2) - int(round(rng.uniform(-0.06, 0.45) * gw))
        x1 = int(cx + gw / 2) + int(round(rng.uniform(-0.06, 0.45) * gw))
    cell = img[:, max(0, x0) : min(W, x1)]
    out = _damage(cell, rng, int(rng.integers(24, 81)))
    label = pos if label_kind == "digit" else NOT_A_DIGIT
    return out, label


def font_cells(
    n: int, seed: int, fonts: list[Path] | None = None
) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` grey uint8 cells and their drum positions (7.3 = the 7 turned three tenths
    toward 8, a settled digit d.0, -1.0 for not a digit), deterministic for a ``seed``.

    ``fonts`` None draws in the training faces present on this machine plus the drawn
    styles; a list draws in those of its faces that are present (none present: the drawn
    styles only, so a machine without the font packages still trains)."""
    rng = np.random.default_rng(seed)
    if fonts is None:
        faces = [str(f) for f in present_fonts(TRAIN_FONTS)] + list(DRAWN_STYLES)
    else:
        faces = [str(f) for f in present_fonts(fonts)] or list(DRAWN_STYLES)
    cells: list[np.ndarray] = []
    labels = np.empty(n, np.float64)
    for i in range(n):
        face = faces[int(rng.integers(0, len(faces)))]
        cell, labels[i] = _one_cell(rng, face)
        cells.append(cell)
    return cells, labels


def clean_cell(
    font: Path | str, char: str, height: int = 48, light_on_dark: bool = False
) -> np.ndarray:
    """One undamaged cell of ``char`` in ``font`` (a path, or one of DRAWN_STYLES): the
    glyph at 70 % of the height, centred with a small margin. For checking a face reads
    at all, before any camera damage."""
    g = _face_glyphs(str(font))
    if char not in DIGITS and char not in g.letters:
        raise ValueError(f"the face {font} has no character {char!r} to draw")
    gh = int(round(_H * 0.7))
    gw = max(4, int(round(gh * g.aspect)))
    sc = g.scaled(gw, gh, char if char not in DIGITS else None)
    col = _flat_column(sc, char, gw, gh, 0, 0.0)
    pad = max(2, gw // 6)
    mask = np.pad(col, ((0, 0), (pad, pad)))
    bg, ink = (30.0, 225.0) if light_on_dark else (225.0, 30.0)
    img = bg + mask * (ink - bg)
    w = max(6, int(round(img.shape[1] * height / _H)))
    return np.clip(cv2.resize(img, (w, height), interpolation=cv2.INTER_AREA), 0, 255).astype(
        np.uint8
    )
