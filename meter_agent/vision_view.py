"""Where the reader cut the cells and how the frame lay against the reference, in
camera-frame pixels: what the calibration screen draws over the camera picture.

Why: with a loose window and a camera that may have moved, the cells are no longer
simply the calibrated rectangle split in equal parts; the user must see the cells the
agent really read, and whether (and how far) the frame had to be aligned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

if TYPE_CHECKING:
    from meter_agent.reader import MeterReader


def window_to_frame(
    points: np.ndarray,
    roi: list[int] | None,
    rotate_degrees: float,
    size: tuple[int, int],
    transform: np.ndarray | None,
) -> np.ndarray:
    """Calibrated-window pixels → camera-frame pixels (undo the crop and the rotation,
    then move with the camera by the alignment ``transform``)."""
    fw, fh = size
    x, y = (0, 0) if roi is None else (roi[0], roi[1])
    pts = np.asarray(points, np.float64) + [x, y]
    if abs(rotate_degrees) > 1e-6:
        m = cv2.getRotationMatrix2D((fw / 2, fh / 2), rotate_degrees, 1.0)
        inv = cv2.invertAffineTransform(m)
        pts = pts @ inv[:, :2].T + inv[:, 2]
    if transform is not None:
        t = np.asarray(transform, np.float64)
        pts = pts @ t[:, :2].T + t[:, 2]
    return pts


def _box(x: float, y: float, w: float, h: float) -> np.ndarray:
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float64)


def vision_json(reader: MeterReader, frame: np.ndarray) -> dict[str, Any]:
    """``{"alignment", "row", "cells"}`` of the reader's last frame: the alignment as
    :meth:`meter_agent.align.Alignment.to_json` (``{"reference": false}`` without a
    reference frame), the digit row and each cell as four [x, y] corners in the camera
    frame (None and [] when the frame was refused before the cells were cut)."""
    a = reader.alignment
    out: dict[str, Any] = {
        "alignment": {"reference": False} if reader.reference is None or a is None else a.to_json(),
        "row": None,
        "cells": [],
    }
    win = reader.last_window
    if win is None or win.row is None:
        return out
    cal = reader.config.calibration
    size = (frame.shape[1], frame.shape[0])
    transform = a.matrix if (a is not None and a.ok and reader.reference is not None) else None

    def place(poly: np.ndarray) -> list[list[float]]:
        pts = window_to_frame(poly, cal.roi, cal.rotate_degrees, size, transform)
        return [[round(float(px), 1), round(float(py), 1)] for px, py in pts]

    rx, ry, rw, rh = win.row
    out["row"] = place(_box(rx, ry, rw, rh))
    out["cells"] = [
        place(_box(rx + c.box[0], ry + c.box[1], c.box[2], c.box[3])) for c in win.cells
    ]
    return out
