"""The agent's heart: capture a burst → read it → record → upload, forever, without dying.

:class:`MeterService` owns the frame source, the reader, the history, the uploader,
the saved images and the lighting controller. The HTTP server only asks it things.
Blocking work (the camera, OpenCV, Tesseract) always runs in a worker thread, never
on the event loop, and one lock serialises the camera and the reader so a
``POST /capture`` and the scheduled loop can never interleave. Any error in a round
is recorded (``last_error``), logged, and followed by an exponential back-off; the
loop itself never ends on an error, because nobody is watching a Pi in a cupboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from meter_agent import checks
from meter_agent.capture import (
    CaptureError,
    FrameSource,
    SyntheticSource,
    lighting_control_for,
    open_source,
)
from meter_agent.config import AgentConfig, CalibrationConfig, OcrConfig, save_agent_config
from meter_agent.files import write_atomically
from meter_agent.history import History, HistoryRecord, record_from_result
from meter_agent.images import ImageStore
from meter_agent.lighting import LightingController
from meter_agent.references import FILE_NAME as REFERENCES_FILE
from meter_agent.references import ReferenceBank
from meter_agent.schema import MANUAL_METHOD, MeterStatus, iso_z
from meter_agent.upload import Uploader

log = logging.getLogger(__name__)

#: the longest pause between rounds after repeated errors (unless the interval is longer)
MAX_BACKOFF_S = 300.0
#: how often old images are pruned
PRUNE_EVERY_S = 3600.0
STATE_FILE = "reader_state.json"
#: a frame older than this is not taken for the view a reading set by hand describes
LEARN_FRAME_AGE_S = 5.0


def resolve_path(base: Path, value: str) -> Path:
    """A config path: absolute as given, relative ones against the config file's folder."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


def backoff_delay(interval_s: float, consecutive_errors: int) -> float:
    """Wait after the n-th error in a row: the interval doubled per error, capped."""
    if consecutive_errors <= 0:
        return interval_s
    cap = max(interval_s, MAX_BACKOFF_S)
    return min(cap, interval_s * (2 ** min(consecutive_errors, 16)))


@dataclass
class CalibrationUpdate:
    """The calibration and OCR fields the TUI edits; None = leave as it is."""

    roi: list[int] | None = None
    rotate_degrees: float | None = None
    display: str | None = None
    expected_digits: int | None = None
    decimals: int | None = None
    threshold: int | None = None
    clear_roi: bool = False  # the body said "roi": null


class StorageError(Exception):
    """The agent's own files cannot be written (card full or read-only); one sentence."""


class CalibrationError(ValueError):
    """A calibration that validates on its own but does not fit the camera picture."""


class ReadingError(ValueError):
    """A reading set by hand that does not fit the meter, worded as one sentence."""


def check_roi_fits(roi: list[int] | None, frame_size: tuple[int, int] | None) -> None:
    """Refuse a window that reaches outside the frame (the reader could never use it)."""
    if roi is None or frame_size is None:
        return
    fw, fh = frame_size
    x, y, w, h = roi
    if x + w > fw or y + h > fh:
        raise CalibrationError(
            f"roi {roi} reaches outside the {fw}x{fh} camera frame; make it smaller or move it."
        )


