"""The agent's health: what went wrong lately, and the ``GET /health`` document.

Why a module of its own: errors are noted from several places (the camera, the
history and outbox writes, the capture loop) and read in one (``/health``), and what
"ok", "degraded" and "error" mean should be decided next to the counts it is decided
from.

The counters are plain attributes, written by the capture thread and the event loop
and read by the HTTP handlers without a lock: each write is a single assignment, so a
reader sees a value a round old at worst, never a torn one.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from meter_agent.history import History
from meter_agent.schema import iso_z


class HealthLog:
    """When the agent started and last looked, and the errors since."""

    def __init__(self) -> None:
        self.started_at = datetime.now(UTC)
        self._t0 = time.monotonic()
        self.last_capture_at: datetime | None = None
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        #: failed rounds in a row (the capture loop's back-off grows with it)
        self.consecutive_errors = 0
        #: bursts the camera could not give, since start
        self.capture_errors = 0

    def note_error(self, message: str) -> None:
        """Remember ``message`` (one sentence) as the last error, with its time."""
        self.last_error = message
        self.last_error_at = datetime.now(UTC)

    def capture_failed(self, message: str) -> None:
        """The camera could not give a burst: counted, and noted as the last error."""
        self.capture_errors += 1
        self.note_error(message)

    def uptime_s(self) -> float:
        return round(time.monotonic() - self._t0, 1)


def health_document(
    health: HealthLog,
    *,
    history: History,
    reader_counts: dict[str, int],
    camera: dict[str, Any],
    lighting: dict[str, Any],
    upload: dict[str, Any],
    references: dict[str, Any] | None,
    interval_s: float,
) -> dict[str, Any]:
    """``GET /health``'s body (without ``version``, which the server adds).

    ``status`` is "error" when the camera is failing and has failed a burst since
    start, "degraded" while rounds fail or the camera is not ok, else "ok".
    """
    counts = history.counts()
    if health.capture_errors and camera["ok"] is False:
        status = "error"
    elif health.consecutive_errors or camera["ok"] is False:
        status = "degraded"
    else:
        status = "ok"
    last_acc = history.last_accepted()
    return {
        "status": status,
        "started_at": iso_z(health.started_at),
        "uptime_s": health.uptime_s(),
        "last_capture": None if health.last_capture_at is None else iso_z(health.last_capture_at),
        "last_accepted": None if last_acc is None else iso_z(last_acc.timestamp),
        "last_error": health.last_error,
        "last_error_at": None if health.last_error_at is None else iso_z(health.last_error_at),
        "consecutive_errors": health.consecutive_errors,
        "counts": {
            "accepted": counts["accepted"],
            "rejected": counts["rejected_total"],
            "rejected_by_reason": counts["rejected"],
            "capture_errors": health.capture_errors,
            "reader_rejected_since_start": reader_counts,
        },
        "camera": camera,
        "lighting": lighting,
        "upload": upload,
        "references": references,
        "interval_s": interval_s,
    }
