"""Camera-plausible variants of digit crops, for training the CNN.

Why so much of it: there are only about a thousand real crops, from a few dozen meters.
The model must not learn those meters' framing, so every epoch sees new variants: the
crop margin moved (often into the neighbouring digits, as the reader's cells are cut),
perspective, scale, a little rotation, focus blur, sensor noise, JPEG, exposure, either
polarity. A drum digit is only shifted a little vertically, because there a vertical
shift *is* the reading (a drum turning moves its digit up).
"""

from __future__ import annotations

import cv2
import numpy as np

from meter_agent.engines.digits import IMG_H, IMG_W


def match_height(img: np.ndarray, h: int) -> np.ndarray:
    """``img`` resized to height ``h``, keeping its aspect ratio."""
    w = max(2, int(round(img.shape[1] * h / img.shape[0])))
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def match_light(img: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``img`` with the grey mean and spread of ``ref`` (neighbours on one meter are lit
    alike; crops from different photos are not)."""
    f = img.astype(np.float32)
    f = (f - f.mean()) / (f.std() + 1e-3) * ref.std() + ref.mean()
    return np.clip(f, 0, 255).astype(np.uint8)


def with_neighbours(
    img: np.ndarray, left: np.ndarray, right: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The crop with its margins moved: each side from slightly inside the digit to a
    third of a digit into the neighbour (pieces of the neighbouring digits, as in loose
    camera cells)."""
    h, w = img.shape
    lt = match_light(match_height(left, h), img)
    rt = match_light(match_height(right, h), img)
    strip = np.hstack([lt, img, rt])
    x0 = lt.shape[1] - int(round(rng.uniform(-0.06, 0.35) * w))
    x1 = lt.shape[1] + w + int(round(rng.uniform(-0.06, 0.35) * w))
    return strip[:, max(0, x0) : min(strip.shape[1], x1)]


def between_digits(img: np.ndarray, right: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A cell cut across the gap between two digits (half of each): not a digit (N)."""
    h, w = img.shape
    rt = match_light(match_height(right, h), img)
    strip = np.hstack([img, rt])
    c = w + int(round(rng.uniform(-0.1, 0.1) * w))
    return strip[:, max(0, c - w // 2) : c + w // 2]


def rolled(top: np.ndarray, bottom: np.ndarray, frac: float) -> np.ndarray:
    """A drum turned ``frac`` of the way from the digit of ``top`` to that of ``bottom``
    (two clean crops of one meter, stacked: the drum scrolls upward as it turns)."""
    h, w = top.shape
    b = match_light(cv2.resize(bottom, (w, h), interpolation=cv2.INTER_AREA), top)
    off = int(round(frac * h))
    return np.vstack([top, b])[off : off + h]


def warp(img: np.ndarray, rng: np.random.Generator, drum: bool) -> np.ndarray:
    """Random perspective: scale (x and y apart), rotation up to 5°, shift, corner jitter."""
    h, w = img.shape
    sx = rng.uniform(0.85, 1.15)
    sy = sx * rng.uniform(0.92, 1.08)
    a = np.deg2rad(rng.uniform(-5, 5))
    dx = rng.uniform(-0.08, 0.08) * w
    dy = rng.uniform(-0.02, 0.02) * h if drum else rng.uniform(-0.08, 0.08) * h
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    c = src - [w / 2, h / 2]
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    dst = (c * [sx, sy]) @ rot.T + [w / 2 + dx, h / 2 + dy]
    dst += rng.uniform(-0.03, 0.03, (4, 2)) * [w, h]
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    return cv2.warpPerspective(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def degrade(g: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera faults on the network-sized cell: low resolution, focus or motion blur,
    exposure and gamma, sensor noise, JPEG, and either polarity."""
    if rng.random() < 0.15:
        f = rng.uniform(0.45, 0.8)
        small = cv2.resize(g, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        g = cv2.resize(small, (g.shape[1], g.shape[0]), interpolation=cv2.INTER_LINEAR)
    out: np.ndarray = g.astype(np.float32)
    r = rng.random()
    if r < 0.25:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 0.9))
    elif r < 0.32:
        # motion blur along one axis (a shaky mount, a long exposure)
        k = np.zeros((3, 3), np.float32)
        if rng.random() < 0.5:
            k[1, :] = 1 / 3
        else:
            k[:, 1] = 1 / 3
        out = cv2.filter2D(out, -1, k)
    if rng.random() < 0.3:
        out = 255.0 * (np.clip(out, 0, 255) / 255.0) ** rng.uniform(0.6, 1.6)
    out = out * rng.uniform(0.6, 1.2) + rng.uniform(-30, 30)
    out += rng.normal(0, rng.uniform(0, 6), out.shape)
    if rng.random() < 0.3:
        out = 255 - out
    out8: np.ndarray = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        ok, buf = cv2.imencode(".jpg", out8, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 90))])
        jpeg = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else None
        if jpeg is not None:
            out8 = jpeg
    return out8


def to_input_size(img: np.ndarray) -> np.ndarray:
    return cv2.resize(img, (IMG_W, IMG_H), interpolation=cv2.INTER_AREA)


def blank_cell(rng: np.random.Generator) -> np.ndarray:
    """A cell with no digit (class N): a flat or shaded field, sometimes with the edge of
    the window or a stray line, blurred and noisy like the real thing."""
    yy, xx = np.mgrid[0:IMG_H, 0:IMG_W].astype(np.float32)
    base = rng.uniform(20, 230)
    g = base + rng.uniform(-3, 3) * (yy - IMG_H / 2) + rng.uniform(-3, 3) * (xx - IMG_W / 2)
    if rng.random() < 0.4:
        # a frame edge or a scratch: one straight band
        a = rng.uniform(0, np.pi)
        d = (xx - IMG_W / 2) * np.cos(a) + (yy - IMG_H / 2) * np.sin(a) - rng.uniform(-8, 8)
        g = np.where(np.abs(d) < rng.uniform(0.7, 3), g + rng.uniform(-90, 90), g)
    g = np.clip(g, 0, 255).astype(np.uint8)
    return degrade(g, rng)
