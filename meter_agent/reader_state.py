"""The agent's reader and what it must remember across restarts: the last accepted
reading, the refusals counted since, and the digits of this meter it has learnt.

Why a module of its own: the reader's memory lives in three places that must agree —
``reader_state.json`` (the last accepted reading and the rejection counts), the history
(fsync'd with every reading, so it wins when the state file is missing, damaged or
older) and ``references.npz`` (this meter's digit examples, see
:mod:`meter_agent.references`). Restoring, saving and learning are kept together here,
apart from the camera and the HTTP routes.

Not locked on its own: the reader belongs to the service's one lock (camera + reader),
and the service calls every method that changes it with that lock held (``/health``
reads :meth:`ReaderKeeper.references_json` without it: a count a round old will do).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from meter_agent import checks, reference_frame
from meter_agent.capture import CaptureError
from meter_agent.config import AgentConfig, OcrConfig, resolve_path
from meter_agent.files import set_aside, write_atomically
from meter_agent.history import History, HistoryRecord, new_reading_id, read_json_lines
from meter_agent.references import FILE_NAME as REFERENCES_FILE
from meter_agent.references import ReferenceBank
from meter_agent.schema import MANUAL_METHOD, iso_z

if TYPE_CHECKING:  # the reader is imported when first needed: it loads the OCR engines
    from meter_agent.reader import MeterReader, ReaderState, ReadResult

log = logging.getLogger(__name__)

STATE_FILE = "reader_state.json"


def _outbox_entry(data_dir: Path, ts: datetime) -> dict[str, Any]:
    """The upload outbox's entry for the reading made at ``ts`` (empty when none)."""
    for obj in reversed(read_json_lines(data_dir / "outbox.jsonl")):
        try:
            when = HistoryRecord.model_validate(
                {"id": "-", "timestamp": obj.get("timestamp"), "accepted": True}
            ).timestamp
        except ValueError:
            continue
        if when == ts:
            return obj
    return {}


class ReadingError(ValueError):
    """A reading set by hand that does not fit the meter, worded as one sentence."""


def manual_digits(value: str | float, ocr: OcrConfig) -> str:
    """The digits of a reading set by hand: ``value`` is the digits as the meter shows
    them (exactly ``ocr.expected_digits`` of them) or the reading in kWh (a number that
    fits them with at most ``ocr.decimals`` decimals). Raises :class:`ReadingError`."""
    n, dec = ocr.expected_digits, ocr.decimals
    if isinstance(value, str):
        if len(value) != n or not value.isascii() or not value.isdigit():
            raise ReadingError(
                f"digits must be a string of exactly {n} digits (ocr.expected_digits), "
                f"not {value!r}."
            )
        return value
    scaled = float(value) * 10**dec
    if not 0 <= scaled < 10**n or abs(scaled - round(scaled)) > 1e-6:
        raise ReadingError(
            f"reading_kwh must be between 0 and {(10**n - 1) / 10**dec:g} with at most "
            f"{dec} decimals, to fit {n} digits."
        )
    return f"{round(scaled):0{n}d}"


def manual_result(digits: str, decimals: int, ts: datetime) -> ReadResult:
    """A reading set by hand as the reader would have accepted it (method "manual")."""
    from meter_agent.reader import ReadResult

    return ReadResult(
        ts=ts,
        digits=digits,
        reading_kwh=checks.to_kwh(digits, decimals),
        confidence=1.0,
        accepted=True,
        reason=None,
        method=MANUAL_METHOD,
    )