def calibration_view(config: AgentConfig) -> dict[str, Any]:
    """``GET /calibration``'s body: what the calibration screen shows and edits."""
    c, o = config.calibration, config.ocr
    return {
        "roi": c.roi,
        "rotate_degrees": c.rotate_degrees,
        "display": c.display,
        "expected_digits": o.expected_digits,
        "decimals": o.decimals,
        "threshold": o.threshold,
    }


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
        self.data_dir.mkdir(parents=True, exist_ok=True)

        camera = config.camera
        if camera.source == "file" and camera.path.strip():
            # like storage paths: relative to the config file's folder, not to wherever
            # the agent was started from (systemd starts it in /)
            camera = camera.model_copy(update={"path": str(resolve_path(base, camera.path))})
        self.source = source or open_source(camera, calibration=config.calibration, ocr=config.ocr)
        if isinstance(self.source, SyntheticSource) and config.calibration.roi is None:
            # a demo works out of the box: frame the generated meter (in memory, not saved)
            hint = self.source.calibration_hint()
            config.calibration = config.calibration.model_copy(
                update={"roi": hint["roi"], "rotate_degrees": round(hint["rotate_degrees"], 2)}
            )
            log.info("synthetic meter: calibrated to roi %s", hint["roi"])
        self.history = History(self.data_dir, st.history_max_records)
        self.uploader = Uploader(config.upload, self.data_dir)
        self.images = ImageStore(self.image_dir, st)
        self.lighting = LightingController(
            config.lighting, lighting_control_for(self.source, config.lighting)
        )
        self.reader = self._make_reader()

        self._lock = threading.RLock()  # camera + reader
        self.started_at = datetime.now(UTC)
        self._t0 = time.monotonic()
        self.last_capture_at: datetime | None = None
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.consecutive_errors = 0
        self.capture_errors = 0
        self.last_record: HistoryRecord | None = None
        self.last_frame: np.ndarray | None = None
        self.last_frame_at: float | None = None  # monotonic
        self._loop: asyncio.AbstractEventLoop | None = None
        self._upload_wake: asyncio.Event | None = None

    # --- reader and its persisted state -------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.data_dir / STATE_FILE

    def _make_reader(self) -> Any:
        from meter_agent.reader import MeterReader, ReaderState

        state = None
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            state = ReaderState.from_dict(data)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning(
                "reader state %s is unusable (%s); starting without it", self.state_path, exc
            )
        # The history is fsync'd with every reading; if the state file is missing, damaged or
        # older, the last accepted reading in the history is the one to compare against.
        last = self.history.last_accepted()
        if (
            last is not None
            and last.digits
            and (state is None or state.last_ts is None or last.timestamp > state.last_ts)
        ):
            state = ReaderState(
                last_digits=last.digits,
                last_kwh=last.reading_kwh,
                last_ts=last.timestamp,
                last_confidence=last.confidence,
                rejected_counts={} if state is None else dict(state.rejected_counts),
            )
        reader = MeterReader(self.config, state=state, digit_model=self._digit_model())
        reader.references = self._load_references(reader.model_fingerprint)
        return reader

    @property
    def references_path(self) -> Path:
        return self.data_dir / REFERENCES_FILE

    def _load_references(self, model: str | None) -> ReferenceBank | None:
        """This meter's learnt digit examples; a damaged file is moved aside (kept for a
        look, not lost) and learning starts again."""
        if model is None:
            return None
        path = self.references_path
        try:
            return ReferenceBank.load(path, model)
        except ValueError as exc:
            aside = path.with_name(path.name + ".damaged")
            try:
                os.replace(path, aside)
            except OSError:
                aside = path
            log.warning(
                "%s It was moved to %s; learning starts again.", str(exc).rstrip("."), aside
            )
            return ReferenceBank(model)

    def _save_references(self) -> None:
        bank = getattr(self.reader, "references", None)
        if bank is None or not bank.changed:
            return
        try:
            bank.save(self.references_path)
            log.info("meter digit examples saved: %s", bank.known())
        except OSError as exc:
            log.warning("the meter's digit examples cannot be saved: %s", exc)

    def _digit_model(self) -> Path | None:
        model = self.config.ocr.digit_model
        return resolve_path(self.base_dir, model) if model else None

    def _save_reader_state(self) -> None:
        state = getattr(self.reader, "state", None)
        if state is None or not hasattr(state, "to_dict"):
            return
        payload = json.dumps(state.to_dict(), indent=1, default=str)
        write_atomically(self.state_path, payload.encode("utf-8"))

    def _references_json(self) -> dict[str, Any] | None:
        """For /health: which of this meter's digits the agent has learnt examples of."""
        bank = getattr(self.reader, "references", None)
        if bank is None:
            return None
        return {"digits": bank.known(), "examples": bank.examples()}

    def _learn_from_view(self, digits: str, *, forget: bool = False) -> None:
        """After a reading set by hand: the camera's view now shows those digits, so its
        cells become this meter's examples (see meter_agent.references). A camera that
        cannot give a frame only means nothing is learnt. ``forget`` (the reading went
        down: most likely a new meter, whose digits may look otherwise) drops the old
        examples first; the sure readings teach them again."""
        from meter_agent.vision import ImageError

        added = 0
        with self._lock:
            bank = getattr(self.reader, "references", None)
            if forget and bank is not None:
                bank.clear()
                log.info("the reading went down: the old meter's digit examples are forgotten")
            try:
                frame = self.current_frame(max_age_s=LEARN_FRAME_AGE_S)
                added = self.reader.learn_frame(frame, digits)
            except (CaptureError, ImageError) as exc:
                log.warning("the view could not be learnt from: %s", exc)
            self._save_references()  # the forgetting too, with or without a view
        if added:
            log.info("learnt %d digit examples of this meter from the view", added)

    # --- capture ------------------------------------------------------------------------
    def _note_error(self, message: str) -> None:
        self.last_error = message
        self.last_error_at = datetime.now(UTC)

    def grab_burst(self) -> list[np.ndarray]:
        """``ocr.burst_frames`` fresh frames, a little apart (blocking)."""
        cam = self.config.camera
        with self._lock:
            self.source.warm_up(cam.warmup_frames)
            frames: list[np.ndarray] = []
            for i in range(self.config.ocr.burst_frames):
                if i and cam.burst_interval_s:
                    time.sleep(cam.burst_interval_s)
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
        """The latest frame if it is fresh enough, else a new one (blocking; CaptureError)."""
        with self._lock:
            if (
                self.last_frame is not None
                and self.last_frame_at is not None
                and time.monotonic() - self.last_frame_at <= max_age_s
            ):
                return self.last_frame
            try:
                frame = self.source.grab()
            except CaptureError as exc:
                self._note_error(str(exc))
                raise
            self.last_frame, self.last_frame_at = frame, time.monotonic()
            return frame

    def capture_once(self) -> Any:
        """Take one reading now: burst → read → record → queue for upload. Returns the ReadResult."""
        return self.capture_and_record()[0]

    def capture_and_record(self) -> tuple[Any, HistoryRecord]:
        with self._lock:
            ts = datetime.now(UTC)
            try:
                frames = self.grab_burst()
            except CaptureError as exc:
                self.capture_errors += 1
                self._note_error(str(exc))
                raise
            self.last_capture_at = ts
            self.lighting.observe(frames[-1], self._upright_roi_hint())
            result = self.reader.read_frames(frames, ts)
            record = self._guard_monotonic(record_from_result(result))
            self._keep(record)
            self._save_references()
        self._after_record(record, frames[len(frames) // 2])
        return result, record

    def _keep(self, record: HistoryRecord) -> None:
        """Append a reading to the history (a one-sentence StorageError when it cannot be
        written: nothing is kept) and save the reader's state beside it."""
        try:
            self.history.add(record)
        except OSError as exc:
            msg = (
                f"the history in {self.data_dir} cannot be written "
                f"({exc.strerror or exc}); the reading was not kept."
            )
            self._note_error(msg)
            raise StorageError(msg) from None
        self.last_record = record
        try:
            self._save_reader_state()
        except OSError as exc:
            log.warning("reader state cannot be saved: %s", exc)

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
        from meter_agent.reader import ReadResult

        ocr = self.config.ocr
        n, dec = ocr.expected_digits, ocr.decimals
        if isinstance(value, str):
            if len(value) != n or not value.isascii() or not value.isdigit():
                raise ReadingError(
                    f"digits must be a string of exactly {n} digits (ocr.expected_digits), "
                    f"not {value!r}."
                )
            digits = value
        else:
            scaled = float(value) * 10**dec
            if not 0 <= scaled < 10**n or abs(scaled - round(scaled)) > 1e-6:
                raise ReadingError(
                    f"reading_kwh must be between 0 and {(10**n - 1) / 10**dec:g} with at most "
                    f"{dec} decimals, to fit {n} digits."
                )
            digits = f"{round(scaled):0{n}d}"
        with self._lock:
            ts = datetime.now(UTC)
            result = ReadResult(
                ts=ts,
                digits=digits,
                reading_kwh=checks.to_kwh(digits, dec),
                confidence=1.0,
                accepted=True,
                reason=None,
                method=MANUAL_METHOD,
            )
            record = record_from_result(result)
            before = self.reader.last_accepted
            replaced = (
                before is not None
                and before.reading_kwh is not None
                and result.reading_kwh is not None
                and result.reading_kwh < before.reading_kwh
            )
            self.reader.last_accepted = result
            try:
                self._keep(record)
            except StorageError:
                self.reader.last_accepted = before
                raise
        log.info("reading set by hand to %s", digits)
        self._learn_from_view(digits, forget=replaced)
        try:
            self.uploader.enqueue(record.to_meter_reading())
        except OSError as exc:
            self._note_error(f"the upload outbox cannot be written: {exc}.")
        self._wake_uploader()
        return record

    def _upright_roi_hint(self) -> list[int] | None:
        # brightness is measured on the raw frame; the upright ROI is close enough for a
        # light level unless the rotation is large
        return self.config.calibration.roi

    def _guard_monotonic(self, record: HistoryRecord) -> HistoryRecord:
        """Never publish a total lower than the last accepted one (HA/Prometheus count a reset)."""
        if not (record.accepted and self.config.ocr.monotonic):
            return record
        last = self.history.last_accepted()
        if last is None or last.reading_kwh is None or record.reading_kwh is None:
            return record
        if record.reading_kwh < last.reading_kwh:
            return record.model_copy(
                update={
                    "accepted": False,
                    "reason": "not_monotonic: lower than the last accepted reading "
                    f"({last.reading_kwh:g} kWh)",
                    "reading_kwh": None,
                }
            )
        return record

    def _after_record(self, record: HistoryRecord, frame: np.ndarray) -> None:
        if self.images.wants(record.accepted):
            tag = ("ok_" + (record.digits or "")) if record.accepted else "rejected"
            try:
                self.images.save(frame, record.timestamp, tag)
            except OSError as exc:
                log.warning("frame cannot be saved: %s", exc)
        if record.accepted:
            try:
                self.uploader.enqueue(record.to_meter_reading())
            except OSError as exc:
                self._note_error(f"the upload outbox cannot be written: {exc}.")
            self._wake_uploader()

    def _wake_uploader(self) -> None:
        loop, ev = self._loop, self._upload_wake
        if loop is not None and ev is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(ev.set)

    # --- OCR preview and calibration ----------------------------------------------------
    def ocr_preview(
        self, frame: np.ndarray | None = None, update: CalibrationUpdate | None = None
    ) -> Any:
        """Read the current frame WITHOUT recording anything, optionally with an unsaved
        calibration (``update``), for the calibration screen's live result.

        A throw-away reader with a copy of the live state is used, so the preview can
        never move the last accepted value (the "PreValue"). Raises like
        :meth:`apply_calibration` for a bad ``update``.
        """
        from meter_agent.reader import MeterReader, ReaderState

        with self._lock:
            config = self.config
            if update is not None:
                cal, ocr = self.merged_calibration(update)
                config = config.model_copy(update={"calibration": cal, "ocr": ocr})
            if frame is None:
                frame = self.current_frame()
            state = getattr(self.reader, "state", None)
            copy = ReaderState.from_dict(state.to_dict()) if state is not None else None
            bank = getattr(self.reader, "references", None)
            scratch = MeterReader(
                config,
                state=copy,
                digit_model=self._digit_model(),
                references=None if bank is None else bank.copy(),
            )
            return scratch.read_frames([frame], datetime.now(UTC))

    def preview_images(self, frame: np.ndarray) -> dict[str, np.ndarray]:
        from meter_agent.vision import process_for_preview

        return process_for_preview(frame, self.config.calibration, self.config.ocr)

    def merged_calibration(self, update: CalibrationUpdate) -> tuple[CalibrationConfig, OcrConfig]:
        """The current calibration and OCR settings with ``update`` applied, validated.

        Raises ``pydantic.ValidationError`` for bad values and :class:`CalibrationError` for a
        window outside the camera frame.
        """
        cal = self.config.calibration.model_dump()
        ocr = self.config.ocr.model_dump()
        if update.clear_roi:
            cal["roi"] = None
        elif update.roi is not None:
            cal["roi"] = update.roi
        for key in ("rotate_degrees", "display"):
            if getattr(update, key) is not None:
                cal[key] = getattr(update, key)
        for key in ("expected_digits", "decimals", "threshold"):
            if getattr(update, key) is not None:
                ocr[key] = getattr(update, key)
        new_cal = CalibrationConfig.model_validate(cal)
        new_ocr = OcrConfig.model_validate(ocr)
        check_roi_fits(new_cal.roi, self.source.status.frame_size)
        return new_cal, new_ocr

    def apply_calibration(self, update: CalibrationUpdate) -> AgentConfig:
        """Validate, save atomically to the config file, then apply to the reader.

        Raises ``pydantic.ValidationError`` for bad values and :class:`CalibrationError` for a
        window outside the frame (nothing saved either way), and ``OSError``
        when the config file cannot be written (nothing applied).
        """
        with self._lock:
            new_cal, new_ocr = self.merged_calibration(update)
            new_cfg = self.config.model_copy(update={"calibration": new_cal, "ocr": new_ocr})
            if self.config_path is not None:
                save_agent_config(new_cfg, self.config_path)
            self.reader.update_calibration(new_cal, new_ocr)
            self.config = new_cfg
            return new_cfg

    # --- status --------------------------------------------------------------------------
    def latest_status(self) -> MeterStatus | None:
        last = self.history.last_accepted()
        if last is None or last.reading_kwh is None:
            return None
        return last.to_status(self.last_capture_at or last.timestamp)

    def health(self) -> dict[str, Any]:
        counts = self.history.counts()
        reader_counts = dict(getattr(self.reader, "rejected_counts", {}) or {})
        cam = self.source.status.to_json()
        if self.capture_errors and cam["ok"] is False:
            status = "error"
        elif self.consecutive_errors or cam["ok"] is False:
            status = "degraded"
        else:
            status = "ok"
        last_acc = self.history.last_accepted()
        return {
            "status": status,
            "started_at": iso_z(self.started_at),
            "uptime_s": round(time.monotonic() - self._t0, 1),
            "last_capture": None if self.last_capture_at is None else iso_z(self.last_capture_at),
            "last_accepted": None if last_acc is None else iso_z(last_acc.timestamp),
            "last_error": self.last_error,
            "last_error_at": None if self.last_error_at is None else iso_z(self.last_error_at),
            "consecutive_errors": self.consecutive_errors,
            "counts": {
                "accepted": counts["accepted"],
                "rejected": counts["rejected_total"],
                "rejected_by_reason": counts["rejected"],
                "capture_errors": self.capture_errors,
                "reader_rejected_since_start": reader_counts,
            },
            "camera": cam,
            "lighting": self.lighting.last.to_json(),
            "upload": self.uploader.status.to_json(),
            "references": self._references_json(),
            "interval_s": self.config.ocr.interval_s,
        }

    # --- the loop ------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Capture every ``ocr.interval_s``, upload and prune, until ``stop`` is set."""
        stop = stop or asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._upload_wake = asyncio.Event()
        tasks = [
            asyncio.create_task(self._capture_loop(stop), name="meter-capture"),
            asyncio.create_task(self._upload_loop(stop), name="meter-upload"),
            asyncio.create_task(self._housekeeping_loop(stop), name="meter-housekeeping"),
        ]
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.to_thread(self.close)

    async def _capture_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.capture_once)
                self.consecutive_errors = 0
            except (CaptureError, StorageError) as exc:
                self.consecutive_errors += 1
                log.warning("reading failed: %s", exc)
            except Exception as exc:  # the loop must survive anything the reader throws
                self.consecutive_errors += 1
                self._note_error(f"reading failed: {type(exc).__name__}: {exc}")
                log.exception("reading failed")
            delay = backoff_delay(self.config.ocr.interval_s, self.consecutive_errors)
            await _sleep_or_stop(stop, delay)

    async def _upload_loop(self, stop: asyncio.Event) -> None:
        if not self.config.upload.enabled:
            return
        assert self._upload_wake is not None
        failures = 0
        async with httpx.AsyncClient(timeout=self.config.upload.timeout_s) as client:
            while not stop.is_set():
                self._upload_wake.clear()
                try:
                    await self.uploader.flush(client)
                except Exception:  # never let the uploader stop the agent
                    log.exception("upload round failed")
                failures = failures + 1 if self.uploader.status.pending else 0
                delay = backoff_delay(self.config.upload.interval_s, max(0, failures - 1))
                wake = asyncio.create_task(self._upload_wake.wait())
                stopper = asyncio.create_task(stop.wait())
                await asyncio.wait(
                    {wake, stopper}, timeout=delay, return_when=asyncio.FIRST_COMPLETED
                )
                wake.cancel()
                stopper.cancel()

    async def _housekeeping_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.images.prune)
            except Exception:
                log.exception("image retention failed")
            await _sleep_or_stop(stop, PRUNE_EVERY_S)

    def close(self) -> None:
        with self._lock:
            self.source.close()


async def _sleep_or_stop(stop: asyncio.Event, delay: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=delay)
