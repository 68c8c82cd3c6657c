"""The calibration's reference frame on disk: ``data_dir/reference.png``.

Why a file: the reference is the camera picture the window was drawn on, and every
frame is aligned to it (:mod:`meter_agent.align`); it must outlive a restart, or a
camera that moved while the agent was down would be read from the wrong place. It is
kept as a lossless grey PNG (alignment needs no colour), written atomically like the
agent's other state. A file that cannot be read is moved aside with one sentence in
the log and the agent reads without alignment, as an agent that never had one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from meter_agent.files import set_aside, write_atomically

log = logging.getLogger(__name__)

FILE_NAME = "reference.png"


def load(path: Path) -> np.ndarray | None:
    """The saved reference frame (grey), or None when there is none or it is damaged
    (then it is moved to ``reference.png.damaged``)."""
    if not path.exists():
        return None
    img = None
    try:
        data = np.fromfile(path, np.uint8)
        if data.size:
            img = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    except (OSError, ValueError):
        img = None
    if img is None or img.size == 0 or min(img.shape[:2]) < 8:
        aside = set_aside(path)
        log.warning(
            "the reference frame %s cannot be read and was moved to %s; frames are read "
            "without alignment until the calibration is saved again",
            path,
            aside,
        )
        return None
    return np.ascontiguousarray(img)


def save(path: Path, frame: np.ndarray | None) -> None:
    """Write ``frame`` (grey or BGR) as the reference, or remove it for None; OSError
    when it cannot be written."""
    if frame is None:
        path.unlink(missing_ok=True)
        return
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    ok, buf = cv2.imencode(".png", gray)
    if not ok:
        raise OSError("the reference frame could not be encoded as PNG")
    write_atomically(path, buf.tobytes())
