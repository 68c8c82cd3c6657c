"""The trained digit recogniser: HOG + pixel features into a small MLP, numpy-only inference.

Why this and not a CNN: on a Raspberry Pi without torch or TFLite, a 1-hidden-layer MLP
on HOG features runs in well under a millisecond per digit and is a few hundred KB on
disk, yet reads real meter digits (drums, LCDs, water and gas counters) far better than
Tesseract does. The model is trained by ``meter_agent/training/train_digits.py`` on the
real crops of haverland/Tenth-of-step-of-a-meter-digit (Apache-2.0; credit kept in
``meter_agent/models/NOTICE``) plus synthetic LCD and drum cells.

Classes 0–9 are digits; class 10 is "N", not a digit (blank, letter, occluded). Drum
digits caught mid-roll were trained with soft labels (a 7 turned 3 tenths = 0.7 of class
7 and 0.3 of class 8), so the two strongest neighbouring outputs give the drum position,
as AI-on-the-edge's dig-cont models do.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from meter_agent.engines import DigitGuess

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "digits.npz"
IMG_W, IMG_H = 20, 32
N_CLASSES = 11
N_CLASS = 10

HOG_CELL = 4
HOG_BINS = 9


def hog(g: np.ndarray) -> np.ndarray:
    """Histogram of oriented gradients (unsigned, so either polarity gives the same
    vector): 4×4-pixel cells, 9 bins, 2×2-cell blocks L2-normalised with stride one cell.
    Written here because OpenCV 5 wheels no longer carry HOGDescriptor."""
    f = g.astype(np.float32)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=1)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=1)
    mag = np.sqrt(gx * gx + gy * gy)
    ang = (np.arctan2(gy, gx) % np.pi) * (HOG_BINS / np.pi)
    b0 = np.floor(ang).astype(np.int32) % HOG_BINS
    frac = ang - np.floor(ang)
    b1 = (b0 + 1) % HOG_BINS
    h, w = g.shape
    ch, cw = h // HOG_CELL, w // HOG_CELL
    cell_idx = (np.arange(h)[:, None] // HOG_CELL) * cw + (np.arange(w)[None, :] // HOG_CELL)
    hist = np.zeros(ch * cw * HOG_BINS, np.float32)
    np.add.at(hist, (cell_idx * HOG_BINS + b0).ravel(), (mag * (1 - frac)).ravel())
    np.add.at(hist, (cell_idx * HOG_BINS + b1).ravel(), (mag * frac).ravel())
    hist = hist.reshape(ch, cw, HOG_BINS)
    blocks = np.concatenate(
        [hist[:-1, :-1], hist[1:, :-1], hist[:-1, 1:], hist[1:, 1:]], axis=2
    ).reshape(-1, 4 * HOG_BINS)
    blocks /= np.sqrt((blocks * blocks).sum(axis=1, keepdims=True)) + 1e-3
    return np.minimum(blocks, 0.2).ravel()


def _polarity_normalised(g: np.ndarray) -> np.ndarray:
    """Ink bright on dark, decided by which Otsu side forms the thinner strokes."""
    _, dark = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    light = cv2.bitwise_not(dark)

    def width(fg: np.ndarray) -> float:
        d = cv2.distanceTransform(fg, cv2.DIST_L2, 3)
        sel = fg > 0
        return float(d[sel].mean()) if sel.any() else 1e9

    return cv2.bitwise_not(g) if width(dark) < width(light) else g


def features(gray: np.ndarray) -> np.ndarray:
    """Feature vector of one digit image (grey or BGR, any size, either polarity)."""
    if gray.ndim == 3:
        gray = cv2.cvtColor(gray, cv2.COLOR_BGR2GRAY)
    g = cv2.resize(gray, (IMG_W, IMG_H), interpolation=cv2.INTER_AREA)
    g = cv2.normalize(g, None, 0, 255, cv2.NORM_MINMAX)
    hog_v = hog(g)
    pn = _polarity_normalised(g)
    small = cv2.resize(pn, (IMG_W // 2, IMG_H // 2), interpolation=cv2.INTER_AREA).astype(
        np.float32
    )
    small = (small - small.mean()) / (small.std() + 1e-3)
    return np.concatenate([hog_v, small.ravel() * 0.25]).astype(np.float32)


def drum_value(probs: np.ndarray) -> float:
    """Continuous drum position from the ten digit outputs: the strongest class moved
    toward its stronger neighbour by their share (wrapping 9 → 0)."""
    p = probs[:10]
    c = int(np.argmax(p))
    up, down = p[(c + 1) % 10], p[(c - 1) % 10]
    v = c + up / (p[c] + up + 1e-09) if up >= down else c - down / (p[c] + down + 1e-09)
    return float(v % 10.0)


@dataclass
class DigitModel:
    """Weights of the MLP (or of an ensemble of MLPs on the same features, stacked on a
    leading axis; their probabilities are averaged) plus the feature standardisation."""

    mean: np.ndarray
    std: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    info: dict

    @classmethod
    def load(cls, path: str | Path = MODEL_PATH) -> DigitModel:
        try:
            z = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ValueError(f"digit model {path} cannot be loaded: {exc}.") from None
        info = {}
        if "info" in z.files:
            import json

            info = json.loads(str(z["info"]))
        f32 = np.float32
        try:
            if "w1_q" in z.files:
                w1 = z["w1_q"].astype(f32) * z["w1_scale"].astype(f32)[..., None, :]
            else:
                w1 = z["w1"].astype(f32)
        except KeyError as exc:
            raise ValueError(f"digit model {path} lacks the array {exc}.") from None
        # a single MLP is an ensemble of one
        w1, b1, w2, b2 = (
            a if a.ndim == nd else a[None]
            for a, nd in (
                (w1, 3),
                (z["b1"].astype(f32), 2),
                (z["w2"].astype(f32), 3),
                (z["b2"].astype(f32), 2),
            )
        )
        return cls(z["mean"].astype(f32), z["std"].astype(f32), w1, b1, w2, b2, info)

    def probabilities(self, feats: np.ndarray) -> np.ndarray:
        x = (np.atleast_2d(feats) - self.mean) / self.std
        out = np.zeros((x.shape[0], self.w2.shape[-1]), np.float32)
        for w1, b1, w2, b2 in zip(self.w1, self.b1, self.w2, self.b2, strict=True):
            h = np.maximum(x @ w1 + b1, 0.0)
            z = h @ w2 + b2
            z -= z.max(axis=1, keepdims=True)
            e = np.exp(z)
            out += e / e.sum(axis=1, keepdims=True)
        return out / len(self.w1)


@functools.lru_cache(maxsize=2)
def load_model(path: str = str(MODEL_PATH)) -> DigitModel:
    return DigitModel.load(path)


def guess_from_probs(p: np.ndarray, rolling: bool = True) -> DigitGuess:
    """Turn one probability row into a guess.

    For drums (``rolling``) the confidence is the mass of the two digits the drum sits
    between, so a mid-roll drum (0.5 / 0.5) is not mistaken for an uncertain one; the
    reader's carry logic decides between them using ``value``. For LCDs nothing rolls,
    and the confidence is the winning class's own probability.
    """
    if p[N_CLASS] >= 0.5:
        return DigitGuess(None, float(p[N_CLASS]), "other")
    v = drum_value(p)
    c = int(np.argmax(p[:10]))
    if not rolling:
        return DigitGuess(str(c), float(p[c]), "digit", value=float(c))
    lo = int(np.floor(v)) % 10
    pair = float(p[lo] + p[(lo + 1) % 10])
    return DigitGuess(str(c), min(1.0, pair), "digit", value=v, p_top=float(p[c]))


class DigitsEngine:
    """The trained recogniser as an engine."""

    name = "cnn"

    def __init__(self, path: str | Path = MODEL_PATH) -> None:
        self.model = load_model(str(path))

    def probabilities(self, images: list[np.ndarray]) -> np.ndarray:
        if not images:
            return np.zeros((0, N_CLASSES), np.float32)
        return self.model.probabilities(np.stack([features(im) for im in images]))

    def read(self, images: list[np.ndarray], rolling: bool = True) -> list[DigitGuess]:
        """One guess per digit image (camera grey or BGR crops of single digits)."""
        return [guess_from_probs(p, rolling) for p in self.probabilities(images)]