class ReaderKeeper:
    """The live reader, restored at start and saved after every reading."""

    def __init__(
        self, config: AgentConfig, data_dir: Path, base_dir: Path, history: History
    ) -> None:
        self.data_dir = data_dir
        self.base_dir = base_dir
        self.history = history
        self.reader = self._make_reader(config)

    # --- restoring ----------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.data_dir / STATE_FILE

    @property
    def references_path(self) -> Path:
        return self.data_dir / REFERENCES_FILE

    @property
    def reference_frame_path(self) -> Path:
        return self.data_dir / reference_frame.FILE_NAME

    def digit_model(self, config: AgentConfig) -> Path | None:
        """``ocr.digit_model`` resolved against the config file's folder (None: shipped)."""
        model = config.ocr.digit_model
        return resolve_path(self.base_dir, model) if model else None

    def _make_reader(self, config: AgentConfig) -> MeterReader:
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
        # A state NEWER than the history's last accepted reading means the history lost
        # that reading's line (the state is saved only after its line is written): the
        # reading was confirmed, so it is written back to the history, not forgotten.
        if state is not None:
            self._restore_lost_reading(state)
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
        reader = MeterReader(config, state=state, digit_model=self.digit_model(config))
        reader.references = self._load_references(reader.model_fingerprint)
        frame = reference_frame.load(self.reference_frame_path)
        if frame is not None:
            reader.set_reference(frame)
        return reader

    def _restore_lost_reading(self, state: ReaderState) -> None:
        """Write the state's last accepted reading back to the history when the history
        does not have it (see :meth:`_make_reader`); its id is the outbox's when the
        reading was queued for the hub (so the hub dedupes it), else a new one."""
        if state.last_ts is None or not state.last_digits:
            return
        last = self.history.last_accepted()
        ts = HistoryRecord.model_validate(
            {"id": "-", "timestamp": state.last_ts, "accepted": True}
        ).timestamp
        if last is not None and last.timestamp >= ts:
            return
        queued = _outbox_entry(self.data_dir, ts)
        record = HistoryRecord(
            id=str(queued.get("id") or new_reading_id(ts)),
            timestamp=ts,
            accepted=True,
            reading_kwh=state.last_kwh,
            digits=state.last_digits,
            confidence=state.last_confidence,
            method=str(queued.get("method") or "restored"),
        )
        log.warning(
            "the history lacks the last accepted reading %s of %s that %s holds; "
            "written back to the history",
            record.digits,
            iso_z(ts),
            self.state_path.name,
        )
        try:
            self.history.add(record)
        except OSError as exc:
            log.warning("the reading cannot be written back to the history now: %s", exc)

    def _load_references(self, model: str | None) -> ReferenceBank | None:
        """This meter's learnt digit examples; a damaged file is moved aside (kept for a
        look, not lost) and learning starts again."""
        if model is None:
            return None
        path = self.references_path
        try:
            return ReferenceBank.load(path, model)
        except ValueError as exc:
            aside = set_aside(path)
            log.warning(
                "%s It was moved to %s; learning starts again.", str(exc).rstrip("."), aside
            )
            return ReferenceBank(model)

    # --- saving -------------------------------------------------------------------------
    def set_reference_frame(self, frame: np.ndarray | None) -> None:
        """The frame the calibration was saved on becomes the one frames are aligned to
        (None: none, frames are read where they are); kept in ``reference.png``. A file
        that cannot be written is only logged: the reader still aligns until a restart."""
        self.reader.set_reference(frame)
        try:
            reference_frame.save(self.reference_frame_path, frame)
        except OSError as exc:
            log.warning("the reference frame cannot be saved: %s", exc)

    def save_state(self) -> None:
        """Write the reader's state atomically (OSError when it cannot be written)."""
        payload = json.dumps(self.reader.state.to_dict(), indent=1, default=str)
        write_atomically(self.state_path, payload.encode("utf-8"))

    def save_references(self) -> None:
        """Write the learnt digit examples when they changed; a failure is only logged."""
        bank = self.reader.references
        if bank is None or not bank.changed:
            return
        try:
            bank.save(self.references_path)
            log.info("meter digit examples saved: %s", bank.known())
        except OSError as exc:
            log.warning("the meter's digit examples cannot be saved: %s", exc)

    def references_json(self) -> dict[str, Any] | None:
        """For /health: which of this meter's digits the agent has learnt examples of."""
        bank = self.reader.references
        if bank is None:
            return None
        return {"digits": bank.known(), "examples": bank.examples()}

    # --- learning and previews ----------------------------------------------------------
    def learn_from_view(
        self, frame: Callable[[], np.ndarray], digits: str, *, forget: bool = False
    ) -> int:
        """After a reading set by hand: the camera's view (``frame()``) now shows those
        digits, so its cells become this meter's examples. A camera that cannot give a
        frame only means nothing is learnt. ``forget`` (the reading went down: most
        likely a new meter, whose digits may look otherwise) drops the old examples
        first; the sure readings teach them again. Returns how many examples were new."""
        from meter_agent.vision import ImageError

        added = 0
        bank = self.reader.references
        if forget and bank is not None:
            bank.clear()
            log.info("the reading went down: the old meter's digit examples are forgotten")
        try:
            added = self.reader.learn_frame(frame(), digits)
        except (CaptureError, ImageError) as exc:
            log.warning("the view could not be learnt from: %s", exc)
        self.save_references()  # the forgetting too, with or without a view
        return added

    def preview(self, config: AgentConfig, frame: np.ndarray) -> ReadResult:
        """Read ``frame`` with ``config`` WITHOUT recording anything: a throw-away reader
        with copies of the live state and examples is used, so a preview can never move
        the last accepted value (the "PreValue") nor teach the live examples."""
        return self.preview_details(config, frame)[0]

    def preview_details(
        self, config: AgentConfig, frame: np.ndarray
    ) -> tuple[ReadResult, dict[str, Any]]:
        """:meth:`preview`, and where the cells were cut and how the frame lay against the
        reference (:func:`meter_agent.vision_view.vision_json`), for the calibration
        screen. The live reference is used only while the window is the saved one: a
        window being moved will get the current frame as its reference when saved."""
        from meter_agent.reader import MeterReader, ReaderState
        from meter_agent.vision_view import vision_json

        copy = ReaderState.from_dict(self.reader.state.to_dict())
        bank = self.reader.references
        scratch = MeterReader(
            config,
            state=copy,
            digit_model=self.digit_model(config),
            references=None if bank is None else bank.copy(),
        )
        live = self.reader.config.calibration
        same = (config.calibration.roi, config.calibration.rotate_degrees) == (
            live.roi,
            live.rotate_degrees,
        )
        if same:
            scratch.reference = self.reader.reference
        result = scratch.read_frames([frame], datetime.now(UTC))
        return result, vision_json(scratch, frame)
