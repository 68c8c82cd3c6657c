"""The agent's heart: capture a burst → read it → record → upload, forever, without dying.

:class:`MeterService` is the one object the HTTP server (:mod:`meter_agent.server`) and
``meter-agent serve`` drive. It wires the parts together and holds the one lock; the
parts live in their own modules:

* :mod:`meter_agent.feed` — the camera: bursts and the latest frame;
* :mod:`meter_agent.reader_state` — the reader and what it remembers across restarts;
* :mod:`meter_agent.recording` — history, saved frames, upload outbox, and the last
  guard against a lower total;
* :mod:`meter_agent.calibration` — the window and OCR settings, checked and saved;
* :mod:`meter_agent.health` — the errors noted and the ``/health`` document;
* :mod:`meter_agent.capture_loop` — the scheduled loops and their back-off.

Blocking work (the camera, OpenCV, Tesseract) always runs in a worker thread, never on
the event loop, and one lock serialises the camera and the reader so a ``POST
/capture``, a preview and the scheduled loop can never interleave. The parts are not
locked on their own: this class takes the lock around every call that touches the
camera or the reader.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from meter_agent import calibration, capture_loop, rules
from meter_agent.calibration import CalibrationError, CalibrationUpdate, calibration_view
from meter_agent.capture import (
    CaptureError,
    FrameSource,
    SyntheticSource,
    lighting_control_for,
    open_source,
)
from meter_agent.config import (
    AgentConfig,
    AgentConfigError,
    CalibrationConfig,
    OcrConfig,
    resolve_path,
)
from meter_agent.feed import LEARN_FRAME_AGE_S, CameraFeed
from meter_agent.health import HealthLog, health_document
from meter_agent.history import History, HistoryRecord, record_from_result
from meter_agent.images import ImageStore
from meter_agent.lighting import LightingController
from meter_agent.reader_state import ReaderKeeper, ReadingError, manual_digits, manual_result
from meter_agent.recording import Recorder, StorageError, UploadWake
from meter_agent.schema import MeterStatus
from meter_agent.upload import Uploader

if TYPE_CHECKING:
    from meter_agent.reader import MeterReader, ReadResult

# what server.py and serve_cmd.py take from here, wherever it lives
__all__ = [
    "CalibrationError",
    "CalibrationUpdate",
    "MeterService",
    "ReadingError",
    "StorageError",
    "calibration_view",
    "resolve_path",
]

log = logging.getLogger(__name__)


def _prepare_folder(path: Path, key: str) -> None:
    """Make the folder ``key`` names; a path that is a file is a config error (one
    sentence, exit 2), anything else the card refuses an OSError."""
    if path.exists() and not path.is_dir():
        raise AgentConfigError(
            f"{key} {path} is a file, not a folder; point it at a folder (it is made if missing)."
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise AgentConfigError(
            f"{key} {path} cannot be a folder: a part of that path is a file."
        ) from None


class MeterService:
    """Everything the agent does; the HTTP server and the CLI drive it."""

    def __init__(
        self,
        config: AgentConfig,
        config_path: str | Path | None,
        *,
        source: FrameSource | None = None,
    ) -> None:
        self.config = config
        self.config_path = Path(config_path) if config_path else None
        base = self.config_path.resolve().parent if self.config_path else Path.cwd()
        self.base_dir = base
        st = config.storage
        self.data_dir = resolve_path(base, st.data_dir)
        self.image_dir = resolve_path(base, st.image_dir)
        self.log_file = resolve_path(base, st.log_file) if st.log_file else None
        _prepare_folder(self.data_dir, "storage.data_dir")

        camera = config.camera
        if camera.source == "file" and camera.path.strip():
            # like storage paths: relative to the config file's folder, not to wherever
            # the agent was started from (systemd starts it in /)
            camera = camera.model_copy(update={"path": str(resolve_path(base, camera.path))})
        self.source = source or open_source(camera, ocr=config.ocr)
        if isinstance(self.source, SyntheticSource):
            from meter_agent.synth import FrameTooSmall

            try:
                hint = self.source.calibration_hint()  # one frame: does the meter fit?
            except FrameTooSmall as exc:
                raise AgentConfigError(f"camera.width/height: {exc}") from None
        if isinstance(self.source, SyntheticSource) and config.calibration.roi is None:
            # a demo works out of the box: frame the generated meter (in memory, not saved)
            config.calibration = config.calibration.model_copy(
                update={"roi": hint["roi"], "rotate_degrees": round(hint["rotate_degrees"], 2)}
            )
            log.info("synthetic meter: calibrated to roi %s", hint["roi"])
        if self.image_dir.exists() and not self.image_dir.is_dir():
            raise AgentConfigError(
                f"storage.image_dir {self.image_dir} is a file, not a folder; "
                "point it at a folder (it is made if missing)."
            )
        self.history = History(self.data_dir, st.history_max_records)
        if source is None and isinstance(self.source, SyntheticSource):
            # the demo meter went on turning while the agent was stopped
            last = self.history.last_accepted()
            self.source.resume(last.digits if last is not None else None)
        self.uploader = Uploader(config.upload, self.data_dir)
        self.images = ImageStore(self.image_dir, st)
        self.lighting = LightingController(
            config.lighting, lighting_control_for(self.source, config.lighting)
        )
        self.readers = ReaderKeeper(config, self.data_dir, base, self.history)
        self._queue_what_the_outbox_missed()

        self._lock = threading.RLock()  # camera + reader
        self.health_log = HealthLog()
        self.feed = CameraFeed(self.source, self.health_log)
        self.upload_wake = UploadWake()
        self.recorder = Recorder(
            data_dir=self.data_dir,
            history=self.history,
            images=self.images,
            uploader=self.uploader,
            readers=self.readers,
            health=self.health_log,
            wake=self.upload_wake,
        )

    def _queue_what_the_outbox_missed(self) -> None:
        """Accepted readings in the history that are newer than anything in the upload
        outbox never made it there (the card was full between the two appends, then the
        agent stopped): queue them now, so the hub gets every reading the agent kept."""
        newest = self.uploader.outbox.newest_timestamp()
        if not self.config.upload.enabled or newest is None:
            return
        later = self.history.query(since=newest, limit=self.config.storage.history_max_records)
        try:
            self.uploader.catch_up([r.to_meter_reading() for r in later])
        except OSError as exc:
            log.warning("the upload outbox cannot be written: %s", exc)

    # --- the parts' state, by the names it always had -----------------------------------
    @property
    def reader(self) -> MeterReader:
        return self.readers.reader

    @property
    def state_path(self) -> Path:
        return self.readers.state_path

    @property
    def references_path(self) -> Path:
        return self.readers.references_path

    @property
    def last_record(self) -> HistoryRecord | None:
        return self.recorder.last_record

    @property
    def last_frame(self) -> np.ndarray | None:
        return self.feed.last_frame

    @property
    def last_frame_at(self) -> float | None:
        return self.feed.last_frame_at

    @property
    def started_at(self) -> datetime:
        return self.health_log.started_at

    @property
    def last_capture_at(self) -> datetime | None:
        return self.health_log.last_capture_at

    @property
    def last_error(self) -> str | None:
        return self.health_log.last_error

    @property
    def last_error_at(self) -> datetime | None:
        return self.health_log.last_error_at

    @property
    def consecutive_errors(self) -> int:
        return self.health_log.consecutive_errors

    @property
    def capture_errors(self) -> int:
        return self.health_log.capture_errors

    # --- capture ------------------------------------------------------------------------
    def grab_burst(self) -> list[np.ndarray]:
        """``ocr.burst_frames`` fresh frames, a little apart (blocking)."""
        with self._lock:
            return self.feed.grab_burst(self.config.camera, self.config.ocr.burst_frames)

    def current_frame(self, max_age_s: float = 1.0) -> np.ndarray:
        """The latest frame if it is fresh enough, else a new one (blocking; CaptureError)."""
        with self._lock:
            return self.feed.current_frame(max_age_s)

    def forget_stale_frame(self, max_age_s: float = LEARN_FRAME_AGE_S) -> bool:
        """Drop the latest frame once nothing will take it any more (the longest anyone
        reuses it is :data:`LEARN_FRAME_AGE_S`). Skipped, not waited for, while the camera
        is busy: whoever holds it is making a newer frame anyway."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            return self.feed.forget_older_than(max_age_s)
        finally:
            self._lock.release()

    def capture_once(self) -> ReadResult:
        """Take one reading now: burst → read → record → queue for upload. Returns the ReadResult."""
        return self.capture_and_record()[0]

    def capture_and_record(self) -> tuple[ReadResult, HistoryRecord]:
        with self._lock:
            ts = datetime.now(UTC)
            try:
                frames = self.grab_burst()
            except CaptureError as exc:
                self.health_log.capture_failed(str(exc))
                raise
            self.health_log.last_capture_at = ts
            # brightness is measured on the raw frame; the upright ROI is close enough for
            # a light level unless the rotation is large
            self.lighting.observe(frames[-1], self.config.calibration.roi)
            before = self.reader.last_accepted
            result = self.reader.read_frames(frames, ts)
            record = self.recorder.refuse_if_lower(
                record_from_result(result), monotonic=self.config.ocr.monotonic
            )
            if result.accepted and not record.accepted:
                # refused after all: not the value the next reading is checked against,
                # nor one the saved state may hold (a state newer than the history's
                # last accepted reading is written back to it at the next start)
                self.reader.last_accepted = before
            try:
                self.recorder.keep(record)
            except StorageError:
                # not kept, so not the value the next reading is checked against either
                self.reader.last_accepted = before
                raise
            self.readers.save_references()
        self.recorder.after_record(record, frames[len(frames) // 2])
        return result, record

    def set_reading(self, value: str | float) -> HistoryRecord:
        """Set the reading by hand: the agent's recovery route (AI-on-the-edge's
        "PreValue"), for a replaced meter or a last value that should never have been
        accepted, either of which would otherwise keep the monotonic and maximum-increase
        checks refusing every true reading.

        ``value`` is the digits as the meter shows them (a string of exactly
        ``ocr.expected_digits`` digits) or the reading in kWh (a number). It is recorded
        as an accepted reading with method "manual", becomes the last good value the
        checks compare with, and is queued for upload like any other. Raises
        :class:`ReadingError` (a ValueError) with one sentence for a bad value.
        """
        digits = manual_digits(value, self.config.ocr)
        with self._lock:
            result = manual_result(digits, self.config.ocr.decimals, datetime.now(UTC))
            record = record_from_result(result)
            before = self.reader.last_accepted
            replaced = before is not None and rules.is_lower(result.reading_kwh, before.reading_kwh)
            self.reader.last_accepted = result
            try:
                self.recorder.keep(record)
            except StorageError:
                self.reader.last_accepted = before
                raise
        log.info("reading set by hand to %s", digits)
        self._learn_from_view(digits, forget=replaced)
        self.recorder.enqueue(record)
        return record

    def _learn_from_view(self, digits: str, *, forget: bool = False) -> None:
        """After a reading set by hand: learn this meter's digits from the camera's view
        (see :meth:`meter_agent.reader_state.ReaderKeeper.learn_from_view`)."""
        with self._lock:
            added = self.readers.learn_from_view(
                lambda: self.current_frame(max_age_s=LEARN_FRAME_AGE_S), digits, forget=forget
            )
        if added:
            log.info("learnt %d digit examples of this meter from the view", added)

    # --- OCR preview and calibration ----------------------------------------------------
    def ocr_preview(
        self, frame: np.ndarray | None = None, update: CalibrationUpdate | None = None
    ) -> ReadResult:
        """Read the current frame WITHOUT recording anything, optionally with an unsaved
        calibration (``update``), for the calibration screen's live result.

        A throw-away reader with a copy of the live state is used, so the preview can
        never move the last accepted value (the "PreValue"). Raises like
        :meth:`apply_calibration` for a bad ``update``.
        """
        with self._lock:
            config = self.config
            if update is not None:
                cal, ocr = self.merged_calibration(update)
                config = config.model_copy(update={"calibration": cal, "ocr": ocr})
            if frame is None:
                frame = self.current_frame()
            return self.readers.preview(config, frame)

    def ocr_preview_details(
        self, update: CalibrationUpdate | None = None
    ) -> tuple[ReadResult, dict[str, Any]]:
        """:meth:`ocr_preview` of the current frame, and where its cells were cut and how
        it lay against the reference frame (for the calibration screen)."""
        with self._lock:
            config = self.config
            if update is not None:
                cal, ocr = self.merged_calibration(update)
                config = config.model_copy(update={"calibration": cal, "ocr": ocr})
            return self.readers.preview_details(config, self.current_frame())

    def preview_images(self, frame: np.ndarray) -> dict[str, np.ndarray]:
        """The window and processed images of ``frame``, cut as a reading cuts them
        (aligned to the reference frame, the digit row found in the window)."""
        with self._lock:
            return self.reader.process_for_preview(frame)

    def merged_calibration(self, update: CalibrationUpdate) -> tuple[CalibrationConfig, OcrConfig]:
        """The current calibration and OCR settings with ``update`` applied, validated.

        Raises ``pydantic.ValidationError`` for bad values and :class:`CalibrationError` for a
        window outside the camera frame.
        """
        return calibration.merged_calibration(self.config, update, self.source.status.frame_size)

    def apply_calibration(self, update: CalibrationUpdate) -> AgentConfig:
        """Validate, save atomically to the config file, then apply to the reader.

        Raises ``pydantic.ValidationError`` for bad values and :class:`CalibrationError` for a
        window outside the frame (nothing saved either way), and ``OSError``
        when the config file cannot be written (nothing applied).
        """
        with self._lock:
            new_cfg = calibration.apply_calibration(
                self.config,
                update,
                self.source.status.frame_size,
                config_path=self.config_path,
                reader=self.reader,
            )
            self.config = new_cfg
            if calibration.moves_window(update):
                self._take_reference()
            return new_cfg

    def _take_reference(self) -> None:
        """The window was just drawn on the live picture: that picture becomes the
        reference every frame is aligned to. Without a frame there is none (frames are
        read where they are) rather than an old one the new window was not drawn on."""
        try:
            frame = self.current_frame(max_age_s=calibration.REFERENCE_FRAME_AGE_S)
        except CaptureError as exc:
            log.warning("no camera frame to keep as the calibration's reference: %s", exc)
            frame = None
        self.readers.set_reference_frame(frame)
        log.info("reference frame %s", "kept" if frame is not None else "cleared")

    # --- status --------------------------------------------------------------------------
    def latest_status(self) -> MeterStatus | None:
        last = self.history.last_accepted()
        if last is None or last.reading_kwh is None:
            return None
        return last.to_status(self.last_capture_at or last.timestamp)

    def health(self) -> dict[str, Any]:
        doc = health_document(
            self.health_log,
            history=self.history,
            reader_counts=dict(self.reader.rejected_counts),
            camera=self.source.status.to_json(),
            lighting=self.lighting.last.to_json(),
            upload=self.uploader.status.to_json(),
            references=self.readers.references_json(),
            interval_s=self.config.ocr.interval_s,
        )
        reader = self.reader
        a = reader.alignment
        # the last reading's alignment to the calibration's reference frame
        doc["alignment"] = (
            {"reference": False}
            if reader.reference is None
            else ({"reference": True, "ok": None} if a is None else a.to_json())
        )
        return doc

    # --- the loop ------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Capture every ``ocr.interval_s``, upload and prune, until ``stop`` is set."""
        await capture_loop.run(self, stop or asyncio.Event())

    def close(self) -> None:
        with self._lock:
            self.feed.close()
