"""Where a reading goes once it is made: the history, the reader's saved state, a saved
frame, and the upload outbox.

Why a module of its own: the scheduled round, ``POST /capture`` and a reading set by
hand (``PUT /reading``) all record the same way, and the service's last guard — never
record as accepted a total lower than the last accepted one in the history — stands
right before the history it protects.

:meth:`Recorder.keep` and :meth:`Recorder.refuse_if_lower` run with the service's lock
held (they save the reader's state); :meth:`Recorder.after_record` and
:meth:`Recorder.enqueue` run after it is released (saving a JPEG or writing the outbox
must not hold up the camera).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import numpy as np

from meter_agent import rules
from meter_agent.checks import NOT_MONOTONIC, Rejection
from meter_agent.health import HealthLog
from meter_agent.history import History, HistoryRecord
from meter_agent.images import ImageStore
from meter_agent.reader_state import ReaderKeeper
from meter_agent.upload import Uploader

log = logging.getLogger(__name__)


class StorageError(Exception):
    """The agent's own files cannot be written (card full or read-only); one sentence."""


class UploadWake:
    """Wakes the upload loop from any thread, once :meth:`bind` gave it the event loop;
    before that (no loop running) waking does nothing: the loop flushes when it starts."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.event: asyncio.Event | None = None

    def bind(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        self.loop, self.event = loop, event

    def wake(self) -> None:
        loop, ev = self.loop, self.event
        if loop is not None and ev is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(ev.set)


class Recorder:
    """Keeps readings: history, reader state, frames, outbox."""

    def __init__(
        self,
        *,
        data_dir: Path,
        history: History,
        images: ImageStore,
        uploader: Uploader,
        readers: ReaderKeeper,
        health: HealthLog,
        wake: UploadWake,
    ) -> None:
        self.data_dir = data_dir
        self.history = history
        self.images = images
        self.uploader = uploader
        self.readers = readers
        self.health = health
        self.wake = wake
        self.last_record: HistoryRecord | None = None

    def refuse_if_lower(self, record: HistoryRecord, *, monotonic: bool) -> HistoryRecord:
        """Never publish a total lower than the last accepted one (HA/Prometheus count a
        reset): with ``monotonic``, an accepted record that steps back from the last
        accepted one in the history is turned into a refused one (see
        :mod:`meter_agent.rules`)."""
        if not (record.accepted and monotonic):
            return record
        last = self.history.last_accepted()
        if last is None or not rules.steps_back(
            record.reading_kwh, last.reading_kwh, record.method
        ):
            return record
        why = Rejection(
            NOT_MONOTONIC, f"lower than the last accepted reading ({last.reading_kwh:g} kWh)"
        )
        return record.model_copy(
            update={"accepted": False, "reason": why.to_wire(), "reading_kwh": None}
        )

    def keep(self, record: HistoryRecord) -> None:
        """Append a reading to the history (a one-sentence StorageError when it cannot be
        written: nothing is kept) and save the reader's state beside it."""
        try:
            self.history.add(record)
        except OSError as exc:
            msg = (
                f"the history in {self.data_dir} cannot be written "
                f"({exc.strerror or exc}); the reading was not kept."
            )
            self.health.note_error(msg)
            raise StorageError(msg) from None
        self.last_record = record
        try:
            self.readers.save_state()
        except OSError as exc:
            log.warning("reader state cannot be saved: %s", exc)

    def after_record(self, record: HistoryRecord, frame: np.ndarray) -> None:
        """Save the frame when the image settings want it, and queue an accepted reading."""
        if self.images.wants(record.accepted):
            tag = ("ok_" + (record.digits or "")) if record.accepted else "rejected"
            try:
                self.images.save(frame, record.timestamp, tag)
            except OSError as exc:
                log.warning("frame cannot be saved: %s", exc)
        if record.accepted:
            self.enqueue(record)

    def enqueue(self, record: HistoryRecord) -> None:
        """Queue an accepted reading for the hub and wake the uploader; an outbox that
        cannot be written is noted as the last error (the reading stays in the history)."""
        try:
            self.uploader.enqueue(record.to_meter_reading())
        except OSError as exc:
            self.health.note_error(f"the upload outbox cannot be written: {exc}.")
        self.wake.wake()
