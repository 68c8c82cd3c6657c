"""Saved frames under ``storage.image_dir``, and the retention that keeps the SD card from filling.

Frames of rejected readings (or all, per ``storage.save_images``) are written as
JPEG into one folder per UTC day, named after the reading's time and outcome, so
a user can see why a reading was refused and collect images to tune the reader.
The agent deletes them itself: files older than ``storage.keep_days`` go, and
if the folder still exceeds ``storage.max_image_mb`` the oldest go first.
No cron job or logrotate is needed on the Pi.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from meter_agent.config import StorageConfig

log = logging.getLogger(__name__)

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_STAMP = re.compile(r"^(\d{8}T\d{6})")


@dataclass
class PruneResult:
    deleted: int = 0
    freed_bytes: int = 0
    kept: int = 0


class ImageStore:
    """Writes frames as ``<image_dir>/YYYY-MM-DD/YYYYMMDDTHHMMSS.mmmZ_<tag>.jpg`` and prunes them."""

    def __init__(self, image_dir: str | Path, storage: StorageConfig) -> None:
        self.dir = Path(image_dir)
        self.storage = storage

    def wants(self, accepted: bool) -> bool:
        """Whether a frame of a reading with this outcome should be kept."""
        mode = self.storage.save_images
        return mode == "all" or (mode == "rejected" and not accepted)

    def save(self, frame: np.ndarray, ts: datetime, tag: str, quality: int = 90) -> Path:
        """Write one JPEG and return its path (raises ``OSError`` when the card is full)."""
        ts = ts.astimezone(UTC)
        day = self.dir / ts.strftime("%Y-%m-%d")
        day.mkdir(parents=True, exist_ok=True)
        name = ts.strftime("%Y%m%dT%H%M%S.") + f"{ts.microsecond // 1000:03d}Z"
        safe_tag = _SAFE.sub("-", tag).strip("-")[:60] or "frame"
        path = day / f"{name}_{safe_tag}.jpg"
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise OSError(f"frame could not be encoded as JPEG for {path}")
        tmp = path.with_suffix(".jpg.tmp")
        with open(tmp, "wb") as fh:
            fh.write(buf.tobytes())
        os.replace(tmp, path)
        return path

    def files(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return [
            p for p in self.dir.rglob("*") if p.is_file() and p.suffix.lower() in (".jpg", ".png")
        ]

    @staticmethod
    def taken_at(path: Path) -> datetime:
        """When the image was taken: from its name if it is ours, else its modification time."""
        m = _STAMP.match(path.name)
        if m:
            try:
                return datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
            except ValueError:
                pass
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)

    def prune(self, now: datetime | None = None) -> PruneResult:
        """Delete images older than ``keep_days`` and then the oldest beyond ``max_image_mb``."""
        now = now or datetime.now(UTC)
        cutoff = now - timedelta(days=self.storage.keep_days)
        res = PruneResult()
        survivors: list[tuple[datetime, Path, int]] = []
        for p in self.files():
            try:
                ts, size = self.taken_at(p), p.stat().st_size
            except OSError:
                continue
            if ts < cutoff:
                self._delete(p, size, res)
            else:
                survivors.append((ts, p, size))
        cap = int(self.storage.max_image_mb * 1024 * 1024)
        total = sum(s for _, _, s in survivors)
        if cap and total > cap:
            survivors.sort()
            while survivors and total > cap:
                _, p, size = survivors.pop(0)
                self._delete(p, size, res)
                total -= size
        res.kept = len(survivors)
        self._remove_empty_days()
        if res.deleted:
            log.info("image retention: deleted %d files (%d bytes)", res.deleted, res.freed_bytes)
        return res

    @staticmethod
    def _delete(p: Path, size: int, res: PruneResult) -> None:
        try:
            p.unlink()
        except OSError as exc:
            log.warning("cannot delete old image %s: %s", p, exc)
            return
        res.deleted += 1
        res.freed_bytes += size

    def _remove_empty_days(self) -> None:
        if not self.dir.is_dir():
            return
        for d in self.dir.iterdir():
            if d.is_dir():
                with contextlib.suppress(OSError):
                    d.rmdir()  # only succeeds when empty
