"""The camera as the agent shares it: the frame source, its bursts, and the latest frame.

Why a module of its own: the scheduled reading, the preview routes (``GET /frame.jpg``,
``/ocr``, the calibration screen) and learning from the view after a reading set by
hand all want frames from one camera. This holds the source and the latest frame, so
that a preview within a second of a burst does not wake the camera again.

Not locked on its own: a camera takes one request at a time, and the service calls
every method here with its one lock (camera + reader) held.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from meter_agent.capture import CaptureError, FrameSource
from meter_agent.config import CameraConfig
from meter_agent.health import HealthLog

log = logging.getLogger(__name__)

#: a frame older than this is not taken for the view a reading set by hand describes, the
#: longest anyone reuses the latest frame; after it the frame is let go
LEARN_FRAME_AGE_S = 5.0


class CameraFeed:
    """One frame source and the latest frame it gave."""

    def __init__(self, source: FrameSource, health: HealthLog) -> None:
        self.source = source
        self.health = health
        self.last_frame: np.ndarray | None = None
        self.last_frame_at: float | None = None  # monotonic

    def grab_burst(self, camera: CameraConfig, burst_frames: int) -> list[np.ndarray]:
        """``burst_frames`` fresh frames, ``camera.burst_interval_s`` apart (blocking).

        A burst cut short by the camera is read with the frames it got; none at all
        raises :class:`CaptureError`.
        """
        self.source.warm_up(camera.warmup_frames)
        frames: list[np.ndarray] = []
        for i in range(burst_frames):
            if i and camera.burst_interval_s:
                time.sleep(camera.burst_interval_s)
            try:
                frames.append(self.source.grab())
            except CaptureError:
                if not frames:
                    raise
                log.warning("burst cut short after %d frames; reading those", len(frames))
                break
        self.last_frame, self.last_frame_at = frames[-1], time.monotonic()
        return frames

    def current_frame(self, max_age_s: float = 1.0) -> np.ndarray:
        """The latest frame if it is fresh enough, else a new one (blocking; a
        :class:`CaptureError` is noted as the last error and raised)."""
        if (
            self.last_frame is not None
            and self.last_frame_at is not None
            and time.monotonic() - self.last_frame_at <= max_age_s
        ):
            return self.last_frame
        try:
            frame = self.source.grab()
        except CaptureError as exc:
            self.health.note_error(str(exc))
            raise
        self.last_frame, self.last_frame_at = frame, time.monotonic()
        return frame

    def forget_older_than(self, max_age_s: float) -> bool:
        """Let go of the latest frame once it is too old to stand in for a new one (a
        1280×720 frame is 2.7 MB the resting agent need not hold). Returns whether it went."""
        if self.last_frame is None or (
            self.last_frame_at is not None and time.monotonic() - self.last_frame_at < max_age_s
        ):
            return False
        self.last_frame = self.last_frame_at = None
        return True

    def close(self) -> None:
        self.source.close()
