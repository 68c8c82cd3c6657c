"""The previous digit model (3 MLPs on HOG + pixel features), kept only so that
``compare_models`` can score it beside the CNN on the same held-out crops.

Its weights are in git history: ``git show 1ea1e45:meter_agent/models/digits.npz``.
The runtime package no longer uses this; nothing here is imported by ``meter_agent``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

IMG_W, IMG_H = 20, 32

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
    # OpenCV's stub requires a dst array; None (allocate one) is what OpenCV documents
    g = cv2.normalize(g, None, 0, 255, cv2.NORM_MINMAX)  # type: ignore[call-overload]
    hog_v = hog(g)
    pn = _polarity_normalised(g)
    small = cv2.resize(pn, (IMG_W // 2, IMG_H // 2), interpolation=cv2.INTER_AREA).astype(
        np.float32
    )
    small = (small - small.mean()) / (small.std() + 1e-3)
    return np.concatenate([hog_v, small.ravel() * 0.25]).astype(np.float32)


@dataclass
class MlpModel:
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
    def load(cls, path: str | Path) -> MlpModel:
        try:
            z = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ValueError(f"digit model {path} cannot be loaded: {exc}.") from None
        info = {}
        if "info" in z.files:
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


def mlp_probabilities(model: MlpModel, images: list[np.ndarray]) -> np.ndarray:
    """Class probabilities of the old ensemble for camera crops."""
    return model.probabilities(np.stack([features(im) for im in images]))
